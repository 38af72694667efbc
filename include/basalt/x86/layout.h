/* x86 guest-physical memory map.
 *
 *   0x0000_0000 - 0x0009_fbff  RAM (boot structures live here, see below)
 *   0x0009_fc00 - 0x000f_ffff  reserved (EBDA, VGA hole, BIOS area: ACPI
 *                              tables at 0xe0000 so a legacy RSDP scan works)
 *   0x0010_0000 - low_ram_end  RAM (kernel at 1 MiB)
 *   0xc000_0000 - 0xdfff_ffff  32-bit PCI MMIO window
 *   0xe000_0000 - 0xefff_ffff  PCI ECAM (reserved in e820)
 *   0xfec0_0000                I/O APIC,  0xfee0_0000  local APIC
 *   4 GiB       - high_ram_end RAM above the hole (when memory > 3 GiB)
 *   mmio64_base - ...          64-bit PCI MMIO window (1 GiB aligned, after RAM)
 */
#ifndef BASALT_X86_LAYOUT_H
#define BASALT_X86_LAYOUT_H

#include <stdint.h>

#include "basalt/err.h"
#include "basalt/guest_mem.h"

#define X86_EBDA_START 0x9fc00ull
#define X86_HIGH_MEM_START 0x100000ull
#define X86_PCI_HOLE_START 0xc0000000ull
#define X86_MMIO32_START 0xc0000000ull
#define X86_MMIO32_SIZE 0x20000000ull
#define X86_ECAM_BASE 0xe0000000ull
#define X86_ECAM_SIZE 0x10000000ull
#define X86_4G 0x100000000ull
/* Size of the 64-bit PCI window at mmio64_base: room for several
 * multi-GiB BARs (GPUs) while staying far below a 40-bit (1 TiB)
 * guest-physical address width. */
#define X86_MMIO64_SIZE (256ull << 30)

/* Fixed low-memory boot structures (all below the EBDA). */
#define X86_BOOT_GDT 0x500ull
#define X86_PVH_START_INFO 0x6000ull     /* hvm_start_info + modlist */
#define X86_PVH_MEMMAP 0x6400ull
#define X86_ZERO_PAGE 0x7000ull          /* struct boot_params */
#define X86_BOOT_PML4 0x9000ull
#define X86_BOOT_PDPT 0xa000ull
#define X86_BOOT_PD 0xb000ull            /* 4 pages: identity 0..4 GiB */
#define X86_BOOT_CMDLINE 0x20000ull
#define X86_BOOT_CMDLINE_MAX 0x10000u
#define X86_ACPI_BASE 0xe0000ull
#define X86_ACPI_SIZE 0x20000ull

#define E820_RAM 1
#define E820_RESERVED 2
#define X86_MAX_E820 16

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

struct x86_layout {
	uint64_t mem;            /* total RAM bytes */
	uint64_t low_ram_end;    /* end of RAM below the PCI hole */
	uint64_t high_ram_end;   /* end of RAM above 4 GiB (0 if none) */
	uint64_t mmio64_base;
	unsigned ne820;
	struct e820_entry e820[X86_MAX_E820];
};

/* Computes the map for mem bytes of RAM (>= 2 MiB).  Pure: unit-tested. */
int x86_layout_compute(uint64_t mem, struct x86_layout *l, struct bs_err *e);
/* Adds the RAM regions of l to gm (which holds l->mem bytes). */
int x86_layout_apply(const struct x86_layout *l, struct guest_mem *gm,
		     struct bs_err *e);

#endif
