// SPDX-License-Identifier: MIT
/*
 * tests/kernel/kmem_linux.c - the kernel radix-tree test suites' slab
 * stand-in, rebuilt on kmem.
 *
 * The kernel tests its radix tree, IDR/IDA and XArray in userspace
 * (tools/testing/radix-tree) with a small stand-in for the slab allocator:
 * tools/testing/radix-tree/linux.c (kmem_cache_*, the test hooks) and
 * tools/lib/slab.c (kmalloc, kfree).  This file replaces both objects.  It
 * is compiled by the kernel's own Makefile, against the kernel's headers,
 * with the kernel's flags (-fsanitize=address,undefined), and defines
 * exactly the symbols the 6.1 suites link against:
 *
 *   kmem_cache_create  kmem_cache_alloc_lru  kmem_cache_free
 *   kmem_cache_alloc_bulk  kmem_cache_free_bulk  kmem_cache_shrink
 *   kmalloc  kfree
 *   kmem_cache_set_non_kernel  kmem_cache_get_alloc
 *   kmem_cache_nr_allocated  kmem_cache_nr_tallocated
 *   kmem_cache_zero_nr_tallocated  test_kmem_cache_bulk
 *   nr_allocated  preempt_count  test_verbose  kmalloc_verbose
 *   kmalloc_nr_allocated
 *
 * Every object comes from kmem: a suite's struct kmem_cache is a small
 * wrapper holding kmem's cache and the stand-in's bookkeeping, and
 * kmalloc()/kfree() are kmem's.  kmem is reached through kmem_bridge.h
 * only (see there and kmem_bridge.c for why this cannot be one file).
 *
 * What the stand-in does that the suites observe, and is kept here:
 *
 *  - An allocation that may not block (no __GFP_DIRECT_RECLAIM) fails,
 *    unless the cache's non_kernel budget (kmem_cache_set_non_kernel())
 *    covers it; the budget is then spent, one per object, and a bulk
 *    request takes all it needs or fails without spending.  kmalloc()
 *    has no budget: it always fails such a request.  When the budget
 *    grants an allocation it is served like a blocking one, so that its
 *    success does not depend on how much memory kmem has mapped (kmem's
 *    own GFP_NOWAIT rule), only on the budget, as in the stand-in.
 *  - Counters: the global nr_allocated and, per cache, nr_allocated and
 *    nr_tallocated (allocations since the last zeroing), updated with
 *    atomics before the call returns, so that they are exact for a test
 *    that reads them after rcu_barrier(), whichever thread freed.
 *  - The constructor runs only when an object is fresh, never on reuse:
 *    kmem's own rule (constructors run when a slab is populated).
 *  - Bulk allocation is all or nothing: kmem's own rule.
 *  - The requested alignment is exact: passed to kmem, and every object
 *    is checked against it.
 *  - kmalloc_verbose prints each allocation and free.
 *
 * Differences, kept on purpose (Documentation/kernel-compat.md):
 *
 *  - __GFP_ZERO zeroes every object, as the kernel does; the stand-in
 *    zeroes only objects that were not constructed and were not reused.
 *  - kmem_cache_create() fails (or, with SLAB_PANIC, aborts) for a name
 *    already in use, as kmem does; the stand-in accepts anything.
 *  - Frees are checked by kmem (wrong cache, double free), so a suite bug
 *    the stand-in would have let pass aborts the suite.
 *
 * Flags: the kernel's gfp and SLAB_ flags are translated into kmem's by
 * name (kmem_compat_flags.h): a table from each kernel bit to kmem's bits
 * is built at start-up, and the composite GFP_ names are checked to come
 * out as kmem's.
 *
 * Threads: any thread may allocate or free, including liburcu's call_rcu
 * thread, which frees radix-tree nodes and never allocates; nothing here
 * is per-thread, and kmem attaches a thread on its first call.
 *
 * Lock order: none; the bookkeeping is atomic counters.
 */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/gfp.h>
#include <linux/slab.h>
#include <linux/radix-tree.h>
#include <urcu.h>
#include <urcu/uatomic.h>

#include "kmem_bridge.h"
#include "kmem_compat_missing.h"

