/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to iommufd-iopf.c and its unit test: the I/O page fault protocol
 * without the kernel. The core reads fault records from any fd, maps through
 * a callback, and writes responses to any fd, so that tests can feed it
 * crafted records through a pipe and read back what it answered.
 *
 * The kernel's contract (drivers/iommu/iommufd/eventq.c): a read must ask for
 * a multiple of the record size and returns whole fault groups only, 0 bytes
 * when nothing is queued, and EINVAL when the first group does not fit; all
 * records of a group carry the group's cookie and the last one has
 * LAST_PAGE; one response per group, echoing that cookie, and several
 * responses may go in one write.
 */
#ifndef VFIOCTL_IOPF_PRIV_H
#define VFIOCTL_IOPF_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uapi-iopf.h"
#include "vfioctl.h"

#define VFC_IOPF_RECORD sizeof(struct vfc_k_pgfault)
/* Groups whose LAST_PAGE record has not come yet. The kernel never splits a
 * group over reads, so this only has to be as large as a sane test wants. */
#define VFC_IOPF_MAX_OPEN_GROUPS 64
/* Records read at once; grown when the kernel says a group does not fit. */
#define VFC_IOPF_READ_RECORDS 64
#define VFC_IOPF_READ_RECORDS_MAX 65536

/* Maps [iova, iova + len) to vaddr; 0 or -errno. */
typedef int (*vfc_iopf_map_fn)(void *data, uint64_t iova, void *vaddr,
			       uint64_t len);

struct vfc_iopf_region {
	uint8_t *vaddr;
	uint64_t iova;
	uint64_t size;      /* a multiple of page_size */
	uint64_t page_size; /* a power of two */
	bool writable;      /* write faults are served (else INVALID) */
};

struct vfc_iopf_open_group {
	uint32_t dev_id, pasid, grpid;
	bool invalid;     /* some record of it could not be served */
	uint64_t t_start; /* the read that delivered its first record */
};

struct vfc_iopf_core {
	struct vfc_iopf_region r;
	unsigned int premap;
	vfc_iopf_map_fn map;
	void *map_data;

	uint64_t *mapped; /* one bit a page of the region */
	size_t npages;

	struct vfc_iopf_open_group open[VFC_IOPF_MAX_OPEN_GROUPS];
	size_t nopen;

	uint8_t *buf;     /* read buffer */
	size_t buf_records;

	/* guards stats and the latency samples: vfc_iopf_stats() reads them
	 * from another thread */
	pthread_mutex_t lock;
	struct vfc_iopf_stats st;
	uint64_t *lat;    /* every group's latency, for the median */
	size_t nlat, lat_cap;

	/* why serving stopped on a fatal error (the thread owns no vfc_ctx) */
	char errmsg[256];
};

int vfc_iopf_core_init(struct vfc_iopf_core *c, const struct vfc_iopf_region *r,
		       unsigned int premap, vfc_iopf_map_fn map, void *map_data);
void vfc_iopf_core_fini(struct vfc_iopf_core *c);

/*
 * Serves until stop_fd (-1: none) becomes readable or fault_fd reaches end of
 * file (a pipe's writer closed: tests), returning 0, or until a fatal error:
 * -EPROTO for a read that is not whole records, -errno for a failed read,
 * poll or write, with c->errmsg saying what happened.
 */
int vfc_iopf_core_serve(struct vfc_iopf_core *c, int fault_fd, int resp_fd,
			int stop_fd);

/*
 * Handles the len bytes one read returned at time t_read (vfc_now_ns()):
 * maps, and answers each group as soon as its last record is served. Whole
 * records before a trailing fragment are served before the fragment is
 * reported (-EPROTO).
 */
int vfc_iopf_core_feed(struct vfc_iopf_core *c, const void *buf, size_t len,
		       uint64_t t_read, int resp_fd);

/* A snapshot of the statistics, with the median computed. */
void vfc_iopf_core_stats(struct vfc_iopf_core *c, struct vfc_iopf_stats *out);

/*
 * The next run of mapped pages at or after *page: true with *page and
 * *npages set, false when there is none. Teardown unmaps by these runs.
 */
bool vfc_iopf_core_next_run(const struct vfc_iopf_core *c, size_t *page,
			    size_t *npages);

#endif
