// SPDX-License-Identifier: MIT
/*
 * buddy/pcp.c - per-thread lists of free pages.
 *
 * The kernel keeps a few free pages of low orders per CPU in front of the
 * zone lock (struct per_cpu_pages).  kmem does the same per thread: each
 * thread has one list per order in its part of the thread block
 * (core/thread.c).  Allocation pops the hottest block; an empty list is
 * refilled with pcp_batch blocks under one zone lock.  Free pushes; a list
 * past pcp_high returns pcp_batch of its coldest blocks to the zone.
 *
 * Orders 0..3 are the kernel's; orders 4..8 (64 KiB to 1 MiB, kmalloc's
 * large blocks) keep one block each, and all of them together at most
 * pcp_large_cap bytes (1 MiB): a thread that frees a large block and
 * allocates one again (a buffer per request) does not split and merge
 * blocks under the zone lock each time, and no thread hoards more than
 * about 1.3 MiB.
 *
 * Only the owning thread touches its lists, so there is no lock and no
 * atomic; a block on a list has its head marked PG_pcp, which is how a
 * double free of it is caught.  When the thread exits, its lists are
 * drained back to the zone (pcp_exit).  buddy_validate() and statistics
 * read other threads' lists under kmem_thread_lock, racily for the counts.
 *
 * The lists are in the thread's block in the region's private twin; the
 * published region gets the page count only (nr_pages, stored again at
 * each change: pcp_publish()).
 *
 * Lock order: none held on the fast path; the slow paths take zone->lock
 * (the table in core/lock.h).
 */
#include "buddy/zone.h"

__thread struct pcp_set *kmem_tls_pcp __tls_ie;

static void pcp_attach(void *part, struct kmem_stats_thread *unit)
{
	struct pcp_set *pcp = part;

	unit->pcp_off = (uint32_t)((char *)&pcp->nr_pages - (char *)unit);
	for (unsigned int o = 0; o < PCP_ORDERS; o++) {
		INIT_LIST_HEAD(&pcp->lists[o].list);
		pcp->lists[o].count = 0;
	}
	pcp->nr_pages = 0;
	pcp->large_bytes = 0;
	pcp_publish(pcp);
	kmem_tls_pcp = pcp;
}

/**
 * pcp_drain - give every block on a thread's lists back to the zone
 * @pcp: the calling thread's lists
 */
void pcp_drain(struct pcp_set *pcp)
{
	for (unsigned int o = 0; o < PCP_ORDERS; o++) {
		struct pcp_list *pl = &pcp->lists[o];
		unsigned int n = pl->count;

		if (!n)
			continue;
		pl->count = 0;
		pcp->nr_pages -= (uint64_t)n << o;
		pcp_publish(pcp);
		if (o >= PCP_LARGE_ORDER)
			pcp->large_bytes -= (PAGE_SIZE << o) * n;
		zone_free_bulk(&pl->list, o);
	}
}

static void pcp_exit(void *part)
{
	pcp_drain(part);
	kmem_tls_pcp = NULL;
}

static void pcp_republish(void *part)
{
	struct pcp_set *pcp = part;

	/* Another thread's count, which it may be changing: as it is. */
	*kmem_pub(&pcp->nr_pages) = data_race(pcp->nr_pages);
}

struct kmem_thread_part pcp_part = {
	.size = sizeof(struct pcp_set),
	.attach = pcp_attach,
	.exit = pcp_exit,
	.publish = pcp_republish,
};

/**
 * pcp_alloc - a block of @order from the calling thread's list
 * @pcp:   the calling thread's lists
 * @order: 0..PCP_ORDERS-1
 * @gfp:   flags for the refill (whether the zone may map)
 *
 * Return: the head, type still PG_pcp, or NULL if the zone has nothing.
 */
struct page *pcp_alloc(struct pcp_set *pcp, unsigned int order, gfp_t gfp)
{
	struct pcp_list *pl = &pcp->lists[order];

	if (unlikely(!pl->count)) {
		LIST_HEAD(batch);
		/*
		 * Into a list of our own: the zone may run its reclaim hook,
		 * which frees pages, perhaps onto this very list.
		 */
		unsigned int n = zone_rmqueue_bulk(order,
						   buddy_config.pcp_batch[order],
						   &batch, gfp);
		if (!n)
			return pl->count ? pcp_pop(pcp, order) : NULL;
		list_splice_init(&batch, &pl->list);
		pl->count += n;
		pcp->nr_pages += (uint64_t)n << order;
		pcp_publish(pcp);
		if (order >= PCP_LARGE_ORDER)
			pcp->large_bytes += (PAGE_SIZE << order) * n;
	}
	return pcp_pop(pcp, order);
}

/**
 * pcp_free - put a freed block on the calling thread's list
 * @pcp:   the calling thread's lists
 * @page:  the block's head (already checked)
 * @order: its order
 *
 * Return: true if the block is taken (past the high mark the coldest
 * pcp_batch blocks go back to the zone); false for a large block that
 * would pass pcp_large_cap: the caller gives it to the zone.
 */
bool pcp_free(struct pcp_set *pcp, struct page *page, unsigned int order)
{
	struct pcp_list *pl = &pcp->lists[order];

	if (!__pcp_add(pcp, page, order))
		return false;
	if (unlikely(pl->count > buddy_config.pcp_high[order])) {
		unsigned int n = buddy_config.pcp_batch[order];
		LIST_HEAD(cold);

		for (unsigned int i = 0; i < n; i++) {
			struct page *p = list_last_entry(&pl->list,
							 struct page, lru);

			list_move(&p->lru, &cold);
		}
		pl->count -= n;
		pcp->nr_pages -= (uint64_t)n << order;
		pcp_publish(pcp);
		if (order >= PCP_LARGE_ORDER)
			pcp->large_bytes -= (PAGE_SIZE << order) * n;
		zone_free_bulk(&cold, order);
	}
	return true;
}

/**
 * pcp_order_of - is @page the head of a block on the calling thread's lists?
 * @pcp:  the calling thread's lists
 * @page: any page
 *
 * Looks the page up by address, list by list, without reading its
 * descriptor: a PG_pcp head may be on another thread's list, whose owner
 * changes its order field without a lock.
 *
 * Return: the block's order, or -1 if no list of @pcp holds it.
 */
int pcp_order_of(struct pcp_set *pcp, struct page *page)
{
	for (unsigned int o = 0; o < PCP_ORDERS; o++) {
		struct page *p;

		list_for_each_entry(p, &pcp->lists[o].list, lru)
			if (p == page)
				return (int)o;
	}
	return -1;
}

/*
 * Counting every thread's lists (kmem_thread_for_each()): count_pcp checks
 * each list as it counts (buddy_validate), count_pcp_quiet reads only the
 * total (buddyinfo).
 */
void count_pcp(void *part, pid_t tid, void *arg)
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

void count_pcp_quiet(void *part, pid_t tid, void *arg)
{
	struct pcp_set *pcp = part;
	struct pcp_count *c = arg;

	(void)tid;
	/* The owner changes it without a lock on every page it takes or
	 * gives back: a snapshot may be a few pages out of date. */
	c->pages += data_race(pcp->nr_pages);
}
