/* virtio-net through the virtio-pci transport, with fake guest RAM, a
 * SOCK_SEQPACKET socket pair standing in for each TAP queue, and the test
 * playing the guest driver: transmit as-is (header and frame), receive
 * into one buffer or merged buffers with num_buffers, a guest without
 * room (the packet waits, nothing wedges), too-small buffers, malformed
 * chains, the control queue's MQ command, reset. */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basalt/virtio/net.h"
#include "fixtures.h"

#define RAM_GPA 0x100000ull
#define RAM_SIZE 0x200000ull
#define QSIZE 16
#define MAXQ 5
/* Queue q's rings at RAM_GPA + q * 0x4000; buffers from BUFS up. */
#define RING(q) (RAM_GPA + (uint64_t)(q) * 0x4000)
#define BUFS (RAM_GPA + 0x40000)

#define DEVFN (5 << 3)

static uint8_t *ram;
static struct guest_mem gm;
static struct pci_bus bus;
static struct virtio_net *d;
static int peer[2];              /* our ends of the two pairs' sockets */
static int devfd[2];
static unsigned fires;

static struct tq {
	uint16_t avail_idx, used_seen, next;
} tq[MAXQ];

static uint8_t *H(uint64_t gpa) { return ram + (gpa - RAM_GPA); }

static void s_route(void *c, unsigned v, uint64_t a, uint32_t dd, bool ok)
{
	(void)c; (void)v; (void)a; (void)dd; (void)ok;
}

static void s_fire(void *c, unsigned v)
{
	(void)c; (void)v;
	fires++;
}

static const struct msix_sink sink = { s_route, s_fire, NULL };

static uint32_t rd(uint64_t off, unsigned len)
{
	uint32_t v = 0;

	d->t.f.bar[VIRTIO_PCI_BAR].ops->read(&d->t, off, &v, len);
	return v;
}

static void wr(uint64_t off, unsigned len, uint32_t v)
{
	d->t.f.bar[VIRTIO_PCI_BAR].ops->write(&d->t, off, &v, len);
}

static uint8_t status(void)
{
	return (uint8_t)rd(VPCI_STATUS, 1);
}

/* A device with `pairs` pairs; the driver accepts features lo (bits
 * 0..31) plus VERSION_1 and enables nq queues. */
static void start(unsigned pairs, uint32_t lo, unsigned nq)
{
	struct virtio_net_params p = {
		.name = "virtio-net-test", .pairs = pairs, .fds = devfd,
		.mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, .queue_size = QSIZE,
		.gm = &gm, .sink = &sink, .vm_fd = -1,
	};
	struct bs_err e;

	for (unsigned k = 0; k < pairs; k++) {
		int sv[2];

		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
		devfd[k] = sv[0];
		peer[k] = sv[1];
	}
	ck_assert_int_eq(virtio_net_create(&d, &p, &e), 0);
	wr(VPCI_STATUS, 1, 3);
	wr(VPCI_GFSELECT, 4, 0);
	wr(VPCI_GF, 4, lo);
	wr(VPCI_GFSELECT, 4, 1);
	wr(VPCI_GF, 4, 1);		/* VERSION_1 */
	wr(VPCI_STATUS, 1, 0x0b);
	ck_assert_uint_eq(status(), 0x0b);
	for (unsigned q = 0; q < nq; q++) {
		wr(VPCI_Q_SELECT, 2, q);
		wr(VPCI_Q_SIZE, 2, QSIZE);
		wr(VPCI_Q_DESCLO, 4, (uint32_t)RING(q));
		wr(VPCI_Q_AVAILLO, 4, (uint32_t)(RING(q) + 0x1000));
		wr(VPCI_Q_USEDLO, 4, (uint32_t)(RING(q) + 0x2000));
		wr(VPCI_Q_MSIX, 2, q);
		wr(VPCI_Q_ENABLE, 2, 1);
	}
	/* MSI-X on, every queue's vector unmasked: fires counts interrupts. */
	pci_bus_init(&bus);
	ck_assert_int_eq(pci_bus_add(&bus, 5, &d->t.f, &e), 0);
	pci_cfg_write(&bus, 0, DEVFN, d->t.msix.cap + 2, 2, MSIX_CTRL_ENABLE);
	for (unsigned q = 0; q < nq; q++) {
		wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 * q, 4, 0xfee00000);
		wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 * q + 8, 4, 0x40 + q);
		wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 * q + 12, 4, 0);
	}
	wr(VPCI_STATUS, 1, 0x0f);
	ck_assert_uint_eq(status(), 0x0f);
}

