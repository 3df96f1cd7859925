// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Moving devices to vfio-pci and back.
 *
 * The kernel's mechanism: driver_override names the one driver that may take
 * the device, driver/unbind releases it, drivers_probe offers it again; never
 * new_id, which would hand vfio-pci every device with the same IDs.
 *
 * The promise around it: every device of a bind run is checked before the
 * first change; the original driver is on disk before the device is touched;
 * anything that goes wrong afterwards (probe refused, node never appears,
 * timeout, a signal) puts every device of the run back as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define VFIO_PCI "vfio-pci"

struct item {
	struct vfc_device dev;
	struct vfc_state st;   /* where the device goes back to */
	bool had_record;       /* a record existed before this run */
	bool no_record;        /* unbind: nothing recorded, the kernel picks a driver */
	bool drop_record;      /* unbind: a stale record to remove */
	bool skip;             /* already where it was asked to be */
	bool node_existed;     /* its group node was there before the run */
	bool saved;            /* this run wrote its record */
	bool touched;          /* this run wrote to the device */
	bool owner_set;
	bool done;             /* this run moved it where it was asked to go */
	bool viable;           /* its group, after the run */
	bool persisted;        /* this run wrote (bind) or removed (unbind) its boot file */
	char *persist_old;     /* that file's content before the run, NULL if none */
	char driver_after[64];
};

struct run {
	struct vfc_ctx *ctx;
	const struct vfc_bind_opts *o;
	struct item *v;
	size_t n;
	bool dry;
	bool names_were_skipped;
	struct vfc_waiter waiter;
	struct vfc_scan scan;  /* what the safety checks read once */
};

VFC_EXPORT const char *vfc_bind_action_str(enum vfc_bind_action a)
{
	switch (a) {
	case VFC_ACT_NONE: return "unchanged";
	case VFC_ACT_BOUND: return "bound";
	case VFC_ACT_UNBOUND: return "restored";
	case VFC_ACT_PLANNED: return "planned";
	}
	return "?";
}

/* ---- steps ------------------------------------------------------------------- */

static void step(struct run *r, enum vfc_step_kind kind, const struct item *it,
		 const char *path, const char *value, bool rollback)
{
	struct vfc_step s = {
		.kind = kind,
		.has_bdf = it != NULL,
		.path = path ? vfc_path_strip(r->ctx, path) : "",
		.value = value,
		.rollback = rollback,
	};

	if (it)
		s.bdf = it->dev.bdf;
	if (r->o->step_fn)
		r->o->step_fn(r->o->step_data, &s);
}

static bool cancelled(const struct run *r)
{
	return r->o->cancel && *r->o->cancel;
}

static int cancel_error(struct run *r)
{
	vfc_fail(r->ctx, ECANCELED, NULL, "interrupted");
	vfc_set_errflag(r->ctx, VFC_ERR_CANCELLED);
	return -ECANCELED;
}

/* One sysfs store, reported first; "\n" (shown as "") clears driver_override. */
static int store(struct run *r, struct item *it, const char *path, const char *value,
		 bool rollback)
{
	char b[VFC_BDF_STRLEN];
	int e;

	/* a lone newline is what clears driver_override; show it as written */
	step(r, VFC_STEP_WRITE, it, path, strcmp(value, "\n") ? value : "\\n", rollback);
	if (r->dry)
		return 0;
	e = vfc_write_attr(r->ctx, path, value);
	if (e)
		return vfc_fail(r->ctx, e, e == -EACCES ? "run as root" : NULL,
				"%s: writing '%s' to %s", vfc_bdf_format(&it->dev.bdf, b),
				strcmp(value, "\n") ? value : "", vfc_path_strip(r->ctx, path));
	return 0;
}

static int dev_path(struct run *r, struct item *it, vfc_path_t p, const char *leaf)
{
	if (vfc_path_pci_dev(r->ctx, p, &it->dev.bdf, leaf))
		return vfc_fail(r->ctx, ENAMETOOLONG, NULL, "path too long");
	return 0;
}

