#!/usr/bin/env bats
# IOMMU groups made by the emulated Intel IOMMU of a real kernel, as `vfioctl group` shows them.

load helpers

@test "group lists exactly the kernel's groups with their members" {
	diff <(sysfs_groups) <(vfioctl_groups)
}

@test "the two edu behind the pci-bridge share one viable group" {
	m=$(vfioctl_membership)
	a=$(awk '$1 == "0000:01:01.0" { print $2, $3 }' <<<"$m")
	b=$(awk '$1 == "0000:01:02.0" { print $2, $3 }' <<<"$m")
	# Neither has a driver and the bridge does not count: the group is usable as a whole.
	[ "$a" = "$(basename "$(readlink /sys/bus/pci/devices/0000:01:01.0/iommu_group)") true" ]
	[ "$a" = "$b" ]
}

@test "every other edu is alone in its own viable group" {
	m=$(vfioctl_membership)
	n=0
	for bdf in $(edus); do
		[[ "$bdf" == 0000:01:* ]] && continue
		n=$((n + 1))
		awk -v d="$bdf" '$1 == d && $3 == "true" && $4 == 1 { ok = 1 } END { exit !ok }' <<<"$m" ||
			{ grep "^$bdf " <<<"$m"; false; }
	done
	[ "$n" -eq "${VFIOCTL_VM_EDU:-$n}" ] && [ "$n" -ge 1 ]
}

@test "groups of the NIC and the disk (bound to host drivers) are not viable" {
	m=$(vfioctl_membership)
	for bdf in 0000:00:05.0 0000:00:06.0; do
		awk -v d="$bdf" '$1 == d && $3 == "false" { ok = 1 } END { exit !ok }' <<<"$m" ||
			{ grep "^$bdf " <<<"$m"; false; }
	done
}
