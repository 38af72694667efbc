/* virtio-balloon (virtio 1.2 section 5.5) on the virtio-pci transport,
 * served by one I/O thread (an io_loop).
 *
 * Offered features: STATS_VQ always, DEFLATE_ON_OOM and REPORTING (free
 * page reporting, 5.5.6.7) when configured, and the ring features
 * INDIRECT_DESC and EVENT_IDX.  Not offered: MUST_TELL_HOST (released pages
 * come back on their own when the guest touches them, so the guest need not
 * wait for us before reusing deflated pages), FREE_PAGE_HINT (migration
 * aid), PAGE_POISON (a guest that poisons or zeroes freed pages then turns
 * reporting off itself, as Linux does).
 *
 * Queues (5.5.2): inflateq 0, deflateq 1, then statsq if STATS_VQ was
 * negotiated, then reporting_vq if REPORTING was: an absent queue takes no
 * index (Linux's virtio_find_vqs() skips it), so the roles are assigned
 * from the negotiated features when the driver sets DRIVER_OK.
 *
 * Guest pages are GM_PAGE_SIZE (4 KiB, VIRTIO_BALLOON_PFN_SHIFT 12).
 *  - inflateq: arrays of le32 page frame numbers the guest gave up; each
 *    page is released on the host (gm_discard: fallocate PUNCH_HOLE on the
 *    memfd) before the buffer is returned.  Runs of adjacent pages are
 *    released with one call.
 *  - deflateq: the pages the guest takes back; nothing to do (they fault in
 *    again as zero pages), counted.
 *  - reporting_vq: each buffer of a chain is one free block (address and
 *    length, 4 KiB multiples); released like inflated pages, then returned.
 *  - statsq (5.5.6.3): the driver's one buffer of {le16 tag, le64 val}
 *    records.  The device keeps it until it wants fresh numbers
 *    (virtio_balloon_request_stats), then returns it and the driver sends
 *    a new one.
 * Hostile input: a page frame outside guest RAM (or a block not inside one
 * RAM region, or not 4 KiB aligned, or a PFN array whose length is not a
 * multiple of 4) is ignored -- never released -- and logged, at most
 * BALLOON_LOG_LIMIT times per device; `ignored` counts them all.
 *
 * Configuration space (5.5.4): num_pages (the target the host sets),
 * actual (what the driver reports), then free_page_hint_cmd_id and
 * poison_val, which read as 0 (their features are not offered).
 *
 * Longer requests are cut: PFNs past BALLOON_MAX_REQUEST bytes and
 * statistics past 64 records are ignored (and logged).
 *
 * Threading: queues are served on the I/O thread, one chain at a time
 * under d->lock; reset()
 * (a vCPU thread, under the transport lock) takes d->lock, so it never
 * overlaps queue work.  set_target, request_stats and get_info are safe
 * from any thread but the I/O thread itself (set_target takes the
 * transport lock, which a resetting vCPU holds while it waits for d->lock). */
#ifndef BASALT_VIRTIO_BALLOON_H
#define BASALT_VIRTIO_BALLOON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "basalt/io/loop.h"
#include "basalt/virtio/pci.h"

#define VIRTIO_ID_BALLOON 5

/* Feature bits (5.5.3). */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON 4
#define VIRTIO_BALLOON_F_REPORTING 5

#define VIRTIO_BALLOON_PFN_SHIFT 12
#define VIRTIO_BALLOON_CFG_SIZE 16
#define VIRTIO_BALLOON_QUEUE_SIZE 128   /* reporting needs >= 32 (Linux) */
#define BALLOON_LOG_LIMIT 10
#define BALLOON_PFN_BATCH 4096      /* PFNs sorted and released at a time */
/* Most bytes of PFNs read from one inflate/deflate request (Linux sends at
 * most 1 KiB): a guest cannot keep the I/O thread in one request for long. */
#define BALLOON_MAX_REQUEST (256u * 1024)

