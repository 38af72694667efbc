/* Configuration space of a passed-through PCI function: what the guest
 * sees, built from the real device's 256-byte conventional space and its
 * region sizes (as VFIO and vfio-user report them).
 *
 * Every byte is either emulated (cfg/wmask of the struct pci_func: read
 * from the image, written through the write mask) or passed through
 * (read from and written to the device; pt_cfg.pass[] says which):
 *
 *   0x00-0x3f  header: emulated.  IDs, class, revision, subsystem from the
 *              device; BARs and the expansion ROM virtualised (the guest
 *              assigns addresses; sizes from the region sizes; I/O BARs
 *              hidden); COMMAND emulated (the device model forwards the
 *              memory/bus-master/INTx-disable bits); header type 0 only,
 *              multi-function bit cleared; interrupt pin 0 (no INTx).
 *   capabilities (PCI 3.0 6.7), filtered: kept ones stay at the device's
 *              offsets, relinked to skip the dropped ones, whose bytes
 *              read as 0.  Kept: power management (emulated, power state
 *              writable in the image only), MSI (emulated), PCI Express
 *              (emulated, turned into a root-complex integrated endpoint:
 *              no link, slot or root registers; DEVCTL writable, its FLR
 *              bit resets the device), MSI-X (emulated: table and PBA are
 *              the device model's), vendor-specific (header emulated, body
 *              passed through).  Everything else (VPD, PCI-X, AF, ...) is
 *              dropped.
 *   rest of 0x40-0xff outside any capability: passed through (device
 *              specific registers).
 *   0x100-0xfff (PCIe extended space): not exposed (reads 0), so no
 *              extended capabilities (AER, Resizable BAR, SR-IOV, ...).
 *
 * The walk over the device's list is bounded: pointers must be in
 * 0x40..0xfc (low two bits ignored, PCI 3.0 6.7), a capability must fit
 * below 0x100 and not overlap one already kept, a loop ends the walk. */
#ifndef BASALT_DEVICES_PT_CFG_H
#define BASALT_DEVICES_PT_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "basalt/devices/pci.h"
#include "basalt/err.h"

#define PT_CFG_SIZE 256
#define PT_NUM_REGIONS 7          /* BARs 0-5, ROM (VFIO region indexes) */
#define PT_ROM_REGION 6
#define PT_MAX_CAPS 48

#define PCI_CAP_ID_PM 0x01
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_EXP 0x10

/* PCI Express capability (PCIe Base 7.5.3) offsets and bits used. */
#define PCIE_FLAGS 0x02
#define PCIE_DEVCAP 0x04
#define PCIE_DEVCTL 0x08
#define PCIE_DEVCAP_FLR (1u << 28)
#define PCIE_DEVCTL_FLR 0x8000
#define PCIE_TYPE_RCIEP 0x9

/* MSI capability (PCI 3.0 6.8.1): control bits. */
#define MSI_CTRL_ENABLE 0x0001
#define MSI_CTRL_64BIT 0x0080
#define MSI_CTRL_MASKABLE 0x0100

struct pt_bar_desc {
	uint64_t size;            /* 0: not exposed */
	unsigned flags;           /* PCI_BAR_MEM64 | PCI_BAR_PREFETCH */
};

struct pt_cfg {
	uint8_t pass[PT_CFG_SIZE];        /* 1: byte lives in the device */
	struct pt_bar_desc bar[PCI_NUM_BARS];
	uint64_t rom_size;                /* 0: no ROM */
	unsigned hidden_io_bars;          /* I/O BARs the guest does not see */
	/* Config offsets of the kept capabilities we emulate (0: none). */
	unsigned pm, msi, pcie, msix;
	/* MSI: vectors the device supports (1..32), layout. */
	unsigned msi_max;
	bool msi_64, msi_maskable;
	unsigned msi_mask_off, msi_pending_off;   /* 0 unless maskable */
	/* MSI-X as the device describes it. */
	unsigned msix_nvec, msix_bar;
	uint32_t msix_table_off, msix_pba_off;
	bool flr;                         /* DEVCAP says FLR is supported */
	unsigned nkept, ndropped;
	uint8_t kept[PT_MAX_CAPS], dropped[PT_MAX_CAPS];  /* capability IDs */
};

/* Builds f (zeroed by the caller) from the device's config space raw and
 * region sizes (size[0..5] the BARs, size[6] the ROM; 0 = absent): the
 * image, write masks, pc->pass, and the BARs and ROM declared with
 * pci_func_add_bar/pci_func_add_rom with ops and dev[region].  A BAR the sizes or the
 * header make impossible (not a power of two, a 64-bit BAR in slot 5, a
 * 32-bit BAR over 2 GiB) is hidden with a warning, as is an MSI-X
 * capability whose table or PBA does not fit its BAR.  -EINVAL with a
 * message for what cannot be passed through at all (no device, a bridge). */
int pt_cfg_build(struct pt_cfg *pc, struct pci_func *f, const uint8_t raw[PT_CFG_SIZE],
		 const uint64_t size[PT_NUM_REGIONS], const struct bus_dev_ops *ops,
		 void *const dev[PT_NUM_REGIONS], const char *name, struct bs_err *e);

/* Whether any byte of [off, off + len) is passed through. */
bool pt_cfg_any_pass(const struct pt_cfg *pc, unsigned off, unsigned len);

#endif
