// SPDX-License-Identifier: MIT
/*
 * buddy/section.c - sections and the page table.
 *
 * kmem's memory arrives in sections: SECTION_SIZE (32 MiB) mappings aligned
 * to their size, each holding MAX_BLOCKS_PER_SECTION max-order blocks.  A
 * two-level table over the user address space (KMEM_ADDR_BITS, 47 bits on
 * x86-64 and 48 on aarch64: buddy/arch.h), the userspace counterpart
 * of the kernel's SPARSEMEM mem_section[], maps every SECTION_SIZE window
 * to the section that owns it:
 *
 *   kmem_section_root[addr >> 40]  ->  leaf[(addr >> 25) & 32767]  ->  entry
 *
 * (128 root entries for 47 bits, 256 for 48: 1 or 2 KiB.)
 *
 * Both levels are read without locks (two dependent loads), which is how
 * free() turns any pointer into its page descriptor, or learns that the
 * pointer is foreign, in O(1).  A BUDDY section's entry is its descriptor
 * array, tagged (bit 0), so the descriptor is one add away; other entries
 * point to the struct kmem_section.  Leaves are mapped on first use and never
 * freed; entries change only under section_lock and are published with
 * release stores.
 *
 * Three kinds of section share the table:
 *  - BUDDY: pages for the zone.  Their struct page descriptors live apart,
 *    in a slot of a DESC section, so a buffer overrun in a page never
 *    reaches the allocator's books.
 *  - DESC: a SECTION_SIZE arena of descriptor arrays, 64 slots of 512 KiB:
 *    a 64-byte header naming the section, then its 256 KiB of descriptors
 *    (DESC_HEADER, buddy.h).
 *    Being in the table, a struct page pointer can be checked (is it a
 *    descriptor of ours, and of which section?) without dereferencing it;
 *    a trusted one finds its section through the header in one load.
 *  - HUGE: one allocation above the largest buddy order, mapped alone and
 *    aligned to SECTION_SIZE; every window it covers points to it.
 *
 * Lock order: the table in core/lock.h (section_lock under zone->lock).
 * The OS is called with
 * section_lock held only for bookkeeping-sized mappings (leaves, descriptor
 * pool); sections and huge mappings are mapped outside it.
 */
#include <errno.h>
#include <string.h>

#include "buddy/buddy.h"

BUILD_BUG_ON(DESC_SLOT_SIZE * DESC_SLOTS != SECTION_SIZE);
BUILD_BUG_ON(DESC_HEADER + PAGES_PER_SECTION * sizeof(struct page) >
	     DESC_SLOT_SIZE);
BUILD_BUG_ON(MAX_BLOCKS_PER_SECTION != 8);
BUILD_BUG_ON(SECTION_SIZE % HPAGE_SIZE);	/* sections start on huge pages */

/*
 * The leaf of every root slot that has none yet: all zeros, never
 * written.  It sits in .bss (page-aligned, apart from the variables that
 * are written: __bss_cold), so reading it maps the zero page and costs
 * no memory; the root's 1 KiB is filled with its address at load time.
 */
static unsigned long leaf_none[SECTION_LEAF_SIZE] __bss_cold;

unsigned long *kmem_section_root[SECTION_ROOT_SIZE] = {
	[0 ... SECTION_ROOT_SIZE - 1] = leaf_none,
};

static struct kmem_mutex section_lock = KMEM_MUTEX_INIT(LOCK_RANK_SECTION);
static LIST_HEAD(desc_arenas);		/* DESC sections */
static LIST_HEAD(huge_list);		/* HUGE sections */
static unsigned long nr_buddy;		/* section_lock: BUDDY sections mapped */
static struct kmem_section *sec_pool;	/* free descriptors, linked by desc */

/*
 * The first descriptors, and the first DESC arena's owner table, are
 * static: a small process (one BUDDY section, one arena) then writes no
 * bookkeeping page of its own for them, only a few hundred bytes of .bss
 * beside the other variables start-up writes (performance.md, "Fixed
 * footprint").  Neither is ever freed to the OS, as the mapped ones are
 * not.
 */
