/* virtio-net device: see include/basalt/virtio/net.h. */
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "basalt/log.h"
#include "basalt/net/tap.h"
#include "basalt/virtio/net.h"

static inline unsigned rxq(unsigned k) { return 2 * k; }
static inline unsigned txq(unsigned k) { return 2 * k + 1; }

/* Negotiated features, as activate() recorded them (I/O threads must not
 * take the transport lock: reset holds it while taking the pair locks). */
static bool has(struct virtio_net *d, unsigned bit)
{
	return (__atomic_load_n(&d->features, __ATOMIC_ACQUIRE) >> bit) & 1;
}

/* ---- configuration space (5.1.4) ---- */

static void cfg_read(void *dev, uint32_t off, void *data, unsigned len)
{
	struct virtio_net *d = dev;
	uint8_t c[VIRTIO_NET_CFG_SIZE] = { 0 };

	memcpy(c, d->p.mac, 6);
	c[6] = VIRTIO_NET_S_LINK_UP;		/* status, le16 */
	c[8] = (uint8_t)d->p.pairs;		/* max_virtqueue_pairs, le16 */
	c[9] = (uint8_t)(d->p.pairs >> 8);
	memcpy(data, c + off, len);	/* the transport bounds off + len */
}

/* ---- backend state (TAP offloads and queue attachment) ---- */

/* On loops[0]'s thread (or the only thread, without loops). */
static void apply_backend(struct virtio_net *d)
{
	unsigned curr;
	int r;

	pthread_mutex_lock(&d->pair[0].lock);
	d->apply_pending = false;
	pthread_mutex_unlock(&d->pair[0].lock);
	curr = __atomic_load_n(&d->curr_pairs, __ATOMIC_ACQUIRE);
	if (!d->p.tap)
		return;
	if ((r = tap_set_offload(d->fds[0], d->offload)))
		log_warn("%s: setting offloads 0x%x: %s", d->name, d->offload, strerror(-r));
	for (unsigned k = 1; k < d->p.pairs; k++)
		if ((r = tap_set_queue(d->fds[k], k < curr)))
			log_warn("%s: %s queue %u: %s", d->name,
				 k < curr ? "attaching" : "detaching", k, strerror(-r));
}

static void on_wake(void *opaque)
{
	struct virtio_net *d = opaque;
	bool pending;

	pthread_mutex_lock(&d->pair[0].lock);
	pending = d->apply_pending;
	pthread_mutex_unlock(&d->pair[0].lock);
	if (pending)
		apply_backend(d);
}

/* ---- receive (5.1.6.3, 5.1.6.4) ---- */

/* Copies len bytes of src into the device-writable buffers of el; with
 * nb, records where bytes 10 and 11 (num_buffers) landed. */
static void copy_in(const struct vq_elem *el, const uint8_t *src, uint32_t len,
		    uint8_t **nb)
{
	uint32_t pos = 0;

	for (unsigned i = el->nr_out; i < el->nr_out + el->nr_in && pos < len; i++) {
		const struct vq_seg *s = &el->seg[i];
		uint32_t k = s->len < len - pos ? s->len : len - pos;

		memcpy(s->hva, src + pos, k);
		for (unsigned b = 0; nb && b < 2; b++)
			if (10 + b >= pos && 10 + b < pos + k)
				nb[b] = (uint8_t *)s->hva + (10 + b - pos);
		pos += k;
	}
}

enum deliver { DELIVERED, NO_ROOM, BROKEN };

/* Packets per virtio_net_rx() call before the thread turns to other work. */
#define RX_BUDGET 256

