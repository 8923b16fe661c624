// SPDX-License-Identifier: MIT
/*
 * tests/preload/mt_prog.c - a multi-threaded program of our own, run with
 * and without libkmem-malloc.so: its output must not change.
 *
 * Each thread builds a hash table of strings (malloc, realloc, strdup),
 * passes half of its entries to the next thread to free (cross-thread
 * frees), and prints a checksum of what it saw.  Deterministic: seeded.
 * Usage: mt_prog THREADS ITEMS
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preloaded.h"

struct item {
	struct item *next;
	char *key;
	size_t len;
	unsigned char *blob;
};

struct mailbox {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct item *head;
	int closed;
};

static int nthreads, nitems;
static struct mailbox *boxes;
static uint64_t *sums;

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static void post(int to, struct item *it)
{
	struct mailbox *b = &boxes[to];

	pthread_mutex_lock(&b->lock);
	it->next = b->head;
	b->head = it;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg, buckets = 1024;
	struct item **table = calloc((size_t)buckets, sizeof(*table));
	uint64_t seed = 1234567u + (uint64_t)id, h = 0, received = 0;
	struct mailbox *mine = &boxes[id];

	for (int i = 0; i < nitems; i++) {
		struct item *it = malloc(sizeof(*it));
		char buf[64];
		int b;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		snprintf(buf, sizeof(buf), "t%d-k%d-%llu", id, i,
			 (unsigned long long)(seed >> 40));
		it->key = strdup(buf);
		it->len = (size_t)(seed >> 33) % 3000 + 1;
		it->blob = malloc(16);
		it->blob = realloc(it->blob, it->len);
		memset(it->blob, (int)(seed >> 56), it->len);
		b = (int)((seed >> 20) % (uint64_t)buckets);
		it->next = table[b];
		table[b] = it;
	}
	for (int b = 0; b < buckets; b++) {
		struct item *it = table[b], *next;

		for (; it; it = next) {
			next = it->next;
			h = mix(h, it->len);
			h = mix(h, it->blob[it->len - 1]);
			for (char *c = it->key; *c; c++)
				h = mix(h, (unsigned char)*c);
			if (it->len % 2)
				post((id + 1) % nthreads, it);	/* freed there */
			else {
				free(it->key);
				free(it->blob);
				free(it);
			}
		}
	}
	free(table);
	/* My posts are done: the next thread may stop once it drained them. */
	pthread_mutex_lock(&boxes[(id + 1) % nthreads].lock);
	boxes[(id + 1) % nthreads].closed = 1;
	pthread_cond_signal(&boxes[(id + 1) % nthreads].cond);
	pthread_mutex_unlock(&boxes[(id + 1) % nthreads].lock);
	for (;;) {
		struct item *it;

		pthread_mutex_lock(&mine->lock);
		while (!mine->head && !mine->closed)
			pthread_cond_wait(&mine->cond, &mine->lock);
		it = mine->head;
		if (it)
			mine->head = it->next;
		pthread_mutex_unlock(&mine->lock);
		if (!it)
			break;
		received += it->len * 3 + (unsigned char)it->key[1];	/* any order */
		free(it->key);
		free(it->blob);
		free(it);
	}
	sums[id] = mix(h, received);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *t;
	uint64_t total = 0;

	expect_kmem_malloc(argv[0]);
	nthreads = argc > 1 ? atoi(argv[1]) : 4;
	nitems = argc > 2 ? atoi(argv[2]) : 20000;
	boxes = calloc((size_t)nthreads, sizeof(*boxes));
	sums = calloc((size_t)nthreads, sizeof(*sums));
	t = calloc((size_t)nthreads, sizeof(*t));
	for (int i = 0; i < nthreads; i++) {
		pthread_mutex_init(&boxes[i].lock, NULL);
		pthread_cond_init(&boxes[i].cond, NULL);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < nthreads; i++) {
		printf("thread %d: %016llx\n", i, (unsigned long long)sums[i]);
		total = mix(total, sums[i]);
	}
	printf("total: %016llx\n", (unsigned long long)total);
	free(t);
	free(sums);
	free(boxes);
	return 0;
}
