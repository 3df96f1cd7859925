// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The I/O page fault protocol without a kernel: crafted fault records go in
 * through a pipe, the core maps through a recording callback, and what it
 * answered is read back from another pipe, byte for byte as the kernel would
 * get it. Covers single faults, groups (one answer, the LAST_PAGE record's
 * cookie), reads that are not whole records, addresses outside the region,
 * premap, length hints, map failures and the statistics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iommu-priv.h"
#include "iopf-priv.h"
#include "tap.h"

#define PS 4096ull
#define IOVA 0x100000ull
#define NPAGES 16
#define LAST VFC_PGFAULT_FLAGS_LAST_PAGE
#define RW (VFC_PGFAULT_PERM_READ | VFC_PGFAULT_PERM_WRITE)

static uint8_t region[NPAGES * PS] __attribute__((aligned(4096)));

struct call {
	uint64_t iova, len;
	void *vaddr;
};

struct mapper {
	struct call calls[64];
	int n;
	uint64_t fail_above; /* maps longer than this fail with ENOMEM; 0: none */
	bool fail_all;
	int peek_fd;      /* > 0: note the bytes answered so far at each call */
	int answered[64];
};

static int rec_map(void *data, uint64_t iova, void *vaddr, uint64_t len)
{
	struct mapper *m = data;

	if (m->n < 64) {
		m->calls[m->n] = (struct call){ iova, len, vaddr };
		if (m->peek_fd > 0 && ioctl(m->peek_fd, FIONREAD, &m->answered[m->n]))
			m->answered[m->n] = -1;
	}
	m->n++;
	if (m->fail_all || (m->fail_above && len > m->fail_above))
		return -ENOMEM;
	return 0;
}

static struct vfc_k_pgfault rec(uint64_t addr, uint32_t grpid, uint32_t flags,
				uint32_t cookie)
{
	return (struct vfc_k_pgfault){
		.flags = flags, .dev_id = 1, .grpid = grpid, .perm = RW,
		.addr = addr, .cookie = cookie,
	};
}

struct run {
	struct vfc_iopf_core c;
	struct mapper m;
	struct vfc_k_page_response resp[64];
	int nresp;
	int rc;
	struct vfc_iopf_stats st;
};

static void setup(struct run *r, unsigned int premap, bool writable)
{
	struct vfc_iopf_region reg = {
		.vaddr = region, .iova = IOVA, .size = sizeof(region), .page_size = PS,
		.writable = writable,
	};

	memset(r, 0, sizeof(*r));
	if (vfc_iopf_core_init(&r->c, &reg, premap, rec_map, &r->m))
		abort();
}

/* Writes raw bytes as one pipe write, serves to end of file, reads the answers. */
static void serve_bytes(struct run *r, const void *bytes, size_t len)
{
	int in[2], out[2];
	ssize_t n;

	if (pipe(in) || pipe2(out, O_NONBLOCK))
		abort();
	if (len && write(in[1], bytes, len) != (ssize_t)len)
		abort();
	close(in[1]);
	r->rc = vfc_iopf_core_serve(&r->c, in[0], out[1], -1);
	close(in[0]);
	close(out[1]);
	n = read(out[0], r->resp, sizeof(r->resp));
	r->nresp = n > 0 ? (int)(n / (ssize_t)sizeof(r->resp[0])) : 0;
	close(out[0]);
	vfc_iopf_core_stats(&r->c, &r->st);
}

static void serve(struct run *r, const struct vfc_k_pgfault *f, size_t n)
{
	serve_bytes(r, f, n * sizeof(*f));
}

