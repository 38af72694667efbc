/* Minimal virtio 1.x PCI driver for the test guests (virtio 1.2 sections
 * 4.1 "Virtio Over PCI Bus" and 2.7 "Split Virtqueues"): finds the device
 * on bus 0, maps nothing (BARs below 4 GiB are identity-mapped), negotiates
 * features, sets up split queues in guest memory and runs requests by
 * polling the used ring.  No interrupts (every vector is NO_VECTOR).  All
 * of it runs at CPL3: port I/O for configuration space, MMIO for the BAR. */
#include "guest.h"

#define CAP_VNDR 0x09
#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define F_VERSION_1 32
#define NO_VECTOR 0xffff

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
	if (got)
		*got = want;
	return 0;
}

int guest_vq_init(struct guest_virtio *v, unsigned q, struct guest_vq *vq,
		  void *mem, uint16_t size)
{
	uint64_t base = (uintptr_t)mem;

	if (q >= v->num_queues || !size || (size & (size - 1)) || size > 128 ||
	    (base & 4095))
		return -GUEST_EINVAL;
	memset(vq, 0, sizeof(*vq));
	memset(mem, 0, GUEST_VQ_MEM);
	vq->v = v;
	vq->index = q;
	vq->size = size;
	vq->desc = (struct virtq_desc *)mem;			/* 16 * size <= 2 KiB */
	vq->avail = (volatile uint16_t *)(base + 0x800);	/* 6 + 2 * size */
	vq->used = (volatile uint8_t *)(base + 0x1000);		/* 6 + 8 * size */
	mmio_write16(v->common + C_QSELECT, (uint16_t)q);
	if (mmio_read16(v->common + C_QSIZE) < size)
		return -GUEST_ERANGE;
	mmio_write16(v->common + C_QSIZE, size);
	mmio_write16(v->common + C_QMSIX, NO_VECTOR);
	/* 64-bit fields as two 32-bit halves (4.1.3.1). */
	mmio_write32(v->common + C_QDESC, (uint32_t)base);
	mmio_write32(v->common + C_QDESC + 4, (uint32_t)(base >> 32));
	mmio_write32(v->common + C_QAVAIL, (uint32_t)(base + 0x800));
	mmio_write32(v->common + C_QAVAIL + 4, (uint32_t)((base + 0x800) >> 32));
	mmio_write32(v->common + C_QUSED, (uint32_t)(base + 0x1000));
	mmio_write32(v->common + C_QUSED + 4, (uint32_t)((base + 0x1000) >> 32));
	vq->notify_addr = v->notify + (uint64_t)mmio_read16(v->common + C_QNOFF) *
				      v->notify_mult;
	mmio_write16(v->common + C_QENABLE, 1);
	return mmio_read16(v->common + C_QENABLE) == 1 ? 0 : -GUEST_EINVAL;
}

void guest_virtio_driver_ok(struct guest_virtio *v)
{
	mmio_write8(v->common + C_STATUS, guest_virtio_status(v) | STATUS_DRIVER_OK);
}

int64_t guest_vq_run(struct guest_vq *vq, const struct guest_vbuf *b, unsigned n)
{
	uint16_t head = 0, used_idx;
	uint64_t deadline = rdtsc() + (20ull << 30);	/* seconds, at any TSC rate */
	uint32_t len;

	if (!n || n > vq->size)
		return -1;
	/* One request at a time: descriptors 0..n-1 form the chain. */
	for (unsigned i = 0; i < n; i++) {
		vq->desc[i].addr = (uintptr_t)b[i].addr;
		vq->desc[i].len = b[i].len;
		vq->desc[i].flags = (uint16_t)((i + 1 < n ? 1 : 0) | (b[i].device_writes ? 2 : 0));
		vq->desc[i].next = (uint16_t)(i + 1);
	}
	vq->avail[2 + vq->avail_idx % vq->size] = head;
	__asm__ volatile("" ::: "memory");	/* ring entry before idx (x86: TSO) */
	vq->avail_idx++;
	vq->avail[1] = vq->avail_idx;
	__asm__ volatile("mfence" ::: "memory");
	mmio_write16(vq->notify_addr, (uint16_t)vq->index);
	do {
		used_idx = *(volatile uint16_t *)(vq->used + 2);
		if (used_idx != vq->used_seen)
			break;
		cpu_relax();
	} while (rdtsc() < deadline);
	if (used_idx == vq->used_seen)
		return -1;
	__asm__ volatile("" ::: "memory");
	len = *(volatile uint32_t *)(vq->used + 4 + 8 * (vq->used_seen % vq->size) + 4);
	vq->used_seen++;
	return len;
}
