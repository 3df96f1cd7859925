// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bindings that survive a reboot.
 *
 * One small file per device under VFC_PERSIST_DIR, named by its address and
 * holding what the slot held (vendor:device), so that a different card put in
 * the same slot is never taken at boot. Files are replaced whole (written,
 * synced, renamed): a crash leaves the old file or the new one, never half.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define PERSIST_VERSION 1

VFC_EXPORT int vfc_persist_format(const struct vfc_persist *p, char *buf, size_t len)
{
	char b[VFC_BDF_STRLEN], owner[32] = "";
	int n;

	if (p->has_owner)
		snprintf(owner, sizeof(owner), "%u:%u", (unsigned int)p->uid, (unsigned int)p->gid);
	n = snprintf(buf, len,
		     "# vfioctl bind --persist: %s goes to vfio-pci at boot (" VFC_PERSIST_UNIT ")\n"
		     "# when its slot still holds the device below; 'vfioctl persist remove' ends it.\n"
		     "version=%d\nid=%04x:%04x\nowner=%s\nforce=%s\n",
		     vfc_bdf_format(&p->bdf, b), PERSIST_VERSION, p->vendor, p->device, owner,
		     p->force ? "yes" : "no");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

static bool parse_hex16(const char *s, size_t n, uint16_t *out)
{
	unsigned int v = 0;

	if (n != 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else
			return false;
	}
	*out = (uint16_t)v;
	return true;
}

static bool parse_id32(const char *s, size_t n, unsigned int *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v >= 0xffffffffUL)
		return false;
	*out = (unsigned int)v;
	return true;
}

static int bad(struct vfc_persist *p, const char *fmt, const char *what)
{
	snprintf(p->error, sizeof(p->error), fmt, what);
	return -EINVAL;
}

static int parse_kv(struct vfc_persist *p, const char *key, const char *v, unsigned int *seen)
{
	size_t n = strlen(v);
	const char *colon = strchr(v, ':');

	if (!strcmp(key, "version")) {
		if (strcmp(v, "1"))
			return bad(p, "version %.16s is not one this vfioctl reads", v);
		*seen |= 1;
	} else if (!strcmp(key, "id")) {
		if (!colon || !parse_hex16(v, (size_t)(colon - v), &p->vendor) ||
		    !parse_hex16(colon + 1, n - (size_t)(colon - v) - 1, &p->device))
			return bad(p, "id=%.32s is not VVVV:DDDD", v);
		*seen |= 2;
	} else if (!strcmp(key, "owner")) {
		unsigned int u, g;

		p->has_owner = n > 0;
		if (n && (!colon || !parse_id32(v, (size_t)(colon - v), &u) ||
			  !parse_id32(colon + 1, n - (size_t)(colon - v) - 1, &g)))
			return bad(p, "owner=%.32s is not UID:GID", v);
		if (n) {
			p->uid = (uid_t)u;
			p->gid = (gid_t)g;
		}
	} else if (!strcmp(key, "force")) {
		if (strcmp(v, "yes") && strcmp(v, "no"))
			return bad(p, "force=%.16s is neither yes nor no", v);
		p->force = !strcmp(v, "yes");
	} else {
		return bad(p, "unknown key '%.32s'", key);
	}
	return 0;
}

VFC_EXPORT int vfc_persist_parse(const char *text, struct vfc_persist *p)
{
	unsigned int seen = 0;
	const char *line = text;

	p->vendor = p->device = 0;
	p->has_owner = p->force = false;
	p->uid = 0;
	p->gid = 0;
	p->error[0] = '\0';
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[256], *eq;
		int e;

		if (len >= sizeof(buf))
			return bad(p, "%s", "a line is too long");
		memcpy(buf, line, len);
		buf[len] = '\0';
		line += len + (end ? 1 : 0);
		if (!buf[0] || buf[0] == '#')
			continue;
		eq = strchr(buf, '=');
		if (!eq)
			return bad(p, "line '%.64s' is not KEY=VALUE", buf);
		*eq = '\0';
		e = parse_kv(p, buf, eq + 1, &seen);
		if (e)
			return e;
	}
	if (!(seen & 1))
		return bad(p, "%s", "no version= line");
	if (!(seen & 2))
		return bad(p, "%s", "no id= line");
	return 0;
}

VFC_EXPORT int vfc_persist_load(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
				struct vfc_persist *p)
{
	char *text = NULL;
	vfc_path_t path;
	int e;

	memset(p, 0, sizeof(*p));
	p->bdf = *bdf;
	if (vfc_path_persist(ctx, path, bdf))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	e = vfc_slurp(path, &text, VFC_PERSIST_MAX);
	if (e == -ENOENT)
		return e;
	if (e)
		return vfc_fail(ctx, -e, NULL, "reading %s", vfc_path_strip(ctx, path));
	e = vfc_persist_parse(text, p);
	free(text);
	if (e)
		return vfc_fail(ctx, EINVAL, "fix it, or remove it with 'vfioctl persist remove'",
				"%s: %s", vfc_path_strip(ctx, path), p->error);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return vfc_bdf_cmp(&((const struct vfc_persist *)a)->bdf,
			   &((const struct vfc_persist *)b)->bdf);
}

