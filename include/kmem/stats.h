/* SPDX-License-Identifier: MIT */
/*
 * kmem/stats.h - the statistics a kmem process publishes, and how to read
 * them.
 *
 * Every process using kmem publishes its statistics in one shared-memory
 * region: a memfd named "kmem-stats", kept open on a high, close-on-exec
 * file descriptor.  kmeminfo (or any reader) finds it through
 * /proc/PID/fd, opens it (which the kernel allows to the same user or root
 * only, the /proc/PID/fd rule) and maps it read-only.
 *
 * What is in it: counters, sizes and names, and the code addresses of
 * the sampled profile's call stacks - never a heap or data address, and
 * nothing the allocator reads back.  Its magazines, page lists and every
 * figure it decides by are in its private memory; the region carries
 * copies, written as they change (plain stores; the fast paths add one
 * store each).  The memfd is sealed against writes (F_SEAL_FUTURE_WRITE)
 * and growing or shrinking, and its mode is 0400: no other process can
 * write it or map it writable, while the owner keeps writing through the
 * mapping it made before sealing.
 *
 * Layout (all offsets from the start of the region):
 *
 *   0                  struct kmem_stats_header
 *   header.cache_off   struct kmem_stats_cache[header.max_caches], indexed
 *                      by cache id; header.nr_cache_slots are in use
 *   header.units_off   a sequence of units, each header.unit_size * npages
 *                      bytes, up to header.units_end; each starts with
 *                      struct kmem_stats_unit.  Thread units describe one
 *                      live thread's per-thread caches.
 *
 * Consistency: the writer makes header.layout_seq odd while it adds or
 * removes cache records or units and even again after; a reader copies what
 * it needs and retries if layout_seq was odd or changed.  Each cache record
 * has its own seq for its slab-layer figures, used the same way.  Per-thread
 * counters are single aligned words, read racily.
 *
 * The reader side needs nothing from libkmem; see tools/kmeminfo.
 */
#ifndef KMEM_STATS_H
#define KMEM_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <kmem/page.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KMEM_STATS_MAGIC	0x544154534d454d4bULL	/* "KMEMSTAT" */
/*
 * 2: no addresses - the ext table holds unit offsets, header.base_addr
 * and the slots' magazine pointers are gone (reserved, 0).
 * 3: a slot's prev_rounds is 16 bits, followed by reused (allocations
 * served from the previous magazine).
 */
#define KMEM_STATS_VERSION	3
#define KMEM_STATS_MEMFD_NAME	"kmem-stats"
#define KMEM_STATS_NAME_LEN	48
#define KMEM_STATS_MAX_CACHES	4096
#define KMEM_STATS_UNIT_SIZE	4096
#define KMEM_STATS_NR_ORDERS	11
#define KMEM_SLOTS_INLINE		64	/* cache ids with inline per-thread slots */

/*
 * "kmeminfo run" protocol.  The tool passes a datagram socket (AF_UNIX,
 * SOCK_DGRAM) in KMEM_STATS_SOCK=<fd>, not close-on-exec, so that every
 * process of the command's tree inherits it.  Each kmem process that
 * publishes a region (at start-up, a forked child for its own copy, and
 * the new image after an exec) sends one struct kmem_stats_announce on
 * it, with a read-only descriptor of the region attached (SCM_RIGHTS).
 * The tool keeps the descriptors and reads the figures after the
 * processes exited.
 */
#define KMEM_STATS_ANNOUNCE_MAGIC	0x4e4e4154534d454bULL	/* "KEMSTANN" */

/* Why a region is announced (struct kmem_stats_announce.why). */
#define KMEM_STATS_ANNOUNCE_START	0	/* kmem started (after exec too) */
#define KMEM_STATS_ANNOUNCE_FORK	1	/* a fork child's own region */
#define KMEM_STATS_ANNOUNCE_AGAIN	2	/* published anew: the program
						 * took the old descriptor */

struct kmem_stats_announce {
	uint64_t magic;			/* KMEM_STATS_ANNOUNCE_MAGIC */
	int32_t pid;			/* the announcing process */
	int32_t ppid;			/* its parent then */
	char comm[16];			/* its command name (PR_GET_NAME) */
	uint32_t why;			/* KMEM_STATS_ANNOUNCE_* */
	uint32_t reserved;		/* 0 */
};

/**
 * struct kmem_stats_header - start of the region
 */
