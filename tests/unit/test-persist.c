// SPDX-License-Identifier: GPL-2.0-or-later
/* The boot entries of bind --persist: they must read back exactly, and a
 * damaged one must be refused with a reason, never half applied. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "internal.h"

static void test_round_trip(void)
{
	struct vfc_persist a = { .vendor = 0x8086, .device = 0x10d3, .has_owner = true,
				 .uid = 64055, .gid = 4294967294u, .force = true }, b;
	char buf[VFC_PERSIST_MAX];

	vfc_bdf_parse("0000:3b:00.1", &a.bdf);
	ok(vfc_persist_format(&a, buf, sizeof(buf)) > 0, "an entry formats");
	ok(vfc_persist_parse(buf, &b) == 0, "and parses back");
	is_int(b.vendor, 0x8086, "vendor");
	is_int(b.device, 0x10d3, "device");
	ok(b.has_owner && b.uid == 64055 && b.gid == 4294967294u, "owner, up to the largest id");
	ok(b.force, "force");
	is_str(b.error, "", "no error");

	a.has_owner = false;
	a.force = false;
	vfc_persist_format(&a, buf, sizeof(buf));
	ok(strstr(buf, "\nowner=\n") != NULL, "no owner is an empty owner=");
	ok(vfc_persist_parse(buf, &b) == 0 && !b.has_owner && !b.force, "and reads back as none");
	ok(vfc_persist_format(&a, buf, 16) < 0, "a buffer too small is an error, not a cut entry");
	ok(vfc_persist_parse("version=1\nid=1234:11e8", &b) == 0, "the last line needs no newline");
	ok(vfc_persist_parse("# a comment\n\nversion=1\nid=1234:11e8\n", &b) == 0,
	   "comments and blank lines are skipped");
}

static void test_damage(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "no version= line" },
		{ "version=1\n", "no id= line" },
		{ "id=1234:11e8\n", "no version= line" },
		{ "version=2\nid=1234:11e8\n", "version 2 is not one this vfioctl reads" },
		{ "version=1\nid=1234\n", "id=1234 is not VVVV:DDDD" },
		{ "version=1\nid=1234:11E8\n", "id=1234:11E8 is not VVVV:DDDD" },
		{ "version=1\nid=12345:11e8\n", "id=12345:11e8 is not VVVV:DDDD" },
		{ "version=1\nid=1234:11e8\nowner=root\n", "owner=root is not UID:GID" },
		{ "version=1\nid=1234:11e8\nowner=0:\n", "owner=0: is not UID:GID" },
		{ "version=1\nid=1234:11e8\nowner=-1:0\n", "owner=-1:0 is not UID:GID" },
		{ "version=1\nid=1234:11e8\nowner=4294967295:0\n", "owner=4294967295:0 is not UID:GID" },
		{ "version=1\nid=1234:11e8\nforce=1\n", "force=1 is neither yes nor no" },
		{ "version=1\nid=1234:11e8\ndriver=vfio-pci\n", "unknown key 'driver'" },
		{ "version=1\nid\n", "line 'id' is not KEY=VALUE" },
	};
	struct vfc_persist p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok(vfc_persist_parse(bad[i].text, &p) == -EINVAL, "damaged entry %zu refused", i);
		is_str(p.error, bad[i].why, "with its reason");
	}
}

int main(void)
{
	test_round_trip();
	test_damage();
	return tap_done();
}
