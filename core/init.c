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
 * States (kmem_init_state): 0 none -> 1 running -> 2 done, and 3 while a
 * fork() happens before start-up.  The thread that runs start-up is
 * marked, so that a call back into kmem from inside start-up is
 * recognised (and served from a small static arena, see kmalloc/malloc.c)
 * instead of deadlocking; other threads wait for state 2 (or for 3 to
 * end, and then start it themselves).
 *
 * core/ names nothing of the layers above it: each layer (and core's own
 * thread registry and region) describes its start-up, fork and
 * republishing steps in a struct kmem_layer (KMEM_LAYER(), core/core.h),
 * which the linker gathers into the section kmem_layers, as the kernel's
 * initcalls.  This file runs them in an order that is data, not code:
 *
 *   start-up   configuration, the region, then the layers by level
 *              (core: thread registry; buddy, profiler; KFENCE's pool;
 *              slab: caches, RCU; kmalloc)
 *   locking    by each layer's lock rank (core/lock.h), so that fork()
 *              takes every lock in the one order the rank check enforces
 *   release,   the reverse
 *   child
 *
 * With the static library a layer whose code the program never calls is
 * not linked, and so not started: nothing of it exists to start.
 *
 * The fork handlers are registered by a constructor when the library is
 * loaded (or at the end of start-up, if that came first: then no other
 * thread can exist yet), so that a fork() racing with start-up in another
 * thread is handled too: the prepare handler waits for a start-up under
 * way to finish, or holds start-up off (state 3) until fork() is done;
 * a child never inherits a half-done start-up.
 *
 * Fork: the prepare handler takes every allocator lock in rank order
 * (the table in core/lock.h), so that no lock is held by a thread that
 * will not exist in the child, and does nothing else (no memfd, no
 * mapping, no copy).
 *
 * The parent releases them in reverse (first publishing its region anew
 * if the program closed or reused its descriptor: kmem_republish_locked).
 * The child first gives itself a published region of its own (before
 * anything writes to it), resets every lock, orphans the other threads'
 * per-thread caches and forgets the helper threads, which fork does not
 * copy; then it republishes every figure from its private state, which
 * is exact: the child has one thread.  What fork handlers that run after
 * kmem's prepare (those registered before kmem's) allocate is in that
 * private state, so the child's figures include it.
 */
#include <pthread.h>
#include <sched.h>

#include "core/core.h"

/*
 * In .data, whose page the loader writes anyway (relocations): the first
 * allocation reads it before start-up writes it, and on a .bss page
 * never written that read mapped the zero page, which start-up's first
 * write to the page faulted out again (performance.md, "Pages faulted
 * twice").
 */
int kmem_init_state __section_data;
static __thread bool tls_initialising __tls_ie;
static bool fork_registered;		/* atomic */
static bool fork_before_init;		/* fork() is serialised by libc */

/**
 * kmem_in_init - is the calling thread inside kmem's start-up?
 */
bool kmem_in_init(void)
{
	return tls_initialising;
}

/* ---- the layers' hooks ----------------------------------------------- */

extern const struct kmem_layer *const __start_kmem_layers[]
	__attribute__((weak, visibility("hidden")));
extern const struct kmem_layer *const __stop_kmem_layers[]
	__attribute__((weak, visibility("hidden")));

#define MAX_LAYERS 16

/*
 * The registered layers that have the hook at @off, sorted: by level then
 * rank for start-up, by rank for the rest.  Return: how many.
 */
static unsigned int layers_sorted(const struct kmem_layer **out, size_t off,
				  bool by_level)
{
	unsigned int n = 0;

	for (const struct kmem_layer *const *p = __start_kmem_layers;
	     p < __stop_kmem_layers; p++) {
		const struct kmem_layer *l = *p;
		unsigned int i;

		if (!*(void (*const *)(void))((const char *)l + off))
			continue;
		BUG_ON(n >= MAX_LAYERS);
		for (i = n; i > 0; i--) {
			const struct kmem_layer *o = out[i - 1];

			if (by_level ? (o->level < l->level ||
					(o->level == l->level && o->rank < l->rank))
				     : o->rank < l->rank)
				break;
			out[i] = o;
		}
		out[i] = l;
		n++;
	}
	return n;
}

/* Run every layer's hook at @off: ascending, or in reverse. */
static void layers_run(size_t off, bool by_level, bool reverse)
{
	const struct kmem_layer *l[MAX_LAYERS];
	unsigned int n = layers_sorted(l, off, by_level);

	for (unsigned int i = 0; i < n; i++) {
		const struct kmem_layer *x = l[reverse ? n - 1 - i : i];

		(*(void (*const *)(void))((const char *)x + off))();
	}
}

#define LAYERS_RUN(hook, by_level, reverse) \
	layers_run(offsetof(struct kmem_layer, hook), by_level, reverse)

/*
 * Two layers that take locks at fork must not share a rank, or their
 * order would be the linker's: checked once, at start-up.
 */
