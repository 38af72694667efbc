/* virtio-blk device: see include/basalt/virtio/blk.h. */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basalt/log.h"
#include "basalt/virtio/blk.h"

struct vblk_req {
	struct blk_req br;
	struct virtio_blk *d;
	unsigned q;
	uint16_t head;
	uint32_t in_len;
	uint8_t *status;
	void *bounce;                   /* O_DIRECT copy of misaligned buffers */
	struct iovec biov;
	unsigned niov;
	struct iovec iov[];
};

/* ---- configuration space (5.2.4) ---- */

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void cfg_read(void *dev, uint32_t off, void *data, unsigned len)
{
	struct virtio_blk *d = dev;
	uint8_t c[VIRTIO_BLK_CFG_SIZE] = { 0 };
	uint64_t max_sectors = 0xffffffffu;	/* per discard / write-zeroes range */

	put_le(c + 0, d->p.backend->size / VIRTIO_BLK_SECTOR, 8);	/* capacity */
	/* seg_max: Linux puts up to seg_max + 2 descriptors in one indirect
	 * table, which may not be longer than the queue (2.7.5.3.1). */
	put_le(c + 12, (d->p.queue_size < VQ_MAX_SEGS ? d->p.queue_size : VQ_MAX_SEGS) - 2, 4);
	put_le(c + 20, d->p.backend->logical_block_size, 4);		/* blk_size */
	put_le(c + 34, d->p.num_queues, 2);				/* num_queues */
	put_le(c + 36, max_sectors, 4);			/* max_discard_sectors */
	put_le(c + 40, 1, 4);				/* max_discard_seg */
	put_le(c + 44, d->p.backend->logical_block_size / VIRTIO_BLK_SECTOR, 4);
	put_le(c + 48, max_sectors, 4);			/* max_write_zeroes_sectors */
	put_le(c + 52, 1, 4);				/* max_write_zeroes_seg */
	c[56] = 1;					/* write_zeroes_may_unmap */
	memcpy(data, c + off, len);	/* the transport bounds off + len */
}

/* ---- completion ---- */

static void finish(struct vblk_req *r, uint8_t status)
{
	struct virtio_blk *d = r->d;
	struct virtq *vq;
	struct bs_err e;
	bool notify = false;

	pthread_mutex_lock(&d->lock);
	vq = d->active ? virtio_pci_queue(&d->t, r->q) : NULL;
	if (vq) {
		*r->status = status;
		/* The status byte ends the device-writable part: report it all
		 * written, as the request's layout requires. */
		if (vq_push(vq, r->head, r->in_len, &e))
			log_warn("%s: %s", d->p.name, e.msg);
		notify = vq_need_notify(vq);
	}
	/* The interrupt goes out before the request stops counting as in
	 * flight, so none can follow a completed reset (d->lock, then the
	 * MSI-X lock: no path takes them the other way round). */
	if (notify)
		virtio_pci_irq_queue(&d->t, r->q);
	d->requests++;
	if (status != VIRTIO_BLK_S_OK)
		d->errors++;
	if (r->bounce) {
		d->bounce_bytes -= r->biov.iov_len;
		free(r->bounce);
	}
	if (--d->inflight == 0)
		pthread_cond_broadcast(&d->idle);
	pthread_mutex_unlock(&d->lock);
	free(r);
}

