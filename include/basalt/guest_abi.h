/* Contract between basalt (and QEMU) and the freestanding test guests in
 * tests/guests/.  Included by both sides, so it uses nothing but <stdint.h>.
 *
 * - Exit-status device: a one-byte write of V to GUEST_EXIT_PORT ends the VM.
 *   basalt exits with exactly V (README.md, "Exit status").  QEMU's
 *   `-device isa-debug-exit,iobase=0xf4,iosize=1` exits with (V << 1) | 1
 *   instead; GUEST_QEMU_STATUS() gives that value.  The guests' own verdict
 *   codes below stay under 128 so the QEMU status is unambiguous.
 * - Console: 16550 UART at COM1, polled (LSR.THRE), no interrupts.
 * - Boot: PVH (Xen's docs/misc/pvh.pandoc): ELF note "Xen" of type
 *   XEN_ELFNOTE_PHYS32_ENTRY holding the 32-bit physical entry point, which
 *   is entered in 32-bit protected mode, paging off, EBX = physical address
 *   of struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h).
 */
#ifndef BASALT_GUEST_ABI_H
#define BASALT_GUEST_ABI_H

#include <stdint.h>

#define GUEST_EXIT_PORT 0xf4
#define GUEST_COM1_PORT 0x3f8

/* Verdicts the test guests report through the exit port. */
#define GUEST_EXIT_PASS 0
#define GUEST_EXIT_FAIL 1
#define GUEST_EXIT_SURVIVED 99              /* triple_fault guest kept running */
#define GUEST_EXIT_UNEXPECTED_EXCEPTION 100 /* CPU exception with no handler */
#define GUEST_EXIT_UNEXPECTED_INTERRUPT 101 /* interrupt with no handler */
#define GUEST_EXIT_BAD_BOOT 102             /* missing/invalid hvm_start_info */
#define GUEST_EXIT_BAD_CMDLINE 103          /* malformed key=value argument */

/* Process exit status of QEMU's isa-debug-exit for a guest write of v. */
#define GUEST_QEMU_STATUS(v) ((((v) << 1) | 1) & 0xff)

/* basalt's ACPI power button: the DSDT's Generic Event Device (ACPI0013,
 * \_SB.GED0) has this edge-triggered, active-high GSI; `basalt ctl
 * shutdown` pulses it and its _EVT notifies \_SB.PWRB (PNP0C0C). */
#define GUEST_PWRBTN_GSI 10

/* Interrupt vectors the runtime and guests use. */
#define GUEST_TIMER_VECTOR 0x40             /* timer guest: LAPIC timer */
#define GUEST_PWRBTN_VECTOR 0x41            /* counter guest: power button */
#define GUEST_SPURIOUS_VECTOR 0xff          /* LAPIC SVR spurious vector */

/* PVH boot (Xen public/elfnote.h and public/arch-x86/hvm/start_info.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578u

struct hvm_start_info {
	uint32_t magic;          /* XEN_HVM_START_MAGIC_VALUE */
	uint32_t version;        /* 0: up to rsdp_paddr; 1: adds memmap */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;  /* struct hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr;  /* NUL-terminated ASCII, 0 = none */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;   /* version >= 1: hvm_memmap_table_entry[] */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;           /* E820 type: 1 = RAM, 2 = reserved, ... */
	uint32_t reserved;
};

#endif
