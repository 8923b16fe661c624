/* SPDX-License-Identifier: MIT */
/*
 * bench/bench.h - what malloc_bench and slab_bench share.
 *
 * Header-only on purpose (every helper is static inline): each benchmark is
 * one .c file that builds with a bare "gcc -O2 -pthread FILE.c", and
 * neither program links anything it does not measure.
 *
 *  - Clock and deadlines: CLOCK_MONOTONIC; single-threaded loops look at
 *    the clock once per chunk of iterations (bench_time_up()).
 *  - A team of worker threads (struct bench_team): they meet at a barrier,
 *    run until the main thread raises @stop after the run's duration, and
 *    the wall time runs from the barrier to the last join.
 *  - A seeded xorshift64* generator per thread, so runs repeat exactly.
 *  - Harness memory (pointer arrays, queues) comes from mmap, never from
 *    malloc: it must not disturb the allocator being measured, and it costs
 *    every allocator the same RSS.
 *  - One result line per run, "key=value" pairs separated by spaces, that
 *    bench/run.sh and bench/report.py parse.  malloc_lib= names the object
 *    that really provides malloc (found with dlsym + dladdr), so the runner
 *    can tell a working LD_PRELOAD from one the loader silently ignored.
 *
 * Errors are fatal: a message on stderr and exit status 1.  A NULL from any
 * allocator is an error (bench_oom()).
 */
#ifndef KMEM_BENCH_H
#define KMEM_BENCH_H

#ifndef _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif

#define BENCH_MAX_THREADS	256
#define BENCH_CACHELINE		64
/* Iterations between two looks at the clock or at the stop flag. */
#define BENCH_CHUNK		256
/* Default timed duration of one run, before -s scaling. */
#define BENCH_DEFAULT_SECONDS	0.5

/**
 * struct bench_opts - command-line options common to both programs
 * @scale:   multiplies every run's duration (-s, or $KMEM_BENCH_SCALE)
 * @seconds: base duration of a timed run; 0 means the workload's default
 *           (-d)
 * @seed:    seed of the generators (-S)
 */
struct bench_opts {
	double scale;
	double seconds;
	uint64_t seed;
};

/**
 * struct bench_result - what one run prints
 * @workload: name, with its argument appended ("pairs-64", "larson-2")
 * @threads:  worker threads that ran the workload
 * @ops:      operations done: allocator calls (malloc, free and realloc
 *            count one each), or writes for false-sharing
 * @seconds:  wall time of the timed phase
 * @pairs:    every op is half of an alloc+free pair: also print ns_per_pair
 * @fixed:    a fixed amount of work, not a fixed time: @seconds is the
 *            figure to compare (lower is better), printed as fixed=1
 * @extra:    more "key=value" pairs, space separated, or empty
 */
struct bench_result {
	char workload[64];
	int threads;
	uint64_t ops;
	double seconds;
	bool pairs;
	bool fixed;
	char extra[512];
};

/**
 * struct bench_team - worker threads that start together, stop together
 * @start: barrier of all workers plus the main thread
 * @stop:  raised by the main thread at the deadline; workers poll it
 *         (relaxed: it orders nothing, the joins do)
 */
struct bench_team {
	pthread_barrier_t start;
	atomic_bool stop;
};

/**
 * struct bench_worker - one worker thread of a team
 * @fn:   the thread's body; it calls bench_worker_start() first
 * @team: the team, filled in by bench_team_run()
 * @priv: the workload's per-thread data
 * @rng:  the thread's generator state, never 0
 * @ops:  operations done, written by the worker before it returns
 * @id:   index in the team
 *
 * Cache-line aligned so that the harness itself shares no lines between
 * threads.
 */
struct bench_worker {
	void *(*fn)(void *arg);
	struct bench_team *team;
	void *priv;
	uint64_t rng;
	uint64_t ops;
	int id;
} __attribute__((aligned(BENCH_CACHELINE)));

static inline __attribute__((noreturn, format(printf, 1, 2)))
void bench_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Cold, out of line: keeps the checks in the measured loops to one branch. */
static __attribute__((noinline, cold, noreturn, unused))
void bench_oom(const char *what, size_t size)
{
	bench_die("%s(%zu) returned NULL", what, size);
}

/*
 * bench_sink - make @p escape, so the compiler must assume the memory
 * behind it is read: no malloc/free pair can be elided, no store dropped.
 */
