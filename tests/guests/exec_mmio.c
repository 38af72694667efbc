/* exec_mmio: jumps to `addr=` (default 0xd0000000: the PCI hole, no RAM
 * and no device) at CPL 0, from the ring-0 init hook.  KVM cannot fetch
 * instructions from MMIO; at CPL 0 it stops the vCPU with
 * KVM_EXIT_INTERNAL_ERROR (emulation), which basalt must report with RIP and
 * bytes and turn into its emulation-failure status (5), never crash.  (At
 * CPL 3 KVM injects #UD instead, so the jump must happen in ring 0.)  If the
 * jump somehow returns, exit 1. */
#include "lib/guest.h"

void guest_ring0_init(void)
{
	uint64_t addr = guest_cmdline_u64("addr", 0xd0000000);
	void (*fn)(void) = (void (*)(void))(uintptr_t)addr;

	guest_printf("exec_mmio: jumping to 0x%llx at CPL 0\n",
		     (unsigned long long)addr);
	fn();
}

int guest_main(void)
{
	guest_printf("exec_mmio: survived\n");
	return GUEST_EXIT_FAIL;
}