/* The driver bound now, "" for none. */
static int current_driver(struct run *r, struct item *it, char *buf, size_t len)
{
	vfc_path_t p;
	int e = dev_path(r, it, p, "driver");

	if (e)
		return e;
	e = vfc_read_link_name(p, buf, len);
	if (e == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return e ? vfc_fail(r->ctx, e, NULL, "reading %s", vfc_path_strip(r->ctx, p)) : 0;
}

/* ---- collecting the devices of a run ---------------------------------------- */

static struct item *find_item(const struct run *r, const struct vfc_bdf *bdf)
{
	for (size_t i = 0; i < r->n; i++)
		if (!vfc_bdf_cmp(&r->v[i].dev.bdf, bdf))
			return &r->v[i];
	return NULL;
}

static int add_item(struct run *r, const struct vfc_device *d)
{
	struct item it = { .dev = *d };

	if (find_item(r, &d->bdf))
		return 0;
	if (vfc_array_push((void **)&r->v, &r->n, sizeof(it), &it))
		return vfc_fail(r->ctx, ENOMEM, NULL, "collecting devices");
	return 0;
}

static int no_group_error(struct run *r, const struct vfc_bdf *bdf)
{
	char b[VFC_BDF_STRLEN];

	return vfc_fail(r->ctx, ENXIO, "the IOMMU is off or does not cover it; see 'vfioctl check'",
			"%s has no IOMMU group", vfc_bdf_format(bdf, b));
}

/* Every endpoint of the device's group: bridges only route, vfio-pci refuses them. */
static int add_group(struct run *r, const struct vfc_device *d)
{
	struct vfc_group g;
	int e;

	if (d->group < 0)
		return no_group_error(r, &d->bdf);
	e = vfc_group_read(r->ctx, (unsigned int)d->group, &g);
	for (size_t i = 0; !e && i < g.ndevices; i++)
		if (!g.devices[i].is_bridge)
			e = add_item(r, &g.devices[i]);
	if (!e || g.devices)
		vfc_group_clear(&g);
	return e;
}

static int collect(struct run *r, const struct vfc_bdf *bdfs, size_t n, bool for_bind)
{
	char b[VFC_BDF_STRLEN];

	for (size_t i = 0; i < n; i++) {
		struct vfc_device d;
		int e = vfc_device_read(r->ctx, &bdfs[i], &d);

		if (!e && (r->o->flags & VFC_BIND_GROUP))
			e = add_group(r, &d);
		else if (!e && for_bind && d.is_bridge)
			e = vfc_fail(r->ctx, EINVAL, "name the devices behind it, or use --group",
				     "%s is a PCI bridge; vfio-pci takes only endpoints",
				     vfc_bdf_format(&d.bdf, b));
		else if (!e && for_bind && d.group < 0)
			e = no_group_error(r, &d.bdf);
		else if (!e)
			e = add_item(r, &d);
		if (e)
			return e;
	}
	return 0;
}

/* ---- planning a bind ------------------------------------------------------------ */

static void node_of(struct run *r, int group, vfc_path_t p)
{
	if (group < 0 || vfc_path_dev_vfio_group(r->ctx, p, (unsigned int)group))
		p[0] = '\0';
}

static int plan_bind_item(struct run *r, struct item *it)
{
	struct vfc_device *d = &it->dev;
	struct vfc_state rec;
	char b[VFC_BDF_STRLEN];
	vfc_path_t node;
	int e = vfc_state_load(r->ctx, &d->bdf, &rec);

	if (e && e != -ENOENT)
		return e;
	it->had_record = e == 0;
	it->skip = vfc_driver_is_vfio(d->driver);
	it->st = (struct vfc_state){ .bdf = d->bdf, .sriov_numvfs = d->sriov_numvfs,
				     .group = d->group };
	snprintf(it->st.driver, sizeof(it->st.driver), "%s", d->driver);
	snprintf(it->st.driver_override, sizeof(it->st.driver_override), "%s",
		 d->driver_override);
	it->st.kernel_choice = r->o->flags & VFC_BIND_KERNEL_CHOICE;
	/*
	 * Unbound, yet recorded with a driver: an earlier run stopped half way
	 * (killed between unbind and probe). The record knows where it belongs.
	 */
	if (!it->skip && it->had_record && !d->driver[0] && rec.driver[0]) {
		vfc_log(r->ctx, LOG_WARNING,
			"%s: an earlier run was interrupted; keeping its record (driver %s)",
			vfc_bdf_format(&d->bdf, b), rec.driver);
		it->st = rec;
	}
	node_of(r, d->group, node);
	it->node_existed = node[0] && access(node, F_OK) == 0;
	return 0;
}

static int refuse(struct run *r, struct item *it, const struct vfc_why *w,
		  const char *verb, const char *hint, int *refused)
{
	char b[VFC_BDF_STRLEN];

	vfc_bdf_format(&it->dev.bdf, b);
	if ((*refused)++) {
		vfc_log(r->ctx, LOG_WARNING, "also refusing to %s %s: %s", verb, b, w->text);
		return 0;
	}
	return vfc_fail(r->ctx, EBUSY, hint, "refusing to %s %s: %s", verb, b, w->text);
}

/* What the host uses the device for, each use a line of w; <0 if it cannot be told. */
static int check_use(struct run *r, struct item *it, struct vfc_why *w)
{
	int e = vfc_safety_net(r->ctx, &it->dev, w);

	if (e >= 0)
		e = vfc_safety_block(r->ctx, &it->dev, w, &r->scan);
	if (e >= 0)
		e = vfc_safety_display(r->ctx, &it->dev, w);
	if (e >= 0)
		e = vfc_safety_sriov(r->ctx, &it->dev, w);
	if (e >= 0)
		e = vfc_safety_vfio_open(r->ctx, &it->dev, w, &r->scan);
	if (e < 0)
		return vfc_fail(r->ctx, e, NULL, "checking what uses the devices");
	return 0;
}

static int safety_bind(struct run *r)
{
	struct vfc_saved_err first = { .flags = 0 };
	int refused = 0;

	if (r->o->flags & VFC_BIND_FORCE)
		return 0;
	for (size_t i = 0; i < r->n; i++) {
		struct item *it = &r->v[i];
		struct vfc_why w = { .n = 0 };
		int e;

		if (it->skip)
			continue;
		e = check_use(r, it, &w);
		if (e)
			return e;
		if (w.n && refused == 0) {
			refuse(r, it, &w, "bind", "--force binds it anyway", &refused);
			vfc_err_save(r->ctx, &first);
		} else if (w.n) {
			refuse(r, it, &w, "bind", NULL, &refused);
		}
	}
	if (!refused)
		return 0;
	/* the first refusal is the message; the others went to the log */
	vfc_err_restore(r->ctx, &first);
	vfc_set_errflag(r->ctx, VFC_ERR_REFUSED);
	return -EBUSY;
}

/* vfio-pci present, or loaded now (with its dependencies) through libkmod. */
static int ensure_vfio_pci(struct run *r)
{
	char names[256] = VFIO_PCI;
	vfc_path_t p;
	int e;

	if (vfc_path_pci_driver(r->ctx, p, VFIO_PCI, NULL))
		return vfc_fail(r->ctx, ENAMETOOLONG, NULL, "path too long");
	if (access(p, F_OK) == 0)
		return 0;
	if (!vfc_is_live(r->ctx)) {
		step(r, VFC_STEP_LOAD_MODULE, NULL, NULL, names, false);
		if (r->dry)
			return 0;
		return vfc_fail(r->ctx, ENOENT, "load it on the system itself",
				"vfio-pci is not loaded in %s, and vfioctl loads modules only into the running kernel",
				vfc_sysroot(r->ctx));
	}
	e = vfc_vfio_pci_plan(r->ctx, names, sizeof(names));
	if (e)
		return e;
	step(r, VFC_STEP_LOAD_MODULE, NULL, NULL, names, false);
	if (r->dry)
		return 0;
	e = vfc_vfio_pci_load(r->ctx);
	if (!e && access(p, F_OK) < 0)
		e = vfc_fail(r->ctx, ENOENT, "see the kernel log (dmesg)",
			     "vfio-pci loaded, but %s did not appear", vfc_path_strip(r->ctx, p));
	return e;
}

/* ---- doing a bind ---------------------------------------------------------------- */

static int save_record(struct run *r, struct item *it)
{
	char text[VFC_STATE_MAX], *nl;
	vfc_path_t p;
	int e;

	if (vfc_path_state(r->ctx, p, &it->dev.bdf, NULL) ||
	    vfc_state_format(&it->st, text, sizeof(text)) < 0)
		return vfc_fail(r->ctx, ENAMETOOLONG, NULL, "state record too long");
	/* the step shows the record as one line: the lines after the comment */
	nl = strchr(text, '\n');
	for (char *c = nl ? nl + 1 : text; *c; c++)
		if (*c == '\n')
			*c = c[1] ? ' ' : '\0';
	step(r, VFC_STEP_SAVE_STATE, it, p, nl ? nl + 1 : text, false);
	if (r->dry)
		return 0;
	e = vfc_state_save(r->ctx, &it->st);
	if (!e)
		it->saved = true;
	return e;
}

/*
 * With driver_override naming vfio-pci: the device out of its driver's hands
 * (when it has one), then offered to the drivers, of which only vfio-pci may
 * take it.
 */
static int release_and_probe(struct run *r, struct item *it, bool has_driver)
{
	char b[VFC_BDF_STRLEN];
	vfc_path_t p;
	int e = 0;

	vfc_bdf_format(&it->dev.bdf, b);
	if (has_driver && !cancelled(r)) {
		e = dev_path(r, it, p, "driver/unbind");
		if (!e)
			e = store(r, it, p, b, false);
	}
	if (e || cancelled(r))
		return e ? e : cancel_error(r);
	if (vfc_path_root(r->ctx, p, "/sys/bus/pci/drivers_probe"))
		return vfc_fail(r->ctx, ENAMETOOLONG, NULL, "path too long");
	return store(r, it, p, b, false);
}

/*
 * A driver took the device after it was checked: its module was loaded in
 * between (by udev's coldplug at boot, or by hand). With
 * driver_override set no other driver can take it now, so it is checked again
 * with that driver, recorded with it when it had none (unbind and a rollback
 * give it back), and taken from it.
 */
static int take_from_latecomer(struct run *r, struct item *it, const char *now)
{
	char b[VFC_BDF_STRLEN];
	int e;

	vfc_bdf_format(&it->dev.bdf, b);
	vfc_log(r->ctx, LOG_NOTICE, "%s: %s took it after it was checked (it had %s); checking it again",
		b, now, it->dev.driver[0] ? it->dev.driver : "no driver");
	snprintf(it->dev.driver, sizeof(it->dev.driver), "%s", now);
	/* it had no driver: the latecomer is the one to give it back to, also by a rollback */
	if (!it->st.driver[0]) {
		snprintf(it->st.driver, sizeof(it->st.driver), "%s", now);
		e = save_record(r, it);
		if (e)
			return e;
	}
	if (!(r->o->flags & VFC_BIND_FORCE)) {
		struct vfc_why w = { .n = 0 };
		int refused = 0;

		/* what the new driver brought (an interface, a disk) is new to the scan */
		vfc_scan_clear(&r->scan);
		e = check_use(r, it, &w);
		if (e)
			return e;
		if (w.n)
			return refuse(r, it, &w, "bind", "--force binds it anyway", &refused);
	}
	return release_and_probe(r, it, true);
}

static int bind_item(struct run *r, struct item *it)
{
	char now[64];
	vfc_path_t p;
	int e;

	if (cancelled(r))
		return cancel_error(r);
	e = save_record(r, it);
	if (e || cancelled(r))
		return e ? e : cancel_error(r);
	it->touched = true;
	e = dev_path(r, it, p, "driver_override");
	if (!e)
		e = store(r, it, p, VFIO_PCI, false);
	if (!e)
		e = release_and_probe(r, it, it->dev.driver[0]);
	if (e || r->dry)
		return e;
	/* the probe ran under the device's lock: a probe already under way is over */
	e = current_driver(r, it, now, sizeof(now));
	if (e || !now[0] || vfc_driver_is_vfio(now) || !strcmp(now, it->dev.driver))
		return e;
	return take_from_latecomer(r, it, now);
}

static int verify(struct run *r, struct item *it, const char *want, bool rollback)
{
	char b[VFC_BDF_STRLEN], now[64];
	vfc_path_t p;
	int e = dev_path(r, it, p, "driver");

	if (e)
		return e;
	step(r, VFC_STEP_VERIFY, it, p, want[0] ? want : "(none)", rollback);
	if (r->dry) {
		snprintf(it->driver_after, sizeof(it->driver_after), "%s", want);
		return 0;
	}
	e = current_driver(r, it, now, sizeof(now));
	if (e)
		return e;
	snprintf(it->driver_after, sizeof(it->driver_after), "%s", now);
	if (!strcmp(now, want))
		return 0;
	return vfc_fail(r->ctx, EIO, "see the kernel log (dmesg) for the driver's reason",
			"%s: %s did not take the device (its driver is %s)",
			vfc_bdf_format(&it->dev.bdf, b), want[0] ? want : "no driver",
			now[0] ? now : "none");
}

/* "20", "0.5", "1.25": milliseconds as the seconds --timeout was given in. */
static const char *seconds(int ms, char buf[16])
{
	size_t n;

	if (ms % 1000 == 0) {
		snprintf(buf, 16, "%d", ms / 1000);
		return buf;
	}
	snprintf(buf, 16, "%d.%03d", ms / 1000, ms % 1000);
	for (n = strlen(buf); buf[n - 1] == '0'; n--)
		buf[n - 1] = '\0';
	return buf;
}

/* Groups whose node must appear: those that had none before the run. */
static int wait_nodes(struct run *r)
{
	char (*nodes)[PATH_MAX] = calloc(r->n ? r->n : 1, sizeof(*nodes));
	char secs[16];
	size_t n = 0, missing = 0;
	int e = 0;

	if (!nodes)
		return vfc_fail(r->ctx, ENOMEM, NULL, "waiting for nodes");
	for (size_t i = 0; i < r->n; i++) {
		struct item *it = &r->v[i];
		bool dup = false;

		if (it->skip || it->node_existed)
			continue;
		node_of(r, it->dev.group, nodes[n]);
		for (size_t j = 0; j < n; j++)
			dup |= !strcmp(nodes[j], nodes[n]);
		if (dup)
			continue;
		step(r, VFC_STEP_WAIT, it, nodes[n], NULL, false);
		n++;
	}
	if (n && !r->dry)
		e = vfc_waiter_wait(r->ctx, &r->waiter, nodes, n, r->o->timeout_ms,
				    r->o->cancel, &missing);
	if (e == -ECANCELED)
		e = cancel_error(r);
	else if (e == -ETIMEDOUT)
		e = vfc_fail(r->ctx, ETIMEDOUT,
			     "is udev processing events? a longer --timeout may help",
			     "%zu VFIO group node%s did not appear within %s s", missing,
			     missing == 1 ? "" : "s", seconds(r->o->timeout_ms, secs));
	else if (e)
		e = vfc_fail(r->ctx, e, NULL, "waiting for VFIO group nodes");
	free(nodes);
	return e;
}

static int give_node(struct run *r, struct item *it, const char *node)
{
	char val[48], b[VFC_BDF_STRLEN];
	struct stat st;

	snprintf(val, sizeof(val), "%u:%u 0660", (unsigned int)r->o->owner_uid,
		 (unsigned int)r->o->owner_gid);
	step(r, VFC_STEP_OWNER, it, node, val, false);
	if (r->dry)
		return 0;
	vfc_bdf_format(&it->dev.bdf, b);
	/* a character device and nothing else: never follow a planted symlink */
	if (lstat(node, &st) < 0)
		return vfc_fail(r->ctx, errno, NULL, "%s: %s", b, vfc_path_strip(r->ctx, node));
	if (!S_ISCHR(st.st_mode))
		return vfc_fail(r->ctx, EINVAL, NULL, "%s: %s is not a character device", b,
				vfc_path_strip(r->ctx, node));
	if (lchown(node, r->o->owner_uid, r->o->owner_gid) < 0 || chmod(node, 0660) < 0)
		return vfc_fail(r->ctx, errno, NULL, "%s: giving %s to %s", b,
				vfc_path_strip(r->ctx, node), val);
	return 0;
}

/* Every group of the run, once: skipped devices' groups too, --owner was asked for them. */
static int set_owners(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct item *it = &r->v[i];
		vfc_path_t node;
		bool done = false;
		int e;

		for (size_t j = 0; j < i; j++)
			done |= r->v[j].dev.group == it->dev.group;
		node_of(r, it->dev.group, node);
		if (done || !node[0])
			continue;
		e = give_node(r, it, node);
		if (e)
			return e;
		for (size_t j = i; j < r->n; j++)
			r->v[j].owner_set |= r->v[j].dev.group == it->dev.group;
	}
	return 0;
}

