// SPDX-License-Identifier: GPL-2.0-or-later
/* Backing specs, the smaps parser, and real allocations of each backing. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "vfioctl.h"

#define MiB (1ULL << 20)

static void test_parse(void)
{
	static const char *const good[] = { "anon", "thp", "hugetlb", "hugetlb:2M",
		"hugetlb:1G", "memfd", "memfd:hugetlb", "memfd:hugetlb:2M", "file:/tmp/x" };
	static const char *const bad[] = { "", "ANON", "thp:2M", "hugetlb:3M", "hugetlb:4K",
		"hugetlb:", "memfd:", "memfd:hugetlb:x", "file:", "mem", "anonx" };
	struct vfc_backing b;
	char buf[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int r = vfc_backing_parse(good[i], &b);

		ok(r == 0, "backing '%s' parses", good[i]);
		is_str(vfc_backing_format(&b, buf, sizeof(buf)), good[i], "and formats back");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(vfc_backing_parse(bad[i], &b) < 0, "backing '%s' is refused", bad[i]);
	vfc_backing_parse("hugetlb:1G", &b);
	is_u64(b.huge_size, 1ULL << 30, "1G page size");
}

static void test_smaps(void)
{
	static const char text[] =
		"7f0000000000-7f0000200000 rw-p 00000000 00:00 0 \n"
		"Size:               2048 kB\nKernelPageSize:        4 kB\nRss:                2048 kB\n"
		"AnonHugePages:      2048 kB\nShmemPmdMapped:        0 kB\n"
		"VmFlags: rd wr mr mw me ac sd hg \n"
		"7f0000200000-7f0000400000 rw-p 00000000 00:00 0 \n"
		"Size:               2048 kB\nKernelPageSize:        4 kB\nRss:                 512 kB\n"
		"AnonHugePages:         0 kB\n"
		"7f4000000000-7f4040000000 rw-s 00000000 00:0f 1234 /anon_hugepage (deleted)\n"
		"Size:            1048576 kB\nKernelPageSize:  1048576 kB\nRss:                   0 kB\n"
		"Shared_Hugetlb:  1048576 kB\nPrivate_Hugetlb:       0 kB\n";
	struct vfc_mem_pages pg;

	ok(vfc_smaps_parse(text, 0x7f0000000000, 0x7f0000400000, &pg) == 0, "two VMAs of one range");
	is_u64(pg.rss, 2560 * 1024, "Rss summed over both VMAs");
	is_u64(pg.huge, 2 * MiB, "AnonHugePages counted");
	is_u64(pg.kernel_page, 4096, "page size of the first VMA");
	ok(vfc_smaps_parse(text, 0x7f4000000000, 0x7f4040000000, &pg) == 0, "a hugetlb VMA");
	is_u64(pg.huge, 1ULL << 30, "hugetlb pages are huge");
	is_u64(pg.rss, 1ULL << 30, "and resident although Rss says 0");
	is_u64(pg.kernel_page, 1ULL << 30, "1G kernel pages");
	is_int(vfc_smaps_parse(text, 0x1000, 0x2000, &pg), -ENOENT, "no VMA in the range");
	ok(vfc_smaps_parse(text, 0x7f0000100000, 0x7f0000180000, &pg) == 0 && pg.rss == 2 * MiB,
	   "a range inside a merged VMA gets the whole VMA's record");
}

static void try_backing(struct vfc_ctx *ctx, const char *spec, uint64_t size, bool optional)
{
	struct vfc_mem_pages pg;
	struct vfc_backing b;
	struct vfc_mem *m;
	int r;

	vfc_backing_parse(spec, &b);
	r = vfc_mem_alloc(ctx, &b, size, &m);
	if (r && optional) {
		printf("# %s not available here: %s\n", spec, vfc_errmsg(ctx));
		ok(r == -ENOMEM || r == -EINVAL || r == -ENOSYS,
		   "%s refused with a clear errno (%d)", spec, r);
		return;
	}
	if (!ok(r == 0, "%s: %llu MiB allocated", spec, (unsigned long long)(size / MiB))) {
		printf("#   %s\n", vfc_errmsg(ctx));
		return;
	}
	ok(((uintptr_t)vfc_mem_addr(m) % vfc_mem_page_size(m)) == 0, "%s: page-aligned", spec);
	ok(vfc_mem_populate(ctx, m, 2) == 0, "%s: populated by 2 threads", spec);
	r = vfc_mem_pages(ctx, m, &pg);
	ok(r == 0 && pg.rss == size, "%s: all %llu MiB resident (rss %llu)", spec,
	   (unsigned long long)(size / MiB), (unsigned long long)pg.rss);
	if (b.kind == VFC_MEM_ANON)
		is_u64(pg.huge, 0, "anon: no huge pages (the 4K baseline)");
	vfc_mem_free(m);
}

int main(void)
{
	struct vfc_ctx *ctx;
	struct vfc_backing b;
	struct vfc_mem *m;
	char path[] = "/tmp/vfioctl-test-XXXXXX";
	int fd;

	test_parse();
	test_smaps();
	if (vfc_new(NULL, &ctx))
		return 1;
	try_backing(ctx, "anon", 8 * MiB, false);
	try_backing(ctx, "thp", 8 * MiB, false);
	try_backing(ctx, "memfd", 8 * MiB, false);
	try_backing(ctx, "hugetlb", 4 * MiB, true);
	try_backing(ctx, "memfd:hugetlb", 4 * MiB, true);

	fd = mkstemp(path);
	ok(fd >= 0 && ftruncate(fd, 4 * MiB) == 0, "a 4 MiB file");
	vfc_backing_parse("file:/tmp/none", &b);
	snprintf(b.path, sizeof(b.path), "%s", path);
	try_backing(ctx, "file:/tmp/none", 0 + 0, true); /* size 0 is refused */
	ok(vfc_mem_alloc(ctx, &b, 8 * MiB, &m) == -EINVAL, "a file smaller than the size is refused");
	ok(vfc_mem_alloc(ctx, &b, 4 * MiB, &m) == 0, "the file maps");
	if (m) {
		((char *)vfc_mem_addr(m))[0] = 'x';
		ok(vfc_mem_populate(ctx, m, 1) == 0 && ((char *)vfc_mem_addr(m))[0] == 'x',
		   "populating keeps the file's contents");
		vfc_mem_free(m);
	}
	close(fd);
	unlink(path);
	vfc_backing_parse("anon", &b);
	is_int(vfc_mem_alloc(ctx, &b, 4096 + 1, &m), -EINVAL, "a size that is not whole pages");
	vfc_unref(ctx);
	return tap_done();
}
