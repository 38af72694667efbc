/* Passthrough configuration space: what the guest sees of a real device's
 * header, BARs, ROM and capabilities.  Fixtures: the test accelerator of
 * tests/vfio-user-dev (accel_cfg.c) and the public H100 bytes in
 * data/h100-config.lspci; hostile variants of the first. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/devices/msix.h"
#include "basalt/devices/pt_cfg.h"
#include "fixtures.h"
#include "../vfio-user-dev/accel.h"

#define SLOT 26
#define DEVFN (SLOT << 3)

static void nop_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev; (void)off;
	memset(data, 0, len);
}

static const struct bus_dev_ops ops = { "pt-test", nop_read, NULL };

struct fx {
	struct pci_bus b;
	struct pci_func f;
	struct pt_cfg pc;
	uint8_t raw[256];
	uint64_t size[PT_NUM_REGIONS];
	struct bs_err e;
};

static void accel_fixture(struct fx *x)
{
	memset(x, 0, sizeof(*x));
	accel_config_space(x->raw);
	x->size[0] = ACCEL_BAR0_SIZE;
	x->size[1] = ACCEL_BAR1_SIZE;
	x->size[2] = ACCEL_BIG_DEFAULT;
	x->size[PT_ROM_REGION] = ACCEL_ROM_SIZE;
}

static int build(struct fx *x)
{
	int r;
	void *const devs[PT_NUM_REGIONS] = { NULL };

	memset(&x->f, 0, sizeof(x->f));
	pci_bus_init(&x->b);
	r = pt_cfg_build(&x->pc, &x->f, x->raw, x->size, &ops, devs, "pt0", &x->e);
	if (!r)
		ck_assert_int_eq(pci_bus_add(&x->b, SLOT, &x->f, &x->e), 0);
	return r;
}

static uint32_t rd(struct fx *x, unsigned off, unsigned len)
{
	return pci_cfg_read(&x->b, 0, DEVFN, off, len);
}

static void wr(struct fx *x, unsigned off, unsigned len, uint32_t v)
{
	pci_cfg_write(&x->b, 0, DEVFN, off, len, v);
}

/* The capability IDs in list order, as the guest walks them. */
static unsigned cap_chain(struct fx *x, unsigned *offs, uint8_t *ids, unsigned max)
{
	unsigned n = 0;

	if (!(rd(x, PCI_CFG_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return 0;
	for (unsigned p = rd(x, PCI_CFG_CAP_PTR, 1); p && n < max; p = rd(x, p + 1, 1)) {
		offs[n] = p;
		ids[n++] = (uint8_t)rd(x, p, 1);
	}
	return n;
}

START_TEST(accel_header)
{
	struct fx x;

	accel_fixture(&x);
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(rd(&x, 0, 4), (uint32_t)ACCEL_DEVICE << 16 | ACCEL_VENDOR);
	ck_assert_uint_eq(rd(&x, 0x08, 4), 0x12000001u);
	ck_assert_uint_eq(rd(&x, 0x0e, 1), 0);          /* multi-function bit gone */
	ck_assert_uint_eq(rd(&x, 0x2c, 4), 0x0001u << 16 | ACCEL_VENDOR);
	ck_assert_uint_eq(rd(&x, 0x3d, 1), 0);          /* no INTx pin */
	ck_assert_uint_eq(rd(&x, PCI_CFG_COMMAND, 2), 0);
	/* COMMAND: memory, bus master, parity, SERR, INTx disable; not I/O. */
	wr(&x, PCI_CFG_COMMAND, 2, 0xffff);
	ck_assert_uint_eq(rd(&x, PCI_CFG_COMMAND, 2), 0x0546);
	ck_assert_uint_eq(rd(&x, PCI_CFG_STATUS, 2), PCI_STATUS_CAP_LIST);
	wr(&x, 0x3c, 1, 11);
	ck_assert_uint_eq(rd(&x, 0x3c, 1), 11);
	/* Vendor and device IDs are read-only. */
	wr(&x, 0, 4, 0);
	ck_assert_uint_eq(rd(&x, 0, 2), ACCEL_VENDOR);
	ck_assert_uint_eq(x.pc.hidden_io_bars, 1);
}
END_TEST

START_TEST(accel_bars)
{
	struct fx x;

	accel_fixture(&x);
	ck_assert_int_eq(build(&x), 0);
	/* BAR 0: 32-bit, 16 KiB. */
	wr(&x, 0x10, 4, 0xffffffff);
	ck_assert_uint_eq(rd(&x, 0x10, 4), 0xffffc000u);
	/* BAR 1 (I/O) is hidden: reads 0, sizing finds nothing. */
	wr(&x, 0x14, 4, 0xffffffff);
	ck_assert_uint_eq(rd(&x, 0x14, 4), 0);
	/* BAR 2+3: 64-bit prefetchable 8 GiB. */
	wr(&x, 0x18, 4, 0xffffffff);
	wr(&x, 0x1c, 4, 0xffffffff);
	ck_assert_uint_eq(rd(&x, 0x18, 4), 0x0000000cu);
	ck_assert_uint_eq(rd(&x, 0x1c, 4), 0xfffffffeu);
	ck_assert_uint_eq(x.f.bar[2].size, 8ull << 30);
	ck_assert_uint_eq(x.f.bar[2].flags, PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	ck_assert_uint_eq(x.f.bar[3].size, 0);
	/* Expansion ROM: 32 KiB, enable bit writable. */
	wr(&x, PCI_CFG_ROM, 4, 0xffffffff);
	ck_assert_uint_eq(rd(&x, PCI_CFG_ROM, 4), 0xffff8001u);
	wr(&x, PCI_CFG_ROM, 4, 0xc0010000u);
	ck_assert_uint_eq(pci_rom_addr(&x.f), 0);       /* memory decoding off */
	wr(&x, PCI_CFG_ROM, 4, 0xc0010001u);
	wr(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	ck_assert_uint_eq(pci_rom_addr(&x.f), 0xc0010000u);
}
END_TEST

START_TEST(accel_assignment)
{
	struct fx x;
	struct pci_window w32, w64;

	accel_fixture(&x);
	ck_assert_int_eq(build(&x), 0);
	w32 = (struct pci_window){ &x.b, 0xc0000000ull, 0x20000000ull };
	w64 = (struct pci_window){ &x.b, 0x140000000ull, 256ull << 30 };
	ck_assert_int_eq(pci_bus_assign_bars(&x.b, &w32, &w64, &x.e), 0);
	wr(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* 8 GiB: naturally aligned in the 64-bit window; the rest below 4 GiB. */
	ck_assert_uint_eq(pci_bar_addr(&x.f, 2), 0x200000000ull);
	ck_assert_uint_ge(pci_bar_addr(&x.f, 0), 0xc0000000ull);
	ck_assert_uint_lt(pci_bar_addr(&x.f, 0), 0xe0000000ull);
	wr(&x, PCI_CFG_ROM, 4, rd(&x, PCI_CFG_ROM, 4) | PCI_ROM_ENABLE);
	ck_assert_uint_ge(pci_rom_addr(&x.f), 0xc0000000ull);
	ck_assert_uint_eq(pci_rom_addr(&x.f) & (ACCEL_ROM_SIZE - 1), 0);
}
END_TEST

START_TEST(accel_capabilities)
{
	struct fx x;
	unsigned offs[16];
	uint8_t ids[16];
	const uint8_t want[] = { 0x01, 0x05, 0x10, 0x11, 0x09 };
	const unsigned want_off[] = { ACCEL_CAP_PM, ACCEL_CAP_MSI, ACCEL_CAP_PCIE,
				      ACCEL_CAP_MSIX, ACCEL_CAP_VNDR };
	unsigned n;

	accel_fixture(&x);
	ck_assert_int_eq(build(&x), 0);
	n = cap_chain(&x, offs, ids, 16);
	ck_assert_uint_eq(n, 5);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_eq(ids[i], want[i]);
		ck_assert_uint_eq(offs[i], want_off[i]);
	}
	ck_assert_uint_eq(x.pc.ndropped, 2);
	ck_assert_uint_eq(x.pc.dropped[0], 0x03);
	ck_assert_uint_eq(x.pc.dropped[1], 0x13);
	/* Dropped capabilities read as zeros. */
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_VPD, 4), 0);
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_VPD + 4, 4), 0);
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_AF, 4), 0);
	ck_assert(!pt_cfg_any_pass(&x.pc, ACCEL_CAP_VPD, 8));
	/* Vendor capability: header ours, body the device's. */
	ck_assert(!pt_cfg_any_pass(&x.pc, ACCEL_CAP_VNDR, 2));
	ck_assert(pt_cfg_any_pass(&x.pc, ACCEL_CAP_VNDR + 2, 1));
	ck_assert(pt_cfg_any_pass(&x.pc, ACCEL_CAP_VNDR + 15, 1));
	/* Device-specific bytes outside capabilities pass through. */
	ck_assert(pt_cfg_any_pass(&x.pc, ACCEL_CFG_SCRATCH, 4));
	ck_assert(pt_cfg_any_pass(&x.pc, ACCEL_CFG_MAGIC, 4));
	ck_assert(!pt_cfg_any_pass(&x.pc, 0, 0x40));
	ck_assert(!pt_cfg_any_pass(&x.pc, ACCEL_CAP_MSIX, 12));
	ck_assert(!pt_cfg_any_pass(&x.pc, ACCEL_CAP_PCIE, 0x3c));
}
END_TEST

