// SPDX-License-Identifier: MIT
/*
 * tests/kernel/kmem_linux.c - the kernel test suites' slab harness, on
 * kmem's real caches.
 *
 * The kernel tests its radix tree, IDR/IDA, XArray and maple tree in
 * userspace (tools/testing/radix-tree, tools/testing/vma) with a small
 * stand-in for the slab allocator: linux.o (tools/testing/radix-tree/linux.c
 * in 6.1, tools/testing/shared/linux.c in 6.12: kmem_cache_*, the test
 * hooks) and slab.o (tools/lib/slab.c: kmalloc, kfree).  Here neither is
 * linked.  Every suite object, the kernel's lib/ code included, is compiled
 * against kmem's own kernel-compatibility headers (include/kmem/compat:
 * <linux/slab.h> and <linux/gfp.h> are kmem's), so the suites call kmem's
 * kmem_cache_alloc(), kmalloc(), ... on kmem's struct kmem_cache, with
 * kmem's flag values.
 *
 * What the stand-in adds to a slab allocator, and the suites rely on, is
 * kept by this file at link time: the programs are linked with
 * -Wl,--wrap=<name> for each allocation entry point (kmem.mk's
 * KMEM_WRAP), so a suite's call to kmem_cache_alloc() arrives at
 * __wrap_kmem_cache_alloc() below, which applies the harness's rules and
 * calls kmem's function as __real_kmem_cache_alloc().  kmem's own internal
 * calls are bound inside kmem-sealed.o and are never diverted.
 *
 * The rules, as the stand-in has them:
 *
 *  - An allocation that may not block (no __GFP_DIRECT_RECLAIM) fails,
 *    unless the cache's non_kernel budget (kmem_cache_set_non_kernel())
 *    covers it; the budget is then spent, one per object, and a bulk
 *    request takes all it needs or fails without spending.  kmalloc()
 *    has no budget: it always fails such a request.  When the budget
 *    grants an allocation it is passed to kmem as a blocking one, so that
 *    its success depends on the budget, as in the stand-in, and not on
 *    how much memory kmem happens to have mapped (kmem's own GFP_NOWAIT
 *    rule).
 *  - After a single-object request failed for want of budget, the next
 *    single-object request on that cache first calls the cache's callback
 *    (kmem_cache_set_callback()) with its private pointer
 *    (kmem_cache_set_private()): the 6.12 maple tests use it to change
 *    the tree while the maple code has dropped its lock to allocate.
 *  - Counters: the global nr_allocated and, per cache, nr_allocated and
 *    nr_tallocated (allocations since the last zeroing), updated with
 *    atomics before the call returns, so that they are exact for a test
 *    that reads them after rcu_barrier(), whichever thread freed.
 *  - kmalloc_verbose prints each allocation and free.
 *
 * and kmem's own rules, which the suites rely on as well: constructors run
 * only on fresh objects (when a slab is populated), bulk allocation is all
 * or nothing, the requested alignment is exact (checked here on every
 * object), __GFP_ZERO zeroes every object (the stand-in zeroes only new,
 * unconstructed ones), a cache name in use is refused, and a bad free
 * aborts.
 *
 * The harness's books live in a table beside kmem's caches, keyed by the
 * struct kmem_cache pointer kmem returned: the create wrappers enter a
 * cache, kmem_cache_destroy() removes it.  A cache kmem created for
 * itself (kmalloc-N) or one not made through these wrappers is not in it,
 * and a suite that passes one aborts with a message.
 *
 * Threads: any thread may allocate or free, including liburcu's call_rcu
 * thread, which frees radix-tree and maple nodes and never allocates; kmem
 * attaches a thread on its first call.  Lock order: kc_table_lock is taken
 * only by create and destroy, never while kmem is called.
 */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/gfp.h>
#include <linux/slab.h>
#include <urcu.h>
#include <urcu/uatomic.h>

#include "kmem_linux.h"

