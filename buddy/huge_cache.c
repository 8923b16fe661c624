// SPDX-License-Identifier: MIT
/*
 * buddy/huge_cache.c - the huge heap: blocks above the largest buddy block
 * (4 MiB), cut from arenas of address space and reused where they lie.
 *
 * Unmapped on free, every huge allocation paid the page faults of all its
 * pages again (500 replacements of 5-25 MiB buffers, bench's `large`: 1.9
 * M faults).  Kept as mappings of their own, a request no kept mapping
 * held was built by moving kept pages into a new range with mremap; on a
 * machine whose hypervisor shadows the page tables a moved page costs
 * half a page fault (bench/page_cost), and `large` ran at 3x tcmalloc's
 * time.  So huge blocks now live in a heap, as tcmalloc's page heap and
 * glibc's main heap keep theirs:
 *
 * - An arena is HEAP_ARENA_SIZE of address space (one mapping, aligned to
 *   SECTION_SIZE, MAP_NORESERVE: untouched pages cost nothing), entered in
 *   the section table as a SECTION_HEAP.  Its bytes are cut into extents,
 *   in address order: live blocks (HEAP_LIVE), free resident ones
 *   (HEAP_DIRTY: they held data), free pages known zero (HEAP_ZERO: never
 *   touched, or given back with MADV_DONTNEED) and free ones being given
 *   back (HEAP_BUSY).  Each extent is a struct kmem_section of kind
 *   SECTION_HUGE with @arena set, so that a block is a HUGE section to
 *   kmalloc and malloc.
 * - A request takes the smallest run of adjacent free extents that holds
 *   it (best fit; a new arena's zero expanse is the largest run, used
 *   last), from the run's start.  A freed block becomes HEAP_DIRTY where
 *   it lies and merges with free neighbours of its state, so that the
 *   space of two freed buffers serves a larger one without a page moved
 *   or faulted.  The caller learns how many bytes from the start held
 *   earlier data (@dirty): calloc zeroes those and only those.
 * - Free resident bytes are bounded: at most kmem_config.huge_retain
 *   (KMEM_HUGE_RETAIN_MB, 64 MiB by default) or the live heap bytes,
 *   whichever is more (a heap in steady use keeps its holes, as glibc's
 *   does; 0 keeps none), the oldest given back first.  Like a free
 *   max-order block of the zone they go back to the OS after
 *   kmem_config.decay_ms (KMEM_DECAY_MS) unused, beyond what the recent
 *   peak demand needs (buddy_huge_keep()), by the reaper in an idle
 *   process, by the allocation and free paths in a busy one, and at once
 *   on kmem_shrink_all() and malloc_trim().  Given-back extents stay in
 *   the heap, zero, and merge with zero neighbours.  The allocation and
 *   free paths look only when something may be due (heap_expire_due():
 *   over the bound, or the oldest kept extent's decay time up), with no
 *   lock before that: a block allocated and freed in a loop takes the
 *   heap's lock twice (the fit; the free with its lookup:
 *   huge_heap_free()), and the zone's once a millisecond
 *   (buddy_note_huge()): 2 locks a pair, not 17 (performance.md).
 * - The huge figures (live bytes and blocks, the heap's and the mappings'
 *   of their own; kept bytes and extents; the peak) are this file's,
 *   under huge_cache_lock: a heap operation changes them in the hold it
 *   already has (heap_publish()), and a mapping of its own, made,
 *   resized or unmapped under the section lock, is counted after it by
 *   the function here that asked for it (huge_cache_account()), so that
 *   section.c never calls up into this file.  Under the section lock, as
 *   they were, each heap operation took it as well: two more lock holds
 *   a pair, a seventh of a pair of 8 MiB blocks' time.
 * - Blocks above HEAP_BLOCK_MAX, with an alignment above it, or when no
 *   arena can be mapped, are mappings of their own (section.c), unmapped
 *   on free.
 *
 * Bench's `large` (500 of 5-25 MiB, 20 live): about 130 k faults and no
 * page moved, where the mappings kept apart took 136 k faults and moved
 * 340 k pages (performance.md, "Issue 14: the huge heap").
 *
 * Cost: a fit, a free's lookup (huge_heap_block()) and the figures walk
 * the arenas' extents, live ones too: O(extents) under the lock.  Huge
 * blocks are few (each is megabytes of memory to write); a process with
 * thousands of them live would want a tree by address and one by size.
 *
 * Lock order: the table in core/lock.h.  huge_cache_lock comes before the
 * section lock (an extent's descriptor is taken under it) and after the
 * zone lock; no OS call is made with it held (extents being given back
 * are HEAP_BUSY meanwhile: nobody takes or merges them).  fork() holds it
 * before the section lock.
 */
