// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iopf-mock [--faults N] [--burst N] [--premap N]
 * iopf-mock --edu BDF
 *
 * End to end proof of libvfioctl's I/O page fault server on a real kernel.
 *
 * Without --edu it drives the kernel's iommufd selftest mock device
 * (CONFIG_IOMMUFD_TEST): an IOAS, a mock device on it (IOMMU_TEST_OP_MOCK_DOMAIN),
 * the library's fault queue and IOPF page table, the mock device moved onto
 * that page table (IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE), then faults raised with
 * IOMMU_TEST_OP_TRIGGER_IOPF, one at a time and then in a burst. The kernel
 * reports each fault through the fault queue exactly as for a PRI device; the
 * library maps the faulting page plus `premap` pages, and the helper checks
 * in the mock IOMMU's own page table (IOMMU_TEST_OP_MD_CHECK_MAP) that those
 * pages now translate to the right user pages and that a page between two
 * windows does not: the mapping is lazy. After the library's teardown nothing
 * is left: the IOAS holds no mapping, the object ids are free again, no fault
 * fd is open.
 *
 * With --edu it proves the refusal on a device without PRI (QEMU's edu behind
 * the emulated VT-d): the device's VFIO cdev is bound to iommufd and attached
 * to an IOAS, the library's attach to the IOPF page table must fail with
 * ENODEV and the decoded message, and leave the device where it was (still
 * attached to the IOAS) with no object or fd behind.
 *
 * Exit 0 when everything holds, 1 when something failed, 2 on bad usage,
 * 77 when the kernel cannot run the test (no /dev/iommu, no selftest, no cdev).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "uapi-iopf.h"
#include "vfioctl.h"

#define EXIT_SKIP 77

/* ---- the selftest interface (drivers/iommu/iommufd/iommufd_test.h) ---- */

#define MOCK_TEST_CMD _IO(IOMMUFD_TYPE, 0x80 + 32)
enum {
	MOCK_OP_MOCK_DOMAIN = 2,
	MOCK_OP_MD_CHECK_MAP = 3,
	MOCK_OP_MOCK_DOMAIN_REPLACE = 10,
	MOCK_OP_TRIGGER_IOPF = 15,
};
/* the mock IOMMU's aperture */
#define MOCK_APERTURE_START (1ull << 24)
#define MOCK_APERTURE_LAST  ((1ull << 31) - 1)

struct mock_cmd {
	uint32_t size;
	uint32_t op;
	uint32_t id;
	uint32_t reserved;
	union {
		struct {
			uint32_t out_stdev_id;
			uint32_t out_hwpt_id;
			uint32_t out_idev_id;
		} mock_domain;
		struct {
			uint32_t pt_id;
		} replace;
		struct {
			uint64_t iova;
			uint64_t length;
			uint64_t uptr;
		} check_map;
		struct {
			uint32_t dev_id;
			uint32_t pasid;
			uint32_t grpid;
			uint32_t perm;
			uint64_t addr;
		} trigger_iopf;
		/* the kernel's union is 48 bytes (its largest member, dirty) */
		uint64_t pad[6];
	};
	uint32_t last;
};
_Static_assert(sizeof(struct mock_cmd) == 72, "iommu_test_cmd layout");

static int mock_cmd(int fd, struct mock_cmd *c)
{
	c->size = sizeof(*c);
	return ioctl(fd, MOCK_TEST_CMD, c) ? -errno : 0;
}

/* ---- output ---- */

static int failures;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("iopf-mock: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static bool check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("iopf-mock: %s: ", cond ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures += !cond;
	return cond;
}

static int lib_fail(struct vfc_ctx *ctx, int err, const char *what)
{
	const char *hint = vfc_errhint(ctx);

	say("FAIL: %s: %s: %s%s%s%s", what, vfc_errmsg(ctx), strerror(-err),
	    hint[0] ? " (" : "", hint, hint[0] ? ")" : "");
	return 1;
}

/* ---- iommufd basics ---- */