static inline void bench_sink(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * CPU time of the whole process (all threads) over the timed phase: marked
 * where its clock starts, taken where it stops (bench_clock_*(),
 * bench_team_run()), printed as cpu_s.  On a busy machine ops per CPU
 * second of a one-thread run varies far less than ops per wall second.
 */
static double bench_cpu_start_s;
static double bench_cpu_s = -1;

static inline double bench_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void bench_cpu_mark(void)
{
	bench_cpu_start_s = bench_cpu_now();
}

static inline void bench_cpu_stop(void)
{
	bench_cpu_s = bench_cpu_now() - bench_cpu_start_s;
}

static inline void bench_sleep(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- pseudo-random numbers --------------------------------------------- */

/* xorshift64* (Marsaglia's xorshift with Vigna's multiplier). */
static inline uint64_t bench_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A uniform number in [0, n), by multiply-shift (no division). */
static inline uint32_t bench_rand_below(uint64_t *state, uint32_t n)
{
	return (uint32_t)(((bench_rand(state) >> 32) * (uint64_t)n) >> 32);
}

/* A uniform number in [lo, hi]. */
static inline size_t bench_rand_range(uint64_t *state, size_t lo, size_t hi)
{
	return lo + bench_rand_below(state, (uint32_t)(hi - lo + 1));
}

/* A distinct, never-zero starting state for stream @stream of @seed. */
static inline uint64_t bench_rand_seed(uint64_t seed, uint64_t stream)
{
	uint64_t x = seed + 0x9e3779b97f4a7c15ull * (stream + 1);

	/* splitmix64's finaliser, so nearby seeds give unrelated streams */
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x ? x : 1;
}

/* ---- harness memory ---------------------------------------------------- */

/* Zeroed memory for the harness's own arrays, outside the allocator. */
static inline void *bench_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bench_die("mmap(%zu): %s", bytes, strerror(errno));
	return p;
}

static inline void bench_unmap(void *p, size_t bytes)
{
	if (p && munmap(p, bytes))
		bench_die("munmap: %s", strerror(errno));
}

/* ---- memory measurements ----------------------------------------------- */

/* Peak resident set of the process so far, in KiB (Linux: ru_maxrss). */
static inline long bench_peak_rss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_maxrss;
}

/* Page faults of the process so far, all threads: minor, or @major. */
static inline long bench_faults(bool major)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return major ? ru.ru_majflt : ru.ru_minflt;
}

/*
 * bench_status_kb - a "Vm...:  N kB" field of /proc/self/status, or -1.
 * Read with open/read into a stack buffer: stdio would call malloc.
 */
static inline long bench_status_kb(const char *field)
{
	char buf[4096];
	size_t len = strlen(field);
	ssize_t n;
	char *line;
	int fd;

	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (line = buf; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, field, len) && line[len] == ':')
			return strtol(line + len + 1, NULL, 10);
	}
	return -1;
}

/*
 * bench_touch - write one byte in each page of [@p, @p + @size) and the
 * last byte, as a program that uses its memory would: the pages become
 * resident and any page fault the allocator causes is paid here.
 */
static inline void bench_touch(void *p, size_t size, unsigned char val)
{
	unsigned char *c = p;
	size_t off;

	for (off = 0; off < size; off += 4096)
		c[off] = val;
	c[size - 1] = val;
}

/* ---- reporting --------------------------------------------------------- */

/* Basename of the shared object that provides malloc in this process. */
static inline const char *bench_malloc_lib(void)
{
	const char *slash;
	Dl_info info;
	void *sym;

	sym = dlsym(RTLD_DEFAULT, "malloc");
	if (!sym || !dladdr(sym, &info) || !info.dli_fname ||
	    !*info.dli_fname)
		return "unknown";
	slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

static inline __attribute__((format(printf, 2, 3)))
void bench_extra(struct bench_result *r, const char *fmt, ...)
{
	size_t used = strlen(r->extra);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->extra + used, sizeof(r->extra) - used, fmt, ap);
	va_end(ap);
}

/* Print @r as one line on stdout. */
static inline void bench_report(const struct bench_result *r)
{
	double secs = r->seconds > 0 ? r->seconds : 1e-9;
	double ops_per_sec = (double)r->ops / secs;
	double ns_per_op = r->ops ? secs * 1e9 / (double)r->ops : 0;

	printf("workload=%s threads=%d ops=%llu seconds=%.4f ops_per_sec=%.0f ns_per_op=%.3f",
	       r->workload, r->threads, (unsigned long long)r->ops, secs,
	       ops_per_sec, ns_per_op);
	/* what one thread spends on one alloc+free pair */
	if (r->pairs)
		printf(" ns_per_pair=%.3f", 2 * ns_per_op * r->threads);
	if (r->fixed)
		printf(" fixed=1");
	if (bench_cpu_s >= 0)
		printf(" cpu_s=%.4f", bench_cpu_s);
	printf(" peak_rss_kb=%ld minflt=%ld majflt=%ld malloc_lib=%s%s%s\n",
	       bench_peak_rss_kb(), bench_faults(false), bench_faults(true),
	       bench_malloc_lib(), r->extra[0] ? " " : "", r->extra);
	fflush(stdout);
}

