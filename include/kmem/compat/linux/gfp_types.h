/* SPDX-License-Identifier: MIT */
/*
 * <linux/gfp_types.h> for kernel code built on kmem: the kernel's gfp flag
 * names, with kmem's values (<kmem/gfp.h>).
 *
 * Part of kmem's kernel-compatibility headers, installed under
 * include/kmem/compat and used with `pkg-config --cflags kmem-compat` or
 * CMake's kmem::compat (Documentation/kernel-compat.md says why they are
 * not in include/linux).  Code must use the names; the numbers are kmem's.
 *
 * Names the kernel defines in some of its versions or configurations only,
 * given here the value the kernel gives them when the feature is off:
 *
 *   __GFP_ATOMIC                  6.1 (dropped in 6.3): 0; kmem's
 *                                 GFP_ATOMIC is the 6.3+ one
 *   __GFP_SKIP_ZERO, __GFP_SKIP_KASAN_POISON, __GFP_SKIP_KASAN_UNPOISON
 *                                 (6.1), __GFP_SKIP_KASAN (6.4+): 0, as
 *                                 without CONFIG_KASAN_HW_TAGS
 *   __GFP_NO_OBJ_EXT              6.10+: 0, as without CONFIG_SLAB_OBJ_EXT
 */
#ifndef KMEM_COMPAT_LINUX_GFP_TYPES_H
#define KMEM_COMPAT_LINUX_GFP_TYPES_H
/* The kernel's own guard: its gfp_types.h, reached by a path, adds nothing. */
#define __LINUX_GFP_TYPES_H

#include <kmem/gfp.h>

#ifndef __GFP_ATOMIC
#define __GFP_ATOMIC			((gfp_t)0)
#endif
#ifndef __GFP_SKIP_ZERO
#define __GFP_SKIP_ZERO			((gfp_t)0)
#endif
#ifndef __GFP_SKIP_KASAN
#define __GFP_SKIP_KASAN		((gfp_t)0)
#endif
#ifndef __GFP_SKIP_KASAN_POISON
#define __GFP_SKIP_KASAN_POISON		((gfp_t)0)
#endif
#ifndef __GFP_SKIP_KASAN_UNPOISON
#define __GFP_SKIP_KASAN_UNPOISON	((gfp_t)0)
#endif
#ifndef __GFP_NO_OBJ_EXT
#define __GFP_NO_OBJ_EXT		((gfp_t)0)
#endif

#endif /* KMEM_COMPAT_LINUX_GFP_TYPES_H */
