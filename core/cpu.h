/* SPDX-License-Identifier: MIT */
/*
 * core/cpu.h - which CPU a thread runs on: Linux restartable sequences
 * (core/cpu.c).
 */
#ifndef KMEM_CORE_CPU_H
#define KMEM_CORE_CPU_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

#pragma GCC visibility push(hidden)

/*
 * CPU ids kmem keeps per-CPU state for: the slab layer's table of CPU
 * blocks has this many entries.  A machine with more possible CPUs runs
 * in the per-thread mode.
 */
#define KMEM_MAX_CPUS	1024

/* The x86 signature glibc registers; the 4 bytes before an abort handler. */
#define KMEM_RSEQ_SIG	0x53053053

extern ptrdiff_t kmem_rseq_offset;	/* thread pointer to struct rseq */
extern unsigned int kmem_nr_cpu_ids;	/* possible CPUs (highest id + 1) */

/*
 * kmem_rseq_offset_fast - kmem_rseq_offset on the per-CPU fast paths
 *
 * Racy on purpose, as the slot offset the same paths read (slot_fast()):
 * a thread can reach them while another is still in kmem_init(), past
 * the store of slab_percpu and so maybe before or after this offset's,
 * and read either value.  Either is safe: the section compares the CPU id
 * it reads with the thread's own hint, SLAB_CPU_NONE until the thread's
 * slow path sets it after kmem_ready() (whose acquire orders the offset's
 * store before), and no id read there is SLAB_CPU_NONE (offset 0 reads
 * the top half of the thread's own TCB pointer); so the section misses
 * and the slow path starts kmem.  ThreadSanitizer reported the plain read
 * (test_first_use_from_threads, tests/test_stress.c, in the tsan stage).
 */
static __always_inline ptrdiff_t kmem_rseq_offset_fast(void)
{
	return data_race_fast(kmem_rseq_offset);
}

bool kmem_rseq_init(void);
bool kmem_rseq_fence(void);
int kmem_cpu_current(void);
bool kmem_cpus_online(unsigned long *mask, unsigned int nbits);

#pragma GCC visibility pop

#endif /* KMEM_CORE_CPU_H */
