// SPDX-License-Identifier: MIT
/*
 * buddy/profile.c - sampled allocation profiling, always on.
 *
 * Owns: which allocations are sampled, their call stacks, and the
 * published profile (struct kmem_stats_profile, include/kmem/stats.h) that
 * kmeminfo reads by PID and symbolizes.  The allocator never symbolizes.
 *
 * Sampling by bytes (as tcmalloc and jemalloc do): every thread counts
 * down kmem_prof_left by the bytes each allocation asks for; when it goes
 * below zero, the allocation that crossed zero is sampled and a new
 * distance is drawn from an exponential distribution of mean
 * kmem_prof_rate (KMEM_PROFILE_RATE, 2 MiB by default).  The exponential
 * is memoryless, so an allocation of s bytes is sampled with probability
 * p = 1 - exp(-s / rate) whatever came before, and a sample stands for
 * 1/p allocations of s bytes: an unbiased estimate of each call site's
 * bytes and objects, exact in the limit for s >> rate (big allocations
 * are always seen).  Weights are computed once, at sampling.
 *
 * Fast path (buddy/profile.h): one subtraction and one branch per
 * allocation; frees test PGF_sampled in the page descriptor they already
 * hold.  A new thread's countdown is 0: its first allocation seeds its
 * generator (KMEM_PROFILE_SEED for repeatable runs) and draws a distance.
 * With profiling off, the slow path puts the countdown out of reach
 * (LONG_MAX: 8 EiB of allocations before it runs again).
 *
 * Slow path, kmem_prof_sample(): draw the next distance (a ziggurat,
 * prof_exp1()); find the stack's record through the stack cache, or
 * capture the stack (core/stack.c, no malloc, no lock) and under
 * prof_lock find or add its record (identical stacks share one; a hash
 * of the frames indexes them); then, under prof_lock, take a sample
 * record, hash it by address, count it in its page (page_refs) and set
 * PGF_sampled on the page of the object's first byte, and publish the
 * stack record.  A large block's head holds one object: its sample is
 * linked from the head's descriptor instead (PGF_prof_linked), in
 * neither hash.  A free that finds PGF_sampled calls kmem_prof_free()
 * before the memory is released (so a new sample at the same address
 * cannot be confused with the old one): it removes the sample if there is
 * one and clears PGF_sampled when the page holds no more samples.  HUGE
 * mappings have no page descriptor; their frees look the address up
 * whenever one has ever been sampled.  What a sample and its free cost,
 * and what was cut: Documentation/profiling.md, "Overhead".
 *
 * Memory is bounded: KMEM_PROFILE_MAX_STACKS stack records (the published
 * unit, mirrored in the twin); samples whose stack finds no room go to
 * record 0, flagged OVERFLOW and shown by kmeminfo; at most
 * PROF_MAX_SAMPLES live samples (counted in no_room beyond that).  All of
 * it is mapped at start-up through the OS layer, MAP_NORESERVE: pages
 * cost memory when first used; the two address hashes start at a page
 * and are mapped anew, larger, as the live samples grow.  Nothing here
 * calls malloc.
 *
 * Reentry: a thread inside the profiler (unwinding or holding prof_lock)
 * may be interrupted by a signal handler that allocates or frees.  A
 * per-thread busy flag makes such nested calls skip the profiler: the
 * allocation is not sampled (counted in skipped), the free is not removed
 * (counted in lost_frees; the sample stays live).  Without it the
 * handler would deadlock on prof_lock, or change the tables it was in
 * the middle of changing.
 *
 * Fork (the layer's hooks, core/init.c): before any lock is taken, new
 * captures are stopped (skipped until the fork is done) and the ones
 * under way are waited for; then prof_lock is taken at its rank with the
 * others.  So the child never inherits a half-walked unwinder or a held
 * lock.  The child republishes the profile with the rest of the region.
 *
 * Lock order: prof_lock (prof_mutex) is
 * LOCK_RANK_PROFILE (core/lock.h), inside every
 * lock of slab and buddy, outside region_lock.  The hooks run with no
 * kmem lock held (after the allocation, before the free proper), so no
 * path nests it; it takes no other lock (the unit is allocated at
 * start-up).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "buddy/profile.h"
#include "buddy/prof_math.h"
#include "buddy/ziggurat.h"
#include "core/stack.h"

#define PROF_MAX_SAMPLES	(1UL << 20)	/* live samples */
/*
 * The address hashes start at one page each and grow eightfold once they
 * hold twice as many entries as buckets (prof_hash_added()).  Their buckets
 * are touched at random: tables of their final size from the start (512
 * KiB and 128 KiB) made 400 KiB of a small program's RSS once a few
 * thousand samples had come and gone.
 */
#define PROF_HASH_MIN_BITS	9	/* 512 buckets: a page */
#define PROF_HASH_GROW_BITS	3
#define PROF_SAMPLE_MAX_BITS	20
#define PROF_PAGE_MAX_BITS	18

/*
 * Which pages of a table have been written.  The tables are anonymous
 * mappings: a page never written reads as zero, but reading it first maps
 * the kernel's zero page, which the first write then faults out again:
 * two page faults for one page, at nearly every page of the tables
 * (performance.md, "Pages faulted twice").  So a lookup that falls on a
 * page never written takes the zero it would read without reading it,
 * and every write marks its page.  A bit is set once a page may hold
 * anything but zeros; a clear bit means the page was never written.  The
 * largest table is 8 MiB: the sample hash at PROF_SAMPLE_MAX_BITS, and
 * the stack index for the largest KMEM_PROFILE_MAX_STACKS.  The four
 * bitmaps (1 KiB) are placed in .data, whose page the loader writes
 * anyway (relocations): in .bss they pushed the head of kmem_cache_by_id
 * (__bss_last) onto a page of its own, one page more in every process.
 */
#define PROF_TABLE_PAGES_MAX	2048

struct prof_written {
	unsigned long bits[BITS_TO_LONGS(PROF_TABLE_PAGES_MAX)];
};

static unsigned long table_page(const void *base, const void *p)
{
	return ((unsigned long)p - (unsigned long)base) >> PAGE_SHIFT;
}

/* Has the page of @p, in the table at @base, ever been written? */
static bool table_written(const struct prof_written *w, const void *base,
			  const void *p)
{
	unsigned long pg = table_page(base, p);

	return w->bits[pg / BITS_PER_LONG] & (1UL << (pg % BITS_PER_LONG));
}

/* @len bytes at @p, in the table at @base, are being written. */
static void table_mark(struct prof_written *w, const void *base,
		       const void *p, size_t len)
{
	unsigned long last = table_page(base, (const char *)p + len - 1);

	for (unsigned long pg = table_page(base, p); pg <= last; pg++)
		w->bits[pg / BITS_PER_LONG] |= 1UL << (pg % BITS_PER_LONG);
}

