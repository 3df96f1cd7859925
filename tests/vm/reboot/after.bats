#!/usr/bin/env bats
# Boot 2 of the reboot proof: what before.bats persisted is bound again by
# vfioctl-persist.service early at boot, with the owner, and can be taken back.

load ../guest/helpers

EDU=0000:00:08.0

setup() {
	command -v vfioctl >/dev/null || skip "vfioctl is not installed in the guest"
	[[ ${VFIOCTL_VM_BOOT:-1} -ge 2 ]] || skip "runs after the guest has rebooted"
}

# What the boot did, for a failure's diagnostics (bats prints a failed test's output).
boot_story() {
	echo "unit: $(systemctl show -P ActiveState,Result,ExecMainStatus vfioctl-persist.service | paste -sd' ')"
	journalctl -b -o short-monotonic -u vfioctl-persist.service | sed 's/^/  /'
	for d in $NIC $EDU $BR_A $BR_B; do echo "$d: $(driver_of $d) override=$(override_of $d)"; done
	journalctl -b -k -o short-monotonic --grep 'e1000e|vfio' | sed 's/^/  /'
}

@test "this is a new boot: /run of boot 1 is gone, /etc is kept" {
	[ "$(cat /var/lib/vfioctl-vm/boot)" -ge 2 ]
	[ ! -e /run/vfioctl-vm-reboot ]
	[ -e /etc/vfioctl/persist/$EDU ]
}

@test "vfioctl-persist.service ran at boot, before sysinit.target, and reported each entry" {
	boot_story
	# an entry for another device cannot be applied: the unit says so by failing
	[ "$(systemctl show -P ActiveState vfioctl-persist.service)" = failed ]
	[ "$(systemctl show -P Result vfioctl-persist.service)" = exit-code ]
	[ "$(systemctl show -P ExecMainStatus vfioctl-persist.service)" = 1 ]
	run journalctl -b -o cat -u vfioctl-persist.service
	[[ "$output" == *"0000:00:1e.0 is not present: skipped"* ]]
	[[ "$output" == *"0000:00:06.0 holds 1b36:0010, not the 1234:11e8 that was persisted: not binding it"* ]]
	# ordered before sysinit.target: it finished before sysinit.target was reached
	unit=$(systemctl show -P ExecMainExitTimestampMonotonic vfioctl-persist.service)
	sysinit=$(systemctl show -P ActiveEnterTimestampMonotonic sysinit.target)
	[ "$unit" -gt 0 ] && [ "$unit" -le "$sysinit" ]
}

@test "the persisted devices are on vfio-pci again; the other slot was left alone" {
	boot_story
	[ "$(driver_of $EDU)" = vfio-pci ]
	[ "$(driver_of $NIC)" = vfio-pci ]
	[ "$(driver_of $BR_A) $(driver_of $BR_B)" = "vfio-pci vfio-pci" ]
	[ "$(driver_of 0000:00:06.0)" = nvme ]
	[ -c /dev/vfio/$(group_of $EDU) ]
	# bound at boot and recorded, so that unbind can give them back
	[ -e /run/vfioctl/devices/$NIC ]
}

@test "the owner came back with the node, and udev keeps it" {
	node=/dev/vfio/$(group_of $EDU)
	[ "$(stat -c '%U:%G %a' "$node")" = "nobody:nogroup 660" ]
	run setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c "[[ -c $node ]] && exec 3<>$node && echo opened"
	[ "$output" = opened ]
	# udev re-applies the rule when the node is announced again
	chown root:root "$node" && chmod 600 "$node"
	udevadm trigger --action=change --settle "/sys/class/vfio/$(group_of $EDU)"
	[ "$(stat -c '%U:%G %a' "$node")" = "nobody:nogroup 660" ]
}

@test "persist apply again changes nothing for the bound devices" {
	run vfioctl persist apply -r -n -o DEVICE,ACTION
	[ "$status" -eq 1 ]   # the entry for another device
	[[ "$output" == *"$EDU unchanged"* ]]
	[[ "$output" == *"$NIC unchanged"* ]]
}

@test "unbind warns the device comes back at boot; unbind --persist ends it" {
	rm /etc/vfioctl/persist/0000:00:1e.0 /etc/vfioctl/persist/0000:00:06.0
	run vfioctl unbind -r -n -o DEVICE,TO $NIC
	[ "$status" -eq 0 ]
	[[ "$output" == *"$NIC goes back to vfio-pci at boot"* ]]
	[ "$(driver_of $NIC)" = e1000e ]
	# apply puts it back, as the next boot would
	run vfioctl persist apply
	[ "$status" -eq 0 ]
	[ "$(driver_of $NIC)" = vfio-pci ]
	run vfioctl unbind --persist $NIC $EDU
	[ "$status" -eq 0 ]
	[ "$(driver_of $NIC)" = e1000e ]
	[ "$(driver_of $EDU)" = - ]
	[ ! -e /etc/vfioctl/persist/$NIC ]
	[ ! -e /etc/vfioctl/persist/$EDU ]
	# no owner left among the entries: no rule
	[ ! -e /run/udev/rules.d/70-vfioctl.rules ]
}

@test "persist remove --all leaves the bridge pair bound until unbind" {
	run vfioctl persist remove --all
	[ "$status" -eq 0 ]
	[ -z "$(ls -A /etc/vfioctl/persist)" ]
	[ "$(driver_of $BR_A)" = vfio-pci ]
	run vfioctl unbind --group $BR_A
	[ "$status" -eq 0 ]
	[ "$(driver_of $BR_A) $(driver_of $BR_B)" = "- -" ]
}
