/* SPDX-License-Identifier: MIT */
/*
 * core/cpu.h - which CPU a thread runs on: Linux restartable sequences
 * (core/cpu.c).
 */
#ifndef KMEM_CORE_CPU_H
#define KMEM_CORE_CPU_H

#include <stdbool.h>
#include <stddef.h>

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

bool kmem_rseq_init(void);
bool kmem_rseq_fence(void);
int kmem_cpu_current(void);
bool kmem_cpus_online(unsigned long *mask, unsigned int nbits);

#pragma GCC visibility pop

#endif /* KMEM_CORE_CPU_H */
