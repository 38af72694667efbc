/* virtio-blk through the virtio-pci transport, with fake guest RAM, the
 * synchronous block engine on a temporary image, and the test playing the
 * guest driver: each request type, any descriptor layout, range and
 * read-only errors, unanswerable framing, reset. */
#include <check.h>
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basalt/virtio/blk.h"
#include "fixtures.h"

#define RAM_GPA 0x100000ull
#define RAM_SIZE 0x80000ull
#define DESC (RAM_GPA + 0x0)
#define AVAIL (RAM_GPA + 0x1000)
#define USED (RAM_GPA + 0x2000)
#define BUF (RAM_GPA + 0x10000)
#define QSIZE 16
#define IMG_SIZE (64 * 1024)

static uint8_t *ram;
static struct guest_mem gm;
static char *img;
static struct blk_backend *bk;
static struct virtio_blk *d;
static uint16_t avail_idx, used_seen;
static unsigned fires;

static uint8_t *H(uint64_t gpa) { return ram + (gpa - RAM_GPA); }

static void s_route(void *c, unsigned v, uint64_t a, uint32_t dd, bool ok)
{
	(void)c; (void)v; (void)a; (void)dd; (void)ok;
}

static void s_fire(void *c, unsigned v)
{
	(void)c; (void)v;
	fires++;
}

static const struct msix_sink sink = { s_route, s_fire, NULL };

static uint32_t rd(uint64_t off, unsigned len)
{
	uint32_t v = 0;

	d->t.f.bar[VIRTIO_PCI_BAR].ops->read(&d->t, off, &v, len);
	return v;
}

static void wr(uint64_t off, unsigned len, uint32_t v)
{
	d->t.f.bar[VIRTIO_PCI_BAR].ops->write(&d->t, off, &v, len);
}

static int start_device_opts(bool readonly, bool direct)
{
	struct blk_opts o = { .readonly = readonly, .direct = direct,
			      .cache = BLK_CACHE_WRITEBACK };
	struct virtio_blk_params p = {
		.name = "virtio-blk-test", .loop = NULL, .serial = "disk-serial-1",
		.num_queues = 1, .queue_size = QSIZE, .gm = &gm, .sink = &sink,
		.vm_fd = -1,
	};
	struct bs_err e;

	if (blk_open(&bk, img, &o, NULL, &e))
		return -1;
	p.backend = bk;
	ck_assert_int_eq(virtio_blk_create(&d, &p, &e), 0);
	wr(VPCI_STATUS, 1, 3);
	wr(VPCI_GFSELECT, 4, 1);
	wr(VPCI_GF, 4, 1);		/* VERSION_1 */
	wr(VPCI_STATUS, 1, 0x0b);
	wr(VPCI_Q_SELECT, 2, 0);
	wr(VPCI_Q_SIZE, 2, QSIZE);
	wr(VPCI_Q_DESCLO, 4, (uint32_t)DESC);
	wr(VPCI_Q_AVAILLO, 4, (uint32_t)AVAIL);
	wr(VPCI_Q_USEDLO, 4, (uint32_t)USED);
	wr(VPCI_Q_ENABLE, 2, 1);
	wr(VPCI_STATUS, 1, 0x0f);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), 0x0f);
	return 0;
}

static void start_device(bool readonly)
{
	ck_assert_int_eq(start_device_opts(readonly, false), 0);
}

static void setup(void)
{
	static char zeros[IMG_SIZE];

	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	gm_init_fake(&gm, ram, RAM_GPA, RAM_SIZE);
	img = fixture_tmpfile(zeros, sizeof(zeros), ".img");
	avail_idx = used_seen = 0;
	fires = 0;
	start_device(false);
}

static void teardown(void)
{
	virtio_blk_destroy(d);
	blk_close(bk);
	unlink(img);
	free(img);
	free(ram);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct virtq_desc x = {
		htole64(addr), htole32(len), htole16(flags),
		htole16((uint16_t)(i + 1)),
	};

	memcpy(H(DESC + 16 * i), &x, 16);
}

/* A chain of n descriptors from slot 0: bufs[i] = {gpa, len, writable}. */
struct b { uint64_t gpa; uint32_t len; bool w; };

static void submit(const struct b *bufs, unsigned n)
{
	uint16_t idx;

	for (unsigned i = 0; i < n; i++)
		desc(i, bufs[i].gpa, bufs[i].len,
		     (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
				(bufs[i].w ? VIRTQ_DESC_F_WRITE : 0)));
	memcpy(H(AVAIL + 4 + 2 * (avail_idx % QSIZE)), &(uint16_t){ 0 }, 2);
	avail_idx++;
	idx = htole16(avail_idx);
	memcpy(H(AVAIL + 2), &idx, 2);
	virtio_blk_process(d, 0);
}

