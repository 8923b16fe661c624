/* SPDX-License-Identifier: MIT */
/*
 * slab/slab.h - private header of the slab layer.
 *
 * Three levels, after Bonwick's slab allocator with magazines:
 *
 *   per-thread magazines (struct magazine_slot, in the thread's block in the
 *   region's private twin; no lock)  ->  the cache's depot of full and empty magazines
 *   (cache lock)  ->  slabs: buddy blocks carved into objects, with a
 *   bitmap header (cache lock)  ->  the buddy allocator.
 *
 * A slab (order s->order) is laid out as:
 *
 *   +-------------+---------+--------+--------+-----+--------+---------+
 *   | struct slab | bitmap  | colour | obj 0  | ... | obj n-1| leftover|
 *   +-------------+---------+--------+--------+-----+--------+---------+
 *   ^ slab (aligned to its size)      ^ s_mem
 *
 * and each object slot (s->size bytes), with debugging, as:
 *
 *   | left red zone | object (object_size) | right red zone | tracks | pad |
 *   ^ slot           ^ pointer handed out
 */
#ifndef KMEM_SLAB_SLAB_H
#define KMEM_SLAB_SLAB_H

#include <kmem/slab.h>
#include "buddy/buddy.h"
#include "kfence/kfence.h"
#include "core/cpu.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#pragma GCC visibility push(hidden)

#define SLAB_DEBUG_FLAGS (SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | \
			  SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE)
#define SLAB_NEVER_MERGE (SLAB_DEBUG_FLAGS | SLAB_TYPESAFE_BY_RCU | \
			  SLAB_NOLEAKTRACE | SLAB_FAILSLAB | SLAB_NO_MERGE | \
			  SLAB_KASAN)
#define SLAB_MERGE_SAME	 (SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | \
			  SLAB_CACHE_DMA32 | SLAB_ACCOUNT)

/* struct kmem_cache.cflags: kmem-internal properties */
#define CF_MARK_FREE	0x1	/* free objects carry the marker in word 1 */
#define CF_MARK_AT	0x20	/* ... at marker_off instead (word 0, outside) */
#define CF_MARK_OUTSIDE	0x40	/* ... in a word after the object (ctor/RCU) */
#define CF_MARKS	(CF_MARK_FREE | CF_MARK_AT)
#define CF_DEBUG	0x2	/* any debug option: no magazines, checks */
#define CF_ALIAS	0x4	/* a merged name: state lives in ->root */
#define CF_BOOT		0x8	/* static cache made at start-up */
#define CF_DYING	0x10	/* kmem_cache_destroy() in progress */

#define MAX_SLAB_ORDER	MAX_PAGE_ORDER	/* large objects need large slabs */
#define SLAB_MIN_PARTIAL 2	/* empty slabs a cache keeps */
#define DEPOT_MAX_EMPTY	8
#define DEPOT_MIN_FULL	2	/* full magazines a depot keeps over budget */
#define DEPOT_AFFINITY	8	/* newest full magazines searched for our own */
/*
 * Full magazines a depot holds before it hands a thread another's: as many
 * as it keeps over budget, so that a consumer's objects always flow on.
 */
#define DEPOT_SURPLUS	DEPOT_MIN_FULL
#define DEPOT_REUSE	1024	/* slow paths on a block since its slot took a
				 * full magazine: it still reuses its own */

/* Poison and red-zone bytes: the kernel's values (include/linux/poison.h). */
#define POISON_INUSE	0x5a	/* padding: uninitialised */
#define POISON_FREE	0x6b	/* a free object */
#define POISON_END	0xa5	/* last byte of a free object */
#define SLUB_RED_INACTIVE 0xbb	/* red zone of a free object */
#define SLUB_RED_ACTIVE	0xcc	/* red zone of an allocated object */

/**
 * struct slab - header at the start of every slab
 *
 * Invariant: popcount(bitmap) == inuse; bits past the last object are set.
 * Protected by the owning cache's lock.
 */
struct slab {
	struct kmem_cache *cache;	/* owner */
	struct list_head list;		/* on the cache's full/partial/free */
	unsigned int inuse;		/* objects out (bits set) */
	unsigned int free_hint;		/* no clear bit in words before it */
	char *s_mem;			/* first slot */
	unsigned int colour_off;	/* bytes of colour before s_mem */
	unsigned int state;		/* enum slab_state */
	unsigned long bitmap[];		/* bit i set: slot i is out */
};

enum slab_state { SLAB_FREE_LIST, SLAB_PARTIAL_LIST, SLAB_FULL_LIST,
		  SLAB_RCU_PENDING };

/*
 * struct kmem_magazine - a stack of object pointers (Bonwick)
 * How many rounds it holds is kept by its holder (thread slot or depot:
 * depot magazines are always full or empty).
 */
struct kmem_magazine {
	struct list_head list;		/* depot_full or depot_empty */
	unsigned long stamp;		/* depot_full: kmem_now_ms() it went in */
	int owner;			/* depot_full: the thread that filled it,
					 * or -1 - its CPU (depot_owner()) */
	int filler;			/* depot_full: the thread that put it in
					 * and takes full ones back, or 0
					 * (DEPOT_NOBODY: anyone may take it) */
	unsigned int exits;		/* depot_full: depot_exits when it went
					 * in */
	void *round[];
};

/* One allocation or free owner (SLAB_STORE_USER). */
struct kmem_track {
	unsigned long addr;		/* caller */
	unsigned long when;		/* kmem_now_ms() */
	int tid;			/* thread */
	int pad;
};

/**
 * struct kmem_cache - an object cache
 *
 * Fields are grouped by who uses them.  The first group is read on every
 * allocation and free and never changes after creation (an alias copies
 * it from its root, so the fast path never follows ->root).  Everything
 * after @lock is protected by it.
 */
