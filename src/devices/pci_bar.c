/* PCI memory BARs, the windows they decode in, and capability lists.
 *
 * BAR layout (PCI Local Bus spec 3.0, 6.2.5.1): bit 0 = 0 (memory), bits 2:1
 * type (00 = 32-bit, 10 = 64-bit, the next BAR holding bits 63:32), bit 3
 * prefetchable, the rest the address.  The bits below the size are
 * read-only zero, so a guest that writes all-ones reads back ~(size - 1)
 * with the type bits: the write mask does the sizing protocol.
 *
 * Capabilities (6.7): STATUS bit 4 says the list exists, 0x34 points at the
 * first, each starts with {id, next}. */
#include <stdlib.h>
#include <string.h>

#include "basalt/devices/pci.h"

#define BAR_TYPE_64 0x4
#define BAR_PREFETCH 0x8
#define CAP_START 0x40

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

int pci_func_add_bar(struct pci_func *f, unsigned idx, uint64_t size,
		     unsigned flags, const struct bus_dev_ops *ops, void *dev,
		     struct bs_err *e)
{
	bool is64 = flags & PCI_BAR_MEM64;
	unsigned off = PCI_CFG_BAR0 + 4 * idx;
	uint64_t mask = ~(size - 1);

	if (idx >= PCI_NUM_BARS || (is64 && idx + 1 >= PCI_NUM_BARS))
		return bs_errf(e, EINVAL, "pci: BAR %u does not exist%s", idx,
			       is64 ? " (a 64-bit BAR needs two slots)" : "");
	if (f->bar[idx].size || (is64 && f->bar[idx + 1].size) ||
	    (idx > 0 && f->bar[idx - 1].flags & PCI_BAR_MEM64))
		return bs_errf(e, EINVAL, "pci: BAR %u is already in use", idx);
	if (size < 16 || (size & (size - 1)) || (!is64 && size > (1ull << 31)))
		return bs_errf(e, EINVAL, "pci: BAR %u: bad size 0x%llx (a power "
			       "of two, 16 bytes to %s)", idx,
			       (unsigned long long)size, is64 ? "2^63" : "2 GiB");
	if (!ops)
		return bs_errf(e, EINVAL, "pci: BAR %u has no device ops", idx);
	f->bar[idx] = (struct pci_bar){ size, flags, ops, dev };
	wr32(f->cfg + off, (is64 ? BAR_TYPE_64 : 0) |
			   (flags & PCI_BAR_PREFETCH ? BAR_PREFETCH : 0));
	wr32(f->wmask + off, (uint32_t)mask & ~0xfu);
	if (is64) {
		wr32(f->cfg + off + 4, 0);
		wr32(f->wmask + off + 4, (uint32_t)(mask >> 32));
		f->bar[idx + 1] = (struct pci_bar){ 0, 0, NULL, NULL };
	}
	/* The guest may turn memory decoding and bus mastering on and off. */
	f->wmask[PCI_CFG_COMMAND] |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return 0;
}

static uint64_t bar_reg(const struct pci_func *f, unsigned idx)
{
	unsigned off = PCI_CFG_BAR0 + 4 * idx;
	uint64_t v = rd32(f->cfg + off) & ~0xfu;

	if (f->bar[idx].flags & PCI_BAR_MEM64)
		v |= (uint64_t)rd32(f->cfg + off + 4) << 32;
	return v;
}

uint64_t pci_bar_addr(const struct pci_func *f, unsigned idx)
{
	if (idx >= PCI_NUM_BARS || !f->bar[idx].size ||
	    !(f->cfg[PCI_CFG_COMMAND] & PCI_COMMAND_MEMORY))
		return 0;
	return bar_reg(f, idx);
}