/* The used element of the last completed request; checks one arrived. */
static uint32_t used_len(void)
{
	uint16_t idx;
	uint32_t len;

	memcpy(&idx, H(USED + 2), 2);
	ck_assert_uint_eq(le16toh(idx), (uint16_t)(used_seen + 1));
	memcpy(&len, H(USED + 4 + 8 * (used_seen % QSIZE) + 4), 4);
	used_seen++;
	return le32toh(len);
}

static void hdr(uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint32_t t = htole32(type), z = 0;
	uint64_t s = htole64(sector);

	memcpy(H(gpa), &t, 4);
	memcpy(H(gpa + 4), &z, 4);
	memcpy(H(gpa + 8), &s, 8);
}

static void img_read(off_t off, void *buf, size_t n)
{
	int fd = open(img, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

#define HDR BUF
#define DATA (BUF + 0x1000)
#define STATUS (BUF + 0x3000)

START_TEST(config_space)
{
	uint32_t lo = rd(VIRTIO_PCI_DEVCFG_OFF, 4), hi = rd(VIRTIO_PCI_DEVCFG_OFF + 4, 4);

	ck_assert_uint_eq(((uint64_t)hi << 32 | lo), IMG_SIZE / 512);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 34, 2), 1);	/* num_queues */
	/* seg_max: an indirect table of seg_max + 2 must fit the queue */
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 12, 4), QSIZE - 2);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 40, 4), 1);	/* max_discard_seg */
	wr(VPCI_DFSELECT, 4, 0);
	ck_assert(rd(VPCI_DF, 4) & (1u << VIRTIO_BLK_F_FLUSH));
	ck_assert(!(rd(VPCI_DF, 4) & (1u << VIRTIO_BLK_F_RO)));
}
END_TEST

START_TEST(write_then_read)
{
	uint8_t pat[1024], back[1024];

	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + 1);
	/* OUT: header, data split over two descriptors, status */
	hdr(HDR, VIRTIO_BLK_T_OUT, 2);
	memcpy(H(DATA), pat, 300);
	memcpy(H(DATA + 0x800), pat + 300, 724);
	*H(STATUS) = 0xff;
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 300, 0 }, { DATA + 0x800, 724, 0 },
			     { STATUS, 1, 1 } }, 4);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used_len(), 1);
	img_read(1024, back, sizeof(back));
	ck_assert_mem_eq(back, pat, sizeof(pat));
	/* IN: data and status in one writable descriptor */
	memset(H(DATA), 0, 0x1000);
	hdr(HDR, VIRTIO_BLK_T_IN, 2);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 1025, 1 } }, 2);
	ck_assert_mem_eq(H(DATA), pat, sizeof(pat));
	ck_assert_uint_eq(*H(DATA + 1024), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used_len(), 1025);
	/* OUT with header and data in one descriptor (any layout) */
	hdr(DATA, VIRTIO_BLK_T_OUT, 8);
	memset(H(DATA + 16), 0x5a, 512);
	submit((struct b[]){ { DATA, 16 + 512, 0 }, { STATUS, 1, 1 } }, 2);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_OK);
	img_read(8 * 512, back, 512);
	ck_assert_uint_eq(back[0], 0x5a);
	ck_assert_uint_eq(back[511], 0x5a);
	used_len();
	/* FLUSH */
	hdr(HDR, VIRTIO_BLK_T_FLUSH, 0);
	submit((struct b[]){ { HDR, 16, 0 }, { STATUS, 1, 1 } }, 2);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_OK);
	used_len();
	ck_assert_uint_eq(d->errors, 0);
}
END_TEST

START_TEST(get_id_discard_zeroes)
{
	uint8_t back[1024];
	struct { uint64_t s; uint32_t n, f; } seg = { htole64(4), htole32(2), 0 };

	hdr(HDR, VIRTIO_BLK_T_GET_ID, 0);
	memset(H(DATA), 0xee, 32);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 20, 1 }, { STATUS, 1, 1 } }, 3);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(H(DATA), "disk-serial-1\0\0\0\0\0\0\0", 20);
	ck_assert_uint_eq(H(DATA)[20], 0xee);
	used_len();
	/* fill sectors 4-5, then WRITE_ZEROES them */
	hdr(HDR, VIRTIO_BLK_T_OUT, 4);
	memset(H(DATA), 0x77, 1024);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 1024, 0 }, { STATUS, 1, 1 } }, 3);
	used_len();
	hdr(HDR, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	memcpy(H(HDR + 16), &seg, 16);
	submit((struct b[]){ { HDR, 32, 0 }, { STATUS, 1, 1 } }, 2);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_OK);
	used_len();
	img_read(4 * 512, back, 1024);
	for (unsigned i = 0; i < 1024; i++)
		ck_assert_uint_eq(back[i], 0);
	/* DISCARD with the unmap flag is not allowed (5.2.6.2) */
	hdr(HDR, VIRTIO_BLK_T_DISCARD, 0);
	seg.f = htole32(1);
	memcpy(H(HDR + 16), &seg, 16);
	submit((struct b[]){ { HDR, 32, 0 }, { STATUS, 1, 1 } }, 2);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_UNSUPP);
	used_len();
	seg.f = 0;
	memcpy(H(HDR + 16), &seg, 16);
	submit((struct b[]){ { HDR, 32, 0 }, { STATUS, 1, 1 } }, 2);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_OK);
	used_len();
}
END_TEST

