/* bench/net: virtio-net packet rates and round trips between the net_bench
 * test guest (ring 3, polling) and the host over a tap, under basalt and
 * under QEMU (virtio-net-pci on the same tap, vhost=off), the same guest
 * ELF booted through PVH with the same command line.  Runs in the network
 * namespace holding the tap (bench/run-net.sh sets it up): the tap has
 * HOST_IP and a static neighbour entry GUEST_IP -> GUEST_MAC, so nobody
 * ARPs.  For each workload, N runs of each VMM alternately, then the
 * medians side by side with the ratio:
 *   TX  the guest sends a fixed number of frames (UDP to a sink socket
 *       here, or TCP TSO frames the host kernel takes and drops); rate =
 *       what the tap counted between the guest's "start" and "done" lines;
 *   RX  a flood thread sends UDP to the guest as fast as the VMM reads the
 *       tap; rate = what the guest counted between its "first" and "done"
 *       lines, checked against what was sent;
 *   RTT UDP ping-pong through the guest's echo, median round trip.
 * Next to them, the VMM's CPU time per packet (or round trip) in the same
 * interval, its vCPU thread left out: the guest spins on its rings, and on
 * a shared host the rates follow the scheduler as much as the VMM, which
 * this number does not.  Below the table, each median run's counts as the guest and the host saw
 * them; anything lost is named there.  Not a test: it asserts nothing.
 *
 *   net [-n N] --basalt BIN --qemu BIN --guest net_bench.elf --tap TAP
 *       [--qemu-cpu MODEL] [--seconds S] [--rounds R] [--scale X] [--only SUBSTRING]
 *       [--no-pin]
 * --seconds: of each RX flood (2); --rounds: measured round trips (20000, after
 * 10% more to warm up); --scale: multiplies the TX frame counts (which last
 * about 2 s here); --only: the workloads whose name contains SUBSTRING.
 * Unless --no-pin (or on one CPU), the VMM's vCPU thread gets the last CPU
 * to itself from the guest's "ready" line on, and its other threads share
 * the rest with this program's host side.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <sched.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net_peer.h"

#define GUEST_IP "10.78.0.2"
#define HOST_IP "10.78.0.1"
#define GUEST_MAC "52:54:00:78:00:02"
/* The guest stops counting at a datagram to port + 1 and exits at one to
 * port + 2 (net_bench.c). */
#define PORT_TX 9000
#define PORT_RX 9010
#define PORT_ECHO 9020
#define UDP_OVERHEAD 42		/* Ethernet + IPv4 + UDP headers */
#define RUN_TIMEOUT 120

enum kind { TX, RX, RTT };

struct workload {
	const char *name, *unit;
	enum kind kind;
	bool tcp;
	unsigned frame;		/* Ethernet frame bytes (no FCS) */
	uint64_t count;		/* TX: frames */
	bool bits;		/* Mbit/s of frames, else kilo-frames/s */
};

/* 65214 = Ethernet + IPv4 + TCP headers + 45 segments of 1448 bytes. */
static const struct workload loads[] = {
	{ "TX UDP 60B", "kpps", TX, false, 60, 600000, false },
	{ "TX UDP 1514B", "Mbit/s", TX, false, 1514, 500000, true },
	{ "TX TCP TSO 64K", "Mbit/s", TX, true, 65214, 150000, true },
	{ "RX UDP 60B", "kpps", RX, false, 60, 0, false },
	{ "RX UDP 1514B", "Mbit/s", RX, false, 1514, 0, true },
	{ "RTT UDP 60B", "us", RTT, false, 60, 0, false },
};

struct cfg {
	const char *basalt, *qemu, *guest, *tap, *qcpu, *only;
	char hostmac[32];
	double seconds, scale;
	unsigned rounds;
	bool pin;
	cpu_set_t vcpu_cpus, other_cpus;	/* --pin: the last CPU, the others */
};

