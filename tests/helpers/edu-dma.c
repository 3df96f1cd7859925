// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * edu-dma BDF [--backend type1|iommufd|auto] [--iova ADDR|auto] [--size N]
 *             [--backing SPEC] [--peer BDF]
 *
 * Proves that a DMA mapping made through libvfioctl really carries device
 * DMA, and that unmapping really takes it away. QEMU's `edu` device has a
 * small DMA engine (docs/specs/edu.rst): this copies a pattern RAM -> edu ->
 * RAM through one mapping, checks the bytes, unmaps, has the device write to
 * the old IOVA again and checks that the memory did not change (the IOMMU
 * blocked it; the guest kernel logs a DMAR fault).
 *
 * The memory comes from vfc_mem_alloc() and an automatic IOVA from
 * vfc_iova_place(), the same library paths `vfioctl map` takes, so a pass
 * here proves that what vfioctl maps really reaches the device. With
 * --backend iommufd the device is bound through its cdev and the memory is
 * mapped into an IOAS (a memfd by descriptor, IOAS_MAP_FILE, as `map` does).
 *
 * --peer BDF: P2P as well. BAR0 of another edu joins the address space (type1:
 * its mmap; iommufd: a dma-buf of it) and the device DMA-reads the peer's
 * ident register through it. On iommufd the peer's memory decode is then
 * turned off: the dma-buf is revoked, the same read must no longer return
 * the ident, and sysfs must show the decode off (what `map` checks).
 *
 * Exit 0 when all of that holds, 1 when something failed, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vfioctl.h"

/* edu's BAR0 registers (QEMU hw/misc/edu.c, docs/specs/edu.rst). */
#define EDU_IDENT     0x00
#define EDU_LIVENESS  0x04 /* reads back the inverse of what was written */
#define EDU_DMA_SRC   0x80
#define EDU_DMA_DST   0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD   0x98
#define EDU_CMD_START   0x1
#define EDU_CMD_TO_RAM  0x2 /* direction: edu -> RAM; clear: RAM -> edu */
#define EDU_IDENT_1_0   0x010000edu
#define EDU_BUF         0x40000 /* the device's 4 KiB buffer, in its DMA space */
/* QEMU 7.2 rejects a transfer that ends exactly at the buffer's end */
#define EDU_MAX_XFER    2048
#define EDU_DMA_LIMIT   (1ull << 28) /* the device's default 28-bit DMA mask */

#define PCI_COMMAND        0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4

/* The edu DMA timer fires 100 ms of guest time after start; TCG is slow. */
#define DMA_TIMEOUT_MS 10000

struct opts {
	struct vfc_bdf bdf;
	uint64_t iova;
	bool iova_auto;
	uint64_t size;
	struct vfc_backing backing;
	enum vfc_backend backend;
	bool peer_given;
	struct vfc_bdf peer;
};

struct run {
	struct vfc_ctx *ctx;
	struct vfc_iommu *io;
	struct vfc_vdev *dev;
	volatile uint8_t *bar0;
	struct vfc_mem *mem;
	uint8_t *buf; /* the mapped memory: source half, then destination half */
	uint64_t half, count;
	struct vfc_vdev *peer;
	int peer_dmabuf;
};

