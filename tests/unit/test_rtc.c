#include <check.h>
#include <string.h>

#include "basalt/devices/rtc.h"
#include "fixtures.h"

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

/* 2024-03-09 15:04:05 UTC, a Saturday. */
#define T_AFTERNOON 1709996645
#define T_MIDNIGHT 1709944200	/* 2024-03-09 00:30:00 */
#define T_NOON 1709985600	/* 2024-03-09 12:00:00 */

static time_t fake_t;

static time_t fake_now(void)
{
	return fake_t;
}

static struct rtc *R;

static void setup(void)
{
	fake_t = T_AFTERNOON;
	R = rtc_new(fake_now, 128 * MiB, 0);
	ck_assert_ptr_nonnull(R);
}

static void teardown(void)
{
	rtc_free(R);
	R = NULL;
}

static uint8_t cmos_rd(struct rtc *r, uint8_t idx)
{
	uint8_t v = 0xee;

	rtc_ops.write(r, 0, &idx, 1);
	rtc_ops.read(r, 1, &v, 1);
	return v;
}

static void cmos_wr(struct rtc *r, uint8_t idx, uint8_t v)
{
	rtc_ops.write(r, 0, &idx, 1);
	rtc_ops.write(r, 1, &v, 1);
}

START_TEST(bcd_default)
{
	ck_assert_uint_eq(cmos_rd(R, 0x00), 0x05);
	ck_assert_uint_eq(cmos_rd(R, 0x02), 0x04);
	ck_assert_uint_eq(cmos_rd(R, 0x04), 0x15);
	ck_assert_uint_eq(cmos_rd(R, 0x06), 0x07);	/* Saturday */
	ck_assert_uint_eq(cmos_rd(R, 0x07), 0x09);
	ck_assert_uint_eq(cmos_rd(R, 0x08), 0x03);
	ck_assert_uint_eq(cmos_rd(R, 0x09), 0x24);
	ck_assert_uint_eq(cmos_rd(R, 0x32), 0x20);
	ck_assert_uint_eq(cmos_rd(R, 0x0a), 0x26);
	ck_assert_uint_eq(cmos_rd(R, 0x0b), 0x02);
	ck_assert_uint_eq(cmos_rd(R, 0x0c), 0x00);
	ck_assert_uint_eq(cmos_rd(R, 0x0d), 0x80);
	/* Index bit 7 is the NMI mask, not part of the index. */
	ck_assert_uint_eq(cmos_rd(R, 0x80 | 0x04), 0x15);
	fake_t += 10;
	ck_assert_uint_eq(cmos_rd(R, 0x00), 0x15);
}
END_TEST

START_TEST(binary_mode)
{
	cmos_wr(R, 0x0b, 0x06);
	ck_assert_uint_eq(cmos_rd(R, 0x0b), 0x06);
	ck_assert_uint_eq(cmos_rd(R, 0x00), 5);
	ck_assert_uint_eq(cmos_rd(R, 0x04), 15);
	ck_assert_uint_eq(cmos_rd(R, 0x09), 24);
	ck_assert_uint_eq(cmos_rd(R, 0x32), 20);
	fake_t += 10;
	ck_assert_uint_eq(cmos_rd(R, 0x00), 15);
}
END_TEST

START_TEST(twelve_hour)
{
	cmos_wr(R, 0x0b, 0x00);				/* BCD, 12h */
	ck_assert_uint_eq(cmos_rd(R, 0x04), 0x83);	/* 3 PM */
	cmos_wr(R, 0x0b, 0x04);				/* binary, 12h */
	ck_assert_uint_eq(cmos_rd(R, 0x04), 0x83);
	fake_t = T_MIDNIGHT;
	ck_assert_uint_eq(cmos_rd(R, 0x04), 12);		/* 12 AM */
	cmos_wr(R, 0x0b, 0x00);
	ck_assert_uint_eq(cmos_rd(R, 0x04), 0x12);
	fake_t = T_NOON;
	ck_assert_uint_eq(cmos_rd(R, 0x04), 0x92);	/* 12 PM */
	cmos_wr(R, 0x0b, 0x04);
	ck_assert_uint_eq(cmos_rd(R, 0x04), 0x8c);
	/* Writing 1 PM in 12h mode, read back in 24h BCD. */
	cmos_wr(R, 0x0b, 0x00);
	cmos_wr(R, 0x04, 0x81);
	ck_assert_uint_eq(cmos_rd(R, 0x04), 0x81);
	cmos_wr(R, 0x0b, 0x02);
	ck_assert_uint_eq(cmos_rd(R, 0x04), 0x13);
	ck_assert_uint_eq(cmos_rd(R, 0x02), 0x00);	/* minutes untouched */
}
END_TEST

