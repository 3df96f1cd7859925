// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The record of a device's original driver and the lock of a run.
 *
 * The record is what makes every change reversible: it is on disk, complete,
 * before the first write to the device, so that a rollback, a later
 * `unbind`, or a run after a crash (SIGKILL, power loss of the run, not of the
 * machine: /run is a tmpfs) can put the device back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define STATE_VERSION 1
#define LOCK_WAIT_MS 60000

int vfc_state_format(const struct vfc_state *st, char *buf, size_t len)
{
	char b[VFC_BDF_STRLEN];
	int n;

	n = snprintf(buf, len,
		     "# vfioctl: driver of the device before `vfioctl bind`;"
		     " `vfioctl unbind` restores it\n"
		     "version=%d\ndevice=%s\ndriver=%s\ndriver_override=%s\n"
		     "sriov_numvfs=%d\ngroup=%d\nrestore=%s\n",
		     STATE_VERSION, vfc_bdf_format(&st->bdf, b), st->driver,
		     st->driver_override, st->sriov_numvfs, st->group,
		     st->kernel_choice ? "kernel" : "driver");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

static int parse_int_field(const char *v, int min, int *out)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < min || x > 0x7fffffff)
		return -EINVAL;
	*out = (int)x;
	return 0;
}

static int parse_name_field(const char *v, char *out, size_t len)
{
	if (*v && !vfc_name_ok(v, len))
		return -EINVAL;
	snprintf(out, len, "%s", v);
	return 0;
}

static int parse_line(char *line, struct vfc_state *st, unsigned int *seen)
{
	char *v = strchr(line, '=');
	int version;

	if (!v)
		return -EINVAL;
	*v++ = '\0';
	if (!strcmp(line, "version")) {
		*seen |= 1;
		return parse_int_field(v, STATE_VERSION, &version) || version != STATE_VERSION ?
			       -EINVAL : 0;
	}
	if (!strcmp(line, "device")) {
		*seen |= 2;
		return vfc_bdf_parse(v, &st->bdf);
	}
	if (!strcmp(line, "driver")) {
		*seen |= 4;
		return parse_name_field(v, st->driver, sizeof(st->driver));
	}
	if (!strcmp(line, "driver_override"))
		return parse_name_field(v, st->driver_override, sizeof(st->driver_override));
	if (!strcmp(line, "sriov_numvfs"))
		return parse_int_field(v, -1, &st->sriov_numvfs);
	if (!strcmp(line, "group"))
		return parse_int_field(v, -1, &st->group);
	if (!strcmp(line, "restore")) {
		if (strcmp(v, "kernel") && strcmp(v, "driver"))
			return -EINVAL;
		st->kernel_choice = !strcmp(v, "kernel");
		return 0;
	}
	return 0; /* a later version's extra keys do not make the record unusable */
}

int vfc_state_parse(const char *text, struct vfc_state *st)
{
	unsigned int seen = 0;
	const char *p = text;

	memset(st, 0, sizeof(*st));
	st->sriov_numvfs = st->group = -1;
	while (*p) {
		size_t n = strcspn(p, "\n");
		char line[160];

		if (n >= sizeof(line))
			return -EINVAL;
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (p[n] == '\n');
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (parse_line(line, st, &seen))
			return -EINVAL;
	}
	/* without these three the record cannot say where the device goes back */
	return seen == 7 ? 0 : -EINVAL;
}

int vfc_state_load(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
		   struct vfc_state *st)
{
	char b[VFC_BDF_STRLEN], text[VFC_STATE_MAX];
	vfc_path_t p;
	ssize_t r;

	if (vfc_path_state(ctx, p, bdf, NULL))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	r = vfc_read_file(p, text, sizeof(text));
	if (r == -ENOENT)
		return -ENOENT;
	if (r < 0)
		return vfc_fail(ctx, (int)r, NULL, "reading %s", vfc_path_strip(ctx, p));
	if (vfc_state_parse(text, st) || vfc_bdf_cmp(&st->bdf, bdf))
		return vfc_fail(ctx, EINVAL,
				"move it away; 'vfioctl unbind' then uses the kernel's default driver",
				"%s: malformed record of %s", vfc_path_strip(ctx, p),
				vfc_bdf_format(bdf, b));
	return 0;
}

