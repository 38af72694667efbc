#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basalt/guest_abi.h"
#include "basalt/log.h"
#include "basalt/x86/boot.h"

/* boot_params / setup header offsets (Documentation/arch/x86/zero-page.rst
 * and boot.rst). */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260

#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01

#define KERNEL_LOAD_ADDR 0x100000ull

/* PVH structures (Xen's start_info.h) are shared with the test guests. */
#define XEN_HVM_START_MAGIC XEN_HVM_START_MAGIC_VALUE

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage_info *bi,
		  struct bs_err *e)
{
	memset(bi, 0, sizeof(*bi));
	if (len < 0x270 || rd16(buf + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(buf + HDR_MAGIC, "HdrS", 4) != 0)
		return bs_errf(e, ENOEXEC, "not a bzImage (no HdrS header)");
	bi->version = rd16(buf + HDR_VERSION);
	if (bi->version < 0x20c)
		return bs_errf(e, ENOTSUP,
			       "bzImage boot protocol %u.%02u is too old (need 2.12+)",
			       bi->version >> 8, bi->version & 0xff);
	bi->setup_sects = buf[HDR_SETUP_SECTS] ? buf[HDR_SETUP_SECTS] : 4;
	bi->syssize = rd32(buf + HDR_SYSSIZE);
	bi->loadflags = buf[HDR_LOADFLAGS];
	bi->xloadflags = rd16(buf + HDR_XLOADFLAGS);
	bi->initrd_addr_max = rd32(buf + HDR_INITRD_ADDR_MAX);
	bi->kernel_alignment = rd32(buf + HDR_KERNEL_ALIGNMENT);
	bi->relocatable = buf[HDR_RELOCATABLE] != 0;
	bi->cmdline_size = rd32(buf + HDR_CMDLINE_SIZE);
	bi->pref_address = rd64(buf + HDR_PREF_ADDRESS);
	bi->init_size = rd32(buf + HDR_INIT_SIZE);
	bi->setup_size = ((size_t)bi->setup_sects + 1) * 512;
	bi->header_end = 0x202 + buf[HDR_JUMP + 1];
	if (!(bi->xloadflags & XLF_KERNEL_64))
		return bs_errf(e, ENOTSUP, "bzImage has no 64-bit entry point");
	if (!(bi->loadflags & LOADED_HIGH))
		return bs_errf(e, ENOTSUP, "bzImage is not a loaded-high kernel");
	if (bi->setup_size >= len || bi->header_end > 0x280)
		return bs_errf(e, ENOEXEC, "bzImage setup header is corrupt");
	return 0;
}

static void fill_e820(uint8_t *zp, const struct x86_layout *l)
{
	unsigned n = l->ne820 < BP_E820_MAX ? l->ne820 : BP_E820_MAX;

	zp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(zp + BP_E820_TABLE, l->e820, n * sizeof(struct e820_entry));
}

void bzimage_fill_zero_page(uint8_t *zp, const uint8_t *kernel, size_t klen,
			    const struct bzimage_info *bi,
			    const struct x86_layout *l, uint64_t cmdline_gpa,
			    uint32_t cmdline_len, uint64_t initrd_gpa,
			    uint64_t initrd_size, uint64_t rsdp_gpa)
{
	(void)cmdline_len;
	memset(zp, 0, 4096);
	if (kernel && klen >= bi->header_end)
		memcpy(zp + HDR_SETUP_SECTS, kernel + HDR_SETUP_SECTS,
		       bi->header_end - HDR_SETUP_SECTS);
	wr16(zp + HDR_VID_MODE, 0xffff);              /* "normal" */
	zp[HDR_TYPE_OF_LOADER] = 0xff;                /* undefined loader */
	zp[HDR_LOADFLAGS] = (uint8_t)(bi->loadflags | CAN_USE_HEAP);
	wr16(zp + HDR_HEAP_END_PTR, 0xfe00);
	wr32(zp + HDR_CMD_LINE_PTR, (uint32_t)cmdline_gpa);
	wr32(zp + BP_EXT_CMD_LINE_PTR, (uint32_t)(cmdline_gpa >> 32));
	wr32(zp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
	wr32(zp + HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	wr32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_gpa >> 32));
	wr32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	wr64(zp + BP_ACPI_RSDP_ADDR, rsdp_gpa);
	fill_e820(zp, l);
}

/* Whole-file read with an upper bound, so a huge file named by mistake
 * fails cleanly instead of eating host memory. */
static int read_file(const char *what, const char *path, uint64_t max,
		     uint8_t **buf, size_t *len, struct bs_err *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return bs_errf(e, errno, "%s: cannot open '%s': %s", what, path,
			       strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bs_errf(e, EINVAL, "%s: '%s' is not a regular file", what,
			       path);
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > max) {
		close(fd);
		return bs_errf(e, EFBIG, "%s: '%s' is %s (%lld bytes)", what, path,
			       st.st_size ? "larger than guest RAM allows" : "empty",
			       (long long)st.st_size);
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return bs_errf(e, errno, "%s: cannot map '%s': %s", what, path,
			       strerror(errno));
	*buf = p;
	*len = st.st_size;
	return 0;
}

int x86_write_boot_pagetables(struct guest_mem *gm)
{
	/* Flat GDT: 0x08 unused, 0x10 64-bit code (__BOOT_CS), 0x18 data
	 * (__BOOT_DS), 0x20 32-bit TSS (PVH wants a valid TR). */
	static const uint64_t gdt[] = {
		0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull,
		0x00008b0000000067ull,
	};
	uint64_t *pml4 = gm_ptr(gm, X86_BOOT_PML4, 4096);
	uint64_t *pdpt = gm_ptr(gm, X86_BOOT_PDPT, 4096);
	uint64_t *pd = gm_ptr(gm, X86_BOOT_PD, 4 * 4096);

	if (!pml4 || !pdpt || !pd || gm_write(gm, X86_BOOT_GDT, gdt, sizeof(gdt)))
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_BOOT_PDPT | 0x03;               /* present, writable */
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (X86_BOOT_PD + i * 4096ull) | 0x03;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;              /* present, rw, 2 MiB */
	return 0;
}

/* Top-down placement of the initrd: page aligned, at or below limit, above
 * the kernel's decompression area. */
static int place_initrd(struct guest_mem *gm, const struct x86_layout *l,
			uint64_t limit, uint64_t kernel_end, const uint8_t *data,
			size_t size, uint64_t *gpa, struct bs_err *e)
{
	uint64_t top = l->low_ram_end < limit ? l->low_ram_end : limit;
	uint64_t addr;

	if (size > top)
		return bs_errf(e, ENOMEM, "initrd: %zu bytes do not fit in low memory",
			       size);
	addr = (top - size) & ~0xfffull;
	if (addr < kernel_end)
		return bs_errf(e, ENOMEM,
			       "initrd: %zu bytes do not fit between the kernel and "
			       "0x%llx; give the VM more memory", size,
			       (unsigned long long)top);
	if (gm_write(gm, addr, data, size))
		return bs_errf(e, EFAULT, "initrd: cannot place at 0x%llx",
			       (unsigned long long)addr);
	*gpa = addr;
	return 0;
}

static int write_cmdline(struct guest_mem *gm, const char *cmdline,
			 uint32_t max, struct bs_err *e)
{
	size_t n = cmdline ? strlen(cmdline) : 0;

	if (n + 1 > max)
		return bs_errf(e, E2BIG, "cmdline: %zu bytes, the kernel accepts %u",
			       n, max - 1);
	if (gm_write(gm, X86_BOOT_CMDLINE, cmdline ? cmdline : "", n + 1))
		return -EFAULT;
	return 0;
}

/* boot.rst, init_size: the kernel decompresses into a buffer of init_size
 * bytes starting at pref_address (non-relocatable) or at the load address
 * rounded up to kernel_alignment but not below pref_address (relocatable:
 * head_64.S never goes below LOAD_PHYSICAL_ADDR). */
uint64_t bzimage_init_end(const struct bzimage_info *bi, size_t pm_size)
{
	uint64_t align = bi->kernel_alignment ? bi->kernel_alignment : 0x200000;
	uint64_t start = KERNEL_LOAD_ADDR, end;

	if (bi->relocatable) {
		start = (start + align - 1) / align * align;
		if (bi->pref_address > start)
			start = bi->pref_address;
	} else if (bi->pref_address) {
		start = bi->pref_address;
	}
	end = start + bi->init_size;
	return end > KERNEL_LOAD_ADDR + pm_size ? end : KERNEL_LOAD_ADDR + pm_size;
}

static int load_bzimage(struct guest_mem *gm, const struct x86_layout *l,
			const struct boot_params_in *in, const uint8_t *k,
			size_t klen, struct boot_result *out, struct bs_err *e)
{
	struct bzimage_info bi;
	uint8_t *zp, *initrd = NULL;
	size_t pm_size, initrd_len = 0;
	uint64_t initrd_gpa = 0, init_end, limit;
	uint32_t cmax;
	int r;

	struct bs_err perr;

	r = bzimage_parse(k, klen, &bi, &perr);
	if (r)
		return bs_errf(e, -r, "kernel '%s': %s", in->kernel_path, perr.msg);
	pm_size = klen - bi.setup_size;
	init_end = bzimage_init_end(&bi, pm_size);
	if (!gm_is_ram(gm, KERNEL_LOAD_ADDR, init_end - KERNEL_LOAD_ADDR))
		return bs_errf(e, ENOMEM, "kernel '%s' needs %llu MiB to decompress; "
			       "give the VM more memory", in->kernel_path,
			       (unsigned long long)(init_end >> 20) + 1);
	if (gm_write(gm, KERNEL_LOAD_ADDR, k + bi.setup_size, pm_size))
		return -EFAULT;

	cmax = bi.cmdline_size ? bi.cmdline_size + 1 : 2048;
	if (cmax > X86_BOOT_CMDLINE_MAX)
		cmax = X86_BOOT_CMDLINE_MAX;
	r = write_cmdline(gm, in->cmdline, cmax, e);
	if (r)
		return r;

	if (in->initrd_path) {
		r = read_file("initrd", in->initrd_path, l->mem, &initrd,
			      &initrd_len, e);
		if (r)
			return r;
		limit = (uint64_t)bi.initrd_addr_max + 1;
		if (bi.xloadflags & 0x2)   /* XLF_CAN_BE_LOADED_ABOVE_4G */
			limit = l->low_ram_end;
		r = place_initrd(gm, l, limit, init_end, initrd, initrd_len,
				 &initrd_gpa, e);
		munmap(initrd, initrd_len);
		if (r)
			return r;
	}

	zp = gm_ptr(gm, X86_ZERO_PAGE, 4096);
	if (!zp)
		return -EFAULT;
	bzimage_fill_zero_page(zp, k, klen, &bi, l, X86_BOOT_CMDLINE,
			       (uint32_t)cmax, initrd_gpa, initrd_len, in->rsdp_gpa);
	out->format = KERNEL_BZIMAGE;
	out->entry_kind = BOOT_ENTRY_LINUX64;
	out->entry = KERNEL_LOAD_ADDR + 0x200;
	out->boot_arg = X86_ZERO_PAGE;
	out->kernel_start = KERNEL_LOAD_ADDR;
	out->kernel_end = init_end;
	out->initrd_start = initrd_gpa;
	out->initrd_size = initrd_len;
	out->is_linux = true;
	return 0;
}

struct elf_notes {
	uint64_t pvh_entry;       /* 0 = none */
	bool linux_note;
};

static void scan_notes(const uint8_t *p, size_t len, struct elf_notes *n)
{
	size_t off = 0;

	while (len - off >= 12) {
		uint32_t namesz = rd32(p + off), descsz = rd32(p + off + 4);
		uint32_t type = rd32(p + off + 8);
		size_t name_off = off + 12;
		size_t desc_off = name_off + ((namesz + 3ull) & ~3ull);
		size_t next = desc_off + ((descsz + 3ull) & ~3ull);

		if (namesz > len || descsz > len || next > len || next <= off)
			return;
		if (namesz == 4 && !memcmp(p + name_off, "Xen", 4) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			if (descsz == 4)
				n->pvh_entry = rd32(p + desc_off);
			else if (descsz == 8)
				n->pvh_entry = rd64(p + desc_off);
		}
		if (namesz == 6 && !memcmp(p + name_off, "Linux", 6))
			n->linux_note = true;
		off = next;
	}
}

static int load_elf(struct guest_mem *gm, const struct x86_layout *l,
		    const struct boot_params_in *in, const uint8_t *k, size_t klen,
		    struct boot_result *out, struct bs_err *e)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)k;
	struct elf_notes notes = { 0 };
	uint64_t lo = UINT64_MAX, hi = 0, initrd_gpa = 0;
	uint8_t *initrd = NULL;
	size_t initrd_len = 0;
	int r;

