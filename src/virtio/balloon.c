/* virtio-balloon device: see include/basalt/virtio/balloon.h. */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basalt/log.h"
#include "basalt/virtio/balloon.h"

const char *const balloon_stat_names[BALLOON_NR_STATS] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory",
	"total_memory", "available_memory", "disk_caches", "hugetlb_allocations",
	"hugetlb_failures", "oom_kills", "alloc_stalls", "async_scans",
	"direct_scans", "async_reclaims", "direct_reclaims",
};

/* One statistics record (5.5.6.3): packed, little-endian. */
#define STAT_RECORD 10

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Guest input we do not act on: counted, logged BALLOON_LOG_LIMIT times.
 * d->lock held. */
static void __attribute__((format(printf, 2, 3)))
ignore(struct virtio_balloon *d, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	if (++d->ignored > BALLOON_LOG_LIMIT)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s: %s: ignored%s", d->name, msg,
		 d->ignored == BALLOON_LOG_LIMIT ? " (further ones not logged)" : "");
}

/* Releases [gpa, gpa+len); a run that crosses from one RAM region into an
 * adjacent one is released page by page.  Returns the bytes released. */
static uint64_t release(struct virtio_balloon *d, uint64_t gpa, uint64_t len)
{
	int r = gm_discard(d->p.gm, gpa, len);
	uint64_t done = 0;

	if (r == -EFAULT && len > GM_PAGE_SIZE) {
		for (uint64_t o = 0; o < len; o += GM_PAGE_SIZE)
			done += release(d, gpa + o, GM_PAGE_SIZE);
		return done;
	}
	if (r) {
		log_warn("%s: releasing 0x%llx+0x%llx: %s", d->name,
			 (unsigned long long)gpa, (unsigned long long)len, strerror(-r));
		return 0;
	}
	return len;
}

/* In-place heapsort: glibc's qsort() may allocate and call sysinfo(),
 * which the I/O threads' sandbox does not allow. */
static void sift(uint64_t *a, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		uint64_t t;

		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		t = a[root];
		a[root] = a[child];
		a[child] = t;
	}
}

static void sort_u64(uint64_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(a, i, n);
	while (n > 1) {
		uint64_t t = a[0];

		a[0] = a[--n];
		a[n] = t;
		sift(a, 0, n);
	}
}

/* Sorts the batch of checked PFNs and releases it in runs of adjacent
 * pages (duplicates merge into their run). */
static void release_batch(struct virtio_balloon *d, unsigned n)
{
	sort_u64(d->pfns, n);
	for (unsigned i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && d->pfns[j] - d->pfns[j - 1] <= 1; j++)
			;
		d->released_bytes += release(d, d->pfns[i] << VIRTIO_BALLOON_PFN_SHIFT,
					     (d->pfns[j - 1] - d->pfns[i] + 1)
					     << VIRTIO_BALLOON_PFN_SHIFT);
	}
}

