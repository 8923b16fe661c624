// SPDX-License-Identifier: MIT
/*
 * kmalloc/malloc_classes.c - malloc's size classes: bounded waste to 14 KiB.
 *
 * kmalloc keeps the kernel's classes (powers of two above 256 bytes, plus
 * 96 and 192): kernel callers expect them, and kmalloc_size_roundup()
 * reports them.  For a C library's malloc they waste up to half of every
 * request (300 B got 512, 4200 B got 8192), which programs pay in RSS.
 * So malloc has classes of its own above 256 bytes: four per doubling,
 * at 1.25, 1.5, 1.75 and 2 times the power of two below, from 320 to
 * 14,336 bytes.  The powers of two are the kmalloc caches themselves
 * (kmalloc-512 ... kmalloc-8k); the 18 others are caches of their own,
 * named malloc-320 ... malloc-14k in the kernel's fashion (a "k" when the
 * size is a whole number of KiB), so slabinfo and kmeminfo show them.
 *
 * Any request from 257 bytes to 14 KiB then gets at most 1.25 times what
 * it asked for (257 gets 320: 1.245); above, large blocks hold whole
 * pages (kmalloc.c), 1.25 times at most from 14 KiB + 1 up (16,385 bytes
 * gets 5 pages: 1.2499).  Over the benchmark's sweep (256 B to 4 MiB, 3%
 * steps) the mean is 1.055 (Documentation/kmalloc.md).
 *
 * The lookup stays one load from a constant table, indexed by
 * (size + 15) / 16 up to MALLOC_MAX_CACHE_SIZE (897 bytes); its entries
 * are slots of kmalloc_slots[], the kmalloc caches first and these after
 * them, so that an index becomes a cache with one shift as before.
 * kmalloc_init() checks the table against the sizes once.
 *
 * Lock order: none here (slab_create_boot() takes slab_mutex).
 */
#include "kmalloc/kmalloc.h"

/* Class of sizes 0..MALLOC_MAX_CACHE_SIZE by (size + 15) / 16. */
const unsigned char malloc_index[MALLOC_MAX_CACHE_SIZE / 16 + 1] = {
	[0 ... 1] = 1, [2] = 2, [3 ... 4] = 3, [5 ... 6] = 4, [7 ... 8] = 5,
	[9 ... 12] = 6, [13 ... 16] = 7,
	[17 ... 20] = 13, [21 ... 24] = 14, [25 ... 28] = 15, [29 ... 32] = 8,
	[33 ... 40] = 16, [41 ... 48] = 17, [49 ... 56] = 18, [57 ... 64] = 9,
	[65 ... 80] = 19, [81 ... 96] = 20, [97 ... 112] = 21,
	[113 ... 128] = 10,
	[129 ... 160] = 22, [161 ... 192] = 23, [193 ... 224] = 24,
	[225 ... 256] = 11,
	[257 ... 320] = 25, [321 ... 384] = 26, [385 ... 448] = 27,
	[449 ... 512] = 12,
	[513 ... 640] = 28, [641 ... 768] = 29, [769 ... 896] = 30,
};

/* The slots after the kmalloc caches: KMALLOC_NR_CACHES and up. */
static const unsigned int malloc_sizes[MALLOC_NR_CLASSES] = {
	320, 384, 448, 640, 768, 896, 1280, 1536, 1792,
	2560, 3072, 3584, 5120, 6144, 7168, 10240, 12288, 14336
};
static const char *const malloc_names[MALLOC_NR_CLASSES] = {
	"malloc-320", "malloc-384", "malloc-448", "malloc-640",
	"malloc-768", "malloc-896", "malloc-1280", "malloc-1536",
	"malloc-1792", "malloc-2560", "malloc-3k", "malloc-3584",
	"malloc-5k", "malloc-6k", "malloc-7k", "malloc-10k", "malloc-12k",
	"malloc-14k"
};

/**
 * malloc_classes_init - create malloc's own caches
 *
 * Context: start-up, from kmalloc_init(), after the kmalloc caches.
 */
void malloc_classes_init(void)
{
	for (unsigned int i = 0; i < MALLOC_NR_CLASSES; i++) {
		unsigned int size = malloc_sizes[i];

		/*
		 * Aligned to the largest power of two dividing the size, as
		 * kmalloc-96 and -192 are (64 and up: cache lines), so that a
		 * kmem_cache_create() merged into the class gets the
		 * alignment its size is a multiple of.
		 */
		slab_create_boot(&kmalloc_slots[KMALLOC_NR_CACHES + i].c,
				 malloc_names[i], size,
				 1U << __builtin_ctz(size), SLAB_KMALLOC);
	}
}
