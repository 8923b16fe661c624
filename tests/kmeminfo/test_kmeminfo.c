// SPDX-License-Identifier: MIT
/*
 * tests/kmeminfo/test_kmeminfo.c - kmeminfo, from the outside.
 *
 * Every test runs the real kmeminfo binary against a real process (or a
 * region image) and checks what it prints and its exit status:
 *
 *   golden   both text formats against hand-checked files (golden/), from
 *            an image file and from a live process publishing the same
 *            image (kmi_fake); the JSON parsed strictly and compared
 *            number by number with the text, and with the hand-computed
 *            per-thread figures
 *   live     a kmem process (kmi_child) with known caches and counts,
 *            read by PID: exact figures, threads, aliases, order, and
 *            the same text as the library prints for itself
 *   fork     the child of a fork publishes its own figures
 *   publish  fd 3 stays free, the region is close-on-exec and not on any
 *            file system, KMEM_STATS=0 publishes nothing
 *   errors   each bad input: its one-line message and exit status
 *   run      kmeminfo run: figures, exit status passed through
 *   watch    a leaking cache is flagged, a steady one is not
 *   top      top -o against the golden file and sort keys; the live view
 *            in a pseudo-terminal, left with q, Ctrl-C, or its process
 *            exiting, the terminal restored each time
 *
 * and two that need privileges, run as separate CTest tests that skip
 * (exit 77) with a message when the environment does not allow them:
 *
 *   test_kmeminfo slabtop   procps' slabtop reads our slabinfo, bind-
 *                           mounted over /proc/slabinfo in a private
 *                           mount namespace
 *   test_kmeminfo perm      a kmem process of one unprivileged user, read
 *                           by another (denied) and by its own (allowed)
 *
 * Children are driven through pipes (a command, then its "ok"), never by
 * sleeping.  Processes the tests start end when the test does: kmi_child
 * and kmi_fake exit at end of input, fork children by PR_SET_PDEATHSIG.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <kmem/stats.h>
#include <linux/membarrier.h>

#include "json_tree.h"

#ifndef KMEMINFO_BIN
#error "KMEMINFO_BIN, KMI_CHILD_BIN, KMI_FAKE_BIN, KMI_PLAIN_BIN, GOLDEN_DIR must be defined"
#endif

#define SKIP 77
#define HEADER_LEN (sizeof(KMEM_SLABINFO_HEADER) - 1)

/* Statuses of kmeminfo (Documentation/kmeminfo.md). */
enum {
	ST_OK = 0, ST_ERR = 1, ST_USAGE = 2, ST_NOPROC = 3, ST_NOKMEM = 4,
	ST_PERM = 5, ST_EXITED = 6, ST_BADMAGIC = 7, ST_VERSION = 8,
	ST_TORN = 9, ST_NOLIB = 10, ST_CANTEXEC = 126, ST_NOTFOUND = 127,
};

/* Environment for kmem children: no background thread changes figures. */
static const char *const quiet_env[] = {
	"KMEM_BACKGROUND=0", "KMEM_DECAY_MS=3600000", NULL
};

/* ---- files --------------------------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

static char *golden(const char *name)
{
	char path[4096];
	char *s;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	s = read_file(path);
	ck_assert_msg(s, "cannot read %s", path);
	return s;
}

static char *tmp_path(const char *tag)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *p;
	int fd;

	ck_assert(asprintf(&p, "%s/kmeminfo-test-%s-XXXXXX", dir, tag) > 0);
	fd = mkstemp(p);
	ck_assert_msg(fd >= 0, "mkstemp %s: %s", p, strerror(errno));
	close(fd);
	return p;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* ---- processes ----------------------------------------------------------- */

struct spawn_opts {
	const char *const *env;		/* NAME=VALUE sets, NAME unsets */
	const char *const *env2;
	uid_t uid;			/* (uid_t)-1: keep */
	gid_t gid;
	bool pipe_stdin;
	int keep_fd;			/* > 2: left open in the child */
};

struct proc {
	pid_t pid;
	int in, out, err;		/* -1 when not piped */
};

static void apply_env(const char *const *env)
{
	for (; env && *env; env++) {
		const char *eq = strchr(*env, '=');

		if (eq) {
			char name[256];

			snprintf(name, sizeof(name), "%.*s", (int)(eq - *env), *env);
			setenv(name, eq + 1, 1);
		} else {
			unsetenv(*env);
		}
	}
}

static void drop_to(uid_t uid, gid_t gid)
{
	if (uid == (uid_t)-1)
		return;
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		_exit(126);
}

static struct proc spawn(const struct spawn_opts *o, char *const argv[])
{
	int in[2] = { -1, -1 }, out[2], err[2];
	struct proc p = { .in = -1 };

	ck_assert(!pipe2(out, O_CLOEXEC) && !pipe2(err, O_CLOEXEC));
	if (o->pipe_stdin)
		ck_assert(!pipe2(in, O_CLOEXEC));
	p.pid = fork();
	ck_assert(p.pid >= 0);
	if (!p.pid) {
		if (o->pipe_stdin)
			dup2(in[0], 0);
		else
			dup2(open("/dev/null", O_RDONLY), 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (o->keep_fd > 2) {
			if (o->keep_fd > 3)
				close_range(3, (unsigned int)o->keep_fd - 1, 0);
			close_range((unsigned int)o->keep_fd + 1, ~0U, 0);
		} else {
			close_range(3, ~0U, 0);
		}
		signal(SIGPIPE, SIG_DFL);
		apply_env(o->env);
		apply_env(o->env2);
		drop_to(o->uid, o->gid);
		execv(argv[0], argv);
		_exit(127);
	}
	if (o->pipe_stdin) {
		close(in[0]);
		p.in = in[1];
	}
	close(out[1]);
	close(err[1]);
	p.out = out[0];
	p.err = err[0];
	return p;
}

struct result {
	int status;			/* exit code, or 128 + signal */
	char *out;
	char *err;
};

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	ck_assert(*buf);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		ck_assert(errno == EINTR);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* Read stdout and stderr to their end, then reap. */
static struct result finish(struct proc *p)
{
	struct result r = { 0 };
	size_t olen = 0, elen = 0;
	struct pollfd pfd[2] = { { p->out, POLLIN, 0 }, { p->err, POLLIN, 0 } };
	int open_fds = 2;

