// SPDX-License-Identifier: MIT
/*
 * core/cpu.c - which CPU a thread runs on: Linux restartable sequences.
 *
 * glibc 2.35 and later registers every thread's struct rseq with the
 * kernel and exports where it is (__rseq_offset from the thread pointer,
 * __rseq_size, 0 when registration failed or was turned off with
 * GLIBC_TUNABLES=glibc.pthread.rseq=0).  The kernel keeps the area's
 * cpu_id current and, when a thread is preempted, migrated or signalled
 * inside a critical section that the area's rseq_cs names, moves it to
 * the section's abort handler.  The slab layer's per-CPU magazines
 * (slab/slab.h, slab/magazine.c) are built on that: their pushes and pops
 * are such sections.
 *
 * A section on one CPU cannot be interrupted by another thread on that
 * CPU, but another CPU's thread may touch the same memory: the slab
 * layer's cross-CPU operations (draining a CPU whose threads are gone)
 * first mark the state busy and then wait with kmem_rseq_fence() until
 * every section that started before has finished or aborted
 * (membarrier(2), MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ).
 *
 * Nothing here allocates: it runs at start-up, before malloc works.
 */
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"
#include "core/cpu.h"

/* glibc 2.35+; weak so that kmem still loads under an older one. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

ptrdiff_t kmem_rseq_offset;
unsigned int kmem_nr_cpu_ids;

/* The calling thread's area: struct rseq's cpu_id is its second word. */
static inline volatile unsigned int *rseq_cpu_id(void)
{
	return (volatile unsigned int *)((char *)__builtin_thread_pointer() +
					 kmem_rseq_offset + 4);
}

/**
 * kmem_cpu_current - the CPU the calling thread runs on (rseq's cpu_id)
 *
 * Return: the id, or -1 when rseq is not in use.  It may be stale by the
 * time the caller looks at it; only a critical section can rely on it.
 */
int kmem_cpu_current(void)
{
	if (!kmem_nr_cpu_ids)
		return -1;
	return (int)*rseq_cpu_id();
}

/*
 * Parse a CPU list as sysfs writes it ("0-3,8,10-11\n") into @mask of
 * @nbits bits.  Return: highest id + 1, or 0 if the list is malformed or
 * names an id of @nbits or more.
 */
static unsigned int parse_cpu_list(const char *s, unsigned long *mask,
				   unsigned int nbits)
{
	unsigned int top = 0;

	for (unsigned int i = 0; i < BITS_TO_LONGS(nbits); i++)
		mask[i] = 0;
	while (*s && *s != '\n') {
		unsigned long a = 0, b;
		const char *p = s;

		while (*s >= '0' && *s <= '9')
			a = a * 10 + (unsigned long)(*s++ - '0');
		if (s == p)
			return 0;
		b = a;
		if (*s == '-') {
			p = ++s;
			b = 0;
			while (*s >= '0' && *s <= '9')
				b = b * 10 + (unsigned long)(*s++ - '0');
			if (s == p || b < a)
				return 0;
		}
		if (b >= nbits)
			return 0;
		for (unsigned long c = a; c <= b; c++)
			mask[c / BITS_PER_LONG] |= 1UL << (c % BITS_PER_LONG);
		top = max(top, (unsigned int)b + 1);
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return 0;
	}
	return top;
}

static unsigned int read_cpu_list(const char *path, unsigned long *mask,
				  unsigned int nbits)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return parse_cpu_list(buf, mask, nbits);
}

/**
 * kmem_cpus_online - the CPUs online now
 * @mask:  set to the online CPUs (bit i: CPU i)
 * @nbits: bits in @mask
 *
 * Return: false if the list could not be read.
 */
bool kmem_cpus_online(unsigned long *mask, unsigned int nbits)
{
	return read_cpu_list("/sys/devices/system/cpu/online", mask, nbits) != 0;
}

/**
 * kmem_rseq_init - find the calling thread's rseq area and the CPU count
 *
 * Per-CPU state needs three things of the system: glibc registered rseq
 * (so every thread has an area the kernel keeps current), the possible
 * CPUs are known and at most KMEM_MAX_CPUS, and the process may use
 * rseq fences (membarrier's MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
 * Linux 5.10).  A seccomp filter that forbids rseq makes glibc's
 * registration fail, which shows as __rseq_size 0.
 *
 * Context: start-up, once.
 * Return: true if per-CPU state can be used; kmem_nr_cpu_ids is then set.
 */
bool kmem_rseq_init(void)
{
	unsigned long possible[BITS_TO_LONGS(KMEM_MAX_CPUS)];
	unsigned int n;

	if (!&__rseq_size || !&__rseq_offset || __rseq_size < 20)
		return false;
	kmem_rseq_offset = __rseq_offset;
	if ((int)*rseq_cpu_id() < 0)
		return false;	/* registered size, but not this thread */
	n = read_cpu_list("/sys/devices/system/cpu/possible", possible,
			  KMEM_MAX_CPUS);
	if (!n || *rseq_cpu_id() >= n)
		return false;
	if (syscall(SYS_membarrier,
		    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0))
		return false;
	kmem_nr_cpu_ids = n;
	return true;
}

/**
 * kmem_rseq_fence - wait until no thread of the process is inside a
 * critical section that began before the call
 *
 * Each such section has committed or will restart from its beginning
 * (and so see whatever the caller stored before the fence).
 *
 * Return: false if the kernel refused (then the caller must not assume
 * anything about running sections).
 */
bool kmem_rseq_fence(void)
{
	return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		       0, 0) == 0;
}
