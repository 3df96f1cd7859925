#!/usr/bin/env bats
# The iommu-off root (tests/roots/iommu-off.desc): the firmware has VT-d (DMAR
# table), the kernel was not told intel_iommu=on; vfio_pci is blacklisted.

load common

setup_file() {
	roots_setup
}

R=iommu-off

@test "list: devices without groups" {
	expect $R list 0 list -o BDF,ID,DRIVER,GROUP,VFIO,BOOTVGA
}

@test "group: an empty groups directory means no groups, exit 0" {
	expect $R group 0 group -J
	json_has '.groups == []'
}

@test "check: firmware PASS, kernel FAIL with 'add intel_iommu=on'; blacklist WARN; exit 3" {
	expect $R check 3 check
	expect $R check-json 3 check -J
	json_has '.checks[] | select(.check == "iommu-firmware") | .status == "PASS"'
	json_has '[.checks[] | select(.status == "FAIL") | .check] == ["iommu-enabled", "iommu-groups"]'
	json_has 'all(.checks[] | select(.status == "FAIL");
		.hint == "add intel_iommu=on to the kernel command line")'
	json_has '.checks[] | select(.check == "module-vfio_pci") |
		.status == "WARN" and .detail == "available, but blacklisted" and
		(.hint | contains("blacklist vfio_pci"))'
	json_has '.checks[] | select(.check == "module-vfio") | .status == "PASS" and .detail == "builtin"'
	json_has '.checks[] | select(.check == "memlock") | .detail | startswith("RLIMIT_MEMLOCK 64K")'
}