	append(&r.out, &olen, "", 0);
	append(&r.err, &elen, "", 0);
	if (p->in >= 0) {
		close(p->in);
		p->in = -1;
	}
	while (open_fds) {
		char buf[8192];

		if (poll(pfd, 2, -1) < 0) {
			ck_assert(errno == EINTR);
			continue;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n > 0) {
				if (i)
					append(&r.err, &elen, buf, (size_t)n);
				else
					append(&r.out, &olen, buf, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	r.status = wait_status(p->pid);
	return r;
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* Run kmeminfo with @env (may be NULL) and the NULL-terminated args. */
static struct result tool_env(const char *const *env, ...)
{
	const char *const unset[] = { "KMEMINFO_LIB", "KMEMINFO_TEST_STOP", NULL };
	struct spawn_opts o = { .env = unset, .env2 = env, .uid = (uid_t)-1 };
	char *argv[32] = { (char *)KMEMINFO_BIN };
	struct proc p;
	va_list ap;
	int n = 1;

	va_start(ap, env);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	p = spawn(&o, argv);
	return finish(&p);
}

#define tool(...) tool_env(NULL, __VA_ARGS__, (char *)NULL)

/* A failure is one line "kmeminfo: ...", naming the problem. */
static void check_error(const struct result *r, int status, const char *phrase)
{
	ck_assert_msg(r->status == status,
		      "exit status %d, expected %d (stderr: %s)", r->status,
		      status, r->err);
	ck_assert_msg(!r->out[0], "unexpected output: %s", r->out);
	ck_assert_msg(!strncmp(r->err, "kmeminfo: ", 10), "stderr: %s", r->err);
	ck_assert_msg(count_char(r->err, '\n') == 1 &&
			      r->err[strlen(r->err) - 1] == '\n',
		      "not one line: %s", r->err);
	ck_assert_msg(strstr(r->err, phrase), "'%s' not in: %s", phrase,
		      r->err);
}

static void check_ok(const struct result *r)
{
	ck_assert_msg(r->status == 0, "exit status %d: %s", r->status, r->err);
	ck_assert_msg(!r->err[0], "stderr: %s", r->err);
}

/* ---- driven children ----------------------------------------------------- */

struct kid {
	struct proc p;
	FILE *to, *from;
};

static struct kid kid_start_fd(const char *bin, const char *arg,
			       const char *const *env, uid_t uid, gid_t gid,
			       int keep_fd)
{
	struct spawn_opts o = { .env = quiet_env, .env2 = env, .uid = uid,
				.gid = gid, .pipe_stdin = true,
				.keep_fd = keep_fd };
	char *argv[] = { (char *)bin, (char *)arg, NULL };
	struct kid k;

	k.p = spawn(&o, argv);
	k.to = fdopen(k.p.in, "w");
	k.from = fdopen(k.p.out, "r");
	ck_assert(k.to && k.from);
	setvbuf(k.to, NULL, _IOLBF, 0);
	return k;
}

static struct kid kid_start_as(const char *bin, const char *arg,
			       const char *const *env, uid_t uid, gid_t gid)
{
	return kid_start_fd(bin, arg, env, uid, gid, -1);
}

static struct kid kid_start(const char *const *env)
{
	return kid_start_as(KMI_CHILD_BIN, NULL, env, (uid_t)-1, 0);
}

/* Send a command; return what follows "ok" (a static buffer). */
static const char *kid_cmd(struct kid *k, const char *fmt, ...)
{
	static char line[512];
	va_list ap;

	va_start(ap, fmt);
	vfprintf(k->to, fmt, ap);
	va_end(ap);
	fputc('\n', k->to);
	fflush(k->to);
	ck_assert_msg(fgets(line, sizeof(line), k->from),
		      "the child died during '%s'", fmt);
	ck_assert_msg(!strncmp(line, "ok", 2), "child: %s", line);
	line[strcspn(line, "\n")] = '\0';
	return line[2] ? line + 3 : line + 2;
}

static int kid_stop(struct kid *k)
{
	char buf[256];

	fclose(k->to);
	while (fgets(buf, sizeof(buf), k->from))
		;
	fclose(k->from);
	close(k->p.err);
	return wait_status(k->p.pid);
}

/* kmi_fake MODE: returns once it said "ready". */
static struct kid fake_start(const char *mode)
{
	struct kid k = kid_start_as(KMI_FAKE_BIN, mode, NULL, (uid_t)-1, 0);
	char line[128];

	ck_assert_msg(fgets(line, sizeof(line), k.from) &&
			      !strncmp(line, "ready", 5),
		      "kmi_fake %s did not start", mode);
	return k;
}

static char *pidstr(pid_t pid)
{
	static char buf[4][16];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%d", (int)pid);
	return buf[i];
}

static char *golden_image(void)
{
	char *path = tmp_path("image");
	char *argv[] = { (char *)KMI_FAKE_BIN, (char *)"image", path, NULL };
	struct spawn_opts o = { .uid = (uid_t)-1 };
	struct proc p = spawn(&o, argv);
	struct result r = finish(&p);

	ck_assert_msg(r.status == 0, "kmi_fake image: %s", r.err);
	result_free(&r);
	return path;
}

/* ---- JSON helpers -------------------------------------------------------- */

static struct jnode *parse_json(const char *text)
{
	char err[256];
	struct jnode *n = json_parse(text, err, sizeof(err));

	ck_assert_msg(n, "invalid JSON: %s\n%s", err, text);
	return n;
}

static uint64_t ju(const struct jnode *obj, const char *key)
{
	bool ok = true;
	uint64_t v = jget_u64(obj, key, &ok);

	ck_assert_msg(ok, "JSON member '%s' missing or not an unsigned integer",
		      key);
	return v;
}

static const struct jnode *jcache(const struct jnode *doc, const char *name)
{
	const struct jnode *caches = jget(doc, "caches");

	ck_assert(caches && caches->type == J_ARR);
	for (size_t i = 0; i < caches->nr; i++) {
		const char *n = jget_str(&caches->kids[i], "name");

		if (n && !strcmp(n, name))
			return &caches->kids[i];
	}
	return NULL;
}

/* The text's lines, field by field, equal the JSON's caches, in order. */
static void check_text_matches_json(const char *text, const struct jnode *doc)
{
	static const char *const keys[] = {
		"active_objs", "num_objs", "objsize", "objperslab",
		"pagesperslab", "limit", "batchcount", "sharedfactor",
		"active_slabs", "num_slabs", "sharedavail",
	};
	const struct jnode *caches = jget(doc, "caches");
	const char *line = text;
	size_t i = 0;

	ck_assert(caches && caches->type == J_ARR);
	ck_assert(!strncmp(line, KMEM_SLABINFO_HEADER, HEADER_LEN));
	line += HEADER_LEN;
	for (; *line; line = strchr(line, '\n') + 1, i++) {
		unsigned long long v[11];
		char name[64];

		ck_assert_int_eq(sscanf(line,
			"%63s %llu %llu %llu %llu %llu : tunables %llu %llu %llu : slabdata %llu %llu %llu",
			name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			&v[7], &v[8], &v[9], &v[10]), 12);
		ck_assert_msg(i < caches->nr, "more lines than JSON caches");
		ck_assert_str_eq(jget_str(&caches->kids[i], "name"), name);
		for (int k = 0; k < 11; k++) {
			uint64_t j = ju(&caches->kids[i], keys[k]);

			ck_assert_msg(j == v[k],
				      "%s: %s is %llu in the text, %llu in JSON",
				      name, keys[k], v[k],
				      (unsigned long long)j);
		}
	}
	ck_assert_uint_eq(i, caches->nr);
}

/* ---- golden -------------------------------------------------------------- */

START_TEST(golden_slabinfo_file)
{
	char *img = golden_image();
	char *want = golden("slabinfo.txt");
	struct result r = tool("slabinfo", "-f", img);

	check_ok(&r);
	ck_assert_str_eq(r.out, want);
	result_free(&r);
	unlink(img);
	free(img);
	free(want);
}
END_TEST

START_TEST(golden_buddyinfo_file)
{
	char *img = golden_image();
	char *want = golden("buddyinfo.txt");
	struct result r = tool("buddyinfo", "--file", img);

	check_ok(&r);
	ck_assert_str_eq(r.out, want);
	result_free(&r);
	unlink(img);
	free(img);
	free(want);
}
END_TEST

/* The same image published by a live process, read by PID. */
START_TEST(golden_by_pid)
{
	struct kid k = fake_start("golden");
	char *want = golden("slabinfo.txt"), *wantb = golden("buddyinfo.txt");
	char *wantt = golden("top.txt");
	struct result r = tool("slabinfo", "-p", pidstr(k.p.pid));

	check_ok(&r);
	ck_assert_str_eq(r.out, want);
	result_free(&r);
	r = tool("buddyinfo", "-p", pidstr(k.p.pid));
	check_ok(&r);
	ck_assert_str_eq(r.out, wantb);
	result_free(&r);
	r = tool("top", "-o", "-p", pidstr(k.p.pid));
	check_ok(&r);
	ck_assert_str_eq(r.out, wantt);
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
	free(want);
	free(wantb);
	free(wantt);
}
END_TEST

START_TEST(golden_slabinfo_json)
{
	char *img = golden_image();
	char *text = golden("slabinfo.txt");
	struct result r = tool("slabinfo", "-f", img, "--json");
	const struct jnode *c, *proc, *al, *threads;
	struct jnode *doc;

	check_ok(&r);
	doc = parse_json(r.out);
	check_text_matches_json(text, doc);
	ck_assert_ptr_null(jcache(doc, "gone"));
	ck_assert_ptr_null(jcache(doc, "conn_alias"));

	/* Figures computed by hand from kmi_fake.c's image. */
	c = jcache(doc, "kmalloc-64");
	ck_assert_uint_eq(ju(c, "thread_objs"), 15);	/* 10 + 5 */
	ck_assert_uint_eq(ju(c, "orphan_objs"), 7);
	ck_assert_uint_eq(ju(c, "inuse_objs"), 111);	/* 126 - 0 - 15 */
	/* 200 + 1000 + 30 - 10 + 7 reused from the previous magazine */
	ck_assert_uint_eq(ju(c, "allocs"), 1227);
	ck_assert_uint_eq(ju(c, "frees"), 930);		/* 20 + 900 + 5 - 2 + 7 */
	c = jcache(doc, "conn");
	ck_assert_uint_eq(ju(c, "thread_objs"), 64);
	ck_assert_uint_eq(ju(c, "depot_objs"), 128);
	ck_assert_uint_eq(ju(c, "inuse_objs"), 999808);	/* 1000000 - 128 - 64 */
	ck_assert_uint_eq(ju(c, "allocs"), 505);	/* 500 + 5 + 0 */
	ck_assert_uint_eq(ju(c, "frees"), 57);		/* 50 + 7 + 0 */
	ck_assert_uint_eq(ju(c, "refcount"), 2);
	al = jget(c, "aliases");
	ck_assert(al && al->type == J_ARR && al->nr == 1);
	ck_assert_str_eq(al->kids[0].str, "conn_alias");
	c = jcache(doc, "bigobj");			/* slot in an ext unit */
	ck_assert_uint_eq(ju(c, "thread_objs"), 3);
	ck_assert_uint_eq(ju(c, "inuse_objs"), 23);	/* 30 - 4 - 3 */
	ck_assert_uint_eq(ju(c, "allocs"), 6702);	/* 6700 + 4 - 2 */
	ck_assert_uint_eq(ju(c, "frees"), 671);		/* 670 + 1 - 0 */
	ck_assert_uint_eq(ju(c, "cache_bytes"), 2 * 32 * 4096);
	c = jcache(doc, "kmem_cache");
	ck_assert_uint_eq(ju(c, "thread_objs"), 0);
	al = jget(doc, "aliases");
	ck_assert(al && al->type == J_ARR && al->nr == 1);
	ck_assert_str_eq(jget_str(&al->kids[0], "name"), "conn_alias");
	ck_assert_str_eq(jget_str(&al->kids[0], "alias_of"), "conn");
	ck_assert_uint_eq(ju(&al->kids[0], "object_size"), 188);

	proc = jget(doc, "process");
	ck_assert_uint_eq(ju(proc, "pid"), 4242);
	ck_assert_uint_eq(ju(proc, "layout_version"), KMEM_STATS_VERSION);
	ck_assert_uint_eq(ju(proc, "generation"), 24);
	ck_assert_uint_eq(ju(proc, "mapped"), 32 << 20);
	ck_assert_uint_eq(ju(proc, "retained"), 16 << 20);
	ck_assert_uint_eq(ju(proc, "resident"), 16 << 20);
	ck_assert_uint_eq(ju(proc, "huge_mapped"), 8 << 20);
	ck_assert_uint_eq(ju(proc, "huge_cached"), 12 << 20);
	ck_assert_uint_eq(ju(proc, "nr_huge_cached"), 2);
	ck_assert_uint_eq(ju(proc, "threads"), 1);
	ck_assert_uint_eq(ju(proc, "thread_objs"), 82);	/* 15 + 64 + 3 */
	ck_assert_uint_eq(ju(proc, "thread_bytes"), 15 * 64 + 64 * 192 + 3 * 8192);
	ck_assert_uint_eq(ju(proc, "thread_pcp_pages"), 6);
	ck_assert_uint_eq(ju(proc, "orphan_objs"), 7);
	/* slab bytes: 2*32 + 47620 + 0 + 3 + 1 pages */
	ck_assert_uint_eq(ju(proc, "slab_bytes"), (64ULL + 47620 + 3 + 1) * 4096);
	threads = jget(proc, "per_thread");
	ck_assert(threads && threads->type == J_ARR && threads->nr == 2);
	ck_assert_uint_eq(ju(&threads->kids[0], "tid"), 4243);
	ck_assert_uint_eq(ju(&threads->kids[0], "objs"), 82);
	ck_assert_uint_eq(ju(&threads->kids[0], "pcp_pages"), 6);
	ck_assert(jget(&threads->kids[1], "orphan")->b);
	ck_assert_uint_eq(ju(&threads->kids[1], "objs"), 7);
	json_free(doc);
	result_free(&r);
	unlink(img);
	free(img);
	free(text);
}
END_TEST

START_TEST(golden_buddyinfo_json)
{
	char *img = golden_image();
	char *text = golden("buddyinfo.txt");
	struct result r = tool("buddyinfo", "-f", img, "--json");
	const struct jnode *nr, *orders;
	struct jnode *doc;
	const char *p;

	check_ok(&r);
	doc = parse_json(r.out);
	nr = jget(doc, "nr_free");
	orders = jget(doc, "orders");
	ck_assert(nr && nr->type == J_ARR && nr->nr == KMEM_STATS_NR_ORDERS);
	ck_assert(orders && orders->nr == KMEM_STATS_NR_ORDERS);
	ck_assert(!strncmp(text, "Node 0, zone   Normal ", 22));
	p = text + 22;
	for (int o = 0; o < KMEM_STATS_NR_ORDERS; o++) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		ck_assert(end != p);
		p = end;
		ck_assert_uint_eq(nr->kids[o].u64, v);
		ck_assert_uint_eq(ju(&orders->kids[o], "free_blocks"), v);
		ck_assert_uint_eq(ju(&orders->kids[o], "free_bytes"),
				  v * (4096UL << o));
	}
	ck_assert_str_eq(jget_str(doc, "zone"), "Normal");
	ck_assert_uint_eq(ju(doc, "free_pages"), 7986);
	ck_assert_uint_eq(ju(doc, "managed_pages"), 8192);
	ck_assert_uint_eq(ju(doc, "pcp_pages"), 6);
	ck_assert_uint_eq(ju(doc, "os_releases"), 4);
	json_free(doc);
	result_free(&r);
	unlink(img);
	free(img);
	free(text);
}
END_TEST

/*
 * A region is foreign memory: corrupt one byte or word at a time (seeded,
 * in the header, the records in use and the units) and kmeminfo must
 * answer with a documented status, never a signal.
 */
START_TEST(golden_corrupt)
{
	/* Where kmi_fake puts things (see its T_* offsets). */
	const size_t rec = sizeof(struct kmem_stats_cache);
	const size_t units = 4096 + 4096 * rec, ext = 128 + 64 * 48;
	const size_t areas[][2] = {
		{ 0, sizeof(struct kmem_stats_header) },	/* header */
		{ 4096, 4096 + 6 * rec },			/* records 0-5 */
		{ 4096 + 66 * rec, 4096 + 67 * rec },		/* record 66 */
		{ units, units + 128 + 5 * 48 },	/* thread unit, slots */
		{ units + ext, units + ext + 16 },	/* its ext table */
		{ units + 4096, units + 4096 + 16 + 3 * 48 },	/* ext unit */
		{ units + 8192, units + 8192 + 128 + 2 * 48 },	/* orphan */
	};
	const size_t nr_areas = sizeof(areas) / sizeof(areas[0]);
	char *img = golden_image(), *bad = tmp_path("corrupt");
	char *orig = NULL;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t len;
	FILE *f;

	f = fopen(img, "r");
	ck_assert(f);
	ck_assert(fseek(f, 0, SEEK_END) == 0);
	len = (size_t)ftell(f);
	rewind(f);
	orig = malloc(len);
	ck_assert(orig && fread(orig, 1, len, f) == len);
	fclose(f);
	for (int it = 0; it < 150; it++) {
		char *copy = malloc(len);
		const char *what = it % 2 ? "buddyinfo" : "slabinfo";
		struct result r;
		size_t cut = len;

		memcpy(copy, orig, len);
		for (int m = 0; m < 1 + it % 4; m++) {
			const size_t *a;
			size_t pos;

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			a = areas[(seed >> 33) % nr_areas];
			pos = a[0] + (seed >> 13) % (a[1] - a[0] - 7);
			if (seed & 1)
				copy[pos] = (char)(seed >> 41);
			else
				memset(copy + pos, seed & 2 ? 0xff : 0, 8);
		}
		if (it % 17 == 5)
			cut = (size_t)(seed >> 20) % len;
		f = fopen(bad, "w");
		ck_assert(f && fwrite(copy, 1, cut, f) == cut && !fclose(f));
		r = tool(what, "-f", bad, "--json");
		ck_assert_msg(r.status == ST_OK || r.status == ST_NOKMEM ||
				      r.status == ST_BADMAGIC ||
				      r.status == ST_VERSION || r.status == ST_TORN,
			      "corruption %d: status %d: %s", it, r.status, r.err);
		if (r.status == ST_OK)
			json_free(parse_json(r.out));
		else
			ck_assert_uint_eq(count_char(r.err, '\n'), 1);
		result_free(&r);
		free(copy);
	}
	free(orig);
	unlink(bad);
	unlink(img);
	free(bad);
	free(img);
}
END_TEST

/* ---- live ---------------------------------------------------------------- */

static struct jnode *read_json(pid_t pid, const char *what)
{
	struct result r = tool(what, "-p", pidstr(pid), "--json");
	struct jnode *doc;

	check_ok(&r);
	doc = parse_json(r.out);
	result_free(&r);
	return doc;
}

/*
 * Objects out of slabs are the program's, the threads' or CPUs'
 * magazines' (by the mode), or the depot's.
 */
static void check_balance(const struct jnode *c)
{
	ck_assert_uint_eq(ju(c, "active_objs"),
			  ju(c, "inuse_objs") + ju(c, "thread_objs") +
				  ju(c, "cpu_objs") + ju(c, "depot_objs"));
}

START_TEST(live_figures)
{
	struct kid k = kid_start(NULL);
	const struct jnode *c, *al, *proc;
	struct result r;
	struct jnode *doc;

	kid_cmd(&k, "create kt_small 100");
	kid_cmd(&k, "alloc kt_small 500");
	kid_cmd(&k, "free kt_small 200");
	kid_cmd(&k, "create kt_big 3000 nomerge");
	kid_cmd(&k, "alloc kt_big 40");
	kid_cmd(&k, "create kt_alias 100");	/* merges with kt_small */

	doc = read_json(k.p.pid, "slabinfo");
	proc = jget(doc, "process");
	ck_assert_uint_eq(ju(proc, "pid"), (uint64_t)k.p.pid);
	ck_assert_str_eq(jget_str(proc, "command"), "kmi_child");
	ck_assert_uint_eq(ju(proc, "threads"), 1);
	c = jcache(doc, "kt_small");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(ju(c, "inuse_objs"), 300);
	ck_assert_uint_eq(ju(c, "allocs"), 500);
	ck_assert_uint_eq(ju(c, "frees"), 200);
	ck_assert_uint_eq(ju(c, "object_size"), 100);
	ck_assert_uint_eq(ju(c, "objsize"), 104);
	ck_assert_uint_eq(ju(c, "refcount"), 2);
	ck_assert_uint_eq(ju(c, "num_objs"),
			  ju(c, "num_slabs") * ju(c, "objperslab"));
	check_balance(c);
	al = jget(c, "aliases");
	ck_assert(al && al->nr == 1 && !strcmp(al->kids[0].str, "kt_alias"));
	c = jcache(doc, "kt_big");
	ck_assert_uint_eq(ju(c, "inuse_objs"), 40);
	ck_assert_uint_eq(ju(c, "allocs"), 40);
	ck_assert_uint_eq(ju(c, "frees"), 0);
	check_balance(c);
	ck_assert_ptr_null(jcache(doc, "kt_alias"));

	/* The text: same numbers, no alias, newest cache first. */
	r = tool("slabinfo", "-p", pidstr(k.p.pid));
	check_ok(&r);
	check_text_matches_json(r.out, doc);
	ck_assert_ptr_null(strstr(r.out, "kt_alias"));
	ck_assert_ptr_nonnull(strstr(r.out, "\nkt_big "));
	ck_assert(strstr(r.out, "\nkt_big ") < strstr(r.out, "\nkt_small "));
	ck_assert(strstr(r.out, "\nkt_small ") < strstr(r.out, "\nkmalloc-8k "));
	result_free(&r);
	json_free(doc);

	/* Live: the figures follow the process. */
	kid_cmd(&k, "free kt_small 100");
	kid_cmd(&k, "alloc kt_big 10");
	doc = read_json(k.p.pid, "slabinfo");
	ck_assert_uint_eq(ju(jcache(doc, "kt_small"), "inuse_objs"), 200);
	ck_assert_uint_eq(ju(jcache(doc, "kt_small"), "frees"), 300);
	ck_assert_uint_eq(ju(jcache(doc, "kt_big"), "inuse_objs"), 50);
	json_free(doc);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* The text is the library's own, byte for byte. */
START_TEST(live_same_as_library)
{
	struct kid k = kid_start(NULL);
	char *si = tmp_path("self"), *bi = tmp_path("selfb");
	char *want, *wantb;
	struct result r, rb;

	kid_cmd(&k, "create kt_a 64");
	kid_cmd(&k, "alloc kt_a 1000");
	kid_cmd(&k, "free kt_a 333");
	kid_cmd(&k, "create kt_b 700 nomerge");
	kid_cmd(&k, "alloc kt_b 77");
	kid_cmd(&k, "print %s", si);
	kid_cmd(&k, "printb %s", bi);
	r = tool("slabinfo", "-p", pidstr(k.p.pid));
	rb = tool("buddyinfo", "-p", pidstr(k.p.pid));
	check_ok(&r);
	check_ok(&rb);
	want = read_file(si);
	wantb = read_file(bi);
	ck_assert(want && wantb);
	ck_assert_str_eq(r.out, want);
	ck_assert_str_eq(rb.out, wantb);
	result_free(&r);
	result_free(&rb);
	ck_assert_int_eq(kid_stop(&k), 0);
	unlink(si);
	unlink(bi);
	free(si);
	free(bi);
	free(want);
	free(wantb);
}
END_TEST

START_TEST(live_threads)
{
	struct kid k = kid_start(NULL);
	const struct jnode *c, *proc, *threads;
	uint64_t sum = 0;
	struct jnode *doc;

	kid_cmd(&k, "create kt_thr 200");
	kid_cmd(&k, "alloc kt_thr 100");
	kid_cmd(&k, "thread kt_thr 50");
	doc = read_json(k.p.pid, "slabinfo");
	c = jcache(doc, "kt_thr");
	ck_assert_uint_eq(ju(c, "inuse_objs"), 150);
	ck_assert_uint_eq(ju(c, "allocs"), 150);
	check_balance(c);
	proc = jget(doc, "process");
	ck_assert_uint_eq(ju(proc, "threads"), 2);
	threads = jget(proc, "per_thread");
	ck_assert(threads && threads->nr == 2);
	for (size_t i = 0; i < threads->nr; i++) {
		ck_assert(!jget(&threads->kids[i], "orphan")->b);
		sum += ju(&threads->kids[i], "objs");
	}
	ck_assert_uint_eq(sum, ju(proc, "thread_objs"));
	ck_assert_uint_ne(ju(&threads->kids[0], "tid"),
			  ju(&threads->kids[1], "tid"));
	json_free(doc);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/*
 * The magazine mode, and each CPU's holdings: the child runs with
 * per-CPU magazines where this machine has rseq (core/cpu.c's checks,
 * made here with the same facts), with per-thread ones under
 * KMEM_PERCPU=0.  Either way every object freed into a magazine is
 * counted once, by a thread or by a CPU.  In the per-CPU mode the main
 * thread keeps magazines of its own (@main_cpu false: the default) or
 * uses the CPUs' (KMEM_MAIN_THREAD_OWN=0); a second thread uses the
 * CPUs'.
 */
static void check_mode(const char *const *env, bool want_cpu, bool main_cpu)
{
	struct kid k = kid_start(env);
	const struct jnode *c, *t, *proc, *cpus;
	uint64_t sum = 0;
	struct jnode *doc;

	kid_cmd(&k, "create kt_mode 200");
	kid_cmd(&k, "alloc kt_mode 300");
	kid_cmd(&k, "free kt_mode 100");
	kid_cmd(&k, "create kt_mode_thr 264 nomerge");
	kid_cmd(&k, "tfree kt_mode_thr 300");
	doc = read_json(k.p.pid, "slabinfo");
	proc = jget(doc, "process");
	c = jcache(doc, "kt_mode");
	t = jcache(doc, "kt_mode_thr");
	check_balance(c);
	check_balance(t);
	ck_assert_uint_eq(ju(c, "inuse_objs"), 200);
	ck_assert_uint_eq(ju(t, "inuse_objs"), 0);
	ck_assert_str_eq(jget_str(proc, "magazines"),
			 want_cpu ? "per-cpu" : "per-thread");
	cpus = jget(proc, "per_cpu");
	ck_assert(cpus);
	for (size_t i = 0; i < cpus->nr; i++) {
		ck_assert_uint_lt(ju(&cpus->kids[i], "cpu"),
				  (uint64_t)sysconf(_SC_NPROCESSORS_CONF));
		sum += ju(&cpus->kids[i], "objs");
	}
	ck_assert_uint_eq(sum, ju(proc, "cpu_objs"));
	ck_assert_uint_ge(ju(t, "thread_objs") + ju(t, "cpu_objs") +
			  ju(t, "depot_objs"), 300);
	if (want_cpu && !main_cpu) {
		/*
		 * The thread's frees: into the CPUs' magazines, which nobody
		 * else uses.  (With the main thread on them, a thread that
		 * finds its CPU's in the main thread's use keeps magazines of
		 * its own: slab.md, "Owners".)
		 */
		ck_assert_uint_ge(cpus->nr, 1);
		ck_assert_uint_eq(ju(t, "thread_objs"), 0);
		ck_assert_uint_ge(ju(t, "cpu_objs") + ju(t, "depot_objs"), 300);
	}
	if (want_cpu && main_cpu) {
		/* 100 freed on one CPU at a time, into its magazines. */
		ck_assert_uint_eq(ju(c, "thread_objs"), 0);
		ck_assert_uint_ge(ju(c, "cpu_objs") + ju(c, "depot_objs"), 100);
	} else if (want_cpu) {
		/* The main thread's own magazines. */
		ck_assert_uint_eq(ju(c, "cpu_objs"), 0);
		ck_assert_uint_ge(ju(c, "thread_objs") + ju(c, "depot_objs"),
				  100);
	} else {
		ck_assert_uint_eq(cpus->nr, 0);
		ck_assert_uint_eq(ju(proc, "cpu_objs"), 0);
		ck_assert_uint_ge(ju(c, "thread_objs") + ju(c, "depot_objs"),
				  100);
	}
	json_free(doc);
	ck_assert_int_eq(kid_stop(&k), 0);
}

/* What core/cpu.c needs: glibc's registration, which this process has too. */
static bool have_rseq(void)
{
	long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	return __rseq_size >= 20 && q > 0 &&
	       (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) &&
	       sysconf(_SC_NPROCESSORS_CONF) <= 1024;
}

START_TEST(live_magazine_mode)
{
	static const char *const percpu0[] = { "KMEM_PERCPU=0", NULL };
	static const char *const main_cpu[] = {
		"KMEM_MAIN_THREAD_OWN=0", NULL };
	static const char *const norseq[] = {
		"GLIBC_TUNABLES=glibc.pthread.rseq=0", NULL };

	check_mode(NULL, have_rseq(), false);
	check_mode(main_cpu, have_rseq(), true);
	check_mode(percpu0, false, false);
	check_mode(norseq, false, false);	/* glibc registered no rseq */
}
END_TEST

/*
 * The magazines' trim (slab.md, "Per-CPU magazines"), as kmeminfo shows
 * it: the child, kept on one CPU, frees 200 objects of kt_idle into its
 * CPU's magazines (or its thread's) and then only cycles kt_busy.
 * kt_idle's magazines are given back (trimmed at least what they held);
 * kt_busy's are never trimmed.
 */
static void check_trim(const char *const *env, bool want_cpu)
{
	struct kid k = kid_start(env);
	const struct jnode *idle, *busy;
	uint64_t held, rounds = 0;
	struct jnode *doc;

	kid_cmd(&k, "pin");
	kid_cmd(&k, "create kt_idle 1024 nomerge");
	kid_cmd(&k, "create kt_busy 64 nomerge");
	for (int i = 0; i < 2; i++) {
		kid_cmd(&k, "alloc kt_idle 200");
		kid_cmd(&k, "free kt_idle 200");
	}
	doc = read_json(k.p.pid, "slabinfo");
	idle = jcache(doc, "kt_idle");
	held = ju(idle, want_cpu ? "cpu_objs" : "thread_objs");
	ck_assert_uint_ge(held, 64);
	ck_assert_uint_eq(ju(idle, "trimmed"), 0);
	json_free(doc);
	/* About 5 slow paths a round; two looks at a slot take 2048. */
	for (;;) {
		kid_cmd(&k, "cycle kt_busy 300 100");
		rounds += 100;
		doc = read_json(k.p.pid, "slabinfo");
		idle = jcache(doc, "kt_idle");
		busy = jcache(doc, "kt_busy");
		ck_assert_uint_eq(ju(busy, "trimmed"), 0);
		if (!ju(idle, want_cpu ? "cpu_objs" : "thread_objs") ||
		    rounds >= 20000)
			break;
		json_free(doc);
	}
	ck_assert_msg(ju(idle, "cpu_objs") + ju(idle, "thread_objs") == 0,
		      "kt_idle's magazines still hold %lu of %lu objects "
		      "after %lu rounds of kt_busy",
		      (unsigned long)(ju(idle, "cpu_objs") +
				      ju(idle, "thread_objs")),
		      (unsigned long)held, (unsigned long)rounds);
	ck_assert_uint_ge(ju(idle, "trimmed"), held);
	check_balance(idle);
	check_balance(busy);
	json_free(doc);
	ck_assert_int_eq(kid_stop(&k), 0);
}

START_TEST(live_magazine_trim)
{
	static const char *const percpu0[] = { "KMEM_PERCPU=0", NULL };
	static const char *const main_cpu[] = {
		"KMEM_MAIN_THREAD_OWN=0", NULL };

	/* The child's main thread: its own magazines, unless told. */
	check_trim(NULL, false);
	check_trim(main_cpu, have_rseq());
	check_trim(percpu0, false);
}
END_TEST

/* Caches destroyed and created again: newest first all the same. */
START_TEST(live_order)
{
	struct kid k = kid_start(NULL);
	struct result r;
	char *b, *c;

	kid_cmd(&k, "create kt_first 40 nomerge");
	kid_cmd(&k, "create kt_second 40 nomerge");
	kid_cmd(&k, "destroy kt_first");
	kid_cmd(&k, "create kt_third 40 nomerge");	/* reuses kt_first's id */
	r = tool("slabinfo", "-p", pidstr(k.p.pid));
	check_ok(&r);
	ck_assert_ptr_null(strstr(r.out, "kt_first"));
	b = strstr(r.out, "\nkt_second ");
	c = strstr(r.out, "\nkt_third ");
	ck_assert(b && c);
	ck_assert_msg(c < b, "newest cache not first:\n%s", r.out);
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

START_TEST(live_list)
{
	struct kid k = kid_start(NULL);
	struct result r;
	struct jnode *doc;
	char line[64];
	bool found = false;

	kid_cmd(&k, "create kt_list 16");
	r = tool("list");
	check_ok(&r);
	ck_assert(!strncmp(r.out, "    PID COMMAND\n", 16));
	snprintf(line, sizeof(line), "\n%7d kmi_child\n", (int)k.p.pid);
	ck_assert_msg(strstr(r.out, line), "%s not in:\n%s", line, r.out);
	result_free(&r);
	r = tool("list", "--json");
	check_ok(&r);
	doc = parse_json(r.out);
	ck_assert(doc->type == J_ARR);
	for (size_t i = 0; i < doc->nr; i++)
		found |= ju(&doc->kids[i], "pid") == (uint64_t)k.p.pid &&
			 !strcmp(jget_str(&doc->kids[i], "command"), "kmi_child");
	ck_assert(found);
	json_free(doc);
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* Without -p and with several publishers, kmeminfo asks which. */
START_TEST(live_ambiguous)
{
	struct kid a = kid_start(NULL), b = kid_start(NULL);
	struct result r;

	kid_cmd(&a, "create kt_x 16");
	kid_cmd(&b, "create kt_x 16");
	r = tool("slabinfo");
	check_error(&r, ST_USAGE, "choose one with -p");
	result_free(&r);
	ck_assert_int_eq(kid_stop(&a), 0);
	ck_assert_int_eq(kid_stop(&b), 0);
}
END_TEST

/* ---- fork ---------------------------------------------------------------- */

START_TEST(fork_own_figures)
{
	struct kid k = kid_start(NULL);
	const struct jnode *c;
	struct jnode *doc;
	pid_t gc;

	kid_cmd(&k, "create kt_fork 200");
	kid_cmd(&k, "alloc kt_fork 300");
	gc = (pid_t)atoi(kid_cmd(&k, "fork kt_fork 200"));
	ck_assert(gc > 0 && gc != k.p.pid);

	doc = read_json(gc, "slabinfo");
	ck_assert_uint_eq(ju(jget(doc, "process"), "pid"), (uint64_t)gc);
	ck_assert_uint_eq(ju(jget(doc, "process"), "threads"), 1);
	c = jcache(doc, "kt_fork");
	ck_assert_uint_eq(ju(c, "inuse_objs"), 500);
	ck_assert_uint_eq(ju(c, "allocs"), 500);
	check_balance(c);
	json_free(doc);

	doc = read_json(k.p.pid, "slabinfo");
	ck_assert_uint_eq(ju(jget(doc, "process"), "pid"), (uint64_t)k.p.pid);
	ck_assert_uint_eq(ju(jcache(doc, "kt_fork"), "inuse_objs"), 300);
	ck_assert_uint_eq(ju(jcache(doc, "kt_fork"), "allocs"), 300);
	json_free(doc);

	/* The parent goes on; the child's figures stay its own. */
	kid_cmd(&k, "alloc kt_fork 100");
	doc = read_json(k.p.pid, "slabinfo");
	ck_assert_uint_eq(ju(jcache(doc, "kt_fork"), "inuse_objs"), 400);
	json_free(doc);
	doc = read_json(gc, "slabinfo");
	ck_assert_uint_eq(ju(jcache(doc, "kt_fork"), "inuse_objs"), 500);
	json_free(doc);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* Threads that fork does not copy: their units are orphans in the child. */
START_TEST(fork_with_threads)
{
	struct kid k = kid_start(NULL);
	const struct jnode *c, *proc;
	struct jnode *doc;
	uint64_t orphan;
	pid_t gc;

	kid_cmd(&k, "create kt_ft 200");
	kid_cmd(&k, "alloc kt_ft 300");
	kid_cmd(&k, "thread kt_ft 50");
	doc = read_json(k.p.pid, "slabinfo");
	ck_assert_uint_eq(ju(jcache(doc, "kt_ft"), "inuse_objs"), 350);
	ck_assert_uint_eq(ju(jget(doc, "process"), "threads"), 2);
	json_free(doc);

	gc = (pid_t)atoi(kid_cmd(&k, "fork kt_ft 20"));
	doc = read_json(gc, "slabinfo");
	proc = jget(doc, "process");
	ck_assert_uint_eq(ju(proc, "threads"), 1);
	c = jcache(doc, "kt_ft");
	orphan = ju(c, "orphan_objs");
	/* The orphan's cached objects are lost to the child: in use. */
	ck_assert_uint_eq(ju(c, "inuse_objs"), 350 + 20 + orphan);
	ck_assert_uint_eq(ju(proc, "orphan_objs"), orphan);
	check_balance(c);
	json_free(doc);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/*
 * A prepare handler the program registered before kmem's runs after
 * kmem's, and allocates: the child's figures include what it took (they
 * were copied at kmem's prepare before, and showed it as still cached).
 */
START_TEST(fork_prepare_handler_allocates)
{
	struct kid k = kid_start(NULL);
	const struct jnode *c;
	struct jnode *doc;
	pid_t gc;

	kid_cmd(&k, "create kt_prep 200");
	kid_cmd(&k, "alloc kt_prep 300");
	kid_cmd(&k, "free kt_prep 100");	/* the magazine holds them */
	gc = (pid_t)atoi(kid_cmd(&k, "forkprep kt_prep 50"));
	ck_assert(gc > 0 && gc != k.p.pid);
	for (int i = 0; i < 2; i++) {
		doc = read_json(i ? k.p.pid : gc, "slabinfo");
		c = jcache(doc, "kt_prep");
		ck_assert_uint_eq(ju(c, "inuse_objs"), 250);
		ck_assert_uint_eq(ju(c, "allocs"), 350);
		ck_assert_uint_eq(ju(c, "frees"), 100);
		check_balance(c);
		json_free(doc);
	}
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/*
 * The program closes kmem's descriptor number and a pipe lands on it.
 * fork() must leave the pipe alone in both processes (kmi_child reads
 * through it on each side), and both must still publish.
 */
START_TEST(fork_descriptor_reused)
{
	struct kid k = kid_start(NULL);
	char link[256], path[64];
	struct jnode *doc;
	int old_fd, fd;
	ssize_t n;
	pid_t gc;

	kid_cmd(&k, "create kt_reuse 100");
	kid_cmd(&k, "alloc kt_reuse 10");
	old_fd = atoi(kid_cmd(&k, "statsfd"));
	ck_assert_int_ge(old_fd, 3);
	gc = (pid_t)atoi(kid_cmd(&k, "fdreuse kt_reuse 5"));
	ck_assert(gc > 0 && gc != k.p.pid);

	doc = read_json(gc, "slabinfo");
	ck_assert_uint_eq(ju(jget(doc, "process"), "pid"), (uint64_t)gc);
	ck_assert_uint_eq(ju(jcache(doc, "kt_reuse"), "inuse_objs"), 15);
	json_free(doc);
	doc = read_json(k.p.pid, "slabinfo");
	ck_assert_uint_eq(ju(jget(doc, "process"), "pid"), (uint64_t)k.p.pid);
	ck_assert_uint_eq(ju(jcache(doc, "kt_reuse"), "inuse_objs"), 10);
	json_free(doc);

	/* The parent's region is on a new number; the old one is the pipe. */
	fd = atoi(kid_cmd(&k, "statsfd"));
	ck_assert_int_ge(fd, 3);
	ck_assert_int_ne(fd, old_fd);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)k.p.pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_msg(!strncmp(link, "/memfd:kmem-stats", 17), "%s", link);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)k.p.pid, old_fd);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_msg(!strncmp(link, "pipe:", 5), "%s", link);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* ---- publish ------------------------------------------------------------- */

START_TEST(publish_fd3_cloexec)
{
	struct kid k = kid_start(NULL);
	char link[256], path[64];
	int fd, cloexec;
	ssize_t n;

	kid_cmd(&k, "create kt_fd 32");
	ck_assert_int_eq(sscanf(kid_cmd(&k, "fdtest"), "%d %d", &fd, &cloexec), 2);
	ck_assert_int_eq(fd, 3);		/* the lowest number is free */
	ck_assert_int_eq(cloexec, 1);
	fd = atoi(kid_cmd(&k, "statsfd"));
	ck_assert_int_ge(fd, 64);		/* high in the table */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)k.p.pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert(n > 0);
	link[n] = '\0';
	/* Memory only: nothing on a file system to be left behind. */
	ck_assert_msg(!strncmp(link, "/memfd:kmem-stats", 17), "%s", link);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* One announcement from a KMEM_STATS_SOCK socket, within 30 s. */
static int recv_announce(int sock, struct kmem_stats_announce *a)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = a, .iov_len = sizeof(*a) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *cm;
	int fd = -1;

	ck_assert_int_eq(poll(&pfd, 1, 30000), 1);
	ck_assert_int_eq(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC), sizeof(*a));
	cm = CMSG_FIRSTHDR(&mh);
	ck_assert_ptr_nonnull(cm);
	ck_assert_int_eq(cm->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	ck_assert_uint_eq(a->magic, KMEM_STATS_ANNOUNCE_MAGIC);
	return fd;
}

/* @fd is a region @pid holds: the same file as one of its descriptors. */
static bool held_by(int fd, pid_t pid)
{
	struct stat ours, theirs;
	char dir[64], path[320];
	struct dirent *e;
	bool found = false;
	DIR *d;

	ck_assert(!fstat(fd, &ours));
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while (!found && (e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		found = !stat(path, &theirs) && theirs.st_dev == ours.st_dev &&
			theirs.st_ino == ours.st_ino;
	}
	closedir(d);
	return found;
}

/*
 * KMEM_STATS_SOCK (what "kmeminfo run" passes): a kmem process announces
 * its region there, with a descriptor that can only read it; a forked
 * child announces its own copy.
 */
START_TEST(publish_announced)
{
	const char *const env[] = { "KMEM_STATS_SOCK=200", NULL };
	struct kmem_stats_announce a;
	int sv[2], fd, cfd;
	struct stat st, cst;
	pid_t child;
	struct kid k;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(dup2(sv[1], 200), 200);
	close(sv[1]);
	k = kid_start_fd(KMI_CHILD_BIN, NULL, env, (uid_t)-1, 0, 200);
	close(200);
	kid_cmd(&k, "create kt_ann 32");
	fd = recv_announce(sv[0], &a);
	ck_assert_int_eq(a.pid, k.p.pid);
	ck_assert_int_eq(a.ppid, getpid());
	ck_assert_str_eq(a.comm, "kmi_child");
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
		  MAP_FAILED);
	ck_assert(held_by(fd, k.p.pid));

	child = (pid_t)atoi(kid_cmd(&k, "fork kt_ann 5"));
	cfd = recv_announce(sv[0], &a);
	ck_assert_int_eq(a.pid, child);
	ck_assert_int_eq(a.ppid, k.p.pid);
	ck_assert(held_by(cfd, child));
	ck_assert(!fstat(fd, &st) && !fstat(cfd, &cst));
	ck_assert(st.st_ino != cst.st_ino);	/* its own copy */
	close(cfd);
	close(fd);
	ck_assert_int_eq(kid_stop(&k), 0);
	close(sv[0]);
}
END_TEST

/*
 * Pages mapped ahead are published: buddyinfo --json counts the
 * madvise(MADV_POPULATE_WRITE) calls, past 8 slabs of a cache (slab.md,
 * "Fresh slabs mapped in one call"), and none with KMEM_MAP_AHEAD=0.
 */
START_TEST(live_map_ahead)
{
	const char *const off[] = { "KMEM_MAP_AHEAD=0", NULL };
	struct kid k = kid_start(NULL), d = kid_start(off);
	/* MADV_POPULATE_WRITE (23) is Linux 5.14's: none counted before. */
	void *probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool supported = probe != MAP_FAILED && !madvise(probe, 4096, 23);
	struct jnode *doc;

	if (probe != MAP_FAILED)
		munmap(probe, 4096);
	/* 2,000 objects of 1,000 bytes: 134 slabs of four pages. */
	kid_cmd(&k, "create kt_ahead 1000 nomerge");
	kid_cmd(&k, "alloc kt_ahead 2000");
	kid_cmd(&d, "create kt_ahead 1000 nomerge");
	kid_cmd(&d, "alloc kt_ahead 2000");
	doc = read_json(k.p.pid, "buddyinfo");
	if (supported)
		ck_assert_uint_ge(ju(doc, "os_populates"), 100);
	json_free(doc);
	doc = read_json(d.p.pid, "buddyinfo");
	ck_assert_uint_eq(ju(doc, "os_populates"), 0);
	json_free(doc);
	ck_assert_int_eq(kid_stop(&k), 0);
	ck_assert_int_eq(kid_stop(&d), 0);
}
END_TEST

/*
 * KMEM_THP is published: buddyinfo --json names the mode and counts the
 * madvise(MADV_HUGEPAGE) calls (always: at least the first section's;
 * the default, never: none).
 */
START_TEST(live_thp)
{
	const char *const env[] = { "KMEM_THP=always", NULL };
	struct kid k = kid_start(env), d = kid_start(NULL);
	struct jnode *doc;

	kid_cmd(&k, "create kt_thp 64");
	kid_cmd(&k, "alloc kt_thp 10");
	kid_cmd(&d, "create kt_thp 64");
	kid_cmd(&d, "alloc kt_thp 10");
	doc = read_json(k.p.pid, "buddyinfo");
	ck_assert_str_eq(jget_str(doc, "thp"), "always");
	ck_assert_uint_ge(ju(doc, "os_hugepages"), 1);
	json_free(doc);
	doc = read_json(d.p.pid, "buddyinfo");
	ck_assert_str_eq(jget_str(doc, "thp"), "never");	/* the default */
	ck_assert_uint_eq(ju(doc, "os_hugepages"), 0);
	json_free(doc);
	ck_assert_int_eq(kid_stop(&k), 0);
	ck_assert_int_eq(kid_stop(&d), 0);
}
END_TEST

START_TEST(publish_off)
{
	const char *const env[] = { "KMEM_STATS=0", NULL };
	struct kid k = kid_start(env);
	struct result r;

	kid_cmd(&k, "create kt_off 32");
	kid_cmd(&k, "alloc kt_off 10");
	ck_assert_int_eq(atoi(kid_cmd(&k, "statsfd")), -1);
	r = tool("slabinfo", "-p", pidstr(k.p.pid));
	check_error(&r, ST_NOKMEM, "publishes no kmem statistics");
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

/* A PID that is free: a child's, once reaped. */
static pid_t free_pid(void)
{
	pid_t pid = fork();

	ck_assert(pid >= 0);
	if (!pid)
		_exit(0);
	wait_status(pid);
	return pid;
}

START_TEST(err_no_process)
{
	struct result r = tool("slabinfo", "-p", pidstr(free_pid()));

	check_error(&r, ST_NOPROC, "no process with PID");
	result_free(&r);
}
END_TEST

START_TEST(err_not_kmem)
{
	struct spawn_opts o = { .uid = (uid_t)-1, .pipe_stdin = true };
	char *argv[] = { (char *)"/bin/cat", NULL };
	struct proc cat = spawn(&o, argv);
	struct result r = tool("buddyinfo", "-p", pidstr(cat.pid));

	check_error(&r, ST_NOKMEM, "publishes no kmem statistics");
	result_free(&r);
	r = finish(&cat);
	ck_assert_int_eq(r.status, 0);
	result_free(&r);
}
END_TEST

/* Stopped between its copy and its liveness check, the target exits. */
START_TEST(err_exits_mid_read)
{
	const char *const unset[] = { "KMEMINFO_LIB", NULL };
	const char *const stop[] = { "KMEMINFO_TEST_STOP=1", NULL };
	struct spawn_opts o = { .env = unset, .env2 = stop, .uid = (uid_t)-1 };
	struct kid k = kid_start(NULL);
	char *argv[] = { (char *)KMEMINFO_BIN, (char *)"slabinfo", (char *)"-p",
			 pidstr(k.p.pid), NULL };
	struct proc p;
	struct result r;
	int st;

	kid_cmd(&k, "create kt_mid 32");
	p = spawn(&o, argv);
	ck_assert_int_eq(waitpid(p.pid, &st, WUNTRACED), p.pid);
	ck_assert_msg(WIFSTOPPED(st), "kmeminfo did not stop: %x", st);
	ck_assert_int_eq(kid_stop(&k), 0);	/* exited and reaped */
	kill(p.pid, SIGCONT);
	r = finish(&p);
	check_error(&r, ST_EXITED, "exited while being read");
	result_free(&r);
}
END_TEST

START_TEST(err_zombie)
{
	struct kid k = kid_start(NULL);
	struct result r;
	siginfo_t si;

	kid_cmd(&k, "create kt_z 32");
	fputs("exit 0\n", k.to);
	fflush(k.to);
	/* Wait until it is a zombie, without reaping it. */
	ck_assert(!waitid(P_PID, (id_t)k.p.pid, &si, WEXITED | WNOWAIT));
	r = tool("slabinfo", "-p", pidstr(k.p.pid));
	check_error(&r, ST_EXITED, "has exited");
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

static void check_fake(const char *mode, int status, const char *phrase)
{
	struct kid k = fake_start(mode);
	struct result r = tool("slabinfo", "-p", pidstr(k.p.pid));

	check_error(&r, status, phrase);
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}

START_TEST(err_bad_magic)
{
	check_fake("badmagic", ST_BADMAGIC, "bad magic number 0x1122334455667788");
}
END_TEST

START_TEST(err_version)
{
	check_fake("version", ST_VERSION, "layout version 99");
	/* A library from before the addresses went: refused by name too. */
	check_fake("version1", ST_VERSION,
		   "statistics layout version 1, but this kmeminfo reads version 3");
}
END_TEST

START_TEST(err_geometry)
{
	check_fake("geometry", ST_VERSION, "different geometry");
}
END_TEST

START_TEST(err_torn)
{
	/* A writer that died mid-update, in a process that runs on. */
	check_fake("torn", ST_TORN,
		   "the layout stayed inconsistent for 5 s (generation 25): a writer died mid-update?");
}
END_TEST

/*
 * A process stopped mid-update cannot finish it: said so at once (after
 * the second a file gets), not after the 5 s a running process gets.
 */
START_TEST(err_torn_stopped)
{
	struct kid k = fake_start("torn");
	struct result r;

	ck_assert_int_eq(kill(k.p.pid, SIGSTOP), 0);
	r = tool("slabinfo", "-p", pidstr(k.p.pid));
	check_error(&r, ST_TORN,
		    "the layout stayed inconsistent: the process is stopped in the middle of an update (generation 25)");
	result_free(&r);
	ck_assert_int_eq(kill(k.p.pid, SIGCONT), 0);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

START_TEST(err_torn_record)
{
	check_fake("recseq", ST_TORN,
		   "the figures of cache id 4 stayed inconsistent for 5 s");
}
END_TEST

/*
 * A writer at work is waited for: the page allocator's figures odd for
 * 4 s at a time, moving all along, then settled.  kmeminfo gave up after
 * 1,000 attempts (about a second) before: "the page allocator's figures
 * stayed inconsistent (a writer died mid-update?)", which a busy
 * program's zone lock once earned it (preload_mt_prog at debug level 2).
 */
START_TEST(live_busy_writer_waited_for)
{
	struct kid k = fake_start("busy");
	struct result r = tool("slabinfo", "-p", pidstr(k.p.pid));

	ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "kmalloc-64"));
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

START_TEST(err_other_pid)
{
	check_fake("otherpid", ST_NOKMEM, "publishes no kmem statistics");
}
END_TEST

START_TEST(err_usage)
{
	static const struct {
		const char *args[6];
		const char *phrase;
	} cases[] = {
		{ { NULL }, "no command given" },
		{ { "frobnicate" }, "unknown command 'frobnicate'" },
		{ { "slabinfo", "--bogus" }, "unknown option '--bogus'" },
		{ { "slabinfo", "-x" }, "unknown option '-x'" },
		{ { "slabinfo", "-p" }, "option '-p' needs an argument" },
		{ { "slabinfo", "-p", "abc" }, "'abc' is not a PID" },
		{ { "slabinfo", "-p", "1", "-f", "x" }, "not both" },
		{ { "buddyinfo", "extra" }, "unexpected argument 'extra'" },
		{ { "top", "-o", "-s", "x" }, "unknown sort key 'x'" },
		{ { "top", "-o", "-s", "ab" }, "unknown sort key 'ab'" },
		{ { "top", "-d", "0" }, "bad delay '0'" },
		{ { "top", "-d", "1", "-o" }, "cannot be combined" },
		{ { "watch" }, "-p PID is required" },
		{ { "watch", "-p", "1", "-n", "2" }, "bad sample count '2'" },
		{ { "watch", "-p", "1", "-i", "-1" }, "bad interval '-1'" },
		{ { "run" }, "no command given" },
		{ { "list", "--all" }, "unknown option '--all'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		struct result r = tool(a[0], a[1], a[2], a[3], a[4], a[5]);

		check_error(&r, ST_USAGE, cases[i].phrase);
		result_free(&r);
	}
}
END_TEST

START_TEST(err_file)
{
	char *empty = tmp_path("empty");
	struct result r = tool("slabinfo", "-f", "/nonexistent/region");

	check_error(&r, ST_ERR, "No such file or directory");
	result_free(&r);
	r = tool("slabinfo", "-f", empty);
	check_error(&r, ST_NOKMEM, "not a kmem statistics region");
	result_free(&r);
	unlink(empty);
	free(empty);
}
END_TEST

START_TEST(err_run)
{
	const char *const nolib[] = { "KMEMINFO_LIB=/nonexistent/libkmem-malloc.so", NULL };
	/* Any readable file will do as the library: nothing gets to run. */
	const char *const lib[] = { "KMEMINFO_LIB=" KMI_PLAIN_BIN, NULL };
	struct result r = tool_env(lib, "run", "--", "/nonexistent/program",
				   (char *)NULL);

	check_error(&r, ST_NOTFOUND, "cannot execute '/nonexistent/program'");
	result_free(&r);
	r = tool_env(lib, "run", "/etc/passwd", (char *)NULL);
	check_error(&r, ST_CANTEXEC, "Permission denied");
	result_free(&r);
	r = tool_env(nolib, "run", KMI_PLAIN_BIN, (char *)NULL);
	check_error(&r, ST_NOLIB, "KMEMINFO_LIB=/nonexistent/libkmem-malloc.so");
	result_free(&r);
}
END_TEST

START_TEST(help_manual)
{
	static const char *const statuses[] = {
		"\n       0 ", "\n       1 ", "\n       2 ", "\n       3 ",
		"\n       4 ", "\n       5 ", "\n       6 ", "\n       7 ",
		"\n       8 ", "\n       9 ", "\n       10 ", "\n       11 ",
		"\n       12 ", "\n       126 ", "\n       127 ",
	};
	struct result r = tool("--help");

	check_ok(&r);
	ck_assert_ptr_nonnull(strstr(r.out, "\nEXIT STATUS\n"));
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		ck_assert_msg(strstr(r.out, statuses[i]), "status%s undocumented",
			      statuses[i]);
	for (const char *c = "slabinfo\0buddyinfo\0top\0watch\0profile\0run\0list\0"; *c;
	     c += strlen(c) + 1) {
		char syn[64];

		snprintf(syn, sizeof(syn), "kmeminfo %s", c);
		ck_assert_msg(strstr(r.out, syn), "%s not in the synopsis", syn);
	}
	result_free(&r);
	r = tool("top", "--help");
	check_ok(&r);
	ck_assert_ptr_nonnull(strstr(r.out, "\nEXIT STATUS\n"));
	result_free(&r);
}
END_TEST

/* ---- run ----------------------------------------------------------------- */

static const char *after_fd_line(const char *out)
{
	const char *p = strstr(out, "fd=");

	ck_assert_msg(p, "the program's output is missing: %s", out);
	ck_assert_msg(!strncmp(p, "fd=3\n", 5), "fd 3 was not free: %.8s", p);
	return p + 5;
}

/*
 * "kmeminfo run"'s title line at @out: whose figures follow.  @comm and
 * @role ("the command", "started under the command") must be in it.
 * Return: the pid it names; *@next: the line after it.
 */
static pid_t run_title(const char *out, const char *comm, const char *role,
		       const char **next)
{
	char who[64];
	int pid = 0, n = 0;

	ck_assert_msg(sscanf(out, "# kmeminfo run: pid %d (%63[^)]): %n", &pid,
			     who, &n) == 2 && n > 0,
		      "no title line: %.200s", out);
	ck_assert_str_eq(who, comm);
	ck_assert_msg(!strncmp(out + n, role, strlen(role)), "%.200s", out);
	*next = strchr(out, '\n') + 1;
	return pid;
}

START_TEST(run_figures)
{
	struct result r = tool("run", "--", KMI_PLAIN_BIN, "1000", "3");
	const struct jnode *c;
	struct jnode *doc;
	unsigned long active;
	const char *si, *line;

	ck_assert_msg(r.status == 3, "status %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "");
	run_title(after_fd_line(r.out), "kmi_plain", "the command\n", &si);
	ck_assert(!strncmp(si, KMEM_SLABINFO_HEADER, HEADER_LEN));
	line = strstr(si, "\nmalloc-3k ");
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(sscanf(line, " malloc-3k %lu", &active), 1);
	ck_assert_uint_ge(active, 1000);
	result_free(&r);

	r = tool("run", "--json", KMI_PLAIN_BIN, "1000");
	ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
	doc = parse_json(after_fd_line(r.out));
	c = jcache(doc, "malloc-3k");
	ck_assert_uint_eq(ju(c, "inuse_objs"), 1000);
	ck_assert_uint_ge(ju(c, "allocs"), 1000);
	ck_assert_str_eq(jget_str(jget(doc, "process"), "command"), "kmi_plain");
	ck_assert_str_eq(jget_str(jget(doc, "run"), "role"), "command");
	ck_assert_uint_eq(jget(doc, "other_processes")->nr, 0);
	json_free(doc);
	result_free(&r);
}
END_TEST

START_TEST(run_signal_and_output)
{
	char *out = tmp_path("run");
	struct result r = tool("run", "-O", out, "--", KMI_PLAIN_BIN, "10", "kill");
	const char *l;
	char *si;

	ck_assert_msg(r.status == 128 + SIGTERM, "status %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "fd=3\n");
	si = read_file(out);
	ck_assert_ptr_nonnull(si);
	run_title(si, "kmi_plain", "the command\n", &l);
	ck_assert(!strncmp(l, KMEM_SLABINFO_HEADER, strlen(KMEM_SLABINFO_HEADER)));
	ck_assert_ptr_nonnull(strstr(si, "\nmalloc-3k "));
	free(si);
	result_free(&r);
	unlink(out);
	free(out);
}
END_TEST

/*
 * While CMD runs, Ctrl-C is for CMD: kmeminfo ignores SIGINT (and still
 * prints), and CMD gets SIGINT's default action, not kmeminfo's "ignore".
 */
START_TEST(run_sigint)
{
	struct result r = tool("run", "--", "/bin/sh", "-c",
			       "kill -INT $PPID; exit 7");

	const char *l;

	ck_assert_msg(r.status == 7, "status %d: %s", r.status, r.err);
	run_title(r.out, "sh", "the command", &l);
	ck_assert(!strncmp(l, KMEM_SLABINFO_HEADER, HEADER_LEN));
	result_free(&r);
	r = tool("run", "--", "/bin/sh", "-c", "kill -INT $$; exit 7");
	ck_assert_msg(r.status == 128 + SIGINT, "status %d: %s", r.status,
		      r.err);
	run_title(r.out, "sh", "the command", &l);
	ck_assert(!strncmp(l, KMEM_SLABINFO_HEADER, HEADER_LEN));
	result_free(&r);
}
END_TEST

/* The objects kmi_plain held in the slabinfo text at @si (its 4k cache). */
static unsigned long plain_objs(const char *si)
{
	const char *line = strstr(si, "\nmalloc-3k ");
	unsigned long active = 0;

	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(sscanf(line, " malloc-3k %lu", &active), 1);
	return active;
}

/*
 * A wrapper that execs the real program (a shell script, a shim): the
 * figures are the program's, named as the command, the wrapper named as
 * what it exec'd from.  Before, they were the wrapper's.
 */
START_TEST(run_follows_exec)
{
	struct result r = tool("run", "--", "/bin/sh", "-c",
			       "exec " KMI_PLAIN_BIN " 1000 3");
	const char *si;

	ck_assert_msg(r.status == 3, "status %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "");
	run_title(after_fd_line(r.out), "kmi_plain",
		  "the command, after exec from sh\n", &si);
	ck_assert(!strncmp(si, KMEM_SLABINFO_HEADER, HEADER_LEN));
	ck_assert_uint_ge(plain_objs(si), 1000);
	ck_assert_ptr_null(strstr(si, "# kmeminfo run:"));	/* no other */
	result_free(&r);
}
END_TEST

/*
 * Several kmem processes under the command: each is shown, named by PID
 * and command, the command first; as text and as JSON.
 */
START_TEST(run_several_processes)
{
	const char *script = KMI_PLAIN_BIN " 500 0; " KMI_PLAIN_BIN " 700 2";
	struct result r = tool("run", "--", "/bin/sh", "-c", script);
	const struct jnode *others;
	const char *l, *p1, *p2;
	struct jnode *doc;
	pid_t sh, a, b;

	ck_assert_msg(r.status == 2, "status %d: %s", r.status, r.err);
	l = strstr(r.out, "# kmeminfo run:");
	ck_assert_ptr_nonnull(l);
	sh = run_title(l, "sh", "the command\n", &l);
	l = strstr(l, "# kmeminfo run:");
	ck_assert_ptr_nonnull(l);
	a = run_title(l, "kmi_plain", "started under the command", &p1);
	ck_assert_ptr_nonnull(strstr(l, "(parent pid "));
	l = strstr(p1, "# kmeminfo run:");
	ck_assert_ptr_nonnull(l);
	b = run_title(l, "kmi_plain", "started under the command", &p2);
	ck_assert_ptr_null(strstr(p2, "# kmeminfo run:"));
	ck_assert(sh != a && a != b && sh != b);
	ck_assert_uint_ge(plain_objs(p1), 500);
	ck_assert_uint_lt(plain_objs(p1), 700);
	ck_assert_uint_ge(plain_objs(p2), 700);
	result_free(&r);

	r = tool("run", "--json", "--", "/bin/sh", "-c", script);
	ck_assert_msg(r.status == 2, "status %d: %s", r.status, r.err);
	doc = parse_json(strchr(r.out, '{'));
	ck_assert_str_eq(jget_str(jget(doc, "process"), "command"), "sh");
	ck_assert_str_eq(jget_str(jget(doc, "run"), "role"), "command");
	others = jget(doc, "other_processes");
	ck_assert_uint_eq(others->nr, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct jnode *o = &others->kids[i];
		const struct jnode *run = jget(o, "run");

		ck_assert_str_eq(jget_str(run, "role"), "descendant");
		ck_assert_str_eq(jget_str(run, "command"), "kmi_plain");
		ck_assert_int_eq(ju(run, "ppid"), ju(jget(doc, "run"), "pid"));
		ck_assert_uint_ge(ju(jcache(o, "malloc-3k"), "inuse_objs"),
				  i ? 700 : 500);
	}
	json_free(doc);
	result_free(&r);
}
END_TEST

START_TEST(run_stats_off)
{
	const char *const off[] = { "KMEM_STATS=0", NULL };
	struct result r = tool_env(off, "run", KMI_PLAIN_BIN, "5", "4", (char *)NULL);

	/* The command's status, and a word about the missing figures. */
	ck_assert_int_eq(r.status, 4);
	ck_assert_str_eq(r.out, "fd=3\n");
	ck_assert_ptr_nonnull(strstr(r.err, "published no kmem statistics"));
	ck_assert_uint_eq(count_char(r.err, '\n'), 1);
	result_free(&r);
}
END_TEST

/* ---- watch --------------------------------------------------------------- */

/* The report's line for @name, or NULL. */
static const char *watch_line(const char *out, const char *name)
{
	char key[80];

	snprintf(key, sizeof(key), "\n%s ", name);
	return strstr(out, key);
}

static bool line_flagged(const char *line)
{
	const char *eol = strchr(line + 1, '\n');
	const char *g = strstr(line + 1, "GROWING");

	return g && (!eol || g < eol);
}

/*
 * "kmeminfo watch" on the child, driven sample by sample, so that what it
 * sees does not depend on how the machine schedules the child.  kmeminfo
 * stops after each reading (KMEMINFO_TEST_STOP) and its interval is 1 ms,
 * so each reading comes as soon as the test lets it go on.  Before each,
 * the test sets kt_leak to WATCH_LEAK_RATE objects per second of its
 * clock since the first reading, read just before it lets kmeminfo go: a
 * leak that grows with time, whatever the load (the fit is against the
 * readings' times).  The readings are WATCH_PACE_MS apart when the
 * machine allows, later when it does not (late ones only move the points
 * along the same line).  The leak used to be a thread of the child that
 * allocated one object per 2 ms tick: starved under load (the TSan stage
 * at a load average of 60) it grew in fits, r2 came out 0.645 and the
 * leak was not flagged.  kt_steady is churned by a thread of the child
 * meanwhile (kmeminfo reads a process whose threads run).
 */
#define WATCH_LEAK_RATE	1000	/* objects per second */
#define WATCH_PACE_MS	100

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until_s(double when)
{
	struct timespec ts = { (time_t)when,
			       (long)((when - (double)(time_t)when) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static struct result watch_driven(struct kid *k, int samples, const char *plot,
				  bool json)
{
	const char *const unset[] = { "KMEMINFO_LIB", NULL };
	const char *const stop[] = { "KMEMINFO_TEST_STOP=1", NULL };
	struct spawn_opts o = { .env = unset, .env2 = stop, .uid = (uid_t)-1 };
	char nstr[16], *argv[12];
	int a = 0, st;
	double t0 = 0;
	struct proc p;

	snprintf(nstr, sizeof(nstr), "%d", samples);
	argv[a++] = (char *)KMEMINFO_BIN;
	argv[a++] = (char *)"watch";
	argv[a++] = (char *)"-p";
	argv[a++] = pidstr(k->p.pid);
	argv[a++] = (char *)"-i";
	argv[a++] = (char *)"0.001";
	argv[a++] = (char *)"-n";
	argv[a++] = nstr;
	if (plot) {
		argv[a++] = (char *)"--plot";
		argv[a++] = (char *)plot;
	}
	if (json)
		argv[a++] = (char *)"--json";
	argv[a] = NULL;

	kid_cmd(k, "create kt_leak 1000 nomerge");
	kid_cmd(k, "churn");
	p = spawn(&o, argv);
	for (int i = 0; i < samples; i++) {
		ck_assert_int_eq(waitpid(p.pid, &st, WUNTRACED), p.pid);
		ck_assert_msg(WIFSTOPPED(st), "kmeminfo ended at reading %d", i);
		if (!i)
			t0 = mono_s();
		if (i + 1 < samples) {
			sleep_until_s(t0 + (i + 1) * WATCH_PACE_MS / 1000.0);
			/* The count as of now; again if the child was slow. */
			for (int tries = 0; tries < 5; tries++) {
				double t = mono_s();

				kid_cmd(k, "set kt_leak %ld",
					(long)((t - t0) * WATCH_LEAK_RATE + 0.5));
				if (mono_s() - t < 0.002)
					break;
			}
		}
		kill(p.pid, SIGCONT);
	}
	return finish(&p);
}

START_TEST(watch_flags_the_leak)
{
	struct kid k = kid_start(NULL);
	char *svg_path = tmp_path("plot");
	struct result r;
	char *svg;
	const char *l;
	int flagged = 0;

	r = watch_driven(&k, 12, svg_path, false);
	check_ok(&r);
	l = watch_line(r.out, "kt_leak");
	ck_assert_msg(l && line_flagged(l), "kt_leak not flagged:\n%s", r.out);
	l = watch_line(r.out, "kt_steady");
	ck_assert_msg(l && !line_flagged(l), "kt_steady flagged:\n%s", r.out);
	for (l = strchr(r.out, '\n'); l; l = strchr(l + 1, '\n'))
		flagged += line_flagged(l);
	ck_assert_msg(flagged == 1, "%d caches flagged:\n%s", flagged, r.out);
	ck_assert(!strncmp(r.out, "kmeminfo watch: PID ", 20));
	ck_assert_ptr_nonnull(strstr(r.out, "12 samples"));

	svg = read_file(svg_path);
	ck_assert(svg);
	ck_assert(!strncmp(svg, "<?xml", 5));
	ck_assert_ptr_nonnull(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	ck_assert_ptr_nonnull(strstr(svg, "<polyline"));
	ck_assert_ptr_nonnull(strstr(svg, ">kt_leak"));
	ck_assert_ptr_null(strstr(svg, "kt_steady"));
	ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
	free(svg);
	result_free(&r);
	unlink(svg_path);
	free(svg_path);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/*
 * An unwritable --plot path is refused before sampling starts: here 100
 * samples 10 s apart would take 1000 s, far past the test's timeout.  An
 * existing file is not truncated when there is nothing to draw (the
 * process exits after one sample, kmeminfo held stopped meanwhile as in
 * watch_process_exits).
 */
START_TEST(watch_plot_checked_first)
{
	const char *const unset[] = { "KMEMINFO_LIB", NULL };
	const char *const stop[] = { "KMEMINFO_TEST_STOP=1", NULL };
	struct spawn_opts o = { .env = unset, .env2 = stop, .uid = (uid_t)-1 };
	struct kid k = kid_start(NULL);
	char *keep = tmp_path("plot-keep");
	char *argv[] = { (char *)KMEMINFO_BIN, (char *)"watch", (char *)"-p",
			 pidstr(k.p.pid), (char *)"-i", (char *)"0.01",
			 (char *)"-n", (char *)"100", (char *)"--plot", keep,
			 NULL };
	struct result r;
	struct proc p;
	char *old;
	FILE *f;
	int st;

	kid_cmd(&k, "create kt_p 64 nomerge");
	r = tool("watch", "-p", pidstr(k.p.pid), "-i", "10", "-n", "100",
		 "--plot", "/nonexistent-dir/leak.svg");
	ck_assert_msg(r.status == ST_ERR, "status %d: %s", r.status, r.err);
	ck_assert_ptr_nonnull(strstr(r.err, "cannot write /nonexistent-dir/leak.svg"));
	ck_assert_str_eq(r.out, "");
	result_free(&r);

	f = fopen(keep, "w");
	ck_assert_ptr_nonnull(f);
	fputs("previous chart\n", f);
	fclose(f);
	p = spawn(&o, argv);
	ck_assert_int_eq(waitpid(p.pid, &st, WUNTRACED), p.pid);
	ck_assert(WIFSTOPPED(st));
	ck_assert_int_eq(kid_stop(&k), 0);
	kill(p.pid, SIGCONT);
	r = finish(&p);
	ck_assert_int_ne(r.status, 0);
	old = read_file(keep);
	ck_assert_ptr_nonnull(old);
	ck_assert_str_eq(old, "previous chart\n");
	free(old);
	result_free(&r);
	unlink(keep);
	free(keep);
}
END_TEST

START_TEST(watch_json)
{
	struct kid k = kid_start(NULL);
	const struct jnode *caches;
	struct result r;
	struct jnode *doc;
	int growing = 0;

	r = watch_driven(&k, 10, NULL, true);
	check_ok(&r);
	doc = parse_json(r.out);
	ck_assert_uint_eq(ju(doc, "samples"), 10);
	ck_assert_uint_eq(jget(doc, "times")->nr, 10);
	caches = jget(doc, "caches");
	for (size_t i = 0; i < caches->nr; i++) {
		const struct jnode *c = &caches->kids[i];
		bool g = jget(c, "growing")->b;

		ck_assert_uint_eq(jget(c, "values")->nr, 10);
		growing += g;
		if (!strcmp(jget_str(c, "name"), "kt_leak"))
			ck_assert_msg(g, "kt_leak not growing:\n%s", r.out);
	}
	ck_assert_int_eq(growing, 1);
	json_free(doc);
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/*
 * The same rule on series the test sets exactly: kmeminfo stops after
 * each sample (KMEMINFO_TEST_STOP) and the test moves each cache to its
 * next value before letting it go on.  Each series tests one part of
 * the rule:
 *   kt_leak   +10 every sample                  GROWING
 *   kt_flat   constant                          slope 0
 *   kt_warm   grows, levels off at the middle   r2 0.84, but middle == last
 *   kt_jumpy  rises overall, but jumps about    first < middle < last, r2 0.06
 *   kt_step   one step, early                   r2 < 0.8, middle == last
 */
START_TEST(watch_rule)
{
	enum { N = 12 };
	static const struct {
		const char *name;
		int v[N];
		bool growing;
	} s[] = {
		{ "kt_leak", { 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110 }, true },
		{ "kt_flat", { 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30 }, false },
		{ "kt_warm", { 0, 10, 20, 30, 40, 50, 60, 60, 60, 60, 60, 60 }, false },
		{ "kt_jumpy", { 0, 90, 0, 90, 0, 90, 10, 90, 10, 90, 20, 95 }, false },
		{ "kt_step", { 0, 0, 0, 50, 50, 50, 50, 50, 50, 50, 50, 50 }, false },
	};
	const size_t ns = sizeof(s) / sizeof(s[0]);
	const char *const unset[] = { "KMEMINFO_LIB", NULL };
	const char *const stop[] = { "KMEMINFO_TEST_STOP=1", NULL };
	struct spawn_opts o = { .env = unset, .env2 = stop, .uid = (uid_t)-1 };
	struct kid k = kid_start(NULL);
	char *argv[] = { (char *)KMEMINFO_BIN, (char *)"watch", (char *)"-p",
			 pidstr(k.p.pid), (char *)"-i", (char *)"0.001",
			 (char *)"-n", (char *)"12", NULL };
	double resumed = 0;
	struct proc p;
	struct result r;
	int st;

	for (size_t c = 0; c < ns; c++) {
		kid_cmd(&k, "create %s 200 nomerge", s[c].name);
		kid_cmd(&k, "set %s %d", s[c].name, s[c].v[0]);
	}
	/*
	 * The readings come when the test lets kmeminfo go on (1 ms
	 * interval), WATCH_PACE_MS after the previous one at the earliest:
	 * evenly spaced unless the machine delays the test's five "set"s,
	 * and a late one only widens one gap (kmeminfo's own schedule would
	 * then take the next readings at once, bunched).
	 */
	p = spawn(&o, argv);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(waitpid(p.pid, &st, WUNTRACED), p.pid);
		ck_assert(WIFSTOPPED(st));
		if (!i)
			resumed = mono_s();	/* about when reading 0 was */
		for (size_t c = 0; i + 1 < N && c < ns; c++)
			kid_cmd(&k, "set %s %d", s[c].name, s[c].v[i + 1]);
		sleep_until_s(resumed + WATCH_PACE_MS / 1000.0);
		resumed = mono_s();
		kill(p.pid, SIGCONT);
	}
	r = finish(&p);
	check_ok(&r);
	for (size_t c = 0; c < ns; c++) {
		const char *l = watch_line(r.out, s[c].name);
		double first, last;

		ck_assert_msg(l, "%s missing:\n%s", s[c].name, r.out);
		ck_assert_int_eq(sscanf(l + strlen(s[c].name) + 1, "%lf %lf",
					&first, &last), 2);
		ck_assert(first == s[c].v[0] && last == s[c].v[N - 1]);
		ck_assert_msg(line_flagged(l) == s[c].growing, "%s:\n%s",
			      s[c].name, r.out);
	}
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* The process exits after 4 samples: report them, then say so. */
START_TEST(watch_process_exits)
{
	const char *const unset[] = { "KMEMINFO_LIB", NULL };
	const char *const stop[] = { "KMEMINFO_TEST_STOP=1", NULL };
	struct spawn_opts o = { .env = unset, .env2 = stop, .uid = (uid_t)-1 };
	struct kid k = kid_start(NULL);
	char *argv[] = { (char *)KMEMINFO_BIN, (char *)"watch", (char *)"-p",
			 pidstr(k.p.pid), (char *)"-i", (char *)"0.01",
			 (char *)"-n", (char *)"100", NULL };
	struct proc p;
	struct result r;
	int st;

	kid_cmd(&k, "create kt_w 64 nomerge");
	p = spawn(&o, argv);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(p.pid, &st, WUNTRACED), p.pid);
		ck_assert(WIFSTOPPED(st));
		if (i == 3)
			ck_assert_int_eq(kid_stop(&k), 0);
		kill(p.pid, SIGCONT);
	}
	r = finish(&p);
	ck_assert_int_eq(r.status, ST_EXITED);
	ck_assert_ptr_nonnull(strstr(r.out, ", 3 samples over"));
	ck_assert_ptr_nonnull(watch_line(r.out, "kt_w"));
	ck_assert_ptr_nonnull(strstr(r.err, "exited while being read"));
	ck_assert_uint_eq(count_char(r.err, '\n'), 1);
	result_free(&r);
}
END_TEST

/* ---- top ----------------------------------------------------------------- */

/* The rows of "top -o" / "slabtop -o": after the heading line. */
static const char *top_rows(const char *out)
{
	const char *h = strstr(out, "  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME");

	ck_assert_msg(h, "no heading in:\n%s", out);
	return strchr(h, '\n') + 1;
}

START_TEST(top_once_sort_keys)
{
	struct kid k = fake_start("golden");
	/* Column of each displayed key, and whether it sorts up (name). */
	static const struct { char key; int col; } keys[] = {
		{ 'o', 0 }, { 'a', 1 }, { 'u', 2 }, { 's', 3 }, { 'l', 4 },
		{ 'b', 5 }, { 'c', 6 }, { 'n', 7 }, { 'v', -1 }, { 'p', -1 },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char key[2] = { keys[i].key, 0 };
		struct result r = tool("top", "-o", "-s", key, "-p", pidstr(k.p.pid));
		double prev = 1e300;
		char prev_name[64] = "";
		int rows = 0;

		check_ok(&r);
		for (const char *l = top_rows(r.out); *l;
		     l = strchr(l, '\n') + 1) {
			double v[7];
			char name[64];

			ck_assert_int_eq(sscanf(l,
				"%lf %lf %lf%% %lfK %lf %lf %lfK %63s", &v[0],
				&v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
				name), 8);
			if (keys[i].col == 7)
				ck_assert_msg(strcmp(prev_name, name) < 0,
					      "-s n: %s after %s", name, prev_name);
			else if (keys[i].col >= 0)
				ck_assert_msg(v[keys[i].col] <= prev,
					      "-s %c not descending:\n%s", keys[i].key,
					      r.out);
			if (keys[i].col >= 0 && keys[i].col < 7)
				prev = v[keys[i].col];
			snprintf(prev_name, sizeof(prev_name), "%s", name);
			rows++;
		}
		ck_assert_int_eq(rows, 5);
		result_free(&r);
	}
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

struct pty_run {
	char *out;
	size_t len;
	int status;
	struct termios after;
};

static bool out_has(const struct pty_run *t, const char *s)
{
	return memmem(t->out, t->len, s, strlen(s)) != NULL;
}

static void pty_read(int master, struct pty_run *t, int ms)
{
	struct pollfd pfd = { master, POLLIN, 0 };
	char buf[4096];

	if (poll(&pfd, 1, ms) > 0) {
		ssize_t n = read(master, buf, sizeof(buf));

		if (n > 0)
			append(&t->out, &t->len, buf, (size_t)n);
	}
}

/*
 * kmeminfo top on a pseudo-terminal: wait for @ready on screen, call
 * @act (keys, signals...), then collect everything until it exits.
 */
static struct pty_run pty_top(pid_t target, const char *ready,
			      void (*act)(int master, pid_t pid, void *arg),
			      void *arg)
{
	struct winsize ws = { .ws_row = 50, .ws_col = 100 };
	struct pty_run t = { 0 };
	struct timespec t0, now;
	int master, slave, st;
	bool acted = false;
	pid_t pid;

	append(&t.out, &t.len, "", 0);
	pid = forkpty(&master, NULL, NULL, &ws);
	ck_assert(pid >= 0);
	if (!pid) {
		setenv("TERM", "xterm", 1);
		unsetenv("KMEMINFO_TEST_STOP");
		execl(KMEMINFO_BIN, KMEMINFO_BIN, "top", "-d", "0.2", "-p",
		      pidstr(target), (char *)NULL);
		_exit(127);
	}
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	ck_assert(slave >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pty_read(master, &t, 50);
		if (!acted && out_has(&t, ready)) {
			act(master, pid, arg);
			acted = true;
		}
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 20) {
			kill(pid, SIGKILL);
			ck_abort_msg("kmeminfo top did not finish; screen:\n%s", t.out);
		}
	}
	for (int i = 0; i < 5; i++)
		pty_read(master, &t, 20);
	ck_assert_msg(acted, "never saw '%s' on screen:\n%s", ready, t.out);
	t.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	ck_assert(!tcgetattr(slave, &t.after));
	close(slave);
	close(master);
	return t;
}

static void send_keys(int master, pid_t pid, void *arg)
{
	const char *keys = arg;

	(void)pid;
	for (; *keys; keys++)
		ck_assert(write(master, keys, 1) == 1);
}

/* The screen was taken (smcup) and given back (rmcup), echo restored. */
static void check_restored(const struct pty_run *t)
{
	const char *on = memmem(t->out, t->len, "\033[?1049h", 8);
	const char *off = memmem(t->out, t->len, "\033[?1049l", 8);

	ck_assert_msg(on && off && off > on, "screen not restored");
	ck_assert(t->after.c_lflag & ECHO);
	ck_assert(t->after.c_lflag & ICANON);
}

START_TEST(top_live_quit)
{
	struct kid k = kid_start(NULL);
	struct pty_run t;

	kid_cmd(&k, "create kt_top 128 nomerge");
	kid_cmd(&k, "alloc kt_top 100");
	t = pty_top(k.p.pid, "kt_top", send_keys, (void *)"nq");
	ck_assert_msg(t.status == 0, "status %d:\n%s", t.status, t.out);
	ck_assert(out_has(&t, "Active / Total Objects (% used)"));
	ck_assert(out_has(&t, "Minimum / Average / Maximum Object"));
	ck_assert(out_has(&t, "OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME"));
	ck_assert(out_has(&t, "kmi_child"));
	check_restored(&t);
	free(t.out);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

START_TEST(top_live_ctrl_c)
{
	struct kid k = kid_start(NULL);
	struct pty_run t;

	kid_cmd(&k, "create kt_top 128 nomerge");
	kid_cmd(&k, "alloc kt_top 100");
	t = pty_top(k.p.pid, "kt_top", send_keys, (void *)"\003");
	ck_assert_msg(t.status == 0, "status %d:\n%s", t.status, t.out);
	check_restored(&t);
	free(t.out);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

static void end_target(int master, pid_t pid, void *arg)
{
	(void)master;
	(void)pid;
	ck_assert_int_eq(kid_stop(arg), 0);
}

START_TEST(top_live_target_exits)
{
	struct kid k = kid_start(NULL);
	struct pty_run t;
	const char *off, *msg;

	kid_cmd(&k, "create kt_top 128 nomerge");
	kid_cmd(&k, "alloc kt_top 100");
	t = pty_top(k.p.pid, "kt_top", end_target, &k);
	ck_assert_msg(t.status == ST_EXITED, "status %d:\n%s", t.status, t.out);
	check_restored(&t);
	off = memmem(t.out, t.len, "\033[?1049l", 8);
	msg = memmem(t.out, t.len, "kmeminfo: process ", 18);
	ck_assert_msg(msg && msg > off, "no message after the screen:\n%s", t.out);
	ck_assert(out_has(&t, "exited while being read") || out_has(&t, "has exited") ||
		  out_has(&t, "no process with PID"));
	free(t.out);
}
END_TEST

START_TEST(top_needs_terminal)
{
	struct kid k = fake_start("golden");
	struct result r = tool("top", "-p", pidstr(k.p.pid));

	check_error(&r, ST_ERR, "needs a terminal");
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* ---- slabtop (procps) reads our slabinfo --------------------------------- */

static const char *slabtop_bin;

/*
 * slabtop -o -s @key with @file bind-mounted over /proc/slabinfo in a
 * private mount namespace.  Return: its status, SKIP if the namespace
 * or the mount is not allowed here (@why says which).
 */
static int slabtop_on(const char *file, const char *key, char **out,
		      char *why, size_t whylen)
{
	int pipefd[2], errfd[2];
	struct proc p;
	struct result r;

	if (pipe2(pipefd, O_CLOEXEC) || pipe2(errfd, O_CLOEXEC))
		return 1;
	p.pid = fork();
	if (p.pid < 0)
		return 1;
	if (!p.pid) {
		dup2(pipefd[1], 1);
		dup2(errfd[1], 2);
		if (unshare(CLONE_NEWNS)) {
			fprintf(stderr, "unshare(CLONE_NEWNS): %s", strerror(errno));
			_exit(SKIP);
		}
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
			fprintf(stderr, "making / private: %s", strerror(errno));
			_exit(SKIP);
		}
		if (mount(file, "/proc/slabinfo", NULL, MS_BIND, NULL)) {
			fprintf(stderr, "bind mount over /proc/slabinfo: %s",
				strerror(errno));
			_exit(SKIP);
		}
		setenv("LC_ALL", "C", 1);
		execl(slabtop_bin, "slabtop", "-o", "-s", key, (char *)NULL);
		fprintf(stderr, "exec %s: %s", slabtop_bin, strerror(errno));
		_exit(SKIP);
	}
	close(pipefd[1]);
	close(errfd[1]);
	p.in = -1;
	p.out = pipefd[0];
	p.err = errfd[0];
	r = finish(&p);
	snprintf(why, whylen, "%s", r.err);
	*out = r.out;
	free(r.err);
	return r.status;
}

static void check_slabtop_same(const char *file, const char *key, pid_t pid)
{
	char why[512], *st;
	char k[2] = { key[0], 0 };
	int status = slabtop_on(file, key, &st, why, sizeof(why));
	struct result r;

	ck_assert_msg(status == 0, "slabtop: %d %s", status, why);
	r = tool("top", "-o", "-s", k, "-p", pidstr(pid));
	check_ok(&r);
	ck_assert_msg(!strcmp(st, r.out), "slabtop -o -s %s:\n%s\nkmeminfo top:\n%s",
		      key, st, r.out);
	result_free(&r);
	free(st);
}

START_TEST(slabtop_golden)
{
	struct kid k = fake_start("golden");
	char path[4096], why[512], *st, *want = golden("top.txt");

	snprintf(path, sizeof(path), "%s/slabinfo.txt", GOLDEN_DIR);
	ck_assert_int_eq(slabtop_on(path, "o", &st, why, sizeof(why)), 0);
	ck_assert_str_eq(st, want);
	free(st);
	for (const char *key = "onacslbuvp"; *key; key++)
		check_slabtop_same(path, (char[]){ *key, 0 }, k.p.pid);
	free(want);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

START_TEST(slabtop_live)
{
	struct kid k = kid_start(NULL);
	char *si = tmp_path("slabinfo"), why[512], *st;
	struct result r;
	FILE *f;

	kid_cmd(&k, "create kt_st1 100");
	kid_cmd(&k, "alloc kt_st1 700");
	kid_cmd(&k, "create kt_st2 2000 nomerge");
	kid_cmd(&k, "alloc kt_st2 33");
	r = tool("slabinfo", "-p", pidstr(k.p.pid));
	check_ok(&r);
	f = fopen(si, "w");
	ck_assert(f && fputs(r.out, f) >= 0 && !fclose(f));
	ck_assert_int_eq(slabtop_on(si, "n", &st, why, sizeof(why)), 0);
	/* slabtop lists our caches with our figures. */
	for (const char *name = "kt_st1\0kt_st2\0kmalloc-8\0"; *name;
	     name += strlen(name) + 1) {
		unsigned long a, n, sa, sn;
		char key[64];
		const char *l, *row;

		snprintf(key, sizeof(key), "\n%s ", name);
		l = strstr(r.out, key);
		ck_assert_msg(l, "%s not in our slabinfo", name);
		ck_assert_int_eq(sscanf(l + strlen(key), "%lu %lu", &a, &n), 2);
		for (row = top_rows(st); *row; row = strchr(row, '\n') + 1) {
			char rn[64];

			if (sscanf(row, "%lu %lu %*s %*s %*s %*s %*s %63s", &sn, &sa,
				   rn) == 3 && !strcmp(rn, name))
				break;
		}
		ck_assert_msg(*row, "slabtop does not list %s:\n%s", name, st);
		ck_assert_uint_eq(sn, n);
		ck_assert_uint_eq(sa, a);
	}
	free(st);
	result_free(&r);
	check_slabtop_same(si, "n", k.p.pid);
	check_slabtop_same(si, "c", k.p.pid);
	unlink(si);
	free(si);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* Can we bind-mount @file over /proc/slabinfo in a new namespace? */
static bool mount_allowed(const char *file, char *why, size_t whylen)
{
	int pipefd[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd))
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (!pid) {
		const char *what = NULL;

		close(pipefd[0]);
		if (unshare(CLONE_NEWNS))
			what = "unshare(CLONE_NEWNS)";
		else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			what = "making / private";
		else if (mount(file, "/proc/slabinfo", NULL, MS_BIND, NULL))
			what = "bind mount over /proc/slabinfo";
		if (what)
			dprintf(pipefd[1], "%s: %s", what, strerror(errno));
		_exit(what ? 1 : 0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], why, whylen - 1);
	why[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int slabtop_main(void)
{
	static const char *const cands[] = {
		"/usr/bin/slabtop", "/bin/slabtop", "/usr/local/bin/slabtop", NULL
	};
	char path[4096], why[512];
	SRunner *sr;
	Suite *s;
	TCase *tc;
	int failed;

	for (int i = 0; cands[i]; i++)
		if (!access(cands[i], X_OK))
			slabtop_bin = cands[i];
	if (!slabtop_bin) {
		printf("SKIP: slabtop (procps) is not installed\n");
		return SKIP;
	}
	if (access("/proc/slabinfo", F_OK)) {
		printf("SKIP: this kernel has no /proc/slabinfo to mount over\n");
		return SKIP;
	}
	snprintf(path, sizeof(path), "%s/slabinfo.txt", GOLDEN_DIR);
	if (!mount_allowed(path, why, sizeof(why))) {
		printf("SKIP: cannot bind-mount over /proc/slabinfo here: %s\n", why);
		return SKIP;
	}
	s = suite_create("slabtop");
	tc = tcase_create("slabtop");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, slabtop_golden);
	tcase_add_test(tc, slabtop_live);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/* ---- another user's process ---------------------------------------------- */

static uid_t owner_uid, reader_uid;
static gid_t owner_gid, reader_gid;
/* The programs the two users run: the build's, or copies (stage_bins). */
static const char *perm_tool = KMEMINFO_BIN, *perm_child = KMI_CHILD_BIN;
static char stage_dir[64], stage_tool[128], stage_child[128];

/* kmeminfo CMD [-p PID] as @uid (no -p when @pid is 0). */
static struct result tool_as(uid_t uid, gid_t gid, const char *cmd, pid_t pid)
{
	const char *const unset[] = { "KMEMINFO_LIB", "KMEMINFO_TEST_STOP", NULL };
	struct spawn_opts o = { .env = unset, .uid = uid, .gid = gid };
	char *argv[] = { (char *)perm_tool, (char *)cmd, (char *)"-p",
			 pidstr(pid), NULL };
	struct proc p;

	if (!pid)
		argv[2] = NULL;
	p = spawn(&o, argv);
	return finish(&p);
}

START_TEST(perm_other_user)
{
	struct kid k = kid_start_as(perm_child, NULL, NULL, owner_uid,
				    owner_gid);
	struct result r;
	char line[64];

	kid_cmd(&k, "create kt_perm 64 nomerge");
	kid_cmd(&k, "alloc kt_perm 10");
	/* Another unprivileged user: refused, by the kernel. */
	r = tool_as(reader_uid, reader_gid, "slabinfo", k.p.pid);
	check_error(&r, ST_PERM, "permission denied");
	result_free(&r);
	r = tool_as(reader_uid, reader_gid, "buddyinfo", k.p.pid);
	check_error(&r, ST_PERM, "permission denied");
	result_free(&r);
	/* Its own user: allowed.  So the refusal above was about the user. */
	r = tool_as(owner_uid, owner_gid, "slabinfo", k.p.pid);
	check_ok(&r);
	ck_assert_ptr_nonnull(strstr(r.out, "\nkt_perm "));
	result_free(&r);
	/* And list shows it to its owner only. */
	snprintf(line, sizeof(line), "\n%7d kmi_child\n", (int)k.p.pid);
	r = tool_as(owner_uid, owner_gid, "list", 0);
	check_ok(&r);
	ck_assert_msg(strstr(r.out, line), "owner's list:\n%s", r.out);
	result_free(&r);
	r = tool_as(reader_uid, reader_gid, "list", 0);
	check_ok(&r);
	ck_assert_msg(!strstr(r.out, line), "other user's list:\n%s", r.out);
	result_free(&r);
	ck_assert_int_eq(kid_stop(&k), 0);
}
END_TEST

/* Can @uid run @bin (with --version, or end of input)? */
static bool runs_as(uid_t uid, gid_t gid, const char *bin)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return false;
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		drop_to(uid, gid);
		execl(bin, bin, "--version", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Copy @from to @to, mode 0755. */
static bool copy_prog(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n = 0;
	bool ok;

	if (in < 0)
		return false;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return false;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			n = -1;
			break;
		}
	ok = n == 0 && fchmod(out, 0755) == 0;
	close(in);
	ok = close(out) == 0 && ok;
	return ok;
}

static void unstage_bins(void)
{
	if (!stage_dir[0])
		return;
	unlink(stage_tool);
	unlink(stage_child);
	rmdir(stage_dir);
	stage_dir[0] = 0;
	perm_tool = KMEMINFO_BIN;
	perm_child = KMI_CHILD_BIN;
}

/*
 * A build tree under a private directory (a checkout in a 0700 home or
 * mktemp -d) cannot be entered by the two users.  Both programs stand
 * alone (kmi_child links libkmem statically), so copies in a directory
 * of their own under /tmp serve.
 */
static bool stage_bins(void)
{
	snprintf(stage_dir, sizeof(stage_dir), "/tmp/kmeminfo-perm.XXXXXX");
	if (!mkdtemp(stage_dir)) {
		stage_dir[0] = 0;
		return false;
	}
	snprintf(stage_tool, sizeof(stage_tool), "%s/kmeminfo", stage_dir);
	snprintf(stage_child, sizeof(stage_child), "%s/kmi_child", stage_dir);
	if (chmod(stage_dir, 0755) || !copy_prog(KMEMINFO_BIN, stage_tool) ||
	    !copy_prog(KMI_CHILD_BIN, stage_child)) {
		unstage_bins();
		return false;
	}
	perm_tool = stage_tool;
	perm_child = stage_child;
	return true;
}

static int perm_main(void)
{
	struct passwd *owner, *reader;
	SRunner *sr;
	Suite *s;
	TCase *tc;
	int failed;

	if (geteuid() != 0) {
		printf("SKIP: needs root to start processes as two other users\n");
		return SKIP;
	}
	owner = getpwnam("nobody");
	if (!owner) {
		printf("SKIP: no user 'nobody'\n");
		return SKIP;
	}
	owner_uid = owner->pw_uid;
	owner_gid = owner->pw_gid;
	reader = getpwnam("daemon");
	if (!reader || reader->pw_uid == owner_uid) {
		printf("SKIP: no user 'daemon' distinct from 'nobody'\n");
		return SKIP;
	}
	reader_uid = reader->pw_uid;
	reader_gid = reader->pw_gid;
	if ((!runs_as(reader_uid, reader_gid, perm_tool) ||
	     !runs_as(owner_uid, owner_gid, perm_tool) ||
	     !runs_as(owner_uid, owner_gid, perm_child)))
		stage_bins();
	if (!runs_as(reader_uid, reader_gid, perm_tool)) {
		printf("SKIP: user daemon cannot run %s\n", perm_tool);
		unstage_bins();
		return SKIP;
	}
	if (!runs_as(owner_uid, owner_gid, perm_tool) ||
	    !runs_as(owner_uid, owner_gid, perm_child)) {
		printf("SKIP: user nobody cannot run the test programs\n");
		unstage_bins();
		return SKIP;
	}
	s = suite_create("perm");
	tc = tcase_create("perm");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, perm_other_user);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	unstage_bins();
	return failed ? 1 : 0;
}

/* ---- main ---------------------------------------------------------------- */

static Suite *suite(const char *name, const TTest *const *tests)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 60);
	for (; *tests; tests++)
		tcase_add_test(tc, *tests);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	const TTest *const golden_tests[] = {
		golden_slabinfo_file, golden_buddyinfo_file, golden_by_pid,
		golden_slabinfo_json, golden_buddyinfo_json, golden_corrupt,
		NULL
	};
	const TTest *const live_tests[] = {
		live_figures, live_same_as_library, live_threads,
		live_magazine_mode, live_magazine_trim, live_order,
		live_list, live_ambiguous, NULL
	};
	const TTest *const fork_tests[] = {
		fork_own_figures, fork_with_threads,
		fork_prepare_handler_allocates, fork_descriptor_reused, NULL
	};
	const TTest *const publish_tests[] = {
		publish_fd3_cloexec, publish_announced, publish_off, live_thp,
		live_map_ahead,
		NULL
	};
	const TTest *const error_tests[] = {
		err_no_process, err_not_kmem, err_exits_mid_read, err_zombie,
		err_bad_magic, err_version, err_geometry, err_torn,
		err_torn_stopped, err_torn_record, live_busy_writer_waited_for,
		err_other_pid, err_usage, err_file, err_run,
		help_manual, NULL
	};
	const TTest *const run_tests[] = {
		run_figures, run_signal_and_output, run_sigint, run_stats_off,
		run_follows_exec, run_several_processes, NULL
	};
	const TTest *const watch_tests[] = {
		watch_flags_the_leak, watch_json, watch_rule,
		watch_process_exits, watch_plot_checked_first, NULL
	};
	const TTest *const top_tests[] = {
		top_once_sort_keys, top_live_quit, top_live_ctrl_c,
		top_live_target_exits, top_needs_terminal, NULL
	};
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && !strcmp(argv[1], "slabtop"))
		return slabtop_main();
	if (argc > 1 && !strcmp(argv[1], "perm"))
		return perm_main();
	sr = srunner_create(suite("golden", golden_tests));
	srunner_add_suite(sr, suite("live", live_tests));
	srunner_add_suite(sr, suite("fork", fork_tests));
	srunner_add_suite(sr, suite("publish", publish_tests));
	srunner_add_suite(sr, suite("errors", error_tests));
	srunner_add_suite(sr, suite("run", run_tests));
	srunner_add_suite(sr, suite("watch", watch_tests));
	srunner_add_suite(sr, suite("top", top_tests));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
