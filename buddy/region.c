// SPDX-License-Identifier: MIT
/*
 * buddy/region.c - the shared region: statistics and per-thread blocks.
 *
 * One mapping per process, laid out as include/kmem/stats.h describes: a
 * header, the cache records (indexed by cache id), then units of whole
 * pages (thread blocks and their extensions).  kmem keeps its live figures
 * here rather than copying them: the slab layer updates its cache record
 * on its slow paths, and each thread's magazines and page lists are in its
 * unit, so a reader sees the process as it is, at no cost to the fast
 * paths.
 *
 * Publishing (the default): the region is a memfd named "kmem-stats",
 * sealed against shrinking and growing, moved to a close-on-exec file
 * descriptor high in the table (far from the low numbers programs expect
 * to get) and mapped MAP_SHARED.  kmeminfo opens /proc/PID/fd/N, which the
 * kernel allows only to the same user or root.  Nothing is ever written to
 * a file system, so nothing is left behind by an exit or a crash.
 * KMEM_STATS=0: the region is private anonymous memory instead.
 *
 * An inherited region (KMEM_STATS_FD, set by "kmeminfo run"): a memfd
 * created by the parent tool; the first process to claim it (compare-and-
 * swap of header.claimed_by) uses it, so the tool can read the figures
 * after the program exits.  Anyone else, e.g. a grandchild that inherited
 * the variable, makes its own.
 *
 * Fork: the child must not write into its parent's region, so its fork
 * handler copies the used parts into a new memfd and maps it at the same
 * address (MAP_FIXED) before anything else runs, keeping the fd number.
 *
 * Units are allocated page-granular: free lists per length, then a bump
 * pointer.  Readers tolerate change through header.layout_seq, odd while
 * units or cache records come and go.
 *
 * Lock order: region_lock is the innermost kmem lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buddy/buddy.h"

#define REGION_SIZE	(256UL << 20)
#define CACHE_OFF	4096UL
#define UNITS_OFF	(CACHE_OFF + KMEM_STATS_MAX_CACHES * \
			 sizeof(struct kmem_stats_cache))
#define NR_FREE_LISTS	8

BUILD_BUG_ON(sizeof(struct kmem_stats_header) > CACHE_OFF);
BUILD_BUG_ON(sizeof(struct kmem_stats_cache) != 256);
BUILD_BUG_ON(sizeof(struct kmem_stats_pcc) != 48);
BUILD_BUG_ON(UNITS_OFF % KMEM_STATS_UNIT_SIZE);

struct kmem_stats_header *kmem_region;

static struct kmem_lock region_lock = KMEM_LOCK_INIT;
static int region_fd = -1;
static uint64_t free_units[NR_FREE_LISTS + 1];	/* offsets, 0 = empty */

/* A free unit: the unit header, then the next free unit of its length. */
struct free_unit {
	struct kmem_stats_unit unit;
	uint64_t next;
};

static inline char *region_base(void)
{
	return (char *)kmem_region;
}

/**
 * kmem_region_layout_begin - start changing units or cache records
 *
 * Takes region_lock and makes layout_seq odd.
 */
void kmem_region_layout_begin(void)
{
	kmem_lock(&region_lock);
	__atomic_store_n(&kmem_region->layout_seq, kmem_region->layout_seq + 1,
			 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/**
 * kmem_region_layout_end - the layout is consistent again
 */
void kmem_region_layout_end(void)
{
	__atomic_store_n(&kmem_region->layout_seq, kmem_region->layout_seq + 1,
			 __ATOMIC_RELEASE);
	kmem_unlock(&region_lock);
}

/**
 * kmem_region_alloc - a zeroed unit in the region
 * @kind: KMEM_UNIT_THREAD or KMEM_UNIT_EXT
 * @size: bytes needed (rounded up to whole units)
 *
 * Return: the unit, its header filled in, or NULL when the region is full.
 */
void *kmem_region_alloc(unsigned int kind, size_t size)
{
	struct kmem_stats_header *h = kmem_region;
	uint32_t npages = (uint32_t)DIV_ROUND_UP(size, KMEM_STATS_UNIT_SIZE);
	struct kmem_stats_unit *u = NULL;
	uint64_t off;

	kmem_region_layout_begin();
	if (npages <= NR_FREE_LISTS && free_units[npages]) {
		struct free_unit *f;

		off = free_units[npages];
		f = (struct free_unit *)(region_base() + off);
		free_units[npages] = f->next;
		u = &f->unit;
	} else if (h->units_end + (uint64_t)npages * KMEM_STATS_UNIT_SIZE <=
		   h->region_size) {
		off = h->units_end;
		u = (struct kmem_stats_unit *)(region_base() + off);
		h->units_end += (uint64_t)npages * KMEM_STATS_UNIT_SIZE;
	}
	if (u) {
		memset(u, 0, (size_t)npages * KMEM_STATS_UNIT_SIZE);
		u->npages = npages;
		u->kind = kind;
		if (kind == KMEM_UNIT_THREAD)
			h->nr_threads++;
	}
	kmem_region_layout_end();
	return u;
}

/**
 * kmem_region_free - give a unit back
 * @p: a unit from kmem_region_alloc()
 */
void kmem_region_free(void *p)
{
	struct free_unit *f = p;
	uint32_t npages = f->unit.npages;

	kmem_region_layout_begin();
	if (f->unit.kind == KMEM_UNIT_THREAD)
		kmem_region->nr_threads--;
	f->unit.kind = KMEM_UNIT_FREE;
	if (npages <= NR_FREE_LISTS) {
		f->next = free_units[npages];
		free_units[npages] = (uint64_t)((char *)f - region_base());
	}
	kmem_region_layout_end();
}

/**
 * kmem_region_cache_record - the record for cache id @id
 * @id: 0..KMEM_STATS_MAX_CACHES-1
 */
void *kmem_region_cache_record(unsigned int id)
{
	BUG_ON(id >= KMEM_STATS_MAX_CACHES);
	return region_base() + kmem_region->cache_off +
	       (size_t)id * sizeof(struct kmem_stats_cache);
}

static int high_fd_floor(void)
{
	struct rlimit rl;
	long cur = 1024;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		cur = (long)rl.rlim_cur;
	cur = min(cur, 1024L);
	return (int)(cur - cur / 8);
}

/* Move @fd to a high, close-on-exec number; returns the new fd. */
static int fd_move_high(int fd)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, high_fd_floor());

	if (nfd < 0)
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return fd;
	close(fd);
	return nfd;
}

