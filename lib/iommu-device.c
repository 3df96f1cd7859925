// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VFIO devices opened through an IOMMU backend: region info, BAR and config
 * space access. The device-fd API is the same whichever backend handed out
 * the fd (a type1 group or an iommufd-bound cdev), so this lives apart from
 * both backends.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "iommu-priv.h"
#include "uapi-iommufd.h"

_Static_assert(VFC_REGION_READ == VFIO_REGION_INFO_FLAG_READ &&
	       VFC_REGION_WRITE == VFIO_REGION_INFO_FLAG_WRITE &&
	       VFC_REGION_MMAP == VFIO_REGION_INFO_FLAG_MMAP, "region flags");
_Static_assert((int)VFC_REGION_BAR0 == (int)VFIO_PCI_BAR0_REGION_INDEX &&
	       (int)VFC_REGION_ROM == (int)VFIO_PCI_ROM_REGION_INDEX &&
	       (int)VFC_REGION_CONFIG == (int)VFIO_PCI_CONFIG_REGION_INDEX, "region indexes");

/* BARs 0-5, ROM, config, VGA: the regions vfio-pci always numbers. */
#define VDEV_MMAP_SLOTS 9

struct vfc_vdev {
	struct vfc_iommu *io;
	struct vfc_bdf bdf;
	char name[VFC_BDF_STRLEN];
	int fd;
	unsigned int num_regions;
	struct {
		void *addr;
		uint64_t size;
	} mmaps[VDEV_MMAP_SLOTS];
};

/* The device's group number, from its iommu_group link. */
static int device_group(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
			unsigned int *group)
{
	char b[VFC_BDF_STRLEN], name[32];
	vfc_path_t p;
	int r = vfc_path_pci_dev(ctx, p, bdf, NULL);

	vfc_bdf_format(bdf, b);
	if (!r && access(p, F_OK))
		return vfc_fail(ctx, ENODEV, "'vfioctl list' shows the PCI devices",
				"%s: no such PCI device", b);
	if (!r)
		r = vfc_path_pci_dev(ctx, p, bdf, "iommu_group");
	if (!r)
		r = vfc_read_link_name(p, name, sizeof(name));
	if (r == -ENOENT)
		return vfc_fail(ctx, ENODEV,
				"enable the IOMMU (intel_iommu=on / amd_iommu=on) and check 'vfioctl check'",
				"%s has no IOMMU group", b);
	if (!r)
		r = vfc_group_parse(name, group);
	if (r)
		return vfc_fail(ctx, r, NULL, "%s: reading its IOMMU group", b);
	return 0;
}

static int read_device_info(struct vfc_vdev *dev)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	if (ioctl(dev->fd, VFIO_DEVICE_GET_INFO, &info))
		return vfc_fail(dev->io->ctx, errno, NULL, "%s: VFIO_DEVICE_GET_INFO",
				dev->name);
	dev->num_regions = info.num_regions;
	return 0;
}

VFC_EXPORT int vfc_iommu_device_open(struct vfc_iommu *io,
				     const struct vfc_bdf *bdf,
				     struct vfc_vdev **out)
{
	struct vfc_vdev *dev;
	unsigned int group;
	int r;

	*out = NULL;
	if (!io->ops->get_device_fd)
		return vfc_fail(io->ctx, EOPNOTSUPP, NULL,
				"the %s backend cannot open devices", io->ops->name);
	r = device_group(io->ctx, bdf, &group);
	if (!r)
		r = vfc_iommu_add_group(io, group);
	if (r)
		return r;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return vfc_fail(io->ctx, ENOMEM, NULL, "opening a device");
	dev->io = io;
	dev->bdf = *bdf;
	vfc_bdf_format(bdf, dev->name);
	r = io->ops->get_device_fd(io, bdf, group, &dev->fd);
	if (r) {
		free(dev);
		return r;
	}
	r = read_device_info(dev);
	if (!r && vfc_array_push((void **)&io->devs, &io->ndevs, sizeof(dev), &dev))
		r = vfc_fail(io->ctx, ENOMEM, NULL, "opening a device");
	if (r) {
		vfc_vdev_free(dev);
		return r;
	}
	*out = dev;
	return 0;
}

