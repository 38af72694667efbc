/* Host side of bench/net: the traffic the net_bench test guest exchanges
 * with the host over the tap, run as threads of the driver in the network
 * namespace holding the tap.  Every peer is started with net_peer_start()
 * and ended with net_peer_stop(), which joins it; its counters are final
 * after that. */
#ifndef BENCH_NET_PEER_H
#define BENCH_NET_PEER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum net_peer_kind {
	PEER_SINK,      /* receives UDP on host:port, counts datagrams and bytes */
	PEER_FLOOD,     /* sends UDP to guest:port for a while, then stops the guest */
	PEER_PING,      /* UDP round trips through the guest's echo */
};

struct net_peer {
	/* Set by the caller. */
	enum net_peer_kind kind;
	struct in_addr host, guest;
	uint16_t port;          /* stop datagrams go to port + 1 (flood, ping) */
	unsigned payload;       /* UDP payload bytes (flood, ping) */
	double seconds;         /* flood: how long */
	unsigned window;        /* flood: most datagrams sent but not yet read from the tap */
	const char *tap;        /* flood: its statistics pace the flood */
	unsigned rounds;        /* ping: measured round trips (after 10% warm-up) */
	atomic_bool guest_done; /* the guest reported: stop sending stop datagrams */

	/* Results. */
	uint64_t packets, bytes;        /* sink: received; flood: sent; ping: answered */
	uint64_t lost;                  /* ping: round trips that timed out */
	uint64_t send_errors;           /* flood: datagrams sendmmsg refused */
	double *rtt_us;                 /* ping: the measured round trips, sorted */
	unsigned n_rtt;
	char err[160];                  /* set if the peer failed */

	pthread_t thread;
	atomic_bool stop;
	bool running;
};

/* Opens the peer's socket (errors in p->err) and starts its thread; -1 on
 * failure. */
int net_peer_start(struct net_peer *p);
/* Asks the peer to end (a sink first drains what is queued) and joins it. */
void net_peer_stop(struct net_peer *p);
/* Frees the round-trip array. */
void net_peer_free(struct net_peer *p);

/* A counter of /sys/class/net/TAP/statistics, or -1. */
int64_t tap_stat(const char *tap, const char *name);
/* A counter of /proc/net/snmp ("Udp", "RcvbufErrors"), or -1. */
int64_t snmp_stat(const char *proto, const char *field);

#endif
