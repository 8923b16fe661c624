// SPDX-License-Identifier: MIT
/*
 * kmalloc/classify.c - what a pointer handed back is: an object start of some
 * cache, the head of a large block, the base of a huge mapping, a block of
 * the start-up arena; or invalid, with the reason (foreign, inside an
 * object, already free), reported in the kernel's words.  Every free,
 * ksize() and realloc() classifies first (kmem_classify()).
 *
 * Lock order: the table in core/lock.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kmalloc/kmalloc.h"
#include "buddy/profile.h"

/**
 * kmem_classify - what is @p?
 * @p:    a pointer handed back to kmem
 * @page: its descriptor if the caller has it, else NULL
 * @kp:   the answer
 */
void kmem_classify(const void *p, struct page *page, struct kmem_ptr *kp)
{
	unsigned long a = (unsigned long)p, e;
	struct kmem_section *sec;

	memset(kp, 0, sizeof(*kp));
	kp->kind = KMEM_PTR_INVALID;
	if (unlikely(kmem_boot_owns(p))) {
		kp->kind = KMEM_PTR_BOOT;
		return;
	}
	e = section_entry(a);
	if (likely(e & SECTION_ENTRY_PAGES)) {
		page = page ? page : entry_page(e, p);
		goto buddy;
	}
	sec = (struct kmem_section *)e;
	if (!sec || sec->kind == SECTION_DESC || a - sec->base >= sec->size) {
		if (is_kfence_address(p)) {
			kp->kind = KMEM_PTR_KFENCE;	/* kfence_free checks */
			return;
		}
		kp->why = "not allocated by kmem";
		return;
	}
	if (sec->kind == SECTION_HEAP) {
		sec = huge_heap_block(sec, a, &kp->why, &kp->double_free);
		if (!sec)
			return;
		kp->kind = KMEM_PTR_HUGE;
		kp->sec = sec;
		return;
	}
	if (sec->kind == SECTION_HUGE) {
		if (a != sec->base) {
			kp->why = "not the start of an allocation";
			return;
		}
		kp->kind = KMEM_PTR_HUGE;
		kp->sec = sec;
		return;
	}
buddy:
	kp->page = page;
	switch (page->type) {
	case PG_slab:
		if (slab_obj_check(page->slab_cache, page, p))
			kp->kind = KMEM_PTR_SLAB;
		else
			kp->why = "not the start of an object";
		return;
	case PG_large:
		if (a & ~PAGE_MASK)
			kp->why = "not the start of an allocation";
		else
			kp->kind = KMEM_PTR_LARGE;
		return;
	case PG_alloc:
		kp->why = "a page block from alloc_pages(), not from kmalloc";
		return;
	case PG_buddy:
	case PG_pcp:
		kp->double_free = !(a & ~PAGE_MASK);
		kp->why = kp->double_free ? "the block is already free" :
					    "not the start of an allocation";
		return;
	default:
		kp->double_free = !(a & ~PAGE_MASK) &&
				  (page->flags & PGF_freed_head);
		kp->why = kp->double_free ? "the block was already freed" :
					    "not the start of an allocation";
		return;
	}
}

/**
 * kmem_bad_pointer - report a pointer that cannot be freed, and abort
 * @kp:   its classification
 * @p:    the pointer
 * @func: the API function ("free", "kfree", "realloc", ...)
 */
void kmem_bad_pointer(const struct kmem_ptr *kp, const void *p,
		      const char *func)
{
	kmem_panic("kmem: %s(): %s 0x%lx: %s\n", func,
		   kp->double_free ? "double free" : "invalid pointer",
		   (unsigned long)p, kp->why ? kp->why : "unknown");
}

/**
 * kmem_usable_size - bytes usable at a classified pointer
 * @kp: a valid classification
 * @p:  the pointer
 */
size_t kmem_usable_size(const struct kmem_ptr *kp, const void *p)
{
	switch (kp->kind) {
	case KMEM_PTR_SLAB:
		return kp->page->slab_cache->object_size;
	case KMEM_PTR_LARGE:
		return ALIGN(kp->page->large_size, PAGE_SIZE);
	case KMEM_PTR_HUGE:
		return kp->sec->size;
	case KMEM_PTR_KFENCE:
		return kfence_ksize(p);
	default:
		return 0;
	}
}

/**
 * kmem_usable_claimed - the program was told it may use all of a block
 * @kp: a valid classification
 *
 * After ksize() or malloc_usable_size() a large block's last page may be
 * written to its end: its pages count as resident from then on, and as
 * written (its size becomes its usable size, see kmem_written_size()).
 */
void kmem_usable_claimed(const struct kmem_ptr *kp)
{
	if (kp->kind == KMEM_PTR_LARGE) {
		struct page *page = kp->page;

		page->large_size = ALIGN(page->large_size, PAGE_SIZE);
		page->large_resident = max(page->large_resident,
					   page->large_size >> PAGE_SHIFT);
	}
}

