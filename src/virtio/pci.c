/* virtio 1.x modern PCI transport: see include/basalt/virtio/pci.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "basalt/log.h"
#include "basalt/virtio/pci.h"

/* virtio_pci_cap (4.1.4): vndr, next, len, cfg_type, bar, id, pad[2],
 * offset, length; NOTIFY adds notify_off_multiplier, PCI_CFG 4 data bytes. */
#define CAP_VNDR 0x09
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4
#define CAP_PCI_CFG 5
#define CAP_LEN 16

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static unsigned add_cap(struct pci_func *f, uint8_t type, unsigned len,
			uint32_t off, uint32_t length)
{
	unsigned c = pci_cap_add(f, CAP_VNDR, len);

	if (!c)
		return 0;
	f->cfg[c + 2] = (uint8_t)len;
	f->cfg[c + 3] = type;
	f->cfg[c + 4] = VIRTIO_PCI_BAR;
	put32(f->cfg + c + 8, off);
	put32(f->cfg + c + 12, length);
	return c;
}

/* ---- interrupts ---- */

static void raise_vector(struct virtio_pci *t, uint16_t vec)
{
	if (vec != VIRTIO_MSI_NO_VECTOR)
		msix_notify(&t->msix, vec);
}

void virtio_pci_irq_queue(struct virtio_pci *t, unsigned q)
{
	/* Queue vectors are locked after DRIVER_OK, when devices call this. */
	if (q < t->p.num_queues)
		raise_vector(t, __atomic_load_n(&t->q[q].vector, __ATOMIC_RELAXED));
}

/* Called from I/O threads: never takes t->lock, which a vCPU resetting
 * the device holds while it waits for those threads to drain (deadlock
 * otherwise).  ISR, status bits and the config vector are atomics. */
void virtio_pci_irq_config(struct virtio_pci *t)
{
	__atomic_fetch_or(&t->isr, 2, __ATOMIC_SEQ_CST);
	raise_vector(t, __atomic_load_n(&t->config_vector, __ATOMIC_ACQUIRE));
}

void virtio_pci_config_changed(struct virtio_pci *t)
{
	pthread_mutex_lock(&t->lock);
	t->config_generation++;
	pthread_mutex_unlock(&t->lock);
	virtio_pci_irq_config(t);
}

void virtio_pci_needs_reset(struct virtio_pci *t)
{
	__atomic_fetch_or(&t->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);
	log_warn("%s: device needs reset (guest broke the virtio protocol)",
		 t->p.name);
	virtio_pci_irq_config(t);
}

/* ---- notifications ---- */

static void ioeventfds_move(struct virtio_pci *t, uint64_t base)
{
	if (t->p.vm_fd < 0 || base == t->ioeventfd_base)
		return;
	for (unsigned q = 0; q < t->p.num_queues; q++) {
		struct kvm_ioeventfd io = {
			.len = 2, .fd = t->q[q].notify_fd,
		};

		if (t->ioeventfd_base) {
			io.addr = t->ioeventfd_base + VIRTIO_PCI_NOTIFY_OFF +
				  VIRTIO_PCI_NOTIFY_MULT * q;
			io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
			if (ioctl(t->p.vm_fd, KVM_IOEVENTFD, &io) < 0)
				log_warn("%s: KVM_IOEVENTFD deassign: %s", t->p.name,
					 strerror(errno));
		}
		if (base) {
			io.addr = base + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q;
			io.flags = 0;
			/* On failure notifications still arrive, by trapping. */
			if (ioctl(t->p.vm_fd, KVM_IOEVENTFD, &io) < 0)
				log_warn("%s: KVM_IOEVENTFD at 0x%llx: %s", t->p.name,
					 (unsigned long long)io.addr, strerror(errno));
		}
	}
	t->ioeventfd_base = base;
}

