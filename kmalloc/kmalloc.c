// SPDX-License-Identifier: MIT
/*
 * kmalloc/kmalloc.c - kmalloc: general allocation in size classes.
 *
 * Three tiers, chosen by size:
 *
 *   1 .. 8 KiB         the kmalloc-N caches (8 16 32 64 96 128 192 256 512
 *                      1k 2k 4k 8k), by one table lookup on (size + 7) / 8;
 *                      power-of-two sizes are naturally aligned
 *   8 KiB .. 4 MiB     a buddy block of get_order(size) pages, its head
 *                      marked PG_large
 *   above 4 MiB        a block of the huge heap (buddy/huge_cache.c), or
 *                      above 256 MiB a mapping of its own; a HUGE
 *                      section either way, found from the pointer
 *                      through the page table
 *
 * Every pointer given back (kfree, ksize, krealloc, free, ...) is first
 * classified through the page table (kmem_classify): an object start of
 * some cache, the head of a large block, the base of a huge mapping; or
 * invalid, with the reason (foreign, inside an object, a block already
 * free).  Invalid pointers are reported and the process aborts: freeing
 * them would corrupt the allocator.
 *
 * A call made while kmem is starting up, from inside its own start-up,
 * is served from a small static arena that is never freed (kmem_boot_*).
 *
 * Lock order: none here; the layers below take theirs.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kmalloc/kmalloc.h"
#include "buddy/profile.h"

#define RET_IP ((unsigned long)__builtin_return_address(0))

/*
 * Functions that record their caller (RET_IP) must not be folded into
 * another with the same body (GCC's identical code folding): the folded
 * one then calls the other, and where that call is not a tail call (a
 * ThreadSanitizer build) the caller recorded is the folded function.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define __no_icf __attribute__((no_icf))
#else
#define __no_icf
#endif

union kmalloc_slot kmalloc_slots[KMALLOC_NR_SLOTS] __attribute__((aligned(64)));

/* Class of sizes 0..8192 by (size + 7) / 8: kmalloc-8 ... kmalloc-8k. */
const unsigned char kmalloc_index[KMALLOC_MAX_CACHE_SIZE / 8 + 1] = {
	[0 ... 1] = 0, [2] = 1, [3 ... 4] = 2, [5 ... 8] = 3,
	[9 ... 12] = 4, [13 ... 16] = 5, [17 ... 24] = 6, [25 ... 32] = 7,
	[33 ... 64] = 8, [65 ... 128] = 9, [129 ... 256] = 10,
	[257 ... 512] = 11, [513 ... 1024] = 12,
};

static const unsigned int kmalloc_sizes[KMALLOC_NR_CACHES] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192
};
static const char *const kmalloc_names[KMALLOC_NR_CACHES] = {
	"kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-96",
	"kmalloc-128", "kmalloc-192", "kmalloc-256", "kmalloc-512",
	"kmalloc-1k", "kmalloc-2k", "kmalloc-4k", "kmalloc-8k"
};

/* ---- classes -------------------------------------------------------- */

/*
 * The tables must agree with the sizes: each gives the smallest class
 * that holds the size.  They are constants, so this walk over every size
 * is a whole-structure check (KMEM_EXPENSIVE, the debug2 test stage):
 * run at every start-up it was 485,000 instructions, a third of what
 * `ls -l` ran under kmem.
 */
static void __maybe_unused kmalloc_check_tables(void)
{
	for (unsigned int i = 1, prev = 0; i <= MALLOC_MAX_CACHE_SIZE; i++) {
		unsigned int m = malloc_index[(i + 15) >> 4];
		unsigned int size = kmalloc_slots[m].c.object_size;

		if (i <= KMALLOC_MAX_CACHE_SIZE) {
			unsigned int k = kmalloc_index[(i + 7) >> 3];

			BUG_ON(kmalloc_sizes[k] < i ||
			       (k && kmalloc_sizes[k - 1] >= i));
		}
		/* Holds @i, and no smaller class does (monotone, minimal). */
		BUG_ON(m < 1 || size < i || size < prev ||
		       (size != prev && prev >= i));
		prev = size;
	}
}

