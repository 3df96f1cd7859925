// SPDX-License-Identifier: GPL-2.0-or-later
/* vfioctl list: PCI devices with names, driver, IOMMU group and VFIO nodes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "cli.h"

enum {
	COL_BDF, COL_ID, COL_SUBID, COL_CLASS, COL_CLASSID, COL_VENDOR, COL_DEVICE,
	COL_NAME, COL_DRIVER, COL_OVERRIDE, COL_GROUP, COL_VFIO, COL_CDEV,
	COL_NUMA, COL_SRIOV, COL_PF, COL_NUMVFS, COL_BOOTVGA, COL_BARS,
};

static const struct colinfo infos[] = {
	[COL_BDF] = { "BDF", 12, 0, COL_STR, "PCI address (domain:bus:device.function)" },
	[COL_ID] = { "ID", 9, 0, COL_STR, "vendor:device ID" },
	[COL_SUBID] = { "SUBID", 9, 0, COL_STR, "subsystem vendor:device ID" },
	[COL_CLASS] = { "CLASS", 0.2, SCOLS_FL_TRUNC, COL_STR, "class name" },
	[COL_CLASSID] = { "CLASSID", 6, 0, COL_STR, "class code (class, subclass, prog-if)" },
	[COL_VENDOR] = { "VENDOR", 0.2, SCOLS_FL_TRUNC, COL_STR, "vendor name" },
	[COL_DEVICE] = { "DEVICE", 0.3, SCOLS_FL_TRUNC, COL_STR, "device name" },
	[COL_NAME] = { "NAME", 0.4, SCOLS_FL_TRUNC, COL_STR, "vendor and device name" },
	[COL_DRIVER] = { "DRIVER", 8, 0, COL_STR, "bound driver" },
	[COL_OVERRIDE] = { "OVERRIDE", 8, 0, COL_STR, "driver_override" },
	[COL_GROUP] = { "GROUP", 5, SCOLS_FL_RIGHT, COL_NUM, "IOMMU group" },
	[COL_VFIO] = { "VFIO", 11, 0, COL_STR, "VFIO group node" },
	[COL_CDEV] = { "CDEV", 11, 0, COL_STR, "VFIO device node (cdev, for iommufd)" },
	[COL_NUMA] = { "NUMA", 4, SCOLS_FL_RIGHT, COL_NUM, "NUMA node" },
	[COL_SRIOV] = { "SRIOV", 5, 0, COL_STR, "SR-IOV role: PF or VF" },
	[COL_PF] = { "PF", 12, 0, COL_STR, "physical function of a VF" },
	[COL_NUMVFS] = { "NUMVFS", 6, SCOLS_FL_RIGHT, COL_NUM, "enabled VFs of a PF" },
	[COL_BOOTVGA] = { "BOOTVGA", 7, 0, COL_BOOL, "the firmware's boot display device" },
	[COL_BARS] = { "BARS", 12, 0, COL_ARRAY, "memory and I/O BARs with their sizes" },
};

static const int defaults[] = { COL_BDF, COL_ID, COL_CLASS, COL_NAME, COL_DRIVER,
				COL_GROUP, COL_VFIO };

struct filter {
	char *class_;
	char *driver;
	char *vendor;
	int vfio;
	unsigned int cls, clsbits;
	int vid, did;
};

static int parse_filter(struct filter *f)
{
	if (f->class_) {
		size_t len = strlen(f->class_);

		/* a prefix of the 6-digit class code: 02, 0200 or 020000 */
		if ((len != 2 && len != 4 && len != 6) ||
		    strspn(f->class_, "0123456789abcdefABCDEF") != len)
			return usage_error("list", "--class wants 2, 4 or 6 hex digits, not '%s'",
					   f->class_);
		f->cls = (unsigned int)strtoul(f->class_, NULL, 16);
		f->clsbits = (unsigned int)len * 4;
	}
	f->vid = f->did = -1;
	if (f->vendor) {
		char *colon = strchr(f->vendor, ':');
		char vend[8] = "";

		if ((colon ? (size_t)(colon - f->vendor) : strlen(f->vendor)) > 4)
			goto bad;
		snprintf(vend, sizeof(vend), "%.*s",
			 (int)(colon ? colon - f->vendor : (long)strlen(f->vendor)), f->vendor);
		if (strlen(vend) != 4 || strspn(vend, "0123456789abcdefABCDEF") != 4)
			goto bad;
		f->vid = (int)strtoul(vend, NULL, 16);
		if (colon) {
			if (strlen(colon + 1) != 4 ||
			    strspn(colon + 1, "0123456789abcdefABCDEF") != 4)
				goto bad;
			f->did = (int)strtoul(colon + 1, NULL, 16);
		}
	}
	return -1;
