// SPDX-License-Identifier: MIT
/*
 * buddy/buddy.c - the buddy page allocator.
 *
 * One zone ("Node 0, zone Normal") holds every free block, on one free list
 * per order 0..MAX_PAGE_ORDER.  A block of order n is 2^n pages aligned to
 * 2^n pages.  Allocation takes the smallest free block that fits and splits
 * it, putting the unused halves back one order down each time (expand()).
 * Freeing merges the block with its buddy while the buddy is free and of
 * the same order (__free_one_page()).
 *
 * States of a block (see struct page in buddy.h for the descriptor side):
 *
 *   free in zone (PG_buddy) --alloc--> allocated (PG_alloc/PG_large/PG_slab)
 *        ^  \                               |
 *        |   `--pcp refill--> per-thread list (PG_pcp) --pcp alloc--'
 *        `---------------------------- free ----------------------------'
 *
 * Max-order free blocks have two more states: resident (on
 * free_area[MAX_PAGE_ORDER], newest first, stamped with the time they were
 * freed) and released (on zone->released: their pages were given back with
 * MADV_DONTNEED; the range stays mapped and reads as zeros).  A resident
 * block older than kmem_config.decay_ms is released by whichever comes
 * first: the reaper thread (so an idle process gives memory back too), the
 * next zone-locked operation that notices it, or kmem_shrink_all().  The
 * reaper's hooks (the slab depot trim) run before it releases and before
 * it computes its next deadline; pages they free are cold (stamped
 * expired).
 * Allocation prefers resident blocks (hot, no page faults) to released ones.
 * A section whose blocks are all released is unmapped once more than
 * kmem_config.retain_sections such sections exist.
 *
 * Fast path: orders 0..3 are served from the calling thread's lists
 * (buddy/pcp.c) without a lock.  Slow path: the zone lock; then a new
 * section from the OS if the flags allow it (__GFP_DIRECT_RECLAIM).
 *
 * Lock order: kmem_thread_lock -> (slab locks) -> reaper_mutex ->
 * zone_os_lock -> zone->lock -> section_lock -> region.  The zone lock is
 * never held across mmap or madvise; zone memory that is off the books
 * meanwhile (blocks being released, taken off the lists; a section
 * between its removal and its unmapping; a new section between mmap and
 * its blocks joining the lists) is so only under zone_os_lock, which
 * fork() holds too: a child never inherits memory that is on no list.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "buddy/buddy.h"

struct zone kmem_zone = { .lock = KMEM_LOCK_INIT };

struct buddy_config buddy_config = {
	.pcp_high = { 32, 8, 4, 2, 1, 1, 1, 1, 1 },
	.pcp_batch = { 8, 2, 1, 1, 1, 1, 1, 1, 1 },
	.pcp_large_cap = 1UL << 20,
};

/*
 * Held across every step where zone memory is in no list (see the lock
 * order above): release_blocks() and zone_grow().  fork() takes it, so it
 * never copies a half-done release or growth into a child, whose copy of
 * that memory would be stranded (resident, counted, reachable by no one).
 */
static struct kmem_lock zone_os_lock = KMEM_LOCK_INIT;
static unsigned long nr_releasing;	/* zone lock: blocks off-list */

/*
 * The zone's clock, for stamping freed max-order blocks: read from the OS
 * every 64 zone operations and on every reaper pass, not on every free.
 * A stamp is at most that stale, which only releases a block a little
 * sooner than KMEM_DECAY_MS.
 */
static unsigned long zone_clock_ms;	/* READ_ONCE outside the zone lock */
static unsigned int zone_clock_uses;	/* zone lock */

static unsigned long zone_clock(void)
{
	lock_assert_held(&kmem_zone.lock);
	if (++zone_clock_uses >= 64 || !READ_ONCE(zone_clock_ms)) {
		zone_clock_uses = 0;
		WRITE_ONCE(zone_clock_ms, kmem_now_ms());
	}
	return READ_ONCE(zone_clock_ms);
}
static unsigned long nr_decay_pending;	/* zone lock: resident max blocks */
static __thread bool tls_reaper __tls_ie;	/* this thread is the reaper */

/*
 * Is the calling thread freeing cold pages?  Only the reaper does, from
 * its hooks: a max-order block it completes is stamped as already
 * expired.
 */
static inline bool buddy_free_is_cold(void)
{
	return tls_reaper;
}

static unsigned long max_resident;	/* zone lock: peak of the resident bytes */

/**
 * buddy_max_resident - the most bytes of sections ever resident at once
 *
 * Resident: mapped and not released (kmem_buddyinfo.resident), which only
 * grows when a released max-order block is taken (new sections arrive
 * released).  For malloc_info()'s <system type="max">.
 *
 * Context: any (a racy read of a figure that only grows).
 */
unsigned long buddy_max_resident(void)
{
	return READ_ONCE(max_resident);
}

/*
 * The published figures (include/kmem/stats.h) are kept in the region
 * header as they change: the free-list counts by add_to_free_list() and
 * del_from_free_list(), the rest by publish_buddy_locked() when sections
 * come and go or blocks are released.  buddy_seq is odd while the zone
 * lock is held, so a reader can tell a consistent set from a torn one.
 */
static uint64_t buddy_seq;	/* zone lock; the header has a copy */

static void zone_lock(void)
{
	struct kmem_stats_header *h = kmem_region;

	kmem_lock(&kmem_zone.lock);
	buddy_seq++;
	if (likely(h))
		__atomic_store_n(&h->buddy_seq, buddy_seq, __ATOMIC_RELAXED);
}

/* Unlock after only reading the zone (statistics, validation). */
static void zone_unlock_read(void)
{
	struct kmem_stats_header *h = kmem_region;

	buddy_seq++;
	if (likely(h))
		__atomic_store_n(&h->buddy_seq, buddy_seq, __ATOMIC_RELEASE);
	kmem_unlock(&kmem_zone.lock);
}

static void __maybe_unused zone_expensive_check(void);

/*
 * Dropping the zone lock ends a zone operation (or a step of one: the
 * lock is dropped around mmap and madvise with every block accounted for),
 * so the expensive debug tier checks the whole zone here.
 */
static void zone_unlock(void)
{
	KMEM_EXPENSIVE(zone_expensive_check());
	zone_unlock_read();
}

static void publish_buddy_locked(void)
{
	struct kmem_stats_header *h = kmem_region;
	struct zone *z = &kmem_zone;

	lock_assert_held(&z->lock);
	if (unlikely(!h))
		return;
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		h->nr_free[o] = z->free_area[o].nr_free;
	h->nr_free[MAX_PAGE_ORDER] += nr_releasing;
	h->managed_pages = z->managed_pages;
	h->free_pages = z->free_pages;
	h->mapped = z->nr_sections * SECTION_SIZE;
	h->retained = (z->nr_released + nr_releasing) *
		      (MAX_ORDER_NR_PAGES << PAGE_SHIFT);
	h->nr_sections = z->nr_sections;
}

