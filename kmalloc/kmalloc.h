/* SPDX-License-Identifier: MIT */
/*
 * kmalloc/kmalloc.h - private header of kmalloc/, the top layer of the
 * library: the kmalloc size classes, large blocks, pointer
 * classification, the malloc front-end and the whole-library operations.
 */
#ifndef KMEM_KMALLOC_KMALLOC_H
#define KMEM_KMALLOC_KMALLOC_H

#include "slab/slab.h"
#include "buddy/profile.h"

#pragma GCC visibility push(hidden)

/* stats.c, malloc.c */
void kmem_malloc_stats_fd(int fd);
void kmem_stats_print_at_exit(void);

/* kmalloc.c, malloc_classes.c */
#define KMALLOC_NR_CACHES 13	/* kmalloc-8 ... kmalloc-8k */
#define MALLOC_NR_CLASSES 25	/* malloc-48 ... malloc-14k, after them */
#define KMALLOC_NR_SLOTS (KMALLOC_NR_CACHES + MALLOC_NR_CLASSES)
/* Largest malloc() size served by a cache; above, whole pages. */
#define MALLOC_MAX_CACHE_SIZE 14336UL

/*
 * The kmalloc caches sit 512 bytes apart so that a class index becomes a
 * cache with one shift; the index tables are constant (valid before
 * start-up, when the caches are still zero and every fast path falls
 * through to the slow path).
 */
union kmalloc_slot {
	struct kmem_cache c;
	char pad[512];
};
BUILD_BUG_ON(sizeof(struct kmem_cache) > 512);

extern union kmalloc_slot kmalloc_slots[KMALLOC_NR_SLOTS];
extern const unsigned char kmalloc_index[KMALLOC_MAX_CACHE_SIZE / 8 + 1];
extern const unsigned char malloc_index[MALLOC_MAX_CACHE_SIZE / 16 + 1];

/* The kmalloc cache for @size (1..8192): kmalloc-8 and up. */
static __always_inline struct kmem_cache *kmalloc_cache(size_t size)
{
	return &kmalloc_slots[kmalloc_index[(size + 7) >> 3]].c;
}

/*
 * The malloc class for @size (0..MALLOC_MAX_CACHE_SIZE): 16-byte aligned,
 * kmalloc-16 up, malloc's own classes between the powers of two above 256.
 */
static __always_inline struct kmem_cache *malloc_cache(size_t size)
{
	return &kmalloc_slots[malloc_index[(size + 15) >> 4]].c;
}
void kmalloc_init(void);
void malloc_classes_init(void);
/*
 * malloc's blocks of this order and up (256 KiB: requests above 128 KiB)
 * that the thread's page list cannot serve come from the huge heap's kept
 * extents when they hold enough, else from a resident free block of the
 * zone, and only then from the zone as before.
 *
 * A program that frees huge blocks (above 4 MiB) and allocates large ones
 * in between would otherwise hold both: the freed block, kept resident
 * for reuse (huge_cache.c), and blocks of the zone faulted in for the
 * large ones.  mstress (random small blocks, rare ones of 80 KB to 5 MB)
 * took a third 4 MiB block for a 2.56 MB request while a freed 5.12 MB
 * block sat kept (the rule was then: 2 MiB blocks and up, the zone's
 * resident blocks first); with the heap first for 256 KiB and up its
 * zone stopped growing once the heap held kept pages.  Served from the
 * heap, the block is a huge block (a HUGE section) until it is freed,
 * when it is kept again; the heap is asked only while it keeps enough
 * bytes (huge_cache_holds()), so a program with no huge block freed never
 * takes its lock.  The other direction: a huge block that faults in new
 * pages gives back as many bytes of the zone's resident free 4 MiB
 * blocks (buddy_release_for_huge()).  Smaller blocks stay in the zone.
 * realloc() resizes a huge block in place above LARGE_KEPT_MIN for the
 * same reason (kmalloc/malloc.c).
 */
#define LARGE_KEPT_ORDER	6
#define LARGE_KEPT_MIN		(PAGE_SIZE << (LARGE_KEPT_ORDER - 1))

void *kmalloc_large(size_t size, size_t align, gfp_t gfp, unsigned long caller);
void *malloc_large_block(size_t size, size_t align, gfp_t gfp,
			 unsigned long caller);
void kmalloc_set_mmap_threshold(size_t threshold);
/*
 * Largest size kmalloc_large_fast() serves: the per-thread lists' largest
 * block, or less when mallopt(M_MMAP_THRESHOLD) sends smaller sizes to
 * mappings of their own.
 */
