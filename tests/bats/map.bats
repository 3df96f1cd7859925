#!/usr/bin/env bats
# vfioctl map without a kernel: every option is checked before anything is opened, the modes
# type1 cannot do are refused with their reasons whatever the machine, and a --sysroot
# snapshot cannot be mapped. Real mappings are tested in tests/vm/guest/60-map.bats.

load common

setup_file() {
	roots_setup
}

# A usage error: exit 2, the message, nothing on stdout.
usage_is() { # pattern(ERE) args...
	local want=$1
	shift
	vfc map "$@"
	status_is 2 || return 1
	[[ -z "$output" ]]
	has_line "$stderr" "$want" stderr
	has_line "$stderr" "^Try 'vfioctl map --help' for more information\.$" stderr
}

@test "map --help lists every option" {
	vfc map --help
	status_is 0
	local o
	for o in "-s, --size SIZE" "    --backing SPEC" "    --chunk SIZE" "    --iova ADDR" \
		"    --repeat N" "    --populate N" "    --hold" "    --bar N" "    --bar-device BDF" \
		"    --bar-iova ADDR" "    --mode MODE" "    --premap N" "    --no-huge-pages" "    --as-user USER" \
		"    --memlock-limit SIZE" "-b, --bytes" "-J, --json" "    --list-columns"; do
		has_line "$output" "^ *${o} " "map --help"
	done
	has_line "$output" '^ vfioctl map \[options\] BDF\|GROUP$'
}

@test "map --list-columns: times, locked memory and DMA entries" {
	vfc map --list-columns -r -n
	status_is 0
	local c
	for c in MAPPING BACKEND IOCTL IOVA SIZE BACKING MODE PAGES HUGE RSS ALLOC ALLOC_MIN \
		ALLOC_MAX POPULATE MAP MAP_MIN MAP_MAX UNMAP UNMAP_MIN UNMAP_MAX GIB/S LOCKED \
		LOCKED_BEFORE LOCKED_AFTER LOCKED_END PINNED PINNED_BEFORE PINNED_AFTER PINNED_END \
		ENTRIES ENTRIES_LEFT REPEATS PREMAP GRANULE SETUP SERVED STOP FAULTS GROUPS INVALID \
		OUTSIDE LAZY_PAGES PREMAPPED MAP_CALLS MAP_ERRORS LAT_MIN LAT_MEDIAN LAT_MAX HWPT; do
		has_line "$output" "^$c "
	done
}

@test "map needs exactly one group or device" {
	usage_is '^vfioctl: name one IOMMU group or PCI device$'
	usage_is '^vfioctl: name one IOMMU group or PCI device$' 1 2
	usage_is "^vfioctl: 'foo' is neither an IOMMU group number nor a PCI address$" foo
}

@test "map: malformed sizes, addresses and counts are usage errors" {
	usage_is "^vfioctl: --size: 'lots' is not a size" 1 --size lots
	usage_is "^vfioctl: --size: '0' is not a size" 1 --size 0
	usage_is "^vfioctl: --chunk: '1Q' is not a size" 1 --size 4M --chunk 1Q
	usage_is "^vfioctl: --iova: 'here' is neither an address" 1 --size 4M --iova here
	usage_is "^vfioctl: --repeat is 1 to 100000$" 1 --repeat 0
	usage_is "^vfioctl: --populate is none or a thread count 1-64, not '0'$" 1 --size 4M --populate 0
	usage_is "^vfioctl: --populate is none or a thread count 1-64, not '65'$" 1 --size 4M --populate 65
	usage_is "^vfioctl: --populate is none or a thread count 1-64, not '2M'$" 1 --size 4M --populate 2M
	usage_is "^vfioctl: --memlock-limit: 'x' is not a size$" 1 --memlock-limit x
	usage_is "^vfioctl: --mode is pin, no-pin or iopf, not 'lazy'$" 1 --mode lazy
}

