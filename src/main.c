/* basalt: the only place that exits the process. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basalt/cli.h"
#include "basalt/ctl.h"
#include "basalt/exitcode.h"
#include "basalt/log.h"
#include "basalt/sandbox.h"
#include "basalt/vm.h"
#include "build_config.h"

#define DEFAULT_CMDLINE "console=ttyS0 panic=-1"

static void die_usage(const char *msg)
{
	fprintf(stderr, "basalt: error: %s\n", msg);
	exit(BS_EXIT_USAGE);
}

static char *join_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* No --kernel: the default guest (guest-images/, built on demand). */
static void resolve_default_guest(struct vm_config *c)
{
	const char *dir = getenv("BASALT_GUEST_IMAGES");
	char *kernel, *initrd, *def_dir;

	if (!dir)
		dir = BASALT_GUEST_IMAGE_DIR;
	def_dir = join_path(dir, "default");
	kernel = join_path(def_dir, "bzImage");
	initrd = join_path(def_dir, "initramfs.cpio.gz");
	free(def_dir);
	if (!kernel || !initrd || access(kernel, R_OK) || access(initrd, R_OK)) {
		fprintf(stderr, "basalt: error: no --kernel given and the default guest "
			"is not built (looked in %s/default); build it with "
			"'meson compile -C build default-guest' or pass --kernel\n", dir);
		exit(BS_EXIT_USAGE);
	}
	c->kernel = kernel;
	if (!c->initrd)
		c->initrd = initrd;
	else
		free(initrd);
}

/* Reject files that are neither ELF nor a bzImage before any VM exists. */
static int probe_kernel(const char *path, struct bs_err *e)
{
	/* The setup part is at most 256 sectors; the header check wants the
	 * protected-mode payload to start inside what we read. */
	static uint8_t hdr[257 * 512 + 1];
	struct bzimage_info bi;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	struct bs_err perr;

	if (fd < 0)
		return bs_errf(e, errno, "kernel: cannot open '%s': %s", path,
			       strerror(errno));
	n = read(fd, hdr, sizeof(hdr));
	close(fd);
	if (n >= 4 && !memcmp(hdr, "\177ELF", 4))
		return 0;
	if (n < 0x280)
		return bs_errf(e, ENOEXEC, "kernel '%s': too short to be a kernel", path);
	r = bzimage_parse(hdr, (size_t)n, &bi, &perr);
	if (r)
		return bs_errf(e, -r, "kernel '%s': %s (expected a bzImage or an "
			       "ELF vmlinux)", path, perr.msg);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_opts o;
	struct bs_err e = { "" };
	struct vm vm;
	sigset_t stop_sigs;
	char *json;
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (cli_parse(argc, argv, &o, &e))
		die_usage(e.msg);
	switch (o.cmd) {
	case CLI_HELP:
		cli_usage(stdout, o.help_topic);
		cli_opts_free(&o);
		return 0;
	case CLI_VERSION:
		printf("basalt %s\n", BASALT_VERSION);
		cli_opts_free(&o);
		return 0;
	case CLI_CTL:
		r = ctl_client_main(argc - 1, argv + 1);
		cli_opts_free(&o);
		return r;
	case CLI_SECCOMP_DUMP:
		sandbox_dump(stdout, NULL);
		cli_opts_free(&o);
		return 0;
	case CLI_RUN:
		break;
	}
	bs_log_threshold = o.verbosity < 0 ? BS_LOG_ERROR :
			   o.verbosity == 0 ? BS_LOG_WARN :
			   o.verbosity == 1 ? BS_LOG_INFO : BS_LOG_DEBUG;

	if (!o.cfg.kernel)
		resolve_default_guest(&o.cfg);
	if (!o.cfg.cmdline)
		o.cfg.cmdline = strdup(DEFAULT_CMDLINE);
	if (vm_config_validate(&o.cfg, &e) || probe_kernel(o.cfg.kernel, &e))
		die_usage(e.msg);
	if (o.print_config) {
		json = vm_config_to_json(&o.cfg);
		if (!json)
			die_usage("cannot format the configuration");
		printf("%s\n", json);
		free(json);
		cli_opts_free(&o);
		return 0;
	}

	/* Passthrough backends: a dead socket or a refused VFIO group is a
	 * user error, reported before /dev/kvm is opened. */
	if (vm_pt_open(&o.cfg, &e)) {
		cli_opts_free(&o);
		die_usage(e.msg);
	}

	/* Stop signals wait in the signalfd of vm_run() from here on, so one
	 * that arrives during setup cannot leave the terminal in raw mode. */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop_sigs, NULL);
	r = vm_create(&vm, &o.cfg, &e);
	if (r) {
		fprintf(stderr, "basalt: error: %s\n", e.msg);
		vm_destroy(&vm);
		cli_opts_free(&o);
		return BS_EXIT_ERROR;
	}
	r = vm_run(&vm, o.stats);
	vm_destroy(&vm);
	cli_opts_free(&o);
	return r;
}
