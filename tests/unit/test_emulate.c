/* Guest page walks and the instruction fallback table, over fake guest
 * memory (2 MiB of host memory at guest-physical 0). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/guest_mem.h"
#include "basalt/x86/emulate.h"
#include "basalt/x86/pagewalk.h"
#include "fixtures.h"

#define RAM_SIZE	0x200000ULL

#define CR0_PE		0x1ULL
#define CR0_MP		0x2ULL
#define CR0_TS		0x8ULL
#define CR0_PG		0x80000000ULL
#define CR4_PSE		0x10ULL
#define CR4_PAE		0x20ULL
#define CR4_OSFXSR	0x200ULL
#define CR4_LA57	0x1000ULL
#define CR4_OSXSAVE	0x40000ULL
#define EFER_LME	0x100ULL
#define EFER_LMA	0x400ULL
#define RFLAGS_ARITH	0x8d5ULL        /* OF SF ZF AF PF CF */
#define RFLAGS_ZF	0x40ULL
#define RFLAGS_AC	0x40000ULL

static uint8_t *ram;
static struct guest_mem gm;

static void setup(void)
{
	ram = calloc(1, RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	gm_init_fake(&gm, ram, 0, RAM_SIZE);
}

static void teardown(void)
{
	free(ram);
	ram = NULL;
}

static void put64(uint64_t gpa, uint64_t v)
{
	ck_assert_uint_le(gpa + 8, RAM_SIZE);
	memcpy(ram + gpa, &v, 8);
}

static void put32(uint64_t gpa, uint32_t v)
{
	ck_assert_uint_le(gpa + 4, RAM_SIZE);
	memcpy(ram + gpa, &v, 4);
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram + gpa, 4);
	return v;
}

#define PUT_BYTES(gpa, ...) do {					\
	static const uint8_t b_[] = { __VA_ARGS__ };			\
	memcpy(ram + (gpa), b_, sizeof(b_));				\
} while (0)

static uint64_t xlate(const struct kvm_sregs *s, uint64_t gva)
{
	uint64_t gpa = 0xdeadbeef;

	ck_assert_int_eq(x86_gva_to_gpa(&gm, s, gva, &gpa), 0);
	return gpa;
}

static int xlate_err(const struct kvm_sregs *s, uint64_t gva)
{
	uint64_t gpa = 0xdeadbeef;
	int r = x86_gva_to_gpa(&gm, s, gva, &gpa);

	ck_assert_uint_eq(gpa, 0xdeadbeef);
	return r;
}

/* ---- page walks ---------------------------------------------------------- */

START_TEST(test_walk_paging_off)
{
	struct kvm_sregs s = { .cr0 = CR0_PE };

	ck_assert_uint_eq(xlate(&s, 0x123456789ULL), 0x23456789ULL);
	ck_assert_uint_eq(xlate(&s, 0xfffff000ULL), 0xfffff000ULL);
}
END_TEST

START_TEST(test_walk_32bit)
{
	struct kvm_sregs s = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x10000 };

	put32(0x10000 + 1 * 4, 0x11000 | 0x3);          /* PDE[1] -> PT */
	put32(0x11000 + 5 * 4, 0x123000 | 0x3);         /* PTE[5] */
	/* PDE[2]: 4 MiB page at 0x3_01c00000 (PSE-36 bits 20:13 = 3). */
	put32(0x10000 + 2 * 4, 0x01c00000 | (3u << 13) | 0x80 | 0x3);
	put32(0x10000 + 3 * 4, 0x11000);                /* not present */

	ck_assert_uint_eq(xlate(&s, 0x405abc), 0x123abc);
	ck_assert_int_eq(xlate_err(&s, 0x406000), -EFAULT);     /* PTE[6] = 0 */
	ck_assert_int_eq(xlate_err(&s, 0xc05abc), -EFAULT);
	/* Without CR4.PSE the PS bit is ignored: the PDE is a table pointer
	 * to 0x01c06000, outside RAM. */
	ck_assert_int_eq(xlate_err(&s, 0x812345), -EFAULT);
	s.cr4 = CR4_PSE;
	ck_assert_uint_eq(xlate(&s, 0x812345), 0x301c12345ULL);
	ck_assert_uint_eq(xlate(&s, 0x405abc), 0x123abc);
	/* High gva bits are not part of a 32-bit linear address. */
	ck_assert_uint_eq(xlate(&s, 0x100405abcULL), 0x123abc);
}
END_TEST

