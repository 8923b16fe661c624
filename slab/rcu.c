// SPDX-License-Identifier: MIT
/*
 * slab/rcu.c - frees deferred past an RCU grace period.
 *
 * Two users: kfree_rcu(ptr, field), and the slabs of SLAB_TYPESAFE_BY_RCU
 * caches, whose pages may go back to the buddy allocator only after every
 * reader that might still look at their objects has left its read-side
 * critical section.  RCU is liburcu's default flavour (memb), the one
 * `#include <urcu.h>` gives, so kmem agrees with the application's
 * rcu_read_lock().
 *
 * liburcu's call_rcu() must be called from registered reader threads,
 * which kmem's callers need not be.  So deferral is kmem's own: an item
 * (two words: the rcu_head inside the object, or the freed slab's list
 * link) is queued under rcu_mutex from any thread; a worker thread, started
 * on first use with every signal blocked, takes the whole queue, waits for
 * a grace period with synchronize_rcu() (allowed from any thread outside a
 * read-side section) and frees the batch.  kvfree_rcu_barrier() waits until
 * everything queued before it is freed.
 *
 * States of the worker: absent -> running (sleeping when the queue is
 * empty).  A fork child has no worker; one starts when needed.
 *
 * Fork: the worker holds worker_mutex across a grace period and the frees
 * that follow, and fork() holds it too, so a child never inherits a half
 * done batch or a liburcu lock taken by the worker.  Once kmem's RCU
 * machinery is in use the program is an RCU program, and kmem calls
 * liburcu's fork hooks for the memb flavour (call_rcu_before_fork,
 * call_rcu_after_fork_parent, call_rcu_after_fork_child) around fork, first
 * in prepare and last in the parent and child, so that call_rcu threads
 * are paused while kmem's locks are taken and the child gets a working
 * call_rcu thread.  liburcu's hooks are not reentrant: a program that
 * makes these calls itself sets KMEM_URCU_FORK_HOOKS=0.  A program that
 * never uses kmem's RCU (malloc replacement alone) is never affected.
 *
 * Lock order: (liburcu's call_rcu lock, fork only) -> worker_mutex ->
 * rcu_mutex; worker_mutex -> s->lock.  Items are queued with no other kmem
 * lock held.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <urcu.h>

#include "slab/slab.h"

#define RCU_TAG_SLAB (~0UL)

/* An rcu_head's two words while kmem holds it. */
struct rcu_item {
	struct rcu_item *next;
	unsigned long tag;	/* RCU_TAG_SLAB, or the rcu_head's offset */
};

BUILD_BUG_ON(sizeof(struct rcu_item) > sizeof(struct list_head));

bool kmem_urcu_fork_hooks = true;

static pthread_mutex_t rcu_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rcu_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t rcu_done = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t worker_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct rcu_item *queue_head, **queue_tail = &queue_head;
static unsigned long seq_queued, seq_done;	/* rcu_mutex */
static bool worker_running;			/* rcu_mutex */
static bool worker_ever;			/* kmem used RCU here */
static bool urcu_hooks_taken;			/* fork in progress */
static void (*kfree_handler)(const void *obj);

/**
 * slab_rcu_set_kfree - how kfree_rcu() items are freed (core's kfree)
 * @fn: the function
 *
 * Context: start-up.
 */
void slab_rcu_set_kfree(void (*fn)(const void *obj))
{
	kfree_handler = fn;
}

static void free_item(struct rcu_item *it)
{
	if (it->tag == RCU_TAG_SLAB) {
		struct slab *slab = container_of((struct list_head *)it,
						 struct slab, list);
		struct kmem_cache *s = slab->cache;

		kmem_lock(&s->lock);
		s->nr_slabs--;
		s->nr_rcu_slabs--;
		s->slabs_freed++;
		cache_publish_locked(s);
		kmem_unlock(&s->lock);
		__slab_free_pages(s, slab);
	} else {
		kfree_handler((char *)it - it->tag);
	}
}

