// SPDX-License-Identifier: MIT
/*
 * core/printk.c - messages, failure handlers and clocks.
 *
 * Everything here is safe inside the allocator: no malloc, no stdio, no
 * locks.  kmem_vsnprintf() is a small printf that formats into a caller's
 * buffer (the conversions kmem needs: d i u x X o c s p %, with flags
 * '-' '0' ' ' '+' '#', width, precision and the l ll z t j h hh modifiers,
 * each as glibc's snprintf() does it: tests/test_printk.c compares them);
 * messages are written with write(2) in one call where they fit, so lines
 * from different threads do not interleave mid-line.
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"

struct fmt_out {
	char *buf;
	size_t len;	/* capacity including the NUL */
	size_t pos;	/* characters produced (may exceed len) */
};

static void out_char(struct fmt_out *o, char c)
{
	if (o->pos + 1 < o->len)
		o->buf[o->pos] = c;
	o->pos++;
}

static void out_pad(struct fmt_out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

struct fmt_spec {
	bool left, zero, plus, space, alt;
	int width;
	int prec;	/* -1: none */
};

static void out_str(struct fmt_out *o, const char *s, const struct fmt_spec *f)
{
	size_t n = 0;
	int pad;

	if (!s)
		s = "(null)";
	while (s[n] && (f->prec < 0 || n < (size_t)f->prec))
		n++;
	pad = f->width > (int)n ? f->width - (int)n : 0;
	if (!f->left)
		out_pad(o, ' ', pad);
	for (size_t i = 0; i < n; i++)
		out_char(o, s[i]);
	if (f->left)
		out_pad(o, ' ', pad);
}

/*
 * A number: @neg and the '+' and ' ' flags only for signed conversions
 * (@is_signed); '#' gives an octal number a leading 0 (by raising the
 * precision, as C says), a hexadecimal one other than 0 its @prefix.
 */
static void out_num(struct fmt_out *o, unsigned long long v, bool neg,
		    bool is_signed, unsigned int base, bool upper,
		    const char *prefix, const struct fmt_spec *f)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, sign = 0, plen = prefix ? (int)strlen(prefix) : 0;
	int zeros, pad;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (f->prec == 0 && n == 1 && tmp[0] == '0')
		n = 0;
	if (neg || (is_signed && (f->plus || f->space)))
		sign = 1;
	zeros = f->prec > n ? f->prec - n : 0;
	if (base == 8 && f->alt && !zeros && (n == 0 || tmp[n - 1] != '0'))
		zeros = 1;
	pad = f->width - n - zeros - sign - plen;
	if (pad > 0 && f->zero && !f->left && f->prec < 0) {
		zeros += pad;
		pad = 0;
	}
	if (!f->left)
		out_pad(o, ' ', pad);
	if (sign)
		out_char(o, neg ? '-' : (f->plus ? '+' : ' '));
	for (int i = 0; i < plen; i++)
		out_char(o, prefix[i]);
	out_pad(o, '0', zeros);
	while (n)
		out_char(o, tmp[--n]);
	if (f->left)
		out_pad(o, ' ', pad);
}

/**
 * kmem_vsnprintf - format into a buffer, like vsnprintf()
 * @buf: destination, NUL-terminated when @len > 0
 * @len: its size
 * @fmt: format
 * @ap:  arguments
 *
 * Return: the length the full output would have had.
 */
