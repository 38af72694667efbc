/* virtio_net: drives the first virtio-net device from ring 3 with the
 * runtime's polling driver (lib/vnet.c) against a host whose kernel answers
 * (tests/integration/virtio-net-guest.sh sets up the tap, the address and a
 * UDP echo server):
 *   - negotiates VERSION_1, MAC, STATUS, CSUM, MRG_RXBUF (mrg=1), EVENT_IDX
 *     and INDIRECT_DESC (event_idx=0 / indirect=0 to leave them out),
 *     GUEST_CSUM with guest_csum=1, CTRL_VQ and MQ with pairs=2 (then
 *     VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 2 must be acked OK and an unknown
 *     control class refused); the link must be up, the MAC unicast (and
 *     equal to mac= if given);
 *   - ARP-resolves host= (answering ARP requests for ip= all along);
 *   - sends count= ICMP echo requests, up to burst= in flight, payloads of
 *     0..1472 bytes, and checks every reply's checksums and payload;
 *   - sends udp= datagrams (default count=) of 4..1472 bytes to host:port=,
 *     two in three with VIRTIO_NET_HDR_F_NEEDS_CSUM and only the
 *     pseudo-header sum in the checksum field (the host completes it), the
 *     rest checksummed here, and checks every echo (checksum, payload);
 *   - with bad_csum=1, then sends a datagram with a wrong checksum, which
 *     the host must drop, and a good one that must come back;
 *   - with pairs=2, queue pair i carries every other request (ICMP id
 *     0x4200 + i, UDP source port 40000 + i) and both pairs must send and
 *     receive.
 * Receive buffers: with mrg=1, rxbufs= buffers of rxbuf= (256) bytes per
 * queue, so a large reply spans several and num_buffers is checked against
 * the lengths (5.1.6.3.2, 5.1.6.4); with mrg=0, 1526-byte buffers of three
 * descriptors, and num_buffers must be 1 (nb1=0: only counted, for devices
 * that predate that rule).  A few receive buffers (rxbufs=) and a large
 * burst= fill the receive queue, which must recover as buffers come back.
 * Every wait ends after timeout_mcycles= (30000) million TSC cycles without
 * progress, with a message naming what is missing.  ip= (10.77.0.2), host=
 * (10.77.0.1), port= (7777).  Prints counters the host compares with its
 * own ("virtio_net: frames tx=T rx=R") and exits 0 if every check held,
 * 1 otherwise. */
#include "lib/net.h"

#define ICMP_ID 0x4200
#define UDP_SPORT 40000
#define MAX_REQ 4096
#define ETH_HLEN 14
#define IP_HLEN 20
#define L4_OFF (ETH_HLEN + IP_HLEN)
#define MAX_PAYLOAD 1472		/* 1500 - IPv4 - ICMP/UDP header */

static struct guest_vnet nic;
static uint8_t txf[GUEST_VNET_FRAME_MAX], rxf[GUEST_VNET_FRAME_MAX];
static uint32_t my_ip, host_ip;
static uint8_t host_mac[6];
static bool host_known;
static uint16_t port, ip_id;
static uint64_t timeout;
static unsigned count, udp_count, pairs;
static bool strict_nb1;

static unsigned checks, failed;
static uint64_t frames_tx, frames_rx, ignored, arp_answered, bad_rx;
static uint64_t icmp_ok, udp_ok, csum_completed, nb_not_1, wrong_queue;
static uint8_t ping_seen[MAX_REQ], udp_seen[MAX_REQ + 2];
static uint64_t rxq_packets[GUEST_VNET_MAX_PAIRS];

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		checks++;                                                  \
		if (!(cond)) {                                             \
			failed++;                                          \
			guest_printf("virtio_net: FAIL: " __VA_ARGS__);   \
			guest_printf("\n");                                \
		}                                                          \
	} while (0)

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Payload sizes: the extremes first, then spread over the range. */
static uint32_t icmp_size(unsigned i)
{
	static const uint16_t first[] = { 0, MAX_PAYLOAD, 1, 56, 1000, MAX_PAYLOAD - 1 };

	return i < GUEST_ARRAY_SIZE(first) ? first[i] : (i * 389u + 7) % (MAX_PAYLOAD + 1);
}

