// SPDX-License-Identifier: MIT
/*
 * kmalloc/malloc.c - the C, POSIX and glibc allocation API on kmalloc.
 *
 * Compiled twice from this one file: into libkmem with kmem_ names only,
 * and with KMEM_MALLOC_NAMES into libkmem-malloc.so/.a, which also exports
 * the standard names (malloc, free, ...) as aliases of the same functions,
 * so that linking or LD_PRELOADing it replaces the C library's allocator.
 *
 * Semantics are glibc 2.36's, checked against it by the conformance tests:
 *  - every result is 16-byte aligned (the kmalloc-8 class is not used);
 *    malloc(0) is a unique pointer that free() accepts;
 *  - sizes above PTRDIFF_MAX and overflowing products fail with ENOMEM;
 *  - realloc(p, 0) frees p and returns NULL; realloc(NULL, n) is malloc;
 *  - posix_memalign returns EINVAL (errno untouched) for an alignment that
 *    is not a power of two multiple of sizeof(void *); memalign and
 *    aligned_alloc round other alignments up to a power of two and fail
 *    with EINVAL above SIZE_MAX / 2 + 1;
 *  - calloc skips its memset when the memory is fresh from the OS (a
 *    reused mapping of its own: only the bytes used before are zeroed).
 *
 * Fast paths: malloc pops from the calling thread's magazine of the size
 * class (one table load, one TLS load); free finds the page descriptor
 * through the page table, checks the pointer is an object start and not
 * already free, and pushes.  Everything else is out of line.
 *
 * Bad pointers (foreign, stack, inside a block, already freed) are
 * reported as "kmem: free(): invalid pointer 0x..." or "... double free
 * ..." and the process aborts, like glibc's "free(): invalid pointer".
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kmem/malloc.h>
#include "kmalloc/kmalloc.h"
#include "buddy/profile.h"

#define MALLOC_ALIGNMENT 16

#define RET_IP ((unsigned long)__builtin_return_address(0))

/*
 * slab_alloc_fast() for the malloc classes: every one of them that has
 * magazines marks free objects in their second word (16 bytes or more,
 * no constructor, no debugging: kmalloc_init() checks), so the marker is
 * cleared without looking at the cache.
 */
static __always_inline void *malloc_alloc_fast(struct kmem_cache *s)
{
	void *obj = magazine_pop(s);

	if (unlikely(!obj))
		return NULL;
	*(unsigned long *)((char *)obj + FREE_MARKER_OFFSET) = 0;
	return obj;
}

/*
 * malloc_pop - malloc()'s fast path: a block of @size bytes (16-byte
 * aligned, the powers of two naturally) from the magazine of its class,
 * or NULL: too large, KFENCE's sample (malloc_slow()), or the magazine
 * empty.  Every malloc-family entry point tries it first.
 */
static __always_inline void *malloc_pop(size_t size)
{
	if (likely(size <= MALLOC_MAX_CACHE_SIZE && !kfence_wants(size)))
		return malloc_alloc_fast(malloc_cache(size));
	return NULL;
}

