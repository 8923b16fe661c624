// SPDX-License-Identifier: MIT
/*
 * slab/slab.c - slabs: buddy blocks carved into objects, with a bitmap.
 *
 * This file owns the bottom of the slab layer: how a cache's slabs are laid
 * out, how objects are taken from and put back into them, and the slab
 * lists.  A slab is a buddy block of 2^s->order pages; its first bytes are
 * a struct slab holding the owner, the in-use count, list links and a
 * bitmap with one bit per object (set: the object is out).  Objects follow
 * at s_mem, after a colour offset that cycles between slabs so that the
 * same object index of different slabs lands on different cache lines.
 * Every page of the block is PG_slab in its descriptor and names the cache
 * and the slab's first object, so any object pointer finds its cache and
 * its index (by reciprocal multiplication, not division) without touching
 * the slab.
 *
 * Slab lists, per cache: full (no free object), partial, free (all free).
 * Objects are taken from partial slabs first, then free ones, then a new
 * slab; a slab that becomes empty goes on the free list, and empty slabs
 * beyond SLAB_MIN_PARTIAL go back to the buddy allocator (after an RCU
 * grace period for SLAB_TYPESAFE_BY_RCU caches).
 *
 * Taking objects scans the bitmap a 64-bit word at a time (ctz of the
 * inverted word); slab->free_hint skips words known full.  Putting an
 * object back checks its bit first: a bit already clear is a double free,
 * reported before anything changes.
 *
 * Constructors run once per object, when its slab is created, outside the
 * cache lock; objects keep their constructed state across free and reuse.
 *
 * Lock order: the table in core/lock.h (s->lock above the zone's).  The
 * cache lock is dropped while a new slab is allocated and constructed.
 */
#include <string.h>

#include "slab/slab.h"
#include "core/os.h"

static unsigned int header_size(unsigned int objects, unsigned int align)
{
	return ALIGN((unsigned int)(sizeof(struct slab) +
				    BITS_TO_LONGS(objects) * sizeof(long)),
		     align);
}

/* Slots that fit in a slab of @bytes, with their header. */
static unsigned int objects_for(unsigned int bytes, unsigned int size,
				unsigned int align, unsigned int *hdr)
{
	unsigned int n = bytes / size, h;

	for (;;) {
		h = header_size(n, align);
		if (h < bytes && (bytes - h) / size >= n)
			break;
		if (!n)
			break;
		n = h < bytes ? (bytes - h) / size : 0;
	}
	*hdr = h;
	return n;
}

/**
 * slab_calculate_layout - choose slot size, slab order and colours
 * @s: a cache with object_size, align, flags set
 *
 * The slot holds the object and its debugging metadata.  The order is the
 * smallest that holds enough objects while wasting (header and leftover
 * together) at most 1/8 of the slab, the kernel's rule; the object count
 * asked for is relaxed from 8 down to 1 before a higher waste is allowed.
 *
 * Return: 0, or -EINVAL when the object cannot fit a slab.
 */
