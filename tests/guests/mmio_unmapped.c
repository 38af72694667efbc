/* mmio_unmapped: reads and writes `addr=` (default 0xd0000000, inside the
 * 32-bit PCI MMIO window where no BAR lives) through the boot identity map
 * (uncached above 3 GiB).  Exit 0 if every read returned all-ones and the
 * writes did not stick, else 1.  `addr=` must be 2 MiB-aligned, below
 * 4 GiB minus 2 MiB. */
#include "lib/guest.h"
#include "lib/probe.h"

int guest_main(void)
{
	uint64_t addr = guest_cmdline_u64("addr", 0xd0000000);

	if ((addr & 0x1fffff) || addr > (4ull << 30) - (2ull << 20)) {
		guest_printf("mmio_unmapped: addr=0x%llx not a 2 MiB-aligned "
			     "address below 4 GiB\n", (unsigned long long)addr);
		return GUEST_EXIT_BAD_CMDLINE;
	}
	return guest_probe_unbacked("mmio_unmapped", addr) ? GUEST_EXIT_FAIL :
							     GUEST_EXIT_PASS;
}