/* Makes the I/O thread serve queue q again on its next iteration. */
static void kick(struct virtio_net *d, unsigned q)
{
	uint64_t one = 1;

	if (write(virtio_pci_notify_fd(&d->t, q), &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("%s: re-kick of queue %u: %s", d->name, q, strerror(errno));
}

/* Puts p's pending packet into the receive queue.  Under p->lock. */
static enum deliver deliver(struct virtio_net_pair *p, struct virtq *vq,
			    struct virtq_used_elem *used, uint16_t *seen, struct bs_err *e)
{
	struct virtio_net *d = p->d;
	bool mrg = has(d, VIRTIO_NET_F_MRG_RXBUF);
	uint8_t *nb[2] = { NULL, NULL };
	uint32_t off = 0;
	unsigned n = 0;
	int r;

	while (off < p->pkt_len) {
		uint32_t take;

		r = vq_pop(vq, p->el, e);
		if (r < 0)
			return r == -EIO ? BROKEN : (log_warn("%s: %s", d->name, e->msg), BROKEN);
		if (r == 0)
			goto no_room;
		/* 5.1.6.3.1: receive buffers are device-writable and, merged,
		 * each at least a header long. */
		if (p->el->nr_out || p->el->in_len < VIRTIO_NET_HDR_LEN) {
			log_warn("%s: receive buffer %u is %s", d->name, p->el->head,
				 p->el->nr_out ? "device-readable" : "shorter than the header");
			vq->broken = true;
			return BROKEN;
		}
		if (!mrg && p->el->in_len < p->pkt_len) {
			/* Too small for this packet: drop it, keep the buffer. */
			vq_unpop(vq, p->el->head);
			p->st.rx_dropped++;
			p->pkt_len = 0;
			return DELIVERED;
		}
		take = p->el->in_len < p->pkt_len - off ? p->el->in_len : p->pkt_len - off;
		copy_in(p->el, p->pkt + off, take, n == 0 ? nb : NULL);
		used[n++] = (struct virtq_used_elem){ p->el->head, take };
		off += take;
	}
	/* num_buffers, le16 (1 without MRG_RXBUF, 5.1.6.4). */
	*nb[0] = (uint8_t)n;
	*nb[1] = (uint8_t)(n >> 8);
	if (vq_push_many(vq, used, n, e)) {
		log_warn("%s: %s", d->name, e->msg);
		return BROKEN;
	}
	p->st.rx_packets++;
	p->st.rx_bytes += p->pkt_len - VIRTIO_NET_HDR_LEN;
	p->pkt_len = 0;
	return DELIVERED;
no_room:
	/* Give back what this packet took; it stays pending. */
	*seen = vq->last_avail_idx;
	while (n)
		vq_unpop(vq, used[--n].id);
	return NO_ROOM;
}

/* Reads the next packet from the backend into p->pkt.  1: got one, 0:
 * none waiting.  Under p->lock. */
static int fetch(struct virtio_net_pair *p)
{
	for (;;) {
		ssize_t n = read(p->fd, p->pkt, VIRTIO_NET_PKT_MAX);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && !p->fd_dead) {
				/* E.g. EBADFD: a detached TAP queue. */
				log_warn("%s: queue %u: read: %s", p->d->name, p->idx,
					 strerror(errno));
				p->fd_dead = true;
			}
			return 0;
		}
		p->fd_dead = false;
		if (n <= VIRTIO_NET_HDR_LEN) {
			p->st.rx_dropped++;
			continue;
		}
		p->pkt_len = (uint32_t)n;
		return 1;
	}
}

void virtio_net_rx(struct virtio_net *d, unsigned k)
{
	struct virtio_net_pair *p = &d->pair[k];
	bool notify = false, broken = false, stalled;
	unsigned budget = RX_BUDGET;
	struct virtq *vq;
	struct bs_err e;

	pthread_mutex_lock(&p->lock);
	/* Only the pairs the driver enabled receive (5.1.6.5.5). */
	vq = p->active && k < __atomic_load_n(&d->curr_pairs, __ATOMIC_ACQUIRE) ?
	     virtio_pci_queue(&d->t, rxq(k)) : NULL;
	/* Until this queue can take packets, the fd's readiness is of no
	 * use (in poll() mode it would spin the thread): the notification
	 * that changes that (new buffers, DRIVER_OK, more pairs) brings us
	 * back through on_rx_kick(), which resumes the watch. */
	stalled = !vq;
	while (vq && !broken) {
		enum deliver r;
		uint16_t seen;

		if (!budget--) {
			/* Let this pair's transmit side run; come back
			 * through the notify fd (the tap may not wake us
			 * again if nothing new arrives). */
			kick(d, rxq(k));
			break;
		}
		if (!p->pkt_len && !fetch(p))
			break;
		r = deliver(p, vq, p->used, &seen, &e);
		if (r == DELIVERED) {
			notify = true;
		} else if (r == BROKEN) {
			broken = true;
		} else if (!vq_enable_notify_past(vq, seen)) {
			/* No room: the driver's next notification (new
			 * buffers) brings us back here. */
			stalled = true;
			break;
		}
	}
	if (p->loop && io_loop_on_thread(p->loop))
		io_loop_pause_watch(p->w_fd, stalled || broken);
	if (notify && vq && vq_need_notify(vq))
		virtio_pci_irq_queue(&d->t, rxq(k));
	pthread_mutex_unlock(&p->lock);
	if (broken)
		virtio_pci_needs_reset(&d->t);
}

