// SPDX-License-Identifier: MIT
/*
 * tests/test_profile.c - the sampled allocation profiler (buddy/profile.c)
 * from inside a process: sampling rates, the published records, frees
 * that remove samples and unflag pages, every allocation path, overflow,
 * profiling off.  The programs of tests/profile check it from outside,
 * through kmeminfo.
 *
 * Each test runs in a fresh process (Check forks), so KMEM_PROFILE_* set
 * at its start take effect at kmem's start-up.  Statistical checks use a
 * fixed KMEM_PROFILE_SEED and bounds of at least 6 standard deviations:
 * they hold for any seed, the seed only makes a run repeatable.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>

#include "kmem_test.h"
#include "tests/pagemap.h"
#include "kmalloc/kmalloc.h"
#include "buddy/profile.h"
#include "buddy/prof_math.h"
#include "buddy/ziggurat.h"
#include <kmem/malloc.h>

/*
 * The profile's settings, before kmem starts in this (forked) test.
 * KFENCE off here as in ctest's environment: an object KFENCE guards is
 * not sampled, so the tests that count every allocation's sample failed
 * when run by hand on a loaded machine (one guarded allocation per 100
 * ms: test_profile_hashes_grow counted 19,999 of 20,000 in 5 of 30 runs
 * beside three CPU hogs).
 */
static void profile_env(const char *rate, const char *max_stacks)
{
	setenv("KMEM_KFENCE_SAMPLE_INTERVAL", "0", 1);
	setenv("KMEM_PROFILE_RATE", rate, 1);
	setenv("KMEM_PROFILE_SEED", "12345", 1);
	if (max_stacks)
		setenv("KMEM_PROFILE_MAX_STACKS", max_stacks, 1);
}

/* The published profile unit, or NULL. */
static const struct kmem_stats_profile *published(void)
{
	const struct kmem_stats_header *h = kmem_region;

	for (uint64_t off = h->units_off; off < h->units_end;) {
		const struct kmem_stats_unit *u =
			(const void *)((const char *)h + off);

		if (!u->npages)
			break;
		if (u->kind == KMEM_UNIT_PROFILE)
			return (const void *)u;
		off += (uint64_t)u->npages * h->unit_size;
	}
	return NULL;
}

static const struct kmem_stats_prof_stack *record(
	const struct kmem_stats_profile *p, uint32_t i)
{
	return (const void *)((const char *)p + p->stack_off +
			      (size_t)i * p->stack_size);
}

static uint64_t live_samples(void)
{
	const struct kmem_stats_profile *p = published();
	uint64_t n = 0;

	for (uint32_t i = 0; i < p->nr_stacks; i++)
		n += record(p, i)->live_samples;
	ck_assert_uint_eq(n, p->live_samples);
	return n;
}

/*
 * The number of samples among N allocations of s bytes is binomial with
 * p = 1 - exp(-s / rate): within 6 standard deviations of N p.
 */
static void check_rate(uint64_t samples, double n, double s, double rate)
{
	double p = -expm1(-s / rate), mean = n * p,
	       sd = sqrt(n * p * (1 - p));

	ck_assert_msg(fabs((double)samples - mean) <= 6 * sd + 1,
		      "%llu samples of %.0f allocations of %.0f bytes at rate %.0f: expected %.1f +- %.1f",
		      (unsigned long long)samples, n, s, rate, mean, 6 * sd);
}

static __attribute__((noipa)) void *site_kmalloc(size_t n)
{
	void *p = kmalloc(n, GFP_KERNEL);

	__asm__ volatile("" ::: "memory");
	return p;
}

START_TEST(test_profile_rate_and_weights)
{
	enum { N = 200000, SIZE = 256 };
	static void *objs[N];
	const struct kmem_stats_profile *p;
	uint64_t samples, est_bytes = 0, est_objs = 0;

	profile_env("65536", NULL);
	for (int i = 0; i < N; i++)
		objs[i] = site_kmalloc(SIZE);
	p = published();
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->rate, 65536);
	samples = p->samples;
	check_rate(samples, N, SIZE, 65536);
	for (uint32_t i = 0; i < p->nr_stacks; i++) {
		est_bytes += record(p, i)->live_est_bytes;
		est_objs += record(p, i)->live_est_objs;
	}
	/* Each sample stands for 1/p objects: exactly samples / p. */
	ck_assert_uint_eq(live_samples(), samples);
	ck_assert(fabs((double)est_objs / KMEM_PROF_OBJS_SCALE -
		       (double)samples / -expm1(-(double)SIZE / 65536)) <
		  samples);
	ck_assert(fabs((double)est_bytes - (double)est_objs /
					       KMEM_PROF_OBJS_SCALE * SIZE) <
		  (double)SIZE * samples);
	ck_assert(kmem_profile_validate());
	for (int i = 0; i < N; i++)
		kfree(objs[i]);
	ck_assert_uint_eq(live_samples(), 0);
	ck_assert_uint_eq(p->samples, samples);
	ck_assert(kmem_profile_validate());
}
END_TEST

