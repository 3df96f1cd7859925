#!/usr/bin/env bats
# The workstation root (tests/roots/workstation.desc): an Intel desktop whose
# GPU is on vfio-pci while its HDMI audio is still on snd_hda_intel.

load common

setup_file() {
	roots_setup
}

R=workstation

# ---- list -----------------------------------------------------------------------

@test "list: every device, sorted, with names from the root's pci.ids" {
	expect $R list 0 list
	expect $R list-json 0 list -J
}

@test "list JSON: the GPU and its audio share group 1 and /dev/vfio/1" {
	vfc_root $R list -J
	status_is 0
	json_has '.devices | length == 10'
	json_has '.devices[] | select(.bdf == "0000:01:00.0") |
		.driver == "vfio-pci" and .group == 1 and .vfio == "/dev/vfio/1" and
		.name == "NVIDIA Corporation GP104 [GeForce GTX 1070]"'
	json_has '.devices[] | select(.bdf == "0000:01:00.1") |
		.driver == "snd_hda_intel" and .group == 1 and .class == "Audio device"'
	# a device with no driver has null, not ""
	json_has '.devices[] | select(.bdf == "0000:00:1f.0") | .driver == null'
	json_has '[.devices[].bdf] == ([.devices[].bdf] | sort)'
}

@test "list -o +every other column (human and JSON)" {
	local cols=+SUBID,CLASSID,VENDOR,DEVICE,OVERRIDE,CDEV,NUMA,SRIOV,PF,NUMVFS,BOOTVGA
	expect $R list-all-columns 0 list -o "$cols,BARS"
	# BARS apart: its array is checked on its own below
	expect $R list-all-columns-json 0 list -J -o "$cols"
	json_has '.devices[] | select(.bdf == "0000:01:00.0") |
		.bootvga == true and .cdev == "/dev/vfio/devices/vfio0" and .numa == null'
	json_has '[.devices[] | select(.bootvga)] | length == 1'
	expect $R list-bars-json 0 list -J -o BDF,BARS 01:00.0 00:02.0
	json_has '.devices[0].bars == ["BAR0 mem 16M", "BAR1 mem 256M", "BAR3 mem 32M", "BAR5 io 128"]'
}

@test "list JSON: a device without BARs has no BAR entries" {
	vfc_root $R list -J -o BDF,BARS 00:1f.0
	status_is 0
	json_has '.devices[0].bars == [] or .devices[0].bars == null'
}

@test "list --class: 2, 4 and 6 digit prefixes" {
	expect $R list-class-03 0 list --class 03
	expect $R list-class-0403 0 list -c 0403 -J
	expect $R list-class-010802 0 list --class 010802 -o BDF,CLASSID,DRIVER
	vfc_root $R list --class 0c0330 -o BDF -n
	status_is 0
	[[ "$output" == "0000:00:14.0" ]]
	vfc_root $R list --class 09 -J
	status_is 0
	json_has '.devices == []'
}

@test "list --driver, --driver none, --vendor, --vfio" {
	expect $R list-driver-pcieport 0 list --driver pcieport
	expect $R list-driver-none 0 list -d none -J
	expect $R list-vendor-10de 0 list --vendor 10de
	expect $R list-vendor-10de-10f0 0 list --vendor 10DE:10F0 -J
	expect $R list-vfio 0 list --vfio
	vfc_root $R list --vfio -J
	json_has '[.devices[].bdf] == ["0000:01:00.0"]'
}

@test "list with filters combined: all must match" {
	vfc_root $R list --vendor 8086 --class 0604 --driver pcieport -o BDF -n
	status_is 0
	[[ "$output" == $'0000:00:01.0\n0000:00:1d.0' ]]
	vfc_root $R list --vendor 10de --driver vfio-pci --class 04 -J
	status_is 0
	json_has '.devices == []'
}

@test "list BDF...: in the order given, short addresses mean domain 0" {
	expect $R list-bdfs 0 list 01:00.1 0000:00:00.0 01:00.0
	# a filter still applies to named devices
	vfc_root $R list --vfio 01:00.1 01:00.0 -o BDF -n
	status_is 0
	[[ "$output" == "0000:01:00.0" ]]
}

@test "list -r, -P and -n" {
	expect $R list-raw 0 list -r -o BDF,NAME,DRIVER,GROUP,BARS
	expect $R list-pairs 0 list -P -o BDF,ID,DRIVER,VFIO,BOOTVGA,BARS
	expect $R list-noheadings 0 list -n -o BDF,DRIVER
	expect $R list-raw-noheadings 0 list -rn -o BDF,CLASS
}