/* The peer's BAR0 goes here: above the RAM, inside edu's 28-bit reach. */
#define PEER_IOVA 0x8000000

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("edu-dma: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Reports a failed library call with its message and hint; returns 1. */
static int lib_fail(struct run *rn, int err, const char *what)
{
	const char *hint = vfc_errhint(rn->ctx);

	say("FAIL: %s: %s: %s%s%s%s", what, vfc_errmsg(rn->ctx), strerror(-err),
	    hint[0] ? " (" : "", hint, hint[0] ? ")" : "");
	return 1;
}

static int check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("edu-dma: %s: ", cond ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return cond ? 0 : 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t rd32(struct run *rn, unsigned int reg)
{
	return *(volatile uint32_t *)(rn->bar0 + reg);
}

static void wr32(struct run *rn, unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(rn->bar0 + reg) = v;
}

/* ---- arguments ---- */

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"Usage: edu-dma BDF [--backend NAME] [--iova ADDR|auto] [--size N] [--backing SPEC]\n"
		"               [--peer BDF]\n"
		"Drive QEMU's edu DMA engine through a vfioctl mapping: RAM->edu->RAM, then\n"
		"unmap and check the IOMMU blocks the device. The device must be bound to\n"
		"vfio-pci.\n"
		"  --backend NAME type1 (default), iommufd, or auto (as vfioctl --backend)\n"
		"  --iova ADDR    IOVA of the mapping (default 0x1000000; below 256 MiB), or\n"
		"                 auto: where vfioctl map --iova auto would put it\n"
		"  --size N       bytes to map, whole pages (default 64K)\n"
		"  --backing SPEC memory as vfioctl map --backing takes it (default anon)\n"
		"  --peer BDF     also map BAR0 of this edu at 0x8000000 and DMA-read its ident\n"
		"                 (P2P); on iommufd, then check the dma-buf revokes with decode\n");
	return rc;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "iova", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 's' },
		{ "backing", required_argument, NULL, 'b' },
		{ "backend", required_argument, NULL, 'B' },
		{ "peer", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long pg = sysconf(_SC_PAGESIZE);
	int c;

	o->iova = 0x1000000;
	o->size = 0x10000;
	o->backend = VFC_BACKEND_TYPE1;
	o->peer_given = false;
	vfc_backing_parse("anon", &o->backing);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h')
			exit(usage(stdout, 0));
		if (c == 'b' && vfc_backing_parse(optarg, &o->backing)) {
			fprintf(stderr, "edu-dma: bad backing '%s'\n", optarg);
			return -1;
		}
		if (c == 'B' && vfc_backend_parse(optarg, &o->backend)) {
			fprintf(stderr, "edu-dma: --backend is type1, iommufd or auto, not '%s'\n",
				optarg);
			return -1;
		}
		if (c == 'p' && vfc_bdf_parse(optarg, &o->peer)) {
			fprintf(stderr, "edu-dma: --peer wants a PCI address, not '%s'\n", optarg);
			return -1;
		}
		o->peer_given |= c == 'p';
		if (c == 'b' || c == 'B' || c == 'p')
			continue;
		if (c == 'i' && !strcmp(optarg, "auto")) {
			o->iova_auto = true;
			o->iova = 0;
			continue;
		}
		if (c == '?' ||
		    ((c == 'i' || c == 's') &&
		     vfc_size_parse(optarg, c == 'i' ? &o->iova : &o->size))) {
			if (c != '?')
				fprintf(stderr, "edu-dma: bad number '%s'\n", optarg);
			return -1;
		}
	}
	if (optind != argc - 1 || vfc_bdf_parse(argv[optind], &o->bdf)) {
		fprintf(stderr, "edu-dma: want exactly one BDF (DDDD:BB:DD.F)\n");
		return -1;
	}
	if (!o->size || (o->size | o->iova) % (uint64_t)pg) {
		fprintf(stderr, "edu-dma: --iova and --size must be whole pages\n");
		return -1;
	}
	if (o->peer_given && o->iova + o->size > PEER_IOVA) {
		fprintf(stderr, "edu-dma: with --peer the mapping must end below 0x%x\n", PEER_IOVA);
		return -1;
	}
	if (o->iova >= EDU_DMA_LIMIT || o->size > EDU_DMA_LIMIT - o->iova) {
		fprintf(stderr, "edu-dma: the mapping must end below 256 MiB (edu's DMA mask)\n");
		return -1;
	}
	return 0;
}

/* ---- steps ---- */

static void print_info(struct run *rn, const char *when)
{
	struct vfc_iommu_info in;

	if (vfc_iommu_info(rn->io, &in)) {
		say("IOMMU info %s: %s", when, vfc_errmsg(rn->ctx));
		return;
	}
	printf("edu-dma: IOMMU %s: %s, pgsizes 0x%" PRIx64 ", dma_avail %" PRId64
	       ", alignment 0x%" PRIx64 ", ranges", when, in.model, in.pgsizes, in.dma_avail,
	       in.iova_alignment);
	for (size_t i = 0; i < in.nranges; i++)
		printf(" 0x%" PRIx64 "-0x%" PRIx64, in.ranges[i].start, in.ranges[i].end);
	putchar('\n');
	vfc_iommu_info_clear(&in);
}

