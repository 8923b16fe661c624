// SPDX-License-Identifier: MIT
/*
 * tests/profile/prof_safety.c - the profiler's unwinding where it is
 * hardest: before main, in signal handlers, in threads that only free,
 * across fork.  Run under LD_PRELOAD=libkmem-malloc.so with
 * KMEM_PROFILE_RATE=1, so that every allocation is sampled and unwinds.
 *
 * It checks itself through its own published profile (read as kmeminfo
 * reads it, from kmem_stats_fd()): the count of allocations that reached
 * the profiler while this thread was already inside it ("skipped") must
 * stay 0 where no signal handler can interrupt an allocation; an
 * allocation made by the unwinder itself would be one.  (A handler that
 * allocates while the interrupted code is itself inside malloc is not
 * tested: kmem's malloc, like glibc's, is not async-signal-safe.)  Prints
 * a line
 * per phase, then "ready", and waits for stdin to close, so that the
 * checker reads the sites with kmeminfo.  Exit status 1 with a message on
 * a failed check; a deadlock is caught by alarm() in each process.
 */
#include <execinfo.h>
#include <kmem/stats.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * malloc then free, which the compiler may not fold away (it would).  The
 * pointer is the calling thread's own: two threads churn at once below,
 * and through one shared variable each freed the other's block, a double
 * free that kmem rightly reported (about 1 run in 60 under load).
 */
static void churn_one(size_t n)
{
	void *volatile p = malloc(n);

	free(p);
}

/* From the preloaded libkmem-malloc.so. */
int kmem_stats_fd(void) __attribute__((weak));

static const struct kmem_stats_profile *prof;

static void die(const char *what)
{
	fprintf(stderr, "prof_safety: %s\n", what);
	exit(1);
}

static void find_profile(void)
{
	int fd = kmem_stats_fd ? kmem_stats_fd() : -1;
	const struct kmem_stats_header *h;

	if (fd < 0)
		die("no statistics region");
	h = mmap(NULL, 256 << 20, PROT_READ, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		die("cannot map the region");
	for (uint64_t off = h->units_off; off < h->units_end;) {
		const struct kmem_stats_unit *u =
			(const void *)((const char *)h + off);

		if (!u->npages)
			break;
		if (u->kind == KMEM_UNIT_PROFILE) {
			prof = (const void *)u;
			return;
		}
		off += (uint64_t)u->npages * h->unit_size;
	}
	die("no profile published (KMEM_PROFILE_RATE=1 expected)");
}

static uint64_t skipped(void)
{
	return __atomic_load_n(&prof->skipped, __ATOMIC_ACQUIRE);
}

/* ---- a crash, reported ------------------------------------------------ */

/*
 * A crash is rare here and worth its stack: CI once saw this program die
 * of SIGSEGV before "ready", with nothing to say where.  The handler runs
 * on a stack of its own (an overflow is a crash too), says which phase
 * and which address, writes the stack with glibc's backtrace_symbols_fd()
 * (no malloc; backtrace() was warmed up, its loading of libgcc_s done),
 * and dies of the same signal, so that the exit status says it.
 */
static const char *volatile phase = "start of main";
static char fault_stack[64 << 10];

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	void *pcs[64];
	char buf[256];
	int n;

	(void)uc;
	n = snprintf(buf, sizeof(buf),
		     "prof_safety: signal %d at address %p in phase \"%s\"\n",
		     sig, si->si_addr, phase);
	if (write(2, buf, (size_t)n) < 0)
		_exit(128 + sig);
	n = backtrace(pcs, 64);
	backtrace_symbols_fd(pcs, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void report_faults(void)
{
	stack_t ss = { .ss_sp = fault_stack, .ss_size = sizeof(fault_stack) };
	struct sigaction sa = { .sa_sigaction = on_fault,
				.sa_flags = SA_SIGINFO | SA_ONSTACK };
	void *warm[4];

	backtrace(warm, 4);
	sigaltstack(&ss, NULL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
}

/* ---- before main ------------------------------------------------------ */

void *early[100];	/* global: the stores are not dead */

__attribute__((noipa)) void before_main_alloc(void)
{
	for (int i = 0; i < 100; i++)
		early[i] = malloc(48);
}

static __attribute__((constructor(101))) void early_ctor(void)
{
	before_main_alloc();
}

/* ---- signal handlers -------------------------------------------------- */

static volatile sig_atomic_t alarms;
void *kept_by_handler[64];

__attribute__((noipa)) void on_alarm(int sig)
{
	void *p = malloc(80);

	(void)sig;
	churn_one(200);
	if (alarms < 64)
		kept_by_handler[alarms] = p;
	else
		free(p);
	alarms++;
}

/* Spins without allocating until @n handlers ran: nothing to interrupt. */
__attribute__((noipa)) void spin_without_malloc(int n)
{
	while (alarms < n)
		__asm__ volatile("pause" ::: "memory");
}

static void set_timer(long usec)
{
	struct itimerval it = { { 0, usec }, { 0, usec } };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* ---- threads that only free ------------------------------------------- */

#define HANDOFF 20000
static void *handoff[HANDOFF];
static int handed;	/* atomic: objects published in handoff[] */

__attribute__((noipa)) void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < HANDOFF; i++) {
		handoff[i] = malloc(24 + i % 500);
		__atomic_store_n(&handed, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *only_frees(void *arg)
{
	long k = (long)arg;

	for (int i = (int)k; i < HANDOFF; i += 2) {
		while (__atomic_load_n(&handed, __ATOMIC_ACQUIRE) <= i)
			sched_yield();
		free(handoff[i]);
	}
	return NULL;
}

/* ---- fork while other threads sample ---------------------------------- */

static volatile int stop_allocating;

__attribute__((noipa)) void *allocating_thread(void *arg)
{
	(void)arg;
	while (!stop_allocating)
		churn_one(64);
	return NULL;
}

__attribute__((noipa)) void child_allocates(void)
{
	for (int i = 0; i < 100; i++)
		churn_one(100 + i);
}

int main(void)
{
	uint64_t before;
	pthread_t t[3];
	char buf[64];

	alarm(300);	/* a deadlock fails instead of hanging */
	report_faults();
	/* Each phase's line as it passes: a crash leaves the ones before. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	find_profile();
	if (skipped())
		die("allocations skipped before main: reentry from the unwinder?");
	printf("before main: ok\n");

	phase = "signal handlers";
	signal(SIGALRM, on_alarm);
	set_timer(500);
	spin_without_malloc(200);
	set_timer(0);
	if (skipped())
		die("allocations skipped in signal handlers that interrupted no allocation");
	printf("signal handlers: ok\n");

	signal(SIGALRM, SIG_DFL);
	alarm(300);

	phase = "threads that only free";
	before = skipped();
	pthread_create(&t[0], NULL, producer, NULL);
	pthread_create(&t[1], NULL, only_frees, (void *)0L);
	pthread_create(&t[2], NULL, only_frees, (void *)1L);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	if (skipped() != before)
		die("allocations skipped with threads that only free");
	printf("threads that only free: ok\n");

	phase = "fork";
	pthread_create(&t[0], NULL, allocating_thread, NULL);
	pthread_create(&t[1], NULL, allocating_thread, NULL);
	for (int i = 0; i < 40; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid) {
			alarm(60);
			child_allocates();
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			die("a fork child failed or deadlocked");
	}
	stop_allocating = 1;
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	printf("fork: ok\n");

	phase = "ready";
	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
