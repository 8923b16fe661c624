// SPDX-License-Identifier: MIT
/*
 * kmalloc/large.c - large blocks: sizes above 8 KiB as whole buddy blocks
 * (PG_large, of get_order(size) pages) and sizes above the largest order,
 * or above mallopt(M_MMAP_THRESHOLD), as huge blocks (HUGE sections: the
 * huge heap's, buddy/huge_cache.c, or mappings of their own); the tail
 * policy (KMEM_LARGE_TAIL_KB) and resizing in place.
 *
 * Lock order: the table in core/lock.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/os.h"
#include "kmalloc/kmalloc.h"

/*
 * Sizes from kmalloc_mmap_threshold up are huge blocks
 * (mallopt(M_MMAP_THRESHOLD)); by default those above the largest block.
 */
static size_t kmalloc_mmap_threshold = KMALLOC_MAX_SIZE + 1;
size_t kmalloc_pcp_max = PAGE_SIZE << (PCP_ORDERS - 1);

/**
 * kmalloc_set_mmap_threshold - send sizes from @threshold up to huge blocks
 * @threshold: KMALLOC_MAX_CACHE_SIZE < @threshold <= KMALLOC_MAX_SIZE + 1
 *
 * Context: any; takes effect for allocations that start afterwards.
 */
void kmalloc_set_mmap_threshold(size_t threshold)
{
	WRITE_ONCE(kmalloc_mmap_threshold, threshold);
	WRITE_ONCE(kmalloc_pcp_max,
		   min(threshold - 1, PAGE_SIZE << (PCP_ORDERS - 1)));
}

/*
 * Large blocks are whole buddy blocks, a power of two of pages, but the
 * program may use only the pages its size needs: ksize() and
 * malloc_usable_size() say 18 pages for 70,000 bytes, not the 32 of the
 * block, so the pages past them are never touched by their user (a
 * usable size is the bound a program writes to).  Those pages stay
 * unused until a later user of the block asks for more.  A block is
 * reused, though (the thread's page list keeps one per order): one a
 * program phase filled and a later one asks less of keeps its touched
 * tail resident.  So kmem remembers how many pages of a large block may
 * be resident (its large_resident while allocated, pcp_resident while it
 * waits on a per-thread list; a block fresh from the OS, PGF_zeroed, has
 * none; one whose history is unknown counts as all) and gives an unused
 * tail of at least KMEM_LARGE_TAIL_KB back to the OS (MADV_DONTNEED) when
 * it hands the block out.  A block reused for the same size pays nothing
 * more; one reused for alternately small and large sizes pays a system
 * call and the page faults of touching its tail again, which is why the
 * default threshold is high (Documentation/kmalloc.md has the
 * measurements).  Cutting the tail off as free pages instead (the
 * kernel's alloc_pages_exact()) fragments the buddy allocator badly:
 * measured again for issue 14, kmalloc.md.
 *
 * Not when the order's tails come back: a block handed out (or grown in
 * place) past the pages it may have resident, while it has some, needs
 * again pages that a tail given back took, or that no user of the block
 * had touched yet.  Either way the order is in use at sizes that differ
 * by more than the threshold, and a tail given back now would most
 * likely be faulted in again by the next user.  So no tail of that
 * order goes back until a decay time (KMEM_DECAY_MS) passes without
 * such a regrowth: large_note_regrowth(), large_tails_settled().
 * Blocks of random sizes from 300 KiB to 1 MiB ran a hundred times
 * slower than with the tails kept, each call faulting in a tail the
 * call before had given back (performance.md, "Large blocks' tails given
 * back and faulted in again").
 *
 * With KMEM_THP=always the block may lie in transparent huge pages (its
 * section is advised): a block of a huge page or more gives back only
 * whole huge pages of its tail, from the first huge-page boundary at or
 * after @from.  Releasing part of one would split it: the kernel unmaps
 * the pages (RSS drops) but frees them only when memory runs short, and
 * the block would be small pages from then on.  A smaller block (inside
 * a huge page, or not) releases its tail as in the other modes.
 *
 * Return: the pages of the block that may still be resident (@from when
 * the whole tail went back).
 */
