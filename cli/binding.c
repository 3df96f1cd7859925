// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What `bind` and `unbind` share: argument checks, the signal handling that
 * turns ^C into a rollback, the step and result tables, the exit codes.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "cli.h"

volatile sig_atomic_t binding_cancel;

/* ---- tables ------------------------------------------------------------------- */

enum { COL_DEVICE, COL_GROUP, COL_ACTION, COL_FROM, COL_TO, COL_NODE, COL_VIABLE,
       COL_RECORD, COL_OWNER };

static const struct colinfo infos[] = {
	[COL_DEVICE] = { "DEVICE", 12, 0, COL_STR, "PCI address" },
	[COL_GROUP] = { "GROUP", 5, SCOLS_FL_RIGHT, COL_NUM, "IOMMU group" },
	[COL_ACTION] = { "ACTION", 9, 0, COL_STR, "bound, restored, unchanged or planned" },
	[COL_FROM] = { "FROM", 8, 0, COL_STR, "driver before the run" },
	[COL_TO] = { "TO", 8, 0, COL_STR, "driver after the run" },
	[COL_NODE] = { "NODE", 11, 0, COL_STR, "VFIO group node" },
	[COL_VIABLE] = { "VIABLE", 6, 0, COL_BOOL, "the group is usable through VFIO after the run" },
	[COL_RECORD] = { "RECORD", 6, 0, COL_BOOL, "the original driver is recorded under /run/vfioctl" },
	[COL_OWNER] = { "OWNER", 5, 0, COL_BOOL, "the group node was given to --owner" },
};

static const int bind_defaults[] = { COL_DEVICE, COL_GROUP, COL_FROM, COL_TO, COL_ACTION,
				     COL_NODE, COL_VIABLE };
static const int unbind_defaults[] = { COL_DEVICE, COL_GROUP, COL_FROM, COL_TO, COL_ACTION };

enum { SCOL_STEP, SCOL_DEVICE, SCOL_PATH, SCOL_VALUE };

static const struct colinfo step_infos[] = {
	[SCOL_STEP] = { "STEP", 12, 0, COL_STR, "load-module, save-state, write, verify, wait, owner, remove-state, persist, unpersist, udev-rules" },
	[SCOL_DEVICE] = { "DEVICE", 12, 0, COL_STR, "PCI address the step is for" },
	[SCOL_PATH] = { "PATH", 0.5, 0, COL_STR, "file written, link checked or node waited for" },
	[SCOL_VALUE] = { "VALUE", 0.3, 0, COL_STR, "what is written or expected" },
};

static const int step_defaults[] = { SCOL_STEP, SCOL_PATH, SCOL_VALUE };

static const char *step_name(enum vfc_step_kind k)
{
	switch (k) {
	case VFC_STEP_LOAD_MODULE: return "load-module";
	case VFC_STEP_SAVE_STATE: return "save-state";
	case VFC_STEP_WRITE: return "write";
	case VFC_STEP_VERIFY: return "verify";
	case VFC_STEP_WAIT: return "wait";
	case VFC_STEP_OWNER: return "owner";
	case VFC_STEP_REMOVE_STATE: return "remove-state";
	case VFC_STEP_PERSIST: return "persist";
	case VFC_STEP_UNPERSIST: return "unpersist";
	case VFC_STEP_RULES: return "udev-rules";
	}
	return "?";
}

struct step_sink {
	struct out *o; /* dry run: the step table */
	bool verbose;  /* real run: each step on stderr as it happens */
	int err;
};

static void on_step(void *data, const struct vfc_step *s)
{
	struct step_sink *k = data;
	char b[VFC_BDF_STRLEN] = "";

	if (s->has_bdf)
		vfc_bdf_format(&s->bdf, b);
	if (k->verbose)
		fprintf(stderr, "%s: %s%s %s%s%s\n", program_name, s->rollback ? "rollback: " : "",
			step_name(s->kind), s->path[0] ? s->path : b, s->value ? " " : "",
			s->value ? s->value : "");
	if (k->o) {
		struct libscols_line *ln = out_line(k->o);

		k->err |= out_set(k->o, ln, SCOL_STEP, step_name(s->kind));
		k->err |= out_set(k->o, ln, SCOL_DEVICE, b[0] ? b : NULL);
		k->err |= out_set(k->o, ln, SCOL_PATH, s->path[0] ? s->path : NULL);
		k->err |= out_set(k->o, ln, SCOL_VALUE, s->value);
	}
}