START_TEST(registers_and_nvram)
{
	cmos_wr(R, 0x0a, 0xa6);
	ck_assert_uint_eq(cmos_rd(R, 0x0a), 0x26);	/* UIP reads 0 */
	cmos_wr(R, 0x0c, 0xff);
	cmos_wr(R, 0x0d, 0x00);
	ck_assert_uint_eq(cmos_rd(R, 0x0c), 0x00);
	ck_assert_uint_eq(cmos_rd(R, 0x0d), 0x80);
	cmos_wr(R, 0x01, 0x30);				/* alarms are stored */
	cmos_wr(R, 0x03, 0x45);
	cmos_wr(R, 0x05, 0x06);
	ck_assert_uint_eq(cmos_rd(R, 0x01), 0x30);
	ck_assert_uint_eq(cmos_rd(R, 0x03), 0x45);
	ck_assert_uint_eq(cmos_rd(R, 0x05), 0x06);
	cmos_wr(R, 0x40, 0xab);
	cmos_wr(R, 0x7f, 0xcd);
	ck_assert_uint_eq(cmos_rd(R, 0x40), 0xab);
	ck_assert_uint_eq(cmos_rd(R, 0x7f), 0xcd);
	ck_assert_uint_eq(cmos_rd(R, 0xff), 0xcd);	/* 0xff & 0x7f */
	/* Invalid BCD is dropped, the clock keeps its time. */
	cmos_wr(R, 0x00, 0x7a);
	cmos_wr(R, 0x08, 0x13);
	ck_assert_uint_eq(cmos_rd(R, 0x00), 0x05);
	ck_assert_uint_eq(cmos_rd(R, 0x08), 0x03);
	/* The index port reads back 0xff; wide reads fill only byte 0. */
	{
		uint32_t v = 0x12345678;

		rtc_ops.read(R, 0, &v, 1);
		ck_assert_uint_eq(v, 0x123456ff);
		cmos_wr(R, 0x40, 0xab);
		rtc_ops.read(R, 1, &v, 4);
		ck_assert_uint_eq(v, 0xab);
	}
}
END_TEST

START_TEST(mem_128m)
{
	ck_assert_uint_eq(cmos_rd(R, 0x15), 0x80);	/* 640 KiB */
	ck_assert_uint_eq(cmos_rd(R, 0x16), 0x02);
	ck_assert_uint_eq(cmos_rd(R, 0x17), 0xff);	/* 127 MiB: capped */
	ck_assert_uint_eq(cmos_rd(R, 0x18), 0xff);
	ck_assert_uint_eq(cmos_rd(R, 0x30), 0xff);
	ck_assert_uint_eq(cmos_rd(R, 0x31), 0xff);
	ck_assert_uint_eq(cmos_rd(R, 0x34), 0x00);	/* 112 MiB / 64 KiB */
	ck_assert_uint_eq(cmos_rd(R, 0x35), 0x07);
	ck_assert_uint_eq(cmos_rd(R, 0x5b), 0x00);
	ck_assert_uint_eq(cmos_rd(R, 0x5c), 0x00);
	ck_assert_uint_eq(cmos_rd(R, 0x5d), 0x00);
}
END_TEST

