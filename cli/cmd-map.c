// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfioctl map: map memory (and BARs) for DMA the way a VMM does, and report
 * what it cost: time per phase, locked and pinned memory, DMA entries, and
 * the pages the memory really had. Every argument is checked before anything
 * is opened, allocated or mapped.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "map.h"
#include "output.h"

#define DEFAULT_SIZE (1ULL << 30)
#define MAX_REPEAT 100000
#define MAX_PREMAP 4096
#define THP_PAGE (2ULL << 20)

enum { COL_MAPPING, COL_BACKEND, COL_IOCTL, COL_IOVA, COL_SIZE, COL_BACKING, COL_MODE,
       COL_PAGES, COL_HUGE, COL_RSS,
       COL_ALLOC, COL_ALLOC_MIN, COL_ALLOC_MAX, COL_POP, COL_POP_MIN, COL_POP_MAX,
       COL_MAP, COL_MAP_MIN, COL_MAP_MAX, COL_UNMAP, COL_UNMAP_MIN, COL_UNMAP_MAX,
       COL_GIBS, COL_LOCKED, COL_LOCKED_BEFORE, COL_LOCKED_AFTER, COL_LOCKED_END,
       COL_PINNED, COL_PINNED_BEFORE, COL_PINNED_AFTER, COL_PINNED_END, COL_ENTRIES,
       COL_ENTRIES_LEFT, COL_REPEATS,
       COL_PREMAP, COL_GRANULE, COL_SETUP, COL_SERVED, COL_STOP, COL_FAULTS, COL_GROUPS,
       COL_INVALID, COL_OUTSIDE, COL_LAZY, COL_PREMAPPED, COL_MAP_CALLS, COL_MAP_ERRORS,
       COL_LAT_MIN, COL_LAT, COL_LAT_MAX, COL_HWPT };

