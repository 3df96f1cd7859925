// SPDX-License-Identifier: LGPL-2.1-or-later
/* IOMMU groups: members, type, reserved regions and VFIO viability. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

VFC_EXPORT bool vfc_driver_is_vfio(const char *driver)
{
	size_t n = driver ? strlen(driver) : 0;

	if (n && !strcmp(driver, "vfio-pci"))
		return true;
	/* vendor variant drivers of vfio-pci: mlx5_vfio_pci, hisi_acc_vfio_pci... */
	return n > 9 && !strcmp(driver + n - 9, "_vfio_pci");
}

VFC_EXPORT bool vfc_driver_keeps_viable(const char *driver)
{
	/* pci-stub and pcieport claim devices without doing DMA of their own */
	return !driver || !*driver || vfc_driver_is_vfio(driver) ||
	       !strcmp(driver, "pci-stub") || !strcmp(driver, "pcieport");
}

VFC_EXPORT bool vfc_group_viable(const struct vfc_device *devs, size_t n,
				 int *blocker)
{
	*blocker = -1;
	for (size_t i = 0; i < n; i++) {
		/* bridges only route DMA; the kernel does not ask them to be unbound */
		if (devs[i].is_bridge)
			continue;
		if (!vfc_driver_keeps_viable(devs[i].driver)) {
			*blocker = (int)i;
			return false;
		}
	}
	return true;
}

VFC_EXPORT void vfc_group_clear(struct vfc_group *g)
{
	free(g->devices);
	free(g->resv);
	memset(g, 0, sizeof(*g));
}

static int read_members(struct vfc_ctx *ctx, struct vfc_group *g)
{
	struct dirent *de;
	vfc_path_t p;
	DIR *dir;
	int r = vfc_path_group(ctx, p, (unsigned int)g->id, "devices");

	if (r)
		return vfc_fail(ctx, r, NULL, "path too long");
	dir = opendir(p);
	if (!dir)
		return vfc_fail(ctx, errno, NULL, "IOMMU group %d: listing %s", g->id,
				vfc_path_strip(ctx, p));
	while ((de = readdir(dir))) {
		struct vfc_device d;
		struct vfc_bdf bdf;

		if (de->d_name[0] == '.')
			continue;
		/* groups can hold non-PCI devices (platform, ACPI); list only PCI */
		if (vfc_bdf_parse(de->d_name, &bdf)) {
			vfc_log(ctx, LOG_INFO, "IOMMU group %d: ignoring non-PCI member %s",
				g->id, de->d_name);
			continue;
		}
		r = vfc_device_read(ctx, &bdf, &d);
		/* the group exists: a member it names but sysfs lacks is damage */
		if (r == -ENODEV)
			r = vfc_fail(ctx, ENOENT, "the sysfs tree is damaged",
				     "IOMMU group %d: member %s is not in /sys/bus/pci/devices",
				     g->id, de->d_name);
		if (!r && vfc_array_push((void **)&g->devices, &g->ndevices,
					 sizeof(d), &d))
			r = vfc_fail(ctx, ENOMEM, NULL, "reading group");
		if (r) {
			closedir(dir);
			return r;
		}
	}
	closedir(dir);
	if (g->ndevices > 1) {
		/* readdir order is arbitrary; members are shown sorted */
		for (size_t i = 1; i < g->ndevices; i++)
			for (size_t j = i; j > 0 && vfc_bdf_cmp(&g->devices[j - 1].bdf,
								&g->devices[j].bdf) > 0; j--) {
				struct vfc_device t = g->devices[j];

				g->devices[j] = g->devices[j - 1];
				g->devices[j - 1] = t;
			}
	}
	return 0;
}

VFC_EXPORT int vfc_group_read(struct vfc_ctx *ctx, unsigned int id,
			      struct vfc_group *g)
{
	char *text = NULL;
	vfc_path_t p;
	int r;

	memset(g, 0, sizeof(*g));
	g->id = (int)id;
	g->blocker = -1;
	r = vfc_path_group(ctx, p, id, NULL);
	if (r)
		return vfc_fail(ctx, r, NULL, "path too long");
	if (access(p, F_OK) < 0)
		return vfc_fail(ctx, errno == ENOENT ? ENODEV : errno,
				"'vfioctl group' lists the IOMMU groups",
				"no IOMMU group %u", id);

	r = read_members(ctx, g);
	if (r)
		goto fail;

	/* "type" appeared in 5.11; older kernels simply do not say */
	if (vfc_path_group(ctx, p, id, "type") == 0 &&
	    vfc_read_line(p, g->type, sizeof(g->type)) < 0)
		g->type[0] = '\0';

	r = vfc_path_group(ctx, p, id, "reserved_regions");
	if (!r)
		r = vfc_slurp(p, &text, 1 << 16);
	if (r == 0) {
		r = vfc_resv_regions_parse(text, &g->resv, &g->nresv);
		free(text);
		if (r) {
			r = vfc_fail(ctx, r, "the sysfs tree is damaged",
				     "IOMMU group %u: malformed %s", id,
				     vfc_path_strip(ctx, p));
			goto fail;
		}
	} else if (r != -ENOENT) {
		r = vfc_fail(ctx, r, NULL, "IOMMU group %u: reading %s", id,
			     vfc_path_strip(ctx, p));
		goto fail;
	}
	g->viable = vfc_group_viable(g->devices, g->ndevices, &g->blocker);
	return 0;
fail:
	vfc_group_clear(g);
	return r;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

VFC_EXPORT int vfc_group_list(struct vfc_ctx *ctx, unsigned int **ids, size_t *n)
{
	unsigned int *arr = NULL;
	size_t cnt = 0;
	struct dirent *de;
	vfc_path_t p;
	DIR *dir;
	int r = vfc_path_root(ctx, p, "/sys/kernel/iommu_groups");

	*ids = NULL;
	*n = 0;
	if (r)
		return vfc_fail(ctx, r, NULL, "path too long");
	dir = opendir(p);
	if (!dir) {
		/* no directory at all: the kernel has no IOMMU support, so no groups */
		if (errno == ENOENT)
			return 0;
		return vfc_fail(ctx, errno, NULL, "listing %s", vfc_path_strip(ctx, p));
	}
	while ((de = readdir(dir))) {
		unsigned int id;

		if (de->d_name[0] == '.')
			continue;
		if (vfc_group_parse(de->d_name, &id)) {
			vfc_log(ctx, LOG_WARNING, "ignoring '%s' in %s: not a group number",
				de->d_name, vfc_path_strip(ctx, p));
			continue;
		}
		if (vfc_array_push((void **)&arr, &cnt, sizeof(id), &id)) {
			closedir(dir);
			free(arr);
			return vfc_fail(ctx, ENOMEM, NULL, "listing groups");
		}
	}
	closedir(dir);
	if (cnt)
		qsort(arr, cnt, sizeof(*arr), cmp_uint);
	*ids = arr;
	*n = cnt;
	return 0;
}
