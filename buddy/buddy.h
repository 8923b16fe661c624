/* SPDX-License-Identifier: MIT */
/*
 * buddy/buddy.h - private header of buddy/, the page allocator.
 *
 * Sections and the page table, struct page, the zone and its free lists,
 * the per-thread page lists.  It stands on core/ (core/core.h) and
 * includes nothing from slab/ or kmalloc/: data flows down.
 */
#ifndef KMEM_BUDDY_BUDDY_H
#define KMEM_BUDDY_BUDDY_H

#include <kmem/gfp.h>
#include <kmem/page.h>

#include "core/core.h"
#include "buddy/arch.h"

/*
 * Everything declared in the private headers is internal to the library:
 * hidden, so that it is reached directly rather than through the GOT.
 * The exported API is declared in include/kmem/ with KMEM_EXPORT.
 */
#pragma GCC visibility push(hidden)

/* ------------------------------------------------------------------ */
/* Sections and the page table                                          */
/* ------------------------------------------------------------------ */

#define SECTION_SHIFT		25	/* 32 MiB: 8 max-order blocks */
#define SECTION_SIZE		(1UL << SECTION_SHIFT)
#define SECTION_MASK		(~(SECTION_SIZE - 1))
#define PAGES_PER_SECTION	(SECTION_SIZE >> PAGE_SHIFT)
#define MAX_BLOCKS_PER_SECTION	(PAGES_PER_SECTION >> MAX_PAGE_ORDER)
/*
 * The smallest free piece of a split max-order block that an idle process
 * gives back (release.c, "Pieces"): 128 KiB.  Smaller ones stay resident,
 * at most 31 pages per split block.
 */
#define RELEASE_PIECE_ORDER	5
#define SECTION_TABLE_BITS	(KMEM_ADDR_BITS - SECTION_SHIFT)
#define SECTION_LEAF_BITS	15
#define SECTION_ROOT_BITS	(SECTION_TABLE_BITS - SECTION_LEAF_BITS)
#define SECTION_LEAF_SIZE	(1UL << SECTION_LEAF_BITS)
#define SECTION_ROOT_SIZE	(1UL << SECTION_ROOT_BITS)

enum section_kind {
	SECTION_BUDDY = 1,	/* pages managed by the zone */
	SECTION_HUGE,		/* one allocation above the largest order */
	SECTION_DESC,		/* arena of struct page arrays */
	SECTION_HEAP,		/* an arena of the huge heap (huge_cache.c) */
};

/*
 * enum page_type - what a 4 KiB page is.
 *
 * Every page of a buddy section has exactly one type.  A block's first
 * page (its head) says what the block is; its other pages are PG_tail,
 * except in slabs, where every page is PG_slab so that any object pointer
 * finds its cache from its own page.
 */
enum page_type {
	PG_tail = 0,	/* not the head of a block */
	PG_buddy,	/* head of a free block on a zone free list */
	PG_pcp,		/* head of a free block on a per-thread list */
	PG_alloc,	/* head of a block from alloc_pages() */
	PG_slab,	/* page of a slab (all pages of it) */
	PG_large,	/* head of a kmalloc() block above 8 KiB */
	NR_PAGE_TYPES
};

/* struct page.flags */
#define PGF_zeroed	0x01	/* contents known to be zero */
#define PGF_released	0x02	/* free block given back to the OS: a
				 * max-order one (on zone->released) or a
				 * piece of a split one (RELEASE_PIECE_ORDER
				 * and up, or a half of such a piece) */
#define PGF_freed_head	0x04	/* was a block head when last freed */
#define PGF_resident	0x08	/* not all of a free block's pages may be
				 * resident: those from its start that may
				 * are in pcp_resident (PG_pcp, and a block
				 * just taken) or, for each half of it,
				 * buddy_res_lo/hi (PG_buddy, and a large
				 * block freed to the zone) */
