// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The iommufd backend: one IOAS (an I/O address space) in /dev/iommu, and
 * every device of the groups added bound to it through its VFIO cdev
 * (/dev/vfio/devices/vfioN: VFIO_DEVICE_BIND_IOMMUFD, then
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT to the IOAS). Memory is mapped by address
 * (IOAS_MAP) or by file (IOAS_MAP_FILE: memfds, and BARs exported as
 * dma-bufs). Kernel errors are turned into the cause users hit (see
 * design/kernel-facts.md): ENOMEM is RLIMIT_MEMLOCK, checked in the default
 * mode against every pin of the *user*, which shows in VmPin, not VmLck.
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

#include "iommu-priv.h"
#include "uapi-iommufd.h"

struct ifd_dev {
	struct vfc_iommu_dev d;
	int fd; /* the bound cdev */
};

struct ifd {
	struct vfc_iommu base;
	int fd; /* /dev/iommu */
	uint32_t ioas;
	struct ifd_dev *devs;
	size_t ndevs;
	unsigned int *groups;
	size_t ngroups;
};

static struct ifd *to_ifd(struct vfc_iommu *io)
{
	return container_of(io, struct ifd, base);
}

/* ---- arguments and answers (pure) ---- */

static uint32_t map_flags(unsigned int flags)
{
	/* always at a fixed IOVA: the caller's layout, checked by the library */
	return VFC_IOAS_MAP_FIXED_IOVA |
	       ((flags & VFC_MAP_READ) ? VFC_IOAS_MAP_READABLE : 0) |
	       ((flags & VFC_MAP_WRITE) ? VFC_IOAS_MAP_WRITEABLE : 0);
}

void vfc_ifd_map_cmd(struct vfc_k_ioas_map *m, uint32_t ioas, const void *vaddr,
		     uint64_t iova, uint64_t size, unsigned int flags)
{
	memset(m, 0, sizeof(*m));
	m->size = sizeof(*m);
	m->flags = map_flags(flags);
	m->ioas_id = ioas;
	m->user_va = (uintptr_t)vaddr;
	m->length = size;
	m->iova = iova;
}

void vfc_ifd_map_file_cmd(struct vfc_k_ioas_map_file *m, uint32_t ioas, int fd,
			  uint64_t offset, uint64_t iova, uint64_t size,
			  unsigned int flags)
{
	memset(m, 0, sizeof(*m));
	m->size = sizeof(*m);
	m->flags = map_flags(flags);
	m->ioas_id = ioas;
	m->fd = fd;
	m->start = offset;
	m->length = size;
	m->iova = iova;
}

int vfc_ifd_ranges_parse(const struct vfc_k_iova_range *r, uint32_t n,
			 uint64_t alignment, struct vfc_iommu_info *out)
{
	struct vfc_iova_range *ranges = calloc(n ? n : 1, sizeof(*ranges));

	if (!ranges)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		if (r[i].start > r[i].last) {
			free(ranges);
			return -EINVAL;
		}
		ranges[i] = (struct vfc_iova_range){ r[i].start, r[i].last };
	}
	free(out->ranges);
	out->ranges = ranges;
	out->nranges = n;
	out->iova_alignment = alignment;
	return 0;
}

/* ---- errors (pure but for the context they are recorded in) ---- */

int vfc_ifd_open_error(struct vfc_ctx *ctx, int err, const char *node)
{
	/* the kernel cannot: not supported, whatever the open said */
	if (err == ENOENT || err == ENODEV || err == ENXIO)
		return vfc_fail(ctx, EOPNOTSUPP,
				"the kernel needs CONFIG_IOMMUFD (Debian's kernels have none); use --backend type1",
				"%s: this kernel has no iommufd", node);
	if (err == EACCES || err == EPERM)
		return vfc_fail(ctx, err,
				"run as root, or give this user /dev/iommu and the devices' cdevs",
				"opening %s", node);
	return vfc_fail(ctx, err, NULL, "opening %s", node);
}

