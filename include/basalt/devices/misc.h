/* Small platform devices: the exit-status device, the hardware-reduced ACPI
 * sleep/reset registers, the i8042 reset line, and a sink for port 0x80. */
#ifndef BASALT_DEVICES_MISC_H
#define BASALT_DEVICES_MISC_H

#include <stdint.h>

#include "basalt/bus.h"
#include "basalt/vmctl.h"

/* Exit-status device: a one-byte write of v ends the VM and basalt exits
 * with status v (0..255).  Wider writes use the low byte.  Reads return 0. */
extern const struct bus_dev_ops exit_dev_ops;
/* ACPI sleep control (+0), status (+1), reset (+2): see x86/acpi.h. */
extern const struct bus_dev_ops acpi_pm_ops;
/* i8042 command port 0x64: 0xfe pulses the CPU reset line. */
extern const struct bus_dev_ops i8042_ops;
/* Port 0x80 (POST codes / io_delay): writes ignored. */
extern const struct bus_dev_ops port80_ops;

/* All four take a struct vm_ctl * as their device state. */

#endif
