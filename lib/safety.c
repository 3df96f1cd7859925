// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the host may be using a device for. Taking a device from its driver
 * is instant and silent: the NIC carrying the ssh session, the disk holding
 * /, the console's framebuffer just vanish. Each check here looks for
 * positive evidence of use; what it cannot read it does not hold against the
 * device, but it says so.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

void vfc_why_add(struct vfc_why *w, const char *fmt, ...)
{
	size_t used = strlen(w->text);
	va_list ap;

	if (used && used + 2 < sizeof(w->text)) {
		memcpy(w->text + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(w->text + used, sizeof(w->text) - used, fmt, ap);
	va_end(ap);
	w->n++;
}

/* Text of a /proc or /sys file; NULL (and a log line unless ENOENT) when unreadable. */
static char *slurp_opt(struct vfc_ctx *ctx, const char *path)
{
	char *text = NULL;
	int r = vfc_slurp(path, &text, 1 << 24);

	if (r && r != -ENOENT)
		vfc_log(ctx, LOG_WARNING, "cannot read %s (%s): not counted as in use",
			vfc_path_strip(ctx, path), strerror(-r));
	return r ? NULL : text;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/* The device's directory with symlinks resolved: what sysfs links point into. */
static int device_realpath(struct vfc_ctx *ctx, const struct vfc_device *d, char *out)
{
	vfc_path_t p;

	if (vfc_path_pci_dev(ctx, p, &d->bdf, NULL) || !realpath(p, out))
		return -errno ? -errno : -ENAMETOOLONG;
	return 0;
}

/* ---- network interfaces ------------------------------------------------------ */

static int count_routes4(struct vfc_ctx *ctx, const char *ifname)
{
	char *text, *line, *save = NULL;
	vfc_path_t p;
	int n = 0;

	if (vfc_path_root(ctx, p, "/proc/net/route") || !(text = slurp_opt(ctx, p)))
		return 0;
	/* "Iface Destination Gateway ..." after a header line */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char iface[IFNAMSIZ + 1];

		if (sscanf(line, "%16s", iface) == 1 && !strcmp(iface, ifname))
			n++;
	}
	free(text);
	return n;
}

/* fe80::/10 and ff00::/8 are there for every interface that is merely up. */
static bool automatic_v6(const char *hex32)
{
	return !strncmp(hex32, "ff", 2) ||
	       (!strncmp(hex32, "fe", 2) && strchr("89ab", hex32[2]) && hex32[2]);
}

static int count_routes6(struct vfc_ctx *ctx, const char *ifname)
{
	char *text, *line, *save = NULL;
	vfc_path_t p;
	int n = 0;

	if (vfc_path_root(ctx, p, "/proc/net/ipv6_route") || !(text = slurp_opt(ctx, p)))
		return 0;
	/* dest plen src splen nexthop metric refcnt use flags iface */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dest[40], iface[IFNAMSIZ + 1];

		if (sscanf(line, "%39s %*s %*s %*s %*s %*s %*s %*s %*s %16s", dest, iface) == 2 &&
		    !strcmp(iface, ifname) && !automatic_v6(dest))
			n++;
	}
	free(text);
	return n;
}

static void hex_to_in6(const char *hex, struct in6_addr *a)
{
	for (int i = 0; i < 16; i++) {
		unsigned int byte = 0;

		sscanf(hex + 2 * i, "%2x", &byte);
		a->s6_addr[i] = (uint8_t)byte;
	}
}

/* A configured (not link-local) IPv6 address, from /proc/net/if_inet6. */
static bool first_addr6(struct vfc_ctx *ctx, const char *ifname, char *out, size_t len)
{
	char *text, *line, *save = NULL;
	bool found = false;
	vfc_path_t p;

	if (vfc_path_root(ctx, p, "/proc/net/if_inet6") || !(text = slurp_opt(ctx, p)))
		return false;
	for (line = strtok_r(text, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char hex[33], iface[IFNAMSIZ + 1];
		unsigned int scope;
		struct in6_addr a;

		if (sscanf(line, "%32s %*x %*x %x %*x %16s", hex, &scope, iface) != 3 ||
		    strlen(hex) != 32 || strcmp(iface, ifname) || automatic_v6(hex))
			continue;
		hex_to_in6(hex, &a);
		found = inet_ntop(AF_INET6, &a, out, (socklen_t)len) != NULL;
	}
	free(text);
	return found;
}

/* IPv4 addresses live in no file; ask the kernel (running system only). */
static bool first_addr4(struct vfc_ctx *ctx, const char *ifname, char *out, size_t len)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (!vfc_is_live(ctx) || getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, ifname))
			found = inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
					  out, (socklen_t)len) != NULL;
	freeifaddrs(ifa);
	return found;
}