static void one_pfn(struct virtio_balloon *d, uint32_t pfn, bool inflate, unsigned *n)
{
	uint64_t gpa = (uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT;

	if (!gm_is_ram(d->p.gm, gpa, GM_PAGE_SIZE)) {
		ignore(d, "%s page frame 0x%x (gpa 0x%llx) is not guest RAM",
		       inflate ? "inflated" : "deflated", pfn, (unsigned long long)gpa);
		return;
	}
	if (!inflate) {
		d->deflated_pages++;
		return;
	}
	d->inflated_pages++;
	d->pfns[(*n)++] = pfn;
	if (*n == BALLOON_PFN_BATCH) {
		release_batch(d, *n);
		*n = 0;
	}
}

/* inflateq / deflateq: the device-readable part is an array of le32 PFNs,
 * split over descriptors any way the driver likes. */
static void handle_pfns(struct virtio_balloon *d, const struct vq_elem *el, bool inflate)
{
	uint8_t part[4];
	unsigned have = 0, n = 0;

	uint64_t left = BALLOON_MAX_REQUEST;

	if (el->out_len > BALLOON_MAX_REQUEST)
		ignore(d, "%s buffer of %u bytes: page frame numbers past %u bytes",
		       inflate ? "inflate" : "deflate", el->out_len, BALLOON_MAX_REQUEST);
	for (unsigned i = 0; i < el->nr_out && left; i++) {
		const uint8_t *p = el->seg[i].hva;
		uint32_t len = el->seg[i].len < left ? el->seg[i].len : (uint32_t)left, k = 0;

		left -= len;
		while (k < len) {
			uint32_t v;

			if (!have && len - k >= 4) {
				memcpy(&v, p + k, 4);	/* read once */
				k += 4;
			} else {
				part[have++] = p[k++];
				if (have < 4)
					continue;
				memcpy(&v, part, 4);
				have = 0;
			}
			one_pfn(d, le32toh(v), inflate, &n);
		}
	}
	if (have && el->out_len <= BALLOON_MAX_REQUEST)
		ignore(d, "%s buffer of %u bytes ends in a partial page frame number",
		       inflate ? "inflate" : "deflate", el->out_len);
	if (el->nr_in)
		ignore(d, "%s request with %u device-writable bytes",
		       inflate ? "inflate" : "deflate", el->in_len);
	if (n)
		release_batch(d, n);
}

/* reporting_vq (5.5.6.7): every buffer of the chain is a free block. */
static void handle_report(struct virtio_balloon *d, const struct vq_elem *el)
{
	for (unsigned i = 0; i < el->nr_out + el->nr_in; i++) {
		const struct vq_seg *s = &el->seg[i];

		if (s->gpa % GM_PAGE_SIZE || s->len % GM_PAGE_SIZE) {
			ignore(d, "reported block 0x%llx+0x%x is not 4 KiB aligned",
			       (unsigned long long)s->gpa, s->len);
			continue;
		}
		d->reported_bytes += release(d, s->gpa, s->len);
	}
}

/* statsq: parse the records and keep the buffer until we want more. */
static void handle_stats(struct virtio_balloon *d, struct virtq *vq, unsigned q,
			 const struct vq_elem *el)
{
	uint8_t rec[STAT_RECORD];
	unsigned have = 0;
	uint64_t one = 1;
	struct bs_err e;

	/* A driver keeps one buffer in the queue; if it gave us another
	 * while we hold one, the older goes back. */
	if (d->stats_held) {
		if (vq_push(vq, d->stats_head, 0, &e))
			log_warn("%s: %s", d->name, e.msg);
		else if (vq_need_notify(vq))
			virtio_pci_irq_queue(&d->t, q);
	}
	if (el->out_len > BALLOON_NR_STATS * STAT_RECORD * 4)
		ignore(d, "statistics buffer of %u bytes: records past %u bytes", el->out_len,
		       BALLOON_NR_STATS * STAT_RECORD * 4);
	for (unsigned i = 0, seen = 0; i < el->nr_out; i++) {
		const uint8_t *p = el->seg[i].hva;

		for (uint32_t k = 0; k < el->seg[i].len &&
				     seen < BALLOON_NR_STATS * STAT_RECORD * 4; k++, seen++) {
			uint16_t tag;
			uint64_t val;

			rec[have++] = p[k];
			if (have < STAT_RECORD)
				continue;
			have = 0;
			memcpy(&tag, rec, 2);
			memcpy(&val, rec + 2, 8);
			tag = le16toh(tag);
			if (tag < BALLOON_NR_STATS) {
				d->stats.val[tag] = le64toh(val);
				d->stats.present |= 1u << tag;
			}
		}
	}
	if (have && el->out_len <= BALLOON_NR_STATS * STAT_RECORD * 4)
		ignore(d, "statistics buffer of %u bytes ends in a partial record",
		       el->out_len);
	d->stats.updates++;
	d->stats.when_ms = now_ms();
	d->stats_held = true;
	d->stats_head = el->head;
	if (d->p.stats_efd >= 0 && write(d->p.stats_efd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		log_warn("%s: stats eventfd: %s", d->name, strerror(errno));
}

/* Serves one chain of queue q; false once the queue is empty or broken.
 * d->lock held (per chain, so that get_info and a reset never wait for
 * more than one request, however many the guest queues). */
static bool serve_one(struct virtio_balloon *d, unsigned q)
{
	enum balloon_queue role = q < VIRTIO_PCI_MAX_QUEUES ? d->role[q] : BQ_NONE;
	struct virtq *vq = d->active && role != BQ_NONE ? virtio_pci_queue(&d->t, q) : NULL;
	struct bs_err e;
	int r = vq ? vq_pop(vq, d->scratch, &e) : 0;

	if (r == 0)	/* empty: re-arm; look again if buffers came meanwhile */
		return vq && vq_enable_notify(vq);
	if (r < 0) {
		if (r != -EIO) {
			log_warn("%s: %s", d->name, e.msg);
			virtio_pci_needs_reset(&d->t);
		}
		return false;
	}
	if (role == BQ_STATS) {
		handle_stats(d, vq, q, d->scratch);
		return true;
	}
	if (role == BQ_REPORTING)
		handle_report(d, d->scratch);
	else
		handle_pfns(d, d->scratch, role == BQ_INFLATE);
	/* Acknowledge only now: the driver may reuse the pages (or, for
	 * reports, hand them out again) as soon as it sees this. */
	if (vq_push(vq, d->scratch->head, 0, &e))
		log_warn("%s: %s", d->name, e.msg);
	else if (vq_need_notify(vq))
		virtio_pci_irq_queue(&d->t, q);
	return true;
}

void virtio_balloon_process(struct virtio_balloon *d, unsigned q)
{
	bool more;

	do {
		pthread_mutex_lock(&d->lock);
		more = serve_one(d, q);
		pthread_mutex_unlock(&d->lock);
	} while (more);
}

void virtio_balloon_poll_stats(struct virtio_balloon *d)
{
	struct bs_err e;

	pthread_mutex_lock(&d->lock);
	for (unsigned q = 0; d->active && d->stats_held && q < d->nqueues; q++) {
		struct virtq *vq;

		if (d->role[q] != BQ_STATS)
			continue;
		vq = virtio_pci_queue(&d->t, q);
		d->stats_held = false;
		if (!vq)
			continue;
		if (vq_push(vq, d->stats_head, 0, &e))
			log_warn("%s: %s", d->name, e.msg);
		else if (vq_need_notify(vq))
			virtio_pci_irq_queue(&d->t, q);
	}
	pthread_mutex_unlock(&d->lock);
}

bool virtio_balloon_request_stats(struct virtio_balloon *d)
{
	bool ok;

	pthread_mutex_lock(&d->lock);
	ok = d->active && (d->features & (1ull << VIRTIO_BALLOON_F_STATS_VQ));
	pthread_mutex_unlock(&d->lock);
	if (ok && d->p.loop)
		io_loop_wake(d->p.loop);
	return ok;
}

void virtio_balloon_set_target(struct virtio_balloon *d, uint32_t pages)
{
	atomic_store(&d->target_pages, pages);
	virtio_pci_config_changed(&d->t);
}

void virtio_balloon_get_info(struct virtio_balloon *d, struct virtio_balloon_info *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&d->lock);
	out->driver_ok = d->active;
	out->features = d->active ? d->features : 0;
	out->inflated_pages = d->inflated_pages;
	out->deflated_pages = d->deflated_pages;
	out->released_bytes = d->released_bytes;
	out->reported_bytes = d->reported_bytes;
	out->ignored = d->ignored;
	out->stats = d->stats;
	pthread_mutex_unlock(&d->lock);
	out->target_pages = atomic_load(&d->target_pages);
	out->actual_pages = atomic_load(&d->actual_pages);
}

/* ---- transport callbacks ---- */

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void cfg_read(void *dev, uint32_t off, void *data, unsigned len)
{
	struct virtio_balloon *d = dev;
	uint8_t c[VIRTIO_BALLOON_CFG_SIZE] = { 0 };

	put_le32(c + 0, atomic_load(&d->target_pages));		/* num_pages */
	put_le32(c + 4, atomic_load(&d->actual_pages));		/* actual */
	memcpy(data, c + off, len);	/* the transport bounds off + len */
}

/* Only `actual` is the driver's to write; num_pages is ours, and the hint
 * and poison fields belong to features we do not offer. */
static void cfg_write(void *dev, uint32_t off, const void *data, unsigned len)
{
	struct virtio_balloon *d = dev;
	uint8_t c[VIRTIO_BALLOON_CFG_SIZE];
	uint32_t v;

	put_le32(c + 4, atomic_load(&d->actual_pages));
	for (unsigned i = 0; i < len; i++)
		if (off + i >= 4 && off + i < 8)
			c[off + i] = ((const uint8_t *)data)[i];
	memcpy(&v, c + 4, 4);
	atomic_store(&d->actual_pages, le32toh(v));
}

static int activate(void *dev, struct bs_err *e)
{
	struct virtio_balloon *d = dev;
	/* Callbacks run under the transport lock: read its state directly. */
	uint64_t one = 1, f = d->t.driver_features;
	unsigned q = 0;

	(void)e;
	pthread_mutex_lock(&d->lock);
	d->features = f;
	memset(d->role, 0, sizeof(d->role));
	d->role[q++] = BQ_INFLATE;
	d->role[q++] = BQ_DEFLATE;
	if (f & (1ull << VIRTIO_BALLOON_F_STATS_VQ))
		d->role[q++] = BQ_STATS;
	if (f & (1ull << VIRTIO_BALLOON_F_REPORTING))
		d->role[q++] = BQ_REPORTING;
	d->active = true;
	pthread_mutex_unlock(&d->lock);
	log_info("%s: driver ready (statistics %s, deflate on OOM %s, free page "
		 "reporting %s)", d->name,
		 f & (1ull << VIRTIO_BALLOON_F_STATS_VQ) ? "on" : "off",
		 f & (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM) ? "on" : "off",
		 f & (1ull << VIRTIO_BALLOON_F_REPORTING) ? "on" : "off");
	/* Buffers may already be queued: have the I/O thread look. */
	for (unsigned i = 0; d->p.loop && i < q; i++)
		if (write(virtio_pci_notify_fd(&d->t, i), &one, sizeof(one)) < 0)
			log_warn("%s: kick: %s", d->name, strerror(errno));
	return 0;
}

void virtio_balloon_quiesce(struct virtio_balloon *d)
{
	pthread_mutex_lock(&d->lock);
	d->active = false;
	d->stats_held = false;	/* the queue goes with the reset */
	memset(d->role, 0, sizeof(d->role));
	pthread_mutex_unlock(&d->lock);
}

static void reset(void *dev)
{
	struct virtio_balloon *d = dev;

	virtio_balloon_quiesce(d);
	atomic_store(&d->actual_pages, 0);
}

static const struct virtio_dev_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.pci_class = 0xff0000,		/* unclassified device, as QEMU's */
	.cfg_read = cfg_read,
	.cfg_write = cfg_write,
	.activate = activate,
	.reset = reset,
};

static void on_notify(void *opaque)
{
	struct virtio_balloon_watch *w = opaque;
	uint64_t cnt;

	if (read(virtio_pci_notify_fd(&w->d->t, w->q), &cnt, sizeof(cnt)) < 0 &&
	    errno != EAGAIN)
		log_warn("%s: notify read: %s", w->d->name, strerror(errno));
	virtio_balloon_process(w->d, w->q);
}

static void on_wake(void *opaque)
{
	virtio_balloon_poll_stats(opaque);
}

int virtio_balloon_create(struct virtio_balloon **out,
			  const struct virtio_balloon_params *p, struct bs_err *e)
{
	struct virtio_balloon *d = calloc(1, sizeof(*d));
	struct virtio_pci_params tp;
	uint64_t f;
	int r;

	if (!d)
		return bs_errf(e, ENOMEM, "%s: out of memory", p->name);
	d->scratch = malloc(sizeof(*d->scratch));
	d->pfns = malloc(BALLOON_PFN_BATCH * sizeof(d->pfns[0]));
	if (!d->scratch || !d->pfns) {
		free(d->scratch);
		free(d->pfns);
		free(d);
		return bs_errf(e, ENOMEM, "%s: out of memory", p->name);
	}
	d->p = *p;
	snprintf(d->name, sizeof(d->name), "%s", p->name);
	d->p.name = d->name;
	pthread_mutex_init(&d->lock, NULL);
	atomic_store(&d->target_pages, p->target_pages);
	f = 1ull << VIRTIO_BALLOON_F_STATS_VQ | 1ull << VIRTIO_RING_F_INDIRECT_DESC |
	    1ull << VIRTIO_RING_F_EVENT_IDX;
	if (p->deflate_on_oom)
		f |= 1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (p->free_page_reporting)
		f |= 1ull << VIRTIO_BALLOON_F_REPORTING;
	d->nqueues = 3 + p->free_page_reporting;
	tp = (struct virtio_pci_params){
		.ops = &balloon_ops, .dev = d, .features = f,
		.num_queues = d->nqueues, .queue_size_max = VIRTIO_BALLOON_QUEUE_SIZE,
		.cfg_size = VIRTIO_BALLOON_CFG_SIZE, .gm = p->gm, .irq = p->irq,
		.sink = p->sink, .vm_fd = p->vm_fd, .name = d->name,
	};
	r = virtio_pci_init(&d->t, &tp, e);
	if (!r && p->loop)
		io_loop_set_wake_hook(p->loop, on_wake, d);
	for (unsigned q = 0; !r && p->loop && q < d->nqueues; q++) {
		d->wctx[q] = (struct virtio_balloon_watch){ d, q };
		r = io_loop_add_fd_watch(p->loop, virtio_pci_notify_fd(&d->t, q),
					 on_notify, &d->wctx[q], &d->watch[q], e);
	}
	if (r) {
		virtio_balloon_destroy(d);
		return r;
	}
	*out = d;
	return 0;
}

void virtio_balloon_destroy(struct virtio_balloon *d)
{
	if (!d)
		return;
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
		if (d->watch[q])
			io_loop_remove_fd_watch(d->p.loop, d->watch[q]);
	virtio_pci_destroy(&d->t);
	pthread_mutex_destroy(&d->lock);
	free(d->scratch);
	free(d->pfns);
	free(d);
}
