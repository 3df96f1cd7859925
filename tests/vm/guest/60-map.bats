#!/usr/bin/env bats
# vfioctl container and map on a real kernel: every backing maps and unmaps, VmLck grows by
# exactly what is pinned and comes back, a vfioctl-style mapping carries edu's DMA, a BAR of
# another edu maps into the container uncharged, and the failures a VMM meets (RLIMIT_MEMLOCK
# as an unprivileged user, dma_entry_limit, reserved and overlapping IOVAs) are explained.
# Two edu devices are bound to vfio-pci with raw sysfs writes and handed back at the end;
# the hugepage pool, dma_entry_limit and the group nodes' owners are restored too.
# Everything here is type1's, asked for by name: on a kernel with iommufd, auto would pick
# that (70-iommufd.bats tests it).

bats_require_minimum_version 1.5.0 # run --separate-stderr

load helpers

VFIOCTL=${VFIOCTL:-vfioctl}
EDU_DMA=${EDU_DMA:-${VFIOCTL_HELPERS:-/src/build/tests/helpers}/edu-dma}
PARAM=/sys/module/vfio_iommu_type1/parameters/dma_entry_limit
HP=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
MiB=1048576

# 64 x 2M hugepages: the hugetlb backings below take at most 16M at a time, edu-dma 2M
setup_file() {
	take_two_edus
}

teardown_file() {
	[[ -z "${HP_SAVED:-}" ]] || echo "$HP_SAVED" >"$HP"
	[[ ! -e "$PARAM" ]] || echo 65535 >"$PARAM"
	for d in ${A:-} ${B:-}; do
		chown root "/dev/vfio/$(group_of "$d")" 2>/dev/null || true
		vfio_unbind "$d"
	done
}

# vfioctl with stdout in $output, stderr in $stderr.
vfc() {
	run --separate-stderr "$VFIOCTL" --backend type1 "$@"
	log "vfioctl $* -> $status" "${lines[@]}" ${stderr:+"stderr: $stderr"}
}

@test "container: type1v2, 4K/2M/1G pages, the MSI window left out, 65535 entries" {
	vfc container "$A" -J -o +DMA_ENTRY_LIMIT,DISABLE_HUGEPAGES,ALLOW_UNSAFE_INTERRUPTS,RESV,BAR_NOPIN
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.containers[0].model')" == type1v2 ]]
	[[ "$(jv '.containers[0].groups | join(",")')" == "$GA" ]]
	[[ "$(jv '.containers[0].pgsizes | join(",")')" == 4K,2M,1G ]]
	[[ "$(jv '.containers[0].iova_ranges | join(" ")')" == "0x0-0xfedfffff 0xfef00000-0x7fffffffff" ]]
	[[ "$(jv '.containers[0].extensions | index("unmap_all") != null')" == true ]]
	[[ "$(jv '.containers[0].dma_avail')" == "$(cat "$PARAM")" ]]
	[[ "$(jv '.containers[0].dma_entry_limit')" == "$(cat "$PARAM")" ]]
	[[ "$(jv '.containers[0].disable_hugepages')" == false ]]
	[[ "$(jv '.containers[0].resv[0]')" == "0xfee00000-0xfeefffff msi" ]]
	# mainline has no MMIO_DONT_PIN: a BAR goes the pfnmap way
	[[ "$(jv '.containers[0].extensions | index("mmio_dont_pin")')" == null ]]
	[[ "$(jv '.containers[0].bar_nopin')" == pfnmap ]]
}

@test "--backend iommufd on a kernel without iommufd: not supported, exit 8; auto is type1" {
	[[ ! -e /dev/iommu ]] || skip "this kernel has iommufd: 70-iommufd.bats tests it"
	run --separate-stderr "$VFIOCTL" --backend iommufd container "$A"
	log "vfioctl --backend iommufd container $A -> $status" "$stderr"
	[[ "$status" -eq 8 ]]
	[[ "$stderr" == *"/dev/iommu: this kernel has no iommufd"* ]]
	[[ "$stderr" == *"CONFIG_IOMMUFD"* && "$stderr" == *"--backend type1"* ]]
	run --separate-stderr "$VFIOCTL" --debug container "$A" -r -n -o BACKEND
	[[ "$status" -eq 0 ]]
	[[ "$output" == type1 ]]
	[[ "$stderr" == *"backend auto: type1: no /dev/iommu"* ]]
}