/**
 * kmalloc_init - create the kmalloc caches and the lookup tables
 *
 * Context: start-up, after slab_init().
 */
void kmalloc_init(void)
{
	for (unsigned int i = 0; i < KMALLOC_NR_CACHES; i++) {
		unsigned int size = kmalloc_sizes[i];
		unsigned int align = is_power_of_2(size) ? size :
				     1U << __builtin_ctz(size);

		slab_create_boot(&kmalloc_slots[i].c, kmalloc_names[i], size,
				 align, SLAB_KMALLOC);
	}
	malloc_classes_init();
	KMEM_EXPENSIVE(kmalloc_check_tables());
	/*
	 * malloc_alloc_fast() clears the second word, unlooked: every malloc
	 * class marks free objects there or debugs (KMEM_DEBUG: the
	 * environment decides, so this is checked at every start-up).
	 */
	for (unsigned int g = 1; g <= MALLOC_MAX_CACHE_SIZE / 16; g++)
		BUG_ON(!(kmalloc_slots[malloc_index[g]].c.cflags &
			 (CF_DEBUG | CF_MARK_FREE)));
	slab_rcu_set_kfree(kfree);
}

/**
 * kmem_alloc_class_slow - allocate from a size class when the magazine
 * was empty (kmem is started: see kmem_ready())
 * @s:      the class
 * @size:   bytes asked for (zeroed with __GFP_ZERO)
 * @gfp:    flags
 * @caller: the API caller
 *
 * Return: the object, or NULL (errno ENOMEM).
 */
void *kmem_alloc_class_slow(struct kmem_cache *s, size_t size, gfp_t gfp,
			    unsigned long caller)
{
	void *obj;

	obj = slab_alloc_refill(s, gfp, caller);
	if (unlikely(!obj)) {
		if (gfp & __GFP_NOFAIL)
			kmem_panic("kmem: kmalloc(%zu): __GFP_NOFAIL allocation failed: out of memory\n",
				   size);
		errno = ENOMEM;
		return NULL;
	}
	if (gfp & __GFP_ZERO)
		memset(obj, 0, size);
	return obj;
}

/* ---- the kmalloc API ------------------------------------------------ */

static void *__kmalloc_slow(size_t size, gfp_t gfp, unsigned long caller)
{
	bool started;
	void *p;

	if (!size)
		return ZERO_SIZE_PTR;
	started = kmem_started();
	if (!kmem_ready())
		return kmem_boot_alloc(size, 16);
	if (started && kfence_wants(size) &&
	    (p = slab_kfence_alloc(kmalloc_cache(size), size,
				   is_power_of_2(size) ? size : 8, gfp,
				   caller)))
		return p;
	if (size > KMALLOC_MAX_CACHE_SIZE && !(gfp & __GFP_ZERO) &&
	    (p = kmalloc_large_fast(size)))
		return p;
	if (size <= KMALLOC_MAX_CACHE_SIZE)
		return kmem_alloc_class_slow(kmalloc_cache(size),
					     kmalloc_cache(size)->object_size,
					     gfp, caller);
	return kmalloc_large(size, PAGE_SIZE, gfp, caller);
}

/* The slow path, counted towards the next sample (reached by tail call). */
static noinline void *kmalloc_slow(size_t size, gfp_t gfp, unsigned long caller)
{
	return kmem_prof_alloc(__kmalloc_slow(size, gfp, caller), size, caller);
}

/*
 * kmalloc() for a caller given explicitly: the helpers built on kmalloc
 * (krealloc, kmemdup, kstrdup, ...) record their own caller as the owner
 * of what they allocate, as the kernel's _RET_IP_ plumbing does, so that
 * KMEM_DEBUG's "Allocated in" names the program's call site.
 */