bad:
	return usage_error("list", "--vendor wants VVVV or VVVV:DDDD in hex, not '%s'",
			   f->vendor);
}

static bool matches(const struct filter *f, const struct vfc_device *d)
{
	if (f->clsbits && (d->class >> (24 - f->clsbits)) != f->cls)
		return false;
	if (f->vid >= 0 && d->vendor != f->vid)
		return false;
	if (f->did >= 0 && d->device != f->did)
		return false;
	if (f->driver) {
		if (!strcmp(f->driver, "none") ? d->driver[0] != '\0'
					       : strcmp(f->driver, d->driver) != 0)
			return false;
	}
	if (f->vfio && (!vfc_driver_is_vfio(d->driver) || d->group < 0))
		return false;
	return true;
}

static void bars_cell(const struct vfc_device *d, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < VFC_MAX_BARS && used < len; i++) {
		char sz[16];

		if (!d->bars[i].size)
			continue;
		/* IORESOURCE_IO is 0x100 in the resource file's flags */
		used += (size_t)snprintf(buf + used, len - used, "%sBAR%d %s %s",
					 used ? "\n" : "", i,
					 (d->bars[i].flags & 0x100) ? "io" : "mem",
					 vfc_size_format(d->bars[i].size, sz, sizeof(sz)));
	}
}

static int add_row(struct vfc_ctx *ctx, struct out *o, const struct vfc_device *d)
{
	struct libscols_line *ln = out_line(o);
	char b[VFC_BDF_STRLEN], gnode[64], cnode[64], bars[256];
	int r = 0;

	if (!ln)
		return -ENOMEM;
	vfc_device_vfio_nodes(ctx, d, gnode, sizeof(gnode), cnode, sizeof(cnode));
	r |= out_set(o, ln, COL_BDF, vfc_bdf_format(&d->bdf, b));
	r |= out_setf(o, ln, COL_ID, "%04x:%04x", d->vendor, d->device);
	r |= out_setf(o, ln, COL_SUBID, "%04x:%04x", d->subvendor, d->subdevice);
	r |= out_set(o, ln, COL_CLASS, d->class_name);
	r |= out_setf(o, ln, COL_CLASSID, "%06x", d->class);
	r |= out_set(o, ln, COL_VENDOR, d->vendor_name);
	r |= out_set(o, ln, COL_DEVICE, d->device_name);
	r |= out_setf(o, ln, COL_NAME, "%s %s", d->vendor_name, d->device_name);
	r |= out_set(o, ln, COL_DRIVER, d->driver[0] ? d->driver : NULL);
	r |= out_set(o, ln, COL_OVERRIDE, d->driver_override[0] ? d->driver_override : NULL);
	if (d->group >= 0)
		r |= out_setf(o, ln, COL_GROUP, "%d", d->group);
	r |= out_set(o, ln, COL_VFIO, gnode[0] ? gnode : NULL);
	r |= out_set(o, ln, COL_CDEV, cnode[0] ? cnode : NULL);
	if (d->numa_node >= 0)
		r |= out_setf(o, ln, COL_NUMA, "%d", d->numa_node);
	if (d->sriov_role != VFC_SRIOV_NONE)
		r |= out_set(o, ln, COL_SRIOV, d->sriov_role == VFC_SRIOV_PF ? "PF" : "VF");
	if (d->sriov_role == VFC_SRIOV_VF)
		r |= out_set(o, ln, COL_PF, vfc_bdf_format(&d->physfn, b));
	if (d->sriov_role == VFC_SRIOV_PF)
		r |= out_setf(o, ln, COL_NUMVFS, "%d", d->sriov_numvfs);
	r |= out_set(o, ln, COL_BOOTVGA, out_bool(d->boot_vga));
	if (out_has(o, COL_BARS)) {
		bars_cell(d, bars, sizeof(bars));
		r |= out_set(o, ln, COL_BARS, bars[0] ? bars : NULL);
	}
	return r ? -ENOMEM : 0;
}