static void check_iface(struct vfc_ctx *ctx, const char *ifname, struct vfc_why *w)
{
	char addr[INET6_ADDRSTRLEN] = "", master[IFNAMSIZ + 1];
	uint64_t flags = 0;
	vfc_path_t p;
	int routes;

	if (vfc_path_class(ctx, p, "net", ifname, "flags") || vfc_read_u64(p, 16, &flags) ||
	    !(flags & IFF_UP))
		return;
	if (vfc_path_class(ctx, p, "net", ifname, "master") == 0 &&
	    vfc_read_link_name(p, master, sizeof(master)) == 0) {
		vfc_why_add(w, "network interface %s is up and a port of %s", ifname, master);
		return;
	}
	routes = count_routes4(ctx, ifname) + count_routes6(ctx, ifname);
	if (!first_addr4(ctx, ifname, addr, sizeof(addr)))
		first_addr6(ctx, ifname, addr, sizeof(addr));
	if (addr[0] && routes)
		vfc_why_add(w, "network interface %s is up with address %s and %d route%s",
			    ifname, addr, routes, routes == 1 ? "" : "s");
	else if (addr[0])
		vfc_why_add(w, "network interface %s is up with address %s", ifname, addr);
	else if (routes)
		vfc_why_add(w, "network interface %s is up and in the routing table (%d route%s)",
			    ifname, routes, routes == 1 ? "" : "s");
}

int vfc_safety_net(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w)
{
	struct dirent *de;
	vfc_path_t p;
	DIR *dir;
	int before = w->n;

	if (vfc_path_pci_dev(ctx, p, &d->bdf, "net") || !(dir = opendir(p)))
		return 0;
	while ((de = readdir(dir)))
		if (vfc_name_ok(de->d_name, IFNAMSIZ) && de->d_name[0] != '.')
			check_iface(ctx, de->d_name, w);
	closedir(dir);
	return w->n - before;
}

/* ---- block devices ------------------------------------------------------------- */

struct blk {
	char name[64];
	char real[PATH_MAX];
	char dev[24]; /* "maj:min" */
};

struct blkset {
	struct blk *v;
	size_t n;
};

static bool blk_has(const struct blkset *s, const char *real)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].real, real))
			return true;
	return false;
}

/* An NVMe multipath disk hangs off its subsystem, reached only through its paths. */
static bool multipath_under(struct vfc_ctx *ctx, const char *name, const char *devreal)
{
	char real[PATH_MAX], leaf[80];
	struct dirent *de;
	vfc_path_t p;
	bool found = false;
	DIR *dir;

	if (vfc_path_class(ctx, p, "block", name, "multipath") || !(dir = opendir(p)))
		return false;
	while (!found && (de = readdir(dir))) {
		if (de->d_name[0] == '.' || !vfc_name_ok(de->d_name, 64))
			continue;
		snprintf(leaf, sizeof(leaf), "multipath/%.63s", de->d_name);
		found = vfc_path_class(ctx, p, "block", name, leaf) == 0 && realpath(p, real) &&
			under(real, devreal);
	}
	closedir(dir);
	return found;
}