static int open_device(struct run *rn, const struct opts *o)
{
	char b[VFC_BDF_STRLEN];
	double t = now_ms();
	enum vfc_backend be = o->backend;
	unsigned int groups[1];
	int r = 0;

	if (be == VFC_BACKEND_AUTO) {
		/* the groups matter to auto: the device's own, from sysfs */
		struct vfc_device d;

		r = vfc_device_read(rn->ctx, &o->bdf, &d);
		if (!r && d.group < 0)
			r = -ENODEV;
		groups[0] = r ? 0 : (unsigned int)d.group;
		if (!r)
			r = vfc_backend_choose(rn->ctx, be, groups, 1, &be, NULL, 0);
		if (r)
			return lib_fail(rn, r, "choosing the backend");
	}
	r = vfc_iommu_open(rn->ctx, be, &rn->io);
	if (r)
		return lib_fail(rn, r, "opening the IOMMU backend");
	r = vfc_iommu_device_open(rn->io, &o->bdf, &rn->dev);
	if (r)
		return lib_fail(rn, r, "opening the device");
	say("opened %s through a %s %s in %.1f ms", vfc_bdf_format(&o->bdf, b),
	    vfc_iommu_backend_name(rn->io), be == VFC_BACKEND_IOMMUFD ? "IOAS" : "container",
	    now_ms() - t);
	print_info(rn, "before map");
	return 0;
}

static int enable_bus_master(struct run *rn)
{
	uint16_t cmd;
	int r = vfc_vdev_read(rn->dev, VFC_REGION_CONFIG, PCI_COMMAND, &cmd, sizeof(cmd));

	if (r)
		return lib_fail(rn, r, "reading the PCI command register");
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	r = vfc_vdev_write(rn->dev, VFC_REGION_CONFIG, PCI_COMMAND, &cmd, sizeof(cmd));
	if (!r)
		r = vfc_vdev_read(rn->dev, VFC_REGION_CONFIG, PCI_COMMAND, &cmd, sizeof(cmd));
	if (r)
		return lib_fail(rn, r, "enabling bus mastering");
	return check(cmd & PCI_COMMAND_MASTER, "bus mastering on (command 0x%04x)", cmd);
}

static int map_bar0(struct run *rn)
{
	uint64_t size;
	void *p;
	uint32_t id;
	int r = vfc_vdev_mmap(rn->dev, VFC_REGION_BAR0, &p, &size);

	if (r)
		return lib_fail(rn, r, "mmap of BAR0");
	rn->bar0 = p;
	id = rd32(rn, EDU_IDENT);
	if (check(id == EDU_IDENT_1_0, "BAR0 (%" PRIu64 " KiB) ident 0x%08x (edu 1.0 is 0x%08x)",
		  size >> 10, id, EDU_IDENT_1_0))
		return 1;
	wr32(rn, EDU_LIVENESS, 0x12345678);
	id = rd32(rn, EDU_LIVENESS);
	return check(id == ~0x12345678u, "liveness register inverts: 0x%08x", id);
}

/* --iova auto: vfioctl map's placement, which must stay in edu's 28-bit reach. */
static int auto_iova(struct run *rn, struct opts *o)
{
	struct vfc_iommu_info in;
	const struct vfc_mapping *busy;
	size_t n;
	int r = vfc_iommu_info(rn->io, &in);

	if (r)
		return lib_fail(rn, r, "reading the IOMMU geometry");
	busy = vfc_iommu_mappings(rn->io, &n);
	r = vfc_iova_place(&in, busy, n, o->size, 0, &o->iova);
	vfc_iommu_info_clear(&in);
	if (r) {
		say("FAIL: no IOVA for %" PRIu64 " bytes: %s", o->size, strerror(-r));
		return 1;
	}
	say("auto IOVA 0x%" PRIx64 " (aligned to 0x%" PRIx64 ")", o->iova,
	    vfc_iova_align(in.pgsizes, o->size));
	return check(o->iova + o->size <= EDU_DMA_LIMIT, "it is below edu's 256 MiB DMA limit");
}