/* One free list's count changed: publish it and the free total. */
static __always_inline void publish_free_area(unsigned int order)
{
	struct kmem_stats_header *h = kmem_region;

	if (likely(h)) {
		h->free_pages = kmem_zone.free_pages;
		h->nr_free[order] = kmem_zone.free_area[order].nr_free;
		if (order == MAX_PAGE_ORDER) {
			h->nr_free[order] += nr_releasing;
			h->retained = (kmem_zone.nr_released + nr_releasing) *
				      (MAX_ORDER_NR_PAGES << PAGE_SHIFT);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Free lists                                                          */
/* ------------------------------------------------------------------ */

static void add_to_free_list(struct page *page, unsigned int order)
{
	struct zone *z = &kmem_zone;

	page->type = PG_buddy;
	page->order = order;
	if (order == MAX_PAGE_ORDER && (page->flags & PGF_released)) {
		list_add_tail(&page->lru, &z->released);
		z->nr_released++;
	} else if (order == MAX_PAGE_ORDER) {
		struct list_head *top = &z->free_area[order].free_list;

		/*
		 * Newest first, so that expired blocks are a tail: a block
		 * stamped before the oldest (a cold one from the reaper's
		 * hooks) goes last.
		 */
		if (!list_empty(top) &&
		    page->stamp < list_last_entry(top, struct page, lru)->stamp)
			list_add_tail(&page->lru, top);
		else
			list_add(&page->lru, top);
		nr_decay_pending++;
	} else {
		list_add(&page->lru, &z->free_area[order].free_list);
	}
	z->free_area[order].nr_free++;
	z->free_pages += 1UL << order;
	publish_free_area(order);
}

static void del_from_free_list(struct page *page, unsigned int order)
{
	struct zone *z = &kmem_zone;

	list_del(&page->lru);
	if (order == MAX_PAGE_ORDER) {
		if (page->flags & PGF_released) {
			unsigned long resident;

			z->nr_released--;
			resident = z->nr_sections * SECTION_SIZE -
				   (z->nr_released + nr_releasing) *
					   (MAX_ORDER_NR_PAGES << PAGE_SHIFT);
			if (resident > max_resident)
				WRITE_ONCE(max_resident, resident);
		} else
			nr_decay_pending--;
	}
	z->free_area[order].nr_free--;
	z->free_pages -= 1UL << order;
	publish_free_area(order);
}

/*
 * expand - split a free block down to the order asked for
 * @page: head of the block taken off its list, of order @high
 * @low:  order wanted
 *
 * The upper half of each split goes back on the free list one order down;
 * it inherits PGF_zeroed (its pages were never handed out since they were
 * last known zero), not PGF_released (a released block is a max-order one).
 */
static void expand(struct page *page, unsigned int low, unsigned int high)
{
	unsigned char zeroed = page->flags & PGF_zeroed;

	while (high > low) {
		struct page *half;

		high--;
		half = page + (1UL << high);
		half->flags = zeroed;
		add_to_free_list(half, high);
	}
}

static void section_account_alloc_max(struct page *page)
{
	struct kmem_section *sec = page_sec(page);

	if (sec->nr_free_max == MAX_BLOCKS_PER_SECTION)
		kmem_zone.nr_free_sections--;
	sec->nr_free_max--;
}

/*
 * __rmqueue - take a block of @order from the zone
 *
 * Return: its head (type still PG_buddy, flags say whether it is zeroed),
 * or NULL when no free block is large enough.
 */
static struct page *__rmqueue(unsigned int order)
{
	struct zone *z = &kmem_zone;

	lock_assert_held(&z->lock);
	for (unsigned int o = order; o <= MAX_PAGE_ORDER; o++) {
		struct list_head *l = &z->free_area[o].free_list;
		struct page *page;

		if (list_empty(l)) {
			if (o < MAX_PAGE_ORDER || list_empty(&z->released))
				continue;
			l = &z->released;
		}
		page = list_first_entry(l, struct page, lru);
		del_from_free_list(page, o);
		if (o == MAX_PAGE_ORDER)
			section_account_alloc_max(page);
		page->flags &= (unsigned char)~(PGF_released | PGF_freed_head);
		expand(page, order, o);
		page->order = order;
		/*
		 * No longer free: once the lock is dropped a thread freeing
		 * the buddy must not see a PG_buddy head of this order.
		 */
		page->type = PG_alloc;
		return page;
	}
	return NULL;
}

/*
 * The buddy system, as in the kernel's __free_one_page():
 *
 * A block of order n at page index i (aligned to 2^n) has exactly one
 * buddy, the block at i ^ 2^n: together they form the order n+1 block at
 * i & ~2^n.  When a block is freed and its buddy is a free block of the
 * same order, the two are taken off their lists and merged, and the merged
 * block tries the same with its own buddy, up to MAX_PAGE_ORDER.  A free
 * block's head is PG_buddy with its order, so "is my buddy free and whole"
 * is one look at one descriptor; the page that stops being a head becomes
 * PG_tail.  Sections are aligned to more than the largest block, so a
 * buddy is always in the same section.
 */
static void __free_one_page(struct page *page, unsigned int order)
{
	struct page *base = desc_base(page);
	unsigned long idx = page_index(page);
	unsigned char zeroed = page->flags & PGF_zeroed;

	lock_assert_held(&kmem_zone.lock);
	VM_BUG_ON(idx & ((1UL << order) - 1));
	while (order < MAX_PAGE_ORDER) {
		unsigned long buddy_idx = idx ^ (1UL << order);
		struct page *buddy = base + buddy_idx;

		if (page_type(buddy) != PG_buddy || buddy->order != order)
			break;
		del_from_free_list(buddy, order);
		zeroed &= buddy->flags;
		if (buddy_idx < idx) {
			page->type = PG_tail;
			page = buddy;
			idx = buddy_idx;
		} else {
			buddy->type = PG_tail;
		}
		order++;
	}
	page->flags = (page->flags & PGF_freed_head) | zeroed;
	if (order == MAX_PAGE_ORDER) {
		struct kmem_section *sec = page_sec(page);

		page->stamp = zone_clock();
		if (buddy_free_is_cold())
			page->stamp = 0;	/* expired: see the reaper */
		if (++sec->nr_free_max == MAX_BLOCKS_PER_SECTION)
			kmem_zone.nr_free_sections++;
	}
	add_to_free_list(page, order);
}

/* Put a new section's blocks on the lists. */
static void zone_add_section(struct kmem_section *sec)
{
	struct zone *z = &kmem_zone;

	lock_assert_held(&z->lock);
	list_add_tail(&sec->node, &z->sections);
	WRITE_ONCE(z->nr_sections, z->nr_sections + 1);
	z->nr_free_sections++;
	z->managed_pages += PAGES_PER_SECTION;
	for (unsigned long i = 0; i < PAGES_PER_SECTION;
	     i += MAX_ORDER_NR_PAGES) {
		sec->pages[i].stamp = zone_clock();
		add_to_free_list(&sec->pages[i], MAX_PAGE_ORDER);
	}
	publish_buddy_locked();
}

/* ------------------------------------------------------------------ */
/* Release to the OS                                                   */
/* ------------------------------------------------------------------ */

static struct kmem_section *pick_section_to_unmap(void)
{
	struct zone *z = &kmem_zone;
	struct kmem_section *sec;

	lock_assert_held(&z->lock);
	if (z->nr_free_sections <= kmem_config.retain_sections)
		return NULL;
	list_for_each_entry(sec, &z->sections, node) {
		bool all_released = true;

		if (sec->nr_free_max != MAX_BLOCKS_PER_SECTION)
			continue;
		for (unsigned long i = 0; i < PAGES_PER_SECTION;
		     i += MAX_ORDER_NR_PAGES) {
			struct page *head = &sec->pages[i];

			if (head->type != PG_buddy ||
			    !(head->flags & PGF_released)) {
				all_released = false;
				break;
			}
		}
		if (all_released)
			return sec;
	}
	return NULL;
}

/* Take a wholly free, released section out of the zone. */
static void zone_remove_section(struct kmem_section *sec)
{
	struct zone *z = &kmem_zone;

	lock_assert_held(&z->lock);
	for (unsigned long i = 0; i < PAGES_PER_SECTION;
	     i += MAX_ORDER_NR_PAGES)
		del_from_free_list(&sec->pages[i], MAX_PAGE_ORDER);
	list_del(&sec->node);
	WRITE_ONCE(z->nr_sections, z->nr_sections - 1);
	z->nr_free_sections--;
	z->managed_pages -= PAGES_PER_SECTION;
	publish_buddy_locked();
}

/*
 * release_blocks - give back resident max-order blocks to the OS
 * @now:  current time (ms); blocks freed before now - decay_ms go
 * @all:  ignore the delay and buddy_config.keep_resident (shrink)
 * @wait: wait for a release in progress in another thread (else return)
 * @next: set to when the oldest remaining resident block expires, or 0
 *
 * The blocks are taken off the lists (still counted free) while madvise
 * runs without the zone lock, then put on the released list.  Afterwards
 * wholly released sections beyond the retained amount are unmapped.
 *
 * Context: zone lock not held; may sleep on zone_os_lock if @wait.
 * Return: the number of blocks released.
 */
static unsigned long release_blocks(unsigned long now, bool all, bool wait,
				    unsigned long *next)
{
	struct zone *z = &kmem_zone;
	struct list_head *top = &z->free_area[MAX_PAGE_ORDER].free_list;
	unsigned long n = 0;
	LIST_HEAD(batch);
	struct page *page, *tmp;
	unsigned long keep = READ_ONCE(buddy_config.keep_resident) >>
			     (PAGE_SHIFT + MAX_PAGE_ORDER);
	bool kept = false;

	if (!wait) {
		if (!kmem_trylock(&zone_os_lock))
			return 0;	/* another thread is releasing */
	} else {
		kmem_lock(&zone_os_lock);
	}
	zone_lock();
	while (!list_empty(top)) {
		page = list_last_entry(top, struct page, lru);
		if (!all && page->stamp + kmem_config.decay_ms > now)
			break;
		/* mallopt(M_TRIM_THRESHOLD): the newest blocks may stay. */
		if (!all && nr_decay_pending <= keep) {
			kept = true;
			break;
		}
		list_move(&page->lru, &batch);
		nr_decay_pending--;
		nr_releasing++;
		n++;
	}
	zone_unlock();

	list_for_each_entry(page, &batch, lru)
		kmem_os_release((void *)page_to_addr(page),
				MAX_ORDER_NR_PAGES << PAGE_SHIFT);

	zone_lock();
	list_for_each_entry_safe(page, tmp, &batch, lru) {
		list_del(&page->lru);
		nr_releasing--;
		page->flags |= PGF_released | PGF_zeroed;
		list_add_tail(&page->lru, &z->released);
		z->nr_released++;
	}
	for (;;) {
		struct kmem_section *sec = pick_section_to_unmap();

		if (!sec)
			break;
		zone_remove_section(sec);
		zone_unlock();
		section_destroy_buddy(sec);
		zone_lock();
	}
	/*
	 * Blocks kept for M_TRIM_THRESHOLD have no deadline: the next block
	 * freed sets one, and the oldest go then.
	 */
	if (next) {
		*next = 0;
		if (!kept && !list_empty(top)) {
			page = list_last_entry(top, struct page, lru);
			*next = page->stamp + kmem_config.decay_ms;
		}
	}
	WRITE_ONCE(z->next_decay_ms, 0);
	if (!kept && !list_empty(top))
		WRITE_ONCE(z->next_decay_ms,
			   list_last_entry(top, struct page, lru)->stamp +
				   kmem_config.decay_ms);
	publish_buddy_locked();
	zone_unlock();
	kmem_unlock(&zone_os_lock);
	return n;
}

/**
 * buddy_release_expired - release max-order blocks whose delay is over
 * @now_ms: current kmem_now_ms()
 *
 * Return: when the next resident block expires (ms), or 0 if none waits.
 */
unsigned long buddy_release_expired(unsigned long now_ms)
{
	unsigned long next;

	release_blocks(now_ms, false, true, &next);
	return next;
}

/**
 * buddy_release_all - release every free max-order block now
 *
 * Also unmaps wholly free sections beyond the retained amount.
 */
void buddy_release_all(void)
{
	release_blocks(0, true, true, NULL);
}

/* ------------------------------------------------------------------ */
/* The reaper: releases memory of idle processes                        */
/* ------------------------------------------------------------------ */

/*
 * The reaper sleeps on reaper_cond (CLOCK_MONOTONIC, so that setting the
 * wall clock neither delays nor hastens a release) until the earliest
 * deadline any pass reported, or without one when nothing waits.
 *
 * A kick says "a block or magazine that will expire at @due appeared".
 * No kick may be lost, whatever the reaper is doing:
 *  - asleep with a deadline at or before @due: nothing to do, it will
 *    see the new work when it wakes;
 *  - asleep without a deadline, or a later one: signal it;
 *  - awake (running a pass that may have looked at the zone before the
 *    new work appeared): set reaper_kicked, which it tests, after
 *    publishing that it is about to sleep, before it sleeps.
 * The kicker writes reaper_kicked then reads reaper_wait; the reaper
 * writes reaper_wait then reads reaper_kicked (both sequentially
 * consistent): at least one of them sees the other's write.  A kicker
 * that sees the reaper asleep signals under reaper_mutex, which the
 * reaper holds from its test until pthread_cond_timedwait() releases it.
 */
#define REAPER_AWAKE	0UL		/* reaper_wait: running a pass */
#define REAPER_NO_DEADLINE ULONG_MAX	/* reaper_wait: asleep, no deadline */

static pthread_mutex_t reaper_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reaper_cond;	/* CLOCK_MONOTONIC, reaper_maybe_start() */
static bool reaper_started;	/* reaper_mutex */
static unsigned long reaper_wait;	/* reaper_mutex; atomic reads */
static bool reaper_kicked;		/* atomic */
static void (*reaper_hooks[4])(unsigned long now_ms, unsigned long *next);
static unsigned int nr_reaper_hooks;

/**
 * buddy_reaper_add_hook - run @fn on every reaper pass
 * @fn: gets the time and lowers *next to when it wants to run again (ms,
 *      0: no wish).  Pages it frees are cold: they stayed unused for the
 *      decay time in the caller's layer, so the zone releases the
 *      max-order blocks they complete in the same pass (see
 *      buddy_free_is_cold()).  When it later has new work that expires at
 *      some time it calls buddy_reaper_kick().
 *
 * Context: start-up only (before any thread could run the reaper).
 */
void buddy_reaper_add_hook(void (*fn)(unsigned long now_ms,
				      unsigned long *next))
{
	BUG_ON(nr_reaper_hooks >= ARRAY_SIZE(reaper_hooks));
	reaper_hooks[nr_reaper_hooks++] = fn;
}

static void reaper_pass(unsigned long *next)
{
	unsigned long now = kmem_now_ms(), due;

	WRITE_ONCE(zone_clock_ms, now);
	*next = 0;
	/*
	 * Hooks first: the slabs they give back complete max-order blocks,
	 * which the release below then sees (computing the deadline before
	 * the hooks left such blocks waiting with no deadline at all).
	 */
	for (unsigned int i = 0; i < nr_reaper_hooks; i++)
		reaper_hooks[i](now, next);
	due = buddy_release_expired(now);
	if (due && (!*next || due < *next))
		*next = due;
}

/* Sleep until @next (kmem_now_ms() time, 0: none) or a kick. */
static void reaper_sleep(unsigned long next)
{
	struct timespec ts;

	pthread_mutex_lock(&reaper_mutex);
	__atomic_store_n(&reaper_wait, next ? next : REAPER_NO_DEADLINE,
			 __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&reaper_kicked, __ATOMIC_SEQ_CST)) {
		if (!next) {
			pthread_cond_wait(&reaper_cond, &reaper_mutex);
		} else {
			unsigned long now = kmem_now_ms();
			unsigned long wait = next > now ? next - now : 0;

			/*
			 * kmem_now_ms() is CLOCK_MONOTONIC_COARSE, at most a
			 * tick behind CLOCK_MONOTONIC: wake one ms late
			 * rather than early.
			 */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			wait++;
			ts.tv_sec += (time_t)(wait / 1000);
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&reaper_cond, &reaper_mutex,
					       &ts);
		}
	}
	__atomic_store_n(&reaper_wait, REAPER_AWAKE, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&reaper_mutex);
}

static void *reaper_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "kmem-reaper", 0, 0, 0);
	tls_reaper = true;
	for (;;) {
		unsigned long next;

		/* Kicks from now on may concern what this pass misses. */
		__atomic_store_n(&reaper_kicked, false, __ATOMIC_SEQ_CST);
		reaper_pass(&next);
		reaper_sleep(next);
	}
	return NULL;
}

