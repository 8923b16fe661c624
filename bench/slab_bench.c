// SPDX-License-Identifier: MIT
/*
 * bench/slab_bench.c - kmem's object-cache API against malloc, in one
 * binary.
 *
 * Linked with libkmem (statically), so the kmem_cache_* calls go straight
 * to kmem; malloc/free are whatever the process has - glibc, or a library
 * LD_PRELOADed in front of it.  bench/run.sh runs the cache-* workloads
 * once per repetition and the malloc-* workloads under glibc and mimalloc,
 * and prints the ratios; see bench/README.md.
 *
 * Usage: slab_bench [-s FACTOR] [-d SECONDS] [-S SEED] WORKLOAD [THREADS]
 *
 *   cache-pairs          kmem_cache_alloc + kmem_cache_free, 64 B, hot
 *   cache-batch          1,000,000 objects allocated, then all freed; rounds
 *   cache-threads N      cache-pairs in N threads at once, one shared cache
 *   cache-memory         1,000,000 live objects: the page allocator's
 *                        mapped/retained/resident bytes and VmRSS
 *   malloc-pairs         the same three shapes through malloc(64)/free
 *   malloc-batch
 *   malloc-threads N
 *
 * The cache is created as the kernel would, kmem_cache_create("bench64",
 * 64, 0, 0, NULL), and destroyed at the end of the run.  Each shape is
 * written once, as an always-inline template over enum bench_api, so the
 * cache and malloc variants run the same loop with only the calls
 * different and no indirect call in either.
 *
 * Output: one "key=value" line per run (bench/bench.h).  ops counts
 * allocator calls; ns_per_pair is what one thread spends on one
 * alloc+free.  Every object is written once after allocation, so no call
 * can be elided; any NULL ends the run with exit status 1.
 */
#include "bench.h"

#include <kmem/page.h>
#include <kmem/slab.h>

#define SB_OBJ_SIZE		64
#define SB_BATCH_OBJECTS	1000000
#define SB_DEFAULT_THREADS	2

enum bench_api {
	API_CACHE,	/* kmem_cache_alloc / kmem_cache_free */
	API_MALLOC,	/* malloc / free */
};

static const char *const api_prefix[] = {
	[API_CACHE] = "cache",
	[API_MALLOC] = "malloc",
};

/* The cache of the cache-* workloads; NULL in the malloc-* ones. */
static struct kmem_cache *bench_cache;

static __attribute__((always_inline)) inline void *obj_alloc(enum bench_api api)
{
	void *p;

	if (api == API_CACHE) {
		p = kmem_cache_alloc(bench_cache, GFP_KERNEL);
		if (unlikely(!p))
			bench_oom("kmem_cache_alloc", SB_OBJ_SIZE);
	} else {
		p = malloc(SB_OBJ_SIZE);
		if (unlikely(!p))
			bench_oom("malloc", SB_OBJ_SIZE);
	}
	return p;
}

static __attribute__((always_inline)) inline void obj_free(enum bench_api api,
							   void *p)
{
	if (api == API_CACHE)
		kmem_cache_free(bench_cache, p);
	else
		free(p);
}

static void cache_setup(enum bench_api api)
{
	if (api != API_CACHE)
		return;
	bench_cache = kmem_cache_create("bench64", SB_OBJ_SIZE, 0, 0, NULL);
	if (!bench_cache)
		bench_die("kmem_cache_create(\"bench64\", %d) failed",
			  SB_OBJ_SIZE);
}

static void cache_teardown(enum bench_api api)
{
	if (api != API_CACHE)
		return;
	kmem_cache_destroy(bench_cache);
	bench_cache = NULL;
}

/* ---- pairs ------------------------------------------------------------- */

static __attribute__((always_inline)) inline uint64_t
pairs_loop(enum bench_api api, bool (*done)(void *arg), void *arg)
{
	uint64_t ops = 0;
	unsigned int i;
	void *p;

	do {
		for (i = 0; i < BENCH_CHUNK; i++) {
			p = obj_alloc(api);
			*(volatile unsigned char *)p = (unsigned char)i;
			bench_sink(p);
			obj_free(api, p);
		}
		ops += 2 * BENCH_CHUNK;
	} while (!done(arg));
	return ops;
}

