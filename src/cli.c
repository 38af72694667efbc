/* `basalt` command line (help text: cli_usage; config keys: docs/config.md).
 *
 * run flags are parsed in two steps: getopt_long collects them, then
 * --config FILE (wherever it appeared) is loaded into the defaults and the
 * other flags are applied over it in command-line order. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/cli.h"
#include "basalt/exitcode.h"
#include "config_util.h"

#define MAX_TIMEOUT_S INT_MAX

enum {
	OPT_KERNEL = 256,	/* above any char, so optopt can tell them apart */
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_CONSOLE,
	OPT_CONFIG,
	OPT_PRINT_CONFIG,
	OPT_TIMEOUT,
	OPT_NO_HOST_QUIRKS,
	OPT_EXIT_DEVICE,
	OPT_STATS,
	OPT_SECCOMP,
	OPT_JAIL,
	OPT_UID,
	OPT_GID,
	OPT_DISK,
	OPT_NET,
	OPT_DEVICE,
	OPT_BALLOON,
	OPT_API_SOCKET,
};

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "no-host-quirks", no_argument, NULL, OPT_NO_HOST_QUIRKS },
	{ "exit-device", required_argument, NULL, OPT_EXIT_DEVICE },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "jail", required_argument, NULL, OPT_JAIL },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "balloon", required_argument, NULL, OPT_BALLOON },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Help lines, in the order shown by `basalt help run`. */
static const struct {
	const char *flag, *desc;
} run_help[] = {
	{ "--kernel PATH", "guest kernel image (default: the bundled guest image)" },
	{ "--initrd PATH", "initial ramdisk (default: none)" },
	{ "--cmdline STR", "guest kernel command line" },
	{ "--cpus N", "number of vCPUs, 1..64 (default 1)" },
	{ "--memory SIZE", "guest RAM: 512M, 2G, ... multiple of 2M, 16M..1T (default 512M)" },
	{ "--console KIND", "stdio, none or file:PATH (default stdio)" },
	{ "--config FILE", "load a JSON config first; the other flags override it" },
	{ "--print-config", "print the effective config as JSON and exit" },
	{ "--disk path=FILE[,...]", "virtio-blk disk (repeatable; replaces the config's disks):" },
	{ "", "  readonly=on|off, serial=S (<= 20 chars), cache=writeback|writethrough," },
	{ "", "  direct=on|off (O_DIRECT)" },
	{ "--net tap=NAME[,...]", "virtio-net on a host tap (repeatable; replaces the config's nets):" },
	{ "", "  mac=52:54:00:12:34:56, queues=N (queue pairs; default one per vCPU" },
	{ "", "  on a multi_queue tap, else 1), create=on (make the tap, gone at exit)" },
	{ "--device vfio=PATH", "pass a host PCI function through (bound to vfio-pci;" },
	{ "", "  PATH /sys/bus/pci/devices/DDDD:BB:DD.F); repeatable, replaces the config's" },
	{ "--device vfio-user=SOCK", "a PCI device served by a vfio-user server (repeatable)" },
	{ "--balloon SPEC", "virtio-balloon: on, off, or target=SIZE (held from boot," },
	{ "", "  default 0), stats-interval=S (0 = on request)," },
	{ "", "  deflate-on-oom=on|off, free-page-reporting=on|off" },
	{ "--api-socket PATH", "control socket (mode 0600; 'basalt ctl --socket PATH ...')" },
	{ "--timeout SECONDS", "stop the guest after SECONDS, exit 124 (default 0 = never)" },
	{ "--no-host-quirks", "do not adapt to PVM hosts automatically" },
	{ "--exit-device PORT|off", "I/O port of the exit-status device (default 0xf4)" },
	{ "--stats", "print run statistics at exit" },
	{ "--seccomp on|log|off", "per-thread system call filters (default on)" },
	{ "--jail DIR", "after setup, pivot_root into DIR in a new mount namespace" },
	{ "--uid N --gid N", "after setup, run as this user and group" },
	{ "-v, --verbose", "more log output; repeat for debug" },
	{ "-q, --quiet", "errors only" },
	{ "-h, --help", "show this help" },
};

