/* Command line (src/cli.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/cli.h"
#include "basalt/exitcode.h"
#include "fixtures.h"

#define DATA SRCDIR "/data/"
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static struct cli_opts o;
static struct bs_err e;

/* argv arrays are NULL-terminated string literals; getopt only permutes
 * the pointer array (and not at all with "+"), never the strings. */
static int parse(char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	cli_opts_free(&o);
	memset(&e, 0, sizeof(e));
	return cli_parse(argc, argv, &o, &e);
}

#define P(...) parse((char *[]){ __VA_ARGS__, NULL })

static void setup(void)
{
	memset(&o, 0, sizeof(o));
}

static void teardown(void)
{
	cli_opts_free(&o);
}

START_TEST(test_commands)
{
	ck_assert_int_eq(P("basalt"), 0);
	ck_assert_int_eq(o.cmd, CLI_HELP);
	ck_assert_ptr_null(o.help_topic);
	ck_assert_int_eq(P("basalt", "help"), 0);
	ck_assert_int_eq(o.cmd, CLI_HELP);
	ck_assert_ptr_null(o.help_topic);
	ck_assert_int_eq(P("basalt", "help", "run"), 0);
	ck_assert_int_eq(o.cmd, CLI_HELP);
	ck_assert_str_eq(o.help_topic, "run");
	ck_assert_int_eq(P("basalt", "--help"), 0);
	ck_assert_int_eq(o.cmd, CLI_HELP);
	ck_assert_int_eq(P("basalt", "-h"), 0);
	ck_assert_int_eq(o.cmd, CLI_HELP);
	ck_assert_int_eq(P("basalt", "--version"), 0);
	ck_assert_int_eq(o.cmd, CLI_VERSION);
	ck_assert_int_eq(P("basalt", "version"), 0);
	ck_assert_int_eq(o.cmd, CLI_VERSION);
	ck_assert_int_eq(P("basalt", "run", "--help"), 0);
	ck_assert_int_eq(o.cmd, CLI_HELP);
	ck_assert_str_eq(o.help_topic, "run");
	ck_assert_int_eq(P("basalt", "run", "--cpus", "2", "-h"), 0);
	ck_assert_int_eq(o.cmd, CLI_HELP);
	ck_assert_str_eq(o.help_topic, "run");
}
END_TEST

START_TEST(test_run_defaults)
{
	struct vm_config def;

	ck_assert_int_eq(P("basalt", "run"), 0);
	ck_assert_int_eq(o.cmd, CLI_RUN);
	ck_assert(!o.print_config);
	ck_assert(!o.stats);
	ck_assert_int_eq(o.verbosity, 0);
	vm_config_init(&def);
	ck_assert(vm_config_equal(&o.cfg, &def));
	vm_config_free(&def);
}
END_TEST