static const struct colinfo infos[] = {
	[COL_MAPPING] = { "MAPPING", 7, 0, COL_STR, "ram0, ram1... (a --chunk each), barN, or total" },
	[COL_BACKEND] = { "BACKEND", 7, 0, COL_STR, "IOMMU backend that ran: type1 or iommufd (--backend)" },
	[COL_IOCTL] = { "IOCTL", 13, 0, COL_STR, "the map call: MAP_DMA (type1), IOAS_MAP or IOAS_MAP_FILE (iommufd); IOAS_MAP (no MAP_FILE) when a memfd fell back to its mmap" },
	[COL_IOVA] = { "IOVA", 12, SCOLS_FL_RIGHT, COL_STR, "where the device sees it" },
	[COL_SIZE] = { "SIZE", 6, SCOLS_FL_RIGHT, COL_NUM, "bytes mapped" },
	[COL_BACKING] = { "BACKING", 10, 0, COL_STR, "memory source (--backing), or the BAR and its device" },
	[COL_MODE] = { "MODE", 6, 0, COL_STR, "pin (RAM: pinned and charged), pfnmap, mmio_dont_pin or dma-buf (BARs: neither)" },
	[COL_PAGES] = { "PAGES", 8, 0, COL_STR, "pages the memory really had once pinned (from smaps)" },
	[COL_HUGE] = { "HUGE", 6, SCOLS_FL_RIGHT, COL_NUM, "bytes in huge pages (THP or hugetlb)" },
	[COL_RSS] = { "RSS", 6, SCOLS_FL_RIGHT, COL_NUM, "bytes resident" },
	[COL_ALLOC] = { "ALLOC", 7, SCOLS_FL_RIGHT, COL_NUM, "allocate, ms (median over --repeat)" },
	[COL_ALLOC_MIN] = { "ALLOC_MIN", 7, SCOLS_FL_RIGHT, COL_NUM, "allocate, ms, fastest repeat" },
	[COL_ALLOC_MAX] = { "ALLOC_MAX", 7, SCOLS_FL_RIGHT, COL_NUM, "allocate, ms, slowest repeat" },
	[COL_POP] = { "POPULATE", 8, SCOLS_FL_RIGHT, COL_NUM, "prefault (--populate), ms (median)" },
	[COL_POP_MIN] = { "POPULATE_MIN", 8, SCOLS_FL_RIGHT, COL_NUM, "prefault, ms, fastest repeat" },
	[COL_POP_MAX] = { "POPULATE_MAX", 8, SCOLS_FL_RIGHT, COL_NUM, "prefault, ms, slowest repeat" },
	[COL_MAP] = { "MAP", 8, SCOLS_FL_RIGHT, COL_NUM, "pin+map ioctl alone, ms (median)" },
	[COL_MAP_MIN] = { "MAP_MIN", 8, SCOLS_FL_RIGHT, COL_NUM, "pin+map ioctl, ms, fastest repeat" },
	[COL_MAP_MAX] = { "MAP_MAX", 8, SCOLS_FL_RIGHT, COL_NUM, "pin+map ioctl, ms, slowest repeat" },
	[COL_UNMAP] = { "UNMAP", 8, SCOLS_FL_RIGHT, COL_NUM, "unmap ioctl alone, ms (median)" },
	[COL_UNMAP_MIN] = { "UNMAP_MIN", 8, SCOLS_FL_RIGHT, COL_NUM, "unmap ioctl, ms, fastest repeat" },
	[COL_UNMAP_MAX] = { "UNMAP_MAX", 8, SCOLS_FL_RIGHT, COL_NUM, "unmap ioctl, ms, slowest repeat" },
	[COL_GIBS] = { "GIB/S", 7, SCOLS_FL_RIGHT, COL_NUM, "GiB per second of the pin+map ioctl (median)" },
	[COL_LOCKED] = { "LOCKED", 6, SCOLS_FL_RIGHT, COL_NUM, "VmLck (locked_vm) the mapping added" },
	[COL_LOCKED_BEFORE] = { "LOCKED_BEFORE", 6, SCOLS_FL_RIGHT, COL_NUM, "VmLck before mapping" },
	[COL_LOCKED_AFTER] = { "LOCKED_AFTER", 6, SCOLS_FL_RIGHT, COL_NUM, "VmLck after mapping" },
	[COL_LOCKED_END] = { "LOCKED_END", 6, SCOLS_FL_RIGHT, COL_NUM, "total: VmLck after everything was unmapped" },
	[COL_PINNED] = { "PINNED", 6, SCOLS_FL_RIGHT, COL_NUM, "VmPin (pinned_vm) the mapping added: iommufd's charge" },
	[COL_PINNED_BEFORE] = { "PINNED_BEFORE", 6, SCOLS_FL_RIGHT, COL_NUM, "VmPin before mapping" },
	[COL_PINNED_AFTER] = { "PINNED_AFTER", 6, SCOLS_FL_RIGHT, COL_NUM, "VmPin after mapping" },
	[COL_PINNED_END] = { "PINNED_END", 6, SCOLS_FL_RIGHT, COL_NUM, "total: VmPin after everything was unmapped" },
	[COL_ENTRIES] = { "ENTRIES", 7, SCOLS_FL_RIGHT, COL_NUM, "DMA entries (dma_entry_limit) the mapping used" },
	[COL_ENTRIES_LEFT] = { "ENTRIES_LEFT", 7, SCOLS_FL_RIGHT, COL_NUM, "DMA entries the container had left after it" },
	[COL_REPEATS] = { "REPEATS", 4, SCOLS_FL_RIGHT, COL_NUM, "repeats measured" },
	[COL_PREMAP] = { "PREMAP", 4, SCOLS_FL_RIGHT, COL_NUM, "iopf: pages mapped ahead of each faulting page (--premap)" },
	[COL_GRANULE] = { "GRANULE", 6, SCOLS_FL_RIGHT, COL_NUM, "iopf: bytes mapped per page on a fault (the backing's page)" },
	[COL_SETUP] = { "SETUP", 7, SCOLS_FL_RIGHT, COL_NUM, "iopf: fault queue, page table, thread and attach, ms" },
	[COL_SERVED] = { "SERVED", 7, SCOLS_FL_RIGHT, COL_NUM, "iopf: time faults were served (--hold), ms" },
	[COL_STOP] = { "STOP", 7, SCOLS_FL_RIGHT, COL_NUM, "iopf: teardown (device back on the IOAS, lazy maps unmapped), ms" },
	[COL_FAULTS] = { "FAULTS", 6, SCOLS_FL_RIGHT, COL_NUM, "iopf: fault records read (one per page request)" },
	[COL_GROUPS] = { "GROUPS", 6, SCOLS_FL_RIGHT, COL_NUM, "iopf: fault groups answered (one response each)" },
	[COL_INVALID] = { "INVALID", 6, SCOLS_FL_RIGHT, COL_NUM, "iopf: groups answered INVALID (the device's DMA fails)" },
	[COL_OUTSIDE] = { "OUTSIDE", 6, SCOLS_FL_RIGHT, COL_NUM, "iopf: faults outside the region (or writes to a read-only one)" },
	[COL_LAZY] = { "LAZY_PAGES", 6, SCOLS_FL_RIGHT, COL_NUM, "iopf: pages mapped on faults, premapped ones included" },
	[COL_PREMAPPED] = { "PREMAPPED", 6, SCOLS_FL_RIGHT, COL_NUM, "iopf: of them, mapped ahead of a fault" },
	[COL_MAP_CALLS] = { "MAP_CALLS", 6, SCOLS_FL_RIGHT, COL_NUM, "iopf: IOMMU_IOAS_MAP calls made on faults" },
	[COL_MAP_ERRORS] = { "MAP_ERRORS", 6, SCOLS_FL_RIGHT, COL_NUM, "iopf: of them, failed" },
	[COL_LAT_MIN] = { "LAT_MIN", 7, SCOLS_FL_RIGHT, COL_NUM, "iopf: fault service latency, fastest, us" },
	[COL_LAT] = { "LAT_MEDIAN", 7, SCOLS_FL_RIGHT, COL_NUM, "iopf: fault service latency (record read to response written), median, us" },
	[COL_LAT_MAX] = { "LAT_MAX", 7, SCOLS_FL_RIGHT, COL_NUM, "iopf: fault service latency, slowest, us" },
	[COL_HWPT] = { "HWPT", 4, SCOLS_FL_RIGHT, COL_NUM, "iopf: the IOPF-capable page table's iommufd id" },
};

static const int defaults[] = { COL_MAPPING, COL_BACKEND, COL_IOVA, COL_SIZE, COL_BACKING,
				COL_MODE, COL_PAGES, COL_ALLOC, COL_POP, COL_MAP, COL_UNMAP,
				COL_GIBS, COL_LOCKED, COL_ENTRIES_LEFT };
/* with --repeat, the spread of the ioctl matters as much as its median */
static const int defaults_rep[] = { COL_MAPPING, COL_BACKEND, COL_IOVA, COL_SIZE, COL_BACKING,
				    COL_MODE, COL_PAGES, COL_ALLOC, COL_POP, COL_MAP, COL_MAP_MIN,
				    COL_MAP_MAX, COL_UNMAP, COL_GIBS, COL_LOCKED,
				    COL_ENTRIES_LEFT };