#define SEC_BOOT	4
static struct kmem_section sec_boot[SEC_BOOT];	/* section_lock */
static bool sec_boot_used;			/* section_lock */
static struct kmem_section *owners_boot[DESC_SLOTS];
static bool owners_boot_used;			/* section_lock */

/* Put @n descriptors at @first on the free pool. */
static void sec_pool_fill(struct kmem_section *first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		first[i].desc = sec_pool;
		sec_pool = &first[i];
	}
}

/* A descriptor for a section: the static ones, then whole pages. */
static struct kmem_section *sec_desc_alloc(void)
{
	struct kmem_section *sec;

	lock_assert_held(&section_lock);
	if (!sec_pool && !sec_boot_used) {
		sec_boot_used = true;
		sec_pool_fill(sec_boot, SEC_BOOT);
	}
	if (!sec_pool) {
		char *page = kmem_os_map(PAGE_SIZE, PAGE_SIZE);

		if (!page)
			return NULL;
		sec_pool_fill((struct kmem_section *)page,
			      PAGE_SIZE / sizeof(*sec));
	}
	sec = sec_pool;
	sec_pool = sec->desc;
	memset(sec, 0, sizeof(*sec));
	return sec;
}

static void sec_desc_free(struct kmem_section *sec)
{
	lock_assert_held(&section_lock);
	memset(sec, 0, sizeof(*sec));
	sec->desc = sec_pool;
	sec_pool = sec;
}

/* Make sure leaves exist for every window of [base, base + size). */
static int table_prepare(unsigned long base, unsigned long size)
{
	unsigned long last = base + size - 1;

	lock_assert_held(&section_lock);
	if ((last >> KMEM_ADDR_BITS) || last < base)
		return -EINVAL;
	for (unsigned long r = base >> (SECTION_SHIFT + SECTION_LEAF_BITS);
	     r <= last >> (SECTION_SHIFT + SECTION_LEAF_BITS); r++) {
		unsigned long *leaf;

		if (kmem_section_root[r] != leaf_none)
			continue;
		leaf = kmem_os_map(SECTION_LEAF_SIZE * sizeof(*leaf), PAGE_SIZE);
		if (!leaf)
			return -ENOMEM;
		__atomic_store_n(&kmem_section_root[r], leaf, __ATOMIC_RELEASE);
	}
	return 0;
}

/* Point every window of [base, base + size) at @sec (NULL to clear). */
static void table_set(unsigned long base, unsigned long size,
		      struct kmem_section *sec)
{
	unsigned long e = (unsigned long)sec;

	lock_assert_held(&section_lock);
	if (sec && sec->kind == SECTION_BUDDY)
		e = (unsigned long)sec->pages | SECTION_ENTRY_PAGES;
	for (unsigned long w = base >> SECTION_SHIFT;
	     w <= (base + size - 1) >> SECTION_SHIFT; w++) {
		unsigned long *leaf = kmem_section_root[w >> SECTION_LEAF_BITS];

		__atomic_store_n(&leaf[w & (SECTION_LEAF_SIZE - 1)], e,
				 __ATOMIC_RELEASE);
	}
}

/**
 * addr_to_section - the section covering @a
 * @a: any address
 *
 * Return: the section, or NULL if @a is foreign.
 */
struct kmem_section *addr_to_section(unsigned long a)
{
	unsigned long e = section_entry(a);

	if (e & SECTION_ENTRY_PAGES)
		return page_section((struct page *)(e & ~SECTION_ENTRY_PAGES));
	return (struct kmem_section *)e;
}

/* A free descriptor slot; maps a new DESC arena when all are taken. */
static struct page *desc_slot_get(struct kmem_section *owner)
{
	struct kmem_section *arena;
	void *base;

