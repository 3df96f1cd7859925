/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfioctl: the one public header of vfioctl's internal library.
 *
 * Rules every function here follows:
 *  - returns 0 (or a count) on success and -errno on failure;
 *  - never prints and never exits: on failure it leaves a message in the
 *    context (vfc_errmsg()) and, where there is an obvious fix, a hint
 *    (vfc_errhint()) for the caller to print once;
 *  - every /sys, /proc and /dev path is built inside the library, relative to
 *    the context's sysroot, from a parsed BDF or group number.
 *
 * Handles that own kernel state or resources (the context) are opaque and
 * refcounted. Descriptions of devices, groups and the host are plain value
 * structs filled by the library: they are snapshots the caller may keep, copy
 * and compare, which an opaque handle would only make harder.
 */
#ifndef VFIOCTL_H
#define VFIOCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- context ------------------------------------------------------------ */

struct vfc_ctx;

/* sysroot NULL or "/" means the running system. */
int vfc_new(const char *sysroot, struct vfc_ctx **out);
struct vfc_ctx *vfc_ref(struct vfc_ctx *ctx);
struct vfc_ctx *vfc_unref(struct vfc_ctx *ctx); /* NULL is a no-op */

const char *vfc_sysroot(const struct vfc_ctx *ctx);
bool vfc_is_live(const struct vfc_ctx *ctx); /* sysroot is "/" */

/* What failed, and how to fix it, for the last failing call (never NULL). */
const char *vfc_errmsg(const struct vfc_ctx *ctx);
const char *vfc_errhint(const struct vfc_ctx *ctx);

/* Diagnostics the library wants seen without failing (e.g. a skipped entry). */
typedef void (*vfc_log_fn)(void *data, int priority, const char *msg);
void vfc_set_log_fn(struct vfc_ctx *ctx, vfc_log_fn fn, void *data);

/* ---- parsers (pure; unit-tested) ---------------------------------------- */

struct vfc_bdf {
	uint16_t domain;
	uint8_t bus;
	uint8_t dev; /* 0..31 */
	uint8_t fn;  /* 0..7 */
};

#define VFC_BDF_STRLEN 13 /* "dddd:bb:dd.f" + NUL */

/* Accepts "DDDD:BB:DD.F" and "BB:DD.F" (domain 0), hex, nothing else. */
int vfc_bdf_parse(const char *s, struct vfc_bdf *out);
char *vfc_bdf_format(const struct vfc_bdf *bdf, char buf[VFC_BDF_STRLEN]);
int vfc_bdf_cmp(const struct vfc_bdf *a, const struct vfc_bdf *b);

/* A decimal IOMMU group number, 0..INT_MAX. */
int vfc_group_parse(const char *s, unsigned int *out);

/* Sizes: decimal or 0x hex, optional K/M/G/T (binary, optional "iB"/"B"). */
int vfc_size_parse(const char *s, uint64_t *out);
/* "512M", "1.5G", "4K", "0": human-readable, binary units. */
char *vfc_size_format(uint64_t bytes, char *buf, size_t len);

/* /sys/kernel/iommu_groups/N/reserved_regions: "0x... 0x... type" lines. */
struct vfc_resv_region {
	uint64_t start;
	uint64_t end; /* inclusive, as the kernel prints it */
	char type[24];
};
int vfc_resv_regions_parse(const char *text, struct vfc_resv_region **out,
			   size_t *n);

/* /proc/PID/status fields vfioctl cares about; -1 where absent. */
struct vfc_proc_status {
	char name[64];
	int64_t vm_lck_kb;
	int64_t vm_pin_kb;
	uint64_t cap_eff;
	bool have_cap_eff;
	/* the real uid from "Uid:": unlike the owner of /proc/PID, it is right
	 * for a process that changed user without exec (not dumpable: root-owned) */
	uid_t uid;
	bool have_uid;
};
int vfc_proc_status_parse(const char *text, struct vfc_proc_status *out);
/* The same fields read from /proc/PID/status (pid 0: the caller); -ESRCH when gone. */
int vfc_proc_status_read(struct vfc_ctx *ctx, pid_t pid, struct vfc_proc_status *out);

#define VFC_RLIM_INFINITY UINT64_MAX
/* /proc/PID/limits: the "Max locked memory" row. */
int vfc_proc_limits_memlock_parse(const char *text, uint64_t *soft,
				  uint64_t *hard);

/* ---- PCI devices ---------------------------------------------------------- */

#define VFC_MAX_BARS 6

struct vfc_bar {
	uint64_t start;
	uint64_t size;
	uint64_t flags; /* IORESOURCE_* from the resource file */
};

enum vfc_sriov_role { VFC_SRIOV_NONE, VFC_SRIOV_PF, VFC_SRIOV_VF };

struct vfc_device {
	struct vfc_bdf bdf;
	uint16_t vendor, device, subvendor, subdevice;
	uint32_t class; /* 24-bit class code */
	char driver[64];          /* "" when unbound */
	char driver_override[64]; /* "" when none */
	int group;                /* -1 when the device has no IOMMU group */
	int numa_node;            /* -1 when unknown */
	bool boot_vga;
	bool is_bridge;
	struct vfc_bar bars[VFC_MAX_BARS];
	enum vfc_sriov_role sriov_role;
	struct vfc_bdf physfn;     /* for a VF */
	int sriov_numvfs;          /* for a PF; -1 otherwise */
	int sriov_totalvfs;        /* for a PF; -1 otherwise */
	char vendor_name[128];     /* from pci.ids; numeric when unknown */
	char device_name[192];
	char class_name[96];
};