int nr_allocated;		/* objects out, all caches */
int preempt_count;		/* preempt_disable() depth */
int test_verbose;		/* -v */
int kmalloc_verbose;		/* print every allocation and free */
int kmalloc_nr_allocated;	/* kmalloc() blocks out */

/* ---- kmem's functions, as the linker's --wrap names them ----------------- */

struct kmem_cache *__real___kmem_cache_create(const char *name,
					      unsigned int size,
					      unsigned int align,
					      slab_flags_t flags,
					      void (*ctor)(void *));
struct kmem_cache *__real___kmem_cache_create_args(const char *name,
						   unsigned int size,
						   struct kmem_cache_args *args,
						   slab_flags_t flags);
struct kmem_cache *__real___kmem_cache_default_args(const char *name,
						    unsigned int size,
						    struct kmem_cache_args *args,
						    slab_flags_t flags);
struct kmem_cache *__real_kmem_cache_create_usercopy(const char *name,
						     unsigned int size,
						     unsigned int align,
						     slab_flags_t flags,
						     unsigned int useroffset,
						     unsigned int usersize,
						     void (*ctor)(void *));
void __real_kmem_cache_destroy(struct kmem_cache *s);
void *__real_kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp);
void *__real_kmem_cache_alloc_lru(struct kmem_cache *s, struct list_lru *lru,
				  gfp_t gfp);
void *__real_kmem_cache_alloc_node(struct kmem_cache *s, gfp_t gfp, int node);
void __real_kmem_cache_free(struct kmem_cache *s, void *obj);
int __real_kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t nr,
				 void **p);
void __real_kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **p);
void *__real_kmalloc(size_t size, gfp_t gfp);
void *__real_kmalloc_node(size_t size, gfp_t gfp, int node);
void __real_kfree(const void *p);

/* ---- the harness's books, beside kmem's caches ----------------------------- */

/*
 * struct kc_cache - the stand-in's per-cache state for one of kmem's caches
 * @s:             kmem's cache (the key; NULL: slot free), published last
 * @name:          as created, for messages
 * @size:          object size asked for
 * @align:         alignment asked for, 0: none in particular
 * @non_kernel:    allocations that may not block still allowed
 * @nr_allocated:  objects out
 * @nr_tallocated: allocations since kmem_cache_zero_nr_tallocated()
 * @exec_callback: a single-object request failed for want of budget
 * @callback:      called before the next single-object request after that
 * @private:       its argument
 */
struct kc_cache {
	struct kmem_cache *s;
	const char *name;
	unsigned int size;
	unsigned int align;
	unsigned int non_kernel;
	unsigned long nr_allocated;
	unsigned long nr_tallocated;
	int exec_callback;
	void (*callback)(void *);
	void *private;
};

#define KC_MAX_CACHES 64

static struct kc_cache kc_table[KC_MAX_CACHES];
static unsigned int kc_used;	/* slots ever used: lookups scan these */
static pthread_mutex_t kc_table_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* The books of @s, or NULL if the harness did not see it created. */
static struct kc_cache *kc_find(const struct kmem_cache *s)
{
	unsigned int used = uatomic_read(&kc_used);

	cmm_smp_rmb();
	for (unsigned int i = 0; i < used; i++)
		if (uatomic_read(&kc_table[i].s) == s)
			return &kc_table[i];
	return NULL;
}

static struct kc_cache *kc_get(const struct kmem_cache *s, const char *op)
{
	struct kc_cache *c;

	if (!s)
		kc_fatal("%s: NULL cache (the stand-in has no such form)", op);
	c = kc_find(s);
	if (!c)
		kc_fatal("%s: cache %p was not created through the harness", op,
			 (void *)s);
	return c;
}