/* ---- restoring (unbind, and rollback of a bind) ----------------------------------- */

/* To the recorded driver; with nothing recorded, to whatever the kernel matches. */
static int reattach(struct run *r, struct item *it, const char *cur, bool rollback)
{
	char b[VFC_BDF_STRLEN];
	vfc_path_t p;

	vfc_bdf_format(&it->dev.bdf, b);
	if (it->no_record) {
		if (vfc_path_root(r->ctx, p, "/sys/bus/pci/drivers_probe"))
			return vfc_fail(r->ctx, ENAMETOOLONG, NULL, "path too long");
		return store(r, it, p, b, rollback);
	}
	if (!it->st.driver[0] || !strcmp(cur, it->st.driver))
		return 0;
	if (vfc_path_pci_driver(r->ctx, p, it->st.driver, NULL))
		return vfc_fail(r->ctx, EINVAL, NULL, "%s: bad recorded driver", b);
	if (!r->dry && access(p, F_OK) < 0) {
		/* its module was unloaded since: the kernel's own match is the next best */
		vfc_log(r->ctx, LOG_WARNING, "%s: driver %s is gone; letting the kernel choose",
			b, it->st.driver);
		it->no_record = true;
		return reattach(r, it, cur, rollback);
	}
	vfc_path_pci_driver(r->ctx, p, it->st.driver, "bind");
	return store(r, it, p, b, rollback);
}