int pci_func_add_rom(struct pci_func *f, uint64_t size,
		     const struct bus_dev_ops *ops, void *dev, struct bs_err *e)
{
	if (f->rom.size)
		return bs_errf(e, EINVAL, "pci: expansion ROM already declared");
	if (size < PCI_ROM_MIN || (size & (size - 1)) || size > (1ull << 31))
		return bs_errf(e, EINVAL, "pci: expansion ROM: bad size 0x%llx (a "
			       "power of two, 2 KiB to 2 GiB)", (unsigned long long)size);
	if (!ops)
		return bs_errf(e, EINVAL, "pci: expansion ROM has no device ops");
	f->rom = (struct pci_bar){ size, 0, ops, dev };
	wr32(f->cfg + PCI_CFG_ROM, 0);
	/* Address bits 31:11 above the size, and the enable bit. */
	wr32(f->wmask + PCI_CFG_ROM, ((uint32_t)~(size - 1) & 0xfffff800u) |
				     PCI_ROM_ENABLE);
	f->wmask[PCI_CFG_COMMAND] |= PCI_COMMAND_MEMORY;
	return 0;
}

uint64_t pci_rom_addr(const struct pci_func *f)
{
	uint32_t reg = rd32(f->cfg + PCI_CFG_ROM);

	if (!f->rom.size || !(reg & PCI_ROM_ENABLE) ||
	    !(f->cfg[PCI_CFG_COMMAND] & PCI_COMMAND_MEMORY))
		return 0;
	return reg & 0xfffff800u;
}

static void bar_set(struct pci_func *f, unsigned idx, uint64_t addr)
{
	unsigned off = PCI_CFG_BAR0 + 4 * idx;

	if (idx == PCI_NUM_BARS) {	/* the ROM: keep its enable bit */
		wr32(f->cfg + PCI_CFG_ROM, (rd32(f->cfg + PCI_CFG_ROM) & PCI_ROM_ENABLE) |
					   ((uint32_t)addr & 0xfffff800u));
		return;
	}

	wr32(f->cfg + off, (rd32(f->cfg + off) & 0xfu) | ((uint32_t)addr & ~0xfu));
	if (f->bar[idx].flags & PCI_BAR_MEM64)
		wr32(f->cfg + off + 4, (uint32_t)(addr >> 32));
}

unsigned pci_cap_add(struct pci_func *f, uint8_t id, unsigned len)
{
	unsigned at = f->cap_end ? f->cap_end : CAP_START, p;

	if (len < 2 || at + len > 0x100)
		return 0;
	f->cfg[at] = id;
	f->cfg[at + 1] = 0;
	if (!f->cfg[PCI_CFG_CAP_PTR]) {
		f->cfg[PCI_CFG_CAP_PTR] = (uint8_t)at;
	} else {
		/* Bounded walk to the tail (the list is ours, but be safe). */
		p = f->cfg[PCI_CFG_CAP_PTR];
		for (unsigned n = 0; f->cfg[p + 1] && n < 64; n++)
			p = f->cfg[p + 1];
		f->cfg[p + 1] = (uint8_t)at;
	}
	f->cfg[PCI_CFG_STATUS] |= PCI_STATUS_CAP_LIST;
	f->cap_end = (at + len + 3) & ~3u;
	return at;
}

/* A window decodes an access when some BAR covers all of it; the first
 * such BAR (by slot, then index) wins if the guest made two overlap. */
static const struct pci_bar *window_find(struct pci_window *w, uint64_t off,
					 unsigned len, uint64_t *bar_off)
{
	uint64_t gpa = w->base + off;

	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		const struct pci_func *f = w->bus->slot[s];

		for (unsigned i = 0; f && i < PCI_NUM_BARS; i++) {
			uint64_t a = pci_bar_addr(f, i), size = f->bar[i].size;

			if (a && gpa >= a && gpa - a < size && len <= size - (gpa - a)) {
				*bar_off = gpa - a;
				return &f->bar[i];
			}
		}
		if (f && f->rom.size) {
			uint64_t a = pci_rom_addr(f), size = f->rom.size;

			if (a && gpa >= a && gpa - a < size && len <= size - (gpa - a)) {
				*bar_off = gpa - a;
				return &f->rom;
			}
		}
	}
	return NULL;
}

static void window_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct pci_window *w = dev;
	const struct pci_bar *bar;
	uint64_t bo;

	pthread_rwlock_rdlock(&w->bus->lock);
	bar = window_find(w, off, len, &bo);
	if (bar && bar->ops->read)
		bar->ops->read(bar->dev, bo, data, len);
	else
		memset(data, 0xff, len);
	pthread_rwlock_unlock(&w->bus->lock);
}

