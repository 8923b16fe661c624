// SPDX-License-Identifier: MIT
/*
 * tests/kernel/kmem_linux_test.c - run the adapter's own test.
 *
 * kmem-selftest links only kmem_linux.o and kmem, not the kernel's code:
 * it runs test_kmem_cache_bulk() (in the 6.1 tree only the maple-tree
 * suite, which is not run, calls it) before the kernel's suites, so that
 * a broken adapter is told apart from a failing suite.
 */
#include <stdio.h>

#include <urcu.h>

void test_kmem_cache_bulk(void);

int main(void)
{
	rcu_register_thread();
	test_kmem_cache_bulk();
	rcu_barrier();
	rcu_unregister_thread();
	printf("kmem_linux: adapter self-test passed\n");
	return 0;
}
