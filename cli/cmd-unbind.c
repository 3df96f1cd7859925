// SPDX-License-Identifier: GPL-2.0-or-later
/* vfioctl unbind: give devices back to the driver they had before bind. */
#include "output.h"
#include "cli.h"

static int run(struct vfc_ctx *ctx, int argc, const char **argv)
{
	static struct binding_cli bc;
	struct poptOption opts[] = {
		{ "group", 'g', POPT_ARG_NONE, &bc.group, 0,
		  "give back every device of each device's IOMMU group", NULL },
		{ "dry-run", 0, POPT_ARG_NONE, &bc.dry_run, 0,
		  "print every step, in order; change nothing", NULL },
		{ "persist", 'p', POPT_ARG_NONE, &bc.persist, 0,
		  "no longer bind them at boot either", NULL },
		{ "verbose", 'v', POPT_ARG_NONE, &bc.verbose, 0,
		  "print each step on stderr as it happens", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, NULL, NULL },
		POPT_TABLEEND
	};

	return binding_run(ctx, &cmd_unbind, true, opts, &bc, argc, argv);
}

const struct cmd cmd_unbind = {
	.name = "unbind",
	.fn = run,
	.args = "BDF...",
	.summary = "Give devices back to the driver they had before bind",
};
