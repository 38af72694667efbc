/* virtio-pci modern transport against a fake device and fake guest RAM:
 * IDs and capabilities, feature negotiation, the status machine, queue
 * registers (validation, locking), reset, MSI-X, notifications, ISR, the
 * PCI_CFG window. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basalt/virtio/pci.h"
#include "fixtures.h"

#define RAM_GPA 0x100000ull
#define RAM_SIZE 0x100000ull
#define DEVFN (5 << 3)

struct fake {
	uint8_t cfg[8];
	unsigned activations, resets, fires, last_vec, cfg_reads;
	int fail_activate;
};

static void f_cfg_read(void *dev, uint32_t off, void *data, unsigned len)
{
	struct fake *d = dev;

	d->cfg_reads++;
	memcpy(data, d->cfg + off, len);
}

static int f_activate(void *dev, struct bs_err *e)
{
	struct fake *d = dev;

	d->activations++;
	return d->fail_activate ? bs_errf(e, EIO, "fake: refuses") : 0;
}

static void f_reset(void *dev)
{
	((struct fake *)dev)->resets++;
}

static const struct virtio_dev_ops fake_ops = {
	.name = "virtio-fake", .device_id = 2, .pci_class = 0x018000,
	.cfg_read = f_cfg_read, .activate = f_activate, .reset = f_reset,
};

static void s_route(void *ctx, unsigned vec, uint64_t a, uint32_t d, bool v)
{
	(void)ctx; (void)vec; (void)a; (void)d; (void)v;
}

static void s_fire(void *ctx, unsigned vec)
{
	struct fake *d = ctx;

	d->fires++;
	d->last_vec = vec;
}

static uint8_t *ram;
static struct guest_mem gm;
static struct fake dev;
static struct pci_bus bus;
static struct virtio_pci t;
static struct msix_sink sink;

static void setup(void)
{
	struct virtio_pci_params p = {
		.ops = &fake_ops, .dev = &dev, .features = 1ull << 3 | 1ull << 9,
		.num_queues = 2, .queue_size_max = 256, .cfg_size = 8,
		.gm = &gm, .irq = NULL, .sink = &sink, .vm_fd = -1,
		.name = "virtio-fake0",
	};
	struct bs_err e;

	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	gm_init_fake(&gm, ram, RAM_GPA, RAM_SIZE);
	memset(&dev, 0, sizeof(dev));
	memcpy(dev.cfg, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	sink = (struct msix_sink){ s_route, s_fire, &dev };
	pci_bus_init(&bus);
	ck_assert_int_eq(virtio_pci_init(&t, &p, &e), 0);
	ck_assert_int_eq(pci_bus_add(&bus, 5, &t.f, &e), 0);
}

static void teardown(void)
{
	virtio_pci_destroy(&t);
	free(ram);
}

static uint32_t rd(uint64_t off, unsigned len)
{
	uint32_t v = 0;

	t.f.bar[VIRTIO_PCI_BAR].ops->read(&t, off, &v, len);
	return v;
}

static void wr(uint64_t off, unsigned len, uint32_t v)
{
	t.f.bar[VIRTIO_PCI_BAR].ops->write(&t, off, &v, len);
}

static void negotiate(uint64_t feat)
{
	wr(VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VPCI_GFSELECT, 4, 0);
	wr(VPCI_GF, 4, (uint32_t)feat);
	wr(VPCI_GFSELECT, 4, 1);
	wr(VPCI_GF, 4, (uint32_t)(feat >> 32));
	wr(VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			   VIRTIO_STATUS_FEATURES_OK);
}

static void queue_setup(unsigned q, uint64_t desc)
{
	wr(VPCI_Q_SELECT, 2, q);
	wr(VPCI_Q_SIZE, 2, 16);
	wr(VPCI_Q_DESCLO, 4, (uint32_t)desc);
	wr(VPCI_Q_DESCHI, 4, (uint32_t)(desc >> 32));
	wr(VPCI_Q_AVAILLO, 4, (uint32_t)(desc + 0x1000));
	wr(VPCI_Q_AVAILHI, 4, 0);
	wr(VPCI_Q_USEDLO, 4, (uint32_t)(desc + 0x2000));
	wr(VPCI_Q_USEDHI, 4, 0);
}

START_TEST(ids_and_caps)
{
	unsigned c, found = 0;

	ck_assert_uint_eq(pci_cfg_read(&bus, 0, DEVFN, 0, 4), 0x10421af4);
	ck_assert_uint_eq(pci_cfg_read(&bus, 0, DEVFN, 8, 4), 0x01800001);
	ck_assert_uint_eq(pci_cfg_read(&bus, 0, DEVFN, 0x2c, 4), 0x00401af4);
	ck_assert(pci_cfg_read(&bus, 0, DEVFN, 6, 2) & PCI_STATUS_CAP_LIST);
	/* walk the list: 5 virtio caps of types 1-5 in BAR 4, and MSI-X */
	for (c = pci_cfg_read(&bus, 0, DEVFN, 0x34, 1); c; c = t.f.cfg[c + 1]) {
		if (t.f.cfg[c] == 0x09) {
			unsigned type = t.f.cfg[c + 3];

			ck_assert_uint_eq(t.f.cfg[c + 4], VIRTIO_PCI_BAR);
			found |= 1u << type;
			if (type == 2)
				ck_assert_uint_eq(pci_cfg_read(&bus, 0, DEVFN, c + 16, 4),
						  VIRTIO_PCI_NOTIFY_MULT);
			if (type == 1)
				ck_assert_uint_eq(pci_cfg_read(&bus, 0, DEVFN, c + 12, 4),
						  VIRTIO_PCI_COMMON_LEN);
		} else {
			ck_assert_uint_eq(t.f.cfg[c], PCI_CAP_ID_MSIX);
			found |= 1u << 8;
		}
	}
	ck_assert_uint_eq(found, 0x13e);
	ck_assert_uint_eq(rd(VPCI_NUMQ, 2), 2);
	/* BAR 4: 64-bit, 32 KiB */
	pci_cfg_write(&bus, 0, DEVFN, 0x20, 4, 0xffffffff);
	ck_assert_uint_eq(pci_cfg_read(&bus, 0, DEVFN, 0x20, 4), 0xffff8004);
}
END_TEST

