// SPDX-License-Identifier: MIT
/*
 * tests/test_stack.c - kmem_stack_capture() (core/stack.c), the unwinder
 * the profiler and KFENCE share.
 *
 * Each test checks exact return addresses: a function records its own
 * return address (__builtin_return_address) and the capture must contain
 * it, in order.  The contexts are the ones the unwinder meets inside
 * kmem: nested calls, a signal handler on an alternate stack, a thread,
 * a fork child, a constructor that runs before main.  malloc, calloc and
 * realloc are interposed here: any call made while a capture is under
 * way is counted and fails the test (libunwind's unw_backtrace() makes
 * one in a program with more than 32 pthread keys, which a constructor
 * creates).  And no file descriptor may be taken: the lowest free one
 * before the first capture must still be free after captures
 * (libunwind's validation pipe took two).
 */
#include <pthread.h>
#include <stdbool.h>

#include "kmem_test.h"
#include "core/stack.h"

/*
 * The sanitizers bring their own malloc, which a definition here would
 * replace underneath them: there, the no-malloc check is left to the
 * plain builds (the release and debug stages run it).
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define INTERPOSE_MALLOC 0
#else
#define INTERPOSE_MALLOC 1
#endif

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static __thread bool in_capture;
static int allocs_inside;	/* atomic */

#if INTERPOSE_MALLOC
void *malloc(size_t size)
{
	if (in_capture)
		__atomic_add_fetch(&allocs_inside, 1, __ATOMIC_RELAXED);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (in_capture)
		__atomic_add_fetch(&allocs_inside, 1, __ATOMIC_RELAXED);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	if (in_capture)
		__atomic_add_fetch(&allocs_inside, 1, __ATOMIC_RELAXED);
	return __libc_realloc(p, size);
}
#endif

#define DEPTH 6

struct chain {
	unsigned long ret[DEPTH];	/* return address of level i */
	unsigned long pcs[KMEM_STACK_MAX];
	unsigned int n;
	bool use_from;
};

static __attribute__((noinline)) void capture(struct chain *c)
{
	in_capture = true;
	c->n = kmem_stack_capture(c->pcs, KMEM_STACK_MAX,
				  c->use_from ? c->ret[0] : 0);
	in_capture = false;
}

static __attribute__((noinline)) void level(struct chain *c, int i)
{
	c->ret[DEPTH - 1 - i] = (unsigned long)__builtin_return_address(0);
	if (i + 1 < DEPTH)
		level(c, i + 1);
	else
		capture(c);
	__asm__ volatile("" ::: "memory");	/* no tail calls */
}

/* Every recorded return address appears, innermost first, consecutively. */
static void check_chain(const struct chain *c, const char *where)
{
	unsigned int k;

	ck_assert_msg(!__atomic_load_n(&allocs_inside, __ATOMIC_RELAXED),
		      "%s: the unwinder called malloc", where);
	ck_assert_msg(c->n >= DEPTH, "%s: %u frames", where, c->n);
	for (k = 0; k < c->n && c->pcs[k] != c->ret[0]; k++)
		;
	ck_assert_msg(k < c->n, "%s: innermost return address missing", where);
	if (c->use_from)
		ck_assert_msg(k == 0, "%s: %u frames before @from", where, k);
	else
		ck_assert_msg(k == 2, "%s: frames in capture() and the last "
			      "level() expected first (%u)", where, k);
	ck_assert_msg(k + DEPTH <= c->n, "%s: chain cut", where);
	for (int i = 0; i < DEPTH; i++)
		ck_assert_msg(c->pcs[k + i] == c->ret[i],
			      "%s: frame %d is %#lx, expected %#lx", where, i,
			      c->pcs[k + i], c->ret[i]);
}

static void run_chain(struct chain *c, bool use_from)
{
	memset(c, 0, sizeof(*c));
	c->use_from = use_from;
	level(c, 0);
}

/*
 * More than 32 pthread keys before the first capture: a per-thread
 * cache registered with pthread_setspecific() would then need calloc().
 */
static int lowest_free_fd;	/* before any capture */
static int lowest_after_ctor;	/* after the constructor's capture */

static int lowest_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