#define PGF_sampled	0x10	/* PG_slab, PG_large, PG_alloc: holds an
				 * allocation the profiler sampled; its
				 * frees go through kmem_prof_free() */
#define PGF_prof_linked	0x20	/* PG_large head with PGF_sampled: its sample
				 * is prof_sample (buddy/profile.c) */
#define PGF_slab_marks0	0x40	/* PG_slab: free objects: marker in word 0 */
#define PGF_slab_marks	0x80	/* PG_slab: free objects: marker in word 1 */

/*
 * struct page - descriptor of one 4 KiB page, kept outside the page.
 *
 * Invariants (zone lock for free blocks, the owner otherwise):
 *  - a free block in the zone: head PG_buddy with its order, on
 *    zone->free_area[order] (or zone->released if PGF_released and of
 *    the top order; a released piece of a lower order stays on its free
 *    list, after the resident ones); other pages PG_tail;
 *  - a block on a per-thread list: head PG_pcp, tails PG_tail;
 *  - an allocated block: head PG_alloc/PG_large, tails PG_tail; or every
 *    page PG_slab.
 * Every page of a slab carries what free() needs to check and free an
 * object without loading the cache: the first object, the span and the
 * exact-multiple constant of the slots, the magazine slot and whether
 * free objects are marked.
 * 32 bytes, so a section's 8192 descriptors take 256 KiB.
 */
struct page {
	union {
		struct list_head lru;		/* PG_buddy: free-list link */
		struct {			/* PG_slab, every page */
			struct kmem_cache *slab_cache;	/* owner */
			char *first_obj;	/* the slab's first object */
		};
		struct {			/* PG_large head */
			size_t large_size;	/* bytes asked for (the block's
					 * after ksize()) */
			unsigned long large_resident; /* pages maybe touched */
		};
	};
	union {
		unsigned long freed_at;	/* PG_buddy max-order head: when it
					 * was freed (ms, the zone's clock) */
		unsigned long pcp_resident; /* PG_pcp with PGF_resident: pages
					 * of the block that may be resident */
		uint64_t obj_divisor;	/* PG_slab: ceil(2^64 / slot size) */
		void *prof_sample;	/* PG_large head, PGF_prof_linked: its
					 * sample (buddy/profile.c) */
	};
	unsigned char type;	/* enum page_type */
	unsigned char order;	/* heads: order of the block */
	unsigned char flags;	/* PGF_* */
	unsigned char slot;	/* PG_slab: magazine slot offset / 16 */
	union {
		unsigned int obj_span;	/* PG_slab: slots * slot size */
		struct {		/* PG_buddy head with PGF_resident:
					 * the pages from the start of its
					 * lower and upper halves that may be
					 * resident (buddy/zone.c) */
			uint16_t buddy_res_lo;
			uint16_t buddy_res_hi;
		};
	};
};

BUILD_BUG_ON(sizeof(struct page) != 32);

/*
 * A page's type is read under the zone lock by a thread merging a freed
 * block with its buddy, while the owner of a neighbouring block may retype
 * its own pages without that lock (PG_alloc -> PG_large, PG_slab, PG_pcp).
 * The merge only acts on PG_buddy heads, which no thread owns, so either
 * value read is handled; the accesses are relaxed atomics to say so.
 */
static __always_inline unsigned char page_type(const struct page *p)
{
	return __atomic_load_n(&p->type, __ATOMIC_RELAXED);
}

static __always_inline void set_page_type(struct page *p, unsigned char t)
{
	__atomic_store_n(&p->type, t, __ATOMIC_RELAXED);
}

