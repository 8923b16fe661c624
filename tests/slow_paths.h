/* SPDX-License-Identifier: MIT */
/*
 * tests/slow_paths.h - count the magazine slow paths a test's calls take.
 *
 * Each slow path of a cache's allocation or free ticks its magazine
 * block's trim counter once (slab/magazine.c, gc_tick()).  Summed over
 * the calling thread's block and every CPU's, the count does not depend
 * on where the thread runs; a test compares it before and after a loop
 * of calls that should stay on the fast paths, with a margin for the
 * swaps a magazine needs now and then (never an exact figure: another
 * thread's slow paths count too).
 */
#ifndef KMEM_TEST_SLOW_PATHS_H
#define KMEM_TEST_SLOW_PATHS_H

#include "slab/slab.h"

static inline unsigned long slow_paths(void)
{
	unsigned long n = kmem_tls_slab ?
		__atomic_load_n(&kmem_tls_slab->gc_ticks, __ATOMIC_RELAXED) : 0;

	for (unsigned int cpu = 0; cpu < KMEM_MAX_CPUS; cpu++) {
		struct slab_thread *st = __atomic_load_n(&slab_cpu_table[cpu],
							 __ATOMIC_ACQUIRE);

		if (st)
			n += __atomic_load_n(&st->gc_ticks, __ATOMIC_RELAXED);
	}
	return n;
}

#endif /* KMEM_TEST_SLOW_PATHS_H */
