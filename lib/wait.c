// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Waiting for /dev/vfio/<group> after a bind.
 *
 * The kernel creates the node in devtmpfs as soon as vfio-pci registers the
 * group, but udev applies its rules (owner, mode, ACLs) afterwards: a chown
 * made between the two would be overwritten. So when udevd runs, the node is
 * ready only when udev announces it on its monitor; without udevd (early
 * boot, containers, busybox) the node existing is all there is to wait for.
 */
#include <errno.h>
#include <libudev.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SLICE_MS 50 /* how often a long wait looks at the cancel flag */

long long vfc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool udevd_running(struct vfc_ctx *ctx)
{
	vfc_path_t p;

	/* udevd's control socket; what udevadm and libudev users look for */
	return vfc_is_live(ctx) && vfc_path_root(ctx, p, "/run/udev/control") == 0 &&
	       access(p, F_OK) == 0;
}

/*
 * The kernel numbers its uevents. An "add" of /dev/vfio/N numbered before our
 * first write belongs to an earlier node of the same name (a bind and unbind
 * just before ours), which udev may still be working through: taking it for
 * ours would let a chown race udev's rules for the new node.
 */
static unsigned long long current_seqnum(struct vfc_ctx *ctx)
{
	uint64_t n = 0;
	vfc_path_t p;

	if (vfc_path_root(ctx, p, "/sys/kernel/uevent_seqnum") || vfc_read_u64(p, 10, &n))
		return 0;
	return n;
}

void vfc_waiter_open(struct vfc_ctx *ctx, struct vfc_waiter *w)
{
	memset(w, 0, sizeof(*w));
	if (!udevd_running(ctx))
		return;
	w->seqnum = current_seqnum(ctx);
	w->udev = udev_new();
	if (w->udev)
		w->mon = udev_monitor_new_from_netlink(w->udev, "udev");
	if (!w->mon || udev_monitor_filter_add_match_subsystem_devtype(w->mon, "vfio", NULL) < 0 ||
	    udev_monitor_enable_receiving(w->mon) < 0) {
		vfc_log(ctx, LOG_WARNING,
			"cannot listen to udev; waiting for the VFIO node to exist instead");
		vfc_waiter_close(w);
	}
}

void vfc_waiter_close(struct vfc_waiter *w)
{
	if (w->mon)
		udev_monitor_unref(w->mon);
	if (w->udev)
		udev_unref(w->udev);
	w->mon = NULL;
	w->udev = NULL;
}

/* Marks the node udev just announced; the kernel's name is the system's path. */
static void take_event(struct vfc_ctx *ctx, struct vfc_waiter *w, struct udev_device *dev,
		       char (*nodes)[PATH_MAX], bool *ready, size_t n)
{
	const char *action = udev_device_get_action(dev);
	const char *node = udev_device_get_devnode(dev);

	if (!action || !node || strcmp(action, "add") ||
	    udev_device_get_seqnum(dev) <= w->seqnum)
		return;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(vfc_path_strip(ctx, nodes[i]), node))
			ready[i] = true;
}

static void drain_monitor(struct vfc_ctx *ctx, struct vfc_waiter *w,
			  char (*nodes)[PATH_MAX], bool *ready, size_t n)
{
	struct udev_device *dev;

	while ((dev = udev_monitor_receive_device(w->mon))) {
		take_event(ctx, w, dev, nodes, ready, n);
		udev_device_unref(dev);
	}
}

static size_t count_missing(struct vfc_waiter *w, char (*nodes)[PATH_MAX],
			    bool *ready, size_t n)
{
	size_t missing = 0;

	for (size_t i = 0; i < n; i++) {
		if (!w->mon && !ready[i])
			ready[i] = access(nodes[i], F_OK) == 0;
		missing += !ready[i];
	}
	return missing;
}

int vfc_waiter_wait(struct vfc_ctx *ctx, struct vfc_waiter *w,
		    char (*nodes)[PATH_MAX], size_t n, int timeout_ms,
		    const volatile sig_atomic_t *cancel, size_t *missing)
{
	long long deadline = vfc_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	bool *ready = calloc(n ? n : 1, sizeof(*ready));
	int r = -ETIMEDOUT;

	if (!ready)
		return -ENOMEM;
	for (;;) {
		long long left;

		if (w->mon)
			drain_monitor(ctx, w, nodes, ready, n);
		*missing = count_missing(w, nodes, ready, n);
		if (*missing == 0) {
			r = 0;
			break;
		}
		if (cancel && *cancel) {
			r = -ECANCELED;
			break;
		}
		left = deadline - vfc_now_ms();
		if (left <= 0)
			break;
		if (w->mon) {
			struct pollfd pfd = { .fd = udev_monitor_get_fd(w->mon), .events = POLLIN };

			poll(&pfd, 1, (int)(left < SLICE_MS ? left : SLICE_MS));
		} else {
			/* devtmpfs gives no event to wait on: look again shortly */
			usleep(left < 5 ? (useconds_t)left * 1000 : 5000);
		}
	}
	free(ready);
	return r;
}
