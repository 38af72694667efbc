/* The test accelerator (accel.h): registers in BAR 0 (trapped) with a
 * scratch page the VMM may mmap, an I/O BAR (which the VMM must hide), a
 * big 64-bit prefetchable BAR 2 backed by a sparse memfd (all but its
 * last 2 MiB offered for mmap), a ROM, MSI and MSI-X, and a DMA engine
 * that copies between client (guest) memory ranges after the doorbell
 * write was acknowledged, writes the completion count to a guest address
 * and raises the chosen vector. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "accel.h"
#include "server.h"

#define REGS_SIZE 0x60

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

struct accel {
	struct vdev *d;
	uint64_t big_size;
	uint8_t *bar0, *big;
	uint8_t rom[ACCEL_ROM_SIZE];
	uint8_t regs[REGS_SIZE];        /* register file, little-endian */
	bool kick;
	int raise;                      /* vector to raise after the reply, -1 */
};

static uint32_t r32(struct accel *a, unsigned off) { uint32_t v; memcpy(&v, a->regs + off, 4); return v; }
static uint64_t r64(struct accel *a, unsigned off) { uint64_t v; memcpy(&v, a->regs + off, 8); return v; }
static void w32(struct accel *a, unsigned off, uint32_t v) { memcpy(a->regs + off, &v, 4); }
static void w64(struct accel *a, unsigned off, uint64_t v) { memcpy(a->regs + off, &v, 8); }

static int memfd_map(const char *name, uint64_t size, uint8_t **p)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size))
		return -errno;
	*p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (*p == MAP_FAILED)
		return -errno;
	return fd;
}

/* RW registers: where a write lands as is. */
static bool writable(unsigned off, uint32_t len)
{
	static const struct { unsigned off, len; } rw[] = {
		{ ACCEL_REG_SCRATCH, 4 }, { ACCEL_REG_IRQ_VECTOR, 4 },
		{ ACCEL_REG_DMA_SRC, 8 }, { ACCEL_REG_DMA_DST, 8 },
		{ ACCEL_REG_DMA_LEN, 4 }, { ACCEL_REG_DMA_COMPL, 8 },
		{ ACCEL_REG_DMA_DELAY, 4 },
	};

	for (unsigned i = 0; i < sizeof(rw) / sizeof(rw[0]); i++)
		if (off >= rw[i].off && off + len <= rw[i].off + rw[i].len)
			return true;
	return false;
}

static void accel_read(struct vdev *d, unsigned region, uint64_t off, void *buf,
		       uint32_t len)
{
	struct accel *a = d->priv;

	memset(buf, 0, len);
	switch (region) {
	case 0:
		if (off >= ACCEL_SCRATCH_PAGE && off + len <= ACCEL_SCRATCH_PAGE + 0x1000)
			memcpy(buf, a->bar0 + off, len);
		else if (off + len <= REGS_SIZE) {
			w64(a, ACCEL_REG_HOST_TSC, rdtsc());
			w32(a, ACCEL_REG_IRQ_MODE, srv_irq_mode(d->srv) == 2 ? 3 :
						   srv_irq_mode(d->srv) == 1 ? 2 : 0);
			memcpy(buf, a->regs + off, len);
		}
		break;
	case 1:
		memset(buf, 0x11, len);
		break;
	case 2:
		memcpy(buf, a->big + off, len);
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		memcpy(buf, a->rom + off, len);
		break;
	}
}

static void accel_write(struct vdev *d, unsigned region, uint64_t off, const void *buf,
			uint32_t len)
{
	struct accel *a = d->priv;
	uint32_t v = 0;

	if (region == 2) {
		memcpy(a->big + off, buf, len);
		return;
	}
	if (region != 0)
		return;
	if (off >= ACCEL_SCRATCH_PAGE && off + len <= ACCEL_SCRATCH_PAGE + 0x1000) {
		memcpy(a->bar0 + off, buf, len);
		return;
	}
	if (off + len > REGS_SIZE)
		return;
	if (writable((unsigned)off, len)) {
		memcpy(a->regs + off, buf, len);
		return;
	}
	memcpy(&v, buf, len < 4 ? len : 4);
	if (off == ACCEL_REG_DOORBELL && v == 1) {
		w32(a, ACCEL_REG_STATUS, ACCEL_STATUS_BUSY);
		a->kick = true;
	} else if (off == ACCEL_REG_IRQ_RAISE) {
		a->raise = (int)v;
	}
}

