/* SPDX-License-Identifier: MIT */
/*
 * buddy/prof_math.h - the two exponentials the profiler needs, without libm
 *
 * The sampler needs e^-x in the ziggurat's wedges (x below 7.7) and
 * 1 - e^-x for a sample's weight (x = size / rate, any size).  libm has
 * both, but a library that calls them maps libm's code and tables into
 * every process it is loaded in: 170-230 KiB of peak RSS in a small
 * program (Documentation/profiling.md, "Overhead"), for two functions
 * called once per sample.  Here they are computed the textbook way:
 * x = k ln 2 + r with 0 <= r < ln 2 (ln 2 in two parts, Cody and Waite,
 * so k ln 2 is exact), a Taylor series for e^-r, which converges to
 * double precision in 20 terms there, and a scale by 2^-k; and for small
 * x the series of e^-x - 1 itself, so that 1 - e^-x keeps its relative
 * precision where it is tiny.  Both stay within a few units in the last
 * place of libm's (test_profile_exp_matches_libm, tests/test_profile.c).
 *
 * Fast path: none; called on the sampler's slow path, once per sample.
 *
 * Lock order: takes no lock (pure functions of their argument).
 */
#ifndef KMEM_BUDDY_PROF_MATH_H
#define KMEM_BUDDY_PROF_MATH_H

#include <stdint.h>
#include <string.h>

#define PROF_LN2_HI	0x1.62e42feep-1		/* 32 low bits zero */
#define PROF_LN2_LO	0x1.a39ef35793c76p-33	/* ln 2 - PROF_LN2_HI */
#define PROF_LOG2E	0x1.71547652b82fep0	/* 1 / ln 2 */

/* 2^-k for 0 <= k <= 1022 */
static inline double prof_pow2_neg(int k)
{
	uint64_t bits = (uint64_t)(1023 - k) << 52;
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* e^-x for x >= 0 (0 beyond the smallest double) */
static inline double prof_exp_neg(double x)
{
	double r, term = 1.0, sum = 1.0;
	int k;

	if (!(x < 745.2))	/* e^-745.2 is below the smallest subnormal */
		return 0.0;
	k = (int)(x * PROF_LOG2E);
	r = (x - k * PROF_LN2_HI) - k * PROF_LN2_LO;
	if (r < 0) {		/* x * log2(e) rounded up past an integer */
		k--;
		r = (x - k * PROF_LN2_HI) - k * PROF_LN2_LO;
	}
	for (int n = 1; n <= 20; n++) {
		term *= -r / n;
		sum += term;
	}
	while (k > 1022) {	/* into the subnormals */
		sum *= 0x1p-1000;
		k -= 1000;
	}
	return sum * prof_pow2_neg(k);
}

/* e^-x - 1 for x >= 0, precise also where it is tiny */
static inline double prof_expm1_neg(double x)
{
	double term, sum;

	if (x >= 0.5)
		return prof_exp_neg(x) - 1.0;
	term = -x;
	sum = term;
	for (int n = 2; n <= 18; n++) {
		term *= -x / n;
		sum += term;
	}
	return sum;
}

#endif