static const struct {
	int code;
	const char *desc;
} exit_help[] = {
	{ BS_EXIT_POWEROFF, "guest powered off" },
	{ BS_EXIT_ERROR, "VMM error at run time" },
	{ BS_EXIT_USAGE, "bad flag, config or missing file; no VM created" },
	{ BS_EXIT_RESET, "guest reset (reboot, or panic with panic=-1)" },
	{ BS_EXIT_SHUTDOWN, "triple fault" },
	{ BS_EXIT_EMULATION, "instruction the VMM could not emulate" },
	{ BS_EXIT_SECCOMP, "forbidden system call (sandbox)" },
	{ BS_EXIT_SHUTDOWN_DEADLINE, "shutdown (basalt ctl): the guest did not power off in time" },
	{ BS_EXIT_TIMEOUT, "--timeout expired" },
	{ BS_EXIT_QUIT, "user quit: Ctrl-A x, SIGINT, SIGTERM" },
};

void cli_usage(FILE *f, const char *topic)
{
	size_t i;

	if (topic && !strcmp(topic, "run")) {
		fputs("Usage: basalt run [options]\n\n"
		      "Boot a VM.  Flags override values from --config.\n\n"
		      "Options:\n", f);
		for (i = 0; i < sizeof(run_help) / sizeof(run_help[0]); i++)
			fprintf(f, "  %-24s %s\n", run_help[i].flag, run_help[i].desc);
		fputs("\nExit status (unless the guest picks one through the exit device):\n", f);
		for (i = 0; i < sizeof(exit_help) / sizeof(exit_help[0]); i++)
			fprintf(f, "  %3d  %s\n", exit_help[i].code, exit_help[i].desc);
		fputs("\nExamples:\n"
		      "  basalt run --kernel bzImage --initrd initrd.img \\\n"
		      "      --cmdline console=ttyS0 --cpus 2 --memory 1G\n"
		      "  basalt run --config vm.json --memory 2G --print-config\n", f);
		return;
	}
	fputs("Usage: basalt <command> [options]\n\n"
	      "Commands:\n"
	      "  run         boot a VM (see 'basalt help run')\n"
	      "  help [run]  show this help, or the help for a command\n"
	      "  ctl         control a running VM (see 'basalt ctl --help')\n"
	      "  seccomp-dump  print the system calls each thread role may make\n"
	      "  version     print the version\n\n"
	      "  -h, --help  same as 'basalt help'\n"
	      "  --version   same as 'basalt version'\n", f);
}

/* Decimal digits only.  -EINVAL bad syntax, -ERANGE above max. */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		if (v > (max - (unsigned)(*s - '0')) / 10) {
			while (isdigit((unsigned char)*s))
				s++;
			return *s ? -EINVAL : -ERANGE;
		}
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return 0;
}

