#!/usr/bin/env bats
# I/O page faults on iommufd, end to end on a real kernel. The iopf-mock helper serves faults
# raised by the kernel's iommufd selftest mock device through libvfioctl's fault server and
# checks in the mock IOMMU's page table that exactly the faulted windows got mapped; then the
# refusal on a device without PRI (edu behind the emulated VT-d). Debian's kernels have no
# iommufd: everything but the first test skips there.

load helpers

IOPF_MOCK=${IOPF_MOCK:-${VFIOCTL_HELPERS:-/src/build/tests/helpers}/iopf-mock}
SKIP=77

log() { printf '# %s\n' "$@" >&3; }

need_iommufd() {
	[[ -e /dev/iommu ]] || skip "no /dev/iommu: this kernel has no CONFIG_IOMMUFD"
}

# Runs the helper; skips when it says the kernel cannot run it (no selftest, no cdev).
run_helper() {
	local before
	before=$(dmesg | wc -l)
	run "$IOPF_MOCK" "$@"
	log "iopf-mock $* -> exit $status" "${lines[@]}"
	((status != SKIP)) || skip "${lines[-1]#iopf-mock: SKIP: }"
	KMSG=$(dmesg | tail -n "+$((before + 1))")
}

# The kernel's own complaints during the run (its WARN_ONs guard iommufd teardown).
no_kernel_warnings() {
	if grep -E 'WARNING:|BUG:|refcount_t' <<<"$KMSG"; then
		return 1
	fi
}

@test "iopf-mock helper is built and visible in the guest" {
	[[ -x "$IOPF_MOCK" ]]
}

@test "mock device: faults served lazily with premap, answered, and all undone" {
	need_iommufd
	run_helper --faults 8 --burst 32 --premap 3
	[[ "$status" -eq 0 ]]
	[[ "${lines[-1]}" == "iopf-mock: PASSED" ]]
	[[ "$output" != *"FAIL"* ]]
	[[ "$output" == *"ok: 8 faults raised one at a time, each answered"* ]]
	[[ "$output" == *"one at a time: service latency min "* ]]
	[[ "$output" == *"ok: a burst of 32 faults is answered"* ]]
	[[ "$output" == *"ok: 41 answered success, 1 invalid (the one past the region)"* ]]
	# 8 windows of 4 pages, and 32 more in the burst
	[[ "$output" == *"ok: 160 pages mapped lazily"* ]]
	[[ "$output" == *"ok: the page between two windows (4) is not mapped: lazy"* ]]
	[[ "$output" == *"ok: after teardown the IOAS holds no mapping"* ]]
	[[ "$output" == *"stats: service latency (read to response written) min "* ]]
	no_kernel_warnings
}

@test "mock device: premap 0 maps exactly the faulting pages" {
	need_iommufd
	run_helper --faults 4 --burst 8 --premap 0
	[[ "$status" -eq 0 ]]
	[[ "$output" == *"ok: 12 pages mapped lazily"* ]]
	[[ "$output" == *"pages mapped lazily 12 (0 premapped), map calls 12"* ]]
	no_kernel_warnings
}

@test "edu without PRI: the IOPF attach fails with ENODEV, decoded, and leaves nothing" {
	need_iommufd
	local bdf d
	bdf=$(free_edus | head -n 1)
	[[ -n "$bdf" ]] || skip "no unbound edu with a group of its own"
	d=/sys/bus/pci/devices/$bdf
	modprobe vfio-pci 2>/dev/null || true
	echo vfio-pci >"$d/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	BDF=$bdf
	[[ "$(driver_of "$bdf")" == vfio-pci ]]
	run_helper --edu "$bdf"
	[[ "$status" -eq 0 ]]
	[[ "$output" == *"refused: attaching device "*" to IOPF page table "*": the device cannot take I/O page faults (no PCIe PRI or stall): No such device (IOPF needs a PRI-capable device behind an IOMMU with page-request support)"* ]]
	[[ "$output" == *"ok: the fault queue and page table were destroyed"* ]]
	[[ "$output" == *"ok: the device is still attached to its IOAS, as before"* ]]
	[[ "${lines[-1]}" == "iopf-mock: PASSED" ]]
	no_kernel_warnings
}

teardown() {
	[[ -n "${BDF:-}" ]] || return 0
	local d=/sys/bus/pci/devices/$BDF
	if [[ "$(driver_of "$BDF")" == vfio-pci ]]; then
		echo "$BDF" >/sys/bus/pci/drivers/vfio-pci/unbind
	fi
	echo >"$d/driver_override"
}
