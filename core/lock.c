// SPDX-License-Identifier: MIT
/*
 * core/lock.c - the lock order, checked at run time (debug level >= 1).
 *
 * The kernel's lockdep, in miniature.  Every struct kmem_mutex carries a
 * rank from the table in core/lock.h; each thread counts the locks it
 * holds per rank (a few bytes of initial-exec TLS, so the check works
 * before and during start-up and in threads kmem never registered).  An
 * acquisition that could wait for a lock ranked at or below one the
 * thread holds is an inversion: it is reported with both locks' names and
 * the process aborts, whether or not another thread happens to be
 * waiting the other way round at that moment, so a wrong order is caught
 * the first time a test runs the path, not the day it deadlocks.
 *
 * Exceptions, each stated where it is taken: a trylock (it never waits)
 * and kmem_mutex_lock_nested() (one more lock of the rank held, for
 * fork()'s pass over every cache under slab_mutex).
 *
 * At level 0 none of this is compiled: the lock is a bare futex lock,
 * whose contended halves are here too.
 *
 * Lock order: this file is where it is checked (core/lock.h).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"

/* Spins of a contended lock before it sleeps (glibc's adaptive: 100). */
#define KMEM_MUTEX_SPINS	100

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * The futex calls leave errno alone: free() must (a failed wait sets
 * EAGAIN or EINTR, a timed one ETIMEDOUT).
 */
static long futex_call(void *word, int op, unsigned int val,
		       const struct timespec *ts, unsigned int val3)
{
	int e = errno;
	long ret = syscall(SYS_futex, word, op, val, ts, NULL, val3);

	if (ret < 0)
		ret = -errno;
	errno = e;
	return ret;
}

/*
 * The first sleeper's slices: short, since the release it waits for may
 * already have happened without a wake (struct kmem_mutex).
 */
#define KMEM_MUTEX_FIRST_SLEEP_NS	50000

/**
 * kmem_mutex_lock_slow - take @l, held by another thread a moment ago
 * @l: the lock
 *
 * Spins while the holder may be about to release it, then marks it
 * waited for (2) and sleeps until a release finds it so.  The thread that
 * is the first ever to sleep on @l sets @l->contended, from which on
 * every release that can find a sleeper is an exchange; the holder of
 * that moment may still release with a plain store, so this thread
 * sleeps in slices of KMEM_MUTEX_FIRST_SLEEP_NS until it has the lock
 * (core/lock.h says why that is enough).
 */
void kmem_mutex_lock_slow(struct kmem_mutex *l)
{
	const struct timespec slice = { 0, KMEM_MUTEX_FIRST_SLEEP_NS };
	int c;

	for (int i = 0; i < KMEM_MUTEX_SPINS; i++) {
		c = 0;
		if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&l->word, &c, 1, false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		cpu_relax();
	}
	if (unlikely(!__atomic_load_n(&l->contended, __ATOMIC_RELAXED))) {
		/* Ordered before the 2 by the exchange's release. */
		__atomic_store_n(&l->contended, 1, __ATOMIC_RELAXED);
		while (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQ_REL))
			futex_call(&l->word, FUTEX_WAIT_PRIVATE, 2, &slice, 0);
		return;
	}
	while (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE))
		futex_call(&l->word, FUTEX_WAIT_PRIVATE, 2, NULL, 0);
}

