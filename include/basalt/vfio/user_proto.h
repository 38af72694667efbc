/* vfio-user protocol, version 0.1: the wire format (QEMU's
 * docs/interop/vfio-user.rst, "Protocol Specification").  Host-endian,
 * packed; every message is a 16-byte header and a command-specific
 * payload.  Payload structures that mirror Linux VFIO's reuse
 * <linux/vfio.h>'s flags (VFIO_REGION_INFO_FLAG_*, VFIO_IRQ_SET_*,
 * VFIO_DEVICE_FLAGS_*) and region capability layouts. */
#ifndef BASALT_VFIO_USER_PROTO_H
#define BASALT_VFIO_USER_PROTO_H

#include <stdint.h>

#define VFU_MAJOR 0
#define VFU_MINOR 1
#define VFU_DEFAULT_MAX_XFER (1u << 20)   /* max_data_xfer_size default */
#define VFU_MAX_MSG (1u << 21)            /* what either side accepts */

enum vfu_cmd {
	VFU_CMD_VERSION = 1,
	VFU_CMD_DMA_MAP = 2,
	VFU_CMD_DMA_UNMAP = 3,
	VFU_CMD_DEVICE_GET_INFO = 4,
	VFU_CMD_DEVICE_GET_REGION_INFO = 5,
	VFU_CMD_DEVICE_GET_REGION_IO_FDS = 6,
	VFU_CMD_DEVICE_GET_IRQ_INFO = 7,
	VFU_CMD_DEVICE_SET_IRQS = 8,
	VFU_CMD_REGION_READ = 9,
	VFU_CMD_REGION_WRITE = 10,
	VFU_CMD_DMA_READ = 11,
	VFU_CMD_DMA_WRITE = 12,
	VFU_CMD_DEVICE_RESET = 13,
	VFU_CMD_REGION_WRITE_MULTI = 15,
	VFU_CMD_DEVICE_FEATURE = 16,
};

/* Header flags: bits 0-3 type, 4 no reply, 5 error. */
#define VFU_TYPE_MASK 0xfu
#define VFU_TYPE_COMMAND 0u
#define VFU_TYPE_REPLY 1u
#define VFU_F_NO_REPLY (1u << 4)
#define VFU_F_ERROR (1u << 5)

struct vfu_hdr {
	uint16_t id;
	uint16_t cmd;
	uint32_t size;           /* whole message, header included */
	uint32_t flags;
	uint32_t error;          /* errno, in error replies */
} __attribute__((packed));

/* VERSION: then optional NUL-terminated JSON {"capabilities": {...}}. */
struct vfu_version {
	uint16_t major, minor;
} __attribute__((packed));

/* DMA_MAP (an fd in SCM_RIGHTS when the memory is mappable). */
#define VFU_DMA_READ 1u
#define VFU_DMA_WRITE 2u
struct vfu_dma_map {
	uint32_t argsz, flags;
	uint64_t offset;         /* in the passed fd */
	uint64_t addr;           /* DMA (guest-physical) address */
	uint64_t size;
} __attribute__((packed));

struct vfu_dma_unmap {
	uint32_t argsz, flags;
	uint64_t addr, size;
} __attribute__((packed));

struct vfu_device_info {
	uint32_t argsz, flags, num_regions, num_irqs;
} __attribute__((packed));

/* Same layout as struct vfio_region_info; capabilities follow at
 * cap_offset (from the start of this structure). */
struct vfu_region_info {
	uint32_t argsz, flags, index, cap_offset;
	uint64_t size, offset;
} __attribute__((packed));

struct vfu_irq_info {
	uint32_t argsz, flags, index, count;
} __attribute__((packed));

/* SET_IRQS: eventfds (DATA_EVENTFD) travel as SCM_RIGHTS. */
struct vfu_irq_set {
	uint32_t argsz, flags, index, start, count;
} __attribute__((packed));

/* REGION_READ / REGION_WRITE: data follows (read replies, write requests). */
struct vfu_region_access {
	uint64_t offset;
	uint32_t region, count;
} __attribute__((packed));

#endif