static int restore_numvfs(struct run *r, struct item *it, bool rollback)
{
	char val[16];
	vfc_path_t p;
	int e;

	if (it->st.sriov_numvfs <= 0)
		return 0;
	snprintf(val, sizeof(val), "%d", it->st.sriov_numvfs);
	e = dev_path(r, it, p, "sriov_numvfs");
	return e ? e : store(r, it, p, val, rollback);
}

static int restore_item(struct run *r, struct item *it, bool rollback)
{
	char b[VFC_BDF_STRLEN], cur[64];
	vfc_path_t p;
	int e;

	vfc_bdf_format(&it->dev.bdf, b);
	e = dev_path(r, it, p, "driver_override");
	if (!e)
		e = store(r, it, p, it->st.driver_override[0] ? it->st.driver_override : "\n",
			  rollback);
	if (!e && r->dry)
		snprintf(cur, sizeof(cur), "%s", it->dev.driver);
	else if (!e)
		e = current_driver(r, it, cur, sizeof(cur));
	if (!e && cur[0] && (it->no_record || strcmp(cur, it->st.driver))) {
		e = dev_path(r, it, p, "driver/unbind");
		if (!e)
			e = store(r, it, p, b, rollback);
		cur[0] = '\0';
	}
	if (!e)
		e = reattach(r, it, cur, rollback);
	if (!e && !it->no_record)
		e = verify(r, it, it->st.driver, rollback);
	if (!e && it->no_record && !r->dry)
		e = current_driver(r, it, it->driver_after, sizeof(it->driver_after));
	if (!e)
		e = restore_numvfs(r, it, rollback);
	return e;
}

