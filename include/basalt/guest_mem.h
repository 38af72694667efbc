/* Guest physical memory.
 *
 * RAM is one memfd (MAP_SHARED) so later features (balloon hole punching,
 * vhost-user, snapshots) can share it; it is split into regions around the
 * 32-bit PCI hole by the arch layout code.  No prefault.
 *
 * Every guest-physical access by the VMM goes through gm_ptr()/gm_read()/
 * gm_write(): they fail unless the whole [gpa, gpa+len) lies inside a single
 * RAM region.  Guest addresses are hostile input: never add a guest value to
 * a host pointer anywhere else. */
#ifndef BASALT_GUEST_MEM_H
#define BASALT_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basalt/err.h"

#define GM_MAX_REGIONS 8

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t fd_offset;   /* offset of this region in the memfd */
	uint8_t *hva;
};

struct guest_mem {
	int memfd;
	uint8_t *base;        /* mapping of the whole memfd */
	uint64_t total;       /* bytes of RAM */
	unsigned nr;
	struct gm_region r[GM_MAX_REGIONS];
};

/* Creates a memfd of total bytes and maps it; regions are added after. */
int gm_init(struct guest_mem *gm, uint64_t total, struct bs_err *e);
/* Places the next size bytes of the memfd at guest address gpa. */
int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size,
		  struct bs_err *e);
/* Builds a guest_mem over caller-owned host memory (unit tests). */
void gm_init_fake(struct guest_mem *gm, void *host, uint64_t gpa, uint64_t size);
void gm_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) or NULL if any byte is outside RAM,
 * the range spans two regions, or gpa+len overflows.  len 0 is invalid. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     uint64_t len);
bool gm_is_ram(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Guest page size of the discard interface (x86: 4 KiB). */
#define GM_PAGE_SIZE 4096ull
/* Gives [gpa, gpa+len) back to the host (the balloon): the pages read as
 * zero afterwards and are allocated again when next touched.  On memfd RAM
 * this is fallocate(PUNCH_HOLE | KEEP_SIZE), which also unmaps the pages
 * from KVM; on fake RAM (unit tests) madvise(MADV_DONTNEED).  The range
 * must be GM_PAGE_SIZE-aligned, non-empty and inside one RAM region:
 * -EINVAL (alignment) or -EFAULT (not RAM) otherwise, -errno of the call. */
int gm_discard(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

#endif