struct kmem_stats_header {
	uint64_t magic;			/* KMEM_STATS_MAGIC */
	uint32_t version;		/* KMEM_STATS_VERSION */
	uint32_t header_size;		/* sizeof(struct kmem_stats_header) */
	uint64_t region_size;		/* bytes in the region */
	uint64_t reserved_base;		/* 0 (version 1: an address) */
	uint64_t layout_seq;		/* odd while the layout changes */
	int32_t pid;			/* process publishing */
	int32_t claimed_by;		/* 0 (was: pid that took an inherited region) */
	uint64_t start_ns;		/* CLOCK_REALTIME when publishing began */
	uint32_t page_size;		/* 4096 */
	uint32_t nr_orders;		/* KMEM_STATS_NR_ORDERS */
	uint32_t cache_off;		/* offset of cache records */
	uint32_t cache_rec_size;	/* sizeof(struct kmem_stats_cache) */
	uint32_t max_caches;		/* records reserved */
	uint32_t nr_cache_slots;	/* records in use (highest id + 1) */
	uint32_t units_off;		/* offset of the first unit */
	uint32_t unit_size;		/* KMEM_STATS_UNIT_SIZE */
	uint64_t units_end;		/* offset just past the last unit */
	uint32_t slot_size;		/* sizeof(struct kmem_stats_slot) */
	uint32_t nr_threads;		/* live thread units */

	/* Page allocator, updated under the zone lock. */
	uint64_t buddy_seq;		/* odd while these are updated */
	uint64_t nr_free[KMEM_STATS_NR_ORDERS];	/* free blocks per order */
	uint64_t managed_pages;		/* pages in all sections */
	uint64_t free_pages;		/* pages in free blocks */
	uint64_t profile_max_stacks;	/* KMEM_PROFILE_MAX_STACKS while
					 * profiling, else 0 (before it: 0) */
	uint64_t mapped;		/* bytes of sections */
	uint64_t retained;		/* bytes released to the OS, still mapped */
	uint64_t huge_mapped;		/* bytes of live huge blocks (> 4 MiB,
					   or smaller: kmalloc.md) */
	uint64_t nr_sections;
	uint64_t nr_huge;
	uint64_t os_maps;		/* mmap calls that succeeded */
	uint64_t os_unmaps;		/* munmap calls */
	uint64_t os_releases;		/* madvise(MADV_DONTNEED) calls */
	uint64_t huge_cached;		/* bytes of freed huge blocks kept
					 * (resident) in the huge heap */
	uint64_t nr_huge_cached;
	uint64_t os_moves;		/* mremap calls that moved a mapping */
	/*
	 * The reaper thread's latest pass, in its own clock (CLOCK_MONOTONIC_
	 * COARSE, ms): what a test or a monitor waits for instead of a time.
	 * All 0 until the reaper's first pass (and in a process without one).
	 */
	uint64_t reaper_passes;		/* passes begun */
	uint64_t reaper_start_ms;	/* when the latest pass began */
	uint64_t reaper_due_ms;		/* the deadline it slept toward before
					 * it (0: none; a pass that began
					 * earlier was woken by a kick) */
	uint64_t reaper_next_ms;	/* after the pass, the deadline it
					 * sleeps toward (0: none, nothing
					 * expires); ~0 while the pass runs */
	uint64_t peak_used;		/* high-water mark of managed_pages -
					 * free_pages, in bytes (0: a region
					 * written before peaks existed) */
	uint64_t peak_huge_mapped;	/* high-water mark of huge_mapped */
	uint32_t thp;			/* KMEM_THP: 1 never, 2 large, 3 always
					 * (0: a region written before it) */
	uint32_t magazine_mode;		/* KMEM_STATS_MAGAZINES_*: where the
					 * magazines live (0: a region
					 * written before it) */
	uint64_t os_hugepages;		/* madvise(MADV_HUGEPAGE) calls */
	uint64_t os_populates;		/* madvise(MADV_POPULATE_WRITE) calls:
					 * pages mapped ahead (0: none, or a
					 * region written before it) */
	uint64_t profile_rate;		/* KMEM_PROFILE_RATE (0: profiling
					 * off, or a region written before
					 * it); the profile's unit is made at
					 * the first sample */

