// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The IOMMU layer's pure parts: the VFIO_IOMMU_GET_INFO capability chain,
 * the bookkeeping of live mappings, and the reasons a map is refused.
 * GET_INFO answers are built here byte by byte, the way the kernel lays them
 * out, including the broken shapes a parser must not walk off.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/vfio.h>

#include "iommu-priv.h"
#include "tap.h"

/* ---- building GET_INFO answers ---- */

struct buf {
	uint8_t b[512];
	size_t len;
};

static struct vfio_iommu_type1_info *hdr(struct buf *b)
{
	return (struct vfio_iommu_type1_info *)b->b;
}

static void start(struct buf *b, uint32_t flags, uint64_t pgsizes)
{
	memset(b, 0, sizeof(*b));
	b->len = sizeof(struct vfio_iommu_type1_info);
	hdr(b)->argsz = (uint32_t)b->len;
	hdr(b)->flags = flags;
	hdr(b)->iova_pgsizes = pgsizes;
}

/* Appends a capability (8-aligned, as the kernel does) and links it last. */
static size_t add_cap(struct buf *b, uint16_t id, const void *body, size_t blen)
{
	struct vfio_info_cap_header h = { .id = id, .version = 1 };
	size_t off = (b->len + 7) & ~(size_t)7, prev;

	memcpy(b->b + off, &h, sizeof(h));
	memcpy(b->b + off + sizeof(h), body, blen);
	b->len = off + sizeof(h) + blen;
	hdr(b)->argsz = (uint32_t)b->len;
	hdr(b)->flags |= VFIO_IOMMU_INFO_CAPS;
	if (!hdr(b)->cap_offset) {
		hdr(b)->cap_offset = (uint32_t)off;
		return off;
	}
	for (prev = hdr(b)->cap_offset;;) {
		struct vfio_info_cap_header *p = (void *)(b->b + prev);

		if (!p->next) {
			p->next = (uint32_t)off;
			return off;
		}
		prev = p->next;
	}
}

static size_t add_ranges(struct buf *b, const struct vfio_iova_range *r,
			 uint32_t n, uint32_t claimed)
{
	uint8_t body[256];
	uint32_t nr[2] = { claimed, 0 }; /* nr_iovas + reserved */

	memcpy(body, nr, sizeof(nr));
	if (n)
		memcpy(body + sizeof(nr), r, n * sizeof(*r));
	return add_cap(b, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, body,
		       sizeof(nr) + n * sizeof(*r));
}

static size_t add_avail(struct buf *b, uint32_t avail)
{
	return add_cap(b, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, &avail, sizeof(avail));
}

/* What the emulated Intel IOMMU reports in the test guest (vm-rig.md). */
static const struct vfio_iova_range guest_ranges[] = {
	{ 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffffULL },
};

static void test_info_real_shape(void)
{
	struct vfc_iommu_info in = { 0 };
	uint64_t mig[3] = { 0x1000, 1 << 20, 0 };
	struct buf b;

	start(&b, VFIO_IOMMU_INFO_PGSIZES, 0x40201000);
	add_ranges(&b, guest_ranges, 2, 2);
	add_cap(&b, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, mig, sizeof(mig));
	add_avail(&b, 65535);
	is_int(vfc_type1_info_parse(b.b, b.len, &in), 0, "guest-shaped answer parses");
	is_u64(in.pgsizes, 0x40201000, "page sizes 4K/2M/1G");
	is_int(in.nranges, 2, "two IOVA ranges");
	is_u64(in.ranges[0].end, 0xfedfffff, "first range ends below the MSI window");
	is_u64(in.ranges[1].start, 0xfef00000, "second range starts above it");
	is_u64(in.ranges[1].end, 0x7fffffffffULL, "39-bit address width");
	is_int(in.dma_avail, 65535, "DMA_AVAIL after an unknown-to-us capability");
	vfc_iommu_info_clear(&in);
	ok(in.ranges == NULL && in.dma_avail == -1, "clear frees and resets");
}