int vfc_ifd_cdev_error(struct vfc_ctx *ctx, int err, const char *bdf,
		       const char *node, const char *holders)
{
	if (err == ENOENT)
		return vfc_fail(ctx, err,
				"sysfs names the cdev but /dev has no node: is devtmpfs mounted, has udev run?",
				"%s: %s does not exist", bdf, node);
	if (err == EACCES || err == EPERM)
		return vfc_fail(ctx, err,
				"run as root, or give this user the cdev (and /dev/iommu)",
				"%s: opening %s", bdf, node);
	if (err == ENODEV)
		return vfc_fail(ctx, err, "it left vfio-pci: bind it again",
				"%s: %s is gone", bdf, node);
	return vfc_fail(ctx, err, holders && holders[0] ? holders : NULL, "%s: opening %s",
			bdf, node);
}

int vfc_ifd_bind_error(struct vfc_ctx *ctx, int err, const char *bdf,
		       unsigned int group, const char *holders)
{
	char hint[320];

	switch (err) {
	case EBUSY:
		/* vfio_device_block_group(): the legacy group is open, or a
		 * member of the group is still the kernel's (DMA ownership) */
		snprintf(hint, sizeof(hint), "%s",
			 holders && holders[0] ? holders :
			 "another process (QEMU?) holds its group node /dev/vfio/N: stop it first");
		return vfc_fail(ctx, err, hint,
				"%s: binding it to iommufd: it is in use through IOMMU group %u", bdf,
				group);
	case EINVAL:
		/* vfio_df_open(): the cdev path opens a device once */
		snprintf(hint, sizeof(hint), "%s",
			 holders && holders[0] ? holders : "another process has bound it through its cdev");
		return vfc_fail(ctx, err, hint, "%s: binding it to iommufd: it is already open", bdf);
	case ENOTTY:
		return vfc_fail(ctx, err, "the kernel needs VFIO_DEVICE_CDEV (6.6+): use --backend type1",
				"%s: the cdev does not take VFIO_DEVICE_BIND_IOMMUFD", bdf);
	default:
		return vfc_fail(ctx, err, NULL, "%s: VFIO_DEVICE_BIND_IOMMUFD", bdf);
	}
}

static int memlock_error(struct vfc_ctx *ctx, const struct vfc_ifd_fail *f)
{
	char lim[32] = "unlimited", hint[256];

	if (f->rlimit != UINT64_MAX)
		vfc_size_format(f->rlimit, lim, sizeof(lim));
	if (f->rlimit_mode == 1) {
		snprintf(hint, sizeof(hint),
			 "raise it (ulimit -l, LimitMEMLOCK=, limits.conf) or use CAP_IPC_LOCK; in per-process mode VmLck counts what this process pinned");
		return vfc_fail(ctx, ENOMEM, hint,
				"pinning 0x%" PRIx64 " bytes exceeds the locked-memory limit (RLIMIT_MEMLOCK %s, iommufd per-process accounting)",
				f->size, lim);
	}
	snprintf(hint, sizeof(hint),
		 "raise it (ulimit -l, LimitMEMLOCK=, limits.conf) or use CAP_IPC_LOCK; iommufd's pins show in VmPin, not VmLck, and 'vfioctl memlock' sums them per user");
	return vfc_fail(ctx, ENOMEM, hint,
			"pinning 0x%" PRIx64 " bytes exceeds the locked-memory limit (RLIMIT_MEMLOCK %s), which iommufd checks against the pins of every process of uid %u together (per-user accounting)",
			f->size, lim, (unsigned int)f->uid);
}

static int einval_error(struct vfc_ctx *ctx, const struct vfc_ifd_fail *f)
{
	char why[256] = "";

	if (f->info)
		vfc_iommu_check_map(f->info, f->file ? 0 : (uintptr_t)f->vaddr, f->iova, f->size,
				    why, sizeof(why));
	if (why[0])
		return vfc_fail(ctx, EINVAL, "'vfioctl container' shows the IOVA ranges",
				"mapping IOVA 0x%" PRIx64 ": %s", f->iova, why);
	if (f->file)
		return vfc_fail(ctx, EINVAL, "the range must lie inside the file (or dma-buf)",
				"the kernel refused to map 0x%" PRIx64 " bytes of the file at IOVA 0x%" PRIx64,
				f->size, f->iova);
	return vfc_fail(ctx, EINVAL, NULL,
			"the kernel refused to map IOVA 0x%" PRIx64 " size 0x%" PRIx64, f->iova,
			f->size);
}