/* As `vfioctl map` does: a memfd by descriptor on iommufd, else by address. */
static int map_buffer(struct run *rn, const struct opts *o, const char **how)
{
	bool memfd = o->backing.kind == VFC_MEM_MEMFD || o->backing.kind == VFC_MEM_MEMFD_HUGETLB;
	bool ifd = !strcmp(vfc_iommu_backend_name(rn->io), "iommufd");
	int r;

	*how = ifd ? "IOAS_MAP" : "MAP_DMA";
	if (ifd && memfd) {
		r = vfc_iommu_map_file(rn->io, vfc_mem_fd(rn->mem), 0, o->iova, o->size,
				       VFC_MAP_RW);
		*how = "IOAS_MAP_FILE";
		if (r != -EOPNOTSUPP)
			return r;
		say("no IOAS_MAP_FILE here (%s): mapping the memfd's mmap", vfc_errmsg(rn->ctx));
		*how = "IOAS_MAP (no MAP_FILE)";
	}
	return vfc_iommu_map(rn->io, rn->buf, o->iova, o->size, VFC_MAP_RW);
}

static int map_memory(struct run *rn, struct opts *o)
{
	const char *how;
	char spec[300];
	double t;
	int r;

	if (o->iova_auto && auto_iova(rn, o))
		return 1;
	r = vfc_mem_alloc(rn->ctx, &o->backing, o->size, &rn->mem);
	if (r)
		return lib_fail(rn, r, "allocating the buffer");
	rn->buf = vfc_mem_addr(rn->mem);
	rn->half = o->size / 2;
	rn->count = rn->half < EDU_MAX_XFER ? rn->half : EDU_MAX_XFER;
	/* a pattern no stale buffer would hold by chance */
	for (uint64_t i = 0; i < rn->half; i++)
		rn->buf[i] = (uint8_t)(i * 31 + (uint64_t)getpid());
	memset(rn->buf + rn->half, 0, rn->half);
	t = now_ms();
	r = map_buffer(rn, o, &how);
	if (r)
		return lib_fail(rn, r, "mapping the buffer");
	say("mapped %" PRIu64 " KiB of %s at IOVA 0x%" PRIx64 "-0x%" PRIx64 " by %s in %.2f ms "
	    "(ioctl %.3f ms)", o->size >> 10, vfc_backing_format(&o->backing, spec, sizeof(spec)),
	    o->iova, o->iova + o->size - 1, how, now_ms() - t,
	    (double)vfc_iommu_last_ns(rn->io) / 1e6);
	print_info(rn, "after map");
	return 0;
}

/* Starts one transfer and waits for the engine to clear its start bit. */
static int edu_dma(struct run *rn, uint64_t src, uint64_t dst, uint32_t cmd)
{
	double t0 = now_ms(), t;

	/* the engine ignores register writes while a transfer runs */
	if (rd32(rn, EDU_DMA_CMD) & EDU_CMD_START) {
		say("FAIL: a DMA transfer is already running");
		return 1;
	}
	wr32(rn, EDU_DMA_SRC, (uint32_t)src);
	wr32(rn, EDU_DMA_DST, (uint32_t)dst);
	wr32(rn, EDU_DMA_COUNT, (uint32_t)rn->count);
	wr32(rn, EDU_DMA_CMD, cmd | EDU_CMD_START);
	while (rd32(rn, EDU_DMA_CMD) & EDU_CMD_START) {
		t = now_ms() - t0;
		if (t > DMA_TIMEOUT_MS) {
			say("FAIL: DMA 0x%" PRIx64 " -> 0x%" PRIx64 " still running after %.0f ms",
			    src, dst, t);
			return 1;
		}
		usleep(1000);
	}
	say("DMA 0x%05" PRIx64 " -> 0x%05" PRIx64 " (%" PRIu64 " bytes, %s) done in %.0f ms",
	    src, dst, rn->count, (cmd & EDU_CMD_TO_RAM) ? "edu->RAM" : "RAM->edu",
	    now_ms() - t0);
	return 0;
}

static bool all_bytes(const uint8_t *p, uint64_t n, uint8_t v)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static int round_trip(struct run *rn, const struct opts *o)
{
	uint8_t *dst = rn->buf + rn->half;

	if (edu_dma(rn, o->iova, EDU_BUF, 0) ||
	    edu_dma(rn, EDU_BUF, o->iova + rn->half, EDU_CMD_TO_RAM))
		return 1;
	if (check(!memcmp(dst, rn->buf, rn->count),
		  "%" PRIu64 " bytes came back intact through IOVA 0x%" PRIx64, rn->count,
		  o->iova + rn->half))
		return 1;
	return check(all_bytes(dst + rn->count, rn->half - rn->count, 0),
		     "nothing written past them");
}