static void test_info_minimal(void)
{
	struct vfc_iommu_info in = { 0 };
	struct buf b;

	start(&b, VFIO_IOMMU_INFO_PGSIZES, 0x1000);
	is_int(vfc_type1_info_parse(b.b, b.len, &in), 0, "no capabilities parses");
	is_u64(in.pgsizes, 0x1000, "page sizes");
	ok(in.ranges == NULL && in.nranges == 0, "no ranges means not reported");
	is_int(in.dma_avail, -1, "DMA_AVAIL not reported");

	start(&b, 0, 0x1000);
	is_int(vfc_type1_info_parse(b.b, b.len, &in), 0, "no flags parses");
	is_u64(in.pgsizes, 0, "page sizes ignored without the PGSIZES flag");

	/* cap_offset without the CAPS flag: an old kernel's stale padding */
	start(&b, VFIO_IOMMU_INFO_PGSIZES, 0x1000);
	add_avail(&b, 7);
	hdr(&b)->flags &= ~VFIO_IOMMU_INFO_CAPS;
	is_int(vfc_type1_info_parse(b.b, b.len, &in), 0, "chain without CAPS flag");
	is_int(in.dma_avail, -1, "is not walked");

	start(&b, VFIO_IOMMU_INFO_PGSIZES, 0x1000);
	add_ranges(&b, NULL, 0, 0);
	is_int(vfc_type1_info_parse(b.b, b.len, &in), 0, "zero ranges parse");
	ok(in.ranges != NULL && in.nranges == 0, "and say: nothing is usable");
	vfc_iommu_info_clear(&in);

	start(&b, VFIO_IOMMU_INFO_PGSIZES, 0x1000);
	add_cap(&b, 0x7777, "abcdefgh", 8);
	add_avail(&b, 9);
	is_int(vfc_type1_info_parse(b.b, b.len, &in), 0, "unknown capability is skipped");
	is_int(in.dma_avail, 9, "and the chain goes on");
}

static void test_info_broken(void)
{
	struct vfc_iommu_info in = { 0 };
	struct vfio_iova_range bad = { 0x2000, 0x1000 };
	struct buf b;
	size_t off;

	start(&b, VFIO_IOMMU_INFO_PGSIZES, 0x1000);
	is_int(vfc_type1_info_parse(b.b, b.len - 1, &in), -EINVAL, "short header");
	is_int(vfc_type1_info_parse(b.b, 0, &in), -EINVAL, "empty buffer");

	start(&b, VFIO_IOMMU_INFO_CAPS, 0);
	hdr(&b)->cap_offset = 4096;
	is_int(vfc_type1_info_parse(b.b, b.len, &in), -EINVAL, "cap_offset past the end");

	start(&b, VFIO_IOMMU_INFO_CAPS, 0);
	hdr(&b)->cap_offset = 8;
	is_int(vfc_type1_info_parse(b.b, sizeof(b.b), &in), -EINVAL,
	       "cap_offset inside the header");

	start(&b, 0, 0);
	off = add_avail(&b, 1);
	((struct vfio_info_cap_header *)(b.b + off))->next = (uint32_t)off;
	is_int(vfc_type1_info_parse(b.b, b.len, &in), -EINVAL, "a capability pointing at itself");

	start(&b, 0, 0);
	add_avail(&b, 1);
	off = add_avail(&b, 2);
	((struct vfio_info_cap_header *)(b.b + off))->next = hdr(&b)->cap_offset;
	is_int(vfc_type1_info_parse(b.b, b.len, &in), -EINVAL, "a chain looping backwards");

	start(&b, 0, 0);
	add_ranges(&b, guest_ranges, 2, 3);
	is_int(vfc_type1_info_parse(b.b, b.len, &in), -EINVAL, "nr_iovas larger than the buffer");
	ok(in.ranges == NULL, "leaves no ranges behind");

	start(&b, 0, 0);
	add_ranges(&b, guest_ranges, 2, 0x40000000);
	is_int(vfc_type1_info_parse(b.b, b.len, &in), -EINVAL, "nr_iovas that would overflow");

	start(&b, 0, 0);
	add_ranges(&b, &bad, 1, 1);
	is_int(vfc_type1_info_parse(b.b, b.len, &in), -EINVAL, "a range ending before it starts");

	start(&b, 0, 0);
	add_avail(&b, 1);
	is_int(vfc_type1_info_parse(b.b, b.len - 1, &in), -EINVAL, "truncated DMA_AVAIL");

	start(&b, 0, 0);
	add_ranges(&b, guest_ranges, 2, 2);
	add_avail(&b, 1);
	is_int(vfc_type1_info_parse(b.b, b.len - 2, &in), -EINVAL,
	       "good ranges, then a truncated capability");
	ok(in.ranges == NULL && in.nranges == 0, "frees the ranges it had parsed");
}

