// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * I/O page faults on iommufd: a fault queue, an IOPF-capable page table on
 * the IOAS, the device attached to it, and a thread that maps faulting pages
 * into the IOAS (the protocol itself is in iopf-core.c).
 *
 * Teardown order matters to the kernel: the thread stops first (no response
 * races the kernel's own), then the device leaves the page table (the kernel
 * answers INVALID for whatever was still queued), the lazy mappings go, the
 * fault fd is closed (it holds a reference on the fault object), and the page
 * table is destroyed before the fault queue it refers to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iommu-priv.h"
#include "uapi-iopf.h"
#include "iopf-priv.h"

#define IOPF_HINT_PRI "IOPF needs a PRI-capable device behind an IOMMU with page-request support"

struct vfc_iopf {
	struct vfc_ctx *ctx;
	struct vfc_iopf_cfg cfg;
	uint32_t fault_id, hwpt_id;
	int fault_fd;
	int stop_fd;
	bool attached;
	bool thread_started;
	pthread_t thread;
	int thread_rc;
	bool core_ready;
	struct vfc_iopf_core core;
};

/* ---- kernel calls ---- */

static int k_destroy(int iommufd, uint32_t id)
{
	struct vfc_k_destroy d = { .size = sizeof(d), .id = id };

	return ioctl(iommufd, VFC_IOMMU_DESTROY, &d) ? -errno : 0;
}

/* The map callback of the core: runs on the serving thread. */
static int k_map(void *data, uint64_t iova, void *vaddr, uint64_t len)
{
	struct vfc_iopf *io = data;
	struct vfc_k_ioas_map m;

	vfc_ifd_map_cmd(&m, io->cfg.ioas_id, vaddr, iova, len, io->cfg.map_flags);
	return ioctl(io->cfg.iommufd, VFC_IOMMU_IOAS_MAP, &m) ? -errno : 0;
}

/* The default attach for a VFIO cdev: pt_id 0 detaches. */
static int cdev_attach(void *data, uint32_t pt_id)
{
	int fd = *(int *)data;

	if (pt_id) {
		struct vfc_k_attach_pt a = { .argsz = sizeof(a), .pt_id = pt_id };

		return ioctl(fd, VFC_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a) ? -errno : 0;
	}
	struct vfc_k_detach_pt d = { .argsz = sizeof(d) };

	return ioctl(fd, VFC_VFIO_DEVICE_DETACH_IOMMUFD_PT, &d) ? -errno : 0;
}

static int do_attach(struct vfc_iopf *io, uint32_t pt_id)
{
	if (io->cfg.attach)
		return io->cfg.attach(io->cfg.attach_data, pt_id);
	return cdev_attach(&io->cfg.cdev_fd, pt_id);
}

/* ---- setup steps, each with the message users need ---- */

static int check_cfg(struct vfc_ctx *ctx, struct vfc_iopf_cfg *cfg)
{
	uint64_t ps;

	if (!cfg->page_size)
		cfg->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	if (!(cfg->map_flags & VFC_MAP_RW))
		cfg->map_flags |= VFC_MAP_RW;
	ps = cfg->page_size;
	if (cfg->iommufd < 0 || !cfg->ioas_id || !cfg->dev_id)
		return vfc_fail(ctx, EINVAL, NULL,
				"IOPF needs an iommufd, an IOAS and a bound device");
	if (cfg->cdev_fd < 0 && !cfg->attach)
		return vfc_fail(ctx, EINVAL, NULL,
				"IOPF needs the device's VFIO cdev or an attach function");
	if (ps & (ps - 1))
		return vfc_fail(ctx, EINVAL, NULL, "page size 0x%" PRIx64 " is not a power of two",
				ps);
	if (!cfg->vaddr || !cfg->size || cfg->size % ps || cfg->iova % ps ||
	    (uintptr_t)cfg->vaddr % ps)
		return vfc_fail(ctx, EINVAL, NULL,
				"IOPF region: address, IOVA and size must be non-zero multiples of "
				"the page size 0x%" PRIx64, ps);
	if (cfg->iova + cfg->size < cfg->iova)
		return vfc_fail(ctx, EOVERFLOW, NULL,
				"IOPF region 0x%" PRIx64 "+0x%" PRIx64 " wraps around", cfg->iova,
				cfg->size);
	return 0;
}

