// SPDX-License-Identifier: MIT
/*
 * tests/test_fork.c - fork() while kmem's background machinery is busy.
 *
 *   rcu   fork() inside rcu_read_lock() while the RCU worker waits for a
 *         grace period (that waits for the forking thread): fork returns,
 *         the parent frees the batch once the reader leaves, the child
 *         keeps its deferred frees and never hangs; fork() outside a
 *         read-side section waits for the grace period instead, and the
 *         child's RCU frees work.
 *
 * A fork that deadlocks must fail the test, not hang CI: each test arms
 * alarm() in the process that forks and in the child (SIGALRM ends
 * either with a failure Check reports).  Waits for background work poll
 * a state with a bound, never sleep a fixed time.
 */
#include "kmem_test.h"
#include <pthread.h>
#include <time.h>
#include <urcu.h>

#include "kmalloc/kmalloc.h"
#include "slab/slab.h"

#define DEADLOCK_SECONDS 60	/* far beyond a working fork, even loaded */

struct robj {
	long payload[2];
	struct rcu_head rcu;
};

static unsigned long inuse_of(const char *name)
{
	static struct kmem_slabinfo si[256];
	int n = kmem_slabinfo_snapshot(si, 256);

	for (int i = 0; i < n; i++)
		if (!strcmp(si[i].name, name))
			return si[i].inuse_objs;
	ck_abort_msg("no cache %s", name);
	return 0;
}

/* Bounded wait (DEADLOCK_SECONDS) for the worker to be in a grace period. */
static void wait_in_grace_period(void)
{
	struct timespec ts = { 0, 1000 * 1000 };
	time_t end = time(NULL) + DEADLOCK_SECONDS;

	while (!slab_rcu_in_grace_period()) {
		ck_assert_msg(time(NULL) < end,
			      "the RCU worker never started its grace period");
		nanosleep(&ts, NULL);
	}
}

static void queue_frees(struct robj **o, int n)
{
	for (int i = 0; i < n; i++)
		kfree_rcu(o[i], rcu);
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	return st;
}

/*
 * The forking thread is a reader; the worker's grace period waits for it.
 * Before the fix, fork()'s prepare handler waited for the worker, which
 * waited for the caller: a deadlock.
 */
START_TEST(test_fork_in_read_lock_mid_batch)
{
	struct robj *o[16];
	unsigned long before;
	pid_t pid;
	int st;

	alarm(DEADLOCK_SECONDS);
	for (int i = 0; i < 16; i++)
		o[i] = kmalloc(sizeof(struct robj), GFP_KERNEL);
	before = inuse_of("kmalloc-32");
	rcu_register_thread();
	rcu_read_lock();
	queue_frees(o, 16);
	wait_in_grace_period();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		struct robj *p;
		void *q[1000];
		struct kmem_cache *c;

		alarm(DEADLOCK_SECONDS);
		rcu_read_unlock();
		/* No grace period can end here: the frees are kept. */
		if (!slab_rcu_grace_period_lost())
			_exit(10);
		/* kmem works, slow paths (locks) included. */
		for (int i = 0; i < 1000; i++)
			q[i] = kmalloc(100, GFP_KERNEL);
		for (int i = 0; i < 1000; i++)
			kfree(q[i]);
		c = kmem_cache_create("fork_child", 200, 0, 0, NULL);
		if (!c)
			_exit(11);
		kmem_cache_free(c, kmem_cache_alloc(c, GFP_KERNEL));
		kmem_cache_destroy(c);
		p = kmalloc(sizeof(*p), GFP_KERNEL);
		kfree_rcu(p, rcu);
		kvfree_rcu_barrier();	/* returns: nothing to wait for */
		/* Not one of the 17 was freed while a reader might hold it. */
		if (inuse_of("kmalloc-32") < before + 1)
			_exit(12);
		_exit(buddy_validate() ? 13 : 0);
	}
	rcu_read_unlock();
	st = wait_child(pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "child status %#x", st);
	/* The parent's batch completes now that the reader has left. */
	kvfree_rcu_barrier();
	ck_assert_uint_eq(inuse_of("kmalloc-32"), before - 16);
	ck_assert(!slab_rcu_grace_period_lost());
	rcu_unregister_thread();
	alarm(0);
}
END_TEST

static int release_pipe[2], held_pipe[2], forked_pipe[2];