@test "container: two groups share one container; a group named twice is opened once" {
	vfc container "$A" "$GB" "$GB" -J -o GROUPS,MODEL
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.containers[0].groups | join(",")')" == "$GA,$GB" ]]
}

@test "container: a group held by another container is busy, exit 1" {
	hold_start --backend type1 map "$A" --size 2M --backing anon
	vfc container "$A"
	hold_stop
	[[ "$status" -eq 1 ]]
	[[ "$stderr" == *"IOMMU group $GA is in use"* ]]
}

# map SPEC SIZE: one mapping of that backing, checked end to end.
map_backing() {
	local spec=$1 size=$2
	vfc map "$A" --size "$size" --backing "$spec" -J \
		-o MAPPING,SIZE,BACKING,MODE,PAGES,HUGE,MAP,UNMAP,LOCKED,LOCKED_BEFORE,LOCKED_AFTER,LOCKED_END,ENTRIES,ENTRIES_LEFT
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[0].mode')" == pin ]]
	[[ "$(jv '.mappings[0].size')" -eq $((${size%M} * MiB)) ]]
	# VmLck grows by exactly the pinned size, and comes back
	[[ "$(jv '.mappings[0].locked')" -eq $((${size%M} * MiB)) ]]
	[[ "$(jv '.mappings[1].locked_after - .mappings[1].locked_before')" -eq $((${size%M} * MiB)) ]]
	[[ "$(jv '.mappings[1].locked_end')" == "$(jv '.mappings[1].locked_before')" ]]
	[[ "$(jv '.mappings[1].locked_end')" -eq 0 ]]
	[[ "$(jv '.mappings[0].entries')" -eq 1 ]]
	[[ "$(jv '.mappings[0].map > 0 and .mappings[0].unmap > 0')" == true ]]
}

@test "map: anon (4K pages) maps, unmaps, VmLck +16M then 0" {
	map_backing anon 16M
	[[ "$(jv '.mappings[0].pages')" == 4K ]]
	[[ "$(jv '.mappings[0].huge')" -eq 0 ]]
}

@test "map: thp maps, unmaps, VmLck +16M then 0" {
	map_backing thp 16M
	[[ "$(jv '.mappings[0].pages')" == THP* ]]
}

@test "map: hugetlb (default size) maps in 2M pages, VmLck +16M then 0" {
	map_backing hugetlb 16M
	[[ "$(jv '.mappings[0].pages')" == 2M ]]
	[[ "$(jv '.mappings[0].huge')" -eq $((16 * MiB)) ]]
}

@test "map: hugetlb:2M maps, unmaps, VmLck +16M then 0" {
	map_backing hugetlb:2M 16M
	[[ "$(jv '.mappings[0].pages')" == 2M ]]
}

@test "map: memfd maps, unmaps, VmLck +16M then 0" {
	map_backing memfd 16M
}

@test "map: memfd:hugetlb maps in 2M pages, VmLck +16M then 0" {
	map_backing memfd:hugetlb 16M
	[[ "$(jv '.mappings[0].pages')" == 2M ]]
}

@test "map: file:PATH on tmpfs maps, unmaps, VmLck +16M then 0" {
	local f=/dev/shm/vfioctl-map-test
	truncate -s 16M "$f"
	map_backing "file:$f" 16M
	rm -f "$f"
	[[ "$(jv '.mappings[0].backing')" == "file:$f" ]]
}

@test "map: auto picks hugetlb:2M when the pool has room" {
	vfc map "$A" --size 16M -J -o MAPPING,BACKING,PAGES
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[0].backing')" == hugetlb:2M ]]
	[[ "$(jv '.mappings[0].pages')" == 2M ]]
}

