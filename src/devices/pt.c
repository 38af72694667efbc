/* PCI passthrough device model: see include/basalt/devices/pt.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


#include "basalt/devices/pt.h"
#include "basalt/log.h"
#include "pt_priv.h"

#define PAGE 4096ull

/* ---- carving mmappable areas around the MSI-X pages -------------------- */

unsigned pt_carve(const struct pt_area *areas, unsigned nareas,
		  const struct pt_area *holes, unsigned nholes,
		  struct pt_area *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned a = 0; a < nareas; a++) {
		struct pt_area seg[PT_MAX_PIECES];
		unsigned ns = 1;

		seg[0] = areas[a];
		for (unsigned h = 0; h < nholes; h++) {
			struct pt_area next[PT_MAX_PIECES];
			unsigned nn = 0;
			uint64_t hs = holes[h].off, he = holes[h].off + holes[h].size;

			for (unsigned i = 0; i < ns; i++) {
				uint64_t s = seg[i].off, e = seg[i].off + seg[i].size;

				if (he <= s || hs >= e) {
					next[nn++] = seg[i];
					continue;
				}
				if (hs > s && nn < PT_MAX_PIECES)
					next[nn++] = (struct pt_area){ s, hs - s };
				if (he < e && nn < PT_MAX_PIECES)
					next[nn++] = (struct pt_area){ he, e - he };
			}
			memcpy(seg, next, nn * sizeof(seg[0]));
			ns = nn;
		}
		for (unsigned i = 0; i < ns && n < max; i++)
			out[n++] = seg[i];
	}
	return n;
}

/* ---- BAR mappings ------------------------------------------------------------ */

static bool in_window(const struct pt_dev *pt, uint64_t a, uint64_t size)
{
	for (unsigned i = 0; i < 2; i++) {
		const struct pci_window *w = pt->p.windows[i];

		if (w && a >= w->base && a - w->base < w->size &&
		    size <= w->size - (a - w->base))
			return true;
	}
	return false;
}

static void unmap_region(struct pt_dev *pt, struct pt_region *rg)
{
	for (unsigned i = 0; i < rg->npieces; i++) {
		if (rg->piece[i].slot >= 0)
			kvm_slot_unmap(pt->p.slots, rg->piece[i].slot);
		rg->piece[i].slot = -1;
	}
	rg->mapped_at = 0;
}

/* Puts every BAR's pieces where the guest programmed it (or nowhere). */
static void update_maps(struct pt_dev *pt)
{
	for (unsigned i = 0; i < PCI_NUM_BARS && pt->p.slots; i++) {
		struct pt_region *rg = &pt->reg[i];
		uint64_t a = pci_bar_addr(&pt->f, i);
		struct bs_err e;

		if (!rg->npieces)
			continue;
		if (a && (a & (PAGE - 1) || !in_window(pt, a, pt->cfg.bar[i].size)))
			a = 0;
		if (a == rg->mapped_at)
			continue;
		unmap_region(pt, rg);
		if (!a)
			continue;
		for (unsigned k = 0; k < rg->npieces; k++) {
			struct pt_piece *pc = &rg->piece[k];

			pc->slot = kvm_slot_map(pt->p.slots, a + pc->off, pc->size, pc->hva, &e);
			if (pc->slot < 0)
				pt_warn(pt, "%s: BAR %u: %s; accesses there trap", pt->name,
					i, e.msg);
		}
		rg->mapped_at = a;
		log_debug("%s: BAR %u mapped at 0x%llx (%u pieces)", pt->name, i,
			  (unsigned long long)a, rg->npieces);
	}
}

/* ---- trapped BAR and ROM accesses ------------------------------------------ */

/* Host pointer into an mmapped area covering [off, off + len), or NULL. */
static volatile void *host_ptr(struct pt_region *rg, uint64_t off, unsigned len)
{
	for (unsigned i = 0; i < rg->ri.nareas; i++) {
		const struct pt_area *a = &rg->ri.area[i];

		if (rg->map[i] && off >= a->off && off - a->off < a->size &&
		    len <= a->size - (off - a->off))
			return rg->map[i] + (off - a->off);
	}
	return NULL;
}

