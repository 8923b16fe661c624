// SPDX-License-Identifier: MIT
/*
 * buddy/release.c - the release policy: free max-order blocks back to the OS
 * after KMEM_DECAY_MS (MADV_DONTNEED) beyond what the recent peak demand of
 * a busy process needs (KMEM_DECAY_PEAK; the huge cache asks it too),
 * wholly free sections unmapped, and the reaper thread that does it for an
 * idle process.
 *
 * Lock order: the table in core/lock.h.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "buddy/buddy.h"
#include "buddy/zone.h"


/* ------------------------------------------------------------------ */
/* Release to the OS                                                   */
/* ------------------------------------------------------------------ */

static struct kmem_section *pick_section_to_unmap(void)
{
	struct zone *z = &kmem_zone;
	struct kmem_section *sec;

	lock_assert_held(&z->lock);
	if (z->nr_free_sections <= kmem_config.retain_sections)
		return NULL;
	list_for_each_entry(sec, &z->sections, node) {
		bool all_released = true;

		if (sec->nr_free_max != MAX_BLOCKS_PER_SECTION)
			continue;
		/* Uncarved blocks were never touched: released already. */
		for (unsigned long i = 0;
		     i < (MAX_BLOCKS_PER_SECTION - sec->nr_uncarved) *
				 MAX_ORDER_NR_PAGES;
		     i += MAX_ORDER_NR_PAGES) {
			struct page *head = &sec->pages[i];

			if (head->type != PG_buddy ||
			    !(head->flags & PGF_released)) {
				all_released = false;
				break;
			}
		}
		if (all_released)
			return sec;
	}
	return NULL;
}

/* Take a wholly free, released section out of the zone. */
static void zone_remove_section(struct kmem_section *sec)
{
	struct zone *z = &kmem_zone;

	lock_assert_held(&z->lock);
	for (unsigned long i = 0;
	     i < (MAX_BLOCKS_PER_SECTION - sec->nr_uncarved) * MAX_ORDER_NR_PAGES;
	     i += MAX_ORDER_NR_PAGES)
		del_from_free_list(&sec->pages[i], MAX_PAGE_ORDER);
	zone_account_uncarved(sec, -1);
	list_del(&sec->node);
	WRITE_ONCE(z->nr_sections, z->nr_sections - 1);
	z->nr_free_sections--;
	z->managed_pages -= PAGES_PER_SECTION;
	publish_buddy_locked();
}

/* ------------------------------------------------------------------ */
/* What stays unused: the zone's recent peak demand                     */
/* ------------------------------------------------------------------ */

/*
 * Releasing a free max-order block costs a madvise now and, if the block
 * is needed again, the page faults of its 1024 pages (and their zeroing).
 * That is worth paying only for memory that stays unused.  Age alone says
 * little: a program whose demand swings between phases (an interpreter
 * building and dropping a working set) leaves blocks free for longer than
 * the decay time between peaks, and on a loaded machine its phases stretch
 * in wall time while the decay does not (bench's python released and
 * re-faulted 11-35% of its pages that way).  So the zone remembers its
 * demand, the max-order blocks in use (handed out whole or split), as the
 * highest value seen in each of the last KMEM_DECAY_PEAK decay times
 * (a ring of slots, one per decay time, written when threads take blocks
 * from the zone, and the same for the bytes of huge mappings in use,
 * written when they are made and freed), and while the process is busy it
 * keeps resident the free blocks (and kept mappings, huge_cache.c) that
 * the recent peaks needed above today's demand, as tcmalloc's
 * hugepage-aware allocator keeps what its recent peak demand needed.  A
 * slot's peak counts whole for the first half of the window and then less
 * and less along a straight line to nothing at its end (a decay curve, as
 * jemalloc's smoothstep is one): a surplus the program stopped needing
 * goes back a slice per decay time, not at once, and a phase that comes
 * back within the window finds its blocks resident.
 *
 * The rest of the policy is unchanged: no block is released before it
 * stayed free for the decay time; releases take the oldest first; and
 * the peak is a busy process's alone: once no thread has taken a block
 * from the zone for the decay time (an idle process, the one the reaper
 * exists for) it counts for nothing and every expired block goes, as
 * the guarantee in Documentation/buddy.md says.  KMEM_DECAY_PEAK=0 turns
 * the memory off (blocks go when they expire).
 */
static unsigned long (*release_clock)(void) = kmem_now_ms;

/**
 * buddy_set_clock - the clock of the release policy, for tests
 * @fn: returns milliseconds (kmem_now_ms() time); NULL: kmem_now_ms()
 *
 * Stamps, takes and release deadlines of the zone and of the huge cache
 * read it.  Only for tests, which then drive the policy themselves
 * (buddy_release_expired()) with KMEM_BACKGROUND off: the reaper sleeps
 * in kmem_now_ms() time.
 */
