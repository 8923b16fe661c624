// SPDX-License-Identifier: MIT
/*
 * buddy/zone.c - the zone: free lists, split and merge, growth from the
 * OS and the reclaim hook, the zone's allocation and free, start-up and
 * fork.  The release policy and the reaper are in release.c, the kernel's
 * page API in page_alloc.c, the per-thread lists in pcp.c.
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
 * block older than kmem_config.decay_ms, beyond what the recent peak demand
 * of a busy process needs (release.c), is released by whichever comes
 * first: the reaper thread (so an idle process gives memory back too), the
 * next zone-locked operation that notices it, or kmem_shrink_all().  The
 * reaper's hooks (the slab depot trim) run before it releases and before
 * it computes its next deadline; pages they free are cold (stamped
 * expired).
 * Allocation prefers resident blocks (hot, no page faults) to released ones.
 * A new section's blocks after the first are uncarved: counted free and
 * released, on no list, their descriptors unwritten until zone_carve()
 * needs one (so that a small process touches one descriptor page, not 8).
 * A section whose blocks are all released is unmapped once more than
 * kmem_config.retain_sections such sections exist.
 *
 * Fast path: orders 0..8 are served from the calling thread's lists
 * (buddy/pcp.c: 0..3 as the kernel's, 4..8 one large block each)
 * without a lock.  Slow path: the zone lock; then a new
 * section from the OS if the flags allow it (__GFP_DIRECT_RECLAIM).
 *
 * Lock order: the table in core/lock.h (reaper_mutex, zone_os_lock,
 * zone->lock, then section_lock and the region's).  The zone lock is
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

#include "buddy/zone.h"
#include "buddy/buddy.h"

struct zone kmem_zone = { .lock = KMEM_MUTEX_INIT(LOCK_RANK_ZONE) };

struct buddy_config buddy_config = {
	/*
	 * Orders 1-3 hold 16 blocks each, 4 moved at a time: with 2 and 4
	 * blocks of 32 and 16 KiB, medium blocks took the zone lock on
	 * almost every call, and two threads fought over it (buddy.md).
	 */
	.pcp_high = { PCP_HIGH_0, PCP_HIGH_LOW, PCP_HIGH_LOW, PCP_HIGH_LOW,
		      PCP_HIGH_LARGE, PCP_HIGH_LARGE, PCP_HIGH_LARGE,
		      PCP_HIGH_LARGE, PCP_HIGH_LARGE },
	.pcp_batch = { 8, 4, 4, 4, 1, 1, 1, 1, 1 },
	.pcp_large_cap = 1UL << 20,
};

/*
 * Held across every step where zone memory is in no list (see the lock
 * order above): release_blocks() and zone_grow().  fork() takes it, so it
 * never copies a half-done release or growth into a child, whose copy of
 * that memory would be stranded (resident, counted, reachable by no one).
 */
struct kmem_mutex zone_os_lock = KMEM_MUTEX_INIT(LOCK_RANK_ZONE_OS);
unsigned long nr_releasing;	/* zone lock: blocks off-list */

/*
 * The zone's clock, for stamping freed max-order blocks and their release
 * deadlines: read from the OS (the coarse clock, through the vDSO) each
 * time a block is stamped, which happens once per 4 MiB block completed,
 * not on every free.  Frees that complete no max-order block check the
 * deadline against the copy left here (maybe_release_expired()), which
 * stamps and reaper passes keep up to date.  (Reading it only every 64th
 * stamp left stamps as old as the previous reaper pass: blocks freed
 * straight to the zone went back to the OS that much before
 * KMEM_DECAY_MS, to be faulted in again.)
 */
unsigned long zone_clock_ms;	/* READ_ONCE outside the zone lock */

static unsigned long zone_clock(void)
{
	lock_assert_held(&kmem_zone.lock);
	WRITE_ONCE(zone_clock_ms, buddy_now_ms());
	return READ_ONCE(zone_clock_ms);
}
unsigned long nr_decay_pending;	/* zone lock: resident max blocks */
__thread bool tls_reaper __tls_ie;	/* this thread is the reaper */

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
 * Resident: mapped and not released (kmem_buddyinfo.resident), as the
 * zone lock is released (zone_note_peaks()).  For malloc_info()'s
 * <system type="max">.
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

