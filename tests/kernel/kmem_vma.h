/* SPDX-License-Identifier: MIT */
/*
 * tests/kernel/kmem_vma.h - given to every compilation of the kernel's vma
 * suite (tools/testing/vma, 6.12) on kmem (-include).
 *
 * Declares the kernel's caches for VMAs (kernel/fork.c), which the suite's
 * vma_internal.h, as run-kernel-tests.sh edits it, allocates from, and which
 * kmem_vma.c defines.
 */
#ifndef KMEM_VMA_H
#define KMEM_VMA_H

#include <linux/slab.h>

extern struct kmem_cache *vm_area_cachep;
extern struct kmem_cache *vma_lock_cachep;

#endif /* KMEM_VMA_H */
