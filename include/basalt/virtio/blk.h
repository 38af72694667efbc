/* virtio-blk (virtio 1.2 section 5.2) on the virtio-pci transport, served
 * by one I/O thread (an io_loop) per disk with a block backend behind it.
 *
 * Requests (5.2.6): a 16-byte header {type, reserved, sector} in the
 * device-readable part, data, and a status byte as the last device-writable
 * byte; any split of these over descriptors is accepted (VERSION_1 implies
 * ANY_LAYOUT).  IN and OUT become READV/WRITEV, FLUSH fdatasync, DISCARD a
 * punched hole, WRITE_ZEROES a zeroed range (one range per request:
 * max_discard_seg = max_write_zeroes_seg = 1), GET_ID the serial.  A range
 * past the end of the disk, a length that is not whole sectors, or a write
 * to a read-only disk completes with IOERR; an unknown type with UNSUPP.  A
 * request with no room for its status, or a header shorter than 16 bytes,
 * cannot be answered: the device then needs a reset (2.1.2).
 *
 * Data: a request is completed (status written, used ring updated, guest
 * interrupted) only after its I/O has completed; FLUSH only after
 * fdatasync returned.
 *
 * Threading: queues are popped and completed on the I/O thread only.
 * reset() (vCPU thread) stops taking requests and waits until every
 * in-flight one has finished; completions that land after the reset began
 * are dropped without touching guest memory. */
#ifndef BASALT_VIRTIO_BLK_H
#define BASALT_VIRTIO_BLK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "basalt/io/block.h"
#include "basalt/io/loop.h"
#include "basalt/virtio/pci.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_CFG_SIZE 60
/* Most bytes of O_DIRECT bounce buffers one device holds at a time. */
#define VIRTIO_BLK_BOUNCE_MAX (16u << 20)

struct virtio_blk_params {
	const char *name;               /* "virtio-blk0" */
	struct blk_backend *backend;    /* opened by the caller, kept open */
	struct io_loop *loop;           /* NULL: callers drive virtio_blk_process() */
	const char *serial;             /* GET_ID, up to 20 bytes; NULL = none */
	unsigned num_queues;            /* request queues, 1.. */
	uint16_t queue_size;
	const struct guest_mem *gm;
	struct kvm_irq_router *irq;     /* as in struct virtio_pci_params */
	const struct msix_sink *sink;
	int vm_fd;
	unsigned poll_us;               /* busy-poll the queues this long before
					 * the I/O thread sleeps (0: never) */
};

struct virtio_blk {
	struct virtio_pci t;
	struct virtio_blk_params p;
	char serial[VIRTIO_BLK_ID_BYTES];
	pthread_mutex_t lock;
	pthread_cond_t idle;
	bool active;                    /* serving requests (DRIVER_OK, no reset) */
	unsigned inflight;
	struct vq_elem *scratch;
	struct io_watch *watch[VIRTIO_PCI_MAX_QUEUES];
	struct virtio_blk_watch {
		struct virtio_blk *d;
		unsigned q;
	} wctx[VIRTIO_PCI_MAX_QUEUES];
	uint64_t requests, errors;      /* statistics */
	uint32_t bounce_bytes;          /* O_DIRECT bounce memory held */
	char name[24];
};

int virtio_blk_create(struct virtio_blk **out, const struct virtio_blk_params *p,
		      struct bs_err *e);
/* The caller stopped the loop first (or never had one). */
void virtio_blk_destroy(struct virtio_blk *d);
/* Stops taking requests and waits until none is in flight (what a device
 * reset does; the VM calls it at shutdown). */
void virtio_blk_quiesce(struct virtio_blk *d);
/* Serves queue q until it is empty (the I/O thread does this on every
 * notification). */
void virtio_blk_process(struct virtio_blk *d, unsigned q);

#endif
