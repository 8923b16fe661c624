// SPDX-License-Identifier: MIT
/*
 * tools/kmeminfo/run.c - "kmeminfo run [--] CMD ARGS...": run a program under
 * libkmem-malloc.so and show its caches when it exits.
 *
 * The inherited-region protocol (buddy/region.c): kmeminfo creates a memfd
 * named "kmem-stats" (MFD_ALLOW_SEALING, not close-on-exec), moves it to
 * a high descriptor so that the program still finds its low numbers free,
 * and passes the number in KMEM_STATS_FD.  The first kmem process that
 * finds a valid, unclaimed region there claims it (header.claimed_by),
 * sizes it and publishes into it; kmeminfo keeps its own descriptor, so
 * the figures survive the program's exit and are read then.  A program
 * that never starts kmem (a static or setuid binary ignores LD_PRELOAD)
 * leaves the memfd empty: kmeminfo says so.
 *
 * The library is found, in order: $KMEMINFO_LIB; relative to the
 * kmeminfo binary as the build tree lays it out (build/tools/kmeminfo/
 * ../../libkmem-malloc.so); as the install lays it out (bindir/../libdir,
 * the relative path fixed at configure time, then ../lib and ../lib64);
 * the install library directory; the build directory kmeminfo was
 * configured in.
 *
 * Exit status: CMD's (its code, or 128 + signal), whether or not figures
 * were found; 126/127 when CMD cannot be executed or is not found; 10
 * when the library is not found.  While CMD runs, kmeminfo ignores
 * SIGINT and SIGQUIT (as system() does): Ctrl-C stops CMD, and kmeminfo
 * still prints what it gathered.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kmeminfo.h"

/* The SONAME: installed by the runtime package, without the -dev link. */
#ifdef KMEMINFO_MALLOC_LIB
#define MALLOC_LIB KMEMINFO_MALLOC_LIB
#else
#define MALLOC_LIB "libkmem-malloc.so.0"
#endif

static bool lib_ok(const char *path, char *out)
{
	struct stat st;

	if (stat(path, &st) || !S_ISREG(st.st_mode) || access(path, R_OK))
		return false;
	return realpath(path, out) != NULL;
}

/* Return: KMI_OK with @out set, or KMI_NOLIB (printed). */
static int find_malloc_lib(char *out)
{
	const char *rel[] = {
#ifdef KMEMINFO_REL_BUILD_LIBDIR
		"/" KMEMINFO_REL_BUILD_LIBDIR "/" MALLOC_LIB,
#endif
#ifdef KMEMINFO_REL_LIBDIR
		"/" KMEMINFO_REL_LIBDIR "/" MALLOC_LIB,
#endif
		"/../lib/" MALLOC_LIB,
		"/../lib64/" MALLOC_LIB,
	};
	const char *abs[] = {
#ifdef KMEMINFO_LIBDIR
		KMEMINFO_LIBDIR "/" MALLOC_LIB,
#endif
#ifdef KMEMINFO_BUILD_LIBDIR
		KMEMINFO_BUILD_LIBDIR "/" MALLOC_LIB,
#endif
		NULL,
	};
	const char *env = getenv("KMEMINFO_LIB");
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n;

	if (env && *env) {
		if (lib_ok(env, out))
			return KMI_OK;
		return kmi_error(KMI_NOLIB, "run: KMEMINFO_LIB=%s: %s", env,
				 errno ? strerror(errno) : "not a readable file");
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", exe, rel[i]);
			if (lib_ok(path, out))
				return KMI_OK;
		}
	}
	for (size_t i = 0; abs[i]; i++)
		if (lib_ok(abs[i], out))
			return KMI_OK;
	return kmi_error(KMI_NOLIB,
			 "run: %s not found next to kmeminfo or in the library directory (set KMEMINFO_LIB)",
			 MALLOC_LIB);
}

/* A descriptor number high in the table, as the library uses. */
static int high_fd(int fd)
{
	struct rlimit rl;
	long cur = 1024;
	int nfd;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		cur = (long)rl.rlim_cur;
	if (cur > 1024)
		cur = 1024;
	nfd = fcntl(fd, F_DUPFD, (int)(cur - cur / 4));
	if (nfd < 0)
		return fd;
	close(fd);
	return nfd;
}

static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;
	int ret;

	if (old && *old) {
		if (asprintf(&val, "%s:%s", lib, old) < 0)
			return -1;
	} else {
		val = strdup(lib);
		if (!val)
			return -1;
	}
	ret = setenv("LD_PRELOAD", val, 1);
	free(val);
	return ret;
}

/* SIGINT and SIGQUIT as they were before kmeminfo ignored them. */
static struct sigaction saved_int, saved_quit;

static void ignore_terminal_signals(void)
{
	struct sigaction ign;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &saved_int);
	sigaction(SIGQUIT, &ign, &saved_quit);
}

static void restore_terminal_signals(void)
{
	sigaction(SIGINT, &saved_int, NULL);
	sigaction(SIGQUIT, &saved_quit, NULL);
}

