// SPDX-License-Identifier: MIT
/*
 * tools/kmeminfo/kmeminfo.c - look inside a running kmem process: the
 * command line.
 *
 * One command, subcommands in the manner of ip(8) or git: slabinfo,
 * buddyinfo, kfence, top, watch, run, list.  Each parses its own options with
 * getopt_long (getopt's own messages off: every problem is reported by
 * kmi_error() as one line "kmeminfo: ..." on stderr with the exit status
 * of its class, enum kmi_status).  The manual below is what --help
 * prints; Documentation/kmeminfo.md is the same text with more words.
 *
 * kmeminfo reads a process only through the region it publishes (see
 * region.c); it never attaches to it, signals it or writes to it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmeminfo.h"

#ifndef KMEMINFO_VERSION
#define KMEMINFO_VERSION "0"
#endif

const char *kmi_prog = "kmeminfo";

static const char manual[] =
"KMEMINFO(1)                      kmem tools                      KMEMINFO(1)\n"
"\n"
"NAME\n"
"       kmeminfo - look inside a running process that uses kmem\n"
"\n"
"SYNOPSIS\n"
"       kmeminfo slabinfo  [-p PID | -f FILE] [--json]\n"
"       kmeminfo buddyinfo [-p PID | -f FILE] [--json]\n"
"       kmeminfo kfence    [-p PID | -f FILE] [--json]\n"
"       kmeminfo top       [-p PID] [-d SECONDS] [-o] [-s KEY]\n"
"       kmeminfo watch     -p PID [-i INTERVAL] [-n SAMPLES] [--sites]\n"
"                          [--plot FILE.svg] [--json]\n"
"       kmeminfo profile   [-p PID] [--sort live|total|objects] [--top N]\n"
"                          [--json | --folded]\n"
"       kmeminfo run       [--json] [-O FILE] [--] CMD [ARGS...]\n"
"       kmeminfo list      [--json]\n"
"       kmeminfo --help | --version\n"
"\n"
"DESCRIPTION\n"
"       Every process that uses kmem (linked with libkmem, or started with\n"
"       LD_PRELOAD=libkmem-malloc.so) publishes its allocator statistics in a\n"
"       shared-memory region.  kmeminfo maps that region read-only, knowing\n"
"       only the PID, and shows it the way /proc/slabinfo, slabtop and\n"
"       /proc/buddyinfo show the kernel's allocators.  Reading needs the\n"
"       same rights as /proc/PID/fd: the process's own user, or root.\n"
"\n"
"       Without -p, the commands that take it read the only process that\n"
"       publishes statistics you may read; if there are several, choose one.\n"
"\n"
"COMMANDS\n"
"       slabinfo\n"
"              The /proc/slabinfo version 2.1 text: the kernel's header lines,\n"
"              column widths, tunables and slabdata fields, one line per\n"
"              cache, newest cache first.  Merged cache names (aliases) are\n"
"              not listed, as in the kernel; --json shows them.  objsize is\n"
"              the slot size; limit and batchcount are the magazine size;\n"
"              sharedavail is the objects in the cache's depot.\n"
"\n"
"       buddyinfo\n"
"              The /proc/buddyinfo line (\"Node 0, zone   Normal\" and the free\n"
"              blocks of orders 0 to 10).\n"
"\n"
"       kfence KFENCE's figures in the words of the kernel's\n"
"              /sys/kernel/debug/kfence/stats (enabled, currently allocated,\n"
"              total allocations, total frees, total bugs, skipped\n"
"              allocations), then the pool slots in use and the sample\n"
"              interval.\n"
"\n"
"       top    A slabtop-like view, redrawn in place: slabtop's five summary\n"
"              lines, its columns and sort keys.  Keys: q quits, a sort key\n"
"              changes the order; Ctrl-C also quits.  The terminal is restored\n"
"              on exit.\n"
"\n"
"       watch  Samples the caches every INTERVAL seconds, SAMPLES times, then\n"
"              prints per cache the objects the program holds at the first\n"
"              and last sample and the least-squares growth slope in objects\n"
"              per minute.  A cache is flagged GROWING when the slope is\n"
"              positive, the fit is good (r^2 >= 0.8) and the count rose over\n"
"              both halves of the window (first < middle < last sample): the\n"
"              signature of a slow leak.  kmem's own magazine caches are\n"
"              never flagged (their objects are the allocator's caching).\n"
"\n"
"              --sites: the same per call site of the sampled profile\n"
"              (see profile), in estimated live bytes per minute.\n"
"\n"
"       profile\n"
"              Where the memory goes: the call sites of the process's\n"
"              sampled allocation profile (KMEM_PROFILE_RATE, on by default),\n"
"              by estimated live bytes: per site the live bytes and objects\n"
"              its samples stand for, its share, the bytes allocated there\n"
"              since start, and its stack named function+offset (file:line)\n"
"              from the target's binaries (elfutils libdwfl).  --sort live\n"
"              (default), total or objects; --top N sites (default 20);\n"
"              --json; --folded: one line per stack, outermost frame first,\n"
"              frames separated by ';', then the value (flamegraph.pl,\n"
"              speedscope).\n"
"\n"
"       run    Runs CMD with libkmem-malloc.so.0 preloaded and, when it\n"
"              exits, prints the slabinfo of every kmem process it ran: CMD\n"
"              first (followed through exec, so a wrapper script or shim\n"
"              that execs the real program shows the program), then each\n"
"              other kmem process started under it, each introduced by a\n"
"              line \"# kmeminfo run: pid PID (COMMAND): ...\" saying whose\n"
"              figures follow (--json: CMD's document, the others in its\n"
"              \"other_processes\").  kmeminfo's exit status is CMD's: its\n"
"              exit code, or 128+N if killed by signal N.\n"
"\n"
"       list   The PIDs that publish kmem statistics you may read, with their\n"
"              command names.\n"
"\n"
"OPTIONS\n"
"       -p, --pid PID\n"
"              The process to read.\n"
"\n"
"       -f, --file FILE\n"
"              Read a saved copy of a region instead of a live process\n"
"              (cp --sparse=always /proc/PID/fd/N FILE).\n"
"\n"
"       --json Print JSON instead of text: the same numbers under the same\n"
"              names, and more (aliases, magazine and depot holdings, per-\n"
"              thread holdings, allocation counts, mapped, resident and\n"
"              retained bytes).\n"
"\n"
"       -d, --delay SECONDS\n"
"              top: seconds between updates (default 3, fractions allowed).\n"
"\n"
"       -o, --once\n"
"              top: print one snapshot to standard output, as slabtop -o.\n"
"\n"
"       -s, --sort KEY\n"
"              top: a  active objects      b  objects per slab\n"
"                   c  cache size          l  number of slabs\n"
"                   v  active slabs        n  name\n"
"                   o  objects (default)   p  pages per slab\n"
"                   s  object size         u  utilization\n"
"\n"
"       -i, --interval SECONDS\n"
"              watch: seconds between samples (default 1).\n"
"\n"
"       -n, --samples N\n"
"              watch: samples to take, at least 3 (default 10).\n"
"\n"
"       --plot FILE.svg\n"
"              watch: draw the object count of each growing cache over time\n"
"              as an SVG chart.  The file is opened before sampling starts:\n"
"              a path that cannot be written is refused at once.\n"
"\n"
"       -O, --output FILE\n"
"              run: write the slabinfo to FILE instead of standard output.\n"
"\n"
"EXIT STATUS\n"
"       0      Success.\n"
"       1      Other failure: out of memory, I/O error, no usable terminal.\n"
"       2      Usage: unknown command or option, bad argument or sort key,\n"
"              several processes and no -p.\n"
"       3      No process with that PID.\n"
"       4      The process publishes no kmem statistics (it does not use kmem,\n"
"              or runs with KMEM_STATS=0).\n"
"       5      Permission denied: another user's process (or not dumpable).\n"
"       6      The process exited before or while it was read.\n"
"       7      The process's \"kmem-stats\" region has a bad magic number.\n"
"       8      The region has a layout version (or geometry) this kmeminfo\n"
"              does not read.\n"
"       9      No consistent copy could be had: the figures kept changing\n"
"              for 30 s, a writer stopped or died mid-update, or the region\n"
"              is corrupt or truncated.\n"
"       10     run: libkmem-malloc.so was not found.\n"
"       11     profile, watch --sites: the process does not profile its\n"
"              allocations (KMEM_PROFILE_RATE=0).\n"
"       12     profile: a binary the process runs code from changed on disk\n"
"              since it was mapped; its symbols would be wrong.\n"
"       126    run: CMD could not be executed.\n"
"       127    run: CMD was not found.\n"
"       Otherwise, for run, CMD's own status.\n"
"\n"
"ENVIRONMENT\n"
"       KMEMINFO_LIB\n"
"              run: the libkmem-malloc.so to preload.  Without it kmeminfo\n"
"              looks where the build tree puts the library relative to\n"
"              kmeminfo, then where the install puts it (BINDIR/../LIBDIR,\n"
"              ../lib, ../lib64), then in the install library directory and\n"
"              in the build directory it was built in.\n"
"\n"
"       KMEM_STATS=0\n"
"              In a kmem process's environment: publish nothing.\n"
"\n"
"       KMEMINFO_TEST_STOP\n"
"              For kmeminfo's tests: stop (SIGSTOP) after each copy of the\n"
"              region, before checking that the process still lives.\n"
"\n"
"SEE ALSO\n"
"       slabtop(1), proc(5) (/proc/slabinfo, /proc/buddyinfo),\n"
"       Documentation/kmeminfo.md in the kmem sources.\n";

static bool error_deferred;	/* kmi_error_defer(true) */
static char error_held[1024];	/* the last message held */

