// SPDX-License-Identifier: LGPL-2.1-or-later
/* Parsers of user input and kernel text. Pure functions: no context, no I/O. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int hexfield(const char **p, size_t digits_max, unsigned long max,
		    unsigned long *out)
{
	const char *s = *p;
	unsigned long v = 0;
	size_t n = 0;

	while (isxdigit((unsigned char)*s) && n < digits_max) {
		int c = tolower((unsigned char)*s);

		v = v * 16 + (unsigned long)(isdigit(c) ? c - '0' : c - 'a' + 10);
		s++;
		n++;
	}
	if (n == 0 || v > max || isxdigit((unsigned char)*s))
		return -EINVAL;
	*out = v;
	*p = s;
	return 0;
}

VFC_EXPORT int vfc_bdf_parse(const char *s, struct vfc_bdf *out)
{
	unsigned long dom = 0, bus, dev, fn;
	const char *p = s;
	int colons = 0;

	if (!s)
		return -EINVAL;
	for (const char *q = s; *q; q++)
		colons += *q == ':';
	if (colons == 2) {
		if (hexfield(&p, 4, 0xffff, &dom) || *p++ != ':')
			return -EINVAL;
	} else if (colons != 1) {
		return -EINVAL;
	}
	if (hexfield(&p, 2, 0xff, &bus) || *p++ != ':' ||
	    hexfield(&p, 2, 0x1f, &dev) || *p++ != '.' ||
	    hexfield(&p, 1, 0x7, &fn) || *p)
		return -EINVAL;
	out->domain = (uint16_t)dom;
	out->bus = (uint8_t)bus;
	out->dev = (uint8_t)dev;
	out->fn = (uint8_t)fn;
	return 0;
}

VFC_EXPORT char *vfc_bdf_format(const struct vfc_bdf *b, char buf[VFC_BDF_STRLEN])
{
	snprintf(buf, VFC_BDF_STRLEN, "%04x:%02x:%02x.%x", b->domain, b->bus,
		 b->dev & 0x1fu, b->fn & 0x7u);
	return buf;
}

VFC_EXPORT int vfc_bdf_cmp(const struct vfc_bdf *a, const struct vfc_bdf *b)
{
	uint32_t x = (uint32_t)a->domain << 16 | a->bus << 8 | a->dev << 3 | a->fn;
	uint32_t y = (uint32_t)b->domain << 16 | b->bus << 8 | b->dev << 3 | b->fn;

	return x < y ? -1 : x > y;
}

VFC_EXPORT int vfc_group_parse(const char *s, unsigned int *out)
{
	unsigned long v = 0;

	if (!s || !*s || strlen(s) > 10)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > INT_MAX)
		return -ERANGE;
	*out = (unsigned int)v;
	return 0;
}

VFC_EXPORT int vfc_size_parse(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTPE";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || !*u)
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B") || !strcmp(end, "ib"))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

VFC_EXPORT char *vfc_size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	int i = -1;
	uint64_t whole = bytes, unit = 1;

	while (whole >= 1024 && i < 5) {
		whole /= 1024;
		unit *= 1024;
		i++;
	}
	if (i < 0) {
		snprintf(buf, len, "%" PRIu64, bytes);
	} else {
		/* one decimal, rounded, dropped when it is zero */
		uint64_t tenths = (bytes % unit * 10 + unit / 2) / unit;

		if (tenths >= 10) {
			whole++;
			tenths = 0;
		}
		/* rounding can carry into the next unit: 1023.96M is 1G */
		if (whole == 1024 && i < 5) {
			whole = 1;
			i++;
		}
		if (tenths)
			snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%c", whole,
				 tenths, units[i]);
		else
			snprintf(buf, len, "%" PRIu64 "%c", whole, units[i]);
	}
	return buf;
}

VFC_EXPORT int vfc_resv_regions_parse(const char *text,
				      struct vfc_resv_region **out, size_t *n)
{
	struct vfc_resv_region *arr = NULL;
	size_t cnt = 0;
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t llen = nl ? (size_t)(nl - line) : strlen(line);
		char buf[128], type[sizeof(arr->type)];
		struct vfc_resv_region r = {0};
		unsigned long long a, b;
		int used = 0;