static bool clock_done(void *arg)
{
	return bench_time_up(arg);
}

static bool team_done(void *arg)
{
	return bench_should_stop(arg);
}

/* One object allocated and freed, again and again: the fast path. */
static __attribute__((always_inline)) inline int
run_pairs(const struct bench_opts *o, enum bench_api api)
{
	struct bench_result r = { .threads = 1, .pairs = true };
	struct bench_clock clk;

	cache_setup(api);
	bench_clock_start(&clk, bench_duration(o, BENCH_DEFAULT_SECONDS));
	r.ops = pairs_loop(api, clock_done, &clk);
	r.seconds = bench_clock_elapsed(&clk);
	cache_teardown(api);

	snprintf(r.workload, sizeof(r.workload), "%s-pairs", api_prefix[api]);
	bench_extra(&r, "size=%d", SB_OBJ_SIZE);
	bench_report(&r);
	return 0;
}

static int run_cache_pairs(const struct bench_opts *o, long unused)
{
	(void)unused;
	return run_pairs(o, API_CACHE);
}

static int run_malloc_pairs(const struct bench_opts *o, long unused)
{
	(void)unused;
	return run_pairs(o, API_MALLOC);
}

/* ---- batch ------------------------------------------------------------- */

/*
 * A million objects live, then none, in whole rounds until the duration
 * has passed: slab refills and page faults, then frees in allocation order
 * emptying every slab.
 */
static __attribute__((always_inline)) inline int
run_batch(const struct bench_opts *o, enum bench_api api)
{
	size_t bytes = SB_BATCH_OBJECTS * sizeof(void *);
	struct bench_result r = { .threads = 1, .pairs = true };
	struct bench_clock clk;
	unsigned int rounds = 0;
	void **obj;
	size_t i;

	obj = bench_map(bytes);
	cache_setup(api);
	bench_clock_start(&clk, bench_duration(o, BENCH_DEFAULT_SECONDS));
	do {
		for (i = 0; i < SB_BATCH_OBJECTS; i++) {
			obj[i] = obj_alloc(api);
			*(volatile unsigned char *)obj[i] = (unsigned char)i;
		}
		bench_sink(obj);
		for (i = 0; i < SB_BATCH_OBJECTS; i++)
			obj_free(api, obj[i]);
		r.ops += 2 * SB_BATCH_OBJECTS;
		rounds++;
	} while (!bench_time_up(&clk));
	r.seconds = bench_clock_elapsed(&clk);
	cache_teardown(api);
	bench_unmap(obj, bytes);

	snprintf(r.workload, sizeof(r.workload), "%s-batch", api_prefix[api]);
	bench_extra(&r, "objects=%d size=%d rounds=%u", SB_BATCH_OBJECTS,
		    SB_OBJ_SIZE, rounds);
	bench_report(&r);
	return 0;
}

static int run_cache_batch(const struct bench_opts *o, long unused)
{
	(void)unused;
	return run_batch(o, API_CACHE);
}

static int run_malloc_batch(const struct bench_opts *o, long unused)
{
	(void)unused;
	return run_batch(o, API_MALLOC);
}

/* ---- threads N ----------------------------------------------------------- */

static void *cache_threads_worker(void *arg)
{
	struct bench_worker *w = arg;

	bench_worker_start(w);
	w->ops = pairs_loop(API_CACHE, team_done, w);
	return NULL;
}

static void *malloc_threads_worker(void *arg)
{
	struct bench_worker *w = arg;

	bench_worker_start(w);
	w->ops = pairs_loop(API_MALLOC, team_done, w);
	return NULL;
}

/*
 * Pairs in N threads at once, on one shared cache (kmem's per-thread
 * magazines keep them apart) or through malloc: the scaling of the fast
 * path.  Perfect scaling is N times the pairs throughput.
 */
