// SPDX-License-Identifier: MIT
/*
 * core/thread.c - the per-thread registry.
 *
 * Each thread that allocates gets one block, a unit of the region's
 * private twin (core/region.c): a header (struct kmem_stats_thread)
 * followed by the layers' parts, registered at start-up in layer order
 * (buddy's page lists, then slab's magazines).  Each layer keeps an
 * initial-exec TLS pointer to its own part, so its fast path costs one
 * %fs-relative load.  The block's published twin carries the header and
 * what each part publishes of itself (counts only, at the same offsets),
 * so kmeminfo sees every thread's cached objects and counters live and
 * nobody sees the block itself.
 *
 * States (kmem_tls_state):
 *
 *   NONE --attach--> ATTACHING --> LIVE --exit--> DEAD
 *                        `--------(no memory)------^
 *
 * ATTACHING and DEAD threads use the locked paths of every layer.  Attach
 * happens on a thread's first slow path; the pthread key's destructor runs
 * the parts' exit hooks in reverse order when the thread exits (also for a
 * thread that only ever freed), then the block is recycled.  Allocations
 * made later in the thread's teardown (other keys' destructors, glibc's
 * own) take the locked paths.
 *
 * Fork: the child keeps only the forking thread; the others' blocks are
 * marked orphaned, their cached objects abandoned (bounded: a thread holds
 * at most its magazines and page lists), since a thread caught mid-update
 * by fork() cannot be trusted.  Orphans stay on a list of their own: their
 * figures are republished with the rest (kmem_thread_republish_locked()).
 *
 * Lock order: the table in core/lock.h (thread_lock above every lock of
 * the layers: a thread's exit hands its caches back under it).
 */
#include <pthread.h>
#include <string.h>

#include "core/core.h"

/*
 * struct kmem_thread - one thread's block
 * @unit: its published header (first: the region unit)
 * @node: on thread_list
 * The parts follow at kmem_thread_part.offset.
 */
struct kmem_thread {
	struct kmem_stats_thread unit;
	struct list_head node;
};

__thread unsigned char kmem_tls_state __tls_ie;
static __thread struct kmem_thread *tls_thread __tls_ie;

static struct kmem_mutex thread_lock = KMEM_MUTEX_INIT(LOCK_RANK_THREAD);
static LIST_HEAD(thread_list);
static LIST_HEAD(orphan_list);		/* blocks of threads lost to fork */
static struct kmem_thread_part *parts[4];
static unsigned int nr_parts;
static size_t block_size = sizeof(struct kmem_thread);
static pthread_key_t thread_key;
static bool thread_key_ok;

/**
 * kmem_thread_register_part - reserve a layer's part in every thread block
 * @part: size, hooks; its offset is filled in
 *
 * Context: start-up, before any thread attaches.
 */
void kmem_thread_register_part(struct kmem_thread_part *part)
{
	BUG_ON(nr_parts >= ARRAY_SIZE(parts));
	part->offset = ALIGN(block_size, 64);
	block_size = part->offset + part->size;
	parts[nr_parts++] = part;
}

static void thread_exit_parts(struct kmem_thread *t)
{
	for (unsigned int i = nr_parts; i-- > 0;)
		parts[i]->exit((char *)t + parts[i]->offset);
}

static void thread_release(struct kmem_thread *t)
{
	kmem_mutex_lock(&thread_lock);
	list_del(&t->node);
	kmem_mutex_unlock(&thread_lock);
	kmem_region_free(t);
}

static void thread_destructor(void *arg)
{
	struct kmem_thread *t = arg;

	kmem_tls_state = KMEM_THREAD_DEAD;
	thread_exit_parts(t);
	tls_thread = NULL;
	thread_release(t);
}

/**
 * kmem_thread_init - create the key whose destructor runs at thread exit
 *
 * Context: start-up (kmem_init_slow).  pthread_key_create does not
 * allocate.
 */
void kmem_thread_init(void)
{
	thread_key_ok = pthread_key_create(&thread_key, thread_destructor) == 0;
}

/**
 * kmem_thread_attach - give the calling thread its per-thread caches
 *
 * Return: true if the thread is (now) LIVE; false if it must use the
 * locked paths (during start-up, in teardown, or when no block could be
 * had).
 */
bool kmem_thread_attach(void)
{
	struct kmem_thread *t;

	if (kmem_tls_state != KMEM_THREAD_NONE)
		return kmem_tls_state == KMEM_THREAD_LIVE;
	kmem_init();
	if (__atomic_load_n(&kmem_init_state, __ATOMIC_ACQUIRE) != 2 ||
	    !thread_key_ok)
		return false;
	kmem_tls_state = KMEM_THREAD_ATTACHING;
	t = kmem_region_alloc(KMEM_UNIT_THREAD, block_size);
	if (!t) {
		kmem_tls_state = KMEM_THREAD_DEAD;
		return false;
	}
	t->unit.tid = kmem_gettid();
	t->unit.state = KMEM_THREAD_LIVE;
	for (unsigned int i = 0; i < nr_parts; i++)
		parts[i]->attach((char *)t + parts[i]->offset, &t->unit);
	kmem_region_publish(&t->unit, sizeof(t->unit));
	kmem_mutex_lock(&thread_lock);
	list_add_tail(&t->node, &thread_list);
	kmem_mutex_unlock(&thread_lock);
	tls_thread = t;
	/* May call malloc (a second-level key array): the parts are ready. */
	if (pthread_setspecific(thread_key, t)) {
		kmem_tls_state = KMEM_THREAD_DEAD;
		thread_exit_parts(t);
		tls_thread = NULL;
		thread_release(t);
		return false;
	}
	kmem_tls_state = KMEM_THREAD_LIVE;
	return true;
}

