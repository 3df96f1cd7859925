// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl map, the doing: open the container the way a VMM does, allocate and
 * prefault the memory, map it (and BARs), measure each phase and the locked
 * memory it cost, unmap, free. Every error path leaves nothing behind: what
 * is mapped is unmapped (the IOMMU handle tracks it) and memory is freed.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "map.h"

#define CAP_IPC_LOCK_BIT 14

volatile sig_atomic_t map_stop;

static const char *const phase_name[PH_COUNT] = { "allocating", "populating", "mapping",
						   "unmapping" };

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void progress(struct map_run *rn, enum phase ph, const struct item *it, size_t i)
{
	if (!rn->progress)
		return;
	fprintf(stderr, "\r%s: map: %s %s (%zu/%zu)", program_name, phase_name[ph], it->name,
		i + 1, rn->nitems);
	if (rn->o->repeat > 1)
		fprintf(stderr, ", repeat %u/%u", rn->repeats_done + 1, rn->o->repeat);
	fputs("\033[K", stderr);
}

static void progress_done(struct map_run *rn)
{
	if (rn->progress)
		fputs("\r\033[K", stderr);
}

void read_locked(struct map_run *rn, int64_t *lck, int64_t *pin)
{
	struct vfc_proc_status st;

	*lck = *pin = -1;
	if (vfc_proc_status_read(rn->ctx, 0, &st) == 0) {
		*lck = st.vm_lck_kb;
		*pin = st.vm_pin_kb;
	}
}

static int64_t dma_avail(struct map_run *rn)
{
	struct vfc_iommu_info in;
	int64_t avail = -1;

	if (vfc_iommu_info(rn->io, &in) == 0)
		avail = in.dma_avail;
	vfc_iommu_info_clear(&in);
	return avail;
}

/* ---- errors, with the numbers that explain them ---- */

static void size_str(uint64_t v, char *buf, size_t len)
{
	vfc_size_format(v, buf, len);
}

/* Bytes of RAM still to map from item i on: what the limit must also hold. */
static uint64_t ram_from(const struct map_run *rn, size_t i)
{
	uint64_t sum = 0;

	for (; i < rn->nitems; i++)
		if (!rn->items[i].bar)
			sum += rn->items[i].size;
	return sum;
}

static bool has_ipc_lock(struct map_run *rn)
{
	struct vfc_proc_status st;

	return vfc_proc_status_read(rn->ctx, 0, &st) == 0 && st.have_cap_eff &&
	       (st.cap_eff & (1ULL << CAP_IPC_LOCK_BIT));
}

static int memlock_error(struct map_run *rn, const char *what, size_t i, int err)
{
	const struct item *it = &rn->items[i];
	bool ifd = rn->o->backend == VFC_BACKEND_IOMMUFD;
	int64_t own = charged_kb(rn, it->lck_before, it->pin_before);
	uint64_t pinned = own > 0 ? (uint64_t)own << 10 : 0;
	uint64_t others = ifd && rn->info.rlimit_mode != 1 && rn->o->others_pin_kb > 0 ?
			  (uint64_t)rn->o->others_pin_kb << 10 : 0;
	uint64_t need = pinned + others + ram_from(rn, i);
	struct rlimit rl;
	char a[16], b[16], c[16], d[16], by[160] = "";

	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    has_ipc_lock(rn)) {
		/* the limit is not enforced on us: the kernel really ran out */
		warnx_("%s: the kernel could not pin the memory, and not because of RLIMIT_MEMLOCK (%s): %s",
		       what, rl.rlim_cur == RLIM_INFINITY ? "unlimited" : "CAP_IPC_LOCK bypasses it",
		       strerror(-err));
		return EXIT_FAIL;
	}
	size_str(rl.rlim_cur, a, sizeof(a));
	size_str(pinned, b, sizeof(b));
	size_str(it->size, c, sizeof(c));
	size_str(others, d, sizeof(d));
	/* iommufd's default mode charges the user: say whose pins count */
	if (ifd && rn->info.rlimit_mode != 1)
		snprintf(by, sizeof(by), " by this process (VmPin; iommufd charges uid %u as a whole: "
			 "its other processes held %" PRIu64 " bytes (%s) when this one started)",
			 (unsigned int)getuid(), others, d);
	else if (ifd)
		snprintf(by, sizeof(by), " by this process (iommufd per-process mode: VmLck)");
	warnx_("%s: RLIMIT_MEMLOCK of %" PRIu64 " bytes (%s) exceeded after %" PRIu64
	       " bytes (%s) pinned%s, with %" PRIu64 " bytes (%s) more to pin: %s "
	       "(raise the limit to %" PRIu64 " bytes or more: ulimit -l %" PRIu64
	       ", LimitMEMLOCK=%" PRIu64 " in the service, or a memlock line in limits.conf; "
	       "'vfioctl memlock --estimate' gives a VM's)",
	       what, (uint64_t)rl.rlim_cur, a, pinned, b, by, it->size, c, strerror(-err), need,
	       (need + 1023) / 1024, need);
	return EXIT_LIMIT;
}