START_TEST(test_walk_pae)
{
	struct kvm_sregs s = { .cr0 = CR0_PE | CR0_PG, .cr4 = CR4_PAE,
			       .cr3 = 0x20020 };

	put64(0x20020 + 1 * 8, 0x21000 | 0x1);                  /* PDPTE[1] */
	put64(0x21000 + 3 * 8, 0x22000 | 0x3);                  /* PDE[3] */
	put64(0x22000 + 4 * 8, (1ULL << 63) | 0x123456000ULL | 0x3);
	put64(0x21000 + 5 * 8, 0x3fe00000ULL | 0x80 | 0x3);     /* 2 MiB */
	put64(0x21000 + 6 * 8, 0x3fe00000ULL | 0x80);           /* not present */
	put64(0x20020 + 2 * 8, 0x21000);                        /* not present */

	ck_assert_uint_eq(xlate(&s, 0x40604321), 0x123456321ULL);
	ck_assert_uint_eq(xlate(&s, 0x40a12345), 0x3fe12345);
	ck_assert_int_eq(xlate_err(&s, 0x40c00000), -EFAULT);
	ck_assert_int_eq(xlate_err(&s, 0x80604321), -EFAULT);   /* PDPTE[2] */
	ck_assert_int_eq(xlate_err(&s, 0x40605000), -EFAULT);   /* PTE[5] */
}
END_TEST

/* Kernel-text style tree: PML4 0x30000, PDPT 0x31000, PD 0x32000,
 * PT 0x33000. */
static void build_long_tree(void)
{
	/* PS in a PML4E is reserved: still a table pointer. */
	put64(0x30000 + 0x1ff * 8, 0x31000 | 0x80 | 0x3);
	put64(0x31000 + 0x1fe * 8, 0x32000 | 0x3);
	put64(0x31000 + 0x1ff * 8, 0x140000000ULL | 0x80 | 0x3);   /* 1 GiB */
	put64(0x32000 + 0 * 8, (1ULL << 63) | 0x33000 | 0x3);
	put64(0x32000 + 1 * 8, 0x600000 | 0x80 | 0x3);              /* 2 MiB */
	put64(0x32000 + 2 * 8, 0x7fff00000000ULL | 0x3);            /* no RAM */
	put64(0x33000 + 1 * 8, (1ULL << 63) | 0xabcde000ULL | 0x3);
}

START_TEST(test_walk_long4)
{
	struct kvm_sregs s = { .cr0 = CR0_PE | CR0_PG, .cr4 = CR4_PAE,
			       .efer = EFER_LME | EFER_LMA,
			       .cr3 = 0x30000 | 0x18 /* PWT|PCD */ };

	build_long_tree();
	ck_assert_uint_eq(xlate(&s, 0xffffffff80001234ULL), 0xabcde234ULL);
	ck_assert_uint_eq(xlate(&s, 0xffffffff80212345ULL), 0x612345ULL);
	ck_assert_uint_eq(xlate(&s, 0xffffffffc0123456ULL), 0x140123456ULL);
	ck_assert_int_eq(xlate_err(&s, 0xffffffff80002000ULL), -EFAULT);
	ck_assert_int_eq(xlate_err(&s, 0xffffffff80400000ULL), -EFAULT);
	ck_assert_int_eq(xlate_err(&s, 0x0000000000001000ULL), -EFAULT);
	/* Non-canonical for 48 bits. */
	ck_assert_int_eq(xlate_err(&s, 0x0001ffff80001234ULL), -EFAULT);
	ck_assert_int_eq(xlate_err(&s, 0x7fffffff80001234ULL), -EFAULT);
	/* CR3 pointing outside RAM. */
	s.cr3 = 0x40000000;
	ck_assert_int_eq(xlate_err(&s, 0xffffffff80001234ULL), -EFAULT);
}
END_TEST

START_TEST(test_walk_la57)
{
	struct kvm_sregs s = { .cr0 = CR0_PE | CR0_PG, .cr4 = CR4_PAE | CR4_LA57,
			       .efer = EFER_LME | EFER_LMA, .cr3 = 0x40000 };

	build_long_tree();
	put64(0x40000 + 0x1ff * 8, 0x30000 | 0x80 | 0x3); /* PML5[511] */
	put64(0x40000 + 1 * 8, 0x30000 | 0x3);          /* PML5[1] */
	ck_assert_uint_eq(xlate(&s, 0xffffffff80001234ULL), 0xabcde234ULL);
	/* Canonical only with 57 bits. */
	ck_assert_uint_eq(xlate(&s, 0x0001ffff80001234ULL), 0xabcde234ULL);
	ck_assert_int_eq(xlate_err(&s, 0x0002ffff80001234ULL), -EFAULT);
	ck_assert_int_eq(xlate_err(&s, 0x0100000000000000ULL), -EFAULT);
}
END_TEST