START_TEST(test_run_all_flags)
{
	ck_assert_int_eq(P("basalt", "run", "--kernel", "/k", "--initrd=/i", "--cmdline",
			   "console=ttyS0 quiet", "--cpus", "8", "--memory", "1G", "--console",
			   "file:/tmp/con.log", "--print-config", "--timeout", "60",
			   "--no-host-quirks", "--exit-device", "0x501", "--stats", "-v"), 0);
	ck_assert_int_eq(o.cmd, CLI_RUN);
	ck_assert_str_eq(o.cfg.kernel, "/k");
	ck_assert_str_eq(o.cfg.initrd, "/i");
	ck_assert_str_eq(o.cfg.cmdline, "console=ttyS0 quiet");
	ck_assert_uint_eq(o.cfg.cpus, 8);
	ck_assert_uint_eq(o.cfg.memory, 1ull << 30);
	ck_assert_int_eq(o.cfg.console.kind, CONSOLE_FILE);
	ck_assert_str_eq(o.cfg.console.path, "/tmp/con.log");
	ck_assert(o.print_config);
	ck_assert_uint_eq(o.cfg.timeout_s, 60);
	ck_assert(!o.cfg.host_quirks);
	ck_assert(o.cfg.exit_dev.enabled);
	ck_assert_uint_eq(o.cfg.exit_dev.port, 0x501);
	ck_assert(o.stats);
	ck_assert_int_eq(o.verbosity, 1);

	ck_assert_int_eq(P("basalt", "run", "--exit-device", "off", "--console", "none"), 0);
	ck_assert(!o.cfg.exit_dev.enabled);
	ck_assert_uint_eq(o.cfg.exit_dev.port, 0xf4);
	ck_assert_int_eq(o.cfg.console.kind, CONSOLE_NONE);
	ck_assert_int_eq(P("basalt", "run", "--console", "file:/a", "--console", "stdio",
			   "--exit-device", "1280"), 0);
	ck_assert_int_eq(o.cfg.console.kind, CONSOLE_STDIO);
	ck_assert_ptr_null(o.cfg.console.path);
	ck_assert_uint_eq(o.cfg.exit_dev.port, 1280);

	/* sandbox flags */
	ck_assert_int_eq(o.cfg.seccomp, SECCOMP_ON);
	ck_assert_int_eq(P("basalt", "run", "--seccomp", "log", "--jail", "/srv/jail",
			   "--uid", "65534", "--gid", "0"), 0);
	ck_assert_int_eq(o.cfg.seccomp, SECCOMP_LOG);
	ck_assert_str_eq(o.cfg.jail.dir, "/srv/jail");
	ck_assert_int_eq(o.cfg.jail.uid, 65534);
	ck_assert_int_eq(o.cfg.jail.gid, 0);
	ck_assert_int_eq(P("basalt", "run", "--seccomp", "off"), 0);
	ck_assert_int_eq(o.cfg.seccomp, SECCOMP_OFF);
	ck_assert_int_eq(o.cfg.jail.uid, BS_NO_ID);
	ck_assert_int_eq(P("basalt", "seccomp-dump"), 0);
	ck_assert_int_eq(o.cmd, CLI_SECCOMP_DUMP);
}
END_TEST

START_TEST(test_verbosity)
{
	ck_assert_int_eq(P("basalt", "run", "-vv"), 0);
	ck_assert_int_eq(o.verbosity, 2);
	ck_assert_int_eq(P("basalt", "run", "-v", "-v", "--verbose", "-v"), 0);
	ck_assert_int_eq(o.verbosity, 2);
	ck_assert_int_eq(P("basalt", "run", "-v", "--quiet"), 0);
	ck_assert_int_eq(o.verbosity, -1);
	ck_assert_int_eq(P("basalt", "run", "-q", "-v"), 0);
	ck_assert_int_eq(o.verbosity, 1);
}
END_TEST

/* --config is applied first wherever it is; the other flags override it
 * in order. */
START_TEST(test_config_then_flags)
{
	ck_assert_int_eq(P("basalt", "run", "--cpus", "8", "--config", DATA "full.json",
			   "--memory", "4G", "--memory", "1G", "--exit-device", "off"), 0);
	ck_assert_uint_eq(o.cfg.cpus, 8);		/* flag beats file */
	ck_assert_uint_eq(o.cfg.memory, 1ull << 30);	/* last flag wins */
	ck_assert(!o.cfg.exit_dev.enabled);
	ck_assert_uint_eq(o.cfg.exit_dev.port, 0x501);	/* from the file */
	ck_assert_str_eq(o.cfg.kernel, "/boot/vmlinuz-test");
	ck_assert_uint_eq(o.cfg.timeout_s, 30);
	ck_assert(!o.cfg.host_quirks);

	ck_assert_int_eq(P("basalt", "run", "--config=" DATA "minimal.json"), 0);
	ck_assert_uint_eq(o.cfg.cpus, 2);
	ck_assert_uint_eq(o.cfg.memory, 512ull << 20);
}
END_TEST

/* cli_parse must not look at kernel/initrd files: vm_config_validate does. */
START_TEST(test_no_file_checks)
{
	ck_assert_int_eq(P("basalt", "run", "--kernel", "/nonexistent/bzImage", "--initrd",
			   "/nonexistent/initrd"), 0);
	ck_assert_str_eq(o.cfg.kernel, "/nonexistent/bzImage");
}
END_TEST