static int alloc_fault(struct vfc_iopf *io)
{
	struct vfc_k_fault_alloc f = { .size = sizeof(f) };

	if (ioctl(io->cfg.iommufd, VFC_IOMMU_FAULT_QUEUE_ALLOC, &f)) {
		int err = errno;

		if (err == ENOTTY)
			return vfc_fail(io->ctx, err, "I/O page faults on iommufd came with Linux 6.11",
					"allocating an iommufd fault queue: this kernel has none");
		return vfc_fail(io->ctx, err, NULL, "allocating an iommufd fault queue");
	}
	io->fault_id = f.out_fault_id;
	io->fault_fd = (int)f.out_fault_fd;
	return 0;
}

static int alloc_hwpt(struct vfc_iopf *io)
{
	struct vfc_k_hwpt_alloc h = {
		.size = sizeof(h),
		.flags = VFC_HWPT_FAULT_ID_VALID,
		.dev_id = io->cfg.dev_id,
		.pt_id = io->cfg.ioas_id,
		.fault_id = io->fault_id,
	};

	if (ioctl(io->cfg.iommufd, VFC_IOMMU_HWPT_ALLOC, &h)) {
		int err = errno;

		if (err == EOPNOTSUPP)
			return vfc_fail(io->ctx, err, NULL,
					"allocating an IOPF-capable page table on IOAS %u for device %u: "
					"the kernel or the IOMMU driver does not offer one",
					io->cfg.ioas_id, io->cfg.dev_id);
		if (err == ENOENT)
			return vfc_fail(io->ctx, err, NULL,
					"allocating an IOPF-capable page table: no device %u or IOAS %u "
					"in this iommufd", io->cfg.dev_id, io->cfg.ioas_id);
		return vfc_fail(io->ctx, err, NULL,
				"allocating an IOPF-capable page table on IOAS %u for device %u",
				io->cfg.ioas_id, io->cfg.dev_id);
	}
	io->hwpt_id = h.out_hwpt_id;
	return 0;
}

static int attach(struct vfc_iopf *io)
{
	int r = do_attach(io, io->hwpt_id);

	if (!r) {
		io->attached = true;
		return 0;
	}
	/* the IOMMU driver's answer when it cannot enable IOPF for the device */
	if (r == -ENODEV)
		return vfc_fail(io->ctx, r, IOPF_HINT_PRI,
				"attaching device %u to IOPF page table %u: the device cannot take "
				"I/O page faults (no PCIe PRI or stall)",
				io->cfg.dev_id, io->hwpt_id);
	if (r == -EINVAL)
		return vfc_fail(io->ctx, r,
				"an SR-IOV VF cannot take I/O page faults: PRI is shared with its PF",
				"attaching device %u to IOPF page table %u", io->cfg.dev_id,
				io->hwpt_id);
	return vfc_fail(io->ctx, r, NULL, "attaching device %u to IOPF page table %u",
			io->cfg.dev_id, io->hwpt_id);
}

static void *serve_thread(void *arg)
{
	struct vfc_iopf *io = arg;
	int r = vfc_iopf_core_serve(&io->core, io->fault_fd, io->fault_fd, io->stop_fd);

	pthread_mutex_lock(&io->core.lock);
	io->thread_rc = r;
	pthread_mutex_unlock(&io->core.lock);
	return NULL;
}

