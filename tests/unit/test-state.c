// SPDX-License-Identifier: GPL-2.0-or-later
/* The record bind leaves in /run/vfioctl: it must read back exactly, and a
 * damaged one must be refused rather than guessed at. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "internal.h"

static void test_round_trip(void)
{
	struct vfc_state a = { .sriov_numvfs = 4, .group = 17 }, b;
	char buf[VFC_STATE_MAX];

	vfc_bdf_parse("0000:3b:00.1", &a.bdf);
	strcpy(a.driver, "ixgbe");
	strcpy(a.driver_override, "pci-stub");
	ok(vfc_state_format(&a, buf, sizeof(buf)) > 0, "a record formats");
	ok(vfc_state_parse(buf, &b) == 0, "and parses back");
	ok(vfc_bdf_cmp(&a.bdf, &b.bdf) == 0, "device");
	is_str(b.driver, "ixgbe", "driver");
	is_str(b.driver_override, "pci-stub", "driver_override");
	is_int(b.sriov_numvfs, 4, "sriov_numvfs");
	is_int(b.group, 17, "group");

	strcpy(a.driver, "");
	strcpy(a.driver_override, "");
	a.sriov_numvfs = -1;
	vfc_state_format(&a, buf, sizeof(buf));
	ok(vfc_state_parse(buf, &b) == 0 && !b.driver[0] && !b.driver_override[0] &&
	   b.sriov_numvfs == -1, "an unbound device reads back unbound");
	ok(vfc_state_format(&a, buf, 20) < 0, "a buffer too small is an error, not a cut record");

	a.kernel_choice = true;
	vfc_state_format(&a, buf, sizeof(buf));
	ok(strstr(buf, "\nrestore=kernel\n") != NULL, "a boot-time record says the kernel chooses");
	ok(vfc_state_parse(buf, &b) == 0 && b.kernel_choice, "and reads back so");
	ok(vfc_state_parse("version=1\ndevice=0000:00:05.0\ndriver=e1000e\n", &b) == 0 &&
	   !b.kernel_choice, "a record without restore= goes back to its driver");
	ok(vfc_state_parse("version=1\ndevice=0000:00:05.0\ndriver=\nrestore=maybe\n", &b) ==
	   -EINVAL, "restore= is kernel or driver, nothing else");
}

static void test_damage(void)
{
	static const char *const bad[] = {
		"",
		"version=1\ndevice=0000:00:05.0\n",                       /* no driver */
		"version=1\ndriver=e1000e\n",                             /* no device */
		"device=0000:00:05.0\ndriver=e1000e\n",                   /* no version */
		"version=2\ndevice=0000:00:05.0\ndriver=e1000e\n",        /* a later format */
		"version=1\ndevice=0000:00:05.0\ndriver=../../etc\n",     /* a path */
		"version=1\ndevice=0000:00:05.0\ndriver=e 1000e\n",       /* blanks */
		"version=1\ndevice=00:05\ndriver=e1000e\n",               /* not a BDF */
		"version=1\ndevice=0000:00:05.0\ndriver=e1000e\nsriov_numvfs=x\n",
		"version=1\ndevice=0000:00:05.0\ndriver=e1000e\ngroup=-2\n",
		"version=1\ndevice=0000:00:05.0\ndriver\n",               /* no '=' */
	};
	struct vfc_state st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(vfc_state_parse(bad[i], &st) == -EINVAL, "damaged record %zu is refused", i);
	ok(vfc_state_parse("# comment\nversion=1\ndevice=0000:00:05.0\ndriver=e1000e\n"
			   "future_key=whatever\n", &st) == 0,
	   "comments and a later version's extra keys are fine");
	is_int(st.sriov_numvfs, -1, "absent numvfs means none");
}

static void test_names(void)
{
	ok(vfc_name_ok("vfio-pci", 64), "a driver name is a name");
	ok(vfc_name_ok("mlx5_vfio_pci", 64), "with underscores too");
	ok(!vfc_name_ok("..", 64), "'..' is not");
	ok(!vfc_name_ok("a/b", 64), "nor a path");
	ok(!vfc_name_ok("", 64), "nor nothing");
	ok(!vfc_name_ok("x\n", 64), "nor a control character");
	ok(!vfc_name_ok("abcdef", 6), "nor something too long");
}

int main(void)
{
	test_round_trip();
	test_damage();
	test_names();
	return tap_done();
}