int slab_calculate_layout(struct kmem_cache *s)
{
	unsigned int align = s->align, size, hdr = 0, best_order = 0;
	unsigned long best_waste = ~0UL;
	bool found = false;

	s->red_left = (s->flags & SLAB_RED_ZONE) ? ALIGN(8U, align) : 0;
	s->inuse = s->red_left + ALIGN(s->object_size, 8U);
	if (s->flags & SLAB_RED_ZONE)
		s->inuse += 8;
	/* The free marker's word (see free_marker_at()). */
	if (!(s->cflags & CF_MARKS)) {
		/* Does not mark (debugging: the bitmap is checked instead). */
	} else if (s->cflags & CF_MARK_OUTSIDE) {
		s->cflags = (s->cflags & ~CF_MARKS) | CF_MARK_AT;
		s->marker_off = ALIGN(s->object_size, 8U);
		s->inuse += sizeof(unsigned long);
	} else if (s->object_size >= FREE_MARKER_OFFSET + sizeof(long)) {
		s->cflags = (s->cflags & ~CF_MARKS) | CF_MARK_FREE;
		s->marker_off = FREE_MARKER_OFFSET;
	} else {
		s->cflags = (s->cflags & ~CF_MARKS) | CF_MARK_AT;
		s->marker_off = 0;
	}
	s->track_off = s->inuse;
	size = s->inuse;
	if (s->flags & SLAB_STORE_USER)
		size += 2 * sizeof(struct kmem_track);
	size = ALIGN(size, align);
	if ((unsigned long)size > (PAGE_SIZE << MAX_SLAB_ORDER) / 2)
		return -EINVAL;
	s->size = size;
	s->reciprocal = (unsigned int)(((1ULL << 32) + size - 1) / size);
	s->divisor_m = UINT64_MAX / size + 1;

	for (unsigned int min_objs = 8; min_objs && !found; min_objs /= 2) {
		for (unsigned int o = 0; o <= MAX_SLAB_ORDER; o++) {
			unsigned int bytes = (unsigned int)(PAGE_SIZE << o);
			unsigned int n = objects_for(bytes, size, align, &hdr);
			unsigned long waste = bytes - (unsigned long)n * size;

			if (n >= min_objs && waste * 8 <= bytes) {
				best_order = o;
				found = true;
				break;
			}
		}
	}
	if (!found) {
		/* Nothing within 1/8: the order with the least waste. */
		for (unsigned int o = 0; o <= MAX_SLAB_ORDER; o++) {
			unsigned int bytes = (unsigned int)(PAGE_SIZE << o);
			unsigned int n = objects_for(bytes, size, align, &hdr);
			unsigned long waste;

			if (!n)
				continue;
			waste = ((bytes - (unsigned long)n * size) << 16) / bytes;
			if (waste < best_waste) {
				best_waste = waste;
				best_order = o;
			}
		}
		if (best_waste == ~0UL)
			return -EINVAL;
	}
	s->order = best_order;
	s->objects = objects_for((unsigned int)(PAGE_SIZE << best_order), size,
				 align, &hdr);
	s->span = s->objects * size;
	s->hdr_size = hdr;
	s->colour_step = max(align, 64U);
	s->colours = (unsigned int)(((PAGE_SIZE << s->order) - hdr -
				     (unsigned long)s->objects * size) /
				    s->colour_step) + 1;
	return 0;
}

/**
 * cache_publish_locked - copy a cache's figures into its region record
 *
 * The record is a copy: nothing in it is read back (its seq included).
 * @s: the cache (root), lock held
 */
