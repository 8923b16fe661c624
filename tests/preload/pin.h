/* SPDX-License-Identifier: MIT */
/*
 * tests/preload/pin.h - keep the calling process on the CPU it runs on.
 *
 * For the preload programs whose figures depend on where a thread's
 * memory lands: a thread that migrates while it allocates sets up a
 * second CPU's magazines and spreads its pages over more blocks.  Each
 * caller says why it pins.
 */
#ifndef KMEM_TESTS_PRELOAD_PIN_H
#define KMEM_TESTS_PRELOAD_PIN_H

#include <sched.h>

static inline void pin_to_this_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

#endif
