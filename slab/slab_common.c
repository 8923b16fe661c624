// SPDX-License-Identifier: MIT
/*
 * slab/slab_common.c - cache lifetime: create, merge, destroy, shrink;
 * cache ids and their records in the region; start-up and fork of the
 * slab layer.  The slabinfo snapshot is slabinfo.c's.
 *
 * Every cache, including the static ones made at start-up (kmem_cache,
 * the magazine caches, kmalloc-N), is on slab_caches, newest first as in
 * the kernel, and has an id: the index of its per-thread slot and of its
 * record in the shared region.
 *
 * Merging (aliasing) follows the kernel's find_mergeable(): a new cache
 * without a constructor and without debug, RCU or no-merge flags shares an
 * existing compatible cache (same alignment constraints, object size within
 * a word, same accounting flags) instead of getting its own slabs.  The
 * caller gets an alias: a small struct kmem_cache with the root's fast-path
 * fields copied and ->root pointing to it, so allocation costs the same,
 * while the alias keeps its own name (refused twice, as any name), its own
 * statistics record, and can be destroyed on its own.  KMEM_NOMERGE=1
 * turns merging off.
 *
 * States of a cache: live -> dying (kmem_cache_destroy running) -> gone;
 * or, if objects are still allocated when it is destroyed, reported and
 * kept (the caller's objects stay valid, as in the kernel).
 *
 * Lock order: the table in core/lock.h (slab_mutex, then a cache's
 * lock; fork takes every cache's lock with kmem_mutex_lock_nested()).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "slab/slab.h"

struct kmem_mutex slab_mutex = KMEM_MUTEX_INIT(LOCK_RANK_SLAB_MUTEX);
LIST_HEAD(slab_caches);
struct kmem_cache *kmem_cache_by_id[KMEM_STATS_MAX_CACHES] __bss_last;

static unsigned long id_map[KMEM_STATS_MAX_CACHES / 64];
static struct kmem_cache kmem_cache_boot;	/* holds struct kmem_cache */
static bool slab_merge = true;
static bool slab_magazines = true;

/* ---- ids and records ------------------------------------------------- */

static int id_alloc(void)
{
	lock_assert_held(&slab_mutex);
	for (unsigned int w = 0; w < ARRAY_SIZE(id_map); w++) {
		if (~id_map[w]) {
			unsigned int b = (unsigned int)__builtin_ctzl(~id_map[w]);

			id_map[w] |= 1UL << b;
			return (int)(w * 64 + b);
		}
	}
	return -ENOSPC;
}

static void id_free(unsigned int id)
{
	lock_assert_held(&slab_mutex);
	id_map[id / 64] &= ~(1UL << (id % 64));
}

/*
 * Write a cache's record in the region (state LIVE or ALIAS) from the
 * cache: everything but the slab-layer figures (cache_publish_locked()).
 */
static void record_fill(struct kmem_cache *s)
{
	struct kmem_stats_cache *r = kmem_region_cache_record(s->rec_id);
	struct kmem_cache *root = s->root;

	memset(r, 0, sizeof(*r));
	r->id = s->rec_id;
	r->created = s->created;
	memcpy(r->name, s->name, sizeof(r->name));
	r->object_size = s->object_size;
	r->size = root->size;
	r->align = root->align;
	r->objs_per_slab = root->objects;
	r->order = root->order;
	r->flags = s->flags;
	r->magazine_size = root->magsize;
	r->alias_of = root->id;
	r->refcount = s == root ? (uint32_t)max(s->refcount, 1) : 1;
	r->state = s == root ? KMEM_STATS_CACHE_LIVE : KMEM_STATS_CACHE_ALIAS;
	kmem_region_cache_slot_used(s->rec_id);
	s->stat = r;
}

/*
 * Fill a cache's record in the region.  Records are numbered in creation
 * order (ids are reused, so readers cannot sort by id to list the newest
 * cache first as /proc/slabinfo does).
 */
