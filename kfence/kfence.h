/* SPDX-License-Identifier: MIT */
/*
 * kfence/kfence.h - KFENCE: sampled allocations in guarded pages.
 *
 * What the allocation and free entry points of slab/ and kmalloc need:
 * the gate they test (one load, one predictable branch), the guarded
 * allocator they call when it is open, and the pool test their slow paths
 * use to recognise a guarded object.  See kfence/kfence.c.  KFENCE is a
 * layer between buddy/ and slab/ (Documentation/architecture.md): it
 * knows no struct kmem_cache; slab/slab.h passes what it needs of one.
 */
#ifndef KMEM_KFENCE_KFENCE_H
#define KMEM_KFENCE_KFENCE_H

#include "buddy/buddy.h"

#pragma GCC visibility push(hidden)

/*
 * Nonzero while the next allocation should be guarded.  The reaper sets
 * it every sample interval; the allocation that takes it clears it.
 * Read racily on every allocation fast path: a stale value delays a
 * sample by one allocation or sends one allocation more to the cold path,
 * where an exchange decides.
 */
extern int kfence_gate;
extern unsigned long kfence_pool;	/* first byte of the pool, or 0 */
extern unsigned long kfence_pool_size;	/* bytes (0: no pool) */

/*
 * kfence_armed - should this allocation try the guarded pool?
 *
 * One load and one branch (a mov, a test fused with its jump): the
 * userspace form of the kernel's static key.  A racy read on purpose
 * (the reaper sets the flag, the allocation that takes it clears it):
 * a stale value only sends one allocation more to the slow path, or
 * guards the next allocation instead of this one.
 */
static __always_inline bool kfence_armed(void)
{
	return unlikely(READ_ONCE(kfence_gate) != 0);
}

/*
 * kfence_wants - should an allocation of @size bytes try the guarded pool?
 *
 * Only objects of a page or less are guarded (kfence_alloc()).  Larger
 * ones keep their fast paths while the gate is open: the gate stays open
 * until an allocation it can guard comes, and in a program that
 * allocates only larger blocks (medium's 4-32 KiB, a loop of 8 KiB
 * buffers) that is never, so every allocation took the slow path.  The
 * size is compared only when the gate is open.
 */
static __always_inline bool kfence_wants(size_t size)
{
	return kfence_armed() && size <= PAGE_SIZE;
}

extern unsigned long kfence_tick_due;
void kfence_tick_slow(void);

/*
 * kfence_tick - an allocation slow path's turn to open the gate
 *
 * In a process without the reaper thread, the gate is opened again by
 * the first allocation slow path (a magazine refill: at least once every
 * magazine's worth of allocations from a cache) after the interval: one
 * load here while no reopening is pending (kfence/kfence.c, "Sampling").
 */
static __always_inline void kfence_tick(void)
{
	if (unlikely(READ_ONCE(kfence_tick_due)))
		kfence_tick_slow();
}

/* is_kfence_address - is @p inside the pool (objects and guard pages)? */
static __always_inline bool is_kfence_address(const void *p)
{
	/* Set once at start-up; with no pool the size is 0. */
	return (unsigned long)p - kfence_pool < kfence_pool_size;
}

void *kfence_alloc(const void *cache, const char *name, void (*ctor)(void *),
		   size_t size, size_t align, gfp_t gfp, unsigned long caller);
void *kfence_unfit(void);
void kfence_free(void *p, const void *cache, unsigned long caller);
size_t kfence_ksize(const void *p);

#pragma GCC visibility pop

#endif /* KMEM_KFENCE_KFENCE_H */