#include "buddy/buddy.h"

#define HEAP_ARENA_SIZE	(1UL << 30)		/* 1 GiB of address space */
#define HEAP_BLOCK_MAX	(HEAP_ARENA_SIZE / 4)	/* larger: a mapping */

enum heap_state {
	HEAP_LIVE = 1,	/* a block handed out */
	HEAP_DIRTY,	/* free, resident: held data */
	HEAP_ZERO,	/* free, zero: never touched, or given back */
	HEAP_BUSY,	/* free, being given back (no lock held) */
};

static struct kmem_mutex huge_cache_lock = KMEM_MUTEX_INIT(LOCK_RANK_HUGE_CACHE);
static LIST_HEAD(arenas);		/* SECTION_HEAP, by ->node */
static unsigned long heap_kept;		/* HEAP_DIRTY bytes; read racily */
static unsigned long heap_kept_at;	/* the oldest kept's time; racily */
static unsigned long heap_live;		/* HEAP_LIVE bytes; read racily */
static unsigned long heap_seq;		/* the last extent kept's turn */
static bool huge_cache_started;		/* the reaper was started */
/* The huge figures (huge_cache_lock): the heap's and the mappings'. */
static unsigned long huge_bytes;	/* live bytes; read racily */
static unsigned long nr_huge;		/* live blocks */
static unsigned long nr_huge_cached;	/* kept extents (heap_kept: bytes) */
static unsigned long peak_huge;		/* the most huge_bytes has been */

static bool ext_free(const struct kmem_section *e)
{
	return e->heap_state == HEAP_DIRTY || e->heap_state == HEAP_ZERO;
}

static unsigned long ext_end(const struct kmem_section *e)
{
	return e->base + e->size;
}

/* The extent after @e in its arena, or NULL. */
static struct kmem_section *ext_next(struct kmem_section *e)
{
	struct list_head *n = e->heap_node.next;

	return n == &e->arena->heap_node ? NULL :
	       list_entry(n, struct kmem_section, heap_node);
}

static struct kmem_section *ext_prev(struct kmem_section *e)
{
	struct list_head *n = e->heap_node.prev;

	return n == &e->arena->heap_node ? NULL :
	       list_entry(n, struct kmem_section, heap_node);
}

/*
 * ext_keep - @e, free and resident, is kept from @now (ms): its time for
 * the decay, and its turn, which orders the kept extents exactly where
 * their times tie (two frees in one millisecond): heap_take_old() gives
 * the one freed first back first, wherever the extents lie.
 */
static void ext_keep(struct kmem_section *e, unsigned long now)
{
	lock_assert_held(&huge_cache_lock);
	e->heap_state = HEAP_DIRTY;
	e->cached_at = now;
	e->cached_seq = ++heap_seq;
}

/*
 * Split @e at @at (inside it): @e keeps the head, a new extent of the
 * same state and age the tail.  Return: the tail, or NULL (no descriptor;
 * nothing changed).
 */
static struct kmem_section *ext_split(struct kmem_section *e,
				      unsigned long at)
{
	struct kmem_section *t = section_desc_get();

	lock_assert_held(&huge_cache_lock);
	if (!t)
		return NULL;
	t->kind = SECTION_HUGE;
	t->arena = e->arena;
	t->heap_state = e->heap_state;
	t->cached_at = e->cached_at;
	t->cached_seq = e->cached_seq;
	t->base = at;
	t->size = ext_end(e) - at;
	e->size = at - e->base;
	list_add(&t->heap_node, &e->heap_node);
	return t;
}

/* Fold @n, the extent after @e, into @e. */
static void ext_absorb(struct kmem_section *e, struct kmem_section *n)
{
	e->size += n->size;
	e->cached_at = max(e->cached_at, n->cached_at);
	e->cached_seq = max(e->cached_seq, n->cached_seq);
	list_del(&n->heap_node);
	section_desc_put(n);
}