/* ---- bookkeeping ---- */

#define M(iova, size) ((struct vfc_mapping){ (iova), (size), NULL, VFC_MAP_RW })

static void test_maps(void)
{
	struct vfc_mapping *maps = NULL, m;
	size_t n = 0, count, split = 99;
	uint64_t bytes;

	m = M(0x3000, 0x1000);
	vfc_maps_insert(&maps, &n, &m);
	m = M(0x1000, 0x1000);
	vfc_maps_insert(&maps, &n, &m);
	m = M(0x10000, 0x4000);
	vfc_maps_insert(&maps, &n, &m);
	m = M(0x2000, 0x1000);
	vfc_maps_insert(&maps, &n, &m);
	is_int(n, 4, "four mappings");
	ok(maps[0].iova == 0x1000 && maps[1].iova == 0x2000 && maps[2].iova == 0x3000 &&
	   maps[3].iova == 0x10000, "kept sorted by IOVA");

	is_int(vfc_maps_find_overlap(maps, n, 0x4000, 0xc000), -1, "the gap is free");
	is_int(vfc_maps_find_overlap(maps, n, 0x4000, 0xc001), 3, "one byte too many hits the next");
	is_int(vfc_maps_find_overlap(maps, n, 0x3fff, 1), 2, "the last byte of a mapping");
	is_int(vfc_maps_find_overlap(maps, n, 0, 0x1000), -1, "ends right before the first");
	is_int(vfc_maps_find_overlap(maps, n, 0x13fff, UINT64_MAX - 0x13fff + 1), 3,
	       "a range up to the top of the address space");

	is_int(vfc_maps_unmap_plan(maps, n, 0x1000, 0x3000, &count, &bytes, &split), 0,
	       "unmapping three adjacent whole mappings");
	is_int(count, 3, "counts three");
	is_u64(bytes, 0x3000, "of 0x3000 bytes");
	is_int(vfc_maps_unmap_plan(maps, n, 0, 0x100000, &count, &bytes, &split), 0,
	       "a range covering everything");
	is_int(count, 4, "counts all four");
	is_int(vfc_maps_unmap_plan(maps, n, 0x11000, 0x1000, &count, &bytes, &split), -EINVAL,
	       "the middle of a mapping is refused");
	is_int(split, 3, "naming the mapping it would split");
	is_int(vfc_maps_unmap_plan(maps, n, 0x1000, 0x12000, &count, &bytes, &split), -EINVAL,
	       "a range ending inside a mapping is refused");
	is_int(vfc_maps_unmap_plan(maps, n, 0x5000, 0x1000, &count, &bytes, &split), 0,
	       "a range with nothing in it");
	is_int(count, 0, "counts nothing");

	vfc_maps_remove_range(maps, &n, 0x2000, 0x2000);
	is_int(n, 2, "removing two leaves two");
	ok(maps[0].iova == 0x1000 && maps[1].iova == 0x10000, "the right two, in order");
	vfc_maps_remove_range(maps, &n, 0, UINT64_MAX);
	is_int(n, 0, "removing everything");
	free(maps);
}

/* ---- why a map is refused ---- */