int kmem_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct fmt_out o = { .buf = buf, .len = len, .pos = 0 };

	for (; *fmt; fmt++) {
		struct fmt_spec f = { .prec = -1 };
		int lmod = 0;	/* 1 l, 2 ll, 3 z/t/j, -1 h, -2 hh */
		unsigned long long u;
		long long s;

		if (*fmt != '%') {
			out_char(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				f.left = true;
			else if (*fmt == '0')
				f.zero = true;
			else if (*fmt == '+')
				f.plus = true;
			else if (*fmt == ' ')
				f.space = true;
			else if (*fmt == '#')
				f.alt = true;
			else
				break;
		}
		if (*fmt == '*') {
			f.width = va_arg(ap, int);
			if (f.width < 0) {
				f.left = true;
				f.width = -f.width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				f.width = f.width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			f.prec = 0;
			if (*fmt == '*') {
				f.prec = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					f.prec = f.prec * 10 + (*fmt++ - '0');
			}
		}
		for (;; fmt++) {
			if (*fmt == 'l')
				lmod = lmod == 1 ? 2 : 1;
			else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j')
				lmod = 3;
			else if (*fmt == 'h')
				lmod = lmod == -1 ? -2 : -1;
			else
				break;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			if (lmod == 2)
				s = va_arg(ap, long long);
			else if (lmod == 1 || lmod == 3)
				s = va_arg(ap, long);
			else
				s = va_arg(ap, int);
			if (lmod == -1)
				s = (short)s;
			else if (lmod == -2)
				s = (signed char)s;
			out_num(&o, s < 0 ? -(unsigned long long)s : (unsigned long long)s,
				s < 0, true, 10, false, NULL, &f);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			if (lmod == 2)
				u = va_arg(ap, unsigned long long);
			else if (lmod == 1 || lmod == 3)
				u = va_arg(ap, unsigned long);
			else
				u = va_arg(ap, unsigned int);
			if (lmod == -1)
				u = (unsigned short)u;
			else if (lmod == -2)
				u = (unsigned char)u;
			out_num(&o, u, false, false,
				*fmt == 'u' ? 10 : (*fmt == 'o' ? 8 : 16),
				*fmt == 'X',
				!f.alt || !u ? NULL :
				*fmt == 'x' ? "0x" : *fmt == 'X' ? "0X" : NULL,
				&f);
			break;
		case 'p':
			u = (unsigned long)va_arg(ap, void *);
			if (!u) {	/* glibc's spelling of a null pointer */
				f.prec = -1;
				out_str(&o, "(nil)", &f);
				break;
			}
			out_num(&o, u, false, false, 16, false, "0x", &f);
			break;
		case 'c': {
			/* One byte, even a NUL, padded to the width. */
			int pad = f.width > 1 ? f.width - 1 : 0;

			if (!f.left)
				out_pad(&o, ' ', pad);
			out_char(&o, (char)va_arg(ap, int));
			if (f.left)
				out_pad(&o, ' ', pad);
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);

			/* glibc: "(null)", or nothing if that does not fit
			 * the precision. */
			if (!str && f.prec >= 0 && f.prec < 6)
				str = "";
			out_str(&o, str, &f);
			break;
		}
		case '%':
			out_char(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			out_char(&o, '%');
			out_char(&o, *fmt);
			break;
		}
	}
	if (len)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	return (int)o.pos;
}

/**
 * kmem_snprintf - format into a buffer, like snprintf()
 * @buf: destination
 * @len: its size
 * @fmt: format
 *
 * Return: the length the full output would have had.
 */
int kmem_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kmem_vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n;
}

/**
 * kmem_write_all - write a whole buffer to a file descriptor
 * @fd:  destination
 * @buf: bytes
 * @len: how many
 *
 * Retries on EINTR and short writes; gives up silently on other errors.
 * errno is preserved, so reporting never disturbs the caller.
 */
void kmem_write_all(int fd, const char *buf, size_t len)
{
	int saved = errno;

	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf += n;
		len -= (size_t)n;
	}
	errno = saved;
}

static void vprintk(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = kmem_vsnprintf(buf, sizeof(buf), fmt, ap);

	kmem_write_all(STDERR_FILENO, buf,
		       n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/**
 * kmem_printk - print a message on stderr
 * @fmt: format (kmem_vsnprintf conversions); messages end with '\n'
 */
void kmem_printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}

/**
 * kmem_panic - print a message and abort
 * @fmt: format
 *
 * Used for errors the allocator cannot survive and for the reports of bad
 * input (double free, invalid pointer): SIGABRT, like glibc's malloc.
 */
void kmem_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	abort();
}

/* BUG and WARNING reports: "kmem: <kind> at FILE:LINE: <what>". */
static void report_at(bool bug, const char *file, int line, const char *fmt,
		      va_list ap)
{
	char what[256];

	kmem_vsnprintf(what, sizeof(what), fmt, ap);
	if (bug)
		kmem_panic("kmem: kernel BUG at %s:%d: %s\n", file, line, what);
	kmem_printk("kmem: WARNING at %s:%d: %s\n", file, line, what);
}

/**
 * kmem_bug - the BUG_ON() failure handler
 * @file: source file
 * @line: source line
 * @fmt:  what failed
 */
void kmem_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_at(true, file, line, fmt, ap);
	va_end(ap);
	abort();	/* report_at() does not return */
}

/**
 * kmem_warn - the WARN_ON() handler: message, no abort
 * @file: source file
 * @line: source line
 * @fmt:  what was seen
 */
