#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "basalt/guest_mem.h"

int gm_init(struct guest_mem *gm, uint64_t total, struct bs_err *e)
{
	memset(gm, 0, sizeof(*gm));
	gm->memfd = memfd_create("basalt-ram", MFD_CLOEXEC);
	if (gm->memfd < 0)
		return bs_errf(e, errno, "guest memory: memfd_create: %s",
			       strerror(errno));
	if (ftruncate(gm->memfd, (off_t)total) < 0) {
		int err = errno;

		close(gm->memfd);
		gm->memfd = -1;
		return bs_errf(e, err, "guest memory: cannot size %llu bytes: %s",
			       (unsigned long long)total, strerror(err));
	}
	/* MAP_NORESERVE: no prefault, pages are allocated as the guest
	 * touches them. */
	gm->base = mmap(NULL, total, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_NORESERVE, gm->memfd, 0);
	if (gm->base == MAP_FAILED) {
		int err = errno;

		close(gm->memfd);
		gm->memfd = -1;
		gm->base = NULL;
		return bs_errf(e, err, "guest memory: mmap %llu bytes: %s",
			       (unsigned long long)total, strerror(err));
	}
	/* Guest RAM is never worth a core dump of gigabytes. */
	madvise(gm->base, total, MADV_DONTDUMP);
	gm->total = total;
	return 0;
}

int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size,
		  struct bs_err *e)
{
	uint64_t used = 0;

	for (unsigned i = 0; i < gm->nr; i++) {
		used += gm->r[i].size;
		if (gpa < gm->r[i].gpa + gm->r[i].size && gm->r[i].gpa < gpa + size)
			return bs_errf(e, EINVAL,
				       "guest memory: region 0x%llx+0x%llx overlaps",
				       (unsigned long long)gpa,
				       (unsigned long long)size);
	}
	if (gm->nr == GM_MAX_REGIONS || size == 0 || used + size > gm->total ||
	    gpa + size < gpa)
		return bs_errf(e, EINVAL,
			       "guest memory: cannot place region 0x%llx+0x%llx",
			       (unsigned long long)gpa, (unsigned long long)size);
	gm->r[gm->nr] = (struct gm_region){
		.gpa = gpa, .size = size, .fd_offset = used, .hva = gm->base + used,
	};
	gm->nr++;
	return 0;
}

void gm_init_fake(struct guest_mem *gm, void *host, uint64_t gpa, uint64_t size)
{
	memset(gm, 0, sizeof(*gm));
	gm->memfd = -1;
	gm->total = size;
	gm->nr = 1;
	gm->r[0] = (struct gm_region){ .gpa = gpa, .size = size, .hva = host };
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->base)
		munmap(gm->base, gm->total);
	if (gm->memfd >= 0)
		close(gm->memfd);
	memset(gm, 0, sizeof(*gm));
	gm->memfd = -1;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (len == 0 || gpa + len < gpa)
		return NULL;
	for (unsigned i = 0; i < gm->nr; i++) {
		const struct gm_region *r = &gm->r[i];

		/* Written so that no sum can overflow: gpa >= r->gpa first. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

bool gm_is_ram(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	return gm_ptr(gm, gpa, len) != NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int gm_discard(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	const struct gm_region *r = NULL;

	if (len == 0 || gpa % GM_PAGE_SIZE || len % GM_PAGE_SIZE)
		return -EINVAL;
	if (!gm_ptr(gm, gpa, len))
		return -EFAULT;
	for (unsigned i = 0; i < gm->nr && !r; i++)
		if (gpa >= gm->r[i].gpa && gpa - gm->r[i].gpa < gm->r[i].size)
			r = &gm->r[i];
	if (gm->memfd < 0)
		return madvise(r->hva + (gpa - r->gpa), len, MADV_DONTNEED) ? -errno : 0;
	if (fallocate(gm->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(r->fd_offset + (gpa - r->gpa)), (off_t)len) < 0)
		return -errno;
	return 0;
}
