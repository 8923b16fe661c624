// SPDX-License-Identifier: MIT
/*
 * tests/kmeminfo/kmi_child.c - a kmem process that test_kmeminfo drives.
 *
 * Linked with libkmem (static); malloc stays glibc's, so only what the
 * commands do shows in the kmem figures.  Commands arrive one per line on
 * standard input; each is answered "ok [value]" (or "err why") on
 * standard output once it is complete, so the test knows the process is
 * quiescent when it reads it:
 *
 *   create NAME SIZE [nomerge]   kmem_cache_create
 *   alloc NAME N                 allocate N objects (kept)
 *   free NAME N                  free the last N allocated
 *   set NAME N                   allocate or free until N are held
 *   cycle NAME N R               R times: allocate N objects, free them
 *   pin                          keep this thread on the CPU it runs on
 *   destroy NAME                 kmem_cache_destroy
 *   thread NAME N                a thread allocates N objects and stays
 *   tfree NAME N                 a thread allocates N objects, frees
 *                                them and stays (the main thread keeps
 *                                magazines of its own: slab.md)
 *   fork NAME N                  the child allocates N more and stays;
 *                                answers "ok CHILDPID" once it has
 *   forkprep NAME N              fork NAME 0, but a fork prepare handler
 *                                registered before kmem's (so it runs
 *                                after kmem's) allocates N objects of
 *                                NAME first, from the thread's magazine
 *   fdreuse NAME N               close kmem_stats_fd()'s number, put a
 *                                pipe's read end on it (two bytes in the
 *                                pipe), fork NAME N; each side reads one
 *                                byte through that number: "ok CHILDPID"
 *                                or "err why"
 *   print FILE / printb FILE     kmem_slabinfo_print / kmem_buddyinfo_print
 *   fdtest                       "ok FD CLOEXEC": open("/dev/null")'s
 *                                number; whether the region fd is CLOEXEC
 *   statsfd                      "ok FD": kmem_stats_fd()
 *   churn                        a thread churns kt_steady (1000 B)
 *                                around 100 held (100 or 101), one
 *                                object every 2 ms, while kmeminfo reads;
 *                                the leak beside it is the test's "set"
 *                                (per sample, not per tick of this
 *                                process's clock)
 *   exit N                       exit(N)
 *
 * Children made by "fork" die with this process (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kmem/slab.h>
#include <kmem/stats.h>

#define MAX_CACHES 32

struct tcache {
	char name[128];
	struct kmem_cache *s;
	void **objs;
	size_t nr, cap;
};

static struct tcache caches[MAX_CACHES];
static unsigned int nr_caches;
static struct tcache *prep_cache;	/* forkprep: what to allocate */
static long prep_n;
static int prep_err;

static struct tcache *find(const char *name)
{
	for (unsigned int i = 0; i < nr_caches; i++)
		if (!strcmp(caches[i].name, name))
			return &caches[i];
	return NULL;
}

static int do_alloc(struct tcache *c, long n)
{
	for (long i = 0; i < n; i++) {
		void *p = kmem_cache_alloc(c->s, GFP_KERNEL);

		if (!p)
			return -1;
		if (c->nr == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 256;
			void **more = realloc(c->objs, cap * sizeof(*more));

			if (!more)
				return -1;
			c->objs = more;
			c->cap = cap;
		}
		c->objs[c->nr++] = p;
	}
	return 0;
}

static void do_free(struct tcache *c, long n)
{
	while (n-- > 0 && c->nr)
		kmem_cache_free(c->s, c->objs[--c->nr]);
}

struct thread_arg {
	struct tcache *c;
	long n;
	bool free;
	int ready[2];
};

static void *alloc_thread(void *p)
{
	struct thread_arg *a = p;
	void *obj[1000];
	char ok = 1;

	for (long i = 0; i < a->n; i++) {
		obj[i % 1000] = kmem_cache_alloc(a->c->s, GFP_KERNEL);
		if (a->free && (i % 1000 == 999 || i == a->n - 1))
			for (long j = 0; j <= i % 1000; j++)
				kmem_cache_free(a->c->s, obj[j]);
	}
	if (write(a->ready[1], &ok, 1) != 1)
		abort();
	for (;;)
		pause();
	return NULL;
}

