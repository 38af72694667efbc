/* virtio-balloon through the virtio-pci transport, with the test playing
 * the guest driver on real memfd-backed guest RAM (two regions with a hole
 * between them), so that released pages can be seen leaving the memfd
 * (st_blocks) and reading back as zero: features and queue roles per
 * negotiated features, configuration space and target changes, inflate and
 * deflate with good, out-of-range and misaligned input, statistics, free
 * page reporting, protocol violations, reset. */
#include <check.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basalt/virtio/balloon.h"
#include "fixtures.h"

#define MIB (1ull << 20)
#define LOW_GPA 0x0ull               /* region 0: 64 MiB */
#define HIGH_GPA 0x100000000ull      /* region 1: 64 MiB at 4 GiB */
#define REGION (64 * MIB)
#define QSIZE 16
/* Rings of queue q at RING(q); buffers from BUF; pages we balloon from PAGES. */
#define RING(q) (0x10000ull + 0x4000ull * (q))
#define DESC(q) RING(q)
#define AVAIL(q) (RING(q) + 0x1000)
#define USED(q) (RING(q) + 0x2000)
#define BUF 0x40000ull
#define PAGES (1 * MIB)
#define PFN(gpa) ((uint32_t)((gpa) >> 12))

static struct guest_mem gm;
static struct virtio_balloon *d;
static uint16_t avail_idx[4], used_seen[4];

static void s_route(void *c, unsigned v, uint64_t a, uint32_t dd, bool ok)
{
	(void)c; (void)v; (void)a; (void)dd; (void)ok;
}

static void s_fire(void *c, unsigned v)
{
	(void)c; (void)v;
}

static const struct msix_sink sink = { s_route, s_fire, NULL };

static uint8_t *H(uint64_t gpa)
{
	uint8_t *p = gm_ptr(&gm, gpa, 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

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

/* Host memory the memfd holds, in 4 KiB pages. */
static uint64_t host_pages(void)
{
	struct stat st;

	ck_assert_int_eq(fstat(gm.memfd, &st), 0);
	return (uint64_t)st.st_blocks * 512 / 4096;
}

static void create(bool reporting, bool oom)
{
	struct virtio_balloon_params p = {
		.name = "virtio-balloon-test", .loop = NULL, .target_pages = 256,
		.deflate_on_oom = oom, .free_page_reporting = reporting, .gm = &gm,
		.sink = &sink, .vm_fd = -1, .stats_efd = -1,
	};
	struct bs_err e;

	ck_assert_int_eq(virtio_balloon_create(&d, &p, &e), 0);
}

/* The driver side of initialisation: features, nq queues, DRIVER_OK. */
static void start(uint64_t features, unsigned nq)
{
	wr(VPCI_STATUS, 1, 3);
	wr(VPCI_GFSELECT, 4, 0);
	wr(VPCI_GF, 4, (uint32_t)features);
	wr(VPCI_GFSELECT, 4, 1);
	wr(VPCI_GF, 4, 1);		/* VERSION_1 */
	wr(VPCI_STATUS, 1, 0x0b);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), 0x0b);
	/* Rings allocated in the memfd now: the tests count released pages. */
	memset(H(RING(0)), 0, 4 * 0x4000);
	for (unsigned q = 0; q < nq; q++) {
		wr(VPCI_Q_SELECT, 2, q);
		wr(VPCI_Q_SIZE, 2, QSIZE);
		wr(VPCI_Q_DESCLO, 4, (uint32_t)DESC(q));
		wr(VPCI_Q_AVAILLO, 4, (uint32_t)AVAIL(q));
		wr(VPCI_Q_USEDLO, 4, (uint32_t)USED(q));
		wr(VPCI_Q_ENABLE, 2, 1);
	}
	wr(VPCI_STATUS, 1, 0x0f);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), 0x0f);
}

