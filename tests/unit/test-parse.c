// SPDX-License-Identifier: GPL-2.0-or-later
/* Parsers of user input and kernel text, and the viability rule. */
#include <errno.h>
#include <stdlib.h>

#include "tap.h"
#include "vfioctl.h"

static void test_bdf(void)
{
	static const char *const bad[] = {
		"", "0", "00:00", "0000:00:00", "0000:00:00.8", "0000:00:20.0",
		"0000:100:00.0", "10000:00:00.0", "0000:00:00.0 ", " 0000:00:00.0",
		"0000:00:00.0x", "g000:00:00.0", "0000:00:1f.", "0000::1f.0",
		"0000:00:1f.0/../..", "0:0:0:0.0", "-1:00.0", "0000:0x:00.0",
	};
	char buf[VFC_BDF_STRLEN];
	struct vfc_bdf b, c;

	ok(vfc_bdf_parse("0000:3b:1f.7", &b) == 0, "full BDF parses");
	is_int(b.domain, 0, "domain");
	is_int(b.bus, 0x3b, "bus");
	is_int(b.dev, 0x1f, "device");
	is_int(b.fn, 7, "function");
	ok(vfc_bdf_parse("3B:00.1", &b) == 0, "short BDF parses, upper-case hex");
	is_str(vfc_bdf_format(&b, buf), "0000:3b:00.1", "short form gets domain 0");
	ok(vfc_bdf_parse("ffff:ff:1f.7", &b) == 0, "largest BDF parses");
	is_str(vfc_bdf_format(&b, buf), "ffff:ff:1f.7", "and formats back");
	ok(vfc_bdf_parse("1:2:3.4", &b) == 0, "short fields are accepted like sysfs names");
	is_str(vfc_bdf_format(&b, buf), "0001:02:03.4", "and come back zero-padded");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(vfc_bdf_parse(bad[i], &b), -EINVAL, "rejects '%s'", bad[i]);
	is_int(vfc_bdf_parse(NULL, &b), -EINVAL, "rejects NULL");

	vfc_bdf_parse("0000:00:02.0", &b);
	vfc_bdf_parse("0000:00:10.0", &c);
	ok(vfc_bdf_cmp(&b, &c) < 0, "02.0 sorts before 10.0");
	vfc_bdf_parse("0001:00:00.0", &b);
	ok(vfc_bdf_cmp(&b, &c) > 0, "domain sorts first");
	ok(vfc_bdf_cmp(&c, &c) == 0, "equal compares 0");
}

static void test_group(void)
{
	unsigned int g;

	ok(vfc_group_parse("0", &g) == 0 && g == 0, "group 0");
	ok(vfc_group_parse("2147483647", &g) == 0 && g == 2147483647u, "INT_MAX");
	is_int(vfc_group_parse("2147483648", &g), -ERANGE, "past INT_MAX");
	is_int(vfc_group_parse("12345678901", &g), -EINVAL, "too many digits");
	is_int(vfc_group_parse("-1", &g), -EINVAL, "negative");
	is_int(vfc_group_parse("1a", &g), -EINVAL, "trailing junk");
	is_int(vfc_group_parse("../1", &g), -EINVAL, "path");
	is_int(vfc_group_parse("", &g), -EINVAL, "empty");
	is_int(vfc_group_parse(" 1", &g), -EINVAL, "leading space");
}

static void test_size(void)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "4096", 4096 }, { "4K", 4096 }, { "4k", 4096 },
		{ "2M", 2 << 20 }, { "2MiB", 2 << 20 }, { "2MB", 2 << 20 },
		{ "1G", 1ULL << 30 }, { "3T", 3ULL << 40 }, { "0x1000", 4096 },
		{ "16E", 0 }, /* placeholder replaced below: 16E overflows */
	};
	static const char *const bad[] = { "", "K", "-1", "+1", "1.5G", "1X",
		"1Gi", "1 G", " 1", "1GG", "0x", "99999999999999999999" };
	char buf[32];
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]) - 1; i++) {
		int r = vfc_size_parse(good[i].s, &v);

		ok(r == 0 && v == good[i].v, "size '%s' = %" PRIu64, good[i].s, good[i].v);
	}
	is_int(vfc_size_parse("16E", &v), -ERANGE, "16E overflows 64 bits");
	ok(vfc_size_parse("15E", &v) == 0 && v == 15ULL << 60, "15E fits");
	is_int(vfc_size_parse("17179869184G", &v), -ERANGE, "2^34 G overflows");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(vfc_size_parse(bad[i], &v) < 0, "rejects size '%s'", bad[i]);

	is_str(vfc_size_format(0, buf, sizeof(buf)), "0", "0 bytes");
	is_str(vfc_size_format(1023, buf, sizeof(buf)), "1023", "under 1K stays bytes");
	is_str(vfc_size_format(4096, buf, sizeof(buf)), "4K", "4K");
	is_str(vfc_size_format(3ULL << 29, buf, sizeof(buf)), "1.5G", "1.5G");
	is_str(vfc_size_format((1ULL << 30) - 1, buf, sizeof(buf)), "1G", "rounds up to 1G");
	is_str(vfc_size_format(8388608, buf, sizeof(buf)), "8M", "8M");
	is_str(vfc_size_format(UINT64_MAX, buf, sizeof(buf)), "16E", "largest");
}

