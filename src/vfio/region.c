/* VFIO region capability chains: see include/basalt/vfio/region.h. */
#include <errno.h>
#include <string.h>

#include <linux/vfio.h>

#include "basalt/vfio/region.h"

#define MAX_CAPS 16

static void add_area(struct pt_region_info *ri, uint64_t off, uint64_t size)
{
	if (!size || off >= ri->size || size > ri->size - off ||
	    ri->nareas == PT_MAX_AREAS)
		return;
	ri->area[ri->nareas++] = (struct pt_area){ off, size };
}

int vfio_region_parse(const uint8_t *buf, size_t len, struct pt_region_info *ri)
{
	struct vfio_region_info info;
	uint32_t at, prev = 0;
	bool sparse = false;

	ri->nareas = 0;
	if (len < sizeof(info))
		return -EINVAL;
	memcpy(&info, buf, sizeof(info));
	ri->size = info.size;
	ri->fd_offset = info.offset;
	ri->readable = info.flags & VFIO_REGION_INFO_FLAG_READ;
	ri->writable = info.flags & VFIO_REGION_INFO_FLAG_WRITE;
	at = (info.flags & VFIO_REGION_INFO_FLAG_CAPS) ? info.cap_offset : 0;
	for (unsigned n = 0; at && n < MAX_CAPS; n++) {
		struct vfio_info_cap_header h;

		if (at < sizeof(info) || at <= prev || at > len || len - at < sizeof(h))
			return -EINVAL;
		memcpy(&h, buf + at, sizeof(h));
		if (h.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			struct vfio_region_info_cap_sparse_mmap sm;
			size_t room;

			if (len - at < sizeof(sm))
				return -EINVAL;
			memcpy(&sm, buf + at, sizeof(sm));
			room = (len - at - sizeof(sm)) / sizeof(struct vfio_region_sparse_mmap_area);
			if (sm.nr_areas > room)
				return -EINVAL;
			sparse = true;
			for (uint32_t i = 0; i < sm.nr_areas; i++) {
				struct vfio_region_sparse_mmap_area a;

				memcpy(&a, buf + at + sizeof(sm) + i * sizeof(a), sizeof(a));
				add_area(ri, a.offset, a.size);
			}
		}
		prev = at;
		at = h.next;
	}
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		ri->nareas = 0;
		return 0;
	}
	if (!sparse)
		add_area(ri, 0, ri->size);
	return 0;
}
