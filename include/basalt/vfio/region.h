/* VFIO region information shared by the kernel VFIO and vfio-user
 * backends: the capability chain after a struct vfio_region_info (kernel
 * ioctl reply or vfio-user GET_REGION_INFO payload) and the mmappable
 * areas it describes (VFIO_REGION_INFO_CAP_SPARSE_MMAP). */
#ifndef BASALT_VFIO_REGION_H
#define BASALT_VFIO_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "basalt/devices/pt.h"

/* buf/len: the region info structure and what follows it, as received
 * (len = bytes actually there).  Fills ri->nareas/area from the sparse
 * mmap capability, or one area [0, size) when the region is mmappable and
 * has none.  The chain is hostile input: every offset is checked against
 * len, capabilities must follow one another (a loop ends the walk), at
 * most 16 are looked at, and areas outside the region are dropped.
 * Returns 0 or -EINVAL (malformed chain: no areas then). */
int vfio_region_parse(const uint8_t *buf, size_t len, struct pt_region_info *ri);

#endif
