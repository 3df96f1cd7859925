// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl map, before anything is allocated or mapped: open the container
 * with the groups, open the BAR's device, lay every mapping out in the IOVA
 * space and check each one against what the kernel would refuse, so that a
 * bad IOVA is explained before memory is touched.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "map.h"

static int lib_error(struct map_run *rn, int err)
{
	report_error(rn->ctx, err);
	return iommu_exit_code(err);
}

static int open_container(struct map_run *rn)
{
	struct target t[2] = { rn->o->dev, rn->o->bar_dev };
	size_t n = rn->o->bar >= 0 && rn->o->bar_dev.group != rn->o->dev.group ? 2 : 1;
	int rc, r = vfc_iommu_open(rn->ctx, rn->o->backend, &rn->io);

	if (r)
		return lib_error(rn, r);
	/* the BAR's group joins the same container: that is what makes it P2P */
	rc = targets_attach(rn->io, t, n);
	if (rc >= 0)
		return rc;
	/* before the first map, as the kernel wants; info then shows it took */
	if (rn->o->no_huge_pages && (r = vfc_iommu_set_huge_pages(rn->io, false)))
		return lib_error(rn, r);
	r = vfc_iommu_info(rn->io, &rn->info);
	return r ? lib_error(rn, r) : -1;
}

/* How RAM of this backing goes in: by descriptor where iommufd can. */
static void ram_way(const struct map_run *rn, struct item *it)
{
	bool memfd = rn->backing.kind == VFC_MEM_MEMFD || rn->backing.kind == VFC_MEM_MEMFD_HUGETLB;

	it->how = "pin";
	if (rn->o->mode == MODE_IOPF) {
		/* the fault thread maps the faulting pages by address */
		it->how = "iopf";
		it->ioctl = "IOAS_MAP on fault";
		return;
	}
	if (rn->o->backend != VFC_BACKEND_IOMMUFD) {
		it->ioctl = "MAP_DMA";
		return;
	}
	it->by_file = memfd;
	it->ioctl = memfd ? "IOAS_MAP_FILE" : "IOAS_MAP";
}

/* ---- the items ---- */

static int new_items(struct map_run *rn, size_t nram, uint64_t last)
{
	const struct map_opts *o = rn->o;
	size_t n = nram + (o->bar >= 0);

	rn->items = calloc(n, sizeof(*rn->items));
	if (!rn->items)
		return -ENOMEM;
	rn->nitems = n;
	rn->nram = nram;
	for (size_t i = 0; i < n; i++) {
		struct item *it = &rn->items[i];

		it->bar = i >= nram;
		if (it->bar)
			snprintf(it->name, sizeof(it->name), "bar%d", o->bar);
		else
			snprintf(it->name, sizeof(it->name), "ram%zu", i);
		it->size = i + 1 == nram ? last : o->chunk ? o->chunk : o->size;
		it->flags = VFC_MAP_RW;
		it->dmabuf = -1;
		ram_way(rn, it);
		it->lck_before = it->lck_after = it->pin_before = it->pin_after = -1;
		it->avail_before = it->avail_after = -1;
		for (int ph = 0; ph < PH_COUNT; ph++) {
			it->ms[ph] = malloc(o->repeat * sizeof(double));
			if (!it->ms[ph])
				return -ENOMEM;
			for (unsigned int r = 0; r < o->repeat; r++)
				it->ms[ph][r] = NAN;
		}
	}
	for (int ph = 0; ph < PH_COUNT; ph++) {
		rn->total_ms[ph] = malloc(o->repeat * sizeof(double));
		if (!rn->total_ms[ph])
			return -ENOMEM;
	}
	return 0;
}

/* ---- the BAR ---- */

/* vfio-pci revokes a BAR's dma-buf while the device does not decode memory. */
static void check_decode(struct map_run *rn, struct item *it)
{
	const struct map_opts *o = rn->o;
	uint16_t cmd;

	if (vfc_device_command(rn->ctx, &o->bar_dev.bdf, &cmd)) {
		warnx_("map: BAR %d: %s", o->bar, vfc_errmsg(rn->ctx));
		return;
	}
	if (cmd & VFC_PCI_COMMAND_MEMORY)
		return;
	it->how = "dma-buf (revoked)";
	warnx_("map: BAR %d of %s: the device's memory decode is off (PCI command 0x%04x): "
	       "vfio-pci revokes its dma-buf in that state, so the mapping fails or the "
	       "device's DMA to it faults until decode is back on", o->bar, o->bar_dev.arg,
	       (unsigned int)cmd);
}

