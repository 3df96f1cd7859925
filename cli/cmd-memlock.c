// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl memlock: who has memory locked or pinned for DMA, against which
 * limit; and with --estimate, the limit a VM needs and how to set it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

enum { COL_PID, COL_USER, COL_COMM, COL_UNIT, COL_NODES, COL_LOCKED, COL_PINNED,
       COL_USER_PINNED, COL_LIMIT, COL_HARD, COL_IPCLOCK, COL_USE, COL_STATUS };

static const struct colinfo infos[] = {
	[COL_PID] = { "PID", 7, SCOLS_FL_RIGHT, COL_NUM, "process ID" },
	[COL_USER] = { "USER", 8, 0, COL_STR, "owner of the process" },
	[COL_COMM] = { "COMM", 12, 0, COL_STR, "command name" },
	[COL_UNIT] = { "UNIT", 0.2, SCOLS_FL_TRUNC, COL_STR, "systemd unit (its LimitMEMLOCK= sets the limit)" },
	[COL_NODES] = { "NODES", 14, 0, COL_ARRAY, "VFIO and iommufd nodes held open" },
	[COL_LOCKED] = { "LOCKED", 7, SCOLS_FL_RIGHT, COL_NUM, "VmLck: locked_vm, charged by type1 (and iommufd per-process mode)" },
	[COL_PINNED] = { "PINNED", 7, SCOLS_FL_RIGHT, COL_NUM, "VmPin: pinned_vm, what this process pinned through iommufd" },
	[COL_USER_PINNED] = { "USER_PINNED", 7, SCOLS_FL_RIGHT, COL_NUM, "iommufd holders: VmPin of all this user's /dev/iommu holders, the default per-user charge" },
	[COL_LIMIT] = { "LIMIT", 7, SCOLS_FL_RIGHT, COL_NUM, "RLIMIT_MEMLOCK soft limit (bytes in JSON; null: unlimited)" },
	[COL_HARD] = { "HARD", 7, SCOLS_FL_RIGHT, COL_NUM, "RLIMIT_MEMLOCK hard limit" },
	[COL_IPCLOCK] = { "IPC_LOCK", 8, 0, COL_BOOL, "has CAP_IPC_LOCK: the limit is not enforced" },
	[COL_USE] = { "USE%", 5, SCOLS_FL_RIGHT, COL_NUM, "locked or pinned memory (iommufd: the user's) as a share of the soft limit" },
	[COL_STATUS] = { "STATUS", 6, 0, COL_STR, "ok, near (90% or more), over, or exempt" },
};

static const int defaults[] = { COL_PID, COL_COMM, COL_UNIT, COL_LOCKED, COL_PINNED,
				COL_USER_PINNED, COL_LIMIT, COL_IPCLOCK, COL_USE, COL_STATUS };

enum { ECOL_METHOD, ECOL_SETTING, ECOL_BYTES };

static const struct colinfo est_infos[] = {
	[ECOL_METHOD] = { "METHOD", 11, 0, COL_STR, "required, current, or the way to set the limit" },
	[ECOL_SETTING] = { "SETTING", 0.6, 0, COL_STR, "the value, or the line to use" },
	[ECOL_BYTES] = { "BYTES", 12, SCOLS_FL_RIGHT, COL_NUM, "the limit in bytes (required and current rows)" },
};

static const int est_defaults[] = { ECOL_METHOD, ECOL_SETTING, ECOL_BYTES };

static int bytes_mode;

/* Sizes: human in tables, exact bytes with --bytes and in JSON. */
static int set_size(struct out *o, struct libscols_line *ln, int col, uint64_t v)
{
	return out_set_bytes(o, ln, col, v, bytes_mode);
}