static int ioas_alloc(int fd, uint32_t *id)
{
	struct vfc_k_ioas_alloc a = { .size = sizeof(a) };

	if (ioctl(fd, VFC_IOMMU_IOAS_ALLOC, &a))
		return -errno;
	*id = a.out_ioas_id;
	return 0;
}

static int destroy(int fd, uint32_t id)
{
	struct vfc_k_destroy d = { .size = sizeof(d), .id = id };

	return ioctl(fd, VFC_IOMMU_DESTROY, &d) ? -errno : 0;
}

/* Bytes still mapped in the IOAS, unmapping them (-errno on failure). */
static int64_t unmap_all(int fd, uint32_t ioas)
{
	struct vfc_k_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = ioas, .iova = 0, .length = VFC_IOAS_UNMAP_ALL_LENGTH,
	};

	return ioctl(fd, VFC_IOMMU_IOAS_UNMAP, &u) ? -errno : (int64_t)u.length;
}

/*
 * The id the next object will get. iommufd hands out the lowest free id, so
 * after a teardown the ids the library used must come back in order.
 */
static int next_ids(int fd, uint32_t *a, uint32_t *b)
{
	uint32_t x, y;
	int r = ioas_alloc(fd, &x);

	if (r)
		return r;
	r = ioas_alloc(fd, &y);
	if (!r)
		destroy(fd, y);
	destroy(fd, x);
	*a = x;
	*b = y;
	return r;
}

/* Open fault queue fds of this process ("anon_inode:[iommufd-pgfault]"). */
static int fault_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], target[128];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = 0;
		n += strstr(target, "iommufd-pgfault") != NULL;
	}
	closedir(d);
	return n;
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void print_stats(const struct vfc_iopf_stats *s)
{
	say("stats: faults %" PRIu64 " (groups answered %" PRIu64 ": success %" PRIu64
	    ", invalid %" PRIu64 "), records %" PRIu64 " in %" PRIu64 " reads",
	    s->groups, s->groups, s->success, s->invalid, s->records, s->reads);
	say("stats: pages mapped lazily %" PRIu64 " (%" PRIu64 " premapped), map calls %" PRIu64
	    " (%.1f us in all), already mapped %" PRIu64 ", outside the region %" PRIu64,
	    s->pages_mapped, s->pages_premapped, s->map_calls, us(s->map_ns), s->already_mapped,
	    s->out_of_region);
	say("stats: service latency (read to response written) min %.1f us, median %.1f us, "
	    "max %.1f us", us(s->lat_min_ns), us(s->lat_median_ns), us(s->lat_max_ns));
}

/* ---- the mock device run ---- */

struct mock {
	int fd;
	uint32_t ioas, stdev, idev;
	uint8_t *mem;
	uint64_t size, page, iova;
};

/* The library's attach hook: the mock device is no VFIO cdev. */
static int mock_attach(void *data, uint32_t pt_id)
{
	struct mock *m = data;
	struct mock_cmd c = { .op = MOCK_OP_MOCK_DOMAIN_REPLACE, .id = m->stdev };

	/* a mock device cannot be left unattached: "detach" goes back to the IOAS */
	c.replace.pt_id = pt_id ? pt_id : m->ioas;
	return mock_cmd(m->fd, &c);
}

static int trigger(struct mock *m, uint64_t addr, uint32_t grpid)
{
	struct mock_cmd c = { .op = MOCK_OP_TRIGGER_IOPF };

	c.trigger_iopf.dev_id = m->idev;
	c.trigger_iopf.pasid = 0; /* with a PASID the mock's fault finds no handler */
	c.trigger_iopf.grpid = grpid;
	c.trigger_iopf.perm = VFC_PGFAULT_PERM_READ | VFC_PGFAULT_PERM_WRITE;
	c.trigger_iopf.addr = addr;
	return mock_cmd(m->fd, &c);
}

