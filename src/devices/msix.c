/* MSI-X state machine: see include/basalt/devices/msix.h. */
#include <stdlib.h>
#include <string.h>

#include "basalt/devices/msix.h"

#define ENT_ADDR_LO 0
#define ENT_ADDR_HI 1
#define ENT_DATA 2
#define ENT_VCTRL 3

static uint16_t ctrl(const struct msix *m)
{
	uint16_t v;

	memcpy(&v, m->f->cfg + m->cap + 2, 2);
	return v;
}

static bool deliverable(const struct msix *m, unsigned vec, uint16_t c)
{
	return (c & MSIX_CTRL_ENABLE) && !(c & MSIX_CTRL_FMASK) &&
	       !(m->table[4 * vec + ENT_VCTRL] & MSIX_VCTRL_MASK);
}

/* Tells the sink about vec if its message or deliverability changed, and
 * delivers a pending vector that became deliverable.  Under m->lock. */
static void sync_vec(struct msix *m, unsigned vec, uint16_t c)
{
	const uint32_t *ent = m->table + 4 * vec;
	struct msix_route_state now = {
		ent[ENT_ADDR_LO] | (uint64_t)ent[ENT_ADDR_HI] << 32,
		ent[ENT_DATA], deliverable(m, vec, c),
	};
	struct msix_route_state *was = &m->routed[vec];

	if (now.valid != was->valid ||
	    (now.valid && (now.addr != was->addr || now.data != was->data))) {
		m->sink.route(m->sink.ctx, vec, now.addr, now.data, now.valid);
		*was = now;
	}
	if (now.valid && (m->pba[vec / 64] >> (vec % 64) & 1)) {
		m->pba[vec / 64] &= ~(1ull << (vec % 64));
		m->sink.fire(m->sink.ctx, vec);
	}
}

static void sync_all(struct msix *m)
{
	uint16_t c = ctrl(m);

	m->enabled = c & MSIX_CTRL_ENABLE;
	for (unsigned v = 0; v < m->nvec; v++)
		sync_vec(m, v, c);
}

/* Checks shared by both set-ups; m is zeroed. */
static int check_params(struct pci_func *f, unsigned nvec, unsigned bar,
			uint32_t table_off, uint32_t pba_off,
			const struct msix_sink *sink, struct bs_err *e)
{
	uint64_t tb = msix_table_bytes(nvec), pb = msix_pba_bytes(nvec);

	if (nvec < 1 || nvec > MSIX_MAX_VECTORS)
		return bs_errf(e, EINVAL, "msix: %u vectors (1 to %u)", nvec,
			       MSIX_MAX_VECTORS);
	if (bar >= PCI_NUM_BARS || !f->bar[bar].size)
		return bs_errf(e, EINVAL, "msix: BAR %u is not a memory BAR", bar);
	if ((table_off | pba_off) & 7 || table_off + tb > f->bar[bar].size ||
	    pba_off + pb > f->bar[bar].size ||
	    (table_off < pba_off + pb && pba_off < table_off + tb))
		return bs_errf(e, EINVAL, "msix: table 0x%x+0x%llx / PBA 0x%x+0x%llx "
			       "do not fit apart in BAR %u", table_off,
			       (unsigned long long)tb, pba_off,
			       (unsigned long long)pb, bar);
	if (!sink || !sink->route || !sink->fire)
		return bs_errf(e, EINVAL, "msix: no sink");
	return 0;
}