START_TEST(test_read_write_gva_cross)
{
	/* 32-bit paging: virtual 0x400000 -> phys 0x52000, 0x401000 ->
	 * 0x51000, 0x402000 not present. */
	struct kvm_sregs s = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x50000 };
	uint8_t buf[8];

	put32(0x50000 + 1 * 4, 0x53000 | 0x3);
	put32(0x53000 + 0 * 4, 0x52000 | 0x3);
	put32(0x53000 + 1 * 4, 0x51000 | 0x3);
	memcpy(ram + 0x52ffc, "abcd", 4);
	memcpy(ram + 0x51000, "efgh", 4);
	memcpy(ram + 0x51ffe, "yz", 2);

	ck_assert_uint_eq(x86_read_gva(&gm, &s, 0x400ffc, buf, 8), 8);
	ck_assert_mem_eq(buf, "abcdefgh", 8);
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(x86_read_gva(&gm, &s, 0x401ffe, buf, 8), 2);
	ck_assert_mem_eq(buf, "yz\0\0", 4);
	ck_assert_uint_eq(x86_read_gva(&gm, &s, 0x402000, buf, 8), 0);

	ck_assert_uint_eq(x86_write_gva(&gm, &s, 0x400ffe, "1234", 4), 4);
	ck_assert_mem_eq(ram + 0x52ffc, "ab12", 4);
	ck_assert_mem_eq(ram + 0x51000, "34gh", 4);
	ck_assert_uint_eq(x86_write_gva(&gm, &s, 0x401fff, "QRS", 3), 1);
	ck_assert_mem_eq(ram + 0x51ffe, "yQ", 2);
}
END_TEST

START_TEST(test_read_gva_ram_end_mid_page)
{
	struct kvm_sregs s = { .cr0 = CR0_PE };
	struct guest_mem small;
	uint8_t buf[8];

	/* RAM ends at 0x100800, in the middle of a page. */
	gm_init_fake(&small, ram, 0, 0x100800);
	memcpy(ram + 0x1007fc, "wxyz", 4);
	ck_assert_uint_eq(x86_read_gva(&small, &s, 0x1007fc, buf, 8), 4);
	ck_assert_mem_eq(buf, "wxyz", 4);
	ck_assert_uint_eq(x86_write_gva(&small, &s, 0x1007fe, "12345", 5), 2);
	ck_assert_mem_eq(ram + 0x1007fc, "wx12", 4);
	ck_assert_uint_eq(ram[0x100800], 0);
}
END_TEST

/* ---- fallbacks: 64-bit long mode ----------------------------------------- */

/* Identity map of the first 2 MiB through one page table, except virtual
 * page 0x50 (not present) and 0x60 (-> physical 0x70000). */
static void env64(struct x86_vcpu_state *st)
{
	memset(st, 0, sizeof(*st));
	put64(0x1000, 0x2000 | 0x3);
	put64(0x2000, 0x3000 | 0x3);
	put64(0x3000, 0x4000 | 0x3);
	for (uint64_t i = 0; i < 512; i++)
		put64(0x4000 + i * 8, (i << 12) | 0x3);
	put64(0x4000 + 0x50 * 8, 0);
	put64(0x4000 + 0x60 * 8, 0x70000 | 0x3);
	st->sregs.cr0 = CR0_PE | CR0_PG | 0x10 /* ET */;
	st->sregs.cr3 = 0x1000;
	st->sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXSAVE;
	st->sregs.efer = EFER_LME | EFER_LMA;
	st->sregs.cs.l = 1;
	st->sregs.cs.selector = 0x10;
	st->regs.rip = 0x10000;
	st->regs.rsp = 0x30000;
	st->regs.rflags = 0x2;
	st->fpu.mxcsr = 0x1f80;
}

static enum fallback_result run(struct x86_vcpu_state *st,
				struct fallback_info *info)
{
	memset(info, 0xa5, sizeof(*info));
	return x86_fallback(&gm, st, info);
}

static void assert_no_inject(const struct x86_vcpu_state *st)
{
	ck_assert(!st->inject);
}

START_TEST(test_int3)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env64(&st);
	PUT_BYTES(0x10000, 0xcc, 0x90);
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "int3");
	ck_assert_uint_eq(info.rip_gpa, 0x10000);
	ck_assert_uint_eq(st.regs.rip, 0x10001);
	ck_assert(st.regs_dirty);
	ck_assert(!st.fpu_dirty);
	ck_assert(st.inject);
	ck_assert_uint_eq(st.inject_vector, 3);
	ck_assert(!st.inject_has_error);
}
END_TEST

