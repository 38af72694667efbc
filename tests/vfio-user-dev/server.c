/* vfio-user-dev: the protocol side of the test server (see README.md).
 *
 *   vfio-user-dev --socket PATH [--device accel|virtio-balloon] [--big SIZE]
 *                 [--once] [-v]
 *   vfio-user-dev ... --bench-host MIB    first: host bandwidth of BAR 2's memfd
 *   vfio-user-dev --tsc-khz               the TSC rate (for guest cycle counts)
 *
 * One client at a time, commands handled in order on one thread; after a
 * client disconnects its DMA mappings and eventfds are dropped and the
 * device keeps its state (spec, "Client Disconnection"); --once exits
 * then instead.  Everything the client sends is checked: sizes, region
 * bounds, DMA ranges, fd counts. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "basalt/vfio/user_proto.h"
#include "server.h"

#define MAX_DMA 64
#define MAX_FDS 16
#define MAX_BODY (VFU_DEFAULT_MAX_XFER + 4096)

struct server {
	int lfd, conn;
	struct vdev dev;
	struct dma {
		uint64_t iova, size;
		uint8_t *hva;
		bool writable;
	} dma[MAX_DMA];
	unsigned ndma;
	int irq_fd[SRV_IRQ_KINDS][SRV_MAX_VECTORS];
	unsigned irq_n[SRV_IRQ_KINDS];
};

bool srv_verbose;

void srv_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vfio-user-dev: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- what devices use ---------------------------------------------------- */

void *srv_dma(struct server *s, uint64_t iova, uint64_t len, bool write)
{
	for (unsigned i = 0; i < s->ndma; i++) {
		struct dma *m = &s->dma[i];

		if (len && iova >= m->iova && iova - m->iova < m->size &&
		    len <= m->size - (iova - m->iova) && (!write || m->writable))
			return m->hva + (iova - m->iova);
	}
	return NULL;
}

static bool signal_fd(int fd)
{
	uint64_t one = 1;

	return fd >= 0 && write(fd, &one, sizeof(one)) == sizeof(one);
}

unsigned srv_irq_mode(struct server *s)
{
	return s->irq_n[VFIO_PCI_MSIX_IRQ_INDEX] ? 2 : s->irq_n[VFIO_PCI_MSI_IRQ_INDEX] ? 1 : 0;
}

bool srv_irq(struct server *s, unsigned vec)
{
	unsigned k = srv_irq_mode(s) == 2 ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;

	if (vec >= s->irq_n[k])
		return false;
	return signal_fd(s->irq_fd[k][vec]);
}

/* ---- framing ------------------------------------------------------------------ */

static int send_reply(struct server *s, const struct vfu_hdr *q, int err,
		      const void *body, size_t blen, const int *fds, unsigned nfds)
{
	struct vfu_hdr h = {
		.id = q->id, .cmd = q->cmd,
		.size = (uint32_t)(sizeof(h) + (err ? 0 : blen)),
		.flags = VFU_TYPE_REPLY | (err ? VFU_F_ERROR : 0), .error = (uint32_t)err,
	};
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, err ? 0 : blen } };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	if (q->flags & VFU_F_NO_REPLY)
		return 0;
	if (nfds && !err) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	/* Replies are small; a short send means the client is gone. */
	return sendmsg(s->conn, &m, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + iov[1].iov_len) ?
	       0 : -EPIPE;
}

static int recv_exact(int fd, void *buf, size_t len, int *fds, unsigned *nfds)
{
	size_t got = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (fds && *nfds < MAX_FDS)
					fds[(*nfds)++] = f;
				else
					close(f);
			}
		}
		got += (size_t)n;
	}
	return 0;
}

/* ---- commands ------------------------------------------------------------------ */

static int cmd_version(struct server *s, const struct vfu_hdr *h, const uint8_t *b,
		       size_t len)
{
	static const char caps[] = "{\"capabilities\":{\"max_msg_fds\":16,"
				   "\"max_data_xfer_size\":1048576,\"pgsizes\":4096}}";
	uint8_t rep[sizeof(struct vfu_version) + sizeof(caps)];
	struct vfu_version v;

	if (len < sizeof(v))
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	memcpy(&v, b, sizeof(v));
	if (v.major != VFU_MAJOR)
		return send_reply(s, h, ENOTSUP, NULL, 0, NULL, 0);
	v.minor = v.minor < VFU_MINOR ? v.minor : VFU_MINOR;
	memcpy(rep, &v, sizeof(v));
	memcpy(rep + sizeof(v), caps, sizeof(caps));
	return send_reply(s, h, 0, rep, sizeof(rep), NULL, 0);
}

