/* SPDX-License-Identifier: MIT */
/*
 * tests/release_clock.h - drive the release policy on the test's clock.
 *
 * A test of what the policy gives back (issue 14, item 3) sets the clock
 * the policy reads (buddy_set_clock(release_clock)), turns the reaper off
 * (kmem_config.background, before anything starts it) and runs the
 * passes itself at the times it chooses (buddy_release_expired(),
 * huge_cache_reap()): what is released then depends on the sequence of
 * calls alone, never on how the machine schedules the test.
 */
#ifndef KMEM_TEST_RELEASE_CLOCK_H
#define KMEM_TEST_RELEASE_CLOCK_H

#include <check.h>

#include "buddy/buddy.h"

static unsigned long release_clock_ms;	/* what the policy reads as now */

static inline unsigned long release_clock(void)
{
	return release_clock_ms;
}

/*
 * release_clock_start - the policy on the test's clock from @now (ms), the
 * reaper off, a decay time of @decay_ms (KMEM_DECAY_MS) and a peak window
 * of @decay_peak decay times (KMEM_DECAY_PEAK; 0: age alone decides)
 */
static inline void release_clock_start(unsigned long now,
				       unsigned long decay_ms,
				       unsigned long decay_peak)
{
	kmem_config.background = false;
	kmem_config.decay_ms = decay_ms;
	kmem_config.decay_peak = decay_peak;
	release_clock_ms = now;
	buddy_set_clock(release_clock);
}

/*
 * Activity: a take from the zone (order 9 is never on a thread's list),
 * which makes the process busy for the policy.
 */
static inline void release_busy_take(void)
{
	struct page *p = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER - 1);

	ck_assert_ptr_nonnull(p);
	__free_pages(p, MAX_PAGE_ORDER - 1);
}

#endif /* KMEM_TEST_RELEASE_CLOCK_H */
