// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl map --as-user / --memlock-limit: reproduce the limits an
 * unprivileged VMM runs under. Root has CAP_IPC_LOCK, which makes the kernel
 * skip the RLIMIT_MEMLOCK check, so a memlock failure is only seen after
 * becoming another user or giving the capability up. This happens before the
 * container or any device is opened: a descriptor opened as root would hide
 * the EACCES the VMM's user gets. Nothing is ever executed.
 */
#define _GNU_SOURCE 1 /* setresuid, initgroups */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "map.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_LOWER 3
#endif

int user_lookup(const char *user, struct map_opts *o)
{
	struct passwd *pw;
	unsigned int id;

	errno = 0;
	pw = getpwnam(user);
	if (!pw && vfc_group_parse(user, &id) == 0) /* a plain number, like chown's */
		pw = getpwuid((uid_t)id);
	if (!pw)
		return usage_error("map", "--as-user: no user '%s'%s", user,
				   errno ? " (the user database could not be read)" : "");
	if (pw->pw_uid == 0)
		return usage_error("map", "--as-user: '%s' is root, which the limit does not bind", user);
	if (strlen(pw->pw_name) >= sizeof(o->user_name))
		return usage_error("map", "--as-user: the user name '%s' is too long", pw->pw_name);
	strcpy(o->user_name, pw->pw_name);
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	return -1;
}

static int set_limit(uint64_t bytes)
{
	struct rlimit rl = { (rlim_t)bytes, (rlim_t)bytes };

	if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		return -1;
	warnx_("--memlock-limit: setting RLIMIT_MEMLOCK to %" PRIu64 " bytes: %s%s", bytes,
	       strerror(errno), errno == EPERM ? " (raising the hard limit needs root)" : "");
	return errno == EPERM ? EXIT_PERM : EXIT_FAIL;
}

/* Removes CAP_IPC_LOCK from every set a later exec or capset could take it back from. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	uint32_t bit = 1u << (CAP_IPC_LOCK % 32);
	unsigned int w = CAP_IPC_LOCK / 32;

	if (syscall(SYS_capget, &hdr, data) < 0) {
		warnx_("reading the capabilities: %s", strerror(errno));
		return EXIT_FAIL;
	}
	data[w].effective &= ~bit;
	data[w].permitted &= ~bit;
	data[w].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data) < 0) {
		warnx_("dropping CAP_IPC_LOCK: %s", strerror(errno));
		return EXIT_FAIL;
	}
	/* EINVAL: a kernel before 4.3, which has no ambient set to clear */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_IPC_LOCK, 0, 0) < 0 &&
	    errno != EINVAL) {
		warnx_("dropping CAP_IPC_LOCK from the ambient set: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return -1;
}

static int become(const struct map_opts *o)
{
	uid_t r, e, s;

	/* the user's own groups, as a login would give them (e.g. kvm, for /dev/vfio) */
	if (initgroups(o->user_name, o->gid) < 0 && setgroups(1, &o->gid) < 0) {
		warnx_("--as-user %s: setting the groups: %s", o->as_user, strerror(errno));
		return errno == EPERM ? EXIT_PERM : EXIT_FAIL;
	}
	if (setresgid(o->gid, o->gid, o->gid) < 0 || setresuid(o->uid, o->uid, o->uid) < 0) {
		warnx_("--as-user %s: %s", o->as_user, strerror(errno));
		return errno == EPERM ? EXIT_PERM : EXIT_FAIL;
	}
	/* a half-done switch would measure the wrong thing: make sure of it */
	if (getresuid(&r, &e, &s) < 0 || r != o->uid || e != o->uid || s != o->uid ||
	    setuid(0) == 0) {
		warnx_("--as-user %s: the switch to uid %u did not hold", o->as_user,
		       (unsigned int)o->uid);
		return EXIT_FAIL;
	}
	return -1;
}

int user_apply(const struct map_opts *o)
{
	int rc = -1;

	if (o->as_user && geteuid() != 0) {
		warnx_("--as-user needs root: only root can become another user");
		return EXIT_PERM;
	}
	/* before the switch: raising a hard limit takes privilege */
	if (o->limit_set)
		rc = set_limit(o->memlock_limit);
	if (rc < 0 && o->as_user)
		rc = become(o);
	/* with SECBIT_NO_SETUID_FIXUP the switch may leave it: never rely on that */
	if (rc < 0 && (o->as_user || o->limit_set))
		rc = drop_ipc_lock();
	return rc;
}