static void record_init(struct kmem_cache *s)
{
	static uint64_t nr_created;	/* slab_mutex */

	lock_assert_held(&slab_mutex);
	s->created = ++nr_created;
	kmem_region_layout_begin();
	record_fill(s);
	kmem_region_layout_end();
}

static void record_free(struct kmem_cache *s)
{
	kmem_region_layout_begin();
	s->stat->state = KMEM_STATS_CACHE_FREE;
	kmem_region_layout_end();
}

/**
 * slab_republish_locked - write every cache's record anew
 *
 * From the caches themselves: the published region was replaced
 * (kmem_republish_locked()).
 *
 * Context: slab_mutex and every cache lock held.
 */
void slab_republish_locked(void)
{
	struct kmem_cache *s;

	lock_assert_held(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		record_fill(s);
		if (!(s->cflags & CF_ALIAS))
			cache_publish_locked(s);
	}
	magazine_cpu_republish();
}

/* ---- creation -------------------------------------------------------- */

/* The kernel's calculate_alignment(). */
static unsigned int calculate_alignment(slab_flags_t flags,
					unsigned int align, unsigned int size)
{
	if (flags & SLAB_HWCACHE_ALIGN) {
		unsigned int ralign = 64;

		while (size <= ralign / 2)
			ralign /= 2;
		align = max(align, ralign);
	}
	align = max(align, (unsigned int)ARCH_SLAB_MINALIGN);
	return ALIGN(align, (unsigned int)sizeof(void *));
}

/* Set up a root cache (static or from kmem_cache_boot); slab_mutex held. */
static int cache_setup(struct kmem_cache *s, const char *name,
		       unsigned int size, unsigned int align,
		       slab_flags_t flags, void (*ctor)(void *))
{
	int id, err;

	lock_assert_held(&slab_mutex);
	memset(s, 0, sizeof(*s));
	strncpy(s->name, name, sizeof(s->name) - 1);
	s->object_size = size;
	s->flags = flags;
	s->ctor = ctor;
	s->align = calculate_alignment(flags, align, size);
	if (flags & SLAB_DEBUG_FLAGS)
		s->cflags |= CF_DEBUG;
	/* As in the kernel: no poisoning over constructed or RCU objects. */
	if (ctor || (flags & SLAB_TYPESAFE_BY_RCU))
		s->flags &= ~SLAB_POISON;
	/*
	 * Every cache without debugging marks free objects, so a double free
	 * is caught at the call (slab.h, free_marker_at()).  Constructed and
	 * RCU objects keep their bytes while free: their marker gets a word
	 * of its own after the object.  (Debugged caches check the slab's
	 * bitmap under the lock instead.)
	 */
	if (!(s->cflags & CF_DEBUG)) {
		s->cflags |= CF_MARK_FREE;	/* the layout says where */
		if (ctor || (flags & SLAB_TYPESAFE_BY_RCU))
			s->cflags |= CF_MARK_OUTSIDE;
	}
	err = slab_calculate_layout(s);
	if (err)
		return err;
	s->magsize = slab_magazines && !(s->cflags & CF_DEBUG) ?
			     magazine_size_for(s->size) : 0;
	id = id_alloc();
	if (id < 0)
		return id;
	s->id = s->rec_id = (unsigned int)id;
	s->slot_off = id < KMEM_SLOTS_INLINE ?
			     offsetof(struct slab_thread, slots[id]) :
			     offsetof(struct slab_thread, none);
	s->root = s;
	s->refcount = 1;
	kmem_mutex_init(&s->lock, LOCK_RANK_CACHE);
	INIT_LIST_HEAD(&s->slabs_full);
	INIT_LIST_HEAD(&s->slabs_partial);
	INIT_LIST_HEAD(&s->slabs_free);
	INIT_LIST_HEAD(&s->depot_full);
	INIT_LIST_HEAD(&s->depot_empty);
	record_init(s);
	kmem_mutex_lock(&s->lock);
	cache_publish_locked(s);
	kmem_mutex_unlock(&s->lock);
	list_add(&s->list, &slab_caches);
	__atomic_store_n(&kmem_cache_by_id[id], s, __ATOMIC_RELEASE);
	return 0;
}