void vfc_vdev_free(struct vfc_vdev *dev)
{
	for (size_t i = 0; i < VDEV_MMAP_SLOTS; i++)
		if (dev->mmaps[i].addr)
			munmap(dev->mmaps[i].addr, dev->mmaps[i].size);
	close(dev->fd);
	free(dev);
}

VFC_EXPORT void vfc_vdev_close(struct vfc_vdev *dev)
{
	struct vfc_iommu *io;

	if (!dev)
		return;
	io = dev->io;
	for (size_t i = 0; i < io->ndevs; i++) {
		if (io->devs[i] != dev)
			continue;
		io->devs[i] = io->devs[--io->ndevs];
		break;
	}
	vfc_vdev_free(dev);
}

VFC_EXPORT int vfc_vdev_fd(const struct vfc_vdev *dev)
{
	return dev->fd;
}

VFC_EXPORT unsigned int vfc_vdev_num_regions(const struct vfc_vdev *dev)
{
	return dev->num_regions;
}

VFC_EXPORT int vfc_vdev_region(struct vfc_vdev *dev, unsigned int index,
			       struct vfc_region *out)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	memset(out, 0, sizeof(*out));
	if (index >= dev->num_regions)
		return vfc_fail(dev->io->ctx, EINVAL, NULL,
				"%s has %u regions, not %u", dev->name,
				dev->num_regions, index + 1);
	if (ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return vfc_fail(dev->io->ctx, errno, NULL, "%s: region %u info",
				dev->name, index);
	out->index = index;
	/* VFC_REGION_{READ,WRITE,MMAP} are the kernel's bits, by design */
	out->flags = ri.flags & (VFIO_REGION_INFO_FLAG_READ |
				 VFIO_REGION_INFO_FLAG_WRITE |
				 VFIO_REGION_INFO_FLAG_MMAP);
	out->size = ri.size;
	out->offset = ri.offset;
	return 0;
}

VFC_EXPORT int vfc_vdev_mmap(struct vfc_vdev *dev, unsigned int index,
			     void **addr, uint64_t *size)
{
	struct vfc_region rg;
	void *p;
	int prot, r;

	if (index < VDEV_MMAP_SLOTS && dev->mmaps[index].addr)
		goto done;
	if ((r = vfc_vdev_region(dev, index, &rg)))
		return r;
	if (index >= VDEV_MMAP_SLOTS || !(rg.flags & VFC_REGION_MMAP) || !rg.size)
		return vfc_fail(dev->io->ctx, EINVAL, NULL,
				"%s: region %u cannot be mmapped", dev->name, index);
	prot = ((rg.flags & VFC_REGION_READ) ? PROT_READ : 0) |
	       ((rg.flags & VFC_REGION_WRITE) ? PROT_WRITE : 0);
	p = mmap(NULL, rg.size, prot, MAP_SHARED, dev->fd, (off_t)rg.offset);
	if (p == MAP_FAILED)
		return vfc_fail(dev->io->ctx, errno, NULL, "%s: mmap of region %u",
				dev->name, index);
	dev->mmaps[index].addr = p;
	dev->mmaps[index].size = rg.size;
done:
	*addr = dev->mmaps[index].addr;
	*size = dev->mmaps[index].size;
	return 0;
}

/* Resolves [offset, offset+len) of a region to an offset in the device fd. */
static int region_span(struct vfc_vdev *dev, unsigned int index,
		       uint64_t offset, size_t len, off_t *pos)
{
	struct vfc_region rg;
	int r = vfc_vdev_region(dev, index, &rg);

	if (r)
		return r;
	if (offset > rg.size || len > rg.size - offset)
		return vfc_fail(dev->io->ctx, EINVAL, NULL,
				"%s: 0x%zx bytes at 0x%" PRIx64 " go past region %u (0x%" PRIx64
				" bytes)", dev->name, len, offset, index, rg.size);
	*pos = (off_t)(rg.offset + offset);
	return 0;
}