void cache_publish_locked(struct kmem_cache *s)
{
	struct kmem_stats_cache *r = s->stat;

	lock_assert_held(&s->lock);
	__atomic_store_n(&r->seq, ++s->stat_seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r->active_objs = s->active_objs;
	if (s->active_objs > s->peak_active_objs)
		s->peak_active_objs = s->active_objs;
	r->peak_active_objs = s->peak_active_objs;
	r->trimmed = s->trimmed;
	r->total_objs = (uint64_t)s->nr_slabs * s->objects;
	r->active_slabs = s->nr_slabs - s->nr_free_slabs;
	r->total_slabs = s->nr_slabs;
	r->depot_full = s->depot_nr_full;
	r->depot_empty = s->depot_nr_empty;
	r->depot_objs = (uint64_t)s->depot_nr_full * s->magsize;
	r->allocs_base = s->allocs_base;
	r->frees_base = s->frees_base;
	r->alloc_slow = s->alloc_slow;
	r->free_slow = s->free_slow;
	r->slabs_created = s->slabs_created;
	r->slabs_freed = s->slabs_freed;
	r->rcu_pending = s->nr_rcu_slabs;
	__atomic_store_n(&r->seq, ++s->stat_seq, __ATOMIC_RELEASE);
}

/*
 * A cache holding this many slabs is growing or large: the objects of a
 * new slab go into the refilling magazine (slab_take_objects()) and out
 * to the program before any other, so its pages are all written soon.
 */
#define SLAB_POPULATE_SLABS 8

/*
 * new_slab_populate - map a fresh slab's pages in one call where all of
 * them are about to be written: the constructor and KMEM_DEBUG write every
 * object now, and a cache of SLAB_POPULATE_SLABS slabs or more hands this
 * slab's objects out next.  A fault traps, and the trap is most of its
 * cost on a VM like the bench's: 11-15 us a page against 7-8.5 for the
 * call and the first write (performance.md, "Fresh slabs mapped in one
 * call (session 34, before and after)").  A small cache's slab is left
 * to fault in as it is used: a program that asks for one 8 KiB buffer
 * does not get 32 pages resident.  KMEM_MAP_AHEAD=0: never.
 */
static void new_slab_populate(struct kmem_cache *s, void *base)
{
	if (kmem_config.map_ahead &&
	    (s->ctor || (s->cflags & CF_DEBUG) ||
	     data_race(s->nr_slabs) >= SLAB_POPULATE_SLABS))
		kmem_os_populate(base, PAGE_SIZE << s->order);
}

/* A new slab for @s, constructed, not yet on a list.  No lock held. */
static struct slab *new_slab(struct kmem_cache *s, gfp_t gfp)
{
	unsigned int words = BITS_TO_LONGS(s->objects), colour, pages;
	unsigned char slot = (unsigned char)(s->slot_off / 16), flags = 0;
	struct slab *slab;
	struct page *page;
	bool zeroed;
	char *base;

	page = __alloc_pages(gfp & ~__GFP_ZERO, s->order, &zeroed);
	if (!page)
		return NULL;
	base = (char *)page_to_addr(page);
	if (zeroed)
		new_slab_populate(s, base);
	slab = (struct slab *)base;
	colour = __atomic_fetch_add(&s->colour_next, 1, __ATOMIC_RELAXED) %
		 s->colours;
	slab->cache = s;
	slab->inuse = 0;
	slab->free_hint = 0;
	slab->colour_off = colour * s->colour_step;
	slab->s_mem = base + s->hdr_size + slab->colour_off;
	slab->state = SLAB_FREE_LIST;
	memset(slab->bitmap, 0, words * sizeof(long));
	if (s->objects % BITS_PER_LONG)
		slab->bitmap[words - 1] = ~0UL << (s->objects % BITS_PER_LONG);
	/* What free() needs without the cache: see slab_free_page_fast(). */
	if (s->cflags & CF_MARK_FREE)
		flags = PGF_slab_marks;
	else if ((s->cflags & CF_MARKS) && !(s->cflags & CF_MARK_OUTSIDE))
		flags = PGF_slab_marks0;
	if (s->cflags & CF_MARK_OUTSIDE)
		slot = (unsigned char)(offsetof(struct slab_thread, none) / 16);
	pages = 1U << s->order;
	for (unsigned int i = 0; i < pages; i++) {
		set_page_type(&page[i], PG_slab);
		page[i].order = (unsigned char)s->order;
		page[i].slab_cache = s;
		page[i].first_obj = slab->s_mem + s->red_left;
		page[i].obj_divisor = s->divisor_m;
		page[i].obj_span = s->span;
		page[i].slot = slot;
		page[i].flags = flags;
	}
	if (s->cflags & CF_DEBUG)
		for (unsigned int i = 0; i < s->objects; i++)
			debug_init_slot(s, slab_slot(s, slab, i));
	if (s->ctor)
		for (unsigned int i = 0; i < s->objects; i++)
			s->ctor(slab_slot(s, slab, i) + s->red_left);
	return slab;
}

/**
 * __slab_free_pages - give a slab's block back to the buddy allocator
 * @s:    its cache
 * @slab: an empty slab, off every list
 */
void __slab_free_pages(struct kmem_cache *s, struct slab *slab)
{
	struct page *page = kmem_addr_to_page(slab);
	unsigned int pages = 1U << s->order;

	for (unsigned int i = 1; i < pages; i++) {
		set_page_type(&page[i], PG_tail);
		page[i].slab_cache = NULL;
		page[i].flags = 0;
	}
	set_page_type(page, PG_alloc);
	page->order = (unsigned char)s->order;
	page->slab_cache = NULL;
	page->flags = 0;
	__free_pages_ok(page, s->order);
}

static int __slab_validate(struct kmem_cache *s, bool slots);
static void __maybe_unused slab_expensive_check(struct kmem_cache *s);

/* Move a slab to the list of @state; its counts are already current. */
static void slab_set_list(struct kmem_cache *s, struct slab *slab,
			  enum slab_state state)
{
	struct list_head *to;

	if (slab->state == state)
		return;
	if (slab->state == SLAB_FREE_LIST)
		s->nr_free_slabs--;
	if (state == SLAB_FREE_LIST)
		s->nr_free_slabs++;
	to = state == SLAB_FULL_LIST ? &s->slabs_full :
	     state == SLAB_PARTIAL_LIST ? &s->slabs_partial : &s->slabs_free;
	list_move(&slab->list, to);
	slab->state = state;
	KMEM_EXPENSIVE(slab_expensive_check(s));
}

/* Take up to @want objects from one slab.  Lock held. */
static unsigned int slab_take_from(struct kmem_cache *s, struct slab *slab,
				   void **out, unsigned int want)
{
	unsigned int words = BITS_TO_LONGS(s->objects), n = 0, w;
	char *first = slab_slot(s, slab, 0) + s->red_left;

	for (w = slab->free_hint; w < words && n < want; w++) {
		unsigned long freebits = ~slab->bitmap[w], took = 0;

		/* The word's bits are set once, after its objects. */
		while (freebits && n < want) {
			unsigned long bit = freebits & -freebits;

			freebits ^= bit;
			took |= bit;
			out[n++] = first + (size_t)(w * BITS_PER_LONG +
						    __builtin_ctzl(bit)) * s->size;
		}
		slab->bitmap[w] |= took;
		if (freebits)
			break;
	}
	slab->free_hint = w;
	slab->inuse += n;
	s->active_objs += n;
	slab_set_list(s, slab, slab->inuse == s->objects ? SLAB_FULL_LIST :
							    SLAB_PARTIAL_LIST);
	return n;
}

/* Take from the slabs on the lists; lock held. */
static unsigned int take_listed(struct kmem_cache *s, void **out,
				unsigned int want)
{
	unsigned int n = 0;

	while (n < want) {
		struct slab *slab;

		if (!list_empty(&s->slabs_partial))
			slab = list_first_entry(&s->slabs_partial, struct slab,
						list);
		else if (!list_empty(&s->slabs_free))
			slab = list_first_entry(&s->slabs_free, struct slab,
						list);
		else
			break;
		n += slab_take_from(s, slab, out + n, want - n);
	}
	return n;
}

static void add_new_slab(struct kmem_cache *s, struct slab *slab)
{
	lock_assert_held(&s->lock);
	list_add(&slab->list, &s->slabs_free);
	s->nr_free_slabs++;
	s->nr_slabs++;
	s->slabs_created++;
	KMEM_EXPENSIVE(slab_expensive_check(s));
}

/**
 * slab_take_objects - take objects out of the slabs
 * @s:    the cache (root)
 * @out:  receives the objects
 * @want: how many; a magazine refill may get fewer (at least one), a
 *        bulk allocation needs them all (see @gfp)
 * @gfp:  flags for new slabs; __GFP_NOFAIL here means "all or nothing"
 *
 * New slabs are made without the lock held.  With all-or-nothing, objects
 * already taken are put back if the slabs cannot supply the rest.
 *
 * Context: s->lock not held.
 * Return: the number taken.
 */
unsigned int slab_take_objects(struct kmem_cache *s, void **out,
			       unsigned int want, gfp_t gfp)
{
	bool need_all = gfp & __GFP_NOFAIL;
	LIST_HEAD(to_free);
	unsigned int n;

	kmem_mutex_lock(&s->lock);
	n = take_listed(s, out, want);
	while (n < want && (need_all || n == 0)) {
		struct slab *slab;

		kmem_mutex_unlock(&s->lock);
		slab = new_slab(s, gfp & ~__GFP_NOFAIL);
		kmem_mutex_lock(&s->lock);
		if (!slab)
			break;
		add_new_slab(s, slab);
		n += take_listed(s, out + n, want - n);
	}
	if (need_all && n < want) {
		slab_put_objects(s, out, n, &to_free);
		n = 0;
	}
	cache_publish_locked(s);
	kmem_mutex_unlock(&s->lock);
	slab_release_list(s, &to_free);
	return n;
}

/*
 * Take an empty slab off the free list into @to_free.  A
 * SLAB_TYPESAFE_BY_RCU slab stays counted until its grace period ends.
 * Lock held.
 */
static void slab_retire(struct kmem_cache *s, struct slab *slab,
			struct list_head *to_free)
{
	list_move(&slab->list, to_free);
	s->nr_free_slabs--;
	if (s->flags & SLAB_TYPESAFE_BY_RCU) {
		slab->state = SLAB_RCU_PENDING;
		s->nr_rcu_slabs++;
	} else {
		s->nr_slabs--;
		s->slabs_freed++;
	}
	KMEM_EXPENSIVE(slab_expensive_check(s));
}

/**
 * slab_put_objects - return objects to their slabs
 * @s:       the cache (root), lock held
 * @objs:    objects of @s (slot checked by the caller)
 * @n:       how many
 * @to_free: receives slabs to give back (after unlocking, through
 *           slab_release_list)
 *
 * An object whose bit is already clear was freed twice: that is reported
 * (and aborts) before its slab is touched.
 */
void slab_put_objects(struct kmem_cache *s, void **objs, unsigned int n,
		      struct list_head *to_free)
{
	lock_assert_held(&s->lock);
	for (unsigned int i = 0; i < n;) {
		struct slab *slab = obj_to_slab(s, objs[i]);
		char *first = slab->s_mem + s->red_left;
		unsigned int k = 0;

		/* The objects of one slab in a row: its counts and list once. */
		do {
			char *obj = objs[i];

			slab_tsan_acquire(obj);	/* from a CPU's magazine (slab.h) */
			unsigned int idx = slab_slot_index(s,
					(unsigned long)(obj - first));
			unsigned int w = idx / BITS_PER_LONG;
			unsigned long bit = 1UL << (idx % BITS_PER_LONG);

			if (unlikely(!(slab->bitmap[w] & bit))) {
				kmem_mutex_unlock(&s->lock);
				slab_double_free(s, obj, "kmem_cache_free");
			}
			slab->bitmap[w] &= ~bit;
			if (w < slab->free_hint)
				slab->free_hint = w;
			k++;
		} while (++i < n && obj_to_slab(s, objs[i]) == slab);
		slab->inuse -= k;
		s->active_objs -= k;
		if (slab->inuse == 0) {
			slab_set_list(s, slab, SLAB_FREE_LIST);
			if (s->nr_free_slabs > SLAB_MIN_PARTIAL)
				slab_retire(s, slab, to_free);
		} else {
			slab_set_list(s, slab, SLAB_PARTIAL_LIST);
		}
	}
}

/**
 * slab_trim_free - move empty slabs beyond @keep to @to_free
 * @s:       the cache (root), lock held
 * @keep:    empty slabs to leave on the free list
 * @to_free: receives the slabs
 */
void slab_trim_free(struct kmem_cache *s, unsigned long keep,
		    struct list_head *to_free)
{
	lock_assert_held(&s->lock);
	while (s->nr_free_slabs > keep) {
		struct slab *slab = list_last_entry(&s->slabs_free, struct slab,
						    list);

		slab_retire(s, slab, to_free);
	}
}

/**
 * slab_release_list - give empty slabs back to the buddy allocator
 * @s:     their cache
 * @slabs: slabs from slab_put_objects() or slab_trim_free()
 *
 * For SLAB_TYPESAFE_BY_RCU caches the pages go back only after an RCU
 * grace period, so readers may still look at the objects' memory.
 *
 * Context: s->lock not held.
 */
void slab_release_list(struct kmem_cache *s, struct list_head *slabs)
{
	struct slab *slab, *tmp;

	list_for_each_entry_safe(slab, tmp, slabs, list) {
		list_del(&slab->list);
		if (s->flags & SLAB_TYPESAFE_BY_RCU)
			slab_rcu_free_slab(s, slab);
		else
			__slab_free_pages(s, slab);
	}
}

/**
 * slab_alloc_single - allocate one object straight from the slabs, taking
 * the cache lock (no magazine)
 * @s:      the cache (root)
 * @gfp:    allocation flags
 * @caller: return address of the API call (owner tracking)
 *
 * The path of debug caches, caches without magazines (the magazine caches
 * themselves) and threads without per-thread state.  Debug checks run on
 * the object before it is handed out.
 *
 * Return: the object (free marker not yet cleared), or NULL.
 */
void *slab_alloc_single(struct kmem_cache *s, gfp_t gfp, unsigned long caller)
{
	struct slab_report_defer d;
	void *obj = NULL;

	if (!slab_take_objects(s, &obj, 1, gfp))
		return NULL;
	if (unlikely(s->cflags & CF_DEBUG)) {
		slab_report_defer_begin(&d);
		kmem_mutex_lock(&s->lock);
		s->allocs_base++;
		debug_alloc_checks(s, obj_to_slab(s, obj), obj, caller);
		cache_publish_locked(s);
		kmem_mutex_unlock(&s->lock);
		slab_report_defer_end(&d);
		return obj;
	}
	kmem_mutex_lock(&s->lock);
	s->allocs_base++;
	cache_publish_locked(s);
	kmem_mutex_unlock(&s->lock);
	return obj;
}

/**
 * slab_free_single - free one object straight to its slab, taking the
 * cache lock (no magazine)
 * @s:      the cache (root)
 * @obj:    an object of @s (slot checked)
 * @caller: return address of the API call
 *
 * With debugging, a failed check (double free, corrupted red zone, ...) is
 * reported in the kernel's form and the object is not freed.
 */
void slab_free_single(struct kmem_cache *s, void *obj, unsigned long caller)
{
	bool debug = s->cflags & CF_DEBUG, ok = true;
	struct slab_report_defer d;
	LIST_HEAD(to_free);

	if (unlikely(debug))
		slab_report_defer_begin(&d);
	kmem_mutex_lock(&s->lock);
	if (debug)
		ok = debug_free_checks(s, obj_to_slab(s, obj), obj, caller);
	if (ok) {
		s->frees_base++;
		slab_put_objects(s, &obj, 1, &to_free);
		cache_publish_locked(s);
	}
	kmem_mutex_unlock(&s->lock);
	if (unlikely(debug))
		slab_report_defer_end(&d);
	slab_release_list(s, &to_free);
}

#define SFAIL(...)                                                           \
	do {                                                                 \
		slab_printk("slab_validate %s: " __VA_ARGS__);               \
		bad++;                                                       \
	} while (0)

static int validate_list(struct kmem_cache *s, struct list_head *head,
			 enum slab_state state, unsigned long *slabs,
			 unsigned long *objs, bool slots)
{
	unsigned int words = BITS_TO_LONGS(s->objects);
	struct slab *slab;
	int bad = 0;

	list_for_each_entry(slab, head, list) {
		struct page *page = kmem_addr_to_page(slab);
		unsigned int pop = 0;

		(*slabs)++;
		if (slab->cache != s)
			SFAIL("slab %p names cache %p\n", s->name, (void *)slab,
			      (void *)slab->cache);
		if (slab->state != state)
			SFAIL("slab %p on list %d says %u\n", s->name,
			      (void *)slab, state, slab->state);
		if (!page || page->type != PG_slab || page->slab_cache != s ||
		    page->first_obj != slab->s_mem + s->red_left)
			SFAIL("slab %p: page descriptor disagrees\n", s->name,
			      (void *)slab);
		for (unsigned int w = 0; w < words; w++)
			pop += (unsigned int)__builtin_popcountl(slab->bitmap[w]);
		if (s->objects % BITS_PER_LONG) {
			unsigned long tail = ~0UL << (s->objects % BITS_PER_LONG);

			if ((slab->bitmap[words - 1] & tail) != tail)
				SFAIL("slab %p: bits past the last object are clear\n",
				      s->name, (void *)slab);
			pop -= (unsigned int)__builtin_popcountl(tail);
		}
		if (pop != slab->inuse)
			SFAIL("slab %p: bitmap has %u objects out, inuse says %u\n",
			      s->name, (void *)slab, pop, slab->inuse);
		if ((state == SLAB_FULL_LIST && slab->inuse != s->objects) ||
		    (state == SLAB_FREE_LIST && slab->inuse != 0) ||
		    (state == SLAB_PARTIAL_LIST &&
		     (slab->inuse == 0 || slab->inuse == s->objects)))
			SFAIL("slab %p with %u of %u objects on list %d\n",
			      s->name, (void *)slab, slab->inuse, s->objects,
			      state);
		for (unsigned int w = 0; w < slab->free_hint && w < words; w++)
			if (~slab->bitmap[w])
				SFAIL("slab %p: free object before free_hint\n",
				      s->name, (void *)slab);
		*objs += slab->inuse;
		if (slots && (s->cflags & CF_DEBUG))
			debug_check_slab(s, slab, &bad);
	}
	return bad;
}

/**
 * slab_validate - check every invariant of a cache's slabs
 * @s: the cache
 *
 * For every slab: the bitmap's population equals the in-use count, bits
 * past the last object are set, the slab is on the list its count says,
 * its page descriptors name it; the cache's counts match the slabs; with
 * poisoning, every free object still holds the poison; with red zones,
 * every red zone is intact.  Problems are printed.
 *
 * Return: 0, or the number of problems.
 */
int slab_validate(struct kmem_cache *s)
{
	struct slab_report_defer d;
	int bad;

	s = s->root;
	slab_report_defer_begin(&d);	/* debug_check_slab() reports */
	kmem_mutex_lock(&s->lock);
	bad = __slab_validate(s, true);
	kmem_mutex_unlock(&s->lock);
	slab_report_defer_end(&d);
	return bad;
}

/*
 * slab_validate() with the cache lock held; without @slots, the debug
 * checks of every slot (poison, red zones) are left out.
 */
static int __slab_validate(struct kmem_cache *s, bool slots)
{
	unsigned long slabs = 0, objs = 0;
	int bad = 0;

	lock_assert_held(&s->lock);
	bad += validate_list(s, &s->slabs_full, SLAB_FULL_LIST, &slabs, &objs,
			     slots);
	bad += validate_list(s, &s->slabs_partial, SLAB_PARTIAL_LIST, &slabs,
			     &objs, slots);
	bad += validate_list(s, &s->slabs_free, SLAB_FREE_LIST, &slabs, &objs,
			     slots);
	if (slabs + s->nr_rcu_slabs != s->nr_slabs)
		SFAIL("%lu slabs on lists + %lu RCU-pending, count says %lu\n",
		      s->name, slabs, s->nr_rcu_slabs, s->nr_slabs);
	if (objs != s->active_objs)
		SFAIL("%lu objects out in slabs, count says %lu\n", s->name,
		      objs, s->active_objs);
	return bad;
}

/*
 * The expensive debug tier (KMEM_DEBUG_LEVEL=2): the whole cache's slabs
 * checked whenever one of them changes state (made, moved between the
 * full, partial and free lists, retired).  Cache lock held.
 *
 * Only the slab layer's own invariants: a debug cache's slots (poison,
 * red zones) are checked by the debug tier at each allocation and free of
 * the slot, where a report names the culprit and the damage is repaired
 * as the kernel does; here, mid-allocation, a slot just taken has not had
 * its red zones armed yet.
 */
static void __maybe_unused slab_expensive_check(struct kmem_cache *s)
{
	int bad = __slab_validate(s, false);

	if (unlikely(bad))
		kmem_bug(__FILE__, __LINE__,
			 "slab_validate %s: %d problems after a slab state change",
			 s->name, bad);
}