START_TEST(test_repeated_parses)
{
	int i;

	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(P("basalt", "run", "--cpus", "3", "-v"), 0);
		ck_assert_uint_eq(o.cfg.cpus, 3);
		ck_assert_int_eq(P("basalt", "run", "--bogus"), -EINVAL);
		ck_assert_str_eq(e.msg, "unknown option '--bogus' (see 'basalt help run')");
		ck_assert_int_eq(P("basalt", "run", "-vv", "stray"), -EINVAL);
		ck_assert_str_eq(e.msg, "unexpected argument 'stray' (see 'basalt help run')");
	}
}
END_TEST

static const struct {
	const char *argv[8];
	int err;
	const char *msg;
} cli_errors[] = {
	{ { "basalt", "rn" }, EINVAL, "unknown command 'rn' (see 'basalt help')" },
	{ { "basalt", "--foo" }, EINVAL, "unknown option '--foo' (see 'basalt help')" },
	{ { "basalt", "help", "rn" }, EINVAL, "unknown help topic 'rn' (see 'basalt help')" },
	{ { "basalt", "help", "run", "x" }, EINVAL, "unexpected argument 'x' (see 'basalt help')" },
	{ { "basalt", "--version", "x" }, EINVAL, "unexpected argument 'x' (see 'basalt help')" },
	{ { "basalt", "run", "--foo" }, EINVAL, "unknown option '--foo' (see 'basalt help run')" },
	{ { "basalt", "run", "--foo=1" }, EINVAL, "unknown option '--foo' (see 'basalt help run')" },
	{ { "basalt", "run", "--cpu", "2" }, EINVAL,
	  "unknown option '--cpu' (see 'basalt help run')" },
	{ { "basalt", "run", "--cpu=2" }, EINVAL, "unknown option '--cpu' (see 'basalt help run')" },
	{ { "basalt", "run", "--c", "2" }, EINVAL, "unknown option '--c' (see 'basalt help run')" },
	{ { "basalt", "run", "-vx" }, EINVAL, "unknown option '-x' (see 'basalt help run')" },
	{ { "basalt", "run", "--stats=1" }, EINVAL, "--stats: takes no value" },
	{ { "basalt", "run", "--verbose=2" }, EINVAL, "--verbose: takes no value" },
	{ { "basalt", "run", "--cpus" }, EINVAL, "--cpus: missing value" },
	{ { "basalt", "run", "--config" }, EINVAL, "--config: missing value" },
	{ { "basalt", "run", "--config=" }, EINVAL, "--config: missing value" },
	{ { "basalt", "run", "stray" }, EINVAL, "unexpected argument 'stray' (see 'basalt help run')" },
	{ { "basalt", "run", "--", "--cpus" }, EINVAL,
	  "unexpected argument '--cpus' (see 'basalt help run')" },
	{ { "basalt", "run", "--cpus", "x" }, EINVAL, "--cpus: invalid number 'x'" },
	{ { "basalt", "run", "--cpus", "-1" }, EINVAL, "--cpus: invalid number '-1'" },
	{ { "basalt", "run", "--cpus", "2x" }, EINVAL, "--cpus: invalid number '2x'" },
	{ { "basalt", "run", "--cpus", "" }, EINVAL, "--cpus: invalid number ''" },
	{ { "basalt", "run", "--cpus", "0" }, EINVAL, "--cpus: out of range (1..64): 0" },
	{ { "basalt", "run", "--cpus", "65" }, EINVAL, "--cpus: out of range (1..64): 65" },
	{ { "basalt", "run", "--cpus", "99999999999999999999999" }, EINVAL,
	  "--cpus: out of range (1..64): 99999999999999999999999" },
	{ { "basalt", "run", "--memory", "12Q" }, EINVAL, "--memory: invalid size '12Q'" },
	{ { "basalt", "run", "--memory", "1.5G" }, EINVAL, "--memory: invalid size '1.5G'" },
	{ { "basalt", "run", "--memory", "8M" }, EINVAL, "--memory: out of range (16M..1T): 8M" },
	{ { "basalt", "run", "--memory", "2T" }, EINVAL, "--memory: out of range (16M..1T): 2T" },
	{ { "basalt", "run", "--memory", "513M" }, EINVAL, "--memory: must be a multiple of 2M: 513M" },
	{ { "basalt", "run", "--timeout", "-5" }, EINVAL, "--timeout: invalid number '-5'" },
	{ { "basalt", "run", "--timeout", "2147483648" }, EINVAL,
	  "--timeout: out of range (0..2147483647): 2147483648" },
	{ { "basalt", "run", "--console", "tty" }, EINVAL,
	  "--console: invalid value 'tty' (expected stdio, none or file:PATH)" },
	{ { "basalt", "run", "--console", "file:" }, EINVAL, "--console: needs a path after 'file:'" },
	{ { "basalt", "run", "--exit-device", "on" }, EINVAL,
	  "--exit-device: invalid port 'on' (expected 1..65535, 0xNN or off)" },
	{ { "basalt", "run", "--exit-device", "0x0x12" }, EINVAL,
	  "--exit-device: invalid port '0x0x12' (expected 1..65535, 0xNN or off)" },
	{ { "basalt", "run", "--exit-device", "0" }, EINVAL,
	  "--exit-device: port out of range (1..65535): 0" },
	{ { "basalt", "run", "--exit-device", "0x10000" }, EINVAL,
	  "--exit-device: port out of range (1..65535): 0x10000" },
	{ { "basalt", "run", "--exit-device", "99999999999999999999999" }, EINVAL,
	  "--exit-device: port out of range (1..65535): 99999999999999999999999" },
	{ { "basalt", "run", "--config", "a.json", "--config", "b.json" }, EINVAL,
	  "--config: given more than once" },
	{ { "basalt", "run", "--config", "/nonexistent-basalt/vm.json" }, ENOENT,
	  "/nonexistent-basalt/vm.json: cannot open: No such file or directory" },
	{ { "basalt", "run", "--cmdline", "x", "--config", DATA "nested_unknown.json" }, EINVAL,
	  DATA "nested_unknown.json:5:13: unknown key 'prot' in 'exit_device' (did you mean 'port'?)" },
	{ { "basalt", "run", "--cpus", "a\nb" }, EINVAL, "--cpus: invalid number 'a?b'" },
	{ { "basalt", "run", "--seccomp", "strict" }, EINVAL,
	  "--seccomp: invalid mode 'strict' (expected on, log or off)" },
	{ { "basalt", "run", "--uid", "-3" }, EINVAL, "--uid: invalid number '-3'" },
	{ { "basalt", "run", "--gid", "4294967295" }, EINVAL,
	  "--gid: out of range (0..4294967294): 4294967295" },
	{ { "basalt", "seccomp-dump", "x" }, EINVAL, "unexpected argument 'x' (see 'basalt help')" },
	{ { "basalt", "run", "--net", "mac=52:54:00:00:00:01" }, EINVAL,
	  "--net: needs tap=NAME (as in --net tap=tap0)" },
	{ { "basalt", "run", "--net", "tap=t0,mac=52:54:00:00:00" }, EINVAL,
	  "--net: mac '52:54:00:00:00' is not like 52:54:00:12:34:56" },
	{ { "basalt", "run", "--net", "tap=t0,mac=52-54-00-00-00-01" }, EINVAL,
	  "--net: mac '52-54-00-00-00-01' is not like 52:54:00:12:34:56" },
	{ { "basalt", "run", "--net", "tap=t0,queues=0" }, EINVAL,
	  "--net: queues must be 1..16, got '0'" },
	{ { "basalt", "run", "--net", "tap=t0,queues=2x" }, EINVAL,
	  "--net: queues must be 1..16, got '2x'" },
	{ { "basalt", "run", "--net", "tap=t0,create=maybe" }, EINVAL,
	  "--net: create must be on or off, got 'maybe'" },
	{ { "basalt", "run", "--net", "tap=t0,tap=t1" }, EINVAL, "--net: tap given twice" },
	{ { "basalt", "run", "--net", "tap=t0,vhost=on" }, EINVAL,
	  "--net: unknown key 'vhost' (keys: tap, mac, queues, create)" },
	{ { "basalt", "run", "--net", "t0" }, EINVAL,
	  "--net: 't0' is not key=value (keys: tap, mac, queues, create)" },
	{ { "basalt", "run", "--device", "vfio-usr=/x.sock" }, EINVAL,
	  "--device: 'vfio-usr=/x.sock' is not vfio=/sys/bus/pci/devices/DDDD:BB:DD.F "
	  "or vfio-user=SOCKET" },
	{ { "basalt", "run", "--device", "/x.sock" }, EINVAL,
	  "--device: '/x.sock' is not vfio=/sys/bus/pci/devices/DDDD:BB:DD.F "
	  "or vfio-user=SOCKET" },
	{ { "basalt", "run", "--device", "vfio=" }, EINVAL, "--device: vfio= needs a path" },
	{ { "basalt", "run", "--balloon", "target=12Q" }, EINVAL,
	  "--balloon: target '12Q' is not a size (like 512M)" },
	{ { "basalt", "run", "--balloon", "stats-interval=3601" }, EINVAL,
	  "--balloon: stats-interval must be 0..3600 seconds, got '3601'" },
	{ { "basalt", "run", "--balloon", "stats-interval=-1" }, EINVAL,
	  "--balloon: stats-interval must be 0..3600 seconds, got '-1'" },
	{ { "basalt", "run", "--balloon", "deflate-on-oom=yes please" }, EINVAL,
	  "--balloon: deflate-on-oom must be on or off, got 'yes please'" },
	{ { "basalt", "run", "--balloon", "target=1M,target=2M" }, EINVAL,
	  "--balloon: target given twice" },
	{ { "basalt", "run", "--balloon", "size=1G" }, EINVAL,
	  "--balloon: unknown key 'size' (keys: target, stats-interval, deflate-on-oom, "
	  "free-page-reporting)" },
	{ { "basalt", "run", "--balloon", "yes" }, EINVAL,
	  "--balloon: 'yes' is not key=value (keys: target, stats-interval, deflate-on-oom, "
	  "free-page-reporting; or on, off)" },
	{ { "basalt", "run", "--api-socket", "" }, EINVAL, "--api-socket: missing value" },
};

