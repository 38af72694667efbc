/* net_bench: virtio-net packet rates from ring 3, polling (bench/net runs
 * it under basalt and under QEMU on the same tap).  The host side is fixed
 * by the command line: ip= (10.78.0.2), host= (10.78.0.1), hostmac= (the
 * tap's MAC; needed by mode=tx, which never ARPs) and port= (9000).
 *
 *   mode=tx   sends count= identical frames of frame= bytes (Ethernet
 *             header included, no FCS) to host:port, as fast as the
 *             transmit queue takes them: chains added while descriptors are
 *             free, one notification (if the device wants one) per batch.
 *             proto=udp (60..1514 bytes) or proto=tcp: a RST segment with
 *             data to a port nobody listens on (the host kernel takes it,
 *             counts it in Tcp InSegs and, a RST being unanswerable, sends
 *             nothing back: a pure transmit load); above
 *             1514 bytes (up to 65549) a TSO frame with
 *             VIRTIO_NET_HDR_GSO_TCPV4 and gso_size mss= (1448).  Every
 *             frame asks for checksum offload (NEEDS_CSUM), as Linux does.
 *             Prints "start" before the first frame and "done tx ..." once
 *             the device has completed the last one.
 *   mode=rx   counts UDP datagrams to port (and their frame bytes) until
 *             one arrives for port + 1; prints "first" at the first counted
 *             one and "done rx ..." at the end.
 *   mode=echo sends every UDP datagram to port back to where it came from
 *             (addresses and ports swapped: the checksums stay valid) until
 *             one arrives for port + 1, then "done echo ...".
 *
 * After "done", every mode waits for a UDP datagram to port + 2 (or
 * linger_mcycles=, 3000 million TSC cycles) before it exits, so that the
 * host can look at the VMM's threads while the VM still runs.
 *
 * Receive buffers are mergeable, 2048 bytes, the whole queue, reposted
 * without the canary checks of lib/vnet.c (guest_vnet_recv_peek()).
 * Every line starts "net_bench: "; "ready ..." comes once the device is
 * up.  A wait without progress ends after timeout_mcycles= (30000) million
 * TSC cycles with "FAIL: ..." and exit status 1. */
#include "lib/net.h"

#define ETH_HLEN 14
#define IP_HLEN 20
#define L4_OFF (ETH_HLEN + IP_HLEN)
#define UDP_HLEN 8
#define TCP_HLEN 20
#define FRAME_MAX (ETH_HLEN + 65535)
#define PEEK (L4_OFF + UDP_HLEN)
#define SPORT 40000
#define TCP_RST 0x04
#define TCP_ACK 0x10

static struct guest_vnet nic;
static uint8_t txf[FRAME_MAX] __attribute__((aligned(64)));
static uint8_t rxf[GUEST_VNET_FRAME_MAX];
static struct virtio_net_hdr txh;
static uint32_t my_ip, host_ip;
static uint8_t host_mac[6];
static uint16_t port;
static uint64_t timeout, rx_other;

static int fail(const char *fmt, ...) GUEST_PRINTF(1, 2);
static int fail(const char *fmt, ...)
{
	va_list ap;

	guest_printf("net_bench: FAIL: ");
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
	return GUEST_EXIT_FAIL;
}

/* The frame every mode=tx chain points at (the device only reads it). */
static void build_tx_frame(bool tcp, uint32_t frame, uint32_t mss)
{
	struct eth_hdr *e = (struct eth_hdr *)txf;
	struct ip_hdr *ip = (struct ip_hdr *)(txf + ETH_HLEN);
	uint16_t l4_len = (uint16_t)(frame - L4_OFF);
	uint32_t ps = inet_pseudo_sum(my_ip, host_ip, tcp ? IPPROTO_TCP : IPPROTO_UDP, l4_len);
	uint32_t hl = L4_OFF + (tcp ? TCP_HLEN : UDP_HLEN);

	memcpy(e->dst, host_mac, 6);
	memcpy(e->src, nic.mac, 6);
	e->type = be16(ETH_P_IP);
	*ip = (struct ip_hdr){ 0x45, 0, be16((uint16_t)(frame - ETH_HLEN)), 0, be16(0x4000), 64,
			       tcp ? IPPROTO_TCP : IPPROTO_UDP, 0, my_ip, host_ip };
	ip->csum = be16((uint16_t)~inet_fold(inet_sum(ip, IP_HLEN, 0)));
	for (uint32_t j = hl; j < frame; j++)
		txf[j] = (uint8_t)(j * 7 + 1);
	/* 5.1.6.2: the device (here the host kernel) sums from csum_start to
	 * the end into csum_start + csum_offset, which holds the pseudo-header
	 * sum. */
	txh = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = L4_OFF };
	if (tcp) {
		struct tcp_hdr *t = (struct tcp_hdr *)(txf + L4_OFF);

		*t = (struct tcp_hdr){ be16(SPORT + 1), be16(port), be32(1), be32(1), 5 << 4, TCP_RST | TCP_ACK,
				       be16(65535), be16(inet_fold(ps)), 0 };
		txh.csum_offset = 16;
		if (frame > GUEST_VNET_FRAME_MAX) {
			txh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
			txh.gso_size = (uint16_t)mss;
			txh.hdr_len = (uint16_t)hl;
		}
	} else {
		struct udp_hdr *u = (struct udp_hdr *)(txf + L4_OFF);

		*u = (struct udp_hdr){ be16(SPORT), be16(port), be16(l4_len), be16(inet_fold(ps)) };
		txh.csum_offset = 6;
	}
}