/* Read one device; -ENODEV when it does not exist. */
int vfc_device_read(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
		    struct vfc_device *out);

/*
 * All devices, sorted by BDF. A device whose files cannot be read is logged
 * through the log callback and left out; *nskipped says how many.
 */
int vfc_device_list(struct vfc_ctx *ctx, struct vfc_device **out, size_t *n,
		    size_t *nskipped);

/* The device's VFIO nodes: "/dev/vfio/N" and "/dev/vfio/devices/vfioX", "" when
 * absent. Paths are as seen on the system (without the sysroot prefix). */
int vfc_device_vfio_nodes(struct vfc_ctx *ctx, const struct vfc_device *dev,
			  char *group_node, size_t glen, char *cdev_node,
			  size_t clen);

/* The PCI command register, from the device's sysfs config space. */
int vfc_device_command(struct vfc_ctx *ctx, const struct vfc_bdf *bdf,
		       uint16_t *cmd);
#define VFC_PCI_COMMAND_MEMORY 0x2 /* memory decode: BARs answer */
#define VFC_PCI_COMMAND_MASTER 0x4 /* bus mastering: the device may DMA */

/* ---- IOMMU groups --------------------------------------------------------- */

/* vfio-pci or one of its vendor variants (mlx5_vfio_pci, ...). */
bool vfc_driver_is_vfio(const char *driver);
/* Drivers that leave a group viable for VFIO (the kernel's rule). */
bool vfc_driver_keeps_viable(const char *driver);

struct vfc_group {
	int id;
	char type[24]; /* "DMA", "DMA-FQ", "identity", "blocked", "" unknown */
	struct vfc_device *devices;
	size_t ndevices;
	struct vfc_resv_region *resv;
	size_t nresv;
	bool viable;
	/* index in devices[] of the first endpoint that breaks viability, or -1 */
	int blocker;
};

/*
 * The kernel's viability rule: every endpoint (bridges exempt) is bound to
 * vfio-pci, pci-stub or no driver. Returns true when viable; *blocker gets the
 * index of the first offending device or -1.
 */
bool vfc_group_viable(const struct vfc_device *devs, size_t n, int *blocker);

int vfc_group_read(struct vfc_ctx *ctx, unsigned int id, struct vfc_group *out);
void vfc_group_clear(struct vfc_group *g);
/* Sorted group numbers; *n == 0 when the kernel has none. */
int vfc_group_list(struct vfc_ctx *ctx, unsigned int **ids, size_t *n);

/* ---- host facts ----------------------------------------------------------- */

enum vfc_iommu_vendor { VFC_IOMMU_NONE, VFC_IOMMU_INTEL, VFC_IOMMU_AMD,
			VFC_IOMMU_OTHER };

enum vfc_mod_state {
	VFC_MOD_MISSING,  /* not in the module directory, not built in */
	VFC_MOD_AVAILABLE,/* a module file exists but it is not loaded */
	VFC_MOD_LOADED,
	VFC_MOD_BUILTIN,
	VFC_MOD_UNKNOWN,  /* the module directory could not be read */
};

struct vfc_module {
	const char *name;
	enum vfc_mod_state state;
	bool blacklisted;
};

enum { VFC_MOD_VFIO, VFC_MOD_VFIO_IOMMU_TYPE1, VFC_MOD_VFIO_PCI,
       VFC_MOD_IOMMUFD, VFC_MOD_COUNT };

struct vfc_hugepages {
	uint64_t page_size;
	int node;           /* -1 for the system-wide pool */
	uint64_t nr, nr_free;
};

struct vfc_node_mode {
	bool present;
	unsigned int mode; /* st_mode & 07777 */
	uid_t uid;
	gid_t gid;
};

struct vfc_host {
	char kernel_release[65];
	char cmdline[4096];
	bool cmdline_read;
	/* values of these command-line options; "" when absent */
	char intel_iommu[32], amd_iommu[32], iommu[32];

	bool acpi_dmar, acpi_ivrs;
	int iommu_units;             /* entries in /sys/class/iommu */
	enum vfc_iommu_vendor vendor;
	int intr_remap;              /* 1 yes, 0 no, -1 cannot tell */
	int ngroups;

	struct vfc_module modules[VFC_MOD_COUNT];
	int type1_dma_entry_limit;   /* -1 when the parameter is absent */
	int type1_allow_unsafe_interrupts; /* -1 absent, 0/1 */
	int type1_disable_hugepages;       /* -1 absent, 0/1 */
	int noiommu;                       /* -1 absent, 0/1 */

	struct vfc_node_mode dev_vfio; /* /dev/vfio/vfio */
	struct vfc_node_mode dev_iommu;

	struct vfc_hugepages *hugepages;
	size_t nhugepages;

	/* the caller's own limits, from /proc/self */
	bool memlock_known; /* false when /proc/self/limits had no usable row */
	uint64_t memlock_soft, memlock_hard;
	bool cap_ipc_lock;
};

int vfc_host_read(struct vfc_ctx *ctx, struct vfc_host *out);
void vfc_host_clear(struct vfc_host *h);
const char *vfc_mod_state_str(enum vfc_mod_state s);

/* ---- locked memory ------------------------------------------------------- */