static __attribute__((always_inline)) inline int
run_threads(const struct bench_opts *o, enum bench_api api, long nthreads)
{
	struct bench_result r = { .threads = (int)nthreads, .pairs = true };
	struct bench_worker *w;
	int i, n = (int)nthreads;

	cache_setup(api);
	w = bench_map((size_t)n * sizeof(*w));
	for (i = 0; i < n; i++)
		w[i].fn = api == API_CACHE ? cache_threads_worker :
					     malloc_threads_worker;
	r.seconds = bench_team_run(w, n, bench_duration(o, BENCH_DEFAULT_SECONDS));
	r.ops = bench_team_ops(w, n);
	bench_unmap(w, (size_t)n * sizeof(*w));
	cache_teardown(api);

	snprintf(r.workload, sizeof(r.workload), "%s-threads-%ld",
		 api_prefix[api], nthreads);
	bench_extra(&r, "size=%d", SB_OBJ_SIZE);
	bench_report(&r);
	return 0;
}

static int run_cache_threads(const struct bench_opts *o, long nthreads)
{
	return run_threads(o, API_CACHE, nthreads);
}

static int run_malloc_threads(const struct bench_opts *o, long nthreads)
{
	return run_threads(o, API_MALLOC, nthreads);
}

/* ---- cache-memory ---------------------------------------------------------- */

/*
 * The memory cost of a million live 64-byte objects (61 MiB of payload):
 * what the buddy allocator has mapped, retained and holds resident, and
 * what VmRSS grew by, with the harness's pointer array already resident
 * before the baseline.  Then everything is freed and the cache shrunk, to
 * show what goes back.  The timed part is the allocation and the frees.
 */
