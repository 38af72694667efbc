/* PCI passthrough: one guest-visible PCI function backed by a device the
 * VMM does not emulate, reached through a backend shaped like Linux VFIO
 * (kernel VFIO, src/vfio/kernel.c, or a vfio-user server, src/vfio/user.c).
 *
 * Configuration space: pt_cfg.h (emulated image, passed-through bytes).
 * COMMAND's memory, bus-master, parity, SERR and INTx-disable bits are
 * forwarded to the device after each write.
 *
 * BARs: the guest assigns addresses (sizing through the write masks).
 * The parts of a BAR the backend lets us mmap (whole region, or its
 * sparse-mmap areas), minus the pages holding the MSI-X table and PBA,
 * become KVM memory slots at the BAR's address while memory decoding is
 * on and the BAR lies inside a PCI window: guest accesses there never
 * exit.  The slots move with the BAR and go when decoding goes off (on
 * the vCPU thread that wrote the register).  Everything else traps: the
 * MSI-X table and PBA to the emulation in msix.c, the rest to the
 * backend's region read/write.  The ROM is read through the backend.
 * Every trapped access is bounds-checked by the PCI window (it lies
 * inside the BAR) and again here (inside the region, inside a mapping).
 *
 * Interrupts: MSI-X and MSI are emulated; each vector has an eventfd the
 * device signals (handed over with set_irqs when the guest enables MSI or
 * MSI-X) and a KVM GSI whose route is the vector's message.  While a
 * vector is deliverable its eventfd is bound to the GSI with KVM_IRQFD, so
 * the device's signal is injected by KVM without any VMM thread; while it
 * is masked the irqfd is unbound and signals accumulate in the eventfd's
 * counter, which the PBA (MSI: pending bits) reports, and which KVM
 * delivers when the vector is unmasked and the irqfd bound again.  INTx is
 * not offered (interrupt pin 0): the platform routes no PCI INTx.
 *
 * Reset: the device is reset (if it can be) before the guest runs, and
 * when the guest sets Initiate FLR in the PCI Express device control
 * register (only offered when the device supports FLR): interrupts off,
 * backend reset, COMMAND cleared (BARs unmapped), MSI/MSI-X disabled, all
 * MSI-X vectors masked.
 *
 * Locking: configuration accesses hold the PCI bus lock (exclusively for
 * writes), BAR accesses hold it shared; the backend serialises its own
 * channel; MSI-X state has msix.c's lock. */
#ifndef BASALT_DEVICES_PT_H
#define BASALT_DEVICES_PT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "basalt/devices/msix.h"
#include "basalt/devices/pci.h"
#include "basalt/devices/pt_cfg.h"
#include "basalt/err.h"
#include "basalt/guest_mem.h"
#include "basalt/kvm_irq.h"
#include "basalt/kvm_slots.h"

#define PT_CONFIG_REGION 7           /* VFIO_PCI_CONFIG_REGION_INDEX */
#define PT_MAX_AREAS 16              /* mmappable areas per region */
#define PT_MAX_PIECES (PT_MAX_AREAS + 4)

#define PT_IRQ_INTX 0                /* VFIO_PCI_*_IRQ_INDEX */
#define PT_IRQ_MSI 1
#define PT_IRQ_MSIX 2

struct pt_area {
	uint64_t off, size;
};

struct pt_region_info {
	uint64_t size;
	bool readable, writable;
	int fd;                      /* to mmap areas from (backend's), -1 none */
	uint64_t fd_offset;          /* file offset of region offset 0 */
	unsigned nareas;             /* mmappable parts, inside [0, size) */
	struct pt_area area[PT_MAX_AREAS];
};

/* A backend: VFIO's device model.  Region indexes are VFIO PCI's (0-5
 * BARs, 6 ROM, 7 configuration space).  Calls return 0 or -errno. */
