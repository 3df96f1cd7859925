// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * raw-ioas-map BDF SIZE BACKING REPEAT POPULATE HUGE_PAGES
 *
 * raw-map's counterpart on iommufd: the least a program can do to pin memory
 * for a device through an IOAS. No libvfioctl, no checks beyond what the
 * kernel needs: open /dev/iommu, allocate an IOAS, open the device's VFIO
 * cdev (found under /sys/bus/pci/devices/BDF/vfio-dev/), bind it to the
 * iommufd and attach it to the IOAS; then per repeat allocate the memory,
 * optionally prefault it, time each IOMMU_IOAS_MAP (or _MAP_FILE) with
 * CLOCK_MONOTONIC around the ioctl alone, the IOMMU_IOAS_UNMAP the same way,
 * and free the memory.
 *
 *   BACKING     anon (4K, THP off), thp (2M-aligned, MADV_HUGEPAGE) and
 *               hugetlb (MAP_HUGETLB, the default pool): IOMMU_IOAS_MAP of
 *               the address; memfd and memfd:hugetlb: IOMMU_IOAS_MAP_FILE
 *               of the descriptor (6.13), which pins the file's pages
 *               without walking the page tables
 *   POPULATE    0: leave faulting to the pin; 1: MADV_POPULATE_WRITE first
 *               (through the memfd's shared mapping for the memfd backings)
 *   HUGE_PAGES  1: the kernel's default; 0: IOMMU_OPTION_HUGE_PAGES=0 on the
 *               IOAS first (4K IOMMU pages only)
 *
 * The device must be bound to vfio-pci and its cdev free. Prints one line per
 * repeat, "repeat N map_ms X unmap_ms Y", then "median map_ms X unmap_ms Y".
 * Exit 0, or 1 with a message on stderr.
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/memfd.h>

/* The system's linux/iommufd.h is too old or missing (bookworm's 6.1 has
 * none): take the kernel's layouts from the project's own copy. */
#include "uapi-iommufd.h"

#include "raw-util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define THP (2UL << 20)
#define IOVA_BASE 0x100000000ULL /* above the 4G hole, as raw-map */
#define MAX_REPEAT 1000

struct ioas {
	int iommufd;
	uint32_t id;
	int cdev; /* kept open: closing it detaches the device */
};

struct mem {
	char *addr;   /* what is mapped (2M-aligned for thp) */
	void *base;   /* what mmap returned */
	size_t len;
	int fd;       /* the memfd, or -1 */
};

static int die(const char *what)
{
	return die_as("raw-ioas-map", what);
}

/* /dev/vfio/devices/vfioN of BDF: its one entry under vfio-dev/ names it. */
static int find_cdev(const char *bdf, char *path, size_t size)
{
	char dir[128];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (!d)
		return die(dir);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4))
			break;
	if (!e) {
		closedir(d);
		errno = ENOENT;
		return die(dir);
	}
	snprintf(path, size, "/dev/vfio/devices/%s", e->d_name);
	closedir(d);
	return 0;
}

static int open_ioas(const char *bdf, bool huge_pages, struct ioas *io)
{
	struct vfc_k_ioas_alloc a = { .size = sizeof(a) };
	struct vfc_k_bind_iommufd b = { .argsz = sizeof(b) };
	struct vfc_k_attach_pt at = { .argsz = sizeof(at) };
	char cdev[sizeof("/dev/vfio/devices/") + 256];

	io->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (io->iommufd < 0)
		return die("/dev/iommu");
	if (ioctl(io->iommufd, VFC_IOMMU_IOAS_ALLOC, &a) < 0)
		return die("IOMMU_IOAS_ALLOC");
	io->id = a.out_ioas_id;
	if (find_cdev(bdf, cdev, sizeof(cdev)))
		return 1;
	io->cdev = open(cdev, O_RDWR | O_CLOEXEC);
	if (io->cdev < 0)
		return die(cdev);
	b.iommufd = io->iommufd;
	if (ioctl(io->cdev, VFC_VFIO_DEVICE_BIND_IOMMUFD, &b) < 0)
		return die("VFIO_DEVICE_BIND_IOMMUFD");
	at.pt_id = io->id;
	if (ioctl(io->cdev, VFC_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) < 0)
		return die("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	if (!huge_pages) {
		/* the kernel takes it only while nothing is mapped */
		struct vfc_k_option o = {
			.size = sizeof(o),
			.option_id = VFC_IOMMU_OPTION_HUGE_PAGES,
			.op = VFC_IOMMU_OPTION_OP_SET,
			.object_id = io->id,
			.val64 = 0,
		};

		if (ioctl(io->iommufd, VFC_IOMMU_OPTION, &o) < 0)
			return die("IOMMU_OPTION HUGE_PAGES=0");
	}
	return 0;
}

static bool is_memfd(const char *backing)
{
	return !strncmp(backing, "memfd", 5);
}