START_TEST(test_fwait)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env64(&st);
	PUT_BYTES(0x10000, 0x9b);
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "fwait");
	ck_assert_uint_eq(st.regs.rip, 0x10001);
	ck_assert(st.regs_dirty);
	assert_no_inject(&st);

	/* CR0.MP and CR0.TS: #NM, RIP unchanged. */
	env64(&st);
	st.sregs.cr0 |= CR0_MP | CR0_TS;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_uint_eq(st.regs.rip, 0x10000);
	ck_assert(!st.regs_dirty);
	ck_assert(st.inject);
	ck_assert_uint_eq(st.inject_vector, 7);
}
END_TEST

START_TEST(test_clac_stac)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env64(&st);
	st.regs.rflags = 0x2 | RFLAGS_AC | RFLAGS_ZF;
	PUT_BYTES(0x10000, 0x0f, 0x01, 0xca, 0x0f, 0x01, 0xcb);
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "clac");
	ck_assert_uint_eq(st.regs.rflags, 0x2 | RFLAGS_ZF);
	ck_assert_uint_eq(st.regs.rip, 0x10003);
	assert_no_inject(&st);

	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "stac");
	ck_assert_uint_eq(st.regs.rflags, 0x2 | RFLAGS_AC | RFLAGS_ZF);
	ck_assert_uint_eq(st.regs.rip, 0x10006);
	assert_no_inject(&st);

	/* CPL 3: #UD, flags and RIP unchanged. */
	env64(&st);
	st.sregs.cs.selector = 0x33;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_uint_eq(st.regs.rflags, 0x2);
	ck_assert_uint_eq(st.regs.rip, 0x10000);
	ck_assert(st.inject);
	ck_assert_uint_eq(st.inject_vector, 6);
}
END_TEST

static void expect_mxcsr_load(struct x86_vcpu_state *st, const char *name,
			      uint64_t rip_after, uint32_t mxcsr)
{
	struct fallback_info info;

	ck_assert_int_eq(run(st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, name);
	ck_assert_uint_eq(st->fpu.mxcsr, mxcsr);
	ck_assert(st->fpu_dirty);
	ck_assert_uint_eq(st->regs.rip, rip_after);
	assert_no_inject(st);
}

START_TEST(test_ldmxcsr_rsp_disp8)
{
	struct x86_vcpu_state st;

	env64(&st);
	PUT_BYTES(0x10000, 0x0f, 0xae, 0x54, 0x24, 0x24);   /* [rsp+0x24] */
	put32(0x30024, 0x1fa0);
	expect_mxcsr_load(&st, "ldmxcsr", 0x10005, 0x1fa0);
}
END_TEST

START_TEST(test_ldmxcsr_riprel)
{
	struct x86_vcpu_state st;

	env64(&st);
	/* [rip - 0x1007] relative to the next instruction (0x10007). */
	PUT_BYTES(0x10000, 0x0f, 0xae, 0x15, 0xf9, 0xef, 0xff, 0xff);
	put32(0xf000, 0x9fc0);
	expect_mxcsr_load(&st, "ldmxcsr", 0x10007, 0x9fc0);
}
END_TEST

START_TEST(test_ldmxcsr_sib)
{
	struct x86_vcpu_state st;

	env64(&st);
	/* REX.XB: [r8 + r9*8 + 0x100] */
	PUT_BYTES(0x10000, 0x43, 0x0f, 0xae, 0x94, 0xc8, 0x00, 0x01, 0x00, 0x00);
	st.regs.r8 = 0x20000;
	st.regs.r9 = 0x10;
	put32(0x20180, 0x1f81);
	expect_mxcsr_load(&st, "ldmxcsr", 0x10009, 0x1f81);

	/* No base, no index: [disp32]. */
	env64(&st);
	PUT_BYTES(0x10000, 0x0f, 0xae, 0x14, 0x25, 0x00, 0x04, 0x02, 0x00);
	put32(0x20400, 0x1f82);
	expect_mxcsr_load(&st, "ldmxcsr", 0x10008, 0x1f82);

	/* %gs:disp32 adds GS.base; a DS override adds nothing in 64-bit. */
	env64(&st);
	st.sregs.gs.base = 0x20000;
	st.sregs.ds.base = 0x1000;
	PUT_BYTES(0x10000, 0x65, 0x0f, 0xae, 0x14, 0x25, 0x10, 0x00, 0x00, 0x00,
		  0x3e, 0x0f, 0xae, 0x14, 0x25, 0x14, 0x00, 0x02, 0x00);
	put32(0x20010, 0x1f83);
	put32(0x20014, 0x1f84);
	expect_mxcsr_load(&st, "ldmxcsr", 0x10009, 0x1f83);
	expect_mxcsr_load(&st, "ldmxcsr", 0x10012, 0x1f84);

	/* 0x67: 32-bit address, the upper half of RSP is dropped. */
	env64(&st);
	st.regs.rsp = 0x100030000ULL;
	PUT_BYTES(0x10000, 0x67, 0x0f, 0xae, 0x54, 0x24, 0x24);
	put32(0x30024, 0x1f85);
	expect_mxcsr_load(&st, "ldmxcsr", 0x10006, 0x1f85);
}
END_TEST

START_TEST(test_stmxcsr)
{
	struct x86_vcpu_state st;
	struct fallback_info info;
	static const uint8_t want[] = { 0xee, 0xa5, 0x9f, 0x00, 0x00, 0xee };

	env64(&st);
	st.fpu.mxcsr = 0x9fa5;
	memset(ram + 0x30007, 0xee, 6);
	PUT_BYTES(0x10000, 0x0f, 0xae, 0x5c, 0x24, 0x08);   /* [rsp+8] */
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "stmxcsr");
	ck_assert_mem_eq(ram + 0x30007, want, sizeof(want));
	ck_assert_uint_eq(st.regs.rip, 0x10005);
	ck_assert(!st.fpu_dirty);
	assert_no_inject(&st);

	/* A store straddling into the unmapped page writes nothing. */
	env64(&st);
	st.regs.rsp = 0x4fff6;          /* [rsp+8] = 0x4fffe..0x50001 */
	memset(ram + 0x4fff8, 0xee, 8);
	ck_assert_int_eq(run(&st, &info), FALLBACK_FAULT);
	ck_assert_uint_eq(get32(0x4fffc), 0xeeeeeeee);
	ck_assert_uint_eq(st.regs.rip, 0x10000);
}
END_TEST