unsigned long kmalloc_large_release_tail(struct page *page, unsigned long from,
					 unsigned long to)
{
	const unsigned long hpage = HPAGE_SIZE >> PAGE_SHIFT;
	char *base = (char *)page_to_addr(page);

	if (READ_ONCE(kmem_config.thp) == KMEM_THP_ALWAYS &&
	    (1UL << page->order) >= hpage) {
		from = ALIGN(from, hpage);
		if (from >= to)
			return to;
	}
	kmem_os_release(base + (from << PAGE_SHIFT), (to - from) << PAGE_SHIFT);
	return from;
}

/*
 * When a block of each order last regrew (the release policy's clock,
 * buddy_now_ms(); 0: never).  Written racily by any thread: one moment
 * or another, the policy asks only whether it is recent.
 */
static unsigned long large_regrown_ms[NR_PAGE_ORDERS];

/**
 * large_note_regrowth - a block of @order was handed out or grown past
 * the pages it may have resident (it had some)
 * @order: the block's order
 */
void large_note_regrowth(unsigned int order)
{
	unsigned long now = buddy_now_ms() ?: 1;

	if (READ_ONCE(large_regrown_ms[order]) != now)
		WRITE_ONCE(large_regrown_ms[order], now);
}

/**
 * large_tails_settled - may a tail of a block of @order go back?
 * @order: the block's order
 *
 * Return: true when no block of @order regrew within the last decay time.
 */
bool large_tails_settled(unsigned int order)
{
	unsigned long t = READ_ONCE(large_regrown_ms[order]);

	return !t || buddy_now_ms() - t >= READ_ONCE(kmem_config.decay_ms);
}

/**
 * kmalloc_large_resize - resize a large block in place
 * @page: its head
 * @size: the new size, above KMALLOC_MAX_CACHE_SIZE, within the block
 *
 * The block stays where it is.  When it shrinks, its pages past @size go
 * back to the OS if they are at least 16 KiB (the program asked for less:
 * the cost is paid once).
 */
void kmalloc_large_resize(struct page *page, size_t size)
{
	unsigned long nr = DIV_ROUND_UP(size, PAGE_SIZE);

	if (page->large_resident >= nr + 4)
		page->large_resident = kmalloc_large_release_tail(page, nr,
						page->large_resident);
	else if (page->large_resident && nr > page->large_resident)
		large_note_regrowth(page->order);
	page->large_resident = max(page->large_resident, nr);
	page->large_size = size;
}

/**
 * kmalloc_large_grow - grow a large block in place past its order
 * @page: its head
 * @size: the new size, above the block's capacity
 *
 * The block must be the first part of the block of the new order, and
 * the rest of it free (buddy_grow_in_place()); only sizes that would be
 * a large block again, and never a block the profiler sampled (its
 * sample keeps the old size: realloc moves it).
 *
 * Return: true if the block now holds @size where it is.
 */
bool kmalloc_large_grow(struct page *page, size_t size)
{
	unsigned long resident = page->large_resident;

	if (size > KMALLOC_MAX_SIZE ||
	    size >= READ_ONCE(kmalloc_mmap_threshold) ||
	    (page->flags & PGF_sampled) ||
	    !buddy_grow_in_place(page, (unsigned int)get_order(size),
				 &resident))
		return false;
	page->large_resident = resident;
	kmalloc_large_resize(page, size);
	return true;
}

