#!/usr/bin/env bats
# vfioctl bind/unbind on a real kernel: round trips, refusals of devices the
# guest uses, --group, --owner, and a rollback after every failure we can
# cause. Each test leaves the devices as it found them (teardown checks).

load helpers

netif_of() { local n=(/sys/bus/pci/devices/$1/net/*); [[ -e ${n[0]} ]] && echo "${n[0]##*/}"; }
# The NIC's interface up with an address (and so a route), and back; sets ifc.
configure_nic() {
	udevadm settle
	ifc=$(netif_of $NIC)
	ip addr add 192.0.2.1/24 dev "$ifc"
	ip link set "$ifc" up
}
deconfigure_nic() {
	ifc=$(netif_of $NIC)
	ip addr flush dev "$ifc"
	ip link set "$ifc" down
}

# Waits up to 10 s for a condition (devices come back asynchronously: the NIC's
# interface, the NVMe namespace).
eventually() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# Whether process PID is COMM and has FILE open as descriptor FD.
holds() { # PID FD FILE COMM
	[[ "$(readlink "/proc/$1/fd/$2")" == "$3" && "$(cat "/proc/$1/comm")" == "$4" ]]
}

# The first edu on the root bus with no driver, distinct per test number so
# that a test that fails does not poison the next.
free_edu() {
	local bdf
	for bdf in $(edus); do
		[[ $bdf == 0000:01:* || $(driver_of "$bdf") != - ]] && continue
		echo "$bdf"
		return 0
	done
	return 1
}

setup() {
	command -v vfioctl >/dev/null || skip "vfioctl is not installed in the guest"
	[[ -d /sys/kernel/iommu_groups ]] || skip "not in the rig's guest (no IOMMU groups)"
	[[ $(id -u) -eq 0 ]] || skip "binding needs root"
	NIC_DRIVER=$(driver_of $NIC)
	NVME_DRIVER=$(driver_of $NVME)
}

# Whatever a test did, the guest goes back: devices on vfio-pci are given back
# (by record), udev runs, nothing stays mounted or blacklisted.
teardown() {
	udev_thaw
	# a latecomer test that failed half way: let its stalled run go on, and end
	if [[ -n ${LATE_PID:-} ]]; then
		exec 8<"$BATS_TEST_TMPDIR/errpipe" 7>&-
		cat <&8 >/dev/null 8<&- &
		exec 8<&-
		wait "$LATE_PID"
	fi
	mountpoint -q /sys/bus/pci/drivers_probe && umount /sys/bus/pci/drivers_probe
	mountpoint -q /mnt && umount /mnt
	rm -f /etc/modprobe.d/zz-vfioctl-test.conf
	rm -f /etc/vfioctl/persist/$NIC
	[[ -d /sys/module/e1000e ]] || modprobe e1000e
	local d
	for d in /sys/bus/pci/devices/*; do
		[[ $(driver_of "${d##*/}") == vfio-pci || -e /run/vfioctl/devices/${d##*/} ]] &&
			vfioctl unbind "${d##*/}" >/dev/null 2>&1
	done
	# a latecomer test that failed with the NIC out of e1000e's hands
	[[ $(driver_of $NIC) != - ]] || echo $NIC >/sys/bus/pci/drivers_probe
	for d in $BR_B; do
		if [[ $(driver_of $d) == uio_pci_generic ]]; then
			echo > "/sys/bus/pci/devices/$d/driver_override"
			echo $d > /sys/bus/pci/drivers/uio_pci_generic/unbind
		fi
	done
	return 0
}

# ---- round trips ---------------------------------------------------------------

