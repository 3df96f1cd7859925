#!/usr/bin/env bats
# The noiommu root (tests/roots/noiommu.desc): VT-d off in the firmware, no
# IOMMU anywhere in sysfs, VFIO's unsafe no-IOMMU mode on.

load common

setup_file() {
	roots_setup
}

R=noiommu

@test "list: devices without groups or VFIO nodes" {
	expect $R list 0 list
	expect $R list-json 0 list -J
	json_has 'all(.devices[]; .group == null and .vfio == null)'
	vfc_root $R list --vfio -J
	status_is 0
	json_has '.devices == []'
}

@test "group: no groups, a warning that says why, exit 0" {
	expect $R group 0 group
	expect $R group-json 0 group -J
	json_has '.groups == []'
}

@test "group N and group BDF: exit 4, and why" {
	vfc_root $R group 0
	status_is 4
	[[ "$stderr" == "vfioctl: no IOMMU group 0: No such device ('vfioctl group' lists the IOMMU groups)" ]]
	vfc_root $R group 0000:00:1f.6
	status_is 4
	[[ "$stderr" == "vfioctl: 0000:00:1f.6 has no IOMMU group: the IOMMU is off or does not cover this device (see 'vfioctl check')" ]]
}

@test "check: FAILs that the IOMMU is disabled, with the intel_iommu=on hint; exit 3" {
	expect $R check 3 check
	expect $R check-json 3 check -J
	json_has '.checks[] | select(.check == "iommu-enabled") |
		.status == "FAIL" and (.detail | contains("disabled")) and
		(.hint | contains("intel_iommu=on"))'
	json_has '.checks[] | select(.check == "iommu-firmware") |
		.status == "FAIL" and (.hint | contains("firmware"))'
	json_has '.checks[] | select(.check == "iommu-groups") | .status == "FAIL"'
	json_has '.checks[] | select(.check == "noiommu") | .status == "WARN"'
	json_has '.checks[] | select(.check == "dev-vfio") |
		.status == "WARN" and (.detail | contains("0600"))'
	json_has '.checks[] | select(.check == "module-vfio_pci") | .detail == "available, not loaded"'
	json_has 'all(.checks[] | select(.status == "WARN" or .status == "FAIL"); .hint | length > 0)'
}

@test "check a device: no IOMMU group is a FAIL; exit 3" {
	expect $R check-nic 3 check -o CHECK,DEVICE,STATUS,DETAIL 00:1f.6
	vfc_root $R check -J 00:1f.6
	status_is 3
	json_has '.checks[] | select(.device == "0000:00:1f.6" and .check == "device-group") |
		.status == "FAIL"'
}