/* A process that holds VFIO or iommufd file descriptors, or locked memory. */
struct vfc_memlock_proc {
	pid_t pid;
	uid_t uid;
	char comm[64];
	int vfio_fds;   /* /dev/vfio/vfio, /dev/vfio/N, /dev/vfio/devices/vfioX */
	int iommufd_fds;/* /dev/iommu */
	char nodes[256];/* the distinct nodes, newline-separated */
	int64_t vm_lck_kb, vm_pin_kb; /* -1 when the kernel does not say */
	/*
	 * A /dev/iommu holder: VmPin summed over every process of its uid that
	 * holds /dev/iommu without CAP_IPC_LOCK, what iommufd's default
	 * (per-user) rlimit mode checks RLIMIT_MEMLOCK against. Processes whose
	 * descriptors cannot be read are missing from it. -1 for the others.
	 */
	int64_t user_pin_kb;
	uint64_t memlock_soft, memlock_hard; /* bytes, VFC_RLIM_INFINITY */
	bool cap_ipc_lock;
	char unit[128]; /* systemd unit from the cgroup path, "" when none */
};

enum vfc_memlock_scope {
	VFC_MEMLOCK_VFIO,   /* processes with VFIO or iommufd descriptors */
	VFC_MEMLOCK_LOCKED, /* those and any process with VmLck or VmPin > 0 */
};

/*
 * Scans /proc. pid > 0 reads only that process (-ESRCH when it is gone).
 * Processes whose fd directory cannot be read (other users' when not root)
 * are counted in *unreadable and reported only by their status.
 */
int vfc_memlock_scan(struct vfc_ctx *ctx, enum vfc_memlock_scope scope,
		     pid_t pid, struct vfc_memlock_proc **out, size_t *n,
		     size_t *unreadable);

/* Bytes a process has charged against RLIMIT_MEMLOCK, as far as /proc tells:
 * for an iommufd user, what its whole uid pinned (user_pin_kb). */
uint64_t vfc_memlock_used(const struct vfc_memlock_proc *p);

enum vfc_backend {
	VFC_BACKEND_AUTO,    /* iommufd where the kernel and the devices have it, else type1 */
	VFC_BACKEND_TYPE1,   /* /dev/vfio/vfio container + /dev/vfio/N groups */
	VFC_BACKEND_IOMMUFD, /* /dev/iommu IOAS + VFIO device cdevs (6.6+) */
};

struct vfc_memlock_estimate_in {
	uint64_t ram;       /* guest RAM, bytes */
	unsigned int vfio;  /* assigned VFIO devices */
	unsigned int nvme;  /* NVMe disks driven by QEMU's userspace driver */
	unsigned int vdpa;  /* vhost-vdpa devices */
	bool viommu;        /* the guest has a vIOMMU */
	enum vfc_backend backend;
	unsigned int vms;   /* iommufd per-user accounting: VMs of the same user */
};

struct vfc_memlock_estimate {
	uint64_t limit;      /* bytes RLIMIT_MEMLOCK must allow */
	unsigned int factor; /* how many times guest RAM may be pinned */
	char why[256];       /* how the number was reached */
};

/* libvirt's rule (qemuDomainGetMemLockLimitBytes), plus iommufd's per-user sum. */
int vfc_memlock_estimate(const struct vfc_memlock_estimate_in *in,
			 struct vfc_memlock_estimate *out);

/* ---- memory to map ---------------------------------------------------------- */

enum vfc_mem_kind {
	VFC_MEM_ANON,    /* private anonymous, 4K pages (THP disabled for it) */
	VFC_MEM_THP,     /* private anonymous, 2M-aligned, MADV_HUGEPAGE */
	VFC_MEM_HUGETLB, /* MAP_HUGETLB from the hugepage pool */
	VFC_MEM_MEMFD,   /* memfd_create, shared */
	VFC_MEM_MEMFD_HUGETLB, /* memfd_create(MFD_HUGETLB), shared */
	VFC_MEM_FILE,    /* an existing file, shared */
};

struct vfc_backing {
	enum vfc_mem_kind kind;
	uint64_t huge_size; /* hugetlb kinds: page size; 0 is the default pool */
	char path[256];     /* VFC_MEM_FILE */
};

/* "anon", "thp", "hugetlb[:2M|:1G]", "memfd", "memfd:hugetlb[:2M|:1G]", "file:PATH" */
int vfc_backing_parse(const char *s, struct vfc_backing *out);
/* The same spelling back, e.g. "hugetlb:2M". */
char *vfc_backing_format(const struct vfc_backing *b, char *buf, size_t len);

struct vfc_mem;

int vfc_mem_alloc(struct vfc_ctx *ctx, const struct vfc_backing *b, uint64_t size,
		  struct vfc_mem **out);
void vfc_mem_free(struct vfc_mem *m); /* NULL is a no-op */
void *vfc_mem_addr(const struct vfc_mem *m);
uint64_t vfc_mem_size(const struct vfc_mem *m);
int vfc_mem_fd(const struct vfc_mem *m);           /* -1 for anonymous memory */
uint64_t vfc_mem_page_size(const struct vfc_mem *m); /* the page size asked for */
/* Touches every page, split over `threads` threads (1..64). */
int vfc_mem_populate(struct vfc_ctx *ctx, struct vfc_mem *m, unsigned int threads);

/* What the kernel really backs a mapping with, from /proc/self/smaps. */
struct vfc_mem_pages {
	uint64_t rss;            /* resident bytes */
	uint64_t huge;           /* bytes in huge pages (THP, shmem PMD or hugetlb) */
	uint64_t kernel_page;    /* KernelPageSize of the VMA */
};
/*
 * Pure: sums the smaps records of the VMAs that overlap [start, end) (a VMA the
 * kernel merged with a neighbour counts whole). vfc_mem_pages() then takes
 * rss from mincore(), exact for the range, and caps huge at the size.
 */
int vfc_smaps_parse(const char *text, uint64_t start, uint64_t end,
		    struct vfc_mem_pages *out);
