/* Guest-visible configuration space of a passed-through function: see
 * include/basalt/devices/pt_cfg.h. */
#include <string.h>

#include "basalt/devices/msix.h"
#include "basalt/devices/pt_cfg.h"
#include "basalt/log.h"

#define CAP_START 0x40
#define CMD_PARITY 0x0040
#define CMD_SERR 0x0100
#define CMD_INTX_DISABLE 0x0400
/* STATUS bits that describe the function (66 MHz, fast back-to-back,
 * DEVSEL timing); error bits are events of the real device, not shown. */
#define STATUS_STATIC 0x06a0

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static bool pow2(uint64_t v) { return v && !(v & (v - 1)); }

static void declare_bars(struct pt_cfg *pc, const uint8_t *raw, const uint64_t *size,
			 const char *name)
{
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t r = rd32(raw + PCI_CFG_BAR0 + 4 * i);
		unsigned type = (r >> 1) & 3;
		bool is64 = type == 2;
		uint64_t sz = size[i];

		if (!sz)
			continue;
		if (r & 1) {
			/* The platform decodes no port I/O for PCI devices. */
			pc->hidden_io_bars++;
			log_warn("%s: BAR %u is an I/O BAR (%llu bytes); the guest does "
				 "not see it", name, i, (unsigned long long)sz);
			continue;
		}
		if (type == 1 || type == 3 || !pow2(sz) || sz < 16 ||
		    (is64 && i == PCI_NUM_BARS - 1) || (!is64 && sz > (1ull << 31))) {
			log_warn("%s: BAR %u (type %u, %llu bytes) cannot be exposed; "
				 "hidden", name, i, type, (unsigned long long)sz);
			if (is64)
				i++;
			continue;
		}
		pc->bar[i].size = sz;
		pc->bar[i].flags = (is64 ? PCI_BAR_MEM64 : 0) |
				   (r & 8 ? PCI_BAR_PREFETCH : 0);
		if (is64)
			i++;       /* the upper half is part of this BAR */
	}
}

/* Length of capability id at c as laid out in raw; 0 if unknown (or a
 * PCIe capability of a kind we do not pass through: ports, bridges). */
static unsigned cap_len(uint8_t id, const uint8_t *raw, unsigned c)
{
	uint16_t ctl = rd16(raw + c + 2);

	switch (id) {
	case PCI_CAP_ID_PM: return 8;
	case PCI_CAP_ID_MSI:
		return (ctl & MSI_CTRL_64BIT ? 14 : 10) + (ctl & MSI_CTRL_MASKABLE ? 10 : 0);
	case PCI_CAP_ID_EXP:
		return (ctl & 0xf) >= 2 ? 0x3c : 0x24;
	case PCI_CAP_ID_MSIX: return 12;
	case PCI_CAP_ID_VNDR: return raw[c + 2] >= 3 ? raw[c + 2] : 0;
	case 0x02: return 12;          /* AGP */
	case 0x03: return 8;           /* VPD */
	case 0x04: return 4;           /* slot identification */
	case 0x07: return 8;           /* PCI-X (type 0) */
	case 0x0a: return 4;           /* debug port */
	case 0x0d: return 8;           /* bridge subsystem vendor ID */
	case 0x13: return 6;           /* advanced features */
	}
	return 0;
}

static bool want(uint8_t id, const uint8_t *raw, unsigned c)
{
	unsigned type;

	switch (id) {
	case PCI_CAP_ID_PM: case PCI_CAP_ID_MSI: case PCI_CAP_ID_MSIX:
	case PCI_CAP_ID_VNDR:
		return true;
	case PCI_CAP_ID_EXP:
		/* Endpoints only: legacy, native, or already integrated. */
		type = (rd16(raw + c + PCIE_FLAGS) >> 4) & 0xf;
		return type == 0 || type == 1 || type == PCIE_TYPE_RCIEP;
	}
	return false;
}

