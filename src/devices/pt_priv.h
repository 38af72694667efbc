/* Internals shared by pt.c (regions, configuration space, set-up) and
 * pt_irq.c (MSI and MSI-X vectors). */
#ifndef BASALT_DEVICES_PT_PRIV_H
#define BASALT_DEVICES_PT_PRIV_H

#include <stdatomic.h>
#include <string.h>

#include "basalt/devices/pt.h"
#include "basalt/log.h"

#define PT_WARN_LIMIT 10

/* Rate-limited: a hostile guest must not flood the log. */
#define pt_warn(pt, ...) do { \
	if (atomic_fetch_add(&(pt)->dead_logged, 1) < PT_WARN_LIMIT) \
		log_warn(__VA_ARGS__); \
} while (0)

static inline uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

static inline bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* pt_irq.c.  The eventfds of kind (PT_IRQ_MSI/MSIX) handed to the device
 * (n vectors) or taken back (n 0); no allocation (vCPU threads). */
void pt_device_irqs(struct pt_dev *pt, unsigned kind, unsigned n);
/* MSI's routes and device state from the capability in the image. */
void pt_msi_sync(struct pt_dev *pt);
/* MSI pending bits (masked vectors the device signalled). */
uint32_t pt_msi_pending(struct pt_dev *pt);
/* Masked MSI-X vectors the device signalled become pending (PBA). */
void pt_pba_sync(struct pt_dev *pt);
/* Eventfds for every vector, the MSI-X emulation at the device's
 * capability. */
int pt_irq_setup(struct pt_dev *pt, struct bs_err *e);

/* pt.c */
bool pt_in_msix_bar(struct pt_region *rg);

#endif
