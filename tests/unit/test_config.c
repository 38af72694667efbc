/* vm_config defaults and validation (src/config.c) and the JSON config file
 * (src/config_json.c, schema in docs/config.md). */
#include <check.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basalt/config.h"
#include "fixtures.h"

#define DATA SRCDIR "/data/"

/* ---- defaults and validation --------------------------------------------- */

START_TEST(test_defaults)
{
	struct vm_config c;
	struct bs_err e = { "" };

	memset(&c, 0xa5, sizeof(c));
	vm_config_init(&c);
	ck_assert_ptr_null(c.kernel);
	ck_assert_ptr_null(c.initrd);
	ck_assert_ptr_null(c.cmdline);
	ck_assert_uint_eq(c.cpus, 1);
	ck_assert_uint_eq(c.memory, 512ull << 20);
	ck_assert_int_eq(c.console.kind, CONSOLE_STDIO);
	ck_assert_ptr_null(c.console.path);
	ck_assert_uint_eq(c.timeout_s, 0);
	ck_assert(c.host_quirks);
	ck_assert(c.exit_dev.enabled);
	ck_assert_uint_eq(c.exit_dev.port, 0xf4);
	ck_assert_int_eq(vm_config_validate(&c, &e), 0);
	ck_assert_str_eq(e.msg, "");
	vm_config_free(&c);
	vm_config_free(&c);	/* idempotent */
}
END_TEST

static void cpus0(struct vm_config *c) { c->cpus = 0; }
static void cpus65(struct vm_config *c) { c->cpus = 65; }
static void mem8m(struct vm_config *c) { c->memory = 8ull << 20; }
static void mem2t(struct vm_config *c) { c->memory = 2ull << 40; }
static void mem513m(struct vm_config *c) { c->memory = 513ull << 20; }
static void mem_odd(struct vm_config *c) { c->memory = (512ull << 20) + 4096; }
static void console_nopath(struct vm_config *c) { c->console.kind = CONSOLE_FILE; }
static void console_empty(struct vm_config *c)
{
	c->console.kind = CONSOLE_FILE;
	c->console.path = strdup("");
}
static void console_kind(struct vm_config *c) { c->console.kind = (enum console_kind)7; }
static void kernel_missing(struct vm_config *c) { c->kernel = strdup("/x/y"); }
static void kernel_dir(struct vm_config *c) { c->kernel = strdup("/tmp"); }
static void initrd_missing(struct vm_config *c) { c->initrd = strdup("/nonexistent/initrd.img"); }
static void port0(struct vm_config *c) { c->exit_dev.port = 0; }
static void port_serial(struct vm_config *c) { c->exit_dev.port = 0x3f8; }
static void port_serial_end(struct vm_config *c) { c->exit_dev.port = 0x3ff; }
static void port_pic(struct vm_config *c) { c->exit_dev.port = 0x21; }
static void port_pit(struct vm_config *c) { c->exit_dev.port = 0x43; }
static void port_kbd(struct vm_config *c) { c->exit_dev.port = 0x64; }
static void port_rtc(struct vm_config *c) { c->exit_dev.port = 0x70; }
static void port_pic2(struct vm_config *c) { c->exit_dev.port = 0xa0; }
static void port_post(struct vm_config *c) { c->exit_dev.port = 0x80; }
static void port_elcr(struct vm_config *c) { c->exit_dev.port = 0x4d1; }
static void port_pm(struct vm_config *c) { c->exit_dev.port = 0x602; }
static void port_pci(struct vm_config *c) { c->exit_dev.port = 0xcfc; }

static const struct {
	void (*mutate)(struct vm_config *c);
	int err;
	const char *msg;
} bad_configs[] = {
	{ cpus0, EINVAL, "cpus: out of range (1..64): 0" },
	{ cpus65, EINVAL, "cpus: out of range (1..64): 65" },
	{ mem8m, ERANGE, "memory: out of range (16M..1T): 8M" },
	{ mem2t, ERANGE, "memory: out of range (16M..1T): 2T" },
	{ mem513m, EINVAL, "memory: must be a multiple of 2M: 513M" },
	{ mem_odd, EINVAL, "memory: must be a multiple of 2M: 524292K" },
	{ console_nopath, EINVAL, "console: file console needs a path" },
	{ console_empty, EINVAL, "console: file console needs a path" },
	{ console_kind, EINVAL, "console: invalid kind 7" },
	{ kernel_missing, ENOENT, "kernel: cannot open '/x/y': No such file or directory" },
	{ kernel_dir, EINVAL, "kernel: '/tmp' is not a regular file" },
	{ initrd_missing, ENOENT,
	  "initrd: cannot open '/nonexistent/initrd.img': No such file or directory" },
	{ port0, EINVAL, "exit_device: port 0 is not valid (1..65535)" },
	{ port_serial, EINVAL, "exit_device: port 0x3f8 collides with serial COM1 (0x3f8-0x3ff)" },
	{ port_serial_end, EINVAL,
	  "exit_device: port 0x3ff collides with serial COM1 (0x3f8-0x3ff)" },
	{ port_pic, EINVAL, "exit_device: port 0x21 collides with PIC master (0x20-0x21)" },
	{ port_pit, EINVAL, "exit_device: port 0x43 collides with PIT (0x40-0x43)" },
	{ port_post, EINVAL, "exit_device: port 0x80 collides with POST port (0x80-0x80)" },
	{ port_elcr, EINVAL,
	  "exit_device: port 0x4d1 collides with PIC ELCR (in-kernel) (0x4d0-0x4d1)" },
	{ port_kbd, EINVAL,
	  "exit_device: port 0x64 collides with i8042 keyboard controller (0x60-0x64)" },
	{ port_rtc, EINVAL, "exit_device: port 0x70 collides with RTC/CMOS (0x70-0x71)" },
	{ port_pic2, EINVAL, "exit_device: port 0xa0 collides with PIC slave (0xa0-0xa1)" },
	{ port_pm, EINVAL, "exit_device: port 0x602 collides with ACPI PM registers (0x600-0x602)" },
	{ port_pci, EINVAL,
	  "exit_device: port 0xcfc collides with PCI configuration ports (0xcf8-0xcff)" },
};