void buddy_set_clock(unsigned long (*fn)(void))
{
	WRITE_ONCE(release_clock, fn ? fn : kmem_now_ms);
}

/**
 * buddy_now_ms - now, in the release policy's clock (buddy_set_clock())
 */
unsigned long buddy_now_ms(void)
{
	return READ_ONCE(release_clock)();
}

/**
 * buddy_decay_released - max-order blocks released by the decay so far
 *
 * Not counting kmem_shrink_all()/malloc_trim().  For tests.
 */
unsigned long buddy_decay_released(void)
{
	unsigned long n;

	zone_lock();
	n = kmem_zone.nr_decay_released;
	zone_unlock_read();
	return n;
}

/* Max-order blocks in use (whole or split); blocks being released are free. */
static unsigned long zone_demand(void)
{
	struct zone *z = &kmem_zone;

	return z->nr_sections * MAX_BLOCKS_PER_SECTION -
	       z->free_area[MAX_PAGE_ORDER].nr_free;
}

/*
 * The slot of @now, for a thread's (not the reaper's) take, which makes
 * the process busy (@take), or free: records the zone's demand in it.
 * NULL when the memory is off.  Zone lock held.
 */
static struct peak_slot *peak_note(unsigned long now, bool take)
{
	unsigned long n = READ_ONCE(kmem_config.decay_peak);
	unsigned long decay = READ_ONCE(kmem_config.decay_ms);
	unsigned long epoch, d = zone_demand();
	struct peak_slot *s;

	lock_assert_held(&kmem_zone.lock);
	if (!n || !decay || tls_reaper)
		return NULL;
	if (take)
		WRITE_ONCE(kmem_zone.last_take_ms, now);
	epoch = now / decay + 1;
	s = &kmem_zone.peak[epoch % min(n, (unsigned long)KMEM_DECAY_PEAK_MAX)];
	if (s->epoch != epoch) {
		WRITE_ONCE(s->epoch, epoch);
		s->blocks = d;
		WRITE_ONCE(s->huge, 0);
	} else if (d > s->blocks) {
		s->blocks = d;
	}
	return s;
}

/**
 * release_note_take - a thread took blocks from the zone
 *
 * Records when (the process is busy) and the demand it reached in the
 * current decay time's slot.  Once per zone allocation or per-thread list
 * refill, not per block; the reaper's takes do not count.
 *
 * Context: zone lock held.
 */
void release_note_take(void)
{
	unsigned long now;

	if (tls_reaper)
		return;
	now = buddy_now_ms();
	WRITE_ONCE(zone_clock_ms, now);
	WRITE_ONCE(kmem_zone.last_take_ms, now);  /* busy: release_pieces() */
	peak_note(now, true);
}

/**
 * buddy_note_huge - a huge allocation is being made, or freed
 * @demand: bytes of huge mappings in use: once it is made (@take), or
 *          before it is freed (a mapping may have grown in place, with
 *          mremap, since it was made)
 * @take:   an allocation, which like a take from the zone makes the
 *          process busy
 * @now:    buddy_now_ms(), which the caller read for its own use too (one
 *          clock read a huge allocation or free)
 *
 * For the huge cache's keep (buddy_huge_keep()).
 *
 * Context: no zone lock held.
 */
void buddy_note_huge(unsigned long demand, bool take, unsigned long now)
{
	unsigned long n = READ_ONCE(kmem_config.decay_peak);
	unsigned long decay = READ_ONCE(kmem_config.decay_ms);
	unsigned long epoch;
	struct peak_slot *s;

	if (!n || !decay || tls_reaper)
		return;
	/*
	 * Nothing to note (a racy look, without the lock): this decay time's
	 * slot is current and holds @demand, and a take was noted in this
	 * millisecond already.  Its blocks need no look: the zone's demand
	 * grows only by takes, each noted (release_note_take()).  A huge
	 * block allocated and freed in a loop takes the zone lock once a
	 * millisecond, not twice a call.
	 */
	epoch = now / decay + 1;
	s = &kmem_zone.peak[epoch % min(n, (unsigned long)KMEM_DECAY_PEAK_MAX)];
	if (READ_ONCE(s->epoch) == epoch && READ_ONCE(s->huge) >= demand &&
	    (!take || READ_ONCE(kmem_zone.last_take_ms) == now))
		return;
	zone_lock();
	s = peak_note(now, take);
	if (s && demand > s->huge)
		WRITE_ONCE(s->huge, demand);
	zone_unlock_read();
}

