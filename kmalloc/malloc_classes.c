// SPDX-License-Identifier: MIT
/*
 * kmalloc/malloc_classes.c - malloc's size classes: bounded waste to 14 KiB.
 *
 * kmalloc keeps the kernel's classes (powers of two above 256 bytes, plus
 * 96 and 192): kernel callers expect them, and kmalloc_size_roundup()
 * reports them.  For a C library's malloc they waste up to half of every
 * request (300 B got 512, 4200 B got 8192), which programs pay in RSS.
 * So malloc has classes of its own between the kmalloc caches: four per
 * doubling from 256 bytes to 14 KiB, at 1.25, 1.5, 1.75 and 2 times the
 * power of two below (malloc-320 ... malloc-14k), and where real
 * programs' hot sizes fall, measured under LD_PRELOAD
 * (Documentation/performance.md, "Peak RSS of real programs"):
 *
 *   malloc-48, -80, -160  interpreters' objects of 33-48, 65-80 and
 *                         129-160 bytes (Lua, Python, Perl) got 64, 96
 *                         and 192 bytes;
 *   malloc-1152, -2304,   a power of two plus a header of up to an eighth
 *   -4608, -9k            (SQLite's page cache allocates 1032 and 4368
 *                         bytes, served from malloc-1280 and malloc-5k:
 *                         its peak RSS was 1.27x glibc's).
 *
 * The powers of two (and 96, 192) are the kmalloc caches themselves; the
 * 25 others are caches of their own, named in the kernel's fashion (a "k"
 * when the size is a whole number of KiB), so slabinfo and kmeminfo show
 * them.  Each class costs fixed footprint (its 512-byte slot and its
 * 256-byte statistics record, written at start-up; preload_footprint
 * bounds the total), so classes are added where a measured program pays
 * for their absence, not everywhere.
 *
 * Any request from 257 bytes to 14 KiB then gets at most 1.25 times what
 * it asked for (257 gets 320: 1.245), a power of two plus an eighth from
 * 1 KiB to 8 KiB at most 1.125 times; above, large blocks hold whole pages
 * (kmalloc.c), 1.25 times at most from 14 KiB + 1 up (16,385 bytes gets
 * 5 pages: 1.2499).
 *
 * The lookup stays one load from a constant table, indexed by
 * (size + 15) / 16 up to MALLOC_MAX_CACHE_SIZE (897 entries); its entries
 * are slots of kmalloc_slots[], the kmalloc caches first and these after
 * them, so that an index becomes a cache with one shift as before.
 * kmalloc_init() checks the table against the sizes once.
 *
 * Lock order: none here (slab_create_boot() takes slab_mutex).
 */
#include "kmalloc/kmalloc.h"

/* Class of sizes 0..MALLOC_MAX_CACHE_SIZE by (size + 15) / 16. */
const unsigned char malloc_index[MALLOC_MAX_CACHE_SIZE / 16 + 1] = {
	[0 ... 1] = 1, [2] = 2, [3] = 13, [4] = 3, [5] = 14, [6] = 4,
	[7 ... 8] = 5, [9 ... 10] = 15, [11 ... 12] = 6, [13 ... 16] = 7,
	[17 ... 20] = 16, [21 ... 24] = 17, [25 ... 28] = 18, [29 ... 32] = 8,
	[33 ... 40] = 19, [41 ... 48] = 20, [49 ... 56] = 21, [57 ... 64] = 9,
	[65 ... 72] = 22, [73 ... 80] = 23, [81 ... 96] = 24,
	[97 ... 112] = 25, [113 ... 128] = 10, [129 ... 144] = 26,
	[145 ... 160] = 27, [161 ... 192] = 28, [193 ... 224] = 29,
	[225 ... 256] = 11, [257 ... 288] = 30, [289 ... 320] = 31,
	[321 ... 384] = 32, [385 ... 448] = 33, [449 ... 512] = 12,
	[513 ... 576] = 34, [577 ... 640] = 35, [641 ... 768] = 36,
	[769 ... 896] = 37,
};

/* The slots after the kmalloc caches: KMALLOC_NR_CACHES and up. */
static const unsigned int malloc_sizes[MALLOC_NR_CLASSES] = {
	48, 80, 160, 320, 384, 448, 640, 768, 896, 1152, 1280, 1536, 1792,
	2304, 2560, 3072, 3584, 4608, 5120, 6144, 7168, 9216, 10240, 12288,
	14336
};
static const char *const malloc_names[MALLOC_NR_CLASSES] = {
	"malloc-48", "malloc-80", "malloc-160", "malloc-320", "malloc-384",
	"malloc-448", "malloc-640", "malloc-768", "malloc-896", "malloc-1152",
	"malloc-1280", "malloc-1536", "malloc-1792", "malloc-2304",
	"malloc-2560", "malloc-3k", "malloc-3584", "malloc-4608", "malloc-5k",
	"malloc-6k", "malloc-7k", "malloc-9k", "malloc-10k", "malloc-12k",
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