/* Identical stacks share one record; the caller's frame comes first. */
START_TEST(test_profile_one_record_per_stack)
{
	const struct kmem_stats_profile *p;
	void *objs[64];
	uint32_t found = 0;

	profile_env("1", NULL);	/* every allocation */
	for (int i = 0; i < 64; i++)
		objs[i] = site_kmalloc(100);
	p = published();
	for (uint32_t i = 1; i < p->nr_stacks; i++) {
		const struct kmem_stats_prof_stack *st = record(p, i);

		if (st->live_samples == 64) {
			found++;
			ck_assert_uint_eq(st->live_bytes, 64 * 100);
			/* Frame 0 is in site_kmalloc, after its call. */
			ck_assert_uint_gt(st->frames[0],
					  (uint64_t)(uintptr_t)site_kmalloc);
			ck_assert_uint_lt(st->frames[0],
					  (uint64_t)(uintptr_t)site_kmalloc + 64);
		}
	}
	ck_assert_uint_eq(found, 1);
	for (int i = 0; i < 64; i++)
		kfree(objs[i]);
	ck_assert_uint_eq(live_samples(), 0);
}
END_TEST

/* Every allocation path samples; every free path removes and unflags. */
START_TEST(test_profile_every_path)
{
	struct kmem_cache *c;
	void *o[8];
	struct page *pg;
	unsigned long gp;
	int r;

	profile_env("1", NULL);
	c = kmem_cache_create("kt_prof", 72, 0, 0, NULL);
	ck_assert_ptr_nonnull(c);
	o[0] = kmem_cache_alloc(c, GFP_KERNEL);
	o[1] = kmalloc(40, GFP_KERNEL);
	o[2] = kmalloc(100000, GFP_KERNEL);		/* buddy block */
	o[3] = kmalloc(6 << 20, GFP_KERNEL);		/* own mapping */
	o[4] = kmem_malloc(24);
	o[5] = kmem_calloc(3, 300);
	ck_assert_int_eq(kmem_posix_memalign(&o[6], 256, 1000), 0);
	pg = alloc_pages(GFP_KERNEL, 2);
	gp = __get_free_pages(GFP_KERNEL, 0);
	r = kmem_cache_alloc_bulk(c, GFP_KERNEL, 1, &o[7]);
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(live_samples(), 10);
	for (int i = 0; i < 8; i++) {
		struct page *page = kmem_addr_to_page(o[i]);

		if (page)
			ck_assert_msg(page->flags & PGF_sampled,
				      "object %d's page not flagged", i);
	}
	kmem_cache_free(c, o[0]);
	kfree(o[1]);
	kfree(o[2]);
	kfree(o[3]);
	kmem_free(o[4]);
	o[5] = kmem_realloc(o[5], 5000);		/* moves: one more */
	kmem_free(o[5]);
	kmem_free(o[6]);
	__free_pages(pg, 2);
	free_pages(gp, 0);
	kmem_cache_free_bulk(c, 1, &o[7]);
	ck_assert_uint_eq(live_samples(), 0);
	ck_assert(kmem_profile_validate());
	kmem_cache_destroy(c);
}
END_TEST

/*
 * An unsampled object in a flagged page frees through the profiler and
 * leaves the flag while a sample remains; the last sample unflags it.
 */
START_TEST(test_profile_page_flag_lifetime)
{
	struct kmem_cache *c;
	void *a, *b, *x;
	struct page *page;

	profile_env("1", NULL);
	c = kmem_cache_create("kt_prof_page", 64, 0, 0, NULL);
	a = kmem_cache_alloc(c, GFP_KERNEL);
	b = kmem_cache_alloc(c, GFP_KERNEL);
	page = kmem_addr_to_page(a);
	ck_assert_ptr_eq(page, kmem_addr_to_page(b));
	ck_assert(page->flags & PGF_sampled);
	kmem_cache_free(c, a);
	ck_assert(page->flags & PGF_sampled);	/* b is still sampled */
	kmem_cache_free(c, b);
	ck_assert(!(page->flags & PGF_sampled));
	x = kmem_cache_alloc(c, GFP_KERNEL);	/* flagged again */
	ck_assert(kmem_addr_to_page(x)->flags & PGF_sampled);
	kmem_cache_free(c, x);
	ck_assert_uint_eq(live_samples(), 0);
	kmem_cache_destroy(c);
}
END_TEST

