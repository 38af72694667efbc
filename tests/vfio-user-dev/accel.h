/* The test "accelerator" served by vfio-user-dev (see README.md there):
 * its PCI identity, regions and register map.  Shared by the server, the
 * unit tests (its configuration space is a fixture) and, by value, the
 * test guests (tests/guests/vfio_user.c repeats the register offsets). */
#ifndef BASALT_TEST_ACCEL_H
#define BASALT_TEST_ACCEL_H

#include <stdint.h>

#define ACCEL_VENDOR 0x1234
#define ACCEL_DEVICE 0xba5a
#define ACCEL_ID_VALUE 0xba5a0001u

/* Regions (VFIO PCI indexes). */
#define ACCEL_BAR0_SIZE 0x4000ull      /* registers, scratch page, MSI-X */
#define ACCEL_BAR1_SIZE 0x100ull       /* an I/O BAR: the VMM must hide it */
#define ACCEL_BIG_DEFAULT (8ull << 30) /* BAR 2 (64-bit prefetchable, memfd) */
#define ACCEL_BIG_TRAPPED (2ull << 20) /* its last 2 MiB: not mmappable */
#define ACCEL_ROM_SIZE 0x8000ull

/* BAR 0 layout. */
#define ACCEL_REG_ID 0x000              /* RO ACCEL_ID_VALUE */
#define ACCEL_REG_STATUS 0x004          /* RO: bit 0 busy, 1 done, 2 error */
#define ACCEL_REG_SCRATCH 0x008         /* RW */
#define ACCEL_REG_IRQ_VECTOR 0x00c      /* RW: vector raised when a DMA ends */
#define ACCEL_REG_DMA_SRC 0x010         /* RW 64: guest address */
#define ACCEL_REG_DMA_DST 0x018         /* RW 64: guest address */
#define ACCEL_REG_DMA_LEN 0x020         /* RW 32: bytes (<= 64 MiB) */
#define ACCEL_REG_DMA_COMPL 0x028       /* RW 64: where to write DMA_COUNT, 0 none */
#define ACCEL_REG_DOORBELL 0x030        /* W: 1 = start the copy */
#define ACCEL_REG_IRQ_RAISE 0x034       /* W: raise vector N now */
#define ACCEL_REG_DMA_COUNT 0x038       /* RO 64: copies completed */
#define ACCEL_REG_BIG_SIZE 0x040        /* RO 64: size of BAR 2 */
#define ACCEL_REG_RESETS 0x048          /* RO: device resets seen */
#define ACCEL_REG_DMA_ERRORS 0x04c      /* RO: copies refused (bad address) */
#define ACCEL_REG_IRQ_MODE 0x050        /* RO: 0 none, 2 MSI, 3 MSI-X */
#define ACCEL_REG_DMA_DELAY 0x054       /* RW: microseconds before a DMA starts */
#define ACCEL_REG_HOST_TSC 0x058        /* RO 64: the server's TSC when read */
/* After a copy the device writes, at DMA_COMPL, the copy count and, at
 * DMA_COMPL + 8, its TSC just before it signals the interrupt. */
#define ACCEL_SCRATCH_PAGE 0x1000       /* 4 KiB, mmappable (sparse area) */
#define ACCEL_MSIX_TABLE 0x2000
#define ACCEL_MSIX_PBA 0x3000
#define ACCEL_MSIX_VECTORS 4
#define ACCEL_MSI_VECTORS 4
#define ACCEL_DMA_MAX (64u << 20)

#define ACCEL_STATUS_BUSY 1u
#define ACCEL_STATUS_DONE 2u
#define ACCEL_STATUS_ERROR 4u

/* Configuration space offsets of note. */
#define ACCEL_CAP_PM 0x40
#define ACCEL_CAP_MSI 0x48
#define ACCEL_CAP_PCIE 0x60
#define ACCEL_CAP_MSIX 0xa0
#define ACCEL_CAP_VNDR 0xb0
#define ACCEL_CAP_VPD 0xc0              /* dropped by the VMM */
#define ACCEL_CAP_AF 0xd0               /* dropped by the VMM */
#define ACCEL_CFG_SCRATCH 0xf0          /* device-specific RW register */
#define ACCEL_CFG_MAGIC 0xe0            /* device-specific RO 0x5a5aba5a */

/* The device's 256-byte configuration space at reset. */
void accel_config_space(uint8_t cfg[256]);

#endif