/* Device memory is accessed with the guest's width, never byte-wise. */
static void mem_read(volatile void *p, void *data, unsigned len)
{
	switch (len) {
	case 1: *(uint8_t *)data = *(volatile uint8_t *)p; break;
	case 2: { uint16_t v = *(volatile uint16_t *)p; memcpy(data, &v, 2); break; }
	case 4: { uint32_t v = *(volatile uint32_t *)p; memcpy(data, &v, 4); break; }
	case 8: { uint64_t v = *(volatile uint64_t *)p; memcpy(data, &v, 8); break; }
	default: memset(data, 0xff, len);
	}
}

static void mem_write(volatile void *p, const void *data, unsigned len)
{
	switch (len) {
	case 1: *(volatile uint8_t *)p = *(const uint8_t *)data; break;
	case 2: { uint16_t v; memcpy(&v, data, 2); *(volatile uint16_t *)p = v; break; }
	case 4: { uint32_t v; memcpy(&v, data, 4); *(volatile uint32_t *)p = v; break; }
	case 8: { uint64_t v; memcpy(&v, data, 8); *(volatile uint64_t *)p = v; break; }
	}
}

bool pt_in_msix_bar(struct pt_region *rg)
{
	return rg->pt->has_msix && rg->idx == rg->pt->cfg.msix_bar;
}

static void region_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct pt_region *rg = dev;
	struct pt_dev *pt = rg->pt;
	const struct pt_cfg *c = &pt->cfg;
	volatile void *h;
	int r;

	if (off >= rg->ri.size || len > rg->ri.size - off || len > 8) {
		memset(data, 0xff, len > 8 ? 8 : len);
		return;
	}
	if (pt_in_msix_bar(rg)) {
		if (overlap(off, len, c->msix_table_off, msix_table_bytes(c->msix_nvec))) {
			msix_table_read(&pt->msix, off - c->msix_table_off, data, len);
			return;
		}
		if (overlap(off, len, c->msix_pba_off, msix_pba_bytes(c->msix_nvec))) {
			pt_pba_sync(pt);
			msix_pba_read(&pt->msix, off - c->msix_pba_off, data, len);
			return;
		}
	}
	h = host_ptr(rg, off, len);
	if (h) {
		mem_read(h, data, len);
		return;
	}
	r = rg->ri.readable ? pt->p.ops->read(pt->p.backend, rg->idx, off, data, len) :
			      -EACCES;
	if (r) {
		memset(data, 0xff, len);
		pt_warn(pt, "%s: read of %u bytes at 0x%llx in region %u: %s", pt->name,
			len, (unsigned long long)off, rg->idx, strerror(-r));
	}
}

static void region_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct pt_region *rg = dev;
	struct pt_dev *pt = rg->pt;
	const struct pt_cfg *c = &pt->cfg;
	volatile void *h;
	int r;

	if (rg->idx == PT_ROM_REGION || off >= rg->ri.size ||
	    len > rg->ri.size - off || len > 8)
		return;
	if (pt_in_msix_bar(rg)) {
		if (overlap(off, len, c->msix_table_off, msix_table_bytes(c->msix_nvec))) {
			msix_table_write(&pt->msix, off - c->msix_table_off, data, len);
			return;
		}
		if (overlap(off, len, c->msix_pba_off, msix_pba_bytes(c->msix_nvec)))
			return;	/* the PBA is read-only */
	}
	h = host_ptr(rg, off, len);
	if (h) {
		mem_write(h, data, len);
		return;
	}
	r = rg->ri.writable ? pt->p.ops->write(pt->p.backend, rg->idx, off, data, len) :
			      -EACCES;
	if (r)
		pt_warn(pt, "%s: write of %u bytes at 0x%llx in region %u: %s", pt->name,
			len, (unsigned long long)off, rg->idx, strerror(-r));
}

static const struct bus_dev_ops region_ops = {
	.name = "passthrough",
	.read = region_read,
	.write = region_write,
};

/* ---- configuration space ----------------------------------------------------- */