void zone_lock(void)
{
	struct kmem_stats_header *h = kmem_region;

	kmem_mutex_lock(&kmem_zone.lock);
	buddy_seq++;
	if (likely(h))
		__atomic_store_n(&h->buddy_seq, buddy_seq, __ATOMIC_RELAXED);
}

static void zone_note_peaks(struct kmem_stats_header *h);

/* The published figures are final: buddy_seq even again (zone lock). */
static void zone_publish_end(void)
{
	struct kmem_stats_header *h = kmem_region;

	zone_note_peaks(h);
	buddy_seq++;
	if (likely(h))
		__atomic_store_n(&h->buddy_seq, buddy_seq, __ATOMIC_RELEASE);
}

/* Unlock after only reading the zone (statistics, validation). */
void zone_unlock_read(void)
{
	zone_publish_end();
	kmem_mutex_unlock(&kmem_zone.lock);
}


/*
 * Dropping the zone lock ends a zone operation (or a step of one: the
 * lock is dropped around mmap and madvise with every block accounted for),
 * so the expensive debug tier checks the whole zone here.  The figures are
 * final before the check, which only reads: buddy_seq goes even first, so
 * that kmeminfo can copy them meanwhile (with the check inside the odd
 * window, four threads busy in the zone kept it odd nearly all the time
 * and kmeminfo gave up: "the page allocator's figures stayed
 * inconsistent", preload_mt_prog at KMEM_DEBUG_LEVEL=2).
 */
void zone_unlock(void)
{
	zone_publish_end();
	KMEM_EXPENSIVE(zone_expensive_check());
	kmem_mutex_unlock(&kmem_zone.lock);
}

/* High-water mark of pages out of the zone (zone lock), for kmeminfo. */
static unsigned long peak_used_pages;

/*
 * The high-water marks, taken from the zone's figures as the lock is
 * released, when they are final.  Not at each free-list change: an
 * operation moves blocks one at a time, and in between the counts are
 * neither the old figures nor the new ones (a split takes the big block
 * off its list before its halves go on, a merge the buddy; a new
 * section's pages were managed before its blocks were counted free).  A
 * process that used 0.4 MiB published a peak of 28 MiB that way, every
 * split added up to a max-order block to the peak, and a section's
 * removal counted its released blocks as resident one by one.
 */
static void zone_note_peaks(struct kmem_stats_header *h)
{
	struct zone *z = &kmem_zone;
	unsigned long used = z->managed_pages - z->free_pages;
	unsigned long resident = z->nr_sections * SECTION_SIZE -
				 zone_retained_bytes();

	if (resident > max_resident)
		WRITE_ONCE(max_resident, resident);
	if (used > peak_used_pages) {
		peak_used_pages = used;
		if (likely(h))
			h->peak_used = (uint64_t)used << PAGE_SHIFT;
	}
}

/*
 * A thread (not the reaper) left a resident piece of RELEASE_PIECE_ORDER
 * or more: zone_note_decay() kicks the reaper.
 */
static bool piece_freed;

/**
 * zone_retained_bytes - mapped bytes of the zone that are not resident
 *
 * Released max-order blocks (uncarved ones and those being released
 * included) and released pieces of split blocks.
 *
 * Context: zone lock held.
 */
unsigned long zone_retained_bytes(void)
{
	struct zone *z = &kmem_zone;

	return (z->nr_released + nr_releasing) *
		       (MAX_ORDER_NR_PAGES << PAGE_SHIFT) +
	       (z->released_piece_pages << PAGE_SHIFT);
}

void publish_buddy_locked(void)
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
	h->retained = zone_retained_bytes();
	h->nr_sections = z->nr_sections;
	h->reaper_passes = z->reaper.passes;
	h->reaper_start_ms = z->reaper.start_ms;
	h->reaper_due_ms = z->reaper.due_ms;
	h->reaper_next_ms = z->reaper.next_ms;
	h->peak_used = (uint64_t)peak_used_pages << PAGE_SHIFT;
}