START_TEST(test_validate_errors)
{
	struct vm_config c;
	struct bs_err e = { "" };

	vm_config_init(&c);
	bad_configs[_i].mutate(&c);
	ck_assert_int_eq(vm_config_validate(&c, &e), -bad_configs[_i].err);
	ck_assert_str_eq(e.msg, bad_configs[_i].msg);
	ck_assert_int_eq(vm_config_validate(&c, NULL), -bad_configs[_i].err);
	vm_config_free(&c);
}
END_TEST

START_TEST(test_validate_ok)
{
	static const uint16_t ok_ports[] = { 0x1f, 0x22, 0x3f, 0x44, 0x65, 0x72, 0x9f, 0xa2,
					     0x3f7, 0x400, 0x5ff, 0x603, 0xcf7, 0xd00, 0xffff };
	struct vm_config c;
	struct bs_err e = { "" };
	char *k = fixture_tmpfile("kernel", 6, NULL), *i = fixture_tmpfile("", 0, ".img");
	size_t n;

	ck_assert_ptr_nonnull(k);
	ck_assert_ptr_nonnull(i);
	vm_config_init(&c);
	c.kernel = k;
	c.initrd = i;
	c.cpus = 64;
	c.memory = 16ull << 20;
	c.console.kind = CONSOLE_FILE;
	c.console.path = strdup("/nonexistent/dir/is/fine.log");	/* created at run time */
	ck_assert_int_eq(vm_config_validate(&c, &e), 0);
	c.memory = 1ull << 40;
	ck_assert_int_eq(vm_config_validate(&c, &e), 0);
	for (n = 0; n < sizeof(ok_ports) / sizeof(ok_ports[0]); n++) {
		c.exit_dev.port = ok_ports[n];
		ck_assert_msg(vm_config_validate(&c, &e) == 0, "port 0x%x: %s", ok_ports[n], e.msg);
	}
	/* A disabled exit device's port is not checked. */
	c.exit_dev.enabled = false;
	c.exit_dev.port = 0x3f8;
	ck_assert_int_eq(vm_config_validate(&c, &e), 0);
	ck_assert_str_eq(e.msg, "");
	unlink(k);
	unlink(i);
	vm_config_free(&c);
}
END_TEST

START_TEST(test_equal)
{
	struct vm_config a, b;

	vm_config_init(&a);
	vm_config_init(&b);
	ck_assert(vm_config_equal(&a, &b));
	b.console.path = strdup("/ignored");	/* not a file console */
	ck_assert(vm_config_equal(&a, &b));
	b.console.kind = CONSOLE_FILE;
	ck_assert(!vm_config_equal(&a, &b));
	a.console.kind = CONSOLE_FILE;
	a.console.path = strdup("/ignored");
	ck_assert(vm_config_equal(&a, &b));
	a.kernel = strdup("k");
	ck_assert(!vm_config_equal(&a, &b));
	b.kernel = strdup("k");
	ck_assert(vm_config_equal(&a, &b));
	b.cmdline = strdup("");
	ck_assert(!vm_config_equal(&a, &b));	/* "" is not unset */
	free(b.cmdline);
	b.cmdline = NULL;
	b.exit_dev.port = 0xf5;
	ck_assert(!vm_config_equal(&a, &b));
	b.exit_dev.port = 0xf4;
	b.host_quirks = false;
	ck_assert(!vm_config_equal(&a, &b));
	b.host_quirks = true;
	b.timeout_s = 1;
	ck_assert(!vm_config_equal(&a, &b));
	vm_config_free(&a);
	vm_config_free(&b);
}
END_TEST

/* ---- JSON ---------------------------------------------------------------- */

START_TEST(test_json_minimal_file)
{
	struct vm_config c, want;
	struct bs_err e = { "" };

	vm_config_init(&c);
	vm_config_init(&want);
	want.cpus = 2;
	ck_assert_int_eq(vm_config_load_json(&c, DATA "minimal.json", &e), 0);
	ck_assert_str_eq(e.msg, "");
	ck_assert(vm_config_equal(&c, &want));
	vm_config_free(&c);
	vm_config_free(&want);
}
END_TEST

START_TEST(test_json_full_file)
{
	struct vm_config c;
	struct bs_err e = { "" };

	vm_config_init(&c);
	ck_assert_int_eq(vm_config_load_json(&c, DATA "full.json", &e), 0);
	ck_assert_str_eq(c.kernel, "/boot/vmlinuz-test");
	ck_assert_str_eq(c.initrd, "/boot/initrd-test.img");
	ck_assert_str_eq(c.cmdline, "console=ttyS0 panic=-1");
	ck_assert_uint_eq(c.cpus, 4);
	ck_assert_uint_eq(c.memory, 2ull << 30);
	ck_assert_int_eq(c.console.kind, CONSOLE_FILE);
	ck_assert_str_eq(c.console.path, "/tmp/basalt-console.log");
	ck_assert_uint_eq(c.timeout_s, 30);
	ck_assert(!c.host_quirks);
	ck_assert(c.exit_dev.enabled);
	ck_assert_uint_eq(c.exit_dev.port, 0x501);
	vm_config_free(&c);
}
END_TEST

