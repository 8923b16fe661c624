/* SPDX-License-Identifier: MIT */
/*
 * core/printk.h - formatted output and reports that never allocate (core/printk.c),
 * code addresses to names (core/symbol.c).
 */
#ifndef KMEM_CORE_PRINTK_H
#define KMEM_CORE_PRINTK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#pragma GCC visibility push(hidden)

int kmem_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4)))
int kmem_snprintf(char *buf, size_t len, const char *fmt, ...);
__attribute__((format(printf, 1, 2)))
void kmem_printk(const char *fmt, ...);
bool kmem_elf_symbol(char *buf, size_t len, unsigned long addr);
void kmem_print_symbol(char *buf, size_t len, unsigned long addr);
void kmem_write_all(int fd, const char *buf, size_t len);
__attribute__((noreturn, cold, format(printf, 1, 2)))
void kmem_panic(const char *fmt, ...);
int kmem_clock_gettime(clockid_t clk, struct timespec *ts);
unsigned long kmem_now_ms(void);
unsigned long long kmem_now_ns(void);

#pragma GCC visibility pop

#endif /* KMEM_CORE_PRINTK_H */