/* iommufd: the call that mapped, and VmPin, its charge; no entry limit */
static const int defaults_ifd[] = { COL_MAPPING, COL_BACKEND, COL_IOCTL, COL_IOVA, COL_SIZE,
				    COL_BACKING, COL_MODE, COL_PAGES, COL_ALLOC, COL_POP, COL_MAP,
				    COL_UNMAP, COL_GIBS, COL_PINNED };
static const int defaults_ifd_rep[] = { COL_MAPPING, COL_BACKEND, COL_IOCTL, COL_IOVA,
					COL_SIZE, COL_BACKING, COL_MODE, COL_PAGES, COL_ALLOC,
					COL_POP, COL_MAP, COL_MAP_MIN, COL_MAP_MAX, COL_UNMAP,
					COL_GIBS, COL_PINNED };

/* iopf: the faults served, the lazy pages and what they pinned */
static const int defaults_iopf[] = { COL_MAPPING, COL_BACKEND, COL_IOVA, COL_SIZE, COL_BACKING,
				     COL_MODE, COL_PREMAP, COL_ALLOC, COL_POP, COL_SETUP,
				     COL_FAULTS, COL_LAZY, COL_MAP_CALLS, COL_LAT, COL_LAT_MAX,
				     COL_STOP, COL_PINNED };

static int bytes_mode;

/* ---- report ---- */

static int set_size(struct out *o, struct libscols_line *ln, int col, uint64_t v)
{
	return out_set_bytes(o, ln, col, v, bytes_mode);
}

static int set_kb(struct out *o, struct libscols_line *ln, int col, int64_t kb)
{
	return kb < 0 ? 0 : set_size(o, ln, col, (uint64_t)kb << 10);
}

/* A signed growth in bytes; unknown when either side is. */
static int set_delta(struct out *o, struct libscols_line *ln, int col, int64_t before,
		     int64_t after)
{
	char buf[32];
	int64_t d;

	if (before < 0 || after < 0)
		return 0;
	d = (after - before) * 1024;
	if (bytes_mode || outopts.json || d < 0)
		return out_setf(o, ln, col, "%" PRId64, d);
	return out_set(o, ln, col, vfc_size_format((uint64_t)d, buf, sizeof(buf)));
}

/* The median, min and max of a phase over the repeats that ran it. */
static int set_phase(struct out *o, struct libscols_line *ln, const double *v, unsigned int n,
		     int col, struct stats *st)
{
	double *have = malloc((n ? n : 1) * sizeof(*have));
	unsigned int k = 0;
	int r = 0;

	if (!have)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		if (!isnan(v[i]))
			have[k++] = v[i];
	if (k && stats_of(have, k, st) == 0) {
		r |= out_setf(o, ln, col, "%.3f", st->median);
		r |= out_setf(o, ln, col + 1, "%.3f", st->min);
		r |= out_setf(o, ln, col + 2, "%.3f", st->max);
	} else {
		st->median = NAN;
	}
	free(have);
	return r;
}

static int set_times(struct out *o, struct libscols_line *ln, double *const ms[PH_COUNT],
		     unsigned int n, uint64_t size)
{
	static const int first[PH_COUNT] = { COL_ALLOC, COL_POP, COL_MAP, COL_UNMAP };
	struct stats st[PH_COUNT];
	int r = 0;

	for (int ph = 0; ph < PH_COUNT; ph++)
		r |= set_phase(o, ln, ms[ph], n, first[ph], &st[ph]);
	if (!isnan(st[PH_MAP].median) && st[PH_MAP].median > 0)
		r |= out_setf(o, ln, COL_GIBS, "%.2f",
			      gib_per_s(size, (uint64_t)(st[PH_MAP].median * 1e6)));
	return r;
}

static void pages_str(const struct item *it, char *buf, size_t len)
{
	char kp[16];

	if (!it->have_pages) {
		snprintf(buf, len, "%s", it->bar ? "mmio" : "-");
		return;
	}
	vfc_size_format(it->pages.kernel_page, kp, sizeof(kp));
	if (it->pages.kernel_page > 4096 || it->pages.huge == 0)
		snprintf(buf, len, "%s", kp);
	else
		snprintf(buf, len, "THP %" PRIu64 "%%", it->pages.huge * 100 / it->size);
}

/*
 * What a mapping (or the total) cost in memory and DMA entries: v holds VmLck
 * before and after (KiB), VmPin before and after, DMA entries free before and
 * after; -1 where unknown.
 */
static int set_accounting(struct out *o, struct libscols_line *ln, const int64_t v[6],
			  unsigned int repeats)
{
	int r = 0;

	r |= set_delta(o, ln, COL_LOCKED, v[0], v[1]);
	r |= set_kb(o, ln, COL_LOCKED_BEFORE, v[0]);
	r |= set_kb(o, ln, COL_LOCKED_AFTER, v[1]);
	r |= set_delta(o, ln, COL_PINNED, v[2], v[3]);
	r |= set_kb(o, ln, COL_PINNED_BEFORE, v[2]);
	r |= set_kb(o, ln, COL_PINNED_AFTER, v[3]);
	if (v[4] >= 0 && v[5] >= 0)
		r |= out_setf(o, ln, COL_ENTRIES, "%" PRId64, v[4] - v[5]);
	if (v[5] >= 0)
		r |= out_setf(o, ln, COL_ENTRIES_LEFT, "%" PRId64, v[5]);
	r |= out_setf(o, ln, COL_REPEATS, "%u", repeats);
	return r;
}