/* One free list's count changed: publish it and the free total. */
static __always_inline void publish_free_area(unsigned int order)
{
	struct kmem_stats_header *h = kmem_region;

	if (likely(h)) {
		h->free_pages = kmem_zone.free_pages;
		h->nr_free[order] = kmem_zone.free_area[order].nr_free;
		if (order == MAX_PAGE_ORDER)
			h->nr_free[order] += nr_releasing;
		h->retained = zone_retained_bytes();
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
		    page->freed_at < list_last_entry(top, struct page, lru)->freed_at)
			list_add_tail(&page->lru, top);
		else
			list_add(&page->lru, top);
		nr_decay_pending++;
	} else if (page->flags & PGF_released) {
		/* After the resident pieces, which are taken first. */
		list_add_tail(&page->lru, &z->free_area[order].free_list);
		z->free_area[order].nr_released++;
		z->released_piece_pages += 1UL << order;
	} else {
		list_add(&page->lru, &z->free_area[order].free_list);
	}
	z->free_area[order].nr_free++;
	z->free_pages += 1UL << order;
	publish_free_area(order);
}

void del_from_free_list(struct page *page, unsigned int order)
{
	struct zone *z = &kmem_zone;

	list_del(&page->lru);
	if (order == MAX_PAGE_ORDER) {
		if (page->flags & PGF_released)
			z->nr_released--;
		else
			nr_decay_pending--;
	} else if (page->flags & PGF_released) {
		z->free_area[order].nr_released--;
		z->released_piece_pages -= 1UL << order;
	}
	z->free_area[order].nr_free--;
	z->free_pages -= 1UL << order;
	publish_free_area(order);
}

/*
 * A free block's resident extents: the pages from the start of each of
 * its halves that may be resident; those past them were never touched
 * since they were last known zero, or were given back (a large block's
 * tail: kmalloc/large.c).  None for a block known zero or given back;
 * with PGF_resident, from pcp_resident on a thread's list (a count from
 * the block's start, as large_setup() reads it) or buddy_res_lo and
 * buddy_res_hi in the zone (and for a large block freed to it); else all
 * of them.  The zone keeps them through merges and splits, so that a
 * block cut again from the same pages does not give back, with one more
 * madvise(), a tail that is already gone: each half of a merged block
 * counts from its own start, so a 2 MiB block used for 1.5 MB and its
 * buddy's own use survive a merge into 4 MiB and the split that follows
 * (test_large_tail_given_back_once).  A half's own halves are not kept:
 * counted from its start, its lower part is whole once its upper part has
 * resident pages (more than may be, never less).  An order-0 block has
 * only its lower "half", its page.
 */
struct extent {
	unsigned long lo, hi;
};

/* The pages from a block's start that may be resident. */
static inline unsigned long extent_count(struct extent e, unsigned int order)
{
	return e.hi ? extent_half(order) + e.hi : e.lo;
}

/* The extents of a block of @order whose first @count pages may be. */
static inline struct extent extent_of(unsigned long count, unsigned int order)
{
	unsigned long half = extent_half(order);

	if (!order)
		return (struct extent){ min(count, 1UL), 0 };
	return (struct extent){ min(count, half),
				count > half ? min(count - half, half) : 0 };
}

static struct extent free_block_extent(const struct page *page,
				       unsigned int order)
{
	if (page->flags & (PGF_zeroed | PGF_released))
		return (struct extent){ 0, 0 };
	if (!(page->flags & PGF_resident))
		return extent_of(1UL << order, order);
	if (page_type(page) == PG_pcp)
		return extent_of(page->pcp_resident, order);
	return (struct extent){ page->buddy_res_lo, page->buddy_res_hi };
}

static unsigned long free_block_resident(const struct page *page,
					 unsigned int order)
{
	return extent_count(free_block_extent(page, order), order);
}