@test "map: --chunk 4M makes four mappings of 4M, each charged 4M, one entry each" {
	vfc map "$A" --size 16M --chunk 4M --backing anon -J \
		-o MAPPING,IOVA,SIZE,LOCKED,LOCKED_END,ENTRIES,ENTRIES_LEFT
	[[ "$status" -eq 0 ]]
	[[ "$(jv '[.mappings[] | select(.mapping != "total")] | length')" -eq 4 ]]
	[[ "$(jv '[.mappings[0:4][] | .locked] | unique | join(",")')" == $((4 * MiB)) ]]
	[[ "$(jv '[.mappings[0:4][] | .iova] | join(" ")')" == "0x0 0x400000 0x800000 0xc00000" ]]
	[[ "$(jv '.mappings[4].locked')" -eq $((16 * MiB)) ]]
	[[ "$(jv '.mappings[4].locked_end')" -eq 0 ]]
	[[ "$(jv '.mappings[4].entries')" -eq 4 ]]
	[[ "$(jv '.mappings[3].entries_left')" -eq $(($(cat "$PARAM") - 4)) ]]
}

@test "map: --repeat 3 reports min <= median <= max over three runs" {
	vfc map "$A" --size 8M --backing hugetlb --repeat 3 -J -o MAPPING,MAP,MAP_MIN,MAP_MAX,REPEATS
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[1].repeats')" -eq 3 ]]
	[[ "$(jv '.mappings[1] | .map_min <= .map and .map <= .map_max')" == true ]]
}

@test "map: --populate none leaves the faulting to the pin: no populate time" {
	vfc map "$A" --size 8M --backing anon --populate none -J -o MAPPING,POPULATE,MAP,LOCKED
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[0].populate')" == null ]]
	[[ "$(jv '.mappings[0].locked')" -eq $((8 * MiB)) ]]
}

# edu-dma: SPEC SIZE; the helper allocates with vfc_mem_alloc and places with vfc_iova_place.
edu_dma() {
	run "$EDU_DMA" "$A" --iova auto --size "$2" --backing "$1"
	log "edu-dma --backing $1 --size $2 -> $status" "${lines[@]}"
	[[ "$status" -eq 0 ]]
	[[ "$output" == *"auto IOVA 0x0 "* ]]
	[[ "$output" == *"bytes came back intact"* ]]
	[[ "$output" == *"the IOMMU blocked the write"* ]]
}

@test "edu DMA reaches anon memory mapped the vfioctl way, and not after unmap" {
	edu_dma anon 64K
}

@test "edu DMA reaches hugetlb memory mapped the vfioctl way, and not after unmap" {
	edu_dma hugetlb:2M 2M
}

@test "edu DMA reaches thp memory mapped the vfioctl way, and not after unmap" {
	edu_dma thp 2M
}

@test "edu DMA reaches memfd memory mapped the vfioctl way, and not after unmap" {
	edu_dma memfd 64K
}

@test "map: BAR0 of another edu maps into the container (P2P), uncharged" {
	vfc map "$A" --bar 0 --bar-device "$B" --mode no-pin -J \
		-o MAPPING,SIZE,BACKING,MODE,PAGES,LOCKED,LOCKED_BEFORE,LOCKED_AFTER,ENTRIES
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[0].mapping')" == bar0 ]]
	[[ "$(jv '.mappings[0].backing')" == "BAR0 $B" ]]
	[[ "$(jv '.mappings[0].size')" -eq "$MiB" ]]
	[[ "$(jv '.mappings[0].mode')" == pfnmap ]]
	[[ "$(jv '.mappings[0].locked')" -eq 0 ]]
	[[ "$(jv '.mappings[0].locked_after')" == "$(jv '.mappings[0].locked_before')" ]]
	[[ "$(jv '.mappings[0].entries')" -eq 1 ]]
	[[ "$stderr" == *"pfnmap path"* && "$stderr" == *"extension 11"* ]]
}