/* Enter a cache kmem just created; returns it (NULL stays NULL). */
static struct kmem_cache *kc_register(struct kmem_cache *s, const char *name,
				      unsigned int size, unsigned int align)
{
	struct kc_cache *c = NULL;

	if (!s)
		return NULL;
	if (kmem_cache_size(s) < size)
		kc_fatal("kmem cache %s: object size %u < %u asked for", name,
			 kmem_cache_size(s), size);
	pthread_mutex_lock(&kc_table_lock);
	for (unsigned int i = 0; i < kc_used; i++) {
		if (!kc_table[i].s) {
			c = &kc_table[i];
			break;
		}
	}
	if (!c) {
		if (kc_used == KC_MAX_CACHES)
			kc_fatal("more than %d caches", KC_MAX_CACHES);
		c = &kc_table[kc_used];
	}
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->size = size;
	c->align = align;
	/* Publish the key after the rest, then the slot count. */
	cmm_smp_wmb();
	uatomic_set(&c->s, s);
	if (c == &kc_table[kc_used]) {
		cmm_smp_wmb();
		uatomic_set(&kc_used, kc_used + 1);
	}
	pthread_mutex_unlock(&kc_table_lock);
	return s;
}

/* ---- cache creation and destruction --------------------------------------- */

struct kmem_cache *__wrap___kmem_cache_create(const char *name,
					      unsigned int size,
					      unsigned int align,
					      slab_flags_t flags,
					      void (*ctor)(void *))
{
	return kc_register(__real___kmem_cache_create(name, size, align, flags,
						      ctor),
			   name, size, align);
}

struct kmem_cache *__wrap___kmem_cache_create_args(const char *name,
						   unsigned int size,
						   struct kmem_cache_args *args,
						   slab_flags_t flags)
{
	return kc_register(__real___kmem_cache_create_args(name, size, args,
							   flags),
			   name, size, args ? args->align : 0);
}

struct kmem_cache *__wrap___kmem_cache_default_args(const char *name,
						    unsigned int size,
						    struct kmem_cache_args *args,
						    slab_flags_t flags)
{
	return kc_register(__real___kmem_cache_default_args(name, size, args,
							    flags),
			   name, size, 0);
}

struct kmem_cache *__wrap_kmem_cache_create_usercopy(const char *name,
						     unsigned int size,
						     unsigned int align,
						     slab_flags_t flags,
						     unsigned int useroffset,
						     unsigned int usersize,
						     void (*ctor)(void *))
{
	return kc_register(__real_kmem_cache_create_usercopy(name, size, align,
							     flags, useroffset,
							     usersize, ctor),
			   name, size, align);
}

void __wrap_kmem_cache_destroy(struct kmem_cache *s)
{
	struct kc_cache *c;

	if (!s)
		return;
	c = kc_get(s, "kmem_cache_destroy");
	__real_kmem_cache_destroy(s);
	pthread_mutex_lock(&kc_table_lock);
	uatomic_set(&c->s, NULL);
	pthread_mutex_unlock(&kc_table_lock);
}

/* ---- the non-kernel budget --------------------------------------------------- */

/*
 * May @c serve @nr objects to a request that may not block?  Spends @nr
 * from the budget if it holds that many, and nothing otherwise (the
 * stand-in's rule, made atomic).
 */
static bool non_kernel_take(struct kc_cache *c, size_t nr)
{
	unsigned int old = uatomic_read(&c->non_kernel), seen;

	for (;;) {
		if (old < nr)
			return false;
		seen = uatomic_cmpxchg(&c->non_kernel, old,
				       old - (unsigned int)nr);
		if (seen == old)
			return true;
		old = seen;
	}
}

/*
 * The harness's gate in front of a single-object request: run a pending
 * callback, then apply the budget.  Returns false if the request must fail.
 */
static bool single_gate(struct kc_cache *c, gfp_t gfp)
{
	if (uatomic_xchg(&c->exec_callback, 0)) {
		void (*cb)(void *) = uatomic_read(&c->callback);

		if (cb)
			cb(uatomic_read(&c->private));
	}
	if (gfp & __GFP_DIRECT_RECLAIM)
		return true;
	if (non_kernel_take(c, 1))
		return true;
	uatomic_set(&c->exec_callback, 1);
	return false;
}

