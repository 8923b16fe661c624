/* SPDX-License-Identifier: MIT */
/*
 * tests/kernel/kmem_linux.h - the test hooks kmem_linux.c defines, as the
 * kernel's test code declares them (lib/maple_tree.c, outside __KERNEL__),
 * for the adapter's own files.  The kernel's suites do not include it.
 */
#ifndef KMEM_LINUX_H
#define KMEM_LINUX_H

struct kmem_cache;

void kmem_cache_set_non_kernel(struct kmem_cache *s, unsigned int val);
void kmem_cache_set_callback(struct kmem_cache *s, void (*callback)(void *));
void kmem_cache_set_private(struct kmem_cache *s, void *private);
unsigned long kmem_cache_get_alloc(struct kmem_cache *s);
unsigned long kmem_cache_nr_allocated(struct kmem_cache *s);
unsigned long kmem_cache_nr_tallocated(struct kmem_cache *s);
void kmem_cache_zero_nr_tallocated(struct kmem_cache *s);
void test_kmem_cache_bulk(void);

extern int nr_allocated;
extern int kmalloc_nr_allocated;
extern int kmalloc_verbose;

#endif /* KMEM_LINUX_H */
