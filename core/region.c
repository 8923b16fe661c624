// SPDX-License-Identifier: MIT
/*
 * core/region.c - the statistics region and its private twin.
 *
 * One reservation per process, two halves of KMEM_REGION_SIZE each:
 *
 *   twin             private anonymous memory: the allocator's per-thread
 *                    state (thread blocks: magazines, page lists) lives
 *                    here, in units at the offsets the published half
 *                    describes;
 *   twin + SIZE + 4 KiB  the published region (kmem_region), laid out as
 *                    include/kmem/stats.h describes: a header, the cache
 *                    records (by cache id), then the units.
 *
 * The published half holds counters, sizes and names only: never an
 * address, and nothing kmem reads back.  Each published figure is a copy
 * of a private one, stored as it changes.  A unit's published figures are
 * at the same offsets in the published half as their private originals
 * in the twin, so a fast path publishes a count with one store at a
 * constant displacement from the private field: kmem_pub() (buddy.h).
 * Fields the published layout does not describe (pointers, list links)
 * stay zero there.  Whatever the published half holds can be rebuilt
 * from private state (kmem_republish_locked(), core/init.c): that is how
 * a fork child, or a process whose descriptor was closed, publishes anew.
 *
 * Publishing (the default): the published half is a memfd named
 * "kmem-stats" mapped MAP_SHARED over it, moved to a close-on-exec file
 * descriptor high in the table (far from the low numbers programs expect
 * to get), mode 0400, then sealed: F_SEAL_SHRINK and F_SEAL_GROW (readers
 * never see it truncated) and F_SEAL_FUTURE_WRITE (Linux 5.1): nobody can
 * write() it or map it writable any more, while kmem keeps writing
 * through the mapping it made before.  On an older kernel the write seal
 * is refused; the region is then protected by its mode only (a same-user
 * process may chmod it back and write figures, but nothing it writes is
 * read by the allocator).  kmeminfo opens /proc/PID/fd/N, which the
 * kernel allows only to the same user or root.  Nothing is ever written
 * to a file system, so nothing is left behind by an exit or a crash.
 * KMEM_STATS=0: the published half stays private anonymous memory.
 *
 * The descriptor is the program's to close: kmem remembers the memfd's
 * identity (st_dev, st_ino) and touches a descriptor number only while it
 * still refers to that memfd.  When the number no longer does, the
 * region is published anew on a fresh high number (at the next fork(),
 * or kmem_stats_fd()).
 *
 * "kmeminfo run" (KMEM_STATS_SOCK): the tool passes a datagram socket; each
 * memfd this process publishes (at start-up, in a forked child, anew
 * after the program took its descriptor, and in the image an exec starts)
 * is announced there with a read-only descriptor of it
 * (include/kmem/stats.h), so that the tool holds the figures of every
 * kmem process of the command's tree after they exit.
 *
 * Fork: the child's published half is still its parent's memfd.  Its
 * fork handler maps a new memfd (or, failing that, private memory) over
 * it and republishes everything from the private state the child
 * inherited, which is exact: the forking thread is the child's only
 * thread.  Nothing is copied in the parent's prepare handler.
 *
 * Units are allocated page-granular: free lists per length, then a bump
 * pointer, both private.  Readers tolerate change through
 * header.layout_seq, odd while units or cache records come and go.
 *
 * Lock order: the table in core/lock.h (region_lock is the innermost).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"

#define REGION_SIZE	KMEM_REGION_SIZE
/*
 * The cache records follow the header on its page (a small program's 45
 * records end on the third page instead of the fourth: one page fault
 * and one page of RSS less; readers take the offset from the header).
 */
#define CACHE_OFF	512UL
#define UNITS_OFF	ALIGN(CACHE_OFF + KMEM_STATS_MAX_CACHES * \
			      sizeof(struct kmem_stats_cache), \
			      KMEM_STATS_UNIT_SIZE)
#define NR_FREE_LISTS	8
#define REGION_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

