// SPDX-License-Identifier: LGPL-2.1-or-later
/* PCI devices as sysfs describes them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define PCI_CLASS_BRIDGE_PCI 0x0604
#define PCI_CLASS_BRIDGE_PCI_SEMI 0x0609

static int read_hex_attr(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
			 const char *leaf, uint64_t max, uint64_t *out)
{
	char b[VFC_BDF_STRLEN], raw[64] = "";
	vfc_path_t p;
	int r;

	r = vfc_path_pci_dev(ctx, p, bdf, leaf);
	if (!r)
		r = vfc_read_line(p, raw, sizeof(raw));
	if (r == 0) {
		r = vfc_parse_u64(raw, 16, out);
		if (!r && *out > max)
			r = -ERANGE;
		if (r)
			return vfc_fail(ctx, EINVAL, "the sysfs tree is damaged or not a PCI device",
					"%s: malformed %s '%s' in %s",
					vfc_bdf_format(bdf, b), leaf, raw,
					vfc_path_strip(ctx, p));
	}
	if (r)
		return vfc_fail(ctx, r, NULL, "%s: reading %s",
				vfc_bdf_format(bdf, b), vfc_path_strip(ctx, p));
	return 0;
}

/* A symlink's basename, or "" when the link does not exist. */
static int read_optional_link(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
			      const char *leaf, char *buf, size_t len)
{
	char b[VFC_BDF_STRLEN];
	vfc_path_t p;
	int r = vfc_path_pci_dev(ctx, p, bdf, leaf);

	buf[0] = '\0';
	if (!r)
		r = vfc_read_link_name(p, buf, len);
	if (r == -ENOENT)
		return 0;
	if (r)
		return vfc_fail(ctx, r, NULL, "%s: reading link %s",
				vfc_bdf_format(bdf, b), vfc_path_strip(ctx, p));
	return 1;
}

static int read_bars(struct vfc_ctx *ctx, struct vfc_device *d)
{
	char b[VFC_BDF_STRLEN], *text = NULL, *line, *save = NULL;
	vfc_path_t p;
	int r, i = 0;

	r = vfc_path_pci_dev(ctx, p, &d->bdf, "resource");
	if (!r)
		r = vfc_slurp(p, &text, 1 << 16);
	if (r == -ENOENT)
		return 0;
	if (r)
		return vfc_fail(ctx, r, NULL, "%s: reading %s",
				vfc_bdf_format(&d->bdf, b), vfc_path_strip(ctx, p));
	for (line = strtok_r(text, "\n", &save); line && i < VFC_MAX_BARS;
	     line = strtok_r(NULL, "\n", &save), i++) {
		unsigned long long start, end, flags;
		int used = 0;

		if (sscanf(line, "%llx %llx %llx%n", &start, &end, &flags, &used) != 3 ||
		    line[used] != '\0' || end < start) {
			free(text);
			return vfc_fail(ctx, EINVAL, "the sysfs tree is damaged",
					"%s: malformed line %d of %s",
					vfc_bdf_format(&d->bdf, b), i + 1,
					vfc_path_strip(ctx, p));
		}
		d->bars[i].start = start;
		d->bars[i].flags = flags;
		d->bars[i].size = (start || end) ? end - start + 1 : 0;
	}
	free(text);
	return 0;
}

static int read_sriov(struct vfc_ctx *ctx, struct vfc_device *d)
{
	char name[VFC_BDF_STRLEN + 8], b[VFC_BDF_STRLEN];
	vfc_path_t p;
	int r;

	d->sriov_numvfs = d->sriov_totalvfs = -1;
	r = read_optional_link(ctx, &d->bdf, "physfn", name, sizeof(name));
	if (r < 0)
		return r;
	if (r > 0) {
		if (vfc_bdf_parse(name, &d->physfn))
			return vfc_fail(ctx, EINVAL, NULL, "%s: physfn points to '%s'",
					vfc_bdf_format(&d->bdf, b), name);
		d->sriov_role = VFC_SRIOV_VF;
		return 0;
	}
	r = vfc_path_pci_dev(ctx, p, &d->bdf, "sriov_totalvfs");
	if (!r)
		r = vfc_read_int(p, &d->sriov_totalvfs);
	if (r == -ENOENT)
		return 0;
	if (!r) {
		r = vfc_path_pci_dev(ctx, p, &d->bdf, "sriov_numvfs");
		if (!r)
			r = vfc_read_int(p, &d->sriov_numvfs);
	}
	if (r)
		return vfc_fail(ctx, r, NULL, "%s: reading %s",
				vfc_bdf_format(&d->bdf, b), vfc_path_strip(ctx, p));
	d->sriov_role = VFC_SRIOV_PF;
	return 0;
}

