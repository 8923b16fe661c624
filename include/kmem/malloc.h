/* SPDX-License-Identifier: MIT */
/*
 * kmem/malloc.h - the C/POSIX/glibc allocation API on top of kmalloc.
 *
 * libkmem exports these under kmem_ names only.  libkmem-malloc.so (and
 * libkmem-malloc.a) is the same code and also exports the standard names,
 * so that linking it, or LD_PRELOADing it, replaces the C library's
 * malloc.  Semantics are glibc's; see Documentation/kmalloc.md and
 * kmem-malloc(3).
 */
#ifndef KMEM_MALLOC_H
#define KMEM_MALLOC_H

#include <stddef.h>
#include <stdio.h>
#include <kmem/page.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mallinfo2;

KMEM_EXPORT void *kmem_malloc(size_t size) __attribute__((malloc, alloc_size(1)));
KMEM_EXPORT void kmem_free(void *ptr);
KMEM_EXPORT void *kmem_calloc(size_t nmemb, size_t size)
	__attribute__((malloc, alloc_size(1, 2)));
KMEM_EXPORT void *kmem_realloc(void *ptr, size_t size) __attribute__((alloc_size(2)));
KMEM_EXPORT void *kmem_reallocarray(void *ptr, size_t nmemb, size_t size)
	__attribute__((alloc_size(2, 3)));
KMEM_EXPORT int kmem_posix_memalign(void **memptr, size_t alignment, size_t size);
KMEM_EXPORT void *kmem_aligned_alloc(size_t alignment, size_t size)
	__attribute__((malloc, alloc_size(2)));
KMEM_EXPORT void *kmem_memalign(size_t alignment, size_t size)
	__attribute__((malloc, alloc_size(2)));
KMEM_EXPORT void *kmem_valloc(size_t size) __attribute__((malloc, alloc_size(1)));
KMEM_EXPORT void *kmem_pvalloc(size_t size) __attribute__((malloc));
KMEM_EXPORT size_t kmem_malloc_usable_size(void *ptr);
KMEM_EXPORT int kmem_malloc_trim(size_t pad);
KMEM_EXPORT void kmem_malloc_stats(void);
KMEM_EXPORT struct mallinfo2 kmem_mallinfo2(void);
KMEM_EXPORT int kmem_malloc_info(int options, FILE *fp);
KMEM_EXPORT int kmem_mallopt(int param, int value);

#ifdef __cplusplus
}
#endif

#endif /* KMEM_MALLOC_H */
