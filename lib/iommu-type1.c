// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The VFIO type1 backend: one container (/dev/vfio/vfio) holding the groups
 * (/dev/vfio/N) whose devices share an IOMMU domain. Kernel errors are turned
 * into the cause users actually hit (see design/kernel-facts.md): ENOMEM is
 * RLIMIT_MEMLOCK, ENOSPC is dma_entry_limit, EPERM at SET_IOMMU is missing
 * interrupt remapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "iommu-priv.h"

/* The 2024 "MMIO don't pin" proposal (never merged): carried here so that a
 * kernel with the patch can be used whatever headers vfioctl was built with. */
#ifndef VFIO_DMA_MAP_MMIO_DONT_PIN
#define VFIO_DMA_MAP_MMIO_DONT_PIN 11
#endif
#ifndef VFIO_DMA_MAP_FLAG_MMIO_DONT_PIN
#define VFIO_DMA_MAP_FLAG_MMIO_DONT_PIN (1 << 3)
#endif

struct t1_group {
	unsigned int id;
	int fd;
};

struct type1 {
	struct vfc_iommu base;
	int container;
	int model; /* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU */
	bool iommu_set; /* SET_IOMMU happens with the first group */
	bool unmap_all;
	struct t1_group *groups;
	size_t ngroups;
};

static struct type1 *to_t1(struct vfc_iommu *io)
{
	return container_of(io, struct type1, base);
}

/* ---- GET_INFO answer parsing (pure) ---- */

static int parse_iova_ranges(const uint8_t *buf, size_t len, size_t off,
			     struct vfc_iommu_info *out)
{
	struct vfio_iommu_type1_info_cap_iova_range cap;
	struct vfio_iova_range kr;
	size_t room;

	if (len - off < sizeof(cap))
		return -EINVAL;
	memcpy(&cap, buf + off, sizeof(cap));
	room = (len - off - sizeof(cap)) / sizeof(kr);
	if (cap.nr_iovas > room)
		return -EINVAL;
	free(out->ranges);
	out->ranges = calloc(cap.nr_iovas ? cap.nr_iovas : 1, sizeof(*out->ranges));
	out->nranges = 0;
	if (!out->ranges)
		return -ENOMEM;
	for (uint32_t i = 0; i < cap.nr_iovas; i++) {
		memcpy(&kr, buf + off + sizeof(cap) + i * sizeof(kr), sizeof(kr));
		if (kr.start > kr.end)
			return -EINVAL;
		out->ranges[i] = (struct vfc_iova_range){ kr.start, kr.end };
		out->nranges++;
	}
	return 0;
}

static int parse_cap(const uint8_t *buf, size_t len, size_t off, uint16_t id,
		     struct vfc_iommu_info *out)
{
	struct vfio_iommu_type1_info_dma_avail avail;

	switch (id) {
	case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE:
		return parse_iova_ranges(buf, len, off, out);
	case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL:
		if (len - off < sizeof(avail))
			return -EINVAL;
		memcpy(&avail, buf + off, sizeof(avail));
		out->dma_avail = avail.avail;
		return 0;
	default:
		return 0; /* migration and future capabilities: not ours to judge */
	}
}

int vfc_type1_info_parse(const void *buf, size_t len,
			 struct vfc_iommu_info *out)
{
	struct vfio_iommu_type1_info info;
	struct vfio_info_cap_header hdr;
	size_t off;
	int r = 0;

	out->ranges = NULL;
	out->nranges = 0;
	out->pgsizes = 0;
	out->dma_avail = -1;
	if (len < sizeof(info))
		return -EINVAL;
	memcpy(&info, buf, sizeof(info));
	if (info.flags & VFIO_IOMMU_INFO_PGSIZES)
		out->pgsizes = info.iova_pgsizes;
	off = (info.flags & VFIO_IOMMU_INFO_CAPS) ? info.cap_offset : 0;
	while (off && !r) {
		/* a chain must move forward through the buffer, or it never ends */
		if (off < sizeof(info) || off > len || len - off < sizeof(hdr)) {
			r = -EINVAL;
			break;
		}
		memcpy(&hdr, (const uint8_t *)buf + off, sizeof(hdr));
		r = parse_cap(buf, len, off, hdr.id, out);
		if (!r && hdr.next && hdr.next <= off)
			r = -EINVAL;
		off = hdr.next;
	}
	if (r) {
		free(out->ranges);
		out->ranges = NULL;
		out->nranges = 0;
	}
	return r;
}

