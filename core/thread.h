/* SPDX-License-Identifier: MIT */
/*
 * core/thread.h - the per-thread registry (core/thread.c).
 */
#ifndef KMEM_CORE_THREAD_H
#define KMEM_CORE_THREAD_H

#include <sys/types.h>

#include <kmem/stats.h>

#include "core/compiler.h"

#pragma GCC visibility push(hidden)

enum kmem_thread_state {
	KMEM_THREAD_NONE = 0,	/* never attached */
	KMEM_THREAD_ATTACHING,	/* setting up; use the locked paths */
	KMEM_THREAD_LIVE,	/* per-thread caches in use */
	KMEM_THREAD_DEAD,	/* exited or could not attach: locked paths */
};

/*
 * A layer's per-thread part: registered once at start-up; the registry
 * lays the parts out one after another in each thread's block.
 *  @attach: initialise @part, set the layer's TLS pointer to it and
 *           describe it in @unit (the thread's published header)
 *  @exit:   give back what the thread caches; called with the thread still
 *           able to use the locked paths; clears the TLS pointer
 *  @publish: write the part's published figures anew from its private
 *           state (kmem_republish_locked(): the thread may be running)
 *
 * A thread's block is a unit of the region's private twin; what a part
 * publishes goes to the same offsets of the published half (kmem_pub()).
 */
struct kmem_thread_part {
	size_t size;
	size_t offset;
	void (*attach)(void *part, struct kmem_stats_thread *unit);
	void (*exit)(void *part);
	void (*publish)(void *part);
};

extern __thread unsigned char kmem_tls_state __tls_ie;

void kmem_thread_init(void);
void kmem_thread_register_part(struct kmem_thread_part *part);
bool kmem_thread_attach(void);
void kmem_thread_exit_self(void);
void kmem_thread_fork_prepare(void);
void kmem_thread_fork_parent(void);
void kmem_thread_fork_child(void);
void kmem_thread_republish_locked(void);
typedef void (*kmem_thread_visit_fn)(void *part, pid_t tid, void *arg);
void kmem_thread_for_each(struct kmem_thread_part *part,
			  kmem_thread_visit_fn fn, void *arg);
void kmem_thread_lock(void);
void kmem_thread_unlock(void);
bool kmem_thread_trylock(void);

/*
 * kmem_thread_maybe_attach - give the calling thread its per-thread caches
 * on its first call.  Only from entry points that hold no kmem lock.
 */
static __always_inline void kmem_thread_maybe_attach(void)
{
	if (unlikely(kmem_tls_state == KMEM_THREAD_NONE))
		kmem_thread_attach();
}

#pragma GCC visibility pop

#endif /* KMEM_CORE_THREAD_H */
