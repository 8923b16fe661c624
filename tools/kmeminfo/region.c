// SPDX-License-Identifier: MIT
/*
 * tools/kmeminfo/region.c - find a process's statistics region and read it.
 *
 * Finding: a kmem process keeps its region in a memfd named "kmem-stats"
 * (include/kmem/stats.h).  /proc/PID/fd lists it as a link to
 * "/memfd:kmem-stats (deleted)"; opening that link gives a new read-only
 * file description of the same memory.  The kernel allows both only to
 * the process's own user or root (the /proc/PID/fd rule, which also
 * refuses non-dumpable processes), so kmeminfo needs no privilege of its
 * own and grants none.  A process may hold more than one such memfd
 * ("kmeminfo run" holds its child's): the one whose header names the
 * process (header.pid, compared in every PID namespace the process is in)
 * is its own.  A region whose magic is 0 is not set up yet and is passed
 * over; one with another magic or layout version is reported, not read.
 *
 * Reading: the mapping is never read in place by the formatters; each
 * reading copies it into a struct kmi_snapshot under the writer's
 * sequence counters:
 *
 *   header.layout_seq  odd while cache records or units come and go: the
 *                      header, the records in use and the units are
 *                      copied between two equal even reads of it;
 *   record.seq         odd while a cache's figures change: each record is
 *                      copied again the same way;
 *   header.buddy_seq   the same for the page allocator's figures.
 *
 * Per-thread counters are single words, read as they are.  A copy that
 * does not settle is reported as torn rather than shown, after a wait
 * that tells a writer at work from one that cannot finish (struct
 * kmi_settle).  Every offset and length taken from the region
 * is checked against the mapping before use, and a SIGBUS (a region
 * truncated under us) ends the reading with an error instead of a crash.
 *
 * Liveness: a region outlives its process while a reader holds it open,
 * so each reading of a process ends by checking that the process is
 * still there and is the same one (its start time in /proc/PID/stat); a
 * reading of a process that exited meanwhile is refused.
 *
 * Only the used parts of the region are touched: reading a page of a
 * memfd that was never written would make the kernel allocate it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kmeminfo.h"

/*
 * How long a copy keeps trying (kmi_settle_again()).  A counter that
 * moves has a writer at work: kmeminfo tries again at once, for up to
 * KMI_BUSY_SECS in all.  A counter that holds one value belongs to a
 * writer in the middle of an update that is late (descheduled on a busy
 * machine), stopped, or dead: KMI_STUCK_SECS for a process that runs,
 * KMI_STILL_SECS for a stopped one or a file, whose writer cannot move.
 */
#define KMI_BUSY_SECS	30.0
#define KMI_STUCK_SECS	5.0
#define KMI_STILL_SECS	1.0
#define KMI_SPIN_TRIES	50	/* tries on a still counter before sleeping */
#define KMI_MAX_NSPID	8	/* nested PID namespaces looked at */

/*
 * The record's creation sequence number (see Documentation/kmeminfo.md,
 * "Cache order").  A region from a library that predates it has 0 there:
 * the cache id stands in, ids being given lowest-free first, so that
 * order is the creation order as long as no cache was destroyed.
 */
static uint64_t record_created(const struct kmem_stats_cache *r)
{
	if (r->created)
		return r->created;
	return (uint64_t)r->id + 1;
}

/* ---- /proc --------------------------------------------------------------- */

static int read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return (int)got;
}

/*
 * The state letter and start time of @pid from /proc/PID/stat.
 * Return: 0, or -errno (-ENOENT: no such process).
 */
static int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024];
	char *p;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	/* "pid (comm) S ppid ...": comm may hold ')' and spaces. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EINVAL;
	*state = p[2];
	p += 3;
	/* Skip fields 4..21 to reach 22, starttime. */
	for (int field = 4; field <= 21; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

/**
 * kmi_read_comm - the command name of @pid ("?" if unknown)
 * @pid: process
 * @buf: destination
 * @len: its size
 */
void kmi_read_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	n = read_small_file(path, buf, len);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

/*
 * The PIDs of @pid in each namespace it is in (NSpid in /proc/PID/status;
 * @pid itself on kernels without it).  Return: how many.
 */
static int proc_nspids(pid_t pid, int32_t *out, int max)
{
	char path[64], buf[4096];
	char *p, *end;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	out[n++] = (int32_t)pid;
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return n;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return n;
	p += strlen("\nNSpid:");
	while (n < max) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		out[n++] = (int32_t)v;
		p = end;
	}
	return n;
}

/* ---- guarded access to the mapping --------------------------------------- */

static sigjmp_buf *bus_env;

