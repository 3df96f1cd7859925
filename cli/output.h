/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Column tables, lsblk style: each command describes its columns as data;
 * one table serves the human, --json, --raw and --pairs formats.
 */
#ifndef VFIOCTL_OUTPUT_H
#define VFIOCTL_OUTPUT_H

#include <libsmartcols.h>
#include <popt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum col_type { COL_STR, COL_NUM, COL_BOOL, COL_ARRAY };

struct colinfo {
	const char *name;
	double whint;        /* width hint, as libsmartcols takes it */
	int flags;           /* SCOLS_FL_* */
	enum col_type type;
	const char *help;
};

struct outopts {
	int json, raw, pairs, noheadings, list_columns;
	char *columns;
};

extern struct outopts outopts;
extern struct poptOption output_options[];

#define MAX_COLS 32

struct out {
	struct libscols_table *tb;
	const struct colinfo *infos;
	size_t ninfos;
	int selected[MAX_COLS]; /* info index of each shown column */
	size_t nselected;
};

/*
 * What every command does before its rows: answers --list-columns, or sets
 * up the table. Returns -1 to go on, else the exit code to leave with.
 */
int out_setup(struct out *o, const char *cmd, const char *json_name,
	      const struct colinfo *infos, size_t ninfos, const int *defaults,
	      size_t ndefaults);
#define OUT_SETUP(o, cmd, json_name, infos, defaults)                            \
	out_setup(o, cmd, json_name, infos, sizeof(infos) / sizeof(infos[0]),     \
		  defaults, sizeof(defaults) / sizeof(defaults[0]))
struct libscols_line *out_line(struct out *o);
/* Sets cell `col` (an info index) when that column is shown; NULL is "no value". */
int out_set(struct out *o, struct libscols_line *ln, int col, const char *data);
int out_setf(struct out *o, struct libscols_line *ln, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool out_has(const struct out *o, int col);
/* Booleans are "yes"/"no": readable in a table, true/false in JSON. */
static inline const char *out_bool(bool b)
{
	return b ? "yes" : "no";
}
/* A size in bytes: human (1.5G) in tables, exact bytes in JSON or when `exact`. */
int out_set_bytes(struct out *o, struct libscols_line *ln, int col, uint64_t v, bool exact);
int out_print(struct out *o);
void out_free(struct out *o);

#endif
