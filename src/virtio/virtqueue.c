/* Device side of split virtqueues (virtio 1.2 section 2.7).  Contracts are
 * in basalt/virtio/virtqueue.h.
 *
 * Memory ordering against the guest driver (spec 2.7.13 "Supplying
 * Buffers to The Device" and 2.7.14 "Receiving Used Buffers"):
 *  - the driver writes descriptors and avail ring entries, then a barrier,
 *    then avail->idx; we load avail->idx with acquire before reading any
 *    entry or descriptor it exposes;
 *  - we write the used element, then store used->idx with release so the
 *    element (and the buffer contents written before vq_push) is visible
 *    first (spec 2.7.8: "The device MUST set len prior to updating the
 *    used idx");
 *  - before reading used_event/avail->flags (notification decision) and
 *    before re-reading avail->idx after re-enabling notifications we need
 *    store->load ordering, i.e. a full fence: otherwise both sides can
 *    read each other's stale value and both go to sleep.
 *
 * Guest-written ring fields are read exactly once into locals (single
 * aligned atomic loads, or a copy followed by a compiler barrier for
 * descriptors) and every check and use is made on the local copy, so a
 * guest rewriting the ring while we walk it cannot get a value past a
 * check. */
#include <endian.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "basalt/virtio/virtqueue.h"

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc layout");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem layout");

/* Field offsets in the avail ring (spec 2.7.6) and used ring (2.7.8).
 * used_event follows avail->ring[size], avail_event used->ring[size]. */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING(i) (4 + 2 * (uint64_t)(i))
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING(i) (4 + 8 * (uint64_t)(i))

#define DESC_ALIGN 16
#define AVAIL_ALIGN 2
#define USED_ALIGN 4

static bool has_feature(const struct virtq *vq, unsigned bit)
{
	return vq->features & (1ull << bit);
}

/* Aligned accessors for ring fields; alignment is established by
 * vq_validate_rings() (guest and host side). */