/*
 * The reaper starts once the process has mapped a second section (its
 * pages passed 32 MiB): small processes never pay for a thread.  It is
 * started from an allocation slow path, never from free(), with no kmem
 * lock held and every signal blocked so that it never runs a handler.
 */
static void reaper_maybe_start(void)
{
	pthread_condattr_t cattr;
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;

	if (!kmem_config.background || READ_ONCE(reaper_started) ||
	    READ_ONCE(kmem_zone.nr_sections) < 2)
		return;
	pthread_mutex_lock(&reaper_mutex);
	if (reaper_started) {
		pthread_mutex_unlock(&reaper_mutex);
		return;
	}
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&reaper_cond, &cattr);
	pthread_condattr_destroy(&cattr);
	/* Kickers read it without the mutex. */
	__atomic_store_n(&reaper_wait, REAPER_AWAKE, __ATOMIC_RELAXED);
	WRITE_ONCE(reaper_started, true);
	pthread_mutex_unlock(&reaper_mutex);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, &attr, reaper_main, NULL)) {
		pthread_mutex_lock(&reaper_mutex);
		WRITE_ONCE(reaper_started, false);
		pthread_mutex_unlock(&reaper_mutex);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

/**
 * buddy_reaper_kick - there is new work for the reaper
 * @due: when it expires (kmem_now_ms() time)
 *
 * Wakes the reaper if it sleeps without a deadline or with a later one;
 * if it is awake, makes it look again before it sleeps.  Cheap when the
 * reaper already sleeps with an earlier deadline (the common case of a
 * busy process): two loads.  Kicks from the reaper's own pass are not
 * needed (it releases after its hooks run) and are ignored.
 *
 * Context: no lock after the reaper mutex in the lock order (zone
 * locks) held; kmem_thread_lock, slab_mutex and cache locks may be.
 */
void buddy_reaper_kick(unsigned long due)
{
	unsigned long w;

	if (!READ_ONCE(reaper_started) || tls_reaper)
		return;
	w = __atomic_load_n(&reaper_wait, __ATOMIC_RELAXED);
	if (w != REAPER_AWAKE && w <= due)
		return;
	/* An exchange, even if already set: it orders the load below. */
	(void)__atomic_exchange_n(&reaper_kicked, true, __ATOMIC_SEQ_CST);
	w = __atomic_load_n(&reaper_wait, __ATOMIC_SEQ_CST);
	if (w == REAPER_AWAKE || w <= due)
		return;
	pthread_mutex_lock(&reaper_mutex);
	pthread_cond_signal(&reaper_cond);
	pthread_mutex_unlock(&reaper_mutex);
}

/* ------------------------------------------------------------------ */
/* Zone allocation and free                                            */
/* ------------------------------------------------------------------ */

/* Map a section and add it; zone lock dropped around the mmap. */
static bool (*reclaim_hook)(void);

/**
 * buddy_reclaim_set_hook - what to ask before mapping more memory
 * @fn: gives cached memory back to the zone; true if it freed any pages.
 *      Called with no zone lock held, from any allocation, possibly
 *      under the caller's own locks: it may only trylock.
 *
 * The kernel's shrinkers, for the one cache userspace kmem has: the
 * slab depots, which are otherwise trimmed only by the reaper.
 *
 * Context: start-up only.
 */
void buddy_reclaim_set_hook(bool (*fn)(void))
{
	reclaim_hook = fn;
}

/* Is a block of @order or larger free?  Zone lock held. */
static bool zone_can_serve(unsigned int order)
{
	for (unsigned int o = order; o <= MAX_PAGE_ORDER; o++)
		if (kmem_zone.free_area[o].nr_free)
			return true;
	return false;
}

enum { ZONE_GROW_FAILED, ZONE_GROW_RECLAIMED, ZONE_GROW_MAPPED };

/*
 * zone_grow - make a block of @order available: first (unless @reclaimed,
 * already done) ask the reclaim hook for cached memory, then map a new
 * section.  Zone lock held (dropped meanwhile).
 *
 * Return: ZONE_GROW_RECLAIMED or ZONE_GROW_MAPPED: look again;
 * ZONE_GROW_FAILED: out of memory (or not allowed to map).
 */
static int zone_grow(gfp_t gfp, unsigned int order, bool reclaimed)
{
	struct kmem_section *sec;

	lock_assert_held(&kmem_zone.lock);
	zone_unlock();
	if (!reclaimed && reclaim_hook && reclaim_hook()) {
		zone_lock();
		if (zone_can_serve(order))
			return ZONE_GROW_RECLAIMED;
		zone_unlock();
	}
	if (!gfpflags_allow_blocking(gfp)) {
		zone_lock();
		return ZONE_GROW_FAILED;
	}
	/* From mmap until its blocks are on the lists: see zone_os_lock. */
	kmem_lock(&zone_os_lock);
	zone_lock();
	if (zone_can_serve(order)) {
		/* Another thread grew the zone while we waited. */
		kmem_unlock(&zone_os_lock);
		return ZONE_GROW_RECLAIMED;
	}
	zone_unlock();
	sec = section_create_buddy(true);
	zone_lock();
	if (sec)
		zone_add_section(sec);
	kmem_unlock(&zone_os_lock);
	return sec ? ZONE_GROW_MAPPED : ZONE_GROW_FAILED;
}

/*
 * rmqueue_or_grow - one block of @order from the zone, growing it if
 * @may_grow and it is empty: reclaim first, then at most one new section
 * per caller (*@grew, *@reclaimed carry that across calls).
 * Context: zone lock held (zone_grow() may drop and retake it).
 */
static struct page *rmqueue_or_grow(gfp_t gfp, unsigned int order,
				    bool may_grow, bool *grew, bool *reclaimed)
{
	for (;;) {
		struct page *page = __rmqueue(order);
		int r;

		if (page || !may_grow || *grew)
			return page;
		r = zone_grow(gfp, order, *reclaimed);
		if (r == ZONE_GROW_FAILED)
			return NULL;
		*reclaimed = true;
		*grew = r == ZONE_GROW_MAPPED;
	}
}

/**
 * zone_rmqueue_bulk - take up to @count blocks of @order from the zone
 * @order: order of each block
 * @count: how many are wanted
 * @list:  they are added to its tail, heads marked PG_pcp
 * @gfp:   whether a new section may be mapped
 *
 * Return: how many were taken (0 when the zone is empty and may not grow).
 */
unsigned int zone_rmqueue_bulk(unsigned int order, unsigned int count,
			       struct list_head *list, gfp_t gfp)
{
	bool grew = false, reclaimed = false;
	unsigned int n = 0;

	zone_lock();
	while (n < count) {
		/* Grow only for the first block: a partial batch will do. */
		struct page *page = rmqueue_or_grow(gfp, order, n == 0, &grew,
						    &reclaimed);

		if (!page)
			break;
		page->type = PG_pcp;
		list_add_tail(&page->lru, list);
		n++;
	}
	zone_unlock();
	if (grew)
		reaper_maybe_start();
	return n;
}

/* Allocate one block straight from the zone. */
static struct page *zone_alloc(gfp_t gfp, unsigned int order)
{
	bool grew = false, reclaimed = false;
	struct page *page;

	zone_lock();
	page = rmqueue_or_grow(gfp, order, true, &grew, &reclaimed);
	zone_unlock();
	if (grew)
		reaper_maybe_start();
	return page;
}

/*
 * A busy process without a reaper still releases: zone-locked paths check
 * whether the oldest resident max-order block has expired.
 */
static void maybe_release_expired(void)
{
	unsigned long due = READ_ONCE(kmem_zone.next_decay_ms);

	if (due && READ_ONCE(zone_clock_ms) >= due)
		release_blocks(kmem_now_ms(), false, false, NULL);
}

/*
 * zone_note_decay - a free made new resident max-order blocks (more than
 * @pending_before wait): give the zone a release deadline if it has none.
 * Zone lock held.
 *
 * Return: when the new blocks expire, for buddy_reaper_kick() once the
 * lock is dropped; 0 if there are none.
 */
static unsigned long zone_note_decay(unsigned long pending_before)
{
	struct zone *z = &kmem_zone;
	unsigned long due;

	lock_assert_held(&z->lock);
	if (nr_decay_pending <= pending_before)
		return 0;
	due = zone_clock() + kmem_config.decay_ms;
	if (!z->next_decay_ms)
		WRITE_ONCE(z->next_decay_ms, due);
	return due;
}

/* After a free, with no lock held: tell the reaper, release if due. */
static void zone_after_free(unsigned long due, bool top)
{
	if (due)
		buddy_reaper_kick(due);
	if (top)
		maybe_release_expired();
}

/**
 * zone_free_bulk - return blocks of @order from a per-thread list
 * @list:  PG_pcp heads, all of @order; the list is left empty
 * @order: their order
 * @n:     how many
 */
void zone_free_bulk(struct list_head *list, unsigned int order,
		    unsigned int n)
{
	unsigned long pending_before, due;
	struct page *page, *tmp;

	zone_lock();
	pending_before = nr_decay_pending;
	list_for_each_entry_safe(page, tmp, list, lru) {
		list_del(&page->lru);
		__free_one_page(page, order);
	}
	(void)n;
	due = zone_note_decay(pending_before);
	zone_unlock();
	zone_after_free(due, due);
}

static void zone_free(struct page *page, unsigned int order)
{
	struct zone *z = &kmem_zone;
	unsigned long pending_before, due;
	bool top;

	zone_lock();
	pending_before = nr_decay_pending;
	__free_one_page(page, order);
	due = zone_note_decay(pending_before);
	top = !list_empty(&z->free_area[MAX_PAGE_ORDER].free_list);
	zone_unlock();
	zone_after_free(due, top);
}

/**
 * buddy_check_free - report a bad free of a block, or return
 * @page:   descriptor of the block's first page
 * @order:  order the caller says it has
 * @caller: name of the function, for the message
 *
 * A block that is already free, a page that is not the head of an
 * allocated block, and a wrong order are reported with the address and
 * the problem; the process aborts (the allocator's books would otherwise
 * be corrupted by the merge).
 */
void buddy_check_free(struct page *page, unsigned int order,
		      const char *caller)
{
	unsigned long addr;

	if (likely((page->type == PG_alloc || page->type == PG_large) &&
		   page->order == order))
		return;
	addr = page_to_addr(page);
	switch (page->type) {
	case PG_buddy:
	case PG_pcp:
		kmem_panic("kmem: %s: double free of page block 0x%lx (order %u): it is already free\n",
			   caller, addr, order);
	case PG_tail:
		if (page->flags & PGF_freed_head)
			kmem_panic("kmem: %s: double free of page block 0x%lx (order %u): it was freed and merged\n",
				   caller, addr, order);
		kmem_panic("kmem: %s: 0x%lx is not the first page of an allocated block\n",
			   caller, addr);
	case PG_slab:
		kmem_panic("kmem: %s: 0x%lx is a slab page, not a page block\n",
			   caller, addr);
	default:
		kmem_panic("kmem: %s: page block 0x%lx freed with order %u but allocated with order %u\n",
			   caller, addr, order, page->order);
	}
}

/**
 * __alloc_pages - allocate a block (the engine under alloc_pages)
 * @gfp:    flags; without __GFP_DIRECT_RECLAIM no memory is mapped
 * @order:  0..MAX_PAGE_ORDER
 * @zeroed: set to whether the block's contents are known to be zero
 *
 * Orders up to 3 come from the calling thread's lists when it has them.
 * The head's type is left for the caller to set (PG_alloc, PG_slab, ...).
 * This never attaches the thread (it may run under slab locks, and
 * attaching takes kmem_thread_lock, the outermost lock): the entry points
 * do, through kmem_thread_maybe_attach().
 *
 * Return: the head descriptor or NULL.
 */
struct page *__alloc_pages(gfp_t gfp, unsigned int order, bool *zeroed)
{
	struct page *page = NULL;

	if (order < PCP_ORDERS && kmem_tls_pcp)
		page = pcp_alloc(kmem_tls_pcp, order, gfp);
	if (!page) {
		page = zone_alloc(gfp, order);
		if (!page)
			return NULL;
	}
	*zeroed = page->flags & PGF_zeroed;
	page->flags &= (unsigned char)~(PGF_zeroed | PGF_freed_head);
	return page;
}

/**
 * __free_pages_ok - free a checked block (the engine under __free_pages)
 * @page:  head of an allocated block (buddy_check_free passed)
 * @order: its order
 */
void __free_pages_ok(struct page *page, unsigned int order)
{
	page->flags = PGF_freed_head;
	if (order < PCP_ORDERS && kmem_tls_pcp &&
	    pcp_free(kmem_tls_pcp, page, order))
		return;
	zone_free(page, order);
}

/* ------------------------------------------------------------------ */
/* The kernel API                                                      */
/* ------------------------------------------------------------------ */

/**
 * __alloc_pages_nofail - __alloc_pages for __GFP_NOFAIL, once it failed
 * @gfp:    allocation flags
 * @order:  block order
 * @zeroed: set as for __alloc_pages
 *
 * Releases what the allocator holds and retries, 100 times 10 ms apart;
 * then aborts with a message naming the order.  Never returns NULL.
 */
noinline struct page *__alloc_pages_nofail(gfp_t gfp, unsigned int order,
					   bool *zeroed)
{
	for (int tries = 0; tries < 100; tries++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		struct page *page;

		buddy_release_all();
		page = __alloc_pages(gfp | __GFP_DIRECT_RECLAIM, order, zeroed);
		if (page)
			return page;
		nanosleep(&ts, NULL);
	}
	kmem_panic("kmem: __GFP_NOFAIL allocation of order %u failed: the OS refuses memory (errno %d)\n",
		   order, errno);
}

/**
 * alloc_pages - allocate 2^@order contiguous pages
 * @gfp:   allocation flags (see kmem/gfp.h)
 * @order: 0..MAX_PAGE_ORDER
 *
 * Context: any thread.  Without __GFP_DIRECT_RECLAIM (GFP_NOWAIT,
 * GFP_ATOMIC) only memory already mapped is used.
 * Return: the first page's descriptor, or NULL (errno ENOMEM; a message
 * unless __GFP_NOWARN; never NULL with __GFP_NOFAIL).
 */
struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	struct page *page;
	bool zeroed;

	kmem_init();
	kmem_thread_maybe_attach();
	if (order > MAX_PAGE_ORDER) {
		if (!(gfp & __GFP_NOWARN))
			kmem_printk("kmem: alloc_pages: order %u is above MAX_PAGE_ORDER (%d)\n",
				    order, MAX_PAGE_ORDER);
		errno = EINVAL;
		return NULL;
	}
	page = __alloc_pages(gfp, order, &zeroed);
	if (unlikely(!page)) {
		if (gfp & __GFP_NOFAIL)
			page = __alloc_pages_nofail(gfp, order, &zeroed);
		else {
			if (!(gfp & (__GFP_NOWARN | __GFP_NORETRY)) &&
			    gfpflags_allow_blocking(gfp))
				kmem_printk("kmem: alloc_pages: order %u allocation failed (out of memory)\n",
					    order);
			errno = ENOMEM;
			return NULL;
		}
	}
	set_page_type(page, PG_alloc);
	if ((gfp & __GFP_ZERO) && !zeroed)
		memset((void *)page_to_addr(page), 0, PAGE_SIZE << order);
	return page;
}

