// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who holds locked or pinned memory, against which limit, and what a VM will
 * need. Everything comes from /proc: VmLck is mm->locked_vm (type1 and
 * iommufd's per-process mode charge it), VmPin is mm->pinned_vm (iommufd
 * counts every pin there). In iommufd's default mode the limit is checked
 * against the user's total (user->locked_vm, which /proc does not show), so
 * that is summed here from the VmPin of the user's /dev/iommu holders.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define CAP_IPC_LOCK_BIT 14
#define GiB (1ULL << 30)

static void add_node(struct vfc_memlock_proc *p, const char *node)
{
	size_t used = strlen(p->nodes), len = strlen(node);
	const char *s = p->nodes;

	/* distinct nodes only: a VMM holds many fds on one container */
	while ((s = strstr(s, node))) {
		if ((s == p->nodes || s[-1] == '\n') && (s[len] == '\n' || !s[len]))
			return;
		s += len;
	}
	if (used + len + 2 <= sizeof(p->nodes))
		snprintf(p->nodes + used, sizeof(p->nodes) - used, "%s%s",
			 used ? "\n" : "", node);
}

/* Counts the process's VFIO and iommufd descriptors; -errno when unreadable. */
static int scan_fds(struct vfc_ctx *ctx, struct vfc_memlock_proc *p)
{
	struct dirent *de;
	vfc_path_t dir;
	DIR *d;

	if (vfc_path_proc(ctx, dir, p->pid, "fd"))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char leaf[32], target[PATH_MAX];
		vfc_path_t link;
		unsigned int fd;
		ssize_t len;

		if (vfc_group_parse(de->d_name, &fd))
			continue;
		snprintf(leaf, sizeof(leaf), "fd/%u", fd);
		if (vfc_path_proc(ctx, link, p->pid, leaf))
			continue;
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (!strncmp(target, "/dev/vfio/", 10)) {
			p->vfio_fds++;
			add_node(p, target);
		} else if (!strcmp(target, "/dev/iommu")) {
			p->iommufd_fds++;
			add_node(p, target);
		}
	}
	closedir(d);
	return 0;
}

/* "0::/system.slice/libvirtd.service" -> "libvirtd.service" (v2 or name=systemd) */
static void read_unit(struct vfc_ctx *ctx, struct vfc_memlock_proc *p)
{
	char *text = NULL, *line, *save = NULL;
	vfc_path_t path;

	p->unit[0] = '\0';
	if (vfc_path_proc(ctx, path, p->pid, "cgroup") || vfc_slurp(path, &text, 1 << 16))
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *cg = strrchr(line, ':'), *seg, *unit = NULL, *ssave = NULL;

		if (!cg || !(!strncmp(line, "0::", 3) || strstr(line, ":name=systemd:")))
			continue;
		/* the innermost .service or .scope segment names the unit */
		for (seg = strtok_r(cg + 1, "/", &ssave); seg; seg = strtok_r(NULL, "/", &ssave)) {
			size_t n = strlen(seg);

			if ((n > 8 && !strcmp(seg + n - 8, ".service")) ||
			    (n > 6 && !strcmp(seg + n - 6, ".scope")))
				unit = seg;
		}
		if (unit)
			snprintf(p->unit, sizeof(p->unit), "%s", unit);
		break;
	}
	free(text);
}

VFC_EXPORT int vfc_proc_status_read(struct vfc_ctx *ctx, pid_t pid,
				    struct vfc_proc_status *out)
{
	char *text = NULL;
	vfc_path_t path;
	int r;

	memset(out, 0, sizeof(*out));
	out->vm_lck_kb = out->vm_pin_kb = -1;
	if (vfc_path_proc(ctx, path, pid, "status"))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	r = vfc_slurp(path, &text, 1 << 16);
	if (r == -ENOENT)
		return vfc_fail(ctx, ESRCH, NULL, "no process %d", (int)pid);
	if (r)
		return vfc_fail(ctx, r, NULL, "reading %s", vfc_path_strip(ctx, path));
	r = vfc_proc_status_parse(text, out);
	free(text);
	if (r)
		return vfc_fail(ctx, r, "the proc tree is damaged", "malformed %s",
				vfc_path_strip(ctx, path));
	return 0;
}