/*
 * peak_keep - what the recent peak demand needs beyond @blocks and @huge
 * (today's demand of max-order blocks and of huge bytes) at @now
 * @keep_blocks, @keep_huge: set to the free max-order blocks and the
 *	cached huge bytes to keep resident
 *
 * The most, over the slots of the last KMEM_DECAY_PEAK decay times, of
 * (slot's peak - today's demand) x its weight: 1 up to half the window's
 * age, then falling linearly to 0 at its end.  Nothing when the process is
 * idle (no take for the decay time).
 *
 * Return: when the answer may fall (the next slot, or the moment the
 * process turns idle), or 0 if nothing is kept.
 */
static unsigned long peak_keep(unsigned long now, unsigned long blocks,
			       unsigned long huge, unsigned long *keep_blocks,
			       unsigned long *keep_huge)
{
	unsigned long n = READ_ONCE(kmem_config.decay_peak);
	unsigned long decay = READ_ONCE(kmem_config.decay_ms);
	struct zone *z = &kmem_zone;
	unsigned long epoch;

	lock_assert_held(&z->lock);
	*keep_blocks = *keep_huge = 0;
	if (!n || !decay || !z->last_take_ms || now >= z->last_take_ms + decay)
		return 0;
	n = min(n, (unsigned long)KMEM_DECAY_PEAK_MAX);
	epoch = now / decay + 1;
	for (unsigned long i = 0; i < n; i++) {
		const struct peak_slot *s = &z->peak[i];
		unsigned long age, kb, kh;

		if (!s->epoch || s->epoch > epoch || epoch - s->epoch >= n)
			continue;
		age = epoch - s->epoch;
		kb = s->blocks > blocks ? s->blocks - blocks : 0;
		kh = s->huge > huge ? s->huge - huge : 0;
		/* Weight min(1, 2 (n - age) / n), rounded up. */
		if (2 * (n - age) < n) {
			kb = DIV_ROUND_UP(kb * 2 * (n - age), n);
			kh = DIV_ROUND_UP(kh / PAGE_SIZE * 2 * (n - age), n) *
			     PAGE_SIZE;
		}
		*keep_blocks = max(*keep_blocks, kb);
		*keep_huge = max(*keep_huge, kh);
	}
	if (!*keep_blocks && !*keep_huge)
		return 0;
	return min(epoch * decay, z->last_take_ms + decay);
}

/**
 * buddy_huge_keep - cached huge bytes the recent peak demand needs
 * @now:  buddy_now_ms() time
 * @live: bytes of huge mappings in use now
 * @next: set to when the answer may fall, or 0 when it is 0
 *
 * Context: no zone lock held.
 */
unsigned long buddy_huge_keep(unsigned long now, unsigned long live,
			      unsigned long *next)
{
	unsigned long kb, kh;

	zone_lock();
	*next = peak_keep(now, zone_demand(), live, &kb, &kh);
	zone_unlock_read();
	if (!kh)
		*next = 0;
	return kh;
}

/*
 * Pieces.  A max-order block that is split (a few slab pages, a large
 * block, a thread's page list still in it) never goes back whole, and its
 * free pieces would stay resident however long they are unused: an idle
 * process whose last pages were spread over several blocks kept up to
 * 16 MiB that way (buddy.md, "Pieces of split blocks").  Once the process
 * is idle - no thread took from the zone, or freed a piece into it, for
 * the decay time (so every piece has been free that long) - and at every
 * shrink, the free pieces of RELEASE_PIECE_ORDER and up are given
 * back one by one (zone_release_piece()), the largest first, unless
 * mallopt(M_TRIM_THRESHOLD) asked to keep free memory.  Never in a
 * busy process: a piece free there now is likely taken again soon, and
 * giving it back would cost its faults for nothing (what the peak demand
 * keeps for whole blocks, "What stays unused" above, is the same idea).
 *
 * release_pieces - give back the free pieces if the process is idle at
 * @now, or @all of them (a shrink)
 * @due: set to when the process turns idle if resident pieces wait for
 *       it, else left alone
 *
 * Context: zone lock held (dropped and retaken between pieces).
 * Return: the pages released.
 */
static unsigned long release_pieces(unsigned long now, bool all,
				    unsigned long *due)
{
	unsigned long decay = READ_ONCE(kmem_config.decay_ms), n = 0;
	struct zone *z = &kmem_zone;
	unsigned long busy;
	unsigned int order;

	lock_assert_held(&z->lock);
	/* mallopt(M_TRIM_THRESHOLD) asked to keep free memory: the pieces. */
	if (!all && READ_ONCE(buddy_config.keep_resident))
		return 0;
	for (;;) {
		order = zone_resident_piece();
		if (!order)
			return n;
		busy = max(z->last_take_ms, z->last_piece_free_ms);
		if (!all && busy && now < busy + decay) {
			*due = busy + decay;
			return n;
		}
		n += zone_release_piece(order);
		zone_unlock();
		zone_lock();
	}
}