int nr_allocated;		/* objects out, all caches */
int preempt_count;		/* preempt_disable() depth */
int test_verbose;		/* -v */
int kmalloc_verbose;		/* print every allocation and free */
int kmalloc_nr_allocated;	/* kmalloc() blocks out */

/*
 * struct kmem_cache - a suite's cache: kmem's cache and the stand-in's
 * books.  The counters are atomics, exact whenever no call is running;
 * the struct is never freed (the 6.1 suites have no kmem_cache_destroy()).
 */
struct kmem_cache {
	struct kmem_bridge_cache *kc;	/* kmem's cache */
	const char *name;		/* as created, for messages */
	unsigned int size;		/* object size asked for */
	unsigned int align;		/* alignment asked for, 0: none */
	unsigned int non_kernel;	/* non-blocking allocations allowed */
	unsigned long nr_allocated;	/* objects out */
	unsigned long nr_tallocated;	/* allocations since zeroed */
};

/* ---- flags, by name ------------------------------------------------ */

static const unsigned int kernel_gfp_bit[KC_GFP_BITS] = {
#define KC_GFP_BIT(name) [KC_GFP_BIT_##name] = (unsigned int)__GFP_##name,
#include "kmem_compat_flags.h"
};

static const unsigned int kernel_gfp_set[KC_GFP_SETS] = {
#define KC_GFP_SET(name) [KC_GFP_SET_##name] = (unsigned int)GFP_##name,
#include "kmem_compat_flags.h"
};

static const unsigned int kernel_slab_flag[KC_SLAB_FLAGS] = {
#define KC_SLAB(name) [KC_SLAB_##name] = (unsigned int)SLAB_##name,
#include "kmem_compat_flags.h"
};

static const char *const gfp_set_name[KC_GFP_SETS] = {
#define KC_GFP_SET(name) [KC_GFP_SET_##name] = "GFP_" #name,
#include "kmem_compat_flags.h"
};

static unsigned int gfp_map[32];	/* kernel bit -> kmem's bits */
static unsigned int gfp_known;		/* kernel bits that have a name */
static unsigned int slab_map[32];
static unsigned int slab_known;

static __attribute__((noreturn, format(printf, 1, 2)))
void kc_fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("kmem_linux: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* Add @n names' values to a bit table: kernel bit -> kmem's bits. */
static void map_add(unsigned int *map, unsigned int *known,
		    const unsigned int *kernel, const unsigned int *kmem,
		    unsigned int n, const char *what)
{
	for (unsigned int i = 0; i < n; i++) {
		if (!kernel[i])
			continue;	/* the kernel has no such flag */
		if (kernel[i] & (kernel[i] - 1))
			kc_fatal("%s #%u is not a single bit (%#x)", what, i,
				 kernel[i]);
		map[__builtin_ctz(kernel[i])] |= kmem[i];
		*known |= kernel[i];
	}
}

static unsigned int translate(const unsigned int *map, unsigned int known,
			      unsigned int flags, const char *what)
{
	static int warned;
	unsigned int out = 0;

	if ((flags & ~known) && !uatomic_xchg(&warned, 1))
		fprintf(stderr,
			"kmem_linux: %s bits %#x have no name, dropped\n",
			what, flags & ~known);
	flags &= known;
	while (flags) {
		out |= map[__builtin_ctz(flags)];
		flags &= flags - 1;
	}
	return out;
}

static inline unsigned int gfp_to_kmem(gfp_t gfp)
{
	return translate(gfp_map, gfp_known, (unsigned int)gfp, "gfp");
}

/*
 * Build the tables before main() and check them: every composite GFP_
 * name of the kernel must translate to kmem's value of the same name, so
 * a flag mapped wrongly, or a kmem composite that means something else,
 * stops the suites before they start.
 */
static __attribute__((constructor)) void kmem_linux_init(void)
{
	map_add(gfp_map, &gfp_known, kernel_gfp_bit, kmem_bridge_gfp_bit,
		KC_GFP_BITS, "__GFP_ flag");
	map_add(slab_map, &slab_known, kernel_slab_flag,
		kmem_bridge_slab_flag, KC_SLAB_FLAGS, "SLAB_ flag");
	for (unsigned int i = 0; i < KC_GFP_SETS; i++) {
		unsigned int got = gfp_to_kmem(kernel_gfp_set[i]);

		if (got != kmem_bridge_gfp_set[i])
			kc_fatal("%s: kernel %#x translates to %#x, kmem has %#x",
				 gfp_set_name[i], kernel_gfp_set[i], got,
				 kmem_bridge_gfp_set[i]);
	}
}

/* ---- the non-kernel budget ------------------------------------------ */

/*
 * May @s serve @nr objects to a request that may not block?  Spends @nr
 * from the budget if it holds that many, and nothing otherwise (the
 * stand-in's rule, made atomic).
 */
static bool non_kernel_take(struct kmem_cache *s, size_t nr)
{
	unsigned int old = uatomic_read(&s->non_kernel), seen;

	for (;;) {
		if (old < nr)
			return false;
		seen = uatomic_cmpxchg(&s->non_kernel, old,
				       old - (unsigned int)nr);
		if (seen == old)
			return true;
		old = seen;
	}
}

/* kmem's flags for a request the budget (or __GFP_DIRECT_RECLAIM) allows. */
static unsigned int cache_gfp(gfp_t gfp)
{
	return gfp_to_kmem(gfp | __GFP_DIRECT_RECLAIM);
}

/* ---- object caches ------------------------------------------------- */

/**
 * kmem_cache_create - create a cache on kmem
 * @name:  cache name
 * @size:  object size
 * @align: alignment, 0 for none in particular
 * @flags: SLAB_ flags, the kernel's values
 * @ctor:  constructor, or NULL
 *
 * Return: the cache.  kmem aborts for SLAB_PANIC caches it cannot create;
 * other failures return NULL.
 */
struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
				     unsigned int align, unsigned int flags,
				     void (*ctor)(void *))
{
	struct kmem_cache *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kc = kmem_bridge_cache_create(name, size, align,
					 translate(slab_map, slab_known, flags,
						   "SLAB_"),
					 ctor);
	if (!s->kc) {
		free(s);
		return NULL;
	}
	s->name = name;
	s->size = size;
	s->align = align;
	if (kmem_bridge_cache_size(s->kc) < size)
		kc_fatal("kmem cache %s: object size %u < %u asked for", name,
			 kmem_bridge_cache_size(s->kc), size);
	return s;
}