int vfc_mem_pages(struct vfc_ctx *ctx, const struct vfc_mem *m,
		  struct vfc_mem_pages *out);

/* ---- checks (the policy behind `vfioctl check`) ---------------------------- */

enum vfc_check_status { VFC_PASS, VFC_WARN, VFC_FAIL, VFC_SKIP };

struct vfc_check {
	char name[32];
	char subject[VFC_BDF_STRLEN]; /* the device, or "" for host checks */
	enum vfc_check_status status;
	char detail[256];
	char hint[256]; /* set for every WARN and FAIL */
};

int vfc_check_host(struct vfc_ctx *ctx, const struct vfc_host *h,
		   struct vfc_check **out, size_t *n);
/* Appends the checks of one device to *out. */
int vfc_check_device(struct vfc_ctx *ctx, const struct vfc_host *h,
		     const struct vfc_bdf *bdf, struct vfc_check **out,
		     size_t *n);
const char *vfc_check_status_str(enum vfc_check_status s);


/* ---- binding devices to vfio-pci and back (bind.c) ------------------------- */

/*
 * What a bind or unbind does, one step at a time, reported through the step
 * callback before the step runs (with VFC_BIND_DRY_RUN instead of running it).
 * Paths are as the system names them, without the sysroot.
 */
enum vfc_step_kind {
	VFC_STEP_LOAD_MODULE,  /* path: the module; value: what gets inserted */
	VFC_STEP_SAVE_STATE,   /* path: the state file; value: the record */
	VFC_STEP_WRITE,        /* path: a sysfs attribute; value: what is written */
	VFC_STEP_VERIFY,       /* path: the driver link; value: the driver expected */
	VFC_STEP_WAIT,         /* path: the VFIO node waited for */
	VFC_STEP_OWNER,        /* path: the VFIO node; value: "uid:gid mode" */
	VFC_STEP_REMOVE_STATE, /* path: the state file */
	VFC_STEP_PERSIST,      /* path: the file under VFC_PERSIST_DIR; value: its content */
	VFC_STEP_UNPERSIST,    /* path: the file under VFC_PERSIST_DIR, removed */
	VFC_STEP_RULES,        /* path: VFC_PERSIST_RULES, rewritten */
};

struct vfc_step {
	enum vfc_step_kind kind;
	struct vfc_bdf bdf;
	bool has_bdf;     /* false for steps of the whole run (module load) */
	const char *path;
	const char *value; /* NULL when the step has none */
	bool rollback;    /* undoing a failed run */
};

typedef void (*vfc_step_fn)(void *data, const struct vfc_step *step);

#define VFC_BIND_GROUP   (1u << 0) /* every endpoint of each device's IOMMU group */
#define VFC_BIND_DRY_RUN (1u << 1) /* report the steps, change nothing */
#define VFC_BIND_FORCE   (1u << 2) /* bind even what the safety checks refuse */
#define VFC_BIND_OWNER   (1u << 3) /* give the group node to owner_uid:owner_gid */
#define VFC_BIND_PERSIST (1u << 4) /* bind: also at boot (VFC_PERSIST_DIR); unbind: no longer */
/* bind: unbind gives the device to the kernel's default match, not to the driver it
 * has now (persist apply: at boot the host driver may not have bound yet) */
#define VFC_BIND_KERNEL_CHOICE (1u << 5)

#define VFC_BIND_TIMEOUT_DEFAULT_MS 20000

struct vfc_bind_opts {
	unsigned int flags;
	int timeout_ms;           /* wait for the VFIO node; 0: it must be there at once */
	uid_t owner_uid;
	gid_t owner_gid;
	vfc_step_fn step_fn;      /* may be NULL */
	void *step_data;
	/* Checked between steps: non-zero stops the run, and a bind is rolled back. */
	const volatile sig_atomic_t *cancel;
};

enum vfc_bind_action {
	VFC_ACT_NONE,    /* already where asked: nothing changed */
	VFC_ACT_BOUND,   /* moved to vfio-pci */
	VFC_ACT_UNBOUND, /* given back to its original driver */
	VFC_ACT_PLANNED, /* dry run: would be moved */
};

struct vfc_bind_result {
	struct vfc_bdf bdf;
	int group;
	enum vfc_bind_action action;
	char driver_before[64]; /* "" when unbound */
	char driver_after[64];
	char node[32];          /* "/dev/vfio/N", "" when absent */
	bool recorded;          /* a state file holds (bind) / held (unbind) the original */
	bool owner_set;
	bool group_viable;      /* the group, after the run */
};

/*
 * Puts devices on vfio-pci: all or nothing. Every device is checked before
 * the first change; any failure after it (or *opts->cancel) rolls back every
 * device of the run to its original driver. Runs serialize on a lock under
 * /run/vfioctl. *res gets one row per device (malloc'd; free() it).
 *
 * Fails with -EBUSY and vfc_errflags() & VFC_ERR_REFUSED when a safety check
 * refuses a device (VFC_BIND_FORCE overrides), and sets VFC_ERR_ROLLED_BACK
 * when a failure was undone.
 */
int vfc_bind(struct vfc_ctx *ctx, const struct vfc_bdf *bdfs, size_t n,
	     const struct vfc_bind_opts *opts, struct vfc_bind_result **res,
	     size_t *nres);

/*
 * Gives devices back: to the driver recorded at bind time, or the kernel's
 * default match when nothing was recorded; driver_override restored, record
 * removed. Refuses (VFC_ERR_REFUSED) a device that a process holds open
 * through VFIO: the kernel would block until it lets go. A device that fails
 * keeps its record so that a second run can finish the job.
 */
