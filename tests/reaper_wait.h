/* SPDX-License-Identifier: MIT */
/*
 * tests/reaper_wait.h - wait for the reaper by a condition, not a time.
 *
 * A test that depends on the reaper (releases after KMEM_DECAY_MS, depot
 * trims) waits until the reaper says it has nothing left to do
 * (buddy_reaper_idle()); then the end state is final and may be asserted
 * exactly.  Not "a pass began after my deadline": the reaper may finish
 * before it (a block's clock, the zone's, can be a little behind) and
 * then never run again.  The wait is bounded (REAPER_WAIT_MS of the
 * machine's clock) so that a reaper that never gets there fails the test
 * instead of hanging it; on a loaded machine it simply takes longer.
 */
#ifndef KMEM_TEST_REAPER_WAIT_H
#define KMEM_TEST_REAPER_WAIT_H

#include <stdbool.h>
#include <time.h>

#include "buddy/buddy.h"

#define REAPER_WAIT_MS	60000

/* kmem_now_ms()'s clock, from the test's side. */
static inline unsigned long reaper_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (unsigned long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * reaper_settled - wait until the reaper has dealt with everything freed
 * before the call (buddy_reaper_idle(): asleep without a deadline, no
 * kick pending), polled every millisecond for at most REAPER_WAIT_MS
 * @r: its report then (or the last seen)
 *
 * Return: true if it did.
 */
static inline bool reaper_settled(struct reaper_report *r)
{
	struct timespec ms = { 0, 1000 * 1000 };
	unsigned long end = reaper_clock_ms() + REAPER_WAIT_MS;

	for (;;) {
		bool idle = buddy_reaper_idle();

		buddy_reaper_report(r);
		if (idle)
			return true;
		if (reaper_clock_ms() > end)
			return false;
		nanosleep(&ms, NULL);
	}
}

#endif /* KMEM_TEST_REAPER_WAIT_H */
