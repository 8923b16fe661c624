// SPDX-License-Identifier: MIT
/*
 * slab/magazine.c - per-thread magazines and the depot.  The fast paths
 * that pop and push are inline in slab.h; the API's entry points are
 * slab/cache.c's.
 *
 * Bonwick's magazine layer (and the kernel's sheaves): each thread holds,
 * per cache, a loaded and a previous magazine, stacks of object pointers
 * (struct magazine_slot, in the thread's block in the region's private twin).
 * The published region gets each slot's counts (struct kmem_stats_slot at
 * the same offset, kmem_pub()): the fast paths store the new round count
 * there, one plain store; the slow paths publish the slot whole.
 *
 *   alloc: pop from loaded.  free: push to previous.  No lock, no atomic.
 *
 * (Allocations and frees use different magazines so that they do not form
 * one dependency chain through memory; see slab_alloc_fast().)  When
 * loaded is empty (alloc) or previous is full (free), the slow path tries,
 * in order:
 *   1. swap loaded and previous, if the other one can serve (alloc: it
 *      holds objects; free: loaded has been emptied);
 *   2. exchange a magazine with the cache's depot under the cache lock: a
 *      full one for an empty one on alloc, the other way on free;
 *   3. alloc: fill the empty magazine from the slabs in one batch;
 *      free: no memory for an empty magazine: flush the full one back to
 *      the slabs;
 *   4. no magazine memory: fall back to the locked single-object path.
 *
 * The depot holds what the process freed and may allocate again.  Three
 * things bound it: a process-wide budget in bytes (KMEM_DEPOT_KB, all
 * depots' full magazines together; over it, a cache that pushes a full
 * magazine gives its oldest one's objects back to the slabs and reuses
 * that magazine, keeping at least DEPOT_MIN_FULL), the reaper's pass
 * returns what nobody took for the decay time, and before the page
 * allocator maps more memory it asks for the depots' contents back
 * (magazine_depot_reclaim(), the kernel's shrinkers).
 *
 * A free from another thread goes into the freeing thread's magazine; the
 * object finds its way home through the depot and the slabs.  A thread's
 * magazines go back to the depot (or the slabs) when it exits.  The depot
 * stamps full magazines as they go in; the reaper's pass returns those
 * nobody took for KMEM_DECAY_MS (the working-set trim of Bonwick's paper,
 * by age), so an idle process gives its cached objects back.
 *
 * A slot that made fewer calls than it holds objects between two looks
 * gives the surplus back to the slabs (percpu_gc(), thread_gc(): a look
 * every MAG_GC_EVERY slow paths of its CPU or thread), so a class the
 * program stopped using does not keep two full magazines.
 *
 * Magazines are objects of the kmem_magazine_N caches (N rounds), which
 * have no magazines themselves.  Magazine size scales with object size:
 * 128 rounds for small objects down to 4 for the largest.
 *
 * Lock order: the table in core/lock.h.  A magazine's own cache is
 * never locked under another cache's lock: magazines are allocated and
 * freed with no cache lock held.
 */
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "slab/slab.h"

/* Only read (its slots are empty): out of the written variables' way. */
struct slab_thread slab_thread_none __bss_first;
__thread struct slab_thread *kmem_tls_slab __tls_ie = &slab_thread_none;
unsigned long kmem_free_secret;

/*
 * Per-CPU mode (slab.h): the CPU blocks, made on a CPU's first slow call;
 * NULL for a CPU with none.  Zero, in .bss: a table of pointers to
 * slab_thread_none took 1024 relocations, whose 8 KiB the dynamic linker
 * wrote in every process at load (two page faults and two private pages
 * in /bin/true).
 */
bool slab_percpu;
struct slab_thread *slab_cpu_table[KMEM_MAX_CPUS] __bss_first;
__thread unsigned int slab_tls_cpu_bias __tls_ie;
__thread struct slab_cpu_hint slab_tls_cpu __tls_ie = { .cpu = SLAB_CPU_NONE };
/* Threads with slab_tls_cpu.own but the main one (slab_thread_attach()). */
static unsigned int slab_own_threads;
static bool slab_main_attached;	/* the main thread has attached once */

/*
 * Point the calling thread's hint at CPU @cpu (an rseq CPU id) and its
 * block @st.  A signal handler that runs a slow path between the stores
 * finds SLAB_CPU_NONE and sets a consistent hint of its own, which the
 * rest overwrites with another consistent one.
 */