/* What a mapping is: its name, how and where it went, and from what memory. */
static int set_what(const struct map_run *rn, struct out *o, struct libscols_line *ln,
		    const struct item *it)
{
	char buf[96], b[VFC_BDF_STRLEN];
	int r = 0;

	r |= out_set(o, ln, COL_MAPPING, it->name);
	r |= out_set(o, ln, COL_BACKEND, vfc_backend_str(rn->o->backend));
	r |= out_set(o, ln, COL_IOCTL, it->ioctl);
	r |= out_setf(o, ln, COL_IOVA, "0x%" PRIx64, it->iova);
	r |= set_size(o, ln, COL_SIZE, it->size);
	if (it->bar)
		snprintf(buf, sizeof(buf), "BAR%d %s", rn->o->bar,
			 vfc_bdf_format(&rn->o->bar_dev.bdf, b));
	else
		vfc_backing_format(&rn->backing, buf, sizeof(buf));
	r |= out_set(o, ln, COL_BACKING, buf);
	r |= out_set(o, ln, COL_MODE, it->how);
	return r;
}

static int add_item(const struct map_run *rn, struct out *o, const struct item *it)
{
	struct libscols_line *ln = out_line(o);
	char buf[96];
	int r = ln ? set_what(rn, o, ln, it) : -ENOMEM;

	pages_str(it, buf, sizeof(buf));
	r |= out_set(o, ln, COL_PAGES, buf);
	if (it->have_pages) {
		r |= set_size(o, ln, COL_HUGE, it->pages.huge);
		r |= set_size(o, ln, COL_RSS, it->pages.rss);
	}
	r |= set_times(o, ln, it->ms, rn->o->repeat, it->size);
	r |= set_accounting(o, ln, (const int64_t[6]){ it->lck_before, it->lck_after,
						       it->pin_before, it->pin_after,
						       it->avail_before, it->avail_after },
			    rn->repeats_done);
	return r;
}

static int add_total(const struct map_run *rn, struct out *o)
{
	struct libscols_line *ln = out_line(o);
	uint64_t size = 0;
	int r = ln ? 0 : -ENOMEM;

	for (size_t i = 0; i < rn->nitems; i++)
		size += rn->items[i].size;
	r |= out_set(o, ln, COL_MAPPING, "total");
	r |= out_set(o, ln, COL_BACKEND, vfc_backend_str(rn->o->backend));
	r |= set_size(o, ln, COL_SIZE, size);
	r |= set_times(o, ln, rn->total_ms, rn->repeats_done, size);
	if (!rn->o->hold) {
		r |= set_kb(o, ln, COL_LOCKED_END, rn->lck_end);
		r |= set_kb(o, ln, COL_PINNED_END, rn->pin_end);
	}
	r |= set_accounting(o, ln, (const int64_t[6]){ rn->lck_start, rn->lck_mapped,
						       rn->pin_start, rn->pin_mapped,
						       rn->avail_start, rn->avail_mapped },
			    rn->repeats_done);
	return r;
}

static int report(const struct map_run *rn, struct out *o)
{
	int r = 0;

	for (size_t i = 0; i < rn->nitems; i++)
		r |= add_item(rn, o, &rn->items[i]);
	r |= add_total(rn, o);
	if (r) {
		warnx_("out of memory");
		return EXIT_FAIL;
	}
	out_print(o);
	fflush(stdout); /* --hold: the report is read while we wait */
	return -1;
}

/* --mode iopf: one row, the region, with what serving its faults did. */
static int report_iopf(const struct map_run *rn, const struct iopf_result *res, struct out *o)
{
	const struct item *it = &rn->items[0];
	const struct vfc_iopf_stats *st = &res->st;
	struct libscols_line *ln = out_line(o);
	int r = ln ? set_what(rn, o, ln, it) : -ENOMEM;

	r |= out_setf(o, ln, COL_PREMAP, "%u", rn->o->premap);
	r |= set_size(o, ln, COL_GRANULE, rn->o->iopf_page);
	r |= set_times(o, ln, it->ms, 1, it->size);
	r |= out_setf(o, ln, COL_SETUP, "%.3f", res->setup_ms);
	r |= out_setf(o, ln, COL_SERVED, "%.0f", res->served_ms);
	r |= out_setf(o, ln, COL_STOP, "%.3f", res->stop_ms);
	r |= out_setf(o, ln, COL_FAULTS, "%" PRIu64, st->records);
	r |= out_setf(o, ln, COL_GROUPS, "%" PRIu64, st->groups);
	r |= out_setf(o, ln, COL_INVALID, "%" PRIu64, st->invalid);
	r |= out_setf(o, ln, COL_OUTSIDE, "%" PRIu64, st->out_of_region);
	r |= out_setf(o, ln, COL_LAZY, "%" PRIu64, st->pages_mapped);
	r |= out_setf(o, ln, COL_PREMAPPED, "%" PRIu64, st->pages_premapped);
	r |= out_setf(o, ln, COL_MAP_CALLS, "%" PRIu64, st->map_calls);
	r |= out_setf(o, ln, COL_MAP_ERRORS, "%" PRIu64, st->map_errors);
	/* no fault group answered: no latency to speak of */
	if (st->groups) {
		r |= out_setf(o, ln, COL_LAT_MIN, "%.1f", (double)st->lat_min_ns / 1e3);
		r |= out_setf(o, ln, COL_LAT, "%.1f", (double)st->lat_median_ns / 1e3);
		r |= out_setf(o, ln, COL_LAT_MAX, "%.1f", (double)st->lat_max_ns / 1e3);
	}
	r |= out_setf(o, ln, COL_HWPT, "%" PRIu32, res->hwpt_id);
	/* what the faults pinned, at its height: just before the teardown */
	r |= set_delta(o, ln, COL_PINNED, res->pin_before, res->pin_served);
	r |= set_kb(o, ln, COL_PINNED_BEFORE, res->pin_before);
	r |= set_kb(o, ln, COL_PINNED_AFTER, res->pin_served);
	r |= set_kb(o, ln, COL_PINNED_END, res->pin_end);
	if (r) {
		warnx_("out of memory");
		return EXIT_FAIL;
	}
	out_print(o);
	if (st->serve_error)
		warnx_("map: the fault thread stopped early: %s", strerror(-st->serve_error));
	return -1;
}