@test "map: a backing it does not know, or a size that is not whole pages of it" {
	usage_is "^vfioctl: --backing: 'ram' is not anon, thp" 1 --size 4M --backing ram
	usage_is "^vfioctl: --backing: 'hugetlb:3M' is not" 1 --size 4M --backing hugetlb:3M
	usage_is "^vfioctl: --size and --chunk must be whole 2097152-byte pages of the backing$" \
		1 --size 3M --backing thp
	usage_is "^vfioctl: --size and --chunk must be whole 2097152-byte pages of the backing$" \
		1 --size 8M --chunk 3M --backing hugetlb:2M
	usage_is "^vfioctl: --size and --chunk must be whole 4096-byte pages of the backing$" \
		1 --size 5000 --backing anon
	usage_is "^vfioctl: --chunk: more than 1048576 mappings$" 1 --size 8G --chunk 4K --backing anon
}

@test "map: memory options without memory, BAR options without --bar" {
	usage_is "go with --size" 0000:00:02.0 --bar 0 --backing anon
	usage_is "go with --size" 0000:00:02.0 --bar 0 --chunk 2M
	usage_is "^vfioctl: --bar-device and --bar-iova go with --bar$" 1 --bar-device 0000:00:02.0
	usage_is "^vfioctl: --bar-device and --bar-iova go with --bar$" 1 --bar-iova 0x0
	usage_is "^vfioctl: --bar is a BAR number, 0 to 5$" 0000:00:02.0 --bar 6
	usage_is "^vfioctl: a BAR belongs to a device: name one" 1 --bar 0
	usage_is "^vfioctl: --bar-device wants a PCI address, not a group$" 1 --bar 0 --bar-device 3
}

@test "map --as-user: an unknown user, or root, is a usage error" {
	usage_is "^vfioctl: --as-user: no user 'no-such-user-here'$" 1 --as-user no-such-user-here
	usage_is "^vfioctl: --as-user: 'root' is root, which the limit does not bind$" 1 --as-user root
	usage_is "^vfioctl: --as-user: '0' is root" 1 --as-user 0
}

@test "map --mode iopf with --backend type1 is refused with the reason, exit 8, before any lookup" {
	vfc --backend type1 map 99999 --mode iopf
	status_is 8
	[[ -z "$output" ]]
	has_line "$stderr" 'type1 backend has no I/O page faults' stderr
	has_line "$stderr" 'VFIO_IOMMU_ENABLE_IOPF proposal was never merged' stderr
	has_line "$stderr" 'iommufd fault queues \(kernel 6\.11 or later: --backend iommufd\)' stderr
	has_line "$stderr" 'PCIe PRI or stall' stderr
	# iommufd (and auto, which may pick it) go on to look the group up
	local b
	for b in iommufd auto; do
		vfc --backend "$b" map 99999 --mode iopf
		status_is 4
		has_line "$stderr" "99999" stderr
	done
}

@test "map --mode iopf: one region of RAM, served once; --premap only with it" {
	usage_is "^vfioctl: --premap goes with --mode iopf$" 1 --premap 2
	usage_is "^vfioctl: --premap goes with --mode iopf$" 1 --mode pin --premap 0
	usage_is "^vfioctl: --premap is 0 to 4096 pages$" 1 --mode iopf --premap 4097
	usage_is "^vfioctl: --mode iopf maps RAM on I/O page faults; a BAR \(--bar\) is mapped whole, with --mode no-pin$" \
		0000:00:02.0 --mode iopf --bar 0
	usage_is "^vfioctl: --mode iopf maps one region, page by page: no --chunk$" \
		1 --mode iopf --size 8M --chunk 2M
	usage_is "^vfioctl: --mode iopf serves faults once: no --repeat$" 1 --mode iopf --repeat 2
}

