#include <check.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basalt/x86/boot.h"
#include "basalt/x86/host.h"
#include "fixtures.h"

/* First (setup_sects + 2) sectors of Debian's 6.1 cloud bzImage. */
#define BZ_FIXTURE SRCDIR "/data/bzimage-6.1-head.bin"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	ck_assert_ptr_nonnull(f);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

START_TEST(parse_real_header)
{
	struct bzimage_info bi;
	struct bs_err e;
	size_t len;
	uint8_t *k = slurp(BZ_FIXTURE, &len);

	ck_assert_int_eq(bzimage_parse(k, len, &bi, &e), 0);
	ck_assert_uint_eq(bi.version, 0x020f);
	ck_assert_uint_eq(bi.setup_sects, 39);
	ck_assert_uint_eq(bi.setup_size, 40 * 512);
	ck_assert_uint_eq(bi.xloadflags & 1, 1);
	ck_assert_uint_eq(bi.init_size, 0x3378000);
	ck_assert_uint_eq(bi.initrd_addr_max, 0x7fffffff);
	ck_assert_uint_eq(bi.kernel_alignment, 0x200000);
	ck_assert_uint_eq(bi.cmdline_size, 0x7ff);
	ck_assert(bi.relocatable);
	ck_assert_uint_eq(bi.pref_address, 0x1000000);
	/* buffer: [16 MiB, 16 MiB + init_size) */
	ck_assert_uint_eq(bzimage_init_end(&bi, 512), 0x1000000 + 0x3378000);
	bi.relocatable = false;
	bi.pref_address = 0;
	ck_assert_uint_eq(bzimage_init_end(&bi, 512), 0x100000 + 0x3378000);
	ck_assert_uint_eq(bzimage_init_end(&bi, 0x4000000), 0x100000 + 0x4000000);
	k[0x202] = 'X';
	ck_assert_int_eq(bzimage_parse(k, len, &bi, &e), -ENOEXEC);
	ck_assert_str_eq(e.msg, "not a bzImage (no HdrS header)");
	k[0x202] = 'H';
	k[0x236] = 0;   /* no XLF_KERNEL_64 */
	ck_assert_int_eq(bzimage_parse(k, len, &bi, &e), -ENOTSUP);
	ck_assert_str_eq(e.msg, "bzImage has no 64-bit entry point");
	free(k);
}
END_TEST

START_TEST(zero_page_fields)
{
	struct bzimage_info bi;
	struct x86_layout l;
	uint8_t zp[4096];
	size_t len;
	uint8_t *k = slurp(BZ_FIXTURE, &len);

	ck_assert_int_eq(bzimage_parse(k, len, &bi, NULL), 0);
	ck_assert_int_eq(x86_layout_compute(6ull << 30, &l, NULL), 0);
	bzimage_fill_zero_page(zp, k, len, &bi, &l, 0x20000, 2048, 0x100000000ull,
			       0x1234, 0xe0000);
	ck_assert_mem_eq(zp + 0x202, "HdrS", 4);        /* header copied */
	ck_assert_uint_eq(zp[0x210], 0xff);             /* type_of_loader */
	ck_assert_uint_eq(zp[0x211] & 0x81, 0x81);      /* LOADED_HIGH|CAN_USE_HEAP */
	ck_assert_uint_eq(rd16(zp + 0x1fa), 0xffff);    /* vid_mode */
	ck_assert_uint_eq(rd32(zp + 0x228), 0x20000);   /* cmd_line_ptr */
	ck_assert_uint_eq(rd32(zp + 0x218), 0);         /* ramdisk_image low */
	ck_assert_uint_eq(rd32(zp + 0x0c0), 1);         /* ext_ramdisk_image */
	ck_assert_uint_eq(rd32(zp + 0x21c), 0x1234);
	ck_assert_uint_eq(rd64(zp + 0x070), 0xe0000);   /* acpi_rsdp_addr */
	ck_assert_uint_eq(zp[0x1e8], 5);                /* e820 entries */
	ck_assert_uint_eq(rd64(zp + 0x2d0 + 4 * 20), 1ull << 32);
	ck_assert_uint_eq(rd64(zp + 0x2d0 + 4 * 20 + 8), 3ull << 30);
	ck_assert_uint_eq(rd32(zp + 0x2d0 + 4 * 20 + 16), E820_RAM);
	free(k);
}
END_TEST

