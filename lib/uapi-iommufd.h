/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel interfaces of the iommufd backend, carried here because the
 * build machine's headers (linux-libc-dev 6.1) predate them: /dev/iommu
 * (6.2), the VFIO device cdev (6.6), IOMMU_IOAS_MAP_FILE (6.13) and
 * VFIO_DEVICE_FEATURE_DMA_BUF (6.19). Written from design/kernel-facts.md and
 * the kernel's include/uapi/linux/{iommufd,vfio}.h; where a running kernel
 * disagrees, the kernel wins.
 *
 * The structs carry vfioctl's own names, so newer system headers that define
 * the kernel's can never collide with them; the sizes are checked below
 * against the layouts the kernel reads. Only the first, fixed part of each
 * struct is used: the kernel takes a shorter size as "no extensions".
 */
#ifndef VFIOCTL_UAPI_IOMMUFD_H
#define VFIOCTL_UAPI_IOMMUFD_H

#include <stdint.h>
#include <sys/ioctl.h>

#include <linux/vfio.h>

/* ---- /dev/iommu ---------------------------------------------------------- */

#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif

/* Command numbers: _IO(';', 0x80 + n). */
enum {
	VFC_IOMMUFD_CMD_DESTROY = 0x80,
	VFC_IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	VFC_IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	VFC_IOMMUFD_CMD_IOAS_MAP = 0x85,
	VFC_IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	VFC_IOMMUFD_CMD_OPTION = 0x87,
	VFC_IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f, /* 6.13 */
};

#define VFC_IOMMU_DESTROY          _IO(IOMMUFD_TYPE, VFC_IOMMUFD_CMD_DESTROY)
#define VFC_IOMMU_IOAS_ALLOC       _IO(IOMMUFD_TYPE, VFC_IOMMUFD_CMD_IOAS_ALLOC)
#define VFC_IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, VFC_IOMMUFD_CMD_IOAS_IOVA_RANGES)
#define VFC_IOMMU_IOAS_MAP         _IO(IOMMUFD_TYPE, VFC_IOMMUFD_CMD_IOAS_MAP)
#define VFC_IOMMU_IOAS_UNMAP       _IO(IOMMUFD_TYPE, VFC_IOMMUFD_CMD_IOAS_UNMAP)
#define VFC_IOMMU_OPTION           _IO(IOMMUFD_TYPE, VFC_IOMMUFD_CMD_OPTION)
#define VFC_IOMMU_IOAS_MAP_FILE    _IO(IOMMUFD_TYPE, VFC_IOMMUFD_CMD_IOAS_MAP_FILE)

/* Map flags (IOAS_MAP and IOAS_MAP_FILE). */
#define VFC_IOAS_MAP_FIXED_IOVA (1u << 0)
#define VFC_IOAS_MAP_WRITEABLE  (1u << 1)
#define VFC_IOAS_MAP_READABLE   (1u << 2)

/* IOMMU_OPTION: which option, and get or set. */
#define VFC_IOMMU_OPTION_RLIMIT_MODE 0 /* 0 per-user, 1 per-process; object 0 */
#define VFC_IOMMU_OPTION_HUGE_PAGES  1 /* per IOAS: 1 (default) may combine pages */
#define VFC_IOMMU_OPTION_OP_SET 0
#define VFC_IOMMU_OPTION_OP_GET 1

struct vfc_k_destroy {
	uint32_t size;
	uint32_t id;
};

struct vfc_k_ioas_alloc {
	uint32_t size;
	uint32_t flags;       /* 0 */
	uint32_t out_ioas_id;
};

struct vfc_k_iova_range {
	uint64_t start;
	uint64_t last;        /* inclusive */
};

struct vfc_k_ioas_iova_ranges {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;   /* in: room in the array; out: how many there are */
	uint32_t reserved;
	uint64_t allowed_iovas; /* user pointer to struct vfc_k_iova_range[] */
	uint64_t out_iova_alignment;
};

struct vfc_k_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova;
};

struct vfc_k_ioas_map_file {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	int32_t fd;           /* a memfd (6.13), or a dma-buf (6.19) */
	uint64_t start;       /* offset in the file */
	uint64_t length;
	uint64_t iova;
};

struct vfc_k_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;      /* in: bytes; out: bytes unmapped */
};

struct vfc_k_option {
	uint32_t size;
	uint32_t option_id;
	uint16_t op;
	uint16_t reserved;
	uint32_t object_id;
	uint64_t val64;
};

/* ---- the VFIO device cdev (/dev/vfio/devices/vfioN) ------------------------ */

#define VFC_VFIO_DEVICE_BIND_IOMMUFD      _IO(VFIO_TYPE, VFIO_BASE + 18)
#define VFC_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#define VFC_VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)

struct vfc_k_bind_iommufd {
	uint32_t argsz;
	uint32_t flags;       /* 0 */
	int32_t iommufd;
	uint32_t out_devid;
};

struct vfc_k_attach_pt {
	uint32_t argsz;
	uint32_t flags;       /* 0: the whole device, no PASID */
	uint32_t pt_id;       /* in: the IOAS; out: the HWPT the kernel attached */
};

struct vfc_k_detach_pt {
	uint32_t argsz;
	uint32_t flags;
};

/* ---- BARs as dma-bufs (6.19, CONFIG_VFIO_PCI_DMABUF) ----------------------- */

#define VFC_VFIO_DEVICE_FEATURE_DMA_BUF 11

struct vfc_k_dma_range {
	uint64_t offset;      /* in the region, page-aligned */
	uint64_t length;
};

/* Follows struct vfio_device_feature's header in the VFIO_DEVICE_FEATURE argument. */
struct vfc_k_feature_dma_buf {
	uint32_t region_index; /* the BAR */
	uint32_t open_flags;   /* of the new fd: O_RDWR | O_CLOEXEC */
	uint32_t flags;        /* 0 */
	uint32_t nr_ranges;
	struct vfc_k_dma_range ranges[];
};

_Static_assert(sizeof(struct vfc_k_destroy) == 8, "iommu_destroy");
_Static_assert(sizeof(struct vfc_k_ioas_alloc) == 12, "iommu_ioas_alloc");
_Static_assert(sizeof(struct vfc_k_iova_range) == 16, "iommu_iova_range");
_Static_assert(sizeof(struct vfc_k_ioas_iova_ranges) == 32, "iommu_ioas_iova_ranges");
_Static_assert(sizeof(struct vfc_k_ioas_map) == 40, "iommu_ioas_map");
_Static_assert(sizeof(struct vfc_k_ioas_map_file) == 40, "iommu_ioas_map_file");
_Static_assert(sizeof(struct vfc_k_ioas_unmap) == 24, "iommu_ioas_unmap");
_Static_assert(sizeof(struct vfc_k_option) == 24, "iommu_option");
_Static_assert(sizeof(struct vfc_k_bind_iommufd) == 16, "vfio_device_bind_iommufd");
_Static_assert(sizeof(struct vfc_k_attach_pt) == 12, "vfio_device_attach_iommufd_pt");
_Static_assert(sizeof(struct vfc_k_detach_pt) == 8, "vfio_device_detach_iommufd_pt");
_Static_assert(sizeof(struct vfc_k_feature_dma_buf) == 16, "vfio_device_feature_dma_buf");

#endif
