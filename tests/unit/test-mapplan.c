// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl map's arithmetic (cli/map-plan.c): cutting memory into mappings,
 * laying them out in the IOVA space of the test host's emulated VT-d, and the
 * statistics over repeats.
 */
#include <errno.h>
#include <stdlib.h>

#include "map.h"
#include "tap.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void test_chunks(void)
{
	uint64_t last = 0;
	size_t n = 0;

	is_int(plan_chunks(2 * GiB, 0, 4096, MAP_MAX_PIECES, &n, &last), 0, "no --chunk");
	ok(n == 1 && last == 2 * GiB, "one mapping of everything (%zu, %llu)", n,
	   (unsigned long long)last);
	is_int(plan_chunks(2 * GiB, 512 * MiB, 2 * MiB, MAP_MAX_PIECES, &n, &last), 0, "512M pieces");
	ok(n == 4 && last == 512 * MiB, "four whole pieces");
	is_int(plan_chunks(10 * MiB, 4 * MiB, 2 * MiB, MAP_MAX_PIECES, &n, &last), 0, "10M in 4M");
	ok(n == 3 && last == 2 * MiB, "two of 4M and a last one of 2M");
	is_int(plan_chunks(4 * MiB, 8 * MiB, 4096, MAP_MAX_PIECES, &n, &last), 0, "chunk above size");
	ok(n == 1 && last == 4 * MiB, "is one mapping");
	is_int(plan_chunks(16 * MiB, 2 * MiB, 4096, MAP_MAX_PIECES, &n, &last), 0,
	       "16M in 2M (the dma_entry_limit test)");
	is_int(n, 8, "eight mappings");
	is_int(plan_chunks(3 * MiB, 0, 2 * MiB, MAP_MAX_PIECES, &n, &last), -EINVAL,
	       "3M of 2M pages is refused");
	is_int(plan_chunks(4 * MiB, 3 * MiB, 2 * MiB, MAP_MAX_PIECES, &n, &last), -EINVAL,
	       "a 3M chunk of 2M pages is refused");
	is_int(plan_chunks(6 * MiB, 4 * MiB, 4096, MAP_MAX_PIECES, &n, &last), 0,
	       "a 2M remainder of 4K pages is fine");
	is_int(plan_chunks(1 * GiB, 4096, 4096, 1000, &n, &last), -E2BIG, "262144 pieces over a max of 1000");
	is_int(plan_chunks(0, 0, 4096, MAP_MAX_PIECES, &n, &last), -EINVAL, "size 0");
}

static const struct vfc_iova_range qemu_ranges[] = {
	{ 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffffULL },
};

static void test_iovas(void)
{
	struct vfc_iommu_info in = { .pgsizes = 0x40201000, .dma_avail = 65535,
				     .ranges = (struct vfc_iova_range *)qemu_ranges, .nranges = 2 };
	uint64_t sizes[4] = { GiB, GiB, GiB, GiB }, iovas[4];
	struct vfc_mapping bar = { 0x0, MiB, NULL, VFC_MAP_RW };

	is_int(plan_iovas(&in, NULL, 0, sizes, 4, false, 0, iovas), 0, "4 x 1G auto");
	ok(iovas[0] == 0 && iovas[1] == GiB && iovas[2] == 2 * GiB, "three below 4G, 1G apart");
	is_u64(iovas[3], 4 * GiB, "the fourth skips the MSI window, to 4G");

	is_int(plan_iovas(&in, &bar, 1, sizes, 2, false, 0, iovas), 0, "around a BAR at 0");
	ok(iovas[0] == GiB && iovas[1] == 2 * GiB, "1G-aligned past it");

	sizes[0] = sizes[1] = 2 * MiB;
	is_int(plan_iovas(&in, NULL, 0, sizes, 2, true, 0xfec00000, iovas), 0,
	       "fixed: contiguous, whatever is reserved (checked elsewhere)");
	ok(iovas[0] == 0xfec00000 && iovas[1] == 0xfee00000, "0xfec00000, 0xfee00000");
	is_int(plan_iovas(&in, NULL, 0, sizes, 2, true, UINT64_MAX - 2 * MiB + 1, iovas),
	       -EOVERFLOW, "fixed: the second piece would wrap");
	is_int(plan_iovas(&in, NULL, 0, sizes, 1, true, UINT64_MAX - 2 * MiB + 1, iovas), 0,
	       "one piece may end at the very top");
	sizes[0] = 1024 * GiB;
	is_int(plan_iovas(&in, NULL, 0, sizes, 1, false, 0, iovas), -ENOSPC, "1T: no room");
}

static void test_stats(void)
{
	const double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 }, one[] = { 7.5 };
	struct stats st;

	is_int(stats_of(odd, 3, &st), 0, "three values");
	ok(st.min == 1 && st.median == 3 && st.max == 5, "min 1 median 3 max 5");
	ok(odd[0] == 5 && odd[1] == 1, "the input is left unsorted");
	is_int(stats_of(even, 4, &st), 0, "four values");
	ok(st.min == 1 && st.median == 2.5 && st.max == 4, "median of an even count: 2.5");
	is_int(stats_of(one, 1, &st), 0, "one value");
	ok(st.min == 7.5 && st.median == 7.5 && st.max == 7.5, "all three are it");
	is_int(stats_of(one, 0, &st), -EINVAL, "no values");
	ok(gib_per_s(GiB, 1000000000) == 1.0, "1G in 1 s is 1 GiB/s");
	ok(gib_per_s(2 * GiB, 500000000) == 4.0, "2G in 0.5 s is 4 GiB/s");
	ok(gib_per_s(GiB, 0) == 0, "no time: 0, not infinity");
}

int main(void)
{
	test_chunks();
	test_iovas();
	test_stats();
	return tap_done();
}