static int entries_error(struct map_run *rn, const char *what, size_t i, int err)
{
	int64_t avail = rn->avail_start;
	struct vfc_host h;
	int limit = -1;
	uint64_t want;

	if (vfc_host_read(rn->ctx, &h) == 0) {
		limit = h.type1_dma_entry_limit;
		vfc_host_clear(&h);
	}
	/* entries taken before we started stay taken: the limit must cover them too */
	want = rn->nitems + (limit >= 0 && avail >= 0 && limit > avail ?
			     (uint64_t)(limit - avail) : 0);
	warnx_("%s: no DMA mapping entries left after %zu mappings: the request needs %zu, "
	       "the container had %" PRId64 " free, vfio_iommu_type1 dma_entry_limit is %d: %s "
	       "(raise dma_entry_limit to %" PRIu64 " or more: "
	       "echo %" PRIu64 " > /sys/module/vfio_iommu_type1/parameters/dma_entry_limit "
	       "for new containers, 'options vfio_iommu_type1 dma_entry_limit=%" PRIu64
	       "' in /etc/modprobe.d/ to keep it; or map fewer, larger pieces with --chunk)",
	       what, i, rn->nitems, avail, limit, strerror(-err), want, want, want);
	return EXIT_LIMIT;
}

static int map_error(struct map_run *rn, size_t i, int err)
{
	const struct item *it = &rn->items[i];
	char what[160], sz[16];

	size_str(it->size, sz, sizeof(sz));
	snprintf(what, sizeof(what), "mapping %s (%s at IOVA 0x%" PRIx64 ", %zu of %zu)",
		 it->name, sz, it->iova, i + 1, rn->nitems);
	if (err == -ENOMEM && !it->bar)
		return memlock_error(rn, what, i, err);
	if (err == -ENOSPC)
		return entries_error(rn, what, i, err);
	warnx_("%s: %s", what, vfc_errmsg(rn->ctx));
	report_error(rn->ctx, err);
	return iommu_exit_code(err);
}

/* Allocation and populate failures: the hugepage pool is a resource limit. */
static int mem_error(struct map_run *rn, const struct item *it, enum phase ph, int err)
{
	const char *hint = vfc_errhint(rn->ctx);

	warnx_("%s %s: %s: %s%s%s%s", phase_name[ph], it->name, vfc_errmsg(rn->ctx),
	       strerror(-err), hint[0] ? " (" : "", hint, hint[0] ? ")" : "");
	return err == -ENOMEM ? EXIT_LIMIT : exit_code_for(err);
}

/* ---- one repeat ---- */

