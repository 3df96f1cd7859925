// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The iommufd backend's pure parts: the ioctl arguments it builds, the IOVA
 * ranges it reads, the errors it explains, and which backend `auto` picks
 * for a fake sysroot (made here file by file, the way sysfs lays it out).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iommu-priv.h"
#include "tap.h"
#include "uapi-iommufd.h"

static void test_parse(void)
{
	enum vfc_backend b = VFC_BACKEND_TYPE1;

	ok(!vfc_backend_parse("auto", &b) && b == VFC_BACKEND_AUTO, "auto");
	ok(!vfc_backend_parse("type1", &b) && b == VFC_BACKEND_TYPE1, "type1");
	ok(!vfc_backend_parse("iommufd", &b) && b == VFC_BACKEND_IOMMUFD, "iommufd");
	is_int(vfc_backend_parse("IOMMUFD", &b), -EINVAL, "names are lower case");
	is_int(vfc_backend_parse("vfio", &b), -EINVAL, "vfio is not a backend name");
	is_int(vfc_backend_parse("", &b), -EINVAL, "empty");
	is_int(vfc_backend_parse(NULL, &b), -EINVAL, "NULL");
	is_str(vfc_backend_str(VFC_BACKEND_IOMMUFD), "iommufd", "and back");
}

static void test_ioctl_numbers(void)
{
	/* the numbers design/kernel-facts.md gives: type ';', 0x80 + n, no size */
	is_u64(VFC_IOMMU_IOAS_ALLOC, 0x3b81, "IOAS_ALLOC is _IO(';', 0x81)");
	is_u64(VFC_IOMMU_IOAS_MAP, 0x3b85, "IOAS_MAP 0x85");
	is_u64(VFC_IOMMU_IOAS_UNMAP, 0x3b86, "IOAS_UNMAP 0x86");
	is_u64(VFC_IOMMU_OPTION, 0x3b87, "OPTION 0x87");
	is_u64(VFC_IOMMU_IOAS_MAP_FILE, 0x3b8f, "IOAS_MAP_FILE 0x8f");
	is_u64(VFC_VFIO_DEVICE_BIND_IOMMUFD, _IO(';', 100 + 18), "BIND_IOMMUFD is VFIO_BASE + 18");
	is_u64(VFC_VFIO_DEVICE_ATTACH_IOMMUFD_PT, _IO(';', 119), "ATTACH VFIO_BASE + 19");
	is_u64(VFC_VFIO_DEVICE_DETACH_IOMMUFD_PT, _IO(';', 120), "DETACH VFIO_BASE + 20");
}

static void test_map_cmd(void)
{
	struct vfc_k_ioas_map m;
	struct vfc_k_ioas_map_file f;
	char page[1];

	vfc_ifd_map_cmd(&m, 7, page, 0x100000, 0x200000, VFC_MAP_RW);
	is_int(m.size, 40, "IOAS_MAP size is the struct's");
	is_u64(m.flags, VFC_IOAS_MAP_FIXED_IOVA | VFC_IOAS_MAP_READABLE | VFC_IOAS_MAP_WRITEABLE,
	       "read+write at a fixed IOVA: 0x7");
	is_u64(m.flags, 0x7, "the kernel's bits");
	is_int(m.ioas_id, 7, "the IOAS");
	is_u64(m.user_va, (uintptr_t)page, "the address");
	is_u64(m.iova, 0x100000, "the IOVA");
	is_u64(m.length, 0x200000, "the length");
	is_int(m.reserved, 0, "reserved is 0 (the kernel refuses anything else)");
	vfc_ifd_map_cmd(&m, 7, page, 0, 4096, VFC_MAP_READ);
	is_u64(m.flags, VFC_IOAS_MAP_FIXED_IOVA | VFC_IOAS_MAP_READABLE, "device reads only: 0x5");
	vfc_ifd_map_cmd(&m, 7, page, 0, 4096, VFC_MAP_WRITE);
	is_u64(m.flags, VFC_IOAS_MAP_FIXED_IOVA | VFC_IOAS_MAP_WRITEABLE, "device writes only: 0x3");

	vfc_ifd_map_file_cmd(&f, 3, 9, 0x200000, 0x40000000, 0x100000, VFC_MAP_RW);
	is_int(f.size, 40, "IOAS_MAP_FILE size");
	is_u64(f.flags, 0x7, "same flags");
	is_int(f.ioas_id, 3, "the IOAS");
	is_int(f.fd, 9, "the descriptor");
	is_u64(f.start, 0x200000, "the file offset");
	is_u64(f.iova, 0x40000000, "the IOVA");
	is_u64(f.length, 0x100000, "the length");
}

