// SPDX-License-Identifier: MIT
/*
 * core/config.c - KMEM_* settings, parsed once at start-up.
 *
 * The one table of settings (Documentation/configuration.md mirrors it).
 * Values are read from the environment during kmem_init_slow(), before any
 * allocation is served, and pushed down into each layer's configuration.
 *
 * Start-up may run before the C library has set up `environ` (the first
 * malloc can come from the dynamic loader); then the process's initial
 * environment is read from /proc/self/environ with open/read, which
 * allocate nothing.
 *
 * A malformed value is reported once on stderr and the default kept: a
 * typo in an environment variable must not stop a program.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <kmem/page.h>

#include "core/core.h"

extern char **environ;

#ifndef KMEM_PROFILE_DEFAULT_RATE
#define KMEM_PROFILE_DEFAULT_RATE (2UL << 20)	/* CMake's default */
#endif

/* KMEM_DEPOT_KB's default: Documentation/slab.md, "The depot's budget". */
#define KMEM_DEPOT_KB_DEFAULT 1024UL
/* KMEM_DECAY_PEAK's default: Documentation/buddy.md, "Returning memory". */
#define KMEM_DECAY_PEAK_DEFAULT 16UL
#ifndef KMEM_THP_DEFAULT
#define KMEM_THP_DEFAULT KMEM_THP_NEVER	/* measured: performance.md */
#endif

struct kmem_config kmem_config = {
	.stats = true,
	.stats_sock = -1,
	.merge = true,
	.magazines = true,
	.percpu = true,
	.main_own = true,
	.debug = NULL,
	.urcu_fork_hooks = true,
	.large_tail_pages = (256 << 10) / PAGE_SIZE,
	.decay_ms = 1000,
	.decay_peak = KMEM_DECAY_PEAK_DEFAULT,
	.retain_sections = 2,
	.background = true,
	.map_ahead = true,
	.huge_retain = 64UL << 20,
	.depot_bytes = KMEM_DEPOT_KB_DEFAULT << 10,
	.profile_rate = KMEM_PROFILE_DEFAULT_RATE,
	.profile_max_stacks = 4096,
	.kfence_sample_interval = 100,	/* the kernel's defaults */
	.kfence_num_objects = 255,
	.thp = KMEM_THP_DEFAULT,
};

static char proc_environ[32768] __bss_cold;	/* fallback copy, NUL-separated */
static size_t proc_environ_len;

static void load_proc_environ(void)
{
	int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	while (proc_environ_len < sizeof(proc_environ) - 1) {
		n = read(fd, proc_environ + proc_environ_len,
			 sizeof(proc_environ) - 1 - proc_environ_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		proc_environ_len += (size_t)n;
	}
	proc_environ[proc_environ_len] = '\0';
	close(fd);
}

/*
 * kmem_getenv - the value of @name, without allocating
 * Return: the value, or NULL if unset.
 */
static const char *kmem_getenv(const char *name)
{
	size_t len = strlen(name);

	if (environ) {
		for (char **e = environ; *e; e++)
			if (!strncmp(*e, name, len) && (*e)[len] == '=')
				return *e + len + 1;
		return NULL;
	}
	if (!proc_environ_len)
		load_proc_environ();
	for (size_t i = 0; i < proc_environ_len;) {
		const char *e = proc_environ + i;

		if (!strncmp(e, name, len) && e[len] == '=')
			return e + len + 1;
		i += strlen(e) + 1;
	}
	return NULL;
}

static void bad_value(const char *name, const char *val, const char *why)
{
	kmem_printk("kmem: ignoring %s=%s: %s\n", name, val, why);
}

/*
 * parse_bool - the spellings of a boolean setting, any case
 * Return: 1 or 0, or -1 if @v is none of them.
 */
static int parse_bool(const char *v)
{
	static const char *const yes[] = { "1", "yes", "on", "true" };
	static const char *const no[] = { "0", "no", "off", "false" };

	for (unsigned int i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(v, yes[i]))
			return 1;
		if (!strcasecmp(v, no[i]))
			return 0;
	}
	return -1;
}

