#!/usr/bin/env bats
# vfioctl bind/unbind against fake sysfs trees: argument errors, dry-run steps,
# safety refusals, records under /run/vfioctl, rollback and the lock. No kernel
# moves a driver link here, so a real (non-dry) bind always fails its
# verification and must roll back: that is what these tests check of it.
# What needs a kernel is in tests/vm/guest/40-bind.bats.

VFIOCTL=${VFIOCTL:-vfioctl}

# put PATH TEXT: a file below the root
put() {
	mkdir -p "$ROOT/$(dirname "$1")"
	printf '%s\n' "$2" >"$ROOT/$1"
}

# rel FROM TO: a relative symlink at FROM to TO (both below the root), as sysfs has
rel() {
	mkdir -p "$ROOT/$(dirname "$1")"
	ln -sfn "$(realpath -m --relative-to="$ROOT/$(dirname "$1")" "$ROOT/$2")" "$ROOT/$1"
}

# driver NAME: a PCI driver directory with its bind and unbind attributes
driver() {
	mkdir -p "$ROOT/sys/bus/pci/drivers/$1"
	: >"$ROOT/sys/bus/pci/drivers/$1/bind"
	: >"$ROOT/sys/bus/pci/drivers/$1/unbind"
}

# dev BDF VVVV:DDDD CLASS DRIVER|- GROUP|- [PARENT-BDF]
dev() {
	local bdf=$1 id=$2 class=$3 drv=$4 grp=$5 parent=${6:-}
	local d=sys/devices/pci0000:00/$bdf
	[ -z "$parent" ] || d=$(dirname "$(devdir "$parent")")/$parent/$bdf
	DEVDIR[$bdf]=$d
	put "$d/vendor" "0x${id%:*}"
	put "$d/device" "0x${id#*:}"
	put "$d/class" "0x$class"
	put "$d/subsystem_vendor" "0x0000"
	put "$d/subsystem_device" "0x0000"
	put "$d/driver_override" "(null)"
	put "$d/numa_node" "-1"
	rel "sys/bus/pci/devices/$bdf" "$d"
	if [ "$drv" != - ]; then
		driver "$drv"
		rel "$d/driver" "sys/bus/pci/drivers/$drv"
	fi
	if [ "$grp" != - ]; then
		rel "$d/iommu_group" "sys/kernel/iommu_groups/$grp"
		rel "sys/kernel/iommu_groups/$grp/devices/$bdf" "$d"
		[ "$drv" != vfio-pci ] || put "dev/vfio/$grp" ""
	fi
}
devdir() { echo "${DEVDIR[$1]}"; }

# record BDF DRIVER [OVERRIDE]: what `bind` leaves in /run/vfioctl
record() {
	put "run/vfioctl/devices/$1" "$(printf 'version=1\ndevice=%s\ndriver=%s\ndriver_override=%s\nsriov_numvfs=-1\ngroup=%s' \
		"$1" "$2" "${3:-}" "${4:-0}")"
}

# netif BDF IF FLAGS: a network interface of the device
netif() {
	local d; d=$(devdir "$1")
	put "$d/net/$2/flags" "$3"
	rel "sys/class/net/$2" "$d/net/$2"
}

setup() {
	ROOT=$BATS_TEST_TMPDIR/root
	declare -gA DEVDIR=()
	mkdir -p "$ROOT/proc/self" "$ROOT/proc/net" "$ROOT/run" "$ROOT/dev/vfio"
	mkdir -p "$ROOT/sys/bus/pci"
	: >"$ROOT/sys/bus/pci/drivers_probe"
	driver vfio-pci
	: >"$ROOT/proc/self/mountinfo"
	printf 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' >"$ROOT/proc/net/route"
	: >"$ROOT/proc/net/ipv6_route"
	: >"$ROOT/proc/net/if_inet6"
	printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n' >"$ROOT/proc/swaps"
	dev 0000:00:05.0 8086:10d3 020000 e1000e 5      # a NIC
	dev 0000:00:06.0 1b36:0010 010802 nvme 6        # an NVMe drive
	dev 0000:00:08.0 1234:11e8 00ff00 - 8           # edu, no driver
	dev 0000:00:09.0 1234:11e8 00ff00 vfio-pci 9    # edu, already on vfio-pci
	dev 0000:00:07.0 1b36:0001 060400 - 7           # a PCI bridge...
	dev 0000:01:01.0 1234:11e8 00ff00 - 7 0000:00:07.0   # ...and two edu behind it,
	dev 0000:01:02.0 1234:11e8 00ff00 uio_pci_generic 7 0000:00:07.0  # one on a host driver
	netif 0000:00:05.0 ens5 0x1002   # down
}

vf() { "$VFIOCTL" --sysroot "$ROOT" "$@"; }

# ---- arguments -----------------------------------------------------------------

