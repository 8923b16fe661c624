/* SPDX-License-Identifier: MIT */
/*
 * core/lock.h - the lock type and the one lock order of kmem.
 *
 * Every lock kmem takes is a struct kmem_mutex with a rank from the table
 * below (mirrored in Documentation/locking.md).  A thread may take a lock
 * only if its rank is higher than that of every lock it holds: locks are
 * taken in increasing rank and a thread never waits for a lock of a rank
 * at or below one it holds, so no two threads can wait for each other.
 * At debug level 1 and above every acquisition checks this (the kernel's
 * lockdep, in miniature: core/lock.c) and an inversion is reported with
 * both locks' names before the process aborts.  Each file's design comment
 * points here rather than restating the order.
 *
 * The ranks follow the layers downwards: a layer calls into the layers
 * below with its own locks held, never up, so the locks of a higher layer
 * rank lower.  Two exceptions, both in core/: the thread registry's lock is
 * outermost (a thread's exit hands its caches back to every layer under
 * it) and the statistics region's is innermost (every layer publishes).
 */
#ifndef KMEM_CORE_LOCK_H
#define KMEM_CORE_LOCK_H

#include <pthread.h>
#include <time.h>
#include <sys/types.h>

#include <kmem/bug.h>

#include "core/compiler.h"

#pragma GCC visibility push(hidden)

/*
 * enum kmem_lock_rank - every lock of kmem, outermost first.
 *
 * rank                    lock                       protects
 */
enum kmem_lock_rank {
	LOCK_RANK_NONE,		/* (no lock held) */
	LOCK_RANK_REAPER_PASS,	/* buddy/release.c reaper_pass_lock: a reaper pass */
	LOCK_RANK_RCU_WORKER,	/* slab/rcu.c worker_mutex: the batch being freed */
	LOCK_RANK_RCU_QUEUE,	/* slab/rcu.c rcu_mutex: the deferred-free queue */
	LOCK_RANK_THREAD,	/* core/thread.c thread_lock: the thread registry */
	LOCK_RANK_SLAB_MUTEX,	/* slab/slab_common.c slab_mutex: the cache list */
	LOCK_RANK_CACHE,	/* struct kmem_cache.lock: a cache's slabs, depot */
	LOCK_RANK_KFENCE,	/* kfence/kfence.c kfence_lock: the guarded pool */
	LOCK_RANK_REAPER,	/* buddy/release.c reaper_mutex: the reaper's sleep */
	LOCK_RANK_ZONE_OS,	/* buddy/zone.c zone_os_lock: zone memory off-list */
	LOCK_RANK_ZONE,		/* struct zone.lock: free lists, zone counts */
	LOCK_RANK_HUGE_CACHE,	/* buddy/huge_cache.c huge_cache_lock: the huge heap */
	LOCK_RANK_SECTION,	/* buddy/section.c section_lock: the page table */
	LOCK_RANK_PROFILE,	/* buddy/profile.c prof_lock: the sampled profile */
	LOCK_RANK_REGION,	/* core/region.c region_lock: the region's units */
	NR_LOCK_RANKS
};

/* The names the inversion report prints, in rank order (core/lock.c). */
extern const char *const kmem_lock_rank_names[NR_LOCK_RANKS];

/*
 * struct kmem_mutex - a sleeping lock with a rank.
 * @word:      0 free, 1 held, 2 held and maybe waited for: a futex (needs
 *             no malloc; zero is unlocked, so a zeroed lock is ready)
 * @contended: set for good by the first thread that ever had to sleep on
 *             the lock; until then a release is a plain store
 * @owner:     thread id of the holder, for lock_assert_held() (debug >= 1)
 * @rank:      its place in the lock order (debug >= 1)
 *
 * A three-state futex lock (Drepper, "Futexes Are Tricky") rather than
 * glibc's pthread mutex: uncontended, a lock is one atomic instruction
 * and its unlock a store (below), where pthread_mutex_lock() and
 * pthread_mutex_unlock() of an adaptive mutex took about 65 (a huge
 * block's malloc and free take four locks: 260 of their 1,200
 * instructions; performance.md, "Locks of
 * our own, one clock read").  Contended, it spins a little before it
 * sleeps, as glibc's adaptive mutex does: the critical sections are short
 * (a depot exchange, a batch of slab objects, a buddy split), and a waiter
 * put to sleep at once costs two context switches per contended exchange.
 *
 * A lock nobody has slept on is released with a plain store, not an
 * exchange: an atomic instruction costs about 5.5 ns on the machines we
 * measure on, and a huge block's malloc and free with their profile
 * samples take four locks (performance.md, "Locks released with a
 * store").  Only a sleeper needs the exchange (to see the 2 and wake
 * it), and only after @contended is set can there be one:
 *
 *  - the thread that sets @contended (kmem_mutex_lock_slow()) sleeps in
 *    short timed slices until it has held the lock once, because the
 *    holder of that moment may have read @contended clear and will then
 *    release with a store and wake nobody;
 *  - every thread that takes the lock after that thread marked the word
 *    2 (an exchange, ordered after its store of @contended) reads
 *    @contended set when it releases, and releases with the exchange;
 *  - the setter takes the lock with the word at 2, so its own release
 *    wakes a sleeper that arrived meanwhile.
 *
 * So no sleeper is left behind, at the cost of one short sleep, once, for
 * each lock that is ever contended (core/lock.c).
 */
