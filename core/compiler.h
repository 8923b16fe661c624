/* SPDX-License-Identifier: MIT */
/*
 * core/compiler.h - compiler attributes, READ_ONCE and friends, arithmetic helpers.
 */
#ifndef KMEM_CORE_COMPILER_H
#define KMEM_CORE_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define noinline	__attribute__((noinline))
#ifndef __always_inline
#define __always_inline	inline __attribute__((always_inline))
#endif
#define __cold		__attribute__((cold))
#define __hidden	__attribute__((visibility("hidden")))
#define __tls_ie	__attribute__((tls_model("initial-exec")))
#define __packed	__attribute__((packed))
#define __maybe_unused	__attribute__((unused))
/*
 * Zero-initialised data that a small program never writes (buffers for a
 * rare case, tables filled on demand, the zero leaf that is only read):
 * the shared library's link script (cmake/kmem-bss.ld) puts it after the
 * rest of .bss, so the variables a small program does write share as few
 * pages as possible instead of sitting beside the tails of big arrays
 * (Documentation/performance.md, "Fixed footprint").  Each such variable
 * starts on a page of its own.  In a program linked with libkmem.a it is
 * ordinary .bss.
 */
#define __bss_cold	__attribute__((section(".bss.kmem_cold"), aligned(4096)))
/*
 * Zero-initialised arrays of which a process writes only the first
 * entries (one per CPU, one per cache id): __bss_first puts one before
 * the rest of .bss, where its head shares the last page of .data, which
 * start-up writes anyway; __bss_last puts one after the rest of .bss,
 * where its head shares the last page of the variables every process
 * writes (cmake/kmem-bss.ld).  Their unwritten tails cost address space
 * only.  One such array in each: a second would begin past the first's
 * tail, on a page of its own.  A variable that is only ever read may
 * follow the array in __bss_first.  In a program linked with libkmem.a
 * they are ordinary .bss.
 */
#define __bss_first	__attribute__((section(".bss.kmem_first")))
#define __bss_last	__attribute__((section(".bss.kmem_last")))
/* A zero-initialised variable placed in .data (say why at the use). */
#define __section_data	__attribute__((section(".data")))

#define barrier()	__asm__ __volatile__("" ::: "memory")
/*
 * A racy read or write of a scalar, on purpose: say why at the use.
 * Relaxed atomics (plain moves on x86), so the race is defined behaviour
 * and ThreadSanitizer knows it is intended.  Every write to a variable
 * read this way, outside its lock, must be a WRITE_ONCE too.
 */
#define READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/*
 * data_race(x) - read a scalar that another thread writes with plain
 * stores, on purpose (the kernel's data_race()): a thread's own counters
 * and lists, written on its fast paths, read by statistics and by fork.
 * The value may be stale; it is never torn (aligned, at most a word).
 * Say why at the use.  The writers stay plain stores, so the fast paths
 * pay nothing; under ThreadSanitizer this one load goes through a helper
 * that is not instrumented (and nothing else is hidden), elsewhere it is
 * READ_ONCE.
 */
#if defined(__SANITIZE_THREAD__)
static __attribute__((__noinline__, __unused__, no_sanitize("thread"))) uint64_t
__data_race_load(const volatile void *p, size_t size)
{
	switch (size) {
	case 1:
		return *(const volatile uint8_t *)p;
	case 2:
		return *(const volatile uint16_t *)p;
	case 4:
		return *(const volatile uint32_t *)p;
	default:
		return *(const volatile uint64_t *)p;
	}
}
#define data_race(x)                                                         \
	({                                                                   \
		_Static_assert(sizeof(x) <= 8, "data_race: not a scalar");   \
		(__typeof__(x))__data_race_load(&(x), sizeof(x));            \
	})
#else
#define data_race(x)	READ_ONCE(x)
#endif

/*
 * data_race_fast(x) - data_race() on a fast path: the same single load
 * TSan does not instrument in TSan builds, a plain load elsewhere (as the
 * kernel's data_race() outside KCSAN), which the compiler may fold into
 * an address computation where READ_ONCE's atomic load costs one more
 * instruction.  Only for an aligned scalar of at most a word, whose
 * every value is safe to act on.
 */
#if defined(__SANITIZE_THREAD__)
#define data_race_fast(x)	data_race(x)
#else
#define data_race_fast(x)	(x)
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ALIGN(x, a)	(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define BIT(n)		(1UL << (n))
#define BITS_PER_LONG	64
#define BITS_TO_LONGS(n) DIV_ROUND_UP(n, BITS_PER_LONG)
#define is_power_of_2(n) ((n) != 0 && (((n) & ((n) - 1)) == 0))
#define min(a, b)	((a) < (b) ? (a) : (b))
#define max(a, b)	((a) > (b) ? (a) : (b))
#define clamp(v, lo, hi) min(max((v), (lo)), (hi))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define IS_ENABLED(opt)	(opt)

/* Debug level chosen at build time (CMake KMEM_DEBUG_LEVEL). */
static const int kmem_debug_level = KMEM_DEBUG_LEVEL;

static inline unsigned int ilog2_ul(unsigned long v)
{
	return 63 - __builtin_clzl(v);
}

static inline unsigned long roundup_pow_of_two(unsigned long v)
{
	return v <= 1 ? 1 : 1UL << (64 - __builtin_clzl(v - 1));
}

#pragma GCC visibility pop

#endif /* KMEM_CORE_COMPILER_H */
