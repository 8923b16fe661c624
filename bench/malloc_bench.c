// SPDX-License-Identifier: MIT
/*
 * bench/malloc_bench.c - the standard malloc workload shapes, through plain
 * malloc/free/realloc.
 *
 * It links no allocator of its own: it measures whatever provides malloc in
 * the process - glibc, or a library put in front of it with LD_PRELOAD
 * (jemalloc, tcmalloc, mimalloc, libkmem-malloc.so).  bench/run.sh runs it
 * under each allocator in turn; see bench/README.md.
 *
 * Usage: malloc_bench [-s FACTOR] [-d SECONDS] [-S SEED] WORKLOAD [ARG]
 *
 *   pairs SIZE           malloc+free of one SIZE-byte block, hot
 *   batch                1,000,000 x 64 B allocated, then all freed; rounds
 *   random               100,000 live blocks of skewed random sizes;
 *                        each step frees a random one and allocates anew,
 *                        one step in 16 is a realloc
 *   larson THREADS       server simulation: random frees and allocations
 *                        (16..1024 B) in per-thread slot arrays, each array
 *                        handed to a fresh thread every 50,000 steps, so
 *                        blocks die in threads that did not allocate them
 *   prodcons THREADS     producers allocate (64..512 B), consumers free,
 *                        through a bounded queue: every free is remote
 *   false-sharing THREADS  threads write hard into small (8 B) blocks
 *                        they allocate; blocks of different threads on one
 *                        cache line show up as slow writes
 *   threads THREADS      "pairs 64" in every thread at once (scaling)
 *   sweep, sweep-small   malloc_usable_size() over the request, for requests
 *                        of 256 B..4 MiB (x1.03 steps) or 1..256 B
 *   fill SIZE            64 MiB of SIZE-byte blocks: VmRSS growth / payload
 *   large COUNT          huge blocks with replacement: COUNT (2000)
 *                        zero-filled blocks of 5..25 MiB, each replacing
 *                        one of 20
 *   regrow COUNT         large blocks of mixed sizes: COUNT (20000) blocks
 *                        of 300 KiB..1 MiB, each replacing one of 64, a
 *                        byte written per page
 *   mstress              random small blocks, 1% x100, 0.1% x1000 and
 *                        0.01% x10000 larger (to 5 MB), one thread
 *   arrays               a hash of arrays: 60,000 strings of 11..130 B
 *                        pushed on 101 arrays grown by realloc, one thread
 *   private THREADS      random 4 B..32 KiB blocks in a private working set
 *                        of 1024 slots per thread (glibc's thread benchmark);
 *                        prints shared_lines, the cache lines holding live
 *                        blocks of two threads at the end, and cpus, each
 *                        thread's CPU at its start and end ("0>0,1>0")
 *   medium THREADS       the same with 256 slots of 4..32 KiB (medium slab
 *                        classes and small page blocks), a byte per page
 *   xmalloc PAIRS        producers malloc 64 B blocks in batches, releasers
 *                        free them: every free remote
 *   rptest THREADS       1000 live blocks of 8..16000 B per thread, and a
 *                        parcel of blocks for the next thread every 2 loops
 *   alloctest THREADS    2^18 slots shared out among the threads, each
 *                        picked with an 80/20 skew, toggled between a
 *                        block of 5..1024 B (small ones likelier) and
 *                        none; every byte written, and read before the free
 *
 * Every run is timed (0.5 s; larson 2 s; private, xmalloc, rptest 1 s;
 * times -s FACTOR or $KMEM_BENCH_SCALE), except that batch runs whole
 * rounds until that time has passed, and that sweep, fill, large, regrow,
 * mstress and arrays do a fixed amount of work (scaled by -s) and report
 * its time
 * (fixed=1 on their line).  Set-up (pre-filling slot arrays) and tear-down are not
 * timed.  Output: one line of key=value pairs (bench/bench.h), e.g.
 *
 *   workload=pairs-64 threads=1 ops=... seconds=... ops_per_sec=...
 *   ns_per_op=... ns_per_pair=... peak_rss_kb=... malloc_lib=libc.so.6
 *
 * An op is one allocator call (malloc, free or realloc), except in
 * false-sharing where it is one write.  Every block is written after it is
 * allocated (bench_touch() or a volatile store), so no call can be elided
 * and RSS reflects memory really used; the random, larson and prodcons
 * workloads also tag each block and check the tag before freeing it, so a
 * broken allocator fails loudly instead of posting a good number.  Any NULL
 * from the allocator ends the run with exit status 1.
 *
 * Harness memory (slot arrays, the queue) is mmap'd: it never goes through
 * the allocator under test.  No locks are held around allocator calls
 * except in prodcons, whose queue lock is taken once per batch of 64.
 */
#include "bench.h"

#include <malloc.h>
#include <math.h>
#include <sched.h>

#define MB_BATCH_OBJECTS	1000000
#define MB_BATCH_SIZE		64
#define MB_RANDOM_SLOTS		100000
#define MB_RANDOM_REALLOC	16	/* one step in 16 is a realloc */
#define MB_LARSON_SECONDS	2.0
#define MB_LARSON_SLOTS		10000	/* per thread */
#define MB_LARSON_STEPS		50000	/* per thread lifetime */
#define MB_LARSON_MIN		16
#define MB_LARSON_MAX		1024
#define MB_PC_BATCH		64	/* objects per queue entry */
#define MB_PC_DEPTH		64	/* queue entries */
#define MB_PC_MIN		64
#define MB_PC_MAX		512
#define MB_FS_SIZE		8	/* a power of two */
#define MB_FS_WRITES		1000	/* writes per block */
#define MB_THREADS_SIZE		64
#define MB_DEFAULT_THREADS	2
#define MB_SWEEP_LO		256
#define MB_SWEEP_HI		(4u << 20)
#define MB_SWEEP_STEP		1.03
#define MB_FILL_BYTES		(64u << 20)
#define MB_LARGE_SLOTS		20
#define MB_LARGE_ITERS		2000
#define MB_LARGE_MIN		(5u << 20)
#define MB_LARGE_MAX		(25u << 20)
#define MB_REGROW_SLOTS		64
#define MB_REGROW_ITERS		20000
#define MB_REGROW_MIN		(300u << 10)
#define MB_REGROW_MAX		(1u << 20)
#define MB_MS_ROUNDS		250
#define MB_MS_ALLOCS		5000	/* short-lived blocks per round */
#define MB_MS_RETAIN		2500	/* blocks kept to the round's end */
#define MB_MS_TRANSFER		1000	/* blocks that outlive rounds */
#define MB_MS_COOKIE		0xbf58476d1ce4e5b9ull
#define MB_AR_ARRAYS		101	/* arrays grown by realloc */
#define MB_AR_ITEMS		60000	/* strings pushed per round */
#define MB_AR_ROUNDS		10
#define MB_SCALING_SECONDS	1.0	/* private, xmalloc, rptest */
#define MB_PRIV_SLOTS		1024
#define MB_PRIV_SIZES		8191
#define MB_PRIV_INDICES		4096	/* a power of two */
#define MB_PRIV_MIN		4
#define MB_PRIV_MAX		32768
#define MB_AT_SLOTS		(1u << 18)	/* all threads together */
#define MB_AT_CLASSES		8	/* sizes 2^(k+2)+1 .. 2^(k+3), k < 8 */
#define MB_MEDIUM_SLOTS		256
#define MB_MEDIUM_MIN		4096
#define MB_XM_SIZE		64
#define MB_XM_BATCH		4096
#define MB_XM_DEPTH		100
#define MB_RP_SLOTS		1000
#define MB_RP_OPS		100	/* replacements per loop, blocks per parcel */
#define MB_RP_CROSS		2	/* a parcel every this many loops */
#define MB_RP_INFLIGHT		4	/* parcels waiting for one thread, at most */
#define MB_RP_MIN		8
#define MB_RP_MAX		16000

/* The tag a slot's block carries in its first byte. */
static inline unsigned char slot_tag(size_t idx)
{
	return (unsigned char)(idx ^ (idx >> 8) ^ (idx >> 16) ^ 0x5a);
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (unlikely(!p))
		bench_oom("malloc", size);
	return p;
}

/* Free a slot's block after checking its tag. */
static inline void free_tagged(void *p, size_t idx, const char *workload)
{
	if (unlikely(*(unsigned char *)p != slot_tag(idx)))
		bench_die("%s: block %p of slot %zu was overwritten (tag %#x, want %#x)",
			  workload, p, idx, *(unsigned char *)p,
			  slot_tag(idx));
	free(p);
}

/* ---- pairs SIZE ---------------------------------------------------------- */

/*
 * The allocator's fast path and nothing else: the same block comes back
 * every time from any allocator with a thread cache.  Only the first byte
 * is written, so large sizes measure the allocator, not memset; an
 * allocator that unmaps a large block on free pays a page fault per pair,
 * which is part of what this shows.
 */
static int run_pairs(const struct bench_opts *o, long size)
{
	struct bench_result r = { .threads = 1, .pairs = true };
	struct bench_clock clk;
	uint64_t ops = 0;
	unsigned int i;
	void *p;

	bench_clock_start(&clk, bench_duration(o, BENCH_DEFAULT_SECONDS));
	do {
		for (i = 0; i < BENCH_CHUNK; i++) {
			p = malloc((size_t)size);
			if (unlikely(!p))
				bench_oom("malloc", (size_t)size);
			*(volatile unsigned char *)p = (unsigned char)i;
			bench_sink(p);
			free(p);
		}
		ops += 2 * BENCH_CHUNK;
	} while (!bench_time_up(&clk));
	r.seconds = bench_clock_elapsed(&clk);
	r.ops = ops;
	snprintf(r.workload, sizeof(r.workload), "pairs-%ld", size);
	bench_extra(&r, "size=%ld", size);
	bench_report(&r);
	return 0;
}

