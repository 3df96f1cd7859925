// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <inttypes.h>

#include "output.h"
#include "cli.h"

struct outopts outopts;

struct poptOption output_options[] = {
	{ "json", 'J', POPT_ARG_NONE, &outopts.json, 0, "use JSON output format", NULL },
	{ "raw", 'r', POPT_ARG_NONE, &outopts.raw, 0, "use raw output format", NULL },
	{ "pairs", 'P', POPT_ARG_NONE, &outopts.pairs, 0, "use key=\"value\" output format", NULL },
	{ "output", 'o', POPT_ARG_STRING, &outopts.columns, 0,
	  "output columns (+LIST appends to the defaults)", "LIST" },
	{ "noheadings", 'n', POPT_ARG_NONE, &outopts.noheadings, 0, "don't print headings", NULL },
	{ "list-columns", 0, POPT_ARG_NONE, &outopts.list_columns, 0,
	  "list the available columns", NULL },
	POPT_TABLEEND
};

static int json_type(enum col_type t)
{
	switch (t) {
	case COL_NUM: return SCOLS_JSON_NUMBER;
	case COL_BOOL: return SCOLS_JSON_BOOLEAN;
	case COL_ARRAY: return SCOLS_JSON_ARRAY_STRING;
	case COL_STR: break;
	}
	return SCOLS_JSON_STRING;
}

static int find_col(const struct colinfo *infos, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(infos[i].name) == len && !strncasecmp(infos[i].name, name, len))
			return (int)i;
	return -1;
}

/* -o parsing: "A,B" replaces the defaults, "+A,B" appends to them. */
static int select_cols(struct out *o, const char *cmd, const int *defaults,
		       size_t ndefaults)
{
	const char *p = outopts.columns;

	o->nselected = 0;
	if (!p || *p == '+') {
		for (size_t i = 0; i < ndefaults; i++)
			o->selected[o->nselected++] = defaults[i];
		if (p)
			p++;
	}
	while (p && *p) {
		size_t len = strcspn(p, ",");
		int c = find_col(o->infos, o->ninfos, p, len);

		if (c < 0)
			return usage_error(cmd, "unknown column '%.*s' (see --list-columns)",
					   (int)len, p);
		if (o->nselected == MAX_COLS)
			return usage_error(cmd, "more than %d columns", MAX_COLS);
		o->selected[o->nselected++] = c;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!o->nselected)
		return usage_error(cmd, "no columns selected");
	return -1;
}

static struct libscols_table *new_table(const char *json_name)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		return NULL;
	scols_table_set_name(tb, json_name);
	scols_table_enable_json(tb, outopts.json);
	scols_table_enable_raw(tb, outopts.raw);
	scols_table_enable_export(tb, outopts.pairs);
	scols_table_enable_noheadings(tb, outopts.noheadings);
	return tb;
}

static int out_list_columns(const struct colinfo *infos, size_t ninfos);

int out_setup(struct out *o, const char *cmd, const char *json_name,
	      const struct colinfo *infos, size_t ninfos, const int *defaults,
	      size_t ndefaults)
{
	int r;

	memset(o, 0, sizeof(*o));
	if (outopts.json + outopts.raw + outopts.pairs > 1)
		return usage_error(cmd, "--json, --raw and --pairs exclude each other");
	if (outopts.list_columns)
		return out_list_columns(infos, ninfos) ? EXIT_FAIL : EXIT_OK;
	o->infos = infos;
	o->ninfos = ninfos;
	r = select_cols(o, cmd, defaults, ndefaults);
	if (r >= 0)
		return r;
	o->tb = new_table(json_name);
	if (!o->tb)
		goto oom;
	for (size_t i = 0; i < o->nselected; i++) {
		const struct colinfo *ci = &infos[o->selected[i]];
		int flags = ci->flags;
		struct libscols_column *cl;

		/* an array shows one item per line in the human format */
		if (ci->type == COL_ARRAY)
			flags |= SCOLS_FL_WRAP;
		cl = scols_table_new_column(o->tb, ci->name, ci->whint, flags);
		if (!cl)
			goto oom;
		scols_column_set_json_type(cl, json_type(ci->type));
		/* raw and pairs keep "\n" encoded: one row stays one line */
		if (ci->type == COL_ARRAY && !outopts.raw && !outopts.pairs) {
			scols_column_set_wrapfunc(cl, scols_wrapnl_chunksize,
						  scols_wrapnl_nextchunk, NULL);
			scols_column_set_safechars(cl, "\n");
		}
	}
	return -1;
oom:
	warnx_("out of memory");
	return EXIT_FAIL;
}