BUILD_BUG_ON(sizeof(struct kmem_stats_header) > CACHE_OFF);
BUILD_BUG_ON(sizeof(struct kmem_stats_cache) != 256);
BUILD_BUG_ON(sizeof(struct kmem_stats_slot) != 48);
BUILD_BUG_ON(UNITS_OFF % KMEM_STATS_UNIT_SIZE);
BUILD_BUG_ON(KMEM_PUB_DISPLACEMENT > INT32_MAX);	/* kmem_pub(): a displacement */

struct kmem_stats_header *kmem_region;	/* the published half */
static char *twin;			/* its private twin */

static struct kmem_mutex region_lock = KMEM_MUTEX_INIT(LOCK_RANK_REGION);
static int region_fd = -1;
static dev_t region_dev;		/* the memfd's identity */
static ino_t region_ino;
static bool region_write_sealed;	/* F_SEAL_FUTURE_WRITE taken */

/* Private: the published header carries copies (region_lock). */
static uint64_t free_units[NR_FREE_LISTS + 1];	/* offsets, 0 = empty */
static uint64_t units_end = UNITS_OFF;
static uint64_t layout_seq;
static uint32_t nr_threads, nr_cache_slots;

/* A free unit (in the twin): the unit header, then the next of its length. */
struct free_unit {
	struct kmem_stats_unit unit;
	uint64_t next;
};

static inline char *pub_base(void)
{
	return (char *)kmem_region;
}

/**
 * kmem_region_publish - copy a range of the twin to the published half
 * @priv: start, in the twin
 * @len:  bytes (a struct the published layout describes whole)
 */
void kmem_region_publish(const void *priv, size_t len)
{
	memcpy(kmem_pub((char *)priv), priv, len);
}

/* The header's copies of the private layout figures (region_lock). */
static void publish_layout_locked(void)
{
	struct kmem_stats_header *h = kmem_region;

	WRITE_ONCE(h->units_end, units_end);
	WRITE_ONCE(h->nr_threads, nr_threads);
	WRITE_ONCE(h->nr_cache_slots, nr_cache_slots);
}

/**
 * kmem_region_layout_begin - start changing units or cache records
 *
 * Takes region_lock and makes layout_seq odd.
 */