static void test_ranges(void)
{
	/* what 7.2 with the emulated VT-d answered (vm-rig.md) */
	const struct vfc_k_iova_range guest[] = {
		{ 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffffULL },
	};
	const struct vfc_k_iova_range bad[] = { { 0x2000, 0x1000 } };
	struct vfc_iommu_info in = { 0 };
	char why[256];

	is_int(vfc_ifd_ranges_parse(guest, 2, 0x1000, &in), 0, "the guest's answer parses");
	is_int(in.nranges, 2, "two ranges");
	is_u64(in.ranges[0].end, 0xfedfffff, "below the MSI window");
	is_u64(in.ranges[1].start, 0xfef00000, "above it");
	is_u64(in.iova_alignment, 0x1000, "alignment 4K");
	is_int(vfc_ifd_ranges_parse(bad, 1, 0x1000, &in), -EINVAL, "a range ending before its start");
	is_int(in.nranges, 2, "leaves what was there");
	/* iommufd reports no page sizes: its alignment is what maps must keep to */
	in.iova_alignment = 0x10000;
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0x1000, 0x10000, why, sizeof(why)),
	       -EINVAL, "an IOVA off a 64K alignment");
	ok(strstr(why, "0x10000") != NULL, "names it: %s", why);
	in.iova_alignment = 0x1000;
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0xfee00000, 0x1000, why, sizeof(why)),
	       -EINVAL, "the MSI window");
	is_int(vfc_iommu_check_map(&in, 0x7f0000000000, 0x1000, 0x1000, why, sizeof(why)), 0,
	       "4K at 4K is fine");
	is_int(vfc_ifd_ranges_parse(NULL, 0, 0x1000, &in), 0, "no range at all");
	ok(in.ranges != NULL && in.nranges == 0, "means nothing is usable, not 'not reported'");
	vfc_iommu_info_clear(&in);
	ok(in.ranges == NULL && in.rlimit_mode == -1 && in.huge_pages == -1 && in.map_file == -1,
	   "clear resets the iommufd fields to unknown");
}

static void test_dma_buf_cmd(void)
{
	uint8_t buf[64];
	struct vfio_device_feature hdr;
	struct vfc_k_feature_dma_buf db;
	struct vfc_k_dma_range r;
	size_t n = vfc_dma_buf_cmd(buf, sizeof(buf), 2, 0x1000, 0x100000);

	is_int(n, 8 + 16 + 16, "header, request, one range");
	memcpy(&hdr, buf, sizeof(hdr));
	memcpy(&db, buf + 8, sizeof(db));
	memcpy(&r, buf + 24, sizeof(r));
	is_int(hdr.argsz, n, "argsz covers it all");
	is_u64(hdr.flags, VFIO_DEVICE_FEATURE_GET | 11, "GET of feature 11");
	is_int(db.region_index, 2, "the BAR");
	is_int(db.open_flags, O_RDWR | O_CLOEXEC, "the new fd: read-write, close-on-exec");
	is_int(db.flags, 0, "no flags");
	is_int(db.nr_ranges, 1, "one range");
	is_u64(r.offset, 0x1000, "its offset");
	is_u64(r.length, 0x100000, "its length");
	is_int(vfc_dma_buf_cmd(buf, 39, 0, 0, 4096), 0, "no room: nothing written");
}

static struct vfc_ctx *ctx;

