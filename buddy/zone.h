/* SPDX-License-Identifier: MIT */
/*
 * buddy/zone.h - the zone's internals, shared by buddy/'s files only
 * (zone.c, release.c, page_alloc.c, buddyinfo.c, validate.c, pcp.c);
 * layers above see buddy/buddy.h alone.
 *
 * Lock order: the table in core/lock.h.
 */
#ifndef KMEM_BUDDY_ZONE_H
#define KMEM_BUDDY_ZONE_H

#include "buddy/buddy.h"

#pragma GCC visibility push(hidden)

/* Per-thread list totals (pcp.c), for buddyinfo.c and validate.c. */
struct pcp_count {
	unsigned long pages;
	int bad;
};
void count_pcp(void *part, pid_t tid, void *arg);
void count_pcp_quiet(void *part, pid_t tid, void *arg);
void pcp_big_reap(unsigned long now_ms, unsigned long *next);
int pcp_order_of(struct pcp_set *pcp, struct page *page);
extern struct kmem_thread_part pcp_part;

/*
 * The zone (zone.c).  zone_os_lock is held across every step where zone
 * memory is on no list (release.c's release_blocks(), zone.c's growth).
 */
extern struct kmem_mutex zone_os_lock;
extern unsigned long nr_releasing;	/* zone lock: blocks off-list */
extern unsigned long nr_decay_pending;	/* zone lock: resident max blocks */
extern unsigned long zone_clock_ms;	/* READ_ONCE outside the zone lock */
extern __thread bool tls_reaper __tls_ie;	/* this thread is the reaper */

void zone_lock(void);
void zone_unlock(void);
void zone_unlock_read(void);
void publish_buddy_locked(void);
void del_from_free_list(struct page *page, unsigned int order);
void zone_account_uncarved(struct kmem_section *sec, int sign);
unsigned long zone_retained_bytes(void);
unsigned int zone_resident_piece(void);
unsigned long zone_release_piece(unsigned int order);

/* The release policy and the reaper (release.c). */
unsigned long release_blocks(unsigned long now, bool all, bool wait,
			     unsigned long *next);
void release_note_take(void);
void reaper_maybe_start(void);
extern struct kmem_mutex reaper_pass_lock;	/* buddy_validate() */
void reaper_exit(void);
void reaper_fork_prepare(void);
void reaper_fork_parent(void);
void reaper_fork_child(void);

/* The level-2 check after every zone operation (validate.c). */
void zone_expensive_check(void);

#pragma GCC visibility pop

/*
 * The pages in each half of a free block of @order, for its resident
 * extents (zone.c, free_block_extent()); an order-0 block's one page is
 * its lower "half".
 */
static inline unsigned long extent_half(unsigned int order)
{
	return order ? 1UL << (order - 1) : 1;
}

#endif /* KMEM_BUDDY_ZONE_H */