static const char *status_of(const struct vfc_memlock_proc *p, int *pct)
{
	uint64_t used = vfc_memlock_used(p);

	*pct = -1;
	if (p->cap_ipc_lock || p->memlock_soft == VFC_RLIM_INFINITY)
		return "exempt";
	if (p->memlock_soft == 0)
		return used ? "over" : "ok";
	*pct = (int)((used * 100 + p->memlock_soft - 1) / p->memlock_soft);
	return *pct > 100 ? "over" : *pct >= 90 ? "near" : "ok";
}

static int add_proc(struct vfc_ctx *ctx, struct out *o, const struct vfc_memlock_proc *p)
{
	struct libscols_line *ln = out_line(o);
	struct passwd *pw = vfc_is_live(ctx) ? getpwuid(p->uid) : NULL;
	const char *st;
	int pct, r = 0;

	if (!ln)
		return -ENOMEM;
	st = status_of(p, &pct);
	r |= out_setf(o, ln, COL_PID, "%d", (int)p->pid);
	if (pw)
		r |= out_set(o, ln, COL_USER, pw->pw_name);
	else
		r |= out_setf(o, ln, COL_USER, "%u", (unsigned int)p->uid);
	r |= out_set(o, ln, COL_COMM, p->comm);
	r |= out_set(o, ln, COL_UNIT, p->unit[0] ? p->unit : NULL);
	r |= out_set(o, ln, COL_NODES, p->nodes[0] ? p->nodes : NULL);
	if (p->vm_lck_kb >= 0)
		r |= set_size(o, ln, COL_LOCKED, (uint64_t)p->vm_lck_kb << 10);
	if (p->vm_pin_kb >= 0)
		r |= set_size(o, ln, COL_PINNED, (uint64_t)p->vm_pin_kb << 10);
	if (p->user_pin_kb >= 0)
		r |= set_size(o, ln, COL_USER_PINNED, (uint64_t)p->user_pin_kb << 10);
	if (p->memlock_soft != VFC_RLIM_INFINITY)
		r |= set_size(o, ln, COL_LIMIT, p->memlock_soft);
	else if (!outopts.json)
		r |= out_set(o, ln, COL_LIMIT, "unlimited");
	if (p->memlock_hard != VFC_RLIM_INFINITY)
		r |= set_size(o, ln, COL_HARD, p->memlock_hard);
	else if (!outopts.json)
		r |= out_set(o, ln, COL_HARD, "unlimited");
	r |= out_set(o, ln, COL_IPCLOCK, out_bool(p->cap_ipc_lock));
	if (pct >= 0)
		r |= out_setf(o, ln, COL_USE, "%d", pct);
	r |= out_set(o, ln, COL_STATUS, st);
	return r ? -ENOMEM : 0;
}

static int show_procs(struct vfc_ctx *ctx, int all, long pid)
{
	struct vfc_memlock_proc *procs = NULL;
	size_t n = 0, unreadable = 0;
	struct out o = { 0 };
	int rc = OUT_SETUP(&o, "memlock", "processes", infos, defaults);

	if (rc >= 0)
		goto out;
	rc = vfc_memlock_scan(ctx, all ? VFC_MEMLOCK_LOCKED : VFC_MEMLOCK_VFIO,
			      (pid_t)pid, &procs, &n, &unreadable);
	if (rc) {
		rc = rc == -ESRCH ? (report_error(ctx, rc), EXIT_NOT_FOUND) : report_error(ctx, rc);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (add_proc(ctx, &o, &procs[i])) {
			warnx_("out of memory");
			rc = EXIT_FAIL;
			goto out;
		}
	}
	out_print(&o);
	if (unreadable && geteuid() != 0)
		warnx_("%zu processes' descriptors were not readable: run as root to see every VFIO user",
		       unreadable);
	rc = EXIT_OK;
out:
	free(procs);
	out_free(&o);
	return rc;
}

struct est_opts {
	char *ram, *backend, *user;
	int vfio, nvme, vdpa, viommu, vms;
};

