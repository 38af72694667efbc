/* bench/boot: process start to guest exit, and peak RSS, for basalt and
 * QEMU booting the same PVH test guest, side by side, median of N runs;
 * optionally also a Linux kernel + initramfs (the default guest, which runs
 * `true` and reports through the exit port: the time to its init marker).
 *
 *   boot [-n N] --basalt BASALT --qemu QEMU --guest GUEST.elf
 *        [--linux BZIMAGE --initrd INITRD]
 *
 * Runs each VMM N times, alternating, so both see the same machine state.
 * Prints one line per VMM: median/min/max wall milliseconds and median
 * peak RSS (KiB, from wait4's rusage), plus the ratio.  Not a test: it
 * asserts nothing. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sample {
	double ms;
	long rss_kib;
	int status;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct sample run(char *const argv[])
{
	struct sample s = { 0 };
	struct rusage ru;
	double t0 = now_ms();
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	wait4(pid, &st, 0, &ru);
	s.ms = now_ms() - t0;
	s.rss_kib = ru.ru_maxrss;
	s.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return s;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_l(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, struct sample *s, int n, double *med);

static void compare(const char *what, char *const *b_argv, char *const *q_argv,
		    int n)
{
	struct sample bs[n], qs[n];
	double bm, qm;

	for (int i = 0; i < n; i++) {
		bs[i] = run(b_argv);
		qs[i] = run(q_argv);
	}
	printf("%s, %d runs each (process start to guest exit):\n", what, n);
	report("basalt", bs, n, &bm);
	report("qemu", qs, n, &qm);
	printf("ratio    qemu/basalt wall time %.2fx\n\n", qm / bm);
}

static void report(const char *name, struct sample *s, int n, double *med)
{
	double ms[n];
	long rss[n];

	for (int i = 0; i < n; i++) {
		ms[i] = s[i].ms;
		rss[i] = s[i].rss_kib;
	}
	qsort(ms, n, sizeof(ms[0]), cmp_d);
	qsort(rss, n, sizeof(rss[0]), cmp_l);
	*med = ms[n / 2];
	printf("%-8s median %8.1f ms   min %8.1f   max %8.1f   peak RSS %7ld KiB   exit %d\n",
	       name, ms[n / 2], ms[0], ms[n - 1], rss[n / 2], s[0].status);
}

int main(int argc, char **argv)
{
	const char *basalt = NULL, *qemu = "qemu-system-x86_64", *guest = NULL;
	const char *linux_k = NULL, *linux_i = NULL, *qemu_cpu = "host";
	int n = 11, c;
	static const struct option opts[] = {
		{ "basalt", required_argument, 0, 'b' },
		{ "qemu", required_argument, 0, 'q' },
		{ "guest", required_argument, 0, 'g' },
		{ "linux", required_argument, 0, 'l' },
		{ "initrd", required_argument, 0, 'i' },
		{ "qemu-cpu", required_argument, 0, 'c' },
		{ 0, 0, 0, 0 },
	};

	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': n = atoi(optarg); break;
		case 'b': basalt = optarg; break;
		case 'q': qemu = optarg; break;
		case 'g': guest = optarg; break;
		case 'l': linux_k = optarg; break;
		case 'i': linux_i = optarg; break;
		case 'c': qemu_cpu = optarg; break;
		default: return 2;
		}
	}
	if (!basalt || !guest || n < 1 || (linux_k && !linux_i)) {
		fprintf(stderr, "usage: boot [-n N] --basalt BIN [--qemu BIN] --guest ELF "
			"[--linux BZIMAGE --initrd INITRD] [--qemu-cpu MODEL]\n");
		return 2;
	}

	char *b_argv[] = { (char *)basalt, "run", "--kernel", (char *)guest,
			   "--memory", "128M", "--console", "none", NULL };
	char *q_argv[] = { (char *)qemu, "-M", "microvm,accel=kvm", "-cpu", (char *)qemu_cpu,
			   "-m", "128M", "-nodefaults", "-no-user-config",
			   "-display", "none", "-serial", "null", "-no-reboot",
			   "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
			   "-kernel", (char *)guest, NULL };
	char what[512];

	snprintf(what, sizeof(what), "test guest %s", guest);
	compare(what, b_argv, q_argv, n);
	if (linux_k) {
		char *cmdline = "console=ttyS0 quiet panic=-1 basalt.cmd=true";
		char *bl_argv[] = { (char *)basalt, "run", "--kernel", (char *)linux_k,
				    "--initrd", (char *)linux_i, "--memory", "256M",
				    "--console", "none", "--cmdline", cmdline, NULL };
		char *ql_argv[] = { (char *)qemu, "-M", "microvm,accel=kvm", "-cpu", (char *)qemu_cpu,
				    "-m", "256M", "-nodefaults", "-no-user-config",
				    "-display", "none", "-serial", "null", "-no-reboot",
				    "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
				    "-kernel", (char *)linux_k, "-initrd", (char *)linux_i,
				    "-append", cmdline, NULL };

		snprintf(what, sizeof(what), "Linux %s to its init's exit", linux_k);
		compare(what, bl_argv, ql_argv, n);
	}
	return 0;
}