extern size_t kmalloc_pcp_max;
void kmalloc_large_resize(struct page *page, size_t size);

/*
 * The bytes a large block can grow to in place: its whole buddy block
 * (its usable size is only the pages its size needs).
 */
static __always_inline size_t large_capacity(const struct page *page)
{
	return PAGE_SIZE << page->order;
}
unsigned long kmalloc_large_release_tail(struct page *page, unsigned long from,
					 unsigned long to);
void large_note_regrowth(unsigned int order);
bool kmalloc_large_grow(struct page *page, size_t size);
bool large_tails_settled(unsigned int order);

/*
 * large_setup - make a block of @order taken for @size bytes a large
 * block; @flags are its flags when it was taken (PGF_zeroed, PGF_resident
 * with the count in its pcp_resident).
 */
static __always_inline void large_setup(struct page *page, unsigned int order,
					size_t size, unsigned char flags)
{
	unsigned long nr = DIV_ROUND_UP(size, PAGE_SIZE);
	unsigned long tail = kmem_config.large_tail_pages;
	unsigned long resident;

	if (flags & PGF_resident)
		resident = page->pcp_resident;
	else if (flags & PGF_zeroed)
		resident = 0;
	else
		resident = 1UL << order;
	/* A tail given back may be needed again soon: kmalloc/large.c. */
	if (unlikely(resident && nr > resident))
		large_note_regrowth(order);
	else if (unlikely(tail && resident >= nr + tail) &&
		 large_tails_settled(order))
		resident = kmalloc_large_release_tail(page, nr, resident);
	page->flags = 0;
	page->large_size = size;
	page->large_resident = max(resident, nr);
	set_page_type(page, PG_large);
}


/*
 * large_list_head - the hottest block on the calling thread's list for
 * @size bytes (pcp_top()), left on it (@pcp: the lists, @order: the
 * block's), or NULL: no lists yet, a size past what they hold, an empty
 * list.
 */
static __always_inline struct page *large_list_head(size_t size,
						    struct pcp_set **pcp,
						    unsigned int *order)
{
	*pcp = kmem_tls_pcp;
	if (unlikely(!*pcp || size > READ_ONCE(kmalloc_pcp_max)))
		return NULL;
	*order = (unsigned int)get_order(size);
	return pcp_top(*pcp, *order);
}

/**
 * kmalloc_large_fast - a large block from the calling thread's page list
 * @size: bytes, above KMALLOC_MAX_CACHE_SIZE
 *
 * The common case of large allocations: a block of this order was freed
 * by this thread and waits on its list.  No lock: inlined into kmalloc()
 * and malloc()'s slow path (its fast path is kmalloc_large_quick()).
 *
 * Return: the block, or NULL when the slow path must run.
 */
static __always_inline void *kmalloc_large_fast(size_t size)
{
	struct pcp_set *pcp;
	unsigned int order;
	struct page *page = large_list_head(size, &pcp, &order);

	if (!page)
		return NULL;
	pcp_pop(pcp, order);
	large_setup(page, order, size, page->flags);
	return (void *)page_to_addr(page);
}

/*
 * kmalloc_large_quick - kmalloc_large_fast() when large_setup() would
 * have nothing to decide: the hottest block on the thread's list is
 * resident (its pages counted when it was freed) for at least @size and
 * has no tail long enough to give back.  Anything else, NULL, and the
 * block stays on the list for kmalloc_large_fast() on the slow path.
 *
 * Made to need no call (large_setup()'s decisions make calls, which cost
 * the caller six saved registers): malloc()'s large path.
 */
static __always_inline void *kmalloc_large_quick(size_t size)
{
	unsigned long nr, tail, resident;
	struct pcp_set *pcp;
	unsigned int order;
	struct page *page = large_list_head(size, &pcp, &order);

	if (!page || !(page->flags & PGF_resident))
		return NULL;
	nr = DIV_ROUND_UP(size, PAGE_SIZE);
	tail = kmem_config.large_tail_pages;
	resident = page->pcp_resident;
	if (nr > resident || (tail && resident >= nr + tail))
		return NULL;
	pcp_pop(pcp, order);
	page->flags = 0;
	page->large_size = size;
	page->large_resident = resident;
	set_page_type(page, PG_large);
	return (void *)page_to_addr(page);
}