START_TEST(accel_pm_pcie)
{
	struct fx x;
	unsigned c;

	accel_fixture(&x);
	ck_assert_int_eq(build(&x), 0);
	/* PM: no PME support advertised, D0, power state writable. */
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_PM + 2, 2), 0x0003);
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_PM + 4, 2), 0x0008);
	wr(&x, ACCEL_CAP_PM + 4, 2, 0xffff);
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_PM + 4, 2), 0x000b);
	/* PCIe: an integrated endpoint, no link. */
	c = ACCEL_CAP_PCIE;
	ck_assert_uint_eq(rd(&x, c + PCIE_FLAGS, 2), 0x0092);
	ck_assert(x.pc.flr);
	ck_assert_uint_eq(rd(&x, c + PCIE_DEVCAP, 4), 0x10000001u);
	ck_assert_uint_eq(rd(&x, c + PCIE_DEVCTL, 2), 0x2010);
	ck_assert_uint_eq(rd(&x, c + 0x0c, 4), 0);       /* LNKCAP */
	ck_assert_uint_eq(rd(&x, c + 0x12, 2), 0);       /* LNKSTA */
	ck_assert_uint_eq(rd(&x, c + 0x24, 4), 0x10);    /* DEVCAP2 */
	wr(&x, c + 0x0c, 4, 0xffffffff);
	ck_assert_uint_eq(rd(&x, c + 0x0c, 4), 0);
	wr(&x, c + PCIE_DEVCTL, 2, 0x1234);
	ck_assert_uint_eq(rd(&x, c + PCIE_DEVCTL, 2), 0x1234);
}
END_TEST