static void setup(void)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	gm_init_fake(&gm, ram, RAM_GPA, RAM_SIZE);
	memset(tq, 0, sizeof(tq));
	fires = 0;
	d = NULL;
	peer[0] = peer[1] = devfd[0] = devfd[1] = -1;
}

static void teardown(void)
{
	if (d)
		virtio_net_destroy(d);
	for (unsigned k = 0; k < 2; k++) {
		if (peer[k] >= 0)
			close(peer[k]);
		if (devfd[k] >= 0)
			close(devfd[k]);
	}
	free(ram);
}

struct b { uint64_t gpa; uint32_t len; bool w; };

/* Makes a chain of n descriptors available on queue q (no kick). */
static void post(unsigned q, const struct b *bufs, unsigned n)
{
	struct tq *t = &tq[q];
	uint16_t head = t->next, idx;

	for (unsigned i = 0; i < n; i++) {
		uint16_t slot = (uint16_t)((t->next + i) % QSIZE);
		struct virtq_desc x = {
			htole64(bufs[i].gpa), htole32(bufs[i].len),
			htole16((uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
					   (bufs[i].w ? VIRTQ_DESC_F_WRITE : 0))),
			htole16((uint16_t)((slot + 1) % QSIZE)),
		};

		memcpy(H(RING(q) + 16 * slot), &x, 16);
	}
	t->next = (uint16_t)((t->next + n) % QSIZE);
	memcpy(H(RING(q) + 0x1000 + 4 + 2 * (t->avail_idx % QSIZE)), &(uint16_t){ htole16(head) }, 2);
	t->avail_idx++;
	idx = htole16(t->avail_idx);
	memcpy(H(RING(q) + 0x1000 + 2), &idx, 2);
}

static uint16_t used_idx(unsigned q)
{
	uint16_t idx;

	memcpy(&idx, H(RING(q) + 0x2000 + 2), 2);
	return le16toh(idx);
}

/* The next used element of queue q; checks one is there. */
static struct virtq_used_elem next_used(unsigned q)
{
	struct tq *t = &tq[q];
	struct virtq_used_elem u;

	ck_assert_uint_gt((uint16_t)(used_idx(q) - t->used_seen), 0);
	memcpy(&u, H(RING(q) + 0x2000 + 4 + 8 * (t->used_seen % QSIZE)), 8);
	t->used_seen++;
	return (struct virtq_used_elem){ le32toh(u.id), le32toh(u.len) };
}

static void put_hdr(uint8_t *h, uint8_t flags, uint16_t csum_start, uint16_t csum_off)
{
	memset(h, 0, VIRTIO_NET_HDR_LEN);
	h[0] = flags;
	h[6] = (uint8_t)csum_start;
	h[7] = (uint8_t)(csum_start >> 8);
	h[8] = (uint8_t)csum_off;
	h[9] = (uint8_t)(csum_off >> 8);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

/* The peer (the "TAP") sends a packet: header with flags, then len bytes
 * of frame. */
static void peer_send(unsigned k, size_t len, unsigned seed, uint8_t *out)
{
	uint8_t *pkt = malloc(VIRTIO_NET_HDR_LEN + len);

	put_hdr(pkt, VIRTIO_NET_HDR_F_DATA_VALID, 0, 0);
	fill(pkt + VIRTIO_NET_HDR_LEN, len, seed);
	ck_assert_int_eq(write(peer[k], pkt, VIRTIO_NET_HDR_LEN + len),
			 (ssize_t)(VIRTIO_NET_HDR_LEN + len));
	if (out)
		memcpy(out, pkt, VIRTIO_NET_HDR_LEN + len);
	free(pkt);
}

static uint16_t num_buffers(uint64_t gpa)
{
	return (uint16_t)(H(gpa)[10] | H(gpa)[11] << 8);
}

#define F_MRG (1u << VIRTIO_NET_F_MRG_RXBUF)
#define F_BASE (1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS | \
		1u << VIRTIO_NET_F_CSUM | 1u << VIRTIO_NET_F_CTRL_VQ)

