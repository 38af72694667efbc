/* A virtio-balloon device (virtio 1.2: 4.1 PCI transport, 5.5 balloon)
 * as a vfio-user device, so that a Linux guest's stock virtio-pci and
 * virtio_balloon drivers bind to a passed-through function and drive it
 * through MSI-X: the test kernel has no driver for the accelerator.
 *
 * Modern virtio-pci only, everything in BAR 4 (64-bit, 32 KiB, trapped):
 * common configuration at 0, ISR at 0x1000, device configuration at
 * 0x2000 (num_pages, actual), notifications at 0x3000 (4 bytes a queue),
 * MSI-X table at 0x4000 and PBA at 0x6000, 3 vectors.  Two queues
 * (inflate, deflate), no optional features.
 *
 * Once the driver sets DRIVER_OK the device asks for TARGET pages
 * (num_pages) and raises the configuration vector; Linux inflates,
 * posting page frame numbers on the inflate queue, which the device
 * acknowledges (used ring, queue vector) and counts; the driver then
 * writes `actual`, which the device logs: "balloon: actual N pages". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/vfio.h>

#include "server.h"

#define TARGET_PAGES 256
#define BAR 4
#define BAR_SIZE 0x8000
#define COMMON 0x0000
#define ISR 0x1000
#define DEVCFG 0x2000
#define NOTIFY 0x3000
#define MSIX_TABLE 0x4000
#define MSIX_PBA 0x6000
#define NQ 2
#define QSIZE 64
#define NVEC 3
#define NO_VECTOR 0xffff
#define STATUS_DRIVER_OK 4

struct vq {
	uint16_t size, vector, enable, last_avail;
	uint64_t desc, avail, used;
};

struct balloon {
	struct vdev *d;
	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint8_t status, isr, generation;
	uint16_t config_vector, qsel;
	struct vq q[NQ];
	uint32_t num_pages, actual;
	uint64_t pfns;                  /* page numbers received */
	bool kicked[NQ], asked;
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void b_reset(struct vdev *d)
{
	struct balloon *b = d->priv;

	b->dfselect = b->gfselect = 0;
	b->driver_features = 0;
	b->status = b->isr = 0;
	b->config_vector = NO_VECTOR;
	b->qsel = 0;
	for (unsigned i = 0; i < NQ; i++)
		b->q[i] = (struct vq){ .size = QSIZE, .vector = NO_VECTOR };
	memset(b->kicked, 0, sizeof(b->kicked));
	b->num_pages = b->actual = 0;
	b->asked = false;
}

static uint32_t common_read(struct balloon *b, unsigned off)
{
	struct vq *q = b->qsel < NQ ? &b->q[b->qsel] : NULL;
	uint64_t dev_features = 1ull << 32;     /* VIRTIO_F_VERSION_1 */

	switch (off) {
	case 0x00: return b->dfselect;
	case 0x04: return b->dfselect < 2 ? (uint32_t)(dev_features >> 32 * b->dfselect) : 0;
	case 0x08: return b->gfselect;
	case 0x0c: return b->gfselect < 2 ? (uint32_t)(b->driver_features >> 32 * b->gfselect) : 0;
	case 0x10: return b->config_vector;
	case 0x12: return NQ;
	case 0x14: return b->status;
	case 0x15: return b->generation;
	case 0x16: return b->qsel;
	}
	if (!q)
		return 0;
	switch (off) {
	case 0x18: return q->size;
	case 0x1a: return q->vector;
	case 0x1c: return q->enable;
	case 0x1e: return b->qsel;              /* queue_notify_off */
	case 0x20: return (uint32_t)q->desc;
	case 0x24: return (uint32_t)(q->desc >> 32);
	case 0x28: return (uint32_t)q->avail;
	case 0x2c: return (uint32_t)(q->avail >> 32);
	case 0x30: return (uint32_t)q->used;
	case 0x34: return (uint32_t)(q->used >> 32);
	}
	return 0;
}

static void set_half(uint64_t *r, bool hi, uint32_t v)
{
	*r = hi ? (*r & 0xffffffffull) | (uint64_t)v << 32 : (*r & ~0xffffffffull) | v;
}