/* Memory as vfioctl's backings make it, so both pin the same kind of pages. */
static int alloc(const char *backing, size_t size, struct mem *m)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;

	m->fd = -1;
	m->len = size;
	if (is_memfd(backing)) {
		unsigned int mfd = MFD_CLOEXEC;

		if (!strcmp(backing, "memfd:hugetlb"))
			mfd |= MFD_HUGETLB;
		m->fd = memfd_create("raw-ioas-map", mfd);
		if (m->fd < 0)
			return die("memfd_create");
		if (ftruncate(m->fd, (off_t)size) < 0)
			return die("ftruncate");
		flags = MAP_SHARED;
	} else if (!strcmp(backing, "hugetlb")) {
		flags |= MAP_HUGETLB;
	} else if (!strcmp(backing, "thp")) {
		m->len += THP;
	}
	m->base = mmap(NULL, m->len, PROT_READ | PROT_WRITE, flags, m->fd, 0);
	if (m->base == MAP_FAILED)
		return die("mmap");
	m->addr = m->base;
	if (!strcmp(backing, "thp")) {
		m->addr = (char *)(((uintptr_t)m->base + THP - 1) & ~(uintptr_t)(THP - 1));
		madvise(m->addr, size, MADV_HUGEPAGE);
	} else if (!strcmp(backing, "anon")) {
		madvise(m->addr, size, MADV_NOHUGEPAGE);
	}
	return 0;
}

static void release(struct mem *m)
{
	munmap(m->base, m->len);
	if (m->fd >= 0)
		close(m->fd);
}

static int map_one(const struct ioas *io, const struct mem *m, size_t size, double *ms)
{
	const uint32_t flags = VFC_IOAS_MAP_FIXED_IOVA | VFC_IOAS_MAP_READABLE |
			       VFC_IOAS_MAP_WRITEABLE;
	struct vfc_k_ioas_map_file f = {
		.size = sizeof(f),
		.flags = flags,
		.ioas_id = io->id,
		.fd = m->fd,
		.start = 0,
		.length = size,
		.iova = IOVA_BASE,
	};
	struct vfc_k_ioas_map a = {
		.size = sizeof(a),
		.flags = flags,
		.ioas_id = io->id,
		.user_va = (uintptr_t)m->addr,
		.length = size,
		.iova = IOVA_BASE,
	};
	bool by_file = m->fd >= 0;
	double t = now_ms();
	int r = by_file ? ioctl(io->iommufd, VFC_IOMMU_IOAS_MAP_FILE, &f) :
			  ioctl(io->iommufd, VFC_IOMMU_IOAS_MAP, &a);

	*ms = now_ms() - t;
	if (r < 0)
		return die(by_file ? "IOMMU_IOAS_MAP_FILE" : "IOMMU_IOAS_MAP");
	return 0;
}

static int one_repeat(const struct ioas *io, const char *backing, size_t size, int populate,
		      double *map_ms, double *unmap_ms)
{
	struct vfc_k_ioas_unmap u = {
		.size = sizeof(u),
		.ioas_id = io->id,
		.iova = IOVA_BASE,
		.length = size,
	};
	struct mem m;
	double t;
	int r;

	if (alloc(backing, size, &m))
		return 1;
	if (populate && madvise(m.addr, size, MADV_POPULATE_WRITE) < 0)
		return die("MADV_POPULATE_WRITE");
	if (map_one(io, &m, size, map_ms))
		return 1;
	t = now_ms();
	r = ioctl(io->iommufd, VFC_IOMMU_IOAS_UNMAP, &u);
	*unmap_ms = now_ms() - t;
	if (r < 0)
		return die("IOMMU_IOAS_UNMAP");
	if (u.length != size) {
		fprintf(stderr, "raw-ioas-map: unmapped %" PRIu64 " of %zu bytes\n",
			(uint64_t)u.length, size);
		return 1;
	}
	release(&m);
	return 0;
}

static bool known_backing(const char *b)
{
	static const char *const names[] = { "anon", "thp", "hugetlb", "memfd",
					     "memfd:hugetlb" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(b, names[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static double maps[MAX_REPEAT], unmaps[MAX_REPEAT];
	struct ioas io;
	size_t size;
	int repeat, populate, huge_pages;

	if (argc != 7) {
		fprintf(stderr, "usage: raw-ioas-map BDF SIZE BACKING REPEAT POPULATE HUGE_PAGES\n");
		return 2;
	}
	size = strtoull(argv[2], NULL, 0);
	repeat = atoi(argv[4]);
	populate = atoi(argv[5]);
	huge_pages = atoi(argv[6]);
	if (!size || size % THP || repeat < 1 || repeat > MAX_REPEAT ||
	    !known_backing(argv[3])) {
		fprintf(stderr, "raw-ioas-map: SIZE a multiple of 2M, REPEAT 1-%d, BACKING anon, "
			"thp, hugetlb, memfd or memfd:hugetlb\n", MAX_REPEAT);
		return 2;
	}
	if (open_ioas(argv[1], huge_pages != 0, &io))
		return 1;
	for (int r = 0; r < repeat; r++) {
		if (one_repeat(&io, argv[3], size, populate, &maps[r], &unmaps[r]))
			return 1;
		printf("repeat %d map_ms %.3f unmap_ms %.3f\n", r, maps[r], unmaps[r]);
	}
	printf("median map_ms %.3f unmap_ms %.3f\n", median(maps, repeat),
	       median(unmaps, repeat));
	return 0;
}