static uint32_t cfg_read(struct pci_func *f, unsigned off, unsigned len, uint32_t v)
{
	struct pt_dev *pt = f->priv;
	const struct pt_cfg *c = &pt->cfg;

	if (pt_cfg_any_pass(c, off, len)) {
		uint32_t d = 0xffffffff;

		if (pt->p.ops->read(pt->p.backend, PT_CONFIG_REGION, off, &d, len))
			d = 0xffffffff;
		for (unsigned i = 0; i < len; i++)
			if (c->pass[off + i])
				v = (v & ~(0xffu << 8 * i)) | (d & (0xffu << 8 * i));
	}
	if (c->msi_pending_off && overlap(off, len, c->msi_pending_off, 4)) {
		uint32_t bits = pt_msi_pending(pt);

		for (unsigned i = 0; i < len; i++) {
			int k = (int)(off + i) - (int)c->msi_pending_off;

			if (k >= 0 && k < 4)
				v = (v & ~(0xffu << 8 * i)) | ((bits >> 8 * k & 0xff) << 8 * i);
		}
	}
	return v;
}

static void cfg_write(struct pci_func *f, unsigned off, unsigned len, uint32_t val)
{
	struct pt_dev *pt = f->priv;
	const struct pt_cfg *c = &pt->cfg;
	unsigned devctl_hi = c->pcie + PCIE_DEVCTL + 1;

	if (pt_cfg_any_pass(c, off, len)) {
		bool all = true;

		for (unsigned i = 0; i < len; i++)
			all = all && c->pass[off + i];
		if (all) {
			pt->p.ops->write(pt->p.backend, PT_CONFIG_REGION, off, &val, len);
		} else {
			for (unsigned i = 0; i < len; i++) {
				uint8_t b = (uint8_t)(val >> 8 * i);

				if (c->pass[off + i])
					pt->p.ops->write(pt->p.backend, PT_CONFIG_REGION,
							 off + i, &b, 1);
			}
		}
	}
	if (c->pcie && c->flr && devctl_hi >= off && devctl_hi < off + len &&
	    (val >> 8 * (devctl_hi - off)) & (PCIE_DEVCTL_FLR >> 8))
		pt->flr_pending = true;
}

static void forward_command(struct pt_dev *pt)
{
	uint16_t cmd = rd16(pt->f.cfg + PCI_CFG_COMMAND);

	pt->p.ops->write(pt->p.backend, PT_CONFIG_REGION, PCI_CFG_COMMAND, &cmd, 2);
}

static void do_reset(struct pt_dev *pt);

static void cfg_written(struct pci_func *f, unsigned off, unsigned len)
{
	struct pt_dev *pt = f->priv;
	const struct pt_cfg *c = &pt->cfg;

	if (overlap(off, len, PCI_CFG_COMMAND, 2))
		forward_command(pt);
	if (overlap(off, len, PCI_CFG_COMMAND, 2) || overlap(off, len, PCI_CFG_BAR0, 24))
		update_maps(pt);
	if (pt->has_msix && overlap(off, len, c->msix + 2, 2)) {
		bool on = rd16(f->cfg + c->msix + 2) & MSIX_CTRL_ENABLE;

		if (on && !pt->msix_on)
			pt_device_irqs(pt, PT_IRQ_MSIX, c->msix_nvec);
		msix_cfg_written(&pt->msix, off, len);
		if (!on && pt->msix_on)
			pt_device_irqs(pt, PT_IRQ_MSIX, 0);
		pt->msix_on = on;
	}
	if (c->msi && overlap(off, len, c->msi, 0x18))
		pt_msi_sync(pt);
	if (pt->flr_pending) {
		pt->flr_pending = false;
		f->cfg[c->pcie + PCIE_DEVCTL + 1] &= (uint8_t)~(PCIE_DEVCTL_FLR >> 8);
		do_reset(pt);
	}
}

