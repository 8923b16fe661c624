// SPDX-License-Identifier: MIT
/*
 * tests/preload/refaults.c - no page of kmem's is faulted in twice.
 *
 * A page of a private anonymous mapping that is read before it is ever
 * written maps the kernel's shared zero page; the first write then
 * faults again to give it a page of its own.  Two faults for one page:
 * kmem's tables are written where they were just looked up (a profile
 * sample's stack cache, stack index and address hashes; KFENCE's slot
 * records and free FIFO), so every page of them was faulted twice
 * (Documentation/performance.md, "Pages faulted twice").
 *
 * The child warms up (kmem started, the paths to be measured run once,
 * every read-only file page of the process read in, so that no code or
 * constant faults later), records which pages of the process are
 * present and its minor faults, runs the measured phase, and again
 * (tests/pagemap.h).  Every fault of the measured phase must then have
 * brought in a page that was not present before: it prints the faults
 * and the new pages, and the driver fails if the faults are more.
 *
 * - "profile" (KMEM_PROFILE_RATE=1: every allocation sampled): from 100
 *   call stacks and 1,100 live samples (the address hash grown once, to
 *   8 pages) to 400 stacks and 9,000 live samples (grown again, to 64
 *   pages): new pages of the stack cache, the stack index and the hash.
 *   (A table that grows and is replaced within the measured phase would
 *   take its faulted pages with it: the first entries of the hashes,
 *   made by allocations before main() here, are test_profile's
 *   test_profile_tables_faulted_once.)
 * - "kfence" (KMEM_KFENCE_SAMPLE_INTERVAL=-1: every allocation guarded
 *   while a slot is free): one guarded object live, then 8 more
 *   allocated and all 8 freed: KFENCE's first frees (its FIFO's page)
 *   and new pages of its slot records.  A freed guarded object's page is
 *   given back at once (kfence.md): its fault brought a page that is
 *   gone again, so the child counts those 8 pages as new when they are
 *   absent from both records.
 *
 * The children run with KMEM_DECAY_MS at an hour and no reaper
 * (KMEM_BACKGROUND=0): a page given back and faulted in again, or a page
 * of a mapping made where one unmapped meanwhile had present pages
 * (the reaper's stack, where the hash's replaced table was), would count
 * as a fault without a new page.
 * The driver also runs the profile child without kmem, as a check of the
 * method: glibc's malloc writes before it reads.
 *
 * Usage: refaults LIB                      (driver)
 *        refaults --child profile|kfence   (prints "faults F new N")
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../pagemap.h"

#define MAX_PRESENT	(1UL << 19)

/* Present page numbers, ascending. */
static unsigned long before[MAX_PRESENT], after[MAX_PRESENT];

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* ---- the profile child ----------------------------------------------- */

#define SITES		20
#define LIVE_WARM	1100
#define LIVE_END	9000

static void *live[LIVE_END];
static unsigned long nr_live;

/*
 * SITES allocation sites, each a function of its own (a distinct return
 * address), called at recursion depths 0..19: 400 call stacks.
 */
#define SITE(n)								\
	static __attribute__((noinline, noclone)) void site_##n(void)	\
	{								\
		char *p = malloc(24 + 8 * (n));				\
									\
		if (!p)							\
			exit(2);					\
		p[0] = (char)(n);					\
		live[nr_live++] = p;					\
		__asm__ __volatile__("" ::: "memory");			\
	}
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7) SITE(8)
SITE(9) SITE(10) SITE(11) SITE(12) SITE(13) SITE(14) SITE(15) SITE(16)
SITE(17) SITE(18) SITE(19)

static void (*const sites[SITES])(void) = {
	site_0, site_1, site_2, site_3, site_4, site_5, site_6, site_7,
	site_8, site_9, site_10, site_11, site_12, site_13, site_14, site_15,
	site_16, site_17, site_18, site_19,
};

static __attribute__((noinline, noclone)) void at_depth(unsigned int d,
							 unsigned int site)
{
	if (d)
		at_depth(d - 1, site);
	else
		sites[site]();
	__asm__ __volatile__("" ::: "memory");
}