struct kmem_cache {
	/* Fast path, read-only after creation. */
	unsigned int id;		/* per-thread slot index */
	unsigned int size;		/* slot size in the slab */
	unsigned int magsize;		/* rounds per magazine, 0: none */
	unsigned int cflags;		/* CF_* */
	unsigned int reciprocal;	/* ceil(2^32 / size) */
	unsigned int objects;		/* slots per slab */
	unsigned int red_left;		/* object offset within its slot */
	unsigned int object_size;	/* bytes asked for */
	unsigned int span;		/* objects * size */
	unsigned int slot_off;		/* this cache's slot in struct slab_thread */
	unsigned int marker_off;	/* CF_MARKS: free marker's offset */
	uint64_t divisor_m;		/* ceil(2^64 / size): exact-multiple test */
	struct kmem_cache *root;	/* self, or the cache an alias names */

	/* Creation parameters and layout. */
	unsigned int align;		/* object alignment */
	unsigned int order;		/* slab is 1 << order pages */
	unsigned int inuse;		/* end of object + right red zone */
	unsigned int track_off;		/* offset of the two tracks in a slot */
	unsigned int hdr_size;		/* struct slab + bitmap, aligned */
	unsigned int colour_step;	/* bytes between colours */
	unsigned int colours;		/* number of colours */
	slab_flags_t flags;		/* SLAB_* including debug ones */
	void (*ctor)(void *);
	unsigned int rec_id;		/* stats record (aliases: their own) */
	int refcount;			/* slab_mutex: names using it */
	struct list_head list;		/* slab_mutex: on slab_caches */
	struct kmem_stats_cache *stat;	/* record in the published region */
	uint64_t created;		/* record's creation number */
	char name[KMEM_STATS_NAME_LEN];

	/* Slabs and depot. */
	struct kmem_mutex lock;
	uint64_t stat_seq;		/* the record's seq (published copy) */
	struct list_head slabs_full;
	struct list_head slabs_partial;
	struct list_head slabs_free;
	unsigned long nr_slabs;		/* all slabs, including RCU-pending */
	unsigned long nr_free_slabs;	/* on slabs_free */
	unsigned long nr_rcu_slabs;	/* waiting for a grace period */
	unsigned long active_objs;	/* bits set in all slabs */
	unsigned long peak_active_objs;	/* its high-water mark */
	unsigned int colour_next;	/* colour of the next slab */
	struct list_head depot_full;	/* full magazines, newest first */
	struct list_head depot_empty;	/* empty magazines */
	unsigned long depot_nr_full;
	unsigned long depot_nr_empty;
	unsigned long allocs_base;	/* counts not in live thread slots */
	unsigned long frees_base;
	unsigned long alloc_slow;
	unsigned long free_slow;
	unsigned long slabs_created;
	unsigned long slabs_freed;
	unsigned long trimmed;		/* objects slot_gc() gave back */
};

/*
 * struct magazine_slot - one thread's magazines for one cache (private)
 *
 * The private original of struct kmem_stats_slot: the same layout, with
 * the magazines where the published copy has reserved words.  The
 * published copy is at kmem_pub(c); rounds and prev_rounds are stored
 * there by the fast paths, the rest by slot_publish() when a magazine
 * changes.
 */
struct magazine_slot {
	void **loaded;			/* rounds of the loaded magazine */
	void **previous;		/* rounds of the previous magazine */
	KMEM_STATS_SLOT_COUNTS;		/* as published, word for word */
};

/* An extension unit's private original (struct kmem_stats_ext). */
struct slab_ext {
	struct kmem_stats_unit unit;
	int32_t tid;
	uint32_t first_id;
	struct magazine_slot slots[KMEM_SLOTS_INLINE];
};

#define SLAB_SAME_FIELD(a, b, f) \
	(offsetof(struct a, f) == offsetof(struct b, f) && \
	 sizeof(((struct a *)0)->f) == sizeof(((struct b *)0)->f))
BUILD_BUG_ON(sizeof(struct magazine_slot) != sizeof(struct kmem_stats_slot));
BUILD_BUG_ON(!SLAB_SAME_FIELD(magazine_slot, kmem_stats_slot, rounds));
BUILD_BUG_ON(!SLAB_SAME_FIELD(magazine_slot, kmem_stats_slot, prev_rounds));
BUILD_BUG_ON(!SLAB_SAME_FIELD(magazine_slot, kmem_stats_slot, magsize));
BUILD_BUG_ON(!SLAB_SAME_FIELD(magazine_slot, kmem_stats_slot, cache_id));
BUILD_BUG_ON(!SLAB_SAME_FIELD(magazine_slot, kmem_stats_slot, loaded_start));
BUILD_BUG_ON(!SLAB_SAME_FIELD(magazine_slot, kmem_stats_slot, prev_start));
BUILD_BUG_ON(!SLAB_SAME_FIELD(magazine_slot, kmem_stats_slot, allocs));
BUILD_BUG_ON(!SLAB_SAME_FIELD(magazine_slot, kmem_stats_slot, frees));
BUILD_BUG_ON(sizeof(struct slab_ext) != sizeof(struct kmem_stats_ext));
BUILD_BUG_ON(offsetof(struct slab_ext, slots) !=
	     offsetof(struct kmem_stats_ext, slots));

/*
 * Per-thread part of the slab layer (in the thread's block, private twin).
 * Caches with ids below KMEM_SLOTS_INLINE have their slot inline; the others
 * point their slot_off at @none, a slot that is always empty and has no
 * room, so that their fast paths fall through to the slow path, which
 * finds the real slot in an extension unit.  A thread without per-thread
 * state points at slab_thread_none, whose every slot is like @none: the
 * fast paths need no NULL or range checks.  (Neither kind of empty slot
 * is ever published to: the fast paths store only after taking or giving
 * an object.)  The published table in place of @ext holds the extension
 * units' offsets in the region.
 */
