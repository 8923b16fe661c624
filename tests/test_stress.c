// SPDX-License-Identifier: MIT
/*
 * tests/test_stress.c - many threads, every kind of allocation, seeded.
 *
 * Each thread runs a seeded random mix of kmalloc (all tiers), malloc
 * with realloc growing its blocks (large ones in place when the pages
 * after them are free), object caches (with and without constructors)
 * and page blocks, fills what it
 * gets with a tag and checks the tag when it frees, and hands a share of
 * its objects to the next thread to free.  At the end every validator must
 * pass and every cache must be empty.  Every 64 operations each thread
 * moves itself to another allowed CPU (sched_setaffinity, thousands of
 * hops per run, issue 15), so that the magazines and the depot's affinity
 * see threads migrate mid-operation.  Meanwhile a reader thread takes
 * the statistics the way kmeminfo and malloc_stats() do (slabinfo and
 * buddyinfo snapshots, their printed forms), so that ThreadSanitizer sees
 * those racy reads against live fast paths.  KMEM_STRESS_SEED and
 * KMEM_STRESS_OPS change the seed and the length (longer soaks belong in
 * bench/, not in the test command).
 *
 * test_destroy_vs_exit races kmem_cache_destroy() with threads that are
 * exiting (KMEM_STRESS_ROUNDS rounds).
 *
 * test_validator_vs_owners runs zone operations (each one checked by the
 * validator at KMEM_DEBUG_LEVEL=2) while other threads retype the pages
 * of blocks they own without the zone lock: slabs built and given back,
 * alloc_pages_exact() splitting its block.  The check must see no problem
 * that is not there.
 */
#include "kmem_test.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <kmem/malloc.h>
#include "kmalloc/kmalloc.h"

#define NTHREADS 6
#define SLOTS 512

enum kind { K_KMALLOC, K_MALLOC, K_CACHE, K_CTOR, K_PAGES };

struct obj {
	void *p;
	size_t size;
	unsigned char tag;
	unsigned char kind;
	unsigned char order;
};

struct hand {
	pthread_mutex_t lock;
	struct obj items[4096];
	int n;
};

static struct kmem_cache *cache_plain, *cache_ctor;
static struct hand hands[NTHREADS];
static long ops_per_thread = 200000;
static uint64_t base_seed = 2024;
static int errors;
static bool stop_reading;
static int cpus[CPU_SETSIZE], nr_cpus;	/* the CPUs the test may run on */
static long hops;			/* successful moves to another CPU */

static void ctor(void *p)
{
	memset(p, 0x3c, 200);
}

static void obj_free(struct obj *o)
{
	const unsigned char *c = o->p;

	if (c[0] != o->tag || c[o->size - 1] != o->tag)
		__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
	switch (o->kind) {
	case K_KMALLOC:
		kfree(o->p);
		break;
	case K_MALLOC:
		kmem_free(o->p);
		break;
	case K_CACHE:
		kmem_cache_free(cache_plain, o->p);
		break;
	case K_CTOR:
		memset(o->p, 0x3c, 200);	/* back to constructed state */
		kmem_cache_free(cache_ctor, o->p);
		break;
	default:
		free_pages((unsigned long)o->p, o->order);
	}
}

