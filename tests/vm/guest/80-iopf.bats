#!/usr/bin/env bats
# I/O page faults on iommufd, end to end on a real kernel. The iopf-mock helper serves faults
# raised by the kernel's iommufd selftest mock device through libvfioctl's fault server and
# checks in the mock IOMMU's page table that exactly the faulted windows got mapped; then the
# refusal on a device without PRI (edu behind the emulated VT-d). Debian's kernels have no
# iommufd: everything but the first test skips there.

load helpers
bats_require_minimum_version 1.5.0 # run --separate-stderr

IOPF_MOCK=${IOPF_MOCK:-${VFIOCTL_HELPERS:-/src/build/tests/helpers}/iopf-mock}
SKIP=77
BOUND=()

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

# Puts devices on vfio-pci; teardown gives them back.
to_vfio() { # BDF...
	local b
	modprobe vfio-pci 2>/dev/null || true
	for b in "$@"; do
		BOUND+=("$b")
		vfio_bind "$b"
	done
}

# vfioctl with stdout in $output, stderr in $stderr.
vfc() {
	run --separate-stderr vfioctl "$@"
	log "vfioctl $* -> $status" "${lines[@]}" ${stderr:+"stderr: $stderr"}
}

# The raw ioctl requests (hex) and their results a traced command made, in order.
IOMMU_DESTROY=0x3b80 IOMMU_HWPT_ALLOC=0x3b89 IOMMU_FAULT_QUEUE_ALLOC=0x3b8e
VFIO_DEVICE_ATTACH_IOMMUFD_PT=0x3b77
ioctls() { # strace output file
	# with -f each line starts with the thread id
	sed -nE 's/^([0-9]+ +)?ioctl\([0-9a-fx]+, (0x[0-9a-f]+), .*\) += (.*)$/\2 \3/p' "$1"
}

@test "map --mode iopf on edu: ENODEV decoded, exit 8; page table and fault queue destroyed at once" {
	need_iommufd
	local bdf trace=$BATS_TEST_TMPDIR/strace
	bdf=$(free_edus | head -n 1)
	[[ -n "$bdf" ]] || skip "no unbound edu with a group of its own"
	to_vfio "$bdf"
	before=$(dmesg | wc -l)
	run --separate-stderr strace -qq -f -e raw=ioctl -e trace=ioctl -o "$trace" \
		vfioctl --backend iommufd map "$bdf" --mode iopf --size 8M --backing anon --premap 3 -J
	log "map --mode iopf -> $status" "stderr: $stderr" "$(ioctls "$trace")"
	[[ "$status" -eq 8 ]]
	[[ -z "$output" ]]
	[[ "$stderr" == *"map --mode iopf: $bdf: attaching device "*" to IOPF page table "*": the device cannot take I/O page faults (no PCIe PRI or stall): No such device (IOPF needs a PRI-capable device behind an IOMMU with page-request support); nothing is left attached or mapped"* ]]
	# what the kernel was asked, in order: a fault queue, a page table on it, the attach
	# it refused, then both destroyed by vfioctl itself (not by the exit)
	local seq
	seq=$(ioctls "$trace" | awk -v q=$IOMMU_FAULT_QUEUE_ALLOC -v h=$IOMMU_HWPT_ALLOC \
		-v a=$VFIO_DEVICE_ATTACH_IOMMUFD_PT -v d=$IOMMU_DESTROY '
		{ r = $2 == "-1" ? $3 : $2 }
		$1 == q { s = s "queue:" r " " } $1 == h { s = s "hwpt:" r " " }
		$1 == a { s = s "attach:" r " " } $1 == d { s = s "destroy:" r " " }
		END { print s }')
	log "sequence: $seq"
	[[ "$seq" == *"queue:0 hwpt:0 attach:ENODEV destroy:0 destroy:0 "* ]]
	# and nothing was ever mapped: no IOAS_MAP (0x3b85) in the whole run
	! ioctls "$trace" | grep -q '^0x3b85 '
	KMSG=$(dmesg | tail -n "+$((before + 1))")
	no_kernel_warnings
	# the device is as it was: it maps again at once, on its IOAS
	vfc --backend iommufd map "$bdf" --size 8M --backing anon -J -o MAPPING,MODE,PINNED
	[[ "$status" -eq 0 ]]
	[[ "$(jq -r '.mappings[0].mode' <<<"$output")" == pin ]]
}

@test "map --mode iopf on a group of two devices is refused: one page table serves the group" {
	need_iommufd
	local a=0000:01:01.0 b=0000:01:02.0 grp
	[[ -e /sys/bus/pci/devices/$a && "$(driver_of "$a")" == - && "$(driver_of "$b")" == - ]] ||
		skip "the edu pair behind the bridge is not free"
	to_vfio "$a" "$b"
	grp=$(group_of "$a")
	vfc --backend iommufd map "$grp" --mode iopf --size 8M --backing anon
	[[ "$status" -eq 8 ]]
	[[ "$stderr" == *"IOMMU group $grp has 2 devices on vfio-pci"* ]]
	[[ "$stderr" == *"only offered for a device alone in its group"* ]]
	vfc --backend iommufd map "$a" --mode iopf --size 8M --backing anon
	[[ "$status" -eq 8 ]]
	[[ "$stderr" == *"map --mode iopf: $a: IOMMU group $grp has 2 devices in this IOAS"* ]]
}

@test "map --mode iopf: type1 refuses it, before anything is opened" {
	need_iommufd
	local bdf
	bdf=$(free_edus | head -n 1)
	[[ -n "$bdf" ]] || skip "no unbound edu with a group of its own"
	to_vfio "$bdf"
	vfc --backend type1 map "$bdf" --mode iopf --size 8M
	[[ "$status" -eq 8 ]]
	[[ "$stderr" == *"type1 backend has no I/O page faults"* ]]
	[[ "$stderr" == *"--backend iommufd"* ]]
}

teardown() {
	local b
	for b in ${BDF:-} "${BOUND[@]}"; do
		vfio_unbind "$b"
	done
	BOUND=()
}
