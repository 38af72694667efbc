/* PCI passthrough device model: see include/basalt/devices/pt.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "basalt/devices/pt.h"
#include "basalt/log.h"

#define PAGE 4096ull
#define WARN_LIMIT 10

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Rate-limited: a hostile guest must not flood the log. */
#define pt_warn(pt, ...) do { \
	if (atomic_fetch_add(&(pt)->dead_logged, 1) < WARN_LIMIT) \
		log_warn(__VA_ARGS__); \
} while (0)

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

/* ---- interrupt vectors --------------------------------------------------- */

static struct pt_vec *vec_of(struct pt_dev *pt, unsigned kind, unsigned v)
{
	return kind == PT_IRQ_MSIX ? &pt->msix_vec[v] : &pt->msi_vec[v];
}

static void irqfd(struct pt_dev *pt, struct pt_vec *x, bool bind)
{
	struct kvm_irqfd req = {
		.fd = (uint32_t)x->efd, .gsi = (uint32_t)x->gsi,
		.flags = bind ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (pt->p.vm_fd >= 0 && x->gsi >= 0 &&
	    ioctl(pt->p.vm_fd, KVM_IRQFD, &req) < 0) {
		pt_warn(pt, "%s: KVM_IRQFD %s GSI %d: %s", pt->name,
			bind ? "bind" : "unbind", x->gsi, strerror(errno));
		return;
	}
	x->bound = bind;
}

/* The vector's message or deliverability changed. */
static void vec_route(struct pt_dev *pt, unsigned kind, unsigned v, uint64_t addr,
		      uint32_t data, bool valid)
{
	struct pt_vec *x = vec_of(pt, kind, v);
	struct bs_err e;

	if (pt->p.route_hook)
		pt->p.route_hook(pt->p.hook_ctx, kind, v, addr, data, valid);
	/* GSIs are taken when a vector is first used: a device may offer
	 * thousands of MSI-X vectors and a driver use a handful. */
	if (valid && x->gsi < 0 && pt->p.irq) {
		x->gsi = kvm_irq_msi_alloc(pt->p.irq, &e);
		if (x->gsi < 0) {
			pt_warn(pt, "%s: vector %u: %s", pt->name, v, e.msg);
			return;
		}
	}
	if (!valid && x->bound)
		irqfd(pt, x, false);
	if (pt->p.irq && x->gsi >= 0 &&
	    kvm_irq_msi_set(pt->p.irq, (unsigned)x->gsi, addr, data, valid, &e))
		pt_warn(pt, "%s: vector %u: %s", pt->name, v, e.msg);
	/* Binding delivers what accumulated while masked (KVM polls the
	 * eventfd when the irqfd is assigned). */
	if (valid && !x->bound)
		irqfd(pt, x, true);
	x->addr = addr;
	x->data = data;
	x->valid = valid;
}

static void vec_fire(struct pt_vec *x)
{
	uint64_t one = 1;

	if (write(x->efd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
		/* a full counter is still a pending interrupt */
	}
}

/* Did the device signal x while it was not bound?  Consumes the count. */
static bool vec_take(struct pt_vec *x)
{
	uint64_t c;

	return !x->bound && read(x->efd, &c, sizeof(c)) == sizeof(c) && c;
}

static void msix_route(void *ctx, unsigned vec, uint64_t addr, uint32_t data, bool valid)
{
	vec_route(ctx, PT_IRQ_MSIX, vec, addr, data, valid);
}

static void msix_fire(void *ctx, unsigned vec)
{
	struct pt_dev *pt = ctx;

	vec_fire(&pt->msix_vec[vec]);
}

/* Hands the eventfds of kind to the device (n > 0) or turns it off.  On
 * vCPU threads: no allocation here (pt->fds is sized at create). */
static void device_irqs(struct pt_dev *pt, unsigned kind, unsigned n)
{
	int r;

	for (unsigned v = 0; v < n; v++)
		pt->fds[v] = vec_of(pt, kind, v)->efd;
	r = pt->p.ops->set_irqs(pt->p.backend, kind, 0, n, n ? pt->fds : NULL);
	if (r)
		pt_warn(pt, "%s: %s %s: %s", pt->name, n ? "enabling" : "disabling",
			kind == PT_IRQ_MSIX ? "MSI-X" : "MSI", strerror(-r));
	else
		log_info("%s: %s %s, %u vectors with eventfds in the device", pt->name,
			 kind == PT_IRQ_MSIX ? "MSI-X" : "MSI", n ? "on" : "off", n);
}

/* ---- MSI (PCI 3.0 6.8.1), emulated from the image -------------------------- */

static void msi_sync(struct pt_dev *pt)
{
	const uint8_t *cfg = pt->f.cfg;
	unsigned c = pt->cfg.msi, max = pt->cfg.msi_max;
	uint16_t ctl = rd16(cfg + c + 2);
	unsigned n = 1u << ((ctl >> 4) & 7), want;
	uint64_t addr = rd32(cfg + c + 4);
	uint32_t data = rd16(cfg + c + (pt->cfg.msi_64 ? 0x0c : 0x08));
	uint32_t mask = pt->cfg.msi_maskable ? rd32(cfg + pt->cfg.msi_mask_off) : 0;

	if (pt->cfg.msi_64)
		addr |= (uint64_t)rd32(cfg + c + 8) << 32;
	if (n > max)
		n = max;
	want = (ctl & MSI_CTRL_ENABLE) ? n : 0;
	if (want && want != pt->msi_on) {
		if (pt->msi_on)
			device_irqs(pt, PT_IRQ_MSI, 0);
		device_irqs(pt, PT_IRQ_MSI, want);
	}
	for (unsigned v = 0; v < max; v++) {
		struct pt_vec *x = &pt->msi_vec[v];
		bool valid = v < want && !(mask >> v & 1);
		uint32_t d = (data & ~(n - 1)) | v;

		if (valid != x->valid || (valid && (addr != x->addr || d != x->data)))
			vec_route(pt, PT_IRQ_MSI, v, addr, d, valid);
		if (valid && atomic_exchange(&x->pending, false))
			vec_fire(x);
	}
	if (!want && pt->msi_on)
		device_irqs(pt, PT_IRQ_MSI, 0);
	pt->msi_on = want;
}

static uint32_t msi_pending(struct pt_dev *pt)
{
	uint32_t bits = 0;

	for (unsigned v = 0; v < pt->cfg.msi_max; v++) {
		struct pt_vec *x = &pt->msi_vec[v];

		if (vec_take(x))
			atomic_store(&x->pending, true);
		if (atomic_load(&x->pending))
			bits |= 1u << v;
	}
	return bits;
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

static bool in_msix_bar(struct pt_region *rg)
{
	return rg->pt->has_msix && rg->idx == rg->pt->cfg.msix_bar;
}

static void pba_sync(struct pt_dev *pt)
{
	for (unsigned v = 0; v < pt->cfg.msix_nvec; v++)
		if (vec_take(&pt->msix_vec[v]))
			msix_notify(&pt->msix, v);
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
	if (in_msix_bar(rg)) {
		if (overlap(off, len, c->msix_table_off, msix_table_bytes(c->msix_nvec))) {
			msix_table_read(&pt->msix, off - c->msix_table_off, data, len);
			return;
		}
		if (overlap(off, len, c->msix_pba_off, msix_pba_bytes(c->msix_nvec))) {
			pba_sync(pt);
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
	if (in_msix_bar(rg)) {
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
		uint32_t bits = msi_pending(pt);

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
			device_irqs(pt, PT_IRQ_MSIX, c->msix_nvec);
		msix_cfg_written(&pt->msix, off, len);
		if (!on && pt->msix_on)
			device_irqs(pt, PT_IRQ_MSIX, 0);
		pt->msix_on = on;
	}
	if (c->msi && overlap(off, len, c->msi, 0x18))
		msi_sync(pt);
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
		device_irqs(pt, PT_IRQ_MSIX, 0);
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
		msi_sync(pt);
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

static int vec_init(struct pt_dev *pt, struct pt_vec *x, struct bs_err *e)
{
	x->gsi = -1;
	x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->efd < 0)
		return bs_errf(e, errno, "%s: eventfd: %s", pt->name, strerror(errno));
	return 0;
}

static int setup_irqs(struct pt_dev *pt, struct bs_err *e)
{
	const struct pt_cfg *c = &pt->cfg;
	struct msix_sink sink = { msix_route, msix_fire, pt };
	int r;

	for (unsigned v = 0; v < c->msi_max; v++)
		if ((r = vec_init(pt, &pt->msi_vec[v], e)))
			return r;
	if (!c->msix) {
		pt->fds = calloc(32, sizeof(int));
		return pt->fds ? 0 : bs_errf(e, ENOMEM, "%s: out of memory", pt->name);
	}
	pt->msix_vec = calloc(c->msix_nvec, sizeof(*pt->msix_vec));
	pt->fds = calloc(c->msix_nvec > 32 ? c->msix_nvec : 32, sizeof(int));
	if (!pt->msix_vec || !pt->fds)
		return bs_errf(e, ENOMEM, "%s: out of memory", pt->name);
	for (unsigned v = 0; v < c->msix_nvec; v++)
		pt->msix_vec[v].efd = -1;
	for (unsigned v = 0; v < c->msix_nvec; v++)
		if ((r = vec_init(pt, &pt->msix_vec[v], e)))
			return r;
	r = msix_init_at(&pt->msix, &pt->f, c->msix, c->msix_nvec, c->msix_bar,
			 c->msix_table_off, c->msix_pba_off, &sink, e);
	if (r)
		return bs_errf(e, -r, "%s: %s", pt->name, e->msg);
	pt->has_msix = true;
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
	if (in_msix_bar(rg)) {
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
		r = setup_irqs(pt, e);
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