static int drop_record(struct run *r, struct item *it, bool rollback)
{
	vfc_path_t p;

	if (vfc_path_state(r->ctx, p, &it->dev.bdf, NULL))
		return vfc_fail(r->ctx, ENAMETOOLONG, NULL, "path too long");
	step(r, VFC_STEP_REMOVE_STATE, it, p, NULL, rollback);
	return r->dry ? 0 : vfc_state_remove(r->ctx, &it->dev.bdf);
}

/*
 * Undo a failed bind, newest first. The failure's message stays the error;
 * a device that cannot be put back keeps its record, for `unbind`.
 */
static int rollback(struct run *r, int err)
{
	struct vfc_saved_err failure = { .flags = 0 };
	int bad = 0;

	vfc_err_save(r->ctx, &failure);
	for (size_t i = r->n; i-- > 0;) {
		struct item *it = &r->v[i];
		char b[VFC_BDF_STRLEN];

		if (!it->touched && !it->saved)
			continue;
		if ((it->touched && restore_item(r, it, true)) || drop_record(r, it, true)) {
			vfc_log(r->ctx, LOG_ERR, "rollback of %s failed: %s (its record stays in /run/vfioctl/devices/%s)",
				vfc_bdf_format(&it->dev.bdf, b), r->ctx->errmsg, b);
			bad++;
		}
	}
	vfc_err_restore(r->ctx, &failure);
	if (!bad)
		vfc_set_errflag(r->ctx, VFC_ERR_ROLLED_BACK);
	return err;
}

/* ---- results ------------------------------------------------------------------------ */

