// SPDX-License-Identifier: MIT
/*
 * buddy/pcp.c - per-thread lists of free pages.
 *
 * The kernel keeps a few free pages of low orders per CPU in front of the
 * zone lock (struct per_cpu_pages).  kmem does the same per thread: each
 * thread has one list per order in its part of the thread block
 * (core/thread.c).  Allocation pops the hottest block; an empty list is
 * refilled with pcp_batch blocks under one zone lock.  Free pushes; a list
 * at pcp_high first returns pcp_batch of its coldest blocks to the zone.
 * Each list is a stack of head pointers (struct pcp_list, buddy/buddy.h),
 * the hottest on top and the coldest at the bottom: a pop or a push
 * touches the count and one slot, not the descriptors' links and their
 * neighbours (Documentation/buddy.md, "Per-thread page lists").
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
 * published region gets the page count only (nr_pages and the big
 * block's, stored again at each change: pcp_publish()).
 *
 * The thread's big block.  Blocks of 2 and 4 MiB (orders 9 and 10, a
 * malloc() of more than 1 MiB up to 4 MiB) went back to the zone at each
 * free and were split from, or merged into, a 4 MiB block under the
 * zone lock at each allocation: about 1,200 instructions and two zone
 * locks a pair, 1.4-2x tcmalloc's time for a buffer freed and allocated
 * again in a loop (Documentation/performance.md, "The thread's big
 * block").  So a thread parks one such block when it frees it, in a
 * slot beside its lists, and its next allocation of that order takes it
 * back.  One block per thread, never more: a thread holds at most 4 MiB
 * this way on top of the lists' 1.3 MiB.  Unlike the lists the slot is
 * not the owner's alone, so that a parked block follows the zone's
 * decay: the reaper takes a block parked KMEM_DECAY_MS ago or more and
 * frees it to the zone, cold (already expired: a whole 4 MiB block goes
 * back to the OS in the same pass, as a block freed to the zone would
 * have after the decay time), malloc_trim() and kmem_shrink_all() take
 * every thread's at
 * once, and a thread's exit gives its own back.  The owner parks with a
 * release store (only it fills an empty slot) and takes with a
 * compare-and-exchange, as the others do, so that a block is taken
 * once; another thread leaves the slot busy (PCP_BIG_BUSY) until it has
 * published the thread's count without the block, so that the owner
 * cannot park again meanwhile.  The block's pages are kept beside the
 * word (big_pages) for pcp_publish(), which the lists' fast paths call:
 * one load, not a look at the word.  KMEM_DECAY_MS=0 parks nothing.
 *
 * Lock order: none held on the fast path; the slow paths take zone->lock
 * (the table in core/lock.h).  A pass over every thread's big block
 * (the reaper's, malloc_trim()'s) takes kmem_thread_lock, and the zone
 * lock only once it is dropped.
 */
#include <string.h>

#include "buddy/zone.h"

__thread struct pcp_set *kmem_tls_pcp __tls_ie;

static void pcp_attach(void *part, struct kmem_stats_thread *unit)
{
	struct pcp_set *pcp = part;
	unsigned int used = 0;

	unit->pcp_off = (uint32_t)((char *)&pcp->nr_pages - (char *)unit);
	for (unsigned int o = 0; o < PCP_ORDERS; o++) {
		pcp->lists[o].base = used;
		pcp->lists[o].count = 0;
		used += pcp_cap(o);
	}
	pcp->nr_pages = 0;
	pcp->large_bytes = 0;
	pcp->big = 0;
	pcp->big_at = 0;
	pcp->big_pages = 0;
	pcp_publish(pcp);
	kmem_tls_pcp = pcp;
}

/* Give blocks taken from big-block slots to the zone. */
static void big_free(unsigned long *words, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		LIST_HEAD(one);

		list_add(&pcp_big_page(words[i])->lru, &one);
		zone_free_bulk(&one, pcp_big_order(words[i]));
	}
}