/* ---- timing ------------------------------------------------------------ */

/* A run's duration: @def_seconds (or -d), times the scale factor. */
static inline double bench_duration(const struct bench_opts *o,
				    double def_seconds)
{
	return (o->seconds > 0 ? o->seconds : def_seconds) * o->scale;
}

/**
 * struct bench_clock - the deadline of a single-threaded timed loop
 * @start:    when the loop started, ns
 * @deadline: when it should stop, ns
 */
struct bench_clock {
	uint64_t start;
	uint64_t deadline;
};

static inline void bench_clock_start(struct bench_clock *c, double seconds)
{
	bench_cpu_mark();
	c->start = bench_now_ns();
	c->deadline = c->start + (uint64_t)(seconds * 1e9);
}

static inline bool bench_time_up(const struct bench_clock *c)
{
	return bench_now_ns() >= c->deadline;
}

static inline double bench_clock_elapsed(const struct bench_clock *c)
{
	uint64_t now = bench_now_ns();

	bench_cpu_stop();
	return (double)(now - c->start) / 1e9;
}

/* Called first by every worker: wait for the whole team. */
static inline void bench_worker_start(struct bench_worker *w)
{
	pthread_barrier_wait(&w->team->start);
}

static inline bool bench_should_stop(struct bench_worker *w)
{
	return atomic_load_explicit(&w->team->stop, memory_order_relaxed);
}

/**
 * bench_team_run - run @n workers for @seconds
 * @w:       the workers, with @fn, @priv and @rng set
 * @n:       how many
 * @seconds: when to raise the stop flag, counted from the start barrier
 *
 * Return: wall time from the start barrier until the last worker was
 * joined, in seconds.  A worker may run past the stop flag (a consumer
 * draining its queue): that time is counted.
 */
static inline double bench_team_run(struct bench_worker *w, int n,
				    double seconds)
{
	pthread_t tid[BENCH_MAX_THREADS];
	struct bench_team team;
	uint64_t t0, t1;
	int i, err;

	if (n < 1 || n > BENCH_MAX_THREADS)
		bench_die("bad thread count %d (1..%d)", n, BENCH_MAX_THREADS);
	atomic_init(&team.stop, false);
	pthread_barrier_init(&team.start, NULL, (unsigned int)n + 1);
	for (i = 0; i < n; i++) {
		w[i].team = &team;
		w[i].id = i;
		w[i].ops = 0;
		err = pthread_create(&tid[i], NULL, w[i].fn, &w[i]);
		if (err)
			bench_die("pthread_create: %s", strerror(err));
	}
	pthread_barrier_wait(&team.start);
	bench_cpu_mark();
	t0 = bench_now_ns();
	bench_sleep(seconds);
	atomic_store_explicit(&team.stop, true, memory_order_relaxed);
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	t1 = bench_now_ns();
	bench_cpu_stop();
	pthread_barrier_destroy(&team.start);
	return (double)(t1 - t0) / 1e9;
}

/* Sum of the workers' @ops. */
static inline uint64_t bench_team_ops(const struct bench_worker *w, int n)
{
	uint64_t ops = 0;
	int i;

	for (i = 0; i < n; i++)
		ops += w[i].ops;
	return ops;
}

/* ---- command line ------------------------------------------------------ */

static inline double bench_parse_double(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0))
		bench_die("bad %s '%s': want a positive number", what, s);
	return v;
}

static inline long bench_parse_long(const char *s, const char *what,
				    long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		bench_die("bad %s '%s': want %ld..%ld", what, s, min, max);
	return v;
}

/*
 * bench_parse_opts - parse -s FACTOR, -d SECONDS, -S SEED and -h.
 * Return: the index of the first non-option argument.  Calls @usage and
 * exits on -h or a bad option.
 */
static inline int bench_parse_opts(int argc, char **argv,
				   struct bench_opts *o,
				   void (*usage)(FILE *out))
{
	const char *env = getenv("KMEM_BENCH_SCALE");
	int c;

	o->scale = env && *env ? bench_parse_double(env, "KMEM_BENCH_SCALE") :
				 1.0;
	o->seconds = 0;
	o->seed = 42;
	/* GNU getopt permutes: options may also follow the workload */
	while ((c = getopt(argc, argv, "s:d:S:h")) != -1) {
		switch (c) {
		case 's':
			o->scale = bench_parse_double(optarg, "scale");
			break;
		case 'd':
			o->seconds = bench_parse_double(optarg, "duration");
			break;
		case 'S':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	return optind;
}

#endif /* KMEM_BENCH_H */