static void bus_handler(int sig)
{
	if (bus_env)
		siglongjmp(*bus_env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void bus_guard_install(void)
{
	static bool installed;
	struct sigaction sa;

	if (installed)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bus_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	installed = true;
}

/* Seqlock helpers: the writer's counters, read from the mapping. */
static inline uint64_t seq_begin(const uint64_t *seq)
{
	return __atomic_load_n(seq, __ATOMIC_ACQUIRE);
}

static inline bool seq_retry(const uint64_t *seq, uint64_t start)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(seq, __ATOMIC_RELAXED) != start;
}

static double now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/**
 * kmi_settle_init - start waiting for a seqlock copy to settle
 * @w:   the wait
 * @src: whose region is copied (its process is looked at while waiting)
 */
void kmi_settle_init(struct kmi_settle *w, const struct kmi_source *src)
{
	memset(w, 0, sizeof(*w));
	w->src = src;
	w->start = w->since = now_monotonic();
}

/**
 * kmi_settle_again - after a failed copy, wait before the next, or give up
 * @w:   the wait
 * @seq: the counter's value the failed copy began with
 *
 * A counter that changed since the last failure has a writer at work:
 * try again at once.  One that stays odd may be held by a writer that
 * was descheduled, by a stopped process, or by a writer that died: after
 * KMI_STILL_SECS the process is looked at, and a running one gets up to
 * KMI_STUCK_SECS.  (A limit of 1,000 attempts a millisecond apart, about
 * a second, gave up on writers that were only taking their time, and
 * slept through a busy writer's short even moments.)
 *
 * Return: -EAGAIN to try again; KMI_TORN or KMI_EXITED to give up, with
 * the reason in @w->why.
 */
int kmi_settle_again(struct kmi_settle *w, uint64_t seq)
{
	struct timespec ts = { 0, 1000000 };
	double now = now_monotonic(), limit = KMI_STILL_SECS;
	unsigned long long start;
	char state;

	if (!w->tries++ || seq != w->seq) {
		w->seq = seq;
		w->since = now;
		w->still = 0;
		if (now - w->start < KMI_BUSY_SECS) {
			sched_yield();
			return -EAGAIN;
		}
		snprintf(w->why, sizeof(w->why),
			 "kept changing for %.0f s (generation %llu)",
			 KMI_BUSY_SECS, (unsigned long long)seq);
		return KMI_TORN;
	}
	if (w->still++ < KMI_SPIN_TRIES) {
		sched_yield();
		return -EAGAIN;
	}
	if (now - w->since >= KMI_STILL_SECS && w->src->pid) {
		if (proc_stat(w->src->pid, &state, &start) || state == 'Z' ||
		    state == 'X' || start != w->src->starttime) {
			snprintf(w->why, sizeof(w->why),
				 "could not be copied before the process exited");
			return KMI_EXITED;
		}
		if (state == 'T' || state == 't') {
			snprintf(w->why, sizeof(w->why),
				 "stayed inconsistent: the process is stopped in the middle of an update (generation %llu)",
				 (unsigned long long)seq);
			return KMI_TORN;
		}
		limit = KMI_STUCK_SECS;
	}
	if (now - w->since < limit) {
		nanosleep(&ts, NULL);
		return -EAGAIN;
	}
	snprintf(w->why, sizeof(w->why),
		 "stayed inconsistent for %.0f s (generation %llu): a writer died mid-update?",
		 limit, (unsigned long long)seq);
	return KMI_TORN;
}

/* ---- the header ---------------------------------------------------------- */

/*
 * Is @h (a copy) a region kmeminfo can read, within @len bytes?
 * Return: KMI_OK, or the status with @why describing the problem.
 */
static int header_check_identity(const struct kmem_stats_header *h,
				 char *why, size_t whylen)
{
	if (h->magic != KMEM_STATS_MAGIC) {
		snprintf(why, whylen,
			 "bad magic number 0x%016llx (expected 0x%016llx): not a kmem statistics region",
			 (unsigned long long)h->magic,
			 (unsigned long long)KMEM_STATS_MAGIC);
		return KMI_BADMAGIC;
	}
	if (h->version != KMEM_STATS_VERSION) {
		snprintf(why, whylen,
			 "statistics layout version %u, but this kmeminfo reads version %d",
			 h->version, KMEM_STATS_VERSION);
		return KMI_VERSION;
	}
	if (h->header_size != sizeof(struct kmem_stats_header) ||
	    h->cache_rec_size != sizeof(struct kmem_stats_cache) ||
	    h->slot_size != sizeof(struct kmem_stats_slot) ||
	    h->unit_size != KMEM_STATS_UNIT_SIZE ||
	    h->nr_orders != KMEM_STATS_NR_ORDERS ||
	    h->page_size != KMI_PAGE_SIZE) {
		snprintf(why, whylen,
			 "layout version %u with a different geometry (header %u, record %u, slot %u, unit %u bytes, %u orders, page %u)",
			 h->version, h->header_size, h->cache_rec_size,
			 h->slot_size, h->unit_size, h->nr_orders, h->page_size);
		return KMI_VERSION;
	}
	return KMI_OK;
}

static int header_check_bounds(const struct kmem_stats_header *h, size_t len,
			       char *why, size_t whylen)
{
	uint64_t recs_end = (uint64_t)h->cache_off +
			    (uint64_t)h->max_caches * h->cache_rec_size;

	if (h->region_size > len) {
		snprintf(why, whylen,
			 "the region says %llu bytes but only %zu are there",
			 (unsigned long long)h->region_size, len);
		return KMI_TORN;
	}
	if (h->cache_off < h->header_size || h->cache_off % 8 ||
	    h->max_caches > KMEM_STATS_MAX_CACHES ||
	    h->nr_cache_slots > h->max_caches || recs_end > h->units_off ||
	    h->units_off % h->unit_size || h->units_end < h->units_off ||
	    h->units_end > h->region_size ||
	    (h->units_end - h->units_off) % h->unit_size) {
		snprintf(why, whylen,
			 "inconsistent layout (records at %u, %u of %u used; units %u..%llu of %llu)",
			 h->cache_off, h->nr_cache_slots, h->max_caches,
			 h->units_off, (unsigned long long)h->units_end,
			 (unsigned long long)h->region_size);
		return KMI_TORN;
	}
	return KMI_OK;
}

/* ---- opening ------------------------------------------------------------- */

static void source_reset(struct kmi_source *src)
{
	memset(src, 0, sizeof(*src));
	src->fd = -1;
}

/*
 * Map @fd read-only and look at its header; @owner gets header.pid.
 * Return: KMI_OK (src->map set), KMI_NOKMEM for a region not set up yet,
 * or the identity problem (@why says which).
 */
static int region_map(struct kmi_source *src, int fd, int32_t *owner,
		      char *why, size_t whylen)
{
	struct kmem_stats_header h;
	sigjmp_buf env;
	struct stat st;
	void *map;
	int ret;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return KMI_NOKMEM;
	}
	if ((size_t)st.st_size < sizeof(h)) {
		snprintf(why, whylen, "the region is not set up");
		return KMI_NOKMEM;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(why, whylen, "cannot map the region: %s",
			 strerror(errno));
		return KMI_ERR;
	}
	bus_guard_install();
	if (sigsetjmp(env, 1)) {
		bus_env = NULL;
		munmap(map, (size_t)st.st_size);
		snprintf(why, whylen, "the region was truncated while being read");
		return KMI_TORN;
	}
	bus_env = &env;
	memcpy(&h, map, sizeof(h));
	bus_env = NULL;
	if (!h.magic) {
		munmap(map, (size_t)st.st_size);
		snprintf(why, whylen, "the region is not set up");
		return KMI_NOKMEM;
	}
	ret = header_check_identity(&h, why, whylen);
	if (ret) {
		munmap(map, (size_t)st.st_size);
		return ret;
	}
	src->fd = fd;
	src->map = map;
	src->map_len = (size_t)st.st_size;
	*owner = h.pid;
	return KMI_OK;
}