/* Does the mock page table translate [page, page + n) to our memory? */
static int md_check(struct mock *m, uint32_t hwpt, uint64_t page, uint64_t n)
{
	struct mock_cmd c = { .op = MOCK_OP_MD_CHECK_MAP, .id = hwpt };

	c.check_map.iova = m->iova + page * m->page;
	c.check_map.length = n * m->page;
	c.check_map.uptr = (uintptr_t)(m->mem + page * m->page);
	return mock_cmd(m->fd, &c);
}

/* Waits until the library has answered `groups` fault groups. */
static bool wait_groups(struct vfc_iopf *io, uint64_t groups)
{
	struct timespec ts = { 0, 200000 };
	struct vfc_iopf_stats s;

	for (int i = 0; i < 100000; i++) { /* 20 s: TCG is slow */
		vfc_iopf_stats(io, &s);
		if (s.groups >= groups || !s.serving)
			return s.groups >= groups;
		nanosleep(&ts, NULL);
	}
	return false;
}

static int run_mock(struct vfc_ctx *ctx, unsigned int nfaults, unsigned int burst,
		    unsigned int premap)
{
	/* windows of (1 + premap) pages, one unmapped page between two */
	const uint64_t stride = premap + 2;
	struct mock m = { .page = (uint64_t)sysconf(_SC_PAGESIZE), .iova = MOCK_APERTURE_START };
	struct mock_cmd c = { .op = MOCK_OP_MOCK_DOMAIN };
	struct vfc_iopf_stats s;
	struct vfc_iopf_cfg cfg;
	struct vfc_iopf *io = NULL;
	uint32_t id_a, id_b, got_a, got_b;
	uint64_t npages, burst_base, expect_pages = 0;
	int r, rc = 1;

	m.fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (m.fd < 0) {
		say("SKIP: /dev/iommu: %s (a kernel without CONFIG_IOMMUFD)", strerror(errno));
		return EXIT_SKIP;
	}
	r = ioas_alloc(m.fd, &m.ioas);
	if (r) {
		say("FAIL: IOMMU_IOAS_ALLOC: %s", strerror(-r));
		goto out;
	}
	c.id = m.ioas;
	r = mock_cmd(m.fd, &c);
	if (r == -ENOTTY) {
		say("SKIP: IOMMU_TEST_CMD: %s (a kernel without CONFIG_IOMMUFD_TEST)", strerror(-r));
		rc = EXIT_SKIP;
		goto out;
	}
	if (r) {
		say("FAIL: IOMMU_TEST_OP_MOCK_DOMAIN: %s", strerror(-r));
		goto out;
	}
	m.stdev = c.mock_domain.out_stdev_id;
	m.idev = c.mock_domain.out_idev_id;

	npages = nfaults * stride + (uint64_t)burst * (premap + 1) + 1;
	m.size = npages * m.page;
	if (m.iova + m.size - 1 > MOCK_APERTURE_LAST) {
		say("FAIL: %" PRIu64 " pages do not fit the mock aperture", npages);
		goto out;
	}
	m.mem = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m.mem == MAP_FAILED) {
		say("FAIL: mmap %" PRIu64 " bytes: %s", m.size, strerror(errno));
		m.mem = NULL;
		goto out;
	}
	say("mock device %u (iommufd device %u, initial page table %u) on IOAS %u; region "
	    "IOVA 0x%" PRIx64 "+0x%" PRIx64 " (%" PRIu64 " pages), premap %u",
	    m.stdev, m.idev, c.mock_domain.out_hwpt_id, m.ioas, m.iova, m.size, npages, premap);

	r = next_ids(m.fd, &id_a, &id_b);
	if (r) {
		say("FAIL: probing object ids: %s", strerror(-r));
		goto out;
	}
	cfg = (struct vfc_iopf_cfg){
		.iommufd = m.fd, .ioas_id = m.ioas, .dev_id = m.idev, .cdev_fd = -1,
		.attach = mock_attach, .attach_data = &m, .restore_pt_id = m.ioas,
		.vaddr = m.mem, .iova = m.iova, .size = m.size, .page_size = m.page,
		.premap = premap,
	};
	r = vfc_iopf_start(ctx, &cfg, &io);
	if (r) {
		rc = lib_fail(ctx, r, "vfc_iopf_start");
		goto out;
	}
	check(vfc_iopf_fault_id(io) == id_a && vfc_iopf_hwpt_id(io) == id_b,
	      "fault queue %u and IOPF page table %u allocated, mock device moved onto it",
	      vfc_iopf_fault_id(io), vfc_iopf_hwpt_id(io));
	check(md_check(&m, vfc_iopf_hwpt_id(io), 0, 1) != 0,
	      "before any fault the region is not mapped");

	/* one at a time: each fault waits for its answer */
	for (unsigned int i = 0; i < nfaults; i++) {
		r = trigger(&m, m.iova + i * stride * m.page + 0x10 * i, i);
		if (r || !wait_groups(io, i + 1)) {
			check(false, "fault %u at page %" PRIu64 " %s", i, i * stride,
			      r ? strerror(-r) : "was not answered");
			goto stop;
		}
		expect_pages += premap + 1;
	}
	check(true, "%u faults raised one at a time, each answered", nfaults);
	/* alone in the queue, so this is the service time itself, not queueing */
	vfc_iopf_stats(io, &s);
	say("one at a time: service latency min %.1f us, median %.1f us, max %.1f us "
	    "(%" PRIu64 " pages in %" PRIu64 " map calls, %.1f us)",
	    us(s.lat_min_ns), us(s.lat_median_ns), us(s.lat_max_ns), s.pages_mapped,
	    s.map_calls, us(s.map_ns));
	/* a page the premap of fault 0 covered: answered without a map */
	if (premap) {
		r = trigger(&m, m.iova + m.page, 1000);
		check(!r && wait_groups(io, nfaults + 1),
		      "a fault on a premapped page is answered");
	}
	/* outside the region: the device must be told INVALID */
	r = trigger(&m, m.iova + m.size, 1001);
	check(!r && wait_groups(io, nfaults + 1 + !!premap),
	      "a fault past the region is answered");

	/* a burst: the kernel queues them faster than they are served */
	burst_base = nfaults * stride;
	for (unsigned int i = 0; i < burst && !r; i++)
		r = trigger(&m, m.iova + (burst_base + (uint64_t)i * (premap + 1)) * m.page,
			    2000 + i);
	check(!r && wait_groups(io, nfaults + 1 + !!premap + burst),
	      "a burst of %u faults is answered", burst);
	expect_pages += (uint64_t)burst * (premap + 1);

	vfc_iopf_stats(io, &s);
	check(s.records == nfaults + 1 + !!premap + burst, "%" PRIu64 " fault records read",
	      s.records);
	check(s.success == nfaults + !!premap + burst && s.invalid == 1,
	      "%" PRIu64 " answered success, %" PRIu64 " invalid (the one past the region)",
	      s.success, s.invalid);
	check(s.pages_mapped == expect_pages,
	      "%" PRIu64 " pages mapped lazily (expected %" PRIu64 ")", s.pages_mapped,
	      expect_pages);
	check(s.already_mapped == (premap ? 1u : 0u), "%" PRIu64 " fault found its page premapped",
	      s.already_mapped);

	/* the mock IOMMU's page table itself: mapped windows translate to our pages */
	r = 0;
	for (unsigned int i = 0; i < nfaults && !r; i++)
		r = md_check(&m, vfc_iopf_hwpt_id(io), i * stride, premap + 1);
	check(!r, "the mock page table maps every faulted window (page + premap) to the region%s%s",
	      r ? ": " : "", r ? strerror(-r) : "");
	r = md_check(&m, vfc_iopf_hwpt_id(io), burst_base, (uint64_t)burst * (premap + 1));
	check(!r || !burst, "the mock page table maps the burst's pages%s%s", r ? ": " : "",
	      r ? strerror(-r) : "");
	if (nfaults >= 2)
		check(md_check(&m, vfc_iopf_hwpt_id(io), premap + 1, 1) != 0,
		      "the page between two windows (%u) is not mapped: lazy", premap + 1);
	check(md_check(&m, vfc_iopf_hwpt_id(io), npages - 1, 1) != 0,
	      "the region's last page, never faulted, is not mapped");

