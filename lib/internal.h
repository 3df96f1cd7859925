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
};

#define VFC_EXPORT __attribute__((visibility("default")))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Records what failed (and a hint, may be NULL); returns -err. */
int vfc_fail(struct vfc_ctx *ctx, int err, const char *hint, const char *fmt,
	     ...) __attribute__((format(printf, 4, 5)));
void vfc_log(struct vfc_ctx *ctx, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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

/* Strict numeric parsers used by the readers and the CLI. */
int vfc_parse_u64(const char *s, int base, uint64_t *out);

/* names.c */
void vfc_names_lookup(struct vfc_ctx *ctx, struct vfc_device *dev);
void vfc_names_free(struct vfc_ctx *ctx);

/* modules.c */
void vfc_modules_read(struct vfc_ctx *ctx, const char *release,
		      struct vfc_module mods[VFC_MOD_COUNT]);
void vfc_modules_free(struct vfc_ctx *ctx);

/* Append one element to a malloc'd array, growing it; 0 or -ENOMEM. */
int vfc_array_push(void **arr, size_t *n, size_t elem, const void *item);

#endif
