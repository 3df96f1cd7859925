/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A tiny TAP producer for the unit tests: plan, ok, is_int, is_str, done. */
#ifndef VFIOCTL_TAP_H
#define VFIOCTL_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!pass) {
		printf("#   failed at %s:%d\n", file, line);
		tap_failed++;
	}
	return pass;
}

#define is_int(got, want, ...)                                                   \
	do {                                                                     \
		long long g_ = (long long)(got), w_ = (long long)(want);         \
		if (!ok(g_ == w_, __VA_ARGS__))                                  \
			printf("#   got %lld, want %lld\n", g_, w_);             \
	} while (0)

#define is_u64(got, want, ...)                                                   \
	do {                                                                     \
		uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);            \
		if (!ok(g_ == w_, __VA_ARGS__))                                  \
			printf("#   got 0x%" PRIx64 ", want 0x%" PRIx64 "\n", g_, w_); \
	} while (0)

#define is_str(got, want, ...)                                                   \
	do {                                                                     \
		const char *g_ = (got), *w_ = (want);                            \
		if (!ok(g_ && w_ && !strcmp(g_, w_), __VA_ARGS__))               \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)",  \
			       w_ ? w_ : "(null)");                              \
	} while (0)

/* Prints the plan at the end, so tests need not count themselves. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