@test "P2P: edu reads the other edu's ident through its BAR0, mapped the pfnmap way" {
	run "$EDU_DMA" "$A" --peer "$B"
	log "edu-dma --peer $B -> $status" "${lines[@]}"
	[[ "$status" -eq 0 ]]
	[[ "$output" == *"mapped at IOVA 0x8000000 by its mmap (pfnmap)"* ]]
	[[ "$output" == *"P2P: the device read the peer's ident 0x010000ed"* ]]
	[[ "${lines[-1]}" == "edu-dma: PASSED" ]]
}

@test "map: RAM and a BAR together: only the RAM is charged" {
	vfc map "$A" --size 8M --backing anon --bar 0 --bar-device "$B" -J -o MAPPING,IOVA,MODE,LOCKED
	[[ "$status" -eq 0 ]]
	[[ "$(jv '.mappings[0].locked')" -eq $((8 * MiB)) ]]
	[[ "$(jv '.mappings[1].mode')" == pfnmap ]]
	[[ "$(jv '.mappings[1].locked')" -eq 0 ]]
	[[ "$(jv '.mappings[2].locked')" -eq $((8 * MiB)) ]]
	# the BAR goes clear of the RAM
	[[ "$(jv '.mappings[1].iova')" == 0x800000 ]]
}

@test "map: no-pin for RAM and iopf are refused with the reason, exit 8" {
	vfc map "$A" --size 8M --mode no-pin
	[[ "$status" -eq 8 ]]
	[[ "$stderr" == *"type1 always pins RAM"* ]]
	vfc map "$A" --mode iopf --size 8M
	[[ "$status" -eq 8 ]]
	[[ "$stderr" == *"no I/O page faults"* && "$stderr" == *"iommufd"* ]]
}

@test "map: RLIMIT_MEMLOCK 64M as nobody: the decoded ENOMEM, exit 9" {
	chown nobody "/dev/vfio/$GA"
	vfc map "$A" --size 128M --chunk 16M --backing anon --as-user nobody --memlock-limit 64M
	chown root "/dev/vfio/$GA"
	[[ "$status" -eq 9 ]]
	[[ "$stderr" == *"running as nobody"* ]]
	[[ "$stderr" == *"mapping ram4 (16M at IOVA 0x4000000, 5 of 8)"* ]]
	[[ "$stderr" == *"RLIMIT_MEMLOCK of 67108864 bytes (64M) exceeded after 67108864 bytes (64M) pinned"* ]]
	[[ "$stderr" == *"Cannot allocate memory"* ]]
	[[ "$stderr" == *"raise the limit to 134217728 bytes or more"* ]]
}

@test "map: as nobody without access to the group node: permission denied, exit 5" {
	vfc map "$A" --size 8M --as-user nobody
	[[ "$status" -eq 5 ]]
	[[ "$stderr" == *"/dev/vfio/$GA"* && "$stderr" == *"Permission denied"* ]]
}

@test "map: --memlock-limit alone drops root's CAP_IPC_LOCK, so the limit binds" {
	vfc map "$A" --size 32M --backing anon --memlock-limit 16M
	[[ "$status" -eq 9 ]]
	[[ "$stderr" == *"RLIMIT_MEMLOCK of 16777216 bytes (16M) exceeded after 0 bytes (0) pinned"* ]]
	# without it, root maps the same
	vfc map "$A" --size 32M --backing anon
	[[ "$status" -eq 0 ]]
}

