#include <check.h>
#include <string.h>

#include "basalt/bus.h"
#include "basalt/devices/pci.h"
#include "fixtures.h"

struct rec {
	uint64_t off;
	unsigned len;
	uint32_t last;
	int writes;
};

static void rd(void *dev, uint64_t off, void *data, unsigned len)
{
	uint32_t v = 0x11223344 + (uint32_t)off;

	(void)dev;
	memcpy(data, &v, len);
}

static void wr(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct rec *r = dev;

	r->off = off;
	r->len = len;
	r->last = 0;
	memcpy(&r->last, data, len);
	r->writes++;
}

static const struct bus_dev_ops ops = { .name = "dev", .read = rd, .write = wr };
static const struct bus_dev_ops ops2 = { .name = "other", .read = rd, .write = wr };

START_TEST(dispatch)
{
	struct bus b;
	struct rec r1 = { 0 }, r2 = { 0 };
	struct bs_err e;
	uint32_t v = 0xabcd;

	bus_init(&b, "pio");
	ck_assert_int_eq(bus_register(&b, 0x3f8, 8, &ops, &r1, &e), 0);
	ck_assert_int_eq(bus_register(&b, 0x70, 2, &ops, &r2, &e), 0);
	ck_assert_int_eq(bus_register(&b, 0x3fc, 8, &ops2, &r2, &e), -EBUSY);
	ck_assert_str_eq(e.msg, "pio bus: other at 0x3fc overlaps dev at 0x3f8");
	ck_assert_int_eq(bus_register(&b, 0x3f0, 9, &ops2, &r2, &e), -EBUSY);
	ck_assert_int_eq(bus_register(&b, 0x3f0, 8, &ops2, &r2, &e), 0);

	ck_assert(bus_dispatch(&b, true, 0x3f9, &v, 1));
	ck_assert_uint_eq(r1.off, 1);
	ck_assert_uint_eq(r1.last, 0xcd);
	ck_assert(bus_dispatch(&b, false, 0x71, &v, 4) == false);  /* straddles end */
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert(bus_dispatch(&b, false, 0x70, &v, 2));
	ck_assert_uint_eq(v & 0xffff, 0x3344);
	ck_assert(!bus_dispatch(&b, false, 0x1000, &v, 4));
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert(!bus_dispatch(&b, true, 0x500, &v, 4));
	ck_assert_int_eq(r1.writes + r2.writes, 1);
}
END_TEST

static uint32_t cam(struct pci_bus *b, uint32_t addr, unsigned off, unsigned len)
{
	uint32_t v = 0;

	pci_cam_ops.write(b, 0, &addr, 4);
	pci_cam_ops.read(b, 4 + off, &v, len);
	return v;
}

START_TEST(pci_host_bridge)
{
	struct pci_bus b;
	struct pci_func f = { 0 };
	struct bs_err e;
	uint32_t v = 0xffffffff;

	pci_bus_init(&b);
	/* 00:00.0 vendor/device, class 0x060000 via the 0xcf8/0xcfc ports */
	ck_assert_uint_eq(cam(&b, 0x80000000, 0, 4), 0x00081b36);
	ck_assert_uint_eq(cam(&b, 0x80000008, 0, 4) >> 8, 0x060000);
	ck_assert_uint_eq(cam(&b, 0x80000000, 2, 2), 0x0008);
	ck_assert_uint_eq(cam(&b, 0x8000000c, 2, 1), 0);        /* header type */
	/* absent device, other bus, enable bit clear: all-ones */
	ck_assert_uint_eq(cam(&b, 0x80000800, 0, 4), 0xffffffff);
	ck_assert_uint_eq(cam(&b, 0x80010000, 0, 4), 0xffffffff);
	ck_assert_uint_eq(cam(&b, 0x00000000, 0, 4), 0xffffffff);
	/* read-only vendor id; command register honours its write mask */
	pci_cfg_write(&b, 0, 0, 0, 4, 0x12345678);
	ck_assert_uint_eq(pci_cfg_read(&b, 0, 0, 0, 4), 0x00081b36);
	pci_cfg_write(&b, 0, 0, 4, 2, 0xffff);
	ck_assert_uint_eq(pci_cfg_read(&b, 0, 0, 4, 2), 0x0006);
	/* misaligned and out-of-range config accesses are refused */
	ck_assert_uint_eq(pci_cfg_read(&b, 0, 0, 1, 2), 0xffffffff);
	ck_assert_uint_eq(pci_cfg_read(&b, 0, 0, 254, 4), 0xffffffff);
	/* slots: 0 is the bridge, a new function lands where asked */
	ck_assert_int_eq(pci_bus_add(&b, 0, &f, &e), -EBUSY);
	f.cfg[0] = 0xf4;
	f.cfg[1] = 0x1a;
	ck_assert_int_eq(pci_bus_add(&b, 3, &f, &e), 0);
	ck_assert_uint_eq(cam(&b, 0x80001800, 0, 2), 0x1af4);
	ck_assert_int_eq(pci_bus_add(&b, 3, &f, &e), -EBUSY);
	ck_assert_str_eq(e.msg, "pci: slot 3 is not free");
	(void)v;
}
END_TEST

