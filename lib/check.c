// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The policy behind `vfioctl check`: turn host facts into PASS/WARN/FAIL rows,
 * each WARN and FAIL with a one-line fix. Kept in the library so that other
 * front ends reach the same verdicts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct rows {
	struct vfc_check *v;
	size_t n;
	int err;
	const char *subject;
};

static void add(struct rows *r, const char *name, enum vfc_check_status st,
		const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add(struct rows *r, const char *name, enum vfc_check_status st,
		const char *hint, const char *fmt, ...)
{
	struct vfc_check c = { .status = st };
	va_list ap;

	if (r->err)
		return;
	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.subject, sizeof(c.subject), "%s", r->subject ? r->subject : "");
	snprintf(c.hint, sizeof(c.hint), "%s", hint ? hint : "");
	va_start(ap, fmt);
	vsnprintf(c.detail, sizeof(c.detail), fmt, ap);
	va_end(ap);
	if (vfc_array_push((void **)&r->v, &r->n, sizeof(c), &c))
		r->err = -ENOMEM;
}

static const char *enable_hint(const struct vfc_host *h)
{
	if (!strncmp(h->intel_iommu, "off", 3))
		return "intel_iommu=off is on the kernel command line: replace it with intel_iommu=on";
	if (!strcmp(h->amd_iommu, "off"))
		return "amd_iommu=off is on the kernel command line: remove it";
	if (h->vendor == VFC_IOMMU_AMD)
		return "enable the IOMMU (AMD-Vi) in the firmware setup";
	if (h->vendor == VFC_IOMMU_INTEL)
		return "add intel_iommu=on to the kernel command line";
	return "enable VT-d/AMD-Vi in the firmware setup; on Intel also add intel_iommu=on to the kernel command line";
}

static void check_iommu(struct rows *r, const struct vfc_host *h)
{
	if (h->acpi_dmar || h->acpi_ivrs)
		add(r, "iommu-firmware", VFC_PASS, NULL, "ACPI %s table present",
		    h->acpi_dmar ? "DMAR (Intel VT-d)" : "IVRS (AMD-Vi)");
	else if (h->iommu_units > 0)
		add(r, "iommu-firmware", VFC_PASS, NULL,
		    "no DMAR/IVRS table, but the kernel found an IOMMU");
	else
		add(r, "iommu-firmware", VFC_FAIL,
		    "enable VT-d (Intel) or AMD-Vi/IOMMU in the firmware setup",
		    "no DMAR or IVRS ACPI table: the firmware reports no IOMMU");

	if (h->iommu_units > 0)
		add(r, "iommu-enabled", VFC_PASS, NULL, "%d IOMMU unit%s active%s",
		    h->iommu_units, h->iommu_units == 1 ? "" : "s",
		    !strcmp(h->iommu, "pt") ? " (iommu=pt: host devices in passthrough)" : "");
	else
		add(r, "iommu-enabled", VFC_FAIL, enable_hint(h),
		    "IOMMU appears disabled: no units in /sys/class/iommu");

	if (h->ngroups > 0)
		add(r, "iommu-groups", VFC_PASS, NULL, "%d IOMMU groups", h->ngroups);
	else
		add(r, "iommu-groups", VFC_FAIL, enable_hint(h),
		    "no IOMMU groups: no device can be assigned");

	if (h->iommu_units == 0)
		add(r, "interrupt-remapping", VFC_SKIP, NULL, "no IOMMU");
	else if (h->intr_remap == 1)
		add(r, "interrupt-remapping", VFC_PASS, NULL, "supported by every IOMMU unit");
	else if (h->intr_remap == 0 && h->type1_allow_unsafe_interrupts == 1)
		add(r, "interrupt-remapping", VFC_WARN,
		    "enable x2APIC/interrupt remapping in the firmware and drop allow_unsafe_interrupts",
		    "missing; vfio_iommu_type1 allow_unsafe_interrupts=1 lets devices forge MSIs");
	else if (h->intr_remap == 0)
		add(r, "interrupt-remapping", VFC_FAIL,
		    "enable interrupt remapping in the firmware, or accept the risk with vfio_iommu_type1 allow_unsafe_interrupts=1",
		    "missing: type1 SET_IOMMU will fail with EPERM");
	else
		add(r, "interrupt-remapping", VFC_SKIP, NULL,
		    "this IOMMU does not report it in sysfs");
}

