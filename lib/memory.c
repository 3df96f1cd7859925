// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The memory a VMM would give its guest, in each of the ways VMMs allocate
 * it, so that mapping it for DMA can be measured the way a VM pays for it.
 */
#define _GNU_SOURCE 1 /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/memfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* 5.14 */
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

#define THP_SIZE (2ULL << 20) /* x86-64 PMD; the alignment THP needs */

struct vfc_mem {
	struct vfc_backing b;
	void *addr;
	uint64_t size;
	void *map_base; /* what munmap gets: THP over-allocates to align */
	size_t map_len;
	int fd;
	uint64_t page;
};

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int log2u(uint64_t v)
{
	int n = 0;

	while (v >>= 1)
		n++;
	return n;
}

static int parse_huge(const char *s, uint64_t *out)
{
	if (!*s) {
		*out = 0;
		return 0;
	}
	if (*s != ':' || vfc_size_parse(s + 1, out) || !pow2(*out) || *out < (64 << 10))
		return -EINVAL;
	return 0;
}

VFC_EXPORT int vfc_backing_parse(const char *s, struct vfc_backing *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "anon")) {
		out->kind = VFC_MEM_ANON;
	} else if (!strcmp(s, "thp")) {
		out->kind = VFC_MEM_THP;
	} else if (!strncmp(s, "hugetlb", 7)) {
		out->kind = VFC_MEM_HUGETLB;
		return parse_huge(s + 7, &out->huge_size);
	} else if (!strncmp(s, "memfd:hugetlb", 13)) {
		out->kind = VFC_MEM_MEMFD_HUGETLB;
		return parse_huge(s + 13, &out->huge_size);
	} else if (!strcmp(s, "memfd")) {
		out->kind = VFC_MEM_MEMFD;
	} else if (!strncmp(s, "file:", 5) && s[5]) {
		if (strlen(s + 5) >= sizeof(out->path))
			return -ENAMETOOLONG;
		out->kind = VFC_MEM_FILE;
		strcpy(out->path, s + 5);
	} else {
		return -EINVAL;
	}
	return 0;
}

VFC_EXPORT char *vfc_backing_format(const struct vfc_backing *b, char *buf, size_t len)
{
	static const char *const names[] = { "anon", "thp", "hugetlb", "memfd",
					     "memfd:hugetlb", "file" };
	char sz[32] = "";

	if (b->huge_size)
		vfc_size_format(b->huge_size, sz, sizeof(sz));
	if (b->kind == VFC_MEM_FILE)
		snprintf(buf, len, "file:%s", b->path);
	else
		snprintf(buf, len, "%s%s%s", names[b->kind], sz[0] ? ":" : "", sz);
	return buf;
}

/* The default hugepage size, from /proc/meminfo's Hugepagesize. */
static uint64_t default_huge(struct vfc_ctx *ctx)
{
	char *text = NULL, *p;
	unsigned long long kb = 0;
	vfc_path_t path;

	if (vfc_path_root(ctx, path, "/proc/meminfo") || vfc_slurp(path, &text, 1 << 20))
		return 2ULL << 20;
	p = strstr(text, "Hugepagesize:");
	if (!p || sscanf(p, "Hugepagesize: %llu kB", &kb) != 1)
		kb = 2048;
	free(text);
	return (uint64_t)kb << 10;
}

static int hugetlb_fail(struct vfc_ctx *ctx, int err, const struct vfc_mem *m)
{
	char sz[16], total[16], hint[192];

	vfc_size_format(m->page, sz, sizeof(sz));
	vfc_size_format(m->size, total, sizeof(total));
	snprintf(hint, sizeof(hint),
		 "reserve them: echo %" PRIu64 " > /sys/kernel/mm/hugepages/hugepages-%" PRIu64
		 "kB/nr_hugepages", m->size / m->page, m->page >> 10);
	return vfc_fail(ctx, err, err == ENOMEM ? hint : NULL,
			"allocating %s of %s hugepages: the pool has too few free pages",
			total, sz);
}

static int alloc_anon(struct vfc_ctx *ctx, struct vfc_mem *m)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	size_t len = m->size;
	char *p;

	if (m->b.kind == VFC_MEM_THP)
		len += THP_SIZE; /* room to align the start to a huge page */
	if (m->b.kind == VFC_MEM_HUGETLB)
		flags |= MAP_HUGETLB | (log2u(m->page) << MAP_HUGE_SHIFT);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		if (m->b.kind == VFC_MEM_HUGETLB)
			return hugetlb_fail(ctx, errno, m);
		return vfc_fail(ctx, errno, NULL, "allocating %" PRIu64 " bytes", m->size);
	}
	m->map_base = p;
	m->map_len = len;
	m->addr = p;
	if (m->b.kind == VFC_MEM_THP) {
		m->addr = (void *)(((uintptr_t)p + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1));
		if (madvise(m->addr, m->size, MADV_HUGEPAGE) < 0)
			return vfc_fail(ctx, errno,
					"is transparent_hugepage disabled (never) in /sys/kernel/mm?",
					"asking for transparent huge pages");
	} else if (m->b.kind == VFC_MEM_ANON) {
		/* the 4K baseline: keep khugepaged and THP=always out of it */
		madvise(m->addr, m->size, MADV_NOHUGEPAGE);
	}
	return 0;
}