__thread long kmem_prof_left __tls_ie;
static __thread uint64_t tls_rng __tls_ie;	/* 0: thread not seeded */
static __thread bool tls_busy __tls_ie;	/* inside the profiler */

/*
 * The weights of the thread's last sampled size: a loop samples one size
 * again and again (a third of the 1 MiB blocks of a loop at the default
 * rate), and the weights' expm1() and two roundings were a fifth of a
 * sample's cost.
 * The rate never changes once set.
 */
static __thread struct {
	bool valid;
	size_t size;
	uint64_t est_bytes, est_objs;
} tls_weight __tls_ie;

bool kmem_prof_huge;

static unsigned long prof_rate;		/* 0: off */
static unsigned long prof_seed;
static bool prof_ready;			/* atomic: tables are set up */
static bool prof_on;			/* profiling was set up: prof_lock
					 * is taken around fork (never
					 * cleared) */
static unsigned long prof_max;		/* KMEM_PROFILE_MAX_STACKS */
static bool prof_unit_failed;		/* atomic: no room for the unit,
					 * so profiling is off */
/* The totals counted without prof_lock, kept here: the unit may not exist. */
static uint64_t prof_skipped;		/* atomic */
static uint64_t prof_lost_frees;	/* atomic */
static int prof_capturing;		/* atomic: captures under way */
static bool prof_forking;		/* atomic */
static uint64_t thread_seq;		/* atomic: seeds threads apart */

/*
 * prof_lock: a sampled allocation and its free take it once each (a
 * kmem_mutex, two atomic instructions uncontended: core/lock.h).
 */
static struct kmem_mutex prof_mutex = KMEM_MUTEX_INIT(LOCK_RANK_PROFILE);

static bool profile_unit_locked(void);

static void prof_lock(void)
{
	kmem_mutex_lock(&prof_mutex);
}

static void prof_unlock(void)
{
	kmem_mutex_unlock(&prof_mutex);
}

/* One live sampled allocation (private). */
struct prof_sample {
	struct prof_sample *next;	/* hash chain, or free list */
	unsigned long addr;
	struct page *page;		/* descriptor flagged, or NULL (HUGE) */
	uint64_t size;
	uint64_t est_bytes;
	uint64_t est_objs;		/* scaled */
	uint32_t stack;			/* record index */
	bool linked;			/* from its page, in no hash */
};

/* Samples per flagged page (private). */
struct prof_page {
	struct prof_page *next;
	struct page *page;
	unsigned long refs;
};

union prof_node {
	struct prof_sample s;
	struct prof_page p;
};

/* Everything below is protected by prof_lock. */
/*
 * The unit, in the twin: made at the first sample (profile_unit_locked()),
 * so that a program that never samples (most small ones: a sample every
 * 2 MiB on average) does not write its two pages.  Set under prof_lock.
 */
static struct kmem_stats_profile *prof;
static struct kmem_stats_prof_stack *stacks;	/* its records, in the twin */
static uint32_t *stack_index;			/* hash -> record + 1 */
static unsigned long stack_index_mask;
static struct prof_written stack_index_written __section_data;
/*
 * A chained hash of addresses (samples by object, page counts by
 * descriptor).  Every node begins with its chain link; @key gives the
 * address it is hashed by.
 */
struct prof_hash {
	void **bucket;
	unsigned int bits, max_bits;
	unsigned long count;
	unsigned long (*key)(const void *node);
	struct prof_written *written;	/* of @bucket's pages */
};

static unsigned long sample_key(const void *node)
{
	return ((const struct prof_sample *)node)->addr;
}

static unsigned long page_key(const void *node)
{
	return (unsigned long)((const struct prof_page *)node)->page;
}