/*
 * Give the @n coldest blocks of @order's stack (its bottom) to the zone
 * and move the rest down; the caller has counted them out (pcp_sub()).
 */
static void pcp_give_coldest(struct pcp_set *pcp, unsigned int order,
			     unsigned int n)
{
	struct page **stack = pcp_stack(pcp, order);
	LIST_HEAD(cold);

	for (unsigned int i = 0; i < n; i++)
		list_add_tail(&stack[i]->lru, &cold);
	memmove(stack, stack + n, pcp->lists[order].count * sizeof(*stack));
	zone_free_bulk(&cold, order);
}

/**
 * pcp_unlink - take @page, a block of @order, off the calling thread's
 * list of that order, wherever it is in it (the owner thread only; the
 * zone's grow-in-place, zone.c)
 */
void pcp_unlink(struct pcp_set *pcp, struct page *page, unsigned int order)
{
	struct page **stack = pcp_stack(pcp, order);
	unsigned int n = pcp->lists[order].count, i = n;

	while (i && stack[i - 1] != page)
		i--;
	if (!i)
		kmem_panic("kmem: block 0x%lx is not on list %u of its thread\n",
			   page_to_addr(page), order);
	memmove(stack + i - 1, stack + i, (n - i) * sizeof(*stack));
	pcp_sub(pcp, order, 1);
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
		pcp_sub(pcp, o, n);
		pcp_give_coldest(pcp, o, n);
	}
	pcp_big_give(pcp);
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
	__atomic_store_n(kmem_pub(&pcp->nr_pages),
			 data_race(pcp->nr_pages) +
				 __atomic_load_n(&pcp->big_pages,
						 __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
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
		unsigned int take = min(n, pcp_cap(order) - pl->count), i;
		struct page **stack = pcp_stack(pcp, order), *page, *next;

		if (!n)
			return pl->count ? pcp_pop(pcp, order) : NULL;
		/*
		 * On top of what the hook freed meanwhile, if anything, the
		 * batch's first block on top, as it came off the zone; what
		 * finds no slot goes back.
		 */
		i = pl->count + take;
		list_for_each_entry_safe(page, next, &batch, lru) {
			if (i == pl->count)
				break;
			list_del(&page->lru);
			stack[--i] = page;
		}
		if (take < n)
			zone_free_bulk(&batch, order);
		pl->count += take;
		pcp->nr_pages += (uint64_t)take << order;
		pcp_publish(pcp);
		if (order >= PCP_LARGE_ORDER)
			pcp->large_bytes += (PAGE_SIZE << order) * take;
	}
	return pcp_pop(pcp, order);
}

/**
 * pcp_free - put a freed block on the calling thread's list
 * @pcp:   the calling thread's lists
 * @page:  the block's head (already checked)
 * @order: its order
 *
 * Return: true if the block is taken (at the high mark the coldest
 * pcp_batch blocks go back to the zone first, so a stack needs no slot
 * past the mark); false for a large block that would pass pcp_large_cap:
 * the caller gives it to the zone.
 */
bool pcp_free(struct pcp_set *pcp, struct page *page, unsigned int order)
{
	struct pcp_list *pl = &pcp->lists[order];

	/*
	 * Past the cap with the blocks it holds, the block goes to the zone
	 * and the list keeps them, as it did when the block was added before
	 * the drain: a drain first would keep the new block and give back an
	 * older one (malloc_bench regrow: 3 MB more at its peak).
	 */
	if (!pcp_large_room(pcp, order))
		return false;
	if (unlikely(pl->count >= buddy_config.pcp_high[order])) {
		unsigned int n = min(buddy_config.pcp_batch[order],
				     pl->count);

		pcp_sub(pcp, order, n);
		pcp_give_coldest(pcp, order, n);
	}
	__pcp_put(pcp, page, order);
	return true;
}

