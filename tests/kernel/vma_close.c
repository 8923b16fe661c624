// SPDX-License-Identifier: MIT
/*
 * tests/kernel/vma_close.c - vma_close() for the kernel's vma suite (see
 * vma_close.h), with the kernel's semantics: call the VMA's close hook, if
 * it has one, then give the VMA the dummy operations, since its state is
 * undefined after close and no other hook may run on it.
 */
#include "maple-shared.h"
#include "vma_internal.h"

void vma_close(struct vm_area_struct *vma)
{
	if (!vma->vm_ops || !vma->vm_ops->close)
		return;
	vma->vm_ops->close(vma);
	vma->vm_ops = &vma_dummy_vm_ops;
}