/* ---- allocation and free ----------------------------------------------------- */

/* Count one object out of @c, and check what kmem gave. */
static void account_alloc(struct kc_cache *c, void *p)
{
	if (c->align && ((uintptr_t)p & (c->align - 1)))
		kc_fatal("kmem cache %s: object %p is not aligned to %u",
			 c->name, p, c->align);
	uatomic_inc(&c->nr_allocated);
	uatomic_inc(&nr_allocated);
	uatomic_inc(&c->nr_tallocated);
	if (kmalloc_verbose)
		printf("Allocating %p from slab\n", p);
}

static void account_free(struct kc_cache *c, void *p)
{
	if (!p)
		kc_fatal("kmem cache %s: freeing NULL", c->name);
	uatomic_dec(&nr_allocated);
	uatomic_dec(&c->nr_allocated);
	if (kmalloc_verbose)
		printf("Freeing %p to slab\n", p);
}

/* A budgeted request is served as a blocking one (see the top). */
static inline gfp_t cache_gfp(gfp_t gfp)
{
	return gfp | __GFP_DIRECT_RECLAIM;
}

void *__wrap_kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp)
{
	struct kc_cache *c = kc_get(s, "kmem_cache_alloc");
	void *p;

	if (!single_gate(c, gfp))
		return NULL;
	p = __real_kmem_cache_alloc(s, cache_gfp(gfp));
	if (p)
		account_alloc(c, p);
	return p;
}

void *__wrap_kmem_cache_alloc_lru(struct kmem_cache *s, struct list_lru *lru,
				  gfp_t gfp)
{
	struct kc_cache *c = kc_get(s, "kmem_cache_alloc_lru");
	void *p;

	if (!single_gate(c, gfp))
		return NULL;
	p = __real_kmem_cache_alloc_lru(s, lru, cache_gfp(gfp));
	if (p)
		account_alloc(c, p);
	return p;
}

void *__wrap_kmem_cache_alloc_node(struct kmem_cache *s, gfp_t gfp, int node)
{
	struct kc_cache *c = kc_get(s, "kmem_cache_alloc_node");
	void *p;

	if (!single_gate(c, gfp))
		return NULL;
	p = __real_kmem_cache_alloc_node(s, cache_gfp(gfp), node);
	if (p)
		account_alloc(c, p);
	return p;
}

void __wrap_kmem_cache_free(struct kmem_cache *s, void *obj)
{
	account_free(kc_get(s, "kmem_cache_free"), obj);
	__real_kmem_cache_free(s, obj);
}

/*
 * All or nothing: @nr objects, or 0.  A request that may not block needs
 * @nr in the budget and spends nothing when it fails; it does not arm the
 * callback (neither does the stand-in's).
 */
int __wrap_kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t nr,
				 void **p)
{
	struct kc_cache *c = kc_get(s, "kmem_cache_alloc_bulk");

	if (kmalloc_verbose)
		printf("Bulk alloc %zu\n", nr);
	if (!nr)
		return 0;
	if (!(gfp & __GFP_DIRECT_RECLAIM) && !non_kernel_take(c, nr))
		return 0;
	if (__real_kmem_cache_alloc_bulk(s, cache_gfp(gfp), nr, p) != (int)nr)
		return 0;
	for (size_t i = 0; i < nr; i++)
		account_alloc(c, p[i]);
	return (int)nr;
}

void __wrap_kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **p)
{
	struct kc_cache *c = kc_get(s, "kmem_cache_free_bulk");

	if (!nr)
		return;
	if (kmalloc_verbose)
		printf("Bulk free %p[0-%zu]\n", (void *)p, nr - 1);
	for (size_t i = 0; i < nr; i++)
		account_free(c, p[i]);
	__real_kmem_cache_free_bulk(s, nr, p);
}

/* ---- kmalloc ------------------------------------------------------------------ */