START_TEST(test_net_flags)
{
	ck_assert_int_eq(P("basalt", "run", "--net", "tap=t0", "--net",
			   "tap=t1,mac=52:54:00:AB:cd:01,queues=4,create=on"), 0);
	ck_assert_uint_eq(o.cfg.nnets, 2);
	ck_assert_str_eq(o.cfg.nets[0].tap, "t0");
	ck_assert(!o.cfg.nets[0].mac_set);
	ck_assert_uint_eq(o.cfg.nets[0].queues, 0);
	ck_assert(!o.cfg.nets[0].create);
	ck_assert_str_eq(o.cfg.nets[1].tap, "t1");
	ck_assert(o.cfg.nets[1].mac_set);
	ck_assert_mem_eq(o.cfg.nets[1].mac, "\x52\x54\x00\xab\xcd\x01", 6);
	ck_assert_uint_eq(o.cfg.nets[1].queues, 4);
	ck_assert(o.cfg.nets[1].create);
}
END_TEST

START_TEST(test_balloon_flags)
{
	ck_assert_int_eq(P("basalt", "run", "--balloon", "on"), 0);
	ck_assert(o.cfg.balloon.enabled);
	ck_assert_uint_eq(o.cfg.balloon.target, 0);
	ck_assert(!o.cfg.balloon.free_page_reporting);
	ck_assert_int_eq(P("basalt", "run", "--balloon", "target=256M,stats-interval=5,"
			   "deflate-on-oom=on,free-page-reporting=on", "--api-socket", "/run/vm.sock"), 0);
	ck_assert(o.cfg.balloon.enabled);
	ck_assert_uint_eq(o.cfg.balloon.target, 256ull << 20);
	ck_assert_uint_eq(o.cfg.balloon.stats_interval, 5);
	ck_assert(o.cfg.balloon.deflate_on_oom);
	ck_assert(o.cfg.balloon.free_page_reporting);
	ck_assert_str_eq(o.cfg.api_socket, "/run/vm.sock");
	/* A later --balloon replaces the earlier one as a whole; off removes it. */
	ck_assert_int_eq(P("basalt", "run", "--balloon", "target=1G", "--balloon",
			   "stats-interval=2"), 0);
	ck_assert_uint_eq(o.cfg.balloon.target, 0);
	ck_assert_uint_eq(o.cfg.balloon.stats_interval, 2);
	ck_assert_int_eq(P("basalt", "run", "--balloon", "on", "--balloon", "off"), 0);
	ck_assert(!o.cfg.balloon.enabled);
	ck_assert_int_eq(P("basalt", "ctl", "--socket", "x", "info"), 0);
	ck_assert_int_eq(o.cmd, CLI_CTL);
}
END_TEST