/* Record a free block's extents in its head; all: no PGF_resident. */
static void set_free_extent(struct page *page, unsigned int order,
			    struct extent e)
{
	struct extent all = extent_of(1UL << order, order);

	page->flags &= (unsigned char)~PGF_resident;
	if (!(page->flags & (PGF_zeroed | PGF_released)) &&
	    (e.lo != all.lo || e.hi != all.hi)) {
		page->flags |= PGF_resident;
		page->buddy_res_lo = (uint16_t)e.lo;
		page->buddy_res_hi = (uint16_t)e.hi;
	}
}

/*
 * expand - split a free block down to the order asked for
 * @page: head of the block taken off its list, of order @high
 * @low:  order wanted
 * @released: PGF_released if the block was a released piece, else 0
 * @e:    the block's resident extents (free_block_extent())
 *
 * The upper half of each split goes back on the free list one order down;
 * it inherits PGF_zeroed (its pages were never handed out since they were
 * last known zero) and a released piece's PGF_released (none of its pages
 * is resident).  The halves of a released max-order block do not: such a
 * block counts as resident from its first split (its pages are faulted in
 * as they are used), as before pieces were released.  Each half keeps its
 * own resident extent.
 *
 * Return: the resident extents of the block of @low left at @page.
 */
static struct extent expand(struct page *page, unsigned int low,
			    unsigned int high, unsigned char released,
			    struct extent e)
{
	unsigned char zeroed = page->flags & PGF_zeroed;

	while (high > low) {
		struct page *half;

		high--;
		half = page + (1UL << high);
		half->flags = zeroed | released;
		set_free_extent(half, high, extent_of(e.hi, high));
		e = extent_of(e.lo, high);
		add_to_free_list(half, high);
	}
	return e;
}

static void section_account_alloc_max(struct page *page)
{
	struct kmem_section *sec = page_sec(page);

	if (sec->nr_free_max == MAX_BLOCKS_PER_SECTION)
		kmem_zone.nr_free_sections--;
	sec->nr_free_max--;
}

/*
 * A new section's blocks after the first are carved lazily: they count as
 * free, released max-order blocks (free_area, free_pages, nr_released, the
 * section's nr_free_max) from the start, but their heads are written and
 * put on the released list only when the zone has no other max-order
 * block to give (released blocks already carved go first: either costs
 * page faults, a carve also a descriptor page).  Every block head sits on
 * its own page of the descriptor array, so a small program that never
 * needs a second block never touches the other seven pages, as the
 * kernel defers initialising struct pages it does not need yet.  The
 * uncarved blocks are the last ones of their section.
 */
static bool zone_carve(void)
{
	struct zone *z = &kmem_zone;
	struct kmem_section *sec;

	lock_assert_held(&z->lock);
	if (!z->nr_uncarved)
		return false;
	list_for_each_entry(sec, &z->sections, node) {
		struct page *head;

		if (!sec->nr_uncarved)
			continue;
		head = &sec->pages[(MAX_BLOCKS_PER_SECTION - sec->nr_uncarved) *
				   MAX_ORDER_NR_PAGES];
		sec->nr_uncarved--;
		z->nr_uncarved--;
		head->type = PG_buddy;
		head->order = MAX_PAGE_ORDER;
		head->flags = PGF_zeroed | PGF_released;
		/* Already counted: on the list, and nothing else. */
		list_add_tail(&head->lru, &z->released);
		return true;
	}
	BUG_ON(1);	/* z->nr_uncarved says some section has one */
	return false;
}

/**
 * zone_account_uncarved - count a section's uncarved blocks in or out
 * @sec: a BUDDY section joining (@sign 1) or leaving (-1) the zone
 *
 * Context: zone lock held.
 */
void zone_account_uncarved(struct kmem_section *sec, int sign)
{
	struct zone *z = &kmem_zone;
	long n = (long)sec->nr_uncarved * sign;

	lock_assert_held(&z->lock);
	z->nr_uncarved += n;
	z->nr_released += n;
	z->free_area[MAX_PAGE_ORDER].nr_free += n;
	z->free_pages += n * (long)MAX_ORDER_NR_PAGES;
	publish_free_area(MAX_PAGE_ORDER);
}