static void test_single(void)
{
	struct vfc_k_pgfault f = rec(IOVA + 3 * PS + 0x123, 5, LAST, 7);
	struct run r;

	setup(&r, 0, true);
	serve(&r, &f, 1);
	is_int(r.rc, 0, "single fault: served to end of file");
	is_int(r.nresp, 1, "single fault: one response");
	is_int(r.resp[0].cookie, 7, "single fault: the record's cookie");
	is_int(r.resp[0].code, VFC_PAGE_RESP_SUCCESS, "single fault: success");
	is_int(r.m.n, 1, "single fault: one map call");
	is_u64(r.m.calls[0].iova, IOVA + 3 * PS, "single fault: the page holding the address");
	is_u64(r.m.calls[0].len, PS, "single fault: one page (no length hint)");
	ok(r.m.calls[0].vaddr == region + 3 * PS, "single fault: from the same offset of the region");
	is_int(r.st.records, 1, "single fault: 1 record");
	is_int(r.st.groups, 1, "single fault: 1 group answered");
	is_int(r.st.success, 1, "single fault: 1 success");
	is_int(r.st.pages_mapped, 1, "single fault: 1 page mapped");
	is_int(r.st.pages_premapped, 0, "single fault: nothing premapped");
	vfc_iopf_core_fini(&r.c);
}

static void test_group(void)
{
	/* the kernel gives a group one cookie; different ones show which is echoed */
	struct vfc_k_pgfault f[3] = {
		rec(IOVA + 1 * PS, 9, 0, 101),
		rec(IOVA + 4 * PS, 9, 0, 102),
		rec(IOVA + 7 * PS, 9, LAST, 103),
	};
	struct run r;

	setup(&r, 0, true);
	serve(&r, f, 3);
	is_int(r.rc, 0, "group of 3: served");
	is_int(r.nresp, 1, "group of 3: one response for the group");
	is_int(r.resp[0].cookie, 103, "group of 3: the LAST_PAGE record's cookie");
	is_int(r.resp[0].code, VFC_PAGE_RESP_SUCCESS, "group of 3: success");
	is_int(r.m.n, 3, "group of 3: every page of the group mapped");
	is_int(r.st.records, 3, "group of 3: 3 records");
	is_int(r.st.groups, 1, "group of 3: 1 group");
	is_int(r.st.pages_mapped, 3, "group of 3: 3 pages");
	vfc_iopf_core_fini(&r.c);
}

static void test_group_invalid(void)
{
	struct vfc_k_pgfault f[3] = {
		rec(IOVA + 1 * PS, 4, 0, 50),
		rec(IOVA + NPAGES * PS, 4, 0, 50), /* just past the region */
		rec(IOVA + 2 * PS, 4, LAST, 50),
	};
	struct run r;

	setup(&r, 0, true);
	serve(&r, f, 3);
	is_int(r.nresp, 1, "group with a bad page: one response");
	is_int(r.resp[0].code, VFC_PAGE_RESP_INVALID, "group with a bad page: INVALID");
	is_int(r.st.out_of_region, 1, "group with a bad page: counted out of region");
	is_int(r.st.invalid, 1, "group with a bad page: 1 invalid answer");
	is_int(r.m.n, 2, "group with a bad page: only the pages inside were mapped");
	vfc_iopf_core_fini(&r.c);
}

static void test_group_over_two_reads(void)
{
	struct vfc_k_pgfault a[2] = { rec(IOVA, 3, 0, 8), rec(IOVA + PS, 3, 0, 8) };
	struct vfc_k_pgfault b = rec(IOVA + 2 * PS, 3, LAST, 8);
	struct run r;
	int p[2];
	struct vfc_k_page_response resp[4];
	ssize_t n;

	setup(&r, 0, true);
	if (pipe2(p, O_NONBLOCK))
		abort();
	is_int(vfc_iopf_core_feed(&r.c, a, sizeof(a), vfc_now_ns(), p[1]), 0,
	       "group split over reads: first part accepted");
	n = read(p[0], resp, sizeof(resp));
	ok(n < 0 && errno == EAGAIN, "group split over reads: no answer before LAST_PAGE");
	is_int(vfc_iopf_core_feed(&r.c, &b, sizeof(b), vfc_now_ns(), p[1]), 0,
	       "group split over reads: last part accepted");
	n = read(p[0], resp, sizeof(resp));
	is_int(n, sizeof(resp[0]), "group split over reads: one answer after LAST_PAGE");
	is_int(resp[0].cookie, 8, "group split over reads: its cookie");
	close(p[0]);
	close(p[1]);
	vfc_iopf_core_fini(&r.c);
}

