// SPDX-License-Identifier: MIT
/*
 * slab/cache.c - the object-cache API's entry points: kmem_cache_alloc()
 * and kmem_cache_free() (and their _lru, _node and bulk forms).
 *
 * Fast path: the calling thread's magazine (slab_alloc_fast() and
 * __slab_free_fast() in slab.h), no lock.  One unlikely() branch leads
 * to the noinline slow path here, which starts kmem up, attaches the
 * thread, checks the arguments and falls back to magazine.c's refill and
 * flush, then to the locked single-object path (slab.c).  Bad pointers
 * are reported (cache_free_bad()) in the kernel's words.
 *
 * Lock order: the table in core/lock.h.
 */
#include <string.h>

#include "slab/slab.h"
#include "buddy/profile.h"
#include "kfence/kfence.h"

static noinline void *cache_alloc_slowpath(struct kmem_cache *s, gfp_t gfp,
					   unsigned long caller)
{
	void *obj;

	kmem_init();
	if (unlikely(!s)) {
		kmem_printk("kmem: kmem_cache_alloc: NULL cache\n");
		return NULL;
	}
	if (kfence_wants(s->object_size) &&
	    (obj = slab_kfence_alloc(s, s->object_size, s->align, gfp, caller)))
		return kmem_prof_alloc(obj, s->object_size, caller);
	obj = slab_alloc_fast(s);
	if (obj)
		goto out;
	obj = slab_alloc_refill(s, gfp, caller);
	if (unlikely(!obj)) {
		if (gfp & __GFP_NOFAIL)
			kmem_panic("kmem: kmem_cache_alloc(%s): __GFP_NOFAIL allocation failed: out of memory\n",
				   s->name);
		if (!(gfp & __GFP_NOWARN) && gfpflags_allow_blocking(gfp))
			kmem_printk("kmem: kmem_cache_alloc(%s): out of memory\n",
				    s->name);
		return NULL;
	}
out:
	if (gfp & __GFP_ZERO)
		memset(obj, 0, s->object_size);
	return kmem_prof_alloc(obj, s->object_size, caller);
}

/**
 * kmem_cache_alloc - allocate an object from a cache
 * @s:   the cache
 * @gfp: allocation flags (__GFP_ZERO zeroes the object)
 *
 * Constructed caches return constructed objects (the state a free left
 * them in).  Context: any thread.
 * Return: the object, or NULL.
 */
void *kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp)
{
	/* KFENCE's sample goes the slow way (cache_alloc_slowpath()). */
	if (likely(s && !(gfp & __GFP_ZERO) && !kfence_wants(s->object_size))) {
		void *obj = slab_alloc_fast(s);

		if (likely(obj))
			return kmem_prof_alloc(obj, s->object_size,
					       KMEM_RET_IP);
	}
	return cache_alloc_slowpath(s, gfp, KMEM_RET_IP);
}

/**
 * kmem_cache_alloc_lru - kmem_cache_alloc(); the list_lru is not used
 * @s:   the cache
 * @lru: ignored (no memory-cgroup reclaim in a process)
 * @gfp: allocation flags
 */
void *kmem_cache_alloc_lru(struct kmem_cache *s, struct list_lru *lru,
			   gfp_t gfp)
{
	(void)lru;
	return kmem_cache_alloc(s, gfp);
}

/**
 * kmem_cache_alloc_node - kmem_cache_alloc(); one node
 * @s:    the cache
 * @gfp:  allocation flags
 * @node: ignored
 */
void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t gfp, int node)
{
	(void)node;
	return kmem_cache_alloc(s, gfp);
}

/* Report an object that is not a slot of @s; aborts unless debugging. */
static noinline void cache_free_bad(struct kmem_cache *s, void *obj,
				    struct page *page)
{
	const char *why;

	if (!page)
		why = kmem_addr_is_ours(obj) ? "not in a slab" :
					       "not allocated by kmem";
	else if (page->type != PG_slab)
		why = "not in a slab";
	else if (page->slab_cache != s->root)
		why = "belongs to another cache";
	else
		why = "not the start of an object";
	if (s->root->cflags & CF_DEBUG) {
		slab_report(s->root, "Invalid object pointer 0x%lx (%s%s%s)",
			    (unsigned long)obj, why,
			    page && page->type == PG_slab &&
					    page->slab_cache != s->root ?
				    ": " : "",
			    page && page->type == PG_slab &&
					    page->slab_cache != s->root ?
				    page->slab_cache->name : "");
		kmem_printk("FIX %s: Object at 0x%lx not freed\n", s->name,
			    (unsigned long)obj);
		return;
	}
	slab_invalid_free(s, obj, "kmem_cache_free", why);
}

