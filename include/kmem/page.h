/* SPDX-License-Identifier: MIT */
/*
 * kmem/page.h - the buddy page allocator, in the kernel's form.
 *
 * Pages are 4 KiB.  A block of order n is 2^n contiguous pages aligned to
 * its own size; the largest is order MAX_PAGE_ORDER (4 MiB).  Every page has
 * a struct page descriptor kept outside the page itself; the descriptor is
 * opaque here and reached with virt_to_page(), and page_address() goes back.
 *
 * See Documentation/buddy.md for the design and the user guide.
 */
#ifndef KMEM_PAGE_H
#define KMEM_PAGE_H

#include <stddef.h>
#include <stdbool.h>
#include <kmem/gfp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KMEM_EXPORT __attribute__((visibility("default")))

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define MAX_PAGE_ORDER	10
#define NR_PAGE_ORDERS	(MAX_PAGE_ORDER + 1)
#define MAX_ORDER_NR_PAGES (1UL << MAX_PAGE_ORDER)

struct page;

/**
 * get_order - the order of the smallest block holding @size bytes
 * @size: size in bytes, not 0
 *
 * Return: the order n such that PAGE_SIZE << n >= @size > PAGE_SIZE << (n-1).
 * As in the kernel, the result for 0 is undefined (here: 52).
 */
static inline int get_order(unsigned long size)
{
	size--;
	size >>= PAGE_SHIFT;
	return size ? 64 - __builtin_clzl(size) : 0;
}

KMEM_EXPORT struct page *alloc_pages(gfp_t gfp, unsigned int order);
KMEM_EXPORT void __free_pages(struct page *page, unsigned int order);
KMEM_EXPORT unsigned long __get_free_pages(gfp_t gfp, unsigned int order);
KMEM_EXPORT unsigned long get_zeroed_page(gfp_t gfp);
KMEM_EXPORT void free_pages(unsigned long addr, unsigned int order);
KMEM_EXPORT void *alloc_pages_exact(size_t size, gfp_t gfp);
KMEM_EXPORT void free_pages_exact(void *virt, size_t size);
KMEM_EXPORT void *page_address(const struct page *page);
KMEM_EXPORT struct page *virt_to_page(const void *addr);
KMEM_EXPORT bool virt_addr_valid(const void *addr);

#define alloc_page(gfp)		alloc_pages((gfp), 0)
#define __free_page(page)	__free_pages((page), 0)
#define __get_free_page(gfp)	__get_free_pages((gfp), 0)
#define free_page(addr)		free_pages((addr), 0)
#define alloc_pages_node(nid, gfp, order) alloc_pages((gfp), (order))

/**
 * struct kmem_buddyinfo - a snapshot of the page allocator
 * @nr_free:      free blocks of each order in the zone (what /proc/buddyinfo
 *                shows); pages cached in per-thread lists are not free here
 * @pcp_pages:    pages held in per-thread lists, all threads
 * @mapped:       bytes mapped from the OS for sections
 * @retained:     bytes of free blocks given back to the OS with
 *                MADV_DONTNEED but still mapped (cost address space only):
 *                max-order blocks, and the pieces of split ones that an
 *                idle process or a shrink gave back
 * @resident:     @mapped - @retained: an upper bound of what the sections
 *                hold in RAM
 * @huge_mapped:  bytes of live huge blocks (allocations above 4 MiB, and
 *                smaller ones kmalloc.md names), in the huge heap or
 *                mappings of their own
 * @nr_sections:  sections mapped
 * @nr_huge:      huge blocks live
 * @huge_cached:  bytes of freed huge blocks kept, resident, for reuse
 *                where they lie in the huge heap (KMEM_HUGE_RETAIN_MB;
 *                given back after KMEM_DECAY_MS)
 * @nr_huge_cached: the huge heap's kept extents
 */
struct kmem_buddyinfo {
	unsigned long nr_free[NR_PAGE_ORDERS];
	unsigned long pcp_pages;
	unsigned long mapped;
	unsigned long retained;
	unsigned long resident;
	unsigned long huge_mapped;
	unsigned long nr_sections;
	unsigned long nr_huge;
	unsigned long huge_cached;
	unsigned long nr_huge_cached;
};

KMEM_EXPORT void kmem_buddyinfo_get(struct kmem_buddyinfo *info);
KMEM_EXPORT int kmem_buddyinfo_format(const struct kmem_buddyinfo *info,
				      char *buf, size_t len);
KMEM_EXPORT int buddy_validate(void);
KMEM_EXPORT void kmem_shrink_all(void);

#ifdef __cplusplus
}
#endif

#endif /* KMEM_PAGE_H */
