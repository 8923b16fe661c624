/* SPDX-License-Identifier: MIT */
/*
 * kmem/slab.h - object caches and kmalloc, with the kernel's API.
 *
 * Signatures, flag names and semantics follow the Linux kernel's
 * <linux/slab.h> so kernel code compiles against this header unchanged:
 * kmem_cache_create() accepts the 5-argument form (name, size, align,
 * flags, ctor) and the newer struct kmem_cache_args form, chosen by
 * _Generic as the kernel does.  See Documentation/slab.md (object caches)
 * and Documentation/kmalloc.md.
 */
#ifndef KMEM_SLAB_H
#define KMEM_SLAB_H

#include <stddef.h>
#include <stdbool.h>
#include <kmem/gfp.h>
#include <kmem/page.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The wrappers below (kzalloc, kcalloc, kvmalloc, ...) are inlined even
 * without optimisation, so that the call site KMEM_DEBUG records as an
 * object's owner is the caller's, never a copy of the wrapper.
 */
#define __kmem_always_inline inline __attribute__((always_inline))

typedef unsigned int slab_flags_t;

/* Flags with a meaning in kmem (see Documentation/slab.md). */
#define SLAB_CONSISTENCY_CHECKS	((slab_flags_t)0x00000100U)	/* 'F' */
#define SLAB_RED_ZONE		((slab_flags_t)0x00000400U)	/* 'Z' */
#define SLAB_POISON		((slab_flags_t)0x00000800U)	/* 'P' */
#define SLAB_KMALLOC		((slab_flags_t)0x00001000U)	/* kmalloc-N */
#define SLAB_HWCACHE_ALIGN	((slab_flags_t)0x00002000U)
#define SLAB_STORE_USER		((slab_flags_t)0x00010000U)	/* 'U' */
#define SLAB_RECLAIM_ACCOUNT	((slab_flags_t)0x00020000U)
#define SLAB_PANIC		((slab_flags_t)0x00040000U)
#define SLAB_TYPESAFE_BY_RCU	((slab_flags_t)0x00080000U)
#define SLAB_TRACE		((slab_flags_t)0x00200000U)	/* 'T' */
#define SLAB_NO_MERGE		((slab_flags_t)0x01000000U)
/* kmem's own: kmem_cache_create() fails quietly (no message). */
#define SLAB_NOWARN		((slab_flags_t)0x40000000U)
/* Accepted and ignored: no meaning in a process. */
#define SLAB_CACHE_DMA		((slab_flags_t)0x00004000U)
#define SLAB_CACHE_DMA32	((slab_flags_t)0x00008000U)
#define SLAB_MEM_SPREAD		((slab_flags_t)0x00100000U)
#define SLAB_DEBUG_OBJECTS	((slab_flags_t)0x00400000U)
#define SLAB_NOLEAKTRACE	((slab_flags_t)0x00800000U)
#define SLAB_FAILSLAB		((slab_flags_t)0x02000000U)
#define SLAB_ACCOUNT		((slab_flags_t)0x04000000U)
#define SLAB_KASAN		((slab_flags_t)0x08000000U)
#define SLAB_NO_USER_FLAGS	((slab_flags_t)0x10000000U)
#define SLAB_SKIP_KFENCE	((slab_flags_t)0x20000000U)
#define SLAB_TEMPORARY		SLAB_RECLAIM_ACCOUNT
#define SLAB_DESTROY_BY_RCU	SLAB_TYPESAFE_BY_RCU

#define ZERO_SIZE_PTR		((void *)16)
#define ZERO_OR_NULL_PTR(x)	((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

#define ARCH_KMALLOC_MINALIGN	__alignof__(unsigned long long)
#define ARCH_SLAB_MINALIGN	__alignof__(unsigned long long)
#define KMALLOC_MIN_SIZE	8
#define KMALLOC_SHIFT_LOW	3
#define KMALLOC_SHIFT_HIGH	13	/* kmalloc-8k is the largest cache */
#define KMALLOC_SHIFT_MAX	(MAX_PAGE_ORDER + PAGE_SHIFT)
#define KMALLOC_MAX_CACHE_SIZE	(1UL << KMALLOC_SHIFT_HIGH)
#define KMALLOC_MAX_SIZE	(1UL << KMALLOC_SHIFT_MAX)
#define KMALLOC_MAX_ORDER	(KMALLOC_SHIFT_MAX - PAGE_SHIFT)
#define NUMA_NO_NODE		(-1)

struct kmem_cache;
struct list_lru;

