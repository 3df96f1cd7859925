/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to lib/: the context and the helpers every module shares. */
#ifndef VFIOCTL_INTERNAL_H
#define VFIOCTL_INTERNAL_H

#include <limits.h>
#include <stdarg.h>
#include <syslog.h>

#include "vfioctl.h"

struct pci_access;
struct kmod_ctx;
struct udev;
struct udev_monitor;

struct vfc_ctx {
	int refcount;
	char sysroot[PATH_MAX]; /* "" for the running system, else no trailing '/' */
	char errmsg[512];
	char errhint[256];
	vfc_log_fn log_fn;
	void *log_data;
	struct pci_access *pacc; /* names, created on first use */
	bool pacc_failed;
	struct kmod_ctx *kmod;   /* module lookups, created on first use */
	bool kmod_failed;
	unsigned int errflags;   /* VFC_ERR_* qualifying errmsg */
	bool skip_names;         /* bind/unbind show no names: spare the pci.ids lookups */
};

#define VFC_EXPORT __attribute__((visibility("default")))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Records what failed (and a hint, may be NULL); returns -err. */
int vfc_fail(struct vfc_ctx *ctx, int err, const char *hint, const char *fmt,
	     ...) __attribute__((format(printf, 4, 5)));
void vfc_log(struct vfc_ctx *ctx, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The failure being reported (message, hint, flags), kept while later calls
 * (rollback, teardown) record their own; vfc_err_restore puts it back. */
struct vfc_saved_err {
	char msg[sizeof(((struct vfc_ctx *)0)->errmsg)];
	char hint[sizeof(((struct vfc_ctx *)0)->errhint)];
	unsigned int flags;
};
void vfc_err_save(const struct vfc_ctx *ctx, struct vfc_saved_err *s);
void vfc_err_restore(struct vfc_ctx *ctx, const struct vfc_saved_err *s);
/* Qualifies the failure just recorded by vfc_fail(). */
static inline void vfc_set_errflag(struct vfc_ctx *ctx, unsigned int flag)
{
	ctx->errflags |= flag;
}

/*
 * sysfs.c: the only code that builds paths. Each returns 0 or -ENAMETOOLONG;
 * arguments are parsed numbers or literals, never user strings.
 */
typedef char vfc_path_t[PATH_MAX];
int vfc_path_root(struct vfc_ctx *ctx, vfc_path_t out, const char *abs);
int vfc_path_pci_dev(struct vfc_ctx *ctx, vfc_path_t out,
		     const struct vfc_bdf *bdf, const char *leaf);
int vfc_path_group(struct vfc_ctx *ctx, vfc_path_t out, unsigned int id,
		   const char *leaf);
int vfc_path_proc(struct vfc_ctx *ctx, vfc_path_t out, pid_t pid,
		  const char *leaf); /* pid 0: "self" */
int vfc_path_dev_vfio_group(struct vfc_ctx *ctx, vfc_path_t out,
			    unsigned int id);
int vfc_path_module_param(struct vfc_ctx *ctx, vfc_path_t out,
			  const char *module, const char *param);
int vfc_path_hugepages(struct vfc_ctx *ctx, vfc_path_t out, int node,
		       const char *dirent, const char *leaf);
/* /sys/class/iommu/<unit>/<leaf>; unit is a directory entry we listed. */
int vfc_path_iommu_unit(struct vfc_ctx *ctx, vfc_path_t out, const char *unit,
			const char *leaf);
/* /sys/bus/pci/drivers/<driver>/<leaf>; driver must pass vfc_name_ok(). */
int vfc_path_pci_driver(struct vfc_ctx *ctx, vfc_path_t out, const char *driver,
			const char *leaf);
/* /run/vfioctl/devices/<bdf><suffix>, or the directory itself when bdf is NULL. */
int vfc_path_state(struct vfc_ctx *ctx, vfc_path_t out, const struct vfc_bdf *bdf,
		   const char *suffix);
/* /sys/class/<cls>/<name>/<leaf>; name is a directory entry we listed. */
int vfc_path_class(struct vfc_ctx *ctx, vfc_path_t out, const char *cls,
		   const char *name, const char *leaf);
int vfc_path_proc_fd(struct vfc_ctx *ctx, vfc_path_t out, pid_t pid, int fd);
int vfc_path_dev_vfio_cdev(struct vfc_ctx *ctx, vfc_path_t out, unsigned int n);
/* device.c: N of the device's VFIO cdev vfioN, from sysfs; -ENOENT when it has none. */
int vfc_device_cdev(struct vfc_ctx *ctx, const struct vfc_bdf *bdf, unsigned int *n);
/* VFC_PERSIST_DIR, or the file of one device in it */
int vfc_path_persist(struct vfc_ctx *ctx, vfc_path_t out, const struct vfc_bdf *bdf);
int vfc_path_persist_rules(struct vfc_ctx *ctx, vfc_path_t out);
/* A single path component the kernel handed us, shorter than max. */
bool vfc_name_ok(const char *name, size_t max);
/* A path without the sysroot prefix, as the system itself names it. */
const char *vfc_path_strip(const struct vfc_ctx *ctx, const char *path);

/* Readers: bytes read or -errno, with no message set (callers add context). */
ssize_t vfc_read_file(const char *path, char *buf, size_t len);
int vfc_read_line(const char *path, char *buf, size_t len); /* one trimmed line */
int vfc_read_u64(const char *path, int base, uint64_t *out);
int vfc_read_int(const char *path, int *out);
int vfc_read_bool_param(const char *path); /* Y/N/1/0 -> 1/0, or -errno */
/* Basename of a symlink's target. */
int vfc_read_link_name(const char *path, char *buf, size_t len);
/* Whole file into a malloc'd NUL-terminated string. */
int vfc_slurp(const char *path, char **out, size_t max);

/* Stores value in a sysfs attribute with one write(2); 0 or -errno. */
int vfc_write_attr(struct vfc_ctx *ctx, const char *path, const char *value);

/* Strict numeric parsers used by the readers and the CLI. */
int vfc_parse_u64(const char *s, int base, uint64_t *out);

/* names.c */
void vfc_names_lookup(struct vfc_ctx *ctx, struct vfc_device *dev);
void vfc_names_free(struct vfc_ctx *ctx);

/* modules.c */
void vfc_modules_read(struct vfc_ctx *ctx, const char *release,
		      struct vfc_module mods[VFC_MOD_COUNT]);
void vfc_modules_free(struct vfc_ctx *ctx);
/* Checks vfio-pci can be loaded (present, not blacklisted, no install command)
 * and names the modules that would be inserted. Live system only. */
int vfc_vfio_pci_plan(struct vfc_ctx *ctx, char *names, size_t len);
int vfc_vfio_pci_load(struct vfc_ctx *ctx);

/*
 * state.c: what a device looked like before `bind` touched it, kept in
 * /run/vfioctl/devices/<bdf> so that `unbind` (or a rollback) restores it,
 * and the lock that serializes runs.
 */
struct vfc_state {
	struct vfc_bdf bdf;
	char driver[64];          /* "" when it had none */
	char driver_override[64]; /* "" when none was set */
	int sriov_numvfs;         /* VFs of a PF, -1 otherwise */
	int group;
	bool kernel_choice;       /* unbind: the kernel's default match, not `driver`
				   * (bound at boot, before the host driver had a chance) */
};
#define VFC_STATE_MAX 512
int vfc_state_format(const struct vfc_state *st, char *buf, size_t len);
int vfc_state_parse(const char *text, struct vfc_state *st); /* pure */
/* 0, -ENOENT when there is no record, other -errno with a message set. */
int vfc_state_load(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
		   struct vfc_state *st);
/* Written to a temporary file, synced and renamed: never half a record. */
int vfc_state_save(struct vfc_ctx *ctx, const struct vfc_state *st);
int vfc_state_remove(struct vfc_ctx *ctx, const struct vfc_bdf *bdf);
/* A file replaced whole: written to PATH.tmp, synced, renamed, directory synced. */
int vfc_file_replace(struct vfc_ctx *ctx, const char *path, const char *text, size_t n);
/* Unlinked (gone already is fine), directory synced. */
int vfc_file_remove(struct vfc_ctx *ctx, const char *path);
/* ABS under the sysroot: made 0755 if missing; must be a real directory only root writes. */
int vfc_ensure_dir(struct vfc_ctx *ctx, const char *abs);
/* Takes /run/vfioctl/lock (waiting for another run); *fd gets the lock. */
int vfc_lock(struct vfc_ctx *ctx, const volatile sig_atomic_t *cancel, int *fd);
void vfc_unlock(int fd);

/*
 * wait.c: waiting for VFIO nodes. With udevd running, a node counts once
 * udev has announced it (its rules, permissions included, have run); without
 * udevd, once it exists. Open the waiter before the first write so that no
 * event is missed.
 */
struct vfc_waiter {
	struct udev *udev;
	struct udev_monitor *mon;
	unsigned long long seqnum; /* events up to this one came before us */
};
void vfc_waiter_open(struct vfc_ctx *ctx, struct vfc_waiter *w);
/* nodes: sysroot-prefixed paths; 0, -ETIMEDOUT or -ECANCELED (no message set). */
int vfc_waiter_wait(struct vfc_ctx *ctx, struct vfc_waiter *w,
		    char (*nodes)[PATH_MAX], size_t n, int timeout_ms,
		    const volatile sig_atomic_t *cancel, size_t *missing);
void vfc_waiter_close(struct vfc_waiter *w);
long long vfc_now_ms(void);

/*
 * safety.c: reasons not to take a device from the host. Each appends
 * "; "-separated reasons to why[] and returns how many it found (0: none),
 * or -errno. Facts that cannot be read are not reasons (a missing
 * /proc/net/route means no routes), but a read error is logged.
 */
struct vfc_scan;
struct vfc_why {
	char text[768];
	int n;
};
void vfc_why_add(struct vfc_why *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int vfc_safety_net(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w);
int vfc_safety_block(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w,
		     struct vfc_scan *sc);
int vfc_safety_display(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w);
int vfc_safety_sriov(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w);
/* What the checks read once per run however many devices they look at:
 * who holds what below /dev/vfio (one walk of /proc, made on the first
 * device that has a node) and every block device, resolved. */
struct vfc_vfio_fd {
	pid_t pid;
	char comm[32];
	char target[64];
};
struct vfc_blk;
struct vfc_scan {
	struct vfc_vfio_fd *fds;
	size_t nfds;
	bool fds_scanned;
	struct vfc_blk *blks;
	size_t nblks;
	bool blks_scanned;
};
void vfc_scan_clear(struct vfc_scan *sc);
/* Processes holding the device's group node or cdev open. */
int vfc_safety_vfio_open(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w,
			 struct vfc_scan *sc);

/* Append one element to a malloc'd array, growing it; 0 or -ENOMEM. */
int vfc_array_push(void **arr, size_t *n, size_t elem, const void *item);

#endif