static int run_cache_memory(const struct bench_opts *o, long unused)
{
	size_t bytes = SB_BATCH_OBJECTS * sizeof(void *);
	struct bench_result r = { .threads = 1, .pairs = true };
	struct kmem_buddyinfo before, live, after;
	long rss_base, rss_live, rss_after;
	uint64_t t0, t_alloc, t_free;
	void **obj;
	size_t i;

	(void)o;
	(void)unused;
	obj = bench_map(bytes);
	memset(obj, 0, bytes);		/* resident before the baseline */
	cache_setup(API_CACHE);
	kmem_buddyinfo_get(&before);
	rss_base = bench_status_kb("VmRSS");

	t0 = bench_now_ns();
	for (i = 0; i < SB_BATCH_OBJECTS; i++) {
		obj[i] = obj_alloc(API_CACHE);
		*(volatile unsigned char *)obj[i] = (unsigned char)i;
	}
	t_alloc = bench_now_ns() - t0;
	bench_sink(obj);
	kmem_buddyinfo_get(&live);
	rss_live = bench_status_kb("VmRSS");

	t0 = bench_now_ns();
	for (i = 0; i < SB_BATCH_OBJECTS; i++)
		obj_free(API_CACHE, obj[i]);
	t_free = bench_now_ns() - t0;
	kmem_cache_shrink(bench_cache);
	kmem_shrink_all();	/* and the free pages back to the OS now */
	kmem_buddyinfo_get(&after);
	rss_after = bench_status_kb("VmRSS");
	cache_teardown(API_CACHE);
	bench_unmap(obj, bytes);

	r.ops = 2 * SB_BATCH_OBJECTS;
	r.seconds = (double)(t_alloc + t_free) / 1e9;
	snprintf(r.workload, sizeof(r.workload), "cache-memory");
	bench_extra(&r, "objects=%d size=%d payload_kb=%lu",
		    SB_BATCH_OBJECTS, SB_OBJ_SIZE,
		    (unsigned long)SB_BATCH_OBJECTS * SB_OBJ_SIZE / 1024);
	bench_extra(&r, " mapped_kb=%lu retained_kb=%lu resident_kb=%lu",
		    live.mapped / 1024, live.retained / 1024,
		    live.resident / 1024);
	bench_extra(&r, " resident_base_kb=%lu vm_rss_base_kb=%ld vm_rss_kb=%ld",
		    before.resident / 1024, rss_base, rss_live);
	bench_extra(&r, " bytes_per_object=%.1f",
		    ((double)live.resident - (double)before.resident) /
			    SB_BATCH_OBJECTS);
	bench_extra(&r, " freed_mapped_kb=%lu freed_resident_kb=%lu freed_vm_rss_kb=%ld",
		    after.mapped / 1024, after.resident / 1024, rss_after);
	bench_extra(&r, " alloc_ns=%.2f free_ns=%.2f",
		    (double)t_alloc / SB_BATCH_OBJECTS,
		    (double)t_free / SB_BATCH_OBJECTS);
	bench_report(&r);
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

/**
 * struct workload - one entry of the workload table
 * @name:    what the user types
 * @run:     runs it and prints the result line
 * @threads: takes a THREADS argument (default SB_DEFAULT_THREADS)
 */
struct workload {
	const char *name;
	int (*run)(const struct bench_opts *o, long arg);
	bool threads;
};

/*
 * One order-0 page allocated and freed, again and again: alloc_pages() and
 * __free_pages() through the calling thread's page list.
 */
static int run_page_pairs(const struct bench_opts *o, long unused)
{
	struct bench_result r = { .threads = 1, .pairs = true };
	struct bench_clock clk;
	uint64_t ops = 0;

	(void)unused;
	bench_clock_start(&clk, bench_duration(o, BENCH_DEFAULT_SECONDS));
	do {
		for (unsigned int i = 0; i < BENCH_CHUNK; i++) {
			struct page *pg = alloc_pages(GFP_KERNEL, 0);

			if (!pg)
				bench_oom("alloc_pages", 4096);
			bench_sink(pg);
			__free_pages(pg, 0);
		}
		ops += 2 * BENCH_CHUNK;
	} while (!bench_time_up(&clk));
	r.ops = ops;
	r.seconds = bench_clock_elapsed(&clk);
	snprintf(r.workload, sizeof(r.workload), "page-pairs");
	bench_extra(&r, "order=0");
	bench_report(&r);
	return 0;
}

static const struct workload workloads[] = {
	{ "page-pairs", run_page_pairs, false },
	{ "cache-pairs", run_cache_pairs, false },
	{ "cache-batch", run_cache_batch, false },
	{ "cache-threads", run_cache_threads, true },
	{ "cache-memory", run_cache_memory, false },
	{ "malloc-pairs", run_malloc_pairs, false },
	{ "malloc-batch", run_malloc_batch, false },
	{ "malloc-threads", run_malloc_threads, true },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: slab_bench [-s FACTOR] [-d SECONDS] [-S SEED] WORKLOAD [THREADS]\n"
		"\n"
		"workloads (64-byte objects; THREADS defaults to 2):\n"
		"  page-pairs        alloc_pages(GFP_KERNEL, 0)+__free_pages, hot\n"
		"  cache-pairs       kmem_cache_alloc+kmem_cache_free, hot\n"
		"  cache-batch       1,000,000 kmem_cache_alloc, then free all\n"
		"  cache-threads N   cache-pairs in N threads, one shared cache\n"
		"  cache-memory      1,000,000 live objects: mapped, resident, VmRSS\n"
		"  malloc-pairs      the same shapes through malloc/free\n"
		"  malloc-batch\n"
		"  malloc-threads N\n"
		"\n"
		"options:\n"
		"  -s FACTOR   scale every run's duration (also $KMEM_BENCH_SCALE)\n"
		"  -d SECONDS  base duration of a run (default 0.5)\n"
		"  -S SEED     seed (unused: no workload here is random)\n");
}

int main(int argc, char **argv)
{
	const struct workload *wl = NULL;
	struct bench_opts opts;
	long arg = SB_DEFAULT_THREADS;
	size_t i;
	int first;

	first = bench_parse_opts(argc, argv, &opts, usage);
	if (first >= argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (!strcmp(argv[first], workloads[i].name))
			wl = &workloads[i];
	if (!wl) {
		fprintf(stderr, "slab_bench: unknown workload '%s'\n",
			argv[first]);
		usage(stderr);
		return 2;
	}
	if (argc - first > (wl->threads ? 2 : 1)) {
		usage(stderr);
		return 2;
	}
	if (wl->threads && argc - first == 2)
		arg = bench_parse_long(argv[first + 1], "THREADS", 1,
				       BENCH_MAX_THREADS);
	return wl->run(&opts, arg);
}
