/* virtio_blk: drives the first virtio-blk device from ring 3 with the
 * runtime's polling driver, one request at a time:
 *   GET_ID (compared with cmdline serial=), a read of sectors 0-7 (the
 *   host wrote "basalt-blk-test-" over them), writes of sectors 100-107
 *   (each filled with its number's low byte) and a read back, FLUSH,
 *   DISCARD of 200-215, WRITE_ZEROES of 300-303 (read back as zeros), a
 *   read past the end (IOERR) and an unknown type (UNSUPP); with two or
 *   more queues, sector 400 is written through queue 1 and read through 0.
 * With cmdline ro=1 the disk must be read-only: the feature is offered and
 * a write fails with IOERR.  With records=R (durability test) it instead
 * writes record n to sector n, FLUSHes, prints "flushed n", for n = 0, 1,
 * ... until the disk is full, each record naming round R and n; the host
 * kills basalt at a random moment and checks every flushed record.  The host side (tests/integration/
 * virtio-blk-guest.sh) then checks the image.  Exit 0 if every check held. */
#include "lib/guest.h"

#define VIRTIO_ID_BLOCK 2
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define F_RO 5
#define F_FLUSH 9
#define F_MQ 12
#define F_DISCARD 13
#define F_WRITE_ZEROES 14

struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static uint8_t qmem[2][GUEST_VQ_MEM] __attribute__((aligned(4096)));
static uint8_t data[8192] __attribute__((aligned(4096)));
static struct req_hdr hdr;
static struct { uint64_t sector; uint32_t num, flags; } range;
static uint8_t status;
static unsigned checks, failed;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		checks++;                                                  \
		if (!(cond)) {                                             \
			failed++;                                          \
			guest_printf("virtio_blk: FAIL: " __VA_ARGS__);   \
			guest_printf("\n");                                \
		}                                                          \
	} while (0)

/* One request: header, optional data (read = device writes it), status. */
static int req(struct guest_vq *vq, uint32_t type, uint64_t sector, void *buf,
	       uint32_t len, bool device_writes)
{
	struct guest_vbuf b[3];
	unsigned n = 0;

	hdr = (struct req_hdr){ type, 0, sector };
	status = 0xee;
	b[n++] = (struct guest_vbuf){ &hdr, sizeof(hdr), false };
	if (len)
		b[n++] = (struct guest_vbuf){ buf, len, device_writes };
	b[n++] = (struct guest_vbuf){ &status, 1, true };
	return guest_vq_run(vq, b, n) < 0 ? -1 : status;
}

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Durability: record n in sector n, then FLUSH, then tell the host. */
static int records(struct guest_vq *vq, uint64_t capacity, uint64_t round)
{
	for (uint64_t n = 0; n < capacity; n++) {
		memset(data, 0, 512);
		guest_snprintf((char *)data, 64, "REC %llu %llu\n", (unsigned long long)round,
			       (unsigned long long)n);
		if (req(vq, T_OUT, n, data, 512, false) != S_OK ||
		    req(vq, T_FLUSH, 0, NULL, 0, false) != S_OK) {
			guest_printf("virtio_blk: record %llu failed\n", (unsigned long long)n);
			return GUEST_EXIT_FAIL;
		}
		guest_printf("flushed %llu\n", (unsigned long long)n);
	}
	return GUEST_EXIT_PASS;
}

