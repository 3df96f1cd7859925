// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl container: open a DMA address space for one or more groups, the way
 * a VMM does, and report what the kernel offers in it. type1: a container
 * with its IOMMU model, extensions, page sizes, usable IOVA ranges, free DMA
 * entries and the vfio_iommu_type1 parameters that bound them. iommufd: an
 * IOAS with its IOVA ranges and alignment, the IOMMU_OPTION values, and the
 * cdev each device was bound through.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "iommu-cli.h"
#include "output.h"

enum { COL_BACKEND, COL_GROUPS, COL_MODEL, COL_EXTENSIONS, COL_PGSIZES, COL_RANGES,
       COL_DMA_AVAIL, COL_PARAMS, COL_ENTRY_LIMIT, COL_NO_HUGE, COL_UNSAFE_INTR,
       COL_PGSIZE_MASK, COL_RESV, COL_BAR_NOPIN, COL_ALIGNMENT, COL_RLIMIT_MODE,
       COL_HUGE_PAGES, COL_MAP_FILE, COL_DEVICES, COL_IOAS };

static const struct colinfo infos[] = {
	[COL_BACKEND] = { "BACKEND", 7, 0, COL_STR, "IOMMU backend that ran: type1 or iommufd (--backend)" },
	[COL_GROUPS] = { "GROUPS", 6, 0, COL_ARRAY, "IOMMU groups in the container" },
	[COL_MODEL] = { "MODEL", 7, 0, COL_STR, "IOMMU model: type1v2 (else type1), or iommufd" },
	[COL_EXTENSIONS] = { "EXTENSIONS", 12, 0, COL_ARRAY, "type1: VFIO_CHECK_EXTENSION answers that were yes" },
	[COL_PGSIZES] = { "PGSIZES", 7, 0, COL_ARRAY, "type1: IOMMU page sizes" },
	[COL_RANGES] = { "IOVA_RANGES", 23, 0, COL_ARRAY, "usable IOVA ranges (reserved regions excluded)" },
	[COL_DMA_AVAIL] = { "DMA_AVAIL", 9, SCOLS_FL_RIGHT, COL_NUM, "type1: DMA mappings the container may still make" },
	[COL_PARAMS] = { "PARAMS", 27, 0, COL_ARRAY, "type1: vfio_iommu_type1 module parameters" },
	[COL_ENTRY_LIMIT] = { "DMA_ENTRY_LIMIT", 6, SCOLS_FL_RIGHT, COL_NUM, "vfio_iommu_type1 dma_entry_limit: mappings per container" },
	[COL_NO_HUGE] = { "DISABLE_HUGEPAGES", 3, 0, COL_BOOL, "vfio_iommu_type1 disable_hugepages: map 4K pages only" },
	[COL_UNSAFE_INTR] = { "ALLOW_UNSAFE_INTERRUPTS", 3, 0, COL_BOOL, "vfio_iommu_type1 allow_unsafe_interrupts: no interrupt remapping needed" },
	[COL_PGSIZE_MASK] = { "PGSIZE_MASK", 10, 0, COL_STR, "type1: IOMMU page sizes as the kernel's bitmap" },
	[COL_RESV] = { "RESV", 30, 0, COL_ARRAY, "reserved regions of the groups (start-end type)" },
	[COL_BAR_NOPIN] = { "BAR_NOPIN", 13, 0, COL_STR, "how 'map --mode no-pin' maps a BAR: mmio_dont_pin or pfnmap (type1), dma-buf or none (iommufd)" },
	[COL_ALIGNMENT] = { "IOVA_ALIGNMENT", 6, SCOLS_FL_RIGHT, COL_NUM, "iommufd: IOVAs and lengths are multiples of it (bytes)" },
	[COL_RLIMIT_MODE] = { "RLIMIT_MODE", 11, 0, COL_STR, "iommufd: what RLIMIT_MEMLOCK is checked against: per-user (default) or per-process" },
	[COL_HUGE_PAGES] = { "HUGE_PAGES", 3, 0, COL_BOOL, "iommufd: IOMMU_OPTION_HUGE_PAGES of the IOAS (contiguous pages may be combined)" },
	[COL_MAP_FILE] = { "MAP_FILE", 3, 0, COL_BOOL, "iommufd: the kernel has IOMMU_IOAS_MAP_FILE (memfds by descriptor, 6.13+)" },
	[COL_DEVICES] = { "DEVICES", 36, 0, COL_ARRAY, "iommufd: each device and the cdev it was bound through" },
	[COL_IOAS] = { "IOAS", 4, SCOLS_FL_RIGHT, COL_NUM, "iommufd: the IOAS ID" },
};