static bool is_stats_memfd(const char *link)
{
	static const char prefix[] = "/memfd:" KMEM_STATS_MEMFD_NAME;
	size_t n = strlen(prefix);

	return !strncmp(link, prefix, n) &&
	       (!link[n] || !strcmp(link + n, " (deleted)"));
}

static void source_unmap(struct kmi_source *src)
{
	if (src->map)
		munmap((void *)src->map, src->map_len);
	if (src->fd >= 0)
		close(src->fd);
	src->map = NULL;
	src->fd = -1;
}

/*
 * find_region - the region of process @pid
 * @msg: receives the one-line problem when the status is not KMI_OK
 *
 * Return: a kmi_status.
 */
static int find_region(struct kmi_source *src, pid_t pid, char *msg,
		       size_t msglen)
{
	int32_t nspid[KMI_MAX_NSPID], owner;
	int best = KMI_NOKMEM, nr_ns, dfd, ret;
	char path[64], why[256] = "", best_why[256] = "";
	struct dirent *de;
	char state;
	DIR *dir;

	source_reset(src);
	src->pid = pid;
	ret = proc_stat(pid, &state, &src->starttime);
	if (ret == -ENOENT || ret == -ESRCH) {
		snprintf(msg, msglen, "no process with PID %d", (int)pid);
		return KMI_NOPROC;
	}
	if (ret == -EACCES || ret == -EPERM) {
		/* /proc mounted with hidepid=1 */
		snprintf(msg, msglen,
			 "process %d: permission denied (it belongs to another user; only its owner or root may read it)",
			 (int)pid);
		return KMI_PERM;
	}
	if (ret) {
		snprintf(msg, msglen, "cannot read /proc/%d/stat: %s",
			 (int)pid, strerror(-ret));
		return KMI_ERR;
	}
	kmi_read_comm(pid, src->comm, sizeof(src->comm));
	if (state == 'Z' || state == 'X') {
		snprintf(msg, msglen, "process %d (%s) has exited",
			 (int)pid, src->comm);
		return KMI_EXITED;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir) {
		if (errno == EACCES || errno == EPERM) {
			snprintf(msg, msglen,
				 "process %d (%s): permission denied (it belongs to another user, or is not dumpable; only its owner or root may read it)",
				 (int)pid, src->comm);
			return KMI_PERM;
		}
		if (errno == ENOENT) {
			snprintf(msg, msglen, "process %d (%s) has exited",
				 (int)pid, src->comm);
			return KMI_EXITED;
		}
		snprintf(msg, msglen, "cannot read %s: %s", path,
			 strerror(errno));
		return KMI_ERR;
	}
	dfd = dirfd(dir);
	nr_ns = proc_nspids(pid, nspid, KMI_MAX_NSPID);
	while ((de = readdir(dir))) {
		char link[256];
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dfd, de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (!is_stats_memfd(link))
			continue;
		fd = openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			/* ENOENT: closed meanwhile (or the process went). */
			if (errno == EACCES || errno == EPERM) {
				best = KMI_PERM;
				snprintf(best_why, sizeof(best_why),
					 "permission denied (it belongs to another user, or is not dumpable; only its owner or root may read it)");
			}
			continue;
		}
		ret = region_map(src, fd, &owner, why, sizeof(why));
		if (ret == KMI_OK) {
			for (int i = 0; i < nr_ns; i++) {
				if (owner == nspid[i]) {
					closedir(dir);
					return KMI_OK;
				}
			}
			/* Another process's region (kmeminfo run holds one). */
			source_unmap(src);
			continue;
		}
		close(fd);
		/* Report the most telling problem: version, magic, the rest. */
		if (ret == KMI_VERSION ||
		    (ret == KMI_BADMAGIC && best != KMI_VERSION) ||
		    (ret != KMI_NOKMEM && best == KMI_NOKMEM)) {
			best = ret;
			snprintf(best_why, sizeof(best_why), "%s", why);
		}
	}
	closedir(dir);
	/* Nothing usable: because the process went away meanwhile? */
	if (kmi_process_alive(src)) {
		snprintf(msg, msglen, "process %d (%s) exited while being read",
			 (int)pid, src->comm);
		return KMI_EXITED;
	}
	if (best == KMI_NOKMEM) {
		snprintf(msg, msglen,
			 "process %d (%s) publishes no kmem statistics (it does not use kmem, or runs with KMEM_STATS=0)",
			 (int)pid, src->comm);
		return KMI_NOKMEM;
	}
	snprintf(msg, msglen, "process %d (%s): %s", (int)pid, src->comm,
		 best_why);
	return best;
}

