/* Polling virtio-net driver for the test guests (virtio 1.2 section 5.1),
 * on lib/virtio.c.  One device per guest: queue and buffer memory is
 * static.  Receive buffers are filled with a canary byte before they are
 * made available, so writes outside a descriptor show up (see
 * guest_vnet_init() in net.h for the buffer layouts). */
#include "net.h"

#define HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr))
#define CANARY 0xa5
/* Without MRG_RXBUF a receive buffer holds header + 1514 bytes (5.1.6.3.1),
 * split in three pieces of a slot with canary gaps between them. */
#define PIECE_A 0u			/* the header, 12 bytes */
#define PIECE_B 32u			/* first 100 frame bytes */
#define PIECE_B_LEN 100u
#define PIECE_C 160u			/* the other 1414 */
#define PIECE_C_LEN (GUEST_VNET_FRAME_MAX - PIECE_B_LEN)
#define BIG_BUF (HDR_LEN + GUEST_VNET_FRAME_MAX)
#define TX_FRAME 64u			/* frame offset in a transmit slot */

static uint8_t qmem[2 * GUEST_VNET_MAX_PAIRS + 1][GUEST_VQ_MEM] __attribute__((aligned(4096)));
static uint8_t rxmem[GUEST_VNET_MAX_PAIRS][GUEST_VQ_MAX][GUEST_VNET_SLOT]
	__attribute__((aligned(4096)));
static uint8_t txmem[GUEST_VNET_MAX_PAIRS][GUEST_VQ_MAX][GUEST_VNET_SLOT]
	__attribute__((aligned(4096)));
static struct { uint8_t class, cmd; } ctrl_hdr;
static uint8_t ctrl_data[64];
static volatile uint8_t ctrl_ack;

static int fail(struct guest_vnet *n, const char *fmt, ...) GUEST_PRINTF(2, 3);
static int fail(struct guest_vnet *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	guest_vsnprintf(n->err, sizeof(n->err), fmt, ap);
	va_end(ap);
	return -1;
}

static bool canary_ok(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != CANARY)
			return false;
	return true;
}

/* Makes one receive buffer available on queue q; its slot is the head
 * descriptor's id, which guest_vq_add() takes from free_head. */
static int rx_post(struct guest_vnet *n, unsigned q)
{
	struct guest_vq *vq = &n->rx[q];
	uint8_t *s = rxmem[q][vq->free_head];
	struct guest_vbuf b[3];
	unsigned nb = 0;

	if (!n->no_canary)
		memset(s, CANARY, GUEST_VNET_SLOT);
	if (n->mrg) {
		b[nb++] = (struct guest_vbuf){ s, n->rxbuf, true };
	} else {
		b[nb++] = (struct guest_vbuf){ s + PIECE_A, HDR_LEN, true };
		b[nb++] = (struct guest_vbuf){ s + PIECE_B, PIECE_B_LEN, true };
		b[nb++] = (struct guest_vbuf){ s + PIECE_C, PIECE_C_LEN, true };
	}
	return guest_vq_add(vq, b, nb) < 0 ? -1 : 0;
}

static uint16_t queue_size(struct guest_virtio *v, unsigned q, uint16_t want)
{
	uint16_t max;

	mmio_write16(v->common + 0x16, (uint16_t)q);	/* queue_select */
	max = mmio_read16(v->common + 0x18);		/* queue_size */
	while (want > max && want > 1)
		want /= 2;
	return want;
}

