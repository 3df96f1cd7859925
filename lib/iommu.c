// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * IOMMU backends, the generic half: choosing a backend, dispatching through
 * its ops table, and keeping the list of live mappings so that teardown can
 * unmap everything and nothing stays pinned behind the caller's back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "iommu-priv.h"

/* Indexed by enum vfc_backend; a NULL ops is a backend not written yet. */
static const struct {
	const char *name;
	const struct vfc_iommu_ops *ops;
} backends[] = {
	[VFC_BACKEND_AUTO] = { "auto", NULL },
	[VFC_BACKEND_TYPE1] = { "type1", &vfc_iommu_type1_ops },
	[VFC_BACKEND_IOMMUFD] = { "iommufd", &vfc_iommu_iommufd_ops },
};

VFC_EXPORT const char *vfc_backend_str(enum vfc_backend b)
{
	if ((size_t)b >= ARRAY_SIZE(backends))
		return "unknown";
	return backends[b].name;
}

VFC_EXPORT int vfc_backend_parse(const char *s, enum vfc_backend *out)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(backends); i++) {
		if (!strcmp(s, backends[i].name)) {
			*out = (enum vfc_backend)i;
			return 0;
		}
	}
	return -EINVAL;
}

static bool node_exists(struct vfc_ctx *ctx, const char *abs)
{
	vfc_path_t p;

	return !vfc_path_root(ctx, p, abs) && !access(p, F_OK);
}

/* Does every vfio-pci device of the group have its cdev? why says who has not. */
static int group_has_cdevs(struct vfc_ctx *ctx, unsigned int group, char *why, size_t len)
{
	char b[VFC_BDF_STRLEN];
	size_t vfio = 0;
	struct vfc_group g;
	vfc_path_t p;
	int r = vfc_group_read(ctx, group, &g);

	if (r)
		return r;
	for (size_t i = 0; i < g.ndevices && !r; i++) {
		const struct vfc_device *d = &g.devices[i];
		unsigned int n;

		if (!vfc_driver_is_vfio(d->driver))
			continue;
		vfio++;
		vfc_bdf_format(&d->bdf, b);
		if (vfc_device_cdev(ctx, &d->bdf, &n)) {
			snprintf(why, len, "%s has no VFIO cdev (a kernel without VFIO_DEVICE_CDEV)", b);
			r = 1;
		} else if (vfc_path_dev_vfio_cdev(ctx, p, n) || access(p, F_OK)) {
			snprintf(why, len, "%s: /dev/vfio/devices/vfio%u does not exist", b, n);
			r = 1;
		}
	}
	if (!r && !vfio) {
		snprintf(why, len, "IOMMU group %u has no device on vfio-pci", group);
		r = 1;
	}
	vfc_group_clear(&g);
	return r;
}

VFC_EXPORT int vfc_backend_choose(struct vfc_ctx *ctx, enum vfc_backend want,
				  const unsigned int *groups, size_t n,
				  enum vfc_backend *out, char *why, size_t len)
{
	char buf[256] = "";
	int r = 0;

	if (!why) {
		why = buf;
		len = sizeof(buf);
	}
	snprintf(why, len, "asked for");
	*out = want;
	if ((size_t)want >= ARRAY_SIZE(backends))
		return vfc_fail(ctx, EINVAL, NULL, "unknown IOMMU backend %d", (int)want);
	if (want != VFC_BACKEND_AUTO)
		return 0;
	*out = VFC_BACKEND_TYPE1;
	if (!node_exists(ctx, "/dev/iommu")) {
		snprintf(why, len, "no /dev/iommu (a kernel without CONFIG_IOMMUFD)");
		vfc_log(ctx, LOG_DEBUG, "backend auto: type1: %s", why);
		return 0;
	}
	for (size_t i = 0; i < n && !r; i++)
		r = group_has_cdevs(ctx, groups[i], why, len);
	if (r < 0)
		return r;
	if (r == 0) {
		*out = VFC_BACKEND_IOMMUFD;
		snprintf(why, len, "/dev/iommu and the devices' VFIO cdevs exist");
	}
	vfc_log(ctx, LOG_DEBUG, "backend auto: %s: %s", backends[*out].name, why);
	return 0;
}