static void io_done(struct blk_req *br, int64_t result)
{
	struct vblk_req *r = (struct vblk_req *)((char *)br - offsetof(struct vblk_req, br));

	/* A bounced read lands in the guest's buffers only now. */
	if (r->bounce && result >= 0 && br->op == BLK_OP_READ) {
		const uint8_t *src = r->bounce;

		for (unsigned i = 0; i < r->niov; i++) {
			memcpy(r->iov[i].iov_base, src, r->iov[i].iov_len);
			src += r->iov[i].iov_len;
		}
	}
	finish(r, result < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

/* O_DIRECT needs every buffer address and length aligned to the logical
 * block size (the offset and total were checked already); guest buffers
 * that are not go through one aligned bounce buffer. */
static int bounce_if_needed(struct vblk_req *r, uint32_t len, bool out)
{
	uint32_t a = r->d->p.backend->logical_block_size;
	bool aligned = true;
	uint8_t *dst;

	if (!r->d->p.backend->direct)
		return 0;
	for (unsigned i = 0; i < r->niov && aligned; i++)
		aligned = !((uintptr_t)r->iov[i].iov_base % a) && !(r->iov[i].iov_len % a);
	if (aligned)
		return 0;
	/* Bounded: a guest could otherwise make us allocate up to 4 GiB per
	 * request, 256 requests per queue.  Past the budget: IOERR. */
	pthread_mutex_lock(&r->d->lock);
	if (len > VIRTIO_BLK_BOUNCE_MAX - r->d->bounce_bytes) {
		pthread_mutex_unlock(&r->d->lock);
		return -ENOMEM;
	}
	r->d->bounce_bytes += len;
	pthread_mutex_unlock(&r->d->lock);
	if (posix_memalign(&r->bounce, a, len)) {
		pthread_mutex_lock(&r->d->lock);
		r->d->bounce_bytes -= len;
		pthread_mutex_unlock(&r->d->lock);
		r->bounce = NULL;
		return -ENOMEM;
	}
	dst = r->bounce;
	for (unsigned i = 0; out && i < r->niov; i++) {
		memcpy(dst, r->iov[i].iov_base, r->iov[i].iov_len);
		dst += r->iov[i].iov_len;
	}
	r->biov = (struct iovec){ r->bounce, len };
	r->br.iov = &r->biov;
	r->br.iovcnt = 1;
	return 0;
}

/* ---- request parsing ---- */

/* iovecs for bytes [off, off + n) of the readable (in = false) or
 * writable part.  Returns the count. */
static unsigned make_iov(const struct vq_elem *el, bool in, uint32_t off,
			 uint32_t n, struct iovec *iov)
{
	unsigned first = in ? el->nr_out : 0, last = in ? el->nr_out + el->nr_in : el->nr_out;
	unsigned k = 0;

	for (unsigned i = first; i < last && n; i++) {
		const struct vq_seg *s = &el->seg[i];
		uint32_t take;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		take = s->len - off < n ? s->len - off : n;
		iov[k].iov_base = (uint8_t *)s->hva + off;
		iov[k++].iov_len = take;
		n -= take;
		off = 0;
	}
	return k;
}

static bool range_ok(const struct virtio_blk *d, uint64_t sector, uint64_t bytes)
{
	uint64_t size = d->p.backend->size;

	return bytes % VIRTIO_BLK_SECTOR == 0 && sector <= size / VIRTIO_BLK_SECTOR &&
	       bytes <= size - sector * VIRTIO_BLK_SECTOR;
}

/* Handles one popped chain; every path ends in finish() exactly once. */
static void handle(struct virtio_blk *d, unsigned q, const struct vq_elem *el)
{
	struct { uint32_t type, reserved; uint64_t sector; } __attribute__((packed)) h;
	struct vblk_req *r;
	const struct vq_seg *last = &el->seg[el->nr_out + el->nr_in - 1];
	unsigned nseg = el->nr_out + el->nr_in;
	uint32_t in_data = el->in_len - 1;

	r = calloc(1, sizeof(*r) + nseg * sizeof(struct iovec));
	if (!r) {
		/* Cannot even answer: the guest sees the request hang. */
		log_warn("%s: out of memory", d->p.name);
		pthread_mutex_lock(&d->lock);
		if (--d->inflight == 0)
			pthread_cond_broadcast(&d->idle);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	r->d = d;
	r->q = q;
	r->head = el->head;
	r->in_len = el->in_len;
	r->status = (uint8_t *)last->hva + last->len - 1;
	r->br.cb = io_done;

	vq_read_out(el, 0, &h, sizeof(h));	/* length checked by the caller */
	h.type = le32toh(h.type);
	h.sector = le64toh(h.sector);
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool out = h.type == VIRTIO_BLK_T_OUT;
		uint32_t len = out ? el->out_len - sizeof(h) : in_data;

		uint32_t lbs = d->p.backend->logical_block_size;

		if (!range_ok(d, h.sector, len) || (out && d->p.backend->readonly) ||
		    (d->p.backend->direct &&
		     ((h.sector * VIRTIO_BLK_SECTOR) % lbs || len % lbs))) {
			/* O_DIRECT cannot do part of a logical block: the
			 * device's blk_size tells the driver (5.2.4). */
			finish(r, VIRTIO_BLK_S_IOERR);
			return;
		}
		r->niov = make_iov(el, !out, out ? sizeof(h) : 0, len, r->iov);
		r->br.op = out ? BLK_OP_WRITE : BLK_OP_READ;
		r->br.offset = h.sector * VIRTIO_BLK_SECTOR;
		r->br.iov = r->iov;
		r->br.iovcnt = r->niov;
		if (bounce_if_needed(r, len, out)) {
			finish(r, VIRTIO_BLK_S_IOERR);
			return;
		}
		blk_submit(d->p.backend, &r->br);
		return;
	}
	case VIRTIO_BLK_T_FLUSH:
		r->br.op = BLK_OP_FLUSH;
		blk_submit(d->p.backend, &r->br);
		return;
	case VIRTIO_BLK_T_GET_ID: {
		uint32_t n = in_data < VIRTIO_BLK_ID_BYTES ? in_data : VIRTIO_BLK_ID_BYTES;
		unsigned k = make_iov(el, true, 0, n, r->iov);
		const char *src = d->serial;

		for (unsigned i = 0; i < k; i++) {
			memcpy(r->iov[i].iov_base, src, r->iov[i].iov_len);
			src += r->iov[i].iov_len;
		}
		finish(r, VIRTIO_BLK_S_OK);
		return;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		struct { uint64_t sector; uint32_t num, flags; } __attribute__((packed)) seg;
		bool wz = h.type == VIRTIO_BLK_T_WRITE_ZEROES;

		/* Exactly one range (max_*_seg = 1); flags: only unmap, and
		 * only for WRITE_ZEROES (5.2.6.2). */
		if (el->out_len - sizeof(h) != sizeof(seg) ||
		    !vq_read_out(el, sizeof(h), &seg, sizeof(seg)) ||
		    (le32toh(seg.flags) & ~(wz ? 1u : 0u))) {
			finish(r, VIRTIO_BLK_S_UNSUPP);
			return;
		}
		if (d->p.backend->readonly ||
		    !range_ok(d, le64toh(seg.sector),
			      (uint64_t)le32toh(seg.num) * VIRTIO_BLK_SECTOR)) {
			finish(r, VIRTIO_BLK_S_IOERR);
			return;
		}
		seg.sector = le64toh(seg.sector);
		seg.num = le32toh(seg.num);
		r->br.op = wz ? BLK_OP_WRITE_ZEROES : BLK_OP_DISCARD;
		r->br.offset = seg.sector * VIRTIO_BLK_SECTOR;
		r->br.len = (uint64_t)seg.num * VIRTIO_BLK_SECTOR;
		blk_submit(d->p.backend, &r->br);
		return;
	}
	}
	finish(r, VIRTIO_BLK_S_UNSUPP);
}

void virtio_blk_process(struct virtio_blk *d, unsigned q)
{
	struct bs_err e;

	for (;;) {
		struct virtq *vq;
		int r;

		bool again;

		/* Ring accesses under the lock: a reset (quiesce, then the
		 * transport clearing the queue) cannot overlap them. */
		pthread_mutex_lock(&d->lock);
		vq = d->active ? virtio_pci_queue(&d->t, q) : NULL;
		r = vq ? vq_pop(vq, d->scratch, &e) : 0;
		if (r == 1)
			d->inflight++;
		/* Empty: re-arm notifications; look again if buffers came in
		 * meanwhile (they would not notify). */
		again = r == 0 && vq && vq_enable_notify(vq);
		pthread_mutex_unlock(&d->lock);
		if (r == 0) {
			if (again)
				continue;
			return;
		}
		if (r < 0) {
			if (r != -EIO) {
				log_warn("%s: %s", d->p.name, e.msg);
				virtio_pci_needs_reset(&d->t);
			}
			return;
		}
		/* Framing we cannot answer: no header or no status byte. */
		if (d->scratch->out_len < 16 || d->scratch->in_len < 1) {
			log_warn("%s: request %u has %s", d->p.name, d->scratch->head,
				 d->scratch->in_len < 1 ? "no status byte" : "a short header");
			pthread_mutex_lock(&d->lock);
			vq->broken = true;
			if (--d->inflight == 0)
				pthread_cond_broadcast(&d->idle);
			pthread_mutex_unlock(&d->lock);
			virtio_pci_needs_reset(&d->t);
			return;
		}
		handle(d, q, d->scratch);
	}
}

/* The I/O loop's busy-poll hook: serve any queue with new buffers; with
 * requests still in flight (writes run in io_uring's kernel workers, which
 * need the CPU) and nothing new, let the thread sleep instead. */
static int poll_queues(void *opaque)
{
	struct virtio_blk *d = opaque;
	bool found = false, busy;

	for (unsigned q = 0; q < d->p.num_queues; q++) {
		struct virtq *vq;
		bool has;

		pthread_mutex_lock(&d->lock);
		vq = d->active ? virtio_pci_queue(&d->t, q) : NULL;
		has = vq && vq_has_avail(vq);
		pthread_mutex_unlock(&d->lock);
		if (has) {
			virtio_blk_process(d, q);
			found = true;
		}
	}
	pthread_mutex_lock(&d->lock);
	busy = d->inflight > 0;
	pthread_mutex_unlock(&d->lock);
	return found ? 1 : busy ? -1 : 0;
}

/* ---- transport callbacks ---- */

static int activate(void *dev, struct bs_err *e)
{
	struct virtio_blk *d = dev;
	uint64_t one = 1;

	(void)e;
	pthread_mutex_lock(&d->lock);
	d->active = true;
	pthread_mutex_unlock(&d->lock);
	/* Buffers may already be queued: have the I/O thread look. */
	for (unsigned q = 0; d->p.loop && q < d->p.num_queues; q++)
		if (write(virtio_pci_notify_fd(&d->t, q), &one, sizeof(one)) < 0)
			log_warn("%s: kick: %s", d->p.name, strerror(errno));
	return 0;
}

static void reset(void *dev)
{
	virtio_blk_quiesce(dev);
}

void virtio_blk_quiesce(struct virtio_blk *d)
{
	pthread_mutex_lock(&d->lock);
	d->active = false;
	while (d->inflight)
		pthread_cond_wait(&d->idle, &d->lock);
	pthread_mutex_unlock(&d->lock);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = 0x018000,		/* mass storage, other */
	.cfg_read = cfg_read,
	.activate = activate,
	.reset = reset,
};

static void on_notify(void *opaque)
{
	struct virtio_blk_watch *w = opaque;
	uint64_t cnt;

	if (read(virtio_pci_notify_fd(&w->d->t, w->q), &cnt, sizeof(cnt)) < 0 &&
	    errno != EAGAIN)
		log_warn("%s: notify read: %s", w->d->p.name, strerror(errno));
	virtio_blk_process(w->d, w->q);
}

int virtio_blk_create(struct virtio_blk **out, const struct virtio_blk_params *p,
		      struct bs_err *e)
{
	struct virtio_blk *d = calloc(1, sizeof(*d));
	struct virtio_pci_params tp;
	uint64_t f;
	int r;

	if (!d)
		return bs_errf(e, ENOMEM, "%s: out of memory", p->name);
	d->scratch = malloc(sizeof(*d->scratch));
	if (!d->scratch) {
		free(d);
		return bs_errf(e, ENOMEM, "%s: out of memory", p->name);
	}
	d->p = *p;
	snprintf(d->name, sizeof(d->name), "%s", p->name);
	d->p.name = d->name;	/* the caller's string may not outlive us */
	/* GET_ID: up to 20 bytes, NUL-padded, not necessarily terminated. */
	if (p->serial)
		memcpy(d->serial, p->serial, strnlen(p->serial, sizeof(d->serial)));
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
	f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
	    1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_MQ |
	    1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (p->backend->readonly)
		f |= 1ull << VIRTIO_BLK_F_RO;
	else
		f |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	tp = (struct virtio_pci_params){
		.ops = &blk_ops, .dev = d, .features = f,
		.num_queues = p->num_queues, .queue_size_max = p->queue_size,
		.cfg_size = VIRTIO_BLK_CFG_SIZE, .gm = p->gm, .irq = p->irq,
		.sink = p->sink, .vm_fd = p->vm_fd, .name = p->name,
	};
	r = virtio_pci_init(&d->t, &tp, e);
	if (!r && p->loop && p->poll_us)
		io_loop_set_poller(p->loop, poll_queues, d, p->poll_us);
	for (unsigned q = 0; !r && p->loop && q < p->num_queues; q++) {
		d->wctx[q] = (struct virtio_blk_watch){ d, q };
		r = io_loop_add_fd_watch(p->loop, virtio_pci_notify_fd(&d->t, q),
					 on_notify, &d->wctx[q], &d->watch[q], e);
	}
	if (r) {
		virtio_blk_destroy(d);
		return r;
	}
	*out = d;
	return 0;
}

void virtio_blk_destroy(struct virtio_blk *d)
{
	if (!d)
		return;
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
		if (d->watch[q])
			io_loop_remove_fd_watch(d->p.loop, d->watch[q]);
	virtio_pci_destroy(&d->t);
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	free(d->scratch);
	free(d);
}