static int read_ids(struct vfc_ctx *ctx, struct vfc_device *d)
{
	uint64_t v[4], cls;
	static const char *const leaf[4] = { "vendor", "device",
		"subsystem_vendor", "subsystem_device" };
	int r;

	for (int i = 0; i < 4; i++) {
		r = read_hex_attr(ctx, &d->bdf, leaf[i], 0xffff, &v[i]);
		/* some functions (e.g. host bridges in old kernels) lack subsystem ids */
		if (r == -ENOENT && i >= 2) {
			v[i] = 0;
			continue;
		}
		if (r)
			return r;
	}
	r = read_hex_attr(ctx, &d->bdf, "class", 0xffffff, &cls);
	if (r)
		return r;
	d->vendor = (uint16_t)v[0];
	d->device = (uint16_t)v[1];
	d->subvendor = (uint16_t)v[2];
	d->subdevice = (uint16_t)v[3];
	d->class = (uint32_t)cls;
	d->is_bridge = (d->class >> 8) == PCI_CLASS_BRIDGE_PCI ||
		       (d->class >> 8) == PCI_CLASS_BRIDGE_PCI_SEMI;
	return 0;
}

static int read_small_attrs(struct vfc_ctx *ctx, struct vfc_device *d)
{
	char b[VFC_BDF_STRLEN], grp[16];
	vfc_path_t p;
	unsigned int g;
	int r, vga;

	r = read_optional_link(ctx, &d->bdf, "driver", d->driver, sizeof(d->driver));
	if (r < 0)
		return r;
	r = read_optional_link(ctx, &d->bdf, "iommu_group", grp, sizeof(grp));
	if (r < 0)
		return r;
	d->group = -1;
	if (r > 0) {
		if (vfc_group_parse(grp, &g))
			return vfc_fail(ctx, EINVAL, NULL, "%s: iommu_group points to '%s'",
					vfc_bdf_format(&d->bdf, b), grp);
		d->group = (int)g;
	}

	/* absent before 3.16; "(null)" when unset */
	r = vfc_path_pci_dev(ctx, p, &d->bdf, "driver_override");
	if (!r)
		r = vfc_read_line(p, d->driver_override, sizeof(d->driver_override));
	if (r == -ENOENT || !strcmp(d->driver_override, "(null)"))
		d->driver_override[0] = '\0';
	else if (r)
		return vfc_fail(ctx, r, NULL, "%s: reading %s",
				vfc_bdf_format(&d->bdf, b), vfc_path_strip(ctx, p));

	d->numa_node = -1;
	r = vfc_path_pci_dev(ctx, p, &d->bdf, "numa_node");
	if (!r)
		r = vfc_read_int(p, &d->numa_node);
	if (r == -EINVAL || (!r && d->numa_node < -1))
		return vfc_fail(ctx, EINVAL, "the sysfs tree is damaged",
				"%s: malformed numa_node in %s (want a node number or -1)",
				vfc_bdf_format(&d->bdf, b), vfc_path_strip(ctx, p));
	if (r && r != -ENOENT)
		return vfc_fail(ctx, r, NULL, "%s: reading %s",
				vfc_bdf_format(&d->bdf, b), vfc_path_strip(ctx, p));

	r = vfc_path_pci_dev(ctx, p, &d->bdf, "boot_vga");
	if (!r)
		r = vfc_read_int(p, &vga);
	d->boot_vga = r == 0 && vga == 1;
	return 0;
}

VFC_EXPORT int vfc_device_read(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
			       struct vfc_device *out)
{
	char b[VFC_BDF_STRLEN];
	struct stat st;
	vfc_path_t p;
	int r;

	memset(out, 0, sizeof(*out));
	out->bdf = *bdf;
	r = vfc_path_pci_dev(ctx, p, bdf, NULL);
	if (r)
		return vfc_fail(ctx, r, NULL, "path too long");
	if (stat(p, &st) < 0) {
		if (errno == ENOENT)
			return vfc_fail(ctx, ENODEV, "'vfioctl list' shows the PCI devices",
					"no PCI device %s", vfc_bdf_format(bdf, b));
		return vfc_fail(ctx, errno, NULL, "%s", vfc_path_strip(ctx, p));
	}
	r = read_ids(ctx, out);
	if (!r)
		r = read_small_attrs(ctx, out);
	if (!r)
		r = read_bars(ctx, out);
	if (!r)
		r = read_sriov(ctx, out);
	if (r)
		return r;
	if (!ctx->skip_names)
		vfc_names_lookup(ctx, out);
	return 0;
}

static int cmp_dev(const void *a, const void *b)
{
	return vfc_bdf_cmp(&((const struct vfc_device *)a)->bdf,
			   &((const struct vfc_device *)b)->bdf);
}

