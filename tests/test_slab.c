// SPDX-License-Identifier: MIT
/*
 * tests/test_slab.c - object caches.
 *
 * One fresh process per test, so each test has its own caches and may set
 * KMEM_* variables (KMEM_DEBUG, KMEM_NOMERGE) before kmem starts.
 */
#include "kmem_test.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <urcu.h>

#include "core/os.h"
#include "kmalloc/kmalloc.h"
#include "reaper_wait.h"

struct conn {
	int fd;
	int state;
	char name[40];
	struct conn *next;
};

static int ctor_calls;

static void conn_ctor(void *p)
{
	struct conn *c = p;

	c->fd = -1;
	c->state = 42;
	ctor_calls++;
}

static struct kmem_slabinfo *find_info(const char *name,
				       struct kmem_slabinfo *si, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(si[i].name, name))
			return &si[i];
	return NULL;
}

static struct kmem_slabinfo info_of(const char *name)
{
	static struct kmem_slabinfo si[256];
	int n = kmem_slabinfo_snapshot(si, 256);
	struct kmem_slabinfo *p = find_info(name, si, n);

	ck_assert_msg(p, "no cache %s in slabinfo", name);
	return *p;
}

/* ---- creation ------------------------------------------------------- */

START_TEST(test_create_destroy)
{
	struct kmem_cache *s = kmem_cache_create("conn", sizeof(struct conn), 0,
						 SLAB_HWCACHE_ALIGN, NULL);
	struct conn *c;

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(kmem_cache_name(s), "conn");
	ck_assert_uint_eq(kmem_cache_size(s), sizeof(struct conn));
	c = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq((unsigned long)c % 64, 0);	/* HWCACHE_ALIGN */
	kmem_cache_free(s, c);
	kmem_cache_destroy(s);
	kmem_cache_destroy(NULL);
	/* The name is free again. */
	s = kmem_cache_create("conn", 100, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_create_forms)
{
	struct kmem_cache_args args = { .align = 128, .ctor = conn_ctor };
	struct kmem_cache *a = kmem_cache_create("args", sizeof(struct conn),
						 &args, 0);
	struct kmem_cache *b = kmem_cache_create("defaults", 24, NULL, 0);
	struct kmem_cache *c = KMEM_CACHE(conn, SLAB_NO_MERGE);
	struct conn *o = kmem_cache_alloc(a, GFP_KERNEL);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(kmem_cache_name(c), "conn");
	ck_assert_uint_eq((unsigned long)o % 128, 0);
	ck_assert_int_eq(o->state, 42);
	kmem_cache_free(a, o);
	kmem_cache_destroy(a);
	kmem_cache_destroy(b);
	kmem_cache_destroy(c);
}
END_TEST

START_TEST(test_bad_names)
{
	const char *out;

	stderr_capture_begin();
	ck_assert_ptr_null(kmem_cache_create("has space", 32, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("tab\tname", 32, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("", 32, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create(NULL, 32, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("zero", 0, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("badalign", 32, 24, 0, NULL));
	ck_assert_ptr_nonnull(kmem_cache_create("dup", 32, 0, 0, NULL));
	ck_assert_ptr_null(kmem_cache_create("dup", 64, 0, SLAB_NO_MERGE, NULL));
	ck_assert_ptr_null(kmem_cache_create("kmalloc-64", 64, 0, 0, NULL));
	out = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(out, "kmem_cache_create(has space) failed"));
	ck_assert_ptr_nonnull(strstr(out, "whitespace"));
	ck_assert_ptr_nonnull(strstr(out, "name is NULL"));
	ck_assert_ptr_nonnull(strstr(out, "object size is 0"));
	ck_assert_ptr_nonnull(strstr(out, "not a power of two"));
	ck_assert_ptr_nonnull(strstr(out, "kmem_cache_create(dup) failed with error -17"));
	ck_assert_ptr_nonnull(strstr(out, "kmem_cache_create(kmalloc-64)"));
	ck_assert_int_eq(errno, EEXIST);
	/* Quiet when asked. */
	stderr_capture_begin();
	ck_assert_ptr_null(kmem_cache_create("quiet one", 32, 0, SLAB_NOWARN, NULL));
	out = stderr_capture_end();
	ck_assert_str_eq(out, "");
}
END_TEST

static void panic_create(void *arg)
{
	(void)arg;
	kmem_cache_create("bad name", 32, 0, SLAB_PANIC, NULL);
}

START_TEST(test_slab_panic)
{
	expect_abort(panic_create, NULL, "failed to create slab 'bad name'");
}
END_TEST

/* ---- constructors and alignment ------------------------------------- */

START_TEST(test_ctor_once)
{
	struct kmem_cache *s = kmem_cache_create("ctor", sizeof(struct conn), 0,
						 0, conn_ctor);
	struct conn *o[300];
	struct kmem_slabinfo si;

	for (int i = 0; i < 300; i++) {
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_int_eq(o[i]->state, 42);
		o[i]->state = i;	/* state kept across free and reuse */
	}
	si = info_of("ctor");
	ck_assert_int_eq(ctor_calls, (int)si.num_objs);
	for (int i = 0; i < 300; i++)
		kmem_cache_free(s, o[i]);
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 300; i++) {
			o[i] = kmem_cache_alloc(s, GFP_KERNEL);
			ck_assert(o[i]->state >= 0 && o[i]->state < 300);
		}
		for (int i = 0; i < 300; i++)
			kmem_cache_free(s, o[i]);
	}
	/* No new slab was needed: no constructor ran again. */
	ck_assert_int_eq(ctor_calls, (int)info_of("ctor").num_objs);
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_alignment)
{
	unsigned int sizes[] = { 1, 7, 8, 24, 100, 333, 1000, 4000 };

	for (unsigned int align = 8; align <= 4096; align *= 2) {
		for (unsigned int k = 0; k < ARRAY_SIZE(sizes); k++) {
			char name[32];
			struct kmem_cache *s;
			void *o[40];

			snprintf(name, sizeof(name), "al%u-%u", align, sizes[k]);
			s = kmem_cache_create(name, sizes[k], align, 0, NULL);
			ck_assert_ptr_nonnull(s);
			for (int i = 0; i < 40; i++) {
				o[i] = kmem_cache_alloc(s, GFP_KERNEL);
				ck_assert_ptr_nonnull(o[i]);
				ck_assert_msg((unsigned long)o[i] % align == 0,
					      "%s: object %p not %u-aligned",
					      name, o[i], align);
				memset(o[i], 0x11, sizes[k]);
			}
			for (int i = 0; i < 40; i++)
				kmem_cache_free(s, o[i]);
			ck_assert_int_eq(slab_validate(s), 0);
			kmem_cache_destroy(s);
		}
	}
}
END_TEST

START_TEST(test_hwcache_align)
{
	struct kmem_cache *a = kmem_cache_create("hw20", 20, 0,
						 SLAB_HWCACHE_ALIGN | SLAB_NO_MERGE, NULL);
	struct kmem_cache *b = kmem_cache_create("hw40", 40, 0,
						 SLAB_HWCACHE_ALIGN | SLAB_NO_MERGE, NULL);
	struct kmem_cache *c = kmem_cache_create("hw100", 100, 0,
						 SLAB_HWCACHE_ALIGN | SLAB_NO_MERGE, NULL);

	/* The kernel's rule: the cache line, halved while the object fits. */
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_eq((unsigned long)kmem_cache_alloc(a, GFP_KERNEL) % 32, 0);
		ck_assert_uint_eq((unsigned long)kmem_cache_alloc(b, GFP_KERNEL) % 64, 0);
		ck_assert_uint_eq((unsigned long)kmem_cache_alloc(c, GFP_KERNEL) % 64, 0);
	}
	ck_assert_uint_eq(info_of("hw20").objsize, 32);
	ck_assert_uint_eq(info_of("hw40").objsize, 64);
	ck_assert_uint_eq(info_of("hw100").objsize, 128);
}
END_TEST

START_TEST(test_zalloc)
{
	struct kmem_cache *s = kmem_cache_create("z", 200, 0, SLAB_NO_MERGE, NULL);
	char *p;

	for (int i = 0; i < 50; i++) {
		p = kmem_cache_alloc(s, GFP_KERNEL);
		memset(p, 0xee, 200);
		kmem_cache_free(s, p);
		p = kmem_cache_zalloc(s, GFP_KERNEL);
		ck_assert(all_bytes(p, 200, 0));
		kmem_cache_free(s, p);
	}
}
END_TEST

/* ---- slab layout, validation, shrinking ----------------------------- */

START_TEST(test_random_validate)
{
	struct kmem_cache *s = kmem_cache_create("rnd", 72, 0, SLAB_NO_MERGE, NULL);
	static void *live[5000];
	int n = 0;

	test_srand(4242);
	for (int step = 0; step < 200000; step++) {
		if (n < 5000 && (n == 0 || test_rand() % 2)) {
			live[n] = kmem_cache_alloc(s, GFP_KERNEL);
			*(int *)live[n] = n;
			n++;
		} else {
			int i = (int)(test_rand() % (uint64_t)n);

			kmem_cache_free(s, live[i]);
			live[i] = live[--n];
		}
		if (step % 20000 == 0)
			ck_assert_int_eq(slab_validate(s), 0);
	}
	while (n)
		kmem_cache_free(s, live[--n]);
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_shrink(s);
	ck_assert_int_eq(slab_validate(s), 0);
	ck_assert_uint_eq(info_of("rnd").num_slabs, 0);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_poisoned_free_objects)
{
	struct kmem_cache *s = kmem_cache_create("poisoned", 100, 0,
						 SLAB_POISON, NULL);
	void *o[500];

	test_srand(7);
	for (int i = 0; i < 500; i++)
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 0; i < 500; i += 2)
		kmem_cache_free(s, o[i]);
	ck_assert_int_eq(slab_validate(s), 0);
	/* Free objects hold the kernel's poison. */
	for (int i = 0; i < 500; i += 2) {
		ck_assert(all_bytes(o[i], 99, POISON_FREE));
		ck_assert_uint_eq(((unsigned char *)o[i])[99], POISON_END);
	}
}
END_TEST

START_TEST(test_shrink_returns_pages)
{
	struct kmem_cache *s = kmem_cache_create("shrinkme", 512, 0,
						 SLAB_NO_MERGE, NULL);
	struct kmem_buddyinfo before, after;
	static void *o[20000];
	unsigned long free_before = 0, free_after = 0;

	for (int i = 0; i < 20000; i++)
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_uint_ge(info_of("shrinkme").num_slabs, 20000 / 15);
	kmem_buddyinfo_get(&before);
	for (int i = 0; i < 20000; i++)
		kmem_cache_free(s, o[i]);
	kmem_cache_shrink(s);
	ck_assert_uint_eq(info_of("shrinkme").num_slabs, 0);
	ck_assert_uint_eq(info_of("shrinkme").active_objs, 0);
	kmem_buddyinfo_get(&after);
	for (int ord = 0; ord < NR_PAGE_ORDERS; ord++) {
		free_before += before.nr_free[ord] << ord;
		free_after += after.nr_free[ord] << ord;
	}
	ck_assert_uint_ge(free_after - free_before, 20000 * 512 / PAGE_SIZE);
}
END_TEST

/* The resident pages of the slab holding @obj, @pages long, in @vec. */
static char *slab_residency(void *obj, unsigned long pages,
			    unsigned char *vec)
{
	char *base = (char *)((unsigned long)obj & ~(pages * PAGE_SIZE - 1));

	ck_assert_int_eq(mincore(base, pages * PAGE_SIZE, vec), 0);
	return base;
}

/*
 * A fresh slab of a cache that holds SLAB_POPULATE_SLABS (8) slabs or more
 * is mapped whole by one madvise(MADV_POPULATE_WRITE) (slab.c,
 * new_slab_populate()); a small cache's slab is not: the pages of objects
 * not handed out stay unmapped.  errno stays as it was.
 */
START_TEST(test_growing_cache_populates_slabs)
{
	struct kmem_cache *s = kmem_cache_create("populated", 1024, 0,
						 SLAB_NO_MERGE, NULL);
	bool supported = populate_supported();
	unsigned long calls, pages, per_slab, n = 0, i;
	unsigned char vec[64];
	static void *o[4096];
	char *base;

	kmem_shrink_all();	/* free blocks go back: the next ones are fresh */
	calls = kmem_os_populate_calls();
	errno = 4321;
	o[n++] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_nonnull(o[0]);
	ck_assert_int_eq(errno, 4321);
	ck_assert_uint_eq(info_of("populated").num_slabs, 1);
	ck_assert_uint_eq(kmem_os_populate_calls(), calls);
	pages = info_of("populated").pages_per_slab;
	per_slab = info_of("populated").objs_per_slab;
	ck_assert_uint_ge(pages, 4);
	ck_assert_uint_le(pages, 64);
	/* One object handed out: only its pages and the header's are in. */
	base = slab_residency(o[0], pages, vec);
	for (i = 1; i < pages; i++)
		if ((unsigned long)((char *)o[0] - base) / PAGE_SIZE != i &&
		    (unsigned long)((char *)o[0] + 1023 - base) / PAGE_SIZE != i)
			ck_assert_msg(!(vec[i] & 1), "small cache: page %lu of %lu resident",
				      i, pages);

	/* Grow the cache to 8 slabs, then take the first object of a 9th. */
	errno = 4321;
	while (info_of("populated").num_slabs < 8 && n < 4096)
		o[n++] = kmem_cache_alloc(s, GFP_KERNEL);
	while (info_of("populated").num_slabs < 9 && n < 4096)
		o[n++] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_uint_eq(info_of("populated").num_slabs, 9);
	ck_assert_uint_le(n, 9 * per_slab);
	if (supported)
		ck_assert_uint_ge(kmem_os_populate_calls(), calls + 1);
	ck_assert_int_eq(errno, 4321);
	base = slab_residency(o[n - 1], pages, vec);
	for (i = 0; i < pages; i++)
		ck_assert_msg(!supported || (vec[i] & 1),
			      "growing cache: page %lu of %lu not resident",
			      i, pages);
	while (n)
		kmem_cache_free(s, o[--n]);
	kmem_cache_destroy(s);
}
END_TEST

/* ---- merging -------------------------------------------------------- */

START_TEST(test_merging_rules)
{
	struct kmem_cache *a = kmem_cache_create("ma", 60, 0, 0, NULL);
	struct kmem_cache *b = kmem_cache_create("mb", 64, 0, 0, NULL);
	struct kmem_cache *c = kmem_cache_create("mc", 64, 0, 0, conn_ctor);
	struct kmem_cache *d = kmem_cache_create("md", 64, 0, SLAB_NO_MERGE, NULL);
	struct kmem_cache *e = kmem_cache_create("me", 64, 0, SLAB_TYPESAFE_BY_RCU, NULL);
	struct kmem_cache *f = kmem_cache_create("mf", 64, 0, SLAB_POISON, NULL);
	struct kmem_cache *g = kmem_cache_create("mg", 64, 0, SLAB_RECLAIM_ACCOUNT, NULL);
	struct kmem_slabinfo si[256];
	int n;
	void *o;

	/* Compatible caches share slabs (with kmalloc-64 here)... */
	ck_assert_ptr_eq(a->root, b->root);
	ck_assert_str_eq(a->root->name, "kmalloc-64");
	/* ...but keep their names, and each goes on its own. */
	ck_assert_str_eq(kmem_cache_name(a), "ma");
	o = kmem_cache_alloc(a, GFP_KERNEL);
	kmem_cache_free(b, o);
	/* Never with a ctor, no-merge, RCU, debug, or other accounting. */
	ck_assert_ptr_eq(c->root, c);
	ck_assert_ptr_eq(d->root, d);
	ck_assert_ptr_eq(e->root, e);
	ck_assert_ptr_eq(f->root, f);
	ck_assert_ptr_ne(g->root, a->root);
	/* slabinfo shows the roots only, as the kernel does. */
	n = kmem_slabinfo_snapshot(si, 256);
	ck_assert_ptr_null(find_info("ma", si, n));
	ck_assert_ptr_nonnull(find_info("md", si, n));
	kmem_cache_destroy(a);
	kmem_cache_destroy(b);
	ck_assert_ptr_nonnull(kmem_cache_create("ma", 60, 0, 0, NULL));
}
END_TEST

/*
 * A cache is merged only into one whose objects have the alignment asked
 * for.  Objects start after the slab header, at the cache's alignment, so
 * a size that is a multiple of the new alignment is not enough (the
 * kernel's rule, where objects start at the slab's first byte): "ua"
 * (1152 bytes, 8-aligned) must not take "ub" (1100 bytes, 128-aligned,
 * 1152 once aligned), whose objects would then sit off 128.
 */
START_TEST(test_merge_keeps_alignment)
{
	struct kmem_cache *a = kmem_cache_create("ua", 1152, 8, 0, NULL);
	struct kmem_cache *b = kmem_cache_create("ub", 1100, 128, 0, NULL);
	void *o[64];

	for (int i = 0; i < 64; i++) {
		o[i] = kmem_cache_alloc(b, GFP_KERNEL);
		ck_assert_msg((unsigned long)o[i] % 128 == 0,
			      "ub (merged into %s): object %p not 128-aligned",
			      b->root->name, o[i]);
	}
	for (int i = 0; i < 64; i++)
		kmem_cache_free(b, o[i]);
	kmem_cache_destroy(b);
	kmem_cache_destroy(a);
}
END_TEST

START_TEST(test_nomerge_switch)
{
	struct kmem_cache *a, *b;

	setenv("KMEM_NOMERGE", "1", 1);
	a = kmem_cache_create("na", 64, 0, 0, NULL);
	b = kmem_cache_create("nb", 64, 0, 0, NULL);
	ck_assert_ptr_eq(a->root, a);
	ck_assert_ptr_eq(b->root, b);
}
END_TEST

/* ---- bulk ------------------------------------------------------------- */

START_TEST(test_bulk)
{
	struct kmem_cache *s = kmem_cache_create("bulk", 48, 0, SLAB_NO_MERGE, NULL);
	static void *p[10000];

	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 10000, p), 10000);
	for (int i = 0; i < 10000; i++)
		memset(p[i], i & 0xff, 48);
	for (int i = 0; i < 10000; i++)
		ck_assert(all_bytes(p[i], 48, (unsigned char)(i & 0xff)));
	kmem_cache_free_bulk(s, 10000, p);
	ck_assert_int_eq(slab_validate(s), 0);
	ck_assert_uint_eq(info_of("bulk").inuse_objs, 0);
}
END_TEST