#define BOOL_SPELLINGS "1/yes/on/true or 0/no/off/false"

static void get_bool(const char *name, bool *out)
{
	const char *v = kmem_getenv(name);
	int b;

	if (!v)
		return;
	b = parse_bool(v);
	if (b < 0)
		bad_value(name, v, "expected a boolean: " BOOL_SPELLINGS);
	else
		*out = b;
}

/*
 * KMEM_STATS_PRINT: a boolean (1: stderr), or a path where "%p" stands
 * for the PID.  A relative path is made absolute against the working
 * directory at start-up, so that a program that changes directory still
 * writes where it was asked to.
 */
static char stats_print_path[PATH_MAX] __bss_cold;
static char profile_at_exit_path[PATH_MAX] __bss_cold;

static void get_output(const char *name, char *path, const char **out)
{
	const char *v = kmem_getenv(name);
	size_t len, dir = 0;
	int b;

	if (!v || !*v)
		return;
	b = parse_bool(v);
	if (b >= 0) {
		*out = b ? "" : NULL;
		return;
	}
	len = strlen(v);
	if (v[0] != '/') {
		if (!getcwd(path, PATH_MAX - 1))
			goto bad;
		dir = strlen(path);
		if (dir > 1)
			path[dir++] = '/';
		else
			dir = 1;	/* "/" */
	}
	if (dir + len >= PATH_MAX)
		goto bad;
	memcpy(path + dir, v, len + 1);
	*out = path;
	return;
bad:
	bad_value(name, v,
		  "expected " BOOL_SPELLINGS " or a path (too long here)");
}

static void get_ulong(const char *name, unsigned long *out, unsigned long lo,
		      unsigned long hi)
{
	const char *v = kmem_getenv(name);
	unsigned long n = 0;

	if (!v)
		return;
	if (!*v)
		goto bad;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' ||
		    __builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (unsigned long)(*p - '0'), &n))
			goto bad;
	}
	if (n < lo || n > hi)
		goto bad;
	*out = n;
	return;
bad:
	bad_value(name, v, "not a number in range");
}

/*
 * KMEM_KFENCE_SAMPLE_INTERVAL: milliseconds between guarded allocations,
 * 0 (off) or -1 (every allocation while a slot is free), at most an hour.
 * KMEM_KFENCE_NUM_OBJECTS: slots in the pool, 1..65535.
 */
static void get_kfence(void)
{
	const char *v = kmem_getenv("KMEM_KFENCE_SAMPLE_INTERVAL");
	unsigned long n;

	if (v && !strcmp(v, "-1")) {
		kmem_config.kfence_sample_interval = -1;
	} else if (v) {
		n = (unsigned long)kmem_config.kfence_sample_interval;
		get_ulong("KMEM_KFENCE_SAMPLE_INTERVAL", &n, 0, 3600 * 1000UL);
		kmem_config.kfence_sample_interval = (long)n;
	}
	get_ulong("KMEM_KFENCE_NUM_OBJECTS", &kmem_config.kfence_num_objects,
		  1, 65535);
	get_bool("KMEM_KFENCE_CONTINUE", &kmem_config.kfence_continue);
}

/* KMEM_THP: never, large or always, any case. */
static void get_thp(void)
{
	static const char *const names[] = {
		[KMEM_THP_NEVER] = "never",
		[KMEM_THP_LARGE] = "large",
		[KMEM_THP_ALWAYS] = "always",
	};
	const char *v = kmem_getenv("KMEM_THP");

	if (!v)
		return;
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcasecmp(v, names[i])) {
			kmem_config.thp = (enum kmem_thp)i;
			return;
		}
	}
	bad_value("KMEM_THP", v, "expected never, large or always");
}

/**
 * kmem_config_parse - read every KMEM_* setting
 *
 * Context: start-up, once.
 */