static int cmd_dma_map(struct server *s, const struct vfu_hdr *h, const uint8_t *b,
		       size_t len, int *fds, unsigned nfds)
{
	struct vfu_dma_map m;
	void *p;
	int prot;

	if (len < sizeof(m) || nfds != 1)
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	memcpy(&m, b, sizeof(m));
	if (!m.size || m.addr + m.size < m.addr || s->ndma == MAX_DMA)
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	for (unsigned i = 0; i < s->ndma; i++)
		if (m.addr < s->dma[i].iova + s->dma[i].size && s->dma[i].iova < m.addr + m.size)
			return send_reply(s, h, EEXIST, NULL, 0, NULL, 0);
	prot = (m.flags & VFU_DMA_READ ? PROT_READ : 0) | (m.flags & VFU_DMA_WRITE ? PROT_WRITE : 0);
	p = mmap(NULL, m.size, prot ? prot : PROT_NONE, MAP_SHARED, fds[0], (off_t)m.offset);
	close(fds[0]);
	fds[0] = -1;
	if (p == MAP_FAILED)
		return send_reply(s, h, errno, NULL, 0, NULL, 0);
	s->dma[s->ndma++] = (struct dma){ m.addr, m.size, p, (m.flags & VFU_DMA_WRITE) != 0 };
	if (srv_verbose)
		srv_log("DMA map 0x%llx+0x%llx", (unsigned long long)m.addr,
			(unsigned long long)m.size);
	return send_reply(s, h, 0, NULL, 0, NULL, 0);
}

static int cmd_dma_unmap(struct server *s, const struct vfu_hdr *h, const uint8_t *b,
			 size_t len)
{
	struct vfu_dma_unmap u;

	if (len < sizeof(u))
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	memcpy(&u, b, sizeof(u));
	for (unsigned i = 0; i < s->ndma; i++) {
		if (s->dma[i].iova == u.addr && s->dma[i].size == u.size) {
			munmap(s->dma[i].hva, s->dma[i].size);
			s->dma[i] = s->dma[--s->ndma];
			return send_reply(s, h, 0, &u, sizeof(u), NULL, 0);
		}
	}
	return send_reply(s, h, ENOENT, NULL, 0, NULL, 0);
}

static int cmd_region_info(struct server *s, const struct vfu_hdr *h, const uint8_t *b,
			   size_t len)
{
	struct vfu_region_info q;
	uint8_t rep[sizeof(q) + sizeof(struct vfio_region_info_cap_sparse_mmap) +
		    SRV_MAX_AREAS * sizeof(struct vfio_region_sparse_mmap_area)];
	struct vfio_region_info_cap_sparse_mmap sm = { 0 };
	const struct srv_region *r;
	size_t need;
	uint32_t asked;

	if (len < sizeof(q))
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	memcpy(&q, b, sizeof(q));
	if (q.index >= SRV_REGIONS)
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	r = &s->dev.reg[q.index];
	asked = q.argsz;
	need = sizeof(q) + (r->nareas ? sizeof(sm) + r->nareas * sizeof(sm.areas[0]) : 0);
	memset(&q, 0, sizeof(q));
	q.argsz = (uint32_t)need;
	q.index = (uint32_t)(r - s->dev.reg);
	q.size = r->size;
	q.flags = r->flags;
	q.offset = r->fd_offset;
	if (r->nareas && asked >= need) {
		q.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		q.cap_offset = sizeof(q);
		sm.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
		sm.header.version = 1;
		sm.nr_areas = r->nareas;
		memcpy(rep + sizeof(q), &sm, sizeof(sm));
		for (unsigned i = 0; i < r->nareas; i++) {
			struct vfio_region_sparse_mmap_area a = { r->area[i].off, r->area[i].size };

			memcpy(rep + sizeof(q) + sizeof(sm) + i * sizeof(a), &a, sizeof(a));
		}
	} else {
		need = sizeof(q);
	}
	memcpy(rep, &q, sizeof(q));
	return send_reply(s, h, 0, rep, need, &r->fd,
			  (r->flags & VFIO_REGION_INFO_FLAG_MMAP) && r->fd >= 0 ? 1 : 0);
}