static void setup_pm(struct pt_cfg *pc, struct pci_func *f, const uint8_t *raw,
		     unsigned c)
{
	pc->pm = c;
	/* PMC without PME support (no PME is ever signalled); PMCSR in D0
	 * keeping No_Soft_Reset; the power state is the image's only. */
	wr16(f->cfg + c + 2, rd16(raw + c + 2) & 0x07ff);
	wr16(f->cfg + c + 4, rd16(raw + c + 4) & 0x0008);
	f->wmask[c + 4] = 0x03;
}

static void setup_msi(struct pt_cfg *pc, struct pci_func *f, const uint8_t *raw,
		      unsigned c)
{
	uint16_t ctl = rd16(raw + c + 2);
	unsigned mmc = (ctl >> 1) & 7, data;

	pc->msi = c;
	pc->msi_max = 1u << (mmc > 5 ? 5 : mmc);
	pc->msi_64 = ctl & MSI_CTRL_64BIT;
	pc->msi_maskable = ctl & MSI_CTRL_MASKABLE;
	/* Capable-of count, 64-bit, maskable from the device; disabled, one
	 * vector enabled. */
	wr16(f->cfg + c + 2, (uint16_t)((ctl & (MSI_CTRL_64BIT | MSI_CTRL_MASKABLE)) |
					((mmc > 5 ? 5 : mmc) << 1)));
	f->wmask[c + 2] = 0x71;                          /* enable, MME */
	wr32(f->wmask + c + 4, 0xfffffffc);              /* address */
	if (pc->msi_64)
		wr32(f->wmask + c + 8, 0xffffffff);      /* address high */
	data = c + (pc->msi_64 ? 0x0c : 0x08);
	wr16(f->wmask + data, 0xffff);
	if (pc->msi_maskable) {
		pc->msi_mask_off = data + 4;
		pc->msi_pending_off = data + 8;
		wr32(f->wmask + pc->msi_mask_off, pc->msi_max == 32 ? 0xffffffffu :
					      (1u << pc->msi_max) - 1);
	}
}

static void setup_pcie(struct pt_cfg *pc, struct pci_func *f, const uint8_t *raw,
		       unsigned c, unsigned len)
{
	uint16_t flags = rd16(raw + c + PCIE_FLAGS);

	pc->pcie = c;
	/* Version kept, type RCiEP (it sits on the root bus, no link), no
	 * slot; the interrupt message number (13:9) stays. */
	wr16(f->cfg + c + PCIE_FLAGS, (uint16_t)((flags & 0x3e0f) | PCIE_TYPE_RCIEP << 4));
	wr32(f->cfg + c + PCIE_DEVCAP, rd32(raw + c + PCIE_DEVCAP));
	pc->flr = rd32(raw + c + PCIE_DEVCAP) & PCIE_DEVCAP_FLR;
	wr16(f->cfg + c + PCIE_DEVCTL, rd16(raw + c + PCIE_DEVCTL) & 0x7fff);
	wr16(f->wmask + c + PCIE_DEVCTL, 0x7fff | (pc->flr ? PCIE_DEVCTL_FLR : 0));
	/* Device status, link, slot and root registers: zero, read-only. */
	if (len >= 0x3c) {
		wr32(f->cfg + c + 0x24, rd32(raw + c + 0x24));     /* DEVCAP2 */
		wr16(f->cfg + c + 0x28, rd16(raw + c + 0x28) & 0x001f);
		wr16(f->wmask + c + 0x28, 0x001f);   /* completion timeout */
	}
}

