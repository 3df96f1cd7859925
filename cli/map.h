/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfioctl map, private: the options, the plan, the measurements. Split in
 * map-plan.c (pure arithmetic, unit-tested), map-user.c (dropping privileges
 * to reproduce a VMM's limits), map-run.c (allocate, populate, map, unmap,
 * measure) and cmd-map.c (options, checks before anything is touched, report).
 */
#ifndef VFIOCTL_CLI_MAP_H
#define VFIOCTL_CLI_MAP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "iommu-cli.h"
#include "vfioctl.h"

/* ---- map-plan.c (pure) ---- */

/* More mappings than any dma_entry_limit one would set (it is a u32, 65535 by default). */
#define MAP_MAX_PIECES (1u << 20)

/*
 * Splits size into pieces of chunk bytes, the last one possibly smaller
 * (chunk 0: one piece). Every piece must be a whole number of `page` bytes.
 * 0, -EINVAL (a piece is not whole pages) or -E2BIG (more than max pieces).
 */
int plan_chunks(uint64_t size, uint64_t chunk, uint64_t page, size_t max, size_t *n,
		uint64_t *last);

/*
 * IOVAs for n pieces of the given sizes. Fixed: contiguous from base. Auto:
 * each piece where vfc_iova_place() puts it at or after the end of the one
 * before (so a VMM-like layout, split around reserved windows), clear of the
 * busy mappings. Fixed IOVAs are not checked here (vfc_iommu_check_map is).
 * 0, -ENOSPC (auto: no room) or -EOVERFLOW (fixed: past 2^64).
 */
int plan_iovas(const struct vfc_iommu_info *in, const struct vfc_mapping *busy, size_t nbusy,
	       const uint64_t *sizes, size_t n, bool fixed, uint64_t base, uint64_t *iovas);

struct stats {
	double min, median, max;
};
/* Over the n values of v (n >= 1); v is left as it was. Median of an even
 * count: the mean of the middle two. -ENOMEM, else 0. */
int stats_of(const double *v, size_t n, struct stats *out);

/* GiB per second for bytes in ns nanoseconds; 0 when ns is 0. */
double gib_per_s(uint64_t bytes, uint64_t ns);

/* ---- options ---- */

enum map_mode { MODE_PIN, MODE_NOPIN, MODE_IOPF };

struct map_opts {
	struct target dev;        /* the positional BDF|GROUP */
	uint64_t size;            /* RAM to map; 0: none (a BAR only) */
	bool backing_auto;        /* hugetlb when the pool has room, else THP */
	struct vfc_backing backing;
	uint64_t chunk;           /* 0: one mapping */
	bool iova_fixed;
	uint64_t iova;
	unsigned int repeat;
	unsigned int populate;    /* threads; 0: leave it to the pin */
	bool hold;
	int bar;                  /* -1: no BAR */
	struct target bar_dev;    /* the device whose BAR; dev when not given */
	bool bar_iova_fixed;
	uint64_t bar_iova;
	enum map_mode mode;
	unsigned int premap;      /* iopf: pages mapped ahead of each faulting one */
	uint64_t iopf_page;       /* iopf: the granule faults are mapped in (the backing's page) */
	bool mode_given;          /* --mode on the command line (else the BAR's way follows the backend) */
	bool no_huge_pages;       /* iommufd: IOMMU_OPTION_HUGE_PAGES=0 before mapping */
	enum vfc_backend backend; /* the one that runs, auto resolved */
	char backend_why[256];    /* what decided it */
	/* iommufd's per-user charge: what the user's other /dev/iommu holders had
	 * pinned when the map started (read as root: once the user is become,
	 * their /proc entries are not readable), in kB; -1 unknown */
	int64_t others_pin_kb;
	int bytes;                /* sizes in bytes in tables */
	/* reproducing a VMM's limits */
	const char *as_user;
	char user_name[64];       /* as the user database spells it */
	uid_t uid;
	gid_t gid;
	bool limit_set;
	uint64_t memlock_limit;
};

/* ---- map-user.c ---- */

/* Looks USER up (a name or a number): -1 to go on, else the exit code. */
int user_lookup(const char *user, struct map_opts *o);
/*
 * Sets RLIMIT_MEMLOCK (--memlock-limit) and becomes the user (--as-user), or
 * gives up CAP_IPC_LOCK when only a limit is given, so the kernel enforces
 * the limit as it would on an unprivileged VMM. Done before anything is
 * opened. -1 to go on, else the exit code, the error printed.
 */
int user_apply(const struct map_opts *o);

/* ---- map-run.c ---- */

