/* Kernel VFIO backend: see include/basalt/vfio/kernel.h.  Written against
 * the Linux VFIO uapi (<linux/vfio.h>, Documentation/driver-api/vfio.rst);
 * the iommufd/cdev structures are not in Debian 12's headers and are
 * declared here as the kernel's uapi defines them (linux/iommufd.h and
 * linux/vfio.h of 6.6). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "basalt/log.h"
#include "basalt/vfio/kernel.h"
#include "basalt/vfio/region.h"
#include "basalt/vfio/sysfs.h"

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	uint32_t argsz, flags;
	int32_t iommufd;
	uint32_t out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
struct vfio_device_attach_iommufd_pt {
	uint32_t argsz, flags, pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#define IOMMUFD_TYPE ';'
struct iommu_ioas_alloc {
	uint32_t size, flags, out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
struct iommu_ioas_map {
	uint32_t size, flags, ioas_id, reserved;
	uint64_t user_va, length, iova;
};
#define IOMMU_IOAS_MAP_FIXED_IOVA (1u << 0)
#define IOMMU_IOAS_MAP_WRITEABLE (1u << 1)
#define IOMMU_IOAS_MAP_READABLE (1u << 2)
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, 0x85)

#define NUM_IRQ_KINDS 5
#define INFO_MAX 65536

struct vfk {
	int container, group, iommufd, device;
	uint32_t ioas;
	struct vfio_device_info info;
	uint64_t region_off[VFIO_PCI_NUM_REGIONS];
	uint64_t region_size[VFIO_PCI_NUM_REGIONS];
	uint32_t irq_count[NUM_IRQ_KINDS];
	struct vfio_irq_set *irq_set;        /* preallocated: vCPU threads use it */
	char name[32], bdf[16];
};

#define MAX_VECTORS 2048

static void vfk_destroy(void *b)
{
	struct vfk *k = b;

	if (!k)
		return;
	/* Device first: its release resets the function and ends DMA. */
	if (k->device >= 0)
		close(k->device);
	if (k->group >= 0)
		close(k->group);
	if (k->container >= 0)
		close(k->container);
	if (k->iommufd >= 0)
		close(k->iommufd);
	free(k->irq_set);
	free(k);
}

static int open_rw(const char *root, const char *path, struct bs_err *e, const char *name)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s%s", root, path);
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return bs_errf(e, errno, "%s: %s: %s", name, path, strerror(errno));
	return fd;
}