START_TEST(accel_msi_msix)
{
	struct fx x;
	unsigned c = ACCEL_CAP_MSI;

	accel_fixture(&x);
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(x.pc.msi_max, 4);
	ck_assert(x.pc.msi_64);
	ck_assert(x.pc.msi_maskable);
	ck_assert_uint_eq(x.pc.msi_mask_off, c + 0x10);
	ck_assert_uint_eq(x.pc.msi_pending_off, c + 0x14);
	/* Disabled, capable of 4; enable and MME writable; mask 4 bits. */
	ck_assert_uint_eq(rd(&x, c + 2, 2), 0x0184);
	wr(&x, c + 2, 2, 0xffff);
	ck_assert_uint_eq(rd(&x, c + 2, 2), 0x01f5);
	wr(&x, c + 4, 4, 0xfee00003u);
	ck_assert_uint_eq(rd(&x, c + 4, 4), 0xfee00000u);
	wr(&x, c + 0x10, 4, 0xffffffff);
	ck_assert_uint_eq(rd(&x, c + 0x10, 4), 0xf);
	wr(&x, c + 0x14, 4, 0xffffffff);                 /* pending: read-only */
	ck_assert_uint_eq(rd(&x, c + 0x14, 4), 0);
	/* MSI-X as the device describes it. */
	ck_assert_uint_eq(x.pc.msix, ACCEL_CAP_MSIX);
	ck_assert_uint_eq(x.pc.msix_nvec, ACCEL_MSIX_VECTORS);
	ck_assert_uint_eq(x.pc.msix_bar, 0);
	ck_assert_uint_eq(x.pc.msix_table_off, ACCEL_MSIX_TABLE);
	ck_assert_uint_eq(x.pc.msix_pba_off, ACCEL_MSIX_PBA);
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_MSIX + 2, 2), ACCEL_MSIX_VECTORS - 1);
	wr(&x, ACCEL_CAP_MSIX + 2, 2, 0xffff);
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_MSIX + 2, 2), 0xc000 | (ACCEL_MSIX_VECTORS - 1));
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_MSIX + 4, 4), ACCEL_MSIX_TABLE);
}
END_TEST

/* --- hostile or odd devices ------------------------------------------------ */