int guest_vnet_init(struct guest_vnet *n, unsigned nth, uint64_t want, unsigned pairs,
		    uint32_t rxbuf, unsigned rx_posted, uint64_t timeout_cycles)
{
	struct guest_virtio *v = &n->v;
	unsigned ctrl_q;
	int r;

	memset(n, 0, sizeof(*n));
	n->timeout = timeout_cycles;
	if (guest_virtio_find(VIRTIO_ID_NET, nth, v))
		return fail(n, "no virtio-net device #%u on bus 0", nth);
	if (pairs > 1)
		want |= 1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_MQ;
	if (guest_virtio_negotiate(v, want | 1ull << VIRTIO_F_VERSION_1, &n->features))
		return fail(n, "device refused features 0x%llx (FEATURES_OK clear)",
			    (unsigned long long)v->features);
	if (!(n->features & 1ull << VIRTIO_F_VERSION_1))
		return fail(n, "device does not offer VIRTIO_F_VERSION_1");
	for (unsigned i = 0; i < 6; i++)
		n->mac[i] = n->features & 1ull << VIRTIO_NET_F_MAC ? mmio_read8(v->devcfg + i) : 0;
	n->status = n->features & 1ull << VIRTIO_NET_F_STATUS ? mmio_read16(v->devcfg + 6) :
								VIRTIO_NET_S_LINK_UP;
	n->max_pairs = n->features & 1ull << VIRTIO_NET_F_MQ ? mmio_read16(v->devcfg + 8) : 1;
	if (n->max_pairs < 1 || n->max_pairs > 0x8000)
		return fail(n, "max_virtqueue_pairs %u outside 1..0x8000", n->max_pairs);
	n->pairs = (uint16_t)(pairs < 1 ? 1 : pairs);
	if (n->pairs > n->max_pairs)
		n->pairs = n->max_pairs;
	if (n->pairs > GUEST_VNET_MAX_PAIRS)
		n->pairs = GUEST_VNET_MAX_PAIRS;
	n->mrg = !!(n->features & 1ull << VIRTIO_NET_F_MRG_RXBUF);
	n->rxbuf = n->mrg ? rxbuf : BIG_BUF;
	if (n->mrg && (rxbuf < HDR_LEN || rxbuf > GUEST_VNET_SLOT))
		return fail(n, "receive buffer size %u outside %u..%u", rxbuf, HDR_LEN,
			    GUEST_VNET_SLOT);
	for (unsigned p = 0; p < n->pairs; p++) {
		r = guest_vq_init(v, 2 * p, &n->rx[p], qmem[2 * p],
				  queue_size(v, 2 * p, GUEST_VQ_MAX));
		if (!r)
			r = guest_vq_init(v, 2 * p + 1, &n->tx[p], qmem[2 * p + 1],
					  queue_size(v, 2 * p + 1, 64));
		if (r)
			return fail(n, "queue pair %u set-up failed (%d)", p, r);
	}
	/* controlq is 2N with MQ, else 2 (5.1.2). */
	ctrl_q = n->features & 1ull << VIRTIO_NET_F_MQ ? 2u * n->max_pairs : 2u;
	if (n->features & 1ull << VIRTIO_NET_F_CTRL_VQ &&
	    guest_vq_init(v, ctrl_q, &n->ctrl, qmem[2 * GUEST_VNET_MAX_PAIRS],
			  queue_size(v, ctrl_q, 8)))
		return fail(n, "control queue %u set-up failed", ctrl_q);
	guest_virtio_driver_ok(v);
	if ((guest_virtio_status(v) & 0xcf) != 0x0f)	/* not FAILED / NEEDS_RESET */
		return fail(n, "device status 0x%x after DRIVER_OK", guest_virtio_status(v));
	for (unsigned p = 0; p < n->pairs; p++) {
		unsigned per = n->mrg || n->rx[p].indirect ? 1 : 3;
		unsigned cap = n->rx[p].size / per;

		n->rx_posted = rx_posted && rx_posted < cap ? rx_posted : cap;
		for (unsigned i = 0; i < n->rx_posted; i++)
			if (rx_post(n, p))
				return fail(n, "posting receive buffer %u of queue %u", i, p);
		guest_vq_kick(&n->rx[p]);
	}
	if (n->pairs > 1) {
		uint16_t le = n->pairs;

		r = guest_vnet_ctrl(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &le, 2);
		if (r != VIRTIO_NET_OK)
			return fail(n, "VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET %u: %s %d", n->pairs,
				    r < 0 ? "no answer" : "ack", r);
	}
	return 0;
}

int guest_vnet_tx_reap(struct guest_vnet *n, unsigned q)
{
	uint16_t id;
	uint32_t len;
	int r;

	while ((r = guest_vq_poll(&n->tx[q], &id, &len)) > 0)
		;
	return r < 0 ? fail(n, "transmit queue %u: used id %u is not a head in flight", q, id)
		     : 0;
}

