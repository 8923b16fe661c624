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
 * A request takes the smallest kept mapping that holds it; one more than
 * a quarter too big is cut to the pages asked for, and its tail, from
 * 1 MiB, stays kept where it is (section_huge_cut(): no system call).
 * When none holds it, the request is gathered: the largest kept mapping
 * grows with mremap (in place, or moved with its pages), and the pages of
 * the next largest are moved into what it gained (section_huge_graft(),
 * one mremap per VMA: no copy, no fault), so that a page is faulted in
 * only when everything kept is in use.  When only cut tails are kept, the
 * largest moves to a range of its own first (section_huge_rehome()).  On
 * bench's `large` (500 of 5-25 MiB, 20 live) that took the faults from
 * 298 k to 136 k (tcmalloc, which keeps everything: 114 k).  The caller learns how many bytes were used
 * before (@dirty): calloc zeroes those and only those.
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

/* Bytes of huge mappings in use. */
static unsigned long huge_live(void)
{
	struct huge_stats hs;

	section_huge_stats(&hs);
	return hs.bytes;
}

/*
 * Take expired entries (all of them if @all) off the list, onto @out,
 * oldest first, keeping at least @keep bytes (what the recent peak demand
 * needs: buddy_huge_keep()) until @keep_due.
 *
 * Return: when to look again (0: nothing waits).
 */
static unsigned long huge_cache_take_expired(unsigned long now, bool all,
					     unsigned long keep,
					     unsigned long keep_due,
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
		if (!all && huge_cache_bytes - sec->size < keep) {
			next = keep_due;
			break;
		}
		list_move(&sec->node, out);
		WRITE_ONCE(huge_cache_bytes, huge_cache_bytes - sec->size);
	}
	return next;
}

/* What the policy keeps now: @keep bytes until @due (0 and 0 if none). */
static unsigned long huge_cache_keep(unsigned long now, unsigned long *due)
{
	*due = 0;
	if (!READ_ONCE(kmem_config.decay_peak))
		return 0;
	return buddy_huge_keep(now, huge_live(), due);
}

static void huge_cache_destroy_list(struct list_head *list)
{
	struct kmem_section *sec, *tmp;

	list_for_each_entry_safe(sec, tmp, list, node) {
		list_del(&sec->node);
		section_huge_destroy(sec);
	}
}

/**
 * huge_cache_reap - the reaper's pass: unmap what waited past the decay
 * time, beyond what the recent peak demand needs
 * @now:  buddy_now_ms() time
 * @next: lowered to when the cache wants a pass again (0: no wish)
 *
 * A reaper hook; tests that drive the policy's clock call it themselves.
 *
 * Context: no kmem lock held.
 */
void huge_cache_reap(unsigned long now, unsigned long *next)
{
	unsigned long due, keep, keep_due;
	LIST_HEAD(old);

	keep = huge_cache_keep(now, &keep_due);
	kmem_mutex_lock(&huge_cache_lock);
	due = huge_cache_take_expired(now, false, keep, keep_due, &old);
	kmem_mutex_unlock(&huge_cache_lock);
	huge_cache_destroy_list(&old);
	if (due && (!*next || due < *next))
		*next = due;
}

/* A busy process without a reaper releases on its huge paths too. */
static void huge_cache_expire(void)
{
	unsigned long now, keep, keep_due;
	LIST_HEAD(old);

	if (!READ_ONCE(huge_cache_bytes))	/* racy: a hint */
		return;
	now = buddy_now_ms();
	keep = huge_cache_keep(now, &keep_due);
	kmem_mutex_lock(&huge_cache_lock);
	huge_cache_take_expired(now, false, keep, keep_due, &old);
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

	if (READ_ONCE(kmem_config.decay_peak))
		buddy_note_huge(huge_live(), false);
	if (sec->size > limit || !READ_ONCE(huge_cache_started)) {
		section_huge_unmap(sec);
		huge_cache_expire();
		return;
	}
	section_huge_retire(sec);
	sec->cached_at = buddy_now_ms();
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
	/* After: what the peak keeps is measured without this mapping. */
	huge_cache_expire();
	buddy_reaper_kick(due);
}

/* Put @sec back on the list in its place by age, newest first. */
static void huge_cache_insert(struct kmem_section *sec)
{
	struct kmem_section *pos;

	lock_assert_held(&huge_cache_lock);
	list_for_each_entry(pos, &huge_cache, node)
		if (pos->cached_at <= sec->cached_at)
			break;
	list_add_tail(&sec->node, &pos->node);
	WRITE_ONCE(huge_cache_bytes, huge_cache_bytes + sec->size);
}