START_TEST(config_and_features)
{
	start(2, F_BASE, 2);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF, 1), 0x52);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 5, 1), 0x56);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 6, 2), VIRTIO_NET_S_LINK_UP);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 8, 2), 2);	/* max pairs */
	ck_assert_uint_eq(rd(VPCI_NUMQ, 2), 5);				/* 2 pairs + ctrl */
	wr(VPCI_DFSELECT, 4, 0);
	ck_assert(rd(VPCI_DF, 4) & (1u << VIRTIO_NET_F_MQ));
	ck_assert(rd(VPCI_DF, 4) & (1u << VIRTIO_NET_F_GUEST_TSO4));
	ck_assert(rd(VPCI_DF, 4) & F_MRG);
}
END_TEST

START_TEST(transmit_as_is)
{
	uint8_t frame[VIRTIO_NET_HDR_LEN + 1000], got[2048];
	struct virtio_net_stats st;
	struct virtq_used_elem u;

	start(1, F_BASE, 2);
	/* Header with a checksum request, frame split over two descriptors. */
	put_hdr(frame, VIRTIO_NET_HDR_F_NEEDS_CSUM, 34, 6);
	fill(frame + VIRTIO_NET_HDR_LEN, 1000, 3);
	memcpy(H(BUFS), frame, 300);
	memcpy(H(BUFS + 0x1000), frame + 300, sizeof(frame) - 300);
	post(1, (struct b[]){ { BUFS, 300, 0 }, { BUFS + 0x1000, sizeof(frame) - 300, 0 } }, 2);
	virtio_net_tx(d, 0);
	ck_assert_int_eq(read(peer[0], got, sizeof(got)), (ssize_t)sizeof(frame));
	ck_assert_mem_eq(got, frame, sizeof(frame));
	u = next_used(1);
	ck_assert_uint_eq(u.id, 0);
	ck_assert_uint_eq(u.len, 0);
	ck_assert_uint_gt(fires, 0);
	/* Header only (no frame) is dropped; the buffer still comes back. */
	post(1, (struct b[]){ { BUFS, VIRTIO_NET_HDR_LEN, 0 } }, 1);
	virtio_net_tx(d, 0);
	next_used(1);
	ck_assert_int_eq(read(peer[0], got, sizeof(got)), -1);
	virtio_net_get_stats(d, &st);
	ck_assert_uint_eq(st.tx_packets, 1);
	ck_assert_uint_eq(st.tx_bytes, 1000);
	ck_assert_uint_eq(st.tx_dropped, 1);
	ck_assert_uint_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0);
}
END_TEST

START_TEST(receive_one_buffer)
{
	uint8_t sent[VIRTIO_NET_HDR_LEN + 600];
	struct virtq_used_elem u;

	start(1, F_BASE, 2);
	memset(H(BUFS), 0xee, 0x1000);
	post(0, (struct b[]){ { BUFS, 1526, 1 } }, 1);
	peer_send(0, 600, 9, sent);
	virtio_net_rx(d, 0);
	u = next_used(0);
	ck_assert_uint_eq(u.id, 0);
	ck_assert_uint_eq(u.len, sizeof(sent));
	ck_assert_uint_eq(num_buffers(BUFS), 1);	/* set without MRG_RXBUF too */
	ck_assert_mem_eq(H(BUFS), sent, 10);
	ck_assert_mem_eq(H(BUFS + 12), sent + 12, 600);
	ck_assert_uint_eq(H(BUFS)[sizeof(sent)], 0xee);
	ck_assert_uint_gt(fires, 0);
}
END_TEST

