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
 * empty).  A running worker takes the whole queue as its batch (kept on
 * a list of its own, the in-flight batch, not on its stack), waits for a
 * grace period, then frees the batch under worker_mutex.  A fork child
 * has no worker; one starts when needed.
 *
 * Fork never waits for a grace period that may be waiting for the thread
 * calling fork().  A thread inside rcu_read_lock() may fork (liburcu
 * allows blocking in a read-side section); if the worker is in
 * synchronize_rcu() at that moment, that grace period cannot end before
 * the caller leaves its section, so waiting for it would deadlock.  So:
 *
 *   - worker_mutex is held only around a batch's frees, never across
 *     synchronize_rcu(): fork() waits for frees, which wait for nobody;
 *   - a caller outside any read-side section waits (on gp_done) for a
 *     grace period in progress to end, so that the child does not inherit
 *     liburcu's grace-period lock held by a thread it does not have;
 *   - a caller inside one does not wait.  The child inherits liburcu in
 *     the middle of the worker's grace period, which no thread of the
 *     child can finish (liburcu keeps its lock, and part of its reader
 *     registry, on the worker's stack): no grace period can ever complete
 *     in that child.  kmem notes it (gp_lost) and from then on keeps the
 *     child's deferred frees instead of freeing them, and says so once;
 *     kvfree_rcu_barrier() does not wait for them.  Memory is kept; no
 *     object is freed while a reader may hold it, and nothing hangs.
 *     (liburcu's README asks memb programs not to fork() with registered
 *     readers at all; this is kmem staying safe when they do.)
 *
 * In every child the in-flight batch goes back to the head of the queue:
 * its objects were not freed in the child, and the forking thread may be
 * holding one of them in its read-side section.
 *
 * liburcu's call_rcu hooks: once kmem's RCU machinery is in use the
 * program is an RCU program, and kmem calls liburcu's fork hooks for the
 * memb flavour (call_rcu_before_fork, call_rcu_after_fork_parent,
 * call_rcu_after_fork_child) around fork, first in prepare and last in
 * the parent and child, so that call_rcu threads are paused while kmem's
 * locks are taken and the child gets a working call_rcu thread.  Not when
 * fork() is called inside a read-side section: call_rcu_before_fork()
 * waits for every call_rcu thread to pause, and one that is in a grace
 * period waits for the caller.  liburcu's hooks are not reentrant: a
 * program that makes these calls itself sets KMEM_URCU_FORK_HOOKS=0.  A
 * program that never uses kmem's RCU (malloc replacement alone) is never
 * affected.
 *
 * Binding to liburcu.  libkmem.so links liburcu and calls it directly.
 * libkmem-malloc.so, the malloc that LD_PRELOAD puts into every process,
 * does not link it (KMEM_URCU_LAZY): a process that never uses RCU (all
 * of malloc's users) does not load it, which was about 8 page faults and
 * 100 KiB of resident file pages in every process (performance.md, "The
 * malloc library without liburcu").  There kmem looks the six functions
 * up among the libraries the process has loaded (dlsym(RTLD_DEFAULT)),
 * when it first needs them: before a grace period, in the worker, and
 * before the call_rcu barrier of kmem_cache_destroy().  Found, they are
 * kept (and their library pinned with dlopen(RTLD_NOLOAD), so that a
 * dlclose() cannot unmap them).  Not found, no thread of the process can
 * be inside rcu_read_lock() (an RCU reader calls liburcu; it is not
 * loaded) and no call_rcu() callback can be pending: the grace period
 * and the barrier are complete as they start, and kmem frees the batch
 * at once.  A reader of a library loaded later cannot reach objects that
 * were unpublished before it started: that is the RCU contract.  The
 * fork hooks run only once the functions were found.  No dlopen() of a
 * library not yet loaded, so kmem never loads code into a process on its
 * own.
 *
 * Lock order: the table in core/lock.h (worker_mutex, rcu_mutex: the
 * outermost two; liburcu's call_rcu lock before them, at fork only).
 * Items are queued with no other kmem lock held; synchronize_rcu() is
 * called with no kmem lock held.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <urcu.h>

#include "slab/slab.h"

/* The memb flavour's functions, as <urcu.h> names them. */
struct urcu_ops {
	void (*synchronize)(void);
	void (*call_barrier)(void);
	int (*read_ongoing)(void);
	void (*before_fork)(void);
	void (*after_fork_parent)(void);
	void (*after_fork_child)(void);
};

#ifdef KMEM_URCU_LAZY
static struct urcu_ops urcu;
static bool urcu_bound;			/* urcu is filled in (release) */
static pthread_mutex_t urcu_bind_mutex = PTHREAD_MUTEX_INITIALIZER;

#define URCU_NAME_(f)	#f
#define URCU_NAME(f)	URCU_NAME_(f)	/* the flavour's symbol for @f */

/*
 * urcu_bind - find liburcu's functions among the loaded libraries
 *
 * Context: no kmem lock held (dlsym() and dlopen() take the loader's
 * lock and may allocate); not from a fork hook.
 * Return: true if liburcu is loaded (the functions are bound), false if
 * it is not, for now (file comment).
 */
static bool urcu_bind(void)
{
	struct urcu_ops ops;
	Dl_info info;

	if (__atomic_load_n(&urcu_bound, __ATOMIC_ACQUIRE))
		return true;
	pthread_mutex_lock(&urcu_bind_mutex);
	if (urcu_bound)
		goto out;
	ops.synchronize = (void (*)(void))dlsym(RTLD_DEFAULT,
						URCU_NAME(synchronize_rcu));
	if (!ops.synchronize)
		goto out;
	ops.call_barrier = (void (*)(void))dlsym(RTLD_DEFAULT,
					    URCU_NAME(rcu_barrier));
	ops.read_ongoing = (int (*)(void))dlsym(RTLD_DEFAULT,
						URCU_NAME(rcu_read_ongoing));
	ops.before_fork = (void (*)(void))dlsym(RTLD_DEFAULT,
					URCU_NAME(call_rcu_before_fork));
	ops.after_fork_parent = (void (*)(void))dlsym(RTLD_DEFAULT,
					URCU_NAME(call_rcu_after_fork_parent));
	ops.after_fork_child = (void (*)(void))dlsym(RTLD_DEFAULT,
					URCU_NAME(call_rcu_after_fork_child));
	if (!ops.call_barrier || !ops.read_ongoing || !ops.before_fork ||
	    !ops.after_fork_parent || !ops.after_fork_child)
		kmem_panic("kmem: the loaded liburcu lacks %s's companions (barrier, read_ongoing, the call_rcu fork hooks)\n",
			   URCU_NAME(synchronize_rcu));
	/* Pinned: a dlclose() of the library must not unmap what we keep. */
	if (dladdr((void *)ops.synchronize, &info) && info.dli_fname)
		(void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
	urcu = ops;
	__atomic_store_n(&urcu_bound, true, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&urcu_bind_mutex);
	return urcu_bound;
}

/* Bound already?  (Fork hooks: they never bind.) */
static bool urcu_is_bound(void)
{
	return __atomic_load_n(&urcu_bound, __ATOMIC_ACQUIRE);
}
#else
static const struct urcu_ops urcu = {
	.synchronize = synchronize_rcu,
	.call_barrier = rcu_barrier,
	.read_ongoing = rcu_read_ongoing,
	.before_fork = call_rcu_before_fork,
	.after_fork_parent = call_rcu_after_fork_parent,
	.after_fork_child = call_rcu_after_fork_child,
};

static bool urcu_bind(void)
{
	return true;
}

static bool urcu_is_bound(void)
{
	return true;
}
#endif

#define RCU_TAG_SLAB (~0UL)

/* An rcu_head's two words while kmem holds it. */
struct rcu_item {
	struct rcu_item *next;
	unsigned long tag;	/* RCU_TAG_SLAB, or the rcu_head's offset */
};

BUILD_BUG_ON(sizeof(struct rcu_item) > sizeof(struct list_head));

bool kmem_urcu_fork_hooks = true;

static struct kmem_mutex rcu_mutex = KMEM_MUTEX_INIT(LOCK_RANK_RCU_QUEUE);
static pthread_cond_t rcu_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t rcu_done = PTHREAD_COND_INITIALIZER;
static pthread_cond_t gp_done = PTHREAD_COND_INITIALIZER;
static struct kmem_mutex worker_mutex = KMEM_MUTEX_INIT(LOCK_RANK_RCU_WORKER);
static struct rcu_item *queue_head, **queue_tail = &queue_head;
static struct rcu_item *inflight;		/* rcu_mutex: the worker's batch */
static unsigned long seq_queued, seq_done;	/* rcu_mutex */
static bool worker_running;			/* rcu_mutex */
static bool in_gp;				/* rcu_mutex: in synchronize_rcu */
static bool gp_lost;		/* no grace period can complete (fork child) */
static bool worker_ever;			/* kmem used RCU here */
static bool urcu_hooks_taken;			/* fork in progress */
static bool fork_in_gp;				/* fork caught in_gp */
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

		kmem_mutex_lock(&s->lock);
		s->nr_slabs--;
		s->nr_rcu_slabs--;
		s->slabs_freed++;
		cache_publish_locked(s);
		kmem_mutex_unlock(&s->lock);
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

		kmem_mutex_lock(&rcu_mutex);
		while (!queue_head)
			kmem_cond_wait(&rcu_work, &rcu_mutex);
		inflight = queue_head;
		queue_head = NULL;
		queue_tail = &queue_head;
		seq = seq_queued;
		in_gp = true;
		kmem_mutex_unlock(&rcu_mutex);

		/*
		 * No kmem lock held: fork() may happen meanwhile (file
		 * comment).  Without liburcu loaded there is no reader to wait
		 * for.
		 */
		if (urcu_bind())
			urcu.synchronize();

		kmem_mutex_lock(&rcu_mutex);
		in_gp = false;
		pthread_cond_broadcast(&gp_done);
		kmem_mutex_unlock(&rcu_mutex);

		kmem_mutex_lock(&worker_mutex);
		kmem_mutex_lock(&rcu_mutex);
		batch = inflight;
		inflight = NULL;
		kmem_mutex_unlock(&rcu_mutex);
		while (batch) {
			struct rcu_item *it = batch;

			batch = it->next;
			free_item(it);
		}
		/* The worker's page lists must not hold freed memory back. */
		if (kmem_tls_pcp)
			pcp_drain(kmem_tls_pcp);
		kmem_mutex_unlock(&worker_mutex);

		kmem_mutex_lock(&rcu_mutex);
		seq_done = seq;
		pthread_cond_broadcast(&rcu_done);
		kmem_mutex_unlock(&rcu_mutex);
	}
	return NULL;
}

/* Start the worker if there is none.  rcu_mutex held. */
static void worker_start_locked(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;

	if (worker_running || gp_lost)
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

/* Say once, when it first matters, that frees are kept (gp_lost). */
static void gp_lost_warn_locked(void)
{
	static bool warned;

	if (!gp_lost || warned)
		return;
	warned = true;
	kmem_printk("kmem: no RCU grace period can complete in this process (forked inside rcu_read_lock() while one was in progress): RCU-deferred frees are kept, not freed\n");
}

static void enqueue(struct rcu_item *it)
{
	it->next = NULL;
	kmem_mutex_lock(&rcu_mutex);
	gp_lost_warn_locked();
	*queue_tail = it;
	queue_tail = &it->next;
	seq_queued++;
	worker_start_locked();
	pthread_cond_signal(&rcu_work);
	kmem_mutex_unlock(&rcu_mutex);
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
 *
 * In a fork child where no grace period can complete (see the file
 * comment) the frees are kept for good: return at once.
 */
void slab_rcu_barrier(void)
{
	unsigned long target;

	kmem_mutex_lock(&rcu_mutex);
	target = seq_queued;
	if (seq_done < target) {
		gp_lost_warn_locked();
		worker_start_locked();
	}
	while (seq_done < target && !gp_lost)
		kmem_cond_wait(&rcu_done, &rcu_mutex);
	kmem_mutex_unlock(&rcu_mutex);
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
 * slab_rcu_call_barrier - liburcu's rcu_barrier(): wait for the program's
 * call_rcu() callbacks (they may free into a cache being destroyed)
 *
 * Without liburcu loaded there are none.  Context: no kmem lock held.
 */
void slab_rcu_call_barrier(void)
{
	if (urcu_bind())
		urcu.call_barrier();
}

/**
 * slab_rcu_fork_prepare - fork(): no batch being freed, no grace period
 * in progress unless the caller is a reader; liburcu's hooks
 */
void slab_rcu_fork_prepare(void)
{
	bool bound = urcu_is_bound();
	bool reader = bound && urcu.read_ongoing();

	urcu_hooks_taken = kmem_urcu_fork_hooks && !reader && bound &&
			   READ_ONCE(worker_ever);
	if (urcu_hooks_taken)
		urcu.before_fork();
	kmem_mutex_lock(&worker_mutex);
	kmem_mutex_lock(&rcu_mutex);
	/* The grace period may wait for us if we are a reader: then not. */
	while (in_gp && !reader)
		kmem_cond_wait(&gp_done, &rcu_mutex);
	fork_in_gp = in_gp;
}

/**
 * slab_rcu_fork_parent - release in the parent
 */
void slab_rcu_fork_parent(void)
{
	kmem_mutex_unlock(&rcu_mutex);
	kmem_mutex_unlock(&worker_mutex);
	if (urcu_hooks_taken)
		urcu.after_fork_parent();
}

/**
 * slab_rcu_fork_child - the child has no worker; queued items wait for one
 *
 * The worker's batch goes back to the head of the queue.  If the worker
 * was in a grace period, none can complete here any more: the child keeps
 * its deferred frees (file comment) and says so once.
 */
void slab_rcu_fork_child(void)
{
#ifdef KMEM_URCU_LAZY
	/* A thread of the parent may have been binding. */
	pthread_mutex_init(&urcu_bind_mutex, NULL);
#endif
	kmem_mutex_reinit(&rcu_mutex);
	kmem_mutex_reinit(&worker_mutex);
	pthread_cond_init(&rcu_work, NULL);
	pthread_cond_init(&rcu_done, NULL);
	pthread_cond_init(&gp_done, NULL);
	if (inflight) {
		struct rcu_item **tail = &inflight;

		while (*tail)
			tail = &(*tail)->next;
		*tail = queue_head;
		if (!queue_head)
			queue_tail = tail;
		queue_head = inflight;
		inflight = NULL;
	}
	if (fork_in_gp)
		gp_lost = true;
	in_gp = false;
	fork_in_gp = false;
	if (urcu_hooks_taken)
		urcu.after_fork_child();
	worker_running = false;
}

/**
 * slab_rcu_grace_period_lost - can grace periods complete in this process?
 *
 * Return: true in a fork child made inside a read-side section while the
 * worker was in a grace period (see the file comment).
 */
bool slab_rcu_grace_period_lost(void)
{
	return READ_ONCE(gp_lost);
}

/**
 * slab_rcu_in_grace_period - is the worker waiting for a grace period?
 *
 * For tests: a batch has been taken and synchronize_rcu() called (or
 * about to be).
 */
bool slab_rcu_in_grace_period(void)
{
	bool ret;

	kmem_mutex_lock(&rcu_mutex);
	ret = in_gp;
	kmem_mutex_unlock(&rcu_mutex);
	return ret;
}

static void slab_rcu_init(void)
{
	kmem_urcu_fork_hooks = kmem_config.urcu_fork_hooks;
}

/*
 * Its prepare hook waits for a grace period in progress, so it runs
 * before any other layer takes a lock (the lowest rank), and its child
 * hook last.
 */
KMEM_LAYER(slab_rcu_layer, "slab RCU", LAYER_SLAB, LOCK_RANK_RCU_WORKER,
	.init = slab_rcu_init, .fork_prepare = slab_rcu_fork_prepare,
	.fork_parent = slab_rcu_fork_parent, .fork_child = slab_rcu_fork_child);