static int est_row(struct out *o, const char *method, const char *setting, const uint64_t *bytes)
{
	struct libscols_line *ln = out_line(o);
	int r = 0;

	if (!ln)
		return -ENOMEM;
	r |= out_set(o, ln, ECOL_METHOD, method);
	r |= out_set(o, ln, ECOL_SETTING, setting);
	if (bytes)
		r |= out_setf(o, ln, ECOL_BYTES, "%" PRIu64, *bytes);
	return r;
}

static int parse_est(const struct est_opts *e, struct vfc_memlock_estimate_in *in)
{
	memset(in, 0, sizeof(*in));
	if (!e->ram)
		return usage_error("memlock", "--estimate needs --ram SIZE (the guest's memory)");
	if (vfc_size_parse(e->ram, &in->ram) || in->ram == 0)
		return usage_error("memlock", "--ram: '%s' is not a size (e.g. 16G)", e->ram);
	if (e->vfio < 0 || e->nvme < 0 || e->vdpa < 0 || e->vms < 1)
		return usage_error("memlock", "device and VM counts must not be negative");
	in->vfio = (unsigned int)e->vfio;
	in->nvme = (unsigned int)e->nvme;
	in->vdpa = (unsigned int)e->vdpa;
	in->viommu = e->viommu;
	in->vms = (unsigned int)e->vms;
	/* the global --backend, when it names one, unless --backend here does */
	if (!e->backend && cli_backend != VFC_BACKEND_AUTO)
		in->backend = cli_backend;
	else if (!e->backend || !strcmp(e->backend, "type1"))
		in->backend = VFC_BACKEND_TYPE1;
	else if (!strcmp(e->backend, "iommufd"))
		in->backend = VFC_BACKEND_IOMMUFD;
	else
		return usage_error("memlock", "--backend is type1 or iommufd, not '%s'", e->backend);
	return -1;
}

static int show_estimate(struct vfc_ctx *ctx, const struct est_opts *e)
{
	struct vfc_memlock_estimate_in in;
	struct vfc_memlock_estimate est;
	struct vfc_host host;
	struct out o = { 0 };
	char line[320], size[32], user[64];
	uint64_t kib;
	int rc = OUT_SETUP(&o, "memlock", "estimate", est_infos, est_defaults), r = 0;

	if (rc >= 0)
		goto out;
	rc = parse_est(e, &in);
	if (rc >= 0)
		goto out;
	rc = vfc_memlock_estimate(&in, &est);
	if (rc) {
		warnx_("cannot estimate: %s", rc == -EOVERFLOW ? "the numbers overflow 64 bits" : strerror(-rc));
		rc = EXIT_FAIL;
		goto out;
	}
	snprintf(line, sizeof(line), "%s: %s",
		 vfc_size_format(est.limit, size, sizeof(size)), est.why);
	r |= est_row(&o, "required", line, &est.limit);
	if (vfc_host_read(ctx, &host) == 0) {
		const char *verdict = !host.memlock_known ? "unknown" :
			host.cap_ipc_lock ? "CAP_IPC_LOCK: not enforced for this user" :
			host.memlock_soft == VFC_RLIM_INFINITY || host.memlock_soft >= est.limit ?
			"enough" : "too low";

		if (host.memlock_soft == VFC_RLIM_INFINITY)
			snprintf(line, sizeof(line), "unlimited (this shell): %s", verdict);
		else
			snprintf(line, sizeof(line), "%s (this shell): %s",
				 vfc_size_format(host.memlock_soft, size, sizeof(size)), verdict);
		r |= est_row(&o, "current", line,
			     host.memlock_soft == VFC_RLIM_INFINITY ? NULL : &host.memlock_soft);
		vfc_host_clear(&host);
	}
	if (est.limit) {
		struct passwd *pw = getpwuid(getuid());

		snprintf(user, sizeof(user), "%s", e->user ? e->user : pw ? pw->pw_name : "USER");
		kib = (est.limit + 1023) / 1024;
		snprintf(line, sizeof(line), "ulimit -l %" PRIu64, kib);
		r |= est_row(&o, "ulimit", line, NULL);
		snprintf(line, sizeof(line), "%s hard memlock %" PRIu64 " (and soft) in /etc/security/limits.conf",
			 user, kib);
		r |= est_row(&o, "limits.conf", line, NULL);
		snprintf(line, sizeof(line), "LimitMEMLOCK=%" PRIu64 " (systemctl edit UNIT)", est.limit);
		r |= est_row(&o, "systemd", line, NULL);
		snprintf(line, sizeof(line),
			 "<memtune><hard_limit unit='KiB'>%" PRIu64 "</hard_limit></memtune> (also caps the VM's memory: leave room)",
			 kib);
		r |= est_row(&o, "libvirt", line, NULL);
	}
	if (r) {
		warnx_("out of memory");
		rc = EXIT_FAIL;
		goto out;
	}
	out_print(&o);
	rc = EXIT_OK;
out:
	out_free(&o);
	return rc;
}

