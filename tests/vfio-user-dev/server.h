/* vfio-user-dev: a vfio-user server (protocol 0.1) for tests, serving one
 * emulated PCI device (see README.md).  server.c speaks the protocol and
 * owns the client's DMA mappings and interrupt eventfds; a device
 * (accel.c, balloon.c) supplies regions and behaviour. */
#ifndef VFU_DEV_SERVER_H
#define VFU_DEV_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_REGIONS 9            /* VFIO PCI: BARs 0-5, ROM, config, VGA */
#define SRV_CONFIG 7
#define SRV_IRQ_KINDS 5
#define SRV_MAX_VECTORS 32
#define SRV_MAX_AREAS 4

struct server;

struct srv_region {
	uint64_t size;
	uint32_t flags;              /* VFIO_REGION_INFO_FLAG_READ/WRITE/MMAP */
	int fd;                      /* passed with the info when mmappable */
	uint64_t fd_offset;
	unsigned nareas;             /* sparse mmap areas (0 with MMAP: whole) */
	struct { uint64_t off, size; } area[SRV_MAX_AREAS];
};

struct vdev {
	const char *name;
	struct server *srv;
	struct srv_region reg[SRV_REGIONS];
	uint32_t irq_count[SRV_IRQ_KINDS];   /* INTx, MSI, MSI-X, ERR, REQ */
	uint8_t cfg[256];                    /* served on region 7 ... */
	uint8_t cfg_wmask[256];              /* ... writable bits */
	/* Region accesses other than configuration space; len <= 8 from the
	 * VMM (larger ones are split by the server). */
	void (*read)(struct vdev *d, unsigned region, uint64_t off, void *buf,
		     uint32_t len);
	void (*write)(struct vdev *d, unsigned region, uint64_t off,
		      const void *buf, uint32_t len);
	/* Configuration space was written at off (after the mask). */
	void (*cfg_written)(struct vdev *d, unsigned off, unsigned len);
	/* Runs after the reply to a command went out: the device's
	 * asynchronous work (a DMA, an interrupt). */
	void (*after_reply)(struct vdev *d);
	void (*reset)(struct vdev *d);
	void *priv;
};

/* Host pointer to client memory [iova, iova + len), or NULL when any of
 * it is outside the DMA mappings (or not writable when write is set). */
void *srv_dma(struct server *s, uint64_t iova, uint64_t len, bool write);
/* Signals vector vec of MSI-X if the client gave MSI-X eventfds, else of
 * MSI; returns false when neither is set up. */
bool srv_irq(struct server *s, unsigned vec);
/* Which kind srv_irq would use now: 0 none, 1 MSI, 2 MSI-X. */
unsigned srv_irq_mode(struct server *s);
void srv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool srv_verbose;

/* The devices. */
int accel_init(struct vdev *d, uint64_t big_size);
int balloon_init(struct vdev *d);

#endif