@test "bind and unbind --help name their options and page" {
	run "$VFIOCTL" bind --help
	[ "$status" -eq 0 ]
	for o in --group --owner --dry-run --force --timeout --verbose --json --persist; do
		[[ "$output" == *"$o"* ]]
	done
	[[ "$output" == *"vfioctl-bind(8)"* ]]
	run "$VFIOCTL" unbind --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--group"* && "$output" == *"--dry-run"* && "$output" == *"vfioctl-unbind(8)"* ]]
	[[ "$output" != *"--force"* ]]
}

@test "bind without a device is a usage error" {
	run vf bind
	[ "$status" -eq 2 ]
	[[ "$output" == *"no device given"* ]]
}

@test "every address is checked before anything happens" {
	run vf bind 0000:00:08.0 0000:00:08.0/../..
	[ "$status" -eq 2 ]
	[[ "$output" == *"'0000:00:08.0/../..' is not a PCI address"* ]]
	[ ! -e "$ROOT/run/vfioctl" ]
}

@test "a malformed --timeout is a usage error" {
	for t in -1 abc 1e3 86401 ''; do
		run vf bind --dry-run --timeout "$t" 0000:00:08.0
		[ "$status" -eq 2 ]
		[[ "$output" == *"--timeout wants seconds"* ]]
	done
}

@test "an unknown --owner is a usage error" {
	run vf bind --dry-run --owner no-such-user-here 0000:00:08.0
	[ "$status" -eq 2 ]
	[[ "$output" == *"no user 'no-such-user-here'"* ]]
	run vf bind --dry-run --owner root:no-such-group-here 0000:00:08.0
	[ "$status" -eq 2 ]
	[[ "$output" == *"no group 'no-such-group-here'"* ]]
}

@test "a device that does not exist exits 4" {
	run vf bind --dry-run 0000:00:1f.7
	[ "$status" -eq 4 ]
	[[ "$output" == *"no PCI device 0000:00:1f.7"* ]]
}

@test "a bridge is refused without --group" {
	run vf bind --dry-run 0000:00:07.0
	[ "$status" -eq 1 ]
	[[ "$output" == *"0000:00:07.0 is a PCI bridge"* ]]
}

@test "a device without an IOMMU group cannot be bound" {
	dev 0000:00:0a.0 1234:11e8 00ff00 - -
	run vf bind --dry-run 0000:00:0a.0
	[ "$status" -eq 1 ]
	[[ "$output" == *"0000:00:0a.0 has no IOMMU group"* ]]
}

# ---- dry run -------------------------------------------------------------------

@test "dry run: every step of an unbound device, in order" {
	run vf bind --dry-run -r -n 0000:00:08.0
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'save-state /run/vfioctl/devices/0000:00:08.0 version=1\x20device=0000:00:08.0\x20driver=\x20driver_override=\x20sriov_numvfs=-1\x20group=8\x20restore=driver' ]
	[ "${lines[1]}" = "write /sys/bus/pci/devices/0000:00:08.0/driver_override vfio-pci" ]
	[ "${lines[2]}" = "write /sys/bus/pci/drivers_probe 0000:00:08.0" ]
	[ "${lines[3]}" = "verify /sys/bus/pci/devices/0000:00:08.0/driver vfio-pci" ]
	[ "${lines[4]}" = "wait /dev/vfio/8 " ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "dry run: a device on a driver is unbound from it first, and nothing changes" {
	before=$(cd "$ROOT" && find . -printf '%p %l\n' | sort && cat sys/bus/pci/devices/*/driver_override)
	run vf bind --dry-run -r -n -o STEP,DEVICE,PATH,VALUE 0000:00:05.0
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "write 0000:00:05.0 /sys/bus/pci/devices/0000:00:05.0/driver_override vfio-pci" ]
	[ "${lines[2]}" = "write 0000:00:05.0 /sys/bus/pci/devices/0000:00:05.0/driver/unbind 0000:00:05.0" ]
	[ "${lines[3]}" = "write 0000:00:05.0 /sys/bus/pci/drivers_probe 0000:00:05.0" ]
	[[ "${lines[0]}" == *'driver=e1000e'* ]]
	after=$(cd "$ROOT" && find . -printf '%p %l\n' | sort && cat sys/bus/pci/devices/*/driver_override)
	[ "$before" = "$after" ]
}

@test "dry run: vfio-pci not loaded comes first as a module load" {
	rm -r "$ROOT/sys/bus/pci/drivers/vfio-pci"
	run vf bind --dry-run -r -n -o STEP 0000:00:08.0
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "load-module" ]
}

@test "dry run: JSON steps" {
	run vf bind --dry-run -J --owner 0:0 0000:00:08.0
	[ "$status" -eq 0 ]
	run jq -c '[.steps[] | [.step, .value]]' <<<"$output"
	[[ "$output" == '[["save-state",'*'],["write","vfio-pci"],["write","0000:00:08.0"],["verify","vfio-pci"],["wait",null],["owner","0:0 0660"]]' ]]
}