static void setup(void)
{
	struct bs_err e;

	ck_assert_int_eq(gm_init(&gm, 2 * REGION, &e), 0);
	ck_assert_int_eq(gm_add_region(&gm, LOW_GPA, REGION, &e), 0);
	ck_assert_int_eq(gm_add_region(&gm, HIGH_GPA, REGION, &e), 0);
	memset(avail_idx, 0, sizeof(avail_idx));
	memset(used_seen, 0, sizeof(used_seen));
	d = NULL;
}

static void teardown(void)
{
	virtio_balloon_destroy(d);
	gm_destroy(&gm);
}

struct b { uint64_t gpa; uint32_t len; bool w; };

/* Makes a chain of n buffers available on queue q (descriptors from slot
 * `first`) and lets the device serve the queue. */
static void submit_at(unsigned q, unsigned first, const struct b *bufs, unsigned n)
{
	uint16_t idx, head = htole16((uint16_t)first);

	for (unsigned i = first; i < first + n; i++) {
		const struct b *x0 = &bufs[i - first];
		struct virtq_desc x = {
			htole64(x0->gpa), htole32(x0->len),
			htole16((uint16_t)((i + 1 < first + n ? VIRTQ_DESC_F_NEXT : 0) |
					   (x0->w ? VIRTQ_DESC_F_WRITE : 0))),
			htole16((uint16_t)(i + 1)),
		};

		memcpy(H(DESC(q) + 16 * i), &x, 16);
	}
	memcpy(H(AVAIL(q) + 4 + 2 * (avail_idx[q] % QSIZE)), &head, 2);
	avail_idx[q]++;
	idx = htole16(avail_idx[q]);
	memcpy(H(AVAIL(q) + 2), &idx, 2);
	virtio_balloon_process(d, q);
}

static void submit(unsigned q, const struct b *bufs, unsigned n)
{
	submit_at(q, 0, bufs, n);
}

/* Number of new used elements on queue q since the last call. */
static unsigned used_new(unsigned q)
{
	uint16_t idx;
	unsigned n;

	memcpy(&idx, H(USED(q) + 2), 2);
	n = (uint16_t)(le16toh(idx) - used_seen[q]);
	used_seen[q] = le16toh(idx);
	return n;
}

static void put_pfns(uint64_t gpa, const uint32_t *pfns, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t v = htole32(pfns[i]);

		memcpy(H(gpa + 4 * i), &v, 4);
	}
}

/* Fills n pages at gpa with a pattern (the memfd allocates them). */
static void touch(uint64_t gpa, unsigned n)
{
	memset(H(gpa), 0xa5, n * 4096ull);
}

