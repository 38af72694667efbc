/* timer: LAPIC timer in periodic mode on vector GUEST_TIMER_VECTOR (0x40);
 * ring 3 spins until `count=N` (default 20) interrupts arrived or
 * `timeout_mcycles=M` (default 10000, ~3 s at 3 GHz) million TSC cycles
 * passed.  `period=T` sets the initial count (default 62500: 1 ms at the
 * 1 GHz APIC bus clock KVM and QEMU model, divide by 16).  Prints the
 * count; exit 0 if it reached N, else 1. */
#include "lib/guest.h"

static volatile uint64_t ticks;

static void on_timer(struct guest_trap_frame *f)
{
	(void)f;
	ticks++;
	guest_lapic_eoi();
}

int guest_main(void)
{
	uint64_t want = guest_cmdline_u64("count", 20);
	uint64_t budget = guest_cmdline_u64("timeout_mcycles", 10000);
	uint64_t period = guest_cmdline_u64("period", 62500);
	uint64_t start, elapsed;
	uint64_t got;

	if (period == 0 || period > 0xffffffff || budget > (UINT64_MAX / 1000000)) {
		guest_printf("timer: period=%llu or timeout_mcycles=%llu out of range\n",
			     (unsigned long long)period, (unsigned long long)budget);
		return GUEST_EXIT_BAD_CMDLINE;
	}
	budget *= 1000000;
	guest_trap_register(GUEST_TIMER_VECTOR, on_timer);
	guest_lapic_enable();
	if (guest_lapic_timer_start(GUEST_TIMER_VECTOR, (uint32_t)period, 16, true)) {
		guest_puts("timer: cannot program the LAPIC timer");
		return GUEST_EXIT_FAIL;
	}
	start = rdtsc();
	while (ticks < want && rdtsc() - start < budget)
		cpu_relax();
	elapsed = rdtsc() - start;
	guest_lapic_timer_stop();
	got = ticks;
	guest_printf("timer: %llu interrupts in %llu TSC cycles (wanted %llu)\n",
		     (unsigned long long)got, (unsigned long long)elapsed,
		     (unsigned long long)want);
	return got >= want ? GUEST_EXIT_PASS : GUEST_EXIT_FAIL;
}