int vfc_unbind(struct vfc_ctx *ctx, const struct vfc_bdf *bdfs, size_t n,
	       const struct vfc_bind_opts *opts, struct vfc_bind_result **res,
	       size_t *nres);

const char *vfc_bind_action_str(enum vfc_bind_action a);

/* ---- bindings kept across reboots (persist.c) ------------------------------ */

/*
 * `bind --persist` leaves one file per device in VFC_PERSIST_DIR; at boot
 * VFC_PERSIST_UNIT runs `vfioctl persist apply`, which binds each device again
 * if its slot still holds the same vendor:device. Owners are also kept as a
 * udev rule in VFC_PERSIST_RULES, rewritten with the current group numbers
 * whenever the set changes and at every boot.
 */
#define VFC_PERSIST_DIR   "/etc/vfioctl/persist"
#define VFC_PERSIST_RULES "/run/udev/rules.d/70-vfioctl.rules"
#define VFC_PERSIST_UNIT  "vfioctl-persist.service"
#define VFC_PERSIST_MAX   512

struct vfc_persist {
	struct vfc_bdf bdf;
	uint16_t vendor, device; /* what the slot held when it was persisted */
	bool has_owner;
	uid_t uid;
	gid_t gid;
	bool force;              /* bound with --force: the safety checks are skipped at boot */
	char error[160];         /* not "": the file cannot be used, and why */
};

int vfc_persist_format(const struct vfc_persist *p, char *buf, size_t len);
/* Pure; fills all but bdf. -EINVAL with p->error set when malformed. */
int vfc_persist_parse(const char *text, struct vfc_persist *p);
/* Every file, sorted by device; a malformed one comes back with .error set. */
int vfc_persist_list(struct vfc_ctx *ctx, struct vfc_persist **out, size_t *n);
/* 0, -ENOENT when none, -EINVAL (message set) when malformed. */
int vfc_persist_load(struct vfc_ctx *ctx, const struct vfc_bdf *bdf, struct vfc_persist *p);
int vfc_persist_save(struct vfc_ctx *ctx, const struct vfc_persist *p);
/* 0, or -ENOENT when nothing was persisted for it. */
int vfc_persist_remove(struct vfc_ctx *ctx, const struct vfc_bdf *bdf);
/* Rewrites (or removes, when no entry has an owner) the udev owner rule. */
int vfc_persist_write_rules(struct vfc_ctx *ctx);
/* Is VFC_PERSIST_UNIT enabled (wanted by sysinit.target)? */
bool vfc_persist_unit_enabled(struct vfc_ctx *ctx);

#define VFC_ERR_REFUSED     (1u << 0) /* a safety check said no; nothing changed */
#define VFC_ERR_ROLLED_BACK (1u << 1) /* changes were made and undone */
#define VFC_ERR_CANCELLED   (1u << 2) /* *opts->cancel stopped the run */
/* Flags qualifying the last failure (0 when none applies). */
unsigned int vfc_errflags(const struct vfc_ctx *ctx);

/* ---- IOMMU backends -------------------------------------------------------- */
/*
 * A DMA address space for devices: a VFIO type1 container (/dev/vfio/vfio with
 * the groups' /dev/vfio/N), or an iommufd IOAS (/dev/iommu) with each device
 * bound through its VFIO cdev (/dev/vfio/devices/vfioN). The handle owns
 * everything it opened: group and device file descriptors, BAR mmaps and
 * dma-bufs, and every DMA mapping it made. The last vfc_iommu_unref() closes
 * the devices, unmaps what is still mapped and releases the groups, so an
 * error path never leaks pinned memory. Device handles belong to their
 * vfc_iommu and are invalid after its last unref.
 * Not thread-safe; works on the running system only (no sysroot).
 */

/* enum vfc_backend is defined above, with the memlock estimate that uses it. */
const char *vfc_backend_str(enum vfc_backend b);
/* "auto", "type1", "iommufd"; -EINVAL for anything else. */
int vfc_backend_parse(const char *s, enum vfc_backend *out);

/*
 * The backend `want` means for these IOMMU groups. AUTO: iommufd when
 * /dev/iommu exists and every device of the groups bound to vfio-pci has its
 * VFIO cdev (vfio-dev/vfioN in sysfs and /dev/vfio/devices/vfioN), else type1;
 * a group with no device on vfio-pci gets type1 (whose error explains it).
 * TYPE1 and IOMMUFD come back as they are. why (may be NULL) gets one line
 * saying what decided it. Reads sysfs and /dev below the sysroot only.
 */
int vfc_backend_choose(struct vfc_ctx *ctx, enum vfc_backend want,
		       const unsigned int *groups, size_t n,
		       enum vfc_backend *out, char *why, size_t len);

struct vfc_iova_range {
	uint64_t start;
	uint64_t end; /* inclusive, as the kernel reports it */
};

/*
 * VFIO_CHECK_EXTENSION numbers (the kernel's VFIO_TYPE1_IOMMU etc.). 11 is the
 * 2024 "MMIO don't pin" proposal, never merged: a kernel that answers 1 for it
 * carries that patch and accepts VFC_MAP_NO_PIN.
 */
