// SPDX-License-Identifier: MIT
/*
 * core/symbol.c - names for code addresses in reports, without malloc.
 *
 * Reports (KMEM_DEBUG's "Allocated in", "Freed in", TRACE lines, the
 * objects left at kmem_cache_destroy, KFENCE's stacks) name the call site
 * with kmem_print_symbol().  dladdr() only
 * knows the dynamic symbol table, which of a program linked without
 * -rdynamic holds no function of the program itself.  So when dladdr()
 * finds no name, the object's ELF file is read: its full symbol table
 * (.symtab, which a program built with -g or simply not stripped keeps),
 * else its .dynsym.
 *
 * Report paths must not allocate (they run under allocator locks, and
 * from inside malloc): the file is read with open/pread/close into
 * buffers on the stack, a few symbols at a time; dl_iterate_phdr() finds
 * the object and its load address.  Slow (a scan of the table per
 * lookup), which only reports pay.
 *
 * Lock order: none of kmem's; dl_iterate_phdr takes the dynamic
 * loader's lock, as dladdr() does.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

struct sym_object {
	unsigned long addr;	/* in: the code address */
	unsigned long bias;	/* out: the object's load bias */
	const char *name;	/* out: its path ("" for the program) */
	bool found;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct sym_object *o = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		unsigned long start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && o->addr >= start &&
		    o->addr - start < ph->p_memsz) {
			o->bias = info->dlpi_addr;
			o->name = info->dlpi_name;
			o->found = true;
			return 1;
		}
	}
	return 0;
}

static bool read_at(int fd, void *buf, size_t len, unsigned long off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* The symbol table (SHT_SYMTAB, else SHT_DYNSYM) and its string table. */
static bool find_tables(int fd, const ElfW(Ehdr) *eh, ElfW(Shdr) *sym,
			ElfW(Shdr) *str)
{
	ElfW(Shdr) sh;
	bool have = false;

	if (eh->e_shentsize != sizeof(sh))
		return false;
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		if (!read_at(fd, &sh, sizeof(sh), eh->e_shoff + i * sizeof(sh)))
			return false;
		if (sh.sh_type == SHT_SYMTAB ||
		    (sh.sh_type == SHT_DYNSYM && !have)) {
			*sym = sh;
			have = true;
			if (sh.sh_type == SHT_SYMTAB)
				break;
		}
	}
	if (!have || sym->sh_entsize != sizeof(ElfW(Sym)) ||
	    sym->sh_link >= eh->e_shnum)
		return false;
	return read_at(fd, str, sizeof(*str),
		       eh->e_shoff + sym->sh_link * sizeof(*str));
}

/*
 * The function symbol holding @off (an address in the file's terms):
 * the one whose [value, value + size) contains it, else (symbols without
 * a size, as hand-written assembly has) the nearest one below it in the
 * same section.  Return: true with @best set.
 */
static bool scan_symbols(int fd, const ElfW(Shdr) *symtab, unsigned long off,
			 ElfW(Sym) *best)
{
	ElfW(Sym) syms[64];
	unsigned long n = symtab->sh_size / sizeof(ElfW(Sym));
	bool exact = false, near = false;

	for (unsigned long i = 0; i < n && !exact;) {
		unsigned long cnt = n - i < 64 ? n - i : 64;

		if (!read_at(fd, syms, cnt * sizeof(ElfW(Sym)),
			     symtab->sh_offset + i * sizeof(ElfW(Sym))))
			return false;
		for (unsigned long j = 0; j < cnt; j++) {
			const ElfW(Sym) *s = &syms[j];
			unsigned int type = ELF64_ST_TYPE(s->st_info);

			if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
			    s->st_shndx == SHN_UNDEF || !s->st_name ||
			    s->st_value > off)
				continue;
			if (s->st_size && off - s->st_value < s->st_size) {
				*best = *s;
				exact = true;
				break;
			}
			if (!s->st_size && (!near || s->st_value > best->st_value)) {
				*best = *s;
				near = true;
			}
		}
		i += cnt;
	}
	return exact || near;
}

/**
 * kmem_elf_symbol - "name+0xoff" for a code address, from the ELF file
 * @buf:  destination (NUL-terminated)
 * @len:  its size
 * @addr: the code address
 *
 * Context: any; allocates nothing.
 * Return: true if a function symbol holds @addr.
 */
bool kmem_elf_symbol(char *buf, size_t len, unsigned long addr)
{
	struct sym_object o = { .addr = addr };
	ElfW(Shdr) symtab = { 0 }, strtab = { 0 };
	char name[128];
	ElfW(Ehdr) eh;
	ElfW(Sym) sym;
	bool ok = false;
	ssize_t n;
	int fd;

	if (!dl_iterate_phdr(find_object, &o) || !o.found)
		return false;
	fd = open(o.name && o.name[0] ? o.name : "/proc/self/exe",
		  O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (!read_at(fd, &eh, sizeof(eh), 0) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    !find_tables(fd, &eh, &symtab, &strtab) ||
	    !scan_symbols(fd, &symtab, addr - o.bias, &sym))
		goto out_close;
	n = pread(fd, name, sizeof(name) - 1,
		  (off_t)(strtab.sh_offset + sym.st_name));
	if (n <= 0)
		goto out_close;
	name[n] = '\0';
	kmem_snprintf(buf, len, "%s+0x%lx", name,
		      addr - o.bias - (unsigned long)sym.st_value);
	ok = name[0] != '\0';
out_close:
	close(fd);
	return ok;
}

/**
 * kmem_print_symbol - "function+0xoff [module]" for a code address
 * @buf:  destination
 * @len:  its size
 * @addr: the address (0: "(unknown)")
 *
 * The dynamic symbol table first (dladdr), then the object's full ELF
 * symbol table (kmem_elf_symbol()), so that a program linked without
 * -rdynamic still shows its own functions; "0x... [module+0xoff]" when
 * the object is stripped of both.
 */
void kmem_print_symbol(char *buf, size_t len, unsigned long addr)
{
	char name[128];
	Dl_info info;

	if (!addr) {
		kmem_snprintf(buf, len, "(unknown)");
		return;
	}
	if (dladdr((void *)addr, &info) && info.dli_fname) {
		const char *mod = strrchr(info.dli_fname, '/');

		mod = mod ? mod + 1 : info.dli_fname;
		if (info.dli_sname)
			kmem_snprintf(buf, len, "%s+0x%lx [%s]", info.dli_sname,
				      addr - (unsigned long)info.dli_saddr, mod);
		else if (kmem_elf_symbol(name, sizeof(name), addr))
			kmem_snprintf(buf, len, "%s [%s]", name, mod);
		else
			kmem_snprintf(buf, len, "0x%lx [%s+0x%lx]", addr, mod,
				      addr - (unsigned long)info.dli_fbase);
		return;
	}
	kmem_snprintf(buf, len, "0x%lx", addr);
}