/* Count one object out of @s, and check what kmem gave. */
static void account_alloc(struct kmem_cache *s, void *p)
{
	if (s->align && ((uintptr_t)p & (s->align - 1)))
		kc_fatal("kmem cache %s: object %p is not aligned to %u",
			 s->name, p, s->align);
	uatomic_inc(&s->nr_allocated);
	uatomic_inc(&nr_allocated);
	uatomic_inc(&s->nr_tallocated);
	if (kmalloc_verbose)
		printf("Allocating %p from slab\n", p);
}

static void account_free(struct kmem_cache *s, void *p)
{
	if (!p)
		kc_fatal("kmem cache %s: freeing NULL", s->name);
	uatomic_dec(&nr_allocated);
	uatomic_dec(&s->nr_allocated);
	if (kmalloc_verbose)
		printf("Freeing %p to slab\n", p);
}

/**
 * kmem_cache_alloc_lru - allocate an object (kmem_cache_alloc() calls this)
 * @s:   the cache
 * @lru: ignored
 * @gfp: the kernel's gfp flags
 *
 * Return: an object, or NULL for a request that may not block and is not
 * covered by the cache's non-kernel budget (or if kmem has no memory).
 */
void *kmem_cache_alloc_lru(struct kmem_cache *s, struct list_lru *lru,
			   int gfp)
{
	void *p;

	(void)lru;
	if (!((gfp_t)gfp & __GFP_DIRECT_RECLAIM) && !non_kernel_take(s, 1))
		return NULL;
	p = kmem_bridge_cache_alloc(s->kc, cache_gfp((gfp_t)gfp));
	if (p)
		account_alloc(s, p);
	return p;
}

/**
 * kmem_cache_free - free an object
 * @s:   its cache
 * @obj: the object (not NULL)
 */
void kmem_cache_free(struct kmem_cache *s, void *obj)
{
	account_free(s, obj);
	kmem_bridge_cache_free(s->kc, obj);
}

/**
 * kmem_cache_alloc_bulk - allocate @nr objects, all or none
 * @s:   the cache
 * @gfp: the kernel's gfp flags
 * @nr:  how many
 * @p:   receives them
 *
 * Return: @nr, or 0 (a request that may not block needs @nr in the
 * budget, and spends nothing when it fails).
 */
