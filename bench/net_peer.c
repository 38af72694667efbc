/* Host side of bench/net (see net_peer.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "net_peer.h"

#define BATCH 64
#define PAYLOAD_MAX 65507

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	nanosleep(&ts, NULL);
}

static int64_t read_counter(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

static int open_stat(const char *tap, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", tap, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int64_t tap_stat(const char *tap, const char *name)
{
	int fd = open_stat(tap, name);
	int64_t v;

	if (fd < 0)
		return -1;
	v = read_counter(fd);
	close(fd);
	return v;
}

int64_t snmp_stat(const char *proto, const char *field)
{
	char names[2048], values[2048], want[32];
	FILE *f = fopen("/proc/net/snmp", "r");
	int64_t v = -1;

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%s:", proto);
	while (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		char *sn, *sv, *n, *val;

		if (strncmp(names, want, strlen(want)))
			continue;
		n = strtok_r(names, " \n", &sn);
		val = strtok_r(values, " \n", &sv);
		while (n && val) {
			if (!strcmp(n, field)) {
				v = strtoll(val, NULL, 10);
				break;
			}
			n = strtok_r(NULL, " \n", &sn);
			val = strtok_r(NULL, " \n", &sv);
		}
		break;
	}
	fclose(f);
	return v;
}

/* Empties the socket every millisecond instead of sleeping on it: the
 * VMM thread writing to the tap delivers each datagram to this socket
 * itself, and waking a sleeping reader per datagram would cost it (and the
 * two shared cores) more than the datagram. */
static void *sink(struct net_peer *p, int fd)
{
	static char bufs[BATCH][2048];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	double idle_since = 0;

	for (unsigned i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	for (;;) {
		int n = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);

		if (n > 0) {
			p->packets += (uint64_t)n;
			for (int i = 0; i < n; i++)
				p->bytes += m[i].msg_len;
			idle_since = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(p->err, sizeof(p->err), "sink: recvmmsg: %s", strerror(errno));
			break;
		}
		/* Empty.  After stop, 50 ms of quiet means drained. */
		if (atomic_load(&p->stop)) {
			if (!idle_since)
				idle_since = now_s();
			else if (now_s() - idle_since > 0.05)
				break;
		}
		sleep_us(1000);
	}
	return NULL;
}

/* Sends stop datagrams to port + 1 every 5 ms until the guest is done or
 * 10 s went by. */
static void send_stop(struct net_peer *p, int fd)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = p->guest,
				  .sin_port = htons((uint16_t)(p->port + 1)) };
	double end = now_s() + 10;

	while (!atomic_load(&p->guest_done) && !atomic_load(&p->stop) && now_s() < end) {
		sendto(fd, "stop", 4, 0, (struct sockaddr *)&to, sizeof(to));
		sleep_us(5000);
	}
}

/* Sends as fast as the VMM reads from the tap, with at most window
 * datagrams queued on it (sent, not yet read or dropped), so that neither
 * the tap's queue overflows nor this thread burns a shared core on
 * datagrams that would only be dropped. */
static void *flood(struct net_peer *p, int fd)
{
	static char payload[PAYLOAD_MAX];
	struct mmsghdr m[BATCH];
	struct iovec iov = { payload, p->payload };
	int f_read = open_stat(p->tap, "tx_packets"), f_drop = open_stat(p->tap, "tx_dropped");
	int64_t base, last_taken = 0;
	double end, last_progress;

	if (f_read < 0 || f_drop < 0) {
		snprintf(p->err, sizeof(p->err), "flood: statistics of tap %s: %s", p->tap,
			 strerror(errno));
		goto out;
	}
	prctl(PR_SET_TIMERSLACK, 1000UL);	/* the 20 us naps below: 1 us slack */
	memset(payload, 0x5a, sizeof(payload));
	for (unsigned i = 0; i < BATCH; i++)
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	base = read_counter(f_read) + read_counter(f_drop);
	end = now_s() + p->seconds;
	last_progress = now_s();
	while (!atomic_load(&p->stop) && now_s() < end) {
		int64_t taken = read_counter(f_read) + read_counter(f_drop) - base;
		int64_t room = (int64_t)p->window - ((int64_t)p->packets - taken);
		int n;

		if (taken != last_taken) {
			last_taken = taken;
			last_progress = now_s();
		} else if (now_s() - last_progress > 0.5) {
			/* Datagrams lost before the tap (none expected): do
			 * not wait for them forever. */
			base -= (int64_t)p->packets - taken;
			last_progress = now_s();
			continue;
		}
		if (room <= 0) {
			sleep_us(20);
			continue;
		}
		n = sendmmsg(fd, m, room < BATCH ? (unsigned)room : BATCH, 0);
		if (n < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				snprintf(p->err, sizeof(p->err), "flood: sendmmsg: %s",
					 strerror(errno));
				break;
			}
			p->send_errors++;
			sleep_us(20);
			continue;
		}
		p->packets += (uint64_t)n;
		p->bytes += (uint64_t)n * p->payload;
	}
	send_stop(p, fd);