/**
 * pcp_big_park - make a freed block the calling thread's big block
 * @pcp:   the calling thread's lists, whose slot is empty (pcp_big_room())
 * @page:  the block's head, its large-block fields set as for a list
 *         (__kmalloc_large_free())
 * @order: PCP_ORDERS..MAX_PAGE_ORDER
 *
 * Only the owner fills an empty slot, so no other thread writes it
 * between the check and the store.
 *
 * Context: the owner thread; no lock.
 */
void pcp_big_park(struct pcp_set *pcp, struct page *page, unsigned int order)
{
	unsigned long now = buddy_now_ms();

	set_page_type(page, PG_pcp);
	page->order = (unsigned char)order;
	WRITE_ONCE(pcp->big_at, now);
	__atomic_store_n(&pcp->big_pages, 1UL << order, __ATOMIC_RELAXED);
	/* The descriptor before the block is anyone else's to take. */
	__atomic_store_n(&pcp->big, (unsigned long)page | order,
			 __ATOMIC_RELEASE);
	pcp_publish(pcp);
	/* An idle process gives it back: the reaper's deadline. */
	buddy_reaper_kick(now + READ_ONCE(kmem_config.decay_ms));
}

/*
 * Take the block of word @w from @pcp's slot (any thread): a
 * compare-and-exchange to @to (0, or PCP_BIG_BUSY for another thread,
 * which empties the slot itself once it has published).  Return: false
 * if the slot no longer held @w.
 */