START_TEST(test_json_values)
{
	struct vm_config c;
	struct bs_err e = { "" };

	vm_config_init(&c);
	c.kernel = strdup("/old");
	ck_assert_int_eq(vm_config_parse_json(&c,
		"{\"kernel\": null, \"memory\": 1073741824, \"console\": \"none\","
		" \"exit_device\": {\"port\": 1280, \"enabled\": false}, \"cmdline\": \"\"}",
		"vm.json", &e), 0);
	ck_assert_ptr_null(c.kernel);
	ck_assert_uint_eq(c.memory, 1ull << 30);
	ck_assert_int_eq(c.console.kind, CONSOLE_NONE);
	ck_assert_uint_eq(c.exit_dev.port, 1280);
	ck_assert(!c.exit_dev.enabled);
	ck_assert_str_eq(c.cmdline, "");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"exit_device\": {\"port\": \"0X1F\"},"
					      " \"memory\": \"1GiB\"}", "vm.json", &e), 0);
	ck_assert_uint_eq(c.exit_dev.port, 0x1f);
	ck_assert(!c.exit_dev.enabled);	/* untouched keys keep their value */
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"exit_device\": {\"port\": \"65535\"}}",
					      "vm.json", &e), 0);
	ck_assert_uint_eq(c.exit_dev.port, 65535);
	ck_assert_int_eq(vm_config_parse_json(&c, "{}", "vm.json", &e), 0);
	ck_assert_str_eq(e.msg, "");
	vm_config_free(&c);
}
END_TEST

static const struct {
	const char *text;
	int err;
	const char *msg;
} json_errors[] = {
	/* unknown keys, with and without a suggestion */
	{ "{\n    \"cpu\": 2\n}", EINVAL, "vm.json:2:12: unknown key 'cpu' (did you mean 'cpus'?)" },
	{ "{\"CPUS\": 2}", EINVAL, "vm.json:1:10: unknown key 'CPUS' (did you mean 'cpus'?)" },
	{ "{\"memroy\": 2}", EINVAL, "vm.json:1:12: unknown key 'memroy' (did you mean 'memory'?)" },
	{ "{\"zzz\": 1}", EINVAL, "vm.json:1:9: unknown key 'zzz'" },
	{ "{\"exit_device\": {\"prot\": 1}}", EINVAL,
	  "vm.json:1:26: unknown key 'prot' in 'exit_device' (did you mean 'port'?)" },
	/* positions: the same name elsewhere in the text must not be picked */
	{ "{\"cmdline\": \"cpus\", \"exit_device\": {\"enabled\": true, \"cpus\": 3}}", EINVAL,
	  "vm.json:1:62: unknown key 'cpus' in 'exit_device'" },
	{ "{\"exit_device\": {\"port\": 1}, \"port\": 2}", EINVAL,
	  "vm.json:1:38: unknown key 'port'" },
	{ "{\"\\u0063pu\": 1}", EINVAL, "vm.json:1:14: unknown key 'cpu' (did you mean 'cpus'?)" },
	{ "{\"cmdline\": \"\xc3\xa9\", \"cpu\": 1}", EINVAL,
	  "vm.json:1:25: unknown key 'cpu' (did you mean 'cpus'?)" },
	{ "{\"a\\nb\": 1}", EINVAL, "vm.json:1:10: unknown key 'a?b'" },
	{ "{\"cpus\": 0, \"zzz\": 1}", ERANGE, "vm.json:1:10: 'cpus' out of range (1..64): 0" },
	/* wrong types */
	{ "{\n  \"cpus\": \"2\"\n}", EINVAL, "vm.json:2:11: 'cpus' must be an integer, got string" },
	{ "{\"cpus\": 2.0}", EINVAL, "vm.json:1:10: 'cpus' must be an integer, got real" },
	{ "{\"kernel\": 5}", EINVAL, "vm.json:1:12: 'kernel' must be a string or null, got integer" },
	{ "{\"memory\": true}", EINVAL,
	  "vm.json:1:12: 'memory' must be a size string or an integer, got boolean" },
	{ "{\"console\": null}", EINVAL, "vm.json:1:13: 'console' must be a string, got null" },
	{ "{\"timeout\": \"30\"}", EINVAL, "vm.json:1:13: 'timeout' must be an integer, got string" },
	{ "{\"host_quirks\": \"yes\"}", EINVAL,
	  "vm.json:1:17: 'host_quirks' must be a boolean, got string" },
	{ "{\"exit_device\": true}", EINVAL,
	  "vm.json:1:17: 'exit_device' must be an object, got boolean" },
	{ "{\"exit_device\": {\"enabled\": 1}}", EINVAL,
	  "vm.json:1:29: 'exit_device.enabled' must be a boolean, got integer" },
	{ "{\"exit_device\": {\"port\": [244]}}", EINVAL,
	  "vm.json:1:26: 'exit_device.port' must be an integer or a string, got array" },
	/* bad values */
	{ "{\"cpus\": 65}", ERANGE, "vm.json:1:10: 'cpus' out of range (1..64): 65" },
	{ "{\"timeout\": -1}", ERANGE, "vm.json:1:13: 'timeout' out of range (0..2147483647): -1" },
	{ "{\"kernel\": \"\"}", EINVAL, "vm.json:1:12: 'kernel' must not be empty" },
	{ "{\"memory\": \"12Q\"}", EINVAL, "vm.json:1:12: 'memory' is not a valid size: '12Q'" },
	{ "{\"memory\": \"8M\"}", ERANGE, "vm.json:1:12: 'memory' out of range (16M..1T): 8M" },
	{ "{\"memory\": 8388608}", ERANGE, "vm.json:1:12: 'memory' out of range (16M..1T): 8M" },
	{ "{\"memory\": \"99999999999999999999T\"}", ERANGE,
	  "vm.json:1:12: 'memory' out of range (16M..1T): 99999999999999999999T" },
	{ "{\"memory\": -1}", ERANGE, "vm.json:1:12: 'memory' must not be negative: -1" },
	{ "{\"memory\": \"513M\"}", EINVAL, "vm.json:1:12: 'memory' must be a multiple of 2M: 513M" },
	{ "{\"console\": \"tty\"}", EINVAL,
	  "vm.json:1:13: 'console' must be stdio, none or file:PATH, got 'tty'" },
	{ "{\"console\": \"file:\"}", EINVAL, "vm.json:1:13: 'console' needs a path after 'file:'" },
	{ "{\"exit_device\": {\"port\": 70000}}", ERANGE,
	  "vm.json:1:26: 'exit_device.port' out of range (1..65535): 70000" },
	{ "{\"exit_device\": {\"port\": 0}}", ERANGE,
	  "vm.json:1:26: 'exit_device.port' out of range (1..65535): 0" },
	{ "{\"exit_device\": {\"port\": \"0x10000\"}}", ERANGE,
	  "vm.json:1:26: 'exit_device.port' out of range (1..65535): '0x10000'" },
	{ "{\"exit_device\": {\"port\": \"0xZZ\"}}", EINVAL,
	  "vm.json:1:26: 'exit_device.port' is not a port number: '0xZZ'" },
	{ "{\"exit_device\": {\"port\": \"0x\"}}", EINVAL,
	  "vm.json:1:26: 'exit_device.port' is not a port number: '0x'" },
	/* duplicate keys, top level and nested */
	{ "{\n  \"cpus\": 1,\n  \"cpus\": 2\n}", EINVAL, "vm.json:3:11: duplicate key 'cpus'" },
	{ "{\"exit_device\": {\"port\": 1, \"port\": 2}}", EINVAL,
	  "vm.json:1:37: duplicate key 'port'" },
	/* syntax errors: jansson's own position and text */
	{ "{\"cpus\": 2,}", EINVAL, "vm.json:1:12: invalid JSON: string or '}' expected near '}'" },
	{ "", EINVAL, "vm.json:1:1: invalid JSON: unexpected token near end of file" },
	{ "{\"cpus\": 1} {", EINVAL, "vm.json:1:13: invalid JSON: end of file expected near '{'" },
	/* not an object */
	{ "[1, 2]", EINVAL, "vm.json:1:1: top level must be an object, got array" },
	{ "\n  42", EINVAL, "vm.json:2:3: top level must be an object, got integer" },
};