/**
 * kmi_error - report a problem on one line and return its status
 * @status: a kmi_status
 * @fmt:    message, without the trailing newline
 *
 * "kmeminfo: MESSAGE" on stderr (held while ncurses owns the screen).
 * Return: @status.
 */
int kmi_error(int status, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One line, whatever the message holds. */
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	if (error_deferred)
		snprintf(error_held, sizeof(error_held), "%s", buf);
	else
		fprintf(stderr, "%s: %s\n", kmi_prog, buf);
	return status;
}

/**
 * kmi_error_defer - hold error messages while the screen is taken
 * @on: true while ncurses owns the terminal; false prints what was held
 */
void kmi_error_defer(bool on)
{
	error_deferred = on;
	if (!on && error_held[0]) {
		fprintf(stderr, "%s: %s\n", kmi_prog, error_held);
		error_held[0] = '\0';
	}
}

/**
 * kmi_parse_seconds - a positive, finite number of seconds
 * @s:   the text
 * @out: the value
 *
 * Return: true if @s is one.
 */
bool kmi_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
		return false;
	*out = v;
	return true;
}

/**
 * kmi_parse_pid - a process id
 * @s:   the text (decimal)
 * @out: the value
 *
 * Return: true if @s is one.
 */
bool kmi_parse_pid(const char *s, pid_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX)
		return false;
	*out = (pid_t)v;
	return true;
}

