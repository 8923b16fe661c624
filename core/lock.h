/* SPDX-License-Identifier: MIT */
/*
 * core/lock.h - the lock type.
 */
#ifndef KMEM_CORE_LOCK_H
#define KMEM_CORE_LOCK_H

#include <pthread.h>
#include <sys/types.h>

#include <kmem/bug.h>

#include "core/compiler.h"

#pragma GCC visibility push(hidden)

/*
 * struct kmem_lock - a sleeping mutex with an owner for assertions.
 * @mutex: the lock (PTHREAD_MUTEX_INITIALIZER-compatible, needs no malloc)
 * @owner: thread id of the holder, kept in debug builds for
 *         lock_assert_held()
 */
struct kmem_lock {
	pthread_mutex_t mutex;
#if KMEM_DEBUG_LEVEL >= 1
	pid_t owner;
#endif
};

/*
 * Adaptive: the critical sections are short (a depot exchange, a batch of
 * slab objects, a buddy split), so a contended lock spins a little before
 * it sleeps; a plain mutex put the waiter to sleep at once, costing two
 * context switches per contended exchange.
 */
#define KMEM_LOCK_INIT { .mutex = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP }

pid_t kmem_gettid(void);
void kmem_gettid_reset(void);

static inline void kmem_lock_init(struct kmem_lock *l)
{
	pthread_mutex_t m = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;

	l->mutex = m;
#if KMEM_DEBUG_LEVEL >= 1
	l->owner = 0;
#endif
}

static inline void kmem_lock(struct kmem_lock *l)
{
	pthread_mutex_lock(&l->mutex);
#if KMEM_DEBUG_LEVEL >= 1
	l->owner = kmem_gettid();
#endif
}

static inline bool kmem_trylock(struct kmem_lock *l)
{
	if (pthread_mutex_trylock(&l->mutex))
		return false;
#if KMEM_DEBUG_LEVEL >= 1
	l->owner = kmem_gettid();
#endif
	return true;
}

static inline void kmem_unlock(struct kmem_lock *l)
{
#if KMEM_DEBUG_LEVEL >= 1
	l->owner = 0;
#endif
	pthread_mutex_unlock(&l->mutex);
}

/* Reset in a fork child, where the holder (the forking thread) is gone. */
static inline void kmem_lock_reinit(struct kmem_lock *l)
{
	kmem_lock_init(l);
}

#if KMEM_DEBUG_LEVEL >= 1
#define lock_assert_held(l) BUG_ON((l)->owner != kmem_gettid())
#else
#define lock_assert_held(l) ((void)(l))
#endif

#pragma GCC visibility pop

#endif /* KMEM_CORE_LOCK_H */