START_TEST(test_json_errors)
{
	struct vm_config c, orig;
	struct bs_err e = { "" };

	vm_config_init(&c);
	vm_config_init(&orig);
	ck_assert_int_eq(vm_config_parse_json(&c, json_errors[_i].text, "vm.json", &e),
			 -json_errors[_i].err);
	ck_assert_str_eq(e.msg, json_errors[_i].msg);
	ck_assert_msg(vm_config_equal(&c, &orig), "config changed by a failed parse");
	vm_config_free(&c);
	vm_config_free(&orig);
}
END_TEST

/* A failed parse leaves the config exactly as it was, even for keys that
 * came before the bad one. */
START_TEST(test_json_error_is_atomic)
{
	struct vm_config c;
	struct bs_err e = { "" };

	vm_config_init(&c);
	c.cmdline = strdup("keep");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"memory\": \"1G\", \"cmdline\": null,"
					      " \"cpus\": 0}", "vm.json", &e), -ERANGE);
	ck_assert_str_eq(e.msg, "vm.json:1:43: 'cpus' out of range (1..64): 0");
	ck_assert_uint_eq(c.memory, 512ull << 20);
	ck_assert_str_eq(c.cmdline, "keep");
	vm_config_free(&c);
}
END_TEST

START_TEST(test_json_file_errors)
{
	struct vm_config c;
	struct bs_err e = { "" };

	vm_config_init(&c);
	ck_assert_int_eq(vm_config_load_json(&c, "/nonexistent-basalt/vm.json", &e), -ENOENT);
	ck_assert_str_eq(e.msg, "/nonexistent-basalt/vm.json: cannot open: No such file or directory");
	ck_assert_int_eq(vm_config_load_json(&c, DATA "nested_unknown.json", &e), -EINVAL);
	ck_assert_str_eq(e.msg, DATA "nested_unknown.json:5:13: unknown key 'prot' in"
			 " 'exit_device' (did you mean 'port'?)");
	ck_assert_int_eq(vm_config_load_json(&c, "/tmp", &e), -EISDIR);
	ck_assert_str_eq(e.msg, "/tmp: cannot read: Is a directory");
	vm_config_free(&c);
}
END_TEST

