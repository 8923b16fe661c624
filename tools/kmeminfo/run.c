// SPDX-License-Identifier: MIT
/*
 * tools/kmeminfo/run.c - "kmeminfo run [--] CMD ARGS...": run a program under
 * libkmem-malloc.so and show its caches when it exits.
 *
 * The announcement protocol (include/kmem/stats.h, core/region.c):
 * kmeminfo makes a datagram socket pair, moves the command's end to a high
 * descriptor (not close-on-exec, so that the program still finds its low
 * numbers free and every process of its tree inherits it) and passes the
 * number in KMEM_STATS_SOCK.  Every kmem process of the tree announces
 * each region it publishes there (at start-up, in a forked child, in the
 * image an exec starts), with a read-only descriptor of it.  kmeminfo
 * collects them while the command runs and keeps the descriptors, so the
 * figures survive the processes' exits and are read when the command has
 * exited.
 *
 * Which figures: the command's own, followed through exec (a wrapper
 * script or shim that execs the real program announces twice under one
 * PID: the later image is the command), then every other kmem process of
 * the tree, in the order they first announced.  Every block of output is
 * introduced by a line naming its process ("# kmeminfo run: pid N
 * (comm): ..."); --json gives the command's document with the others in
 * "other_processes", each with a "run" member saying who it is.  A
 * program that never starts kmem (a static or setuid binary ignores
 * LD_PRELOAD; KMEM_STATS=0) announces nothing: kmeminfo says so.
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
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

/*
 * A descriptor number high in the table, as the library uses, close-on-
 * exec (the child clears the flag on its copy).
 */
static int high_fd_cloexec(int fd)
{
	struct rlimit rl;
	long cur = 1024;
	int nfd;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		cur = (long)rl.rlim_cur;
	if (cur > 1024)
		cur = 1024;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, (int)(cur - cur / 4));
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
child_exec(char **cmd, const char *lib, int sock, int err_fd)
{
	char num[16];
	int err;

	/* An ignored signal stays ignored across exec: give CMD its own. */
	restore_terminal_signals();
	snprintf(num, sizeof(num), "%d", sock);
	/* The tree inherits the socket: not close-on-exec, here only. */
	if (fcntl(sock, F_SETFD, 0) || setenv("KMEM_STATS_SOCK", num, 1) ||
	    set_preload(lib)) {
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

/* A kmem process of the command's tree, as it announced itself. */
struct run_proc {
	pid_t pid, ppid;
	char comm[16];		/* of its latest image */
	char exec_from[64];	/* earlier images' names, "a, b" */
	int fd;			/* read-only descriptor of its region */
};

struct run_tree {
	struct run_proc *p;
	unsigned int nr, cap;
	unsigned int lost;	/* announcements without a descriptor */
};

/* Keep one announcement: a new process, or a new image of a known one. */
static void tree_add(struct run_tree *t, const struct kmem_stats_announce *a,
		     int fd)
{
	struct run_proc *p = NULL;

	for (unsigned int i = 0; i < t->nr; i++)
		if (t->p[i].pid == a->pid)
			p = &t->p[i];
	if (p) {
		/*
		 * kmem started again under the PID: an exec, whose image
		 * replaces the former; or the process published anew (the
		 * program took its descriptor): the same image.
		 */
		if (a->why == KMEM_STATS_ANNOUNCE_START) {
			size_t n = strlen(p->exec_from);

			snprintf(p->exec_from + n, sizeof(p->exec_from) - n,
				 "%s%s", n ? ", " : "", p->comm);
		}
		close(p->fd);
	} else {
		if (t->nr == t->cap) {
			unsigned int cap = t->cap ? 2 * t->cap : 8;
			struct run_proc *np = realloc(t->p, cap * sizeof(*np));

			if (!np) {
				close(fd);
				t->lost++;
				return;
			}
			t->p = np;
			t->cap = cap;
		}
		p = &t->p[t->nr++];
		memset(p, 0, sizeof(*p));
		p->pid = a->pid;
	}
	p->ppid = a->ppid;
	memcpy(p->comm, a->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	p->fd = fd;
}

/* Take every announcement waiting on @sock.  Return: false on error. */
static void tree_recv(struct run_tree *t, int sock)
{
	for (;;) {
		struct kmem_stats_announce a;
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = &a, .iov_len = sizeof(a) };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf),
		};
		struct cmsghdr *cm;
		int fd = -1;
		ssize_t n;

		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;		/* EAGAIN: none left */
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_RIGHTS &&
			    cm->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		if (n != sizeof(a) || a.magic != KMEM_STATS_ANNOUNCE_MAGIC ||
		    fd < 0 || (mh.msg_flags & MSG_CTRUNC)) {
			if (fd >= 0)
				close(fd);
			t->lost++;	/* e.g. out of descriptors */
			continue;
		}
		tree_add(t, &a, fd);
	}
}