out:
	if (f_read >= 0)
		close(f_read);
	if (f_drop >= 0)
		close(f_drop);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One datagram at a time; each answer must carry the round's number. */
static void *ping(struct net_peer *p, int fd)
{
	static char out[PAYLOAD_MAX], in[PAYLOAD_MAX];
	unsigned warm = p->rounds / 10, total = warm + p->rounds;

	p->rtt_us = calloc(p->rounds ? p->rounds : 1, sizeof(double));
	if (!p->rtt_us) {
		snprintf(p->err, sizeof(p->err), "ping: out of memory");
		return NULL;
	}
	memset(out, 0x3c, sizeof(out));
	for (uint32_t i = 0; i < total && !atomic_load(&p->stop); i++) {
		double t0 = now_s();

		memcpy(out, &i, sizeof(i));
		if (send(fd, out, p->payload, 0) < 0) {
			snprintf(p->err, sizeof(p->err), "ping: send: %s", strerror(errno));
			break;
		}
		for (;;) {
			ssize_t n = recv(fd, in, sizeof(in), 0);
			uint32_t seq;

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				p->lost++;	/* timed out (or ICMP error): next round */
				break;
			}
			if ((size_t)n < sizeof(seq))
				continue;
			memcpy(&seq, in, sizeof(seq));
			if (seq != i)
				continue;	/* a late answer of a lost round */
			p->packets++;
			if (i >= warm)
				p->rtt_us[p->n_rtt++] = (now_s() - t0) * 1e6;
			break;
		}
	}
	qsort(p->rtt_us, p->n_rtt, sizeof(double), cmp_d);
	send_stop(p, fd);
	return NULL;
}

struct start_arg {
	struct net_peer *p;
	int fd;
};

static void *peer_main(void *arg)
{
	struct start_arg a = *(struct start_arg *)arg;

	free(arg);
	switch (a.p->kind) {
	case PEER_SINK: sink(a.p, a.fd); break;
	case PEER_FLOOD: flood(a.p, a.fd); break;
	case PEER_PING: ping(a.p, a.fd); break;
	}
	close(a.fd);
	return NULL;
}

int net_peer_start(struct net_peer *p)
{
	struct sockaddr_in host = { .sin_family = AF_INET, .sin_addr = p->host,
				    .sin_port = htons(p->kind == PEER_SINK ? p->port : 0) };
	struct sockaddr_in guest = { .sin_family = AF_INET, .sin_addr = p->guest,
				     .sin_port = htons(p->port) };
	struct timeval tv = { 0, p->kind == PEER_SINK ? 50000 : 500000 };
	int big = 32 << 20, fd;
	struct start_arg *a;

	p->err[0] = '\0';
	atomic_store(&p->stop, false);
	atomic_store(&p->guest_done, false);
	p->packets = p->bytes = p->lost = p->send_errors = 0;
	p->rtt_us = NULL;
	p->n_rtt = 0;
	if (p->payload > PAYLOAD_MAX) {
		snprintf(p->err, sizeof(p->err), "payload of %u bytes", p->payload);
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(p->err, sizeof(p->err), "socket: %s", strerror(errno));
		return -1;
	}
	/* Root may exceed net.core.[rw]mem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    bind(fd, (struct sockaddr *)&host, sizeof(host)) ||
	    (p->kind != PEER_SINK && connect(fd, (struct sockaddr *)&guest, sizeof(guest)))) {
		snprintf(p->err, sizeof(p->err), "socket on %s:%u: %s", inet_ntoa(p->host),
			 p->kind == PEER_SINK ? p->port : 0, strerror(errno));
		close(fd);
		return -1;
	}
	a = malloc(sizeof(*a));
	if (!a) {
		close(fd);
		snprintf(p->err, sizeof(p->err), "out of memory");
		return -1;
	}
	*a = (struct start_arg){ p, fd };
	if (pthread_create(&p->thread, NULL, peer_main, a)) {
		free(a);
		close(fd);
		snprintf(p->err, sizeof(p->err), "pthread_create failed");
		return -1;
	}
	p->running = true;
	return 0;
}

void net_peer_stop(struct net_peer *p)
{
	if (!p->running)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	p->running = false;
}

void net_peer_free(struct net_peer *p)
{
	free(p->rtt_us);
	p->rtt_us = NULL;
	p->n_rtt = 0;
}
