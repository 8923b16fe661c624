// SPDX-License-Identifier: MIT
/*
 * tests/preload/fork_stress.c - fork() while other threads allocate.
 *
 * THREADS threads allocate and free at random sizes without pause while
 * the main thread forks FORKS times.  Each child allocates, frees objects
 * its parent allocated, starts a thread of its own that allocates, and
 * exits; a child that hangs (a lock held across fork by a thread that does
 * not exist in the child) is killed by an alarm and fails the test.
 * Usage: fork_stress THREADS FORKS
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preloaded.h"

static volatile int stop;

static void *churn(void *arg)
{
	uint64_t seed = (uint64_t)(intptr_t)arg * 7919 + 1;
	void *slots[256] = { 0 };

	while (!stop) {
		unsigned int i;
		size_t n;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		i = (unsigned int)(seed % 256);
		n = seed % 100 < 90 ? seed % 512 + 1 : seed % 200000 + 1;
		free(slots[i]);
		slots[i] = malloc(n);
		memset(slots[i], 1, n < 64 ? n : 64);
	}
	for (int i = 0; i < 256; i++)
		free(slots[i]);
	return NULL;
}

static void *child_thread(void *arg)
{
	for (int i = 0; i < 10000; i++)
		free(malloc((size_t)(i % 3000) + 1));
	return arg;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 3;
	int forks = argc > 2 ? atoi(argv[2]) : 200;
	pthread_t t[16];
	char *parent_data[64];

	expect_kmem_malloc(argv[0]);
	for (int i = 0; i < 64; i++)
		parent_data[i] = strdup("allocated before fork");
	for (int i = 0; i < nthreads && i < 16; i++)
		pthread_create(&t[i], NULL, churn, (void *)(intptr_t)(i + 1));
	for (int f = 0; f < forks; f++) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (!pid) {
			pthread_t ct;

			alarm(20);
			for (int i = 0; i < 64; i++) {
				if (strcmp(parent_data[i], "allocated before fork"))
					_exit(3);
				free(parent_data[i]);
			}
			for (int i = 0; i < 1000; i++)
				free(malloc((size_t)i * 37 + 1));
			if (pthread_create(&ct, NULL, child_thread, NULL))
				_exit(4);
			pthread_join(ct, NULL);
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "fork_stress: child %d of fork %d failed: status %#x\n",
				pid, f, status);
			stop = 1;
			return 1;
		}
	}
	stop = 1;
	for (int i = 0; i < nthreads && i < 16; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 64; i++)
		free(parent_data[i]);
	printf("fork_stress: %d forks while %d threads allocated: all children fine\n",
	       forks, nthreads);
	return 0;
}