/* iommufd cannot map a BAR's mmap: the BAR goes in as a dma-buf (6.19). */
static int bar_dma_buf(struct map_run *rn, struct item *it, uint64_t size)
{
	const struct map_opts *o = rn->o;
	int r = vfc_vdev_dma_buf(rn->bar_vdev, (unsigned int)o->bar, 0, 0, &it->dmabuf);

	if (r == -EOPNOTSUPP) {
		warnx_("BAR %d of %s: not supported by this kernel: %s (iommufd cannot map a "
		       "BAR's mmap; use --backend type1, whose pfnmap path can): %s", o->bar,
		       o->bar_dev.arg, vfc_errmsg(rn->ctx), strerror(-r));
		return EXIT_UNSUPPORTED;
	}
	if (r)
		return lib_error(rn, r);
	it->size = size;
	it->by_file = true;
	it->how = "dma-buf";
	it->ioctl = "IOAS_MAP_FILE";
	check_decode(rn, it);
	return -1;
}

static int open_bar(struct map_run *rn, struct item *it)
{
	const struct map_opts *o = rn->o;
	struct vfc_region rg;
	uint64_t size;
	void *p;
	int r = vfc_iommu_device_open(rn->io, &o->bar_dev.bdf, &rn->bar_vdev);

	if (!r)
		r = vfc_vdev_region(rn->bar_vdev, (unsigned int)o->bar, &rg);
	if (r)
		return lib_error(rn, r);
	if (!rg.size) {
		warnx_("%s has no BAR %d", o->bar_dev.arg, o->bar);
		return EXIT_NOT_FOUND;
	}
	if (!(rg.flags & VFC_REGION_MMAP)) {
		warnx_("BAR %d of %s cannot be mmapped (an I/O port BAR, or one vfio-pci traps): "
		       "there is nothing to map for DMA", o->bar, o->bar_dev.arg);
		return EXIT_UNSUPPORTED;
	}
	it->flags = (rg.flags & VFC_REGION_READ ? VFC_MAP_READ : 0) |
		    (rg.flags & VFC_REGION_WRITE ? VFC_MAP_WRITE : 0);
	if (!(it->flags & VFC_MAP_RW))
		it->flags = VFC_MAP_READ;
	if (o->backend == VFC_BACKEND_IOMMUFD)
		return bar_dma_buf(rn, it, rg.size);
	r = vfc_vdev_mmap(rn->bar_vdev, (unsigned int)o->bar, &p, &size);
	if (r)
		return lib_error(rn, r);
	it->vaddr = p;
	it->size = size;
	it->ioctl = "MAP_DMA";
	/* MMIO is never pinned; the flag only tells a patched kernel not to try */
	it->how = "pfnmap";
	if (o->mode == MODE_NOPIN && vfc_iommu_has_ext(&rn->info, VFC_EXT_MMIO_DONT_PIN)) {
		it->flags |= VFC_MAP_NO_PIN;
		it->how = "mmio_dont_pin";
	} else if (o->mode == MODE_NOPIN) {
		warnx_("map: no-pin: this kernel lacks VFIO_DMA_MAP_FLAG_MMIO_DONT_PIN "
		       "(extension 11); BAR %d goes through the pfnmap path, which pins and "
		       "charges nothing either", o->bar);
	}
	return -1;
}

/* ---- IOVAs ---- */

/* Names the reserved region of the groups that a refused IOVA runs into. */
static void reserved_hit(struct map_run *rn, uint64_t first, uint64_t last, char *buf,
			 size_t len)
{
	unsigned int groups[2] = { rn->o->dev.group, rn->o->bar_dev.group };

	buf[0] = '\0';
	for (size_t g = 0; g < 2 && !buf[0]; g++) {
		struct vfc_group grp;

		if (vfc_group_read(rn->ctx, groups[g], &grp) == 0)
			for (size_t i = 0; i < grp.nresv && !buf[0]; i++)
				if (grp.resv[i].start <= last && first <= grp.resv[i].end)
					snprintf(buf, len, "; it overlaps reserved region 0x%" PRIx64
						 "-0x%" PRIx64 " (%s) of group %u", grp.resv[i].start,
						 grp.resv[i].end, grp.resv[i].type, groups[g]);
		vfc_group_clear(&grp);
	}
}

static int check_item(struct map_run *rn, const struct item *it)
{
	char why[256], resv[160];
	int r = vfc_iommu_check_map(&rn->info, (uintptr_t)it->vaddr, it->iova, it->size,
				    why, sizeof(why));

	if (!r)
		return -1;
	reserved_hit(rn, it->iova, it->iova + (it->size - 1), resv, sizeof(resv));
	warnx_("%s at IOVA 0x%" PRIx64 " size 0x%" PRIx64 " would be refused: %s%s: %s "
	       "(use --iova auto, or an IOVA inside the ranges 'vfioctl container' lists)",
	       it->name, it->iova, it->size, why, resv, strerror(-r));
	return EXIT_FAIL;
}