static void test_several_per_read(void)
{
	struct vfc_k_pgfault f[3] = {
		rec(IOVA + 0 * PS, 1, LAST, 11),
		rec(IOVA + 5 * PS, 2, LAST, 12),
		rec(IOVA + 9 * PS, 3, LAST, 13),
	};
	struct run r;

	setup(&r, 0, true);
	serve(&r, f, 3);
	is_int(r.nresp, 3, "3 faults in one read: 3 responses");
	ok(r.resp[0].cookie == 11 && r.resp[1].cookie == 12 && r.resp[2].cookie == 13,
	   "3 faults in one read: answered in order");
	is_int(r.st.groups, 3, "3 faults in one read: 3 groups");
	is_int(r.st.reads, 1, "3 faults in one read: 1 read");
	vfc_iopf_core_fini(&r.c);
}

/* Each group is answered before the next one of the same read is mapped. */
static void test_answer_early(void)
{
	struct vfc_k_pgfault f[3] = {
		rec(IOVA + 0 * PS, 1, LAST, 1),
		rec(IOVA + 5 * PS, 2, LAST, 2),
		rec(IOVA + 9 * PS, 3, LAST, 3),
	};
	struct run r;
	int p[2];

	setup(&r, 0, true);
	if (pipe(p))
		abort();
	r.m.peek_fd = p[0];
	is_int(vfc_iopf_core_feed(&r.c, f, sizeof(f), vfc_now_ns(), p[1]), 0,
	       "answer early: 3 groups in one read");
	ok(r.m.answered[0] == 0 && r.m.answered[1] == 8 && r.m.answered[2] == 16,
	   "answer early: each group answered before the next is mapped (%d, %d, %d bytes)",
	   r.m.answered[0], r.m.answered[1], r.m.answered[2]);
	close(p[0]);
	close(p[1]);
	vfc_iopf_core_fini(&r.c);
}

static void test_partial_record(void)
{
	uint8_t bytes[sizeof(struct vfc_k_pgfault) + 20];
	struct vfc_k_pgfault f = rec(IOVA + 2 * PS, 1, LAST, 21), g = rec(IOVA, 2, LAST, 22);
	struct run r;

	memcpy(bytes, &f, sizeof(f));
	memcpy(bytes + sizeof(f), &g, 20);
	setup(&r, 0, true);
	serve_bytes(&r, bytes, sizeof(bytes));
	is_int(r.rc, -EPROTO, "a read of 1.5 records: protocol error");
	ok(strstr(r.c.errmsg, "60 bytes") && strstr(r.c.errmsg, "whole"),
	   "a read of 1.5 records: says so (%s)", r.c.errmsg);
	is_int(r.nresp, 1, "a read of 1.5 records: the whole record before it answered");
	is_int(r.resp[0].cookie, 21, "a read of 1.5 records: the whole one's cookie");
	is_int(r.m.n, 1, "a read of 1.5 records: the fragment mapped nothing");
	is_int(r.st.records, 1, "a read of 1.5 records: the fragment is no record");
	is_int(r.st.protocol_errors, 1, "a read of 1.5 records: 1 protocol error");
	vfc_iopf_core_fini(&r.c);

	setup(&r, 0, true);
	serve_bytes(&r, bytes, 20);
	is_int(r.rc, -EPROTO, "a read shorter than a record: protocol error");
	is_int(r.nresp, 0, "a read shorter than a record: nothing answered");
	vfc_iopf_core_fini(&r.c);
}

static void test_outside(void)
{
	struct vfc_k_pgfault f[2] = {
		rec(IOVA - 1, 1, LAST, 31),
		rec(IOVA + NPAGES * PS + 5 * PS, 2, LAST, 32),
	};
	struct run r;

	setup(&r, 4, true);
	serve(&r, f, 2);
	is_int(r.nresp, 2, "outside the region: both answered");
	ok(r.resp[0].code == VFC_PAGE_RESP_INVALID && r.resp[1].code == VFC_PAGE_RESP_INVALID,
	   "outside the region: INVALID, below and above");
	is_int(r.m.n, 0, "outside the region: nothing mapped");
	is_int(r.st.out_of_region, 2, "outside the region: counted");
	vfc_iopf_core_fini(&r.c);
}