enum phase { PH_ALLOC, PH_POPULATE, PH_MAP, PH_UNMAP, PH_COUNT };

/* One mapping: a RAM piece or a BAR. */
struct item {
	char name[24];            /* ram0, ram1, ..., bar0 */
	bool bar;
	uint64_t iova, size;
	unsigned int flags;       /* VFC_MAP_* */
	const char *how;          /* pin, pfnmap, mmio_dont_pin, dma-buf */
	const char *ioctl;        /* MAP_DMA, IOAS_MAP, IOAS_MAP_FILE, or the fallback */
	bool by_file;             /* map by descriptor: a memfd or the BAR's dma-buf */
	int dmabuf;               /* the BAR's dma-buf, -1 when none */
	void *vaddr;              /* RAM: this repeat's memory; BAR: its mmap */
	struct vfc_mem *mem;
	bool mapped;
	double *ms[PH_COUNT];     /* per repeat; NAN when the phase did not run */
	/* of the last repeat that mapped it */
	int64_t lck_before, lck_after, pin_before, pin_after; /* kB, -1 unknown */
	int64_t avail_before, avail_after;                    /* -1 unknown */
	bool have_pages;
	struct vfc_mem_pages pages;
};

struct map_run {
	struct vfc_ctx *ctx;
	const struct map_opts *o;
	struct vfc_backing backing; /* the one used (auto resolved) */
	struct vfc_iommu *io;
	struct vfc_iommu_info info;
	struct vfc_vdev *bar_vdev;
	struct item *items;
	size_t nitems, nram;
	unsigned int repeats_done;
	double *total_ms[PH_COUNT]; /* per repeat: the sum over the items */
	/* the process as a whole, last repeat: before mapping, all mapped, all unmapped */
	int64_t lck_start, lck_mapped, lck_end, pin_start, pin_mapped, pin_end;
	int64_t avail_start, avail_mapped;
	bool progress;              /* stderr is a terminal */
	bool file_fallback_said;    /* the IOAS_MAP_FILE fallback was reported */
};

/* The counter a backend charges pins to, in kB: VmLck (type1) or VmPin (iommufd). */
static inline int64_t charged_kb(const struct map_run *rn, int64_t lck, int64_t pin)
{
	return rn->o->backend == VFC_BACKEND_IOMMUFD ? pin : lck;
}
static inline const char *charged_name(const struct map_run *rn)
{
	return rn->o->backend == VFC_BACKEND_IOMMUFD ? "VmPin" : "VmLck";
}

extern volatile sig_atomic_t map_stop; /* SIGINT/SIGTERM seen */

/* CLOCK_MONOTONIC in milliseconds, for timing the phases. */
double now_ms(void);
/* This process's VmLck and VmPin in kB, -1 when the kernel does not say. */
void read_locked(struct map_run *rn, int64_t *lck, int64_t *pin);
/* Waits, signals blocked but in sigsuspend, until SIGINT, SIGTERM or SIGHUP
 * has set map_stop (at once if one already has). */
void wait_for_stop(void);

/* Opens the container (or IOAS), attaches the groups, opens the BAR's device
 * (iommufd: exports the BAR as a dma-buf), lays out nram RAM pieces (the last
 * of `last` bytes) and the BAR, and checks every IOVA; nothing is allocated or
 * mapped yet. -1 to go on, else the exit code. */
int run_prepare(struct map_run *rn, size_t nram, uint64_t last);
/* The repeats: allocate, populate, map, unmap, free. With --hold the last
 * repeat stays mapped. -1 when done, else the exit code, error printed. */
int run_measure(struct map_run *rn);
/* Unmaps what is left (timed, for --hold) and frees everything. */
void run_teardown(struct map_run *rn);
/* Allocates (and, with --populate, prefaults) the RAM of every item, timed
 * into the first repeat. -1 to go on, else the exit code, error printed. */
int run_alloc(struct map_run *rn);

/* ---- map-iopf.c ---- */

struct iopf_result {
	bool done;                 /* started and stopped: st is final */
	uint32_t hwpt_id, fault_id;
	double setup_ms;           /* fault queue, page table, thread, attach */
	double served_ms;          /* how long faults were served (--hold) */
	double stop_ms;            /* thread stopped, device back, lazy maps unmapped */
	int64_t pin_before, pin_served, pin_end; /* VmPin, kB; -1 unknown */
	struct vfc_iopf_stats st;
};

/* --mode iopf once run_prepare() has laid out the one RAM item: allocate,
 * start serving faults for the device, hold (--hold), stop. -1 when done,
 * else the exit code, error printed; res->done says whether st is there. */
int run_iopf(struct map_run *rn, struct iopf_result *res);

#endif