/* ---- container ---- */

static int open_container(struct vfc_ctx *ctx, int *fd)
{
	vfc_path_t p;
	int r = vfc_path_root(ctx, p, "/dev/vfio/vfio");

	if (r)
		return vfc_fail(ctx, r, NULL, "path too long");
	*fd = open(p, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	r = errno;
	if (r == ENOENT)
		return vfc_fail(ctx, r, "load it: modprobe vfio-pci",
				"%s: the vfio module is not loaded", vfc_path_strip(ctx, p));
	if (r == EACCES)
		return vfc_fail(ctx, r, "run as root, or give this user the device node",
				"opening %s", vfc_path_strip(ctx, p));
	return vfc_fail(ctx, r, NULL, "opening %s", vfc_path_strip(ctx, p));
}

static int pick_model(struct vfc_ctx *ctx, struct type1 *t)
{
	int v = ioctl(t->container, VFIO_GET_API_VERSION);

	if (v != VFIO_API_VERSION)
		return vfc_fail(ctx, EPROTO, NULL,
				"/dev/vfio/vfio speaks VFIO API %d, vfioctl knows %d", v,
				VFIO_API_VERSION);
	/* v2 refuses unmaps that split a mapping: exact bookkeeping needs that */
	if (ioctl(t->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0)
		t->model = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(t->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0)
		t->model = VFIO_TYPE1_IOMMU;
	else
		return vfc_fail(ctx, ENODEV,
				"modprobe vfio_iommu_type1, and check the IOMMU is on (intel_iommu=on / amd_iommu=on)",
				"the kernel offers no VFIO type1 IOMMU");
	t->unmap_all = ioctl(t->container, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL) > 0;
	return 0;
}

static int t1_create(struct vfc_ctx *ctx, struct vfc_iommu **out)
{
	struct type1 *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return vfc_fail(ctx, ENOMEM, NULL, "opening a type1 container");
	r = open_container(ctx, &t->container);
	if (!r)
		r = pick_model(ctx, t);
	if (r) {
		if (t->container >= 0)
			close(t->container);
		free(t);
		return r;
	}
	*out = &t->base;
	return 0;
}

static void t1_destroy(struct vfc_iommu *io)
{
	struct type1 *t = to_t1(io);

	/* the last group to leave drops the container's IOMMU and its mappings */
	for (size_t i = t->ngroups; i-- > 0;) {
		ioctl(t->groups[i].fd, VFIO_GROUP_UNSET_CONTAINER);
		close(t->groups[i].fd);
	}
	free(t->groups);
	close(t->container);
	free(t);
}

/* ---- groups ---- */

static bool t1_has_group(struct vfc_iommu *io, unsigned int group)
{
	struct type1 *t = to_t1(io);

	for (size_t i = 0; i < t->ngroups; i++)
		if (t->groups[i].id == group)
			return true;
	return false;
}

static int group_fd(struct type1 *t, unsigned int group)
{
	for (size_t i = 0; i < t->ngroups; i++)
		if (t->groups[i].id == group)
			return t->groups[i].fd;
	return -1;
}

static int open_group(struct vfc_ctx *ctx, unsigned int group, int *fd)
{
	vfc_path_t p;
	int r = vfc_path_dev_vfio_group(ctx, p, group);

	if (r)
		return vfc_fail(ctx, r, NULL, "path too long");
	*fd = open(p, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	r = errno;
	if (r == ENOENT)
		return vfc_fail(ctx, r, "bind the group's devices to vfio-pci",
				"%s does not exist", vfc_path_strip(ctx, p));
	if (r == EBUSY)
		return vfc_fail(ctx, r, "another process (QEMU?) or container holds it",
				"IOMMU group %u is in use", group);
	if (r == EACCES)
		return vfc_fail(ctx, r, "run as root, or give this user the group node",
				"opening %s", vfc_path_strip(ctx, p));
	return vfc_fail(ctx, r, NULL, "opening %s", vfc_path_strip(ctx, p));
}

/* Names the device that keeps a group from being viable, for the hint. */
static void blocker_hint(struct vfc_ctx *ctx, unsigned int group, char *hint,
			 size_t len)
{
	struct vfc_group g;
	char b[VFC_BDF_STRLEN];

	snprintf(hint, len, "'vfioctl group %u' shows its devices and drivers", group);
	if (vfc_group_read(ctx, group, &g))
		return;
	if (g.blocker >= 0)
		snprintf(hint, len, "%s is bound to %s",
			 vfc_bdf_format(&g.devices[g.blocker].bdf, b),
			 g.devices[g.blocker].driver);
	vfc_group_clear(&g);
}

static int check_viable(struct vfc_ctx *ctx, int fd, unsigned int group)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char hint[256];

	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st))
		return vfc_fail(ctx, errno, NULL, "IOMMU group %u: reading its status",
				group);
	if (st.flags & VFIO_GROUP_FLAGS_VIABLE)
		return 0;
	blocker_hint(ctx, group, hint, sizeof(hint));
	/* the message set by blocker_hint's reads, if any, is replaced here */
	return vfc_fail(ctx, EBUSY, hint,
			"group %u is not viable: bind every device in it to vfio-pci",
			group);
}