static void test_read_only(void)
{
	struct vfc_k_pgfault f[2] = { rec(IOVA, 1, LAST, 41), rec(IOVA + PS, 2, LAST, 42) };
	struct run r;

	f[1].perm = VFC_PGFAULT_PERM_READ;
	setup(&r, 0, false);
	serve(&r, f, 2);
	is_int(r.resp[0].code, VFC_PAGE_RESP_INVALID, "read-only region: a write fault is INVALID");
	is_int(r.resp[1].code, VFC_PAGE_RESP_SUCCESS, "read-only region: a read fault is served");
	is_int(r.m.n, 1, "read-only region: only the read fault mapped");
	vfc_iopf_core_fini(&r.c);
}

static void test_zero_length(void)
{
	/* the kernel always sends length 0 ("no hint"): a normal record */
	struct vfc_k_pgfault f = rec(IOVA + PS + 8, 1, LAST, 51);
	struct run r;

	setup(&r, 0, true);
	serve(&r, &f, 1);
	is_int(r.resp[0].code, VFC_PAGE_RESP_SUCCESS, "length 0: served");
	is_u64(r.m.calls[0].len, PS, "length 0: one page");
	vfc_iopf_core_fini(&r.c);
}

static void test_length_hint(void)
{
	struct vfc_k_pgfault f[2] = { rec(IOVA + PS + 0x800, 1, LAST, 61),
				      rec(IOVA + 14 * PS, 2, LAST, 62) };
	struct run r;

	f[0].length = 2 * PS;     /* 0x1800..0x37ff: pages 1..3 */
	f[1].length = 100 * PS;   /* past the end: clipped */
	setup(&r, 0, true);
	serve(&r, f, 2);
	is_int(r.m.n, 2, "length hint: one map per fault");
	is_u64(r.m.calls[0].len, 3 * PS, "length hint: every page the hint touches");
	is_u64(r.m.calls[1].len, 2 * PS, "length hint past the region: clipped at its end");
	is_int(r.resp[1].code, VFC_PAGE_RESP_SUCCESS, "length hint past the region: still served");
	is_int(r.st.pages_premapped, 0, "length hint: hinted pages are not premapped ones");
	vfc_iopf_core_fini(&r.c);
}

static void test_premap(void)
{
	struct vfc_k_pgfault f[4] = {
		rec(IOVA + 2 * PS, 1, LAST, 71),  /* maps 2..5 */
		rec(IOVA + 4 * PS, 2, LAST, 72),  /* mapped already */
		rec(IOVA + 5 * PS, 3, LAST, 73),  /* mapped already */
		rec(IOVA + 14 * PS, 4, LAST, 74), /* 14..15: clipped at the end */
	};
	struct run r;
	size_t page = 0, n = 0;

	setup(&r, 3, true);
	serve(&r, f, 4);
	is_int(r.nresp, 4, "premap 3: every fault answered");
	is_int(r.m.n, 2, "premap 3: two map calls");
	is_u64(r.m.calls[0].iova, IOVA + 2 * PS, "premap 3: from the faulting page");
	is_u64(r.m.calls[0].len, 4 * PS, "premap 3: faulting page + 3 ahead, one call");
	is_u64(r.m.calls[1].len, 2 * PS, "premap 3: clipped at the region's end");
	is_int(r.st.already_mapped, 2, "premap 3: 2 faults found their page mapped");
	is_int(r.st.pages_mapped, 6, "premap 3: 6 pages mapped");
	is_int(r.st.pages_premapped, 4, "premap 3: 4 of them ahead of a fault");
	is_int(r.st.success, 4, "premap 3: all success");
	ok(vfc_iopf_core_next_run(&r.c, &page, &n) && page == 2 && n == 4,
	   "mapped runs: pages 2..5 first (%zu+%zu)", page, n);
	page += n;
	ok(vfc_iopf_core_next_run(&r.c, &page, &n) && page == 14 && n == 2,
	   "mapped runs: then 14..15 (%zu+%zu)", page, n);
	page += n;
	ok(!vfc_iopf_core_next_run(&r.c, &page, &n), "mapped runs: no more");
	vfc_iopf_core_fini(&r.c);
}