	/*
	 * KFENCE (Documentation/kfence.md), the figures of the kernel's
	 * /sys/kernel/debug/kfence/stats; each a relaxed atomic store.
	 */
	int64_t kfence_interval;	/* KMEM_KFENCE_SAMPLE_INTERVAL (0: off) */
	uint64_t kfence_objects;	/* slots in the pool */
	uint64_t kfence_allocated;	/* guarded objects held now */
	uint64_t kfence_allocs;		/* guarded allocations in total */
	uint64_t kfence_frees;		/* guarded objects freed */
	uint64_t kfence_bugs;		/* reports */
	uint64_t kfence_skip_incompat;	/* sampled but unfit (size, align, cache) */
	uint64_t kfence_skip_capacity;	/* sampled while every slot was in use */
	uint64_t kfence_slots_used;	/* slots holding an object, live or freed */
};

/* struct kmem_stats_cache.state */
#define KMEM_STATS_CACHE_FREE	0
#define KMEM_STATS_CACHE_LIVE	1
#define KMEM_STATS_CACHE_ALIAS	2	/* a merged name; figures in alias_of */

/**
 * struct kmem_stats_cache - one kmem_cache (or alias), by cache id
 *
 * active_objs counts objects taken from slabs: the program's objects plus
 * those waiting in magazines and the depot, as the kernel's slabinfo counts
 * per-cpu cached objects as active.  What the program itself holds is
 * active_objs - depot_objs - (rounds held by threads, from thread units).
 */
struct kmem_stats_cache {
	uint64_t seq;			/* odd while the figures are updated */
	uint32_t state;			/* KMEM_STATS_CACHE_* */
	uint32_t id;			/* index of this record */
	char name[KMEM_STATS_NAME_LEN];	/* NUL-terminated */
	uint32_t object_size;		/* bytes asked for */
	uint32_t size;			/* bytes per object in the slab */
	uint32_t align;			/* object alignment */
	uint32_t objs_per_slab;
	uint32_t order;			/* a slab is 1 << order pages */
	uint32_t flags;			/* SLAB_* */
	uint32_t magazine_size;		/* rounds per magazine (0: none) */
	uint32_t alias_of;		/* ALIAS: id of the real cache */
	uint32_t refcount;		/* names sharing this cache */
	uint32_t pad;
	uint64_t active_objs;		/* objects out of slabs */
	uint64_t total_objs;		/* objects in all slabs */
	uint64_t active_slabs;		/* slabs with an object out */
	uint64_t total_slabs;
	uint64_t depot_full;		/* full magazines in the depot */
	uint64_t depot_empty;		/* empty magazines in the depot */
	uint64_t depot_objs;		/* objects in depot magazines */
	uint64_t allocs_base;		/* allocations not in thread units */
	uint64_t frees_base;		/* frees not in thread units */
	uint64_t alloc_slow;		/* magazine misses on allocation */
	uint64_t free_slow;		/* magazine misses on free */
	uint64_t slabs_created;
	uint64_t slabs_freed;
	uint64_t rcu_pending;		/* slabs or objects waiting for RCU */
	uint64_t created;		/* creation number: larger is newer */
	uint64_t peak_active_objs;	/* high-water mark of active_objs */
	uint64_t trimmed;		/* objects the magazines' trim gave
					 * back (0 from writers before it) */
	uint64_t reserved[2];
};

/*
 * Records carry @created (0 in regions written before it existed).
 * /proc/slabinfo lists caches newest first; ids are reused, so readers
 * order by @created, not by id.
 */
#define KMEM_STATS_CACHE_HAS_CREATED 1

/* struct kmem_stats_header.magazine_mode */
#define KMEM_STATS_MAGAZINES_NONE	1	/* KMEM_MAGAZINES=0 */
#define KMEM_STATS_MAGAZINES_THREAD	2	/* per-thread (fallback) */
#define KMEM_STATS_MAGAZINES_CPU	3	/* per-CPU, restartable sequences */

/* struct kmem_stats_unit.kind */
#define KMEM_UNIT_FREE		0
#define KMEM_UNIT_THREAD	1	/* struct kmem_stats_thread */
#define KMEM_UNIT_EXT		2	/* more per-cache slots of a thread */
#define KMEM_UNIT_ORPHAN	3	/* a thread that did not survive fork */
#define KMEM_UNIT_PROFILE	4	/* struct kmem_stats_profile (one) */
#define KMEM_UNIT_CPU		5	/* a CPU's magazine slots: a struct
					 * kmem_stats_thread whose tid is the
					 * CPU id, in the per-CPU mode */

struct kmem_stats_unit {
	uint32_t kind;			/* KMEM_UNIT_* */
	uint32_t npages;		/* length in unit_size pages */
};