static int overlap_error(const struct item *a, const struct item *b)
{
	warnx_("%s at IOVA 0x%" PRIx64 "-0x%" PRIx64 " overlaps %s at 0x%" PRIx64 "-0x%" PRIx64
	       ": %s (give them IOVAs apart, or 'auto')", a->name, a->iova, a->iova + (a->size - 1),
	       b->name, b->iova, b->iova + (b->size - 1), strerror(EEXIST));
	return EXIT_FAIL;
}

static int place_error(const struct map_run *rn, const char *what, uint64_t size, int r)
{
	char sz[16];

	vfc_size_format(size, sz, sizeof(sz));
	if (r == -EOVERFLOW)
		warnx_("%s: the mappings run past the end of the IOVA space: %s", what,
		       strerror(EOVERFLOW));
	else
		warnx_("%s: no room for %s in the usable IOVA ranges (%zu of them): %s "
		       "(use a smaller --chunk)", what, sz, rn->info.nranges, strerror(-r));
	return EXIT_FAIL;
}

/* RAM first, around a fixed BAR; an automatic BAR then goes where RAM is not. */
static int place(struct map_run *rn)
{
	const struct map_opts *o = rn->o;
	struct item *bar = o->bar >= 0 ? &rn->items[rn->nram] : NULL;
	struct vfc_mapping *busy = calloc(rn->nram + 1, sizeof(*busy));
	uint64_t *sizes = calloc(rn->nram + 1, sizeof(*sizes));
	uint64_t *iovas = calloc(rn->nram + 1, sizeof(*iovas));
	size_t nbusy = 0;
	int r = 0, rc = -1;

	if (!busy || !sizes || !iovas) {
		warnx_("out of memory");
		rc = EXIT_FAIL;
		goto out;
	}
	if (bar && o->bar_iova_fixed) {
		bar->iova = o->bar_iova;
		busy[nbusy++] = (struct vfc_mapping){ bar->iova, bar->size, NULL, 0 };
	}
	for (size_t i = 0; i < rn->nram; i++)
		sizes[i] = rn->items[i].size;
	if (rn->nram)
		r = plan_iovas(&rn->info, busy, nbusy, sizes, rn->nram, o->iova_fixed,
			       o->iova_fixed ? o->iova : 0, iovas);
	if (r) {
		rc = place_error(rn, "placing the RAM", sizes[0], r);
		goto out;
	}
	for (size_t i = 0; i < rn->nram; i++)
		rn->items[i].iova = iovas[i];
	if (bar && !o->bar_iova_fixed) {
		/* RAM pieces are in IOVA order: they are the busy list as they stand */
		for (size_t i = 0; i < rn->nram; i++)
			busy[i] = (struct vfc_mapping){ iovas[i], sizes[i], NULL, 0 };
		r = vfc_iova_place(&rn->info, busy, rn->nram, bar->size, 0, &bar->iova);
		if (r)
			rc = place_error(rn, "placing the BAR", bar->size, r);
	}
out:
	free(busy);
	free(sizes);
	free(iovas);
	return rc;
}

static int check_all(struct map_run *rn)
{
	const struct item *bar = rn->o->bar >= 0 ? &rn->items[rn->nram] : NULL;
	int rc = -1;

	for (size_t i = 0; i < rn->nitems && rc < 0; i++)
		rc = check_item(rn, &rn->items[i]);
	/* RAM pieces never overlap each other; a fixed BAR may land on them */
	for (size_t i = 0; bar && i < rn->nram && rc < 0; i++) {
		const struct item *it = &rn->items[i];

		if (it->iova <= bar->iova + (bar->size - 1) && bar->iova <= it->iova + (it->size - 1))
			rc = overlap_error(bar, it);
	}
	return rc;
}

static void warn_entries(const struct map_run *rn)
{
	int64_t avail = rn->info.dma_avail;

	if (avail >= 0 && (uint64_t)avail < rn->nitems)
		warnx_("warning: %zu mappings are planned but the container allows %" PRId64
		       " more (vfio_iommu_type1 dma_entry_limit): mapping %" PRId64 " will fail",
		       rn->nitems, avail, avail + 1);
}

int run_prepare(struct map_run *rn, size_t nram, uint64_t last)
{
	int rc = open_container(rn);

	if (rc >= 0)
		return rc;
	if (new_items(rn, nram, last)) {
		warnx_("out of memory");
		return EXIT_FAIL;
	}
	if (rn->o->bar >= 0 && (rc = open_bar(rn, &rn->items[nram])) >= 0)
		return rc;
	rc = place(rn);
	if (rc < 0)
		rc = check_all(rn);
	if (rc < 0)
		warn_entries(rn);
	rn->progress = isatty(STDERR_FILENO);
	return rc;
}
