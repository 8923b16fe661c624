/* SPDX-License-Identifier: MIT */
/*
 * tests/kernel/vma_close.h - given to every compilation of the kernel's vma
 * suite (tools/testing/vma, 6.12), on kmem and on the stand-in (-include).
 *
 * The kernel's mm/vma.c, which the suite compiles, calls vma_close(); the
 * kernel defines it in mm/internal.h, which the suite does not include, and
 * the suite's vma_internal.h does not provide it, so the suite does not
 * link as shipped.  vma_close.c defines it.
 */
#ifndef KMEM_VMA_CLOSE_H
#define KMEM_VMA_CLOSE_H

struct vm_area_struct;

void vma_close(struct vm_area_struct *vma);

#endif /* KMEM_VMA_CLOSE_H */