static int setup(struct msix *m, struct pci_func *f, unsigned cap, unsigned nvec,
		 unsigned bar, uint32_t table_off, uint32_t pba_off,
		 const struct msix_sink *sink, struct bs_err *e)
{
	uint64_t pb = msix_pba_bytes(nvec);
	uint16_t c;
	uint32_t t, p;

	m->cap = cap;
	m->table = calloc(nvec, MSIX_ENTRY_SIZE);
	m->pba = calloc(1, pb);
	m->routed = calloc(nvec, sizeof(*m->routed));
	if (!m->table || !m->pba || !m->routed) {
		msix_destroy(m);
		return bs_errf(e, ENOMEM, "msix: out of memory");
	}
	for (unsigned v = 0; v < nvec; v++)
		m->table[4 * v + ENT_VCTRL] = MSIX_VCTRL_MASK;
	m->f = f;
	m->nvec = nvec;
	m->sink = *sink;
	pthread_mutex_init(&m->lock, NULL);
	/* Message Control: table size - 1 (read-only), enable and function
	 * mask writable; Table and PBA offset | BIR, read-only. */
	c = (uint16_t)(nvec - 1);
	t = table_off | bar;
	p = pba_off | bar;
	memcpy(f->cfg + m->cap + 2, &c, 2);
	memcpy(f->cfg + m->cap + 4, &t, 4);
	memcpy(f->cfg + m->cap + 8, &p, 4);
	f->wmask[m->cap + 2] = 0;
	f->wmask[m->cap + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
	memset(f->wmask + m->cap + 4, 0, 8);
	return 0;
}

int msix_init(struct msix *m, struct pci_func *f, unsigned nvec, unsigned bar,
	      uint32_t table_off, uint32_t pba_off, const struct msix_sink *sink,
	      struct bs_err *e)
{
	unsigned cap;
	int r;

	memset(m, 0, sizeof(*m));
	r = check_params(f, nvec, bar, table_off, pba_off, sink, e);
	if (r)
		return r;
	cap = pci_cap_add(f, PCI_CAP_ID_MSIX, 12);
	if (!cap)
		return bs_errf(e, ENOSPC, "msix: no room for the capability");
	return setup(m, f, cap, nvec, bar, table_off, pba_off, sink, e);
}

int msix_init_at(struct msix *m, struct pci_func *f, unsigned cap, unsigned nvec,
		 unsigned bar, uint32_t table_off, uint32_t pba_off,
		 const struct msix_sink *sink, struct bs_err *e)
{
	int r;

	memset(m, 0, sizeof(*m));
	if (cap < 0x40 || cap > 0x100 - 12 || (cap & 3) || f->cfg[cap] != PCI_CAP_ID_MSIX)
		return bs_errf(e, EINVAL, "msix: no MSI-X capability at 0x%x", cap);
	r = check_params(f, nvec, bar, table_off, pba_off, sink, e);
	if (r)
		return r;
	return setup(m, f, cap, nvec, bar, table_off, pba_off, sink, e);
}

void msix_destroy(struct msix *m)
{
	free(m->table);
	free(m->pba);
	free(m->routed);
	if (m->f)
		pthread_mutex_destroy(&m->lock);
	memset(m, 0, sizeof(*m));
}

static bool entry_access_ok(const struct msix *m, uint64_t off, unsigned len)
{
	return (len == 4 || len == 8) && !(off & (len - 1)) &&
	       off < msix_table_bytes(m->nvec) &&
	       len <= msix_table_bytes(m->nvec) - off;
}

void msix_table_read(struct msix *m, uint64_t off, void *data, unsigned len)
{
	if (!entry_access_ok(m, off, len)) {
		memset(data, 0xff, len > 8 ? 8 : len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	memcpy(data, (const uint8_t *)m->table + off, len);
	pthread_mutex_unlock(&m->lock);
}

void msix_table_write(struct msix *m, uint64_t off, const void *data,
		      unsigned len)
{
	if (!entry_access_ok(m, off, len))
		return;
	pthread_mutex_lock(&m->lock);
	memcpy((uint8_t *)m->table + off, data, len);
	/* Reserved vector-control bits read as 0. */
	m->table[4 * (off / MSIX_ENTRY_SIZE) + ENT_VCTRL] &= MSIX_VCTRL_MASK;
	sync_vec(m, (unsigned)(off / MSIX_ENTRY_SIZE), ctrl(m));
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_read(struct msix *m, uint64_t off, void *data, unsigned len)
{
	if ((len != 4 && len != 8) || (off & (len - 1)) ||
	    off >= msix_pba_bytes(m->nvec) || len > msix_pba_bytes(m->nvec) - off) {
		memset(data, 0xff, len > 8 ? 8 : len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	memcpy(data, (const uint8_t *)m->pba + off, len);
	pthread_mutex_unlock(&m->lock);
}

void msix_cfg_written(struct msix *m, unsigned off, unsigned len)
{
	/* Only Message Control (cap + 2, 2 bytes) changes delivery. */
	if (off + len <= m->cap + 2 || off >= m->cap + 4)
		return;
	pthread_mutex_lock(&m->lock);
	sync_all(m);
	pthread_mutex_unlock(&m->lock);
}

void msix_notify(struct msix *m, unsigned vec)
{
	if (vec >= m->nvec)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->routed[vec].valid)
		m->sink.fire(m->sink.ctx, vec);
	else
		m->pba[vec / 64] |= 1ull << (vec % 64);
	pthread_mutex_unlock(&m->lock);
}

bool msix_enabled(struct msix *m)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return on;
}