static __always_inline void *kmalloc_fast(size_t size, gfp_t gfp)
{
	struct kmem_cache *s;
	void *obj;

	/* KFENCE's sample goes the slow way (kmalloc_slow()). */
	if (unlikely(size - 1 >= KMALLOC_MAX_CACHE_SIZE || kfence_wants(size)))
		return NULL;
	s = kmalloc_cache(size);
	obj = slab_alloc_fast(s);
	/*
	 * kzalloc() from the magazine too: it went to the slow path, five
	 * times the cost of kmalloc() and a memset.  The whole slot is
	 * zeroed, as kmem_alloc_class_slow() and the kernel's SLUB do.
	 */
	if (unlikely(gfp & __GFP_ZERO) && likely(obj))
		memset(obj, 0, s->object_size);
	return obj;
}

static __always_inline void *__kmalloc_caller(size_t size, gfp_t gfp,
					      unsigned long caller)
{
	void *obj = kmalloc_fast(size, gfp);

	if (likely(obj))
		return kmem_prof_alloc(obj, size, caller);
	return kmalloc_slow(size, gfp, caller);
}

/**
 * kmalloc - allocate memory
 * @size: bytes (0 gives ZERO_SIZE_PTR)
 * @gfp:  allocation flags
 *
 * Return: memory aligned to at least 8 bytes (power-of-two sizes to their
 * size, up to the page size), or NULL.
 */
void *kmalloc(size_t size, gfp_t gfp)
{
	void *obj = kmalloc_fast(size, gfp);

	if (likely(obj))
		return kmem_prof_alloc(obj, size, RET_IP);
	/* The return address is read on the slow paths only. */
	return kmalloc_slow(size, gfp, RET_IP);
}

/**
 * kmalloc_node - kmalloc(); one node
 * @size: bytes
 * @gfp:  flags
 * @node: ignored
 */
__no_icf void *kmalloc_node(size_t size, gfp_t gfp, int node)
{
	(void)node;
	return __kmalloc_caller(size, gfp, RET_IP);
}

/*
 * Everything but a slab object that fits the magazine (a full magazine, a
 * marked object: the fast path left them as they came, and
 * kmem_free_classified() checks the marker).
 */
static noinline void kfree_slow(const void *p, const char *func,
				unsigned long caller)
{
	if (ZERO_OR_NULL_PTR(p))
		return;
	kmem_free_slow(p, func, caller);
}


/* kfree() for a caller given explicitly (kvfree, kfree_const, ...). */
static __always_inline void __kfree_caller(const void *objp,
					   unsigned long caller)
{
	if (likely(kmem_free_fast(objp)))
		return;
	kfree_slow(objp, "kfree", caller);
}

/**
 * kfree - free memory from kmalloc (or any cache)
 * @objp: the pointer; NULL and ZERO_SIZE_PTR are ignored
 *
 * A pointer kmem did not hand out, or one already freed, is reported
 * ("kmem: kfree(): invalid pointer 0x...") and the process aborts.
 */
void kfree(const void *objp)
{
	if (likely(kmem_free_fast(objp)))
		return;
	/* The return address is read on this path only. */
	kfree_slow(objp, "kfree", RET_IP);
}

/**
 * ksize - the usable size of an allocation
 * @objp: from kmalloc or a cache (NULL and ZERO_SIZE_PTR: 0)
 *
 * Return: the bytes that may be used, at least what was asked for.
 */
size_t ksize(const void *objp)
{
	if (ZERO_OR_NULL_PTR(objp))
		return 0;
	return kmem_usable(objp, "ksize");
}

/**
 * kmalloc_size_roundup - the size kmalloc(@size) really gives
 * @size: bytes
 *
 * Return: the class size up to 8 KiB; above, whole pages (what ksize()
 * says of a large block or a mapping of its own); @size itself when no
 * allocation of that size can succeed.
 */
size_t kmalloc_size_roundup(size_t size)
{
	kmem_init();
	if (!size)
		return 0;
	if (size <= KMALLOC_MAX_CACHE_SIZE)
		return kmalloc_cache(size)->object_size;
	if (size > PTRDIFF_MAX)
		return size;
	return ALIGN(size, PAGE_SIZE);
}