static const int defaults[] = { COL_BACKEND, COL_GROUPS, COL_MODEL, COL_EXTENSIONS,
				COL_PGSIZES, COL_RANGES, COL_DMA_AVAIL, COL_PARAMS };
static const int defaults_iommufd[] = { COL_BACKEND, COL_GROUPS, COL_MODEL, COL_RANGES,
					COL_ALIGNMENT, COL_RLIMIT_MODE, COL_HUGE_PAGES,
					COL_MAP_FILE, COL_DEVICES };

/* A growing newline-separated list: one array item per line. */
struct list {
	char buf[2048];
	size_t len;
};

static void list_add(struct list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void list_add(struct list *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len + 2 >= sizeof(l->buf))
		return;
	if (l->len)
		l->buf[l->len++] = '\n';
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < sizeof(l->buf) - l->len ? (size_t)n : sizeof(l->buf) - l->len - 1;
}

static const char *list_str(const struct list *l)
{
	return l->len ? l->buf : NULL;
}

static void pgsizes_list(uint64_t pgsizes, struct list *l)
{
	char sz[16];

	for (int b = 0; b < 64; b++)
		if (pgsizes & (1ULL << b))
			list_add(l, "%s", vfc_size_format(1ULL << b, sz, sizeof(sz)));
}

static void params_list(const struct vfc_host *h, struct list *l)
{
	if (h->type1_dma_entry_limit >= 0)
		list_add(l, "dma_entry_limit=%d", h->type1_dma_entry_limit);
	if (h->type1_disable_hugepages >= 0)
		list_add(l, "disable_hugepages=%s", h->type1_disable_hugepages ? "Y" : "N");
	if (h->type1_allow_unsafe_interrupts >= 0)
		list_add(l, "allow_unsafe_interrupts=%s",
			 h->type1_allow_unsafe_interrupts ? "Y" : "N");
}

/* The reserved regions of every group, which the IOVA ranges leave out. */
static void resv_list(struct vfc_ctx *ctx, const struct target *t, size_t n, struct list *l)
{
	for (size_t i = 0; i < n; i++) {
		struct vfc_group g;

		if (vfc_group_read(ctx, t[i].group, &g) == 0)
			for (size_t j = 0; j < g.nresv; j++)
				list_add(l, "0x%" PRIx64 "-0x%" PRIx64 " %s", g.resv[j].start,
					 g.resv[j].end, g.resv[j].type);
		vfc_group_clear(&g);
	}
}

/* The fields both backends have. */
static int set_common(struct vfc_ctx *ctx, struct out *o, struct libscols_line *ln,
		      const struct vfc_iommu_info *in, const struct target *t, size_t n)
{
	static struct list l; /* big: kept off the stack, one row at a time */
	int r = 0;

	r |= out_set(o, ln, COL_BACKEND, vfc_backend_str(in->backend));
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; i < n; i++)
		list_add(&l, "%u", t[i].group);
	r |= out_set(o, ln, COL_GROUPS, list_str(&l));
	r |= out_set(o, ln, COL_MODEL, in->model);
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; i < in->nranges; i++)
		list_add(&l, "0x%" PRIx64 "-0x%" PRIx64, in->ranges[i].start, in->ranges[i].end);
	r |= out_set(o, ln, COL_RANGES, list_str(&l));
	memset(&l, 0, sizeof(l));
	if (out_has(o, COL_RESV))
		resv_list(ctx, t, n, &l);
	r |= out_set(o, ln, COL_RESV, list_str(&l));
	return r;
}