@test "map: dma_entry_limit 4 and 8 pieces: the ENOSPC explanation, exit 9" {
	# the parameter is writable (0644) and read when a container gets its IOMMU
	[[ -w "$PARAM" ]] || skip "$PARAM is not writable"
	echo 4 >"$PARAM"
	vfc map "$A" --size 16M --chunk 2M --backing anon
	echo 65535 >"$PARAM"
	[[ "$status" -eq 9 ]]
	[[ "$stderr" == *"8 mappings are planned but the container allows 4 more"* ]]
	[[ "$stderr" == *"mapping ram4 (2M at IOVA 0x800000, 5 of 8): no DMA mapping entries left after 4 mappings"* ]]
	[[ "$stderr" == *"the request needs 8"* && "$stderr" == *"dma_entry_limit is 4"* ]]
	[[ "$stderr" == *"No space left on device"* ]]
	[[ "$stderr" == *"raise dma_entry_limit to 8"* ]]
}

@test "map: an IOVA in the MSI window is refused, naming the reserved region, exit 1" {
	vfc map "$A" --size 4M --backing anon --iova 0xfee00000
	[[ "$status" -eq 1 ]]
	[[ "$stderr" == *"is not inside one usable IOVA range"* ]]
	[[ "$stderr" == *"reserved region 0xfee00000-0xfeefffff (msi) of group $GA"* ]]
}

@test "map: an IOVA not on a page boundary is refused, exit 1" {
	vfc map "$A" --size 4M --backing anon --iova 0x1800
	[[ "$status" -eq 1 ]]
	[[ "$stderr" == *"IOVA 0x1800 is not a multiple of the IOMMU page size 0x1000"* ]]
}

@test "map: a BAR IOVA overlapping the memory is refused, exit 1" {
	vfc map "$A" --size 4M --backing anon --iova 0x100000 --bar 0 --bar-device "$B" --bar-iova 0x200000
	[[ "$status" -eq 1 ]]
	[[ "$stderr" == *"bar0 at IOVA 0x200000-0x2fffff overlaps ram0 at 0x100000-0x4fffff"* ]]
}

@test "memlock finds a map --hold process with its numbers; SIGINT unmaps, exit 0" {
	local err=$BATS_TEST_TMPDIR/hold.err pid
	hold_start --backend type1 map "$A" --size 32M --backing anon
	pid=$HOLD_PID
	vfc memlock -J -o PID,COMM,NODES,LOCKED,IPC_LOCK,STATUS
	local mine
	mine=$(jq -c ".processes[] | select(.pid == $pid)" <<<"$output")
	log "this map --hold: $mine"
	kill -INT "$pid"
	wait "$pid" || { echo "map --hold exited $?" >&2; return 1; }
	[[ -n "$mine" ]]
	[[ "$(jq -r .comm <<<"$mine")" == vfioctl ]]
	[[ "$(jq -r .locked <<<"$mine")" -eq $((32 * MiB)) ]]
	[[ "$(jq -r '.nodes | join(" ")' <<<"$mine")" == "/dev/vfio/vfio /dev/vfio/$GA" ]]
	grep -q "holding 1 mappings (VmLck 32M) in process $pid" "$err"
	grep -q "unmapped 1 mappings (32M)" "$err"
	grep -q "VmLck now 0" "$err"
	vfc memlock -r -n -o PID
	[[ " ${lines[*]} " != *" $pid "* ]]
}

@test "memlock sees a held unprivileged map at its limit: near, 100%" {
	local pid
	chown nobody "/dev/vfio/$GA"
	hold_start --backend type1 map "$A" --size 32M --backing anon --as-user nobody --memlock-limit 32M
	pid=$HOLD_PID
	vfc memlock --pid "$pid" -J -o PID,USER,LOCKED,LIMIT,IPC_LOCK,USE%,STATUS
	kill -TERM "$pid"
	wait "$pid"
	chown root "/dev/vfio/$GA"
	[[ "$(jv '.processes[0].user')" == nobody ]]
	[[ "$(jv '.processes[0].locked')" -eq $((32 * MiB)) ]]
	[[ "$(jv '.processes[0].limit')" -eq $((32 * MiB)) ]]
	[[ "$(jv '.processes[0].ipc_lock')" == false ]]
	[[ "$(jv '.processes[0]["use%"]')" -eq 100 ]]
	[[ "$(jv '.processes[0].status')" == near ]]
}
