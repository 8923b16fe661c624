/* SPDX-License-Identifier: MIT */
/*
 * tests/kernel/kmem_compat_missing.h - 0 for the flag names a side lacks.
 *
 * kmem has no __GFP_ATOMIC (gone from the kernel in 6.3 as well) and no
 * KASAN flags; the kernel's tools/include/linux/slab.h defines only the
 * SLAB_ flags its users need.  A missing name means "no such flag": its
 * bits are dropped by the translation.  Include after the side's own gfp
 * and slab headers; idempotent.
 */
#ifndef __GFP_ATOMIC
#define __GFP_ATOMIC 0
#endif
#ifndef __GFP_SKIP_ZERO
#define __GFP_SKIP_ZERO 0
#endif
#ifndef __GFP_SKIP_KASAN_UNPOISON
#define __GFP_SKIP_KASAN_UNPOISON 0
#endif
#ifndef __GFP_SKIP_KASAN_POISON
#define __GFP_SKIP_KASAN_POISON 0
#endif
#ifndef SLAB_CONSISTENCY_CHECKS
#define SLAB_CONSISTENCY_CHECKS 0
#endif
#ifndef SLAB_RED_ZONE
#define SLAB_RED_ZONE 0
#endif
#ifndef SLAB_POISON
#define SLAB_POISON 0
#endif
#ifndef SLAB_HWCACHE_ALIGN
#define SLAB_HWCACHE_ALIGN 0
#endif
#ifndef SLAB_CACHE_DMA
#define SLAB_CACHE_DMA 0
#endif
#ifndef SLAB_CACHE_DMA32
#define SLAB_CACHE_DMA32 0
#endif
#ifndef SLAB_STORE_USER
#define SLAB_STORE_USER 0
#endif
#ifndef SLAB_RECLAIM_ACCOUNT
#define SLAB_RECLAIM_ACCOUNT 0
#endif
#ifndef SLAB_PANIC
#define SLAB_PANIC 0
#endif
#ifndef SLAB_TYPESAFE_BY_RCU
#define SLAB_TYPESAFE_BY_RCU 0
#endif
#ifndef SLAB_MEM_SPREAD
#define SLAB_MEM_SPREAD 0
#endif
#ifndef SLAB_TRACE
#define SLAB_TRACE 0
#endif
#ifndef SLAB_DEBUG_OBJECTS
#define SLAB_DEBUG_OBJECTS 0
#endif
#ifndef SLAB_NOLEAKTRACE
#define SLAB_NOLEAKTRACE 0
#endif
#ifndef SLAB_NO_MERGE
#define SLAB_NO_MERGE 0
#endif
#ifndef SLAB_FAILSLAB
#define SLAB_FAILSLAB 0
#endif
#ifndef SLAB_ACCOUNT
#define SLAB_ACCOUNT 0
#endif
#ifndef SLAB_KASAN
#define SLAB_KASAN 0
#endif
#ifndef SLAB_NO_USER_FLAGS
#define SLAB_NO_USER_FLAGS 0
#endif
#ifndef SLAB_SKIP_KFENCE
#define SLAB_SKIP_KFENCE 0
#endif
