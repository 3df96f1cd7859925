// SPDX-License-Identifier: GPL-2.0-or-later
/* vfioctl: global options, the command table and dispatch. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "output.h"
#include "cli.h"

const char *program_name = "vfioctl";
enum vfc_backend cli_backend = VFC_BACKEND_AUTO;
bool cli_backend_given;

static const struct cmd *const commands[] = {
	&cmd_list,
	&cmd_group,
	&cmd_check,
	&cmd_memlock,
	&cmd_bind,
	&cmd_unbind,
	&cmd_container,
	&cmd_map,
	&cmd_persist,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int debug;

void warnx_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s%s%s --help' for more information.\n", program_name,
		cmd ? " " : "", cmd ? cmd : "");
	return EXIT_USAGE;
}

int exit_code_for(int err)
{
	switch (-err) {
	case ENODEV:
		return EXIT_NOT_FOUND;
	case EACCES:
	case EPERM:
		return EXIT_PERM;
	}
	return EXIT_FAIL;
}

int report_error(struct vfc_ctx *ctx, int err)
{
	const char *hint = vfc_errhint(ctx);

	fprintf(stderr, "%s: %s: %s", program_name, vfc_errmsg(ctx), strerror(-err));
	if (hint[0])
		fprintf(stderr, " (%s)", hint);
	fputc('\n', stderr);
	return exit_code_for(err);
}

static void log_to_stderr(void *data, int prio, const char *msg)
{
	(void)data;
	if (prio <= LOG_ERR)
		warnx_("error: %s", msg);
	else if (prio <= LOG_WARNING)
		warnx_("warning: %s", msg);
	else if (prio == LOG_NOTICE)
		warnx_("%s", msg);
	else if (debug)
		warnx_("debug: %s", msg);
}

/* ---- help ------------------------------------------------------------------ */

static void print_option_table(const struct poptOption *o)
{
	for (; o->longName || o->shortName || o->argInfo; o++) {
		char left[64];
		int n = 0;

		if ((o->argInfo & POPT_ARG_MASK) == POPT_ARG_INCLUDE_TABLE) {
			print_option_table(o->arg);
			continue;
		}
		if (o->shortName)
			n = snprintf(left, sizeof(left), " -%c, ", o->shortName);
		else
			n = snprintf(left, sizeof(left), "     ");
		snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", o->longName,
			 o->argDescrip ? " " : "", o->argDescrip ? o->argDescrip : "");
		printf("%-28s %s\n", left, o->descrip);
	}
}

static void print_cmd_help(const struct cmd *cmd, const struct poptOption *opts)
{
	printf("\nUsage:\n %s %s [options]%s%s\n\n%s.\n\nOptions:\n", program_name,
	       cmd->name, cmd->args ? " " : "", cmd->args ? cmd->args : "",
	       cmd->summary);
	print_option_table(opts);
	printf("%-28s %s\n", " -h, --help", "display this help");
	printf("\nFor more details see %s-%s(8).\n", program_name, cmd->name);
}

static void print_main_help(void)
{
	printf("\nUsage:\n %s [options] <command> [command options]\n\n"
	       "Inspect and prepare a Linux host for VFIO device assignment.\n\n"
	       "Commands:\n", program_name);
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf(" %-10s %s\n", commands[i]->name, commands[i]->summary);
	printf("\nOptions:\n"
	       "     --sysroot DIR          read /sys, /proc and /dev below DIR\n"
	       "     --backend NAME         IOMMU backend: auto (default), type1 or iommufd\n"
	       "     --debug                also print the library's debug messages\n"
	       " -h, --help                 display this help\n"
	       " -V, --version              display version\n"
	       "\nRun '%s <command> --help' for the options of a command.\n"
	       "For more details see %s(8).\n", program_name, program_name);
}