static void test_resv(void)
{
	struct vfc_resv_region *r = NULL;
	size_t n = 0;

	ok(vfc_resv_regions_parse("0x00000000fee00000 0x00000000feefffff msi\n"
				  "0x0000000000000000 0x00000000000fffff direct-relaxable\n",
				  &r, &n) == 0, "two regions parse");
	is_int(n, 2, "count");
	is_u64(r[0].start, 0xfee00000, "start");
	is_u64(r[0].end, 0xfeefffff, "end is inclusive");
	is_str(r[0].type, "msi", "type");
	is_str(r[1].type, "direct-relaxable", "second type");
	free(r);
	ok(vfc_resv_regions_parse("", &r, &n) == 0 && n == 0, "empty file: no regions");
	free(r);
	is_int(vfc_resv_regions_parse("0xfee00000 msi\n", &r, &n), -EINVAL, "missing end");
	is_int(vfc_resv_regions_parse("0x2 0x1 msi\n", &r, &n), -EINVAL, "end before start");
	is_int(vfc_resv_regions_parse("0x1 0x2 msi extra\n", &r, &n), -EINVAL, "trailing field");
	is_int(vfc_resv_regions_parse("fee00000 feefffff msi\n", &r, &n), -EINVAL, "no 0x");
}

static void test_status(void)
{
	static const char text[] =
		"Name:\tqemu-system-x86\nUmask:\t0022\nState:\tS (sleeping)\n"
		"Uid:\t64055\t64055\t64055\t64055\n"
		"VmPeak:\t 8675308 kB\nVmLck:\t 2097152 kB\nVmPin:\t       0 kB\n"
		"CapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
	struct vfc_proc_status st;

	ok(vfc_proc_status_parse(text, &st) == 0, "status parses");
	is_str(st.name, "qemu-system-x86", "name");
	is_int(st.vm_lck_kb, 2097152, "VmLck in kB");
	is_int(st.vm_pin_kb, 0, "VmPin");
	ok(st.have_cap_eff && (st.cap_eff & (1ULL << 14)), "CAP_IPC_LOCK bit seen");
	ok(st.have_uid && st.uid == 64055, "the real uid from Uid:");
	ok(vfc_proc_status_parse("Name:\tkthreadd\n", &st) == 0 && st.vm_lck_kb == -1 &&
	   st.vm_pin_kb == -1 && !st.have_cap_eff && !st.have_uid, "kernel thread: fields absent");
	is_int(vfc_proc_status_parse("Uid:\tnobody\n", &st), -EINVAL, "a uid that is not a number");
	is_int(vfc_proc_status_parse("VmLck:\t12 MB\n", &st), -EINVAL, "wrong unit");
	is_int(vfc_proc_status_parse("VmLck:\tlots kB\n", &st), -EINVAL, "not a number");
	is_int(vfc_proc_status_parse("CapEff:\tzz\n", &st), -EINVAL, "bad capability mask");
}

static void test_limits(void)
{
	static const char text[] =
		"Limit                     Soft Limit           Hard Limit           Units     \n"
		"Max cpu time              unlimited            unlimited            seconds   \n"
		"Max locked memory         8388608              16777216             bytes     \n";
	uint64_t s, h;

	ok(vfc_proc_limits_memlock_parse(text, &s, &h) == 0, "limits parse");
	is_u64(s, 8388608, "soft");
	is_u64(h, 16777216, "hard");
	ok(vfc_proc_limits_memlock_parse("Max locked memory unlimited unlimited bytes\n", &s, &h) == 0 &&
	   s == VFC_RLIM_INFINITY && h == VFC_RLIM_INFINITY, "unlimited");
	is_int(vfc_proc_limits_memlock_parse("Max cpu time 1 1 seconds\n", &s, &h), -ENOENT,
	       "row missing");
	is_int(vfc_proc_limits_memlock_parse("Max locked memory lots 1 bytes\n", &s, &h), -EINVAL,
	       "bad value");
}

static struct vfc_device dev(const char *driver, bool bridge)
{
	struct vfc_device d = { .is_bridge = bridge };

	snprintf(d.driver, sizeof(d.driver), "%s", driver);
	return d;
}

static void test_viability(void)
{
	struct vfc_device g[3];
	int blocker;

	ok(vfc_driver_keeps_viable(""), "no driver keeps a group viable");
	ok(vfc_driver_keeps_viable("vfio-pci"), "vfio-pci");
	ok(vfc_driver_keeps_viable("pci-stub"), "pci-stub");
	ok(vfc_driver_keeps_viable("mlx5_vfio_pci"), "a vfio-pci variant driver");
	ok(!vfc_driver_keeps_viable("snd_hda_intel"), "a host driver does not");
	ok(!vfc_driver_keeps_viable("_vfio_pci"), "the bare suffix is not a driver");
	ok(vfc_driver_is_vfio("vfio-pci") && !vfc_driver_is_vfio("pci-stub"),
	   "pci-stub keeps viability but is not VFIO");

	g[0] = dev("vfio-pci", false);
	g[1] = dev("snd_hda_intel", false);
	g[2] = dev("pcieport", true);
	ok(!vfc_group_viable(g, 3, &blocker), "GPU audio on snd_hda_intel: not viable");
	is_int(blocker, 1, "the audio function is the blocker");
	g[1] = dev("", false);
	ok(vfc_group_viable(g, 3, &blocker) && blocker == -1, "audio unbound: viable");
	g[2] = dev("some_bridge_driver", true);
	ok(vfc_group_viable(g, 3, &blocker), "bridges are exempt whatever their driver");
	g[0] = dev("e1000e", false);
	ok(!vfc_group_viable(g, 3, &blocker) && blocker == 0, "first offender reported");
	ok(vfc_group_viable(g, 0, &blocker), "an empty group has nothing to block it");
}

int main(void)
{
	test_bdf();
	test_group();
	test_size();
	test_resv();
	test_status();
	test_limits();
	test_viability();
	return tap_done();
}