static void setup_msix(struct pt_cfg *pc, struct pci_func *f, const uint8_t *raw,
		       unsigned c)
{
	uint16_t ctl = rd16(raw + c + 2);

	pc->msix = c;
	pc->msix_nvec = (ctl & 0x7ff) + 1u;
	pc->msix_bar = rd32(raw + c + 4) & 7;
	pc->msix_table_off = rd32(raw + c + 4) & ~7u;
	pc->msix_pba_off = rd32(raw + c + 8) & ~7u;
	wr16(f->cfg + c + 2, (uint16_t)(pc->msix_nvec - 1));
	wr32(f->cfg + c + 4, rd32(raw + c + 4));
	wr32(f->cfg + c + 8, rd32(raw + c + 8));
	f->wmask[c + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
}

/* MSI-X usable as described: table and PBA in one exposed memory BAR,
 * inside it, apart (msix_init_at checks the same). */
static bool msix_fits(const struct pt_cfg *pc, const uint8_t *raw, unsigned c)
{
	uint16_t ctl = rd16(raw + c + 2);
	unsigned nvec = (ctl & 0x7ff) + 1u, bir = rd32(raw + c + 4) & 7;
	uint64_t t = rd32(raw + c + 4) & ~7u, p = rd32(raw + c + 8) & ~7u;
	uint64_t tb = msix_table_bytes(nvec), pb = msix_pba_bytes(nvec);
	uint64_t size = bir < PCI_NUM_BARS ? pc->bar[bir].size : 0;

	return size && (rd32(raw + c + 8) & 7) == bir && t + tb <= size &&
	       p + pb <= size && (t + tb <= p || p + pb <= t);
}

struct cap_ref {
	unsigned off, len;
	uint8_t id;
	bool keep;
};

static unsigned walk_caps(const uint8_t *raw, struct cap_ref *caps, const char *name)
{
	uint8_t seen[PT_CFG_SIZE / 4] = { 0 };
	unsigned n = 0, p;

	if (!(rd16(raw + PCI_CFG_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	for (p = raw[PCI_CFG_CAP_PTR] & 0xfc; p && n < PT_MAX_CAPS;
	     p = raw[p + 1] & 0xfc) {
		if (p < CAP_START) {
			log_warn("%s: capability pointer 0x%02x points into the header; "
				 "list cut there", name, p);
			break;
		}
		if (seen[p / 4]++) {
			log_warn("%s: capability list loops at 0x%02x; cut there", name, p);
			break;
		}
		caps[n].off = p;
		caps[n].id = raw[p];
		caps[n].len = cap_len(raw[p], raw, p);
		caps[n].keep = false;
		n++;
	}
	return n;
}

static bool overlaps(const struct cap_ref *caps, unsigned n, unsigned off, unsigned len)
{
	for (unsigned i = 0; i < n; i++)
		if (caps[i].keep && off < caps[i].off + caps[i].len &&
		    caps[i].off < off + len)
			return true;
	return false;
}

static void choose_caps(struct pt_cfg *pc, const uint8_t *raw, struct cap_ref *caps,
			unsigned n, const char *name)
{
	bool have[256] = { false };

	for (unsigned i = 0; i < n; i++) {
		struct cap_ref *cr = &caps[i];

		cr->keep = want(cr->id, raw, cr->off) && cr->len &&
			   cr->off + cr->len <= PT_CFG_SIZE && !have[cr->id] &&
			   !overlaps(caps, i, cr->off, cr->len);
		if (cr->keep && cr->id == PCI_CAP_ID_MSIX && !msix_fits(pc, raw, cr->off)) {
			log_warn("%s: MSI-X table or PBA does not fit an exposed BAR; "
				 "MSI-X hidden", name);
			cr->keep = false;
		}
		/* One of each emulated kind (vendor ones may repeat). */
		if (cr->keep && cr->id != PCI_CAP_ID_VNDR)
			have[cr->id] = true;
		if (cr->keep)
			pc->kept[pc->nkept++] = cr->id;
		else
			pc->dropped[pc->ndropped++] = cr->id;
	}
}

static void build_caps(struct pt_cfg *pc, struct pci_func *f, const uint8_t *raw,
		       const char *name)
{
	struct cap_ref caps[PT_MAX_CAPS];
	unsigned n = walk_caps(raw, caps, name), prev = PCI_CFG_CAP_PTR;

	choose_caps(pc, raw, caps, n, name);
	/* Dropped capabilities: their known bytes read as 0 (the kept ones
	 * below win where they overlap). */
	for (unsigned i = 0; i < n; i++)
		if (!caps[i].keep)
			memset(pc->pass + caps[i].off, 0,
			       caps[i].len ? (caps[i].len < PT_CFG_SIZE - caps[i].off ?
					      caps[i].len : PT_CFG_SIZE - caps[i].off) : 2);
	for (unsigned i = 0; i < n; i++) {
		const struct cap_ref *cr = &caps[i];

		if (!cr->keep)
			continue;
		memset(pc->pass + cr->off, 0, cr->len);
		f->cfg[cr->off] = cr->id;
		f->cfg[prev == PCI_CFG_CAP_PTR ? prev : prev + 1] = (uint8_t)cr->off;
		prev = cr->off;
		switch (cr->id) {
		case PCI_CAP_ID_PM: setup_pm(pc, f, raw, cr->off); break;
		case PCI_CAP_ID_MSI: setup_msi(pc, f, raw, cr->off); break;
		case PCI_CAP_ID_EXP: setup_pcie(pc, f, raw, cr->off, cr->len); break;
		case PCI_CAP_ID_MSIX: setup_msix(pc, f, raw, cr->off); break;
		case PCI_CAP_ID_VNDR:
			/* Length and body belong to the device. */
			memset(pc->pass + cr->off + 2, 1, cr->len - 2);
			break;
		}
	}
	if (prev != PCI_CFG_CAP_PTR)
		f->cfg[PCI_CFG_STATUS] |= PCI_STATUS_CAP_LIST;
}

int pt_cfg_build(struct pt_cfg *pc, struct pci_func *f, const uint8_t raw[PT_CFG_SIZE],
		 const uint64_t size[PT_NUM_REGIONS], const struct bus_dev_ops *ops,
		 void *const dev[PT_NUM_REGIONS], const char *name, struct bs_err *e)
{
	uint16_t vendor = rd16(raw);
	int r;

	memset(pc, 0, sizeof(*pc));
	if (vendor == 0xffff || vendor == 0)
		return bs_errf(e, ENODEV, "%s: configuration space reads vendor ID "
			       "0x%04x: no function there", name, vendor);
	if (raw[0x0e] & 0x7f)
		return bs_errf(e, EINVAL, "%s: header type %u is a bridge; only "
			       "endpoints (type 0) can be passed through", name,
			       raw[0x0e] & 0x7f);
	/* 0x40-0xff: the device's, until a capability claims the bytes. */
	memset(pc->pass + CAP_START, 1, PT_CFG_SIZE - CAP_START);
	memcpy(f->cfg, raw, 4);                          /* vendor, device */
	wr16(f->cfg + PCI_CFG_STATUS, rd16(raw + PCI_CFG_STATUS) & STATUS_STATIC);
	memcpy(f->cfg + 0x08, raw + 0x08, 4);            /* revision, class */
	memcpy(f->cfg + 0x2c, raw + 0x2c, 4);            /* subsystem */
	f->cfg[0x3e] = raw[0x3e];                        /* min grant */
	f->cfg[0x3f] = raw[0x3f];                        /* max latency */
	f->wmask[0x0c] = 0xff;                           /* cache line size */
	f->wmask[0x0d] = 0xff;                           /* latency timer */
	f->wmask[0x3c] = 0xff;                           /* interrupt line */
	wr16(f->wmask + PCI_CFG_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		CMD_PARITY | CMD_SERR | CMD_INTX_DISABLE);

	declare_bars(pc, raw, size, name);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		if (!pc->bar[i].size)
			continue;
		r = pci_func_add_bar(f, i, pc->bar[i].size, pc->bar[i].flags, ops,
				     dev[i], e);
		if (r)
			return bs_errf(e, -r, "%s: %s", name, e->msg);
	}
	if (size[PT_ROM_REGION]) {
		uint64_t rs = size[PT_ROM_REGION];

		if (pow2(rs) && rs >= PCI_ROM_MIN && rs <= (1ull << 31)) {
			pc->rom_size = rs;
			r = pci_func_add_rom(f, rs, ops, dev[PT_ROM_REGION], e);
			if (r)
				return bs_errf(e, -r, "%s: %s", name, e->msg);
		} else {
			log_warn("%s: expansion ROM of %llu bytes cannot be exposed; "
				 "hidden", name, (unsigned long long)rs);
		}
	}
	build_caps(pc, f, raw, name);
	return 0;
}

bool pt_cfg_any_pass(const struct pt_cfg *pc, unsigned off, unsigned len)
{
	for (unsigned i = 0; i < len && off + i < PT_CFG_SIZE; i++)
		if (pc->pass[off + i])
			return true;
	return false;
}
