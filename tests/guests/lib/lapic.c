/* Local APIC in xAPIC mode (SDM vol. 3A ch. 10): registers are 32-bit MMIO
 * at GUEST_LAPIC_BASE + offset, reachable from CPL3 through the boot map.
 * The APIC is globally enabled at reset (IA32_APIC_BASE bit 11); the
 * runtime never touches that MSR. */
#include "guest.h"

#define SVR_ENABLE 0x100

uint32_t guest_lapic_read(unsigned reg)
{
	return mmio_read32(GUEST_LAPIC_BASE + (reg & 0xff0));
}

void guest_lapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(GUEST_LAPIC_BASE + (reg & 0xff0), v);
}

void guest_lapic_enable(void)
{
	guest_lapic_write(LAPIC_SVR, SVR_ENABLE | GUEST_SPURIOUS_VECTOR);
}

void guest_lapic_eoi(void)
{
	guest_lapic_write(LAPIC_EOI, 0);
}

/* Divide configuration register encoding (SDM figure 10-10): bits 3,1:0. */
static int divide_bits(unsigned divide)
{
	static const uint8_t enc[8] = { 0xb, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa };

	for (unsigned i = 0; i < 8; i++)
		if (divide == 1u << i)
			return enc[i];
	return -1;
}

int guest_lapic_timer_start(uint8_t vector, uint32_t count, unsigned divide,
			    bool periodic)
{
	int div = divide_bits(divide);

	if (div < 0 || vector < 32 || count == 0)
		return -GUEST_EINVAL;
	guest_lapic_write(LAPIC_TIMER_INITIAL, 0);
	guest_lapic_write(LAPIC_TIMER_DIVIDE, (uint32_t)div);
	guest_lapic_write(LAPIC_LVT_TIMER, vector | (periodic ? LAPIC_LVT_PERIODIC : 0));
	guest_lapic_write(LAPIC_TIMER_INITIAL, count);
	return 0;
}

void guest_lapic_timer_stop(void)
{
	guest_lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	guest_lapic_write(LAPIC_TIMER_INITIAL, 0);
}
