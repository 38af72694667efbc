#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "basalt/x86/acpi.h"
#include "fixtures.h"

#define GPA 0xe0000ull
#define BUFSZ 8192
#define ECAM 0xe0000000ull

static uint8_t buf[BUFSZ];

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Host pointer of a table at guest address gpa; checks it lies inside the
 * used part of the buffer. */
static const uint8_t *table_at(uint64_t gpa, size_t used)
{
	ck_assert_uint_ge(gpa, GPA);
	ck_assert_uint_le(gpa - GPA + 36, used);
	ck_assert_uint_eq(gpa % 8, 0);
	return buf + (gpa - GPA);
}

/* Checks the common header of a table and returns its length. */
static uint32_t check_header(const uint8_t *t, const char *sig, uint8_t rev,
			     size_t used)
{
	uint32_t len = le32(t + 4);

	ck_assert_mem_eq(t, sig, 4);
	ck_assert_uint_eq(t[8], rev);
	ck_assert_uint_le((size_t)(t - buf) + len, used);
	ck_assert_uint_eq(acpi_checksum(t, len), 0);
	ck_assert_mem_eq(t + 10, "BASALT", 6);
	ck_assert_mem_eq(t + 16, "BASALTVM", 8);
	ck_assert_mem_eq(t + 28, "BSLT", 4);
	return len;
}

static void check_gas_io8(const uint8_t *g, uint64_t port)
{
	ck_assert_uint_eq(g[0], 1);	/* system I/O */
	ck_assert_uint_eq(g[1], 8);	/* bit width */
	ck_assert_uint_eq(g[2], 0);	/* bit offset */
	ck_assert_uint_eq(g[3], 1);	/* byte access */
	ck_assert_uint_eq(le64(g + 4), port);
}

static const uint8_t s5_aml[] = {
	0x08, '\\', '_', 'S', '5', '_',	/* Name(\_S5_, */
	0x12, 0x07, 0x04,		/* Package(4) { PkgLength 7 */
	0x0a, 0x05, 0x00, 0x00, 0x00,	/* 5, 0, 0, 0 } */
};

/* Device(COM1) { Name(_HID, EisaId("PNP0501")) Name(_UID, One)
 * Name(_CRS, ResourceTemplate() { IO(Decode16, 0x3f8, 0x3f8, 0, 8)
 * IRQNoFlags() {4} }) } -- as iasl compiles it. */
static const uint8_t com1_aml[] = {
	0x5b, 0x82, 0x2b, 'C', 'O', 'M', '1',
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,
	0x08, '_', 'U', 'I', 'D', 0x01,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d,
	0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08,
	0x22, 0x10, 0x00, 0x79, 0x00,
};

static bool contains(const uint8_t *h, size_t hl, const uint8_t *n, size_t nl)
{
	for (size_t i = 0; i + nl <= hl; i++)
		if (!memcmp(h + i, n, nl))
			return true;
	return false;
}

static void check_fadt(const uint8_t *f, size_t used)
{
	const uint8_t *d;

	ck_assert_uint_eq(check_header(f, "FACP", 6, used), 276);
	ck_assert_uint_eq(le16(f + 46), 9);		/* SCI_INT */
	ck_assert_uint_eq(f[108], 0x32);		/* CENTURY */
	ck_assert_uint_eq(le16(f + 109), 0x0004);	/* VGA not present */
	ck_assert_uint_eq(le32(f + 112),
			  (1u << 20) | (1u << 10) | (1u << 5) | (1u << 4));
	check_gas_io8(f + 116, 0x602);			/* RESET_REG */
	ck_assert_uint_eq(f[128], 1);			/* RESET_VALUE */
	ck_assert_uint_eq(f[131], 5);			/* minor version */
	check_gas_io8(f + 244, ACPI_SLEEP_CTRL_PORT);
	check_gas_io8(f + 256, ACPI_SLEEP_STATUS_PORT);
	ck_assert_mem_eq(f + 268, "BASALT  ", 8);
	ck_assert_uint_eq(le32(f + 40), 0);		/* only X_DSDT */
	for (int off = 148; off < 244; off++)		/* no PM1/GPE blocks */
		ck_assert_uint_eq(f[off], 0);

	d = table_at(le64(f + 140), used);
	ck_assert_uint_ge(check_header(d, "DSDT", 2, used), 36 + sizeof(s5_aml));
	ck_assert_mem_eq(d + 36, s5_aml, sizeof(s5_aml));
	/* \_SB_ scope with the legacy UART and RTC and their interrupts */
	ck_assert(contains(d, le32(d + 4), com1_aml, sizeof(com1_aml)));
	ck_assert(contains(d, le32(d + 4), (const uint8_t *)"\x0c\x41\xd0\x0b\x00", 5));
	ck_assert(contains(d, le32(d + 4), (const uint8_t *)"\x22\x00\x01\x79", 4));
}