/**
 * kmi_xcalloc - calloc that reports failure
 * @n:    elements
 * @size: element size
 *
 * Return: the memory, or NULL after printing "out of memory".
 */
void *kmi_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		kmi_error(KMI_ERR, "out of memory");
	return p;
}

/**
 * kmi_bad_option - report what getopt_long() refused
 * @cmd:  the subcommand
 * @c:    getopt's return: ':' (argument missing) or '?' (unknown)
 * @argv: the subcommand's argv
 *
 * Return: KMI_USAGE.
 */
int kmi_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return kmi_error(KMI_USAGE, "%s: option '%s' needs an argument",
				 cmd, arg);
	if (optopt)
		return kmi_error(KMI_USAGE,
				 "%s: unknown option '-%c' (see kmeminfo --help)",
				 cmd, optopt);
	return kmi_error(KMI_USAGE,
			 "%s: unknown option '%s' (see kmeminfo --help)", cmd,
			 arg);
}

/**
 * kmi_print_manual - the manual page, on standard output
 *
 * Return: KMI_OK, or KMI_ERR if it could not be written.
 */
int kmi_print_manual(void)
{
	fputs(manual, stdout);
	return fflush(stdout) ? KMI_ERR : KMI_OK;
}

enum info_view { VIEW_SLAB, VIEW_BUDDY, VIEW_KFENCE };