static void obj_alloc(struct obj *o, uint64_t r)
{
	unsigned int k = (unsigned int)(r % 100);

	if (k < 10) {
		/* Grown later by obj_grow(); a fifth of them large. */
		o->kind = K_MALLOC;
		o->size = r % 5 ? (r >> 8) % 2048 + 1 : (r >> 8) % 60000 + 16385;
		o->p = kmem_malloc(o->size);
	} else if (k < 60) {
		o->kind = K_KMALLOC;
		o->size = r % 1000 < 950 ? (r >> 8) % 1024 + 1 :
		   r % 1000 < 995 ? (r >> 8) % 100000 + 1 : (r >> 8) % (6 << 20) + 1;
		o->p = kmalloc(o->size, GFP_KERNEL);
	} else if (k < 80) {
		o->kind = K_CACHE;
		o->size = 96;
		o->p = kmem_cache_alloc(cache_plain, GFP_KERNEL);
	} else if (k < 95) {
		o->kind = K_CTOR;
		o->size = 200;
		o->p = kmem_cache_alloc(cache_ctor, GFP_KERNEL);
		if (o->p && (((unsigned char *)o->p)[0] != 0x3c ||
			     ((unsigned char *)o->p)[199] != 0x3c))
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
	} else {
		o->kind = K_PAGES;
		o->order = (unsigned char)((r >> 8) % 5);
		o->size = PAGE_SIZE << o->order;
		o->p = (void *)__get_free_pages(GFP_KERNEL, o->order);
	}
	ck_assert_ptr_nonnull(o->p);
	o->tag = (unsigned char)((r >> 32) | 1);
	((unsigned char *)o->p)[0] = o->tag;
	((unsigned char *)o->p)[o->size - 1] = o->tag;
}

/*
 * realloc a malloc block to about twice its size (at most 4 MiB): its
 * head tag must come along, its new last byte gets the tag.
 */
static void obj_grow(struct obj *o, uint64_t r)
{
	size_t size = min(o->size * 2 + (size_t)(r % 4096), (size_t)4 << 20);
	unsigned char *p = kmem_realloc(o->p, size);

	ck_assert_ptr_nonnull(p);
	if (p[0] != o->tag || p[o->size - 1] != o->tag)
		__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
	p[size - 1] = o->tag;
	o->p = p;
	o->size = size;
}

/* Move the calling thread to a CPU picked by @r (any allowed one). */
static void hop_cpu(uint64_t r)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpus[r % (uint64_t)nr_cpus], &set);
	if (!pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		__atomic_add_fetch(&hops, 1, __ATOMIC_RELAXED);
}

static void *stress_thread(void *arg)
{
	int id = (int)(long)arg;
	uint64_t seed = base_seed * 1000003 + (uint64_t)id + 1;
	static __thread struct obj slots[SLOTS];

	memset(slots, 0, sizeof(slots));
	for (long op = 0; op < ops_per_thread; op++) {
		struct obj *o;
		struct hand *h;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		o = &slots[seed % SLOTS];
		if (o->p && o->kind == K_MALLOC && (seed >> 40) % 2) {
			obj_grow(o, seed >> 16);
		} else if (o->p) {
			if ((seed >> 40) % 4 == 0) {
				/* Hand it to the next thread to free. */
				h = &hands[(id + 1) % NTHREADS];
				pthread_mutex_lock(&h->lock);
				if (h->n < 4096) {
					h->items[h->n++] = *o;
					o->p = NULL;
				}
				pthread_mutex_unlock(&h->lock);
			}
			if (o->p) {
				obj_free(o);
				o->p = NULL;
			}
		} else {
			obj_alloc(o, seed >> 3);
		}
		if (op % 64 == 0)
			hop_cpu(seed >> 20);
		if (op % 512 == 0) {
			h = &hands[id];
			pthread_mutex_lock(&h->lock);
			while (h->n)
				obj_free(&h->items[--h->n]);
			pthread_mutex_unlock(&h->lock);
		}
	}
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].p)
			obj_free(&slots[i]);
	return NULL;
}

/*
 * Live reads: what a statistics reader does while the workers run.  The
 * figures move under it, so only what holds at any moment is checked:
 * both caches are listed.  (No ck_assert off the test's own thread.)
 */