static int add_result(struct out *o, const struct vfc_bind_result *r)
{
	struct libscols_line *ln = out_line(o);
	char b[VFC_BDF_STRLEN];
	int e = 0;

	e |= out_set(o, ln, COL_DEVICE, vfc_bdf_format(&r->bdf, b));
	if (r->group >= 0)
		e |= out_setf(o, ln, COL_GROUP, "%d", r->group);
	e |= out_set(o, ln, COL_ACTION, vfc_bind_action_str(r->action));
	e |= out_set(o, ln, COL_FROM, r->driver_before[0] ? r->driver_before : NULL);
	e |= out_set(o, ln, COL_TO, r->driver_after[0] ? r->driver_after : NULL);
	e |= out_set(o, ln, COL_NODE, r->node[0] ? r->node : NULL);
	e |= out_set(o, ln, COL_VIABLE, out_bool(r->group_viable));
	e |= out_set(o, ln, COL_RECORD, out_bool(r->recorded));
	e |= out_set(o, ln, COL_OWNER, out_bool(r->owner_set));
	return e;
}

/* ---- arguments ---------------------------------------------------------------- */

/* Seconds with up to three decimals: "0", "2.5", "30". */
static int parse_timeout(const char *cmd, const char *s, int *ms)
{
	unsigned long whole = 0, frac = 0;
	int digits = 0;
	const char *p = s;

	if (!*p)
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (unsigned long)(*p - '0');
		if (whole > 86400)
			goto bad;
	}
	if (p == s)
		goto bad;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
			frac = frac * 10 + (unsigned long)(*p - '0');
	if (*p)
		goto bad;
	for (; digits < 3; digits++)
		frac *= 10;
	*ms = (int)(whole * 1000 + frac);
	return -1;
bad:
	return usage_error(cmd, "--timeout wants seconds (0 to 86400, e.g. 5 or 0.5), not '%s'", s);
}

static bool parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	*out = strtoul(s, &end, 10);
	return *out < 0xffffffffUL;
}