static uint64_t ecam_rd(struct pci_bus *b, uint64_t off, unsigned len)
{
	uint64_t v = 0;

	pci_ecam_ops.read(b, off, &v, len);
	return v;
}

START_TEST(pci_ecam)
{
	struct pci_bus b;
	struct pci_func f = { 0 };
	struct bs_err e;
	uint32_t w = 0xffff;
	uint64_t q = 0x0000000200000000ull;

	pci_bus_init(&b);
	f.cfg[0] = 0xf4;
	f.cfg[1] = 0x1a;
	f.wmask[0x3c] = 0xff;                     /* interrupt line */
	ck_assert_int_eq(pci_bus_add(&b, 3, &f, &e), 0);
	/* same registers as through CAM: bus << 20 | dev << 15 | fn << 12 */
	ck_assert_uint_eq(ecam_rd(&b, 0, 4), 0x00081b36);
	ck_assert_uint_eq(ecam_rd(&b, 0x8, 4) >> 8, 0x060000);
	ck_assert_uint_eq(ecam_rd(&b, 2, 2), 0x0008);
	ck_assert_uint_eq(ecam_rd(&b, 3 << 15, 2), 0x1af4);
	/* 8-byte access = two dwords */
	ck_assert_uint_eq(ecam_rd(&b, 0, 8), pci_cfg_read(&b, 0, 0, 0, 4) |
			  (uint64_t)pci_cfg_read(&b, 0, 0, 4, 4) << 32);
	/* extended space of a present function reads 0, of an absent one and
	 * of other buses / functions all-ones */
	ck_assert_uint_eq(ecam_rd(&b, 0x100, 4), 0);
	ck_assert_uint_eq(ecam_rd(&b, 0xffc, 4), 0);
	ck_assert_uint_eq(ecam_rd(&b, (4 << 15) | 0x100, 4), 0xffffffff);
	ck_assert_uint_eq(ecam_rd(&b, 1 << 20, 4), 0xffffffff);
	ck_assert_uint_eq(ecam_rd(&b, (3 << 15) | (1 << 12), 4), 0xffffffff);
	ck_assert_uint_eq(ecam_rd(&b, 0x101, 2), 0xffff);     /* misaligned */
	/* writes go through the write mask; extended-space writes vanish */
	pci_ecam_ops.write(&b, 4, &w, 2);
	ck_assert_uint_eq(pci_cfg_read(&b, 0, 0, 4, 2), 0x0006);
	w = 0x2a;
	pci_ecam_ops.write(&b, (3 << 15) | 0x3c, &w, 1);
	ck_assert_uint_eq(f.cfg[0x3c], 0x2a);
	pci_ecam_ops.write(&b, (3 << 15) | 0x100, &w, 4);
	ck_assert_uint_eq(ecam_rd(&b, (3 << 15) | 0x100, 4), 0);
	pci_ecam_ops.write(&b, 0, &q, 8);             /* command via 8-byte write */
	ck_assert_uint_eq(pci_cfg_read(&b, 0, 0, 4, 2), 0x0002);
	ck_assert_uint_eq(pci_cfg_read(&b, 0, 0, 0, 4), 0x00081b36);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, dispatch);
	tcase_add_test(tc, pci_host_bridge);
	tcase_add_test(tc, pci_ecam);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