static void *churn_thread(void *p)
{
	struct kmem_cache *steady = kmem_cache_create("kt_steady", 1000, 0,
						      SLAB_NO_MERGE, NULL);
	struct timespec ts = { 0, 2000000 };
	void *held[100];
	int *ready = p;
	char ok = 1;

	for (int i = 0; i < 100; i++)
		held[i] = kmem_cache_alloc(steady, GFP_KERNEL);
	if (write(ready[1], &ok, 1) != 1)
		abort();
	for (unsigned long k = 0;; k++) {
		/* The count wanders by one: never first < middle < last. */
		void *x = kmem_cache_alloc(steady, GFP_KERNEL);

		kmem_cache_free(steady, held[k % 100]);
		held[k % 100] = x;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/*
 * A prepare handler registered before kmem's: constructor priority 101
 * runs before kmem's constructor (which registers kmem's handlers), and
 * prepare handlers run in reverse order of registration.
 */
static void prep_alloc(void)
{
	void *big;

	if (!prep_cache)
		return;
	if (do_alloc(prep_cache, prep_n))
		prep_err = 1;
	/* A block no magazine holds: the page allocator's locked paths. */
	big = kmalloc(1 << 20, GFP_KERNEL);
	if (!big)
		prep_err = 1;
	memset(big, 0x5a, 1 << 20);
	kfree(big);
	prep_cache = NULL;
}

__attribute__((constructor(101))) static void prep_register(void)
{
	pthread_atfork(prep_alloc, NULL, NULL);
}

/* Is @fd the read end of a pipe, giving one of the bytes written? */
static const char *pipe_check(int fd)
{
	struct stat st;
	char ch;

	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode))
		return "not a pipe";
	if (read(fd, &ch, 1) != 1 || (ch != 'a' && ch != 'b'))
		return "pipe read";
	return NULL;
}

/*
 * The child allocates @n objects of @c (and, if @pipe_fd >= 0, first
 * reads a byte of the pipe on that number) and stays.
 */