START_TEST(receive_merged)
{
	uint8_t sent[VIRTIO_NET_HDR_LEN + 700];
	struct virtq_used_elem u;
	uint16_t before;

	start(1, F_BASE | F_MRG, 2);
	for (unsigned i = 0; i < 5; i++)
		post(0, (struct b[]){ { BUFS + 0x1000 * i, 256, 1 } }, 1);
	peer_send(0, 700, 1, sent);
	before = used_idx(0);
	virtio_net_rx(d, 0);
	/* 712 bytes: 256 + 256 + 200, published together. */
	ck_assert_uint_eq((uint16_t)(used_idx(0) - before), 3);
	ck_assert_uint_eq(num_buffers(BUFS), 3);
	for (unsigned i = 0; i < 3; i++) {
		u = next_used(0);
		ck_assert_uint_eq(u.id, i);
		ck_assert_uint_eq(u.len, i < 2 ? 256 : 200);
		ck_assert_mem_eq(H(BUFS + 0x1000 * i) + (i ? 0 : 12),
				 sent + 256 * i + (i ? 0 : 12), u.len - (i ? 0 : 12));
	}
	/* The next packet starts in the fourth buffer. */
	peer_send(0, 100, 2, sent);
	virtio_net_rx(d, 0);
	u = next_used(0);
	ck_assert_uint_eq(u.id, 3);
	ck_assert_uint_eq(u.len, 112);
	ck_assert_uint_eq(num_buffers(BUFS + 0x3000), 1);
}
END_TEST

/* Packets arrive while the guest has no buffers (the TAP fills up): they
 * wait; once the guest adds buffers and notifies, every one comes
 * through, in order -- the device never needs another fd wake-up. */
START_TEST(no_room_then_recovery)
{
	struct virtio_net_stats st;

	start(1, F_BASE | F_MRG, 2);
	for (unsigned i = 0; i < 6; i++)
		peer_send(0, 200 + i, i, NULL);
	virtio_net_rx(d, 0);
	ck_assert_uint_eq(used_idx(0), 0);
	/* Partial room for a merged packet: nothing is half-delivered. */
	post(0, (struct b[]){ { BUFS, 100, 1 } }, 1);
	virtio_net_rx(d, 0);
	ck_assert_uint_eq(used_idx(0), 0);
	for (unsigned i = 1; i < 12; i++)
		post(0, (struct b[]){ { BUFS + 0x1000 * i, 256, 1 } }, 1);
	virtio_net_rx(d, 0);	/* what the driver's notification triggers */
	/* 6 packets: the first takes the 100-byte buffer and one more. */
	ck_assert_uint_eq(used_idx(0), 7);
	for (unsigned i = 0; i < 7; i++) {
		struct virtq_used_elem u = next_used(0);

		ck_assert_uint_eq(u.id, i);
		if (i == 0)
			ck_assert_uint_eq(u.len, 100);
		if (i == 1)
			ck_assert_uint_eq(u.len, 212 - 100);
		if (i >= 2)
			ck_assert_uint_eq(u.len, 212 + i - 1);
	}
	virtio_net_get_stats(d, &st);
	ck_assert_uint_eq(st.rx_packets, 6);
	ck_assert_uint_eq(st.rx_dropped, 0);
}
END_TEST

START_TEST(too_small_buffer_drops_packet)
{
	struct virtio_net_stats st;
	struct virtq_used_elem u;

	start(1, F_BASE, 2);
	post(0, (struct b[]){ { BUFS, 128, 1 } }, 1);
	peer_send(0, 500, 1, NULL);	/* cannot fit without MRG_RXBUF */
	peer_send(0, 60, 2, NULL);
	virtio_net_rx(d, 0);
	u = next_used(0);
	ck_assert_uint_eq(u.id, 0);	/* the small buffer took the small packet */
	ck_assert_uint_eq(u.len, 72);
	virtio_net_get_stats(d, &st);
	ck_assert_uint_eq(st.rx_dropped, 1);
	ck_assert_uint_eq(st.rx_packets, 1);
}
END_TEST

START_TEST(readable_rx_buffer_needs_reset)
{
	start(1, F_BASE | F_MRG, 2);
	post(0, (struct b[]){ { BUFS, 256, 0 } }, 1);	/* device-readable */
	peer_send(0, 100, 1, NULL);
	virtio_net_rx(d, 0);
	ck_assert_uint_eq(used_idx(0), 0);
	ck_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
}
END_TEST

START_TEST(short_merged_buffer_needs_reset)
{
	start(1, F_BASE | F_MRG, 2);
	post(0, (struct b[]){ { BUFS, 8, 1 } }, 1);	/* < header */
	peer_send(0, 100, 1, NULL);
	virtio_net_rx(d, 0);
	ck_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
}
END_TEST

