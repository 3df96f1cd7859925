#!/usr/bin/env bats
# The proof that a vfioctl DMA mapping works on a real kernel: one edu device is bound to
# vfio-pci with raw sysfs writes (vfioctl's own bind comes later), the edu-dma helper copies
# a pattern RAM -> edu -> RAM through a library type1 mapping, unmaps, and has the device
# write to the old IOVA again; the memory must stay unchanged and the kernel must log a DMAR
# fault for exactly that device and address. The device is handed back unbound at the end.

load helpers

IOVA=0x1000000
SIZE=0x10000
# edu-dma writes back into the second half of its mapping; the IOMMU reports the page.
FAULT_ADDR=0x1008000

# Helpers are built by `make` next to the repository the guest sees read-only at /src.
EDU_DMA=${EDU_DMA:-${VFIOCTL_HELPERS:-/src/build/tests/helpers}/edu-dma}

# The first edu (1234:11e8) with an IOMMU group of its own and no driver.
find_edu() {
	local e
	e=$(free_edus | head -n 1)
	[[ -n $e ]] && echo "$e"
}

restore() {
	local d=/sys/bus/pci/devices/$BDF
	if [[ "$(readlink -f "$d/driver" 2>/dev/null)" == */vfio-pci ]]; then
		echo "$BDF" >/sys/bus/pci/drivers/vfio-pci/unbind
	fi
	# a bare newline clears driver_override
	echo >"$d/driver_override"
}

setup_file() {
	BDF=$(find_edu) || {
		echo "no unbound edu device with a group of its own" >&2
		return 1
	}
	GROUP=$(basename "$(readlink -f "/sys/bus/pci/devices/$BDF/iommu_group")")
	export BDF GROUP
}

teardown_file() {
	[[ -z "${BDF:-}" ]] || restore
}

@test "edu-dma helper is built and visible in the guest" {
	[[ -x "$EDU_DMA" ]]
}

@test "bind the edu device to vfio-pci via driver_override + drivers_probe" {
	modprobe vfio-pci
	echo vfio-pci >"/sys/bus/pci/devices/$BDF/driver_override"
	echo "$BDF" >/sys/bus/pci/drivers_probe
	log "$BDF (group $GROUP) -> $(basename "$(readlink -f "/sys/bus/pci/devices/$BDF/driver")")"
	[[ "$(readlink -f "/sys/bus/pci/devices/$BDF/driver")" == */vfio-pci ]]
	[[ -c "/dev/vfio/$GROUP" ]]
}

@test "DMA through a type1 mapping round-trips, and is blocked after unmap" {
	local before start fault
	before=$(dmesg | wc -l)
	start=$(date +%s%N)
	run "$EDU_DMA" "$BDF" --iova "$IOVA" --size "$SIZE"
	log "edu-dma exit $status in $((($(date +%s%N) - start) / 1000000)) ms:" "${lines[@]}"
	echo "$output"
	[[ "$status" -eq 0 ]]
	[[ "$output" == *"bytes came back intact"* ]]
	[[ "$output" == *"the IOMMU blocked the write"* ]]
	[[ "${lines[-1]}" == "edu-dma: PASSED" ]]

	# The fault is reported from an interrupt: dmar_fault gives the kernel a moment.
	fault=$(dmar_fault "$BDF" "$before" "$FAULT_ADDR" || true)
	log "dmesg: ${fault:-<no DMAR fault for $BDF at $FAULT_ADDR>}"
	[[ -n "$fault" ]]
}

@test "restore: the edu device is unbound and driver_override is cleared" {
	restore
	[[ ! -e "/sys/bus/pci/devices/$BDF/driver" ]]
	[[ "$(cat "/sys/bus/pci/devices/$BDF/driver_override")" == "(null)" ]]
	[[ ! -e "/dev/vfio/$GROUP" ]]
}
