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
 * 80 KiB of peak RSS in every process (performance.md, "The
 * malloc library without liburcu").  There kmem finds the six functions
 * it needs in the copies of liburcu the process has loaded, when it
 * needs them: before a grace period, in the worker, and before the
 * call_rcu barrier of kmem_cache_destroy() (urcu_bind()).  It looks in
 * the global scope (the program's own liburcu) and in every loaded object
 * named liburcu* (one that a plugin loaded with RTLD_LOCAL brought: its
 * readers are not the program's, so kmem waits for the grace periods of
 * every copy it finds, and runs the fork hooks of each).  A copy found is
 * kept, and its library pinned, so that a dlclose() cannot unmap what
 * kmem calls; the loader's list is walked again only when it has loaded
 * something since.  With no copy loaded no thread can be inside
 * rcu_read_lock() (a reader calls liburcu) and no call_rcu() callback can
 * be pending: the grace period and the barrier are complete as they
 * start, and kmem frees the batch at once.  A reader of a copy loaded
 * later cannot reach objects that were unpublished before it started:
 * that is the RCU contract.  kmem never loads liburcu itself.  One case
 * neither look finds: a liburcu linked statically into a plugin loaded
 * with RTLD_LOCAL.  Before, libkmem-malloc.so's own liburcu.so.8 in the
 * global scope interposed on such a copy's exported functions, so its
 * readers were kmem's; now they are not.  A plugin that uses kmem's RCU
 * links libkmem.so, which links liburcu (slab.md, "Finding liburcu").
 *
 * Lock order: the table in core/lock.h (worker_mutex, rcu_mutex: the
 * outermost two; liburcu's call_rcu lock before them, at fork only).
 * Items are queued with no other kmem lock held; synchronize_rcu() is
 * called with no kmem lock held.
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
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
/*
 * Every copy of liburcu found loaded, in the order found: a program has
 * one, but a plugin loaded with RTLD_LOCAL may bring its own, whose
 * readers the program's grace periods do not see.  kmem waits for all.
 */
#define URCU_MAX_COPIES	4
#define URCU_MAX_CANDIDATES 8

static struct urcu_ops urcu_copies[URCU_MAX_COPIES];
static unsigned int nr_urcu;		/* entries below are final (release) */
static unsigned long long urcu_scanned_adds = ~0ULL; /* bind mutex */
static pthread_mutex_t urcu_bind_mutex = PTHREAD_MUTEX_INITIALIZER;
static char urcu_candidates[URCU_MAX_CANDIDATES][256] __bss_cold; /* bind mutex */
static unsigned int nr_candidates;

#define URCU_NAME_(f)	#f
#define URCU_NAME(f)	URCU_NAME_(f)	/* the flavour's symbol for @f */

/* dl_iterate_phdr(): the loader's count of loads (first object only). */
static int urcu_adds(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(unsigned long long *)data = info->dlpi_adds;
	return 1;
}

/* dl_iterate_phdr(): note the objects whose file name says liburcu. */
static int urcu_note_candidate(struct dl_phdr_info *info, size_t size,
			       void *data)
{
	const char *name = info->dlpi_name, *base;

	(void)size;
	(void)data;
	if (!name || !*name)
		return 0;
	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (strncmp(base, "liburcu", 7) || strlen(name) >= 256 ||
	    nr_candidates == URCU_MAX_CANDIDATES)
		return 0;
	strcpy(urcu_candidates[nr_candidates++], name);
	return 0;
}

/*
 * Add the copy of liburcu that @h (a handle, or RTLD_DEFAULT) holds.
 * Return: true if it is new.
 */
static bool urcu_add_copy(void *h)
{
	struct urcu_ops ops;
	unsigned int i;

	ops.synchronize = (void (*)(void))dlsym(h, URCU_NAME(synchronize_rcu));
	if (!ops.synchronize)
		return false;
	for (i = 0; i < nr_urcu; i++)
		if (urcu_copies[i].synchronize == ops.synchronize)
			return false;
	ops.call_barrier = (void (*)(void))dlsym(h, URCU_NAME(rcu_barrier));
	ops.read_ongoing = (int (*)(void))dlsym(h, URCU_NAME(rcu_read_ongoing));
	ops.before_fork = (void (*)(void))dlsym(h,
					URCU_NAME(call_rcu_before_fork));
	ops.after_fork_parent = (void (*)(void))dlsym(h,
					URCU_NAME(call_rcu_after_fork_parent));
	ops.after_fork_child = (void (*)(void))dlsym(h,
					URCU_NAME(call_rcu_after_fork_child));
	if (!ops.call_barrier || !ops.read_ongoing || !ops.before_fork ||
	    !ops.after_fork_parent || !ops.after_fork_child)
		kmem_panic("kmem: a loaded liburcu lacks %s's companions (barrier, read_ongoing, the call_rcu fork hooks)\n",
			   URCU_NAME(synchronize_rcu));
	if (nr_urcu == URCU_MAX_COPIES)
		kmem_panic("kmem: more than %d copies of liburcu loaded: kmem cannot wait for the readers of all\n",
			   URCU_MAX_COPIES);
	urcu_copies[nr_urcu] = ops;
	__atomic_store_n(&nr_urcu, nr_urcu + 1, __ATOMIC_RELEASE);
	return true;
}

/*
 * urcu_bind - find the copies of liburcu loaded since the last look
 *
 * The global scope first (the program's own, or one loaded RTLD_GLOBAL),
 * then every loaded object named liburcu* (one a plugin brought with
 * RTLD_LOCAL).  Each copy found stays pinned: the dlopen(RTLD_NOLOAD)
 * reference is kept, so that a dlclose() cannot unmap what kmem calls.
 * A look is a walk of the loader's list, repeated only when it has
 * loaded something since.
 *
 * Context: no kmem lock held (dlsym() and dlopen() take the loader's
 * lock and may allocate); not from a fork hook.
 * Return: how many copies are bound (0: liburcu is not loaded).
 */
static unsigned int urcu_bind(void)
{
	unsigned long long adds = 0;

	dl_iterate_phdr(urcu_adds, &adds);
	pthread_mutex_lock(&urcu_bind_mutex);
	if (adds != urcu_scanned_adds) {
		urcu_scanned_adds = adds;
		if (urcu_add_copy(RTLD_DEFAULT)) {
			Dl_info info;

			/* Pinned through a handle of its library. */
			if (dladdr((void *)urcu_copies[nr_urcu - 1].synchronize,
				   &info) && info.dli_fname)
				(void)dlopen(info.dli_fname,
					     RTLD_LAZY | RTLD_NOLOAD);
		}
		nr_candidates = 0;
		dl_iterate_phdr(urcu_note_candidate, NULL);
		for (unsigned int i = 0; i < nr_candidates; i++) {
			void *h = dlopen(urcu_candidates[i],
					 RTLD_LAZY | RTLD_NOLOAD);

			/* Kept open when new: that is the pin. */
			if (h && !urcu_add_copy(h))
				dlclose(h);	/* known, or not the flavour */
		}
	}
	pthread_mutex_unlock(&urcu_bind_mutex);
	return __atomic_load_n(&nr_urcu, __ATOMIC_ACQUIRE);
}

/* The copies bound so far, without looking (fork hooks). */
static unsigned int urcu_bound(void)
{
	return __atomic_load_n(&nr_urcu, __ATOMIC_ACQUIRE);
}
#else
static const struct urcu_ops urcu_copies[1] = { {
	.synchronize = synchronize_rcu,
	.call_barrier = rcu_barrier,
	.read_ongoing = rcu_read_ongoing,
	.before_fork = call_rcu_before_fork,
	.after_fork_parent = call_rcu_after_fork_parent,
	.after_fork_child = call_rcu_after_fork_child,
} };

static unsigned int urcu_bind(void)
{
	return 1;
}

static unsigned int urcu_bound(void)
{
	return 1;
}
#endif

/* A grace period of every copy of liburcu (none loaded: no reader). */
static void urcu_synchronize(void)
{
	unsigned int n = urcu_bind();

	for (unsigned int i = 0; i < n; i++)
		urcu_copies[i].synchronize();
}

#define RCU_TAG_SLAB (~0UL)

/* An rcu_head's two words while kmem holds it. */
struct rcu_item {
	struct rcu_item *next;
	unsigned long tag;	/* RCU_TAG_SLAB, or the rcu_head's offset */
};

BUILD_BUG_ON(sizeof(struct rcu_item) > sizeof(struct list_head));

bool kmem_urcu_fork_hooks = true;

static struct kmem_mutex rcu_mutex = KMEM_MUTEX_INIT(LOCK_RANK_RCU_QUEUE);
static struct kmem_cond rcu_work;	/* rcu_mutex */
static struct kmem_cond rcu_done;	/* rcu_mutex */
static struct kmem_cond gp_done;	/* rcu_mutex */
static struct kmem_mutex worker_mutex = KMEM_MUTEX_INIT(LOCK_RANK_RCU_WORKER);
static struct rcu_item *queue_head, **queue_tail = &queue_head;
static struct rcu_item *inflight;		/* rcu_mutex: the worker's batch */
static unsigned long seq_queued, seq_done;	/* rcu_mutex */
static bool worker_running;			/* rcu_mutex */
static bool in_gp;				/* rcu_mutex: in synchronize_rcu */
static bool gp_lost;		/* no grace period can complete (fork child) */
static bool worker_ever;			/* kmem used RCU here */
static unsigned int urcu_hooked;		/* fork: copies whose hooks ran */
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
		urcu_synchronize();

		kmem_mutex_lock(&rcu_mutex);
		in_gp = false;
		kmem_cond_broadcast(&gp_done);
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
		kmem_cond_broadcast(&rcu_done);
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
	kmem_cond_signal(&rcu_work);
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
	unsigned int n = urcu_bind();

	for (unsigned int i = 0; i < n; i++)
		urcu_copies[i].call_barrier();
}

/**
 * slab_rcu_fork_prepare - fork(): no batch being freed, no grace period
 * in progress unless the caller is a reader; liburcu's hooks
 */
void slab_rcu_fork_prepare(void)
{
	unsigned int n = urcu_bound();
	bool reader = false;

	for (unsigned int i = 0; i < n; i++)
		reader = reader || urcu_copies[i].read_ongoing();
	urcu_hooked = kmem_urcu_fork_hooks && !reader &&
		      READ_ONCE(worker_ever) ? n : 0;
	for (unsigned int i = 0; i < urcu_hooked; i++)
		urcu_copies[i].before_fork();
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
	for (unsigned int i = urcu_hooked; i-- > 0;)
		urcu_copies[i].after_fork_parent();
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
	for (unsigned int i = urcu_hooked; i-- > 0;)
		urcu_copies[i].after_fork_child();
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
