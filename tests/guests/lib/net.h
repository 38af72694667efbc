/* Networking for the test guests: a polling virtio-net driver on top of
 * lib/virtio.c (lib/vnet.c) and Ethernet/ARP/IPv4/ICMP/UDP headers with the
 * Internet checksum (lib/inet.c).  Everything is in network byte order on
 * the wire; use be16()/be32() to convert.  Include after guest.h. */
#ifndef GUEST_NET_H
#define GUEST_NET_H

#include "guest.h"

/* --- virtio-net (virtio 1.2 section 5.1) ------------------------------------- */
#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

/* In front of every packet; always 12 bytes with VERSION_1 (5.1.6). */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

#define GUEST_VNET_MAX_PAIRS 2
#define GUEST_VNET_FRAME_MAX 1514       /* Ethernet header + 1500 */
#define GUEST_VNET_SLOT 2048            /* receive memory per descriptor */

struct guest_vnet_stats {
	uint64_t rx_packets, rx_merged, rx_needs_csum, rx_data_valid;
	uint64_t rx_buffers;            /* used elements consumed */
	uint64_t tx_packets;
	uint16_t rx_max_buffers;        /* largest num_buffers seen */
};

struct guest_vnet {
	struct guest_virtio v;
	uint64_t features;
	uint8_t mac[6];
	uint16_t status, max_pairs, pairs;
	bool mrg;                       /* VIRTIO_NET_F_MRG_RXBUF negotiated */
	bool no_canary;                 /* guest_vnet_recv_peek() was used */
	uint32_t rxbuf;                 /* bytes per receive buffer (mrg) */
	unsigned rx_posted;             /* receive buffers kept available per queue */
	uint64_t timeout;               /* TSC cycles to wait for the device */
	struct guest_vq rx[GUEST_VNET_MAX_PAIRS], tx[GUEST_VNET_MAX_PAIRS], ctrl;
	struct guest_vnet_stats st[GUEST_VNET_MAX_PAIRS];
	char err[128];                  /* why the last call failed */
};

/* Finds the nth virtio-net function, negotiates VERSION_1 plus want (the
 * VIRTIO_NET_F_* / VIRTIO_F_* bits the device offers), reads the MAC,
 * status and max_virtqueue_pairs, sets up min(pairs, max) queue pairs and
 * the control queue (if CTRL_VQ), sets DRIVER_OK, posts rx_posted receive
 * buffers per receive queue and, for more than one pair, sends
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET.  Receive buffers: with MRG_RXBUF one
 * descriptor of rxbuf bytes (12..GUEST_VNET_SLOT) each; without it a
 * 1526-byte buffer split over three descriptors with gaps between them (the
 * gaps are checked by guest_vnet_recv).  0, or -1 with n->err set. */
int guest_vnet_init(struct guest_vnet *n, unsigned nth, uint64_t want, unsigned pairs,
		    uint32_t rxbuf, unsigned rx_posted, uint64_t timeout_cycles);
/* Sends one frame with header h (num_buffers 0) on transmit queue q, as a
 * chain of header and frame; waits (timeout) for a free descriptor if
 * the queue is full.  0, or -1 with n->err set. */
int guest_vnet_send(struct guest_vnet *n, unsigned q, const struct virtio_net_hdr *h,
		    const void *frame, uint32_t len);
/* Takes the next received packet from receive queue q, if any: its header
 * in *h and frame (up to max bytes) in frame, reassembled from num_buffers
 * buffers with MRG_RXBUF, and makes the buffers available again.  The frame
 * length, 0 if none is waiting, -1 (n->err) if the device broke a rule:
 * a bad id or length, num_buffers 0 or missing buffers, a frame longer than
 * max, writes outside the descriptors. */
int guest_vnet_recv(struct guest_vnet *n, unsigned q, struct virtio_net_hdr *h,
		    void *frame, uint32_t max);
/* guest_vnet_recv() for benchmarks: takes the next received packet of
 * queue q with the same checks of ids, lengths and num_buffers but without
 * the canaries and the copy: its header in *h and the first min(peek,
 * length) frame bytes of its first buffer in frame; the buffers are
 * reposted as they are and not notified (guest_vq_kick(&n->rx[q]) after a
 * batch).  From the first call on, no receive buffer of the device gets a
 * canary again and guest_vnet_recv() stops checking them.  The frame
 * length, 0 if none is waiting, -1 (n->err). */
int guest_vnet_recv_peek(struct guest_vnet *n, unsigned q, struct virtio_net_hdr *h,
			 void *frame, uint32_t peek);
/* Reclaims completed transmit buffers of queue q; -1 (n->err) on a bad id. */
int guest_vnet_tx_reap(struct guest_vnet *n, unsigned q);
/* A control-queue command: the ack byte (VIRTIO_NET_OK / _ERR), or -1. */
int guest_vnet_ctrl(struct guest_vnet *n, uint8_t class, uint8_t cmd, const void *data,
		    uint32_t len);

/* --- Ethernet, ARP, IPv4, ICMP, UDP ------------------------------------------- */
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

struct eth_hdr {
	uint8_t dst[6], src[6];
	uint16_t type;
} __attribute__((packed));

struct arp_pkt {                        /* Ethernet/IPv4 ARP, RFC 826 */
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;                    /* 1 request, 2 reply */
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
} __attribute__((packed));

struct ip_hdr {
	uint8_t ver_ihl, tos;
	uint16_t len, id, frag;
	uint8_t ttl, proto;
	uint16_t csum;
	uint32_t src, dst;
} __attribute__((packed));

struct icmp_hdr {
	uint8_t type, code;
	uint16_t csum, id, seq;
} __attribute__((packed));

struct tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t off, flags;             /* data offset << 4; FIN 1 SYN 2 RST 4 PSH 8 ACK 16 */
	uint16_t win, csum, urg;
} __attribute__((packed));

struct udp_hdr {
	uint16_t sport, dport, len, csum;
} __attribute__((packed));

static inline uint16_t be16(uint16_t x)
{
	return (uint16_t)(x << 8 | x >> 8);
}

static inline uint32_t be32(uint32_t x)
{
	return __builtin_bswap32(x);
}

/* One's-complement sum of n bytes as big-endian 16-bit words, added to sum
 * (RFC 1071); fold with inet_fold(). */
uint32_t inet_sum(const void *p, size_t n, uint32_t sum);
/* Folds a sum to 16 bits, not complemented. */
uint16_t inet_fold(uint32_t sum);
/* The IPv4 pseudo-header sum for UDP/TCP (RFC 768). */
uint32_t inet_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
/* "a.b.c.d" -> network-order address; false if malformed. */
bool inet_parse_ip(const char *s, uint32_t *ip);
/* "aa:bb:cc:dd:ee:ff" -> 6 bytes; false if malformed. */
bool inet_parse_mac(const char *s, uint8_t mac[6]);

#endif