/* The group as it is now, or (dry run) as the run would leave it. */
static bool group_after(struct run *r, int gid, char *blockers, size_t len)
{
	struct vfc_group g;
	size_t used = 0;
	bool viable;
	int blk;

	blockers[0] = '\0';
	if (gid < 0 || vfc_group_read(r->ctx, (unsigned int)gid, &g))
		return false;
	for (size_t i = 0; r->dry && i < g.ndevices; i++) {
		const struct item *it = find_item(r, &g.devices[i].bdf);

		if (it && !it->skip)
			snprintf(g.devices[i].driver, sizeof(g.devices[i].driver), "%s",
				 it->driver_after);
	}
	viable = vfc_group_viable(g.devices, g.ndevices, &blk);
	for (size_t i = 0; i < g.ndevices && used < len; i++) {
		char b[VFC_BDF_STRLEN];

		if (g.devices[i].is_bridge || vfc_driver_keeps_viable(g.devices[i].driver))
			continue;
		used += (size_t)snprintf(blockers + used, len - used, "%s%s (bound to %s)",
					 used ? ", " : "", vfc_bdf_format(&g.devices[i].bdf, b),
					 g.devices[i].driver);
	}
	vfc_group_clear(&g);
	return viable;
}

/*
 * Each group of the run, read once: is it viable now (dry run: would it be)?
 * Without --group, a bind that leaves one not viable warns with what to add.
 */
static void judge_groups(struct run *r, bool warn)
{
	char blockers[512];

	for (size_t i = 0; i < r->n; i++) {
		bool seen = false, viable;

		for (size_t j = 0; j < i; j++)
			seen |= r->v[j].dev.group == r->v[i].dev.group;
		if (seen)
			continue;
		viable = group_after(r, r->v[i].dev.group, blockers, sizeof(blockers));
		for (size_t j = i; j < r->n; j++)
			if (r->v[j].dev.group == r->v[i].dev.group)
				r->v[j].viable = viable;
		if (warn && !viable)
			vfc_log(r->ctx, LOG_WARNING,
				"IOMMU group %d is not viable: %s; bind %s too (or use --group)",
				r->v[i].dev.group,
				blockers[0] ? blockers : "a member is on a host driver",
				strchr(blockers, ',') ? "them" : "it");
	}
}

static int results(struct run *r, enum vfc_bind_action done,
		   struct vfc_bind_result **res, size_t *nres)
{
	struct vfc_bind_result *v = calloc(r->n ? r->n : 1, sizeof(*v));

	if (!v)
		return vfc_fail(r->ctx, ENOMEM, NULL, "results");
	for (size_t i = 0; i < r->n; i++) {
		struct item *it = &r->v[i];
		vfc_path_t node;

		v[i].bdf = it->dev.bdf;
		v[i].group = it->dev.group;
		v[i].action = it->done ? done : (r->dry && !it->skip) ? VFC_ACT_PLANNED
								     : VFC_ACT_NONE;
		snprintf(v[i].driver_before, sizeof(v[i].driver_before), "%s", it->dev.driver);
		/* after a real run, what the kernel says; after a dry one, the plan */
		if (!r->dry)
			current_driver(r, it, v[i].driver_after, sizeof(v[i].driver_after));
		else
			snprintf(v[i].driver_after, sizeof(v[i].driver_after), "%s",
				 it->skip ? it->dev.driver : it->driver_after);
		node_of(r, it->dev.group, node);
		if (node[0] && (r->dry ? done == VFC_ACT_BOUND : access(node, F_OK) == 0))
			snprintf(v[i].node, sizeof(v[i].node), "%s", vfc_path_strip(r->ctx, node));
		v[i].recorded = it->had_record || it->saved;
		v[i].owner_set = it->owner_set;
		v[i].group_viable = it->viable;
	}
	*res = v;
	*nres = r->n;
	return 0;
}

/* ---- boot files (--persist) ----------------------------------------------------- */

static int persist_path(struct run *r, struct item *it, vfc_path_t p)
{
	if (vfc_path_persist(r->ctx, p, it ? &it->dev.bdf : NULL))
		return vfc_fail(r->ctx, ENAMETOOLONG, NULL, "path too long");
	return 0;
}

/* What the file held, kept so that a failed run can put it back. */
static int keep_old(struct run *r, struct item *it, const char *p)
{
	int e = vfc_slurp(p, &it->persist_old, VFC_PERSIST_MAX);

	if (e && e != -ENOENT)
		return vfc_fail(r->ctx, -e, NULL, "reading %s", vfc_path_strip(r->ctx, p));
	return 0;
}

static int write_rules(struct run *r, bool rollback)
{
	vfc_path_t p;

	if (vfc_path_persist_rules(r->ctx, p))
		return vfc_fail(r->ctx, ENAMETOOLONG, NULL, "path too long");
	step(r, VFC_STEP_RULES, NULL, p, NULL, rollback);
	return r->dry ? 0 : vfc_persist_write_rules(r->ctx);
}

/* Every device of a bind, also at boot: with its IDs, owner and --force. */
static int persist_all(struct run *r)
{
	bool owner = r->o->flags & VFC_BIND_OWNER;
	int e = 0;

	for (size_t i = 0; !e && i < r->n; i++) {
		struct item *it = &r->v[i];
		struct vfc_persist pe = {
			.bdf = it->dev.bdf,
			.vendor = it->dev.vendor,
			.device = it->dev.device,
			.has_owner = owner,
			.uid = owner ? r->o->owner_uid : 0,
			.gid = owner ? r->o->owner_gid : 0,
			.force = r->o->flags & VFC_BIND_FORCE,
		};
		char value[96];
		vfc_path_t p;

		e = persist_path(r, it, p);
		if (e)
			break;
		if (owner)
			snprintf(value, sizeof(value), "id=%04x:%04x owner=%u:%u force=%s", pe.vendor,
				 pe.device, (unsigned int)pe.uid, (unsigned int)pe.gid,
				 pe.force ? "yes" : "no");
		else
			snprintf(value, sizeof(value), "id=%04x:%04x force=%s", pe.vendor, pe.device,
				 pe.force ? "yes" : "no");
		step(r, VFC_STEP_PERSIST, it, p, value, false);
		if (r->dry)
			continue;
		e = cancelled(r) ? cancel_error(r) : keep_old(r, it, p);
		if (!e)
			e = vfc_persist_save(r->ctx, &pe);
		it->persisted = !e;
	}
	return e ? e : write_rules(r, false);
}