static int set_type1(struct out *o, struct libscols_line *ln, const struct vfc_iommu_info *in,
		     const struct vfc_host *h)
{
	static struct list l;
	int r = 0;

	memset(&l, 0, sizeof(l));
	for (unsigned int e = 1; e <= VFC_EXT_MAX; e++)
		if (vfc_iommu_has_ext(in, e))
			list_add(&l, "%s", vfc_iommu_ext_name(e));
	r |= out_set(o, ln, COL_EXTENSIONS, list_str(&l));
	memset(&l, 0, sizeof(l));
	pgsizes_list(in->pgsizes, &l);
	r |= out_set(o, ln, COL_PGSIZES, list_str(&l));
	if (in->dma_avail >= 0)
		r |= out_setf(o, ln, COL_DMA_AVAIL, "%" PRId64, in->dma_avail);
	memset(&l, 0, sizeof(l));
	params_list(h, &l);
	r |= out_set(o, ln, COL_PARAMS, list_str(&l));
	if (h->type1_dma_entry_limit >= 0)
		r |= out_setf(o, ln, COL_ENTRY_LIMIT, "%d", h->type1_dma_entry_limit);
	if (h->type1_disable_hugepages >= 0)
		r |= out_set(o, ln, COL_NO_HUGE, out_bool(h->type1_disable_hugepages));
	if (h->type1_allow_unsafe_interrupts >= 0)
		r |= out_set(o, ln, COL_UNSAFE_INTR, out_bool(h->type1_allow_unsafe_interrupts));
	if (in->pgsizes)
		r |= out_setf(o, ln, COL_PGSIZE_MASK, "0x%" PRIx64, in->pgsizes);
	r |= out_set(o, ln, COL_BAR_NOPIN, vfc_iommu_has_ext(in, VFC_EXT_MMIO_DONT_PIN) ?
		     "mmio_dont_pin" : "pfnmap");
	return r;
}

/* dma-buf when every device can export its BARs, else none (IOAS_MAP of a
 * BAR's mmap fails on iommufd: there is no other way). */
static const char *iommufd_bar_way(const struct vfc_iommu_info *in)
{
	bool all = in->ndevs > 0;

	for (size_t i = 0; i < in->ndevs; i++)
		all &= in->devs[i].dma_buf == 1;
	return all ? "dma-buf" : "none";
}

static int set_iommufd(struct out *o, struct libscols_line *ln, const struct vfc_iommu_info *in)
{
	static struct list l;
	char b[VFC_BDF_STRLEN];
	int r = 0;

	if (in->iova_alignment)
		r |= out_setf(o, ln, COL_ALIGNMENT, "%" PRIu64, in->iova_alignment);
	if (in->rlimit_mode >= 0)
		r |= out_set(o, ln, COL_RLIMIT_MODE, in->rlimit_mode ? "per-process" : "per-user");
	if (in->huge_pages >= 0)
		r |= out_set(o, ln, COL_HUGE_PAGES, out_bool(in->huge_pages));
	if (in->map_file >= 0)
		r |= out_set(o, ln, COL_MAP_FILE, out_bool(in->map_file));
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; i < in->ndevs; i++)
		list_add(&l, "%s %s", vfc_bdf_format(&in->devs[i].bdf, b), in->devs[i].cdev);
	r |= out_set(o, ln, COL_DEVICES, list_str(&l));
	r |= out_setf(o, ln, COL_IOAS, "%" PRIu32, in->ioas);
	r |= out_set(o, ln, COL_BAR_NOPIN, iommufd_bar_way(in));
	return r;
}

static int add_row(struct vfc_ctx *ctx, struct out *o, const struct vfc_iommu_info *in,
		   const struct vfc_host *h, const struct target *t, size_t n)
{
	struct libscols_line *ln = out_line(o);
	int r = ln ? 0 : -ENOMEM;

	if (r)
		return r;
	r |= set_common(ctx, o, ln, in, t, n);
	if (in->backend == VFC_BACKEND_IOMMUFD)
		r |= set_iommufd(o, ln, in);
	else
		r |= set_type1(o, ln, in, h);
	return r;
}