/*
 * Regression: a bulk allocation as a thread's first use of a cache merged
 * into a kmalloc cache, a bulk free, then the kmalloc cache's fast paths
 * (once a NULL free-side magazine was dereferenced here).  Each step on a
 * fresh thread, whose magazines start empty.
 */
static void *bulk_first_use(void *arg)
{
	struct kmem_cache *s = arg;
	void *list[16];
	void *p;

	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 10, list), 10);
	kmem_cache_free_bulk(s, 10, list);
	p = kmalloc(128, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kfree(p);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 16, list), 16);
	for (int i = 0; i < 16; i++)
		kfree(list[i]);		/* a merged cache's objects are kmalloc's */
	return NULL;
}

START_TEST(test_bulk_first_use_merged)
{
	struct kmem_cache *s = kmem_cache_create("bulk_merged", 128, 128, 0,
						 NULL);
	pthread_t t;

	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 3; i++) {
		pthread_create(&t, NULL, bulk_first_use, s);
		pthread_join(t, NULL);
	}
	bulk_first_use(s);
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * The depot keeps what a thread freed, without a fixed bound; before the
 * page allocator maps more memory it takes the depots' contents back, so
 * memory freed in one cache serves another instead of growing the heap.
 */
START_TEST(test_depot_reclaimed_before_growing)
{
	struct kmem_cache *a = kmem_cache_create("reclaim_a", 256, 0,
						 SLAB_NO_MERGE, NULL);
	struct kmem_cache *b = kmem_cache_create("reclaim_b", 512, 0,
						 SLAB_NO_MERGE, NULL);
	const size_t na = 200000, nb = 100000;	/* ~49 MiB each */
	void **p = malloc(na * sizeof(void *));
	struct kmem_buddyinfo before, after;

	/*
	 * This is about the reclaim before growing, not about the reaper,
	 * which returns full magazines that stayed KMEM_DECAY_MS in the
	 * depot: on a slow run (level 2, a loaded machine) the frees below
	 * outlast 1 s.  Keep the reaper's hands off meanwhile.
	 */
	unsigned long decay = kmem_config.decay_ms;
	unsigned long budget = kmem_config.depot_bytes;

	kmem_config.decay_ms = 3600 * 1000;
	/* Nor the depots' budget (test_depot_bounded_in_bytes). */
	kmem_config.depot_bytes = 1UL << 40;
	for (size_t i = 0; i < na; i++)
		p[i] = kmem_cache_alloc(a, GFP_KERNEL);
	for (size_t i = 0; i < na; i++)
		kmem_cache_free(a, p[i]);
	/* Freed into magazines and the depot, not yet to the slabs. */
	ck_assert_uint_ge(info_of("reclaim_a").depot_objs, na / 2);
	kmem_buddyinfo_get(&before);
	for (size_t i = 0; i < nb; i++)
		p[i] = kmem_cache_alloc(b, GFP_KERNEL);
	kmem_buddyinfo_get(&after);
	/* At most one new 32 MiB section, not the ~49 MiB of a new heap. */
	ck_assert_msg(after.mapped <= before.mapped + (32UL << 20),
		      "mapped %lu -> %lu", before.mapped, after.mapped);
	ck_assert_uint_lt(info_of("reclaim_a").depot_objs, na / 2);
	for (size_t i = 0; i < nb; i++)
		kmem_cache_free(b, p[i]);
	ck_assert_int_eq(slab_validate(a), 0);
	ck_assert_int_eq(slab_validate(b), 0);
	ck_assert_int_eq(buddy_validate(), 0);
	kmem_cache_destroy(a);
	kmem_cache_destroy(b);
	free(p);
	kmem_config.decay_ms = decay;
	kmem_config.depot_bytes = budget;
}
END_TEST

struct depot_burst {
	struct kmem_cache *s;
	size_t n;
	pthread_barrier_t freed, done;
};

/* Allocate and free a burst, then stay alive and idle until told. */
static void *depot_burst_thread(void *arg)
{
	struct depot_burst *b = arg;
	void **p = malloc(b->n * sizeof(void *));

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < b->n; i++) {
		p[i] = kmem_cache_alloc(b->s, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
	}
	for (size_t i = 0; i < b->n; i++)
		kmem_cache_free(b->s, p[i]);
	free(p);
	pthread_barrier_wait(&b->freed);
	pthread_barrier_wait(&b->done);	/* idle: its magazines stay */
	return NULL;
}

/*
 * What one cache's depot holds, and what its slabs still hold for it,
 * are within the depots' budget (KMEM_DEPOT_KB): a cache keeps at most
 * the larger of the budget and DEPOT_MIN_FULL full magazines.
 */
static void check_depot_bound(const char *name, size_t n)
{
	struct kmem_slabinfo si = info_of(name);
	unsigned long mag = (unsigned long)si.magazine_size * si.objsize;
	unsigned long bound = max(kmem_config.depot_bytes,
				  DEPOT_MIN_FULL * mag);
	unsigned long slab_bytes = (unsigned long)si.pages_per_slab *
				   PAGE_SIZE;
	unsigned long holders = slab_percpu ? kmem_nr_cpu_ids : 1;

	ck_assert_uint_gt(si.magazine_size, 0);
	ck_assert_uint_eq(si.inuse_objs, 0);
	ck_assert_msg(si.depot_objs * si.objsize <= bound,
		      "%s: the depot holds %lu bytes, over its bound of %lu",
		      name, si.depot_objs * si.objsize, bound);
	/*
	 * The rest went back to their slabs: what is still out of them is
	 * the depot and at most two magazines of the thread or, per-CPU,
	 * of each CPU it ran on ...
	 */
	ck_assert_msg(si.active_objs <= si.depot_objs +
					    2UL * si.magazine_size * holders,
		      "%s: %lu of %zu objects still out of their slabs", name,
		      si.active_objs, n);
	/*
	 * ... and the slabs that became empty went back to the page
	 * allocator (those objects are the last freed, so on few slabs;
	 * twice that, plus the SLAB_MIN_PARTIAL empty ones a cache keeps).
	 */
	ck_assert_msg(si.num_slabs * slab_bytes <=
			      2 * (bound + 2 * mag * holders) +
			      (SLAB_MIN_PARTIAL + 2) * slab_bytes,
		      "%s: %lu slabs of %lu bytes kept for %lu active objects",
		      name, si.num_slabs, slab_bytes, si.active_objs);
}

/*
 * A thread frees a burst far larger than the depots' budget, then goes
 * idle.  Bonwick's depot had no bound: everything stayed in full
 * magazines until the reaper's decay or a reclaim before the heap grows,
 * and the pages stayed with this cache.  With KMEM_DEPOT_KB the depot
 * stops growing at the budget and the rest of the objects go back to
 * their slabs, empty slabs to the page allocator, at once.
 */
START_TEST(test_depot_bounded_in_bytes)
{
	struct depot_burst b = {
		.s = kmem_cache_create("depot_burst", 256, 0, SLAB_NO_MERGE,
				       NULL),
		.n = 40000,	/* ~10 MiB */
	};
	unsigned long decay = kmem_config.decay_ms;
	unsigned long budget = kmem_config.depot_bytes;
	pthread_t t;

	ck_assert_ptr_nonnull(b.s);
	/* The reaper's decay must not be what bounds the depot here. */
	kmem_config.decay_ms = 3600 * 1000;
	kmem_config.depot_bytes = 512 << 10;
	pthread_barrier_init(&b.freed, NULL, 2);
	pthread_barrier_init(&b.done, NULL, 2);
	ck_assert_int_eq(pthread_create(&t, NULL, depot_burst_thread, &b), 0);
	pthread_barrier_wait(&b.freed);
	check_depot_bound("depot_burst", b.n);	/* the thread is idle */
	pthread_barrier_wait(&b.done);
	pthread_join(t, NULL);
	check_depot_bound("depot_burst", b.n);	/* and its exit kept it */
	ck_assert_uint_eq(info_of("depot_burst").thread_objs, 0);
	ck_assert_int_eq(slab_validate(b.s), 0);
	ck_assert_int_eq(buddy_validate(), 0);
	kmem_config.decay_ms = decay;
	kmem_config.depot_bytes = budget;
	kmem_cache_destroy(b.s);
	pthread_barrier_destroy(&b.freed);
	pthread_barrier_destroy(&b.done);
}
END_TEST

START_TEST(test_bulk_all_or_nothing)
{
	struct kmem_cache *s = kmem_cache_create("bulk2", 4096, 0,
						 SLAB_NO_MERGE, NULL);
	size_t n = 64 << 10;	/* 256 MiB of objects: more than is mapped */
	void **p = malloc(n * sizeof(void *));
	unsigned long active;

	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 100, p), 100);
	kmem_cache_free_bulk(s, 100, p);
	kmem_cache_shrink(s);
	active = info_of("bulk2").active_objs;
	kmem_os_fail_after(0);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL | __GFP_NOWARN, n, p), 0);
	kmem_os_fail_after(-1);
	kmem_cache_shrink(s);
	/* Nothing was kept: every object taken was given back. */
	ck_assert_uint_eq(info_of("bulk2").active_objs, active);
	ck_assert_uint_eq(info_of("bulk2").inuse_objs, 0);
	ck_assert_int_eq(slab_validate(s), 0);
	ck_assert_int_eq(buddy_validate(), 0);
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 1000, p), 1000);
	free(p);
}
END_TEST

/* ---- bad frees -------------------------------------------------------- */

static void double_free_nodebug(void *arg)
{
	struct kmem_cache *s = kmem_cache_create("df", 64, 0,
						 SLAB_NO_MERGE | (long)arg, NULL);
	void *o = kmem_cache_alloc(s, GFP_KERNEL);

	kmem_cache_free(s, o);
	kmem_cache_free(s, o);
}

/* A double free of a constructed object is caught when it reaches the slab. */
static void double_free_ctor(void *arg)
{
	struct kmem_cache *s = kmem_cache_create("dfc", sizeof(struct conn), 0,
						 0, conn_ctor);
	void *o = kmem_cache_alloc(s, GFP_KERNEL);

	(void)arg;
	kmem_cache_free(s, o);
	kmem_cache_free(s, o);
	kmem_cache_shrink(s);	/* the magazines go back to the slabs */
}

static void wrong_cache(void *arg)
{
	struct kmem_cache *a = kmem_cache_create("wa", 64, 0, SLAB_NO_MERGE, NULL);
	struct kmem_cache *b = kmem_cache_create("wb", 64, 0, SLAB_NO_MERGE, NULL);

	(void)arg;
	kmem_cache_free(b, kmem_cache_alloc(a, GFP_KERNEL));
}

static void middle_of_object(void *arg)
{
	struct kmem_cache *a = kmem_cache_create("mo", 64, 0, SLAB_NO_MERGE, NULL);

	(void)arg;
	kmem_cache_free(a, (char *)kmem_cache_alloc(a, GFP_KERNEL) + 8);
}

static void foreign_object(void *arg)
{
	struct kmem_cache *a = kmem_cache_create("fo", 64, 0, SLAB_NO_MERGE, NULL);
	char local[64];

	(void)arg;
	kmem_cache_free(a, local);
}

/* An object's address with bit 47 set: not an object, though the fast
 * path's table lookup (modulo 2^47) lands on the object's page. */
static void alias_object(void *arg)
{
	struct kmem_cache *a = kmem_cache_create("ao", 64, 0, SLAB_NO_MERGE, NULL);
	char *o = kmem_cache_alloc(a, GFP_KERNEL);

	(void)arg;
	kmem_cache_free(a, (void *)((unsigned long)o | 1UL << 47));
}

/* A magazine that fills up is not a double free (the fast path hands the
 * object to the slow path unmarked). */
START_TEST(test_free_full_magazine)
{
	struct kmem_cache *s = kmem_cache_create("fm", 64, 0, SLAB_NO_MERGE, NULL);
	void *o[1000];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 1000; i++)
			ck_assert_ptr_nonnull(o[i] = kmem_cache_alloc(s, GFP_KERNEL));
		for (int i = 0; i < 1000; i++)
			kmem_cache_free(s, o[i]);
	}
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_bad_frees)
{
	expect_abort(double_free_nodebug, (void *)0L,
		     "kmem_cache_free(): double free or corruption (cache df)");
	expect_abort(double_free_ctor, NULL, "double free or corruption (cache dfc)");
	expect_abort(wrong_cache, NULL, "kmem_cache_free(wb): invalid pointer");
	expect_abort(wrong_cache, NULL, "belongs to another cache");
	expect_abort(middle_of_object, NULL, "not the start of an object");
	expect_abort(foreign_object, NULL, "not allocated by kmem");
	expect_abort(alias_object, NULL, "not allocated by kmem");
}
END_TEST

/*
 * Issue 11 item 4: a double free is caught in every cache, at the call,
 * before the object can be handed out twice.  Each case frees an object
 * twice and allocates twice; the child must abort at the second free with
 * the usual report, never reach the allocations with one object queued
 * twice.
 */
enum df_kind { DF_KMALLOC8, DF_PLAIN8, DF_PLAIN64, DF_CTOR, DF_RCU,
	       DF_RCU_CTOR, DF_CTOR_KFREE, DF_BULK_CTOR, NR_DF };

static const char *const df_needle[NR_DF] = {
	[DF_KMALLOC8] = "kmem: kfree(): double free or corruption (cache kmalloc-8)",
	[DF_PLAIN8] = "kmem: kmem_cache_free(): double free or corruption (cache df8)",
	[DF_PLAIN64] = "kmem: kmem_cache_free(): double free or corruption (cache df64)",
	[DF_CTOR] = "kmem: kmem_cache_free(): double free or corruption (cache dfctor)",
	[DF_RCU] = "kmem: kmem_cache_free(): double free or corruption (cache dfrcu)",
	[DF_RCU_CTOR] = "kmem: kmem_cache_free(): double free or corruption (cache dfrcuc)",
	[DF_CTOR_KFREE] = "kmem: kfree(): double free or corruption (cache dfctork)",
	[DF_BULK_CTOR] = "double free or corruption (cache dfbulk)",
};