struct pt_backend_ops {
	const char *kind;            /* "vfio", "vfio-user" */
	int (*region_info)(void *b, unsigned idx, struct pt_region_info *ri,
			   struct bs_err *e);
	unsigned (*irq_count)(void *b, unsigned idx);
	int (*read)(void *b, unsigned region, uint64_t off, void *data, unsigned len);
	int (*write)(void *b, unsigned region, uint64_t off, const void *data,
		     unsigned len);
	/* Interrupt kind idx: vector start + i signals fds[i]; count 0 turns
	 * the kind off. */
	int (*set_irqs)(void *b, unsigned idx, unsigned start, unsigned count,
			const int *fds);
	int (*reset)(void *b);       /* -ENOTSUP: the device cannot reset */
	/* Guest RAM [iova, iova + size) for DMA: at hva here, fd at fd_off. */
	int (*dma_map)(void *b, uint64_t iova, uint64_t size, void *hva, int fd,
		       uint64_t fd_off, struct bs_err *e);
	void (*destroy)(void *b);
};

struct pt_params {
	const char *name;                    /* "vfio-user0", for messages */
	const struct pt_backend_ops *ops;
	void *backend;                       /* owned by the device from now */
	const struct guest_mem *gm;          /* DMA-mapped at create */
	struct kvm_irq_router *irq;          /* NULL: no KVM (unit tests) */
	int vm_fd;                           /* -1: no KVM */
	struct kvm_slots *slots;             /* NULL: nothing mapped */
	const struct pci_window *windows[2]; /* where BARs may be mapped */
	/* Unit tests: told of every route change (kind PT_IRQ_MSI/MSIX). */
	void (*route_hook)(void *ctx, unsigned kind, unsigned vec, uint64_t addr,
			   uint32_t data, bool valid);
	void *hook_ctx;
};

/* One vector of MSI or MSI-X. */
struct pt_vec {
	int efd;                     /* the device signals it */
	int gsi;                     /* KVM route, -1 until first used (or no KVM) */
	bool bound;                  /* efd is a KVM irqfd of gsi */
	uint64_t addr;               /* route last set */
	uint32_t data;
	bool valid;
	atomic_bool pending;         /* signalled while masked (MSI) */
};

struct pt_dev;

/* Per region: its info, host mappings and the pieces that become slots;
 * the device ops of the BAR get this as their state. */
struct pt_region {
	struct pt_dev *pt;
	unsigned idx;
	struct pt_region_info ri;
	uint8_t *map[PT_MAX_AREAS];          /* host mapping of ri.area[i] */
	unsigned npieces;
	struct pt_piece {
		uint64_t off, size;          /* within the BAR, page aligned */
		uint8_t *hva;
		int slot;                    /* -1: not mapped */
	} piece[PT_MAX_PIECES];
	uint64_t mapped_at;                  /* BAR address the slots use, 0 none */
};

struct pt_dev {
	struct pci_func f;
	struct pt_params p;
	char name[32];
	struct pt_cfg cfg;
	struct pt_region reg[PT_NUM_REGIONS];
	bool has_msix;
	struct msix msix;
	struct pt_vec *msix_vec;             /* cfg.msix_nvec */
	bool msix_on;                        /* device told (set_irqs) */
	int *fds;                            /* set_irqs argument, preallocated */
	struct pt_vec msi_vec[32];
	unsigned msi_on;                     /* vectors handed to the device, 0 off */
	bool flr_pending;
	atomic_uint resets;                  /* device resets done */
	atomic_uint dead_logged;
};

/* Reads the device through the backend, builds the function, maps the
 * mmappable areas, DMA-maps guest RAM and resets the device.  On success
 * *out owns the backend; on failure the backend is destroyed too. */
int pt_create(struct pt_dev **out, const struct pt_params *p, struct bs_err *e);
void pt_destroy(struct pt_dev *pt);

/* Splits areas (sorted, page aligned) around holes (page-rounded ranges,
 * any order) into at most max pieces; returns how many.  Pure. */
unsigned pt_carve(const struct pt_area *areas, unsigned nareas,
		  const struct pt_area *holes, unsigned nholes,
		  struct pt_area *out, unsigned max);

#endif
