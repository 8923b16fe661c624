// SPDX-License-Identifier: MIT
/*
 * kmalloc/stats.c - the in-process statistics API and whole-allocator
 * operations.
 *
 * The figures themselves live where they are maintained (the zone, each
 * cache, each thread's block in the shared region); this file gathers
 * them for a program that asks about itself: /proc/buddyinfo and
 * /proc/slabinfo text for the calling process, kmem_shrink_all(), and
 * the report KMEM_STATS_PRINT asks for at exit.
 * kmeminfo reads the same figures from the shared region of another
 * process (tools/kmeminfo).
 *
 * Lock order: as the layers below (no lock of its own).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "kmalloc/kmalloc.h"

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
 * Empties every CPU's magazines (the calling thread's in the per-thread
 * mode) and every depot into the slabs,
 * frees empty slabs, drains the calling thread's page lists, releases
 * every free max-order block and every free piece of 128 KiB and up of a
 * split one with MADV_DONTNEED and unmaps wholly free sections beyond the
 * retained amount.  In the per-thread mode other
 * threads' magazines are theirs until they exit.
 */
void kmem_shrink_all(void)
{
	kmem_init();
	slab_shrink_all();
	buddy_shrink();
}

/**
 * kmem_stats_print_at_exit - KMEM_STATS_PRINT: the figures, at exit
 *
 * Writes a title naming the process, the malloc_stats() summary, the
 * /proc/buddyinfo line and the /proc/slabinfo text to stderr or to the
 * file the setting names.  Uses no stdio and no malloc (the C library may
 * be half torn down by now; its buffers are not ours to use): text is
 * formatted on the stack and written with write(2); the cache snapshot
 * comes from the page allocator.
 *
 * Context: exit(), from the library's destructor; kmem initialised.
 */
void kmem_stats_print_at_exit(void)
{
	char comm[17] = "", line[160];
	int fd = 2, n;

	if (!kmem_config.stats_print)
		return;
	if (*kmem_config.stats_print) {
		fd = kmem_output_open(kmem_config.stats_print,
				      "KMEM_STATS_PRINT");
		if (fd < 0)
			return;
	}
	prctl(PR_GET_NAME, comm, 0, 0, 0);
	n = kmem_snprintf(line, sizeof(line),
			  "kmem: statistics of pid %d (%s) at exit\n",
			  (int)getpid(), comm);
	kmem_write_all(fd, line, min((size_t)n, sizeof(line) - 1));
	kmem_malloc_stats_fd(fd);
	kmem_buddyinfo_print(fd);
	kmem_slabinfo_print(fd);
	if (fd != 2)
		close(fd);
}

/* KMEM_STATS_PRINT's report, when the library is finalised. */
KMEM_LAYER(stats_layer, "exit report", LAYER_KMALLOC, LOCK_RANK_NONE,
	.exit = kmem_stats_print_at_exit);