START_TEST(features_and_config)
{
	struct virtio_balloon_info bi;
	uint32_t f;

	create(false, false);
	wr(VPCI_DFSELECT, 4, 0);
	f = rd(VPCI_DF, 4);
	ck_assert(f & (1u << VIRTIO_BALLOON_F_STATS_VQ));
	ck_assert(!(f & (1u << VIRTIO_BALLOON_F_DEFLATE_ON_OOM)));
	ck_assert(!(f & (1u << VIRTIO_BALLOON_F_REPORTING)));
	ck_assert(!(f & (1u << VIRTIO_BALLOON_F_MUST_TELL_HOST)));
	ck_assert(!(f & (1u << VIRTIO_BALLOON_F_PAGE_POISON)));
	ck_assert_uint_eq(rd(VPCI_NUMQ, 2), 3);
	virtio_balloon_destroy(d);
	create(true, true);
	f = rd(VPCI_DF, 4);
	ck_assert(f & (1u << VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	ck_assert(f & (1u << VIRTIO_BALLOON_F_REPORTING));
	ck_assert_uint_eq(rd(VPCI_NUMQ, 2), 4);
	/* num_pages is the configured target; actual is the driver's */
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF, 4), 256);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 4, 4), 0);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 12, 4), 0);	/* poison_val */
	wr(VIRTIO_PCI_DEVCFG_OFF + 4, 4, 200);
	wr(VIRTIO_PCI_DEVCFG_OFF + 5, 1, 1);				/* byte write: 456 */
	wr(VIRTIO_PCI_DEVCFG_OFF, 4, 7);				/* ours: ignored */
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 4, 4), 456);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF, 4), 256);
	/* a new target: num_pages, a new generation, a config interrupt (ISR bit 1) */
	start(1u << VIRTIO_BALLOON_F_STATS_VQ, 3);
	f = rd(VPCI_CFGGEN, 1);
	(void)rd(VIRTIO_PCI_ISR_OFF, 1);
	virtio_balloon_set_target(d, 4096);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF, 4), 4096);
	ck_assert_uint_ne(rd(VPCI_CFGGEN, 1), f);
	ck_assert_uint_eq(rd(VIRTIO_PCI_ISR_OFF, 1), 2);
	virtio_balloon_get_info(d, &bi);
	ck_assert(bi.driver_ok);
	ck_assert_uint_eq(bi.target_pages, 4096);
	ck_assert_uint_eq(bi.actual_pages, 456);
	/* reset: the driver's actual goes, the host's target stays */
	wr(VPCI_STATUS, 1, 0);
	virtio_balloon_get_info(d, &bi);
	ck_assert(!bi.driver_ok);
	ck_assert_uint_eq(bi.actual_pages, 0);
	ck_assert_uint_eq(bi.target_pages, 4096);
}
END_TEST

START_TEST(inflate_releases_pages)
{
	uint32_t pfns[8];
	uint64_t before;
	struct virtio_balloon_info bi;

	create(false, false);
	start(0, 2);
	/* pages 0-3 and 6 of PAGES, one page at the start of the high region,
	 * in no particular order and with a repeat */
	touch(PAGES, 8);
	touch(HIGH_GPA, 2);
	pfns[0] = PFN(PAGES + 3 * 4096);
	pfns[1] = PFN(PAGES);
	pfns[2] = PFN(HIGH_GPA);
	pfns[3] = PFN(PAGES + 2 * 4096);
	pfns[4] = PFN(PAGES + 4096);
	pfns[5] = PFN(PAGES + 6 * 4096);
	pfns[6] = PFN(PAGES + 4096);
	put_pfns(BUF, pfns, 7);
	before = host_pages();
	submit(0, (struct b[]){ { BUF, 28, 0 } }, 1);
	ck_assert_uint_eq(used_new(0), 1);
	ck_assert_uint_eq(host_pages(), before - 6);
	for (unsigned i = 0; i < 8; i++)
		ck_assert_uint_eq(*H(PAGES + i * 4096ull + 100), i == 4 || i == 5 || i == 7 ?
				  0xa5 : 0);
	ck_assert_uint_eq(*H(HIGH_GPA), 0);
	ck_assert_uint_eq(*H(HIGH_GPA + 4096), 0xa5);
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.inflated_pages, 7);
	ck_assert_uint_eq(bi.released_bytes, 6 * 4096);
	ck_assert_uint_eq(bi.ignored, 0);
	/* deflate: counted, nothing released, nothing touched */
	touch(PAGES, 1);
	before = host_pages();
	submit(1, (struct b[]){ { BUF, 4, 0 } }, 1);
	ck_assert_uint_eq(used_new(1), 1);
	ck_assert_uint_eq(host_pages(), before);
	ck_assert_uint_eq(*H(PAGES), 0xa5);
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.deflated_pages, 1);
}
END_TEST

