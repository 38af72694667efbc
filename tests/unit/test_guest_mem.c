#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/guest_mem.h"
#include "fixtures.h"

static uint8_t ram[0x10000];

START_TEST(fake_bounds)
{
	struct guest_mem gm;
	uint8_t b[16];

	gm_init_fake(&gm, ram, 0x1000, sizeof(ram));
	ck_assert_ptr_eq(gm_ptr(&gm, 0x1000, 1), ram);
	ck_assert_ptr_eq(gm_ptr(&gm, 0x1000 + sizeof(ram) - 4, 4),
			 ram + sizeof(ram) - 4);
	/* one byte past the end, below the start, zero length, overflow */
	ck_assert_ptr_null(gm_ptr(&gm, 0x1000 + sizeof(ram) - 4, 5));
	ck_assert_ptr_null(gm_ptr(&gm, 0xfff, 2));
	ck_assert_ptr_null(gm_ptr(&gm, 0x1000, 0));
	ck_assert_ptr_null(gm_ptr(&gm, UINT64_MAX - 2, 8));
	ck_assert_ptr_null(gm_ptr(&gm, 0x1004, UINT64_MAX));
	ck_assert_int_eq(gm_read(&gm, 0x1000 + sizeof(ram), b, 1), -EFAULT);
	ck_assert_int_eq(gm_write(&gm, 0x2000, "abc", 3), 0);
	ck_assert_mem_eq(ram + 0x1000, "abc", 3);
	ck_assert_int_eq(gm_read(&gm, 0x2000, b, 3), 0);
	ck_assert_mem_eq(b, "abc", 3);
}
END_TEST

START_TEST(memfd_regions)
{
	struct guest_mem gm;
	struct bs_err e;

	ck_assert_int_eq(gm_init(&gm, 8 << 20, &e), 0);
	ck_assert_int_eq(gm_add_region(&gm, 0, 4 << 20, &e), 0);
	ck_assert_int_eq(gm_add_region(&gm, 1ull << 32, 4 << 20, &e), 0);
	/* the memfd is used up; overlapping regions are refused */
	ck_assert_int_eq(gm_add_region(&gm, 2ull << 32, 4096, &e), -EINVAL);
	ck_assert_int_eq(gm_write(&gm, (4 << 20) - 2, "xy", 2), 0);
	/* a range spanning the hole between two regions fails */
	ck_assert_ptr_null(gm_ptr(&gm, (4 << 20) - 2, 4));
	ck_assert_ptr_nonnull(gm_ptr(&gm, (1ull << 32) + (4 << 20) - 8, 8));
	ck_assert_ptr_null(gm_ptr(&gm, (1ull << 32) + (4 << 20) - 8, 9));
	/* both regions are views of one memfd: offsets are consecutive */
	ck_assert_uint_eq(gm.r[1].fd_offset, 4 << 20);
	ck_assert_ptr_eq(gm.r[1].hva, gm.base + (4 << 20));
	gm_destroy(&gm);
	ck_assert_int_eq(gm_init(&gm, 8 << 20, &e), 0);
	ck_assert_int_eq(gm_add_region(&gm, 0, 4 << 20, &e), 0);
	ck_assert_int_eq(gm_add_region(&gm, 2 << 20, 1 << 20, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "guest memory: region 0x200000+0x100000 overlaps");
	gm_destroy(&gm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guest_mem");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fake_bounds);
	tcase_add_test(tc, memfd_regions);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
