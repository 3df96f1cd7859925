// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every path vfioctl touches is built here, prefixed by the sysroot. Callers
 * pass parsed numbers and string literals; nothing a user typed reaches a
 * path without going through a parser first.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int build(struct vfc_ctx *ctx, vfc_path_t out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int build(struct vfc_ctx *ctx, vfc_path_t out, const char *fmt, ...)
{
	size_t rootlen = strlen(ctx->sysroot);
	va_list ap;
	int n;

	memcpy(out, ctx->sysroot, rootlen);
	va_start(ap, fmt);
	n = vsnprintf(out + rootlen, PATH_MAX - rootlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= PATH_MAX - rootlen)
		return -ENAMETOOLONG;
	return 0;
}

/* A leaf is a literal from our own code: refuse anything that could climb. */
static bool safe_leaf(const char *leaf)
{
	return !leaf || !strstr(leaf, "..");
}

int vfc_path_root(struct vfc_ctx *ctx, vfc_path_t out, const char *abs)
{
	if (abs[0] != '/' || !safe_leaf(abs))
		return -EINVAL;
	return build(ctx, out, "%s", abs);
}

int vfc_path_pci_dev(struct vfc_ctx *ctx, vfc_path_t out,
		     const struct vfc_bdf *bdf, const char *leaf)
{
	char b[VFC_BDF_STRLEN];

	if (!safe_leaf(leaf))
		return -EINVAL;
	vfc_bdf_format(bdf, b);
	return build(ctx, out, "/sys/bus/pci/devices/%s%s%s", b,
		     leaf ? "/" : "", leaf ? leaf : "");
}

int vfc_path_group(struct vfc_ctx *ctx, vfc_path_t out, unsigned int id,
		   const char *leaf)
{
	if (!safe_leaf(leaf))
		return -EINVAL;
	return build(ctx, out, "/sys/kernel/iommu_groups/%u%s%s", id,
		     leaf ? "/" : "", leaf ? leaf : "");
}

int vfc_path_proc(struct vfc_ctx *ctx, vfc_path_t out, pid_t pid,
		  const char *leaf)
{
	if (!safe_leaf(leaf) || pid < 0)
		return -EINVAL;
	if (pid == 0)
		return build(ctx, out, "/proc/self/%s", leaf);
	return build(ctx, out, "/proc/%d/%s", (int)pid, leaf);
}

int vfc_path_dev_vfio_group(struct vfc_ctx *ctx, vfc_path_t out,
			    unsigned int id)
{
	return build(ctx, out, "/dev/vfio/%u", id);
}

int vfc_path_module_param(struct vfc_ctx *ctx, vfc_path_t out,
			  const char *module, const char *param)
{
	if (!safe_leaf(module) || !safe_leaf(param) || strchr(module, '/'))
		return -EINVAL;
	return build(ctx, out, "/sys/module/%s/parameters/%s", module, param);
}

int vfc_path_hugepages(struct vfc_ctx *ctx, vfc_path_t out, int node,
		       const char *dirent, const char *leaf)
{
	if (!safe_leaf(dirent) || !safe_leaf(leaf) ||
	    (dirent && strchr(dirent, '/')))
		return -EINVAL;
	if (node < 0)
		return build(ctx, out, "/sys/kernel/mm/hugepages%s%s%s%s",
			     dirent ? "/" : "", dirent ? dirent : "",
			     leaf ? "/" : "", leaf ? leaf : "");
	return build(ctx, out, "/sys/devices/system/node/node%d/hugepages%s%s%s%s",
		     node, dirent ? "/" : "", dirent ? dirent : "",
		     leaf ? "/" : "", leaf ? leaf : "");
}

int vfc_path_iommu_unit(struct vfc_ctx *ctx, vfc_path_t out, const char *unit,
			const char *leaf)
{
	if (!unit[0] || strchr(unit, '/') || !strcmp(unit, "..") ||
	    !strcmp(unit, ".") || !safe_leaf(leaf))
		return -EINVAL;
	return build(ctx, out, "/sys/class/iommu/%s%s%s", unit, leaf ? "/" : "",
		     leaf ? leaf : "");
}

const char *vfc_path_strip(const struct vfc_ctx *ctx, const char *path)
{
	size_t n = strlen(ctx->sysroot);

	if (n && strncmp(path, ctx->sysroot, n) == 0)
		return path + n;
	return path;
}

ssize_t vfc_read_file(const char *path, char *buf, size_t len)
{
	ssize_t r;
	size_t got = 0;
	int fd;

	if (len == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		r = read(fd, buf + got, len - 1 - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
	return (ssize_t)got;
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

int vfc_read_line(const char *path, char *buf, size_t len)
{
	ssize_t r = vfc_read_file(path, buf, len);
	char *nl;

	if (r < 0)
		return (int)r;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	trim(buf);
	return 0;
}

int vfc_parse_u64(const char *s, int base, uint64_t *out)
{
	unsigned long long v;
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!isxdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno)
		return -errno;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int vfc_read_u64(const char *path, int base, uint64_t *out)
{
	char buf[64];
	int r = vfc_read_line(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	return vfc_parse_u64(buf, base, out);
}

int vfc_read_int(const char *path, int *out)
{
	char buf[64], *end;
	long v;
	int r = vfc_read_line(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || *end || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int vfc_read_bool_param(const char *path)
{
	char buf[16];
	int r = vfc_read_line(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	if (!strcmp(buf, "Y") || !strcmp(buf, "1"))
		return 1;
	if (!strcmp(buf, "N") || !strcmp(buf, "0"))
		return 0;
	return -EINVAL;
}

int vfc_read_link_name(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

int vfc_slurp(const char *path, char **out, size_t max)
{
	size_t cap = 4096;
	char *buf = NULL;
	ssize_t r;

	/* sysfs and procfs files report size 0, so read until it stops growing */
	for (;;) {
		char *nb = realloc(buf, cap);

		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		r = vfc_read_file(path, buf, cap);
		if (r < 0) {
			free(buf);
			return (int)r;
		}
		if ((size_t)r < cap - 1)
			break;
		if (cap >= max) {
			free(buf);
			return -EFBIG;
		}
		cap *= 2;
	}
	*out = buf;
	return 0;
}

/*
 * A name the kernel gave us (a directory entry, a symlink's basename, a
 * recorded driver): one path component, nothing that could climb or hide.
 */
bool vfc_name_ok(const char *name, size_t max)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= max || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c <= ' ' || c >= 0x7f)
			return false;
	}
	return true;
}

int vfc_path_pci_driver(struct vfc_ctx *ctx, vfc_path_t out, const char *driver,
			const char *leaf)
{
	if (!vfc_name_ok(driver, 64) || !safe_leaf(leaf))
		return -EINVAL;
	return build(ctx, out, "/sys/bus/pci/drivers/%s%s%s", driver,
		     leaf ? "/" : "", leaf ? leaf : "");
}

int vfc_path_state(struct vfc_ctx *ctx, vfc_path_t out, const struct vfc_bdf *bdf,
		   const char *suffix)
{
	char b[VFC_BDF_STRLEN];

	if (!bdf)
		return build(ctx, out, "/run/vfioctl/devices");
	if (suffix && (strchr(suffix, '/') || !safe_leaf(suffix)))
		return -EINVAL;
	vfc_bdf_format(bdf, b);
	return build(ctx, out, "/run/vfioctl/devices/%s%s", b, suffix ? suffix : "");
}

int vfc_path_class(struct vfc_ctx *ctx, vfc_path_t out, const char *cls,
		   const char *name, const char *leaf)
{
	if (!vfc_name_ok(cls, 32) || (name && !vfc_name_ok(name, 256)) ||
	    !safe_leaf(leaf))
		return -EINVAL;
	return build(ctx, out, "/sys/class/%s%s%s%s%s", cls, name ? "/" : "",
		     name ? name : "", leaf ? "/" : "", leaf ? leaf : "");
}

int vfc_path_proc_fd(struct vfc_ctx *ctx, vfc_path_t out, pid_t pid, int fd)
{
	if (pid <= 0 || fd < 0)
		return -EINVAL;
	return build(ctx, out, "/proc/%d/fd/%d", (int)pid, fd);
}

int vfc_path_dev_vfio_cdev(struct vfc_ctx *ctx, vfc_path_t out, unsigned int n)
{
	return build(ctx, out, "/dev/vfio/devices/vfio%u", n);
}

/*
 * One write(2) of the whole value: sysfs attributes take a store in a single
 * call. Regular files (a --sysroot tree) are truncated first so that the file
 * shows the last value written, as the attribute would.
 */
int vfc_write_attr(struct vfc_ctx *ctx, const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t w;
	int fd, flags = O_WRONLY | O_CLOEXEC | O_NOCTTY;

	if (!vfc_is_live(ctx))
		flags |= O_TRUNC;
	fd = open(path, flags);
	if (fd < 0)
		return -errno;
	do
		w = write(fd, value, len);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		w = -errno;
		close(fd);
		return (int)w;
	}
	if (close(fd) < 0 && errno != EINTR)
		return -errno;
	return (size_t)w == len ? 0 : -EIO;
}

int vfc_path_persist(struct vfc_ctx *ctx, vfc_path_t out, const struct vfc_bdf *bdf)
{
	char b[VFC_BDF_STRLEN];

	if (!bdf)
		return build(ctx, out, VFC_PERSIST_DIR);
	vfc_bdf_format(bdf, b);
	return build(ctx, out, VFC_PERSIST_DIR "/%s", b);
}

int vfc_path_persist_rules(struct vfc_ctx *ctx, vfc_path_t out)
{
	return build(ctx, out, VFC_PERSIST_RULES);
}
