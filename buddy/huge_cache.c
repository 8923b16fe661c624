// SPDX-License-Identifier: MIT
/*
 * buddy/huge_cache.c - freed mappings of their own, kept for reuse.
 *
 * An allocation above the largest buddy block (4 MiB) is a mapping of
 * its own (section.c).  Unmapped on free, every such allocation paid the
 * page faults of all its pages again: 500 replacements of 5-25 MiB
 * buffers (bench's `large`) took 1.9 M faults and 5x glibc's time,
 * whose dynamic mmap threshold moves such sizes into its reused heap.
 *
 * So a freed mapping is retired instead (it leaves the page table, so a
 * pointer into it is foreign again, and the live counts) and kept here,
 * resident, newest first, up to kmem_config.huge_retain bytes
 * (KMEM_HUGE_RETAIN_MB, 64 MiB by default; beyond, the oldest go).  Like a
 * free max-order block of the zone it goes back to the OS after
 * kmem_config.decay_ms (KMEM_DECAY_MS) unused, by the reaper in an idle
 * process (a reaper hook; the reaper is started by the first huge
 * allocation), by the allocation and free paths in a busy one, and at
 * once on kmem_shrink_all() and malloc_trim().
 *
 * A request takes the smallest kept mapping that holds it when that
 * wastes at most a quarter of it; one that would waste more is cut to the
 * pages asked for (its tail unmapped); when none holds it, the largest
 * smaller one grows with mremap (in place, or moved with its pages), so
 * that only the pages added are new.  The caller learns how many bytes
 * were used before (@dirty): calloc zeroes those and only those.
 *
 * Lock order: the table in core/lock.h.  huge_cache_lock is a leaf of
 * buddy: nothing else is taken under it, and no OS call is made with it
 * held (entries are taken off the list first).  fork() holds it after the
 * section lock.
 */
#include "buddy/buddy.h"

static struct kmem_mutex huge_cache_lock = KMEM_MUTEX_INIT(LOCK_RANK_HUGE_CACHE);
static LIST_HEAD(huge_cache);		/* retired, newest first */
static unsigned long huge_cache_bytes;	/* huge_cache_lock; read racily */
static bool huge_cache_started;		/* a huge allocation was made */

/* Take expired entries (all of them if @all) off the list, onto @out. */
static unsigned long huge_cache_take_expired(unsigned long now, bool all,
					     struct list_head *out)
{
	unsigned long next = 0;

	lock_assert_held(&huge_cache_lock);
	while (!list_empty(&huge_cache)) {
		struct kmem_section *sec = list_last_entry(&huge_cache,
							   struct kmem_section,
							   node);

		if (!all && sec->cached_at + kmem_config.decay_ms > now) {
			next = sec->cached_at + kmem_config.decay_ms;
			break;
		}
		list_move(&sec->node, out);
		WRITE_ONCE(huge_cache_bytes, huge_cache_bytes - sec->size);
	}
	return next;
}

static void huge_cache_destroy_list(struct list_head *list)
{
	struct kmem_section *sec, *tmp;

	list_for_each_entry_safe(sec, tmp, list, node) {
		list_del(&sec->node);
		section_huge_destroy(sec);
	}
}

/* The reaper's pass: unmap what waited past the decay time. */
static void huge_cache_reap(unsigned long now, unsigned long *next)
{
	unsigned long due;
	LIST_HEAD(old);

	kmem_mutex_lock(&huge_cache_lock);
	due = huge_cache_take_expired(now, false, &old);
	kmem_mutex_unlock(&huge_cache_lock);
	huge_cache_destroy_list(&old);
	if (due && (!*next || due < *next))
		*next = due;
}

/* A busy process without a reaper releases on its huge paths too. */
static void huge_cache_expire(void)
{
	LIST_HEAD(old);

	if (!READ_ONCE(huge_cache_bytes))	/* racy: a hint */
		return;
	kmem_mutex_lock(&huge_cache_lock);
	huge_cache_take_expired(kmem_now_ms(), false, &old);
	kmem_mutex_unlock(&huge_cache_lock);
	huge_cache_destroy_list(&old);
}

/**
 * huge_cache_put - free a mapping of its own: keep it, or unmap it
 * @sec: its section (live)
 */
