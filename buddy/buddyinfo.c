// SPDX-License-Identifier: MIT
/*
 * buddy/buddyinfo.c - /proc/buddyinfo for the page allocator: the snapshot
 * (kmem_buddyinfo_get) and its line (kmem_buddyinfo_format).
 *
 * Lock order: the table in core/lock.h.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "buddy/buddy.h"
#include "buddy/zone.h"


/**
 * buddy_info_get - snapshot the page allocator, with its resident free
 * blocks
 * @info:          filled in
 * @resident_free: if not NULL, set to the free blocks of each order whose
 *                 pages may be resident: @info->nr_free less the released
 *                 ones (max-order blocks, pieces), for malloc's figures
 */
void buddy_info_get(struct kmem_buddyinfo *info,
		    unsigned long resident_free[NR_PAGE_ORDERS])
{
	struct zone *z = &kmem_zone;
	struct pcp_count pc = { 0, 0 };
	struct huge_stats hs;

	kmem_init();
	memset(info, 0, sizeof(*info));
	kmem_thread_lock();
	kmem_thread_for_each(&pcp_part, count_pcp_quiet, &pc);
	zone_lock();
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		info->nr_free[o] = z->free_area[o].nr_free;
	info->nr_free[MAX_PAGE_ORDER] += nr_releasing;
	info->pcp_pages = pc.pages;
	info->mapped = z->nr_sections * SECTION_SIZE;
	info->retained = zone_retained_bytes();
	info->resident = info->mapped - info->retained;
	info->nr_sections = z->nr_sections;
	if (resident_free) {
		for (int o = 0; o < MAX_PAGE_ORDER; o++)
			resident_free[o] = z->free_area[o].nr_free -
					   z->free_area[o].nr_released;
		resident_free[MAX_PAGE_ORDER] =
			z->free_area[MAX_PAGE_ORDER].nr_free - z->nr_released;
	}
	zone_unlock_read();
	kmem_thread_unlock();
	huge_cache_stats(&hs);
	info->huge_mapped = hs.bytes;
	info->nr_huge = hs.nr;
	info->huge_cached = hs.cached_bytes;
	info->nr_huge_cached = hs.nr_cached;
}

/**
 * kmem_buddyinfo_get - snapshot the page allocator
 * @info: filled in
 */
void kmem_buddyinfo_get(struct kmem_buddyinfo *info)
{
	buddy_info_get(info, NULL);
}

/**
 * kmem_buddyinfo_format - the /proc/buddyinfo line for a snapshot
 * @info: a snapshot
 * @buf:  destination
 * @len:  its size
 *
 * Writes "Node 0, zone   Normal" and the eleven counts, each "%6lu ", then
 * a newline: the kernel's format byte for byte.
 *
 * Return: the length of the line (as snprintf).
 */
int kmem_buddyinfo_format(const struct kmem_buddyinfo *info, char *buf,
			  size_t len)
{
	int n = kmem_snprintf(buf, len, "Node %d, zone %8s ", 0, "Normal");

	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		n += kmem_snprintf(buf + min((size_t)n, len),
				   len - min((size_t)n, len), "%6lu ",
				   info->nr_free[o]);
	n += kmem_snprintf(buf + min((size_t)n, len), len - min((size_t)n, len),
			   "\n");
	return n;
}
