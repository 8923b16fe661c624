// SPDX-License-Identifier: MIT
/*
 * tests/preload/idle_release.c - an idle process gives its memory back,
 * every time, at the decay deadline of the reaper's own clock.
 *
 * The program of issue 11 (item 6), run RUNS times, each in a fresh
 * process under LD_PRELOAD=libkmem-malloc.so: allocate 25,000 blocks of
 * 4000 bytes (slab objects of kmalloc-4k) and 20 of 1 MiB (buddy blocks),
 * touch them, free them all, then do nothing.  Only kmem's reaper thread
 * can give the memory back: the program makes no allocator call while it
 * waits (it reads /proc/self/statm and its own statistics region, mapped
 * before, into buffers on its stack), so the release that busy processes
 * get from their own allocations cannot help.
 *
 * What is asserted, per run:
 *  - the resident set drops under 16 MiB (polled every 5 ms, for at most
 *    GIVE_UP_MS: a release that never comes fails);
 *  - the reaper pass that brought it there was the one planned for the
 *    decay deadline: the deadline it had slept toward (the statistics
 *    region's reaper_due_ms, published as a pass begins) is set, at most
 *    the last free() + KMEM_DECAY_MS (+ DUE_SLACK_MS): not lost, and not
 *    before the first free() + KMEM_DECAY_MS (- DUE_SLACK_MS): the program
 *    frees nothing before, so an earlier deadline is a block stamped with
 *    a stale clock (the zone's clock read every 64th stamp did that);
 *  - that pass began (reaper_start_ms) no earlier than the first free() +
 *    KMEM_DECAY_MS (- DUE_SLACK_MS): nothing was given back before it had
 *    stayed unused for the decay time;
 *  - once the reaper has nothing left to do (it sleeps without a
 *    deadline: reaper_next_ms 0, polled for at most GIVE_UP_MS), the
 *    resident set is under SETTLED_KB: what stays is what is in use (the
 *    CPUs' magazines, the thread's page lists, the program) and the free
 *    pages below 128 KiB pieces, not the free pieces of the blocks that
 *    hold them (buddy.md, "Pieces of split blocks": 14.2 to 18.3 MiB
 *    stayed before they went back, 3.3 to 3.5 MiB after).
 *  In the reaper's clock (CLOCK_MONOTONIC_COARSE, ms), not the test's.
 *
 * Issue 11's promise, "within KMEM_DECAY_MS + 1 s", is about a process
 * the machine runs: on a loaded 2-core machine the reaper (and this
 * program's polling) may wait for a CPU for a second and more (a bar on
 * the test's clock failed at 2184 ms at a load average of 60).  What kmem
 * decides is when the reaper wakes and what one pass does: a lost
 * deadline (the bug of issue 11: the memory stayed for tens of seconds or
 * for ever) leaves the reaper asleep without a deadline, so the memory
 * never drops, or is given back by a later pass planned for a later
 * deadline; both fail here whatever the load.  The time from the last
 * free() to the drop, on the test's clock, and the pass's lateness
 * against its deadline (load) are printed, not asserted.
 *
 * Usage: idle_release RUNS          (driver: forks and re-executes itself)
 *        idle_release --child       (one run; prints its figures)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kmem/stats.h>


/* libkmem-malloc.so's, found by ld.so in the preloaded library. */
extern int kmem_stats_fd(void) __attribute__((weak));

#define NR_SMALL	25000
#define SMALL_SIZE	4000
#define NR_LARGE	20
#define LARGE_SIZE	(1 << 20)
#define LIMIT_KB	(16 * 1024)
#define SETTLED_KB	(8 * 1024)
#define GIVE_UP_MS	60000
#define DUE_SLACK_MS	10	/* the coarse clock's tick, and rounding */

/* The reaper's clock (kmem_now_ms()). */
static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The reaper's latest pass, as the statistics region publishes it. */
struct pass {
	long passes, start, due, next;
	int in_pass;
};