/**
 * __free_pages - free a block from alloc_pages()
 * @page:  its first page
 * @order: the order it was allocated with
 *
 * A pointer that is not one of our descriptors, a block already free, a
 * page that does not start a block and a wrong order are reported and
 * abort (see buddy_check_free()).  NULL is ignored.
 */
void __free_pages(struct page *page, unsigned int order)
{
	if (!page)
		return;
	if (unlikely(!page_section(page)))
		kmem_panic("kmem: __free_pages: %p is not a struct page of kmem\n",
			   (void *)page);
	buddy_check_free(page, order, "__free_pages");
	kmem_thread_maybe_attach();
	if (page->type != PG_alloc)
		kmem_panic("kmem: __free_pages: block 0x%lx belongs to kmalloc, free it with kfree\n",
			   page_to_addr(page));
	__free_pages_ok(page, order);
}

/**
 * __get_free_pages - allocate pages and return their address
 * @gfp:   allocation flags
 * @order: order of the block
 *
 * Return: the address, or 0.
 */
unsigned long __get_free_pages(gfp_t gfp, unsigned int order)
{
	struct page *page = alloc_pages(gfp, order);

	return page ? page_to_addr(page) : 0;
}

/**
 * get_zeroed_page - allocate one zeroed page
 * @gfp: allocation flags
 *
 * Return: the address, or 0.
 */