static struct prof_written sample_hash_written __section_data;
static struct prof_written page_hash_written __section_data;
static struct prof_hash sample_hash = {
	.max_bits = PROF_SAMPLE_MAX_BITS, .key = sample_key,
	.written = &sample_hash_written,
};
static struct prof_hash page_hash = {
	.max_bits = PROF_PAGE_MAX_BITS, .key = page_key,
	.written = &page_hash_written,
};
static union prof_node *nodes, *nodes_free;
static unsigned long nodes_used, nodes_max;
static unsigned long nr_linked;			/* live linked samples */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* xorshift64*: 64 random bits. */
static uint64_t prof_random(void)
{
	uint64_t x = tls_rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	tls_rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in (0, 1]. */
static double prof_uniform(void)
{
	return ((double)(prof_random() >> 11) + 1.0) * 0x1p-53;
}

/*
 * The exponential draw, by Marsaglia and Tsang's ziggurat ("The Ziggurat
 * Method for Generating Random Variables", J. Stat. Software 5, 2000):
 * the density e^-x is covered by ZIG_LAYERS strips of equal area, the
 * base one ending in the tail beyond ZIG_R.  A draw picks a strip and a
 * point across it with one 64-bit random number (the top 8 bits, and
 * 53 bits below them, disjoint); 99% of the points fall in the part of
 * the strip under the curve and are returned as they are.  The others
 * take a second uniform (the strip's wedge) or sample the tail, which is
 * ZIG_R plus an exponential again (memoryless).  The distribution is
 * exactly the exponential's, in about 40 instructions where -log(u) took
 * 85, a sixth of a sample's cost.  The tables are constants
 * (buddy/ziggurat.h, written by tools/gen-ziggurat.py): computed at
 * start-up, they made every profiling process map libm's pages.
 */

/* prof_exp1()'s 1%: a point of strip @i outside the part under the curve. */
static noinline double prof_exp1_slow(unsigned int i, double x)
{
	double base = 0;

	for (;;) {
		uint64_t r, j;

		if (!i)		/* the tail, beyond the base strip */
			base += ZIG_R;
		else if (zig_f[i] + prof_uniform() * (zig_f[i - 1] - zig_f[i]) <
			 prof_exp_neg(x))
			return base + x;	/* in the wedge, under the curve */
		r = prof_random();
		i = (unsigned int)(r >> 56);
		j = (r >> 3) & ((1ULL << 53) - 1);
		x = (double)j * zig_w[i];
		if (j < zig_k[i])
			return base + x;
	}
}

/* Exponential of mean 1. */
static __always_inline double prof_exp1(void)
{
	uint64_t r = prof_random();
	unsigned int i = (unsigned int)(r >> 56);
	uint64_t j = (r >> 3) & ((1ULL << 53) - 1);
	double x = (double)j * zig_w[i];

	if (likely(j < zig_k[i]))
		return x;
	return prof_exp1_slow(i, x);
}

/**
 * kmem_prof_draw - the bytes to the next sample: exponential, mean
 * KMEM_PROFILE_RATE (floor(rate * E) + 1)
 *
 * Context: a thread the sampler has seeded (tests draw through it).
 */
long kmem_prof_draw(void)
{
	double d = prof_exp1() * (double)prof_rate;

	if (d > (double)(LONG_MAX / 2))
		return LONG_MAX / 2;
	return (long)d + 1;
}

static void prof_seed_thread(void)
{
	uint64_t n = __atomic_add_fetch(&thread_seq, 1, __ATOMIC_RELAXED);
	uint64_t seed = prof_seed;

	if (!seed) {
		struct timespec ts;

		kmem_clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
		       ((uint64_t)getpid() << 16);
	}
	tls_rng = mix64(seed + n * 0x9e3779b97f4a7c15ULL) | 1;
}

/* ---- private tables ------------------------------------------------- */

static union prof_node *node_get(void)
{
	union prof_node *n = nodes_free;

	if (n) {
		nodes_free = (union prof_node *)n->s.next;
		return n;
	}
	if (nodes_used == nodes_max)
		return NULL;
	return &nodes[nodes_used++];
}

static void node_put(union prof_node *n)
{
	n->s.next = (struct prof_sample *)nodes_free;
	nodes_free = n;
}

/*
 * Bucket of an address in a table of 2^@bits: Fibonacci hashing (the
 * kernel's hash_64()), whose top bits mix every bit of the address, the
 * aligned low ones included; a third of mix64()'s instructions, and two
 * or three of them per sample and per sampled free.
 */
static unsigned long addr_bucket(unsigned long a, unsigned int bits)
{
	return (unsigned long)((a * 0x61c8864680b583ebULL) >> (64 - bits));
}

static bool prof_hash_init(struct prof_hash *h)
{
	h->bits = PROF_HASH_MIN_BITS;
	h->bucket = kmem_os_map(sizeof(void *) << h->bits, PAGE_SIZE);
	return h->bucket;
}

/* A chain nobody wrote: what a lookup in a page never written finds. */
static void *prof_no_chain;

/*
 * The head of @key's chain in @h, for a lookup (@insert false: a page of
 * the table never written gives an empty chain, which must not be
 * written) or for a lookup that may add to the chain: a page never
 * written is written first (with the NULL it holds), so that the
 * lookup's read that follows maps no zero page.
 */
static void **prof_hash_head(struct prof_hash *h, unsigned long key,
			     bool insert)
{
	void **head = &h->bucket[addr_bucket(key, h->bits)];

	if (!table_written(h->written, h->bucket, head)) {
		if (!insert)
			return &prof_no_chain;
		*head = NULL;
		table_mark(h->written, h->bucket, head, sizeof(*head));
	}
	return head;
}

/*
 * One more entry in @h: past two per bucket, rehash into a table eight
 * times larger (prof_lock held).  Without memory for it the chains just
 * grow longer.  A node's link is its first word.
 */
static void prof_hash_added(struct prof_hash *h)
{
	unsigned int bits = min(h->bits + PROF_HASH_GROW_BITS, h->max_bits);
	void **old = h->bucket, **table;
	struct prof_written written;

	if (++h->count <= 2UL << h->bits || h->bits >= h->max_bits)
		return;
	table = kmem_os_map(sizeof(void *) << bits, PAGE_SIZE);
	if (!table)
		return;
	memset(&written, 0, sizeof(written));
	for (unsigned long b = 0; b < 1UL << h->bits; b++) {
		if (!table_written(h->written, old, &old[b])) {
			b |= PAGE_SIZE / sizeof(*old) - 1;	/* its page */
			continue;
		}
		for (void **n = old[b], **next; n; n = next) {
			void **head = &table[addr_bucket(h->key(n), bits)];

			next = *n;
			*n = table_written(&written, table, head) ? *head : NULL;
			*head = n;
			table_mark(&written, table, head, sizeof(*head));
		}
	}
	h->bucket = table;
	*h->written = written;
	kmem_os_unmap(old, sizeof(void *) << h->bits);
	h->bits = bits;
}

/* @page's link in its chain (prof_hash_head() says what @insert is). */
static struct prof_page **prof_page_slot(struct page *page, bool insert)
{
	struct prof_page **pp = (struct prof_page **)prof_hash_head(&page_hash,
						(unsigned long)page, insert);

	while (*pp && (*pp)->page != page)
		pp = &(*pp)->next;
	return pp;
}

/* @addr's link in its chain (prof_hash_head() says what @insert is). */
static struct prof_sample **sample_slot(unsigned long addr, bool insert)
{
	struct prof_sample **sp =
		(struct prof_sample **)prof_hash_head(&sample_hash, addr,
						      insert);

	while (*sp && (*sp)->addr != addr)
		sp = &(*sp)->next;
	return sp;
}

/* Count a sample in @page and flag it; false if out of nodes. */
static bool page_ref(struct page *page)
{
	struct prof_page **pp = prof_page_slot(page, true), *p = *pp;

	if (!p) {
		p = &node_get()->p;
		if (p == (struct prof_page *)NULL)
			return false;
		p->page = page;
		p->refs = 0;
		p->next = NULL;
		*pp = p;
		prof_hash_added(&page_hash);
	}
	p->refs++;
	__atomic_fetch_or(&page->flags, PGF_sampled, __ATOMIC_RELAXED);
	return true;
}

/* Uncount a sample in @page; unflag it when none is left. */
static void page_unref(struct page *page)
{
	struct prof_page **pp = prof_page_slot(page, false), *p = *pp;

	if (p && --p->refs)
		return;
	if (p) {
		*pp = p->next;
		page_hash.count--;
		node_put((union prof_node *)p);
	}
	__atomic_fetch_and(&page->flags, (unsigned char)~PGF_sampled,
			   __ATOMIC_RELAXED);
}

/* ---- the published records ------------------------------------------ */

/*
 * The counts of @st (its frames are published once, by stack_get()).
 * Copied a word at a time, as they were just stored: the memcpy() the
 * compiler made of 16-byte loads could not take either half from the
 * store still in flight, and waited for both to reach the cache (about
 * 7 ns of a sampled 8 MiB pair: Documentation/profiling.md, "Overhead").
 */
#define STACK_COUNT_WORDS ((offsetof(struct kmem_stats_prof_stack, frames) - \
			    sizeof(uint64_t)) / sizeof(uint64_t))
BUILD_BUG_ON(offsetof(struct kmem_stats_prof_stack, nr_frames) !=
	     sizeof(uint64_t));
BUILD_BUG_ON(offsetof(struct kmem_stats_prof_stack, frames) %
	     sizeof(uint64_t));