/* A directory we own: created 0755, and never a symlink planted by someone. */
int vfc_ensure_dir(struct vfc_ctx *ctx, const char *abs)
{
	struct stat st;
	vfc_path_t p;

	if (vfc_path_root(ctx, p, abs))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return vfc_fail(ctx, errno, errno == EACCES ? "run as root" : NULL,
				"creating %s", abs);
	if (lstat(p, &st) < 0)
		return vfc_fail(ctx, errno, NULL, "%s", abs);
	if (!S_ISDIR(st.st_mode) || (st.st_mode & 0022))
		return vfc_fail(ctx, ENOTDIR, "remove it; vfioctl creates it again",
				"%s is not a directory only root may write", abs);
	return 0;
}

static int ensure_dirs(struct vfc_ctx *ctx)
{
	int r = vfc_ensure_dir(ctx, "/run/vfioctl");

	return r ? r : vfc_ensure_dir(ctx, "/run/vfioctl/devices");
}

static int fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, r = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int vfc_file_replace(struct vfc_ctx *ctx, const char *p, const char *text, size_t n)
{
	vfc_path_t tmp;
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", p) >= sizeof(tmp))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	/* a .tmp left by a crashed run is ours to replace */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return vfc_fail(ctx, errno, NULL, "removing %s", vfc_path_strip(ctx, tmp));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return vfc_fail(ctx, errno, errno == EACCES || errno == EROFS ? "run as root, on a writable file system" : NULL,
				"creating %s", vfc_path_strip(ctx, tmp));
	r = write_all(fd, text, n);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, p) < 0)
		r = -errno;
	if (!r)
		r = fsync_dir(p);
	if (r) {
		unlink(tmp);
		return vfc_fail(ctx, r, NULL, "writing %s", vfc_path_strip(ctx, p));
	}
	return 0;
}

int vfc_file_remove(struct vfc_ctx *ctx, const char *p)
{
	if (unlink(p) < 0 && errno != ENOENT)
		return vfc_fail(ctx, errno, NULL, "removing %s", vfc_path_strip(ctx, p));
	/* the file is gone either way; a failed sync only risks it coming back */
	(void)fsync_dir(p);
	return 0;
}

int vfc_state_save(struct vfc_ctx *ctx, const struct vfc_state *st)
{
	char text[VFC_STATE_MAX];
	vfc_path_t p;
	int r, n = vfc_state_format(st, text, sizeof(text));

	if (n < 0 || vfc_path_state(ctx, p, &st->bdf, NULL))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "state record too long");
	r = ensure_dirs(ctx);
	return r ? r : vfc_file_replace(ctx, p, text, (size_t)n);
}

int vfc_state_remove(struct vfc_ctx *ctx, const struct vfc_bdf *bdf)
{
	vfc_path_t p;

	if (vfc_path_state(ctx, p, bdf, NULL))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	return vfc_file_remove(ctx, p);
}

static void lock_holder(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!buf[0] || strspn(buf, "0123456789") != strlen(buf))
		snprintf(buf, len, "?");
}

static int wait_lock(struct vfc_ctx *ctx, int fd, const volatile sig_atomic_t *cancel)
{
	long long deadline = vfc_now_ms() + LOCK_WAIT_MS;
	char pid[16];

	lock_holder(fd, pid, sizeof(pid));
	vfc_log(ctx, LOG_NOTICE, "waiting for another vfioctl run (pid %s) to finish", pid);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return vfc_fail(ctx, errno, NULL, "locking /run/vfioctl/lock");
		if (cancel && *cancel) {
			vfc_fail(ctx, ECANCELED, NULL, "interrupted while waiting for the lock");
			vfc_set_errflag(ctx, VFC_ERR_CANCELLED);
			return -ECANCELED;
		}
		if (vfc_now_ms() > deadline)
			return vfc_fail(ctx, EBUSY, "wait for it to finish, then try again",
					"another vfioctl run (pid %s) has held /run/vfioctl/lock for %d s",
					pid, LOCK_WAIT_MS / 1000);
		usleep(20000);
	}
	return 0;
}

int vfc_lock(struct vfc_ctx *ctx, const volatile sig_atomic_t *cancel, int *out)
{
	char pid[16];
	vfc_path_t p;
	int fd, r = ensure_dirs(ctx);

	*out = -1;
	if (r)
		return r;
	if (vfc_path_root(ctx, p, "/run/vfioctl/lock"))
		return vfc_fail(ctx, ENAMETOOLONG, NULL, "path too long");
	fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vfc_fail(ctx, errno, NULL, "opening /run/vfioctl/lock");
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? wait_lock(ctx, fd, cancel)
					 : vfc_fail(ctx, errno, NULL, "locking /run/vfioctl/lock");
		if (r) {
			close(fd);
			return r;
		}
	}
	/* the holder's pid, so that a waiting run can say whom it waits for */
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, pid, strlen(pid), 0);
	*out = fd;
	return 0;
}

void vfc_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
