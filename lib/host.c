// SPDX-License-Identifier: LGPL-2.1-or-later
/* Facts about the host that decide whether VFIO can work. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "internal.h"

#define CAP_IPC_LOCK_BIT 14
#define DMAR_ECAP_IR (1ULL << 3) /* VT-d extended capability: interrupt remapping */

static bool exists(struct vfc_ctx *ctx, const char *abs)
{
	vfc_path_t p;

	return vfc_path_root(ctx, p, abs) == 0 && access(p, F_OK) == 0;
}

/* The value of the last "key=value" on the command line (the kernel's rule). */
static void cmdline_opt(const char *cmdline, const char *key, char *out,
			size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	out[0] = '\0';
	while (*p) {
		size_t wlen;

		p += strspn(p, " \t\n");
		wlen = strcspn(p, " \t\n");
		if (wlen > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			size_t vlen = wlen - klen - 1;

			if (vlen >= len)
				vlen = len - 1;
			memcpy(out, p + klen + 1, vlen);
			out[vlen] = '\0';
		}
		p += wlen;
	}
}

static void read_release_cmdline(struct vfc_ctx *ctx, struct vfc_host *h)
{
	vfc_path_t p;
	struct utsname u;

	if (vfc_path_root(ctx, p, "/proc/sys/kernel/osrelease") ||
	    vfc_read_line(p, h->kernel_release, sizeof(h->kernel_release)) < 0) {
		h->kernel_release[0] = '\0';
		if (vfc_is_live(ctx) && uname(&u) == 0)
			snprintf(h->kernel_release, sizeof(h->kernel_release), "%s",
				 u.release);
	}
	h->cmdline_read = vfc_path_root(ctx, p, "/proc/cmdline") == 0 &&
			  vfc_read_line(p, h->cmdline, sizeof(h->cmdline)) == 0;
	if (!h->cmdline_read)
		h->cmdline[0] = '\0';
	cmdline_opt(h->cmdline, "intel_iommu", h->intel_iommu, sizeof(h->intel_iommu));
	cmdline_opt(h->cmdline, "amd_iommu", h->amd_iommu, sizeof(h->amd_iommu));
	cmdline_opt(h->cmdline, "iommu", h->iommu, sizeof(h->iommu));
}

static void read_iommu_units(struct vfc_ctx *ctx, struct vfc_host *h)
{
	struct dirent *de;
	vfc_path_t p;
	DIR *dir;
	int ir_yes = 0, ir_no = 0;

	h->acpi_dmar = exists(ctx, "/sys/firmware/acpi/tables/DMAR");
	h->acpi_ivrs = exists(ctx, "/sys/firmware/acpi/tables/IVRS");
	h->vendor = h->acpi_dmar ? VFC_IOMMU_INTEL :
		    h->acpi_ivrs ? VFC_IOMMU_AMD : VFC_IOMMU_NONE;
	h->intr_remap = -1;
	if (vfc_path_root(ctx, p, "/sys/class/iommu") || !(dir = opendir(p)))
		return;
	while ((de = readdir(dir))) {
		uint64_t ecap;

		/* CONFIG_IOMMUFD_TEST's mock IOMMU translates nothing of the machine's */
		if (de->d_name[0] == '.' || !strncmp(de->d_name, "iommufd_selftest", 16))
			continue;
		h->iommu_units++;
		if (!strncmp(de->d_name, "dmar", 4)) {
			h->vendor = VFC_IOMMU_INTEL;
			if (vfc_path_iommu_unit(ctx, p, de->d_name, "intel-iommu/ecap") == 0 &&
			    vfc_read_u64(p, 16, &ecap) == 0)
				(ecap & DMAR_ECAP_IR) ? ir_yes++ : ir_no++;
		} else if (!strncmp(de->d_name, "ivhd", 4)) {
			h->vendor = VFC_IOMMU_AMD;
		} else if (h->vendor == VFC_IOMMU_NONE) {
			h->vendor = VFC_IOMMU_OTHER;
		}
	}
	closedir(dir);
	if (ir_no)
		h->intr_remap = 0;
	else if (ir_yes)
		h->intr_remap = 1;
}

static int param_bool(struct vfc_ctx *ctx, const char *mod, const char *param)
{
	vfc_path_t p;
	int r;

	if (vfc_path_module_param(ctx, p, mod, param))
		return -1;
	r = vfc_read_bool_param(p);
	return r < 0 ? -1 : r;
}

static void read_node(struct vfc_ctx *ctx, const char *abs, struct vfc_node_mode *n)
{
	struct stat st;
	vfc_path_t p;

	memset(n, 0, sizeof(*n));
	if (vfc_path_root(ctx, p, abs) || stat(p, &st) < 0)
		return;
	n->present = true;
	n->mode = st.st_mode & 07777;
	n->uid = st.st_uid;
	n->gid = st.st_gid;
}