static uint32_t udp_size(unsigned i)
{
	static const uint16_t first[] = { 4, MAX_PAYLOAD, 1400, 5, 300 };

	return i < GUEST_ARRAY_SIZE(first) ? first[i] : 4 + (i * 419u) % (MAX_PAYLOAD - 3);
}

static uint8_t pattern(unsigned seq, unsigned j, unsigned kind)
{
	return (uint8_t)(seq * 13 + j * 7 + kind);
}

static void put_eth(const uint8_t *dst, uint16_t type)
{
	struct eth_hdr *e = (struct eth_hdr *)txf;

	memcpy(e->dst, dst, 6);
	memcpy(e->src, nic.mac, 6);
	e->type = be16(type);
}

static void put_ip(uint8_t proto, uint32_t l4_len)
{
	struct ip_hdr *ip = (struct ip_hdr *)(txf + ETH_HLEN);

	*ip = (struct ip_hdr){ 0x45, 0, be16((uint16_t)(IP_HLEN + l4_len)), be16(ip_id++),
			       be16(0x4000), 64, proto, 0, my_ip, host_ip };
	ip->csum = be16((uint16_t)~inet_fold(inet_sum(ip, IP_HLEN, 0)));
}

static bool send(unsigned q, const struct virtio_net_hdr *h, uint32_t len)
{
	static const struct virtio_net_hdr none;

	if (len < 60) {		/* Ethernet minimum without FCS */
		memset(txf + len, 0, 60 - len);
		len = 60;
	}
	if (guest_vnet_send(&nic, q, h ? h : &none, txf, len)) {
		CHECK(0, "%s", nic.err);
		return false;
	}
	frames_tx++;
	return true;
}

static bool send_arp(uint16_t op, const uint8_t *dst, const uint8_t *tha, uint32_t tpa)
{
	struct arp_pkt *a = (struct arp_pkt *)(txf + ETH_HLEN);

	put_eth(dst, ETH_P_ARP);
	*a = (struct arp_pkt){ be16(1), be16(ETH_P_IP), 6, 4, be16(op), { 0 }, my_ip, { 0 }, tpa };
	memcpy(a->sha, nic.mac, 6);
	memcpy(a->tha, tha, 6);
	return send(0, NULL, ETH_HLEN + sizeof(*a));
}

static bool send_ping(unsigned seq)
{
	unsigned q = seq % pairs;
	uint32_t n = icmp_size(seq);
	struct icmp_hdr *ic = (struct icmp_hdr *)(txf + L4_OFF);
	uint8_t *pl = (uint8_t *)(ic + 1);

	put_eth(host_mac, ETH_P_IP);
	put_ip(IPPROTO_ICMP, sizeof(*ic) + n);
	*ic = (struct icmp_hdr){ 8, 0, 0, be16((uint16_t)(ICMP_ID + q)), be16((uint16_t)seq) };
	for (uint32_t j = 0; j < n; j++)
		pl[j] = pattern(seq, j, 1);
	ic->csum = be16((uint16_t)~inet_fold(inet_sum(ic, sizeof(*ic) + n, 0)));
	return send(q, NULL, L4_OFF + (uint32_t)sizeof(*ic) + n);
}

/* A datagram with seq in its first 4 bytes; offload: let the device (the
 * host kernel behind it) complete the checksum; corrupt: a wrong one. */
