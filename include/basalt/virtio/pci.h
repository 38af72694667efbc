/* virtio 1.x PCI transport, modern only (virtio 1.2 section 4.1).
 *
 * One PCI function per device: vendor 0x1af4, device 0x1040 + virtio
 * device ID, revision 1.  Everything lives in BAR 4 (64-bit, 32 KiB):
 *
 *   0x0000  common configuration (4.1.4.3)      VIRTIO_PCI_CAP_COMMON_CFG
 *   0x1000  ISR status (4.1.4.5), read-to-clear VIRTIO_PCI_CAP_ISR_CFG
 *   0x2000  device-specific configuration       VIRTIO_PCI_CAP_DEVICE_CFG
 *   0x3000  notifications, queue q at 0x3000+4q  VIRTIO_PCI_CAP_NOTIFY_CFG
 *   0x4000  MSI-X table, 0x6000 MSI-X PBA
 *
 * plus a VIRTIO_PCI_CAP_PCI_CFG window (4.1.4.9) into the BAR through
 * configuration space.
 *
 * Status (2.1): the transport runs the state machine.  FEATURES_OK is kept
 * only if the driver accepted VIRTIO_F_VERSION_1 and nothing the device
 * did not offer; feature writes after FEATURES_OK are ignored.  Queue
 * registers of an enabled queue, and all queue registers once DRIVER_OK is
 * set, are locked: writes are ignored (a driver changing ring addresses
 * under a running device is the CVE-2026-5747 class).  Enabling a queue
 * validates its rings (every part inside guest RAM, spec alignment); a bad
 * ring sets DEVICE_NEEDS_RESET.  Writing 0 to device_status resets: the
 * device's reset() drains in-flight I/O before the write completes, so no
 * request touches guest memory afterwards, and the driver reads 0 only
 * once the reset is done.
 *
 * Notifications: each queue has an eventfd, virtio_pci_notify_fd(), which
 * the device watches in its I/O loop.  With a VM fd it is an ioeventfd
 * (KVM_IOEVENTFD, 2-byte writes, as virtio-pci drivers do) on the queue's
 * notify address, moved when the guest moves BAR 4 or turns memory
 * decoding off; a notify write that traps anyway is turned into a write to
 * the same eventfd.
 *
 * Interrupts go through MSI-X only (config_msix_vector, queue_msix_vector;
 * 0xffff = none): the platform has no INTx routing (no _PRT).
 *
 * Locking: register accesses run on vCPU threads under the PCI bus lock
 * (shared) and t->lock; device callbacks run under t->lock.  What I/O
 * threads call (virtio_pci_irq_*, virtio_pci_needs_reset) never takes
 * t->lock: a reset holds it while waiting for them to drain.  So status,
 * ISR and the config vector are atomics.
 *
 * Deviation: the PCI_CFG window (4.1.4.9) performs a read when the window
 * registers are written, not when pci_cfg_data is read; drivers that set
 * the window before each access (SeaBIOS) work, Linux does not use it. */
#ifndef BASALT_VIRTIO_PCI_H
#define BASALT_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "basalt/devices/msix.h"
#include "basalt/devices/pci.h"
#include "basalt/err.h"
#include "basalt/guest_mem.h"
#include "basalt/kvm_irq.h"
#include "basalt/virtio/virtqueue.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_BAR 4
#define VIRTIO_PCI_BAR_SIZE 0x8000
#define VIRTIO_PCI_COMMON_OFF 0x0000
#define VIRTIO_PCI_COMMON_LEN 0x38
#define VIRTIO_PCI_ISR_OFF 0x1000
#define VIRTIO_PCI_DEVCFG_OFF 0x2000
#define VIRTIO_PCI_DEVCFG_MAX 0x1000
#define VIRTIO_PCI_NOTIFY_OFF 0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x4000
#define VIRTIO_PCI_MSIX_PBA_OFF 0x6000
#define VIRTIO_PCI_MAX_QUEUES 64
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* Common configuration register offsets (4.1.4.3). */
#define VPCI_DFSELECT 0x00
#define VPCI_DF 0x04
#define VPCI_GFSELECT 0x08
#define VPCI_GF 0x0c
#define VPCI_MSIX 0x10
#define VPCI_NUMQ 0x12
#define VPCI_STATUS 0x14
#define VPCI_CFGGEN 0x15
#define VPCI_Q_SELECT 0x16
#define VPCI_Q_SIZE 0x18
#define VPCI_Q_MSIX 0x1a
#define VPCI_Q_ENABLE 0x1c
#define VPCI_Q_NOFF 0x1e
#define VPCI_Q_DESCLO 0x20
#define VPCI_Q_DESCHI 0x24
#define VPCI_Q_AVAILLO 0x28
#define VPCI_Q_AVAILHI 0x2c
#define VPCI_Q_USEDLO 0x30
#define VPCI_Q_USEDHI 0x34