static int cmd_irq_info(struct server *s, const struct vfu_hdr *h, const uint8_t *b,
			size_t len)
{
	struct vfu_irq_info q;

	if (len < sizeof(q))
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	memcpy(&q, b, sizeof(q));
	if (q.index >= SRV_IRQ_KINDS)
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	q.argsz = sizeof(q);
	q.count = s->dev.irq_count[q.index];
	q.flags = q.count ? VFIO_IRQ_INFO_EVENTFD : 0;
	if (q.index == VFIO_PCI_MSI_IRQ_INDEX || q.index == VFIO_PCI_MSIX_IRQ_INDEX)
		q.flags |= VFIO_IRQ_INFO_NORESIZE;
	return send_reply(s, h, 0, &q, sizeof(q), NULL, 0);
}

static void irqs_off(struct server *s, unsigned k)
{
	for (unsigned v = 0; v < SRV_MAX_VECTORS; v++) {
		if (s->irq_fd[k][v] >= 0)
			close(s->irq_fd[k][v]);
		s->irq_fd[k][v] = -1;
	}
	s->irq_n[k] = 0;
}

static int cmd_set_irqs(struct server *s, const struct vfu_hdr *h, const uint8_t *b,
			size_t len, int *fds, const unsigned *nfds)
{
	struct vfu_irq_set q;
	unsigned k;

	if (len < sizeof(q))
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	memcpy(&q, b, sizeof(q));
	k = q.index;
	if (k >= SRV_IRQ_KINDS || !(q.flags & VFIO_IRQ_SET_ACTION_TRIGGER) ||
	    q.start > s->dev.irq_count[k] || q.count > s->dev.irq_count[k] - q.start)
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	if (q.flags & VFIO_IRQ_SET_DATA_NONE) {
		if (!q.count) {
			irqs_off(s, k);
			if (srv_verbose)
				srv_log("interrupts of kind %u off", k);
		}
		for (unsigned v = q.start; v < q.start + q.count; v++)
			signal_fd(s->irq_fd[k][v]);
		return send_reply(s, h, 0, NULL, 0, NULL, 0);
	}
	if (!(q.flags & VFIO_IRQ_SET_DATA_EVENTFD) || *nfds != q.count)
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	for (unsigned i = 0; i < q.count; i++) {
		unsigned v = q.start + i;

		if (s->irq_fd[k][v] >= 0)
			close(s->irq_fd[k][v]);
		s->irq_fd[k][v] = fds[i];
		fds[i] = -1;      /* kept */
		if (v + 1 > s->irq_n[k])
			s->irq_n[k] = v + 1;
	}
	srv_log("%s: %u eventfds from vector %u (%u set)",
		k == VFIO_PCI_MSIX_IRQ_INDEX ? "MSI-X" : k == VFIO_PCI_MSI_IRQ_INDEX ? "MSI" :
		"interrupts", q.count, q.start, s->irq_n[k]);
	return send_reply(s, h, 0, NULL, 0, NULL, 0);
}

static bool access_ok(struct server *s, const struct vfu_region_access *a, size_t have,
		      bool write)
{
	const struct srv_region *r;

	if (a->region >= SRV_REGIONS || a->count > VFU_DEFAULT_MAX_XFER)
		return false;
	r = &s->dev.reg[a->region];
	if (!(r->flags & (write ? VFIO_REGION_INFO_FLAG_WRITE : VFIO_REGION_INFO_FLAG_READ)))
		return false;
	return a->offset < r->size && a->count <= r->size - a->offset &&
	       (!write || have >= a->count);
}

static int cmd_region_rw(struct server *s, const struct vfu_hdr *h, const uint8_t *b,
			 size_t len, bool write)
{
	struct vfu_region_access a;
	static uint8_t rep[sizeof(a) + VFU_DEFAULT_MAX_XFER];
	struct vdev *d = &s->dev;

	if (len < sizeof(a))
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	memcpy(&a, b, sizeof(a));
	if (!access_ok(s, &a, len - sizeof(a), write))
		return send_reply(s, h, EINVAL, NULL, 0, NULL, 0);
	if (a.region == SRV_CONFIG) {
		for (uint32_t i = 0; i < a.count; i++) {
			uint64_t o = a.offset + i;

			if (write)
				d->cfg[o] = (uint8_t)((d->cfg[o] & ~d->cfg_wmask[o]) |
						      (b[sizeof(a) + i] & d->cfg_wmask[o]));
			else
				rep[sizeof(a) + i] = d->cfg[o];
		}
		if (write && d->cfg_written)
			d->cfg_written(d, (unsigned)a.offset, a.count);
	} else if (write) {
		d->write(d, a.region, a.offset, b + sizeof(a), a.count);
	} else {
		d->read(d, a.region, a.offset, rep + sizeof(a), a.count);
	}
	memcpy(rep, &a, sizeof(a));
	return send_reply(s, h, 0, rep, sizeof(a) + (write ? 0 : a.count), NULL, 0);
}

