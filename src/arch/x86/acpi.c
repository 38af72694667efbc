/* ACPI table generation for x86 guests (ACPI 6.5 spec section numbers).
 *
 * Layout inside the caller's buffer, each table 8-byte aligned:
 *   RSDP (at buf_gpa) | XSDT | FADT | DSDT | MADT | MCFG (if ECAM)
 * Every size is known up front, so the whole layout is checked against the
 * buffer before anything is written.  The platform is hardware-reduced
 * (5.2.9 FADT flag HW_REDUCED_ACPI): no PM1/GPE blocks, no SCI events; the
 * sleep control/status and reset registers are single I/O ports served by
 * src/devices/acpi_pm.c. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/x86/acpi.h"

#define ACPI_OEM_ID "BASALT"
#define ACPI_OEM_TABLE_ID "BASALTVM"
#define ACPI_CREATOR_ID "BSLT"
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_REVISION 1

/* 5.2.5.3 Root System Description Pointer */
struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;	/* over the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_addr;
	uint32_t length;
	uint64_t xsdt_addr;
	uint8_t ext_checksum;	/* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");
#define RSDP_V1_LEN 20

/* 5.2.6 System Description Table Header */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header size");

/* 5.2.3.2 Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS size");
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

/* 5.2.9 Fixed ACPI Description Table, revision 6 */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT size");
#define FADT_REVISION 6
#define FADT_MINOR_VERSION 5
/* Table 5.10 fixed feature flags */
#define FADT_F_PWR_BUTTON (1u << 4)	/* no fixed-feature power button */
#define FADT_F_SLP_BUTTON (1u << 5)	/* no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
/* Table 5.11 IA-PC boot architecture flags */
#define FADT_IAPC_VGA_NOT_PRESENT (1u << 2)
#define CMOS_CENTURY_INDEX 0x32	/* src/devices/rtc.c */

/* 5.2.12 Multiple APIC Description Table */
struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT size");
#define MADT_REVISION 5
#define MADT_PCAT_COMPAT 1u

