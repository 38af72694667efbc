/* Just enough of the i8042 keyboard controller for the PC reset idiom:
 * command 0xfe written to port 0x64 pulses the reset line.  The status
 * register reads 0 (input/output buffers empty), so drivers waiting for
 * the controller never spin. */
#include <string.h>

#include "basalt/devices/misc.h"
#include "basalt/exitcode.h"

#define I8042_CMD_RESET 0xfe

static void i8042_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
}

static void i8042_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)off;
	(void)len;
	if (*(const uint8_t *)data == I8042_CMD_RESET)
		vm_ctl_stop(dev, BS_EXIT_RESET, "guest reset (i8042 reset line)");
}

const struct bus_dev_ops i8042_ops = {
	.name = "i8042",
	.read = i8042_read,
	.write = i8042_write,
};
