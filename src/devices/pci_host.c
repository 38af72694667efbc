#include <string.h>

#include "basalt/devices/pci.h"

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

void pci_bus_init(struct pci_bus *b)
{
	memset(b, 0, sizeof(*b));
	pthread_rwlock_init(&b->lock, NULL);
	put16(b->host.cfg + 0x00, PCI_HOST_VENDOR);
	put16(b->host.cfg + 0x02, PCI_HOST_DEVICE);
	b->host.cfg[0x08] = 0;            /* revision */
	b->host.cfg[0x0a] = 0x00;         /* subclass: host bridge */
	b->host.cfg[0x0b] = 0x06;         /* class: bridge */
	b->host.cfg[0x0e] = 0x00;         /* header type 0, single function */
	put16(b->host.wmask + 0x04, 0x0006);   /* command: memory, bus master */
	b->slot[0] = &b->host;
}

int pci_bus_add(struct pci_bus *b, unsigned slot, struct pci_func *f,
		struct bs_err *e)
{
	if (slot == 0 || slot >= PCI_MAX_SLOTS || b->slot[slot])
		return bs_errf(e, EBUSY, "pci: slot %u is not free", slot);
	b->slot[slot] = f;
	return 0;
}

static struct pci_func *lookup(struct pci_bus *b, unsigned bus, unsigned devfn)
{
	/* Only function 0 of each slot on bus 0 exists. */
	if (bus != 0 || (devfn & 7) != 0)
		return NULL;
	return b->slot[devfn >> 3];
}

static bool valid(unsigned off, unsigned len)
{
	return (len == 1 || len == 2 || len == 4) && off < 256 &&
	       off + len <= 256 && (off & (len - 1)) == 0;
}

uint32_t pci_cfg_read(struct pci_bus *b, unsigned bus, unsigned devfn,
		      unsigned off, unsigned len)
{
	struct pci_func *f;
	uint32_t v = 0xffffffff;

	if (!valid(off, len))
		return v;
	pthread_rwlock_rdlock(&b->lock);
	f = lookup(b, bus, devfn);
	if (f) {
		v = 0;
		memcpy(&v, f->cfg + off, len);
		if (f->cfg_read)
			v = f->cfg_read(f, off, len, v);
	}
	pthread_rwlock_unlock(&b->lock);
	if (len < 4)
		v &= (1u << (len * 8)) - 1;
	return v;
}

void pci_cfg_write(struct pci_bus *b, unsigned bus, unsigned devfn,
		   unsigned off, unsigned len, uint32_t val)
{
	struct pci_func *f;

	if (!valid(off, len))
		return;
	pthread_rwlock_wrlock(&b->lock);
	f = lookup(b, bus, devfn);
	if (f) {
		if (f->cfg_write)
			f->cfg_write(f, off, len, val);
		for (unsigned i = 0; i < len; i++) {
			uint8_t m = f->wmask[off + i], nv = (uint8_t)(val >> (8 * i));

			f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~m) | (nv & m));
		}
		if (f->cfg_written)
			f->cfg_written(f, off, len);
	}
	pthread_rwlock_unlock(&b->lock);
}

/* Address register: bit 31 enable, 23:16 bus, 15:8 devfn, 7:2 register. */
static void cam_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct pci_bus *b = dev;
	uint32_t v = 0xffffffff;

	if (off == 0 && len == 4) {
		v = __atomic_load_n(&b->addr, __ATOMIC_RELAXED);
	} else if (off >= 4) {
		uint32_t a = __atomic_load_n(&b->addr, __ATOMIC_RELAXED);

		if (a & 0x80000000u)
			v = pci_cfg_read(b, (a >> 16) & 0xff, (a >> 8) & 0xff,
					 (a & 0xfc) + (unsigned)(off - 4), len);
	}
	memcpy(data, &v, len);
}

static void cam_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct pci_bus *b = dev;
	uint32_t v = 0;

	memcpy(&v, data, len);
	if (off == 0 && len == 4) {
		__atomic_store_n(&b->addr, v & 0x80fffffcu, __ATOMIC_RELAXED);
	} else if (off >= 4) {
		uint32_t a = __atomic_load_n(&b->addr, __ATOMIC_RELAXED);

		if (a & 0x80000000u)
			pci_cfg_write(b, (a >> 16) & 0xff, (a >> 8) & 0xff,
				      (a & 0xfc) + (unsigned)(off - 4), len, v);
	}
}

const struct bus_dev_ops pci_cam_ops = {
	.name = "pci-cam",
	.read = cam_read,
	.write = cam_write,
};

/* ECAM (PCI Express Base spec 7.2.2, "PCI Express Enhanced Configuration
 * Access Mechanism"): offset = bus << 20 | device << 15 | function << 12 |
 * register, one 4 KiB window per function.  Our functions have only the
 * 256-byte conventional space: registers 0x100..0xfff of a present function
 * read as 0 (no extended capabilities) and ignore writes.  An 8-byte access
 * is split in two dwords. */
static void ecam_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct pci_bus *b = dev;
	unsigned bus = (unsigned)(off >> 20) & 0xff, devfn = (unsigned)(off >> 12) & 0xff;
	unsigned reg = (unsigned)off & 0xfff;
	uint32_t v[2] = { 0xffffffff, 0xffffffff };

	if (len == 8 && !(reg & 7) && reg < 256) {
		v[0] = pci_cfg_read(b, bus, devfn, reg, 4);
		v[1] = pci_cfg_read(b, bus, devfn, reg + 4, 4);
	} else if (len <= 4 && reg < 256) {
		v[0] = pci_cfg_read(b, bus, devfn, reg, len);
	} else if (len <= 4 && !(reg & (len - 1)) &&
		   pci_cfg_read(b, bus, devfn, 0, 4) != 0xffffffff) {
		v[0] = 0;	/* extended space of a present function */
	}
	memcpy(data, v, len);
}

static void ecam_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct pci_bus *b = dev;
	unsigned bus = (unsigned)(off >> 20) & 0xff, devfn = (unsigned)(off >> 12) & 0xff;
	unsigned reg = (unsigned)off & 0xfff;
	uint32_t v[2] = { 0, 0 };

	memcpy(v, data, len);
	if (len == 8 && !(reg & 7) && reg < 256) {
		pci_cfg_write(b, bus, devfn, reg, 4, v[0]);
		pci_cfg_write(b, bus, devfn, reg + 4, 4, v[1]);
	} else if (len <= 4 && reg < 256) {
		pci_cfg_write(b, bus, devfn, reg, len, v[0]);
	}
}

const struct bus_dev_ops pci_ecam_ops = {
	.name = "pci-ecam",
	.read = ecam_read,
	.write = ecam_write,
};