/* Statistics tags (5.5.6.3); 10..15 are newer Linux additions. */
enum {
	BALLOON_S_SWAP_IN, BALLOON_S_SWAP_OUT, BALLOON_S_MAJFLT, BALLOON_S_MINFLT,
	BALLOON_S_MEMFREE, BALLOON_S_MEMTOT, BALLOON_S_AVAIL, BALLOON_S_CACHES,
	BALLOON_S_HTLB_PGALLOC, BALLOON_S_HTLB_PGFAIL, BALLOON_S_OOM_KILLS,
	BALLOON_S_ALLOC_STALL, BALLOON_S_ASYNC_SCAN, BALLOON_S_DIRECT_SCAN,
	BALLOON_S_ASYNC_RECLAIM, BALLOON_S_DIRECT_RECLAIM,
	BALLOON_NR_STATS
};
/* JSON names of the tags ("free_memory", ...). */
extern const char *const balloon_stat_names[BALLOON_NR_STATS];

/* The queue a transport index serves once the features are known. */
enum balloon_queue { BQ_NONE, BQ_INFLATE, BQ_DEFLATE, BQ_STATS, BQ_REPORTING };

struct balloon_stats {
	uint64_t val[BALLOON_NR_STATS];
	uint32_t present;               /* bit per tag the guest sent */
	uint64_t updates;               /* statistics buffers received */
	int64_t when_ms;                /* CLOCK_MONOTONIC of the last one */
};

/* A snapshot for the control socket. */
struct virtio_balloon_info {
	bool driver_ok;                 /* the driver set DRIVER_OK */
	uint64_t features;              /* negotiated */
	uint32_t target_pages, actual_pages;
	uint64_t inflated_pages, deflated_pages;
	uint64_t released_bytes;        /* given back to the host by inflation (a
					 * page inflated twice counts twice) */
	uint64_t reported_bytes;        /* given back by free page reporting */
	uint64_t ignored;               /* bad PFNs / blocks ignored */
	struct balloon_stats stats;
};

struct virtio_balloon_params {
	const char *name;               /* "virtio-balloon" */
	struct io_loop *loop;           /* NULL: callers drive _process() */
	uint32_t target_pages;          /* initial num_pages */
	bool deflate_on_oom, free_page_reporting;
	const struct guest_mem *gm;
	struct kvm_irq_router *irq;     /* as in struct virtio_pci_params */
	const struct msix_sink *sink;
	int vm_fd;
	int stats_efd;                  /* written (1) when stats arrive; -1: none */
};

struct virtio_balloon {
	struct virtio_pci t;
	struct virtio_balloon_params p;
	char name[24];
	pthread_mutex_t lock;
	bool active;                    /* DRIVER_OK, no reset since */
	uint64_t features;
	enum balloon_queue role[VIRTIO_PCI_MAX_QUEUES];
	unsigned nqueues;
	_Atomic uint32_t target_pages;
	_Atomic uint32_t actual_pages;
	atomic_bool stats_wanted;
	bool stats_held;                /* the driver's stats buffer, kept */
	uint16_t stats_head;
	struct balloon_stats stats;
	uint64_t inflated_pages, deflated_pages, released_bytes, reported_bytes;
	uint64_t ignored;
	struct vq_elem *scratch;
	uint64_t *pfns;                 /* scratch: BALLOON_PFN_BATCH entries */
	struct io_watch *watch[VIRTIO_PCI_MAX_QUEUES];
	struct virtio_balloon_watch {
		struct virtio_balloon *d;
		unsigned q;
	} wctx[VIRTIO_PCI_MAX_QUEUES];
};

int virtio_balloon_create(struct virtio_balloon **out,
			  const struct virtio_balloon_params *p, struct bs_err *e);
/* The caller stopped the loop first (or never had one). */
void virtio_balloon_destroy(struct virtio_balloon *d);
/* Stops serving (as a reset does); the VM calls it at shutdown. */
void virtio_balloon_quiesce(struct virtio_balloon *d);
/* Serves transport queue q until it is empty (I/O thread, or tests). */
void virtio_balloon_process(struct virtio_balloon *d, unsigned q);

/* New target: the balloon should hold `pages` 4 KiB pages.  Sets num_pages
 * and sends a configuration-change interrupt. */
void virtio_balloon_set_target(struct virtio_balloon *d, uint32_t pages);
/* Asks the guest for fresh statistics: the held stats buffer goes back to
 * the driver (on the I/O thread, through the loop's wake hook; without a
 * loop the caller then runs virtio_balloon_poll_stats()).  False if the
 * driver is not running with STATS_VQ (no answer will come). */
bool virtio_balloon_request_stats(struct virtio_balloon *d);
void virtio_balloon_poll_stats(struct virtio_balloon *d);
void virtio_balloon_get_info(struct virtio_balloon *d, struct virtio_balloon_info *out);

#endif