static int start_thread(struct vfc_iopf *io)
{
	struct vfc_iopf_region reg = {
		.vaddr = io->cfg.vaddr,
		.iova = io->cfg.iova,
		.size = io->cfg.size,
		.page_size = io->cfg.page_size,
		.writable = io->cfg.map_flags & VFC_MAP_WRITE,
	};
	int r = vfc_iopf_core_init(&io->core, &reg, io->cfg.premap, k_map, io);

	if (r)
		return vfc_fail(io->ctx, r, NULL, "setting up the page fault server");
	io->core_ready = true;
	io->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (io->stop_fd < 0)
		return vfc_fail(io->ctx, errno, NULL, "creating the fault server's stop event");
	r = pthread_create(&io->thread, NULL, serve_thread, io);
	if (r)
		return vfc_fail(io->ctx, r, NULL, "starting the page fault thread");
	io->thread_started = true;
	return 0;
}

/* ---- teardown: every step runs, the first failure is reported ---- */

static void first_fail(int *first, int r)
{
	if (r && !*first)
		*first = r;
}

static int stop_thread(struct vfc_iopf *io)
{
	uint64_t one = 1;

	if (!io->thread_started)
		return 0;
	if (write(io->stop_fd, &one, sizeof(one)) != sizeof(one))
		return vfc_fail(io->ctx, errno, NULL, "stopping the page fault thread");
	pthread_join(io->thread, NULL);
	io->thread_started = false;
	if (io->thread_rc)
		return vfc_fail(io->ctx, io->thread_rc, NULL, "serving page faults: %s",
				io->core.errmsg);
	return 0;
}

static int detach(struct vfc_iopf *io)
{
	int r;

	if (!io->attached)
		return 0;
	r = do_attach(io, io->cfg.restore_pt_id);
	if (r) {
		if (io->cfg.restore_pt_id)
			return vfc_fail(io->ctx, r, NULL,
					"attaching device %u back to page table %u",
					io->cfg.dev_id, io->cfg.restore_pt_id);
		return vfc_fail(io->ctx, r, NULL, "detaching device %u from IOPF page table %u",
				io->cfg.dev_id, io->hwpt_id);
	}
	io->attached = false;
	return 0;
}

static int unmap_lazy(struct vfc_iopf *io)
{
	const uint64_t ps = io->core.r.page_size;
	size_t page = 0, n;
	int first = 0;

	if (!io->core_ready)
		return 0;
	while (vfc_iopf_core_next_run(&io->core, &page, &n)) {
		struct vfc_k_ioas_unmap u = {
			.size = sizeof(u),
			.ioas_id = io->cfg.ioas_id,
			.iova = io->core.r.iova + page * ps,
			.length = n * ps,
		};

		/* a run is made of whole maps of ours: the kernel takes it at once */
		if (ioctl(io->cfg.iommufd, VFC_IOMMU_IOAS_UNMAP, &u))
			first_fail(&first, vfc_fail(io->ctx, errno, NULL,
						    "unmapping IOVA 0x%" PRIx64 "+0x%" PRIx64
						    " mapped on faults", io->core.r.iova + page * ps,
						    (uint64_t)n * ps));
		else if (u.length != n * ps)
			first_fail(&first, vfc_fail(io->ctx, EIO, NULL,
						    "unmapping IOVA 0x%" PRIx64 "+0x%" PRIx64
						    ": the kernel unmapped 0x%" PRIx64,
						    io->core.r.iova + page * ps, (uint64_t)n * ps,
						    (uint64_t)u.length));
		page += n;
	}
	return first;
}

/* Destroys the object *id names, if any, and forgets it once gone. */
static int destroy_id(struct vfc_iopf *io, uint32_t *id, const char *what)
{
	int r;

	if (!*id)
		return 0;
	r = k_destroy(io->cfg.iommufd, *id);
	if (r)
		return vfc_fail(io->ctx, r, NULL, "destroying %s %u", what, *id);
	*id = 0;
	return 0;
}