/* ---- transmit (5.1.6.2) ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void virtio_net_tx(struct virtio_net *d, unsigned k)
{
	struct virtio_net_pair *p = &d->pair[k];
	struct iovec *iov = p->iov;
	bool notify = false, broken = false;
	unsigned budget;
	struct virtq *vq;
	struct bs_err e;

	pthread_mutex_lock(&p->lock);
	vq = p->active ? virtio_pci_queue(&d->t, txq(k)) : NULL;
	/* One queue's worth per call, then yield to the loop (and this
	 * pair's receive side) and come back through the notify fd. */
	budget = vq ? vq->size : 0;
	while (vq) {
		int r = vq_pop(vq, p->el, &e);
		ssize_t n;

		if (r == 0) {
			if (vq_enable_notify(vq))
				continue;
			break;
		}
		if (r < 0) {
			if (r != -EIO) {
				log_warn("%s: %s", d->name, e.msg);
				broken = true;
			}
			break;
		}
		for (unsigned i = 0; i < p->el->nr_out; i++)
			iov[i] = (struct iovec){ p->el->seg[i].hva, p->el->seg[i].len };
		n = -1;
		if (p->el->out_len > VIRTIO_NET_HDR_LEN) {
			do
				n = writev(p->fd, iov, (int)p->el->nr_out);
			while (n < 0 && errno == EINTR);
		}
		if (n < 0) {
			p->st.tx_dropped++;
		} else {
			p->st.tx_packets++;
			p->st.tx_bytes += p->el->out_len - VIRTIO_NET_HDR_LEN;
		}
		if (vq_push(vq, p->el->head, 0, &e)) {
			log_warn("%s: %s", d->name, e.msg);
			break;
		}
		notify = true;
		if (--budget == 0) {
			kick(d, txq(k));
			break;
		}
	}
	if (notify)
		p->tx_ns = mono_ns();
	if (notify && vq_need_notify(vq))
		virtio_pci_irq_queue(&d->t, txq(k));
	pthread_mutex_unlock(&p->lock);
	if (broken)
		virtio_pci_needs_reset(&d->t);
}

/* ---- control queue (5.1.6.5) ---- */

static uint8_t ctrl_command(struct virtio_net *d, const struct vq_elem *el)
{
	uint8_t cmd[4] = { 0 };
	unsigned pairs;

	/* Shorter commands leave the rest 0 (out_len is checked below). */
	vq_read_out(el, 0, cmd, el->out_len < sizeof(cmd) ? el->out_len : sizeof(cmd));
	if (cmd[0] != VIRTIO_NET_CTRL_MQ || cmd[1] != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
	    el->out_len != 4 || !has(d, VIRTIO_NET_F_MQ))
		return VIRTIO_NET_ERR;
	pairs = cmd[2] | (unsigned)cmd[3] << 8;
	if (pairs < 1 || pairs > d->p.pairs)
		return VIRTIO_NET_ERR;
	__atomic_store_n(&d->curr_pairs, pairs, __ATOMIC_RELEASE);
	apply_backend(d);
	/* Each pair's thread re-evaluates its receive side. */
	for (unsigned k = 1; k < d->p.pairs; k++)
		kick(d, rxq(k));
	return VIRTIO_NET_OK;
}