static void free_free_alloc_alloc(void *arg)
{
	enum df_kind kind = (enum df_kind)(long)arg;
	struct kmem_cache *s = NULL;
	void *o, *a, *b;

	switch (kind) {
	case DF_KMALLOC8:
		o = kmalloc(8, GFP_KERNEL);
		kfree(o);
		kfree(o);
		a = kmalloc(8, GFP_KERNEL);
		b = kmalloc(8, GFP_KERNEL);
		break;
	case DF_CTOR_KFREE:
		s = kmem_cache_create("dfctork", sizeof(struct conn), 0, 0,
				      conn_ctor);
		o = kmem_cache_alloc(s, GFP_KERNEL);
		kfree(o);
		kfree(o);
		a = kmem_cache_alloc(s, GFP_KERNEL);
		b = kmem_cache_alloc(s, GFP_KERNEL);
		break;
	case DF_BULK_CTOR: {
		void *two[2];

		s = kmem_cache_create("dfbulk", sizeof(struct conn), 0, 0,
				      conn_ctor);
		o = kmem_cache_alloc(s, GFP_KERNEL);
		two[0] = two[1] = o;
		kmem_cache_free_bulk(s, 2, two);
		ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL, 2, two), 2);
		a = two[0];
		b = two[1];
		break;
	}
	default:
		if (kind == DF_PLAIN8)
			s = kmem_cache_create("df8", 8, 0, SLAB_NO_MERGE, NULL);
		else if (kind == DF_PLAIN64)
			s = kmem_cache_create("df64", 64, 0, SLAB_NO_MERGE, NULL);
		else if (kind == DF_CTOR)
			s = kmem_cache_create("dfctor", sizeof(struct conn), 0,
					      SLAB_HWCACHE_ALIGN, conn_ctor);
		else if (kind == DF_RCU)
			s = kmem_cache_create("dfrcu", 64, 0,
					      SLAB_TYPESAFE_BY_RCU, NULL);
		else
			s = kmem_cache_create("dfrcuc", sizeof(struct conn), 0,
					      SLAB_TYPESAFE_BY_RCU, conn_ctor);
		o = kmem_cache_alloc(s, GFP_KERNEL);
		kmem_cache_free(s, o);
		kmem_cache_free(s, o);
		a = kmem_cache_alloc(s, GFP_KERNEL);
		b = kmem_cache_alloc(s, GFP_KERNEL);
		break;
	}
	/* Not reached when the double free is caught. */
	fprintf(stderr, "not caught: %p and %p handed out%s\n", a, b,
		a == b ? ": the same object twice" : "");
}

START_TEST(test_double_free_every_cache)
{
	for (long k = 0; k < NR_DF; k++)
		expect_abort(free_free_alloc_alloc, (void *)k, df_needle[k]);
}
END_TEST

/*
 * The marker of constructed and RCU objects lies outside them: a free
 * object keeps every byte of its constructed state (the constructor runs
 * once per slot, never on reuse) and an RCU reader sees the object's bytes
 * unchanged after kmem_cache_free(); no false double free either way.
 */
static void fill_ctor(void *p)
{
	memset(p, 0x5c, 72);
}

START_TEST(test_marker_outside_object)
{
	struct kmem_cache *c = kmem_cache_create("mkctor", 72, 8, 0, fill_ctor);
	struct kmem_cache *r = kmem_cache_create("mkrcu", 64, 0,
						 SLAB_TYPESAFE_BY_RCU, NULL);
	unsigned char *o, *p, copy[64];

	/* The slot grew by the marker's word; the object did not. */
	ck_assert_uint_eq(c->marker_off, 72);
	ck_assert_uint_ge(c->size, 80);
	ck_assert_uint_eq(ksize(kmem_cache_alloc(c, GFP_KERNEL)), 72);
	for (int round = 0; round < 1000; round++) {
		o = kmem_cache_alloc(c, GFP_KERNEL);
		ck_assert(all_bytes(o, 72, 0x5c));
		kmem_cache_free(c, o);
		ck_assert(all_bytes(o, 72, 0x5c));	/* free: untouched */
	}
	rcu_read_lock();
	o = kmem_cache_alloc(r, GFP_KERNEL);
	for (int i = 0; i < 64; i++)
		o[i] = (unsigned char)(i * 7 + 1);
	memcpy(copy, o, sizeof(copy));
	kmem_cache_free(r, o);
	/* Type-safe: a reader may still look, and sees what was there. */
	ck_assert_int_eq(memcmp(o, copy, sizeof(copy)), 0);
	rcu_read_unlock();
	/* Reused many times over: never a false double free. */
	for (int round = 0; round < 1000; round++) {
		p = kmem_cache_alloc(r, GFP_KERNEL);
		kmem_cache_free(r, p);
	}
	ck_assert_int_eq(slab_validate(c), 0);
	ck_assert_int_eq(slab_validate(r), 0);
}
END_TEST

/* ---- debugging -------------------------------------------------------- */

START_TEST(test_debug_redzone)
{
	struct kmem_cache *s = kmem_cache_create("rz", 50, 0, SLAB_RED_ZONE, NULL);
	char *o = kmem_cache_alloc(s, GFP_KERNEL);
	const char *out;

	o[50] = 'x';	/* one past the end */
	stderr_capture_begin();
	kmem_cache_free(s, o);
	out = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(out, "BUG rz: Right Redzone overwritten"));
	ck_assert_ptr_nonnull(strstr(out, "First byte 0x78 instead of 0xcc"));
	ck_assert_ptr_nonnull(strstr(out, "INFO: Slab 0x"));
	ck_assert_ptr_nonnull(strstr(out, "INFO: Object 0x"));
	ck_assert_ptr_nonnull(strstr(out, "Redzone  "));
	ck_assert_ptr_nonnull(strstr(out, "Object   "));
	ck_assert_ptr_nonnull(strstr(out, "FIX rz: Restoring Right Redzone"));
	/* Repaired: validation is clean again. */
	ck_assert_int_eq(slab_validate(s), 0);

	o = kmem_cache_alloc(s, GFP_KERNEL);
	o[-1] = 'y';
	stderr_capture_begin();
	kmem_cache_free(s, o);
	out = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(out, "BUG rz: Left Redzone overwritten"));
	ck_assert_ptr_nonnull(strstr(out, "FIX rz: Restoring Left Redzone"));
}
END_TEST

START_TEST(test_debug_poison_and_owner)
{
	struct kmem_cache *s = kmem_cache_create("pu", 80, 0,
						 SLAB_POISON | SLAB_STORE_USER, NULL);
	char *o = kmem_cache_alloc(s, GFP_KERNEL);
	const char *out;

	kmem_cache_free(s, o);
	o[10] = 0;	/* write after free */
	stderr_capture_begin();
	ck_assert_int_gt(slab_validate(s), 0);
	out = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(out, "BUG pu: Poison overwritten"));
	ck_assert_ptr_nonnull(strstr(out, "First byte 0x0 instead of 0x6b"));
	ck_assert_ptr_nonnull(strstr(out, "INFO: Allocated in"));
	ck_assert_ptr_nonnull(strstr(out, "INFO: Freed in"));
	ck_assert_ptr_nonnull(strstr(out, "FIX pu: Restoring Poison"));
	ck_assert_int_eq(slab_validate(s), 0);
}
END_TEST

/*
 * Issue 11 item 5: debug reports name code addresses with dladdr(), which
 * takes the dynamic loader's lock and may allocate; it must never run
 * while a cache lock is held.  This definition of dladdr() takes the
 * place of libc's for the static library linked into this suite: it
 * counts the calls made while the watched cache's lock is held (its word
 * is not zero: this test is single-threaded), then asks the real one.
 */
static struct kmem_cache *dladdr_watch;
static int dladdr_calls, dladdr_under_lock;

int dladdr(const void *addr, Dl_info *info)
{
	static int (*real)(const void *, Dl_info *);

	if (dladdr_watch) {
		dladdr_calls++;
		if (__atomic_load_n(&dladdr_watch->lock.word, __ATOMIC_RELAXED))
			dladdr_under_lock++;
	}
	if (!real)
		real = (int (*)(const void *, Dl_info *))dlsym(RTLD_NEXT,
							      "dladdr");
	return real ? real(addr, info) : 0;
}

START_TEST(test_debug_reports_symbolize_unlocked)
{
	struct kmem_cache *s = kmem_cache_create("dl", 64, 0,
						 SLAB_RED_ZONE | SLAB_POISON |
						 SLAB_STORE_USER | SLAB_TRACE,
						 NULL);
	char *o, *leak;
	const char *out;

	dladdr_watch = s;
	dladdr_calls = dladdr_under_lock = 0;
	stderr_capture_begin();
	o = kmem_cache_alloc(s, GFP_KERNEL);	/* TRACE alloc */
	leak = kmem_cache_alloc(s, GFP_KERNEL);
	o[64] = 'x';				/* right red zone */
	kmem_cache_free(s, o);			/* report at free */
	kmem_cache_free(s, o);			/* double free report */
	o[8] = 0;				/* write after free */
	slab_validate(s);			/* report from validation */
	kmem_cache_destroy(s);			/* leak report */
	out = stderr_capture_end();
	dladdr_watch = NULL;
	ck_assert_ptr_nonnull(strstr(out, "TRACE dl alloc 0x"));
	ck_assert_ptr_nonnull(strstr(out, "BUG dl: Right Redzone overwritten"));
	ck_assert_ptr_nonnull(strstr(out, "BUG dl: Object already free"));
	ck_assert_ptr_nonnull(strstr(out, "BUG dl: Poison overwritten"));
	ck_assert_ptr_nonnull(strstr(out, "INFO: Objects remaining in dl"));
	ck_assert_ptr_nonnull(strstr(out, "INFO: Allocated in "));
	ck_assert_ptr_nonnull(strstr(out, "INFO: Freed in "));
	/* Names, not placeholders: "name+0x.. [module]" or "0x.. [module+0x..]". */
	ck_assert_ptr_null(strchr(out, '\001'));
	ck_assert_ptr_nonnull(strstr(out, "[test_slab"));
	ck_assert_int_gt(dladdr_calls, 5);
	ck_assert_msg(dladdr_under_lock == 0,
		      "%d of %d dladdr() calls with the cache lock held",
		      dladdr_under_lock, dladdr_calls);
	(void)leak;
}
END_TEST

/*
 * A report longer than the deferral's buffer (256 KiB: here 16 damaged
 * 4000-byte objects, each dumped whole: every 16-byte line of each
 * differs from the one before, so that no run of identical lines is
 * folded) is printed as it comes once the buffer is full: every report
 * still appears, in order, with no placeholder left, and dladdr() is
 * still never called under the lock.
 */
START_TEST(test_debug_report_overflow)
{
	struct kmem_cache *s = kmem_cache_create("ovf", 4000, 0,
						 SLAB_POISON | SLAB_STORE_USER,
						 NULL);
	int fd = memfd_create("ovf-report", 0), saved = dup(STDERR_FILENO);
	const char *what = "BUG ovf: Poison overwritten";
	char *o[16], *text, *p;
	int reports = 0;
	off_t len;

	for (int i = 0; i < 16; i++)
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 0; i < 16; i++)
		kmem_cache_free(s, o[i]);
	for (int i = 0; i < 16; i++)	/* write after free, all over */
		for (int k = 0; k < 4000; k++)
			o[i][k] = (char)(k / 16 + i);
	dladdr_watch = s;
	dladdr_calls = dladdr_under_lock = 0;
	dup2(fd, STDERR_FILENO);
	ck_assert_int_eq(slab_validate(s), 16);
	dup2(saved, STDERR_FILENO);
	close(saved);
	dladdr_watch = NULL;
	len = lseek(fd, 0, SEEK_END);
	ck_assert_int_gt(len, 256 * 1024);
	text = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(text, MAP_FAILED);
	for (p = text; (p = memmem(p, (size_t)(text + len - p), what,
				   strlen(what))); p++)
		reports++;
	ck_assert_int_eq(reports, 16);
	ck_assert_ptr_null(memchr(text, '\001', (size_t)len));
	ck_assert_int_eq(dladdr_under_lock, 0);
	munmap(text, (size_t)len);
	close(fd);
}
END_TEST

START_TEST(test_debug_double_free_reported)
{
	struct kmem_cache *s = kmem_cache_create("fdf", 64, 0,
						 SLAB_CONSISTENCY_CHECKS, NULL);
	struct kmem_cache *t = kmem_cache_create("fdf2", 64, 0,
						 SLAB_CONSISTENCY_CHECKS, NULL);
	void *o = kmem_cache_alloc(s, GFP_KERNEL), *p;
	const char *out;

	kmem_cache_free(s, o);
	stderr_capture_begin();
	kmem_cache_free(s, o);	/* caught at the call, not freed, no abort */
	out = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(out, "BUG fdf: Object already free"));
	ck_assert_ptr_nonnull(strstr(out, "FIX fdf: Object at 0x"));
	ck_assert_ptr_nonnull(strstr(out, "not freed"));
	ck_assert_int_eq(slab_validate(s), 0);
	p = kmem_cache_alloc(t, GFP_KERNEL);
	stderr_capture_begin();
	kmem_cache_free(s, p);	/* wrong cache */
	out = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(out, "BUG fdf: Invalid object pointer"));
	ck_assert_ptr_nonnull(strstr(out, "belongs to another cache: fdf2"));
	kmem_cache_free(t, p);
}
END_TEST

START_TEST(test_debug_env_and_trace)
{
	struct kmem_cache *a, *b;
	const char *out;
	void *o;

	setenv("KMEM_DEBUG", "ZP,dbg*;T,traced", 1);
	a = kmem_cache_create("dbg-one", 64, 0, 0, NULL);
	b = kmem_cache_create("plain", 64, 0, SLAB_NO_MERGE, NULL);
	ck_assert_uint_eq(info_of("dbg-one").flags & (SLAB_RED_ZONE | SLAB_POISON),
			  SLAB_RED_ZONE | SLAB_POISON);
	ck_assert_uint_eq(info_of("plain").flags & SLAB_DEBUG_FLAGS, 0);
	ck_assert_ptr_eq(a->root, a);	/* debugged caches never merge */
	(void)b;
	a = kmem_cache_create("traced", 64, 0, 0, NULL);
	stderr_capture_begin();
	o = kmem_cache_alloc(a, GFP_KERNEL);
	kmem_cache_free(a, o);
	out = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(out, "TRACE traced alloc 0x"));
	ck_assert_ptr_nonnull(strstr(out, "TRACE traced free 0x"));
}
END_TEST

START_TEST(test_debug_all_caches)
{
	char *volatile p;
	const char *out;

	setenv("KMEM_DEBUG", "", 1);	/* no options: F, Z, P, U everywhere */
	p = kmalloc(30, GFP_KERNEL);
	ck_assert_uint_eq(info_of("kmalloc-32").flags & SLAB_DEBUG_FLAGS,
			  SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON |
			  SLAB_STORE_USER);
	p[32] = 1;
	stderr_capture_begin();
	kfree(p);
	out = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(out, "BUG kmalloc-32: Right Redzone overwritten"));
}
END_TEST

/* ---- destroy with objects ------------------------------------------- */

START_TEST(test_destroy_with_objects)
{
	struct kmem_cache *s = kmem_cache_create("leaky", 64, 0,
						 SLAB_STORE_USER, NULL);
	char *o[3];
	const char *out;

	for (int i = 0; i < 3; i++) {
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
		strcpy(o[i], "still mine");
	}
	stderr_capture_begin();
	kmem_cache_destroy(s);
	out = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(out, "kmem_cache_destroy leaky: Slab cache still has objects"));
	ck_assert_ptr_nonnull(strstr(out, "3 objects still allocated"));
	ck_assert_ptr_nonnull(strstr(out, "INFO: Objects remaining in leaky"));
	ck_assert_ptr_nonnull(strstr(out, "INFO: Allocated in"));
	/* The memory the caller still uses stays valid and reported. */
	for (int i = 0; i < 3; i++)
		ck_assert_str_eq(o[i], "still mine");
	ck_assert_uint_eq(info_of("leaky").active_objs, 3);
}
END_TEST

/* ---- RCU ------------------------------------------------------------- */

struct robj {
	int type;
	int value;
	struct rcu_head rcu;
};

static struct kmem_cache *rcu_cache;
static struct robj *volatile shared;
static int pipe_to_reader[2], pipe_to_main[2];

static void *rcu_reader(void *arg)
{
	struct robj *o;
	char c;

	(void)arg;
	rcu_register_thread();
	rcu_read_lock();
	o = shared;
	ck_assert_int_eq(write(pipe_to_main[1], "r", 1), 1);	/* holding it */
	ck_assert_int_eq(read(pipe_to_reader[0], &c, 1), 1);	/* freed, shrunk */
	/* Still mapped and still an object of our cache. */
	ck_assert_int_eq(kmem_addr_to_page(o)->type, PG_slab);
	ck_assert_ptr_eq(kmem_addr_to_page(o)->slab_cache, rcu_cache);
	ck_assert_int_eq(o->type, 0x7e57);
	rcu_read_unlock();
	rcu_unregister_thread();
	return NULL;
}