int guest_vnet_send(struct guest_vnet *n, unsigned q, const struct virtio_net_hdr *h,
		    const void *frame, uint32_t len)
{
	struct guest_vq *vq = &n->tx[q];
	unsigned need = vq->indirect ? 1 : 2;
	uint64_t start = rdtsc();
	struct guest_vbuf b[2];
	uint8_t *s;

	if (q >= n->pairs || len > GUEST_VNET_SLOT - TX_FRAME)
		return fail(n, "send: queue %u / length %u out of range", q, len);
	for (;;) {
		if (guest_vnet_tx_reap(n, q))
			return -1;
		if (vq->num_free >= need)
			break;
		if (rdtsc() - start > n->timeout)
			return fail(n, "transmit queue %u: no buffer completed in %llu Mcycles", q,
				    (unsigned long long)(n->timeout >> 20));
		cpu_relax();
	}
	s = txmem[q][vq->free_head];
	memcpy(s, h, HDR_LEN);
	memcpy(s + TX_FRAME, frame, len);
	b[0] = (struct guest_vbuf){ s, HDR_LEN, false };
	b[1] = (struct guest_vbuf){ s + TX_FRAME, len, false };
	if (guest_vq_add(vq, b, 2) < 0)
		return fail(n, "transmit queue %u: add failed", q);
	guest_vq_kick(vq);
	n->st[q].tx_packets++;
	return 0;
}

/* Copies [off, off + len) of the packet (header included) out of a buffer. */
static int take(struct guest_vnet *n, const uint8_t *src, uint32_t off, uint32_t len,
		struct virtio_net_hdr *h, uint8_t *frame, uint32_t max)
{
	for (uint32_t i = 0; i < len; i++, off++) {
		if (off < HDR_LEN)
			((uint8_t *)h)[off] = src[i];
		else if (off - HDR_LEN < max)
			frame[off - HDR_LEN] = src[i];
		else
			return fail(n, "received frame longer than %u bytes", max);
	}
	return 0;
}

/* One used receive buffer: copies it, checks its canaries, reposts it. */
static int rx_buffer(struct guest_vnet *n, unsigned q, uint16_t id, uint32_t len,
		     uint32_t *off, struct virtio_net_hdr *h, uint8_t *frame, uint32_t max)
{
	const uint8_t *s = rxmem[q][id];

	n->st[q].rx_buffers++;
	if (len > n->rxbuf || (*off == 0 && len < HDR_LEN))
		return fail(n, "receive queue %u: used length %u for a %u-byte buffer", q, len,
			    n->rxbuf);
	if (n->mrg) {
		if (take(n, s, *off, len, h, frame, max))
			return -1;
		if (!n->no_canary && n->rxbuf < GUEST_VNET_SLOT &&
		    !canary_ok(s + n->rxbuf, GUEST_VNET_SLOT - n->rxbuf))
			return fail(n, "receive queue %u: device wrote past a %u-byte buffer", q,
				    n->rxbuf);
	} else {
		uint32_t fl = len - HDR_LEN;
		uint32_t b = fl < PIECE_B_LEN ? fl : PIECE_B_LEN;

		if (take(n, s + PIECE_A, 0, HDR_LEN, h, frame, max) ||
		    take(n, s + PIECE_B, HDR_LEN, b, h, frame, max) ||
		    take(n, s + PIECE_C, HDR_LEN + b, fl - b, h, frame, max))
			return -1;
		if (!n->no_canary &&
		    (!canary_ok(s + PIECE_A + HDR_LEN, PIECE_B - HDR_LEN) ||
		     !canary_ok(s + PIECE_B + PIECE_B_LEN, PIECE_C - PIECE_B - PIECE_B_LEN) ||
		     !canary_ok(s + PIECE_C + PIECE_C_LEN, GUEST_VNET_SLOT - PIECE_C - PIECE_C_LEN)))
			return fail(n, "receive queue %u: device wrote between or past the "
				    "descriptors of a chain", q);
		/* Bytes past the used length stay untouched. */
		if (!n->no_canary &&
		    (fl < PIECE_B_LEN ? !canary_ok(s + PIECE_B + fl, PIECE_B_LEN - fl) :
					!canary_ok(s + PIECE_C + fl - b, PIECE_C_LEN - (fl - b))))
			return fail(n, "receive queue %u: device wrote past the used length %u", q,
				    len);
	}
	*off += len;
	return rx_post(n, q) ? fail(n, "receive queue %u: repost failed", q) : 0;
}

/* Counts one received packet of nb buffers with header h. */
static void rx_count(struct guest_vnet *n, unsigned q, const struct virtio_net_hdr *h,
		     uint16_t nb)
{
	n->st[q].rx_packets++;
	n->st[q].rx_merged += nb > 1;
	n->st[q].rx_needs_csum += !!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	n->st[q].rx_data_valid += !!(h->flags & VIRTIO_NET_HDR_F_DATA_VALID);
	if (nb > n->st[q].rx_max_buffers)
		n->st[q].rx_max_buffers = nb;
}