void virtio_net_ctrl(struct virtio_net *d)
{
	struct virtio_net_pair *p0 = &d->pair[0];
	unsigned q = has(d, VIRTIO_NET_F_MQ) ? 2 * d->p.pairs : 2;
	bool notify = false, broken = false;
	struct vq_elem *el = d->ctrl_el;
	struct virtq *vq = NULL;
	struct bs_err e;

	/* Serialises callers (loops[0], or receiveq1's thread without MQ)
	 * and owns ctrl_el; pair[0].lock guards the ring against reset. */
	pthread_mutex_lock(&d->ctrl_lock);
	for (;;) {
		uint8_t ack;
		int r;

		pthread_mutex_lock(&p0->lock);
		vq = p0->active ? virtio_pci_queue(&d->t, q) : NULL;
		r = vq ? vq_pop(vq, el, &e) : 0;
		if (r == 0 && vq && vq_enable_notify(vq)) {
			pthread_mutex_unlock(&p0->lock);
			continue;
		}
		if (r <= 0) {
			if (r < 0 && r != -EIO) {
				log_warn("%s: %s", d->name, e.msg);
				broken = true;
			}
			break;
		}
		if (el->out_len < 2 || el->in_len < 1) {
			log_warn("%s: control command %u has no %s", d->name, el->head,
				 el->in_len < 1 ? "ack byte" : "class and command");
			vq->broken = true;
			broken = true;
			break;
		}
		/* The command takes pair[0].lock itself. */
		pthread_mutex_unlock(&p0->lock);
		ack = ctrl_command(d, el);
		pthread_mutex_lock(&p0->lock);
		if (!p0->active)
			break;	/* reset meanwhile: the ring is gone */
		*(uint8_t *)el->seg[el->nr_out].hva = ack;
		if (vq_push(vq, el->head, 1, &e)) {
			log_warn("%s: %s", d->name, e.msg);
			break;
		}
		notify = true;
		pthread_mutex_unlock(&p0->lock);
	}
	if (notify && p0->active && vq_need_notify(vq))
		virtio_pci_irq_queue(&d->t, q);
	pthread_mutex_unlock(&p0->lock);
	pthread_mutex_unlock(&d->ctrl_lock);
	if (broken)
		virtio_pci_needs_reset(&d->t);
}

/* ---- transport callbacks ---- */

static int activate(void *dev, struct bs_err *e)
{
	struct virtio_net *d = dev;
	uint64_t one = 1;
	unsigned off = 0;

	(void)e;
	/* Under the transport lock: read its negotiated set directly. */
	__atomic_store_n(&d->features, d->t.driver_features, __ATOMIC_RELEASE);
	/* Offloads towards the guest: only what it accepts (5.1.3.1: TSO
	 * needs GUEST_CSUM, and so does the TAP). */
	if (has(d, VIRTIO_NET_F_GUEST_CSUM)) {
		off = TAP_OFF_CSUM;
		if (has(d, VIRTIO_NET_F_GUEST_TSO4))
			off |= TAP_OFF_TSO4;
		if (has(d, VIRTIO_NET_F_GUEST_TSO6))
			off |= TAP_OFF_TSO6;
	}
	for (unsigned k = 0; k < d->p.pairs; k++) {
		struct virtio_net_pair *p = &d->pair[k];

		pthread_mutex_lock(&p->lock);
		p->active = true;
		p->pkt_len = 0;
		if (k == 0) {
			/* 5.1.6.5.5: multiqueue starts disabled. */
			__atomic_store_n(&d->curr_pairs, 1, __ATOMIC_RELEASE);
			d->offload = off;
			d->apply_pending = true;
		}
		pthread_mutex_unlock(&p->lock);
	}
	if (!d->p.loops)
		return 0;
	io_loop_wake(d->loops[0]);
	/* Buffers may be queued and packets waiting: have the I/O threads
	 * look at every queue. */
	for (unsigned q = 0; q < 2 * d->p.pairs + 1; q++)
		if (write(virtio_pci_notify_fd(&d->t, q), &one, sizeof(one)) < 0)
			log_warn("%s: kick: %s", d->name, strerror(errno));
	return 0;
}

void virtio_net_quiesce(struct virtio_net *d)
{
	for (unsigned k = 0; k < d->p.pairs; k++) {
		struct virtio_net_pair *p = &d->pair[k];

		pthread_mutex_lock(&p->lock);
		p->active = false;
		p->pkt_len = 0;
		pthread_mutex_unlock(&p->lock);
	}
}