VFC_EXPORT const char *vfc_iommu_ext_name(unsigned int ext)
{
	static const char *const names[] = {
		[VFC_EXT_TYPE1] = "type1",
		[VFC_EXT_SPAPR_TCE] = "spapr_tce",
		[VFC_EXT_TYPE1v2] = "type1v2",
		[VFC_EXT_DMA_CC] = "dma_cc",
		[VFC_EXT_EEH] = "eeh",
		[VFC_EXT_TYPE1_NESTING] = "type1_nesting",
		[VFC_EXT_SPAPR_TCE_v2] = "spapr_tce_v2",
		[VFC_EXT_NOIOMMU] = "noiommu",
		[VFC_EXT_UNMAP_ALL] = "unmap_all",
		[VFC_EXT_UPDATE_VADDR] = "update_vaddr",
		[VFC_EXT_MMIO_DONT_PIN] = "mmio_dont_pin",
	};

	return ext < ARRAY_SIZE(names) ? names[ext] : NULL;
}

uint64_t vfc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int vfc_iommu_timed_ioctl(struct vfc_iommu *io, int fd, unsigned long req, void *arg)
{
	uint64_t t0 = vfc_now_ns();
	int r = ioctl(fd, req, arg) ? errno : 0;

	io->last_ns = vfc_now_ns() - t0;
	return r;
}

static void info_init(struct vfc_iommu_info *info)
{
	memset(info, 0, sizeof(*info));
	info->dma_avail = -1;
	info->rlimit_mode = info->huge_pages = info->map_file = -1;
}

VFC_EXPORT void vfc_iommu_info_clear(struct vfc_iommu_info *info)
{
	free(info->ranges);
	free(info->devs);
	info_init(info);
}

/* ---- bookkeeping of live mappings (pure) ---- */

static uint64_t last_byte(uint64_t iova, uint64_t size)
{
	return iova + size - 1; /* callers have checked that this cannot wrap */
}

static bool overlaps(const struct vfc_mapping *m, uint64_t iova, uint64_t size)
{
	return iova <= last_byte(m->iova, m->size) &&
	       m->iova <= last_byte(iova, size);
}

ssize_t vfc_maps_find_overlap(const struct vfc_mapping *maps, size_t n,
			      uint64_t iova, uint64_t size)
{
	for (size_t i = 0; i < n; i++)
		if (overlaps(&maps[i], iova, size))
			return (ssize_t)i;
	return -1;
}

int vfc_maps_unmap_plan(const struct vfc_mapping *maps, size_t n,
			uint64_t iova, uint64_t size, size_t *count,
			uint64_t *bytes, size_t *split)
{
	*count = 0;
	*bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct vfc_mapping *m = &maps[i];

		if (!overlaps(m, iova, size))
			continue;
		if (m->iova < iova ||
		    last_byte(m->iova, m->size) > last_byte(iova, size)) {
			*split = i;
			return -EINVAL;
		}
		(*count)++;
		*bytes += m->size;
	}
	return 0;
}

int vfc_maps_insert(struct vfc_mapping **maps, size_t *n,
		    const struct vfc_mapping *m)
{
	size_t at = 0;
	int r = vfc_array_push((void **)maps, n, sizeof(*m), m);

	if (r)
		return r;
	while (at < *n - 1 && (*maps)[at].iova < m->iova)
		at++;
	memmove(&(*maps)[at + 1], &(*maps)[at], (*n - 1 - at) * sizeof(*m));
	(*maps)[at] = *m;
	return 0;
}

void vfc_maps_remove_range(struct vfc_mapping *maps, size_t *n, uint64_t iova,
			   uint64_t size)
{
	size_t keep = 0;

	for (size_t i = 0; i < *n; i++)
		if (!overlaps(&maps[i], iova, size))
			maps[keep++] = maps[i];
	*n = keep;
}

/* ---- why a map would be refused (pure) ---- */

static uint64_t min_pgsize(uint64_t pgsizes)
{
	return pgsizes ? pgsizes & -pgsizes : 4096;
}

/* The granule maps must keep to: type1's smallest page, iommufd's alignment. */
static uint64_t map_granule(const struct vfc_iommu_info *info)
{
	if (!info->pgsizes && info->iova_alignment && !(info->iova_alignment & (info->iova_alignment - 1)))
		return info->iova_alignment;
	return min_pgsize(info->pgsizes);
}

static bool in_ranges(const struct vfc_iommu_info *info, uint64_t first,
		      uint64_t last)
{
	if (!info->ranges)
		return true; /* an old kernel that does not report them */
	for (size_t i = 0; i < info->nranges; i++)
		if (first >= info->ranges[i].start && last <= info->ranges[i].end)
			return true;
	return false;
}

