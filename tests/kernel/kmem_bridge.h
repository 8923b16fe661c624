/* SPDX-License-Identifier: MIT */
/*
 * tests/kernel/kmem_bridge.h - the only door between the kernel's test
 * suites and kmem.
 *
 * The radix-tree suites are compiled against the kernel's headers, in
 * which struct kmem_cache, gfp_t and the flag values are the kernel's, and
 * they want the kernel's names (kmem_cache_free, kmalloc, ...) defined by
 * their slab stand-in.  kmem defines the same names with its own types and
 * flag values.  The two cannot share a translation unit, so:
 *
 *   kmem_linux.c   the stand-in's symbols, kernel headers, built by the
 *                  kernel's Makefile with its flags (ASan, UBSan);
 *   kmem_bridge.c  kmem's API, kmem's headers, built like kmem;
 *
 * and this header is all they share: plain C types, an opaque handle for
 * kmem's cache, flags as unsigned int in the numbering of the side that
 * produced them, and the tables of flag values indexed by name (see
 * kmem_compat_flags.h).
 *
 * kmem_bridge.o is linked with libkmem.a into one relocatable object whose
 * only global symbols are the kmem_bridge_* below (kmem.mk): kmem's own
 * kmem_cache_free etc. become local to it and cannot collide with the
 * adapter's.
 */
#ifndef KMEM_BRIDGE_H
#define KMEM_BRIDGE_H

#include <stddef.h>

/* kmem's struct kmem_cache, never dereferenced on the kernel's side. */
struct kmem_bridge_cache;

enum kc_gfp_bit {
#define KC_GFP_BIT(name) KC_GFP_BIT_##name,
#include "kmem_compat_flags.h"
	KC_GFP_BITS
};

enum kc_gfp_set {
#define KC_GFP_SET(name) KC_GFP_SET_##name,
#include "kmem_compat_flags.h"
	KC_GFP_SETS
};

enum kc_slab_flag {
#define KC_SLAB(name) KC_SLAB_##name,
#include "kmem_compat_flags.h"
	KC_SLAB_FLAGS
};

/* kmem's values of every name (0: kmem has no such flag). */
extern const unsigned int kmem_bridge_gfp_bit[KC_GFP_BITS];
extern const unsigned int kmem_bridge_gfp_set[KC_GFP_SETS];
extern const unsigned int kmem_bridge_slab_flag[KC_SLAB_FLAGS];

/* kmem's kmem_cache_create() (5-argument form); flags in kmem's values. */
struct kmem_bridge_cache *
kmem_bridge_cache_create(const char *name, unsigned int size,
			 unsigned int align, unsigned int flags,
			 void (*ctor)(void *));
void kmem_bridge_cache_destroy(struct kmem_bridge_cache *s);
int kmem_bridge_cache_shrink(struct kmem_bridge_cache *s);
unsigned int kmem_bridge_cache_size(struct kmem_bridge_cache *s);

/* kmem_cache_alloc() etc., gfp in kmem's values. */
void *kmem_bridge_cache_alloc(struct kmem_bridge_cache *s, unsigned int gfp);
void kmem_bridge_cache_free(struct kmem_bridge_cache *s, void *obj);
int kmem_bridge_cache_alloc_bulk(struct kmem_bridge_cache *s,
				 unsigned int gfp, size_t nr, void **p);
void kmem_bridge_cache_free_bulk(struct kmem_bridge_cache *s, size_t nr,
				 void **p);

void *kmem_bridge_kmalloc(size_t size, unsigned int gfp);
void kmem_bridge_kfree(const void *obj);
size_t kmem_bridge_ksize(const void *obj);

#endif /* KMEM_BRIDGE_H */