/**
 * kmi_source_open_pid - find and map the region of process @pid
 * @src: filled in
 * @pid: the process
 *
 * Return: a kmi_status; on failure the one-line error has been printed.
 */
int kmi_source_open_pid(struct kmi_source *src, pid_t pid)
{
	char msg[512];
	int ret = find_region(src, pid, msg, sizeof(msg));

	if (ret)
		return kmi_error(ret, "%s", msg);
	return KMI_OK;
}

static bool is_pid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/**
 * kmi_list_pids - the processes that publish statistics we may read
 * @pids: receives a malloc'ed array (the caller frees it)
 * @nr:   its length
 *
 * kmeminfo's own PID is left out.  Processes of other users are passed
 * over silently.
 *
 * Return: KMI_OK or KMI_ERR.
 */
int kmi_list_pids(pid_t **pids, unsigned int *nr)
{
	unsigned int n = 0, cap = 16;
	pid_t *out = malloc(cap * sizeof(*out));
	struct dirent *de;
	DIR *dir;

	*pids = NULL;
	*nr = 0;
	if (!out)
		return kmi_error(KMI_ERR, "out of memory");
	dir = opendir("/proc");
	if (!dir) {
		free(out);
		return kmi_error(KMI_ERR, "cannot read /proc: %s",
				 strerror(errno));
	}
	while ((de = readdir(dir))) {
		struct kmi_source src;
		char msg[512];
		pid_t pid;

		if (!is_pid_name(de->d_name))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (pid == getpid())
			continue;
		if (find_region(&src, pid, msg, sizeof(msg)) != KMI_OK)
			continue;
		kmi_source_close(&src);
		if (n == cap) {
			pid_t *more = realloc(out, 2 * cap * sizeof(*out));

			if (!more) {
				closedir(dir);
				free(out);
				return kmi_error(KMI_ERR, "out of memory");
			}
			out = more;
			cap *= 2;
		}
		out[n++] = pid;
	}
	closedir(dir);
	*pids = out;
	*nr = n;
	return KMI_OK;
}

