// SPDX-License-Identifier: GPL-2.0-or-later
/* vfioctl bind: put devices on vfio-pci, safely and reversibly. */
#include "output.h"
#include "cli.h"

static int run(struct vfc_ctx *ctx, int argc, const char **argv)
{
	static struct binding_cli bc;
	struct poptOption opts[] = {
		{ "group", 'g', POPT_ARG_NONE, &bc.group, 0,
		  "bind every device of each device's IOMMU group, all or nothing", NULL },
		{ "owner", 0, POPT_ARG_STRING, &bc.owner, 0,
		  "give /dev/vfio/<group> to USER (mode 0660)", "USER[:GROUP]" },
		{ "dry-run", 0, POPT_ARG_NONE, &bc.dry_run, 0,
		  "print every step, in order; change nothing", NULL },
		{ "force", 'f', POPT_ARG_NONE, &bc.force, 0,
		  "bind even a device the host is using", NULL },
		{ "persist", 'p', POPT_ARG_NONE, &bc.persist, 0,
		  "bind them again at every boot (" VFC_PERSIST_DIR ")", NULL },
		{ "timeout", 0, POPT_ARG_STRING, &bc.timeout, 0,
		  "wait up to S seconds for the VFIO node (default 20)", "S" },
		{ "verbose", 'v', POPT_ARG_NONE, &bc.verbose, 0,
		  "print each step on stderr as it happens", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, NULL, NULL },
		POPT_TABLEEND
	};

	return binding_run(ctx, &cmd_bind, false, opts, &bc, argc, argv);
}

const struct cmd cmd_bind = {
	.name = "bind",
	.fn = run,
	.args = "BDF...",
	.summary = "Put devices on vfio-pci, recording their driver for unbind",
};
