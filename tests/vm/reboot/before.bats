#!/usr/bin/env bats
# Boot 1 of the reboot proof (tests/vm/check runs it last, then reboots the guest
# and runs after.bats): bindings made with --persist, the unit enabled. What the
# devices look like after the reboot is checked by after.bats; these tests leave
# the bindings in place on purpose.

load ../guest/helpers

EDU=0000:00:08.0

setup() {
	command -v vfioctl >/dev/null || skip "vfioctl is not installed in the guest"
	[[ -d /sys/kernel/iommu_groups ]] || skip "not in the rig's guest (no IOMMU groups)"
}

@test "the unit is installed; bind --persist warns until it is enabled" {
	# the staged install came after systemd had read its units
	systemctl daemon-reload
	[ "$(systemctl show -P LoadState vfioctl-persist.service)" = loaded ]
	[ "$(systemctl is-enabled vfioctl-persist.service)" = disabled ]
	run vfioctl bind --persist --owner nobody:nogroup -r -n -o DEVICE,ACTION,OWNER $EDU
	[ "$status" -eq 0 ]
	[[ "$output" == *"$EDU bound yes"* ]]
	[[ "$output" == *"vfioctl-persist.service is not enabled"* ]]
	systemctl enable vfioctl-persist.service
	[ "$(systemctl is-enabled vfioctl-persist.service)" = enabled ]
}

@test "the NIC and the bridge pair are persisted too" {
	[ "$(driver_of $NIC)" = e1000e ]
	run vfioctl bind --persist $NIC
	[ "$status" -eq 0 ]
	[[ "$output" != *"not enabled"* ]]
	run vfioctl bind --persist --group $BR_A
	[ "$status" -eq 0 ]
	[ "$(driver_of $BR_A) $(driver_of $BR_B)" = "vfio-pci vfio-pci" ]
}

@test "persist list shows the four entries, bound" {
	run vfioctl persist list -r -n -o DEVICE,ID,OWNER,STATE
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0000:00:05.0 8086:10d3  bound" ]
	[ "${lines[1]}" = "0000:00:08.0 1234:11e8 nobody:nogroup bound" ]
	[ "${lines[2]}" = "0000:01:01.0 1234:11e8  bound" ]
	[ "${lines[3]}" = "0000:01:02.0 1234:11e8  bound" ]
	[ "${#lines[@]}" -eq 4 ]
	g=$(readlink /sys/bus/pci/devices/$EDU/iommu_group)
	grep -qx "SUBSYSTEM==\"vfio\", KERNEL==\"${g##*/}\", OWNER=\"$(id -u nobody)\", GROUP=\"$(getent group nogroup | cut -d: -f3)\", MODE=\"0660\"" \
		/run/udev/rules.d/70-vfioctl.rules
}

@test "an entry for an absent device and one for another device are left for boot 2" {
	# 00:1e.0 holds nothing; 00:06.0 holds the NVMe controller, not an edu
	mkdir -p /etc/vfioctl/persist
	printf 'version=1\nid=1234:11e8\nowner=\nforce=no\n' >/etc/vfioctl/persist/0000:00:1e.0
	printf 'version=1\nid=1234:11e8\nowner=\nforce=no\n' >/etc/vfioctl/persist/0000:00:06.0
	run vfioctl persist list -r -n -o DEVICE,STATE
	[[ "$output" == *"0000:00:06.0 other-device"* ]]
	[[ "$output" == *"0000:00:1e.0 absent"* ]]
	sync
}