/* In the child: signals, environment, then exec; errno on @err_fd. */
static void __attribute__((noreturn))
child_exec(char **cmd, const char *lib, int region_fd, int err_fd)
{
	char num[16];
	int err;

	/* An ignored signal stays ignored across exec: give CMD its own. */
	restore_terminal_signals();
	snprintf(num, sizeof(num), "%d", region_fd);
	if (setenv("KMEM_STATS_FD", num, 1) || set_preload(lib)) {
		err = errno;
	} else {
		execvp(cmd[0], cmd);
		err = errno;
	}
	if (write(err_fd, &err, sizeof(err)) < 0)
		_exit(KMI_NOTFOUND);
	_exit(err == ENOENT ? KMI_NOTFOUND : KMI_CANTEXEC);
}

static int wait_child(pid_t pid, int *status)
{
	pid_t r;

	do {
		r = waitpid(pid, status, 0);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static int print_figures(int region_fd, const char *cmd, bool json,
			 const char *output)
{
	struct kmi_snapshot snap;
	struct kmi_source src;
	char comm[64];
	FILE *out = stdout;
	int ret;

	snprintf(comm, sizeof(comm), "%s",
		 strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd);
	ret = kmi_source_open_fd(&src, region_fd, comm);
	if (ret) {
		close(region_fd);
		if (ret == KMI_NOKMEM)
			return kmi_error(KMI_NOKMEM,
					 "run: %s published no kmem statistics (a static or setuid program ignores LD_PRELOAD; or KMEM_STATS=0)",
					 comm);
		return kmi_error(ret, "run: %s left a region kmeminfo cannot read",
				 comm);
	}
	ret = kmi_snapshot_take(&src, &snap);
	if (!ret) {
		if (output) {
			out = fopen(output, "w");
			if (!out)
				ret = kmi_error(KMI_ERR, "run: cannot write %s: %s",
						output, strerror(errno));
		}
	}
	if (!ret) {
		if (json)
			kmi_slabinfo_json(out, &src, &snap);
		else
			kmi_slabinfo_text(out, &snap);
		if (fflush(out) || ferror(out))
			ret = kmi_error(KMI_ERR, "run: writing the output: %s",
					strerror(errno));
		if (out != stdout)
			fclose(out);
	}
	kmi_snapshot_free(&snap);
	kmi_source_close(&src);
	return ret;
}

/**
 * kmi_cmd_run - "kmeminfo run [--json] [-O FILE] [--] CMD ARGS..."
 * @argc: from the subcommand name on
 * @argv: likewise
 *
 * Return: CMD's exit status, or a kmi_status if it could not be run.
 */
int kmi_cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char lib[PATH_MAX];
	const char *output = NULL;
	int c, ret, fd, pipefd[2], status, err;
	bool json = false;
	ssize_t n;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "+:O:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'O':
			output = optarg;
			break;
		case 'h':
			return kmi_print_manual();
		default:
			return kmi_bad_option("run", c, argv);
		}
	}
	if (optind >= argc)
		return kmi_error(KMI_USAGE, "run: no command given");
	ret = find_malloc_lib(lib);
	if (ret)
		return ret;
	if (strpbrk(lib, " :"))
		return kmi_error(KMI_NOLIB,
				 "run: %s: LD_PRELOAD cannot hold a path with ' ' or ':'",
				 lib);
	fd = memfd_create(KMEM_STATS_MEMFD_NAME, MFD_ALLOW_SEALING);
	if (fd < 0)
		return kmi_error(KMI_ERR, "run: memfd_create: %s",
				 strerror(errno));
	fd = high_fd(fd);
	if (pipe2(pipefd, O_CLOEXEC)) {
		close(fd);
		return kmi_error(KMI_ERR, "run: pipe: %s", strerror(errno));
	}
	fflush(NULL);
	ignore_terminal_signals();
	pid = fork();
	if (pid < 0) {
		err = errno;
		restore_terminal_signals();
		close(fd);
		close(pipefd[0]);
		close(pipefd[1]);
		return kmi_error(KMI_ERR, "run: fork: %s", strerror(err));
	}
	if (!pid) {
		close(pipefd[0]);
		child_exec(argv + optind, lib, fd, pipefd[1]);
	}
	close(pipefd[1]);
	do {
		n = read(pipefd[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	ret = wait_child(pid, &status);
	restore_terminal_signals();
	if (n == sizeof(err)) {
		close(fd);
		return kmi_error(err == ENOENT ? KMI_NOTFOUND : KMI_CANTEXEC,
				 "run: cannot execute '%s': %s", argv[optind],
				 strerror(err));
	}
	if (ret) {
		close(fd);
		return kmi_error(KMI_ERR, "run: waitpid: %s", strerror(-ret));
	}
	/* The figures, whatever happened; then CMD's status. */
	print_figures(fd, argv[optind], json, output);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return KMI_ERR;
}