static bool send_udp(unsigned seq, uint32_t n, bool offload, bool corrupt)
{
	unsigned q = seq % pairs;
	struct udp_hdr *u = (struct udp_hdr *)(txf + L4_OFF);
	uint8_t *pl = (uint8_t *)(u + 1);
	uint16_t ulen = (uint16_t)(sizeof(*u) + n);
	uint32_t ps = inet_pseudo_sum(my_ip, host_ip, IPPROTO_UDP, ulen);
	struct virtio_net_hdr h = { 0 };

	put_eth(host_mac, ETH_P_IP);
	put_ip(IPPROTO_UDP, ulen);
	*u = (struct udp_hdr){ be16((uint16_t)(UDP_SPORT + q)), be16(port), be16(ulen), 0 };
	pl[0] = (uint8_t)(seq >> 24);
	pl[1] = (uint8_t)(seq >> 16);
	pl[2] = (uint8_t)(seq >> 8);
	pl[3] = (uint8_t)seq;
	for (uint32_t j = 4; j < n; j++)
		pl[j] = pattern(seq, j, 2);
	if (offload) {
		/* 5.1.6.2: checksum from csum_start to the end, stored at
		 * csum_start + csum_offset; the field holds the pseudo-header
		 * sum. */
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = L4_OFF;
		h.csum_offset = 6;
		u->csum = be16(inet_fold(ps));
	} else {
		uint16_t c = (uint16_t)~inet_fold(inet_sum(u, ulen, ps));

		u->csum = be16(c ? c : 0xffff);
		if (corrupt)
			u->csum ^= 0x5a5a;
	}
	return send(q, &h, L4_OFF + ulen);
}

/* A received frame broke a rule: reported, counted, the run ends. */
static void bad(const char *fmt, ...) GUEST_PRINTF(1, 2);
static void bad(const char *fmt, ...)
{
	va_list ap;

	bad_rx++;
	checks++;
	failed++;
	guest_printf("virtio_net: FAIL: ");
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
}

static void on_icmp(unsigned q, const uint8_t *l4, uint32_t len)
{
	const struct icmp_hdr *ic = (const struct icmp_hdr *)l4;
	unsigned id, seq;

	if (len < sizeof(*ic) || ic->type != 0) {
		ignored++;
		return;
	}
	id = be16(ic->id);
	seq = be16(ic->seq);
	if (id < ICMP_ID || id >= ICMP_ID + pairs || seq >= count) {
		bad("echo reply with id 0x%x seq %u we did not send", id, seq);
		return;
	}
	if (inet_fold(inet_sum(l4, len, 0)) != 0xffff) {
		bad("echo reply seq %u: ICMP checksum wrong (%u bytes)", seq, len);
		return;
	}
	if (len != sizeof(*ic) + icmp_size(seq)) {
		bad("echo reply seq %u: %u bytes of payload", seq, len - (uint32_t)sizeof(*ic));
		return;
	}
	for (uint32_t j = 0; j < len - sizeof(*ic); j++)
		if (l4[sizeof(*ic) + j] != pattern(seq, j, 1)) {
			bad("echo reply seq %u: payload byte %u differs", seq, j);
			return;
		}
	if (ping_seen[seq]++) {
		bad("echo reply seq %u: duplicate (%u)", seq, ping_seen[seq]);
		return;
	}
	wrong_queue += q != id - ICMP_ID;
	icmp_ok++;
}

