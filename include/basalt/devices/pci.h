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

#define PCI_NUM_BARS 6
#define PCI_CFG_COMMAND 0x04
#define PCI_CFG_STATUS 0x06
#define PCI_CFG_BAR0 0x10
#define PCI_CFG_CAP_PTR 0x34
#define PCI_CFG_ROM 0x30
#define PCI_ROM_ENABLE 0x1
#define PCI_ROM_MIN 2048
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS_CAP_LIST 0x10

/* BAR kinds (flags of pci_func_add_bar). */
#define PCI_BAR_MEM64 0x1          /* 64-bit memory BAR: uses idx and idx+1 */
#define PCI_BAR_PREFETCH 0x2

/* A memory BAR: the register bits live in cfg/wmask (so the guest's sizing
 * protocol, writing all-ones and reading back ~(size - 1), needs no code);
 * accesses to the address the guest programmed reach ops through a
 * pci_window.  size 0 = BAR not implemented (reads as 0). */
struct pci_bar {
	uint64_t size;             /* power of two >= 16, or 0 */
	unsigned flags;
	const struct bus_dev_ops *ops;
	void *dev;
};

struct pci_func {
	uint8_t cfg[256];
	uint8_t wmask[256];        /* bits the guest may change */
	struct pci_bar bar[PCI_NUM_BARS];
	unsigned cap_end;          /* first free capability byte (0: 0x40) */
	struct pci_bar rom;        /* expansion ROM (0x30), size 0 = none */
	/* Optional: called after a config write landed (under the bus write
	 * lock), e.g. to move ioeventfds or memory slots with a BAR. */
	void (*cfg_written)(struct pci_func *f, unsigned off, unsigned len);
	/* Optional, for functions whose registers partly live in a real
	 * device (passthrough): cfg_read gets the bytes read from cfg and
	 * returns the value to give the guest (bus lock held shared);
	 * cfg_write gets the guest's raw value, before the write mask was
	 * applied to cfg and before cfg_written (bus lock held exclusively).
	 * off/len are a valid aligned access (len 1, 2 or 4). */
	uint32_t (*cfg_read)(struct pci_func *f, unsigned off, unsigned len,
			     uint32_t v);
	void (*cfg_write)(struct pci_func *f, unsigned off, unsigned len,
			  uint32_t val);
	void *priv;
};

/* Locking: config accesses take the bus lock (writes exclusively); BAR
 * accesses through a window hold it shared while the device's ops run, so a
 * BAR cannot move under an access.  Device ops must not access PCI
 * configuration space themselves. */
struct pci_bus {
	pthread_rwlock_t lock;
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

/* --- BARs, windows, capabilities (pci_bar.c) ------------------------------ */

/* Declares memory BAR idx of f (before the guest runs): size a power of two
 * (>= 16 bytes; 64-bit BARs may be many GiB), flags PCI_BAR_*.  A 64-bit BAR
 * takes idx and idx + 1.  -EINVAL with a message on a bad index or size, or
 * a slot already in use. */
int pci_func_add_bar(struct pci_func *f, unsigned idx, uint64_t size,
		     unsigned flags, const struct bus_dev_ops *ops, void *dev,
		     struct bs_err *e);
/* The guest-physical address BAR idx decodes, or 0 when it does not decode
 * (not implemented, memory decoding off in COMMAND, still 0, or mid-sizing
 * with all-ones in it).  Caller holds the bus lock (or owns f alone). */
uint64_t pci_bar_addr(const struct pci_func *f, unsigned idx);
/* Declares the expansion ROM BAR (0x30; PCI 3.0 6.2.5.2): size a power of
 * two >= PCI_ROM_MIN.  It decodes (reads through ops) while its enable bit
 * and memory decoding are on; pci_bus_assign_bars places it in w32. */
int pci_func_add_rom(struct pci_func *f, uint64_t size,
		     const struct bus_dev_ops *ops, void *dev, struct bs_err *e);
/* Where the ROM decodes, or 0 (absent, disabled, memory decoding off). */
uint64_t pci_rom_addr(const struct pci_func *f);
/* Adds a capability (id, len bytes including the 2-byte header, 4-byte
 * aligned) to f's list; returns its config offset, or 0 when it does not
 * fit below 0x100.  Sets STATUS.CAP_LIST and links the list. */
unsigned pci_cap_add(struct pci_func *f, uint8_t id, unsigned len);

/* An MMIO range (the 32-bit window below 4 GiB, the 64-bit window above
 * RAM) in which BARs decode; registered on the MMIO bus once, with the
 * window as device state.  BARs the guest moves outside every window stop
 * decoding, as behind a real host bridge. */
#define PCI_BAR_HIGH_MIN (256ull << 20)

struct pci_window {
	struct pci_bus *bus;
	uint64_t base, size;
};
extern const struct bus_dev_ops pci_window_ops;

/* Firmware-style initial placement: every BAR of every function gets a
 * naturally aligned address, largest first; 64-bit BARs of at least
 * PCI_BAR_HIGH_MIN go to w64 (then w32), other BARs to w32 (64-bit ones
 * then w64); w64 may be NULL.  Memory decoding is
 * left off (the guest's driver turns it on).  -ENOSPC naming the BAR when
 * it does not fit. */
int pci_bus_assign_bars(struct pci_bus *b, const struct pci_window *w32,
			const struct pci_window *w64, struct bs_err *e);

/* Every memory BAR of every function, at the address its registers hold,
 * ends at or below 2^phys_bits (the guest's physical address width): 0, or
 * -ERANGE naming the first that does not. */
int pci_bus_check_reach(const struct pci_bus *b, unsigned phys_bits, struct bs_err *e);

#endif
