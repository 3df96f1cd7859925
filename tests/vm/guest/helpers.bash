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

# The rig's fixed devices (tests/vm/run): the NIC, the NVMe controller, the edu pair
# behind the bridge, sharing one group.
NIC=0000:00:05.0
NVME=0000:00:06.0
BR_A=0000:01:01.0
BR_B=0000:01:02.0

# The driver of a device ("-" when none), its driver_override, its group.
driver_of() {
	local l
	l=$(readlink "/sys/bus/pci/devices/$1/driver") || { echo -; return 0; }
	echo "${l##*/}"
}
override_of() { cat "/sys/bus/pci/devices/$1/driver_override"; }
group_of() { local l; l=$(readlink "/sys/bus/pci/devices/$1/iommu_group"); echo "${l##*/}"; }

# Unbound edu devices (1234:11e8) that have an IOMMU group of their own.
free_edus() {
	local d grp
	for d in /sys/bus/pci/devices/*; do
		[[ "$(cat "$d/vendor")" == 0x1234 && "$(cat "$d/device")" == 0x11e8 ]] || continue
		[[ -e "$d/driver" || ! -e "$d/iommu_group" ]] && continue
		grp=$(readlink -f "$d/iommu_group")
		[[ "$(ls "$grp/devices" | wc -l)" -eq 1 ]] || continue
		echo "${d##*/}"
	done
}

log() { printf '%s\n' "$@" | sed 's/^/# /' >&3; }

# A device onto vfio-pci by driver_override (the test's own raw sysfs writes, not
# vfioctl's), and back off it.
vfio_bind() {
	echo vfio-pci >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe
	[[ "$(readlink -f "/sys/bus/pci/devices/$1/driver")" == */vfio-pci ]]
}

vfio_unbind() {
	local d=/sys/bus/pci/devices/$1
	if [[ "$(readlink -f "$d/driver" 2>/dev/null)" == */vfio-pci ]]; then
		echo "$1" >/sys/bus/pci/drivers/vfio-pci/unbind
	fi
	echo >"$d/driver_override"
}

# For setup_file: two free edus on vfio-pci as A and B (groups GA, GB), and a hugepage pool
# of 64 x 2M (HP_SAVED: what to put back). Fails when the rig has fewer than two.
take_two_edus() {
	local edus
	mapfile -t edus < <(free_edus)
	((${#edus[@]} >= 2)) || {
		echo "need two unbound edu devices with a group each, found ${#edus[@]}" >&2
		return 1
	}
	A=${edus[0]} B=${edus[1]}
	modprobe vfio-pci 2>/dev/null || true # built in on the iommufd kernel
	vfio_bind "$A" && vfio_bind "$B"
	GA=$(group_of "$A") GB=$(group_of "$B")
	HP_SAVED=$(cat "$HP")
	echo 64 >"$HP"
	export A B GA GB HP_SAVED
}

# `vfioctl ARGS... --hold -J` in the background (HOLD_PID), until it has printed its report,
# that is until everything is mapped; hold_stop ends it with SIGTERM and its exit status.
hold_start() {
	local out=$BATS_TEST_TMPDIR/hold.out err=$BATS_TEST_TMPDIR/hold.err i
	"$VFIOCTL" "$@" --hold -J >"$out" 2>"$err" &
	HOLD_PID=$!
	for ((i = 0; i < 600; i++)); do
		grep -q total "$out" && return 0
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "map --hold did not report:" >&2
	cat "$err" >&2
	return 1
}

hold_stop() {
	kill -TERM "$HOLD_PID"
	wait "$HOLD_PID"
}

# The value of a jq filter over the last output.
jv() { jq -r "$1" <<<"$output"; }

# The DMAR fault the kernel logged for device BDF after dmesg line SINCE (at IOVA ADDR when
# given). Faults are reported from an interrupt: up to 5 s are allowed. Fails when none came.
dmar_fault() { # BDF SINCE [ADDR]
	local dev line i
	# 6.1 names the device "[00:08.0]", 7.x "[0000:00:08.0]"
	dev="\\[(${1%%:*}:)?${1#*:}\\]"
	dev=${dev//./\\.}
	for ((i = 0; i < 50; i++)); do
		line=$(dmesg | tail -n "+$(($2 + 1))" |
			grep -E "DMAR:.*Request device $dev fault addr${3:+ $3 }" || true)
		[[ -z "$line" ]] || { echo "$line"; return 0; }
		sleep 0.1
	done
	return 1
}
