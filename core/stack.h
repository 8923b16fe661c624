/* SPDX-License-Identifier: MIT */
/*
 * core/stack.h - call-chain capture for the profiler and KFENCE.
 *
 * See core/stack.c for what is safe where.
 */
#ifndef KMEM_CORE_STACK_H
#define KMEM_CORE_STACK_H

#include <stdbool.h>

#pragma GCC visibility push(hidden)

#define KMEM_STACK_MAX	32	/* frames kept by the profiler and KFENCE */

unsigned int kmem_stack_capture(unsigned long *pcs, unsigned int max,
				unsigned long from);
unsigned int kmem_stack_capture_slots(unsigned long *pcs,
				      unsigned long *slots, unsigned int max,
				      unsigned long from);
bool kmem_stack_capturing(void);

#pragma GCC visibility pop

#endif /* KMEM_CORE_STACK_H */
