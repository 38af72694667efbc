/* MSI-X: capability layout, table/PBA accesses, masking and pending bits,
 * what the sink (KVM routes + irqfds in the VMM) is told. */
#include <check.h>
#include <string.h>

#include "basalt/devices/msix.h"
#include "fixtures.h"

#define DEVFN (2 << 3)
#define NVEC 3

struct rec {
	unsigned routes, fires;
	unsigned last_vec;
	uint64_t addr;
	uint32_t data;
	bool valid;
	unsigned fired_vec;
};

static void s_route(void *ctx, unsigned vec, uint64_t addr, uint32_t data, bool valid)
{
	struct rec *r = ctx;

	r->routes++;
	r->last_vec = vec;
	r->addr = addr;
	r->data = data;
	r->valid = valid;
}

static void s_fire(void *ctx, unsigned vec)
{
	struct rec *r = ctx;

	r->fires++;
	r->fired_vec = vec;
}

static void nop_rw(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev; (void)off; (void)data; (void)len;
}

static const struct bus_dev_ops bar_ops = { "msix-bar", nop_rw, NULL };

static struct msix *hook_m;
static void hook(struct pci_func *f, unsigned off, unsigned len)
{
	(void)f;
	msix_cfg_written(hook_m, off, len);
}

struct fx {
	struct pci_bus b;
	struct pci_func f;
	struct msix m;
	struct rec r;
	struct bs_err e;
};

static void setup(struct fx *x)
{
	struct msix_sink sink;

	memset(x, 0, sizeof(*x));
	sink = (struct msix_sink){ s_route, s_fire, &x->r };
	pci_bus_init(&x->b);
	ck_assert_int_eq(pci_func_add_bar(&x->f, 1, 0x1000, 0, &bar_ops, NULL, &x->e), 0);
	ck_assert_int_eq(msix_init(&x->m, &x->f, NVEC, 1, 0x0, 0x800, &sink, &x->e), 0);
	x->f.cfg_written = hook;
	hook_m = &x->m;
	ck_assert_int_eq(pci_bus_add(&x->b, 2, &x->f, &x->e), 0);
}

static void ctrl_write(struct fx *x, uint16_t v)
{
	pci_cfg_write(&x->b, 0, DEVFN, x->m.cap + 2, 2, v);
}

static void entry(struct fx *x, unsigned vec, uint64_t addr, uint32_t data, bool masked)
{
	uint64_t q = addr;
	uint32_t d[2] = { data, masked };

	msix_table_write(&x->m, vec * 16, &q, 8);
	msix_table_write(&x->m, vec * 16 + 8, d, 8);
}

static uint64_t pba(struct fx *x)
{
	uint64_t v;

	msix_pba_read(&x->m, 0, &v, 8);
	return v;
}

START_TEST(capability)
{
	struct fx x;

	setup(&x);
	ck_assert_uint_eq(x.m.cap, 0x40);
	ck_assert_uint_eq(pci_cfg_read(&x.b, 0, DEVFN, 0x34, 1), 0x40);
	ck_assert_uint_eq(pci_cfg_read(&x.b, 0, DEVFN, 0x40, 1), PCI_CAP_ID_MSIX);
	ck_assert_uint_eq(pci_cfg_read(&x.b, 0, DEVFN, 0x42, 2), NVEC - 1);
	ck_assert_uint_eq(pci_cfg_read(&x.b, 0, DEVFN, 0x44, 4), 0x000 | 1);
	ck_assert_uint_eq(pci_cfg_read(&x.b, 0, DEVFN, 0x48, 4), 0x800 | 1);
	/* only enable and function mask are writable */
	ctrl_write(&x, 0xffff);
	ck_assert_uint_eq(pci_cfg_read(&x.b, 0, DEVFN, 0x42, 2), 0xc000 | (NVEC - 1));
	pci_cfg_write(&x.b, 0, DEVFN, 0x44, 4, 0x12345678);
	ck_assert_uint_eq(pci_cfg_read(&x.b, 0, DEVFN, 0x44, 4), 1);
	msix_destroy(&x.m);
}
END_TEST