#define has(s, sub) (strstr((s), (sub)) != NULL)

static void test_map_errors(void)
{
	struct vfc_iommu_info in = { .iova_alignment = 0x1000 };
	struct vfc_ifd_fail f = { .err = ENOMEM, .size = 0x4000000, .rlimit = 64 << 20,
				  .uid = 65534, .rlimit_mode = 0 };
	const struct vfc_k_iova_range r[] = { { 0, 0xfedfffff } };

	is_int(vfc_ifd_map_error(ctx, &f), -ENOMEM, "ENOMEM stays ENOMEM");
	ok(has(vfc_errmsg(ctx), "RLIMIT_MEMLOCK 64M") && has(vfc_errmsg(ctx), "uid 65534") &&
	   has(vfc_errmsg(ctx), "per-user"), "per-user: names the limit and the user: %s",
	   vfc_errmsg(ctx));
	ok(has(vfc_errhint(ctx), "VmPin") && has(vfc_errhint(ctx), "not VmLck"),
	   "and where the pins show: %s", vfc_errhint(ctx));
	f.rlimit_mode = 1;
	vfc_ifd_map_error(ctx, &f);
	ok(has(vfc_errmsg(ctx), "per-process") && has(vfc_errhint(ctx), "VmLck"),
	   "per-process mode: VmLck, like type1: %s", vfc_errhint(ctx));
	f.rlimit = UINT64_MAX;
	vfc_ifd_map_error(ctx, &f);
	ok(has(vfc_errmsg(ctx), "unlimited"), "an unlimited limit is said so");

	vfc_ifd_ranges_parse(r, 1, 0x1000, &in);
	f = (struct vfc_ifd_fail){ .err = EINVAL, .iova = 0xfee00000, .size = 0x1000,
				   .vaddr = (void *)0x7f0000000000, .info = &in };
	is_int(vfc_ifd_map_error(ctx, &f), -EINVAL, "EINVAL");
	ok(has(vfc_errmsg(ctx), "not inside one usable IOVA range"), "explained by the ranges: %s",
	   vfc_errmsg(ctx));
	f.info = NULL;
	vfc_ifd_map_error(ctx, &f);
	ok(has(vfc_errmsg(ctx), "refused to map IOVA 0xfee00000"), "without ranges: plainly");
	vfc_iommu_info_clear(&in);

	f = (struct vfc_ifd_fail){ .err = EFAULT, .iova = 0, .size = 0x100000,
				   .vaddr = (void *)0x7f0000000000 };
	is_int(vfc_ifd_map_error(ctx, &f), -EFAULT, "EFAULT");
	ok(has(vfc_errhint(ctx), "dma-buf") && has(vfc_errhint(ctx), "--mode no-pin"),
	   "points a BAR's mmap to its dma-buf: %s", vfc_errhint(ctx));
	f.err = EEXIST;
	is_int(vfc_ifd_map_error(ctx, &f), -EEXIST, "EEXIST");
	ok(has(vfc_errmsg(ctx), "overlaps"), "overlap");

	f = (struct vfc_ifd_fail){ .err = ENOTTY, .file = true, .size = 4096 };
	is_int(vfc_ifd_map_error(ctx, &f), -EOPNOTSUPP, "MAP_FILE unknown to the kernel: EOPNOTSUPP");
	ok(has(vfc_errmsg(ctx), "no IOMMU_IOAS_MAP_FILE (6.13+)"), "says which: %s",
	   vfc_errmsg(ctx));
	f.err = EOPNOTSUPP;
	is_int(vfc_ifd_map_error(ctx, &f), -EOPNOTSUPP, "a file it cannot map");
	ok(has(vfc_errmsg(ctx), "this kind of file"), "says so");
	f.err = ENODEV;
	is_int(vfc_ifd_map_error(ctx, &f), -ENODEV, "a revoked dma-buf");
	ok(has(vfc_errmsg(ctx), "revoked") && has(vfc_errhint(ctx), "memory decode"),
	   "names memory decode: %s", vfc_errhint(ctx));
	f.file = false;
	f.err = ENOTTY;
	is_int(vfc_ifd_map_error(ctx, &f), -ENOTTY, "ENOTTY of IOAS_MAP stays itself");
}

