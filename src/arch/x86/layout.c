#include <string.h>

#include "basalt/x86/layout.h"

static void add_e820(struct x86_layout *l, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	l->e820[l->ne820++] = (struct e820_entry){ addr, size, type };
}

int x86_layout_compute(uint64_t mem, struct x86_layout *l, struct bs_err *e)
{
	uint64_t low, high;

	memset(l, 0, sizeof(*l));
	if (mem < (2ull << 20))
		return bs_errf(e, EINVAL, "memory: %llu bytes is too small",
			       (unsigned long long)mem);
	low = mem < X86_PCI_HOLE_START ? mem : X86_PCI_HOLE_START;
	high = mem - low;
	l->mem = mem;
	l->low_ram_end = low;
	l->high_ram_end = high ? X86_4G + high : 0;
	/* 64-bit PCI window starts at the next 1 GiB boundary past RAM (at
	 * least 4 GiB) so multi-GiB BARs can be naturally aligned within it. */
	l->mmio64_base = ((high ? X86_4G + high : X86_4G) + (1ull << 30) - 1) &
			 ~((1ull << 30) - 1);

	add_e820(l, 0, X86_EBDA_START, E820_RAM);
	add_e820(l, X86_EBDA_START, X86_HIGH_MEM_START - X86_EBDA_START,
		 E820_RESERVED);
	add_e820(l, X86_HIGH_MEM_START, low - X86_HIGH_MEM_START, E820_RAM);
	add_e820(l, X86_ECAM_BASE, X86_ECAM_SIZE, E820_RESERVED);
	if (high)
		add_e820(l, X86_4G, high, E820_RAM);
	return 0;
}

int x86_layout_apply(const struct x86_layout *l, struct guest_mem *gm,
		     struct bs_err *e)
{
	int r;

	/* The low region includes the EBDA/BIOS area: it is backed by RAM (the
	 * ACPI tables live there) but reported reserved in e820. */
	r = gm_add_region(gm, 0, l->low_ram_end, e);
	if (r == 0 && l->high_ram_end)
		r = gm_add_region(gm, X86_4G, l->high_ram_end - X86_4G, e);
	return r;
}