static const char *opt_name(int val)
{
	const struct option *o;

	for (o = run_options; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

static int set_str(char **dst, const char *s, struct bs_err *e)
{
	char *d = strdup(s);

	if (!d)
		return bs_errf(e, ENOMEM, "out of memory");
	free(*dst);
	*dst = d;
	return 0;
}

static int set_number(const char *flag, const char *arg, unsigned long long lo,
		      unsigned long long hi, unsigned *dst, struct bs_err *e)
{
	unsigned long long v;
	char a[80];
	int r = parse_uint(arg, hi, &v);

	if (r == -EINVAL)
		return bs_errf(e, EINVAL, "--%s: invalid number '%s'", flag,
			       cfg_show(arg, a, sizeof(a)));
	if (r || v < lo)
		return bs_errf(e, EINVAL, "--%s: out of range (%llu..%llu): %s", flag, lo, hi,
			       cfg_show(arg, a, sizeof(a)));
	*dst = (unsigned)v;
	return 0;
}

static int set_memory(const char *arg, uint64_t *dst, struct bs_err *e)
{
	char a[80], lo[32], hi[32];
	uint64_t v;
	int r = parse_size(arg, &v);

	if (r == -EINVAL)
		return bs_errf(e, EINVAL, "--memory: invalid size '%s'", cfg_show(arg, a, sizeof(a)));
	format_size(BS_MIN_MEMORY, lo, sizeof(lo));
	format_size(BS_MAX_MEMORY, hi, sizeof(hi));
	if (r || v < BS_MIN_MEMORY || v > BS_MAX_MEMORY)
		return bs_errf(e, EINVAL, "--memory: out of range (%s..%s): %s", lo, hi,
			       cfg_show(arg, a, sizeof(a)));
	if (v % (2ull << 20))
		return bs_errf(e, EINVAL, "--memory: must be a multiple of 2M: %s",
			       cfg_show(arg, a, sizeof(a)));
	*dst = v;
	return 0;
}

static int set_console(const char *arg, struct vm_config *c, struct bs_err *e)
{
	char a[80];

	if (!strcmp(arg, "stdio") || !strcmp(arg, "none")) {
		free(c->console.path);
		c->console.path = NULL;
		c->console.kind = arg[0] == 's' ? CONSOLE_STDIO : CONSOLE_NONE;
		return 0;
	}
	if (strncmp(arg, "file:", 5))
		return bs_errf(e, EINVAL, "--console: invalid value '%s' (expected stdio, none or file:PATH)",
			       cfg_show(arg, a, sizeof(a)));
	if (!arg[5])
		return bs_errf(e, EINVAL, "--console: needs a path after 'file:'");
	if (set_str(&c->console.path, arg + 5, e))
		return -ENOMEM;
	c->console.kind = CONSOLE_FILE;
	return 0;
}

/* "off", or a port as decimal or 0x-hex. */
static int set_exit_device(const char *arg, struct vm_config *c, struct bs_err *e)
{
	uint16_t port;
	char a[80];
	int r;

	if (!strcmp(arg, "off")) {
		c->exit_dev.enabled = false;
		return 0;
	}
	r = cfg_parse_port(arg, &port);
	if (r == -ERANGE)
		return bs_errf(e, EINVAL, "--exit-device: port out of range (1..65535): %s",
			       cfg_show(arg, a, sizeof(a)));
	if (r)
		return bs_errf(e, EINVAL, "--exit-device: invalid port '%s' (expected 1..65535, 0xNN or off)",
			       cfg_show(arg, a, sizeof(a)));
	c->exit_dev.enabled = true;
	c->exit_dev.port = port;
	return 0;
}

static int set_seccomp(const char *arg, struct vm_config *c, struct bs_err *e)
{
	char a[80];

	if (!strcmp(arg, "on"))
		c->seccomp = SECCOMP_ON;
	else if (!strcmp(arg, "log"))
		c->seccomp = SECCOMP_LOG;
	else if (!strcmp(arg, "off"))
		c->seccomp = SECCOMP_OFF;
	else
		return bs_errf(e, EINVAL, "--seccomp: invalid mode '%s' (expected on, log or off)",
			       cfg_show(arg, a, sizeof(a)));
	return 0;
}

struct flag {
	int val;
	const char *arg;
};

static int apply_flag(const struct flag *f, struct cli_opts *o, struct bs_err *e)
{
	struct vm_config *c = &o->cfg;

	switch (f->val) {
	case OPT_KERNEL:
		return set_str(&c->kernel, f->arg, e);
	case OPT_INITRD:
		return set_str(&c->initrd, f->arg, e);
	case OPT_CMDLINE:
		return set_str(&c->cmdline, f->arg, e);
	case OPT_CPUS:
		return set_number("cpus", f->arg, 1, BS_MAX_CPUS, &c->cpus, e);
	case OPT_MEMORY:
		return set_memory(f->arg, &c->memory, e);
	case OPT_CONSOLE:
		return set_console(f->arg, c, e);
	case OPT_PRINT_CONFIG:
		o->print_config = true;
		return 0;
	case OPT_TIMEOUT:
		return set_number("timeout", f->arg, 0, MAX_TIMEOUT_S, &c->timeout_s, e);
	case OPT_NO_HOST_QUIRKS:
		c->host_quirks = false;
		return 0;
	case OPT_EXIT_DEVICE:
		return set_exit_device(f->arg, c, e);
	case OPT_STATS:
		o->stats = true;
		return 0;
	case OPT_SECCOMP:
		return set_seccomp(f->arg, c, e);
	case OPT_JAIL:
		return set_str(&c->jail.dir, f->arg, e);
	case OPT_UID:
	case OPT_GID: {
		unsigned v;
		int r = set_number(f->val == OPT_UID ? "uid" : "gid", f->arg, 0,
				   0xfffffffeu, &v, e);

		if (!r)
			*(f->val == OPT_UID ? &c->jail.uid : &c->jail.gid) = v;
		return r;
	}
	case OPT_DISK: {
		struct disk_config d;
		int r;

		/* The first --disk replaces the disks of --config. */
		if (!o->cli_disks) {
			vm_config_clear_disks(c);
			o->cli_disks = true;
		}
		if (c->ndisks == BS_MAX_DISKS)
			return bs_errf(e, EINVAL, "--disk: at most %u disks", BS_MAX_DISKS);
		r = cfg_parse_disk(f->arg, &d, e);
		if (r)
			return r;
		c->disks[c->ndisks++] = d;
		return 0;
	}
	case OPT_NET: {
		struct net_config n;
		int r;

		/* The first --net replaces the nets of --config. */
		if (!o->cli_nets) {
			vm_config_clear_nets(c);
			o->cli_nets = true;
		}
		if (c->nnets == BS_MAX_NETS)
			return bs_errf(e, EINVAL, "--net: at most %u network devices", BS_MAX_NETS);
		r = cfg_parse_net(f->arg, &n, e);
		if (r)
			return r;
		c->nets[c->nnets++] = n;
		return 0;
	}
	case OPT_DEVICE: {
		struct device_config d;
		int r;

		/* The first --device replaces the devices of --config. */
		if (!o->cli_devices) {
			vm_config_clear_devices(c);
			o->cli_devices = true;
		}
		if (c->ndevices == BS_MAX_DEVICES)
			return bs_errf(e, EINVAL, "--device: at most %u devices", BS_MAX_DEVICES);
		r = cfg_parse_device(f->arg, &d, e);
		if (r)
			return r;
		c->devices[c->ndevices++] = d;
		return 0;
	}
	case OPT_BALLOON:
		return cfg_parse_balloon(f->arg, &c->balloon, e);
	case OPT_API_SOCKET:
		if (!*f->arg)
			return bs_errf(e, EINVAL, "--api-socket: missing value");
		return set_str(&c->api_socket, f->arg, e);
	case 'v':	/* -v after -q starts again from the default */
		o->verbosity = o->verbosity < 0 ? 1 : o->verbosity + (o->verbosity < 2);
		return 0;
	case 'q':
		o->verbosity = -1;
		return 0;
	}
	return bs_errf(e, EINVAL, "internal: unhandled option %d", f->val);
}

/* The text of the option getopt_long just matched, without "--" and any
 * "=value"; glibc accepts unambiguous abbreviations ("--cpu"), which we
 * refuse so that adding a flag can never change what an old one means. */
static bool typed_exactly(char **av, const char *name)
{
	const char *t = av[optind - 1];
	size_t n;

	if (optarg && optarg == av[optind - 1] && optind >= 2)
		t = av[optind - 2];
	if (strncmp(t, "--", 2))
		return true;	/* short option */
	t += 2;
	n = strcspn(t, "=");
	return n == strlen(name) && !strncmp(t, name, n);
}

/* "--foo=bar" -> "--foo" for messages. */
static const char *flag_text(const char *arg, char *buf, size_t len)
{
	char name[256];
	size_t n = strcspn(arg, "=");

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, arg, n);
	name[n] = '\0';
	return cfg_show(name, buf, len);
}

/* av[0] is "run". */
static int parse_run(int ac, char **av, struct cli_opts *o, struct bs_err *e)
{
	struct flag *flags = calloc((size_t)ac + 1, sizeof(*flags));
	const char *config = NULL;
	char t[80];
	size_t nf = 0, i;
	int c, r = 0;

	if (!flags)
		return bs_errf(e, ENOMEM, "out of memory");
	o->cmd = CLI_RUN;
	optind = 0;	/* full getopt reinitialization (glibc) */
	opterr = 0;
	for (;;) {
		int idx = -1;

		c = getopt_long(ac, av, "+:vqh", run_options, &idx);
		if (c == -1)
			break;
		if (c == ':') {
			r = bs_errf(e, EINVAL, "--%s: missing value", opt_name(optopt));
			goto out;
		}
		if (c == '?') {
			if (optopt && strcmp(opt_name(optopt), "?"))
				r = bs_errf(e, EINVAL, "%s: takes no value",
					    flag_text(av[optind - 1], t, sizeof(t)));
			else if (optopt)
				r = bs_errf(e, EINVAL, "unknown option '-%c' (see 'basalt help run')",
					    isprint(optopt) ? optopt : '?');
			else
				r = bs_errf(e, EINVAL, "unknown option '%s' (see 'basalt help run')",
					    flag_text(av[optind - 1], t, sizeof(t)));
			goto out;
		}
		if (idx >= 0 && !typed_exactly(av, run_options[idx].name)) {
			const char *typed = av[optind - (optarg && optarg == av[optind - 1] ? 2 : 1)];

			r = bs_errf(e, EINVAL, "unknown option '%s' (see 'basalt help run')",
				    flag_text(typed, t, sizeof(t)));
			goto out;
		}
		if (c == 'h') {
			o->cmd = CLI_HELP;
			o->help_topic = "run";
			goto out;
		}
		if (c == OPT_CONFIG) {
			if (!*optarg) {
				r = bs_errf(e, EINVAL, "--config: missing value");
				goto out;
			}
			if (config) {
				r = bs_errf(e, EINVAL, "--config: given more than once");
				goto out;
			}
			config = optarg;
			continue;
		}
		flags[nf].val = c;
		flags[nf++].arg = optarg;
	}
	if (optind < ac) {
		r = bs_errf(e, EINVAL, "unexpected argument '%s' (see 'basalt help run')",
			    cfg_show(av[optind], t, sizeof(t)));
		goto out;
	}
	if (config && (r = vm_config_load_json(&o->cfg, config, e)))
		goto out;
	for (i = 0; i < nf && !r; i++)
		r = apply_flag(&flags[i], o, e);
out:
	free(flags);
	return r;
}

int cli_parse(int argc, char **argv, struct cli_opts *o, struct bs_err *e)
{
	const char *cmd;
	char t[80];

	memset(o, 0, sizeof(*o));
	vm_config_init(&o->cfg);
	o->cmd = CLI_HELP;
	if (argc < 2 || !argv[1])
		return 0;
	cmd = argv[1];
	if (!strcmp(cmd, "run"))
		return parse_run(argc - 1, argv + 1, o, e);
	if (!strcmp(cmd, "ctl")) {
		/* The client parses its own arguments (ctl_client_main). */
		o->cmd = CLI_CTL;
		return 0;
	}
	if (!strcmp(cmd, "seccomp-dump")) {
		if (argc > 2)
			return bs_errf(e, EINVAL, "unexpected argument '%s' (see 'basalt help')",
				       cfg_show(argv[2], t, sizeof(t)));
		o->cmd = CLI_SECCOMP_DUMP;
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		if (argc > 2 && strcmp(argv[2], "run"))
			return bs_errf(e, EINVAL, "unknown help topic '%s' (see 'basalt help')",
				       cfg_show(argv[2], t, sizeof(t)));
		if (argc > 3)
			return bs_errf(e, EINVAL, "unexpected argument '%s' (see 'basalt help')",
				       cfg_show(argv[3], t, sizeof(t)));
		o->help_topic = argc > 2 ? "run" : NULL;
		return 0;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "version") ||
	    !strcmp(cmd, "--version")) {
		if (argc > 2)
			return bs_errf(e, EINVAL, "unexpected argument '%s' (see 'basalt help')",
				       cfg_show(argv[2], t, sizeof(t)));
		o->cmd = strstr(cmd, "version") ? CLI_VERSION : CLI_HELP;
		return 0;
	}
	if (cmd[0] == '-')
		return bs_errf(e, EINVAL, "unknown option '%s' (see 'basalt help')",
			       flag_text(cmd, t, sizeof(t)));
	return bs_errf(e, EINVAL, "unknown command '%s' (see 'basalt help')",
		       cfg_show(cmd, t, sizeof(t)));
}

void cli_opts_free(struct cli_opts *o)
{
	if (o)
		vm_config_free(&o->cfg);
}
