/* Minimal virtio 1.x PCI driver for the test guests (virtio 1.2 sections
 * 4.1 "Virtio Over PCI Bus" and 2.7 "Split Virtqueues"): finds the device
 * on bus 0, maps nothing (BARs below 4 GiB are identity-mapped), negotiates
 * features, sets up split queues in guest memory, makes descriptor chains
 * available (direct, or indirect with VIRTIO_F_INDIRECT_DESC), notifies as
 * the device asks (VIRTIO_F_EVENT_IDX or VIRTQ_USED_F_NO_NOTIFY) and polls
 * the used ring.  No interrupts (every vector is NO_VECTOR).  All of it
 * runs at CPL3: port I/O for configuration space, MMIO for the BAR. */
#include "guest.h"

#define CAP_VNDR 0x09
#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define F_INDIRECT_DESC 28
#define F_EVENT_IDX 29
#define F_VERSION_1 32
#define NO_VECTOR 0xffff

/* Split virtqueue flags (2.7.5, 2.7.6, 2.7.8). */
#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define DESC_F_INDIRECT 4
#define USED_F_NO_NOTIFY 1

/* Where the rings live in a queue's GUEST_VQ_MEM bytes (2.7: descriptor
 * table 16-byte aligned, available ring 2, used ring 4). */
#define VQ_AVAIL 0x800			/* 6 + 2 * 128 bytes, used_event last */
#define VQ_USED 0x1000			/* 6 + 8 * 128 bytes, avail_event last */
#define VQ_INDIRECT 0x2000		/* GUEST_VQ_INDIRECT_MAX entries per descriptor */

/* Common configuration offsets (4.1.4.3). */
#define C_DFSELECT 0x00
#define C_DF 0x04
#define C_GFSELECT 0x08
#define C_GF 0x0c
#define C_MSIX 0x10
#define C_NUMQ 0x12
#define C_STATUS 0x14
#define C_QSELECT 0x16
#define C_QSIZE 0x18
#define C_QMSIX 0x1a
#define C_QENABLE 0x1c
#define C_QNOFF 0x1e
#define C_QDESC 0x20
#define C_QAVAIL 0x28
#define C_QUSED 0x30

static uint64_t bar_addr(unsigned dev, unsigned bar)
{
	uint32_t lo = guest_pci_read32(0, dev, 0, 0x10 + 4 * bar);
	uint64_t a = lo & ~0xfu;

	if ((lo & 0x6) == 0x4)	/* 64-bit BAR */
		a |= (uint64_t)guest_pci_read32(0, dev, 0, 0x14 + 4 * bar) << 32;
	return a;
}

int guest_virtio_find(uint16_t virtio_id, unsigned nth, struct guest_virtio *v)
{
	for (unsigned dev = 1; dev < 32; dev++) {
		uint32_t id = guest_pci_read32(0, dev, 0, 0);
		unsigned cap, seen = 0;

		if ((id & 0xffff) != 0x1af4 || (id >> 16) != 0x1040u + virtio_id || nth--)
			continue;
		memset(v, 0, sizeof(*v));
		v->dev = dev;
		/* Memory decoding and bus mastering on (PCI 3.0, 6.2.2). */
		guest_pci_write32(0, dev, 0, 0x04,
				  (guest_pci_read32(0, dev, 0, 0x04) & 0xffff) | 0x6);
		if (!(guest_pci_read32(0, dev, 0, 0x04) & 1u << 20))	/* STATUS.CAP_LIST */
			return -GUEST_EINVAL;	/* no capability list */
		for (cap = guest_pci_read8(0, dev, 0, 0x34); cap && seen < 48;
		     cap = guest_pci_read8(0, dev, 0, cap + 1), seen++) {
			uint8_t type, bar;
			uint64_t base;

			if (guest_pci_read8(0, dev, 0, cap) != CAP_VNDR)
				continue;
			type = guest_pci_read8(0, dev, 0, cap + 3);
			bar = guest_pci_read8(0, dev, 0, cap + 4);
			base = bar_addr(dev, bar) + guest_pci_read32(0, dev, 0, cap + 8);
			switch (type) {
			case 1: v->common = base; break;
			case 2:
				v->notify = base;
				v->notify_mult = guest_pci_read32(0, dev, 0, cap + 16);
				break;
			case 3: v->isr = base; break;
			case 4: v->devcfg = base; break;
			}
		}
		if (!v->common || !v->notify)
			return -GUEST_EINVAL;
		/* Firmware (SeaBIOS under QEMU) may put a 64-bit BAR above the
		 * boot identity map: map it, uncached, like the PCI hole. */
		for (unsigned i = 0; i < 4; i++) {
			uint64_t a = i == 0 ? v->common : i == 1 ? v->notify :
				     i == 2 ? v->isr : v->devcfg;

			if (a >= (4ull << 30) && guest_map_phys(a, 4096, GUEST_MAP_UNCACHED))
				return -GUEST_ERANGE;
		}
		v->num_queues = mmio_read16(v->common + C_NUMQ);
		return 0;
	}
	return -GUEST_EINVAL;
}

