// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * raw-map GROUP SIZE BACKING CHUNK REPEAT POPULATE
 *
 * The baseline vfioctl map is measured against: the least a program can do
 * to pin memory for a device through VFIO type1. No libvfioctl, no checks
 * beyond what the kernel needs: open the container and the group, set the
 * IOMMU, then per repeat mmap the memory, optionally prefault it, time each
 * VFIO_IOMMU_MAP_DMA with CLOCK_MONOTONIC around the ioctl alone, unmap
 * (timed the same way) and munmap.
 *
 *   BACKING   anon (4K, THP off), thp (2M-aligned, MADV_HUGEPAGE) or
 *             hugetlb (MAP_HUGETLB, the default pool)
 *   CHUNK     bytes per MAP_DMA call (0: one call for everything)
 *   POPULATE  0: leave faulting to the pin; 1: MADV_POPULATE_WRITE first
 *
 * Prints one line per repeat: "repeat N map_ms X unmap_ms Y" (the sums over
 * the chunks), then "median map_ms X unmap_ms Y". Exit 0, or 1 with a
 * message on stderr.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "raw-util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define THP (2UL << 20)
#define IOVA_BASE 0x100000000ULL /* above the 4G hole: room for any size here */
#define MAX_REPEAT 1000

static int die(const char *what)
{
	return die_as("raw-map", what);
}

static int open_container(const char *group, int *container)
{
	char path[64];
	int g;

	*container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (*container < 0)
		return die("/dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	g = open(path, O_RDWR | O_CLOEXEC);
	if (g < 0)
		return die(path);
	if (ioctl(g, VFIO_GROUP_SET_CONTAINER, container) < 0)
		return die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(*container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return die("VFIO_SET_IOMMU");
	return 0; /* the group fd stays open until exit: it holds the container */
}

/* Memory as vfioctl's backings make it, so both pin the same kind of pages. */
static char *alloc(const char *backing, size_t size, void **base, size_t *len)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	char *p;

	*len = size;
	if (!strcmp(backing, "hugetlb"))
		flags |= MAP_HUGETLB;
	else if (!strcmp(backing, "thp"))
		*len += THP;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*base = p;
	if (!strcmp(backing, "thp")) {
		p = (char *)(((uintptr_t)p + THP - 1) & ~(uintptr_t)(THP - 1));
		madvise(p, size, MADV_HUGEPAGE);
	} else if (!strcmp(backing, "anon")) {
		madvise(p, size, MADV_NOHUGEPAGE);
	}
	return p;
}

static int one_repeat(int container, const char *backing, size_t size, size_t chunk,
		      int populate, double *map_ms, double *unmap_ms)
{
	void *base;
	size_t len, off;
	char *mem = alloc(backing, size, &base, &len);

	if (!mem)
		return die("mmap");
	if (populate && madvise(mem, size, MADV_POPULATE_WRITE) < 0)
		return die("MADV_POPULATE_WRITE");
	*map_ms = *unmap_ms = 0;
	for (off = 0; off < size; off += chunk) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)(mem + off),
			.iova = IOVA_BASE + off,
			.size = size - off < chunk ? size - off : chunk,
		};
		double t = now_ms();
		int r = ioctl(container, VFIO_IOMMU_MAP_DMA, &m);

		*map_ms += now_ms() - t;
		if (r < 0)
			return die("VFIO_IOMMU_MAP_DMA");
	}
	for (off = 0; off < size; off += chunk) {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u),
			.iova = IOVA_BASE + off,
			.size = size - off < chunk ? size - off : chunk,
		};
		double t = now_ms();
		int r = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u);

		*unmap_ms += now_ms() - t;
		if (r < 0)
			return die("VFIO_IOMMU_UNMAP_DMA");
	}
	munmap(base, len);
	return 0;
}

int main(int argc, char **argv)
{
	static double maps[MAX_REPEAT], unmaps[MAX_REPEAT];
	size_t size, chunk;
	int container, repeat, populate;

	if (argc != 7) {
		fprintf(stderr, "usage: raw-map GROUP SIZE BACKING CHUNK REPEAT POPULATE\n");
		return 2;
	}
	size = strtoull(argv[2], NULL, 0);
	chunk = strtoull(argv[4], NULL, 0);
	repeat = atoi(argv[5]);
	populate = atoi(argv[6]);
	if (!size || repeat < 1 || repeat > MAX_REPEAT) {
		fprintf(stderr, "raw-map: SIZE > 0, REPEAT 1-%d\n", MAX_REPEAT);
		return 2;
	}
	if (!chunk || chunk > size)
		chunk = size;
	if (open_container(argv[1], &container))
		return 1;
	for (int r = 0; r < repeat; r++) {
		if (one_repeat(container, argv[3], size, chunk, populate, &maps[r], &unmaps[r]))
			return 1;
		printf("repeat %d map_ms %.3f unmap_ms %.3f\n", r, maps[r], unmaps[r]);
	}
	printf("median map_ms %.3f unmap_ms %.3f\n", median(maps, repeat),
	       median(unmaps, repeat));
	return 0;
}