int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t nr,
			  void **p)
{
	if (kmalloc_verbose)
		printf("Bulk alloc %zu\n", nr);
	if (!(gfp & __GFP_DIRECT_RECLAIM) && !non_kernel_take(s, nr))
		return 0;
	if (!nr)
		return 0;
	if (kmem_bridge_cache_alloc_bulk(s->kc, cache_gfp(gfp), nr, p) !=
	    (int)nr)
		return 0;
	for (size_t i = 0; i < nr; i++)
		account_alloc(s, p[i]);
	return (int)nr;
}

/**
 * kmem_cache_free_bulk - free @nr objects
 * @s:  their cache
 * @nr: how many
 * @p:  the objects
 */
void kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **p)
{
	if (kmalloc_verbose)
		printf("Bulk free %p[0-%zu]\n", (void *)p, nr - 1);
	for (size_t i = 0; i < nr; i++)
		account_free(s, p[i]);
	kmem_bridge_cache_free_bulk(s->kc, nr, p);
}

/**
 * kmem_cache_shrink - give @s's empty slabs back (the stand-in: nothing)
 * @s: the cache
 */
void kmem_cache_shrink(struct kmem_cache *s)
{
	kmem_bridge_cache_shrink(s->kc);
}

/* ---- the test hooks ------------------------------------------------ */

/**
 * kmem_cache_set_non_kernel - allow @val allocations that may not block
 * @s:   the cache
 * @val: the budget
 */
void kmem_cache_set_non_kernel(struct kmem_cache *s, unsigned int val)
{
	uatomic_set(&s->non_kernel, val);
}

/**
 * kmem_cache_get_alloc - bytes out: object size times objects out
 * @s: the cache
 */
unsigned long kmem_cache_get_alloc(struct kmem_cache *s)
{
	return s->size * uatomic_read(&s->nr_allocated);
}

/**
 * kmem_cache_nr_allocated - objects of @s out now
 * @s: the cache
 */
unsigned long kmem_cache_nr_allocated(struct kmem_cache *s)
{
	return uatomic_read(&s->nr_allocated);
}

/**
 * kmem_cache_nr_tallocated - allocations from @s since the last zeroing
 * @s: the cache
 */
unsigned long kmem_cache_nr_tallocated(struct kmem_cache *s)
{
	return uatomic_read(&s->nr_tallocated);
}

/**
 * kmem_cache_zero_nr_tallocated - restart kmem_cache_nr_tallocated()
 * @s: the cache
 */
void kmem_cache_zero_nr_tallocated(struct kmem_cache *s)
{
	uatomic_set(&s->nr_tallocated, 0);
}

/* ---- kmalloc ------------------------------------------------------- */

/**
 * kmalloc - kmem's kmalloc() under the stand-in's rule
 * @size: bytes
 * @gfp:  the kernel's gfp flags
 *
 * Return: the memory, or NULL for any request that may not block.
 */
void *kmalloc(size_t size, gfp_t gfp)
{
	void *p;

	if (!(gfp & __GFP_DIRECT_RECLAIM))
		return NULL;
	p = kmem_bridge_kmalloc(size, gfp_to_kmem(gfp));
	if (!p)
		return NULL;
	uatomic_inc(&kmalloc_nr_allocated);
	if (kmalloc_verbose)
		printf("Allocating %p from kmalloc\n", p);
	return p;
}

/**
 * kfree - kmem's kfree()
 * @p: from kmalloc(), or NULL
 */
void kfree(void *p)
{
	if (!p)
		return;
	uatomic_dec(&kmalloc_nr_allocated);
	if (kmalloc_verbose)
		printf("Freeing %p to kmalloc\n", p);
	kmem_bridge_kfree(p);
}

/* ---- test of the above ---------------------------------------------- */

#ifdef NDEBUG
#error "test_kmem_cache_bulk() is made of assert()s"
#endif

struct kc_ctor_obj {
	unsigned long magic;	/* set by the constructor */
	unsigned long state;	/* 0 from the constructor, then the user's */
	unsigned long pad[6];
};

#define KC_CTOR_MAGIC 0x6b6d656d6374UL

