#!/usr/bin/env bats
# vfioctl's iommufd backend on a real kernel: devices bound through their VFIO cdevs into an
# IOAS, the container report, every backing mapped and unmapped with VmPin (not VmLck) growing
# by exactly the size and coming back, a vfioctl-style mapping carrying edu's DMA and the
# unmapped IOVA unreachable, another edu's BAR mapped as an uncharged dma-buf (P2P, revoked
# with its memory decode), and RLIMIT_MEMLOCK failing as an unprivileged user under iommufd's
# per-user accounting, across processes.
# Skipped where the kernel has no iommufd (no /dev/iommu: every Debian kernel); the rig's
# `tests/vm/run --kernel iommufd` has it. Two edu devices are bound to vfio-pci with raw sysfs
# writes and handed back at the end; node owners and the hugepage pool are restored.

bats_require_minimum_version 1.5.0 # run --separate-stderr

load helpers

VFIOCTL=${VFIOCTL:-vfioctl}
EDU_DMA=${EDU_DMA:-${VFIOCTL_HELPERS:-/src/build/tests/helpers}/edu-dma}
HP=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
MiB=1048576

# /dev/vfio/devices/vfioN of a device bound to vfio-pci, from sysfs.
cdev_of() {
	local c=(/sys/bus/pci/devices/"$1"/vfio-dev/vfio*)
	[[ -e "${c[0]}" ]] && echo "/dev/vfio/devices/${c[0]##*/}"
}

# bats 1.8 (bookworm's) cannot skip from setup_file: each test skips instead.
setup() {
	command -v vfioctl >/dev/null || skip "vfioctl is not installed in the guest"
	[[ -d /sys/kernel/iommu_groups ]] || skip "not in the rig's guest (no IOMMU groups)"
	[[ -c /dev/iommu ]] || skip "no /dev/iommu: this kernel has no iommufd (Debian's have none)"
}

setup_file() {
	[[ -c /dev/iommu ]] || return 0
	take_two_edus || return 1
	udevadm settle 2>/dev/null || true
	CA=$(cdev_of "$A") CB=$(cdev_of "$B")
	IOMMU_MODE=$(stat -c %a /dev/iommu)
	export CA CB IOMMU_MODE
}

teardown_file() {
	[[ -z "${HP_SAVED:-}" ]] || echo "$HP_SAVED" >"$HP"
	[[ -z "${IOMMU_MODE:-}" ]] || { chown root /dev/iommu; chmod "$IOMMU_MODE" /dev/iommu; }
	for d in ${A:-} ${B:-}; do
		[[ -z "$(cdev_of "$d")" ]] || chown root "$(cdev_of "$d")"
		vfio_unbind "$d"
	done
}

# vfioctl with stdout in $output, stderr in $stderr.
vfc() {
	run --separate-stderr "$VFIOCTL" "$@"
	log "vfioctl $* -> $status" "${lines[@]}" ${stderr:+"stderr: $stderr"}
}

@test "the devices are bound through their cdevs; vfioctl list shows them" {
	[[ -n "$CA" && -c "$CA" && -n "$CB" && -c "$CB" ]]
	vfc list "$A" -J -o BDF,DRIVER,VFIO,CDEV
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.devices[0].cdev')" == "$CA" ]]
	[[ "$(jv '.devices[0].vfio')" == "/dev/vfio/$GA" ]]
}

@test "container: auto picks iommufd; an IOAS with the guest's ranges, 4K alignment, per-user mode" {
	vfc container "$A" -J -o +IOAS,BAR_NOPIN,RESV
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.containers[0].backend')" == iommufd ]]
	[[ "$(jv '.containers[0].model')" == iommufd ]]
	[[ "$(jv '.containers[0].groups | join(",")')" == "$GA" ]]
	[[ "$(jv '.containers[0].iova_ranges | join(" ")')" == "0x0-0xfedfffff 0xfef00000-0x7fffffffff" ]]
	[[ "$(jv '.containers[0].iova_alignment')" -eq 4096 ]]
	[[ "$(jv '.containers[0].rlimit_mode')" == per-user ]]
	[[ "$(jv '.containers[0].huge_pages')" == true ]]
	[[ "$(jv '.containers[0].map_file')" == true ]]
	[[ "$(jv '.containers[0].devices | join(",")')" == "$A $CA" ]]
	[[ "$(jv '.containers[0].ioas')" -gt 0 ]]
	[[ "$(jv '.containers[0].resv[0]')" == "0xfee00000-0xfeefffff msi" ]]
	[[ "$(jv '.containers[0].bar_nopin')" == dma-buf || "$(jv '.containers[0].bar_nopin')" == none ]]
	# type1 columns have nothing to say here
	[[ "$(jv '.containers[0].dma_avail')" == null ]]
}

