// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl persist: the bindings kept across reboots (bind --persist).
 *   list           what is persisted, and how each device stands now
 *   remove BDF...  no longer bind them at boot (the devices stay where they are)
 *   apply          bind them now: what vfioctl-persist.service runs at boot
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "cli.h"

enum { COL_DEVICE, COL_ID, COL_FOUND, COL_DRIVER, COL_OWNER, COL_FORCE, COL_STATE,
       COL_REASON, COL_FILE };

static const struct colinfo infos[] = {
	[COL_DEVICE] = { "DEVICE", 12, 0, COL_STR, "PCI address" },
	[COL_ID] = { "ID", 9, 0, COL_STR, "vendor:device persisted; only that is bound at boot" },
	[COL_FOUND] = { "FOUND", 9, 0, COL_STR, "vendor:device the slot holds now" },
	[COL_DRIVER] = { "DRIVER", 8, 0, COL_STR, "driver bound now" },
	[COL_OWNER] = { "OWNER", 8, 0, COL_STR, "owner given to the group node (user:group)" },
	[COL_FORCE] = { "FORCE", 5, 0, COL_BOOL, "persisted with --force: no safety checks at boot" },
	[COL_STATE] = { "STATE", 9, 0, COL_STR, "bound, pending (not on vfio-pci now), absent, other-device, invalid" },
	[COL_REASON] = { "REASON", 0.3, 0, COL_STR, "why an entry is invalid" },
	[COL_FILE] = { "FILE", 0.3, 0, COL_STR, "the entry's file" },
};

static const int defaults[] = { COL_DEVICE, COL_ID, COL_DRIVER, COL_OWNER, COL_STATE };

static void owner_str(const struct vfc_persist *p, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(p->uid);
	struct group *gr = getgrgid(p->gid);
	char u[32], g[32];

	snprintf(u, sizeof(u), "%u", (unsigned int)p->uid);
	snprintf(g, sizeof(g), "%u", (unsigned int)p->gid);
	snprintf(buf, len, "%s:%s", pw ? pw->pw_name : u, gr ? gr->gr_name : g);
}

static int add_row(struct vfc_ctx *ctx, struct out *o, const struct vfc_persist *p)
{
	struct libscols_line *ln = out_line(o);
	char b[VFC_BDF_STRLEN], owner[160];
	const char *state;
	struct vfc_device d;
	bool present = vfc_device_read(ctx, &p->bdf, &d) == 0;
	int e = 0;

	vfc_bdf_format(&p->bdf, b);
	if (p->error[0])
		state = "invalid";
	else if (!present)
		state = "absent";
	else if (d.vendor != p->vendor || d.device != p->device)
		state = "other-device";
	else if (!strcmp(d.driver, "vfio-pci"))
		state = "bound";
	else
		state = "pending";
	e |= out_set(o, ln, COL_DEVICE, b);
	if (!p->error[0])
		e |= out_setf(o, ln, COL_ID, "%04x:%04x", p->vendor, p->device);
	if (present)
		e |= out_setf(o, ln, COL_FOUND, "%04x:%04x", d.vendor, d.device);
	e |= out_set(o, ln, COL_DRIVER, present && d.driver[0] ? d.driver : NULL);
	if (p->has_owner) {
		owner_str(p, owner, sizeof(owner));
		e |= out_set(o, ln, COL_OWNER, owner);
	}
	e |= out_set(o, ln, COL_FORCE, out_bool(p->force));
	e |= out_set(o, ln, COL_STATE, state);
	e |= out_set(o, ln, COL_REASON, p->error[0] ? p->error : NULL);
	e |= out_setf(o, ln, COL_FILE, "%s/%s", VFC_PERSIST_DIR, b);
	return e;
}

static int do_list(struct vfc_ctx *ctx, const char **args)
{
	struct vfc_persist *v = NULL;
	struct out o = { 0 };
	size_t n = 0;
	int rc = OUT_SETUP(&o, "persist", "persist", infos, defaults), e;

	if (rc >= 0)
		return rc;
	if (args && args[0]) {
		out_free(&o);
		return usage_error("persist", "list takes no arguments");
	}
	e = vfc_persist_list(ctx, &v, &n);
	if (e) {
		out_free(&o);
		return report_error(ctx, e);
	}
	rc = EXIT_OK;
	for (size_t i = 0; i < n && !rc; i++)
		if (add_row(ctx, &o, &v[i]))
			rc = EXIT_FAIL;
	if (!rc && out_print(&o))
		rc = EXIT_FAIL;
	if (!rc && !outopts.json && !outopts.raw && !outopts.pairs && n &&
	    !vfc_persist_unit_enabled(ctx))
		warnx_("warning: %s is not enabled: nothing applies these at boot ('systemctl enable %s')",
		       VFC_PERSIST_UNIT, VFC_PERSIST_UNIT);
	out_free(&o);
	free(v);
	return rc;
}