static int out_list_columns(const struct colinfo *infos, size_t ninfos)
{
	static const char *const types[] = { "string", "number", "boolean", "array" };
	struct libscols_table *tb = new_table("columns");
	int r = 0;

	if (!tb)
		return -ENOMEM;
	if (!scols_table_new_column(tb, "NAME", 0, 0) ||
	    !scols_table_new_column(tb, "TYPE", 0, 0) ||
	    !scols_table_new_column(tb, "DESCRIPTION", 0, 0))
		r = -ENOMEM;
	for (size_t i = 0; !r && i < ninfos; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);

		if (!ln || scols_line_set_data(ln, 0, infos[i].name) ||
		    scols_line_set_data(ln, 1, types[infos[i].type]) ||
		    scols_line_set_data(ln, 2, infos[i].help))
			r = -ENOMEM;
	}
	if (!r)
		r = scols_print_table(tb);
	scols_unref_table(tb);
	return r;
}

struct libscols_line *out_line(struct out *o)
{
	return scols_table_new_line(o->tb, NULL);
}

bool out_has(const struct out *o, int col)
{
	for (size_t i = 0; i < o->nselected; i++)
		if (o->selected[i] == col)
			return true;
	return false;
}

int out_set(struct out *o, struct libscols_line *ln, int col, const char *data)
{
	if (!ln)
		return -ENOMEM;
	for (size_t i = 0; i < o->nselected; i++) {
		if (o->selected[i] != col)
			continue;
		if (data && scols_line_set_data(ln, i, data))
			return -ENOMEM;
	}
	return 0;
}

int out_setf(struct out *o, struct libscols_line *ln, int col, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!out_has(o, col))
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return out_set(o, ln, col, buf);
}

/*
 * libsmartcols before 2.39 writes an empty array as [null], which scripts
 * would count as one item. Our array items are never null, so that exact
 * shape can only be an empty array: print [] instead.
 */
static void print_json_fixed(const char *s, size_t len)
{
	const char *end = s + len;

	while (s < end) {
		const char *open = memchr(s, '[', (size_t)(end - s)), *p;

		if (!open) {
			fwrite(s, 1, (size_t)(end - s), stdout);
			return;
		}
		p = open + 1;
		p += strspn(p, " \n");
		if (!strncmp(p, "null", 4)) {
			const char *q = p + 4 + strspn(p + 4, " \n");

			if (*q == ']') {
				fwrite(s, 1, (size_t)(open - s), stdout);
				fputs("[]", stdout);
				s = q + 1;
				continue;
			}
		}
		fwrite(s, 1, (size_t)(open + 1 - s), stdout);
		s = open + 1;
	}
}

int out_print(struct out *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (!outopts.json)
		return scols_print_table(o->tb);
	f = open_memstream(&buf, &len);
	if (!f)
		return scols_print_table(o->tb);
	scols_table_set_stream(o->tb, f);
	r = scols_print_table(o->tb);
	fclose(f);
	if (!r)
		print_json_fixed(buf, len);
	free(buf);
	return r;
}

void out_free(struct out *o)
{
	scols_unref_table(o->tb);
	o->tb = NULL;
}

int out_set_bytes(struct out *o, struct libscols_line *ln, int col, uint64_t v, bool exact)
{
	char buf[32];

	if (exact || outopts.json)
		return out_setf(o, ln, col, "%" PRIu64, v);
	return out_set(o, ln, col, vfc_size_format(v, buf, sizeof(buf)));
}