static void common_write(struct balloon *b, unsigned off, uint32_t v)
{
	struct vq *q = b->qsel < NQ ? &b->q[b->qsel] : NULL;

	switch (off) {
	case 0x00: b->dfselect = v; return;
	case 0x08: b->gfselect = v; return;
	case 0x0c:
		if (b->gfselect < 2)
			set_half(&b->driver_features, b->gfselect, v);
		return;
	case 0x10: b->config_vector = (uint16_t)(v < NVEC ? v : NO_VECTOR); return;
	case 0x14:
		if (!v) {
			b_reset(b->d);
			srv_log("balloon: driver reset the device");
			return;
		}
		/* FEATURES_OK only with VERSION_1 and nothing else. */
		if ((v & 8) && b->driver_features != 1ull << 32)
			v &= ~8u;
		b->status = (uint8_t)v;
		if (v & STATUS_DRIVER_OK)
			srv_log("balloon: driver ready (status 0x%x)", v);
		return;
	case 0x16: b->qsel = (uint16_t)v; return;
	}
	if (!q || q->enable)
		return;
	switch (off) {
	case 0x18: if (v && v <= QSIZE && !(v & (v - 1))) q->size = (uint16_t)v; return;
	case 0x1a: q->vector = (uint16_t)(v < NVEC ? v : NO_VECTOR); return;
	case 0x1c: q->enable = v == 1; return;
	case 0x20: set_half(&q->desc, false, v); return;
	case 0x24: set_half(&q->desc, true, v); return;
	case 0x28: set_half(&q->avail, false, v); return;
	case 0x2c: set_half(&q->avail, true, v); return;
	case 0x30: set_half(&q->used, false, v); return;
	case 0x34: set_half(&q->used, true, v); return;
	}
}

static void b_read(struct vdev *d, unsigned region, uint64_t off, void *buf, uint32_t len)
{
	struct balloon *b = d->priv;
	uint32_t v = 0;

	memset(buf, 0, len);
	if (region != BAR || len > 4)
		return;
	if (off < 0x38) {
		v = common_read(b, (unsigned)off);
	} else if (off == ISR) {
		v = b->isr;
		b->isr = 0;
	} else if (off >= DEVCFG && off + len <= DEVCFG + 8) {
		uint8_t cfg[8];

		put32(cfg, b->num_pages);
		put32(cfg + 4, b->actual);
		memcpy(buf, cfg + (off - DEVCFG), len);
		return;
	}
	memcpy(buf, &v, len);
}

static void b_write(struct vdev *d, unsigned region, uint64_t off, const void *buf,
		    uint32_t len)
{
	struct balloon *b = d->priv;
	uint32_t v = 0;

	if (region != BAR || len > 4)
		return;
	memcpy(&v, buf, len);
	if (off < 0x38) {
		common_write(b, (unsigned)off, v);
	} else if (off >= NOTIFY && off < NOTIFY + 4 * NQ) {
		b->kicked[(off - NOTIFY) / 4] = true;
	} else if (off == DEVCFG + 4 && len == 4) {
		b->actual = v;
		srv_log("balloon: actual %u pages (%llu page numbers received)", v,
			(unsigned long long)b->pfns);
	}
}

/* Takes every new chain off queue i's avail ring, counts its page
 * numbers (4 bytes each), puts it on the used ring; then interrupts. */
static void drain(struct balloon *b, unsigned i)
{
	struct server *s = b->d->srv;
	struct vq *q = &b->q[i];
	volatile uint16_t *avail = srv_dma(s, q->avail, 4 + 2u * q->size, false);
	volatile uint8_t *used = srv_dma(s, q->used, 4 + 8u * q->size, true);
	const uint8_t *desc = srv_dma(s, q->desc, 16u * q->size, false);
	uint16_t idx, uidx;
	unsigned n = 0;

	if (!q->enable || !avail || !used || !desc) {
		srv_log("balloon: queue %u rings outside guest memory", i);
		return;
	}
	idx = __atomic_load_n(&avail[1], __ATOMIC_ACQUIRE);
	memcpy(&uidx, (const void *)(used + 2), 2);
	while (q->last_avail != idx && n++ < q->size) {
		uint16_t head = avail[2 + q->last_avail % q->size];
		uint32_t dlen = 0;
		uint8_t ent[8];

		if (head < q->size)
			memcpy(&dlen, desc + 16u * head + 8, 4);
		b->pfns += dlen / 4;
		put32(ent, head);
		put32(ent + 4, 0);
		memcpy((void *)(used + 4 + 8u * (uidx % q->size)), ent, 8);
		uidx++;
		q->last_avail++;
	}
	__atomic_store_n((uint16_t *)(used + 2), uidx, __ATOMIC_RELEASE);
	if (!(avail[0] & 1) && q->vector != NO_VECTOR)
		srv_irq(s, q->vector);
}