unsigned long get_zeroed_page(gfp_t gfp)
{
	return __get_free_pages(gfp | __GFP_ZERO, 0);
}

/**
 * free_pages - free a block by address
 * @addr:  address from __get_free_pages() (0 is ignored)
 * @order: its order
 *
 * An address that is not ours is reported and aborts.
 */
void free_pages(unsigned long addr, unsigned int order)
{
	struct page *page;

	if (!addr)
		return;
	page = kmem_addr_to_page((void *)addr);
	if (unlikely(!page || (addr & ~PAGE_MASK)))
		kmem_panic("kmem: free_pages: invalid pointer 0x%lx: not a page block of kmem\n",
			   addr);
	__free_pages(page, order);
}

/**
 * alloc_pages_exact - allocate the pages covering @size bytes exactly
 * @size: bytes
 * @gfp:  allocation flags
 *
 * Allocates a block of get_order(@size) and frees the pages past the end,
 * as the kernel does; each page kept is then its own order-0 block.
 *
 * Return: the address, or NULL.
 */
void *alloc_pages_exact(size_t size, gfp_t gfp)
{
	unsigned int order;
	unsigned long nr, total;
	struct page *page;

	if (!size || size > (PAGE_SIZE << MAX_PAGE_ORDER)) {
		if (size && !(gfp & __GFP_NOWARN))
			kmem_printk("kmem: alloc_pages_exact: %zu bytes is above the largest block\n",
				    size);
		errno = size ? ENOMEM : EINVAL;
		return NULL;
	}
	order = get_order(size);
	page = alloc_pages(gfp, order);
	if (!page)
		return NULL;
	nr = DIV_ROUND_UP(size, PAGE_SIZE);
	total = 1UL << order;
	for (unsigned long i = 0; i < nr; i++) {
		set_page_type(&page[i], PG_alloc);
		page[i].order = 0;
	}
	/* Free the tail in the largest aligned pieces. */
	for (unsigned long i = nr; i < total;) {
		unsigned int o = __builtin_ctzl(i);

		while (i + (1UL << o) > total)
			o--;
		set_page_type(&page[i], PG_alloc);
		page[i].order = (unsigned char)o;
		page[i].flags = 0;
		__free_pages_ok(&page[i], o);
		i += 1UL << o;
	}
	return (void *)page_to_addr(page);
}