/* USER[:GROUP], names or numbers; a USER alone brings its login group. */
static int parse_owner(const char *cmd, const char *s, uid_t *uid, gid_t *gid)
{
	char user[256];
	const char *colon = strchr(s, ':');
	struct passwd *pw;
	struct group *gr;
	unsigned long n;

	snprintf(user, sizeof(user), "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
	pw = user[0] ? getpwnam(user) : NULL;
	if (pw)
		*uid = pw->pw_uid;
	else if (parse_id(user, &n))
		*uid = (uid_t)n;
	else
		return usage_error(cmd, "--owner: no user '%s'", user);
	if (!colon || !colon[1]) {
		if (!pw && !(pw = getpwuid(*uid)))
			return usage_error(cmd, "--owner: user %s has no passwd entry; name a group: %s:GROUP",
					   user, user);
		*gid = pw->pw_gid;
		return -1;
	}
	gr = getgrnam(colon + 1);
	if (gr)
		*gid = gr->gr_gid;
	else if (parse_id(colon + 1, &n))
		*gid = (gid_t)n;
	else
		return usage_error(cmd, "--owner: no group '%s'", colon + 1);
	return -1;
}

static int parse_bdfs(const char *cmd, const char **args, struct vfc_bdf **out, size_t *n)
{
	size_t cnt = 0;

	while (args && args[cnt])
		cnt++;
	if (!cnt)
		return usage_error(cmd, "no device given (a PCI address, e.g. 0000:01:00.0)");
	*out = calloc(cnt, sizeof(**out));
	if (!*out)
		return EXIT_FAIL;
	/* every argument is validated before anything is read or written */
	for (size_t i = 0; i < cnt; i++)
		if (vfc_bdf_parse(args[i], &(*out)[i]))
			return usage_error(cmd, "'%s' is not a PCI address (DDDD:BB:DD.F)", args[i]);
	*n = cnt;
	return -1;
}

/* ---- signals ------------------------------------------------------------------ */

static void on_signal(int sig)
{
	binding_cancel = sig;
}

/* No SA_RESTART: a wait in the library wakes up and sees the flag. */
static void catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* After the rollback, die of the signal as the caller's shell expects. */
static void die_of_signal(void)
{
	int sig = binding_cancel;

	if (!sig)
		return;
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- running ---------------------------------------------------------------------- */

static int failure(struct vfc_ctx *ctx, int err)
{
	unsigned int f = vfc_errflags(ctx);
	int rc = report_error(ctx, err);

	if (f & VFC_ERR_ROLLED_BACK)
		warnx_("rolled back: every device is on its original driver again");
	if (f & VFC_ERR_CANCELLED)
		die_of_signal();
	if (f & VFC_ERR_REFUSED)
		return EXIT_REFUSED;
	if (f & VFC_ERR_ROLLED_BACK)
		return EXIT_ROLLED_BACK;
	return rc;
}

static int execute(struct vfc_ctx *ctx, bool unbind, struct vfc_bind_opts *opts,
		   const struct vfc_bdf *bdfs, size_t n, bool verbose, struct out *o)
{
	bool dry = opts->flags & VFC_BIND_DRY_RUN;
	struct step_sink sink = { .verbose = verbose, .o = dry ? o : NULL };
	struct vfc_bind_result *res = NULL;
	size_t nres = 0;
	int e, rc = EXIT_OK;

	opts->step_fn = on_step;
	opts->step_data = &sink;
	catch_signals();
	e = unbind ? vfc_unbind(ctx, bdfs, n, opts, &res, &nres)
		   : vfc_bind(ctx, bdfs, n, opts, &res, &nres);
	/* a dry run shows its steps; a real one what it did, even when a device failed */
	for (size_t i = 0; !dry && i < nres && !rc; i++)
		rc = add_result(o, &res[i]) ? EXIT_FAIL : EXIT_OK;
	if (sink.err)
		rc = EXIT_FAIL;
	if (!rc && (dry ? !e : nres > 0))
		out_print(o);
	if (e)
		rc = failure(ctx, e);
	free(res);
	return rc;
}

/* The step table for a dry run, the result table otherwise; or --list-columns. */
static int setup_table(struct out *o, const struct cmd *cmd, bool unbind, bool dry)
{
	if (dry)
		return OUT_SETUP(o, cmd->name, "steps", step_infos, step_defaults);
	if (unbind)
		return OUT_SETUP(o, cmd->name, "unbind", infos, unbind_defaults);
	return OUT_SETUP(o, cmd->name, "bind", infos, bind_defaults);
}

int binding_run(struct vfc_ctx *ctx, const struct cmd *cmd, bool unbind,
		const struct poptOption *cmd_opts, struct binding_cli *bc, int argc,
		const char **argv)
{
	struct vfc_bind_opts opts = { .timeout_ms = VFC_BIND_TIMEOUT_DEFAULT_MS,
				      .cancel = &binding_cancel };
	struct vfc_bdf *bdfs = NULL;
	struct out o = { 0 };
	poptContext pc;
	size_t n = 0;
	int rc = cmd_parse(cmd, cmd_opts, argc, argv, &pc);

	if (rc >= 0)
		return rc;
	rc = setup_table(&o, cmd, unbind, bc->dry_run);
	if (rc < 0)
		rc = parse_bdfs(cmd->name, poptGetArgs(pc), &bdfs, &n);
	if (rc < 0 && bc->timeout)
		rc = parse_timeout(cmd->name, bc->timeout, &opts.timeout_ms);
	if (rc < 0 && bc->owner) {
		rc = parse_owner(cmd->name, bc->owner, &opts.owner_uid, &opts.owner_gid);
		opts.flags |= VFC_BIND_OWNER;
	}
	if (rc >= 0)
		goto done;
	opts.flags |= (bc->group ? VFC_BIND_GROUP : 0) | (bc->dry_run ? VFC_BIND_DRY_RUN : 0) |
		      (bc->force ? VFC_BIND_FORCE : 0) | (bc->persist ? VFC_BIND_PERSIST : 0);
	rc = execute(ctx, unbind, &opts, bdfs, n, bc->verbose, &o);
done:
	out_free(&o);
	free(bdfs);
	poptFreeContext(pc);
	return rc;
}

/* ---- persist apply -------------------------------------------------------------- */

/*
 * Is the slot still holding what was persisted? 1 yes, 0 absent (skipped with
 * a warning: hotplug, a card taken out), <0 no (the caller reports it).
 */
static int slot_matches(struct vfc_ctx *ctx, const struct vfc_persist *p)
{
	char b[VFC_BDF_STRLEN];
	struct vfc_device d;

	vfc_bdf_format(&p->bdf, b);
	if (p->error[0]) {
		warnx_("error: %s: %s", b, p->error);
		return -EINVAL;
	}
	if (vfc_device_read(ctx, &p->bdf, &d)) {
		warnx_("warning: %s is not present: skipped", b);
		return 0;
	}
	if (d.vendor != p->vendor || d.device != p->device) {
		warnx_("error: %s holds %04x:%04x, not the %04x:%04x that was persisted: not binding it "
		       "('vfioctl persist remove %s' if the change is meant)",
		       b, d.vendor, d.device, p->vendor, p->device, b);
		return -ENODEV;
	}
	return 1;
}

int binding_apply(struct vfc_ctx *ctx, const struct cmd *cmd, bool dry, bool verbose,
		  const char *timeout)
{
	struct vfc_persist *v = NULL;
	struct out o = { 0 };
	size_t n = 0;
	int timeout_ms = VFC_PERSIST_TIMEOUT_DEFAULT_MS;
	int rc = setup_table(&o, cmd, false, dry), e;

	if (rc < 0 && timeout)
		rc = parse_timeout(cmd->name, timeout, &timeout_ms);
	if (rc >= 0) {
		out_free(&o);
		return rc;
	}
	e = vfc_persist_list(ctx, &v, &n);
	if (e) {
		out_free(&o);
		return report_error(ctx, e);
	}
	rc = EXIT_OK;
	catch_signals();
	for (size_t i = 0; i < n && !binding_cancel; i++) {
		struct vfc_bind_opts opts = { .timeout_ms = timeout_ms, .cancel = &binding_cancel };
		struct step_sink sink = { .verbose = verbose, .o = dry ? &o : NULL };
		struct vfc_bind_result *res = NULL;
		size_t nres = 0;
		int m = slot_matches(ctx, &v[i]), r = EXIT_OK;

		if (m <= 0) {
			rc = rc ? rc : (m ? EXIT_FAIL : EXIT_OK);
			continue;
		}
		/* at boot the host driver may not have bound yet: unbind lets the kernel choose */
		opts.flags = (dry ? VFC_BIND_DRY_RUN : 0) | (v[i].force ? VFC_BIND_FORCE : 0) |
			     (v[i].has_owner ? VFC_BIND_OWNER : 0) | VFC_BIND_KERNEL_CHOICE;
		opts.owner_uid = v[i].uid;
		opts.owner_gid = v[i].gid;
		opts.step_fn = on_step;
		opts.step_data = &sink;
		e = vfc_bind(ctx, &v[i].bdf, 1, &opts, &res, &nres);
		for (size_t j = 0; !dry && j < nres; j++)
			if (add_result(&o, &res[j]))
				r = EXIT_FAIL;
		free(res);
		if (e)
			r = failure(ctx, e);
		rc = rc ? rc : r;
	}
	/* the owners' udev rule, with this boot's group numbers */
	if (!dry && !binding_cancel && (e = vfc_persist_write_rules(ctx)))
		rc = rc ? rc : report_error(ctx, e);
	if (out_print(&o))
		rc = rc ? rc : EXIT_FAIL;
	out_free(&o);
	free(v);
	die_of_signal();
	return binding_cancel ? EXIT_FAIL : rc;
}