/* Stacks of depths [d0, d1) at every site, then live samples to @upto. */
static void profile_phase(unsigned int d0, unsigned int d1, unsigned long upto)
{
	for (unsigned int d = d0; d < d1; d++)
		for (unsigned int s = 0; s < SITES; s++)
			at_depth(d, s);
	while (nr_live < upto)
		at_depth(0, (unsigned int)(nr_live % SITES));
}

/* ---- the kfence child ------------------------------------------------ */

#define GUARDED		8

static void *guarded[GUARDED];

static void kfence_phase(void)
{
	for (int i = 0; i < GUARDED; i++) {
		guarded[i] = malloc(64);
		if (!guarded[i])
			exit(2);
		memset(guarded[i], 1, 64);
	}
	for (int i = 0; i < GUARDED; i++)
		free(guarded[i]);
}

static int child(const char *mode)
{
	bool kfence = !strcmp(mode, "kfence");
	unsigned long nb, na, fresh;
	long f0, f1;
	void *keep;

	/* Warm up: kmem started, the measured paths run once. */
	free(malloc(16));
	keep = malloc(64);	/* guarded in the kfence child */
	if (!keep)
		return 2;
	if (!kfence)
		profile_phase(0, 5, LIVE_WARM);
	pm_prepare(before, after, MAX_PRESENT);
	nb = pm_snapshot(before, MAX_PRESENT);
	f0 = minor_faults();

	if (kfence)
		kfence_phase();
	else
		profile_phase(5, 20, LIVE_END);

	f1 = minor_faults();
	na = pm_snapshot(after, MAX_PRESENT);
	fresh = pm_fresh(before, nb, after, na);
	/* Each freed guarded object's page came in and went back. */
	for (int i = 0; kfence && i < GUARDED; i++) {
		unsigned long pg = (unsigned long)guarded[i] / PM_PAGE;

		if (!pm_in_set(before, nb, pg) && !pm_in_set(after, na, pg))
			fresh++;
	}
	printf("faults %ld new %lu\n", f1 - f0, fresh);
	free(keep);
	return 0;
}

/* ---- the driver ------------------------------------------------------ */

/* Run the @mode child with KMEM_PROFILE_RATE=@rate and KFENCE's @interval. */
static int run(const char *lib, const char *mode, const char *rate,
	       const char *interval)
{
	int fds[2], status;
	char out[256] = "";
	long faults = -1;
	unsigned long fresh = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return 2;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (lib)
			setenv("LD_PRELOAD", lib, 1);
		setenv("KMEM_PROFILE_RATE", rate, 1);
		setenv("KMEM_KFENCE_SAMPLE_INTERVAL", interval, 1);
		/* Nothing given back (and faulted in again) meanwhile. */
		setenv("KMEM_DECAY_MS", "3600000", 1);
		/*
		 * No reaper either: its stack, mapped meanwhile where a
		 * hash's old table was (present before, unmapped by the
		 * growth), faulted pages that counted as not new.
		 */
		setenv("KMEM_BACKGROUND", "0", 1);
		execl("/proc/self/exe", "refaults", "--child", mode, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (n > 0)
		out[n] = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) ||
	    sscanf(out, "faults %ld new %lu", &faults, &fresh) != 2) {
		fprintf(stderr, "refaults: %s child (%s) failed: %s\n", mode,
			lib ? "kmem" : "glibc", out);
		return 1;
	}
	printf("%s child, %s: %ld faults, %lu new pages\n", mode,
	       lib ? "kmem" : "glibc", faults, fresh);
	if ((unsigned long)faults > fresh) {
		printf("FAIL: %ld faults brought no new page (a page read before "
		       "it was first written: two faults for it)\n",
		       faults - (long)fresh);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int ret = 0;

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: refaults LIB\n");
		return 2;
	}
	ret |= run(NULL, "profile", "1", "0");
	ret |= run(argv[1], "profile", "1", "0");
	ret |= run(argv[1], "kfence", "0", "-1");
	return ret;
}
