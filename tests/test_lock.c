// SPDX-License-Identifier: MIT
/*
 * tests/test_lock.c - the one lock order, checked at run time.
 *
 * core/lock.h ranks every lock of kmem; at debug level 1 and above each
 * acquisition is checked against the locks the thread holds, and an
 * inversion is reported with both locks' names before the process aborts
 * (core/lock.c).  These tests take locks in the wrong order, on purpose,
 * and expect the report: with bare locks of the table's ranks, and with
 * the allocator's own locks (the zone's, a cache's) through the real
 * code paths.  At level 0 the check is not compiled and the lock is a
 * bare futex word: one test says so.  The "futex" case checks the lock
 * itself (core/lock.c): exclusion, the sleep and the wake of a contended
 * lock, errno kept, and the condition's waits.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kmem_test.h"

#include "kmalloc/kmalloc.h"

#if KMEM_DEBUG_LEVEL >= 1

static struct kmem_mutex zone_rank = KMEM_MUTEX_INIT(LOCK_RANK_ZONE);
static struct kmem_mutex cache_rank = KMEM_MUTEX_INIT(LOCK_RANK_CACHE);
static struct kmem_mutex cache_rank2 = KMEM_MUTEX_INIT(LOCK_RANK_CACHE);

/* zone.lock, then a cache lock: a cache lock ranks above the zone's. */
static void zone_then_cache(void *arg)
{
	(void)arg;
	kmem_mutex_lock(&zone_rank);
	kmem_mutex_lock(&cache_rank);
}

START_TEST(test_inversion_reported)
{
	expect_abort(zone_then_cache, NULL,
		     "lock order inversion in thread");
	expect_abort(zone_then_cache, NULL,
		     "taking kmem_cache.lock (slab/) (rank 6) while holding zone.lock (buddy/zone.c) (rank 10)");
}
END_TEST

/* Two locks of one rank, the second without _nested: also an inversion. */
static void cache_then_cache(void *arg)
{
	(void)arg;
	kmem_mutex_lock(&cache_rank);
	kmem_mutex_lock(&cache_rank2);
}

START_TEST(test_same_rank_reported)
{
	expect_abort(cache_then_cache, NULL,
		     "taking kmem_cache.lock (slab/) (rank 6) while holding kmem_cache.lock (slab/) (rank 6)");
}
END_TEST

/* The right order, _nested, a trylock from under a higher rank, and the
 * same locks again once released: no report. */
START_TEST(test_order_kept)
{
	kmem_mutex_lock(&cache_rank);
	kmem_mutex_lock_nested(&cache_rank2);
	kmem_mutex_lock(&zone_rank);
	kmem_mutex_unlock(&zone_rank);
	kmem_mutex_unlock(&cache_rank2);
	kmem_mutex_unlock(&cache_rank);

	kmem_mutex_lock(&zone_rank);
	ck_assert(kmem_mutex_trylock(&cache_rank));	/* never waits */
	kmem_mutex_unlock(&cache_rank);
	kmem_mutex_unlock(&zone_rank);

	kmem_mutex_lock(&zone_rank);	/* released: nothing held */
	kmem_mutex_unlock(&zone_rank);
	kmem_mutex_lock(&cache_rank);
	kmem_mutex_unlock(&cache_rank);
}
END_TEST

static void unlock_unheld(void *arg)
{
	(void)arg;
	kmem_mutex_unlock(&cache_rank);
}

START_TEST(test_unlock_unheld_reported)
{
	expect_abort(unlock_unheld, NULL,
		     "releases kmem_cache.lock (slab/), which it does not hold");
}
END_TEST

static void unranked(void *arg)
{
	struct kmem_mutex l = { .word = 0 };

	(void)arg;
	kmem_mutex_lock(&l);
}

START_TEST(test_unranked_reported)
{
	expect_abort(unranked, NULL, "has no rank (0)");
}
END_TEST

/*
 * The allocator's own locks: a thread that holds the zone's lock and
 * allocates from a cache (whose slow path takes the cache's lock) is
 * reported, by the real lock of each.
 */
static void alloc_under_zone_lock(void *arg)
{
	struct kmem_cache *s = arg;

	kmem_mutex_lock(&kmem_zone.lock);
	kmem_cache_free(s, kmem_cache_alloc(s, GFP_KERNEL));
}