START_TEST(errors)
{
	/* past the end, partial sector, range overflow, unknown type */
	hdr(HDR, VIRTIO_BLK_T_IN, IMG_SIZE / 512);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 512, 1 }, { STATUS, 1, 1 } }, 3);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_IOERR);
	used_len();
	hdr(HDR, VIRTIO_BLK_T_IN, 0);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 100, 1 }, { STATUS, 1, 1 } }, 3);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_IOERR);
	used_len();
	hdr(HDR, VIRTIO_BLK_T_OUT, ~0ull / 512);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 512, 0 }, { STATUS, 1, 1 } }, 3);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_IOERR);
	used_len();
	hdr(HDR, 99, 0);
	submit((struct b[]){ { HDR, 16, 0 }, { STATUS, 1, 1 } }, 2);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_UNSUPP);
	used_len();
	ck_assert_uint_eq(d->errors, 4);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), 0x0f);	/* all answerable */
	/* no status byte: cannot be answered, the device needs a reset */
	hdr(HDR, VIRTIO_BLK_T_FLUSH, 0);
	submit((struct b[]){ { HDR, 16, 0 } }, 1);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* the reset completes (nothing in flight) and clears everything */
	wr(VPCI_STATUS, 1, 0);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), 0);
	ck_assert_uint_eq(d->inflight, 0);
}
END_TEST

START_TEST(short_header)
{
	hdr(HDR, VIRTIO_BLK_T_IN, 0);
	submit((struct b[]){ { HDR, 8, 0 }, { STATUS, 1, 1 } }, 2);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(*H(STATUS), 0);		/* never written */
}
END_TEST

START_TEST(read_only)
{
	virtio_blk_destroy(d);
	blk_close(bk);
	avail_idx = used_seen = 0;
	memset(ram, 0, RAM_SIZE);
	start_device(true);
	wr(VPCI_DFSELECT, 4, 0);
	ck_assert(rd(VPCI_DF, 4) & (1u << VIRTIO_BLK_F_RO));
	ck_assert(!(rd(VPCI_DF, 4) & (1u << VIRTIO_BLK_F_DISCARD)));
	hdr(HDR, VIRTIO_BLK_T_OUT, 0);
	memset(H(DATA), 0x11, 512);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 512, 0 }, { STATUS, 1, 1 } }, 3);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_IOERR);
	used_len();
	/* reads still work */
	hdr(HDR, VIRTIO_BLK_T_IN, 0);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 512, 1 }, { STATUS, 1, 1 } }, 3);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(H(DATA)[0], 0);
	used_len();
}
END_TEST

START_TEST(direct_bounce)
{
	uint8_t pat[4096], back[4096];

	virtio_blk_destroy(d);
	blk_close(bk);
	avail_idx = used_seen = 0;
	memset(ram, 0, RAM_SIZE);
	if (start_device_opts(false, true)) {
		/* The file system of the temporary image has no O_DIRECT. */
		fprintf(stderr, "direct_bounce: skipped, no O_DIRECT for %s\n", img);
		bk = NULL;
		d = NULL;
		return;
	}
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 20, 4), 4096);	/* blk_size */
	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 3 + 5);
	/* misaligned guest buffers, split oddly: bounced */
	hdr(HDR, VIRTIO_BLK_T_OUT, 8);
	memcpy(H(DATA + 16), pat, 2000);
	memcpy(H(DATA + 0x1800 + 8), pat + 2000, 2096);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA + 16, 2000, 0 },
			     { DATA + 0x1800 + 8, 2096, 0 }, { STATUS, 1, 1 } }, 4);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_OK);
	used_len();
	img_read(4096, back, sizeof(back));
	ck_assert_mem_eq(back, pat, sizeof(pat));
	memset(H(DATA), 0, 0x2000);
	hdr(HDR, VIRTIO_BLK_T_IN, 8);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA + 4, 4096, 1 }, { STATUS, 1, 1 } }, 3);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(H(DATA + 4), pat, sizeof(pat));
	used_len();
	/* less than a logical block, or not on one: IOERR */
	hdr(HDR, VIRTIO_BLK_T_IN, 1);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 4096, 1 }, { STATUS, 1, 1 } }, 3);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_IOERR);
	used_len();
	hdr(HDR, VIRTIO_BLK_T_IN, 8);
	submit((struct b[]){ { HDR, 16, 0 }, { DATA, 512, 1 }, { STATUS, 1, 1 } }, 3);
	ck_assert_uint_eq(*H(STATUS), VIRTIO_BLK_S_IOERR);
	used_len();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("blk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, config_space);
	tcase_add_test(tc, write_then_read);
	tcase_add_test(tc, get_id_discard_zeroes);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, short_header);
	tcase_add_test(tc, read_only);
	tcase_add_test(tc, direct_bounce);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