START_TEST(mem_small_and_16g)
{
	struct rtc *r = rtc_new(fake_now, 3 * GiB, 13 * GiB);	/* 16 GiB */
	struct rtc *s = rtc_new(fake_now, 33 * MiB, 0);

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(cmos_rd(r, 0x15), 0x80);
	ck_assert_uint_eq(cmos_rd(r, 0x16), 0x02);
	ck_assert_uint_eq(cmos_rd(r, 0x17), 0xff);
	ck_assert_uint_eq(cmos_rd(r, 0x18), 0xff);
	/* (3072 - 16) MiB / 64 KiB = 48896 = 0xbf00 */
	ck_assert_uint_eq(cmos_rd(r, 0x34), 0x00);
	ck_assert_uint_eq(cmos_rd(r, 0x35), 0xbf);
	/* 13 GiB / 64 KiB = 212992 = 0x034000 */
	ck_assert_uint_eq(cmos_rd(r, 0x5b), 0x00);
	ck_assert_uint_eq(cmos_rd(r, 0x5c), 0x40);
	ck_assert_uint_eq(cmos_rd(r, 0x5d), 0x03);
	/* 33 MiB: 32 MiB = 32768 KiB extended, 17 MiB = 272 units above 16M */
	ck_assert_uint_eq(cmos_rd(s, 0x17), 0x00);
	ck_assert_uint_eq(cmos_rd(s, 0x18), 0x80);
	ck_assert_uint_eq(cmos_rd(s, 0x30), 0x00);
	ck_assert_uint_eq(cmos_rd(s, 0x31), 0x80);
	ck_assert_uint_eq(cmos_rd(s, 0x34), 0x10);
	ck_assert_uint_eq(cmos_rd(s, 0x35), 0x01);
	rtc_free(r);
	rtc_free(s);
}
END_TEST

START_TEST(guest_sets_clock)
{
	/* Linux style: SET, write every field, clear SET.
	 * 1999-12-31 23:59:50. */
	cmos_wr(R, 0x0b, 0x82);
	cmos_wr(R, 0x00, 0x50);
	cmos_wr(R, 0x02, 0x59);
	cmos_wr(R, 0x04, 0x23);
	cmos_wr(R, 0x07, 0x31);
	cmos_wr(R, 0x08, 0x12);
	cmos_wr(R, 0x09, 0x99);
	cmos_wr(R, 0x32, 0x19);
	fake_t += 100;			/* frozen while SET */
	ck_assert_uint_eq(cmos_rd(R, 0x00), 0x50);
	cmos_wr(R, 0x0b, 0x02);
	ck_assert_uint_eq(cmos_rd(R, 0x00), 0x50);
	ck_assert_uint_eq(cmos_rd(R, 0x06), 0x06);	/* a Friday */
	fake_t += 15;			/* the guest clock keeps running */
	ck_assert_uint_eq(cmos_rd(R, 0x00), 0x05);
	ck_assert_uint_eq(cmos_rd(R, 0x02), 0x00);
	ck_assert_uint_eq(cmos_rd(R, 0x04), 0x00);
	ck_assert_uint_eq(cmos_rd(R, 0x07), 0x01);
	ck_assert_uint_eq(cmos_rd(R, 0x08), 0x01);
	ck_assert_uint_eq(cmos_rd(R, 0x09), 0x00);
	ck_assert_uint_eq(cmos_rd(R, 0x32), 0x20);
	/* A single write outside SET moves the offset too. */
	cmos_wr(R, 0x02, 0x30);
	fake_t += 60;
	ck_assert_uint_eq(cmos_rd(R, 0x02), 0x31);
	ck_assert_uint_eq(cmos_rd(R, 0x00), 0x05);
	ck_assert_uint_eq(cmos_rd(R, 0x09), 0x00);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rtc");
	TCase *tc = tcase_create("mc146818");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bcd_default);
	tcase_add_test(tc, binary_mode);
	tcase_add_test(tc, twelve_hour);
	tcase_add_test(tc, registers_and_nvram);
	tcase_add_test(tc, mem_128m);
	tcase_add_test(tc, mem_small_and_16g);
	tcase_add_test(tc, guest_sets_clock);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