@test "container: two groups in one IOAS, each device with its cdev; type1 on request" {
	vfc container "$A" "$GB" -J -o BACKEND,GROUPS,DEVICES
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.containers[0].groups | join(",")')" == "$GA,$GB" ]]
	[[ "$(jv '.containers[0].devices | join(",")')" == "$A $CA,$B $CB" ]]
	vfc --backend type1 container "$A" -J -o BACKEND,MODEL
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.containers[0].backend')" == type1 ]]
	[[ "$(jv '.containers[0].model')" == type1v2 ]]
}

@test "container: a device another process holds: the holder is named, exit 1" {
	# through its cdev (iommufd): the cdev path opens a device once
	hold_start map "$A" --size 2M --backing anon
	vfc container "$A"
	hold_stop
	[[ "$status" -eq 1 ]]
	[[ "$stderr" == *"$A: binding it to iommufd: it is already open"* ]]
	[[ "$stderr" == *"$CA is open in vfioctl[$HOLD_PID]"* ]]
	# through its group (a type1 user): the kernel blocks the cdev
	hold_start --backend type1 map "$A" --size 2M --backing anon
	vfc container "$A"
	hold_stop
	[[ "$status" -eq 1 ]]
	[[ "$stderr" == *"in use through IOMMU group $GA"* ]]
	[[ "$stderr" == *"/dev/vfio/$GA is open in vfioctl[$HOLD_PID]"* ]]
}

# map SPEC IOCTL: 16M of that backing, checked end to end: VmPin, not VmLck.
map_backing() {
	local spec=$1 ioctl=$2
	vfc map "$A" --size 16M --backing "$spec" -J \
		-o MAPPING,BACKEND,IOCTL,SIZE,MODE,PAGES,MAP,UNMAP,LOCKED,PINNED,PINNED_BEFORE,PINNED_AFTER,PINNED_END,ENTRIES
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[0].backend')" == iommufd ]]
	[[ "$(jv '.mappings[0].ioctl')" == "$ioctl" ]]
	[[ "$(jv '.mappings[0].mode')" == pin ]]
	[[ "$(jv '.mappings[0].size')" -eq $((16 * MiB)) ]]
	# VmPin grows by exactly the size, VmLck not at all, and VmPin comes back to 0
	[[ "$(jv '.mappings[0].pinned')" -eq $((16 * MiB)) ]]
	[[ "$(jv '.mappings[1].pinned_after - .mappings[1].pinned_before')" -eq $((16 * MiB)) ]]
	[[ "$(jv '.mappings[0].locked')" -eq 0 ]]
	[[ "$(jv '.mappings[1].pinned_end')" -eq 0 ]]
	[[ "$(jv '.mappings[1].pinned_before')" -eq 0 ]]
	[[ "$(jv '.mappings[0].entries')" == null ]]
	[[ "$(jv '.mappings[0].map > 0 and .mappings[0].unmap > 0')" == true ]]
}

@test "map: anon by IOAS_MAP, VmPin +16M then 0, VmLck 0" {
	map_backing anon IOAS_MAP
	[[ "$(jv '.mappings[0].pages')" == 4K ]]
}

@test "map: thp by IOAS_MAP, VmPin +16M then 0" {
	map_backing thp IOAS_MAP
	[[ "$(jv '.mappings[0].pages')" == THP* ]]
}

@test "map: hugetlb by IOAS_MAP in 2M pages, VmPin +16M then 0" {
	map_backing hugetlb IOAS_MAP
	[[ "$(jv '.mappings[0].pages')" == 2M ]]
}

@test "map: hugetlb:2M by IOAS_MAP, VmPin +16M then 0" {
	map_backing hugetlb:2M IOAS_MAP
}

@test "map: memfd by IOAS_MAP_FILE (descriptor and offset), VmPin +16M then 0" {
	map_backing memfd IOAS_MAP_FILE
}

@test "map: memfd:hugetlb by IOAS_MAP_FILE in 2M pages, VmPin +16M then 0" {
	map_backing memfd:hugetlb IOAS_MAP_FILE
	[[ "$(jv '.mappings[0].pages')" == 2M ]]
}