/* iommufd + cdev (VFIO "device cdev", Documentation/driver-api/vfio.rst). */
static int open_cdev(struct vfk *k, const char *root, const char *cdev, struct bs_err *e)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

	k->iommufd = open_rw(root, "/dev/iommu", e, k->name);
	if (k->iommufd < 0)
		return k->iommufd;
	k->device = open_rw(root, cdev, e, k->name);
	if (k->device < 0)
		return k->device;
	bind.iommufd = k->iommufd;
	if (ioctl(k->device, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return bs_errf(e, errno, "%s: VFIO_DEVICE_BIND_IOMMUFD: %s", k->name,
			       strerror(errno));
	if (ioctl(k->iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0)
		return bs_errf(e, errno, "%s: IOMMU_IOAS_ALLOC: %s", k->name, strerror(errno));
	k->ioas = alloc.out_ioas_id;
	at.pt_id = k->ioas;
	if (ioctl(k->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) < 0)
		return bs_errf(e, errno, "%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT: %s", k->name,
			       strerror(errno));
	log_info("%s: %s through iommufd (%s, IOAS %u)", k->name, k->bdf, cdev, k->ioas);
	return 0;
}

/* Container + group with the type1 IOMMU (vfio.rst, "VFIO Usage Example"). */
static int open_group(struct vfk *k, const char *root, const char *group_dev,
		      struct bs_err *e)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	unsigned long type;

	k->container = open_rw(root, "/dev/vfio/vfio", e, k->name);
	if (k->container < 0)
		return k->container;
	if (ioctl(k->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return bs_errf(e, ENOTSUP, "%s: /dev/vfio/vfio: unknown VFIO API version",
			       k->name);
	if (ioctl(k->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0)
		type = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(k->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0)
		type = VFIO_TYPE1_IOMMU;
	else
		return bs_errf(e, ENOTSUP, "%s: the host's VFIO offers no type1 IOMMU",
			       k->name);
	k->group = open_rw(root, group_dev, e, k->name);
	if (k->group < 0)
		return k->group;
	if (ioctl(k->group, VFIO_GROUP_GET_STATUS, &st) < 0)
		return bs_errf(e, errno, "%s: VFIO_GROUP_GET_STATUS: %s", k->name,
			       strerror(errno));
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return bs_errf(e, EBUSY, "%s: IOMMU group %s is not viable: every device in "
			       "it must be bound to vfio-pci (or unbound)", k->name, group_dev);
	if (ioctl(k->group, VFIO_GROUP_SET_CONTAINER, &k->container) < 0)
		return bs_errf(e, errno, "%s: VFIO_GROUP_SET_CONTAINER: %s", k->name,
			       strerror(errno));
	if (ioctl(k->container, VFIO_SET_IOMMU, type) < 0)
		return bs_errf(e, errno, "%s: VFIO_SET_IOMMU: %s", k->name, strerror(errno));
	k->device = ioctl(k->group, VFIO_GROUP_GET_DEVICE_FD, k->bdf);
	if (k->device < 0)
		return bs_errf(e, errno, "%s: VFIO_GROUP_GET_DEVICE_FD %s: %s", k->name,
			       k->bdf, strerror(errno));
	log_info("%s: %s through VFIO group %s (type1%s IOMMU)", k->name, k->bdf,
		 group_dev, type == VFIO_TYPE1v2_IOMMU ? "v2" : "");
	return 0;
}

static int read_info(struct vfk *k, struct bs_err *e)
{
	k->info.argsz = sizeof(k->info);
	if (ioctl(k->device, VFIO_DEVICE_GET_INFO, &k->info) < 0)
		return bs_errf(e, errno, "%s: VFIO_DEVICE_GET_INFO: %s", k->name, strerror(errno));
	if (!(k->info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    k->info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return bs_errf(e, ENODEV, "%s: %s is not a vfio-pci device", k->name, k->bdf);
	for (unsigned i = 0; i < VFIO_PCI_NUM_REGIONS && i < k->info.num_regions; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };

		if (ioctl(k->device, VFIO_DEVICE_GET_REGION_INFO, &ri) == 0) {
			k->region_off[i] = ri.offset;
			k->region_size[i] = ri.size;
		}
	}
	for (unsigned i = 0; i < NUM_IRQ_KINDS && i < k->info.num_irqs; i++) {
		struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = i };

		if (ioctl(k->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) == 0 &&
		    (ii.flags & VFIO_IRQ_INFO_EVENTFD))
			k->irq_count[i] = ii.count;
	}
	return 0;
}

int vfio_kernel_open(void **out, const char *root, const char *path,
		     const char *name, struct bs_err *e)
{
	struct vfio_sysfs_info si;
	struct vfk *k;
	int r;

	*out = NULL;
	r = vfio_sysfs_check(root, path, name, &si, e);
	if (r)
		return r;
	k = calloc(1, sizeof(*k));
	if (k)
		k->irq_set = calloc(1, sizeof(*k->irq_set) + MAX_VECTORS * sizeof(int32_t));
	if (!k || !k->irq_set) {
		free(k);
		return bs_errf(e, ENOMEM, "%s: out of memory", name);
	}
	k->container = k->group = k->iommufd = k->device = -1;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->bdf, sizeof(k->bdf), "%s", si.bdf);
	r = si.cdev[0] ? open_cdev(k, root, si.cdev, e) : open_group(k, root, si.group_dev, e);
	if (!r)
		r = read_info(k, e);
	if (r) {
		vfk_destroy(k);
		return r;
	}
	*out = k;
	return 0;
}

/* ---- backend operations ------------------------------------------------------ */

static int vfk_region_info(void *b, unsigned idx, struct pt_region_info *ri,
			   struct bs_err *e)
{
	struct vfk *k = b;
	uint32_t want = sizeof(struct vfio_region_info) + 1024;
	struct vfio_region_info *info = NULL;
	int r;

	memset(ri, 0, sizeof(*ri));
	ri->fd = -1;
	if (idx >= k->info.num_regions)
		return 0;
	for (;;) {
		struct vfio_region_info *ni = realloc(info, want);

		if (!ni) {
			free(info);
			return bs_errf(e, ENOMEM, "%s: out of memory", k->name);
		}
		info = ni;
		memset(info, 0, want);
		info->argsz = want;
		info->index = idx;
		if (ioctl(k->device, VFIO_DEVICE_GET_REGION_INFO, info) < 0) {
			r = errno;
			free(info);
			/* VGA and other optional regions may simply not exist. */
			return r == EINVAL ? 0 : bs_errf(e, r, "%s: region %u info: %s",
							 k->name, idx, strerror(r));
		}
		if (info->argsz <= want || info->argsz > INFO_MAX)
			break;
		want = info->argsz;
	}
	r = vfio_region_parse((const uint8_t *)info, want, ri);
	free(info);
	if (r)
		return bs_errf(e, EPROTO, "%s: region %u: malformed capability chain",
			       k->name, idx);
	ri->fd = ri->nareas ? k->device : -1;
	return 0;
}

static unsigned vfk_irq_count(void *b, unsigned idx)
{
	struct vfk *k = b;

	return idx < NUM_IRQ_KINDS ? k->irq_count[idx] : 0;
}

static int vfk_rw(struct vfk *k, unsigned region, uint64_t off, void *data,
		  unsigned len, bool write)
{
	ssize_t n;

	if (region >= VFIO_PCI_NUM_REGIONS || off >= k->region_size[region] ||
	    len > k->region_size[region] - off)
		return -EINVAL;
	n = write ? pwrite(k->device, data, len, (off_t)(k->region_off[region] + off)) :
		    pread(k->device, data, len, (off_t)(k->region_off[region] + off));
	if (n < 0)
		return -errno;
	return (unsigned)n == len ? 0 : -EIO;
}

static int vfk_read(void *b, unsigned region, uint64_t off, void *data, unsigned len)
{
	return vfk_rw(b, region, off, data, len, false);
}

static int vfk_write(void *b, unsigned region, uint64_t off, const void *data,
		     unsigned len)
{
	return vfk_rw(b, region, off, (void *)data, len, true);
}

static int vfk_set_irqs(void *b, unsigned idx, unsigned start, unsigned count,
			const int *fds)
{
	struct vfk *k = b;
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
	struct vfio_irq_set *s = k->irq_set;

	if (count > MAX_VECTORS)
		return -EINVAL;
	memset(s, 0, sz);
	s->argsz = (uint32_t)sz;
	s->index = idx;
	s->start = start;
	s->count = count;
	s->flags = VFIO_IRQ_SET_ACTION_TRIGGER |
		   (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	if (count)
		memcpy(s->data, fds, count * sizeof(int32_t));
	return ioctl(k->device, VFIO_DEVICE_SET_IRQS, s) < 0 ? -errno : 0;
}

static int vfk_reset(void *b)
{
	struct vfk *k = b;

	if (!(k->info.flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTSUP;
	return ioctl(k->device, VFIO_DEVICE_RESET) < 0 ? -errno : 0;
}

static int vfk_dma_map(void *b, uint64_t iova, uint64_t size, void *hva, int fd,
		       uint64_t fd_off, struct bs_err *e)
{
	struct vfk *k = b;

	(void)fd;
	(void)fd_off;
	if (k->iommufd >= 0) {
		struct iommu_ioas_map m = {
			.size = sizeof(m), .ioas_id = k->ioas,
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.user_va = (uintptr_t)hva, .length = size, .iova = iova,
		};

		if (ioctl(k->iommufd, IOMMU_IOAS_MAP, &m) < 0)
			return bs_errf(e, errno, "%s: IOMMU_IOAS_MAP 0x%llx+0x%llx: %s",
				       k->name, (unsigned long long)iova,
				       (unsigned long long)size, strerror(errno));
	} else {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)hva, .iova = iova, .size = size,
		};

		if (ioctl(k->container, VFIO_IOMMU_MAP_DMA, &m) < 0)
			return bs_errf(e, errno, "%s: VFIO_IOMMU_MAP_DMA 0x%llx+0x%llx: %s%s",
				       k->name, (unsigned long long)iova,
				       (unsigned long long)size, strerror(errno),
				       errno == ENOMEM ? " (RLIMIT_MEMLOCK too low to pin "
				       "guest RAM?)" : "");
	}
	return 0;
}

const struct pt_backend_ops vfio_kernel_ops = {
	.kind = "vfio",
	.region_info = vfk_region_info,
	.irq_count = vfk_irq_count,
	.read = vfk_read,
	.write = vfk_write,
	.set_irqs = vfk_set_irqs,
	.reset = vfk_reset,
	.dma_map = vfk_dma_map,
	.destroy = vfk_destroy,
};
