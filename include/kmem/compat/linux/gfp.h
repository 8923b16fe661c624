/* SPDX-License-Identifier: MIT */
/*
 * <linux/gfp.h> for kernel code built on kmem: the gfp flags
 * (<linux/gfp_types.h>, <kmem/gfp.h>), gfpflags_allow_blocking(), and the
 * page allocator the kernel declares here (alloc_pages(), __get_free_pages(),
 * free_pages(), ...: <kmem/page.h>).
 *
 * One of kmem's kernel-compatibility headers (include/kmem/compat; see
 * Documentation/kernel-compat.md).
 */
#ifndef KMEM_COMPAT_LINUX_GFP_H
#define KMEM_COMPAT_LINUX_GFP_H
/* The kernel's own guard: its gfp.h, reached by a path, adds nothing. */
#define __LINUX_GFP_H

#include <linux/gfp_types.h>
#include <kmem/gfp.h>
#include <kmem/page.h>

#endif /* KMEM_COMPAT_LINUX_GFP_H */