/*
 * __rmqueue - take a block of @order from the zone
 * @resident: only a block of pages used before and not released (no
 *            released piece or max-order block, no block carved)
 *
 * Return: its head (type still PG_buddy, flags say whether it is zeroed),
 * or NULL when no free block is large enough.
 */
static struct page *__rmqueue(unsigned int order, bool resident)
{
	struct zone *z = &kmem_zone;

	lock_assert_held(&z->lock);
	for (unsigned int o = order; o <= MAX_PAGE_ORDER; o++) {
		struct list_head *l = &z->free_area[o].free_list;
		struct extent extent;
		unsigned long count;
		unsigned char released;
		struct page *page;

		if (list_empty(l)) {
			if (o < MAX_PAGE_ORDER || resident)
				continue;
			if (list_empty(&z->released) && !zone_carve())
				continue;
			l = &z->released;
		}
		page = list_first_entry(l, struct page, lru);
		/* Resident pieces come first on a list: buddy.md. */
		if (resident && o < MAX_PAGE_ORDER &&
		    (page->flags & PGF_released))
			continue;
		released = o < MAX_PAGE_ORDER ? page->flags & PGF_released : 0;
		extent = free_block_extent(page, o);
		del_from_free_list(page, o);
		if (o == MAX_PAGE_ORDER)
			section_account_alloc_max(page);
		page->flags &= (unsigned char)~(PGF_released | PGF_freed_head |
						PGF_resident);
		extent = expand(page, order, o, released, extent);
		/*
		 * The resident extent goes with the block (large_setup()
		 * reads it in pcp_resident, as for a block of a thread's
		 * list; the per-thread lists keep it there).
		 */
		count = extent_count(extent, order);
		if (!(page->flags & PGF_zeroed) && count < (1UL << order)) {
			page->flags |= PGF_resident;
			page->pcp_resident = count;
		}
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
	unsigned char released = page->flags & PGF_released;
	/* The resident extents, kept through the merges: expand(). */
	struct extent e = free_block_extent(page, order);

	lock_assert_held(&kmem_zone.lock);
	VM_BUG_ON(idx & ((1UL << order) - 1));
	while (order < MAX_PAGE_ORDER) {
		unsigned long buddy_idx = idx ^ (1UL << order);
		struct page *buddy = base + buddy_idx;
		unsigned long mine, its;

		if (page_type(buddy) != PG_buddy || buddy->order != order)
			break;
		mine = extent_count(e, order);
		its = free_block_resident(buddy, order);
		del_from_free_list(buddy, order);
		zeroed &= buddy->flags;
		released &= buddy->flags;
		if (buddy_idx < idx) {
			page->type = PG_tail;
			page = buddy;
			idx = buddy_idx;
			e = (struct extent){ its, mine };
		} else {
			buddy->type = PG_tail;
			e = (struct extent){ mine, its };
		}
		order++;
	}
	/*
	 * Released only if every part was (zone_release_piece() frees a
	 * released piece): a block freed from use is resident, and so is,
	 * as far as the books go, a released piece merged with it.
	 */
	page->flags = (page->flags & PGF_freed_head) | zeroed | released;
	set_free_extent(page, order, e);
	if (!released && order >= RELEASE_PIECE_ORDER &&
	    order < MAX_PAGE_ORDER && !buddy_free_is_cold()) {
		piece_freed = true;
		kmem_zone.last_piece_free_ms = zone_clock();
	}
	if (order == MAX_PAGE_ORDER) {
		struct kmem_section *sec = page_sec(page);

		page->freed_at = zone_clock();
		if (buddy_free_is_cold())
			page->freed_at = 0;	/* expired: see the reaper */
		if (++sec->nr_free_max == MAX_BLOCKS_PER_SECTION)
			kmem_zone.nr_free_sections++;
	}
	add_to_free_list(page, order);
}

/* Put a new section's first block on the lists; count the others. */
static void zone_add_section(struct kmem_section *sec)
{
	struct zone *z = &kmem_zone;

	lock_assert_held(&z->lock);
	list_add_tail(&sec->node, &z->sections);
	WRITE_ONCE(z->nr_sections, z->nr_sections + 1);
	z->nr_free_sections++;
	z->managed_pages += PAGES_PER_SECTION;
	sec->pages[0].freed_at = zone_clock();
	add_to_free_list(&sec->pages[0], MAX_PAGE_ORDER);
	zone_account_uncarved(sec, 1);	/* the rest: zone_carve() */
	publish_buddy_locked();
}

/* ------------------------------------------------------------------ */
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
	kmem_mutex_lock(&zone_os_lock);
	zone_lock();
	if (zone_can_serve(order)) {
		/* Another thread grew the zone while we waited. */
		kmem_mutex_unlock(&zone_os_lock);
		return ZONE_GROW_RECLAIMED;
	}
	zone_unlock();
	sec = section_create_buddy(true);
	zone_lock();
	if (sec)
		zone_add_section(sec);
	kmem_mutex_unlock(&zone_os_lock);
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
		struct page *page = __rmqueue(order, false);
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
	if (n)
		release_note_take();	/* the demand the policy keeps */
	zone_unlock();
	reaper_maybe_start();	/* grew, or past one block: release.c */
	return n;
}

