/* Guest page-table walker (Intel SDM vol. 3A, chapter 4 "Paging").
 *
 * Only what error reports and the instruction fallbacks need: translation
 * of a linear address to a guest-physical one.  Permission bits (R/W, U/S,
 * NX), reserved bits and protection keys are not checked and accessed/dirty
 * bits are never set: the walk is read-only.  Every table entry is read
 * with gm_read(), so a table pointer outside RAM ends the walk with
 * -EFAULT instead of touching host memory. */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "basalt/x86/pagewalk.h"

#define CR0_PG		(1ULL << 31)
#define CR4_PSE		(1ULL << 4)
#define CR4_PAE		(1ULL << 5)
#define CR4_LA57	(1ULL << 12)
#define EFER_LMA	(1ULL << 10)

#define PTE_P		(1ULL << 0)
#define PTE_PS		(1ULL << 7)
/* Physical-address bits 51:12 of a 64-bit entry (drops NX and the
 * software/protection-key bits 62:52). */
#define PTE_ADDR	0x000ffffffffff000ULL

#define PAGE_SIZE	4096ULL
#define PAGE_MASK	(PAGE_SIZE - 1)

/* 4-level (SDM 4.5) and PAE below the PDPT (SDM 4.4): 512 8-byte entries
 * per table, 9 index bits per level.  Level 1 is the page table.  A PS
 * entry maps a large page at levels 2..ps_max (2 MiB, 1 GiB). */
static int walk_64bit_entries(const struct guest_mem *gm, uint64_t table,
			      uint64_t gva, int level, int ps_max,
			      uint64_t *gpa)
{
	for (; level >= 1; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		uint64_t idx = (gva >> shift) & 0x1ff;
		uint64_t pte;

		if (gm_read(gm, table + idx * 8, &pte, sizeof(pte)) < 0)
			return -EFAULT;
		pte = le64toh(pte);
		if (!(pte & PTE_P))
			return -EFAULT;
		if (level == 1 || (level <= ps_max && (pte & PTE_PS))) {
			uint64_t off = (1ULL << shift) - 1;

			*gpa = (pte & PTE_ADDR & ~off) | (gva & off);
			return 0;
		}
		table = pte & PTE_ADDR;
	}
	return -EFAULT;
}

/* 32-bit paging (SDM 4.3): 1024 4-byte entries; with CR4.PSE a PS PDE maps
 * a 4 MiB page whose address bits 39:32 come from PDE bits 20:13 (PSE-36). */
static int walk_32bit(const struct guest_mem *gm, const struct kvm_sregs *s,
		      uint32_t gva, uint64_t *gpa)
{
	uint64_t pd = s->cr3 & 0xfffff000ULL;
	uint32_t pde, pte;

	if (gm_read(gm, pd + (uint64_t)(gva >> 22) * 4, &pde, sizeof(pde)) < 0)
		return -EFAULT;
	pde = le32toh(pde);
	if (!(pde & PTE_P))
		return -EFAULT;
	if ((pde & PTE_PS) && (s->cr4 & CR4_PSE)) {
		*gpa = (pde & 0xffc00000ULL) | ((uint64_t)((pde >> 13) & 0xff) << 32) |
		       (gva & 0x003fffffULL);
		return 0;
	}
	if (gm_read(gm, (pde & 0xfffff000ULL) + ((gva >> 12) & 0x3ff) * 4ULL,
		    &pte, sizeof(pte)) < 0)
		return -EFAULT;
	pte = le32toh(pte);
	if (!(pte & PTE_P))
		return -EFAULT;
	*gpa = (pte & 0xfffff000ULL) | (gva & PAGE_MASK);
	return 0;
}

/* PAE paging (SDM 4.4): CR3 bits 31:5 point at four PDPTEs (no large
 * pages at that level), then a 2-level walk with 2 MiB pages.  The PDPTEs
 * are read from memory, not from the copies the CPU loaded at CR3 write. */