struct madt_lapic {		/* 5.2.12.2, type 0 */
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC size");
#define MADT_LAPIC_ENABLED 1u

struct madt_ioapic {		/* 5.2.12.3, type 1 */
	uint8_t type;
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC size");

struct madt_iso {		/* 5.2.12.5, type 2 */
	uint8_t type;
	uint8_t length;
	uint8_t bus;		/* 0 = ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_iso) == 10, "MADT ISO size");
/* MPS INTI flags: polarity bits 1:0, trigger mode bits 3:2 */
#define MPS_ACTIVE_HIGH 0x1
#define MPS_LEVEL 0xc

struct madt_lapic_nmi {	/* 5.2.12.7, type 4 */
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;	/* 0xff = all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT LAPIC NMI size");

enum {
	MADT_TYPE_LAPIC = 0,
	MADT_TYPE_IOAPIC = 1,
	MADT_TYPE_ISO = 2,
	MADT_TYPE_LAPIC_NMI = 4,
};
#define MADT_NR_ISO 2

/* PCI Firmware Spec 3.2, 4.1.2 MCFG */
struct acpi_mcfg {
	struct acpi_header h;
	uint8_t reserved[8];
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved2;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg) == 60, "MCFG size");

#define XSDT_MAX_ENTRIES 3	/* FADT, MADT, MCFG */
/* The MADT carries 8-bit APIC ids and the I/O APIC takes id ncpus;
 * 0xff is the broadcast id. */
#define ACPI_MAX_CPUS 254

/*
 * Minimal AML emitter (ACPI 6.5 chapter 20).  Writes into a bounded buffer;
 * an overflow is sticky and reported once at the end.  Objects with a
 * PkgLength (Package, Device, Scope, Method...) are built with
 * aml_pkg_begin()/aml_pkg_end(): the length is back-patched, shifting the
 * body when it needs more than one PkgLength byte.
 */
struct aml {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_QWORD_PREFIX 0x0e
#define AML_PACKAGE_OP 0x12
#define AML_ONES_OP 0xff
#define AML_ROOT_CHAR '\\'
#define AML_PKGLEN_MAX ((1u << 28) - 1)

static void aml_bytes(struct aml *a, const void *b, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->p + a->len, b, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* The encoded value includes the PkgLength bytes themselves: one byte up to
 * 63, else a lead byte (count in bits 7:6, low nibble in 3:0) and 1-3
 * bytes holding the rest. */
unsigned acpi_aml_pkglen(uint8_t out[4], size_t body_len)
{
	unsigned n;
	size_t total;

	for (n = 1; n <= 4; n++) {
		total = body_len + n;
		if (n == 1 ? total <= 0x3f : total < (1ull << (4 + 8 * (n - 1))))
			break;
	}
	if (n > 4 || total > AML_PKGLEN_MAX)
		return 0;
	if (n == 1) {
		out[0] = (uint8_t)total;
		return 1;
	}
	out[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
	for (unsigned i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

/* Emits the opcode(s) and returns where the body starts. */
static size_t aml_pkg_begin(struct aml *a, const uint8_t *op, size_t oplen)
{
	aml_bytes(a, op, oplen);
	return a->len;
}

static void aml_pkg_end(struct aml *a, size_t body_start)
{
	uint8_t enc[4];
	size_t body;
	unsigned n;

	if (a->overflow)
		return;
	body = a->len - body_start;
	n = acpi_aml_pkglen(enc, body);
	if (!n || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memmove(a->p + body_start + n, a->p + body_start, body);
	memcpy(a->p + body_start, enc, n);
	a->len += n;
}

/* 20.2.3 ComputationalData: the shortest encoding of an integer. */
static void aml_int(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	unsigned n, i;

	if (v == 0 || v == 1) {
		aml_byte(a, v ? AML_ONE_OP : AML_ZERO_OP);
		return;
	}
	if (v == UINT64_MAX) {
		aml_byte(a, AML_ONES_OP);
		return;
	}
	if (v <= 0xff) {
		b[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		b[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffff) {
		b[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		b[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, 1 + n);
}

/* 20.2.2 NameString for a rooted single segment: "\\XXXX" (4-char seg). */
static void aml_namestring(struct aml *a, const char *name)
{
	size_t len = strlen(name);

	if ((len != 5 || name[0] != AML_ROOT_CHAR) && len != 4) {
		a->overflow = true;	/* programming error: fail the build */
		return;
	}
	aml_bytes(a, name, len);
}

/* Name(name, Package() { vals... }) */
static void aml_name_pkg(struct aml *a, const char *name,
			 const uint64_t *vals, uint8_t n)
{
	static const uint8_t name_op = AML_NAME_OP, pkg_op = AML_PACKAGE_OP;
	size_t body;

	aml_bytes(a, &name_op, 1);
	aml_namestring(a, name);
	body = aml_pkg_begin(a, &pkg_op, 1);
	aml_byte(a, n);		/* NumElements */
	for (uint8_t i = 0; i < n; i++)
		aml_int(a, vals[i]);
	aml_pkg_end(a, body);
}

/* 19.6.35 EISAID: three letters (5 bits each) and four hex digits,
 * stored big-endian in a DWordConst. */
static uint32_t eisa_id(const char id[7])
{
	uint32_t v = ((uint32_t)(id[0] - 0x40) << 26) | ((uint32_t)(id[1] - 0x40) << 21) |
		     ((uint32_t)(id[2] - 0x40) << 16) |
		     (uint32_t)strtoul((char[]){ id[3], id[4], id[5], id[6], 0 }, NULL, 16);

	return __builtin_bswap32(v);
}

/* Name(name, value) with an integer value. */
static void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
	aml_int(a, v);
}

/* Name(_CRS, ResourceTemplate() { IO(Decode16, port, port, 0, len)
 * IRQNoFlags() { irq } }) -- 6.4.2.5 I/O port and 6.4.2.1 IRQ small
 * resource descriptors, then the end tag. */
static void aml_crs_io_irq(struct aml *a, uint16_t port, uint8_t len, uint8_t irq)
{
	const uint16_t mask = (uint16_t)(1u << (irq & 15));
	const uint8_t res[] = {
		0x47, 0x01, port & 0xff, port >> 8, port & 0xff, port >> 8, 0x00, len,
		0x22, mask & 0xff, mask >> 8,
		0x79, 0x00,
	};
	static const uint8_t buffer_op = 0x11;
	size_t body;

	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, "_CRS");
	body = aml_pkg_begin(a, &buffer_op, 1);
	aml_int(a, sizeof(res));
	aml_bytes(a, res, sizeof(res));
	aml_pkg_end(a, body);
}

/* Device(name) { _HID, _UID, _CRS } for a legacy ISA device.  Declaring
 * them matters: with HW_REDUCED_ACPI Linux sets up no legacy PIC IRQs, so
 * the UART and RTC only get their interrupts through these _CRS. */
static void aml_isa_device(struct aml *a, const char *name, const char *hid,
			   unsigned uid, uint16_t port, uint8_t len, uint8_t irq)
{
	static const uint8_t device_op[] = { 0x5b, 0x82 };
	size_t body = aml_pkg_begin(a, device_op, 2);

	aml_namestring(a, name);
	aml_name_int(a, "_HID", eisa_id(hid));
	aml_name_int(a, "_UID", uid);
	aml_crs_io_irq(a, port, len, irq);
	aml_pkg_end(a, body);
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Address space resource descriptors (ACPI 6.4, 6.4.3.5.1-3): Word (0x88),
 * DWord (0x87) or QWord (0x8a) by width w = 2, 4, 8 bytes.  A bridge's
 * window: producer, fixed min and max (general flags 0x0c). */
#define RES_MEM 0
#define RES_IO 1
#define RES_BUS 2
static size_t addr_desc(uint8_t *o, unsigned w, uint8_t type, uint8_t tflags,
			uint64_t min, uint64_t len)
{
	size_t n = 3 + 3 + 5 * w;

	o[0] = w == 2 ? 0x88 : w == 4 ? 0x87 : 0x8a;
	put_le(o + 1, n - 3, 2);
	o[3] = type;
	o[4] = 0x0c;
	o[5] = tflags;
	put_le(o + 6, 0, w);			/* granularity */
	put_le(o + 6 + w, min, w);
	put_le(o + 6 + 2 * w, min + len - 1, w);
	put_le(o + 6 + 3 * w, 0, w);		/* translation offset */
	put_le(o + 6 + 4 * w, len, w);
	return n;
}

/* Device(\_SB.PCI0): the PCI Express root bridge (PNP0A08, compatible
 * PNP0A03), segment 0, bus 0, with its _CRS (6.2.2, and PCI Firmware spec
 * 3.2, 4.1). */
static void aml_pci_root(struct aml *a, const struct acpi_params *p)
{
	static const uint8_t device_op[] = { 0x5b, 0x82 }, buffer_op = 0x11;
	uint8_t res[16 * 3 + 26 + 46 + 2];	/* bus, 2 x I/O, mem32, mem64, end */
	size_t n = 0, body, crs;

	n += addr_desc(res + n, 2, RES_BUS, 0, 0, (uint64_t)p->ecam_bus_end + 1);
	/* I/O: everything but the configuration ports; _RNG = entire. */
	n += addr_desc(res + n, 2, RES_IO, 3, 0, 0xcf8);
	n += addr_desc(res + n, 2, RES_IO, 3, 0xd00, 0x10000 - 0xd00);
	/* Memory windows: read-write, non-prefetchable / prefetchable. */
	if (p->pci_mem32_size)
		n += addr_desc(res + n, 4, RES_MEM, 0x01, p->pci_mem32_base,
			       p->pci_mem32_size);
	if (p->pci_mem64_size)
		n += addr_desc(res + n, 8, RES_MEM, 0x07, p->pci_mem64_base,
			       p->pci_mem64_size);
	res[n++] = 0x79;			/* end tag, checksum 0 */
	res[n++] = 0x00;

	body = aml_pkg_begin(a, device_op, 2);
	aml_namestring(a, "PCI0");
	aml_name_int(a, "_HID", eisa_id("PNP0A08"));
	aml_name_int(a, "_CID", eisa_id("PNP0A03"));
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	aml_name_int(a, "_UID", 0);
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, "_CRS");
	crs = aml_pkg_begin(a, &buffer_op, 1);
	aml_int(a, n);
	aml_bytes(a, res, n);
	aml_pkg_end(a, crs);
	aml_pkg_end(a, body);
}

/* The power button of a hardware-reduced platform (no fixed-feature
 * PWRBTN event, FADT PWR_BUTTON set): Device(PWRB) { _HID PNP0C0C }, and a
 * Generic Event Device (5.6.9) whose interrupt (Extended Interrupt
 * descriptor 6.4.3.6: consumer, edge, active-high, exclusive) runs
 * _EVT(gsi) { Notify(PWRB, 0x80) } (table 5.174, "button pressed"). */
static void aml_power_button(struct aml *a, unsigned gsi)
{
	static const uint8_t device_op[] = { 0x5b, 0x82 }, buffer_op = 0x11,
			     method_op = 0x14, string_prefix = 0x0d, notify_op = 0x86;
	const uint8_t res[] = {
		0x89, 0x06, 0x00, 0x03, 0x01,
		gsi & 0xff, (gsi >> 8) & 0xff, (gsi >> 16) & 0xff, gsi >> 24,
		0x79, 0x00,
	};
	size_t body, crs, method;

	body = aml_pkg_begin(a, device_op, 2);
	aml_namestring(a, "PWRB");
	aml_name_int(a, "_HID", eisa_id("PNP0C0C"));
	aml_name_int(a, "_UID", 0);
	aml_pkg_end(a, body);

	body = aml_pkg_begin(a, device_op, 2);
	aml_namestring(a, "GED0");
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, "_HID");
	aml_byte(a, string_prefix);
	aml_bytes(a, "ACPI0013", 9);		/* with its NUL */
	aml_name_int(a, "_UID", 0);
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, "_CRS");
	crs = aml_pkg_begin(a, &buffer_op, 1);
	aml_int(a, sizeof(res));
	aml_bytes(a, res, sizeof(res));
	aml_pkg_end(a, crs);
	method = aml_pkg_begin(a, &method_op, 1);
	aml_namestring(a, "_EVT");
	aml_byte(a, 0x01);			/* one argument, not serialized */
	aml_byte(a, notify_op);
	aml_namestring(a, "PWRB");
	aml_int(a, 0x80);
	aml_pkg_end(a, method);
	aml_pkg_end(a, body);
}

/* DSDT body: the AML definition block.  Returns its length, or 0 when it
 * does not fit in cap bytes. */
static size_t dsdt_aml(uint8_t *p, size_t cap, const struct acpi_params *ap)
{
	/* \_S5_: SLP_TYPa, SLP_TYPb, reserved, reserved (7.4.2). */
	static const uint64_t s5[] = { ACPI_S5_SLP_TYP, 0, 0, 0 };
	static const uint8_t scope_op = 0x10;
	struct aml a = { .p = p, .cap = cap };
	size_t sb;

	aml_name_pkg(&a, "\\_S5_", s5, 4);
	sb = aml_pkg_begin(&a, &scope_op, 1);
	aml_namestring(&a, "\\_SB_");
	aml_isa_device(&a, "COM1", "PNP0501", 1, 0x3f8, 8, 4);
	aml_isa_device(&a, "RTC_", "PNP0B00", 0, 0x70, 2, 8);
	if (ap->ecam_base)
		aml_pci_root(&a, ap);
	if (ap->pwrbtn_gsi)
		aml_power_button(&a, ap->pwrbtn_gsi);
	aml_pkg_end(&a, sb);
	return a.overflow ? 0 : a.len;
}

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

static void header_init(struct acpi_header *h, const char sig[4],
			uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

static void header_sum(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = (uint8_t)-acpi_checksum(h, h->length);
}

static size_t align8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

static struct acpi_gas gas_io8(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = GAS_SYSTEM_IO,
		.bit_width = 8,
		.access_size = GAS_ACCESS_BYTE,
		.address = port,
	};
}

static void build_fadt(struct acpi_fadt *f, const struct acpi_params *p,
		       uint64_t dsdt_gpa)
{
	header_init(&f->h, "FACP", sizeof(*f), FADT_REVISION);
	f->sci_int = (uint16_t)p->sci_irq;
	f->century = CMOS_CENTURY_INDEX;
	f->iapc_boot_arch = FADT_IAPC_VGA_NOT_PRESENT;
	f->flags = FADT_F_HW_REDUCED_ACPI | FADT_F_RESET_REG_SUP |
		   FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON;
	f->reset_reg = gas_io8(ACPI_RESET_PORT);
	f->reset_value = ACPI_RESET_VALUE;
	f->minor_version = FADT_MINOR_VERSION;
	f->x_dsdt = dsdt_gpa;
	f->sleep_control_reg = gas_io8(ACPI_SLEEP_CTRL_PORT);
	f->sleep_status_reg = gas_io8(ACPI_SLEEP_STATUS_PORT);
	memcpy(f->hypervisor_vendor_id, "BASALT  ", 8);
	header_sum(&f->h);
}

static size_t madt_size(unsigned ncpus)
{
	return sizeof(struct acpi_madt) + ncpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + MADT_NR_ISO * sizeof(struct madt_iso) +
	       sizeof(struct madt_lapic_nmi);
}

static void build_madt(uint8_t *t, const struct acpi_params *p)
{
	struct acpi_madt *m = (struct acpi_madt *)t;
	const struct madt_iso isos[MADT_NR_ISO] = {
		/* PIT IRQ0 is wired to I/O APIC pin 2 (MPS convention). */
		{ MADT_TYPE_ISO, sizeof(struct madt_iso), 0, 0, 2, 0 },
		{ MADT_TYPE_ISO, sizeof(struct madt_iso), 0, (uint8_t)p->sci_irq,
		  p->sci_irq, MPS_LEVEL | MPS_ACTIVE_HIGH },
	};
	struct madt_ioapic io = {
		.type = MADT_TYPE_IOAPIC,
		.length = sizeof(io),
		.ioapic_id = (uint8_t)p->ncpus,
		.address = p->ioapic_addr,
		.gsi_base = 0,
	};
	struct madt_lapic_nmi nmi = {
		.type = MADT_TYPE_LAPIC_NMI,
		.length = sizeof(nmi),
		.processor_uid = 0xff,
		.flags = 0,
		.lint = 1,
	};
	size_t off = sizeof(*m);

	header_init(&m->h, "APIC", (uint32_t)madt_size(p->ncpus), MADT_REVISION);
	m->lapic_addr = LAPIC_BASE;
	m->flags = MADT_PCAT_COMPAT;
	for (unsigned i = 0; i < p->ncpus; i++) {
		struct madt_lapic l = {
			.type = MADT_TYPE_LAPIC,
			.length = sizeof(l),
			.processor_uid = (uint8_t)i,
			.apic_id = (uint8_t)i,
			.flags = MADT_LAPIC_ENABLED,
		};

		memcpy(t + off, &l, sizeof(l));
		off += sizeof(l);
	}
	memcpy(t + off, &io, sizeof(io));
	off += sizeof(io);
	memcpy(t + off, isos, sizeof(isos));
	off += sizeof(isos);
	memcpy(t + off, &nmi, sizeof(nmi));
	header_sum(&m->h);
}

static void build_mcfg(struct acpi_mcfg *m, const struct acpi_params *p)
{
	header_init(&m->h, "MCFG", sizeof(*m), 1);
	m->base = p->ecam_base;
	m->segment = 0;
	m->start_bus = 0;
	m->end_bus = p->ecam_bus_end;
	header_sum(&m->h);
}

int acpi_build(void *buf, uint64_t buf_gpa, size_t buflen,
	       const struct acpi_params *p, struct acpi_layout *out,
	       struct bs_err *e)
{
	uint8_t *b = buf;
	uint8_t aml[1024];
	size_t aml_len = dsdt_aml(aml, sizeof(aml), p);
	bool mcfg = p->ecam_base != 0;
	unsigned nx = mcfg ? 3 : 2;
	size_t xsdt_off, fadt_off, dsdt_off, madt_off, mcfg_off, end;
	struct acpi_rsdp *rsdp;
	struct acpi_header *xsdt, *dsdt;
	uint64_t xent[XSDT_MAX_ENTRIES];

	if (p->ncpus < 1 || p->ncpus > ACPI_MAX_CPUS)
		return bs_errf(e, EINVAL, "ACPI: cpu count %u out of range (1..%u)",
			       p->ncpus, ACPI_MAX_CPUS);
	if (p->sci_irq > 15)
		return bs_errf(e, EINVAL, "ACPI: SCI IRQ %u is not an ISA IRQ",
			       p->sci_irq);
	if (buf_gpa & 15)
		return bs_errf(e, EINVAL, "ACPI: RSDP address 0x%llx is not "
			       "16-byte aligned", (unsigned long long)buf_gpa);
	if (!aml_len)
		return bs_errf(e, ENOSPC, "ACPI: DSDT AML does not fit");

	xsdt_off = align8(sizeof(struct acpi_rsdp));
	fadt_off = align8(xsdt_off + sizeof(struct acpi_header) + nx * 8);
	dsdt_off = align8(fadt_off + sizeof(struct acpi_fadt));
	madt_off = align8(dsdt_off + sizeof(struct acpi_header) + aml_len);
	mcfg_off = align8(madt_off + madt_size(p->ncpus));
	end = mcfg ? mcfg_off + sizeof(struct acpi_mcfg) : mcfg_off;
	if (end > buflen)
		return bs_errf(e, ENOSPC, "ACPI tables: need %zu bytes, buffer "
			       "has %zu", end, buflen);
	memset(b, 0, end);

	dsdt = (struct acpi_header *)(b + dsdt_off);
	header_init(dsdt, "DSDT", (uint32_t)(sizeof(*dsdt) + aml_len), 2);
	memcpy(b + dsdt_off + sizeof(*dsdt), aml, aml_len);
	header_sum(dsdt);

	build_fadt((struct acpi_fadt *)(b + fadt_off), p, buf_gpa + dsdt_off);
	build_madt(b + madt_off, p);
	if (mcfg)
		build_mcfg((struct acpi_mcfg *)(b + mcfg_off), p);

	xent[0] = buf_gpa + fadt_off;
	xent[1] = buf_gpa + madt_off;
	xent[2] = buf_gpa + mcfg_off;
	xsdt = (struct acpi_header *)(b + xsdt_off);
	header_init(xsdt, "XSDT", (uint32_t)(sizeof(*xsdt) + nx * 8), 1);
	memcpy(b + xsdt_off + sizeof(*xsdt), xent, nx * 8);
	header_sum(xsdt);

	rsdp = (struct acpi_rsdp *)b;
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_addr = buf_gpa + xsdt_off;
	rsdp->checksum = (uint8_t)-acpi_checksum(rsdp, RSDP_V1_LEN);
	rsdp->ext_checksum = (uint8_t)-acpi_checksum(rsdp, sizeof(*rsdp));

	if (out) {
		out->rsdp_gpa = buf_gpa;
		out->size = end;
	}
	return 0;
}