/**
 * free_pages_exact - free what alloc_pages_exact() returned
 * @virt: its address
 * @size: the size passed to alloc_pages_exact()
 */
void free_pages_exact(void *virt, size_t size)
{
	unsigned long addr = (unsigned long)virt;
	unsigned long end = addr + ALIGN(size, PAGE_SIZE);

	if (!virt)
		return;
	for (; addr < end; addr += PAGE_SIZE)
		free_pages(addr, 0);
}

/**
 * page_address - the address of the memory a descriptor describes
 * @page: a descriptor of ours (an invalid one is reported and aborts)
 */
void *page_address(const struct page *page)
{
	if (unlikely(!page_section(page)))
		kmem_panic("kmem: page_address: %p is not a struct page of kmem\n",
			   (const void *)page);
	return (void *)page_to_addr(page);
}

/**
 * virt_to_page - the descriptor of the page holding @addr
 * @addr: an address in memory from kmem's page allocator
 *
 * Return: the descriptor, or NULL for an address kmem does not manage
 * (the kernel's version has no way to say so).
 */
struct page *virt_to_page(const void *addr)
{
	return kmem_addr_to_page(addr);
}

/**
 * virt_addr_valid - is @addr in kmem's page allocator?
 * @addr: any address
 */
bool virt_addr_valid(const void *addr)
{
	return kmem_addr_to_page(addr) != NULL;
}

/**
 * buddy_shrink - give every free page back to the OS now
 *
 * Drains the calling thread's page lists, releases every free max-order
 * block and unmaps wholly free sections beyond the retained amount.
 * kmem_shrink_all() (core) empties the caches above first.
 */
void buddy_shrink(void)
{
	if (kmem_tls_pcp)
		pcp_drain(kmem_tls_pcp);
	buddy_release_all();
}

/* ------------------------------------------------------------------ */
/* Statistics and validation                                           */
/* ------------------------------------------------------------------ */

struct pcp_count {
	unsigned long pages;
	int bad;
};

static void count_pcp(void *part, pid_t tid, void *arg)
{
	struct pcp_set *pcp = part;
	struct pcp_count *c = arg;

	for (unsigned int o = 0; o < PCP_ORDERS; o++) {
		struct page *page;
		unsigned int n = 0;

		list_for_each_entry(page, &pcp->lists[o].list, lru) {
			if (page->type != PG_pcp || page->order != o) {
				kmem_printk("buddy_validate: thread %d list %u: page 0x%lx type %u order %u\n",
					    tid, o, page_to_addr(page),
					    page->type, page->order);
				c->bad++;
			}
			n++;
		}
		if (n != pcp->lists[o].count) {
			kmem_printk("buddy_validate: thread %d list %u holds %u blocks, count says %u\n",
				    tid, o, n, pcp->lists[o].count);
			c->bad++;
		}
		c->pages += (unsigned long)n << o;
	}
}

static void count_pcp_quiet(void *part, pid_t tid, void *arg)
{
	struct pcp_set *pcp = part;
	struct pcp_count *c = arg;

	(void)tid;
	/* The owner changes it without a lock on every page it takes or
	 * gives back: a snapshot may be a few pages out of date. */
	c->pages += data_race(pcp->nr_pages);
}

extern struct kmem_thread_part pcp_part;

/**
 * kmem_buddyinfo_get - snapshot the page allocator
 * @info: filled in
 */
void kmem_buddyinfo_get(struct kmem_buddyinfo *info)
{
	struct zone *z = &kmem_zone;
	struct huge_stats hs;

	struct pcp_count pc = { 0, 0 };

	kmem_init();
	memset(info, 0, sizeof(*info));
	kmem_thread_lock();
	kmem_thread_for_each(&pcp_part, count_pcp_quiet, &pc);
	zone_lock();
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		info->nr_free[o] = z->free_area[o].nr_free;
	info->nr_free[MAX_PAGE_ORDER] += nr_releasing;
	info->pcp_pages = pc.pages;
	info->mapped = z->nr_sections * SECTION_SIZE;
	info->retained = (z->nr_released + nr_releasing) *
			 (MAX_ORDER_NR_PAGES << PAGE_SHIFT);
	info->resident = info->mapped - info->retained;
	info->nr_sections = z->nr_sections;
	zone_unlock_read();
	kmem_thread_unlock();
	section_huge_stats(&hs);
	info->huge_mapped = hs.bytes;
	info->nr_huge = hs.nr;
}

