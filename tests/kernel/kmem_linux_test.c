// SPDX-License-Identifier: MIT
/*
 * tests/kernel/kmem_linux_test.c - the adapter's own test (kmem-selftest).
 *
 * kmem-selftest links only kmem_linux.o and kmem, not the kernel's code,
 * and runs before the kernel's suites, so that a broken adapter is told
 * apart from a failing suite:
 *
 *  - test_kmem_cache_bulk() twice (the second run finds the cache names
 *    of the first free again);
 *  - the harness's spinlock (harness/linux/spinlock.h, found first on the
 *    include path) must hold off an RCU grace period while it is held, as
 *    the kernel's does.  Without it, a synchronize_rcu() started while the
 *    lock is held returns before the lock is released, and this aborts.
 *    (Built with -DKMEM_NO_RCU_SPINLOCK, for --no-rcu-spinlock, it is
 *    skipped.)
 */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

#include <linux/spinlock.h>
#include <urcu.h>
#include <urcu/uatomic.h>

#include "kmem_linux.h"

#ifndef KMEM_NO_RCU_SPINLOCK
static DEFINE_SPINLOCK(kc_lock);
static int kc_sync_started, kc_sync_done, kc_released;

static void *kc_sync_thread(void *arg)
{
	(void)arg;
	rcu_register_thread();
	uatomic_set(&kc_sync_started, 1);
	synchronize_rcu();
	/* The lock holder is a reader: it must have let go first. */
	assert(uatomic_read(&kc_released));
	uatomic_set(&kc_sync_done, 1);
	rcu_unregister_thread();
	return NULL;
}

static double kc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Hold the lock while another thread waits for a grace period.  The hold
 * lasts 100 ms, or until the waiter returns (which, with the fix, it
 * cannot): long enough for a harness without the fix to be caught, and no
 * outcome depends on how long it lasts when the fix is there.
 */
static void test_spinlock_is_rcu_reader(void)
{
	double until;
	pthread_t t;

	spin_lock(&kc_lock);
	assert(!pthread_create(&t, NULL, kc_sync_thread, NULL));
	while (!uatomic_read(&kc_sync_started))
		sched_yield();
	until = kc_now() + 0.1;
	while (!uatomic_read(&kc_sync_done) && kc_now() < until)
		sched_yield();
	uatomic_set(&kc_released, 1);
	spin_unlock(&kc_lock);
	assert(!pthread_join(t, NULL));
	assert(uatomic_read(&kc_sync_done));
}
#endif

int main(void)
{
	rcu_register_thread();
	test_kmem_cache_bulk();
	test_kmem_cache_bulk();
	rcu_barrier();
#ifndef KMEM_NO_RCU_SPINLOCK
	test_spinlock_is_rcu_reader();
	printf("kmem_linux: spin_lock() holds off a grace period\n");
#else
	printf("kmem_linux: spin_lock() as an RCU reader not tested (--no-rcu-spinlock)\n");
#endif
	rcu_unregister_thread();
	printf("kmem_linux: adapter self-test passed\n");
	return 0;
}