/* A consistent copy of the region's reaper_* figures (buddy_seq). */
static void read_pass(const struct kmem_stats_header *h, struct pass *p)
{
	for (;;) {
		uint64_t s = __atomic_load_n(&h->buddy_seq, __ATOMIC_ACQUIRE);

		if (!(s & 1)) {
			p->passes = (long)h->reaper_passes;
			p->start = (long)h->reaper_start_ms;
			p->due = (long)h->reaper_due_ms;
			p->in_pass = h->reaper_next_ms == UINT64_MAX;
			p->next = p->in_pass ? -1 : (long)h->reaper_next_ms;
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&h->buddy_seq, __ATOMIC_RELAXED) == s)
				return;
		}
		sched_yield();
	}
}

/* Resident set in KiB, without calling the allocator. */
static long rss_kb(void)
{
	char buf[128];
	long pages = 0, rss = 0;
	ssize_t n;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%ld %ld", &pages, &rss) != 2)
		return -1;
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int child(void)
{
	static void *small[NR_SMALL], *large[NR_LARGE];
	struct timespec tick = { 0, 5 * 1000 * 1000 };
	const struct kmem_stats_header *h;
	long peak, first, last, rss, elapsed, seen, settled = -1;
	struct pass p = { 0 }, q = { 0 };
	struct stat st;
	int fd;

	/* The region, mapped before the idle part (mmap is not malloc). */
	fd = kmem_stats_fd ? kmem_stats_fd() : -1;
	if (fd < 0 || fstat(fd, &st))
		return 4;
	h = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED || h->magic != KMEM_STATS_MAGIC)
		return 4;
	/*
	 * Not pinned to a CPU: on a loaded machine the thread migrates while
	 * it allocates and frees, and what stays in use after the frees (the
	 * CPUs' magazines, the thread's page lists, the magazines' own slabs)
	 * lands in up to four 4 MiB blocks instead of one.  The free pages
	 * around them are pieces of split blocks, which the reaper gives back
	 * too once the process is idle (buddy.md, "Pieces of split blocks");
	 * before it did, RSS stayed at 19.3 MiB, over the bar, in about one
	 * run in ten beside three CPU burners, and this program pinned itself.
	 */
	for (int i = 0; i < NR_SMALL; i++) {
		small[i] = malloc(SMALL_SIZE);
		if (!small[i])
			return 2;
		memset(small[i], i, SMALL_SIZE);
	}
	for (int i = 0; i < NR_LARGE; i++) {
		large[i] = malloc(LARGE_SIZE);
		if (!large[i])
			return 2;
		memset(large[i], i, LARGE_SIZE);
	}
	peak = rss_kb();
	first = now_ms();
	for (int i = 0; i < NR_SMALL; i++)
		free(small[i]);
	for (int i = 0; i < NR_LARGE; i++)
		free(large[i]);
	last = now_ms();
	/*
	 * Idle: no allocator call from here until the verdict.  The region is
	 * read after the resident set: the pass that brought it down began
	 * before that read, so it is the latest pass begun (unless another
	 * began since, which takes a decay time: checked by its start).
	 */
	do {
		rss = rss_kb();
		seen = now_ms();
		read_pass(h, &p);
		elapsed = seen - last;
		if (rss >= 0 && rss < LIMIT_KB)
			break;
		nanosleep(&tick, NULL);
	} while (elapsed < GIVE_UP_MS);
	/*
	 * Then the end state: once a pass has ended with no deadline, nothing
	 * more will be given back; the resident set is read after that.
	 */
	do {
		read_pass(h, &q);
		if (q.passes && q.next == 0) {
			settled = rss_kb();
			break;
		}
		nanosleep(&tick, NULL);
	} while (now_ms() - last < GIVE_UP_MS);
	printf("%ld %ld %ld %ld %ld %ld %ld %d %ld %ld\n", elapsed, peak, rss,
	       first, last, p.passes, p.due, p.in_pass, p.start, settled);
	return 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *decay_env = getenv("KMEM_DECAY_MS");
	long decay = decay_env ? atol(decay_env) : 1000, times[64], late[64];
	int runs, failed = 0;

	if (argc == 2 && !strcmp(argv[1], "--child"))
		return child();
	runs = argc > 1 ? atoi(argv[1]) : 20;
	if (runs < 1 || runs > 64) {
		fprintf(stderr, "usage: idle_release RUNS (1..64)\n");
		return 2;
	}
	for (int r = 0; r < runs; r++) {
		long ms = -1, peak = 0, rss = 0, first = 0, last = 0, passes = 0;
		long due = 0, start = 0, settled = -1;
		int fds[2], status, in_pass = 0;
		const char *why = NULL;
		char out[256];
		ssize_t n;
		pid_t pid;

		if (pipe(fds))
			return 2;
		pid = fork();
		if (pid < 0)
			return 2;
		if (!pid) {
			dup2(fds[1], STDOUT_FILENO);
			close(fds[0]);
			close(fds[1]);
			execl("/proc/self/exe", argv[0], "--child", (char *)NULL);
			_exit(127);
		}
		close(fds[1]);
		n = read(fds[0], out, sizeof(out) - 1);
		close(fds[0]);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) || n <= 0) {
			fprintf(stderr, "run %d: child failed (status %d%s)\n", r,
				status, WIFEXITED(status) && WEXITSTATUS(status) == 4 ?
				": no kmem statistics region" : "");
			return 1;
		}
		out[n] = '\0';
		sscanf(out, "%ld %ld %ld %ld %ld %ld %ld %d %ld %ld", &ms, &peak,
		       &rss, &first, &last, &passes, &due, &in_pass, &start,
		       &settled);
		if (peak < 100 * 1024) {
			fprintf(stderr, "run %d: peak RSS %ld KiB: the program did not hold its memory\n",
				r, peak);
			return 1;
		}
		times[r] = ms;
		late[r] = start - due;
		if (rss >= LIMIT_KB)
			why = "never released";
		else if (!passes)
			why = "released without a reaper pass";
		else if (start > last + ms + DUE_SLACK_MS)
			why = "the release pass was not identified (a later pass began)";
		else if (!due)
			why = "the release pass had no deadline (woken by a kick: deadline lost)";
		else if (due > last + decay + DUE_SLACK_MS)
			why = "the release pass was planned after the decay deadline";
		else if (due < first + decay - DUE_SLACK_MS)
			why = "the release pass was planned before the decay time";
		else if (start < first + decay - DUE_SLACK_MS)
			why = "the release pass began before the decay time";
		else if (settled < 0)
			why = "the reaper never settled (a deadline every pass)";
		else if (settled >= SETTLED_KB)
			why = "memory kept once the reaper had nothing left to do";
		if (why) {
			printf("run %2d: FAILED: %s: RSS %ld KiB %ld ms after the last free; pass %ld planned for free+%ld ms (frees at 0..%ld ms), began at +%ld ms; settled at %ld KiB\n",
			       r, why, rss, ms, passes, due - last, last - first,
			       start - last, settled);
			failed++;
		} else {
			printf("run %2d: peak %ld KiB, under %d KiB %ld ms after the last free; pass %ld planned for free+%ld ms, began %ld ms late; settled at %ld KiB\n",
			       r, peak, LIMIT_KB, ms, passes, due - last,
			       start - due, settled);
		}
	}
	qsort(times, (size_t)runs, sizeof(times[0]), cmp_long);
	qsort(late, (size_t)runs, sizeof(late[0]), cmp_long);
	printf("idle release over %d runs (decay %ld ms): RSS down after min %ld ms, median %ld ms, max %ld ms; release pass late by min %ld, median %ld, max %ld ms: %s\n",
	       runs, decay, times[0], times[runs / 2], times[runs - 1],
	       late[0], late[runs / 2], late[runs - 1],
	       failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}