/*
 * Thousands of live samples: the address hashes, which start at 512
 * buckets, grow with them (rehashed as they go), and every sample is
 * still found by its free, whichever table it was put in.
 */
START_TEST(test_profile_hashes_grow)
{
	enum { N = 20000 };
	static void *obj[N];
	struct kmem_cache *c;

	profile_env("1", NULL);
	c = kmem_cache_create("kt_prof_grow", 48, 0, 0, NULL);
	for (int i = 0; i < N; i++) {
		obj[i] = i % 2 ? kmem_cache_alloc(c, GFP_KERNEL) :
				 kmalloc(16 + (size_t)i % 200, GFP_KERNEL);
		ck_assert_ptr_nonnull(obj[i]);
		if (i % 4096 == 0)
			ck_assert(kmem_profile_validate());
	}
	ck_assert_uint_ge(live_samples(), N);
	ck_assert(kmem_profile_validate());
	/* Half of them, from the middle out: chains in every table shape. */
	for (int i = N / 4; i < 3 * N / 4; i++) {
		if (i % 2)
			kmem_cache_free(c, obj[i]);
		else
			kfree(obj[i]);
		obj[i] = NULL;
	}
	ck_assert(kmem_profile_validate());
	for (int i = 0; i < N; i++) {
		if (!obj[i])
			continue;
		if (i % 2)
			kmem_cache_free(c, obj[i]);
		else
			kfree(obj[i]);
	}
	ck_assert(kmem_profile_validate());
	kmem_cache_destroy(c);
}
END_TEST

#define PRESENT_MAX	(1UL << 19)

/*
 * Page counts are exact only in a plain build that ships: a sanitizer
 * reads its shadow memory before the program writes (zero pages of its
 * own, over most of the address space), and at KMEM_DEBUG_LEVEL=2 the
 * validators read what they check.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
	KMEM_DEBUG_LEVEL >= 2
#define PAGE_COUNTS_EXACT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PAGE_COUNTS_EXACT 0
#endif
#endif
#ifndef PAGE_COUNTS_EXACT
#define PAGE_COUNTS_EXACT 1
#endif

#if PAGE_COUNTS_EXACT
/*
 * The profiler's first samples fault each page of its tables once: the
 * stack index, the stack cache and both address hashes are read by a
 * lookup where the insertion writes a moment later, and a page read
 * before it was ever written maps the zero page, which the write then
 * faults out again (performance.md, "Pages faulted twice").  After a
 * first sample of a large block, every fault of 600 samples of small
 * ones (one stack, no table grown) must bring in a page of its own
 * (tests/pagemap.h): the hashes' first entries.  Main before session 40
 * fails it, and so does a write-first bitmap without the write first
 * (prof_hash_head() marking the head's page and reading it).
 * tests/preload/refaults.c holds the tables' growth.
 */
START_TEST(test_profile_tables_faulted_once)
{
	enum { N = 600 };
	static void *obj[N];
	static unsigned long before[PRESENT_MAX], after[PRESENT_MAX];
	unsigned long nb, na, fresh;
	long f0, f1;
	void *large;

	profile_env("1", NULL);
	/*
	 * The profiler started and a first sample taken (its stack, the
	 * cache entry), of a large block: linked from its descriptor, in
	 * no hash, so that the small blocks below make both hashes' first
	 * entries.
	 */
	large = site_kmalloc(64 << 10);
	ck_assert(kmem_addr_to_page(large)->flags & PGF_prof_linked);
	pm_prepare(before, after, PRESENT_MAX);
	pm_unshare();		/* Check forked this process */
	nb = pm_snapshot(before, PRESENT_MAX);
	f0 = minor_faults();
	for (int i = 0; i < N; i++)
		obj[i] = site_kmalloc(16 + (size_t)i % 100);
	f1 = minor_faults();
	na = pm_snapshot(after, PRESENT_MAX);
	fresh = pm_fresh(before, nb, after, na);
	ck_assert_msg((unsigned long)(f1 - f0) <= fresh,
		      "%ld faults brought %lu new pages: a page faulted twice",
		      f1 - f0, fresh);
	ck_assert_uint_ge(live_samples(), N);
	ck_assert(kmem_profile_validate());
	for (int i = 0; i < N; i++)
		kfree(obj[i]);
	kfree(large);
	ck_assert(kmem_profile_validate());
}
END_TEST
#endif