static void check_module(struct rows *r, const struct vfc_host *h, int i)
{
	const struct vfc_module *m = &h->modules[i];
	char name[48], hint[160];

	snprintf(name, sizeof(name), "module-%s", m->name);
	if (m->blacklisted) {
		snprintf(hint, sizeof(hint),
			 "remove 'blacklist %s' from the files in /etc/modprobe.d", m->name);
		add(r, name, VFC_WARN, hint, "%s, but blacklisted", vfc_mod_state_str(m->state));
		return;
	}
	switch (m->state) {
	case VFC_MOD_LOADED:
	case VFC_MOD_BUILTIN:
		add(r, name, VFC_PASS, NULL, "%s", vfc_mod_state_str(m->state));
		break;
	case VFC_MOD_AVAILABLE:
		add(r, name, VFC_PASS, NULL, "available, not loaded");
		break;
	case VFC_MOD_MISSING:
		add(r, name, i == VFC_MOD_IOMMUFD ? VFC_SKIP : VFC_FAIL,
		    i == VFC_MOD_IOMMUFD ? NULL :
		    "install the kernel's modules package, or use a kernel built with VFIO",
		    "not built for kernel %s", h->kernel_release[0] ? h->kernel_release : "?");
		break;
	case VFC_MOD_UNKNOWN:
		add(r, name, VFC_WARN, "install the modules package of the running kernel",
		    "no module directory /lib/modules/%s",
		    h->kernel_release[0] ? h->kernel_release : "?");
		break;
	}
}

static void check_nodes(struct rows *r, const struct vfc_host *h)
{
	const struct vfc_node_mode *v = &h->dev_vfio;
	enum vfc_mod_state vfio = h->modules[VFC_MOD_VFIO].state;

	if (v->present && (v->mode & 0006) != 0006)
		add(r, "dev-vfio", VFC_WARN,
		    "chmod 0666 /dev/vfio/vfio: a container grants nothing until a group is added",
		    "/dev/vfio/vfio is mode %04o: unprivileged QEMU gets EACCES", v->mode);
	else if (v->present)
		add(r, "dev-vfio", VFC_PASS, NULL, "/dev/vfio/vfio mode %04o", v->mode);
	else if (h->dev_iommu.present)
		add(r, "dev-vfio", VFC_SKIP, NULL,
		    "no legacy container (/dev/vfio/vfio); iommufd is there");
	else if (vfio == VFC_MOD_LOADED || vfio == VFC_MOD_BUILTIN)
		add(r, "dev-vfio", VFC_FAIL, "check that devtmpfs is mounted on /dev",
		    "vfio is loaded but /dev/vfio/vfio is missing");
	else
		add(r, "dev-vfio", VFC_SKIP, NULL,
		    "/dev/vfio/vfio appears when vfio is loaded");

	if (h->dev_iommu.present)
		add(r, "iommufd", VFC_PASS, NULL, "/dev/iommu mode %04o", h->dev_iommu.mode);
	else
		add(r, "iommufd", VFC_SKIP, NULL,
		    "no /dev/iommu: type1 containers will be used");

	if (h->noiommu == 1)
		add(r, "noiommu", VFC_WARN,
		    "unset vfio enable_unsafe_noiommu_mode unless this host really has no IOMMU",
		    "vfio enable_unsafe_noiommu_mode=Y: devices may be used without DMA protection");
	else if (h->noiommu == 0)
		add(r, "noiommu", VFC_PASS, NULL, "off");
}

static void check_memory(struct rows *r, const struct vfc_host *h)
{
	char buf[32], line[192] = "";
	size_t used = 0;

	if (h->type1_dma_entry_limit >= 0)
		add(r, "dma-entry-limit", VFC_PASS, NULL,
		    "%d type1 mappings per container", h->type1_dma_entry_limit);

	for (size_t i = 0; i < h->nhugepages && used < sizeof(line) - 40; i++) {
		const struct vfc_hugepages *p = &h->hugepages[i];

		if (p->node >= 0 || !p->nr)
			continue;
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s: %" PRIu64
					 " (%" PRIu64 " free)", used ? ", " : "",
					 vfc_size_format(p->page_size, buf, sizeof(buf)),
					 p->nr, p->nr_free);
	}
	add(r, "hugepages", VFC_PASS, NULL, "%s",
	    used ? line : "no pools reserved: guests use 4K or THP memory");

	if (h->cap_ipc_lock)
		add(r, "memlock", VFC_PASS, NULL,
		    "CAP_IPC_LOCK: RLIMIT_MEMLOCK is not enforced for this user");
	else if (!h->memlock_known)
		add(r, "memlock", VFC_WARN, "check /proc/self/limits",
		    "RLIMIT_MEMLOCK unknown: /proc/self/limits has no usable row");
	else if (h->memlock_soft == VFC_RLIM_INFINITY)
		add(r, "memlock", VFC_PASS, NULL, "RLIMIT_MEMLOCK unlimited");
	else
		add(r, "memlock", VFC_WARN,
		    "raise it for the VMM: LimitMEMLOCK= in its systemd unit, memlock in limits.conf, or ulimit -l",
		    "RLIMIT_MEMLOCK %s: an assigned device pins all guest RAM",
		    vfc_size_format(h->memlock_soft, buf, sizeof(buf)));
}