static int blk_add(struct vfc_ctx *ctx, struct blkset *s, const char *name, const char *real)
{
	struct blk b = { 0 };
	vfc_path_t p;

	snprintf(b.name, sizeof(b.name), "%.63s", name);
	snprintf(b.real, sizeof(b.real), "%s", real);
	if (vfc_path_class(ctx, p, "block", name, "dev") ||
	    vfc_read_line(p, b.dev, sizeof(b.dev)))
		b.dev[0] = '\0';
	return vfc_array_push((void **)&s->v, &s->n, sizeof(b), &b);
}

/*
 * Block devices below the PCI device: disks whose sysfs directory lies under
 * it or whose multipath paths do, then their partitions (which live below
 * the disk's directory, wherever that is).
 */
static int find_blocks(struct vfc_ctx *ctx, const char *devreal, struct blkset *s)
{
	vfc_path_t p, q;
	int r = 0;

	for (int pass = 0; pass < 2 && !r; pass++) {
		struct dirent *de;
		DIR *dir;

		if (vfc_path_class(ctx, p, "block", NULL, NULL) || !(dir = opendir(p)))
			return 0;
		while (!r && (de = readdir(dir))) {
			char real[PATH_MAX];
			bool below = false;

			if (de->d_name[0] == '.' || !vfc_name_ok(de->d_name, 64) ||
			    vfc_path_class(ctx, q, "block", de->d_name, NULL) || !realpath(q, real) ||
			    blk_has(s, real))
				continue;
			if (pass == 0)
				below = under(real, devreal) || multipath_under(ctx, de->d_name, devreal);
			for (size_t i = 0; pass == 1 && !below && i < s->n; i++)
				below = under(real, s->v[i].real);
			if (below)
				r = blk_add(ctx, s, de->d_name, real);
		}
		closedir(dir);
	}
	return r;
}