/*
 * A sampled large block is linked from its head's descriptor, in no hash:
 * its free finds and removes it there, and unflags the page; a block at
 * the same place taken again is linked anew.
 */
START_TEST(test_profile_large_linked)
{
	struct page *page;
	void *a, *b;

	profile_env("1", NULL);
	a = site_kmalloc(64 << 10);
	page = kmem_addr_to_page(a);
	ck_assert_int_eq(page_type(page), PG_large);
	ck_assert(page->flags & PGF_sampled);
	ck_assert(page->flags & PGF_prof_linked);
	ck_assert_ptr_nonnull(page->prof_sample);
	ck_assert_uint_eq(live_samples(), 1);
	ck_assert(kmem_profile_validate());
	kfree(a);
	ck_assert_uint_eq(live_samples(), 0);
	ck_assert(!(page->flags & (PGF_sampled | PGF_prof_linked)));
	ck_assert(kmem_profile_validate());
	b = site_kmalloc(64 << 10);	/* the same block, as a rule */
	ck_assert(kmem_addr_to_page(b)->flags & PGF_prof_linked);
	ck_assert_uint_eq(live_samples(), 1);
	kfree(b);
	ck_assert_uint_eq(live_samples(), 0);
	ck_assert(kmem_profile_validate());
}
END_TEST

static __attribute__((noipa)) void *distinct_site(int depth)
{
	void *p;

	if (depth)
		p = distinct_site(depth - 1);
	else
		p = kmalloc(32, GFP_KERNEL);
	__asm__ volatile("" ::: "memory");
	return p;
}

/* More stacks than KMEM_PROFILE_MAX_STACKS: the rest go to record 0. */
START_TEST(test_profile_overflow_counted)
{
	const struct kmem_stats_profile *p;
	void *objs[40];

	profile_env("1", "16");
	for (int i = 0; i < 40; i++)
		objs[i] = distinct_site(i % 30);	/* 30 stacks */
	p = published();
	ck_assert_uint_eq(p->max_stacks, 16);
	ck_assert_uint_eq(p->nr_stacks, 16);
	ck_assert(record(p, 0)->flags & KMEM_PROF_STACK_OVERFLOW);
	ck_assert_uint_gt(record(p, 0)->total_samples, 0);
	ck_assert_uint_eq(live_samples(), 40);	/* none lost */
	for (int i = 0; i < 40; i++)
		kfree(objs[i]);
	ck_assert_uint_eq(live_samples(), 0);
}
END_TEST

/*
 * The distances between samples are exponential of mean KMEM_PROFILE_RATE:
 * what every weight assumes.  First, as the sampler uses it: each
 * allocation here asks for one byte more than the countdown has left, so
 * it is sampled and the countdown then holds the next distance.  Then
 * four million distances drawn directly (the sampler's function; through
 * allocations they would take minutes under ThreadSanitizer): their
 * empirical distribution against the exponential's (Kolmogorov-Smirnov:
 * the bound is exceeded with probability 1e-9 when the draw is right),
 * their mean (within 6 standard deviations), and the share and the mean
 * beyond 7.7 means (the ziggurat's tail, within 6 sd).
 */
static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * The library computes its exponentials without libm (buddy/prof_math.h):
 * they must agree with libm's to a few units in the last place, over the
 * whole range the sampler uses them on, including where 1 - e^-x is tiny
 * and where e^-x is subnormal or zero.
 */
