/* SPDX-License-Identifier: MIT */
/*
 * tests/kernel/kmem_compat_flags.h - the flag names the adapter translates.
 *
 * An X-macro list, included (without a guard) by both halves of the
 * adapter: kmem_linux.c expands it against the kernel's headers
 * (<linux/gfp_types.h>, tools/include/linux/slab.h) and kmem_bridge.c
 * against kmem's (<kmem/gfp.h>, <kmem/slab.h>).  Each half records the
 * value its headers give every name; kmem_linux.c then builds, once, a
 * table from each kernel bit to kmem's bits.  Flags are therefore
 * translated by name: the two sides' numbers never meet.
 *
 * A name one side does not define is given the value 0 ("no such flag":
 * its bits are dropped) by kmem_compat_missing.h, which each half includes
 * after its own headers and before it expands the values.
 *
 *   KC_GFP_BIT(name)  single-bit flag __GFP_<name>
 *   KC_GFP_SET(name)  composite GFP_<name>, checked at start-up: the
 *                     translation of the kernel's value must be kmem's
 *   KC_SLAB(name)     cache flag SLAB_<name>
 */

#ifndef KC_GFP_BIT
#define KC_GFP_BIT(name)
#endif
#ifndef KC_GFP_SET
#define KC_GFP_SET(name)
#endif
#ifndef KC_SLAB
#define KC_SLAB(name)
#endif

KC_GFP_BIT(DMA)
KC_GFP_BIT(HIGHMEM)
KC_GFP_BIT(DMA32)
KC_GFP_BIT(MOVABLE)
KC_GFP_BIT(RECLAIMABLE)
KC_GFP_BIT(HIGH)
KC_GFP_BIT(IO)
KC_GFP_BIT(FS)
KC_GFP_BIT(ZERO)
KC_GFP_BIT(ATOMIC)		/* 6.1 only; kmem: none */
KC_GFP_BIT(DIRECT_RECLAIM)
KC_GFP_BIT(KSWAPD_RECLAIM)
KC_GFP_BIT(WRITE)
KC_GFP_BIT(NOWARN)
KC_GFP_BIT(RETRY_MAYFAIL)
KC_GFP_BIT(NOFAIL)
KC_GFP_BIT(NORETRY)
KC_GFP_BIT(MEMALLOC)
KC_GFP_BIT(COMP)
KC_GFP_BIT(NOMEMALLOC)
KC_GFP_BIT(HARDWALL)
KC_GFP_BIT(THISNODE)
KC_GFP_BIT(ACCOUNT)
KC_GFP_BIT(ZEROTAGS)
KC_GFP_BIT(SKIP_ZERO)		/* KASAN hardware tags; kmem: none */
KC_GFP_BIT(SKIP_KASAN_UNPOISON)	/* kmem: none */
KC_GFP_BIT(SKIP_KASAN_POISON)	/* kmem: none */
KC_GFP_BIT(NOLOCKDEP)

KC_GFP_SET(ATOMIC)
KC_GFP_SET(KERNEL)
KC_GFP_SET(KERNEL_ACCOUNT)
KC_GFP_SET(NOWAIT)
KC_GFP_SET(NOIO)
KC_GFP_SET(NOFS)
KC_GFP_SET(USER)
KC_GFP_SET(DMA)
KC_GFP_SET(DMA32)
KC_GFP_SET(HIGHUSER)
KC_GFP_SET(HIGHUSER_MOVABLE)
KC_GFP_SET(TRANSHUGE_LIGHT)
KC_GFP_SET(TRANSHUGE)

KC_SLAB(CONSISTENCY_CHECKS)
KC_SLAB(RED_ZONE)
KC_SLAB(POISON)
KC_SLAB(HWCACHE_ALIGN)
KC_SLAB(CACHE_DMA)
KC_SLAB(CACHE_DMA32)
KC_SLAB(STORE_USER)
KC_SLAB(RECLAIM_ACCOUNT)
KC_SLAB(PANIC)
KC_SLAB(TYPESAFE_BY_RCU)
KC_SLAB(MEM_SPREAD)
KC_SLAB(TRACE)
KC_SLAB(DEBUG_OBJECTS)
KC_SLAB(NOLEAKTRACE)
KC_SLAB(NO_MERGE)
KC_SLAB(FAILSLAB)
KC_SLAB(ACCOUNT)
KC_SLAB(KASAN)
KC_SLAB(NO_USER_FLAGS)
KC_SLAB(SKIP_KFENCE)

#undef KC_GFP_BIT
#undef KC_GFP_SET
#undef KC_SLAB