int vfc_ifd_map_error(struct vfc_ctx *ctx, const struct vfc_ifd_fail *f)
{
	const char *what = f->file ? "IOMMU_IOAS_MAP_FILE" : "IOMMU_IOAS_MAP";

	switch (f->err) {
	case ENOMEM:
		return memlock_error(ctx, f);
	case EINVAL:
		return einval_error(ctx, f);
	case EEXIST:
		return vfc_fail(ctx, EEXIST, "another user of this IOAS mapped it",
				"IOVA 0x%" PRIx64 " size 0x%" PRIx64 " overlaps an existing mapping",
				f->iova, f->size);
	case EFAULT:
		if (f->file)
			break;
		return vfc_fail(ctx, EFAULT,
				"map memory the process owns; a BAR's mmap is refused by iommufd: export the BAR as a dma-buf (map --mode no-pin)",
				"the memory at %p cannot be pinned", f->vaddr);
	case EOVERFLOW:
		return vfc_fail(ctx, EOVERFLOW, NULL,
				"IOVA 0x%" PRIx64 " size 0x%" PRIx64 " wraps around", f->iova, f->size);
	case ENOTTY:
		if (!f->file)
			break;
		return vfc_fail(ctx, EOPNOTSUPP, "map the file's mmap with IOMMU_IOAS_MAP instead",
				"this kernel has no IOMMU_IOAS_MAP_FILE (6.13+)");
	case EOPNOTSUPP:
		if (!f->file)
			break;
		return vfc_fail(ctx, EOPNOTSUPP, "map the file's mmap with IOMMU_IOAS_MAP instead",
				"this kernel cannot map this kind of file by descriptor (memfds need 6.13, dma-bufs 6.19)");
	case ENODEV:
		if (!f->file)
			break;
		return vfc_fail(ctx, ENODEV, "turn the device's memory decode on (PCI command bit 1)",
				"the dma-buf is revoked: its device's memory decode is off, or it was reset");
	case EBADF:
		return vfc_fail(ctx, EBADF, NULL, "%s: not an open file", what);
	}
	return vfc_fail(ctx, f->err, NULL, "%s of IOVA 0x%" PRIx64 " size 0x%" PRIx64, what,
			f->iova, f->size);
}

/* ---- the IOAS ---- */

static int ifd_create(struct vfc_ctx *ctx, struct vfc_iommu **out)
{
	struct vfc_k_ioas_alloc a = { .size = sizeof(a) };
	struct ifd *f = calloc(1, sizeof(*f));
	vfc_path_t p;
	int r;

	if (!f)
		return vfc_fail(ctx, ENOMEM, NULL, "opening /dev/iommu");
	r = vfc_path_root(ctx, p, "/dev/iommu");
	if (r) {
		free(f);
		return vfc_fail(ctx, -r, NULL, "path too long");
	}
	f->fd = open(p, O_RDWR | O_CLOEXEC);
	if (f->fd < 0) {
		r = vfc_ifd_open_error(ctx, errno, vfc_path_strip(ctx, p));
		free(f);
		return r;
	}
	if (ioctl(f->fd, VFC_IOMMU_IOAS_ALLOC, &a)) {
		r = vfc_fail(ctx, errno, NULL, "IOMMU_IOAS_ALLOC");
		close(f->fd);
		free(f);
		return r;
	}
	f->ioas = a.out_ioas_id;
	*out = &f->base;
	return 0;
}

static void drop_dev(struct ifd_dev *d)
{
	struct vfc_k_detach_pt det = { .argsz = sizeof(det) };

	/* closing would detach too; asking first makes the order explicit */
	if (d->d.hwpt)
		ioctl(d->fd, VFC_VFIO_DEVICE_DETACH_IOMMUFD_PT, &det);
	close(d->fd);
}

static void ifd_release_devices(struct vfc_iommu *io)
{
	struct ifd *f = to_ifd(io);

	while (f->ndevs)
		drop_dev(&f->devs[--f->ndevs]);
}

static void ifd_destroy(struct vfc_iommu *io)
{
	struct ifd *f = to_ifd(io);
	struct vfc_k_destroy d = { .size = sizeof(d), .id = f->ioas };

	ifd_release_devices(io);
	/* closing /dev/iommu would destroy it as well; this says so */
	ioctl(f->fd, VFC_IOMMU_DESTROY, &d);
	close(f->fd);
	free(f->devs);
	free(f->groups);
	free(f);
}

