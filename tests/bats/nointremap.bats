#!/usr/bin/env bats
# The nointremap root (tests/roots/nointremap.desc): VT-d without interrupt
# remapping. Copies of it, changed in one place, cover the neighbouring cases.

load common

setup_file() {
	roots_setup
}

R=nointremap

@test "check: missing interrupt remapping is a FAIL with both ways out; exit 3" {
	expect $R check 3 check
	vfc_root $R check -J
	json_has '[.checks[] | select(.status == "FAIL") | .check] == ["interrupt-remapping"]'
	json_has '.checks[] | select(.check == "interrupt-remapping") |
		(.hint | contains("allow_unsafe_interrupts=1")) and (.detail | contains("EPERM"))'
	# only the system-wide pools, not node0's copy of them
	json_has '.checks[] | select(.check == "hugepages") | .detail == "2M: 512 (500 free), 1G: 4 (4 free)"'
}

@test "check with allow_unsafe_interrupts=Y: a WARN about forged MSIs; exit 0" {
	root_copy $R
	echo Y >"$ROOTS/$R/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"
	vfc_root $R check -J
	status_is 0
	json_has '.checks[] | select(.check == "interrupt-remapping") |
		.status == "WARN" and (.detail | contains("allow_unsafe_interrupts=1")) and
		(.hint | contains("drop allow_unsafe_interrupts"))'
}

@test "check: no /dev/vfio/vfio beside /dev/iommu is a SKIP; with neither, a FAIL" {
	root_copy $R
	rm "$ROOTS/$R/dev/vfio/vfio"
	vfc_root $R check -J
	status_is 3
	json_has '.checks[] | select(.check == "dev-vfio") |
		.status == "SKIP" and (.detail | contains("iommufd"))'
	rm "$ROOTS/$R/dev/iommu"
	vfc_root $R check -J
	status_is 3
	json_has '.checks[] | select(.check == "dev-vfio") |
		.status == "FAIL" and .detail == "vfio is loaded but /dev/vfio/vfio is missing" and
		(.hint | contains("devtmpfs"))'
	json_has '.checks[] | select(.check == "iommufd") | .status == "SKIP"'
}

@test "check: a VT-d unit that cannot say is not taken for one without remapping" {
	root_copy $R
	rm "$ROOTS/$R/sys/class/iommu/dmar1/intel-iommu/ecap"
	echo 7e3ff0505e >"$ROOTS/$R/sys/class/iommu/dmar0/intel-iommu/ecap"
	vfc_root $R check -J
	status_is 0
	json_has '.checks[] | select(.check == "interrupt-remapping") | .status == "PASS"'
	# one unit without it is enough to fail
	echo 1000 >"$ROOTS/$R/sys/class/iommu/dmar1/intel-iommu/ecap"
	vfc_root $R check -J
	status_is 3
}

@test "list and group: the NIC on vfio-pci with its group node and cdev" {
	expect $R list 0 list -o BDF,ID,DRIVER,OVERRIDE,GROUP,VFIO,CDEV,NUMA
	expect $R group 0 group -J
	json_has '.groups[] | select(.group == 13) | .viable == true'
}