static void stack_publish(struct kmem_stats_prof_stack *st)
{
	struct kmem_stats_prof_stack *pub = kmem_pub(st);
	const uint64_t *from = (const uint64_t *)&st->nr_frames;
	uint64_t *to = (uint64_t *)&pub->nr_frames;

	__atomic_store_n(&pub->seq, st->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (unsigned int i = 0; i < STACK_COUNT_WORDS; i++)
		__atomic_store_n(&to[i], __atomic_load_n(&from[i],
							 __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
	st->seq += 2;
	__atomic_store_n(&pub->seq, st->seq, __ATOMIC_RELEASE);
}

static void totals_publish(void)
{
	struct kmem_stats_profile *pub = kmem_pub(prof);

	__atomic_store_n(&pub->seq, prof->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	pub->nr_stacks = prof->nr_stacks;
	pub->samples = prof->samples;
	pub->live_samples = prof->live_samples;
	pub->skipped = __atomic_load_n(&prof_skipped, __ATOMIC_RELAXED);
	pub->no_room = prof->no_room;
	pub->lost_frees = __atomic_load_n(&prof_lost_frees, __ATOMIC_RELAXED);
	prof->seq += 2;
	__atomic_store_n(&pub->seq, prof->seq, __ATOMIC_RELEASE);
}

/* The record for this stack: found, added, or the overflow record 0. */
static struct kmem_stats_prof_stack *stack_get(const unsigned long *pcs,
					       unsigned int n)
{
	uint64_t h = 0x12345678;
	unsigned long i;

	for (unsigned int k = 0; k < n; k++)
		h = mix64(h ^ pcs[k]) + k;
	for (i = h & stack_index_mask;; i = (i + 1) & stack_index_mask) {
		uint32_t idx = table_written(&stack_index_written, stack_index,
					     &stack_index[i]) ?
			       stack_index[i] : 0;
		struct kmem_stats_prof_stack *st;

		if (!idx)
			break;
		st = &stacks[idx - 1];
		if (st->nr_frames == n &&
		    !memcmp(st->frames, pcs, n * sizeof(*pcs)))
			return st;
	}
	if (prof->nr_stacks >= prof->max_stacks)
		return &stacks[0];
	stack_index[i] = prof->nr_stacks + 1;
	table_mark(&stack_index_written, stack_index, &stack_index[i],
		   sizeof(*stack_index));
	{
		struct kmem_stats_prof_stack *st = &stacks[prof->nr_stacks++];

		st->nr_frames = n;
		memcpy(st->frames, pcs, n * sizeof(*pcs));
		/* Before the record's counts say it is in use. */
		memcpy(kmem_pub(st)->frames, pcs, n * sizeof(*pcs));
		return st;
	}
}

/* ---- the hooks ------------------------------------------------------ */

/*
 * The stack cache.  Unwinding is most of a sample's cost (about 15,000
 * instructions), and a program that allocates big blocks in a loop is
 * sampled often from the same place.  A capture that passed no signal
 * frame records, per frame, the stack address that holds the frame's pc
 * as a return address (kmem_stack_capture_slots()).  It is cached under
 * the call's key: the API caller's return address and the address it was
 * found at (the top of the API function's frame, seen by the sampler,
 * which the API functions reach by a tail call).  A later sample with the
 * same key reads those stack words: if each still holds its frame's pc,
 * the chain is the same one (frame k's position is fixed by the frame
 * below it and their pcs, so the first frame that differs has its return
 * address at a checked, live, slot), and the unwinder is not run.
 * Entries are replaced on collision; prof_lock protects them.
 */
#define PROF_CACHE_BITS	10
#define PROF_CACHE	(1U << PROF_CACHE_BITS)

struct prof_cached {
	unsigned long caller;		/* the API caller's return address */
	unsigned long ra;		/* where it was found */
	uint32_t stack;			/* its record (never 0: overflow) */
	uint32_t nr;			/* frames */
	unsigned long slots[KMEM_PROF_FRAMES];
};

static struct prof_cached *stack_cache;
static struct prof_written stack_cache_written __section_data;

static struct prof_cached *cache_slot(unsigned long caller, unsigned long ra)
{
	return &stack_cache[addr_bucket(caller ^ (ra * 0x9e3779b97f4a7c15ULL),
					PROF_CACHE_BITS)];
}

/*
 * The cached record for this call, if its chain is still on the stack.
 * Reads this thread's live return-address slots only (see above); not
 * instrumented, since ASan may keep redzones between frames.
 */
static __attribute__((no_sanitize("address")))
struct kmem_stats_prof_stack *cache_find(unsigned long caller,
						unsigned long ra)
{
	struct prof_cached *e = cache_slot(caller, ra);
	struct kmem_stats_prof_stack *st;

	/* An entry on a page never written is empty (nr 0): not read. */
	if (!table_written(&stack_cache_written, stack_cache, e))
		return NULL;
	if (e->caller != caller || e->ra != ra || !e->nr)
		return NULL;
	st = &stacks[e->stack];
	for (uint32_t k = 1; k < e->nr; k++)
		if (*(const unsigned long *)e->slots[k] != st->frames[k])
			return NULL;
	return st;
}

static void cache_store(unsigned long caller, unsigned long ra,
			struct kmem_stats_prof_stack *st, const unsigned long *slots)
{
	struct prof_cached *e = cache_slot(caller, ra);

	/* Frame 0 is the API caller, whose pc lies at @ra. */
	if (st == &stacks[0] || slots[0] != ra || st->frames[0] != caller)
		return;
	for (uint32_t k = 1; k < st->nr_frames; k++)
		if (!slots[k])
			return;
	table_mark(&stack_cache_written, stack_cache, e,
		   offsetof(struct prof_cached, slots) +
		   st->nr_frames * sizeof(*slots));
	e->caller = caller;
	e->ra = ra;
	e->stack = (uint32_t)(st - stacks);
	e->nr = st->nr_frames;
	memcpy(e->slots, slots, st->nr_frames * sizeof(*slots));
}

/*
 * Forget the live sample @s, out of its hash chain or page link already
 * (prof_lock held): out of its record's live counts and its page's
 * count, its node back.  The caller publishes the totals.
 */
static void sample_forget_locked(struct prof_sample *s)
{
	struct kmem_stats_prof_stack *st = &stacks[s->stack];

	st->live_samples--;
	st->live_bytes -= s->size;
	st->live_est_bytes -= s->est_bytes;
	st->live_est_objs -= s->est_objs;
	stack_publish(st);
	prof->live_samples--;
	if (s->linked)
		nr_linked--;
	else if (s->page)
		page_unref(s->page);
	node_put((union prof_node *)s);
}

/* Forget the live sample *@sp of the sample hash (prof_lock held). */
static void sample_drop_locked(struct prof_sample **sp)
{
	struct prof_sample *s = *sp;

	*sp = s->next;
	sample_hash.count--;
	sample_forget_locked(s);
}

/*
 * The sample linked from @page, if it is the one at @addr (prof_lock
 * held): the only object of a large block, sampled at its head, is found
 * from the descriptor the free path holds, without the hashes.  A block
 * freed while its thread was inside the profiler (lost_frees) keeps its
 * sample live, as a hashed one does; its block's next user starts with
 * flags 0 (large_setup()), so a stale link is never followed.
 */
static struct prof_sample *sample_linked(struct page *page, unsigned long addr)
{
	struct prof_sample *s;

	if (page_type(page) != PG_large ||
	    !(page->flags & PGF_prof_linked))
		return NULL;
	s = page->prof_sample;
	return s->addr == addr ? s : NULL;
}

/*
 * Unlink @page's sample @s and forget it (prof_lock held).  The flags of
 * a large block's head change without a locked instruction, here and in
 * prof_insert_locked(): the block belongs to the thread that allocates or
 * frees it, and no other thread writes its descriptor meanwhile (a slab
 * page's flags, which threads share, are changed atomically: page_ref()).
 * Two locked instructions were a fifth of a sampled 1 MiB block's cost
 * (Documentation/profiling.md, "Overhead").
 */
static void sample_unlink_locked(struct page *page, struct prof_sample *s)
{
	page->prof_sample = NULL;
	__atomic_store_n(&page->flags, page->flags &
			 (unsigned char)~(PGF_sampled | PGF_prof_linked),
			 __ATOMIC_RELAXED);
	sample_forget_locked(s);
}

/*
 * Record @p under @st (prof_lock held).  Weights: the sample stands for
 * 1/p allocations of @size bytes, p = 1 - exp(-size / rate).
 */
static void prof_insert_locked(void *p, size_t size, struct page *page,
			       struct kmem_stats_prof_stack *st)
{
	struct prof_sample *s, **sp = NULL;
	bool linked;

	if (unlikely(!tls_weight.valid || tls_weight.size != size)) {
		double prob = -prof_expm1_neg((double)size / (double)prof_rate);
		double w = prob > 0 ? 1.0 / prob : (double)prof_rate;

		tls_weight.size = size;
		tls_weight.est_bytes = (uint64_t)((double)size * w + 0.5);
		tls_weight.est_objs = (uint64_t)(w * KMEM_PROF_OBJS_SCALE + 0.5);
		tls_weight.valid = true;
	}
	/*
	 * A large block's head: the only object of its pages, linked from
	 * its descriptor (sample_linked()), in neither hash.  Otherwise
	 * hashed by address and counted in its page.
	 */
	linked = page && page_type(page) == PG_large &&
		 page_to_addr(page) == (unsigned long)p;
	if (!linked) {
		sp = sample_slot((unsigned long)p, true);
		/* a sample we never saw freed (a leak at cache destroy) */
		if (*sp)
			sample_drop_locked(sp);
	}
	s = &node_get()->s;
	if (s == (struct prof_sample *)NULL ||
	    (page && !linked && !page_ref(page))) {
		if (s != (struct prof_sample *)NULL)
			node_put((union prof_node *)s);
		prof->no_room++;
		return;
	}
	s->addr = (unsigned long)p;
	s->page = page;
	s->size = size;
	s->est_bytes = tls_weight.est_bytes;
	s->est_objs = tls_weight.est_objs;
	s->stack = (uint32_t)(st - stacks);
	s->linked = linked;
	/* The rest of the chain, if a stale sample was dropped from it. */
	s->next = linked ? NULL : *sp;
	if (linked) {
		page->prof_sample = s;
		__atomic_store_n(&page->flags,
				 page->flags | PGF_sampled | PGF_prof_linked,
				 __ATOMIC_RELAXED);
		nr_linked++;
	} else {
		*sp = s;
		prof_hash_added(&sample_hash);
	}
	if (!page)
		WRITE_ONCE(kmem_prof_huge, true);
	st->live_samples++;
	st->live_bytes += size;
	st->live_est_bytes += s->est_bytes;
	st->live_est_objs += s->est_objs;
	st->total_samples++;
	st->total_bytes += size;
	st->total_est_bytes += s->est_bytes;
	st->total_est_objs += s->est_objs;
	stack_publish(st);
	prof->samples++;
	prof->live_samples++;
}

/*
 * Record @p: its stack from the cache, or captured.  @ra: where the API
 * caller's return address @caller lies on the stack, or 0 if unknown.
 */
static void prof_record(void *p, size_t size, unsigned long caller,
			unsigned long ra)
{
	unsigned long pcs[KMEM_PROF_FRAMES], slots[KMEM_PROF_FRAMES];
	struct kmem_stats_prof_stack *st;
	struct page *page;
	unsigned int n = 0;

	page = kmem_addr_to_page(p);
	if (!page && !kmem_addr_is_ours(p))
		return;		/* the start-up arena: never freed */
	if (ra) {
		prof_lock();
		st = cache_find(caller, ra);
		if (st)
			goto insert;
		prof_unlock();
	}
	/*
	 * Announce the capture, then look for a fork in progress (seq_cst
	 * both: the fork handler sets the flag, then reads the count).  A
	 * thread that sees the flag first does not touch the count, so the
	 * fork waits only for captures already under way.
	 */
	slots[0] = 0;
	if (!__atomic_load_n(&prof_forking, __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&prof_capturing, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&prof_forking, __ATOMIC_SEQ_CST))
			n = ra ? kmem_stack_capture_slots(pcs, slots,
							  KMEM_PROF_FRAMES,
							  caller) :
				 kmem_stack_capture(pcs, KMEM_PROF_FRAMES,
						    caller);
		__atomic_sub_fetch(&prof_capturing, 1, __ATOMIC_RELEASE);
	}
	if (!n) {
		__atomic_add_fetch(&prof_skipped, 1, __ATOMIC_RELAXED);
		return;
	}
	prof_lock();
	if (unlikely(!prof) && !profile_unit_locked()) {
		prof_unlock();
		return;
	}
	st = stack_get(pcs, n);
	if (ra)
		cache_store(caller, ra, st, slots);
insert:
	prof_insert_locked(p, size, page, st);
	totals_publish();
	prof_unlock();
}

/**
 * kmem_prof_sample - the countdown went below zero: sample, or set it up
 * @p:      the allocation (NULL: failed, nothing to record)
 * @size:   bytes asked for
 * @caller: the API caller's return address
 *
 * A thread's first call seeds it and draws its first distance: the
 * allocation is sampled only if it crosses that distance too.
 *
 * Context: no kmem lock held; any thread, signal handlers included.
 * Return: @p.
 */
noinline void *kmem_prof_sample(void *p, size_t size, unsigned long caller)
{
	long left = kmem_prof_left;
	unsigned long ra;

	if (!__atomic_load_n(&prof_ready, __ATOMIC_ACQUIRE)) {
		/* Start-up: look again at the next allocation; off: never. */
		kmem_prof_left = __atomic_load_n(&kmem_init_state,
						 __ATOMIC_ACQUIRE) == 2 &&
					 (!prof_rate ||
					  __atomic_load_n(&prof_unit_failed,
							  __ATOMIC_RELAXED)) ?
					 LONG_MAX : 0;
		return p;
	}
	if (unlikely(!tls_rng)) {
		prof_seed_thread();
		left += kmem_prof_draw();
		if (left >= 0) {
			kmem_prof_left = left;
			return p;
		}
	}
	kmem_prof_left = kmem_prof_draw();
	/* NULL, or kmalloc(0)'s token: nothing lives in the first page. */
	if ((unsigned long)p < PAGE_SIZE)
		return p;
	if (tls_busy || kmem_stack_capturing()) {
		__atomic_add_fetch(&prof_skipped, 1, __ATOMIC_RELAXED);
		return p;
	}
	/*
	 * Reached by a tail call from the API function, this function's
	 * return address is the API caller's, just above its frame: the
	 * stack cache's key.  Otherwise (called from inside kmem) no key.
	 */
	ra = (unsigned long)((unsigned long *)__builtin_frame_address(0) + 1);
	if (*(unsigned long *)ra != caller)
		ra = 0;
	tls_busy = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	prof_record(p, size, caller, ra);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tls_busy = false;
	return p;
}

/* Remove the sample at @addr, if any (prof_lock held). */
static void prof_remove_locked(unsigned long addr)
{
	struct prof_sample **sp = sample_slot(addr, false);

	if (!*sp)
		return;
	sample_drop_locked(sp);
	totals_publish();
}

static void prof_free_common(const void *p, struct page *page)
{
	if (!__atomic_load_n(&prof_ready, __ATOMIC_ACQUIRE))
		return;
	if (tls_busy) {
		__atomic_add_fetch(&prof_lost_frees, 1, __ATOMIC_RELAXED);
		return;
	}
	tls_busy = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	prof_lock();
	if (page) {
		struct prof_sample *s = sample_linked(page, (unsigned long)p);
		struct prof_sample **sp;

		if (s) {
			sample_unlink_locked(page, s);
			totals_publish();
			goto out;
		}
		sp = sample_slot((unsigned long)p, false);

		if (!*sp) {
			/* Another object of a flagged page: keep the flag
			 * while the page has samples. */
			struct prof_page **pp = prof_page_slot(page, false);

			if (!*pp)
				__atomic_fetch_and(&page->flags,
						   (unsigned char)~PGF_sampled,
						   __ATOMIC_RELAXED);
			goto out;
		}
	}
	prof_remove_locked((unsigned long)p);
out:
	prof_unlock();
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tls_busy = false;
}

/**
 * kmem_prof_free - an object of a PGF_sampled page is being freed
 * @p:    the object, still allocated
 * @page: the descriptor of the page holding its first byte
 *
 * Context: before the free proper, no kmem lock held.
 */
noinline void kmem_prof_free(const void *p, struct page *page)
{
	prof_free_common(p, page);
}

/**
 * kmem_prof_free_huge - a HUGE mapping is being freed (kmem_prof_huge)
 * @p: its address
 */
noinline void kmem_prof_free_huge(const void *p)
{
	prof_free_common(p, NULL);
}

/* ---- start-up, fork, exit ------------------------------------------- */

/* The header says whether the process profiles (the unit comes later). */
static void profile_header_publish(void)
{
	struct kmem_stats_header *h = kmem_region;

	if (!h)
		return;
	bool on = prof_on && !__atomic_load_n(&prof_unit_failed,
					      __ATOMIC_RELAXED);

	WRITE_ONCE(h->profile_rate, on ? (uint64_t)prof_rate : 0);
	WRITE_ONCE(h->profile_max_stacks, on ? (uint64_t)prof_max : 0);
}

/*
 * profile_unit_locked - the published unit, made at the first sample
 *
 * A program's first sample makes it: its header and the overflow record
 * 0, published.  Without room for it in the statistics region, profiling
 * goes off (as at start-up without memory for the tables), once.
 *
 * Context: prof_lock held.
 * Return: true when the unit exists.
 */
static bool profile_unit_locked(void)
{
	struct kmem_stats_profile *u;
	struct kmem_stats_prof_stack *recs;

	if (likely(prof))
		return true;
	if (__atomic_load_n(&prof_unit_failed, __ATOMIC_RELAXED))
		return false;
	u = kmem_region_alloc(KMEM_UNIT_PROFILE,
			      sizeof(*u) + prof_max * sizeof(*recs));
	if (!u) {
		__atomic_store_n(&prof_unit_failed, true, __ATOMIC_RELAXED);
		kmem_printk("kmem: profiling off: no room for its records\n");
		/* Each thread's next sample puts its countdown out of reach. */
		__atomic_store_n(&prof_ready, false, __ATOMIC_RELEASE);
		profile_header_publish();
		return false;
	}
	recs = (struct kmem_stats_prof_stack *)(u + 1);
	u->rate = prof_rate;
	u->max_stacks = (uint32_t)prof_max;
	u->nr_stacks = 1;			/* record 0: overflow */
	u->stack_off = sizeof(*u);
	u->stack_size = sizeof(*recs);
	u->max_frames = KMEM_PROF_FRAMES;
	recs[0].flags = KMEM_PROF_STACK_OVERFLOW;
	kmem_region_publish(u, sizeof(*u));
	stack_publish(&recs[0]);
	/*
	 * The unit is in the published layout already (a reader walking the
	 * units finds it): its magic goes last, so that a reader that sees
	 * it sees the rest (kmeminfo takes a unit without it for none yet).
	 */
	u->magic = KMEM_PROFILE_MAGIC;
	__atomic_store_n(&kmem_pub(u)->magic, KMEM_PROFILE_MAGIC,
			 __ATOMIC_RELEASE);
	stacks = recs;
	prof = u;
	totals_publish();	/* what was skipped before it */
	return true;
}

/**
 * profile_init - set up the tables; the published unit waits for the
 * first sample (profile_unit_locked())
 *
 * KMEM_PROFILE_RATE=0, or no memory for the tables: profiling stays off
 * (every thread's countdown is put out of reach at its first call).
 *
 * Context: start-up (kmem_init), after the region and the page
 * allocator; no malloc.
 */
static void profile_init(void)
{
	unsigned long max = kmem_config.profile_max_stacks, idx = 1;
	size_t nodes_len;

	prof_rate = kmem_config.profile_rate;
	prof_seed = kmem_config.profile_seed;
	if (!prof_rate)
		return;
	BUILD_BUG_ON((sizeof(void *) << PROF_SAMPLE_MAX_BITS) >
		     PROF_TABLE_PAGES_MAX * PAGE_SIZE);
	BUILD_BUG_ON((sizeof(void *) << PROF_PAGE_MAX_BITS) >
		     PROF_TABLE_PAGES_MAX * PAGE_SIZE);
	BUILD_BUG_ON(PROF_CACHE * sizeof(struct prof_cached) >
		     PROF_TABLE_PAGES_MAX * PAGE_SIZE);
	while (idx < 2 * max)
		idx <<= 1;
	/* KMEM_PROFILE_MAX_STACKS is at most 2^20 (core/config.c). */
	BUG_ON(idx * sizeof(*stack_index) > PROF_TABLE_PAGES_MAX * PAGE_SIZE);
	nodes_max = PROF_MAX_SAMPLES;
	nodes_len = ALIGN(nodes_max * sizeof(union prof_node), PAGE_SIZE);
	stack_index = kmem_os_map(ALIGN(idx * sizeof(*stack_index), PAGE_SIZE),
				  PAGE_SIZE);
	nodes = kmem_os_map(nodes_len, PAGE_SIZE);
	stack_cache = kmem_os_map(ALIGN(PROF_CACHE * sizeof(*stack_cache),
					PAGE_SIZE), PAGE_SIZE);
	if (!stack_index || !prof_hash_init(&sample_hash) ||
	    !prof_hash_init(&page_hash) || !nodes || !stack_cache) {
		kmem_printk("kmem: profiling off: no memory for its tables\n");
		prof_rate = 0;
		return;
	}
	stack_index_mask = idx - 1;
	prof_max = max;
	prof_on = true;
	profile_header_publish();
	__atomic_store_n(&prof_ready, true, __ATOMIC_RELEASE);
}

/*
 * Write the profile anew (fork child, a descriptor the program took).
 * Context: every kmem lock held, or a fork child.
 */
static void profile_republish_locked(void)
{
	profile_header_publish();
	if (!prof)
		return;
	kmem_region_publish(prof, sizeof(*prof));
	for (uint32_t i = 0; i < prof->nr_stacks; i++) {
		stacks[i].seq &= ~1ULL;
		kmem_region_publish(&stacks[i], sizeof(stacks[i]));
	}
	totals_publish();
}

/*
 * Fork, before any lock is taken: no capture in flight.  Captures that
 * start from now until the fork is done are skipped.  This cannot wait
 * with a kmem lock held: a capture may need the loader's lock, which a
 * thread inside dlopen() holds while it allocates.
 */
static void profile_fork_prepare(void)
{
	if (!prof_on)
		return;
	__atomic_store_n(&prof_forking, true, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&prof_capturing, __ATOMIC_SEQ_CST))
		sched_yield();
}

/* Fork and republishing: prof_lock, at its rank (core/lock.h). */
static void profile_lock(void)
{
	if (prof_on)
		prof_lock();
}

static void profile_unlock(void)
{
	if (prof_on)
		prof_unlock();
}

static void profile_fork_parent(void)
{
	__atomic_store_n(&prof_forking, false, __ATOMIC_RELEASE);
}

static void profile_fork_child(void)
{
	if (!prof_on)
		return;
	kmem_mutex_reinit(&prof_mutex);
	prof_capturing = 0;
	__atomic_store_n(&prof_forking, false, __ATOMIC_RELEASE);
}

/**
 * kmem_profile_validate - the private tables agree with the records
 *
 * Every live sample is in the hash chain of its address, in a page whose
 * count includes it, or linked from its large block's page, and the
 * stacks' live counts add up to the total.
 *
 * Return: true if consistent.
 */
bool kmem_profile_validate(void)
{
	uint64_t live = 0, chained = 0;
	bool ok = true;

	if (!prof_on)
		return true;
	prof_lock();
	if (!prof) {		/* no sample yet: nothing to check */
		ok = !sample_hash.count && !nr_linked;
		prof_unlock();
		return ok;
	}
	for (uint32_t i = 0; i < prof->nr_stacks; i++)
		live += stacks[i].live_samples;
	for (unsigned long b = 0; b < 1UL << sample_hash.bits; b++) {
		/* A page never written holds no chain (prof_written). */
		if (sample_hash.bucket[b] &&
		    !table_written(sample_hash.written, sample_hash.bucket,
				   &sample_hash.bucket[b]))
			ok = false;
		for (struct prof_sample *s = sample_hash.bucket[b]; s;
		     s = s->next) {
			chained++;
			if (addr_bucket(s->addr, sample_hash.bits) != b ||
			    s->stack >= prof->nr_stacks)
				ok = false;
			if (s->page && (!*prof_page_slot(s->page, false) ||
					!(s->page->flags & PGF_sampled)))
				ok = false;
		}
	}
	if (live != prof->live_samples || chained + nr_linked != live ||
	    chained != sample_hash.count)
		ok = false;
	prof_unlock();
	return ok;
}

/* ---- KMEM_PROFILE_AT_EXIT ------------------------------------------- */

#define EXIT_MAPS	512

/* The executable mappings, for "module+0xoffset" (file offsets). */
static struct exit_map {
	unsigned long start, end, offset;
	char name[96];
} exit_maps[EXIT_MAPS] __bss_cold;
static unsigned int nr_exit_maps;

static unsigned long parse_hex(const char **p)
{
	unsigned long v = 0;

	for (;; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned long)(c - 'a' + 10);
		else
			return v;
	}
}

/* One line of /proc/self/maps: keep it if it maps a file executable. */
static void exit_map_line(const char *l)
{
	struct exit_map *m = &exit_maps[nr_exit_maps];
	const char *name, *slash;
	char perms[5];

	if (nr_exit_maps == EXIT_MAPS)
		return;
	m->start = parse_hex(&l);
	if (*l++ != '-')
		return;
	m->end = parse_hex(&l);
	if (*l++ != ' ')
		return;
	memcpy(perms, l, 4);
	perms[4] = '\0';
	l += 5;
	m->offset = parse_hex(&l);
	name = strchr(l, '/');
	if (perms[2] != 'x' || !name)
		return;
	slash = strrchr(name, '/');
	kmem_snprintf(m->name, sizeof(m->name), "%s", slash + 1);
	nr_exit_maps++;
}

static void exit_maps_read(void)
{
	char buf[4096], line[512];
	size_t used = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	nr_exit_maps = 0;
	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (used < sizeof(line) - 1)
					line[used++] = buf[i];
				continue;
			}
			line[used] = '\0';
			exit_map_line(line);
			used = 0;
		}
	}
	close(fd);
}

