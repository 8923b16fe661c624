/* SPDX-License-Identifier: MIT */
/*
 * kmem/bug.h - assertions in tiers.
 *
 *   BUILD_BUG_ON(c)     compile time (static_assert)
 *   BUG_ON(c), BUG()    always compiled; a broken invariant: message, abort
 *   WARN_ON(c)          always compiled; message, carry on; yields c
 *   WARN_ON_ONCE(c)     the same, one message per call site
 *   VM_BUG_ON(c)        debug builds only (KMEM_DEBUG_LEVEL >= 1); the
 *   VM_WARN_ON(c)       condition is still compiled, never evaluated
 *   KMEM_EXPENSIVE(e)   whole-structure checks (validators), evaluated only
 *                       when KMEM_DEBUG_LEVEL >= 2
 *
 * The failure handler formats into a stack buffer and write(2)s it to
 * stderr: it never allocates and never touches stdio's buffers, so it is
 * safe inside the allocator, under its locks, and in a forked child.
 */
#ifndef KMEM_BUG_H
#define KMEM_BUG_H

#include <stdbool.h>
#include <kmem/page.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef KMEM_DEBUG_LEVEL
#define KMEM_DEBUG_LEVEL 0
#endif

KMEM_EXPORT __attribute__((noreturn, cold, format(printf, 3, 4)))
void kmem_bug(const char *file, int line, const char *fmt, ...);
KMEM_EXPORT __attribute__((cold, format(printf, 3, 4)))
void kmem_warn(const char *file, int line, const char *fmt, ...);

#define BUILD_BUG_ON(cond) _Static_assert(!(cond), "BUILD_BUG_ON(" #cond ")")

#define BUG() kmem_bug(__FILE__, __LINE__, "BUG")

#define BUG_ON(cond)                                                         \
	do {                                                                 \
		if (__builtin_expect(!!(cond), 0))                           \
			kmem_bug(__FILE__, __LINE__, "BUG_ON(%s)", #cond);   \
	} while (0)

#define WARN_ON(cond)                                                        \
	({                                                                   \
		bool __w = !!(cond);                                         \
		if (__builtin_expect(__w, 0))                                \
			kmem_warn(__FILE__, __LINE__, "WARN_ON(%s)", #cond); \
		__w;                                                         \
	})

#define WARN_ON_ONCE(cond)                                                   \
	({                                                                   \
		static bool __warned;                                        \
		bool __w = !!(cond);                                         \
		if (__builtin_expect(__w && !__warned, 0)) {                 \
			__warned = true;                                     \
			kmem_warn(__FILE__, __LINE__, "WARN_ON_ONCE(%s)",    \
				  #cond);                                    \
		}                                                            \
		__w;                                                         \
	})

#if KMEM_DEBUG_LEVEL >= 1
#define VM_BUG_ON(cond) BUG_ON(cond)
#define VM_WARN_ON(cond) ((void)WARN_ON(cond))
#else
#define VM_BUG_ON(cond) ((void)sizeof(!!(cond)))
#define VM_WARN_ON(cond) ((void)sizeof(!!(cond)))
#endif

#if KMEM_DEBUG_LEVEL >= 2
#define KMEM_EXPENSIVE(expr) ((void)(expr))
#else
#define KMEM_EXPENSIVE(expr) ((void)0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* KMEM_BUG_H */