enum {
	VFC_EXT_TYPE1 = 1,
	VFC_EXT_SPAPR_TCE = 2,
	VFC_EXT_TYPE1v2 = 3,
	VFC_EXT_DMA_CC = 4,       /* DMA is cache-coherent (no snooping needed) */
	VFC_EXT_EEH = 5,
	VFC_EXT_TYPE1_NESTING = 6,
	VFC_EXT_SPAPR_TCE_v2 = 7,
	VFC_EXT_NOIOMMU = 8,
	VFC_EXT_UNMAP_ALL = 9,    /* VFIO_DMA_UNMAP_FLAG_ALL */
	VFC_EXT_UPDATE_VADDR = 10,/* VFIO_DMA_MAP_FLAG_VADDR (live update) */
	VFC_EXT_MMIO_DONT_PIN = 11,
	VFC_EXT_MAX = 11,
};
/* "type1v2", "unmap_all", "mmio_dont_pin"...; NULL for a number vfioctl does not know. */
const char *vfc_iommu_ext_name(unsigned int ext);

/* A device an iommufd IOAS holds, bound through its VFIO cdev. */
struct vfc_iommu_dev {
	struct vfc_bdf bdf;
	unsigned int group;
	char cdev[40];    /* "/dev/vfio/devices/vfio0" */
	uint32_t devid;   /* VFIO_DEVICE_BIND_IOMMUFD's answer */
	uint32_t hwpt;    /* the page table ATTACH_IOMMUFD_PT gave it */
	int dma_buf;      /* VFIO_DEVICE_FEATURE_DMA_BUF: 1 yes, 0 no, -1 not asked */
};

struct vfc_iommu_info {
	enum vfc_backend backend;
	const char *model;  /* "type1v2", "type1", "iommufd" */
	uint64_t pgsizes;   /* bitmap of IOMMU page sizes; 0 when not reported */
	struct vfc_iova_range *ranges; /* usable IOVA; NULL when not reported */
	size_t nranges;
	int64_t dma_avail;  /* mappings the kernel still allows; -1 unknown */
	bool unmap_all;     /* the kernel can unmap everything in one call */
	/* bit n set: VFIO_CHECK_EXTENSION(n) answered yes, for n in 1..VFC_EXT_MAX */
	uint64_t extensions;
	/* iommufd only; 0 or -1 (not reported) on type1 */
	uint64_t iova_alignment; /* IOVAs and lengths must be multiples of it */
	int rlimit_mode;    /* IOMMU_OPTION_RLIMIT_MODE: 0 per-user, 1 per-process */
	int huge_pages;     /* IOMMU_OPTION_HUGE_PAGES of the IOAS: 1 (default) or 0 */
	int map_file;       /* the kernel knows IOMMU_IOAS_MAP_FILE (6.13): 1 or 0 */
	uint32_t ioas;      /* the IOAS ID */
	struct vfc_iommu_dev *devs; /* the devices bound, in the order they were */
	size_t ndevs;
};
void vfc_iommu_info_clear(struct vfc_iommu_info *info);

static inline bool vfc_iommu_has_ext(const struct vfc_iommu_info *info,
				     unsigned int ext)
{
	return ext < 64 && (info->extensions & (1ULL << ext));
}

/* One live DMA mapping, as the library recorded it. */
struct vfc_mapping {
	uint64_t iova;
	uint64_t size;
	void *vaddr;        /* NULL for a mapping of a file (vfc_iommu_map_file) */
	unsigned int flags; /* VFC_MAP_* */
};

#define VFC_MAP_READ  (1u << 0) /* the device may read the memory */
#define VFC_MAP_WRITE (1u << 1) /* the device may write the memory */
#define VFC_MAP_RW    (VFC_MAP_READ | VFC_MAP_WRITE)
/*
 * The memory is MMIO (a BAR's mmap): ask the kernel not to pin it
 * (VFIO_DMA_MAP_FLAG_MMIO_DONT_PIN). Only kernels with VFC_EXT_MMIO_DONT_PIN
 * take it; elsewhere the map is -EOPNOTSUPP and the plain map of a BAR's mmap
 * (the pfnmap path, which pins nothing either) is the way.
 */
#define VFC_MAP_NO_PIN (1u << 2)

struct vfc_iommu;

int vfc_iommu_open(struct vfc_ctx *ctx, enum vfc_backend backend,
		   struct vfc_iommu **out);
struct vfc_iommu *vfc_iommu_ref(struct vfc_iommu *io);
struct vfc_iommu *vfc_iommu_unref(struct vfc_iommu *io); /* NULL is a no-op */
struct vfc_ctx *vfc_iommu_ctx(const struct vfc_iommu *io);
const char *vfc_iommu_backend_name(const struct vfc_iommu *io);

/* Attaches an IOMMU group (all its devices bound to vfio-pci); adding one
 * twice is a no-op. */
int vfc_iommu_add_group(struct vfc_iommu *io, unsigned int group);
/* Needs at least one group: the kernel picks the IOMMU model then. */
int vfc_iommu_info(struct vfc_iommu *io, struct vfc_iommu_info *out);

/* vaddr, iova and size aligned to the smallest IOMMU page size. */
int vfc_iommu_map(struct vfc_iommu *io, void *vaddr, uint64_t iova,
		  uint64_t size, unsigned int flags);
/*
 * Maps size bytes of a file from offset, by file rather than by address: a
 * memfd (IOMMU_IOAS_MAP_FILE, 6.13), whose pages the kernel pins by offset
 * without walking the process's page tables, or a dma-buf (6.19; a BAR from
 * vfc_vdev_dma_buf(), neither pinned nor charged). iommufd only. -EOPNOTSUPP
 * when the backend or the kernel cannot (the message says which), so that
 * the caller can map the file's mmap with vfc_iommu_map() instead.
 */
int vfc_iommu_map_file(struct vfc_iommu *io, int fd, uint64_t offset,
		       uint64_t iova, uint64_t size, unsigned int flags);
