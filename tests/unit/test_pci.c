/* PCI BARs: sizing through the write mask, 64-bit pairs, firmware-style
 * placement, decoding through the windows (and moving), capability lists. */
#include <check.h>
#include <string.h>

#include "basalt/devices/pci.h"
#include "fixtures.h"

struct bar_dev {
	uint64_t off;
	unsigned len, reads, writes;
	uint32_t wval;
};

static void bd_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct bar_dev *d = dev;
	uint32_t v = 0xa0000000u + (uint32_t)off;

	d->off = off;
	d->len = len;
	d->reads++;
	memcpy(data, &v, len > 4 ? 4 : len);
}

static void bd_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct bar_dev *d = dev;

	d->off = off;
	d->len = len;
	d->writes++;
	d->wval = 0;
	memcpy(&d->wval, data, len > 4 ? 4 : len);
}

static const struct bus_dev_ops bd_ops = { "test-bar", bd_read, bd_write };

#define SLOT 3
#define DEVFN (SLOT << 3)

static uint32_t cfg32(struct pci_bus *b, unsigned off)
{
	return pci_cfg_read(b, 0, DEVFN, off, 4);
}

START_TEST(bar_sizing)
{
	struct pci_bus b;
	struct pci_func f = { 0 };
	struct bar_dev d = { 0 };
	struct bs_err e;

	pci_bus_init(&b);
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 0x1000, 0, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_func_add_bar(&f, 2, 8ull << 30,
					  PCI_BAR_MEM64 | PCI_BAR_PREFETCH, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_func_add_bar(&f, 4, 0x100000, PCI_BAR_MEM64, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_bus_add(&b, SLOT, &f, &e), 0);

	/* type bits before sizing */
	ck_assert_uint_eq(cfg32(&b, 0x10), 0x0);
	ck_assert_uint_eq(cfg32(&b, 0x18), 0xc);		/* 64-bit, prefetchable */
	ck_assert_uint_eq(cfg32(&b, 0x20), 0x4);
	/* the guest's sizing protocol: write all-ones, read back */
	for (unsigned off = 0x10; off < 0x28; off += 4)
		pci_cfg_write(&b, 0, DEVFN, off, 4, 0xffffffff);
	ck_assert_uint_eq(cfg32(&b, 0x10), 0xfffff000);
	ck_assert_uint_eq(cfg32(&b, 0x14), 0);		/* BAR 1: not implemented */
	ck_assert_uint_eq(cfg32(&b, 0x18), 0x0000000c);	/* 8 GiB: low bits all size */
	ck_assert_uint_eq(cfg32(&b, 0x1c), 0xfffffffe);
	ck_assert_uint_eq(cfg32(&b, 0x20), 0xfff00004);
	ck_assert_uint_eq(cfg32(&b, 0x24), 0xffffffff);
	/* an address, sub-size bits dropped, type bits kept */
	pci_cfg_write(&b, 0, DEVFN, 0x10, 4, 0xc0001234);
	ck_assert_uint_eq(cfg32(&b, 0x10), 0xc0001000);
	pci_cfg_write(&b, 0, DEVFN, 0x18, 4, 0x12345678);
	pci_cfg_write(&b, 0, DEVFN, 0x1c, 4, 0x13);
	ck_assert_uint_eq(cfg32(&b, 0x18), 0x0000000c);
	ck_assert_uint_eq(cfg32(&b, 0x1c), 0x12);
	/* no decoding until COMMAND.MEMORY is set */
	ck_assert_uint_eq(pci_bar_addr(&f, 0), 0);
	pci_cfg_write(&b, 0, DEVFN, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	ck_assert_uint_eq(pci_bar_addr(&f, 0), 0xc0001000);
	ck_assert_uint_eq(pci_bar_addr(&f, 2), 0x1200000000ull);
	ck_assert_uint_eq(pci_bar_addr(&f, 1), 0);
	ck_assert_uint_eq(pci_bar_addr(&f, 3), 0);		/* upper half of BAR 2 */
}
END_TEST

START_TEST(bar_errors)
{
	struct pci_func f = { 0 };
	struct bar_dev d = { 0 };
	struct bs_err e;

	ck_assert_int_eq(pci_func_add_bar(&f, 0, 3000, 0, &bd_ops, &d, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "pci: BAR 0: bad size 0xbb8 (a power of two, 16 bytes to 2 GiB)");
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 8, 0, &bd_ops, &d, &e), -EINVAL);
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 4ull << 30, 0, &bd_ops, &d, &e), -EINVAL);
	ck_assert_int_eq(pci_func_add_bar(&f, 6, 4096, 0, &bd_ops, &d, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "pci: BAR 6 does not exist");
	ck_assert_int_eq(pci_func_add_bar(&f, 5, 4096, PCI_BAR_MEM64, &bd_ops, &d, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "pci: BAR 5 does not exist (a 64-bit BAR needs two slots)");
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 4096, 0, NULL, &d, &e), -EINVAL);
	ck_assert_int_eq(pci_func_add_bar(&f, 1, 4096, PCI_BAR_MEM64, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_func_add_bar(&f, 2, 4096, 0, &bd_ops, &d, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "pci: BAR 2 is already in use");
	ck_assert_int_eq(pci_func_add_bar(&f, 1, 4096, 0, &bd_ops, &d, &e), -EINVAL);
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 4096, PCI_BAR_MEM64, &bd_ops, &d, &e), -EINVAL);
}
END_TEST