/*
 * Keep @sec (retired) again, with the time it was first freed: in its
 * place on the list, newest first, so that it expires in its turn.
 */
static void huge_cache_add_back(struct kmem_section *sec)
{
	kmem_mutex_lock(&huge_cache_lock);
	huge_cache_insert(sec);
	kmem_mutex_unlock(&huge_cache_lock);
	/* A pass between the take and now saw no deadline. */
	buddy_reaper_kick(sec->cached_at + kmem_config.decay_ms);
}

/*
 * Most kept mappings one request is built from: each is one mremap.
 * With the default bound (64 MiB) and tails kept from 1 MiB, a request
 * rarely needs more than three.
 */
#define HUGE_GATHER_MAX	8

/* A cut tail at least this long is kept (in place); shorter ones go. */
#define HUGE_TAIL_KEEP	(1UL << 20)

/*
 * No kept mapping holds @bytes: take the largest, and after it the
 * largest others until together they hold @bytes (or HUGE_GATHER_MAX of
 * them), off the list.  With @kept_only, take none unless together they
 * hold @bytes (the caller has other memory to use).
 * Return: how many, in @piece[], largest first.
 */
static int huge_cache_take_pieces(size_t bytes,
				  struct kmem_section *piece[HUGE_GATHER_MAX],
				  bool kept_only)
{
	size_t sum = 0;
	int n = 0;

	lock_assert_held(&huge_cache_lock);
	while (n < HUGE_GATHER_MAX && sum < bytes) {
		struct kmem_section *sec, *big = NULL;

		/*
		 * The first grows: a mapping of its own if one is kept (it
		 * may grow in place), else a cut tail, which moves to a range
		 * of its own to grow (section_huge_rehome()).
		 */
		list_for_each_entry(sec, &huge_cache, node)
			if ((n || !sec->pages_only) &&
			    (!big || sec->size > big->size))
				big = sec;
		if (!big && !n)
			list_for_each_entry(sec, &huge_cache, node)
				if (!big || sec->size > big->size)
					big = sec;
		if (!big)
			break;
		list_del(&big->node);
		WRITE_ONCE(huge_cache_bytes, huge_cache_bytes - big->size);
		piece[n++] = big;
		sum += big->size;
	}
	if (kept_only && sum < bytes)
		while (n)
			huge_cache_insert(piece[--n]);
	return n;
}

/*
 * Cut @sec (taken off the list) after @bytes: a rest worth keeping (from
 * HUGE_TAIL_KEEP) stays kept in place as a tail freed at @cached_at, a
 * shorter one is unmapped.
 */
static void huge_cache_cut_to(struct kmem_section *sec, size_t bytes,
			      unsigned long cached_at)
{
	struct kmem_section *rest = NULL;

	if (sec->size <= bytes)
		return;
	if (sec->size - bytes >= HUGE_TAIL_KEEP)
		rest = section_huge_cut(sec, bytes);
	else
		section_huge_refit(sec, bytes);	/* shrinks: cannot fail */
	if (rest) {
		rest->cached_at = cached_at;
		huge_cache_add_back(rest);
	}
}

/*
 * Grow @piece[0] to @bytes and move the others' pages into what it
 * gained, in order: the last piece may give only its tail, and keeps its
 * head.  A cut tail as @piece[0] (no mapping of its own was kept) gives
 * at most @bytes, and moves to a range of its own.  Return: @piece[0]
 * holding @bytes (*@dirty set to the bytes of it that held earlier data),
 * or NULL when it could not grow (it is gone; the others are kept again).
 */
static struct kmem_section *huge_cache_gather(struct kmem_section **piece,
					      int n, size_t bytes,
					      size_t *dirty)
{
	struct kmem_section *sec = piece[0];
	size_t off, used;
	bool grown;
	int i;

	/* A tail longer than @bytes gives its head; the rest keeps its age. */
	if (sec->pages_only)
		huge_cache_cut_to(sec, bytes, sec->cached_at);
	off = used = sec->size;
	grown = sec->pages_only ? section_huge_rehome(sec, bytes) :
				  section_huge_refit(sec, bytes);
	if (!grown) {
		for (i = 1; i < n; i++)
			huge_cache_add_back(piece[i]);
		return NULL;
	}
	for (i = 1; i < n; i++) {
		size_t take = min(piece[i]->size, bytes - off);
		bool whole = take == piece[i]->size;
		size_t moved = 0;

		if (take)
			moved = section_huge_graft(sec, off, piece[i], take);
		if (!moved) {
			huge_cache_add_back(piece[i]);
			continue;
		}
		used = off + moved;	/* what lies before is earlier data */
		off += take;
		if (!whole)
			huge_cache_add_back(piece[i]);
	}
	*dirty = used;
	return sec;
}