void kmem_region_layout_begin(void)
{
	kmem_mutex_lock(&region_lock);
	__atomic_store_n(&kmem_region->layout_seq, ++layout_seq,
			 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/**
 * kmem_region_layout_end - the layout is consistent again
 */
void kmem_region_layout_end(void)
{
	publish_layout_locked();
	__atomic_store_n(&kmem_region->layout_seq, ++layout_seq,
			 __ATOMIC_RELEASE);
	kmem_mutex_unlock(&region_lock);
}

static uint32_t magazine_mode;

/**
 * kmem_region_set_magazine_mode - publish where the magazines live
 * @mode: KMEM_STATS_MAGAZINES_*, chosen once at start-up by the slab layer
 */
void kmem_region_set_magazine_mode(uint32_t mode)
{
	magazine_mode = mode;
	if (kmem_region)
		WRITE_ONCE(kmem_region->magazine_mode, mode);
}

/**
 * kmem_region_alloc - a zeroed unit
 * @kind: KMEM_UNIT_THREAD, KMEM_UNIT_EXT or KMEM_UNIT_CPU
 * @size: bytes needed (rounded up to whole units)
 *
 * Return: the unit in the private twin, its header filled in and
 * published, or NULL when the region is full.
 */
void *kmem_region_alloc(unsigned int kind, size_t size)
{
	uint32_t npages = (uint32_t)DIV_ROUND_UP(size, KMEM_STATS_UNIT_SIZE);
	size_t len = (size_t)npages * KMEM_STATS_UNIT_SIZE;
	struct kmem_stats_unit *u = NULL;
	bool reused = false;
	uint64_t off = 0;

	kmem_region_layout_begin();
	if (npages <= NR_FREE_LISTS && free_units[npages]) {
		reused = true;
		off = free_units[npages];
		free_units[npages] = ((struct free_unit *)(twin + off))->next;
	} else if (units_end + len <= REGION_SIZE) {
		off = units_end;
		units_end += len;
	}
	if (off) {
		u = (struct kmem_stats_unit *)(twin + off);
		if (reused) {	/* fresh units are untouched zero pages */
			memset(u, 0, len);
			memset(kmem_pub(u), 0, len);
		}
		u->npages = npages;
		u->kind = kind;
		kmem_region_publish(u, sizeof(*u));
		if (kind == KMEM_UNIT_THREAD)
			nr_threads++;
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
		nr_threads--;
	f->unit.kind = KMEM_UNIT_FREE;
	kmem_region_publish(&f->unit, sizeof(f->unit));
	if (npages <= NR_FREE_LISTS) {
		f->next = free_units[npages];
		free_units[npages] = (uint64_t)((char *)f - twin);
	}
	kmem_region_layout_end();
}

/**
 * kmem_region_orphan - a thread unit whose thread did not survive fork
 * @p: the unit
 *
 * Context: kmem_region_layout_begin() held.
 */
void kmem_region_orphan(void *p)
{
	struct kmem_stats_unit *u = p;

	lock_assert_held(&region_lock);
	if (u->kind == KMEM_UNIT_THREAD)
		nr_threads--;
	u->kind = KMEM_UNIT_ORPHAN;
	kmem_region_publish(u, sizeof(*u));
}

/**
 * kmem_region_unit_offset - where a unit is, for a published reference
 * @p: a unit from kmem_region_alloc()
 *
 * Return: its offset from the start of the region.
 */
uint64_t kmem_region_unit_offset(const void *p)
{
	return (uint64_t)((const char *)p - twin);
}

/**
 * kmem_region_cache_record - the published record for cache id @id
 * @id: 0..KMEM_STATS_MAX_CACHES-1
 *
 * A record has no private twin: the cache's own fields are the originals.
 */
void *kmem_region_cache_record(unsigned int id)
{
	BUG_ON(id >= KMEM_STATS_MAX_CACHES);
	return pub_base() + CACHE_OFF + (size_t)id * sizeof(struct kmem_stats_cache);
}

/**
 * kmem_region_cache_slot_used - record @id is in use
 * @id: a cache record id
 *
 * Context: kmem_region_layout_begin() held.
 */
void kmem_region_cache_slot_used(unsigned int id)
{
	lock_assert_held(&region_lock);
	if (nr_cache_slots <= id)
		nr_cache_slots = id + 1;
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

/* A new memfd of the region's size, owner-read-only. */
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
	return fd;
}

/*
 * @fd is mapped over the published half: refuse everyone else write
 * access.  The mode keeps open(O_RDWR) from other processes of the user
 * (root is not refused by modes); the seals refuse write(), writable
 * shared mappings and any change of size to every descriptor, while the
 * mapping made before the seal keeps working.
 */
static void region_seal(int fd)
{
	fchmod(fd, 0400);
	region_write_sealed =
		!fcntl(fd, F_ADD_SEALS, REGION_SEALS | F_SEAL_FUTURE_WRITE);
	if (!region_write_sealed)	/* EINVAL: before Linux 5.1 */
		fcntl(fd, F_ADD_SEALS, REGION_SEALS);
}

/* Remember which memfd @fd is, to recognise the number later. */
static void region_fd_set(int fd)
{
	struct stat st;

	region_fd = fd;
	if (fd >= 0 && !fstat(fd, &st)) {
		region_dev = st.st_dev;
		region_ino = st.st_ino;
	}
}

/* Does region_fd still refer to the memfd kmem put there? */
static bool region_fd_ours(void)
{
	struct stat st;

	return region_fd >= 0 && !fstat(region_fd, &st) &&
	       st.st_dev == region_dev && st.st_ino == region_ino;
}

/*
 * The socket of "kmeminfo run", if KMEM_STATS_SOCK named one: its identity
 * (device, inode) is kept, so that a descriptor number the program has
 * since closed and reused is never written to.
 */
static int announce_fd = -1;
static dev_t announce_dev;
static ino_t announce_ino;

static bool announce_fd_ok(void)
{
	struct stat st;

	return announce_fd >= 0 && !fstat(announce_fd, &st) &&
	       S_ISSOCK(st.st_mode) && st.st_dev == announce_dev &&
	       st.st_ino == announce_ino;
}

static void announce_init(int fd)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(type);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_DGRAM)
		return;
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
	    domain != AF_UNIX)
		return;
	announce_fd = fd;
	announce_dev = st.st_dev;
	announce_ino = st.st_ino;
}