/* Takes whatever arrived; mode=tx only counts it.  -1 on a driver error. */
static int drain_rx(void)
{
	struct virtio_net_hdr h;
	int r, n = 0;

	while ((r = guest_vnet_recv_peek(&nic, 0, &h, rxf, 0)) > 0)
		n++;
	if (n)
		guest_vq_kick(&nic.rx[0]);
	rx_other += (uint64_t)n;
	return r < 0 ? -1 : 0;
}

static int run_tx(uint64_t count, uint32_t frame)
{
	struct guest_vq *vq = &nic.tx[0];
	struct guest_vbuf b[2] = { { &txh, sizeof(txh), false }, { txf, frame, false } };
	unsigned need = vq->indirect ? 1 : 2;
	uint64_t queued = 0, done = 0, last = rdtsc();

	guest_printf("net_bench: start\n");
	while (done < count) {
		uint64_t before = done;
		uint32_t len;
		uint16_t id;
		int r;

		while ((r = guest_vq_poll(vq, &id, &len)) > 0)
			done++;
		if (r < 0)
			return fail("transmit queue: used id %u is not a head in flight", id);
		while (queued < count && vq->num_free >= need) {
			if (guest_vq_add(vq, b, 2) < 0)
				return fail("transmit queue: add failed with %u free", vq->num_free);
			queued++;
		}
		guest_vq_kick(vq);
		if (drain_rx())
			return fail("%s", nic.err);
		if (done != before)
			last = rdtsc();
		else if (rdtsc() - last > timeout)
			return fail("timeout: %llu of %llu frames completed",
				    (unsigned long long)done, (unsigned long long)count);
		cpu_relax();
	}
	guest_printf("net_bench: done tx packets=%llu bytes=%llu rx_other=%llu notifications=%llu\n",
		     (unsigned long long)done, (unsigned long long)(done * frame),
		     (unsigned long long)rx_other, (unsigned long long)vq->notifications);
	return 0;
}

/* The UDP destination port of a received frame for us, 0 if it is none. */
static unsigned udp_dport(const uint8_t *f, int len)
{
	const struct eth_hdr *e = (const struct eth_hdr *)f;
	const struct ip_hdr *ip = (const struct ip_hdr *)(f + ETH_HLEN);
	const struct udp_hdr *u = (const struct udp_hdr *)(f + L4_OFF);

	if (len < PEEK || e->type != be16(ETH_P_IP) || ip->ver_ihl != 0x45 ||
	    ip->proto != IPPROTO_UDP || ip->dst != my_ip)
		return 0;
	return be16(u->dport);
}

/* mode=rx and mode=echo: until the datagram to port + 1. */
static int run_rx(bool echo)
{
	uint64_t packets = 0, bytes = 0, last = rdtsc();
	struct virtio_net_hdr h;
	unsigned batch = 0;

	for (;;) {
		int len = guest_vnet_recv_peek(&nic, 0, &h, rxf, echo ? sizeof(rxf) : PEEK);
		unsigned dport;

		if (len < 0)
			return fail("%s", nic.err);
		if (len == 0) {
			if (batch) {
				guest_vq_kick(&nic.rx[0]);
				batch = 0;
			}
			if (echo && guest_vnet_tx_reap(&nic, 0))
				return fail("%s", nic.err);
			if (rdtsc() - last > timeout)
				return fail("timeout: nothing received for %llu Mcycles after %llu "
					    "datagrams", (unsigned long long)(timeout >> 20),
					    (unsigned long long)packets);
			cpu_relax();
			continue;
		}
		last = rdtsc();
		if (++batch == 32) {
			guest_vq_kick(&nic.rx[0]);
			batch = 0;
		}
		dport = udp_dport(rxf, len);
		if (dport == port + 1u)
			break;
		if (dport != port) {
			rx_other++;
			continue;
		}
		if (!packets++ && !echo)
			guest_printf("net_bench: first\n");
		bytes += (uint64_t)len;
		if (echo) {
			struct eth_hdr *e = (struct eth_hdr *)rxf;
			struct ip_hdr *ip = (struct ip_hdr *)(rxf + ETH_HLEN);
			struct udp_hdr *u = (struct udp_hdr *)(rxf + L4_OFF);
			uint32_t a = ip->src;
			uint16_t p = u->sport;

			memcpy(e->dst, e->src, 6);
			memcpy(e->src, nic.mac, 6);
			ip->src = ip->dst;
			ip->dst = a;
			u->sport = u->dport;
			u->dport = p;
			/* A NEEDS_CSUM datagram (GUEST_CSUM) goes back as one:
			 * its pseudo-header sum does not change either. */
			h.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;	/* 5.1.6.2.1 */
			h.num_buffers = 0;
			if (guest_vnet_send(&nic, 0, &h, rxf, (uint32_t)len))
				return fail("%s", nic.err);
		}
	}
	guest_vq_kick(&nic.rx[0]);
	guest_printf("net_bench: done %s packets=%llu bytes=%llu rx_other=%llu\n",
		     echo ? "echo" : "rx", (unsigned long long)packets,
		     (unsigned long long)bytes, (unsigned long long)rx_other);
	return 0;
}

