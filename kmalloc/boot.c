// SPDX-License-Identifier: MIT
/*
 * kmalloc/boot.c - the start-up arena: a call made from inside kmem's own
 * start-up (a library that the start-up path calls allocates) is served
 * from a small static arena that is never freed; kmem_boot_owns() tells
 * a pointer from it.
 *
 * Lock order: the table in core/lock.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kmalloc/kmalloc.h"

static char boot_arena[64 * 1024] __bss_cold;
static size_t boot_used;		/* atomic */

/**
 * kmem_boot_alloc - memory for a call made from inside kmem's start-up
 * @size:  bytes
 * @align: alignment (power of two, at most 4096)
 *
 * Return: zeroed memory that is never freed, or NULL when the arena is
 * exhausted.
 */
void *kmem_boot_alloc(size_t size, size_t align)
{
	size_t old = __atomic_load_n(&boot_used, __ATOMIC_RELAXED), start;

	if (align < 16)
		align = 16;
	if (align > 4096 || size > sizeof(boot_arena))
		return NULL;
	do {
		start = ALIGN(old, align);
		if (start + size > sizeof(boot_arena))
			return NULL;
	} while (!__atomic_compare_exchange_n(&boot_used, &old, start + size,
					      true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return boot_arena + start;
}

/**
 * kmem_boot_owns - is @p in the start-up arena?
 */
bool kmem_boot_owns(const void *p)
{
	return (const char *)p >= boot_arena &&
	       (const char *)p < boot_arena + sizeof(boot_arena);
}

/**
 * kmem_boot_usable - bytes that may be read at @p in the start-up arena
 *
 * Object sizes are not recorded there; this bounds a copy out of it.
 */
size_t kmem_boot_usable(const void *p)
{
	return (size_t)(boot_arena + sizeof(boot_arena) - (const char *)p);
}