@test "dry run: --list-columns lists the step columns" {
	run vf bind --dry-run --list-columns -r -n
	[ "$status" -eq 0 ]
	[ "$(cut -d' ' -f1 <<<"$output" | tr '\n' ' ')" = "STEP DEVICE PATH VALUE " ]
}

# ---- groups --------------------------------------------------------------------

@test "--group takes every endpoint of the group, not the bridge" {
	run vf bind --dry-run --group -r -n -o STEP,DEVICE 0000:01:01.0
	[ "$status" -eq 0 ]
	[[ "$output" != *"0000:00:07.0"* ]]
	[[ "$output" == *"write 0000:01:01.0"* && "$output" == *"write 0000:01:02.0"* ]]
	# the member on a host driver is unbound from it
	run vf bind --dry-run --group -r -n -o PATH 0000:01:01.0
	[[ "$output" == *"/sys/bus/pci/devices/0000:01:02.0/driver/unbind"* ]]
}

@test "binding one member of a group that stays not viable warns with what to add" {
	run vf bind --dry-run 0000:01:01.0
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: IOMMU group 7 is not viable: 0000:01:02.0 (bound to uio_pci_generic); bind it too (or use --group)"* ]]
	run vf bind --dry-run --group 0000:01:01.0
	[ "$status" -eq 0 ]
	[[ "$output" != *"not viable"* ]]
}

# ---- idempotence ---------------------------------------------------------------

@test "a device already on vfio-pci is a success that changes nothing" {
	run vf bind -J 0000:00:09.0
	[ "$status" -eq 0 ]
	run jq -c '.bind[0] | [.device, .action, .from, .to, .node, .viable]' <<<"$output"
	[ "$output" = '["0000:00:09.0","unchanged","vfio-pci","vfio-pci","/dev/vfio/9",true]' ]
	[ ! -e "$ROOT/run/vfioctl/devices/0000:00:09.0" ]
	[ "$(cat "$ROOT/sys/bus/pci/drivers_probe")" = "" ]
}

@test "unbind of a device not on vfio-pci changes nothing" {
	run vf unbind -r -n -o DEVICE,ACTION 0000:00:08.0
	[ "$status" -eq 0 ]
	[ "$output" = "0000:00:08.0 unchanged" ]
	[ "$(cat "$ROOT/sys/bus/pci/drivers_probe")" = "" ]
}

# ---- safety --------------------------------------------------------------------

@test "an interface that is up and routed is refused, with the way to override" {
	netif 0000:00:05.0 ens5 0x1003
	printf 'ens5\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' >>"$ROOT/proc/net/route"
	run vf bind 0000:00:05.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"refusing to bind 0000:00:05.0: network interface ens5 is up and in the routing table (1 route)"* ]]
	[[ "$output" == *"(--force binds it anyway)"* ]]
	[ ! -e "$ROOT/run/vfioctl/devices/0000:00:05.0" ]
	[ "$(cat "$ROOT/sys/bus/pci/drivers_probe")" = "" ]
	run vf bind --dry-run --force 0000:00:05.0
	[ "$status" -eq 0 ]
}

@test "the same route on an interface that is down is no reason" {
	printf 'ens5\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' >>"$ROOT/proc/net/route"
	run vf bind --dry-run 0000:00:05.0
	[ "$status" -eq 0 ]
}

@test "a global IPv6 address is a reason, link-local and its routes are not" {
	netif 0000:00:05.0 ens5 0x1003
	echo "fe800000000000000000000000000001 02 40 20 80     ens5" >"$ROOT/proc/net/if_inet6"
	echo "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     ens5" >"$ROOT/proc/net/ipv6_route"
	run vf bind --dry-run 0000:00:05.0
	[ "$status" -eq 0 ]
	echo "20010db8000000000000000000000001 02 40 00 80     ens5" >>"$ROOT/proc/net/if_inet6"
	run vf bind --dry-run 0000:00:05.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"network interface ens5 is up with address 2001:db8::1"* ]]
}

@test "a port of a bridge is refused" {
	netif 0000:00:05.0 ens5 0x1003
	mkdir -p "$ROOT/sys/devices/virtual/net/br0"
	rel "$(devdir 0000:00:05.0)/net/ens5/master" sys/devices/virtual/net/br0
	run vf bind --dry-run 0000:00:05.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"network interface ens5 is up and a port of br0"* ]]
}