uint8_t guest_virtio_status(const struct guest_virtio *v)
{
	return mmio_read8(v->common + C_STATUS);
}

int guest_virtio_negotiate(struct guest_virtio *v, uint64_t want, uint64_t *got)
{
	uint64_t dev;

	mmio_write8(v->common + C_STATUS, 0);		/* reset */
	if (guest_virtio_status(v) != 0)
		return -GUEST_EINVAL;
	mmio_write8(v->common + C_STATUS, STATUS_ACK);
	mmio_write8(v->common + C_STATUS, STATUS_ACK | STATUS_DRIVER);
	mmio_write32(v->common + C_DFSELECT, 0);
	dev = mmio_read32(v->common + C_DF);
	mmio_write32(v->common + C_DFSELECT, 1);
	dev |= (uint64_t)mmio_read32(v->common + C_DF) << 32;
	v->device_features = dev;
	want = (want | 1ull << F_VERSION_1) & dev;
	mmio_write32(v->common + C_GFSELECT, 0);
	mmio_write32(v->common + C_GF, (uint32_t)want);
	mmio_write32(v->common + C_GFSELECT, 1);
	mmio_write32(v->common + C_GF, (uint32_t)(want >> 32));
	mmio_write8(v->common + C_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
	if (!(guest_virtio_status(v) & STATUS_FEATURES_OK))
		return -GUEST_EINVAL;
	mmio_write16(v->common + C_MSIX, NO_VECTOR);
	/* QEMU's virtio-net adds its extra queue pairs only once MQ is
	 * accepted: count again. */
	v->num_queues = mmio_read16(v->common + C_NUMQ);
	v->features = want;
	if (got)
		*got = want;
	return 0;
}

int guest_vq_init(struct guest_virtio *v, unsigned q, struct guest_vq *vq,
		  void *mem, uint16_t size)
{
	uint64_t base = (uintptr_t)mem;

	if (q >= v->num_queues || !size || (size & (size - 1)) || size > GUEST_VQ_MAX ||
	    (base & 4095))
		return -GUEST_EINVAL;
	memset(vq, 0, sizeof(*vq));
	memset(mem, 0, GUEST_VQ_MEM);
	vq->v = v;
	vq->index = q;
	vq->size = size;
	vq->desc = (struct virtq_desc *)mem;
	vq->avail = (volatile uint16_t *)(base + VQ_AVAIL);
	vq->used = (volatile uint8_t *)(base + VQ_USED);
	vq->itab = (struct virtq_desc *)(base + VQ_INDIRECT);
	vq->event_idx = !!(v->features & 1ull << F_EVENT_IDX);
	vq->indirect = !!(v->features & 1ull << F_INDIRECT_DESC);
	/* Free descriptors are linked through their next fields. */
	for (unsigned i = 0; i < size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
	vq->num_free = size;
	mmio_write16(v->common + C_QSELECT, (uint16_t)q);
	if (mmio_read16(v->common + C_QSIZE) < size)
		return -GUEST_ERANGE;
	mmio_write16(v->common + C_QSIZE, size);
	mmio_write16(v->common + C_QMSIX, NO_VECTOR);
	/* 64-bit fields as two 32-bit halves (4.1.3.1). */
	mmio_write32(v->common + C_QDESC, (uint32_t)base);
	mmio_write32(v->common + C_QDESC + 4, (uint32_t)(base >> 32));
	mmio_write32(v->common + C_QAVAIL, (uint32_t)(base + VQ_AVAIL));
	mmio_write32(v->common + C_QAVAIL + 4, (uint32_t)((base + VQ_AVAIL) >> 32));
	mmio_write32(v->common + C_QUSED, (uint32_t)(base + VQ_USED));
	mmio_write32(v->common + C_QUSED + 4, (uint32_t)((base + VQ_USED) >> 32));
	vq->notify_addr = v->notify + (uint64_t)mmio_read16(v->common + C_QNOFF) *
				      v->notify_mult;
	mmio_write16(v->common + C_QENABLE, 1);
	return mmio_read16(v->common + C_QENABLE) == 1 ? 0 : -GUEST_EINVAL;
}

void guest_virtio_driver_ok(struct guest_virtio *v)
{
	mmio_write8(v->common + C_STATUS, guest_virtio_status(v) | STATUS_DRIVER_OK);
}

static void fill_desc(struct virtq_desc *d, const struct guest_vbuf *b, bool more,
		      uint16_t next)
{
	d->addr = (uintptr_t)b->addr;
	d->len = b->len;
	d->flags = (uint16_t)((more ? DESC_F_NEXT : 0) | (b->device_writes ? DESC_F_WRITE : 0));
	if (more)
		d->next = next;
}

int guest_vq_add(struct guest_vq *vq, const struct guest_vbuf *b, unsigned n)
{
	bool ind = vq->indirect && n > 1 && n <= GUEST_VQ_INDIRECT_MAX;
	unsigned need = ind ? 1 : n;
	uint16_t head = vq->free_head, d = head;

	if (!n || need > vq->num_free)
		return -GUEST_ENOMEM;
	if (ind) {
		/* One ring descriptor pointing at a table of n (2.7.5.3); its
		 * next field keeps the free-list link (no NEXT flag). */
		struct virtq_desc *t = vq->itab + (size_t)head * GUEST_VQ_INDIRECT_MAX;

		for (unsigned i = 0; i < n; i++)
			fill_desc(&t[i], &b[i], i + 1 < n, (uint16_t)(i + 1));
		vq->desc[head].addr = (uintptr_t)t;
		vq->desc[head].len = (uint32_t)(n * sizeof(*t));
		vq->desc[head].flags = DESC_F_INDIRECT;
		vq->free_head = vq->desc[head].next;
	} else {
		/* The chain follows the free list, so the next fields of its
		 * descriptors are already right. */
		for (unsigned i = 0; i < n; i++) {
			fill_desc(&vq->desc[d], &b[i], i + 1 < n, vq->desc[d].next);
			if (i + 1 < n)
				d = vq->desc[d].next;
		}
		vq->free_head = vq->desc[d].next;
	}
	vq->num_free = (uint16_t)(vq->num_free - need);
	vq->chain_n[head] = (uint8_t)need;
	vq->avail[2 + vq->avail_idx % vq->size] = head;
	__asm__ volatile("" ::: "memory");	/* ring entry before idx (x86: TSO) */
	vq->avail_idx++;
	vq->avail[1] = vq->avail_idx;
	return head;
}

bool guest_vq_kick(struct guest_vq *vq)
{
	uint16_t old = vq->kicked, new = vq->avail_idx;
	bool notify;

	if (old == new)
		return false;
	/* The new avail idx must be visible before the device's suppression
	 * state is read (2.7.7.2, 2.7.10). */
	__asm__ volatile("mfence" ::: "memory");
	if (vq->event_idx) {
		uint16_t ev = *(volatile uint16_t *)(vq->used + 4 + 8 * vq->size);

		notify = (uint16_t)(new - ev - 1) < (uint16_t)(new - old);	/* vring_need_event */
	} else {
		notify = !(*(volatile uint16_t *)vq->used & USED_F_NO_NOTIFY);
	}
	vq->kicked = new;
	if (notify) {
		mmio_write16(vq->notify_addr, (uint16_t)vq->index);
		vq->notifications++;
	}
	return notify;
}

int guest_vq_poll(struct guest_vq *vq, uint16_t *id, uint32_t *len)
{
	uint16_t used_idx = *(volatile uint16_t *)(vq->used + 2), head, d;
	volatile uint32_t *elem;
	uint32_t eid;
	unsigned n;

	if (used_idx == vq->used_seen)
		return 0;
	__asm__ volatile("" ::: "memory");	/* idx before the element (x86: TSO) */
	elem = (volatile uint32_t *)(vq->used + 4 + 8 * (vq->used_seen % vq->size));
	eid = elem[0];
	*id = (uint16_t)eid;
	*len = elem[1];
	vq->used_seen++;
	if (vq->event_idx)	/* used_event: we poll, but keep it current */
		vq->avail[2 + vq->size] = vq->used_seen;
	if (eid >= vq->size || !vq->chain_n[eid])
		return -GUEST_EINVAL;	/* not a head the driver made available */
	head = d = (uint16_t)eid;
	n = vq->chain_n[head];
	vq->chain_n[head] = 0;
	for (unsigned i = 1; i < n; i++)
		d = vq->desc[d].next;
	vq->desc[d].next = vq->free_head;
	vq->free_head = head;
	vq->num_free = (uint16_t)(vq->num_free + n);
	return 1;
}

int64_t guest_vq_wait(struct guest_vq *vq, uint16_t *id, uint64_t timeout_cycles)
{
	uint64_t start = rdtsc();
	uint32_t len;
	int r;

	while ((r = guest_vq_poll(vq, id, &len)) == 0) {
		if (rdtsc() - start > timeout_cycles)
			return -1;
		cpu_relax();
	}
	return r < 0 ? -2 : (int64_t)len;
}

int64_t guest_vq_run(struct guest_vq *vq, const struct guest_vbuf *b, unsigned n)
{
	int head = guest_vq_add(vq, b, n);
	uint16_t id;
	int64_t len;

	if (head < 0)
		return -1;
	guest_vq_kick(vq);
	/* 20 G cycles: seconds, at any TSC rate. */
	len = guest_vq_wait(vq, &id, 20ull << 30);
	return len >= 0 && id == head ? len : -1;
}