/**
 * struct kmem_cache_args - optional arguments of kmem_cache_create()
 * @align:              object alignment (0: the default, 8)
 * @useroffset:         usercopy region start (accepted, ignored)
 * @usersize:           usercopy region size (accepted, ignored)
 * @freeptr_offset:     accepted for compatibility; kmem keeps no free
 *                      pointer inside objects of caches with a ctor or
 *                      SLAB_TYPESAFE_BY_RCU, so it is not needed
 * @use_freeptr_offset: see @freeptr_offset
 * @ctor:               constructor, run once per object when its slab is
 *                      populated
 */
struct kmem_cache_args {
	unsigned int align;
	unsigned int useroffset;
	unsigned int usersize;
	unsigned int freeptr_offset;
	bool use_freeptr_offset;
	void (*ctor)(void *);
};

KMEM_EXPORT struct kmem_cache *
__kmem_cache_create(const char *name, unsigned int size, unsigned int align,
		    slab_flags_t flags, void (*ctor)(void *));
KMEM_EXPORT struct kmem_cache *
__kmem_cache_create_args(const char *name, unsigned int object_size,
			 struct kmem_cache_args *args, slab_flags_t flags);
KMEM_EXPORT struct kmem_cache *
__kmem_cache_default_args(const char *name, unsigned int object_size,
			  struct kmem_cache_args *args, slab_flags_t flags);
KMEM_EXPORT struct kmem_cache *
kmem_cache_create_usercopy(const char *name, unsigned int size,
			   unsigned int align, slab_flags_t flags,
			   unsigned int useroffset, unsigned int usersize,
			   void (*ctor)(void *));

/*
 * kmem_cache_create - create a cache
 *   kmem_cache_create(name, size, align, flags, ctor)    6.1 form
 *   kmem_cache_create(name, size, &args, flags)         args form
 *   kmem_cache_create(name, size, NULL, flags)          defaults
 * Returns the cache, or NULL (with a message) for a bad name, a duplicate
 * name, a bad size or alignment, or no memory; SLAB_PANIC aborts instead.
 */
#define kmem_cache_create(__name, __object_size, __args, ...)               \
	_Generic((__args),                                                   \
		struct kmem_cache_args *: __kmem_cache_create_args,          \
		void *: __kmem_cache_default_args,                           \
		default: __kmem_cache_create)(__name, __object_size, __args, \
					      __VA_ARGS__)

#define KMEM_CACHE(__struct, __flags)                                        \
	__kmem_cache_create(#__struct, sizeof(struct __struct),              \
			    __alignof__(struct __struct), (__flags), NULL)

#define KMEM_CACHE_USERCOPY(__struct, __flags, __field)                      \
	kmem_cache_create_usercopy(#__struct, sizeof(struct __struct),       \
			__alignof__(struct __struct), (__flags),             \
			offsetof(struct __struct, __field),                  \
			sizeof(((struct __struct *)0)->__field), NULL)

KMEM_EXPORT void kmem_cache_destroy(struct kmem_cache *s);
KMEM_EXPORT int kmem_cache_shrink(struct kmem_cache *s);
KMEM_EXPORT unsigned int kmem_cache_size(struct kmem_cache *s);
KMEM_EXPORT const char *kmem_cache_name(struct kmem_cache *s);
KMEM_EXPORT void *kmem_cache_alloc(struct kmem_cache *s, gfp_t flags)
	__attribute__((malloc));
KMEM_EXPORT void *kmem_cache_alloc_lru(struct kmem_cache *s,
				       struct list_lru *lru, gfp_t flags)
	__attribute__((malloc));
KMEM_EXPORT void *kmem_cache_alloc_node(struct kmem_cache *s, gfp_t flags,
					int node) __attribute__((malloc));
KMEM_EXPORT void kmem_cache_free(struct kmem_cache *s, void *objp);
KMEM_EXPORT int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t flags,
				      size_t size, void **p);
KMEM_EXPORT void kmem_cache_free_bulk(struct kmem_cache *s, size_t size,
				      void **p);

static __kmem_always_inline void *kmem_cache_zalloc(struct kmem_cache *k,
						    gfp_t flags)
{
	return kmem_cache_alloc(k, flags | __GFP_ZERO);
}

static __kmem_always_inline void kfree_bulk(size_t size, void **p)
{
	kmem_cache_free_bulk(NULL, size, p);
}

/* ---- kmalloc ------------------------------------------------------- */

KMEM_EXPORT void *kmalloc(size_t size, gfp_t flags)
	__attribute__((malloc, alloc_size(1)));
KMEM_EXPORT void *kmalloc_node(size_t size, gfp_t flags, int node)
	__attribute__((malloc, alloc_size(1)));
KMEM_EXPORT void *krealloc(const void *objp, size_t new_size, gfp_t flags)
	__attribute__((alloc_size(2)));