/* Function-level reset as the guest sees it; under the bus write lock. */
static void do_reset(struct pt_dev *pt)
{
	const struct pt_cfg *c = &pt->cfg;
	int r;

	if (pt->msix_on)
		pt_device_irqs(pt, PT_IRQ_MSIX, 0);
	pt->msix_on = false;
	r = pt->p.ops->reset(pt->p.backend);
	if (r)
		pt_warn(pt, "%s: device reset: %s", pt->name, strerror(-r));
	wr16(pt->f.cfg + PCI_CFG_COMMAND, 0);
	forward_command(pt);
	update_maps(pt);
	if (pt->has_msix) {
		uint32_t masked = MSIX_VCTRL_MASK;

		wr16(pt->f.cfg + c->msix + 2, (uint16_t)(c->msix_nvec - 1));
		msix_cfg_written(&pt->msix, c->msix + 2, 2);
		for (unsigned v = 0; v < c->msix_nvec; v++)
			msix_table_write(&pt->msix, v * MSIX_ENTRY_SIZE + 12, &masked, 4);
	}
	if (c->msi) {
		pt->f.cfg[c->msi + 2] = 0;   /* enable and MME off */
		pt_msi_sync(pt);
	}
	atomic_fetch_add(&pt->resets, 1);
	log_info("%s: function-level reset", pt->name);
}

/* ---- set-up ---------------------------------------------------------------------- */

static int read_config(struct pt_dev *pt, uint8_t raw[PT_CFG_SIZE], struct bs_err *e)
{
	for (unsigned off = 0; off < PT_CFG_SIZE; off += 4) {
		int r = pt->p.ops->read(pt->p.backend, PT_CONFIG_REGION, off, raw + off, 4);

		if (r)
			return bs_errf(e, -r, "%s: reading configuration space at 0x%x: %s",
				       pt->name, off, strerror(-r));
	}
	return 0;
}

/* mmaps the BAR's areas and cuts the pieces that become memory slots. */
static int map_region(struct pt_dev *pt, struct pt_region *rg, struct bs_err *e)
{
	const struct pt_cfg *c = &pt->cfg;
	struct pt_area areas[PT_MAX_AREAS], holes[2], pieces[PT_MAX_PIECES];
	unsigned na = 0, nh = 0, np;

	for (unsigned i = 0; i < rg->ri.nareas; i++) {
		const struct pt_area *a = &rg->ri.area[i];
		void *m;

		if ((a->off | a->size) & (PAGE - 1) || !a->size || a->off >= rg->ri.size ||
		    a->size > rg->ri.size - a->off || rg->ri.fd < 0)
			continue;	/* not mappable as a slot: traps */
		m = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, rg->ri.fd,
			 (off_t)(rg->ri.fd_offset + a->off));
		if (m == MAP_FAILED)
			return bs_errf(e, errno, "%s: mmap of BAR %u at 0x%llx (%llu KiB): %s",
				       pt->name, rg->idx, (unsigned long long)a->off,
				       (unsigned long long)(a->size >> 10), strerror(errno));
		rg->map[i] = m;
		areas[na++] = *a;
	}
	if (pt_in_msix_bar(rg)) {
		uint64_t t = c->msix_table_off & ~(PAGE - 1);
		uint64_t te = (c->msix_table_off + msix_table_bytes(c->msix_nvec) + PAGE - 1) &
			      ~(PAGE - 1);
		uint64_t p = c->msix_pba_off & ~(PAGE - 1);
		uint64_t pe = (c->msix_pba_off + msix_pba_bytes(c->msix_nvec) + PAGE - 1) &
			      ~(PAGE - 1);

		holes[nh++] = (struct pt_area){ t, te - t };
		holes[nh++] = (struct pt_area){ p, pe - p };
	}
	np = pt_carve(areas, na, holes, nh, pieces, PT_MAX_PIECES);
	for (unsigned k = 0; k < np; k++) {
		for (unsigned i = 0; i < rg->ri.nareas; i++) {
			const struct pt_area *a = &rg->ri.area[i];

			if (rg->map[i] && pieces[k].off >= a->off &&
			    pieces[k].off + pieces[k].size <= a->off + a->size) {
				rg->piece[rg->npieces++] = (struct pt_piece){
					pieces[k].off, pieces[k].size,
					rg->map[i] + (pieces[k].off - a->off), -1,
				};
				break;
			}
		}
	}
	return 0;
}