START_TEST(test_ldmxcsr_reserved_gp)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env64(&st);
	PUT_BYTES(0x10000, 0x0f, 0xae, 0x54, 0x24, 0x24);
	put32(0x30024, 0x00011f80);
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "ldmxcsr");
	ck_assert(st.inject);
	ck_assert_uint_eq(st.inject_vector, 13);
	ck_assert(st.inject_has_error);
	ck_assert_uint_eq(st.inject_error, 0);
	ck_assert_uint_eq(st.regs.rip, 0x10000);
	ck_assert_uint_eq(st.fpu.mxcsr, 0x1f80);
	ck_assert(!st.fpu_dirty);
	ck_assert(!st.regs_dirty);
}
END_TEST

START_TEST(test_ldmxcsr_sse_faults)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env64(&st);
	PUT_BYTES(0x10000, 0x0f, 0xae, 0x54, 0x24, 0x24);
	put32(0x30024, 0x1fa0);
	st.sregs.cr0 |= CR0_TS;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_uint_eq(st.inject_vector, 7);
	ck_assert_uint_eq(st.fpu.mxcsr, 0x1f80);
	ck_assert_uint_eq(st.regs.rip, 0x10000);

	env64(&st);
	st.sregs.cr4 &= ~CR4_OSFXSR;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert(st.inject);
	ck_assert_uint_eq(st.inject_vector, 6);
	ck_assert_uint_eq(st.fpu.mxcsr, 0x1f80);
}
END_TEST

START_TEST(test_vex_mxcsr)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env64(&st);
	PUT_BYTES(0x10000, 0xc5, 0xf8, 0xae, 0x54, 0x24, 0x24,        /* vld */
		  0xc4, 0xe1, 0x78, 0xae, 0x5c, 0x24, 0x08);          /* vst */
	put32(0x30024, 0x1fc0);
	expect_mxcsr_load(&st, "vldmxcsr", 0x10006, 0x1fc0);
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "vstmxcsr");
	ck_assert_uint_eq(get32(0x30008), 0x1fc0);
	ck_assert_uint_eq(st.regs.rip, 0x1000d);

	/* CR4.OSXSAVE clear: #UD. */
	env64(&st);
	st.sregs.cr4 &= ~CR4_OSXSAVE;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert(st.inject);
	ck_assert_uint_eq(st.inject_vector, 6);
	ck_assert_uint_eq(st.fpu.mxcsr, 0x1f80);
	ck_assert_uint_eq(st.regs.rip, 0x10000);

	/* VEX.vvvv != 1111b and VEX.L = 1 are not this instruction. */
	env64(&st);
	PUT_BYTES(0x10000, 0xc5, 0xf0, 0xae, 0x54, 0x24, 0x24);
	ck_assert_int_eq(run(&st, &info), FALLBACK_UNKNOWN);
	PUT_BYTES(0x10000, 0xc5, 0xfc, 0xae, 0x54, 0x24, 0x24);
	ck_assert_int_eq(run(&st, &info), FALLBACK_UNKNOWN);
	ck_assert_ptr_null(info.name);
	ck_assert_uint_eq(st.fpu.mxcsr, 0x1f80);
	ck_assert(!st.regs_dirty);
}
END_TEST