/* Until the datagram to port + 2, or limit TSC cycles. */
static void linger(uint64_t limit)
{
	uint64_t start = rdtsc();
	struct virtio_net_hdr h;

	while (rdtsc() - start < limit) {
		int len = guest_vnet_recv_peek(&nic, 0, &h, rxf, PEEK);

		if (len < 0)
			return;
		if (len == 0) {
			cpu_relax();
			continue;
		}
		guest_vq_kick(&nic.rx[0]);
		if (udp_dport(rxf, len) == port + 2u)
			return;
	}
}

int guest_main(void)
{
	const char *mode = guest_cmdline_get("mode"), *proto = guest_cmdline_get("proto");
	const char *ip_s = guest_cmdline_get("ip"), *host_s = guest_cmdline_get("host");
	const char *hmac_s = guest_cmdline_get("hostmac");
	bool tx = mode && !strcmp(mode, "tx"), echo = mode && !strcmp(mode, "echo");
	bool tcp = proto && !strcmp(proto, "tcp");
	uint64_t count = guest_cmdline_u64("count", 100000);
	uint32_t frame = (uint32_t)guest_cmdline_u64("frame", 60);
	uint32_t mss = (uint32_t)guest_cmdline_u64("mss", 1448);
	uint64_t linger_mc = guest_cmdline_u64("linger_mcycles", 3000);
	uint64_t want = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |
			1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
			1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_MRG_RXBUF |
			1ull << VIRTIO_F_EVENT_IDX | 1ull << VIRTIO_F_INDIRECT_DESC;
	uint64_t need = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_CSUM |
			1ull << VIRTIO_NET_F_MRG_RXBUF;
	int r;

	port = (uint16_t)guest_cmdline_u64("port", 9000);
	timeout = guest_cmdline_u64("timeout_mcycles", 30000) * 1000000;
	if (!mode || !(tx || echo || !strcmp(mode, "rx")) ||
	    (proto && !tcp && strcmp(proto, "udp")) ||
	    !inet_parse_ip(ip_s ? ip_s : "10.78.0.2", &my_ip) ||
	    !inet_parse_ip(host_s ? host_s : "10.78.0.1", &host_ip) ||
	    (tx && (!hmac_s || !inet_parse_mac(hmac_s, host_mac))) || port > 0xfffd ||
	    frame < 60 || frame > (tcp ? FRAME_MAX : GUEST_VNET_FRAME_MAX) ||
	    mss < 64 || mss > 9000) {
		guest_printf("net_bench: bad cmdline: mode=tx|rx|echo proto=udp|tcp frame=60..1514 "
			     "(tcp: ..%u) mss=64..9000 count=N ip=A.B.C.D host=A.B.C.D "
			     "hostmac=XX:..:XX (tx) port=N\n", FRAME_MAX);
		return GUEST_EXIT_BAD_CMDLINE;
	}
	if (tcp && frame > GUEST_VNET_FRAME_MAX)
		need |= 1ull << VIRTIO_NET_F_HOST_TSO4;
	if (guest_vnet_init(&nic, 0, want, 1, GUEST_VNET_SLOT, 0, timeout))
		return fail("%s", nic.err);
	if ((nic.features & need) != need)
		return fail("device lacks features 0x%llx",
			    (unsigned long long)(need & ~nic.features));
	guest_printf("net_bench: ready mode=%s features=0x%llx mac=%02x:%02x:%02x:%02x:%02x:%02x\n",
		     mode, (unsigned long long)nic.features, nic.mac[0], nic.mac[1], nic.mac[2],
		     nic.mac[3], nic.mac[4], nic.mac[5]);
	if (tx) {
		build_tx_frame(tcp, frame, mss);
		r = run_tx(count, frame);
	} else {
		r = run_rx(echo);
	}
	if (!r)
		linger(linger_mc * 1000000);
	return r;
}