/*
 * release_blocks - give back resident max-order blocks to the OS
 * @now:  current time (ms); blocks freed before now - decay_ms may go
 * @all:  ignore the delay, the peak and buddy_config.keep_resident (shrink)
 * @wait: wait for a release in progress in another thread (else return)
 * @next: set to when the policy should look again, or 0
 *
 * Without @all, the oldest resident blocks whose delay is over go, down
 * to the larger of what the recent peak demand needs (peak_keep()) and
 * mallopt(M_TRIM_THRESHOLD)'s amount; and before them, whatever their
 * delay and the peak, the @force oldest (buddy_release_for_huge()), down
 * to mallopt's amount only.  The blocks are taken off the
 * lists (still counted free) while madvise runs without the zone lock,
 * then put on the released list.  Afterwards wholly released sections
 * beyond the retained amount are unmapped.
 *
 * Context: zone lock not held; may sleep on zone_os_lock if @wait.
 * Return: the number of blocks released.
 */
static unsigned long __release_blocks(unsigned long now, bool all,
				      bool wait, unsigned long force,
				      unsigned long *next)
{
	struct zone *z = &kmem_zone;
	struct list_head *top = &z->free_area[MAX_PAGE_ORDER].free_list;
	unsigned long n = 0, due = 0, peak_due = 0, keep_peak = 0;
	unsigned long piece_due = 0, forced = 0;
	bool kept_trim = false, kept_peak = false;
	LIST_HEAD(batch);
	struct page *page, *tmp;
	unsigned long keep = READ_ONCE(buddy_config.keep_resident) >>
			     (PAGE_SHIFT + MAX_PAGE_ORDER);

	if (!wait) {
		if (!kmem_mutex_trylock(&zone_os_lock))
			return 0;	/* another thread is releasing */
	} else {
		kmem_mutex_lock(&zone_os_lock);
	}
	zone_lock();
	if (!all) {
		unsigned long kh;

		peak_due = peak_keep(now, zone_demand(), ULONG_MAX, &keep_peak,
				     &kh);
	}
	while (!list_empty(top)) {
		page = list_last_entry(top, struct page, lru);
		if (force && nr_decay_pending > keep) {
			force--;
			forced++;
			goto take;
		}
		if (!all && page->freed_at + kmem_config.decay_ms > now)
			break;
		/*
		 * What the recent peak needs stays until it falls; what
		 * mallopt(M_TRIM_THRESHOLD) keeps stays with no deadline (the
		 * next block freed sets one, and the oldest go then).
		 */
		if (!all && nr_decay_pending <= max(keep, keep_peak)) {
			kept_peak = keep_peak > keep;
			kept_trim = !kept_peak;
			break;
		}
take:
		list_move(&page->lru, &batch);
		nr_decay_pending--;
		nr_releasing++;
		n++;
	}
	if (!all)
		kmem_zone.nr_decay_released += n - forced;
	zone_unlock();

	list_for_each_entry(page, &batch, lru)
		kmem_os_release((void *)page_to_addr(page),
				MAX_ORDER_NR_PAGES << PAGE_SHIFT);

	zone_lock();
	list_for_each_entry_safe(page, tmp, &batch, lru) {
		list_del(&page->lru);
		nr_releasing--;
		page->flags = (page->flags & (unsigned char)~PGF_resident) |
			      PGF_released | PGF_zeroed;
		list_add_tail(&page->lru, &z->released);
		z->nr_released++;
	}
	release_pieces(now, all, &piece_due);
	for (;;) {
		struct kmem_section *sec = pick_section_to_unmap();

		if (!sec)
			break;
		zone_remove_section(sec);
		zone_unlock();
		section_destroy_buddy(sec);
		zone_lock();
	}
	/*
	 * The next deadline, from the list as it is now (blocks may have
	 * been freed while the lock was dropped): when the peak may fall
	 * (which comes before any resident block expires), or when the
	 * oldest block expires.
	 */
	if (kept_peak)
		due = peak_due;
	else if (!kept_trim && !list_empty(top))
		due = list_last_entry(top, struct page, lru)->freed_at +
		      kmem_config.decay_ms;
	if (next)
		*next = due && (!piece_due || due < piece_due) ? due : piece_due;
	WRITE_ONCE(z->next_decay_ms, due);
	publish_buddy_locked();
	zone_unlock();
	kmem_mutex_unlock(&zone_os_lock);
	return n;
}

unsigned long release_blocks(unsigned long now, bool all, bool wait,
			     unsigned long *next)
{
	return __release_blocks(now, all, wait, 0, next);
}

