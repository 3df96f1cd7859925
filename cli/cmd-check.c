// SPDX-License-Identifier: GPL-2.0-or-later
/* vfioctl check: can this host (and these devices) do VFIO assignment? */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "cli.h"

enum { COL_CHECK, COL_DEVICE, COL_STATUS, COL_DETAIL, COL_HINT };

static const struct colinfo infos[] = {
	[COL_CHECK] = { "CHECK", 18, 0, COL_STR, "what is checked" },
	[COL_DEVICE] = { "DEVICE", 12, 0, COL_STR, "the device checked (empty for host checks)" },
	[COL_STATUS] = { "STATUS", 6, 0, COL_STR, "PASS, WARN, FAIL or SKIP (does not apply)" },
	[COL_DETAIL] = { "DETAIL", 0.4, SCOLS_FL_WRAP, COL_STR, "what was found" },
	[COL_HINT] = { "HINT", 0.4, SCOLS_FL_WRAP, COL_STR, "how to fix a WARN or FAIL" },
};

static const int host_defaults[] = { COL_CHECK, COL_STATUS, COL_DETAIL, COL_HINT };
static const int dev_defaults[] = { COL_CHECK, COL_DEVICE, COL_STATUS, COL_DETAIL, COL_HINT };

static int print_checks(struct out *o, const struct vfc_check *c, size_t n)
{
	int fails = 0;

	for (size_t i = 0; i < n; i++) {
		struct libscols_line *ln = out_line(o);
		int r = 0;

		r |= out_set(o, ln, COL_CHECK, c[i].name);
		r |= out_set(o, ln, COL_DEVICE, c[i].subject[0] ? c[i].subject : NULL);
		r |= out_set(o, ln, COL_STATUS, vfc_check_status_str(c[i].status));
		r |= out_set(o, ln, COL_DETAIL, c[i].detail);
		r |= out_set(o, ln, COL_HINT, c[i].hint[0] ? c[i].hint : NULL);
		if (r) {
			warnx_("out of memory");
			return -ENOMEM;
		}
		fails += c[i].status == VFC_FAIL;
	}
	out_print(o);
	return fails;
}

static int run(struct vfc_ctx *ctx, int argc, const char **argv)
{
	struct poptOption opts[] = {
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, NULL, NULL },
		POPT_TABLEEND
	};
	struct vfc_check *checks = NULL;
	struct vfc_host host;
	const char **args;
	size_t n = 0;
	struct out o = { 0 };
	poptContext pc;
	int rc = cmd_parse(&cmd_check, opts, argc, argv, &pc);

	if (rc >= 0)
		return rc;
	args = poptGetArgs(pc);
	/* every argument is validated before anything is read */
	for (const char **a = args; a && *a; a++) {
		struct vfc_bdf bdf;

		if (vfc_bdf_parse(*a, &bdf)) {
			rc = usage_error("check", "'%s' is not a PCI address (DDDD:BB:DD.F)", *a);
			goto done;
		}
	}
	rc = args ? OUT_SETUP(&o, "check", "checks", infos, dev_defaults)
		  : OUT_SETUP(&o, "check", "checks", infos, host_defaults);
	if (rc >= 0)
		goto done;
	rc = vfc_host_read(ctx, &host);
	if (rc) {
		rc = report_error(ctx, rc);
		goto done;
	}
	rc = vfc_check_host(ctx, &host, &checks, &n);
	for (const char **a = args; !rc && a && *a; a++) {
		struct vfc_bdf bdf;

		vfc_bdf_parse(*a, &bdf);
		rc = vfc_check_device(ctx, &host, &bdf, &checks, &n);
	}
	vfc_host_clear(&host);
	if (rc) {
		rc = report_error(ctx, rc);
		goto done;
	}
	rc = print_checks(&o, checks, n);
	rc = rc < 0 ? EXIT_FAIL : rc > 0 ? EXIT_CHECK_FAIL : EXIT_OK;
done:
	free(checks);
	out_free(&o);
	poptFreeContext(pc);
	return rc;
}

const struct cmd cmd_check = {
	.name = "check",
	.fn = run,
	.args = "[BDF...]",
	.summary = "Check that the host (and the given devices) can do VFIO assignment",
};