static int alloc_all(struct map_run *rn, unsigned int rep)
{
	for (size_t i = 0; i < rn->nitems && !map_stop; i++) {
		struct item *it = &rn->items[i];
		double t;
		int r;

		if (it->bar)
			continue;
		progress(rn, PH_ALLOC, it, i);
		t = now_ms();
		r = vfc_mem_alloc(rn->ctx, &rn->backing, it->size, &it->mem);
		it->ms[PH_ALLOC][rep] = now_ms() - t;
		if (r)
			return mem_error(rn, it, PH_ALLOC, r);
		it->vaddr = vfc_mem_addr(it->mem);
	}
	return -1;
}

static int populate_all(struct map_run *rn, unsigned int rep)
{
	for (size_t i = 0; i < rn->nitems && !map_stop && rn->o->populate; i++) {
		struct item *it = &rn->items[i];
		double t;
		int r;

		if (it->bar)
			continue;
		progress(rn, PH_POPULATE, it, i);
		t = now_ms();
		r = vfc_mem_populate(rn->ctx, it->mem, rn->o->populate);
		it->ms[PH_POPULATE][rep] = now_ms() - t;
		if (r)
			return mem_error(rn, it, PH_POPULATE, r);
	}
	return -1;
}

/*
 * A memfd by descriptor (IOAS_MAP_FILE); where the kernel cannot, its mmap
 * by address, and the report says so. A BAR's dma-buf has no such way out.
 */
static int map_by_file(struct map_run *rn, struct item *it)
{
	int fd = it->bar ? it->dmabuf : vfc_mem_fd(it->mem);
	int r = vfc_iommu_map_file(rn->io, fd, 0, it->iova, it->size, it->flags);

	if (r != -EOPNOTSUPP || it->bar)
		return r;
	if (!rn->file_fallback_said)
		warnx_("map: %s: mapping the memfd's mmap with IOMMU_IOAS_MAP instead "
		       "(IOCTL says so)", vfc_errmsg(rn->ctx));
	rn->file_fallback_said = true;
	it->ioctl = "IOAS_MAP (no MAP_FILE)";
	it->by_file = false;
	return vfc_iommu_map(rn->io, it->vaddr, it->iova, it->size, it->flags);
}

static int map_one(struct map_run *rn, size_t i, unsigned int rep, bool last)
{
	struct item *it = &rn->items[i];
	int r;

	progress(rn, PH_MAP, it, i);
	read_locked(rn, &it->lck_before, &it->pin_before);
	it->avail_before = dma_avail(rn);
	if (it->by_file)
		r = map_by_file(rn, it);
	else
		r = vfc_iommu_map(rn->io, it->vaddr, it->iova, it->size, it->flags);
	it->ms[PH_MAP][rep] = (double)vfc_iommu_last_ns(rn->io) / 1e6;
	if (r)
		return map_error(rn, i, r);
	it->mapped = true;
	read_locked(rn, &it->lck_after, &it->pin_after);
	it->avail_after = dma_avail(rn);
	/* what the pages really are, once pinned (THP may have been split or not) */
	if (last && !it->bar)
		it->have_pages = vfc_mem_pages(rn->ctx, it->mem, &it->pages) == 0;
	return -1;
}

static int unmap_one(struct map_run *rn, struct item *it, unsigned int rep)
{
	int r = vfc_iommu_unmap(rn->io, it->iova, it->size);

	it->ms[PH_UNMAP][rep] = (double)vfc_iommu_last_ns(rn->io) / 1e6;
	if (r) {
		report_error(rn->ctx, r);
		return exit_code_for(r);
	}
	it->mapped = false;
	return -1;
}

static void free_mem(struct map_run *rn)
{
	for (size_t i = 0; i < rn->nitems; i++) {
		struct item *it = &rn->items[i];

		if (it->bar || !it->mem)
			continue;
		vfc_mem_free(it->mem);
		it->mem = NULL;
		it->vaddr = NULL;
	}
}

static void sum_totals(struct map_run *rn, unsigned int rep)
{
	for (int ph = 0; ph < PH_COUNT; ph++) {
		double sum = 0;
		bool any = false;

		for (size_t i = 0; i < rn->nitems; i++) {
			double v = rn->items[i].ms[ph][rep];

			if (!isnan(v)) {
				sum += v;
				any = true;
			}
		}
		rn->total_ms[ph][rep] = any ? sum : NAN;
	}
}