/*
 * struct kmem_section - one mapping from the OS, found by address.
 *
 * BUDDY: SECTION_SIZE bytes of pages, aligned to SECTION_SIZE, with their
 *        descriptors in @pages (a slot of a DESC section).
 * HUGE:  one large allocation: a mapping of its own, aligned to
 *        SECTION_SIZE (the table points every window it covers here), or
 *        an extent of a heap arena (@arena set: a block, or free space).
 * HEAP:  an arena of the huge heap (huge_cache.c), in the table; its
 *        extents, in address order, hang from @heap_node.
 * DESC:  SECTION_SIZE of address space holding descriptor arrays; slot k
 *        belongs to @owners[k].  Lets virt_to_page's inverse be checked.
 */
struct kmem_section {
	unsigned long base;		/* first byte */
	unsigned long size;		/* bytes covered */
	unsigned int kind;		/* enum section_kind */
	unsigned int nr_free_max;	/* BUDDY: free max-order blocks (zone lock) */
	unsigned int nr_uncarved;	/* BUDDY: of them, the last ones, never
					 * handed out and on no list (zone lock) */
	struct page *pages;		/* BUDDY: descriptors */
	struct list_head node;		/* zone->sections / huge list */
	size_t huge_size;		/* HUGE: bytes asked for */
	unsigned long huge_align;	/* HUGE: alignment asked for */
	unsigned long cached_at;	/* HUGE extent, free: freed at (ms) */
	unsigned long cached_seq;	/* ... and in which turn (huge_cache.c:
					 * the oldest goes first) */
	struct kmem_section *arena;	/* HUGE: its heap arena (NULL: a
					 * mapping of its own) */
	struct list_head heap_node;	/* HUGE extent: its arena's extents in
					 * address order; HEAP: their head */
	unsigned int heap_state;	/* HUGE extent: enum heap_state */
	struct kmem_section *desc;	/* BUDDY: DESC section holding @pages */
	struct kmem_section **owners;	/* DESC: owner of each slot */
};

/*
 * The table's entries are tagged words.  A BUDDY section's entry is the
 * address of its descriptor array with bit 0 set, so that the hot lookup
 * (address -> struct page) costs two dependent loads and no more; HUGE and
 * DESC entries are the section's address (bit 0 clear).
 */
#define SECTION_ENTRY_PAGES	1UL

extern unsigned long *kmem_section_root[SECTION_ROOT_SIZE];

/*
 * section_entry - the table entry for @a (0 if none).
 * Lock-free: entries are published with release stores and read with
 * READ_ONCE (a racing reader sees the old or the new entry).  A root slot
 * without a leaf points to an all-zero leaf, so there is no NULL to test.
 */
static __always_inline unsigned long section_entry(unsigned long a)
{
	unsigned long *leaf;

	if (unlikely(a >> KMEM_ADDR_BITS))
		return 0;
	leaf = READ_ONCE(kmem_section_root[a >> (SECTION_SHIFT +
						 SECTION_LEAF_BITS)]);
	return READ_ONCE(leaf[(a >> SECTION_SHIFT) & (SECTION_LEAF_SIZE - 1)]);
}

/*
 * section_entry_wrap - section_entry() for the free fast paths
 *
 * The address is taken modulo 2^KMEM_ADDR_BITS instead of being tested:
 * an address above the user address space gets the entry of its alias
 * below.  Only for callers that then compare the whole address with what
 * the descriptor says is there (slab_obj_check() does; a large block's
 * free checks the top bits itself), which an alias never passes.
 */
static __always_inline unsigned long section_entry_wrap(unsigned long a)
{
	unsigned long *leaf;

	leaf = READ_ONCE(kmem_section_root[(a >> (SECTION_SHIFT +
						  SECTION_LEAF_BITS)) &
					   (SECTION_ROOT_SIZE - 1)]);
	return READ_ONCE(leaf[(a >> SECTION_SHIFT) & (SECTION_LEAF_SIZE - 1)]);
}

/* The descriptor of @addr, given its table entry (a BUDDY one). */
static __always_inline struct page *entry_page(unsigned long e,
					       const void *addr)
{
	/* (e - tag) + index, folded into one address computation */
	return (struct page *)(e - SECTION_ENTRY_PAGES +
			       (((unsigned long)addr & ~SECTION_MASK) >>
				PAGE_SHIFT) * sizeof(struct page));
}