START_TEST(test_typesafe_by_rcu)
{
	struct kmem_slabinfo si;
	pthread_t t;

	rcu_cache = kmem_cache_create("rcu-objs", sizeof(struct robj), 0,
				      SLAB_TYPESAFE_BY_RCU, NULL);
	ck_assert_int_eq(pipe(pipe_to_reader), 0);
	ck_assert_int_eq(pipe(pipe_to_main), 0);
	shared = kmem_cache_alloc(rcu_cache, GFP_KERNEL);
	shared->type = 0x7e57;
	pthread_create(&t, NULL, rcu_reader, NULL);
	{
		char c;

		ck_assert_int_eq(read(pipe_to_main[0], &c, 1), 1);
	}
	kmem_cache_free(rcu_cache, shared);
	kmem_cache_shrink(rcu_cache);	/* the slab is empty: it waits */
	si = info_of("rcu-objs");
	ck_assert_uint_eq(si.num_slabs, 1);	/* pending a grace period */
	ck_assert_int_eq(write(pipe_to_reader[1], "f", 1), 1);
	pthread_join(t, NULL);
	kvfree_rcu_barrier();
	ck_assert_uint_eq(info_of("rcu-objs").num_slabs, 0);
	kmem_cache_destroy(rcu_cache);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_kfree_rcu)
{
	struct robj *o[100];
	unsigned long before = info_of("kmalloc-32").inuse_objs;

	for (int i = 0; i < 100; i++)
		o[i] = kmalloc(sizeof(struct robj), GFP_KERNEL);
	/* A reader holds the grace period off: nothing may be freed yet. */
	rcu_register_thread();
	rcu_read_lock();
	for (int i = 0; i < 100; i++)
		kfree_rcu(o[i], rcu);
	kfree_rcu((struct robj *)NULL, rcu);
	/*
	 * Not a sleep "for a wrong early free to show": on a loaded machine
	 * the worker may not have run at all by then.  Wait (bounded) until
	 * it has taken a batch and waits for the grace period this reader
	 * holds off: a worker that frees without waiting has freed by then.
	 */
	for (int ms = 0; !slab_rcu_in_grace_period(); ms++) {
		struct timespec ts = { 0, 1000 * 1000 };

		ck_assert_msg(ms < 60000, "the RCU worker never began a grace period");
		nanosleep(&ts, NULL);
	}
	ck_assert_uint_eq(info_of("kmalloc-32").inuse_objs, before + 100);
	rcu_read_unlock();
	rcu_unregister_thread();
	kvfree_rcu_barrier();
	/* Freed by the RCU worker, into its magazine: not in use any more. */
	ck_assert_uint_eq(info_of("kmalloc-32").inuse_objs, before);
	ck_assert_uint_eq(info_of("kmalloc-32").frees, 100);
}
END_TEST

/* ---- threads ----------------------------------------------------------- */

#define QSIZE 1024

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *items[QSIZE];
	int head, tail, done;
};

static struct queue q = { .lock = PTHREAD_MUTEX_INITIALIZER,
			  .cond = PTHREAD_COND_INITIALIZER };
static struct kmem_cache *pc_cache;

static void *producer(void *arg)
{
	for (int i = 0; i < 100000; i++) {
		struct conn *c = kmem_cache_alloc(pc_cache, GFP_KERNEL);

		c->fd = i;
		pthread_mutex_lock(&q.lock);
		while ((q.head + 1) % QSIZE == q.tail)
			pthread_cond_wait(&q.cond, &q.lock);
		q.items[q.head] = c;
		q.head = (q.head + 1) % QSIZE;
		pthread_cond_broadcast(&q.cond);
		pthread_mutex_unlock(&q.lock);
	}
	(void)arg;
	return NULL;
}

static void *consumer(void *arg)
{
	long n = 0;

	for (;;) {
		struct conn *c;

		pthread_mutex_lock(&q.lock);
		while (q.head == q.tail && !q.done)
			pthread_cond_wait(&q.cond, &q.lock);
		if (q.head == q.tail && q.done) {
			pthread_mutex_unlock(&q.lock);
			break;
		}
		c = q.items[q.tail];
		q.tail = (q.tail + 1) % QSIZE;
		pthread_cond_broadcast(&q.cond);
		pthread_mutex_unlock(&q.lock);
		ck_assert_int_ge(c->fd, 0);
		kmem_cache_free(pc_cache, c);	/* a cross-thread free */
		n++;
	}
	*(long *)arg = n;
	return NULL;
}