START_TEST(test_popcnt_reg)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env64(&st);
	/* popcnt rax, rbx; popcnt eax, ecx; popcnt ax, bx */
	PUT_BYTES(0x10000, 0xf3, 0x48, 0x0f, 0xb8, 0xc3,
		  0xf3, 0x0f, 0xb8, 0xc1,
		  0x66, 0xf3, 0x0f, 0xb8, 0xc3);
	st.regs.rbx = 0xf0f0000000000001ULL;
	st.regs.rflags = 0x2 | RFLAGS_ARITH | RFLAGS_AC;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "popcnt");
	ck_assert_uint_eq(st.regs.rax, 9);
	ck_assert_uint_eq(st.regs.rflags, 0x2 | RFLAGS_AC);
	ck_assert_uint_eq(st.regs.rip, 0x10005);

	st.regs.rcx = 0xffffffff00000000ULL;
	st.regs.rax = 0x1234567812345678ULL;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_uint_eq(st.regs.rax, 0);
	ck_assert_uint_eq(st.regs.rflags, 0x2 | RFLAGS_AC | RFLAGS_ZF);
	ck_assert_uint_eq(st.regs.rip, 0x10009);

	st.regs.rax = 0x1111222233334444ULL;
	st.regs.rbx = 0xffffffffffff00ffULL;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_uint_eq(st.regs.rax, 0x1111222233330008ULL);
	ck_assert_uint_eq(st.regs.rflags, 0x2 | RFLAGS_AC);
	ck_assert_uint_eq(st.regs.rip, 0x1000e);
	assert_no_inject(&st);

	/* REX before a legacy prefix is ignored: popcnt eax, ebx. */
	env64(&st);
	PUT_BYTES(0x10000, 0x48, 0xf3, 0x0f, 0xb8, 0xc3);
	st.regs.rbx = 0xffffffff00000001ULL;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_uint_eq(st.regs.rax, 1);
	ck_assert_uint_eq(st.regs.rip, 0x10005);

	/* Without f3 it is not popcnt (0f b8 is JMPE). */
	env64(&st);
	PUT_BYTES(0x10000, 0x48, 0x0f, 0xb8, 0xc3);
	ck_assert_int_eq(run(&st, &info), FALLBACK_UNKNOWN);
}
END_TEST

START_TEST(test_popcnt_mem)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env64(&st);
	/* popcnt r8, [rsp+0x10] */
	PUT_BYTES(0x10000, 0xf3, 0x4c, 0x0f, 0xb8, 0x44, 0x24, 0x10);
	put64(0x30010, 0x8000000000000003ULL);
	st.regs.r8 = ~0ULL;
	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "popcnt");
	ck_assert_uint_eq(st.regs.r8, 3);
	ck_assert_uint_eq(st.regs.rax, 0);
	ck_assert_uint_eq(st.regs.rip, 0x10007);

	/* Memory operand on the unmapped page. */
	env64(&st);
	st.regs.rsp = 0x50000;
	ck_assert_int_eq(run(&st, &info), FALLBACK_FAULT);
	ck_assert_uint_eq(st.regs.rip, 0x10000);
	ck_assert(!st.regs_dirty);
}
END_TEST

START_TEST(test_unknown_bytes)
{
	struct x86_vcpu_state st;
	struct fallback_info info;
	static const uint8_t ud2[] = { 0x0f, 0x0b, 0x90, 0x90, 0x90, 0x90 };

	/* Six bytes before the unmapped page 0x50. */
	env64(&st);
	st.regs.rip = 0x4fffa;
	memcpy(ram + 0x4fffa, ud2, sizeof(ud2));
	ck_assert_int_eq(run(&st, &info), FALLBACK_UNKNOWN);
	ck_assert_uint_eq(info.nbytes, 6);
	ck_assert_mem_eq(info.bytes, ud2, 6);
	ck_assert_uint_eq(info.rip_gpa, 0x4fffa);
	ck_assert_ptr_null(info.name);
	ck_assert(!st.regs_dirty);
	assert_no_inject(&st);

	/* A full window: exactly X86_MAX_INSN bytes. */
	env64(&st);
	for (unsigned i = 0; i < 20; i++)
		ram[0x10000 + i] = (uint8_t)(0xd0 + i);
	ck_assert_int_eq(run(&st, &info), FALLBACK_UNKNOWN);
	ck_assert_uint_eq(info.nbytes, 15);
	ck_assert_mem_eq(info.bytes, ram + 0x10000, 15);

	/* Fifteen prefixes: too long, not a fetch problem. */
	memset(ram + 0x10000, 0x66, 16);
	ck_assert_int_eq(run(&st, &info), FALLBACK_UNKNOWN);

	/* LOCK never applies to these. */
	PUT_BYTES(0x10000, 0xf0, 0x0f, 0xae, 0x54, 0x24, 0x24);
	ck_assert_int_eq(run(&st, &info), FALLBACK_UNKNOWN);
}
END_TEST