@test "map --mode no-pin for RAM is refused with the reason, exit 8" {
	local args
	for args in "--mode no-pin" "--mode no-pin --size 2M" "--mode no-pin --size 2M --bar 0"; do
		# shellcheck disable=SC2086 # the words are the options
		vfc map 0000:00:02.0 $args
		status_is 8
		has_line "$stderr" 'type1 always pins RAM it maps' stderr
		has_line "$stderr" 'so does iommufd \(charged to VmPin\)' stderr
		has_line "$stderr" 'lazy mapping of RAM is IOPF on iommufd' stderr
	done
}

@test "map --no-huge-pages with --backend type1: a usage error naming type1's own switch" {
	vfc --backend type1 map 99999 --size 2M --no-huge-pages
	status_is 2
	[[ -z "$output" ]]
	has_line "$stderr" "^vfioctl: --no-huge-pages is iommufd's IOMMU_OPTION_HUGE_PAGES; the type1 backend has none \(its equivalent is vfio_iommu_type1's disable_hugepages parameter\)$" stderr
	has_line "$stderr" "^Try 'vfioctl map --help' for more information\.$" stderr
}

@test "map --no-huge-pages when auto chooses type1: the usage error says why auto did" {
	# server: no /dev/iommu
	vfc_root server --backend auto map 40 --size 2M --backing anon --no-huge-pages
	status_is 2
	has_line "$stderr" "the type1 backend \(auto chose it: no /dev/iommu \(a kernel without CONFIG_IOMMUFD\)\) has none" stderr
	# with iommufd chosen it goes on, to the sysroot refusal
	vfc_root nointremap map 13 --size 2M --backing anon --no-huge-pages
	status_is 8
	has_line "$stderr" 'work on the running system only' stderr
}

@test "map --bar --mode pin on iommufd: refused with the reason (EFAULT), exit 8, before any lookup" {
	vfc --backend iommufd map 0000:99:00.0 --bar 0 --mode pin
	status_is 8
	[[ -z "$output" ]]
	has_line "$stderr" '^vfioctl: --bar 0 --mode pin: iommufd refuses IOMMU_IOAS_MAP of a BAR.s mmap \(EFAULT' stderr
	has_line "$stderr" 'use --mode no-pin, which maps the BAR as a dma-buf' stderr
	# auto: known once the devices are looked at
	vfc_root nointremap map 0000:05:00.0 --bar 0 --mode pin
	status_is 8
	has_line "$stderr" 'iommufd refuses IOMMU_IOAS_MAP' stderr
	# type1 takes it (the pfnmap path): on to the sysroot refusal
	vfc_root nointremap --backend type1 map 0000:05:00.0 --bar 0 --mode pin
	status_is 8
	has_line "$stderr" 'work on the running system only' stderr
	# no --mode: the BAR goes the backend's one way, no refusal
	vfc_root nointremap map 0000:05:00.0 --bar 0
	status_is 8
	has_line "$stderr" 'work on the running system only' stderr
}

@test "map on a --sysroot snapshot: not supported, exit 8, nothing printed" {
	vfc_root workstation map 4 --size 2M --backing anon
	status_is 8
	[[ -z "$output" ]]
	has_line "$stderr" 'work on the running system only' stderr
}

@test "map: a group, device or BAR device that does not exist is exit 4" {
	vfc_root workstation map 99 --size 2M --backing anon
	status_is 4
	has_line "$stderr" '^vfioctl: no IOMMU group 99: ' stderr
	vfc_root workstation map 0000:00:1e.0 --size 2M --backing anon
	status_is 4
	vfc_root workstation map 4 --bar 0 --bar-device 0000:00:1e.0
	status_is 4
	has_line "$stderr" '0000:00:1e.0' stderr
}

@test "map --as-user as an ordinary user: permission denied, exit 5" {
	[[ $EUID -ne 0 ]] || skip "runs as root"
	vfc map 1 --size 2M --backing anon --as-user nobody
	status_is 5
	has_line "$stderr" '--as-user needs root' stderr
}
