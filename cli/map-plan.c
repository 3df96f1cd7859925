// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl map, the arithmetic: how the memory is cut into mappings, where
 * each one goes in the IOVA space, and the statistics of the timings. Pure,
 * so tests/unit/test-mapplan.c can check it without a kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

int plan_chunks(uint64_t size, uint64_t chunk, uint64_t page, size_t max, size_t *n,
		uint64_t *last)
{
	uint64_t pieces;

	if (size == 0 || page == 0)
		return -EINVAL;
	if (chunk == 0 || chunk >= size)
		chunk = size;
	pieces = size / chunk + (size % chunk != 0);
	if (pieces > max)
		return -E2BIG;
	*n = (size_t)pieces;
	*last = size - (pieces - 1) * chunk;
	/* the allocator and the IOMMU both want whole pages in every piece */
	if (chunk % page || *last % page)
		return -EINVAL;
	return 0;
}

int plan_iovas(const struct vfc_iommu_info *in, const struct vfc_mapping *busy, size_t nbusy,
	       const uint64_t *sizes, size_t n, bool fixed, uint64_t base, uint64_t *iovas)
{
	uint64_t next = base;

	for (size_t i = 0; i < n; i++) {
		if (fixed) {
			iovas[i] = next;
		} else {
			int r = vfc_iova_place(in, busy, nbusy, sizes[i], next, &iovas[i]);

			if (r)
				return r;
		}
		if (sizes[i] - 1 > UINT64_MAX - iovas[i])
			return -EOVERFLOW;
		/* a piece may end at the very top, but then nothing follows it */
		if (i + 1 < n && sizes[i] > UINT64_MAX - iovas[i])
			return -EOVERFLOW;
		next = iovas[i] + sizes[i];
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int stats_of(const double *v, size_t n, struct stats *out)
{
	double *s;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return -EINVAL;
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	out->min = s[0];
	out->max = s[n - 1];
	out->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return 0;
}

double gib_per_s(uint64_t bytes, uint64_t ns)
{
	if (ns == 0)
		return 0;
	return ((double)bytes / (double)(1ULL << 30)) / ((double)ns / 1e9);
}