static void tree_free(struct run_tree *t)
{
	for (unsigned int i = 0; i < t->nr; i++)
		if (t->p[i].fd >= 0)
			close(t->p[i].fd);
	free(t->p);
}

/*
 * Collect announcements until the command exits (its pidfd becomes
 * readable; without pidfd_open, a poll every 100 ms and waitpid(WNOHANG)),
 * then take those still queued.  Return: 0 with *@status, or -errno.
 */
static int collect(struct run_tree *t, int sock, pid_t pid, int *status)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	bool done = false;
	int ret = 0;

	while (!done) {
		struct pollfd pfd[2] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		int n = poll(pfd, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 100);

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (n > 0 && (pfd[0].revents & POLLIN))
			tree_recv(t, sock);
		if (pidfd >= 0 ? n > 0 && pfd[1].revents : true) {
			pid_t r = waitpid(pid, status, pidfd >= 0 ? 0 : WNOHANG);

			if (r == pid)
				done = true;
			else if (r < 0 && errno != EINTR) {
				ret = -errno;
				break;
			}
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	if (ret)
		return wait_child(pid, status);
	tree_recv(t, sock);
	return 0;
}

/* The line that says whose figures follow. */
static void print_title(FILE *out, const struct run_proc *p, pid_t cmd)
{
	fprintf(out, "# kmeminfo run: pid %d (%s): ", (int)p->pid, p->comm);
	if (p->pid == cmd)
		fprintf(out, "the command");
	else
		fprintf(out, "started under the command (parent pid %d)",
			(int)p->ppid);
	if (p->exec_from[0])
		fprintf(out, ", after exec from %s", p->exec_from);
	fputc('\n', out);
}

static void json_run_member(struct kmi_json *j, const struct run_proc *p,
			    pid_t cmd)
{
	json_begin(j, "run", '{');
	json_i64(j, "pid", p->pid);
	json_i64(j, "ppid", p->ppid);
	json_str(j, "command", p->comm);
	json_str(j, "role", p->pid == cmd ? "command" : "descendant");
	json_str(j, "exec_from", p->exec_from);
	json_end(j, '}');
}

/* The figures of @p into @j (an open object) or as text.  Return: status. */
static int print_proc(FILE *out, struct kmi_json *j, const struct run_proc *p,
		      pid_t cmd)
{
	struct kmi_snapshot snap;
	struct kmi_source src;
	int ret;

	ret = kmi_source_open_fd(&src, dup(p->fd), p->comm);
	if (ret)
		return kmi_error(ret, "run: pid %d (%s) left a region kmeminfo cannot read",
				 (int)p->pid, p->comm);
	ret = kmi_snapshot_take(&src, &snap);
	if (!ret) {
		if (j) {
			kmi_slabinfo_json_members(j, &src, &snap);
			json_run_member(j, p, cmd);
		} else {
			print_title(out, p, cmd);
			kmi_slabinfo_text(out, &snap);
		}
		kmi_snapshot_free(&snap);
	}
	kmi_source_close(&src);
	return ret;
}

static int print_figures(struct run_tree *t, pid_t cmd, const char *name,
			 bool json, const char *output)
{
	struct run_proc *first = NULL;
	FILE *out = stdout;
	struct kmi_json j;
	bool any = false;
	int ret = 0;

	if (t->lost)
		kmi_error(KMI_ERR, "run: %u announcement%s could not be kept (out of descriptors?)",
			  t->lost, t->lost == 1 ? "" : "s");
	for (unsigned int i = 0; i < t->nr; i++)
		if (t->p[i].pid == cmd)
			first = &t->p[i];
	if (!t->nr)
		return kmi_error(KMI_NOKMEM,
				 "run: %s published no kmem statistics (a static or setuid program ignores LD_PRELOAD; or KMEM_STATS=0)",
				 name);
	if (!first)
		kmi_error(KMI_NOKMEM,
			  "run: %s (pid %d) published no kmem statistics; showing the %u kmem process%s it started",
			  name, (int)cmd, t->nr, t->nr == 1 ? "" : "es");
	if (output) {
		out = fopen(output, "w");
		if (!out)
			return kmi_error(KMI_ERR, "run: cannot write %s: %s",
					 output, strerror(errno));
	}
	if (json) {
		json_open(&j, out);
		json_begin(&j, NULL, '{');
		if (first) {
			ret = print_proc(out, &j, first, cmd);
		} else {
			json_begin(&j, "run", '{');
			json_i64(&j, "pid", cmd);
			json_str(&j, "role", "command");
			json_bool(&j, "published", false);
			json_end(&j, '}');
		}
		json_begin(&j, "other_processes", '[');
	} else if (first) {
		ret = print_proc(out, NULL, first, cmd);
		any = true;
	}
	for (unsigned int i = 0; i < t->nr; i++) {
		int r;

		if (&t->p[i] == first)
			continue;
		if (json) {
			json_begin(&j, NULL, '{');
			r = print_proc(out, &j, &t->p[i], cmd);
			json_end(&j, '}');
		} else {
			if (any)
				fputc('\n', out);
			r = print_proc(out, NULL, &t->p[i], cmd);
			any = true;
		}
		if (!ret)
			ret = r;
	}
	if (json) {
		json_end(&j, ']');
		json_end(&j, '}');
		json_close(&j);
	}
	if (fflush(out) || ferror(out))
		ret = kmi_error(KMI_ERR, "run: writing the output: %s",
				strerror(errno));
	if (out != stdout)
		fclose(out);
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
	struct run_tree tree = { 0 };
	char lib[PATH_MAX];
	const char *output = NULL;
	int c, ret, sv[2], pipefd[2], status, err, rcvbuf = 1 << 20;
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
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return kmi_error(KMI_ERR, "run: socketpair: %s", strerror(errno));
	/* Room for many announcements while kmeminfo is not scheduled. */
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sv[1] = high_fd_cloexec(sv[1]);
	if (pipe2(pipefd, O_CLOEXEC)) {
		close(sv[0]);
		close(sv[1]);
		return kmi_error(KMI_ERR, "run: pipe: %s", strerror(errno));
	}
	fflush(NULL);
	ignore_terminal_signals();
	pid = fork();
	if (pid < 0) {
		err = errno;
		restore_terminal_signals();
		close(sv[0]);
		close(sv[1]);
		close(pipefd[0]);
		close(pipefd[1]);
		return kmi_error(KMI_ERR, "run: fork: %s", strerror(err));
	}
	if (!pid) {
		close(pipefd[0]);
		close(sv[0]);
		child_exec(argv + optind, lib, sv[1], pipefd[1]);
	}
	close(pipefd[1]);
	close(sv[1]);
	do {
		n = read(pipefd[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == sizeof(err)) {
		wait_child(pid, &status);
		restore_terminal_signals();
		close(sv[0]);
		return kmi_error(err == ENOENT ? KMI_NOTFOUND : KMI_CANTEXEC,
				 "run: cannot execute '%s': %s", argv[optind],
				 strerror(err));
	}
	ret = collect(&tree, sv[0], pid, &status);
	restore_terminal_signals();
	close(sv[0]);
	if (ret) {
		tree_free(&tree);
		return kmi_error(KMI_ERR, "run: waitpid: %s", strerror(-ret));
	}
	/* The figures, whatever happened; then CMD's status. */
	print_figures(&tree, pid, argv[optind], json, output);
	tree_free(&tree);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return KMI_ERR;
}