@test "map: file:PATH on tmpfs by IOAS_MAP of its mmap, VmPin +16M then 0" {
	local f=/dev/shm/vfioctl-iommufd-test
	truncate -s 16M "$f"
	map_backing "file:$f" IOAS_MAP
	rm -f "$f"
}

@test "map: --chunk 4M: four IOAS_MAPs, each VmPin +4M, no entry limit" {
	vfc map "$A" --size 16M --chunk 4M --backing anon -J -o MAPPING,IOVA,PINNED,PINNED_END,ENTRIES_LEFT
	[[ "$status" -eq 0 ]]
	[[ "$(jv '[.mappings[0:4][] | .pinned] | unique | join(",")')" == $((4 * MiB)) ]]
	[[ "$(jv '[.mappings[0:4][] | .iova] | join(" ")')" == "0x0 0x400000 0x800000 0xc00000" ]]
	[[ "$(jv '.mappings[4].pinned')" -eq $((16 * MiB)) ]]
	[[ "$(jv '.mappings[4].pinned_end')" -eq 0 ]]
	[[ "$(jv '.mappings[3].entries_left')" == null ]]
}

@test "map: --no-huge-pages sets HUGE_PAGES=0 on the IOAS and still maps; type1 refuses it" {
	vfc map "$A" --size 16M --backing hugetlb:2M --no-huge-pages -J -o MAPPING,BACKEND,PINNED,MAP
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[0].pinned')" -eq $((16 * MiB)) ]]
	vfc --backend type1 map "$A" --size 16M --no-huge-pages
	[[ "$status" -eq 2 ]]
	[[ "$stderr" == *"the type1 backend has none"* ]]
}

@test "map: IOAS_MAP against type1's MAP_DMA for the same 64M, 4K and hugetlb (measured)" {
	local b t1 ifd
	for b in anon hugetlb:2M; do
		vfc --backend type1 map "$A" --size 64M --backing "$b" --repeat 3 -J -o MAPPING,MAP,UNMAP
		[[ "$status" -eq 0 ]]
		t1=$(jv '.mappings[0] | "map \(.map) ms, unmap \(.unmap) ms"')
		vfc --backend iommufd map "$A" --size 64M --backing "$b" --repeat 3 -J -o MAPPING,MAP,UNMAP
		[[ "$status" -eq 0 ]]
		ifd=$(jv '.mappings[0] | "map \(.map) ms, unmap \(.unmap) ms"')
		log "64M $b, median of 3: type1 MAP_DMA $t1; iommufd IOAS_MAP $ifd"
	done
}

# edu-dma SPEC SIZE [IOCTL]: the helper binds A through its cdev and maps as vfioctl does.
edu_dma() {
	local before fault
	before=$(dmesg | wc -l)
	run "$EDU_DMA" "$A" --backend iommufd --iova auto --size "$2" --backing "$1"
	log "edu-dma --backend iommufd --backing $1 --size $2 -> $status" "${lines[@]}"
	[[ "$status" -eq 0 ]]
	[[ "$output" == *"through a iommufd IOAS"* ]]
	[[ "$output" == *"auto IOVA 0x0 "* ]]
	[[ -z "${3:-}" || "$output" == *"by $3 in"* ]]
	[[ "$output" == *"bytes came back intact"* ]]
	[[ "$output" == *"the IOMMU blocked the write"* ]]
	# the write to the unmapped IOVA faulted in the IOMMU, for this device
	fault=$(dmar_fault "$A" "$before" || true)
	log "dmesg: ${fault:-<no DMAR fault for $A>}"
	[[ -n "$fault" ]]
}

@test "edu DMA round trip through an iommufd anon mapping; the unmapped IOVA faults" {
	edu_dma anon 64K IOAS_MAP
}

@test "edu DMA round trip through an iommufd hugetlb mapping; the unmapped IOVA faults" {
	edu_dma hugetlb:2M 2M IOAS_MAP
}

@test "edu DMA round trip through a memfd mapped by IOAS_MAP_FILE; the unmapped IOVA faults" {
	edu_dma memfd 64K IOAS_MAP_FILE
}

