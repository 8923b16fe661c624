// SPDX-License-Identifier: MIT
/*
 * bench/bench_exec.c - run one command and report what it cost: wall time,
 * CPU time, peak RSS and page faults of the child, from wait4().
 *
 * Usage: bench_exec [-t SECONDS] [-o FILE] [-i FILE] [-e FILE] [-r FILE]
 *                   [-C DIR] [-E NAME=VALUE]... [-U NAME]... [-a CPUS]
 *                   [--] PROGRAM [ARG...]
 *
 *   -t SECONDS  kill the command (its whole process group) after this long
 *   -i FILE     its standard input (default: /dev/null)
 *   -o FILE     its standard output (default: inherited)
 *   -e FILE     its standard error (default: inherited)
 *   -C DIR      its working directory
 *   -r FILE     where the result line goes (default: standard output)
 *   -E NAME=VAL set NAME in the command's environment (repeatable)
 *   -U NAME     remove NAME from the command's environment (repeatable)
 *   -a CPUS     run the command on these CPUs only: a list such as 0 or
 *               0,1 or 0-3 (as taskset -c takes it)
 *
 * The result is one line of key=value pairs:
 *
 *   status=exit-0 wall_s=1.234567 user_s=1.10 sys_s=0.12 maxrss_kb=12345
 *   minflt=678 majflt=0
 *
 * status is exit-N, signal-N or timeout.  The figures are the child's own
 * (getrusage of a reaped child covers the descendants it reaped itself: a
 * compiler driver's cc1 and as), so LD_PRELOAD and the like belong in the
 * child's environment, never in this program's.  Give them with -E and -U
 * (and the CPUs with -a), not as "env LD_PRELOAD=... prog" or "taskset":
 * the child is one process from fork to exit, and its figures would count
 * every program it ran before exec'ing the measured one.  env alone added
 * about 60 page faults and a millisecond to every run, which in a run of
 * a hundred faults is half the figure.  For the same reason the child's
 * environment is made before the fork: between fork and exec the child
 * only redirects, pins and execs, the same work with any options.
 * bench/run.sh runs every measurement through it.
 *
 * Exit status: 0 when the result line was written (whatever the command
 * did), 2 on a usage error or when the command could not be started.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void usage(FILE *out)
{
	fputs("usage: bench_exec [-t SECONDS] [-i FILE] [-o FILE] [-e FILE] [-C DIR]\n"
	      "                  [-r RESULT_FILE] [-E NAME=VALUE]... [-U NAME]...\n"
	      "                  [-a CPUS] [--] PROGRAM [ARG...]\n"
	      "Runs PROGRAM and prints: status= wall_s= user_s= sys_s= maxrss_kb= minflt= majflt=\n",
	      out);
}

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "bench_exec: %s%s%s: %s\n", what, arg ? " " : "",
		arg ? arg : "", strerror(errno));
	exit(2);
}

/* In the child: put @path on @fd, or die (status 127, seen by the parent). */
static void redirect(const char *path, int fd, int flags)
{
	int f;

	if (!path)
		return;
	f = open(path, flags, 0644);
	if (f < 0 || dup2(f, fd) < 0) {
		fprintf(stderr, "bench_exec: %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (f != fd)
		close(f);
}

/*
 * parse_cpus - a CPU list as taskset -c takes it ("0", "0,2", "0-3,6")
 * into @set.  Return: 0, or -1 when @list is not one.
 */
static int parse_cpus(const char *list, cpu_set_t *set)
{
	const char *p = list;

	CPU_ZERO(set);
	for (;;) {
		unsigned long lo, hi;
		char *end;

		if (*p < '0' || *p > '9')
			return -1;
		lo = hi = strtoul(p, &end, 10);
		p = end;
		if (*p == '-') {
			if (p[1] < '0' || p[1] > '9')
				return -1;
			hi = strtoul(p + 1, &end, 10);
			p = end;
		}
		if (lo > hi || hi >= CPU_SETSIZE)
			return -1;
		for (; lo <= hi; lo++)
			CPU_SET(lo, set);
		if (!*p)
			return 0;
		if (*p++ != ',')
			return -1;
	}
}

/*
 * The command's environment: ours with the edits of -E and -U applied, in
 * their order.  Each of @edits is the option's letter followed by its
 * argument ("EA=1", "UB").  Built here, before the fork, so that the child
 * does nothing between fork and exec that depends on the options: setenv()
 * in the child allocated and wrote the copied heap, 8 page faults that
 * every run with -E (each preloaded allocator's, not glibc's) was charged
 * for.  The strings are ours and the child's alike; the array is new.
 */
static char **build_env(char **edits, int n)
{
	size_t count = 0, len;
	char **env;

	while (environ[count])
		count++;
	env = calloc(count + (size_t)n + 1, sizeof(*env));
	if (!env)
		die("calloc", NULL);
	memcpy(env, environ, count * sizeof(*env));
	for (int i = 0; i < n; i++) {
		const char *arg = edits[i] + 1;
		size_t j = 0, k = 0;

		len = strcspn(arg, "=");
		/* Both letters remove NAME's entries; -E then adds its own. */
		for (j = 0; j < count; j++)
			if (strncmp(env[j], arg, len) || env[j][len] != '=')
				env[k++] = env[j];
		count = k;
		if (edits[i][0] == 'E')
			env[count++] = (char *)arg;
		env[count] = NULL;
	}
	return env;
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	const char *in = "/dev/null", *out = NULL, *err = NULL, *dir = NULL;
	const char *result = NULL;
	struct timespec t0, t1;
	struct sigaction sa;
	struct itimerval it;
	char status[32], **edits, **env;
	cpu_set_t cpus;
	bool pin = false;
	int nedits = 0;
	double limit = 0;
	struct rusage ru;
	FILE *rf = stdout;
	char *end;
	pid_t pid;
	int c, st;

	edits = calloc((size_t)argc, sizeof(*edits));
	if (!edits)
		die("calloc", NULL);
	while ((c = getopt(argc, argv, "+t:i:o:e:C:r:E:U:a:h")) != -1) {
		switch (c) {
		case 'E':
		case 'U':
			if ((c == 'E' && (!strchr(optarg, '=') || *optarg == '=')) ||
			    (c == 'U' && (!*optarg || strchr(optarg, '=')))) {
				fprintf(stderr, "bench_exec: bad -%c '%s'\n", c,
					optarg);
				return 2;
			}
			/* Applied in order by build_env(), before the fork. */
			edits[nedits] = malloc(strlen(optarg) + 2);
			if (!edits[nedits])
				die("malloc", NULL);
			edits[nedits][0] = (char)c;
			strcpy(edits[nedits] + 1, optarg);
			nedits++;
			break;
		case 'a':
			if (parse_cpus(optarg, &cpus)) {
				fprintf(stderr, "bench_exec: bad -a '%s'\n",
					optarg);
				return 2;
			}
			pin = true;
			break;
		case 't':
			errno = 0;
			limit = strtod(optarg, &end);
			if (errno || end == optarg || *end || limit <= 0) {
				fprintf(stderr, "bench_exec: bad -t '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'i':
			in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'e':
			err = optarg;
			break;
		case 'C':
			dir = optarg;
			break;
		case 'r':
			result = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (result) {
		rf = fopen(result, "w");
		if (!rf)
			die("cannot write", result);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: wait4 returns EINTR */
	sigaction(SIGALRM, &sa, NULL);

	env = build_env(edits, nedits);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		die("fork", NULL);
	if (pid == 0) {
		setpgid(0, 0);	/* a group of its own, killed whole on timeout */
		redirect(in, STDIN_FILENO, O_RDONLY);
		redirect(out, STDOUT_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
		redirect(err, STDERR_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
		if (pin && sched_setaffinity(0, sizeof(cpus), &cpus)) {
			fprintf(stderr, "bench_exec: -a: %s\n", strerror(errno));
			_exit(127);
		}
		if (dir && chdir(dir)) {
			fprintf(stderr, "bench_exec: cd %s: %s\n", dir,
				strerror(errno));
			_exit(127);
		}
		execvpe(argv[optind], argv + optind, env);
		fprintf(stderr, "bench_exec: %s: %s\n", argv[optind],
			strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);	/* also here: no race with the kill below */
	if (limit > 0) {
		memset(&it, 0, sizeof(it));
		it.it_value.tv_sec = (time_t)limit;
		it.it_value.tv_usec =
			(suseconds_t)((limit - (double)(time_t)limit) * 1e6);
		/* again every second: a kill is never missed for want of EINTR */
		it.it_interval.tv_sec = 1;
		setitimer(ITIMER_REAL, &it, NULL);
	}
	for (;;) {
		if (wait4(pid, &st, 0, &ru) == pid)
			break;
		if (errno != EINTR)
			die("wait4", NULL);
		if (timed_out)
			kill(-pid, SIGKILL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	if (timed_out)
		snprintf(status, sizeof(status), "timeout");
	else if (WIFEXITED(st))
		snprintf(status, sizeof(status), "exit-%d", WEXITSTATUS(st));
	else
		snprintf(status, sizeof(status), "signal-%d", WTERMSIG(st));
	fprintf(rf, "status=%s wall_s=%.6f user_s=%.3f sys_s=%.3f maxrss_kb=%ld minflt=%ld majflt=%ld\n",
		status,
		(double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		tv_s(&ru.ru_utime), tv_s(&ru.ru_stime), ru.ru_maxrss,
		ru.ru_minflt, ru.ru_majflt);
	if (fclose(rf))
		die("writing the result", result);
	return 0;
}
