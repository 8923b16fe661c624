/* SPDX-License-Identifier: MIT */
/*
 * buddy/profile.h - the sampled allocation profiler's hooks.
 *
 * One hook per allocation entry point, kmem_prof_alloc(), and one per free
 * entry point: the free paths test PGF_sampled in the page descriptor
 * they already hold and call kmem_prof_free() only when it is set.
 * buddy/profile.c has the design.  It lives with the page allocator:
 * it keeps its mark in the page descriptors, and every layer from the
 * page allocator up calls it.
 */
#ifndef KMEM_BUDDY_PROFILE_H
#define KMEM_BUDDY_PROFILE_H

#include <limits.h>
#include <stddef.h>
#include "buddy/buddy.h"

#pragma GCC visibility push(hidden)

/* The API caller's return address, in an exported entry point. */
#define KMEM_RET_IP ((unsigned long)__builtin_return_address(0))

/*
 * Bytes the calling thread may still allocate before its next sample.
 * Zero in a new thread, so its first allocation takes the slow path,
 * which draws the first distance; with profiling off the slow path sets
 * it out of reach.
 */
extern __thread long kmem_prof_left __tls_ie;

void *kmem_prof_sample(void *p, size_t size, unsigned long caller);
void kmem_prof_free(const void *p, struct page *page);
void kmem_prof_free_huge(const void *p);
bool kmem_profile_validate(void);
long kmem_prof_draw(void);

extern bool kmem_prof_huge;	/* a HUGE mapping was sampled (racy read) */

/**
 * kmem_prof_alloc - count an allocation towards the next sample
 * @p:      what the allocation returns (may be NULL)
 * @size:   the bytes asked for
 * @caller: the API caller's return address (read only when sampling)
 *
 * The fast path: one subtraction and a branch taken once per sample.
 *
 * Return: @p.
 */
static __always_inline void *kmem_prof_alloc(void *p, size_t size,
					     unsigned long caller)
{
	/*
	 * The countdown is never negative here and a size above LONG_MAX
	 * is a failing request: masked, the subtraction cannot overflow.
	 */
	long left = kmem_prof_left - (long)(size & LONG_MAX);

	kmem_prof_left = left;
	if (unlikely(left < 0))
		return kmem_prof_sample(p, size, caller);
	return p;
}

/*
 * Is the object at @page (its page descriptor) possibly sampled?  A racy
 * read: the bit changes as other objects of the page are sampled and
 * freed; an object's own sample flagged the page before it was handed out.
 */
static __always_inline bool kmem_prof_page(const struct page *page)
{
	return unlikely(__atomic_load_n(&page->flags, __ATOMIC_RELAXED) &
			PGF_sampled);
}

#pragma GCC visibility pop

#endif /* KMEM_BUDDY_PROFILE_H */