static void layers_check(void)
{
	const struct kmem_layer *l[MAX_LAYERS];
	unsigned int n = layers_sorted(l, offsetof(struct kmem_layer, lock),
				       false);

	for (unsigned int i = 1; i < n; i++)
		if (l[i]->rank == l[i - 1]->rank)
			kmem_panic("kmem: BUG: layers %s and %s lock at the same rank %u\n",
				   l[i - 1]->name, l[i]->name, l[i]->rank);
}

static void kmem_fork_register(void);

/* Every allocator lock, in rank order (fork, republishing). */
static void kmem_lock_all(void)
{
	LAYERS_RUN(lock, false, false);
}

static void kmem_unlock_all(void)
{
	LAYERS_RUN(unlock, false, true);
}

/*
 * kmem_republish_locked - write the whole published region anew
 * @fresh: on a new memfd (the program closed or reused our descriptor)
 *
 * Everything published is a copy of private state (core/region.c), so
 * each layer writes its part again: the header, the page allocator's
 * figures, the cache records, every thread's block.
 *
 * Context: kmem_lock_all() held (other threads may be running their fast
 * paths, which publish their own changes), or a fork child.
 */
static void kmem_republish_locked(bool fresh)
{
	kmem_region_republish_begin(fresh);
	LAYERS_RUN(republish, false, true);
	kmem_region_republish_end();
}

static void kmem_fork_prepare(void)
{
	int expected = 0;

	/* Hold start-up off, or let the one under way finish. */
	while (!__atomic_compare_exchange_n(&kmem_init_state, &expected, 3,
					    false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE)) {
		if (expected == 2)
			break;
		expected = 0;
		sched_yield();
	}
	fork_before_init = expected != 2;
	if (fork_before_init) {
		/* Other fork handlers' calls get the boot arena meanwhile. */
		tls_initialising = true;
		return;
	}
	LAYERS_RUN(fork_prepare, false, false);
	kmem_lock_all();
	kmem_tls_fork_window = true;	/* core/lock.h */
}

static void kmem_fork_parent(void)
{
	if (fork_before_init) {
		tls_initialising = false;
		__atomic_store_n(&kmem_init_state, 0, __ATOMIC_RELEASE);
		return;
	}
	kmem_tls_fork_window = false;
	if (kmem_region_lost())
		kmem_republish_locked(true);
	kmem_unlock_all();
	LAYERS_RUN(fork_parent, false, true);
}

static void kmem_fork_child(void)
{
	if (fork_before_init) {
		tls_initialising = false;
		__atomic_store_n(&kmem_init_state, 0, __ATOMIC_RELEASE);
		return;
	}
	kmem_tls_fork_window = false;
	kmem_gettid_reset();
	lock_rank_fork_child();
	LAYERS_RUN(fork_child, false, true);
	kmem_lock_all();
	kmem_republish_locked(false);
	kmem_unlock_all();
}
/**
 * kmem_stats_fd - the file descriptor of the published region
 *
 * If the program has closed the descriptor kmem published on (or the
 * number now refers to something else), the region is published anew on
 * a fresh high, close-on-exec number first.
 *
 * Context: any thread holding no kmem lock.
 * Return: the fd, or -1 when statistics are not published.
 */
int kmem_stats_fd(void)
{
	kmem_init();
	if (kmem_region_lost() && kmem_ready()) {
		kmem_lock_all();
		if (kmem_region_lost())
			kmem_republish_locked(true);
		kmem_unlock_all();
	}
	return kmem_region_fd();
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
	while (!__atomic_compare_exchange_n(&kmem_init_state, &expected, 1,
					    false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE)) {
		if (expected == 2)
			return;
		expected = 0;		/* running, or a fork: wait */
		sched_yield();
	}
	tls_initialising = true;
	kmem_config_parse();
	if (kmem_region_init(kmem_config.stats, kmem_config.stats_sock))
		kmem_panic("kmem: cannot map the statistics region: out of memory\n");
	layers_check();
	LAYERS_RUN(init, true, false);
	__atomic_store_n(&kmem_init_state, 2, __ATOMIC_RELEASE);
	tls_initialising = false;
	kmem_fork_register();
}

/*
 * kmem_fork_register - install the fork handlers, once.  Called when the
 * library is loaded, and at the end of start-up in case that ran first
 * (from the dynamic loader, before constructors).
 */
static void __attribute__((constructor)) kmem_fork_register(void)
{
	if (!__atomic_exchange_n(&fork_registered, true, __ATOMIC_ACQ_REL))
		pthread_atfork(kmem_fork_prepare, kmem_fork_parent,
			       kmem_fork_child);
}

/*
 * At exit: the layers' exit hooks (KMEM_STATS_PRINT's report,
 * kmalloc/stats.c; KMEM_PROFILE_AT_EXIT's, buddy/profile.c).  A destructor, not atexit(), so
 * that start-up registers nothing with the C library (atexit may
 * allocate); the library is finalised after the program and the
 * libraries loaded after it, so the figures are the last ones.
 */
static void __attribute__((destructor)) kmem_exit(void)
{
	if (__atomic_load_n(&kmem_init_state, __ATOMIC_ACQUIRE) == 2)
		LAYERS_RUN(exit, true, true);
}