/**
 * buddy_release_for_huge - a huge block took @bytes of pages new to the
 * process: give back as many bytes of the zone's resident free max-order
 * blocks now
 * @bytes: the bytes the huge block will fault in
 *
 * A program whose demand moves from blocks of the zone to huge blocks
 * (a 2.5 MB block freed, a 5 MB one allocated) would otherwise hold both:
 * the zone's free block, resident until its decay time, and the huge
 * block's new pages.  The zone's oldest resident free blocks go instead,
 * whole ones only, at most @bytes of them (rounded down) and never below
 * what mallopt(M_TRIM_THRESHOLD) keeps, so that the resident set stays
 * level; the huge block's own faults bound what the zone may fault in
 * again for them.  The calling thread's big block, if it has one, joins
 * them first (it is the newest, so it goes last).  Nothing waits: if
 * another thread is releasing, this one does not.
 *
 * Context: no kmem lock held.
 * Return: the number of blocks released.
 */
unsigned long buddy_release_for_huge(size_t bytes)
{
	unsigned long n = bytes >> (PAGE_SHIFT + MAX_PAGE_ORDER);

	if (!n)
		return 0;
	/* The thread's big block first: its demand moved (buddy/pcp.c). */
	if (kmem_tls_pcp)
		pcp_big_give(kmem_tls_pcp);
	return __release_blocks(buddy_now_ms(), false, false, n, NULL);
}

/**
 * buddy_release_expired - release max-order blocks whose delay is over
 * @now_ms: current kmem_now_ms()
 *
 * Return: when the next resident block expires (ms), or 0 if none waits.
 */
unsigned long buddy_release_expired(unsigned long now_ms)
{
	unsigned long next;

	release_blocks(now_ms, false, true, &next);
	return next;
}

/**
 * buddy_release_all - release every free max-order block now
 *
 * Also unmaps wholly free sections beyond the retained amount.
 */
void buddy_release_all(void)
{
	release_blocks(0, true, true, NULL);
}

/* ------------------------------------------------------------------ */
/* The reaper: releases memory of idle processes                        */
/* ------------------------------------------------------------------ */

/*
 * The reaper sleeps on reaper_cond (CLOCK_MONOTONIC, so that setting the
 * wall clock neither delays nor hastens a release) until the earliest
 * deadline any pass reported, or without one when nothing waits.
 *
 * A kick says "a block or magazine that will expire at @due appeared".
 * No kick may be lost, whatever the reaper is doing:
 *  - asleep with a deadline at or before @due: nothing to do, it will
 *    see the new work when it wakes;
 *  - asleep without a deadline, or a later one: signal it;
 *  - awake (running a pass that may have looked at the zone before the
 *    new work appeared): lower reaper_kick_due to @due, which the reaper
 *    reads after publishing that it is about to sleep, and sleeps no
 *    later than.
 * The kicker writes reaper_kick_due then reads reaper_wait; the reaper
 * writes reaper_wait then reads reaper_kick_due (both sequentially
 * consistent): at least one of them sees the other's write.  A kicker
 * that sees the reaper asleep signals under reaper_mutex, which the
 * reaper holds from its test until kmem_cond_timedwait() releases it.
 *
 * A kick while awake is a deadline, not a pass: until session 28 it was a
 * flag that made the reaper skip its sleep and pass again at once, so a
 * program that kicked faster than a pass ran (a huge or 3 MB block freed
 * every 1.5 us; a pass reads /sys for the online CPUs and locks every
 * cache) kept it passing without end, about 90,000 passes a second:
 * test_reaper_kicks_do_not_spin.
 */
#define REAPER_AWAKE	0UL		/* reaper_wait: running a pass */
#define REAPER_NO_DEADLINE ULONG_MAX	/* reaper_wait: asleep, no deadline */
/*
 * Pages out of the zone past which the reaper starts: 1 MiB.  A small
 * program stays under it (ls -l of 300 files: 128 pages).  Not higher:
 * started once the zone had carved a second max-order block (4 MiB), it
 * left one free block resident in an idle process that had used 20 MiB
 * (13.1 MB against 9.0 MB; not understood yet, performance.md).
 */
#define REAPER_START_PAGES 256UL

static struct kmem_mutex reaper_mutex = KMEM_MUTEX_INIT(LOCK_RANK_REAPER);
/*
 * Held across each pass.  Guards no data: buddy_validate() takes it so
 * that its walk of every page never meets a slab that the pass's depot
 * trim is giving back (its pages are retyped without the zone lock).
 */