/* A minimal ELF64 with one PT_LOAD at 1 MiB and a PVH note. */
static char *make_pvh_elf(uint64_t paddr, uint32_t entry)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[2];
		uint32_t note[4 + 1];
		uint8_t code[16];
	} f;

	memset(&f, 0, sizeof(f));
	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = ELFCLASS64;
	f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f.eh.e_ident[EI_VERSION] = EV_CURRENT;
	f.eh.e_type = ET_EXEC;
	f.eh.e_machine = EM_X86_64;
	f.eh.e_version = EV_CURRENT;
	f.eh.e_entry = paddr;
	f.eh.e_phoff = offsetof(typeof(f), ph);
	f.eh.e_ehsize = sizeof(Elf64_Ehdr);
	f.eh.e_phentsize = sizeof(Elf64_Phdr);
	f.eh.e_phnum = 2;
	f.ph[0].p_type = PT_LOAD;
	f.ph[0].p_offset = offsetof(typeof(f), code);
	f.ph[0].p_paddr = f.ph[0].p_vaddr = paddr;
	f.ph[0].p_filesz = sizeof(f.code);
	f.ph[0].p_memsz = 0x2000;     /* bss to be zeroed */
	f.ph[1].p_type = PT_NOTE;
	f.ph[1].p_offset = offsetof(typeof(f), note);
	f.ph[1].p_filesz = sizeof(f.note);
	f.note[0] = 4;                /* namesz "Xen\0" */
	f.note[1] = 4;                /* descsz */
	f.note[2] = 18;               /* XEN_ELFNOTE_PHYS32_ENTRY */
	memcpy(&f.note[3], "Xen", 4);
	f.note[4] = entry;
	memset(f.code, 0x90, sizeof(f.code));
	return fixture_tmpfile((const char *)&f, sizeof(f), ".elf");
}

START_TEST(load_pvh_elf)
{
	struct guest_mem gm;
	struct x86_layout l;
	struct boot_result br;
	struct bs_err e;
	char *elf = make_pvh_elf(0x100000, 0x100004);
	char *initrd = fixture_tmpfile("INITRD-DATA", 11, ".img");
	struct boot_params_in in = {
		.kernel_path = elf, .initrd_path = initrd, .cmdline = "code=42",
		.rsdp_gpa = 0xe0000,
	};
	uint8_t *si;

	ck_assert_int_eq(x86_layout_compute(64 << 20, &l, NULL), 0);
	ck_assert_int_eq(gm_init(&gm, l.mem, &e), 0);
	ck_assert_int_eq(x86_layout_apply(&l, &gm, &e), 0);
	memset(gm_ptr(&gm, 0x100000 + 16, 16), 0xaa, 16);
	ck_assert_int_eq(x86_load_kernel(&gm, &l, &in, &br, &e), 0);
	ck_assert_int_eq(br.entry_kind, BOOT_ENTRY_PVH);
	ck_assert_uint_eq(br.entry, 0x100004);
	ck_assert_uint_eq(br.boot_arg, X86_PVH_START_INFO);
	ck_assert_uint_eq(*(uint8_t *)gm_ptr(&gm, 0x100000 + 16, 1), 0);  /* bss */
	si = gm_ptr(&gm, X86_PVH_START_INFO, 56);
	ck_assert_uint_eq(rd32(si), 0x336ec578);
	ck_assert_uint_eq(rd32(si + 12), 1);                    /* nr_modules */
	ck_assert_uint_eq(rd64(si + 24), X86_BOOT_CMDLINE);
	ck_assert_str_eq((char *)gm_ptr(&gm, X86_BOOT_CMDLINE, 8), "code=42");
	ck_assert_uint_eq(rd64(si + 32), 0xe0000);              /* rsdp */
	ck_assert_uint_eq(rd32(si + 48), l.ne820);
	/* initrd: page aligned at the top of low RAM, module 0 */
	ck_assert_uint_eq(br.initrd_start, (64 << 20) - 4096);
	ck_assert_uint_eq(rd64(gm_ptr(&gm, rd64(si + 16), 8)), br.initrd_start);
	ck_assert_mem_eq(gm_ptr(&gm, br.initrd_start, 11), "INITRD-DATA", 11);
	ck_assert(!br.is_linux);
	gm_destroy(&gm);
	unlink(elf);
	unlink(initrd);
	free(elf);
	free(initrd);
}
END_TEST