/*
 * Merge zero @e with its zero neighbours; return the whole.  Kept
 * (HEAP_DIRTY) extents stay apart, each with the time it was freed, so
 * that each goes back to the OS in its turn (a run of them still serves
 * one request: heap_find()).
 */
static struct kmem_section *ext_merge(struct kmem_section *e)
{
	struct kmem_section *n;

	lock_assert_held(&huge_cache_lock);
	if (e->heap_state != HEAP_ZERO)
		return e;
	while ((n = ext_prev(e)) && n->heap_state == e->heap_state) {
		ext_absorb(n, e);
		e = n;
	}
	while ((n = ext_next(e)) && n->heap_state == e->heap_state)
		ext_absorb(e, n);
	return e;
}

/* The huge figures, copied to the header for kmeminfo. */
static void huge_publish_locked(void)
{
	lock_assert_held(&huge_cache_lock);
	if (huge_bytes > peak_huge)
		peak_huge = huge_bytes;
	if (kmem_region) {
		WRITE_ONCE(kmem_region->peak_huge_mapped, peak_huge);
		WRITE_ONCE(kmem_region->huge_mapped, huge_bytes);
		WRITE_ONCE(kmem_region->nr_huge, nr_huge);
		WRITE_ONCE(kmem_region->huge_cached, heap_kept);
		WRITE_ONCE(kmem_region->nr_huge_cached, nr_huge_cached);
	}
}

/* @bytes and @nr added to the live huge bytes and blocks, published. */
static void huge_account_locked(long bytes, long nr)
{
	lock_assert_held(&huge_cache_lock);
	WRITE_ONCE(huge_bytes, huge_bytes + (unsigned long)bytes);
	nr_huge += (unsigned long)nr;
	huge_publish_locked();
}

/*
 * A mapping of its own was made, unmapped, resized or moved (by
 * buddy/section.c, under the section lock, released since): @bytes and
 * @nr added to the live figures.  Counted here, after the section lock,
 * so that the table never calls up into the heap.
 */
static void huge_cache_account(long bytes, long nr)
{
	kmem_mutex_lock(&huge_cache_lock);
	huge_account_locked(bytes, nr);
	kmem_mutex_unlock(&huge_cache_lock);
}

/**
 * huge_cache_stats - bytes and count of huge blocks, live and kept
 * @hs: filled in
 */
void huge_cache_stats(struct huge_stats *hs)
{
	kmem_mutex_lock(&huge_cache_lock);
	hs->bytes = huge_bytes;
	hs->nr = nr_huge;
	hs->cached_bytes = heap_kept;
	hs->nr_cached = nr_huge_cached;
	kmem_mutex_unlock(&huge_cache_lock);
}

/**
 * huge_cache_republish_locked - the huge figures, published anew
 *
 * Context: huge_cache_lock held (kmem_republish_locked()).
 */
void huge_cache_republish_locked(void)
{
	huge_publish_locked();
}

/*
 * Publish what is kept (free and resident), and remember it, with @bytes
 * and @nr added to the live huge bytes and blocks: every figure of a heap
 * operation in the hold of huge_cache_lock it made its change in.
 */
static void heap_publish(long bytes, long nr)
{
	unsigned long kept = 0, nr_kept = 0, at = 0;
	struct kmem_section *arena, *e;

	lock_assert_held(&huge_cache_lock);
	list_for_each_entry(arena, &arenas, node)
		list_for_each_entry(e, &arena->heap_node, heap_node)
			if (e->heap_state == HEAP_DIRTY) {
				if (!nr_kept || e->cached_at < at)
					at = e->cached_at;
				kept += e->size;
				nr_kept++;
			}
	WRITE_ONCE(heap_kept_at, at);
	WRITE_ONCE(heap_kept, kept);
	nr_huge_cached = nr_kept;
	huge_account_locked(bytes, nr);
}

/*
 * Where a request fits: @first, the first extent of the run, and @start,
 * the block's address in it.
 */
struct heap_fit {
	struct kmem_section *first;
	unsigned long start;
	unsigned long len;	/* the run's length: the smallest wins */
};

static void fit_consider(struct heap_fit *best, struct kmem_section *first,
			 unsigned long end, size_t bytes, size_t align)
{
	unsigned long start;

	if (!first)
		return;
	start = ALIGN(first->base, align);
	if (start < first->base || start > end || end - start < bytes)
		return;
	if (!best->first || end - first->base < best->len) {
		best->first = first;
		best->start = start;
		best->len = end - first->base;
	}
}