struct kmem_mutex reaper_pass_lock = KMEM_MUTEX_INIT(LOCK_RANK_REAPER_PASS);
static struct kmem_cond reaper_cond;	/* reaper_mutex; waits: CLOCK_MONOTONIC */
static bool reaper_stopped;	/* reaper_pass_lock: the process exits */
static bool reaper_started;	/* reaper_mutex */
static bool reaper_up;		/* reaper_mutex: past its start-up */
static struct kmem_cond reaper_up_cond;	/* reaper_start() waits on it */
static unsigned long reaper_wait;	/* reaper_mutex; atomic reads */
static unsigned long reaper_kick_due;	/* atomic: earliest kick while awake */
static void (*reaper_hooks[8])(unsigned long now_ms, unsigned long *next);
static unsigned int nr_reaper_hooks;

/**
 * buddy_reaper_add_hook - run @fn on every reaper pass
 * @fn: gets the time and lowers *next to when it wants to run again (ms,
 *      0: no wish).  Pages it frees are cold: they stayed unused for the
 *      decay time in the caller's layer, so the zone releases the
 *      max-order blocks they complete in the same pass (see
 *      buddy_free_is_cold()).  When it later has new work that expires at
 *      some time it calls buddy_reaper_kick().
 *
 * Context: start-up only (before any thread could run the reaper).
 */
void buddy_reaper_add_hook(void (*fn)(unsigned long now_ms,
				      unsigned long *next))
{
	BUG_ON(nr_reaper_hooks >= ARRAY_SIZE(reaper_hooks));
	reaper_hooks[nr_reaper_hooks++] = fn;
}

/*
 * One pass: the hooks, then the zone's expired blocks.  @due_slept is the
 * deadline the reaper slept toward (0: none).  The pass is published as
 * it begins (struct reaper_report, next_ms REAPER_IN_PASS) and again with
 * its next deadline once it is complete.
 */
static void reaper_pass(unsigned long due_slept, unsigned long *next)
{
	unsigned long now = buddy_now_ms(), due;
	struct zone *z = &kmem_zone;

	zone_lock();
	z->reaper.passes++;
	z->reaper.start_ms = now;
	z->reaper.due_ms = due_slept;
	z->reaper.next_ms = REAPER_IN_PASS;
	publish_buddy_locked();
	zone_unlock();
	WRITE_ONCE(zone_clock_ms, now);
	*next = 0;
	/*
	 * Hooks first: the slabs they give back complete max-order blocks,
	 * which the release below then sees (computing the deadline before
	 * the hooks left such blocks waiting with no deadline at all).
	 */
	for (unsigned int i = 0; i < nr_reaper_hooks; i++)
		reaper_hooks[i](now, next);
	due = buddy_release_expired(now);
	if (due && (!*next || due < *next))
		*next = due;
	zone_lock();
	z->reaper.next_ms = *next;
	publish_buddy_locked();
	zone_unlock();
}

/**
 * buddy_reaper_report - what the reaper's latest pass did
 * @r: filled in (all 0 before the first pass, or without a reaper)
 *
 * The same figures as the statistics region's reaper_* (stats.h).  A
 * test that waits for the reaper polls this, with a bound, for a pass
 * that began after the deadline it cares about.
 */
void buddy_reaper_report(struct reaper_report *r)
{
	kmem_init();
	zone_lock();
	*r = kmem_zone.reaper;
	zone_unlock_read();
}

/**
 * buddy_reaper_idle - has the reaper done everything it knows of?
 *
 * True when the reaper runs, sleeps without a deadline (nothing it knows
 * of expires) and no kick came since its last pass began: every block and
 * magazine freed before the call has been dealt with (released, or kept
 * for M_TRIM_THRESHOLD).  What a test waits for, polled with a bound,
 * before it asserts the figures the reaper leaves.  Every free that gives
 * the reaper work kicks it or finds it asleep with an earlier deadline,
 * so it cannot look idle with work pending.
 *
 * Context: no kmem lock held.
 */
bool buddy_reaper_idle(void)
{
	bool idle;

	if (!READ_ONCE(reaper_started))
		return false;
	kmem_mutex_lock(&reaper_mutex);
	idle = __atomic_load_n(&reaper_wait, __ATOMIC_SEQ_CST) ==
		       REAPER_NO_DEADLINE &&
	       !__atomic_load_n(&reaper_kick_due, __ATOMIC_SEQ_CST);
	kmem_mutex_unlock(&reaper_mutex);
	return idle;
}

/*
 * Sleep until @next (kmem_now_ms() time, 0: none), or the earliest
 * deadline kicked while the pass ran, or a kick that comes earlier.
 * Return: the deadline it slept toward (0: none).
 */