/* ---- signals ---- */

static void on_signal(int sig)
{
	map_stop = sig;
}

static void catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };

	/* no SA_RESTART: the --hold wait must return */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void hold(const struct map_run *rn)
{
	int64_t kb = charged_kb(rn, rn->lck_mapped, rn->pin_mapped);
	char l[16] = "?";

	if (kb >= 0)
		vfc_size_format((uint64_t)kb << 10, l, sizeof(l));
	if (!map_stop)
		warnx_("map: holding %zu mappings (%s %s) in process %d until SIGINT or SIGTERM",
		       rn->nitems, charged_name(rn), l, (int)getpid());
	wait_for_stop();
}

/* ---- options ---- */

struct raw_opts {
	char *size, *backing, *chunk, *iova, *populate, *bar_device, *bar_iova, *mode, *as_user,
	     *memlock_limit;
	int repeat, hold, bar, no_huge_pages, premap;
};

static int parse_size(const char *opt, const char *s, uint64_t *out)
{
	if (vfc_size_parse(s, out) || *out == 0)
		return usage_error("map", "%s: '%s' is not a size (e.g. 2G, 512M)", opt, s);
	return -1;
}

static int parse_addr(const char *opt, const char *s, bool *fixed, uint64_t *out)
{
	*fixed = false;
	if (!s || !strcmp(s, "auto"))
		return -1;
	if (vfc_size_parse(s, out))
		return usage_error("map", "%s: '%s' is neither an address (e.g. 0x100000000) nor 'auto'",
				   opt, s);
	*fixed = true;
	return -1;
}

static int parse_mode(const char *s, enum map_mode *m, bool *given)
{
	*given = s != NULL;
	if (!s || !strcmp(s, "pin"))
		*m = MODE_PIN;
	else if (!strcmp(s, "no-pin"))
		*m = MODE_NOPIN;
	else if (!strcmp(s, "iopf"))
		*m = MODE_IOPF;
	else
		return usage_error("map", "--mode is pin, no-pin or iopf, not '%s'", s);
	return -1;
}

/* Refusals that depend on nothing but the request: what no backend does. */
static int refuse_mode(const struct map_opts *o)
{
	if (o->mode == MODE_NOPIN && o->size) {
		warnx_("--mode no-pin: type1 always pins RAM it maps (every page, charged to "
		       "RLIMIT_MEMLOCK), and so does iommufd (charged to VmPin); no-pin applies to "
		       "BARs (--bar without --size), and lazy mapping of RAM is IOPF on iommufd: %s",
		       strerror(EOPNOTSUPP));
		return EXIT_UNSUPPORTED;
	}
	return -1;
}

/*
 * What only one backend can do, once it is known: --backend given, or auto
 * resolved from sysfs (then the reason is said). -1 to go on, else the exit
 * code.
 */
static int refuse_for_backend(const struct map_opts *o)
{
	const char *how = cli_backend == VFC_BACKEND_AUTO ? " (auto chose it: " : "";

	if (o->backend == VFC_BACKEND_TYPE1 && o->mode == MODE_IOPF) {
		warnx_("--mode iopf: the type1 backend%s%s%s has no I/O page faults (the 2021 "
		       "VFIO_IOMMU_ENABLE_IOPF proposal was never merged); IOPF needs iommufd "
		       "fault queues (kernel 6.11 or later: --backend iommufd) and a device and "
		       "IOMMU with PCIe PRI or stall: %s", how, *how ? o->backend_why : "",
		       *how ? ")" : "", strerror(EOPNOTSUPP));
		return EXIT_UNSUPPORTED;
	}
	if (o->backend == VFC_BACKEND_TYPE1 && o->no_huge_pages)
		return usage_error("map", "--no-huge-pages is iommufd's IOMMU_OPTION_HUGE_PAGES; the "
				   "type1 backend%s%s%s has none (its equivalent is vfio_iommu_type1's "
				   "disable_hugepages parameter)", how, *how ? o->backend_why : "",
				   *how ? ")" : "");
	if (o->backend == VFC_BACKEND_IOMMUFD && o->bar >= 0 && o->mode_given &&
	    o->mode == MODE_PIN) {
		warnx_("--bar %d --mode pin: iommufd refuses IOMMU_IOAS_MAP of a BAR's mmap (EFAULT: "
		       "MMIO has no pages to pin); use --mode no-pin, which maps the BAR as a "
		       "dma-buf: %s", o->bar, strerror(EOPNOTSUPP));
		return EXIT_UNSUPPORTED;
	}
	return -1;
}

static int parse_populate(const char *s, unsigned int *out)
{
	uint64_t v;

	if (!s) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		*out = n < 1 ? 1 : n > 64 ? 64 : (unsigned int)n;
		return -1;
	}
	if (!strcmp(s, "none")) {
		*out = 0;
		return -1;
	}
	if (vfc_size_parse(s, &v) || v < 1 || v > 64 || strpbrk(s, "KMGTPEkmgtpex"))
		return usage_error("map", "--populate is none or a thread count 1-64, not '%s'", s);
	*out = (unsigned int)v;
	return -1;
}