static void *stats_reader(void *arg)
{
	static struct kmem_slabinfo si[256];
	long *reads = arg;
	int fd = open("/dev/null", O_WRONLY);

	while (!__atomic_load_n(&stop_reading, __ATOMIC_RELAXED)) {
		struct kmem_buddyinfo bi;
		int n = kmem_slabinfo_snapshot(si, 256), seen = 0;

		for (int i = 0; i < n; i++)
			seen += !strcmp(si[i].name, "stress-plain") ||
				!strcmp(si[i].name, "stress-ctor");
		if (seen != 2)
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
		kmem_buddyinfo_get(&bi);
		if (kmem_slabinfo_print(fd) < 0 || kmem_buddyinfo_print(fd) < 0)
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
		(*reads)++;
	}
	close(fd);
	return NULL;
}

START_TEST(test_stress)
{
	pthread_t t[NTHREADS], reader;
	long reads = 0;
	const char *v;
	struct kmem_slabinfo si[256];
	int n;

	if ((v = getenv("KMEM_STRESS_SEED")))
		base_seed = strtoull(v, NULL, 0);
	if ((v = getenv("KMEM_STRESS_OPS")))
		ops_per_thread = strtol(v, NULL, 0);
	fprintf(stderr, "stress: seed %llu, %ld operations x %d threads\n",
		(unsigned long long)base_seed, ops_per_thread, NTHREADS);
	{
		cpu_set_t allowed;

		ck_assert_int_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &allowed))
				cpus[nr_cpus++] = c;
	}
	cache_plain = kmem_cache_create("stress-plain", 96, 0, SLAB_NO_MERGE, NULL);
	cache_ctor = kmem_cache_create("stress-ctor", 200, 0, 0, ctor);
	for (int i = 0; i < NTHREADS; i++)
		pthread_mutex_init(&hands[i].lock, NULL);
	pthread_create(&reader, NULL, stats_reader, &reads);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, stress_thread, (void *)(long)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&stop_reading, true, __ATOMIC_RELAXED);
	pthread_join(reader, NULL);
	ck_assert_int_gt(reads, 0);
	/* Every hop was allowed: none may have failed. */
	ck_assert_int_eq(hops, NTHREADS * ((ops_per_thread + 63) / 64));
	for (int i = 0; i < NTHREADS; i++)
		while (hands[i].n)
			obj_free(&hands[i].items[--hands[i].n]);
	ck_assert_int_eq(errors, 0);
	ck_assert_int_eq(slab_validate(cache_plain), 0);
	ck_assert_int_eq(slab_validate(cache_ctor), 0);
	kmem_cache_destroy(cache_plain);
	kmem_cache_destroy(cache_ctor);
	kmem_shrink_all();
	n = kmem_slabinfo_snapshot(si, 256);
	for (int i = 0; i < n; i++)
		ck_assert_msg(si[i].inuse_objs == 0, "%s: %lu objects in use",
			      si[i].name, si[i].inuse_objs);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * Issue 11 item 5: kmem_cache_destroy() against threads that are exiting.
 * Each round creates a cache; threads allocate from it and
 * free into their own magazines, say they are done with it and exit, so
 * that their exit (returning their magazines, freeing their extension
 * units) runs while the main thread destroys the cache, which flushes
 * every thread's magazines of it.  Before the fix both could read the
 * same slot and return one magazine twice (a double free found in the
 * slab bitmap, a depot corrupted), or the destroy read an extension unit
 * the exiting thread had just freed.  Round caches take ids above
 * KMEM_SLOTS_INLINE half of the time, so that their slots live in
 * extension units.  Every destroy must succeed (no cache left behind
 * "still has objects") and the validators must pass.  Runs in the
 * optimised, ASan and TSan builds.
 */
#define DX_THREADS 3

struct dx_round {
	struct kmem_cache *s;
	atomic_int done;
};

static void dx_ctor(void *p)
{
	memset(p, 0x5d, 64);	/* the smallest round cache's objects */
}

