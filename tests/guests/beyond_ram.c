/* beyond_ram: maps `addr=` (default 64 GiB, far beyond any test VM's RAM)
 * with guest_map_phys() at CPL0 and reads and writes it from ring 3.  Exit
 * 0 if every read returned all-ones and the writes did not stick, else 1.
 * `addr=` must be 2 MiB-aligned and at or above 4 GiB (below it the boot
 * map already covers RAM and MMIO). */
#include "lib/guest.h"
#include "lib/probe.h"

static uint64_t addr;
static int map_err;

void guest_ring0_init(void)
{
	addr = guest_cmdline_u64("addr", 64ull << 30);
	if ((addr & 0x1fffff) || addr < (4ull << 30))
		return;
	map_err = guest_map_phys(addr, 2ull << 20, GUEST_MAP_UNCACHED);
}

int guest_main(void)
{
	if ((addr & 0x1fffff) || addr < (4ull << 30)) {
		guest_printf("beyond_ram: addr=0x%llx not 2 MiB-aligned at or "
			     "above 4 GiB\n", (unsigned long long)addr);
		return GUEST_EXIT_BAD_CMDLINE;
	}
	if (map_err) {
		guest_printf("beyond_ram: cannot map 0x%llx (error %d, MAXPHYADDR %u)\n",
			     (unsigned long long)addr, map_err, guest_maxphyaddr());
		return GUEST_EXIT_FAIL;
	}
	return guest_probe_unbacked("beyond_ram", addr) ? GUEST_EXIT_FAIL :
							  GUEST_EXIT_PASS;
}