static int read_proc(struct vfc_ctx *ctx, pid_t pid, struct vfc_memlock_proc *p)
{
	struct vfc_proc_status st;
	char *text = NULL;
	vfc_path_t path;
	struct stat sb;
	int r;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	r = vfc_proc_status_read(ctx, pid, &st);
	if (r)
		return r;
	if (vfc_path_proc(ctx, path, pid, "status"))
		return -ENAMETOOLONG;
	snprintf(p->comm, sizeof(p->comm), "%s", st.name);
	p->vm_lck_kb = st.vm_lck_kb;
	p->vm_pin_kb = st.vm_pin_kb;
	p->cap_ipc_lock = st.have_cap_eff && (st.cap_eff & (1ULL << CAP_IPC_LOCK_BIT));
	if (st.have_uid)
		p->uid = st.uid;
	else if (stat(path, &sb) == 0)
		p->uid = sb.st_uid;

	p->memlock_soft = p->memlock_hard = VFC_RLIM_INFINITY;
	if (vfc_path_proc(ctx, path, pid, "limits") == 0 &&
	    vfc_slurp(path, &text, 1 << 16) == 0) {
		if (vfc_proc_limits_memlock_parse(text, &p->memlock_soft, &p->memlock_hard))
			vfc_log(ctx, LOG_WARNING, "%s: no 'Max locked memory' row",
				vfc_path_strip(ctx, path));
		free(text);
	}
	read_unit(ctx, p);
	return 0;
}

/* iommufd's per-user charge: what each uid's /dev/iommu holders have pinned. */
struct uid_pins {
	uid_t uid;
	int64_t kb;
};

static bool charges_user(const struct vfc_memlock_proc *p)
{
	/* iommufd does not account pins made with CAP_IPC_LOCK at all */
	return p->iommufd_fds && !p->cap_ipc_lock && p->vm_pin_kb > 0;
}

static int add_pins(struct uid_pins **sums, size_t *n, const struct vfc_memlock_proc *p)
{
	struct uid_pins u = { p->uid, p->vm_pin_kb };

	if (!charges_user(p))
		return 0;
	for (size_t i = 0; i < *n; i++) {
		if ((*sums)[i].uid == p->uid) {
			(*sums)[i].kb += p->vm_pin_kb;
			return 0;
		}
	}
	return vfc_array_push((void **)sums, n, sizeof(u), &u);
}

static void set_user_pins(struct vfc_memlock_proc *arr, size_t n, const struct uid_pins *sums,
			  size_t nsums)
{
	for (size_t i = 0; i < n; i++) {
		arr[i].user_pin_kb = -1;
		if (!arr[i].iommufd_fds)
			continue;
		arr[i].user_pin_kb = 0;
		for (size_t j = 0; j < nsums; j++)
			if (sums[j].uid == arr[i].uid)
				arr[i].user_pin_kb = sums[j].kb;
	}
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = ((const struct vfc_memlock_proc *)a)->pid;
	pid_t y = ((const struct vfc_memlock_proc *)b)->pid;

	return x < y ? -1 : x > y;
}

static bool wanted(enum vfc_memlock_scope scope, const struct vfc_memlock_proc *p)
{
	if (p->vfio_fds || p->iommufd_fds)
		return true;
	return scope == VFC_MEMLOCK_LOCKED && (p->vm_lck_kb > 0 || p->vm_pin_kb > 0);
}

