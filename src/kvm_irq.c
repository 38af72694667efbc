/* KVM GSI routing and irqfds: see include/basalt/kvm_irq.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "basalt/kvm_irq.h"
#include "basalt/log.h"

#define NR_DEFAULT (16 * 2 + 8)	/* 0-15: I/O APIC + 8259, 16-23: I/O APIC */
#define NR_MSI (KVM_IRQ_MAX_GSI - KVM_IRQ_FIRST_MSI_GSI)

static struct kvm_irq_routing *table(struct kvm_irq_router *r)
{
	return r->table;
}

/* Rebuilds the entries after the defaults and sends the table.  Under
 * r->lock (or before anyone else can see r). */
static int send(struct kvm_irq_router *r, struct bs_err *e)
{
	struct kvm_irq_routing *t = table(r);
	unsigned n = NR_DEFAULT;

	for (unsigned i = 0; i < NR_MSI; i++) {
		struct kvm_irq_routing_entry *en;

		if (!r->msi[i].valid)
			continue;
		en = &t->entries[n++];
		memset(en, 0, sizeof(*en));
		en->gsi = KVM_IRQ_FIRST_MSI_GSI + i;
		en->type = KVM_IRQ_ROUTING_MSI;
		en->u.msi.address_lo = (uint32_t)r->msi[i].addr;
		en->u.msi.address_hi = (uint32_t)(r->msi[i].addr >> 32);
		en->u.msi.data = r->msi[i].data;
	}
	t->nr = n;
	t->flags = 0;
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		return bs_errf(e, errno, "KVM_SET_GSI_ROUTING (%u entries): %s", n,
			       strerror(errno));
	return 0;
}

int kvm_irq_router_init(struct kvm_irq_router *r, int vm_fd, struct bs_err *e)
{
	struct kvm_irq_routing *t;
	unsigned n = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	r->next_gsi = KVM_IRQ_FIRST_MSI_GSI;
	t = calloc(1, sizeof(*t) + (NR_DEFAULT + NR_MSI) * sizeof(t->entries[0]));
	if (!t)
		return bs_errf(e, ENOMEM, "GSI routing: out of memory");
	for (unsigned gsi = 0; gsi < 24; gsi++) {
		t->entries[n].gsi = gsi;
		t->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		t->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		t->entries[n++].u.irqchip.pin = gsi;
		if (gsi < 16) {
			t->entries[n].gsi = gsi;
			t->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			t->entries[n].u.irqchip.irqchip =
				gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			t->entries[n++].u.irqchip.pin = gsi % 8;
		}
	}
	r->table = t;
	pthread_mutex_init(&r->lock, NULL);
	ret = send(r, e);
	if (ret)
		kvm_irq_router_destroy(r);
	return ret;
}

void kvm_irq_router_destroy(struct kvm_irq_router *r)
{
	if (r->table)
		pthread_mutex_destroy(&r->lock);
	free(r->table);
	r->table = NULL;
}

int kvm_irq_msi_alloc(struct kvm_irq_router *r, struct bs_err *e)
{
	int gsi;

	pthread_mutex_lock(&r->lock);
	gsi = r->next_gsi < KVM_IRQ_MAX_GSI ? (int)r->next_gsi++ : -1;
	pthread_mutex_unlock(&r->lock);
	if (gsi < 0)
		return bs_errf(e, ENOSPC, "GSI routing: all %u MSI GSIs in use", NR_MSI);
	return gsi;
}

int kvm_irq_msi_set(struct kvm_irq_router *r, unsigned gsi, uint64_t addr,
		    uint32_t data, bool valid, struct bs_err *e)
{
	struct kvm_irq_msi *m;
	int ret = 0;

	if (gsi < KVM_IRQ_FIRST_MSI_GSI || gsi >= KVM_IRQ_MAX_GSI)
		return bs_errf(e, EINVAL, "GSI %u is not an MSI GSI", gsi);
	pthread_mutex_lock(&r->lock);
	m = &r->msi[gsi - KVM_IRQ_FIRST_MSI_GSI];
	if (m->valid != valid || (valid && (m->addr != addr || m->data != data))) {
		*m = (struct kvm_irq_msi){ addr, data, valid };
		ret = send(r, e);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static void kvm_route(void *ctx, unsigned vec, uint64_t addr, uint32_t data,
		      bool valid)
{
	struct msix_kvm *k = ctx;
	struct bs_err e;

	/* A guest-written message KVM refuses cannot be delivered; the vector
	 * then stays without a route, which the guest sees as lost
	 * interrupts, not as a VMM failure. */
	if (kvm_irq_msi_set(k->router, (unsigned)k->gsi[vec], addr, data, valid, &e))
		log_warn("MSI-X vector %u: %s", vec, e.msg);
}

static void kvm_fire(void *ctx, unsigned vec)
{
	struct msix_kvm *k = ctx;
	uint64_t one = 1;

	if (write(k->efd[vec], &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("MSI-X vector %u: eventfd: %s", vec, strerror(errno));
}

int msix_kvm_init(struct msix_kvm *k, struct kvm_irq_router *r, unsigned nvec,
		  struct msix_sink *sink, struct bs_err *e)
{
	memset(k, 0, sizeof(*k));
	k->router = r;
	k->gsi = calloc(nvec, sizeof(*k->gsi));
	k->efd = malloc(nvec * sizeof(*k->efd));
	if (!k->gsi || !k->efd) {
		free(k->gsi);
		free(k->efd);
		return bs_errf(e, ENOMEM, "MSI-X: out of memory");
	}
	for (unsigned v = 0; v < nvec; v++)
		k->efd[v] = -1;
	k->nvec = nvec;
	for (unsigned v = 0; v < nvec; v++) {
		struct kvm_irqfd irqfd = { 0 };
		int gsi = kvm_irq_msi_alloc(r, e);

		if (gsi < 0) {
			msix_kvm_destroy(k);
			return gsi;
		}
		k->gsi[v] = gsi;
		k->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (k->efd[v] < 0) {
			int err = errno;

			msix_kvm_destroy(k);
			return bs_errf(e, err, "MSI-X: eventfd: %s", strerror(err));
		}
		irqfd.fd = (uint32_t)k->efd[v];
		irqfd.gsi = (uint32_t)gsi;
		if (ioctl(r->vm_fd, KVM_IRQFD, &irqfd) < 0) {
			int err = errno;

			close(k->efd[v]);
			k->efd[v] = -1;
			msix_kvm_destroy(k);
			return bs_errf(e, err, "KVM_IRQFD (GSI %d): %s", gsi, strerror(err));
		}
	}
	*sink = (struct msix_sink){ kvm_route, kvm_fire, k };
	return 0;
}

/* No KVM_IRQFD deassign: destroy runs at teardown on the sandboxed main
 * thread, and closing the VM fd releases every irqfd anyway. */
void msix_kvm_destroy(struct msix_kvm *k)
{
	for (unsigned v = 0; k->efd && v < k->nvec; v++)
		if (k->efd[v] >= 0)
			close(k->efd[v]);
	free(k->gsi);
	free(k->efd);
	memset(k, 0, sizeof(*k));
}