/**
 * kmi_source_open_default - open @pid, or the only publishing process
 * @src: filled in
 * @pid: the process, or 0 for "the only one there is"
 *
 * Return: a kmi_status; on failure the error has been printed.
 */
int kmi_source_open_default(struct kmi_source *src, pid_t pid)
{
	unsigned int nr;
	pid_t *pids;
	int ret;

	if (pid > 0)
		return kmi_source_open_pid(src, pid);
	ret = kmi_list_pids(&pids, &nr);
	if (ret)
		return ret;
	if (nr == 1) {
		pid = pids[0];
		free(pids);
		return kmi_source_open_pid(src, pid);
	}
	free(pids);
	if (!nr)
		return kmi_error(KMI_NOKMEM,
				 "no process that you may read publishes kmem statistics (give -p PID)");
	return kmi_error(KMI_USAGE,
			 "%u processes publish kmem statistics; choose one with -p PID (kmeminfo list shows them)",
			 nr);
}

/**
 * kmi_source_open_file - read a region image from a file
 * @src:  filled in
 * @path: a copy of a region (e.g. cp --sparse=always /proc/PID/fd/N)
 *
 * Return: a kmi_status; on failure the error has been printed.
 */
int kmi_source_open_file(struct kmi_source *src, const char *path)
{
	char why[256];
	int32_t owner;
	const char *base;
	int fd, ret;

	source_reset(src);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kmi_error(errno == EACCES ? KMI_PERM : KMI_ERR,
				 "%s: %s", path, strerror(errno));
	ret = region_map(src, fd, &owner, why, sizeof(why));
	if (ret) {
		close(fd);
		if (ret == KMI_NOKMEM)
			snprintf(why, sizeof(why),
				 "not a kmem statistics region (empty or not set up)");
		return kmi_error(ret, "%s: %s", path, why);
	}
	src->path = path;
	base = strrchr(path, '/');
	snprintf(src->comm, sizeof(src->comm), "%s", base ? base + 1 : path);
	return KMI_OK;
}

/**
 * kmi_source_open_fd - read the region on @fd (kmeminfo run's memfd)
 * @src:  filled in; a process that has exited: no liveness check
 * @fd:   the region; owned by @src on success
 * @comm: the command's name, for messages
 *
 * Return: a kmi_status; nothing is printed.
 */
int kmi_source_open_fd(struct kmi_source *src, int fd, const char *comm)
{
	char why[256];
	int32_t owner;
	int ret;

	source_reset(src);
	ret = region_map(src, fd, &owner, why, sizeof(why));
	if (ret)
		return ret;
	snprintf(src->comm, sizeof(src->comm), "%s", comm);
	return KMI_OK;
}

/**
 * kmi_source_close - unmap and close
 * @src: an opened source (or a reset one)
 */
void kmi_source_close(struct kmi_source *src)
{
	source_unmap(src);
}

/**
 * kmi_process_alive - is the source's process still the one we opened?
 * @src: a process source (files are always "alive")
 *
 * Return: KMI_OK or KMI_EXITED.
 */
int kmi_process_alive(const struct kmi_source *src)
{
	unsigned long long start;
	char state;

	if (!src->pid)
		return KMI_OK;
	if (proc_stat(src->pid, &state, &start) || state == 'Z' ||
	    state == 'X' || start != src->starttime)
		return KMI_EXITED;
	return KMI_OK;
}

/* ---- snapshots ----------------------------------------------------------- */

/* Buffers of one copy attempt; kept in memory, not registers (SIGBUS). */
struct copy_buf {
	struct kmem_stats_header hdr;
	uint64_t last_seq;		/* layout_seq of the last attempt */
	struct kmem_stats_cache *recs;
	size_t recs_cap;		/* records */
	unsigned char *units;
	size_t units_cap;		/* bytes */
	char why[256];
};

static bool grow(void **p, size_t *cap, size_t want, size_t elem)
{
	void *q;

	if (want <= *cap)
		return true;
	q = realloc(*p, want * elem);
	if (!q)
		return false;
	*p = q;
	*cap = want;
	return true;
}

/* Copy one record by its own seq.  Return: KMI_OK, or as settle_again. */
static int copy_record(const struct kmi_source *s,
		       const struct kmem_stats_cache *src,
		       struct kmem_stats_cache *dst, struct kmi_settle *w)
{
	int ret;

	kmi_settle_init(w, s);
	do {
		uint64_t seq = seq_begin(&src->seq);

		if (!(seq & 1)) {
			memcpy(dst, src, sizeof(*dst));
			if (!seq_retry(&src->seq, seq))
				return KMI_OK;
		}
		ret = kmi_settle_again(w, seq);
	} while (ret == -EAGAIN);
	return ret;
}

