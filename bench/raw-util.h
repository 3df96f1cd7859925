/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the benchmark baselines (raw-map.c, raw-ioas-map.c) share: the clock
 * they time the bare ioctls with and the median they report. Header-only, so
 * each baseline stays one program with no libvfioctl in it.
 */
#ifndef VFIOCTL_BENCH_RAW_UTIL_H
#define VFIOCTL_BENCH_RAW_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The failed call and errno on stderr, after the program's name; returns 1. */
static inline int die_as(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	return 1;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v (n >= 1) and returns its median; the mean of the middle two for even n. */
static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