START_TEST(assign_and_decode)
{
	struct pci_bus b;
	struct pci_func f = { 0 }, g = { 0 };
	struct bar_dev d = { 0 }, d2 = { 0 };
	struct pci_window w32, w64;
	struct bs_err e;
	uint32_t v = 0;
	uint64_t a0, a2, g0;

	pci_bus_init(&b);
	w32 = (struct pci_window){ &b, 0xc0000000ull, 0x20000000ull };
	w64 = (struct pci_window){ &b, 0x100000000ull * 16, 1ull << 36 };
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 0x4000, 0, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_func_add_bar(&f, 2, 8ull << 30,
					  PCI_BAR_MEM64 | PCI_BAR_PREFETCH, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_func_add_bar(&g, 0, 0x1000, 0, &bd_ops, &d2, &e), 0);
	/* a small 64-bit BAR stays below 4 GiB */
	ck_assert_int_eq(pci_func_add_bar(&g, 4, 0x8000, PCI_BAR_MEM64, &bd_ops, &d2, &e), 0);
	ck_assert_int_eq(pci_bus_add(&b, SLOT, &f, &e), 0);
	ck_assert_int_eq(pci_bus_add(&b, SLOT + 1, &g, &e), 0);
	ck_assert_int_eq(pci_bus_assign_bars(&b, &w32, &w64, &e), 0);
	f.cfg[PCI_CFG_COMMAND] = g.cfg[PCI_CFG_COMMAND] = PCI_COMMAND_MEMORY;
	a0 = pci_bar_addr(&f, 0);
	a2 = pci_bar_addr(&f, 2);
	g0 = pci_bar_addr(&g, 0);
	/* naturally aligned, inside the right windows, no overlap */
	ck_assert_uint_eq(a2, w64.base);
	ck_assert_uint_eq(a0 % 0x4000, 0);
	ck_assert_uint_eq(g0 % 0x1000, 0);
	ck_assert(a0 >= w32.base && a0 + 0x4000 <= w32.base + w32.size);
	ck_assert(g0 >= w32.base && g0 + 0x1000 <= w32.base + w32.size);
	ck_assert(g0 + 0x1000 <= a0 || a0 + 0x4000 <= g0);
	ck_assert(pci_bar_addr(&g, 4) >= w32.base &&
		  pci_bar_addr(&g, 4) + 0x8000 <= w32.base + w32.size);
	ck_assert_uint_eq(pci_bar_addr(&g, 4) % 0x8000, 0);

	/* an access inside BAR 0 reaches the device at the BAR offset */
	pci_window_ops.read(&w32, a0 - w32.base + 0x10, &v, 4);
	ck_assert_uint_eq(v, 0xa0000010);
	ck_assert_uint_eq(d.off, 0x10);
	v = 0x55;
	pci_window_ops.write(&w64, a2 - w64.base + (8ull << 30) - 4, &v, 4);
	ck_assert_uint_eq(d.off, (8ull << 30) - 4);
	ck_assert_uint_eq(d.wval, 0x55);
	/* straddling the end of a BAR, or in no BAR: all-ones, no call */
	d.reads = 0;
	pci_window_ops.read(&w32, a0 - w32.base + 0x3ffe, &v, 4);
	ck_assert_uint_eq(v, 0xffffffff);
	pci_window_ops.read(&w32, 0x1ffffff0, &v, 4);
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert_uint_eq(d.reads, 0);
	/* the guest turns decoding off, then moves BAR 0 elsewhere */
	pci_cfg_write(&b, 0, DEVFN, PCI_CFG_COMMAND, 2, 0);
	pci_window_ops.read(&w32, a0 - w32.base, &v, 4);
	ck_assert_uint_eq(v, 0xffffffff);
	pci_cfg_write(&b, 0, DEVFN, 0x10, 4, 0xd0000000);
	pci_cfg_write(&b, 0, DEVFN, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_window_ops.read(&w32, a0 - w32.base, &v, 4);
	ck_assert_uint_eq(v, 0xffffffff);
	pci_window_ops.read(&w32, 0x10000008, &v, 4);
	ck_assert_uint_eq(v, 0xa0000008);
	ck_assert_uint_eq(d.reads, 1);
	/* the other device was untouched throughout */
	ck_assert_uint_eq(d2.reads + d2.writes, 0);
	pci_window_ops.read(&w32, g0 - w32.base, &v, 2);
	ck_assert_uint_eq(v & 0xffff, 0x0000);
	ck_assert_uint_eq(d2.reads, 1);
}
END_TEST

START_TEST(assign_no_room)
{
	struct pci_bus b;
	struct pci_func f = { 0 };
	struct bar_dev d = { 0 };
	struct pci_window w32;
	struct bs_err e;

	pci_bus_init(&b);
	w32 = (struct pci_window){ &b, 0xc0000000ull, 0x20000000ull };
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 16ull << 30, PCI_BAR_MEM64, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_bus_add(&b, SLOT, &f, &e), 0);
	/* no 64-bit window: the 32-bit one is too small for 16 GiB */
	ck_assert_int_eq(pci_bus_assign_bars(&b, &w32, NULL, &e), -ENOSPC);
	ck_assert_str_eq(e.msg, "pci: no room for BAR 0 of 00:03.0 (16384 MiB) in the 64-bit window");
}
END_TEST

