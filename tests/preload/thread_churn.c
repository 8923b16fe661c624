// SPDX-License-Identifier: MIT
/*
 * tests/preload/thread_churn.c - thousands of short threads; RSS bounded.
 *
 * Threads come and go, eight at a time: each allocates at mixed sizes,
 * frees some of its own and some the main thread allocated (so some
 * threads only ever free), and leaves blocks for the main thread to free.
 * Per-thread caches must go back when a thread exits: the resident set
 * after all the threads must stay close to what it was after the first
 * few hundred.  Usage: thread_churn THREADS
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preloaded.h"

#define BATCH 8

struct job {
	int id;
	void *in[32];		/* from main, freed by the thread */
	void *out[32];		/* from the thread, freed by main */
};

static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *worker(void *arg)
{
	struct job *j = arg;
	void *tmp[200];

	for (int i = 0; i < 32; i++)
		free(j->in[i]);
	if (j->id % 3 == 0)
		return NULL;	/* a thread that only freed */
	for (int i = 0; i < 200; i++) {
		size_t n = (size_t)((i * 131 + j->id) % 2000) + 1;

		tmp[i] = malloc(n);
		memset(tmp[i], i, n < 8 ? n : 8);	/* within the block */
	}
	for (int i = 0; i < 200; i++)
		free(tmp[i]);
	for (int i = 0; i < 32; i++)
		j->out[i] = malloc((size_t)(i * 61 % 700) + 1);
	return NULL;
}

int main(int argc, char **argv)
{
	int total = argc > 1 ? atoi(argv[1]) : 5000;
	long warm = 0, end;
	struct job jobs[BATCH];
	pthread_t t[BATCH];

	expect_kmem_malloc(argv[0]);
	for (int done = 0; done < total; done += BATCH) {
		for (int k = 0; k < BATCH; k++) {
			jobs[k].id = done + k;
			for (int i = 0; i < 32; i++)
				jobs[k].in[i] = malloc((size_t)(i * 17 + k) % 900 + 1);
			memset(jobs[k].out, 0, sizeof(jobs[k].out));
			if (pthread_create(&t[k], NULL, worker, &jobs[k])) {
				perror("pthread_create");
				return 1;
			}
		}
		for (int k = 0; k < BATCH; k++) {
			pthread_join(t[k], NULL);
			for (int i = 0; i < 32; i++)
				free(jobs[k].out[i]);
		}
		if (done == 400)
			warm = rss_kb();
	}
	end = rss_kb();
	printf("thread_churn: %d threads; RSS %ld KiB after 400, %ld KiB at the end\n",
	       total, warm, end);
	if (end > warm + 8 * 1024) {
		fprintf(stderr, "thread_churn: RSS grew by %ld KiB: per-thread caches leak\n",
			end - warm);
		return 1;
	}
	return 0;
}