START_TEST(test_json_file_too_big)
{
	size_t n = (1u << 20) + 1;
	char *big = malloc(n), *path;
	struct vm_config c;
	struct bs_err e = { "" };
	char want[300];

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	path = fixture_tmpfile(big, n, ".json");
	ck_assert_ptr_nonnull(path);
	vm_config_init(&c);
	ck_assert_int_eq(vm_config_load_json(&c, path, &e), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes, not a config file", path);
	ck_assert_str_eq(e.msg, want);
	unlink(path);
	free(path);
	free(big);
	vm_config_free(&c);
}
END_TEST

static const char default_json[] =
	"{\n"
	"  \"kernel\": null,\n"
	"  \"initrd\": null,\n"
	"  \"cmdline\": null,\n"
	"  \"cpus\": 1,\n"
	"  \"memory\": \"512M\",\n"
	"  \"console\": \"stdio\",\n"
	"  \"timeout\": 0,\n"
	"  \"host_quirks\": true,\n"
	"  \"exit_device\": {\n"
	"    \"enabled\": true,\n"
	"    \"port\": 244\n"
	"  },\n"
	"  \"seccomp\": \"on\",\n"
	"  \"jail\": {\n"
	"    \"dir\": null,\n"
	"    \"uid\": null,\n"
	"    \"gid\": null\n"
	"  },\n"
	"  \"disks\": [],\n"
	"  \"nets\": [],\n"
	"  \"devices\": [],\n"
	"  \"balloon\": null,\n"
	"  \"api_socket\": null\n"
	"}\n";

START_TEST(test_to_json_defaults)
{
	struct vm_config c, back;
	struct bs_err e = { "" };
	char *j;

	vm_config_init(&c);
	j = vm_config_to_json(&c);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(j, default_json);
	/* Parse into a config that differs everywhere: every field must come back. */
	vm_config_init(&back);
	back.kernel = strdup("k");
	back.initrd = strdup("i");
	back.cmdline = strdup("c");
	back.cpus = 9;
	back.memory = 1ull << 30;
	back.console.kind = CONSOLE_NONE;
	back.timeout_s = 5;
	back.host_quirks = false;
	back.exit_dev.enabled = false;
	back.exit_dev.port = 0x500;
	back.seccomp = SECCOMP_OFF;
	back.jail.dir = strdup("/j");
	back.jail.uid = back.jail.gid = 7;
	back.ndisks = 1;
	back.disks[0].path = strdup("/d");
	back.nnets = 1;
	back.nets[0].tap = strdup("t");
	back.balloon.enabled = true;
	back.api_socket = strdup("/s");
	ck_assert_int_eq(vm_config_parse_json(&back, j, "print-config", &e), 0);
	ck_assert(vm_config_equal(&c, &back));
	free(j);
	vm_config_free(&c);
	vm_config_free(&back);
}
END_TEST

START_TEST(test_sandbox_keys)
{
	struct vm_config c, back;
	struct bs_err e = { "" };
	char *j;

	vm_config_init(&c);
	ck_assert_int_eq(vm_config_parse_json(&c,
		"{\"seccomp\": \"log\", \"jail\": {\"dir\": \"/tmp\", \"uid\": 65534, "
		"\"gid\": 100}}", "vm.json", &e), 0);
	ck_assert_int_eq(c.seccomp, SECCOMP_LOG);
	ck_assert_str_eq(c.jail.dir, "/tmp");
	ck_assert_int_eq(c.jail.uid, 65534);
	ck_assert_int_eq(c.jail.gid, 100);
	ck_assert_int_eq(vm_config_validate(&c, &e), 0);
	j = vm_config_to_json(&c);
	ck_assert_ptr_nonnull(strstr(j, "\"seccomp\": \"log\""));
	vm_config_init(&back);
	ck_assert_int_eq(vm_config_parse_json(&back, j, "print-config", &e), 0);
	ck_assert(vm_config_equal(&c, &back));
	free(j);
	vm_config_free(&back);

	ck_assert_int_eq(vm_config_parse_json(&c, "{\n  \"seccomp\": \"strict\"\n}",
					      "vm.json", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "vm.json:2:14: 'seccomp' must be \"on\", \"log\" or "
			 "\"off\", got 'strict'");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"jail\": {\"root\": \"/x\"}}",
					      "vm.json", &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "vm.json:1:19: unknown key 'root' in 'jail'"));
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"jail\": {\"uid\": -1}}",
					      "vm.json", &e), -ERANGE);
	ck_assert_ptr_nonnull(strstr(e.msg, "'jail.uid' out of range"));
	/* a failed load changed nothing */
	ck_assert_int_eq(c.seccomp, SECCOMP_LOG);

	c.jail.gid = BS_NO_ID;
	ck_assert_int_eq(vm_config_validate(&c, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "jail: uid and gid go together (give both)");
	c.jail.gid = 100;
	free(c.jail.dir);
	c.jail.dir = strdup("/nonexistent-jail");
	ck_assert_int_eq(vm_config_validate(&c, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "jail: cannot use '/nonexistent-jail': No such file or directory");
	vm_config_free(&c);
}
END_TEST

START_TEST(test_disks)
{
	struct vm_config c, back;
	struct bs_err e = { "" };
	char *img = fixture_tmpfile("", 0, ".img"), *j, text[512];

	vm_config_init(&c);
	snprintf(text, sizeof(text),
		 "{\"disks\": [{\"path\": \"%s\", \"serial\": \"s-1\", \"cache\": "
		 "\"writethrough\"}, {\"path\": \"/dev/null\", \"readonly\": true}]}", img);
	ck_assert_int_eq(vm_config_parse_json(&c, text, "vm.json", &e), 0);
	ck_assert_uint_eq(c.ndisks, 2);
	ck_assert_str_eq(c.disks[0].serial, "s-1");
	ck_assert_int_eq(c.disks[0].cache, DISK_CACHE_WRITETHROUGH);
	ck_assert(c.disks[1].readonly);
	ck_assert_ptr_null(c.disks[1].serial);
	/* /dev/null is neither a regular file nor a block device */
	ck_assert_int_eq(vm_config_validate(&c, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "disks[1]: '/dev/null' is not a regular file or block device");
	c.ndisks = 1;
	free(c.disks[1].path);
	c.disks[1].path = NULL;
	ck_assert_int_eq(vm_config_validate(&c, &e), 0);
	j = vm_config_to_json(&c);
	vm_config_init(&back);
	ck_assert_int_eq(vm_config_parse_json(&back, j, "print-config", &e), 0);
	ck_assert(vm_config_equal(&c, &back));
	back.disks[0].readonly = true;
	ck_assert(!vm_config_equal(&c, &back));
	free(j);
	vm_config_free(&back);
	/* errors point at the element or member, and change nothing */
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"disks\": [\n {\"path\": \"a\"},\n 7]}",
					      "vm.json", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "vm.json:3:2: 'disks[1]' must be an object, got integer");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"disks\": [{\"serial\": \"x\"}]}",
					      "vm.json", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "vm.json:1:12: 'disks[0]' needs a \"path\"");
	ck_assert_uint_eq(c.ndisks, 1);
	ck_assert_str_eq(c.disks[0].path, img);
	unlink(img);
	free(img);
	vm_config_free(&c);
}
END_TEST

