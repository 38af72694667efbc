/* counter: counts in ring 3 and prints `counter: N` every `period=` TSC
 * cycles (default 50,000,000: some 20 ms), for the host's pause/resume
 * test (a paused VM must print nothing).  `lines=N` exits 0 after N lines
 * (default 0: count forever).
 *
 * With `pwrbtn=1` it also checks that the DSDT holds basalt's power button
 * (a Generic Event Device, "ACPI0013"), routes that device's interrupt
 * (GSI GUEST_PWRBTN_GSI, edge, active-high) through the I/O APIC to vector
 * GUEST_PWRBTN_VECTOR and, when the button is pressed (`basalt ctl
 * shutdown`), prints `counter: power button` and powers off through the
 * ACPI sleep control register (S5): basalt exits 0.  Exit 1 if the DSDT
 * has no such device. */
#include "lib/guest.h"

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define FADT_X_DSDT 140          /* ACPI 6.5 table 5.9 */
#define ACPI_SLEEP_CTRL 0x600    /* basalt's FADT SLEEP_CONTROL_REG */
#define SLP_S5 (5 << 2 | 1 << 5) /* SLP_TYP 5 (\_S5_), SLP_EN */

static volatile bool pressed;

static void on_button(struct guest_trap_frame *f)
{
	(void)f;
	pressed = true;
	guest_lapic_eoi();
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

static bool dsdt_has_ged(void)
{
	uint64_t fadt = guest_acpi_find("FACP"), dsdt;
	const char *t;
	uint32_t len;

	if (!fadt)
		return false;
	memcpy(&dsdt, (const void *)(uintptr_t)(fadt + FADT_X_DSDT), 8);
	if (!dsdt || dsdt >= (3ull << 30))
		return false;
	t = (const char *)(uintptr_t)dsdt;
	memcpy(&len, t + 4, 4);
	if (memcmp(t, "DSDT", 4) || len > (1u << 20))
		return false;
	for (uint32_t i = 36; i + 8 <= len; i++)
		if (!memcmp(t + i, "ACPI0013", 8))
			return true;
	return false;
}

int guest_main(void)
{
	uint64_t period = guest_cmdline_u64("period", 50000000);
	uint64_t lines = guest_cmdline_u64("lines", 0);
	bool pwrbtn = guest_cmdline_u64("pwrbtn", 0);
	uint64_t count = 0, printed = 0, last;

	if (pwrbtn) {
		if (!dsdt_has_ged()) {
			guest_puts("counter: no ACPI0013 power button device in the DSDT");
			return GUEST_EXIT_FAIL;
		}
		guest_trap_register(GUEST_PWRBTN_VECTOR, on_button);
		guest_lapic_enable();
		ioapic_write(IOAPIC_REDTBL(GUEST_PWRBTN_GSI) + 1, 0);	/* APIC id 0 */
		ioapic_write(IOAPIC_REDTBL(GUEST_PWRBTN_GSI), GUEST_PWRBTN_VECTOR);
		guest_puts("counter: power button armed");
	}
	last = rdtsc();
	for (;;) {
		count++;
		if (pressed) {
			guest_puts("counter: power button");
			guest_serial_flush();
			outb(ACPI_SLEEP_CTRL, SLP_S5);
			guest_puts("counter: still running after S5");
			return GUEST_EXIT_FAIL;
		}
		if (rdtsc() - last < period)
			continue;
		last = rdtsc();
		guest_printf("counter: %llu\n", (unsigned long long)count);
		if (lines && ++printed == lines)
			return GUEST_EXIT_PASS;
	}
}