START_TEST(capabilities)
{
	struct pci_func f = { 0 };
	unsigned a, c;

	a = pci_cap_add(&f, 0x11, 12);		/* MSI-X */
	c = pci_cap_add(&f, 0x09, 17);		/* vendor-specific, odd length */
	ck_assert_uint_eq(a, 0x40);
	ck_assert_uint_eq(c, 0x4c);
	ck_assert_uint_eq(f.cfg[PCI_CFG_CAP_PTR], 0x40);
	ck_assert_uint_eq(f.cfg[0x40], 0x11);
	ck_assert_uint_eq(f.cfg[0x41], 0x4c);
	ck_assert_uint_eq(f.cfg[0x4c], 0x09);
	ck_assert_uint_eq(f.cfg[0x4d], 0);
	ck_assert(f.cfg[PCI_CFG_STATUS] & PCI_STATUS_CAP_LIST);
	ck_assert_uint_eq(pci_cap_add(&f, 0x09, 0x100), 0);	/* does not fit */
	ck_assert_uint_eq(pci_cap_add(&f, 0x09, 1), 0);		/* shorter than a header */
	ck_assert_uint_eq(pci_cap_add(&f, 0x05, 0x60), 0x60);	/* fills to 0xc0 */
	ck_assert_uint_eq(f.cfg[0x4d], 0x60);
}
END_TEST

/* Expansion ROM: sizing, placement below 4 GiB, decoding only while
 * enabled (bit 0) with memory decoding on; writes never reach the ROM's
 * ops as a ROM has none.  The config hooks of device-backed registers
 * see raw values and may replace what is read. */