/* ---- devices ---- */

static bool ifd_has_group(struct vfc_iommu *io, unsigned int group)
{
	struct ifd *f = to_ifd(io);

	for (size_t i = 0; i < f->ngroups; i++)
		if (f->groups[i] == group)
			return true;
	return false;
}

/* Who has the device's cdev or group node open, each with the node it holds,
 * for a hint ("" if nobody, or when /proc cannot say). */
static void holders(struct vfc_ctx *ctx, const struct vfc_device *dev, char *buf, size_t len)
{
	char gnode[64], cnode[64];
	struct vfc_scan sc = { 0 };
	struct vfc_why w = { .n = 0 };
	size_t used = 0;

	buf[0] = '\0';
	vfc_device_vfio_nodes(ctx, dev, gnode, sizeof(gnode), cnode, sizeof(cnode));
	/* fills sc with every VFIO descriptor of every process it can read */
	if (vfc_safety_vfio_open(ctx, dev, &w, &sc) > 0) {
		for (size_t i = 0; i < sc.nfds && used < len; i++) {
			const struct vfc_vfio_fd *f = &sc.fds[i];
			bool dup = false;

			if (strcmp(f->target, gnode) && strcmp(f->target, cnode))
				continue;
			for (size_t j = 0; j < i; j++)
				dup |= sc.fds[j].pid == f->pid && !strcmp(sc.fds[j].target, f->target);
			if (!dup)
				used += (size_t)snprintf(buf + used, len - used, "%s%s is open in %s[%d]",
							 used ? "; " : "", f->target, f->comm,
							 (int)f->pid);
		}
	}
	vfc_scan_clear(&sc);
}

static int open_cdev(struct vfc_iommu *io, const struct vfc_device *dev, struct ifd_dev *d)
{
	char b[VFC_BDF_STRLEN], who[256];
	unsigned int n;
	vfc_path_t p;
	int r = vfc_device_cdev(io->ctx, &dev->bdf, &n);

	vfc_bdf_format(&dev->bdf, b);
	/* it is on vfio-pci (add_group asked): the kernel has no cdevs */
	if (r == -ENOENT)
		return vfc_fail(io->ctx, EOPNOTSUPP,
				"the kernel lacks VFIO_DEVICE_CDEV (6.6+): use --backend type1",
				"%s has no VFIO device cdev (no vfio-dev/vfioN in sysfs)", b);
	if (!r)
		r = vfc_path_dev_vfio_cdev(io->ctx, p, n);
	if (r)
		return vfc_fail(io->ctx, -r, NULL, "%s: finding its VFIO cdev", b);
	snprintf(d->d.cdev, sizeof(d->d.cdev), "%s", vfc_path_strip(io->ctx, p));
	d->fd = open(p, O_RDWR | O_CLOEXEC);
	if (d->fd >= 0)
		return 0;
	r = errno;
	holders(io->ctx, dev, who, sizeof(who));
	return vfc_ifd_cdev_error(io->ctx, r, b, d->d.cdev, who);
}

static int bind_attach(struct vfc_iommu *io, const struct vfc_device *dev, struct ifd_dev *d)
{
	struct ifd *f = to_ifd(io);
	struct vfc_k_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = f->fd };
	struct vfc_k_attach_pt at = { .argsz = sizeof(at), .pt_id = f->ioas };
	char b[VFC_BDF_STRLEN], who[256];
	int r;

	vfc_bdf_format(&dev->bdf, b);
	if (ioctl(d->fd, VFC_VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
		r = errno;
		close(d->fd); /* ours must not be among the holders named */
		d->fd = -1;
		holders(io->ctx, dev, who, sizeof(who));
		return vfc_ifd_bind_error(io->ctx, r, b, d->d.group, who);
	}
	d->d.devid = bind.out_devid;
	if (ioctl(d->fd, VFC_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at)) {
		r = errno;
		return vfc_fail(io->ctx, r,
				r == EINVAL ? "its IOMMU cannot share a page table with the devices already attached" : NULL,
				"%s: attaching it to IOAS %u", b, f->ioas);
	}
	d->d.hwpt = at.pt_id;
	d->d.dma_buf = -1;
	return 0;
}