static void check_madt(const uint8_t *m, unsigned ncpus, size_t used)
{
	static const uint8_t iso0[] = { 2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0x00 };
	static const uint8_t iso9[] = { 2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0x00 };
	static const uint8_t nmi[] = { 4, 6, 0xff, 0, 0, 1 };
	uint32_t len = check_header(m, "APIC", 5, used);
	unsigned nlapic = 0, nioapic = 0, niso = 0, nnmi = 0;
	uint32_t off = 44;

	ck_assert_uint_eq(le32(m + 36), 0xfee00000);
	ck_assert_uint_eq(le32(m + 40), 1);		/* PCAT_COMPAT */
	while (off < len) {
		const uint8_t *s = m + off;

		ck_assert_uint_ge(s[1], 2);
		ck_assert_uint_le(off + s[1], len);
		switch (s[0]) {
		case 0:
			ck_assert_uint_eq(s[1], 8);
			ck_assert_uint_eq(s[2], nlapic);	/* processor uid */
			ck_assert_uint_eq(s[3], nlapic);	/* APIC id */
			ck_assert_uint_eq(le32(s + 4), 1);	/* enabled */
			nlapic++;
			break;
		case 1:
			ck_assert_uint_eq(s[1], 12);
			ck_assert_uint_eq(s[2], ncpus);
			ck_assert_uint_eq(le32(s + 4), 0xfec00000);
			ck_assert_uint_eq(le32(s + 8), 0);
			nioapic++;
			break;
		case 2:
			ck_assert_mem_eq(s, niso ? iso9 : iso0, 10);
			niso++;
			break;
		case 4:
			ck_assert_mem_eq(s, nmi, 6);
			nnmi++;
			break;
		default:
			ck_abort_msg("unexpected MADT entry type %u", s[0]);
		}
		off += s[1];
	}
	ck_assert_uint_eq(off, len);
	ck_assert_uint_eq(nlapic, ncpus);
	ck_assert_uint_eq(nioapic, 1);
	ck_assert_uint_eq(niso, 2);
	ck_assert_uint_eq(nnmi, 1);
}

static void check_mcfg(const uint8_t *m, size_t used)
{
	ck_assert_uint_eq(check_header(m, "MCFG", 1, used), 60);
	ck_assert_uint_eq(le64(m + 44), ECAM);
	ck_assert_uint_eq(le16(m + 52), 0);	/* segment */
	ck_assert_uint_eq(m[54], 0);		/* start bus */
	ck_assert_uint_eq(m[55], 0x7f);		/* end bus */
}