/**
 * kmem_thread_exit_self - run the exit hooks for the calling thread now
 *
 * For tests and for threads that want their caches returned before they
 * exit; the thread attaches again on its next slow path.
 */
void kmem_thread_exit_self(void)
{
	struct kmem_thread *t = tls_thread;

	if (!t || kmem_tls_state != KMEM_THREAD_LIVE)
		return;
	pthread_setspecific(thread_key, NULL);
	kmem_tls_state = KMEM_THREAD_DEAD;
	thread_exit_parts(t);
	tls_thread = NULL;
	thread_release(t);
	kmem_tls_state = KMEM_THREAD_NONE;
}

/**
 * kmem_thread_lock - take the registry lock (outermost kmem lock)
 */
void kmem_thread_lock(void)
{
	kmem_mutex_lock(&thread_lock);
}

/**
 * kmem_thread_trylock - take the registry lock if it is free
 *
 * Return: true if taken (release it with kmem_thread_unlock()).
 */
bool kmem_thread_trylock(void)
{
	return kmem_mutex_trylock(&thread_lock);
}

/**
 * kmem_thread_unlock - release it
 */
void kmem_thread_unlock(void)
{
	kmem_mutex_unlock(&thread_lock);
}

/**
 * kmem_thread_for_each - visit a layer's part of every live thread
 * @part: the layer's registration
 * @fn:   called with the part, the thread id and @arg
 * @arg:  passed through
 *
 * Context: kmem_thread_lock() held.  Other threads keep running: @fn may
 * only read their parts racily, or touch them when the caller knows they
 * are quiescent for the data concerned.
 */
void kmem_thread_for_each(struct kmem_thread_part *part,
			  kmem_thread_visit_fn fn, void *arg)
{
	struct kmem_thread *t;

	lock_assert_held(&thread_lock);
	list_for_each_entry(t, &thread_list, node)
		fn((char *)t + part->offset, t->unit.tid, arg);
}

/**
 * kmem_thread_fork_prepare - hold the registry across fork()
 */
void kmem_thread_fork_prepare(void)
{
	kmem_mutex_lock(&thread_lock);
}

/**
 * kmem_thread_fork_parent - release it in the parent
 */
void kmem_thread_fork_parent(void)
{
	kmem_mutex_unlock(&thread_lock);
}

bool kmem_thread_orphans;	/* a fork() left other threads' caches */

/**
 * kmem_thread_fork_child - the child has one thread: orphan the others
 *
 * Context: after kmem_region_fork_child() (the blocks are the child's).
 */
void kmem_thread_fork_child(void)
{
	struct kmem_thread *t, *tmp;

	kmem_mutex_reinit(&thread_lock);
	kmem_region_layout_begin();
	list_for_each_entry_safe(t, tmp, &thread_list, node) {
		if (t == tls_thread) {
			t->unit.tid = kmem_gettid();
			continue;
		}
		list_move_tail(&t->node, &orphan_list);
		kmem_thread_orphans = true;
		kmem_region_orphan(&t->unit.unit);
		t->unit.tid = 0;
	}
	kmem_region_layout_end();
}

static void thread_republish(struct kmem_thread *t)
{
	kmem_region_publish(&t->unit, sizeof(t->unit));
	for (unsigned int i = 0; i < nr_parts; i++)
		parts[i]->publish((char *)t + parts[i]->offset);
}

/**
 * kmem_thread_republish_locked - publish every block's figures anew
 *
 * Live threads' and orphans' alike, from their private state.  Other
 * threads may be running: what one changes meanwhile it publishes itself.
 *
 * Context: kmem_thread_lock() held (kmem_republish_locked()).
 */
void kmem_thread_republish_locked(void)
{
	struct kmem_thread *t;

	lock_assert_held(&thread_lock);
	list_for_each_entry(t, &thread_list, node)
		thread_republish(t);
	list_for_each_entry(t, &orphan_list, node)
		thread_republish(t);
}

KMEM_LAYER(thread_layer, "thread registry", LAYER_CORE, LOCK_RANK_THREAD,
	.init = kmem_thread_init, .lock = kmem_thread_fork_prepare,
	.republish = kmem_thread_republish_locked,
	.unlock = kmem_thread_fork_parent,
	.fork_child = kmem_thread_fork_child);