@test "list -o: columns in the order asked, case-insensitive" {
	expect $R list-columns-chosen 0 list -o driver,BDF,Group 00:1f.6 02:00.0
}

# ---- group ---------------------------------------------------------------------

@test "group: all groups; group 1 is not viable because of the HDMI audio" {
	expect $R group 0 group
	expect $R group-json 0 group -J
	json_has '.groups[] | select(.group == 1) |
		.viable == false and
		.devices == ["0000:00:01.0", "0000:01:00.0", "0000:01:00.1"] and
		.drivers == ["pcieport", "vfio-pci", "snd_hda_intel"] and
		.reason == "0000:01:00.1 is bound to snd_hda_intel"'
	# the root port alone (bridges do not count) is viable; LPC + NIC is not
	json_has '.groups[] | select(.group == 4) | .viable == true and .reason == null'
	json_has '.groups[] | select(.group == 5) | .reason == "0000:00:1f.6 is bound to e1000e"'
	json_has '[.groups[].group] == [0, 1, 2, 3, 4, 5, 6]'
}

@test "group N and group BDF name the same group" {
	expect $R group-1 0 group 1
	vfc_root $R group 0000:01:00.1
	status_is 0
	same_as "$EXPECTED/$R/group-1.out" "$output" "group 0000:01:00.1"
	vfc_root $R group 01:00.0 -J
	status_is 0
	json_has '[.groups[].group] == [1]'
}

@test "group with several arguments, -o with every column, -r, -P" {
	expect $R group-several-json 0 group -J -o +NDEV,BLOCKER,RESV 1 02:00.0 3
	json_has '.groups[] | select(.group == 1) | .blocker == "0000:01:00.1" and .ndev == 3'
	json_has '.groups[] | select(.group == 3) |
		.resv == ["0x7a4e8000-0x7a507fff direct-relaxable", "0xfee00000-0xfeefffff msi"]'
	expect $R group-all-columns 0 group -o +NDEV,BLOCKER,RESV
	expect $R group-raw 0 group -r
	expect $R group-pairs 0 group -P -o GROUP,VIABLE,BLOCKER 1 4
}

# ---- check -----------------------------------------------------------------------

@test "check: a working VT-d host; only memlock warns; exit 0" {
	expect $R check 0 check
	expect $R check-json 0 check -J
	json_has 'all(.checks[]; .status != "FAIL")'
	json_has '[.checks[] | select(.status == "WARN") | .check] == ["memlock"]'
	json_has '.checks[] | select(.check == "iommu-enabled") | .detail == "2 IOMMU units active"'
	json_has '.checks[] | select(.check == "module-iommufd") | .detail == "builtin"'
	json_has 'all(.checks[]; .device == null)'
}

@test "check GPU: the audio function blocks the group, and it is the boot VGA" {
	expect $R check-gpu 0 check 0000:01:00.0
	expect $R check-gpu-json 0 check -J 01:00.0
	json_has '.checks[] | select(.check == "device-viable") |
		.status == "WARN" and .device == "0000:01:00.0" and
		(.detail | contains("0000:01:00.1") and contains("snd_hda_intel")) and
		(.hint | contains("0000:01:00.1"))'
	json_has '.checks[] | select(.check == "device-boot-vga") | .status == "WARN"'
	json_has '.checks[] | select(.check == "device-driver") | .detail == "bound to vfio-pci"'
}

@test "check several devices, -o, -r, -n" {
	expect $R check-devices 0 check -o CHECK,DEVICE,STATUS,DETAIL 01:00.1 02:00.0
	vfc_root $R check -J 01:00.1 02:00.0
	json_has '[.checks[] | select(.device == "0000:02:00.0") | .check] ==
		["device-group", "device-viable", "device-driver"]'
	json_has '[.checks[] | select(.device != null) | .device] | unique ==
		["0000:01:00.1", "0000:02:00.0"]'
	expect $R check-raw 0 check -rn -o CHECK,STATUS
}

@test "check a bridge: no advice to bind it to vfio-pci" {
	vfc_root $R check -J 00:1d.0
	status_is 0
	json_has 'all(.checks[] | select(.device == "0000:00:1d.0"); (.hint // "") | contains("vfio-pci") | not)'
}