/* The page size a backing allocates in, where it is known before allocating. */
static uint64_t backing_page(const struct vfc_backing *b)
{
	switch (b->kind) {
	case VFC_MEM_THP:
		return THP_PAGE;
	case VFC_MEM_HUGETLB:
	case VFC_MEM_MEMFD_HUGETLB:
		if (b->huge_size)
			return b->huge_size;
		break;
	default:
		break;
	}
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* auto: hugetlb when a pool has the pages free, else THP, else 4K. */
static void backing_auto(struct vfc_ctx *ctx, struct map_opts *o)
{
	static const uint64_t sizes[] = { 2ULL << 20, 1ULL << 30 };
	struct vfc_host h;

	o->backing.kind = o->size % THP_PAGE ? VFC_MEM_ANON : VFC_MEM_THP;
	if (vfc_host_read(ctx, &h))
		return;
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < h.nhugepages; i++) {
			const struct vfc_hugepages *p = &h.hugepages[i];

			if (p->node == -1 && p->page_size == sizes[s] && o->size % p->page_size == 0 &&
			    (o->chunk == 0 || o->chunk % p->page_size == 0) &&
			    p->nr_free >= o->size / p->page_size) {
				o->backing.kind = VFC_MEM_HUGETLB;
				o->backing.huge_size = p->page_size;
				vfc_host_clear(&h);
				return;
			}
		}
	vfc_host_clear(&h);
}

/* Sizes, placement and prefaulting: syntax only, nothing read yet. */
static int parse_amounts(const struct raw_opts *ro, struct map_opts *o)
{
	int rc = -1;

	if (!ro->size && (ro->backing || ro->chunk || ro->iova || ro->populate))
		return usage_error("map", "--backing, --chunk, --iova and --populate go with --size "
				   "(with --bar alone, only the BAR is mapped)");
	if (ro->size)
		rc = parse_size("--size", ro->size, &o->size);
	else
		o->size = o->bar >= 0 ? 0 : DEFAULT_SIZE;
	if (rc < 0 && ro->chunk)
		rc = parse_size("--chunk", ro->chunk, &o->chunk);
	if (rc < 0)
		rc = parse_addr("--iova", ro->iova, &o->iova_fixed, &o->iova);
	if (rc < 0)
		rc = parse_populate(ro->populate, &o->populate);
	return rc;
}

/* The backing (auto reads the hugepage pools) and the pieces it cuts into. */
static int parse_backing(struct vfc_ctx *ctx, const struct raw_opts *ro, struct map_opts *o,
			 size_t *nram, uint64_t *last)
{
	if (!o->size)
		return -1;
	o->backing_auto = !ro->backing || !strcmp(ro->backing, "auto");
	if (!o->backing_auto && vfc_backing_parse(ro->backing, &o->backing))
		return usage_error("map", "--backing: '%s' is not anon, thp, hugetlb[:2M|:1G], "
				   "memfd[:hugetlb], file:PATH or auto", ro->backing);
	if (o->backing_auto)
		backing_auto(ctx, o);
	switch (plan_chunks(o->size, o->chunk, backing_page(&o->backing), MAP_MAX_PIECES, nram,
			    last)) {
	case 0:
		return -1;
	case -E2BIG:
		return usage_error("map", "--chunk: more than %u mappings", MAP_MAX_PIECES);
	default:
		return usage_error("map", "--size and --chunk must be whole %" PRIu64 "-byte pages "
				   "of the backing", backing_page(&o->backing));
	}
}

static int parse_bar(const struct raw_opts *ro, struct map_opts *o)
{
	int rc = -1;

	o->bar = ro->bar;
	o->bar_dev = o->dev;
	if (o->bar < 0 && (ro->bar_device || ro->bar_iova))
		return usage_error("map", "--bar-device and --bar-iova go with --bar");
	if (o->bar < -1 || o->bar > 5)
		return usage_error("map", "--bar is a BAR number, 0 to 5");
	if (ro->bar_device) {
		rc = target_parse("map", ro->bar_device, &o->bar_dev);
		if (rc < 0 && !o->bar_dev.is_dev)
			return usage_error("map", "--bar-device wants a PCI address, not a group");
	}
	if (rc < 0 && o->bar >= 0 && !o->bar_dev.is_dev)
		return usage_error("map", "a BAR belongs to a device: name one (a BDF, or --bar-device)");
	if (rc < 0)
		rc = parse_addr("--bar-iova", ro->bar_iova, &o->bar_iova_fixed, &o->bar_iova);
	return rc;
}

static int parse_user(const struct raw_opts *ro, struct map_opts *o)
{
	int rc = -1;

	if (ro->as_user) {
		o->as_user = ro->as_user;
		rc = user_lookup(ro->as_user, o);
	}
	if (rc < 0 && ro->memlock_limit) {
		/* 0 is a limit too: what a service with LimitMEMLOCK=0 gets */
		if (vfc_size_parse(ro->memlock_limit, &o->memlock_limit))
			return usage_error("map", "--memlock-limit: '%s' is not a size",
					   ro->memlock_limit);
		o->limit_set = true;
	}
	return rc;
}

/*
 * IOPF maps one region of RAM, page by page as the device faults on it: no
 * BAR, no pieces, no repeats, and no prefaulting unless asked (what a VMM
 * leaves untouched is the point).
 */
