/* virtio-net (virtio 1.2 section 5.1) on the virtio-pci transport.
 *
 * Queues (5.1.2): receiveq k = 2k, transmitq k = 2k+1 for each of `pairs`
 * queue pairs, then the control queue (2*pairs).  Pair k is served by
 * loops[k] (an I/O thread; several pairs may share one) with backend fd
 * fds[k]: a TAP queue (tap.h) in production, any packet-preserving
 * non-blocking fd (a SOCK_SEQPACKET socket) in tests.  Every packet on the
 * fd is a 12-byte struct virtio_net_hdr_v1 followed by the frame, the same
 * bytes the driver puts in a transmit buffer, so transmit is a writev() of
 * the driver's buffers as they are (zero copy), and the host kernel honours
 * the driver's checksum and segmentation offload requests (5.1.6.2).
 *
 * Receive (5.1.6.3, 5.1.6.4): the I/O thread reads one packet into a
 * private buffer, then copies it into as many receive buffers as it needs
 * (with MRG_RXBUF; else into one) and publishes them together with
 * num_buffers set in the first one's header.  If the guest has no room, the
 * packet stays pending and the thread stops reading the fd until the
 * driver adds buffers (its notification wakes the thread), so neither a
 * full receive queue nor a full TAP can wedge the device: whichever side
 * drains, the other resumes (the CVE-2020-16843 class).  A packet larger
 * than a whole non-mergeable buffer is dropped (counted), the buffer kept.
 *
 * Transmit (5.1.6.2): each chain is written to the fd as one packet and
 * returned with length 0.  A chain shorter than the header, or one the
 * kernel rejects (bad GSO fields, EAGAIN on a full TAP), is dropped and
 * counted; the driver gets its buffer back either way.
 *
 * Control queue (5.1.6.5): VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET only (the pairs
 * beyond the count are detached from the TAP so the kernel does not queue
 * packets nobody reads); anything else is answered VIRTIO_NET_ERR.
 *
 * Hostile input: receive buffers that are device-readable or shorter than
 * the header, and malformed rings, set DEVICE_NEEDS_RESET (2.1.2).
 *
 * Threading: each pair has a lock and an `active` flag; ring accesses of
 * its two queues happen under it.  The transport's reset() (a vCPU thread)
 * clears every pair's flag under its lock, so no I/O thread touches guest
 * memory after reset returns.  TAP ioctls (offloads, queue attach) run only
 * on loops[0]'s thread, where the control queue is served too. */
#ifndef BASALT_VIRTIO_NET_H
#define BASALT_VIRTIO_NET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sys/uio.h>

#include "basalt/io/loop.h"
#include "basalt/virtio/pci.h"

#define VIRTIO_ID_NET 1

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_MQ 22

#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_CFG_SIZE 10         /* mac, status, max_virtqueue_pairs */

/* struct virtio_net_hdr_v1 (5.1.6). */
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_TCPV6 4

/* Control queue (5.1.6.5). */
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1

/* Largest packet the device reads from the backend: a 64 KiB GSO frame
 * plus Ethernet/VLAN headers, with the vnet header in front. */
#define VIRTIO_NET_PKT_MAX (VIRTIO_NET_HDR_LEN + 65535 + 14 + 4)
#define VIRTIO_NET_MAX_PAIRS ((VIRTIO_PCI_MAX_QUEUES - 1) / 2)

struct virtio_net_params {
	const char *name;               /* "virtio-net0" */
	unsigned pairs;                 /* 1..VIRTIO_NET_MAX_PAIRS */
	const int *fds;                 /* pairs backend fds, non-blocking, kept open */
	struct io_loop *const *loops;   /* pairs loops; NULL: callers drive
					 * virtio_net_rx()/_tx()/_ctrl() */
	bool tap;                       /* fds are TAP queues (offload/attach ioctls) */
	uint8_t mac[6];
	uint16_t queue_size;
	const struct guest_mem *gm;
	struct kvm_irq_router *irq;     /* as in struct virtio_pci_params */
	const struct msix_sink *sink;
	int vm_fd;
	unsigned poll_us;               /* busy-poll the transmit queues this long
					 * before an I/O thread sleeps (0: never) */
};

struct virtio_net_stats {
	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t tx_packets, tx_bytes, tx_dropped;
};

struct virtio_net;

struct virtio_net_pair {
	struct virtio_net *d;
	unsigned idx;
	int fd;
	struct io_loop *loop;
	pthread_mutex_t lock;
	bool active;                    /* serving (DRIVER_OK, no reset since) */
	bool fd_dead;                   /* read error other than EAGAIN: logged once */
	uint8_t *pkt;                   /* the pending received packet */
	uint32_t pkt_len;               /* 0: none pending */
	struct vq_elem *el;             /* scratch for this pair's thread */
	struct virtq_used_elem *used;   /* a merged packet's buffers (queue_size) */
	struct iovec *iov;              /* a transmit chain (VQ_MAX_SEGS) */
	struct io_watch *w_rx, *w_tx, *w_fd;
	struct virtio_net_stats st;
	uint64_t tx_ns;                 /* CLOCK_MONOTONIC of the last transmission */
};

struct virtio_net {
	struct virtio_pci t;
	struct virtio_net_params p;
	char name[24];
	int fds[VIRTIO_NET_MAX_PAIRS];
	struct io_loop *loops[VIRTIO_NET_MAX_PAIRS];
	struct virtio_net_pair pair[VIRTIO_NET_MAX_PAIRS];
	unsigned curr_pairs;            /* pairs the driver enabled (MQ) */
	/* Backend state loops[0] applies (apply_pending set by activate/ctrl,
	 * under pair[0].lock). */
	bool apply_pending;
	unsigned offload;               /* TAP_OFF_* for the negotiated features */
	struct io_watch *w_ctrl;
	pthread_mutex_t ctrl_lock;      /* one control command at a time */
	struct vq_elem *ctrl_el;
	uint64_t features;              /* negotiated, recorded by activate() */
};

int virtio_net_create(struct virtio_net **out, const struct virtio_net_params *p,
		      struct bs_err *e);
/* The caller stopped the loops first (or never had any). */
void virtio_net_destroy(struct virtio_net *d);
/* Stops serving (what a device reset does; the VM calls it at shutdown). */
void virtio_net_quiesce(struct virtio_net *d);
/* Serve pair k's receive / transmit queue, or the control queue, until
 * there is nothing more to do (the I/O threads call these on every
 * notification and whenever the backend fd becomes readable). */
void virtio_net_rx(struct virtio_net *d, unsigned k);
void virtio_net_tx(struct virtio_net *d, unsigned k);
void virtio_net_ctrl(struct virtio_net *d);
/* Sum over the pairs. */
void virtio_net_get_stats(struct virtio_net *d, struct virtio_net_stats *out);

#endif