void huge_cache_put(struct kmem_section *sec)
{
	unsigned long limit = READ_ONCE(kmem_config.huge_retain);
	unsigned long due;
	LIST_HEAD(evict);

	huge_cache_expire();
	if (sec->size > limit || !READ_ONCE(huge_cache_started)) {
		section_huge_unmap(sec);
		return;
	}
	section_huge_retire(sec);
	sec->cached_at = kmem_now_ms();
	due = sec->cached_at + kmem_config.decay_ms;
	kmem_mutex_lock(&huge_cache_lock);
	list_add(&sec->node, &huge_cache);
	WRITE_ONCE(huge_cache_bytes, huge_cache_bytes + sec->size);
	/* Over the bound: the oldest go. */
	while (huge_cache_bytes > limit) {
		struct kmem_section *old = list_last_entry(&huge_cache,
							   struct kmem_section,
							   node);

		list_move(&old->node, &evict);
		WRITE_ONCE(huge_cache_bytes, huge_cache_bytes - old->size);
	}
	kmem_mutex_unlock(&huge_cache_lock);
	huge_cache_destroy_list(&evict);
	buddy_reaper_kick(due);
}

/**
 * huge_cache_get - a kept mapping for a new allocation
 * @size:  bytes asked for (above the largest buddy block)
 * @align: alignment asked for
 * @dirty: set to how many bytes from the start held earlier data (the
 *         rest is new from the OS: zero)
 *
 * Return: the section, revived (in the table, counted live), holding
 * @size; or NULL when nothing kept fits (the caller maps a new one).
 */
struct kmem_section *huge_cache_get(size_t size, size_t align, size_t *dirty)
{
	size_t bytes = ALIGN(max(size, (size_t)1), PAGE_SIZE);
	struct kmem_section *sec, *fit = NULL, *below = NULL;

	if (!READ_ONCE(huge_cache_started)) {
		/* The first huge allocation: from now on frees are kept. */
		if (READ_ONCE(kmem_config.huge_retain)) {
			buddy_reaper_start();
			WRITE_ONCE(huge_cache_started, true);
		}
		return NULL;
	}
	huge_cache_expire();
	if (bytes < size || align > SECTION_SIZE ||
	    !READ_ONCE(huge_cache_bytes))
		return NULL;
	kmem_mutex_lock(&huge_cache_lock);
	list_for_each_entry(sec, &huge_cache, node) {
		if (sec->size >= bytes) {
			if (!fit || sec->size < fit->size)
				fit = sec;
		} else if (!below || sec->size > below->size) {
			below = sec;
		}
	}
	sec = fit ? fit : below;
	if (sec) {
		list_del(&sec->node);
		WRITE_ONCE(huge_cache_bytes, huge_cache_bytes - sec->size);
	}
	kmem_mutex_unlock(&huge_cache_lock);
	if (!sec)
		return NULL;
	*dirty = min(sec->size, bytes);
	if (sec->size > bytes + bytes / 4) {
		/*
		 * More than a quarter too big: cut to size.  A tail that can
		 * serve a huge request itself is kept, its pages moved.
		 */
		struct kmem_section *tail = NULL;

		if (sec->size - bytes > (PAGE_SIZE << MAX_PAGE_ORDER))
			tail = section_huge_split(sec, bytes);
		else
			section_huge_refit(sec, bytes);
		if (tail) {
			tail->cached_at = kmem_now_ms();
			kmem_mutex_lock(&huge_cache_lock);
			list_add(&tail->node, &huge_cache);
			WRITE_ONCE(huge_cache_bytes,
				   huge_cache_bytes + tail->size);
			kmem_mutex_unlock(&huge_cache_lock);
			/* A pass between the take and now saw no deadline. */
			buddy_reaper_kick(tail->cached_at +
					  kmem_config.decay_ms);
		}
	} else if (sec->size < bytes && !section_huge_refit(sec, bytes)) {
		return NULL;	/* could not grow: gone */
	}
	section_huge_revive(sec, size, align);
	return sec;
}

/**
 * huge_cache_drain - unmap every kept mapping now
 *
 * kmem_shrink_all() and malloc_trim().
 */
void huge_cache_drain(void)
{
	LIST_HEAD(all);

	kmem_mutex_lock(&huge_cache_lock);
	huge_cache_take_expired(0, true, &all);
	kmem_mutex_unlock(&huge_cache_lock);
	huge_cache_destroy_list(&all);
}

/**
 * huge_cache_init - register the reaper's pass
 *
 * Context: start-up, from buddy_init().
 */
void huge_cache_init(void)
{
	buddy_reaper_add_hook(huge_cache_reap);
}

void huge_cache_fork_prepare(void)
{
	kmem_mutex_lock(&huge_cache_lock);
}

void huge_cache_fork_parent(void)
{
	kmem_mutex_unlock(&huge_cache_lock);
}

/*
 * The child keeps the mappings (copied with the rest of the memory) but
 * has no reaper: its next huge allocation starts one, and until then its
 * frees are not kept.
 */
void huge_cache_fork_child(void)
{
	kmem_mutex_reinit(&huge_cache_lock);
	huge_cache_started = false;
}