/* Where a block device is mounted: matched by maj:min, or by its /dev name as source. */
static bool mounted_at(struct vfc_ctx *ctx, const struct blk *b, char *mnt, size_t len)
{
	char *text, *line, *save = NULL, src[PATH_MAX];
	vfc_path_t p;
	bool found = false;

	if (vfc_path_proc(ctx, p, 0, "mountinfo") || !(text = slurp_opt(ctx, p)))
		return false;
	snprintf(src, sizeof(src), "/dev/%s", b->name);
	for (line = strtok_r(text, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char majmin[24], point[PATH_MAX], *sep = strstr(line, " - ");
		char fstype[64], source[PATH_MAX];

		if (sscanf(line, "%*s %*s %23s %*s %4095s", majmin, point) != 2)
			continue;
		source[0] = '\0';
		if (sep)
			sscanf(sep + 3, "%63s %4095s", fstype, source);
		found = (b->dev[0] && !strcmp(majmin, b->dev)) || !strcmp(source, src);
		if (found)
			snprintf(mnt, len, "%s", point);
	}
	free(text);
	return found;
}

static bool swap_on(struct vfc_ctx *ctx, const struct blk *b)
{
	char *text, *line, *save = NULL, want[96];
	unsigned int ma, mi;
	vfc_path_t p;
	bool found = false;

	if (vfc_path_root(ctx, p, "/proc/swaps") || !(text = slurp_opt(ctx, p)))
		return false;
	snprintf(want, sizeof(want), "/dev/%s", b->name);
	if (sscanf(b->dev, "%u:%u", &ma, &mi) != 2)
		ma = mi = 0;
	for (line = strtok_r(text, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char file[PATH_MAX];
		struct stat st;

		if (sscanf(line, "%4095s", file) != 1)
			continue;
		/* by name, or (running system) the node any other name points to */
		found = !strcmp(file, want) ||
			(vfc_is_live(ctx) && (ma || mi) && stat(file, &st) == 0 &&
			 S_ISBLK(st.st_mode) && st.st_rdev == makedev(ma, mi));
	}
	free(text);
	return found;
}

static void check_holders(struct vfc_ctx *ctx, const struct blk *b, struct vfc_why *w,
			  int depth);

static void check_blk(struct vfc_ctx *ctx, const struct blk *b, const char *via,
		      struct vfc_why *w, int depth)
{
	char mnt[PATH_MAX];
	const char *pre = via ? via : "";

	if (mounted_at(ctx, b, mnt, sizeof(mnt))) {
		if (!strcmp(mnt, "/"))
			vfc_why_add(w, "%s%s holds the root filesystem", pre, b->name);
		else
			vfc_why_add(w, "%s%s is mounted on %s", pre, b->name, mnt);
	}
	if (swap_on(ctx, b))
		vfc_why_add(w, "%s%s is in use as swap", pre, b->name);
	check_holders(ctx, b, w, depth);
}

/* dm (LVM, crypt, multipath) and md devices built on top of this one. */
static void check_holders(struct vfc_ctx *ctx, const struct blk *b, struct vfc_why *w,
			  int depth)
{
	struct dirent *de;
	vfc_path_t p, q;
	DIR *dir;

	if (depth > 4 || vfc_path_class(ctx, p, "block", b->name, "holders") ||
	    !(dir = opendir(p)))
		return;
	while ((de = readdir(dir))) {
		struct blk h = { 0 };
		char via[160];
		int before = w->n;

		if (de->d_name[0] == '.' || !vfc_name_ok(de->d_name, 64))
			continue;
		snprintf(h.name, sizeof(h.name), "%.63s", de->d_name);
		if (vfc_path_class(ctx, q, "block", h.name, "dev") ||
		    vfc_read_line(q, h.dev, sizeof(h.dev)))
			h.dev[0] = '\0';
		snprintf(via, sizeof(via), "%s is held by %s: ", b->name, h.name);
		check_blk(ctx, &h, via, w, depth + 1);
		if (w->n == before)
			vfc_why_add(w, "%s is held by %s", b->name, h.name);
	}
	closedir(dir);
}

int vfc_safety_block(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w)
{
	char devreal[PATH_MAX];
	struct blkset s = { 0 };
	int before = w->n;

	if (device_realpath(ctx, d, devreal))
		return 0;
	if (find_blocks(ctx, devreal, &s)) {
		free(s.v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s.n; i++)
		check_blk(ctx, &s.v[i], NULL, w, 0);
	free(s.v);
	return w->n - before;
}

/* ---- display ------------------------------------------------------------------- */

int vfc_safety_display(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w)
{
	char devreal[PATH_MAX], real[PATH_MAX], name[64];
	struct dirent *de;
	vfc_path_t p;
	DIR *dir;
	int before = w->n;

	if (d->boot_vga)
		vfc_why_add(w, "it is the boot VGA device (the firmware's console)");
	if (device_realpath(ctx, d, devreal) ||
	    vfc_path_class(ctx, p, "graphics", NULL, NULL) || !(dir = opendir(p)))
		return w->n - before;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "fb", 2) || !vfc_name_ok(de->d_name, 32) ||
		    vfc_path_class(ctx, p, "graphics", de->d_name, "device") || !realpath(p, real) ||
		    strcmp(real, devreal))
			continue;
		if (vfc_path_class(ctx, p, "graphics", de->d_name, "name") ||
		    vfc_read_line(p, name, sizeof(name)))
			snprintf(name, sizeof(name), "?");
		vfc_why_add(w, "framebuffer %s (%s) is on it", de->d_name, name);
	}
	closedir(dir);
	return w->n - before;
}

/* ---- SR-IOV -------------------------------------------------------------------- */

int vfc_safety_sriov(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w)
{
	(void)ctx;
	if (d->sriov_role != VFC_SRIOV_PF || d->sriov_numvfs <= 0)
		return 0;
	vfc_why_add(w, "it has %d SR-IOV VF%s enabled, which go away with its driver",
		    d->sriov_numvfs, d->sriov_numvfs == 1 ? "" : "s");
	return 1;
}

