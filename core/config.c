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

struct kmem_config kmem_config = {
	.stats = true,
	.stats_sock = -1,
	.merge = true,
	.magazines = true,
	.debug = NULL,
	.urcu_fork_hooks = true,
	.large_tail_pages = (256 << 10) / PAGE_SIZE,
	.decay_ms = 1000,
	.retain_sections = 2,
	.background = true,
	.huge_retain = 64UL << 20,
};

static char proc_environ[32768];	/* fallback copy, NUL-separated */
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
static char stats_print_path[PATH_MAX];

static void get_stats_print(void)
{
	const char *v = kmem_getenv("KMEM_STATS_PRINT");
	size_t len, dir = 0;
	int b;

	if (!v || !*v)
		return;
	b = parse_bool(v);
	if (b >= 0) {
		kmem_config.stats_print = b ? "" : NULL;
		return;
	}
	len = strlen(v);
	if (v[0] != '/') {
		if (!getcwd(stats_print_path, sizeof(stats_print_path) - 1))
			goto bad;
		dir = strlen(stats_print_path);
		if (dir > 1)
			stats_print_path[dir++] = '/';
		else
			dir = 1;	/* "/" */
	}
	if (dir + len >= sizeof(stats_print_path))
		goto bad;
	memcpy(stats_print_path + dir, v, len + 1);
	kmem_config.stats_print = stats_print_path;
	return;
bad:
	bad_value("KMEM_STATS_PRINT", v,
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
	get_stats_print();
	v = kmem_getenv("KMEM_STATS_SOCK");
	if (v) {
		n = (unsigned long)-1;
		get_ulong("KMEM_STATS_SOCK", &n, 0, 1 << 20);
		kmem_config.stats_sock = n == (unsigned long)-1 ? -1 : (int)n;
	}
	get_bool("KMEM_NOMERGE", &nomerge);
	kmem_config.merge = !nomerge;
	get_bool("KMEM_MAGAZINES", &kmem_config.magazines);
	kmem_config.debug = kmem_getenv("KMEM_DEBUG");
	get_bool("KMEM_URCU_FORK_HOOKS", &kmem_config.urcu_fork_hooks);

	get_ulong("KMEM_DECAY_MS", &kmem_config.decay_ms, 0, 3600 * 1000UL);
	get_ulong("KMEM_RETAIN_SECTIONS", &kmem_config.retain_sections, 0,
		  1UL << 20);
	get_bool("KMEM_BACKGROUND", &kmem_config.background);
	n = kmem_config.huge_retain >> 20;
	get_ulong("KMEM_HUGE_RETAIN_MB", &n, 0, 1UL << 20);
	kmem_config.huge_retain = n << 20;
	n = kmem_config.large_tail_pages * (PAGE_SIZE / 1024);
	get_ulong("KMEM_LARGE_TAIL_KB", &n, 0, (PAGE_SIZE << MAX_PAGE_ORDER) / 1024);
	kmem_config.large_tail_pages = DIV_ROUND_UP(n, PAGE_SIZE / 1024);
}