static __attribute__((constructor(101))) void make_keys_early(void)
{
	pthread_key_t k;

	lowest_free_fd = lowest_fd();
	for (int i = 0; i < 40; i++)
		if (pthread_key_create(&k, NULL))
			abort();
}

static void make_keys(void)
{
	ck_assert_int_eq(__atomic_load_n(&allocs_inside, __ATOMIC_RELAXED), 0);
}

START_TEST(test_stack_nested)
{
	struct chain c;

	make_keys();
	run_chain(&c, false);
	check_chain(&c, "nested");
	run_chain(&c, true);
	check_chain(&c, "nested, from");
}
END_TEST

/* Captures (the first ran before main) leave descriptors alone. */
START_TEST(test_stack_no_descriptor)
{
	struct chain c;
	int before = lowest_fd();

	ck_assert_int_ge(lowest_free_fd, 0);
	ck_assert_int_eq(lowest_after_ctor, lowest_free_fd);
	run_chain(&c, false);
	check_chain(&c, "nested");
	ck_assert_int_eq(lowest_fd(), before);
}
END_TEST

/* ---- in a signal handler, on an alternate stack ---------------------- */

static struct chain sig_chain;
static volatile unsigned long sig_interrupted;	/* caller of raise()'s caller */

static void on_signal(int sig)
{
	(void)sig;
	run_chain(&sig_chain, false);
}

static __attribute__((noinline)) void raise_here(void)
{
	sig_interrupted = (unsigned long)__builtin_return_address(0);
	raise(SIGUSR1);
	__asm__ volatile("" ::: "memory");
}

START_TEST(test_stack_signal_handler)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_handler = on_signal,
				.sa_flags = SA_ONSTACK };
	bool through = false;

	make_keys();
	ck_assert_int_eq(sigaltstack(&ss, NULL), 0);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	raise_here();
	check_chain(&sig_chain, "signal handler");
	/* Through the signal frame, onto the interrupted stack. */
	for (unsigned int k = 0; k < sig_chain.n; k++)
		through |= sig_chain.pcs[k] == sig_interrupted;
	ck_assert_msg(through, "the unwinder stopped at the signal frame");
}
END_TEST

/* ---- in other threads, many at once ---------------------------------- */

static void *thread_main(void *arg)
{
	struct chain *c = arg;

	for (int i = 0; i < 200; i++)
		run_chain(c, i & 1);
	return NULL;
}

START_TEST(test_stack_threads)
{
	static struct chain c[4];
	pthread_t t[4];

	make_keys();
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_main, &c[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		check_chain(&c[i], "thread");
	}
}
END_TEST

/* ---- in a fork child, forked while other threads capture -------------- */

static volatile bool stop_threads;

static void *capture_loop(void *arg)
{
	struct chain *c = arg;

	while (!__atomic_load_n(&stop_threads, __ATOMIC_RELAXED))
		run_chain(c, false);
	return NULL;
}

START_TEST(test_stack_fork)
{
	static struct chain c[2], child;
	pthread_t t[2];

	make_keys();
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, capture_loop, &c[i]), 0);
	for (int round = 0; round < 20; round++) {
		int status;
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (!pid) {
			run_chain(&child, false);
			check_chain(&child, "fork child");
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && !WEXITSTATUS(status),
			      "child status %#x", status);
	}
	__atomic_store_n(&stop_threads, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}
END_TEST

/* ---- before main ------------------------------------------------------ */

static struct chain ctor_chain;

static __attribute__((constructor(102))) void before_main(void)
{
	run_chain(&ctor_chain, false);
	lowest_after_ctor = lowest_fd();
}

START_TEST(test_stack_before_main)
{
	check_chain(&ctor_chain, "constructor");
}
END_TEST

static Suite *stack_suite(void)
{
	Suite *s = suite_create("stack");
	TCase *tc = tcase_create("capture");

	tcase_add_test(tc, test_stack_nested);
	tcase_add_test(tc, test_stack_no_descriptor);
	tcase_add_test(tc, test_stack_signal_handler);
	tcase_add_test(tc, test_stack_before_main);
	suite_add_tcase(s, tc);
	tc = tcase_create("threads");
	tcase_add_test(tc, test_stack_threads);
	tcase_add_test(tc, test_stack_fork);
	tcase_set_tags(tc, "threads");
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(stack_suite());
}