/* krealloc() for a caller given explicitly (krealloc, kvrealloc). */
static void *__krealloc_caller(const void *objp, size_t new_size, gfp_t gfp,
			       unsigned long caller)
{
	struct kmem_ptr kp;
	size_t ks;
	void *ret;

	if (ZERO_OR_NULL_PTR(objp))
		return __kmalloc_caller(new_size, gfp, caller);
	if (!new_size) {
		__kfree_caller(objp, caller);
		return ZERO_SIZE_PTR;
	}
	kmem_classify(objp, NULL, &kp);
	if (kp.kind == KMEM_PTR_INVALID)
		kmem_bad_pointer(&kp, objp, "krealloc");
	ks = kp.kind == KMEM_PTR_BOOT ? 0 : kmem_usable_size(&kp, objp);
	/* A large block grows in place up to its whole buddy block. */
	if (kp.kind == KMEM_PTR_LARGE && new_size > KMALLOC_MAX_CACHE_SIZE &&
	    new_size <= large_capacity(kp.page)) {
		kmalloc_large_resize(kp.page, new_size);
		return (void *)objp;
	}
	/*
	 * A mapping of its own shrinks where it is, its tail unmapped, as a
	 * large block gives its tail back: else the pages past @new_size
	 * stayed resident, and a later move copied them (it copies the
	 * whole mapping).  A sampled one is forgotten first, as realloc()
	 * does (its sample would keep the old size).
	 */
	if (kp.kind == KMEM_PTR_HUGE &&
	    ALIGN(new_size, PAGE_SIZE) + (4 << PAGE_SHIFT) <= ks) {
		if (unlikely(READ_ONCE(kmem_prof_huge)))
			kmem_prof_free_huge(objp);
		if (huge_cache_resize(kp.sec, new_size))
			return (void *)objp;
	}
	if (ks >= new_size)
		return (void *)objp;
	/*
	 * A huge block grows as realloc() grows one: into the heap's free
	 * extents after it, else by moving its pages to a new block (no
	 * copy, no fault); before, every growth copied it.  __GFP_ZERO
	 * zeroes what was added (it may have held earlier data).  Pages new
	 * from the OS are a huge block's, which GFP_NOWAIT and GFP_ATOMIC
	 * never take (kmalloc_large()): they fail below instead.
	 */
	if (kp.kind == KMEM_PTR_HUGE &&
	    (gfpflags_allow_blocking(gfp) || (gfp & __GFP_NOFAIL))) {
		struct kmem_section *sec = kp.sec;

		if (unlikely(READ_ONCE(kmem_prof_huge)))
			kmem_prof_free_huge(objp);
		if (huge_cache_resize(sec, new_size) ||
		    (sec = huge_cache_move(sec, new_size))) {
			ret = (void *)sec->base;
			if (gfp & __GFP_ZERO)
				memset((char *)ret + ks, 0, new_size - ks);
			return ret;
		}
	}
	ret = __kmalloc_caller(new_size, gfp, caller);
	if (!ret)
		return NULL;
	if (kp.kind == KMEM_PTR_BOOT)
		ks = min(new_size, kmem_boot_usable(objp));
	else
		ks = kmem_written_size(&kp, objp);	/* < new_size */
	memcpy(ret, objp, ks);
	kmem_free_classified(&kp, (void *)objp, "krealloc", caller);
	return ret;
}

/**
 * krealloc - resize an allocation
 * @objp:     the allocation (NULL: like kmalloc)
 * @new_size: bytes wanted (0: frees @objp and returns ZERO_SIZE_PTR)
 * @gfp:      flags
 *
 * Stays in place when the allocation is already large enough, or is a
 * large block whose buddy block is (a large block gives its pages past
 * @new_size back to the OS when it shrinks); otherwise
 * allocates, copies what the caller may have written (a large block: the
 * size it was asked for, see kmem_written_size()) and frees the old one.
 * The new allocation's owner (KMEM_DEBUG's U) is krealloc()'s caller.
 *
 * Return: the allocation, or NULL (the old one is then untouched).
 */
void *krealloc(const void *objp, size_t new_size, gfp_t gfp)
{
	return __krealloc_caller(objp, new_size, gfp, RET_IP);
}

/**
 * kfree_sensitive - zero an allocation, then free it
 * @objp: the allocation
 */