static int dispatch(struct server *s, const struct vfu_hdr *h, const uint8_t *b,
		    size_t len, int *fds, const unsigned *nfds)
{
	struct vfu_device_info di = {
		sizeof(di), VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET, SRV_REGIONS,
		SRV_IRQ_KINDS,
	};

	switch (h->cmd) {
	case VFU_CMD_VERSION: return cmd_version(s, h, b, len);
	case VFU_CMD_DMA_MAP: return cmd_dma_map(s, h, b, len, fds, *nfds);
	case VFU_CMD_DMA_UNMAP: return cmd_dma_unmap(s, h, b, len);
	case VFU_CMD_DEVICE_GET_INFO: return send_reply(s, h, 0, &di, sizeof(di), NULL, 0);
	case VFU_CMD_DEVICE_GET_REGION_INFO: return cmd_region_info(s, h, b, len);
	case VFU_CMD_DEVICE_GET_IRQ_INFO: return cmd_irq_info(s, h, b, len);
	case VFU_CMD_DEVICE_SET_IRQS: return cmd_set_irqs(s, h, b, len, fds, nfds);
	case VFU_CMD_REGION_READ: return cmd_region_rw(s, h, b, len, false);
	case VFU_CMD_REGION_WRITE: return cmd_region_rw(s, h, b, len, true);
	case VFU_CMD_DEVICE_RESET:
		s->dev.reset(&s->dev);
		srv_log("device reset");
		return send_reply(s, h, 0, NULL, 0, NULL, 0);
	}
	return send_reply(s, h, ENOSYS, NULL, 0, NULL, 0);
}

/* Serves one client until it disconnects. */
static void serve(struct server *s)
{
	static uint8_t body[MAX_BODY];

	for (;;) {
		struct vfu_hdr h;
		int fds[MAX_FDS];
		unsigned nfds = 0;
		size_t len;
		int r;

		if (recv_exact(s->conn, &h, sizeof(h), fds, &nfds))
			break;
		len = h.size >= sizeof(h) ? h.size - sizeof(h) : 0;
		if (h.size < sizeof(h) || len > sizeof(body) ||
		    (h.flags & VFU_TYPE_MASK) != VFU_TYPE_COMMAND ||
		    recv_exact(s->conn, body, len, fds, &nfds)) {
			srv_log("bad message (command %u, %u bytes): dropping the client",
				h.cmd, h.size);
			for (unsigned i = 0; i < nfds; i++)
				close(fds[i]);
			break;
		}
		/* Handlers set the fds they keep to -1. */
		r = dispatch(s, &h, body, len, fds, &nfds);
		for (unsigned i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (r)
			break;
		if (s->dev.after_reply)
			s->dev.after_reply(&s->dev);
	}
}

static void client_gone(struct server *s)
{
	for (unsigned i = 0; i < s->ndma; i++)
		munmap(s->dma[i].hva, s->dma[i].size);
	s->ndma = 0;
	for (unsigned k = 0; k < SRV_IRQ_KINDS; k++)
		irqs_off(s, k);
	close(s->conn);
	s->conn = -1;
}

/* ---- main ---------------------------------------------------------------------- */

static double since_ns(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e9 + (t1.tv_nsec - t0->tv_nsec);
}

/* Host-side bandwidth of BAR memory: memcpy (the ceiling) and the 8-byte
 * loop the test guest runs, on p (the device's own memfd mapping). */
static void bench_host(uint8_t *p, uint64_t size)
{
	uint8_t *buf = malloc(size);
	volatile uint64_t *q = (volatile uint64_t *)p;
	struct timespec t0;
	double w, r, lw, lr;
	uint64_t sum = 0;

	if (!buf)
		return;
	memset(buf, 0x5a, size);
	memcpy(p, buf, size);             /* fault everything in first */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 4; i++)
		memcpy(p, buf, size);
	w = since_ns(&t0) / 4;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 4; i++) {
		memcpy(buf, p, size);
		sum += buf[i];
	}
	r = since_ns(&t0) / 4;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < size / 8; i++)
		q[i] = i;
	lw = since_ns(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < size / 8; i++)
		sum += q[i];
	lr = since_ns(&t0);
	printf("host: BAR memfd, %llu MiB: memcpy write %.0f MB/s, read %.0f MB/s; "
	       "8-byte loop write %.0f MB/s, read %.0f MB/s (%llx)\n",
	       (unsigned long long)(size >> 20), size / w * 1e3, size / r * 1e3,
	       size / lw * 1e3, size / lr * 1e3, (unsigned long long)(sum & 0xf));
	fflush(stdout);
	free(buf);
}