/* A failed bind --persist leaves the boot files as they were. */
static void unpersist_run(struct run *r)
{
	struct vfc_saved_err failure = { .flags = 0 };
	bool any = false;

	vfc_err_save(r->ctx, &failure);
	for (size_t i = r->n; i-- > 0;) {
		struct item *it = &r->v[i];
		vfc_path_t p;

		if (!it->persisted || persist_path(r, it, p))
			continue;
		step(r, it->persist_old ? VFC_STEP_PERSIST : VFC_STEP_UNPERSIST, it, p, NULL, true);
		if (it->persist_old)
			(void)vfc_file_replace(r->ctx, p, it->persist_old, strlen(it->persist_old));
		else
			(void)vfc_file_remove(r->ctx, p);
		any = true;
	}
	if (any)
		(void)write_rules(r, true);
	vfc_err_restore(r->ctx, &failure);
}

/*
 * unbind --persist: the devices given back (or already off vfio-pci) are no
 * longer bound at boot. Without --persist, say which ones still are.
 */
static int unpersist_unbound(struct run *r)
{
	bool persist = r->o->flags & VFC_BIND_PERSIST, any = false;
	int e = 0;

	for (size_t i = 0; !e && i < r->n; i++) {
		struct item *it = &r->v[i];
		char b[VFC_BDF_STRLEN];
		vfc_path_t p;

		if (!(it->done || it->skip || r->dry) || persist_path(r, it, p) ||
		    access(p, F_OK) < 0)
			continue;
		vfc_bdf_format(&it->dev.bdf, b);
		if (!persist) {
			vfc_log(r->ctx, LOG_WARNING,
				"%s goes back to vfio-pci at boot (%s): 'vfioctl persist remove %s' ends that",
				b, vfc_path_strip(r->ctx, p), b);
			continue;
		}
		step(r, VFC_STEP_UNPERSIST, it, p, NULL, false);
		if (!r->dry)
			e = vfc_persist_remove(r->ctx, &it->dev.bdf);
		e = e == -ENOENT ? 0 : e;
		any = true;
	}
	return !e && any ? write_rules(r, false) : e;
}

/* ---- the two entry points ---------------------------------------------------------- */

static int bind_all(struct run *r)
{
	int e = 0;

	for (size_t i = 0; !e && i < r->n; i++)
		if (!r->v[i].skip)
			e = bind_item(r, &r->v[i]);
	for (size_t i = 0; !e && i < r->n; i++)
		if (!r->v[i].skip)
			e = cancelled(r) ? cancel_error(r) : verify(r, &r->v[i], VFIO_PCI, false);
	if (!e)
		e = wait_nodes(r);
	if (!e && (r->o->flags & VFC_BIND_OWNER))
		e = set_owners(r);
	for (size_t i = 0; !e && !r->dry && i < r->n; i++)
		r->v[i].done = !r->v[i].skip;
	return e;
}

static int bind_run(struct run *r)
{
	bool work = false;
	int e = 0;

	for (size_t i = 0; !e && i < r->n; i++) {
		e = plan_bind_item(r, &r->v[i]);
		work |= !r->v[i].skip;
	}
	if (!e)
		e = safety_bind(r);
	if (!e && work)
		e = ensure_vfio_pci(r);
	if (e)
		return e;
	if (work && !r->dry)
		vfc_waiter_open(r->ctx, &r->waiter);
	e = bind_all(r);
	vfc_waiter_close(&r->waiter);
	if (!e && (r->o->flags & VFC_BIND_PERSIST))
		e = persist_all(r);
	if (e) {
		unpersist_run(r);
		return rollback(r, e);
	}
	if ((r->o->flags & VFC_BIND_PERSIST) && !r->dry && !vfc_persist_unit_enabled(r->ctx))
		vfc_log(r->ctx, LOG_WARNING,
			"%s is not enabled: nothing applies " VFC_PERSIST_DIR " at boot; run 'systemctl enable %s'",
			VFC_PERSIST_UNIT, VFC_PERSIST_UNIT);
	return 0;
}

static void start(struct vfc_ctx *ctx, struct run *r, const struct vfc_bind_opts *o,
		  struct vfc_bind_result **res, size_t *nres)
{
	static const struct vfc_bind_opts none = { .timeout_ms = VFC_BIND_TIMEOUT_DEFAULT_MS };

	memset(r, 0, sizeof(*r));
	r->ctx = ctx;
	/* the rows of a bind show no names; looking them up in pci.ids costs */
	r->names_were_skipped = ctx->skip_names;
	ctx->skip_names = true;
	r->o = o ? o : &none;
	r->dry = r->o->flags & VFC_BIND_DRY_RUN;
	*res = NULL;
	*nres = 0;
}