# nvme BDF: a namespace with two partitions below the controller, as a kernel
# without NVMe multipath lays it out
nvme_disk() {
	local d; d=$(devdir 0000:00:06.0)/nvme/nvme0/nvme0n1
	put "$d/dev" "259:0"
	put "$d/nvme0n1p1/dev" "259:1"
	put "$d/nvme0n1p1/partition" "1"
	put "$d/nvme0n1p2/dev" "259:2"
	put "$d/nvme0n1p2/partition" "2"
	mkdir -p "$d/holders" "$d/nvme0n1p1/holders" "$d/nvme0n1p2/holders"
	rel sys/class/block/nvme0n1 "$d"
	rel sys/class/block/nvme0n1p1 "$d/nvme0n1p1"
	rel sys/class/block/nvme0n1p2 "$d/nvme0n1p2"
}

@test "a mounted partition is refused; an idle disk is not" {
	nvme_disk
	run vf bind --dry-run 0000:00:06.0
	[ "$status" -eq 0 ]
	echo "40 1 259:1 / /srv rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw" >"$ROOT/proc/self/mountinfo"
	run vf bind 0000:00:06.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"refusing to bind 0000:00:06.0: nvme0n1p1 is mounted on /srv"* ]]
}

@test "the disk holding / says so" {
	nvme_disk
	echo "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw" >"$ROOT/proc/self/mountinfo"
	run vf bind --dry-run 0000:00:06.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"nvme0n1p2 holds the root filesystem"* ]]
}

@test "swap on a partition is refused" {
	nvme_disk
	printf '/dev/nvme0n1p2\tpartition\t1048572\t0\t-2\n' >>"$ROOT/proc/swaps"
	run vf bind --dry-run 0000:00:06.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"nvme0n1p2 is in use as swap"* ]]
}

@test "a dm device on a partition is refused, and where it is mounted is named" {
	nvme_disk
	put sys/devices/virtual/block/dm-0/dev "254:0"
	rel sys/class/block/dm-0 sys/devices/virtual/block/dm-0
	rel "$(devdir 0000:00:06.0)/nvme/nvme0/nvme0n1/nvme0n1p2/holders/dm-0" sys/devices/virtual/block/dm-0
	run vf bind --dry-run 0000:00:06.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"nvme0n1p2 is held by dm-0"* ]]
	echo "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw" >"$ROOT/proc/self/mountinfo"
	run vf bind --dry-run 0000:00:06.0
	[[ "$output" == *"nvme0n1p2 is held by dm-0: dm-0 holds the root filesystem"* ]]
}

@test "an NVMe multipath disk is found through its path below the controller" {
	local c; c=$(devdir 0000:00:06.0)/nvme/nvme0
	put "$c/nvme0c0n1/dev" "259:9"
	put sys/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1/dev "259:0"
	rel sys/class/block/nvme0n1 sys/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1
	rel sys/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1/multipath/nvme0c0n1 "$c/nvme0c0n1"
	echo "40 1 259:0 / /data rw - xfs /dev/nvme0n1 rw" >"$ROOT/proc/self/mountinfo"
	run vf bind --dry-run 0000:00:06.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"nvme0n1 is mounted on /data"* ]]
}

@test "the boot VGA device and a framebuffer on a device are refused" {
	dev 0000:00:02.0 1234:1111 030000 bochs-drm 2
	put "$(devdir 0000:00:02.0)/boot_vga" 1
	run vf bind --dry-run 0000:00:02.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"it is the boot VGA device"* ]]
	put "$(devdir 0000:00:02.0)/boot_vga" 0
	put "$(devdir 0000:00:02.0)/graphics/fb0/name" "bochs-drmdrmfb"
	rel sys/class/graphics/fb0 "$(devdir 0000:00:02.0)/graphics/fb0"
	rel "$(devdir 0000:00:02.0)/graphics/fb0/device" "$(devdir 0000:00:02.0)"
	run vf bind --dry-run 0000:00:02.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"framebuffer fb0 (bochs-drmdrmfb) is on it"* ]]
}

@test "a PF with VFs enabled is refused" {
	put "$(devdir 0000:00:05.0)/sriov_totalvfs" 7
	put "$(devdir 0000:00:05.0)/sriov_numvfs" 2
	run vf bind --dry-run 0000:00:05.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"it has 2 SR-IOV VFs enabled"* ]]
	run vf bind --dry-run --force -r -n -o VALUE 0000:00:05.0
	[[ "${lines[0]}" == *"sriov_numvfs=2"* ]]
}

# fdproc PID COMM TARGET: a process holding TARGET open
fdproc() {
	mkdir -p "$ROOT/proc/$1/fd"
	echo "$2" >"$ROOT/proc/$1/comm"
	ln -s "$3" "$ROOT/proc/$1/fd/7"
}

@test "unbind refuses a device a process holds through VFIO; bind refuses a member of its group" {
	fdproc 4242 qemu-system-x86 /dev/vfio/9
	run vf unbind 0000:00:09.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"refusing to unbind 0000:00:09.0: /dev/vfio/9 is open in qemu-system-x86[4242]"* ]]
	[[ "$output" == *"stop it first"* ]]
	# another member of group 9, on a host driver, would join a group in use
	dev 0000:00:0b.0 1234:11e8 00ff00 uio_pci_generic 9
	run vf bind --dry-run 0000:00:0b.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"/dev/vfio/9 is open in qemu-system-x86[4242]"* ]]
}