VFC_EXPORT int vfc_iommu_check_map(const struct vfc_iommu_info *info,
				   uint64_t vaddr, uint64_t iova, uint64_t size,
				   char *why, size_t len)
{
	uint64_t pg = map_granule(info);

	snprintf(why, len, "%s", "");
	if (size == 0)
		return snprintf(why, len, "size is 0"), -EINVAL;
	if (iova + size - 1 < iova || vaddr + size - 1 < vaddr)
		return snprintf(why, len, "the range wraps past the end of the address space"),
		       -EOVERFLOW;
	if ((iova | size | vaddr) & (pg - 1))
		return snprintf(why, len,
				"%s 0x%" PRIx64 " is not a multiple of the IOMMU page size 0x%" PRIx64,
				(iova & (pg - 1)) ? "IOVA" : (vaddr & (pg - 1)) ? "vaddr" : "size",
				(iova & (pg - 1)) ? iova : (vaddr & (pg - 1)) ? vaddr : size, pg),
		       -EINVAL;
	if (!in_ranges(info, iova, last_byte(iova, size)))
		return snprintf(why, len,
				"IOVA 0x%" PRIx64 "-0x%" PRIx64
				" is not inside one usable IOVA range (reserved regions such as the MSI window are excluded)",
				iova, last_byte(iova, size)), -EINVAL;
	return 0;
}

/* ---- where a new mapping can go (pure) ---- */

VFC_EXPORT uint64_t vfc_iova_align(uint64_t pgsizes, uint64_t size)
{
	uint64_t best = 0;

	for (int b = 0; b < 64; b++) {
		uint64_t pg = 1ULL << b;

		if ((pgsizes & pg) && pg <= size)
			best = pg;
	}
	return best ? best : min_pgsize(pgsizes);
}

/* Rounds v up to a multiple of align (a power of two); false on overflow. */
static bool align_up(uint64_t v, uint64_t align, uint64_t *out)
{
	if (v > UINT64_MAX - (align - 1))
		return false;
	*out = (v + align - 1) & ~(align - 1);
	return true;
}