START_TEST(test_fetch_fault)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env64(&st);
	st.regs.rip = 0x50010;
	ck_assert_int_eq(run(&st, &info), FALLBACK_FAULT);
	ck_assert_uint_eq(info.nbytes, 0);
	ck_assert_uint_eq(info.rip_gpa, UINT64_MAX);
	ck_assert(!st.regs_dirty);

	/* Non-canonical RIP. */
	st.regs.rip = 0x0000800000000000ULL;
	ck_assert_int_eq(run(&st, &info), FALLBACK_FAULT);

	/* ldmxcsr cut off by the unmapped page after its ModRM. */
	env64(&st);
	st.regs.rip = 0x4fffd;
	PUT_BYTES(0x4fffd, 0x0f, 0xae, 0x54);
	ck_assert_int_eq(run(&st, &info), FALLBACK_FAULT);
	ck_assert_uint_eq(info.nbytes, 3);
	ck_assert_mem_eq(info.bytes, "\x0f\xae\x54", 3);
	ck_assert_uint_eq(st.fpu.mxcsr, 0x1f80);
}
END_TEST

START_TEST(test_fetch_cross_page)
{
	struct x86_vcpu_state st;
	struct fallback_info info;
	uint8_t buf[X86_MAX_INSN];
	uint64_t gpa = 0;

	/* Virtual 0x60ffe -> physical 0x70ffe, virtual 0x61000 -> 0x61000. */
	env64(&st);
	st.regs.rip = 0x60ffe;
	PUT_BYTES(0x70ffe, 0x0f, 0xae);
	PUT_BYTES(0x61000, 0x54, 0x24, 0x24);
	put32(0x30024, 0x1f90);

	ck_assert_uint_eq(x86_fetch_insn(&gm, &st.sregs, st.regs.rip, buf, &gpa),
			  15);
	ck_assert_uint_eq(gpa, 0x70ffe);
	ck_assert_mem_eq(buf, "\x0f\xae\x54\x24\x24", 5);

	ck_assert_int_eq(run(&st, &info), FALLBACK_DONE);
	ck_assert_str_eq(info.name, "ldmxcsr");
	ck_assert_uint_eq(info.rip_gpa, 0x70ffe);
	ck_assert_uint_eq(st.fpu.mxcsr, 0x1f90);
	ck_assert_uint_eq(st.regs.rip, 0x61003);
}
END_TEST

/* ---- fallbacks: 32-bit protected mode, paging off ------------------------ */

static void env32(struct x86_vcpu_state *st)
{
	memset(st, 0, sizeof(*st));
	st->sregs.cr0 = CR0_PE | 0x10;
	st->sregs.cr4 = CR4_OSFXSR;
	st->sregs.cs.db = 1;
	st->sregs.cs.selector = 0x08;
	st->sregs.cs.base = 0x8000;
	st->regs.rip = 0x8000;          /* linear 0x10000 */
	st->regs.rflags = 0x2;
	st->fpu.mxcsr = 0x1f80;
}

