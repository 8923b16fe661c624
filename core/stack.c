// SPDX-License-Identifier: MIT
/*
 * core/stack.c - the calling thread's call chain, as code addresses.
 *
 * Owns: one function, kmem_stack_capture(), which the sampled profiler
 * (buddy/profile.c) and KFENCE call on their slow paths, with kmem's own
 * paths on the stack and possibly from a signal handler.  Symbolizing is
 * never done here: the addresses are published and kmeminfo names them in
 * another process.
 *
 * The unwinder is the C runtime's own, libgcc's _Unwind_Backtrace() (the
 * one C++ exceptions and glibc's backtrace() use): it reads the DWARF
 * call-frame information (.eh_frame), so it walks code built without
 * frame pointers, as Debian's is, and it steps through signal frames
 * (their return trampoline is recognised).  The shared libraries link
 * GCC's static copy of it (-static-libgcc: libgcc_eh.a, its symbols
 * local to kmem) rather than libgcc_s.so.1, which every process that
 * loaded kmem mapped for it: 128 KiB of peak RSS in a small program
 * (Documentation/performance.md, "the libraries kmem brings").  What
 * it may and may not do inside kmem, checked by tests/test_stack.c and
 * the profiled programs of tests/profile:
 *
 *  - No malloc, no lock: it finds each frame's unwind table with glibc's
 *    _dl_find_object() (glibc 2.35, GCC 12), which neither locks nor
 *    allocates.  libgcc allocates and locks only for code registered at
 *    run time with __register_frame() (JIT compilers); such code is
 *    registered with libgcc_s's copy, not kmem's, so a stack that runs
 *    through it ends there (the frames above it are not captured).  An
 *    allocation made from inside the unwinder would reach kmem's own
 *    profiler while it is busy, and is counted (skipped); tests assert
 *    there are none.
 *  - No file descriptor.  libunwind (Debian libunwind-dev) was the first
 *    choice and was dropped for this: at its first use it opens a pipe
 *    to validate addresses, which takes the program's two lowest free
 *    descriptors (3 and 4 in most programs) and is later read and, if it
 *    looks closed, closed by number - a descriptor the program may own
 *    by then.  kmem must not touch descriptors it does not own
 *    (Documentation/statistics.md).  Its unw_backtrace() also calls
 *    calloc() through pthread_setspecific() in a program with more than
 *    32 keys.
 *  - Reentry: a capture interrupted by a signal whose handler captures
 *    again works (the unwinder keeps no per-thread state), but callers
 *    that hold locks around it keep a per-thread busy flag
 *    (kmem_stack_capturing()) and skip the nested capture.
 *
 * Fast path: none; this is only ever a slow path (a capture of 20 frames
 * costs about 10 us, once per sample).
 *
 * Lock order: takes no lock.
 */
#include <stdint.h>
#include <unwind.h>

#include "core/stack.h"
#include <kmem/bug.h>

static __thread bool tls_capturing __attribute__((tls_model("initial-exec")));

/**
 * kmem_stack_capturing - is this thread inside kmem_stack_capture()?
 *
 * Return: true in a signal handler that interrupted a capture.
 */
bool kmem_stack_capturing(void)
{
	return tls_capturing;
}

struct capture {
	unsigned long *pcs;
	unsigned long *slots;		/* or NULL */
	unsigned int n, max, seen;
	unsigned long from;
	bool keep, self;
	bool slots_ok;			/* no signal frame met */
};

#ifdef __x86_64__
#define IS_ENABLED_X86_64 1
#else
#define IS_ENABLED_X86_64 0
#endif

static _Unwind_Reason_Code capture_frame(struct _Unwind_Context *ctx,
					 void *arg)
{
	struct capture *c = arg;
	unsigned long ip = (unsigned long)_Unwind_GetIP(ctx);

	if (!c->self) {		/* kmem_stack_capture()'s own frame */
		c->self = true;
		return _URC_NO_REASON;
	}
	if (!ip || c->n == c->max)
		return _URC_END_OF_STACK;
	if (!c->keep) {
		if (ip == c->from) {
			c->keep = true;
			c->n = 0;	/* drop kmem's frames */
		} else if (++c->seen >= KMEM_STACK_MAX) {
			c->keep = true;	/* not found: keep everything */
		}
	}
	if (c->slots) {
		int before = 0;

		/*
		 * Where this frame's pc lies, as the return address of the
		 * frame below it: libgcc reports that frame's CFA here, and
		 * on x86-64 the return address is the word just below.  Not
		 * known through a signal frame, nor on other
		 * architectures: 0.
		 */
		_Unwind_GetIPInfo(ctx, &before);
		c->slots[c->n] = 0;
		if (IS_ENABLED_X86_64 && !before)
			c->slots[c->n] = (unsigned long)_Unwind_GetCFA(ctx) - 8;
		else
			c->slots_ok = false;
	}
	c->pcs[c->n++] = ip;
	return _URC_NO_REASON;
}

/*
 * The walk, flagged per thread so that a signal handler that interrupts
 * it does not start another.  Inlined into its two callers, each of
 * which stays one frame for the walk to skip.
 */
static inline __attribute__((always_inline)) unsigned int capture_run(struct capture *c)
{
	if (tls_capturing || !c->max)
		return 0;
	tls_capturing = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	_Unwind_Backtrace(capture_frame, c);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tls_capturing = false;
	return c->n;
}

/**
 * kmem_stack_capture - the calling thread's return addresses
 * @pcs:  receives them, innermost first
 * @max:  room in @pcs
 * @from: the first address to keep: frames before the one whose address
 *        is @from (kmem's own) are left out; 0, or not found in the first
 *        KMEM_STACK_MAX frames: keep everything from the caller of
 *        kmem_stack_capture()
 *
 * The addresses are return addresses (each points just after its call)
 * except where a frame was interrupted by a signal.  Never calls malloc.
 *
 * Context: any thread, signal handlers included; a nested call from a
 * signal handler that interrupted a capture returns 0.
 * Return: frames stored in @pcs.
 */
__attribute__((noinline)) unsigned int kmem_stack_capture(unsigned long *pcs,
						       unsigned int max,
						       unsigned long from)
{
	struct capture c = { .pcs = pcs, .max = max, .from = from,
			     .keep = !from };

	return capture_run(&c);
}

/**
 * kmem_stack_capture_slots - kmem_stack_capture(), and where each frame's
 * return address is stored
 * @pcs:   as kmem_stack_capture()
 * @slots: receives, for frame k, the stack address holding @pcs[k] (as
 *         the return address of the frame below it), so that a caller
 *         can check later, by reading its own stack, that the same chain
 *         is still there (buddy/profile.c's stack cache)
 * @max:   room in both
 * @from:  as kmem_stack_capture()
 *
 * Return: frames stored; 0 in @slots[0] when the slots cannot be trusted
 * (a signal frame on the way, or not x86-64).
 */
__attribute__((noinline)) unsigned int
kmem_stack_capture_slots(unsigned long *pcs, unsigned long *slots,
			 unsigned int max, unsigned long from)
{
	struct capture c = { .pcs = pcs, .slots = slots, .max = max,
			     .from = from, .keep = !from, .slots_ok = true };
	unsigned int n = capture_run(&c);

	if (!c.slots_ok && n)
		slots[0] = 0;
	return n;
}