@test "one refused device refuses the whole run, and every refusal is named" {
	netif 0000:00:05.0 ens5 0x1003
	printf 'ens5\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' >>"$ROOT/proc/net/route"
	put "$(devdir 0000:00:06.0)/boot_vga" 1
	run vf bind 0000:00:08.0 0000:00:05.0 0000:00:06.0
	[ "$status" -eq 6 ]
	[[ "$output" == *"refusing to bind 0000:00:05.0"* ]]
	[[ "$output" == *"warning: also refusing to bind 0000:00:06.0"* ]]
	[ ! -e "$ROOT/run/vfioctl/devices/0000:00:08.0" ]
}

# ---- records, rollback, lock ---------------------------------------------------

@test "a failed bind rolls back every device and removes its records" {
	run vf bind -v 0000:00:08.0 0000:00:05.0
	[ "$status" -eq 7 ]
	[[ "$output" == *"0000:00:08.0: vfio-pci did not take the device (its driver is none)"* ]]
	[[ "$output" == *"rolled back: every device is on its original driver again"* ]]
	[[ "$output" == *"rollback: write /sys/bus/pci/devices/0000:00:05.0/driver_override \\n"* ]]
	# the record was written before the first write to the device
	save=$(grep -n 'save-state /run/vfioctl/devices/0000:00:05.0' <<<"$output" | cut -d: -f1)
	write=$(grep -n 'write /sys/bus/pci/devices/0000:00:05.0/driver_override vfio-pci' <<<"$output" | cut -d: -f1)
	[ "$save" -lt "$write" ]
	[ -z "$(ls -A "$ROOT/run/vfioctl/devices")" ]
	[ "$(cat "$ROOT/sys/bus/pci/devices/0000:00:05.0/driver_override")" = "" ]
	[ "$(readlink "$ROOT/sys/bus/pci/devices/0000:00:05.0/driver")" != "" ]
}

@test "an interrupted earlier bind is finished from its record, not from what is left" {
	rm "$ROOT/$(devdir 0000:00:05.0)/driver"
	put "$(devdir 0000:00:05.0)/driver_override" vfio-pci
	record 0000:00:05.0 e1000e "" 5
	run vf bind --dry-run -r -n -o STEP,VALUE 0000:00:05.0
	[ "$status" -eq 0 ]
	[[ "$output" == *"an earlier run was interrupted; keeping its record (driver e1000e)"* ]]
	[[ "$output" == *"driver=e1000e"* ]]
	# and unbind takes it home too
	run vf unbind --dry-run -r -n -o STEP,PATH 0000:00:05.0
	[ "$status" -eq 0 ]
	[[ "$output" == *"write /sys/bus/pci/drivers/e1000e/bind"* ]]
}

@test "unbind restores the recorded driver and override, then drops the record" {
	rel "$(devdir 0000:00:08.0)/driver" sys/bus/pci/drivers/vfio-pci
	driver e1000e
	record 0000:00:08.0 e1000e "pci-stub" 8
	run vf unbind --dry-run -r -n 0000:00:08.0
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "write /sys/bus/pci/devices/0000:00:08.0/driver_override pci-stub" ]
	[ "${lines[1]}" = "write /sys/bus/pci/devices/0000:00:08.0/driver/unbind 0000:00:08.0" ]
	[ "${lines[2]}" = "write /sys/bus/pci/drivers/e1000e/bind 0000:00:08.0" ]
	[ "${lines[3]}" = "verify /sys/bus/pci/devices/0000:00:08.0/driver e1000e" ]
	[ "${lines[4]}" = "remove-state /run/vfioctl/devices/0000:00:08.0 " ]
}

