/* bench/balloon: the balloon device's own ceiling, without a guest.  This
 * program plays a Linux-like driver against basalt's virtio-balloon on a
 * 2 GiB memfd (as basalt's guest RAM): it fills the memfd, then inflates
 * SIZE MiB in requests of 256 page frame numbers (1 MiB, what Linux sends),
 * one at a time as Linux does (each served by virtio_balloon_process() on
 * this thread, as the I/O thread would), and reports how fast the memory
 * left the memfd.  Two orders: adjacent pages in descending order (what
 * Linux's page allocator mostly hands out) and every other page (no two
 * adjacent: one fallocate call per page).  Not a test: asserts nothing.
 *
 *   balloon [SIZE_MIB]
 */
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basalt/virtio/balloon.h"

#define MIB (1ull << 20)
#define RAM (2048 * MIB)
#define QSIZE 128
#define DESC 0x10000ull
#define AVAIL 0x11000ull
#define USED 0x12000ull
#define PFNBUF 0x20000ull
#define PER_REQ 256

static struct guest_mem gm;
static struct virtio_balloon *d;
static uint16_t avail_idx;

static void s_route(void *c, unsigned v, uint64_t a, uint32_t dd, bool ok)
{
	(void)c; (void)v; (void)a; (void)dd; (void)ok;
}

static void s_fire(void *c, unsigned v)
{
	(void)c; (void)v;
}

static const struct msix_sink sink = { s_route, s_fire, NULL };

static void wr(uint64_t off, unsigned len, uint32_t v)
{
	d->t.f.bar[VIRTIO_PCI_BAR].ops->write(&d->t, off, &v, len);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t memfd_mib(void)
{
	struct stat st;

	fstat(gm.memfd, &st);
	return (uint64_t)st.st_blocks * 512 / MIB;
}

/* One inflate request of n PFNs, as the Linux driver's tell_host(). */
static void inflate(const uint32_t *pfns, unsigned n)
{
	struct virtq_desc x = { htole64(PFNBUF), htole32(4 * n), 0, 0 };
	uint16_t zero = 0, idx;

	for (unsigned i = 0; i < n; i++) {
		uint32_t v = htole32(pfns[i]);

		memcpy(gm_ptr(&gm, PFNBUF + 4 * i, 4), &v, 4);
	}
	memcpy(gm_ptr(&gm, DESC, 16), &x, 16);
	memcpy(gm_ptr(&gm, AVAIL + 4 + 2 * (avail_idx % QSIZE), 2), &zero, 2);
	avail_idx++;
	idx = htole16(avail_idx);
	memcpy(gm_ptr(&gm, AVAIL + 2, 2), &idx, 2);
	virtio_balloon_process(d, 0);
}

static void run(const char *what, uint64_t size_mib, unsigned stride)
{
	uint64_t pages = size_mib * MIB / 4096, before, after, base = 16 * MIB / 4096;
	uint32_t pfns[PER_REQ];
	double t0, t1;

	if (fallocate(gm.memfd, 0, 0, RAM)) {
		perror("fallocate");
		exit(1);
	}
	before = memfd_mib();
	t0 = now_s();
	for (uint64_t p = 0; p < pages; p += PER_REQ) {
		unsigned n = pages - p < PER_REQ ? (unsigned)(pages - p) : PER_REQ;

		for (unsigned i = 0; i < n; i++)	/* descending, as Linux's lists */
			pfns[i] = (uint32_t)(base + (pages - 1 - p - i) * stride);
		inflate(pfns, n);
	}
	t1 = now_s();
	after = memfd_mib();
	printf("  %-34s %5llu MiB in %.3f s: %8.0f MiB/s (%.1f us per 1 MiB request)\n", what,
	       (unsigned long long)(before - after), t1 - t0, (before - after) / (t1 - t0),
	       (t1 - t0) * 1e6 / (double)((pages + PER_REQ - 1) / PER_REQ));
}

int main(int argc, char **argv)
{
	uint64_t size = argc > 1 ? strtoull(argv[1], NULL, 10) : 512;
	struct virtio_balloon_params p = {
		.name = "bench-balloon", .gm = &gm, .sink = &sink, .vm_fd = -1, .stats_efd = -1,
	};
	struct bs_err e;

	if (size < 1 || size > 1000) {
		fprintf(stderr, "balloon: SIZE_MIB must be 1..1000 (every other page of it must fit in 2 GiB)\n");
		return 2;
	}
	if (gm_init(&gm, RAM, &e) || gm_add_region(&gm, 0, RAM, &e) ||
	    virtio_balloon_create(&d, &p, &e)) {
		fprintf(stderr, "balloon: %s\n", e.msg);
		return 1;
	}
	wr(VPCI_STATUS, 1, 3);
	wr(VPCI_GFSELECT, 4, 1);
	wr(VPCI_GF, 4, 1);
	wr(VPCI_STATUS, 1, 0x0b);
	wr(VPCI_Q_SELECT, 2, 0);
	wr(VPCI_Q_SIZE, 2, QSIZE);
	wr(VPCI_Q_DESCLO, 4, (uint32_t)DESC);
	wr(VPCI_Q_AVAILLO, 4, (uint32_t)AVAIL);
	wr(VPCI_Q_USEDLO, 4, (uint32_t)USED);
	wr(VPCI_Q_ENABLE, 2, 1);
	wr(VPCI_STATUS, 1, 0x0f);
	printf("virtio-balloon device alone, %llu MiB inflated in 1 MiB requests:\n",
	       (unsigned long long)size);
	run("adjacent pages (descending)", size, 1);
	run("every other page", size, 2);
	virtio_balloon_destroy(d);
	gm_destroy(&gm);
	return 0;
}