@test "P2P: edu reads the other edu's ident through its BAR0 dma-buf; decode off revokes it" {
	vfc container "$A" "$B" -J -o BAR_NOPIN
	[[ "$(jv '.containers[0].bar_nopin')" == dma-buf ]] || skip "this kernel exports no BAR dma-bufs"
	local before fault
	before=$(dmesg | wc -l)
	run "$EDU_DMA" "$A" --backend iommufd --peer "$B"
	log "edu-dma --backend iommufd --peer $B -> $status" "${lines[@]}"
	[[ "$status" -eq 0 ]]
	[[ "$output" == *"by dma-buf + IOAS_MAP_FILE"* ]]
	[[ "$output" == *"P2P: the device read the peer's ident 0x010000ed"* ]]
	[[ "$output" == *"sysfs shows the peer's memory decode off"* ]]
	[[ "$output" == *"revoked: the read no longer returns the ident"* ]]
	[[ "$output" == *"decode back on"* ]]
	# revoked in the IOMMU, not merely unanswered by the BAR: the read of the peer's
	# IOVA (0x8000000) faulted there, which a live pfnmap mapping would not
	fault=$(dmar_fault "$A" "$before" 0x8000000 || true)
	log "dmesg: ${fault:-<no DMAR fault at the IOVA of the peer>}"
	[[ -n "$fault" ]]
}

@test "map: BAR0 of another edu as a dma-buf, uncharged (or refused where the kernel cannot)" {
	local way
	vfc container "$A" "$B" -J -o BAR_NOPIN
	way=$(jv '.containers[0].bar_nopin')
	vfc map "$A" --bar 0 --bar-device "$B" --mode no-pin -J \
		-o MAPPING,BACKEND,IOCTL,SIZE,BACKING,MODE,PAGES,MAP,LOCKED,PINNED,PINNED_BEFORE,PINNED_AFTER
	if [[ "$way" != dma-buf ]]; then
		[[ "$status" -eq 8 ]]
		[[ "$stderr" == *"BAR 0 of $B: not supported by this kernel"* ]]
		[[ "$stderr" == *"VFIO_DEVICE_FEATURE_DMA_BUF"* ]]
		return 0
	fi
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[0].mapping')" == bar0 ]]
	[[ "$(jv '.mappings[0].backing')" == "BAR0 $B" ]]
	[[ "$(jv '.mappings[0].ioctl')" == IOAS_MAP_FILE ]]
	[[ "$(jv '.mappings[0].mode')" == dma-buf ]]
	[[ "$(jv '.mappings[0].size')" -eq "$MiB" ]]
	[[ "$(jv '.mappings[0].pinned')" -eq 0 ]]
	[[ "$(jv '.mappings[0].locked')" -eq 0 ]]
	[[ "$(jv '.mappings[0].map > 0')" == true ]]
	[[ -z "$stderr" ]]
}

@test "map: RAM and a BAR dma-buf together: only the RAM is pinned" {
	vfc container "$A" "$B" -J -o BAR_NOPIN
	[[ "$(jv '.containers[0].bar_nopin')" == dma-buf ]] || skip "this kernel exports no BAR dma-bufs"
	vfc map "$A" --size 8M --backing memfd --bar 0 --bar-device "$B" -J -o MAPPING,IOVA,IOCTL,MODE,PINNED
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[0].ioctl')" == IOAS_MAP_FILE ]]
	[[ "$(jv '.mappings[0].pinned')" -eq $((8 * MiB)) ]]
	[[ "$(jv '.mappings[1].mode')" == dma-buf ]]
	[[ "$(jv '.mappings[1].pinned')" -eq 0 ]]
	[[ "$(jv '.mappings[1].iova')" == 0x800000 ]]
	[[ "$(jv '.mappings[2].pinned')" -eq $((8 * MiB)) ]]
}

@test "map: --bar --mode pin on iommufd is refused: IOAS_MAP of a BAR's mmap is EFAULT there" {
	vfc map "$A" --bar 0 --bar-device "$B" --mode pin
	[[ "$status" -eq 8 ]]
	[[ "$stderr" == *"iommufd refuses IOMMU_IOAS_MAP of a BAR's mmap (EFAULT"* ]]
	[[ "$stderr" == *"use --mode no-pin"* ]]
}

@test "map: an IOVA in the MSI window is refused from the IOAS ranges, exit 1" {
	vfc map "$A" --size 4M --backing anon --iova 0xfee00000
	[[ "$status" -eq 1 ]]
	[[ "$stderr" == *"is not inside one usable IOVA range"* ]]
	[[ "$stderr" == *"reserved region 0xfee00000-0xfeefffff (msi) of group $GA"* ]]
}

# Gives nobody what a VMM of that user needs for iommufd: /dev/iommu and the cdev.
give_nobody() {
	chown nobody /dev/iommu "$CA"
}