@test "unbind without a record lets the kernel choose, and clears driver_override" {
	run vf unbind --dry-run -r -n 0000:00:09.0
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'write /sys/bus/pci/devices/0000:00:09.0/driver_override \x5cn' ]
	[ "${lines[1]}" = "write /sys/bus/pci/devices/0000:00:09.0/driver/unbind 0000:00:09.0" ]
	[ "${lines[2]}" = "write /sys/bus/pci/drivers_probe 0000:00:09.0" ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "a record of a device that is back on its driver is stale and dropped" {
	record 0000:00:05.0 e1000e "" 5
	run vf unbind --dry-run -r -n 0000:00:05.0
	[ "$status" -eq 0 ]
	[ "$output" = "remove-state /run/vfioctl/devices/0000:00:05.0 " ]
}

@test "a failed unbind keeps the record for the next try" {
	rel "$(devdir 0000:00:08.0)/driver" sys/bus/pci/drivers/vfio-pci
	driver e1000e
	record 0000:00:08.0 e1000e "" 8
	run vf unbind 0000:00:08.0
	[ "$status" -eq 1 ]
	[[ "$output" == *"0000:00:08.0: e1000e did not take the device (its driver is vfio-pci)"* ]]
	[ -e "$ROOT/run/vfioctl/devices/0000:00:08.0" ]
	[ "$(cat "$ROOT/sys/bus/pci/drivers/e1000e/bind")" = "0000:00:08.0" ]
}

@test "a malformed record is an error, not a guess" {
	rel "$(devdir 0000:00:08.0)/driver" sys/bus/pci/drivers/vfio-pci
	put run/vfioctl/devices/0000:00:08.0 "driver=../../etc"
	run vf unbind --dry-run 0000:00:08.0
	[ "$status" -eq 1 ]
	[[ "$output" == *"/run/vfioctl/devices/0000:00:08.0: malformed record of 0000:00:08.0"* ]]
}

@test "records are written whole: no temporary file is left" {
	run vf bind 0000:00:08.0
	[ "$status" -eq 7 ]
	[ -z "$(ls -A "$ROOT/run/vfioctl/devices")" ]
	[ "$(stat -c %a "$ROOT/run/vfioctl")" = 755 ]
}

# Another process takes vfioctl's lock for SECS seconds; returns once it holds it.
# $BATS_TEST_TMPDIR/held exists while it does.
hold_lock() { # SECS
	local i
	flock "$ROOT/run/vfioctl/lock" sh -c 'touch "$1"; sleep "$2"; rm "$1"' sh \
		"$BATS_TEST_TMPDIR/held" "$1" &
	for ((i = 0; i < 100; i++)); do
		[ -e "$BATS_TEST_TMPDIR/held" ] && return 0
		sleep 0.1
	done
	return 1
}

@test "a run waits for the lock another run holds" {
	mkdir -p "$ROOT/run/vfioctl"
	hold_lock 1
	run vf bind 0000:00:08.0
	# the holder had let go when the run went on
	[ ! -e "$BATS_TEST_TMPDIR/held" ]
	wait
	[ "$status" -eq 7 ]
	[[ "$output" == *"waiting for another vfioctl run"* ]]
}

@test "SIGINT while waiting for the lock stops the run, nothing changed" {
	mkdir -p "$ROOT/run/vfioctl"
	hold_lock 5
	run timeout --preserve-status -s INT 1.5 "$VFIOCTL" --sysroot "$ROOT" bind 0000:00:08.0
	kill %1 2>/dev/null || true
	wait || true
	[ "$status" -eq 130 ]
	[[ "$output" == *"interrupted while waiting for the lock"* ]]
	[ -z "$(ls -A "$ROOT/run/vfioctl/devices" 2>/dev/null)" ]
	[ "$(cat "$ROOT/sys/bus/pci/drivers_probe")" = "" ]
}

@test "bind outside the running system does not load modules" {
	rm -r "$ROOT/sys/bus/pci/drivers/vfio-pci"
	run vf bind 0000:00:08.0
	[ "$status" -eq 1 ]
	[[ "$output" == *"vfio-pci is not loaded in $ROOT"* ]]
	[ ! -e "$ROOT/run/vfioctl/devices/0000:00:08.0" ]
}

# ---- persistence ---------------------------------------------------------------

# persisted BDF TEXT: an entry as bind --persist leaves it
persisted() { put "etc/vfioctl/persist/$1" "$2"; }

@test "bind --persist keeps the device and its IDs, and says the unit is not enabled" {
	mkdir "$ROOT/etc"
	run vf bind --persist -r -n -o DEVICE,ACTION 0000:00:09.0
	[ "$status" -eq 0 ]
	[[ "$output" == *"0000:00:09.0 unchanged"* ]]
	[[ "$output" == *"vfioctl-persist.service is not enabled"*"systemctl enable vfioctl-persist.service"* ]]
	f=$ROOT/etc/vfioctl/persist/0000:00:09.0
	grep -qx 'version=1' "$f"
	grep -qx 'id=1234:11e8' "$f"
	grep -qx 'owner=' "$f"
	grep -qx 'force=no' "$f"
	[ ! -e "$f.tmp" ]
	[ "$(stat -c %a "$ROOT/etc/vfioctl/persist")" = 755 ]
	[ "$(stat -c %a "$f")" = 644 ]
	# no owner, no udev rule
	[ ! -e "$ROOT/run/udev/rules.d/70-vfioctl.rules" ]
	# once the unit is enabled, no warning
	mkdir -p "$ROOT/etc/systemd/system/sysinit.target.wants"
	ln -s /usr/lib/systemd/system/vfioctl-persist.service "$ROOT/etc/systemd/system/sysinit.target.wants/"
	run vf bind --persist 0000:00:09.0
	[ "$status" -eq 0 ]
	[[ "$output" != *"not enabled"* ]]
}

@test "an owner is kept as a udev rule with the group's current number" {
	persisted 0000:00:09.0 "$(printf 'version=1\nid=1234:11e8\nowner=0:0\nforce=no')"
	persisted 0000:00:08.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	# any change to the entries rewrites the rule
	run vf persist remove 0000:00:08.0
	[ "$status" -eq 0 ]
	rules=$ROOT/run/udev/rules.d/70-vfioctl.rules
	grep -qx 'SUBSYSTEM=="vfio", KERNEL=="9", OWNER="0", GROUP="0", MODE="0660"' "$rules"
	[ "$(grep -c '^SUBSYSTEM' "$rules")" -eq 1 ]
	run vf persist remove 0000:00:09.0
	[ ! -e "$rules" ]
}

@test "bind --persist --dry-run shows the files it would write and writes none" {
	run vf bind --persist --dry-run -r -o STEP,PATH,VALUE 0000:00:08.0
	[ "$status" -eq 0 ]
	[[ "$output" == *'persist /etc/vfioctl/persist/0000:00:08.0 id=1234:11e8\x20force=no'* ]]
	[[ "$output" == *"udev-rules /run/udev/rules.d/70-vfioctl.rules"* ]]
	# after the device is bound, not before
	[ "$(grep -n '^persist' <<<"$output" | cut -d: -f1)" -gt "$(grep -n '^wait' <<<"$output" | cut -d: -f1)" ]
	[ ! -e "$ROOT/etc/vfioctl" ]
}

@test "a failed bind --persist leaves no entry, and puts back one that was there" {
	persisted 0000:00:05.0 "$(printf 'version=1\nid=8086:10d3\nowner=\nforce=yes')"
	before=$(cat "$ROOT/etc/vfioctl/persist/0000:00:05.0")
	run vf bind --persist --force 0000:00:08.0 0000:00:05.0
	[ "$status" -eq 7 ]
	[ ! -e "$ROOT/etc/vfioctl/persist/0000:00:08.0" ]
	[ "$(cat "$ROOT/etc/vfioctl/persist/0000:00:05.0")" = "$before" ]
}

@test "persist list: each entry and how its device stands now" {
	persisted 0000:00:09.0 "$(printf 'version=1\nid=1234:11e8\nowner=0:0\nforce=no')"
	persisted 0000:00:08.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	persisted 0000:00:05.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	persisted 0000:00:1e.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	persisted 0000:00:06.0 "$(printf 'version=1\nid=zzzz\n')"
	persisted 0000:00:06.0.tmp "half a file"
	run vf persist list -r -n -o DEVICE,ID,FOUND,DRIVER,OWNER,STATE
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0000:00:05.0 1234:11e8 8086:10d3 e1000e  other-device" ]
	[ "${lines[1]}" = "0000:00:06.0  1b36:0010 nvme  invalid" ]
	[ "${lines[2]}" = "0000:00:08.0 1234:11e8 1234:11e8   pending" ]
	[ "${lines[3]}" = "0000:00:09.0 1234:11e8 1234:11e8 vfio-pci root:root bound" ]
	[ "${lines[4]}" = "0000:00:1e.0 1234:11e8    absent" ]
	[ "${#lines[@]}" -eq 5 ]
	# the table for people also says when nothing would apply them at boot
	run vf persist list
	[[ "$output" == *"vfioctl-persist.service is not enabled"* ]]
	run vf persist list -J -o DEVICE,STATE,REASON
	run jq -r '.persist[1].reason' <<<"$output"
	[ "$output" = "id=zzzz is not VVVV:DDDD" ]
}

@test "persist apply binds what matches, skips what is absent, refuses another device" {
	persisted 0000:00:09.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	persisted 0000:00:05.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	persisted 0000:00:1e.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	run vf persist apply -r -n -o DEVICE,ACTION
	[ "$status" -eq 1 ]
	[[ "$output" == *"0000:00:05.0 holds 8086:10d3, not the 1234:11e8 that was persisted: not binding it"* ]]
	[[ "$output" == *"0000:00:1e.0 is not present: skipped"* ]]
	[[ "$output" == *"0000:00:09.0 unchanged"* ]]
	[ "$(cat "$ROOT/sys/bus/pci/devices/0000:00:05.0/driver_override")" = "(null)" ]
	rm "$ROOT/etc/vfioctl/persist/0000:00:05.0"
	run vf persist apply
	[ "$status" -eq 0 ]
}

@test "persist apply records that unbind lets the kernel choose the driver" {
	persisted 0000:00:08.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	run vf persist apply --dry-run -r -o STEP,VALUE
	[ "$status" -eq 0 ]
	[[ "$output" == *'save-state version=1\x20device=0000:00:08.0\x20driver=\x20driver_override=\x20sriov_numvfs=-1\x20group=8\x20restore=kernel'* ]]
	# such a record: unbind clears the override and asks the kernel, whatever the record's driver
	record 0000:00:09.0 ""
	printf 'restore=kernel\n' >>"$ROOT/run/vfioctl/devices/0000:00:09.0"
	run vf unbind --dry-run -r -o STEP,PATH,VALUE 0000:00:09.0
	[ "$status" -eq 0 ]
	[[ "$output" == *"write /sys/bus/pci/drivers_probe 0000:00:09.0"* ]]
}

@test "persist apply keeps the safety checks unless the entry was forced" {
	netif 0000:00:05.0 ens5 0x1003
	put proc/net/route "$(printf 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\nens5\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0')"
	persisted 0000:00:05.0 "$(printf 'version=1\nid=8086:10d3\nowner=\nforce=no')"
	run vf persist apply --dry-run
	[ "$status" -eq 6 ]
	[[ "$output" == *"refusing to bind 0000:00:05.0"* ]]
	persisted 0000:00:05.0 "$(printf 'version=1\nid=8086:10d3\nowner=\nforce=yes')"
	run vf persist apply --dry-run -r -o STEP,PATH,VALUE
	[ "$status" -eq 0 ]
	[[ "$output" == *"write /sys/bus/pci/devices/0000:00:05.0/driver_override vfio-pci"* ]]
}

@test "persist remove: by address or --all; unknown addresses are said, bad ones refused" {
	persisted 0000:00:09.0 "$(printf 'version=1\nid=1234:11e8\nowner=0:0\nforce=no')"
	persisted 0000:00:08.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	run vf persist remove 0000:00:09.0 bogus
	[ "$status" -eq 2 ]
	[ -e "$ROOT/etc/vfioctl/persist/0000:00:09.0" ]
	run vf persist remove 0000:00:09.0 00:1e.0
	[ "$status" -eq 0 ]
	[[ "$output" == *"0000:00:09.0: no longer bound to vfio-pci at boot"* ]]
	[[ "$output" == *"0000:00:1e.0: nothing persisted"* ]]
	[ ! -e "$ROOT/etc/vfioctl/persist/0000:00:09.0" ]
	run vf persist remove
	[ "$status" -eq 2 ]
	run vf persist remove --all
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$ROOT/etc/vfioctl/persist")" ]
	run vf persist frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown action 'frobnicate' (list, remove or apply)"* ]]
}

