// SPDX-License-Identifier: MIT
/*
 * tests/test_printk.c - kmem_vsnprintf() against glibc's snprintf().
 *
 * kmem's reports (BUG, WARN, slab debugging, statistics lines) are
 * formatted by kmem_vsnprintf(), which never allocates.  It promises the
 * conversions d i u x X o c s p % with the flags - 0 space + #, width and
 * precision (also as *), and the modifiers hh h l ll z t j, with C's
 * meaning.  The reference is the C library: every format of the tables
 * below, with every value of its table, must give exactly what glibc's
 * snprintf() gives, the same return value, and the same bytes when the
 * buffer is too short (sizes 0, 1, 2, 5 and 12 as well as ample).
 *
 * The clocks of the same file: kmem_clock_gettime() calls the vDSO's
 * clock_gettime itself (not libc's, which lies in a part of libc a
 * program may never run otherwise); it must read the clocks libc's
 * clock_gettime() reads, and refuse a clock the kernel does not have.
 */
#include "kmem_test.h"
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/printk.h"
#include "kmalloc/kmalloc.h"

/* The formats come from tables: that is the point of this file. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"

static int mismatches;
static const char *last_shown;

static void compare(const char *what, const char *fmt, ...)
{
	static const size_t sizes[] = { 256, 0, 1, 2, 5, 12 };

	for (unsigned int k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char want[256], got[256];
		int nw, ng;
		va_list ap;

		memset(want, '#', sizeof(want));
		memset(got, '#', sizeof(got));
		va_start(ap, fmt);
		nw = vsnprintf(want, sizes[k], fmt, ap);
		va_end(ap);
		va_start(ap, fmt);
		ng = kmem_vsnprintf(got, sizes[k], fmt, ap);
		va_end(ap);
		/* Every byte of the buffer: output, NUL, and untouched rest. */
		if (nw != ng || memcmp(want, got, sizeof(want))) {
			/* One line per format (its first differing value). */
			if (fmt != last_shown && mismatches++ < 60)
				fprintf(stderr,
					"%s: format \"%s\", size %zu: glibc %d \"%.*s\", kmem %d \"%.*s\"\n",
					what, fmt, sizes[k], nw,
					nw < 0 ? 0 : (int)min((size_t)nw, sizes[k] ? sizes[k] - 1 : 0),
					want, ng,
					ng < 0 ? 0 : (int)min((size_t)ng, sizes[k] ? sizes[k] - 1 : 0),
					got);
			last_shown = fmt;
			return;
		}
	}
}

#define FOR_EACH(fmts, vals, type, what)                                     \
	for (unsigned int i = 0; i < ARRAY_SIZE(fmts); i++)                  \
		for (unsigned int j = 0; j < ARRAY_SIZE(vals); j++)          \
			compare(what, fmts[i], (type)vals[j])

static const char *const int_fmts[] = {
	"%d", "%i", "%5d", "%-5d", "%05d", "%+d", "% d", "%+05d", "%-+6d",
	"% 05d", "%.3d", "%8.3d", "%-8.3d", "%08.3d", "%.0d", "%5.0d", "%+.0d",
	"%x", "%X", "%#x", "%#X", "%#08x", "%-#8x", "%#.4x", "%#5.3X",
	"%o", "%#o", "%#5o", "%#.3o", "%#.0o", "%.0o", "%.0x", "%#.0x",
	"%u", "%+u", "% u", "%08u", "%-8u", "%+x", "% o",
	"%hd", "%hi", "%hu", "%hx", "%ho", "%hhd", "%hhu", "%hhx", "%hhX",
	"%+hhd", "%05hd", "[%d]", "%d%%", "a%db",
};
static const int int_vals[] = {
	0, 1, -1, 7, -7, 42, 99, 100, 127, 128, -128, 255, 256, -255, 4095,
	32767, -32768, 32768, 65535, 65536, 123456789, -123456789, INT_MAX,
	INT_MIN, 0x7f7f, 0xdeadbee,
};