struct virtio_pci;

/* What a virtio device provides to the transport.  All callbacks run
 * under the transport lock. */
struct virtio_dev_ops {
	const char *name;               /* "virtio-blk" */
	uint16_t device_id;             /* virtio device ID (5 "Device Types") */
	uint32_t pci_class;             /* class << 16 | subclass << 8 | prog-if */
	/* Device configuration space (read and write within cfg_size). */
	void (*cfg_read)(void *dev, uint32_t off, void *data, unsigned len);
	void (*cfg_write)(void *dev, uint32_t off, const void *data, unsigned len);
	/* DRIVER_OK with every enabled queue validated: start serving. */
	int (*activate)(void *dev, struct bs_err *e);
	/* Stop serving and wait for every in-flight request; then forget
	 * device state.  The transport resets the queues afterwards. */
	void (*reset)(void *dev);
};

struct virtio_pci_params {
	const struct virtio_dev_ops *ops;
	void *dev;
	uint64_t features;              /* device features, VERSION_1 added */
	unsigned num_queues;            /* 1..VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_size_max;        /* power of two */
	uint32_t cfg_size;              /* <= VIRTIO_PCI_DEVCFG_MAX */
	const struct guest_mem *gm;
	struct kvm_irq_router *irq;     /* MSI-X through KVM irqfds, or */
	const struct msix_sink *sink;   /* (irq NULL) this sink: tests */
	int vm_fd;                      /* -1: no ioeventfds (tests) */
	const char *name;               /* "virtio-blk0", for messages */
};

struct virtio_pci {
	struct pci_func f;
	struct virtio_pci_params p;
	pthread_mutex_t lock;
	struct msix msix;
	struct msix_kvm msix_kvm;
	struct msix_sink test_sink;     /* used when p.irq is NULL */

	uint64_t device_features, driver_features;
	uint32_t dfselect, gfselect;
	uint16_t config_vector;
	uint8_t status, config_generation, isr;
	uint16_t queue_select;
	struct virtio_pci_queue {
		struct virtq vq;
		uint16_t vector;
		bool enabled;
		int notify_fd;          /* eventfd */
	} q[VIRTIO_PCI_MAX_QUEUES];
	uint64_t ioeventfd_base;        /* BAR address the fds are bound to, 0 = none */
	char name[32];
	unsigned pci_cfg_cap;           /* offset of the PCI_CFG capability */
};

/* Builds the PCI function (IDs, BAR 4, capabilities, MSI-X with one vector
 * per queue plus one for configuration changes).  Add t->f to the bus. */
int virtio_pci_init(struct virtio_pci *t, const struct virtio_pci_params *p,
		    struct bs_err *e);
void virtio_pci_destroy(struct virtio_pci *t);

/* For the device: the queue (ready once DRIVER_OK), its notify eventfd,
 * and raising a used-buffer (queue) or
 * configuration-change interrupt. */
struct virtq *virtio_pci_queue(struct virtio_pci *t, unsigned q);
int virtio_pci_notify_fd(struct virtio_pci *t, unsigned q);
void virtio_pci_irq_queue(struct virtio_pci *t, unsigned q);
void virtio_pci_irq_config(struct virtio_pci *t);
/* The device changed its configuration space (from outside the device:
 * the control socket): bumps config_generation (4.1.4.3.1) and sends the
 * configuration-change interrupt.  Takes the transport lock, so never from
 * an I/O thread (a resetting vCPU holds it while waiting for them). */
void virtio_pci_config_changed(struct virtio_pci *t);
/* The device found the guest broke the protocol: DEVICE_NEEDS_RESET and a
 * configuration-change interrupt (2.1.2). */
void virtio_pci_needs_reset(struct virtio_pci *t);
/* Negotiated features (valid once FEATURES_OK). */
uint64_t virtio_pci_features(struct virtio_pci *t);

#endif