/*
 * region_announce - tell "kmeminfo run" about the memfd just published
 * @why: KMEM_STATS_ANNOUNCE_START, _FORK or _AGAIN
 *
 * One datagram: who we are (struct kmem_stats_announce) and a read-only
 * descriptor of the region (opened again through /proc/self/fd; the
 * memfd is sealed against writes anyway).  Never blocks the program: a
 * full queue is retried for at most ~100 ms, then the announcement is
 * dropped.  Allocates nothing.
 */
static void region_announce(uint32_t why)
{
	struct kmem_stats_announce a = {
		.magic = KMEM_STATS_ANNOUNCE_MAGIC,
		.pid = (int32_t)getpid(),
		.ppid = (int32_t)getppid(),
		.why = why,
	};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &a, .iov_len = sizeof(a) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	char path[64];
	int ro;

	if (!region_fd_ours() || !announce_fd_ok())
		return;
	prctl(PR_GET_NAME, a.comm, 0, 0, 0);
	kmem_snprintf(path, sizeof(path), "/proc/self/fd/%d", region_fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	memset(ctl.buf, 0, sizeof(ctl.buf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), ro >= 0 ? &ro : &region_fd, sizeof(int));
	for (int tries = 0; tries < 100; tries++) {
		struct timespec ms = { 0, 1000 * 1000 };

		if (sendmsg(announce_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 ||
		    (errno != EAGAIN && errno != EINTR))
			break;
		nanosleep(&ms, NULL);
	}
	if (ro >= 0)
		close(ro);
}

/*
 * Map a new memfd over the published half, seal it and put it on a
 * descriptor: the number @keep if it is still ours (a fork child
 * replacing its parent's region there), else a fresh high one.
 *
 * Return: true if the region is published; false if no memfd could be
 * had (the published half is then private memory, and any descriptor of
 * ours is closed).
 */
static bool region_publish_new(bool keep)
{
	int fd = memfd_new();

	if (fd >= 0 && !kmem_os_remap_region_fixed(kmem_region, fd,
						   REGION_SIZE)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		if (!kmem_os_remap_region_fixed(kmem_region, -1, REGION_SIZE))
			kmem_panic("kmem: cannot replace the statistics region\n");
		if (keep && region_fd_ours())
			close(region_fd);
		region_fd = -1;
		return false;
	}
	region_seal(fd);
	if (keep && region_fd_ours() &&
	    dup3(fd, region_fd, O_CLOEXEC) == region_fd) {
		close(fd);
		fd = region_fd;
	} else {
		fd = fd_move_high(fd);
	}
	region_fd_set(fd);
	return true;
}

static void header_init(struct kmem_stats_header *h)
{
	struct timespec ts;

	kmem_clock_gettime(CLOCK_REALTIME, &ts);
	h->version = KMEM_STATS_VERSION;
	h->header_size = sizeof(*h);
	h->region_size = REGION_SIZE;
	h->reserved_base = 0;
	h->pid = (int32_t)getpid();
	h->start_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	h->page_size = PAGE_SIZE;
	h->nr_orders = KMEM_STATS_NR_ORDERS;
	h->thp = kmem_config.thp + 1;
	h->magazine_mode = magazine_mode;
	h->cache_off = CACHE_OFF;
	h->cache_rec_size = sizeof(struct kmem_stats_cache);
	h->max_caches = KMEM_STATS_MAX_CACHES;
	h->units_off = UNITS_OFF;
	h->unit_size = KMEM_STATS_UNIT_SIZE;
	h->slot_size = sizeof(struct kmem_stats_slot);
	publish_layout_locked();
	/* The magic last: a reader never sees a half-made header as ours. */
	__atomic_store_n(&h->magic, KMEM_STATS_MAGIC, __ATOMIC_RELEASE);
}

/**
 * kmem_region_init - create the region (once, from kmem_init)
 * @publish:     share it through a memfd (KMEM_STATS, default on)
 * @announce_to: the socket of "kmeminfo run" (KMEM_STATS_SOCK), or -1
 *
 * Return: 0, or -ENOMEM if not even private memory could be mapped.
 */
int kmem_region_init(bool publish, int announce_to)
{
	twin = kmem_os_map_region(-1, KMEM_PUB_DISPLACEMENT + REGION_SIZE);
	if (!twin)
		return -ENOMEM;
	kmem_region = (struct kmem_stats_header *)(twin + KMEM_PUB_DISPLACEMENT);
	announce_init(announce_to);
	if (publish && region_publish_new(false))
		region_announce(KMEM_STATS_ANNOUNCE_START);
	kmem_region->layout_seq = ++layout_seq;		/* odd until ready */
	header_init(kmem_region);
	__atomic_store_n(&kmem_region->layout_seq, ++layout_seq,
			 __ATOMIC_RELEASE);
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
 * kmem_region_write_sealed - did the kernel take F_SEAL_FUTURE_WRITE?
 *
 * Return: false when not published, or on a kernel before Linux 5.1.
 */
bool kmem_region_write_sealed(void)
{
	return region_fd >= 0 && region_write_sealed;
}

/**
 * kmem_region_fd - the descriptor of the published region, as it stands
 *
 * Return: the fd, or -1 when not published or when the program has closed
 * (or reused) the number: see kmem_region_lost().
 */
int kmem_region_fd(void)
{
	return region_fd_ours() ? region_fd : -1;
}

/**
 * kmem_region_lost - was the region published on a descriptor the
 * program has since closed (or reused for something else)?
 */
bool kmem_region_lost(void)
{
	return region_fd >= 0 && !region_fd_ours();
}

/**
 * kmem_region_republish_begin - start publishing everything anew
 * @fresh: put the published half on a new memfd first (its descriptor
 *         lost, or a fork child); false: rewrite the mapping in place
 *
 * The header is rewritten from the private figures and every unit's
 * header from the twin; the layers then republish what they own, and
 * kmem_region_republish_end() closes the layout seqcount.
 *
 * Context: every kmem lock held (region_lock included), or a fork child.
 */
void kmem_region_republish_begin(bool fresh)
{
	struct kmem_stats_header *h = kmem_region;

	if (fresh && region_fd >= 0 && region_publish_new(true))
		region_announce(KMEM_STATS_ANNOUNCE_AGAIN);
	h->claimed_by = 0;
	__atomic_store_n(&h->layout_seq, ++layout_seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	header_init(h);
	for (uint64_t off = UNITS_OFF; off < units_end;) {
		struct kmem_stats_unit *u = (void *)(twin + off);

		kmem_region_publish(u, sizeof(*u));
		off += (uint64_t)u->npages * KMEM_STATS_UNIT_SIZE;
	}
}

/**
 * kmem_region_republish_end - the republished layout is consistent
 */
void kmem_region_republish_end(void)
{
	publish_layout_locked();
	__atomic_store_n(&kmem_region->layout_seq, ++layout_seq,
			 __ATOMIC_RELEASE);
}

/**
 * kmem_region_fork_prepare - hold the region lock across fork()
 */
void kmem_region_fork_prepare(void)
{
	kmem_mutex_lock(&region_lock);
}

/**
 * kmem_region_fork_parent - release it in the parent
 */
void kmem_region_fork_parent(void)
{
	kmem_mutex_unlock(&region_lock);
}

/**
 * kmem_region_fork_child - give the child a published half of its own
 *
 * Runs first among kmem's fork-child steps: until it has, the child's
 * published half is its parent's memfd.  A new memfd goes over it (on
 * the same descriptor number, if that number still refers to the
 * parent's region; else on a fresh one), or private memory if none can be
 * had; the figures are republished later (kmem_republish_locked()).
 */
void kmem_region_fork_child(void)
{
	kmem_mutex_reinit(&region_lock);
	if (region_fd >= 0 && region_publish_new(true))
		region_announce(KMEM_STATS_ANNOUNCE_FORK);
}

/* Started by kmem_init_slow() itself, first; republished by it too. */
KMEM_LAYER(region_layer, "statistics region", LAYER_CORE, LOCK_RANK_REGION,
	.lock = kmem_region_fork_prepare, .unlock = kmem_region_fork_parent,
	.fork_child = kmem_region_fork_child);