int guest_main(void)
{
	struct guest_virtio v;
	struct guest_vq vq[2];
	uint64_t feat, cap_lo, cap_hi, capacity;
	const char *serial = guest_cmdline_get("serial");
	bool ro = guest_cmdline_u64("ro", 0);
	unsigned nq;
	int r;

	if (guest_virtio_find(VIRTIO_ID_BLOCK, 0, &v)) {
		guest_printf("virtio_blk: no virtio-blk device\n");
		return GUEST_EXIT_FAIL;
	}
	r = guest_virtio_negotiate(&v, 1ull << F_FLUSH | 1ull << F_MQ | 1ull << F_DISCARD |
				   1ull << F_WRITE_ZEROES | 1ull << F_RO, &feat);
	CHECK(r == 0, "feature negotiation (device offers 0x%llx)",
	      (unsigned long long)v.device_features);
	cap_lo = mmio_read32(v.devcfg);
	cap_hi = mmio_read32(v.devcfg + 4);
	capacity = cap_hi << 32 | cap_lo;
	nq = mmio_read16(v.devcfg + 34);
	guest_printf("virtio_blk: device 00:%02x.0, %llu sectors, %u queues, features 0x%llx\n",
		     v.dev, (unsigned long long)capacity, nq, (unsigned long long)feat);
	if (nq > 2)
		nq = 2;
	for (unsigned q = 0; q < nq; q++)
		CHECK(guest_vq_init(&v, q, &vq[q], qmem[q], 64) == 0, "queue %u set-up", q);
	guest_virtio_driver_ok(&v);
	CHECK(guest_virtio_status(&v) == 0x0f, "status 0x%x after DRIVER_OK",
	      guest_virtio_status(&v));
	CHECK(!!(feat & 1ull << F_RO) == ro, "read-only feature %s", ro ? "missing" : "offered");

	if (guest_cmdline_get("records"))
		return records(&vq[0], capacity, guest_cmdline_u64("records", 0));
	/* GET_ID */
	memset(data, 0, 32);
	CHECK(req(&vq[0], T_GET_ID, 0, data, 20, true) == S_OK, "GET_ID status");
	if (serial)
		CHECK(!strncmp((char *)data, serial, 20), "serial '%s', expected '%s'",
		      (char *)data, serial);
	/* the host's pattern in sectors 0-7 */
	CHECK(req(&vq[0], T_IN, 0, data, 4096, true) == S_OK, "read of sectors 0-7");
	for (unsigned i = 0; i < 4096; i += 16)
		if (memcmp(data + i, "basalt-blk-test-", 16)) {
			CHECK(0, "sector data at byte %u is not the host's pattern", i);
			break;
		}
	if (ro) {
		memset(data, 0x42, 512);
		CHECK(req(&vq[0], T_OUT, 100, data, 512, false) == S_IOERR,
		      "write to a read-only disk did not fail with IOERR");
		goto done;
	}
	/* writes, read back, flush */
	for (unsigned s = 0; s < 8; s++)
		memset(data + 512 * s, (uint8_t)(100 + s), 512);
	CHECK(req(&vq[0], T_OUT, 100, data, 4096, false) == S_OK, "write of sectors 100-107");
	memset(data, 0, 4096);
	CHECK(req(&vq[0], T_IN, 100, data, 4096, true) == S_OK, "read of sectors 100-107");
	CHECK(all(data, 512, 100) && all(data + 3584, 512, 107), "read back what was written");
	CHECK(req(&vq[0], T_FLUSH, 0, NULL, 0, false) == S_OK, "FLUSH");
	/* DISCARD and WRITE_ZEROES */
	range.sector = 200;
	range.num = 16;
	range.flags = 0;
	CHECK(req(&vq[0], T_DISCARD, 0, &range, sizeof(range), false) == S_OK, "DISCARD");
	range.sector = 300;
	range.num = 4;
	CHECK(req(&vq[0], T_WRITE_ZEROES, 0, &range, sizeof(range), false) == S_OK,
	      "WRITE_ZEROES");
	memset(data, 0x33, 2048);
	CHECK(req(&vq[0], T_IN, 300, data, 2048, true) == S_OK && all(data, 2048, 0),
	      "sectors 300-303 read back as zeros");
	/* errors the guest can cause */
	CHECK(req(&vq[0], T_IN, capacity, data, 512, true) == S_IOERR, "read past the end");
	CHECK(req(&vq[0], T_IN, 0, data, 100, true) == S_IOERR, "read of a partial sector");
	CHECK(req(&vq[0], 99, 0, NULL, 0, false) == S_UNSUPP, "unknown request type");
	/* a second queue */
	if (nq > 1) {
		memset(data, 0x90, 512);
		CHECK(req(&vq[1], T_OUT, 400, data, 512, false) == S_OK, "write through queue 1");
		memset(data, 0, 512);
		CHECK(req(&vq[0], T_IN, 400, data, 512, true) == S_OK && all(data, 512, 0x90),
		      "read back through queue 0");
	}
	CHECK(req(&vq[0], T_FLUSH, 0, NULL, 0, false) == S_OK, "final FLUSH");
done:
	CHECK(guest_virtio_status(&v) == 0x0f, "device status 0x%x at the end",
	      guest_virtio_status(&v));
	guest_printf("virtio_blk: %u checks, %u failed\n", checks, failed);
	return failed ? GUEST_EXIT_FAIL : GUEST_EXIT_PASS;
}