static const char *const long_fmts[] = {
	"%ld", "%li", "%lu", "%lx", "%lX", "%lo", "%#lx", "%#lo", "%20ld",
	"%-20ld", "%020ld", "%+ld", "% ld", "%.15ld", "%22.19lu", "%-#22lx",
	"%zu", "%zx", "%zd", "%zi", "%td", "%tu", "%tx", "%jd", "%ju", "%jx",
	"%+zd", "%#zo",
};
static const long long_vals[] = {
	0, 1, -1, 42, -42, 1L << 31, -(1L << 31), 1L << 32, 1L << 40,
	(1L << 40) + 12345, LONG_MAX, LONG_MIN, LONG_MAX - 1, LONG_MIN + 1,
	4096, 33554432, 0x0123456789abcdefL,
};

static const char *const llong_fmts[] = {
	"%lld", "%lli", "%llu", "%llx", "%llX", "%llo", "%#llx", "%#llX",
	"%+lld", "% lld", "%025lld", "%-25llu", "%.20lld", "%#.20llo",
};
static const long long llong_vals[] = {
	0, 1, -1, 1000000007, LLONG_MAX, LLONG_MIN, LLONG_MIN + 1,
	-9223372036854775807LL + 5, 0x7fffffffffffffffLL, 1LL << 53,
};

static const char *const str_fmts[] = {
	"%s", "%10s", "%-10s", "%.3s", "%10.3s", "%-10.3s", "%.0s", "%.10s",
	"%1s", "%.1s", "[%s]", "%s|%%", "%.6s", "%.5s", "%20.6s",
};
static const char *const str_vals[] = {
	"", "a", "hello", "hello world, longer than ten", "kmalloc-8k",
	"with\ttab", NULL,
};

static const char *const char_fmts[] = { "%c", "%3c", "%-3c", "[%c]", "%-1c" };
static const int char_vals[] = { 'a', 'Z', ' ', '%', '~', 0, 255, -1 };

static const char *const ptr_fmts[] = { "%p", "%20p", "%-20p", "[%p]", "%5p" };
static const uintptr_t ptr_vals[] = {
	0, 1, 0xdeadbeef, 0x7ffd12345678, UINTPTR_MAX, 0x1000,
};

static const char *const plain_fmts[] = {
	"", "plain text", "%%", "100%%", "%%d", "%5%", "%-5%", "a%%b%%c",
	"%y", "%k and %w",	/* no such conversion: printed as it is */
};

START_TEST(test_table)
{
	FOR_EACH(int_fmts, int_vals, int, "int");
	FOR_EACH(long_fmts, long_vals, long, "long");
	FOR_EACH(llong_fmts, llong_vals, long long, "long long");
	FOR_EACH(str_fmts, str_vals, const char *, "string");
	FOR_EACH(char_fmts, char_vals, int, "char");
	FOR_EACH(ptr_fmts, ptr_vals, void *, "pointer");
	for (unsigned int i = 0; i < ARRAY_SIZE(plain_fmts); i++)
		compare("plain", plain_fmts[i]);
	ck_assert_msg(mismatches == 0,
		      "%d formats differ from glibc (listed on stderr)",
		      mismatches);
}
END_TEST

/* Width and precision taken from the arguments, including negatives. */
START_TEST(test_star)
{
	static const int widths[] = { -12, -5, -1, 0, 1, 5, 12 };

	for (unsigned int i = 0; i < ARRAY_SIZE(widths); i++) {
		int w = widths[i];

		compare("star", "%*d", w, 42);
		compare("star", "%-*d", w, -42);
		compare("star", "%0*d", w, 42);
		compare("star", "%.*d", w, 42);
		compare("star", "%*.*d", w, w, -7);
		compare("star", "%*s", w, "abc");
		compare("star", "%.*s", w, "abcdefgh");
		compare("star", "%*.*s", w, w, "abcdefgh");
		compare("star", "%*x", w, 0xbeef);
		compare("star", "%*c", w, 'q');
		compare("star", "%*p", w, (void *)0x1234);
	}
	ck_assert_msg(mismatches == 0,
		      "%d formats differ from glibc (listed on stderr)",
		      mismatches);
}
END_TEST