static void test_check_map(void)
{
	struct vfio_iova_range kr[2] = { guest_ranges[0], guest_ranges[1] };
	struct vfc_iova_range ranges[2] = {
		{ kr[0].start, kr[0].end }, { kr[1].start, kr[1].end },
	};
	struct vfc_iommu_info in = {
		.pgsizes = 0x40201000, .ranges = ranges, .nranges = 2, .dma_avail = -1,
	};
	char why[256];

	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0x1000000, 0x10000, why, sizeof(why)),
	       0, "an aligned map inside the first range");
	is_str(why, "", "has no reason");
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0x1000800, 0x1000, why, sizeof(why)),
	       -EINVAL, "a misaligned IOVA");
	is_str(why, "IOVA 0x1000800 is not a multiple of the IOMMU page size 0x1000",
	       "names the culprit and the page size");
	is_int(vfc_iommu_check_map(&in, 0x7f0000000800, 0x1000000, 0x1000, why, sizeof(why)),
	       -EINVAL, "a misaligned vaddr");
	ok(!strncmp(why, "vaddr 0x7f0000000800 ", 21), "is named: %s", why);
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0x1000000, 0x1800, why, sizeof(why)),
	       -EINVAL, "a size that is not whole pages");
	ok(!strncmp(why, "size 0x1800 ", 12), "is named: %s", why);
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0xfee00000, 0x1000, why, sizeof(why)),
	       -EINVAL, "the MSI window");
	ok(strstr(why, "0xfee00000-0xfee00fff") != NULL, "names the range: %s", why);
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0xfed00000, 0x200000, why, sizeof(why)),
	       -EINVAL, "a range straddling the hole");
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0x8000000000ULL, 0x1000, why, sizeof(why)),
	       -EINVAL, "above the address width");
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0x1000, 0, why, sizeof(why)),
	       -EINVAL, "size 0");
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0xfffffffffffff000ULL, 0x2000, why,
				   sizeof(why)), -EOVERFLOW, "a range that wraps");

	in.ranges = NULL;
	in.nranges = 0;
	in.pgsizes = 0;
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0xfee00000, 0x1000, why, sizeof(why)),
	       0, "without reported ranges, only alignment is judged");
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0x800, 0x1000, why, sizeof(why)),
	       -EINVAL, "and 4K is assumed without reported page sizes");
}

static void test_open(void)
{
	struct vfc_iommu *io = (struct vfc_iommu *)1;
	struct vfc_ctx *ctx;

	is_str(vfc_backend_str(VFC_BACKEND_TYPE1), "type1", "backend names");
	is_str(vfc_backend_str((enum vfc_backend)42), "unknown", "an unknown backend");

	if (vfc_new("/tmp", &ctx)) {
		ok(0, "context on /tmp");
		return;
	}
	is_int(vfc_iommu_open(ctx, VFC_BACKEND_TYPE1, &io), -EOPNOTSUPP,
	       "a sysroot has no IOMMU to open");
	ok(io == NULL, "and no handle comes back");
	vfc_unref(ctx);

	ok(vfc_iommu_unref(NULL) == NULL, "unref(NULL) is a no-op");
}

/* The emulated VT-d of the test host: 4K/2M/1G, MSI window reserved. */
static const struct vfc_iova_range qemu_ranges[] = {
	{ 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffffULL },
};

static struct vfc_iommu_info qemu_info(void)
{
	struct vfc_iommu_info in = { .pgsizes = 0x40201000, .dma_avail = 65535 };

	in.ranges = (struct vfc_iova_range *)qemu_ranges;
	in.nranges = 2;
	return in;
}

static void test_align(void)
{
	is_u64(vfc_iova_align(0x40201000, 4096), 4096, "4K: 4K pages");
	is_u64(vfc_iova_align(0x40201000, 3 << 20), 2 << 20, "3M: the 2M pages fit, not 1G");
	is_u64(vfc_iova_align(0x40201000, 2ULL << 30), 1 << 30, "2G: 1G pages");
	is_u64(vfc_iova_align(0x40201000, 64ULL << 30), 1 << 30, "64G: still 1G, the largest");
	is_u64(vfc_iova_align(0x40201000, 512), 4096, "below every page size: the smallest");
	is_u64(vfc_iova_align(0, 1 << 30), 4096, "no page sizes reported: 4K");
	is_u64(vfc_iova_align(~0xfffULL, 1ULL << 21), 1ULL << 21, "every size from 4K: as large as size");
}