/**
 * slab_boot_no_magazines - a boot cache served without magazines
 * @s: a cache from slab_create_boot(), before any allocation from it
 *
 * Its record says so too: kmeminfo shows the magazine size as the
 * slabinfo tunables, and must show what the in-process printer shows.
 */
void slab_boot_no_magazines(struct kmem_cache *s)
{
	s->magsize = 0;
	WRITE_ONCE(s->stat->magazine_size, 0);
}

/**
 * slab_create_boot - set up a static cache at start-up
 * @s:     its storage
 * @name:  its name
 * @size:  object size
 * @align: alignment
 * @flags: SLAB_* (KMEM_DEBUG may add debug flags)
 *
 * Return: @s.  Failure here is fatal.
 */
struct kmem_cache *slab_create_boot(struct kmem_cache *s, const char *name,
				    unsigned int size, unsigned int align,
				    slab_flags_t flags)
{
	kmem_mutex_lock(&slab_mutex);
	flags = slab_debug_flags_for(name, flags);
	if (cache_setup(s, name, size, align, flags, NULL))
		kmem_panic("kmem: cannot create boot cache %s\n", name);
	s->cflags |= CF_BOOT;
	kmem_mutex_unlock(&slab_mutex);
	return s;
}

static struct kmem_cache *find_mergeable(unsigned int size, unsigned int align,
					 slab_flags_t flags,
					 void (*ctor)(void *))
{
	struct kmem_cache *s;

	lock_assert_held(&slab_mutex);
	if (!slab_merge || ctor || (flags & SLAB_NEVER_MERGE))
		return NULL;
	size = ALIGN(size, (unsigned int)sizeof(void *));
	align = calculate_alignment(flags, align, size);
	size = ALIGN(size, align);
	list_for_each_entry_reverse(s, &slab_caches, list) {
		if (s->cflags & (CF_ALIAS | CF_DYING | CF_DEBUG) || s->ctor ||
		    (s->flags & SLAB_NEVER_MERGE) || !s->magsize ||
		    s->refcount <= 0)
			continue;
		if (size > s->size)
			continue;
		if ((flags & SLAB_MERGE_SAME) != (s->flags & SLAB_MERGE_SAME))
			continue;
		/*
		 * Objects sit a multiple of the size past the first one,
		 * which is aligned to the cache's alignment (after the slab
		 * header), not to the size: both must suit @align.
		 */
		if ((s->size & ~(align - 1)) != s->size || s->align < align)
			continue;
		if (s->size - size >= sizeof(void *))
			continue;
		return s;
	}
	return NULL;
}

static struct kmem_cache *find_by_name(const char *name)
{
	struct kmem_cache *s;

