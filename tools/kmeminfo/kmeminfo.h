/* SPDX-License-Identifier: MIT */
/*
 * tools/kmeminfo/kmeminfo.h - private header of kmeminfo.
 *
 * kmeminfo is an ordinary program: it links neither libkmem nor its malloc
 * and knows a kmem process only through the published region, whose
 * layout is the ABI in include/kmem/stats.h.  The parts:
 *
 *   region.c  find a process's region, map it read-only, take consistent
 *             snapshots (struct kmi_snapshot) and check the process lives
 *   format.c  /proc/slabinfo and /proc/buddyinfo text, JSON, list
 *   top.c     the slabtop-like view
 *   watch.c   growth slopes over time, and the SVG chart
 *   run.c     run a command under libkmem-malloc.so
 *   profile.c the sampled allocation profile, symbolized with libdwfl
 *   kmeminfo.c  command line, manual, exit statuses
 */
#ifndef KMEM_TOOLS_KMEMINFO_KMEMINFO_H
#define KMEM_TOOLS_KMEMINFO_KMEMINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <kmem/stats.h>

/*
 * Exit statuses, one per class of failure (Documentation/kmeminfo.md and
 * "kmeminfo --help" list them; keep the three in step).
 */
enum kmi_status {
	KMI_OK		= 0,
	KMI_ERR		= 1,	/* other: out of memory, I/O, terminal */
	KMI_USAGE	= 2,	/* bad option, argument or sort key */
	KMI_NOPROC	= 3,	/* no such process */
	KMI_NOKMEM	= 4,	/* the process publishes no kmem statistics */
	KMI_PERM	= 5,	/* not allowed to read that process */
	KMI_EXITED	= 6,	/* the process exited before or while read */
	KMI_BADMAGIC	= 7,	/* a "kmem-stats" region that is not kmem's */
	KMI_VERSION	= 8,	/* a layout version or geometry not ours */
	KMI_TORN	= 9,	/* no consistent copy could be had */
	KMI_NOLIB	= 10,	/* run: libkmem-malloc.so not found */
	KMI_NOPROFILE	= 11,	/* profile: profiling off in that process */
	KMI_CHANGED	= 12,	/* profile: a mapped binary changed on disk */
	KMI_CANTEXEC	= 126,	/* run: the command cannot be executed */
	KMI_NOTFOUND	= 127,	/* run: the command was not found */
};

/* Page size of the layout (stats.h: 4 KiB). */
#define KMI_PAGE_SIZE	4096U

/**
 * struct kmi_source - where figures come from: a live process, or a file
 *
 * @fd and @map stay open between snapshots (top, watch).  For a process,
 * @starttime (field 22 of /proc/PID/stat) tells it from a later process
 * that reuses the PID.
 */
struct kmi_source {
	int fd;				/* the region's memfd (or file) */
	const unsigned char *map;	/* read-only mapping of it */
	size_t map_len;
	pid_t pid;			/* 0 for a file */
	unsigned long long starttime;	/* of @pid, in clock ticks */
	char comm[64];			/* command name, or the file name */
	const char *path;		/* the file, when not a process */
};

/**
 * struct kmi_cache - one cache record, consistent, with the threads' part
 *
 * @thread_objs etc. are summed over the live thread units' slots for the
 * record's id (aliases have none: their root's slots count).
 */
struct kmi_cache {
	struct kmem_stats_cache rec;	/* copy, consistent by rec.seq */
	uint64_t thread_objs;		/* in live threads' magazines */
	uint64_t cpu_objs;		/* in CPUs' magazines (per-CPU mode) */
	uint64_t orphan_objs;		/* in units of threads lost to fork */
	uint64_t allocs;		/* allocs_base + live threads' */
	uint64_t frees;
	uint64_t inuse_objs;		/* held by the program */
	uint64_t created;		/* creation order key (newer: larger) */
};

/* One thread unit. */
struct kmi_thread {
	int32_t tid;			/* the CPU, for a CPU's unit */
	bool orphan;			/* KMEM_UNIT_ORPHAN */
	bool cpu;			/* KMEM_UNIT_CPU: a CPU's magazines */
	uint64_t pcp_pages;		/* pages on its per-thread lists */
	uint64_t objs;			/* objects in its magazines */
	uint64_t bytes;			/* their slot bytes */
};

/**
 * struct kmi_snapshot - everything one reading gives
 *
 * @caches holds the LIVE and ALIAS records in id order; @order lists the
 * indices of the LIVE ones in /proc/slabinfo order (newest first).
 */
struct kmi_snapshot {
	struct kmem_stats_header hdr;	/* copy (buddy part by buddy_seq) */
	uint64_t generation;		/* hdr.layout_seq of the copy */
	double when;			/* CLOCK_MONOTONIC seconds */
	struct kmi_cache *caches;
	unsigned int nr_caches;
	unsigned int *order;
	unsigned int nr_live;
	struct kmi_thread *threads;
	unsigned int nr_threads;
	/* Totals. */
	uint64_t pcp_pages;		/* over live threads */
	uint64_t thread_objs;
	uint64_t thread_bytes;
	uint64_t cpu_objs;		/* over CPU units */
	uint64_t cpu_bytes;
	uint64_t orphan_objs;
};

