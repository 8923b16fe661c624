// SPDX-License-Identifier: MIT
/*
 * tests/preload/rcu_lazy.c - kmem's RCU through libkmem-malloc.so, which
 * does not link liburcu but finds it among the loaded libraries when RCU
 * is used (slab/rcu.c, "Binding to liburcu").
 *
 * Linked with libkmem-malloc.so, built twice:
 *
 * - without liburcu (rcu_lazy): no thread can be an RCU reader, so the
 *   deferred frees go as soon as the worker takes them.  kfree_rcu() and
 *   kvfree_rcu_barrier(), a SLAB_TYPESAFE_BY_RCU cache filled, emptied and
 *   destroyed, and the same in a fork child must all complete, and
 *   liburcu must never be mapped: kmem loads no library on its own.
 *
 * - with liburcu (rcu_lazy_urcu, -DWITH_URCU): kmem must bind to the
 *   program's liburcu and wait for its readers.  A reader thread enters
 *   rcu_read_lock() and stays inside while the main thread calls
 *   kfree_rcu() and another thread kvfree_rcu_barrier(); the barrier must
 *   not return before the reader leaves.  The reader watches for that
 *   for READER_HOLD_MS, then leaves (a kmem that did not wait returns at
 *   once, so it is caught long before; on a busy machine a late catch can
 *   only make the test pass wrongly, never fail wrongly), and the barrier
 *   must then return.  Then the cache test and a fork, as above (the
 *   fork runs liburcu's call_rcu hooks).
 *
 * - without liburcu, but with a plugin that links it, loaded with
 *   RTLD_LOCAL (rcu_lazy_plugin, -DWITH_PLUGIN, the plugin built from
 *   this file with -DRCU_PLUGIN): the plugin's liburcu is in no global
 *   scope, and kmem must still find it and wait for the reader, which
 *   runs in the plugin.
 * Prints "ok" and exits 0, or "FAIL: ..." and exits 1.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(WITH_URCU) || defined(RCU_PLUGIN)
#include <urcu.h>
#endif

#include <kmem/slab.h>

#define READER_HOLD_MS 300
#define CACHE_OBJS 2000

struct item {
	long value;
	struct {
		void *a, *b;
	} rcu;			/* the 16 bytes kfree_rcu() may use */
};

#ifndef RCU_PLUGIN
static int fail(const char *what)
{
	printf("FAIL: %s\n", what);
	exit(1);
}

/* Is a liburcu library mapped in this process? */
static bool urcu_mapped(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		fail("cannot read /proc/self/maps");
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/liburcu"))
			found = true;
	fclose(f);
	return found;
}

static void free_one_rcu(void)
{
	struct item *it = kmalloc(sizeof(*it), GFP_KERNEL);

	if (!it)
		fail("kmalloc");
	it->value = 1;
	kfree_rcu(it, rcu);
}

/* A SLAB_TYPESAFE_BY_RCU cache filled, emptied (its slabs wait for a
 * grace period) and destroyed. */
static void rcu_cache_round(void)
{
	static struct item *objs[CACHE_OBJS];
	struct kmem_cache *c = kmem_cache_create("rcu_lazy", sizeof(struct item),
						 0, SLAB_TYPESAFE_BY_RCU, NULL);

	if (!c)
		fail("kmem_cache_create(SLAB_TYPESAFE_BY_RCU)");
	for (int i = 0; i < CACHE_OBJS; i++)
		if (!(objs[i] = kmem_cache_alloc(c, GFP_KERNEL)))
			fail("kmem_cache_alloc");
	for (int i = 0; i < CACHE_OBJS; i++)
		kmem_cache_free(c, objs[i]);
	kmem_cache_shrink(c);
	kmem_cache_destroy(c);
}

/* The same in a fork child; the child's exit status says how it went. */
static void fork_round(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	if (!pid) {
		free_one_rcu();
		kvfree_rcu_barrier();
		rcu_cache_round();
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		fail("the fork child's RCU frees");
}
#endif /* !RCU_PLUGIN */

/* What the reader and the main thread tell each other. */
struct reader_flags {
	int in, queued, barrier_done, barrier_early;
};

void *rcu_lazy_reader(void *arg);

#if defined(WITH_URCU) || defined(RCU_PLUGIN)
static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * The reader thread: inside rcu_read_lock() until READER_HOLD_MS after
 * the free was queued, noting a barrier that returned meanwhile.
 * (Exported by the plugin build.)
 */
__attribute__((visibility("default"))) void *rcu_lazy_reader(void *arg)
{
	struct reader_flags *f = arg;
	long until;

	rcu_register_thread();
	rcu_read_lock();
	__atomic_store_n(&f->in, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&f->queued, __ATOMIC_ACQUIRE))
		sched_yield();
	until = now_ms() + READER_HOLD_MS;
	while (now_ms() < until)
		if (__atomic_load_n(&f->barrier_done, __ATOMIC_ACQUIRE))
			__atomic_store_n(&f->barrier_early, 1, __ATOMIC_RELEASE);
	rcu_read_unlock();
	rcu_unregister_thread();
	return NULL;
}
#endif

#ifndef RCU_PLUGIN
#if defined(WITH_URCU) || defined(WITH_PLUGIN)
static void *barrier_thread(void *arg)
{
	struct reader_flags *f = arg;

	kvfree_rcu_barrier();
	__atomic_store_n(&f->barrier_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void reader_round(void *(*reader)(void *))
{
	static struct reader_flags f;
	pthread_t r, b;

	if (pthread_create(&r, NULL, reader, &f))
		fail("pthread_create");
	while (!__atomic_load_n(&f.in, __ATOMIC_ACQUIRE))
		sched_yield();
	free_one_rcu();
	if (pthread_create(&b, NULL, barrier_thread, &f))
		fail("pthread_create");
	__atomic_store_n(&f.queued, 1, __ATOMIC_RELEASE);
	pthread_join(r, NULL);
	pthread_join(b, NULL);
	if (__atomic_load_n(&f.barrier_early, __ATOMIC_ACQUIRE))
		fail("kvfree_rcu_barrier() returned while a reader was inside rcu_read_lock(): kmem did not wait for that reader's liburcu");
}
#endif

int main(int argc, char **argv)
{
#if defined(WITH_URCU)
	(void)argc;
	(void)argv;
	if (!urcu_mapped())
		fail("liburcu is not mapped though the program links it");
	reader_round(rcu_lazy_reader);
#elif defined(WITH_PLUGIN)
	void *plugin;
	void *(*reader)(void *);

	if (argc != 2)
		fail("usage: rcu_lazy_plugin PLUGIN.so");
	if (urcu_mapped())
		fail("liburcu is mapped at start: libkmem-malloc.so brought it");
	plugin = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!plugin)
		fail(dlerror());
	reader = (void *(*)(void *))dlsym(plugin, "rcu_lazy_reader");
	if (!reader)
		fail("the plugin has no rcu_lazy_reader");
	if (!urcu_mapped())
		fail("the plugin did not bring liburcu");
	reader_round(reader);
#else
	(void)argc;
	(void)argv;
	if (urcu_mapped())
		fail("liburcu is mapped at start: libkmem-malloc.so brought it");
	free_one_rcu();
	kvfree_rcu_barrier();
#endif
	rcu_cache_round();
	fork_round();
#if !defined(WITH_URCU) && !defined(WITH_PLUGIN)
	if (urcu_mapped())
		fail("liburcu was loaded when RCU was used: kmem loads no library on its own");
#endif
	printf("ok\n");
	return 0;
}
#endif /* !RCU_PLUGIN */
