// SPDX-License-Identifier: MIT
/*
 * tests/kmeminfo/kmi_plain.c - an ordinary program for "kmeminfo run".
 *
 * Not linked with kmem: kmeminfo run preloads libkmem-malloc.so.
 *
 *   kmi_plain N [STATUS | kill]
 *
 * Keeps N blocks of 3000 bytes (malloc-3k under kmem; 3k blocks are
 * otherwise unused by the C library's start-up, and no stdio is used),
 * writes "fd=K" where K is what open("/dev/null") returned (3 if kmem
 * left the low numbers free), then exits with STATUS, or kills itself
 * with SIGTERM.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile keep;

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	char buf[32] = "fd=";
	int fd, len = 3;

	for (int i = 0; i < n; i++) {
		keep = malloc(3000);
		if (!keep)
			return 99;
	}
	fd = open("/dev/null", O_RDONLY);
	/* itoa without stdio */
	if (fd >= 100)
		buf[len++] = (char)('0' + fd / 100 % 10);
	if (fd >= 10)
		buf[len++] = (char)('0' + fd / 10 % 10);
	buf[len++] = (char)('0' + (fd < 0 ? 0 : fd % 10));
	buf[len++] = '\n';
	if (write(1, buf, (size_t)len) != len)
		return 98;
	if (argc > 2 && !strcmp(argv[2], "kill"))
		kill(getpid(), SIGTERM);
	return argc > 2 ? atoi(argv[2]) : 0;
}
