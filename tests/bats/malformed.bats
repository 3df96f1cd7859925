#!/usr/bin/env bats
# The malformed root (tests/roots/malformed.desc): one kind of damage per
# device or file. vfioctl must name what is wrong on stderr, go on where it
# can, and never crash: no status >= 128, no sanitizer report (vfc checks both
# on every run; point VFIOCTL at build-san/vfioctl to run these under ASan).

load common

setup_file() {
	roots_setup
}

R=malformed

@test "list: skips each damaged device with a warning naming it, lists the rest, exit 1" {
	expect $R list 1 list
	local bdf
	for bdf in 02.0 03.0 04.0 06.0 07.0 09.0; do
		has_line "$stderr" "^vfioctl: warning: skipped: 0000:00:$bdf: " stderr
	done
	has_line "$stderr" "^vfioctl: warning: ignoring 'not-a-device' in /sys/bus/pci/devices: not a PCI address$" stderr
	[[ ${#stderr_lines[@]} == 7 ]]
	# messages show paths as the system names them, not below the sysroot
	[[ "$stderr" != *"$ROOTS"* ]]
	[[ ${#lines[@]} == 5 ]]
}

@test "list -J: valid JSON of the intact devices, exit 1" {
	expect $R list-json 1 list -J
	json_has '[.devices[].bdf] == ["0000:00:00.0", "0000:00:05.0", "0000:00:08.0", "0000:00:0a.0"]'
	# pci.ids does not know 1234:abcd: numbers instead of names
	json_has '.devices[] | select(.bdf == "0000:00:08.0") | .name == "1234 abcd" and .class == "ff00"'
}

@test "list of each damaged device: what is wrong and where, exit 1" {
	vfc_root $R list 0000:00:02.0
	status_is 1
	[[ -z "$output" ]]
	[[ "$stderr" == "vfioctl: 0000:00:02.0: malformed vendor '0xzz86' in /sys/bus/pci/devices/0000:00:02.0/vendor: Invalid argument (the sysfs tree is damaged or not a PCI device)" ]]
	vfc_root $R list 0000:00:03.0
	status_is 1
	[[ "$stderr" == "vfioctl: 0000:00:03.0: malformed line 2 of /sys/bus/pci/devices/0000:00:03.0/resource: Invalid argument (the sysfs tree is damaged)" ]]
	vfc_root $R list 0000:00:04.0
	status_is 1
	[[ "$stderr" == "vfioctl: 0000:00:04.0: iommu_group points to 'abc': Invalid argument" ]]
	vfc_root $R list 0000:00:06.0
	status_is 1
	has_line "$stderr" "^vfioctl: 0000:00:06.0: malformed numa_node in /sys/bus/pci/devices/0000:00:06.0/numa_node .*: Invalid argument" stderr
	vfc_root $R list 0000:00:07.0
	status_is 1
	[[ "$stderr" == "vfioctl: 0000:00:07.0: physfn points to 'not-a-pci-address': Invalid argument" ]]
	vfc_root $R list 0000:00:09.0
	status_is 1
	has_line "$stderr" "^vfioctl: 0000:00:09.0: malformed class '0x1020000' in /sys/bus/pci/devices/0000:00:09.0/class: " stderr
}

@test "list: a damaged device named with an intact one still fails, exit 1" {
	vfc_root $R list 0000:00:00.0 0000:00:02.0
	status_is 1
	has_line "$stderr" "malformed vendor" stderr
}

@test "group N with malformed reserved_regions: names the file, exit 1" {
	vfc_root $R group 1
	status_is 1
	[[ -z "$output" ]]
	[[ "$stderr" == "vfioctl: IOMMU group 1: malformed /sys/kernel/iommu_groups/1/reserved_regions: Invalid argument (the sysfs tree is damaged)" ]]
}

@test "group: an intact group still shows" {
	expect $R group-0 0 group 0
}

@test "group: a damaged group is named, nothing crashes, exit 1" {
	vfc_root $R group
	status_is 1
	has_line "$stderr" "^vfioctl: warning: ignoring 'xyz' in /sys/kernel/iommu_groups: not a group number$" stderr
	has_line "$stderr" "IOMMU group 1: malformed /sys/kernel/iommu_groups/1/reserved_regions" stderr
}

@test "group: the intact groups still show beside a damaged one" {
	vfc_root $R group -J
	status_is 1
	json_has '[.groups[].group] | index(0) != null'
}

@test "group with a member missing from sys/bus/pci: the member is named, no crash" {
	vfc_root $R group 2
	[[ "$status" != 0 ]]
	has_line "$stderr" "0000:00:1e.0" stderr
}

@test "group with a member missing from sys/bus/pci: a damaged tree, not 'not found'" {
	vfc_root $R group 2
	status_is 1
	has_line "$stderr" "group 2" stderr
}

@test "check: damage in hugepages, limits, ecap and module dir: warnings, still a report" {
	vfc_root $R check
	status_is 0
	same_as "$EXPECTED/$R/check.err" "$(sort <<<"$stderr")" stderr
	has_line "$output" '^iommu-enabled +PASS +1 IOMMU unit active' 
	# an unreadable ecap: cannot tell, so SKIP, not PASS
	has_line "$output" '^interrupt-remapping +SKIP ' 
	# no /lib/modules/RELEASE: unknown, not missing
	has_line "$output" '^module-vfio_pci +WARN +no module directory /lib/modules/6.1.0-18-amd64 '
	has_line "$output" '^module-vfio +PASS +loaded'
	has_line "$output" '^iommu-groups +PASS +3 IOMMU groups'
}

@test "check: an unreadable memlock limit is not reported as 0" {
	vfc_root $R check -J
	json_has '.checks[] | select(.check == "memlock") | .detail | contains("RLIMIT_MEMLOCK 0") | not'
}

@test "check a device whose group has a dangling member: FAIL with the reason, exit 3" {
	vfc_root $R check -J 0000:00:0a.0
	status_is 3
	json_has '.checks[] | select(.check == "device-viable") |
		.status == "FAIL" and (.detail | contains("0000:00:1e.0"))'
}

@test "check of a damaged device: the error, exit 1" {
	vfc_root $R check 0000:00:02.0
	status_is 1
	[[ -z "$output" ]]
	has_line "$stderr" "^vfioctl: 0000:00:02.0: malformed vendor '0xzz86'" stderr
}

@test "--debug shows the library's debug messages, and still no crash" {
	vfc_root $R --debug group 0
	status_is 0
	vfc_root $R --debug list
	status_is 1
	has_line "$stderr" 'warning: skipped: 0000:00:02.0' stderr
}