/*
 * The smallest run of adjacent free extents that holds @bytes at @align;
 * with @kept_only, of resident ones only.  Return: whether one does.
 */
static bool heap_find(size_t bytes, size_t align, bool kept_only,
		      struct heap_fit *best)
{
	struct kmem_section *arena, *e, *run;
	unsigned long end = 0;

	lock_assert_held(&huge_cache_lock);
	*best = (struct heap_fit){ 0 };
	list_for_each_entry(arena, &arenas, node) {
		run = NULL;
		list_for_each_entry(e, &arena->heap_node, heap_node) {
			bool ok = kept_only ? e->heap_state == HEAP_DIRTY :
					      ext_free(e);

			if (!ok) {
				fit_consider(best, run, end, bytes, align);
				run = NULL;
				continue;
			}
			if (!run)
				run = e;
			end = ext_end(e);
		}
		fit_consider(best, run, end, bytes, align);
	}
	return best->first;
}

/*
 * Make [@fit->start, + @bytes) one live block.  Return: the block, with
 * *@dirty set to how many of its bytes from the start held data; NULL
 * when a descriptor was missing (the heap is whole, maybe split more).
 */
static struct kmem_section *heap_carve(const struct heap_fit *fit,
				       size_t bytes, size_t *dirty)
{
	unsigned long s = fit->start, end = s + bytes;
	struct kmem_section *e = fit->first, *n;

	lock_assert_held(&huge_cache_lock);
	while (ext_end(e) <= s)
		e = ext_next(e);
	if (e->base < s && !(e = ext_split(e, s)))
		return NULL;
	for (n = e; ext_end(n) < end; n = ext_next(n))
		;
	if (ext_end(n) > end && !ext_split(n, end))
		return NULL;
	*dirty = 0;
	for (n = e; n; n = ext_end(n) < end ? ext_next(n) : NULL)
		if (n->heap_state == HEAP_DIRTY)
			*dirty = ext_end(n) - s;
	while (ext_end(e) < end)
		ext_absorb(e, ext_next(e));
	e->heap_state = HEAP_LIVE;
	e->cached_at = 0;
	e->cached_seq = 0;
	WRITE_ONCE(heap_live, heap_live + bytes);
	return e;
}

/* A new arena, in the table, all zero; NULL if none can be mapped. */
static struct kmem_section *heap_arena_new(void)
{
	struct kmem_section *arena, *e;
	void *base = kmem_os_map(HEAP_ARENA_SIZE, SECTION_SIZE);

	if (!base)
		return NULL;
	/* KMEM_THP=large or always: the arena is advised whole, once. */
	if (READ_ONCE(kmem_config.thp) >= KMEM_THP_LARGE)
		kmem_os_hugepage(base, HEAP_ARENA_SIZE);
	e = section_desc_get();
	arena = e ? section_heap_register((unsigned long)base,
					  HEAP_ARENA_SIZE) : NULL;
	if (!arena) {
		if (e)
			section_desc_put(e);
		kmem_os_unmap(base, HEAP_ARENA_SIZE);
		return NULL;
	}
	INIT_LIST_HEAD(&arena->heap_node);
	e->kind = SECTION_HUGE;
	e->arena = arena;
	e->heap_state = HEAP_ZERO;
	e->base = arena->base;
	e->size = arena->size;
	list_add(&e->heap_node, &arena->heap_node);
	return arena;
}

/* Bytes of huge blocks in use (the heap's and mappings of their own). */
static unsigned long huge_live(void)
{
	return READ_ONCE(huge_bytes);
}

/*
 * Take kept extents to give back onto @out (HEAP_BUSY, linked by ->node),
 * oldest first (in the order they were freed: ext_keep()): all with
 * @all; else those over @limit, then those unused past the decay time
 * beyond @keep (kept until @keep_due).
 *
 * Return: when to look again (0: nothing waits).
 */
static unsigned long heap_take_old(unsigned long now, bool all,
				   unsigned long limit, unsigned long keep,
				   unsigned long keep_due,
				   struct list_head *out)
{
	unsigned long kept, next = 0;
	struct kmem_section *arena, *e, *old;