static int alloc_memfd(struct vfc_ctx *ctx, struct vfc_mem *m)
{
	unsigned int flags = MFD_CLOEXEC;

	if (m->b.kind == VFC_MEM_MEMFD_HUGETLB)
		flags |= MFD_HUGETLB | ((unsigned int)log2u(m->page) << MFD_HUGE_SHIFT);
	m->fd = memfd_create("vfioctl", flags);
	if (m->fd < 0)
		return vfc_fail(ctx, errno, errno == EINVAL ? "this hugepage size is not supported" : NULL,
				"memfd_create");
	if (ftruncate(m->fd, (off_t)m->size) < 0)
		return vfc_fail(ctx, errno, NULL, "sizing the memfd to %" PRIu64 " bytes", m->size);
	m->addr = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (m->addr == MAP_FAILED) {
		m->addr = NULL;
		if (m->b.kind == VFC_MEM_MEMFD_HUGETLB)
			return hugetlb_fail(ctx, errno, m);
		return vfc_fail(ctx, errno, NULL, "mapping the memfd");
	}
	m->map_base = m->addr;
	m->map_len = m->size;
	return 0;
}

static int alloc_file(struct vfc_ctx *ctx, struct vfc_mem *m)
{
	struct stat st;

	m->fd = open(m->b.path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0)
		return vfc_fail(ctx, errno, NULL, "opening %s", m->b.path);
	if (fstat(m->fd, &st) < 0)
		return vfc_fail(ctx, errno, NULL, "%s", m->b.path);
	/* the file is the user's: never grow or truncate it */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < m->size)
		return vfc_fail(ctx, EINVAL, "give a regular file at least as large as --size",
				"%s: not a regular file of %" PRIu64 " bytes or more",
				m->b.path, m->size);
	/* a file on hugetlbfs reports its page size as the block size */
	if (pow2((uint64_t)st.st_blksize) && (uint64_t)st.st_blksize >= THP_SIZE)
		m->page = (uint64_t)st.st_blksize;
	m->addr = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (m->addr == MAP_FAILED) {
		m->addr = NULL;
		return vfc_fail(ctx, errno, NULL, "mapping %s", m->b.path);
	}
	m->map_base = m->addr;
	m->map_len = m->size;
	return 0;
}

VFC_EXPORT int vfc_mem_alloc(struct vfc_ctx *ctx, const struct vfc_backing *b,
			     uint64_t size, struct vfc_mem **out)
{
	struct vfc_mem *m;
	int r;

	*out = NULL;
	if (!size)
		return vfc_fail(ctx, EINVAL, NULL, "a size of 0 bytes");
	m = calloc(1, sizeof(*m));
	if (!m)
		return vfc_fail(ctx, ENOMEM, NULL, "allocating");
	m->b = *b;
	m->fd = -1;
	m->size = size;
	m->page = (uint64_t)sysconf(_SC_PAGESIZE);
	if (b->kind == VFC_MEM_THP)
		m->page = THP_SIZE;
	if (b->kind == VFC_MEM_HUGETLB || b->kind == VFC_MEM_MEMFD_HUGETLB)
		m->page = b->huge_size ? b->huge_size : default_huge(ctx);
	if (size % m->page) {
		char ps[16];

		r = vfc_fail(ctx, EINVAL, "round --size up to a whole number of pages",
			     "%" PRIu64 " bytes is not a multiple of the %s page size",
			     size, vfc_size_format(m->page, ps, sizeof(ps)));
		goto fail;
	}
	switch (b->kind) {
	case VFC_MEM_ANON:
	case VFC_MEM_THP:
	case VFC_MEM_HUGETLB:
		r = alloc_anon(ctx, m);
		break;
	case VFC_MEM_MEMFD:
	case VFC_MEM_MEMFD_HUGETLB:
		r = alloc_memfd(ctx, m);
		break;
	default:
		r = alloc_file(ctx, m);
		break;
	}
	if (r)
		goto fail;
	*out = m;
	return 0;
fail:
	vfc_mem_free(m);
	return r;
}