static void window_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct pci_window *w = dev;
	const struct pci_bar *bar;
	uint64_t bo;

	pthread_rwlock_rdlock(&w->bus->lock);
	bar = window_find(w, off, len, &bo);
	if (bar && bar->ops->write)
		bar->ops->write(bar->dev, bo, data, len);
	pthread_rwlock_unlock(&w->bus->lock);
}

const struct bus_dev_ops pci_window_ops = {
	.name = "pci-window",
	.read = window_read,
	.write = window_write,
};

struct bar_ref {
	struct pci_func *f;
	unsigned slot, idx;
	uint64_t size;
};

static int by_size_desc(const void *a, const void *b)
{
	const struct bar_ref *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->slot != y->slot ? (int)x->slot - (int)y->slot : (int)x->idx - (int)y->idx;
}

/* Bump allocation, largest first: every BAR is a power of two, so each
 * next one is aligned once the cursor is aligned to the first. */
static bool place(const struct pci_window *w, uint64_t *cursor, uint64_t size,
		  uint64_t *addr)
{
	uint64_t a;

	if (!w)
		return false;
	a = (*cursor + size - 1) & ~(size - 1);
	if (a < *cursor || a - w->base > w->size || size > w->size - (a - w->base))
		return false;
	*addr = a;
	*cursor = a + size;
	return true;
}

int pci_bus_assign_bars(struct pci_bus *b, const struct pci_window *w32,
			const struct pci_window *w64, struct bs_err *e)
{
	struct bar_ref refs[PCI_MAX_SLOTS * (PCI_NUM_BARS + 1)];
	uint64_t c32 = w32 ? w32->base : 0, c64 = w64 ? w64->base : 0;
	unsigned n = 0;

	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
		for (unsigned i = 0; b->slot[s] && i < PCI_NUM_BARS; i++)
			if (b->slot[s]->bar[i].size)
				refs[n++] = (struct bar_ref){ b->slot[s], s, i,
							      b->slot[s]->bar[i].size };
	/* Expansion ROMs (index PCI_NUM_BARS here) go below 4 GiB. */
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
		if (b->slot[s] && b->slot[s]->rom.size)
			refs[n++] = (struct bar_ref){ b->slot[s], s, PCI_NUM_BARS,
						      b->slot[s]->rom.size };
	qsort(refs, n, sizeof(refs[0]), by_size_desc);
	for (unsigned k = 0; k < n; k++) {
		bool is64 = refs[k].idx < PCI_NUM_BARS &&
			    (refs[k].f->bar[refs[k].idx].flags & PCI_BAR_MEM64);
		uint64_t a;

		/* Large 64-bit BARs above 4 GiB; the rest below, where guests
		 * that only map the low 4 GiB (our test guests) reach them. */
		bool high_first = is64 && refs[k].size >= PCI_BAR_HIGH_MIN;

		if (!((high_first && place(w64, &c64, refs[k].size, &a)) ||
		      place(w32, &c32, refs[k].size, &a) ||
		      (is64 && !high_first && place(w64, &c64, refs[k].size, &a))))
			return bs_errf(e, ENOSPC, "pci: no room for %s %u of 00:%02x.0 "
				       "(%llu MiB) in the %s window",
				       refs[k].idx < PCI_NUM_BARS ? "BAR" : "ROM", refs[k].idx,
				       refs[k].slot,
				       (unsigned long long)(refs[k].size >> 20),
				       is64 ? "64-bit" : "32-bit");
		bar_set(refs[k].f, refs[k].idx, a);
	}
	return 0;
}

int pci_bus_check_reach(const struct pci_bus *b, unsigned phys_bits, struct bs_err *e)
{
	uint64_t limit = phys_bits >= 64 ? UINT64_MAX : 1ull << phys_bits;

	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		const struct pci_func *f = b->slot[s];

		for (unsigned i = 0; f && i < PCI_NUM_BARS; i++) {
			uint64_t a, size = f->bar[i].size;

			if (!size)
				continue;
			a = bar_reg(f, i);
			if (a + size > limit || a + size < a)
				return bs_errf(e, ERANGE, "BAR %u of 00:%02x.0 (%llu MiB at 0x%llx) "
					       "is beyond the guest's %u-bit physical address "
					       "space (the host CPU's)", i, s,
					       (unsigned long long)(size >> 20),
					       (unsigned long long)a, phys_bits);
		}
	}
	return 0;
}