static void on_udp(unsigned q, const struct virtio_net_hdr *h, uint8_t *l4, uint32_t len)
{
	struct udp_hdr *u = (struct udp_hdr *)l4;
	uint32_t ps = inet_pseudo_sum(host_ip, my_ip, IPPROTO_UDP, (uint16_t)len);
	unsigned seq, sport = be16(u->sport), dport = be16(u->dport);

	if (len < sizeof(*u) + 4 || sport != port || dport < UDP_SPORT ||
	    dport >= UDP_SPORT + pairs) {
		ignored++;
		return;
	}
	if (be16(u->len) != len) {
		bad("UDP length field %u, IP says %u", be16(u->len), len);
		return;
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* Only with GUEST_CSUM (5.1.6.4): complete it ourselves. */
		uint16_t c;

		if (!(nic.features & 1ull << VIRTIO_NET_F_GUEST_CSUM)) {
			bad("NEEDS_CSUM on receive without GUEST_CSUM (csum_start %u)",
			    h->csum_start);
			return;
		}
		if (h->csum_start != L4_OFF || h->csum_offset != 6) {
			bad("NEEDS_CSUM with csum_start %u csum_offset %u", h->csum_start,
			    h->csum_offset);
			return;
		}
		c = (uint16_t)~inet_fold(inet_sum(l4, len, 0));
		u->csum = be16(c ? c : 0xffff);
		csum_completed++;
	}
	/* Linux always checksums UDP over IPv4: 0 ("none") is an error too. */
	if (!u->csum || inet_fold(inet_sum(l4, len, ps)) != 0xffff) {
		bad("UDP checksum wrong (%u bytes, flags %u)", len, h->flags);
		return;
	}
	seq = (unsigned)l4[8] << 24 | (unsigned)l4[9] << 16 | (unsigned)l4[10] << 8 | l4[11];
	if (seq >= udp_count + 2 || len - sizeof(*u) != (seq < udp_count ? udp_size(seq) : 64)) {
		bad("UDP echo seq %u with %u bytes we did not send", seq, len);
		return;
	}
	for (uint32_t j = 4; j < len - sizeof(*u); j++)
		if (l4[sizeof(*u) + j] != pattern(seq, j, 2)) {
			bad("UDP echo seq %u: payload byte %u differs", seq, j);
			return;
		}
	if (udp_seen[seq]++) {
		bad("UDP echo seq %u: duplicate (%u)", seq, udp_seen[seq]);
		return;
	}
	wrong_queue += q != dport - UDP_SPORT;
	udp_ok += seq < udp_count;
}

static void on_arp(const uint8_t *p, uint32_t len)
{
	const struct arp_pkt *a = (const struct arp_pkt *)p;

	if (len < sizeof(*a) || a->htype != be16(1) || a->ptype != be16(ETH_P_IP)) {
		ignored++;
		return;
	}
	if (a->op == be16(1) && a->tpa == my_ip) {
		send_arp(2, a->sha, a->sha, a->spa);
		arp_answered++;
	} else if (a->op == be16(2) && a->spa == host_ip && a->tpa == my_ip) {
		memcpy(host_mac, a->sha, 6);
		host_known = true;
	} else {
		ignored++;
	}
}

static void on_frame(unsigned q, struct virtio_net_hdr *h, uint32_t len)
{
	const struct eth_hdr *e = (const struct eth_hdr *)rxf;
	const struct ip_hdr *ip = (const struct ip_hdr *)(rxf + ETH_HLEN);
	uint32_t iplen;

	frames_rx++;
	rxq_packets[q]++;
	if (!nic.mrg && h->num_buffers != 1 && !nb_not_1++)	/* reported once */
		CHECK(!strict_nb1, "num_buffers %u without MRG_RXBUF (5.1.6.4: must be 1)",
		      h->num_buffers);
	if (len < ETH_HLEN || (memcmp(e->dst, nic.mac, 6) && memcmp(e->dst, bcast, 6))) {
		ignored++;
		return;
	}
	if (e->type == be16(ETH_P_ARP)) {
		on_arp(rxf + ETH_HLEN, len - ETH_HLEN);
		return;
	}
	if (e->type != be16(ETH_P_IP) || len < ETH_HLEN + IP_HLEN || ip->ver_ihl != 0x45 ||
	    ip->dst != my_ip || ip->src != host_ip) {
		ignored++;
		return;
	}
	iplen = be16(ip->len);
	if (iplen < IP_HLEN || iplen > len - ETH_HLEN) {
		bad("IPv4 total length %u in a %u-byte frame", iplen, len);
		return;
	}
	if (inet_fold(inet_sum(ip, IP_HLEN, 0)) != 0xffff) {
		bad("IPv4 header checksum wrong (proto %u, %u bytes)", ip->proto, iplen);
		return;
	}
	if (ip->proto == IPPROTO_ICMP)
		on_icmp(q, rxf + L4_OFF, iplen - IP_HLEN);
	else if (ip->proto == IPPROTO_UDP)
		on_udp(q, h, rxf + L4_OFF, iplen - IP_HLEN);
	else
		ignored++;
}

