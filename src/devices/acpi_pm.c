/* Hardware-reduced ACPI sleep and reset registers (ACPI 6.4 sections
 * 4.8.3.7 "Sleep Control and Status Registers" and 4.8.3.6 "Reset
 * Register").  The guest writes SLP_TYP(\_S5_) | SLP_EN to power off. */
#include <string.h>

#include "basalt/devices/misc.h"
#include "basalt/exitcode.h"
#include "basalt/x86/acpi.h"

static void acpi_pm_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev;
	(void)off;
	/* Sleep status: WAK_STS (bit 7) never set; we never resume. */
	memset(data, 0, len);
}

static void acpi_pm_write(void *dev, uint64_t off, const void *data,
			  unsigned len)
{
	uint8_t v = *(const uint8_t *)data;

	(void)len;
	if (off == ACPI_SLEEP_CTRL_PORT - ACPI_SLEEP_CTRL_PORT) {
		unsigned typ = (v & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT;

		if ((v & ACPI_SLP_EN) && typ == ACPI_S5_SLP_TYP)
			vm_ctl_stop(dev, BS_EXIT_POWEROFF, "guest powered off (ACPI S5)");
	} else if (off == ACPI_RESET_PORT - ACPI_SLEEP_CTRL_PORT &&
		   v == ACPI_RESET_VALUE) {
		vm_ctl_stop(dev, BS_EXIT_RESET, "guest reset (ACPI reset register)");
	}
}

const struct bus_dev_ops acpi_pm_ops = {
	.name = "acpi-pm",
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};