/*
 * iommufd's IOMMU_OPTION_HUGE_PAGES on the IOAS: false makes the IOMMU map
 * everything in 4K pages (the kernel's own benchmarking knob). Set it before
 * the first map. -EOPNOTSUPP on type1, whose equivalent is the module's
 * disable_hugepages parameter.
 */
int vfc_iommu_set_huge_pages(struct vfc_iommu *io, bool on);
/* Unmaps whole mappings only: a range that cuts one in two is -EINVAL. */
int vfc_iommu_unmap(struct vfc_iommu *io, uint64_t iova, uint64_t size);
/* Unmaps everything the handle mapped; -EIO if the kernel still counts some. */
int vfc_iommu_unmap_all(struct vfc_iommu *io);
/* The live mappings sorted by IOVA; valid until the next map or unmap. */
const struct vfc_mapping *vfc_iommu_mappings(const struct vfc_iommu *io,
					     size_t *n);
/*
 * Nanoseconds (CLOCK_MONOTONIC) the last vfc_iommu_map() or vfc_iommu_unmap()
 * spent in the kernel's map or unmap ioctl alone, whether it succeeded or
 * not; 0 when none ran. The library's own checks are outside the interval.
 */
uint64_t vfc_iommu_last_ns(const struct vfc_iommu *io);

/*
 * Where a new mapping of size bytes can go: the lowest IOVA at or above
 * `from` that lies inside one usable range of info, clear of the busy
 * mappings (sorted by IOVA, not overlapping, as vfc_iommu_mappings() gives
 * them), aligned to the largest IOMMU page size not above size, so the IOMMU
 * can use its largest pages for it. -ENOSPC when nothing fits. Pure.
 */
int vfc_iova_place(const struct vfc_iommu_info *info,
		   const struct vfc_mapping *busy, size_t nbusy, uint64_t size,
		   uint64_t from, uint64_t *iova);
/* The alignment vfc_iova_place() uses: the largest page size in pgsizes not
 * above size, else the smallest (4K when pgsizes is 0). Pure. */
uint64_t vfc_iova_align(uint64_t pgsizes, uint64_t size);

/*
 * Why the kernel would refuse to map [iova, iova+size) from vaddr under info:
 * 0 when nothing is wrong, else -EINVAL or -EOVERFLOW with the reason in why.
 * Pure; vfc_iommu_map() uses it to explain the kernel's EINVAL.
 */
int vfc_iommu_check_map(const struct vfc_iommu_info *info, uint64_t vaddr,
			uint64_t iova, uint64_t size, char *why, size_t len);

/* ---- VFIO devices opened through an IOMMU backend ---- */

/* Region indexes of a vfio-pci device (the kernel's VFIO_PCI_*_REGION_INDEX). */
enum { VFC_REGION_BAR0 = 0, VFC_REGION_ROM = 6, VFC_REGION_CONFIG = 7 };

#define VFC_REGION_READ  (1u << 0)
#define VFC_REGION_WRITE (1u << 1)
#define VFC_REGION_MMAP  (1u << 2)

struct vfc_region {
	unsigned int index;
	uint32_t flags;  /* VFC_REGION_* */
	uint64_t size;   /* 0: the region does not exist (e.g. an unused BAR) */
	uint64_t offset; /* of the region in the device file */
};

struct vfc_vdev;

/* Opens a device of the IOMMU, adding its group first when needed. */
int vfc_iommu_device_open(struct vfc_iommu *io, const struct vfc_bdf *bdf,
			  struct vfc_vdev **out);
void vfc_vdev_close(struct vfc_vdev *dev); /* NULL is a no-op */
int vfc_vdev_fd(const struct vfc_vdev *dev);
unsigned int vfc_vdev_num_regions(const struct vfc_vdev *dev);

int vfc_vdev_region(struct vfc_vdev *dev, unsigned int index,
		    struct vfc_region *out);
/* Whole-region mmap, made once and kept until the device is closed. */
int vfc_vdev_mmap(struct vfc_vdev *dev, unsigned int index, void **addr,
		  uint64_t *size);
/* Exactly len bytes at offset within the region, else -errno (-EIO if short). */
int vfc_vdev_read(struct vfc_vdev *dev, unsigned int index, uint64_t offset,
		  void *buf, size_t len);
int vfc_vdev_write(struct vfc_vdev *dev, unsigned int index, uint64_t offset,
		   const void *buf, size_t len);
/*
 * A BAR as a dma-buf (VFIO_DEVICE_FEATURE_DMA_BUF, 6.19 with
 * CONFIG_VFIO_PCI_DMABUF): len bytes from offset (both page-aligned; len 0:
 * the whole BAR). *fd is the caller's to close; vfc_iommu_map_file() maps it.
 * vfio-pci revokes it while the device's memory decode is off. -EOPNOTSUPP
 * when the kernel has no such feature.
 */
int vfc_vdev_dma_buf(struct vfc_vdev *dev, unsigned int index, uint64_t offset,
		     uint64_t len, int *fd);
/* Does the kernel offer BAR dma-bufs for this device? 1, 0, or -errno. */
int vfc_vdev_dma_buf_probe(struct vfc_vdev *dev);

/* ---- I/O page faults on iommufd (iommufd-iopf.c; Linux 6.11+) ------------- */
/*
 * Lazy DMA mapping: instead of mapping a whole memory region up front, the
 * device is attached to a page table that raises I/O page faults (PCIe PRI or
 * Arm SMMU stall), and a thread maps each faulting page, plus `premap` pages
 * ahead of it, into the IOAS when the device first touches it. The pages
 * mapped this way are pinned like any other mapping: IOPF saves the up-front
 * cost and the pages never touched, not the pinning.
 *
 * Works on raw iommufd objects so that any iommufd user can drive it: the
 * iommufd fd, an IOAS, a device bound to that iommufd. Not thread-safe
 * itself (one caller), though vfc_iopf_stats() may be called while faults
 * are served.
 */