struct kmem_mutex {
	int word;
	int contended;
#if KMEM_DEBUG_LEVEL >= 1
	pid_t owner;
	unsigned char rank;
#endif
};

#if KMEM_DEBUG_LEVEL >= 1
#define KMEM_MUTEX_INIT(r) { .word = 0, .contended = 0, .rank = (r) }
#else
#define KMEM_MUTEX_INIT(r) { .word = 0, .contended = 0 }
#endif

/*
 * struct kmem_cond - a condition waited for under a kmem_mutex: a
 * sequence number that every wake advances, slept on as a futex.  A
 * waiter reads it with the mutex held and sleeps only while it is
 * unchanged, so a wake sent under the mutex after that read is never
 * lost.  Zero is ready.  Timed waits are against CLOCK_MONOTONIC.
 */
struct kmem_cond {
	unsigned int seq;
};

/* core/lock.c: the contended halves, out of line. */
void kmem_mutex_lock_slow(struct kmem_mutex *l);
void kmem_mutex_wake(struct kmem_mutex *l);
int kmem_cond_wait_until(struct kmem_cond *c, struct kmem_mutex *l,
			 const struct timespec *abstime);
void kmem_cond_wake(struct kmem_cond *c, int nr);

pid_t kmem_gettid(void);
void kmem_gettid_reset(void);

/* How a lock is taken, for the check (core/lock.c). */
enum lock_acquire {
	LOCK_ACQUIRE,		/* may wait: rank above every lock held */
	LOCK_ACQUIRE_NESTED,	/* may wait: rank at or above every lock held */
	LOCK_ACQUIRE_TRY,	/* never waits: not checked, but recorded */
};

#if KMEM_DEBUG_LEVEL >= 1
void lock_rank_acquire(const struct kmem_mutex *l, enum lock_acquire how);
void lock_rank_release(const struct kmem_mutex *l);
void lock_rank_fork_child(void);
#else
static inline void lock_rank_acquire(const struct kmem_mutex *l,
				     enum lock_acquire how)
{
	(void)l;
	(void)how;
}
static inline void lock_rank_release(const struct kmem_mutex *l) { (void)l; }
static inline void lock_rank_fork_child(void) { }
#endif

static inline void kmem_mutex_init(struct kmem_mutex *l,
				   enum kmem_lock_rank rank)
{
	l->word = 0;
	l->contended = 0;
#if KMEM_DEBUG_LEVEL >= 1
	l->owner = 0;
	l->rank = rank;
#else
	(void)rank;
#endif
}

static inline void __kmem_mutex_acquired(struct kmem_mutex *l)
{
#if KMEM_DEBUG_LEVEL >= 1
	l->owner = kmem_gettid();
#else
	(void)l;
#endif
}

/*
 * The fork window.  kmem's prepare handler takes every lock; its parent
 * and child handlers release them.  Between the two the forking thread
 * holds them all, and the handlers the program registered before kmem's
 * run there (prepare handlers run in reverse order of registration,
 * parent and child handlers in order): glibc lets them call malloc() and
 * free(), and so does kmem.  Their calls take no lock, since the thread
 * already holds every one and no other thread can get past a kmem lock
 * until the window closes; without this they waited for themselves
 * (Documentation/locking.md, "Fork follows the table").
 */
extern __thread bool kmem_tls_fork_window __tls_ie;

static inline bool kmem_in_fork_window(void)
{
	return unlikely(kmem_tls_fork_window);
}