START_TEST(test_producer_consumer)
{
	pthread_t p[2], c[2];
	long got[2];
	const char *out;

	pc_cache = kmem_cache_create("pc", sizeof(struct conn), 0,
				     SLAB_NO_MERGE, NULL);
	for (int i = 0; i < 2; i++) {
		pthread_create(&p[i], NULL, producer, NULL);
		pthread_create(&c[i], NULL, consumer, &got[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(p[i], NULL);
	pthread_mutex_lock(&q.lock);
	q.done = 1;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
	for (int i = 0; i < 2; i++)
		pthread_join(c[i], NULL);
	ck_assert_int_eq(got[0] + got[1], 200000);
	ck_assert_int_eq(slab_validate(pc_cache), 0);
	ck_assert_uint_eq(info_of("pc").inuse_objs, 0);
	ck_assert_uint_eq(info_of("pc").allocs, 200000);
	ck_assert_uint_eq(info_of("pc").frees, 200000);
	stderr_capture_begin();
	kmem_cache_destroy(pc_cache);
	out = stderr_capture_end();
	ck_assert_str_eq(out, "");
}
END_TEST

static struct kmem_cache *exit_cache;

static void *fill_and_exit(void *arg)
{
	void *o[1000];

	(void)arg;
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < 1000; i++)
			o[i] = kmem_cache_alloc(exit_cache, GFP_KERNEL);
		for (int i = 0; i < 1000; i++)
			kmem_cache_free(exit_cache, o[i]);
	}
	return NULL;	/* exits holding full magazines */
}

static void *free_only(void *arg)
{
	void **o = arg;

	for (int i = 0; i < 500; i++)
		kmem_cache_free(exit_cache, o[i]);
	return NULL;
}

/* A thread whose first use of a cache is a free, then allocates and frees. */
static void *free_then_alloc(void *arg)
{
	void **o = arg;

	for (int i = 0; i < 500; i++)
		kmem_cache_free(exit_cache, o[i]);
	for (int i = 0; i < 500; i++)
		o[i] = kmem_cache_alloc(exit_cache, GFP_KERNEL);
	for (int i = 0; i < 500; i++)
		kmem_cache_free(exit_cache, o[i]);
	return NULL;
}

START_TEST(test_free_first_then_alloc)
{
	static void *o[500];
	pthread_t t;

	exit_cache = kmem_cache_create("ffa", 64, 0, SLAB_NO_MERGE, NULL);
	for (int i = 0; i < 500; i++)
		o[i] = kmem_cache_alloc(exit_cache, GFP_KERNEL);
	pthread_create(&t, NULL, free_then_alloc, o);
	pthread_join(t, NULL);
	kmem_cache_shrink(exit_cache);
	ck_assert_uint_eq(info_of("ffa").active_objs, 0);
	ck_assert_uint_eq(info_of("ffa").allocs, 1000);
	ck_assert_uint_eq(info_of("ffa").frees, 1000);
}
END_TEST

/*
 * Passive false sharing: a thread that frees another thread's object and
 * then allocates from the cache for the first time must not be handed
 * that object back (the owner may still write next to it), nor another
 * object of its cache line.
 *
 * With @move, the thread moves to another CPU between the two calls (a
 * simulated CPU whose block has no magazines for the cache yet).  A
 * thread's first allocations from a cache whose slot has no magazines
 * take the locked single-object path, which hands out the lowest free
 * object of a slab, next to the owner's; a thread that has freed to the
 * cache is past that warm-up.  (The TSan stage, where threads move
 * between the two calls more often, once failed the test without @move
 * on the line assertion.)
 */
struct remote_free {
	void *theirs, *mine;
	bool move, pinned;
};

static bool pin_to(int cpu);

static void *free_remote_then_alloc(void *arg)
{
	struct remote_free *f = arg;

	f->pinned = !f->move || pin_to(sched_getcpu());
	if (!f->pinned)
		return NULL;
	kmem_cache_free(exit_cache, f->theirs);
	if (f->move && slab_percpu)
		slab_set_cpu_bias(4 * kmem_nr_cpu_ids);
	f->mine = kmem_cache_alloc(exit_cache, GFP_KERNEL);
	ck_assert_ptr_nonnull(f->mine);
	ck_assert_ptr_ne(f->mine, f->theirs);
	ck_assert_uint_ne((uintptr_t)f->mine / 64, (uintptr_t)f->theirs / 64);
	return NULL;
}

static void remote_free_not_handed_back(bool move)
{
	struct remote_free f = { .move = move };
	void *neighbour;
	pthread_t t;

	exit_cache = kmem_cache_create("remote", 16, 0, SLAB_NO_MERGE, NULL);
	f.theirs = kmem_cache_alloc(exit_cache, GFP_KERNEL);
	neighbour = kmem_cache_alloc(exit_cache, GFP_KERNEL);
	pthread_create(&t, NULL, free_remote_then_alloc, &f);
	pthread_join(t, NULL);
	ck_assert_msg(f.pinned, "could not pin the thread to its CPU");
	kmem_cache_free(exit_cache, f.mine);
	kmem_cache_free(exit_cache, neighbour);
	kmem_cache_destroy(exit_cache);
}

START_TEST(test_remote_free_not_handed_back)
{
	remote_free_not_handed_back(false);
}
END_TEST

START_TEST(test_remote_free_moved_not_handed_back)
{
	if (slab_percpu && 4 * kmem_nr_cpu_ids > KMEM_MAX_CPUS)
		return;
	remote_free_not_handed_back(true);
}
END_TEST

/*
 * Depot affinity (issue 15): two threads that never share objects each
 * get their own objects back.  Both allocate a set, A frees its set, B frees its set on top
 * of it in the depot, then A allocates as many again: every one must be
 * one A freed, none B's (whose lines B's core wrote last).
 */
#define PAIR_OBJS 512
struct depot_pair {
	struct kmem_cache *s;
	pthread_barrier_t allocated, freed_a, freed_b;
	void *a[PAIR_OBJS], *b[PAIR_OBJS], *again[PAIR_OBJS];
	int cpu;		/* per-CPU mode: both run on this CPU, */
	bool pinned_a, pinned_b;	/* as two simulated CPUs */
};

static void *depot_pair_a(void *arg)
{
	struct depot_pair *p = arg;

	p->pinned_a = !slab_percpu || pin_to(p->cpu);
	for (int i = 0; i < PAIR_OBJS; i++)
		p->a[i] = kmem_cache_alloc(p->s, GFP_KERNEL);
	pthread_barrier_wait(&p->allocated);
	for (int i = 0; i < PAIR_OBJS; i++)
		kmem_cache_free(p->s, p->a[i]);
	pthread_barrier_wait(&p->freed_a);
	pthread_barrier_wait(&p->freed_b);
	if (!slab_percpu)
		for (int i = 0; i < PAIR_OBJS; i++)
			p->again[i] = kmem_cache_alloc(p->s, GFP_KERNEL);
	return NULL;
}

/* Per CPU: another thread on A's CPU allocates again. */
static void *depot_pair_c(void *arg)
{
	struct depot_pair *p = arg;

	p->pinned_a = pin_to(p->cpu);
	for (int i = 0; i < PAIR_OBJS; i++)
		p->again[i] = kmem_cache_alloc(p->s, GFP_KERNEL);
	return NULL;
}

static void *depot_pair_b(void *arg)
{
	struct depot_pair *p = arg;

	p->pinned_b = !slab_percpu || pin_to(p->cpu);
	slab_set_cpu_bias(kmem_nr_cpu_ids);	/* 0 per-thread: unused */
	for (int i = 0; i < PAIR_OBJS; i++)
		p->b[i] = kmem_cache_alloc(p->s, GFP_KERNEL);
	pthread_barrier_wait(&p->allocated);
	pthread_barrier_wait(&p->freed_a);
	for (int i = 0; i < PAIR_OBJS; i++)
		kmem_cache_free(p->s, p->b[i]);
	pthread_barrier_wait(&p->freed_b);
	return NULL;
}

/* Run @a and @b on two threads with @arg, and wait for both. */
static void run_two(void *(*a)(void *), void *(*b)(void *), void *arg)
{
	pthread_t ta, tb;

	pthread_create(&ta, NULL, a, arg);
	pthread_create(&tb, NULL, b, arg);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
}

static int ptr_cmp(const void *x, const void *y)
{
	uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;

	return (a > b) - (a < b);
}

static bool ptr_in(void **sorted, size_t n, void *p)
{
	return bsearch(&p, sorted, n, sizeof(p), ptr_cmp) != NULL;
}

START_TEST(test_depot_returns_own_magazines)
{
	static struct depot_pair p;
	unsigned int foreign = 0, own = 0;
	pthread_t ta;

	/*
	 * Per CPU, the same with A and B on two CPUs (simulated, on the CPU
	 * this runs on), and the second round from a third thread on A's:
	 * the depot hands a CPU its own magazines back.
	 */
	kmem_init();	/* the mode is chosen at start-up */
	p.cpu = sched_getcpu();

	/*
	 * The reaper returns full magazines nobody took for the decay time,
	 * oldest (A's) first: on a busy machine the barriers could take
	 * that long.  Only what the threads do may move the depot here.
	 */
	kmem_config.decay_ms = 600000;
	p.s = kmem_cache_create("depot-pair", 64, 0, SLAB_NO_MERGE, NULL);
	pthread_barrier_init(&p.allocated, NULL, 2);
	pthread_barrier_init(&p.freed_a, NULL, 2);
	pthread_barrier_init(&p.freed_b, NULL, 2);
	run_two(depot_pair_a, depot_pair_b, &p);
	if (slab_percpu) {
		pthread_create(&ta, NULL, depot_pair_c, &p);
		pthread_join(ta, NULL);
	}
	ck_assert(p.pinned_a && p.pinned_b);
	qsort(p.a, PAIR_OBJS, sizeof(void *), ptr_cmp);
	qsort(p.b, PAIR_OBJS, sizeof(void *), ptr_cmp);
	for (int i = 0; i < PAIR_OBJS; i++) {
		ck_assert_ptr_nonnull(p.again[i]);
		foreign += ptr_in(p.b, PAIR_OBJS, p.again[i]);
		own += ptr_in(p.a, PAIR_OBJS, p.again[i]);
	}
	ck_assert_msg(foreign == 0,
		      "%u of %d objects handed back to A were freed by B",
		      foreign, PAIR_OBJS);
	/* Mostly A's own (the rest are ones A's magazines held already). */
	ck_assert_uint_ge(own, PAIR_OBJS / 2);
	for (int i = 0; i < PAIR_OBJS; i++)
		kmem_cache_free(p.s, p.again[i]);
	pthread_barrier_destroy(&p.allocated);
	pthread_barrier_destroy(&p.freed_a);
	pthread_barrier_destroy(&p.freed_b);
	kmem_cache_destroy(p.s);
}
END_TEST

/*
 * Threads that take turns on one CPU: while A lives, B, running on A's
 * CPU after it, must not be handed the objects A freed there.  Before
 * CPU blocks had owners, B popped them from the CPU's magazine: then,
 * once the scheduler put the two on two CPUs, B's objects shared cache
 * lines with A's live ones for as long as both lived (private-2 ran at a
 * third of its speed when its threads started on one CPU: performance.md,
 * "private-2's shared lines are made at the start"): B uses slots of its
 * own.  Once A has exited, C on that CPU takes the block over.  All three run on a simulated
 * CPU of their own (no other thread uses its block) pinned to one real
 * CPU.
 */
#define TURN_OBJS 64
struct in_turns {
	struct kmem_cache *s;
	pthread_barrier_t freed, done;
	void *a[TURN_OBJS], *b[4 * TURN_OBJS], *c[TURN_OBJS];
	int cpu;
	bool pinned, own_b, own_c;
};

static void *in_turns_a(void *arg)
{
	struct in_turns *p = arg;

	p->pinned = pin_to(p->cpu);
	slab_set_cpu_bias(2 * kmem_nr_cpu_ids);
	for (int i = 0; i < TURN_OBJS; i++)
		p->a[i] = kmem_cache_alloc(p->s, GFP_KERNEL);
	for (int i = 0; i < TURN_OBJS; i++)
		kmem_cache_free(p->s, p->a[i]);
	pthread_barrier_wait(&p->freed);
	pthread_barrier_wait(&p->done);		/* alive while B allocates */
	return NULL;
}

static void *in_turns_b(void *arg)
{
	struct in_turns *p = arg;

	pthread_barrier_wait(&p->freed);
	p->pinned &= pin_to(p->cpu);
	slab_set_cpu_bias(2 * kmem_nr_cpu_ids);
	/* More than the magazine A's frees left loaded holds. */
	for (int i = 0; i < 4 * TURN_OBJS; i++)
		p->b[i] = kmem_cache_alloc(p->s, GFP_KERNEL);
	p->own_b = slab_tls_cpu.own;
	pthread_barrier_wait(&p->done);
	return NULL;
}

static void *in_turns_c(void *arg)
{
	struct in_turns *p = arg;

	p->pinned &= pin_to(p->cpu);
	slab_set_cpu_bias(2 * kmem_nr_cpu_ids);
	for (int i = 0; i < TURN_OBJS; i++)
		p->c[i] = kmem_cache_alloc(p->s, GFP_KERNEL);
	p->own_c = slab_tls_cpu.own;
	return NULL;
}

START_TEST(test_cpu_taken_in_turns)
{
	static struct in_turns p;
	unsigned int of_a_b = 0;
	pthread_t ta;

	kmem_init();	/* the mode is chosen at start-up */
	if (!slab_percpu || 3 * kmem_nr_cpu_ids > KMEM_MAX_CPUS)
		return;		/* per thread: nothing is shared */
	p.cpu = sched_getcpu();
	kmem_config.decay_ms = 600000;	/* as test_depot_returns_own_magazines */
	p.s = kmem_cache_create("in-turns", 64, 0, SLAB_NO_MERGE, NULL);
	pthread_barrier_init(&p.freed, NULL, 2);
	pthread_barrier_init(&p.done, NULL, 2);
	run_two(in_turns_a, in_turns_b, &p);
	pthread_create(&ta, NULL, in_turns_c, &p);
	pthread_join(ta, NULL);
	ck_assert_msg(p.pinned, "could not pin the threads to CPU %d", p.cpu);
	qsort(p.a, TURN_OBJS, sizeof(void *), ptr_cmp);
	for (int i = 0; i < 4 * TURN_OBJS; i++) {
		ck_assert_ptr_nonnull(p.b[i]);
		of_a_b += ptr_in(p.a, TURN_OBJS, p.b[i]);
	}
	ck_assert_msg(of_a_b == 0, "B was handed %u of the %d objects A freed "
		      "on their CPU while A lived", of_a_b, TURN_OBJS);
	ck_assert_msg(p.own_b, "B does not use its own slots");
	/* A has exited: its block is nobody's, and C takes it. */
	ck_assert_msg(!p.own_c, "C uses its own slots after A exited");
	for (int i = 0; i < 4 * TURN_OBJS; i++)
		kmem_cache_free(p.s, p.b[i]);
	for (int i = 0; i < TURN_OBJS; i++) {
		ck_assert_ptr_nonnull(p.c[i]);
		kmem_cache_free(p.s, p.c[i]);
	}
	pthread_barrier_destroy(&p.freed);
	pthread_barrier_destroy(&p.done);
	kmem_cache_destroy(p.s);
}
END_TEST

/*
 * A thread's calls after its exit hook (a later key's destructor, glibc's
 * teardown) claim no CPU block: a block owned by an exited thread's tag
 * turns the next thread on that CPU to its own slots.
 */
static pthread_key_t late_key;
static struct kmem_cache *late_cache;
static pid_t late_tid;

static void late_destructor(void *arg)
{
	(void)arg;	/* kmem's key was made first: its destructor has run */
	kmem_cache_free(late_cache, kmem_cache_alloc(late_cache, GFP_KERNEL));
}

static void *late_thread(void *arg)
{
	void *o[300];

	(void)arg;
	late_tid = gettid();
	slab_set_cpu_bias(2 * kmem_nr_cpu_ids);	/* blocks nobody else uses */
	for (int i = 0; i < 300; i++)
		o[i] = kmem_cache_alloc(late_cache, GFP_KERNEL);
	for (int i = 0; i < 300; i++)
		kmem_cache_free(late_cache, o[i]);
	pthread_setspecific(late_key, late_cache);
	return NULL;
}

START_TEST(test_exited_thread_owns_no_block)
{
	pthread_t t;

	kmem_init();
	if (!slab_percpu || 3 * kmem_nr_cpu_ids > KMEM_MAX_CPUS)
		return;
	late_cache = kmem_cache_create("late", 64, 0, SLAB_NO_MERGE, NULL);
	ck_assert_int_eq(pthread_key_create(&late_key, late_destructor), 0);
	pthread_create(&t, NULL, late_thread, NULL);
	pthread_join(t, NULL);
	for (unsigned int cpu = 0; cpu < KMEM_MAX_CPUS; cpu++)
		ck_assert_msg(!slab_cpu_table[cpu] ||
			      READ_ONCE(slab_cpu_table[cpu]->owner) !=
			      (uint32_t)late_tid,
			      "CPU block %u is owned by an exited thread", cpu);
	kmem_cache_destroy(late_cache);
}
END_TEST

/*
 * Depot surplus: a thread (per CPU: a CPU) that finds only one full
 * magazine of another's in the depot, put in by a thread that takes its
 * own back (a reuser), fills its own from the slabs; two such magazines
 * are a surplus, and the other's objects flow on.
 *
 * B allocates 640 objects and frees until one full magazine is in the
 * depot, allocates until it has taken it back, and frees until one is
 * there again.  A allocates 128: none may be B's (before the surplus
 * rule, A got B's magazine: 112 of its 128 objects, on lines B's live
 * objects share).  B frees until three of its magazines are in the
 * depot, and A's next 256 allocations take B's.
 */
#define SURPLUS_B 1024
struct depot_surplus {
	struct kmem_cache *s;
	pthread_barrier_t step;
	void *held[SURPLUS_B], *had[2 * SURPLUS_B], *a[384];
	unsigned int nr_held, nr_had;
	int cpu;
	bool pinned_a, pinned_b;
};

static void *depot_surplus_a(void *arg)
{
	struct depot_surplus *p = arg;

	p->pinned_a = !slab_percpu || pin_to(p->cpu);
	pthread_barrier_wait(&p->step);		/* B put one in */
	for (int i = 0; i < 128; i++)
		p->a[i] = kmem_cache_alloc(p->s, GFP_KERNEL);
	pthread_barrier_wait(&p->step);
	pthread_barrier_wait(&p->step);		/* B put two more in */
	for (int i = 128; i < 384; i++)
		p->a[i] = kmem_cache_alloc(p->s, GFP_KERNEL);
	return NULL;
}

static unsigned long surplus_depot(void)
{
	return info_of("depot-surplus").depot_objs;
}

/*
 * B allocates until the depot holds @objs objects, at most @max times
 * (@objs ~0: @max times).
 */
static void surplus_alloc_until(struct depot_surplus *p, unsigned long objs,
				int max)
{
	for (int i = 0; i < max && surplus_depot() != objs; i++) {
		void *o = kmem_cache_alloc(p->s, GFP_KERNEL);

		ck_assert_ptr_nonnull(o);
		ck_assert_uint_lt(p->nr_held, SURPLUS_B);
		p->held[p->nr_held++] = o;
		p->had[p->nr_had++] = o;
	}
	if (objs != ~0UL)
		ck_assert_uint_eq(surplus_depot(), objs);
}

/* B frees until the depot holds @objs objects. */
static void surplus_free_until(struct depot_surplus *p, unsigned long objs)
{
	while (p->nr_held && surplus_depot() != objs)
		kmem_cache_free(p->s, p->held[--p->nr_held]);
	ck_assert_uint_eq(surplus_depot(), objs);
}

/*
 * B (on a second simulated CPU) becomes a reuser: it puts one full
 * magazine in the depot, takes it back, and puts one in again.
 */
static void surplus_reuser(struct depot_surplus *p)
{
	p->pinned_b = !slab_percpu || pin_to(p->cpu);
	slab_set_cpu_bias(kmem_nr_cpu_ids);	/* 0 per-thread: unused */
	surplus_alloc_until(p, ~0UL, 640);
	surplus_free_until(p, 128);
	surplus_alloc_until(p, 0, 512);		/* takes its own back */
	surplus_free_until(p, 128);
}

/*
 * Allocate @n objects of @s into @out from a third simulated CPU (per
 * thread: the calling thread).  Return: false if it could not be pinned.
 */
static bool alloc_on_third_cpu(struct kmem_cache *s, int cpu, void **out,
			       int n)
{
	bool pinned = !slab_percpu || pin_to(cpu);

	slab_set_cpu_bias(2 * kmem_nr_cpu_ids);	/* 0 per-thread: unused */
	for (int i = 0; i < n; i++)
		out[i] = kmem_cache_alloc(s, GFP_KERNEL);
	return pinned;
}

static void *depot_surplus_b(void *arg)
{
	struct depot_surplus *p = arg;

	surplus_reuser(p);
	pthread_barrier_wait(&p->step);
	pthread_barrier_wait(&p->step);		/* A allocated 128 */
	surplus_free_until(p, 3 * 128);
	pthread_barrier_wait(&p->step);
	return NULL;
}

/* How many of @n objects at @objs are among the first @k of sorted @set. */
static unsigned int count_in(void **objs, int n, void **set, size_t k)
{
	unsigned int found = 0;

	for (int i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(objs[i]);
		found += ptr_in(set, k, objs[i]);
	}
	return found;
}

/* The cache and the CPU of the depot-surplus tests. */
static void surplus_setup(struct depot_surplus *p)
{
	kmem_init();	/* the mode is chosen at start-up */
	p->cpu = sched_getcpu();
	kmem_config.decay_ms = 600000;	/* the reaper leaves the depot be */
	p->s = kmem_cache_create("depot-surplus", 64, 0, SLAB_NO_MERGE, NULL);
	ck_assert_uint_eq(p->s->magsize, 128);
	ck_assert_uint_lt(p->s->id, KMEM_SLOTS_INLINE);	/* slot_reuses() */
}

/* Free A's @n objects and what B still holds; the slabs must add up. */
static void surplus_teardown(struct depot_surplus *p, int n)
{
	for (int i = 0; i < n; i++)
		kmem_cache_free(p->s, p->a[i]);
	while (p->nr_held)
		kmem_cache_free(p->s, p->held[--p->nr_held]);
	ck_assert_int_eq(slab_validate(p->s), 0);
}

START_TEST(test_depot_hands_over_only_a_surplus)
{
	static struct depot_surplus p;
	unsigned int first, later;
	pthread_t ta, tb;

	surplus_setup(&p);
	pthread_barrier_init(&p.step, NULL, 2);
	pthread_create(&ta, NULL, depot_surplus_a, &p);
	pthread_create(&tb, NULL, depot_surplus_b, &p);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ck_assert(p.pinned_a && p.pinned_b);
	/* Every object B ever had (none of them went back to a slab). */
	qsort(p.had, p.nr_had, sizeof(void *), ptr_cmp);
	first = count_in(p.a, 128, p.had, p.nr_had);
	ck_assert_msg(first == 0,
		      "%u of A's first 128 objects were B's, with only one of "
		      "B's magazines in the depot", first);
	later = count_in(p.a + 128, 256, p.had, p.nr_had);
	ck_assert_msg(later >= 128,
		      "only %u of A's next 256 objects came from B's surplus",
		      later);
	surplus_teardown(&p, 384);
	pthread_barrier_destroy(&p.step);
	kmem_cache_destroy(p.s);
}
END_TEST

/*
 * A reusing thread's magazine outlives the thread: once a thread has
 * exited, a magazine put in before is handed to anyone, surplus or not,
 * for its filler may be the thread that went (larson's threads hand their
 * blocks to fresh threads: 7-8% more peak RSS when the new thread filled
 * its magazines from the slabs instead).  B puts one full magazine in,
 * takes it back, puts one in again, and exits; A, on another (simulated)
 * CPU, then allocates 144 and takes that magazine.  (Per thread, B's exit
 * gives the objects its own magazines held back to the slabs, which A's
 * refill would take too: hence the look at the depot.)
 */
static void *depot_reuser_exits(void *arg)
{
	surplus_reuser(arg);
	return NULL;
}

static void *depot_after_exit(void *arg)
{
	struct depot_surplus *p = arg;

	p->pinned_a = alloc_on_third_cpu(p->s, p->cpu, p->a, 144);
	return NULL;
}

START_TEST(test_depot_gives_exited_reusers_magazine)
{
	static struct depot_surplus p;
	unsigned int got;
	pthread_t t;

	surplus_setup(&p);
	pthread_create(&t, NULL, depot_reuser_exits, &p);
	pthread_join(t, NULL);
	/* Its exit put no full magazine in (a full one would be nobody's). */
	ck_assert_uint_eq(surplus_depot(), 128);
	pthread_create(&t, NULL, depot_after_exit, &p);
	pthread_join(t, NULL);
	ck_assert(p.pinned_a && p.pinned_b);
	ck_assert_msg(surplus_depot() == 0,
		      "the magazine of a thread that exited is still in the "
		      "depot (%lu objects)", surplus_depot());
	qsort(p.had, p.nr_had, sizeof(void *), ptr_cmp);
	got = count_in(p.a, 144, p.had, p.nr_had);
	ck_assert_msg(got >= 128,
		      "only %u of 144 objects came from the magazine of a "
		      "thread that exited", got);
	surplus_teardown(&p, 144);
	kmem_cache_destroy(p.s);
}
END_TEST

/*
 * A magazine of a thread that takes none back is nobody's, and so is one
 * that a flush put in (a thread's exit; per CPU, the drain of a CPU gone
 * offline): the next thread that needs a full magazine takes it, surplus
 * or not, rather than filling one from the slabs while it waits there.
 * T allocates 256 and frees them, which leaves one full magazine in the
 * depot (a consumer's); or T allocates 256 and frees 128, which fill its
 * free-side magazine, and goes (flush).  Another thread's (per CPU:
 * another CPU's) 144 allocations, 16 of them warm-up, hand those 128 out
 * again.
 */
struct flushed_mag {
	struct kmem_cache *s;
	pthread_barrier_t freed, done;
	void *o[256], *again[144];
	int cpu;
	bool flush, pinned, pinned_again;
};

static void *fill_one_magazine(void *arg)
{
	struct flushed_mag *f = arg;

	f->pinned = !slab_percpu || pin_to(f->cpu);
	slab_set_cpu_bias(kmem_nr_cpu_ids);	/* 0 per-thread: unused */
	for (int i = 0; i < 256; i++)
		f->o[i] = kmem_cache_alloc(f->s, GFP_KERNEL);
	for (int i = f->flush ? 128 : 0; i < 256; i++)
		kmem_cache_free(f->s, f->o[i]);
	if (!f->flush) {	/* alive until the other has allocated */
		pthread_barrier_wait(&f->freed);
		pthread_barrier_wait(&f->done);
	}
	return NULL;
}

/* Another thread (per CPU: on a third simulated CPU) allocates. */
static void *alloc_after_flush(void *arg)
{
	struct flushed_mag *f = arg;

	f->pinned_again = alloc_on_third_cpu(f->s, f->cpu, f->again, 144);
	if (!f->flush)
		pthread_barrier_wait(&f->done);
	return NULL;
}

static void nobodys_magazine(bool flush)
{
	static struct flushed_mag f;
	void *sorted[256];
	unsigned int reused;
	pthread_t t, u;

	f.flush = flush;
	f.cpu = sched_getcpu();
	f.s = kmem_cache_create("depot-nobodys", 64, 0, SLAB_NO_MERGE, NULL);
	ck_assert_uint_eq(f.s->magsize, 128);
	ck_assert_uint_lt(f.s->id, KMEM_SLOTS_INLINE);	/* slot_reuses() */
	pthread_barrier_init(&f.freed, NULL, 2);
	pthread_barrier_init(&f.done, NULL, 2);
	pthread_create(&t, NULL, fill_one_magazine, &f);
	if (flush) {
		pthread_join(t, NULL);	/* per thread: its exit flushes */
		if (slab_percpu)
			magazine_cpu_drain((unsigned int)f.cpu +
					   kmem_nr_cpu_ids);
	} else {
		pthread_barrier_wait(&f.freed);
	}
	ck_assert_uint_eq(info_of("depot-nobodys").depot_objs, 128);
	pthread_create(&u, NULL, alloc_after_flush, &f);
	pthread_join(u, NULL);
	if (!flush)
		pthread_join(t, NULL);
	ck_assert(f.pinned && f.pinned_again);
	memcpy(sorted, f.o, sizeof(sorted));
	qsort(sorted, 256, sizeof(void *), ptr_cmp);
	reused = count_in(f.again, 144, sorted, 256);
	ck_assert_msg(reused == 128,
		      "%u of the 128 objects in the %s magazine were handed "
		      "out again", reused, flush ? "flushed" : "consumer's");
	for (int i = 0; i < 144; i++)
		kmem_cache_free(f.s, f.again[i]);
	if (flush)
		for (int i = 0; i < 128; i++)
			kmem_cache_free(f.s, f.o[i]);
	ck_assert_int_eq(slab_validate(f.s), 0);
	pthread_barrier_destroy(&f.freed);
	pthread_barrier_destroy(&f.done);
	kmem_cache_destroy(f.s);
}

START_TEST(test_depot_gives_nobodys_magazine_to_anyone)
{
	kmem_init();	/* the mode is chosen at start-up */
	kmem_config.decay_ms = 600000;	/* the reaper leaves the depot be */
	nobodys_magazine(false);	/* a consumer's */
	nobodys_magazine(true);		/* a flush's */
}
END_TEST

/* ---- Per-CPU magazines ------------------------------------------------ */

/* Run the calling thread on CPU @cpu only.  Return: false if not allowed. */
static bool pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return !pthread_setaffinity_np(pthread_self(), sizeof(set), &set) &&
	       sched_getcpu() == cpu;
}