static unsigned long reaper_sleep(unsigned long next)
{
	unsigned long kicked;
	struct timespec ts;

	kmem_mutex_lock(&reaper_mutex);
	__atomic_store_n(&reaper_wait, next ? next : REAPER_NO_DEADLINE,
			 __ATOMIC_SEQ_CST);
	kicked = __atomic_load_n(&reaper_kick_due, __ATOMIC_SEQ_CST);
	if (kicked && (!next || kicked < next)) {
		next = kicked;
		__atomic_store_n(&reaper_wait, next, __ATOMIC_SEQ_CST);
	}
	if (!next) {
		kmem_cond_wait(&reaper_cond, &reaper_mutex);
	} else {
		unsigned long now = kmem_now_ms();
		unsigned long wait = next > now ? next - now : 0;

		/*
		 * kmem_now_ms() is CLOCK_MONOTONIC_COARSE, at most a
		 * tick behind CLOCK_MONOTONIC: wake one ms late
		 * rather than early.
		 */
		kmem_clock_gettime(CLOCK_MONOTONIC, &ts);
		wait++;
		ts.tv_sec += (time_t)(wait / 1000);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		kmem_cond_timedwait(&reaper_cond, &reaper_mutex,
				       &ts);
	}
	__atomic_store_n(&reaper_wait, REAPER_AWAKE, __ATOMIC_SEQ_CST);
	kmem_mutex_unlock(&reaper_mutex);
	return next;
}

static void *reaper_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "kmem-reaper", 0, 0, 0);
	tls_reaper = true;
	/* Started: the thread that created us may return (reaper_start()). */
	kmem_mutex_lock(&reaper_mutex);
	reaper_up = true;
	kmem_cond_broadcast(&reaper_up_cond);
	kmem_mutex_unlock(&reaper_mutex);
	for (unsigned long due = 0;;) {
		unsigned long next;

		/* Kicks from now on may concern what this pass misses. */
		__atomic_store_n(&reaper_kick_due, 0, __ATOMIC_SEQ_CST);
		kmem_mutex_lock(&reaper_pass_lock);
		next = 0;
		if (likely(!reaper_stopped))
			reaper_pass(due, &next);
		kmem_mutex_unlock(&reaper_pass_lock);
		due = reaper_sleep(next);
	}
	return NULL;
}

/*
 * Waiting for the new thread to be up (reaper_main() past its name):
 * creating a thread is not over when pthread_create() returns.  The new
 * thread still runs its start-up in the C library and in whatever
 * interposes pthread_create() (AddressSanitizer registers the thread
 * under its thread-registry lock; prctl(PR_SET_NAME) takes it again),
 * and a fork() meanwhile copies that half-started state into the child,
 * which no fork handler of kmem's can repair: ASan's lock stayed held in
 * the child and its leak check at exit waited for it forever.  The
 * program never asked for this thread, so kmem must not let it be
 * half-started at any moment the program may fork: the allocation that
 * starts it returns only once it is up.  (A wait in kmem's fork handler
 * instead would deadlock under ThreadSanitizer, whose fork() holds its
 * thread registry, which the new thread needs, before any handler runs.)
 * It is waited for once per process, a thread start-up (~50 us).
 *
 * The reaper starts once the process has taken more than 1 MiB out of
 * the zone (REAPER_START_PAGES), or mapped a second section: then an
 * idle process has memory worth giving back.  A small program (most
 * command-line tools) never pays for a thread and its stack
 * (performance.md, "Fixed footprint"); KFENCE's timer does not need one
 * (kfence/kfence.c, "Sampling").  It is
 * started from an allocation slow path, never from free(), with no kmem
 * lock held and every signal blocked so that it never runs a handler.
 */
static void reaper_start(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	bool created = true;
	pthread_t t;

	/* Not from a fork handler: the new thread would wait for our locks. */
	if (!kmem_config.background || READ_ONCE(reaper_started) ||
	    kmem_in_fork_window())
		return;
	kmem_mutex_lock(&reaper_mutex);
	if (reaper_started) {
		kmem_mutex_unlock(&reaper_mutex);
		return;
	}
	reaper_up = false;
	/* Kickers read it without the mutex. */
	__atomic_store_n(&reaper_wait, REAPER_AWAKE, __ATOMIC_RELAXED);
	WRITE_ONCE(reaper_started, true);
	kmem_mutex_unlock(&reaper_mutex);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, &attr, reaper_main, NULL)) {
		kmem_mutex_lock(&reaper_mutex);
		WRITE_ONCE(reaper_started, false);
		kmem_mutex_unlock(&reaper_mutex);
		created = false;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (!created)
		return;
	kmem_mutex_lock(&reaper_mutex);
	while (!reaper_up)
		kmem_cond_wait(&reaper_up_cond, &reaper_mutex);
	kmem_mutex_unlock(&reaper_mutex);
}