/* The locked paths: a slab refill, a block from the zone, start-up. */
static noinline void *malloc_refill(size_t size, gfp_t gfp,
				    unsigned long caller)
{
	if (!kmem_ready())
		return size <= PTRDIFF_MAX ? kmem_boot_alloc(size ? size : 1, 16) :
					     NULL;
	if (size <= MALLOC_MAX_CACHE_SIZE)
		return kmem_alloc_class_slow(malloc_cache(size), size, gfp,
					     caller);
	if (size > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc_large_block(size, PAGE_SIZE, gfp, caller);
}

/*
 * A large block: the one waiting on the thread's page list, inlined here
 * and not in malloc() itself so that the small path needs no stack frame.
 */
static noinline void *malloc_large(size_t size, gfp_t gfp,
				   unsigned long caller)
{
	void *p = kmalloc_large_fast(size);

	if (likely(p))
		return p;
	return malloc_refill(size, gfp, caller);
}

/* Everything but a small block from the magazine; KFENCE's samples. */
static void *malloc_slow(size_t size, gfp_t gfp, unsigned long caller)
{
	void *p;

	if (kfence_wants(size) && kmem_started() &&
	    (p = slab_kfence_alloc(malloc_cache(size), size, MALLOC_ALIGNMENT,
				   gfp, caller)))
		return p;
	if (size > MALLOC_MAX_CACHE_SIZE && !(gfp & __GFP_ZERO))
		return malloc_large(size, gfp, caller);
	return malloc_refill(size, gfp, caller);
}

/*
 * malloc_slow() counted towards the next sample: the fast paths reach it
 * by a tail call, so that they need no stack frame.
 */
static noinline void *malloc_slow_prof(size_t size, gfp_t gfp,
				       unsigned long caller)
{
	return kmem_prof_alloc(malloc_slow(size, gfp, caller), size, caller);
}

/*
 * malloc()'s large blocks: the hottest block on the thread's page list
 * when it needs no decision (kmalloc_large_quick()), else the slow path.
 * Reached from malloc() by a tail call and calling nothing on its fast
 * path, so that the profiler, reached by a tail call too, finds
 * malloc()'s caller just above it (kmem_prof_sample()).
 */
static noinline void *malloc_large_prof(size_t size, unsigned long caller)
{
	void *p = kmalloc_large_quick(size);

	if (likely(p))
		return kmem_prof_alloc(p, size, caller);
	return malloc_slow_prof(size, GFP_KERNEL | __GFP_NOWARN, caller);
}

/*
 * malloc() without the profiler's count (the caller counts): the magazine
 * first, then the slow path.  realloc's new block (realloc moves blocks
 * of the small classes often: each shrink past a quarter, each growth
 * past the class) and the aligned family's alignments of 16 or less.
 */
static void *malloc_unprofiled(size_t size, unsigned long caller)
{
	void *obj = malloc_pop(size);

	if (likely(obj))
		return obj;
	return malloc_slow(size, GFP_KERNEL | __GFP_NOWARN, caller);
}

/**
 * kmem_malloc - malloc()
 * @size: bytes (0: a unique minimal allocation)
 *
 * Return: 16-byte aligned memory, or NULL with errno ENOMEM.
 */
void *kmem_malloc(size_t size)
{
	void *obj = malloc_pop(size);

	if (likely(obj))
		return kmem_prof_alloc(obj, size, RET_IP);
	if (size > MALLOC_MAX_CACHE_SIZE)
		return malloc_large_prof(size, RET_IP);
	return malloc_slow_prof(size, GFP_KERNEL | __GFP_NOWARN, RET_IP);
}

/*
 * Everything but a slab object that fits the magazine (a full magazine, a
 * marked object: the fast path left them as they came, and
 * kmem_free_classified() checks the marker).  Reached by a tail
 * call, so its return address is the caller of free().
 */
static noinline void free_slow(void *p, const char *func)
{
	kmem_free_slow(p, func, RET_IP);
}

/**
 * kmem_free - free()
 * @ptr: from any function here, or NULL
 *
 * Invalid and already-freed pointers are reported and abort.
 *
 * NULL is tested first, not left to the section table: its entry is in
 * the zero leaf of the addresses kmem never maps, a page no other call
 * reads, and reading it cost every program that calls free(NULL) a page
 * fault (performance.md, "Fixed footprint (session 38)").
 */
void kmem_free(void *ptr)
{
	if (unlikely(!ptr))
		return;
	if (likely(kmem_free_fast(ptr)))
		return;
	free_slow(ptr, "free");
}

/**
 * kmem_calloc - calloc()
 * @nmemb: elements
 * @size:  bytes each
 *
 * Return: zeroed memory, or NULL with errno ENOMEM (also on overflow).
 */
void *kmem_calloc(size_t nmemb, size_t size)
{
	size_t bytes;
	void *p;

	if (unlikely(__builtin_mul_overflow(nmemb, size, &bytes))) {
		errno = ENOMEM;
		return NULL;
	}
	if (likely(bytes <= MALLOC_MAX_CACHE_SIZE && !kfence_wants(bytes))) {
		p = slab_alloc_fast(malloc_cache(bytes));
		if (likely(p)) {
			memset(p, 0, bytes);
			return kmem_prof_alloc(p, bytes, RET_IP);
		}
	}
	return malloc_slow_prof(bytes, GFP_KERNEL | __GFP_NOWARN | __GFP_ZERO,
				RET_IP);
}

/* Allocation for the aligned family: align is a power of two. */
static void *aligned_malloc(size_t align, size_t size, unsigned long caller)
{
	size_t need;
	bool started;
	void *p;

	/*
	 * The magazine first, as malloc(): the aligned family went to the
	 * slow path on every call, 43-56 ns a pair against tcmalloc's 4-7.
	 */
	if (align <= MALLOC_ALIGNMENT)
		return malloc_unprofiled(size, caller);
	if (size > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	started = kmem_started();
	if (!kmem_ready())
		return kmem_boot_alloc(size, align);
	if (started && kfence_wants(size) &&
	    (p = slab_kfence_alloc(
		     malloc_cache(min(roundup_pow_of_two(max(size, align)),
				      (size_t)PAGE_SIZE)),
		     size, align, GFP_KERNEL | __GFP_NOWARN, caller)))
		return p;
	need = max(size, align);
	if (need <= KMALLOC_MAX_CACHE_SIZE) {
		/* Power-of-two classes are naturally aligned. */
		need = roundup_pow_of_two(need);
		p = malloc_alloc_fast(malloc_cache(need));
		if (likely(p))
			return p;
		return kmem_alloc_class_slow(malloc_cache(need), size,
					     GFP_KERNEL | __GFP_NOWARN, caller);
	}
	return malloc_large_block(size, align, GFP_KERNEL | __GFP_NOWARN,
				  caller);
}

/* glibc's _mid_memalign() rules for memalign, aligned_alloc, valloc. */
static void *mid_memalign(size_t align, size_t size, unsigned long caller)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	/* 16 or less (0 too): every class gives that (aligned_malloc()). */
	if (align > MALLOC_ALIGNMENT && !is_power_of_2(align))
		align = roundup_pow_of_two(align);
	return kmem_prof_alloc(aligned_malloc(align, size, caller), size,
			       caller);
}

/**
 * kmem_posix_memalign - posix_memalign()
 * @memptr:    receives the memory
 * @alignment: a power of two multiple of sizeof(void *)
 * @size:      bytes
 *
 * Return: 0; EINVAL for a bad alignment (errno untouched, as glibc);
 * ENOMEM when out of memory.
 */
int kmem_posix_memalign(void **memptr, size_t alignment, size_t size)
{
	void *p;

	if (alignment % sizeof(void *) || !is_power_of_2(alignment / sizeof(void *)))
		return EINVAL;
	p = kmem_prof_alloc(aligned_malloc(alignment, size, RET_IP), size,
			    RET_IP);
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

/**
 * kmem_aligned_alloc - aligned_alloc()
 * @alignment: any power of two (others are rounded up, as glibc 2.36 does)
 * @size:      any size
 */
void *kmem_aligned_alloc(size_t alignment, size_t size)
{
	return mid_memalign(alignment, size, RET_IP);
}

/**
 * kmem_memalign - memalign()
 * @alignment: alignment
 * @size:      bytes
 */
void *kmem_memalign(size_t alignment, size_t size)
{
	return mid_memalign(alignment, size, RET_IP);
}

/**
 * kmem_valloc - valloc(): page-aligned
 * @size: bytes
 */
void *kmem_valloc(size_t size)
{
	return mid_memalign(PAGE_SIZE, size, RET_IP);
}

/**
 * kmem_pvalloc - pvalloc(): page-aligned, size rounded up to pages
 * @size: bytes
 */
void *kmem_pvalloc(size_t size)
{
	size_t rounded;

	if (__builtin_add_overflow(size, PAGE_SIZE - 1, &rounded)) {
		errno = ENOMEM;
		return NULL;
	}
	return mid_memalign(PAGE_SIZE, rounded & PAGE_MASK, RET_IP);
}

/*
 * Would staying in place waste more than malloc(@size) would?  An object
 * of a cache, or a large block, shrunk below its class moves to the class
 * of @size: interpreters build a string or a list in an overallocated
 * buffer and shrink it to its length (CPython's string writer does it for
 * every formatted string), and each such object kept its first class, up
 * to eight times what it holds.  glibc splits the chunk in place; a slab
 * object cannot be split, so it is copied (no more than @size bytes).  It
 * stays when it holds at most a quarter more than @size, malloc's own
 * bound from 256 bytes up, so that a buffer shrinking and growing by a
 * little across a class boundary is not copied both ways.  Other blocks
 * move when more than half of them would be waste.
 */
static bool too_roomy(const struct kmem_ptr *kp, size_t usable, size_t size)
{
	if ((kp->kind == KMEM_PTR_SLAB || kp->kind == KMEM_PTR_LARGE) &&
	    size <= MALLOC_MAX_CACHE_SIZE) {
		size_t fit = malloc_cache(size)->object_size;

		return fit && usable > fit && usable - size > size / 4;
	}
	return usable > 2 * max(size, (size_t)256);
}

/**
 * kmem_realloc - realloc()
 * @ptr:  the allocation, or NULL (then: malloc)
 * @size: bytes wanted (0 with a pointer: free it, return NULL)
 *
 * Stays in place when the size class or block already holds @size and is
 * the class malloc(@size) would give, or holds at most a quarter more (a
 * smaller size moves to its class; a huge block or KFENCE's stays unless
 * more than half would be waste);
 * a large block shrinks in place,
 * its pages past @size going back to the OS, and grows in place over the
 * free pages after it when they complete a block; a mapping of its own resized
 * above 1 MiB grows or shrinks in place when the address space allows,
 * else grows by moving its pages with mremap (no copy); otherwise moves.
 *
 * Return: the allocation, or NULL with errno ENOMEM (@ptr still valid).
 */
void *kmem_realloc(void *ptr, size_t size)
{
	struct kmem_ptr kp;
	size_t usable;
	void *p;

	if (!ptr)
		return kmem_prof_alloc(malloc_unprofiled(size, RET_IP), size,
				       RET_IP);
	kmem_classify(ptr, NULL, &kp);
	if (kp.kind == KMEM_PTR_INVALID)
		kmem_bad_pointer(&kp, ptr, "realloc");
	if (!size) {
		kmem_free_classified(&kp, ptr, "realloc", RET_IP);
		return NULL;
	}
	if (size > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	usable = kp.kind == KMEM_PTR_BOOT ? kmem_boot_usable(ptr) :
					    kmem_usable_size(&kp, ptr);
	if (kp.kind == KMEM_PTR_LARGE && size > KMALLOC_MAX_CACHE_SIZE) {
		if (size <= large_capacity(kp.page)) {
			kmalloc_large_resize(kp.page, size);
			return ptr;
		}
		if (kmalloc_large_grow(kp.page, size))
			return ptr;
	}
	if (kp.kind != KMEM_PTR_BOOT && size <= usable &&
	    !too_roomy(&kp, usable, size))
		return ptr;
	/*
	 * A sampled mapping resized or moved in place would keep a sample
	 * under its old address and size: the profile forgets it first.
	 */
	if (kp.kind == KMEM_PTR_HUGE && unlikely(READ_ONCE(kmem_prof_huge)))
		kmem_prof_free_huge(ptr);
	/*
	 * A huge block stays one, resized in place or moved with its pages,
	 * for any size a huge block may have (large blocks above
	 * LARGE_KEPT_MIN are cut from the heap's kept extents): else a 6 MiB
	 * block realloc'd to 2 MiB was copied into a new block.
	 */
	if (kp.kind == KMEM_PTR_HUGE && size > LARGE_KEPT_MIN) {
		struct kmem_section *sec = kp.sec;

		if (huge_cache_resize(sec, size) ||
		    (sec = huge_cache_move(sec, size)))
			return (void *)sec->base;
	}
	p = kmem_prof_alloc(malloc_unprofiled(size, RET_IP), size, RET_IP);
	if (!p)
		return NULL;
	/* What the program may have written, not a large block's tail. */
	if (kp.kind != KMEM_PTR_BOOT)
		usable = kmem_written_size(&kp, ptr);
	memcpy(p, ptr, min(size, usable));
	kmem_free_classified(&kp, ptr, "realloc", RET_IP);
	return p;
}

/**
 * kmem_reallocarray - reallocarray()
 * @ptr:   the allocation
 * @nmemb: elements
 * @size:  bytes each
 *
 * Return: as realloc; NULL with errno ENOMEM on overflow.
 */
void *kmem_reallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return kmem_realloc(ptr, bytes);
}

/**
 * kmem_malloc_usable_size - malloc_usable_size()
 * @ptr: an allocation (NULL: 0)
 *
 * Return: the bytes usable, at least what was asked for.
 */
size_t kmem_malloc_usable_size(void *ptr)
{
	if (!ptr)
		return 0;
	return kmem_usable(ptr, "malloc_usable_size");
}

/**
 * kmem_malloc_trim - malloc_trim(): give free memory back to the OS now
 * @pad: ignored (kmem keeps no heap top)
 *
 * Return: 1 if memory was given back, 0 otherwise.
 */
int kmem_malloc_trim(size_t pad)
{
	unsigned long before, after;

	(void)pad;
	kmem_init();
	before = kmem_os_gives_back();
	kmem_shrink_all();
	after = kmem_os_gives_back();
	return after != before;
}

struct malloc_totals {
	unsigned long system;	/* bytes of sections not given back */
	unsigned long max_system;/* the peak of @system */
	unsigned long cached;	/* free objects in magazines and depots */
	unsigned long nr_cached;
	unsigned long slab_free;/* free objects in slabs */
	unsigned long nr_slab_free;
	unsigned long free_pages;/* resident bytes in free page blocks */
	unsigned long nr_free_blocks;
	unsigned long releasable;/* resident free max-order blocks */
	unsigned long huge, nr_huge;
	unsigned long nr_free[NR_PAGE_ORDERS];	/* resident free blocks */
	struct kmem_slabinfo *si;	/* the caches, if kept */
	int nr_si;
	size_t si_bytes;
};

/*
 * malloc_totals - the figures of mallinfo2(), malloc_info() and
 * malloc_stats(), in glibc's terms: everything kmem took from the OS for
 * its sections and still holds (@system) is either free (objects cached in
 * magazines and depots, free objects in slabs, resident free page
 * blocks) or in use (objects, large blocks, slab headers and the unused
 * tails of slabs); mappings of their own are counted apart (@huge).
 * @keep_caches: leave the cache snapshot in @t->si (malloc_totals_done()).
 *
 * Allocates nothing from malloc: the snapshot comes from the page
 * allocator.
 */
static void malloc_totals(struct malloc_totals *t, bool keep_caches)
{
	unsigned long resident_free[NR_PAGE_ORDERS];
	struct kmem_buddyinfo bi;
	struct kmem_slabinfo *si;
	size_t bytes;
	int n, max;

	memset(t, 0, sizeof(*t));
	buddy_info_get(&bi, resident_free);
	t->huge = bi.huge_mapped;
	t->nr_huge = bi.nr_huge;
	t->system = bi.resident;
	t->max_system = max(buddy_max_resident(), t->system);
	/*
	 * Released blocks (max-order ones, pieces) are counted free but hold
	 * no memory: only the others are free bytes of @system.
	 */
	for (int o = 0; o < NR_PAGE_ORDERS; o++) {
		t->nr_free[o] = resident_free[o];
		t->free_pages += t->nr_free[o] * (PAGE_SIZE << o);
		t->nr_free_blocks += t->nr_free[o];
	}
	t->free_pages += bi.pcp_pages * PAGE_SIZE;
	t->releasable = t->nr_free[MAX_PAGE_ORDER] * (PAGE_SIZE << MAX_PAGE_ORDER);
	n = kmem_slabinfo_snapshot(NULL, 0);
	max = n + 16;
	bytes = sizeof(*si) * (size_t)max;
	si = alloc_pages_exact(bytes, GFP_KERNEL | __GFP_NOWARN);
	if (!si)
		return;
	n = min(kmem_slabinfo_snapshot(si, max), max);
	for (int i = 0; i < n; i++) {
		t->nr_cached += si[i].thread_objs + si[i].depot_objs;
		t->nr_slab_free += si[i].num_objs - si[i].active_objs;
	}
	for (int i = 0; i < n; i++) {
		t->cached += (si[i].thread_objs + si[i].depot_objs) *
			     si[i].objsize;
		t->slab_free += (si[i].num_objs - si[i].active_objs) *
				si[i].objsize;
	}
	if (keep_caches) {
		t->si = si;
		t->nr_si = n;
		t->si_bytes = bytes;
	} else {
		free_pages_exact(si, bytes);
	}
}

static void malloc_totals_done(struct malloc_totals *t)
{
	if (t->si)
		free_pages_exact(t->si, t->si_bytes);
	t->si = NULL;
}

/* All the free bytes of the sections, at most what the sections hold. */
static unsigned long malloc_totals_free(const struct malloc_totals *t)
{
	return min(t->cached + t->slab_free + t->free_pages, t->system);
}

/**
 * kmem_mallinfo2 - mallinfo2(), in glibc's terms
 *
 * The same arithmetic as glibc: @arena (bytes of sections kmem holds from
 * the OS, resident or ready to be) is exactly @uordblks (in use: objects,
 * large blocks, slab headers and tails) plus @fordblks (free: cached and
 * slab-free objects, resident free page blocks); @smblks/@fsmblks are the
 * free objects cached in magazines and depots (glibc's fast bins), part
 * of @fordblks; @ordblks counts the other free objects and blocks;
 * @hblks/@hblkhd are the allocations with a mapping of their own, apart
 * from @arena as in glibc; @keepcost the resident free 4 MiB blocks,
 * which malloc_trim() gives back with the free pieces of partly used
 * blocks (as glibc's keepcost is the top of its heap, which its
 * malloc_trim() gives back with the free pages inside the heap);
 * @usmblks is 0, as in glibc.
 *
 * Return: the figures.
 */
struct mallinfo2 kmem_mallinfo2(void)
{
	struct mallinfo2 mi;
	struct malloc_totals t;

	kmem_init();
	malloc_totals(&t, false);
	memset(&mi, 0, sizeof(mi));
	mi.arena = t.system;
	mi.fordblks = malloc_totals_free(&t);
	mi.uordblks = mi.arena - mi.fordblks;
	mi.smblks = t.nr_cached;
	mi.fsmblks = min(t.cached, mi.fordblks);
	mi.ordblks = t.nr_slab_free + t.nr_free_blocks;
	mi.hblks = t.nr_huge;
	mi.hblkhd = t.huge;
	mi.keepcost = t.releasable;
	return mi;
}

/*
 * The output of malloc_stats() and of KMEM_STATS_PRINT: glibc's lines
 * (arena and in-use bytes of "Arena 0", the totals with mappings of their
 * own), then kmem's split of the free bytes.
 */
void kmem_malloc_stats_fd(int fd)
{
	struct malloc_totals t;
	unsigned long in_use;
	char buf[512];
	int n;

	kmem_init();
	malloc_totals(&t, false);
	in_use = t.system - malloc_totals_free(&t);
	n = kmem_snprintf(buf, sizeof(buf),
			  "Arena 0:\nsystem bytes     = %10lu\nin use bytes     = %10lu\n"
			  "Total (incl. mmap):\nsystem bytes     = %10lu\nin use bytes     = %10lu\n"
			  "max mmap regions = %10lu\nmax mmap bytes   = %10lu\n"
			  "kmem: cached free objects = %lu bytes, free in slabs = %lu bytes, free pages = %lu bytes\n",
			  t.system, in_use, t.system + t.huge, in_use + t.huge,
			  t.nr_huge, t.huge, t.cached, t.slab_free,
			  t.free_pages);
	kmem_write_all(fd, buf, min((size_t)n, sizeof(buf) - 1));
}

/**
 * kmem_malloc_stats - malloc_stats(): a summary on stderr
 */
void kmem_malloc_stats(void)
{
	kmem_malloc_stats_fd(2);
}

/* A <size> line of malloc_info(): free chunks of one size. */
struct info_size {
	unsigned long size, count;
};

/*
 * The free sizes of malloc_info(), smallest first, one line per size: the
 * free objects of every cache of that object size (cached and in slabs),
 * and the resident free page blocks of each order.  Sorted in place
 * (insertion sort; a few dozen entries) in a page-allocator buffer.
 */
static int info_sizes(const struct malloc_totals *t, struct info_size *out,
		      int max)
{
	int n = 0;

	for (int i = 0; i < t->nr_si + NR_PAGE_ORDERS; i++) {
		unsigned long size, count;
		int j;

		if (i < t->nr_si) {
			const struct kmem_slabinfo *si = &t->si[i];

			size = si->objsize;
			count = si->thread_objs + si->depot_objs +
				si->num_objs - si->active_objs;
		} else {
			size = PAGE_SIZE << (i - t->nr_si);
			count = t->nr_free[i - t->nr_si];
		}
		if (!count)
			continue;
		for (j = 0; j < n && out[j].size != size; j++)
			;
		if (j == n) {
			if (n == max)
				break;
			out[n].size = size;
			out[n++].count = 0;
		}
		out[j].count += count;
	}
	for (int i = 1; i < n; i++) {
		struct info_size x = out[i];
		int j = i;

		for (; j > 0 && out[j - 1].size > x.size; j--)
			out[j] = out[j - 1];
		out[j] = x;
	}
	return n;
}

/**
 * kmem_malloc_info - malloc_info(): glibc's XML description of the heap
 * @options: must be 0
 * @fp:      where to write
 *
 * glibc 2.36's schema, element for element: one <heap nr="0"> (kmem has
 * one zone for all threads) with the free <sizes> (each size: the free
 * objects of the caches of that object size, then the resident free page
 * blocks of each order), <total type="fast"> (objects cached in magazines
 * and depots), <total type="rest"> (the other free bytes), <system> and
 * <aspace>; then the totals of the process, with <total type="mmap"> for
 * the mappings of their own.  The figures are those of mallinfo2().
 *
 * Return: 0, or -1 with errno EINVAL if @options is not 0.
 */
int kmem_malloc_info(int options, FILE *fp)
{
	struct malloc_totals t;
	struct info_size *sz;
	unsigned long fast, rest, nr_rest;
	size_t bytes;
	int n = 0;

	if (options) {
		errno = EINVAL;
		return -1;
	}
	kmem_init();
	malloc_totals(&t, true);
	fast = min(t.cached, malloc_totals_free(&t));
	rest = malloc_totals_free(&t) - fast;
	nr_rest = t.nr_slab_free + t.nr_free_blocks;
	bytes = sizeof(*sz) * (size_t)(t.nr_si + NR_PAGE_ORDERS);
	sz = alloc_pages_exact(bytes, GFP_KERNEL | __GFP_NOWARN);
	if (sz)
		n = info_sizes(&t, sz, t.nr_si + NR_PAGE_ORDERS);
	fputs("<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n", fp);
	for (int i = 0; i < n; i++)
		fprintf(fp, "  <size from=\"%lu\" to=\"%lu\" total=\"%lu\" count=\"%lu\"/>\n",
			sz[i].size, sz[i].size, sz[i].size * sz[i].count,
			sz[i].count);
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			fprintf(fp, "<total type=\"fast\" count=\"%lu\" size=\"%lu\"/>\n"
				"<total type=\"rest\" count=\"%lu\" size=\"%lu\"/>\n"
				"<total type=\"mmap\" count=\"%lu\" size=\"%lu\"/>\n",
				t.nr_cached, fast, nr_rest, rest, t.nr_huge,
				t.huge);
		else
			fprintf(fp, "</sizes>\n<total type=\"fast\" count=\"%lu\" size=\"%lu\"/>\n"
				"<total type=\"rest\" count=\"%lu\" size=\"%lu\"/>\n",
				t.nr_cached, fast, nr_rest, rest);
		fprintf(fp, "<system type=\"current\" size=\"%lu\"/>\n"
			"<system type=\"max\" size=\"%lu\"/>\n"
			"<aspace type=\"total\" size=\"%lu\"/>\n"
			"<aspace type=\"mprotect\" size=\"%lu\"/>\n%s",
			t.system, t.max_system, t.system, t.system,
			pass ? "</malloc>\n" : "</heap>\n");
	}
	if (sz)
		free_pages_exact(sz, bytes);
	malloc_totals_done(&t);
	return 0;
}

/**
 * kmem_mallopt - mallopt(): the glibc settings that have a meaning in kmem
 * @param: M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX, M_ARENA_TEST
 * @value: the setting
 *
 * - M_TRIM_THRESHOLD: up to @value bytes of free 4 MiB blocks stay
 *   resident after their delay (KMEM_DECAY_MS) instead of going back to
 *   the OS (negative: all of them; 0, the default: none), and, with any
 *   value but 0, the free pieces of split blocks stay resident in an idle
 *   process too.  malloc_trim() still gives them all back.
 * - M_MMAP_THRESHOLD: allocations of @value bytes or more get a mapping
 *   of their own; 8 KiB < @value <= 4 MiB (kmem's largest block; larger
 *   allocations always have their own mapping).
 * - M_ARENA_MAX, M_ARENA_TEST: kmem has one zone for all threads, within
 *   any limit of 1 or more: accepted, nothing to change.
 *
 * Return: 1 if the setting was applied, 0 for a parameter kmem does not
 * support (M_MXFAST, M_TOP_PAD, M_MMAP_MAX, M_CHECK_ACTION, M_PERTURB,
 * any other) or a value out of range, as glibc returns 0 for an error.
 */
int kmem_mallopt(int param, int value)
{
	unsigned long v = (unsigned long)(long)value;

	switch (param) {
	case M_TRIM_THRESHOLD:
		WRITE_ONCE(buddy_config.keep_resident, v);
		return 1;
	case M_MMAP_THRESHOLD:
		if (v <= KMALLOC_MAX_CACHE_SIZE || v > KMALLOC_MAX_SIZE)
			return 0;
		kmalloc_set_mmap_threshold(v);
		return 1;
	case M_ARENA_MAX:
	case M_ARENA_TEST:
		return value > 0;
	default:
		return 0;
	}
}

#ifdef KMEM_MALLOC_NAMES
/*
 * The standard names.  Aliases, not wrappers: the same code, and
 * __builtin_return_address(0) still names the program's call site.
 */
#define EXPORT_ALIAS(name, target) \
	__typeof__(target) name __attribute__((alias(#target), visibility("default")))

EXPORT_ALIAS(malloc, kmem_malloc);
EXPORT_ALIAS(free, kmem_free);
EXPORT_ALIAS(calloc, kmem_calloc);
EXPORT_ALIAS(realloc, kmem_realloc);
EXPORT_ALIAS(reallocarray, kmem_reallocarray);
EXPORT_ALIAS(posix_memalign, kmem_posix_memalign);
EXPORT_ALIAS(aligned_alloc, kmem_aligned_alloc);
EXPORT_ALIAS(memalign, kmem_memalign);
EXPORT_ALIAS(valloc, kmem_valloc);
EXPORT_ALIAS(pvalloc, kmem_pvalloc);
EXPORT_ALIAS(malloc_usable_size, kmem_malloc_usable_size);
EXPORT_ALIAS(malloc_trim, kmem_malloc_trim);
EXPORT_ALIAS(malloc_stats, kmem_malloc_stats);
EXPORT_ALIAS(mallinfo2, kmem_mallinfo2);

/* The deprecated int version, clamped as glibc does. */
__attribute__((visibility("default"))) struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = kmem_mallinfo2();
	struct mallinfo m;

	m.arena = (int)m2.arena;
	m.ordblks = (int)m2.ordblks;
	m.smblks = (int)m2.smblks;
	m.hblks = (int)m2.hblks;
	m.hblkhd = (int)m2.hblkhd;
	m.usmblks = (int)m2.usmblks;
	m.fsmblks = (int)m2.fsmblks;
	m.uordblks = (int)m2.uordblks;
	m.fordblks = (int)m2.fordblks;
	m.keepcost = (int)m2.keepcost;
	return m;
}

EXPORT_ALIAS(mallopt, kmem_mallopt);
EXPORT_ALIAS(malloc_info, kmem_malloc_info);
#endif /* KMEM_MALLOC_NAMES */