void kmem_warn(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_at(false, file, line, fmt, ap);
	va_end(ap);
}

static __thread pid_t tls_tid __tls_ie;

/**
 * kmem_gettid - the calling thread's kernel thread id
 *
 * Cached per thread (debug builds record lock owners on every lock);
 * kmem_gettid_reset() forgets it in a fork child.
 */
pid_t kmem_gettid(void)
{
	if (unlikely(!tls_tid))
		tls_tid = (pid_t)syscall(SYS_gettid);
	return tls_tid;
}

/**
 * kmem_gettid_reset - the forking thread has a new id in the child
 */
void kmem_gettid_reset(void)
{
	tls_tid = 0;
}

/*
 * The vDSO's clock_gettime, called directly.  libc's clock_gettime()
 * calls the same function, but it lies in a part of libc's code that a
 * program may never run otherwise: reaching it maps another 64 KiB of
 * libc (the kernel maps a file's pages around a fault) into every
 * process that uses kmem.  The vDSO's image is an ELF object mapped
 * whole: its dynamic symbol table names the function (x86-64's and
 * RISC-V's name, or arm64's and powerpc's).  Without a vDSO (valgrind
 * hides it), or without the tables read below, the system call.
 */
typedef int (*vdso_clock_fn)(clockid_t, struct timespec *);

static vdso_clock_fn vdso_clock;	/* resolved, or vdso_clock_none */

static int vdso_clock_none(clockid_t clk, struct timespec *ts)
{
	return (int)syscall(SYS_clock_gettime, clk, ts);
}

static bool vdso_clock_name(const char *name)
{
	return !strcmp(name, "__vdso_clock_gettime") ||
	       !strcmp(name, "__kernel_clock_gettime");
}

/*
 * Through the dynamic segment, as the dynamic loader would: its symbol
 * and string tables, and the symbols' count from the SysV hash table,
 * lie on the image's first page beside the headers (the section headers
 * are at its end, on a page the program may not touch otherwise).
 */
static noinline vdso_clock_fn vdso_clock_find(void)
{
	const unsigned char *base =
		(const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
	const ElfW(Phdr) *ph;
	const ElfW(Dyn) *dyn = NULL;
	const ElfW(Sym) *sym = NULL;
	const Elf32_Word *hash = NULL;
	const char *str = NULL;
	uintptr_t bias = 0;
	bool load = false;

	if (!base || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] !=
	    (__ELF_NATIVE_CLASS == 64 ? ELFCLASS64 : ELFCLASS32))
		return vdso_clock_none;
	ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !load) {
			bias = (uintptr_t)base + ph[i].p_offset - ph[i].p_vaddr;
			load = true;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const ElfW(Dyn) *)(base + ph[i].p_offset);
		}
	}
	if (!load || !dyn)
		return vdso_clock_none;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			sym = (const ElfW(Sym) *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			str = (const char *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_HASH)
			hash = (const Elf32_Word *)(bias + dyn->d_un.d_ptr);
	}
	if (!sym || !str || !hash)
		return vdso_clock_none;
	/* hash[1]: the chains' length, one per symbol. */
	for (Elf32_Word k = 0; k < hash[1]; k++)
		if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC &&
		    sym[k].st_shndx != SHN_UNDEF &&
		    vdso_clock_name(str + sym[k].st_name))
			return (vdso_clock_fn)(bias + sym[k].st_value);
	return vdso_clock_none;
}

/**
 * kmem_clock_gettime - clock_gettime(), without libc's code
 * @clk: the clock
 * @ts:  the time
 *
 * Return: 0, or nonzero if the kernel does not serve @clk (the vDSO then
 * returns the system call's negative errno, errno untouched).
 */
int kmem_clock_gettime(clockid_t clk, struct timespec *ts)
{
	vdso_clock_fn fn = __atomic_load_n(&vdso_clock, __ATOMIC_RELAXED);

	if (unlikely(!fn)) {
		fn = vdso_clock_find();
		__atomic_store_n(&vdso_clock, fn, __ATOMIC_RELAXED);
	}
	return fn(clk, ts);
}

/**
 * kmem_now_ms - a monotonic clock in milliseconds (coarse, cheap)
 */
unsigned long kmem_now_ms(void)
{
	struct timespec ts;

	kmem_clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (unsigned long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * kmem_now_ns - a monotonic clock in nanoseconds
 */
unsigned long long kmem_now_ns(void)
{
	struct timespec ts;

	kmem_clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
