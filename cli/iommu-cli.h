/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What `container` and `map` share: naming the groups to put in a container. */
#ifndef VFIOCTL_CLI_IOMMU_CLI_H
#define VFIOCTL_CLI_IOMMU_CLI_H

#include <stdbool.h>

#include "vfioctl.h"

/* A "BDF|GROUP" argument: the group it names, and the device when a BDF. */
struct target {
	const char *arg;
	bool is_dev;
	struct vfc_bdf bdf;
	unsigned int group;
};

/* Syntax only: -1 to go on, else the exit code (a usage error). */
int target_parse(const char *cmd, const char *arg, struct target *t);
/*
 * Looks the group up in sysfs (a BDF's own group; a group's existence), so a
 * missing one is EXIT_NOT_FOUND before any VFIO node is opened. -1 to go on,
 * else the exit code, the error already printed.
 */
int target_resolve(struct vfc_ctx *ctx, struct target *t);

/* Adds each target's group to the container; -1 or the exit code. */
int targets_attach(struct vfc_iommu *io, struct target *t, size_t n);

/*
 * The backend the global --backend means for these targets' groups (auto:
 * iommufd where every vfio-pci device has its cdev, else type1); why gets
 * the reason. Reads sysfs only. -1 to go on, else the exit code.
 */
int targets_backend(struct vfc_ctx *ctx, const struct target *t, size_t n,
		    enum vfc_backend *out, char *why, size_t len);

/* Exit code for an error of the IOMMU layer (adds "not supported"). */
int iommu_exit_code(int err);

#endif
