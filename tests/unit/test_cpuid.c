#include <check.h>
#include <string.h>

#include "basalt/x86/cpu.h"
#include "fixtures.h"

/* A host-like supported list: max basic leaf 0xd, leaf 1, two leaf-4
 * caches (L1d, L3), leaf 0xb with two subleaves, 0x80000008. */
static void host_list(struct x86_cpuid *c)
{
	struct kvm_cpuid_entry2 *e = c->e;

	memset(c, 0, sizeof(*c));
	e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd };
	e[1] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x806f8,
		.ebx = 0xff00ff00, .ecx = 0x7ffafbff, .edx = 0x0fabfbff };
	e[2] = (struct kvm_cpuid_entry2){ .function = 4, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		.eax = 0xfc004121 };  /* L1d, reports 64 cores */
	e[3] = (struct kvm_cpuid_entry2){ .function = 4, .index = 1,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xfc3fc163 }; /* L3 */
	e[4] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 1, .ebx = 2 };
	e[5] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 7, .ebx = 96 };
	e[6] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .ecx = 0x703f };
	c->hdr.nent = 7;
}

static void check_topology(unsigned ncpus, unsigned index, unsigned shift)
{
	struct x86_cpuid c;
	struct kvm_cpuid_entry2 *e;

	host_list(&c);
	x86_cpuid_patch(&c, ncpus, index);

	e = x86_cpuid_find(&c, 1, 0);
	ck_assert_uint_eq(e->ebx >> 24, index);                 /* APIC id */
	ck_assert_uint_eq((e->ebx >> 16) & 0xff, ncpus);
	ck_assert_uint_eq(e->ecx >> 31, 1);                     /* hypervisor */
	ck_assert_uint_eq((e->edx >> 28) & 1, ncpus > 1);       /* HTT */
	ck_assert_uint_eq(e->eax, 0x806f8);                     /* untouched */

	e = x86_cpuid_find(&c, 4, 0);
	ck_assert_uint_eq((e->eax >> 26) + 1, ncpus);
	ck_assert_uint_eq(((e->eax >> 14) & 0xfff) + 1, 1);     /* L1 per core */
	ck_assert_uint_eq(e->eax & 0x3fff, 0x0121);
	e = x86_cpuid_find(&c, 4, 1);
	ck_assert_uint_eq(((e->eax >> 14) & 0xfff) + 1, ncpus); /* L3 shared */

	e = x86_cpuid_find(&c, 0xb, 0);
	ck_assert_uint_eq(e->eax, 0);
	ck_assert_uint_eq(e->ebx, 1);
	ck_assert_uint_eq(e->ecx, 0x100);
	ck_assert_uint_eq(e->edx, index);
	e = x86_cpuid_find(&c, 0xb, 1);
	ck_assert_uint_eq(e->eax, shift);
	ck_assert_uint_eq(e->ebx, ncpus);
	ck_assert_uint_eq(e->ecx, 0x201);
	ck_assert_uint_eq(e->edx, index);
	e = x86_cpuid_find(&c, 0xb, 2);                         /* added */
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->ecx, 2);
	ck_assert_uint_eq(e->ebx, 0);

	e = x86_cpuid_find(&c, 0x80000008, 0);
	ck_assert_uint_eq((e->ecx & 0xff) + 1, ncpus);
	ck_assert_uint_eq((e->ecx >> 12) & 0xf, shift);
}

START_TEST(one_cpu) { check_topology(1, 0, 0); }
END_TEST
START_TEST(two_cpus) { check_topology(2, 1, 1); }
END_TEST
START_TEST(eight_cpus) { check_topology(8, 5, 3); }
END_TEST

START_TEST(core_shift)
{
	ck_assert_uint_eq(x86_core_shift(1), 0);
	ck_assert_uint_eq(x86_core_shift(2), 1);
	ck_assert_uint_eq(x86_core_shift(3), 2);
	ck_assert_uint_eq(x86_core_shift(8), 3);
	ck_assert_uint_eq(x86_core_shift(9), 4);
}
END_TEST

START_TEST(adds_leaf_b_when_missing)
{
	struct x86_cpuid c;

	host_list(&c);
	c.e[0].eax = 0x7;            /* host max leaf below 0xb */
	c.hdr.nent = 4;              /* and no 0xb entries */
	x86_cpuid_patch(&c, 4, 3);
	ck_assert_uint_eq(x86_cpuid_find(&c, 0, 0)->eax, 0xb);
	ck_assert_uint_eq(x86_cpuid_find(&c, 0xb, 1)->ebx, 4);
	ck_assert_uint_eq(x86_cpuid_find(&c, 0xb, 1)->edx, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cpuid");
	TCase *tc = tcase_create("topology");

	tcase_add_test(tc, one_cpu);
	tcase_add_test(tc, two_cpus);
	tcase_add_test(tc, eight_cpus);
	tcase_add_test(tc, core_shift);
	tcase_add_test(tc, adds_leaf_b_when_missing);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