static void check_all(unsigned ncpus, bool ecam)
{
	struct acpi_params p = {
		.ncpus = ncpus, .ioapic_addr = IOAPIC_BASE, .sci_irq = 9,
		.ecam_base = ecam ? ECAM : 0, .ecam_bus_end = 0x7f,
	};
	static const char *const sigs[] = { "FACP", "APIC", "MCFG" };
	struct acpi_layout l = { 0, 0 };
	struct bs_err e = { "" };
	const uint8_t *x;
	unsigned nent;
	uint32_t xlen;

	memset(buf, 0xa5, sizeof(buf));
	ck_assert_int_eq(acpi_build(buf, GPA, sizeof(buf), &p, &l, &e), 0);
	ck_assert_uint_eq(l.rsdp_gpa, GPA);
	ck_assert_uint_gt(l.size, 36);
	ck_assert_uint_le(l.size, sizeof(buf));
	ck_assert_uint_eq(buf[l.size], 0xa5);		/* nothing past size */

	/* RSDP */
	ck_assert_mem_eq(buf, "RSD PTR ", 8);
	ck_assert_uint_eq(acpi_checksum(buf, 20), 0);
	ck_assert_uint_eq(acpi_checksum(buf, 36), 0);
	ck_assert_mem_eq(buf + 9, "BASALT", 6);
	ck_assert_uint_eq(buf[15], 2);			/* revision */
	ck_assert_uint_eq(le32(buf + 16), 0);		/* no RSDT */
	ck_assert_uint_eq(le32(buf + 20), 36);
	ck_assert_uint_eq(le64(buf + 24), GPA + 40);

	/* XSDT */
	x = table_at(le64(buf + 24), l.size);
	xlen = check_header(x, "XSDT", 1, l.size);
	nent = ecam ? 3 : 2;
	ck_assert_uint_eq(xlen, 36 + 8 * nent);
	for (unsigned i = 0; i < nent; i++) {
		const uint8_t *t = table_at(le64(x + 36 + 8 * i), l.size);

		ck_assert_mem_eq(t, sigs[i], 4);
		if (i == 0)
			check_fadt(t, l.size);
		else if (i == 1)
			check_madt(t, ncpus, l.size);
		else
			check_mcfg(t, l.size);
	}
}

START_TEST(tables_1cpu)
{
	check_all(1, true);
	check_all(1, false);
}
END_TEST

START_TEST(tables_2cpu)
{
	check_all(2, true);
	check_all(2, false);
}
END_TEST

START_TEST(tables_8cpu)
{
	check_all(8, true);
}
END_TEST

/* The root bridge in the DSDT and its _CRS windows. */
static const uint8_t *dsdt_of(const struct acpi_params *p, size_t *len)
{
	struct acpi_layout l = { 0, 0 };
	struct bs_err e = { "" };
	const uint8_t *x, *f, *d;

	memset(buf, 0xa5, sizeof(buf));
	ck_assert_int_eq(acpi_build(buf, GPA, sizeof(buf), p, &l, &e), 0);
	x = table_at(le64(buf + 24), l.size);
	f = table_at(le64(x + 36), l.size);
	d = table_at(le64(f + 140), l.size);
	*len = check_header(d, "DSDT", 2, l.size);
	return d;
}