static uint16_t rd16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static uint16_t rd16_acquire(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static void wr16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static void wr32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

/* Snapshot of one descriptor.  Indirect tables carry no alignment
 * requirement, hence memcpy; the compiler barrier stops the compiler from
 * re-reading guest memory in place of the local copy. */
static void read_desc(const uint8_t *p, struct virtq_desc *d)
{
	memcpy(d, p, sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

static bool test_bit(const uint64_t *map, unsigned i)
{
	return map[i / 64] & (1ull << (i % 64));
}

static void set_bit(uint64_t *map, unsigned i)
{
	map[i / 64] |= 1ull << (i % 64);
}

static void clear_bit(uint64_t *map, unsigned i)
{
	map[i / 64] &= ~(1ull << (i % 64));
}

/* Marks the queue broken and passes the error code through. */
static int broken(struct virtq *vq, int err)
{
	vq->broken = true;
	return err;
}

void vq_init(struct virtq *vq, const struct guest_mem *gm, const char *name)
{
	memset(vq, 0, sizeof(*vq));
	vq->gm = gm;
	snprintf(vq->name, sizeof(vq->name), "%s", name ? name : "virtqueue");
}

void vq_reset(struct virtq *vq)
{
	char name[sizeof(vq->name)];

	memcpy(name, vq->name, sizeof(name));
	vq_init(vq, vq->gm, name);
}

static int map_part(struct virtq *vq, const char *what, uint64_t gpa,
		    uint64_t align, uint64_t len, uint8_t **hva,
		    struct bs_err *e)
{
	if (gpa & (align - 1))
		return bs_errf(e, EINVAL, "%s: %s at 0x%llx is not %u-byte aligned",
			       vq->name, what, (unsigned long long)gpa,
			       (unsigned)align);
	*hva = gm_ptr(vq->gm, gpa, len);
	if (!*hva)
		return bs_errf(e, EINVAL, "%s: %s 0x%llx+0x%llx is not in guest RAM",
			       vq->name, what, (unsigned long long)gpa,
			       (unsigned long long)len);
	/* Only possible with a RAM region whose host mapping is misaligned
	 * relative to its guest address (a host bug, not a guest one). */
	if ((uintptr_t)*hva & (align - 1))
		return bs_errf(e, EINVAL, "%s: %s at 0x%llx: host mapping misaligned",
			       vq->name, what, (unsigned long long)gpa);
	return 0;
}

int vq_validate_rings(struct virtq *vq, struct bs_err *e)
{
	uint64_t n = vq->size;
	int r;

	vq->ready = false;
	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return bs_errf(e, EINVAL,
			       "%s: queue size %u is not a power of 2 in 1..%u",
			       vq->name, vq->size, VQ_MAX_SIZE);
	/* Sizes and alignments: spec 2.7, table of virtqueue parts. */
	r = map_part(vq, "descriptor table", vq->desc, DESC_ALIGN, 16 * n,
		     &vq->desc_hva, e);
	if (!r)
		r = map_part(vq, "avail ring", vq->avail, AVAIL_ALIGN, 6 + 2 * n,
			     &vq->avail_hva, e);
	if (!r)
		r = map_part(vq, "used ring", vq->used, USED_ALIGN, 6 + 8 * n,
			     &vq->used_hva, e);
	if (r)
		return r;
	vq->ready = true;
	return 0;
}

/* State of one chain walk. */
struct walk {
	struct virtq *vq;
	struct vq_elem *elem;
	struct bs_err *e;
	uint64_t total;      /* out_len + in_len, checked against 2^32 */
};

/* What descriptor i is in, for messages: the main table or an indirect
 * one.  Formatted only on error paths: an snprintf() per descriptor was
 * three quarters of a pop. */
#define WHERE(indirect) ((indirect) ? "indirect entry" : "descriptor")

/* Appends the buffer described by d (a non-INDIRECT descriptor). */
static int add_buf(struct walk *w, const struct virtq_desc *d, bool indirect,
		   unsigned i)
{
	struct virtq *vq = w->vq;
	struct vq_elem *el = w->elem;
	unsigned nr = el->nr_out + el->nr_in;
	bool is_write = d->flags & VIRTQ_DESC_F_WRITE;
	struct vq_seg *s;
	void *hva;

	if (d->len == 0)
		return bs_errf(w->e, EINVAL, "%s: head %u: %s %u: zero length",
			       vq->name, el->head, WHERE(indirect), i);
	/* Spec 2.7.4: "The driver MUST place any device-writable descriptor
	 * elements after any device-readable descriptor elements." */
	if (!is_write && el->nr_in)
		return bs_errf(w->e, EINVAL,
			       "%s: head %u: %s %u: device-readable after device-writable",
			       vq->name, el->head, WHERE(indirect), i);
	if (d->addr + d->len < d->addr)
		return bs_errf(w->e, EFAULT,
			       "%s: head %u: %s %u: buffer 0x%llx+0x%x wraps past 2^64",
			       vq->name, el->head, WHERE(indirect), i,
			       (unsigned long long)d->addr, d->len);
	hva = gm_ptr(vq->gm, d->addr, d->len);
	if (!hva)
		return bs_errf(w->e, EFAULT,
			       "%s: head %u: %s %u: buffer 0x%llx+0x%x is not in guest RAM",
			       vq->name, el->head, WHERE(indirect), i,
			       (unsigned long long)d->addr, d->len);
	if (nr == VQ_MAX_SEGS)
		return bs_errf(w->e, E2BIG, "%s: head %u: more than %u buffers",
			       vq->name, el->head, VQ_MAX_SEGS);
	/* Spec 2.7.5.2: "Drivers MUST NOT add a descriptor chain longer than
	 * 2^32 bytes in total"; we also refuse exactly 2^32 so that totals
	 * and used.len fit 32 bits.  Each len < 2^32, so total cannot wrap. */
	w->total += d->len;
	if (w->total > UINT32_MAX)
		return bs_errf(w->e, EOVERFLOW,
			       "%s: head %u: %s %u: chain exceeds 4 GiB - 1 bytes",
			       vq->name, el->head, WHERE(indirect), i);
	s = &el->seg[nr];
	*s = (struct vq_seg){
		.gpa = d->addr, .hva = hva, .len = d->len, .is_write = is_write,
	};
	if (is_write) {
		el->nr_in++;
		el->in_len += d->len;
	} else {
		el->nr_out++;
		el->out_len += d->len;
	}
	return 0;
}

/* Walks the indirect table that descriptor i (flags INDIRECT) points to;
 * it ends the chain (spec 2.7.5.3). */
static int walk_indirect(struct walk *w, const struct virtq_desc *d,
			 unsigned i)
{
	struct virtq *vq = w->vq;
	uint16_t head = w->elem->head;
	const uint8_t *table;
	unsigned n, j;
	int r;

	/* Spec 2.7.5.3.1 driver requirements. */
	if (!has_feature(vq, VIRTIO_RING_F_INDIRECT_DESC))
		return bs_errf(w->e, EINVAL,
			       "%s: head %u: descriptor %u: INDIRECT but "
			       "VIRTIO_RING_F_INDIRECT_DESC not negotiated",
			       vq->name, head, i);
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return bs_errf(w->e, EINVAL,
			       "%s: head %u: descriptor %u: both INDIRECT and NEXT",
			       vq->name, head, i);
	/* The table is len/16 descriptors; a chain must not be longer than
	 * the queue size, so neither may the table. */
	if (d->len == 0 || d->len % 16 || d->len / 16 > vq->size)
		return bs_errf(w->e, EINVAL,
			       "%s: head %u: descriptor %u: indirect table length %u "
			       "is not a multiple of 16 in 16..%u",
			       vq->name, head, i, d->len, 16u * vq->size);
	table = gm_ptr(vq->gm, d->addr, d->len);
	if (!table)
		return bs_errf(w->e, EFAULT,
			       "%s: head %u: descriptor %u: indirect table 0x%llx+0x%x "
			       "is not in guest RAM",
			       vq->name, head, i, (unsigned long long)d->addr,
			       d->len);
	n = d->len / 16;
	memset(vq->visited, 0, (n + 63) / 64 * sizeof(vq->visited[0]));
	/* The WRITE flag of the descriptor pointing here is ignored
	 * (spec 2.7.5.3.2); the walk starts at entry 0. */
	for (j = 0;;) {
		struct virtq_desc id;

		if (test_bit(vq->visited, j))
			return bs_errf(w->e, EINVAL,
				       "%s: head %u: indirect entry %u: reached twice (loop)",
				       vq->name, head, j);
		set_bit(vq->visited, j);
		read_desc(table + 16 * (uint64_t)j, &id);
		if (id.flags & VIRTQ_DESC_F_INDIRECT)
			return bs_errf(w->e, EINVAL,
				       "%s: head %u: indirect entry %u: nested INDIRECT",
				       vq->name, head, j);
		r = add_buf(w, &id, true, j);
		if (r)
			return r;
		if (!(id.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (id.next >= n)
			return bs_errf(w->e, EINVAL,
				       "%s: head %u: indirect entry %u: next %u out of range "
				       "(table has %u entries)",
				       vq->name, head, j, id.next, n);
		j = id.next;
	}
}

static int walk_chain(struct virtq *vq, uint16_t head, struct vq_elem *elem,
		      struct bs_err *e)
{
	struct walk w = { .vq = vq, .elem = elem, .e = e };
	unsigned i = head, count = 0;
	int r;

	elem->head = head;
	elem->nr_out = elem->nr_in = 0;
	elem->out_len = elem->in_len = 0;
	for (;;) {
		struct virtq_desc d;

		/* Spec 2.7.5: the table size "is the maximum possible
		 * descriptor chain length"; one more step means a loop. */
		if (++count > vq->size)
			return bs_errf(e, EINVAL,
				       "%s: head %u: chain longer than queue size %u (loop)",
				       vq->name, head, vq->size);
		read_desc(vq->desc_hva + 16 * (uint64_t)i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return walk_indirect(&w, &d, i);
		r = add_buf(&w, &d, false, i);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->size)
			return bs_errf(e, EINVAL,
				       "%s: head %u: descriptor %u: next %u out of range "
				       "(queue size %u)",
				       vq->name, head, i, d.next, vq->size);
		i = d.next;
	}
}

int vq_pop(struct virtq *vq, struct vq_elem *elem, struct bs_err *e)
{
	uint16_t avail_idx, pending, slot, head;
	int r;

	if (vq->broken)
		return bs_errf(e, EIO, "%s: queue is broken until reset", vq->name);
	if (!vq->ready)
		return bs_errf(e, EINVAL, "%s: queue is not enabled", vq->name);
	/* Acquire: pairs with the driver's barrier before its idx update
	 * (spec 2.7.13.3.1); entries up to avail_idx are visible now. */
	avail_idx = rd16_acquire(vq->avail_hva + AVAIL_IDX);
	pending = avail_idx - vq->last_avail_idx;
	if (pending == 0)
		return 0;
	/* The driver can never have more than size chains outstanding
	 * (spec 2.7.13); a bigger jump, or a decrement, is a lie. */
	if (pending > vq->size)
		return broken(vq, bs_errf(e, EINVAL,
			"%s: avail idx %u is %u ahead of last_avail_idx %u "
			"(queue size %u)", vq->name, avail_idx, pending,
			vq->last_avail_idx, vq->size));
	slot = vq->last_avail_idx & (vq->size - 1);
	head = rd16(vq->avail_hva + AVAIL_RING(slot));
	if (head >= vq->size)
		return broken(vq, bs_errf(e, EINVAL,
			"%s: avail ring entry %u: head %u out of range "
			"(queue size %u)", vq->name, slot, head, vq->size));
	if (test_bit(vq->inflight, head))
		return broken(vq, bs_errf(e, EINVAL,
			"%s: avail ring entry %u: head %u is already in flight",
			vq->name, slot, head));
	r = walk_chain(vq, head, elem, e);
	if (r)
		return broken(vq, r);
	set_bit(vq->inflight, head);
	vq->nr_inflight++;
	vq->last_avail_idx++;
	return 1;
}

int vq_push_many(struct virtq *vq, const struct virtq_used_elem *u, unsigned n,
		 struct bs_err *e)
{
	uint16_t idx = vq->used_idx;

	if (vq->broken)
		return bs_errf(e, EIO, "%s: queue is broken until reset", vq->name);
	if (!vq->ready)
		return bs_errf(e, EINVAL, "%s: queue is not enabled", vq->name);
	/* All heads first: nothing is written unless every one is valid. */
	for (unsigned i = 0; i < n; i++) {
		if (u[i].id >= vq->size || !test_bit(vq->inflight, u[i].id))
			return bs_errf(e, EINVAL, "%s: push of head %u that is not in flight",
				       vq->name, u[i].id);
		for (unsigned j = 0; j < i; j++)
			if (u[j].id == u[i].id)
				return bs_errf(e, EINVAL, "%s: head %u pushed twice",
					       vq->name, u[i].id);
	}
	for (unsigned i = 0; i < n; i++, idx++) {
		uint8_t *ue = vq->used_hva + USED_RING(idx & (vq->size - 1));

		wr32(ue + offsetof(struct virtq_used_elem, id), u[i].id);
		wr32(ue + offsetof(struct virtq_used_elem, len), u[i].len);
		clear_bit(vq->inflight, u[i].id);
		vq->nr_inflight--;
	}
	vq->used_idx = idx;
	/* Release: the elements above (and the buffer contents the device
	 * wrote before calling us) are visible before the new idx, which
	 * publishes all n at once (a mergeable packet's buffers must not be
	 * seen one by one). */
	__atomic_store_n((uint16_t *)(vq->used_hva + USED_IDX),
			 htole16(vq->used_idx), __ATOMIC_RELEASE);
	/* Once 2^15 entries went by unchecked, the (old, new] window of
	 * vq_need_event() is ambiguous: make the next check notify. */
	if ((int16_t)(uint16_t)(vq->used_idx - vq->signalled_used) < 1)
		vq->signalled_used_valid = false;
	return 0;
}

int vq_push(struct virtq *vq, uint16_t head, uint32_t written_len,
	    struct bs_err *e)
{
	struct virtq_used_elem u = { head, written_len };

	return vq_push_many(vq, &u, 1, e);
}

int vq_unpop(struct virtq *vq, uint16_t head)
{
	/* The avail entry is re-read (and the chain re-validated) by the next
	 * vq_pop(), so a driver rewriting it meanwhile gains nothing. */
	if (!vq->ready || vq->broken || head >= vq->size ||
	    !test_bit(vq->inflight, head) || vq->nr_inflight == 0)
		return -EINVAL;
	clear_bit(vq->inflight, head);
	vq->nr_inflight--;
	vq->last_avail_idx--;
	return 0;
}

bool vq_need_notify(struct virtq *vq)
{
	uint16_t old, event;
	bool valid;

	if (!vq->ready)
		return false;
	/* Full fence: our used->idx store must be visible before we read
	 * the driver's suppression fields (store->load ordering). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		return !(rd16(vq->avail_hva + AVAIL_FLAGS) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	/* Spec 2.7.7: notify iff the used idx went past used_event since
	 * the last check; the first check after reset always notifies. */
	event = rd16(vq->avail_hva + AVAIL_RING(vq->size));
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	return !valid || vq_need_event(event, vq->used_idx, old);
}

void vq_set_avail_event(struct virtq *vq)
{
	if (vq->ready && has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		wr16(vq->used_hva + USED_RING(vq->size), vq->last_avail_idx);
}

void vq_disable_notify(struct virtq *vq)
{
	if (!vq->ready || has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		return;
	vq->used_flags |= VIRTQ_USED_F_NO_NOTIFY;
	wr16(vq->used_hva + USED_FLAGS, vq->used_flags);
}

bool vq_enable_notify(struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	if (has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		vq_set_avail_event(vq);
	} else {
		vq->used_flags &= ~VIRTQ_USED_F_NO_NOTIFY;
		wr16(vq->used_hva + USED_FLAGS, vq->used_flags);
	}
	/* Full fence: the re-arm must be visible before we look at
	 * avail->idx again, or a buffer added in between goes unnoticed. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return rd16_acquire(vq->avail_hva + AVAIL_IDX) != vq->last_avail_idx;
}

bool vq_enable_notify_past(struct virtq *vq, uint16_t seen)
{
	if (!vq->ready || vq->broken)
		return false;
	if (has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		wr16(vq->used_hva + USED_RING(vq->size), seen);
	} else {
		vq->used_flags &= ~VIRTQ_USED_F_NO_NOTIFY;
		wr16(vq->used_hva + USED_FLAGS, vq->used_flags);
	}
	/* Full fence, as in vq_enable_notify(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return rd16_acquire(vq->avail_hva + AVAIL_IDX) != seen;
}

bool vq_has_avail(const struct virtq *vq)
{
	return vq->ready && !vq->broken &&
	       rd16_acquire(vq->avail_hva + AVAIL_IDX) != vq->last_avail_idx;
}

/* Copies n bytes starting at byte off of the device-readable part. */
bool vq_read_out(const struct vq_elem *el, uint32_t off, void *dst, uint32_t n)
{
	uint8_t *o = dst;

	if (off > el->out_len || n > el->out_len - off)
		return false;
	for (unsigned i = 0; i < el->nr_out && n; i++) {
		const struct vq_seg *s = &el->seg[i];

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint32_t k = s->len - off < n ? s->len - off : n;

		memcpy(o, (uint8_t *)s->hva + off, k);
		o += k;
		n -= k;
		off = 0;
	}
	return n == 0;
}
