#!/usr/bin/env bats
# The rig's emulated devices as `vfioctl list` sees them on a real kernel.

load helpers

@test "list reports every PCI device with the group and driver the kernel has" {
	diff <(sysfs_devices | sort) <(vfioctl_devices | sort)
}

@test "every edu is listed as 1234:11e8 with no driver" {
	want=$(edus | sort)
	got=$(vfioctl list --json | jq -r '.devices[] | select(.id == "1234:11e8") | "\(.bdf) \(.driver)"' | sort)
	[ "$got" = "$(sed 's/$/ null/' <<<"$want")" ]
	# the rig's --edu N on the root bus, plus two behind the pci-bridge
	[ "$(wc -l <<<"$want")" -eq $((${VFIOCTL_VM_EDU:-4} + 2)) ]
}

@test "the e1000e NIC is 8086:10d3 bound to e1000e" {
	run jq -r '.devices[] | select(.id == "8086:10d3") | "\(.bdf) \(.driver)"' < <(vfioctl list --json)
	[ "$output" = "0000:00:05.0 e1000e" ]
}

@test "the nvme controller is 1b36:0010 bound to nvme" {
	run jq -r '.devices[] | select(.id == "1b36:0010") | "\(.bdf) \(.driver)"' < <(vfioctl list --json)
	[ "$output" = "0000:00:06.0 nvme" ]
}
