/* SPDX-License-Identifier: MIT */
/*
 * tests/kernel/harness/linux/spinlock.h - the kernel test harness's
 * spinlock, with the one property of the kernel's that the suites need and
 * the harness's lacks: holding it is an RCU read-side critical section.
 *
 * The harness (tools/include/linux/spinlock.h) makes spinlock_t a pthread
 * mutex.  In the kernel, spin_lock() disables preemption, and a region
 * with preemption disabled is an RCU reader: no grace period ends while a
 * CPU holds a spinlock, so memory freed with call_rcu() after the lock was
 * taken stays valid until it is released.  The XArray relies on that (a
 * node that xas_store() frees through call_rcu may still be walked by the
 * lock holder, and the same holds for anything a lock holder looked up
 * under RCU before taking the lock).  liburcu does not know the mutex, so on
 * the harness the node can be freed under the lock holder: Linux 6.12's
 * `main' fails with a use-after-free on the kernel's own stand-in.
 *
 * This header is found before the harness's (run-kernel-tests.sh puts its
 * directory first on the include path), includes it, and redefines the
 * lock and unlock macros so that every spin_lock*() also enters an RCU
 * read-side section (liburcu's default flavour, the suites' own) and every
 * spin_unlock*() leaves it after releasing the mutex.  Nothing else
 * changes: the mutex, its initialisers and the arch_spin_* functions are
 * the harness's.
 */
#ifndef KMEM_HARNESS_SPINLOCK_H
#define KMEM_HARNESS_SPINLOCK_H

#include_next <linux/spinlock.h>
#include <urcu.h>

#undef spin_lock
#undef spin_unlock
#undef spin_lock_bh
#undef spin_unlock_bh
#undef spin_lock_irq
#undef spin_unlock_irq
#undef spin_lock_irqsave
#undef spin_unlock_irqrestore

#define spin_lock(x)		(rcu_read_lock(), pthread_mutex_lock(x))
#define spin_unlock(x)		(pthread_mutex_unlock(x), rcu_read_unlock())
#define spin_lock_bh(x)		spin_lock(x)
#define spin_unlock_bh(x)	spin_unlock(x)
#define spin_lock_irq(x)	spin_lock(x)
#define spin_unlock_irq(x)	spin_unlock(x)
#define spin_lock_irqsave(x, f)	((void)(f), spin_lock(x))
#define spin_unlock_irqrestore(x, f) ((void)(f), spin_unlock(x))

#ifdef spin_lock_nested		/* 6.12; 6.1's harness has none */
#undef spin_lock_nested
#define spin_lock_nested(x, subclass) spin_lock(x)
#endif

#endif /* KMEM_HARNESS_SPINLOCK_H */