START_TEST(bad_chain_needs_reset)
{
	start(1, F_BASE, 2);
	/* A descriptor outside guest RAM. */
	post(1, (struct b[]){ { 0x1000, 100, 0 } }, 1);
	virtio_net_tx(d, 0);
	ck_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(used_idx(1), 0);
}
END_TEST

static uint8_t ctrl(unsigned q, uint8_t cls, uint8_t cmd, uint16_t arg, uint32_t len)
{
	uint8_t c[4] = { cls, cmd, (uint8_t)arg, (uint8_t)(arg >> 8) };

	memcpy(H(BUFS + 0x8000), c, 4);
	*H(BUFS + 0x9000) = 0xaa;
	post(q, (struct b[]){ { BUFS + 0x8000, len, 0 }, { BUFS + 0x9000, 1, 1 } }, 2);
	virtio_net_ctrl(d);
	ck_assert_uint_eq(next_used(q).len, 1);
	return *H(BUFS + 0x9000);
}

START_TEST(control_queue_mq)
{
	uint8_t got[256];

	start(2, F_BASE | F_MRG | 1u << VIRTIO_NET_F_MQ, 5);
	/* Multiqueue starts off: pair 1 does not receive. */
	post(2, (struct b[]){ { BUFS, 256, 1 } }, 1);
	peer_send(1, 50, 1, NULL);
	virtio_net_rx(d, 1);
	ck_assert_uint_eq(used_idx(2), 0);
	ck_assert_uint_eq(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 3, 4),
			  VIRTIO_NET_ERR);
	ck_assert_uint_eq(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 0, 4),
			  VIRTIO_NET_ERR);
	ck_assert_uint_eq(ctrl(4, 0 /* CTRL_RX: not offered */, 0, 1, 3), VIRTIO_NET_ERR);
	ck_assert_uint_eq(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 4),
			  VIRTIO_NET_OK);
	virtio_net_rx(d, 1);
	ck_assert_uint_eq(used_idx(2), 1);
	/* Pair 1 transmits on its own fd. */
	put_hdr(H(BUFS + 0x2000), 0, 0, 0);
	fill(H(BUFS + 0x2000) + 12, 64, 5);
	post(3, (struct b[]){ { BUFS + 0x2000, 76, 0 } }, 1);
	virtio_net_tx(d, 1);
	ck_assert_int_eq(read(peer[1], got, sizeof(got)), 76);
	ck_assert_int_eq(read(peer[0], got, sizeof(got)), -1);
	ck_assert_uint_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0);
}
END_TEST

START_TEST(control_without_mq_is_queue_2)
{
	start(2, F_BASE, 3);
	ck_assert_uint_eq(ctrl(2, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 4),
			  VIRTIO_NET_ERR);	/* MQ not negotiated */
}
END_TEST

START_TEST(control_without_ack_needs_reset)
{
	start(1, F_BASE, 3);
	memset(H(BUFS), 0, 4);
	post(2, (struct b[]){ { BUFS, 4, 0 } }, 1);
	virtio_net_ctrl(d);
	ck_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
}
END_TEST

START_TEST(reset_drops_pending)
{
	start(1, F_BASE | F_MRG, 2);
	peer_send(0, 100, 1, NULL);
	virtio_net_rx(d, 0);		/* pending: no buffers */
	wr(VPCI_STATUS, 1, 0);
	ck_assert_uint_eq(status(), 0);
	post(0, (struct b[]){ { BUFS, 256, 1 } }, 1);
	virtio_net_rx(d, 0);		/* not active: nothing happens */
	virtio_net_tx(d, 0);
	ck_assert_uint_eq(used_idx(0), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_net");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, config_and_features);
	tcase_add_test(t, transmit_as_is);
	tcase_add_test(t, receive_one_buffer);
	tcase_add_test(t, receive_merged);
	tcase_add_test(t, no_room_then_recovery);
	tcase_add_test(t, too_small_buffer_drops_packet);
	tcase_add_test(t, readable_rx_buffer_needs_reset);
	tcase_add_test(t, short_merged_buffer_needs_reset);
	tcase_add_test(t, bad_chain_needs_reset);
	tcase_add_test(t, control_queue_mq);
	tcase_add_test(t, control_without_mq_is_queue_2);
	tcase_add_test(t, control_without_ack_needs_reset);
	tcase_add_test(t, reset_drops_pending);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return fixture_run_suite(suite());
}
