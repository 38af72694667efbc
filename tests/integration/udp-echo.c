/* UDP echo server for tests/integration/virtio-net-guest.sh:
 *   udp-echo ADDR PORT READY-FILE
 * binds ADDR:PORT, creates READY-FILE once it listens, sends every datagram
 * back to its sender and, on SIGTERM or SIGINT, prints
 * "udp-echo: N datagrams, B bytes" and exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET }, peer;
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	struct timeval tick = { .tv_usec = 100000 };	/* a signal between the check and recvfrom */
	unsigned long long n = 0, bytes = 0;
	static char buf[65536];
	char *end;
	long port;
	int fd, rfd;

	if (argc != 4) {
		fprintf(stderr, "usage: udp-echo ADDR PORT READY-FILE\n");
		return 2;
	}
	port = strtol(argv[2], &end, 10);
	if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 || *end || port < 1 || port > 65535) {
		fprintf(stderr, "udp-echo: bad address '%s' or port '%s'\n", argv[1], argv[2]);
		return 2;
	}
	addr.sin_port = htons((unsigned short)port);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick)) ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "udp-echo: %s:%ld: %s\n", argv[1], port, strerror(errno));
		return 1;
	}
	rfd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (rfd < 0) {
		fprintf(stderr, "udp-echo: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	close(rfd);
	while (!stop) {
		socklen_t pl = sizeof(peer);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl);

		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "udp-echo: recvfrom: %s\n", strerror(errno));
			return 1;
		}
		if (sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&peer, pl) != r) {
			fprintf(stderr, "udp-echo: sendto: %s\n", strerror(errno));
			return 1;
		}
		n++;
		bytes += (unsigned long long)r;
	}
	printf("udp-echo: %llu datagrams, %llu bytes\n", n, bytes);
	return 0;
}
