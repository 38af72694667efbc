#include <stdio.h>
#include <string.h>

#include "basalt/devices/misc.h"

static void exit_dev_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
}

static void exit_dev_write(void *dev, uint64_t off, const void *data,
			   unsigned len)
{
	uint8_t v = *(const uint8_t *)data;   /* little endian: low byte */
	char why[64];

	(void)off;
	(void)len;
	snprintf(why, sizeof(why), "guest wrote %u to the exit device", v);
	vm_ctl_stop(dev, v, why);
}

const struct bus_dev_ops exit_dev_ops = {
	.name = "exit-device",
	.read = exit_dev_read,
	.write = exit_dev_write,
};

static void port80_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)dev;
	(void)off;
	(void)data;
	(void)len;
}

const struct bus_dev_ops port80_ops = {
	.name = "port80",
	.read = exit_dev_read,
	.write = port80_write,
};