static int add_device(struct vfc_iommu *io, const struct vfc_device *dev, unsigned int group)
{
	struct ifd *f = to_ifd(io);
	struct ifd_dev d = { .d = { .bdf = dev->bdf, .group = group, .dma_buf = -1 }, .fd = -1 };
	int r = open_cdev(io, dev, &d);

	if (!r)
		r = bind_attach(io, dev, &d);
	if (!r && vfc_array_push((void **)&f->devs, &f->ndevs, sizeof(d), &d))
		r = vfc_fail(io->ctx, ENOMEM, NULL, "adding a device");
	if (r && d.fd >= 0)
		drop_dev(&d);
	return r;
}

static int not_viable(struct vfc_ctx *ctx, const struct vfc_group *g)
{
	char b[VFC_BDF_STRLEN];

	return vfc_fail(ctx, EBUSY, "bind it to vfio-pci too, or unbind it",
			"group %d is not viable: %s is bound to %s", g->id,
			vfc_bdf_format(&g->devices[g->blocker].bdf, b),
			g->devices[g->blocker].driver);
}

/* Every device of the group on vfio-pci is bound and attached, or none is. */
static int ifd_add_group(struct vfc_iommu *io, unsigned int group)
{
	struct ifd *f = to_ifd(io);
	size_t before = f->ndevs, bound = 0;
	struct vfc_group g;
	int r = vfc_group_read(io->ctx, group, &g);

	if (r)
		return r;
	if (!g.viable)
		r = not_viable(io->ctx, &g);
	for (size_t i = 0; i < g.ndevices && !r; i++) {
		if (!vfc_driver_is_vfio(g.devices[i].driver))
			continue; /* bridges, pci-stub and unbound devices stay out */
		r = add_device(io, &g.devices[i], group);
		bound++;
	}
	if (!r && !bound)
		r = vfc_fail(io->ctx, ENODEV, "bind a device of it to vfio-pci",
			     "IOMMU group %u has no device on vfio-pci", group);
	if (!r && vfc_array_push((void **)&f->groups, &f->ngroups, sizeof(group), &group))
		r = vfc_fail(io->ctx, ENOMEM, NULL, "adding group %u", group);
	while (r && f->ndevs > before)
		drop_dev(&f->devs[--f->ndevs]);
	vfc_group_clear(&g);
	return r;
}

static int ifd_get_device_fd(struct vfc_iommu *io, const struct vfc_bdf *bdf,
			     unsigned int group, int *fd)
{
	struct ifd *f = to_ifd(io);
	char b[VFC_BDF_STRLEN];

	vfc_bdf_format(bdf, b);
	for (size_t i = 0; i < f->ndevs; i++) {
		if (vfc_bdf_cmp(&f->devs[i].d.bdf, bdf))
			continue;
		/* the cdev binds once: the caller gets the same open file */
		*fd = fcntl(f->devs[i].fd, F_DUPFD_CLOEXEC, 3);
		if (*fd < 0)
			return vfc_fail(io->ctx, errno, NULL, "%s: duplicating its cdev descriptor", b);
		return 0;
	}
	return vfc_fail(io->ctx, ENODEV, "bind it to vfio-pci",
			"%s is not a VFIO device of group %u", b, group);
}

/* ---- info ---- */

static int read_ranges(struct vfc_iommu *io, struct vfc_iommu_info *out)
{
	struct ifd *f = to_ifd(io);
	struct vfc_k_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = f->ioas };
	struct vfc_k_iova_range *r = NULL;
	int ret;

	/* the first call says how many there are; they may change in between */
	for (int tries = 0; tries < 4; tries++) {
		q.allowed_iovas = (uintptr_t)r;
		if (!ioctl(f->fd, VFC_IOMMU_IOAS_IOVA_RANGES, &q)) {
			ret = vfc_ifd_ranges_parse(r, q.num_iovas, q.out_iova_alignment, out);
			free(r);
			return ret ? vfc_fail(io->ctx, -ret, NULL, "IOMMU_IOAS_IOVA_RANGES: %s",
					      ret == -EINVAL ? "a malformed range" : "no memory") : 0;
		}
		if (errno != EMSGSIZE)
			break;
		free(r);
		r = calloc(q.num_iovas ? q.num_iovas : 1, sizeof(*r));
		if (!r)
			return vfc_fail(io->ctx, ENOMEM, NULL, "IOMMU_IOAS_IOVA_RANGES");
	}
	ret = errno;
	free(r);
	return vfc_fail(io->ctx, ret, NULL, "IOMMU_IOAS_IOVA_RANGES");
}

