/* What sysfs says of a host PCI function to be passed through with kernel
 * VFIO, checked before anything is opened: it exists, is bound to
 * vfio-pci, has an IOMMU group, the group is viable (every other member
 * bound to vfio-pci or pci-stub, driverless, or a bridge), and the VFIO
 * device nodes are there and ours to open.
 *
 * root prefixes every path ("" on a real system); unit tests point it at a
 * fake tree, and so can the BASALT_SYSFS_ROOT environment variable (test
 * use only). */
#ifndef BASALT_VFIO_SYSFS_H
#define BASALT_VFIO_SYSFS_H

#include <stdbool.h>

#include "basalt/err.h"

struct vfio_sysfs_info {
	char bdf[16];                /* "0000:01:00.0" */
	int group;                   /* IOMMU group number */
	char cdev[80];               /* "/dev/vfio/devices/vfio3" or "" */
	char group_dev[48];          /* "/dev/vfio/12" */
};

/* path: /sys/bus/pci/devices/DDDD:BB:DD.F (or just DDDD:BB:DD.F).
 * Errors are one line, starting with what; -ENOENT, -ENODEV, -EBUSY
 * (wrong driver, group not viable), -EACCES. */
int vfio_sysfs_check(const char *root, const char *path, const char *what,
		     struct vfio_sysfs_info *out, struct bs_err *e);
/* BASALT_SYSFS_ROOT or "". */
const char *vfio_sysfs_root(void);

#endif
