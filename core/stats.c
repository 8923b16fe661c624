// SPDX-License-Identifier: MIT
/*
 * core/stats.c - the in-process statistics API and whole-allocator
 * operations.
 *
 * The figures themselves live where they are maintained (the zone, each
 * cache, each thread's block in the shared region); this file gathers
 * them for a program that asks about itself: /proc/buddyinfo and
 * /proc/slabinfo text for the calling process, and kmem_shrink_all().
 * kmeminfo reads the same figures from the shared region of another
 * process (tools/kmeminfo).
 *
 * Lock order: as the layers below (no lock of its own).
 */
#include <string.h>

#include "core/core.h"

/**
 * kmem_buddyinfo_print - write this process's /proc/buddyinfo line
 * @fd: where
 *
 * Return: 0.
 */
int kmem_buddyinfo_print(int fd)
{
	struct kmem_buddyinfo bi;
	char line[256];
	int n;

	kmem_buddyinfo_get(&bi);
	n = kmem_buddyinfo_format(&bi, line, sizeof(line));
	kmem_write_all(fd, line, min((size_t)n, sizeof(line) - 1));
	return 0;
}

/**
 * kmem_shrink_all - give back every free byte kmem can, now
 *
 * Empties the calling thread's magazines and every depot into the slabs,
 * frees empty slabs, drains the calling thread's page lists, releases
 * every free max-order block with MADV_DONTNEED and unmaps wholly free
 * sections beyond the retained amount.  Other threads' magazines are
 * theirs until they exit.
 */
void kmem_shrink_all(void)
{
	kmem_init();
	slab_shrink_all();
	buddy_shrink();
}
