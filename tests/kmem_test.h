/* SPDX-License-Identifier: MIT */
/*
 * tests/kmem_test.h - helpers shared by the Check suites.
 *
 * Every suite runs each test in its own forked process (Check's default),
 * and the runner itself never calls kmem: so each test starts with kmem
 * uninitialised and may set KMEM_* variables before its first call.
 *
 *   expect_abort(fn, arg, "text")  run fn(arg) in a child; it must die of
 *                                  SIGABRT having printed "text" on stderr
 *   stderr_capture_begin/end()     collect what kmem prints (reports that
 *                                  do not abort) into a buffer
 *   rss_bytes()                    the process's resident set
 *   test_rand()                    a seeded xorshift, for repeatable runs
 */
#ifndef KMEM_TEST_H
#define KMEM_TEST_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t test_seed = 0x9e3779b97f4a7c15ULL;

static inline void test_srand(uint64_t seed)
{
	test_seed = seed ? seed : 1;
}

static inline uint64_t test_rand(void)
{
	uint64_t x = test_seed;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return test_seed = x;
}

/* Run fn(arg) in a child; assert SIGABRT and @needle in its stderr. */
static inline void expect_abort_at(void (*fn)(void *), void *arg,
				   const char *needle, const char *file,
				   int line)
{
	char buf[8192];
	ssize_t n, total = 0;
	int pfd[2], status;
	pid_t pid;

	ck_assert_msg(!pipe(pfd), "pipe");
	pid = fork();
	ck_assert_msg(pid >= 0, "fork");
	if (!pid) {
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		signal(SIGABRT, SIG_DFL);
		fn(arg);
		_exit(0);	/* did not abort */
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf + total, sizeof(buf) - 1 - total)) > 0)
		total += n;
	buf[total] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		      "%s:%d: expected SIGABRT, got status %#x; stderr: %s",
		      file, line, status, buf);
	ck_assert_msg(strstr(buf, needle), "%s:%d: stderr lacks \"%s\": %s",
		      file, line, needle, buf);
}

#define expect_abort(fn, arg, needle) \
	expect_abort_at(fn, arg, needle, __FILE__, __LINE__)

/* Redirect stderr into a memory file; *_end() returns what was written. */
static int saved_stderr = -1, capture_fd = -1;
static char capture_buf[1 << 16];

static inline void stderr_capture_begin(void)
{
	capture_fd = memfd_create("stderr-capture", 0);
	ck_assert_int_ge(capture_fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	dup2(capture_fd, STDERR_FILENO);
}

static inline const char *stderr_capture_end(void)
{
	ssize_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	lseek(capture_fd, 0, SEEK_SET);
	n = read(capture_fd, capture_buf, sizeof(capture_buf) - 1);
	capture_buf[n > 0 ? n : 0] = '\0';
	close(capture_fd);
	return capture_buf;
}

static inline long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

/* Does madvise(MADV_POPULATE_WRITE) work here (Linux 5.14 and later)? */
static inline bool populate_supported(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ok;

	ck_assert_ptr_ne(p, MAP_FAILED);
	ok = madvise(p, 4096, 23 /* MADV_POPULATE_WRITE */) == 0;
	munmap(p, 4096);
	return ok;
}

static inline void fill(void *p, size_t n, unsigned char v)
{
	memset(p, v, n);
}

static inline int all_bytes(const void *p, size_t n, unsigned char v)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != v)
			return 0;
	return 1;
}

static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Minor page faults of the process so far. */
static inline long minor_faults(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_minflt;
}

#endif /* KMEM_TEST_H */