@test "edu: bind, a node appears; unbind, everything is as before" {
	dev=$(free_edu)
	g=$(group_of "$dev")
	run vfioctl bind -J "$dev"
	[ "$status" -eq 0 ]
	[ "$(jq -c '.bind[0] | [.action, .from, .to, .node, .viable]' <<<"$output")" = \
		"[\"bound\",null,\"vfio-pci\",\"/dev/vfio/$g\",true]" ]
	[ "$(driver_of "$dev")" = vfio-pci ]
	[ "$(override_of "$dev")" = vfio-pci ]
	[ -c "/dev/vfio/$g" ]
	grep -qx 'driver=' "/run/vfioctl/devices/$dev"
	run vfioctl unbind -r -n "$dev"
	[ "$status" -eq 0 ]
	[ "$output" = "$dev $g vfio-pci  restored" ]
	[ "$(driver_of "$dev")" = - ]
	[ "$(override_of "$dev")" = "(null)" ]
	[ ! -e "/dev/vfio/$g" ]
	[ ! -e "/run/vfioctl/devices/$dev" ]
}

@test "binding twice is one bind; unbinding twice is one unbind" {
	dev=$(free_edu)
	vfioctl bind "$dev" >/dev/null
	run vfioctl bind -r -n -o ACTION "$dev"
	[ "$status" -eq 0 ]
	[ "$output" = unchanged ]
	vfioctl unbind "$dev" >/dev/null
	run vfioctl unbind -r -n -o ACTION "$dev"
	[ "$status" -eq 0 ]
	[ "$output" = unchanged ]
}

@test "e1000e: bind takes the NIC from its driver, unbind gives it back with its interface" {
	[ "$NIC_DRIVER" = e1000e ]
	[ -n "$(netif_of $NIC)" ]
	run vfioctl bind -r -n -o FROM,TO,ACTION $NIC
	[ "$status" -eq 0 ]
	[ "$output" = "e1000e vfio-pci bound" ]
	[ -z "$(netif_of $NIC)" ]
	grep -qx 'driver=e1000e' /run/vfioctl/devices/$NIC
	run vfioctl unbind -r -n -o FROM,TO,ACTION $NIC
	[ "$status" -eq 0 ]
	[ "$output" = "vfio-pci e1000e restored" ]
	[ "$(override_of $NIC)" = "(null)" ]
	eventually test -n "$(netif_of $NIC)"
}

@test "a device on vfio-pci with no record goes back to the kernel's own choice" {
	# bound behind vfioctl's back, as another tool would
	modprobe vfio-pci
	echo vfio-pci >/sys/bus/pci/devices/$NIC/driver_override
	echo $NIC >/sys/bus/pci/devices/$NIC/driver/unbind
	echo $NIC >/sys/bus/pci/drivers_probe
	[ "$(driver_of $NIC)" = vfio-pci ]
	run vfioctl unbind -r -n -o TO,RECORD $NIC
	[ "$status" -eq 0 ]
	[ "$output" = "e1000e no" ]
	[ "$(override_of $NIC)" = "(null)" ]
}

@test "nvme: round trip, the namespace comes back" {
	[ "$NVME_DRIVER" = nvme ]
	run vfioctl bind $NVME
	[ "$status" -eq 0 ]
	[ ! -e /dev/nvme0n1 ]
	run vfioctl unbind -r -n -o TO $NVME
	[ "$status" -eq 0 ]
	[ "$output" = nvme ]
	eventually test -b /dev/nvme0n1
}

# ---- refusals ------------------------------------------------------------------

@test "a NIC with an address and a route is refused without --force" {
	configure_nic
	run vfioctl bind $NIC
	deconfigure_nic
	[ "$status" -eq 6 ]
	[[ "$output" == *"refusing to bind $NIC: network interface $ifc is up with address 192.0.2.1"* ]]
	[[ "$output" == *"(--force binds it anyway)"* ]]
	[ "$(driver_of $NIC)" = e1000e ]
	[ ! -e /run/vfioctl/devices/$NIC ]
}

@test "--force takes the configured NIC anyway, and unbind gives it back" {
	configure_nic
	run vfioctl bind --force $NIC
	[ "$status" -eq 0 ]
	[ "$(driver_of $NIC)" = vfio-pci ]
	run vfioctl unbind $NIC
	[ "$status" -eq 0 ]
	[ "$(driver_of $NIC)" = e1000e ]
}