static void *dx_thread(void *arg)
{
	struct dx_round *r = arg;
	struct kmem_cache *s = r->s;
	void *o[48], *k[8];

	for (int i = 0; i < 48; i++) {
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
		if (!o[i])
			abort();
		memset(o[i], 0x3c, 8);
	}
	for (int i = 0; i < 8; i++)
		k[i] = kmalloc(40 + 200 * (size_t)i, GFP_KERNEL);
	for (int i = 0; i < 48; i++)
		kmem_cache_free(s, o[i]);	/* into this thread's magazines */
	for (int i = 0; i < 8; i++)
		kfree(k[i]);
	/* Done with the cache; the exit that follows races the destroy. */
	atomic_fetch_add_explicit(&r->done, 1, memory_order_release);
	return NULL;
}

START_TEST(test_destroy_vs_exit)
{
	struct kmem_slabinfo si[256];
	struct kmem_cache *pad[96];
	long rounds = 3000;
	pthread_attr_t attr;
	struct dx_round r;
	int npad = 0, n, high_ids = 0;
	const char *v;

	if ((v = getenv("KMEM_STRESS_ROUNDS")))
		rounds = strtol(v, NULL, 0);
	/* Fill the ids below KMEM_SLOTS_INLINE, and one above, freed again. */
	while (npad < (int)ARRAY_SIZE(pad)) {
		char name[32];

		snprintf(name, sizeof(name), "dx-pad-%d", npad);
		pad[npad] = kmem_cache_create(name, 32, 0, SLAB_NO_MERGE, NULL);
		ck_assert_ptr_nonnull(pad[npad]);
		if (pad[npad++]->id > KMEM_SLOTS_INLINE)
			break;
	}
	ck_assert_uint_gt(pad[npad - 1]->id, KMEM_SLOTS_INLINE);
	pthread_attr_init(&attr);
	for (long i = 0; i < rounds; i++) {
		pthread_t th[DX_THREADS];

		/* Odd rounds: an id above KMEM_SLOTS_INLINE (extension units). */
		if (i % 2 == 1) {
			kmem_cache_destroy(pad[--npad]);
			high_ids++;
		}
		r.s = kmem_cache_create("dx", 64 + 32 * (unsigned int)(i % 3),
					0, SLAB_NO_MERGE,
					i % 4 == 3 ? dx_ctor : NULL);
		ck_assert_ptr_nonnull(r.s);
		atomic_store(&r.done, 0);
		for (int t = 0; t < DX_THREADS; t++)
			ck_assert_int_eq(pthread_create(&th[t], &attr,
							dx_thread, &r), 0);
		while (atomic_load_explicit(&r.done, memory_order_acquire) <
		       DX_THREADS)
			sched_yield();
		kmem_cache_destroy(r.s);
		/*
		 * Joined only now, so that their exits (magazines and page
		 * lists drained by the thread destructors) race the destroy
		 * above, and have all ended before the next round and before
		 * buddy_validate(), which wants no thread freeing.
		 */
		for (int t = 0; t < DX_THREADS; t++)
			ck_assert_int_eq(pthread_join(th[t], NULL), 0);
		if (i % 2 == 1) {
			char name[32];

			snprintf(name, sizeof(name), "dx-pad-%d", npad);
			pad[npad] = kmem_cache_create(name, 32, 0,
						      SLAB_NO_MERGE, NULL);
			ck_assert_ptr_nonnull(pad[npad++]);
		}
	}
	pthread_attr_destroy(&attr);
	while (npad)
		kmem_cache_destroy(pad[--npad]);
	n = kmem_slabinfo_snapshot(si, 256);
	for (int i = 0; i < n; i++)
		ck_assert_msg(strcmp(si[i].name, "dx") &&
			      strncmp(si[i].name, "dx-pad-", 7),
			      "cache %s was not destroyed", si[i].name);
	ck_assert_int_gt(high_ids, 0);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

#define VO_ROUNDS 4000

static atomic_int vo_running;

/* Slabs of eight pages built and given back: every page retyped. */
static void *vo_slabs(void *arg)
{
	struct kmem_cache *s = arg;
	void *o[64];

	for (int r = 0; r < VO_ROUNDS / 4; r++) {
		for (int i = 0; i < 64; i++) {
			o[i] = kmem_cache_alloc(s, GFP_KERNEL);
			ck_assert_ptr_nonnull(o[i]);
		}
		for (int i = 0; i < 64; i++)
			kmem_cache_free(s, o[i]);
		kmem_cache_shrink(s);
	}
	atomic_fetch_sub(&vo_running, 1);
	return NULL;
}

/* alloc_pages_exact() rewrites its block's heads before freeing a tail. */
static void *vo_exact(void *arg)
{
	(void)arg;
	for (int r = 0; r < VO_ROUNDS; r++) {
		size_t size = (size_t)(5 + r % 3) * 4096;
		void *p = alloc_pages_exact(size, GFP_KERNEL);

		ck_assert_ptr_nonnull(p);
		free_pages_exact(p, size);
	}
	atomic_fetch_sub(&vo_running, 1);
	return NULL;
}

START_TEST(test_validator_vs_owners)
{
	struct kmem_cache *s = kmem_cache_create("vo-order3", 3000, 0,
						 SLAB_NO_MERGE, NULL);
	pthread_t th[2];

	ck_assert_ptr_nonnull(s);
	atomic_store(&vo_running, 2);
	ck_assert_int_eq(pthread_create(&th[0], NULL, vo_slabs, s), 0);
	ck_assert_int_eq(pthread_create(&th[1], NULL, vo_exact, NULL), 0);
	/* Zone operations (orders above the per-thread lists) meanwhile. */
	while (atomic_load(&vo_running)) {
		struct page *p = alloc_pages(GFP_KERNEL, PCP_ORDERS);

		ck_assert_ptr_nonnull(p);
		__free_pages(p, PCP_ORDERS);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	kmem_cache_destroy(s);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * Threads whose first kmem call is a kmalloc(), made at the same time as
 * the process's first one.  kmalloc()'s fast path runs before kmem_init():
 * it reads a kmalloc cache's slot offset (slot_fast()) while the thread
 * that won the start-up writes it; a thread not yet set up reads any
 * offset into the empty slab_thread, misses and starts kmem the slow way.
 * That read is on purpose and must say so (ThreadSanitizer reported it
 * as a race, this test in the tsan stage); the objects must be usable.
 */
#define FU_THREADS	4
static pthread_barrier_t fu_barrier;

static void *first_use(void *arg)
{
	static const size_t sizes[] = { 8, 64, 192, 1000, 4096 };
	void *p[ARRAY_SIZE(sizes)];

	(void)arg;
	pthread_barrier_wait(&fu_barrier);
	for (int round = 0; round < 100; round++) {
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			p[i] = kmalloc(sizes[i], GFP_KERNEL);
			if (!p[i])
				return (void *)1;
			memset(p[i], (int)i, sizes[i]);
		}
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
			kfree(p[i]);
	}
	return NULL;
}

START_TEST(test_first_use_from_threads)
{
	pthread_t th[FU_THREADS];
	void *ret;

	/* Check runs each test in a fresh fork of a runner that never
	 * called kmem; without that (CK_FORK=no) there is nothing to test. */
	ck_assert_msg(__atomic_load_n(&kmem_init_state, __ATOMIC_ACQUIRE) == 0,
		      "kmem already started: run with CK_FORK unset (fork mode)");
	pthread_barrier_init(&fu_barrier, NULL, FU_THREADS);
	for (int i = 0; i < FU_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, first_use, NULL), 0);
	for (int i = 0; i < FU_THREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	pthread_barrier_destroy(&fu_barrier);
	ck_assert_int_eq(buddy_validate(), 0);
	ck_assert_int_eq(slab_validate(kmalloc_cache(64)), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("stress");

	tcase_set_tags(tc, "threads");	/* the TSan build runs it */
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_first_use_from_threads);
	tcase_add_test(tc, test_stress);
	tcase_add_test(tc, test_destroy_vs_exit);
	tcase_add_test(tc, test_validator_vs_owners);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