int cmd_parse(const struct cmd *cmd, const struct poptOption *opts, int argc,
	      const char **argv, poptContext *pc)
{
	int help = 0, rc;
	struct poptOption table[] = {
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, (void *)opts, 0, NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, &help, 0, "display this help", NULL },
		POPT_TABLEEND
	};

	*pc = poptGetContext(NULL, argc, argv, table, 0);
	if (!*pc)
		return EXIT_FAIL;
	rc = poptGetNextOpt(*pc);
	if (rc < -1) {
		rc = usage_error(cmd->name, "%s: %s", poptBadOption(*pc, 0), poptStrerror(rc));
		poptFreeContext(*pc);
		*pc = NULL;
		return rc;
	}
	if (help) {
		print_cmd_help(cmd, opts);
		poptFreeContext(*pc);
		*pc = NULL;
		return EXIT_OK;
	}
	return -1;
}

/* ---- dispatch -------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[32], cur[32];

	if (la >= 31 || lb >= 31)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

static int unknown_cmd(const char *name)
{
	const struct cmd *best = NULL;
	size_t bestd = 3;

	for (size_t i = 0; i < NCOMMANDS; i++) {
		size_t d = edit_distance(name, commands[i]->name);

		if (d < bestd || !strncmp(commands[i]->name, name, strlen(name))) {
			best = commands[i];
			bestd = d;
		}
	}
	if (best)
		return usage_error(NULL, "unknown command '%s'; did you mean '%s'?", name,
				   best->name);
	return usage_error(NULL, "unknown command '%s'", name);
}

int main(int argc, const char **argv)
{
	char *sysroot = NULL, *backend = NULL;
	int help = 0, version = 0, rc;
	struct poptOption global[] = {
		{ "sysroot", 0, POPT_ARG_STRING, &sysroot, 0, NULL, NULL },
		{ "backend", 0, POPT_ARG_STRING, &backend, 0, NULL, NULL },
		{ "debug", 0, POPT_ARG_NONE, &debug, 0, NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, &help, 0, NULL, NULL },
		{ "version", 'V', POPT_ARG_NONE, &version, 0, NULL, NULL },
		POPT_TABLEEND
	};
	const struct cmd *cmd;
	struct vfc_ctx *ctx;
	poptContext pc;
	const char **rest;
	int nrest = 0;

	scols_init_debug(0); /* honours LIBSMARTCOLS_DEBUG, as lsblk does */
	pc = poptGetContext(NULL, argc, argv, global, POPT_CONTEXT_POSIXMEHARDER);
	rc = poptGetNextOpt(pc);
	if (rc < -1) {
		rc = usage_error(NULL, "%s: %s", poptBadOption(pc, 0), poptStrerror(rc));
		goto out;
	}
	if (version) {
		printf("%s %s\n", program_name, VFIOCTL_VERSION);
		rc = EXIT_OK;
		goto out;
	}
	rest = poptGetArgs(pc);
	while (rest && rest[nrest])
		nrest++;
	if (help) {
		print_main_help();
		rc = EXIT_OK;
		goto out;
	}
	if (!nrest) {
		rc = usage_error(NULL, "no command given");
		goto out;
	}
	if (!strcmp(rest[0], "help")) {
		static const char *hargv[] = { NULL, "--help", NULL };

		if (nrest < 2) {
			print_main_help();
			rc = EXIT_OK;
			goto out;
		}
		cmd = find_cmd(rest[1]);
		if (!cmd) {
			rc = unknown_cmd(rest[1]);
			goto out;
		}
		hargv[0] = cmd->name;
		rc = cmd->fn(NULL, 2, hargv);
		goto out;
	}
	cmd = find_cmd(rest[0]);
	if (!cmd) {
		rc = unknown_cmd(rest[0]);
		goto out;
	}
	if (sysroot && !sysroot[0]) {
		rc = usage_error(NULL, "--sysroot needs a directory");
		goto out;
	}
	if (backend && vfc_backend_parse(backend, &cli_backend)) {
		rc = usage_error(NULL, "--backend is auto, type1 or iommufd, not '%s'", backend);
		goto out;
	}
	cli_backend_given = backend != NULL;
	rc = vfc_new(sysroot, &ctx);
	if (rc) {
		warnx_("--sysroot %s: %s", sysroot ? sysroot : "/", strerror(-rc));
		rc = EXIT_FAIL;
		goto out;
	}
	vfc_set_log_fn(ctx, log_to_stderr, NULL);
	rc = cmd->fn(ctx, nrest, rest);
	vfc_unref(ctx);
out:
	poptFreeContext(pc);
	free(sysroot);
	free(backend);
	return rc;
}