/* Copy the page allocator's figures by buddy_seq.  Return: as above. */
static int copy_buddy(const struct kmi_source *s,
		      const struct kmem_stats_header *src,
		      struct kmem_stats_header *dst, struct kmi_settle *w)
{
	size_t from = offsetof(struct kmem_stats_header, nr_free);
	size_t to = offsetof(struct kmem_stats_header, profile_rate);
	int ret;

	kmi_settle_init(w, s);
	do {
		uint64_t seq = seq_begin(&src->buddy_seq);

		if (!(seq & 1)) {
			memcpy((char *)dst + from, (const char *)src + from,
			       to - from);
			if (!seq_retry(&src->buddy_seq, seq))
				return KMI_OK;
		}
		ret = kmi_settle_again(w, seq);
	} while (ret == -EAGAIN);
	return ret;
}

/*
 * One attempt at a consistent copy.
 * Return: KMI_OK, -EAGAIN to try again, or a kmi_status.
 */
static int copy_attempt(const struct kmi_source *src, struct copy_buf *b)
{
	const struct kmem_stats_header *h = (const void *)src->map;
	uint64_t seq = seq_begin(&h->layout_seq);
	struct kmi_settle w;
	size_t units_len;
	int ret;

	b->last_seq = seq;
	if (seq & 1)
		return -EAGAIN;
	memcpy(&b->hdr, h, sizeof(b->hdr));
	/* Identity again: the mapping is not ours to trust between reads. */
	ret = header_check_identity(&b->hdr, b->why, sizeof(b->why));
	if (ret)
		return ret;
	ret = header_check_bounds(&b->hdr, src->map_len, b->why,
				  sizeof(b->why));
	if (ret) {
		/* Torn, or really broken: only a settled copy can tell. */
		return seq_retry(&h->layout_seq, seq) ? -EAGAIN : ret;
	}
	units_len = b->hdr.units_end - b->hdr.units_off;
	if (!grow((void **)&b->recs, &b->recs_cap, b->hdr.nr_cache_slots + 1,
		  sizeof(*b->recs)) ||
	    !grow((void **)&b->units, &b->units_cap, units_len + 1, 1)) {
		snprintf(b->why, sizeof(b->why), "out of memory");
		return KMI_ERR;
	}
	memcpy(b->recs, src->map + b->hdr.cache_off,
	       (size_t)b->hdr.nr_cache_slots * sizeof(*b->recs));
	memcpy(b->units, src->map + b->hdr.units_off, units_len);
	if (seq_retry(&h->layout_seq, seq))
		return -EAGAIN;
	b->hdr.layout_seq = seq;
	/* Figures of each cache, then of the page allocator. */
	for (uint32_t id = 0; id < b->hdr.nr_cache_slots; id++) {
		const struct kmem_stats_cache *r = (const void *)(src->map +
			b->hdr.cache_off + (size_t)id * sizeof(*r));

		if (b->recs[id].state == KMEM_STATS_CACHE_FREE)
			continue;
		ret = copy_record(src, r, &b->recs[id], &w);
		if (ret) {
			snprintf(b->why, sizeof(b->why),
				 "the figures of cache id %u %s", id, w.why);
			return ret;
		}
	}
	ret = copy_buddy(src, h, &b->hdr, &w);
	if (ret) {
		snprintf(b->why, sizeof(b->why),
			 "the page allocator's figures %s", w.why);
		return ret;
	}
	/* A record that changed state meanwhile: the layout moved. */
	if (seq_retry(&h->layout_seq, seq))
		return -EAGAIN;
	return KMI_OK;
}

static int copy_guarded(const struct kmi_source *src, struct copy_buf *b)
{
	sigjmp_buf env;
	int ret;

	bus_guard_install();
	if (sigsetjmp(env, 1)) {
		bus_env = NULL;
		snprintf(b->why, sizeof(b->why),
			 "the region was truncated while being read");
		return KMI_TORN;
	}
	bus_env = &env;
	ret = copy_attempt(src, b);
	bus_env = NULL;
	return ret;
}

static int cmp_created(const void *a, const void *b, void *arg)
{
	const struct kmi_cache *c = arg;
	const struct kmi_cache *x = &c[*(const unsigned int *)a];
	const struct kmi_cache *y = &c[*(const unsigned int *)b];

	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return x->rec.id > y->rec.id ? -1 : x->rec.id < y->rec.id;
}