static int set_iommu(struct vfc_ctx *ctx, struct type1 *t, unsigned int group)
{
	if (!ioctl(t->container, VFIO_SET_IOMMU, t->model)) {
		t->iommu_set = true;
		return 0;
	}
	if (errno == EPERM)
		return vfc_fail(ctx, EPERM,
				"enable interrupt remapping, or accept the risk: load vfio_iommu_type1 with allow_unsafe_interrupts=1",
				"group %u: the IOMMU has no interrupt remapping, so vfio_iommu_type1 refuses it",
				group);
	return vfc_fail(ctx, errno, NULL, "group %u: setting the %s IOMMU", group,
			t->model == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1");
}

static int attach_group(struct vfc_ctx *ctx, struct type1 *t, int fd,
			unsigned int group)
{
	int r = check_viable(ctx, fd, group);

	if (r)
		return r;
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &t->container))
		return vfc_fail(ctx, errno,
				errno == EINVAL ? "its IOMMU cannot share a domain with the groups already attached" : NULL,
				"group %u: attaching it to the container", group);
	if (!t->iommu_set && (r = set_iommu(ctx, t, group)))
		ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
	return r;
}

static int t1_add_group(struct vfc_iommu *io, unsigned int group)
{
	struct type1 *t = to_t1(io);
	struct t1_group g = { group, -1 };
	int r = open_group(io->ctx, group, &g.fd);

	if (!r)
		r = attach_group(io->ctx, t, g.fd, group);
	if (!r && vfc_array_push((void **)&t->groups, &t->ngroups, sizeof(g), &g)) {
		ioctl(g.fd, VFIO_GROUP_UNSET_CONTAINER);
		r = vfc_fail(io->ctx, ENOMEM, NULL, "adding group %u", group);
	}
	if (r && g.fd >= 0)
		close(g.fd);
	return r;
}

/* ---- info ---- */

/* Asked after SET_IOMMU, so the answers are the chosen IOMMU's own (DMA_CC
 * depends on the domains of the groups attached so far). */
static uint64_t probe_extensions(int container)
{
	uint64_t ext = 0;

	for (unsigned int n = 1; n <= VFC_EXT_MAX; n++)
		if (ioctl(container, VFIO_CHECK_EXTENSION, n) > 0)
			ext |= 1ULL << n;
	return ext;
}

static int no_group_yet(struct vfc_iommu *io)
{
	return vfc_fail(io->ctx, ENODEV, "add an IOMMU group first",
			"the container has no group, so no IOMMU yet");
}