void kfree_sensitive(const void *objp)
{
	size_t ks = ksize(objp);

	if (ks) {
		memset((void *)objp, 0, ks);
		__asm__ __volatile__("" : : "r"(objp) : "memory");
	}
	__kfree_caller(objp, RET_IP);
}

static __always_inline void *__kmemdup_caller(const void *src, size_t len,
					      gfp_t gfp, unsigned long caller)
{
	void *p = __kmalloc_caller(len, gfp, caller);

	if (!ZERO_OR_NULL_PTR(p))
		memcpy(p, src, len);
	return p;
}

/**
 * kmemdup - duplicate a buffer
 * @src: source
 * @len: bytes
 * @gfp: flags
 */
void *kmemdup(const void *src, size_t len, gfp_t gfp)
{
	return __kmemdup_caller(src, len, gfp, RET_IP);
}

/**
 * kstrdup - duplicate a string
 * @s:   the string (NULL gives NULL)
 * @gfp: flags
 */
__no_icf char *kstrdup(const char *s, gfp_t gfp)
{
	return s ? __kmemdup_caller(s, strlen(s) + 1, gfp, RET_IP) : NULL;
}

/**
 * kstrndup - duplicate at most @max characters of a string
 * @s:   the string (NULL gives NULL)
 * @max: limit
 * @gfp: flags
 */
char *kstrndup(const char *s, size_t max, gfp_t gfp)
{
	size_t len;
	char *p;

	if (!s)
		return NULL;
	len = strnlen(s, max);
	p = __kmalloc_caller(len + 1, gfp, RET_IP);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/**
 * kstrdup_const - duplicate a string (always copies in kmem)
 * @s:   the string
 * @gfp: flags
 */
__no_icf const char *kstrdup_const(const char *s, gfp_t gfp)
{
	return s ? __kmemdup_caller(s, strlen(s) + 1, gfp, RET_IP) : NULL;
}

/**
 * kfree_const - free what kstrdup_const() returned
 * @x: the string
 */
__no_icf void kfree_const(const void *x)
{
	__kfree_caller(x, RET_IP);
}

/**
 * kvmalloc_node - allocate memory of any size
 * @size: bytes (large sizes get a mapping of their own)
 * @gfp:  flags
 * @node: ignored
 */
__no_icf void *kvmalloc_node(size_t size, gfp_t gfp, int node)
{
	(void)node;
	return __kmalloc_caller(size, gfp, RET_IP);
}

/**
 * kvfree - free what kvmalloc() returned
 * @addr: the allocation
 */
__no_icf void kvfree(const void *addr)
{
	__kfree_caller(addr, RET_IP);
}

/**
 * kvfree_sensitive - zero @len bytes, then free
 * @addr: the allocation
 * @len:  bytes to zero
 */
void kvfree_sensitive(const void *addr, size_t len)
{
	if (addr) {
		memset((void *)addr, 0, len);
		__asm__ __volatile__("" : : "r"(addr) : "memory");
	}
	__kfree_caller(addr, RET_IP);
}

/**
 * kvrealloc - resize a kvmalloc() allocation (the 6.1 signature)
 * @p:       the allocation
 * @oldsize: its size
 * @newsize: the wanted size
 * @flags:   flags
 */
void *kvrealloc(const void *p, size_t oldsize, size_t newsize, gfp_t flags)
{
	(void)oldsize;
	return __krealloc_caller(p, newsize, flags, RET_IP);
}

/**
 * kmem_cache_free_bulk - free objects of a cache (NULL: of any cache)
 * @s:    the cache, or NULL for kfree_bulk()
 * @size: how many
 * @p:    the objects
 */
void kmem_cache_free_bulk(struct kmem_cache *s, size_t size, void **p)
{
	for (size_t i = 0; i < size; i++) {
		if (s)
			kmem_cache_free(s, p[i]);
		else
			__kfree_caller(p[i], RET_IP);
	}
}

KMEM_LAYER(kmalloc_layer, "kmalloc", LAYER_KMALLOC, LOCK_RANK_NONE,
	.init = kmalloc_init);