/* Account one per-thread slot (struct kmem_stats_slot) for cache @id. */
static void count_slot(struct kmi_snapshot *snap, const int *by_id,
		       struct kmi_thread *t, const struct kmem_stats_slot *c,
		       uint32_t id)
{
	struct kmi_cache *k;
	uint64_t held;

	if (!c->magsize || c->cache_id != id ||
	    id >= snap->hdr.nr_cache_slots || by_id[id] < 0)
		return;
	k = &snap->caches[by_id[id]];
	if (k->rec.state != KMEM_STATS_CACHE_LIVE)
		return;
	if (c->rounds > c->magsize || c->prev_rounds > c->magsize)
		return;			/* caught mid-change: skip */
	held = (uint64_t)c->rounds + c->prev_rounds;
	t->objs += held;
	t->bytes += held * k->rec.size;
	if (t->orphan) {
		k->orphan_objs += held;
		return;
	}
	if (t->cpu)
		k->cpu_objs += held;
	else
		k->thread_objs += held;
	k->allocs += c->allocs + (uint16_t)(c->loaded_start - c->rounds) +
		     c->reused;
	k->frees += c->frees +
		    (uint16_t)(c->prev_rounds - c->prev_start + c->reused);
}

/* Walk the copied units: threads, their slots and extension units. */
static int walk_units(struct kmi_snapshot *snap, const unsigned char *units,
		      const int *by_id)
{
	const struct kmem_stats_header *h = &snap->hdr;
	size_t len = h->units_end - h->units_off, off = 0, cap = 0;

	while (off < len) {
		const struct kmem_stats_unit *u = (const void *)(units + off);
		const struct kmem_stats_thread *th = (const void *)u;
		size_t size = (size_t)u->npages * h->unit_size;
		struct kmi_thread *t;

		if (!u->npages || size > len - off)
			return KMI_TORN;
		if ((u->kind != KMEM_UNIT_THREAD &&
		     u->kind != KMEM_UNIT_ORPHAN &&
		     u->kind != KMEM_UNIT_CPU) || size < sizeof(*th)) {
			off += size;
			continue;
		}
		if (!grow((void **)&snap->threads, &cap, snap->nr_threads + 1,
			  sizeof(*snap->threads)))
			return KMI_ERR;
		t = &snap->threads[snap->nr_threads++];
		memset(t, 0, sizeof(*t));
		t->tid = th->tid;
		t->orphan = u->kind == KMEM_UNIT_ORPHAN;
		t->cpu = u->kind == KMEM_UNIT_CPU;
		if (th->pcp_off && th->pcp_off % 8 == 0 &&
		    (size_t)th->pcp_off + 8 <= size)
			memcpy(&t->pcp_pages, (const char *)u + th->pcp_off, 8);
		/* The slab part: inline slots, then the extension table. */
		if (th->slot_off && th->nr_slots_inline <= KMEM_SLOTS_INLINE &&
		    (size_t)th->slot_off + (size_t)th->nr_slots_inline *
				     sizeof(struct kmem_stats_slot) <= size) {
			const struct kmem_stats_slot *slots = (const void *)
				((const char *)u + th->slot_off);

			for (uint32_t i = 0; i < th->nr_slots_inline; i++)
				count_slot(snap, by_id, t, &slots[i], i);
		}
		if (th->slot_off && th->ext_off &&
		    th->nr_ext <= KMEM_STATS_MAX_CACHES / KMEM_SLOTS_INLINE &&
		    (size_t)th->ext_off + (size_t)th->nr_ext * 8 <= size) {
			const uint64_t *ext = (const void *)((const char *)u +
							     th->ext_off);

			for (uint32_t k = 1; k < th->nr_ext; k++) {
				const struct kmem_stats_ext *e;
				uint64_t eoff = ext[k];	/* from region start */

				if (!eoff)
					continue;
				if (eoff < h->units_off ||
				    eoff - h->units_off + sizeof(*e) > len ||
				    (eoff - h->units_off) % h->unit_size)
					continue;
				e = (const void *)(units + eoff - h->units_off);
				if (e->unit.kind != KMEM_UNIT_EXT ||
				    e->first_id != k * KMEM_SLOTS_INLINE)
					continue;
				for (uint32_t i = 0; i < KMEM_SLOTS_INLINE; i++)
					count_slot(snap, by_id, t, &e->slots[i],
						   e->first_id + i);
			}
		}
		snap->pcp_pages += t->orphan ? 0 : t->pcp_pages;
		if (t->orphan)
			snap->orphan_objs += t->objs;
		else if (t->cpu) {
			snap->cpu_objs += t->objs;
			snap->cpu_bytes += t->bytes;
		} else {
			snap->thread_objs += t->objs;
			snap->thread_bytes += t->bytes;
		}
		off += size;
	}
	return KMI_OK;
}