static void test_place(void)
{
	struct vfc_iommu_info in = qemu_info();
	struct vfc_mapping busy[3];
	uint64_t iova = 1;

	is_int(vfc_iova_place(&in, NULL, 0, 2ULL << 30, 0, &iova), 0, "2G fits");
	is_u64(iova, 0, "at 0, 1G-aligned");
	is_int(vfc_iova_place(&in, NULL, 0, 4ULL << 30, 0, &iova), 0, "4G fits");
	is_u64(iova, 0x100000000ULL, "above the MSI window, 1G-aligned (not at 0xfef00000)");
	is_int(vfc_iova_place(&in, NULL, 0, 1 << 20, 0xfee00000, &iova), 0, "1M from inside the window");
	is_u64(iova, 0xfef00000, "goes just past it (4K alignment)");
	is_int(vfc_iova_place(&in, NULL, 0, 2 << 20, 0xfee00000, &iova), 0, "2M from inside the window");
	is_u64(iova, 0xff000000, "2M-aligned past it");

	/* a BAR already mapped low, a RAM block above it */
	busy[0] = (struct vfc_mapping){ 0x0, 0x100000, NULL, VFC_MAP_RW };
	busy[1] = (struct vfc_mapping){ 0x200000, 0x200000, NULL, VFC_MAP_RW };
	busy[2] = (struct vfc_mapping){ 0x40000000, 0x40000000, NULL, VFC_MAP_RW };
	is_int(vfc_iova_place(&in, busy, 3, 0x100000, 0, &iova), 0, "1M among busy");
	is_u64(iova, 0x100000, "fills the hole between them");
	is_int(vfc_iova_place(&in, busy, 3, 0x200000, 0, &iova), 0, "2M among busy");
	is_u64(iova, 0x400000, "the first 2M-aligned hole after them");
	is_int(vfc_iova_place(&in, busy, 3, 1 << 30, 0, &iova), 0, "1G among busy");
	is_u64(iova, 0x80000000, "skips the mapping at 1G");
	is_int(vfc_iova_place(&in, busy, 3, 0x300000, 0, &iova), 0, "3M (2M-aligned)");
	is_u64(iova, 0x400000, "at 4M");

	/* nothing fits */
	is_int(vfc_iova_place(&in, NULL, 0, 1ULL << 40, 0, &iova), -ENOSPC, "1T does not fit in 512G");
	is_int(vfc_iova_place(&in, NULL, 0, 4096, 0x8000000000ULL, &iova), -ENOSPC,
	       "nothing above the last range");
	is_int(vfc_iova_place(&in, NULL, 0, 0, 0, &iova), -EINVAL, "size 0");
	busy[0] = (struct vfc_mapping){ 0xfef00000, 0x7fffffffffULL - 0xfef00000 + 1, NULL, VFC_MAP_RW };
	is_int(vfc_iova_place(&in, busy, 1, 1ULL << 32, 0, &iova), -ENOSPC,
	       "the upper range is full, the lower too small");

	/* a kernel that reports no ranges: the whole space, right up to the top */
	in.ranges = NULL;
	in.nranges = 0;
	is_int(vfc_iova_place(&in, NULL, 0, 4096, UINT64_MAX - 4095, &iova), 0, "the last page");
	is_u64(iova, UINT64_MAX - 4095, "at the very top");
	busy[0] = (struct vfc_mapping){ UINT64_MAX - 4095, 4096, NULL, VFC_MAP_RW };
	is_int(vfc_iova_place(&in, busy, 1, 4096, UINT64_MAX - 8191, &iova), 0, "below a top mapping");
	is_u64(iova, UINT64_MAX - 8191, "the page under it");
	is_int(vfc_iova_place(&in, busy, 1, 8192, UINT64_MAX - 8191, &iova), -ENOSPC,
	       "no wrap past the top");
}

static void test_ext_names(void)
{
	struct vfc_iommu_info in = { .extensions = (1ULL << VFC_EXT_TYPE1v2) | (1ULL << 11) };

	is_str(vfc_iommu_ext_name(VFC_EXT_TYPE1v2), "type1v2", "3 is type1v2");
	is_str(vfc_iommu_ext_name(VFC_EXT_UNMAP_ALL), "unmap_all", "9 is unmap_all");
	is_str(vfc_iommu_ext_name(11), "mmio_dont_pin", "11 is the MMIO don't-pin proposal");
	ok(vfc_iommu_ext_name(0) == NULL && vfc_iommu_ext_name(12) == NULL, "0 and 12 unknown");
	ok(vfc_iommu_has_ext(&in, 11) && vfc_iommu_has_ext(&in, VFC_EXT_TYPE1v2) &&
	   !vfc_iommu_has_ext(&in, VFC_EXT_TYPE1) && !vfc_iommu_has_ext(&in, 64),
	   "has_ext reads the bitmap");
}

int main(void)
{
	test_align();
	test_place();
	test_ext_names();
	test_info_real_shape();
	test_info_minimal();
	test_info_broken();
	test_maps();
	test_check_map();
	test_open();
	return tap_done();
}