START_TEST(test_profile_exp_matches_libm)
{
	double worst_exp = 0, worst_expm1 = 0, at_exp = 0, at_expm1 = 0;

	for (double x = 0; x < 800; x = x * 1.0001 + 1e-300) {
		double want = exp(-x), got = prof_exp_neg(x);
		double err = want >= 0x1p-1022 ? fabs(got - want) / want :
			     fabs(got - want) / 0x1p-1074;

		if (want >= 0x1p-1022 && err > worst_exp) {
			worst_exp = err;
			at_exp = x;
		}
		/* subnormals: within a couple of their units */
		ck_assert_msg(want >= 0x1p-1022 || err <= 2,
			      "exp(-%.17g): %a, libm %a", x, got, want);
		if (x > 0) {
			want = expm1(-x);
			got = prof_expm1_neg(x);
			err = fabs(got - want) / fabs(want);
			if (err > worst_expm1) {
				worst_expm1 = err;
				at_expm1 = x;
			}
		}
	}
	ck_assert_msg(worst_exp < 8 * 0x1p-52, "exp(-%.17g) off by %g",
		      at_exp, worst_exp);
	ck_assert_msg(worst_expm1 < 8 * 0x1p-52, "expm1(-%.17g) off by %g",
		      at_expm1, worst_expm1);
	ck_assert(prof_exp_neg(0) == 1.0);
	ck_assert(prof_exp_neg(746) == 0.0);
	ck_assert(prof_exp_neg(INFINITY) == 0.0);
	ck_assert(prof_expm1_neg(INFINITY) == -1.0);
	ck_assert(prof_expm1_neg(1e-300) == -1e-300);
}
END_TEST

/*
 * The ziggurat's tables are constants (buddy/ziggurat.h, from
 * tools/gen-ziggurat.py): they must be what libm computes, step for step
 * as the library once did at start-up.
 */
START_TEST(test_profile_ziggurat_table)
{
	double q = ZIG_V / exp(-ZIG_R), x = ZIG_R, prev = ZIG_R;

	ck_assert_uint_eq(zig_k[0], (uint64_t)(ZIG_R / q * ZIG_J));
	ck_assert_uint_eq(zig_k[1], 0);
	ck_assert(zig_w[0] == q / ZIG_J);
	ck_assert(zig_w[ZIG_LAYERS - 1] == ZIG_R / ZIG_J);
	ck_assert(zig_f[0] == 1.0);
	ck_assert(zig_f[ZIG_LAYERS - 1] == exp(-ZIG_R));
	for (int i = ZIG_LAYERS - 2; i >= 1; i--) {
		x = -log(ZIG_V / x + exp(-x));
		ck_assert_msg(zig_k[i + 1] == (uint64_t)(x / prev * ZIG_J) &&
			      zig_f[i] == exp(-x) && zig_w[i] == x / ZIG_J,
			      "strip %d differs from libm's", i);
		prev = x;
	}
}
END_TEST

START_TEST(test_profile_distance_exponential)
{
	enum { N = 4000000, N_ALLOC = 20000, RATE = 512 };
	static int d[N];
	double sum = 0, ks = 0, tail_p = exp(-7.69711747013104972);
	double tail_sum = 0;
	unsigned long tail = 0, bad = 0;

	profile_env("512", NULL);
	kfree(kmalloc(1, GFP_KERNEL));	/* seeds the thread */
	/* No ck_assert in the loops: each one writes to Check's pipe. */
	for (int i = 0; i < N; i++) {
		long left = kmem_prof_left;

		if (i < N_ALLOC) {
			bad += left < 0;
			kfree(site_kmalloc((size_t)left + 1));
			d[i] = (int)min(kmem_prof_left, (long)INT_MAX);
		} else {
			d[i] = (int)min(kmem_prof_draw(), (long)INT_MAX);
		}
		bad += d[i] <= 0;
		sum += (double)d[i] - 0.5;
		if (d[i] > 7.69711747013104972 * RATE) {
			tail++;
			tail_sum += (double)d[i] - 0.5 -
				    7.69711747013104972 * RATE;
		}
	}
	ck_assert_uint_eq(bad, 0);
	qsort(d, N, sizeof(d[0]), cmp_int);
	for (int i = 0; i < N;) {
		int j = i;

		while (j < N && d[j] == d[i])
			j++;
		/* P(floor(rate E) + 1 <= k) = 1 - exp(-k / rate) */
		ks = fmax(ks, fabs((double)j / N + expm1(-(double)d[i] / RATE)));
		ks = fmax(ks, fabs((double)i / N +
				   expm1(-(double)(d[i] - 1) / RATE)));
		i = j;
	}
	ck_assert_msg(ks < sqrt(log(2 / 1e-9) / (2.0 * N)),
		      "KS distance %.5f over %d draws", ks, N);
	ck_assert_msg(fabs(sum / N - RATE) < 6.0 * RATE / sqrt(N),
		      "mean distance %.1f, expected %d", sum / N, RATE);
	ck_assert_msg(fabs((double)tail - N * tail_p) <
			      6 * sqrt(N * tail_p * (1 - tail_p)) + 1,
		      "%lu distances in the tail, expected %.1f", tail,
		      N * tail_p);
	/* Exponential again beyond it: mean RATE, sd RATE / sqrt(tail). */
	ck_assert_msg(tail && fabs(tail_sum / (double)tail - RATE) <
				      6.0 * RATE / sqrt((double)tail),
		      "mean distance beyond the tail's start %.1f, expected %d",
		      tail ? tail_sum / (double)tail : 0, RATE);
	ck_assert_uint_eq(live_samples(), 0);
	ck_assert(kmem_profile_validate());
}
END_TEST