/* Several conversions in one format, as kmem's reports use them. */
START_TEST(test_mixed)
{
	compare("mixed", "%s %6lu %6lu %4u %4d %4d : tunables %4u %4u %4u",
		"kmalloc-1k", 123456UL, 200000UL, 1024U, 32, 8, 0U, 0U, 0U);
	compare("mixed", "INFO: 0x%lx-0x%lx @offset=%lu. First byte 0x%x instead of 0x%x",
		0x7f0012345678UL, 0x7f001234567fUL, 40UL, 0x42, 0x6b);
	compare("mixed", "kmem: kernel BUG at %s:%d: %s", "slab/slab.c", 632,
		"slab_validate val: 1 problems");
	compare("mixed", "Node %d, zone %8s %6lu %6lu", 0, "Normal", 3UL, 12UL);
	compare("mixed", "%c%c%c %hhu.%hhu %-*s|", 'a', 'b', 'c', 300, 10, 6, "x");
	compare("mixed", "%lld %llu %zd %td %jd", LLONG_MIN, ULLONG_MAX,
		(ssize_t)-5, (ptrdiff_t)-6, (intmax_t)-7);
	ck_assert_msg(mismatches == 0,
		      "%d formats differ from glibc (listed on stderr)",
		      mismatches);
}
END_TEST

static long long ts_ns(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/*
 * Each clock read between two reads of libc's: never before the first.
 * The coarse clock is the tick's: at most a tick behind CLOCK_MONOTONIC,
 * and read between two coarse reads of libc's.  CLOCK_REALTIME can be
 * set (a step of the system's time) between two reads: a triple out of
 * order is read again, up to three times, before it counts.
 */
START_TEST(test_clock)
{
	static const clockid_t clocks[] = {
		CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_MONOTONIC_COARSE,
		CLOCK_BOOTTIME, CLOCK_PROCESS_CPUTIME_ID,
	};

	for (unsigned int i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		for (int round = 0; round < 1000; round++) {
			int tries = clocks[i] == CLOCK_REALTIME ? 3 : 1;
			struct timespec a, k, b;

			do {
				ck_assert_int_eq(clock_gettime(clocks[i], &a), 0);
				ck_assert_int_eq(kmem_clock_gettime(clocks[i], &k), 0);
				ck_assert_int_eq(clock_gettime(clocks[i], &b), 0);
			} while (--tries && !(ts_ns(&a) <= ts_ns(&k) &&
					      ts_ns(&k) <= ts_ns(&b)));
			ck_assert_msg(ts_ns(&a) <= ts_ns(&k) &&
				      ts_ns(&k) <= ts_ns(&b),
				      "clock %d: kmem read %lld outside libc's %lld..%lld",
				      (int)clocks[i], ts_ns(&k), ts_ns(&a),
				      ts_ns(&b));
			ck_assert_int_lt(k.tv_nsec, 1000000000L);
		}
	}
}
END_TEST

/* A clock no kernel has: an error, as libc's, and nothing written. */
START_TEST(test_clock_invalid)
{
	struct timespec ts = { .tv_sec = 12345, .tv_nsec = 678 };

	ck_assert_int_ne(clock_gettime((clockid_t)4242, &ts), 0);
	ck_assert_int_ne(kmem_clock_gettime((clockid_t)4242, &ts), 0);
	ck_assert_int_eq(ts.tv_sec, 12345);
	ck_assert_int_eq(ts.tv_nsec, 678);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("printk");
	TCase *tc = tcase_create("vsnprintf");
	TCase *tcc = tcase_create("clock");

	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_star);
	tcase_add_test(tc, test_mixed);
	suite_add_tcase(s, tc);
	tcase_add_test(tcc, test_clock);
	tcase_add_test(tcc, test_clock_invalid);
	suite_add_tcase(s, tcc);
	return run_suite(s);
}