/* Index of the first busy mapping that ends at or after addr. */
static size_t first_ending_after(const struct vfc_mapping *busy, size_t n,
				 uint64_t addr)
{
	size_t lo = 0, hi = n;

	/* sorted and disjoint: their last bytes are sorted too */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (last_byte(busy[mid].iova, busy[mid].size) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The lowest fit inside [first, last], or false. */
static bool place_in(const struct vfc_mapping *busy, size_t nbusy, uint64_t size,
		     uint64_t align, uint64_t first, uint64_t last, uint64_t *iova)
{
	uint64_t cand;

	if (!align_up(first, align, &cand))
		return false;
	while (cand <= last && last - cand >= size - 1) {
		size_t i = first_ending_after(busy, nbusy, cand);
		uint64_t end;

		if (i == nbusy || busy[i].iova > cand + size - 1) {
			*iova = cand;
			return true;
		}
		end = last_byte(busy[i].iova, busy[i].size);
		if (end == UINT64_MAX || !align_up(end + 1, align, &cand))
			return false;
	}
	return false;
}

VFC_EXPORT int vfc_iova_place(const struct vfc_iommu_info *info,
			      const struct vfc_mapping *busy, size_t nbusy,
			      uint64_t size, uint64_t from, uint64_t *iova)
{
	uint64_t align = vfc_iova_align(info->pgsizes, size);

	if (size == 0)
		return -EINVAL;
	if (!info->ranges) /* a kernel that does not say: all of it */
		return place_in(busy, nbusy, size, align, from, UINT64_MAX, iova) ? 0 : -ENOSPC;
	for (size_t i = 0; i < info->nranges; i++) {
		const struct vfc_iova_range *r = &info->ranges[i];

		if (r->end < from)
			continue;
		if (place_in(busy, nbusy, size, align, r->start > from ? r->start : from,
			     r->end, iova))
			return 0;
	}
	return -ENOSPC;
}

/* ---- the handle ---- */

VFC_EXPORT int vfc_iommu_open(struct vfc_ctx *ctx, enum vfc_backend backend,
			      struct vfc_iommu **out)
{
	const struct vfc_iommu_ops *ops;
	struct vfc_iommu *io;
	int r;

	*out = NULL;
	if (!vfc_is_live(ctx))
		return vfc_fail(ctx, EOPNOTSUPP, "drop --sysroot",
				"IOMMU backends work on the running system only, not on %s",
				vfc_sysroot(ctx));
	/* no groups to look at yet: the host alone decides (vfc_backend_choose
	 * is the better question when the groups are known) */
	if (backend == VFC_BACKEND_AUTO)
		backend = node_exists(ctx, "/dev/iommu") && node_exists(ctx, "/dev/vfio/devices") ?
			  VFC_BACKEND_IOMMUFD : VFC_BACKEND_TYPE1;
	if ((size_t)backend >= ARRAY_SIZE(backends))
		return vfc_fail(ctx, EINVAL, NULL, "unknown IOMMU backend %d", (int)backend);
	ops = backends[backend].ops;
	if (!ops || !ops->create)
		return vfc_fail(ctx, EOPNOTSUPP, "use the type1 backend",
				"the %s backend is not implemented yet", backends[backend].name);
	r = ops->create(ctx, &io);
	if (r)
		return r;
	io->ops = ops;
	io->ctx = vfc_ref(ctx);
	io->refcount = 1;
	*out = io;
	return 0;
}

VFC_EXPORT struct vfc_iommu *vfc_iommu_ref(struct vfc_iommu *io)
{
	if (io)
		io->refcount++;
	return io;
}

static void close_devices(struct vfc_iommu *io)
{
	/* Closed first: vfio-pci quiesces (resets) a device on its last close,
	 * so no DMA is in flight when the mappings go away. */
	while (io->ndevs)
		vfc_vdev_free(io->devs[--io->ndevs]);
	free(io->devs);
	io->devs = NULL;
}

VFC_EXPORT struct vfc_iommu *vfc_iommu_unref(struct vfc_iommu *io)
{
	struct vfc_ctx *ctx;

	if (!io || --io->refcount > 0)
		return NULL;
	ctx = io->ctx;
	close_devices(io);
	if (io->ops->release_devices)
		io->ops->release_devices(io);
	if (io->nmaps && vfc_iommu_unmap_all(io))
		vfc_log(ctx, LOG_ERR, "IOMMU teardown: %s", vfc_errmsg(ctx));
	free(io->maps);
	io->ops->destroy(io);
	vfc_unref(ctx);
	return NULL;
}

VFC_EXPORT struct vfc_ctx *vfc_iommu_ctx(const struct vfc_iommu *io)
{
	return io->ctx;
}

VFC_EXPORT const char *vfc_iommu_backend_name(const struct vfc_iommu *io)
{
	return io->ops->name;
}

static int unsupported(struct vfc_iommu *io, const char *what)
{
	return vfc_fail(io->ctx, EOPNOTSUPP, NULL, "the %s backend cannot %s",
			io->ops->name, what);
}

VFC_EXPORT int vfc_iommu_add_group(struct vfc_iommu *io, unsigned int group)
{
	if (!io->ops->add_group)
		return unsupported(io, "attach IOMMU groups");
	if (io->ops->has_group && io->ops->has_group(io, group))
		return 0;
	return io->ops->add_group(io, group);
}

VFC_EXPORT int vfc_iommu_info(struct vfc_iommu *io, struct vfc_iommu_info *out)
{
	info_init(out);
	if (!io->ops->info)
		return unsupported(io, "report its geometry");
	return io->ops->info(io, out);
}

VFC_EXPORT const struct vfc_mapping *vfc_iommu_mappings(const struct vfc_iommu *io,
							size_t *n)
{
	*n = io->nmaps;
	return io->maps;
}

VFC_EXPORT uint64_t vfc_iommu_last_ns(const struct vfc_iommu *io)
{
	return io->last_ns;
}

static int refuse_overlap(struct vfc_iommu *io, uint64_t iova, uint64_t size)
{
	ssize_t i = vfc_maps_find_overlap(io->maps, io->nmaps, iova, size);
	const struct vfc_mapping *m;

	if (i < 0)
		return 0;
	m = &io->maps[i];
	return vfc_fail(io->ctx, EEXIST, "unmap it first or pick another IOVA",
			"IOVA 0x%" PRIx64 "-0x%" PRIx64 " overlaps the mapping at 0x%" PRIx64
			"-0x%" PRIx64, iova, last_byte(iova, size), m->iova,
			last_byte(m->iova, m->size));
}

/* Records a mapping the backend has just made, or undoes it: untracked would
 * mean never unmapped. */
static int record_map(struct vfc_iommu *io, const struct vfc_mapping *m)
{
	uint64_t done;

	if (!vfc_maps_insert(&io->maps, &io->nmaps, m))
		return 0;
	io->ops->dma_unmap(io, m->iova, m->size, &done);
	return vfc_fail(io->ctx, ENOMEM, NULL, "recording a mapping");
}

VFC_EXPORT int vfc_iommu_map(struct vfc_iommu *io, void *vaddr, uint64_t iova,
			     uint64_t size, unsigned int flags)
{
	struct vfc_mapping m = { iova, size, vaddr, flags };
	int r;

	if (!io->ops->dma_map)
		return unsupported(io, "map DMA");
	io->last_ns = 0;
	if (!(flags & VFC_MAP_RW) || (flags & ~(VFC_MAP_RW | VFC_MAP_NO_PIN)))
		return vfc_fail(io->ctx, EINVAL, "use VFC_MAP_READ and/or VFC_MAP_WRITE",
				"invalid map flags 0x%x", flags);
	if (size == 0 || iova + size - 1 < iova)
		return vfc_fail(io->ctx, size ? EOVERFLOW : EINVAL, NULL,
				"IOVA 0x%" PRIx64 " size 0x%" PRIx64 " is not a valid range",
				iova, size);
	/* ours would only be refused by the kernel anyway; say which one it hits */
	r = refuse_overlap(io, iova, size);
	if (!r)
		r = io->ops->dma_map(io, vaddr, iova, size, flags);
	if (!r)
		r = record_map(io, &m);
	return r;
}

VFC_EXPORT int vfc_iommu_map_file(struct vfc_iommu *io, int fd, uint64_t offset,
				  uint64_t iova, uint64_t size, unsigned int flags)
{
	struct vfc_mapping m = { iova, size, NULL, flags };
	int r;

	io->last_ns = 0;
	if (!io->ops->dma_map_file)
		return vfc_fail(io->ctx, EOPNOTSUPP, "map the file's mmap instead",
				"the %s backend maps memory by address only", io->ops->name);
	if (!(flags & VFC_MAP_RW) || (flags & ~VFC_MAP_RW))
		return vfc_fail(io->ctx, EINVAL, "use VFC_MAP_READ and/or VFC_MAP_WRITE",
				"invalid map flags 0x%x", flags);
	if (fd < 0 || size == 0 || iova + size - 1 < iova || offset + size - 1 < offset)
		return vfc_fail(io->ctx, fd < 0 ? EBADF : size ? EOVERFLOW : EINVAL, NULL,
				"file offset 0x%" PRIx64 " IOVA 0x%" PRIx64 " size 0x%" PRIx64
				" is not a valid range", offset, iova, size);
	r = refuse_overlap(io, iova, size);
	if (!r)
		r = io->ops->dma_map_file(io, fd, offset, iova, size, flags);
	if (!r)
		r = record_map(io, &m);
	return r;
}

VFC_EXPORT int vfc_iommu_iopf_start(struct vfc_iommu *io, const struct vfc_bdf *bdf,
				    const struct vfc_iopf_cfg *region, struct vfc_iopf **out)
{
	struct vfc_iopf_cfg cfg = {
		.iommufd = -1,
		.cdev_fd = -1,
		.vaddr = region->vaddr,
		.iova = region->iova,
		.size = region->size,
		.page_size = region->page_size,
		.premap = region->premap,
		.map_flags = region->map_flags,
	};
	int r;

	*out = NULL;
	if (!io->ops->iopf_cfg)
		return vfc_fail(io->ctx, EOPNOTSUPP,
				"I/O page faults need the iommufd backend (fault queues, Linux 6.11+)",
				"the %s backend has no I/O page faults (VFIO_IOMMU_ENABLE_IOPF was "
				"proposed in 2021 and never merged)", io->ops->name);
	if (!region->size || region->iova + region->size - 1 < region->iova)
		return vfc_fail(io->ctx, region->size ? EOVERFLOW : EINVAL, NULL,
				"IOPF region at IOVA 0x%" PRIx64 " size 0x%" PRIx64
				" is not a valid range", region->iova, region->size);
	/* the faults map there: what is mapped already would make them fail */
	r = refuse_overlap(io, region->iova, region->size);
	if (!r)
		r = io->ops->iopf_cfg(io, bdf, &cfg);
	if (!r)
		r = vfc_iopf_start(io->ctx, &cfg, out);
	return r;
}

VFC_EXPORT int vfc_iommu_set_huge_pages(struct vfc_iommu *io, bool on)
{
	if (!io->ops->set_huge_pages)
		return vfc_fail(io->ctx, EOPNOTSUPP,
				"type1's equivalent is vfio_iommu_type1's disable_hugepages parameter",
				"the %s backend has no per-address-space huge page switch",
				io->ops->name);
	if (io->nmaps)
		return vfc_fail(io->ctx, EBUSY, "set it before mapping",
				"%zu mappings exist already", io->nmaps);
	return io->ops->set_huge_pages(io, on);
}

VFC_EXPORT int vfc_iommu_unmap(struct vfc_iommu *io, uint64_t iova,
			       uint64_t size)
{
	uint64_t bytes, done = 0;
	size_t count, split;
	int r;

	io->last_ns = 0;
	if (!io->ops->dma_unmap)
		return unsupported(io, "unmap DMA");
	if (size == 0 || iova + size - 1 < iova)
		return vfc_fail(io->ctx, EINVAL, NULL,
				"IOVA 0x%" PRIx64 " size 0x%" PRIx64 " is not a valid range",
				iova, size);
	if (vfc_maps_unmap_plan(io->maps, io->nmaps, iova, size, &count, &bytes,
				&split))
		return vfc_fail(io->ctx, EINVAL, "unmap whole mappings",
				"IOVA 0x%" PRIx64 "-0x%" PRIx64 " cuts the mapping at 0x%" PRIx64
				"-0x%" PRIx64 " in two", iova, last_byte(iova, size),
				io->maps[split].iova,
				last_byte(io->maps[split].iova, io->maps[split].size));
	if (count == 0)
		return vfc_fail(io->ctx, ENOENT, NULL,
				"nothing is mapped at IOVA 0x%" PRIx64 "-0x%" PRIx64, iova,
				last_byte(iova, size));
	r = io->ops->dma_unmap(io, iova, size, &done);
	if (r)
		return r;
	vfc_maps_remove_range(io->maps, &io->nmaps, iova, size);
	if (done != bytes)
		vfc_log(io->ctx, LOG_WARNING,
			"unmap of IOVA 0x%" PRIx64 ": the kernel unmapped 0x%" PRIx64
			" bytes, the library had 0x%" PRIx64 " mapped there",
			iova, done, bytes);
	return 0;
}

/* After unmapping all we know of, the kernel's free-entry count must be back. */
static int check_nothing_left(struct vfc_iommu *io, int64_t avail_before,
			      size_t unmapped)
{
	struct vfc_iommu_info info;
	int64_t expect, after;

	if (avail_before < 0 || vfc_iommu_info(io, &info))
		return 0; /* the kernel does not count: nothing to compare */
	after = info.dma_avail;
	vfc_iommu_info_clear(&info);
	expect = avail_before + (int64_t)unmapped;
	if (after >= 0 && after < expect)
		return vfc_fail(io->ctx, EIO, NULL,
				"%" PRId64 " DMA mappings the library did not make are still in place",
				expect - after);
	return 0;
}

VFC_EXPORT int vfc_iommu_unmap_all(struct vfc_iommu *io)
{
	struct vfc_iommu_info info;
	size_t failed = 0, before = io->nmaps;
	int64_t avail = -1;
	int first = 0;

	if (!vfc_iommu_info(io, &info)) {
		avail = info.dma_avail;
		vfc_iommu_info_clear(&info);
	}
	/* One at a time from the top, so one failure does not strand the rest;
	 * what still fails is dropped by the kernel when the container closes. */
	while (io->nmaps > failed) {
		struct vfc_mapping m = io->maps[io->nmaps - 1 - failed];
		int r = vfc_iommu_unmap(io, m.iova, m.size);

		if (r) {
			vfc_log(io->ctx, LOG_ERR, "unmapping IOVA 0x%" PRIx64 ": %s",
				m.iova, vfc_errmsg(io->ctx));
			if (!first)
				first = r;
			failed++;
		}
	}
	if (first)
		return vfc_fail(io->ctx, first, NULL,
				"%zu DMA mappings could not be unmapped", failed);
	return check_nothing_left(io, avail, before);
}