/* kmem_mutex_unlock() found @l waited for: wake one waiter. */
void kmem_mutex_wake(struct kmem_mutex *l)
{
	futex_call(&l->word, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
}

/**
 * kmem_cond_wait_until - kmem_cond_wait() and kmem_cond_timedwait()
 * @c:       the condition
 * @l:       the mutex the caller holds, released while it sleeps
 * @abstime: when to stop waiting (CLOCK_MONOTONIC), or NULL
 *
 * Return: 0, or ETIMEDOUT when @abstime passed.
 */
int kmem_cond_wait_until(struct kmem_cond *c, struct kmem_mutex *l,
			 const struct timespec *abstime)
{
	unsigned int seq = __atomic_load_n(&c->seq, __ATOMIC_RELAXED);
	long ret;

#if KMEM_DEBUG_LEVEL >= 1
	l->owner = 0;
#endif
	__kmem_mutex_give(l);
	/* Without FUTEX_CLOCK_REALTIME the bitset wait's clock is monotonic. */
	ret = futex_call(&c->seq, FUTEX_WAIT_BITSET_PRIVATE, seq, abstime,
			 FUTEX_BITSET_MATCH_ANY);
	__kmem_mutex_take(l);
	__kmem_mutex_acquired(l);
	return ret == -ETIMEDOUT ? ETIMEDOUT : 0;
}

/**
 * kmem_cond_wake - advance @c and wake @nr of its waiters (0: all)
 * @c:  the condition
 * @nr: how many
 *
 * Context: the waiters' mutex held, so that no waiter is between its read
 * of the sequence and its sleep.
 */
void kmem_cond_wake(struct kmem_cond *c, int nr)
{
	__atomic_fetch_add(&c->seq, 1, __ATOMIC_RELAXED);
	futex_call(&c->seq, FUTEX_WAKE_PRIVATE, nr ? (unsigned int)nr : INT_MAX,
		   NULL, 0);
}

/* core/lock.h, "The fork window": set by core/init.c's fork handlers. */
__thread bool kmem_tls_fork_window __tls_ie;

const char *const kmem_lock_rank_names[NR_LOCK_RANKS] = {
	[LOCK_RANK_NONE] = "(no rank)",
	[LOCK_RANK_REAPER_PASS] = "reaper_pass_lock (buddy/release.c)",
	[LOCK_RANK_RCU_WORKER] = "worker_mutex (slab/rcu.c)",
	[LOCK_RANK_RCU_QUEUE] = "rcu_mutex (slab/rcu.c)",
	[LOCK_RANK_THREAD] = "thread_lock (core/thread.c)",
	[LOCK_RANK_SLAB_MUTEX] = "slab_mutex (slab/slab_common.c)",
	[LOCK_RANK_CACHE] = "kmem_cache.lock (slab/)",
	[LOCK_RANK_KFENCE] = "kfence_lock (kfence/kfence.c)",
	[LOCK_RANK_REAPER] = "reaper_mutex (buddy/release.c)",
	[LOCK_RANK_ZONE_OS] = "zone_os_lock (buddy/zone.c)",
	[LOCK_RANK_ZONE] = "zone.lock (buddy/zone.c)",
	[LOCK_RANK_HUGE_CACHE] = "huge_cache_lock (buddy/huge_cache.c)",
	[LOCK_RANK_SECTION] = "section_lock (buddy/section.c)",
	[LOCK_RANK_PROFILE] = "prof_lock (buddy/profile.c)",
	[LOCK_RANK_REGION] = "region_lock (core/region.c)",
};

#if KMEM_DEBUG_LEVEL >= 1

/* Locks the calling thread holds, per rank. */
static __thread unsigned int held[NR_LOCK_RANKS] __tls_ie;

/* The highest rank the calling thread holds, or LOCK_RANK_NONE. */
static unsigned int held_top(void)
{
	for (unsigned int r = NR_LOCK_RANKS - 1; r > LOCK_RANK_NONE; r--)
		if (held[r])
			return r;
	return LOCK_RANK_NONE;
}

static __cold __attribute__((noreturn)) void
lock_rank_report(const struct kmem_mutex *l, unsigned int top)
{
	kmem_panic("kmem: BUG: lock order inversion in thread %d: taking %s (rank %u) while holding %s (rank %u); the order is core/lock.h's table\n",
		   (int)kmem_gettid(), kmem_lock_rank_names[l->rank], l->rank,
		   kmem_lock_rank_names[top], top);
}

/**
 * lock_rank_acquire - check and record that the caller takes @l
 * @l:      the lock, about to be taken (or just taken by a trylock)
 * @how:    LOCK_ACQUIRE (kmem_mutex_lock()), LOCK_ACQUIRE_NESTED
 *          (kmem_mutex_lock_nested(): one more of a rank held) or
 *          LOCK_ACQUIRE_TRY (a trylock that succeeded: not checked)
 *
 * Context: any thread; called before the lock is taken, so a report is
 * made instead of the deadlock.
 */
void lock_rank_acquire(const struct kmem_mutex *l, enum lock_acquire how)
{
	unsigned int r = l->rank, top;

	if (unlikely(r <= LOCK_RANK_NONE || r >= NR_LOCK_RANKS))
		kmem_panic("kmem: BUG: lock %p has no rank (%u): every lock is in core/lock.h's table\n",
			   (const void *)l, r);
	if (how != LOCK_ACQUIRE_TRY) {
		top = held_top();
		if (unlikely(top > r ||
			     (top == r && how != LOCK_ACQUIRE_NESTED)))
			lock_rank_report(l, top);
	}
	held[r]++;
}

/**
 * lock_rank_release - record that the caller gave @l up
 * @l: the lock, about to be released
 */
void lock_rank_release(const struct kmem_mutex *l)
{
	unsigned int r = l->rank;

	if (unlikely(r >= NR_LOCK_RANKS || !held[r]))
		kmem_panic("kmem: BUG: thread %d releases %s, which it does not hold\n",
			   (int)kmem_gettid(),
			   kmem_lock_rank_names[r < NR_LOCK_RANKS ? r : 0]);
	held[r]--;
}

/**
 * lock_rank_fork_child - a fork child starts holding no lock: every lock
 * its forking thread held across fork() is re-initialised in the child
 * (each layer's fork_child hook), none is released.
 */
void lock_rank_fork_child(void)
{
	for (unsigned int r = 0; r < NR_LOCK_RANKS; r++)
		held[r] = 0;
}

#endif /* KMEM_DEBUG_LEVEL >= 1 */