static void kick(struct virtio_pci *t, unsigned q)
{
	uint64_t one = 1;

	if (q < t->p.num_queues && write(t->q[q].notify_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		log_warn("%s: notify eventfd: %s", t->p.name, strerror(errno));
}

/* ---- common configuration ---- */

static void do_reset(struct virtio_pci *t)
{
	t->p.ops->reset(t->p.dev);
	for (unsigned q = 0; q < t->p.num_queues; q++) {
		vq_reset(&t->q[q].vq);
		t->q[q].vq.size = t->p.queue_size_max;
		t->q[q].vector = VIRTIO_MSI_NO_VECTOR;
		t->q[q].enabled = false;
	}
	t->driver_features = 0;
	t->dfselect = t->gfselect = 0;
	__atomic_store_n(&t->config_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELEASE);
	__atomic_store_n(&t->status, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->isr, 0, __ATOMIC_SEQ_CST);
	t->queue_select = 0;
}

/* Stores the new status keeping a NEEDS_RESET an I/O thread set meanwhile. */
static void store_status(struct virtio_pci *t, uint8_t now)
{
	uint8_t cur = __atomic_load_n(&t->status, __ATOMIC_SEQ_CST);

	while (!__atomic_compare_exchange_n(&t->status, &cur,
					    (uint8_t)(now | (cur & VIRTIO_STATUS_NEEDS_RESET)),
					    false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

static void write_status(struct virtio_pci *t, uint8_t v)
{
	uint8_t old = __atomic_load_n(&t->status, __ATOMIC_SEQ_CST), now;
	struct bs_err e;

	if (v == 0) {
		do_reset(t);
		return;
	}
	/* Bits only accumulate short of a reset; NEEDS_RESET is the device's. */
	now = (uint8_t)(old | (v & (uint8_t)~VIRTIO_STATUS_NEEDS_RESET));
	/* FEATURES_OK only with VERSION_1 and nothing we did not offer (2.2). */
	if ((now & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    (!(t->driver_features & (1ull << VIRTIO_F_VERSION_1)) ||
	     (t->driver_features & ~t->device_features)))
		now &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	/* DRIVER_OK needs FEATURES_OK; the device starts once per reset. */
	if ((now & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(now & VIRTIO_STATUS_FEATURES_OK) || (now & VIRTIO_STATUS_FAILED) ||
		    (old & VIRTIO_STATUS_NEEDS_RESET)) {
			now &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
		} else {
			for (unsigned q = 0; q < t->p.num_queues; q++)
				t->q[q].vq.features = t->driver_features;
			store_status(t, now);
			if (t->p.ops->activate(t->p.dev, &e)) {
				log_warn("%s: cannot start: %s", t->p.name, e.msg);
				now |= VIRTIO_STATUS_NEEDS_RESET;
			}
		}
	}
	store_status(t, now);
}

static bool queue_locked(const struct virtio_pci *t, const struct virtio_pci_queue *q)
{
	return q->enabled || (__atomic_load_n(&t->status, __ATOMIC_SEQ_CST) &
			      VIRTIO_STATUS_DRIVER_OK);
}

static void enable_queue(struct virtio_pci *t, struct virtio_pci_queue *q)
{
	struct bs_err e;

	if (q->enabled)
		return;
	if (vq_validate_rings(&q->vq, &e)) {
		log_warn("%s: %s", t->p.name, e.msg);
		__atomic_fetch_or(&t->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);
		return;
	}
	q->enabled = true;
}

static uint32_t common_read(struct virtio_pci *t, unsigned off)
{
	struct virtio_pci_queue *q = t->queue_select < t->p.num_queues ?
				     &t->q[t->queue_select] : NULL;

	switch (off) {
	case VPCI_DFSELECT: return t->dfselect;
	case VPCI_DF:
		return t->dfselect < 2 ? (uint32_t)(t->device_features >> (32 * t->dfselect)) : 0;
	case VPCI_GFSELECT: return t->gfselect;
	case VPCI_GF:
		return t->gfselect < 2 ? (uint32_t)(t->driver_features >> (32 * t->gfselect)) : 0;
	case VPCI_MSIX: return t->config_vector;
	case VPCI_NUMQ: return t->p.num_queues;
	case VPCI_STATUS: return __atomic_load_n(&t->status, __ATOMIC_SEQ_CST);
	case VPCI_CFGGEN: return t->config_generation;
	case VPCI_Q_SELECT: return t->queue_select;
	}
	if (!q)		/* no such queue: size 0 tells the driver (4.1.4.3.2) */
		return 0;
	switch (off) {
	case VPCI_Q_SIZE: return q->vq.size;
	case VPCI_Q_MSIX: return q->vector;
	case VPCI_Q_ENABLE: return q->enabled;
	case VPCI_Q_NOFF: return t->queue_select;
	case VPCI_Q_DESCLO: return (uint32_t)q->vq.desc;
	case VPCI_Q_DESCHI: return (uint32_t)(q->vq.desc >> 32);
	case VPCI_Q_AVAILLO: return (uint32_t)q->vq.avail;
	case VPCI_Q_AVAILHI: return (uint32_t)(q->vq.avail >> 32);
	case VPCI_Q_USEDLO: return (uint32_t)q->vq.used;
	case VPCI_Q_USEDHI: return (uint32_t)(q->vq.used >> 32);
	}
	return 0;
}

static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & ~0xffffffffull) | v; }
static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | (uint64_t)v << 32; }

static void common_write(struct virtio_pci *t, unsigned off, uint32_t v)
{
	struct virtio_pci_queue *q = t->queue_select < t->p.num_queues ?
				     &t->q[t->queue_select] : NULL;

	switch (off) {
	case VPCI_DFSELECT: t->dfselect = v; return;
	case VPCI_GFSELECT: t->gfselect = v; return;
	case VPCI_GF:
		if (t->gfselect < 2 && !(__atomic_load_n(&t->status, __ATOMIC_SEQ_CST) &
					 VIRTIO_STATUS_FEATURES_OK)) {
			if (t->gfselect)
				set_hi(&t->driver_features, v);
			else
				set_lo(&t->driver_features, v);
		}
		return;
	case VPCI_MSIX:
		__atomic_store_n(&t->config_vector,
				 (uint16_t)(v < t->msix.nvec ? v : VIRTIO_MSI_NO_VECTOR),
				 __ATOMIC_RELEASE);
		return;
	case VPCI_STATUS: write_status(t, (uint8_t)v); return;
	case VPCI_Q_SELECT: t->queue_select = (uint16_t)v; return;
	}
	if (!q || queue_locked(t, q)) {
		/* Writes to a missing or locked queue are ignored, except the
		 * idempotent queue_enable = 1. */
		return;
	}
	switch (off) {
	case VPCI_Q_SIZE:
		/* A power of two up to the maximum (split rings, 2.7). */
		if (v && v <= t->p.queue_size_max && !(v & (v - 1)))
			q->vq.size = (uint16_t)v;
		return;
	case VPCI_Q_MSIX:
		/* An unknown vector reads back as NO_VECTOR (4.1.5.1.2). */
		q->vector = (uint16_t)(v < t->msix.nvec ? v : VIRTIO_MSI_NO_VECTOR);
		return;
	case VPCI_Q_ENABLE:
		if (v == 1)
			enable_queue(t, q);
		return;
	case VPCI_Q_DESCLO: set_lo(&q->vq.desc, v); return;
	case VPCI_Q_DESCHI: set_hi(&q->vq.desc, v); return;
	case VPCI_Q_AVAILLO: set_lo(&q->vq.avail, v); return;
	case VPCI_Q_AVAILHI: set_hi(&q->vq.avail, v); return;
	case VPCI_Q_USEDLO: set_lo(&q->vq.used, v); return;
	case VPCI_Q_USEDHI: set_hi(&q->vq.used, v); return;
	}
}

/* Register widths of the common configuration (4.1.4.3.1: the driver
 * accesses each field with its own width). */
static unsigned common_width(unsigned off)
{
	switch (off) {
	case VPCI_MSIX: case VPCI_NUMQ: case VPCI_Q_SELECT: case VPCI_Q_SIZE:
	case VPCI_Q_MSIX: case VPCI_Q_ENABLE: case VPCI_Q_NOFF:
		return 2;
	case VPCI_STATUS: case VPCI_CFGGEN:
		return 1;
	}
	return off < VIRTIO_PCI_COMMON_LEN && !(off & 3) ? 4 : 0;
}

/* ---- BAR 4 ---- */

static void bar_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct virtio_pci *t = dev;
	uint32_t v = 0;

	memset(data, 0, len);
	if (off >= VIRTIO_PCI_MSIX_TABLE_OFF &&
	    off < VIRTIO_PCI_MSIX_TABLE_OFF + msix_table_bytes(t->msix.nvec)) {
		msix_table_read(&t->msix, off - VIRTIO_PCI_MSIX_TABLE_OFF, data, len);
		return;
	}
	if (off >= VIRTIO_PCI_MSIX_PBA_OFF &&
	    off < VIRTIO_PCI_MSIX_PBA_OFF + msix_pba_bytes(t->msix.nvec)) {
		msix_pba_read(&t->msix, off - VIRTIO_PCI_MSIX_PBA_OFF, data, len);
		return;
	}
	pthread_mutex_lock(&t->lock);
	if (off < VIRTIO_PCI_COMMON_LEN) {
		if (common_width((unsigned)off) == len) {
			v = common_read(t, (unsigned)off);
			memcpy(data, &v, len);
		}
	} else if (off == VIRTIO_PCI_ISR_OFF && len == 1) {
		/* Read-to-clear (4.1.4.5.1). */
		*(uint8_t *)data = __atomic_exchange_n(&t->isr, 0, __ATOMIC_SEQ_CST);
	} else if (off >= VIRTIO_PCI_DEVCFG_OFF &&
		   off - VIRTIO_PCI_DEVCFG_OFF < t->p.cfg_size &&
		   len <= t->p.cfg_size - (off - VIRTIO_PCI_DEVCFG_OFF)) {
		t->p.ops->cfg_read(t->p.dev, (uint32_t)(off - VIRTIO_PCI_DEVCFG_OFF),
				   data, len);
	}
	pthread_mutex_unlock(&t->lock);
}

static void bar_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct virtio_pci *t = dev;
	uint32_t v = 0;

	if (off >= VIRTIO_PCI_MSIX_TABLE_OFF &&
	    off < VIRTIO_PCI_MSIX_TABLE_OFF + msix_table_bytes(t->msix.nvec)) {
		msix_table_write(&t->msix, off - VIRTIO_PCI_MSIX_TABLE_OFF, data, len);
		return;
	}
	if (off >= VIRTIO_PCI_NOTIFY_OFF &&
	    off < VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * t->p.num_queues) {
		kick(t, (unsigned)(off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT);
		return;
	}
	memcpy(&v, data, len > 4 ? 4 : len);
	pthread_mutex_lock(&t->lock);
	if (off < VIRTIO_PCI_COMMON_LEN) {
		if (common_width((unsigned)off) == len) {
			common_write(t, (unsigned)off, v);
		} else if (len == 8 && off >= VPCI_Q_DESCLO && !(off & 7)) {
			/* A 64-bit queue address in one access: both halves. */
			uint32_t hi;

			memcpy(&hi, (const uint8_t *)data + 4, 4);
			common_write(t, (unsigned)off, v);
			common_write(t, (unsigned)off + 4, hi);
		}
	} else if (off >= VIRTIO_PCI_DEVCFG_OFF &&
		   off - VIRTIO_PCI_DEVCFG_OFF < t->p.cfg_size &&
		   len <= t->p.cfg_size - (off - VIRTIO_PCI_DEVCFG_OFF) &&
		   t->p.ops->cfg_write) {
		t->p.ops->cfg_write(t->p.dev, (uint32_t)(off - VIRTIO_PCI_DEVCFG_OFF),
				    data, len);
	}
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_dev_ops virtio_bar_ops = {
	.name = "virtio-pci",
	.read = bar_read,
	.write = bar_write,
};

/* ---- configuration space hooks ---- */

/* VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): the driver sets bar, offset and
 * length (1, 2 or 4) in the capability, then accesses pci_cfg_data; we
 * carry that access out on the BAR.  Reads happen at write time of the
 * window registers, writes when pci_cfg_data is written. */
static void pci_cfg_window(struct virtio_pci *t, unsigned off, unsigned len)
{
	struct pci_func *f = &t->f;
	unsigned c = t->pci_cfg_cap, data = c + 16;
	uint32_t boff = get32(f->cfg + c + 8), blen = get32(f->cfg + c + 12);
	bool ok = f->cfg[c + 4] == VIRTIO_PCI_BAR &&
		  (blen == 1 || blen == 2 || blen == 4) && !(boff & (blen - 1)) &&
		  boff < VIRTIO_PCI_BAR_SIZE;

	if (!c || off + len <= c || off >= data + 4)
		return;
	if (off >= data) {
		if (ok)
			bar_write(t, boff, f->cfg + data, blen);
		return;
	}
	/* Window registers changed: latch what a read would return. */
	put32(f->cfg + data, 0);
	if (ok)
		bar_read(t, boff, f->cfg + data, blen);
}

static void cfg_written(struct pci_func *f, unsigned off, unsigned len)
{
	struct virtio_pci *t = f->priv;

	msix_cfg_written(&t->msix, off, len);
	pci_cfg_window(t, off, len);
	if ((off <= PCI_CFG_COMMAND && off + len > PCI_CFG_COMMAND) ||
	    (off < PCI_CFG_BAR0 + 4 * (VIRTIO_PCI_BAR + 2) &&
	     off + len > PCI_CFG_BAR0 + 4 * VIRTIO_PCI_BAR))
		ioeventfds_move(t, pci_bar_addr(f, VIRTIO_PCI_BAR));
}

/* ---- set-up ---- */

int virtio_pci_init(struct virtio_pci *t, const struct virtio_pci_params *p,
		    struct bs_err *e)
{
	struct pci_func *f = &t->f;
	struct msix_sink sink;
	unsigned nvec = p->num_queues + 1, c;
	int r;

	memset(t, 0, sizeof(*t));
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
		t->q[q].notify_fd = -1;
	if (!p->num_queues || p->num_queues > VIRTIO_PCI_MAX_QUEUES ||
	    !p->queue_size_max || p->queue_size_max > VQ_MAX_SIZE ||
	    (p->queue_size_max & (p->queue_size_max - 1)) ||
	    p->cfg_size > VIRTIO_PCI_DEVCFG_MAX)
		return bs_errf(e, EINVAL, "%s: bad queue or config parameters", p->name);
	t->p = *p;
	snprintf(t->name, sizeof(t->name), "%s", p->name);
	t->p.name = t->name;	/* the caller's string may not outlive us */
	t->device_features = p->features | 1ull << VIRTIO_F_VERSION_1;
	pthread_mutex_init(&t->lock, NULL);

	put16(f->cfg + 0x00, VIRTIO_PCI_VENDOR);
	put16(f->cfg + 0x02, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + p->ops->device_id));
	f->cfg[0x08] = 1;				/* revision: modern */
	f->cfg[0x09] = (uint8_t)p->ops->pci_class;
	f->cfg[0x0a] = (uint8_t)(p->ops->pci_class >> 8);
	f->cfg[0x0b] = (uint8_t)(p->ops->pci_class >> 16);
	put16(f->cfg + 0x2c, VIRTIO_PCI_VENDOR);	/* subsystem vendor */
	put16(f->cfg + 0x2e, 0x40);			/* subsystem id (4.1.2.1) */
	f->priv = t;
	f->cfg_written = cfg_written;

	r = pci_func_add_bar(f, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, PCI_BAR_MEM64,
			     &virtio_bar_ops, t, e);
	if (r)
		goto fail;
	if (!add_cap(f, CAP_COMMON, CAP_LEN, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN) ||
	    !add_cap(f, CAP_ISR, CAP_LEN, VIRTIO_PCI_ISR_OFF, 1) ||
	    (p->cfg_size && !add_cap(f, CAP_DEVICE, CAP_LEN, VIRTIO_PCI_DEVCFG_OFF, p->cfg_size)) ||
	    !(c = add_cap(f, CAP_NOTIFY, CAP_LEN + 4, VIRTIO_PCI_NOTIFY_OFF,
			  VIRTIO_PCI_NOTIFY_MULT * p->num_queues))) {
		r = bs_errf(e, ENOSPC, "%s: capabilities do not fit", p->name);
		goto fail;
	}
	put32(f->cfg + c + 16, VIRTIO_PCI_NOTIFY_MULT);
	c = add_cap(f, CAP_PCI_CFG, CAP_LEN + 4, 0, 0);
	if (!c) {
		r = bs_errf(e, ENOSPC, "%s: capabilities do not fit", p->name);
		goto fail;
	}
	t->pci_cfg_cap = c;
	/* bar, offset, length and data of the PCI_CFG window are writable. */
	f->wmask[c + 4] = 0xff;
	memset(f->wmask + c + 8, 0xff, 12);

	if (p->irq) {
		r = msix_kvm_init(&t->msix_kvm, p->irq, nvec, &sink, e);
		if (r)
			goto fail;
	} else if (p->sink) {
		sink = *p->sink;
	} else {
		r = bs_errf(e, EINVAL, "%s: no interrupt sink", p->name);
		goto fail;
	}
	r = msix_init(&t->msix, f, nvec, VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_TABLE_OFF,
		      VIRTIO_PCI_MSIX_PBA_OFF, &sink, e);
	if (r)
		goto fail;
	for (unsigned q = 0; q < p->num_queues; q++) {
		char name[48];

		t->q[q].notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->q[q].notify_fd < 0) {
			r = bs_errf(e, errno, "%s: eventfd: %s", p->name, strerror(errno));
			goto fail;
		}
		snprintf(name, sizeof(name), "%s q%u", p->name, q);
		vq_init(&t->q[q].vq, p->gm, name);
	}
	for (unsigned q = 0; q < p->num_queues; q++) {
		t->q[q].vq.size = p->queue_size_max;
		t->q[q].vector = VIRTIO_MSI_NO_VECTOR;
	}
	t->config_vector = VIRTIO_MSI_NO_VECTOR;
	return 0;
fail:
	virtio_pci_destroy(t);
	return r;
}

/* Leaves the ioeventfds to the VM fd's close (no ioctl on the sandboxed
 * main thread at teardown). */
void virtio_pci_destroy(struct virtio_pci *t)
{
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
		if (t->q[q].notify_fd >= 0)
			close(t->q[q].notify_fd);
	msix_destroy(&t->msix);
	if (t->msix_kvm.efd)
		msix_kvm_destroy(&t->msix_kvm);
	if (t->p.ops)
		pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
		t->q[q].notify_fd = -1;	/* a second destroy closes nothing */
}

struct virtq *virtio_pci_queue(struct virtio_pci *t, unsigned q)
{
	return q < t->p.num_queues && t->q[q].enabled ? &t->q[q].vq : NULL;
}

int virtio_pci_notify_fd(struct virtio_pci *t, unsigned q)
{
	return q < t->p.num_queues ? t->q[q].notify_fd : -1;
}

uint64_t virtio_pci_features(struct virtio_pci *t)
{
	uint64_t f;

	pthread_mutex_lock(&t->lock);
	f = t->driver_features;
	pthread_mutex_unlock(&t->lock);
	return f;
}
