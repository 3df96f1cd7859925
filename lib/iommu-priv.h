/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the IOMMU backend layer (iommu.c, iommu-type1.c, iommu-iommufd.c,
 * iommu-device.c) and its unit tests. A backend embeds struct vfc_iommu as its first member
 * and gets back to its own struct with container_of, as libvfn does; the
 * generic layer only ever calls through the ops table, so iommufd sits
 * beside type1 without the callers knowing which one runs.
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
	/* vfc_iommu_map_file(): a memfd or dma-buf by descriptor and offset */
	int (*dma_map_file)(struct vfc_iommu *io, int fd, uint64_t offset,
			    uint64_t iova, uint64_t size, unsigned int flags);
	int (*set_huge_pages)(struct vfc_iommu *io, bool on);
	/*
	 * Optional, called by the last unref once the caller's device handles
	 * are closed and before anything is unmapped: a backend that holds the
	 * devices' own descriptors (iommufd's bound cdevs) lets them go here, so
	 * that vfio-pci quiesces the devices before their mappings disappear.
	 */
	void (*release_devices)(struct vfc_iommu *io);
	/*
	 * vfc_iommu_iopf_start(): fills cfg's iommufd objects (the iommufd, the
	 * IOAS, the device's id and cdev, where teardown attaches it back) for
	 * the device bdf of this IOMMU handle. NULL: no I/O page faults.
	 */
	int (*iopf_cfg)(struct vfc_iommu *io, const struct vfc_bdf *bdf,
			struct vfc_iopf_cfg *cfg);
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
/* A map or unmap ioctl, timed alone into io->last_ns: 0, or its errno. */
int vfc_iommu_timed_ioctl(struct vfc_iommu *io, int fd, unsigned long req, void *arg);

extern const struct vfc_iommu_ops vfc_iommu_type1_ops;
extern const struct vfc_iommu_ops vfc_iommu_iommufd_ops;

/* iommu-device.c: closes a device without touching io->devs. */
void vfc_vdev_free(struct vfc_vdev *dev);

/* iommu-device.c: VFIO_DEVICE_FEATURE PROBE of the BAR dma-buf feature on a
 * device fd: 1 supported, 0 not (ENOTTY), else -errno. */
int vfc_dma_buf_probe_fd(int fd);

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

/* ---- iommufd (iommu-iommufd.c), pure parts ---- */

struct vfc_k_ioas_map;
struct vfc_k_ioas_map_file;
struct vfc_k_iova_range;

/* The IOAS_MAP / IOAS_MAP_FILE arguments for a fixed-IOVA mapping with
 * VFC_MAP_READ/WRITE flags. */
void vfc_ifd_map_cmd(struct vfc_k_ioas_map *m, uint32_t ioas, const void *vaddr,
		     uint64_t iova, uint64_t size, unsigned int flags);
void vfc_ifd_map_file_cmd(struct vfc_k_ioas_map_file *m, uint32_t ioas, int fd,
			  uint64_t offset, uint64_t iova, uint64_t size,
			  unsigned int flags);
/* IOAS_IOVA_RANGES' answer into out->ranges and out->iova_alignment;
 * -EINVAL for a range that ends before it starts. */
int vfc_ifd_ranges_parse(const struct vfc_k_iova_range *r, uint32_t n,
			 uint64_t alignment, struct vfc_iommu_info *out);
/* The VFIO_DEVICE_FEATURE argument asking for one range of a BAR as a
 * dma-buf: written to buf (len bytes of room), its size returned, 0 when
 * it does not fit. */
size_t vfc_dma_buf_cmd(void *buf, size_t len, unsigned int index,
		       uint64_t offset, uint64_t length);

/* What a failed IOAS_MAP (or MAP_FILE) is explained with. */
struct vfc_ifd_fail {
	int err;              /* errno of the ioctl */
	bool file;            /* IOAS_MAP_FILE rather than IOAS_MAP */
	uint64_t iova, size;
	const void *vaddr;    /* IOAS_MAP */
	const struct vfc_iommu_info *info; /* for EINVAL; may be NULL */
	uint64_t rlimit;      /* RLIMIT_MEMLOCK soft, RLIM_INFINITY as UINT64_MAX */
	uid_t uid;
	int rlimit_mode;      /* 0 per-user, 1 per-process, -1 unknown */
};
/* Records the decoded failure in ctx; returns -err. */
int vfc_ifd_map_error(struct vfc_ctx *ctx, const struct vfc_ifd_fail *f);
/* Opening a device's cdev, or binding it: `holders` names who has it open
 * ("" when nobody or unknown). Records the failure; returns -err. */
int vfc_ifd_cdev_error(struct vfc_ctx *ctx, int err, const char *bdf,
		       const char *node, const char *holders);
int vfc_ifd_bind_error(struct vfc_ctx *ctx, int err, const char *bdf,
		       unsigned int group, const char *holders);
/* Opening /dev/iommu. */
int vfc_ifd_open_error(struct vfc_ctx *ctx, int err, const char *node);

#endif