static int t1_info(struct vfc_iommu *io, struct vfc_iommu_info *out)
{
	struct type1 *t = to_t1(io);
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	size_t len;
	void *buf;
	int r;

	if (!t->iommu_set)
		return no_group_yet(io);
	/* the first call only learns how large the capability chain is */
	if (ioctl(t->container, VFIO_IOMMU_GET_INFO, &probe))
		return vfc_fail(io->ctx, errno, NULL, "VFIO_IOMMU_GET_INFO");
	len = probe.argsz > sizeof(probe) ? probe.argsz : sizeof(probe);
	buf = calloc(1, len);
	if (!buf)
		return vfc_fail(io->ctx, ENOMEM, NULL, "VFIO_IOMMU_GET_INFO");
	probe.argsz = (uint32_t)len;
	memcpy(buf, &probe, sizeof(probe));
	r = ioctl(t->container, VFIO_IOMMU_GET_INFO, buf) ? -errno : 0;
	if (!r)
		r = vfc_type1_info_parse(buf, len, out);
	free(buf);
	if (r)
		return vfc_fail(io->ctx, r, NULL, "VFIO_IOMMU_GET_INFO%s",
				r == -EINVAL ? ": malformed capability chain" : "");
	out->backend = VFC_BACKEND_TYPE1;
	out->model = t->model == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1";
	out->unmap_all = t->unmap_all;
	out->extensions = probe_extensions(t->container);
	return 0;
}

/* ---- DMA ---- */

static int fail_memlock(struct vfc_iommu *io, uint64_t size)
{
	struct rlimit rl = { 0, 0 };
	char lim[32] = "unlimited";

	getrlimit(RLIMIT_MEMLOCK, &rl);
	if (rl.rlim_cur != RLIM_INFINITY)
		vfc_size_format(rl.rlim_cur, lim, sizeof(lim));
	return vfc_fail(io->ctx, ENOMEM,
			"raise it (ulimit -l, LimitMEMLOCK=, limits.conf) or use CAP_IPC_LOCK; VmLck in /proc/PID/status counts what is pinned",
			"pinning 0x%" PRIx64 " bytes exceeds the locked-memory limit (RLIMIT_MEMLOCK %s)",
			size, lim);
}

static int fail_entries(struct vfc_iommu *io)
{
	char lim[32] = "?";
	vfc_path_t p;
	int v;

	if (!vfc_path_module_param(io->ctx, p, "vfio_iommu_type1", "dma_entry_limit") &&
	    !vfc_read_int(p, &v))
		snprintf(lim, sizeof(lim), "%d", v);
	return vfc_fail(io->ctx, ENOSPC,
			"map fewer, larger ranges, or load vfio_iommu_type1 with a higher dma_entry_limit",
			"no DMA mapping entries left: vfio_iommu_type1 dma_entry_limit (%s) reached",
			lim);
}

static int fail_einval(struct vfc_iommu *io, void *vaddr, uint64_t iova,
		       uint64_t size)
{
	struct vfc_iommu_info info;
	char why[256] = "";

	if (!t1_info(io, &info)) {
		vfc_iommu_check_map(&info, (uintptr_t)vaddr, iova, size, why, sizeof(why));
		vfc_iommu_info_clear(&info);
	}
	if (why[0])
		return vfc_fail(io->ctx, EINVAL, "'vfioctl check' shows the IOVA ranges",
				"mapping IOVA 0x%" PRIx64 ": %s", iova, why);
	return vfc_fail(io->ctx, EINVAL, NULL,
			"the kernel refused to map IOVA 0x%" PRIx64 " size 0x%" PRIx64, iova,
			size);
}