	lock_assert_held(&section_lock);
	list_for_each_entry(arena, &desc_arenas, node) {
		for (unsigned int i = 0; i < DESC_SLOTS; i++) {
			if (!arena->owners[i]) {
				arena->owners[i] = owner;
				owner->desc = arena;
				return (struct page *)(arena->base +
						       i * DESC_SLOT_SIZE +
						       DESC_HEADER);
			}
		}
	}
	arena = sec_desc_alloc();
	if (!arena)
		return NULL;
	if (!owners_boot_used) {
		owners_boot_used = true;
		arena->owners = owners_boot;
	} else {
		arena->owners = kmem_os_map(ALIGN(DESC_SLOTS * sizeof(void *),
						  PAGE_SIZE), PAGE_SIZE);
	}
	if (!arena->owners)
		goto out_free_desc;
	base = kmem_os_map(SECTION_SIZE, SECTION_SIZE);
	if (!base)
		goto out_unmap_owners;
	if (table_prepare((unsigned long)base, SECTION_SIZE))
		goto out_unmap_base;
	arena->base = (unsigned long)base;
	arena->size = SECTION_SIZE;
	arena->kind = SECTION_DESC;
	list_add_tail(&arena->node, &desc_arenas);
	table_set(arena->base, SECTION_SIZE, arena);
	arena->owners[0] = owner;
	owner->desc = arena;
	return (struct page *)((char *)base + DESC_HEADER);

out_unmap_base:
	kmem_os_unmap(base, SECTION_SIZE);
out_unmap_owners:
	if (arena->owners == owners_boot)
		owners_boot_used = false;
	else
		kmem_os_unmap(arena->owners,
			      ALIGN(DESC_SLOTS * sizeof(void *), PAGE_SIZE));
out_free_desc:
	sec_desc_free(arena);
	return NULL;
}

/**
 * page_section - the buddy section a descriptor belongs to
 * @page: a pointer that claims to be a struct page of ours
 *
 * Checked through the table, never by dereferencing @page.
 *
 * Return: the section, or NULL if @page is not one of our descriptors.
 */
struct kmem_section *page_section(const struct page *page)
{
	unsigned long a = (unsigned long)page, off;
	struct kmem_section *arena = (struct kmem_section *)section_entry(a);
	struct kmem_section *owner;

	if (!arena || ((unsigned long)arena & SECTION_ENTRY_PAGES) ||
	    arena->kind != SECTION_DESC)
		return NULL;
	off = a - arena->base;
	owner = READ_ONCE(arena->owners[off / DESC_SLOT_SIZE]);
	off %= DESC_SLOT_SIZE;
	if (!owner || off < DESC_HEADER ||
	    off >= DESC_HEADER + PAGES_PER_SECTION * sizeof(struct page) ||
	    (off - DESC_HEADER) % sizeof(struct page))
		return NULL;
	return owner;
}

/**
 * kmem_addr_is_ours - is @addr inside memory kmem handed out or manages?
 * @addr: any address
 *
 * Return: true for addresses in our buddy sections and huge mappings;
 * false for foreign addresses (stack, static data, other allocators) and
 * for our descriptor arenas.
 */
bool kmem_addr_is_ours(const void *addr)
{
	unsigned long a = (unsigned long)addr;
	struct kmem_section *sec = addr_to_section(a);

	if (!sec || sec->kind == SECTION_DESC)
		return false;
	return a - sec->base < sec->size;
}

/**
 * section_create_buddy - map a new section for the zone
 * @may_map: false for GFP_NOWAIT-style callers: fail instead of mapping
 *
 * Maps the section and its descriptors; every max-order block's head is
 * initialised as a free, zeroed, not-resident block.  The caller puts the
 * blocks on the zone's lists.
 *
 * Context: zone lock not held (this calls mmap).
 * Return: the section, or NULL (errno ENOMEM).
 */
struct kmem_section *section_create_buddy(bool may_map)
{
	struct kmem_section *sec;
	void *base;

