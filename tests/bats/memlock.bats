#!/usr/bin/env bats
# vfioctl memlock against a fake /proc: which processes hold VFIO or iommufd
# descriptors, their locked/pinned memory, limits and systemd unit.

VFIOCTL=${VFIOCTL:-vfioctl}

proc() { # proc PID COMM VMLCK_KB VMPIN_KB SOFT HARD CAPEFF CGROUP [FD-TARGET...]
	local d=$ROOT/proc/$1; shift
	mkdir -p "$d/fd"
	printf 'Name:\t%s\nVmLck:\t%8d kB\nVmPin:\t%8d kB\nCapEff:\t%s\n' "$1" "$2" "$3" "$6" >"$d/status"
	printf 'Limit                     Soft Limit           Hard Limit           Units     \n' >"$d/limits"
	printf 'Max locked memory         %-20s %-20s bytes     \n' "$4" "$5" >>"$d/limits"
	printf '0::%s\n' "$7" >"$d/cgroup"
	shift 7
	local n=3
	for t in "$@"; do ln -s "$t" "$d/fd/$n"; n=$((n + 1)); done
}

setup() {
	ROOT=$BATS_TEST_TMPDIR/root
	mkdir -p "$ROOT/proc/self" "$ROOT/sys/bus/pci/devices"
	# a VMM under libvirt with a type1 container near its limit
	proc 4242 qemu-system-x86 7549747 0 8589934592 8589934592 0000000000000000 \
		/machine.slice/machine-qemu.scope/libvirt/emulator \
		/dev/vfio/vfio /dev/vfio/12 /dev/vfio/12 /dev/kvm
	# an iommufd user with pinned memory and CAP_IPC_LOCK
	proc 5000 cloud-hypervisor 0 2097152 65536 65536 00000000a80465fb \
		/system.slice/ch-vm1.service /dev/iommu /dev/vfio/devices/vfio0
	# a process with locked memory but no VFIO descriptor
	proc 6000 mlocker 1024 0 unlimited unlimited 0000000000000000 /user.slice/session-1.scope
	# a process with neither
	proc 7000 bash 0 0 8388608 8388608 0000000000000000 /user.slice/session-1.scope /dev/pts/0
}

@test "memlock lists only VFIO and iommufd holders by default" {
	run "$VFIOCTL" --sysroot "$ROOT" memlock -r -n -o PID,COMM
	[ "$status" -eq 0 ]
	[ "$output" = $'4242 qemu-system-x86\n5000 cloud-hypervisor' ]
}

@test "memlock --all adds processes with locked memory, not idle ones" {
	run "$VFIOCTL" --sysroot "$ROOT" memlock --all -r -n -o PID
	[ "$status" -eq 0 ]
	[ "$output" = $'4242\n5000\n6000' ]
}

@test "memlock reports usage against the soft limit and flags near-limit VMMs" {
	run "$VFIOCTL" --sysroot "$ROOT" memlock -J -o PID,UNIT,LOCKED,PINNED,LIMIT,IPC_LOCK,USE%,STATUS,NODES
	[ "$status" -eq 0 ]
	run jq -c '.processes[]' <<<"$output"
	[ "${lines[0]}" = '{"pid":4242,"unit":"machine-qemu.scope","locked":7730940928,"pinned":0,"limit":8589934592,"ipc_lock":false,"use%":90,"status":"near","nodes":["/dev/vfio/vfio","/dev/vfio/12"]}' ]
	[ "${lines[1]}" = '{"pid":5000,"unit":"ch-vm1.service","locked":0,"pinned":2147483648,"limit":65536,"ipc_lock":true,"use%":null,"status":"exempt","nodes":["/dev/iommu","/dev/vfio/devices/vfio0"]}' ]
}

@test "memlock marks a process over its limit" {
	proc 8000 qemu-over 0 9437184 8589934592 8589934592 0000000000000000 / /dev/iommu
	run "$VFIOCTL" --sysroot "$ROOT" memlock --pid 8000 -r -n -o STATUS,USE%
	[ "$status" -eq 0 ]
	[ "$output" = "over 113" ]
}

@test "memlock --pid of a missing process exits 4" {
	run "$VFIOCTL" --sysroot "$ROOT" memlock --pid 31337
	[ "$status" -eq 4 ]
	[[ "$output" == *"no process 31337"* ]]
}

@test "memlock on a malformed status file says which file" {
	proc 9000 broken 0 0 1 1 0 /
	printf 'Name:\tbroken\nVmLck:\tlots kB\n' >"$ROOT/proc/9000/status"
	run "$VFIOCTL" --sysroot "$ROOT" memlock --pid 9000
	[ "$status" -eq 1 ]
	[[ "$output" == *"malformed /proc/9000/status"* ]]
}

