/* Port-I/O and MMIO buses.
 *
 * A device registers a range with a static const ops table and an opaque
 * state pointer (bhyve/kvmtool style).  vCPU threads dispatch
 * KVM_EXIT_IO/KVM_EXIT_MMIO here; the bus takes a read lock only, so
 * devices do their own locking.  Registration happens before vCPUs start. */
#ifndef BASALT_BUS_H
#define BASALT_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "basalt/err.h"

struct bus_dev_ops {
	const char *name;
	/* off is relative to the registered base; len is 1, 2, 4 or 8. */
	void (*read)(void *dev, uint64_t off, void *data, unsigned len);
	void (*write)(void *dev, uint64_t off, const void *data, unsigned len);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_dev_ops *ops;
	void *dev;
};

#define BUS_MAX_RANGES 64

struct bus {
	const char *name;     /* "pio" or "mmio" */
	unsigned nr;
	struct bus_range r[BUS_MAX_RANGES];   /* sorted by base, no overlaps */
};

void bus_init(struct bus *b, const char *name);
int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_dev_ops *ops, void *dev, struct bs_err *e);
/* Returns true if a device handled it; unclaimed reads return all-ones. */
bool bus_dispatch(const struct bus *b, bool is_write, uint64_t addr,
		  void *data, unsigned len);

#endif