/* Take @l's word: 0 to 1 at once, or through the slow path. */
static inline void __kmem_mutex_take(struct kmem_mutex *l)
{
	int c = 0;

	if (unlikely(!__atomic_compare_exchange_n(&l->word, &c, 1, false,
						  __ATOMIC_ACQUIRE,
						  __ATOMIC_RELAXED)))
		kmem_mutex_lock_slow(l);
}

/*
 * Give @l's word back, waking a waiter if there may be one: with a store
 * while nobody has ever slept on @l (struct kmem_mutex).
 */
static inline void __kmem_mutex_give(struct kmem_mutex *l)
{
	if (likely(!__atomic_load_n(&l->contended, __ATOMIC_RELAXED))) {
		__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
		return;
	}
	if (unlikely(__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2))
		kmem_mutex_wake(l);
}

static inline void kmem_mutex_lock(struct kmem_mutex *l)
{
	if (kmem_in_fork_window())
		return;
	lock_rank_acquire(l, LOCK_ACQUIRE);
	__kmem_mutex_take(l);
	__kmem_mutex_acquired(l);
}

/*
 * kmem_mutex_lock_nested - take one more lock of the rank the caller
 * already holds.  Only for a pass that takes every lock of one rank in a
 * fixed order under a lock that serialises such passes (fork() takes
 * every cache's lock, in the cache list's order, under slab_mutex): the
 * kernel's mutex_lock_nest_lock().
 */
static inline void kmem_mutex_lock_nested(struct kmem_mutex *l)
{
	if (kmem_in_fork_window())
		return;
	lock_rank_acquire(l, LOCK_ACQUIRE_NESTED);
	__kmem_mutex_take(l);
	__kmem_mutex_acquired(l);
}

/*
 * A trylock never waits, so it cannot deadlock: it is not checked (the
 * reclaim hook tries slab's locks from under the zone's), but the lock
 * counts as held afterwards like any other.
 */
static inline bool kmem_mutex_trylock(struct kmem_mutex *l)
{
	int c = 0;

	if (kmem_in_fork_window())
		return true;
	if (!__atomic_compare_exchange_n(&l->word, &c, 1, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	lock_rank_acquire(l, LOCK_ACQUIRE_TRY);
	__kmem_mutex_acquired(l);
	return true;
}

static inline void kmem_mutex_unlock(struct kmem_mutex *l)
{
	if (kmem_in_fork_window())
		return;
#if KMEM_DEBUG_LEVEL >= 1
	l->owner = 0;
#endif
	lock_rank_release(l);
	__kmem_mutex_give(l);
}

/*
 * Wait on @cond, which releases @l meanwhile (the holder is cleared for
 * lock_assert_held(); the thread still counts as holding @l, which it
 * holds again on return).  A wake may be spurious: the caller tests its
 * condition again.
 */
static inline void kmem_cond_wait(struct kmem_cond *cond,
				  struct kmem_mutex *l)
{
	kmem_cond_wait_until(cond, l, NULL);
}

/* The same until @abstime (CLOCK_MONOTONIC).  Return: 0 or ETIMEDOUT. */
static inline int kmem_cond_timedwait(struct kmem_cond *cond,
				      struct kmem_mutex *l,
				      const struct timespec *abstime)
{
	return kmem_cond_wait_until(cond, l, abstime);
}

/* Wake one waiter of @cond; the caller holds the waiters' mutex. */
static inline void kmem_cond_signal(struct kmem_cond *cond)
{
	kmem_cond_wake(cond, 1);
}

/* Wake every waiter of @cond; the caller holds the waiters' mutex. */
static inline void kmem_cond_broadcast(struct kmem_cond *cond)
{
	kmem_cond_wake(cond, 0);
}

/*
 * Reset in a fork child, where the holder (the forking thread, or one
 * that no longer exists) is gone; the child's thread holds nothing
 * (lock_rank_fork_child()).
 */
static inline void kmem_mutex_reinit(struct kmem_mutex *l)
{
#if KMEM_DEBUG_LEVEL >= 1
	kmem_mutex_init(l, (enum kmem_lock_rank)l->rank);
#else
	kmem_mutex_init(l, LOCK_RANK_NONE);
#endif
}

#if KMEM_DEBUG_LEVEL >= 1
#define lock_assert_held(l) BUG_ON((l)->owner != kmem_gettid())
#else
#define lock_assert_held(l) ((void)(l))
#endif

#pragma GCC visibility pop

#endif /* KMEM_CORE_LOCK_H */