static void *kmalloc_done(void *p)
{
	if (!p)
		return NULL;
	uatomic_inc(&kmalloc_nr_allocated);
	if (kmalloc_verbose)
		printf("Allocating %p from kmalloc\n", p);
	return p;
}

/* kmalloc() under the stand-in's rule: never without __GFP_DIRECT_RECLAIM. */
void *__wrap_kmalloc(size_t size, gfp_t gfp)
{
	if (!(gfp & __GFP_DIRECT_RECLAIM))
		return NULL;
	return kmalloc_done(__real_kmalloc(size, gfp));
}

void *__wrap_kmalloc_node(size_t size, gfp_t gfp, int node)
{
	if (!(gfp & __GFP_DIRECT_RECLAIM))
		return NULL;
	return kmalloc_done(__real_kmalloc_node(size, gfp, node));
}

void __wrap_kfree(const void *p)
{
	if (ZERO_OR_NULL_PTR(p)) {
		__real_kfree(p);
		return;
	}
	uatomic_dec(&kmalloc_nr_allocated);
	if (kmalloc_verbose)
		printf("Freeing %p to kmalloc\n", p);
	__real_kfree(p);
}

/* ---- the test hooks ------------------------------------------------------------ */

void kmem_cache_set_non_kernel(struct kmem_cache *s, unsigned int val)
{
	uatomic_set(&kc_get(s, "kmem_cache_set_non_kernel")->non_kernel, val);
}

void kmem_cache_set_callback(struct kmem_cache *s, void (*callback)(void *))
{
	uatomic_set(&kc_get(s, "kmem_cache_set_callback")->callback, callback);
}

void kmem_cache_set_private(struct kmem_cache *s, void *private)
{
	uatomic_set(&kc_get(s, "kmem_cache_set_private")->private, private);
}

unsigned long kmem_cache_get_alloc(struct kmem_cache *s)
{
	struct kc_cache *c = kc_get(s, "kmem_cache_get_alloc");

	return c->size * uatomic_read(&c->nr_allocated);
}

unsigned long kmem_cache_nr_allocated(struct kmem_cache *s)
{
	return uatomic_read(&kc_get(s, "kmem_cache_nr_allocated")->nr_allocated);
}

unsigned long kmem_cache_nr_tallocated(struct kmem_cache *s)
{
	return uatomic_read(&kc_get(s, "kmem_cache_nr_tallocated")->nr_tallocated);
}

void kmem_cache_zero_nr_tallocated(struct kmem_cache *s)
{
	uatomic_set(&kc_get(s, "kmem_cache_zero_nr_tallocated")->nr_tallocated, 0);
}

/* ---- test of the above ------------------------------------------------------ */

#ifdef NDEBUG
#error "test_kmem_cache_bulk() is made of assert()s"
#endif

#define KC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

struct kc_cb_state {
	struct kmem_cache *cache;
	int calls;
	void *got;	/* what the callback allocated */
};

/* A callback that allocates from its own cache, as the maple tests do. */
static void kc_callback(void *private)
{
	struct kc_cb_state *st = private;

	st->calls++;
	st->got = kmem_cache_alloc(st->cache, GFP_KERNEL);
}

/**
 * test_kmem_cache_bulk - test the harness on kmem's caches
 *
 * The stand-in's version checks its private free list; this one checks
 * what the suites rely on: counters, the non-kernel budget, bulk all or
 * nothing, the callback armed by a failed request, exact alignment,
 * constructors on fresh objects only, both kmem_cache_create() forms,
 * frees from a thread that never allocated and from the call_rcu thread,
 * and kmalloc's rule.  Aborts on the first failure.  The caller is an RCU
 * reader thread (rcu_register_thread()); it checks only its own caches'
 * counters, so other objects may come and go meanwhile (the maple-tree
 * suite calls it between its tests, with RCU frees still pending).
 */