static int get_option(struct ifd *f, uint32_t option, uint32_t object)
{
	struct vfc_k_option o = { .size = sizeof(o), .option_id = option,
				  .op = VFC_IOMMU_OPTION_OP_GET, .object_id = object };

	return ioctl(f->fd, VFC_IOMMU_OPTION, &o) ? -1 : (int)o.val64;
}

/* A size below any struct: a kernel that knows the ioctl says EINVAL,
 * one that does not says ENOTTY, and nothing is mapped either way. */
static int has_map_file(struct ifd *f)
{
	struct vfc_k_ioas_map_file m = { .size = 0 };

	if (!ioctl(f->fd, VFC_IOMMU_IOAS_MAP_FILE, &m))
		return 1;
	return errno == ENOTTY ? 0 : 1;
}

static int ifd_info(struct vfc_iommu *io, struct vfc_iommu_info *out)
{
	struct ifd *f = to_ifd(io);
	int r = read_ranges(io, out);

	if (r)
		return r;
	out->backend = VFC_BACKEND_IOMMUFD;
	out->model = "iommufd";
	out->ioas = f->ioas;
	out->rlimit_mode = get_option(f, VFC_IOMMU_OPTION_RLIMIT_MODE, 0);
	out->huge_pages = get_option(f, VFC_IOMMU_OPTION_HUGE_PAGES, f->ioas);
	out->map_file = has_map_file(f);
	out->devs = calloc(f->ndevs ? f->ndevs : 1, sizeof(*out->devs));
	if (!out->devs) {
		vfc_iommu_info_clear(out);
		return vfc_fail(io->ctx, ENOMEM, NULL, "IOMMU info");
	}
	for (size_t i = 0; i < f->ndevs; i++) {
		int p = vfc_dma_buf_probe_fd(f->devs[i].fd);

		out->devs[i] = f->devs[i].d;
		out->devs[i].dma_buf = p < 0 ? -1 : p;
	}
	out->ndevs = f->ndevs;
	return 0;
}

/* ---- DMA ---- */

static int map_failed(struct vfc_iommu *io, struct vfc_ifd_fail *fl)
{
	struct vfc_iommu_info info = { 0 };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	int r;

	getrlimit(RLIMIT_MEMLOCK, &rl);
	fl->rlimit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
	fl->uid = getuid();
	fl->rlimit_mode = get_option(to_ifd(io), VFC_IOMMU_OPTION_RLIMIT_MODE, 0);
	if (fl->err == EINVAL && !ifd_info(io, &info))
		fl->info = &info;
	r = vfc_ifd_map_error(io->ctx, fl);
	vfc_iommu_info_clear(&info);
	return r;
}

static int ifd_dma_map(struct vfc_iommu *io, void *vaddr, uint64_t iova, uint64_t size,
		       unsigned int flags)
{
	struct ifd *f = to_ifd(io);
	struct vfc_k_ioas_map m;
	int r;

	if (flags & VFC_MAP_NO_PIN)
		return vfc_fail(io->ctx, EOPNOTSUPP,
				"export the BAR as a dma-buf (vfc_vdev_dma_buf) and map that file",
				"iommufd has no don't-pin flag for IOMMU_IOAS_MAP");
	vfc_ifd_map_cmd(&m, f->ioas, vaddr, iova, size, flags);
	r = vfc_iommu_timed_ioctl(io, f->fd, VFC_IOMMU_IOAS_MAP, &m);
	if (r)
		return map_failed(io, &(struct vfc_ifd_fail){ .err = r, .iova = iova, .size = size,
							      .vaddr = vaddr });
	return 0;
}

