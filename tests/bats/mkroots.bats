#!/usr/bin/env bats
# The test machinery itself: tests/roots/mkroots and the comparison helpers.
# A comparison that cannot fail proves nothing, so these tests break a root on
# purpose and make sure the helpers notice.

load common

setup_file() {
	roots_setup
}

fresh_roots() { # dir [desc...]: mkroots into dir, or skip when it cannot run here
	if [[ -e "$ROOTS/.failed" ]]; then
		skip "cannot make the fake roots here: $(tail -n 1 "$ROOTS/.log")"
	fi
	run "$MKROOTS" "$@"
	status_is 0
}

@test "mkroots without arguments: usage, exit 2" {
	run "$MKROOTS"
	[[ "$status" == 2 ]]
	has_line "$output" '^Usage: tests/roots/mkroots OUTDIR'
}

@test "mkroots makes every described root, and the same tree twice" {
	local d=$BATS_TEST_TMPDIR
	fresh_roots "$d/a"
	fresh_roots "$d/b"
	local desc
	for desc in "$BATS_TEST_DIRNAME"/../roots/*.desc; do
		[[ -d "$d/a/$(basename "$desc" .desc)/sys" ]]
	done
	diff -r --no-dereference "$d/a" "$d/b"
	# no half-made roots left beside the real ones
	[[ -z "$(find "$d/a" -maxdepth 1 -name '.*.new')" ]]
}

@test "a root has what vfioctl reads, in the kernel's formats" {
	need_root workstation
	local r=$ROOTS/workstation d
	d=$r/sys/bus/pci/devices/0000:01:00.0
	[[ -L "$r/sys/bus/pci/devices/0000:01:00.0" ]]
	[[ "$(cat "$d/vendor")" == 0x10de && "$(cat "$d/class")" == 0x030000 ]]
	[[ "$(cat "$d/driver_override")" == "(null)" && "$(cat "$d/boot_vga")" == 1 ]]
	# relative links that resolve inside the root, as sysfs's do
	[[ "$(readlink "$d/driver")" != /* ]]
	[[ "$(cd "$d/driver" && pwd -P)" == "$(cd "$r/sys/bus/pci/drivers/vfio-pci" && pwd -P)" ]]
	[[ "$(cd "$d/iommu_group" && pwd -P)" == "$(cd "$r/sys/kernel/iommu_groups/1" && pwd -P)" ]]
	[[ "$(cd "$r/sys/kernel/iommu_groups/1/devices/0000:01:00.1" && pwd -P)" == \
		"$(cd "$r/sys/bus/pci/devices/0000:01:00.1" && pwd -P)" ]]
	# resource: 13 lines for an endpoint, 17 for a bridge, "0x%016llx" x 3
	[[ $(wc -l <"$d/resource") == 13 ]]
	[[ $(wc -l <"$r/sys/bus/pci/devices/0000:00:01.0/resource") == 17 ]]
	! grep -vqE '^0x[0-9a-f]{16} 0x[0-9a-f]{16} 0x[0-9a-f]{16}$' "$d/resource" || false
	[[ "$(sed -n 2p "$d/resource")" == "0x00000000e0000000 0x00000000efffffff 0x000000000014220c" ]]
	[[ -f "$r/dev/vfio/1" && -f "$r/dev/vfio/devices/vfio0" && ! -e "$r/dev/vfio/2" ]]
	[[ "$(stat -c %a "$r/dev/vfio/vfio")" == 666 ]]
	[[ "$(cat "$r/proc/sys/kernel/osrelease")" == 6.12.11-200.fc41.x86_64 ]]
	grep -qE '^Max locked memory +8388608 +8388608 +bytes' "$r/proc/self/limits"
	grep -q "^CapEff:	0000000000000000$" "$r/proc/self/status"
	grep -q "^	1b81  GP104 \[GeForce GTX 1070\]$" "$r/usr/share/misc/pci.ids"
}

@test "module states come from real depmod indexes" {
	need_root iommu-off
	local m=$ROOTS/iommu-off/lib/modules/6.6.30-custom
	[[ -s "$m/modules.dep.bin" && -s "$m/modules.builtin.bin" ]]
	grep -qx 'kernel/drivers/vfio/pci/vfio-pci.ko:' "$m/modules.dep"
	grep -qx 'kernel/drivers/vfio/vfio.ko' "$m/modules.builtin"
	[[ ! -e "$ROOTS/iommu-off/sys/module/vfio/initstate" ]]
	[[ "$(cat "$ROOTS/iommu-off/sys/module/vfio/parameters/enable_unsafe_noiommu_mode")" == N ]]
	grep -qx 'blacklist vfio_pci' "$ROOTS/iommu-off/etc/modprobe.d/blacklist-vfio.conf"
}

@test "mkroots rejects a bad description, naming the file and line" {
	local d=$BATS_TEST_TMPDIR
	printf 'kernel 6.1.0\ndevice 0000:00:02.0\n\tid 8086:10d3\n\tclass 020000\n\tgroup 3\n' >"$d/nogroup.desc"
	run "$MKROOTS" "$d/out" "$d/nogroup.desc"
	[[ "$status" == 1 ]]
	has_line "$output" '^mkroots: nogroup.desc:5: device 0000:00:02.0: group 3 not declared$'
	printf 'kernel 6.1.0\nfrobnicate yes\n' >"$d/unknown.desc"
	run "$MKROOTS" "$d/out" "$d/unknown.desc"
	[[ "$status" == 1 ]]
	has_line "$output" "^mkroots: unknown.desc:2: unknown directive 'frobnicate'$"
	printf 'kernel 6.1.0\ndevice 00:02.0\n\tid 8086:10d3\n\tclass 020000\n' >"$d/shortbdf.desc"
	run "$MKROOTS" "$d/out" "$d/shortbdf.desc"
	[[ "$status" == 1 ]]
	has_line "$output" "not a full BDF"
	[[ ! -e "$d/out/shortbdf" ]]
}

@test "a root works wherever it is copied" {
	need_root server
	cp -a "$ROOTS/server" "$BATS_TEST_TMPDIR/elsewhere"
	run --separate-stderr "$VFIOCTL" --sysroot "$BATS_TEST_TMPDIR/elsewhere" group -J -o +NDEV,BLOCKER,RESV
	status_is 0
	same_as "$EXPECTED/server/group-json.out" "$output" stdout
}

# ---- the helpers must fail on a wrong output ----------------------------------
# (compare even in update mode: these outputs are wrong on purpose and must
# never be written into expected/)

@test "expect fails when a driver differs (audio moved to vfio-pci)" {
	UPDATE_EXPECTED=0
	root_copy workstation
	local d=$ROOTS/workstation/sys/bus/pci/devices/0000:01:00.1
	ln -sfn "$(readlink "$d/driver" | sed 's/snd_hda_intel$/vfio-pci/')" "$d/driver"
	run expect workstation group 0 group
	[[ "$status" != 0 ]]
	has_line "$output" '^\+ +1 DMA-FQ +yes ' "the diff"
	has_line "$output" 'differs from expected/workstation/group.out' "the message"
}

@test "expect fails on a wrong exit status, and on unexpected stderr" {
	UPDATE_EXPECTED=0
	root_copy workstation
	run expect workstation check 3 check
	[[ "$status" != 0 ]]
	has_line "$output" '^exit status 0, expected 3$'
	# a damaged pool: a warning nobody expected
	echo junk >"$ROOTS/workstation/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	run expect workstation check 0 check
	[[ "$status" != 0 ]]
	has_line "$output" 'unexpected stderr|differs' "the message"
}

@test "expect fails when a check's verdict changes (IOMMU units gone)" {
	UPDATE_EXPECTED=0
	root_copy workstation
	rm -rf "$ROOTS/workstation/sys/class/iommu/dmar1"
	run expect workstation check 0 check
	[[ "$status" != 0 ]]
	has_line "$output" '^\+iommu-enabled +PASS +1 IOMMU unit active' "the diff"
}

@test "vfc fails on a crash, whatever the output" {
	VFIOCTL=$BATS_TEST_TMPDIR/crash
	printf '#!/bin/sh\nkill -SEGV $$\n' >"$VFIOCTL"
	chmod +x "$VFIOCTL"
	run vfc list
	[[ "$status" != 0 ]]
	has_line "$output" 'died: status 139'
}

@test "every expected file belongs to a test" {
	local f dir name bats stale=()
	for f in "$EXPECTED"/*/*; do
		dir=$(basename "$(dirname "$f")")
		name=$(basename "$f")
		name=${name%.*}
		if [[ "$dir" == cli ]]; then
			[[ "$name" =~ ^(list|group|check)-columns(-json)?$ ]] || stale+=("$f")
			continue
		fi
		bats=$BATS_TEST_DIRNAME/$dir.bats
		grep -qE "expect \\\$R $name |\\\$EXPECTED/\\\$R/$name\\.(out|err)|\\\$EXPECTED/$dir/$name\\.(out|err)" \
			"$bats" 2>/dev/null || stale+=("$f")
	done
	if ((${#stale[@]})); then
		printf 'no test uses %s\n' "${stale[@]#"$BATS_TEST_DIRNAME"/}" >&2
		return 1
	fi
}

# The test VM runs these files with neither VFIOCTL nor VFIOCTL_ROOTS set.
@test "without VFIOCTL_ROOTS the roots are made on the fly" {
	[[ -n "${VFIOCTL_ROOTS:-}" ]] || skip "already running without VFIOCTL_ROOTS"
	run env -u VFIOCTL_ROOTS VFIOCTL="$VFIOCTL" bats --tap "$BATS_TEST_DIRNAME/iommu-off.bats"
	status_is 0
	has_line "$output" '^ok 3 check: '
	[[ "$output" != *"# skip"* ]]
}
