// SPDX-License-Identifier: MIT
/*
 * buddy/page_alloc.c - the kernel's page API (alloc_pages, __free_pages,
 * __get_free_pages, alloc_pages_exact, virt_to_page, ...) and the checks
 * that stand between a caller's free and the zone.
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
#include "buddy/profile.h"

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
	kmem_prof_alloc((void *)page_to_addr(page), PAGE_SIZE << order,
			KMEM_RET_IP);
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
	if (kmem_prof_page(page))
		kmem_prof_free((void *)page_to_addr(page), page);
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
 * Drains the calling thread's page lists and every thread's big block
 * (buddy/pcp.c), releases every free max-order
 * block, unmaps wholly free sections beyond the retained amount and every
 * freed mapping of its own kept for reuse (buddy/huge_cache.c).
 * kmem_shrink_all() (core) empties the caches above first.
 */
void buddy_shrink(void)
{
	if (kmem_tls_pcp)
		pcp_drain(kmem_tls_pcp);
	pcp_big_drain_all();
	buddy_release_all();
	huge_cache_drain();
	/*
	 * The deadline the reaper sleeps toward may belong to what went
	 * just now: let it look again, so that it sleeps without one (and
	 * buddy_reaper_idle() says so) rather than until then.
	 */
	buddy_reaper_kick(buddy_now_ms());
}

/* ------------------------------------------------------------------ */