static void slab_cpu_hint_set(unsigned int cpu, struct slab_thread *st)
{
	WRITE_ONCE(slab_tls_cpu.cpu, SLAB_CPU_NONE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	WRITE_ONCE(slab_tls_cpu.block, st);
	WRITE_ONCE(slab_tls_cpu.tag, (unsigned int)kmem_gettid());
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	WRITE_ONCE(slab_tls_cpu.cpu, cpu);
}

/*
 * slab_set_cpu_bias - make the calling thread use the blocks of CPU
 * index (its CPU + @bias): simulated CPUs, for tests only
 */
void slab_set_cpu_bias(unsigned int bias)
{
	WRITE_ONCE(slab_tls_cpu.cpu, SLAB_CPU_NONE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	slab_tls_cpu_bias = bias;
}

/*
 * A CPU's block: a unit of the region like a thread's, the slab part
 * only.  Its header's tid is the CPU's index in slab_cpu_table.
 */
struct slab_cpu {
	struct kmem_stats_thread unit;
	uint64_t seen;		/* cpu_activity() at the last reaper pass */
	struct slab_thread st __attribute__((aligned(64)));
};

#define NR_MAG_CACHES 6		/* 4, 8, 16, 32, 64, 128 rounds */

/* struct page.slot holds a slot's offset / 16 in one byte. */
BUILD_BUG_ON(sizeof(struct magazine_slot) % 16);
BUILD_BUG_ON(offsetof(struct slab_thread, none) / 16 > 255);
static struct kmem_cache magazine_caches[NR_MAG_CACHES];

static inline struct kmem_magazine *mag_of(void **rounds)
{
	return container_of(rounds, struct kmem_magazine, round[0]);
}

/**
 * magazine_size_for - rounds per magazine for objects of @size bytes
 *
 * About 128 KiB of objects per magazine, between 4 and 128 rounds: 128
 * rounds up to 1 KiB, 16 for 8 KiB, 8 for the largest malloc classes.
 * Each magazine change of a busy thread is a trip to the depot under the
 * cache lock; at 32 KiB, 4 KiB-16 KiB objects (4 rounds) went there every
 * 4 calls, 22% of rptest-1's time (performance.md, "Magazines of 128 KiB").
 * At 16 KiB, two threads sharing a 1 KiB class ran larson-2 20% slower.
 */
unsigned int magazine_size_for(unsigned int size)
{
	unsigned int r = 131072 / max(size, 1U);

	r = r ? 1U << ilog2_ul(r) : 1;
	return clamp(r, 4U, 128U);
}

/**
 * magazine_cache_for - the cache that holds magazines of @rounds
 * @rounds: a power of two, 4..128
 */
struct kmem_cache *magazine_cache_for(unsigned int rounds)
{
	return &magazine_caches[ilog2_ul(rounds) - 2];
}

/**
 * magazine_init - create the magazine caches, choose the mode
 * @magazines: KMEM_MAGAZINES
 *
 * Context: start-up, after the boot caches exist.
 */
void magazine_init(bool magazines)
{
	uint32_t mode = KMEM_STATS_MAGAZINES_NONE;

	/*
	 * The mode, once: per-CPU where rseq works (core/cpu.c), else
	 * per-thread.  x86-64 only: the critical sections are its assembly.
	 */
	if (magazines) {
		mode = KMEM_STATS_MAGAZINES_THREAD;
#if defined(__x86_64__)
		if (kmem_config.percpu && kmem_rseq_init()) {
			slab_percpu = true;
			mode = KMEM_STATS_MAGAZINES_CPU;
		}
#endif
	}
	kmem_region_set_magazine_mode(mode);
	for (unsigned int i = 0; i < NR_MAG_CACHES; i++) {
		unsigned int rounds = 4U << i;
		char name[32];

		kmem_snprintf(name, sizeof(name), "kmem_magazine_%u", rounds);
		slab_create_boot(&magazine_caches[i], name,
				 (unsigned int)(sizeof(struct kmem_magazine) +
						rounds * sizeof(void *)),
				 8, SLAB_NO_MERGE);
		slab_boot_no_magazines(&magazine_caches[i]);
	}
}

/*
 * Bytes of objects in every depot's full magazines, the figure
 * KMEM_DEPOT_KB bounds.  Each cache changes it under its own lock, so it
 * is atomic; it is read without a lock (a budget, not an invariant).
 */
static unsigned long depot_bytes;

static inline unsigned long mag_bytes(const struct kmem_cache *r)
{
	return (unsigned long)r->magsize * r->size;
}

static void depot_bytes_add(struct kmem_cache *r, long sign)
{
	__atomic_fetch_add(&depot_bytes, sign * (long)mag_bytes(r),
			   __ATOMIC_RELAXED);
}

/**
 * magazine_depot_bytes - bytes of objects held in all depots' full magazines
 *
 * Return: the sum (the figure KMEM_DEPOT_KB bounds).
 */
unsigned long magazine_depot_bytes(void)
{
	return __atomic_load_n(&depot_bytes, __ATOMIC_RELAXED);
}

/*
 * Would one more full magazine in @r's depot put the depots over their
 * budget?  A cache keeps DEPOT_MIN_FULL full magazines whatever the others
 * hold, so that objects still flow from a freeing thread to an allocating
 * one through the depot.  Called with @r's lock held.
 */
static bool depot_over_budget(struct kmem_cache *r)
{
	return r->depot_nr_full >= DEPOT_MIN_FULL &&
	       magazine_depot_bytes() + mag_bytes(r) > kmem_config.depot_bytes;
}

static struct kmem_magazine *mag_new(struct kmem_cache *r)
{
	return slab_alloc_single(magazine_cache_for(r->magsize),
				 GFP_KERNEL | __GFP_NOWARN, 0);
}

static void mag_delete(struct kmem_cache *r, struct kmem_magazine *m)
{
	slab_free_single(magazine_cache_for(r->magsize), m, 0);
}

static void depot_push_empty(struct kmem_cache *r, struct kmem_magazine *m)
{
	list_add(&m->list, &r->depot_empty);
	r->depot_nr_empty++;
}

static struct kmem_magazine *depot_pop_empty(struct kmem_cache *r)
{
	struct kmem_magazine *m;

	if (list_empty(&r->depot_empty))
		return NULL;
	m = list_first_entry(&r->depot_empty, struct kmem_magazine, list);
	list_del(&m->list);
	r->depot_nr_empty--;
	return m;
}

/*
 * Who fills and asks for full magazines: the thread, or in the per-CPU
 * mode the CPU it runs on (negative, apart from thread ids), so that the
 * depot's affinity keeps a CPU's objects on that CPU.  A full magazine
 * also names its filler, the thread that put it in, if that thread takes
 * full magazines back as well (slot_reuses()): in the per-CPU mode a
 * thread that moved to another CPU still writes the objects it freed.
 * A consumer's magazine, or one a flush put in (an exit, a shrink, a
 * CPU's drain), is nobody's: its objects are not coming back to it.
 */
#define DEPOT_NOBODY 0		/* no thread id is 0 */

/*
 * Threads that have exited.  A reusing filler's magazine that went in
 * before the latest exit may be an exited thread's, which will never take
 * it back: it is handed to anyone (depot_pop_full()).  One count for all
 * threads: a program whose threads come and go hands its magazines round
 * as before the surplus rule; one whose threads stay keeps the rule.
 */
static unsigned int depot_exits;

static int depot_owner(void)
{
	if (slab_percpu && !slab_tls_cpu.own)
		return -1 - (int)((unsigned int)kmem_cpu_current() +
				  slab_tls_cpu_bias);
	return kmem_gettid();
}

/*
 * Full magazines are stamped as they go in and stacked newest first, so
 * the ones nobody took for the decay time are a tail (magazine_depot_trim).
 * @reuses: the calling thread takes full magazines back (slot_reuses()),
 * so it is the filler; a flush's or a consumer's magazine is nobody's.
 *
 * Return: when this one expires if the depot was empty (the caller kicks
 * the reaper with it once the lock is dropped), else 0.
 */
static unsigned long depot_push_full(struct kmem_cache *r,
				     struct kmem_magazine *m, bool reuses)
{
	bool was_empty = list_empty(&r->depot_full);

	m->stamp = kmem_now_ms();
	m->owner = depot_owner();
	m->filler = reuses ? kmem_gettid() : DEPOT_NOBODY;
	m->exits = __atomic_load_n(&depot_exits, __ATOMIC_RELAXED);
	list_add(&m->list, &r->depot_full);
	WRITE_ONCE(r->depot_nr_full, r->depot_nr_full + 1);	/* read by reclaim */
	depot_bytes_add(r, 1);
	return was_empty ? m->stamp + kmem_config.decay_ms : 0;
}

/*
 * Affinity: a thread (per CPU: a CPU) that needs a full magazine takes
 * back one it filled itself if one is among the DEPOT_AFFINITY newest.
 * Its objects were last written by this thread (its frees wrote the free
 * marker in each), so handing them out costs no cross-core transfer; a
 * magazine filled on the other core costs one per object.  Failing that,
 * one the thread put in on another CPU, or nobody's, or one whose filler
 * may have exited since.
 *
 * Another's magazine, put in by a thread that reuses its own, is handed
 * over only from a surplus, when the depot holds DEPOT_SURPLUS full
 * magazines.  Two threads that each reuse their own objects put
 * magazines in and take them back one or two at a time, as their working
 * sets wander.  Handed one of the other's, a thread's objects come to
 * share cache lines with the other's for as long as both keep them (each
 * recycles its own from then on), and every write on either side moves a
 * line between the cores: in private-2 one magazine of 16-byte objects
 * handed across left 70-90 lines shared for good (performance.md,
 * "Issue 14: private-2: one magazine handed across").  A consumer's
 * magazines are nobody's, and flow on to the producer at once.
 *
 * Return: the magazine, or NULL: the caller fills one from the slabs.
 */
static struct kmem_magazine *depot_pop_full(struct kmem_cache *r)
{
	struct kmem_magazine *m, *pick = NULL, *mine = NULL;
	int me = depot_owner(), tid = kmem_gettid(), seen = 0;
	unsigned int exits = __atomic_load_n(&depot_exits, __ATOMIC_RELAXED);

	list_for_each_entry(m, &r->depot_full, list) {
		if (m->owner == me) {
			pick = m;
			break;
		}
		if (!mine && (m->filler == tid || m->filler == DEPOT_NOBODY ||
			      m->exits != exits))
			mine = m;
		if (++seen == DEPOT_AFFINITY)
			break;
	}
	if (!pick)
		pick = mine;
	if (!pick) {
		if (r->depot_nr_full < DEPOT_SURPLUS)
			return NULL;
		pick = list_first_entry(&r->depot_full, struct kmem_magazine,
					list);
	}
	list_del(&pick->list);
	WRITE_ONCE(r->depot_nr_full, r->depot_nr_full - 1);
	depot_bytes_add(r, -1);
	return pick;
}

/*
 * The depot is over its budget: its oldest full magazine (the coldest
 * objects, the tail) gives its objects back to their slabs, slabs that
 * become empty onto @to_free, and comes back empty for the caller to use.
 * Called with @r's lock held and at least one full magazine in the depot.
 */
static struct kmem_magazine *depot_evict_oldest(struct kmem_cache *r,
						struct list_head *to_free)
{
	struct kmem_magazine *m;

	m = list_last_entry(&r->depot_full, struct kmem_magazine, list);
	list_del(&m->list);
	WRITE_ONCE(r->depot_nr_full, r->depot_nr_full - 1);
	depot_bytes_add(r, -1);
	slab_put_objects(r, m->round, r->magsize, to_free);
	return m;
}

/* Publish extension unit @e of a thread, @ext: its header and offset. */
static void ext_publish(struct slab_thread *st, unsigned int e,
			struct slab_ext *ext)
{
	*(uint64_t *)kmem_pub(&st->ext[e]) =
		ext ? kmem_region_unit_offset(ext) : 0;
	if (ext)
		kmem_region_publish(ext, offsetof(struct slab_ext, slots));
}

/*
 * Give an unused slot its first magazine, an empty one for frees (a live
 * slot always has one).  Return: false if there is no memory for it.
 */
static bool slot_init_mags(struct kmem_cache *r, struct magazine_slot *c)
{
	struct kmem_magazine *m;

	kmem_mutex_lock(&r->lock);
	m = depot_pop_empty(r);
	kmem_mutex_unlock(&r->lock);
	if (!m)
		m = mag_new(r);
	if (!m)
		return false;
	memset(c, 0, sizeof(*c));
	c->previous = m->round;
	c->cache_id = (uint16_t)r->id;
	c->magsize = (uint16_t)r->magsize;
	return true;
}

/* The calling thread's slot for @s, set up on first use; NULL if none. */
static struct magazine_slot *slot_get(struct slab_thread *st,
				struct kmem_cache *r)
{
	struct magazine_slot *c = slot_lookup(st, r->id);

	if (unlikely(!c)) {
		unsigned int e = r->id / KMEM_SLOTS_INLINE;
		struct slab_ext *ext;

		ext = kmem_region_alloc(KMEM_UNIT_EXT, sizeof(*ext));
		if (!ext)
			return NULL;
		ext->tid = kmem_gettid();
		ext->first_id = e * KMEM_SLOTS_INLINE;
		/* Read by statistics readers and exits, under kmem_thread_lock. */
		__atomic_store_n(&st->ext[e], ext, __ATOMIC_RELEASE);
		ext_publish(st, e, ext);
		c = &ext->slots[r->id % KMEM_SLOTS_INLINE];
	}
	if (!c->magsize) {
		if (!slot_init_mags(r, c))
			return NULL;
		slot_publish(c);
	}
	return c;
}

/* The thread's slot when it may use magazines for @r; NULL otherwise. */
/*
 * A thread's first SLOT_WARMUP allocations from a cache with an inline
 * slot take the locked single-object path; the next one, or the thread's
 * first free to the cache, gives the slot its magazines.  (Frees do not
 * wait: a free that went to the slab would be handed straight back by
 * the next allocation, and the object may be another thread's, whose
 * cache line that thread may still be writing, the passive false
 * sharing magazine_alloc() avoids; and the free ends the thread's
 * warm-up for the cache: percpu_warm() says why.)  Magazines pay for
 * themselves over many calls; for a cache a thread calls a handful of
 * times (most of a small program's size classes) they are pages of
 * magazine slabs and a batch of objects taken out of the slab for
 * nothing: a small program's first allocations touched 5 pages of
 * magazines (performance.md, "Fixed footprint").  The count never goes back: a slot flushed later
 * (exit, shrink) loads magazines again at its next slow call.
 */
#define SLOT_WARMUP	16
BUILD_BUG_ON(SLOT_WARMUP > UINT8_MAX);

static struct magazine_slot *slow_slot(struct kmem_cache *r, bool alloc)
{
	struct slab_thread *st = kmem_tls_slab;

	if (!r->magsize)
		return NULL;
	if (st == &slab_thread_none && kmem_tls_state == KMEM_THREAD_NONE &&
	    kmem_thread_attach())
		st = kmem_tls_slab;
	if (st == &slab_thread_none)
		return NULL;
	if (!alloc && r->id < KMEM_SLOTS_INLINE)
		st->warm[r->id] = SLOT_WARMUP;	/* as percpu_warm() */
	else if (alloc && r->id < KMEM_SLOTS_INLINE &&
		 !st->slots[r->id].magsize && st->warm[r->id] < SLOT_WARMUP) {
		st->warm[r->id]++;
		return NULL;
	}
	return slot_get(st, r);
}

/* ---- Per-CPU slots (slab.h, "Per-CPU mode") --------------------------- */

static void slot_republish(struct magazine_slot *c);

/*
 * The block of CPU @cpu (an index of slab_cpu_table), made on first use.
 * Two threads may race to make it: one wins, the other frees its unit.
 * Return: the block, or NULL when the region is full.
 */
static struct slab_thread *cpu_block_get(unsigned int cpu)
{
	struct slab_thread *st = __atomic_load_n(&slab_cpu_table[cpu],
						 __ATOMIC_ACQUIRE);
	struct slab_thread *none = NULL;
	struct slab_cpu *b;

	if (st)
		return st;
	b = kmem_region_alloc(KMEM_UNIT_CPU, sizeof(*b));
	if (!b)
		return NULL;
	b->unit.tid = (int32_t)cpu;
	b->unit.state = KMEM_THREAD_LIVE;
	b->unit.slot_off = (uint32_t)offsetof(struct slab_cpu, st.slots);
	b->unit.nr_slots_inline = KMEM_SLOTS_INLINE;
	kmem_region_publish(&b->unit, sizeof(b->unit));
	if (!__atomic_compare_exchange_n(&slab_cpu_table[cpu], &none, &b->st,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		kmem_region_free(b);
		return none;
	}
	return &b->st;
}

static struct slab_cpu *cpu_of_block(struct slab_thread *st)
{
	return container_of(st, struct slab_cpu, st);
}

/*
 * for_each_cpu_block - every CPU block made so far: @cpu its index in
 * slab_cpu_table, @st the block (blocks are never freed: the loop needs
 * no lock).  Each entry is read with acquire, paired with the release of
 * cpu_block_get()'s cmpxchg, so that the block's making (the region's
 * memset, its header) happens before what the loop does to it: a thread
 * that exits just after another made a block disowned it with no order
 * between the two, and ThreadSanitizer said so (test_first_use_from_threads).
 */
#define for_each_cpu_block(cpu, st)					\
	for (unsigned int cpu = 0; cpu < KMEM_MAX_CPUS; cpu++)		\
		if (!((st) = __atomic_load_n(&slab_cpu_table[cpu],	\
					     __ATOMIC_ACQUIRE))) {	\
		} else

/* Give up every CPU block thread @tag owns (its exit, or own slots). */
static void percpu_disown(unsigned int tag)
{
	struct slab_thread *st;

	for_each_cpu_block(cpu, st) {
		unsigned int t = tag;

		__atomic_compare_exchange_n(&st->owner, &t, 0, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}

enum { TAKE_NO_BLOCK, TAKE_BUSY, TAKE_OK, TAKE_RACED, TAKE_NO_CPU };

#if defined(__x86_64__)
/*
 * In one critical section: find the current CPU's slot at @off and, unless
 * a slow path has it out already (SLOT_BUSY, or SLOT_REMOTE from another
 * CPU: slot_word_out()), replace its two counts with SLOT_BUSY (the
 * commit, a cmpxchg: a remote taker may have exchanged them meanwhile,
 * percpu_take_remote()).
 */
static unsigned int percpu_take_rseq(unsigned long off,
				     struct magazine_slot **slot,
				     uint64_t *word, unsigned int *cpu)
{
	struct slab_thread **tab = slab_cpu_table + slab_tls_cpu_bias;
	unsigned long c, t, res, id;
	uint64_t old;

	asm volatile(RSEQ_SECTION_BEGIN(c)
		     "movl $4, %k[res]\n\t"
		     "movl %%fs:4(%[ro]), %k[id]\n\t"
		     "cmpl %[max], %k[id]\n\t"
		     "jae 9f\n\t"
		     "movl $0, %k[res]\n\t"
		     "movq (%[tab], %[id], 8), %[c]\n\t"
		     "testq %[c], %[c]\n\t"
		     "jz 9f\n\t"
		     "addq %[off], %[c]\n\t"
		     "movl $1, %k[res]\n\t"
		     "movq 16(%[c]), %[old]\n\t"
		     "testl %k[old], %k[old]\n\t"
		     "js 9f\n\t"
		     "movq %[old], %[t]\n\t"
		     "shrq $32, %[t]\n\t"
		     "cmpl $-2, %k[t]\n\t"
		     "jae 9f\n\t"
		     "movl $2, %k[res]\n\t"
		     "lock cmpxchgq %[busy], 16(%[c])\n"
		     RSEQ_SECTION_END
		     "je 9f\n\t"
		     "movl $3, %k[res]\n"
		     "9:\n\t"
		     : [c] "=&r"(c), [t] "=&r"(t), [res] "=&r"(res),
		       [id] "=&r"(id), [old] "=&a"(old)
		     : [ro] "r"(kmem_rseq_offset), [tab] "r"(tab),
		       [off] "r"(off),
		       [busy] "r"(SLOT_BUSY_WORD), [max] "i"(KMEM_MAX_CPUS),
		       [sig] "i"(KMEM_RSEQ_SIG)
		     : "memory", "cc");
	*slot = (struct magazine_slot *)c;
	*word = old;
	*cpu = (unsigned int)id + slab_tls_cpu_bias;
	return (unsigned int)res;
}
#else
static unsigned int percpu_take_rseq(unsigned long off,
				     struct magazine_slot **slot,
				     uint64_t *word, unsigned int *cpu)
{
	BUG();	/* slab_percpu is never set */
}
#endif

/* Copy the taken slot @c, whose counts were @w, into @t. */
static void slot_copy_taken(struct magazine_slot *t,
			    const struct magazine_slot *c, uint64_t w)
{
	/* Pairs with percpu_put()'s release: the last owner's stores. */
	(void)__atomic_load_n((const uint64_t *)&c->rounds, __ATOMIC_ACQUIRE);
	t->loaded = c->loaded;
	t->previous = c->previous;
	t->rounds = (uint32_t)w;
	t->prev_word = (uint32_t)(w >> 32);
	t->magsize = c->magsize;
	t->cache_id = c->cache_id;
	t->loaded_start = c->loaded_start;
	t->prev_start = c->prev_start;
	t->allocs = c->allocs;
	t->frees = c->frees;
}

/*
 * percpu_take - take the current CPU's slot for @r out of its block
 * @t: set to a copy, which the caller works on alone, from any CPU
 *
 * A slot another slow path has out is most often held by a thread that
 * was preempted on this CPU in the middle of its slow path: with more
 * threads than CPUs (bench's xmalloc-4, 8 threads on 2 CPUs), 93 % of
 * the takes found the slot out, and every one of them took the locked
 * single-object path, whose mutex then held a third of the samples.
 * Yielding the CPU lets that thread run and put the slot back: the
 * caller yields up to TAKE_YIELDS times before it gives up.
 *
 * Return: the slot in the block, marked SLOT_BUSY until percpu_put(); or
 * NULL when another slow path still has it out, or no block can be had
 * (the caller uses the locked single-object path).
 */
#define TAKE_YIELDS	2

static bool percpu_own(struct slab_thread *st);
static void percpu_put(struct magazine_slot *c, const struct magazine_slot *t);

static struct magazine_slot *percpu_take(struct kmem_cache *r,
					 struct magazine_slot *t)
{
	struct magazine_slot *c;
	unsigned int res, cpu, yields = 0;
	uint64_t w;

	for (;;) {
		res = percpu_take_rseq(r->slot_off, &c, &w, &cpu);
		if (res == TAKE_OK)
			break;
		if (res == TAKE_BUSY && yields++ < TAKE_YIELDS) {
			sched_yield();
			continue;
		}
		if (res == TAKE_BUSY || res == TAKE_NO_CPU)
			return NULL;
		if (res == TAKE_NO_BLOCK && !cpu_block_get(cpu))
			return NULL;
	}
	/* The fast paths on this CPU use its block from now on. */
	slab_cpu_hint_set(cpu - slab_tls_cpu_bias,
			  (struct slab_thread *)((char *)c - r->slot_off));
	slot_copy_taken(t, c, w);
	if (!percpu_own((struct slab_thread *)((char *)c - r->slot_off))) {
		percpu_put(c, t);
		return NULL;
	}
	return c;
}

/*
 * percpu_own - may the calling thread use CPU block @st, whose slot it
 * has out?  A block serves one thread at a time: its owner.  Two threads
 * that take turns on one CPU would otherwise each pop what the other
 * freed, and once the scheduler puts them on two CPUs their live blocks
 * share cache lines for as long as they live (performance.md, "private-2's
 * shared lines are made at the start").  A thread that finds a block
 * another thread owns uses its own slots from then on, as in the
 * per-thread mode, while fewer than one such thread per CPU does so;
 * past that it takes the block over (the magazines' objects are then
 * shared, as before owners).
 *
 * A thread past its exit hook (slab_thread_exit(): its calls from a
 * later key's destructor or glibc's teardown) neither claims a block,
 * which would keep its dead tag there, nor switches, which would count
 * it in slab_own_threads for good: it takes the locked single-object
 * path.
 *
 * Return: true to use the block (now the caller's), false when the
 * caller has just switched to its own slots (slab_tls_cpu.own) or has
 * exited (slab_tls_cpu.gone).
 */
static bool percpu_own(struct slab_thread *st)
{
	unsigned int tag = slab_tls_cpu.tag, owner = READ_ONCE(st->owner);
	unsigned int n;

	if (unlikely(slab_tls_cpu.gone))
		return false;
	if (owner == tag)
		return true;
	if (owner) {
		n = __atomic_load_n(&slab_own_threads, __ATOMIC_RELAXED);
		while (n < (unsigned int)kmem_nr_cpu_ids) {
			if (__atomic_compare_exchange_n(&slab_own_threads, &n,
							n + 1, false,
							__ATOMIC_RELAXED,
							__ATOMIC_RELAXED)) {
				slab_tls_cpu.own = true;
				percpu_disown(tag);
				return false;
			}
		}
	}
	WRITE_ONCE(st->owner, tag);
	return true;
}

/*
 * percpu_put - put @t back as slot @c (taken by percpu_take() or
 * percpu_take_remote()): its figures published, the magazines stored,
 * and last the counts, which end SLOT_BUSY (a release: a fast path that
 * sees them sees the magazines).
 */
static void percpu_put(struct magazine_slot *c, const struct magazine_slot *t)
{
	c->loaded = t->loaded;
	c->previous = t->previous;
	c->magsize = t->magsize;
	c->cache_id = t->cache_id;
	c->loaded_start = t->loaded_start;
	c->prev_start = t->prev_start;
	c->allocs = t->allocs;
	c->frees = t->frees;
	slot_publish_as(c, t);
	__atomic_store_n((uint64_t *)&c->rounds,
			 (uint64_t)t->prev_word << 32 | t->rounds,
			 __ATOMIC_RELEASE);
}

/*
 * percpu_take_remote - take slot @off of CPU block @st out from another
 * CPU (draining a CPU, shrinking or destroying a cache)
 *
 * The counts word is exchanged for SLOT_REMOTE_WORD, which the fast paths
 * see as empty and full and local slow paths as taken.  A slot a local
 * slow path has out (SLOT_BUSY) is waited for: that slow path takes none
 * of the locks a remote taker may hold (slab_mutex, kmem_thread_lock)
 * and puts the slot back soon, over the exchanged value.
 *
 * A fast path on that CPU may have read its count before the exchange
 * and commit after it: a pop its rounds (then later pops see them and
 * go on popping), a push its prev_rounds (then later pushes go on).  One
 * section at most is under way on a CPU at the exchange, so one count
 * moves, and the other keeps its mark: SLOT_REMOTE_ROUNDS, which no pop
 * can leave (it never goes below 0), or SLOT_REMOTE.  After the fence,
 * which waits for every section then under way, the word is exchanged
 * again if it changed, and what moved is taken from it; then fenced
 * again, until the word is still the exchanged one.  Remote takers are
 * one at a time (slab_mutex), so SLOT_REMOTE is only ever the caller's.
 *
 * Context: slab_mutex held.
 */
static struct magazine_slot *percpu_take_remote(struct slab_thread *st,
						unsigned long off,
						struct magazine_slot *t)
{
	struct magazine_slot *c = (struct magazine_slot *)((char *)st + off);
	uint64_t *word = (uint64_t *)&c->rounds, w;
	uint32_t rounds, prev;

	lock_assert_held(&slab_mutex);
	for (;;) {
		w = __atomic_exchange_n(word, SLOT_REMOTE_WORD,
					__ATOMIC_ACQ_REL);
		if (!slot_word_out(w))
			break;
		while (slot_word_out(__atomic_load_n(word, __ATOMIC_ACQUIRE)))
			sched_yield();
	}
	rounds = (uint32_t)w;
	prev = (uint32_t)(w >> 32);
	for (;;) {
		if (!kmem_rseq_fence())
			kmem_panic("kmem: membarrier(MEMBARRIER_CMD_PRIVATE_"
				   "EXPEDITED_RSEQ) failed after it was "
				   "registered");
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == SLOT_REMOTE_WORD)
			break;
		w = __atomic_exchange_n(word, SLOT_REMOTE_WORD,
					__ATOMIC_ACQ_REL);
		if ((uint32_t)w != SLOT_REMOTE_ROUNDS)
			rounds = (uint32_t)w;		/* late pops */
		if ((uint32_t)(w >> 32) != SLOT_REMOTE)
			prev = (uint32_t)(w >> 32);	/* late pushes */
	}
	slot_copy_taken(t, c, (uint64_t)prev << 32 | rounds);
	return c;
}

/*
 * The per-CPU slow paths' warm-up, as slow_slot()'s: a thread's first
 * SLOT_WARMUP allocations from a cache whose slot on this CPU has no
 * magazines yet take the locked path.  A free that comes here ends the
 * thread's warm-up for the cache, on every CPU: the free gave this CPU's
 * slot its magazines, and the thread may be on another CPU at its next
 * allocation, where the locked path would hand it the lowest free object
 * of a slab, on the line of the object it freed, which another thread
 * may still be writing next to (test_remote_free_moved_not_handed_back).
 * Return: true to use the slot.
 */
static bool percpu_warm(struct kmem_cache *r, bool alloc)
{
	struct slab_thread *st = kmem_tls_slab, *cpu_st;
	int cpu;

	if (st == &slab_thread_none && kmem_tls_state == KMEM_THREAD_NONE &&
	    kmem_thread_attach())
		st = kmem_tls_slab;
	if (st == &slab_thread_none)
		return true;
	if (!alloc) {
		st->warm[r->id] = SLOT_WARMUP;
		return true;
	}
	if (st->warm[r->id] >= SLOT_WARMUP)
		return true;
	cpu = kmem_cpu_current();
	if (cpu < 0)
		return true;
	cpu_st = data_race(slab_cpu_table[(unsigned int)cpu + slab_tls_cpu_bias]);
	if (cpu_st && data_race(cpu_st->slots[r->id].magsize))
		return true;
	st->warm[r->id]++;
	return false;
}

/* Does @r use per-CPU slots?  (Ids past the inline ones keep threads'.) */
static inline bool percpu_cache(const struct kmem_cache *r)
{
	return slab_percpu && r->id < KMEM_SLOTS_INLINE;
}

/* ... for the calling thread's slow paths (not one with its own slots)? */
static inline bool percpu_here(const struct kmem_cache *r)
{
	return percpu_cache(r) && !slab_tls_cpu.own;
}

/*
 * Working-set trim of the slots (the kernel's cache_reap() of its per-CPU
 * arrays, jemalloc's tcache GC), counted in slow paths, not time, so
 * that it keeps pace with a busy program and costs an idle one nothing.
 * Every MAG_GC_EVERY slow paths on a block (a CPU's, or a thread's in
 * the per-thread mode), one of its inline slots is looked at, in turn: a
 * slot that made fewer calls since it was last looked at than it holds
 * objects keeps only as many as it made calls, and gives the rest back
 * to the slabs, the oldest first (the bottom of each stack: the free
 * side's, then the loaded one's).
 *
 * A program that walks a buffer up the size classes with realloc, or
 * allocates a burst of one size once, leaves magazines of free objects
 * in classes it no longer uses; before this, a CPU kept them while it
 * stayed online and a thread until it exited (perl: 1.4-3.4 MiB of 35 at
 * its peak, in the 0.5-4 KiB classes).  A class in steady use makes more
 * calls per interval than it holds objects and is left alone.
 */
#define MAG_GC_EVERY 16

/* Give the bottom @n of the @have objects of stack @m back to @r's slabs. */
static void stack_give_bottom(struct kmem_cache *r, void **m, unsigned int have,
			      unsigned int n, struct list_head *to_free)
{
	slab_put_objects(r, m, n, to_free);
	memmove(m, m + n, (have - n) * sizeof(void *));
}

/*
 * Look at slot @t of block @st (cache @id; owned by the caller): note its
 * calls, and give back what it holds beyond the calls it made since the
 * last look.  @r: its cache, alive, or NULL when the slot has none.
 * Return: true if it gave objects back (the slot changed).
 */
static bool slot_gc(struct slab_thread *st, unsigned int id,
		    struct kmem_cache *r, struct magazine_slot *t)
{
	uint32_t calls = (uint32_t)(slot_allocs(t) + slot_frees(t));
	unsigned int give, n;
	uint32_t since;
	LIST_HEAD(to_free);

	/*
	 * Exchanged, not read and then written: the first look at a block
	 * whose page of gc_calls nothing wrote yet would map the zero page
	 * and fault again at the store (performance.md, "Pages faulted
	 * twice"; the main thread's block: preload_refaults).  One in
	 * MAG_GC_EVERY slow paths.
	 */
	since = calls - __atomic_exchange_n(&st->gc_calls[id], calls,
					    __ATOMIC_RELAXED);
	if (!r || since >= t->rounds + t->prev_rounds)
		return false;
	give = t->rounds + t->prev_rounds - since;
	n = min(give, t->prev_rounds);
	kmem_mutex_lock(&r->lock);
	if (n) {
		stack_give_bottom(r, t->previous, t->prev_rounds, n, &to_free);
		slot_set_previous(t, t->previous, t->prev_rounds - n);
	}
	if (give > n) {
		stack_give_bottom(r, t->loaded, t->rounds, give - n, &to_free);
		slot_set_loaded(t, t->loaded, t->rounds - (give - n));
	}
	r->trimmed += give;
	cache_publish_locked(r);
	kmem_mutex_unlock(&r->lock);
	slab_release_list(r, &to_free);
	return true;
}

/* Count a slow path on block @st.  Return: the slot to look at, or -1. */
static int gc_tick(struct slab_thread *st)
{
	unsigned int id;

	if (__atomic_add_fetch(&st->gc_ticks, 1, __ATOMIC_RELAXED) %
	    MAG_GC_EVERY)
		return -1;
	id = __atomic_fetch_add(&st->gc_next, 1, __ATOMIC_RELAXED) %
	     KMEM_SLOTS_INLINE;
	return data_race(st->slots[id].magsize) ? (int)id : -1;
}

/*
 * percpu_gc - the per-CPU mode's trim, after a slow path on CPU block
 * @st: take the slot to look at on the CPU the caller runs on, as a
 * local slow path does (skipped if it is out)
 *
 * Context: a slow path, after it put its slot back; no lock held.
 */
static void percpu_gc(struct slab_thread *st)
{
	struct magazine_slot *c, t;
	unsigned int cpu;
	unsigned long off;
	struct kmem_cache *r;
	uint64_t w;
	int id = gc_tick(st);

	if (id < 0)
		return;
	off = offsetof(struct slab_thread, slots[id]);
	if (percpu_take_rseq(off, &c, &w, &cpu) != TAKE_OK)
		return;
	slot_copy_taken(&t, c, w);
	/* Alive while the slot is out: see magazine_cpu_drain(). */
	r = t.magsize && t.cache_id == (unsigned int)id ?
	    READ_ONCE(kmem_cache_by_id[id]) : NULL;
	(void)slot_gc((struct slab_thread *)((char *)c - off),
		      (unsigned int)id, r, &t);
	percpu_put(c, &t);
}

/*
 * thread_gc - the per-thread mode's trim, after a slow path of the
 * calling thread, whose block is @st
 *
 * Under kmem_thread_lock, as a thread's exit: a kmem_cache_destroy()
 * flushes every thread's slot under it before it frees the cache, so a
 * slot that still names its cache names a live one.  Tried, not waited
 * for: a slow path may run under that lock (a thread attaching).
 */
static void thread_gc(struct slab_thread *st)
{
	struct magazine_slot *c;
	struct kmem_cache *r;
	int id = gc_tick(st);

	if (id < 0 || !kmem_thread_trylock())
		return;
	c = &st->slots[id];
	r = c->magsize && c->cache_id == (unsigned int)id ?
	    READ_ONCE(kmem_cache_by_id[id]) : NULL;
	if (slot_gc(st, (unsigned int)id, r, c))
		slot_publish(c);
	kmem_thread_unlock();
}

/*
 * Does the slot of @r in block @st (NULL: an extension slot, not
 * followed) take full magazines from the depot, as well as put them in?
 * A slot that took one within its block's last DEPOT_REUSE slow paths
 * reuses its own objects: its magazines are kept for it
 * (depot_pop_full()).  One that only puts them in (a consumer's) hands
 * its objects on to anyone.
 */
static bool slot_reuses(struct slab_thread *st, const struct kmem_cache *r)
{
	uint32_t took;

	if (!st)
		return false;
	took = st->took[r->id];
	return took && (__atomic_load_n(&st->gc_ticks, __ATOMIC_RELAXED) | 1) -
		       took < DEPOT_REUSE;
}

static void slot_took(struct slab_thread *st, const struct kmem_cache *r)
{
	if (st)
		st->took[r->id] = __atomic_load_n(&st->gc_ticks,
						  __ATOMIC_RELAXED) | 1;
}

/*
 * The block whose inline slot of @r the slow path works on: @home's (a
 * CPU slot taken out), else the calling thread's; NULL for an extension
 * slot.
 */
static struct slab_thread *slot_block(const struct kmem_cache *r,
				      struct magazine_slot *home)
{
	if (r->id >= KMEM_SLOTS_INLINE)
		return NULL;
	if (home)
		return (struct slab_thread *)((char *)home - r->slot_off);
	return kmem_tls_slab;
}

/* Exchange the roles of a slot's two magazines. */
static void swap_mags(struct magazine_slot *c)
{
	void **m = c->loaded;
	unsigned int n = c->rounds;

	slot_set_loaded(c, c->previous, c->prev_rounds);
	slot_set_previous(c, m, n);
}

/* The cache line a CPU writes as a whole (x86-64, and aarch64's L1). */
#define LINE_BYTES	64

/*
 * rounds_in_address_order - order a magazine the slabs filled for popping
 * @round:  the objects as slab_take_objects() put them: slab by slab,
 *          each slab's in address order
 * @n:      how many (at most 128: magazine_size_for())
 * @stride: the distance between two objects of a slab (s->size)
 *
 * Pops take the last round first.  The objects go out lowest address
 * first, as from a new slab's free list in the kernel's SLUB: objects
 * allocated one after another lie one after another, going forwards, and
 * a program that frees or walks them in the order it allocated them reads
 * memory forwards, which the CPU's prefetchers follow (`malloc_bench
 * batch`, a million 64-byte blocks allocated, then freed in order, ran
 * 1.4x as fast as when they went out highest first: performance.md,
 * "Objects in address order").  Except: a run of objects that starts
 * inside a cache line shares that line with what lies below it, an object
 * another thread may own and write, or the slab's header, which every
 * take and put writes.  The objects starting on that line go out last,
 * so that a thread's first objects are not on a line another writes (the
 * passive false sharing test_remote_free_not_handed_back checks).  Full
 * magazines from the depot are what a thread freed, in the order it freed
 * them.
 */
static void rounds_in_address_order(void **round, unsigned int n,
				    unsigned int stride)
{
	void *first[128], *last[128];
	unsigned long shared = 0;	/* the line a run shares, or 0 */
	unsigned int nf = 0, nl = 0, i;

	VM_BUG_ON(n > 128);
	/* Mostly every run starts a line: then the order is the reverse. */
	for (i = 0; i < n; i++) {
		unsigned long a = (unsigned long)round[i];

		if ((!i || a != (unsigned long)round[i - 1] + stride) &&
		    a % LINE_BYTES)
			break;
	}
	if (i == n) {
		for (unsigned int j = n - 1, k = 0; k < j; k++, j--) {
			void *t = round[k];

			round[k] = round[j];
			round[j] = t;
		}
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned long a = (unsigned long)round[i];

		if (!i || a != (unsigned long)round[i - 1] + stride)
			shared = a % LINE_BYTES ? a & ~(LINE_BYTES - 1UL) : 0;
		if (shared && (a & ~(LINE_BYTES - 1UL)) == shared)
			last[nl++] = round[i];
		else
			first[nf++] = round[i];
	}
	for (i = 0; i < nf; i++)
		round[n - 1 - i] = first[i];
	for (i = 0; i < nl; i++)
		round[nl - 1 - i] = last[i];
}

/* slab_alloc_slow() with a slot: refill it, then allocate. */
static void *magazine_alloc(struct kmem_cache *r, struct magazine_slot *c,
			    struct slab_thread *st, gfp_t gfp,
			    unsigned long caller)
{
	struct kmem_magazine *full, *spare = NULL;
	unsigned int n;

	/*
	 * 0. The object freed last, as the fast path pops it (slab.h,
	 * percpu_pop()), whatever sent this call here (reused full, the
	 * CPU hint stale, the slot taken out); reused is retired into the
	 * counts first.
	 */
	if (c->loaded && c->prev_rounds) {
		slot_set_previous(c, c->previous, c->prev_rounds);
		c->prev_word += 0xffff;
		return c->previous[c->prev_rounds];
	}
	if (c->rounds)
		goto pop;	/* the fast path ran before the thread attached */
	/*
	 * 1. Objects freed into the previous magazine: swap.  But not for a
	 * thread's first allocation from the cache when it has only freed
	 * (no loaded magazine yet), unless the magazine is full: all it
	 * holds were allocated by other threads, which may still be writing
	 * next to them, and handing them straight back would keep both
	 * threads on one cache line (passive false sharing).  A fresh
	 * magazine comes from the depot or the slabs instead.
	 */
	if (c->prev_rounds && (c->loaded || c->prev_rounds == c->magsize)) {
		if (!c->loaded) {
			/*
			 * The thread has only freed so far: after the swap
			 * its frees need a magazine of their own.
			 */
			kmem_mutex_lock(&r->lock);
			spare = depot_pop_empty(r);
			kmem_mutex_unlock(&r->lock);
			if (!spare)
				spare = mag_new(r);
			if (!spare) {
				/* No memory: serve from the free side. */
				slot_set_previous(c, c->previous, c->prev_rounds);
				c->prev_start--;
				c->allocs++;
				return c->previous[--c->prev_rounds];
			}
			slot_set_loaded(c, spare->round, 0);
			spare = NULL;
		}
		swap_mags(c);
		goto pop;
	}
	/* 2. A full magazine from the depot; our empty loaded one goes there. */
	kmem_mutex_lock(&r->lock);
	r->alloc_slow++;
	full = depot_pop_full(r);
	if (full) {
		slot_took(st, r);
		if (c->loaded)
			depot_push_empty(r, mag_of(c->loaded));
		slot_set_loaded(c, full->round, r->magsize);
		cache_publish_locked(r);
		kmem_mutex_unlock(&r->lock);
		goto pop;
	}
	if (!c->loaded)
		spare = depot_pop_empty(r);
	kmem_mutex_unlock(&r->lock);
	/* 3. Fill the empty loaded magazine from the slabs. */
	if (!c->loaded) {
		if (!spare)
			spare = mag_new(r);
		if (!spare)
			return slab_alloc_single(r, gfp, caller);
		slot_set_loaded(c, spare->round, 0);
	}
	n = slab_take_objects(r, c->loaded, r->magsize, gfp);
	if (!n) {
		if (!c->prev_rounds)
			return NULL;
		swap_mags(c);	/* out of memory: what this thread freed */
		goto pop;
	}
	rounds_in_address_order(c->loaded, n, r->size);
	slot_set_loaded(c, c->loaded, n);
pop:
	return c->loaded[--c->rounds];
}

/**
 * slab_alloc_slow - refill the calling thread's magazine, then allocate
 * @s:      the cache (or an alias)
 * @gfp:    allocation flags
 * @caller: the API caller's return address
 *
 * Return: an object (free marker not cleared), or NULL.
 */
void *slab_alloc_slow(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
	struct kmem_cache *r = s->root;
	struct magazine_slot *c, t;
	void *obj;

	if (r->magsize && percpu_here(r)) {
		bool warm = percpu_warm(r, true);	/* may attach */

		if (unlikely(slab_tls_cpu.own))
			goto own;	/* the main thread, attached now */
		if (!warm)
			return slab_alloc_single(r, gfp, caller);
		if (!(c = percpu_take(r, &t))) {
			if (slab_tls_cpu.own)
				goto own;
			return slab_alloc_single(r, gfp, caller);
		}
		if (!t.magsize && !slot_init_mags(r, &t))
			obj = slab_alloc_single(r, gfp, caller);
		else
			obj = magazine_alloc(r, &t, slot_block(r, c), gfp,
					     caller);
		percpu_put(c, &t);
		percpu_gc(slot_block(r, c));
		slab_tsan_acquire(obj);
		return obj;
	}
own:
	c = slow_slot(r, true);
	if (!c)
		return slab_alloc_single(r, gfp, caller);
	obj = magazine_alloc(r, c, slot_block(r, NULL), gfp, caller);
	slot_publish(c);
	slab_tsan_acquire(obj);	/* as magazine_pop() */
	if (!slab_percpu || slab_tls_cpu.own)
		thread_gc(kmem_tls_slab);
	return obj;
}

/* slab_free_slow() with a slot: make room in it, then free. */
static void magazine_free(struct kmem_cache *r, struct magazine_slot *c,
			  struct slab_thread *st, void *obj)
{
	struct kmem_magazine *empty = NULL;
	unsigned long due = 0;
	LIST_HEAD(to_free);

	if (c->prev_rounds < c->magsize)
		goto push;	/* the fast path ran before the thread attached */
	/* 1. The loaded magazine was emptied by allocations: swap. */
	if (c->loaded && !c->rounds) {
		swap_mags(c);
		goto push;
	}
	/*
	 * 2. The full previous magazine goes to the depot for an empty one.
	 * When the depots are over their budget (KMEM_DEPOT_KB), the empty
	 * one is this depot's oldest full magazine, its objects given back to
	 * their slabs: the depot does not grow, and what it keeps is warm.
	 */
	kmem_mutex_lock(&r->lock);
	r->free_slow++;
	if (depot_over_budget(r))
		empty = depot_evict_oldest(r, &to_free);
	else
		empty = depot_pop_empty(r);
	if (!empty) {
		kmem_mutex_unlock(&r->lock);
		empty = mag_new(r);
		kmem_mutex_lock(&r->lock);
	}
	if (empty) {
		due = depot_push_full(r, mag_of(c->previous),
				      slot_reuses(st, r));
		slot_set_previous(c, empty->round, 0);
		empty = NULL;
	} else {
		slab_put_objects(r, c->previous, c->prev_rounds, &to_free);
		slot_set_previous(c, c->previous, 0);
	}
	if (empty)
		depot_push_empty(r, empty);
	cache_publish_locked(r);
	kmem_mutex_unlock(&r->lock);
	slab_release_list(r, &to_free);
	if (due)
		buddy_reaper_kick(due);
push:
	c->previous[c->prev_rounds++] = obj;
}

/**
 * slab_free_slow - make room in the calling thread's magazine, then free
 * @s:      the cache (or an alias)
 * @obj:    an object of @s, checked, free marker written if the cache
 *          marks
 * @caller: the API caller's return address
 */
void slab_free_slow(struct kmem_cache *s, void *obj, unsigned long caller)
{
	struct kmem_cache *r = s->root;
	struct magazine_slot *c, t;

	if (r->magsize && percpu_here(r)) {
		percpu_warm(r, false);	/* attaches the thread */
		if (unlikely(slab_tls_cpu.own))
			goto own;	/* the main thread, attached now */
		if (!(c = percpu_take(r, &t))) {
			if (slab_tls_cpu.own)
				goto own;
			slab_free_single(r, obj, caller);
			return;
		}
		if (!t.magsize && !slot_init_mags(r, &t))
			slab_free_single(r, obj, caller);
		else
			magazine_free(r, &t, slot_block(r, c), obj);
		percpu_put(c, &t);
		percpu_gc(slot_block(r, c));
		return;
	}
own:
	c = slow_slot(r, false);
	if (!c) {
		slab_free_single(r, obj, caller);
		return;
	}
	magazine_free(r, c, slot_block(r, NULL), obj);
	slot_publish(c);
	if (!slab_percpu || slab_tls_cpu.own)
		thread_gc(kmem_tls_slab);
}

/*
 * Give one thread slot's magazines back: full ones to the depot while it
 * has room, the rest's objects to the slabs; fold the thread's counts into
 * the cache's.  The slot is left unused and, unless @home is NULL (a CPU
 * slot taken out, which percpu_put() publishes), published as @home's.
 * Called by the slot's thread (kmem_cache_shrink(), exit) or, for
 * kmem_cache_destroy() and CPU slots, by another thread under
 * kmem_thread_lock; exits hold that lock too.
 */
static void flush_slot(struct kmem_cache *r, struct magazine_slot *c,
		       struct magazine_slot *home)
{
	struct kmem_magazine *spare[2] = { NULL, NULL };
	unsigned long due = 0, d;
	unsigned int rounds[2];
	LIST_HEAD(to_free);
	void **mags[2];

	kmem_mutex_lock(&r->lock);
	/* Read under the lock: a slot is emptied once, by one flusher. */
	if (!c->magsize || c->cache_id != r->id) {
		kmem_mutex_unlock(&r->lock);
		return;
	}
	mags[0] = c->loaded;
	mags[1] = c->previous;
	rounds[0] = c->rounds;
	rounds[1] = c->prev_rounds;
	r->allocs_base += slot_allocs(c);
	r->frees_base += slot_frees(c);
	for (int i = 0; i < 2; i++) {
		struct kmem_magazine *m;

		if (!mags[i])
			continue;
		m = mag_of(mags[i]);
		if (rounds[i] == r->magsize && !(r->cflags & CF_DYING) &&
		    !depot_over_budget(r)) {
			d = depot_push_full(r, m, false);
			due = due ?: d;
			continue;
		}
		slab_put_objects(r, mags[i], rounds[i], &to_free);
		if (r->depot_nr_empty < DEPOT_MAX_EMPTY &&
		    !(r->cflags & CF_DYING))
			depot_push_empty(r, m);
		else
			spare[i] = m;
	}
	memset(c, 0, sizeof(*c));
	if (home)
		slot_publish_as(home, c);
	cache_publish_locked(r);
	kmem_mutex_unlock(&r->lock);
	slab_release_list(r, &to_free);
	for (int i = 0; i < 2; i++)
		if (spare[i])
			mag_delete(r, spare[i]);
	if (due)
		buddy_reaper_kick(due);
}

static void flush_thread_slot(void *part, pid_t tid, void *arg)
{
	struct slab_thread *st = part;
	struct kmem_cache *r = arg;
	struct magazine_slot *c = slot_lookup(st, r->id);

	(void)tid;
	if (c && c->magsize && c->cache_id == r->id)
		flush_slot(r, c, c);
}

/*
 * Empty @r's slot on every CPU: kmem_cache_destroy(), and
 * kmem_cache_shrink() (as the kernel's, which flushes every CPU's).
 * Context: slab_mutex held.
 */
static void percpu_flush_cache(struct kmem_cache *r)
{
	struct slab_thread *st;

	for_each_cpu_block(cpu, st) {
		struct magazine_slot *c, t;

		if (!data_race(st->slots[r->id].magsize))
			continue;
		c = percpu_take_remote(st, r->slot_off, &t);
		if (t.magsize && t.cache_id == r->id)
			flush_slot(r, &t, NULL);
		percpu_put(c, &t);
	}
}

/**
 * magazine_cpu_drain - give back every magazine of a CPU's block
 * @cpu: an index of slab_cpu_table
 *
 * For a CPU that went offline with objects in its magazines (no thread
 * will run there to use them): full magazines go to the depots, the
 * rest's objects to their slabs, as at a thread's exit.
 */
void magazine_cpu_drain(unsigned int cpu)
{
	struct slab_thread *st = READ_ONCE(slab_cpu_table[cpu]);

	if (!st)
		return;
	kmem_mutex_lock(&slab_mutex);
	for (unsigned int id = 0; id < KMEM_SLOTS_INLINE; id++) {
		struct magazine_slot *c, t;
		struct kmem_cache *r;

		if (!data_race(st->slots[id].magsize))
			continue;
		c = percpu_take_remote(st, offsetof(struct slab_thread,
						    slots[id]), &t);
		/*
		 * Alive: a destroy empties every CPU's slot before it frees
		 * the cache, and waits for this one while it is taken out.
		 */
		r = t.magsize ? READ_ONCE(kmem_cache_by_id[t.cache_id]) : NULL;
		if (r)
			flush_slot(r, &t, NULL);
		percpu_put(c, &t);
	}
	kmem_mutex_unlock(&slab_mutex);
}

/*
 * A fingerprint of what CPU block @st's slots have done (their published
 * counts): a CPU whose fingerprint moves between two reaper passes has
 * threads running on it, whatever sysfs says (a container's virtualised
 * online list may number CPUs unlike rseq's ids).
 */
static uint64_t cpu_activity(struct slab_thread *st)
{
	struct slab_thread *pub = kmem_pub(st);
	uint64_t sum = 0;

	for (unsigned int id = 0; id < KMEM_SLOTS_INLINE; id++) {
		struct magazine_slot *c = &pub->slots[id];

		sum += data_race(c->allocs) + data_race(c->frees) +
		       data_race(c->rounds) * 3 + data_race(c->prev_rounds) * 5 +
		       data_race(c->reused) * 7;
	}
	return sum;
}

/**
 * magazine_drain_offline - drain the blocks of CPUs not in @online
 * @online: a mask of KMEM_MAX_CPUS bits (kmem_cpus_online())
 *
 * A block is drained when its CPU is not online and its slots did
 * nothing since the previous call (cpu_activity()): a CPU that went
 * offline is drained on the second reaper pass after, a CPU a lying
 * online list leaves out but threads run on never.  Simulated CPUs
 * (slab_tls_cpu_bias) count as the real CPU they run on.
 *
 * Context: the reaper's pass; no lock held.
 */
void magazine_drain_offline(const unsigned long *online)
{
	struct slab_thread *st;

	if (!slab_percpu)
		return;
	for_each_cpu_block(cpu, st) {
		unsigned int real = cpu % kmem_nr_cpu_ids;
		uint64_t act;

		if ((online[real / BITS_PER_LONG] >> (real % BITS_PER_LONG)) & 1)
			continue;
		act = cpu_activity(st);
		if (act != cpu_of_block(st)->seen) {
			cpu_of_block(st)->seen = act;
			continue;
		}
		magazine_cpu_drain(cpu);
		cpu_of_block(st)->seen = cpu_activity(st);
	}
}

/*
 * Copy CPU slot @c's figures into @t, the counts from one read of their
 * word.  Return: false if a slow path has the slot out (its copy is
 * the figures then).  Other fields may be a moment apart: statistics.
 */
static bool cpu_slot_snapshot(struct magazine_slot *c, struct magazine_slot *t)
{
	uint64_t w = __atomic_load_n((uint64_t *)&c->rounds, __ATOMIC_ACQUIRE);

	if (slot_word_out(w))
		return false;
	t->loaded = NULL;
	t->previous = NULL;
	t->rounds = (uint32_t)w;
	t->prev_word = (uint32_t)(w >> 32);
	t->magsize = data_race(c->magsize);
	t->cache_id = data_race(c->cache_id);
	t->loaded_start = data_race(c->loaded_start);
	t->prev_start = data_race(c->prev_start);
	t->allocs = data_race(c->allocs);
	t->frees = data_race(c->frees);
	return true;
}

/**
 * magazine_cpu_for_each - visit every CPU block's slots, as figures
 * @fn:  called with a snapshot of the block (read it as a struct
 *       slab_thread: counts only, no magazines; a slot a slow path has
 *       out shows its last published counts), the CPU, @arg
 * @arg: passed through
 */
void magazine_cpu_for_each(kmem_thread_visit_fn fn, void *arg)
{
	struct slab_thread snap, *st;

	if (!slab_percpu)
		return;
	for_each_cpu_block(cpu, st) {
		for (unsigned int id = 0; id < KMEM_SLOTS_INLINE; id++) {
			struct magazine_slot *c = &st->slots[id];

			if (!cpu_slot_snapshot(c, &snap.slots[id]))
				memcpy(&snap.slots[id], kmem_pub(c),
				       sizeof(snap.slots[id]));
		}
		fn(&snap, (pid_t)cpu, arg);
	}
}

/**
 * magazine_fork_child - the child's CPU slots that a slow path had out
 *
 * The thread that took them did not survive fork(): they are reset to
 * unused, their magazines abandoned like an orphaned thread's (at most
 * two per slot).  Nor did the parent's other threads: the depots count
 * them as exited (depot_exits).
 */
void magazine_fork_child(void)
{
	struct slab_thread *st;

	__atomic_fetch_add(&depot_exits, 1, __ATOMIC_RELAXED);
	if (!slab_percpu)
		return;
	/*
	 * The parent's other threads are gone, and this one has a new id:
	 * every block is nobody's (percpu_own()).
	 */
	WRITE_ONCE(slab_own_threads, slab_tls_cpu.own && !slab_tls_cpu.is_main);
	for_each_cpu_block(cpu, st) {
		WRITE_ONCE(st->owner, 0);
		for (unsigned int id = 0; id < KMEM_SLOTS_INLINE; id++) {
			struct magazine_slot *c = &st->slots[id];

			if (slot_word_out(*(uint64_t *)&c->rounds)) {
				memset(c, 0, sizeof(*c));
				slot_publish(c);
			}
		}
	}
}

/**
 * magazine_cpu_republish - publish every CPU block anew
 * Context: kmem_republish_locked().
 */
void magazine_cpu_republish(void)
{
	struct slab_thread *st;

	if (!slab_percpu)
		return;
	for_each_cpu_block(cpu, st) {
		kmem_region_publish(&cpu_of_block(st)->unit,
				    sizeof(struct kmem_stats_thread));
		for (unsigned int id = 0; id < KMEM_SLOTS_INLINE; id++) {
			struct magazine_slot t;

			if (cpu_slot_snapshot(&st->slots[id], &t))
				slot_publish_as(&st->slots[id], &t);
		}
	}
}

/**
 * magazine_flush_cache - return threads' magazines of a cache
 * @s:           the cache
 * @all_threads: every thread's (kmem_cache_destroy: the caller promises
 *               no other thread uses the cache any more), or only the
 *               calling thread's (kmem_cache_shrink)
 */
void magazine_flush_cache(struct kmem_cache *s, bool all_threads)
{
	struct kmem_cache *r = s->root;

	if (!r->magsize)
		return;
	if (percpu_cache(r)) {
		kmem_mutex_lock(&slab_mutex);
		percpu_flush_cache(r);
		kmem_mutex_unlock(&slab_mutex);
	}
	if (all_threads) {
		kmem_thread_lock();
		kmem_thread_for_each(&slab_thread_part, flush_thread_slot, r);
		kmem_thread_unlock();
	} else if (kmem_tls_slab != &slab_thread_none) {
		flush_thread_slot(kmem_tls_slab, 0, r);
	}
}

/**
 * magazine_flush_cache_locked - magazine_flush_cache(@s, false) for a
 * caller that holds slab_mutex (slab_shrink_all())
 * @s: the cache
 */
void magazine_flush_cache_locked(struct kmem_cache *s)
{
	struct kmem_cache *r = s->root;

	lock_assert_held(&slab_mutex);
	if (!r->magsize)
		return;
	if (percpu_cache(r))
		percpu_flush_cache(r);
	if (kmem_tls_slab != &slab_thread_none)
		flush_thread_slot(kmem_tls_slab, 0, r);
}

/*
 * depot_give_back - the one drain loop: return a depot's contents to the
 * slabs (kmem_cache_shrink and destroy, the reaper's trim, the reclaim
 * hook), with @r's lock held on entry; released on return.
 * @r:          the cache (root)
 * @next:       NULL: every full magazine; else only those that nobody
 *              took for the decay time (before @now_ms), and *@next is
 *              lowered to when the oldest one kept expires
 * @now_ms:     the time, with @next
 * @keep_empty: empty magazines the depot keeps (ULONG_MAX: all)
 * @trim:       give the cache's empty slabs back too
 *
 * Full magazines are taken oldest first (the depot stacks them newest
 * first, so the expired ones are a tail); their objects go back to their
 * slabs and the magazines are freed once the lock is dropped, as are the
 * slabs that became empty.
 *
 * Return: true if pages went back to the page allocator.
 */
static bool depot_give_back(struct kmem_cache *r, unsigned long *next,
			    unsigned long now_ms, unsigned long keep_empty,
			    bool trim)
{
	unsigned long decay = kmem_config.decay_ms;
	struct kmem_magazine *m, *tmp;
	LIST_HEAD(to_free);
	LIST_HEAD(mags);
	bool freed;

	lock_assert_held(&r->lock);
	while (!list_empty(&r->depot_full)) {
		m = list_last_entry(&r->depot_full, struct kmem_magazine, list);
		if (next && m->stamp + decay > now_ms) {
			unsigned long due = m->stamp + decay;

			if (!*next || due < *next)
				*next = due;
			break;
		}
		list_move(&m->list, &mags);
		WRITE_ONCE(r->depot_nr_full, r->depot_nr_full - 1);
		depot_bytes_add(r, -1);
		slab_put_objects(r, m->round, r->magsize, &to_free);
	}
	while (r->depot_nr_empty > keep_empty && (m = depot_pop_empty(r)))
		list_add(&m->list, &mags);
	if (trim)
		slab_trim_free(r, 0, &to_free);
	cache_publish_locked(r);
	kmem_mutex_unlock(&r->lock);
	freed = !list_empty(&to_free);
	slab_release_list(r, &to_free);
	list_for_each_entry_safe(m, tmp, &mags, list)
		mag_delete(r, m);
	return freed;
}

/**
 * magazine_depot_drain - empty a cache's depot into its slabs
 * @s: the cache
 *
 * Every object in a full magazine goes back to its slab; every magazine
 * is freed.
 */
void magazine_depot_drain(struct kmem_cache *s)
{
	struct kmem_cache *r = s->root;

	kmem_mutex_lock(&r->lock);
	depot_give_back(r, NULL, 0, 0, false);
}

/**
 * magazine_depot_trim - the reaper's pass: return what the depots no
 * longer need
 * @now_ms: the time
 * @next:   lowered to when the oldest full magazine left will expire
 *
 * Bonwick's working-set trim, by age: a full magazine that nobody took
 * from the depot for kmem_config.decay_ms (KMEM_DECAY_MS, the page
 * allocator's delay too) goes back to the slabs, as do spare empty
 * magazines (one is kept) and empty slabs.  So an idle process gives its
 * cached objects back about one decay time after it freed them; the pages
 * come back cold and the page allocator releases them in the same pass.
 */
void magazine_depot_trim(unsigned long now_ms, unsigned long *next)
{
	unsigned long online[BITS_TO_LONGS(KMEM_MAX_CPUS)];
	struct kmem_cache *r;

	/* CPU hotplug: what an offline CPU holds, nobody would use. */
	if (slab_percpu && kmem_cpus_online(online, KMEM_MAX_CPUS))
		magazine_drain_offline(online);

	kmem_mutex_lock(&slab_mutex);
	list_for_each_entry(r, &slab_caches, list) {
		if (r->cflags & CF_ALIAS || !r->magsize)
			continue;
		kmem_mutex_lock(&r->lock);
		depot_give_back(r, next, now_ms, 1, true);
	}
	kmem_mutex_unlock(&slab_mutex);
}

/**
 * magazine_depot_reclaim - give every depot's full magazines back
 *
 * The page allocator's reclaim hook, called before it maps more memory:
 * objects cached in depots return to their slabs and empty slabs to the
 * page allocator, so that memory freed in one cache serves another before
 * the process grows.  Runs in whatever allocation needs memory, perhaps
 * under that caller's locks: it only trylocks, skipping what is busy.
 * Empty magazines stay in the depots.
 *
 * Return: true if pages went back to the page allocator.
 */
bool magazine_depot_reclaim(void)
{
	static __thread bool busy __tls_ie;
	struct kmem_cache *r;
	bool freed = false;

	if (busy || !kmem_mutex_trylock(&slab_mutex))
		return false;
	busy = true;
	list_for_each_entry(r, &slab_caches, list) {
		if (r->cflags & CF_ALIAS || !r->magsize ||
		    !READ_ONCE(r->depot_nr_full) || !kmem_mutex_trylock(&r->lock))
			continue;
		freed |= depot_give_back(r, NULL, 0, ULONG_MAX, true);
	}
	busy = false;
	kmem_mutex_unlock(&slab_mutex);
	return freed;
}

struct holdings {
	unsigned int id;
	unsigned long objs;
};

static void count_holdings(void *part, pid_t tid, void *arg)
{
	struct holdings *h = arg;
	struct magazine_slot *c = slot_lookup(part, h->id);

	(void)tid;
	/*
	 * The owner sets its slot up, pushes and pops without a lock: a slot
	 * seen half set up counts as empty, and the count may be a few
	 * objects out of date.
	 */
	if (c && data_race(c->magsize) && data_race(c->cache_id) == h->id)
		h->objs += data_race(c->rounds) + data_race(c->prev_rounds);
}

/**
 * magazine_thread_holdings - objects held in threads' (and CPUs') magazines
 * @s:    the cache
 * @objs: set to the count (racy: threads keep running)
 *
 * Context: kmem_thread_lock() held.
 */
void magazine_thread_holdings(struct kmem_cache *s, unsigned long *objs)
{
	struct holdings h = { .id = s->root->id, .objs = 0 };

	kmem_thread_for_each(&slab_thread_part, count_holdings, &h);
	magazine_cpu_for_each(count_holdings, &h);
	*objs = h.objs;
}

/* ---- The per-thread part --------------------------------------------- */

static void slab_thread_attach(void *part, struct kmem_stats_thread *unit)
{
	struct slab_thread *st = part;

	unit->slot_off = (uint32_t)((char *)st->slots - (char *)unit);
	unit->nr_slots_inline = KMEM_SLOTS_INLINE;
	unit->ext_off = (uint32_t)((char *)st->ext - (char *)unit);
	unit->nr_ext = ARRAY_SIZE(st->ext);
	kmem_tls_slab = st;
	slab_tls_cpu.gone = false;	/* attached again after kmem_thread_exit_self() */
	/*
	 * The main thread keeps slots of its own for its whole life (slab.md,
	 * "The main thread"): in a process that has no other thread, the
	 * CPUs' blocks buy nothing, and their sections cost every call.  Not
	 * counted in slab_own_threads, whose bound is for threads that
	 * switched.  Once only: after its exit hook (pthread_exit()), its
	 * later calls use the CPUs' blocks.
	 */
	if (slab_percpu && kmem_config.main_own &&
	    kmem_gettid() == getpid() &&
	    !__atomic_exchange_n(&slab_main_attached, true, __ATOMIC_RELAXED)) {
		slab_tls_cpu.is_main = true;
		slab_tls_cpu.own = true;
	}
}

/*
 * A thread exits: its magazines go back.  This runs under
 * kmem_thread_lock, as kmem_cache_destroy()'s flush of every thread's
 * slots and the statistics readers do, and the thread stays on the thread
 * list until it is done: so a destroy either flushes the slot itself or
 * finds it already empty (never both: one magazine returned twice), it
 * never frees a cache whose magazines an exiting thread still holds, and
 * no one reads an extension unit this thread frees.
 */
static void slab_thread_exit(void *part)
{
	struct slab_thread *st = part;
	struct slab_ext *ext[ARRAY_SIZE(st->ext)];

	kmem_tls_slab = &slab_thread_none;
	__atomic_fetch_add(&depot_exits, 1, __ATOMIC_RELAXED);
	slab_tls_cpu.gone = true;
	if (slab_percpu && slab_tls_cpu.tag)
		percpu_disown(slab_tls_cpu.tag);
	if (slab_tls_cpu.own) {
		slab_tls_cpu.own = false;
		if (!slab_tls_cpu.is_main)
			__atomic_fetch_sub(&slab_own_threads, 1,
					   __ATOMIC_RELAXED);
		slab_tls_cpu.is_main = false;
	}
	kmem_thread_lock();
	for (unsigned int id = 0; id < KMEM_STATS_MAX_CACHES; id++) {
		struct magazine_slot *c;
		struct kmem_cache *r;

		if (id % KMEM_SLOTS_INLINE == 0 && id >= KMEM_SLOTS_INLINE &&
		    !st->ext[id / KMEM_SLOTS_INLINE]) {
			id += KMEM_SLOTS_INLINE - 1;
			continue;
		}
		c = slot_lookup(st, id);
		if (!c || !c->magsize)
			continue;
		/* Alive: a destroy would have flushed this slot first. */
		r = READ_ONCE(kmem_cache_by_id[c->cache_id]);
		if (r)
			flush_slot(r, c, c);
	}
	for (unsigned int e = 0; e < ARRAY_SIZE(st->ext); e++) {
		ext[e] = st->ext[e];
		__atomic_store_n(&st->ext[e], NULL, __ATOMIC_RELAXED);
		if (ext[e])
			ext_publish(st, e, NULL);
	}
	kmem_thread_unlock();
	for (unsigned int e = 0; e < ARRAY_SIZE(ext); e++)
		if (ext[e])
			kmem_region_free(ext[e]);
}

/*
 * Publish a slot whole, from another thread's point of view: its owner
 * may be popping and pushing meanwhile (kmem_republish_locked() in a
 * parent).  Each word is read as it is; what the owner changes after,
 * it publishes itself.
 */
static void slot_republish(struct magazine_slot *c)
{
	struct kmem_stats_slot *p = slot_pub(c);

	p->rounds = data_race(c->rounds);
	p->prev_word = data_race(c->prev_word);
	p->magsize = data_race(c->magsize);
	p->cache_id = data_race(c->cache_id);
	p->loaded_start = data_race(c->loaded_start);
	p->prev_start = data_race(c->prev_start);
	p->allocs = data_race(c->allocs);
	p->frees = data_race(c->frees);
}

/* Publish a thread's slots and extension units anew. */
static void slab_thread_publish(void *part)
{
	struct slab_thread *st = part;

	for (unsigned int i = 0; i < KMEM_SLOTS_INLINE; i++)
		slot_republish(&st->slots[i]);
	for (unsigned int e = 0; e < ARRAY_SIZE(st->ext); e++) {
		/* Exits clear it under kmem_thread_lock, which we hold. */
		struct slab_ext *ext = __atomic_load_n(&st->ext[e],
						       __ATOMIC_ACQUIRE);

		ext_publish(st, e, ext);
		for (unsigned int i = 0; ext && i < KMEM_SLOTS_INLINE; i++)
			slot_republish(&ext->slots[i]);
	}
}

struct kmem_thread_part slab_thread_part = {
	.size = sizeof(struct slab_thread),
	.attach = slab_thread_attach,
	.exit = slab_thread_exit,
	.publish = slab_thread_publish,
};

/**
 * slab_alloc_refill - the allocation slow path of kmem_cache_alloc and
 * kmalloc: refill, retried for __GFP_NOFAIL after the page allocator has
 * released what it holds
 * @s:      the cache (or an alias)
 * @gfp:    allocation flags
 * @caller: the API caller's return address
 *
 * Return: an object (free marker cleared), or NULL; with __GFP_NOFAIL,
 * NULL only after every retry failed (the caller then panics, naming
 * itself).
 */
void *slab_alloc_refill(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
	void *obj;

	kfence_tick();
	obj = slab_alloc_slow(s, gfp, caller);

	if (unlikely(!obj) && (gfp & __GFP_NOFAIL)) {
		for (int tries = 0; !obj && tries < 100; tries++) {
			buddy_release_all();
			obj = slab_alloc_slow(s, gfp | __GFP_DIRECT_RECLAIM,
					      caller);
		}
	}
	if (obj)
		slab_clear_marker(s->root, obj);
	return obj;
}
