// SPDX-License-Identifier: MIT
/*
 * tests/kfence/kfence_prog.c - the bugs KFENCE catches, one per run.
 *
 *     kfence_prog MODE
 *
 * Each mode plants one bug (or exercises one behaviour) through kmem's
 * API (libkmem.so: kmem_malloc & co, kmalloc, kmem_cache_alloc) and
 * prints what the checker (check_kfence.py) needs on stdout; kmem's
 * reports go to stderr.  The checker sets KMEM_KFENCE_SAMPLE_INTERVAL:
 * -1 guards every allocation while a slot is free, which makes the
 * sampling deterministic.
 *
 * Placement is random per object (right or left end of its page); a mode
 * that needs one side allocates until it gets it (each try is a fair
 * coin: 64 tries all failing has probability 2^-64), freeing the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kmem/kmem.h>

#define PAGE 4096UL

static volatile char sink;
/* Indexes the compiler cannot see through: the bugs are planted on purpose. */
static volatile long zero;

/*
 * The program's open descriptors, and its lowest free one, without
 * allocating (a stack capture must not take a descriptor: libunwind's
 * first use opened a pipe on the two lowest free ones).
 */
static int open_fds(int *lowest_free)
{
	int n = 0;

	*lowest_free = -1;
	for (int fd = 0; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
		else if (*lowest_free < 0)
			*lowest_free = fd;
	}
	return n;
}

static int fds_start, low_start;

static struct kmem_kfence_stats stats(void)
{
	struct kmem_kfence_stats st;

	kmem_kfence_stats(&st);
	return st;
}

/* A guarded object's usable size is exactly its size (no class slack). */
static bool guarded(void *p, size_t size)
{
	return p && kmem_malloc_usable_size(p) == size;
}

/* Right end of its page, or left (at the page's start)? */
static bool at_right(const void *p)
{
	return ((uintptr_t)p & (PAGE - 1)) != 0;
}

/* A guarded kmem_malloc(@size) at the right end (@right) or left end. */
static char *placed(size_t size, bool right)
{
	char *keep[64];
	char *p = NULL;
	int n = 0;

	for (; n < 64; n++) {
		unsigned long before = stats().allocs;

		p = kmem_malloc(size);
		if (stats().allocs != before + 1) {
			fprintf(stderr, "kfence_prog: allocation not guarded\n");
			exit(2);
		}
		if (at_right(p) == right)
			break;
		keep[n] = p;
	}
	for (int i = 0; i < n && i < 64; i++)
		kmem_free(keep[i]);
	if (n == 64) {
		fprintf(stderr, "kfence_prog: no placement on that side\n");
		exit(2);
	}
	return p;
}

/* ---- a program with its own SIGSEGV handler -------------------------- */

static sigjmp_buf own_jmp;
static void *own_addr;

static void own_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	own_addr = si->si_addr;
	siglongjmp(own_jmp, 1);
}

static void own_fault(char *where)
{
	own_addr = NULL;
	if (!sigsetjmp(own_jmp, 1))
		*where = 1;
	printf("own handler: %s\n", own_addr == where ? "got its fault" :
		"MISSED");
	fflush(stdout);
}