/* Allocate one block straight from the zone. */
static struct page *zone_alloc(gfp_t gfp, unsigned int order)
{
	bool grew = false, reclaimed = false;
	struct page *page;

	zone_lock();
	page = rmqueue_or_grow(gfp, order, true, &grew, &reclaimed);
	if (page)
		release_note_take();	/* the demand the policy keeps */
	zone_unlock();
	reaper_maybe_start();	/* grew, or past one block: release.c */
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
		release_blocks(buddy_now_ms(), false, false, NULL);
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
	if (nr_decay_pending <= pending_before) {
		/*
		 * A resident piece: the reaper gives it back once the process
		 * is idle (release.c), which is a decay time from now at the
		 * earliest.  Busy threads never release pieces, so
		 * next_decay_ms is not theirs to wait for.
		 */
		if (!piece_freed)
			return 0;
		piece_freed = false;
		return zone_clock() + kmem_config.decay_ms;
	}
	piece_freed = false;
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
 */
void zone_free_bulk(struct list_head *list, unsigned int order)
{
	unsigned long pending_before, due;
	struct page *page, *tmp;

	zone_lock();
	pending_before = nr_decay_pending;
	list_for_each_entry_safe(page, tmp, list, lru) {
		list_del(&page->lru);
		__free_one_page(page, order);
	}
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
 * zone_resident_piece - is a resident free piece waiting to be released?
 *
 * Return: the order of the largest resident free block of
 * RELEASE_PIECE_ORDER up to below the top order, or 0 if there is none.
 * Released pieces follow the resident ones on each list, so a look at
 * each list's first entry answers.
 *
 * Context: zone lock held.
 */
unsigned int zone_resident_piece(void)
{
	lock_assert_held(&kmem_zone.lock);
	for (unsigned int o = MAX_PAGE_ORDER - 1; o >= RELEASE_PIECE_ORDER; o--) {
		struct list_head *l = &kmem_zone.free_area[o].free_list;

		if (!list_empty(l) &&
		    !(list_first_entry(l, struct page, lru)->flags & PGF_released))
			return o;
	}
	return 0;
}

/**
 * zone_release_piece - give a resident free piece back to the OS
 * @order: an order zone_resident_piece() returned, under the same lock
 *         hold: the first entry of its list is the piece
 *
 * The piece leaves its list, its pages go back (MADV_DONTNEED: they read
 * as zero when next touched) and it is freed again, flagged released and
 * zeroed: its buddy is not a free block of its order (the two would have
 * merged), so it goes back on its list, after the resident pieces.  The
 * zone lock stays held across the madvise (2 MiB at most: 120 us for
 * 2 MiB of written pages on the test machine): no other thread ever sees
 * the piece off its list, so nothing else needs to know about it.  The
 * caller drops the lock between pieces.
 *
 * (Freed released, it does not set piece_freed: no kick.)
 *
 * Context: zone lock held.
 * Return: the pages released.
 */
unsigned long zone_release_piece(unsigned int order)
{
	struct page *page;

	page = list_first_entry(&kmem_zone.free_area[order].free_list,
				struct page, lru);
	VM_BUG_ON(page->flags & PGF_released);
	del_from_free_list(page, order);
	kmem_os_release((void *)page_to_addr(page), PAGE_SIZE << order);
	page->flags = (page->flags & PGF_freed_head) | PGF_released |
		      PGF_zeroed;
	__free_one_page(page, order);
	publish_buddy_locked();
	return 1UL << order;
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
 * __alloc_pages_resident - a block of @order made of resident free pages
 * @order:  0..MAX_PAGE_ORDER
 * @zeroed: set as for __alloc_pages()
 *
 * Only a free block whose pages were used before and not given back to
 * the OS as a whole (a large block's unused tail may have gone back:
 * kmalloc/large.c): no section is mapped, no block carved, no released
 * block taken (those cost page faults and memory kmem does not hold yet).
 * kmalloc's large blocks ask this first, before a kept huge mapping.
 *
 * Return: the head descriptor (type left to the caller) or NULL.
 */
struct page *__alloc_pages_resident(unsigned int order, bool *zeroed)
{
	struct page *page;

	zone_lock();
	page = __rmqueue(order, true);
	if (page)
		release_note_take();	/* the demand the policy keeps */
	zone_unlock();
	if (!page)
		return NULL;
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

/**
 * __free_large_pages - free a large block whose first @resident pages
 * may be resident (the rest were never touched or were given back)
 * @page:     its head
 * @order:    its order
 * @resident: its large_resident
 *
 * The block keeps the count, on a thread's list (pcp_resident) or in the
 * zone (buddy_res_lo/hi, through merges and splits: free_block_extent()),
 * so that the next large block cut from its pages does not give back the
 * same tail again: a 3 MB malloc/free loop made one madvise() of the
 * block's 1 MiB tail per pair, 1.5 us, because a 4 MiB block back in the
 * zone counted as wholly resident, and a 1.5 MB loop did the same with a
 * 2 MiB block merged with its free buddy (test_large_tail_given_back_once).
 */
void __free_large_pages(struct page *page, unsigned int order,
			unsigned long resident)
{
	struct extent e;

	if (resident >= (1UL << order)) {
		__free_pages_ok(page, order);
		return;
	}
	page->flags = PGF_freed_head | PGF_resident;
	page->pcp_resident = resident;
	e = extent_of(resident, order);
	page->buddy_res_lo = (uint16_t)e.lo;
	page->buddy_res_hi = (uint16_t)e.hi;
	if (order < PCP_ORDERS && kmem_tls_pcp &&
	    pcp_free(kmem_tls_pcp, page, order))
		return;
	zone_free(page, order);
}

/*
 * Walk the pages [@from, @to) of a section: each step must be the head of
 * a free block that lies within them, on a zone free list or on @pcp's
 * lists.  With @take, each block is taken off its list and its head made
 * a tail, and *@resident grows to cover the pages that may be resident
 * (counted from @head).  Zone lock held.
 *
 * Return: false at the first page that is not such a head (nothing taken
 * yet when @take is false).
 */
static bool grow_walk(struct page *head, struct page *from, struct page *to,
		      struct pcp_set *pcp, bool take, unsigned long *resident)
{
	while (from < to) {
		unsigned int order;
		int o = -1;

		if (page_type(from) == PG_buddy)
			order = from->order;
		else if (pcp && page_type(from) == PG_pcp &&
			 (o = pcp_order_of(pcp, from)) >= 0)
			order = (unsigned int)o;
		else
			return false;
		if (from + (1UL << order) > to)
			return false;
		if (take) {
			unsigned long r = free_block_resident(from, order);

			if (r)
				*resident = max(*resident,
						(unsigned long)(from - head) + r);
			if (o >= 0)
				pcp_unlink(pcp, from, order);
			else
				del_from_free_list(from, order);
			from->flags = 0;
			set_page_type(from, PG_tail);
		}
		from += 1UL << order;
	}
	return true;
}

/**
 * buddy_grow_in_place - grow an allocated block over the free pages after it
 * @page:     head of a block the caller owns (its order in page->order)
 * @order:    the order wanted, above the block's
 * @resident: the pages of the block that may be resident, from its start;
 *            on success, of the grown block
 *
 * The block must be the first part of the block of @order that holds it,
 * and the rest of that block free: whole free blocks on the zone's lists
 * or on the calling thread's own (another thread's are its own business).
 * They are taken, and the block becomes one of @order where it is, as
 * glibc grows a chunk into the free space after it: a buffer doubled by
 * realloc() is neither copied nor left behind, resident and free.
 *
 * Return: true if the block is now of @order.
 */
bool buddy_grow_in_place(struct page *page, unsigned int order,
			 unsigned long *resident)
{
	struct pcp_set *pcp = kmem_tls_pcp;
	struct page *from = page + (1UL << page->order);
	struct page *to = page + (1UL << order);
	bool ok;

	if (order > MAX_PAGE_ORDER || order <= page->order ||
	    (page_index(page) & ((1UL << order) - 1)))
		return false;
	zone_lock();
	ok = grow_walk(page, from, to, pcp, false, NULL);
	if (ok) {
		grow_walk(page, from, to, pcp, true, resident);
		page->order = (unsigned char)order;
		release_note_take();	/* the demand the policy keeps */
	}
	zone_unlock();
	return ok;
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
	buddy_reaper_add_hook(pcp_big_reap);
	huge_cache_init();
}

/**
 * buddy_fork_prepare - take the page allocator's locks before fork()
 */
void buddy_fork_prepare(void)
{
	reaper_fork_prepare();
	kmem_mutex_lock(&zone_os_lock);	/* no release or growth half done */
	zone_lock();
	huge_cache_fork_prepare();
	section_lock_all();
}

/**
 * buddy_republish_locked - the page allocator's figures, published anew
 *
 * Context: the zone lock and the huge heap's held
 * (kmem_republish_locked()).
 */
void buddy_republish_locked(void)
{
	struct kmem_stats_header *h = kmem_region;

	/* Odd (the zone lock is held) until zone_unlock(). */
	__atomic_store_n(&h->buddy_seq, buddy_seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	publish_buddy_locked();
	huge_cache_republish_locked();
	kmem_os_republish();
}

/**
 * buddy_fork_parent - release them in the parent
 */
void buddy_fork_parent(void)
{
	section_unlock_all();
	huge_cache_fork_parent();
	zone_unlock();
	kmem_mutex_unlock(&zone_os_lock);
	reaper_fork_parent();
}

/**
 * buddy_fork_child - reset them in the child, which has no reaper thread
 */
void buddy_fork_child(void)
{
	section_table_fork_child();
	huge_cache_fork_child();
	/*
	 * The zone lock was held across fork(), so the child's buddy_seq is
	 * odd; the unlock that makes it even is the parent's.  Do it here,
	 * or every reader would see the child's page figures as torn (and a
	 * later lock would make them look whole while they change).  The
	 * header gets it when the region is republished.
	 */
	buddy_seq++;
	kmem_mutex_reinit(&kmem_zone.lock);
	kmem_mutex_reinit(&zone_os_lock);
	reaper_fork_child();
}

KMEM_LAYER(buddy_layer, "buddy", LAYER_BUDDY, LOCK_RANK_REAPER,
	.init = buddy_init, .lock = buddy_fork_prepare,
	.republish = buddy_republish_locked, .unlock = buddy_fork_parent,
	.fork_child = buddy_fork_child, .exit = reaper_exit);