VFC_EXPORT int vfc_vdev_read(struct vfc_vdev *dev, unsigned int index,
			     uint64_t offset, void *buf, size_t len)
{
	size_t got = 0;
	off_t pos;
	int r = region_span(dev, index, offset, len, &pos);

	while (!r && got < len) {
		ssize_t n = pread(dev->fd, (char *)buf + got, len - got, pos + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vfc_fail(dev->io->ctx, n < 0 ? errno : EIO, NULL,
					"%s: reading region %u at 0x%" PRIx64, dev->name,
					index, offset + got);
		got += (size_t)n;
	}
	return r;
}

VFC_EXPORT int vfc_vdev_write(struct vfc_vdev *dev, unsigned int index,
			      uint64_t offset, const void *buf, size_t len)
{
	size_t put = 0;
	off_t pos;
	int r = region_span(dev, index, offset, len, &pos);

	while (!r && put < len) {
		ssize_t n = pwrite(dev->fd, (const char *)buf + put, len - put,
				   pos + (off_t)put);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vfc_fail(dev->io->ctx, n < 0 ? errno : EIO, NULL,
					"%s: writing region %u at 0x%" PRIx64, dev->name,
					index, offset + put);
		put += (size_t)n;
	}
	return r;
}

/* ---- BARs as dma-bufs ---- */

size_t vfc_dma_buf_cmd(void *buf, size_t len, unsigned int index, uint64_t offset,
		       uint64_t length)
{
	struct vfio_device_feature hdr = {
		.flags = VFIO_DEVICE_FEATURE_GET | VFC_VFIO_DEVICE_FEATURE_DMA_BUF,
	};
	struct vfc_k_feature_dma_buf db = {
		.region_index = index,
		.open_flags = O_RDWR | O_CLOEXEC,
		.nr_ranges = 1,
	};
	struct vfc_k_dma_range range = { .offset = offset, .length = length };
	size_t need = sizeof(hdr) + sizeof(db) + sizeof(range);

	if (len < need)
		return 0;
	hdr.argsz = (uint32_t)need;
	memset(buf, 0, need);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy((uint8_t *)buf + sizeof(hdr), &db, sizeof(db));
	memcpy((uint8_t *)buf + sizeof(hdr) + sizeof(db), &range, sizeof(range));
	return need;
}

int vfc_dma_buf_probe_fd(int fd)
{
	struct vfio_device_feature probe = {
		.argsz = sizeof(probe),
		.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
			 VFC_VFIO_DEVICE_FEATURE_DMA_BUF,
	};

	if (!ioctl(fd, VFIO_DEVICE_FEATURE, &probe))
		return 1;
	return errno == ENOTTY || errno == EOPNOTSUPP ? 0 : -errno;
}

VFC_EXPORT int vfc_vdev_dma_buf_probe(struct vfc_vdev *dev)
{
	return vfc_dma_buf_probe_fd(dev->fd);
}

static int dma_buf_error(struct vfc_vdev *dev, int err, unsigned int index)
{
	if (err == ENOTTY || err == EOPNOTSUPP)
		return vfc_fail(dev->io->ctx, EOPNOTSUPP,
				"it needs kernel 6.19+ with CONFIG_VFIO_PCI_DMABUF",
				"%s: this kernel does not export BARs as dma-bufs (VFIO_DEVICE_FEATURE_DMA_BUF)",
				dev->name);
	if (err == EINVAL)
		return vfc_fail(dev->io->ctx, err,
				"the range must be page-aligned and inside the BAR",
				"%s: BAR %u cannot be exported as a dma-buf", dev->name, index);
	return vfc_fail(dev->io->ctx, err, NULL, "%s: exporting BAR %u as a dma-buf",
			dev->name, index);
}

VFC_EXPORT int vfc_vdev_dma_buf(struct vfc_vdev *dev, unsigned int index, uint64_t offset,
				uint64_t len, int *fd)
{
	uint8_t arg[64];
	struct vfc_region rg;
	int r = vfc_vdev_region(dev, index, &rg);

	*fd = -1;
	if (r)
		return r;
	if (index >= VFC_REGION_ROM || !rg.size)
		return vfc_fail(dev->io->ctx, EINVAL, NULL, "%s: region %u is not a BAR in use",
				dev->name, index);
	if (!len && offset < rg.size)
		len = rg.size - offset;
	if (!vfc_dma_buf_cmd(arg, sizeof(arg), index, offset, len))
		return vfc_fail(dev->io->ctx, EINVAL, NULL, "dma-buf argument");
	/* the answer is the new descriptor itself */
	*fd = ioctl(dev->fd, VFIO_DEVICE_FEATURE, arg);
	if (*fd >= 0)
		return 0;
	return dma_buf_error(dev, errno, index);
}