/*
 * kmem_addr_to_page - descriptor of the page holding @addr.
 * Return: NULL if @addr is in no buddy section of ours (foreign, or inside
 * a HUGE mapping).
 */
static __always_inline struct page *kmem_addr_to_page(const void *addr)
{
	unsigned long e = section_entry((unsigned long)addr);

	if (unlikely(!(e & SECTION_ENTRY_PAGES)))
		return NULL;
	return entry_page(e, addr);
}

struct kmem_section *addr_to_section(unsigned long a);

/* Descriptor of a page in a BUDDY section. */
static __always_inline struct page *section_page(struct kmem_section *sec,
						 unsigned long a)
{
	return &sec->pages[(a & ~SECTION_MASK) >> PAGE_SHIFT];
}

/*
 * Descriptor arrays live in 512 KiB slots of a DESC arena: a 64-byte
 * header naming the section, then the section's 8192 descriptors
 * (256 KiB).  So a descriptor we trust (one the allocator itself is
 * handling) reaches its section and address with one load; a descriptor
 * from a caller is checked through the table first (page_section()).
 * The header shares its page with the first descriptors, which every
 * section writes (a whole header page was one more page resident in
 * every process: performance.md, "Fixed footprint").
 */
#define DESC_SLOT_SIZE	(2 * PAGES_PER_SECTION * sizeof(struct page))
#define DESC_SLOTS	(SECTION_SIZE / DESC_SLOT_SIZE)
#define DESC_HEADER	64UL	/* bytes before the first descriptor */

struct desc_slot {
	struct kmem_section *sec;	/* the BUDDY section described */
	unsigned long base;		/* its first byte */
};
BUILD_BUG_ON(sizeof(struct desc_slot) > DESC_HEADER);
BUILD_BUG_ON(DESC_HEADER % sizeof(struct page));

static __always_inline struct desc_slot *page_slot(const struct page *page)
{
	return (struct desc_slot *)((unsigned long)page & ~(DESC_SLOT_SIZE - 1));
}

/* First descriptor of the array @page belongs to. */
static __always_inline struct page *desc_base(const struct page *page)
{
	return (struct page *)((char *)page_slot(page) + DESC_HEADER);
}

static __always_inline unsigned long page_index(const struct page *page)
{
	return (unsigned long)(page - desc_base(page));
}

/* The address a trusted descriptor describes. */
static __always_inline unsigned long page_to_addr(const struct page *page)
{
	return page_slot(page)->base + (page_index(page) << PAGE_SHIFT);
}

/* The section of a trusted descriptor. */
static __always_inline struct kmem_section *page_sec(const struct page *page)
{
	return page_slot(page)->sec;
}

struct kmem_section *page_section(const struct page *page);
bool kmem_addr_is_ours(const void *addr);

struct kmem_section *section_create_buddy(bool may_map);
void section_destroy_buddy(struct kmem_section *sec);
struct kmem_section *section_huge_map(size_t size, size_t align);
void section_huge_unmap(struct kmem_section *sec);
bool section_huge_resize(struct kmem_section *sec, size_t new_size);
void section_table_fork_child(void);

/* Buddy's view of huge mappings (for statistics). */
struct huge_stats {
	unsigned long bytes;
	unsigned long nr;
	unsigned long cached_bytes;	/* retained for reuse */
	unsigned long nr_cached;
};
bool section_huge_move(struct kmem_section *sec, size_t new_size);
struct kmem_section *section_desc_get(void);
void section_desc_put(struct kmem_section *sec);
struct kmem_section *section_heap_register(unsigned long base, size_t size);