static int unmap_and_retry(struct run *rn, const struct opts *o)
{
	uint8_t *dst = rn->buf + rn->half;
	size_t n;
	double t = now_ms();
	int r = vfc_iommu_unmap(rn->io, o->iova, o->size);

	if (r)
		return lib_fail(rn, r, "unmapping");
	say("unmapped IOVA 0x%" PRIx64 " in %.2f ms", o->iova, now_ms() - t);
	vfc_iommu_mappings(rn->io, &n);
	if (check(n == 0, "the library tracks %zu live mappings", n))
		return 1;
	print_info(rn, "after unmap");
	/* the memory is still ours: only the device's view of it is gone */
	memset(dst, 0x5a, rn->half);
	say("edu->RAM again to unmapped IOVA 0x%" PRIx64 " (expect a DMAR fault)",
	    o->iova + rn->half);
	if (edu_dma(rn, EDU_BUF, o->iova + rn->half, EDU_CMD_TO_RAM))
		return 1;
	return check(all_bytes(dst, rn->half, 0x5a),
		     "the buffer did not change: the IOMMU blocked the write");
}

/* ---- P2P: the peer's BAR0 ---- */

static uint64_t peer_size;

static int set_peer_decode(struct run *rn, const struct opts *o, bool on, uint16_t *sysfs_cmd);

static int peer_map(struct run *rn, const struct opts *o)
{
	bool ifd = !strcmp(vfc_iommu_backend_name(rn->io), "iommufd");
	char b[VFC_BDF_STRLEN];
	uint64_t size;
	void *p;
	int r = vfc_iommu_device_open(rn->io, &o->peer, &rn->peer);

	uint16_t cmd = 0;

	if (r)
		return lib_fail(rn, r, "opening the peer");
	vfc_bdf_format(&o->peer, b);
	/* the BAR answers only while the peer decodes memory */
	if (set_peer_decode(rn, o, true, &cmd) ||
	    check(cmd & PCI_COMMAND_MEMORY, "peer %s decodes memory (command 0x%04x)", b, cmd))
		return 1;
	if (ifd) {
		struct vfc_region rg;

		r = vfc_vdev_region(rn->peer, VFC_REGION_BAR0, &rg);
		if (!r)
			r = vfc_vdev_dma_buf(rn->peer, VFC_REGION_BAR0, 0, 0, &rn->peer_dmabuf);
		if (!r)
			r = vfc_iommu_map_file(rn->io, rn->peer_dmabuf, 0, PEER_IOVA, rg.size,
					       VFC_MAP_RW);
		size = rg.size;
	} else {
		r = vfc_vdev_mmap(rn->peer, VFC_REGION_BAR0, &p, &size);
		if (!r)
			r = vfc_iommu_map(rn->io, p, PEER_IOVA, size, VFC_MAP_RW);
	}
	if (r)
		return lib_fail(rn, r, "mapping the peer's BAR0");
	peer_size = size;
	say("peer %s BAR0 (%" PRIu64 " KiB) mapped at IOVA 0x%x by %s in %.3f ms", b, size >> 10,
	    PEER_IOVA, ifd ? "dma-buf + IOAS_MAP_FILE" : "its mmap (pfnmap)",
	    (double)vfc_iommu_last_ns(rn->io) / 1e6);
	return 0;
}

/* The device reads the peer's ident register through the IOMMU into RAM. */
static int peer_read_ident(struct run *rn, const struct opts *o, uint32_t *ident)
{
	uint8_t *dst = rn->buf + rn->half;
	uint64_t count = rn->count;
	int r;

	/* edu keeps its buffer when a read faults: overwrite what it holds first.
	 * 4 bytes: edu answers only 4-byte reads below 0x80 (an 8-byte DMA read of
	 * its ident register gets all ones) */
	memset(dst, 0x5a, 8);
	rn->count = 4;
	r = edu_dma(rn, o->iova + rn->half, EDU_BUF, 0) ||
	    edu_dma(rn, PEER_IOVA + EDU_IDENT, EDU_BUF, 0) ||
	    edu_dma(rn, EDU_BUF, o->iova + rn->half, EDU_CMD_TO_RAM);
	rn->count = count;
	memcpy(ident, dst, sizeof(*ident));
	return r;
}

