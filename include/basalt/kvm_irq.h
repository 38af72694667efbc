/* Interrupt routing through KVM: the GSI routing table and irqfds.
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so the router keeps it:
 * the in-kernel irqchip's default entries (GSIs 0-23, the same table KVM
 * installs by itself: 0-15 to the I/O APIC pin of the same number and to
 * the 8259, 16-23 to the I/O APIC) plus one MSI entry per allocated GSI
 * (24 up).  An MSI GSI whose message is not usable (masked vector) has no
 * entry at all.  Every change re-sends the table; changes come from guest
 * writes to MSI-X tables (vCPU threads) and are rare.
 *
 * msix_kvm is the MSI-X sink that puts a PCI function's vectors there: one
 * GSI and one eventfd per vector, the eventfd bound to the GSI with
 * KVM_IRQFD, so firing a vector is one eventfd write from any thread, and
 * KVM injects the interrupt without a vCPU exit. */
#ifndef BASALT_KVM_IRQ_H
#define BASALT_KVM_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "basalt/devices/msix.h"
#include "basalt/err.h"

#define KVM_IRQ_FIRST_MSI_GSI 24
/* KVM_MAX_IRQ_ROUTES is 4096 on x86: GSIs and entries stay below it. */
#define KVM_IRQ_MAX_GSI 4000

struct kvm_irq_router {
	int vm_fd;
	pthread_mutex_t lock;
	unsigned next_gsi;
	/* Per MSI GSI: its message and whether it has an entry. */
	struct kvm_irq_msi {
		uint64_t addr;
		uint32_t data;
		bool valid;
	} msi[KVM_IRQ_MAX_GSI - KVM_IRQ_FIRST_MSI_GSI];
	void *table;                  /* struct kvm_irq_routing + entries */
};

/* vm_fd must have an in-kernel irqchip.  Sends the default table. */
int kvm_irq_router_init(struct kvm_irq_router *r, int vm_fd, struct bs_err *e);
void kvm_irq_router_destroy(struct kvm_irq_router *r);
/* A fresh MSI GSI (no entry until kvm_irq_msi_set(valid)), or -ENOSPC. */
int kvm_irq_msi_alloc(struct kvm_irq_router *r, struct bs_err *e);
/* Sets or (valid false) removes gsi's MSI entry and re-sends the table. */
int kvm_irq_msi_set(struct kvm_irq_router *r, unsigned gsi, uint64_t addr,
		    uint32_t data, bool valid, struct bs_err *e);

struct msix_kvm {
	struct kvm_irq_router *router;
	unsigned nvec;
	int *gsi;
	int *efd;                     /* eventfds bound with KVM_IRQFD */
};

/* Allocates nvec GSIs and eventfds and binds them; *sink then routes a
 * struct msix to them. */
int msix_kvm_init(struct msix_kvm *k, struct kvm_irq_router *r, unsigned nvec,
		  struct msix_sink *sink, struct bs_err *e);
void msix_kvm_destroy(struct msix_kvm *k);

#endif
