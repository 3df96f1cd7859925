// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The I/O page fault protocol, kernel-free (see iopf-priv.h): fault records
 * in, maps through a callback, responses out. iommufd-iopf.c feeds it the
 * fault queue fd; the unit tests feed it pipes.
 *
 * Decisions a reader may look for:
 *  - a fault is served from its page to the end of its length hint (the
 *    kernel sends 0, "no hint": one page), plus `premap` pages ahead, clipped
 *    to the region; pages mapped already are skipped, each run of unmapped
 *    ones is one map call. If a run that includes the faulting pages fails,
 *    the faulting pages alone are tried again (premap may hit a limit the
 *    fault itself does not).
 *  - a group is answered once, when its LAST_PAGE record comes, with that
 *    record's cookie: INVALID if any record of it could not be served.
 *  - outside the region, or a write to a read-only region: INVALID; mapping
 *    something else there would hand the device memory nobody meant it to
 *    have.
 *  - a read that is not whole records breaks the kernel's contract. There is
 *    no marker to find the next record by, so the whole records before the
 *    fragment are served and serving stops with -EPROTO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iommu-priv.h"
#include "iopf-priv.h"

#define BITS 64u

static bool page_mapped(const struct vfc_iopf_core *c, size_t p)
{
	return c->mapped[p / BITS] & (1ull << (p % BITS));
}

static void mark_mapped(struct vfc_iopf_core *c, size_t p, size_t n)
{
	for (size_t i = p; i < p + n; i++)
		c->mapped[i / BITS] |= 1ull << (i % BITS);
}