/*
 * large_map_ahead - a block's pages from @from to @size bytes are fresh
 * (never touched, or given back to the OS): map ahead, in one call, as
 * many of them as the last fresh block this thread handed out shows the
 * program writes.
 *
 * Each page's first write would fault it in, and a fault traps: on a VM
 * like the bench's 11-15 us against 7-8.5 for madvise(MADV_POPULATE_WRITE)
 * and the first write (performance.md, "Fresh large blocks mapped ahead
 * (session 34, before and after)").  But one malloc() is one buffer, which
 * a program may fill or not (a directory buffer that getdents() fills a
 * page of, a vector doubled and then half used), and a page mapped ahead
 * and never written is memory the program did not use.  So:
 *  - the last page of every fresh block is left to fault in by the
 *    program's own write, and the next fresh block is mapped ahead only
 *    if that page of the last one is resident (written to its end);
 *  - at most as many bytes as the last one's size: a buffer that grows by
 *    doubling (realloc() or a copy) gets the bytes copied into it mapped,
 *    not the room it grew by;
 *  - not for calloc(): fresh memory is zero already, and a zeroed table
 *    is often written sparsely.
 * A program that stops writing its buffers whole stops getting them
 * mapped after one block.  KMEM_MAP_AHEAD=0: never.
 */
static void large_map_ahead(void *p, size_t from, size_t size, gfp_t gfp)
{
	struct pcp_set *pcp = kmem_tls_pcp;
	size_t first = ALIGN(min(from, size), PAGE_SIZE);
	size_t last = (size - 1) & PAGE_MASK;	/* offset of the last page */
	size_t end;

	if (!pcp || first > last || (gfp & __GFP_ZERO) ||
	    !kmem_config.map_ahead)
		return;
	end = min(last, pcp->fresh_size & PAGE_MASK);
	if (first < end && pcp->fresh_last &&
	    kmem_os_resident((void *)pcp->fresh_last, PAGE_SIZE))
		kmem_os_populate((char *)p + first, end - first);
	pcp->fresh_last = (unsigned long)p + last;
	pcp->fresh_size = size;
}

/*
 * large_from_kept - a large block of @order for @size bytes from the huge
 * heap's kept extents, or else from a resident free block of the zone
 * (LARGE_KEPT_ORDER, kmalloc.h, says why and in which order)
 *
 * Return: the block, or NULL with *@page set when the zone had one, or
 * NULL with *@page NULL when neither had (then ask the zone as usual).
 */
static void *large_from_kept(size_t size, size_t align, gfp_t gfp,
			     unsigned int order, struct page **page,
			     bool *zeroed)
{
	struct kmem_section *sec;
	size_t dirty;

	*page = NULL;
	sec = huge_cache_get_kept(size, align, &dirty);
	if (!sec) {
		*page = __alloc_pages_resident(order, zeroed);
		return NULL;
	}
	if (gfp & __GFP_ZERO)
		memset((void *)sec->base, 0, min(dirty, size));
	large_map_ahead((void *)sec->base, dirty, size, gfp);
	return (void *)sec->base;
}