static int set_peer_decode(struct run *rn, const struct opts *o, bool on, uint16_t *sysfs_cmd)
{
	uint16_t cmd;
	int r = vfc_vdev_read(rn->peer, VFC_REGION_CONFIG, PCI_COMMAND, &cmd, sizeof(cmd));

	cmd = on ? cmd | PCI_COMMAND_MEMORY : cmd & ~PCI_COMMAND_MEMORY;
	if (!r)
		r = vfc_vdev_write(rn->peer, VFC_REGION_CONFIG, PCI_COMMAND, &cmd, sizeof(cmd));
	/* what `vfioctl map` reads: sysfs, not the VFIO region */
	if (!r)
		r = vfc_device_command(rn->ctx, &o->peer, sysfs_cmd);
	return r ? lib_fail(rn, r, "switching the peer's memory decode") : 0;
}

static int peer_revoke(struct run *rn, const struct opts *o);

static int peer_p2p(struct run *rn, const struct opts *o)
{
	bool ifd = !strcmp(vfc_iommu_backend_name(rn->io), "iommufd");
	uint32_t ident = 0;
	int r;

	if (peer_map(rn, o) || peer_read_ident(rn, o, &ident))
		return 1;
	if (check(ident == EDU_IDENT_1_0, "P2P: the device read the peer's ident 0x%08x through "
		  "IOVA 0x%x", ident, PEER_IOVA))
		return 1;
	if (ifd && peer_revoke(rn, o))
		return 1;
	r = vfc_iommu_unmap(rn->io, PEER_IOVA, peer_size);
	return r ? lib_fail(rn, r, "unmapping the peer's BAR0") : 0;
}

/* iommufd: the dma-buf follows the peer's memory decode. */
static int peer_revoke(struct run *rn, const struct opts *o)
{
	uint32_t ident = 0;
	uint16_t cmd = 0;

	if (set_peer_decode(rn, o, false, &cmd))
		return 1;
	if (check(!(cmd & PCI_COMMAND_MEMORY), "sysfs shows the peer's memory decode off "
		  "(command 0x%04x)", cmd))
		return 1;
	say("the same read with the peer's decode off (expect a DMAR fault: dma-buf revoked)");
	if (peer_read_ident(rn, o, &ident))
		return 1;
	if (check(ident != EDU_IDENT_1_0, "revoked: the read no longer returns the ident "
		  "(got 0x%08x)", ident))
		return 1;
	return set_peer_decode(rn, o, true, &cmd) ||
	       check(cmd & PCI_COMMAND_MEMORY, "decode back on (command 0x%04x)", cmd);
}

static void teardown(struct run *rn)
{
	vfc_iommu_unref(rn->io); /* closes the device, unmaps what is left */
	vfc_mem_free(rn->mem);   /* after: the memory is never freed while mapped */
	if (rn->peer_dmabuf >= 0)
		close(rn->peer_dmabuf);
	vfc_unref(rn->ctx);
}

static void log_to_stderr(void *data, int prio, const char *msg)
{
	(void)data;
	fprintf(stderr, "edu-dma: libvfioctl[%d]: %s\n", prio, msg);
}

int main(int argc, char **argv)
{
	struct run rn = { .peer_dmabuf = -1 };
	struct opts o = { 0 };
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &o))
		return usage(stderr, 2);
	r = vfc_new(NULL, &rn.ctx);
	if (r) {
		say("FAIL: creating a context: %s", strerror(-r));
		return 1;
	}
	vfc_set_log_fn(rn.ctx, log_to_stderr, NULL);
	r = open_device(&rn, &o) || enable_bus_master(&rn) || map_bar0(&rn) ||
	    map_memory(&rn, &o) || round_trip(&rn, &o) ||
	    (o.peer_given && peer_p2p(&rn, &o)) || unmap_and_retry(&rn, &o);
	teardown(&rn);
	say("%s", r ? "FAILED" : "PASSED");
	return r ? 1 : 0;
}