/* ---- batch --------------------------------------------------------------- */

/*
 * A million 64-byte blocks live at once, then none: how fast the allocator
 * grows its heap (slab refills, page faults) and how fast it takes
 * everything back, in allocation order.  Whole rounds run until the
 * duration has passed; the first round also pays for fresh memory, later
 * ones show whether the allocator kept it.
 */
static int run_batch(const struct bench_opts *o, long unused)
{
	size_t bytes = MB_BATCH_OBJECTS * sizeof(void *);
	struct bench_result r = { .threads = 1, .pairs = true };
	struct bench_clock clk;
	unsigned int rounds = 0;
	uint64_t ops = 0;
	void **obj;
	size_t i;

	(void)unused;
	obj = bench_map(bytes);
	bench_clock_start(&clk, bench_duration(o, BENCH_DEFAULT_SECONDS));
	do {
		for (i = 0; i < MB_BATCH_OBJECTS; i++) {
			obj[i] = malloc(MB_BATCH_SIZE);
			if (unlikely(!obj[i]))
				bench_oom("malloc", MB_BATCH_SIZE);
			*(volatile unsigned char *)obj[i] = (unsigned char)i;
		}
		bench_sink(obj);
		for (i = 0; i < MB_BATCH_OBJECTS; i++)
			free(obj[i]);
		ops += 2 * MB_BATCH_OBJECTS;
		rounds++;
	} while (!bench_time_up(&clk));
	r.seconds = bench_clock_elapsed(&clk);
	r.ops = ops;
	bench_unmap(obj, bytes);
	snprintf(r.workload, sizeof(r.workload), "batch");
	bench_extra(&r, "objects=%d size=%d rounds=%u", MB_BATCH_OBJECTS,
		    MB_BATCH_SIZE, rounds);
	bench_report(&r);
	return 0;
}

/* ---- random -------------------------------------------------------------- */

/*
 * random_size - one draw from a program-like size distribution.
 *
 * 80% of blocks are small (8..127 B), 15% medium (128..4095 B), 5% large
 * (4 KiB..256 KiB).  Inside a band, the power-of-two bucket is geometric -
 * the band's smallest bucket half the time, the next a quarter, ... - and
 * the size uniform in the bucket, so each band leans to its small end.
 * The mean is about 1.2 KiB, so 100,000 live blocks hold about 120 MB,
 * most of it in the few large ones.
 */
static size_t random_size(uint64_t *rng)
{
	uint32_t band = bench_rand_below(rng, 100);
	unsigned int shift, nbuckets, bucket;
	uint64_t bits = bench_rand(rng);
	size_t base;

	if (band < 80) {
		shift = 3;	/* 8, 16, 32, 64 */
		nbuckets = 4;
	} else if (band < 95) {
		shift = 7;	/* 128 .. 2048 */
		nbuckets = 5;
	} else {
		shift = 12;	/* 4096 .. 131072 */
		nbuckets = 6;
	}
	bucket = (unsigned int)__builtin_ctzll((bits & 0xffff) |
					       (1ull << (nbuckets - 1)));
	base = (size_t)1 << (shift + bucket);
	return base + (size_t)((bits >> 32) & (base - 1));
}

static int run_random(const struct bench_opts *o, long unused)
{
	struct bench_result r = { .threads = 1 };
	uint64_t rng = bench_rand_seed(o->seed, 0);
	uint64_t ops = 0, reallocs = 0;
	struct bench_clock clk;
	size_t *size;
	void **slot;
	unsigned int i;
	size_t idx, sz;
	void *p;

	(void)unused;
	slot = bench_map(MB_RANDOM_SLOTS * sizeof(*slot));
	size = bench_map(MB_RANDOM_SLOTS * sizeof(*size));
	for (idx = 0; idx < MB_RANDOM_SLOTS; idx++) {
		size[idx] = random_size(&rng);
		slot[idx] = xmalloc(size[idx]);
		bench_touch(slot[idx], size[idx], slot_tag(idx));
	}

	bench_clock_start(&clk, bench_duration(o, BENCH_DEFAULT_SECONDS));
	do {
		for (i = 0; i < BENCH_CHUNK; i++) {
			idx = bench_rand_below(&rng, MB_RANDOM_SLOTS);
			sz = random_size(&rng);
			if (bench_rand_below(&rng, MB_RANDOM_REALLOC) == 0) {
				p = realloc(slot[idx], sz);
				if (unlikely(!p))
					bench_oom("realloc", sz);
				if (unlikely(*(unsigned char *)p !=
					     slot_tag(idx)))
					bench_die("random: realloc lost the contents of slot %zu",
						  idx);
				reallocs++;
				ops++;
			} else {
				free_tagged(slot[idx], idx, "random");
				p = malloc(sz);
				if (unlikely(!p))
					bench_oom("malloc", sz);
				ops += 2;
			}
			bench_touch(p, sz, slot_tag(idx));
			slot[idx] = p;
			size[idx] = sz;
		}
	} while (!bench_time_up(&clk));
	r.seconds = bench_clock_elapsed(&clk);
	r.ops = ops;

	for (idx = 0; idx < MB_RANDOM_SLOTS; idx++)
		free_tagged(slot[idx], idx, "random");
	bench_unmap(slot, MB_RANDOM_SLOTS * sizeof(*slot));
	bench_unmap(size, MB_RANDOM_SLOTS * sizeof(*size));
	snprintf(r.workload, sizeof(r.workload), "random");
	bench_extra(&r, "live=%d reallocs=%llu", MB_RANDOM_SLOTS,
		    (unsigned long long)reallocs);
	bench_report(&r);
	return 0;
}

/* ---- larson THREADS -------------------------------------------------------- */

/**
 * struct larson_arena - one chain of threads and the blocks it owns
 * @slot:        the live blocks, MB_LARSON_SLOTS of them
 * @rng:         generator state, carried from thread to thread
 * @ops:         allocator calls done by the whole chain
 * @generations: threads the chain has started after its first
 * @prev:        the thread that handed the arena over, to be joined by
 *               its successor; valid when @has_prev
 * @last:        the chain's final thread, set under larson_lock
 * @has_prev:    see @prev
 *
 * One thread owns the arena at a time; pthread_create() is the hand-over,
 * and the happens-before it gives is all the synchronisation needed.
 */
struct larson_arena {
	void **slot;
	uint64_t rng;
	uint64_t ops;
	unsigned long generations;
	pthread_t prev;
	pthread_t last;
	bool has_prev;
} __attribute__((aligned(BENCH_CACHELINE)));

static atomic_bool larson_stop;
static pthread_mutex_t larson_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t larson_done_cond = PTHREAD_COND_INITIALIZER;
static int larson_done;		/* chains finished, under larson_lock */

/*
 * larson_thread - one generation of a chain: join the predecessor, do
 * MB_LARSON_STEPS random free+malloc steps on the arena (or fewer, if the
 * run ends), then start the next generation and exit.  The blocks freed
 * here were allocated by earlier generations, or by the main thread.
 */
static void *larson_thread(void *arg)
{
	struct larson_arena *a = arg;
	uint64_t rng = a->rng;
	unsigned int step;
	pthread_t next;
	size_t idx, sz;
	void *p;
	int err;

	if (a->has_prev)
		pthread_join(a->prev, NULL);
	for (step = 0; step < MB_LARSON_STEPS; step++) {
		if (step % 64 == 0 &&
		    atomic_load_explicit(&larson_stop, memory_order_relaxed))
			break;
		idx = bench_rand_below(&rng, MB_LARSON_SLOTS);
		sz = bench_rand_range(&rng, MB_LARSON_MIN, MB_LARSON_MAX);
		free_tagged(a->slot[idx], idx, "larson");
		p = malloc(sz);
		if (unlikely(!p))
			bench_oom("malloc", sz);
		bench_touch(p, sz, slot_tag(idx));
		a->slot[idx] = p;
	}
	a->ops += 2ull * step;
	a->rng = rng;

	if (step < MB_LARSON_STEPS) {
		pthread_mutex_lock(&larson_lock);
		a->last = pthread_self();
		larson_done++;
		pthread_cond_signal(&larson_done_cond);
		pthread_mutex_unlock(&larson_lock);
		return NULL;
	}
	a->prev = pthread_self();
	a->has_prev = true;
	a->generations++;
	err = pthread_create(&next, NULL, larson_thread, a);
	if (err)
		bench_die("larson: pthread_create: %s", strerror(err));
	return NULL;
}

static int run_larson(const struct bench_opts *o, long nthreads)
{
	size_t slots_bytes = MB_LARSON_SLOTS * sizeof(void *);
	struct bench_result r = { .threads = (int)nthreads };
	unsigned long generations = 0;
	struct larson_arena *arena;
	uint64_t t0, t1, ops = 0;
	pthread_t tid;
	size_t idx, sz;
	long i;
	int err;

	arena = bench_map((size_t)nthreads * sizeof(*arena));
	for (i = 0; i < nthreads; i++) {
		arena[i].slot = bench_map(slots_bytes);
		arena[i].rng = bench_rand_seed(o->seed, (uint64_t)i);
		for (idx = 0; idx < MB_LARSON_SLOTS; idx++) {
			sz = bench_rand_range(&arena[i].rng, MB_LARSON_MIN,
					      MB_LARSON_MAX);
			arena[i].slot[idx] = xmalloc(sz);
			bench_touch(arena[i].slot[idx], sz, slot_tag(idx));
		}
	}

	atomic_store(&larson_stop, false);
	bench_cpu_mark();
	t0 = bench_now_ns();
	for (i = 0; i < nthreads; i++) {
		err = pthread_create(&tid, NULL, larson_thread, &arena[i]);
		if (err)
			bench_die("larson: pthread_create: %s", strerror(err));
		/* the chain's last thread is joined below; this one by its
		 * successor, or below if it is the last */
	}
	bench_sleep(bench_duration(o, MB_LARSON_SECONDS));
	atomic_store_explicit(&larson_stop, true, memory_order_relaxed);
	pthread_mutex_lock(&larson_lock);
	while (larson_done < nthreads)
		pthread_cond_wait(&larson_done_cond, &larson_lock);
	pthread_mutex_unlock(&larson_lock);
	for (i = 0; i < nthreads; i++)
		pthread_join(arena[i].last, NULL);
	t1 = bench_now_ns();
	bench_cpu_stop();

	for (i = 0; i < nthreads; i++) {
		ops += arena[i].ops;
		generations += arena[i].generations;
		for (idx = 0; idx < MB_LARSON_SLOTS; idx++)
			free_tagged(arena[i].slot[idx], idx, "larson");
		bench_unmap(arena[i].slot, slots_bytes);
	}
	bench_unmap(arena, (size_t)nthreads * sizeof(*arena));

	r.seconds = (double)(t1 - t0) / 1e9;
	r.ops = ops;
	snprintf(r.workload, sizeof(r.workload), "larson-%ld", nthreads);
	bench_extra(&r, "slots_per_thread=%d threads_created=%lu",
		    MB_LARSON_SLOTS, generations + (unsigned long)nthreads);
	bench_report(&r);
	return 0;
}