static void test_premap_gap(void)
{
	/* page 4 mapped first; a fault at 2 with premap 4 maps 2..3 and 5..6 */
	struct vfc_k_pgfault f[2] = { rec(IOVA + 4 * PS, 1, LAST, 1), rec(IOVA + 2 * PS, 2, LAST, 2) };
	struct run r;

	setup(&r, 0, true);
	serve(&r, f, 1);
	r.c.premap = 4;
	r.m.n = 0;
	serve(&r, f + 1, 1);
	is_int(r.m.n, 2, "premap around a mapped page: two runs");
	ok(r.m.calls[0].iova == IOVA + 2 * PS && r.m.calls[0].len == 2 * PS,
	   "premap around a mapped page: 2..3");
	ok(r.m.calls[1].iova == IOVA + 5 * PS && r.m.calls[1].len == 2 * PS,
	   "premap around a mapped page: 5..6");
	vfc_iopf_core_fini(&r.c);
}

static void test_map_failure(void)
{
	struct vfc_k_pgfault f = rec(IOVA, 1, LAST, 81);
	struct run r;

	setup(&r, 0, true);
	r.m.fail_all = true;
	serve(&r, &f, 1);
	is_int(r.resp[0].code, VFC_PAGE_RESP_INVALID, "map fails: INVALID");
	is_int(r.st.map_errors, 1, "map fails: counted");
	is_int(r.st.last_error, -ENOMEM, "map fails: its error kept");
	is_int(r.st.pages_mapped, 0, "map fails: nothing counted mapped");
	vfc_iopf_core_fini(&r.c);

	/* premap over a limit the faulting page alone stays under */
	setup(&r, 5, true);
	r.m.fail_above = PS;
	serve(&r, &f, 1);
	is_int(r.resp[0].code, VFC_PAGE_RESP_SUCCESS, "premap fails: the fault is still served");
	is_int(r.m.n, 2, "premap fails: retried without premap");
	is_u64(r.m.calls[1].len, PS, "premap fails: the retry maps the faulting page only");
	is_int(r.st.pages_mapped, 1, "premap fails: 1 page mapped");
	is_int(r.st.map_errors, 1, "premap fails: the failed attempt counted");
	vfc_iopf_core_fini(&r.c);
}

static void test_stats_latency(void)
{
	struct vfc_k_pgfault f[5];
	struct run r;

	for (int i = 0; i < 5; i++)
		f[i] = rec(IOVA + (uint64_t)i * 3 * PS, (uint32_t)i, LAST, (uint32_t)i + 1);
	setup(&r, 0, true);
	serve(&r, f, 5);
	is_int(r.st.groups, 5, "latency: 5 groups");
	ok(r.st.lat_max_ns > 0, "latency: measured (max %llu ns)",
	   (unsigned long long)r.st.lat_max_ns);
	ok(r.st.lat_min_ns <= r.st.lat_median_ns && r.st.lat_median_ns <= r.st.lat_max_ns,
	   "latency: min %llu <= median %llu <= max %llu",
	   (unsigned long long)r.st.lat_min_ns, (unsigned long long)r.st.lat_median_ns,
	   (unsigned long long)r.st.lat_max_ns);
	is_int(r.st.map_calls, 5, "stats: 5 map calls");
	vfc_iopf_core_fini(&r.c);
}

static void test_too_many_open_groups(void)
{
	struct vfc_k_pgfault f[VFC_IOPF_MAX_OPEN_GROUPS + 1];
	struct run r;

	for (int i = 0; i <= VFC_IOPF_MAX_OPEN_GROUPS; i++)
		f[i] = rec(IOVA, (uint32_t)i, 0, 1);
	setup(&r, 0, true);
	serve(&r, f, VFC_IOPF_MAX_OPEN_GROUPS + 1);
	is_int(r.rc, -EPROTO, "more open groups than the table: protocol error");
	ok(strstr(r.c.errmsg, "last page") != NULL, "... says why (%s)", r.c.errmsg);
	vfc_iopf_core_fini(&r.c);
}