/* buddy/huge_cache.c */
struct kmem_section *huge_cache_map(size_t size, size_t align);
void huge_cache_stats(struct huge_stats *hs);
void huge_cache_republish_locked(void);
struct kmem_section *huge_cache_get(size_t size, size_t align,
				    size_t *dirty);
bool huge_cache_holds(size_t bytes);
struct kmem_section *huge_cache_get_kept(size_t size, size_t align,
					 size_t *dirty);
void huge_cache_put(struct kmem_section *sec);
struct kmem_section *huge_heap_block(struct kmem_section *arena,
				     unsigned long a, const char **why,
				     bool *freed);
bool huge_heap_free(struct kmem_section *arena, unsigned long a,
		    const char **why, bool *freed);
bool huge_cache_resize(struct kmem_section *sec, size_t new_size);
struct kmem_section *huge_cache_move(struct kmem_section *sec,
				     size_t new_size);
void huge_cache_drain(void);
void huge_cache_reap(unsigned long now, unsigned long *next);
void huge_cache_init(void);
void huge_cache_fork_prepare(void);
void huge_cache_fork_parent(void);
void huge_cache_fork_child(void);

/* ------------------------------------------------------------------ */
/* The zone                                                             */
/* ------------------------------------------------------------------ */

struct free_area {
	struct list_head free_list;	/* PG_buddy heads of this order */
	unsigned long nr_free;		/* blocks on free_list */
	unsigned long nr_released;	/* of them, released pieces (below
					 * the top order) */
};

/**
 * struct reaper_report - what the reaper's latest pass did, in its clock
 * @passes:   passes completed since the reaper started
 * @start_ms: kmem_now_ms() when the latest pass began
 * @due_ms:   the deadline the reaper slept until before that pass (0: it
 *            slept without one until a kick, or it is the first pass)
 * @next_ms:  the deadline it sleeps until after that pass (0: none, it
 *            waits for a kick: nothing it knows of expires);
 *            REAPER_IN_PASS while the pass runs
 *
 * Published in the statistics region (reaper_* in include/kmem/stats.h)
 * and read by buddy_reaper_report(): the condition tests wait for instead
 * of a time ("the reaper has run a pass past the deadline and has nothing
 * left to do").
 */
#define REAPER_IN_PASS	ULONG_MAX	/* reaper_report.next_ms */

struct reaper_report {
	unsigned long passes;
	unsigned long start_ms;
	unsigned long due_ms;
	unsigned long next_ms;
};

/*
 * struct zone - the page allocator's books ("Node 0, zone Normal").
 *
 * @lock protects everything below it.  Max-order free blocks sit on
 * free_area[MAX_PAGE_ORDER] while resident (newest first) and move to
 * @released once given back to the OS; both count in nr_free of the top
 * order, since both are free blocks of that order.
 */
/* One decay time's peak demand (release.c, "What stays unused"). */
struct peak_slot {
	unsigned long epoch;	/* its decay time (now / decay_ms) + 1; 0 unused */
	unsigned long blocks;	/* max-order blocks in use, the most seen */
	unsigned long huge;	/* bytes of huge mappings in use, the most seen */
};

struct zone {
	struct kmem_mutex lock;
	struct free_area free_area[NR_PAGE_ORDERS];
	struct list_head released;	/* PGF_released max-order blocks */
	unsigned long nr_released;	/* blocks on @released, and uncarved */
	unsigned long nr_uncarved;	/* blocks of new sections not yet on
					 * any list (zone_carve()) */
	struct list_head sections;	/* BUDDY sections */
	unsigned long nr_sections;
	unsigned long nr_free_sections;	/* sections with every block free */
	unsigned long managed_pages;	/* pages in all sections */
	unsigned long free_pages;	/* pages in free blocks (both lists) */
	unsigned long next_decay_ms;	/* earliest pending release, or 0 */
	struct reaper_report reaper;	/* the latest reaper pass (published) */
	/*
	 * The release policy's memory of demand (release.c).  Here, in the
	 * zone (initialised data, a page every process touches), rather than
	 * in zero-initialised statics: 800 bytes more of those moved later
	 * ones across page boundaries, and kmem's fixed footprint grew by a
	 * page (preload_footprint: 45 -> 46 pages over glibc).
	 */
	struct peak_slot peak[KMEM_DECAY_PEAK_MAX];
	unsigned long last_take_ms;	/* the latest take by a thread */
	unsigned long nr_decay_released;	/* blocks released by the decay */
	unsigned long released_piece_pages;	/* pages of PGF_released free
						 * blocks below the top order */
	unsigned long last_piece_free_ms;	/* the latest free that left a
						 * resident piece (release.c) */
};