/* The copy the doorbell asked for, once its write was acknowledged. */
static void run_dma(struct accel *a)
{
	struct server *s = a->d->srv;
	uint64_t src = r64(a, ACCEL_REG_DMA_SRC), dst = r64(a, ACCEL_REG_DMA_DST);
	uint64_t compl = r64(a, ACCEL_REG_DMA_COMPL), count = r64(a, ACCEL_REG_DMA_COUNT);
	uint32_t len = r32(a, ACCEL_REG_DMA_LEN);
	void *from = srv_dma(s, src, len, false), *to = srv_dma(s, dst, len, true);
	uint32_t status = ACCEL_STATUS_DONE, delay = r32(a, ACCEL_REG_DMA_DELAY);

	/* A device that takes its time: the guest is back running (and
	 * watching) when the copy completes.  Busy-waited: a sleep's wake-up
	 * would add scheduler noise. */
	if (delay) {
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 <
		       (long)(delay > 1000000 ? 1000000 : delay));
	}
	if (!from || !to || !len || len > ACCEL_DMA_MAX) {
		w32(a, ACCEL_REG_DMA_ERRORS, r32(a, ACCEL_REG_DMA_ERRORS) + 1);
		status |= ACCEL_STATUS_ERROR;
		srv_log("DMA refused: 0x%llx -> 0x%llx, %u bytes (outside guest RAM?)",
			(unsigned long long)src, (unsigned long long)dst, len);
	} else {
		memmove(to, from, len);
		w64(a, ACCEL_REG_DMA_COUNT, ++count);
	}
	w32(a, ACCEL_REG_STATUS, status);
	if (compl) {
		uint64_t *c = srv_dma(s, compl, 16, true);

		if (c) {
			__atomic_store_n(c, count, __ATOMIC_RELEASE);
			__atomic_store_n(c + 1, rdtsc(), __ATOMIC_RELEASE);
		}
	}
	if (srv_verbose)
		srv_log("DMA %u bytes 0x%llx -> 0x%llx done (%llu so far)", len,
			(unsigned long long)src, (unsigned long long)dst,
			(unsigned long long)count);
	if (!srv_irq(s, r32(a, ACCEL_REG_IRQ_VECTOR)) && srv_verbose)
		srv_log("DMA done but no interrupt set up for vector %u",
			r32(a, ACCEL_REG_IRQ_VECTOR));
}

static void accel_after_reply(struct vdev *d)
{
	struct accel *a = d->priv;

	if (a->kick) {
		a->kick = false;
		run_dma(a);
	}
	if (a->raise >= 0) {
		if (!srv_irq(d->srv, (unsigned)a->raise))
			srv_log("cannot raise vector %d: not set up", a->raise);
		a->raise = -1;
	}
}

static void accel_reset(struct vdev *d)
{
	struct accel *a = d->priv;
	uint32_t resets = r32(a, ACCEL_REG_RESETS) + 1;
	uint32_t errors = r32(a, ACCEL_REG_DMA_ERRORS);
	uint64_t count = r64(a, ACCEL_REG_DMA_COUNT);

	memset(a->regs, 0, sizeof(a->regs));
	w32(a, ACCEL_REG_ID, ACCEL_ID_VALUE);
	w64(a, ACCEL_REG_BIG_SIZE, a->big_size);
	w32(a, ACCEL_REG_RESETS, resets);
	w32(a, ACCEL_REG_DMA_ERRORS, errors);
	w64(a, ACCEL_REG_DMA_COUNT, count);
	a->kick = false;
	a->raise = -1;
	d->cfg[0x04] = d->cfg[0x05] = 0;
	memset(d->cfg + ACCEL_CFG_SCRATCH, 0, 4);
}

