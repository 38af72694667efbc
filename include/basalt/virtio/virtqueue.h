/* Device side of a virtio 1.x split virtqueue (virtio 1.2 section 2.7,
 * "Split Virtqueues").
 *
 * The transport (virtio-pci) owns a struct virtq per queue: it fills in
 * size, desc/avail/used and features from what the driver programmed, then
 * calls vq_validate_rings() when the driver enables the queue.  The device
 * then loops vq_pop() / vq_push() / vq_need_notify().
 *
 * Everything in the rings is guest-owned and hostile.  vq_pop() walks a
 * descriptor chain with every index, length and address checked; any
 * violation of the spec's driver requirements marks the queue broken (the
 * device should then set DEVICE_NEEDS_RESET, spec 2.1.2) and every later
 * vq_pop()/vq_push() returns -EIO until vq_reset().  Nothing the guest
 * writes can make this module crash, loop, or touch memory outside RAM.
 *
 * Threading: one queue is served by one thread at a time (the device's
 * I/O thread or a vCPU thread holding the device lock); the functions
 * take no locks.  The barriers below order our accesses against the guest
 * driver running concurrently on other CPUs, not against other host
 * threads using the same struct virtq.
 *
 * All ring fields are little-endian (virtio 1.x, no legacy support). */
#ifndef BASALT_VIRTIO_VIRTQUEUE_H
#define BASALT_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "basalt/err.h"
#include "basalt/guest_mem.h"

/* Ring feature bits (spec 6, "Reserved Feature Bits"). */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29

/* Descriptor flags (spec 2.7.5). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
/* avail->flags (spec 2.7.6) and used->flags (spec 2.7.8). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

#define VQ_MAX_SIZE 32768   /* spec 2.7: queue size is a power of 2 <= 32768 */
/* Most segments one element can carry (spec 2.7.4: "The device MAY have a
 * reasonable limit of descriptors it will allow in a chain"); IOV_MAX. */
#define VQ_MAX_SEGS 1024

/* Guest-memory layout of the ring parts (spec 2.7.5, 2.7.6, 2.7.8); all
 * fields little-endian.  Sizes: desc 16*N, avail 6+2*N, used 6+8*N. */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

/* One guest buffer of a popped chain.  hva covers exactly [gpa, gpa+len)
 * and lies inside one RAM region. */
struct vq_seg {
	uint64_t gpa;
	void *hva;
	uint32_t len;
	bool is_write;   /* device-writable ("in") */
};

/* A popped descriptor chain.  seg[0 .. nr_out) are device-readable, then
 * seg[nr_out .. nr_out+nr_in) device-writable, in chain order.  out_len
 * and in_len are the byte totals; out_len + in_len < 2^32.  About 24 KiB:
 * keep it off small stacks. */
struct vq_elem {
	uint16_t head;
	unsigned nr_out, nr_in;
	uint32_t out_len, in_len;
	struct vq_seg seg[VQ_MAX_SEGS];
};

struct virtq {
	/* Configuration: written by the transport, checked by
	 * vq_validate_rings(); changing any of these afterwards requires
	 * validating again. */
	uint16_t size;
	uint64_t desc, avail, used;     /* guest-physical addresses */
	uint64_t features;              /* negotiated device features */

	/* State.  last_avail_idx and used_idx are free-running 16-bit
	 * indices (the next avail entry to read, our copy of used->idx). */
	uint16_t last_avail_idx;
	uint16_t used_idx;
	uint16_t signalled_used;        /* used_idx at the last vq_need_notify */
	bool signalled_used_valid;
	uint16_t used_flags;            /* shadow of used->flags */
	bool ready;                     /* rings validated and mapped */
	bool broken;                    /* guest broke the protocol */
	unsigned nr_inflight;

	/* Private. */
	const struct guest_mem *gm;
	char name[32];                  /* "virtio-blk0 q0", for messages */
	uint8_t *desc_hva, *avail_hva, *used_hva;
	uint64_t inflight[VQ_MAX_SIZE / 64];   /* heads popped, not pushed */
	uint64_t visited[VQ_MAX_SIZE / 64];    /* indirect-walk scratch */
};

/* Zeroes vq, binds it to gm and names it (for error messages).  The queue
 * is not ready until vq_validate_rings() succeeds. */
void vq_init(struct virtq *vq, const struct guest_mem *gm, const char *name);
/* Device reset (spec 2.4): forgets configuration, indices, in-flight heads
 * and the broken flag; keeps gm and name. */