/* Handles whatever arrived on every receive queue; false on a driver
 * error (already reported). */
static bool poll_rx(void)
{
	struct virtio_net_hdr h;

	for (unsigned q = 0; q < pairs; q++) {
		int len;

		while ((len = guest_vnet_recv(&nic, q, &h, rxf, sizeof(rxf))) > 0)
			on_frame(q, &h, (uint32_t)len);
		if (len < 0) {
			CHECK(0, "%s", nic.err);
			return false;
		}
	}
	return true;
}

static bool resolve_host(void)
{
	uint64_t start = rdtsc(), last = 0, retry = timeout / 16;
	static const uint8_t zero[6];

	while (!host_known) {
		if (!last || rdtsc() - last > retry) {
			if (!send_arp(1, bcast, zero, host_ip))
				return false;
			last = rdtsc();
		}
		if (!poll_rx())
			return false;
		if (rdtsc() - start > timeout) {
			CHECK(0, "timeout: no ARP reply from the host after %llu Mcycles",
			      (unsigned long long)(timeout / 1000000));
			return false;
		}
		cpu_relax();
	}
	guest_printf("virtio_net: host at %02x:%02x:%02x:%02x:%02x:%02x\n", host_mac[0],
		     host_mac[1], host_mac[2], host_mac[3], host_mac[4], host_mac[5]);
	return true;
}

/* Sends n requests, at most burst unanswered, and waits for all answers;
 * seen[] counts them.  A timeout restarts with every answer. */
static bool exchange(const char *what, unsigned n, unsigned burst, const uint8_t *seen,
		     const uint64_t *ok, bool (*send_one)(unsigned))
{
	uint64_t last = rdtsc();
	unsigned sent = 0;
	uint64_t got = *ok;

	while (*ok < n) {
		while (sent < n && sent - *ok < burst)
			if (!send_one(sent++))
				return false;
		if (!poll_rx())
			return false;
		if (*ok != got) {
			got = *ok;
			last = rdtsc();
		} else if (rdtsc() - last > timeout) {
			unsigned first = 0;

			while (first < n && seen[first])
				first++;
			CHECK(0, "timeout: %s: %llu of %u answered (%u sent), first missing "
			      "seq %u, nothing for %llu Mcycles", what, (unsigned long long)*ok,
			      n, sent, first, (unsigned long long)(timeout / 1000000));
			return false;
		}
		if (bad_rx)
			return false;
		cpu_relax();
	}
	return true;
}

static bool ping_one(unsigned seq)
{
	return send_ping(seq);
}

static bool udp_one(unsigned seq)
{
	return send_udp(seq, udp_size(seq), seq % 3 != 2, false);
}

/* A datagram with a wrong checksum the host must drop, then a good one
 * (seq udp_count + 1) that must come back; the bad one (udp_count) must not. */
static void bad_checksum(void)
{
	uint64_t start = rdtsc();

	if (!send_udp(udp_count, 64, false, true) || !send_udp(udp_count + 1, 64, true, false))
		return;
	while (!udp_seen[udp_count + 1] && rdtsc() - start < timeout && !bad_rx) {
		if (!poll_rx())
			return;
		cpu_relax();
	}
	CHECK(udp_seen[udp_count + 1], "timeout: no echo of the datagram after the bad one");
	CHECK(!udp_seen[udp_count], "the datagram with a wrong checksum came back");
	guest_printf("virtio_net: wrong-checksum datagram %s\n",
		     udp_seen[udp_count] ? "echoed" : "dropped by the host");
}