/* KMEM_PROFILE_RATE=0: nothing published, the countdown out of reach. */
START_TEST(test_profile_off)
{
	void *p;

	setenv("KMEM_PROFILE_RATE", "0", 1);
	p = kmalloc(64, GFP_KERNEL);
	kfree(p);
	p = kmalloc(64, GFP_KERNEL);
	ck_assert_ptr_null(published());
	ck_assert_int_gt(kmem_prof_left, LONG_MAX / 2);
	kfree(p);
}
END_TEST

/* Threads that only free: samples taken in one thread, removed in others. */
static void *free_all(void *arg)
{
	void **v = arg;

	for (int i = 0; i < 1000; i++)
		kfree(v[i]);
	return NULL;
}

START_TEST(test_profile_cross_thread_frees)
{
	static void *v[4][1000];
	pthread_t t[4];

	profile_env("4096", NULL);
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < 1000; i++)
			v[k][i] = kmalloc(64 + 8 * (i % 50), GFP_KERNEL);
	ck_assert_uint_gt(live_samples(), 0);
	for (int k = 0; k < 4; k++)
		pthread_create(&t[k], NULL, free_all, v[k]);
	for (int k = 0; k < 4; k++)
		pthread_join(t[k], NULL);
	ck_assert_uint_eq(live_samples(), 0);
	ck_assert(kmem_profile_validate());
}
END_TEST

/*
 * Threads that sample and free at once (nearly every allocation sampled):
 * prof_lock keeps the tables whole, and every sample is removed.
 */
static void *sample_churn(void *arg)
{
	void *keep[16] = { 0 };

	(void)arg;
	for (int i = 0; i < 20000; i++) {
		kfree(keep[i % 16]);
		keep[i % 16] = site_kmalloc(64 + 16 * (size_t)(i % 7));
	}
	for (int i = 0; i < 16; i++)
		kfree(keep[i]);
	return NULL;
}

START_TEST(test_profile_contended)
{
	pthread_t t[4];

	profile_env("64", NULL);
	/*
	 * kmem starts up here, not in two threads' first kmalloc() at once:
	 * that race (kmalloc_fast() reads a cache's slot_off while
	 * kmalloc_init() writes it, ThreadSanitizer reports it) is not what
	 * this test is about.
	 */
	kfree(kmalloc(64, GFP_KERNEL));
	for (int k = 0; k < 4; k++)
		pthread_create(&t[k], NULL, sample_churn, NULL);
	for (int k = 0; k < 4; k++)
		pthread_join(t[k], NULL);
	ck_assert_uint_gt(published()->samples, 4 * 20000 / 2);
	ck_assert_uint_eq(live_samples(), 0);
	ck_assert(kmem_profile_validate());
}
END_TEST

static Suite *profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("profile");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_profile_rate_and_weights);
	tcase_add_test(tc, test_profile_one_record_per_stack);
	tcase_add_test(tc, test_profile_every_path);
	tcase_add_test(tc, test_profile_page_flag_lifetime);
	tcase_add_test(tc, test_profile_hashes_grow);
#if PAGE_COUNTS_EXACT
	tcase_add_test(tc, test_profile_tables_faulted_once);
#endif
	tcase_add_test(tc, test_profile_large_linked);
	tcase_add_test(tc, test_profile_overflow_counted);
	tcase_add_test(tc, test_profile_off);
	tcase_add_test(tc, test_profile_distance_exponential);
	tcase_add_test(tc, test_profile_exp_matches_libm);
	tcase_add_test(tc, test_profile_ziggurat_table);
	suite_add_tcase(s, tc);
	tc = tcase_create("threads");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_profile_cross_thread_frees);
	tcase_add_test(tc, test_profile_contended);
	tcase_set_tags(tc, "threads");
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(profile_suite());
}