extern struct zone kmem_zone;

/* Release policy (set once from configuration, before first use). */
struct buddy_config {
	unsigned long keep_resident;	/* bytes of free max-order blocks kept
					 * resident past the delay (mallopt
					 * M_TRIM_THRESHOLD; 0 by default) */
	unsigned int pcp_high[9];	/* per-thread list high mark, blocks */
	unsigned int pcp_batch[9];	/* blocks moved per refill/drain */
	unsigned long pcp_large_cap;	/* bytes of orders >= 4 a thread keeps */
};

extern struct buddy_config buddy_config;

struct page *__alloc_pages(gfp_t gfp, unsigned int order, bool *zeroed);
struct page *__alloc_pages_resident(unsigned int order, bool *zeroed);
struct page *__alloc_pages_nofail(gfp_t gfp, unsigned int order, bool *zeroed);
void __free_pages_ok(struct page *page, unsigned int order);
void __free_large_pages(struct page *page, unsigned int order,
			unsigned long resident);
bool buddy_grow_in_place(struct page *page, unsigned int order,
			 unsigned long *resident);
void buddy_check_free(struct page *page, unsigned int order,
		      const char *caller);
void buddy_init(void);
void buddy_shrink(void);
unsigned long buddy_max_resident(void);
void buddy_info_get(struct kmem_buddyinfo *info,
		    unsigned long resident_free[NR_PAGE_ORDERS]);
void buddy_release_all(void);
unsigned long buddy_release_expired(unsigned long now_ms);
unsigned long buddy_release_for_huge(size_t bytes);
void buddy_set_clock(unsigned long (*fn)(void));
unsigned long buddy_now_ms(void);
unsigned long buddy_decay_released(void);
void buddy_note_huge(unsigned long demand, bool take, unsigned long now);
unsigned long buddy_huge_keep(unsigned long now, unsigned long live,
			      unsigned long *next);
void buddy_fork_prepare(void);
void buddy_fork_parent(void);
void buddy_fork_child(void);
void buddy_republish_locked(void);
void buddy_reaper_kick(unsigned long due);
void buddy_reaper_report(struct reaper_report *r);
bool buddy_reaper_idle(void);
void buddy_reaper_start(void);
bool buddy_reaper_running(void);
void buddy_reaper_add_hook(void (*fn)(unsigned long now_ms,
				      unsigned long *next));
void buddy_reclaim_set_hook(bool (*fn)(void));
unsigned int zone_rmqueue_bulk(unsigned int order, unsigned int count,
			       struct list_head *list, gfp_t gfp);
void zone_free_bulk(struct list_head *list, unsigned int order);
void section_lock_all(void);
unsigned long section_nr_buddy(void);
void section_unlock_all(void);

/* Per-thread page lists (buddy/pcp.c). */
/*
 * Orders 0..3 as the kernel's per-cpu lists; orders 4..8 (64 KiB..1 MiB)
 * one block each, within pcp_large_cap bytes, for kmalloc's large blocks.
 */