static int walk_pae(const struct guest_mem *gm, const struct kvm_sregs *s,
		    uint32_t gva, uint64_t *gpa)
{
	uint64_t pdpte;

	if (gm_read(gm, (s->cr3 & 0xffffffe0ULL) + (uint64_t)(gva >> 30) * 8,
		    &pdpte, sizeof(pdpte)) < 0)
		return -EFAULT;
	pdpte = le64toh(pdpte);
	if (!(pdpte & PTE_P))
		return -EFAULT;
	return walk_64bit_entries(gm, pdpte & PTE_ADDR, gva, 2, 2, gpa);
}

/* 4- and 5-level paging (SDM 4.5).  A non-canonical address has no
 * translation. */
static int walk_long(const struct guest_mem *gm, const struct kvm_sregs *s,
		     uint64_t gva, uint64_t *gpa)
{
	bool la57 = s->cr4 & CR4_LA57;
	unsigned bits = la57 ? 57 : 48;
	uint64_t canon = (uint64_t)((int64_t)(gva << (64 - bits)) >> (64 - bits));

	if (canon != gva)
		return -EFAULT;
	return walk_64bit_entries(gm, s->cr3 & PTE_ADDR, gva, la57 ? 5 : 4, 3,
				  gpa);
}

int x86_gva_to_gpa(const struct guest_mem *gm, const struct kvm_sregs *s,
		   uint64_t gva, uint64_t *gpa)
{
	if (!(s->cr0 & CR0_PG)) {
		*gpa = (s->efer & EFER_LMA) ? gva : (gva & 0xffffffffULL);
		return 0;
	}
	if (s->efer & EFER_LMA)
		return walk_long(gm, s, gva, gpa);
	if (s->cr4 & CR4_PAE)
		return walk_pae(gm, s, (uint32_t)gva, gpa);
	return walk_32bit(gm, s, (uint32_t)gva, gpa);
}

/* Copies as much of [gpa, gpa+len) as is RAM, from the start, into dst
 * (guest -> host) or from src (host -> guest); exactly one is non-NULL.
 * A page may straddle the end of a RAM region, so fall back to single
 * bytes there. */
static uint64_t copy_gpa(const struct guest_mem *gm, uint64_t gpa, uint8_t *dst,
			 const uint8_t *src, uint64_t len)
{
	uint64_t i;

	if ((src ? gm_write(gm, gpa, src, len) : gm_read(gm, gpa, dst, len)) == 0)
		return len;
	for (i = 0; i < len; i++) {
		int r = src ? gm_write(gm, gpa + i, src + i, 1) :
			      gm_read(gm, gpa + i, dst + i, 1);

		if (r < 0)
			break;
	}
	return i;
}

/* Page by page, stopping at the first byte without a translation or
 * outside RAM. */
static uint64_t copy_gva(const struct guest_mem *gm, const struct kvm_sregs *s,
			 uint64_t gva, uint8_t *dst, const uint8_t *src,
			 uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t va = gva + done;
		uint64_t chunk = PAGE_SIZE - (va & PAGE_MASK);
		uint64_t gpa, n;

		if (chunk > len - done)
			chunk = len - done;
		if (x86_gva_to_gpa(gm, s, va, &gpa) < 0)
			break;
		n = copy_gpa(gm, gpa, dst ? dst + done : NULL,
			     src ? src + done : NULL, chunk);
		done += n;
		if (n < chunk)
			break;
	}
	return done;
}

uint64_t x86_read_gva(const struct guest_mem *gm, const struct kvm_sregs *s,
		      uint64_t gva, void *dst, uint64_t len)
{
	return copy_gva(gm, s, gva, dst, NULL, len);
}

uint64_t x86_write_gva(const struct guest_mem *gm, const struct kvm_sregs *s,
		       uint64_t gva, const void *src, uint64_t len)
{
	return copy_gva(gm, s, gva, NULL, src, len);
}