static int do_fork(struct tcache *c, long n, int pipe_fd, pid_t *child)
{
	int sync[2];
	pid_t pid;
	char ok;

	if (pipe(sync))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sync[0]);
		ok = (pipe_fd < 0 || !pipe_check(pipe_fd)) && !do_alloc(c, n);
		if (write(sync[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(sync[1]);
	if (read(sync[0], &ok, 1) != 1 || !ok)
		return -1;
	close(sync[0]);
	*child = pid;
	return 0;
}

static int print_to(const char *path, bool slab)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret;

	if (fd < 0)
		return -1;
	ret = slab ? kmem_slabinfo_print(fd) : kmem_buddyinfo_print(fd);
	close(fd);
	return ret;
}

/* fdreuse: the program takes kmem's descriptor number for a pipe. */
static const char *do_fdreuse(struct tcache *c, long n, pid_t *child)
{
	int fd = kmem_stats_fd(), p[2];

	if (fd < 0)
		return "no region";
	close(fd);
	if (pipe(p) || dup2(p[0], fd) != fd || close(p[0]) ||
	    write(p[1], "ab", 2) != 2)
		return "pipe";
	if (do_fork(c, n, fd, child))
		return "the child's end of the pipe";
	return pipe_check(fd);
}

int main(void)
{
	char line[512], a[128], b[128], c[128], d[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		struct tcache *t;
		int n;

		n = sscanf(line, "%127s %127s %127s %127s", c, a, b, d);
		if (n < 1)
			continue;
		t = n >= 2 ? find(a) : NULL;
		if (!strcmp(c, "create") && n >= 3 && nr_caches < MAX_CACHES) {
			slab_flags_t flags = n >= 4 && !strcmp(d, "nomerge") ?
						     SLAB_NO_MERGE : 0;

			t = &caches[nr_caches];
			snprintf(t->name, sizeof(t->name), "%s", a);
			t->s = kmem_cache_create(a, (unsigned int)atoi(b), 0,
						 flags, NULL);
			if (!t->s) {
				printf("err create %s\n", a);
				continue;
			}
			nr_caches++;
			printf("ok\n");
		} else if (!strcmp(c, "alloc") && t && n >= 3) {
			printf(do_alloc(t, atol(b)) ? "err alloc\n" : "ok\n");
		} else if (!strcmp(c, "free") && t && n >= 3) {
			do_free(t, atol(b));
			printf("ok\n");
		} else if (!strcmp(c, "set") && t && n >= 3) {
			long want = atol(b), have = (long)t->nr;

			if (want > have && do_alloc(t, want - have)) {
				printf("err alloc\n");
				continue;
			}
			do_free(t, have - want);
			printf("ok\n");
		} else if (!strcmp(c, "cycle") && t && n >= 4) {
			long k, rounds = atol(d), fail = 0;

			for (k = 0; k < rounds && !fail; k++) {
				fail = do_alloc(t, atol(b));
				do_free(t, atol(b));
			}
			printf(fail ? "err alloc\n" : "ok\n");
		} else if (!strcmp(c, "pin")) {
			int cpu = sched_getcpu();
			cpu_set_t set;

			CPU_ZERO(&set);
			if (cpu >= 0)
				CPU_SET(cpu, &set);
			if (cpu < 0 || sched_setaffinity(0, sizeof(set), &set))
				printf("err pin\n");
			else
				printf("ok %d\n", cpu);
		} else if (!strcmp(c, "destroy") && t) {
			do_free(t, (long)t->nr);
			kmem_cache_destroy(t->s);
			*t = caches[--nr_caches];
			printf("ok\n");
		} else if ((!strcmp(c, "thread") || !strcmp(c, "tfree")) &&
			   t && n >= 3) {
			static struct thread_arg arg;
			pthread_t th;
			char ok;

			arg.c = t;
			arg.n = atol(b);
			arg.free = !strcmp(c, "tfree");
			if (pipe(arg.ready) ||
			    pthread_create(&th, NULL, alloc_thread, &arg) ||
			    read(arg.ready[0], &ok, 1) != 1) {
				printf("err thread\n");
				continue;
			}
			printf("ok\n");
		} else if (!strcmp(c, "fork") && t && n >= 3) {
			pid_t child;

			if (do_fork(t, atol(b), -1, &child))
				printf("err fork\n");
			else
				printf("ok %d\n", (int)child);
		} else if (!strcmp(c, "forkprep") && t && n >= 3) {
			pid_t child;

			prep_cache = t;
			prep_n = atol(b);
			prep_err = 0;
			if (do_fork(t, 0, -1, &child) || prep_err)
				printf("err fork\n");
			else
				printf("ok %d\n", (int)child);
		} else if (!strcmp(c, "fdreuse") && t && n >= 3) {
			pid_t child;
			const char *why = do_fdreuse(t, atol(b), &child);

			if (why)
				printf("err %s\n", why);
			else
				printf("ok %d\n", (int)child);
		} else if (!strcmp(c, "print") && n >= 2) {
			printf(print_to(a, true) ? "err print\n" : "ok\n");
		} else if (!strcmp(c, "printb") && n >= 2) {
			printf(print_to(a, false) ? "err print\n" : "ok\n");
		} else if (!strcmp(c, "fdtest")) {
			int fd = open("/dev/null", O_RDONLY);
			int flags = fcntl(kmem_stats_fd(), F_GETFD);

			printf("ok %d %d\n", fd, flags >= 0 && (flags & FD_CLOEXEC));
			close(fd);
		} else if (!strcmp(c, "statsfd")) {
			printf("ok %d\n", kmem_stats_fd());
		} else if (!strcmp(c, "churn")) {
			static int ready[2];
			pthread_t th;
			char ok;

			if (pipe(ready) ||
			    pthread_create(&th, NULL, churn_thread, ready) ||
			    read(ready[0], &ok, 1) != 1) {
				printf("err churn\n");
				continue;
			}
			printf("ok\n");
		} else if (!strcmp(c, "exit")) {
			exit(n >= 2 ? atoi(a) : 0);
		} else {
			printf("err unknown command: %s", line);
		}
	}
	return 0;
}
