// SPDX-License-Identifier: GPL-2.0-or-later
/* The memlock estimate (libvirt's rule) and what counts against the limit. */
#include <errno.h>

#include "tap.h"
#include "vfioctl.h"

#define GiB (1ULL << 30)

static uint64_t est(uint64_t ram, unsigned vfio, unsigned nvme, unsigned vdpa,
		    bool viommu, enum vfc_backend b, unsigned vms, unsigned *factor)
{
	struct vfc_memlock_estimate_in in = { .ram = ram, .vfio = vfio, .nvme = nvme,
		.vdpa = vdpa, .viommu = viommu, .backend = b, .vms = vms };
	struct vfc_memlock_estimate out;

	if (vfc_memlock_estimate(&in, &out))
		return 0;
	if (factor)
		*factor = out.factor;
	return out.limit;
}

int main(void)
{
	struct vfc_memlock_estimate_in in = { 0 };
	struct vfc_memlock_estimate out;
	struct vfc_memlock_proc p = { .vm_lck_kb = 1024, .vm_pin_kb = 4096 };
	unsigned f = 0;

	is_u64(est(16 * GiB, 1, 0, 0, false, VFC_BACKEND_TYPE1, 1, &f), 17 * GiB,
	       "one VFIO device: RAM + 1G");
	is_int(f, 1, "factor 1");
	is_u64(est(16 * GiB, 4, 0, 0, false, VFC_BACKEND_TYPE1, 1, &f), 17 * GiB,
	       "four VFIO devices share one container: still RAM + 1G");
	is_u64(est(16 * GiB, 4, 0, 0, true, VFC_BACKEND_TYPE1, 1, &f), 65 * GiB,
	       "with a vIOMMU each device maps all RAM: 4 x RAM + 1G");
	is_int(f, 4, "factor 4");
	is_u64(est(8 * GiB, 1, 2, 1, false, VFC_BACKEND_TYPE1, 1, &f), 33 * GiB,
	       "NVMe and vDPA devices add one RAM each");
	is_u64(est(8 * GiB, 0, 0, 0, false, VFC_BACKEND_TYPE1, 1, &f), 0,
	       "no device: nothing pinned, no limit needed");
	is_u64(est(8 * GiB, 1, 0, 0, false, VFC_BACKEND_IOMMUFD, 3, NULL), 27 * GiB,
	       "iommufd: three VMs of one user share one per-user limit");
	is_u64(est(8 * GiB, 1, 0, 0, false, VFC_BACKEND_TYPE1, 3, NULL), 9 * GiB,
	       "type1 charges each process: VM count does not add up");
	in.ram = 0;
	is_int(vfc_memlock_estimate(&in, &out), -EINVAL, "zero RAM is refused");
	in.ram = UINT64_MAX / 2;
	in.vfio = 1;
	in.nvme = 3;
	is_int(vfc_memlock_estimate(&in, &out), -EOVERFLOW, "overflow is refused, not wrapped");

	is_u64(vfc_memlock_used(&p), 4096ULL << 10, "the larger of VmLck and VmPin counts");
	p.vm_lck_kb = -1;
	p.vm_pin_kb = -1;
	is_u64(vfc_memlock_used(&p), 0, "absent fields count as nothing");
	return tap_done();
}
