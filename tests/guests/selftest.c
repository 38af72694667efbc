/* selftest: checks the runtime itself, so a broken printf or cmdline parser
 * cannot make the other guests pass by accident.  Needs the command line
 * `a=1 flag a=2 c=x=y` (plus anything else).  Prints one line per failed
 * check and "selftest: N checks, M failed"; exit 0 if none failed, else 1.
 *
 * `fault=gp|ud|pf|irq` then provokes an unhandled #GP / #UD / #PF from
 * ring 3, or an interrupt on a vector with no handler, to test the runtime's
 * fatal paths: the guest must then exit with GUEST_EXIT_UNEXPECTED_EXCEPTION
 * (100) or GUEST_EXIT_UNEXPECTED_INTERRUPT (101) after printing the vector. */
#include "lib/guest.h"

static unsigned checks, failed;
static volatile unsigned ud_seen;

static void check(bool ok, const char *what)
{
	checks++;
	if (!ok) {
		failed++;
		guest_printf("selftest: FAIL %s\n", what);
	}
}

static void check_str(const char *got, const char *want, const char *what)
{
	checks++;
	if (!got || strcmp(got, want)) {
		failed++;
		guest_printf("selftest: FAIL %s: got \"%s\", want \"%s\"\n", what,
			     got ? got : "(null)", want);
	}
}

static void test_format(void)
{
	char b[96];
	int n;

	guest_snprintf(b, sizeof(b), "[%5d|%-5d|%05d|%d|%u|%i]", -42, 7, -3, 0,
		       4000000000u, -2147483647 - 1);
	check_str(b, "[  -42|7    |-0003|0|4000000000|-2147483648]", "%d %u");
	guest_snprintf(b, sizeof(b), "[%x|%X|%08lx|%llx|%llu|%zu|%hhu|%hd]",
		       0xbeefu, 0xbeefu, 0x1234ul, 0xfedcba9876543210ull,
		       18446744073709551615ull, (size_t)12, 300, 70000);
	check_str(b, "[beef|BEEF|00001234|fedcba9876543210|18446744073709551615|12|44|4464]",
		  "%x %lx %llx %llu");
	guest_snprintf(b, sizeof(b), "[%s|%.2s|%-4s|%4s|%c|%p|%%|%*d|%s]", "str",
		       "abc", "a", "b", 'Z', (void *)0x1000, 3, 9, (char *)NULL);
	check_str(b, "[str|ab|a   |   b|Z|0x1000|%|  9|(null)]", "%s %c %p %*d");
	n = guest_snprintf(b, 4, "abcdef");
	check(n == 6, "snprintf returns the untruncated length");
	check_str(b, "abc", "snprintf truncates and terminates");
}

static void test_parse(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 0 }, { "42", 0, 42 }, { "0x1f", 0, 31 }, { "0XFF", 0, 255 },
		{ "4K", 0, 4096 }, { "2m", 0, 2u << 20 }, { "64G", 0, 64ull << 30 },
		{ "0x10M", 0, 16ull << 20 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -GUEST_ERANGE, 0 },
		{ "17179869184G", -GUEST_ERANGE, 0 },
		{ "", -GUEST_EINVAL, 0 }, { "0x", -GUEST_EINVAL, 0 },
		{ "12Q", -GUEST_EINVAL, 0 }, { "4KB", -GUEST_EINVAL, 0 },
		{ "-1", -GUEST_EINVAL, 0 }, { "0xg", -GUEST_EINVAL, 0 },
	};

	for (unsigned i = 0; i < GUEST_ARRAY_SIZE(cases); i++) {
		uint64_t v = 0xdead;
		int r = guest_parse_u64(cases[i].s, &v);

		checks++;
		if (r != cases[i].ret || (r == 0 && v != cases[i].v)) {
			failed++;
			guest_printf("selftest: FAIL parse \"%s\": ret %d value %llu\n",
				     cases[i].s, r, (unsigned long long)v);
		}
	}
}

static void on_ud(struct guest_trap_frame *f)
{
	ud_seen++;
	f->rip += 2;	/* skip ud2 */
}

static void test_runtime(void)
{
	check_str(guest_cmdline_get("a"), "2", "last a= wins");
	check_str(guest_cmdline_get("flag"), "", "bare word has value \"\"");
	check_str(guest_cmdline_get("c"), "x=y", "value keeps later '='");
	check(guest_cmdline_get("missing") == NULL, "absent key is NULL");
	check(guest_cmdline_u64("a", 7) == 2, "guest_cmdline_u64 present");
	check(guest_cmdline_u64("missing", 7) == 7, "guest_cmdline_u64 default");
	check(read_cpl() == 3, "guest_main runs at CPL3");
	check(guest_map_phys(1ull << 47, 4096, 0) == -GUEST_ERANGE,
	      "guest_map_phys rejects non-canonical identity");
	check(guest_map_phys(0, 1, 0) == 0, "guest_map_phys accepts an existing identical map");
	check(guest_map_phys(0, 0, 0) == -GUEST_ERANGE, "guest_map_phys rejects size 0");
	check(guest_trap_register(256, on_ud) == -GUEST_EINVAL, "vector 256 rejected");
	guest_trap_register(6, on_ud);
	__asm__ volatile("ud2");
	__asm__ volatile("ud2");
	guest_trap_register(6, NULL);
	check(ud_seen == 2, "registered #UD handler ran twice and skipped ud2");
}

static void provoke(const char *fault)
{
	guest_printf("selftest: provoking %s\n", fault);
	if (!strcmp(fault, "gp"))
		(void)mmio_read32(0x8000000000000000ull);	/* non-canonical */
	else if (!strcmp(fault, "ud"))
		__asm__ volatile("ud2");
	else if (!strcmp(fault, "pf"))
		(void)mmio_read32(1ull << 40);			/* not mapped */
	else if (!strcmp(fault, "irq")) {
		guest_lapic_enable();
		guest_lapic_timer_start(0x50, 1000, 1, false);
		guest_delay_tsc(1ull << 34);
	}
	guest_printf("selftest: %s did not end the guest\n", fault);
}

int guest_main(void)
{
	const char *fault = guest_cmdline_get("fault");

	test_format();
	test_parse();
	test_runtime();
	guest_printf("selftest: %u checks, %u failed\n", checks, failed);
	if (fault) {
		provoke(fault);
		return GUEST_EXIT_FAIL;
	}
	return failed ? GUEST_EXIT_FAIL : GUEST_EXIT_PASS;
}