static void test_device_errors(void)
{
	is_int(vfc_ifd_open_error(ctx, ENOENT, "/dev/iommu"), -EOPNOTSUPP,
	       "no /dev/iommu: not supported (exit 8)");
	ok(has(vfc_errmsg(ctx), "no iommufd") && has(vfc_errhint(ctx), "CONFIG_IOMMUFD") &&
	   has(vfc_errhint(ctx), "--backend type1"), "hint: %s", vfc_errhint(ctx));
	is_int(vfc_ifd_open_error(ctx, EACCES, "/dev/iommu"), -EACCES, "EACCES");
	ok(has(vfc_errhint(ctx), "root"), "run as root");

	is_int(vfc_ifd_bind_error(ctx, EBUSY, "0000:00:08.0", 5, ""), -EBUSY, "EBUSY at bind");
	ok(has(vfc_errmsg(ctx), "in use through IOMMU group 5") &&
	   has(vfc_errhint(ctx), "another process"), "another process: %s", vfc_errhint(ctx));
	vfc_ifd_bind_error(ctx, EBUSY, "0000:00:08.0", 5, "/dev/vfio/5 is open in qemu[42]");
	is_str(vfc_errhint(ctx), "/dev/vfio/5 is open in qemu[42]", "names the holder when known");
	is_int(vfc_ifd_bind_error(ctx, EINVAL, "0000:00:08.0", 5, ""), -EINVAL, "EINVAL at bind");
	ok(has(vfc_errmsg(ctx), "already open"), "the cdev binds once: %s", vfc_errmsg(ctx));
	is_int(vfc_ifd_bind_error(ctx, ENOTTY, "0000:00:08.0", 5, ""), -ENOTTY, "ENOTTY at bind");
	ok(has(vfc_errhint(ctx), "VFIO_DEVICE_CDEV"), "an old kernel");

	is_int(vfc_ifd_cdev_error(ctx, ENOENT, "0000:00:08.0", "/dev/vfio/devices/vfio0", ""),
	       -ENOENT, "sysfs names a cdev /dev lacks");
	ok(has(vfc_errmsg(ctx), "/dev/vfio/devices/vfio0 does not exist"), "%s", vfc_errmsg(ctx));
	is_int(vfc_ifd_cdev_error(ctx, EACCES, "0000:00:08.0", "/dev/vfio/devices/vfio0", ""),
	       -EACCES, "EACCES on the cdev");
	ok(has(vfc_errhint(ctx), "give this user the cdev"), "%s", vfc_errhint(ctx));
}

/* ---- a fake sysroot: one group, one device ---- */

static char root[64];

static void put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = strchr(p + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void dir(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s/x", root, rel);
	put(p + strlen(root) + 1, "");
	unlink(p);
}

static void link_(const char *rel, const char *target)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	unlink(p);
	if (symlink(target, p))
		perror(p);
}

#define DEV "sys/bus/pci/devices/0000:00:08.0"

static void make_root(void)
{
	static const uint8_t cfg[8] = { 0x34, 0x12, 0xe8, 0x11, 0x06, 0x00, 0, 0 };
	char p[512];
	FILE *f;

	snprintf(root, sizeof(root), "/tmp/vfioctl-unit-XXXXXX");
	if (!mkdtemp(root))
		return;
	put(DEV "/vendor", "0x1234\n");
	put(DEV "/device", "0x11e8\n");
	put(DEV "/subsystem_vendor", "0x1af4\n");
	put(DEV "/subsystem_device", "0x1100\n");
	put(DEV "/class", "0x00ff00\n");
	put(DEV "/resource", "");
	dir("sys/kernel/iommu_groups/5/devices");
	dir("sys/bus/pci/drivers/vfio-pci");
	link_(DEV "/iommu_group", "../../../../kernel/iommu_groups/5");
	link_("sys/kernel/iommu_groups/5/devices/0000:00:08.0", "../../../../bus/pci/devices/0000:00:08.0");
	link_(DEV "/driver", "../../drivers/vfio-pci");
	/* memory decode and bus mastering on: command 0x0006 */
	snprintf(p, sizeof(p), "%s/" DEV "/config", root);
	f = fopen(p, "w");
	if (f) {
		fwrite(cfg, 1, sizeof(cfg), f);
		fclose(f);
	}
}

