/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iommufd and VFIO-cdev kernel interface vfioctl uses, written from the
 * facts of include/uapi/linux/iommufd.h and include/uapi/linux/vfio.h (checked
 * against Linux 7.2). Build machines' headers often predate iommufd, and an
 * older <linux/iommufd.h> carries structs of an older layout (struct
 * iommu_hwpt_alloc without fault_id), so the structs here have names of
 * their own and never clash with a system header; only the numbers must
 * match the kernel, and the static asserts pin the layouts.
 */
#ifndef VFIOCTL_IOMMUFD_UAPI_H
#define VFIOCTL_IOMMUFD_UAPI_H

#include <stdint.h>
#include <sys/ioctl.h>

#include <linux/vfio.h>

#define VFC_IOMMUFD_TYPE ';'
#define VFC_IOMMUFD_IO(nr) _IO(VFC_IOMMUFD_TYPE, (nr))

/* ioctl numbers: IOMMUFD_CMD_* */
#define VFC_IOMMU_DESTROY           VFC_IOMMUFD_IO(0x80)
#define VFC_IOMMU_IOAS_ALLOC        VFC_IOMMUFD_IO(0x81)
#define VFC_IOMMU_IOAS_MAP          VFC_IOMMUFD_IO(0x85)
#define VFC_IOMMU_IOAS_UNMAP        VFC_IOMMUFD_IO(0x86)
#define VFC_IOMMU_HWPT_ALLOC        VFC_IOMMUFD_IO(0x89)
#define VFC_IOMMU_FAULT_QUEUE_ALLOC VFC_IOMMUFD_IO(0x8e) /* Linux 6.11 */

/* IOAS_MAP flags */
#define VFC_IOAS_MAP_FIXED_IOVA (1u << 0)
#define VFC_IOAS_MAP_WRITEABLE  (1u << 1)
#define VFC_IOAS_MAP_READABLE   (1u << 2)

/* HWPT_ALLOC flags */
#define VFC_HWPT_FAULT_ID_VALID (1u << 2)

/* struct iommu_hwpt_pgfault flags and perm */
#define VFC_PGFAULT_FLAGS_PASID_VALID (1u << 0)
#define VFC_PGFAULT_FLAGS_LAST_PAGE   (1u << 1)
#define VFC_PGFAULT_PERM_READ  (1u << 0)
#define VFC_PGFAULT_PERM_WRITE (1u << 1)
#define VFC_PGFAULT_PERM_EXEC  (1u << 2)
#define VFC_PGFAULT_PERM_PRIV  (1u << 3)

/* enum iommufd_page_response_code */
#define VFC_PAGE_RESP_SUCCESS 0u
#define VFC_PAGE_RESP_INVALID 1u

/* IOAS_UNMAP with iova 0 and this length unmaps everything */
#define VFC_IOAS_UNMAP_ALL_LENGTH UINT64_MAX

struct vfc_k_destroy {
	uint32_t size;
	uint32_t id;
};

struct vfc_k_ioas_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t out_ioas_id;
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

struct vfc_k_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length; /* in: bytes to unmap; out: bytes unmapped */
};

struct vfc_k_hwpt_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t dev_id;
	uint32_t pt_id;
	uint32_t out_hwpt_id;
	uint32_t reserved;
	uint32_t data_type; /* 0: IOMMU_HWPT_DATA_NONE */
	uint32_t data_len;
	uint64_t data_uptr;
	uint32_t fault_id;  /* read when VFC_HWPT_FAULT_ID_VALID */
	uint32_t reserved2;
};

struct vfc_k_fault_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t out_fault_id;
	uint32_t out_fault_fd;
};

/* One record read from a fault queue fd (struct iommu_hwpt_pgfault). */
struct vfc_k_pgfault {
	uint32_t flags;
	uint32_t dev_id;
	uint32_t pasid;
	uint32_t grpid;
	uint32_t perm;
	uint32_t reserved;
	uint64_t addr;
	uint32_t length; /* a hint; the kernel sends 0 when it has none */
	uint32_t cookie; /* the same for every record of a group */
};

/* One response written to it (struct iommu_hwpt_page_response). */
struct vfc_k_page_response {
	uint32_t cookie;
	uint32_t code;
};

_Static_assert(sizeof(struct vfc_k_ioas_map) == 40, "iommu_ioas_map layout");
_Static_assert(sizeof(struct vfc_k_ioas_unmap) == 24, "iommu_ioas_unmap layout");
_Static_assert(sizeof(struct vfc_k_hwpt_alloc) == 48, "iommu_hwpt_alloc layout");
_Static_assert(sizeof(struct vfc_k_fault_alloc) == 16, "iommu_fault_alloc layout");
_Static_assert(sizeof(struct vfc_k_pgfault) == 40, "iommu_hwpt_pgfault layout");
_Static_assert(sizeof(struct vfc_k_page_response) == 8, "iommu_hwpt_page_response layout");

/* ---- VFIO device cdev (/dev/vfio/devices/vfioN), Linux 6.6 ---- */

#define VFC_VFIO_DEVICE_BIND_IOMMUFD   _IO(VFIO_TYPE, VFIO_BASE + 18)
#define VFC_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#define VFC_VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)

struct vfc_k_bind_iommufd {
	uint32_t argsz;
	uint32_t flags;
	int32_t iommufd;
	uint32_t out_devid;
};

/* pasid (and flags) came with 6.12; older kernels read the first 12 bytes */
struct vfc_k_attach_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pt_id; /* in: IOAS or HWPT; out: the HWPT attached */
	uint32_t pasid;
};

struct vfc_k_detach_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pasid;
};

#endif