static void accel_cfg_written(struct vdev *d, unsigned off, unsigned len)
{
	if (srv_verbose && off <= 4 && off + len > 4)
		srv_log("COMMAND = 0x%04x", d->cfg[4] | d->cfg[5] << 8);
}

int accel_init(struct vdev *d, uint64_t big_size)
{
	struct accel *a = calloc(1, sizeof(*a));
	int fd0, fd2;

	if (!a || big_size < (16ull << 20) || (big_size & (big_size - 1)))
		return -EINVAL;
	a->d = d;
	a->big_size = big_size;
	a->raise = -1;
	fd0 = memfd_map("accel-bar0", ACCEL_BAR0_SIZE, &a->bar0);
	fd2 = memfd_map("accel-bar2", big_size, &a->big);
	if (fd0 < 0 || fd2 < 0)
		return fd0 < 0 ? fd0 : fd2;
	/* Markers the guest looks for, through the slot and the trap. */
	memcpy(a->big, "BIGBAR00", 8);
	memcpy(a->big + big_size / 2, "BIGBARMD", 8);
	memcpy(a->big + big_size - ACCEL_BIG_TRAPPED, "BIGTRAP0", 8);
	a->rom[0] = 0x55;
	a->rom[1] = 0xaa;
	a->rom[2] = (uint8_t)(ACCEL_ROM_SIZE / 512);
	for (unsigned i = 3; i < ACCEL_ROM_SIZE; i++)
		a->rom[i] = (uint8_t)(i * 7);
	memcpy(a->rom + 0x10, "basalt-accel-rom", 16);

	d->name = "accel";
	d->priv = a;
	d->read = accel_read;
	d->write = accel_write;
	d->after_reply = accel_after_reply;
	d->reset = accel_reset;
	d->cfg_written = accel_cfg_written;
	d->reg[0] = (struct srv_region){
		.size = ACCEL_BAR0_SIZE, .fd = fd0,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
		.nareas = 1, .area = { { ACCEL_SCRATCH_PAGE, 0x1000 } },
	};
	d->reg[1] = (struct srv_region){
		.size = ACCEL_BAR1_SIZE, .fd = -1,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
	};
	d->reg[2] = (struct srv_region){
		.size = big_size, .fd = fd2,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
		.nareas = 1, .area = { { 0, big_size - ACCEL_BIG_TRAPPED } },
	};
	d->reg[VFIO_PCI_ROM_REGION_INDEX] = (struct srv_region){
		.size = ACCEL_ROM_SIZE, .fd = -1, .flags = VFIO_REGION_INFO_FLAG_READ,
	};
	d->reg[SRV_CONFIG] = (struct srv_region){
		.size = 256, .fd = -1,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
	};
	for (unsigned i = 3; i < SRV_REGIONS; i++)
		if (i != VFIO_PCI_ROM_REGION_INDEX && i != SRV_CONFIG)
			d->reg[i].fd = -1;
	d->irq_count[VFIO_PCI_INTX_IRQ_INDEX] = 1;
	d->irq_count[VFIO_PCI_MSI_IRQ_INDEX] = ACCEL_MSI_VECTORS;
	d->irq_count[VFIO_PCI_MSIX_IRQ_INDEX] = ACCEL_MSIX_VECTORS;
	accel_config_space(d->cfg);
	d->cfg_wmask[0x04] = 0x46;          /* memory, bus master, parity */
	d->cfg_wmask[0x05] = 0x05;          /* SERR, INTx disable */
	memset(d->cfg_wmask + ACCEL_CFG_SCRATCH, 0xff, 4);
	accel_reset(d);
	w32(a, ACCEL_REG_RESETS, 0);
	return 0;
}
