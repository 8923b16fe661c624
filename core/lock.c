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
 * At level 0 none of this is compiled: the lock is a bare mutex.
 *
 * Lock order: this file is where it is checked (core/lock.h).
 */
#include "core/core.h"

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