/* kmalloc_large(), and malloc_large_block() when @from_kept. */
static void *__kmalloc_large(size_t size, size_t align, gfp_t gfp,
			     unsigned long caller, bool from_kept)
{
	size_t need = max(size, align), dirty;
	struct kmem_section *sec;

	(void)caller;
	if (!kmem_ready())
		return kmem_boot_alloc(size, align);
	if (size > PTRDIFF_MAX || align > (1UL << (KMEM_ADDR_BITS - 2))) {
		errno = ENOMEM;
		return NULL;
	}
	/*
	 * mallopt(M_MMAP_THRESHOLD) sends sizes from the threshold up to a
	 * mapping, except for callers that may not map (a block will do).
	 */
	if (need <= KMALLOC_MAX_SIZE &&
	    (size < READ_ONCE(kmalloc_mmap_threshold) ||
	     !gfpflags_allow_blocking(gfp))) {
		unsigned int order = (unsigned int)get_order(need);
		struct page *page;
		bool zeroed;
		void *p;

		kmem_thread_maybe_attach();
		page = NULL;
		zeroed = false;
		/* The block this thread freed last, of this order. */
		if (order >= PCP_ORDERS && kmem_tls_pcp)
			page = pcp_big_take(kmem_tls_pcp, order);
		if (!page && from_kept && order >= LARGE_KEPT_ORDER &&
		    gfpflags_allow_blocking(gfp) &&
		    huge_cache_holds(ALIGN(size, PAGE_SIZE))) {
			p = large_from_kept(size, align, gfp, order, &page,
					    &zeroed);
			if (p)
				return p;
		}
		if (!page)
			page = __alloc_pages(gfp, order, &zeroed);
		if (!page && (gfp & __GFP_NOFAIL))
			page = __alloc_pages_nofail(gfp, order, &zeroed);
		if (!page) {
			errno = ENOMEM;
			return NULL;
		}
		large_setup(page, order, size,
			    page->flags | (zeroed ? PGF_zeroed : 0));
		p = (void *)page_to_addr(page);
		if ((gfp & __GFP_ZERO) && !zeroed)
			memset(p, 0, ALIGN(size, PAGE_SIZE));
		if (zeroed)
			large_map_ahead(p, 0, size, gfp);
		return p;
	}
	/*
	 * A huge block may be new memory from the OS: like the page
	 * allocator, GFP_NOWAIT/GFP_ATOMIC never take one (only
	 * __GFP_NOFAIL, which may not fail, overrides that, as it does for
	 * buddy blocks).
	 */
	if (!gfpflags_allow_blocking(gfp) && !(gfp & __GFP_NOFAIL)) {
		errno = ENOMEM;
		return NULL;
	}
	sec = huge_cache_get(size, align, &dirty);
	if (sec) {
		/* Only the bytes used before need zeroing: the rest is new. */
		if (gfp & __GFP_ZERO)
			memset((void *)sec->base, 0, min(dirty, size));
		/* The rest faults in: the zone's idle blocks make room. */
		buddy_release_for_huge(sec->size - min(dirty, sec->size));
		large_map_ahead((void *)sec->base, dirty, size, gfp);
		return (void *)sec->base;
	}
	sec = huge_cache_map(size, align);
	if (!sec) {
		if (gfp & __GFP_NOFAIL)
			kmem_panic("kmem: kmalloc(%zu): __GFP_NOFAIL allocation failed: out of memory\n",
				   size);
		errno = ENOMEM;
		return NULL;
	}
	buddy_release_for_huge(sec->size);
	large_map_ahead((void *)sec->base, 0, size, gfp);
	return (void *)sec->base;	/* fresh from the OS: already zero */
}

/**
 * kmalloc_large - allocate above the largest size class
 * @size:   bytes
 * @align:  alignment (power of two)
 * @gfp:    flags (__GFP_ZERO: zeroed, without a memset when the memory is
 *          fresh from the OS; without __GFP_DIRECT_RECLAIM, GFP_NOWAIT,
 *          nothing is mapped: above KMALLOC_MAX_SIZE that means NULL)
 * @caller: the API caller
 *
 * Up to KMALLOC_MAX_SIZE (and below mallopt(M_MMAP_THRESHOLD)) the block
 * is a buddy block, as the kernel's kmalloc() gives: virt_to_page() finds
 * it, and a power-of-two size is aligned to itself.
 *
 * Return: a page-aligned block, or NULL (errno ENOMEM).
 */
void *kmalloc_large(size_t size, size_t align, gfp_t gfp, unsigned long caller)
{
	return __kmalloc_large(size, align, gfp, caller, false);
}

/**
 * malloc_large_block - kmalloc_large() for the malloc front-end
 * @size:   bytes
 * @align:  alignment (power of two)
 * @gfp:    flags, as for kmalloc_large()
 * @caller: the API caller
 *
 * The same, except that a block of LARGE_KEPT_ORDER or more may be cut
 * from the huge heap's kept extents (see there): malloc promises neither a page
 * descriptor nor more than the alignment asked for.
 *
 * Return: a page-aligned block, or NULL (errno ENOMEM).
 */
void *malloc_large_block(size_t size, size_t align, gfp_t gfp,
			 unsigned long caller)
{
	return __kmalloc_large(size, align, gfp, caller, true);
}