static int do_remove(struct vfc_ctx *ctx, const char **args, bool all)
{
	struct vfc_persist *v = NULL;
	struct vfc_bdf *bdfs;
	size_t n = 0;
	int rc = EXIT_OK, e;

	while (args && args[n])
		n++;
	if (all == (n > 0))
		return usage_error("persist", "remove wants device addresses, or --all");
	if (all) {
		e = vfc_persist_list(ctx, &v, &n);
		if (e)
			return report_error(ctx, e);
	}
	bdfs = calloc(n ? n : 1, sizeof(*bdfs));
	if (!bdfs) {
		free(v);
		return EXIT_FAIL;
	}
	/* every address is checked before any file is removed */
	for (size_t i = 0; i < n; i++) {
		if (all) {
			bdfs[i] = v[i].bdf;
		} else if (vfc_bdf_parse(args[i], &bdfs[i])) {
			free(bdfs);
			return usage_error("persist", "'%s' is not a PCI address (DDDD:BB:DD.F)", args[i]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		char b[VFC_BDF_STRLEN];

		vfc_bdf_format(&bdfs[i], b);
		e = vfc_persist_remove(ctx, &bdfs[i]);
		if (e == -ENOENT)
			warnx_("%s: nothing persisted", b);
		else if (e)
			rc = rc ? rc : report_error(ctx, e);
		else
			printf("%s: no longer bound to vfio-pci at boot\n", b);
	}
	if (n && (e = vfc_persist_write_rules(ctx)))
		rc = rc ? rc : report_error(ctx, e);
	free(bdfs);
	free(v);
	return rc;
}

static int run(struct vfc_ctx *ctx, int argc, const char **argv)
{
	static int all, dry_run, verbose;
	static char *timeout;
	struct poptOption opts[] = {
		{ "all", 'a', POPT_ARG_NONE, &all, 0, "remove: every entry", NULL },
		{ "dry-run", 0, POPT_ARG_NONE, &dry_run, 0,
		  "apply: print every step, in order; change nothing", NULL },
		{ "verbose", 'v', POPT_ARG_NONE, &verbose, 0,
		  "apply: print each step on stderr as it happens", NULL },
		{ "timeout", 0, POPT_ARG_STRING, &timeout, 0,
		  "apply: wait up to S seconds for each VFIO node (default 120)", "S" },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, NULL, NULL },
		POPT_TABLEEND
	};
	poptContext pc;
	const char **args, *action;
	int rc = cmd_parse(&cmd_persist, opts, argc, argv, &pc);

	if (rc >= 0)
		return rc;
	args = poptGetArgs(pc);
	action = args && args[0] ? args[0] : "list";
	if (args && args[0])
		args++;
	if (all && strcmp(action, "remove"))
		rc = usage_error("persist", "--all belongs to 'persist remove'");
	else if ((dry_run || verbose || timeout) && strcmp(action, "apply"))
		rc = usage_error("persist", "--dry-run, --verbose and --timeout belong to 'persist apply'");
	else if (!strcmp(action, "list"))
		rc = do_list(ctx, args);
	else if (!strcmp(action, "remove"))
		rc = do_remove(ctx, args, all);
	else if (!strcmp(action, "apply") && args && args[0])
		rc = usage_error("persist", "apply takes no arguments: it applies every entry");
	else if (!strcmp(action, "apply"))
		rc = binding_apply(ctx, &cmd_persist, dry_run, verbose, timeout);
	else
		rc = usage_error("persist", "unknown action '%s' (list, remove or apply)", action);
	poptFreeContext(pc);
	return rc;
}

const struct cmd cmd_persist = {
	.name = "persist",
	.fn = run,
	.args = "[list | remove BDF...|--all | apply]",
	.summary = "Show, remove or apply the bindings kept across reboots",
};
