/* Loading a guest kernel without firmware.
 *
 * - bzImage: Linux x86 boot protocol (Documentation/arch/x86/boot.rst), the
 *   64-bit entry only: protected-mode part loaded at 1 MiB, RIP = 1 MiB +
 *   0x200, RSI = zero page, long mode with an identity map set up by us.  The
 *   16-bit real-mode entry is never used (it costs minutes under emulation).
 * - ELF (vmlinux or a test guest): PT_LOAD segments at their physical
 *   addresses.  With a PVH note (Xen ELF note 18, XEN_ELFNOTE_PHYS32_ENTRY)
 *   the PVH entry is used (32-bit protected mode, EBX = hvm_start_info);
 *   otherwise the Linux 64-bit entry at e_entry with a zero page.
 * - initrd: placed page-aligned at the top of low RAM, under the kernel's
 *   initrd_addr_max, and never overlapping the kernel. */
#ifndef BASALT_X86_BOOT_H
#define BASALT_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basalt/err.h"
#include "basalt/guest_mem.h"
#include "basalt/x86/layout.h"

enum boot_entry { BOOT_ENTRY_LINUX64, BOOT_ENTRY_PVH };
enum kernel_format { KERNEL_BZIMAGE, KERNEL_ELF };

/* The parts of the bzImage setup header we use (boot.rst, "The Real-Mode
 * Kernel Header"). */
struct bzimage_info {
	uint16_t version;         /* protocol version, e.g. 0x020f */
	uint8_t setup_sects;
	uint32_t syssize;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	bool relocatable;
	uint32_t cmdline_size;
	uint32_t init_size;
	uint64_t pref_address;
	size_t setup_size;        /* bytes of the real-mode part incl. boot sector */
	size_t header_end;        /* end offset of the setup header in the file */
};

struct boot_result {
	enum kernel_format format;
	enum boot_entry entry_kind;
	uint64_t entry;           /* RIP (64-bit) or EIP (PVH) */
	uint64_t boot_arg;        /* RSI = zero page, or EBX = start_info */
	uint64_t kernel_start, kernel_end;
	uint64_t initrd_start, initrd_size;
	bool is_linux;            /* a Linux kernel (cmdline quirks apply) */
};

struct boot_params_in {
	const char *kernel_path;
	const char *initrd_path;  /* may be NULL */
	const char *cmdline;      /* may be NULL */
	uint64_t rsdp_gpa;
};

/* Parses a bzImage header from the first bytes of the file.  Returns 0,
 * -ENOEXEC if it is not a bzImage, -ENOTSUP if it has no 64-bit entry. */
int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage_info *bi,
		  struct bs_err *e);
/* End of the memory the kernel uses while decompressing itself. */
uint64_t bzimage_init_end(const struct bzimage_info *bi, size_t pm_size);
/* Fills a 4 KiB zero page (struct boot_params) for the 64-bit entry. */
void bzimage_fill_zero_page(uint8_t *zp, const uint8_t *kernel, size_t klen,
			    const struct bzimage_info *bi,
			    const struct x86_layout *l, uint64_t cmdline_gpa,
			    uint32_t cmdline_len, uint64_t initrd_gpa,
			    uint64_t initrd_size, uint64_t rsdp_gpa);

/* Loads kernel + initrd + cmdline into guest memory and writes the boot
 * structures (zero page or PVH start_info, page tables, GDT). */
int x86_load_kernel(struct guest_mem *gm, const struct x86_layout *l,
		    const struct boot_params_in *in, struct boot_result *out,
		    struct bs_err *e);

/* Writes GDT + identity page tables (0..4 GiB, 2 MiB pages) used by the
 * 64-bit entry.  Exposed for unit tests. */
int x86_write_boot_pagetables(struct guest_mem *gm);

#endif