@test "memlock --estimate gives the libvirt limit and every way to set it" {
	printf 'Max locked memory 8388608 8388608 bytes\n' >"$ROOT/proc/self/limits"
	printf 'Name:\tvfioctl\nCapEff:\t0000000000000000\n' >"$ROOT/proc/self/status"
	run "$VFIOCTL" --sysroot "$ROOT" memlock --estimate --ram 16G --devices 2 --user qemu -J
	[ "$status" -eq 0 ]
	[ "$(jq -r '.estimate[] | select(.method=="required") | .bytes' <<<"$output")" = 18253611008 ]
	[ "$(jq -r '.estimate[] | select(.method=="current") | .setting' <<<"$output")" = "8M (this shell): too low" ]
	[ "$(jq -r '.estimate[] | select(.method=="ulimit") | .setting' <<<"$output")" = "ulimit -l 17825792" ]
	[ "$(jq -r '.estimate[] | select(.method=="systemd") | .setting' <<<"$output")" = "LimitMEMLOCK=18253611008 (systemctl edit UNIT)" ]
	[[ "$(jq -r '.estimate[] | select(.method=="limits.conf") | .setting' <<<"$output")" == "qemu hard memlock 17825792"* ]]
}

@test "memlock rejects estimate options without --estimate and bad sizes" {
	run "$VFIOCTL" --sysroot "$ROOT" memlock --ram 4G
	[ "$status" -eq 2 ]
	run "$VFIOCTL" --sysroot "$ROOT" memlock --estimate --ram 4Q
	[ "$status" -eq 2 ]
	[[ "$output" == *"--ram: '4Q' is not a size"* ]]
	run "$VFIOCTL" --sysroot "$ROOT" memlock --estimate
	[ "$status" -eq 2 ]
}

@test "memlock takes the user from Uid: in status, not from who owns /proc/PID" {
	# a VMM that changed user without exec is not dumpable: its /proc files belong to root
	proc 9000 vfioctl 32768 0 33554432 33554432 0000000000000000 / /dev/vfio/vfio /dev/vfio/7
	sed -i 's/^Name:.*/&\nUid:\t65534\t65534\t65534\t65534/' "$ROOT/proc/9000/status"
	run "$VFIOCTL" --sysroot "$ROOT" memlock --pid 9000 -r -n -o PID,USER,LOCKED,STATUS
	[ "$status" -eq 0 ]
	[ "$output" = "9000 65534 32M near" ]
}

@test "memlock: iommufd charges the user: two VMMs of one uid count together" {
	# each under its 8G limit, together over it: what iommufd's per-user mode checks
	proc 8100 qemu-a 0 5242880 8589934592 8589934592 0000000000000000 / /dev/iommu
	proc 8200 qemu-b 0 4194304 8589934592 8589934592 0000000000000000 / /dev/iommu
	for p in 8100 8200; do
		sed -i 's/^Name:.*/&\nUid:\t107\t107\t107\t107/' "$ROOT/proc/$p/status"
	done
	run "$VFIOCTL" --sysroot "$ROOT" memlock -r -n -o PID,PINNED,USER_PINNED,USE%,STATUS
	[ "$status" -eq 0 ]
	[[ "$output" == *$'8100 5G 9G 113 over\n8200 4G 9G 113 over'* ]]
	# one VMM alone: its own pins are the user's
	run "$VFIOCTL" --sysroot "$ROOT" memlock --pid 8100 -r -n -o PID,USER,USER_PINNED,STATUS
	[ "$output" = "8100 107 9G over" ]
	rm -rf "$ROOT/proc/8200"
	run "$VFIOCTL" --sysroot "$ROOT" memlock --pid 8100 -r -n -o PID,USER,USER_PINNED,USE%,STATUS
	[ "$output" = "8100 107 5G 63 ok" ]
}

@test "memlock: pins made with CAP_IPC_LOCK, and type1's, are not the user's iommufd charge" {
	# 5000 (cloud-hypervisor) has CAP_IPC_LOCK: iommufd accounts nothing for it
	proc 8300 qemu-c 0 1048576 8589934592 8589934592 0000000000000000 / /dev/iommu
	run "$VFIOCTL" --sysroot "$ROOT" memlock --pid 8300 -r -n -o PID,PINNED,USER_PINNED
	[ "$output" = "8300 1G 1G" ]
	# a type1 user has no per-user iommufd charge at all
	run "$VFIOCTL" --sysroot "$ROOT" memlock --pid 4242 -J -o PID,USER_PINNED
	[ "$(jq -c '.processes[0]' <<<"$output")" = '{"pid":4242,"user_pinned":null}' ]
}