START_TEST(pci_root)
{
	struct acpi_params p = {
		.ncpus = 1, .ioapic_addr = IOAPIC_BASE, .sci_irq = 9,
		.ecam_base = ECAM, .ecam_bus_end = 0xff,
		.pci_mem32_base = 0xc0000000, .pci_mem32_size = 0x20000000,
		.pci_mem64_base = 0x1000000000ull, .pci_mem64_size = 256ull << 30,
	};
	/* Device(PCI0) { Name(_HID, EisaId("PNP0A08")) ... */
	static const uint8_t dev[] = { 'P', 'C', 'I', '0', 0x08, '_', 'H', 'I', 'D',
				       0x0c, 0x41, 0xd0, 0x0a, 0x08 };
	static const uint8_t cid[] = { 0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	/* WordBusNumber(producer, fixed, 0..255, length 256) */
	static const uint8_t bus[] = { 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0,
				       0x00, 0x00, 0xff, 0x00, 0, 0, 0x00, 0x01 };
	/* WordIO 0..0xcf7 and 0xd00..0xffff, entire range */
	static const uint8_t io1[] = { 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0,
				       0x00, 0x00, 0xf7, 0x0c, 0, 0, 0xf8, 0x0c };
	static const uint8_t io2[] = { 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0,
				       0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3 };
	/* DWordMemory 0xc0000000..0xdfffffff, read-write */
	static const uint8_t m32[] = { 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0,
				       0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xff, 0xdf,
				       0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20 };
	/* QWordMemory 64 GiB .. +256 GiB, prefetchable read-write */
	static const uint8_t m64[] = { 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x07,
				       0, 0, 0, 0, 0, 0, 0, 0,
				       0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
				       0xff, 0xff, 0xff, 0xff, 0x4f, 0x00, 0x00, 0x00,
				       0, 0, 0, 0, 0, 0, 0, 0,
				       0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
				       0x79, 0x00 };
	const uint8_t *d;
	size_t len;

	d = dsdt_of(&p, &len);
	ck_assert(contains(d, len, dev, sizeof(dev)));
	ck_assert(contains(d, len, cid, sizeof(cid)));
	ck_assert(contains(d, len, bus, sizeof(bus)));
	ck_assert(contains(d, len, io1, sizeof(io1)));
	ck_assert(contains(d, len, io2, sizeof(io2)));
	ck_assert(contains(d, len, m32, sizeof(m32)));
	ck_assert(contains(d, len, m64, sizeof(m64)));
	/* without windows: no memory descriptors; without ECAM: no PCI0 */
	p.pci_mem32_size = p.pci_mem64_size = 0;
	d = dsdt_of(&p, &len);
	ck_assert(contains(d, len, dev, sizeof(dev)));
	ck_assert(!contains(d, len, m32, 6));
	ck_assert(!contains(d, len, m64, 6));
	p.ecam_base = 0;
	d = dsdt_of(&p, &len);
	ck_assert(!contains(d, len, dev, 4));
}
END_TEST

/* The power button: Device(PWRB) (PNP0C0C) and the Generic Event Device
 * whose interrupt runs _EVT { Notify(PWRB, 0x80) }. */
START_TEST(power_button)
{
	struct acpi_params p = {
		.ncpus = 1, .ioapic_addr = IOAPIC_BASE, .sci_irq = 9, .pwrbtn_gsi = 10,
	};
	static const uint8_t pwrb[] = { 'P', 'W', 'R', 'B', 0x08, '_', 'H', 'I', 'D',
					0x0c, 0x41, 0xd0, 0x0c, 0x0c };
	static const uint8_t ged[] = { 'G', 'E', 'D', '0', 0x08, '_', 'H', 'I', 'D', 0x0d,
				       'A', 'C', 'P', 'I', '0', '0', '1', '3', 0 };
	/* Buffer(11) { Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { 10 } } */
	static const uint8_t crs[] = { 0x08, '_', 'C', 'R', 'S', 0x11, 0x0e, 0x0a, 0x0b,
				       0x89, 0x06, 0x00, 0x03, 0x01, 10, 0, 0, 0, 0x79, 0x00 };
	static const uint8_t evt[] = { 0x14, 0x0d, '_', 'E', 'V', 'T', 0x01,
				       0x86, 'P', 'W', 'R', 'B', 0x0a, 0x80 };
	const uint8_t *d;
	size_t len;

	d = dsdt_of(&p, &len);
	ck_assert(contains(d, len, pwrb, sizeof(pwrb)));
	ck_assert(contains(d, len, ged, sizeof(ged)));
	ck_assert(contains(d, len, crs, sizeof(crs)));
	ck_assert(contains(d, len, evt, sizeof(evt)));
	p.pwrbtn_gsi = 0;
	d = dsdt_of(&p, &len);
	ck_assert(!contains(d, len, ged, 4));
	ck_assert(!contains(d, len, pwrb, 4));
}
END_TEST

START_TEST(too_small)
{
	struct acpi_params p = {
		.ncpus = 2, .ioapic_addr = IOAPIC_BASE, .sci_irq = 9,
		.ecam_base = ECAM, .ecam_bus_end = 0xff,
	};
	struct acpi_layout l = { 0, 0 };
	struct bs_err e = { "" };

	/* RSDP 36 -> XSDT @40 (60) -> FADT @104 (276) -> DSDT @384 (252:
	 * 146 + Device(PCI0) 105 with a bus and two I/O windows in _CRS, + 1
	 * PkgLength byte of \_SB_) -> MADT @640 (98) -> MCFG @744 (60) = 804. */
	memset(buf, 0xa5, sizeof(buf));
	ck_assert_int_eq(acpi_build(buf, GPA, 803, &p, &l, &e), -ENOSPC);
	ck_assert_str_eq(e.msg, "ACPI tables: need 804 bytes, buffer has 803");
	ck_assert_uint_eq(buf[0], 0xa5);		/* nothing written */
	ck_assert_uint_eq(l.size, 0);
	ck_assert_int_eq(acpi_build(buf, GPA, 804, &p, &l, &e), 0);
	ck_assert_uint_eq(l.size, 804);
	ck_assert_uint_eq(buf[804], 0xa5);
}
END_TEST

START_TEST(bad_params)
{
	struct acpi_params p = { .ncpus = 0, .ioapic_addr = IOAPIC_BASE, .sci_irq = 9 };
	struct acpi_layout l;
	struct bs_err e = { "" };

	ck_assert_int_eq(acpi_build(buf, GPA, sizeof(buf), &p, &l, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "ACPI: cpu count 0 out of range (1..254)");
	p.ncpus = 255;
	ck_assert_int_eq(acpi_build(buf, GPA, sizeof(buf), &p, &l, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "ACPI: cpu count 255 out of range (1..254)");
	p.ncpus = 254;
	ck_assert_int_eq(acpi_build(buf, GPA, sizeof(buf), &p, &l, &e), 0);
	p.sci_irq = 16;
	ck_assert_int_eq(acpi_build(buf, GPA, sizeof(buf), &p, &l, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "ACPI: SCI IRQ 16 is not an ISA IRQ");
	p.sci_irq = 9;
	ck_assert_int_eq(acpi_build(buf, GPA + 8, sizeof(buf), &p, &l, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "ACPI: RSDP address 0xe0008 is not 16-byte aligned");
}
END_TEST

START_TEST(aml_pkglen)
{
	uint8_t o[4] = { 0 };

	ck_assert_uint_eq(acpi_aml_pkglen(o, 6), 1);
	ck_assert_uint_eq(o[0], 0x07);
	ck_assert_uint_eq(acpi_aml_pkglen(o, 62), 1);
	ck_assert_uint_eq(o[0], 0x3f);
	ck_assert_uint_eq(acpi_aml_pkglen(o, 63), 2);	/* 65 = 0x41 */
	ck_assert_uint_eq(o[0], 0x41);
	ck_assert_uint_eq(o[1], 0x04);
	ck_assert_uint_eq(acpi_aml_pkglen(o, 4093), 2);	/* 0xfff */
	ck_assert_uint_eq(o[0], 0x4f);
	ck_assert_uint_eq(o[1], 0xff);
	ck_assert_uint_eq(acpi_aml_pkglen(o, 4094), 3);	/* 0x1001 */
	ck_assert_uint_eq(o[0], 0x81);
	ck_assert_uint_eq(o[1], 0x00);
	ck_assert_uint_eq(o[2], 0x01);
	ck_assert_uint_eq(acpi_aml_pkglen(o, 0x100000), 4);	/* 0x100004 */
	ck_assert_uint_eq(o[0], 0xc4);
	ck_assert_uint_eq(o[1], 0x00);
	ck_assert_uint_eq(o[2], 0x00);
	ck_assert_uint_eq(o[3], 0x01);
	ck_assert_uint_eq(acpi_aml_pkglen(o, (1u << 28) - 4), 0);
	ck_assert_uint_eq(acpi_aml_pkglen(o, (1u << 28) - 5), 4);
	ck_assert_uint_eq(o[0], 0xcf);
	ck_assert_uint_eq(o[3], 0xff);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("tables");

	tcase_add_test(tc, tables_1cpu);
	tcase_add_test(tc, tables_2cpu);
	tcase_add_test(tc, tables_8cpu);
	tcase_add_test(tc, too_small);
	tcase_add_test(tc, pci_root);
	tcase_add_test(tc, power_button);
	tcase_add_test(tc, bad_params);
	tcase_add_test(tc, aml_pkglen);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