struct slab_thread {
	struct magazine_slot slots[KMEM_SLOTS_INLINE];
	struct magazine_slot none;
	uint32_t owner;		/* CPU block: the tag of the thread whose fast
				 * paths use it; 0: nobody's (percpu_own()).
				 * Beside none, which no one writes: the fast
				 * paths of the CPU read it on every call */
	/*
	 * What a small program's slow paths write comes before what they
	 * do not (ext, gc_calls, took): so the bytes of a thread's block
	 * that it writes (buddy/'s part, which comes first, and these) stay
	 * within one page of the twin (Documentation/buddy.md, "Per-thread
	 * page lists").
	 */
	uint8_t warm[KMEM_SLOTS_INLINE];	/* slow calls before the inline
						 * slot's first magazine
						 * (slow_slot(); private) */
	/* The working-set trim (slot_gc(); private). */
	uint32_t gc_ticks;			/* slow paths on the block */
	uint32_t gc_next;			/* the slot to look at next */
	struct slab_ext *ext[KMEM_STATS_MAX_CACHES / KMEM_SLOTS_INLINE];
	uint32_t gc_calls[KMEM_SLOTS_INLINE];	/* each slot's calls at its
						 * last look */
	uint32_t took[KMEM_SLOTS_INLINE];	/* gc_ticks when the slot last
						 * took a full magazine from
						 * the depot, | 1; 0: never
						 * (depot_pop_full(); private) */
};

extern __thread struct slab_thread *kmem_tls_slab __tls_ie;
extern struct slab_thread slab_thread_none;
extern unsigned long kmem_free_secret;
extern struct kmem_mutex slab_mutex;
extern struct list_head slab_caches;
extern struct kmem_thread_part slab_thread_part;

/* ---- slab.c: slabs --------------------------------------------------- */

int slab_calculate_layout(struct kmem_cache *s);
unsigned int slab_take_objects(struct kmem_cache *s, void **out,
			       unsigned int want, gfp_t gfp);
void slab_put_objects(struct kmem_cache *s, void **objs, unsigned int n,
		      struct list_head *to_free);
void slab_release_list(struct kmem_cache *s, struct list_head *slabs);
void slab_trim_free(struct kmem_cache *s, unsigned long keep,
		    struct list_head *to_free);
void *slab_alloc_single(struct kmem_cache *s, gfp_t gfp, unsigned long caller);
void slab_free_single(struct kmem_cache *s, void *obj, unsigned long caller);
void cache_publish_locked(struct kmem_cache *s);
int slab_validate(struct kmem_cache *s);
void __slab_free_pages(struct kmem_cache *s, struct slab *slab);

/* ---- magazine.c: per-thread magazines and the depot ------------------ */

void *slab_alloc_slow(struct kmem_cache *s, gfp_t gfp, unsigned long caller);
void *slab_alloc_refill(struct kmem_cache *s, gfp_t gfp, unsigned long caller);
void slab_free_slow(struct kmem_cache *s, void *obj, unsigned long caller);
void magazine_init(bool magazines);
void magazine_flush_cache(struct kmem_cache *s, bool all_threads);
void magazine_flush_cache_locked(struct kmem_cache *s);
void magazine_depot_drain(struct kmem_cache *s);
void magazine_depot_trim(unsigned long now_ms, unsigned long *next);
bool magazine_depot_reclaim(void);
unsigned long magazine_depot_bytes(void);
unsigned int magazine_size_for(unsigned int size);
void magazine_cpu_drain(unsigned int cpu);
void magazine_drain_offline(const unsigned long *online);
void magazine_cpu_for_each(kmem_thread_visit_fn fn, void *arg);
void magazine_fork_child(void);
void magazine_cpu_republish(void);
struct kmem_cache *magazine_cache_for(unsigned int rounds);
void magazine_thread_holdings(struct kmem_cache *s, unsigned long *objs);

/* ---- debug.c: KMEM_DEBUG ------------------------------------------- */

void slab_debug_parse(const char *spec);
slab_flags_t slab_debug_flags_for(const char *name, slab_flags_t flags);
void debug_init_slot(struct kmem_cache *s, char *slot);
bool debug_alloc_checks(struct kmem_cache *s, struct slab *slab, void *obj,
			unsigned long caller);
bool debug_free_checks(struct kmem_cache *s, struct slab *slab, void *obj,
		       unsigned long caller);
void debug_check_slab(struct kmem_cache *s, struct slab *slab, int *bad);
void debug_report_leaks(struct kmem_cache *s, unsigned long caller);
void debug_trace(struct kmem_cache *s, const char *op, void *obj,
		 unsigned long caller);