/**
 * kmem_buddyinfo_format - the /proc/buddyinfo line for a snapshot
 * @info: a snapshot
 * @buf:  destination
 * @len:  its size
 *
 * Writes "Node 0, zone   Normal" and the eleven counts, each "%6lu ", then
 * a newline: the kernel's format byte for byte.
 *
 * Return: the length of the line (as snprintf).
 */
int kmem_buddyinfo_format(const struct kmem_buddyinfo *info, char *buf,
			  size_t len)
{
	int n = kmem_snprintf(buf, len, "Node %d, zone %8s ", 0, "Normal");

	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		n += kmem_snprintf(buf + min((size_t)n, len),
				   len - min((size_t)n, len), "%6lu ",
				   info->nr_free[o]);
	n += kmem_snprintf(buf + min((size_t)n, len), len - min((size_t)n, len),
			   "\n");
	return n;
}

#define VFAIL(...)                                                           \
	do {                                                                 \
		kmem_printk("buddy_validate: " __VA_ARGS__);                 \
		bad++;                                                       \
	} while (0)

/*
 * __buddy_validate - every page's invariants, zone and zone_os_lock held,
 * other threads not allocating (buddy_validate)
 * @pc: the per-thread lists' total (count_pcp)
 */
static int __buddy_validate(const struct pcp_count *pc)
{
	struct zone *z = &kmem_zone;
	unsigned long free_blocks[NR_PAGE_ORDERS] = { 0 }, free_pages = 0;
	unsigned long pcp_pages = 0, released = 0, nr_free_sections = 0;
	unsigned long used_pages = 0, nr_mapped;
	struct kmem_section *sec;
	int bad = 0;

	lock_assert_held(&z->lock);
	list_for_each_entry(sec, &z->sections, node) {
		struct page *pages = sec->pages;
		unsigned int free_max = 0;

		for (unsigned long i = 0; i < PAGES_PER_SECTION;) {
			struct page *p = &pages[i];
			unsigned int o = p->order;
			unsigned long n = 1UL << o;

			if (p->type == PG_tail || p->type >= NR_PAGE_TYPES ||
			    o > MAX_PAGE_ORDER) {
				VFAIL("section 0x%lx page %lu: not a block head (type %u order %u)\n",
				      sec->base, i, p->type, o);
				break;
			}
			if (i & (n - 1))
				VFAIL("section 0x%lx page %lu: order %u block misaligned\n",
				      sec->base, i, o);
			for (unsigned long j = 1; j < n; j++) {
				unsigned char want = p->type == PG_slab ?
						     PG_slab : PG_tail;

				if (pages[i + j].type != want) {
					VFAIL("section 0x%lx page %lu: inside order %u block at %lu, type %u\n",
					      sec->base, i + j, o, i,
					      pages[i + j].type);
					break;
				}
			}
			if (p->type == PG_buddy) {
				free_blocks[o]++;
				free_pages += n;
				if (p->flags & PGF_released)
					released++;
				if (o == MAX_PAGE_ORDER)
					free_max++;
				if (o < MAX_PAGE_ORDER) {
					struct page *b = &pages[i ^ n];

					if (b->type == PG_buddy && b->order == o)
						VFAIL("section 0x%lx pages %lu and %lu: free buddies of order %u not merged\n",
						      sec->base, i, i ^ n, o);
				}
			} else if (p->type == PG_pcp) {
				pcp_pages += n;
			} else {
				used_pages += n;
			}
			i += n;
		}
		if (free_max != sec->nr_free_max)
			VFAIL("section 0x%lx: %u free max-order blocks, count says %u\n",
			      sec->base, free_max, sec->nr_free_max);
		if (free_max == MAX_BLOCKS_PER_SECTION)
			nr_free_sections++;
	}
	for (int o = 0; o < NR_PAGE_ORDERS; o++) {
		unsigned long n = 0;
		struct page *p;

		list_for_each_entry(p, &z->free_area[o].free_list, lru) {
			if (p->type != PG_buddy || p->order != o ||
			    (p->flags & PGF_released))
				VFAIL("free list %d: entry type %u order %u flags %#x\n",
				      o, p->type, p->order, p->flags);
			n++;
		}
		if (o == MAX_PAGE_ORDER) {
			unsigned long r = 0;

			list_for_each_entry(p, &z->released, lru) {
				if (p->type != PG_buddy || p->order != o ||
				    !(p->flags & PGF_released))
					VFAIL("released list: entry type %u order %u flags %#x\n",
					      p->type, p->order, p->flags);
				r++;
			}
			if (r != z->nr_released)
				VFAIL("released list holds %lu blocks, count says %lu\n",
				      r, z->nr_released);
			n += r + nr_releasing;
		}
		if (n != z->free_area[o].nr_free)
			VFAIL("order %d: %lu blocks on the lists, nr_free says %lu\n",
			      o, n, z->free_area[o].nr_free);
		if (n != free_blocks[o])
			VFAIL("order %d: %lu free blocks in sections, %lu on the lists\n",
			      o, free_blocks[o], n);
	}
	if (free_pages != z->free_pages)
		VFAIL("%lu free pages in sections, zone says %lu\n", free_pages,
		      z->free_pages);
	/*
	 * In a child of fork(), the other threads' lists were abandoned:
	 * their pages stay marked per-thread and are on no live list.
	 */
	if ((kmem_thread_orphans ? pcp_pages < pc->pages :
					 pcp_pages != pc->pages))
		VFAIL("%lu pages marked per-thread in sections, %lu on thread lists\n",
		      pcp_pages, pc->pages);
	if (nr_free_sections != z->nr_free_sections)
		VFAIL("%lu wholly free sections, zone says %lu\n",
		      nr_free_sections, z->nr_free_sections);
	if (z->managed_pages != z->nr_sections * PAGES_PER_SECTION)
		VFAIL("managed pages %lu for %lu sections\n", z->managed_pages,
		      z->nr_sections);
	/*
	 * With zone_os_lock held no release or growth is under way, so every
	 * free block is on a list and every mapped section is in the zone.
	 * (A child forked while a release had blocks off the lists, or a
	 * section between removal and munmap, kept them resident and counted
	 * for ever, on no list: issue 11.)
	 */
	if (nr_releasing)
		VFAIL("%lu max-order blocks on no list with no release under way\n",
		      nr_releasing);
	nr_mapped = section_nr_buddy();
	if (nr_mapped != z->nr_sections)
		VFAIL("%lu sections mapped, %lu in the zone\n", nr_mapped,
		      z->nr_sections);
	if (free_pages + pcp_pages + used_pages !=
	    z->nr_sections * PAGES_PER_SECTION)
		VFAIL("%lu free + %lu per-thread + %lu allocated pages in %lu sections\n",
		      free_pages, pcp_pages, used_pages, z->nr_sections);
	(void)released;
	return bad;
}

/**
 * buddy_validate - check every invariant of the page allocator
 *
 * Walks every section page by page and every free list: each block is
 * aligned to its order, its non-head pages are PG_tail, no two free buddies
 * of the same order are left unmerged, every free block is on the list of
 * its order and every list entry is a free block of that order, the counts
 * match, and the per-thread lists hold exactly the pages lent to them.
 * Meaningful while other threads are not allocating.
 *
 * Return: 0, or the number of problems found (each one printed).
 */