static int oom(void)
{
	warnx_("out of memory");
	return EXIT_FAIL;
}

static int list_named(struct vfc_ctx *ctx, struct out *o, const char **names,
		      const struct filter *f)
{
	for (; *names; names++) {
		struct vfc_device d;
		struct vfc_bdf bdf;
		int r;

		if (vfc_bdf_parse(*names, &bdf))
			return usage_error("list", "'%s' is not a PCI address (DDDD:BB:DD.F)",
					   *names);
		r = vfc_device_read(ctx, &bdf, &d);
		if (r)
			return report_error(ctx, r);
		if (matches(f, &d) && add_row(ctx, o, &d))
			return oom();
	}
	return -1;
}

static int list_all(struct vfc_ctx *ctx, struct out *o, const struct filter *f,
		    size_t *skipped)
{
	struct vfc_device *devs;
	size_t n;
	int r = vfc_device_list(ctx, &devs, &n, skipped);

	if (r)
		return report_error(ctx, r);
	for (size_t i = 0; i < n; i++) {
		if (matches(f, &devs[i]) && add_row(ctx, o, &devs[i])) {
			free(devs);
			return oom();
		}
	}
	free(devs);
	return -1;
}

static int run(struct vfc_ctx *ctx, int argc, const char **argv)
{
	struct filter f = { 0 };
	struct poptOption opts[] = {
		{ "class", 'c', POPT_ARG_STRING, &f.class_, 0,
		  "only devices of this class (hex prefix: 02, 0200)", "CLASS" },
		{ "driver", 'd', POPT_ARG_STRING, &f.driver, 0,
		  "only devices bound to DRIVER ('none': unbound)", "DRIVER" },
		{ "vendor", 0, POPT_ARG_STRING, &f.vendor, 0,
		  "only devices with this ID (hex VVVV or VVVV:DDDD)", "ID" },
		{ "vfio", 0, POPT_ARG_NONE, &f.vfio, 0,
		  "only devices usable through VFIO (bound to vfio-pci)", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, NULL, NULL },
		POPT_TABLEEND
	};
	const char **names;
	struct out o = { 0 };
	poptContext pc;
	size_t skipped = 0;
	int rc = cmd_parse(&cmd_list, opts, argc, argv, &pc);

	if (rc >= 0)
		return rc;
	rc = parse_filter(&f);
	if (rc >= 0)
		goto done;
	rc = OUT_SETUP(&o, "list", "devices", infos, defaults);
	if (rc >= 0)
		goto done;
	names = poptGetArgs(pc);
	rc = names ? list_named(ctx, &o, names, &f) : list_all(ctx, &o, &f, &skipped);
	if (rc < 0) {
		out_print(&o);
		rc = skipped ? EXIT_FAIL : EXIT_OK;
	}
done:
	out_free(&o);
	poptFreeContext(pc);
	free(f.class_);
	free(f.driver);
	free(f.vendor);
	return rc;
}

const struct cmd cmd_list = {
	.name = "list",
	.fn = run,
	.args = "[BDF...]",
	.summary = "List PCI devices with their driver, IOMMU group and VFIO nodes",
};