	lock_assert_held(&huge_cache_lock);
	/* Exact under the lock: heap_publish() follows every change. */
	kept = heap_kept;
	while (kept) {
		old = NULL;
		list_for_each_entry(arena, &arenas, node)
			list_for_each_entry(e, &arena->heap_node, heap_node)
				if (e->heap_state == HEAP_DIRTY &&
				    (!old || e->cached_seq < old->cached_seq))
					old = e;
		BUG_ON(!old);	/* heap_kept counts what is not there */
		if (!all && kept <= limit) {
			if (old->cached_at + kmem_config.decay_ms > now) {
				next = old->cached_at + kmem_config.decay_ms;
				break;
			}
			if (kept - old->size < keep) {
				next = keep_due;
				break;
			}
		}
		old->heap_state = HEAP_BUSY;
		list_add_tail(&old->node, out);
		kept -= old->size;
	}
	return next;
}

/* Give the extents on @list back to the OS; they become zero. */
static void heap_give_back(struct list_head *list)
{
	struct kmem_section *e, *tmp;

	if (list_empty(list))
		return;
	list_for_each_entry(e, list, node)
		kmem_os_release((void *)e->base, e->size);
	kmem_mutex_lock(&huge_cache_lock);
	list_for_each_entry_safe(e, tmp, list, node) {
		list_del(&e->node);
		e->heap_state = HEAP_ZERO;
		ext_merge(e);
	}
	heap_publish(0, 0);
	kmem_mutex_unlock(&huge_cache_lock);
}

/* At most this many free resident bytes are kept (huge_cache.c's top). */
static unsigned long heap_limit(void)
{
	unsigned long retain = READ_ONCE(kmem_config.huge_retain);

	return retain ? retain + READ_ONCE(heap_live) : 0;
}

/* What the policy keeps now: @keep bytes until @due (0 and 0 if none). */
static unsigned long huge_cache_keep(unsigned long now, unsigned long *due)
{
	*due = 0;
	if (!READ_ONCE(kmem_config.decay_peak))
		return 0;
	return buddy_huge_keep(now, huge_live(), due);
}

/*
 * Give back what waited past the decay time beyond what the peak needs,
 * and what is over the bound.  Return: when to look again (0: never).
 */
static unsigned long heap_expire(unsigned long now)
{
	unsigned long keep, keep_due, next;
	LIST_HEAD(old);

	keep = huge_cache_keep(now, &keep_due);
	kmem_mutex_lock(&huge_cache_lock);
	next = heap_take_old(now, false, heap_limit(), keep, keep_due, &old);
	if (!list_empty(&old))
		heap_publish(0, 0);
	kmem_mutex_unlock(&huge_cache_lock);
	heap_give_back(&old);
	return next;
}

/*
 * heap_expire_due - heap_expire() for the allocation and free paths: only
 * when it may give something back, that is when the kept bytes are over
 * the bound or the oldest kept extent has waited the decay time (before
 * that, heap_take_old() stops at it).  A racy look, without a lock: a
 * block handed out or freed meanwhile is the next call's to see.  The
 * reaper's pass (huge_cache_reap()) always looks.
 */
static void heap_expire_due(unsigned long now)
{
	unsigned long kept = READ_ONCE(heap_kept);

	if (!kept)
		return;
	if (kept > heap_limit() ||
	    now >= READ_ONCE(heap_kept_at) + READ_ONCE(kmem_config.decay_ms))
		heap_expire(now);
}

/**
 * huge_cache_reap - the reaper's pass: give back what waited past the
 * decay time, beyond what the recent peak demand needs
 * @now:  buddy_now_ms() time
 * @next: lowered to when the heap wants a pass again (0: no wish)
 *
 * A reaper hook; tests that drive the policy's clock call it themselves.
 *
 * Context: no kmem lock held.
 */
void huge_cache_reap(unsigned long now, unsigned long *next)
{
	unsigned long due = heap_expire(now);

	if (due && (!*next || due < *next))
		*next = due;
}

/*
 * __huge_cache_get - huge_cache_get(), and with @kept_only the same
 * without any page new from the OS (huge_cache_get_kept())
 */