static int kc_ctor_calls;

static void kc_ctor(void *p)
{
	struct kc_ctor_obj *o = p;

	o->magic = KC_CTOR_MAGIC;
	o->state = 0;
	uatomic_inc(&kc_ctor_calls);
}

struct kc_rcu_obj {
	struct rcu_head rcu;
	struct kmem_cache *cache;
};

static void kc_rcu_free(struct rcu_head *head)
{
	struct kc_rcu_obj *o = caa_container_of(head, struct kc_rcu_obj, rcu);

	kmem_cache_free(o->cache, o);
}

static void *kc_free_thread(void *arg)
{
	void **list = arg;

	for (int i = 0; i < 8; i++)
		kmem_cache_free(list[8], list[i]);
	return NULL;
}

static void kc_destroy(struct kmem_cache *s)
{
	kmem_bridge_cache_destroy(s->kc);
	free(s);
}

/**
 * test_kmem_cache_bulk - test this file's kmem_cache_* and hooks
 *
 * The stand-in's version checks its private free list; this one checks
 * what the suites rely on: counters, the non-kernel budget, bulk all or
 * nothing, exact alignment, constructors on fresh objects only, frees
 * from a thread that never allocated and from the call_rcu thread, and
 * kmalloc's rule.  Aborts on the first failure.  The caller is an RCU
 * reader thread (rcu_register_thread()); it checks only its own caches'
 * counters, so other objects may come and go meanwhile (the maple-tree
 * suite calls it between its tests, with RCU frees still pending).
 */
