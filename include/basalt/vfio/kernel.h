/* Kernel VFIO backend: a host PCI function bound to vfio-pci, as a
 * passthrough backend (pt.h).
 *
 * Two ways in, the newer preferred:
 *   iommufd + VFIO device cdev (Linux 6.6+, /dev/iommu and
 *     /dev/vfio/devices/vfioN): VFIO_DEVICE_BIND_IOMMUFD, an IOAS
 *     (IOMMU_IOAS_ALLOC), VFIO_DEVICE_ATTACH_IOMMUFD_PT; DMA mappings with
 *     IOMMU_IOAS_MAP at fixed IOVAs;
 *   the container/group interface: /dev/vfio/vfio with the type1 IOMMU
 *     (v2 when offered), the group /dev/vfio/N (refused unless the kernel
 *     calls it viable), VFIO_GROUP_GET_DEVICE_FD; VFIO_IOMMU_MAP_DMA.
 * Either way all guest RAM is mapped for DMA at its guest-physical
 * address (IOVA = GPA) before the guest runs; the pages stay pinned for
 * the VM's life (a balloon cannot give them back to the host).
 *
 * Region accesses are pread/pwrite on the device fd at the region's
 * offset; mmappable regions (or their sparse areas) are mmapped from it.
 * Closing the device fd (at teardown) makes vfio-pci disable and reset
 * the device. */
#ifndef BASALT_VFIO_KERNEL_H
#define BASALT_VFIO_KERNEL_H

#include "basalt/devices/pt.h"
#include "basalt/err.h"

/* path as in --device vfio=PATH; root as for vfio_sysfs_check. */
int vfio_kernel_open(void **out, const char *root, const char *path,
		     const char *name, struct bs_err *e);

extern const struct pt_backend_ops vfio_kernel_ops;

#endif
