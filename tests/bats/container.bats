#!/usr/bin/env bats
# vfioctl container without a kernel: the command line, and what a --sysroot snapshot can
# and cannot answer. Opening a real container is tested in tests/vm/guest/60-map.bats.

load common

setup_file() {
	roots_setup
}

@test "container --help lists the output options and names BDF|GROUP" {
	vfc container --help
	status_is 0
	has_line "$output" '^ vfioctl container \[options\] BDF\|GROUP\.\.\.$'
	has_line "$output" '^ -J, --json '
	has_line "$output" '^     --list-columns '
}

@test "container --list-columns: the backend, model, ranges, type1 parameters, iommufd options" {
	vfc container --list-columns -r -n
	status_is 0
	local c
	for c in BACKEND GROUPS MODEL EXTENSIONS PGSIZES IOVA_RANGES DMA_AVAIL PARAMS DMA_ENTRY_LIMIT \
		DISABLE_HUGEPAGES ALLOW_UNSAFE_INTERRUPTS PGSIZE_MASK RESV BAR_NOPIN IOVA_ALIGNMENT \
		RLIMIT_MODE HUGE_PAGES MAP_FILE DEVICES IOAS; do
		has_line "$output" "^$c "
	done
}

@test "container without an argument: usage, exit 2" {
	vfc container
	status_is 2
	has_line "$stderr" "^vfioctl: name at least one IOMMU group or PCI device$" stderr
}

@test "container with a malformed argument: exit 2 before anything is opened" {
	local a
	for a in foo 0000:zz:00.0 1.5 12:34; do
		vfc container "$a"
		status_is 2
		has_line "$stderr" "^vfioctl: '$a' is neither an IOMMU group number nor a PCI address$" stderr
	done
}

@test "container with an unknown column: exit 2" {
	vfc container -o MODEL,NOPE 1
	status_is 2
	has_line "$stderr" "unknown column 'NOPE'" stderr
}

@test "container: a group or device that does not exist is exit 4" {
	vfc_root workstation container 99
	status_is 4
	has_line "$stderr" '^vfioctl: no IOMMU group 99: ' stderr
	vfc_root workstation container 0000:00:1e.0
	status_is 4
	has_line "$stderr" '0000:00:1e.0' stderr
}

@test "container: a device without an IOMMU group is exit 4" {
	vfc_root iommu-off container 0000:00:02.0
	status_is 4
	has_line "$stderr" 'has no IOMMU group' stderr
}

@test "container on a --sysroot snapshot: not supported, exit 8, nothing printed" {
	vfc_root workstation container 1 0000:01:00.0
	status_is 8
	[[ -z "$output" ]]
	has_line "$stderr" 'work on the running system only' stderr
}

@test "container --backend auto: iommufd where /dev/iommu and the devices' cdevs are, else type1" {
	# workstation: /dev/iommu, the GPU on vfio-pci with vfio0 (its audio keeps group 1
	# from being viable, which the open says later)
	vfc_root workstation --debug container 1
	status_is 8
	has_line "$stderr" "^vfioctl: debug: backend auto: iommufd: /dev/iommu and the devices' VFIO cdevs exist$" stderr
	# ... but a group with nothing on vfio-pci goes to type1, whose open explains it
	vfc_root workstation --debug container 0000:02:00.0
	status_is 8
	has_line "$stderr" "^vfioctl: debug: backend auto: type1: IOMMU group [0-9]+ has no device on vfio-pci$" stderr
	# server: vfio-pci devices but no /dev/iommu (and no cdevs)
	vfc_root server --debug container 40
	status_is 8
	has_line "$stderr" "^vfioctl: debug: backend auto: type1: no /dev/iommu \(a kernel without CONFIG_IOMMUFD\)$" stderr
	# nointremap: /dev/iommu and vfio3
	vfc_root nointremap --debug container 13
	has_line "$stderr" "backend auto: iommufd" stderr
}

@test "container: /dev/iommu without the device's cdev (a 6.1-like kernel) is type1 under auto" {
	root_copy workstation
	rm -f "$ROOTS/workstation/dev/vfio/devices/vfio0"
	vfc_root workstation --debug container 1
	has_line "$stderr" "backend auto: type1: 0000:01:00.0: /dev/vfio/devices/vfio0 does not exist" stderr
	rm -rf "$ROOTS/workstation/sys/bus/pci/devices/0000:01:00.0/vfio-dev"
	vfc_root workstation --debug container 1
	has_line "$stderr" "backend auto: type1: 0000:01:00.0 has no VFIO cdev \(a kernel without VFIO_DEVICE_CDEV\)" stderr
}

@test "container --backend type1 or iommufd is taken as asked, not guessed" {
	vfc_root server --backend iommufd --debug container 40
	status_is 8
	[[ "$stderr" != *"backend auto"* ]]
	has_line "$stderr" "running system only" stderr
	vfc_root workstation --backend type1 --debug container 1
	status_is 8
	[[ "$stderr" != *"backend auto"* ]]
}