START_TEST(test_nets)
{
	struct vm_config c, back;
	struct bs_err e = { "" };
	char *j;

	vm_config_init(&c);
	ck_assert_int_eq(vm_config_parse_json(&c,
		"{\"nets\": [{\"tap\": \"bt-none0\", \"mac\": \"52:54:00:00:00:07\", "
		"\"queues\": 2, \"create\": true}, {\"tap\": \"bt-none1\", \"mac\": null, "
		"\"queues\": null}]}", "vm.json", &e), 0);
	ck_assert_uint_eq(c.nnets, 2);
	ck_assert(c.nets[0].mac_set);
	ck_assert_uint_eq(c.nets[0].mac[5], 7);
	ck_assert_uint_eq(c.nets[0].queues, 2);
	ck_assert(c.nets[0].create);
	ck_assert(!c.nets[1].mac_set);
	ck_assert_uint_eq(c.nets[1].queues, 0);
	j = vm_config_to_json(&c);
	ck_assert_ptr_nonnull(strstr(j, "\"mac\": \"52:54:00:00:00:07\""));
	vm_config_init(&back);
	ck_assert_int_eq(vm_config_parse_json(&back, j, "print-config", &e), 0);
	ck_assert(vm_config_equal(&c, &back));
	back.nets[1].queues = 3;
	ck_assert(!vm_config_equal(&c, &back));
	free(j);
	vm_config_free(&back);
	/* Validation asks sysfs: bt-none1 does not exist (and is not created).
	 * nets[0] passes only where /dev/net/tun can be opened. */
	if (access("/dev/net/tun", R_OK | W_OK))
		goto json_errors;
	ck_assert_int_eq(vm_config_validate(&c, &e), -ENODEV);
	ck_assert_str_eq(e.msg, "nets[1]: tap 'bt-none1' does not exist (create it with "
			 "'ip tuntap add dev bt-none1 mode tap', or give create=on)");
	free(c.nets[1].tap);
	c.nets[1].tap = strdup("lo");
	ck_assert_int_eq(vm_config_validate(&c, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "nets[1]: 'lo' is not a tap device");
	free(c.nets[1].tap);
	c.nets[1].tap = strdup("bt-none0");
	ck_assert_int_eq(vm_config_validate(&c, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "nets[1]: tap 'bt-none0' is already nets[0]");
	free(c.nets[1].tap);
	c.nets[1].tap = strdup("a/b");
	ck_assert_int_eq(vm_config_validate(&c, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "nets[1]: 'a/b' is not a valid interface name"));
	c.nnets = 1;
	free(c.nets[1].tap);
	c.nets[1].tap = NULL;
	c.nets[0].mac[0] = 0x01;
	ck_assert_int_eq(vm_config_validate(&c, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "nets[0]: mac 01:.. is a multicast address");
json_errors:
	if (c.nnets == 2) {
		free(c.nets[1].tap);
		c.nets[1].tap = NULL;
		c.nnets = 1;
	}
	/* JSON errors point at the member and change nothing */
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"nets\": [{\"tap\": \"x\",\n \"mac\": "
					      "\"zz\"}]}", "vm.json", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "vm.json:2:9: 'nets[0].mac' must be a MAC address like "
			 "\"52:54:00:12:34:56\" or null");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"nets\": [{\"tap\": \"x\", \"queues\": 17}]}",
					      "vm.json", &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "'nets[0].queues' must be an integer 1..16 or null"));
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"nets\": [{\"mac\": null}]}",
					      "vm.json", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "vm.json:1:11: 'nets[0]' needs a \"tap\"");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"nets\": {}}", "vm.json", &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "'nets' must be an array, got object"));
	ck_assert_uint_eq(c.nnets, 1);
	ck_assert_str_eq(c.nets[0].tap, "bt-none0");
	vm_config_free(&c);
}
END_TEST