static unsigned long tsc_khz(void)
{
	struct timespec t0, d = { 0, 200000000 };
	uint32_t lo, hi;
	uint64_t c0, c1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	c0 = (uint64_t)hi << 32 | lo;
	nanosleep(&d, NULL);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	c1 = (uint64_t)hi << 32 | lo;
	return (unsigned long)((c1 - c0) / (since_ns(&t0) / 1e6));
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': case 'g': return v << 30;
	case 'M': case 'm': return v << 20;
	case 'K': case 'k': return v << 10;
	}
	return v;
}

int main(int argc, char **argv)
{
	static struct server s;
	const char *path = NULL, *device = "accel";
	uint64_t big = 8ull << 30, bench_mib = 0;
	bool once = false;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--device") && i + 1 < argc)
			device = argv[++i];
		else if (!strcmp(argv[i], "--big") && i + 1 < argc)
			big = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--once"))
			once = true;
		else if (!strcmp(argv[i], "-v"))
			srv_verbose = true;
		else if (!strcmp(argv[i], "--bench-host") && i + 1 < argc)
			bench_mib = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--tsc-khz")) {
			printf("%lu\n", tsc_khz());
			return 0;
		} else {
			fprintf(stderr, "usage: %s --socket PATH [--device accel|virtio-balloon] "
				"[--big SIZE] [--bench-host MIB] [--once] [-v] | --tsc-khz\n",
				argv[0]);
			return 2;
		}
	}
	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vfio-user-dev: --socket PATH is required (short enough "
			"for a UNIX socket)\n");
		return 2;
	}
	memset(s.irq_fd, 0xff, sizeof(s.irq_fd));
	s.conn = -1;
	s.dev.srv = &s;
	if (!strcmp(device, "accel"))
		r = accel_init(&s.dev, big);
	else if (!strcmp(device, "virtio-balloon"))
		r = balloon_init(&s.dev);
	else
		r = -EINVAL;
	if (r) {
		fprintf(stderr, "vfio-user-dev: cannot create device '%s': %s\n", device,
			strerror(-r));
		return 1;
	}
	if (bench_mib && s.dev.reg[2].fd >= 0) {
		uint64_t sz = bench_mib << 20;
		uint8_t *p = sz <= s.dev.reg[2].size ?
			     mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, s.dev.reg[2].fd, 0) :
			     MAP_FAILED;

		if (p == MAP_FAILED) {
			fprintf(stderr, "vfio-user-dev: --bench-host: cannot map %llu MiB of BAR 2\n",
				(unsigned long long)bench_mib);
			return 1;
		}
		bench_host(p, sz);
		munmap(p, sz);
	}
	/* Bound and listening under a temporary name, then renamed: whoever
	 * sees the socket can connect. */
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.new", path) >=
	    (int)sizeof(sa.sun_path)) {
		fprintf(stderr, "vfio-user-dev: socket path too long\n");
		return 2;
	}
	unlink(sa.sun_path);
	s.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s.lfd < 0 || bind(s.lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s.lfd, 1) || rename(sa.sun_path, path)) {
		fprintf(stderr, "vfio-user-dev: %s: %s\n", path, strerror(errno));
		return 1;
	}
	srv_log("%s device listening on %s", s.dev.name, path);
	for (;;) {
		s.conn = accept4(s.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (s.conn < 0) {
			if (errno == EINTR)
				continue;
			srv_log("accept: %s", strerror(errno));
			return 1;
		}
		srv_log("client connected");
		serve(&s);
		client_gone(&s);
		srv_log("client disconnected");
		if (once)
			return 0;
	}
}