static void choose(enum vfc_backend want, enum vfc_backend expect, const char *why_has,
		   const char *what)
{
	unsigned int g = 5;
	enum vfc_backend got = VFC_BACKEND_AUTO;
	char why[256] = "";

	is_int(vfc_backend_choose(ctx, want, &g, 1, &got, why, sizeof(why)), 0, "%s: no error", what);
	ok(got == expect && has(why, why_has), "%s: %s (%s)", what, vfc_backend_str(got), why);
}

static void test_choose(void)
{
	struct vfc_ctx *live = ctx;
	struct vfc_bdf bdf = { 0, 0, 8, 0 };
	unsigned int n = 99;
	uint16_t cmd = 0;
	char rm[128];

	make_root();
	if (vfc_new(root, &ctx)) {
		ok(0, "context on the fake root");
		ctx = live;
		return;
	}
	choose(VFC_BACKEND_AUTO, VFC_BACKEND_TYPE1, "no /dev/iommu", "no /dev/iommu");
	put("dev/iommu", "");
	choose(VFC_BACKEND_AUTO, VFC_BACKEND_TYPE1, "no VFIO cdev",
	       "/dev/iommu, a device without vfio-dev (6.1-like)");
	dir(DEV "/vfio-dev/vfio3");
	is_int(vfc_device_cdev(ctx, &bdf, &n), 0, "the cdev is read from vfio-dev");
	is_int(n, 3, "vfio3");
	choose(VFC_BACKEND_AUTO, VFC_BACKEND_TYPE1, "/dev/vfio/devices/vfio3 does not exist",
	       "sysfs has the cdev, /dev has not");
	put("dev/vfio/devices/vfio3", "");
	choose(VFC_BACKEND_AUTO, VFC_BACKEND_IOMMUFD, "VFIO cdevs exist", "everything there");
	choose(VFC_BACKEND_TYPE1, VFC_BACKEND_TYPE1, "asked", "type1 asked for stays");
	unlink(strcat(strcpy(rm, root), "/dev/iommu"));
	choose(VFC_BACKEND_IOMMUFD, VFC_BACKEND_IOMMUFD, "asked",
	       "iommufd asked for stays (its open explains what is missing)");
	put("dev/iommu", "");
	link_(DEV "/driver", "../../drivers/pci-stub");
	choose(VFC_BACKEND_AUTO, VFC_BACKEND_TYPE1, "no device on vfio-pci",
	       "a group with nothing on vfio-pci");

	is_int(vfc_device_command(ctx, &bdf, &cmd), 0, "the command register reads");
	is_u64(cmd, 0x6, "memory and bus master on");
	ok((cmd & VFC_PCI_COMMAND_MEMORY) && (cmd & VFC_PCI_COMMAND_MASTER), "both bits");
	put(DEV "/config", "\x34\x12");
	is_int(vfc_device_command(ctx, &bdf, &cmd), -EIO, "a config space cut short");

	vfc_unref(ctx);
	ctx = live;
	snprintf(rm, sizeof(rm), "rm -rf '%s'", root);
	if (system(rm))
		ok(0, "removing %s", root);
}

int main(void)
{
	if (vfc_new(NULL, &ctx))
		return 1;
	test_parse();
	test_ioctl_numbers();
	test_map_cmd();
	test_ranges();
	test_dma_buf_cmd();
	test_map_errors();
	test_device_errors();
	test_choose();
	vfc_unref(ctx);
	return tap_done();
}