/*
 * __kmalloc_large_free - free a large block onto the thread's list
 * @page: its head's descriptor
 * @p:    the pointer freed
 * @prof: a block the profiler sampled leaves the profile first; false
 *        (free()'s fast path): such a block is not taken
 *
 * @page may come from section_entry_wrap(), so the top bits of @p are
 * checked here: an alias of a block's address is not the block.
 *
 * A block of 2 or 4 MiB becomes the thread's big block (buddy/pcp.c) if
 * the thread has none, on the slow path only (@prof true): free()'s fast
 * path leaves it to the slow path, so that it stays as short as it was.
 *
 * Return: true if @p was a large block head and its list had room.
 */
static __always_inline bool __kmalloc_large_free(struct page *page,
						 const void *p, bool prof)
{
	struct pcp_set *pcp = kmem_tls_pcp;
	unsigned int order = page->order;

	if (page_type(page) != PG_large ||
	    (!prof && (page->flags & PGF_sampled)) ||
	    ((unsigned long)p & (~PAGE_MASK | ~((1UL << KMEM_ADDR_BITS) - 1))) ||
	    !pcp || (order >= PCP_ORDERS && (!prof || !pcp_big_room(pcp))))
		return false;
	if (prof && kmem_prof_page(page))
		kmem_prof_free(p, page);
	/* The zone's free lists would overwrite it (lru). */
	page->pcp_resident = page->large_resident;
	page->flags = PGF_freed_head | PGF_resident;
	page->large_size = 0;
	if (prof && order >= PCP_ORDERS) {
		pcp_big_park(pcp, page, order);
		return true;
	}
	return pcp_push(pcp, page, order);
}

/*
 * kmalloc_large_free_fast - __kmalloc_large_free() for free()'s and
 * kfree()'s fast paths: a sampled block goes the slow way, so that the
 * fast path makes no call (and needs no stack frame).
 */
static __always_inline bool kmalloc_large_free_fast(struct page *page,
						    const void *p)
{
	return __kmalloc_large_free(page, p, false);
}

void *kmem_alloc_class_slow(struct kmem_cache *s, size_t size, gfp_t gfp,
			    unsigned long caller);

/*
 * What a pointer handed to free()/kfree() is.  kmem_classify() looks it
 * up in the page table and checks it is the start of something we handed
 * out; anything else is KMEM_PTR_INVALID with a reason.
 */
enum kmem_ptr_kind {
	KMEM_PTR_INVALID,
	KMEM_PTR_SLAB,		/* an object of a cache */
	KMEM_PTR_LARGE,		/* a kmalloc buddy block */
	KMEM_PTR_HUGE,		/* a huge block (heap's or a mapping) */
	KMEM_PTR_BOOT,		/* start-up arena: never freed */
	KMEM_PTR_KFENCE,	/* in the KFENCE pool (kfence/kfence.c) */
};

struct kmem_ptr {
	enum kmem_ptr_kind kind;
	struct page *page;		/* SLAB, LARGE */
	struct kmem_section *sec;	/* HUGE */
	const char *why;		/* INVALID: what is wrong */
	bool double_free;		/* INVALID: looks freed already */
};

void kmem_classify(const void *p, struct page *page, struct kmem_ptr *kp);
void kmem_usable_claimed(const struct kmem_ptr *kp);
size_t kmem_usable_size(const struct kmem_ptr *kp, const void *p);
size_t kmem_written_size(const struct kmem_ptr *kp, const void *p);
void kmem_free_slow(const void *p, const char *func, unsigned long caller);
size_t kmem_usable(const void *p, const char *func);
void kmem_free_classified(const struct kmem_ptr *kp, void *p,
			  const char *func, unsigned long caller);
void kmem_bad_pointer(const struct kmem_ptr *kp, const void *p,
		      const char *func) __attribute__((noreturn, cold));
void *kmem_boot_alloc(size_t size, size_t align);
bool kmem_boot_owns(const void *p);
size_t kmem_boot_usable(const void *p);

/*
 * kmem_free_fast - kfree()'s and free()'s fast path: a slab object into
 * the calling thread's magazine, a large block onto its page list.
 *
 * Return: true if @p was taken; false for everything else (NULL, the
 * start-up arena, a full magazine, a marked object, an invalid pointer),
 * which the caller's slow path classifies.
 */
static __always_inline bool kmem_free_fast(const void *p)
{
	unsigned long e = section_entry_wrap((unsigned long)p);

	if (likely(e & SECTION_ENTRY_PAGES)) {
		struct page *page = entry_page(e, p);

		if (likely(page->type == PG_slab))
			return slab_free_page_fast(page, (void *)p, NULL);
		return kmalloc_large_free_fast(page, p);
	}
	return false;
}

#pragma GCC visibility pop

#endif /* KMEM_KMALLOC_KMALLOC_H */
