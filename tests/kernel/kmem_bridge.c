// SPDX-License-Identifier: MIT
/*
 * tests/kernel/kmem_bridge.c - kmem's side of the kernel test adapter.
 *
 * Compiled against kmem's public headers only, like any program that uses
 * kmem, and then sealed with libkmem.a into kmem-sealed.o (kmem.mk):
 *
 *   ld -r --whole-archive libkmem.a kmem_bridge.o -o kmem-linked.o
 *   objcopy --keep-global-symbols=<the kmem_bridge_* names> ...
 *
 * after which the calls below to kmem_cache_free, kmalloc, ... are bound
 * to kmem's definitions inside the object, and those definitions are
 * local symbols, invisible to the link of the test programs, where
 * kmem_linux.c defines the same names for the kernel's code.  Nothing is
 * looked up at run time and nothing depends on link order.
 *
 * This file owns no state: it forwards each call with the arguments
 * already in kmem's terms (kmem_linux.c translates the flags by name) and
 * exports kmem's value of every flag name for that translation.
 */
#include <kmem/gfp.h>
#include <kmem/slab.h>

#include "kmem_bridge.h"
#include "kmem_compat_missing.h"

const unsigned int kmem_bridge_gfp_bit[KC_GFP_BITS] = {
#define KC_GFP_BIT(name) [KC_GFP_BIT_##name] = __GFP_##name,
#include "kmem_compat_flags.h"
};

const unsigned int kmem_bridge_gfp_set[KC_GFP_SETS] = {
#define KC_GFP_SET(name) [KC_GFP_SET_##name] = GFP_##name,
#include "kmem_compat_flags.h"
};

const unsigned int kmem_bridge_slab_flag[KC_SLAB_FLAGS] = {
#define KC_SLAB(name) [KC_SLAB_##name] = SLAB_##name,
#include "kmem_compat_flags.h"
};

static inline struct kmem_cache *real(struct kmem_bridge_cache *s)
{
	return (struct kmem_cache *)s;
}

/**
 * kmem_bridge_cache_create - kmem's kmem_cache_create(), 5-argument form
 * @name:  cache name (kmem refuses a name that is in use)
 * @size:  object size
 * @align: alignment, 0 for kmem's default
 * @flags: SLAB_* flags, in kmem's values
 * @ctor:  constructor or NULL
 *
 * Return: the cache, or NULL (SLAB_PANIC: kmem aborts instead).
 */
struct kmem_bridge_cache *
kmem_bridge_cache_create(const char *name, unsigned int size,
			 unsigned int align, unsigned int flags,
			 void (*ctor)(void *))
{
	return (struct kmem_bridge_cache *)kmem_cache_create(name, size, align,
							      flags, ctor);
}

/**
 * kmem_bridge_cache_destroy - kmem_cache_destroy()
 * @s: the cache
 */
void kmem_bridge_cache_destroy(struct kmem_bridge_cache *s)
{
	kmem_cache_destroy(real(s));
}

/**
 * kmem_bridge_cache_shrink - kmem_cache_shrink()
 * @s: the cache
 *
 * Return: 0 if every slab is now free, 1 otherwise.
 */
int kmem_bridge_cache_shrink(struct kmem_bridge_cache *s)
{
	return kmem_cache_shrink(real(s));
}

/**
 * kmem_bridge_cache_size - kmem_cache_size()
 * @s: the cache
 *
 * Return: the object size the cache was created with.
 */
unsigned int kmem_bridge_cache_size(struct kmem_bridge_cache *s)
{
	return kmem_cache_size(real(s));
}

/**
 * kmem_bridge_cache_alloc - kmem_cache_alloc()
 * @s:   the cache
 * @gfp: kmem's gfp flags
 *
 * Return: an object, or NULL.
 */
void *kmem_bridge_cache_alloc(struct kmem_bridge_cache *s, unsigned int gfp)
{
	return kmem_cache_alloc(real(s), gfp);
}

/**
 * kmem_bridge_cache_free - kmem_cache_free()
 * @s:   the cache
 * @obj: the object
 */
void kmem_bridge_cache_free(struct kmem_bridge_cache *s, void *obj)
{
	kmem_cache_free(real(s), obj);
}

/**
 * kmem_bridge_cache_alloc_bulk - kmem_cache_alloc_bulk(), all or nothing
 * @s:   the cache
 * @gfp: kmem's gfp flags
 * @nr:  how many
 * @p:   receives the objects
 *
 * Return: @nr, or 0.
 */
int kmem_bridge_cache_alloc_bulk(struct kmem_bridge_cache *s,
				 unsigned int gfp, size_t nr, void **p)
{
	return kmem_cache_alloc_bulk(real(s), gfp, nr, p);
}

/**
 * kmem_bridge_cache_free_bulk - kmem_cache_free_bulk()
 * @s:  the cache
 * @nr: how many
 * @p:  the objects
 */
void kmem_bridge_cache_free_bulk(struct kmem_bridge_cache *s, size_t nr,
				 void **p)
{
	kmem_cache_free_bulk(real(s), nr, p);
}

/**
 * kmem_bridge_kmalloc - kmalloc()
 * @size: bytes
 * @gfp:  kmem's gfp flags
 *
 * Return: the memory, ZERO_SIZE_PTR for 0 bytes, or NULL.
 */
void *kmem_bridge_kmalloc(size_t size, unsigned int gfp)
{
	return kmalloc(size, gfp);
}

/**
 * kmem_bridge_kfree - kfree()
 * @obj: from kmem_bridge_kmalloc(), NULL or ZERO_SIZE_PTR
 */
void kmem_bridge_kfree(const void *obj)
{
	kfree(obj);
}

/**
 * kmem_bridge_ksize - ksize()
 * @obj: from kmem_bridge_kmalloc()
 *
 * Return: the usable size of @obj.
 */
size_t kmem_bridge_ksize(const void *obj)
{
	return ksize(obj);
}