/**
 * kmem_written_size - bytes at a classified pointer the program may have
 * written: what a move (realloc, krealloc) must copy
 * @kp: a valid classification
 * @p:  the pointer
 *
 * A large block's pages past its size were never the program's to write
 * and may have been given back to the OS: copying them would fault them
 * in again for nothing.  Slab objects and huge mappings copy their usable
 * size (within the same page as the request).
 */
size_t kmem_written_size(const struct kmem_ptr *kp, const void *p)
{
	if (kp->kind == KMEM_PTR_LARGE)
		return kp->page->large_size;
	return kmem_usable_size(kp, p);
}

/**
 * kmem_free_classified - free a pointer kmem_classify() accepted
 * @kp:     its classification (not INVALID)
 * @p:      the pointer
 * @func:   the API function, for reports
 * @caller: the API caller
 */
void kmem_free_classified(const struct kmem_ptr *kp, void *p,
			  const char *func, unsigned long caller)
{
	struct kmem_cache *s;
	struct page *page;

	if (kp->page && kmem_prof_page(kp->page))
		kmem_prof_free(p, kp->page);
	switch (kp->kind) {
	case KMEM_PTR_SLAB:
		s = kp->page->slab_cache;
		if (slab_free_fast(s, p, func))
			return;
		slab_free_slow(s, p, caller);
		return;
	case KMEM_PTR_LARGE:
		page = kp->page;
		/* A sampled block, now unflagged, may still go on the list. */
		if (__kmalloc_large_free(page, p, false))
			return;
		page->large_size = 0;
		__free_large_pages(page, page->order, page->large_resident);
		return;
	case KMEM_PTR_HUGE:
		if (unlikely(READ_ONCE(kmem_prof_huge)))
			kmem_prof_free_huge(p);
		huge_cache_put(kp->sec);
		return;
	case KMEM_PTR_BOOT:
		return;
	case KMEM_PTR_KFENCE:
		kfence_free(p, NULL, caller);
		return;
	default:
		kmem_bad_pointer(kp, p, func);
	}
}

/*
 * free_heap_block - free @p if it lies in an arena of the huge heap:
 * looked up and kept under one hold of the heap's lock (huge_heap_free());
 * what kmem_classify() and kmem_free_classified() would do, reports alike.
 * Return: false when @p is not in an arena (nothing done).
 */
static bool free_heap_block(const void *p, const char *func)
{
	unsigned long a = (unsigned long)p, e = section_entry(a);
	struct kmem_section *sec = (struct kmem_section *)e;
	struct kmem_ptr kp;

	if (!e || (e & SECTION_ENTRY_PAGES) || sec->kind != SECTION_HEAP ||
	    a - sec->base >= sec->size)
		return false;
	/* Forgets only a live block's sample: a bad pointer has none. */
	if (unlikely(READ_ONCE(kmem_prof_huge)))
		kmem_prof_free_huge(p);
	memset(&kp, 0, sizeof(kp));
	kp.kind = KMEM_PTR_INVALID;
	if (!huge_heap_free(sec, a, &kp.why, &kp.double_free))
		kmem_bad_pointer(&kp, p, func);
	return true;
}

/**
 * kmem_free_slow - free @p the slow way: classify it, report it if it is
 * invalid, else free what it is (kfree's and free's slow paths; the
 * callers dealt with NULL as their API says)
 * @p:      the pointer
 * @func:   the API function, for a report
 * @caller: the API caller's return address (owner tracking)
 */
void kmem_free_slow(const void *p, const char *func, unsigned long caller)
{
	unsigned long e = section_entry_wrap((unsigned long)p);
	struct kmem_ptr kp;

	/*
	 * A large block the profiler sampled (the fast path leaves those
	 * here) needs no classification: the checks of a large free are
	 * __kmalloc_large_free()'s.  A loop of 1 MiB blocks at the default
	 * rate samples a third of them; classifying cost each such free
	 * about 130 instructions.
	 */
	if ((e & SECTION_ENTRY_PAGES) &&
	    __kmalloc_large_free(entry_page(e, p), p, true))
		return;
	/*
	 * A block of the huge heap is looked up and freed under one hold of
	 * the heap's lock (classifying it took the lock once more).
	 */
	if (!(e & SECTION_ENTRY_PAGES) && free_heap_block(p, func))
		return;
	kmem_classify(p, NULL, &kp);
	if (kp.kind == KMEM_PTR_INVALID)
		kmem_bad_pointer(&kp, p, func);
	kmem_free_classified(&kp, (void *)p, func, caller);
}

/**
 * kmem_usable - the usable size of @p (ksize, malloc_usable_size)
 * @p:    the pointer (not NULL)
 * @func: the API function, for a report
 *
 * Return: the bytes that may be used; 0 for the start-up arena's.
 */
size_t kmem_usable(const void *p, const char *func)
{
	struct kmem_ptr kp;

	kmem_classify(p, NULL, &kp);
	if (kp.kind == KMEM_PTR_INVALID)
		kmem_bad_pointer(&kp, p, func);
	if (kp.kind == KMEM_PTR_BOOT)
		return 0;
	kmem_usable_claimed(&kp);
	return kmem_usable_size(&kp, p);
}