START_TEST(test_ldmxcsr_32bit)
{
	struct x86_vcpu_state st;
	struct fallback_info info;

	env32(&st);
	st.sregs.ds.base = 0x1000;
	st.sregs.ss.base = 0x2000;
	st.regs.rax = 0x1f000;
	st.regs.rbp = 0x1e000;
	st.regs.rbx = 0xffff0100;
	st.regs.rsp = 0x1d000;
	st.regs.rsi = 0x2000;           /* bp+si wraps at 64 KiB */
	/* ldmxcsr [eax+0x10] (DS); ldmxcsr [ebp+8] (SS); ldmxcsr [esp+4]
	 * (SIB, SS); with 0x67 (16-bit addressing): ldmxcsr [bx+4] (DS),
	 * ldmxcsr [bp+si+8] (SS). */
	PUT_BYTES(0x10000, 0x0f, 0xae, 0x50, 0x10,
		  0x0f, 0xae, 0x55, 0x08,
		  0x0f, 0xae, 0x54, 0x24, 0x04,
		  0x67, 0x0f, 0xae, 0x57, 0x04,
		  0x67, 0x0f, 0xae, 0x52, 0x08);
	put32(0x20010, 0x1f91);
	put32(0x20008, 0x1f92);
	put32(0x1f004, 0x1f93);
	put32(0x1104, 0x1f94);
	put32(0x2008, 0x1f95);
	expect_mxcsr_load(&st, "ldmxcsr", 0x8004, 0x1f91);
	expect_mxcsr_load(&st, "ldmxcsr", 0x8008, 0x1f92);
	expect_mxcsr_load(&st, "ldmxcsr", 0x800d, 0x1f93);
	expect_mxcsr_load(&st, "ldmxcsr", 0x8012, 0x1f94);
	expect_mxcsr_load(&st, "ldmxcsr", 0x8017, 0x1f95);

	/* 0x48 is DEC EAX outside 64-bit mode, not a REX prefix. */
	env32(&st);
	PUT_BYTES(0x10000, 0x48, 0x0f, 0xae, 0x50, 0x10);
	ck_assert_int_eq(run(&st, &info), FALLBACK_UNKNOWN);
	ck_assert_uint_eq(info.rip_gpa, 0x10000);
	ck_assert_uint_eq(info.nbytes, 15);

	/* c5 with ModRM.mod != 3 is LDS outside 64-bit mode. */
	PUT_BYTES(0x10000, 0xc5, 0x78, 0xae, 0x50, 0x10);
	ck_assert_int_eq(run(&st, &info), FALLBACK_UNKNOWN);
	st.sregs.cr4 |= CR4_OSXSAVE;
	PUT_BYTES(0x10000, 0xc5, 0xf8, 0xae, 0x50, 0x10);
	st.sregs.ds.base = 0x1000;
	st.regs.rax = 0x1f000;
	expect_mxcsr_load(&st, "vldmxcsr", 0x8005, 0x1f91);
}
END_TEST

START_TEST(test_format_bytes)
{
	static const uint8_t b[] = { 0x0f, 0xae, 0x54, 0x24, 0x24 };
	char out[3 * X86_MAX_INSN + 1];

	x86_format_bytes(b, 5, out, sizeof(out));
	ck_assert_str_eq(out, "0f ae 54 24 24");
	x86_format_bytes(b, 0, out, sizeof(out));
	ck_assert_str_eq(out, "");
	/* Only whole bytes fit: "0f ae" needs 6 with the NUL. */
	x86_format_bytes(b, 5, out, 6);
	ck_assert_str_eq(out, "0f ae");
	x86_format_bytes(b, 5, out, 5);
	ck_assert_str_eq(out, "0f");
	memset(out, 'x', 4);
	x86_format_bytes(b, 5, out, 0);
	ck_assert_int_eq(out[0], 'x');
}
END_TEST

int main(void)
{
	Suite *s = suite_create("emulate");
	TCase *walk = tcase_create("pagewalk");
	TCase *emu = tcase_create("fallback");

	tcase_add_checked_fixture(walk, setup, teardown);
	tcase_add_test(walk, test_walk_paging_off);
	tcase_add_test(walk, test_walk_32bit);
	tcase_add_test(walk, test_walk_pae);
	tcase_add_test(walk, test_walk_long4);
	tcase_add_test(walk, test_walk_la57);
	tcase_add_test(walk, test_read_write_gva_cross);
	tcase_add_test(walk, test_read_gva_ram_end_mid_page);
	suite_add_tcase(s, walk);

	tcase_add_checked_fixture(emu, setup, teardown);
	tcase_add_test(emu, test_int3);
	tcase_add_test(emu, test_fwait);
	tcase_add_test(emu, test_clac_stac);
	tcase_add_test(emu, test_ldmxcsr_rsp_disp8);
	tcase_add_test(emu, test_ldmxcsr_riprel);
	tcase_add_test(emu, test_ldmxcsr_sib);
	tcase_add_test(emu, test_stmxcsr);
	tcase_add_test(emu, test_ldmxcsr_reserved_gp);
	tcase_add_test(emu, test_ldmxcsr_sse_faults);
	tcase_add_test(emu, test_vex_mxcsr);
	tcase_add_test(emu, test_popcnt_reg);
	tcase_add_test(emu, test_popcnt_mem);
	tcase_add_test(emu, test_unknown_bytes);
	tcase_add_test(emu, test_fetch_fault);
	tcase_add_test(emu, test_fetch_cross_page);
	tcase_add_test(emu, test_ldmxcsr_32bit);
	tcase_add_test(emu, test_format_bytes);
	suite_add_tcase(s, emu);

	return fixture_run_suite(s);
}
