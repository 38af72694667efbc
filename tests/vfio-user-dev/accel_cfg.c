/* Configuration space of the test accelerator at reset (accel.h).  The
 * capability list is deliberately out of address order and contains two
 * capabilities the VMM must drop (VPD, advanced features):
 *   0x40 PM -> 0x48 MSI (64-bit, maskable, 4 vectors) -> 0x60 PCIe v2
 *   endpoint with FLR -> 0xc0 VPD -> 0xa0 MSI-X (4 vectors, BAR 0) ->
 *   0xd0 AF -> 0xb0 vendor-specific (16 bytes) -> end. */
#include <string.h>

#include "accel.h"

static void w16(uint8_t *c, unsigned off, uint16_t v) { memcpy(c + off, &v, 2); }
static void w32(uint8_t *c, unsigned off, uint32_t v) { memcpy(c + off, &v, 4); }

void accel_config_space(uint8_t c[256])
{
	memset(c, 0, 256);
	w16(c, 0x00, ACCEL_VENDOR);
	w16(c, 0x02, ACCEL_DEVICE);
	w16(c, 0x06, 0x0010);                 /* capability list */
	c[0x08] = 0x01;                       /* revision */
	c[0x0b] = 0x12;                       /* processing accelerator */
	c[0x0e] = 0x80;                       /* multi-function bit: must go */
	w32(c, 0x10, 0x00000000);             /* BAR 0: 32-bit memory */
	w32(c, 0x14, 0x00000001);             /* BAR 1: I/O */
	w32(c, 0x18, 0x0000000c);             /* BAR 2: 64-bit prefetchable */
	w16(c, 0x2c, ACCEL_VENDOR);
	w16(c, 0x2e, 0x0001);
	c[0x34] = ACCEL_CAP_PM;
	c[0x3d] = 1;                          /* INTA# */

	c[0x40] = 0x01; c[0x41] = ACCEL_CAP_MSI;
	w16(c, 0x42, 0xc803);                 /* PM 1.2, PME from D3hot/cold */
	w16(c, 0x44, 0x0008);                 /* No_Soft_Reset */

	c[0x48] = 0x05; c[0x49] = ACCEL_CAP_PCIE;
	w16(c, 0x4a, 0x0184);                 /* 64-bit, maskable, 4 vectors */

	c[0x60] = 0x10; c[0x61] = ACCEL_CAP_VPD;
	w16(c, 0x62, 0x0002);                 /* v2, endpoint */
	w32(c, 0x64, 0x10000001);             /* FLR, MPS 256 */
	w16(c, 0x68, 0x2010);                 /* MRRS 512, relaxed ordering */
	w32(c, 0x6c, 0x00400c41);             /* link x4: must read 0 */
	w16(c, 0x72, 0x1041);
	w32(c, 0x84, 0x00000010);             /* DEVCAP2 */

	c[0xc0] = 0x03; c[0xc1] = ACCEL_CAP_MSIX;   /* VPD */
	w16(c, 0xc2, 0x8000);
	w32(c, 0xc4, 0x76543210);

	c[0xa0] = 0x11; c[0xa1] = ACCEL_CAP_AF;
	w16(c, 0xa2, ACCEL_MSIX_VECTORS - 1);
	w32(c, 0xa4, ACCEL_MSIX_TABLE | 0);
	w32(c, 0xa8, ACCEL_MSIX_PBA | 0);

	c[0xd0] = 0x13; c[0xd1] = ACCEL_CAP_VNDR;   /* advanced features */
	c[0xd2] = 0x06; c[0xd3] = 0x03;

	c[0xb0] = 0x09; c[0xb1] = 0x00;
	c[0xb2] = 16;
	memcpy(c + 0xb4, "BSLTaccel01", 11);

	w32(c, ACCEL_CFG_MAGIC, 0x5a5aba5a);
}