static struct kmem_section *__huge_cache_get(size_t size, size_t align,
					     size_t *dirty, bool kept_only)
{
	size_t bytes = ALIGN(max(size, (size_t)1), PAGE_SIZE);
	struct kmem_section *blk = NULL, *arena;
	unsigned long now;
	struct heap_fit fit;
	bool mapped = false;

	align = max(align, PAGE_SIZE);
	if (bytes < size || bytes > HEAP_BLOCK_MAX || align > HEAP_BLOCK_MAX)
		return NULL;
	if (!kept_only && !READ_ONCE(huge_cache_started)) {
		buddy_reaper_start();
		WRITE_ONCE(huge_cache_started, true);
	}
	/*
	 * The demand the policy keeps: what is live, and this one (kept
	 * only: noted once it is served from here, below).
	 */
	now = buddy_now_ms();
	if (!kept_only && READ_ONCE(kmem_config.decay_peak))
		buddy_note_huge(huge_live() + bytes, true, now);
	heap_expire_due(now);
	for (;;) {
		kmem_mutex_lock(&huge_cache_lock);
		if (heap_find(bytes, align, kept_only, &fit))
			blk = heap_carve(&fit, bytes, dirty);
		if (blk) {
			blk->huge_size = size;
			blk->huge_align = align;
			heap_publish((long)bytes, 1);
		}
		kmem_mutex_unlock(&huge_cache_lock);
		if (blk || kept_only || mapped)
			break;
		/* Nothing free holds it: another arena, then again. */
		arena = heap_arena_new();
		if (!arena)
			return NULL;
		kmem_mutex_lock(&huge_cache_lock);
		list_add_tail(&arena->node, &arenas);
		kmem_mutex_unlock(&huge_cache_lock);
		mapped = true;
	}
	if (!blk)
		return NULL;
	if (kept_only && READ_ONCE(kmem_config.decay_peak))
		buddy_note_huge(huge_live(), true, now);
	return blk;
}

/**
 * huge_cache_get - a huge block from the heap
 * @size:  bytes asked for (above the largest buddy block, or above
 *         mallopt(M_MMAP_THRESHOLD))
 * @align: alignment asked for
 * @dirty: set to how many bytes from the start held earlier data (the
 *         rest is zero)
 *
 * Return: the block (a live HUGE section holding @size); or NULL when the
 * heap cannot hold it (the caller maps one of its own).
 */
struct kmem_section *huge_cache_get(size_t size, size_t align, size_t *dirty)
{
	return __huge_cache_get(size, align, dirty, false);
}

/**
 * huge_cache_holds - may the heap's kept bytes hold @bytes? (racy: a hint)
 * @bytes: a request's length
 */
bool huge_cache_holds(size_t bytes)
{
	return READ_ONCE(heap_kept) >= bytes;
}

/**
 * huge_cache_get_kept - a large block's request served from kept pages
 * @size:  bytes asked for (a large block's, up to the largest buddy block)
 * @align: alignment asked for (at most SECTION_SIZE)
 * @dirty: as for huge_cache_get()
 *
 * malloc's large blocks (kmalloc/large.c, LARGE_KEPT_ORDER) ask this when
 * the zone holds no resident free block for the request: a run of the
 * heap's resident free extents that holds it serves it instead of a block
 * the zone would carve or fault in.  Unlike huge_cache_get() this never
 * takes a page that is not resident.
 *
 * Return: the block, or NULL (nothing was changed).
 */
struct kmem_section *huge_cache_get_kept(size_t size, size_t align,
					 size_t *dirty)
{
	if (!huge_cache_holds(ALIGN(size, PAGE_SIZE)))
		return NULL;
	return __huge_cache_get(size, align, dirty, true);
}

/* The heap block @sec, live, is freed at @now: kept where it lies. */
static void heap_put_locked(struct kmem_section *sec, unsigned long now)
{
	lock_assert_held(&huge_cache_lock);
	WRITE_ONCE(heap_live, heap_live - sec->size);
	ext_keep(sec, now);
	sec->huge_size = 0;
	heap_publish(-(long)sec->size, -1);
	ext_merge(sec);
}

/* After a heap block's free at @now, with no lock held. */
static void heap_put_after(unsigned long now)
{
	/* Over the bound, the oldest go; after the decay time, the rest. */
	heap_expire_due(now);
	buddy_reaper_kick(now + READ_ONCE(kmem_config.decay_ms));
}

/**
 * huge_cache_put - free a huge block: kept where it lies, or unmapped
 * @sec: its section (live)
 */