VFC_EXPORT int vfc_device_list(struct vfc_ctx *ctx, struct vfc_device **out,
			       size_t *n, size_t *nskipped)
{
	struct vfc_device *arr = NULL;
	struct dirent *de;
	size_t cnt = 0, skipped = 0;
	vfc_path_t p;
	DIR *dir;
	int r = vfc_path_root(ctx, p, "/sys/bus/pci/devices");

	*out = NULL;
	*n = 0;
	if (nskipped)
		*nskipped = 0;
	if (r)
		return vfc_fail(ctx, r, NULL, "path too long");
	dir = opendir(p);
	if (!dir)
		return vfc_fail(ctx, errno, errno == ENOENT ? "is sysfs mounted, and is this a PCI system?" : NULL,
				"listing %s", vfc_path_strip(ctx, p));
	while ((de = readdir(dir))) {
		struct vfc_device d;
		struct vfc_bdf bdf;

		if (de->d_name[0] == '.')
			continue;
		if (vfc_bdf_parse(de->d_name, &bdf)) {
			vfc_log(ctx, LOG_WARNING, "ignoring '%s' in %s: not a PCI address",
				de->d_name, vfc_path_strip(ctx, p));
			skipped++;
			continue;
		}
		r = vfc_device_read(ctx, &bdf, &d);
		if (r) {
			/* the message names the device already */
			vfc_log(ctx, LOG_WARNING, "skipped: %s", vfc_errmsg(ctx));
			skipped++;
			continue;
		}
		if (vfc_array_push((void **)&arr, &cnt, sizeof(d), &d)) {
			closedir(dir);
			free(arr);
			return vfc_fail(ctx, ENOMEM, NULL, "listing devices");
		}
	}
	closedir(dir);
	if (cnt)
		qsort(arr, cnt, sizeof(*arr), cmp_dev);
	*out = arr;
	*n = cnt;
	if (nskipped)
		*nskipped = skipped;
	return 0;
}

/* "vfio12" -> 12; anything else is not a VFIO cdev name. */
static bool cdev_name(const char *name, unsigned int *n)
{
	const char *num = name + 4;

	return !strncmp(name, "vfio", 4) && *num && strspn(num, "0123456789") == strlen(num) &&
	       strlen(num) < 10 && sscanf(num, "%u", n) == 1;
}

int vfc_device_cdev(struct vfc_ctx *ctx, const struct vfc_bdf *bdf, unsigned int *n)
{
	struct dirent *de;
	vfc_path_t p;
	DIR *dir;
	int r = -ENOENT;

	/* the cdev (6.6+) is named in the device's vfio-dev directory */
	if (vfc_path_pci_dev(ctx, p, bdf, "vfio-dev"))
		return -ENAMETOOLONG;
	dir = opendir(p);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)) && r)
		if (cdev_name(de->d_name, n))
			r = 0;
	closedir(dir);
	return r;
}

VFC_EXPORT int vfc_device_vfio_nodes(struct vfc_ctx *ctx,
				     const struct vfc_device *dev,
				     char *group_node, size_t glen,
				     char *cdev_node, size_t clen)
{
	unsigned int n;
	vfc_path_t p;

	group_node[0] = cdev_node[0] = '\0';
	if (dev->group >= 0 &&
	    vfc_path_dev_vfio_group(ctx, p, (unsigned int)dev->group) == 0 &&
	    access(p, F_OK) == 0)
		snprintf(group_node, glen, "%s", vfc_path_strip(ctx, p));
	/* named by sysfs even where udev has not made the node (yet) */
	if (vfc_device_cdev(ctx, &dev->bdf, &n) == 0 &&
	    vfc_path_dev_vfio_cdev(ctx, p, n) == 0)
		snprintf(cdev_node, clen, "%s", vfc_path_strip(ctx, p));
	return 0;
}

VFC_EXPORT int vfc_device_command(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
				  uint16_t *cmd)
{
	char b[VFC_BDF_STRLEN];
	uint8_t cfg[6];
	vfc_path_t p;
	ssize_t got = -ENAMETOOLONG;
	int fd;

	vfc_bdf_format(bdf, b);
	/* binary: the bytes themselves, not a line of text */
	if (!vfc_path_pci_dev(ctx, p, bdf, "config")) {
		fd = open(p, O_RDONLY | O_CLOEXEC);
		got = fd < 0 ? -errno : pread(fd, cfg, sizeof(cfg), 0);
		if (got < 0 && fd >= 0)
			got = -errno;
		if (fd >= 0)
			close(fd);
	}
	if (got < 0)
		return vfc_fail(ctx, (int)-got, NULL, "%s: reading its PCI config space", b);
	if (got < (ssize_t)sizeof(cfg))
		return vfc_fail(ctx, EIO, NULL, "%s: its config space is %zd bytes", b, got);
	*cmd = (uint16_t)(cfg[4] | cfg[5] << 8); /* little-endian, as PCI is */
	return 0;
}
