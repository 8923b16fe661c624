// SPDX-License-Identifier: MIT
/*
 * core/init.c - start-up and fork.
 *
 * Start-up is lazy: the first call into any layer runs kmem_init_slow().
 * It must work whoever makes that call: the dynamic loader (before the C
 * library has run its constructors), a constructor, liburcu, or any
 * thread of a running program.  So the path uses no dlsym, no stdio and
 * nothing that allocates; environment settings are read without malloc
 * (core/config.c); every layer's state is static or comes from mmap.
 *
 * States (kmem_init_state): 0 none -> 1 running -> 2 done.  The thread
 * that runs it is marked, so that a call back into kmem from inside
 * start-up is recognised (and served from a small static arena, see
 * core/malloc.c) instead of deadlocking; other threads wait for state 2.
 *
 * Order: configuration -> shared region -> thread registry -> buddy ->
 * slab (boot caches, magazine caches) -> kmalloc caches.  The fork
 * handlers are registered once start-up is complete.
 *
 * Fork: the prepare handler takes every allocator lock in the documented
 * order, so that no lock is held by a thread that will not exist in the
 * child:
 *
 *   RCU worker -> kmem_thread_lock -> slab_mutex -> every cache lock
 *   (list order) -> reaper -> zone->lock -> section_lock -> region_lock
 *
 * The parent releases them in reverse.  The child first gives itself its
 * own statistics region (before anything writes to it), resets every
 * lock, orphans the other threads' per-thread caches and forgets the
 * helper threads, which fork does not copy.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "core/core.h"

int kmem_init_state;
static __thread bool tls_initialising __tls_ie;

/**
 * kmem_in_init - is the calling thread inside kmem's start-up?
 */
bool kmem_in_init(void)
{
	return tls_initialising;
}

static void kmem_fork_prepare(void)
{
	slab_rcu_fork_prepare();
	kmem_thread_fork_prepare();
	slab_fork_prepare();
	buddy_fork_prepare();
	kmem_region_fork_prepare();
}

static void kmem_fork_parent(void)
{
	kmem_region_fork_parent();
	buddy_fork_parent();
	slab_fork_parent();
	kmem_thread_fork_parent();
	slab_rcu_fork_parent();
}

static void kmem_fork_child(void)
{
	kmem_gettid_reset();
	kmem_region_fork_child();
	buddy_fork_child();
	slab_fork_child();
	kmem_thread_fork_child();
	slab_rcu_fork_child();
}

/**
 * kmem_init_slow - initialise kmem (once)
 *
 * Context: any thread, any time; see the file comment.
 */
void kmem_init_slow(void)
{
	int expected = 0;

	if (tls_initialising)
		return;
	if (!__atomic_compare_exchange_n(&kmem_init_state, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&kmem_init_state, __ATOMIC_ACQUIRE) != 2)
			sched_yield();
		return;
	}
	tls_initialising = true;
	kmem_config_parse();
	kmem_urcu_fork_hooks = kmem_config.urcu_fork_hooks;
	if (kmem_region_init(kmem_config.stats, kmem_config.stats_fd))
		kmem_panic("kmem: cannot map the statistics region: out of memory\n");
	kmem_thread_init();
	buddy_init();
	slab_init(kmem_config.debug, kmem_config.merge, kmem_config.magazines);
	kmalloc_init();
	__atomic_store_n(&kmem_init_state, 2, __ATOMIC_RELEASE);
	tls_initialising = false;
	pthread_atfork(kmem_fork_prepare, kmem_fork_parent, kmem_fork_child);
}