@test "an NVMe drive with a mounted filesystem is refused" {
	eventually test -b /dev/nvme0n1
	mkfs.ext4 -q -F /dev/nvme0n1
	mount /dev/nvme0n1 /mnt
	run vfioctl bind $NVME
	umount /mnt
	[ "$status" -eq 6 ]
	[[ "$output" == *"refusing to bind $NVME: nvme0n1 is mounted on /mnt"* ]]
	[ "$(driver_of $NVME)" = nvme ]
}

@test "unbind refuses a group a process holds open, and names it" {
	dev=$(free_edu)
	g=$(group_of "$dev")
	run vfioctl bind "$dev"
	log "vfioctl bind $dev -> $status" "${lines[@]}"
	[ "$status" -eq 0 ]
	[ -c "/dev/vfio/$g" ]
	# <> would create a regular file where the node is missing: test it is one first
	bash -c "[[ -c /dev/vfio/$g ]] && exec 3<>/dev/vfio/$g && exec sleep 60" &
	holder=$!
	# fd 3 is there from the start (bats' own, inherited): wait for it to be the node,
	# and for the exec, or unbind races the open
	eventually holds "$holder" 3 "/dev/vfio/$g" sleep
	run vfioctl unbind "$dev"
	log "vfioctl unbind $dev -> $status" "${lines[@]}"
	kill $holder
	wait $holder || true
	[ "$status" -eq 6 ]
	[[ "$output" == *"refusing to unbind $dev: /dev/vfio/$g is open in sleep[$holder]"* ]]
	[ "$(driver_of "$dev")" = vfio-pci ]
	run vfioctl unbind "$dev"
	[ "$status" -eq 0 ]
}

# ---- groups --------------------------------------------------------------------

@test "bridge pair: --group binds both edu and the group becomes viable" {
	g=$(group_of $BR_A)
	run vfioctl bind --group -r -n -o DEVICE,TO,VIABLE $BR_A
	[ "$status" -eq 0 ]
	[ "$output" = "$BR_A vfio-pci yes"$'\n'"$BR_B vfio-pci yes" ]
	[ "$(vfioctl group -r -n -o VIABLE "$g")" = yes ]
	[ -c "/dev/vfio/$g" ]
	run vfioctl unbind --group $BR_B
	[ "$status" -eq 0 ]
	[ "$(driver_of $BR_A)" = - ] && [ "$(driver_of $BR_B)" = - ]
}

@test "bridge pair: binding one member while the other is on a host driver warns" {
	modprobe uio_pci_generic
	echo uio_pci_generic >/sys/bus/pci/devices/$BR_B/driver_override
	echo $BR_B >/sys/bus/pci/drivers_probe
	[ "$(driver_of $BR_B)" = uio_pci_generic ]
	run vfioctl bind -r -n -o DEVICE,VIABLE $BR_A
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: IOMMU group $(group_of $BR_A) is not viable: $BR_B (bound to uio_pci_generic); bind it too (or use --group)"* ]]
	[[ "$output" == *"$BR_A no"* ]]
	# --group finishes the job, and unbind --group puts uio_pci_generic back
	run vfioctl bind --group -r -n -o DEVICE,FROM,VIABLE $BR_A
	[ "$status" -eq 0 ]
	[[ "$output" == *"$BR_B uio_pci_generic yes"* ]]
	run vfioctl unbind --group $BR_A
	[ "$status" -eq 0 ]
	[ "$(driver_of $BR_B)" = uio_pci_generic ]
	[ "$(override_of $BR_B)" = uio_pci_generic ]
}

# ---- --owner -------------------------------------------------------------------