static int map_failed(struct vfc_iommu *io, int err, void *vaddr, uint64_t iova,
		      uint64_t size)
{
	switch (err) {
	case ENOMEM:
		return fail_memlock(io, size);
	case ENOSPC:
		return fail_entries(io);
	case EINVAL:
		return fail_einval(io, vaddr, iova, size);
	case EEXIST:
		return vfc_fail(io->ctx, err, "another user of this container mapped it",
				"IOVA 0x%" PRIx64 " size 0x%" PRIx64 " overlaps an existing mapping",
				iova, size);
	case EFAULT:
		return vfc_fail(io->ctx, err,
				"map memory the process owns (writable, for a device-writable mapping)",
				"the memory at %p cannot be pinned", vaddr);
	case EOVERFLOW:
		return vfc_fail(io->ctx, err, NULL,
				"IOVA 0x%" PRIx64 " size 0x%" PRIx64 " wraps around", iova, size);
	default:
		return vfc_fail(io->ctx, err, NULL,
				"mapping IOVA 0x%" PRIx64 " size 0x%" PRIx64, iova, size);
	}
}

static int t1_dma_map(struct vfc_iommu *io, void *vaddr, uint64_t iova,
		      uint64_t size, unsigned int flags)
{
	struct type1 *t = to_t1(io);
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = ((flags & VFC_MAP_READ) ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 ((flags & VFC_MAP_WRITE) ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};
	int r;

	if (!t->iommu_set)
		return no_group_yet(io);
	if (flags & VFC_MAP_NO_PIN) {
		if (ioctl(t->container, VFIO_CHECK_EXTENSION, VFIO_DMA_MAP_MMIO_DONT_PIN) <= 0)
			return vfc_fail(io->ctx, EOPNOTSUPP,
					"map the BAR's mmap without it: the pfnmap path pins nothing either",
					"this kernel has no VFIO_DMA_MAP_FLAG_MMIO_DONT_PIN (extension %d)",
					VFIO_DMA_MAP_MMIO_DONT_PIN);
		m.flags |= VFIO_DMA_MAP_FLAG_MMIO_DONT_PIN;
	}
	r = vfc_iommu_timed_ioctl(io, t->container, VFIO_IOMMU_MAP_DMA, &m);
	if (r)
		return map_failed(io, r, vaddr, iova, size);
	return 0;
}

static int t1_dma_unmap(struct vfc_iommu *io, uint64_t iova, uint64_t size,
			uint64_t *unmapped)
{
	struct type1 *t = to_t1(io);
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = size,
	};
	int r;

	*unmapped = 0;
	if (!t->iommu_set)
		return no_group_yet(io);
	r = vfc_iommu_timed_ioctl(io, t->container, VFIO_IOMMU_UNMAP_DMA, &u);
	if (r)
		return vfc_fail(io->ctx, r,
				r == EINVAL ? "unmap whole mappings, page-aligned" : NULL,
				"unmapping IOVA 0x%" PRIx64 " size 0x%" PRIx64, iova, size);
	*unmapped = u.size;
	return 0;
}

/* ---- devices ---- */

static int t1_get_device_fd(struct vfc_iommu *io, const struct vfc_bdf *bdf,
			    unsigned int group, int *fd)
{
	char b[VFC_BDF_STRLEN];
	int gfd = group_fd(to_t1(io), group);

	vfc_bdf_format(bdf, b);
	if (gfd < 0)
		return vfc_fail(io->ctx, ENODEV, NULL, "%s: group %u is not attached", b,
				group);
	*fd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, b);
	if (*fd >= 0)
		return 0;
	if (errno == ENODEV)
		return vfc_fail(io->ctx, errno, "bind it to vfio-pci",
				"%s is not a VFIO device of group %u", b, group);
	if (errno == EBUSY)
		return vfc_fail(io->ctx, errno, "another process holds it", "%s is in use", b);
	return vfc_fail(io->ctx, errno, NULL, "%s: opening the VFIO device", b);
}

const struct vfc_iommu_ops vfc_iommu_type1_ops = {
	.name = "type1",
	.create = t1_create,
	.destroy = t1_destroy,
	.add_group = t1_add_group,
	.has_group = t1_has_group,
	.info = t1_info,
	.dma_map = t1_dma_map,
	.dma_unmap = t1_dma_unmap,
	.get_device_fd = t1_get_device_fd,
};