#define PCP_ORDERS 9
#define PCP_LARGE_ORDER 4
/*
 * Each order's blocks are a stack of head pointers, hottest on top, not a
 * list through the descriptors: a pop reads the count and the top slot
 * and writes the count, where unlinking a head from a doubly-linked list
 * read its two links and wrote both neighbours (buddy/pcp.c says what it
 * saved).  A stack holds its order's high mark (pcp_free() drains before
 * it adds): PCP_HIGH_n are the defaults of buddy_config.pcp_high, which
 * may be lowered, never raised.  The stacks share pcp_set.slots, each
 * from its base, so that the thread's block stays as small as it was
 * with lists (Documentation/buddy.md, "Per-thread page lists").
 */
#define PCP_HIGH_0	32
#define PCP_HIGH_LOW	16	/* orders 1..3 */
#define PCP_HIGH_LARGE	1	/* orders 4..8 */
#define PCP_SLOTS	(PCP_HIGH_0 + 3 * PCP_HIGH_LOW + \
			 (PCP_ORDERS - PCP_LARGE_ORDER) * PCP_HIGH_LARGE)
struct pcp_list {
	unsigned int count;		/* blocks on it, the hottest last */
	unsigned int base;		/* its first slot in pcp_set.slots */
};
/*
 * The thread's big block: one freed block of order PCP_ORDERS (2 MiB) or
 * MAX_PAGE_ORDER (4 MiB), parked by its thread for its next allocation of
 * that order (buddy/pcp.c, "The thread's big block").  The word holds the
 * head's descriptor with the order in its low bits (descriptors are 32
 * bytes), 0 (empty), or PCP_BIG_BUSY while another thread takes the
 * block (under kmem_thread_lock).  Who moves the word from a block to 0
 * or to PCP_BIG_BUSY (a compare-and-exchange), or from 0 to a block (the
 * owner only), owns the block and writes big_pages.
 */
#define PCP_BIG_ORDER_MASK	31UL
#define PCP_BIG_BUSY		1UL	/* its order bits match no block's */
#define pcp_big_page(w)		((struct page *)((w) & ~PCP_BIG_ORDER_MASK))
#define pcp_big_order(w)	((unsigned int)((w) & PCP_BIG_ORDER_MASK))
struct pcp_set {
	uint64_t nr_pages;		/* pages on all lists */
	uint64_t big_pages;		/* the big block's pages (atomic) */
	unsigned long large_bytes;	/* bytes on lists of orders >= 4 */
	unsigned long big;		/* the big block | its order, 0, BUSY */
	unsigned long big_at;		/* when it was parked (ms) */
	unsigned long fresh_last;	/* the last fresh large block handed
					 * out: its last page, or 0, and */
	unsigned long fresh_size;	/* its size (kmalloc/large.c,
					 * large_map_ahead()) */
	struct pcp_list lists[PCP_ORDERS];
	struct page *slots[PCP_SLOTS];	/* the lists' stacks (PG_pcp heads) */
};

/* The slots of @order's stack: its default high mark. */
static __always_inline unsigned int pcp_cap(unsigned int order)
{
	return order == 0 ? PCP_HIGH_0 :
	       order < PCP_LARGE_ORDER ? PCP_HIGH_LOW : PCP_HIGH_LARGE;
}

/* @order's stack: its first (coldest) slot. */
static __always_inline struct page **pcp_stack(struct pcp_set *pcp,
					       unsigned int order)
{
	return pcp->slots + pcp->lists[order].base;
}
struct page *pcp_alloc(struct pcp_set *pcp, unsigned int order, gfp_t gfp);

/*
 * The published count changed: the lists' pages and the big block's (one
 * store, core/region.c).  Another thread that takes the big block
 * publishes too: both stores are atomic, and the later one's figure
 * stands until the owner's next change.
 */
