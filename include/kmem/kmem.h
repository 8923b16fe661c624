/* SPDX-License-Identifier: MIT */
/*
 * kmem/kmem.h - everything kmem offers, in one include.
 *
 *   kmem/page.h    buddy page allocator (alloc_pages, ...)
 *   kmem/slab.h    object caches and kmalloc (kmem_cache_create, ...)
 *   kmem/malloc.h  the malloc family under kmem_ names
 *   kmem/stats.h   statistics: slabinfo snapshots and the shared region
 *   kmem/bug.h     assertion tiers (BUG_ON, WARN_ON_ONCE, ...)
 */
#ifndef KMEM_KMEM_H
#define KMEM_KMEM_H

#include <kmem/gfp.h>
#include <kmem/page.h>
#include <kmem/slab.h>
#include <kmem/malloc.h>
#include <kmem/stats.h>

#endif /* KMEM_KMEM_H */
