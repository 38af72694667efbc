/* PCI bus 0 behind configuration mechanism #1 (ports 0xcf8 address,
 * 0xcfc-0xcff data; PCI Local Bus spec 3.0 section 3.2.2.3.2) and ECAM.
 *
 * Each function is a 256-byte configuration space plus a write mask; the
 * host bridge at 00:00.0 is the first.  Devices that need side effects on
 * config writes (BARs, MSI-X: the virtio-pci issue) supply a hook.  Reads of
 * absent functions return all-ones. */
#ifndef BASALT_DEVICES_PCI_H
#define BASALT_DEVICES_PCI_H

#include <pthread.h>
#include <stdint.h>

#include "basalt/bus.h"
#include "basalt/err.h"

#define PCI_CFG_ADDR_PORT 0xcf8
#define PCI_CFG_DATA_PORT 0xcfc
#define PCI_MAX_SLOTS 32

#define PCI_HOST_VENDOR 0x1b36   /* Red Hat (QEMU) */
#define PCI_HOST_DEVICE 0x0008   /* generic PCIe host bridge */

struct pci_func {
	uint8_t cfg[256];
	uint8_t wmask[256];        /* bits the guest may change */
	/* Optional: called after a config write landed (under the bus lock). */
	void (*cfg_written)(struct pci_func *f, unsigned off, unsigned len);
	void *priv;
};

struct pci_bus {
	pthread_mutex_t lock;
	uint32_t addr;             /* last value written to 0xcf8 */
	struct pci_func *slot[PCI_MAX_SLOTS];
	struct pci_func host;
};

void pci_bus_init(struct pci_bus *b);
/* Puts f at 00:slot.0 (slot 1..31; 0 is the host bridge). */
int pci_bus_add(struct pci_bus *b, unsigned slot, struct pci_func *f,
		struct bs_err *e);
/* Config access by bus/devfn for tests and ECAM. */
uint32_t pci_cfg_read(struct pci_bus *b, unsigned bus, unsigned devfn,
		      unsigned off, unsigned len);
void pci_cfg_write(struct pci_bus *b, unsigned bus, unsigned devfn,
		   unsigned off, unsigned len, uint32_t val);

/* Port range 0xcf8..0xcff; device state is the struct pci_bus. */
extern const struct bus_dev_ops pci_cam_ops;
/* MMIO ECAM window (PCI_ECAM_SIZE bytes: buses 0..255), as the ACPI MCFG
 * table announces it; device state is the struct pci_bus. */
#define PCI_ECAM_SIZE 0x10000000ull
extern const struct bus_dev_ops pci_ecam_ops;

#endif