/**
 * struct kmem_stats_slot - one thread's magazines for one cache
 *
 * Frees push into the previous magazine; allocations pop the object
 * freed last from it while it has one (counted in reused, in the same
 * 32-bit word as prev_rounds), else from the loaded magazine.  The counts
 * are kept without a separate increment:
 *
 *   allocations = allocs + (uint16_t)(loaded_start - rounds) + reused
 *   frees       = frees  + (uint16_t)(prev_rounds - prev_start + reused)
 *
 * rounds + prev_rounds are the objects the thread holds.  The writer
 * stores rounds or the prev word on every allocation and free, the rest
 * when a magazine changes.  A prev word of 0xfffffffe or more is a slot
 * its owner has taken out (prev_rounds reads above magsize).
 */
#define KMEM_STATS_SLOT_COUNTS						\
	uint32_t rounds;	/* objects in the loaded magazine */	\
	union {								\
		struct {						\
			uint16_t prev_rounds;	/* in the previous one */ \
			uint16_t reused;	/* allocations from it */ \
		};							\
		uint32_t prev_word;	/* both, as one store */	\
	};								\
	uint16_t magsize;	/* capacity (0: slot unused) */		\
	uint16_t cache_id;	/* the cache this slot serves */	\
	uint16_t loaded_start;	/* rounds when loaded was put in */	\
	uint16_t prev_start;	/* prev_rounds when previous was */	\
	uint64_t allocs;	/* allocations from earlier magazines */ \
	uint64_t frees		/* frees into earlier magazines */

/*
 * The counts are written once, in KMEM_STATS_SLOT_COUNTS, because the
 * allocator's private original of this struct must have them at the same
 * offsets (slab/slab.h checks it at compile time).
 */
struct kmem_stats_slot {
	uint64_t reserved[2];		/* 0 */
	KMEM_STATS_SLOT_COUNTS;
};

/**
 * struct kmem_stats_thread - a live thread's unit
 */
struct kmem_stats_thread {
	struct kmem_stats_unit unit;
	int32_t tid;			/* kernel thread id */
	uint32_t state;			/* 2: live */
	uint32_t pcp_off;		/* offset in unit of uint64 pcp pages */
	uint32_t slot_off;		/* offset in unit of slots[0] */
	uint32_t nr_slots_inline;		/* KMEM_SLOTS_INLINE */
	uint32_t ext_off;		/* offset in unit of the ext table */
	uint32_t nr_ext;		/* entries in the ext table */
	uint32_t pad;
	/* then the layers' parts */
};

/**
 * struct kmem_stats_ext - more per-cache slots (cache ids >= 64)
 *
 * A thread's ext table (nr_ext uint64_t at ext_off in its unit) holds the
 * offsets in the region of these units (0 if absent); entry k covers ids
 * k * KMEM_SLOTS_INLINE and up.
 */
struct kmem_stats_ext {
	struct kmem_stats_unit unit;
	int32_t tid;
	uint32_t first_id;
	struct kmem_stats_slot slots[KMEM_SLOTS_INLINE];
};

/*
 * Sampled allocation profile (Documentation/profiling.md).  One unit of
 * kind KMEM_UNIT_PROFILE, made at the process's first sample when
 * profiling is on (header.profile_rate not 0; before the first sample the
 * profile is empty and there is no unit), its magic stored last: a unit
 * whose magic is still 0 is being made.  A header, then max_stacks stack
 * records at stack_off in the unit, nr_stacks of them in use.  Record 0
 * collects the samples whose stack found no room
 * (KMEM_PROFILE_MAX_STACKS): it has no frames and
 * KMEM_PROF_STACK_OVERFLOW set.  Records are never removed.
 *
 * A sample is one allocation, chosen by counting bytes: each thread draws
 * the distance to its next sample from an exponential distribution of
 * mean @rate bytes.  An allocation of size s is sampled with probability
 * p = 1 - exp(-s / rate) and then stands for 1/p allocations of s bytes:
 * the est_ figures add those weights up (est_objs in units of
 * 1/KMEM_PROF_OBJS_SCALE object), so they estimate, without bias, what
 * the program allocated and still holds at that stack.
 *
 * The frames are code addresses (return addresses, innermost first,
 * starting at the caller of the allocation function), never heap
 * addresses.  Each record has its own seq, odd while it is written.
 */
#define KMEM_PROFILE_MAGIC	0x464f5250504d454bULL	/* "KEMPPROF" */
#define KMEM_PROF_FRAMES	32
#define KMEM_PROF_OBJS_SCALE	1024
#define KMEM_PROF_STACK_OVERFLOW 1	/* record 0: stacks that found no room */