START_TEST(inflate_bad_input_ignored)
{
	uint32_t pfns[6];
	struct virtio_balloon_info bi;
	uint64_t before;

	create(false, false);
	start(0, 2);
	touch(PAGES, 4);
	touch(REGION - 4096, 1);		/* last page of the low region */
	pfns[0] = PFN(PAGES);
	pfns[1] = PFN(REGION);			/* the first page past it: a hole */
	pfns[2] = PFN(0xd0000000ull);		/* the PCI hole */
	pfns[3] = 0xffffffffu;			/* 16 TiB */
	pfns[4] = PFN(HIGH_GPA + REGION);	/* past the end of RAM */
	pfns[5] = PFN(REGION - 4096);
	put_pfns(BUF, pfns, 6);
	/* ... and two stray bytes: a partial PFN */
	before = host_pages();
	submit(0, (struct b[]){ { BUF, 26, 0 } }, 1);
	ck_assert_uint_eq(used_new(0), 1);
	ck_assert_uint_eq(host_pages(), before - 2);
	ck_assert_uint_eq(*H(PAGES), 0);
	ck_assert_uint_eq(*H(PAGES + 4096), 0xa5);
	ck_assert_uint_eq(*H(REGION - 1), 0);
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.inflated_pages, 2);
	ck_assert_uint_eq(bi.ignored, 5);
	/* a PFN split over two descriptors at odd offsets still counts; a
	 * device-writable part is ignored */
	pfns[0] = PFN(PAGES + 4096);
	pfns[1] = PFN(PAGES + 2 * 4096);
	put_pfns(BUF, pfns, 2);
	submit(0, (struct b[]){ { BUF, 3, 0 }, { BUF + 3, 5, 0 }, { BUF + 0x100, 4, 1 } }, 3);
	ck_assert_uint_eq(used_new(0), 1);
	ck_assert_uint_eq(*H(PAGES + 4096), 0);
	ck_assert_uint_eq(*H(PAGES + 2 * 4096), 0);
	ck_assert_uint_eq(*H(PAGES + 3 * 4096), 0xa5);
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.inflated_pages, 4);
	ck_assert_uint_eq(bi.ignored, 6);
	/* a deflate of a page outside RAM: ignored */
	pfns[0] = PFN(0xd0000000ull);
	put_pfns(BUF, pfns, 1);
	submit(1, (struct b[]){ { BUF, 4, 0 } }, 1);
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.deflated_pages, 0);
	ck_assert_uint_eq(bi.ignored, 7);
}
END_TEST

START_TEST(inflate_many)
{
	/* More PFNs than one release batch, every other page in scrambled
	 * order: each is its own run; the buffer spans two descriptors. */
	const unsigned n = BALLOON_PFN_BATCH + 100;
	uint32_t *pfns = malloc(n * sizeof(*pfns));
	uint64_t before;

	create(false, false);
	start(0, 2);
	touch(2 * MIB, 2 * n);
	for (unsigned i = 0; i < n; i++)	/* a permutation: 7919 is prime */
		pfns[i] = PFN(2 * MIB + 2 * 4096ull * ((i * 7919ull) % n));
	put_pfns(BUF, pfns, n);
	before = host_pages();
	submit(0, (struct b[]){ { BUF, 4 * 1000, 0 }, { BUF + 4000, 4 * (n - 1000), 0 } }, 2);
	ck_assert_uint_eq(used_new(0), 1);
	ck_assert_uint_eq(host_pages(), before - n);
	ck_assert_uint_eq(*H(2 * MIB + 2 * 4096ull * (n - 1)), 0);
	ck_assert_uint_eq(*H(2 * MIB + 2 * 4096ull * (n - 1) + 4096), 0xa5);
	free(pfns);
}
END_TEST