START_TEST(init_errors)
{
	struct pci_func f = { 0 };
	struct msix m;
	struct rec r;
	struct msix_sink sink = { s_route, s_fire, &r };
	struct bs_err e;

	ck_assert_int_eq(msix_init(&m, &f, 1, 0, 0, 0x800, &sink, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "msix: BAR 0 is not a memory BAR");
	ck_assert_int_eq(pci_func_add_bar(&f, 0, 0x1000, 0, &bar_ops, NULL, &e), 0);
	ck_assert_int_eq(msix_init(&m, &f, 0, 0, 0, 0x800, &sink, &e), -EINVAL);
	ck_assert_int_eq(msix_init(&m, &f, 4096, 0, 0, 0x800, &sink, &e), -EINVAL);
	/* 129 vectors: table 0x810 bytes overlaps a PBA at 0x800 */
	ck_assert_int_eq(msix_init(&m, &f, 129, 0, 0, 0x800, &sink, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "msix: table 0x0+0x810 / PBA 0x800+0x18 do not fit apart in BAR 0");
	ck_assert_int_eq(msix_init(&m, &f, 2, 0, 4, 0x800, &sink, &e), -EINVAL);
	ck_assert_int_eq(msix_init(&m, &f, 2, 0, 0, 0xff8 + 8, &sink, &e), -EINVAL);
	ck_assert_int_eq(msix_init(&m, &f, 2, 0, 0, 0x800, NULL, &e), -EINVAL);
	ck_assert_uint_eq(f.cfg[0x34], 0);		/* nothing added on failure */
}
END_TEST

START_TEST(delivery)
{
	struct fx x;

	setup(&x);
	/* entries start masked: a notification only sets the pending bit */
	msix_notify(&x.m, 1);
	ck_assert_uint_eq(x.r.fires, 0);
	ck_assert_uint_eq(pba(&x), 1u << 1);
	entry(&x, 1, 0xfee00000, 0x4041, false);
	ck_assert_uint_eq(x.r.routes, 0);		/* MSI-X still disabled */
	ck_assert(!msix_enabled(&x.m));
	/* enabling makes vector 1 deliverable: routed, then the pending one fires */
	ctrl_write(&x, MSIX_CTRL_ENABLE);
	ck_assert(msix_enabled(&x.m));
	ck_assert_uint_eq(x.r.routes, 1);
	ck_assert(x.r.valid);
	ck_assert_uint_eq(x.r.last_vec, 1);
	ck_assert_uint_eq(x.r.addr, 0xfee00000);
	ck_assert_uint_eq(x.r.data, 0x4041);
	ck_assert_uint_eq(x.r.fires, 1);
	ck_assert_uint_eq(x.r.fired_vec, 1);
	ck_assert_uint_eq(pba(&x), 0);
	msix_notify(&x.m, 1);
	ck_assert_uint_eq(x.r.fires, 2);
	/* a new message while deliverable is re-routed; same message is not */
	entry(&x, 1, 0xfee01000, 0x4042, false);
	ck_assert_uint_eq(x.r.addr, 0xfee01000);
	ck_assert_uint_eq(x.r.data, 0x4042);
	ck_assert_uint_eq(x.r.routes, 3);		/* address, then data changed */
	entry(&x, 1, 0xfee01000, 0x4042, false);
	ck_assert_uint_eq(x.r.routes, 3);
	/* function mask: route dropped, notifications pend, unmask delivers */
	ctrl_write(&x, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	ck_assert(!x.r.valid);
	msix_notify(&x.m, 1);
	ck_assert_uint_eq(x.r.fires, 2);
	ck_assert_uint_eq(pba(&x), 1u << 1);
	ctrl_write(&x, MSIX_CTRL_ENABLE);
	ck_assert(x.r.valid);
	ck_assert_uint_eq(x.r.fires, 3);
	ck_assert_uint_eq(pba(&x), 0);
	/* vector mask through a dword write of vector control */
	{
		uint32_t one = 1, zero = 0, v;

		msix_table_write(&x.m, 16 + 12, &one, 4);
		ck_assert(!x.r.valid);
		msix_notify(&x.m, 1);
		ck_assert_uint_eq(pba(&x), 1u << 1);
		msix_table_read(&x.m, 16 + 12, &v, 4);
		ck_assert_uint_eq(v, 1);
		msix_table_write(&x.m, 16 + 12, &zero, 4);
		ck_assert_uint_eq(x.r.fires, 4);
	}
	/* disabling drops the route */
	ctrl_write(&x, 0);
	ck_assert(!x.r.valid);
	ck_assert(!msix_enabled(&x.m));
	/* vectors out of range are ignored */
	msix_notify(&x.m, NVEC);
	ck_assert_uint_eq(pba(&x), 0);
	msix_destroy(&x.m);
}
END_TEST

START_TEST(bad_accesses)
{
	struct fx x;
	uint64_t v = 0;
	uint32_t w = 0x12345678;

	setup(&x);
	/* not dword/qword, misaligned, past the table: all-ones, ignored */
	msix_table_read(&x.m, 0, &v, 2);
	ck_assert_uint_eq(v & 0xffff, 0xffff);
	msix_table_read(&x.m, 4, &v, 8);
	ck_assert_uint_eq(v, ~0ull);
	msix_table_read(&x.m, NVEC * 16, &v, 4);
	ck_assert_uint_eq(v & 0xffffffff, 0xffffffff);
	msix_table_write(&x.m, 2, &w, 2);
	msix_table_write(&x.m, NVEC * 16 - 4, &w, 8);
	msix_table_write(&x.m, ~0ull - 3, &w, 4);
	v = 0;
	msix_table_read(&x.m, 0, &v, 8);
	ck_assert_uint_eq(v, 0);
	msix_table_read(&x.m, NVEC * 16 - 4, &v, 4);
	ck_assert_uint_eq(v & 0xffffffff, 1);		/* still masked, untouched */
	/* reserved vector-control bits stay 0 */
	w = 0xfffffffe;
	msix_table_write(&x.m, 12, &w, 4);
	msix_table_read(&x.m, 12, &v, 4);
	ck_assert_uint_eq(v & 0xffffffff, 0);
	/* PBA: 8 bytes for 3 vectors; beyond reads all-ones */
	msix_pba_read(&x.m, 8, &v, 8);
	ck_assert_uint_eq(v, ~0ull);
	msix_pba_read(&x.m, 1, &v, 4);
	ck_assert_uint_eq(v & 0xffffffff, 0xffffffff);
	ck_assert_uint_eq(x.r.routes + x.r.fires, 0);
	msix_destroy(&x.m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("msix");
	TCase *tc = tcase_create("msix");

	tcase_add_test(tc, capability);
	tcase_add_test(tc, init_errors);
	tcase_add_test(tc, delivery);
	tcase_add_test(tc, bad_accesses);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