static void mode_own_handler(bool after)
{
	struct sigaction sa;
	char *foreign = mmap(NULL, PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = own_handler;
	sa.sa_flags = SA_SIGINFO;
	if (!after) {
		/* Installed before kmem's pool was used: kmem goes in front
		 * of it at its next guarded allocation and chains to it. */
		sigaction(SIGSEGV, &sa, NULL);
		kmem_malloc(8);
	} else {
		/* Installed after: replaces kmem's until kmem's next
		 * guarded allocation puts it in front again. */
		kmem_free(kmem_malloc(8));
		sigaction(SIGSEGV, &sa, NULL);
		own_fault(foreign);
	}
	own_fault(foreign);
	p = placed(64, true);
	own_fault(foreign);
	own_fault(foreign);	/* after a siglongjmp out of the chain */
	p[64 + zero] = 1;			/* kmem reports, aborts */
	printf("not reported\n");
}

/* ---- threads and fork -------------------------------------------------- */

static void *thread_free(void *p)
{
	kmem_free(p);
	return NULL;
}

/* The threads of this process, from /proc/self/task. */
static int nr_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void *thread_uaf(void *p)
{
	sink = *(char *)p;
	return NULL;
}

/*
 * stress: threads allocate from every path (malloc, kmalloc, a cache),
 * free what another thread allocated, until 20 objects were guarded
 * (KMEM_KFENCE_SAMPLE_INTERVAL=1) or 120 s passed.
 */
#define STRESS_THREADS	4
#define STRESS_SLOTS	256

static struct kmem_cache *stress_cache;
static void *stress_slots[STRESS_THREADS][STRESS_SLOTS];
static int stress_stop;		/* atomic */

static void *stress_thread(void *arg)
{
	unsigned long id = (unsigned long)arg, seed = id * 7919 + 1;

	while (!__atomic_load_n(&stress_stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < STRESS_SLOTS; i++) {
			/* the neighbour's slot: frees are remote */
			void **slot = &stress_slots[(id + (unsigned long)i) %
						    STRESS_THREADS][i];
			void *p = __atomic_exchange_n(slot, NULL,
						      __ATOMIC_ACQ_REL);

			if (p)
				((unsigned long)p & 1) ?
					kmem_cache_free(stress_cache,
							(char *)p - 1) :
					kmem_free(p);
			seed = seed * 6364136223846793005UL + 1;
			switch (seed >> 62) {
			case 0:
				p = kmem_malloc(8 + (seed >> 40) % 4089);
				break;
			case 1:
				p = kmalloc(8 + (seed >> 40) % 505, GFP_KERNEL);
				break;
			case 2:
				p = (char *)kmem_cache_alloc(stress_cache,
							     GFP_KERNEL) + 1;
				break;
			default:
				p = kmem_calloc(1, 8 + (seed >> 40) % 93);
			}
			/* every object is 8 bytes or more */
			memset((char *)((unsigned long)p & ~1UL), 1, 8);
			p = __atomic_exchange_n(slot, p, __ATOMIC_ACQ_REL);
			if (p)
				((unsigned long)p & 1) ?
					kmem_cache_free(stress_cache,
							(char *)p - 1) :
					kmem_free(p);
		}
	}
	return NULL;
}

static void mode_stress(void)
{
	pthread_t t[STRESS_THREADS];
	struct timespec t0, t1;
	long ms = 0;

	stress_cache = kmem_cache_create("kf_stress", 40, 8, 0, NULL);
	for (unsigned long i = 0; i < STRESS_THREADS; i++)
		pthread_create(&t[i], NULL, stress_thread, (void *)i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (stats().allocs < 20 && ms < 120000) {
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	}
	__atomic_store_n(&stress_stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < STRESS_THREADS; i++)
		for (int j = 0; j < STRESS_SLOTS; j++) {
			void *p = stress_slots[i][j];

			if (p)
				((unsigned long)p & 1) ?
					kmem_cache_free(stress_cache,
							(char *)p - 1) :
					kmem_free(p);
		}
	printf("stress: allocs %lu frees %lu allocated %lu bugs %lu\n",
	       stats().allocs, stats().frees, stats().allocated,
	       stats().bugs);
}

static int cache_ctor_runs;

static void ctor(void *obj)
{
	cache_ctor_runs++;
	memset(obj, 0x5a, 48);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char *p, *q;

	setvbuf(stdout, NULL, _IONBF, 0);
	fds_start = open_fds(&low_start);	/* before kmem starts */
	kmem_free(kmem_malloc(1));	/* start kmem */

	if (!strcmp(mode, "oob_right_write")) {
		p = placed(64, true);
		p[64 + zero] = 1;
	} else if (!strcmp(mode, "oob_right_read")) {
		p = placed(64, true);
		sink = p[64 + zero];
	} else if (!strcmp(mode, "oob_left_write")) {
		p = placed(64, false);
		p[-1 + zero] = 1;
	} else if (!strcmp(mode, "oob_left_read")) {
		p = placed(64, false);
		sink = p[-1 + zero];
	} else if (!strcmp(mode, "uaf_read")) {
		p = kmem_malloc(100);
		kmem_free(p);
		sink = p[10];
	} else if (!strcmp(mode, "uaf_write")) {
		p = kmem_malloc(100);
		kmem_free(p);
		p[10] = 1;
	} else if (!strcmp(mode, "double_free")) {
		p = kmem_malloc(32);
		kmem_free(p);
		kmem_free(p);
	} else if (!strcmp(mode, "invalid_free")) {
		p = kmem_malloc(32);
		kmem_free(p + 8);
	} else if (!strcmp(mode, "canary")) {
		/* 60 bytes at the left end: the write lands in the canary
		 * after it, which no guard page protects. */
		p = placed(60, false);
		p[60 + zero] = 1;
		kmem_free(p);
	} else if (!strcmp(mode, "canary_left")) {
		/* At the right end, 16-aligned: canary before it too. */
		q = placed(60, true);
		q[-3 + zero] = 1;
		kmem_free(q);
	} else if (!strcmp(mode, "kmalloc_oob")) {
		do {
			p = kmalloc(32, GFP_KERNEL);
		} while (!at_right(p));
		p[32 + zero] = 1;
	} else if (!strcmp(mode, "cache")) {
		struct kmem_cache *c = kmem_cache_create("kf_test", 48, 0, 0,
							 ctor);
		unsigned long before = stats().allocs;

		p = kmem_cache_alloc(c, GFP_KERNEL);
		printf("cache guarded %d ctor %d first byte 0x%02x\n",
		       stats().allocs == before + 1, cache_ctor_runs,
		       (unsigned char)p[0]);
		kmem_cache_free(c, p);
		p = kmem_cache_alloc(c, GFP_KERNEL);
		kmem_cache_free(NULL, p);	/* the cache found from p */
		printf("frees %lu allocated %lu\n", stats().frees,
		       stats().allocated);
		do {
			p = kmem_cache_alloc(c, GFP_KERNEL);
		} while (!at_right(p));
		sink = p[48 + zero];
	} else if (!strcmp(mode, "cache_wrong")) {
		struct kmem_cache *a = kmem_cache_create("kf_a", 48, 0, 0, NULL);
		struct kmem_cache *b = kmem_cache_create("kf_b", 40, 0,
							 SLAB_NO_MERGE, NULL);

		p = kmem_cache_alloc(a, GFP_KERNEL);
		kmem_cache_free(b, p);
	} else if (!strcmp(mode, "api")) {
		void *a = NULL;
		int rc = kmem_posix_memalign(&a, 256, 100);

		printf("memalign rc %d aligned %d guarded %d\n", rc,
		       (uintptr_t)a % 256 == 0, guarded(a, 100));
		p = kmem_calloc(10, 30);
		q = p;
		for (int i = 0; i < 300; i++)
			if (q[i])
				q = NULL;
		printf("calloc zeroed %d usable %zu\n", q != NULL,
		       kmem_malloc_usable_size(p));
		memset(p, 7, 300);
		q = kmem_realloc(p, 200);
		printf("realloc smaller in place %d\n", q == p);
		q = kmem_realloc(p, 1000);
		printf("realloc moved %d kept %d usable %zu\n", q != p,
		       q[199] == 7 && q[0] == 7, kmem_malloc_usable_size(q));
		kmem_free(q);
		kmem_free(a);
		p = kmem_malloc(5000);	/* above a page: not guarded */
		printf("5000 guarded %d\n", guarded(p, 5000));
		kmem_free(p);
		printf("allocated %lu\n", stats().allocated);
	} else if (!strcmp(mode, "exhaust")) {
		/* KMEM_KFENCE_NUM_OBJECTS=4 */
		char *v[10];
		unsigned long first;

		for (int i = 0; i < 10; i++)
			v[i] = kmem_malloc(64);
		printf("allocs %lu allocated %lu capacity %lu slots %lu\n",
		       stats().allocs, stats().allocated,
		       stats().skip_capacity, stats().slots_used);
		first = (uintptr_t)v[0] & ~(PAGE - 1);
		for (int i = 0; i < 10; i++)
			kmem_free(v[i]);
		/* The oldest freed slot (v[0]'s) is reused first. */
		p = kmem_malloc(64);
		printf("reused oldest %d allocated %lu\n",
		       ((uintptr_t)p & ~(PAGE - 1)) == first,
		       stats().allocated);
		kmem_free(p);
		sink = v[1][0];		/* still protected: reported */
	} else if (!strcmp(mode, "off")) {
		struct sigaction cur;

		for (int i = 0; i < 10000; i++)
			kmem_free(kmem_malloc(64));
		sigaction(SIGSEGV, NULL, &cur);
		printf("objects %lu allocs %lu handler %s\n", stats().objects,
		       stats().allocs,
		       cur.sa_handler == SIG_DFL ? "default" : "installed");
	} else if (!strcmp(mode, "settings")) {
		struct kmem_kfence_stats st = stats();

		printf("interval %ld objects %lu\n", st.sample_interval,
		       st.objects);
	} else if (!strcmp(mode, "own_handler_before")) {
		mode_own_handler(false);
	} else if (!strcmp(mode, "own_handler_after")) {
		mode_own_handler(true);
	} else if (!strcmp(mode, "sampling")) {
		/*
		 * Allocate until 5 objects were guarded (bounded: 120 s),
		 * then say how long it took.  Not faster than the interval
		 * allows, and it does happen.
		 */
		struct timespec t0, t1;
		long ms = 0;
		void *v[16];

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (stats().allocs < 5 && ms < 120000) {
			for (int i = 0; i < 16; i++)
				v[i] = kmem_malloc(16 + 16 * (size_t)i);
			for (int i = 0; i < 16; i++)
				kmem_free(v[i]);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			     (t1.tv_nsec - t0.tv_nsec) / 1000000;
		}
		printf("allocs %lu ms %ld interval %ld threads %d\n",
		       stats().allocs, ms, stats().sample_interval,
		       nr_threads());
	} else if (!strcmp(mode, "threads")) {
		pthread_t t;

		p = kmem_malloc(64);
		pthread_create(&t, NULL, thread_free, p);
		pthread_join(t, NULL);
		printf("freed in thread: frees %lu allocated %lu\n",
		       stats().frees, stats().allocated);
		pthread_create(&t, NULL, thread_uaf, p);
		pthread_join(t, NULL);
	} else if (!strcmp(mode, "fork")) {
		int status;
		pid_t pid;

		p = kmem_malloc(64);
		q = kmem_malloc(64);
		pid = fork();
		if (!pid) {
			char *r;

			kmem_free(p);	/* the parent's guarded object */
			r = kmem_malloc(128);	/* the pool works */
			printf("child: frees %lu allocs %lu\n",
			       stats().frees, stats().allocs);
			kmem_free(r);
			sink = p[0];	/* use after free in the child */
			_exit(0);
		}
		waitpid(pid, &status, 0);
		printf("child %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
		       WIFSIGNALED(status) ? WTERMSIG(status) :
					     WEXITSTATUS(status));
		p[0] = 1;	/* the parent's is still live */
		kmem_free(p);
		kmem_free(q);
		printf("parent: frees %lu allocated %lu\n", stats().frees,
		       stats().allocated);
	} else if (!strcmp(mode, "fds")) {
		/*
		 * Counted before kmem started (main's first line) and after
		 * a report, less kmem's own statistics descriptor.
		 */
		int low1, n1;

		p = placed(64, true);
		p[64 + zero] = 1;	/* reported; KMEM_KFENCE_CONTINUE */
		kmem_free(p);
		n1 = open_fds(&low1) - (kmem_stats_fd() >= 0);
		printf("fds before %d after %d lowest free before %d after %d bugs %lu\n",
		       fds_start, n1, low_start, low1, stats().bugs);
	} else if (!strcmp(mode, "continue")) {
		p = placed(64, true);
		p[64 + zero] = 1;
		p[65 + zero] = 2;	/* same object: not reported again */
		q = kmem_malloc(64);
		kmem_free(q);
		kmem_free(q);	/* invalid free: reported, ignored */
		printf("survived bugs %lu\n", stats().bugs);
	} else if (!strcmp(mode, "stress")) {
		mode_stress();
		return 0;
	} else if (!strcmp(mode, "hold")) {
		/* Guarded objects held while kmeminfo looks. */
		char line[16];

		for (int i = 0; i < 3; i++)
			kmem_malloc(64);
		kmem_free(kmem_malloc(64));
		printf("ready %d\n", (int)getpid());
		if (!fgets(line, sizeof(line), stdin))
			return 0;
	} else {
		fprintf(stderr, "kfence_prog: unknown mode '%s'\n", mode);
		return 2;
	}
	printf("not reported\n");
	return 0;
}