static int ifd_dma_map_file(struct vfc_iommu *io, int fd, uint64_t offset, uint64_t iova,
			    uint64_t size, unsigned int flags)
{
	struct ifd *f = to_ifd(io);
	struct vfc_k_ioas_map_file m;
	int r;

	vfc_ifd_map_file_cmd(&m, f->ioas, fd, offset, iova, size, flags);
	r = vfc_iommu_timed_ioctl(io, f->fd, VFC_IOMMU_IOAS_MAP_FILE, &m);
	if (r)
		return map_failed(io, &(struct vfc_ifd_fail){ .err = r, .file = true, .iova = iova,
							      .size = size });
	return 0;
}

static int ifd_dma_unmap(struct vfc_iommu *io, uint64_t iova, uint64_t size,
			 uint64_t *unmapped)
{
	struct ifd *f = to_ifd(io);
	struct vfc_k_ioas_unmap u = { .size = sizeof(u), .ioas_id = f->ioas, .iova = iova,
				      .length = size };
	int r;

	*unmapped = 0;
	r = vfc_iommu_timed_ioctl(io, f->fd, VFC_IOMMU_IOAS_UNMAP, &u);
	if (r)
		return vfc_fail(io->ctx, r,
				r == ENOENT ? "nothing the IOAS knows is mapped there" :
				r == EINVAL ? "unmap whole mappings, aligned" : NULL,
				"unmapping IOVA 0x%" PRIx64 " size 0x%" PRIx64, iova, size);
	*unmapped = u.length;
	return 0;
}

static int ifd_set_huge_pages(struct vfc_iommu *io, bool on)
{
	struct ifd *f = to_ifd(io);
	struct vfc_k_option o = { .size = sizeof(o), .option_id = VFC_IOMMU_OPTION_HUGE_PAGES,
				  .op = VFC_IOMMU_OPTION_OP_SET, .object_id = f->ioas,
				  .val64 = on };

	if (!ioctl(f->fd, VFC_IOMMU_OPTION, &o))
		return 0;
	return vfc_fail(io->ctx, errno, errno == EINVAL ? "set it before the first mapping" : NULL,
			"IOMMU_OPTION HUGE_PAGES=%d on IOAS %u", on, f->ioas);
}

/* ---- I/O page faults: what vfc_iopf_start() needs of a device of ours ---- */

static int ifd_iopf_cfg(struct vfc_iommu *io, const struct vfc_bdf *bdf,
			struct vfc_iopf_cfg *cfg)
{
	struct ifd *f = to_ifd(io);
	struct ifd_dev *d = NULL;
	size_t same = 0;
	char b[VFC_BDF_STRLEN];

	vfc_bdf_format(bdf, b);
	for (size_t i = 0; i < f->ndevs; i++)
		if (!vfc_bdf_cmp(&f->devs[i].d.bdf, bdf))
			d = &f->devs[i];
	if (!d)
		return vfc_fail(io->ctx, ENODEV, "add its IOMMU group first",
				"%s is not a device of this IOAS", b);
	for (size_t i = 0; i < f->ndevs; i++)
		same += f->devs[i].d.group == d->d.group;
	/* one page table serves a whole group: moving one device would move them all */
	if (same > 1)
		return vfc_fail(io->ctx, EOPNOTSUPP,
				"IOPF here takes a device whose IOMMU group has no other device "
				"on vfio-pci",
				"IOMMU group %u has %zu devices in this IOAS", d->d.group, same);
	cfg->iommufd = f->fd;
	cfg->ioas_id = f->ioas;
	cfg->dev_id = d->d.devid;
	cfg->cdev_fd = d->fd;
	cfg->attach = NULL;
	cfg->attach_data = NULL;
	cfg->restore_pt_id = d->d.hwpt;
	return 0;
}

const struct vfc_iommu_ops vfc_iommu_iommufd_ops = {
	.name = "iommufd",
	.create = ifd_create,
	.destroy = ifd_destroy,
	.add_group = ifd_add_group,
	.has_group = ifd_has_group,
	.info = ifd_info,
	.dma_map = ifd_dma_map,
	.dma_unmap = ifd_dma_unmap,
	.get_device_fd = ifd_get_device_fd,
	.dma_map_file = ifd_dma_map_file,
	.set_huge_pages = ifd_set_huge_pages,
	.release_devices = ifd_release_devices,
	.iopf_cfg = ifd_iopf_cfg,
};