@test "--owner lets an unprivileged user open the group node, only that user" {
	dev=$(free_edu)
	g=$(group_of "$dev")
	vfioctl bind "$dev" >/dev/null
	[ -c "/dev/vfio/$g" ]
	# root's node: nobody may not open it
	run setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c "[[ -c /dev/vfio/$g ]] && exec 3<>/dev/vfio/$g"
	[ "$status" -ne 0 ]
	run vfioctl bind --owner nobody:nogroup -r -n -o ACTION,OWNER "$dev"
	[ "$status" -eq 0 ]
	[ "$output" = "unchanged yes" ]
	[ "$(stat -c '%U:%G %a' "/dev/vfio/$g")" = "nobody:nogroup 660" ]
	run setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c "[[ -c /dev/vfio/$g ]] && exec 3<>/dev/vfio/$g && echo opened"
	[ "$status" -eq 0 ]
	[ "$output" = opened ]
}

@test "--owner on a fresh bind is applied after udev has set up the node" {
	dev=$(free_edu)
	g=$(group_of "$dev")
	run vfioctl bind --owner nobody "$dev"
	[ "$status" -eq 0 ]
	udevadm settle
	[ "$(stat -c '%U %a' "/dev/vfio/$g")" = "nobody 660" ]
}

# ---- failures roll back -------------------------------------------------------

@test "--timeout 0: the node cannot be there yet, the NIC goes back to e1000e" {
	[ -e /run/udev/control ] || skip "needs udevd (the node itself appears at once)"
	run vfioctl bind --timeout 0 $NIC
	[ "$status" -eq 7 ]
	[[ "$output" == *"did not appear within 0 s"* ]]
	[[ "$output" == *"rolled back: every device is on its original driver again"* ]]
	[ "$(driver_of $NIC)" = e1000e ]
	[ "$(override_of $NIC)" = "(null)" ]
	[ ! -e /run/vfioctl/devices/$NIC ]
	eventually test -n "$(netif_of $NIC)"
}

# udevd's main process: stopped, it announces no event, so a bind waits for
# the node for as long as the test wants (the node itself is devtmpfs's).
udevd_pid() { systemctl show -p MainPID --value systemd-udevd.service; }
udev_freeze() { kill -STOP "$(udevd_pid)"; }
udev_thaw() { kill -CONT "$(udevd_pid)" 2>/dev/null || true; }

# Starts a bind that cannot finish and waits until it is waiting for the node.
stuck_bind() {
	[ -e /run/udev/control ] || skip "needs udevd"
	udev_freeze
	vfioctl bind -v "$@" 2>"$BATS_TEST_TMPDIR/bind.err" &
	BIND_PID=$!
	eventually grep -q "^vfioctl: wait " "$BATS_TEST_TMPDIR/bind.err"
}

@test "SIGINT while waiting for the node: rolled back, then killed by the signal" {
	stuck_bind $NIC
	kill -INT $BIND_PID
	rc=0
	wait $BIND_PID || rc=$?
	udev_thaw
	[ "$rc" -eq 130 ]
	grep -q "rollback: write /sys/bus/pci/drivers/e1000e/bind $NIC" "$BATS_TEST_TMPDIR/bind.err"
	[ "$(driver_of $NIC)" = e1000e ]
	[ "$(override_of $NIC)" = "(null)" ]
	[ ! -e /run/vfioctl/devices/$NIC ]
}

@test "SIGTERM rolls back every device of the run" {
	dev=$(free_edu)
	stuck_bind "$dev" $NIC
	kill -TERM $BIND_PID
	rc=0
	wait $BIND_PID || rc=$?
	udev_thaw
	[ "$rc" -eq 143 ]
	[ "$(driver_of $NIC)" = e1000e ]
	[ "$(driver_of "$dev")" = - ]
	[ -z "$(ls -A /run/vfioctl/devices)" ]
}

@test "killed with SIGKILL mid-bind: the record lets unbind finish the job" {
	stuck_bind $NIC
	kill -KILL $BIND_PID
	wait $BIND_PID || true
	udev_thaw
	grep -qx driver=e1000e /run/vfioctl/devices/$NIC
	run vfioctl unbind -r -n -o TO $NIC
	[ "$status" -eq 0 ]
	[ "$output" = e1000e ]
}