/* ---- prodcons THREADS ------------------------------------------------------ */

/**
 * struct pc_queue - a bounded queue of batches of blocks
 * @lock:           protects everything below
 * @not_empty:      signalled when a batch is pushed or a producer leaves
 * @not_full:       signalled when a batch is popped
 * @head:           next entry to pop
 * @count:          entries queued
 * @producers_left: producers still running; consumers exit when it is 0
 *                  and the queue is empty
 * @entry:          the ring
 *
 * Batches keep the lock out of the measurement: one lock round trip per
 * MB_PC_BATCH allocations.
 */
struct pc_queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	unsigned int head;
	unsigned int count;
	int producers_left;
	void *entry[MB_PC_DEPTH][MB_PC_BATCH];
};

static void *pc_producer(void *arg)
{
	struct bench_worker *w = arg;
	struct pc_queue *q = w->priv;
	void *batch[MB_PC_BATCH];
	uint64_t ops = 0;
	unsigned int i;
	size_t sz;

	bench_worker_start(w);
	while (!bench_should_stop(w)) {
		for (i = 0; i < MB_PC_BATCH; i++) {
			sz = bench_rand_range(&w->rng, MB_PC_MIN, MB_PC_MAX);
			batch[i] = malloc(sz);
			if (unlikely(!batch[i]))
				bench_oom("malloc", sz);
			bench_touch(batch[i], sz, slot_tag(i));
		}
		ops += MB_PC_BATCH;
		pthread_mutex_lock(&q->lock);
		while (q->count == MB_PC_DEPTH)
			pthread_cond_wait(&q->not_full, &q->lock);
		memcpy(q->entry[(q->head + q->count) % MB_PC_DEPTH], batch,
		       sizeof(batch));
		q->count++;
		pthread_cond_signal(&q->not_empty);
		pthread_mutex_unlock(&q->lock);
	}
	pthread_mutex_lock(&q->lock);
	q->producers_left--;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
	w->ops = ops;
	return NULL;
}

static void *pc_consumer(void *arg)
{
	struct bench_worker *w = arg;
	struct pc_queue *q = w->priv;
	void *batch[MB_PC_BATCH];
	uint64_t ops = 0;
	unsigned int i;

	bench_worker_start(w);
	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (q->count == 0 && q->producers_left > 0)
			pthread_cond_wait(&q->not_empty, &q->lock);
		if (q->count == 0) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		memcpy(batch, q->entry[q->head], sizeof(batch));
		q->head = (q->head + 1) % MB_PC_DEPTH;
		q->count--;
		pthread_cond_signal(&q->not_full);
		pthread_mutex_unlock(&q->lock);
		for (i = 0; i < MB_PC_BATCH; i++)
			free_tagged(batch[i], i, "prodcons");
		ops += MB_PC_BATCH;
	}
	w->ops = ops;
	return NULL;
}

/*
 * Half the threads (rounded up) produce, the rest consume; at least one
 * of each, so "prodcons 1" runs two threads.
 */