static bool big_claim(struct pcp_set *pcp, unsigned long w, unsigned long to)
{
	if (!__atomic_compare_exchange_n(&pcp->big, &w, to, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return false;
	__atomic_store_n(&pcp->big_pages, 0, __ATOMIC_RELAXED);
	return true;
}

/**
 * pcp_big_take - the calling thread's big block, if it is of @order
 * @pcp:   the calling thread's lists
 * @order: PCP_ORDERS..MAX_PAGE_ORDER
 *
 * Return: its head (type still PG_pcp, large-block fields as parked), or
 * NULL: no block, one of another order (it stays), or another thread is
 * taking it.
 */
struct page *pcp_big_take(struct pcp_set *pcp, unsigned int order)
{
	unsigned long w = READ_ONCE(pcp->big);

	/* PCP_BIG_BUSY's order bits are no block's. */
	if (pcp_big_order(w) != order || !big_claim(pcp, w, 0))
		return NULL;
	pcp_publish(pcp);
	return pcp_big_page(w);
}

/**
 * pcp_big_give - the calling thread's big block, of any order, to the zone
 * @pcp: the calling thread's lists
 */
void pcp_big_give(struct pcp_set *pcp)
{
	unsigned long w = READ_ONCE(pcp->big);

	if (!w || w == PCP_BIG_BUSY || !big_claim(pcp, w, 0))
		return;
	pcp_publish(pcp);
	big_free(&w, 1);
}

/* Big blocks taken from other threads, to be freed with no lock held. */
struct big_take {
	unsigned long now, due;		/* due: the earliest left, or 0 */
	bool all;			/* every block, whatever its age */
	unsigned int n;
	unsigned long words[64];
};

static void big_take_one(void *part, pid_t tid, void *arg)
{
	struct pcp_set *pcp = part;
	struct big_take *t = arg;
	unsigned long w = READ_ONCE(pcp->big), at, due;

	(void)tid;
	if (!w || w == PCP_BIG_BUSY)
		return;
	at = READ_ONCE(pcp->big_at);
	due = at + READ_ONCE(kmem_config.decay_ms);
	if (!t->all && due > t->now) {
		if (!t->due || due < t->due)
			t->due = due;
		return;
	}
	if (t->n == ARRAY_SIZE(t->words))
		return;		/* big_take_all() comes round again */
	/*
	 * Busy while this thread publishes, so that the owner, who may park
	 * a block again once the slot is empty, finds the count settled.
	 */
	if (!big_claim(pcp, w, PCP_BIG_BUSY))
		return;		/* its owner took it meanwhile */
	t->words[t->n++] = w;
	pcp_republish(pcp);
	__atomic_store_n(&pcp->big, 0, __ATOMIC_RELEASE);
}

/*
 * Take big blocks from every live thread (all of them, or those parked a
 * decay time ago) and give them to the zone.  Return: when the earliest
 * block left expires, or 0.
 */
static unsigned long big_take_all(unsigned long now, bool all)
{
	struct big_take t = { .now = now, .all = all };

	do {
		t.n = 0;
		t.due = 0;
		kmem_thread_lock();
		kmem_thread_for_each(&pcp_part, big_take_one, &t);
		kmem_thread_unlock();
		big_free(t.words, t.n);
	} while (t.n == ARRAY_SIZE(t.words));
	return t.due;
}

/**
 * pcp_big_reap - the reaper's pass over the threads' big blocks
 * @now_ms: the pass's time
 * @next:   lowered to when the earliest block left expires
 */
void pcp_big_reap(unsigned long now_ms, unsigned long *next)
{
	unsigned long due = big_take_all(now_ms, false);

	if (due && (!*next || due < *next))
		*next = due;
}

/**
 * pcp_big_drain_all - every thread's big block back to the zone, now
 *
 * Context: no kmem lock held (buddy_shrink()).
 */
void pcp_big_drain_all(void)
{
	big_take_all(buddy_now_ms(), true);
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
	for (unsigned int o = 0; o < PCP_ORDERS; o++)
		for (unsigned int i = 0; i < pcp->lists[o].count; i++)
			if (pcp_stack(pcp, o)[i] == page)
				return (int)o;
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
	unsigned int base = 0;

	for (unsigned int o = 0; o < PCP_ORDERS; o++) {
		const struct pcp_list *pl = &pcp->lists[o];
		struct page **stack = pcp_stack(pcp, o);
		unsigned int n = pl->count;

		if (n > pcp_cap(o) || pl->base != base) {
			kmem_printk("buddy_validate: thread %d list %u holds %u blocks from slot %u\n",
				    tid, o, n, pl->base);
			c->bad++;
			n = 0;
		}
		base += pcp_cap(o);
		for (unsigned int i = 0; i < n; i++) {
			struct page *page = stack[i];

			if (page->type != PG_pcp || page->order != o) {
				kmem_printk("buddy_validate: thread %d list %u: page 0x%lx type %u order %u\n",
					    tid, o, page_to_addr(page),
					    page->type, page->order);
				c->bad++;
			}
			for (unsigned int k = 0; k < i; k++)
				if (stack[k] == page) {
					kmem_printk("buddy_validate: thread %d list %u: page 0x%lx twice\n",
						    tid, o, page_to_addr(page));
					c->bad++;
				}
		}
		c->pages += (unsigned long)n << o;
	}
	{
		/* No taker is half way: it holds kmem_thread_lock. */
		unsigned long w = READ_ONCE(pcp->big);
		struct page *page = pcp_big_page(w);
		uint64_t n = __atomic_load_n(&pcp->big_pages, __ATOMIC_RELAXED);

		if (w && (w == PCP_BIG_BUSY || page->type != PG_pcp ||
			  page->order != pcp_big_order(w) ||
			  n != 1UL << page->order)) {
			kmem_printk("buddy_validate: thread %d big block: word 0x%lx, %lu pages counted\n",
				    tid, w, (unsigned long)n);
			c->bad++;
		} else if (!w && n) {
			kmem_printk("buddy_validate: thread %d: no big block, %lu pages counted\n",
				    tid, (unsigned long)n);
			c->bad++;
		}
		c->pages += n;
	}
}

void count_pcp_quiet(void *part, pid_t tid, void *arg)
{
	struct pcp_set *pcp = part;
	struct pcp_count *c = arg;

	(void)tid;
	/* The owner changes it without a lock on every page it takes or
	 * gives back: a snapshot may be a few pages out of date. */
	c->pages += data_race(pcp->nr_pages) +
		    __atomic_load_n(&pcp->big_pages, __ATOMIC_RELAXED);
}