/*
 * Called after every allocation that took blocks from the zone (with no
 * lock held).  The zone's page counts are read without its lock
 * (data_race(): written with plain stores under it): a stale or mixed
 * pair only starts the reaper one zone allocation earlier or later.
 */
void reaper_maybe_start(void)
{
	unsigned long used;

	if (READ_ONCE(reaper_started))
		return;
	used = data_race(kmem_zone.managed_pages) -
	       data_race(kmem_zone.free_pages);
	if (READ_ONCE(kmem_zone.nr_sections) >= 2 ||
	    used > REAPER_START_PAGES)
		reaper_start();
}

/**
 * buddy_reaper_start - start the reaper whatever the zone's size
 *
 * For memory the zone does not see (retained mappings of their own,
 * buddy/huge_cache.c), which must go back in an idle process too, and
 * for KFENCE's sampling timer once the process has one for other reasons
 * (kfence/kfence.c; a small process's allocations open the gate).
 *
 * Context: an allocation slow path (never free()), no kmem lock held.
 */
void buddy_reaper_start(void)
{
	reaper_start();
}

/**
 * buddy_reaper_running - has the reaper thread been started?
 *
 * Context: any.  A racy read: a reaper that is starting may read as not
 * running yet.
 */
bool buddy_reaper_running(void)
{
	return READ_ONCE(reaper_started);
}

/*
 * Lower reaper_kick_due to @due (kmem_now_ms() time; 0 is never a
 * deadline, so 1 stands for it).  A read-modify-write even when it is
 * already as low: sequentially consistent, it orders the caller's load
 * of reaper_wait after it.
 */
static void kick_due_lower(unsigned long due)
{
	unsigned long old = __atomic_load_n(&reaper_kick_due, __ATOMIC_RELAXED);

	due = max(due, 1UL);
	while (!__atomic_compare_exchange_n(&reaper_kick_due, &old,
					    old && old < due ? old : due,
					    false, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED))
		;
}

/**
 * buddy_reaper_kick - there is new work for the reaper
 * @due: when it expires (kmem_now_ms() time)
 *
 * Wakes the reaper if it sleeps without a deadline or with a later one;
 * if it is awake, makes it look again before it sleeps.  Cheap when the
 * reaper already sleeps with an earlier deadline (the common case of a
 * busy process): two loads.  Kicks from the reaper's own pass are not
 * needed (it releases after its hooks run) and are ignored.
 *
 * Context: no lock after the reaper mutex in the lock order (zone
 * locks) held; kmem_thread_lock, slab_mutex and cache locks may be.
 */
void buddy_reaper_kick(unsigned long due)
{
	unsigned long w;

	if (!READ_ONCE(reaper_started) || tls_reaper)
		return;
	w = __atomic_load_n(&reaper_wait, __ATOMIC_RELAXED);
	if (w != REAPER_AWAKE && w <= due)
		return;
	kick_due_lower(due);
	w = __atomic_load_n(&reaper_wait, __ATOMIC_SEQ_CST);
	if (w == REAPER_AWAKE || w <= due)
		return;
	kmem_mutex_lock(&reaper_mutex);
	kmem_cond_signal(&reaper_cond);
	kmem_mutex_unlock(&reaper_mutex);
}

/**
 * reaper_exit - the process exits: the pass under way ends, no other starts
 *
 * exit() ends the process with the reaper wherever it is; in the middle
 * of a zone operation it left buddy_seq odd in the region for good, and
 * "kmeminfo run", which reads the region after its command exited,
 * found the page allocator's figures torn (preload_mt_prog, about one
 * run in ten on a loaded machine).  From kmem's exit hooks (a
 * destructor): the reaper sleeps from then on, and kicks only wake it to
 * sleep again.  A pass is bounded work, so the wait is short; the lock
 * is not kept, so a later buddy_validate() cannot deadlock on it.
 */
void reaper_exit(void)
{
	kmem_mutex_lock(&reaper_pass_lock);
	reaper_stopped = true;
	kmem_mutex_unlock(&reaper_pass_lock);
}

/* fork(): the reaper's mutex is taken before the zone's locks. */
void reaper_fork_prepare(void)
{
	kmem_mutex_lock(&reaper_mutex);
}

void reaper_fork_parent(void)
{
	kmem_mutex_unlock(&reaper_mutex);
}

/* The child has no reaper thread. */
void reaper_fork_child(void)
{
	/* Not taken by the prepare handler: it guards no data. */
	kmem_mutex_reinit(&reaper_pass_lock);
	kmem_mutex_reinit(&reaper_mutex);
	reaper_stopped = false;
	reaper_started = false;
	reaper_up = false;
	reaper_wait = REAPER_AWAKE;
	reaper_kick_due = 0;
}