START_TEST(refuses_no_device_and_bridges)
{
	struct fx x;

	accel_fixture(&x);
	memset(x.raw, 0xff, 4);
	ck_assert_int_eq(build(&x), -ENODEV);
	ck_assert_ptr_nonnull(strstr(x.e.msg, "pt0: configuration space reads vendor ID 0xffff"));
	accel_fixture(&x);
	x.raw[0x0e] = 0x01;
	ck_assert_int_eq(build(&x), -EINVAL);
	ck_assert_ptr_nonnull(strstr(x.e.msg, "bridge"));
}
END_TEST

START_TEST(cap_list_loop_and_bad_pointers)
{
	struct fx x;
	unsigned offs[64];
	uint8_t ids[64];

	/* MSI points back at PM: a loop. */
	accel_fixture(&x);
	x.raw[ACCEL_CAP_MSI + 1] = ACCEL_CAP_PM;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(cap_chain(&x, offs, ids, 64), 2);
	/* A pointer into the header ends the list. */
	accel_fixture(&x);
	x.raw[ACCEL_CAP_PM + 1] = 0x10;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(cap_chain(&x, offs, ids, 64), 1);
	/* Low pointer bits are ignored (PCI 3.0 6.7). */
	accel_fixture(&x);
	x.raw[PCI_CFG_CAP_PTR] = ACCEL_CAP_PM | 3;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(cap_chain(&x, offs, ids, 64), 5);
	/* No capability-list bit: no capabilities at all. */
	accel_fixture(&x);
	x.raw[PCI_CFG_STATUS] = 0;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(cap_chain(&x, offs, ids, 64), 0);
	ck_assert_uint_eq(rd(&x, PCI_CFG_CAP_PTR, 1), 0);
}
END_TEST

START_TEST(cap_overflow_overlap_duplicates)
{
	struct fx x;
	unsigned offs[64];
	uint8_t ids[64];

	/* A vendor capability running past 0x100 is dropped. */
	accel_fixture(&x);
	x.raw[ACCEL_CAP_VNDR + 2] = 0x60;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(cap_chain(&x, offs, ids, 64), 4);
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_VNDR, 1), 0);
	/* A second MSI capability, and one overlapping the PCIe one. */
	accel_fixture(&x);
	x.raw[0xd0] = PCI_CAP_ID_MSI;                   /* AF slot becomes MSI #2 */
	x.raw[0xd2] = 0x84; x.raw[0xd3] = 0x01;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(cap_chain(&x, offs, ids, 64), 5);
	ck_assert_uint_eq(rd(&x, 0xd0, 4), 0);
	accel_fixture(&x);
	x.raw[ACCEL_CAP_VPD] = PCI_CAP_ID_VNDR;         /* at 0xc0, len 0x40: overlaps nothing... */
	x.raw[ACCEL_CAP_VPD + 2] = 0x08;
	x.raw[ACCEL_CAP_PCIE + 1] = 0x70;               /* ...but PCIe now points inside itself */
	x.raw[0x70] = PCI_CAP_ID_VNDR; x.raw[0x71] = 0; x.raw[0x72] = 4;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(cap_chain(&x, offs, ids, 64), 3);   /* PM, MSI, PCIe */
	ck_assert_uint_eq(rd(&x, ACCEL_CAP_PCIE + 1, 1), 0);
}
END_TEST

START_TEST(msix_outside_bar_is_hidden)
{
	struct fx x;
	uint32_t t = 0x3ff8;      /* 4 entries from 0x3ff8 run past 16 KiB */
	unsigned offs[64];
	uint8_t ids[64];
	unsigned n;

	accel_fixture(&x);
	memcpy(x.raw + ACCEL_CAP_MSIX + 4, &t, 4);
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(x.pc.msix, 0);
	n = cap_chain(&x, offs, ids, 64);
	for (unsigned i = 0; i < n; i++)
		ck_assert_uint_ne(ids[i], PCI_CAP_ID_MSIX);
	/* Table in a BAR the guest does not see (the I/O BAR). */
	accel_fixture(&x);
	t = ACCEL_MSIX_TABLE | 1;
	memcpy(x.raw + ACCEL_CAP_MSIX + 4, &t, 4);
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(x.pc.msix, 0);
}
END_TEST

START_TEST(odd_bar_sizes_hidden)
{
	struct fx x;

	accel_fixture(&x);
	x.size[0] = 0x3000;                /* not a power of two */
	x.size[PT_ROM_REGION] = 1000;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(x.f.bar[0].size, 0);
	ck_assert_uint_eq(x.f.rom.size, 0);
	ck_assert_uint_eq(x.pc.msix, 0);   /* its table was in BAR 0 */
	/* A 64-bit BAR in slot 5 has no upper half. */
	accel_fixture(&x);
	x.raw[0x24] = 0x04;
	x.size[5] = 0x1000;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(x.f.bar[5].size, 0);
}
END_TEST