@test "a probe that does nothing (drivers_probe bind-mounted to /dev/null) rolls back" {
	mount --bind /dev/null /sys/bus/pci/drivers_probe
	run vfioctl bind $NIC
	umount /sys/bus/pci/drivers_probe
	[ "$status" -eq 7 ]
	[[ "$output" == *"$NIC: vfio-pci did not take the device (its driver is none)"* ]]
	[ "$(driver_of $NIC)" = e1000e ]
	[ "$(override_of $NIC)" = "(null)" ]
}

# vfio-pci must be out of the kernel for the module tests
unload_vfio_pci() {
	local d
	for d in /sys/bus/pci/drivers/vfio-pci/0000:*; do
		[[ -e $d ]] && vfioctl unbind "${d##*/}" >/dev/null
	done
	modprobe -r vfio_pci 2>/dev/null || true
	[ ! -e /sys/bus/pci/drivers/vfio-pci ] || skip "vfio-pci cannot be unloaded here"
}

@test "a blacklisted vfio-pci is an error that changes nothing" {
	unload_vfio_pci
	dev=$(free_edu)
	echo "blacklist vfio_pci" >/etc/modprobe.d/zz-vfioctl-test.conf
	run vfioctl bind "$dev"
	[ "$status" -eq 1 ]
	[[ "$output" == *"module vfio_pci is blacklisted"* ]]
	[ ! -e /sys/bus/pci/drivers/vfio-pci ]
	[ "$(override_of "$dev")" = "(null)" ]
	[ ! -e "/run/vfioctl/devices/$dev" ]
}

@test "an install command for vfio-pci is not run" {
	unload_vfio_pci
	dev=$(free_edu)
	echo "install vfio_pci /bin/touch /tmp/vfioctl-ran-it" >/etc/modprobe.d/zz-vfioctl-test.conf
	run vfioctl bind "$dev"
	[ "$status" -eq 1 ]
	[[ "$output" == *"modprobe.d has an install command for vfio_pci, and vfioctl runs no commands"* ]]
	[ ! -e /tmp/vfioctl-ran-it ]
}

@test "bind loads vfio-pci and its dependencies through libkmod" {
	unload_vfio_pci
	dev=$(free_edu)
	run vfioctl bind "$dev"
	[ "$status" -eq 0 ]
	[ -d /sys/module/vfio_pci ]
	[ "$(driver_of "$dev")" = vfio-pci ]
}

# A driver that takes the device between bind's checks and its driver_override:
# at boot, udev loads the NIC's module while vfioctl-persist.service runs. Made
# certain here: e1000e is out of the kernel, and vfioctl -v writes its steps into
# a pipe that is already full, so it stops at its first step (saving the record,
# after the checks, before driver_override) until the pipe is read. e1000e is
# loaded while it waits, and takes the NIC; where e1000e is built in (the iommufd
# kernel) the NIC is unbound before and bound to it by hand while the run waits.
latecomer() { # CMD... (with -v): runs it so (LATE_THEN: what to do while it waits); its stdout, then its stderr, in $output
	local fifo=$BATS_TEST_TMPDIR/errpipe pid reader rc=0
	local builtin=
	[[ -d /sys/module/e1000e && ! -e /sys/module/e1000e/initstate ]] && builtin=1
	[[ -d /sys/bus/pci/drivers/vfio-pci ]] || modprobe vfio-pci
	if [[ $builtin ]]; then
		echo $NIC >/sys/bus/pci/drivers/e1000e/unbind
	else
		modprobe -r e1000e
	fi
	[ "$(driver_of $NIC)" = - ]
	mkfifo "$fifo"
	exec 7<>"$fifo"
	head -c 65536 /dev/zero >&7
	"$@" >"$BATS_TEST_TMPDIR/out" 2>"$fifo" 7>&- &
	pid=$! LATE_PID=$!
	eventually blocked_on_pipe $pid
	[ "$(driver_of $NIC)" = - ]
	if [[ $builtin ]]; then
		echo $NIC >/sys/bus/pci/drivers/e1000e/bind
	else
		modprobe e1000e
	fi
	[ "$(driver_of $NIC)" = e1000e ]
	[[ -z ${LATE_THEN:-} ]] || "$LATE_THEN"
	# the reader is in place before fd 7 (a reader too) goes, or the run's
	# write would find no reader; not a writer itself, it ends when the run has
	cat <"$fifo" >"$BATS_TEST_TMPDIR/err" 7>&- &
	reader=$!
	eventually holds $reader 0 "$fifo" cat
	exec 7>&-
	wait $pid || rc=$?
	wait $reader
	LATE_PID=
	status=$rc
	output=$(cat "$BATS_TEST_TMPDIR/out"; tr -d '\0' <"$BATS_TEST_TMPDIR/err")
	echo "$output"
}
blocked_on_pipe() { [[ "$(cat /proc/$1/wchan 2>/dev/null)" == *pipe_write ]]; }