/*
 * kmem_cache_free() when the fast path did not take the object: a bad
 * pointer, a NULL cache, a full magazine or a marked (already free)
 * object.  Everything is looked at again, exactly, and reported here.
 */
static noinline void cache_free_slowpath(struct kmem_cache *s, void *obj,
					 unsigned long caller)
{
	struct page *page;

	if (unlikely(!obj))
		return;
	if (is_kfence_address(obj)) {
		kfence_free(obj, s ? s->root : NULL, caller);
		return;
	}
	page = kmem_addr_to_page(obj);
	if (!s && page && page->type == PG_slab)
		s = page->slab_cache;
	if (unlikely(!s))
		slab_invalid_free(NULL, obj, "kmem_cache_free",
				  kmem_addr_is_ours(obj) ? "not in a slab" :
							   "not allocated by kmem");
	if (!page || page->type != PG_slab || page->slab_cache != s->root ||
	    !slab_obj_check(s, page, obj)) {
		cache_free_bad(s, obj, page);
		return;
	}
	if (kmem_prof_page(page))
		kmem_prof_free(obj, page);
	if (slab_free_fast(s, obj, "kmem_cache_free"))
		return;
	slab_free_slow(s, obj, caller);
}

/**
 * kmem_cache_free - return an object to its cache
 * @s:   the cache it came from (NULL: find it from the object)
 * @obj: the object (NULL is ignored)
 *
 * A pointer that is not an object of @s (another cache's, inside an
 * object, not from kmem at all) is reported and not freed; a double free
 * is caught when it reaches the slab, and at once for caches without a
 * constructor (their free objects carry a marker).  Without debugging
 * either report aborts the process; with KMEM_DEBUG it is reported in the
 * kernel's form and the object is left alone.
 *
 * The fast path makes no call: anything but a good object going into a
 * magazine with room is passed whole to cache_free_slowpath().
 */
void kmem_cache_free(struct kmem_cache *s, void *obj)
{
	unsigned long e = section_entry_wrap((unsigned long)obj);

	/* A slab page's cache is never NULL: s is tested only for aliases. */
	if (likely(e & SECTION_ENTRY_PAGES)) {
		const struct page *page = entry_page(e, obj);

		if (likely(page->type == PG_slab && !kmem_prof_page(page) &&
			   (page->slab_cache == s ||
			    (s && page->slab_cache == s->root)) &&
			   slab_obj_check(s, page, obj) &&
			   slab_free_fast(s, obj, NULL)))
			return;
	}
	cache_free_slowpath(s, obj, (unsigned long)__builtin_return_address(0));
}

/**
 * kmem_cache_alloc_bulk - allocate @size objects, all or none
 * @s:    the cache
 * @gfp:  allocation flags
 * @size: how many
 * @p:    receives them
 *
 * Return: @size, or 0 when not all could be had (none are then held).
 */
int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t gfp, size_t size,
			  void **p)
{
	struct kmem_cache *r;
	size_t i = 0;

	kmem_init();
	if (!s || size > INT32_MAX)
		return 0;
	r = s->root;
	while (i < size) {
		void *obj = slab_alloc_fast(s);

		if (!obj)
			break;
		p[i++] = obj;
	}
	if (i < size && !(r->cflags & CF_DEBUG)) {
		size_t want = size - i;

		if (slab_take_objects(r, p + i, (unsigned int)want,
				      gfp | __GFP_NOFAIL) == want) {
			kmem_mutex_lock(&r->lock);
			r->allocs_base += want;
			cache_publish_locked(r);
			kmem_mutex_unlock(&r->lock);
			for (size_t j = i; j < size; j++)
				slab_clear_marker(r, p[j]);
			i = size;
		}
	}
	while (i < size) {
		void *obj = slab_alloc_single(r, gfp,
				(unsigned long)__builtin_return_address(0));

		if (!obj)
			break;
		slab_clear_marker(r, obj);
		p[i++] = obj;
	}
	if (i < size) {
		while (i)
			kmem_cache_free(s, p[--i]);
		return 0;
	}
	if (gfp & __GFP_ZERO)
		for (i = 0; i < size; i++)
			memset(p[i], 0, s->object_size);
	for (i = 0; i < size; i++)
		kmem_prof_alloc(p[i], s->object_size, KMEM_RET_IP);
	return (int)size;
}
