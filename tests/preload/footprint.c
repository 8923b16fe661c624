// SPDX-License-Identifier: MIT
/*
 * tests/preload/footprint.c - kmem's fixed footprint, in pages, against
 * glibc's (issue 14, item 5).
 *
 * A small program's start: a few allocations of the sizes a command-line
 * tool makes first (a path, a line, a buffer), then nothing.  The child
 * counts the resident pages of the memory an allocator can own: private
 * anonymous mappings (kmem's sections, descriptor arrays, statistics twin
 * and .bss; glibc's heap and arenas) and the published statistics memfd,
 * from /proc/self/smaps, read with system calls into a static buffer
 * whose mapping is not counted (the longer the text, the more of it is
 * touched), and the pages of the preloaded library's own writable
 * mappings that the process wrote (Private_Dirty: relocated data, written
 * variables; at most LIBRARY_PAGES of them).  Other file-backed pages
 * (code, clean data, the other libraries' .data) and the stack are left
 * out: they depend on the page cache and on the kernel's fault-around,
 * not on the allocator's choices.
 *
 * The driver runs the child twice, plainly (glibc's malloc) and with
 * LD_PRELOAD=LIB, and fails if kmem's count exceeds glibc's by more than
 * BOUND pages, printing both breakdowns, if free(NULL) took a page
 * fault under kmem (the child counts its minor faults around one), or if
 * kmem called libc's clock_gettime() (the program defines its own, which
 * counts the calls: kmem reads the clock through the vDSO, as libc's
 * function does, because libc's function lies in a part of libc's code a
 * small program may not run otherwise, 64 KiB of it mapped around the
 * call: core/printk.c).  Page
 * counts of one program are deterministic (no time, no threads), so the
 * bound can be tight: it is what kmem needs today plus two pages
 * (Documentation/performance.md, "Fixed footprint", has the breakdown).
 *
 * The second driver, --profile, holds the profiler's share of it: the
 * same count after a churn of small blocks (a ring of 4096 live ones,
 * 2,000,000 replaced, 16-256 bytes) that thousands of samples come and
 * go in, with profiling on at a rate that samples every 64 KiB and off,
 * both under kmem.  Its tables are mapped at start-up and cost memory as
 * their pages are first written: a hash of the sampled addresses sized
 * for a million live samples had a page written for nearly every
 * sample's bucket (100 pages here), where a few live samples need one.
 *
 * The third driver, --libraries, holds the file-backed part that comes
 * with kmem's dependencies: after the churn, with profiling on at a rate
 * that samples every 4 KiB (so the unwinder and the sampler's arithmetic
 * run), a process under kmem may map no shared library that it does not
 * map under glibc, but kmem's own.  Each library a process loads costs
 * it the pages the loader and the fault-around touch: 128 KiB for
 * libgcc_s.so.1 (the unwinder, now linked statically), up to 236 KiB for
 * libm.so.6 (the sampler's tables and exponentials, now constants and
 * buddy/prof_math.h) in malloc_bench pairs 64, and about 80 KiB and 8
 * page faults for liburcu.so.8 (now found when RCU is used, not linked:
 * slab/rcu.c).
 *
 * The fourth driver, --text, holds the pages of kmem's own code that a
 * small program maps: after the churn (profile samples included, so the
 * unwinder runs) and the small program's allocations, the pages of the
 * library's executable mapping present in the process's page table
 * (/proc/self/pagemap).  The kernel maps a file's pages 64 KiB of
 * addresses at a time around a fault (fault-around), so a program that
 * runs a function in each part of the code has all of it resident.  The
 * library is linked with its segments aligned to 64 KiB (the loader maps
 * it at such a boundary, the windows fall at fixed places in the file)
 * and with the functions ordinary processes run first
 * (cmake/kmem-hot.ld, made by tools/hot-text.py): the child must find
 * the library's base 64 KiB-aligned and at most BOUND pages present (it
 * reports in how many of the code's windows too; a build whose whole
 * code fits in the bound, at -Os, passes with every window mapped).  Before, every page of
 * it was present (45 of 45 in a Release build), in `ls -l` and in this
 * child alike.  The bound depends on the kernel mapping 64 KiB around a
 * fault (its default; less is fine).
 *
 * Usage: footprint LIB BOUND           (driver)
 *        footprint --profile LIB BOUND (driver: profiling on over off)
 *        footprint --libraries LIB     (driver: the shared libraries)
 *        footprint --text LIB BOUND    (driver: the library's code)
 *        footprint --child [--churn]   (one count; prints "pages N" and
 *                                       the mappings it counted)
 *        footprint --child-libraries   (prints the libraries mapped)
 *        footprint --child-text        (prints the code's pages)
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pin.h"

static char smaps[1 << 20];

/* Private pages of the library's own writable mappings, at most. */
#define LIBRARY_PAGES	2