static int destroy_objects(struct vfc_iopf *io)
{
	int first = 0;

	if (io->fault_fd >= 0) {
		close(io->fault_fd);
		io->fault_fd = -1;
	}
	/* the page table refers to the fault queue: it goes first */
	first_fail(&first, destroy_id(io, &io->hwpt_id, "IOPF page table"));
	first_fail(&first, destroy_id(io, &io->fault_id, "fault queue"));
	return first;
}

/* The first failure of a teardown, kept while later steps record their own. */
struct first_err {
	int err;
	struct vfc_saved_err saved;
};

static void save_first(struct vfc_ctx *ctx, struct first_err *f, int r)
{
	if (!r || f->err)
		return;
	f->err = r;
	vfc_err_save(ctx, &f->saved);
}

/* Puts the first failure back in the context; returns its error. */
static int restore_first(struct vfc_ctx *ctx, const struct first_err *f)
{
	if (f->err)
		vfc_err_restore(ctx, &f->saved);
	return f->err;
}

/* Undoes whatever exists; keeps the first message (later steps may fail too). */
static int teardown(struct vfc_iopf *io, struct vfc_iopf_stats *stats)
{
	struct first_err first = { 0 };
	int r;

	save_first(io->ctx, &first, stop_thread(io));
	r = detach(io);
	/* pages must not be unmapped under a device still attached */
	if (!r)
		r = unmap_lazy(io);
	save_first(io->ctx, &first, r);
	save_first(io->ctx, &first, destroy_objects(io));
	if (stats) {
		memset(stats, 0, sizeof(*stats));
		if (io->core_ready)
			vfc_iopf_core_stats(&io->core, stats);
		/* the thread is joined: its result is final */
		stats->serving = false;
		stats->serve_error = io->thread_rc;
	}
	if (io->stop_fd >= 0)
		close(io->stop_fd);
	if (io->core_ready)
		vfc_iopf_core_fini(&io->core);
	restore_first(io->ctx, &first);
	vfc_unref(io->ctx);
	free(io);
	return first.err;
}

/* ---- public ---- */

VFC_EXPORT int vfc_iopf_start(struct vfc_ctx *ctx, const struct vfc_iopf_cfg *cfg,
			      struct vfc_iopf **out)
{
	struct vfc_iopf *io;
	int r;

	*out = NULL;
	io = calloc(1, sizeof(*io));
	if (!io)
		return vfc_fail(ctx, ENOMEM, NULL, "setting up I/O page faults");
	io->ctx = vfc_ref(ctx);
	io->cfg = *cfg;
	io->fault_fd = -1;
	io->stop_fd = -1;
	r = check_cfg(ctx, &io->cfg);
	if (!r)
		r = alloc_fault(io);
	if (!r)
		r = alloc_hwpt(io);
	/* serving before the attach: the first fault may come at once */
	if (!r)
		r = start_thread(io);
	if (!r)
		r = attach(io);
	if (r) {
		struct first_err f = { 0 };

		/* the first failure is the one to report, whatever undoing it says */
		save_first(ctx, &f, r);
		teardown(io, NULL);
		return restore_first(ctx, &f);
	}
	*out = io;
	return 0;
}

VFC_EXPORT uint32_t vfc_iopf_hwpt_id(const struct vfc_iopf *io)
{
	return io->hwpt_id;
}

VFC_EXPORT uint32_t vfc_iopf_fault_id(const struct vfc_iopf *io)
{
	return io->fault_id;
}

VFC_EXPORT void vfc_iopf_stats(struct vfc_iopf *io, struct vfc_iopf_stats *out)
{
	vfc_iopf_core_stats(&io->core, out);
	pthread_mutex_lock(&io->core.lock);
	out->serving = io->thread_started && !io->thread_rc;
	out->serve_error = io->thread_rc;
	pthread_mutex_unlock(&io->core.lock);
}

VFC_EXPORT int vfc_iopf_stop(struct vfc_iopf *io, struct vfc_iopf_stats *stats)
{
	if (!io)
		return 0;
	return teardown(io, stats);
}