static __always_inline void pcp_publish(struct pcp_set *pcp)
{
	__atomic_store_n(kmem_pub(&pcp->nr_pages),
			 pcp->nr_pages + __atomic_load_n(&pcp->big_pages,
							 __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
}

/* Account for @n blocks of @order leaving the calling thread's lists. */
static __always_inline void pcp_sub(struct pcp_set *pcp, unsigned int order,
				    unsigned int n)
{
	pcp->lists[order].count -= n;
	pcp->nr_pages -= (uint64_t)n << order;
	pcp_publish(pcp);
	if (order >= PCP_LARGE_ORDER)
		pcp->large_bytes -= (PAGE_SIZE << order) * n;
}

/* The hottest block of @order on the thread's lists, left on them, or NULL. */
static __always_inline struct page *pcp_top(struct pcp_set *pcp,
					    unsigned int order)
{
	unsigned int n = pcp->lists[order].count;

	return n ? pcp_stack(pcp, order)[n - 1] : NULL;
}

/*
 * Take the hottest block of a non-empty list, the one pcp_top() gives
 * (the owner thread only).
 */
static __always_inline struct page *pcp_pop(struct pcp_set *pcp,
					    unsigned int order)
{
	struct page *page = pcp_top(pcp, order);

	pcp_sub(pcp, order, 1);
	return page;
}

/* Would a block of @order keep the large orders within pcp_large_cap? */
static __always_inline bool pcp_large_room(const struct pcp_set *pcp,
					   unsigned int order)
{
	return order < PCP_LARGE_ORDER ||
	       pcp->large_bytes + (PAGE_SIZE << order) <=
		       buddy_config.pcp_large_cap;
}

/*
 * __pcp_put - put @page (a block of @order) on top of its list; the
 * caller checked the cap on large orders and the high mark (pcp_push) or
 * drained at it (pcp_free).  The high marks are never raised past their
 * defaults (PCP_HIGH_n, the stacks' sizes; tests only lower them).
 */
static __always_inline void __pcp_put(struct pcp_set *pcp, struct page *page,
				      unsigned int order)
{
	struct pcp_list *pl = &pcp->lists[order];

	VM_BUG_ON(pl->count >= pcp_cap(order));
	if (order >= PCP_LARGE_ORDER)
		pcp->large_bytes += PAGE_SIZE << order;
	set_page_type(page, PG_pcp);
	page->order = (unsigned char)order;
	pcp_stack(pcp, order)[pl->count++] = page;
	pcp->nr_pages += 1UL << order;
	pcp_publish(pcp);
}

/*
 * Push a freed block if its list has room below the high mark (and, for
 * large orders, the cap); false otherwise (the caller takes the slow way).
 */
static __always_inline bool pcp_push(struct pcp_set *pcp, struct page *page,
				     unsigned int order)
{
	if (pcp->lists[order].count >= buddy_config.pcp_high[order] ||
	    !pcp_large_room(pcp, order))
		return false;
	__pcp_put(pcp, page, order);
	return true;
}
void pcp_unlink(struct pcp_set *pcp, struct page *page, unsigned int order);
bool pcp_free(struct pcp_set *pcp, struct page *page, unsigned int order);
void pcp_drain(struct pcp_set *pcp);

/*
 * pcp_big_room - may the calling thread park a freed block of @order
 * (PCP_ORDERS or more) as its big block?  Its slot is empty, and freed
 * blocks are kept at all (KMEM_DECAY_MS is not 0).
 */
static __always_inline bool pcp_big_room(struct pcp_set *pcp)
{
	return !READ_ONCE(pcp->big) && READ_ONCE(kmem_config.decay_ms);
}
void pcp_big_park(struct pcp_set *pcp, struct page *page, unsigned int order);
struct page *pcp_big_take(struct pcp_set *pcp, unsigned int order);
void pcp_big_give(struct pcp_set *pcp);
void pcp_big_drain_all(void);
extern __thread struct pcp_set *kmem_tls_pcp __tls_ie;
extern bool kmem_thread_orphans;
#pragma GCC visibility pop

#endif /* KMEM_BUDDY_BUDDY_H */
