#include <check.h>
#include <string.h>

#include "basalt/bus.h"
#include "fixtures.h"

struct rec {
	uint64_t off;
	unsigned len;
	uint32_t last;
	int writes;
};

static void rd(void *dev, uint64_t off, void *data, unsigned len)
{
	uint32_t v = 0x11223344 + (uint32_t)off;

	(void)dev;
	memcpy(data, &v, len);
}

static void wr(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct rec *r = dev;

	r->off = off;
	r->len = len;
	r->last = 0;
	memcpy(&r->last, data, len);
	r->writes++;
}

static const struct bus_dev_ops ops = { .name = "dev", .read = rd, .write = wr };
static const struct bus_dev_ops ops2 = { .name = "other", .read = rd, .write = wr };

START_TEST(dispatch)
{
	struct bus b;
	struct rec r1 = { 0 }, r2 = { 0 };
	struct bs_err e;
	uint32_t v = 0xabcd;

	bus_init(&b, "pio");
	ck_assert_int_eq(bus_register(&b, 0x3f8, 8, &ops, &r1, &e), 0);
	ck_assert_int_eq(bus_register(&b, 0x70, 2, &ops, &r2, &e), 0);
	ck_assert_int_eq(bus_register(&b, 0x3fc, 8, &ops2, &r2, &e), -EBUSY);
	ck_assert_str_eq(e.msg, "pio bus: other at 0x3fc overlaps dev at 0x3f8");
	ck_assert_int_eq(bus_register(&b, 0x3f0, 9, &ops2, &r2, &e), -EBUSY);
	ck_assert_int_eq(bus_register(&b, 0x3f0, 8, &ops2, &r2, &e), 0);

	ck_assert(bus_dispatch(&b, true, 0x3f9, &v, 1));
	ck_assert_uint_eq(r1.off, 1);
	ck_assert_uint_eq(r1.last, 0xcd);
	ck_assert(bus_dispatch(&b, false, 0x71, &v, 4) == false);  /* straddles end */
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert(bus_dispatch(&b, false, 0x70, &v, 2));
	ck_assert_uint_eq(v & 0xffff, 0x3344);
	ck_assert(!bus_dispatch(&b, false, 0x1000, &v, 4));
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert(!bus_dispatch(&b, true, 0x500, &v, 4));
	ck_assert_int_eq(r1.writes + r2.writes, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, dispatch);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
