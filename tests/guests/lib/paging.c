/* Extra identity mappings above the boot map (SDM vol. 3A 4.5, 4-level
 * paging).  2 MiB pages only; page-table pages come from a static pool.
 *
 * Only not-present entries are ever written, and processors do not cache
 * not-present translations (SDM 4.10.2.3, 4.10.3.1), so no INVLPG (CPL0)
 * is needed and this works at CPL3 as well as in guest_ring0_init. */
#include "guest.h"

#define PTE_P 0x001ull
#define PTE_W 0x002ull
#define PTE_U 0x004ull
#define PTE_PWT 0x008ull
#define PTE_PCD 0x010ull
#define PTE_PS 0x080ull
#define PTE_ADDR 0x000ffffffffff000ull
#define PAGE_2M (2ull << 20)
#define POOL_PAGES 16

extern uint64_t boot_pml4[512];

static uint64_t pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned pool_used;

/* The table the entry points to, allocating it if the entry is empty;
 * NULL if the pool is exhausted or the entry is a large page. */
static uint64_t *next_table(uint64_t *entry)
{
	uint64_t *t;

	if (*entry & PTE_P) {
		if (*entry & PTE_PS)
			return NULL;
		return (uint64_t *)(uintptr_t)(*entry & PTE_ADDR);
	}
	if (pool_used == POOL_PAGES)
		return NULL;
	t = pool[pool_used++];
	*entry = (uintptr_t)t | PTE_P | PTE_W | PTE_U;
	return t;
}

int guest_map_phys(uint64_t pa, uint64_t size, unsigned flags)
{
	uint64_t limit = 1ull << guest_maxphyaddr();
	uint64_t start, end;

	/* Identity map: the address must also be a canonical lower-half VA. */
	if (limit > (1ull << 47))
		limit = 1ull << 47;
	if (!size || pa >= limit || size > limit - pa)
		return -GUEST_ERANGE;
	start = pa & ~(PAGE_2M - 1);
	end = (pa + size + PAGE_2M - 1) & ~(PAGE_2M - 1);
	if (end > limit)
		return -GUEST_ERANGE;
	for (uint64_t a = start; a < end; a += PAGE_2M) {
		uint64_t want = a | PTE_P | PTE_W | PTE_U | PTE_PS;
		uint64_t *pdpt, *pd, *pde;

		if (flags & GUEST_MAP_UNCACHED)
			want |= PTE_PWT | PTE_PCD;
		pdpt = next_table(&boot_pml4[(a >> 39) & 511]);
		pd = pdpt ? next_table(&pdpt[(a >> 30) & 511]) : NULL;
		if (!pd)
			return pool_used == POOL_PAGES ? -GUEST_ENOMEM : -GUEST_EEXIST;
		pde = &pd[(a >> 21) & 511];
		if (*pde & PTE_P) {
			if ((*pde & ~(PTE_PWT | PTE_PCD | 0x60ull)) !=
			    (want & ~(PTE_PWT | PTE_PCD)))
				return -GUEST_EEXIST;
			continue;
		}
		*(volatile uint64_t *)pde = want;
	}
	return 0;
}