void slab_report(struct kmem_cache *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * struct slab_report_defer - reports made under a cache lock, printed
 * after it (debug.c: no dladdr() with a lock held).  On the stack of the
 * path that takes the lock; slab_report_defer_begin() before the lock,
 * slab_report_defer_end() after it.
 */
struct slab_report_defer {
	char *buf;		/* inline_buf or a mapping */
	size_t len;		/* bytes collected */
	size_t cap;		/* room in buf */
	bool nested;		/* inside another deferral: it prints */
	bool direct;		/* overflowed: printing as it comes */
	char inline_buf[256];
};

void slab_report_defer_begin(struct slab_report_defer *d);
void slab_report_defer_end(struct slab_report_defer *d);
void slab_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- rcu.c: RCU-deferred frees --------------------------------------- */

void slab_rcu_free_slab(struct kmem_cache *s, struct slab *slab);
void slab_rcu_barrier(void);
void slab_rcu_call_barrier(void);
void slab_rcu_set_kfree(void (*fn)(const void *obj));
void slab_rcu_fork_prepare(void);
void slab_rcu_fork_parent(void);
void slab_rcu_fork_child(void);
bool slab_rcu_grace_period_lost(void);
bool slab_rcu_in_grace_period(void);
extern bool kmem_urcu_fork_hooks;

/* ---- slab_common.c --------------------------------------------------- */

void slab_init(const char *debug, bool merge, bool magazines);
struct kmem_cache *slab_create_boot(struct kmem_cache *s, const char *name,
				    unsigned int size, unsigned int align,
				    slab_flags_t flags);
void slab_boot_no_magazines(struct kmem_cache *s);
void slab_fork_prepare(void);
void slab_fork_parent(void);
void slab_fork_child(void);
void slab_republish_locked(void);
void slab_shrink_all(void);
void slab_invalid_free(struct kmem_cache *s, const void *obj,
		       const char *func, const char *why)
	__attribute__((noreturn, cold));
extern struct kmem_cache *kmem_cache_by_id[KMEM_STATS_MAX_CACHES];
void slab_double_free(struct kmem_cache *s, const void *obj, const char *func)
	__attribute__((noreturn, cold));

/* ---- inline helpers -------------------------------------------------- */

static __always_inline struct slab *obj_to_slab(const struct kmem_cache *s,
						const void *obj)
{
	return (struct slab *)((unsigned long)obj &
			       ~((PAGE_SIZE << s->order) - 1));
}

/* Slot index of @slot (a slot start) in its slab, by reciprocal multiply. */
static __always_inline unsigned int slab_slot_index(const struct kmem_cache *s,
						    unsigned long off)
{
	return (unsigned int)(((uint64_t)off * s->reciprocal) >> 32);
}

static __always_inline char *slab_slot(const struct kmem_cache *s,
				       const struct slab *slab, unsigned int i)
{
	return slab->s_mem + (size_t)i * s->size;
}

/*
 * The free marker: a word of a free object's slot that holds the object's
 * address keyed with a per-process secret, written by the free fast path
 * and cleared by every allocation.  A free that finds it is a double
 * free, caught at the call before the object can be handed out twice.
 * Every cache without debugging marks (CF_MARKS); where depends on what
 * the free object's bytes must keep (s->marker_off):
 *  - the second word (offset 8, CF_MARK_FREE), objects of 16 bytes or
 *    more: not the first, which programs write last (reading it over a
 *    fresh narrower store stalls store forwarding);
 *  - the only word (offset 0, CF_MARK_AT), objects of 8 to 15 bytes
 *    (kmalloc-8);
 *  - a word of its own after the object (CF_MARK_AT | CF_MARK_OUTSIDE,
 *    offset ALIGN(object_size, 8), reserved in the slot) for caches with
 *    a constructor, whose free objects keep their constructed state, and
 *    SLAB_TYPESAFE_BY_RCU caches, whose free objects RCU readers may
 *    still read.  The program never writes there, so it cannot imitate
 *    the marker.
 * The common case keeps its constant offset and its single flag test:
 * the rarer modes read the flags again (READ_ONCE, though they never
 * change) so that the compiler keeps that test a compare with memory
 * rather than loading the flags into a register first (one instruction
 * per call on the fast paths).
 * The page descriptor tells free() which word of the object it is
 * (PGF_slab_marks, PGF_slab_marks0) without loading the cache.
 */
#define FREE_MARKER_OFFSET 8
BUILD_BUG_ON(FREE_MARKER_OFFSET != sizeof(unsigned long));	/* word 1 */

/* Where @obj's marker lives (@s marks). */
static __always_inline unsigned long *free_marker_of(const struct kmem_cache *s,
						     void *obj)
{
	return (unsigned long *)((char *)obj + s->marker_off);
}

static __always_inline unsigned long free_marker(const void *obj)
{
	return kmem_free_secret ^ (unsigned long)obj;
}

/* An object is handed out: it is no longer marked free. */
static __always_inline void slab_clear_marker(const struct kmem_cache *s,
					      void *obj)
{
	if (likely(s->cflags & CF_MARK_FREE))
		((unsigned long *)obj)[1] = 0;
	else if (READ_ONCE(s->cflags) & CF_MARK_AT)	/* see below */
		*(unsigned long *)((char *)obj + s->marker_off) = 0;
}

/*
 * slab_obj_check - is @obj a slot start of a slab of @s?
 * @page: the descriptor of the page holding @obj (PG_slab)
 *
 * off must be below the slab's span and a multiple of the slot size.  The
 * multiple test is Lemire's: with M = ceil(2^64 / size), off is a
 * multiple of size iff off * M (mod 2^64) < M, for off below 2^32.
 *
 * Return: true if it is; false for the middle of an object or past the
 * last slot.  Cost: a subtraction, a multiply, two compares.
 */
static __always_inline bool slab_obj_check(const struct kmem_cache *s,
					   const struct page *page,
					   const void *obj)
{
	uint64_t off = (unsigned long)obj - (unsigned long)page->first_obj;

	(void)s;
	return off < page->obj_span &&
	       off * page->obj_divisor < page->obj_divisor;
}

/* The caller's slot for cache @s (NULL if it has none yet). */
static __always_inline struct magazine_slot *
slot_lookup(struct slab_thread *st, unsigned int id)
{
	struct slab_ext *ext;

	if (likely(id < KMEM_SLOTS_INLINE))
		return &st->slots[id];
	/* Other threads read it too: see slot_get(), slab_thread_exit(). */
	ext = __atomic_load_n(&st->ext[id / KMEM_SLOTS_INLINE], __ATOMIC_ACQUIRE);
	return ext ? &ext->slots[id % KMEM_SLOTS_INLINE] : NULL;
}

/*
 * Counting without counters: frees only push the previous magazine, and
 * allocations pop the loaded one or, counted in reused, the previous one,
 * so a slot's counts are its retired totals plus how far the current
 * magazines have moved since they were put in (see struct
 * kmem_stats_slot).  Every change of magazine goes through these helpers;
 * the slow paths then publish the slot whole.
 */
static inline void slot_set_loaded(struct magazine_slot *c, void **m,
				  unsigned int n)
{
	c->allocs += (uint64_t)(c->loaded_start - c->rounds);
	c->loaded = m;
	c->rounds = n;
	c->loaded_start = (uint16_t)n;
}

static inline void slot_set_previous(struct magazine_slot *c, void **m,
				    unsigned int n)
{
	c->frees += (uint16_t)(c->prev_rounds - c->prev_start + c->reused);
	c->allocs += c->reused;
	c->previous = m;
	c->prev_word = n;		/* prev_rounds n, reused 0 */
	c->prev_start = (uint16_t)n;
}

/* The slot's published copy (struct kmem_stats_slot). */
static __always_inline struct kmem_stats_slot *slot_pub(struct magazine_slot *c)
{
	return (struct kmem_stats_slot *)kmem_pub((char *)c);
}

/*
 * Publish @c's figures whole as @home's (every figure but the magazines):
 * @home is @c itself, or for a CPU slot taken out (percpu_take()) the
 * slot in the CPU block whose copy @c is.
 */
static inline void slot_publish_as(struct magazine_slot *home,
				   const struct magazine_slot *c)
{
	struct kmem_stats_slot *p = slot_pub(home);

	p->rounds = c->rounds;
	p->prev_word = c->prev_word;
	p->magsize = c->magsize;
	p->cache_id = c->cache_id;
	p->loaded_start = c->loaded_start;
	p->prev_start = c->prev_start;
	p->allocs = c->allocs;
	p->frees = c->frees;
}

/* Publish a slot whole: every figure but the magazines. */
static inline void slot_publish(struct magazine_slot *c)
{
	slot_publish_as(c, c);
}

/*
 * A slot's live counts.  Statistics read other threads' slots while their
 * owners move them on the fast paths without a lock: each field may be
 * slightly stale, and the sum off by the objects moved meanwhile.
 */
static inline uint64_t slot_allocs(const struct magazine_slot *c)
{
	return data_race(c->allocs) +
	       (uint16_t)(data_race(c->loaded_start) - data_race(c->rounds)) +
	       data_race(c->reused);
}

static inline uint64_t slot_frees(const struct magazine_slot *c)
{
	return data_race(c->frees) +
	       (uint16_t)(data_race(c->prev_rounds) - data_race(c->prev_start) +
			  data_race(c->reused));
}

/*
 * The calling thread's slot for @s, or an empty one (see slab_thread).
 * The fast paths of kmalloc() and malloc() run before kmem_init(), so a
 * thread's first call may read a built-in cache's slot_off while the
 * thread that won the start-up writes it (slab_common.c): on purpose.  A
 * thread not yet set up points at slab_thread_none, empty at every
 * offset, so whichever value it reads it misses and starts kmem the slow
 * way (test_stress's test_first_use_from_threads).
 */
static __always_inline struct magazine_slot *slot_fast(const struct kmem_cache *s)
{
	return (struct magazine_slot *)((char *)kmem_tls_slab +
					data_race_fast(s->slot_off));
}

/*
 * Per-CPU mode (Documentation/slab.md, "Per-CPU magazines").  Where the
 * kernel and glibc support restartable sequences (core/cpu.c), the
 * magazine slots belong to CPUs, not threads: slab_cpu_table[cpu] is the
 * CPU's block, laid out as a thread's (struct slab_thread), and a thread
 * pops and pushes the slots of the CPU it runs on.  Each pop and push is
 * one rseq critical section whose commit is the store of the new round
 * count; preemption, migration or a signal before it restarts the section
 * on whatever CPU the thread then runs on.  So an object freed on a CPU
 * is next handed out on that CPU, whose cache holds its line.
 *
 * The slow paths take a slot out of its CPU block by storing SLOT_BUSY
 * over its two counts (with cmpxchg, in a section): every fast path on
 * that CPU then finds the loaded magazine empty and the previous one full
 * and goes slow, and the slow path that took the slot works on it alone,
 * from any CPU, until it puts it back (slab/magazine.c).
 *
 * slab_percpu is chosen once, at start-up; caches with ids of
 * KMEM_SLOTS_INLINE and more keep per-thread slots in both modes.
 * slab_tls_cpu_bias, 0 outside tests, moves a thread to the blocks of
 * other (simulated) CPUs: test_slab's 64-CPU case (slab_set_cpu_bias()).
 *
 * The fast paths do not look the block up in slab_cpu_table: each thread
 * keeps the CPU it last ran a slow path on and that CPU's block
 * (slab_tls_cpu), and a section uses the block only when the CPU id the
 * kernel gives it is that CPU; otherwise it goes slow, and the slow path
 * refreshes the hint (percpu_take()).  So the CPU id feeds only a
 * compare the processor predicts, and the loads that find the object
 * start from the thread's own TLS as the per-thread mode's do.  The hint
 * is only this thread's, and a signal handler that refreshes it between
 * the two stores leaves it consistent (slab_cpu_hint_set()).
 *
 * A block serves one thread at a time, its owner: the sections also
 * compare the block's owner with the tag in the thread's hint, and a
 * thread that is not the owner goes slow, where percpu_own() gives it
 * the block or slots of its own (Documentation/slab.md, "Owners").
 */
#define SLAB_CPU_NONE	0xfffffff0U	/* no rseq CPU id (those end -1, -2) */

struct slab_cpu_hint {
	struct slab_thread *block;	/* slab_cpu_table[cpu + bias] */
	unsigned int cpu;		/* rseq CPU id, or SLAB_CPU_NONE */
	unsigned int tag;		/* this thread's, as block->owner */
	bool own;			/* uses its own slots (percpu_own()),
					 * here so that the mode test and the
					 * hint share one TLS address */
	bool gone;			/* past its exit hook: owns no block */
	bool is_main;			/* own as the main thread */
};

#define SLOT_BUSY	0xffffffffU	/* prev_rounds of a slot taken out */
#define SLOT_REMOTE	0xfffffffeU	/* ... taken out from another CPU */
#define SLOT_REMOTE_ROUNDS 0x80000000U	/* its rounds: no pop, none late */
#define SLOT_BUSY_WORD	((uint64_t)SLOT_BUSY << 32)
#define SLOT_REMOTE_WORD ((uint64_t)SLOT_REMOTE << 32 | SLOT_REMOTE_ROUNDS)

/*
 * Is the counts word @w (prev_rounds:rounds) of a slot taken out?  Also
 * while a remote taker waits for its fence (percpu_take_remote()): a late
 * push may have replaced SLOT_REMOTE, but the rounds still say so.
 */
static inline bool slot_word_out(uint64_t w)
{
	return (uint32_t)(w >> 32) >= SLOT_REMOTE || (int32_t)w < 0;
}
BUILD_BUG_ON(offsetof(struct magazine_slot, loaded) != 0);
BUILD_BUG_ON(offsetof(struct magazine_slot, previous) != 8);
BUILD_BUG_ON(offsetof(struct magazine_slot, rounds) != 16);
BUILD_BUG_ON(offsetof(struct magazine_slot, prev_rounds) != 20);
BUILD_BUG_ON(offsetof(struct magazine_slot, magsize) != 24);

extern bool slab_percpu;
extern struct slab_thread *slab_cpu_table[KMEM_MAX_CPUS];
extern __thread unsigned int slab_tls_cpu_bias __tls_ie;
extern __thread struct slab_cpu_hint slab_tls_cpu __tls_ie;
void slab_set_cpu_bias(unsigned int bias);

/*
 * ThreadSanitizer models C11 atomics and locks, not rseq: that a section
 * runs alone on its CPU is the kernel's doing.  So the per-CPU paths
 * tell it what they order: a free releases the object before pushing it,
 * and whoever takes an object out of a magazine (a pop, a slow path, a
 * flush to the slabs) acquires it.  Nothing in other builds.
 */
static __always_inline void slab_tsan_acquire(void *obj)
{
#if defined(__SANITIZE_THREAD__)
	if (slab_percpu && obj)
		__tsan_acquire(obj);
#else
	(void)obj;
#endif
}

#if defined(__x86_64__)
/*
 * The descriptor of a critical section from 1: to 2: (the commit is the
 * instruction just before 2:), aborting to 4:, which is preceded by the
 * signature glibc registered and restarts at 0:, which points the
 * thread's rseq area at the descriptor again (the kernel clears it on
 * abort).
 */
#define RSEQ_SECTION_BEGIN(scratch)					\
	".pushsection __rseq_cs, \"aw\"\n\t"				\
	".balign 32\n"							\
	"3:\n\t"							\
	".long 0, 0\n\t"						\
	".quad 1f, 2f - 1f, 4f\n\t"					\
	".popsection\n"							\
	"0:\n\t"							\
	"leaq 3b(%%rip), %[" #scratch "]\n\t"				\
	"movq %[" #scratch "], %%fs:8(%[ro])\n"				\
	"1:\n\t"
#define RSEQ_SECTION_END						\
	"2:\n\t"							\
	".pushsection __rseq_failure, \"ax\"\n\t"			\
	".long %c[sig]\n"						\
	"4:\n\t"							\
	"jmp 0b\n\t"							\
	".popsection\n"

/*
 * Pop an object from the current CPU's slot at @off: the one freed last,
 * from the previous magazine, while it holds one and the slot has a
 * loaded magazine (the prev word moves by 0xffff: prev_rounds down one,
 * reused up one), else the last of the loaded magazine.  Each way commits
 * one count, the prev word or rounds, through the address in f.  A slot
 * taken out reads as empty (a negative prev word: SLOT_BUSY or
 * SLOT_REMOTE, and rounds 0 or negative: SLOT_REMOTE_ROUNDS) and full;
 * reused at 0x8000 makes the word negative too, and the slow path retires
 * it.  What a section that read its count before a remote taker's
 * exchange commits after it, the taker finds in the word
 * (percpu_take_remote()).  A CPU id other than the thread's hint (a
 * migration, or a thread the kernel has no rseq area for) takes the slow
 * path.
 */
static __always_inline void *percpu_pop(unsigned long off)
{
	struct slab_cpu_hint hint = slab_tls_cpu;
	unsigned long n, i;
	void *obj, *f;

	asm volatile goto(RSEQ_SECTION_BEGIN(n)
		 "movl %%fs:4(%[ro]), %k[n]\n\t"
		 "cmpl %k[hcpu], %k[n]\n\t"
		 "jne %l[empty]\n\t"
		 "cmpl %k[htag], %c[own](%[blk])\n\t"
		 "jne %l[empty]\n\t"
		 "movl 20(%[blk], %[off]), %k[n]\n\t"
		 "testl %k[n], %k[n]\n\t"
		 "js %l[empty]\n\t"
		 "testw %w[n], %w[n]\n\t"
		 "jz 5f\n\t"
		 "cmpq $0, (%[blk], %[off])\n\t"
		 "je 5f\n\t"
		 "addl $0xffff, %k[n]\n\t"
		 "movzwl %w[n], %k[i]\n\t"
		 "movq 8(%[blk], %[off]), %[obj]\n\t"
		 "leaq 20(%[blk], %[off]), %[f]\n\t"
		 "jmp 6f\n"
		 "5:\n\t"
		 "movl 16(%[blk], %[off]), %k[n]\n\t"
		 "testl %k[n], %k[n]\n\t"
		 "jle %l[empty]\n\t"
		 "subl $1, %k[n]\n\t"
		 "movl %k[n], %k[i]\n\t"
		 "movq (%[blk], %[off]), %[obj]\n\t"
		 "leaq 16(%[blk], %[off]), %[f]\n"
		 "6:\n\t"
		 "movq (%[obj], %[i], 8), %[obj]\n\t"
		 "movl %k[n], %c[pub](%[f])\n\t"
		 "movl %k[n], (%[f])\n"
		 RSEQ_SECTION_END
		 : [n] "=&r"(n), [i] "=&r"(i), [obj] "=&r"(obj), [f] "=&r"(f)
		 : [ro] "r"(kmem_rseq_offset_fast()), [hcpu] "r"(hint.cpu),
		   [htag] "r"(hint.tag), [blk] "r"(hint.block), [off] "r"(off),
		   [own] "i"(offsetof(struct slab_thread, owner)),
		   [pub] "i"(KMEM_PUB_DISPLACEMENT),
		   [sig] "i"(KMEM_RSEQ_SIG)
		 : "memory", "cc"
		 : empty);
	slab_tsan_acquire(obj);		/* its free, on another thread */
#if defined(__SANITIZE_THREAD__)
	/* A slow path filled the magazine: percpu_put()'s release. */
	__tsan_acquire((char *)hint.block + off + 16);
#endif
	return obj;
empty:
	return NULL;
}

/*
 * Push @obj into the current CPU's previous magazine at @off, if not full:
 * the whole prev word is committed, reused kept.
 */
static __always_inline bool percpu_push(unsigned long off, void *obj)
{
	struct slab_cpu_hint hint = slab_tls_cpu;
	unsigned long a, t, i;

#if defined(__SANITIZE_THREAD__)
	__tsan_release(obj);
#endif
	asm volatile goto(RSEQ_SECTION_BEGIN(a)
		 "movl %%fs:4(%[ro]), %k[a]\n\t"
		 "cmpl %k[hcpu], %k[a]\n\t"
		 "jne %l[full]\n\t"
		 "cmpl %k[htag], %c[own](%[blk])\n\t"
		 "jne %l[full]\n\t"
		 "movl 20(%[blk], %[off]), %k[a]\n\t"
		 "movzwl %w[a], %k[i]\n\t"
		 "movzwl 24(%[blk], %[off]), %k[t]\n\t"
		 "cmpl %k[t], %k[i]\n\t"
		 "jae %l[full]\n\t"
		 "movq 8(%[blk], %[off]), %[t]\n\t"
		 "movq %[obj], (%[t], %[i], 8)\n\t"
		 "addl $1, %k[a]\n\t"
		 "movl %k[a], %c[pub](%[blk], %[off])\n\t"
		 "movl %k[a], 20(%[blk], %[off])\n"
		 RSEQ_SECTION_END
		 : [a] "=&r"(a), [t] "=&r"(t), [i] "=&r"(i)
		 : [ro] "r"(kmem_rseq_offset_fast()), [hcpu] "r"(hint.cpu),
		   [htag] "r"(hint.tag), [blk] "r"(hint.block), [off] "r"(off),
		   [obj] "r"(obj), [own] "i"(offsetof(struct slab_thread, owner)),
		   [pub] "i"(KMEM_PUB_DISPLACEMENT + 20),
		   [sig] "i"(KMEM_RSEQ_SIG)
		 : "memory", "cc"
		 : full);
	return true;
full:
	return false;
}
#else
#define percpu_pop(off)		((void)(off), (void *)NULL)
#define percpu_push(off, obj)	((void)(off), (void)(obj), false)
#endif

/*
 * The mode test on the fast paths: whether this thread uses its own
 * slots in the per-CPU mode (percpu_own(), and the main thread:
 * slab_thread_attach()), and a flag set at start-up.  The thread's flag
 * first: the main thread, the only one of most processes, decides with
 * one load.
 */
static __always_inline bool slab_percpu_mode(void)
{
	return !slab_tls_cpu.own && data_race_fast(slab_percpu);
}

/*
 * Free @obj into the current CPU's slot at @off, the free marker @m
 * (NULL: the cache keeps none) checked and written first: once pushed,
 * another thread on this CPU may pop it.  A full magazine (or a slot
 * taken out) leaves the marker as it came when @func is NULL (the slow
 * path starts over), written otherwise (the slow path expects it), as
 * __slab_free_fast() does.
 */
static __always_inline bool percpu_free(struct kmem_cache *s,
					unsigned long off, unsigned long *m,
					void *obj, const char *func)
{
	unsigned long old = 0;

	if (m) {
		old = *m;
		if (unlikely(old == free_marker(obj))) {
			if (!func)
				return false;
			slab_double_free(s, obj, func);
		}
		*m = free_marker(obj);
	}
	if (likely(percpu_push(off, obj)))
		return true;
	if (m && !func)
		*m = old;
	return false;
}

/*
 * magazine_pop - take the last object of the calling thread's loaded
 * magazine for @s, free marker untouched (the callers clear it where
 * their cache keeps it: slab_alloc_fast(), malloc_alloc_fast())
 *
 * Return: the object, or NULL when the magazine is empty.
 */
static __always_inline void *magazine_pop(struct kmem_cache *s)
{
	struct magazine_slot *c;
	unsigned int n;
	uint32_t w;
	void *obj;

	if (slab_percpu_mode())
		return percpu_pop(data_race_fast(s->slot_off));
	c = slot_fast(s);
	w = c->prev_word;
	if ((uint16_t)w && c->loaded) {
		/* The last free first: prev_rounds down one, reused up one. */
		if (unlikely((int32_t)w < 0))
			return NULL;	/* reused full: the slow path retires it */
		w += 0xffff;
		c->prev_word = w;
		slot_pub(c)->prev_word = w;
		obj = c->previous[(uint16_t)w];
	} else {
		if (unlikely(!c->rounds))
			return NULL;
		n = c->rounds - 1;
		c->rounds = n;
		slot_pub(c)->rounds = n;
		obj = c->loaded[n];
	}
	if (!obj)
		__builtin_unreachable();	/* magazines hold objects */
	/*
	 * A thread with its own slots in the per-CPU mode pops what a CPU's
	 * magazine held (handed on through the depot by a third thread):
	 * its free, on another thread, released it (percpu_push()).
	 */
	slab_tsan_acquire(obj);
	return obj;
}

/*
 * magazine_push - put @obj on top of @c's previous magazine (not full),
 * whose prev word was @w: stored whole, as the pop loads it
 */
static __always_inline void magazine_push(struct magazine_slot *c,
					  uint32_t w, void *obj)
{
	c->previous[(uint16_t)w] = obj;
	c->prev_word = w + 1;
	slot_pub(c)->prev_word = w + 1;
}

/*
 * slab_kfence_alloc - kfence_alloc() for an object of @s (NULL: none)
 *
 * KFENCE sits below slab/ and knows no struct kmem_cache: the root cache
 * (compared at free), its name and its constructor are passed.  A cache
 * whose freed objects are read under RCU, or that KMEM_DEBUG debugs, is
 * not guarded (counted as incompatible).
 */
static inline void *slab_kfence_alloc(struct kmem_cache *s, size_t size,
				      size_t align, gfp_t gfp,
				      unsigned long caller)
{
	if (!s)
		return kfence_alloc(NULL, NULL, NULL, size, align, gfp, caller);
	if ((s->root->flags & SLAB_TYPESAFE_BY_RCU) ||
	    (s->root->cflags & CF_DEBUG))
		return kfence_unfit();
	return kfence_alloc(s->root, s->name, s->ctor, size, align, gfp,
			    caller);
}

/*
 * The two magazines of a thread slot: frees push into the previous one;
 * allocations pop the object freed last from it while it has one (and
 * the slot has a loaded magazine: not a thread's first allocation after
 * only freeing, magazine_alloc() says why), else from the loaded one; the
 * slow paths swap them when one side runs out.  So a program that frees
 * and allocates in turn reuses the block whose lines are warmest, and
 * touches one block where it walked through a magazine's worth (up to 128
 * KiB per class and CPU: peak RSS).  The counts stay without a separate
 * increment: the pops from the previous magazine are its reused half
 * word (struct kmem_stats_slot).  (With allocations from the loaded
 * magazine alone, so that they did not wait for the last free's store,
 * malloc_bench pairs-64 ran 16 % and pairs-1024 60 % slower:
 * Documentation/performance.md, "The object freed last goes out first".)
 *
 * slab_alloc_fast - pop an object from the calling thread's magazine
 *
 * Return: the object, or NULL when the slow path must run.
 */
static __always_inline void *slab_alloc_fast(struct kmem_cache *s)
{
	void *obj = magazine_pop(s);

	if (unlikely(!obj))
		return NULL;
	slab_clear_marker(s, obj);
	return obj;
}

/*
 * slab_mark_free - check and set the free marker @m of @obj, being freed
 *
 * A marker already there is a double free: reported at once when @func
 * names the API function, else false (the slow path looks again, with
 * its name).  A full magazine with no @func also returns false before
 * the marker is written, so that the slow path starts over.
 *
 * Return: true if the object is now marked and may be pushed.
 */
static __always_inline bool slab_mark_free(struct kmem_cache *s,
					   unsigned long *m, void *obj,
					   bool full, const char *func)
{
	if (unlikely(*m == free_marker(obj))) {
		if (!func)
			return false;
		slab_double_free(s, obj, func);
	}
	if (unlikely(full) && !func)
		return false;	/* unmarked: the slow path starts over */
	*m = free_marker(obj);
	return true;
}

/*
 * __slab_free_fast - push a checked object into a magazine slot
 * @c: the calling thread's slot for @s
 *
 * The object is known to be a slot of @s.  Caches that mark free objects
 * catch a double free here: the marker is the object's address keyed
 * with a per-process secret, so user data cannot imitate it by accident.
 * With @func NULL (the API's inlined fast paths) an object that is marked
 * already, or that finds the magazine full, is left as it came and false
 * returned: the caller's slow path looks at it again, with its name for
 * the report.  The fast path then calls nothing and needs no stack frame.
 *
 * (slab_free_page_fast() is the same push for free(), which knows the
 * page but not the cache.)
 *
 * Return: true if the object was taken.
 */
static __always_inline bool __slab_free_fast(struct kmem_cache *s,
					     struct magazine_slot *c,
					     void *obj, const char *func)
{
	uint32_t w = c->prev_word;
	bool full = (uint16_t)w >= c->magsize;

	if (likely(s->cflags & CF_MARK_FREE)) {
		if (!slab_mark_free(s, (unsigned long *)obj + 1, obj, full,
				    func))
			return false;
	} else if (READ_ONCE(s->cflags) & CF_MARK_AT) {	/* see below */
		if (!slab_mark_free(s, free_marker_of(s, obj), obj, full, func))
			return false;
	}
	if (unlikely(full))
		return false;
	magazine_push(c, w, obj);
	return true;
}

static __always_inline bool slab_free_fast(struct kmem_cache *s, void *obj,
					   const char *func)
{
	if (slab_percpu_mode()) {
		unsigned long *m = NULL;

		if (likely(s->cflags & CF_MARK_FREE))
			m = (unsigned long *)obj + 1;
		else if (READ_ONCE(s->cflags) & CF_MARK_AT)
			m = free_marker_of(s, obj);
		return percpu_free(s, data_race_fast(s->slot_off), m, obj,
				   func);
	}
	return __slab_free_fast(s, slot_fast(s), obj, func);
}

/*
 * slab_free_page_fast - free() without knowing the cache
 *
 * Everything comes from the page descriptor: the slot check, which word
 * of a free object holds the marker, and the magazine slot.  Caches whose
 * marker lies outside the object give their pages the slot that is
 * always full (struct slab_thread.none): their objects take the slow
 * path, which reads the marker's offset from the cache.  The cache itself is
 * not loaded, so the magazine push waits for one dependent load fewer.
 * (It is __slab_free_fast() with the page's flags where that reads the
 * cache's: two functions so that neither fast path loads the other's.)
 */
static __always_inline bool slab_free_page_fast(const struct page *page,
						void *obj, const char *func)
{
	struct magazine_slot *c;
	unsigned char flags;
	uint32_t w;
	bool full;

	/*
	 * One read of the flags, racy by design: the profiler sets and
	 * clears PGF_sampled (atomically) while other objects of the page
	 * are freed; an object that is itself sampled was flagged before it
	 * was handed out.  Either value read is handled.
	 */
	flags = __atomic_load_n(&page->flags, __ATOMIC_RELAXED);
	if (unlikely(!slab_obj_check(NULL, page, obj) ||
		     (flags & PGF_sampled)))
		return false;	/* the profiler's too: kmem_prof_free() */
	if (slab_percpu_mode()) {
		unsigned long *m = NULL;

		if (likely(flags & PGF_slab_marks))
			m = (unsigned long *)obj + 1;
		else if (flags & PGF_slab_marks0)
			m = obj;
		return percpu_free(page->slab_cache, page->slot * 16U, m, obj,
				   func);
	}
	c = (struct magazine_slot *)((char *)kmem_tls_slab + page->slot * 16U);
	w = c->prev_word;
	full = (uint16_t)w >= c->magsize;
	if (likely(flags & PGF_slab_marks)) {
		if (!slab_mark_free(page->slab_cache, (unsigned long *)obj + 1,
				    obj, full, func))
			return false;
	} else if (flags & PGF_slab_marks0) {
		if (!slab_mark_free(page->slab_cache, obj, obj, full, func))
			return false;
	}
	if (unlikely(full))
		return false;
	magazine_push(c, w, obj);
	return true;
}

#pragma GCC visibility pop

#endif /* KMEM_SLAB_SLAB_H */