START_TEST(elf_outside_ram)
{
	struct guest_mem gm;
	struct x86_layout l;
	struct boot_result br;
	struct bs_err e;
	char *elf = make_pvh_elf(0x7f00000, 0x7f00000);
	struct boot_params_in in = { .kernel_path = elf };

	ck_assert_int_eq(x86_layout_compute(64 << 20, &l, NULL), 0);
	ck_assert_int_eq(gm_init(&gm, l.mem, &e), 0);
	ck_assert_int_eq(x86_layout_apply(&l, &gm, &e), 0);
	ck_assert_int_eq(x86_load_kernel(&gm, &l, &in, &br, &e), -ENOMEM);
	ck_assert_msg(strstr(e.msg, "segment 0 at 0x7f00000+0x2000 is not in guest RAM"),
		      "%s", e.msg);
	gm_destroy(&gm);
	unlink(elf);
	free(elf);
}
END_TEST

START_TEST(bzimage_needs_memory)
{
	struct guest_mem gm;
	struct x86_layout l;
	struct boot_result br;
	struct bs_err e;
	struct boot_params_in in = { .kernel_path = BZ_FIXTURE, .cmdline = "x" };

	/* init_size is 51 MiB from pref_address 16 MiB (relocatable, 2 MiB
	 * aligned): 64 MiB of RAM cannot hold the decompression buffer */
	ck_assert_int_eq(x86_layout_compute(64 << 20, &l, NULL), 0);
	ck_assert_int_eq(gm_init(&gm, l.mem, &e), 0);
	ck_assert_int_eq(x86_layout_apply(&l, &gm, &e), 0);
	ck_assert_int_eq(x86_load_kernel(&gm, &l, &in, &br, &e), -ENOMEM);
	ck_assert_msg(strstr(e.msg, "needs 68 MiB to decompress"), "%s", e.msg);
	gm_destroy(&gm);

	ck_assert_int_eq(x86_layout_compute(128 << 20, &l, NULL), 0);
	ck_assert_int_eq(gm_init(&gm, l.mem, &e), 0);
	ck_assert_int_eq(x86_layout_apply(&l, &gm, &e), 0);
	ck_assert_int_eq(x86_load_kernel(&gm, &l, &in, &br, &e), 0);
	ck_assert_int_eq(br.entry_kind, BOOT_ENTRY_LINUX64);
	ck_assert_uint_eq(br.entry, 0x100200);
	ck_assert_uint_eq(br.boot_arg, X86_ZERO_PAGE);
	ck_assert(br.is_linux);
	/* identity map: PML4[0] -> PDPT, 2 MiB pages */
	ck_assert_uint_eq(rd64(gm_ptr(&gm, X86_BOOT_PML4, 8)), X86_BOOT_PDPT | 3);
	ck_assert_uint_eq(rd64(gm_ptr(&gm, X86_BOOT_PD + 8 * 5, 8)), (5ull << 21) | 0x83);
	gm_destroy(&gm);
}
END_TEST

START_TEST(pvm_cmdline)
{
	char *s = x86_host_adapt_cmdline("console=ttyS0 noxsave", true, true, 0);

	ck_assert_ptr_nonnull(strstr(s, "console=ttyS0 noxsave reboot=acpi nopv clearcpuid=smap,"));
	ck_assert_ptr_null(strstr(strstr(s, "noxsave") + 1, "noxsave"));
	free(s);
	s = x86_host_adapt_cmdline("clearcpuid=avx reboot=k", true, true, 0);
	ck_assert_str_eq(s, "clearcpuid=avx reboot=k noxsave nopv");
	free(s);
	s = x86_host_adapt_cmdline("clearcpuid=avx reboot=k", true, true, 2596142);
	ck_assert_str_eq(s, "clearcpuid=avx reboot=k noxsave nopv tsc_early_khz=2596142");
	free(s);
	s = x86_host_adapt_cmdline("tsc_early_khz=1000 nopv", true, true, 2596142);
	ck_assert_ptr_null(strstr(s, "2596142"));	/* the user's value wins */
	free(s);
	s = x86_host_adapt_cmdline("code=1", true, false, 2596142);   /* not Linux */
	ck_assert_str_eq(s, "code=1");
	free(s);
	s = x86_host_adapt_cmdline(NULL, false, true, 2596142);       /* no PVM host */
	ck_assert_str_eq(s, "reboot=acpi");
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot");
	TCase *tc = tcase_create("boot");

	tcase_add_test(tc, parse_real_header);
	tcase_add_test(tc, zero_page_fields);
	tcase_add_test(tc, load_pvh_elf);
	tcase_add_test(tc, elf_outside_ram);
	tcase_add_test(tc, bzimage_needs_memory);
	tcase_add_test(tc, pvm_cmdline);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
