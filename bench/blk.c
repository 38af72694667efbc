/* bench/blk: virtio-blk throughput of the blk_bench test guest (ring 3,
 * polling, up to qd requests in flight) on the same image under basalt
 * and under QEMU (virtio-blk-pci, aio=io_uring, writeback cache, same guest
 * ELF booted through PVH), with host fio (io_uring, same file, same block
 * size and depth) as the ceiling.  For each workload: the median of N
 * runs of the guest's own start..done interval (timed here as its serial
 * lines arrive), ops/s and MiB/s side by side, with ratios.  Not a test:
 * it asserts nothing.
 *
 *   blk [-n N] --basalt BIN --qemu BIN --guest blk_bench.elf --image FILE
 *       [--qemu-cpu MODEL] [--fio BIN]
 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct workload {
	const char *name, *rw, *pattern;
	unsigned bs, qd, ops;
	const char *fio_rw;
};

static const struct workload loads[] = {
	{ "4k randread qd1", "read", "rand", 4096, 1, 20000, "randread" },
	{ "4k randread qd16", "read", "rand", 4096, 16, 100000, "randread" },
	{ "4k randwrite qd16", "write", "rand", 4096, 16, 100000, "randwrite" },
	{ "1M seqread qd4", "read", "seq", 1 << 20, 4, 1024, "read" },
	{ "1M seqwrite qd4", "write", "seq", 1 << 20, 4, 1024, "write" },
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs argv with stdout on a pipe; returns the seconds between the lines
 * "blk_bench: start" and "blk_bench: done ... errors=0", or -1. */
static double run_guest(char *const argv[])
{
	int p[2];
	pid_t pid;
	char buf[8192];
	size_t have = 0;
	double t_start = -1, t_done = -1;
	bool errors = false;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[1], 1);
		dup2(null, 2);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		ssize_t n;
		char *nl;

		if (poll(&pf, 1, 120000) <= 0)
			break;
		n = read(p[0], buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (strstr(buf, "blk_bench: start"))
				t_start = now_s();
			if (strstr(buf, "blk_bench: done")) {
				t_done = now_s();
				errors = !strstr(buf, "errors=0");
			}
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		if (have == sizeof(buf) - 1)
			have = 0;
	}
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return t_start >= 0 && t_done >= t_start && !errors ? t_done - t_start : -1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(v[0]), cmp_d);
	return v[n / 2];
}

/* Host ceiling: fio's IOPS for the same access (terse output v3: read
 * IOPS is field 8, write IOPS field 49). */
static double fio_iops(const char *fio, const char *image, const struct workload *w)
{
	char cmd[1024], line[8192];
	FILE *f;
	double iops = -1;

	snprintf(cmd, sizeof(cmd), "%s --name=b --filename=%s --ioengine=io_uring "
		 "--rw=%s --bs=%u --iodepth=%u --runtime=3 --time_based --invalidate=0 "
		 "--output-format=terse --terse-version=3 2>/dev/null", fio, image,
		 w->fio_rw, w->bs, w->qd);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f)) {
		char *tok = strtok(line, ";");
		int field = 1, want = !strcmp(w->rw, "read") ? 8 : 49;

		while (tok && field < want) {
			tok = strtok(NULL, ";");
			field++;
		}
		if (tok)
			iops = atof(tok);
	}
	pclose(f);
	return iops;
}

int main(int argc, char **argv)
{
	const char *basalt = NULL, *qemu = "qemu-system-x86_64", *guest = NULL;
	const char *image = NULL, *qcpu = "host", *fio = NULL;
	int n = 5, c;
	static const struct option opts[] = {
		{ "basalt", required_argument, 0, 'b' }, { "qemu", required_argument, 0, 'q' },
		{ "guest", required_argument, 0, 'g' }, { "image", required_argument, 0, 'i' },
		{ "qemu-cpu", required_argument, 0, 'c' }, { "fio", required_argument, 0, 'f' },
		{ 0, 0, 0, 0 },
	};

	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': n = atoi(optarg); break;
		case 'b': basalt = optarg; break;
		case 'q': qemu = optarg; break;
		case 'g': guest = optarg; break;
		case 'i': image = optarg; break;
		case 'c': qcpu = optarg; break;
		case 'f': fio = optarg; break;
		default: return 2;
		}
	}
	if (!basalt || !guest || !image || n < 1) {
		fprintf(stderr, "usage: blk [-n N] --basalt BIN --qemu BIN --guest ELF "
			"--image FILE [--qemu-cpu MODEL] [--fio BIN]\n");
		return 2;
	}
	printf("virtio-blk, test guest %s (ring 3, polling), image %s, median of %d runs\n"
	       "(op/s of 1M requests = MiB/s)\n", guest, image, n);
	printf("%-18s %12s %12s %12s %9s %9s\n", "workload", "basalt op/s", "qemu op/s",
	       "host fio", "b/qemu", "b/host");
	for (size_t k = 0; k < sizeof(loads) / sizeof(loads[0]); k++) {
		const struct workload *w = &loads[k];
		char cmdline[256], disk[1024], drive[1024];
		double bt[n], qt[n], b, q, h = fio ? fio_iops(fio, image, w) : -1;

		snprintf(cmdline, sizeof(cmdline), "rw=%s pattern=%s bs=%u qd=%u ops=%u",
			 w->rw, w->pattern, w->bs, w->qd, w->ops);
		snprintf(disk, sizeof(disk), "path=%s", image);
		snprintf(drive, sizeof(drive), "file=%s,if=none,id=d0,format=raw,"
			 "aio=io_uring,cache=writeback", image);
		char *b_argv[] = { (char *)basalt, "run", "--kernel", (char *)guest,
				   "--memory", "256M", "--console", "stdio", "--disk", disk,
				   "--cmdline", cmdline, NULL };
		char *q_argv[] = { (char *)qemu, "-M", "q35,accel=kvm", "-cpu", (char *)qcpu,
				   "-m", "256M", "-smp", "1", "-nodefaults", "-no-user-config",
				   "-display", "none", "-serial", "stdio", "-no-reboot",
				   "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
				   "-kernel", (char *)guest, "-append", cmdline,
				   "-drive", drive,
				   "-device", "virtio-blk-pci,drive=d0,disable-legacy=on", NULL };

		for (int i = 0; i < n; i++) {
			bt[i] = run_guest(b_argv);
			qt[i] = run_guest(q_argv);
		}
		b = median(bt, n) > 0 ? w->ops / median(bt, n) : -1;
		q = median(qt, n) > 0 ? w->ops / median(qt, n) : -1;
		printf("%-18s %12.0f %12.0f %12.0f %8.2fx %8.2fx\n", w->name, b, q, h,
		       q > 0 ? b / q : 0, h > 0 ? b / h : 0);
	}
	return 0;
}