@test "a driver that takes the device during bind is checked, recorded, and the device taken from it" {
	latecomer vfioctl bind -v -r -n -o DEVICE,FROM,TO,ACTION $NIC
	[ "$status" -eq 0 ]
	[[ "$output" == *"$NIC: e1000e took it after it was checked (it had no driver); checking it again"* ]]
	[[ "$output" == *"$NIC e1000e vfio-pci bound"* ]]
	[ "$(driver_of $NIC)" = vfio-pci ]
	grep -qx driver=e1000e /run/vfioctl/devices/$NIC
	# so unbind gives it to the driver that had taken it
	run vfioctl unbind $NIC
	[ "$status" -eq 0 ]
	[ "$(driver_of $NIC)" = e1000e ]
	[ "$(override_of $NIC)" = "(null)" ]
}

@test "a driver that takes the device during bind and is then used keeps it: refused, rolled back" {
	# the interface e1000e brings is configured while the run waits
	LATE_THEN=configure_nic latecomer vfioctl bind -v $NIC
	deconfigure_nic
	[ "$status" -eq 7 ]
	[[ "$output" == *"$NIC: e1000e took it after it was checked (it had no driver); checking it again"* ]]
	[[ "$output" == *"refusing to bind $NIC: network interface $ifc is up with address 192.0.2.1"* ]]
	[ "$(driver_of $NIC)" = e1000e ]
	[ "$(override_of $NIC)" = "(null)" ]
	[ ! -e /run/vfioctl/devices/$NIC ]
}

@test "the same at boot: persist apply takes the NIC from a driver that came during the run" {
	run vfioctl bind --persist $NIC
	[ "$status" -eq 0 ]
	run vfioctl unbind $NIC
	[ "$status" -eq 0 ]
	latecomer vfioctl persist apply -v -r -n -o DEVICE,FROM,TO,ACTION
	[ "$status" -eq 0 ]
	[[ "$output" == *"$NIC: e1000e took it after it was checked (it had no driver); checking it again"* ]]
	[[ "$output" == *"$NIC e1000e vfio-pci bound"* ]]
	[ "$(driver_of $NIC)" = vfio-pci ]
	grep -qx restore=kernel /run/vfioctl/devices/$NIC
	run vfioctl unbind --persist $NIC
	[ "$status" -eq 0 ]
	[ "$(driver_of $NIC)" = e1000e ]
	[ ! -e /etc/vfioctl/persist/$NIC ]
}

# ---- concurrency ---------------------------------------------------------------

@test "two runs binding the same device at once: one binds, the other finds it done" {
	dev=$(free_edu)
	vfioctl bind -r -n -o ACTION "$dev" >"$BATS_TEST_TMPDIR/a" 2>&1 &
	a=$!
	vfioctl bind -r -n -o ACTION "$dev" >"$BATS_TEST_TMPDIR/b" 2>&1 &
	b=$!
	wait $a && wait $b
	[ "$(sort "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" | grep -v waiting | tr '\n' ' ')" = "bound unchanged " ]
	grep -qx 'driver=' "/run/vfioctl/devices/$dev"
}