int buddy_validate(void)
{
	struct pcp_count pc = { 0, 0 };
	int bad;

	kmem_init();
	kmem_thread_lock();
	kmem_thread_for_each(&pcp_part, count_pcp, &pc);
	kmem_lock(&zone_os_lock);	/* no release or growth under way */
	zone_lock();
	bad = pc.bad + __buddy_validate(&pc);
	zone_unlock_read();
	kmem_unlock(&zone_os_lock);
	kmem_thread_unlock();
	return bad;
}

/*
 * __buddy_validate_free - the zone's own blocks, zone lock held, while
 * other threads run
 *
 * A block a thread owns (allocated, a slab, on a per-thread list) is
 * retyped by its owner without the zone lock: a slab's pages become
 * PG_slab one by one, __slab_free_pages() and alloc_pages_exact() rewrite
 * heads and tails before they take the lock.  A walk of every page of a
 * section, as __buddy_validate() does, can then meet a block half
 * retyped and report a problem that is not there (it did, about once in
 * thirty runs of the threaded tests at level 2).  So this check, run after
 * every zone operation with other threads running, reads only what the
 * zone lock protects: the free lists and the free blocks on them (heads
 * PG_buddy, their tail pages), the max-order heads that count a section's
 * free blocks, and the counts.  An owner never writes a PG_buddy page.
 * buddy_validate() still walks every page, with the callers quiescent.
 */
static int __buddy_validate_free(void)
{
	struct zone *z = &kmem_zone;
	unsigned long free_pages = 0, nr_free_sections = 0;
	struct kmem_section *sec;
	int bad = 0;

	lock_assert_held(&z->lock);
	for (int o = 0; o < NR_PAGE_ORDERS; o++) {
		unsigned long n = 0, r = 0;
		struct list_head *lists[2] = { &z->free_area[o].free_list,
					       o == MAX_PAGE_ORDER ?
					       &z->released : NULL };

		for (int l = 0; l < 2 && lists[l]; l++) {
			struct page *p;

			list_for_each_entry(p, lists[l], lru) {
				unsigned long i, nr = 1UL << o;

				if (page_type(p) != PG_buddy || p->order != o ||
				    !(p->flags & PGF_released) != !l) {
					VFAIL("%s list %d: entry type %u order %u flags %#x\n",
					      l ? "released" : "free", o,
					      page_type(p), p->order, p->flags);
					continue;
				}
				sec = addr_to_section(page_to_addr(p));
				if (!sec || sec->kind != SECTION_BUDDY) {
					VFAIL("free list %d: block 0x%lx in no section of the zone\n",
					      o, page_to_addr(p));
					continue;
				}
				i = (unsigned long)(p - sec->pages);
				if (i & (nr - 1))
					VFAIL("section 0x%lx page %lu: order %d free block misaligned\n",
					      sec->base, i, o);
				for (unsigned long j = 1; j < nr; j++)
					if (page_type(&p[j]) != PG_tail) {
						VFAIL("section 0x%lx page %lu: inside free order %d block at %lu, type %u\n",
						      sec->base, i + j, o, i,
						      page_type(&p[j]));
						break;
					}
				if (o < MAX_PAGE_ORDER) {
					struct page *b = &sec->pages[i ^ nr];

					if (page_type(b) == PG_buddy && b->order == o)
						VFAIL("section 0x%lx pages %lu and %lu: free buddies of order %d not merged\n",
						      sec->base, i, i ^ nr, o);
				}
				free_pages += nr;
				if (l)
					r++;
				else
					n++;
			}
		}
		if (o == MAX_PAGE_ORDER) {
			if (r != z->nr_released)
				VFAIL("released list holds %lu blocks, count says %lu\n",
				      r, z->nr_released);
			n += r + nr_releasing;
			free_pages += nr_releasing << MAX_PAGE_ORDER;
		}
		if (n != z->free_area[o].nr_free)
			VFAIL("order %d: %lu blocks on the lists, nr_free says %lu\n",
			      o, n, z->free_area[o].nr_free);
	}
	if (free_pages != z->free_pages)
		VFAIL("%lu pages in free blocks, zone says %lu\n", free_pages,
		      z->free_pages);
	list_for_each_entry(sec, &z->sections, node) {
		unsigned int free_max = 0;

		for (unsigned long i = 0; i < PAGES_PER_SECTION;
		     i += 1UL << MAX_PAGE_ORDER)
			if (page_type(&sec->pages[i]) == PG_buddy &&
			    sec->pages[i].order == MAX_PAGE_ORDER)
				free_max++;
		if (free_max != sec->nr_free_max)
			VFAIL("section 0x%lx: %u free max-order blocks, count says %u\n",
			      sec->base, free_max, sec->nr_free_max);
		if (free_max == MAX_BLOCKS_PER_SECTION)
			nr_free_sections++;
	}
	if (nr_free_sections != z->nr_free_sections)
		VFAIL("%lu wholly free sections, zone says %lu\n",
		      nr_free_sections, z->nr_free_sections);
	if (z->managed_pages != z->nr_sections * PAGES_PER_SECTION)
		VFAIL("managed pages %lu for %lu sections\n", z->managed_pages,
		      z->nr_sections);
	return bad;
}

/*
 * The expensive debug tier (KMEM_DEBUG_LEVEL=2): the zone's invariants
 * after every zone-locked operation, checked as the lock is dropped.
 */
static void __maybe_unused zone_expensive_check(void)
{
	int bad = __buddy_validate_free();

	if (unlikely(bad))
		kmem_bug(__FILE__, __LINE__,
			 "buddy_validate: %d problems after a zone operation",
			 bad);
}

/* ------------------------------------------------------------------ */
/* Start-up and fork                                                   */
/* ------------------------------------------------------------------ */

/**
 * buddy_init - set up the zone (once, from kmem_init)
 */
void buddy_init(void)
{
	struct zone *z = &kmem_zone;

	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		INIT_LIST_HEAD(&z->free_area[o].free_list);
	INIT_LIST_HEAD(&z->released);
	INIT_LIST_HEAD(&z->sections);
	kmem_thread_register_part(&pcp_part);
}

/**
 * buddy_fork_prepare - take the page allocator's locks before fork()
 */
void buddy_fork_prepare(void)
{
	pthread_mutex_lock(&reaper_mutex);
	kmem_lock(&zone_os_lock);	/* no release or growth half done */
	zone_lock();
	section_lock_all();
}

/**
 * buddy_republish_locked - the page allocator's figures, published anew
 *
 * Context: the zone lock and the section lock held
 * (kmem_republish_locked()).
 */
void buddy_republish_locked(void)
{
	struct kmem_stats_header *h = kmem_region;

	/* Odd (the zone lock is held) until zone_unlock(). */
	__atomic_store_n(&h->buddy_seq, buddy_seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	publish_buddy_locked();
	section_republish_locked();
	kmem_os_republish();
}

/**
 * buddy_fork_parent - release them in the parent
 */
void buddy_fork_parent(void)
{
	section_unlock_all();
	zone_unlock();
	kmem_unlock(&zone_os_lock);
	pthread_mutex_unlock(&reaper_mutex);
}

/**
 * buddy_fork_child - reset them in the child, which has no reaper thread
 */
void buddy_fork_child(void)
{
	section_table_fork_child();
	/*
	 * The zone lock was held across fork(), so the child's buddy_seq is
	 * odd; the unlock that makes it even is the parent's.  Do it here,
	 * or every reader would see the child's page figures as torn (and a
	 * later lock would make them look whole while they change).  The
	 * header gets it when the region is republished.
	 */
	buddy_seq++;
	kmem_lock_reinit(&kmem_zone.lock);
	kmem_lock_reinit(&zone_os_lock);
	pthread_mutex_init(&reaper_mutex, NULL);
	reaper_started = false;	/* reaper_maybe_start() inits the cond */
	reaper_wait = REAPER_AWAKE;
	reaper_kicked = false;
}
