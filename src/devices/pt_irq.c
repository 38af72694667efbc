/* Interrupts of a passed-through function: MSI-X and MSI vectors as
 * eventfds the device signals and KVM irqfds bound while the vector is
 * deliverable (see include/basalt/devices/pt.h, "Interrupts"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "basalt/devices/pt.h"
#include "basalt/log.h"
#include "pt_priv.h"

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
void pt_device_irqs(struct pt_dev *pt, unsigned kind, unsigned n)
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

void pt_msi_sync(struct pt_dev *pt)
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
			pt_device_irqs(pt, PT_IRQ_MSI, 0);
		pt_device_irqs(pt, PT_IRQ_MSI, want);
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
		pt_device_irqs(pt, PT_IRQ_MSI, 0);
	pt->msi_on = want;
}

uint32_t pt_msi_pending(struct pt_dev *pt)
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

void pt_pba_sync(struct pt_dev *pt)
{
	for (unsigned v = 0; v < pt->cfg.msix_nvec; v++)
		if (vec_take(&pt->msix_vec[v]))
			msix_notify(&pt->msix, v);
}

static int vec_init(struct pt_dev *pt, struct pt_vec *x, struct bs_err *e)
{
	x->gsi = -1;
	x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->efd < 0)
		return bs_errf(e, errno, "%s: eventfd: %s", pt->name, strerror(errno));
	return 0;
}

int pt_irq_setup(struct pt_dev *pt, struct bs_err *e)
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