START_TEST(test_balloon_and_socket)
{
	struct vm_config c, back;
	struct bs_err e = { "" };
	char dir[] = "/tmp/basalt-cfgsock.XXXXXX", path[128], *j;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	vm_config_init(&c);
	ck_assert_int_eq(vm_config_parse_json(&c,
		"{\"memory\": \"1G\", \"balloon\": {\"target\": \"256M\", \"stats_interval\": 5, "
		"\"free_page_reporting\": true}, \"api_socket\": \"/tmp/vm.sock\"}", "vm.json", &e), 0);
	ck_assert(c.balloon.enabled);
	ck_assert_uint_eq(c.balloon.target, 256ull << 20);
	ck_assert_uint_eq(c.balloon.stats_interval, 5);
	ck_assert(!c.balloon.deflate_on_oom);
	ck_assert(c.balloon.free_page_reporting);
	ck_assert_str_eq(c.api_socket, "/tmp/vm.sock");
	j = vm_config_to_json(&c);
	ck_assert_ptr_nonnull(strstr(j, "\"target\": \"256M\""));
	vm_config_init(&back);
	ck_assert_int_eq(vm_config_parse_json(&back, j, "print-config", &e), 0);
	ck_assert(vm_config_equal(&c, &back));
	back.balloon.deflate_on_oom = true;
	ck_assert(!vm_config_equal(&c, &back));
	free(j);
	vm_config_free(&back);
	/* {} turns the device on with defaults; null turns it off. */
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"balloon\": {}}", "vm.json", &e), 0);
	ck_assert(c.balloon.enabled);
	ck_assert_uint_eq(c.balloon.target, 0);
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"balloon\": null}", "vm.json", &e), 0);
	ck_assert(!c.balloon.enabled);
	/* JSON errors name the member */
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"balloon\": {\"target\": true}}", "vm.json",
					      &e), -EINVAL);
	ck_assert_str_eq(e.msg, "vm.json:1:24: 'balloon.target' must be a size like \"512M\" "
			 "or a byte count, got boolean");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"balloon\": {\"stats_interval\": 4000}}",
					      "vm.json", &e), -ERANGE);
	ck_assert_str_eq(e.msg, "vm.json:1:32: 'balloon.stats_interval' out of range "
			 "(0..3600): 4000");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"balloon\": {\"deflate\": true}}",
					      "vm.json", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "vm.json:1:25: unknown key 'deflate' in 'balloon'");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"balloon\": 1}", "vm.json", &e), -EINVAL);
	ck_assert_str_eq(e.msg, "vm.json:1:13: 'balloon' must be an object or null, got integer");
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"api_socket\": \"\"}", "vm.json", &e),
			 -EINVAL);
	ck_assert_str_eq(e.msg, "vm.json:1:16: 'api_socket' must not be empty");

	/* Validation: the target fits the memory, in whole pages. */
	c.balloon.enabled = true;
	c.balloon.target = 2ull << 30;
	ck_assert_int_eq(vm_config_validate(&c, &e), -ERANGE);
	ck_assert_str_eq(e.msg, "balloon: target 2G is more than the guest's memory (1G)");
	c.balloon.target = 4097;
	ck_assert_int_eq(vm_config_validate(&c, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "balloon: target must be a multiple of 4K: 4097");
	c.balloon.target = 0;

	/* The socket: its directory must exist; a live socket is refused, a
	 * stale one (nobody listening) accepted, anything else refused. */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	free(c.api_socket);
	c.api_socket = strdup("/nonexistent-basalt-dir/vm.sock");
	ck_assert_int_eq(vm_config_validate(&c, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "api_socket: directory '/nonexistent-basalt-dir' does not exist");
	free(c.api_socket);
	c.api_socket = malloc(200);
	memset(c.api_socket, 'a', 199);
	c.api_socket[199] = '\0';
	ck_assert_int_eq(vm_config_validate(&c, &e), -ENAMETOOLONG);
	ck_assert_ptr_nonnull(strstr(e.msg, "is longer than 107 bytes"));
	snprintf(path, sizeof(path), "%s/vm.sock", dir);
	free(c.api_socket);
	c.api_socket = strdup(path);
	ck_assert_int_eq(vm_config_validate(&c, &e), 0);	/* does not exist yet */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(vm_config_validate(&c, &e), 0);	/* bound, not listening: stale */
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(vm_config_validate(&c, &e), -EADDRINUSE);
	ck_assert_str_eq(strstr(e.msg, "' is in use"), "' is in use by a running process");
	close(fd);
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(vm_config_validate(&c, &e), -EEXIST);
	ck_assert_str_eq(strstr(e.msg, "' exists"), "' exists and is not a socket");
	unlink(path);
	rmdir(dir);
	vm_config_free(&c);
}
END_TEST

START_TEST(test_devices)
{
	struct vm_config c, back;
	struct bs_err e = { "" };
	char dir[] = "/tmp/basalt-dev.XXXXXX", sock[64], file[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;
	char *j;

	vm_config_init(&c);
	ck_assert_int_eq(vm_config_parse_json(&c,
		"{\"devices\": [{\"vfio-user\": \"/run/x.sock\"}, "
		"{\"vfio\": \"/sys/bus/pci/devices/0000:01:00.0\"}]}", "vm.json", &e), 0);
	ck_assert_uint_eq(c.ndevices, 2);
	ck_assert_int_eq(c.devices[0].kind, DEVICE_VFIO_USER);
	ck_assert_int_eq(c.devices[1].kind, DEVICE_VFIO);
	j = vm_config_to_json(&c);
	ck_assert_ptr_nonnull(strstr(j, "\"vfio-user\": \"/run/x.sock\""));
	vm_config_init(&back);
	ck_assert_int_eq(vm_config_parse_json(&back, j, "print-config", &e), 0);
	ck_assert(vm_config_equal(&c, &back));
	back.devices[1].kind = DEVICE_VFIO_USER;
	ck_assert(!vm_config_equal(&c, &back));
	free(j);
	vm_config_free(&back);
	/* Validation: a socket that is not there, not a socket, one that is. */
	ck_assert_int_eq(vm_config_validate(&c, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "devices[0]: vfio-user socket '/run/x.sock': No such file "
			 "or directory (start the device server first)");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/plain", dir);
	snprintf(sock, sizeof(sock), "%s/dev.sock", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	free(c.devices[0].path);
	c.devices[0].path = strdup(file);
	ck_assert_int_eq(vm_config_validate(&c, &e), -ENOTSOCK);
	ck_assert_str_eq(e.msg + strlen(e.msg) - 20, "is not a UNIX socket");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, sock);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	free(c.devices[0].path);
	c.devices[0].path = strdup(sock);
	/* The socket passes; the vfio device (no such function) does not. */
	ck_assert_int_eq(vm_config_validate(&c, &e), -ENOENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "devices[1]: no PCI device at "));
	c.devices[1].kind = DEVICE_VFIO_USER;
	free(c.devices[1].path);
	c.devices[1].path = strdup(sock);
	ck_assert_int_eq(vm_config_validate(&c, &e), -EINVAL);
	ck_assert_str_eq(e.msg + strlen(e.msg) - 23, "' is already devices[0]");
	c.ndevices = 1;
	free(c.devices[1].path);
	c.devices[1].path = NULL;
	ck_assert_int_eq(vm_config_validate(&c, &e), 0);
	close(fd);
	unlink(sock);
	unlink(file);
	rmdir(dir);
	/* JSON errors */
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"devices\": [{\"vfio\": \"a\", "
					      "\"vfio-user\": \"b\"}]}", "vm.json", &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "'devices[0]' must be an object with one key"));
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"devices\": [{\"vfio-usr\": \"b\"}]}",
					      "vm.json", &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "unknown key 'vfio-usr' in 'devices[0]'"));
	ck_assert_int_eq(vm_config_parse_json(&c, "{\"devices\": [{\"vfio\": 3}]}",
					      "vm.json", &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "'devices[0].vfio' must be a non-empty string"));
	ck_assert_uint_eq(c.ndevices, 1);
	vm_config_free(&c);
}
END_TEST