START_TEST(inflate_request_is_capped)
{
	/* PFNs past BALLOON_MAX_REQUEST bytes of one request are not acted on */
	const unsigned n = BALLOON_MAX_REQUEST / 4;
	uint32_t *pfns = malloc((n + 2) * sizeof(*pfns));
	struct virtio_balloon_info bi;

	create(false, false);
	start(0, 2);
	touch(PAGES, 3);
	for (unsigned i = 0; i < n; i++)
		pfns[i] = PFN(PAGES);
	pfns[n] = PFN(PAGES + 4096);
	pfns[n + 1] = PFN(PAGES + 2 * 4096);
	put_pfns(BUF, pfns, n + 2);
	submit(0, (struct b[]){ { BUF, 4 * (n + 2), 0 } }, 1);
	ck_assert_uint_eq(used_new(0), 1);
	ck_assert_uint_eq(*H(PAGES), 0);
	ck_assert_uint_eq(*H(PAGES + 4096), 0xa5);
	ck_assert_uint_eq(*H(PAGES + 2 * 4096), 0xa5);
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.inflated_pages, n);
	/* one page per release batch (duplicates merge within a batch only) */
	ck_assert_uint_eq(bi.released_bytes, n / BALLOON_PFN_BATCH * 4096);
	ck_assert_uint_eq(bi.ignored, 1);
	free(pfns);
}
END_TEST

static void put_stat(uint64_t gpa, uint16_t tag, uint64_t val)
{
	uint16_t t = htole16(tag);
	uint64_t v = htole64(val);

	memcpy(H(gpa), &t, 2);
	memcpy(H(gpa + 2), &v, 8);
}

START_TEST(statistics)
{
	struct virtio_balloon_info bi;

	create(false, false);
	ck_assert(!virtio_balloon_request_stats(d));	/* no driver yet */
	start(1u << VIRTIO_BALLOON_F_STATS_VQ, 3);
	put_stat(BUF, BALLOON_S_MEMFREE, 100 * MIB);
	put_stat(BUF + 10, BALLOON_S_MEMTOT, 1024 * MIB);
	put_stat(BUF + 20, 99, 5);			/* unknown tag: skipped */
	submit(2, (struct b[]){ { BUF, 30, 0 } }, 1);
	ck_assert_uint_eq(used_new(2), 0);		/* the device keeps it */
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.stats.updates, 1);
	ck_assert_uint_eq(bi.stats.present, 1u << BALLOON_S_MEMFREE | 1u << BALLOON_S_MEMTOT);
	ck_assert_uint_eq(bi.stats.val[BALLOON_S_MEMFREE], 100 * MIB);
	ck_assert_uint_eq(bi.stats.val[BALLOON_S_MEMTOT], 1024 * MIB);
	/* asking for more gives the buffer back; the driver refills it */
	ck_assert(virtio_balloon_request_stats(d));
	virtio_balloon_poll_stats(d);
	ck_assert_uint_eq(used_new(2), 1);
	virtio_balloon_poll_stats(d);			/* nothing held: nothing */
	ck_assert_uint_eq(used_new(2), 0);
	put_stat(BUF, BALLOON_S_MEMFREE, 50 * MIB);
	/* a record split over descriptors, and a partial one */
	submit(2, (struct b[]){ { BUF, 4, 0 }, { BUF + 4, 9, 0 } }, 2);
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.stats.updates, 2);
	ck_assert_uint_eq(bi.stats.val[BALLOON_S_MEMFREE], 50 * MIB);
	ck_assert_uint_eq(bi.ignored, 1);
	/* a second buffer while we hold one: the older goes back */
	submit_at(2, 4, (struct b[]){ { BUF, 10, 0 } }, 1);
	ck_assert_uint_eq(used_new(2), 1);
	/* reset forgets the held buffer */
	wr(VPCI_STATUS, 1, 0);
	ck_assert(!virtio_balloon_request_stats(d));
	virtio_balloon_poll_stats(d);
	ck_assert_uint_eq(used_new(2), 0);
}
END_TEST