void test_kmem_cache_bulk(void)
{
	struct kmem_cache *c, *c2, *c3, *c4;
	void *list[16], *used[128];
	int nr_used = 0, kmalloc_base;
	pthread_t t;
	int i;

	c = kmem_cache_create("test_cache", 256, 0, SLAB_PANIC, NULL);
	for (i = 0; i < 5; i++)
		assert((list[i] = kmem_cache_alloc(c, __GFP_DIRECT_RECLAIM)));
	assert(kmem_cache_nr_allocated(c) == 5);
	assert(kmem_cache_get_alloc(c) == 5 * 256);
	for (i = 0; i < 5; i++)
		kmem_cache_free(c, list[i]);
	assert(kmem_cache_nr_allocated(c) == 0);

	assert(kmem_cache_alloc_bulk(c, __GFP_DIRECT_RECLAIM, 5, list) == 5);
	assert(kmem_cache_nr_allocated(c) == 5);
	assert(kmem_cache_nr_tallocated(c) == 10);
	kmem_cache_free_bulk(c, 5, list);
	kmem_cache_zero_nr_tallocated(c);
	assert(kmem_cache_nr_tallocated(c) == 0);

	/* Zeroed every time, reused or not. */
	for (i = 0; i < 12; i++) {
		assert((list[i] = kmem_cache_alloc(c, GFP_KERNEL)));
		memset(list[i], 0xa5, 256);
	}
	for (i = 0; i < 12; i++)
		kmem_cache_free(c, list[i]);
	for (i = 0; i < 12; i++) {
		assert((list[i] = kmem_cache_alloc(c, GFP_KERNEL | __GFP_ZERO)));
		for (int b = 0; b < 256; b++)
			assert(!((unsigned char *)list[i])[b]);
	}
	kmem_cache_free_bulk(c, 12, list);
	assert(kmem_cache_nr_allocated(c) == 0);

	/* No blocking, no budget: nothing; a budget of 3 serves 3. */
	assert(!kmem_cache_alloc(c, GFP_NOWAIT));
	assert(!kmem_cache_alloc(c, GFP_ATOMIC));
	assert(!kmem_cache_alloc_bulk(c, GFP_NOWAIT, 2, list));
	kmem_cache_set_non_kernel(c, 3);
	assert(!kmem_cache_alloc_bulk(c, GFP_NOWAIT, 4, list));
	assert(kmem_cache_alloc_bulk(c, GFP_NOWAIT, 2, list) == 2);
	assert((list[2] = kmem_cache_alloc(c, GFP_NOWAIT)));
	assert(!kmem_cache_alloc(c, GFP_NOWAIT));
	assert(kmem_cache_nr_allocated(c) == 3);
	kmem_cache_free_bulk(c, 3, list);

	/* Exact alignment, bulk and single. */
	c2 = kmem_cache_create("test_cache2", 128, 128, SLAB_PANIC, NULL);
	assert(kmem_cache_alloc_bulk(c2, __GFP_DIRECT_RECLAIM, 10, list) == 10);
	for (i = 0; i < 10; i++)
		assert(!((uintptr_t)list[i] & 127));
	kmem_cache_free_bulk(c2, 10, list);
	for (i = 0; i < 16; i++) {
		assert((list[i] = kmem_cache_alloc(c2, GFP_KERNEL)));
		assert(!((uintptr_t)list[i] & 127));
	}
	for (i = 0; i < 16; i++)
		kmem_cache_free(c2, list[i]);
	assert(!kmem_cache_nr_allocated(c2));

	/*
	 * Constructor on fresh objects only: an object handed out before
	 * comes back in the state it was freed in (a constructor run again
	 * would have reset it); any other one is as the constructor left it.
	 */
	c3 = kmem_cache_create("test_cache3", sizeof(struct kc_ctor_obj), 0,
			       SLAB_PANIC | SLAB_RECLAIM_ACCOUNT, kc_ctor);
	for (int round = 0; round < 8; round++) {
		if (round & 1)
			assert(kmem_cache_alloc_bulk(c3, GFP_KERNEL, 16, list) ==
			       16);
		for (i = 0; i < 16; i++) {
			struct kc_ctor_obj *o;
			int j;

			if (!(round & 1))
				assert((list[i] = kmem_cache_alloc(c3,
								   GFP_KERNEL)));
			o = list[i];
			assert(o->magic == KC_CTOR_MAGIC);
			for (j = 0; j < nr_used && used[j] != o; j++)
				;
			if (j < nr_used) {
				assert(o->state == ((uintptr_t)o ^ 0x5eed));
			} else {
				assert(o->state == 0);
				assert(nr_used < ARRAY_SIZE(used));
				used[nr_used++] = o;
				o->state = (uintptr_t)o ^ 0x5eed;
			}
		}
		assert(uatomic_read(&kc_ctor_calls) >= nr_used);
		if (round & 1) {
			kmem_cache_free_bulk(c3, 16, list);
		} else {
			for (i = 0; i < 16; i++)
				kmem_cache_free(c3, list[i]);
		}
	}

	/* Frees from a thread that never allocated. */
	for (i = 0; i < 8; i++)
		assert((list[i] = kmem_cache_alloc(c3, GFP_KERNEL)));
	list[8] = c3;
	assert(!pthread_create(&t, NULL, kc_free_thread, list));
	assert(!pthread_join(t, NULL));
	assert(kmem_cache_nr_allocated(c3) == 0);

	/* Frees from liburcu's call_rcu thread, counted by rcu_barrier(). */
	c4 = kmem_cache_create("test_cache4", sizeof(struct kc_rcu_obj), 0,
			       SLAB_PANIC, NULL);
	for (i = 0; i < 1000; i++) {
		struct kc_rcu_obj *o = kmem_cache_alloc(c4, GFP_KERNEL);

		assert(o);
		o->cache = c4;
		call_rcu(&o->rcu, kc_rcu_free);
	}
	rcu_barrier();
	assert(kmem_cache_nr_allocated(c4) == 0);

	/* kmalloc: never without __GFP_DIRECT_RECLAIM; zeroing; counting. */
	assert(!kmalloc(64, GFP_NOWAIT));
	assert(!kmalloc(64, GFP_ATOMIC));
	kmalloc_base = uatomic_read(&kmalloc_nr_allocated);
	for (i = 0; i < 14; i++) {
		unsigned char *p = kzalloc(1UL << i, GFP_KERNEL);

		assert(p);
		for (size_t b = 0; b < 1UL << i; b++)
			assert(!p[b]);
		list[i] = p;
	}
	assert(uatomic_read(&kmalloc_nr_allocated) == kmalloc_base + 14);
	for (i = 0; i < 14; i++)
		kfree(list[i]);
	kfree(NULL);
	assert(uatomic_read(&kmalloc_nr_allocated) == kmalloc_base);

	kc_destroy(c4);
	kc_destroy(c3);
	kc_destroy(c2);
	kc_destroy(c);
}