void test_kmem_cache_bulk(void)
{
	struct kmem_cache *c, *c2, *c3, *c4, *c5;
	struct kmem_cache_args args = { .align = 64 };
	struct kc_cb_state st = { 0 };
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
		assert((list[i] = kmem_cache_zalloc(c, GFP_KERNEL)));
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

	/*
	 * The callback: armed by a single request that failed for want of
	 * budget, run once, with its private pointer, at the start of the
	 * next single request (which may itself allocate from the cache).
	 */
	st.cache = c;
	/* The last failure above armed it: the next request disarms it. */
	assert((list[0] = kmem_cache_alloc(c, GFP_KERNEL)));
	kmem_cache_set_private(c, &st);
	kmem_cache_set_callback(c, kc_callback);
	assert((list[1] = kmem_cache_alloc(c, GFP_KERNEL)));
	assert(st.calls == 0);
	kmem_cache_free(c, list[1]);
	assert(!kmem_cache_alloc_bulk(c, GFP_NOWAIT, 1, list + 1));
	assert((list[1] = kmem_cache_alloc(c, GFP_KERNEL)));
	assert(st.calls == 0);		/* a bulk failure does not arm it */
	assert(!kmem_cache_alloc(c, GFP_NOWAIT));
	assert(st.calls == 0);
	assert((list[2] = kmem_cache_alloc(c, GFP_KERNEL)));
	assert(st.calls == 1 && st.got);
	assert((list[3] = kmem_cache_alloc(c, GFP_KERNEL)));
	assert(st.calls == 1);		/* once per failure */
	assert(kmem_cache_nr_allocated(c) == 5);
	kmem_cache_free(c, st.got);
	kmem_cache_set_callback(c, NULL);
	kmem_cache_set_private(c, NULL);
	assert(!kmem_cache_alloc(c, GFP_NOWAIT));
	assert((list[4] = kmem_cache_alloc(c, GFP_KERNEL)));	/* no callback */
	assert(st.calls == 1);
	kmem_cache_free_bulk(c, 5, list);
	assert(kmem_cache_nr_allocated(c) == 0);

	/* Exact alignment, bulk and single, in both create forms. */
	c2 = kmem_cache_create("test_cache2", 128, 128, SLAB_PANIC, NULL);
	c5 = kmem_cache_create("test_cache5", 40, &args, SLAB_PANIC);
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
	for (i = 0; i < 16; i++) {
		assert((list[i] = kmem_cache_alloc(c5, GFP_KERNEL)));
		assert(!((uintptr_t)list[i] & 63));
	}
	assert(kmem_cache_nr_allocated(c5) == 16);
	assert(kmem_cache_get_alloc(c5) == 16 * 40);
	kmem_cache_free_bulk(c5, 16, list);
	assert(!kmem_cache_nr_allocated(c5));

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
				assert(nr_used < (int)KC_ARRAY_SIZE(used));
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
	assert(!kzalloc_node(64, GFP_NOWAIT, 0));
	kmalloc_base = uatomic_read(&kmalloc_nr_allocated);
	for (i = 0; i < 14; i++) {
		unsigned char *p = kzalloc(1UL << i, GFP_KERNEL);

		assert(p);
		for (size_t b = 0; b < 1UL << i; b++)
			assert(!p[b]);
		list[i] = p;
	}
	assert((list[14] = kmalloc_node(100, GFP_KERNEL, 0)));
	assert(uatomic_read(&kmalloc_nr_allocated) == kmalloc_base + 15);
	for (i = 0; i < 15; i++)
		kfree(list[i]);
	kfree(NULL);
	assert(uatomic_read(&kmalloc_nr_allocated) == kmalloc_base);

	/* Destroyed caches leave the books; their names can be used again. */
	kmem_cache_destroy(c5);
	kmem_cache_destroy(c4);
	kmem_cache_destroy(c3);
	kmem_cache_destroy(c2);
	kmem_cache_destroy(c);
	assert(!kc_find(c) && !kc_find(c5));
}