VFC_EXPORT void vfc_mem_free(struct vfc_mem *m)
{
	if (!m)
		return;
	if (m->map_base)
		munmap(m->map_base, m->map_len);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

VFC_EXPORT void *vfc_mem_addr(const struct vfc_mem *m) { return m->addr; }
VFC_EXPORT uint64_t vfc_mem_size(const struct vfc_mem *m) { return m->size; }
VFC_EXPORT int vfc_mem_fd(const struct vfc_mem *m) { return m->fd; }
VFC_EXPORT uint64_t vfc_mem_page_size(const struct vfc_mem *m) { return m->page; }

struct slice {
	char *start;
	uint64_t len;
	uint64_t page;
	int err;
};

static void *populate_slice(void *arg)
{
	struct slice *s = arg;

	/* what QEMU's prealloc does; older kernels lack it, so touch by hand */
	if (madvise(s->start, s->len, MADV_POPULATE_WRITE) == 0)
		return NULL;
	if (errno != EINVAL) {
		s->err = errno;
		return NULL;
	}
	for (uint64_t off = 0; off < s->len; off += s->page) {
		volatile char *p = s->start + off;

		*p = *p; /* a write fault that leaves the contents alone */
	}
	return NULL;
}

VFC_EXPORT int vfc_mem_populate(struct vfc_ctx *ctx, struct vfc_mem *m,
				unsigned int threads)
{
	struct slice sl[64];
	pthread_t tid[64];
	uint64_t pages = m->size / m->page, per;
	unsigned int started = 0;
	int err = 0;

	if (threads < 1 || threads > 64)
		return vfc_fail(ctx, EINVAL, NULL, "populate with %u threads (1 to 64)", threads);
	if (threads > pages)
		threads = (unsigned int)pages;
	per = pages / threads;
	for (unsigned int i = 0; i < threads; i++) {
		uint64_t first = i * per, n = i == threads - 1 ? pages - first : per;

		sl[i] = (struct slice){ (char *)m->addr + first * m->page, n * m->page, m->page, 0 };
	}
	for (; started < threads - 1; started++)
		if (pthread_create(&tid[started], NULL, populate_slice, &sl[started]))
			break;
	/* this thread takes the last slice, and any a thread could not start for */
	for (unsigned int i = started; i < threads; i++)
		populate_slice(&sl[i]);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	for (unsigned int i = 0; i < threads && !err; i++)
		err = sl[i].err;
	if (err)
		return vfc_fail(ctx, err, err == ENOMEM ? "the hugepage pool or RAM ran out" : NULL,
				"populating %" PRIu64 " bytes", m->size);
	return 0;
}

static uint64_t kb_after(const char *line, const char *key)
{
	size_t n = strlen(key);
	unsigned long long kb;

	if (strncmp(line, key, n) || sscanf(line + n, " %llu kB", &kb) != 1)
		return UINT64_MAX;
	return (uint64_t)kb << 10;
}

VFC_EXPORT int vfc_smaps_parse(const char *text, uint64_t start, uint64_t end,
			       struct vfc_mem_pages *out)
{
	static const char *const huge_keys[] = { "AnonHugePages:", "ShmemPmdMapped:",
		"FilePmdMapped:", "Private_Hugetlb:", "Shared_Hugetlb:" };
	const char *line = text;
	bool in = false, found = false;

	memset(out, 0, sizeof(*out));
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		unsigned long long a, b;
		uint64_t v;
		int used = 0;

		/* a VMA header: "start-end perms ..." (keys never contain '-') */
		if (sscanf(line, "%llx-%llx %*s%n", &a, &b, &used) == 2 && used > 0) {
			/* the kernel may merge our VMA with a like neighbour: overlap counts */
			in = a < end && b > start;
			found |= in;
		} else if (in) {
			if ((v = kb_after(line, "Rss:")) != UINT64_MAX)
				out->rss += v;
			else if ((v = kb_after(line, "KernelPageSize:")) != UINT64_MAX &&
				 !out->kernel_page)
				out->kernel_page = v;
			for (size_t i = 0; i < ARRAY_SIZE(huge_keys); i++) {
				if ((v = kb_after(line, huge_keys[i])) == UINT64_MAX)
					continue;
				out->huge += v;
				if (i >= 3) /* hugetlb pages are not in Rss */
					out->rss += v;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return found ? 0 : -ENOENT;
}

static int resident_bytes(const struct vfc_mem *m, uint64_t *out)
{
	uint64_t small = (uint64_t)sysconf(_SC_PAGESIZE), n = m->size / small, res = 0;
	unsigned char *vec = malloc(n);

	if (!vec)
		return -ENOMEM;
	if (mincore(m->addr, m->size, vec) < 0) {
		int e = errno;

		free(vec);
		return -e;
	}
	for (uint64_t i = 0; i < n; i++)
		res += vec[i] & 1;
	free(vec);
	*out = res * small;
	return 0;
}

VFC_EXPORT int vfc_mem_pages(struct vfc_ctx *ctx, const struct vfc_mem *m,
			     struct vfc_mem_pages *out)
{
	char *text = NULL;
	vfc_path_t p;
	uint64_t a = (uintptr_t)m->addr;
	int r;

	if (vfc_path_proc(ctx, p, 0, "smaps"))
		return -ENAMETOOLONG;
	r = vfc_slurp(p, &text, 256 << 20);
	if (r)
		return vfc_fail(ctx, r, NULL, "reading /proc/self/smaps");
	r = vfc_smaps_parse(text, a, a + m->size, out);
	free(text);
	if (r)
		return vfc_fail(ctx, r, NULL, "the mapping is not in /proc/self/smaps");
	if (out->huge > m->size)
		out->huge = m->size;
	/* smaps counts whole VMAs; mincore answers for exactly our range */
	r = resident_bytes(m, &out->rss);
	if (r)
		return vfc_fail(ctx, r, NULL, "mincore");
	return 0;
}