START_TEST(test_device_flags)
{
	ck_assert_int_eq(P("basalt", "run", "--device", "vfio-user=/run/a.sock", "--device",
			   "vfio=/sys/bus/pci/devices/0000:01:00.0"), 0);
	ck_assert_uint_eq(o.cfg.ndevices, 2);
	ck_assert_int_eq(o.cfg.devices[0].kind, DEVICE_VFIO_USER);
	ck_assert_str_eq(o.cfg.devices[0].path, "/run/a.sock");
	ck_assert_int_eq(o.cfg.devices[1].kind, DEVICE_VFIO);
	ck_assert_str_eq(o.cfg.devices[1].path, "/sys/bus/pci/devices/0000:01:00.0");
	cli_opts_free(&o);
	/* At most six (slots 26..31). */
	ck_assert_int_eq(P("basalt", "run", "--device", "vfio-user=/1", "--device", "vfio-user=/2",
			   "--device", "vfio-user=/3", "--device", "vfio-user=/4", "--device",
			   "vfio-user=/5", "--device", "vfio-user=/6", "--device", "vfio-user=/7"),
			 -EINVAL);
	ck_assert_str_eq(e.msg, "--device: at most 6 devices");
}
END_TEST

START_TEST(test_errors)
{
	ck_assert_int_eq(parse((char **)cli_errors[_i].argv), -cli_errors[_i].err);
	ck_assert_str_eq(e.msg, cli_errors[_i].msg);
}
END_TEST

