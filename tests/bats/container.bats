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

@test "container --list-columns: the model, extensions, ranges and type1 parameters" {
	vfc container --list-columns -r -n
	status_is 0
	local c
	for c in GROUPS MODEL EXTENSIONS PGSIZES IOVA_RANGES DMA_AVAIL PARAMS DMA_ENTRY_LIMIT \
		DISABLE_HUGEPAGES ALLOW_UNSAFE_INTERRUPTS PGSIZE_MASK RESV BAR_NOPIN; do
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
