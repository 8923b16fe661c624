// SPDX-License-Identifier: MIT
/*
 * bench/page_cost.c - what touching a page costs on this machine, printed
 * in the header of every bench/run.sh table.
 *
 * Usage: page_cost [MIB]   (default 32)
 *
 * Prints one line of key=value pairs, microseconds per 4 KiB page, the
 * median of five rounds:
 *
 *   page_cost first_touch_us=0.62 moved_touch_us=0.03 resident_touch_us=0.02
 *
 *   first_touch_us     writing a page of a new anonymous mapping: the page
 *                      fault, the zeroing, the write
 *   moved_touch_us     writing a resident page just moved by mremap() to
 *                      addresses never used before (how kmem gathered kept
 *                      huge mappings before the huge heap, and how realloc
 *                      moves a huge block today); no fault is
 *                      counted, but a virtual machine that shadows the page
 *                      tables may take one of its own
 *   resident_touch_us  writing a resident page again
 *
 * Why: the same allocator's figures moved by up to 4x between sessions on
 * machines of one kind (bench's `large`: kmem 0.44 s of CPU in one
 * session, 5.5 s with the same page faults in another), because a page
 * fault cost ten times more on one machine than on the other; and where
 * a moved page costs as much as a fault, "fewer faults" is not "less
 * work".  With these figures beside a table, tables of different days can
 * be told apart.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define ROUNDS 5

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *map(size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("page_cost: mmap");
		exit(2);
	}
	return p;
}

/* Write every page of [p, p + size): one store per page. */
static double touch(char *p, size_t size, char v)
{
	double t0 = now();

	for (size_t off = 0; off < size; off += 4096)
		((volatile char *)p)[off] = v;
	return now() - t0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	char *end = NULL;
	size_t mib = argc > 1 ? strtoul(argv[1], &end, 10) : 32;
	size_t size = mib << 20, pages = size >> 12;
	double first[ROUNDS], moved[ROUNDS], resident[ROUNDS];

	if (argc > 2 || (end && (end == argv[1] || *end)) || !mib || mib > 4096) {
		fprintf(stderr, "usage: page_cost [MIB]   (1..4096, default 32)\n");
		return 2;
	}
	for (int r = 0; r < ROUNDS; r++) {
		char *a = map(size, PROT_READ | PROT_WRITE);
		/* A range of its own, never touched: the move's destination. */
		char *dst = map(size, PROT_NONE), *b;

		first[r] = touch(a, size, 1);
		resident[r] = touch(a, size, 2);
		b = mremap(a, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		if (b == MAP_FAILED) {
			perror("page_cost: mremap");
			return 2;
		}
		moved[r] = touch(b, size, 3);
		munmap(b, size);
	}
	qsort(first, ROUNDS, sizeof(double), cmp);
	qsort(moved, ROUNDS, sizeof(double), cmp);
	qsort(resident, ROUNDS, sizeof(double), cmp);
	printf("page_cost first_touch_us=%.2f moved_touch_us=%.2f resident_touch_us=%.3f\n",
	       first[ROUNDS / 2] / (double)pages * 1e6,
	       moved[ROUNDS / 2] / (double)pages * 1e6,
	       resident[ROUNDS / 2] / (double)pages * 1e6);
	return 0;
}