		if (llen >= sizeof(buf))
			goto bad;
		memcpy(buf, line, llen);
		buf[llen] = '\0';
		line = nl ? nl + 1 : NULL;
		if (strspn(buf, " \t") == llen)
			continue;
		if (sscanf(buf, "%llx %llx %23s%n", &a, &b, type, &used) != 3 ||
		    buf[used] != '\0' || strncmp(buf, "0x", 2) || a > b)
			goto bad;
		r.start = a;
		r.end = b;
		snprintf(r.type, sizeof(r.type), "%s", type);
		if (vfc_array_push((void **)&arr, &cnt, sizeof(r), &r)) {
			free(arr);
			return -ENOMEM;
		}
	}
	*out = arr;
	*n = cnt;
	return 0;
bad:
	free(arr);
	return -EINVAL;
}

static int kb_field(const char *v, int64_t *out)
{
	uint64_t kb;
	char num[32];
	size_t i = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	while (isdigit((unsigned char)v[i]) && i < sizeof(num) - 1) {
		num[i] = v[i];
		i++;
	}
	num[i] = '\0';
	if (!i || strncmp(v + i, " kB", 3) || vfc_parse_u64(num, 10, &kb) ||
	    kb > INT64_MAX)
		return -EINVAL;
	*out = (int64_t)kb;
	return 0;
}

/* "Uid:\t1000\t1000\t1000\t1000": the first of the four, the real uid. */
static int uid_field(const char *v, uid_t *out)
{
	char first[24];
	uint64_t u;

	if (sscanf(v, " %23s", first) != 1 || vfc_parse_u64(first, 10, &u) ||
	    u > (uid_t)-1)
		return -EINVAL;
	*out = (uid_t)u;
	return 0;
}

VFC_EXPORT int vfc_proc_status_parse(const char *text,
				     struct vfc_proc_status *out)
{
	const char *line = text;

	memset(out, 0, sizeof(*out));
	out->vm_lck_kb = out->vm_pin_kb = -1;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		char buf[256];
		size_t llen = nl ? (size_t)(nl - line) : strlen(line);
		char *val;
		int r = 0;

		if (llen >= sizeof(buf))
			llen = sizeof(buf) - 1; /* long lines (Groups:) we do not need */
		memcpy(buf, line, llen);
		buf[llen] = '\0';
		line = nl ? nl + 1 : NULL;
		val = strchr(buf, ':');
		if (!val)
			continue;
		*val++ = '\0';
		if (!strcmp(buf, "Name")) {
			while (*val == '\t' || *val == ' ')
				val++;
			snprintf(out->name, sizeof(out->name), "%s", val);
		} else if (!strcmp(buf, "VmLck")) {
			r = kb_field(val, &out->vm_lck_kb);
		} else if (!strcmp(buf, "VmPin")) {
			r = kb_field(val, &out->vm_pin_kb);
		} else if (!strcmp(buf, "Uid")) {
			r = uid_field(val, &out->uid);
			out->have_uid = r == 0;
		} else if (!strcmp(buf, "CapEff")) {
			r = vfc_parse_u64(val, 16, &out->cap_eff);
			out->have_cap_eff = r == 0;
		}
		if (r)
			return -EINVAL;
	}
	return 0;
}

static int limit_value(const char *s, uint64_t *out)
{
	if (!strcmp(s, "unlimited")) {
		*out = VFC_RLIM_INFINITY;
		return 0;
	}
	return vfc_parse_u64(s, 10, out);
}

VFC_EXPORT int vfc_proc_limits_memlock_parse(const char *text, uint64_t *soft,
					     uint64_t *hard)
{
	static const char key[] = "Max locked memory";
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, sizeof(key) - 1)) {
			char s[32], h[32];

			if (sscanf(p + sizeof(key) - 1, "%31s %31s", s, h) != 2 ||
			    limit_value(s, soft) || limit_value(h, hard))
				return -EINVAL;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}