	lock_assert_held(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

static bool is_cache(struct kmem_cache *p)
{
	struct kmem_cache *s;

	lock_assert_held(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list)
		if (s == p)
			return true;
	return false;
}

static const char *check_args(const char *name, unsigned int size,
			      unsigned int align, int *err)
{
	*err = -EINVAL;
	if (!name)
		return "the name is NULL";
	if (!*name)
		return "the name is empty";
	if (strlen(name) >= KMEM_STATS_NAME_LEN)
		return "the name is longer than 47 characters";
	for (const char *p = name; *p; p++)
		if (isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return "the name contains whitespace or control characters (it would break /proc/slabinfo parsers)";
	if (!size)
		return "the object size is 0";
	if (size > (PAGE_SIZE << MAX_SLAB_ORDER) / 2)
		return "the object size is above 2 MiB";
	if (align && !is_power_of_2(align))
		return "the alignment is not a power of two";
	if (align > (PAGE_SIZE << MAX_SLAB_ORDER) / 2)
		return "the alignment is above 2 MiB";
	*err = 0;
	return NULL;
}

/*
 * poison_skipped - does KMEM_DEBUG ask for P on a cache that cannot be
 * poisoned (a constructor, or SLAB_TYPESAFE_BY_RCU: the object's contents
 * must survive a free, as in the kernel)?  True once per cache name
 * (hashes of the names already reported, slab_mutex held), so that a
 * program that creates the same cache again and again is told once.
 */
static bool poison_skipped(const char *name, slab_flags_t asked,
			   slab_flags_t flags, void (*ctor)(void *))
{
	static uint32_t told[64];
	static unsigned int nr_told;
	uint32_t h = 2166136261u;	/* FNV-1a */

	lock_assert_held(&slab_mutex);
	if (!(flags & SLAB_POISON) || (asked & SLAB_POISON) ||
	    (!ctor && !(flags & SLAB_TYPESAFE_BY_RCU)))
		return false;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (unsigned int i = 0; i < min(nr_told, (unsigned int)ARRAY_SIZE(told)); i++)
		if (told[i] == h)
			return false;
	told[nr_told++ % ARRAY_SIZE(told)] = h;
	return true;
}

static struct kmem_cache *create_cache(const char *name, unsigned int size,
				       unsigned int align, slab_flags_t flags,
				       void (*ctor)(void *),
				       unsigned long caller)
{
	bool quiet = flags & SLAB_NOWARN, no_poison;
	struct kmem_cache *s = NULL, *root;
	slab_flags_t asked;
	const char *why;
	int err;

	kmem_init();
	flags &= ~SLAB_NOWARN;
	why = check_args(name, size, align, &err);
	if (why)
		goto out_fail;
	kmem_mutex_lock(&slab_mutex);
	if (find_by_name(name)) {
		err = -EEXIST;
		why = "a cache with this name exists";
		goto out_unlock;
	}
	asked = flags;
	flags = slab_debug_flags_for(name, flags);
	no_poison = poison_skipped(name, asked, flags, ctor);
	root = find_mergeable(size, align, flags, ctor);
	s = slab_alloc_single(&kmem_cache_boot, GFP_KERNEL | __GFP_NOWARN,
			      caller);
	if (!s) {
		err = -ENOMEM;
		why = "out of memory";
		goto out_unlock;
	}
	if (root) {
		int id = id_alloc();

		if (id < 0) {
			err = id;
			why = "too many caches (4096)";
			goto out_free;
		}
		*s = *root;
		memset(s->name, 0, sizeof(s->name));
		strncpy(s->name, name, sizeof(s->name) - 1);
		s->cflags |= CF_ALIAS;
		s->cflags &= ~CF_BOOT;
		s->object_size = size;
		s->flags = flags;
		s->rec_id = (unsigned int)id;
		s->refcount = 1;
		root->refcount++;
		root->stat->refcount = (uint32_t)root->refcount;
		record_init(s);
		list_add(&s->list, &slab_caches);
	} else {
		err = cache_setup(s, name, size, align, flags, ctor);
		if (err) {
			why = err == -ENOSPC ? "too many caches (4096)" :
					       "the object does not fit a slab";
			goto out_free;
		}
	}
	kmem_mutex_unlock(&slab_mutex);
	if (no_poison)
		kmem_printk("kmem: KMEM_DEBUG: cache %s is not poisoned (P): it has %s, whose contents must survive a free (as in the kernel); writes after free go unseen there\n",
			    name, ctor ? "a constructor" : "SLAB_TYPESAFE_BY_RCU");
	return s;

out_free:
	slab_free_single(&kmem_cache_boot, s, caller);
	s = NULL;
out_unlock:
	kmem_mutex_unlock(&slab_mutex);
out_fail:
	if (flags & SLAB_PANIC)
		kmem_panic("kmem: kmem_cache_create: failed to create slab '%s': %s (error %d)\n",
			   name ? name : "(null)", why, err);
	if (!quiet)
		kmem_printk("kmem: kmem_cache_create(%s) failed with error %d: %s\n",
			    name ? name : "(null)", err, why);
	errno = -err;
	return NULL;
}

/**
 * __kmem_cache_create - create a cache (the 5-argument form)
 * @name:  name shown in slabinfo: printable, no whitespace, unique
 * @size:  object size in bytes
 * @align: required alignment (0 or a power of two)
 * @flags: SLAB_* flags
 * @ctor:  constructor run once per object when its slab is made, or NULL
 *
 * Called through the kmem_cache_create() macro.
 * Return: the cache, or NULL with a message (none with SLAB_NOWARN;
 * SLAB_PANIC aborts instead).
 */
struct kmem_cache *__kmem_cache_create(const char *name, unsigned int size,
				       unsigned int align, slab_flags_t flags,
				       void (*ctor)(void *))
{
	return create_cache(name, size, align, flags, ctor,
			    (unsigned long)__builtin_return_address(0));
}

/**
 * __kmem_cache_create_args - create a cache (struct kmem_cache_args form)
 * @name:        see __kmem_cache_create()
 * @object_size: object size
 * @args:        alignment and constructor (usercopy fields ignored)
 * @flags:       SLAB_* flags
 */
struct kmem_cache *__kmem_cache_create_args(const char *name,
					    unsigned int object_size,
					    struct kmem_cache_args *args,
					    slab_flags_t flags)
{
	static struct kmem_cache_args none;

	if (!args)
		args = &none;
	return create_cache(name, object_size, args->align, flags, args->ctor,
			    (unsigned long)__builtin_return_address(0));
}

/**
 * __kmem_cache_default_args - create a cache with default arguments
 * @name:        see __kmem_cache_create()
 * @object_size: object size
 * @args:        NULL
 * @flags:       SLAB_* flags
 */
struct kmem_cache *__kmem_cache_default_args(const char *name,
					     unsigned int object_size,
					     struct kmem_cache_args *args,
					     slab_flags_t flags)
{
	(void)args;
	return create_cache(name, object_size, 0, flags, NULL,
			    (unsigned long)__builtin_return_address(0));
}

/**
 * kmem_cache_create_usercopy - create a cache with a usercopy region
 * @name:       see __kmem_cache_create()
 * @size:       object size
 * @align:      alignment
 * @flags:      SLAB_* flags
 * @useroffset: ignored (no user copies in a process)
 * @usersize:   ignored
 * @ctor:       constructor
 */
struct kmem_cache *kmem_cache_create_usercopy(const char *name,
					      unsigned int size,
					      unsigned int align,
					      slab_flags_t flags,
					      unsigned int useroffset,
					      unsigned int usersize,
					      void (*ctor)(void *))
{
	(void)useroffset;
	(void)usersize;
	return create_cache(name, size, align, flags, ctor,
			    (unsigned long)__builtin_return_address(0));
}

/* ---- destruction and shrinking -------------------------------------- */

static void trim_all_free(struct kmem_cache *r)
{
	LIST_HEAD(to_free);

	kmem_mutex_lock(&r->lock);
	slab_trim_free(r, 0, &to_free);
	cache_publish_locked(r);
	kmem_mutex_unlock(&r->lock);
	slab_release_list(r, &to_free);
}

/**
 * kmem_cache_destroy - destroy a cache
 * @s: the cache (NULL is ignored)
 *
 * Waits for pending RCU frees (rcu_barrier for SLAB_TYPESAFE_BY_RCU
 * caches, and kmem's own deferred frees), takes back the magazines of
 * every thread (the caller must ensure no thread still uses the cache) and
 * frees the slabs.  If objects are still allocated, reports "Slab cache
 * still has objects" with their count (and owners when tracked) and keeps
 * the cache and those slabs: the caller's objects stay valid.
 */
void kmem_cache_destroy(struct kmem_cache *s)
{
	unsigned long caller = (unsigned long)__builtin_return_address(0);
	struct kmem_cache *root;
	unsigned long left;

	if (!s)
		return;
	kmem_init();
	kmem_mutex_lock(&slab_mutex);
	if (!is_cache(s) || (s->cflags & CF_DYING)) {
		kmem_mutex_unlock(&slab_mutex);
		kmem_printk("kmem: kmem_cache_destroy: %p is not a live cache\n",
			    (void *)s);
		return;
	}
	if (s->cflags & CF_BOOT) {
		kmem_mutex_unlock(&slab_mutex);
		kmem_printk("kmem: kmem_cache_destroy: %s is kmem's own cache\n",
			    s->name);
		return;
	}
	root = s->root;
	if (s != root) {
		/* An alias: its name goes; the root goes with its last name. */
		list_del(&s->list);
		id_free(s->rec_id);
		record_free(s);
		kmem_mutex_unlock(&slab_mutex);
		slab_free_single(&kmem_cache_boot, s, caller);
		s = root;
		kmem_mutex_lock(&slab_mutex);
	}
	if (--s->refcount > 0) {
		s->stat->refcount = (uint32_t)s->refcount;
		kmem_mutex_unlock(&slab_mutex);
		return;
	}
	/* Under the cache lock too: flush_slot() reads it under that one. */
	kmem_mutex_lock(&s->lock);
	s->cflags |= CF_DYING;
	kmem_mutex_unlock(&s->lock);
	kmem_mutex_unlock(&slab_mutex);

	if (s->flags & SLAB_TYPESAFE_BY_RCU)
		slab_rcu_call_barrier();
	slab_rcu_barrier();
	magazine_flush_cache(s, true);
	magazine_depot_drain(s);
	trim_all_free(s);
	if (s->flags & SLAB_TYPESAFE_BY_RCU)
		slab_rcu_barrier();

	kmem_mutex_lock(&s->lock);
	left = s->active_objs;
	kmem_mutex_unlock(&s->lock);
	kmem_mutex_lock(&slab_mutex);
	if (left) {
		char sym[128];

		kmem_mutex_lock(&s->lock);
		s->cflags &= ~CF_DYING;
		kmem_mutex_unlock(&s->lock);
		s->refcount = 0;
		kmem_mutex_unlock(&slab_mutex);
		kmem_print_symbol(sym, sizeof(sym), caller);
		kmem_printk("kmem: kmem_cache_destroy %s: Slab cache still has objects when called from %s\n",
			    s->name, sym);
		kmem_printk("kmem: %s: %lu objects still allocated; the cache is kept\n",
			    s->name, left);
		if (s->flags & SLAB_STORE_USER)
			debug_report_leaks(s, caller);
		return;
	}
	list_del(&s->list);
	__atomic_store_n(&kmem_cache_by_id[s->id], NULL, __ATOMIC_RELEASE);
	id_free(s->id);
	record_free(s);
	kmem_mutex_unlock(&slab_mutex);
	slab_free_single(&kmem_cache_boot, s, caller);
}

/**
 * kmem_cache_shrink - give a cache's free memory back
 * @s: the cache
 *
 * Returns every CPU's magazines (per-CPU mode; the calling thread's in
 * the per-thread mode) and the depot to the slabs and
 * every empty slab to the buddy allocator.  In the per-thread mode other
 * threads' magazines are theirs until they exit (or the cache is
 * destroyed).
 *
 * Return: 0.
 */
int kmem_cache_shrink(struct kmem_cache *s)
{
	kmem_init();
	if (!s)
		return 0;
	magazine_flush_cache(s, false);
	magazine_depot_drain(s);
	trim_all_free(s->root);
	return 0;
}

/**
 * slab_shrink_all - kmem_cache_shrink() every cache
 */
void slab_shrink_all(void)
{
	struct kmem_cache *s;

	kmem_mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		if (s->cflags & (CF_ALIAS | CF_DYING))
			continue;
		magazine_flush_cache_locked(s);
		magazine_depot_drain(s);
		trim_all_free(s);
	}
	kmem_mutex_unlock(&slab_mutex);
}

/**
 * kmem_cache_size - the object size of a cache
 * @s: the cache
 */
unsigned int kmem_cache_size(struct kmem_cache *s)
{
	return s->object_size;
}

/**
 * kmem_cache_name - the name of a cache
 * @s: the cache
 */
const char *kmem_cache_name(struct kmem_cache *s)
{
	return s->name;
}

/* ---- reports --------------------------------------------------------- */

/**
 * slab_double_free - report a double free and abort
 * @s:    the cache
 * @obj:  the object
 * @func: the API function that saw it
 */
void slab_double_free(struct kmem_cache *s, const void *obj, const char *func)
{
	kmem_panic("kmem: %s(): double free or corruption (cache %s): 0x%lx\n",
		   func, s->name, (unsigned long)obj);
}

/**
 * slab_invalid_free - report a pointer that is not an object, and abort
 * @s:    the cache named by the caller (may be NULL)
 * @obj:  the pointer
 * @func: the API function
 * @why:  what is wrong with it
 */
void slab_invalid_free(struct kmem_cache *s, const void *obj,
		       const char *func, const char *why)
{
	if (s)
		kmem_panic("kmem: %s(%s): invalid pointer 0x%lx: %s\n", func,
			   s->name, (unsigned long)obj, why);
	kmem_panic("kmem: %s(): invalid pointer 0x%lx: %s\n", func,
		   (unsigned long)obj, why);
}

/* ---- start-up and fork ---------------------------------------------- */

/**
 * slab_init - set up the slab layer
 * @debug:     KMEM_DEBUG (slab_debug= syntax), or NULL
 * @merge:     merge compatible caches
 * @magazines: per-thread magazines (off: every operation locks)
 *
 * Context: start-up, after buddy_init().
 */
void slab_init(const char *debug, bool merge, bool magazines)
{
	slab_merge = merge;
	slab_magazines = magazines;
	if (getrandom(&kmem_free_secret, sizeof(kmem_free_secret),
		      GRND_NONBLOCK) != sizeof(kmem_free_secret))
		kmem_free_secret = (unsigned long)kmem_now_ns() * 0x9e3779b97f4a7c15UL ^
				   (unsigned long)&kmem_free_secret;
	kmem_free_secret |= 1;
	slab_debug_parse(debug);
	kmem_thread_register_part(&slab_thread_part);
	slab_create_boot(&kmem_cache_boot, "kmem_cache",
			 sizeof(struct kmem_cache), 64,
			 SLAB_HWCACHE_ALIGN | SLAB_NO_MERGE);
	slab_boot_no_magazines(&kmem_cache_boot);
	magazine_init(magazines);
	buddy_reaper_add_hook(magazine_depot_trim);
	buddy_reclaim_set_hook(magazine_depot_reclaim);
}

/**
 * slab_fork_prepare - take slab_mutex and every cache lock before fork()
 */
void slab_fork_prepare(void)
{
	struct kmem_cache *s;

	kmem_mutex_lock(&slab_mutex);
	/* Every cache's lock at once, in the list's order, under slab_mutex. */
	list_for_each_entry(s, &slab_caches, list)
		if (!(s->cflags & CF_ALIAS))
			kmem_mutex_lock_nested(&s->lock);
}

/**
 * slab_fork_parent - release them in the parent
 */
void slab_fork_parent(void)
{
	struct kmem_cache *s;

	list_for_each_entry(s, &slab_caches, list)
		if (!(s->cflags & CF_ALIAS))
			kmem_mutex_unlock(&s->lock);
	kmem_mutex_unlock(&slab_mutex);
}

/**
 * slab_fork_child - reset them in the child
 */
void slab_fork_child(void)
{
	struct kmem_cache *s;

	list_for_each_entry(s, &slab_caches, list)
		if (!(s->cflags & CF_ALIAS))
			kmem_mutex_reinit(&s->lock);
	kmem_mutex_reinit(&slab_mutex);
	magazine_fork_child();
}

static void slab_layer_init(void)
{
	slab_init(kmem_config.debug, kmem_config.merge, kmem_config.magazines);
}

KMEM_LAYER(slab_layer, "slab", LAYER_SLAB, LOCK_RANK_SLAB_MUTEX,
	.init = slab_layer_init, .lock = slab_fork_prepare,
	.republish = slab_republish_locked, .unlock = slab_fork_parent,
	.fork_child = slab_fork_child);