static void finish(struct run *r, int fd)
{
	vfc_unlock(fd);
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].persist_old);
	free(r->v);
	vfc_scan_clear(&r->scan);
	r->ctx->skip_names = r->names_were_skipped;
}

static int lock_run(struct run *r, int *fd)
{
	*fd = -1;
	return r->dry ? 0 : vfc_lock(r->ctx, r->o->cancel, fd);
}

VFC_EXPORT int vfc_bind(struct vfc_ctx *ctx, const struct vfc_bdf *bdfs, size_t n,
			const struct vfc_bind_opts *opts, struct vfc_bind_result **res,
			size_t *nres)
{
	struct run r;
	int fd, e;

	start(ctx, &r, opts, res, nres);
	/* the lock first: what is read before it may be changed by another run */
	e = lock_run(&r, &fd);
	if (!e)
		e = collect(&r, bdfs, n, true);
	if (!e)
		e = bind_run(&r);
	if (!e) {
		judge_groups(&r, true);
		e = results(&r, VFC_ACT_BOUND, res, nres);
	}
	finish(&r, fd);
	return e;
}

/* ---- unbind ------------------------------------------------------------------------- */

static int plan_unbind_item(struct run *r, struct item *it)
{
	struct vfc_device *d = &it->dev;
	char b[VFC_BDF_STRLEN];
	int e = vfc_state_load(r->ctx, &d->bdf, &it->st);

	if (e && e != -ENOENT)
		return e;
	it->had_record = e == 0;
	vfc_bdf_format(&d->bdf, b);
	if (vfc_driver_is_vfio(d->driver)) {
		if (!it->had_record || it->st.kernel_choice)
			it->no_record = true;
		return 0;
	}
	/* unbound but recorded elsewhere: finish what an interrupted bind left */
	if (it->had_record && !d->driver[0] && it->st.driver[0])
		return 0;
	it->skip = true;
	it->drop_record = it->had_record;
	if (it->had_record && strcmp(d->driver, it->st.driver))
		vfc_log(r->ctx, LOG_WARNING, "%s is on %s, not vfio-pci: leaving it there and dropping its record (driver %s)",
			b, d->driver[0] ? d->driver : "no driver",
			it->st.driver[0] ? it->st.driver : "none");
	return 0;
}

static int safety_unbind(struct run *r)
{
	int refused = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct vfc_why w = { .n = 0 };

		if (r->v[i].skip)
			continue;
		if (vfc_safety_vfio_open(r->ctx, &r->v[i].dev, &w, &r->scan) < 0)
			return vfc_fail(r->ctx, EIO, NULL, "checking who holds the devices");
		if (w.n && !refused)
			refuse(r, &r->v[i], &w, "unbind",
			       "the kernel would wait for it to let go; stop it first", &refused);
		else if (w.n)
			refuse(r, &r->v[i], &w, "unbind", NULL, &refused);
	}
	if (refused)
		vfc_set_errflag(r->ctx, VFC_ERR_REFUSED);
	return refused ? -EBUSY : 0;
}

/* Each device on its own: one that fails keeps its record, the others go on. */
static int unbind_all(struct run *r)
{
	struct vfc_saved_err failure = { .flags = 0 };
	int first = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct item *it = &r->v[i];
		int e;

		if (cancelled(r)) {
			first = first ? first : cancel_error(r);
			break;
		}
		if (it->skip) {
			e = it->drop_record ? drop_record(r, it, false) : 0;
		} else {
			e = restore_item(r, it, false);
			if (!e && it->had_record)
				e = drop_record(r, it, false);
			it->done = !e && !r->dry;
		}
		if (e && !first) {
			first = e;
			vfc_err_save(r->ctx, &failure);
		} else if (e) {
			vfc_log(r->ctx, LOG_ERR, "%s", r->ctx->errmsg);
		}
	}
	if (first && first != -ECANCELED)
		vfc_err_restore(r->ctx, &failure);
	return first;
}

VFC_EXPORT int vfc_unbind(struct vfc_ctx *ctx, const struct vfc_bdf *bdfs, size_t n,
			  const struct vfc_bind_opts *opts, struct vfc_bind_result **res,
			  size_t *nres)
{
	struct run r;
	int fd, e;

	start(ctx, &r, opts, res, nres);
	e = lock_run(&r, &fd);
	if (!e)
		e = collect(&r, bdfs, n, false);
	for (size_t i = 0; !e && i < r.n; i++)
		e = plan_unbind_item(&r, &r.v[i]);
	if (!e)
		e = safety_unbind(&r);
	if (!e) {
		struct vfc_saved_err failure = { .flags = 0 };
		int pe;

		e = unbind_all(&r);
		vfc_err_save(ctx, &failure);
		/* the boot files of what was given back, even when another device failed */
		pe = unpersist_unbound(&r);
		if (!e && pe) {
			e = pe;
			vfc_err_save(ctx, &failure);
		}
		/* what was done is reported even when a device failed */
		judge_groups(&r, false);
		if (results(&r, VFC_ACT_UNBOUND, res, nres) && !e)
			e = -ENOMEM;
		else if (e)
			vfc_err_restore(ctx, &failure);
	}
	finish(&r, fd);
	return e;
}
