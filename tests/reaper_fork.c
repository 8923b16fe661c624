// SPDX-License-Identifier: MIT
/*
 * tests/reaper_fork.c - fork() right after the allocation that started
 * kmem's reaper thread: the child must not inherit the thread half-started.
 *
 * kmem starts its reaper thread from inside an allocation (the one that
 * takes the process past 1 MiB out of the page allocator, the second
 * section or a retained mapping), so a program that never creates a thread gets one at a moment
 * it does not choose, and may fork() right after that allocation
 * returns.  Creating a thread is not over when pthread_create() returns:
 * the new thread runs its start-up in the C library and in whatever
 * interposes pthread_create().  AddressSanitizer does (it registers the
 * thread under its thread-registry lock, and has no fork handler in
 * Debian 12's GCC): a fork() during that start-up left the lock held in
 * the child, whose leak check at exit then waited for ever
 * (tests/user's stats_print, about 1 run in 10 under ASan with KFENCE on).
 *
 * This program is such an interposer, made deterministic: its
 * pthread_create() marks a "start-up lock" held and runs the new thread
 * through a trampoline that keeps it held until the parent has forked (or
 * for one second: a slow start-up), with no fork handler, as ASan.  It
 * allocates until kmem creates its thread, forks at once, and the child
 * checks the mark.  Before the fix the allocation returned as soon as
 * pthread_create() had, the child saw the mark held and the test failed;
 * kmem now returns from that allocation only once the reaper is up
 * (buddy/release.c), so the child sees it released.
 *
 * Exit status 0 on success, 1 with a message.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kmem/kmem.h>

typedef int create_fn(pthread_t *, const pthread_attr_t *,
		      void *(*)(void *), void *);

static bool armed;		/* main thread only */
static int creations;		/* atomic: threads created while armed */
static int start_busy;		/* atomic: the interposer's start-up lock */
static int forked;		/* atomic: the parent has forked */

static struct {
	void *(*fn)(void *);
	void *arg;
} tramp;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The new thread's start-up, as a slow interposer runs it. */
static void *trampoline(void *arg)
{
	long end = now_ms() + 1000;
	struct timespec tick = { 0, 1000000 };

	(void)arg;
	while (!__atomic_load_n(&forked, __ATOMIC_ACQUIRE) && now_ms() < end)
		nanosleep(&tick, NULL);
	__atomic_store_n(&start_busy, 0, __ATOMIC_RELEASE);
	return tramp.fn(tramp.arg);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr,
		   void *(*fn)(void *), void *arg)
{
	static create_fn *real;

	if (!real)
		real = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
	if (!armed || __atomic_fetch_add(&creations, 1, __ATOMIC_RELAXED))
		return real(t, attr, fn, arg);
	tramp.fn = fn;
	tramp.arg = arg;
	__atomic_store_n(&start_busy, 1, __ATOMIC_RELEASE);
	return real(t, attr, trampoline, NULL);
}

static void after_fork_parent(void)
{
	__atomic_store_n(&forked, 1, __ATOMIC_RELEASE);
}

int main(void)
{
	static void *kept[128];
	int i, status;
	pid_t pid;

	pthread_atfork(NULL, after_fork_parent, NULL);
	armed = true;
	/*
	 * The reaper starts once the process has more than 1 MiB out of
	 * the page allocator (the second 1 MiB block here).
	 */
	for (i = 0; i < 128 && !__atomic_load_n(&creations, __ATOMIC_RELAXED);
	     i++)
		kept[i] = kmem_malloc(i % 2 ? 1 << 20 : 64);
	armed = false;
	if (!__atomic_load_n(&creations, __ATOMIC_RELAXED)) {
		fprintf(stderr, "reaper_fork: kmem started no thread in %d MiB of allocations\n",
			i);
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("reaper_fork: fork");
		return 1;
	}
	if (!pid)	/* nothing more: a thread started here kills TSan */
		_exit(__atomic_load_n(&start_busy, __ATOMIC_ACQUIRE) ? 3 : 0);
	if (waitpid(pid, &status, 0) != pid) {
		perror("reaper_fork: waitpid");
		return 1;
	}
	while (i--)
		kmem_free(kept[i]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		fprintf(stderr, "reaper_fork: the child was forked while kmem's reaper thread was still starting (the interposer's start-up lock held in the child)\n");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "reaper_fork: the child failed (status 0x%x)\n",
			status);
		return 1;
	}
	printf("reaper_fork: ok\n");
	return 0;
}