static int run(struct vfc_ctx *ctx, int argc, const char **argv)
{
	struct est_opts e = { .vfio = 1, .vms = 1 };
	int all = 0, estimate = 0;
	long pid = 0;
	struct poptOption opts[] = {
		{ "pid", 'p', POPT_ARG_LONG, &pid, 0, "only this process", "PID" },
		{ "all", 'a', POPT_ARG_NONE, &all, 0,
		  "also processes with locked or pinned memory but no VFIO descriptor", NULL },
		{ "bytes", 'b', POPT_ARG_NONE, &bytes_mode, 0, "print sizes in bytes", NULL },
		{ "estimate", 'e', POPT_ARG_NONE, &estimate, 0,
		  "compute the limit a VM needs (with --ram)", NULL },
		{ "ram", 0, POPT_ARG_STRING, &e.ram, 0, "guest memory (e.g. 16G)", "SIZE" },
		{ "devices", 0, POPT_ARG_INT, &e.vfio, 0, "assigned VFIO devices (default 1)", "N" },
		{ "nvme", 0, POPT_ARG_INT, &e.nvme, 0, "NVMe disks on QEMU's userspace driver", "N" },
		{ "vdpa", 0, POPT_ARG_INT, &e.vdpa, 0, "vhost-vdpa devices", "N" },
		{ "viommu", 0, POPT_ARG_NONE, &e.viommu, 0, "the guest has a vIOMMU", NULL },
		{ "backend", 0, POPT_ARG_STRING, &e.backend, 0,
		  "type1 (default) or iommufd (charges the user)", "NAME" },
		{ "vms", 0, POPT_ARG_INT, &e.vms, 0, "iommufd: VMs of the same user (default 1)", "N" },
		{ "user", 0, POPT_ARG_STRING, &e.user, 0, "user for the limits.conf line", "NAME" },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, NULL, NULL },
		POPT_TABLEEND
	};
	poptContext pc;
	int rc = cmd_parse(&cmd_memlock, opts, argc, argv, &pc);

	if (rc >= 0)
		return rc;
	if (poptPeekArg(pc))
		rc = usage_error("memlock", "unexpected argument '%s'", poptPeekArg(pc));
	else if (estimate && (pid || all))
		rc = usage_error("memlock", "--estimate does not go with --pid or --all");
	else if (!estimate && (e.ram || e.backend || e.viommu || e.user))
		rc = usage_error("memlock", "--ram, --backend, --viommu and --user go with --estimate");
	else if (pid < 0 || pid > INT32_MAX)
		rc = usage_error("memlock", "--pid wants a process ID");
	else if (pid && all)
		rc = usage_error("memlock", "--pid and --all do not go together");
	else
		rc = estimate ? show_estimate(ctx, &e) : show_procs(ctx, all, pid);
	poptFreeContext(pc);
	free(e.ram);
	free(e.backend);
	free(e.user);
	return rc;
}

const struct cmd cmd_memlock = {
	.name = "memlock",
	.fn = run,
	.args = NULL,
	.summary = "Show locked and pinned memory of VFIO users, or estimate a VM's limit",
};