	if (!may_map)
		return NULL;
	base = kmem_os_map(SECTION_SIZE, SECTION_SIZE);
	if (!base)
		return NULL;
	/* KMEM_THP=always: 16 huge pages, filled lowest address first. */
	if (READ_ONCE(kmem_config.thp) == KMEM_THP_ALWAYS)
		kmem_os_hugepage(base, SECTION_SIZE);
	kmem_mutex_lock(&section_lock);
	sec = sec_desc_alloc();
	if (!sec)
		goto out_unlock;
	sec->pages = desc_slot_get(sec);
	if (!sec->pages)
		goto out_free_desc;
	if (table_prepare((unsigned long)base, SECTION_SIZE))
		goto out_put_slot;
	sec->base = (unsigned long)base;
	sec->size = SECTION_SIZE;
	sec->kind = SECTION_BUDDY;
	sec->nr_free_max = MAX_BLOCKS_PER_SECTION;
	/*
	 * Only the first block's head is written: the others' descriptors
	 * lie on seven other pages of the descriptor array, which the zone
	 * touches when it carves those blocks (zone_carve()), if ever.
	 */
	sec->nr_uncarved = MAX_BLOCKS_PER_SECTION - 1;
	page_slot(sec->pages)->sec = sec;
	page_slot(sec->pages)->base = sec->base;
	sec->pages[0].type = PG_buddy;
	sec->pages[0].order = MAX_PAGE_ORDER;
	sec->pages[0].flags = PGF_zeroed | PGF_released;
	table_set(sec->base, SECTION_SIZE, sec);
	nr_buddy++;
	kmem_mutex_unlock(&section_lock);
	return sec;

out_put_slot:
	sec->desc->owners[((unsigned long)page_slot(sec->pages) -
			   sec->desc->base) / DESC_SLOT_SIZE] = NULL;
out_free_desc:
	sec_desc_free(sec);
out_unlock:
	kmem_mutex_unlock(&section_lock);
	kmem_os_unmap(base, SECTION_SIZE);
	errno = ENOMEM;
	return NULL;
}

/**
 * section_destroy_buddy - unmap a section whose blocks are all free
 * @sec: the section, already taken off every zone list
 *
 * The descriptors' memory goes back to the OS (the slot reads as zeros for
 * its next owner).
 *
 * Context: zone lock not held.
 */
void section_destroy_buddy(struct kmem_section *sec)
{
	struct kmem_section *arena = sec->desc;
	struct desc_slot *ds = page_slot(sec->pages);
	unsigned long slot = ((unsigned long)ds - arena->base) / DESC_SLOT_SIZE;
	void *base = (void *)sec->base;

	kmem_mutex_lock(&section_lock);
	table_set(sec->base, SECTION_SIZE, NULL);
	nr_buddy--;
	kmem_os_release(ds, DESC_SLOT_SIZE);
	arena->owners[slot] = NULL;
	sec_desc_free(sec);
	kmem_mutex_unlock(&section_lock);
	kmem_os_unmap(base, SECTION_SIZE);
}

/**
 * section_huge_map - map one allocation of its own
 * @size:  bytes asked for (above the largest buddy block)
 * @align: alignment asked for (a power of two; SECTION_SIZE is implied)
 *
 * Return: the section describing the mapping (its base is the allocation),
 * or NULL with errno ENOMEM.
 */
struct kmem_section *section_huge_map(size_t size, size_t align)
{
	size_t bytes = ALIGN(max(size, (size_t)1), PAGE_SIZE);
	struct kmem_section *sec;
	void *base;