/* One run of one VMM. */
struct run {
	bool ok;
	char why[256];
	double secs, value;
	uint64_t g_pkts, g_bytes, g_other, g_notif;	/* the guest's "done" line */
	int64_t tap_pkts, tap_bytes, tap_drop;	/* TX: tap rx_*; RX: tap tx_* (read by the VMM) */
	int64_t tap_back, tap_back_drop;	/* TX: tap tx_packets, tx_dropped (to the guest) */
	uint64_t peer_pkts, peer_bytes;		/* sink got / flood sent / pings answered */
	uint64_t lost, send_errors;
	int64_t rcvbuf_err, tcp_in, tcp_rst;
	double p99;
	double cpu_us;		/* VMM CPU per packet / round trip, vCPU threads left out */
	double sleeps;		/* ... and its sleeps (voluntary context switches) */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t field(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

struct counters {
	int64_t rx_p, rx_b, rx_d, tx_p, tx_b, tx_d, rcvbuf, tcp_in, tcp_rst;
};

static void read_counters(const char *tap, struct counters *c)
{
	c->rx_p = tap_stat(tap, "rx_packets");
	c->rx_b = tap_stat(tap, "rx_bytes");
	c->rx_d = tap_stat(tap, "rx_dropped");
	c->tx_p = tap_stat(tap, "tx_packets");
	c->tx_b = tap_stat(tap, "tx_bytes");
	c->tx_d = tap_stat(tap, "tx_dropped");
	c->rcvbuf = snmp_stat("Udp", "RcvbufErrors");
	c->tcp_in = snmp_stat("Tcp", "InSegs");
	c->tcp_rst = snmp_stat("Tcp", "OutRsts");
}

/* basalt names its vCPU threads "vcpuN", QEMU with debug-threads=on "CPU N/KVM". */
static bool is_vcpu(const char *comm)
{
	return !strncmp(comm, "vcpu", 4) || !strncmp(comm, "CPU ", 4);
}

static void thread_comm(pid_t pid, const char *tid, char *comm, size_t n)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%.16s/comm", (int)pid, tid);
	comm[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(comm, (int)n, f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
}

/* --pin: the VMM's vCPU threads on a CPU of their own (the guest spins on
 * it), its other threads with this process (the host side) on the rest,
 * the same for both VMMs rather than wherever the scheduler puts them. */
static void pin_vmm(const struct cfg *c, pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char comm[64];

		if (de->d_name[0] == '.')
			continue;
		thread_comm(pid, de->d_name, comm, sizeof(comm));
		sched_setaffinity(atoi(de->d_name), sizeof(cpu_set_t),
				  is_vcpu(comm) ? &c->vcpu_cpus : &c->other_cpus);
	}
	closedir(d);
}

/* Voluntary context switches (sleeps) of one thread, 0 if unreadable. */
static long long sleeps(pid_t pid, const char *tid)
{
	char path[96], line[128];
	long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%.16s/status", (int)pid, tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Nanoseconds on a CPU of one thread (schedstat), -1 if unreadable. */
static long long thread_ns(pid_t pid, const char *tid)
{
	char path[96];
	long long ns = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &ns) != 1)
		ns = -1;
	fclose(f);
	return ns;
}

/* The VMM's threads but its vCPUs (basalt names them "vcpuN", QEMU with
 * debug-threads=on "CPU N/KVM"): what the device model and the host I/O
 * it does cost, which the guest's spinning vCPU does not hide.  Threads
 * that end between two samples are not counted (neither VMM starts any
 * while the guest runs here). */
struct vmm_sample {
	double cpu_us;		/* -1: unreadable */
	long long sleeps;	/* voluntary context switches */
};

static struct vmm_sample sample_vmm(pid_t pid)
{
	struct vmm_sample v = { -1, 0 };
	char path[64];
	struct dirent *de;
	long long sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return v;
	while ((de = readdir(d))) {
		char comm[64];
		long long ns;

		if (de->d_name[0] == '.')
			continue;
		thread_comm(pid, de->d_name, comm, sizeof(comm));
		if (is_vcpu(comm) || (ns = thread_ns(pid, de->d_name)) < 0)
			continue;
		sum += ns;
		v.sleeps += sleeps(pid, de->d_name);
	}
	closedir(d);
	v.cpu_us = sum / 1e3;
	return v;
}

/* Lets the lingering guest exit: a datagram to port + 2. */
static void release_guest(const struct net_peer *p)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = p->guest,
				  .sin_port = htons((uint16_t)(p->port + 2)) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;		/* the guest exits by itself a little later */
	sendto(fd, "exit", 4, 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
}

static pid_t spawn(char *const argv[], int *out_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	*out_fd = p[0];
	return pid;
}

/* Keeps the last line for error messages. */
static void keep_line(char *tail, size_t n, const char *line)
{
	size_t k = strlen(line) < n - 1 ? strlen(line) : n - 1;

	memcpy(tail, line, k);
	tail[k] = '\0';
}

/* Reads the VMM's console line by line, timing the guest's lines and
 * starting the peer at "ready", until the VMM exits; then its exit
 * status (-1 if it had to be killed). */
static int watch(const struct cfg *c, const struct workload *w, pid_t pid, int fd,
		 struct net_peer *peer, struct run *r, char *tail, size_t tail_len)
{
	double t0 = -1, deadline = now_s() + RUN_TIMEOUT;
	struct vmm_sample s0 = { -1, 0 };
	char buf[8192];
	size_t have = 0;
	int status;
	bool killed = false;