int vfc_iopf_core_init(struct vfc_iopf_core *c, const struct vfc_iopf_region *r,
		       unsigned int premap, vfc_iopf_map_fn map, void *map_data)
{
	memset(c, 0, sizeof(*c));
	if (!r->page_size || (r->page_size & (r->page_size - 1)) || !r->size ||
	    r->size % r->page_size || r->iova % r->page_size ||
	    (uintptr_t)r->vaddr % r->page_size || r->iova + r->size < r->iova || !map)
		return -EINVAL;
	c->r = *r;
	c->premap = premap;
	c->map = map;
	c->map_data = map_data;
	c->npages = r->size / r->page_size;
	c->mapped = calloc((c->npages + BITS - 1) / BITS, sizeof(*c->mapped));
	c->buf_records = VFC_IOPF_READ_RECORDS;
	c->buf = malloc(c->buf_records * VFC_IOPF_RECORD);
	if (!c->mapped || !c->buf) {
		free(c->mapped);
		free(c->buf);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

void vfc_iopf_core_fini(struct vfc_iopf_core *c)
{
	free(c->mapped);
	free(c->buf);
	free(c->lat);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

/* ---- mapping ---- */

/* Maps the unmapped pages of [p, end); false when a page of [p, need) stays unmapped. */
static bool map_window(struct vfc_iopf_core *c, size_t p, size_t need, size_t end)
{
	const uint64_t ps = c->r.page_size;
	bool ok = true;

	while (p < end) {
		size_t run = 0, demand;
		uint64_t t0;
		int r;

		if (page_mapped(c, p)) {
			p++;
			continue;
		}
		while (p + run < end && !page_mapped(c, p + run))
			run++;
		demand = p < need ? (need - p < run ? need - p : run) : 0;
		t0 = vfc_now_ns();
		r = c->map(c->map_data, c->r.iova + p * ps, c->r.vaddr + p * ps, run * ps);
		if (r && demand && demand < run) {
			/* premap ran into something the faulting pages may not */
			c->st.map_calls++;
			c->st.map_errors++;
			c->st.last_error = r;
			run = demand;
			r = c->map(c->map_data, c->r.iova + p * ps, c->r.vaddr + p * ps,
				   run * ps);
			/* the premap pages after it would fail the same way */
			end = p + run;
		}
		c->st.map_ns += vfc_now_ns() - t0;
		c->st.map_calls++;
		if (r) {
			c->st.map_errors++;
			c->st.last_error = r;
			if (demand)
				ok = false;
			/* the rest of the window would fail the same way */
			break;
		}
		mark_mapped(c, p, run);
		c->st.pages_mapped += run;
		c->st.pages_premapped += run - demand;
		p += run;
	}
	return ok;
}

/* Serves one record; false when the device must be told INVALID. */
static bool serve_record(struct vfc_iopf_core *c, const struct vfc_k_pgfault *f)
{
	const uint64_t ps = c->r.page_size;
	uint64_t off, last, span;
	size_t first, need, end, p;

	c->st.records++;
	if (f->addr < c->r.iova || f->addr - c->r.iova >= c->r.size ||
	    ((f->perm & VFC_PGFAULT_PERM_WRITE) && !c->r.writable)) {
		c->st.out_of_region++;
		return false;
	}
	off = f->addr - c->r.iova;
	span = f->length ? f->length : 1;
	/* a length hint past the region is clipped: the faulting page is inside */
	last = span - 1 > c->r.size - 1 - off ? c->r.size - 1 : off + span - 1;
	first = off / ps;
	need = last / ps + 1;
	for (p = first; p < need && page_mapped(c, p); p++)
		;
	if (p == need) {
		/* queued before an earlier fault's premap covered it */
		c->st.already_mapped++;
		return true;
	}
	end = c->npages - need > c->premap ? need + c->premap : c->npages;
	return map_window(c, first, need, end);
}

/* ---- groups ---- */

static struct vfc_iopf_open_group *find_group(struct vfc_iopf_core *c,
					      const struct vfc_k_pgfault *f)
{
	uint32_t pasid = f->flags & VFC_PGFAULT_FLAGS_PASID_VALID ? f->pasid : UINT32_MAX;

	for (size_t i = 0; i < c->nopen; i++)
		if (c->open[i].dev_id == f->dev_id && c->open[i].pasid == pasid &&
		    c->open[i].grpid == f->grpid)
			return &c->open[i];
	return NULL;
}

static struct vfc_iopf_open_group *open_group(struct vfc_iopf_core *c,
					      const struct vfc_k_pgfault *f,
					      uint64_t t_read)
{
	struct vfc_iopf_open_group *g;

	if (c->nopen == VFC_IOPF_MAX_OPEN_GROUPS)
		return NULL;
	g = &c->open[c->nopen++];
	*g = (struct vfc_iopf_open_group){
		.dev_id = f->dev_id,
		.pasid = f->flags & VFC_PGFAULT_FLAGS_PASID_VALID ? f->pasid : UINT32_MAX,
		.grpid = f->grpid,
		.t_start = t_read,
	};
	return g;
}

static void close_group(struct vfc_iopf_core *c, struct vfc_iopf_open_group *g)
{
	*g = c->open[--c->nopen];
}

/* ---- responses ---- */

static void add_latency(struct vfc_iopf_core *c, uint64_t ns)
{
	if (!c->st.groups || ns < c->st.lat_min_ns)
		c->st.lat_min_ns = ns;
	if (ns > c->st.lat_max_ns)
		c->st.lat_max_ns = ns;
	if (c->nlat == c->lat_cap) {
		size_t cap = c->lat_cap ? c->lat_cap * 2 : 256;
		uint64_t *l = realloc(c->lat, cap * sizeof(*l));

		if (!l)
			return; /* the median then leaves this sample out */
		c->lat = l;
		c->lat_cap = cap;
	}
	c->lat[c->nlat++] = ns;
}

/*
 * Answers one group at once, rather than once per read: the device waits on
 * this very page, and the kernel hands over several groups in one read when
 * it queued them faster than they were served (seen under load: a burst of
 * 32 faults came in 11 reads, and batching the answers made the median wait
 * 8 ms instead of the map time). An answer the kernel refuses (EINVAL: a
 * cookie it does not know) is counted and serving goes on.
 */
static int write_response(struct vfc_iopf_core *c, int fd, uint32_t cookie, bool invalid,
			  uint64_t t_start)
{
	struct vfc_k_page_response resp = {
		.cookie = cookie,
		.code = invalid ? VFC_PAGE_RESP_INVALID : VFC_PAGE_RESP_SUCCESS,
	};
	ssize_t w;

	do
		w = write(fd, &resp, sizeof(resp));
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EINVAL) {
		c->st.resp_errors++;
		c->st.last_error = -EINVAL;
		return 0;
	}
	if (w < 0) {
		int err = errno;

		snprintf(c->errmsg, sizeof(c->errmsg),
			 "writing a page response to the fault queue: %s", strerror(err));
		return -err;
	}
	if ((size_t)w != sizeof(resp)) {
		c->st.protocol_errors++;
		snprintf(c->errmsg, sizeof(c->errmsg),
			 "the fault queue took %zd bytes of a %zu-byte response", w, sizeof(resp));
		return -EPROTO;
	}
	add_latency(c, vfc_now_ns() - t_start);
	c->st.groups++;
	if (invalid)
		c->st.invalid++;
	else
		c->st.success++;
	return 0;
}

int vfc_iopf_core_feed(struct vfc_iopf_core *c, const void *buf, size_t len,
		       uint64_t t_read, int resp_fd)
{
	size_t nrec = len / VFC_IOPF_RECORD;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (nrec)
		c->st.reads++;
	for (size_t i = 0; i < nrec && !r; i++) {
		struct vfc_k_pgfault f;
		struct vfc_iopf_open_group *g, single;
		bool served;

		memcpy(&f, (const uint8_t *)buf + i * VFC_IOPF_RECORD, sizeof(f));
		served = serve_record(c, &f);
		g = find_group(c, &f);
		if (!g && !(f.flags & VFC_PGFAULT_FLAGS_LAST_PAGE)) {
			g = open_group(c, &f, t_read);
			if (!g) {
				c->st.protocol_errors++;
				snprintf(c->errmsg, sizeof(c->errmsg),
					 "more than %d fault groups without their last page",
					 VFC_IOPF_MAX_OPEN_GROUPS);
				r = -EPROTO;
				break;
			}
		}
		if (!g) {
			single = (struct vfc_iopf_open_group){ .t_start = t_read };
			g = &single;
		}
		g->invalid |= !served;
		if (!(f.flags & VFC_PGFAULT_FLAGS_LAST_PAGE))
			continue;
		r = write_response(c, resp_fd, f.cookie, g->invalid, g->t_start);
		if (g != &single)
			close_group(c, g);
	}
	if (!r && len % VFC_IOPF_RECORD) {
		c->st.protocol_errors++;
		snprintf(c->errmsg, sizeof(c->errmsg),
			 "a read from the fault queue returned %zu bytes, not whole %zu-byte "
			 "records (the kernel returns whole records only)",
			 len, VFC_IOPF_RECORD);
		r = -EPROTO;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* The kernel refuses (EINVAL) a read too small for the first queued group. */
static int grow_buffer(struct vfc_iopf_core *c)
{
	size_t n = c->buf_records * 2;
	uint8_t *b;

	if (n > VFC_IOPF_READ_RECORDS_MAX)
		return -E2BIG;
	b = realloc(c->buf, n * VFC_IOPF_RECORD);
	if (!b)
		return -ENOMEM;
	c->buf = b;
	c->buf_records = n;
	return 0;
}

static int fail_io(struct vfc_iopf_core *c, int err, const char *what)
{
	snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s", what, strerror(err));
	return -err;
}

int vfc_iopf_core_serve(struct vfc_iopf_core *c, int fault_fd, int resp_fd,
			int stop_fd)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = fault_fd, .events = POLLIN | POLLRDHUP },
			{ .fd = stop_fd, .events = POLLIN },
		};
		ssize_t n;
		uint64_t t;
		int r;

		if (poll(pfd, stop_fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail_io(c, errno, "waiting for page faults");
		}
		if (stop_fd >= 0 && pfd[1].revents)
			return 0;
		if (pfd[0].revents & POLLNVAL)
			return fail_io(c, EBADF, "waiting for page faults");
		if (!pfd[0].revents)
			continue;
		n = read(fault_fd, c->buf, c->buf_records * VFC_IOPF_RECORD);
		t = vfc_now_ns();
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == EINVAL) {
				r = grow_buffer(c);
				if (r)
					return fail_io(c, -r, "a fault group too large to read");
				continue;
			}
			return fail_io(c, errno, "reading the fault queue");
		}
		if (n == 0) {
			/* the kernel's queue: nothing queued (any more); a pipe: its end */
			if (pfd[0].revents & (POLLHUP | POLLRDHUP))
				return 0;
			continue;
		}
		r = vfc_iopf_core_feed(c, c->buf, (size_t)n, t, resp_fd);
		if (r)
			return r;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void vfc_iopf_core_stats(struct vfc_iopf_core *c, struct vfc_iopf_stats *out)
{
	uint64_t *copy;

	pthread_mutex_lock(&c->lock);
	*out = c->st;
	copy = c->nlat ? malloc(c->nlat * sizeof(*copy)) : NULL;
	if (copy) {
		size_t n = c->nlat;

		memcpy(copy, c->lat, n * sizeof(*copy));
		pthread_mutex_unlock(&c->lock);
		qsort(copy, n, sizeof(*copy), cmp_u64);
		/* the lower median for an even count: a latency that was measured */
		out->lat_median_ns = copy[(n - 1) / 2];
		free(copy);
		return;
	}
	pthread_mutex_unlock(&c->lock);
}

bool vfc_iopf_core_next_run(const struct vfc_iopf_core *c, size_t *page,
			    size_t *npages)
{
	size_t p = *page, n = 0;

	while (p < c->npages && !page_mapped(c, p))
		p++;
	if (p >= c->npages)
		return false;
	while (p + n < c->npages && page_mapped(c, p + n))
		n++;
	*page = p;
	*npages = n;
	return true;
}