START_TEST(free_page_reporting)
{
	struct virtio_balloon_info bi;
	uint64_t before;

	create(true, false);
	/* all features: reporting is queue 3 */
	start(1u << VIRTIO_BALLOON_F_STATS_VQ | 1u << VIRTIO_BALLOON_F_REPORTING, 4);
	touch(2 * MIB, 512);
	touch(HIGH_GPA, 16);
	before = host_pages();
	/* two free blocks (device-writable, as Linux sends them) and one that
	 * is not 4 KiB aligned, which is skipped */
	submit(3, (struct b[]){ { 2 * MIB, 2 * MIB, 1 }, { HIGH_GPA, 8 * 4096, 1 },
				{ HIGH_GPA + 8 * 4096 + 512, 4096, 1 } }, 3);
	ck_assert_uint_eq(used_new(3), 1);
	ck_assert_uint_eq(host_pages(), before - 512 - 8);
	ck_assert_uint_eq(*H(2 * MIB), 0);
	ck_assert_uint_eq(*H(HIGH_GPA + 8 * 4096 + 512), 0xa5);
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.reported_bytes, 2 * MIB + 8 * 4096);
	ck_assert_uint_eq(bi.ignored, 1);
	ck_assert_uint_eq(bi.inflated_pages, 0);
}
END_TEST

START_TEST(queue_roles_follow_features)
{
	uint64_t before;

	create(true, false);
	/* without STATS_VQ the reporting queue moves up to index 2 */
	start(1u << VIRTIO_BALLOON_F_REPORTING, 3);
	touch(2 * MIB, 4);
	before = host_pages();
	submit(2, (struct b[]){ { 2 * MIB, 4 * 4096, 1 } }, 1);
	ck_assert_uint_eq(used_new(2), 1);
	ck_assert_uint_eq(host_pages(), before - 4);
	ck_assert(!virtio_balloon_request_stats(d));
}
END_TEST

START_TEST(report_outside_ram_needs_reset)
{
	struct virtio_balloon_info bi;
	uint64_t before;

	create(true, false);
	start(1u << VIRTIO_BALLOON_F_STATS_VQ | 1u << VIRTIO_BALLOON_F_REPORTING, 4);
	touch(2 * MIB, 1);
	before = host_pages();
	/* one good block, then one in the hole after the low region: the
	 * chain is malformed, nothing of it is acted on */
	submit(3, (struct b[]){ { 2 * MIB, 4096, 1 }, { REGION, 4096, 1 } }, 2);
	ck_assert_uint_eq(used_new(3), 0);
	ck_assert_uint_eq(host_pages(), before);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	virtio_balloon_get_info(d, &bi);
	ck_assert_uint_eq(bi.reported_bytes, 0);
}
END_TEST

START_TEST(discard_checks)
{
	/* gm_discard itself: alignment, bounds, a range across regions */
	ck_assert_int_eq(gm_discard(&gm, 4096, 0), -EINVAL);
	ck_assert_int_eq(gm_discard(&gm, 100, 4096), -EINVAL);
	ck_assert_int_eq(gm_discard(&gm, 4096, 100), -EINVAL);
	ck_assert_int_eq(gm_discard(&gm, REGION - 4096, 8192), -EFAULT);
	ck_assert_int_eq(gm_discard(&gm, 0xd0000000ull, 4096), -EFAULT);
	touch(HIGH_GPA + REGION - 4096, 1);
	ck_assert_int_eq(gm_discard(&gm, HIGH_GPA + REGION - 4096, 4096), 0);
	ck_assert_uint_eq(*H(HIGH_GPA + REGION - 1), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio-balloon");
	TCase *tc = tcase_create("balloon");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, features_and_config);
	tcase_add_test(tc, inflate_releases_pages);
	tcase_add_test(tc, inflate_bad_input_ignored);
	tcase_add_test(tc, inflate_many);
	tcase_add_test(tc, inflate_request_is_capped);
	tcase_add_test(tc, statistics);
	tcase_add_test(tc, free_page_reporting);
	tcase_add_test(tc, queue_roles_follow_features);
	tcase_add_test(tc, report_outside_ram_needs_reset);
	tcase_add_test(tc, discard_checks);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