VFC_EXPORT int vfc_check_host(struct vfc_ctx *ctx, const struct vfc_host *h,
			      struct vfc_check **out, size_t *n)
{
	struct rows r = { 0 };

	check_iommu(&r, h);
	for (int i = 0; i < VFC_MOD_COUNT; i++)
		check_module(&r, h, i);
	check_nodes(&r, h);
	check_memory(&r, h);
	if (r.err) {
		free(r.v);
		return vfc_fail(ctx, r.err, NULL, "building checks");
	}
	*out = r.v;
	*n = r.n;
	return 0;
}

static void check_group(struct rows *r, struct vfc_ctx *ctx,
			const struct vfc_host *h, const struct vfc_device *d)
{
	struct vfc_group g;
	char b[VFC_BDF_STRLEN], hint[192];

	if (d->group < 0 && h->iommu_units > 0) {
		/* e.g. the IOMMU's own PCI function: nothing translates its DMA */
		add(r, "device-group", VFC_FAIL, "this device cannot be assigned; choose another",
		    "no IOMMU group although the IOMMU is on: the device is not behind it");
		return;
	}
	if (d->group < 0) {
		add(r, "device-group", VFC_FAIL, enable_hint(h), "no IOMMU group: the IOMMU is off");
		return;
	}
	add(r, "device-group", VFC_PASS, NULL, "IOMMU group %d", d->group);
	if (vfc_group_read(ctx, (unsigned int)d->group, &g)) {
		add(r, "device-viable", VFC_FAIL, "the sysfs tree is damaged: see the message",
		    "cannot read group %d: %s", d->group, vfc_errmsg(ctx));
		return;
	}
	if (g.viable) {
		add(r, "device-viable", VFC_PASS, NULL, "group %d viable (%zu device%s)",
		    g.id, g.ndevices, g.ndevices == 1 ? "" : "s");
	} else {
		const struct vfc_device *x = &g.devices[g.blocker];

		vfc_bdf_format(&x->bdf, b);
		snprintf(hint, sizeof(hint),
			 "bind every endpoint of group %d to vfio-pci, including %s", g.id, b);
		add(r, "device-viable", VFC_WARN, hint,
		    "group %d not viable: %s is bound to %s", g.id, b, x->driver);
	}
	vfc_group_clear(&g);
}

VFC_EXPORT int vfc_check_device(struct vfc_ctx *ctx, const struct vfc_host *h,
				const struct vfc_bdf *bdf, struct vfc_check **out,
				size_t *n)
{
	char b[VFC_BDF_STRLEN], pf[VFC_BDF_STRLEN];
	struct rows r = { .v = *out, .n = *n, .subject = b };
	struct vfc_device d;
	int e;

	vfc_bdf_format(bdf, b);
	e = vfc_device_read(ctx, bdf, &d);
	if (e)
		return e;
	check_group(&r, ctx, h, &d);
	if (d.is_bridge)
		add(&r, "device-driver", VFC_SKIP, NULL,
		    "a PCI bridge is not assigned itself; the endpoints behind it are");
	else if (vfc_driver_is_vfio(d.driver))
		add(&r, "device-driver", VFC_PASS, NULL, "bound to %s", d.driver);
	else if (!d.driver[0])
		add(&r, "device-driver", VFC_PASS, NULL, "no driver: free for vfio-pci");
	else
		add(&r, "device-driver", VFC_WARN,
		    "bind it to vfio-pci (driver_override) before assigning it",
		    "bound to %s", d.driver);
	if (d.boot_vga)
		add(&r, "device-boot-vga", VFC_WARN,
		    "give the host console another GPU before assigning this one",
		    "boot VGA device: the host console is on it");
	if (d.sriov_role == VFC_SRIOV_VF)
		add(&r, "device-sriov", VFC_PASS, NULL, "virtual function of %s",
		    vfc_bdf_format(&d.physfn, pf));
	/* the array may have moved even when a later push failed */
	*out = r.v;
	*n = r.n;
	if (r.err)
		return vfc_fail(ctx, r.err, NULL, "building checks");
	return 0;
}

VFC_EXPORT const char *vfc_check_status_str(enum vfc_check_status s)
{
	switch (s) {
	case VFC_PASS: return "PASS";
	case VFC_WARN: return "WARN";
	case VFC_FAIL: return "FAIL";
	case VFC_SKIP: break;
	}
	return "SKIP";
}