/* --- the public H100 bytes -------------------------------------------------- */

static void load_lspci(const char *path, uint8_t raw[256])
{
	FILE *f = fopen(path, "r");
	char line[256];
	unsigned rows = 0;

	ck_assert_ptr_nonnull(f);
	memset(raw, 0, 256);
	while (fgets(line, sizeof(line), f)) {
		unsigned off, b[16];

		if (line[0] == '#')
			continue;
		ck_assert_int_eq(sscanf(line, "%x: %x %x %x %x %x %x %x %x %x %x %x %x %x %x %x %x",
					&off, &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6],
					&b[7], &b[8], &b[9], &b[10], &b[11], &b[12], &b[13],
					&b[14], &b[15]), 17);
		ck_assert_uint_lt(off, 256);
		for (unsigned i = 0; i < 16; i++)
			raw[off + i] = (uint8_t)b[i];
		rows++;
	}
	fclose(f);
	ck_assert_uint_eq(rows, 6);
}

START_TEST(h100)
{
	struct fx x;
	struct pci_window w32, w64;
	unsigned offs[16];
	uint8_t ids[16];

	memset(&x, 0, sizeof(x));
	load_lspci(SRCDIR "/data/h100-config.lspci", x.raw);
	x.size[0] = 16ull << 20;
	x.size[2] = 128ull << 30;
	x.size[4] = 32ull << 20;
	ck_assert_int_eq(build(&x), 0);
	ck_assert_uint_eq(rd(&x, 0, 4), 0x233010deu);
	ck_assert_uint_eq(rd(&x, 0x08, 4), 0x030200a1u);   /* 3D controller */
	ck_assert_uint_eq(rd(&x, PCI_CFG_COMMAND, 2), 0); /* not the host's 0x0547 */
	for (unsigned i = 0; i < 6; i += 2) {
		ck_assert_uint_eq(x.f.bar[i].flags, PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
		/* The host's addresses are not shown. */
		ck_assert_uint_eq(rd(&x, 0x10 + 4 * i, 4), 0x0000000cu);
		ck_assert_uint_eq(rd(&x, 0x14 + 4 * i, 4), 0);
	}
	wr(&x, 0x18, 4, 0xffffffff);
	wr(&x, 0x1c, 4, 0xffffffff);
	ck_assert_uint_eq(rd(&x, 0x1c, 4), 0xffffffe0u);  /* 128 GiB */
	/* PM -> MSI (16 vectors, 64-bit, maskable) -> 0x60 unknown: dropped. */
	ck_assert_uint_eq(cap_chain(&x, offs, ids, 16), 2);
	ck_assert_uint_eq(ids[0], PCI_CAP_ID_PM);
	ck_assert_uint_eq(ids[1], PCI_CAP_ID_MSI);
	ck_assert_uint_eq(x.pc.msi_max, 16);
	ck_assert(x.pc.msi_64 && x.pc.msi_maskable);
	ck_assert_uint_eq(x.pc.ndropped, 1);
	ck_assert_uint_eq(rd(&x, 0x3d, 1), 0);
	/* 128 GiB fits the 256 GiB window, naturally aligned. */
	wr(&x, 0x18, 4, 0);
	wr(&x, 0x1c, 4, 0);
	w32 = (struct pci_window){ &x.b, 0xc0000000ull, 0x20000000ull };
	w64 = (struct pci_window){ &x.b, 0x140000000ull, 256ull << 30 };
	ck_assert_int_eq(pci_bus_assign_bars(&x.b, &w32, &w64, &x.e), 0);
	wr(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	ck_assert_uint_eq(pci_bar_addr(&x.f, 2), 128ull << 30);
	ck_assert_uint_ge(pci_bar_addr(&x.f, 4), 0xc0000000ull);  /* 32 MiB: low */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pt_cfg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, accel_header);
	tcase_add_test(tc, accel_bars);
	tcase_add_test(tc, accel_assignment);
	tcase_add_test(tc, accel_capabilities);
	tcase_add_test(tc, accel_pm_pcie);
	tcase_add_test(tc, accel_msi_msix);
	tcase_add_test(tc, refuses_no_device_and_bridges);
	tcase_add_test(tc, cap_list_loop_and_bad_pointers);
	tcase_add_test(tc, cap_overflow_overlap_duplicates);
	tcase_add_test(tc, msix_outside_bar_is_hidden);
	tcase_add_test(tc, odd_bar_sizes_hidden);
	tcase_add_test(tc, h100);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
