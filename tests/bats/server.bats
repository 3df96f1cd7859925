#!/usr/bin/env bats
# The server root (tests/roots/server.desc): AMD EPYC, AMD-Vi, iommu=pt, an
# I350 with two VFs on vfio-pci, bridges in groups, a device with no group.

load common

setup_file() {
	roots_setup
}

R=server

@test "list: PFs, VFs, bridges and the IOMMU's own function" {
	expect $R list 0 list
	expect $R list-json 0 list -J
	json_has '.devices[] | select(.bdf == "0000:00:00.2") | .group == null and .vfio == null'
}

@test "list SR-IOV columns: VFs name their PF, PFs count their VFs" {
	expect $R list-sriov 0 list -o BDF,ID,DRIVER,OVERRIDE,NUMA,SRIOV,PF,NUMVFS,GROUP,VFIO
	expect $R list-sriov-json 0 list -J -o BDF,DRIVER,OVERRIDE,SRIOV,PF,NUMVFS
	json_has '[.devices[] | select(.sriov == "VF") | {bdf, pf, driver, override}] == [
		{bdf: "0000:02:10.0", pf: "0000:02:00.0", driver: "vfio-pci", override: "vfio-pci"},
		{bdf: "0000:02:10.4", pf: "0000:02:00.0", driver: "vfio-pci", override: "vfio-pci"}]'
	json_has '[.devices[] | select(.sriov == "PF") | {bdf, numvfs}] == [
		{bdf: "0000:02:00.0", numvfs: 2}, {bdf: "0000:02:00.1", numvfs: 0}]'
	json_has 'all(.devices[] | select(.sriov == null); .pf == null and .numvfs == null)'
}

@test "list --vfio, --driver igb, --vendor 8086:1520, --class 02 --driver vfio-pci" {
	expect $R list-vfio 0 list --vfio
	expect $R list-driver-igb-json 0 list --driver igb -J -o BDF,SRIOV,NUMVFS
	vfc_root $R list --vendor 8086:1520 -o BDF -n
	status_is 0
	[[ "$output" == $'0000:02:10.0\n0000:02:10.4' ]]
	vfc_root $R list --class 02 --driver vfio-pci -o BDF -n
	status_is 0
	[[ "$output" == $'0000:02:10.0\n0000:02:10.4' ]]
}

@test "list a VF by address, with its BARs" {
	expect $R list-vf 0 list -o BDF,NAME,SRIOV,PF,BARS 0000:02:10.4
	expect $R list-vf-json 0 list -J -o +PF,BARS 02:10.0
}

@test "group: bridges do not block, endpoints do; numeric order" {
	expect $R group 0 group
	expect $R group-json 0 group -J -o +NDEV,BLOCKER,RESV
	json_has '[.groups[].group] == [0, 1, 2, 3, 4, 7, 40, 41]'
	# a dummy host bridge (no driver) and a root port (pcieport)
	json_has '.groups[] | select(.group == 0) | .viable == true and .ndev == 2'
	# the BMC's PCIe-to-PCI bridge has no driver: the VGA behind it blocks
	json_has '.groups[] | select(.group == 7) |
		.viable == false and .blocker == "0000:04:00.0" and .reason == "0000:04:00.0 is bound to ast"'
	json_has '.groups[] | select(.group == 40 or .group == 41) | .viable == true'
	json_has '.groups[] | select(.group == 1) | .resv ==
		["0xfee00000-0xfeefffff msi", "0xfd00000000-0xffffffffff reserved"]'
}

@test "group of a VF and of the VGA, by address" {
	expect $R group-vf-vga 0 group 0000:02:10.4 04:00.0
	vfc_root $R group -J 03:00.0
	status_is 0
	json_has '[.groups[].group] == [7]'
}

@test "group of a device without an IOMMU group: exit 4, says why" {
	vfc_root $R group 0000:00:00.2
	status_is 4
	[[ -z "$output" ]]
	[[ "$stderr" == "vfioctl: 0000:00:00.2 has no IOMMU group: the IOMMU is off or does not cover this device (see 'vfioctl check')" ]]
}

@test "check: AMD-Vi, iommu=pt, 1G pages, CAP_IPC_LOCK; exit 0" {
	expect $R check 0 check
	expect $R check-json 0 check -J
	json_has 'all(.checks[]; .status != "FAIL" and .status != "WARN")'
	json_has '.checks[] | select(.check == "module-iommufd") | .status == "SKIP" and
		.detail == "not built for kernel 6.1.0-18-amd64"'
	json_has '.checks[] | select(.check == "interrupt-remapping") | .status == "SKIP"'
	json_has '.checks[] | select(.check == "hugepages") | .detail == "1G: 16 (12 free)"'
}

@test "check the VFs: viable, on vfio-pci, virtual functions of the PF; exit 0" {
	expect $R check-vfs 0 check -o CHECK,DEVICE,STATUS,DETAIL 02:10.0 02:10.4
	vfc_root $R check -J 02:10.0 02:10.4
	status_is 0
	json_has '[.checks[] | select(.check == "device-sriov") | .detail] ==
		["virtual function of 0000:02:00.0", "virtual function of 0000:02:00.0"]'
	json_has 'all(.checks[] | select(.device != null); .status == "PASS")'
}

@test "check a device with no IOMMU group: FAIL, exit 3" {
	expect $R check-nogroup 3 check -o CHECK,DEVICE,STATUS,DETAIL,HINT 00:00.2 02:10.0
	vfc_root $R check -J 00:00.2
	status_is 3
	json_has '[.checks[] | select(.status == "FAIL") | {check, device}] ==
		[{check: "device-group", device: "0000:00:00.2"}]'
	json_has '.checks[] | select(.status == "FAIL") | .hint | length > 0'
}
