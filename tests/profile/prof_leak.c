// SPDX-License-Identifier: MIT
/*
 * tests/profile/prof_leak.c - a program with one leaking call site and
 * two that churn, for "kmeminfo profile" and "kmeminfo watch --sites".
 *
 *   prof_leak [LEAK_KIB_PER_TICK [twin]]
 *
 * Every tick (2 ms): leak_record() keeps LEAK_KIB_PER_TICK KiB (default
 * 32) in 16 KiB blocks and never frees them; churn_strings() and
 * churn_nodes() replace entries of fixed-size rings (4 MiB of 200-byte
 * strings, 4 MiB of 1 KiB nodes): their live bytes stay level.  Prints
 * "ready" once running; exits when stdin closes.  With "twin",
 * twin_sites() first keeps two 32 MiB blocks from two calls in the one
 * function (both sampled, but for a chance of e^-16): one folded stack.  Built with -g so that
 * kmeminfo names the sites with their lines.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING_A	(4 << 20) / 200
#define RING_B	(4 << 20) / 1024

static void *ring_a[RING_A], *ring_b[RING_B];
static void **leaked;
static size_t nr_leaked, cap_leaked;
static unsigned long rng = 88172645463325252UL;

static unsigned long next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

__attribute__((noinline)) void leak_record(void)
{
	void *p = malloc(16384);

	memset(p, 0x5a, 64);
	if (nr_leaked == cap_leaked) {
		cap_leaked = cap_leaked ? 2 * cap_leaked : 1024;
		leaked = realloc(leaked, cap_leaked * sizeof(*leaked));
	}
	leaked[nr_leaked++] = p;	/* kept, never freed */
}

__attribute__((noinline)) void churn_strings(void)
{
	unsigned long i = next_rand() % RING_A;

	free(ring_a[i]);
	ring_a[i] = malloc(200);
	memset(ring_a[i], 1, 200);
}

__attribute__((noinline)) void churn_nodes(void)
{
	unsigned long i = next_rand() % RING_B;

	free(ring_b[i]);
	ring_b[i] = calloc(1, 1024);
}

static void *volatile twins[2];

__attribute__((noinline)) void twin_sites(void)
{
	twins[0] = malloc(32 << 20);
	twins[1] = malloc(32 << 20);
}

int main(int argc, char **argv)
{
	long kib = argc > 1 ? atol(argv[1]) : 32;

	if (argc > 2 && !strcmp(argv[2], "twin"))
		twin_sites();
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	char buf[64];

	for (unsigned long i = 0; i < RING_A; i++)
		ring_a[i] = malloc(200);
	for (unsigned long i = 0; i < RING_B; i++)
		ring_b[i] = calloc(1, 1024);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		for (long k = 0; k < kib / 16; k++)
			leak_record();
		for (int k = 0; k < 200; k++) {
			churn_strings();
			churn_nodes();
		}
		if (poll(&pfd, 1, 2) > 0 && read(0, buf, sizeof(buf)) <= 0)
			break;
	}
	return 0;
}