/* Objects in CPU block @cpu's slot for @s (quiescent: no slow path in it). */
static unsigned int cpu_holds(unsigned int cpu, struct kmem_cache *s)
{
	struct slab_thread *st = slab_cpu_table[cpu];
	struct magazine_slot *c;

	if (!st)
		return 0;
	c = &st->slots[s->id];
	if (!c->magsize || c->cache_id != s->id)
		return 0;
	ck_assert_uint_ne(c->prev_rounds, SLOT_BUSY);
	return c->rounds + c->prev_rounds;
}

struct stay_arg {
	struct kmem_cache *s;
	int cpu;
	unsigned int bias;
	unsigned int n;		/* objects to allocate (0: 64) */
	void *o[256];
	bool pinned;
};

/* On CPU @cpu (simulated CPU @cpu + @bias): allocate @n, or free them. */
static void *stay_alloc(void *arg)
{
	struct stay_arg *a = arg;

	a->pinned = pin_to(a->cpu);
	slab_set_cpu_bias(a->bias);
	if (!a->n)
		a->n = 64;
	for (unsigned int i = 0; i < a->n; i++)
		a->o[i] = kmem_cache_alloc(a->s, GFP_KERNEL);
	return NULL;
}

static void *stay_free(void *arg)
{
	struct stay_arg *a = arg;

	a->pinned = pin_to(a->cpu);
	slab_set_cpu_bias(a->bias);
	for (unsigned int i = 0; i < a->n; i++)
		kmem_cache_free(a->s, a->o[i]);
	return NULL;
}

static void run_on(void *(*fn)(void *), struct stay_arg *a)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, fn, a), 0);
	pthread_join(t, NULL);
	ck_assert_msg(a->pinned, "could not run a thread on CPU %d", a->cpu);
}

/*
 * Issue 15: an object freed on a CPU is next handed out on that CPU,
 * whichever thread asks.  A frees 64 objects on CPU x; B, on another
 * (simulated) CPU, gets none of them; C, a new thread on CPU x that
 * takes as many objects as x's magazines hold, gets all 64.  (With
 * per-thread magazines A's objects left with A's magazines at its exit,
 * for the depot.)
 */
START_TEST(test_percpu_objects_stay_on_cpu)
{
	struct kmem_cache *s = kmem_cache_create("stay", 64, 0, SLAB_NO_MERGE,
						 NULL);
	static struct stay_arg a, b, c;
	int cpu = sched_getcpu();

	if (!slab_percpu) {
		kmem_cache_destroy(s);
		return;
	}
	ck_assert_int_ge(cpu, 0);
	a = (struct stay_arg){ .s = s, .cpu = cpu };
	/* Past the warm-up: the CPU's slot has its magazines. */
	for (int k = 0; k < 2; k++) {
		run_on(stay_alloc, &a);
		run_on(stay_free, &a);
	}
	ck_assert_uint_ge(cpu_holds((unsigned int)cpu, s), 64);
	b = (struct stay_arg){ .s = s, .cpu = cpu, .bias = kmem_nr_cpu_ids };
	run_on(stay_alloc, &b);
	c = (struct stay_arg){ .s = s, .cpu = cpu,
			       .n = cpu_holds((unsigned int)cpu, s) };
	ck_assert_uint_le(c.n, 256);
	run_on(stay_alloc, &c);
	for (int i = 0; i < 64; i++) {
		bool found = false;

		for (int j = 0; j < 64; j++)
			ck_assert_ptr_ne(b.o[j], a.o[i]);
		for (unsigned int j = 0; j < c.n; j++)
			found |= c.o[j] == a.o[i];
		ck_assert_msg(found, "object %d freed on CPU %d went elsewhere",
			      i, cpu);
	}
	run_on(stay_free, &b);
	run_on(stay_free, &c);
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * The fast paths use the block of the CPU the thread last took a slot on
 * (its hint) only while the kernel says it still runs there.  One thread
 * fills CPU x's magazines, then moves to CPU y: what it allocates there
 * must not come out of x's magazines, and what it frees there must go to
 * y's.  (A section that trusted the hint without the CPU id check hands
 * the thread x's objects on y, and fails here.)  Needs two CPUs the test
 * may run on.
 */
struct hop_arg {
	struct kmem_cache *s;
	int x, y;
	void *on_x[64], *on_y[64];
	unsigned int held_x, held_x_after, held_y;
	bool pinned;
};

static void *hint_hop(void *arg)
{
	struct hop_arg *h = arg;

	h->pinned = pin_to(h->x);
	if (!h->pinned)
		return NULL;
	/* Past the warm-up, then 64 objects left in x's magazines. */
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < 64; i++)
			h->on_x[i] = kmem_cache_alloc(h->s, GFP_KERNEL);
		for (int i = 0; i < 64; i++)
			kmem_cache_free(h->s, h->on_x[i]);
	}
	h->held_x = cpu_holds((unsigned int)h->x, h->s);
	h->pinned = pin_to(h->y);
	if (!h->pinned)
		return NULL;
	for (int i = 0; i < 64; i++)
		h->on_y[i] = kmem_cache_alloc(h->s, GFP_KERNEL);
	h->held_x_after = cpu_holds((unsigned int)h->x, h->s);
	for (int i = 0; i < 64; i++)
		kmem_cache_free(h->s, h->on_y[i]);
	h->held_y = cpu_holds((unsigned int)h->y, h->s);
	return NULL;
}

START_TEST(test_percpu_hint_follows_migration)
{
	struct kmem_cache *s = kmem_cache_create("hop", 64, 0, SLAB_NO_MERGE,
						 NULL);
	static struct hop_arg h;
	cpu_set_t set;
	pthread_t t;
	int cpus[2], n = 0;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	if (!slab_percpu || n < 2) {
		kmem_cache_destroy(s);
		return;
	}
	h = (struct hop_arg){ .s = s, .x = cpus[0], .y = cpus[1] };
	ck_assert_int_eq(pthread_create(&t, NULL, hint_hop, &h), 0);
	pthread_join(t, NULL);
	ck_assert_msg(h.pinned, "could not run a thread on CPUs %d and %d",
		      h.x, h.y);
	ck_assert_uint_ge(h.held_x, 64);
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 64; j++)
			ck_assert_msg(h.on_y[i] != h.on_x[j],
				      "object allocated on CPU %d came from CPU "
				      "%d's magazines", h.y, h.x);
	ck_assert_uint_eq(h.held_x_after, h.held_x);
	ck_assert_uint_ge(h.held_y, 64);
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * 64 CPUs on a 2-core machine: a thread's CPU index is the CPU it runs on
 * plus slab_tls_cpu_bias, a multiple of the real CPU count, so two
 * threads share a simulated CPU only when they run on the same real one
 * (where rseq orders them), as on a machine with that many CPUs.  Each
 * thread hops to another simulated CPU every 32 operations and hands
 * every 4th object to the next thread to free, while another thread
 * empties the cache's slot on every CPU and drains whole simulated CPUs
 * from outside, over and over.  Every object carries a tag while it is
 * out: handing one out twice, losing one or breaking a slab shows.
 */
#define SIM_THREADS	8
#define SIM_OPS		40000
#define SIM_LIVE	128
#define SIM_TAG		0x5e1ec7ed00000000UL

struct sim_thread {
	struct kmem_cache *s;
	unsigned int id, seed, groups;
	pthread_mutex_t lock;		/* the handoff from the previous one */
	void *handoff[64];
	unsigned int nr_handoff;
	unsigned long hops, handed;
};

static struct sim_thread sim[SIM_THREADS];

static void sim_take(void *o, unsigned int id)
{
	unsigned long *w = o;

	ck_assert_msg((w[2] & ~0xffffffffUL) != SIM_TAG,
		      "object %p handed out while thread %lu holds it", o,
		      w[2] & 0xffffffffUL);
	w[2] = SIM_TAG | id;
}

static void sim_put(struct kmem_cache *s, void *o)
{
	unsigned long *w = o;

	ck_assert_uint_eq(w[2] & ~0xffffffffUL, SIM_TAG);
	w[2] = 0;
	kmem_cache_free(s, o);
}

static void *sim_worker(void *arg)
{
	struct sim_thread *t = arg, *next = &sim[(t->id + 1) % SIM_THREADS];
	void *live[SIM_LIVE] = { NULL };

	for (unsigned int op = 0; op < SIM_OPS; op++) {
		unsigned int k = rand_r(&t->seed) % SIM_LIVE;

		if (op % 32 == 0) {
			slab_set_cpu_bias((rand_r(&t->seed) % t->groups) *
					  kmem_nr_cpu_ids);
			t->hops++;
		}
		if (live[k]) {
			void *o = live[k];

			live[k] = NULL;
			if (op % 4 == 0) {
				pthread_mutex_lock(&next->lock);
				if (next->nr_handoff < 64) {
					next->handoff[next->nr_handoff++] = o;
					o = NULL;
					t->handed++;
				}
				pthread_mutex_unlock(&next->lock);
			}
			if (o)
				sim_put(t->s, o);
		} else {
			live[k] = kmem_cache_alloc(t->s, GFP_KERNEL);
			ck_assert_ptr_nonnull(live[k]);
			sim_take(live[k], t->id);
		}
		pthread_mutex_lock(&t->lock);
		while (t->nr_handoff)
			sim_put(t->s, t->handoff[--t->nr_handoff]);
		pthread_mutex_unlock(&t->lock);
	}
	for (unsigned int k = 0; k < SIM_LIVE; k++)
		if (live[k])
			sim_put(t->s, live[k]);
	return NULL;
}

/*
 * Meanwhile, empty every CPU's slot of the cache from outside, and drain
 * whole simulated CPUs, over and over: slots taken out from another CPU
 * while their own threads pop and push.
 */
static atomic_bool sim_stop;

static void *sim_shrinker(void *arg)
{
	struct kmem_cache *s = arg;
	unsigned int seed = 99, cpus = max(64 / kmem_nr_cpu_ids, 1U) *
					 kmem_nr_cpu_ids;
	unsigned long rounds = 0;

	while (!atomic_load(&sim_stop) || rounds < 10) {
		kmem_cache_shrink(s);
		magazine_cpu_drain(rand_r(&seed) % cpus);
		rounds++;
	}
	return (void *)rounds;
}

/* Objects all CPU blocks hold for @s, and how many blocks hold any. */
static unsigned long sim_held(struct kmem_cache *s, unsigned int *blocks)
{
	unsigned long n = 0;

	*blocks = 0;
	for (unsigned int cpu = 0; cpu < KMEM_MAX_CPUS; cpu++) {
		unsigned int h = cpu_holds(cpu, s);

		n += h;
		*blocks += h != 0;
	}
	return n;
}

START_TEST(test_percpu_64_cpus)
{
	struct kmem_cache *s;
	pthread_t th[SIM_THREADS], shrinker;
	unsigned long hops = 0, handed = 0, held;
	void *shrinks;
	unsigned int blocks, groups;
	struct kmem_slabinfo si;

	s = kmem_cache_create("sim64", 64, 0, SLAB_NO_MERGE, NULL);
	if (!slab_percpu) {
		kmem_cache_destroy(s);
		return;
	}
	groups = max(64 / kmem_nr_cpu_ids, 1U);
	for (unsigned int i = 0; i < SIM_THREADS; i++) {
		sim[i] = (struct sim_thread){ .s = s, .id = i, .seed = 7 * i + 1,
					      .groups = groups };
		pthread_mutex_init(&sim[i].lock, NULL);
	}
	atomic_store(&sim_stop, false);
	for (unsigned int i = 0; i < SIM_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, sim_worker,
						&sim[i]), 0);
	ck_assert_int_eq(pthread_create(&shrinker, NULL, sim_shrinker, s), 0);
	for (unsigned int i = 0; i < SIM_THREADS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&sim_stop, true);
	pthread_join(shrinker, &shrinks);
	ck_assert_uint_ge((unsigned long)shrinks, 10);
	/* The last handoffs, after their receivers stopped looking. */
	for (unsigned int i = 0; i < SIM_THREADS; i++) {
		while (sim[i].nr_handoff)
			sim_put(s, sim[i].handoff[--sim[i].nr_handoff]);
		hops += sim[i].hops;
		handed += sim[i].handed;
	}
	ck_assert_uint_eq(hops, SIM_THREADS * SIM_OPS / 32);
	/* Each handoff buffer takes 64 before its owner has to look. */
	ck_assert_uint_ge(handed, 64 * SIM_THREADS);
	held = sim_held(s, &blocks);
	blocks = 0;
	for (unsigned int cpu = 0; cpu < KMEM_MAX_CPUS; cpu++)
		blocks += slab_cpu_table[cpu] != NULL;
	ck_assert_msg(blocks >= 16, "only %u of %u simulated CPUs were used",
		      blocks, groups * kmem_nr_cpu_ids);
	si = info_of("sim64");
	ck_assert_uint_eq(si.inuse_objs, 0);
	ck_assert_uint_eq(si.cpu_objs, held);
	/* The last handoffs went into this thread's magazines: the main
	 * thread keeps its own (slab.md, "The main thread"). */
	ck_assert_uint_eq(si.active_objs,
			  si.depot_objs + held + si.thread_objs);
	ck_assert_uint_eq(si.allocs, si.frees);
	ck_assert_int_eq(slab_validate(s), 0);
	/* kmem_cache_shrink() empties every CPU's slot, as the kernel's. */
	kmem_cache_shrink(s);
	ck_assert_uint_eq(sim_held(s, &blocks), 0);
	ck_assert_uint_eq(info_of("sim64").active_objs, 0);
	ck_assert_int_eq(slab_validate(s), 0);
	ck_assert_int_eq(buddy_validate(), 0);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * A CPU whose thread only frees and allocates in turn between two reaper
 * passes is busy, not idle: each allocation pops the object freed last
 * from the previous magazine and moves the slot's reused count, which
 * cpu_activity() reads, while its other counts end as they began.
 * Without reused in the fingerprint, the second pass drained a CPU the
 * online list left out while a thread worked on it.  The thread makes
 * its first calls (its slow paths: the block becomes its own) before the
 * first pass, and only fast-path cycles between the two.
 */
static pthread_barrier_t cycle_bar;

static void *stay_cycle(void *arg)
{
	struct stay_arg *a = arg;

	a->pinned = pin_to(a->cpu);
	slab_set_cpu_bias(a->bias);
	for (int i = 0; i < 2; i++)
		kmem_cache_free(a->s, kmem_cache_alloc(a->s, GFP_KERNEL));
	pthread_barrier_wait(&cycle_bar);	/* the first pass */
	pthread_barrier_wait(&cycle_bar);
	for (int i = 0; i < 1000; i++)
		kmem_cache_free(a->s, kmem_cache_alloc(a->s, GFP_KERNEL));
	return NULL;
}