START_TEST(features)
{
	/* device features: ours plus VERSION_1 */
	wr(VPCI_DFSELECT, 4, 0);
	ck_assert_uint_eq(rd(VPCI_DF, 4), 1u << 3 | 1u << 9);
	wr(VPCI_DFSELECT, 4, 1);
	ck_assert_uint_eq(rd(VPCI_DF, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(VPCI_DFSELECT, 4, 7);
	ck_assert_uint_eq(rd(VPCI_DF, 4), 0);
	/* without VERSION_1: FEATURES_OK does not stick */
	negotiate(1ull << 3);
	ck_assert(!(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK));
	wr(VPCI_STATUS, 1, 0);
	/* a feature we never offered: refused too */
	negotiate(1ull << VIRTIO_F_VERSION_1 | 1ull << 4);
	ck_assert(!(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK));
	wr(VPCI_STATUS, 1, 0);
	ck_assert_uint_eq(dev.resets, 2);
	negotiate(1ull << VIRTIO_F_VERSION_1 | 1ull << 9);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);
	/* feature writes after FEATURES_OK are ignored */
	wr(VPCI_GFSELECT, 4, 0);
	wr(VPCI_GF, 4, 1u << 3);
	ck_assert_uint_eq(rd(VPCI_GF, 4), 1u << 9);
	ck_assert_uint_eq(virtio_pci_features(&t), 1ull << VIRTIO_F_VERSION_1 | 1ull << 9);
	/* the driver cannot clear a status bit without a reset */
	wr(VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);
}
END_TEST

START_TEST(queues_and_driver_ok)
{
	negotiate(1ull << VIRTIO_F_VERSION_1);
	/* size: power of two up to the maximum */
	wr(VPCI_Q_SELECT, 2, 0);
	ck_assert_uint_eq(rd(VPCI_Q_SIZE, 2), 256);
	wr(VPCI_Q_SIZE, 2, 100);
	ck_assert_uint_eq(rd(VPCI_Q_SIZE, 2), 256);
	wr(VPCI_Q_SIZE, 2, 512);
	ck_assert_uint_eq(rd(VPCI_Q_SIZE, 2), 256);
	/* queue 7 does not exist: size 0, writes ignored */
	wr(VPCI_Q_SELECT, 2, 7);
	ck_assert_uint_eq(rd(VPCI_Q_SIZE, 2), 0);
	/* a ring outside guest RAM: NEEDS_RESET, queue stays off */
	queue_setup(1, 0x40000000);
	wr(VPCI_Q_ENABLE, 2, 1);
	ck_assert_uint_eq(rd(VPCI_Q_ENABLE, 2), 0);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* DRIVER_OK is refused while NEEDS_RESET; a reset clears it */
	wr(VPCI_STATUS, 1, 0x0f);
	ck_assert(!(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_DRIVER_OK));
	ck_assert_uint_eq(dev.activations, 0);
	wr(VPCI_STATUS, 1, 0);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), 0);
	negotiate(1ull << VIRTIO_F_VERSION_1);
	/* queue 0 in RAM: enabled, then locked */
	queue_setup(0, RAM_GPA);
	wr(VPCI_Q_ENABLE, 2, 1);
	ck_assert_uint_eq(rd(VPCI_Q_ENABLE, 2), 1);
	ck_assert_ptr_nonnull(virtio_pci_queue(&t, 0));
	ck_assert_ptr_null(virtio_pci_queue(&t, 1));
	wr(VPCI_Q_DESCLO, 4, 0x40000000);
	wr(VPCI_Q_SIZE, 2, 32);
	ck_assert_uint_eq(rd(VPCI_Q_DESCLO, 4), (uint32_t)RAM_GPA);
	ck_assert_uint_eq(rd(VPCI_Q_SIZE, 2), 16);
	/* DRIVER_OK starts the device once; then every queue is locked */
	wr(VPCI_STATUS, 1, 0x0f);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(dev.activations, 1);
	wr(VPCI_STATUS, 1, 0x0f);
	ck_assert_uint_eq(dev.activations, 1);
	wr(VPCI_Q_SELECT, 2, 1);
	wr(VPCI_Q_DESCLO, 4, RAM_GPA + 0x8000);
	ck_assert_uint_eq(rd(VPCI_Q_DESCLO, 4), 0);	/* since the reset */
	ck_assert_uint_eq(virtio_pci_queue(&t, 0)->features, 1ull << VIRTIO_F_VERSION_1);
	/* reset: the device drains, everything is forgotten */
	wr(VPCI_STATUS, 1, 0);
	ck_assert_uint_eq(dev.resets, 2);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), 0);
	ck_assert_ptr_null(virtio_pci_queue(&t, 0));
	wr(VPCI_Q_SELECT, 2, 0);
	ck_assert_uint_eq(rd(VPCI_Q_DESCLO, 4), 0);
	ck_assert_uint_eq(rd(VPCI_Q_SIZE, 2), 256);
	/* a device that cannot start sets NEEDS_RESET */
	dev.fail_activate = 1;
	negotiate(1ull << VIRTIO_F_VERSION_1);
	wr(VPCI_STATUS, 1, 0x0f);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
}
END_TEST

