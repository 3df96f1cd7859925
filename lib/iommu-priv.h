/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the IOMMU backend layer (iommu.c, iommu-type1.c, iommu-device.c)
 * and its unit tests. A backend embeds struct vfc_iommu as its first member
 * and gets back to its own struct with container_of, as libvfn does; the
 * generic layer only ever calls through the ops table, so iommufd can slot
 * in beside type1 without touching the callers.
 */
#ifndef VFIOCTL_IOMMU_PRIV_H
#define VFIOCTL_IOMMU_PRIV_H

#include <stddef.h>

#include "internal.h"

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

struct vfc_iommu;

/* A NULL op means the backend cannot do it: the caller gets -EOPNOTSUPP. */
struct vfc_iommu_ops {
	const char *name;
	/* Allocates the backend's struct and opens its kernel object. */
	int (*create)(struct vfc_ctx *ctx, struct vfc_iommu **out);
	/* Closes what create and add_group opened; mappings are already gone. */
	void (*destroy)(struct vfc_iommu *io);
	int (*add_group)(struct vfc_iommu *io, unsigned int group);
	bool (*has_group)(struct vfc_iommu *io, unsigned int group);
	int (*info)(struct vfc_iommu *io, struct vfc_iommu_info *out);
	int (*dma_map)(struct vfc_iommu *io, void *vaddr, uint64_t iova,
		       uint64_t size, unsigned int flags);
	/* *unmapped: bytes the kernel says it unmapped. */
	int (*dma_unmap)(struct vfc_iommu *io, uint64_t iova, uint64_t size,
			 uint64_t *unmapped);
	int (*get_device_fd)(struct vfc_iommu *io, const struct vfc_bdf *bdf,
			     unsigned int group, int *fd);
};

struct vfc_iommu {
	const struct vfc_iommu_ops *ops;
	struct vfc_ctx *ctx;
	int refcount;
	/* Every live mapping, sorted by IOVA: what teardown must undo. */
	struct vfc_mapping *maps;
	size_t nmaps;
	struct vfc_vdev **devs;
	size_t ndevs;
	/* the last map/unmap ioctl alone, timed by the backend around the call */
	uint64_t last_ns;
};

/* CLOCK_MONOTONIC in nanoseconds, for the backends' ioctl timing. */
uint64_t vfc_now_ns(void);

extern const struct vfc_iommu_ops vfc_iommu_type1_ops;

/* iommu-device.c: closes a device without touching io->devs. */
void vfc_vdev_free(struct vfc_vdev *dev);

/* ---- pure helpers (unit-tested) ---- */

/*
 * Parses a VFIO_IOMMU_GET_INFO answer (struct vfio_iommu_type1_info followed
 * by its capability chain) from a byte buffer of len bytes. Fills pgsizes,
 * ranges and dma_avail; -EINVAL when the chain points outside the buffer,
 * backwards, or at a truncated capability.
 */
int vfc_type1_info_parse(const void *buf, size_t len,
			 struct vfc_iommu_info *out);

/* Index of the first mapping that overlaps [iova, iova+size), or -1. */
ssize_t vfc_maps_find_overlap(const struct vfc_mapping *maps, size_t n,
			      uint64_t iova, uint64_t size);

/*
 * How many mappings (and bytes) an unmap of [iova, iova+size) removes;
 * -EINVAL (with *split the index of the culprit) when the range cuts a
 * mapping in two, which type1v2 refuses and which would make the
 * bookkeeping lie.
 */
int vfc_maps_unmap_plan(const struct vfc_mapping *maps, size_t n,
			uint64_t iova, uint64_t size, size_t *count,
			uint64_t *bytes, size_t *split);

/* Inserts keeping IOVA order; removes the mappings inside a range. */
int vfc_maps_insert(struct vfc_mapping **maps, size_t *n,
		    const struct vfc_mapping *m);
void vfc_maps_remove_range(struct vfc_mapping *maps, size_t *n, uint64_t iova,
			   uint64_t size);

#endif