START_TEST(test_to_json_full_round_trip)
{
	struct vm_config c, back;
	struct bs_err e = { "" };
	char *j;

	vm_config_init(&c);
	ck_assert_int_eq(vm_config_load_json(&c, DATA "full.json", &e), 0);
	c.memory = 1536ull << 20;	/* not a whole number of G */
	j = vm_config_to_json(&c);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_nonnull(strstr(j, "\n  \"memory\": \"1536M\",\n"));
	ck_assert_ptr_nonnull(strstr(j, "\n  \"console\": \"file:/tmp/basalt-console.log\",\n"));
	ck_assert_ptr_nonnull(strstr(j, "\n    \"port\": 1281\n"));
	vm_config_init(&back);
	ck_assert_int_eq(vm_config_parse_json(&back, j, "print-config", &e), 0);
	ck_assert(vm_config_equal(&c, &back));
	ck_assert_str_eq(back.console.path, "/tmp/basalt-console.log");
	free(j);
	vm_config_free(&c);
	vm_config_free(&back);
}
END_TEST

START_TEST(test_to_json_not_utf8)
{
	struct vm_config c;

	vm_config_init(&c);
	c.kernel = strdup("/boot/\xff");
	errno = 0;
	ck_assert_ptr_null(vm_config_to_json(&c));
	ck_assert_int_eq(errno, EILSEQ);
	vm_config_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("validate"), *tj = tcase_create("json");

	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_validate_errors, 0, sizeof(bad_configs) / sizeof(bad_configs[0]));
	tcase_add_test(tc, test_validate_ok);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);
	tcase_add_test(tj, test_json_minimal_file);
	tcase_add_test(tj, test_json_full_file);
	tcase_add_test(tj, test_json_values);
	tcase_add_loop_test(tj, test_json_errors, 0, sizeof(json_errors) / sizeof(json_errors[0]));
	tcase_add_test(tj, test_json_error_is_atomic);
	tcase_add_test(tj, test_json_file_errors);
	tcase_add_test(tj, test_json_file_too_big);
	tcase_add_test(tj, test_to_json_defaults);
	tcase_add_test(tj, test_sandbox_keys);
	tcase_add_test(tj, test_to_json_full_round_trip);
	tcase_add_test(tj, test_disks);
	tcase_add_test(tj, test_nets);
	tcase_add_test(tj, test_devices);
	tcase_add_test(tj, test_balloon_and_socket);
	tcase_add_test(tj, test_to_json_not_utf8);
	suite_add_tcase(s, tj);
	return fixture_run_suite(s);
}