stop:
	r = vfc_iopf_stop(io, &s);
	io = NULL;
	if (!check(!r, "teardown%s%s", r ? ": " : "", r ? vfc_errmsg(ctx) : ""))
		goto out;
	print_stats(&s);
	check(unmap_all(m.fd, m.ioas) == 0, "after teardown the IOAS holds no mapping");
	r = next_ids(m.fd, &got_a, &got_b);
	check(!r && got_a == id_a && got_b == id_b,
	      "after teardown ids %u and %u are free again (next ids %u, %u)", id_a, id_b, got_a,
	      got_b);
	check(fault_fds() == 0, "after teardown no fault queue fd is open");
	rc = failures ? 1 : 0;
out:
	if (io)
		vfc_iopf_stop(io, NULL);
	if (m.stdev)
		destroy(m.fd, m.stdev);
	if (m.ioas)
		destroy(m.fd, m.ioas);
	if (m.mem)
		munmap(m.mem, m.size);
	if (m.fd >= 0)
		close(m.fd);
	return rc;
}

/* ---- the refusal on a device without PRI ---- */

static int open_cdev(const struct vfc_bdf *bdf, int *fd)
{
	char dir[128], bdfs[VFC_BDF_STRLEN], node[300];
	struct dirent *e;
	DIR *d;

	vfc_bdf_format(bdf, bdfs);
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdfs);
	d = opendir(dir);
	if (!d)
		return -errno;
	*fd = -ENOENT;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4)) {
			snprintf(node, sizeof(node), "/dev/vfio/devices/%s", e->d_name);
			*fd = open(node, O_RDWR | O_CLOEXEC);
			if (*fd < 0)
				*fd = -errno;
			break;
		}
	closedir(d);
	return *fd < 0 ? *fd : 0;
}