START_TEST(test_percpu_reuse_is_activity)
{
	struct kmem_cache *s = kmem_cache_create("cycle", 64, 0, SLAB_NO_MERGE,
						 NULL);
	unsigned long online[BITS_TO_LONGS(KMEM_MAX_CPUS)];
	static struct stay_arg a;
	int cpu = sched_getcpu();
	unsigned int idx;
	pthread_t t;

	if (!slab_percpu || 2 * kmem_nr_cpu_ids > KMEM_MAX_CPUS) {
		kmem_cache_destroy(s);
		return;
	}
	ck_assert(kmem_cpus_online(online, KMEM_MAX_CPUS));
	a = (struct stay_arg){ .s = s, .cpu = cpu, .bias = kmem_nr_cpu_ids };
	idx = (unsigned int)cpu + a.bias;
	for (int k = 0; k < 2; k++) {
		run_on(stay_alloc, &a);
		run_on(stay_free, &a);
	}
	ck_assert_uint_ge(cpu_holds(idx, s), 64);
	online[cpu / BITS_PER_LONG] &= ~(1UL << (cpu % BITS_PER_LONG));
	pthread_barrier_init(&cycle_bar, NULL, 2);
	ck_assert_int_eq(pthread_create(&t, NULL, stay_cycle, &a), 0);
	pthread_barrier_wait(&cycle_bar);
	magazine_drain_offline(online);		/* notes what the block did */
	pthread_barrier_wait(&cycle_bar);
	pthread_join(t, NULL);
	ck_assert_msg(a.pinned, "could not run a thread on CPU %d", a.cpu);
	magazine_drain_offline(online);		/* it did more: kept */
	ck_assert_uint_ge(cpu_holds(idx, s), 64);
	magazine_drain_offline(online);		/* idle since: drained */
	ck_assert_uint_eq(cpu_holds(idx, s), 0);
	pthread_barrier_destroy(&cycle_bar);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * CPU hotplug: a CPU goes offline while its magazines hold objects.  No
 * thread will run there to use them; the reaper's pass (which reads
 * /sys/devices/system/cpu/online) gives them back.  Here a CPU of this
 * machine is made to look offline to magazine_drain_offline(), with two
 * simulated CPUs on it filled first: their objects go to the depot and
 * the slabs, none lost; CPUs still online keep theirs; and a thread that
 * runs on the drained CPU later starts from an empty slot.
 */
START_TEST(test_percpu_offline_cpu_drained)
{
	struct kmem_cache *s = kmem_cache_create("hotplug", 64, 0,
						 SLAB_NO_MERGE, NULL);
	unsigned long online[BITS_TO_LONGS(KMEM_MAX_CPUS)];
	static struct stay_arg a[3];
	int cpu = sched_getcpu(), other = -1;
	unsigned int blocks, idx[3], n = 2;
	struct kmem_slabinfo si;
	cpu_set_t allowed;

	if (!slab_percpu || 4 * kmem_nr_cpu_ids > KMEM_MAX_CPUS) {
		kmem_cache_destroy(s);
		return;
	}
	ck_assert(kmem_cpus_online(online, KMEM_MAX_CPUS));
	ck_assert((online[cpu / BITS_PER_LONG] >> (cpu % BITS_PER_LONG)) & 1);
	ck_assert_int_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	for (int i = 0; i < CPU_SETSIZE && other < 0; i++)
		if (i != cpu && CPU_ISSET(i, &allowed))
			other = i;
	if (other >= 0)
		n = 3;	/* and one on a CPU that stays online */
	for (unsigned int i = 0; i < n; i++) {
		a[i] = (struct stay_arg){ .s = s, .cpu = i < 2 ? cpu : other,
					  .bias = (i + 1) * kmem_nr_cpu_ids };
		idx[i] = (unsigned int)a[i].cpu + a[i].bias;
		for (int k = 0; k < 2; k++) {
			run_on(stay_alloc, &a[i]);
			run_on(stay_free, &a[i]);
		}
		ck_assert_uint_ge(cpu_holds(idx[i], s), 64);
	}
	online[cpu / BITS_PER_LONG] &= ~(1UL << (cpu % BITS_PER_LONG));
	/*
	 * The first pass after the CPU went offline notes what its blocks
	 * did; the second, finding them idle since, drains them.
	 */
	magazine_drain_offline(online);
	ck_assert_uint_ge(cpu_holds(idx[0], s), 64);
	magazine_drain_offline(online);
	ck_assert_uint_eq(cpu_holds(idx[0], s), 0);
	ck_assert_uint_eq(cpu_holds(idx[1], s), 0);
	if (n == 3)
		ck_assert_uint_ge(cpu_holds(idx[2], s), 64);
	si = info_of("hotplug");
	ck_assert_uint_eq(si.inuse_objs, 0);
	ck_assert_uint_eq(si.active_objs, si.depot_objs + sim_held(s, &blocks));
	ck_assert_int_eq(slab_validate(s), 0);
	/* Back online: a thread there starts from an empty slot. */
	run_on(stay_alloc, &a[0]);
	ck_assert_uint_eq(info_of("hotplug").inuse_objs, 64);
	run_on(stay_free, &a[0]);
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_destroy(s);
}
END_TEST

/* ---- The object freed last goes out first ------------------------------ */

/*
 * Enough cycles of one allocation and one free to fill reused, the
 * previous magazine's 15-bit count of allocations, which the slow path
 * retires at 0x8000: the cycles go on through it unchanged.
 */
enum { LIFO_WARM = 40, LIFO_CYCLES = 0x8000 + 1000 };

struct lifo_run {
	struct kmem_cache *s;
	bool pinned;
	void *freed[3], *got[3];
	void *first;		/* the cycles' first object */
	unsigned int others;	/* cycles that got another object */
};

static void *lifo_thread(void *arg)
{
	struct lifo_run *r = arg;
	void *o[LIFO_WARM], *p;

	r->pinned = pin_to(sched_getcpu());
	if (!r->pinned)
		return NULL;
	/* Past the warm-up: the slot has a loaded magazine. */
	for (int i = 0; i < LIFO_WARM; i++)
		o[i] = kmem_cache_alloc(r->s, GFP_KERNEL);
	for (int i = 0; i < 3; i++) {
		r->freed[i] = o[10 * (i + 1)];
		kmem_cache_free(r->s, r->freed[i]);
	}
	for (int i = 0; i < 3; i++)
		r->got[i] = kmem_cache_alloc(r->s, GFP_KERNEL);
	for (int i = 0; i < LIFO_CYCLES; i++) {
		p = kmem_cache_alloc(r->s, GFP_KERNEL);
		if (!i)
			r->first = p;
		r->others += p != r->first;
		memset(p, 0x5a, 64);
		kmem_cache_free(r->s, p);
	}
	for (int i = 0; i < 3; i++)
		kmem_cache_free(r->s, r->got[i]);
	for (int i = 0; i < LIFO_WARM; i++)
		if (i % 10 || !i || i > 30)
			kmem_cache_free(r->s, o[i]);
	return NULL;
}

/*
 * Issue 14: an allocation is handed the object its thread (or CPU) freed
 * last, whose cache line is the warmest, while the slot's previous
 * magazine holds one; a cycle of one allocation and one free then uses
 * one object, not every object of a magazine in turn.  Before, frees went
 * to the previous magazine and allocations came from the loaded one
 * alone, so the cycle walked through up to a magazine's worth of objects
 * (128 KiB of them for the larger sizes: peak RSS), and the object came
 * back only after the loaded magazine ran out.  The counts stay exact:
 * the allocations from the previous magazine are counted in its reused
 * word (struct kmem_stats_slot), which the slow path retires at 0x8000.
 * Pinned, so that the frees and the allocations are one CPU's.
 */
START_TEST(test_last_free_first)
{
	static struct lifo_run r;
	struct kmem_slabinfo si;
	pthread_t t;

	r.s = kmem_cache_create("lifo", 64, 0, SLAB_NO_MERGE, NULL);
	pthread_create(&t, NULL, lifo_thread, &r);
	pthread_join(t, NULL);
	ck_assert_msg(r.pinned, "could not pin the thread to its CPU");
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_eq(r.got[i], r.freed[2 - i]);
	ck_assert_msg(!r.others, "%u of %d cycles got another object",
		      r.others, LIFO_CYCLES);
	si = info_of("lifo");
	ck_assert_uint_eq(si.allocs, LIFO_WARM + 3 + LIFO_CYCLES);
	ck_assert_uint_eq(si.frees, LIFO_WARM + 3 + LIFO_CYCLES);
	ck_assert_uint_eq(si.inuse_objs, 0);
	kmem_cache_destroy(r.s);
}
END_TEST

/* ---- Address order ---------------------------------------------------- */

enum { ORDER_OBJS = 16 + 4 * 128 };	/* the warm-up, then four refills */

struct order_run {
	struct kmem_cache *s;
	char *o[ORDER_OBJS];
	bool pinned;
};

static void *order_thread(void *arg)
{
	struct order_run *r = arg;

	r->pinned = pin_to(sched_getcpu());
	for (int i = 0; i < ORDER_OBJS; i++)
		r->o[i] = kmem_cache_alloc(r->s, GFP_KERNEL);
	return NULL;
}

/*
 * Issue 14 (batch): a magazine filled from the slabs hands its objects
 * out lowest address first, as a new slab's free list does in the
 * kernel's SLUB.  Objects allocated one after another then lie one after
 * another in memory, and a program that frees or walks them in the order
 * it allocated them goes forwards through memory, which the CPU's
 * prefetchers follow.  Handed out from the top of the array the slabs
 * filled, they came highest address first.  Pinned, so that the refills
 * are one CPU's; pairs on different pages (another slab, a KFENCE sample)
 * are not compared.  Those that share a cache line with what lies below
 * their run go last (test_remote_free_not_handed_back says why).
 */
START_TEST(test_refill_hands_out_in_address_order)
{
	static struct order_run r;
	unsigned int same = 0, down = 0;
	pthread_t t;

	r.s = kmem_cache_create("ascending", 64, 0, SLAB_NO_MERGE, NULL);
	pthread_create(&t, NULL, order_thread, &r);
	pthread_join(t, NULL);
	ck_assert(r.pinned);
	for (int i = 1; i < ORDER_OBJS; i++) {
		if (((unsigned long)r.o[i] ^ (unsigned long)r.o[i - 1]) >=
		    PAGE_SIZE)
			continue;
		same++;
		down += r.o[i] < r.o[i - 1];
	}
	ck_assert_msg(same >= ORDER_OBJS / 2,
		      "only %u of %d consecutive objects shared a page", same,
		      ORDER_OBJS - 1);
	/*
	 * Out of order only the objects that share a line with what lies
	 * below their run, here a slab's header: one per slab or so, where
	 * the order of before had all but one of each refill's 128.
	 */
	ck_assert_msg(down <= ORDER_OBJS / 32,
		      "%u of %u consecutive objects on one page came at a lower address",
		      down, same);
	for (int i = 0; i < ORDER_OBJS; i++)
		kmem_cache_free(r.s, r.o[i]);
	kmem_cache_destroy(r.s);
}
END_TEST

/*
 * Issue 14: a slot's working set is trimmed.  A thread on one (simulated)
 * CPU frees 200 objects of a cache it then stops using, and goes on with
 * another cache.  Before the trim the first cache's magazines on that
 * CPU kept their objects (and so their slabs) for as long as the CPU was
 * online, a thread's until it exited; now, within a few thousand slow
 * paths of the other cache, they go back to the slabs, while the cache
 * in use is never trimmed.  In both modes (test_slab_perthread).
 */
struct gc_arg {
	struct kmem_cache *idle, *busy;
	int cpu;
	unsigned int bias;
	unsigned int held_before, held_after, rounds;
	bool pinned;
};

/* Objects in the slot for @s of the calling thread (its CPU's: @idx). */
static unsigned int slot_holds(unsigned int idx, struct kmem_cache *s)
{
	struct magazine_slot *c = &kmem_tls_slab->slots[s->id];

	if (slab_percpu)
		return cpu_holds(idx, s);
	return c->magsize && c->cache_id == s->id ?
	       c->rounds + c->prev_rounds : 0;
}

static void *gc_thread(void *arg)
{
	struct gc_arg *a = arg;
	unsigned int idx = (unsigned int)a->cpu + a->bias;
	static void *o[300];

	a->pinned = pin_to(a->cpu);
	if (!a->pinned)
		return NULL;
	slab_set_cpu_bias(a->bias);
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 200; i++)
			o[i] = kmem_cache_alloc(a->idle, GFP_KERNEL);
		for (int i = 0; i < 200; i++)
			kmem_cache_free(a->idle, o[i]);
	}
	a->held_before = slot_holds(idx, a->idle);
	/* About 5 slow paths a round; 2 * 16 * 64 bring two looks. */
	for (a->rounds = 0; a->rounds < 20000; a->rounds++) {
		for (int i = 0; i < 300; i++)
			o[i] = kmem_cache_alloc(a->busy, GFP_KERNEL);
		for (int i = 0; i < 300; i++)
			kmem_cache_free(a->busy, o[i]);
		if (!slot_holds(idx, a->idle))
			break;
	}
	a->held_after = slot_holds(idx, a->idle);
	return NULL;
}

START_TEST(test_idle_slot_trimmed)
{
	struct kmem_cache *idle = kmem_cache_create("gc-idle", 1024, 0,
						    SLAB_NO_MERGE, NULL);
	struct kmem_cache *busy = kmem_cache_create("gc-busy", 64, 0,
						    SLAB_NO_MERGE, NULL);
	static struct gc_arg a;
	struct kmem_slabinfo si;
	pthread_t t;
	void *o[8];

	if (!idle->magsize || 5 * kmem_nr_cpu_ids > KMEM_MAX_CPUS) {
		kmem_cache_destroy(busy);
		kmem_cache_destroy(idle);
		return;
	}
	a = (struct gc_arg){ .idle = idle, .busy = busy, .cpu = sched_getcpu(),
			     .bias = slab_percpu ? 4 * kmem_nr_cpu_ids : 0 };
	ck_assert_int_ge(a.cpu, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, gc_thread, &a), 0);
	pthread_join(t, NULL);
	ck_assert_msg(a.pinned, "could not run a thread on CPU %d", a.cpu);
	ck_assert_uint_ge(a.held_before, 64);
	ck_assert_msg(a.held_after == 0,
		      "an unused cache's magazines still hold %u of %u "
		      "objects after %u rounds of another cache",
		      a.held_after, a.held_before, a.rounds);
	ck_assert_uint_eq(busy->trimmed, 0);
	ck_assert_uint_ge(idle->trimmed, a.held_before);
	/* The objects are back in their slabs (or in the depot), none lost. */
	si = info_of("gc-idle");
	ck_assert_uint_eq(si.inuse_objs, 0);
	ck_assert_uint_eq(si.cpu_objs, 0);
	ck_assert_uint_eq(si.active_objs, si.depot_objs);
	ck_assert_uint_eq(si.allocs, si.frees);
	ck_assert_int_eq(slab_validate(idle), 0);
	ck_assert_int_eq(slab_validate(busy), 0);
	/* The cache still serves. */
	for (int i = 0; i < 8; i++)
		o[i] = kmem_cache_alloc(idle, GFP_KERNEL);
	for (int i = 0; i < 8; i++)
		kmem_cache_free(idle, o[i]);
	ck_assert_uint_eq(info_of("gc-idle").inuse_objs, 0);
	kmem_cache_destroy(busy);
	kmem_cache_destroy(idle);
}
END_TEST

/*
 * Issue 14 item 5: a thread's first 16 allocations from a cache take no
 * magazine (they would cost a small program a page of magazines per size
 * class); the 17th loads one, and a free loads one at once.
 */
static void *warmup_thread(void *arg)
{
	struct kmem_cache *s = arg;
	unsigned long mags = info_of("kmem_magazine_128").active_objs;
	void *o[17];

	for (int i = 0; i < 16; i++)
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_uint_eq(info_of("kmem_magazine_128").active_objs, mags);
	/* Taken from the slabs one at a time: no batch out of them. */
	ck_assert_uint_eq(info_of("warmup").active_objs, 16);
	o[16] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_uint_gt(info_of("kmem_magazine_128").active_objs, mags);
	ck_assert_uint_gt(info_of("warmup").active_objs, 17);
	for (int i = 0; i < 17; i++)
		kmem_cache_free(s, o[i]);
	return NULL;
}

static void *warmup_free_thread(void *arg)
{
	struct kmem_cache *s = arg;
	unsigned long mags = info_of("kmem_magazine_128").active_objs;
	void *o = kmem_cache_alloc(s, GFP_KERNEL);

	ck_assert_uint_eq(info_of("kmem_magazine_128").active_objs, mags);
	kmem_cache_free(s, o);
	ck_assert_uint_gt(info_of("kmem_magazine_128").active_objs, mags);
	/* In the thread's magazine, not back in its slab. */
	ck_assert_uint_eq(info_of("warmup-free").active_objs, 1);
	return NULL;
}