KMEM_EXPORT void kfree(const void *objp);
KMEM_EXPORT void kfree_sensitive(const void *objp);
KMEM_EXPORT size_t ksize(const void *objp);
KMEM_EXPORT size_t kmalloc_size_roundup(size_t size);
KMEM_EXPORT void *kmemdup(const void *src, size_t len, gfp_t gfp)
	__attribute__((alloc_size(2)));
KMEM_EXPORT char *kstrdup(const char *s, gfp_t gfp) __attribute__((malloc));
KMEM_EXPORT char *kstrndup(const char *s, size_t max, gfp_t gfp)
	__attribute__((malloc));
KMEM_EXPORT const char *kstrdup_const(const char *s, gfp_t gfp);
KMEM_EXPORT void kfree_const(const void *x);
KMEM_EXPORT void *kvmalloc_node(size_t size, gfp_t flags, int node)
	__attribute__((malloc, alloc_size(1)));
KMEM_EXPORT void kvfree(const void *addr);
KMEM_EXPORT void kvfree_sensitive(const void *addr, size_t len);
KMEM_EXPORT void *kvrealloc(const void *p, size_t oldsize, size_t newsize,
			    gfp_t flags);

static inline bool kmem_mul_overflows(size_t a, size_t b, size_t *bytes)
{
	return __builtin_mul_overflow(a, b, bytes);
}

static __kmem_always_inline void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

static __kmem_always_inline void *kzalloc_node(size_t size, gfp_t flags,
					       int node)
{
	return kmalloc_node(size, flags | __GFP_ZERO, node);
}

/**
 * kmalloc_array - allocate an array of @n elements of @size bytes
 * Return: NULL when n * size overflows, as the kernel does.
 */
static __kmem_always_inline void *kmalloc_array(size_t n, size_t size,
						gfp_t flags)
{
	size_t bytes;

	if (kmem_mul_overflows(n, size, &bytes))
		return NULL;
	return kmalloc(bytes, flags);
}

static __kmem_always_inline void *kmalloc_array_node(size_t n, size_t size,
						     gfp_t flags, int node)
{
	(void)node;
	return kmalloc_array(n, size, flags);
}

static __kmem_always_inline void *krealloc_array(void *p, size_t new_n,
						 size_t new_size, gfp_t flags)
{
	size_t bytes;

	if (kmem_mul_overflows(new_n, new_size, &bytes))
		return NULL;
	return krealloc(p, bytes, flags);
}

static __kmem_always_inline void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	return kmalloc_array(n, size, flags | __GFP_ZERO);
}

static __kmem_always_inline void *kcalloc_node(size_t n, size_t size,
					       gfp_t flags, int node)
{
	return kmalloc_array_node(n, size, flags | __GFP_ZERO, node);
}

static __kmem_always_inline void *kvmalloc(size_t size, gfp_t flags)
{
	return kvmalloc_node(size, flags, NUMA_NO_NODE);
}

static __kmem_always_inline void *kvzalloc(size_t size, gfp_t flags)
{
	return kvmalloc(size, flags | __GFP_ZERO);
}

static __kmem_always_inline void *kvzalloc_node(size_t size, gfp_t flags,
						int node)
{
	return kvmalloc_node(size, flags | __GFP_ZERO, node);
}

static __kmem_always_inline void *kvmalloc_array(size_t n, size_t size,
						 gfp_t flags)
{
	size_t bytes;

	if (kmem_mul_overflows(n, size, &bytes))
		return NULL;
	return kvmalloc(bytes, flags);
}

static __kmem_always_inline void *kvcalloc(size_t n, size_t size, gfp_t flags)
{
	return kvmalloc_array(n, size, flags | __GFP_ZERO);
}

/* ---- RCU-deferred frees -------------------------------------------- */

KMEM_EXPORT void kmem_kfree_rcu_offset(void *objp, size_t offset);
KMEM_EXPORT void kvfree_rcu_barrier(void);

/*
 * kfree_rcu(ptr, field) - kfree(ptr) after an RCU grace period (liburcu,
 * default flavour).  @field names a struct rcu_head (or any 16-byte
 * member) in *ptr that kmem may use until the free; ptr may be NULL.
 */
#define kfree_rcu(ptr, field)                                                \
	do {                                                                 \
		__typeof__(ptr) ___p = (ptr);                                \
		(void)sizeof(char[1 - 2 * (sizeof(___p->field) <             \
					   2 * sizeof(void *))]);            \
		if (___p)                                                    \
			kmem_kfree_rcu_offset(___p,                          \
				offsetof(__typeof__(*___p), field));         \
	} while (0)
#define kvfree_rcu(ptr, field) kfree_rcu(ptr, field)

#ifdef __cplusplus
}
#endif

#endif /* KMEM_SLAB_H */
