// SPDX-License-Identifier: MIT
/*
 * tests/profile/prof_known.c - call sites whose live bytes are known, for
 * the accuracy of the profile's estimates.
 *
 * Allocates, then prints one line of JSON: per site (by function name)
 * the sizes of the objects it holds as [size, count] runs, so that the
 * checker knows the live bytes and can
 * compute each estimate's standard deviation; then "ready", and waits
 * for stdin to close.  The sizes are drawn from a fixed sequence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* malloc then free, which the compiler may not fold away (it would). */
static void *volatile sink;

static void churn_one(size_t n)
{
	sink = malloc(n);
	free(sink);
}

#define MIB (1UL << 20)

static unsigned long rng = 2463534242UL;

static unsigned long next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Keeps @total bytes in objects of sizes from @size(); prints them. */
#define SITE(fn, sizeexpr)						\
	__attribute__((noipa)) void fn(unsigned long total, FILE *f)	\
	{								\
		unsigned long got = 0, run = 0, last = 0;		\
		const char *sep = "";					\
		fprintf(f, "\"%s\": [", #fn);				\
		while (got < total) {					\
			unsigned long s = (sizeexpr);			\
			char *p = malloc(s);				\
			p[0] = 1;					\
			got += s;					\
			if (run && s != last) {				\
				fprintf(f, "%s[%lu,%lu]", sep, last, run); \
				sep = ",";				\
				run = 0;				\
			}						\
			last = s;					\
			run++;						\
		}							\
		fprintf(f, "%s[%lu,%lu]]", sep, last, run);		\
	}

SITE(site_small, 64)
SITE(site_mixed, 100 + next_rand() % 3900)
SITE(site_large, MIB)
SITE(site_huge, 32 * MIB)

__attribute__((noipa)) void site_churn(unsigned long total)
{
	for (unsigned long got = 0; got < total; got += 512)
		churn_one(512);
}

int main(int argc, char **argv)
{
	unsigned long scale = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	char buf[64];
	FILE *f = stdout;

	site_churn(256 * MIB);
	fprintf(f, "{");
	site_small(scale * MIB, f);
	fprintf(f, ", ");
	site_mixed(scale * MIB, f);
	fprintf(f, ", ");
	site_large(scale * MIB, f);
	fprintf(f, ", ");
	site_huge(96 * MIB, f);
	fprintf(f, "}\nready\n");
	fflush(f);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
