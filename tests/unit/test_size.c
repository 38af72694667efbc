/* parse_size / format_size (src/size.c). */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "basalt/config.h"
#include "fixtures.h"

static const struct {
	const char *in;
	uint64_t want;
} good[] = {
	{ "0", 0 },
	{ "1", 1 },
	{ "1048576", 1048576 },
	{ "0012", 12 },
	{ "1024B", 1024 },
	{ "64K", 64ull << 10 },
	{ "64k", 64ull << 10 },
	{ "512M", 512ull << 20 },
	{ "512m", 512ull << 20 },
	{ "512MiB", 512ull << 20 },
	{ "512mib", 512ull << 20 },
	{ "512MB", 512ull << 20 },
	{ "512Mb", 512ull << 20 },
	{ "2G", 2ull << 30 },
	{ "1T", 1ull << 40 },
	{ "3P", 3ull << 50 },
	{ "15E", 15ull << 60 },
	{ "18446744073709551615", UINT64_MAX },
	{ "16777215T", 16777215ull << 40 },
};

static const struct {
	const char *in;
	int err;
} bad[] = {
	{ "", -EINVAL },
	{ "-1", -EINVAL },
	{ "+1", -EINVAL },
	{ "1.5G", -EINVAL },
	{ "12X", -EINVAL },
	{ "12Q", -EINVAL },
	{ " 1G", -EINVAL },
	{ "1G ", -EINVAL },
	{ "1 G", -EINVAL },
	{ "G", -EINVAL },
	{ "1iB", -EINVAL },
	{ "1Gi", -EINVAL },
	{ "1GiBx", -EINVAL },
	{ "1GBB", -EINVAL },
	{ "0x10", -EINVAL },
	{ "99999999999999999999999.5", -EINVAL },
	{ "18446744073709551616", -ERANGE },
	{ "99999999999999999999999", -ERANGE },
	{ "16E", -ERANGE },
	{ "16777216T", -ERANGE },
};

START_TEST(test_parse_good)
{
	uint64_t v = 0xdeadbeef;

	ck_assert_msg(parse_size(good[_i].in, &v) == 0, "'%s' rejected", good[_i].in);
	ck_assert_msg(v == good[_i].want, "'%s' -> %llu, want %llu", good[_i].in,
		      (unsigned long long)v, (unsigned long long)good[_i].want);
}
END_TEST

START_TEST(test_parse_bad)
{
	uint64_t v = 0xdeadbeef;
	int r = parse_size(bad[_i].in, &v);

	ck_assert_msg(r == bad[_i].err, "'%s' -> %d, want %d", bad[_i].in, r, bad[_i].err);
	ck_assert_msg(v == 0xdeadbeef, "'%s' wrote the output on failure", bad[_i].in);
}
END_TEST

START_TEST(test_parse_null)
{
	uint64_t v = 7;

	ck_assert_int_eq(parse_size(NULL, &v), -EINVAL);
	ck_assert_uint_eq(v, 7);
}
END_TEST

static const struct {
	uint64_t in;
	const char *want;
} fmt[] = {
	{ 0, "0" },
	{ 1, "1" },
	{ 12345, "12345" },
	{ 1024, "1K" },
	{ 1536, "1536" },
	{ 1049600, "1025K" },
	{ 512ull << 20, "512M" },
	{ 3ull << 30, "3G" },
	{ 1536ull << 20, "1536M" },
	{ 1ull << 40, "1T" },
	{ 1ull << 60, "1E" },
	{ UINT64_MAX, "18446744073709551615" },
};

START_TEST(test_format)
{
	char buf[32];
	uint64_t back = 0;

	format_size(fmt[_i].in, buf, sizeof(buf));
	ck_assert_str_eq(buf, fmt[_i].want);
	/* Whatever format_size writes, parse_size reads back exactly. */
	ck_assert_int_eq(parse_size(buf, &back), 0);
	ck_assert_uint_eq(back, fmt[_i].in);
}
END_TEST

START_TEST(test_format_truncates)
{
	char buf[3] = "xx";

	format_size(512ull << 20, buf, sizeof(buf));
	ck_assert_str_eq(buf, "51");
	format_size(512ull << 20, buf, 0);	/* must not write */
	ck_assert_str_eq(buf, "51");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("size");
	TCase *tc = tcase_create("size");

	tcase_add_loop_test(tc, test_parse_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_parse_null);
	tcase_add_loop_test(tc, test_format, 0, sizeof(fmt) / sizeof(fmt[0]));
	tcase_add_test(tc, test_format_truncates);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
