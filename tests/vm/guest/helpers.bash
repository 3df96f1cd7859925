# Helpers for the guest tests. Facts are read straight from sysfs, to compare with vfioctl's.
# Under TCG every process costs: each helper runs jq once and walks sysfs with builtins.

setup() {
	command -v vfioctl >/dev/null || skip "vfioctl is not installed in the guest"
	[[ -d /sys/kernel/iommu_groups ]] || skip "not in the rig's guest (no IOMMU groups)"
}

# "BDF GROUP DRIVER" for every PCI device, from sysfs (DRIVER "-" when none).
sysfs_devices() {
	local d group driver
	for d in /sys/bus/pci/devices/*; do
		group=$(readlink "$d/iommu_group") driver=-
		[[ -e "$d/driver" ]] && driver=$(readlink "$d/driver")
		echo "${d##*/} ${group##*/} ${driver##*/}"
	done
}

# "GROUP BDF..." for every IOMMU group, from sysfs, sorted by group.
sysfs_groups() {
	local g devs
	for g in /sys/kernel/iommu_groups/*; do
		devs=("$g"/devices/*)
		echo "${g##*/} ${devs[*]##*/}"
	done | sort -n
}

# BDFs of the emulated edu devices (1234:11e8).
edus() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[[ "$(<"$d/vendor")" == 0x1234 && "$(<"$d/device")" == 0x11e8 ]] && echo "${d##*/}"
	done
	return 0
}

# The same tables from vfioctl's JSON.
vfioctl_devices() { vfioctl list --json | jq -r '.devices[] | "\(.bdf) \(.group) \(.driver // "-")"'; }
vfioctl_groups() { vfioctl group --json | jq -r '.groups[] | "\(.group) \(.devices | sort | join(" "))"' | sort -n; }
# "BDF GROUP VIABLE MEMBERS" for every device of every group.
vfioctl_membership() {
	vfioctl group --json |
		jq -r '.groups[] | .group as $g | .viable as $v | (.devices | length) as $n | .devices[] | "\(.) \($g) \($v) \($n)"'
}