static int memfd_new(void)
{
	int fd = memfd_create(KMEM_STATS_MEMFD_NAME,
			      MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)REGION_SIZE)) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	return fd;
}

/* Is @fd a kmem-stats memfd that nobody has claimed?  Claim it. */
static bool inherited_claim(int fd, struct kmem_stats_header **hp)
{
	char path[64], link[128];
	struct kmem_stats_header *h;
	struct stat st;
	int32_t zero = 0;
	ssize_t n;

	kmem_snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	if (strncmp(link, "/memfd:" KMEM_STATS_MEMFD_NAME,
		    strlen("/memfd:" KMEM_STATS_MEMFD_NAME)))
		return false;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return false;
	if ((size_t)st.st_size < REGION_SIZE &&
	    ftruncate(fd, (off_t)REGION_SIZE))
		return false;
	h = kmem_os_map_region(fd, REGION_SIZE);
	if (!h)
		return false;
	if (h->magic != 0 && h->magic != KMEM_STATS_MAGIC)
		goto out_unmap;
	if (!__atomic_compare_exchange_n(&h->claimed_by, &zero, (int32_t)getpid(),
					 false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		goto out_unmap;
	/* Ours now: its size is fixed, as for a region we make ourselves. */
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	*hp = h;
	return true;

out_unmap:
	kmem_os_unmap(h, REGION_SIZE);
	return false;
}

static void header_init(struct kmem_stats_header *h)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	h->version = KMEM_STATS_VERSION;
	h->header_size = sizeof(*h);
	h->region_size = REGION_SIZE;
	h->base_addr = (uint64_t)(unsigned long)h;
	h->pid = (int32_t)getpid();
	h->start_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	h->page_size = PAGE_SIZE;
	h->nr_orders = KMEM_STATS_NR_ORDERS;
	h->cache_off = CACHE_OFF;
	h->cache_rec_size = sizeof(struct kmem_stats_cache);
	h->max_caches = KMEM_STATS_MAX_CACHES;
	h->units_off = UNITS_OFF;
	h->unit_size = KMEM_STATS_UNIT_SIZE;
	if (h->units_end < UNITS_OFF)
		h->units_end = UNITS_OFF;
	h->pcc_size = sizeof(struct kmem_stats_pcc);
	/* The magic last: a reader never sees a half-made header as ours. */
	__atomic_store_n(&h->magic, KMEM_STATS_MAGIC, __ATOMIC_RELEASE);
}

/**
 * kmem_region_init - create the region (once, from kmem_init)
 * @publish:      share it through a memfd (KMEM_STATS, default on)
 * @inherited_fd: a memfd handed down by "kmeminfo run", or -1
 *
 * Return: 0, or -ENOMEM if not even a private region could be mapped.
 */
int kmem_region_init(bool publish, int inherited_fd)
{
	struct kmem_stats_header *h = NULL;
	int fd = -1;

	if (publish && inherited_fd >= 0 && inherited_claim(inherited_fd, &h))
		fd = inherited_fd;
	if (!h && publish) {
		fd = memfd_new();
		if (fd >= 0) {
			h = kmem_os_map_region(fd, REGION_SIZE);
			if (!h) {
				close(fd);
				fd = -1;
			}
		}
	}
	if (!h) {
		h = kmem_os_map_region(-1, REGION_SIZE);
		if (!h)
			return -ENOMEM;
	}
	if (fd >= 0) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fd = fd_move_high(fd);
	}
	region_fd = fd;
	kmem_region = h;
	header_init(h);
	return 0;
}

