/* cpuid: checks the CPUID values the VMM presents for `cpus=N` (default 1):
 *  - CPUID.1:ECX[31] (hypervisor present) set;
 *  - leaf 0x40000000 present, its 12-byte signature printed (and equal to
 *    `sig=...` if given);
 *  - logical processors per package (CPUID.1:EBX[23:16] when EDX.HTT,
 *    else 1) == N;
 *  - leaf 0xB (SDM vol. 2A, "Extended Topology Enumeration"): level 0 is
 *    SMT, level 1 is core with N logical processors and a shift that fits
 *    N, level 2 invalid; x2APIC id 0;
 *  - initial APIC id CPUID.1:EBX[31:24] == 0 and LAPIC ID register == 0
 *    (this runs on the BSP).
 * The CPUID instructions run at CPL0 in guest_ring0_init: on PVM hosts a
 * ring-3 cpuid returns the host's values.  Exit 0 if all hold, else 1. */
#include "lib/guest.h"

static struct cpuid_regs leaf0, leaf1, hv, topo[3];

void guest_ring0_init(void)
{
	leaf0 = cpuid(0, 0);
	leaf1 = cpuid(1, 0);
	hv = cpuid(0x40000000, 0);
	if (leaf0.eax >= 0xb)
		for (unsigned i = 0; i < 3; i++)
			topo[i] = cpuid(0xb, i);
}

static unsigned failures;

static void check(bool ok, const char *what)
{
	guest_printf("cpuid: %s: %s\n", what, ok ? "ok" : "FAIL");
	if (!ok)
		failures++;
}

int guest_main(void)
{
	uint64_t cpus = guest_cmdline_u64("cpus", 1);
	const char *want_sig = guest_cmdline_get("sig");
	char sig[13];
	unsigned lp, apic_id, lapic_id;

	memcpy(sig, &hv.ebx, 4);
	memcpy(sig + 4, &hv.ecx, 4);
	memcpy(sig + 8, &hv.edx, 4);
	sig[12] = 0;
	for (unsigned i = 0; i < 12 && sig[i]; i++)
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '?';
	lp = leaf1.edx & (1u << 28) ? (leaf1.ebx >> 16) & 0xff : 1;
	apic_id = leaf1.ebx >> 24;
	lapic_id = guest_lapic_read(LAPIC_ID) >> 24;

	guest_printf("cpuid: max basic leaf 0x%x, leaf 1 ebx 0x%08x ecx 0x%08x "
		     "edx 0x%08x\n", leaf0.eax, leaf1.ebx, leaf1.ecx, leaf1.edx);
	guest_printf("cpuid: hypervisor leaf max 0x%x signature \"%s\"\n",
		     hv.eax, sig);
	guest_printf("cpuid: cpus=%llu logical processors %u, initial APIC id %u, "
		     "LAPIC id %u\n", (unsigned long long)cpus, lp, apic_id, lapic_id);
	for (unsigned i = 0; i < 3; i++)
		guest_printf("cpuid: leaf 0xb.%u eax 0x%x ebx 0x%x ecx 0x%x edx 0x%x\n",
			     i, topo[i].eax, topo[i].ebx, topo[i].ecx, topo[i].edx);

	check(leaf1.ecx & (1u << 31), "hypervisor bit CPUID.1:ECX[31]");
	check(hv.eax >= 0x40000000 && hv.eax < 0x40010000 && sig[0],
	      "hypervisor leaf 0x40000000");
	if (want_sig)
		check(!strcmp(sig, want_sig), "hypervisor signature matches sig=");
	check(cpus >= 1 && lp == cpus, "logical processor count CPUID.1:EBX[23:16]");
	check(apic_id == 0, "initial APIC id 0");
	check(lapic_id == 0, "LAPIC ID register 0");
	if (leaf0.eax < 0xb) {
		check(false, "leaf 0xB present");
	} else {
		check(((topo[0].ecx >> 8) & 0xff) == 1 && (topo[0].ecx & 0xff) == 0 &&
		      (topo[0].ebx & 0xffff) == 1,
		      "leaf 0xB level 0: SMT, 1 thread per core");
		check(((topo[1].ecx >> 8) & 0xff) == 2 && (topo[1].ecx & 0xff) == 1 &&
		      (topo[1].ebx & 0xffff) == cpus &&
		      (topo[1].eax & 0x1f) < 32 && (1ull << (topo[1].eax & 0x1f)) >= cpus,
		      "leaf 0xB level 1: core, cpus= logical processors");
		check(((topo[2].ecx >> 8) & 0xff) == 0,
		      "leaf 0xB level 2: invalid (end of list)");
		check(topo[0].edx == 0 && topo[1].edx == 0, "leaf 0xB x2APIC id 0");
	}
	guest_printf("cpuid: %s\n", failures ? "FAILED" : "all checks passed");
	return failures ? GUEST_EXIT_FAIL : GUEST_EXIT_PASS;
}