@test "unbind says a device goes back to vfio-pci at boot; unbind --persist ends that" {
	persisted 0000:00:08.0 "$(printf 'version=1\nid=1234:11e8\nowner=\nforce=no')"
	run vf unbind 0000:00:08.0
	[ "$status" -eq 0 ]
	[[ "$output" == *"0000:00:08.0 goes back to vfio-pci at boot (/etc/vfioctl/persist/0000:00:08.0): 'vfioctl persist remove 0000:00:08.0' ends that"* ]]
	[ -e "$ROOT/etc/vfioctl/persist/0000:00:08.0" ]
	run vf unbind --persist --dry-run -r -o STEP,PATH 0000:00:08.0
	[ "$status" -eq 0 ]
	[[ "$output" == *"unpersist /etc/vfioctl/persist/0000:00:08.0"* ]]
	[ -e "$ROOT/etc/vfioctl/persist/0000:00:08.0" ]
	run vf unbind --persist 0000:00:08.0
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/etc/vfioctl/persist/0000:00:08.0" ]
}

# ---- completion ----------------------------------------------------------------

# bash_complete LINE: what the bash completion offers at the end of LINE, sorted
bash_complete() {
	local bc=/usr/share/bash-completion/bash_completion
	local comp=$BATS_TEST_DIRNAME/../../completions/vfioctl.bash
	[[ -r $bc && -r $comp ]] || skip "bash-completion or completions/ missing"
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -sf "$(command -v "$VFIOCTL")" "$BATS_TEST_TMPDIR/bin/vfioctl"
	run env PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash --norc --noprofile -c '
		source "$1" && source "$2" || exit 99
		compopt() { return 0; }
		read -ra COMP_WORDS <<<"$3"
		[[ $3 == *" " ]] && COMP_WORDS+=("")
		COMP_LINE=$3 COMP_POINT=${#3} COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_vfioctl vfioctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort' bash "$bc" "$comp" "$1"
}

@test "bash completion: bind offers its options and the devices below --sysroot" {
	bash_complete "vfioctl bind --"
	for o in --group --owner --dry-run --force --timeout --verbose; do
		grep -qx -- "$o" <<<"$output"
	done
	bash_complete "vfioctl --sysroot $ROOT unbind "
	grep -qx 0000:00:09.0 <<<"$output"
	bash_complete "vfioctl bind --owner roo"
	grep -qx root <<<"$output"
	# after the colon, groups; readline replaces only the part after ':'
	bash_complete "vfioctl bind --owner root:roo"
	grep -qx root <<<"$output"
}