static void *rcu_worker(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "kmem-rcu", 0, 0, 0);
	for (;;) {
		struct rcu_item *batch;
		unsigned long seq;

		pthread_mutex_lock(&rcu_mutex);
		while (!queue_head)
			pthread_cond_wait(&rcu_work, &rcu_mutex);
		pthread_mutex_unlock(&rcu_mutex);

		pthread_mutex_lock(&worker_mutex);
		pthread_mutex_lock(&rcu_mutex);
		batch = queue_head;
		queue_head = NULL;
		queue_tail = &queue_head;
		seq = seq_queued;
		pthread_mutex_unlock(&rcu_mutex);

		synchronize_rcu();
		while (batch) {
			struct rcu_item *it = batch;

			batch = it->next;
			free_item(it);
		}
		/* The worker's page lists must not hold freed memory back. */
		if (kmem_tls_pcp)
			pcp_drain(kmem_tls_pcp);
		pthread_mutex_unlock(&worker_mutex);

		pthread_mutex_lock(&rcu_mutex);
		seq_done = seq;
		pthread_cond_broadcast(&rcu_done);
		pthread_mutex_unlock(&rcu_mutex);
	}
	return NULL;
}

/* Start the worker if there is none.  rcu_mutex held. */
static void worker_start_locked(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;

	if (worker_running)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (!pthread_create(&t, &attr, rcu_worker, NULL)) {
		worker_running = true;
		worker_ever = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (!worker_running)
		kmem_panic("kmem: cannot start the RCU worker thread\n");
}

static void enqueue(struct rcu_item *it)
{
	it->next = NULL;
	pthread_mutex_lock(&rcu_mutex);
	*queue_tail = it;
	queue_tail = &it->next;
	seq_queued++;
	worker_start_locked();
	pthread_cond_signal(&rcu_work);
	pthread_mutex_unlock(&rcu_mutex);
}

/**
 * slab_rcu_free_slab - free an empty slab after a grace period
 * @s:    its cache (SLAB_TYPESAFE_BY_RCU), counted in nr_rcu_slabs
 * @slab: the slab, off every list
 *
 * Until then the slab stays typed: its memory holds objects of @s.
 */
void slab_rcu_free_slab(struct kmem_cache *s, struct slab *slab)
{
	struct rcu_item *it = (struct rcu_item *)&slab->list;

	(void)s;
	it->tag = RCU_TAG_SLAB;
	enqueue(it);
}

/**
 * kmem_kfree_rcu_offset - kfree(@objp) after an RCU grace period
 * @objp:   the object (from kmalloc or a cache)
 * @offset: offset of a 16-byte rcu_head in it, used until the free
 *
 * The engine of kfree_rcu().  Context: any thread, registered with
 * liburcu or not, but not inside a read-side critical section that waits
 * for it.
 */
void kmem_kfree_rcu_offset(void *objp, size_t offset)
{
	struct rcu_item *it;

	if (!objp)
		return;
	kmem_init();
	it = (struct rcu_item *)((char *)objp + offset);
	it->tag = offset;
	enqueue(it);
}

/**
 * slab_rcu_barrier - wait until every deferred free queued so far is done
 */
void slab_rcu_barrier(void)
{
	unsigned long target;

	pthread_mutex_lock(&rcu_mutex);
	target = seq_queued;
	if (seq_done < target)
		worker_start_locked();
	while (seq_done < target)
		pthread_cond_wait(&rcu_done, &rcu_mutex);
	pthread_mutex_unlock(&rcu_mutex);
}

/**
 * kvfree_rcu_barrier - wait for every pending kfree_rcu() and RCU slab free
 *
 * Context: not inside an RCU read-side critical section.
 */
void kvfree_rcu_barrier(void)
{
	kmem_init();
	slab_rcu_barrier();
}

/**
 * slab_rcu_fork_prepare - fork(): no batch in flight, liburcu's hooks
 */
void slab_rcu_fork_prepare(void)
{
	urcu_hooks_taken = kmem_urcu_fork_hooks && READ_ONCE(worker_ever);
	if (urcu_hooks_taken)
		call_rcu_before_fork();
	pthread_mutex_lock(&worker_mutex);
	pthread_mutex_lock(&rcu_mutex);
}

/**
 * slab_rcu_fork_parent - release in the parent
 */
void slab_rcu_fork_parent(void)
{
	pthread_mutex_unlock(&rcu_mutex);
	pthread_mutex_unlock(&worker_mutex);
	if (urcu_hooks_taken)
		call_rcu_after_fork_parent();
}

/**
 * slab_rcu_fork_child - the child has no worker; queued items wait for one
 */
void slab_rcu_fork_child(void)
{
	pthread_mutex_init(&rcu_mutex, NULL);
	pthread_mutex_init(&worker_mutex, NULL);
	pthread_cond_init(&rcu_work, NULL);
	pthread_cond_init(&rcu_done, NULL);
	if (urcu_hooks_taken)
		call_rcu_after_fork_child();
	worker_running = false;
}
