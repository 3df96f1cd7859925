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
