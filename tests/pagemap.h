/* SPDX-License-Identifier: MIT */
/*
 * tests/pagemap.h - which pages of the calling process are present, and
 * whether a stretch of code faulted any page twice.
 *
 * A page of a private anonymous mapping that is read before it is ever
 * written maps the kernel's shared zero page; the first write then faults
 * again to give it a page of its own: two minor faults for one page.  A
 * test brackets the code it measures with pm_snapshot() and counts its
 * faults (getrusage()): if every fault brought in a page, the faults are
 * at most the pages present after and not before (pm_fresh()).  Before
 * the first snapshot, pm_prepare() writes the given buffers and reads
 * every page of each read-only file mapping (code, constants), and in a
 * forked process pm_unshare() makes the pages it shares copy-on-write
 * with its parent its own, so that none of them faults in between.
 * Reads /proc/self/maps and pagemap with system calls only (no malloc).
 * Used by tests/preload/refaults.c and test_profile.c.
 */
#ifndef KMEM_TESTS_PAGEMAP_H
#define KMEM_TESTS_PAGEMAP_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PM_PAGE		4096UL

static char pm_maps[1 << 20] __attribute__((unused));
static uint64_t pm_entries[8192] __attribute__((unused));

/* Write every page of @p, so that none faults while a test counts. */
static inline void pm_touch(void *p, size_t len)
{
	for (size_t i = 0; i < len; i += PM_PAGE)
		((volatile char *)p)[i] = 0;
}

/* /proc/self/maps into pm_maps[]. */
static inline void pm_read_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	size_t len = 0;
	ssize_t n;

	if (fd < 0) {
		perror("pagemap.h: /proc/self/maps");
		exit(2);
	}
	while ((n = read(fd, pm_maps + len, sizeof(pm_maps) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	pm_maps[len] = 0;
}

/*
 * Walk the mappings: with @set, record the present page numbers in @set
 * (at most @max, ascending: the mappings are in address order) and return
 * how many; without, read every page of each read-only file mapping.
 */
static inline unsigned long pm_walk(unsigned long *set, unsigned long max)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	const unsigned long room = sizeof(pm_entries) / sizeof(pm_entries[0]);
	unsigned long count = 0;

	pm_read_maps();
	for (char *l = pm_maps; *l;) {
		char *nl = strchr(l, '\n'), perm[8] = "", path[256] = "";
		unsigned long s, e;

		if (nl)
			*nl = 0;
		if (sscanf(l, "%lx-%lx %7s %*s %*s %*s %255s", &s, &e, perm,
			   path) >= 3) {
			if (!set && perm[0] == 'r' && perm[1] != 'w' &&
			    path[0] == '/') {
				for (unsigned long a = s; a < e; a += PM_PAGE)
					(void)*(volatile const char *)a;
			}
			for (unsigned long a = s; set && a < e;) {
				unsigned long n = (e - a) / PM_PAGE;
				ssize_t got;

				if (n > room)
					n = room;
				got = pread(fd, pm_entries, n * 8,
					    (off_t)(a / PM_PAGE * 8));
				if (got <= 0)
					break;
				n = (unsigned long)got / 8;
				for (unsigned long i = 0; i < n; i++) {
					if (!(pm_entries[i] >> 63))
						continue;
					if (count == max) {
						fprintf(stderr, "pagemap.h: more than %lu pages\n",
							max);
						exit(2);
					}
					set[count++] = a / PM_PAGE + i;
				}
				a += n * PM_PAGE;
			}
		}
		if (!nl)
			break;
		l = nl + 1;
	}
	close(fd);
	return count;
}

/*
 * Give this process its own copy of every page it shares copy-on-write
 * (after fork(), with its parent): each present page of a private
 * writable mapping that is not mapped by this process alone is written
 * with the byte it holds.  Else the measured code's first write to such
 * a page (a variable the parent wrote before the fork) faults without
 * bringing in a page the snapshots can see.  A page read but never
 * written (the zero page) counts as shared and is written too: what a
 * test measures is the code that runs after this, and a page the code
 * read into the zero page before it is hidden: a test in a process that
 * was not forked (tests/preload/refaults.c) does not call this.
 */
static inline void pm_unshare(void)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);

	pm_read_maps();
	for (char *l = pm_maps; *l;) {
		char *nl = strchr(l, '\n'), perm[8] = "";
		unsigned long s, e;

		if (nl)
			*nl = 0;
		if (sscanf(l, "%lx-%lx %7s", &s, &e, perm) == 3 &&
		    !strcmp(perm, "rw-p")) {
			for (unsigned long a = s; a < e; a += PM_PAGE) {
				uint64_t v = 0;

				off_t at = (off_t)(a / PM_PAGE * 8);

				if (pread(fd, &v, 8, at) != 8)
					break;
				/* present, not exclusively mapped (bit 56) */
				if ((v >> 63) && !((v >> 56) & 1)) {
					volatile char *c = (volatile char *)a;

					*c = *c;
				}
			}
		}
		if (!nl)
			break;
		l = nl + 1;
	}
	close(fd);
}

/* Before the first snapshot: the buffers written, the file pages read. */
static inline void pm_prepare(unsigned long *before, unsigned long *after,
			      unsigned long max)
{
	pm_touch(pm_maps, sizeof(pm_maps));
	pm_touch(pm_entries, sizeof(pm_entries));
	pm_touch(before, max * sizeof(*before));
	pm_touch(after, max * sizeof(*after));
	pm_walk(NULL, 0);
}

/* The present pages, into @set; how many. */
static inline unsigned long pm_snapshot(unsigned long *set, unsigned long max)
{
	return pm_walk(set, max);
}

static inline bool pm_in_set(const unsigned long *set, unsigned long n,
			     unsigned long pg)
{
	unsigned long lo = 0, hi = n;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (set[mid] == pg)
			return true;
		if (set[mid] < pg)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Pages present in @after and not in @before. */
static inline unsigned long pm_fresh(const unsigned long *before,
				     unsigned long nb,
				     const unsigned long *after, unsigned long na)
{
	unsigned long fresh = 0;

	for (unsigned long i = 0; i < na; i++)
		if (!pm_in_set(before, nb, after[i]))
			fresh++;
	return fresh;
}

#endif /* KMEM_TESTS_PAGEMAP_H */