START_TEST(expansion_rom)
{
	struct pci_bus b;
	struct pci_func f = { 0 };
	struct bar_dev d = { 0 };
	struct pci_window w32;
	struct bs_err e;
	uint32_t v = 0;
	uint64_t a;

	pci_bus_init(&b);
	w32 = (struct pci_window){ &b, 0xc0000000ull, 0x20000000ull };
	ck_assert_int_eq(pci_func_add_rom(&f, 1000, &bd_ops, &d, &e), -EINVAL);
	ck_assert_int_eq(pci_func_add_rom(&f, 0x10000, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_func_add_rom(&f, 0x10000, &bd_ops, &d, &e), -EINVAL);
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 0x1000, 0, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_bus_add(&b, SLOT, &f, &e), 0);
	pci_cfg_write(&b, 0, DEVFN, PCI_CFG_ROM, 4, 0xffffffff);
	ck_assert_uint_eq(cfg32(&b, PCI_CFG_ROM), 0xffff0001u);
	pci_cfg_write(&b, 0, DEVFN, PCI_CFG_ROM, 4, 0);
	ck_assert_int_eq(pci_bus_assign_bars(&b, &w32, NULL, &e), 0);
	a = cfg32(&b, PCI_CFG_ROM);
	ck_assert_uint_eq(a & 0xffff, 0);       /* aligned, still disabled */
	ck_assert(a >= w32.base && a + 0x10000 <= w32.base + w32.size);
	pci_cfg_write(&b, 0, DEVFN, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_window_ops.read(&w32, a - w32.base + 8, &v, 4);
	ck_assert_uint_eq(v, 0xffffffff);       /* not enabled */
	pci_cfg_write(&b, 0, DEVFN, PCI_CFG_ROM, 4, (uint32_t)a | 1);
	ck_assert_uint_eq(pci_rom_addr(&f), a);
	pci_window_ops.read(&w32, a - w32.base + 8, &v, 4);
	ck_assert_uint_eq(v, 0xa0000008);
	ck_assert_uint_eq(d.off, 8);
	pci_cfg_write(&b, 0, DEVFN, PCI_CFG_COMMAND, 2, 0);
	ck_assert_uint_eq(pci_rom_addr(&f), 0);
}
END_TEST

/* BARs must lie below 2^MAXPHYADDR: an 8 GiB BAR at 8 GiB needs 35 bits. */
START_TEST(reach)
{
	struct pci_bus b;
	struct pci_func f = { 0 };
	struct bar_dev d = { 0 };
	struct pci_window w32, w64;
	struct bs_err e;

	pci_bus_init(&b);
	w32 = (struct pci_window){ &b, 0xc0000000ull, 0x20000000ull };
	w64 = (struct pci_window){ &b, 1ull << 32, 256ull << 30 };
	ck_assert_int_eq(pci_func_add_bar(&f, 2, 8ull << 30, PCI_BAR_MEM64 | PCI_BAR_PREFETCH,
					  &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 0x1000, 0, &bd_ops, &d, &e), 0);
	ck_assert_int_eq(pci_bus_add(&b, SLOT, &f, &e), 0);
	ck_assert_int_eq(pci_bus_assign_bars(&b, &w32, &w64, &e), 0);
	ck_assert_int_eq(pci_bus_check_reach(&b, 48, &e), 0);
	ck_assert_int_eq(pci_bus_check_reach(&b, 34, &e), 0);     /* ends at 16 GiB = 2^34 */
	ck_assert_int_eq(pci_bus_check_reach(&b, 33, &e), -ERANGE);
	ck_assert_str_eq(e.msg, "BAR 2 of 00:03.0 (8192 MiB at 0x200000000) is beyond the "
			 "guest's 33-bit physical address space (the host CPU's)");
}
END_TEST

static unsigned hook_off, hook_len;
static uint32_t hook_val;

static uint32_t hook_read(struct pci_func *f, unsigned off, unsigned len, uint32_t v)
{
	(void)f; (void)len;
	return off == 0xe0 ? 0x12345678u : v;
}

static void hook_write(struct pci_func *f, unsigned off, unsigned len, uint32_t val)
{
	(void)f;
	hook_off = off;
	hook_len = len;
	hook_val = val;
}

START_TEST(device_backed_hooks)
{
	struct pci_bus b;
	struct pci_func f = { 0 };
	struct bs_err e;

	pci_bus_init(&b);
	f.cfg_read = hook_read;
	f.cfg_write = hook_write;
	f.cfg[0] = 0x34;
	ck_assert_int_eq(pci_bus_add(&b, SLOT, &f, &e), 0);
	ck_assert_uint_eq(cfg32(&b, 0xe0), 0x12345678u);
	ck_assert_uint_eq(cfg32(&b, 0), 0x34);
	/* The hook gets the raw value; the masked image stays 0. */
	pci_cfg_write(&b, 0, DEVFN, 0xf0, 2, 0xbeef);
	ck_assert_uint_eq(hook_off, 0xf0);
	ck_assert_uint_eq(hook_len, 2);
	ck_assert_uint_eq(hook_val, 0xbeef);
	ck_assert_uint_eq(f.cfg[0xf0], 0);
	/* Invalid accesses never reach the hooks. */
	hook_len = 0;
	pci_cfg_write(&b, 0, DEVFN, 0xf1, 2, 1);
	ck_assert_uint_eq(hook_len, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("bars");

	tcase_add_test(tc, bar_sizing);
	tcase_add_test(tc, bar_errors);
	tcase_add_test(tc, assign_and_decode);
	tcase_add_test(tc, assign_no_room);
	tcase_add_test(tc, capabilities);
	tcase_add_test(tc, expansion_rom);
	tcase_add_test(tc, device_backed_hooks);
	tcase_add_test(tc, reach);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