static void b_after_reply(struct vdev *d)
{
	struct balloon *b = d->priv;

	for (unsigned i = 0; i < NQ; i++) {
		if (b->kicked[i]) {
			b->kicked[i] = false;
			drain(b, i);
		}
	}
	if ((b->status & STATUS_DRIVER_OK) && !b->asked) {
		b->asked = true;
		b->num_pages = TARGET_PAGES;
		b->generation++;
		b->isr |= 2;
		srv_log("balloon: asking for %u pages (configuration vector %u)",
			TARGET_PAGES, b->config_vector);
		if (b->config_vector != NO_VECTOR)
			srv_irq(d->srv, b->config_vector);
	}
}

/* virtio_pci_cap (4.1.4): vndr, next, len, type, bar, id, pad, offset, length. */
static void vcap(uint8_t *c, unsigned at, unsigned next, uint8_t type, unsigned len,
		 uint32_t off, uint32_t length)
{
	c[at] = 0x09;
	c[at + 1] = (uint8_t)next;
	c[at + 2] = (uint8_t)len;
	c[at + 3] = type;
	c[at + 4] = BAR;
	put32(c + at + 8, off);
	put32(c + at + 12, length);
}

int balloon_init(struct vdev *d)
{
	struct balloon *b = calloc(1, sizeof(*b));
	uint8_t *c = d->cfg;

	if (!b)
		return -ENOMEM;
	b->d = d;
	d->name = "virtio-balloon";
	d->priv = b;
	d->read = b_read;
	d->write = b_write;
	d->after_reply = b_after_reply;
	d->reset = b_reset;
	for (unsigned i = 0; i < SRV_REGIONS; i++)
		d->reg[i].fd = -1;
	d->reg[BAR] = (struct srv_region){
		.size = BAR_SIZE, .fd = -1,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
	};
	d->reg[SRV_CONFIG] = (struct srv_region){
		.size = 256, .fd = -1,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
	};
	d->irq_count[VFIO_PCI_MSIX_IRQ_INDEX] = NVEC;

	memset(c, 0, 256);
	put16(c, 0x1af4);
	put16(c + 2, 0x1040 + 5);               /* modern, device type 5 */
	put16(c + 6, 0x0010);
	c[0x08] = 1;                            /* revision: modern */
	c[0x0a] = 0xff;                         /* class 00/ff: other */
	put32(c + 0x20, 0x00000004);            /* BAR 4: 64-bit memory */
	put16(c + 0x2c, 0x1af4);
	put16(c + 0x2e, 0x0040);
	c[0x34] = 0x40;
	vcap(c, 0x40, 0x50, 1, 16, COMMON, 0x38);
	vcap(c, 0x50, 0x60, 3, 16, ISR, 1);
	vcap(c, 0x60, 0x70, 4, 16, DEVCFG, 8);
	vcap(c, 0x70, 0x90, 2, 20, NOTIFY, 4 * NQ);
	put32(c + 0x70 + 16, 4);                /* notify_off_multiplier */
	c[0x90] = 0x11;                         /* MSI-X */
	put16(c + 0x92, NVEC - 1);
	put32(c + 0x94, MSIX_TABLE | BAR);
	put32(c + 0x98, MSIX_PBA | BAR);
	d->cfg_wmask[0x04] = 0x06;
	d->cfg_wmask[0x05] = 0x04;
	b_reset(d);
	return 0;
}
