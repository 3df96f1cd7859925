// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl map --mode iopf: the memory is allocated but not mapped; the device
 * moves to an IOPF-capable page table on the IOAS and libvfioctl's fault
 * thread maps each page the device touches (and --premap pages after it)
 * when the device first faults on it. Without --hold the setup is made,
 * measured and undone at once (it shows whether the device can fault); with
 * --hold faults are served until SIGINT or SIGTERM. Either way the device
 * ends attached to the IOAS as before, the pages mapped on faults are
 * unmapped and the memory is freed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "map.h"

static int64_t vm_pin_kb(struct map_run *rn)
{
	int64_t lck, pin;

	read_locked(rn, &lck, &pin);
	return pin;
}

/* The device whose faults are served: the one named, or the group's only one. */
static int iopf_device(struct map_run *rn, struct vfc_bdf *bdf)
{
	const struct map_opts *o = rn->o;
	size_t n = 0;

	if (o->dev.is_dev) {
		*bdf = o->dev.bdf;
		return -1;
	}
	for (size_t i = 0; i < rn->info.ndevs; i++)
		if (rn->info.devs[i].group == o->dev.group && n++ == 0)
			*bdf = rn->info.devs[i].bdf;
	if (n == 1)
		return -1;
	warnx_("map: --mode iopf attaches one device to a fault-capable page table, and IOMMU "
	       "group %u has %zu devices on vfio-pci: one page table serves the whole group, so "
	       "IOPF is only offered for a device alone in its group: %s", o->dev.group, n,
	       strerror(EOPNOTSUPP));
	return EXIT_UNSUPPORTED;
}

/* What a failed start means to the user: the device cannot fault is "unsupported". */
static int start_error(struct map_run *rn, const struct vfc_bdf *bdf, int err)
{
	char b[VFC_BDF_STRLEN];
	const char *hint = vfc_errhint(rn->ctx);

	warnx_("map --mode iopf: %s: %s: %s%s%s%s; nothing is left attached or mapped",
	       vfc_bdf_format(bdf, b), vfc_errmsg(rn->ctx), strerror(-err), hint[0] ? " (" : "",
	       hint, hint[0] ? ")" : "");
	switch (-err) {
	case ENODEV:    /* the attach: no PRI or stall */
	case EOPNOTSUPP:
	case ENOTTY:    /* no fault queues in this kernel */
		return EXIT_UNSUPPORTED;
	case ENOMEM:
		return EXIT_LIMIT;
	}
	return iommu_exit_code(err);
}

static void wait_signal(struct map_run *rn, const struct item *it, const struct vfc_bdf *bdf)
{
	char b[VFC_BDF_STRLEN], sz[16], pg[16];

	if (!map_stop)
		warnx_("map: serving I/O page faults of %s on IOVA 0x%" PRIx64 "-0x%" PRIx64
		       " (%s, %s pages, %u ahead) in process %d until SIGINT or SIGTERM",
		       vfc_bdf_format(bdf, b), it->iova, it->iova + (it->size - 1),
		       vfc_size_format(it->size, sz, sizeof(sz)),
		       vfc_size_format(rn->o->iopf_page, pg, sizeof(pg)), rn->o->premap,
		       (int)getpid());
	wait_for_stop();
}

int run_iopf(struct map_run *rn, struct iopf_result *res)
{
	struct item *it = &rn->items[0];
	struct vfc_iopf_cfg region = {
		.iova = it->iova,
		.size = it->size,
		.page_size = rn->o->iopf_page,
		.premap = rn->o->premap,
		.map_flags = it->flags,
	};
	struct vfc_iopf *iopf = NULL;
	struct vfc_bdf bdf;
	double t;
	int r, rc = iopf_device(rn, &bdf);

	if (rc < 0)
		rc = run_alloc(rn);
	if (rc >= 0 || map_stop)
		return rc;
	region.vaddr = it->vaddr;
	res->pin_before = vm_pin_kb(rn);
	t = now_ms();
	r = vfc_iommu_iopf_start(rn->io, &bdf, &region, &iopf);
	res->setup_ms = now_ms() - t;
	if (r)
		return start_error(rn, &bdf, r);
	res->hwpt_id = vfc_iopf_hwpt_id(iopf);
	res->fault_id = vfc_iopf_fault_id(iopf);
	t = now_ms();
	if (rn->o->hold)
		wait_signal(rn, it, &bdf);
	res->served_ms = now_ms() - t;
	res->pin_served = vm_pin_kb(rn);
	t = now_ms();
	r = vfc_iopf_stop(iopf, &res->st);
	res->stop_ms = now_ms() - t;
	res->pin_end = vm_pin_kb(rn);
	res->done = true;
	if (r) {
		report_error(rn->ctx, r);
		return iommu_exit_code(r);
	}
	return -1;
}
