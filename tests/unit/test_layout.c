#include <check.h>

#include "basalt/x86/layout.h"
#include "fixtures.h"

static void expect(const struct e820_entry *e, uint64_t a, uint64_t s, uint32_t t)
{
	ck_assert_uint_eq(e->addr, a);
	ck_assert_uint_eq(e->size, s);
	ck_assert_uint_eq(e->type, t);
}

START_TEST(mem_128m)
{
	struct x86_layout l;

	ck_assert_int_eq(x86_layout_compute(128ull << 20, &l, NULL), 0);
	ck_assert_uint_eq(l.ne820, 4);
	expect(&l.e820[0], 0, 0x9fc00, E820_RAM);
	expect(&l.e820[1], 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED);
	expect(&l.e820[2], 0x100000, (128ull << 20) - 0x100000, E820_RAM);
	expect(&l.e820[3], 0xe0000000, 0x10000000, E820_RESERVED);
	ck_assert_uint_eq(l.low_ram_end, 128ull << 20);
	ck_assert_uint_eq(l.high_ram_end, 0);
	ck_assert_uint_eq(l.mmio64_base, 1ull << 32);
}
END_TEST

START_TEST(mem_3g)
{
	struct x86_layout l;

	ck_assert_int_eq(x86_layout_compute(3ull << 30, &l, NULL), 0);
	ck_assert_uint_eq(l.ne820, 4);
	expect(&l.e820[2], 0x100000, (3ull << 30) - 0x100000, E820_RAM);
	ck_assert_uint_eq(l.high_ram_end, 0);
}
END_TEST

START_TEST(mem_16g)
{
	struct x86_layout l;
	struct guest_mem gm = { .memfd = -1 };
	struct bs_err e;

	ck_assert_int_eq(x86_layout_compute(16ull << 30, &l, NULL), 0);
	ck_assert_uint_eq(l.ne820, 5);
	expect(&l.e820[2], 0x100000, (3ull << 30) - 0x100000, E820_RAM);
	expect(&l.e820[4], 1ull << 32, 13ull << 30, E820_RAM);
	ck_assert_uint_eq(l.high_ram_end, (4ull + 13) << 30);
	ck_assert_uint_eq(l.mmio64_base, 17ull << 30);
	/* RAM regions on a (lazily allocated) memfd: low 3 GiB + high 13 GiB */
	ck_assert_int_eq(gm_init(&gm, 16ull << 30, &e), 0);
	ck_assert_int_eq(x86_layout_apply(&l, &gm, &e), 0);
	ck_assert_uint_eq(gm.nr, 2);
	ck_assert(gm_is_ram(&gm, (3ull << 30) - 8, 8));
	ck_assert(!gm_is_ram(&gm, 3ull << 30, 1));          /* PCI hole */
	ck_assert(gm_is_ram(&gm, (17ull << 30) - 8, 8));
	ck_assert(!gm_is_ram(&gm, 17ull << 30, 1));
	gm_destroy(&gm);
}
END_TEST

START_TEST(too_small)
{
	struct x86_layout l;
	struct bs_err e;

	ck_assert_int_eq(x86_layout_compute(1 << 20, &l, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "memory: 1048576 bytes is too small");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("layout");
	TCase *tc = tcase_create("e820");

	tcase_add_test(tc, mem_128m);
	tcase_add_test(tc, mem_3g);
	tcase_add_test(tc, mem_16g);
	tcase_add_test(tc, too_small);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