static int one_repeat(struct map_run *rn, unsigned int rep)
{
	bool last = rep + 1 == rn->o->repeat;
	int rc;

	read_locked(rn, &rn->lck_start, &rn->pin_start);
	rn->avail_start = dma_avail(rn);
	rc = alloc_all(rn, rep);
	if (rc < 0)
		rc = populate_all(rn, rep);
	for (size_t i = 0; i < rn->nitems && rc < 0 && !map_stop; i++)
		rc = map_one(rn, i, rep, last);
	if (rc >= 0 || map_stop)
		return rc;
	read_locked(rn, &rn->lck_mapped, &rn->pin_mapped);
	rn->avail_mapped = dma_avail(rn);
	if (last && rn->o->hold)
		return -1; /* stays mapped until the signal */
	for (size_t i = rn->nitems; i-- > 0 && rc < 0;) {
		progress(rn, PH_UNMAP, &rn->items[i], i);
		rc = unmap_one(rn, &rn->items[i], rep);
	}
	free_mem(rn);
	read_locked(rn, &rn->lck_end, &rn->pin_end);
	return rc;
}

void wait_for_stop(void)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!map_stop)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int run_alloc(struct map_run *rn)
{
	int rc = alloc_all(rn, 0);

	if (rc < 0 && !map_stop)
		rc = populate_all(rn, 0);
	progress_done(rn);
	return rc;
}

int run_measure(struct map_run *rn)
{
	int rc = -1;

	for (unsigned int rep = 0; rep < rn->o->repeat && rc < 0 && !map_stop; rep++) {
		rc = one_repeat(rn, rep);
		if (rc < 0 && !map_stop) {
			sum_totals(rn, rep);
			rn->repeats_done++;
		}
	}
	progress_done(rn);
	return rc;
}

/* ---- teardown ---- */

void run_teardown(struct map_run *rn)
{
	size_t n = 0, left = 0;
	uint64_t bytes = 0, ns = 0;
	int64_t lck, pin;

	for (size_t i = rn->nitems; i-- > 0;) {
		struct item *it = &rn->items[i];

		if (!it->mapped)
			continue;
		if (vfc_iommu_unmap(rn->io, it->iova, it->size) == 0) {
			n++;
			bytes += it->size;
			ns += vfc_iommu_last_ns(rn->io);
			it->mapped = false;
		} else {
			left++; /* the IOMMU handle's unref tries once more */
		}
	}
	free_mem(rn);
	if (rn->o && rn->o->hold && n) {
		char sz[16], l[16] = "?";
		int64_t kb;

		read_locked(rn, &lck, &pin);
		kb = charged_kb(rn, lck, pin);
		if (kb >= 0)
			vfc_size_format((uint64_t)kb << 10, l, sizeof(l));
		warnx_("map: unmapped %zu mappings (%s) in %.3f ms; %s now %s",
		       n, vfc_size_format(bytes, sz, sizeof(sz)), (double)ns / 1e6,
		       charged_name(rn), l);
	}
	if (left)
		warnx_("map: %zu mappings would not unmap; closing the container drops them", left);
	vfc_iommu_info_clear(&rn->info);
	vfc_iommu_unref(rn->io); /* closes the BAR's device, unmaps what is left */
	for (size_t i = 0; i < rn->nitems; i++)
		if (rn->items[i].dmabuf >= 0)
			close(rn->items[i].dmabuf);
	rn->io = NULL;
	for (size_t i = 0; i < rn->nitems; i++)
		for (int ph = 0; ph < PH_COUNT; ph++)
			free(rn->items[i].ms[ph]);
	for (int ph = 0; ph < PH_COUNT; ph++)
		free(rn->total_ms[ph]);
	free(rn->items);
	rn->items = NULL;
	rn->nitems = 0;
}
