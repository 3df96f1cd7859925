// SPDX-License-Identifier: GPL-2.0-or-later
/* Groups named on the command line by number or by a member's PCI address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "iommu-cli.h"

int target_parse(const char *cmd, const char *arg, struct target *t)
{
	t->arg = arg;
	t->is_dev = false;
	if (vfc_group_parse(arg, &t->group) == 0)
		return -1;
	if (vfc_bdf_parse(arg, &t->bdf) == 0) {
		t->is_dev = true;
		return -1;
	}
	return usage_error(cmd, "'%s' is neither an IOMMU group number nor a PCI address", arg);
}

int target_resolve(struct vfc_ctx *ctx, struct target *t)
{
	char b[VFC_BDF_STRLEN];
	struct vfc_device d;
	struct vfc_group g;
	int r;

	if (!t->is_dev) {
		r = vfc_group_read(ctx, t->group, &g);
		vfc_group_clear(&g);
		return r ? report_error(ctx, r) : -1;
	}
	r = vfc_device_read(ctx, &t->bdf, &d);
	if (r)
		return report_error(ctx, r);
	if (d.group < 0) {
		warnx_("%s has no IOMMU group: %s", vfc_bdf_format(&t->bdf, b),
		       "the IOMMU is off or does not cover this device (see 'vfioctl check')");
		return EXIT_NOT_FOUND;
	}
	t->group = (unsigned int)d.group;
	return -1;
}

int targets_attach(struct vfc_iommu *io, struct target *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = vfc_iommu_add_group(io, t[i].group);

		if (r) {
			report_error(vfc_iommu_ctx(io), r);
			return iommu_exit_code(r);
		}
	}
	return -1;
}

int targets_backend(struct vfc_ctx *ctx, const struct target *t, size_t n,
		    enum vfc_backend *out, char *why, size_t len)
{
	unsigned int *groups = calloc(n ? n : 1, sizeof(*groups));
	int r;

	if (!groups) {
		warnx_("out of memory");
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++)
		groups[i] = t[i].group;
	r = vfc_backend_choose(ctx, cli_backend, groups, n, out, why, len);
	free(groups);
	return r ? report_error(ctx, r) : -1;
}

int iommu_exit_code(int err)
{
	if (err == -EOPNOTSUPP)
		return EXIT_UNSUPPORTED;
	return exit_code_for(err);
}