VFC_EXPORT int vfc_persist_list(struct vfc_ctx *ctx, struct vfc_persist **out, size_t *n)
{
	struct vfc_persist *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	vfc_path_t dir;
	DIR *d;
	int e;

	*out = NULL;
	*n = 0;
	if (vfc_path_persist(ctx, dir, NULL))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	d = opendir(dir);
	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return vfc_fail(ctx, errno, NULL, "reading %s", VFC_PERSIST_DIR);
	while ((de = readdir(d))) {
		struct vfc_bdf bdf;
		char b[VFC_BDF_STRLEN];

		if (de->d_name[0] == '.')
			continue;
		/* only canonical names are ours; a .tmp or an editor's backup is not */
		if (vfc_bdf_parse(de->d_name, &bdf) || strcmp(vfc_bdf_format(&bdf, b), de->d_name))
			continue;
		if (cnt == cap) {
			struct vfc_persist *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				closedir(d);
				free(v);
				return vfc_fail(ctx, ENOMEM, NULL, "listing %s", VFC_PERSIST_DIR);
			}
			v = nv;
		}
		e = vfc_persist_load(ctx, &bdf, &v[cnt]);
		if (e == -ENOENT)
			continue; /* removed while we read */
		if (e && !v[cnt].error[0])
			snprintf(v[cnt].error, sizeof(v[cnt].error), "%.159s", ctx->errmsg);
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_entry);
	*out = v;
	*n = cnt;
	return 0;
}

VFC_EXPORT int vfc_persist_save(struct vfc_ctx *ctx, const struct vfc_persist *p)
{
	char text[VFC_PERSIST_MAX];
	vfc_path_t path;
	int e, n = vfc_persist_format(p, text, sizeof(text));

	if (n < 0 || vfc_path_persist(ctx, path, &p->bdf))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	e = vfc_ensure_dir(ctx, "/etc/vfioctl");
	if (!e)
		e = vfc_ensure_dir(ctx, VFC_PERSIST_DIR);
	return e ? e : vfc_file_replace(ctx, path, text, (size_t)n);
}

VFC_EXPORT int vfc_persist_remove(struct vfc_ctx *ctx, const struct vfc_bdf *bdf)
{
	vfc_path_t path;

	if (vfc_path_persist(ctx, path, bdf))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return -ENOENT;
	return vfc_file_remove(ctx, path);
}

/*
 * One rule per owned device's group, by the group's current number: udev
 * gives the node its owner whenever it (re)appears, e.g. after vfio is
 * reloaded. Written under /run: group numbers are only true for this boot.
 */
VFC_EXPORT int vfc_persist_write_rules(struct vfc_ctx *ctx)
{
	struct vfc_persist *v;
	size_t n, used = 0, cap = 4096;
	vfc_path_t path;
	char *text;
	int e = vfc_persist_list(ctx, &v, &n);

	if (e)
		return e;
	if (vfc_path_persist_rules(ctx, path)) {
		free(v);
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	}
	text = malloc(cap);
	if (!text) {
		free(v);
		return vfc_fail(ctx, ENOMEM, NULL, "udev rules");
	}
	used = (size_t)snprintf(text, cap,
				"# Written by vfioctl from " VFC_PERSIST_DIR " for this boot's group numbers.\n");
	for (size_t i = 0; i < n; i++) {
		struct vfc_device d;
		char b[VFC_BDF_STRLEN];
		int w;

		if (v[i].error[0] || !v[i].has_owner || vfc_device_read(ctx, &v[i].bdf, &d) ||
		    d.group < 0)
			continue;
		w = snprintf(text + used, cap - used,
			     "# %s\nSUBSYSTEM==\"vfio\", KERNEL==\"%d\", OWNER=\"%u\", GROUP=\"%u\", MODE=\"0660\"\n",
			     vfc_bdf_format(&v[i].bdf, b), d.group, (unsigned int)v[i].uid,
			     (unsigned int)v[i].gid);
		if (w < 0 || (size_t)w >= cap - used) {
			free(text);
			free(v);
			return vfc_fail(ctx, ENOSPC, NULL, "too many owners for %s", VFC_PERSIST_RULES);
		}
		used += (size_t)w;
	}
	e = 0;
	for (size_t i = 0; i < n && !e; i++)
		e = !v[i].error[0] && v[i].has_owner;
	if (!e) {
		e = vfc_file_remove(ctx, path);
	} else {
		e = vfc_ensure_dir(ctx, "/run/udev");
		if (!e)
			e = vfc_ensure_dir(ctx, "/run/udev/rules.d");
		if (!e)
			e = vfc_file_replace(ctx, path, text, used);
	}
	free(text);
	free(v);
	return e;
}

VFC_EXPORT bool vfc_persist_unit_enabled(struct vfc_ctx *ctx)
{
	static const char *const dirs[] = {
		"/etc/systemd/system/sysinit.target.wants/",
		"/usr/lib/systemd/system/sysinit.target.wants/",
		"/lib/systemd/system/sysinit.target.wants/",
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char abs[128];
		struct stat st;
		vfc_path_t p;

		/* the link itself: its absolute target only resolves on the running system */
		snprintf(abs, sizeof(abs), "%s%s", dirs[i], VFC_PERSIST_UNIT);
		if (!vfc_path_root(ctx, p, abs) && lstat(p, &st) == 0)
			return true;
	}
	return false;
}