/**
 * kmem_region_published - is the region visible to kmeminfo?
 */
bool kmem_region_published(void)
{
	return region_fd >= 0;
}

/**
 * kmem_stats_fd - the file descriptor of the published region
 *
 * Return: the fd, or -1 when statistics are not published.
 */
int kmem_stats_fd(void)
{
	kmem_init();
	return region_fd;
}

/*
 * Copy the parts of a region in use (header, records, units), reading the
 * extent from @src, so that untouched pages are never faulted in.
 */
/*
 * Copy @n bytes a word at a time, not through memcpy(): other threads
 * may be writing their per-thread words meanwhile.
 */
static void region_copy_words(char *dst, const char *src, size_t n)
{
	uint64_t *d = (uint64_t *)(void *)dst;
	const uint64_t *s = (const uint64_t *)(const void *)src;

	for (size_t i = 0; i < n / 8; i++)
		/* Racy by design, as every reader of the region: a word is
		 * whole, its neighbours may be from a moment later. */
		d[i] = data_race(s[i]);
}

static void region_copy_used(char *dst, const char *src)
{
	const struct kmem_stats_header *h = (const void *)src;
	size_t recs = (size_t)h->nr_cache_slots * sizeof(struct kmem_stats_cache);
	size_t units = h->units_end - UNITS_OFF;

	region_copy_words(dst, src, CACHE_OFF);
	region_copy_words(dst + CACHE_OFF, src + CACHE_OFF, recs);
	region_copy_words(dst + UNITS_OFF, src + UNITS_OFF, units);
}

/*
 * The child's region is copied in the parent, in the prepare handler,
 * while every kmem lock is held and the forking thread is inside fork():
 * the region is shared memory, so a copy made later, in the child, would
 * take in whatever the parent did after fork() returned to it.
 */
static int fork_nfd = -1;	/* the copy's memfd, or -1 */
static char *fork_copy;		/* the copy, mapped in the parent */

/**
 * kmem_region_fork_prepare - hold the region lock across fork() and copy
 * the region for the child
 */
void kmem_region_fork_prepare(void)
{
	kmem_lock(&region_lock);
	if (region_fd < 0)
		return;
	fork_nfd = memfd_new();
	if (fork_nfd >= 0) {
		fork_copy = kmem_os_map_region(fork_nfd, REGION_SIZE);
		if (!fork_copy) {
			close(fork_nfd);
			fork_nfd = -1;
		}
	}
	/* No memfd: a private copy, which fork() duplicates. */
	if (!fork_copy)
		fork_copy = kmem_os_map_region(-1, REGION_SIZE);
	if (fork_copy)
		region_copy_used(fork_copy, region_base());
}

/**
 * kmem_region_fork_parent - release it in the parent
 */
void kmem_region_fork_parent(void)
{
	if (fork_copy)
		kmem_os_unmap(fork_copy, REGION_SIZE);
	if (fork_nfd >= 0)
		close(fork_nfd);
	fork_copy = NULL;
	fork_nfd = -1;
	kmem_unlock(&region_lock);
}

/**
 * kmem_region_fork_child - give the child a region of its own
 *
 * Runs first among kmem's fork-child steps.  With a published region the
 * copy made at fork() is mapped over the same range and its memfd
 * installed on the same fd number; without a memfd the child gets a
 * private copy and stops publishing rather than share its parent's.
 */
void kmem_region_fork_child(void)
{
	char *base = region_base();
	char *copy = fork_copy;
	int nfd = fork_nfd;

	kmem_lock_reinit(&region_lock);
	fork_copy = NULL;
	fork_nfd = -1;
	if (region_fd < 0)
		goto out;
	if (nfd >= 0) {
		if (kmem_os_remap_region_fixed(base, nfd, REGION_SIZE)) {
			kmem_os_unmap(copy, REGION_SIZE);
			dup3(nfd, region_fd, O_CLOEXEC);
			close(nfd);
			goto out;
		}
		close(nfd);	/* the copy's mapping keeps it */
	}
	if (!copy)
		kmem_panic("kmem: fork child: cannot copy the statistics region\n");
	if (!kmem_os_remap_region_fixed(base, -1, REGION_SIZE))
		kmem_panic("kmem: fork child: cannot replace the statistics region\n");
	region_copy_used(base, copy);
	kmem_os_unmap(copy, REGION_SIZE);
	close(region_fd);
	region_fd = -1;
out:
	kmem_region->claimed_by = 0;
	header_init(kmem_region);
}