static void test_stop(void)
{
	struct run r;
	uint64_t one = 1;
	int in[2], out[2], stop = eventfd(0, 0);

	setup(&r, 0, true);
	if (pipe(in) || pipe(out) || stop < 0 || write(stop, &one, sizeof(one)) != 8)
		abort();
	/* the writer stays open: only the stop event can end this */
	is_int(vfc_iopf_core_serve(&r.c, in[0], out[1], stop), 0, "stop event: serving ends");
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	close(stop);
	vfc_iopf_core_fini(&r.c);
}

static void test_init(void)
{
	struct vfc_iopf_core c;
	struct vfc_iopf_region reg = { .vaddr = region, .iova = IOVA, .size = sizeof(region),
				       .page_size = PS };
	struct mapper m = { 0 };

	reg.iova = IOVA + 1;
	is_int(vfc_iopf_core_init(&c, &reg, 0, rec_map, &m), -EINVAL, "init: unaligned IOVA refused");
	reg.iova = IOVA;
	reg.page_size = 3000;
	is_int(vfc_iopf_core_init(&c, &reg, 0, rec_map, &m), -EINVAL,
	       "init: page size not a power of two refused");
	reg.page_size = PS;
	reg.iova = UINT64_MAX - PS + 1;
	is_int(vfc_iopf_core_init(&c, &reg, 0, rec_map, &m), -EINVAL, "init: wrapping region refused");
}

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* vfc_iopf_start() on something that is not /dev/iommu: refused, nothing left open */
static void test_start_refused(void)
{
	struct vfc_iopf_cfg cfg = {
		.ioas_id = 1, .dev_id = 2, .cdev_fd = -1, .vaddr = region, .iova = IOVA,
		.size = sizeof(region),
	};
	struct vfc_iopf *io = (struct vfc_iopf *)1;
	struct vfc_ctx *ctx;
	int before, r;

	if (vfc_new(NULL, &ctx))
		abort();
	cfg.iommufd = open("/dev/null", O_RDWR | O_CLOEXEC);
	r = vfc_iopf_start(ctx, &cfg, &io);
	is_int(r, -EINVAL, "start: no cdev and no attach function refused");
	ok(io == NULL, "start: *out cleared on failure");
	cfg.cdev_fd = cfg.iommufd;
	cfg.iova = IOVA + 1;
	is_int(vfc_iopf_start(ctx, &cfg, &io), -EINVAL, "start: unaligned IOVA refused");
	ok(strstr(vfc_errmsg(ctx), "page size") != NULL, "... says why (%s)", vfc_errmsg(ctx));
	cfg.iova = IOVA;
	before = count_fds();
	r = vfc_iopf_start(ctx, &cfg, &io);
	is_int(r, -ENOTTY, "start on a non-iommufd fd: the kernel's ENOTTY");
	ok(strstr(vfc_errmsg(ctx), "fault queue") && strstr(vfc_errhint(ctx), "6.11"),
	   "... decoded: %s (%s)", vfc_errmsg(ctx), vfc_errhint(ctx));
	is_int(count_fds(), before, "... no descriptor left open");
	is_int(vfc_iopf_stop(NULL, NULL), 0, "stop(NULL) is a no-op");
	close(cfg.iommufd);
	vfc_unref(ctx);
}

int main(void)
{
	test_single();
	test_group();
	test_group_invalid();
	test_group_over_two_reads();
	test_several_per_read();
	test_answer_early();
	test_partial_record();
	test_outside();
	test_read_only();
	test_zero_length();
	test_length_hint();
	test_premap();
	test_premap_gap();
	test_map_failure();
	test_stats_latency();
	test_too_many_open_groups();
	test_stop();
	test_init();
	test_start_refused();
	return tap_done();
}
