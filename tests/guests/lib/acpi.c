/* ACPI table lookup for the test guests (ACPI 6.4, 5.2.5 "Root System
 * Description Pointer" and 5.2.8 XSDT): the RSDP from hvm_start_info (PVH)
 * or, when that gives none (QEMU's PVH boot), the legacy scan of the BIOS
 * area 0xe0000-0xfffff on 16-byte boundaries.  Runs at CPL3 (every page has
 * the U bit).  Tables whose checksum or length is wrong are ignored. */
#include "guest.h"

struct __attribute__((packed)) rsdp {
	char sig[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;
	uint8_t reserved[3];
};

struct __attribute__((packed)) sdt_header {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_revision;
	uint32_t creator;
	uint32_t creator_revision;
};

#define ACPI_MAX_TABLE (1u << 20)	/* sanity bound on a table's length */

static bool sum_ok(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s == 0;
}

static const struct rsdp *rsdp_at(uint64_t pa)
{
	const struct rsdp *r = (const struct rsdp *)(uintptr_t)pa;

	if (!pa || pa >= (4ull << 30) || memcmp(r->sig, "RSD PTR ", 8) || !sum_ok(r, 20))
		return NULL;
	return r;
}

static const struct rsdp *find_rsdp(void)
{
	const struct hvm_start_info *si =
		(const struct hvm_start_info *)(uintptr_t)guest_start_info_paddr();
	const struct rsdp *r = NULL;

	if (si && si->magic == XEN_HVM_START_MAGIC_VALUE)
		r = rsdp_at(si->rsdp_paddr);
	for (uint64_t pa = 0xe0000; !r && pa < 0x100000; pa += 16)
		r = rsdp_at(pa);
	return r;
}

static const struct sdt_header *table_at(uint64_t pa)
{
	const struct sdt_header *h = (const struct sdt_header *)(uintptr_t)pa;

	if (!pa || pa >= (4ull << 30) - ACPI_MAX_TABLE || h->length < sizeof(*h) ||
	    h->length > ACPI_MAX_TABLE || !sum_ok(h, h->length))
		return NULL;
	return h;
}

uint64_t guest_acpi_find(const char sig[4])
{
	const struct rsdp *r = find_rsdp();
	const struct sdt_header *root;
	bool x;

	if (!r)
		return 0;
	/* XSDT (64-bit entries) from revision 2 on, else the RSDT. */
	x = r->revision >= 2 && r->xsdt && sum_ok(r, r->length < 36 ? 36 : r->length);
	root = table_at(x ? r->xsdt : r->rsdt);
	if (!root)
		return 0;
	for (size_t off = sizeof(*root); off + (x ? 8 : 4) <= root->length; off += x ? 8 : 4) {
		uint64_t pa = 0;
		const struct sdt_header *t;

		memcpy(&pa, (const uint8_t *)root + off, x ? 8 : 4);
		t = table_at(pa);
		if (t && !memcmp(t->sig, sig, 4))
			return pa;
	}
	return 0;
}

/* PCI Firmware spec 3.2, 4.1.2: MCFG = header, 8 reserved bytes, then
 * 16-byte allocations {base, segment, start bus, end bus, reserved}. */
uint64_t guest_pci_ecam_base(void)
{
	uint64_t pa = guest_acpi_find("MCFG");
	const struct sdt_header *h = (const struct sdt_header *)(uintptr_t)pa;
	const uint8_t *alloc;
	uint64_t base;

	if (!pa || h->length < sizeof(*h) + 8 + 16)
		return 0;
	alloc = (const uint8_t *)h + sizeof(*h) + 8;
	if (alloc[8] | alloc[9] || alloc[10] != 0)	/* segment 0 from bus 0 */
		return 0;
	memcpy(&base, alloc, 8);
	return base;
}