static int run_prodcons(const struct bench_opts *o, long nthreads)
{
	struct bench_result r = { 0 };
	int producers, consumers, n, i;
	struct bench_worker *w;
	struct pc_queue *q;

	if (nthreads < 2)
		nthreads = 2;
	producers = (int)(nthreads + 1) / 2;
	consumers = (int)nthreads - producers;
	n = producers + consumers;

	q = bench_map(sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->producers_left = producers;

	w = bench_map((size_t)n * sizeof(*w));
	for (i = 0; i < n; i++) {
		w[i].fn = i < producers ? pc_producer : pc_consumer;
		w[i].priv = q;
		w[i].rng = bench_rand_seed(o->seed, (uint64_t)i);
	}
	r.seconds = bench_team_run(w, n, bench_duration(o, BENCH_DEFAULT_SECONDS));
	r.ops = bench_team_ops(w, n);
	r.threads = n;
	bench_unmap(w, (size_t)n * sizeof(*w));
	pthread_cond_destroy(&q->not_full);
	pthread_cond_destroy(&q->not_empty);
	pthread_mutex_destroy(&q->lock);
	bench_unmap(q, sizeof(*q));

	snprintf(r.workload, sizeof(r.workload), "prodcons-%ld", nthreads);
	bench_extra(&r, "producers=%d consumers=%d", producers, consumers);
	bench_report(&r);
	return 0;
}

/* ---- false-sharing THREADS ------------------------------------------------- */

/*
 * Allocator-induced false sharing, after Hoard's cache-scratch and
 * cache-thrash.  The main thread allocates small blocks back to back and
 * gives each worker one of a group that lies on a single cache line
 * (pick_shared_line()); the worker frees it (a remote free) and then loops:
 * allocate a block, write it MB_FS_WRITES times, free it.
 *
 * An allocator that hands a thread back the block it just freed, whoever
 * allocated it, keeps every worker writing into the one shared line: each
 * write is a cache-line transfer (passive false sharing).  One that returns
 * remote frees to the owner, or carves each thread's blocks from memory of
 * its own, gives each worker a line of its own and a write costs a
 * nanosecond.  Blocks allocated fresh by different threads at once may also
 * share lines (active false sharing); that shows here too.
 */
static void *fs_worker(void *arg)
{
	struct bench_worker *w = arg;
	volatile unsigned char *v;
	uint64_t writes = 0;
	unsigned int k;
	void *p;

	bench_worker_start(w);
	free(w->priv);
	while (!bench_should_stop(w)) {
		p = malloc(MB_FS_SIZE);
		if (unlikely(!p))
			bench_oom("malloc", MB_FS_SIZE);
		v = p;
		for (k = 0; k < MB_FS_WRITES; k++)
			v[k & (MB_FS_SIZE - 1)]++;
		free(p);
		writes += MB_FS_WRITES;
	}
	w->ops = writes;
	return NULL;
}

/*
 * pick_shared_line - index of the first of @n consecutive blocks of @pool
 * that all lie on one cache line, or -1.  Looking at addresses makes the
 * test independent of where the allocator's heap happens to start.
 */
static int pick_shared_line(void **pool, int npool, int n)
{
	uintptr_t line;
	int i, j;

	for (i = 0; i + n <= npool; i++) {
		line = (uintptr_t)pool[i] / BENCH_CACHELINE;
		for (j = 1; j < n; j++)
			if ((uintptr_t)pool[i + j] / BENCH_CACHELINE != line)
				break;
		if (j == n)
			return i;
	}
	return -1;
}

static int run_false_sharing(const struct bench_opts *o, long nthreads)
{
	struct bench_result r = { .threads = (int)nthreads };
	int i, first, npool, n = (int)nthreads;
	struct bench_worker *w;
	void **pool;

	npool = 4 * n + 8;
	pool = bench_map((size_t)npool * sizeof(*pool));
	for (i = 0; i < npool; i++) {
		pool[i] = xmalloc(MB_FS_SIZE);
		*(volatile unsigned char *)pool[i] = 0;
	}
	first = pick_shared_line(pool, npool, n);

	w = bench_map((size_t)n * sizeof(*w));
	for (i = 0; i < n; i++) {
		w[i].fn = fs_worker;
		w[i].priv = pool[(first < 0 ? 0 : first) + i];
		pool[(first < 0 ? 0 : first) + i] = NULL;
		w[i].rng = bench_rand_seed(o->seed, (uint64_t)i);
	}
	for (i = 0; i < npool; i++)
		free(pool[i]);
	bench_unmap(pool, (size_t)npool * sizeof(*pool));

	r.seconds = bench_team_run(w, n, bench_duration(o, BENCH_DEFAULT_SECONDS));
	r.ops = bench_team_ops(w, n);
	bench_unmap(w, (size_t)n * sizeof(*w));

	snprintf(r.workload, sizeof(r.workload), "false-sharing-%ld",
		 nthreads);
	bench_extra(&r, "op=write size=%d writes_per_block=%d first_blocks_share_line=%d",
		    MB_FS_SIZE, MB_FS_WRITES, first >= 0);
	bench_report(&r);
	return 0;
}

/* ---- threads THREADS ------------------------------------------------------- */

static void *threads_worker(void *arg)
{
	struct bench_worker *w = arg;
	uint64_t ops = 0;
	unsigned int i;
	void *p;

	bench_worker_start(w);
	do {
		for (i = 0; i < BENCH_CHUNK; i++) {
			p = malloc(MB_THREADS_SIZE);
			if (unlikely(!p))
				bench_oom("malloc", MB_THREADS_SIZE);
			*(volatile unsigned char *)p = (unsigned char)i;
			bench_sink(p);
			free(p);
		}
		ops += 2 * BENCH_CHUNK;
	} while (!bench_should_stop(w));
	w->ops = ops;
	return NULL;
}

/* "pairs 64" in every thread at once: perfect scaling is N times pairs-64. */
static int run_threads(const struct bench_opts *o, long nthreads)
{
	struct bench_result r = { .threads = (int)nthreads, .pairs = true };
	struct bench_worker *w;
	int i, n = (int)nthreads;

	w = bench_map((size_t)n * sizeof(*w));
	for (i = 0; i < n; i++)
		w[i].fn = threads_worker;
	r.seconds = bench_team_run(w, n, bench_duration(o, BENCH_DEFAULT_SECONDS));
	r.ops = bench_team_ops(w, n);
	bench_unmap(w, (size_t)n * sizeof(*w));

	snprintf(r.workload, sizeof(r.workload), "threads-%ld", nthreads);
	bench_extra(&r, "size=%d", MB_THREADS_SIZE);
	bench_report(&r);
	return 0;
}

/* ---- sweep, sweep-small ---------------------------------------------------- */

/*
 * What a request really costs in size classes: malloc_usable_size() over
 * the request, for requests from 256 B to 4 MiB, each 3% larger than the
 * last (sweep), or for every request from 1 to 256 B (sweep-small).  The
 * worst and the mean ratio are the figures; every block is written at both
 * ends, and a usable size below the request ends the run as an error.
 * Not a speed test: one malloc, one malloc_usable_size() and one free per
 * request.
 */
static int run_sweep_range(const char *name, size_t lo, size_t hi,
			   bool geometric)
{
	struct bench_result r = { .threads = 1, .fixed = true };
	size_t n, next, usable, worst_at = lo, worst_usable = 0;
	double ratio, worst = 0, sum = 0;
	struct bench_clock clk;
	unsigned int steps = 0;
	unsigned char *p;

	bench_clock_start(&clk, 0);
	for (n = lo; n <= hi; n = next) {
		p = xmalloc(n);
		p[0] = 1;
		p[n - 1] = 1;
		usable = malloc_usable_size(p);
		free(p);
		if (usable < n)
			bench_die("%s: malloc_usable_size() of a %zu-byte block is %zu",
				  name, n, usable);
		ratio = (double)usable / (double)n;
		sum += ratio;
		steps++;
		if (ratio > worst) {
			worst = ratio;
			worst_at = n;
			worst_usable = usable;
		}
		next = geometric ? (size_t)((double)n * MB_SWEEP_STEP) : n + 1;
		if (next <= n)
			next = n + 1;
		/* end on @hi exactly */
		if (next > hi && n < hi)
			next = hi;
	}
	r.seconds = bench_clock_elapsed(&clk);
	r.ops = 2ull * steps;
	snprintf(r.workload, sizeof(r.workload), "%s", name);
	bench_extra(&r, "lo=%zu hi=%zu steps=%u usable_worst=%.4f usable_mean=%.4f worst_request=%zu worst_usable=%zu",
		    lo, hi, steps, worst, sum / steps, worst_at, worst_usable);
	bench_report(&r);
	return 0;
}

static int run_sweep(const struct bench_opts *o, long unused)
{
	(void)o;
	(void)unused;
	return run_sweep_range("sweep", MB_SWEEP_LO, MB_SWEEP_HI, true);
}

static int run_sweep_small(const struct bench_opts *o, long unused)
{
	(void)o;
	(void)unused;
	return run_sweep_range("sweep-small", 1, MB_SWEEP_LO, false);
}

/* ---- fill SIZE -------------------------------------------------------------- */

/*
 * Memory, not usable size: 64 MiB (times -s) of SIZE-byte blocks allocated
 * and every page of them written; the figure is the growth of VmRSS over
 * the bytes requested.  Size classes that round 4200 B up to 8 KiB show
 * here as 1.9x; so does any per-block or per-slab overhead.
 */
static int run_fill(const struct bench_opts *o, long size)
{
	struct bench_result r = { .threads = 1, .fixed = true };
	size_t bytes = (size_t)((double)MB_FILL_BYTES * o->scale);
	long rss0, rss1;
	struct bench_clock clk;
	size_t i, count;
	void **slot;

	if (bytes < ((size_t)1 << 20))
		bytes = (size_t)1 << 20;
	count = (bytes + (size_t)size - 1) / (size_t)size;
	slot = bench_map(count * sizeof(*slot));
	memset(slot, 0, count * sizeof(*slot));	/* resident before rss0 */
	rss0 = bench_status_kb("VmRSS");
	bench_clock_start(&clk, 0);
	for (i = 0; i < count; i++) {
		slot[i] = xmalloc((size_t)size);
		bench_touch(slot[i], (size_t)size, slot_tag(i));
	}
	r.seconds = bench_clock_elapsed(&clk);
	rss1 = bench_status_kb("VmRSS");
	for (i = 0; i < count; i++)
		free_tagged(slot[i], i, "fill");
	bench_unmap(slot, count * sizeof(*slot));
	r.ops = 2 * count;
	snprintf(r.workload, sizeof(r.workload), "fill-%ld", size);
	bench_extra(&r, "size=%ld blocks=%zu payload_kb=%zu rss_growth_kb=%ld rss_per_payload=%.3f",
		    size, count, count * (size_t)size / 1024, rss1 - rss0,
		    (double)(rss1 - rss0) * 1024.0 / ((double)count * (double)size));
	bench_report(&r);
	return 0;
}

/* ---- large -------------------------------------------------------------------- */

/*
 * The end of a shape that replaces one of @nslots live blocks @iters
 * times (large, regrow): stop the clock, free what is left, report.
 */
static int replacements_done(struct bench_result *r, struct bench_clock *clk,
			     void **slot, int nslots, unsigned long iters,
			     double total, const char *name)
{
	r->seconds = bench_clock_elapsed(clk);
	for (int idx = 0; idx < nslots; idx++)
		free(slot[idx]);
	r->ops = 2 * iters;
	snprintf(r->workload, sizeof(r->workload), "%s", name);
	bench_extra(r, "allocations=%lu live=%d mean_size_kb=%.0f",
		    iters, nslots, total / (double)iters / 1024);
	bench_report(r);
	return 0;
}

/*
 * Huge blocks with replacement: 20 live buffers; COUNT times (default
 * 2000, as mimalloc-bench's malloc-large; times -s), one of them, at random, is freed and replaced by a new zero-filled block
 * of 5 to 25 MiB (malloc, then memset of the whole block, as C++'s
 * new char[n]() does).  An allocator that unmaps huge blocks on free pays
 * for every page again, in page faults; one that keeps them serves the
 * next request from memory already mapped.  Fixed work: the time is the
 * figure.
 */
static int run_large(const struct bench_opts *o, long count)
{
	struct bench_result r = { .threads = 1, .fixed = true };
	uint64_t rng = bench_rand_seed(o->seed, 0);
	void *slot[MB_LARGE_SLOTS] = { NULL };
	size_t size[MB_LARGE_SLOTS] = { 0 };
	unsigned long iters, i;
	struct bench_clock clk;
	unsigned char *p;
	size_t idx, sz;
	double total = 0;

	iters = (unsigned long)((double)count * o->scale);
	if (iters < MB_LARGE_SLOTS)
		iters = MB_LARGE_SLOTS;
	bench_clock_start(&clk, 0);
	for (i = 0; i < iters; i++) {
		idx = bench_rand_below(&rng, MB_LARGE_SLOTS);
		sz = bench_rand_range(&rng, MB_LARGE_MIN, MB_LARGE_MAX);
		if (slot[idx]) {
			p = slot[idx];
			if (unlikely(p[0] != slot_tag(idx) ||
				     p[size[idx] - 1] != 0))
				bench_die("large: block of slot %zu was overwritten",
					  idx);
			free(p);
		}
		p = xmalloc(sz);
		/* the barrier keeps the compiler from making this a calloc() */
		bench_sink(p);
		memset(p, 0, sz);
		p[0] = slot_tag(idx);
		slot[idx] = p;
		size[idx] = sz;
		total += (double)sz;
	}
	return replacements_done(&r, &clk, slot, MB_LARGE_SLOTS, iters, total,
				 "large");
}

/* ---- regrow -------------------------------------------------------------------- */

/*
 * Large blocks of mixed sizes with replacement: 64 live blocks of 300 KiB
 * to 1 MiB (malloc's large sizes, below the huge ones); COUNT times
 * (default 20000; times -s) one of them, at random, is freed and replaced
 * by a block of a new random size, a byte written in each of its pages.
 * A freed block is likely reused for a size that differs from its last
 * one by hundreds of KiB: an allocator that gives the unused tail of a
 * reused block back to the OS faults it in again when the next user is
 * larger.  The 64 blocks are allocated before the clock starts.  Fixed
 * work: the time is the figure.
 */
static int run_regrow(const struct bench_opts *o, long count)
{
	struct bench_result r = { .threads = 1, .fixed = true };
	uint64_t rng = bench_rand_seed(o->seed, 0);
	void *slot[MB_REGROW_SLOTS];
	size_t size[MB_REGROW_SLOTS];
	unsigned char *p;
	unsigned long iters, i;
	struct bench_clock clk;
	double total = 0;
	size_t idx, sz;

	iters = (unsigned long)((double)count * o->scale);
	if (iters < MB_REGROW_SLOTS)
		iters = MB_REGROW_SLOTS;
	for (idx = 0; idx < MB_REGROW_SLOTS; idx++) {
		size[idx] = bench_rand_range(&rng, MB_REGROW_MIN, MB_REGROW_MAX);
		slot[idx] = xmalloc(size[idx]);
		bench_touch(slot[idx], size[idx], slot_tag(idx));
	}
	bench_clock_start(&clk, 0);
	for (i = 0; i < iters; i++) {
		idx = bench_rand_below(&rng, MB_REGROW_SLOTS);
		sz = bench_rand_range(&rng, MB_REGROW_MIN, MB_REGROW_MAX);
		p = slot[idx];
		if (unlikely(p[0] != slot_tag(idx) ||
			     p[size[idx] - 1] != slot_tag(idx)))
			bench_die("regrow: block of slot %zu was overwritten",
				  idx);
		free(p);
		slot[idx] = xmalloc(sz);
		bench_touch(slot[idx], sz, slot_tag(idx));
		size[idx] = sz;
		total += (double)sz;
	}
	return replacements_done(&r, &clk, slot, MB_REGROW_SLOTS, iters, total,
				 "regrow");
}

/* ---- mstress -------------------------------------------------------------------- */

/*
 * mstress_alloc - a block of @words 8-byte words, made rarely huge: one
 * request in 100 is 100 times larger, one in 1000 is 1000 times, one in
 * 10,000 is 10,000 times (up to 64 x 10,000 words, 5 MB).  Every word is
 * written with a pattern that mstress_free() checks.
 */
static uint64_t *mstress_alloc(uint64_t *rng, unsigned int max_shift)
{
	size_t words = (size_t)1 << bench_rand_below(rng, max_shift + 1);
	uint32_t roll = bench_rand_below(rng, 10000);
	uint64_t *p;
	size_t i;

	if (roll == 0)
		words *= 10000;
	else if (roll < 10)
		words *= 1000;
	else if (roll < 100)
		words *= 100;
	p = malloc(words * sizeof(*p));
	if (unlikely(!p))
		bench_oom("malloc", words * sizeof(*p));
	for (i = 0; i < words; i++)
		p[i] = (words - i) ^ MB_MS_COOKIE;
	return p;
}

static void mstress_free(uint64_t *p)
{
	size_t words, i;

	if (!p)
		return;
	words = p[0] ^ MB_MS_COOKIE;
	for (i = 0; i < words; i++)
		if (unlikely((p[i] ^ MB_MS_COOKIE) != words - i))
			bench_die("mstress: block %p overwritten at word %zu",
				  (void *)p, i);
	free(p);
}

/*
 * Random small blocks with rare huge ones, one thread.  A round makes
 * 5000 short-lived blocks of 8..128 B and 2500 kept ones of 8..512 B
 * (interleaved at random), frees a random short-lived block after two
 * allocations in three, and swaps one with a slot of a 1000-entry
 * transfer array after one in four; at the end of the round everything but
 * the transfer array is freed, and half of that.  250 rounds (times -s).
 * Each size is made 100, 1000 or 10,000 times larger now and then
 * (mstress_alloc()), so huge blocks come and go among the small ones: an
 * allocator that maps and unmaps each of them pays page faults every time.
 * Fixed work: the time is the figure.
 */
static int run_mstress(const struct bench_opts *o, long unused)
{
	struct bench_result r = { .threads = 1, .fixed = true };
	uint64_t rng = bench_rand_seed(o->seed, 0);
	size_t top, rtop, allocs, retain, idx, t;
	uint64_t **data, **kept, **transfer, *tmp;
	unsigned long rounds, round;
	struct bench_clock clk;
	uint64_t ops = 0;

	(void)unused;
	rounds = (unsigned long)((double)MB_MS_ROUNDS * o->scale);
	if (rounds < 1)
		rounds = 1;
	data = bench_map(MB_MS_ALLOCS * sizeof(*data));
	kept = bench_map(MB_MS_RETAIN * sizeof(*kept));
	transfer = bench_map(MB_MS_TRANSFER * sizeof(*transfer));

	bench_clock_start(&clk, 0);
	for (round = 0; round < rounds; round++) {
		allocs = MB_MS_ALLOCS;
		retain = MB_MS_RETAIN;
		top = rtop = 0;
		while (allocs || retain) {
			if (!retain || (allocs && bench_rand_below(&rng, 2))) {
				data[top++] = mstress_alloc(&rng, 4);
				allocs--;
			} else {
				kept[rtop++] = mstress_alloc(&rng, 6);
				retain--;
			}
			ops++;
			if (top && bench_rand_below(&rng, 3) < 2) {
				idx = bench_rand_below(&rng, (uint32_t)top);
				if (data[idx])
					ops++;
				mstress_free(data[idx]);
				data[idx] = NULL;
			}
			if (top && bench_rand_below(&rng, 4) == 0) {
				idx = bench_rand_below(&rng, (uint32_t)top);
				t = bench_rand_below(&rng, MB_MS_TRANSFER);
				tmp = data[idx];
				data[idx] = transfer[t];
				transfer[t] = tmp;
			}
		}
		for (idx = 0; idx < rtop; idx++, ops++)
			mstress_free(kept[idx]);
		for (idx = 0; idx < top; idx++) {
			ops += data[idx] != NULL;
			mstress_free(data[idx]);
		}
		for (t = 0; t < MB_MS_TRANSFER; t++) {
			if (round + 1 < rounds && bench_rand_below(&rng, 2))
				continue;
			ops += transfer[t] != NULL;
			mstress_free(transfer[t]);
			transfer[t] = NULL;
		}
	}
	r.seconds = bench_clock_elapsed(&clk);
	r.ops = ops;
	bench_unmap(data, MB_MS_ALLOCS * sizeof(*data));
	bench_unmap(kept, MB_MS_RETAIN * sizeof(*kept));
	bench_unmap(transfer, MB_MS_TRANSFER * sizeof(*transfer));
	snprintf(r.workload, sizeof(r.workload), "mstress");
	bench_extra(&r, "rounds=%lu", rounds);
	bench_report(&r);
	return 0;
}

/*
 * A hash of arrays, as perl's (bench/programs.py's perl.pl, whose peak
 * RSS under kmem was 1.24x glibc's): each round pushes 60,000 strings of
 * 11..130 B, each onto one of 101 arrays of pointers (chosen by a hash of
 * the item, as the script's keys are), which grow by realloc to 1.2 times
 * their length plus 4 as they fill, so every array walks up the size
 * classes from 32 B to 5 KiB and leaves one block of each behind; then
 * everything is freed.  Ten rounds (times -s).  Fixed work: the time and
 * the peak RSS are the figures; the peak is the first round's, whose
 * frees are the arrays' old blocks only.
 */
static int run_arrays(const struct bench_opts *o, long unused)
{
	struct bench_result r = { .threads = 1, .fixed = true };
	unsigned long rounds, ops = 0;
	char ***arr;
	size_t *cap, *len;
	struct bench_clock clk;

	(void)unused;
	rounds = (unsigned long)((double)MB_AR_ROUNDS * o->scale);
	if (rounds < 1)
		rounds = 1;
	arr = bench_map(MB_AR_ARRAYS * sizeof(*arr));
	cap = bench_map(MB_AR_ARRAYS * sizeof(*cap));
	len = bench_map(MB_AR_ARRAYS * sizeof(*len));
	bench_clock_start(&clk, 0);
	for (unsigned long round = 0; round < rounds; round++) {
		for (unsigned int i = 1; i <= MB_AR_ITEMS; i++) {
			unsigned int a = (unsigned int)(((uint64_t)i * 7919 +
							 round) % 1000003 /
							10000) % MB_AR_ARRAYS;
			size_t n = 11 + i % 120;
			char *str = malloc(n);

			if (unlikely(!str))
				bench_oom("malloc", n);
			memset(str, 'a' + (int)(n % 26), n);
			str[0] = (char)n;	/* the length, for the check */
			if (len[a] == cap[a]) {
				size_t c = cap[a] + cap[a] / 5 + 4;
				char **grown = realloc(arr[a], c * sizeof(*grown));

				if (unlikely(!grown))
					bench_oom("realloc", c * sizeof(*grown));
				arr[a] = grown;
				cap[a] = c;
				ops++;
			}
			arr[a][len[a]++] = str;
			ops++;
		}
		for (unsigned int a = 0; a < MB_AR_ARRAYS; a++) {
			for (size_t k = 0; k < len[a]; k++) {
				char *str = arr[a][k];
				size_t n = (unsigned char)str[0];

				if (unlikely(n < 11 || n > 130 ||
					     str[n - 1] != 'a' + (int)(n % 26)))
					bench_die("arrays: string %p overwritten",
						  (void *)str);
				free(str);
				ops++;
			}
			free(arr[a]);
			ops++;
			arr[a] = NULL;
			cap[a] = len[a] = 0;
		}
	}
	r.seconds = bench_clock_elapsed(&clk);
	r.ops = ops;
	bench_unmap(arr, MB_AR_ARRAYS * sizeof(*arr));
	bench_unmap(cap, MB_AR_ARRAYS * sizeof(*cap));
	bench_unmap(len, MB_AR_ARRAYS * sizeof(*len));
	snprintf(r.workload, sizeof(r.workload), "arrays");
	bench_extra(&r, "rounds=%lu", rounds);
	bench_report(&r);
	return 0;
}

/* ---- private THREADS ------------------------------------------------------------ */

/**
 * struct private_set - one thread's working set in the private workload
 * @slot:   MB_PRIV_SLOTS blocks, NULL until first used
 * @len:    the size asked for each of them
 * @size:   MB_PRIV_SIZES precomputed request sizes, cycled through
 * @index:  MB_PRIV_INDICES precomputed slot indices, cycled through
 *
 * Precomputed, as glibc's thread benchmark does, so the loop measures the
 * allocator and memset rather than the random number generator.
 */
struct private_set {
	void *slot[MB_PRIV_SLOTS];
	uint32_t len[MB_PRIV_SLOTS];	/* the size of each slot's block */
	uint32_t size[MB_PRIV_SIZES];
	uint16_t index[MB_PRIV_INDICES];
	bool sparse;	/* medium: write a byte per page, not every byte */
	int cpu_start;	/* the CPU the thread ran on after the start barrier */
	int cpu_end;	/* ... and when it saw the stop flag */
};

/*
 * A size from 4 B to 32 KiB with density proportional to 1/size^2 (by
 * inversion of its distribution function): half the requests are under
 * 8 B, 1 in 250 is over 1 KiB, the mean is about 36 B.
 */
static uint32_t private_size(uint64_t *rng)
{
	const double lo = MB_PRIV_MIN, hi = MB_PRIV_MAX;
	double u = (double)(bench_rand(rng) >> 11) / 9007199254740992.0;

	return (uint32_t)(1.0 / (1.0 / lo - u * (1.0 / lo - 1.0 / hi)));
}

static void *private_worker(void *arg)
{
	struct bench_worker *w = arg;
	struct private_set *set = w->priv;
	unsigned int k = 0, s = 0, i, idx;
	uint64_t iters = 0;
	uint32_t sz;
	void *p;

	bench_worker_start(w);
	set->cpu_start = sched_getcpu();
	do {
		for (i = 0; i < BENCH_CHUNK; i++) {
			idx = set->index[k];
			sz = set->size[s];
			k = (k + 1) & (MB_PRIV_INDICES - 1);
			s = s + 1 == MB_PRIV_SIZES ? 0 : s + 1;
			free(set->slot[idx]);
			p = malloc(sz);
			if (unlikely(!p))
				bench_oom("malloc", sz);
			if (set->sparse) {
				for (uint32_t b = 0; b < sz; b += 4096)
					((char *)p)[b] = (char)i;
				((char *)p)[sz - 1] = (char)i;
			} else {
				memset(p, (int)i, sz);
			}
			set->slot[idx] = p;
			set->len[idx] = sz;
		}
		iters += BENCH_CHUNK;
	} while (!bench_should_stop(w));
	set->cpu_end = sched_getcpu();
	w->ops = 2 * iters;
	return NULL;	/* the blocks stay for private_shared_lines() */
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * private_shared_lines - 64-byte lines holding live blocks of two threads
 *
 * At the end of the run, the first and last line of every live block
 * (the lines between are the block's own), tagged with the thread, sorted:
 * a line that more than one thread has a block in is written by both
 * cores, false sharing the allocator arranged.  Not timed.
 */
static unsigned int private_shared_lines(const struct private_set *set,
					 int n, unsigned int nslots)
{
	size_t cap = (size_t)n * nslots * 2, k = 0, i, j;
	uint64_t *tag = bench_map(cap * sizeof(*tag));
	unsigned int shared = 0;

	for (int t = 0; t < n; t++) {
		for (unsigned int x = 0; x < nslots; x++) {
			uintptr_t a = (uintptr_t)set[t].slot[x];
			uintptr_t e = a + set[t].len[x] - 1;

			if (!a)
				continue;
			tag[k++] = (uint64_t)(a / 64) << 8 | (uint64_t)t;
			if (e / 64 != a / 64)
				tag[k++] = (uint64_t)(e / 64) << 8 | (uint64_t)t;
		}
	}
	qsort(tag, k, sizeof(*tag), u64_cmp);
	for (i = 0; i < k; i = j) {
		bool two = false;

		for (j = i + 1; j < k && tag[j] >> 8 == tag[i] >> 8; j++)
			two |= (tag[j] & 0xff) != (tag[i] & 0xff);
		shared += two;
	}
	bench_unmap(tag, cap * sizeof(*tag));
	return shared;
}

/*
 * private_cpus - each thread's CPU at its start and at its end, "0>0,0>1"
 *
 * Where a per-CPU cache's threads ran decides whether their blocks share
 * lines: two threads that start on one CPU take turns with its magazines
 * until the scheduler moves one (performance.md, "private-2's shared
 * lines are made at the start").
 */
static void private_cpus(char *buf, size_t size,
			 const struct private_set *set, int n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int t = 0; t < n && len < size; t++)
		len += (size_t)snprintf(buf + len, size - len, "%s%d>%d",
					t ? "," : "", set[t].cpu_start,
					set[t].cpu_end);
}

/*
 * After glibc's bench-malloc-thread: each thread frees a random slot of
 * its own 1024-slot working set and puts there a new block of random size
 * (4 B .. 32 KiB, inverse-square), writing every byte of it.  Threads
 * never touch each other's blocks, so an allocator that keeps a thread's
 * memory to itself scales with the cores; one whose objects travel
 * between threads (through a shared depot) makes every free a cache-line
 * transfer.  Compare private-N's per-thread throughput with private-1's.
 */
static int run_private_set(const struct bench_opts *o, long nthreads,
			   bool medium)
{
	struct bench_result r = { .threads = (int)nthreads };
	int i, n = (int)nthreads;
	unsigned int nslots = medium ? MB_MEDIUM_SLOTS : MB_PRIV_SLOTS;
	unsigned int shared;
	char cpus[BENCH_MAX_THREADS * 12 + 1];
	struct private_set *set;
	struct bench_worker *w;
	uint64_t rng;
	unsigned int j;

	set = bench_map((size_t)n * sizeof(*set));
	w = bench_map((size_t)n * sizeof(*w));
	for (i = 0; i < n; i++) {
		rng = bench_rand_seed(o->seed, (uint64_t)i);
		for (j = 0; j < MB_PRIV_SIZES; j++)
			set[i].size[j] = medium ?
				MB_MEDIUM_MIN + (uint32_t)bench_rand_below(&rng,
					MB_PRIV_MAX - MB_MEDIUM_MIN + 1) :
				private_size(&rng);
		for (j = 0; j < MB_PRIV_INDICES; j++)
			set[i].index[j] = (uint16_t)bench_rand_below(&rng,
								     nslots);
		set[i].sparse = medium;
		w[i].fn = private_worker;
		w[i].priv = &set[i];
	}
	r.seconds = bench_team_run(w, n, bench_duration(o, MB_SCALING_SECONDS));
	r.ops = bench_team_ops(w, n);
	shared = private_shared_lines(set, n, nslots);
	private_cpus(cpus, sizeof(cpus), set, n);
	for (i = 0; i < n; i++)
		for (j = 0; j < nslots; j++)
			free(set[i].slot[j]);
	bench_unmap(w, (size_t)n * sizeof(*w));
	bench_unmap(set, (size_t)n * sizeof(*set));
	snprintf(r.workload, sizeof(r.workload), "%s-%ld",
		 medium ? "medium" : "private", nthreads);
	bench_extra(&r, "slots_per_thread=%u min=%d max=%d shared_lines=%u"
		    " cpus=%s", nslots, medium ? MB_MEDIUM_MIN : MB_PRIV_MIN,
		    MB_PRIV_MAX, shared, cpus);
	bench_report(&r);
	return 0;
}

static int run_private(const struct bench_opts *o, long nthreads)
{
	return run_private_set(o, nthreads, false);
}

/*
 * Issue 15's question for the page allocator's per-thread lists: the
 * private shape over medium sizes only, 4 KiB to 32 KiB uniform (the
 * slab's medium classes up to 14 KiB, page blocks of 16 and 32 KiB
 * above), 256 slots per thread, a byte written per page so that the
 * allocator's own cost is what is timed.  Threads never share blocks.
 */
static int run_medium(const struct bench_opts *o, long nthreads)
{
	return run_private_set(o, nthreads, true);
}

/* ---- alloctest THREADS ------------------------------------------------------------ */

/*
 * The shape of mimalloc-bench's alloc-test (written here from its
 * description): MB_AT_SLOTS slots, an equal share per thread; each step
 * picks one of the thread's slots, skewed so that hot slots come up
 * often, and either frees the block there (after reading all of it) or
 * puts a new one there (and writes all of it).  Sizes come in classes
 * 2^(k+2)+1 .. 2^(k+3) for k = 0..7, class k with probability 2^-(k+1)
 * (the last class takes the remainder), uniform within a class: 5 B to
 * 1 KiB, small ones likeliest.  Threads never share blocks.
 */
struct at_slot {
	unsigned char *p;
	uint32_t size;
};

struct at_set {
	struct at_slot *slot;
	uint32_t n;
};

static uint32_t at_size(uint64_t *rng)
{
	uint64_t r = bench_rand(rng);
	unsigned int k = (unsigned int)__builtin_ctzll(r | (1ull << 63));

	if (k >= MB_AT_CLASSES)
		k = MB_AT_CLASSES - 1;
	r >>= 40;	/* bits the class did not use */
	return (1u << (k + 2)) + 1 + (uint32_t)(r & ((1u << (k + 2)) - 1));
}

/*
 * A slot index below @n, 80/20 three levels deep: four picks in five go
 * to the first fifth of the range, and so on down, so the hottest 0.8% of
 * the slots get half the picks and every slot some.
 */
static uint32_t at_slot_index(uint64_t *rng, uint32_t n)
{
	for (int level = 0; level < 3 && n >= 5; level++) {
		if (bench_rand_below(rng, 5) == 0)
			break;
		n /= 5;
	}
	return bench_rand_below(rng, n);
}

static void *at_alloc(struct at_slot *s, uint64_t *rng)
{
	uint32_t sz = at_size(rng);

	s->p = malloc(sz);
	if (unlikely(!s->p))
		bench_oom("malloc", sz);
	s->size = sz;
	memset(s->p, (int)sz, sz);
	return s->p;
}

static void *alloctest_worker(void *arg)
{
	struct bench_worker *w = arg;
	struct at_set *set = w->priv;
	uint64_t iters = 0, sum = 0;
	unsigned int i;

	bench_worker_start(w);
	do {
		for (i = 0; i < BENCH_CHUNK; i++) {
			struct at_slot *s =
				&set->slot[at_slot_index(&w->rng, set->n)];

			if (s->p) {
				for (uint32_t b = 0; b + 8 <= s->size; b += 8)
					sum += *(uint64_t *)(s->p + b);
				if (unlikely(s->p[s->size - 1] !=
					     (unsigned char)s->size))
					bench_die("alloctest: block %p of %u bytes overwritten\n",
						  (void *)s->p, s->size);
				free(s->p);
				s->p = NULL;
			} else {
				at_alloc(s, &w->rng);
			}
		}
		iters += BENCH_CHUNK;
	} while (!bench_should_stop(w));
	__asm__ volatile("" : : "r"(sum));	/* the reads are not elided */
	w->ops = iters;
	return NULL;
}

static int run_alloctest(const struct bench_opts *o, long nthreads)
{
	struct bench_result r = { .threads = (int)nthreads };
	int i, n = (int)nthreads;
	uint32_t per = MB_AT_SLOTS / (uint32_t)n;
	struct bench_worker *w;
	struct at_set *set;

	set = bench_map((size_t)n * sizeof(*set));
	w = bench_map((size_t)n * sizeof(*w));
	for (i = 0; i < n; i++) {
		set[i].n = per;
		set[i].slot = bench_map((size_t)per * sizeof(struct at_slot));
		w[i].rng = bench_rand_seed(o->seed, (uint64_t)i);
		/* Set-up, not timed: every other slot holds a block. */
		for (uint32_t j = 0; j < per; j++)
			if (bench_rand(&w[i].rng) >> 63)
				at_alloc(&set[i].slot[j], &w[i].rng);
		w[i].fn = alloctest_worker;
		w[i].priv = &set[i];
	}
	r.seconds = bench_team_run(w, n, bench_duration(o, MB_SCALING_SECONDS));
	r.ops = bench_team_ops(w, n);
	for (i = 0; i < n; i++) {
		for (uint32_t j = 0; j < per; j++)
			free(set[i].slot[j].p);
		bench_unmap(set[i].slot, (size_t)per * sizeof(struct at_slot));
	}
	bench_unmap(w, (size_t)n * sizeof(*w));
	bench_unmap(set, (size_t)n * sizeof(*set));
	snprintf(r.workload, sizeof(r.workload), "alloctest-%ld", nthreads);
	bench_extra(&r, "slots_per_thread=%u min=5 max=1024", per);
	bench_report(&r);
	return 0;
}

/* ---- xmalloc PAIRS ---------------------------------------------------------------- */

/**
 * struct xm_batch - MB_XM_BATCH blocks on their way from producer to releaser
 * @next:   next batch on the stack
 * @obj:    the blocks
 *
 * The batch itself is malloc'd by the producer and freed by the releaser,
 * a remote free of a 32 KiB block.
 */
struct xm_batch {
	struct xm_batch *next;
	void *obj[MB_XM_BATCH];
};

/**
 * struct xm_stack - the batches in flight, last in first out
 * @lock:      protects everything below
 * @not_empty: signalled on push
 * @not_full:  signalled on pop
 * @top:       the stack
 * @count:     batches on it, at most MB_XM_DEPTH
 * @deepest:   the largest @count reached: the blocks in flight, which
 *             peak RSS follows (a releaser slower than its producer by
 *             a percent fills the stack in a second)
 */
struct xm_stack {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	struct xm_batch *top;
	int count;
	int deepest;
};

/* Wait on @cond at most a few milliseconds, so the stop flag is seen. */
static void xm_wait(pthread_cond_t *cond, pthread_mutex_t *lock)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 5 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(cond, lock, &ts);
}

static void *xm_producer(void *arg)
{
	struct bench_worker *w = arg;
	struct xm_stack *st = w->priv;
	struct xm_batch *b;
	unsigned int i;

	bench_worker_start(w);
	while (!bench_should_stop(w)) {
		b = xmalloc(sizeof(*b));
		for (i = 0; i < MB_XM_BATCH; i++) {
			b->obj[i] = xmalloc(MB_XM_SIZE);
			memset(b->obj[i], (int)slot_tag(i), MB_XM_SIZE);
		}
		pthread_mutex_lock(&st->lock);
		while (st->count >= MB_XM_DEPTH && !bench_should_stop(w))
			xm_wait(&st->not_full, &st->lock);
		b->next = st->top;
		st->top = b;
		st->count++;
		if (st->count > st->deepest)
			st->deepest = st->count;
		pthread_cond_signal(&st->not_empty);
		pthread_mutex_unlock(&st->lock);
	}
	return NULL;
}

static void xm_free_batch(struct xm_batch *b)
{
	unsigned int i;

	for (i = 0; i < MB_XM_BATCH; i++)
		free_tagged(b->obj[i], i, "xmalloc");
	free(b);
}

static void *xm_releaser(void *arg)
{
	struct bench_worker *w = arg;
	struct xm_stack *st = w->priv;
	uint64_t freed = 0;
	struct xm_batch *b;

	bench_worker_start(w);
	for (;;) {
		pthread_mutex_lock(&st->lock);
		while (!st->top && !bench_should_stop(w))
			xm_wait(&st->not_empty, &st->lock);
		b = st->top;
		if (b) {
			st->top = b->next;
			st->count--;
			pthread_cond_signal(&st->not_full);
		}
		pthread_mutex_unlock(&st->lock);
		if (!b)
			break;	/* stopped and nothing left to take now */
		if (bench_should_stop(w)) {
			/* not counted: the producers have stopped */
			pthread_mutex_lock(&st->lock);
			b->next = st->top;
			st->top = b;
			st->count++;
			pthread_mutex_unlock(&st->lock);
			break;
		}
		xm_free_batch(b);
		freed += MB_XM_BATCH;
	}
	w->ops = 2 * freed;	/* the malloc and the free of each block */
	return NULL;
}

/*
 * After xmalloc-test: PAIRS producer threads malloc 64-byte blocks in
 * batches of 4096 and push each batch on a shared stack (at most 100
 * deep); as many releaser threads pop batches and free every block.  All
 * frees are remote, and memory flows one way, from producers to
 * releasers: an allocator must get it back to the producers.  Throughput
 * counts the blocks freed; xmalloc-N runs 2N threads.
 */
static int run_xmalloc(const struct bench_opts *o, long pairs)
{
	struct bench_result r = { .threads = (int)(2 * pairs) };
	int i, n = (int)(2 * pairs), deepest;
	struct bench_worker *w;
	struct xm_batch *b;
	struct xm_stack *st;

	if (n > BENCH_MAX_THREADS)
		bench_die("xmalloc: at most %d pairs", BENCH_MAX_THREADS / 2);
	st = bench_map(sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->not_empty, NULL);
	pthread_cond_init(&st->not_full, NULL);
	w = bench_map((size_t)n * sizeof(*w));
	for (i = 0; i < n; i++) {
		w[i].fn = i % 2 ? xm_releaser : xm_producer;
		w[i].priv = st;
	}
	r.seconds = bench_team_run(w, n, bench_duration(o, MB_SCALING_SECONDS));
	r.ops = bench_team_ops(w, n);
	deepest = st->deepest;
	while ((b = st->top)) {
		st->top = b->next;
		xm_free_batch(b);
	}
	bench_unmap(w, (size_t)n * sizeof(*w));
	pthread_cond_destroy(&st->not_full);
	pthread_cond_destroy(&st->not_empty);
	pthread_mutex_destroy(&st->lock);
	bench_unmap(st, sizeof(*st));
	snprintf(r.workload, sizeof(r.workload), "xmalloc-%ld", pairs);
	bench_extra(&r, "producers=%ld releasers=%ld size=%d batch=%d deepest=%d",
		    pairs, pairs, MB_XM_SIZE, MB_XM_BATCH, deepest);
	bench_report(&r);
	return 0;
}

/* ---- rptest THREADS ------------------------------------------------------------- */

/**
 * struct rp_parcel - blocks one rptest thread allocated for another
 * @next:  the next parcel in the receiver's mailbox
 * @count: blocks in @obj
 * @obj:   the blocks, each tagged with its index
 *
 * malloc'd by the sender and freed by the receiver, like its blocks.
 */
struct rp_parcel {
	struct rp_parcel *next;
	unsigned int count;
	void *obj[MB_RP_OPS];
};

/**
 * struct rp_thread - one rptest thread's state
 * @mailbox: parcels sent to this thread (a Treiber stack: senders push
 *           with compare-and-swap, the owner takes everything with one
 *           exchange, so no ABA)
 * @pending: parcels in @mailbox; a sender waits while it is
 *           MB_RP_INFLIGHT or more
 * @slot:    the thread's MB_RP_SLOTS live blocks
 * @size:    their sizes
 * @next:    the thread it sends parcels to
 */
struct rp_thread {
	_Atomic(struct rp_parcel *) mailbox;
	atomic_int pending;
	void *slot[MB_RP_SLOTS];
	uint32_t size[MB_RP_SLOTS];
	struct rp_thread *next;
} __attribute__((aligned(BENCH_CACHELINE)));

/* 8 .. 16000 B, density falling linearly to zero at the top. */
static size_t rp_size(uint64_t *rng)
{
	double u = (double)(bench_rand(rng) >> 11) / 9007199254740992.0;
	double x = MB_RP_MAX - (MB_RP_MAX - MB_RP_MIN) * sqrt(u);

	return (size_t)x;
}

/* Free every parcel in @t's mailbox; return the frees done. */
static uint64_t rp_drain(struct rp_thread *t)
{
	struct rp_parcel *pc, *next;
	uint64_t ops = 0;
	unsigned int i;

	int n = 0;

	pc = atomic_exchange_explicit(&t->mailbox, NULL, memory_order_acquire);
	for (; pc; pc = next) {
		next = pc->next;
		for (i = 0; i < pc->count; i++)
			free_tagged(pc->obj[i], i, "rptest");
		ops += pc->count + 1;
		free(pc);
		n++;
	}
	if (n)
		atomic_fetch_sub_explicit(&t->pending, n, memory_order_relaxed);
	return ops;
}

static void *rp_worker(void *arg)
{
	struct bench_worker *w = arg;
	struct rp_thread *t = w->priv;
	struct rp_parcel *pc;
	unsigned long loop = 0;
	unsigned int i;
	uint64_t ops = 0;
	size_t idx, sz;
	void *p;

	bench_worker_start(w);
	while (!bench_should_stop(w)) {
		ops += rp_drain(t);
		for (i = 0; i < MB_RP_OPS; i++) {
			idx = bench_rand_below(&w->rng, MB_RP_SLOTS);
			sz = rp_size(&w->rng);
			if (t->slot[idx]) {
				free_tagged(t->slot[idx], idx, "rptest");
				ops++;
			}
			p = xmalloc(sz);
			bench_touch(p, sz, slot_tag(idx));
			t->slot[idx] = p;
			t->size[idx] = (uint32_t)sz;
			ops++;
		}
		if (++loop % MB_RP_CROSS)
			continue;
		pc = xmalloc(sizeof(*pc));
		pc->count = MB_RP_OPS;
		for (i = 0; i < MB_RP_OPS; i++) {
			sz = rp_size(&w->rng);
			pc->obj[i] = xmalloc(sz);
			bench_touch(pc->obj[i], sz, slot_tag(i));
		}
		ops += MB_RP_OPS + 1;
		/*
		 * Bounded, as a real hand-off queue is: while the receiver
		 * (descheduled on a busy machine) has MB_RP_INFLIGHT parcels
		 * waiting, free our own and let it run.  Unbounded, one
		 * time slice of a sender piled up tens of MB for it, and the
		 * figure measured the scheduler.
		 */
		while (atomic_load_explicit(&t->next->pending,
					    memory_order_relaxed) >= MB_RP_INFLIGHT &&
		       !bench_should_stop(w)) {
			ops += rp_drain(t);
			sched_yield();
		}
		atomic_fetch_add_explicit(&t->next->pending, 1,
					  memory_order_relaxed);
		pc->next = atomic_load_explicit(&t->next->mailbox,
						memory_order_relaxed);
		while (!atomic_compare_exchange_weak_explicit(&t->next->mailbox,
							      &pc->next, pc,
							      memory_order_release,
							      memory_order_relaxed))
			;
	}
	w->ops = ops;
	return NULL;
}

/*
 * After rpmalloc's rptest: each thread keeps 1000 live blocks of 8 B to
 * 16000 B (most of them small: the density falls linearly) and replaces
 * 100 at random per loop; every second loop it also allocates 100 blocks
 * for the next thread, which frees them on its next loop (at most 4
 * parcels wait for a thread: the sender yields until they are freed).  A mix of
 * medium sizes (the 4-16 KiB range where slab and page allocator meet)
 * and a steady rate of remote frees.  With one thread, the parcels go to
 * itself.
 */
static int run_rptest(const struct bench_opts *o, long nthreads)
{
	struct bench_result r = { .threads = (int)nthreads };
	int i, n = (int)nthreads;
	struct bench_worker *w;
	struct rp_thread *t;
	size_t idx;

	t = bench_map((size_t)n * sizeof(*t));
	w = bench_map((size_t)n * sizeof(*w));
	for (i = 0; i < n; i++) {
		atomic_init(&t[i].mailbox, NULL);
		atomic_init(&t[i].pending, 0);
		t[i].next = &t[(i + 1) % n];
		w[i].fn = rp_worker;
		w[i].priv = &t[i];
		w[i].rng = bench_rand_seed(o->seed, (uint64_t)i);
	}
	r.seconds = bench_team_run(w, n, bench_duration(o, MB_SCALING_SECONDS));
	r.ops = bench_team_ops(w, n);
	for (i = 0; i < n; i++) {
		rp_drain(&t[i]);
		for (idx = 0; idx < MB_RP_SLOTS; idx++)
			if (t[i].slot[idx])
				free_tagged(t[i].slot[idx], idx, "rptest");
	}
	bench_unmap(w, (size_t)n * sizeof(*w));
	bench_unmap(t, (size_t)n * sizeof(*t));
	snprintf(r.workload, sizeof(r.workload), "rptest-%ld", nthreads);
	bench_extra(&r, "slots_per_thread=%d min=%d max=%d cross_every=%d",
		    MB_RP_SLOTS, MB_RP_MIN, MB_RP_MAX, MB_RP_CROSS);
	bench_report(&r);
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

/**
 * struct workload - one entry of the workload table
 * @name:    what the user types
 * @run:     runs it and prints the result line
 * @arg:     the argument's name ("SIZE", "THREADS"), or NULL for none
 * @def_arg: the argument's default
 * @min_arg: smallest accepted value
 * @max_arg: largest accepted value
 */
struct workload {
	const char *name;
	int (*run)(const struct bench_opts *o, long arg);
	const char *arg;
	long def_arg;
	long min_arg;
	long max_arg;
};

static const struct workload workloads[] = {
	{ "pairs", run_pairs, "SIZE", 64, 1, 1L << 30 },
	{ "batch", run_batch, NULL, 0, 0, 0 },
	{ "random", run_random, NULL, 0, 0, 0 },
	{ "larson", run_larson, "THREADS", MB_DEFAULT_THREADS, 1,
	  BENCH_MAX_THREADS },
	{ "prodcons", run_prodcons, "THREADS", MB_DEFAULT_THREADS, 1,
	  BENCH_MAX_THREADS },
	{ "false-sharing", run_false_sharing, "THREADS", MB_DEFAULT_THREADS,
	  1, BENCH_MAX_THREADS },
	{ "threads", run_threads, "THREADS", MB_DEFAULT_THREADS, 1,
	  BENCH_MAX_THREADS },
	{ "sweep", run_sweep, NULL, 0, 0, 0 },
	{ "sweep-small", run_sweep_small, NULL, 0, 0, 0 },
	{ "fill", run_fill, "SIZE", 4200, 1, 1L << 30 },
	{ "large", run_large, "COUNT", MB_LARGE_ITERS, MB_LARGE_SLOTS,
	  1L << 30 },
	{ "regrow", run_regrow, "COUNT", MB_REGROW_ITERS, MB_REGROW_SLOTS,
	  1L << 30 },
	{ "mstress", run_mstress, NULL, 0, 0, 0 },
	{ "arrays", run_arrays, NULL, 0, 0, 0 },
	{ "private", run_private, "THREADS", MB_DEFAULT_THREADS, 1,
	  BENCH_MAX_THREADS },
	{ "medium", run_medium, "THREADS", MB_DEFAULT_THREADS, 1,
	  BENCH_MAX_THREADS },
	{ "xmalloc", run_xmalloc, "PAIRS", 1, 1, BENCH_MAX_THREADS / 2 },
	{ "rptest", run_rptest, "THREADS", MB_DEFAULT_THREADS, 1,
	  BENCH_MAX_THREADS },
	{ "alloctest", run_alloctest, "THREADS", MB_DEFAULT_THREADS, 1,
	  BENCH_MAX_THREADS },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: malloc_bench [-s FACTOR] [-d SECONDS] [-S SEED] WORKLOAD [ARG]\n"
		"\n"
		"workloads:\n"
		"  pairs SIZE             malloc+free of SIZE bytes (default 64)\n"
		"  batch                  1,000,000 x 64 B malloc, then free all\n"
		"  random                 100,000 live blocks, random sizes and lifetimes\n"
		"  larson THREADS         server simulation, remote frees (default 2)\n"
		"  prodcons THREADS       producers malloc, consumers free (default 2)\n"
		"  false-sharing THREADS  writes to small blocks in each thread (default 2)\n"
		"  threads THREADS        pairs 64 in THREADS threads at once (default 2)\n"
		"  sweep                  malloc_usable_size/request, 256 B..4 MiB, x1.03 steps\n"
		"  sweep-small            malloc_usable_size/request, 1..256 B\n"
		"  fill SIZE              64 MiB of SIZE-byte blocks: RSS growth/payload\n"
		"  large COUNT            COUNT zero-filled 5-25 MiB blocks, 20 live (2000)\n"
		"  mstress                random small blocks, rare huge ones (to 5 MB)\n"
		"  arrays                 101 arrays grown by realloc, 60,000 strings\n"
		"  private THREADS        random 4 B-32 KiB in a private 1024-slot set per thread\n"
		"  medium THREADS         the same, 4-32 KiB in 256 slots, a byte written per page\n"
		"  xmalloc PAIRS          PAIRS producers malloc, PAIRS releasers free (default 1)\n"
		"  rptest THREADS         random 8-16000 B, a parcel to the next thread per 2 loops\n"
		"  alloctest THREADS      2^18 slots split among threads, 80/20 picks, 5-1024 B\n"
		"\n"
		"options:\n"
		"  -s FACTOR   scale every run's duration (also $KMEM_BENCH_SCALE)\n"
		"  -d SECONDS  base duration of a run (default 0.5, larson 2)\n"
		"  -S SEED     seed of the random generators (default 42)\n"
		"\n"
		"Measures whatever malloc the process has: use LD_PRELOAD to choose.\n"
		"Prints one line: workload=... ops=... ops_per_sec=... peak_rss_kb=...\n");
}

int main(int argc, char **argv)
{
	const struct workload *wl = NULL;
	struct bench_opts opts;
	long arg;
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
		fprintf(stderr, "malloc_bench: unknown workload '%s'\n",
			argv[first]);
		usage(stderr);
		return 2;
	}
	if (argc - first > (wl->arg ? 2 : 1)) {
		usage(stderr);
		return 2;
	}
	arg = wl->def_arg;
	if (wl->arg && argc - first == 2)
		arg = bench_parse_long(argv[first + 1], wl->arg, wl->min_arg,
				       wl->max_arg);
	return wl->run(&opts, arg);
}
