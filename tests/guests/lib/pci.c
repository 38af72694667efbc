/* PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2):
 * dword address to 0xcf8 (bit 31 enable, bus 23:16, device 15:11,
 * function 10:8, register 7:2), data at 0xcfc + (offset & 3). */
#include "guest.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static bool addr_ok(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	return bus < 256 && dev < 32 && fn < 8 && off < 256;
}

static void pci_select(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	outl(PCI_ADDR, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc));
}

uint32_t guest_pci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	if (!addr_ok(bus, dev, fn, off))
		return 0xffffffff;
	pci_select(bus, dev, fn, off);
	return inl(PCI_DATA);
}

uint16_t guest_pci_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	if (!addr_ok(bus, dev, fn, off))
		return 0xffff;
	pci_select(bus, dev, fn, off);
	return inw(PCI_DATA + (off & 2));
}

uint8_t guest_pci_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	if (!addr_ok(bus, dev, fn, off))
		return 0xff;
	pci_select(bus, dev, fn, off);
	return inb(PCI_DATA + (off & 3));
}

void guest_pci_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off,
		       uint32_t v)
{
	if (!addr_ok(bus, dev, fn, off))
		return;
	pci_select(bus, dev, fn, off);
	outl(PCI_DATA, v);
}

/* ECAM (PCI Express Base spec 7.2.2): one 4 KiB window per function at
 * base + (bus << 20 | dev << 15 | fn << 12); plain MMIO, so CPL3 is fine. */
uint32_t guest_pci_ecam_read32(uint64_t base, unsigned bus, unsigned dev,
			       unsigned fn, unsigned off)
{
	if (!base || bus >= 256 || dev >= 32 || fn >= 8 || off >= 4096)
		return 0xffffffff;
	return *(volatile uint32_t *)(uintptr_t)(base + ((uint64_t)bus << 20 |
		dev << 15 | fn << 12 | (off & 0xffc)));
}