static void print_mac(const char *what, const uint8_t *m)
{
	guest_printf("virtio_net: %s %02x:%02x:%02x:%02x:%02x:%02x\n", what, m[0], m[1], m[2],
		     m[3], m[4], m[5]);
}

int guest_main(void)
{
	const char *ip_s = guest_cmdline_get("ip"), *host_s = guest_cmdline_get("host");
	const char *mac_s = guest_cmdline_get("mac");
	bool mrg = guest_cmdline_u64("mrg", 1), bad_csum = guest_cmdline_u64("bad_csum", 0);
	uint64_t want = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |
			1ull << VIRTIO_NET_F_CSUM;
	unsigned burst = (unsigned)guest_cmdline_u64("burst", 4), ok;
	unsigned rxbufs = (unsigned)guest_cmdline_u64("rxbufs", 0);
	uint32_t rxbuf = (uint32_t)guest_cmdline_u64("rxbuf", 256);
	uint8_t expect_mac[6];
	int r;

	count = (unsigned)guest_cmdline_u64("count", 64);
	udp_count = (unsigned)guest_cmdline_u64("udp", count);
	pairs = (unsigned)guest_cmdline_u64("pairs", 1);
	port = (uint16_t)guest_cmdline_u64("port", 7777);
	strict_nb1 = guest_cmdline_u64("nb1", 1);
	timeout = guest_cmdline_u64("timeout_mcycles", 30000) * 1000000;
	if (!inet_parse_ip(ip_s ? ip_s : "10.77.0.2", &my_ip) ||
	    !inet_parse_ip(host_s ? host_s : "10.77.0.1", &host_ip) ||
	    (mac_s && !inet_parse_mac(mac_s, expect_mac)) || count > MAX_REQ ||
	    udp_count > MAX_REQ || !burst || pairs < 1 || pairs > GUEST_VNET_MAX_PAIRS ||
	    (mrg && rxbufs && rxbufs * rxbuf < 12 + GUEST_VNET_FRAME_MAX)) {
		guest_printf("virtio_net: bad cmdline: ip=A.B.C.D host=A.B.C.D mac=XX:..:XX "
			     "count,udp<=%u burst>=1 pairs=1..%u, rxbufs*rxbuf>=1526\n", MAX_REQ,
			     GUEST_VNET_MAX_PAIRS);
		return GUEST_EXIT_BAD_CMDLINE;
	}
	if (mrg)
		want |= 1ull << VIRTIO_NET_F_MRG_RXBUF;
	if (guest_cmdline_u64("guest_csum", 0))
		want |= 1ull << VIRTIO_NET_F_GUEST_CSUM;
	if (guest_cmdline_u64("event_idx", 1))
		want |= 1ull << VIRTIO_F_EVENT_IDX;
	if (guest_cmdline_u64("indirect", 1))
		want |= 1ull << VIRTIO_F_INDIRECT_DESC;

	r = guest_vnet_init(&nic, 0, want, pairs, rxbuf, rxbufs, timeout);
	if (r) {
		guest_printf("virtio_net: FAIL: %s\n", nic.err);
		return GUEST_EXIT_FAIL;
	}
	guest_printf("virtio_net: device 00:%02x.0, features 0x%llx (offered 0x%llx), "
		     "%u of %u queue pairs, %s receive buffers of %u bytes, %u per queue\n",
		     nic.v.dev, (unsigned long long)nic.features,
		     (unsigned long long)nic.v.device_features, nic.pairs, nic.max_pairs,
		     nic.mrg ? "mergeable" : "whole-packet", nic.rxbuf, nic.rx_posted);
	print_mac("mac", nic.mac);
	CHECK((nic.features & want) == want, "device lacks features 0x%llx",
	      (unsigned long long)(want & ~nic.features));
	CHECK(nic.pairs == pairs, "%u queue pairs wanted, device has %u", pairs, nic.max_pairs);
	CHECK(nic.status & VIRTIO_NET_S_LINK_UP, "link down (status 0x%x)", nic.status);
	CHECK(!(nic.mac[0] & 1) && memcmp(nic.mac, "\0\0\0\0\0\0", 6),
	      "MAC is not a unicast address");
	if (mac_s)
		CHECK(!memcmp(nic.mac, expect_mac, 6), "MAC differs from mac=%s", mac_s);
	if (pairs > 1)
		CHECK(guest_vnet_ctrl(&nic, 0x7f, 0, NULL, 0) == VIRTIO_NET_ERR,
		      "unknown control class 0x7f not refused with VIRTIO_NET_ERR");
	if (failed)
		goto done;

	if (!resolve_host())
		goto done;
	if (exchange("ICMP echo", count, burst, ping_seen, &icmp_ok, ping_one))
		guest_printf("virtio_net: icmp: %u echo requests, %llu replies\n", count,
			     (unsigned long long)icmp_ok);
	if (!failed && exchange("UDP echo", udp_count, burst, udp_seen, &udp_ok, udp_one))
		guest_printf("virtio_net: udp: %u datagrams, %llu echoed\n", udp_count,
			     (unsigned long long)udp_ok);
	if (!failed && bad_csum)
		bad_checksum();
	if (failed)
		goto done;
	/* Flush: let the last transmissions complete before reporting. */
	for (unsigned q = 0; q < pairs; q++)
		CHECK(!guest_vnet_tx_reap(&nic, q), "%s", nic.err);
	if (nic.mrg && nic.rxbuf < 12 + 14 + 28 + MAX_PAYLOAD && count > 1) {
		uint64_t merged = 0;

		for (unsigned q = 0; q < pairs; q++)
			merged += nic.st[q].rx_merged;
		CHECK(merged > 0, "no packet spanned several %u-byte buffers", nic.rxbuf);
	}
	for (unsigned q = 0; q < pairs && pairs > 1; q++)
		CHECK(nic.st[q].tx_packets && rxq_packets[q],
		      "queue pair %u: %llu sent, %llu received", q,
		      (unsigned long long)nic.st[q].tx_packets, (unsigned long long)rxq_packets[q]);
	if (guest_cmdline_u64("expect_partial", 0))
		CHECK(csum_completed > 0, "no UDP echo came with NEEDS_CSUM (GUEST_CSUM)");

done:
	for (unsigned q = 0; q < nic.pairs; q++) {
		struct guest_vnet_stats *s = &nic.st[q];

		guest_printf("virtio_net: pair %u: tx %llu, rx %llu (%llu buffers, %llu merged, "
			     "max num_buffers %u, %llu NEEDS_CSUM, %llu DATA_VALID), "
			     "notifications rx %llu tx %llu\n", q,
			     (unsigned long long)s->tx_packets, (unsigned long long)s->rx_packets,
			     (unsigned long long)s->rx_buffers, (unsigned long long)s->rx_merged,
			     s->rx_max_buffers, (unsigned long long)s->rx_needs_csum,
			     (unsigned long long)s->rx_data_valid,
			     (unsigned long long)nic.rx[q].notifications,
			     (unsigned long long)nic.tx[q].notifications);
	}
	guest_printf("virtio_net: frames tx=%llu rx=%llu, arp answered %llu, ignored %llu, "
		     "checksums completed %llu, replies on another queue %llu, num_buffers!=1 %llu\n",
		     (unsigned long long)frames_tx, (unsigned long long)frames_rx,
		     (unsigned long long)arp_answered, (unsigned long long)ignored,
		     (unsigned long long)csum_completed, (unsigned long long)wrong_queue,
		     (unsigned long long)nb_not_1);
	ok = checks - failed;
	guest_printf("virtio_net: %u checks, %u failed: %s\n", checks, failed,
		     failed || !ok ? "FAIL" : "PASS");
	return failed ? GUEST_EXIT_FAIL : GUEST_EXIT_PASS;
}