void huge_cache_put(struct kmem_section *sec)
{
	unsigned long now = buddy_now_ms();

	if (READ_ONCE(kmem_config.decay_peak))
		buddy_note_huge(huge_live(), false, now);
	if (!sec->arena) {
		long bytes = (long)sec->size;

		section_huge_unmap(sec);
		huge_cache_account(-bytes, -1);
		heap_expire_due(now);
		return;
	}
	kmem_mutex_lock(&huge_cache_lock);
	heap_put_locked(sec, now);
	kmem_mutex_unlock(&huge_cache_lock);
	heap_put_after(now);
}

/* huge_heap_block()'s walk, under the heap's lock. */
static struct kmem_section *heap_block_locked(struct kmem_section *arena,
					      unsigned long a,
					      const char **why, bool *freed)
{
	struct kmem_section *e;

	lock_assert_held(&huge_cache_lock);
	list_for_each_entry(e, &arena->heap_node, heap_node) {
		if (a - e->base >= e->size)
			continue;
		if (e->heap_state != HEAP_LIVE) {
			*freed = !(a & ~PAGE_MASK);
			*why = *freed ? "the block is already free" :
					"not the start of an allocation";
		} else if (a != e->base) {
			*why = "not the start of an allocation";
		} else {
			return e;
		}
		return NULL;
	}
	*why = "not allocated by kmem";
	return NULL;
}

/**
 * huge_heap_block - the live block of a heap arena at @a
 * @arena: the arena @a lies in (the table's entry)
 * @a:     the address
 * @why:   set to what is wrong when there is none
 * @freed: set when @a is the start of a page in free space (a block
 *         freed already, most likely: a double free)
 *
 * Return: the block starting at @a, or NULL.
 */
struct kmem_section *huge_heap_block(struct kmem_section *arena,
				     unsigned long a, const char **why,
				     bool *freed)
{
	struct kmem_section *found;

	kmem_mutex_lock(&huge_cache_lock);
	found = heap_block_locked(arena, a, why, freed);
	kmem_mutex_unlock(&huge_cache_lock);
	return found;
}

/**
 * huge_heap_free - free the block of a heap arena at @a: huge_heap_block()
 * and huge_cache_put() under one hold of the heap's lock (free()'s and
 * kfree()'s path; the lookup alone took the lock a third time a pair)
 * @arena: the arena @a lies in (the table's entry)
 * @a:     the address
 * @why:   set to what is wrong when @a is not a live block's start
 * @freed: set as huge_heap_block() sets it
 *
 * Return: true if a block was freed; false (nothing changed) when @a is
 * not a live block's start: the caller reports it.
 */
bool huge_heap_free(struct kmem_section *arena, unsigned long a,
		    const char **why, bool *freed)
{
	struct kmem_section *sec;
	unsigned long now = buddy_now_ms();

	/* Before the lock (the zone's ranks first); a bad @a notes no more. */
	if (READ_ONCE(kmem_config.decay_peak))
		buddy_note_huge(huge_live(), false, now);
	kmem_mutex_lock(&huge_cache_lock);
	sec = heap_block_locked(arena, a, why, freed);
	if (sec)
		heap_put_locked(sec, now);
	kmem_mutex_unlock(&huge_cache_lock);
	if (!sec)
		return false;
	heap_put_after(now);
	return true;
}

/* Grow or shrink a heap block where it lies. */
static bool heap_resize(struct kmem_section *blk, size_t new_size)
{
	size_t old = blk->size, bytes = ALIGN(new_size, PAGE_SIZE);
	struct kmem_section *n;
	bool ok = true;

	if (bytes < new_size || !bytes || bytes > HEAP_BLOCK_MAX)
		return false;
	kmem_mutex_lock(&huge_cache_lock);
	if (bytes > old) {
		unsigned long end = blk->base + bytes, reach = ext_end(blk);

		for (n = ext_next(blk); n && ext_free(n) && reach < end;
		     n = ext_next(n))
			reach = ext_end(n);
		ok = reach >= end;
		for (n = ext_next(blk); ok && n && n->base < end;
		     n = ext_next(blk)) {
			if (ext_end(n) > end && !ext_split(n, end)) {
				ok = false;
				break;
			}
			ext_absorb(blk, n);
		}
		/* A split that failed midway left @blk grown to its reach. */
		bytes = blk->size;
	} else if (bytes < old) {
		n = ext_split(blk, blk->base + bytes);
		if (n) {
			ext_keep(n, buddy_now_ms());
			ext_merge(n);
		} else {
			ok = false;
		}
		bytes = blk->size;
	}
	WRITE_ONCE(heap_live, heap_live + bytes - old);
	if (ok)
		blk->huge_size = new_size;
	heap_publish((long)(bytes - old), 0);
	kmem_mutex_unlock(&huge_cache_lock);
	return ok;
}