static int snapshot_build(struct kmi_snapshot *snap, struct copy_buf *b)
{
	int *by_id;
	int ret;

	snap->hdr = b->hdr;
	snap->generation = b->hdr.layout_seq;
	by_id = malloc(((size_t)b->hdr.nr_cache_slots + 1) * sizeof(*by_id));
	snap->caches = calloc((size_t)b->hdr.nr_cache_slots + 1,
			      sizeof(*snap->caches));
	snap->order = calloc((size_t)b->hdr.nr_cache_slots + 1,
			     sizeof(*snap->order));
	if (!by_id || !snap->caches || !snap->order) {
		free(by_id);
		return KMI_ERR;
	}
	for (uint32_t id = 0; id < b->hdr.nr_cache_slots; id++) {
		struct kmem_stats_cache *r = &b->recs[id];
		struct kmi_cache *c;

		by_id[id] = -1;
		if (r->state != KMEM_STATS_CACHE_LIVE &&
		    r->state != KMEM_STATS_CACHE_ALIAS)
			continue;
		if (r->id != id)
			continue;	/* not a record we can trust */
		r->name[KMEM_STATS_NAME_LEN - 1] = '\0';
		by_id[id] = (int)snap->nr_caches;
		c = &snap->caches[snap->nr_caches++];
		c->rec = *r;
		c->created = record_created(r);
		if (r->state == KMEM_STATS_CACHE_LIVE)
			snap->order[snap->nr_live++] = snap->nr_caches - 1;
	}
	ret = walk_units(snap, b->units, by_id);
	free(by_id);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < snap->nr_caches; i++) {
		struct kmi_cache *c = &snap->caches[i];
		uint64_t out = c->rec.depot_objs + c->thread_objs +
			       c->cpu_objs;

		c->allocs += c->rec.allocs_base;
		c->frees += c->rec.frees_base;
		c->inuse_objs = c->rec.active_objs > out ?
					c->rec.active_objs - out : 0;
	}
	qsort_r(snap->order, snap->nr_live, sizeof(*snap->order), cmp_created,
		snap->caches);
	return KMI_OK;
}

/**
 * kmi_snapshot_take - one consistent reading of a source
 * @src:  an opened source
 * @snap: filled in (free with kmi_snapshot_free, also after failure)
 *
 * For a process, the reading only counts if the process is still alive
 * afterwards.  KMEMINFO_TEST_STOP (a testing aid) stops kmeminfo with
 * SIGSTOP between the copy and that check.
 *
 * Return: a kmi_status; on failure the one-line error has been printed.
 */
int kmi_snapshot_take(struct kmi_source *src, struct kmi_snapshot *snap)
{
	struct kmi_settle w;
	struct copy_buf b;
	int ret;

	memset(snap, 0, sizeof(*snap));
	memset(&b, 0, sizeof(b));
	kmi_settle_init(&w, src);
	while ((ret = copy_guarded(src, &b)) == -EAGAIN) {
		ret = kmi_settle_again(&w, b.last_seq);
		if (ret != -EAGAIN) {
			snprintf(b.why, sizeof(b.why), "the layout %s", w.why);
			break;
		}
	}
	if (ret == KMI_OK) {
		snap->when = now_monotonic();
		ret = snapshot_build(snap, &b);
		if (ret == KMI_TORN)
			snprintf(b.why, sizeof(b.why),
				 "a thread unit runs past the end of the units");
		else if (ret)
			snprintf(b.why, sizeof(b.why), "out of memory");
	}
	free(b.recs);
	free(b.units);
	if (ret) {
		if (src->pid)
			return kmi_error(ret, "process %d (%s): %s",
					 (int)src->pid, src->comm, b.why);
		return kmi_error(ret, "%s: %s", src->comm, b.why);
	}
	if (getenv("KMEMINFO_TEST_STOP"))
		raise(SIGSTOP);
	if (kmi_process_alive(src))
		return kmi_error(KMI_EXITED,
				 "process %d (%s) exited while being read",
				 (int)src->pid, src->comm);
	return KMI_OK;
}

/**
 * kmi_snapshot_free - release a snapshot's arrays
 * @snap: a snapshot from kmi_snapshot_take
 */
void kmi_snapshot_free(struct kmi_snapshot *snap)
{
	free(snap->caches);
	free(snap->order);
	free(snap->threads);
	memset(snap, 0, sizeof(*snap));
}

/**
 * kmi_snapshot_root - the cache whose figures an alias shows
 * @snap: the snapshot
 * @c:    a cache of it
 *
 * Return: @c itself for a root, its root for an alias, NULL if gone.
 */
const struct kmi_cache *kmi_snapshot_root(const struct kmi_snapshot *snap,
					  const struct kmi_cache *c)
{
	if (c->rec.state == KMEM_STATS_CACHE_LIVE)
		return c;
	for (unsigned int i = 0; i < snap->nr_caches; i++)
		if (snap->caches[i].rec.id == c->rec.alias_of &&
		    snap->caches[i].rec.state == KMEM_STATS_CACHE_LIVE)
			return &snap->caches[i];
	return NULL;
}
