// SPDX-License-Identifier: GPL-2.0-or-later
/* vfioctl group: IOMMU groups, their members, viability and reserved regions. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "cli.h"

enum { COL_GROUP, COL_TYPE, COL_VIABLE, COL_NDEV, COL_DEVICES, COL_DRIVERS,
       COL_BLOCKER, COL_REASON, COL_RESV };

static const struct colinfo infos[] = {
	[COL_GROUP] = { "GROUP", 5, SCOLS_FL_RIGHT, COL_NUM, "IOMMU group number" },
	[COL_TYPE] = { "TYPE", 8, 0, COL_STR, "default domain type (DMA, DMA-FQ, identity)" },
	[COL_VIABLE] = { "VIABLE", 6, 0, COL_BOOL, "usable through VFIO as the members are bound now" },
	[COL_NDEV] = { "NDEV", 4, SCOLS_FL_RIGHT, COL_NUM, "number of PCI members" },
	[COL_DEVICES] = { "DEVICES", 12, 0, COL_ARRAY, "PCI members" },
	[COL_DRIVERS] = { "DRIVERS", 10, 0, COL_ARRAY, "driver of each member ('-' when unbound)" },
	[COL_BLOCKER] = { "BLOCKER", 12, 0, COL_STR, "first member that keeps the group from being viable" },
	[COL_REASON] = { "REASON", 0.3, 0, COL_STR, "why the group is not viable" },
	[COL_RESV] = { "RESV", 30, 0, COL_ARRAY, "reserved IOVA regions (start-end type)" },
};

static const int defaults[] = { COL_GROUP, COL_TYPE, COL_VIABLE, COL_DEVICES,
				COL_DRIVERS, COL_REASON };

/* Joins per-member strings with newlines: one array item per member. */
static char *join_members(const struct vfc_group *g, bool drivers)
{
	size_t len = g->ndevices * 72 + 1, used = 0;
	char *buf = malloc(len), b[VFC_BDF_STRLEN];

	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < g->ndevices; i++) {
		const struct vfc_device *d = &g->devices[i];
		const char *s = drivers ? (d->driver[0] ? d->driver : "-")
					: vfc_bdf_format(&d->bdf, b);

		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "\n" : "", s);
	}
	return buf;
}

static char *join_resv(const struct vfc_group *g)
{
	size_t len = g->nresv * 64 + 1, used = 0;
	char *buf = malloc(len);

	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < g->nresv; i++)
		used += (size_t)snprintf(buf + used, len - used,
					 "%s0x%" PRIx64 "-0x%" PRIx64 " %s", i ? "\n" : "",
					 g->resv[i].start, g->resv[i].end, g->resv[i].type);
	return buf;
}

static int add_row(struct out *o, const struct vfc_group *g)
{
	struct libscols_line *ln = out_line(o);
	char *devs = join_members(g, false), *drvs = join_members(g, true);
	char *resv = join_resv(g), b[VFC_BDF_STRLEN];
	int r = (!ln || !devs || !drvs || !resv) ? -ENOMEM : 0;

	if (!r) {
		r |= out_setf(o, ln, COL_GROUP, "%d", g->id);
		r |= out_set(o, ln, COL_TYPE, g->type[0] ? g->type : NULL);
		r |= out_set(o, ln, COL_VIABLE, out_bool(g->viable));
		r |= out_setf(o, ln, COL_NDEV, "%zu", g->ndevices);
		r |= out_set(o, ln, COL_DEVICES, devs[0] ? devs : NULL);
		r |= out_set(o, ln, COL_DRIVERS, drvs[0] ? drvs : NULL);
		r |= out_set(o, ln, COL_RESV, resv[0] ? resv : NULL);
	}
	if (!r && g->blocker >= 0) {
		const struct vfc_device *d = &g->devices[g->blocker];

		vfc_bdf_format(&d->bdf, b);
		r |= out_set(o, ln, COL_BLOCKER, b);
		r |= out_setf(o, ln, COL_REASON, "%s is bound to %s", b, d->driver);
	}
	free(devs);
	free(drvs);
	free(resv);
	return r;
}

/* A group named by number, or by a member's PCI address. */
static int resolve(struct vfc_ctx *ctx, const char *arg, unsigned int *id)
{
	struct vfc_device d;
	struct vfc_bdf bdf;
	char b[VFC_BDF_STRLEN];
	int r;

	if (vfc_group_parse(arg, id) == 0)
		return 0;
	if (vfc_bdf_parse(arg, &bdf))
		return usage_error("group", "'%s' is neither a group number nor a PCI address", arg);
	r = vfc_device_read(ctx, &bdf, &d);
	if (r)
		return report_error(ctx, r);
	if (d.group < 0) {
		warnx_("%s has no IOMMU group: %s", vfc_bdf_format(&bdf, b),
		       "the IOMMU is off or does not cover this device (see 'vfioctl check')");
		return EXIT_NOT_FOUND;
	}
	*id = (unsigned int)d.group;
	return 0;
}

static int show(struct vfc_ctx *ctx, struct out *o, unsigned int id)
{
	struct vfc_group g;
	int r = vfc_group_read(ctx, id, &g);

	if (r)
		return report_error(ctx, r);
	r = add_row(o, &g);
	vfc_group_clear(&g);
	if (r) {
		warnx_("out of memory");
		return EXIT_FAIL;
	}
	return 0;
}

/* Every group; a damaged one is reported and skipped, and the exit is 1. */
static int show_all(struct vfc_ctx *ctx, struct out *o)
{
	unsigned int *ids;
	size_t n;
	int r = vfc_group_list(ctx, &ids, &n), rc = 0;

	if (r)
		return report_error(ctx, r);
	if (n == 0)
		warnx_("no IOMMU groups: the IOMMU is off or absent (see 'vfioctl check')");
	for (size_t i = 0; i < n; i++) {
		r = show(ctx, o, ids[i]);
		if (r == EXIT_FAIL && !rc)
			rc = EXIT_FAIL;
		else if (r)
			rc = r;
	}
	free(ids);
	return rc;
}

static int run(struct vfc_ctx *ctx, int argc, const char **argv)
{
	struct poptOption opts[] = {
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, NULL, NULL },
		POPT_TABLEEND
	};
	const char **args;
	struct out o = { 0 };
	poptContext pc;
	int rc = cmd_parse(&cmd_group, opts, argc, argv, &pc);

	if (rc >= 0)
		return rc;
	rc = OUT_SETUP(&o, "group", "groups", infos, defaults);
	if (rc >= 0)
		goto done;
	args = poptGetArgs(pc);
	rc = args ? 0 : show_all(ctx, &o);
	for (; args && *args && !rc; args++) {
		unsigned int id;

		rc = resolve(ctx, *args, &id);
		if (!rc)
			rc = show(ctx, &o, id);
	}
	/* what could be read is shown even when something could not */
	if (!rc || (rc == EXIT_FAIL && !args))
		out_print(&o);
done:
	out_free(&o);
	poptFreeContext(pc);
	return rc;
}

const struct cmd cmd_group = {
	.name = "group",
	.fn = run,
	.args = "[GROUP|BDF...]",
	.summary = "Show IOMMU groups, their members and whether VFIO can use them",
};