/* slabinfo, buddyinfo and kfence: one reading, text or JSON. */
static int cmd_info(int argc, char **argv, enum info_view view)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "file", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const names[] = { "slabinfo", "buddyinfo",
					     "kfence" };
	const char *cmd = names[view];
	bool slab = view == VIEW_SLAB;
	const char *file = NULL;
	struct kmi_snapshot snap;
	struct kmi_source src;
	bool json = false;
	pid_t pid = 0;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":p:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!kmi_parse_pid(optarg, &pid))
				return kmi_error(KMI_USAGE,
						 "%s: '%s' is not a PID", cmd,
						 optarg);
			break;
		case 'f':
			file = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return kmi_print_manual();
		default:
			return kmi_bad_option(cmd, c, argv);
		}
	}
	if (optind < argc)
		return kmi_error(KMI_USAGE, "%s: unexpected argument '%s'",
				 cmd, argv[optind]);
	if (file && pid)
		return kmi_error(KMI_USAGE, "%s: give -p or -f, not both", cmd);
	ret = file ? kmi_source_open_file(&src, file) :
		     kmi_source_open_default(&src, pid);
	if (ret)
		return ret;
	ret = kmi_snapshot_take(&src, &snap);
	if (!ret) {
		if (view == VIEW_KFENCE && json) {
			struct kmi_json j;

			json_open(&j, stdout);
			json_begin(&j, NULL, '{');
			kmi_json_process(&j, &src, &snap);
			kmi_kfence_json_member(&j, &snap);
			json_end(&j, '}');
			json_close(&j);
		} else if (view == VIEW_KFENCE)
			kmi_kfence_text(stdout, &snap);
		else if (slab && json)
			kmi_slabinfo_json(stdout, &src, &snap);
		else if (slab)
			kmi_slabinfo_text(stdout, &snap);
		else if (json)
			kmi_buddyinfo_json(stdout, &src, &snap);
		else
			kmi_buddyinfo_text(stdout, &snap);
		if (fflush(stdout) || ferror(stdout))
			ret = kmi_error(KMI_ERR, "writing the output: %s",
					strerror(errno));
	}
	kmi_snapshot_free(&snap);
	kmi_source_close(&src);
	return ret;
}

static int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct kmi_json j;
	bool json = false;
	unsigned int nr;
	pid_t *pids;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			return kmi_print_manual();
		default:
			return kmi_bad_option("list", c, argv);
		}
	}
	if (optind < argc)
		return kmi_error(KMI_USAGE, "list: unexpected argument '%s'",
				 argv[optind]);
	ret = kmi_list_pids(&pids, &nr);
	if (ret)
		return ret;
	if (json) {
		json_open(&j, stdout);
		json_begin(&j, NULL, '[');
	} else {
		printf("%7s %s\n", "PID", "COMMAND");
	}
	for (unsigned int i = 0; i < nr; i++) {
		char comm[64];

		kmi_read_comm(pids[i], comm, sizeof(comm));
		if (json) {
			json_begin(&j, NULL, '{');
			json_i64(&j, "pid", pids[i]);
			json_str(&j, "command", comm);
			json_end(&j, '}');
		} else {
			printf("%7d %s\n", (int)pids[i], comm);
		}
	}
	if (json) {
		json_end(&j, ']');
		json_close(&j);
	}
	free(pids);
	if (fflush(stdout))
		return kmi_error(KMI_ERR, "writing the output: %s",
				 strerror(errno));
	return KMI_OK;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		return kmi_error(KMI_USAGE,
				 "no command given (slabinfo, buddyinfo, kfence, top, watch, run, list; see kmeminfo --help)");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
		return kmi_print_manual();
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("kmeminfo (kmem) %s, statistics layout version %d\n",
		       KMEMINFO_VERSION, KMEM_STATS_VERSION);
		return KMI_OK;
	}
	opterr = 0;
	/* Each subcommand sees argv from its own name on. */
	argc--;
	argv++;
	if (!strcmp(cmd, "slabinfo"))
		return cmd_info(argc, argv, VIEW_SLAB);
	if (!strcmp(cmd, "buddyinfo"))
		return cmd_info(argc, argv, VIEW_BUDDY);
	if (!strcmp(cmd, "kfence"))
		return cmd_info(argc, argv, VIEW_KFENCE);
	if (!strcmp(cmd, "top"))
		return kmi_cmd_top(argc, argv);
	if (!strcmp(cmd, "watch"))
		return kmi_cmd_watch(argc, argv);
	if (!strcmp(cmd, "profile"))
		return kmi_cmd_profile(argc, argv);
	if (!strcmp(cmd, "run"))
		return kmi_cmd_run(argc, argv);
	if (!strcmp(cmd, "list"))
		return cmd_list(argc, argv);
	return kmi_error(KMI_USAGE,
			 "unknown command '%s' (slabinfo, buddyinfo, kfence, top, watch, run, list; see kmeminfo --help)",
			 cmd);
}