static int parse_iopf(const struct raw_opts *ro, struct map_opts *o)
{
	o->premap = ro->premap < 0 ? 0 : (unsigned int)ro->premap;
	if (o->mode != MODE_IOPF) {
		if (ro->premap >= 0)
			return usage_error("map", "--premap goes with --mode iopf");
		return -1;
	}
	if (ro->premap > MAX_PREMAP)
		return usage_error("map", "--premap is 0 to %d pages", MAX_PREMAP);
	if (o->bar >= 0)
		return usage_error("map", "--mode iopf maps RAM on I/O page faults; a BAR (--bar) "
				   "is mapped whole, with --mode no-pin");
	if (o->chunk)
		return usage_error("map", "--mode iopf maps one region, page by page: no --chunk");
	if (o->repeat > 1)
		return usage_error("map", "--mode iopf serves faults once: no --repeat");
	if (!ro->populate)
		o->populate = 0;
	return -1;
}

static int validate(struct vfc_ctx *ctx, poptContext pc, const struct raw_opts *ro,
		    struct map_opts *o, size_t *nram, uint64_t *last)
{
	const char **args = poptGetArgs(pc);
	int rc;

	if (!args || !args[0] || args[1])
		return usage_error("map", "name one IOMMU group or PCI device");
	rc = target_parse("map", args[0], &o->dev);
	if (rc < 0)
		rc = parse_mode(ro->mode, &o->mode, &o->mode_given);
	o->no_huge_pages = ro->no_huge_pages;
	o->backend = cli_backend;
	if (rc < 0 && (ro->repeat < 1 || ro->repeat > MAX_REPEAT))
		rc = usage_error("map", "--repeat is 1 to %d", MAX_REPEAT);
	o->repeat = (unsigned int)ro->repeat;
	o->hold = ro->hold;
	if (rc < 0)
		rc = parse_bar(ro, o);
	if (rc < 0)
		rc = parse_amounts(ro, o);
	if (rc < 0)
		rc = parse_iopf(ro, o);
	/* what no backend can do is said before anything is read, and what the
	 * one asked for cannot (auto is resolved later, from sysfs) */
	if (rc < 0)
		rc = refuse_mode(o);
	if (rc < 0 && cli_backend != VFC_BACKEND_AUTO)
		rc = refuse_for_backend(o);
	if (rc < 0)
		rc = parse_backing(ctx, ro, o, nram, last);
	o->iopf_page = backing_page(&o->backing);
	if (rc < 0)
		rc = parse_user(ro, o);
	return rc;
}

/* ---- the command ---- */

static void note_user(const struct map_opts *o)
{
	char lim[32] = "unlimited";
	struct rlimit rl;

	if (!o->as_user && !o->limit_set)
		return;
	/* as it now stands: --as-user alone keeps the one inherited */
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		vfc_size_format(rl.rlim_cur, lim, sizeof(lim));
	warnx_("map: running as %s (uid %u), RLIMIT_MEMLOCK %s, without CAP_IPC_LOCK",
	       o->as_user ? o->user_name : "root", (unsigned int)(o->as_user ? o->uid : geteuid()),
	       lim);
}

/* The table with the defaults of the backend that runs. */
static int setup(struct out *out, const struct map_opts *o)
{
	bool ifd = o->backend == VFC_BACKEND_IOMMUFD;

	if (o->mode == MODE_IOPF)
		return OUT_SETUP(out, "map", "mappings", infos, defaults_iopf);
	if (o->repeat > 1)
		return ifd ? OUT_SETUP(out, "map", "mappings", infos, defaults_ifd_rep)
			   : OUT_SETUP(out, "map", "mappings", infos, defaults_rep);
	return ifd ? OUT_SETUP(out, "map", "mappings", infos, defaults_ifd)
		   : OUT_SETUP(out, "map", "mappings", infos, defaults);
}

/* auto: iommufd where the devices have their cdevs; then its refusals. */
static int resolve_backend(struct vfc_ctx *ctx, struct map_opts *o, struct out *out)
{
	struct target t[2] = { o->dev, o->bar_dev };
	size_t n = o->bar >= 0 && o->bar_dev.group != o->dev.group ? 2 : 1;
	int rc = targets_backend(ctx, t, n, &o->backend, o->backend_why,
				 sizeof(o->backend_why));

	if (rc >= 0 || cli_backend != VFC_BACKEND_AUTO)
		return rc;
	rc = refuse_for_backend(o);
	if (rc < 0 && o->backend == VFC_BACKEND_IOMMUFD) {
		out_free(out);
		rc = setup(out, o);
	}
	return rc;
}

/* What iommufd already charges the user: the VmPin of its other /dev/iommu holders. */
static void others_pinned(struct vfc_ctx *ctx, struct map_opts *o)
{
	uid_t uid = o->as_user ? o->uid : getuid();
	struct vfc_memlock_proc *p = NULL;
	size_t n = 0;

	o->others_pin_kb = -1;
	if (o->backend != VFC_BACKEND_IOMMUFD ||
	    vfc_memlock_scan(ctx, VFC_MEMLOCK_VFIO, 0, &p, &n, NULL))
		return;
	/* the scan sums the charge per user (user_pin_kb) on each of the user's holders */
	o->others_pin_kb = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].uid == uid && p[i].user_pin_kb >= 0) {
			o->others_pin_kb = p[i].user_pin_kb;
			break;
		}
	free(p);
}

/* pin and no-pin: the repeats, the report, and --hold with everything mapped. */
static int do_map(struct map_run *rn, struct out *out, bool *held)
{
	int rc = run_measure(rn);

	if (rc < 0 && !map_stop)
		rc = report(rn, out);
	if (rc < 0 && rn->o->hold && !map_stop) {
		hold(rn);
		*held = true;
	}
	return rc;
}