static int run_edu(struct vfc_ctx *ctx, const struct vfc_bdf *bdf)
{
	static uint8_t region[1 << 16] __attribute__((aligned(65536)));
	struct vfc_k_bind_iommufd b = { .argsz = sizeof(b) };
	struct vfc_k_attach_pt a = { .argsz = sizeof(a) };
	struct vfc_k_detach_pt dt = { .argsz = sizeof(dt) };
	struct vfc_iopf_cfg cfg;
	struct vfc_iopf *io = NULL;
	uint32_t ioas = 0, id_a, id_b, got_a, got_b;
	int iommufd, cdev = -1, r, rc = 1;

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0) {
		say("SKIP: /dev/iommu: %s (a kernel without CONFIG_IOMMUFD)", strerror(errno));
		return EXIT_SKIP;
	}
	r = open_cdev(bdf, &cdev);
	if (r) {
		say("SKIP: no VFIO cdev for the device: %s (bound to vfio-pci? "
		    "CONFIG_VFIO_DEVICE_CDEV?)", strerror(-r));
		rc = EXIT_SKIP;
		goto out;
	}
	b.iommufd = iommufd;
	if (ioctl(cdev, VFC_VFIO_DEVICE_BIND_IOMMUFD, &b)) {
		say("FAIL: VFIO_DEVICE_BIND_IOMMUFD: %s", strerror(errno));
		goto out;
	}
	r = ioas_alloc(iommufd, &ioas);
	a.pt_id = ioas;
	if (r || ioctl(cdev, VFC_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a)) {
		say("FAIL: attaching the device to IOAS %u: %s", ioas, strerror(r ? -r : errno));
		goto out;
	}
	say("device bound to iommufd as device %u, attached to IOAS %u (page table %u)",
	    b.out_devid, ioas, a.pt_id);
	check(destroy(iommufd, ioas) == -EBUSY, "the IOAS is busy: the device is attached to it");
	r = next_ids(iommufd, &id_a, &id_b);
	if (r) {
		say("FAIL: probing object ids: %s", strerror(-r));
		goto out;
	}

	cfg = (struct vfc_iopf_cfg){
		.iommufd = iommufd, .ioas_id = ioas, .dev_id = b.out_devid, .cdev_fd = cdev,
		.restore_pt_id = ioas, .vaddr = region, .iova = 0x100000, .size = sizeof(region),
	};
	r = vfc_iopf_start(ctx, &cfg, &io);
	if (!check(r == -ENODEV, "vfc_iopf_start refused with ENODEV (got %s)", strerror(-r))) {
		if (!r)
			vfc_iopf_stop(io, NULL);
		else
			lib_fail(ctx, r, "vfc_iopf_start");
		goto out;
	}
	say("refused: %s: %s (%s)", vfc_errmsg(ctx), strerror(-r), vfc_errhint(ctx));
	check(strstr(vfc_errmsg(ctx), "cannot take I/O page faults (no PCIe PRI or stall)") &&
		      strstr(vfc_errhint(ctx), "PRI-capable device"),
	      "the error is decoded");
	check(io == NULL, "no handle returned");
	r = next_ids(iommufd, &got_a, &got_b);
	check(!r && got_a == id_a && got_b == id_b,
	      "the fault queue and page table were destroyed: ids %u and %u free (next %u, %u)",
	      id_a, id_b, got_a, got_b);
	check(fault_fds() == 0, "no fault queue fd is open");
	check(destroy(iommufd, ioas) == -EBUSY,
	      "the device is still attached to its IOAS, as before");
	check(unmap_all(iommufd, ioas) == 0, "nothing was mapped");
	if (ioctl(cdev, VFC_VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt))
		check(false, "detaching the device: %s", strerror(errno));
	else
		check(destroy(iommufd, ioas) == 0, "after the detach the IOAS goes: nothing else held it");
	ioas = 0;
	rc = failures ? 1 : 0;