int guest_vnet_recv(struct guest_vnet *n, unsigned q, struct virtio_net_hdr *h,
		    void *frame, uint32_t max)
{
	struct guest_vq *vq = &n->rx[q];
	uint32_t len, off = 0;
	uint16_t id, nb;
	int r;

	if (q >= n->pairs)
		return fail(n, "recv: queue %u out of range", q);
	r = guest_vq_poll(vq, &id, &len);
	if (r == 0)
		return 0;
	if (r < 0)
		return fail(n, "receive queue %u: used id %u is not a head in flight", q, id);
	if (rx_buffer(n, q, id, len, &off, h, frame, max))
		return -1;
	nb = h->num_buffers;
	if (n->mrg && nb == 0)
		return fail(n, "receive queue %u: num_buffers 0", q);
	for (unsigned i = 1; n->mrg && i < nb; i++) {
		int64_t l = guest_vq_wait(vq, &id, n->timeout);

		if (l < 0)
			return fail(n, "receive queue %u: buffer %u of %u %s", q, i + 1, nb,
				    l == -1 ? "never came" : "has a bad id");
		if (rx_buffer(n, q, id, (uint32_t)l, &off, h, frame, max))
			return -1;
	}
	guest_vq_kick(vq);
	if (!n->mrg)
		nb = 1;		/* num_buffers is the caller's to check */
	rx_count(n, q, h, nb);
	return (int)(off - HDR_LEN);
}

int guest_vnet_recv_peek(struct guest_vnet *n, unsigned q, struct virtio_net_hdr *h,
			 void *frame, uint32_t peek)
{
	struct guest_vq *vq = &n->rx[q];
	uint32_t total = 0;
	uint16_t nb = 1;

	if (q >= n->pairs)
		return fail(n, "recv: queue %u out of range", q);
	n->no_canary = true;
	for (unsigned i = 0; i < nb; i++) {
		const uint8_t *s;
		uint32_t len;
		uint16_t id;

		if (i == 0) {
			int r = guest_vq_poll(vq, &id, &len);

			if (r == 0)
				return 0;
			if (r < 0)
				return fail(n, "receive queue %u: used id %u is not a head in "
					    "flight", q, id);
		} else {
			int64_t l = guest_vq_wait(vq, &id, n->timeout);

			if (l < 0)
				return fail(n, "receive queue %u: buffer %u of %u %s", q, i + 1,
					    nb, l == -1 ? "never came" : "has a bad id");
			len = (uint32_t)l;
		}
		n->st[q].rx_buffers++;
		if (len > n->rxbuf || (i == 0 && len < HDR_LEN))
			return fail(n, "receive queue %u: used length %u for a %u-byte buffer",
				    q, len, n->rxbuf);
		s = rxmem[q][id];
		if (i == 0) {
			uint32_t fl = len - HDR_LEN, k = fl < peek ? fl : peek;

			memcpy(h, s + PIECE_A, HDR_LEN);
			if (n->mrg) {
				nb = h->num_buffers;
				if (nb == 0)
					return fail(n, "receive queue %u: num_buffers 0", q);
				memcpy(frame, s + HDR_LEN, k);
			} else {
				uint32_t b = k < PIECE_B_LEN ? k : PIECE_B_LEN;

				memcpy(frame, s + PIECE_B, b);
				memcpy((uint8_t *)frame + b, s + PIECE_C, k - b);
			}
		}
		total += len;
		if (rx_post(n, q))
			return fail(n, "receive queue %u: repost failed", q);
	}
	rx_count(n, q, h, nb);
	return (int)(total - HDR_LEN);
}

int guest_vnet_ctrl(struct guest_vnet *n, uint8_t class, uint8_t cmd, const void *data,
		    uint32_t len)
{
	struct guest_vbuf b[3];
	unsigned nb = 0;

	if (!n->ctrl.size || len > sizeof(ctrl_data))
		return fail(n, "no control queue");
	ctrl_hdr.class = class;
	ctrl_hdr.cmd = cmd;
	memcpy(ctrl_data, data, len);
	ctrl_ack = 0xee;
	b[nb++] = (struct guest_vbuf){ &ctrl_hdr, sizeof(ctrl_hdr), false };
	if (len)
		b[nb++] = (struct guest_vbuf){ ctrl_data, len, false };
	b[nb++] = (struct guest_vbuf){ (void *)&ctrl_ack, 1, true };
	if (guest_vq_run(&n->ctrl, b, nb) < 0)
		return fail(n, "control command %u/%u: no answer", class, cmd);
	return ctrl_ack;
}
