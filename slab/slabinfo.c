// SPDX-License-Identifier: MIT
/*
 * slab/slabinfo.c - /proc/slabinfo for this process: a snapshot of every
 * cache (kmem_slabinfo_snapshot()), summing each thread's (and each
 * CPU's) magazine counts, and the kernel's version 2.1 text, line by line.  kmeminfo
 * prints the same format from another process's published region.
 *
 * Lock order: the table in core/lock.h.
 */
#include <string.h>

#include "slab/slab.h"

struct thread_counts {
	unsigned int id;
	unsigned long allocs, frees, held;
};

static void sum_thread_counts(void *part, pid_t tid, void *arg)
{
	struct thread_counts *tc = arg;
	struct magazine_slot *c = slot_lookup(part, tc->id);

	(void)tid;
	/* The owner sets its slot up without a lock (slot_get): one seen
	 * half set up counts as empty or from zero, in this snapshot only. */
	if (!c || !data_race(c->magsize) || data_race(c->cache_id) != tc->id)
		return;
	tc->allocs += slot_allocs(c);
	tc->frees += slot_frees(c);
	/* Moved by the owner without a lock: may be slightly stale. */
	tc->held += data_race(c->rounds) + data_race(c->prev_rounds);
}

static void fill_slabinfo(struct kmem_cache *s, struct kmem_slabinfo *si)
{
	struct thread_counts tc = { .id = s->id }, cc = { .id = s->id };

	memset(si, 0, sizeof(*si));
	kmem_thread_for_each(&slab_thread_part, sum_thread_counts, &tc);
	magazine_cpu_for_each(sum_thread_counts, &cc);
	kmem_mutex_lock(&s->lock);
	memcpy(si->name, s->name, sizeof(si->name));
	si->active_objs = s->active_objs;
	si->num_objs = s->nr_slabs * s->objects;
	si->active_slabs = s->nr_slabs - s->nr_free_slabs;
	si->num_slabs = s->nr_slabs;
	si->objsize = s->size;
	si->object_size = s->object_size;
	si->objs_per_slab = s->objects;
	si->pages_per_slab = 1U << s->order;
	si->magazine_size = s->magsize;
	si->refcount = (unsigned int)s->refcount;
	si->depot_objs = s->depot_nr_full * s->magsize;
	si->thread_objs = tc.held;
	si->cpu_objs = (unsigned int)cc.held;
	si->allocs = s->allocs_base + tc.allocs + cc.allocs;
	si->frees = s->frees_base + tc.frees + cc.frees;
	si->alloc_slow = s->alloc_slow;
	si->free_slow = s->free_slow;
	si->slabs_created = s->slabs_created;
	si->slabs_freed = s->slabs_freed;
	si->flags = s->flags;
	kmem_mutex_unlock(&s->lock);
	tc.held += cc.held;
	si->inuse_objs = si->active_objs > si->depot_objs + tc.held ?
				 si->active_objs - si->depot_objs - tc.held :
				 0;
}

/**
 * kmem_slabinfo_snapshot - the caches as /proc/slabinfo lists them
 * @out: receives up to @max entries, newest cache first
 * @max: room in @out
 *
 * Return: the number of caches (may exceed @max; only @max are filled).
 */
int kmem_slabinfo_snapshot(struct kmem_slabinfo *out, int max)
{
	struct kmem_cache *s;
	int n = 0;

	kmem_init();
	kmem_thread_lock();
	kmem_mutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		if (s->cflags & CF_ALIAS)
			continue;
		if (n < max)
			fill_slabinfo(s, &out[n]);
		n++;
	}
	kmem_mutex_unlock(&slab_mutex);
	kmem_thread_unlock();
	return n;
}

/**
 * kmem_slabinfo_format_line - one /proc/slabinfo 2.1 line
 * @si:  the cache
 * @buf: destination
 * @len: its size
 *
 * The kernel's format: name, active and total objects, object size,
 * objects per slab, pages per slab; tunables (limit and batchcount are
 * the magazine size, sharedfactor 0); slabdata (active and total slabs,
 * sharedavail: objects in the depot, kmem's shared layer).
 *
 * Return: the line's length.
 */
int kmem_slabinfo_format_line(const struct kmem_slabinfo *si, char *buf,
			      size_t len)
{
	return kmem_snprintf(buf, len,
			     "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n",
			     si->name, si->active_objs, si->num_objs,
			     si->objsize, si->objs_per_slab,
			     (int)si->pages_per_slab, si->magazine_size,
			     si->magazine_size, 0U, si->active_slabs,
			     si->num_slabs, si->depot_objs);
}

/**
 * kmem_slabinfo_print - write /proc/slabinfo for this process
 * @fd: where
 *
 * Return: 0, or -ENOMEM if no room for the snapshot.
 */
int kmem_slabinfo_print(int fd)
{
	struct kmem_slabinfo *si;
	int n, max = 0;
	char line[256];

	size_t bytes;

	n = kmem_slabinfo_snapshot(NULL, 0);
	for (;;) {
		max = n + 16;
		bytes = sizeof(*si) * (size_t)max;
		si = alloc_pages_exact(bytes, GFP_KERNEL | __GFP_NOWARN);
		if (!si)
			return -ENOMEM;
		n = kmem_slabinfo_snapshot(si, max);
		if (n <= max)
			break;
		free_pages_exact(si, bytes);
	}
	kmem_write_all(fd, KMEM_SLABINFO_HEADER, strlen(KMEM_SLABINFO_HEADER));
	for (int i = 0; i < n; i++) {
		int l = kmem_slabinfo_format_line(&si[i], line, sizeof(line));

		kmem_write_all(fd, line, min((size_t)l, sizeof(line) - 1));
	}
	free_pages_exact(si, bytes);
	return 0;
}