/* ---- open through VFIO --------------------------------------------------------- */

static bool parse_num(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	v = strtol(s, &end, 10);
	if (v < 0 || v > max)
		return false;
	*out = v;
	return true;
}

/* The descriptors of one process that lead into /dev/vfio (the container aside). */
static int scan_pid(struct vfc_ctx *ctx, pid_t pid, struct vfc_vfio_fds *out)
{
	struct dirent *de;
	vfc_path_t p;
	DIR *dir;
	int r = 0;

	if (vfc_path_proc(ctx, p, pid, "fd") || !(dir = opendir(p)))
		return 0; /* gone, or a kernel thread */
	while (!r && (de = readdir(dir))) {
		struct vfc_vfio_fd f = { .pid = pid };
		ssize_t n;
		long fd;

		if (!parse_num(de->d_name, 1L << 30, &fd) ||
		    vfc_path_proc_fd(ctx, p, pid, (int)fd) ||
		    (n = readlink(p, f.target, sizeof(f.target) - 1)) < 0)
			continue;
		f.target[n] = '\0';
		if (strncmp(f.target, "/dev/vfio/", 10) || !strcmp(f.target, "/dev/vfio/vfio"))
			continue;
		if (vfc_path_proc(ctx, p, pid, "comm") || vfc_read_line(p, f.comm, sizeof(f.comm)))
			snprintf(f.comm, sizeof(f.comm), "?");
		r = vfc_array_push((void **)&out->v, &out->n, sizeof(f), &f);
	}
	closedir(dir);
	return r;
}

/* One walk of /proc per run, however many devices it checks. */
static int scan_fds(struct vfc_ctx *ctx, struct vfc_vfio_fds *out)
{
	struct dirent *de;
	vfc_path_t p;
	DIR *dir;
	int r = 0;

	out->scanned = true;
	if (vfc_path_root(ctx, p, "/proc") || !(dir = opendir(p)))
		return 0;
	while (!r && (de = readdir(dir))) {
		long pid;

		if (parse_num(de->d_name, 1L << 30, &pid) &&
		    !(vfc_is_live(ctx) && pid == getpid()))
			r = scan_pid(ctx, (pid_t)pid, out);
	}
	closedir(dir);
	return r;
}

void vfc_vfio_fds_clear(struct vfc_vfio_fds *fds)
{
	free(fds->v);
	memset(fds, 0, sizeof(*fds));
}

int vfc_safety_vfio_open(struct vfc_ctx *ctx, const struct vfc_device *d, struct vfc_why *w,
			 struct vfc_vfio_fds *fds)
{
	char gnode[64], cnode[64], who[256] = "";
	size_t used = 0;
	int holders = 0;

	vfc_device_vfio_nodes(ctx, d, gnode, sizeof(gnode), cnode, sizeof(cnode));
	if (!gnode[0] && !cnode[0])
		return 0;
	if (!fds->scanned && scan_fds(ctx, fds))
		return -ENOMEM;
	for (size_t i = 0; i < fds->n; i++) {
		const struct vfc_vfio_fd *f = &fds->v[i];
		bool dup = false;

		if (strcmp(f->target, gnode) && strcmp(f->target, cnode))
			continue;
		/* a process with the node open twice is named once */
		for (size_t j = 0; j < i; j++)
			dup |= fds->v[j].pid == f->pid && (!strcmp(fds->v[j].target, gnode) ||
							  !strcmp(fds->v[j].target, cnode));
		if (dup)
			continue;
		if (used < sizeof(who))
			used += (size_t)snprintf(who + used, sizeof(who) - used, "%s%s[%d]",
						 holders ? ", " : "", f->comm, (int)f->pid);
		holders++;
	}
	if (holders)
		vfc_why_add(w, "%s is open in %s", gnode[0] ? gnode : cnode, who);
	return holders ? 1 : 0;
}
