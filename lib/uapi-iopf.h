/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What I/O page faults add to the iommufd interface of uapi-iommufd.h, with
 * the same conventions (vfioctl's own names, layouts pinned by asserts):
 * IOMMU_HWPT_ALLOC with a fault queue and IOMMU_FAULT_QUEUE_ALLOC (Linux
 * 6.11), and the records read from and written to a fault queue fd.
 * Written from include/uapi/linux/iommufd.h (checked against Linux 7.2).
 */
#ifndef VFIOCTL_UAPI_IOPF_H
#define VFIOCTL_UAPI_IOPF_H

#include "uapi-iommufd.h"

#define VFC_IOMMUFD_CMD_HWPT_ALLOC        0x89
#define VFC_IOMMUFD_CMD_FAULT_QUEUE_ALLOC 0x8e /* 6.11 */

#define VFC_IOMMU_HWPT_ALLOC        _IO(IOMMUFD_TYPE, VFC_IOMMUFD_CMD_HWPT_ALLOC)
#define VFC_IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, VFC_IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

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

struct vfc_k_hwpt_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t dev_id;
	uint32_t pt_id;       /* the IOAS */
	uint32_t out_hwpt_id;
	uint32_t reserved;
	uint32_t data_type;   /* 0: IOMMU_HWPT_DATA_NONE */
	uint32_t data_len;
	uint64_t data_uptr;
	uint32_t fault_id;    /* read when VFC_HWPT_FAULT_ID_VALID */
	uint32_t reserved2;
};

struct vfc_k_fault_alloc {
	uint32_t size;
	uint32_t flags;       /* 0 */
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
	uint32_t length;      /* a hint; the kernel sends 0, "none" */
	uint32_t cookie;      /* the same for every record of a group */
};

/* One response written to it (struct iommu_hwpt_page_response). */
struct vfc_k_page_response {
	uint32_t cookie;
	uint32_t code;
};

_Static_assert(sizeof(struct vfc_k_hwpt_alloc) == 48, "iommu_hwpt_alloc");
_Static_assert(sizeof(struct vfc_k_fault_alloc) == 16, "iommu_fault_alloc");
_Static_assert(sizeof(struct vfc_k_pgfault) == 40, "iommu_hwpt_pgfault");
_Static_assert(sizeof(struct vfc_k_page_response) == 8, "iommu_hwpt_page_response");

#endif