	tail[0] = '\0';
	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int left = (int)((deadline - now_s()) * 1000);
		ssize_t n;
		char *nl;

		if (left <= 0 || poll(&pf, 1, left) <= 0) {
			snprintf(r->why, sizeof(r->why), "no end after %d s", RUN_TIMEOUT);
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			double t = now_s();

			*nl = '\0';
			keep_line(tail, tail_len, buf);
			if (strstr(buf, "net_bench: ready") && c->pin)
				pin_vmm(c, pid);
			if (strstr(buf, "net_bench: ready") && w->kind != TX && !peer->running &&
			    net_peer_start(peer))
				snprintf(r->why, sizeof(r->why), "host peer: %s", peer->err);
			if (strstr(buf, "net_bench: start") || strstr(buf, "net_bench: first")) {
				t0 = t;
				s0 = sample_vmm(pid);
			}
			if (strstr(buf, "net_bench: ready") && w->kind == RTT)
				s0 = sample_vmm(pid);
			if (strstr(buf, "net_bench: FAIL"))
				snprintf(r->why, sizeof(r->why), "%s", strstr(buf, "net_bench"));
			if (strstr(buf, "net_bench: done")) {
				/* The guest lingers until released: its
				 * vCPU thread is still there to leave out. */
				struct vmm_sample s1 = sample_vmm(pid);

				atomic_store(&peer->guest_done, true);
				release_guest(peer);
				r->cpu_us = s0.cpu_us >= 0 && s1.cpu_us >= 0 ? s1.cpu_us - s0.cpu_us : -1;
				r->sleeps = (double)(s1.sleeps - s0.sleeps);
				r->secs = t0 > 0 ? t - t0 : -1;
				r->g_pkts = field(buf, "packets=");
				r->g_bytes = field(buf, "bytes=");
				r->g_other = field(buf, "rx_other=");
				r->g_notif = field(buf, "notifications=");
				r->ok = !r->why[0] && (w->kind == RTT || r->secs > 0);
			}
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		if (have == sizeof(buf) - 1)
			have = 0;
	}
	close(fd);
	waitpid(pid, &status, 0);
	return killed || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

static void run_one(const struct cfg *c, const struct workload *w, bool qemu, struct run *r)
{
	char cmdline[512], net[256], netdev[256], dev[256], tail[256];
	struct net_peer peer = { 0 };
	struct counters b, a;
	int fd, st, want;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	inet_pton(AF_INET, HOST_IP, &peer.host);
	inet_pton(AF_INET, GUEST_IP, &peer.guest);
	peer.tap = c->tap;
	peer.payload = w->frame - UDP_OVERHEAD;
	switch (w->kind) {
	case TX:
		snprintf(cmdline, sizeof(cmdline), "mode=tx proto=%s frame=%u count=%llu "
			 "ip=" GUEST_IP " host=" HOST_IP " hostmac=%s port=%u",
			 w->tcp ? "tcp" : "udp", w->frame,
			 (unsigned long long)(w->count * c->scale + 0.5),
			 c->hostmac, PORT_TX);
		peer.kind = PEER_SINK;
		peer.port = PORT_TX;
		break;
	case RX:
		snprintf(cmdline, sizeof(cmdline), "mode=rx ip=" GUEST_IP " host=" HOST_IP
			 " port=%u", PORT_RX);
		peer.kind = PEER_FLOOD;
		peer.port = PORT_RX;
		peer.seconds = c->seconds;
		peer.window = 256;
		break;
	case RTT:
		snprintf(cmdline, sizeof(cmdline), "mode=echo ip=" GUEST_IP " host=" HOST_IP
			 " port=%u", PORT_ECHO);
		peer.kind = PEER_PING;
		peer.port = PORT_ECHO;
		peer.rounds = c->rounds;
		break;
	}
	snprintf(net, sizeof(net), "tap=%s,mac=" GUEST_MAC, c->tap);
	snprintf(netdev, sizeof(netdev), "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=off",
		 c->tap);
	snprintf(dev, sizeof(dev), "virtio-net-pci,netdev=n0,disable-legacy=on,romfile=,"
		 "mac=" GUEST_MAC);
	char *b_argv[] = { (char *)c->basalt, "run", "--kernel", (char *)c->guest,
			   "--memory", "128M", "--console", "stdio", "--net", net,
			   "--cmdline", cmdline, NULL };
	char *q_argv[] = { (char *)c->qemu, "-M", "q35", "-accel", "kvm", "-cpu", (char *)c->qcpu,
			   "-m", "128M", "-smp", "1", "-nodefaults", "-no-user-config",
			   "-name", "net-bench,debug-threads=on",
			   "-display", "none", "-serial", "stdio", "-no-reboot",
			   "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
			   "-kernel", (char *)c->guest, "-append", cmdline,
			   "-netdev", netdev, "-device", dev, NULL };

	read_counters(c->tap, &b);
	/* The sink listens before the guest sends its first frame. */
	if (w->kind == TX && net_peer_start(&peer)) {
		snprintf(r->why, sizeof(r->why), "sink: %s", peer.err);
		return;
	}
	pid = spawn(qemu ? q_argv : b_argv, &fd);
	if (pid < 0) {
		snprintf(r->why, sizeof(r->why), "cannot start %s", qemu ? c->qemu : c->basalt);
		net_peer_stop(&peer);
		return;
	}
	st = watch(c, w, pid, fd, &peer, r, tail, sizeof(tail));
	net_peer_stop(&peer);
	read_counters(c->tap, &a);
	want = qemu ? 1 : 0;	/* isa-debug-exit: (0 << 1) | 1 */
	if (!r->why[0] && peer.err[0])
		snprintf(r->why, sizeof(r->why), "host peer: %s", peer.err);
	if (!r->why[0] && st != want)
		snprintf(r->why, sizeof(r->why), "exit status %d, expected %d; last line: %s", st,
			 want, tail);
	if (!r->why[0] && !r->ok)
		snprintf(r->why, sizeof(r->why), "no result; last line: %s", tail);
	if (r->why[0])
		r->ok = false;
	r->peer_pkts = peer.packets;
	r->peer_bytes = peer.bytes;
	r->lost = peer.lost;
	r->send_errors = peer.send_errors;
	r->rcvbuf_err = a.rcvbuf - b.rcvbuf;
	r->tcp_in = a.tcp_in - b.tcp_in;
	r->tcp_rst = a.tcp_rst - b.tcp_rst;
	if (w->kind == TX) {
		r->tap_pkts = a.rx_p - b.rx_p;
		r->tap_bytes = a.rx_b - b.rx_b;
		r->tap_drop = a.rx_d - b.rx_d;
		r->tap_back = a.tx_p - b.tx_p;
		r->tap_back_drop = a.tx_d - b.tx_d;
		if (r->ok)
			r->value = w->bits ? r->tap_bytes * 8 / r->secs / 1e6 :
					     r->tap_pkts / r->secs / 1e3;
	} else {
		r->tap_pkts = a.tx_p - b.tx_p;
		r->tap_bytes = a.tx_b - b.tx_b;
		r->tap_drop = a.tx_d - b.tx_d;
	}
	if (r->cpu_us >= 0) {
		uint64_t per = w->kind == TX ? (uint64_t)r->tap_pkts :
			       w->kind == RX ? r->g_pkts : r->peer_pkts;

		r->cpu_us = per ? r->cpu_us / (double)per : -1;
		r->sleeps = per ? r->sleeps / (double)per : -1;
	}
	if (w->kind == RX && r->ok)
		r->value = w->bits ? r->g_bytes * 8 / r->secs / 1e6 : r->g_pkts / r->secs / 1e3;
	if (w->kind == RTT && r->ok) {
		if (!peer.n_rtt) {
			r->ok = false;
			snprintf(r->why, sizeof(r->why), "no round trip completed");
		} else {
			r->value = peer.rtt_us[peer.n_rtt / 2];
			r->p99 = peer.rtt_us[(size_t)(peer.n_rtt * 0.99)];
		}
	}
	net_peer_free(&peer);
}

static int cmp_run(const void *x, const void *y)
{
	const struct run *a = x, *b = y;

	if (a->ok != b->ok)
		return a->ok ? -1 : 1;
	return a->value < b->value ? -1 : a->value > b->value;
}

/* The median of the successful runs (sorted first), NULL if none. */
static const struct run *median(struct run *v, int n)
{
	int ok = 0;

	qsort(v, (size_t)n, sizeof(*v), cmp_run);
	while (ok < n && v[ok].ok)
		ok++;
	return ok ? &v[ok / 2] : NULL;
}

/* The median VMM CPU per packet of the successful runs, -1 if none. */
static double median_cpu(const struct run *v, int n)
{
	double c[n];
	int k = 0;

	for (int i = 0; i < n; i++)
		if (v[i].ok && v[i].cpu_us >= 0)
			c[k++] = v[i].cpu_us;
	for (int i = 1; i < k; i++)		/* insertion sort: n is small */
		for (int j = i; j > 0 && c[j - 1] > c[j]; j--) {
			double t = c[j];

			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	return k ? c[k / 2] : -1;
}

/* What the guest and the host counted in run r; mismatches spelled out. */
static void describe(const struct workload *w, const char *vmm, const struct run *r, int failed)
{
	char fails[64] = "";

	if (failed)
		snprintf(fails, sizeof(fails), " [%d run(s) failed]", failed);
	printf("  %-15s %-7s ", w->name, vmm);
	if (!r) {
		printf("no successful run%s\n", fails);
		return;
	}
	switch (w->kind) {
	case TX:
		printf("%.2f s: guest sent %llu frames, tap got %lld (%lld dropped)", r->secs,
		       (unsigned long long)r->g_pkts, (long long)r->tap_pkts,
		       (long long)r->tap_drop);
		if (w->tcp)
			printf(", host TCP took %lld segments, answered %lld", (long long)r->tcp_in,
			       (long long)r->tcp_rst);
		else
			printf(", sink socket got %llu (%lld dropped at the socket)",
			       (unsigned long long)r->peer_pkts, (long long)r->rcvbuf_err);
		printf(", %llu notifications", (unsigned long long)r->g_notif);
		if (r->tap_pkts != (int64_t)r->g_pkts)
			printf(" MISMATCH: tap %+lld", (long long)(r->tap_pkts - (int64_t)r->g_pkts));
		break;
	case RX:
		printf("%.2f s: flood sent %llu, VMM read %lld from the tap (%lld dropped there), "
		       "guest got %llu", r->secs, (unsigned long long)r->peer_pkts,
		       (long long)r->tap_pkts, (long long)r->tap_drop,
		       (unsigned long long)r->g_pkts);
		if (r->g_pkts != r->peer_pkts)
			printf(" MISMATCH: %lld lost", (long long)(r->peer_pkts - r->g_pkts));
		break;
	case RTT:
		printf("%llu round trips answered, %llu lost, guest echoed %llu, p99 %.1f us",
		       (unsigned long long)r->peer_pkts, (unsigned long long)r->lost,
		       (unsigned long long)r->g_pkts, r->p99);
		break;
	}
	if (r->cpu_us >= 0)
		printf("; VMM per %s: %.2f us CPU, %.2f sleeps", w->kind == RTT ? "round trip" :
		       "packet", r->cpu_us, r->sleeps);
	printf("%s\n", fails);
}

int main(int argc, char **argv)
{
	struct cfg c = { .qemu = "qemu-system-x86_64", .qcpu = "host", .seconds = 2,
			 .scale = 1, .rounds = 20000,
			 .pin = true };
	int n = 5, opt;
	FILE *f;
	static const struct option opts[] = {
		{ "basalt", required_argument, 0, 'b' }, { "qemu", required_argument, 0, 'q' },
		{ "guest", required_argument, 0, 'g' }, { "tap", required_argument, 0, 't' },
		{ "qemu-cpu", required_argument, 0, 'c' }, { "seconds", required_argument, 0, 's' },
		{ "rounds", required_argument, 0, 'r' }, { "only", required_argument, 0, 'o' },
		{ "scale", required_argument, 0, 'x' }, { "no-pin", no_argument, 0, 'p' },
		{ 0, 0, 0, 0 },
	};

	while ((opt = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'b': c.basalt = optarg; break;
		case 'q': c.qemu = optarg; break;
		case 'g': c.guest = optarg; break;
		case 't': c.tap = optarg; break;
		case 'c': c.qcpu = optarg; break;
		case 's': c.seconds = atof(optarg); break;
		case 'r': c.rounds = (unsigned)atoi(optarg); break;
		case 'o': c.only = optarg; break;
		case 'x': c.scale = atof(optarg); break;
		case 'p': c.pin = false; break;
		default: return 2;
		}
	}
	if (!c.basalt || !c.guest || !c.tap || n < 1 || n > 99 || c.seconds <= 0 || !c.rounds ||
	    c.scale <= 0 || c.scale > 1000) {
		fprintf(stderr, "usage: net [-n N] --basalt BIN --qemu BIN --guest net_bench.elf "
			"--tap TAP [--qemu-cpu MODEL] [--seconds S] [--rounds R] [--scale X] "
			"[--only STR] [--no-pin]\n");
		return 2;
	}
	{
		char path[256];

		snprintf(path, sizeof(path), "/sys/class/net/%s/address", c.tap);
		f = fopen(path, "r");
		if (!f || !fgets(c.hostmac, sizeof(c.hostmac), f)) {
			fprintf(stderr, "net: no tap %s in this network namespace\n", c.tap);
			if (f)
				fclose(f);
			return 2;
		}
		fclose(f);
		c.hostmac[strcspn(c.hostmac, "\n")] = '\0';
	}
	signal(SIGPIPE, SIG_IGN);
	{
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		CPU_ZERO(&c.vcpu_cpus);
		CPU_ZERO(&c.other_cpus);
		if (ncpu < 2)
			c.pin = false;
		for (long i = 0; c.pin && i < ncpu; i++)
			CPU_SET(i, i == ncpu - 1 ? &c.vcpu_cpus : &c.other_cpus);
		/* The peer threads inherit this. */
		if (c.pin && sched_setaffinity(0, sizeof(cpu_set_t), &c.other_cpus))
			c.pin = false;
	}
	{
		size_t nl = sizeof(loads) / sizeof(loads[0]);
		struct run (*res)[2][n] = calloc(nl, sizeof(*res));
		const struct run *med[nl][2];
		int failed[nl][2];
		bool ran[nl];

		if (!res) {
			fprintf(stderr, "net: out of memory\n");
			return 1;
		}
		for (size_t k = 0; k < nl; k++) {
			const struct workload *w = &loads[k];

			ran[k] = !c.only || strstr(w->name, c.only);
			if (!ran[k])
				continue;
			fprintf(stderr, "net: %s ...\n", w->name);
			for (int v = 0; v < 2; v++)
				failed[k][v] = 0;
			for (int i = 0; i < n; i++) {
				for (int v = 0; v < 2; v++) {
					struct run *r = &res[k][v][i];

					run_one(&c, w, v == 1, r);
					if (!r->ok) {
						fprintf(stderr, "net: %s %s run %d: %s\n", w->name,
							v ? "QEMU" : "basalt", i + 1, r->why);
						failed[k][v]++;
					}
				}
			}
			for (int v = 0; v < 2; v++)
				med[k][v] = median(res[k][v], n);
		}
		printf("virtio-net over a tap: test guest %s (ring 3, polling) under basalt and\n"
		       "QEMU (virtio-net-pci, tap, vhost=off), median of %d runs each.  TX rates are\n"
		       "the tap's counts, RX rates what the guest received; RTT: lower is better.\n"
		       "CPU/pkt: host CPU time of the VMM's threads other than the vCPU (which\n"
		       "spins) per packet or round trip, in us: lower is better.\n\n",
		       c.guest, n);
		printf("%-16s %-7s %9s %9s %12s  %-17s\n", "workload", "unit", "basalt", "QEMU",
		       "basalt/QEMU", "CPU/pkt b  QEMU");
		for (size_t k = 0; k < nl; k++) {
			const struct run *bm = med[k][0], *qm = med[k][1];

			if (ran[k])
				printf("%-16s %-7s %9.1f %9.1f %11.2fx  %7.2f %7.2f\n", loads[k].name,
				       loads[k].unit, bm ? bm->value : 0, qm ? qm->value : 0,
				       bm && qm && qm->value > 0 ? bm->value / qm->value : 0,
				       median_cpu(res[k][0], n), median_cpu(res[k][1], n));
		}
		printf("\nCounts of the median runs (guest's and host's view):\n");
		for (size_t k = 0; k < nl; k++) {
			if (!ran[k])
				continue;
			describe(&loads[k], "basalt", med[k][0], failed[k][0]);
			describe(&loads[k], "QEMU", med[k][1], failed[k][1]);
		}
		free(res);
	}
	return 0;
}