static int read_pool_dir(struct vfc_ctx *ctx, struct vfc_host *h, int node)
{
	struct dirent *de;
	vfc_path_t p;
	DIR *dir;

	if (vfc_path_hugepages(ctx, p, node, NULL, NULL) || !(dir = opendir(p)))
		return 0;
	while ((de = readdir(dir))) {
		struct vfc_hugepages hp = { .node = node };
		unsigned long kb;
		char tail[8];

		if (sscanf(de->d_name, "hugepages-%lukB%7s", &kb, tail) != 1)
			continue;
		hp.page_size = (uint64_t)kb << 10;
		if (vfc_path_hugepages(ctx, p, node, de->d_name, "nr_hugepages") ||
		    vfc_read_u64(p, 10, &hp.nr) ||
		    vfc_path_hugepages(ctx, p, node, de->d_name, "free_hugepages") ||
		    vfc_read_u64(p, 10, &hp.nr_free)) {
			vfc_log(ctx, LOG_WARNING, "unreadable hugepage pool %s", de->d_name);
			continue;
		}
		if (vfc_array_push((void **)&h->hugepages, &h->nhugepages, sizeof(hp), &hp)) {
			closedir(dir);
			return -ENOMEM;
		}
	}
	closedir(dir);
	return 0;
}

static int cmp_pool(const void *a, const void *b)
{
	const struct vfc_hugepages *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->page_size < y->page_size ? -1 : x->page_size > y->page_size;
}

static int read_hugepages(struct vfc_ctx *ctx, struct vfc_host *h)
{
	int r = read_pool_dir(ctx, h, -1);

	for (int node = 0; !r && node < 1024; node++) {
		vfc_path_t p;
		char rel[64];

		snprintf(rel, sizeof(rel), "/sys/devices/system/node/node%d", node);
		if (vfc_path_root(ctx, p, rel) || access(p, F_OK) < 0)
			break;
		r = read_pool_dir(ctx, h, node);
	}
	if (h->nhugepages)
		qsort(h->hugepages, h->nhugepages, sizeof(*h->hugepages), cmp_pool);
	return r;
}

static void read_self_limits(struct vfc_ctx *ctx, struct vfc_host *h)
{
	struct vfc_proc_status st;
	char *text = NULL;
	vfc_path_t p;

	h->memlock_soft = h->memlock_hard = 0;
	if (vfc_path_proc(ctx, p, 0, "limits") == 0 && vfc_slurp(p, &text, 1 << 16) == 0) {
		h->memlock_known = vfc_proc_limits_memlock_parse(text, &h->memlock_soft,
								 &h->memlock_hard) == 0;
		if (!h->memlock_known)
			vfc_log(ctx, LOG_WARNING, "%s: no readable 'Max locked memory' row",
				vfc_path_strip(ctx, p));
		free(text);
		text = NULL;
	}
	if (vfc_path_proc(ctx, p, 0, "status") == 0 && vfc_slurp(p, &text, 1 << 16) == 0) {
		if (vfc_proc_status_parse(text, &st) == 0 && st.have_cap_eff)
			h->cap_ipc_lock = st.cap_eff & (1ULL << CAP_IPC_LOCK_BIT);
		free(text);
	}
}

VFC_EXPORT int vfc_host_read(struct vfc_ctx *ctx, struct vfc_host *h)
{
	unsigned int *ids = NULL;
	size_t nids = 0;
	vfc_path_t p;
	int r;

	memset(h, 0, sizeof(*h));
	read_release_cmdline(ctx, h);
	read_iommu_units(ctx, h);
	r = vfc_group_list(ctx, &ids, &nids);
	if (r)
		return r;
	free(ids);
	h->ngroups = (int)nids;

	vfc_modules_read(ctx, h->kernel_release, h->modules);
	h->type1_dma_entry_limit = -1;
	if (vfc_path_module_param(ctx, p, "vfio_iommu_type1", "dma_entry_limit") == 0)
		vfc_read_int(p, &h->type1_dma_entry_limit);
	h->type1_allow_unsafe_interrupts =
		param_bool(ctx, "vfio_iommu_type1", "allow_unsafe_interrupts");
	h->type1_disable_hugepages = param_bool(ctx, "vfio_iommu_type1", "disable_hugepages");
	h->noiommu = param_bool(ctx, "vfio", "enable_unsafe_noiommu_mode");

	read_node(ctx, "/dev/vfio/vfio", &h->dev_vfio);
	read_node(ctx, "/dev/iommu", &h->dev_iommu);
	r = read_hugepages(ctx, h);
	if (r) {
		vfc_host_clear(h);
		return vfc_fail(ctx, r, NULL, "reading hugepage pools");
	}
	read_self_limits(ctx, h);
	return 0;
}

VFC_EXPORT void vfc_host_clear(struct vfc_host *h)
{
	free(h->hugepages);
	h->hugepages = NULL;
	h->nhugepages = 0;
}