/*
 * __huge_cache_get - huge_cache_get(), and with @kept_only the same
 * without any page new from the OS (huge_cache_get_kept())
 */
static struct kmem_section *__huge_cache_get(size_t size, size_t align,
					     size_t *dirty, bool kept_only)
{
	size_t bytes = ALIGN(max(size, (size_t)1), PAGE_SIZE);
	struct kmem_section *piece[HUGE_GATHER_MAX];
	struct kmem_section *sec, *fit = NULL;
	int n = 0;

	if (!READ_ONCE(huge_cache_started)) {
		/* The first huge allocation: from now on frees are kept. */
		if (READ_ONCE(kmem_config.huge_retain)) {
			buddy_reaper_start();
			WRITE_ONCE(huge_cache_started, true);
		}
		return NULL;
	}
	/*
	 * The demand the policy keeps: what is live, and this one (kept
	 * only: noted once it is served from here, below).
	 */
	if (!kept_only && READ_ONCE(kmem_config.decay_peak) && bytes >= size)
		buddy_note_huge(huge_live() + bytes, true);
	huge_cache_expire();
	if (bytes < size || align > SECTION_SIZE ||
	    !READ_ONCE(huge_cache_bytes))
		return NULL;
	kmem_mutex_lock(&huge_cache_lock);
	list_for_each_entry(sec, &huge_cache, node)
		if (sec->size >= bytes && !sec->pages_only &&
		    (!fit || sec->size < fit->size))
			fit = sec;
	if (fit) {
		list_del(&fit->node);
		WRITE_ONCE(huge_cache_bytes, huge_cache_bytes - fit->size);
	} else {
		n = huge_cache_take_pieces(bytes, piece, kept_only);
	}
	kmem_mutex_unlock(&huge_cache_lock);
	if (n) {
		/*
		 * Nothing kept holds it: the largest grows, and the pages of
		 * the next largest are moved into its new range, so that a
		 * page is faulted in only when all that is kept is used.
		 */
		sec = huge_cache_gather(piece, n, bytes, dirty);
		if (!sec)
			return NULL;
	} else if (fit) {
		sec = fit;
		*dirty = bytes;
		/* More than a quarter too big: cut to size. */
		if (sec->size > bytes + bytes / 4)
			huge_cache_cut_to(sec, bytes, buddy_now_ms());
	} else {
		return NULL;
	}
	section_huge_revive(sec, size, align);
	if (kept_only && READ_ONCE(kmem_config.decay_peak))
		buddy_note_huge(huge_live(), true);
	return sec;
}

/**
 * huge_cache_get - a kept mapping for a new allocation
 * @size:  bytes asked for (above the largest buddy block, or above
 *         mallopt(M_MMAP_THRESHOLD))
 * @align: alignment asked for
 * @dirty: set to how many bytes from the start held earlier data (the
 *         rest is new from the OS: zero)
 *
 * Return: the section, revived (in the table, counted live), holding
 * @size; or NULL when nothing is kept (the caller maps a new one).
 */
struct kmem_section *huge_cache_get(size_t size, size_t align, size_t *dirty)
{
	return __huge_cache_get(size, align, dirty, false);
}

/**
 * huge_cache_holds - may the kept mappings hold @bytes? (racy: a hint)
 * @bytes: a request's length
 */
bool huge_cache_holds(size_t bytes)
{
	return READ_ONCE(huge_cache_started) &&
	       READ_ONCE(huge_cache_bytes) >= bytes;
}

/**
 * huge_cache_get_kept - a large block's request served from kept pages
 * @size:  bytes asked for (a large block's, up to the largest buddy block)
 * @align: alignment asked for (at most SECTION_SIZE)
 * @dirty: as for huge_cache_get()
 *
 * malloc's large blocks (kmalloc/large.c, LARGE_KEPT_ORDER) ask this when
 * the zone holds no resident free block for the request: a kept mapping
 * that holds it (cut to size as in huge_cache_get()), or several whose
 * pages together do, serve it instead of a block the zone would carve or
 * fault in.  Unlike huge_cache_get() this never grows past what is kept:
 * no page comes new from the OS.
 *
 * Return: the section, revived, or NULL (nothing was changed).
 */
struct kmem_section *huge_cache_get_kept(size_t size, size_t align,
					 size_t *dirty)
{
	if (!huge_cache_holds(ALIGN(size, PAGE_SIZE)))
		return NULL;
	return __huge_cache_get(size, align, dirty, true);
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
	huge_cache_take_expired(0, true, 0, 0, &all);
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