void kmem_config_parse(void)
{
	unsigned long n;
	bool nomerge = false;
	const char *v;

	get_bool("KMEM_STATS", &kmem_config.stats);
	get_output("KMEM_STATS_PRINT", stats_print_path,
		   &kmem_config.stats_print);
	get_output("KMEM_PROFILE_AT_EXIT", profile_at_exit_path,
		   &kmem_config.profile_at_exit);
	get_ulong("KMEM_PROFILE_RATE", &kmem_config.profile_rate, 0, 1UL << 40);
	get_ulong("KMEM_PROFILE_MAX_STACKS", &kmem_config.profile_max_stacks,
		  16, 1UL << 20);
	get_ulong("KMEM_PROFILE_SEED", &kmem_config.profile_seed, 0, ULONG_MAX);
	v = kmem_getenv("KMEM_STATS_SOCK");
	if (v) {
		n = (unsigned long)-1;
		get_ulong("KMEM_STATS_SOCK", &n, 0, 1 << 20);
		kmem_config.stats_sock = n == (unsigned long)-1 ? -1 : (int)n;
	}
	get_bool("KMEM_NOMERGE", &nomerge);
	kmem_config.merge = !nomerge;
	get_bool("KMEM_MAGAZINES", &kmem_config.magazines);
	get_bool("KMEM_PERCPU", &kmem_config.percpu);
	get_bool("KMEM_MAIN_THREAD_OWN", &kmem_config.main_own);
	kmem_config.debug = kmem_getenv("KMEM_DEBUG");
	get_bool("KMEM_URCU_FORK_HOOKS", &kmem_config.urcu_fork_hooks);

	get_ulong("KMEM_DECAY_MS", &kmem_config.decay_ms, 0, 3600 * 1000UL);
	get_ulong("KMEM_DECAY_PEAK", &kmem_config.decay_peak, 0,
		  KMEM_DECAY_PEAK_MAX);
	get_ulong("KMEM_RETAIN_SECTIONS", &kmem_config.retain_sections, 0,
		  1UL << 20);
	get_bool("KMEM_BACKGROUND", &kmem_config.background);
	get_bool("KMEM_MAP_AHEAD", &kmem_config.map_ahead);
	n = kmem_config.huge_retain >> 20;
	get_ulong("KMEM_HUGE_RETAIN_MB", &n, 0, 1UL << 20);
	kmem_config.huge_retain = n << 20;
	n = kmem_config.depot_bytes >> 10;
	get_ulong("KMEM_DEPOT_KB", &n, 0, 1UL << 30);
	kmem_config.depot_bytes = n << 10;
	get_kfence();
	get_thp();
	n = kmem_config.large_tail_pages * (PAGE_SIZE / 1024);
	get_ulong("KMEM_LARGE_TAIL_KB", &n, 0, (PAGE_SIZE << MAX_PAGE_ORDER) / 1024);
	kmem_config.large_tail_pages = DIV_ROUND_UP(n, PAGE_SIZE / 1024);
}

/**
 * kmem_output_open - the file a KMEM_* output setting names
 * @pattern: the path, "%p" replaced by the PID ("%%": a '%')
 * @setting: its name, for the message
 *
 * For the reports written at exit (KMEM_STATS_PRINT,
 * KMEM_PROFILE_AT_EXIT): no stdio, no malloc.
 * Return: the descriptor, or -1 (reported).
 */
int kmem_output_open(const char *pattern, const char *setting)
{
	char path[PATH_MAX];
	size_t n = 0;
	int fd;

	for (const char *p = pattern; *p && n < sizeof(path) - 1; p++) {
		if (p[0] == '%' && (p[1] == 'p' || p[1] == '%')) {
			if (*++p == 'p') {
				n += (size_t)kmem_snprintf(path + n, sizeof(path) - n,
							   "%d", (int)getpid());
				n = min(n, sizeof(path) - 1);
				continue;
			}
		}
		path[n++] = *p;
	}
	path[n] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
		  0644);
	if (fd < 0)
		kmem_printk("kmem: %s: cannot write %s: %s\n", setting, path,
			    strerror(errno));
	return fd;
}