/* ---- kmeminfo.c ---------------------------------------------------------- */

extern const char *kmi_prog;
int kmi_error(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool kmi_parse_seconds(const char *s, double *out);
bool kmi_parse_pid(const char *s, pid_t *out);
void *kmi_xcalloc(size_t n, size_t size);
int kmi_bad_option(const char *cmd, int c, char **argv);
void kmi_error_defer(bool on);
int kmi_print_manual(void);

/* ---- region.c ------------------------------------------------------------ */

int kmi_source_open_pid(struct kmi_source *src, pid_t pid);
int kmi_source_open_file(struct kmi_source *src, const char *path);
int kmi_source_open_fd(struct kmi_source *src, int fd, const char *comm);
int kmi_source_open_default(struct kmi_source *src, pid_t pid);
void kmi_source_close(struct kmi_source *src);
int kmi_snapshot_take(struct kmi_source *src, struct kmi_snapshot *snap);
void kmi_snapshot_free(struct kmi_snapshot *snap);
int kmi_process_alive(const struct kmi_source *src);

/**
 * struct kmi_settle - a wait for a seqlock copy to settle
 *
 * kmi_settle_init() before the first attempt, kmi_settle_again() after
 * each failed one (region.c says how long it waits).
 */
struct kmi_settle {
	const struct kmi_source *src;
	double start, since;		/* first failure; last change */
	uint64_t seq;			/* the counter at the last failure */
	unsigned int tries, still;	/* failures; of them unchanged */
	char why[160];			/* on giving up */
};

void kmi_settle_init(struct kmi_settle *w, const struct kmi_source *src);
int kmi_settle_again(struct kmi_settle *w, uint64_t seq);
int kmi_list_pids(pid_t **pids, unsigned int *nr);
void kmi_read_comm(pid_t pid, char *buf, size_t len);
const struct kmi_cache *kmi_snapshot_root(const struct kmi_snapshot *snap,
					  const struct kmi_cache *c);

/* ---- format.c ------------------------------------------------------------ */

/**
 * struct kmi_json - a small JSON writer (pretty-printed, two spaces)
 */
struct kmi_json {
	FILE *f;
	int depth;
	bool need_comma;
};

void json_open(struct kmi_json *j, FILE *f);
void json_close(struct kmi_json *j);
void json_begin(struct kmi_json *j, const char *key, char bracket);
void json_end(struct kmi_json *j, char bracket);
void json_u64(struct kmi_json *j, const char *key, uint64_t v);
void json_i64(struct kmi_json *j, const char *key, int64_t v);
void json_dbl(struct kmi_json *j, const char *key, double v);
void json_str(struct kmi_json *j, const char *key, const char *s);
void json_bool(struct kmi_json *j, const char *key, bool v);

void kmi_safe_name(char *dst, const char *name);
void kmi_slabinfo_text(FILE *f, const struct kmi_snapshot *snap);
void kmi_slabinfo_json(FILE *f, const struct kmi_source *src,
		       const struct kmi_snapshot *snap);
void kmi_slabinfo_json_members(struct kmi_json *j, const struct kmi_source *src,
			       const struct kmi_snapshot *snap);
void kmi_buddyinfo_text(FILE *f, const struct kmi_snapshot *snap);
void kmi_kfence_text(FILE *f, const struct kmi_snapshot *snap);
void kmi_kfence_json_member(struct kmi_json *j, const struct kmi_snapshot *snap);
void kmi_buddyinfo_json(FILE *f, const struct kmi_source *src,
			const struct kmi_snapshot *snap);
const char *kmi_magazine_mode(const struct kmem_stats_header *h);
void kmi_json_process(struct kmi_json *j, const struct kmi_source *src,
		      const struct kmi_snapshot *snap);

/* ---- profile.c ----------------------------------------------------------- */

/* A copy of a process's profile: header and records 0..nr-1. */
struct kmi_profile {
	struct kmem_stats_profile hdr;
	struct kmem_stats_prof_stack *stacks;
	uint32_t nr;
};

/* One frame, named as far as the symbols allow. */
struct kmi_frame {
	uint64_t pc;			/* the return address */
	char module[256];		/* file name of the mapping, or "" */
	uint64_t module_off;		/* pc - the module's load address */
	char function[512];		/* symbol, or "" */
	uint64_t offset;		/* pc - the symbol's address */
	char file[512];			/* source file, or "" */
	int line;
};

struct kmi_symbolizer;

int kmi_profile_read(struct kmi_source *src, struct kmi_profile *prof);
void kmi_profile_free(struct kmi_profile *prof);
int kmi_symbolizer_open(pid_t pid, struct kmi_symbolizer **sym);
void kmi_symbolizer_close(struct kmi_symbolizer *s);
void kmi_symbolize(struct kmi_symbolizer *s, uint64_t pc, struct kmi_frame *f);
void kmi_frame_text(const struct kmi_frame *f, char *buf, size_t len);

/* ---- subcommands --------------------------------------------------------- */

int kmi_cmd_profile(int argc, char **argv);

int kmi_cmd_top(int argc, char **argv);
int kmi_cmd_watch(int argc, char **argv);
int kmi_cmd_run(int argc, char **argv);

#endif /* KMEM_TOOLS_KMEMINFO_KMEMINFO_H */