static int exit_frame(char *buf, size_t len, uint64_t pc)
{
	for (unsigned int i = 0; i < nr_exit_maps; i++) {
		const struct exit_map *m = &exit_maps[i];

		if (pc - 1 >= m->start && pc - 1 < m->end)
			return kmem_snprintf(buf, len, "    %s+0x%lx\n", m->name,
					     (unsigned long)pc - m->start +
						     m->offset);
	}
	return kmem_snprintf(buf, len, "    0x%llx\n", (unsigned long long)pc);
}

static void exit_write(int fd, const char *line, int n, size_t len)
{
	if (n > 0)
		kmem_write_all(fd, line, min((size_t)n, len - 1));
}

/**
 * profile_at_exit - KMEM_PROFILE_AT_EXIT: the sites still live
 *
 * The call sites whose sampled allocations were never freed, largest
 * estimate first, in the text format of "kmeminfo profile" with each
 * frame as module+0xoffset (the offset in the file: addr2line -e module
 * names it): the library never reads symbols.  No stdio, no malloc: the
 * C library may be half torn down.
 *
 * Context: exit(), from the library's destructor.
 */
static void profile_at_exit(void)
{
	uint64_t live = 0, live_objs = 0, total = 0, done = 0, last_max = ~0ULL;
	uint32_t last_idx = 0;
	char comm[17] = "", line[256];
	unsigned int rank = 0;
	int fd = 2, n;
	/* No sample yet: no unit (profile_unit_locked()); zero figures. */
	static const struct kmem_stats_prof_stack no_stacks[1];
	struct kmem_stats_profile none = {
		.rate = prof_rate, .max_stacks = (uint32_t)prof_max,
		.nr_stacks = 1,
	};
	const struct kmem_stats_profile *h;
	const struct kmem_stats_prof_stack *recs;

	if (!kmem_config.profile_at_exit || !prof_on ||
	    __atomic_load_n(&prof_unit_failed, __ATOMIC_RELAXED))
		return;
	if (*kmem_config.profile_at_exit) {
		fd = kmem_output_open(kmem_config.profile_at_exit,
				      "KMEM_PROFILE_AT_EXIT");
		if (fd < 0)
			return;
	}
	exit_maps_read();
	prof_lock();
	h = prof ? prof : &none;
	recs = prof ? stacks : no_stacks;
	for (uint32_t i = 0; i < h->nr_stacks; i++) {
		live += recs[i].live_est_bytes;
		live_objs += recs[i].live_est_objs;
		total += recs[i].total_est_bytes;
	}
	prctl(PR_GET_NAME, comm, 0, 0, 0);
	n = kmem_snprintf(line, sizeof(line),
			  "kmem profile of PID %d (%s) at exit: one sample per %llu bytes on average\n",
			  (int)getpid(), comm, (unsigned long long)h->rate);
	exit_write(fd, line, n, sizeof(line));
	n = kmem_snprintf(line, sizeof(line),
			  "live: %llu bytes in %llu objects (estimated from %llu samples); allocated since start: %llu bytes\n",
			  (unsigned long long)live,
			  (unsigned long long)(live_objs / KMEM_PROF_OBJS_SCALE),
			  (unsigned long long)h->live_samples,
			  (unsigned long long)total);
	exit_write(fd, line, n, sizeof(line));
	n = kmem_snprintf(line, sizeof(line),
			  "stacks: %u of %u recorded; overflow: %llu samples (%llu live bytes) without room; skipped: %llu; lost frees: %llu; no room: %llu\nsorted by live\n",
			  h->nr_stacks - 1, h->max_stacks - 1,
			  (unsigned long long)recs[0].total_samples,
			  (unsigned long long)recs[0].live_est_bytes,
			  (unsigned long long)__atomic_load_n(&prof_skipped, __ATOMIC_RELAXED),
			  (unsigned long long)__atomic_load_n(&prof_lost_frees, __ATOMIC_RELAXED),
			  (unsigned long long)h->no_room);
	exit_write(fd, line, n, sizeof(line));
	/* Largest first, without a sort buffer: one pass per site printed. */
	while (done < h->live_samples) {
		const struct kmem_stats_prof_stack *st = NULL;
		uint32_t idx = 0;
		uint64_t share;

		for (uint32_t i = 0; i < h->nr_stacks; i++) {
			const struct kmem_stats_prof_stack *c = &recs[i];

			if (!c->live_samples || c->live_est_bytes > last_max ||
			    (c->live_est_bytes == last_max && i <= last_idx &&
			     rank))
				continue;
			if (!st || c->live_est_bytes > st->live_est_bytes) {
				st = c;
				idx = i;
			}
		}
		if (!st)
			break;
		last_max = st->live_est_bytes;
		last_idx = idx;
		done += st->live_samples;
		share = live ? st->live_est_bytes * 1000 / live : 0;
		n = kmem_snprintf(line, sizeof(line),
				  "\n#%u live %llu bytes, %llu objects, %llu.%llu%% of live; total %llu bytes, %llu objects; samples %llu live, %llu total\n",
				  ++rank, (unsigned long long)st->live_est_bytes,
				  (unsigned long long)((st->live_est_objs +
							KMEM_PROF_OBJS_SCALE / 2) /
						       KMEM_PROF_OBJS_SCALE),
				  (unsigned long long)(share / 10),
				  (unsigned long long)(share % 10),
				  (unsigned long long)st->total_est_bytes,
				  (unsigned long long)((st->total_est_objs +
							KMEM_PROF_OBJS_SCALE / 2) /
						       KMEM_PROF_OBJS_SCALE),
				  (unsigned long long)st->live_samples,
				  (unsigned long long)st->total_samples);
		exit_write(fd, line, n, sizeof(line));
		if (st->flags & KMEM_PROF_STACK_OVERFLOW)
			exit_write(fd, "    [stacks beyond KMEM_PROFILE_MAX_STACKS]\n",
				   44, 64);
		for (uint32_t k = 0; k < st->nr_frames; k++) {
			n = exit_frame(line, sizeof(line), st->frames[k]);
			exit_write(fd, line, n, sizeof(line));
		}
	}
	prof_unlock();
	if (fd != 2)
		close(fd);
}

/*
 * The profiler's steps, run by core/init.c: started with the page
 * allocator's layer (after the region and the zone), locked at
 * LOCK_RANK_PROFILE, after every lock of slab and buddy.
 */
KMEM_LAYER(profile_layer, "profile", LAYER_BUDDY, LOCK_RANK_PROFILE,
	.init = profile_init, .fork_prepare = profile_fork_prepare,
	.lock = profile_lock, .republish = profile_republish_locked,
	.unlock = profile_unlock, .fork_parent = profile_fork_parent,
	.fork_child = profile_fork_child, .exit = profile_at_exit);