START_TEST(test_allocator_inversion_reported)
{
	struct kmem_cache *s;

	setenv("KMEM_MAGAZINES", "0", 1);	/* every alloc takes s->lock */
	s = kmem_cache_create("lock-test", 64, 0, SLAB_NO_MERGE, NULL);
	ck_assert_ptr_nonnull(s);
	kmem_cache_free(s, kmem_cache_alloc(s, GFP_KERNEL));	/* fine */
	expect_abort(alloc_under_zone_lock, s,
		     "taking kmem_cache.lock (slab/) (rank 6) while holding zone.lock (buddy/zone.c) (rank 10)");
	kmem_cache_destroy(s);
}
END_TEST

/* fork() takes every lock through the layers' hooks, in rank order, and
 * the child starts holding none: both sides allocate afterwards. */
START_TEST(test_fork_takes_every_lock_in_order)
{
	struct kmem_cache *s = kmem_cache_create("lock-fork", 32, 0,
						 SLAB_NO_MERGE, NULL);
	int status;
	pid_t pid;

	ck_assert_ptr_nonnull(s);
	kmem_cache_free(s, kmem_cache_alloc(s, GFP_KERNEL));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		void *p = kmem_cache_alloc(s, GFP_KERNEL);

		kmem_cache_free(s, p);
		kmem_mutex_lock(&kmem_zone.lock);	/* held nothing */
		kmem_mutex_unlock(&kmem_zone.lock);
		_exit(p ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %#x", status);
	kmem_cache_free(s, kmem_cache_alloc(s, GFP_KERNEL));
	kmem_cache_destroy(s);
}
END_TEST

#else /* KMEM_DEBUG_LEVEL == 0 */

/*
 * The shipped build pays nothing for the checks: the lock is the futex
 * word and its contended flag alone.
 */
START_TEST(test_level0_bare_mutex)
{
	static struct kmem_mutex a = KMEM_MUTEX_INIT(LOCK_RANK_ZONE);
	static struct kmem_mutex b = KMEM_MUTEX_INIT(LOCK_RANK_CACHE);

	ck_assert_uint_eq(sizeof(struct kmem_mutex), 2 * sizeof(int));
	kmem_mutex_lock(&a);	/* not checked at this level */
	kmem_mutex_lock(&b);
	kmem_mutex_unlock(&b);
	kmem_mutex_unlock(&a);
}
END_TEST

#endif

/* Every rank has a name for the report, in the table's order. */
START_TEST(test_every_rank_named)
{
	for (unsigned int r = 0; r < NR_LOCK_RANKS; r++)
		ck_assert_ptr_nonnull(kmem_lock_rank_names[r]);
	ck_assert_str_eq(kmem_lock_rank_names[LOCK_RANK_THREAD],
			 "thread_lock (core/thread.c)");
	ck_assert_str_eq(kmem_lock_rank_names[LOCK_RANK_REGION],
			 "region_lock (core/region.c)");
}
END_TEST

/* ---- futex: the lock and the condition themselves ------------------- */

static struct kmem_mutex fx_lock = KMEM_MUTEX_INIT(LOCK_RANK_REGION);
static struct kmem_cond fx_cond;
static unsigned long fx_count;		/* fx_lock */
static unsigned long fx_turn;		/* fx_lock */

#define FX_THREADS	4
#define FX_ROUNDS	100000

/* Wait (by condition, yielding) until a waiter has marked @l contended. */
static void wait_for_waiter(struct kmem_mutex *l)
{
	while (__atomic_load_n(&l->word, __ATOMIC_ACQUIRE) != 2)
		sched_yield();
}

static void *fx_adder(void *arg)
{
	(void)arg;
	for (int i = 0; i < FX_ROUNDS; i++) {
		kmem_mutex_lock(&fx_lock);
		fx_count++;	/* plain: only the lock keeps it exact */
		kmem_mutex_unlock(&fx_lock);
	}
	return NULL;
}

/*
 * Threads that find the lock held spin, then sleep in the kernel; the
 * release wakes one, and every increment made under the lock counts.
 * The lock is held at the start until a thread has gone to sleep on it,
 * so the sleep and the wake run on every run, not by chance.
 */
START_TEST(test_futex_lock_excludes)
{
	pthread_t t[FX_THREADS];

	fx_count = 0;
	kmem_mutex_lock(&fx_lock);
	for (int i = 0; i < FX_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, fx_adder, NULL), 0);
	wait_for_waiter(&fx_lock);
	ck_assert(!kmem_mutex_trylock(&fx_lock));	/* held: no wait */
	kmem_mutex_unlock(&fx_lock);
	for (int i = 0; i < FX_THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(fx_count, (unsigned long)FX_THREADS * FX_ROUNDS);
	ck_assert_int_eq(__atomic_load_n(&fx_lock.word, __ATOMIC_RELAXED), 0);
	ck_assert(kmem_mutex_trylock(&fx_lock));
	kmem_mutex_unlock(&fx_lock);
}
END_TEST

static void *fx_errno_waiter(void *arg)
{
	int *seen = arg;

	errno = EDOM;
	kmem_mutex_lock(&fx_lock);	/* sleeps: the futex call fails or not */
	*seen = errno;
	kmem_mutex_unlock(&fx_lock);
	return NULL;
}

/* free() leaves errno alone, so a contended lock inside it must too. */
START_TEST(test_futex_lock_keeps_errno)
{
	int seen = 0;
	pthread_t t;

	kmem_mutex_lock(&fx_lock);
	ck_assert_int_eq(pthread_create(&t, NULL, fx_errno_waiter, &seen), 0);
	wait_for_waiter(&fx_lock);
	errno = ERANGE;
	kmem_mutex_unlock(&fx_lock);	/* wakes it: a system call here too */
	ck_assert_int_eq(errno, ERANGE);
	pthread_join(t, NULL);
	ck_assert_int_eq(seen, EDOM);
}
END_TEST

/*
 * A lock nobody has slept on is released with a plain store, and stays so
 * until a thread sleeps on it; from then on it is released with an
 * exchange, for good (core/lock.h).
 */
START_TEST(test_futex_lock_plain_until_slept_on)
{
	static struct kmem_mutex l = KMEM_MUTEX_INIT(LOCK_RANK_REGION);

	for (int i = 0; i < 1000; i++) {
		kmem_mutex_lock(&l);
		ck_assert_int_eq(__atomic_load_n(&l.word, __ATOMIC_RELAXED), 1);
		kmem_mutex_unlock(&l);
	}
	ck_assert_int_eq(__atomic_load_n(&l.word, __ATOMIC_RELAXED), 0);
	ck_assert_int_eq(__atomic_load_n(&l.contended, __ATOMIC_RELAXED), 0);
}
END_TEST

static struct kmem_mutex st_lock = KMEM_MUTEX_INIT(LOCK_RANK_REGION);
static int st_done;
static pid_t st_tid;

static void *st_taker(void *arg)
{
	(void)arg;
	__atomic_store_n(&st_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	kmem_mutex_lock(&st_lock);	/* the first ever to sleep on it */
	kmem_mutex_unlock(&st_lock);
	__atomic_store_n(&st_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Wait until thread @tid sleeps in futex(2): its /proc syscall file names
 * the call it is blocked in ("running" while it runs).
 */
static void wait_until_in_futex(pid_t tid)
{
	char path[64], buf[64];
	int want = SYS_futex;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	for (;;) {
		FILE *f = fopen(path, "r");
		int nr = -2;

		ck_assert_ptr_nonnull(f);
		if (fgets(buf, sizeof(buf), f))
			sscanf(buf, "%d", &nr);
		fclose(f);
		if (nr == want)
			return;
		sched_yield();
	}
}

/*
 * What kmem_mutex_unlock() does for a holder that read the contended
 * flag before the first sleeper set it: the plain store, no wake.
 */
static void give_as_early_holder(struct kmem_mutex *l)
{
#if KMEM_DEBUG_LEVEL >= 1
	l->owner = 0;
#endif
	lock_rank_release(l);
	__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
}

/*
 * The holder of the moment a thread first sleeps on a lock may release it
 * with a store that wakes nobody: the sleeper must take the lock all the
 * same (it sleeps in short slices until it has held it once).  With an
 * untimed first sleep it would sleep for good and the test time out.
 * Afterwards the lock is released with the exchange, for good.
 */
START_TEST(test_futex_lock_early_holder_plain_release)
{
	pthread_t t;

	kmem_mutex_lock(&st_lock);
	ck_assert_int_eq(__atomic_load_n(&st_lock.contended, __ATOMIC_RELAXED),
			 0);
	ck_assert_int_eq(pthread_create(&t, NULL, st_taker, NULL), 0);
	wait_for_waiter(&st_lock);
	ck_assert_int_eq(__atomic_load_n(&st_lock.contended, __ATOMIC_RELAXED),
			 1);
	/* Asleep, so that the store below can wake nobody. */
	wait_until_in_futex(__atomic_load_n(&st_tid, __ATOMIC_ACQUIRE));
	give_as_early_holder(&st_lock);
	pthread_join(t, NULL);
	ck_assert_int_eq(__atomic_load_n(&st_done, __ATOMIC_ACQUIRE), 1);
	ck_assert_int_eq(__atomic_load_n(&st_lock.word, __ATOMIC_RELAXED), 0);
	ck_assert_int_eq(__atomic_load_n(&st_lock.contended, __ATOMIC_RELAXED),
			 1);
}
END_TEST

#define FX_TURNS	(2 * FX_ROUNDS / 10)

/* Take every other turn from @first on, waking the other thread each. */
static void fx_take_turns(unsigned long first)
{
	kmem_mutex_lock(&fx_lock);
	for (unsigned long i = first; i < FX_TURNS; i += 2) {
		while (fx_turn != i)
			kmem_cond_wait(&fx_cond, &fx_lock);
		fx_turn++;
		kmem_cond_signal(&fx_cond);
	}
	kmem_mutex_unlock(&fx_lock);
}

static void *fx_pong(void *arg)
{
	(void)arg;
	fx_take_turns(1);
	return NULL;
}

/*
 * Two threads hand a turn back and forth through one condition, ten
 * thousand times each way: a wake lost between a waiter's test and its
 * sleep would leave both asleep, and the test would time out.
 */
START_TEST(test_futex_cond_hands_turns)
{
	pthread_t t;

	fx_turn = 0;
	ck_assert_int_eq(pthread_create(&t, NULL, fx_pong, NULL), 0);
	fx_take_turns(0);
	pthread_join(t, NULL);
	ck_assert_uint_eq(fx_turn, FX_TURNS);
}
END_TEST

/* A timed wait nobody wakes returns ETIMEDOUT, not before its deadline
 * on the monotonic clock, holding the lock again and errno untouched. */
START_TEST(test_futex_cond_times_out)
{
	struct kmem_cond c = { 0 };
	struct timespec deadline, now;

	kmem_mutex_lock(&fx_lock);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += 20 * 1000 * 1000;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	errno = EDOM;
	ck_assert_int_eq(kmem_cond_timedwait(&c, &fx_lock, &deadline),
			 ETIMEDOUT);
	ck_assert_int_eq(errno, EDOM);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ck_assert(now.tv_sec > deadline.tv_sec ||
		  (now.tv_sec == deadline.tv_sec &&
		   now.tv_nsec >= deadline.tv_nsec));
	ck_assert(!kmem_mutex_trylock(&fx_lock));	/* held again */
	kmem_mutex_unlock(&fx_lock);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("rank");

	tcase_add_test(tc, test_every_rank_named);
#if KMEM_DEBUG_LEVEL >= 1
	tcase_add_test(tc, test_inversion_reported);
	tcase_add_test(tc, test_same_rank_reported);
	tcase_add_test(tc, test_order_kept);
	tcase_add_test(tc, test_unlock_unheld_reported);
	tcase_add_test(tc, test_unranked_reported);
	tcase_add_test(tc, test_allocator_inversion_reported);
	tcase_add_test(tc, test_fork_takes_every_lock_in_order);
#else
	tcase_add_test(tc, test_level0_bare_mutex);
#endif
	suite_add_tcase(s, tc);

	tc = tcase_create("futex");
	tcase_set_tags(tc, "threads");	/* the TSan build runs these */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_futex_lock_excludes);
	tcase_add_test(tc, test_futex_lock_keeps_errno);
	tcase_add_test(tc, test_futex_lock_plain_until_slept_on);
	tcase_add_test(tc, test_futex_lock_early_holder_plain_release);
	tcase_add_test(tc, test_futex_cond_hands_turns);
	tcase_add_test(tc, test_futex_cond_times_out);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