	if (klen < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff > klen || eh->e_phnum > (klen - eh->e_phoff) / sizeof(Elf64_Phdr))
		return bs_errf(e, ENOEXEC, "kernel '%s': not a valid x86-64 ELF file",
			       in->kernel_path);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(k + eh->e_phoff) + i;

		if (ph->p_type != PT_LOAD && ph->p_type != PT_NOTE)
			continue;
		if (ph->p_offset > klen || ph->p_filesz > klen - ph->p_offset ||
		    (ph->p_type == PT_LOAD && ph->p_filesz > ph->p_memsz))
			return bs_errf(e, ENOEXEC, "kernel '%s': segment %u lies "
				       "outside the file", in->kernel_path, i);
		if (ph->p_type == PT_NOTE) {
			scan_notes(k + ph->p_offset, ph->p_filesz, &notes);
			continue;
		}
		if (ph->p_memsz == 0)
			continue;
		if (ph->p_paddr < X86_HIGH_MEM_START ||
		    !gm_is_ram(gm, ph->p_paddr, ph->p_memsz))
			return bs_errf(e, ENOMEM, "kernel '%s': segment %u at 0x%llx+0x%llx "
				       "is not in guest RAM above 1 MiB", in->kernel_path,
				       i, (unsigned long long)ph->p_paddr,
				       (unsigned long long)ph->p_memsz);
		gm_write(gm, ph->p_paddr, k + ph->p_offset, ph->p_filesz);
		memset(gm_ptr(gm, ph->p_paddr, ph->p_memsz) + ph->p_filesz, 0,
		       ph->p_memsz - ph->p_filesz);
		if (ph->p_paddr < lo)
			lo = ph->p_paddr;
		if (ph->p_paddr + ph->p_memsz > hi)
			hi = ph->p_paddr + ph->p_memsz;
	}
	if (hi == 0)
		return bs_errf(e, ENOEXEC, "kernel '%s': ELF has nothing to load",
			       in->kernel_path);
	r = write_cmdline(gm, in->cmdline, X86_BOOT_CMDLINE_MAX, e);
	if (r)
		return r;
	if (in->initrd_path) {
		r = read_file("initrd", in->initrd_path, l->mem, &initrd,
			      &initrd_len, e);
		if (r)
			return r;
		r = place_initrd(gm, l, l->low_ram_end, hi, initrd, initrd_len,
				 &initrd_gpa, e);
		munmap(initrd, initrd_len);
		if (r)
			return r;
	}

	out->format = KERNEL_ELF;
	out->kernel_start = lo;
	out->kernel_end = hi;
	out->initrd_start = initrd_gpa;
	out->initrd_size = initrd_len;
	out->is_linux = notes.linux_note;
	if (notes.pvh_entry) {
		struct hvm_start_info si = {
			.magic = XEN_HVM_START_MAGIC, .version = 1,
			.cmdline_paddr = X86_BOOT_CMDLINE, .rsdp_paddr = in->rsdp_gpa,
			.memmap_paddr = X86_PVH_MEMMAP, .memmap_entries = l->ne820,
		};
		struct hvm_memmap_table_entry mm[X86_MAX_E820];

		if (initrd_len) {
			struct hvm_modlist_entry mod = {
				.paddr = initrd_gpa, .size = initrd_len,
			};

			si.nr_modules = 1;
			si.modlist_paddr = X86_PVH_START_INFO + sizeof(si);
			gm_write(gm, si.modlist_paddr, &mod, sizeof(mod));
		}
		for (unsigned i = 0; i < l->ne820; i++)
			mm[i] = (struct hvm_memmap_table_entry){
				l->e820[i].addr, l->e820[i].size, l->e820[i].type, 0 };
		if (gm_write(gm, X86_PVH_MEMMAP, mm, l->ne820 * sizeof(mm[0])) ||
		    gm_write(gm, X86_PVH_START_INFO, &si, sizeof(si)))
			return -EFAULT;
		out->entry_kind = BOOT_ENTRY_PVH;
		out->entry = notes.pvh_entry;
		out->boot_arg = X86_PVH_START_INFO;
	} else {
		/* Linux vmlinux without PVH: 64-bit entry with a minimal zero
		 * page (header magic so the kernel trusts the fields we set). */
		struct bzimage_info bi = { .loadflags = LOADED_HIGH,
					   .header_end = 0x202 };
		uint8_t *zp = gm_ptr(gm, X86_ZERO_PAGE, 4096);

		if (!zp)
			return -EFAULT;
		bzimage_fill_zero_page(zp, NULL, 0, &bi, l, X86_BOOT_CMDLINE,
				       X86_BOOT_CMDLINE_MAX, initrd_gpa, initrd_len,
				       in->rsdp_gpa);
		wr16(zp + HDR_BOOT_FLAG, 0xaa55);
		memcpy(zp + HDR_MAGIC, "HdrS", 4);
		wr16(zp + HDR_VERSION, 0x020f);
		wr32(zp + HDR_KERNEL_ALIGNMENT, 0x1000000);
		out->entry_kind = BOOT_ENTRY_LINUX64;
		out->entry = eh->e_entry;
		out->boot_arg = X86_ZERO_PAGE;
	}
	return 0;
}

int x86_load_kernel(struct guest_mem *gm, const struct x86_layout *l,
		    const struct boot_params_in *in, struct boot_result *out,
		    struct bs_err *e)
{
	uint8_t *k;
	size_t klen;
	int r;

	memset(out, 0, sizeof(*out));
	r = read_file("kernel", in->kernel_path, l->mem, &k, &klen, e);
	if (r)
		return r;
	if (x86_write_boot_pagetables(gm)) {
		munmap(k, klen);
		return bs_errf(e, EFAULT, "guest memory too small for boot structures");
	}
	if (klen >= 4 && !memcmp(k, ELFMAG, SELFMAG))
		r = load_elf(gm, l, in, k, klen, out, e);
	else
		r = load_bzimage(gm, l, in, k, klen, out, e);
	munmap(k, klen);
	return r;
}