/**
 * huge_cache_resize - grow or shrink a huge block where it lies
 * @sec:      its section (live)
 * @new_size: bytes wanted (any size: realloc() keeps a huge block one
 *            above 1 MiB, krealloc() when it shrinks)
 *
 * A heap block grows into the free extents after it and gives its tail
 * back to the heap (kept, resident); a mapping of its own grows with
 * mremap when the address space after it is free, and unmaps its tail.
 *
 * Return: true if the block now holds @new_size bytes in place.
 */
bool huge_cache_resize(struct kmem_section *sec, size_t new_size)
{
	long old = (long)sec->size;

	if (sec->arena)
		return heap_resize(sec, new_size);
	if (!section_huge_resize(sec, new_size))
		return false;
	huge_cache_account((long)sec->size - old, 0);
	return true;
}

/*
 * Move heap block @old to a new block of @new_size, its pages with it
 * (kmem_os_move_keep(): no copy, no fault); its old range stays in the
 * arena, zero.  Return: the new block, or NULL (nothing changed).
 */
static struct kmem_section *heap_move(struct kmem_section *old,
				      size_t new_size)
{
	struct kmem_section *blk;
	size_t dirty, size;

	blk = __huge_cache_get(new_size, old->huge_align, &dirty, false);
	if (!blk)
		return NULL;
	if (!blk->arena || !kmem_os_move_keep((void *)old->base, old->size,
					      (void *)blk->base)) {
		/* Refused (one range spans two of the kernel's VMAs). */
		huge_cache_put(blk);
		return NULL;
	}
	size = old->size;	/* ext_merge() may fold @old into its neighbour */
	kmem_mutex_lock(&huge_cache_lock);
	WRITE_ONCE(heap_live, heap_live - size);
	old->heap_state = HEAP_ZERO;
	old->huge_size = 0;
	ext_merge(old);
	heap_publish(-(long)size, -1);
	kmem_mutex_unlock(&huge_cache_lock);
	return blk;
}

/**
 * huge_cache_move - grow a huge block by moving its pages elsewhere
 * @sec:      its section (live)
 * @new_size: bytes wanted, more than it has
 *
 * realloc() of a block that cannot grow where it is: its pages move, with
 * mremap, to a new block (a heap block's to another heap block, a mapping
 * of its own's to a new range: section_huge_move()) instead of a copy.
 *
 * Return: the block now holding @new_size bytes (@sec or a new one: @sec
 * is then gone), or NULL (@sec unchanged: the caller copies).
 */
struct kmem_section *huge_cache_move(struct kmem_section *sec,
				     size_t new_size)
{
	long old = (long)sec->size;

	if (sec->arena)
		return heap_move(sec, new_size);
	if (!section_huge_move(sec, new_size))
		return NULL;
	huge_cache_account((long)sec->size - old, 0);
	return sec;
}

/**
 * huge_cache_map - a huge block as a mapping of its own, counted
 * @size:  bytes asked for (one the heap does not hold)
 * @align: alignment asked for
 *
 * Return: the mapping's section (section_huge_map()), or NULL with errno
 * ENOMEM.
 */
struct kmem_section *huge_cache_map(size_t size, size_t align)
{
	struct kmem_section *sec = section_huge_map(size, align);

	if (sec)
		huge_cache_account((long)sec->size, 1);
	return sec;
}

/**
 * huge_cache_drain - give every kept extent back now
 *
 * kmem_shrink_all() and malloc_trim().
 */
void huge_cache_drain(void)
{
	LIST_HEAD(all);

	kmem_mutex_lock(&huge_cache_lock);
	heap_take_old(0, true, 0, 0, 0, &all);
	if (!list_empty(&all))
		heap_publish(0, 0);
	kmem_mutex_unlock(&huge_cache_lock);
	heap_give_back(&all);
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
 * The child keeps the heap (copied with the rest of the memory) but has
 * no reaper: its next huge allocation starts one, and until then its
 * allocation and free paths give back what waited.
 */
void huge_cache_fork_child(void)
{
	kmem_mutex_reinit(&huge_cache_lock);
	huge_cache_started = false;
}
