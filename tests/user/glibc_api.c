// SPDX-License-Identifier: MIT
/*
 * tests/user/glibc_api.c - glibc's malloc introspection, as a program that
 * uses it: malloc_info(), mallinfo2(), mallopt().  Built against nothing
 * but the C library; check_user.py runs it with glibc's malloc and with
 * LD_PRELOAD=libkmem-malloc.so and reads both outputs the same way.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *live[4000];

/* Objects of many sizes, half of them freed: free and used memory both. */
static void workload(void)
{
	for (int i = 0; i < 4000; i++) {
		size_t n = (size_t)(i % 97) * 24 + 1;

		if (i % 400 == 0)
			n = (size_t)(i + 1) * 100;	/* some large ones */
		live[i] = malloc(n);
		memset(live[i], 1, n);
	}
	for (int i = 0; i < 4000; i += 2) {
		free(live[i]);
		live[i] = NULL;
	}
}

static void print_mallinfo(void)
{
	struct mallinfo2 m = mallinfo2();

	printf("arena %zu\nordblks %zu\nsmblks %zu\nhblks %zu\nhblkhd %zu\n"
	       "usmblks %zu\nfsmblks %zu\nuordblks %zu\nfordblks %zu\n"
	       "keepcost %zu\n", m.arena, m.ordblks, m.smblks, m.hblks,
	       m.hblkhd, m.usmblks, m.fsmblks, m.uordblks, m.fordblks,
	       m.keepcost);
}

/* The hblks a malloc(@n) adds (1: it got a mapping of its own). */
static long mapped_by(size_t n)
{
	size_t before = mallinfo2().hblks, after;
	void *p = malloc(n);

	memset(p, 1, n);
	after = mallinfo2().hblks;
	free(p);
	return (long)(after - before);
}

static int mode_mallopt(void)
{
	static const struct {
		const char *name;
		int param, value;
	} opts[] = {
		{ "M_TRIM_THRESHOLD", M_TRIM_THRESHOLD, 1 << 20 },
		{ "M_MMAP_THRESHOLD", M_MMAP_THRESHOLD, 64 << 10 },
		{ "M_MMAP_THRESHOLD_HUGE", M_MMAP_THRESHOLD, 1 << 30 },
		{ "M_ARENA_MAX", M_ARENA_MAX, 2 },
		{ "M_ARENA_TEST", M_ARENA_TEST, 1 },
		{ "M_MXFAST", M_MXFAST, 0 },
		{ "M_TOP_PAD", M_TOP_PAD, 1 << 20 },
		{ "M_MMAP_MAX", M_MMAP_MAX, 1000 },
		{ "M_CHECK_ACTION", M_CHECK_ACTION, 3 },
		{ "M_PERTURB", M_PERTURB, 0x55 },
		{ "unknown", 12345, 1 },
	};

	printf("mapped_100k_default %ld\n", mapped_by(100 << 10));
	for (unsigned int i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		printf("%s %d\n", opts[i].name,
		       mallopt(opts[i].param, opts[i].value));
		if (opts[i].param == M_MMAP_THRESHOLD && opts[i].value == 64 << 10) {
			/* The threshold is in force from here on. */
			printf("mapped_100k %ld\nmapped_32k %ld\n",
			       mapped_by(100 << 10), mapped_by(32 << 10));
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "mallopt"))
		return mode_mallopt();
	workload();
	if (!strcmp(argv[1], "info"))
		return malloc_info(0, stdout) ? 1 : 0;
	if (!strcmp(argv[1], "mallinfo")) {
		print_mallinfo();
		return 0;
	}
	return 2;
}