/* iopf: serve the faults, then report them, even when the teardown failed. */
static int do_iopf(struct map_run *rn, struct out *out, bool *held)
{
	struct iopf_result ir = { 0 };
	int rc = run_iopf(rn, &ir);

	if (ir.done) {
		int r = report_iopf(rn, &ir, out);

		*held = rn->o->hold;
		if (rc < 0)
			rc = r;
	}
	return rc;
}

static int map(struct vfc_ctx *ctx, struct map_opts *o, size_t nram, uint64_t last,
	       struct out *out)
{
	struct map_run rn = { .ctx = ctx, .o = o, .backing = o->backing };
	bool held = false;
	int rc = target_resolve(ctx, &o->dev);

	if (rc < 0 && o->bar >= 0)
		rc = target_resolve(ctx, &o->bar_dev);
	if (rc < 0)
		rc = resolve_backend(ctx, o, out);
	if (rc < 0)
		others_pinned(ctx, o);
	if (rc < 0)
		rc = user_apply(o);
	if (rc >= 0)
		return rc;
	note_user(o);
	catch_signals();
	rc = run_prepare(&rn, nram, last);
	if (rc < 0 && !map_stop)
		rc = o->mode == MODE_IOPF ? do_iopf(&rn, out, &held) : do_map(&rn, out, &held);
	/* a signal during the work stops it; during --hold it is the way out */
	if (rc < 0 && map_stop && !held) {
		warnx_("map: interrupted by signal %d; everything is unmapped and freed",
		       (int)map_stop);
		rc = 128 + map_stop;
	}
	run_teardown(&rn);
	return rc < 0 ? EXIT_OK : rc;
}

static int run(struct vfc_ctx *ctx, int argc, const char **argv)
{
	struct raw_opts ro = { .repeat = 1, .bar = -1, .premap = -1 };
	struct poptOption opts[] = {
		{ "size", 's', POPT_ARG_STRING, &ro.size, 0, "memory to map (default 1G; none with --bar)", "SIZE" },
		{ "backing", 0, POPT_ARG_STRING, &ro.backing, 0,
		  "auto, anon, thp, hugetlb[:2M|:1G], memfd[:hugetlb], file:PATH", "SPEC" },
		{ "chunk", 0, POPT_ARG_STRING, &ro.chunk, 0, "map in pieces of this size", "SIZE" },
		{ "iova", 0, POPT_ARG_STRING, &ro.iova, 0, "IOVA of the memory (default auto)", "ADDR" },
		{ "repeat", 0, POPT_ARG_INT, &ro.repeat, 0, "measure N times (default 1)", "N" },
		{ "populate", 0, POPT_ARG_STRING, &ro.populate, 0,
		  "prefault with N threads first, or none (default: one per CPU)", "N" },
		{ "hold", 0, POPT_ARG_NONE, &ro.hold, 0, "keep it mapped until SIGINT or SIGTERM", NULL },
		{ "bar", 0, POPT_ARG_INT, &ro.bar, 0, "also map this BAR of the device (P2P)", "N" },
		{ "bar-device", 0, POPT_ARG_STRING, &ro.bar_device, 0,
		  "the BAR is another device's, put in the same container", "BDF" },
		{ "bar-iova", 0, POPT_ARG_STRING, &ro.bar_iova, 0, "IOVA of the BAR (default auto)", "ADDR" },
		{ "mode", 0, POPT_ARG_STRING, &ro.mode, 0, "pin (default), no-pin (BARs) or iopf", "MODE" },
		{ "premap", 0, POPT_ARG_INT, &ro.premap, 0,
		  "iopf: also map N pages ahead of each fault (default 0)", "N" },
		{ "no-huge-pages", 0, POPT_ARG_NONE, &ro.no_huge_pages, 0,
		  "iommufd: IOMMU page table in 4K pages only (HUGE_PAGES=0)", NULL },
		{ "as-user", 0, POPT_ARG_STRING, &ro.as_user, 0,
		  "map as this unprivileged user, as a VMM would", "USER" },
		{ "memlock-limit", 0, POPT_ARG_STRING, &ro.memlock_limit, 0,
		  "set RLIMIT_MEMLOCK and drop CAP_IPC_LOCK first", "SIZE" },
		{ "bytes", 'b', POPT_ARG_NONE, &bytes_mode, 0, "print sizes in bytes", NULL },
		{ NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, NULL, NULL },
		POPT_TABLEEND
	};
	struct map_opts o = { 0 };
	struct out out = { 0 };
	poptContext pc;
	uint64_t last = 0;
	size_t nram = 0;
	int rc = cmd_parse(&cmd_map, opts, argc, argv, &pc);

	if (rc >= 0)
		return rc;
	if (outopts.list_columns)
		rc = OUT_SETUP(&out, "map", "mappings", infos, defaults);
	if (rc < 0)
		rc = validate(ctx, pc, &ro, &o, &nram, &last);
	/* -o is checked here too, before anything is mapped */
	if (rc < 0)
		rc = setup(&out, &o);
	if (rc < 0)
		rc = map(ctx, &o, nram, last, &out);
	out_free(&out);
	poptFreeContext(pc);
	free(ro.size);
	free(ro.backing);
	free(ro.chunk);
	free(ro.iova);
	free(ro.populate);
	free(ro.bar_device);
	free(ro.bar_iova);
	free(ro.mode);
	free(ro.as_user);
	free(ro.memlock_limit);
	return rc;
}

const struct cmd cmd_map = {
	.name = "map",
	.fn = run,
	.args = "BDF|GROUP",
	.summary = "Map memory or a BAR for DMA as a VMM does; report time and locked memory",
};