static int setup_regions(struct pt_dev *pt, struct bs_err *e)
{
	uint8_t raw[PT_CFG_SIZE];
	uint64_t size[PT_NUM_REGIONS] = { 0 };
	void *devs[PT_NUM_REGIONS];
	int r;

	for (unsigned i = 0; i < PT_NUM_REGIONS; i++) {
		struct pt_region *rg = &pt->reg[i];

		rg->pt = pt;
		rg->idx = i;
		rg->ri.fd = -1;
		devs[i] = rg;
		r = pt->p.ops->region_info(pt->p.backend, i, &rg->ri, e);
		if (r)
			return r;
		size[i] = rg->ri.size;
	}
	r = read_config(pt, raw, e);
	if (!r)
		r = pt_cfg_build(&pt->cfg, &pt->f, raw, size, &region_ops, devs, pt->name, e);
	if (!r)
		r = pt_irq_setup(pt, e);
	for (unsigned i = 0; !r && i < PCI_NUM_BARS; i++)
		if (pt->cfg.bar[i].size)
			r = map_region(pt, &pt->reg[i], e);
	return r;
}

static int dma_map_ram(struct pt_dev *pt, struct bs_err *e)
{
	const struct guest_mem *gm = pt->p.gm;

	for (unsigned i = 0; gm && i < gm->nr; i++) {
		int r = pt->p.ops->dma_map(pt->p.backend, gm->r[i].gpa, gm->r[i].size,
					   gm->r[i].hva, gm->memfd, gm->r[i].fd_offset, e);

		if (r)
			return r;
	}
	return 0;
}

int pt_create(struct pt_dev **out, const struct pt_params *p, struct bs_err *e)
{
	struct pt_dev *pt = calloc(1, sizeof(*pt));
	int r;

	*out = NULL;
	if (!pt) {
		p->ops->destroy(p->backend);
		return bs_errf(e, ENOMEM, "%s: out of memory", p->name);
	}
	pt->p = *p;
	for (unsigned v = 0; v < 32; v++)
		pt->msi_vec[v].efd = -1;
	snprintf(pt->name, sizeof(pt->name), "%s", p->name);
	pt->p.name = pt->name;
	r = setup_regions(pt, e);
	if (!r)
		r = dma_map_ram(pt, e);
	if (!r) {
		r = p->ops->reset(p->backend);
		if (r == -ENOTSUP) {
			log_info("%s: the device has no reset; it starts as the backend "
				 "left it", pt->name);
			r = 0;
		} else if (r) {
			r = bs_errf(e, -r, "%s: device reset: %s", pt->name, strerror(-r));
		}
	}
	if (r) {
		pt_destroy(pt);
		return r;
	}
	pt->f.priv = pt;
	pt->f.cfg_read = cfg_read;
	pt->f.cfg_write = cfg_write;
	pt->f.cfg_written = cfg_written;
	*out = pt;
	return 0;
}

/* No ioctls here (teardown runs on the sandboxed main thread): the VM fd's
 * close takes the memory slots and irqfds with it. */
void pt_destroy(struct pt_dev *pt)
{
	if (!pt)
		return;
	for (unsigned i = 0; i < PT_NUM_REGIONS; i++)
		for (unsigned k = 0; k < pt->reg[i].ri.nareas; k++)
			if (pt->reg[i].map[k])
				munmap(pt->reg[i].map[k], pt->reg[i].ri.area[k].size);
	if (pt->has_msix)
		msix_destroy(&pt->msix);
	for (unsigned v = 0; pt->msix_vec && v < pt->cfg.msix_nvec; v++)
		if (pt->msix_vec[v].efd >= 0)
			close(pt->msix_vec[v].efd);
	for (unsigned v = 0; v < 32; v++)
		if (pt->msi_vec[v].efd >= 0)
			close(pt->msi_vec[v].efd);
	free(pt->msix_vec);
	free(pt->fds);
	if (pt->p.ops)
		pt->p.ops->destroy(pt->p.backend);
	free(pt);
}