struct kmem_stats_profile {
	struct kmem_stats_unit unit;
	uint64_t magic;			/* KMEM_PROFILE_MAGIC */
	uint64_t rate;			/* mean bytes between samples */
	uint32_t max_stacks;		/* records reserved */
	uint32_t nr_stacks;		/* records in use */
	uint32_t stack_off;		/* offset in the unit of record 0 */
	uint32_t stack_size;		/* sizeof(struct kmem_stats_prof_stack) */
	uint32_t max_frames;		/* KMEM_PROF_FRAMES */
	uint32_t pad;
	uint64_t seq;			/* odd while the totals are written */
	uint64_t samples;		/* samples taken since start */
	uint64_t live_samples;		/* of which not freed yet */
	uint64_t skipped;		/* allocations that were due a sample
					 * but arrived while the thread was
					 * inside the profiler (a signal
					 * handler) or forking: not recorded */
	uint64_t no_room;		/* samples not recorded: the table of
					 * live samples was full */
	uint64_t lost_frees;		/* sampled objects freed by a signal
					 * handler that interrupted the
					 * profiler: still counted live */
	uint64_t reserved[8];
};

struct kmem_stats_prof_stack {
	uint64_t seq;			/* odd while written */
	uint32_t nr_frames;		/* frames[] used */
	uint32_t flags;			/* KMEM_PROF_STACK_* */
	uint64_t live_samples;		/* sampled allocations not freed */
	uint64_t live_bytes;		/* their bytes */
	uint64_t live_est_bytes;	/* bytes they stand for */
	uint64_t live_est_objs;		/* objects they stand for, scaled */
	uint64_t total_samples;		/* since start */
	uint64_t total_bytes;
	uint64_t total_est_bytes;
	uint64_t total_est_objs;	/* scaled */
	uint64_t frames[KMEM_PROF_FRAMES];	/* code addresses */
};

/* ---- In-process API (libkmem) -------------------------------------- */

/**
 * struct kmem_slabinfo - one cache as /proc/slabinfo shows it, and more
 */
struct kmem_slabinfo {
	char name[KMEM_STATS_NAME_LEN];
	unsigned long active_objs;
	unsigned long num_objs;
	unsigned long active_slabs;
	unsigned long num_slabs;
	unsigned int objsize;
	unsigned int object_size;
	unsigned int objs_per_slab;
	unsigned int pages_per_slab;
	unsigned int magazine_size;
	unsigned int refcount;
	unsigned long thread_objs;	/* objects in threads' magazines */
	unsigned long depot_objs;	/* objects in the depot */
	unsigned long inuse_objs;	/* held by the program */
	unsigned long allocs;
	unsigned long frees;
	unsigned long alloc_slow;
	unsigned long free_slow;
	unsigned long slabs_created;
	unsigned long slabs_freed;
	unsigned int flags;
	unsigned int cpu_objs;		/* objects in CPUs' magazines (the
					 * per-CPU mode; in what was padding) */
};

KMEM_EXPORT int kmem_slabinfo_snapshot(struct kmem_slabinfo *out, int max);
KMEM_EXPORT int kmem_slabinfo_format_line(const struct kmem_slabinfo *si,
					  char *buf, size_t len);
KMEM_EXPORT int kmem_slabinfo_print(int fd);
KMEM_EXPORT int kmem_buddyinfo_print(int fd);
KMEM_EXPORT int kmem_stats_fd(void);

/**
 * struct kmem_kfence_stats - the process's KFENCE figures
 * (the published header's kfence_* fields, read in-process)
 */
struct kmem_kfence_stats {
	long sample_interval;		/* ms; 0: off; -1: every allocation */
	unsigned long objects;		/* slots in the pool */
	unsigned long allocated;	/* guarded objects held now */
	unsigned long allocs;		/* guarded allocations in total */
	unsigned long frees;
	unsigned long bugs;		/* reports */
	unsigned long skip_incompat;
	unsigned long skip_capacity;
	unsigned long slots_used;	/* live or freed-and-protected */
};

KMEM_EXPORT void kmem_kfence_stats(struct kmem_kfence_stats *st);

#define KMEM_SLABINFO_HEADER                                                 \
	"slabinfo - version: 2.1\n"                                          \
	"# name            <active_objs> <num_objs> <objsize> <objperslab> " \
	"<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "   \
	"slabdata <active_slabs> <num_slabs> <sharedavail>\n"

#ifdef __cplusplus
}
#endif

#endif /* KMEM_STATS_H */