static void reset(void *dev)
{
	virtio_net_quiesce(dev);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.pci_class = 0x020000,		/* network, Ethernet */
	.cfg_read = cfg_read,
	.activate = activate,
	.reset = reset,
};

/* ---- I/O thread wiring ---- */

static void drain(struct virtio_net *d, int fd)
{
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("%s: notify read: %s", d->name, strerror(errno));
}

static void on_rx_kick(void *opaque)
{
	struct virtio_net_pair *p = opaque;
	struct virtio_net *d = p->d;

	drain(d, virtio_pci_notify_fd(&d->t, rxq(p->idx)));
	/* Without MQ the control queue is queue 2, receiveq1's slot. */
	if (p->idx == 1 && !has(d, VIRTIO_NET_F_MQ)) {
		virtio_net_ctrl(d);
		return;
	}
	io_loop_pause_watch(p->w_fd, false);
	virtio_net_rx(d, p->idx);
}

static void on_tx_kick(void *opaque)
{
	struct virtio_net_pair *p = opaque;

	drain(p->d, virtio_pci_notify_fd(&p->d->t, txq(p->idx)));
	virtio_net_tx(p->d, p->idx);
}

static void on_fd(void *opaque)
{
	struct virtio_net_pair *p = opaque;

	virtio_net_rx(p->d, p->idx);
}

/* A transmit queue idle this long is not polled: a receive-only stream
 * would otherwise spin the thread after every batch. */
#define POLL_TX_IDLE_NS 1000000

/* io_loop poller: serves a transmit queue with chains waiting without the
 * round trip of its notification through the eventfd and the loop's
 * sleep -- the wake-up that dominates a request/response exchange. */
static int poll_tx(void *opaque)
{
	struct virtio_net_pair *p = opaque;
	struct virtq *vq;
	bool has, idle;

	pthread_mutex_lock(&p->lock);
	vq = p->active ? virtio_pci_queue(&p->d->t, txq(p->idx)) : NULL;
	has = vq && vq_has_avail(vq);
	idle = mono_ns() - p->tx_ns > POLL_TX_IDLE_NS;
	pthread_mutex_unlock(&p->lock);
	if (!has)
		return idle ? -1 : 0;
	virtio_net_tx(p->d, p->idx);
	return 1;
}

static void on_ctrl_kick(void *opaque)
{
	struct virtio_net *d = opaque;

	drain(d, virtio_pci_notify_fd(&d->t, 2 * d->p.pairs));
	virtio_net_ctrl(d);
}

int virtio_net_create(struct virtio_net **out, const struct virtio_net_params *p,
		      struct bs_err *e)
{
	struct virtio_net *d;
	struct virtio_pci_params tp;
	uint64_t f;
	int r = 0;