void vq_reset(struct virtq *vq);
/* Checks size (power of 2, 1..32768) and that the descriptor table, avail
 * ring and used ring each lie inside one RAM region with the spec 2.7
 * alignment (16, 2, 4), then caches their host addresses and marks the
 * queue ready.  -EINVAL with a message naming the part otherwise. */
int vq_validate_rings(struct virtq *vq, struct bs_err *e);

/* Takes the next available chain into elem.  Returns 1 if one was popped,
 * 0 if the avail ring is empty, -EIO if the queue is broken, -EINVAL if it
 * is not ready; a guest error marks the queue broken and returns:
 *   -EINVAL     malformed ring or chain: avail idx more than size ahead,
 *               head or next out of range, chain longer than the queue,
 *               loop in an indirect table, zero length, device-readable
 *               after device-writable, head already in flight, bad
 *               INDIRECT use (not negotiated, with NEXT, nested, table
 *               length not a multiple of 16 in 16..16*size)
 *   -EFAULT     a buffer or indirect table not inside one RAM region, or
 *               addr+len wrapping past 2^64.  A buffer spanning two RAM
 *               regions is rejected, not split: basalt's regions are never
 *               contiguous in guest-physical space (the PCI hole separates
 *               them), so such a buffer always covers non-RAM.
 *   -EOVERFLOW  chain totals 2^32 bytes or more (spec 2.7.5: at most 2^32;
 *               we keep totals and used.len in 32 bits)
 *   -E2BIG      more than VQ_MAX_SEGS buffers
 * Does not touch avail_event: see vq_set_avail_event/vq_enable_notify. */
int vq_pop(struct virtq *vq, struct vq_elem *elem, struct bs_err *e);
/* Returns the chain at head to the driver with written_len bytes written
 * (spec 2.7.8; must not exceed the element's in_len).  -EINVAL if head is
 * not in flight (device bug), -EIO if the queue is broken. */
int vq_push(struct virtq *vq, uint16_t head, uint32_t written_len,
	    struct bs_err *e);

/* vq_push() of n chains at once: the used entries are written first and
 * used->idx moves by n in one release store, so the driver never sees
 * part of the batch.  Nothing is pushed unless every head is in flight
 * (and none repeats). */
int vq_push_many(struct virtq *vq, const struct virtq_used_elem *u, unsigned n,
		 struct bs_err *e);
/* Gives back the most recently popped chain untouched (a device that
 * popped buffers it cannot use yet): the next vq_pop() returns the same
 * avail entry again, re-validated.  Several chains go back in reverse pop
 * order.  -EINVAL if head was not the last popped one still in flight. */
int vq_unpop(struct virtq *vq, uint16_t head);

/* After one or more vq_push(): whether the driver wants a used buffer
 * notification (spec 2.7.7 "Used Buffer Notification Suppression"). */
bool vq_need_notify(struct virtq *vq);
/* With EVENT_IDX: publishes avail_event = last_avail_idx so the driver
 * notifies only once it adds past what we have consumed (spec 2.7.10
 * "Available Buffer Notification Suppression").
 * No-op otherwise. */
void vq_set_avail_event(struct virtq *vq);
/* For polling devices (spec 2.7.10).  disable asks the driver not to
 * notify (used->flags NO_NOTIFY; with EVENT_IDX nothing, avail_event just
 * stays behind).  enable re-arms notifications and returns true if
 * buffers arrived meanwhile: the caller must then pop again, or it could
 * sleep on a notification that never comes. */
void vq_disable_notify(struct virtq *vq);
bool vq_enable_notify(struct virtq *vq);
/* For a device that popped buffers, found them too few and gave them back
 * with vq_unpop(): re-arms notifications for buffers added after avail
 * index `seen` (what avail->idx was when vq_pop() found the ring empty)
 * and returns true if some arrived meanwhile.  vq_enable_notify() would
 * report the given-back buffers as new and, with EVENT_IDX, ask for a
 * notification the driver has already passed. */
bool vq_enable_notify_past(struct virtq *vq, uint16_t seen);
/* True if the driver made buffers available that were not popped yet
 * (one acquire read of avail->idx; for polling devices). */
bool vq_has_avail(const struct virtq *vq);

/* Copies n bytes starting at byte off of el's device-readable part into
 * dst; false (nothing promised about dst) if the part is shorter. */
bool vq_read_out(const struct vq_elem *el, uint32_t off, void *dst, uint32_t n);

/* vring_need_event() of the spec's virtio_queue.h appendix: true if
 * event_idx lies in the window (old, new_idx] of entries just published,
 * with 16-bit wrap-around. */
static inline bool vq_need_event(uint16_t event_idx, uint16_t new_idx,
				 uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

#endif