struct vfc_iopf;

/*
 * Attaches the device to page table pt_id (replacing what it is attached
 * to), or detaches it when pt_id is 0; 0 or -errno. The default, for a VFIO
 * cdev, is VFIO_DEVICE_ATTACH_IOMMUFD_PT / DETACH_IOMMUFD_PT.
 */
typedef int (*vfc_iopf_attach_fn)(void *data, uint32_t pt_id);

struct vfc_iopf_cfg {
	int iommufd;            /* /dev/iommu */
	uint32_t ioas_id;       /* where faulting pages are mapped */
	uint32_t dev_id;        /* the device's iommufd id (VFIO_DEVICE_BIND_IOMMUFD) */
	int cdev_fd;            /* its VFIO cdev, or -1 when attach is given */
	vfc_iopf_attach_fn attach; /* NULL: the VFIO cdev ioctls on cdev_fd */
	void *attach_data;
	/* teardown attaches the device back here (e.g. the IOAS); 0: detaches it */
	uint32_t restore_pt_id;

	/* The memory region: a fault at iova + off is served from vaddr + off. */
	void *vaddr;
	uint64_t iova;
	uint64_t size;
	uint64_t page_size;     /* granule of the lazy maps; 0: the CPU page size */
	unsigned int premap;    /* pages mapped ahead of each faulting page */
	unsigned int map_flags; /* VFC_MAP_READ | VFC_MAP_WRITE; 0 means both */
};

struct vfc_iopf_stats {
	uint64_t records;         /* fault records read: one per page request */
	uint64_t reads;           /* reads that returned records */
	uint64_t groups;          /* responses written: one per fault group */
	uint64_t success;         /* ... answered IOMMUFD_PAGE_RESP_SUCCESS */
	uint64_t invalid;         /* ... answered INVALID (the device gives up) */
	uint64_t out_of_region;   /* records outside the region (or writes to a
				   * read-only one) */
	uint64_t already_mapped;  /* records for pages mapped by then (premap) */
	uint64_t pages_mapped;    /* pages mapped lazily, in all */
	uint64_t pages_premapped; /* ... of them ahead of a fault */
	uint64_t map_calls;       /* IOMMU_IOAS_MAP calls */
	uint64_t map_errors;      /* ... that failed */
	uint64_t map_ns;          /* time spent in them */
	uint64_t resp_errors;     /* responses the kernel refused */
	uint64_t protocol_errors; /* reads that broke the record contract */
	/* per fault group, from the read that delivered it to its response written */
	uint64_t lat_min_ns, lat_median_ns, lat_max_ns;
	int last_error;           /* -errno of the last map or response failure */
	bool serving;             /* the thread still serves faults */
	int serve_error;          /* -errno the thread stopped on, 0 if none */
};

/*
 * Allocates a fault queue (IOMMU_FAULT_QUEUE_ALLOC) and an IOPF-capable page
 * table on the IOAS (IOMMU_HWPT_ALLOC with a fault id), starts the thread
 * that serves the queue, and attaches the device to the page table. All or
 * nothing: a failure leaves nothing allocated, attached or mapped. A device
 * that cannot fault (no PRI) fails the attach with -ENODEV and says so.
 */
int vfc_iopf_start(struct vfc_ctx *ctx, const struct vfc_iopf_cfg *cfg,
		   struct vfc_iopf **out);
/* The IOPF-capable page table and the fault queue's iommufd ids. */
uint32_t vfc_iopf_hwpt_id(const struct vfc_iopf *iopf);
uint32_t vfc_iopf_fault_id(const struct vfc_iopf *iopf);
/* A snapshot; safe while the thread serves faults. */
void vfc_iopf_stats(struct vfc_iopf *iopf, struct vfc_iopf_stats *out);
/*
 * Stops the thread, attaches the device back to cfg->restore_pt_id (or
 * detaches it), unmaps every page mapped on a fault, destroys the page table
 * and the fault queue, and frees iopf. Goes through every step whatever
 * fails; returns the first failure, or the error the thread stopped on.
 * *stats (may be NULL) gets the final statistics. NULL is a no-op.
 */
int vfc_iopf_stop(struct vfc_iopf *iopf, struct vfc_iopf_stats *stats);

/*
 * vfc_iopf_start() for a device of an IOMMU handle (the iommufd backend):
 * the device, bound and attached to the handle's IOAS, moves to an
 * IOPF-capable page table on that IOAS, and faults in the region of
 * `region` (vaddr, iova, size, page_size, premap, map_flags; its other
 * fields are ignored) are served from memory. vfc_iopf_stop() attaches the
 * device back to the IOAS. The region must not overlap the handle's own
 * mappings, and the handle must not map into it while faults are served
 * (the lazy mappings are the IOPF handle's, not in vfc_iommu_mappings()).
 * Stop it before the last vfc_iommu_unref(). -EOPNOTSUPP on type1 (it has
 * no fault queues), and for a device whose IOMMU group has other devices in
 * the handle (one page table serves the whole group).
 */
int vfc_iommu_iopf_start(struct vfc_iommu *io, const struct vfc_bdf *bdf,
			 const struct vfc_iopf_cfg *region, struct vfc_iopf **out);

#ifdef __cplusplus
}
#endif
#endif
