/* SPDX-License-Identifier: MIT */
/*
 * <linux/slab.h> for kernel code built on kmem: object caches, kmalloc
 * and RCU frees (<kmem/slab.h>), with the gfp flags (<linux/gfp.h>).
 *
 * kmem_cache_create() takes both of the kernel's forms: Linux 6.1's
 * (name, size, align, flags, ctor) and 6.12's (name, size, args, flags)
 * with a struct kmem_cache_args or NULL, chosen by _Generic as the kernel
 * does; so does kvrealloc(), 6.1's (p, oldsize, newsize, gfp) and 6.11's
 * (p, size, gfp), chosen by the number of arguments.  Flag names the kernel defines in some versions or configurations
 * only get the value the kernel gives them when the feature is off:
 *
 *   SLAB_NO_OBJ_EXT   6.10+: 0, as without CONFIG_SLAB_OBJ_EXT
 *
 * One of kmem's kernel-compatibility headers (include/kmem/compat; see
 * Documentation/kernel-compat.md).
 */
#ifndef KMEM_COMPAT_LINUX_SLAB_H
#define KMEM_COMPAT_LINUX_SLAB_H
/* The kernel's own guard: its slab.h, reached by a path, adds nothing. */
#define _LINUX_SLAB_H

#include <linux/gfp.h>
#include <kmem/slab.h>

#ifndef SLAB_NO_OBJ_EXT
#define SLAB_NO_OBJ_EXT		((slab_flags_t)0)
#endif

/* The kernel's definition, from KMALLOC_MIN_SIZE. */
#ifndef SLAB_OBJ_MIN_SIZE
#define SLAB_OBJ_MIN_SIZE	(KMALLOC_MIN_SIZE < 16 ? KMALLOC_MIN_SIZE : 16)
#endif

/*
 * kvrealloc() in both of the kernel's forms: 6.1's (p, oldsize, newsize,
 * gfp) is kmem's function; 6.11 dropped oldsize, and its (p, size, gfp)
 * is krealloc() on kmem, where kvmalloc() is kmalloc() (the kernel's falls
 * back to vmalloc, which kmem has no use for).  Chosen by argument count.
 */
#define KMEM_COMPAT_PICK4(_1, _2, _3, _4, name, ...) name
#define kvrealloc(...) \
	KMEM_COMPAT_PICK4(__VA_ARGS__, kvrealloc, krealloc, ~)(__VA_ARGS__)

#endif /* KMEM_COMPAT_LINUX_SLAB_H */
