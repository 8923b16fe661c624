// SPDX-License-Identifier: MIT
/*
 * tests/kfence/kfence_preload.c - a program nobody rebuilt for kmem:
 * plain malloc/free, run under LD_PRELOAD=libkmem-malloc.so with
 * KMEM_KFENCE_SAMPLE_INTERVAL=-1.  It overruns a 32-byte buffer by one
 * byte at the right end of its page (allocating until it gets one).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile first;
	volatile char *p;
	int i;

	first = malloc(1);	/* kmem starts: from here on, all guarded */
	free(first);
	for (i = 0; i < 64; i++) {
		p = malloc(32);
		if (((uintptr_t)p & 4095) == 4096 - 32)
			break;
	}
	if (i == 64) {
		printf("no guarded object at a page's end\n");
		return 2;
	}
	p[32] = (char)0x78;
	printf("not reported\n");
	return 0;
}