	if (bytes < size || bytes > (1UL << (KMEM_ADDR_BITS - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	base = kmem_os_map(bytes, max(align, SECTION_SIZE));
	if (!base)
		return NULL;
	/*
	 * KMEM_THP=large or always: the mapping starts on a huge page, and
	 * keeps the advice through every mremap of huge_cache.c (growth,
	 * moves, splits); only its last partial 2 MiB stays in small pages.
	 */
	if (READ_ONCE(kmem_config.thp) >= KMEM_THP_LARGE)
		kmem_os_hugepage(base, bytes);
	kmem_mutex_lock(&section_lock);
	sec = sec_desc_alloc();
	if (!sec)
		goto out_unmap;
	if (table_prepare((unsigned long)base, bytes))
		goto out_free_desc;
	sec->base = (unsigned long)base;
	sec->size = bytes;
	sec->kind = SECTION_HUGE;
	sec->huge_size = size;
	sec->huge_align = align;
	list_add(&sec->node, &huge_list);
	table_set(sec->base, bytes, sec);
	kmem_mutex_unlock(&section_lock);
	return sec;

out_free_desc:
	sec_desc_free(sec);
out_unmap:
	kmem_mutex_unlock(&section_lock);
	kmem_os_unmap(base, bytes);
	errno = ENOMEM;
	return NULL;
}

/**
 * section_huge_unmap - free an allocation of its own
 * @sec: its section
 */
void section_huge_unmap(struct kmem_section *sec)
{
	void *base = (void *)sec->base;
	size_t bytes = sec->size;

	kmem_mutex_lock(&section_lock);
	table_set(sec->base, bytes, NULL);
	list_del(&sec->node);
	sec_desc_free(sec);
	kmem_mutex_unlock(&section_lock);
	kmem_os_unmap(base, bytes);
}

/**
 * section_huge_resize - grow or shrink a mapping of its own where it is
 * @sec:      its section (not in a heap arena)
 * @new_size: bytes wanted (any size)
 *
 * Growing uses mremap without moving: it works when the address space
 * after the mapping is free.  Shrinking unmaps the tail.
 *
 * Return: true if the allocation now holds @new_size bytes in place.
 */
bool section_huge_resize(struct kmem_section *sec, size_t new_size)
{
	size_t old_bytes = sec->size, new_bytes = ALIGN(new_size, PAGE_SIZE);
	bool ok = true;

	if (new_bytes < new_size || !new_bytes)
		return false;
	if (new_bytes == old_bytes) {
		sec->huge_size = new_size;
		return true;
	}
	kmem_mutex_lock(&section_lock);
	if (new_bytes > old_bytes) {
		if (table_prepare(sec->base, new_bytes) ||
		    !kmem_os_grow_in_place((void *)sec->base, old_bytes,
					   new_bytes)) {
			ok = false;
			goto out_unlock;
		}
		table_set(sec->base, new_bytes, sec);
	} else {
		unsigned long keep_end = ALIGN(sec->base + new_bytes,
					       SECTION_SIZE);

		if (keep_end < sec->base + old_bytes)
			table_set(keep_end, sec->base + old_bytes - keep_end,
				  NULL);
		kmem_os_unmap((void *)(sec->base + new_bytes),
			      old_bytes - new_bytes);
	}
	sec->size = new_bytes;
	sec->huge_size = new_size;
out_unlock:
	kmem_mutex_unlock(&section_lock);
	return ok;
}

/**
 * section_huge_move - grow a live mapping of its own by moving it
 * @sec:      its section (live: in the table, not in a heap arena)
 * @new_size: bytes wanted, more than it has
 *
 * realloc() of a mapping that cannot grow where it is: mremap moves its
 * pages to a new range aligned to SECTION_SIZE and adds the rest there,
 * instead of a new mapping, a copy and an unmap (no page is touched).
 *
 * Return: true if @sec now holds @new_size bytes (at its new base).
 */
bool section_huge_move(struct kmem_section *sec, size_t new_size)
{
	size_t old = sec->size, bytes = ALIGN(new_size, PAGE_SIZE);
	void *to;

	if (bytes < new_size || bytes <= old ||
	    bytes > (1UL << (KMEM_ADDR_BITS - 1)) ||
	    sec->huge_align > SECTION_SIZE)
		return false;
	/*
	 * Reserve the new place and its table leaves first: once the pages
	 * have moved there is no going back.  The caller owns the mapping,
	 * so nobody looks it up while the table still names the old place.
	 */
	to = kmem_os_map(bytes, SECTION_SIZE);
	if (!to)
		return false;
	kmem_mutex_lock(&section_lock);
	if (table_prepare((unsigned long)to, bytes)) {
		kmem_mutex_unlock(&section_lock);
		kmem_os_unmap(to, bytes);
		return false;
	}
	kmem_mutex_unlock(&section_lock);
	if (!kmem_os_move_fixed((void *)sec->base, old, bytes, to)) {
		kmem_os_unmap(to, bytes);
		return false;
	}
	kmem_mutex_lock(&section_lock);
	table_set(sec->base, old, NULL);
	sec->base = (unsigned long)to;
	sec->size = bytes;
	sec->huge_size = new_size;
	table_set(sec->base, bytes, sec);
	kmem_mutex_unlock(&section_lock);
	return true;
}

/*
 * The huge heap (buddy/huge_cache.c) keeps its arenas and their extents
 * in descriptors of this file.  The huge figures, the heap's and the
 * mappings' of their own, are its: the mappings of their own are made,
 * resized, moved and unmapped here, and counted there, through the huge
 * heap's functions that call these (huge_cache_map(), huge_cache_put(),
 * huge_cache_resize(), huge_cache_move()).
 */

/**
 * section_desc_get - a zeroed descriptor for the huge heap's extents
 *
 * Return: the descriptor, or NULL (no memory for a page of them).
 */
struct kmem_section *section_desc_get(void)
{
	struct kmem_section *sec;

	kmem_mutex_lock(&section_lock);
	sec = sec_desc_alloc();
	kmem_mutex_unlock(&section_lock);
	return sec;
}

/**
 * section_desc_put - give back a descriptor from section_desc_get()
 * @sec: the descriptor (on no list)
 */
void section_desc_put(struct kmem_section *sec)
{
	kmem_mutex_lock(&section_lock);
	sec_desc_free(sec);
	kmem_mutex_unlock(&section_lock);
}

/**
 * section_heap_register - enter a huge heap arena in the table
 * @base: its mapping, aligned to SECTION_SIZE
 * @size: its length, a multiple of SECTION_SIZE
 *
 * Every window of the arena points to its section (SECTION_HEAP), so that
 * a pointer into it is ours; which block it is, the heap says
 * (huge_heap_block()).
 *
 * Return: the arena's section, or NULL (the caller unmaps @base).
 */
struct kmem_section *section_heap_register(unsigned long base, size_t size)
{
	struct kmem_section *arena;

	kmem_mutex_lock(&section_lock);
	arena = sec_desc_alloc();
	if (arena && table_prepare(base, size)) {
		sec_desc_free(arena);
		arena = NULL;
	}
	if (arena) {
		arena->base = base;
		arena->size = size;
		arena->kind = SECTION_HEAP;
		table_set(base, size, arena);
	}
	kmem_mutex_unlock(&section_lock);
	return arena;
}

/**
 * section_nr_buddy - how many BUDDY sections are mapped (created and not
 * yet destroyed), for buddy_validate(): each must be in the zone
 */
unsigned long section_nr_buddy(void)
{
	unsigned long n;

	kmem_mutex_lock(&section_lock);
	n = nr_buddy;
	kmem_mutex_unlock(&section_lock);
	return n;
}

/* Fork: the section lock is held across fork() (after the zone lock). */
void section_lock_all(void)
{
	kmem_mutex_lock(&section_lock);
}

void section_unlock_all(void)
{
	kmem_mutex_unlock(&section_lock);
}

/**
 * section_table_fork_child - reset the section lock in a fork child
 */
void section_table_fork_child(void)
{
	kmem_mutex_reinit(&section_lock);
}
