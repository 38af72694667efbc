/* MSI-X for one PCI function (PCI Local Bus spec 3.0, 6.8.2): the
 * capability, the vector table and the pending-bit array (PBA).
 *
 * The table and the PBA live in one of the device's memory BARs; the
 * device's BAR ops pass accesses in those ranges to msix_table_read/write
 * and msix_pba_read.  Table entries are 16 bytes {address low, address
 * high, data, vector control}; only aligned dword or qword accesses are
 * honoured (6.8.2: software must use them), others read all-ones and are
 * ignored.  Entries start masked.
 *
 * Delivery: the sink's route() is told whenever a vector's message or
 * deliverability changes (enable, function mask, vector mask), so it can
 * keep a KVM GSI route and irqfd per vector; msix_notify() fires a
 * deliverable vector through the sink, or else sets its pending bit, which
 * is delivered (and cleared) once the vector becomes deliverable.
 *
 * Locking: one mutex per function; sink callbacks run under it and must
 * not call back into msix_*.  msix_cfg_written() runs under the PCI bus
 * lock (the pci_func cfg_written hook), BAR accesses under the window's
 * shared hold of it: the bus lock is always taken first. */
#ifndef BASALT_DEVICES_MSIX_H
#define BASALT_DEVICES_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "basalt/devices/pci.h"
#include "basalt/err.h"

#define PCI_CAP_ID_MSIX 0x11
#define MSIX_MAX_VECTORS 2048
#define MSIX_ENTRY_SIZE 16
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FMASK 0x4000
#define MSIX_VCTRL_MASK 0x1

struct msix_sink {
	/* Vector vec is deliverable with this message (valid) or not. */
	void (*route)(void *ctx, unsigned vec, uint64_t addr, uint32_t data,
		      bool valid);
	/* Deliver vector vec, whose route is valid. */
	void (*fire)(void *ctx, unsigned vec);
	void *ctx;
};

struct msix_route_state {
	uint64_t addr;
	uint32_t data;
	bool valid;
};

struct msix {
	struct pci_func *f;
	unsigned cap;                  /* config offset of the capability */
	unsigned nvec;
	uint32_t *table;               /* nvec entries of 4 dwords */
	uint64_t *pba;
	struct msix_route_state *routed;   /* what the sink was last told */
	struct msix_sink sink;
	bool enabled;                  /* Message Control enable, cached */
	pthread_mutex_t lock;
};

static inline uint64_t msix_table_bytes(unsigned nvec)
{
	return (uint64_t)nvec * MSIX_ENTRY_SIZE;
}

static inline uint64_t msix_pba_bytes(unsigned nvec)
{
	return ((uint64_t)nvec + 63) / 64 * 8;
}

/* Adds the capability to f (before the guest runs): nvec vectors (1 to
 * MSIX_MAX_VECTORS), table at table_off and PBA at pba_off in BAR bar (both
 * 8-byte aligned, not overlapping).  -EINVAL / -ENOSPC / -ENOMEM with a
 * message. */
int msix_init(struct msix *m, struct pci_func *f, unsigned nvec, unsigned bar,
	      uint32_t table_off, uint32_t pba_off, const struct msix_sink *sink,
	      struct bs_err *e);
/* The same for a capability f already has at config offset cap (its
 * id and next pointer stay; passthrough devices keep the device's). */
int msix_init_at(struct msix *m, struct pci_func *f, unsigned cap, unsigned nvec,
		 unsigned bar, uint32_t table_off, uint32_t pba_off,
		 const struct msix_sink *sink, struct bs_err *e);
void msix_destroy(struct msix *m);

/* off relative to the start of the table / PBA. */
void msix_table_read(struct msix *m, uint64_t off, void *data, unsigned len);
void msix_table_write(struct msix *m, uint64_t off, const void *data,
		      unsigned len);
void msix_pba_read(struct msix *m, uint64_t off, void *data, unsigned len);
/* Call from the function's cfg_written hook for every config write. */
void msix_cfg_written(struct msix *m, unsigned off, unsigned len);

/* Signals vector vec (out-of-range vectors are ignored). */
void msix_notify(struct msix *m, unsigned vec);
/* MSI-X enabled by the guest (the device must then not use INTx). */
bool msix_enabled(struct msix *m);

#endif
