// SPDX-License-Identifier: MIT
/*
 * buddy/validate.c - the page allocator's validator: buddy_validate() for
 * tests, and the level-2 check after every zone operation.
 *
 * Lock order: the table in core/lock.h.
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
#include "buddy/zone.h"

#define VFAIL(...)                                                           \
	do {                                                                 \
		kmem_printk("buddy_validate: " __VA_ARGS__);                 \
		bad++;                                                       \
	} while (0)

/* The zone's section counts against @nr_free_sections counted. */
static int check_section_counts(unsigned long nr_free_sections)
{
	struct zone *z = &kmem_zone;
	int bad = 0;

	if (nr_free_sections != z->nr_free_sections)
		VFAIL("%lu wholly free sections, zone says %lu\n",
		      nr_free_sections, z->nr_free_sections);
	if (z->managed_pages != z->nr_sections * PAGES_PER_SECTION)
		VFAIL("managed pages %lu for %lu sections\n", z->managed_pages,
		      z->nr_sections);
	return bad;
}

/*
 * __buddy_validate - every page's invariants, zone and zone_os_lock held,
 * other threads not allocating (buddy_validate)
 * @pc: the per-thread lists' total (count_pcp)
 */
static int __buddy_validate(const struct pcp_count *pc)
{
	struct zone *z = &kmem_zone;
	unsigned long free_blocks[NR_PAGE_ORDERS] = { 0 }, free_pages = 0;
	unsigned long pcp_pages = 0, nr_free_sections = 0, nr_uncarved = 0;
	unsigned long used_pages = 0, nr_mapped, released_piece_pages = 0;
	struct kmem_section *sec;
	int bad = 0;

	lock_assert_held(&z->lock);
	list_for_each_entry(sec, &z->sections, node) {
		struct page *pages = sec->pages;
		unsigned int free_max = sec->nr_uncarved;
		unsigned long end = (MAX_BLOCKS_PER_SECTION - sec->nr_uncarved) *
				    MAX_ORDER_NR_PAGES;

		/* Uncarved blocks: free, on no list, descriptors unwritten. */
		nr_uncarved += sec->nr_uncarved;
		free_blocks[MAX_PAGE_ORDER] += sec->nr_uncarved;
		free_pages += PAGES_PER_SECTION - end;
		for (unsigned long i = 0; i < end;) {
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
		unsigned long n = 0, nr_rel = 0;
		bool seen_released = false;
		struct page *p;

		list_for_each_entry(p, &z->free_area[o].free_list, lru) {
			bool rel = p->flags & PGF_released;

			if (p->type != PG_buddy || p->order != o ||
			    (rel && o == MAX_PAGE_ORDER))
				VFAIL("free list %d: entry type %u order %u flags %#x\n",
				      o, p->type, p->order, p->flags);
			if (!rel && seen_released)
				VFAIL("free list %d: resident block 0x%lx after a released one\n",
				      o, page_to_addr(p));
			/* A resident extent is part of the block (zone.c). */
			if ((p->flags & PGF_resident) &&
			    ((p->flags & (PGF_zeroed | PGF_released)) ||
			     p->buddy_res_lo > extent_half((unsigned int)o) ||
			     (!o && p->buddy_res_hi) ||
			     p->buddy_res_hi > extent_half((unsigned int)o)))
				VFAIL("free list %d: block 0x%lx flags %#x, resident extents %u+%u pages\n",
				      o, page_to_addr(p), p->flags,
				      p->buddy_res_lo, p->buddy_res_hi);
			seen_released |= rel;
			if (rel && o < MAX_PAGE_ORDER) {
				released_piece_pages += 1UL << o;
				nr_rel++;
			}
			n++;
		}
		if (nr_rel != z->free_area[o].nr_released)
			VFAIL("free list %d: %lu released pieces, count says %lu\n",
			      o, nr_rel, z->free_area[o].nr_released);
		if (o == MAX_PAGE_ORDER) {
			unsigned long r = 0;

			list_for_each_entry(p, &z->released, lru) {
				if (p->type != PG_buddy || p->order != o ||
				    !(p->flags & PGF_released))
					VFAIL("released list: entry type %u order %u flags %#x\n",
					      p->type, p->order, p->flags);
				r++;
			}
			if (nr_uncarved != z->nr_uncarved)
				VFAIL("%lu uncarved blocks in sections, zone says %lu\n",
				      nr_uncarved, z->nr_uncarved);
			if (r + z->nr_uncarved != z->nr_released)
				VFAIL("released list holds %lu blocks and %lu are uncarved, count says %lu\n",
				      r, z->nr_uncarved, z->nr_released);
			n += r + nr_releasing + z->nr_uncarved;
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
	if (released_piece_pages != z->released_piece_pages)
		VFAIL("%lu pages in released pieces on the lists, zone says %lu\n",
		      released_piece_pages, z->released_piece_pages);
	/*
	 * In a child of fork(), the other threads' lists were abandoned:
	 * their pages stay marked per-thread and are on no live list.
	 */
	if ((kmem_thread_orphans ? pcp_pages < pc->pages :
					 pcp_pages != pc->pages))
		VFAIL("%lu pages marked per-thread in sections, %lu on thread lists\n",
		      pcp_pages, pc->pages);
	bad += check_section_counts(nr_free_sections);
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
 * Meaningful while other threads are not allocating; the reaper's passes
 * are held off meanwhile (reaper_pass_lock), so a test need not stop it.
 *
 * Context: no kmem lock held.
 * Return: 0, or the number of problems found (each one printed).
 */
int buddy_validate(void)
{
	struct pcp_count pc = { 0, 0 };
	int bad;

	kmem_init();
	/*
	 * No reaper pass under way: its depot trim gives slabs back, and
	 * retypes their pages without the zone lock, which the walk of
	 * every page below would report as a broken block.
	 */
	kmem_mutex_lock(&reaper_pass_lock);
	kmem_thread_lock();
	kmem_thread_for_each(&pcp_part, count_pcp, &pc);
	kmem_mutex_lock(&zone_os_lock);	/* no release or growth under way */
	zone_lock();
	bad = pc.bad + __buddy_validate(&pc);
	zone_unlock_read();
	kmem_mutex_unlock(&zone_os_lock);
	kmem_thread_unlock();
	kmem_mutex_unlock(&reaper_pass_lock);
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
	unsigned long free_pages = 0, nr_free_sections = 0, nr_uncarved = 0;
	unsigned long released_piece_pages = 0;
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
				bool rel = p->flags & PGF_released;
				unsigned long i, nr = 1UL << o;

				if (page_type(p) != PG_buddy || p->order != o ||
				    (o == MAX_PAGE_ORDER && !rel != !l)) {
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
				if (rel && o < MAX_PAGE_ORDER)
					released_piece_pages += nr;
				if (l)
					r++;
				else
					n++;
			}
		}
		if (o == MAX_PAGE_ORDER) {
			if (r + z->nr_uncarved != z->nr_released)
				VFAIL("released list holds %lu blocks and %lu are uncarved, count says %lu\n",
				      r, z->nr_uncarved, z->nr_released);
			n += r + nr_releasing + z->nr_uncarved;
			free_pages += (nr_releasing + z->nr_uncarved)
				      << MAX_PAGE_ORDER;
		}
		if (n != z->free_area[o].nr_free)
			VFAIL("order %d: %lu blocks on the lists, nr_free says %lu\n",
			      o, n, z->free_area[o].nr_free);
	}
	if (free_pages != z->free_pages)
		VFAIL("%lu pages in free blocks, zone says %lu\n", free_pages,
		      z->free_pages);
	if (released_piece_pages != z->released_piece_pages)
		VFAIL("%lu pages in released pieces on the lists, zone says %lu\n",
		      released_piece_pages, z->released_piece_pages);
	list_for_each_entry(sec, &z->sections, node) {
		unsigned int free_max = sec->nr_uncarved;

		nr_uncarved += sec->nr_uncarved;
		for (unsigned long i = 0;
		     i < (MAX_BLOCKS_PER_SECTION - sec->nr_uncarved) *
				 MAX_ORDER_NR_PAGES;
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
	if (nr_uncarved != z->nr_uncarved)
		VFAIL("%lu uncarved blocks in sections, zone says %lu\n",
		      nr_uncarved, z->nr_uncarved);
	bad += check_section_counts(nr_free_sections);
	return bad;
}

/*
 * The expensive debug tier (KMEM_DEBUG_LEVEL=2): the zone's invariants
 * after every zone-locked operation, checked as the lock is dropped.
 */
void zone_expensive_check(void)
{
	int bad = __buddy_validate_free();

	if (unlikely(bad))
		kmem_bug(__FILE__, __LINE__,
			 "buddy_validate: %d problems after a zone operation",
			 bad);
}

