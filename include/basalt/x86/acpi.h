/* ACPI tables generated in C for x86 guests: RSDP (rev 2), XSDT, FADT
 * (revision 6, HW_REDUCED_ACPI, sleep control/status and reset register in
 * port I/O), DSDT with \_S5_ (and later devices), MADT (one Local APIC per
 * vCPU, one I/O APIC, ISA interrupt source overrides).  ACPI 6.x spec
 * sections 5.2.5 (RSDP), 5.2.8 (XSDT), 5.2.9 (FADT), 5.2.12 (MADT). */
#ifndef BASALT_X86_ACPI_H
#define BASALT_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "basalt/err.h"

/* Port-I/O registers of the hardware-reduced ACPI "sleep/reset" device. */
#define ACPI_SLEEP_CTRL_PORT 0x600   /* FADT SLEEP_CONTROL_REG (1 byte) */
#define ACPI_SLEEP_STATUS_PORT 0x601 /* FADT SLEEP_STATUS_REG (1 byte) */
#define ACPI_RESET_PORT 0x602        /* FADT RESET_REG (1 byte) */
#define ACPI_RESET_VALUE 0x1
#define ACPI_S5_SLP_TYP 5            /* \_S5_ package value */
/* Sleep control register bits (ACPI 6.4, 4.8.3.7): SLP_TYP 4:2, SLP_EN 5. */
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK 0x1c
#define ACPI_SLP_EN 0x20

/* Power button: the DSDT's Generic Event Device \_SB.GED0 (ACPI0013, ACPI
 * 6.5 section 5.6.9) has this GSI, edge-triggered, active-high; its _EVT
 * does Notify(\_SB.PWRB, 0x80) (PNP0C0C, "power button pressed"). */
#define ACPI_PWRBTN_GSI 10

#define IOAPIC_BASE 0xfec00000u
#define LAPIC_BASE 0xfee00000u

struct acpi_params {
	unsigned ncpus;          /* Local APIC ids 0..ncpus-1 */
	uint32_t ioapic_addr;
	unsigned sci_irq;        /* 9 */
	/* Optional PCI ECAM (MCFG) and, with it, the root bridge \_SB.PCI0
	 * in the DSDT whose _CRS gives buses 0..ecam_bus_end, the I/O ports
	 * other than 0xcf8-0xcff, and the memory windows below (size 0 =
	 * none) in which BARs may live.  ecam_base 0 = no PCI. */
	uint64_t ecam_base;
	uint8_t ecam_bus_end;
	uint64_t pci_mem32_base, pci_mem32_size;
	uint64_t pci_mem64_base, pci_mem64_size;
	unsigned pwrbtn_gsi;     /* 0 = no power button (GED) */
};

struct acpi_layout {
	uint64_t rsdp_gpa;       /* guest address of the RSDP */
	size_t size;             /* bytes used in the buffer */
};

/* Builds every table into buf (which the guest will see at buf_gpa).
 * RSDP first at buf_gpa (16-byte aligned), then the other tables.  All
 * checksums are filled.  Returns 0 or -ENOSPC. */
int acpi_build(void *buf, uint64_t buf_gpa, size_t buflen,
	       const struct acpi_params *p, struct acpi_layout *out,
	       struct bs_err *e);

/* Sum of bytes mod 256 (0 for a table with a correct checksum). */
uint8_t acpi_checksum(const void *p, size_t len);

/* AML PkgLength (ACPI 6.5, 20.2.4) for a package whose body, everything
 * after the PkgLength, is body_len bytes.  Writes 1..4 bytes to out and
 * returns how many, or 0 if the package is too large to encode. */
unsigned acpi_aml_pkglen(uint8_t out[4], size_t body_len);

#endif