/* Opens the address space with every group in it, and reads what it offers. */
static int inspect(struct vfc_ctx *ctx, struct out *o, struct target *t, size_t n,
		   enum vfc_backend backend)
{
	struct vfc_iommu_info in = { .dma_avail = -1 };
	struct vfc_iommu *io = NULL;
	struct vfc_host h;
	int rc, r = vfc_iommu_open(ctx, backend, &io);

	if (r) {
		report_error(ctx, r);
		return iommu_exit_code(r);
	}
	rc = targets_attach(io, t, n);
	if (rc >= 0)
		goto out;
	r = vfc_iommu_info(io, &in);
	if (r) {
		report_error(ctx, r);
		rc = iommu_exit_code(r);
		goto out;
	}
	/* read after the container loaded vfio_iommu_type1: its parameters exist now */
	r = vfc_host_read(ctx, &h);
	if (r) {
		rc = report_error(ctx, r);
		goto out;
	}
	if (add_row(ctx, o, &in, &h, t, n)) {
		warnx_("out of memory");
		rc = EXIT_FAIL;
	} else {
		out_print(o);
		rc = EXIT_OK;
	}
	vfc_host_clear(&h);
out:
	vfc_iommu_info_clear(&in);
	vfc_iommu_unref(io);
	return rc;
}

/* Parses and resolves every argument, dropping a group named twice. */
static int targets(struct vfc_ctx *ctx, const char **args, struct target **out, size_t *n)
{
	struct target *t;
	size_t cnt = 0;
	int rc = -1;

	while (args[cnt])
		cnt++;
	t = calloc(cnt, sizeof(*t));
	if (!t) {
		warnx_("out of memory");
		return EXIT_FAIL;
	}
	*n = 0;
	for (size_t i = 0; i < cnt && rc < 0; i++)
		rc = target_parse("container", args[i], &t[i]);
	for (size_t i = 0; i < cnt && rc < 0; i++) {
		bool dup = false;

		rc = target_resolve(ctx, &t[i]);
		for (size_t j = 0; j < *n && rc < 0; j++)
			dup |= t[j].group == t[i].group;
		if (rc < 0 && !dup)
			t[(*n)++] = t[i];
	}
	if (rc >= 0) {
		free(t);
		return rc;
	}
	*out = t;
	return -1;
}

/* The table, with the defaults of the backend that runs. */
static int setup(struct out *o, enum vfc_backend b)
{
	if (b == VFC_BACKEND_IOMMUFD)
		return OUT_SETUP(o, "container", "containers", infos, defaults_iommufd);
	return OUT_SETUP(o, "container", "containers", infos, defaults);
}

static int run(struct vfc_ctx *ctx, int argc, const char **argv)
{
	struct poptOption opts[] = {
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, NULL, NULL },
		POPT_TABLEEND
	};
	struct target *t = NULL;
	struct out o = { 0 };
	enum vfc_backend b = cli_backend;
	const char **args;
	poptContext pc;
	size_t n = 0;
	char why[256];
	int rc = cmd_parse(&cmd_container, opts, argc, argv, &pc);

	if (rc >= 0)
		return rc;
	/* -o is checked before anything is read; the backend's defaults come later */
	rc = setup(&o, b);
	if (rc >= 0)
		goto done;
	args = poptGetArgs(pc);
	if (!args || !args[0]) {
		rc = usage_error("container", "name at least one IOMMU group or PCI device");
		goto done;
	}
	rc = targets(ctx, args, &t, &n);
	if (rc < 0)
		rc = targets_backend(ctx, t, n, &b, why, sizeof(why));
	if (rc < 0 && b != cli_backend) {
		out_free(&o);
		rc = setup(&o, b);
	}
	if (rc < 0)
		rc = inspect(ctx, &o, t, n, b);
done:
	free(t);
	out_free(&o);
	poptFreeContext(pc);
	return rc;
}

const struct cmd cmd_container = {
	.name = "container",
	.fn = run,
	.args = "BDF|GROUP...",
	.summary = "Open a VFIO container or iommufd IOAS for groups; show what it offers",
};