static char *usage(const char *topic)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	cli_usage(f, topic);
	fclose(f);
	return buf;
}

START_TEST(test_usage)
{
	static const char *const run_flags[] = {
		"--kernel PATH", "--initrd PATH", "--cmdline STR", "--cpus N", "--memory SIZE",
		"--console KIND", "--config FILE", "--print-config", "--timeout SECONDS",
		"--no-host-quirks", "--exit-device PORT|off", "--stats", "-v, --verbose",
		"-q, --quiet", "-h, --help", "--balloon SPEC", "--api-socket PATH",
	};
	char *top = usage(NULL), *run = usage("run"), line[64];
	size_t i;

	ck_assert_ptr_nonnull(strstr(top, "Usage: basalt <command> [options]\n"));
	ck_assert_ptr_nonnull(strstr(top, "\n  run "));
	ck_assert_ptr_nonnull(strstr(top, "\n  help [run] "));
	ck_assert_ptr_nonnull(strstr(top, "\n  version "));
	ck_assert_ptr_nonnull(strstr(run, "Usage: basalt run [options]\n"));
	for (i = 0; i < sizeof(run_flags) / sizeof(run_flags[0]); i++) {
		snprintf(line, sizeof(line), "\n  %-24s ", run_flags[i]);
		ck_assert_msg(strstr(run, line), "flag '%s' missing from help", run_flags[i]);
	}
	ck_assert_ptr_nonnull(strstr(run, "\n    2  bad flag, config or missing file"));
	ck_assert_ptr_nonnull(strstr(run, "\n  124  --timeout expired\n"));
	ck_assert_ptr_nonnull(strstr(run, "\n  130  user quit"));
	ck_assert_ptr_nonnull(strstr(run, "\nExamples:\n  basalt run --kernel "));
	free(top);
	free(run);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_commands);
	tcase_add_test(tc, test_run_defaults);
	tcase_add_test(tc, test_run_all_flags);
	tcase_add_test(tc, test_verbosity);
	tcase_add_test(tc, test_config_then_flags);
	tcase_add_test(tc, test_no_file_checks);
	tcase_add_test(tc, test_repeated_parses);
	tcase_add_loop_test(tc, test_errors, 0, sizeof(cli_errors) / sizeof(cli_errors[0]));
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_net_flags);
	tcase_add_test(tc, test_device_flags);
	tcase_add_test(tc, test_balloon_flags);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