	if (p->pairs < 1 || p->pairs > VIRTIO_NET_MAX_PAIRS)
		return bs_errf(e, EINVAL, "%s: %u queue pairs (1..%u)", p->name, p->pairs,
			       VIRTIO_NET_MAX_PAIRS);
	d = calloc(1, sizeof(*d));
	if (!d)
		return bs_errf(e, ENOMEM, "%s: out of memory", p->name);
	d->p = *p;
	snprintf(d->name, sizeof(d->name), "%s", p->name);
	d->p.name = d->name;	/* the caller's arrays may not outlive us */
	memcpy(d->fds, p->fds, p->pairs * sizeof(int));
	d->p.fds = d->fds;
	if (p->loops) {
		memcpy(d->loops, p->loops, p->pairs * sizeof(*d->loops));
		d->p.loops = d->loops;
	}
	d->curr_pairs = 1;
	pthread_mutex_init(&d->ctrl_lock, NULL);
	d->ctrl_el = malloc(sizeof(*d->ctrl_el));
	if (!d->ctrl_el)
		r = bs_errf(e, ENOMEM, "%s: out of memory", p->name);
	for (unsigned k = 0; k < p->pairs; k++) {
		struct virtio_net_pair *pr = &d->pair[k];

		pr->d = d;
		pr->idx = k;
		pr->fd = p->fds[k];
		pr->loop = p->loops ? p->loops[k] : NULL;
		pthread_mutex_init(&pr->lock, NULL);
		pr->pkt = malloc(VIRTIO_NET_PKT_MAX);
		pr->el = malloc(sizeof(*pr->el));
		pr->used = calloc(p->queue_size, sizeof(*pr->used));
		pr->iov = calloc(VQ_MAX_SEGS, sizeof(*pr->iov));
		if (!pr->pkt || !pr->el || !pr->used || !pr->iov)
			r = bs_errf(e, ENOMEM, "%s: out of memory", p->name);
	}
	f = 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
	    1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_GUEST_TSO4 |
	    1ull << VIRTIO_NET_F_GUEST_TSO6 | 1ull << VIRTIO_NET_F_HOST_TSO4 |
	    1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_MRG_RXBUF |
	    1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_CTRL_VQ |
	    1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (p->pairs > 1)
		f |= 1ull << VIRTIO_NET_F_MQ;
	tp = (struct virtio_pci_params){
		.ops = &net_ops, .dev = d, .features = f,
		.num_queues = 2 * p->pairs + 1, .queue_size_max = p->queue_size,
		.cfg_size = VIRTIO_NET_CFG_SIZE, .gm = p->gm, .irq = p->irq,
		.sink = p->sink, .vm_fd = p->vm_fd, .name = d->name,
	};
	if (!r)
		r = virtio_pci_init(&d->t, &tp, e);
	if (!r && p->loops)
		io_loop_set_wake_hook(d->loops[0], on_wake, d);
	for (unsigned k = 0; !r && p->loops && k < p->pairs; k++) {
		struct virtio_net_pair *pr = &d->pair[k];

		if (p->poll_us)
			io_loop_set_poller(pr->loop, poll_tx, pr, p->poll_us);
		r = io_loop_add_fd_watch(pr->loop, virtio_pci_notify_fd(&d->t, rxq(k)),
					 on_rx_kick, pr, &pr->w_rx, e);
		if (!r)
			r = io_loop_add_fd_watch(pr->loop, virtio_pci_notify_fd(&d->t, txq(k)),
						 on_tx_kick, pr, &pr->w_tx, e);
		if (!r)
			r = io_loop_add_fd_watch(pr->loop, pr->fd, on_fd, pr, &pr->w_fd, e);
	}
	if (!r && p->loops)
		r = io_loop_add_fd_watch(d->loops[0], virtio_pci_notify_fd(&d->t, 2 * p->pairs),
					 on_ctrl_kick, d, &d->w_ctrl, e);
	if (r) {
		virtio_net_destroy(d);
		return r;
	}
	*out = d;
	return 0;
}

void virtio_net_destroy(struct virtio_net *d)
{
	if (!d)
		return;
	if (d->w_ctrl)
		io_loop_remove_fd_watch(d->loops[0], d->w_ctrl);
	for (unsigned k = 0; k < d->p.pairs; k++) {
		struct virtio_net_pair *p = &d->pair[k];

		io_loop_remove_fd_watch(p->loop, p->w_rx);
		io_loop_remove_fd_watch(p->loop, p->w_tx);
		io_loop_remove_fd_watch(p->loop, p->w_fd);
	}
	if (d->t.p.ops)
		virtio_pci_destroy(&d->t);
	for (unsigned k = 0; k < d->p.pairs; k++) {
		pthread_mutex_destroy(&d->pair[k].lock);
		free(d->pair[k].pkt);
		free(d->pair[k].el);
		free(d->pair[k].used);
		free(d->pair[k].iov);
	}
	pthread_mutex_destroy(&d->ctrl_lock);
	free(d->ctrl_el);
	free(d);
}

void virtio_net_get_stats(struct virtio_net *d, struct virtio_net_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned k = 0; k < d->p.pairs; k++) {
		struct virtio_net_pair *p = &d->pair[k];

		pthread_mutex_lock(&p->lock);
		out->rx_packets += p->st.rx_packets;
		out->rx_bytes += p->st.rx_bytes;
		out->rx_dropped += p->st.rx_dropped;
		out->tx_packets += p->st.tx_packets;
		out->tx_bytes += p->st.tx_bytes;
		out->tx_dropped += p->st.tx_dropped;
		pthread_mutex_unlock(&p->lock);
	}
}