VFC_EXPORT int vfc_memlock_scan(struct vfc_ctx *ctx, enum vfc_memlock_scope scope,
				pid_t pid, struct vfc_memlock_proc **out, size_t *n,
				size_t *unreadable)
{
	struct vfc_memlock_proc *arr = NULL, p;
	struct uid_pins *sums = NULL;
	size_t cnt = 0, noread = 0, nsums = 0;
	struct dirent *de;
	vfc_path_t path;
	DIR *d;
	int r;

	*out = NULL;
	*n = 0;
	if (pid > 0) {
		r = read_proc(ctx, pid, &p);
		if (r == -ESRCH)
			return vfc_fail(ctx, ESRCH, NULL, "no process %d", (int)pid);
		if (r)
			return r;
		if (scan_fds(ctx, &p) < 0)
			noread++;
		if (vfc_array_push((void **)&arr, &cnt, sizeof(p), &p))
			return vfc_fail(ctx, ENOMEM, NULL, "scanning processes");
	}
	/* even for one process: its user's other processes count with it */
	if (vfc_path_root(ctx, path, "/proc") || !(d = opendir(path))) {
		free(arr);
		return vfc_fail(ctx, errno ? errno : ENAMETOOLONG, "is /proc mounted?",
				"listing /proc");
	}
	while ((de = readdir(d))) {
		unsigned int id;

		if (vfc_group_parse(de->d_name, &id) || id == 0)
			continue;
		/* processes come and go while we read: a vanished one is skipped */
		if (read_proc(ctx, (pid_t)id, &p))
			continue;
		if (scan_fds(ctx, &p) < 0 && pid <= 0)
			noread++;
		r = add_pins(&sums, &nsums, &p);
		if (!r && pid <= 0 && wanted(scope, &p))
			r = vfc_array_push((void **)&arr, &cnt, sizeof(p), &p);
		if (r) {
			closedir(d);
			free(arr);
			free(sums);
			return vfc_fail(ctx, ENOMEM, NULL, "scanning processes");
		}
	}
	closedir(d);
	if (cnt)
		qsort(arr, cnt, sizeof(*arr), cmp_pid);
	set_user_pins(arr, cnt, sums, nsums);
	free(sums);
	*out = arr;
	*n = cnt;
	if (unreadable)
		*unreadable = noread;
	return 0;
}

VFC_EXPORT uint64_t vfc_memlock_used(const struct vfc_memlock_proc *p)
{
	uint64_t lck = p->vm_lck_kb > 0 ? (uint64_t)p->vm_lck_kb << 10 : 0;
	uint64_t pin = p->vm_pin_kb > 0 ? (uint64_t)p->vm_pin_kb << 10 : 0;

	/* iommufd's default mode: the limit holds the whole user's pins */
	if (p->iommufd_fds && p->user_pin_kb > 0 && (uint64_t)p->user_pin_kb << 10 > pin)
		pin = (uint64_t)p->user_pin_kb << 10;

	/*
	 * type1 charges locked_vm; iommufd charges pinned_vm, and locked_vm too in
	 * per-process mode. The same pages may be in both, so the larger of the
	 * two is what the limit is measured against.
	 */
	return lck > pin ? lck : pin;
}

VFC_EXPORT int vfc_memlock_estimate(const struct vfc_memlock_estimate_in *in,
				    struct vfc_memlock_estimate *out)
{
	unsigned int vms = in->vms ? in->vms : 1;
	char ram[32];
	uint64_t per_vm;

	memset(out, 0, sizeof(*out));
	if (in->ram == 0)
		return -EINVAL;
	vfc_size_format(in->ram, ram, sizeof(ram));
	/*
	 * libvirt: each vDPA and userspace-NVMe device may pin all guest RAM;
	 * VFIO devices share one container, so they pin it once, unless a vIOMMU
	 * gives each device its own address space. Plus 1 GiB for the rest.
	 */
	out->factor = in->vdpa + in->nvme;
	if (in->vfio)
		out->factor += in->viommu ? in->vfio : 1;
	if (out->factor == 0) {
		snprintf(out->why, sizeof(out->why),
			 "no assigned device: the VMM pins no guest memory");
		return 0;
	}
	if (in->ram > (UINT64_MAX - GiB) / out->factor / vms)
		return -EOVERFLOW;
	per_vm = (uint64_t)out->factor * in->ram + GiB;
	out->limit = per_vm;
	if (in->backend == VFC_BACKEND_IOMMUFD && vms > 1) {
		out->limit = per_vm * vms;
		snprintf(out->why, sizeof(out->why),
			 "%u x %s guest RAM + 1G per VM; iommufd charges the user, so %u VMs of one user share one limit",
			 out->factor, ram, vms);
	} else {
		snprintf(out->why, sizeof(out->why), "%u x %s guest RAM + 1G%s",
			 out->factor, ram,
			 in->vfio > 1 && !in->viommu ? " (VFIO devices share one container)" :
			 in->viommu && in->vfio ? " (a vIOMMU: each VFIO device maps all RAM)" : "");
	}
	return 0;
}
