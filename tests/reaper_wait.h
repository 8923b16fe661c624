/* SPDX-License-Identifier: MIT */
/*
 * tests/reaper_wait.h - wait for the reaper by a condition, not a time.
 *
 * A test that depends on the reaper (releases after KMEM_DECAY_MS, depot
 * trims) waits for what the reaper reports of its own passes
 * (buddy_reaper_report(), the statistics region's reaper_* figures): a
 * pass that began at or after the deadline the test cares about, after
 * which the reaper has nothing planned.  Then the end state is final and
 * may be asserted exactly.  The wait is bounded (REAPER_WAIT_MS of the
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
 * reaper_settled - wait until the reaper has completed a pass that began
 * at or after @after_ms (reaper_clock_ms() time) and plans no other
 * (next_ms 0: nothing it knows of expires; it sleeps until a kick).
 * @r: the report seen last
 *
 * Return: true if it did within REAPER_WAIT_MS.
 */
static inline bool reaper_settled(unsigned long after_ms,
				  struct reaper_report *r)
{
	struct timespec ms = { 0, 1000 * 1000 };
	unsigned long end = reaper_clock_ms() + REAPER_WAIT_MS;

	for (;;) {
		buddy_reaper_report(r);
		if (r->passes && r->start_ms >= after_ms && !r->next_ms)
			return true;
		if (reaper_clock_ms() > end)
			return false;
		nanosleep(&ms, NULL);
	}
}

#endif /* KMEM_TEST_REAPER_WAIT_H */