take_back() {
	chown root /dev/iommu "$CA"
}

@test "map: RLIMIT_MEMLOCK 64M as nobody: iommufd's ENOMEM, decoded, exit 9" {
	give_nobody
	vfc map "$A" --size 128M --chunk 16M --backing anon --as-user nobody --memlock-limit 64M
	take_back
	[[ "$status" -eq 9 ]]
	[[ "$stderr" == *"running as nobody"* ]]
	[[ "$stderr" == *"mapping ram4 (16M at IOVA 0x4000000, 5 of 8)"* ]]
	[[ "$stderr" == *"RLIMIT_MEMLOCK of 67108864 bytes (64M) exceeded after 67108864 bytes (64M) pinned by this process (VmPin; iommufd charges uid 65534 as a whole: its other processes held 0 bytes (0) when this one started)"* ]]
	[[ "$stderr" == *"Cannot allocate memory"* ]]
	[[ "$stderr" == *"raise the limit to 134217728 bytes or more"* ]]
}

@test "memlock sees an iommufd map --hold: VmPin, no VmLck, the cdev and /dev/iommu" {
	local mine pid
	hold_start map "$A" --size 32M --backing anon
	pid=$HOLD_PID
	vfc memlock -J -o PID,COMM,NODES,LOCKED,PINNED,USER_PINNED,STATUS
	mine=$(jq -c ".processes[] | select(.pid == $pid)" <<<"$output")
	log "this map --hold: $mine"
	hold_stop
	[[ "$(jq -r .locked <<<"$mine")" -eq 0 ]]
	[[ "$(jq -r .pinned <<<"$mine")" -eq $((32 * MiB)) ]]
	[[ "$(jq -r '.nodes | sort | join(" ")' <<<"$mine")" == "/dev/iommu $CA" ]]
	# root has CAP_IPC_LOCK: iommufd charges it nothing per user
	[[ "$(jq -r .user_pinned <<<"$mine")" -eq 0 ]]
	grep -q "holding 1 mappings (VmPin 32M)" "$BATS_TEST_TMPDIR/hold.err"
	grep -q "VmPin now 0" "$BATS_TEST_TMPDIR/hold.err"
}

@test "per-user accounting: nobody's second process fails on the pins of its first; type1 would not" {
	local first
	give_nobody
	chown nobody "$CB"
	# 48M held by one process of nobody under a 64M limit...
	hold_start map "$A" --size 48M --backing anon --as-user nobody --memlock-limit 64M
	first=$HOLD_PID
	# ... leaves another process of nobody, with its own 64M limit, 16M
	vfc map "$B" --size 32M --chunk 16M --backing anon --as-user nobody --memlock-limit 64M
	local second_status=$status second_err=$stderr
	vfc memlock --pid "$first" -J -o PID,USER,PINNED,USER_PINNED,LIMIT,USE%,STATUS
	local mem=$output
	hold_stop
	chown root "$CB"
	take_back
	[[ "$second_status" -eq 9 ]]
	[[ "$second_err" == *"mapping ram1 (16M at IOVA 0x1000000, 2 of 2)"* ]]
	[[ "$second_err" == *"exceeded after 16777216 bytes (16M) pinned by this process (VmPin; iommufd charges uid 65534 as a whole: its other processes held 50331648 bytes (48M) when this one started)"* ]]
	[[ "$second_err" == *"raise the limit to 83886080 bytes or more"* ]]
	[[ "$(jq -r '.processes[0].user' <<<"$mem")" == nobody ]]
	[[ "$(jq -r '.processes[0].pinned' <<<"$mem")" -eq $((48 * MiB)) ]]
	[[ "$(jq -r '.processes[0].user_pinned' <<<"$mem")" -eq $((48 * MiB)) ]]
	[[ "$(jq -r '.processes[0]["use%"]' <<<"$mem")" -eq 75 ]]
	[[ "$(jq -r '.processes[0].status' <<<"$mem")" == ok ]]
	# type1 charges each process's own locked_vm: the same two processes both fit
	chown nobody "/dev/vfio/$GA" "/dev/vfio/$GB"
	hold_start --backend type1 map "$A" --size 48M --backing anon --as-user nobody --memlock-limit 64M
	vfc --backend type1 map "$B" --size 32M --chunk 16M --backing anon --as-user nobody --memlock-limit 64M
	hold_stop
	chown root "/dev/vfio/$GA" "/dev/vfio/$GB"
	[[ "$status" -eq 0 ]]
}