START_TEST(widths_isr_devcfg)
{
	uint64_t v8 = 0;

	/* each common field only at its own width */
	wr(VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert_uint_eq(rd(VPCI_STATUS, 4), 0);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert_uint_eq(rd(VPCI_NUMQ, 4), 0);
	ck_assert_uint_eq(rd(VPCI_Q_DESCLO + 1, 1), 0);
	/* device configuration: bounded by cfg_size */
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 4, 4), 0x08070605);
	ck_assert_uint_eq(dev.cfg_reads, 1);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVCFG_OFF + 6, 4), 0);
	t.f.bar[VIRTIO_PCI_BAR].ops->read(&t, VIRTIO_PCI_DEVCFG_OFF + 8, &v8, 8);
	ck_assert_uint_eq(v8, 0);
	ck_assert_uint_eq(dev.cfg_reads, 1);
	/* ISR: read-to-clear; config interrupt sets bit 1 */
	virtio_pci_irq_config(&t);
	ck_assert_uint_eq(rd(VIRTIO_PCI_ISR_OFF, 1), 2);
	ck_assert_uint_eq(rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	/* the PCI_CFG window reads status through configuration space */
	pci_cfg_write(&bus, 0, DEVFN, t.pci_cfg_cap + 4, 1, VIRTIO_PCI_BAR);
	pci_cfg_write(&bus, 0, DEVFN, t.pci_cfg_cap + 12, 4, 1);
	pci_cfg_write(&bus, 0, DEVFN, t.pci_cfg_cap + 8, 4, VPCI_STATUS);
	ck_assert_uint_eq(pci_cfg_read(&bus, 0, DEVFN, t.pci_cfg_cap + 16, 1),
			  VIRTIO_STATUS_ACKNOWLEDGE);
	/* and writes through it */
	pci_cfg_write(&bus, 0, DEVFN, t.pci_cfg_cap + 16, 1,
		      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* a bad window (length 3) does nothing */
	pci_cfg_write(&bus, 0, DEVFN, t.pci_cfg_cap + 12, 4, 3);
	ck_assert_uint_eq(pci_cfg_read(&bus, 0, DEVFN, t.pci_cfg_cap + 16, 4), 0);
}
END_TEST

START_TEST(msix_and_notify)
{
	uint64_t cnt = 0;
	uint32_t entry[4] = { 0xfee00000, 0, 0x4041, 0 };

	/* vectors: one per queue plus config; unknown vectors read NO_VECTOR */
	wr(VPCI_MSIX, 2, 2);
	ck_assert_uint_eq(rd(VPCI_MSIX, 2), 2);
	wr(VPCI_MSIX, 2, 3);
	ck_assert_uint_eq(rd(VPCI_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	wr(VPCI_Q_SELECT, 2, 1);
	wr(VPCI_Q_MSIX, 2, 1);
	ck_assert_uint_eq(rd(VPCI_Q_MSIX, 2), 1);
	/* enable MSI-X, unmask vector 1: a queue interrupt fires it */
	pci_cfg_write(&bus, 0, DEVFN, t.msix.cap + 2, 2, MSIX_CTRL_ENABLE);
	for (unsigned i = 0; i < 4; i++)
		wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 4 * i, 4, entry[i]);
	ck_assert_uint_eq(rd(VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 8, 4), 0x4041);
	virtio_pci_irq_queue(&t, 1);
	ck_assert_uint_eq(dev.fires, 1);
	ck_assert_uint_eq(dev.last_vec, 1);
	virtio_pci_irq_queue(&t, 0);		/* no vector: nothing */
	virtio_pci_irq_queue(&t, 9);
	ck_assert_uint_eq(dev.fires, 1);
	/* a trapped notify write kicks the queue's eventfd */
	wr(VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * 1, 2, 1);
	ck_assert_int_eq(read(virtio_pci_notify_fd(&t, 1), &cnt, 8), 8);
	ck_assert_uint_eq(cnt, 1);
	ck_assert_int_eq(read(virtio_pci_notify_fd(&t, 0), &cnt, 8), -1);
	ck_assert_int_eq(virtio_pci_notify_fd(&t, 2), -1);
	/* past the last queue's notify slot: nothing */
	wr(VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * 2, 2, 2);
}
END_TEST

/* What I/O threads call must not need the transport lock: a vCPU resetting
 * the device holds it while it waits for them (a deadlock before). */
START_TEST(io_thread_calls_are_lock_free)
{
	wr(VPCI_MSIX, 2, 2);
	pthread_mutex_lock(&t.lock);
	virtio_pci_needs_reset(&t);
	virtio_pci_irq_config(&t);
	virtio_pci_irq_queue(&t, 0);
	pthread_mutex_unlock(&t.lock);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	ck_assert_uint_eq(rd(VIRTIO_PCI_ISR_OFF, 1), 2);
	/* the driver's own status writes keep the device's NEEDS_RESET */
	wr(VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert(rd(VPCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	wr(VPCI_STATUS, 1, 0);
	ck_assert_uint_eq(rd(VPCI_STATUS, 1), 0);
}
END_TEST

START_TEST(bad_params)
{
	struct virtio_pci u;
	struct virtio_pci_params p = {
		.ops = &fake_ops, .dev = &dev, .num_queues = 0, .queue_size_max = 256,
		.gm = &gm, .sink = &sink, .vm_fd = -1, .name = "virtio-bad",
	};
	struct bs_err e;

	ck_assert_int_eq(virtio_pci_init(&u, &p, &e), -EINVAL);
	p.num_queues = 1;
	p.queue_size_max = 100;
	ck_assert_int_eq(virtio_pci_init(&u, &p, &e), -EINVAL);
	p.queue_size_max = 256;
	p.sink = NULL;
	ck_assert_int_eq(virtio_pci_init(&u, &p, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "virtio-bad: no interrupt sink");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_pci");
	TCase *tc = tcase_create("transport");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ids_and_caps);
	tcase_add_test(tc, features);
	tcase_add_test(tc, queues_and_driver_ok);
	tcase_add_test(tc, widths_isr_devcfg);
	tcase_add_test(tc, msix_and_notify);
	tcase_add_test(tc, bad_params);
	tcase_add_test(tc, io_thread_calls_are_lock_free);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