/*
 * Medium objects: a thread that frees and allocates 128 objects of 8 KiB
 * in bursts changes magazines (a trip to the depot under the cache lock)
 * at most once per 16 of them.  With 4-round magazines it went every 4th
 * call, a fifth of rptest's time.
 */
START_TEST(test_medium_magazines_batch)
{
	struct kmem_cache *s = kmem_cache_create("medium-burst", 8192, 0,
						 SLAB_NO_MERGE, NULL);
	static void *o[128];
	unsigned long before = 0;
	struct kmem_slabinfo i;

	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			i = info_of("medium-burst");
			before = i.alloc_slow + i.free_slow;
		}
		for (int j = 0; j < 128; j++)
			o[j] = kmem_cache_alloc(s, GFP_KERNEL);
		for (int j = 0; j < 128; j++)
			kmem_cache_free(s, o[j]);
	}
	i = info_of("medium-burst");
	ck_assert_msg(i.alloc_slow + i.free_slow - before <= 2 * 128 / 16 + 4,
		      "%lu depot trips for 256 calls on 8 KiB objects",
		      i.alloc_slow + i.free_slow - before);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_magazines_after_warmup)
{
	struct kmem_cache *s = kmem_cache_create("warmup", 64, 0,
						 SLAB_NO_MERGE, NULL);
	pthread_t t;

	ck_assert_uint_eq(s->magsize, 128);
	ck_assert_uint_lt(s->id, KMEM_SLOTS_INLINE);
	pthread_create(&t, NULL, warmup_thread, s);
	pthread_join(t, NULL);
	kmem_cache_destroy(s);
	/* A cache of its own: its depot has no magazine to hand out. */
	s = kmem_cache_create("warmup-free", 64, 0, SLAB_NO_MERGE, NULL);
	pthread_create(&t, NULL, warmup_free_thread, s);
	pthread_join(t, NULL);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_thread_exit_returns_magazines)
{
	static void *o[500];
	pthread_t t[8];
	const char *out;

	exit_cache = kmem_cache_create("exits", 128, 0, SLAB_NO_MERGE, NULL);
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, fill_and_exit, NULL);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 500; i++)
		o[i] = kmem_cache_alloc(exit_cache, GFP_KERNEL);
	/* A thread that only ever frees. */
	pthread_create(&t[0], NULL, free_only, o);
	pthread_join(t[0], NULL);
	kmem_cache_shrink(exit_cache);
	ck_assert_uint_eq(info_of("exits").thread_objs, 0);
	ck_assert_uint_eq(info_of("exits").active_objs, 0);
	ck_assert_uint_eq(info_of("exits").num_slabs, 0);
	stderr_capture_begin();
	kmem_cache_destroy(exit_cache);
	out = stderr_capture_end();
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/* ---- /proc/slabinfo format ----------------------------------------- */

START_TEST(test_slabinfo_format)
{
	struct kmem_slabinfo si = {
		.name = "conn", .active_objs = 1200, .num_objs = 2205,
		.objsize = 64, .objs_per_slab = 63, .pages_per_slab = 1,
		.magazine_size = 128, .active_slabs = 33, .num_slabs = 35,
		.depot_objs = 1024,
	};
	char line[256], out[65536];
	int fd = memfd_create("slabinfo", 0);
	ssize_t n;

	kmem_slabinfo_format_line(&si, line, sizeof(line));
	ck_assert_str_eq(line,
		"conn                1200   2205     64   63    1 : tunables  128  128    0 : slabdata     33     35   1024\n");
	strcpy(si.name, "a-name-longer-than-17");
	kmem_slabinfo_format_line(&si, line, sizeof(line));
	ck_assert_str_eq(line,
		"a-name-longer-than-17   1200   2205     64   63    1 : tunables  128  128    0 : slabdata     33     35   1024\n");
	kmem_cache_create("mine", 100, 0, SLAB_NO_MERGE, NULL);
	kmem_slabinfo_print(fd);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, sizeof(out) - 1);
	out[n] = '\0';
	{
		const char *want = "slabinfo - version: 2.1\n"
			"# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
			"mine                   0      0    104   38    1 : tunables  128  128    0 : slabdata      0      0      0\n";

		ck_assert_int_eq(strncmp(out, want, strlen(want)), 0);
	}
	ck_assert_ptr_nonnull(strstr(out, "\nkmalloc-8k "));
}
END_TEST

/* ---- the validator sees what it exists to see ------------------------ */

/*
 * Each test damages one invariant of a live cache on purpose, asserts that
 * slab_validate() counts it and prints what it is, then undoes the damage
 * and asserts the cache is whole again.  (Check runs each test in a child
 * of its own, so even a failed restore could not reach the next.)
 */

static void expect_slab_report(struct kmem_cache *s, int min_bad,
			       const char *needle)
{
	const char *out;
	int bad;

	stderr_capture_begin();
	bad = slab_validate(s);
	out = stderr_capture_end();
	ck_assert_msg(bad >= min_bad, "slab_validate() returned %d; printed: %s",
		      bad, out);
	ck_assert_msg(strstr(out, needle), "report lacks \"%s\": %s", needle, out);
}

/* A slab of @s with objects out (partial or full). */
static struct slab *busy_slab(struct kmem_cache *s)
{
	if (!list_empty(&s->slabs_partial))
		return list_first_entry(&s->slabs_partial, struct slab, list);
	ck_assert(!list_empty(&s->slabs_full));
	return list_first_entry(&s->slabs_full, struct slab, list);
}

/*
 * buddy_validate() walks every page; a reaper pass gives slabs back from
 * the depots and retypes their pages without the zone lock.  The
 * validator holds the passes off (reaper_pass_lock), so it may run while
 * the reaper works and must find nothing, pass after pass, until the
 * reaper has given back what the depot held and settled.
 */
START_TEST(test_validate_during_reaper_passes)
{
	/* Slabs of several pages: giving one back retypes its tail pages. */
	struct kmem_cache *s = kmem_cache_create("reap_validate", 1000, 0,
						 SLAB_NO_MERGE, NULL);
	const size_t n = 50000;		/* ~49 MiB: the reaper starts */
	void **p = malloc(n * sizeof(void *));
	struct reaper_report r;
	unsigned long slabs;
	int rounds = 0;

	kmem_config.decay_ms = 20;
	for (size_t i = 0; i < n; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(s, p[i]);
	slabs = info_of("reap_validate").num_slabs;
	ck_assert_uint_gt(info_of("reap_validate").pages_per_slab, 1);
	do {
		ck_assert_int_eq(buddy_validate(), 0);
		rounds++;
	} while (!buddy_reaper_idle() && rounds < 100000);
	ck_assert_msg(reaper_settled(&r),
		      "the reaper never settled: %lu passes, last at %lu, next %lu",
		      r.passes, r.start_ms, r.next_ms);
	/* It did give slabs back while the validator ran. */
	ck_assert_msg(info_of("reap_validate").num_slabs < slabs / 2,
		      "slabs %lu -> %lu", slabs, info_of("reap_validate").num_slabs);
	ck_assert_int_eq(buddy_validate(), 0);
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_destroy(s);
	free(p);
}
END_TEST

START_TEST(test_validate_bitmap_popcount)
{
	struct kmem_cache *s = kmem_cache_create("val-bits", 64, 0,
						 SLAB_NO_MERGE, NULL);
	void *o = kmem_cache_alloc(s, GFP_KERNEL);
	struct slab *slab = busy_slab(s);
	unsigned int inuse = slab->inuse;
	bool was_set = slab->bitmap[0] & 1UL;
	char want[128];

	ck_assert_int_eq(slab_validate(s), 0);
	slab->bitmap[0] ^= 1UL;		/* one bit flipped, inuse kept */
	snprintf(want, sizeof(want), "bitmap has %u objects out, inuse says %u",
		 was_set ? inuse - 1 : inuse + 1, inuse);
	expect_slab_report(s, 1, want);
	slab->bitmap[0] ^= 1UL;
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_free(s, o);
	kmem_cache_destroy(s);
}
END_TEST

/*
 * An object of a slab on the free list (all its objects free) marked out
 * in the bitmap, the counts agreeing with the bitmap: the slab is on the
 * wrong list.  A debug cache (no magazines) leaves the slab there.
 */
START_TEST(test_validate_free_slab_object_out)
{
	struct kmem_cache *s = kmem_cache_create("val-free", 64, 0,
						 SLAB_CONSISTENCY_CHECKS, NULL);
	struct slab *slab;
	char want[128];

	kmem_cache_free(s, kmem_cache_alloc(s, GFP_KERNEL));
	ck_assert(!list_empty(&s->slabs_free));
	slab = list_first_entry(&s->slabs_free, struct slab, list);
	ck_assert_uint_eq(slab->inuse, 0);
	ck_assert_int_eq(slab_validate(s), 0);
	slab->bitmap[0] |= 1UL;
	slab->inuse = 1;
	s->active_objs++;
	snprintf(want, sizeof(want), " with 1 of %u objects on list %d",
		 s->objects, SLAB_FREE_LIST);
	expect_slab_report(s, 1, want);
	slab->bitmap[0] &= ~1UL;
	slab->inuse = 0;
	s->active_objs--;
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_destroy(s);
}
END_TEST

START_TEST(test_validate_slab_counts)
{
	struct kmem_cache *s = kmem_cache_create("val-counts", 64, 0,
						 SLAB_NO_MERGE, NULL);
	void *o = kmem_cache_alloc(s, GFP_KERNEL);
	char want[128];

	ck_assert_int_eq(slab_validate(s), 0);
	s->active_objs++;
	snprintf(want, sizeof(want), "%lu objects out in slabs, count says %lu",
		 s->active_objs - 1, s->active_objs);
	expect_slab_report(s, 1, want);
	s->active_objs--;
	s->nr_slabs++;
	snprintf(want, sizeof(want),
		 "%lu slabs on lists + 0 RCU-pending, count says %lu",
		 s->nr_slabs - 1, s->nr_slabs);
	expect_slab_report(s, 1, want);
	s->nr_slabs--;
	ck_assert_int_eq(slab_validate(s), 0);
	kmem_cache_free(s, o);
	kmem_cache_destroy(s);
}
END_TEST

/* A write into a free, poisoned object: reported, then repaired. */
START_TEST(test_validate_poison_overwritten)
{
	struct kmem_cache *s = kmem_cache_create("val-poison", 100, 0,
						 SLAB_POISON, NULL);
	unsigned char *o = kmem_cache_alloc(s, GFP_KERNEL);
	void *keep = kmem_cache_alloc(s, GFP_KERNEL);

	kmem_cache_free(s, o);
	ck_assert_int_eq(slab_validate(s), 0);
	o[10] = 0x42;			/* a use after free */
	expect_slab_report(s, 1, "BUG val-poison: Poison overwritten");
	ck_assert_int_eq(slab_validate(s), 0);	/* repaired */
	ck_assert(all_bytes(o, 99, POISON_FREE));
	o[10] = 0x42;
	{
		const char *out;

		stderr_capture_begin();
		ck_assert_int_ge(slab_validate(s), 1);
		out = stderr_capture_end();
		ck_assert_ptr_nonnull(strstr(out, "First byte 0x42 instead of 0x6b"));
		ck_assert_ptr_nonnull(strstr(out, "FIX val-poison: Restoring Poison"));
	}
	kmem_cache_free(s, keep);
	kmem_cache_destroy(s);
}
END_TEST

#if KMEM_DEBUG_LEVEL >= 2
/* Level 2 checks the cache itself whenever a slab changes state. */
static void damage_then_shrink(void *arg)
{
	struct kmem_cache *s = kmem_cache_create("val-l2", 64, 0,
						 SLAB_NO_MERGE, NULL);
	void *o = kmem_cache_alloc(s, GFP_KERNEL);

	(void)arg;
	s->active_objs++;
	kmem_cache_free(s, o);
	kmem_cache_shrink(s);	/* objects back to their slab: it empties */
}

START_TEST(test_expensive_tier_checks_slabs)
{
	expect_abort(damage_then_shrink, NULL,
		     "slab_validate val-l2: 1 problems after a slab state change");
	expect_abort(damage_then_shrink, NULL, "objects out in slabs, count says");
}
END_TEST
#endif

static Suite *slab_suite(void)
{
	Suite *s = suite_create("slab");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_create_destroy);
	tcase_add_test(tc, test_create_forms);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_slab_panic);
	tcase_add_test(tc, test_ctor_once);
	tcase_add_test(tc, test_alignment);
	tcase_add_test(tc, test_hwcache_align);
	tcase_add_test(tc, test_zalloc);
	tcase_add_test(tc, test_merging_rules);
	tcase_add_test(tc, test_nomerge_switch);
	tcase_add_test(tc, test_merge_keeps_alignment);
	tcase_add_test(tc, test_slabinfo_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("slabs");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_random_validate);
	tcase_add_test(tc, test_poisoned_free_objects);
	tcase_add_test(tc, test_shrink_returns_pages);
	tcase_add_test(tc, test_growing_cache_populates_slabs);
	tcase_add_test(tc, test_bulk);
	tcase_add_test(tc, test_bulk_first_use_merged);
	tcase_add_test(tc, test_depot_reclaimed_before_growing);
	tcase_add_test(tc, test_depot_bounded_in_bytes);
	tcase_add_test(tc, test_bulk_all_or_nothing);
	tcase_add_test(tc, test_destroy_with_objects);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_frees);
	tcase_add_test(tc, test_free_full_magazine);
	tcase_add_test(tc, test_debug_redzone);
	tcase_add_test(tc, test_debug_poison_and_owner);
	tcase_add_test(tc, test_debug_double_free_reported);
	tcase_add_test(tc, test_debug_reports_symbolize_unlocked);
	tcase_add_test(tc, test_debug_report_overflow);
	tcase_add_test(tc, test_double_free_every_cache);
	tcase_add_test(tc, test_marker_outside_object);
	tcase_add_test(tc, test_debug_env_and_trace);
	tcase_add_test(tc, test_debug_all_caches);
	suite_add_tcase(s, tc);

	/*
	 * Not under TSan: the reader's last look at the object and the slab's
	 * free after the grace period are ordered by liburcu, which is not
	 * instrumented, so TSan reports them as a race (Documentation/
	 * testing.md).  There is no third-party frame to suppress.
	 */
	tc = tcase_create("rcu-reader");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_typesafe_by_rcu);
	suite_add_tcase(s, tc);

	tc = tcase_create("rcu-threads");
	tcase_set_tags(tc, "threads");	/* the TSan build runs these */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_kfree_rcu);
	tcase_add_test(tc, test_producer_consumer);
	tcase_add_test(tc, test_thread_exit_returns_magazines);
	tcase_add_test(tc, test_free_first_then_alloc);
	tcase_add_test(tc, test_remote_free_not_handed_back);
	tcase_add_test(tc, test_remote_free_moved_not_handed_back);
	tcase_add_test(tc, test_cpu_taken_in_turns);
	tcase_add_test(tc, test_exited_thread_owns_no_block);
	tcase_add_test(tc, test_depot_returns_own_magazines);
	tcase_add_test(tc, test_depot_hands_over_only_a_surplus);
	tcase_add_test(tc, test_depot_gives_exited_reusers_magazine);
	tcase_add_test(tc, test_depot_gives_nobodys_magazine_to_anyone);
	tcase_add_test(tc, test_magazines_after_warmup);
	tcase_add_test(tc, test_medium_magazines_batch);
	tcase_add_test(tc, test_percpu_objects_stay_on_cpu);
	tcase_add_test(tc, test_percpu_hint_follows_migration);
	tcase_add_test(tc, test_percpu_64_cpus);
	tcase_add_test(tc, test_percpu_offline_cpu_drained);
	tcase_add_test(tc, test_percpu_reuse_is_activity);
	tcase_add_test(tc, test_idle_slot_trimmed);
	tcase_add_test(tc, test_refill_hands_out_in_address_order);
	tcase_add_test(tc, test_last_free_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("validate");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_validate_bitmap_popcount);
	tcase_add_test(tc, test_validate_free_slab_object_out);
	tcase_add_test(tc, test_validate_slab_counts);
	tcase_add_test(tc, test_validate_poison_overwritten);
	tcase_add_test(tc, test_validate_during_reaper_passes);
#if KMEM_DEBUG_LEVEL >= 2
	tcase_add_test(tc, test_expensive_tier_checks_slabs);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(slab_suite());
}
