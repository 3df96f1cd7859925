/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command-line front end: command table, exit codes, error reporting. */
#ifndef VFIOCTL_CLI_CLI_H
#define VFIOCTL_CLI_CLI_H

#include <popt.h>
#include <signal.h>
#include <stdbool.h>

#include "vfioctl.h"

/* Exit codes: documented in vfioctl(8); never renumber. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,       /* the operation failed (see the message) */
	EXIT_USAGE = 2,      /* bad command line */
	EXIT_CHECK_FAIL = 3, /* `check`: at least one check FAILed */
	EXIT_NOT_FOUND = 4,  /* a named device or group does not exist */
	EXIT_PERM = 5,       /* permission denied */
	EXIT_REFUSED = 6,    /* bind/unbind: refused for safety, nothing changed */
	EXIT_ROLLED_BACK = 7,/* bind: failed after changing the system; all undone */
	EXIT_UNSUPPORTED = 8,/* the kernel or backend cannot do what was asked */
	EXIT_LIMIT = 9,      /* a resource limit stopped it: RLIMIT_MEMLOCK,
			      * dma_entry_limit, the hugepage pool */
};

struct cmd {
	const char *name;
	int (*fn)(struct vfc_ctx *ctx, int argc, const char **argv);
	const char *args;    /* positional arguments, for usage lines */
	const char *summary; /* one line for `vfioctl --help` */
};

extern const struct cmd cmd_list, cmd_group, cmd_check, cmd_memlock, cmd_bind,
	cmd_unbind, cmd_container, cmd_map, cmd_persist;

extern const char *program_name;

/* The global --backend (auto unless given); commands resolve auto per device. */
extern enum vfc_backend cli_backend;
extern bool cli_backend_given;

/* Prints "vfioctl: <msg>: <strerror> (<hint>)" from the context; returns the exit code. */
int report_error(struct vfc_ctx *ctx, int err);
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int exit_code_for(int err);

/*
 * Runs popt over a command's options. Handles --help; returns -1 to go on,
 * else the exit code to return with. *rest gets the positional arguments.
 */
int cmd_parse(const struct cmd *cmd, const struct poptOption *opts, int argc,
	      const char **argv, poptContext *pc);

/* binding.c: what bind and unbind share (steps, results, signals, exit codes). */
struct binding_cli {
	int group, dry_run, force, verbose, persist;
	char *owner, *timeout;
};
extern volatile sig_atomic_t binding_cancel;
int binding_run(struct vfc_ctx *ctx, const struct cmd *cmd, bool unbind,
		const struct poptOption *cmd_opts, struct binding_cli *bc, int argc,
		const char **argv);

/* `persist apply`: bind every persisted device whose slot holds what was persisted. */
int binding_apply(struct vfc_ctx *ctx, const struct cmd *cmd, bool dry, bool verbose);

#endif
