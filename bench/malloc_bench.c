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
 *
 * Every run is timed (0.5 s, larson 2 s, times -s FACTOR or
 * $KMEM_BENCH_SCALE), except that batch runs whole rounds until that time
 * has passed.  Set-up (pre-filling slot arrays) and tear-down are not
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