/*
 * The process's clock_gettime(), ahead of libc's (the executable exports
 * it: tests/preload/CMakeLists.txt): counts the calls, then asks the
 * kernel.  The program itself never calls it.
 */
static unsigned long libc_clock_calls;

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	__atomic_add_fetch(&libc_clock_calls, 1, __ATOMIC_RELAXED);
	return (int)syscall(SYS_clock_gettime, clk, ts);
}

#define CHURN_RING	4096
#define CHURN_STEPS	2000000

/* Replace the oldest of CHURN_RING live blocks, CHURN_STEPS times. */
static int churn(void)
{
	static char *ring[CHURN_RING];
	unsigned long x = 1;

	for (unsigned long i = 0; i < CHURN_STEPS; i++) {
		size_t size;

		x = x * 6364136223846793005UL + 1442695040888963407UL;
		size = 16 + (x >> 56);	/* 16..271 */
		free(ring[i % CHURN_RING]);
		ring[i % CHURN_RING] = malloc(size);
		if (!ring[i % CHURN_RING])
			return 2;
		ring[i % CHURN_RING][0] = 1;
	}
	return 0;
}

/* Read @path (a /proc file) into smaps[], without malloc; 0 or -1. */
static int read_proc(const char *path)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((n = read(fd, smaps + len, sizeof(smaps) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	smaps[len] = '\0';
	return 0;
}

/*
 * A small program's first allocations, the sizes a command-line tool
 * makes first (a path, a line, a buffer), each written; the fourth freed.
 * Return: 0, or 2 if one failed.
 */
static int small_program(void)
{
	static const size_t sizes[] = { 24, 100, 32, 1000, 64, 4000 };
	static char *keep[sizeof(sizes) / sizeof(sizes[0])];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		keep[i] = malloc(sizes[i]);
		if (!keep[i])
			return 2;
		memset(keep[i], 1, sizes[i]);
	}
	free(keep[3]);
	return 0;
}

/* The child: allocate like a small program, count, report on stdout. */
static int child(bool with_churn)
{
	char out[8192];
	size_t olen = 0;
	unsigned long total_kb = 0, map_kb = 0, lib_kb = 0;
	char name[160] = "";
	const char *preload = getenv("LD_PRELOAD");
	char lib[PATH_MAX] = "";
	bool counted = false, lib_map = false;
	void *volatile nothing = NULL;	/* a free(NULL) GCC cannot drop */
	struct rusage before, after;

	/*
	 * Stay on one CPU, so that the count is the same on a busy machine: a
	 * thread that migrates while it allocates sets up a second CPU's
	 * magazines (their slots, the magazines' slabs, the CPU's statistics
	 * unit), 30 pages more in one churn run in 25 beside three CPU burners.
	 */
	pin_to_this_cpu();
	if ((with_churn && churn()) || small_program())
		return 2;
	/* Programs free NULL all the time: it must touch no page. */
	getrusage(RUSAGE_SELF, &before);
	free(nothing);
	getrusage(RUSAGE_SELF, &after);
	/* The mappings name the file, not a symbolic link to it. */
	if (preload && *preload && !realpath(preload, lib))
		return 2;
	if (read_proc("/proc/self/smaps"))
		return 2;

	for (char *line = smaps, *next; *line; line = next) {
		unsigned long kb;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (sscanf(line, lib_map ? "Private_Dirty: %lu kB" :
					   "Rss: %lu kB", &kb) == 1) {
			if (counted)
				map_kb = kb;
			continue;
		}
		if (!strncmp(line, "VmFlags:", 8)) {
			if (counted && map_kb) {
				total_kb += map_kb;
				if (lib_map)
					lib_kb += map_kb;
				olen += (size_t)snprintf(out + olen,
							 sizeof(out) - olen,
							 "  %5lu kB %s\n",
							 map_kb, name);
				if (olen >= sizeof(out))
					olen = sizeof(out) - 1;
			}
			map_kb = 0;
			continue;
		}
		/* A mapping's header: "start-end perms offset dev inode [path]" */
		if (strchr(line, '-') &&
		    strchr(line, '-') < strchr(line, ' ')) {
			char hdr[256], perms[8] = "", path[128] = "";
			size_t hlen = (size_t)(next - line);
			unsigned long start, end;

			/* One line: sscanf would read on past its end. */
			if (hlen >= sizeof(hdr))
				hlen = sizeof(hdr) - 1;
			memcpy(hdr, line, hlen);
			hdr[hlen] = '\0';
			if (sscanf(hdr, "%lx-%lx %7s %*s %*s %*s %127[^\n]",
				   &start, &end, perms, path) < 3)
				continue;
			/*
			 * The allocator library's own writable pages that
			 * the process wrote (relocated pointers, written
			 * variables): private copies, paid by every process.
			 * Its clean pages are the page cache's, left out.
			 */
			lib_map = *lib && perms[1] == 'w' &&
				  !strcmp(path, lib);
			counted = (path[0] == '\0' && perms[0] == 'r') ||
				  !strcmp(path, "[heap]") ||
				  strstr(path, "memfd:kmem-stats") || lib_map;
			/*
			 * Not this program's .bss, where the text is read:
			 * the longer kmem's smaps, the more pages it touches.
			 */
			if (start <= (unsigned long)smaps &&
			    (unsigned long)smaps < end)
				counted = false;
			snprintf(name, sizeof(name), "%lx %s %s", start, perms,
				 path[0] ? path : "[anon]");
		}
	}
	printf("pages %lu\nlibrary %lu\nfree_null_faults %ld\nlibc_clock_calls %lu\n%s",
	       total_kb / 4, lib_kb / 4, after.ru_minflt - before.ru_minflt,
	       __atomic_load_n(&libc_clock_calls, __ATOMIC_RELAXED), out);
	return 0;
}

/* The child of --libraries: churn, then print each shared object mapped. */
static int libraries_child(void)
{
	char seen[8192] = "\n";

	if (churn() || read_proc("/proc/self/maps"))
		return 2;
	for (char *line = smaps, *next; *line; line = next) {
		char *path = strchr(line, '/'), key[300];

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (!path || path > next)
			continue;
		snprintf(key, sizeof(key), "%.*s\n", (int)(next - path - 1),
			 path);
		if (!strstr(key, ".so") || strstr(seen, key) ||
		    strlen(seen) + strlen(key) >= sizeof(seen))
			continue;
		strcat(seen, key);
		fputs(key, stdout);
	}
	return 0;
}

/*
 * Run this program as the child, with @preload or none, and @rate as
 * KMEM_PROFILE_RATE if not NULL (then after the churn); its page count.
 */
static long run_child_as(const char *self, const char *mode,
			 const char *preload, const char *rate, char *report,
			 size_t size);

static long run_child(const char *self, const char *preload,
		      const char *rate, char *report, size_t size)
{
	return run_child_as(self, "--child", preload, rate, report, size);
}

/* The same with the child's @mode; -1 if it failed, else its count. */
static long run_child_as(const char *self, const char *mode,
			 const char *preload, const char *rate, char *report,
			 size_t size)
{
	int pipefd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	long pages = -1;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		if (rate) {
			setenv("KMEM_PROFILE_RATE", rate, 1);
			setenv("KMEM_PROFILE_SEED", "1", 1);
		}
		execl(self, self, mode, rate ? "--churn" : NULL,
		      (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while (len < size - 1 &&
	       (n = read(pipefd[0], report + len, size - 1 - len)) > 0)
		len += (size_t)n;
	report[len] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	if (strcmp(mode, "--child"))
		return 0;
	if (sscanf(report, "pages %ld", &pages) != 1)
		return -1;
	return pages;
}

/* The windows of addresses the kernel maps around a fault (its default). */
#define FAULT_AROUND	(64 * 1024UL)

/*
 * The child of --text: run like a small program, then print how many
 * pages of the preloaded library's executable mapping are present, in
 * how many of its FAULT_AROUND windows, and whether the library's base
 * (the mapping's start less its file offset) is FAULT_AROUND-aligned.
 */
static int text_child(void)
{
	unsigned long start = 0, end = 0, offset = 0, pages = 0, present = 0;
	unsigned long windows = 0, touched = 0;
	const char *preload = getenv("LD_PRELOAD");
	char lib[PATH_MAX];
	int fd;

	pin_to_this_cpu();
	if (churn() || small_program())
		return 2;
	if (!preload || !realpath(preload, lib) ||
	    read_proc("/proc/self/maps"))
		return 2;
	for (char *line = smaps, *next; *line; line = next) {
		char perms[8], path[PATH_MAX];
		unsigned long s, e, o;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095[^\n]", &s, &e,
			   perms, &o, path) == 5 && !strcmp(path, lib) &&
		    perms[2] == 'x') {
			start = s;
			end = e;
			offset = o;
			break;
		}
	}
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (!start || fd < 0)
		return 2;
	for (unsigned long a = start, w = ~0UL, hit = ~0UL; a < end;
	     a += 4096) {
		uint64_t entry;

		if (pread(fd, &entry, sizeof(entry),
			  (off_t)(a / 4096 * sizeof(entry))) != sizeof(entry))
			return 2;
		pages++;
		if (a / FAULT_AROUND != w) {
			w = a / FAULT_AROUND;
			windows++;
		}
		if (entry >> 63) {
			present++;
			if (hit != w) {
				hit = w;
				touched++;
			}
		}
	}
	close(fd);
	printf("pages %lu of %lu\nbase %lx (%s)\n", present, pages,
	       start - offset, (start - offset) % FAULT_AROUND ?
	       "not aligned" : "aligned");
	printf("windows %lu of %lu\n", touched, windows);
	return 0;
}

/* --text LIB BOUND: the library's code that a small program maps. */
static int text_driver(const char *lib, long bound)
{
	static char report[4096];
	unsigned long present, pages, touched, windows;
	const char *w;

	if (run_child_as("/proc/self/exe", "--child-text", lib, NULL, report,
			 sizeof(report)) < 0 ||
	    sscanf(report, "pages %lu of %lu", &present, &pages) != 2 ||
	    !(w = strstr(report, "windows ")) ||
	    sscanf(w, "windows %lu of %lu", &touched, &windows) != 2) {
		printf("FAIL: the child failed\n%s", report);
		return 1;
	}
	printf("%s(bound %ld pages)\n", report, bound);
	if (strstr(report, "not aligned")) {
		printf("FAIL: the library is not mapped at a 64 KiB boundary (linked without -z max-page-size=0x10000?)\n");
		return 1;
	}
	if ((long)present > bound) {
		printf("FAIL: %lu pages of kmem's code in %lu of its %lu windows: a function ordinary processes run is placed with the cold code; run tools/hot-text.py (Documentation/performance.md, \"Fixed footprint: kmem's code\")\n",
		       present, touched, windows);
		return 1;
	}
	return 0;
}

/* Is @lib, a line of a child's report, one that kmem may bring along? */
static bool kmem_library(const char *lib, const char *kmem)
{
	const char *base = strrchr(lib, '/'), *kbase = strrchr(kmem, '/');

	base = base ? base + 1 : lib;
	kbase = kbase ? kbase + 1 : kmem;
	return !strncmp(base, kbase, strcspn(kbase, "."));
}

/* --libraries LIB: no shared library but kmem's own. */
static int libraries_driver(const char *lib)
{
	static char glibc_report[8192], kmem_report[8192];
	int extra = 0;

	if (run_child_as("/proc/self/exe", "--child-libraries", NULL, "4096",
			 glibc_report, sizeof(glibc_report)) < 0 ||
	    run_child_as("/proc/self/exe", "--child-libraries", lib, "4096",
			 kmem_report, sizeof(kmem_report)) < 0) {
		printf("FAIL: a child failed\n");
		return 1;
	}
	printf("glibc:\n%skmem:\n%s", glibc_report, kmem_report);
	for (char *l = kmem_report, *next; *l; l = next) {
		char key[300];

		next = strchr(l, '\n');
		next = next ? next + 1 : l + strlen(l);
		snprintf(key, sizeof(key), "%.*s", (int)(next - l), l);
		if (strstr(glibc_report, key) || kmem_library(key, lib))
			continue;
		printf("FAIL: kmem brings %s", key);
		extra++;
	}
	return extra ? 1 : 0;
}

/* --profile LIB BOUND: the profiler's pages after the churn. */
static int profile_driver(const char *lib, long bound)
{
	static char off_report[8192], on_report[8192];
	long off, on;

	off = run_child("/proc/self/exe", lib, "0", off_report,
			sizeof(off_report));
	on = run_child("/proc/self/exe", lib, "65536", on_report,
		       sizeof(on_report));
	printf("profiling off:\n%sprofiling on (KMEM_PROFILE_RATE=65536):\n%s",
	       off_report, on_report);
	if (off < 0 || on < 0) {
		printf("FAIL: a child failed\n");
		return 1;
	}
	printf("profiling adds %ld pages to %ld (bound %ld)\n", on - off, off,
	       bound);
	if (on - off > bound) {
		printf("FAIL: the profiler holds %ld pages after the churn, more than %ld\n",
		       on - off, bound);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char glibc_report[8192], kmem_report[8192];
	long glibc_pages, kmem_pages, bound, library = -1, faults = -1;
	long clock_calls = -1;
	const char *line;

	if (argc >= 2 && !strcmp(argv[1], "--child"))
		return child(argc == 3 && !strcmp(argv[2], "--churn"));
	if (argc >= 2 && !strcmp(argv[1], "--child-libraries"))
		return libraries_child();
	if (argc >= 2 && !strcmp(argv[1], "--child-text"))
		return text_child();
	if (argc == 4 && !strcmp(argv[1], "--text"))
		return text_driver(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "--libraries"))
		return libraries_driver(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "--profile"))
		return profile_driver(argv[2], strtol(argv[3], NULL, 10));
	if (argc != 3) {
		fprintf(stderr, "usage: footprint [--profile|--text] LIB BOUND | --libraries LIB\n");
		return 2;
	}
	bound = strtol(argv[2], NULL, 10);
	glibc_pages = run_child("/proc/self/exe", NULL, NULL, glibc_report,
				sizeof(glibc_report));
	kmem_pages = run_child("/proc/self/exe", argv[1], NULL, kmem_report,
			       sizeof(kmem_report));
	printf("glibc:\n%skmem:\n%s", glibc_report, kmem_report);
	if (glibc_pages < 0 || kmem_pages < 0) {
		printf("FAIL: a child failed\n");
		return 1;
	}
	printf("kmem adds %ld pages to glibc's %ld (bound %ld)\n",
	       kmem_pages - glibc_pages, glibc_pages, bound);
	/*
	 * Of them, the library's own: its relocated read-only data (RELRO)
	 * and the page of .data the start-up writes.  A table of pointers
	 * in .data costs a private page per 512 entries in every process:
	 * slab_cpu_table's 1024 took two more, and two page faults.
	 */
	line = strstr(kmem_report, "\nlibrary ");
	if (!line || sscanf(line + 1, "library %ld", &library) != 1 ||
	    library > LIBRARY_PAGES) {
		printf("FAIL: the library's writable mappings hold %ld private pages, more than %d\n",
		       library, LIBRARY_PAGES);
		return 1;
	}
	/*
	 * free(NULL) read the section table's zero leaf, a page nothing else
	 * reads: a page fault in every program that frees NULL (all of them).
	 */
	line = strstr(kmem_report, "\nfree_null_faults ");
	if (!line || sscanf(line + 1, "free_null_faults %ld", &faults) != 1 ||
	    faults) {
		printf("FAIL: free(NULL) took %ld page faults, not 0\n", faults);
		return 1;
	}
	/*
	 * libc's clock_gettime() lies in a 64 KiB window of libc's code
	 * that a small program may not otherwise run (on Debian 12's libc
	 * the window of __register_atfork() and getpid(), which kmem's
	 * start-up calls, or the one before, as the load address falls):
	 * kmem read its clocks there, 3-5 pages of RSS in a process on
	 * average (performance.md, "libc's clock").
	 */
	line = strstr(kmem_report, "\nlibc_clock_calls ");
	if (!line || sscanf(line + 1, "libc_clock_calls %ld",
			    &clock_calls) != 1 || clock_calls) {
		printf("FAIL: kmem called libc's clock_gettime() %ld times, not 0\n",
		       clock_calls);
		return 1;
	}
	if (kmem_pages - glibc_pages > bound) {
		printf("FAIL: kmem's fixed footprint is %ld pages over glibc's, more than %ld\n",
		       kmem_pages - glibc_pages, bound);
		return 1;
	}
	return 0;
}