out:
	if (cdev >= 0)
		close(cdev); /* unbinds from iommufd and detaches */
	if (ioas)
		destroy(iommufd, ioas);
	close(iommufd);
	return rc;
}

/* ---- main ---- */

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"Usage: iopf-mock [--faults N] [--burst N] [--premap N]\n"
		"       iopf-mock --edu BDF\n"
		"Serve I/O page faults with libvfioctl: from the iommufd selftest mock device\n"
		"(CONFIG_IOMMUFD_TEST), or prove the refusal on a device without PRI.\n"
		"  --faults N   faults raised one at a time (default 8)\n"
		"  --burst N    faults raised back to back afterwards (default 32)\n"
		"  --premap N   pages mapped ahead of each faulting page (default 3)\n"
		"  --edu BDF    the device (bound to vfio-pci) whose IOPF attach must fail\n"
		"Exit 0 passed, 1 failed, 2 usage, 77 the kernel cannot run it.\n");
	return rc;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "faults", required_argument, NULL, 'f' },
		{ "burst", required_argument, NULL, 'b' },
		{ "premap", required_argument, NULL, 'p' },
		{ "edu", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned int nfaults = 8, burst = 32, premap = 3;
	struct vfc_bdf bdf;
	bool edu = false;
	struct vfc_ctx *ctx;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_uint(optarg, 1000, &nfaults))
				return usage(stderr, 2);
			break;
		case 'b':
			if (parse_uint(optarg, 10000, &burst))
				return usage(stderr, 2);
			break;
		case 'p':
			if (parse_uint(optarg, 512, &premap))
				return usage(stderr, 2);
			break;
		case 'e':
			if (vfc_bdf_parse(optarg, &bdf))
				return usage(stderr, 2);
			edu = true;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, 2);
		}
	}
	if (optind != argc)
		return usage(stderr, 2);
	if (vfc_new(NULL, &ctx)) {
		say("FAIL: vfc_new");
		return 1;
	}
	rc = edu ? run_edu(ctx, &bdf) : run_mock(ctx, nfaults, burst, premap);
	if (rc == 0)
		say("PASSED");
	else if (rc == 1)
		say("FAILED");
	vfc_unref(ctx);
	return rc;
}