/*
 * Holds a read-side section until fork()'s prepare handlers let it go,
 * then waits, doing nothing, until the fork is over: a thread that went
 * on to unregister (liburcu's registry lock) or to exit (the C library's
 * or ASan's allocator) while the other forks could leave the child a
 * lock held by a thread it does not have, and hang it, which is not what
 * this test is about.  ASan's allocator has no fork handlers in GCC 12:
 * it hung the child 1 time in 33 in the asan stage, beside CPU burners.
 */
static void *reader_thread(void *arg)
{
	char c;

	(void)arg;
	rcu_register_thread();
	rcu_read_lock();
	ck_assert_int_eq(write(held_pipe[1], "h", 1), 1);
	ck_assert_int_eq(read(release_pipe[0], &c, 1), 1);
	rcu_read_unlock();
	ck_assert_int_eq(read(forked_pipe[0], &c, 1), 1);
	rcu_unregister_thread();
	return NULL;
}

/* Registered after kmem's: runs before kmem's prepare handler. */
static void release_reader(void)
{
	ck_assert_int_eq(write(release_pipe[1], "r", 1), 1);
}

/*
 * The forking thread is not a reader; another thread holds the grace
 * period, and lets it go from a prepare handler.  fork() waits for it to
 * end, so the child's liburcu is whole: its own grace periods work.
 */
START_TEST(test_fork_outside_read_lock_waits)
{
	struct robj *o[16];
	unsigned long before;
	pthread_t t;
	pid_t pid;
	char c;
	int st;

	alarm(DEADLOCK_SECONDS);
	ck_assert_int_eq(pipe(release_pipe), 0);
	ck_assert_int_eq(pipe(held_pipe), 0);
	ck_assert_int_eq(pipe(forked_pipe), 0);
	for (int i = 0; i < 16; i++)
		o[i] = kmalloc(sizeof(struct robj), GFP_KERNEL);
	before = inuse_of("kmalloc-32");
	pthread_create(&t, NULL, reader_thread, NULL);
	ck_assert_int_eq(read(held_pipe[0], &c, 1), 1);
	queue_frees(o, 16);
	wait_in_grace_period();
	pthread_atfork(release_reader, NULL, NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		struct robj *p;

		alarm(DEADLOCK_SECONDS);
		if (slab_rcu_grace_period_lost())
			_exit(10);
		p = kmalloc(sizeof(*p), GFP_KERNEL);
		kfree_rcu(p, rcu);
		/*
		 * A real grace period, in the child: the barrier returns
		 * only once the child's worker has freed everything queued
		 * (the parent's batch too, if fork() caught it unfreed).
		 */
		kvfree_rcu_barrier();
		_exit(buddy_validate() ? 12 : 0);
	}
	ck_assert_int_eq(write(forked_pipe[1], "f", 1), 1);
	st = wait_child(pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "child status %#x", st);
	pthread_join(t, NULL);
	kvfree_rcu_barrier();
	ck_assert_uint_eq(inuse_of("kmalloc-32"), before - 16);
	alarm(0);
}
END_TEST

/* A reader forks while no grace period is in progress: the child is whole. */
START_TEST(test_fork_in_read_lock_idle_worker)
{
	struct robj *o;
	pid_t pid;
	int st;

	alarm(DEADLOCK_SECONDS);
	o = kmalloc(sizeof(*o), GFP_KERNEL);
	kfree_rcu(o, rcu);
	kvfree_rcu_barrier();		/* the worker exists and is idle */
	rcu_register_thread();
	rcu_read_lock();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		unsigned long n;

		alarm(DEADLOCK_SECONDS);
		rcu_read_unlock();
		if (slab_rcu_grace_period_lost())
			_exit(10);
		o = kmalloc(sizeof(*o), GFP_KERNEL);
		n = inuse_of("kmalloc-32");
		kfree_rcu(o, rcu);
		kvfree_rcu_barrier();
		_exit(inuse_of("kmalloc-32") == n - 1 ? 0 : 11);
	}
	rcu_read_unlock();
	st = wait_child(pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "child status %#x", st);
	rcu_unregister_thread();
	alarm(0);
}
END_TEST

static Suite *fork_suite(void)
{
	Suite *s = suite_create("fork");
	TCase *tc = tcase_create("rcu");

	tcase_set_timeout(tc, 2 * DEADLOCK_SECONDS);
	tcase_add_test(tc, test_fork_in_read_lock_mid_batch);
	tcase_add_test(tc, test_fork_outside_read_lock_waits);
	tcase_add_test(tc, test_fork_in_read_lock_idle_worker);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(fork_suite());
}
