/* The passthrough device model over the vfio-user client, against the
 * real test server (tests/vfio-user-dev, a child process): configuration
 * space through the client, BAR memory slots that follow the guest, the
 * trapped and mapped access paths, MSI-X and MSI virtualisation (routes,
 * masking, pending bits, eventfds), DMA into guest memory, FLR, a server
 * that dies, hostile accesses.  No KVM: slots are bookkeeping (vm_fd -1)
 * and routes are observed through the route hook. */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basalt/devices/pt.h"
#include "basalt/vfio/user.h"
#include "fixtures.h"
#include "../vfio-user-dev/accel.h"

#define SLOT 26
#define DEVFN (SLOT << 3)
#define RAM (16u << 20)
#define BIG (64ull << 20)

struct route {
	unsigned n;
	uint64_t addr[2][64];
	uint32_t data[2][64];
	bool valid[2][64];
};

struct fx {
	char dir[64], sock[96];
	pid_t server;
	struct guest_mem gm;
	struct kvm_slots slots;
	struct pci_bus b;
	struct pci_window w32, w64;
	struct pt_dev *pt;
	struct route rt;
	struct bs_err e;
};

static void hook(void *ctx, unsigned kind, unsigned vec, uint64_t addr, uint32_t data,
		 bool valid)
{
	struct route *r = ctx;
	unsigned k = kind == PT_IRQ_MSIX;

	r->n++;
	if (vec < 64) {
		r->addr[k][vec] = addr;
		r->data[k][vec] = data;
		r->valid[k][vec] = valid;
	}
}

static void start_server(struct fx *x)
{
	char big[32];

	snprintf(big, sizeof(big), "%llu", (unsigned long long)BIG);
	x->server = fork();
	ck_assert_int_ge(x->server, 0);
	if (!x->server) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(VFU_DEV, "vfio-user-dev", "--socket", x->sock, "--big", big, "--once",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(x->sock, F_OK); i++)
		usleep(20000);
	ck_assert_int_eq(access(x->sock, F_OK), 0);
}

/* A failed check ends the test's process through exit(): the server and
 * the temporary directory go then too. */
static struct fx *live;

static void cleanup(void)
{
	char cmd[128];

	if (!live)
		return;
	if (live->server > 0) {
		kill(live->server, SIGKILL);
		waitpid(live->server, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", live->dir);
	if (system(cmd)) {
		/* nothing more to do */
	}
	live = NULL;
}

static void setup(struct fx *x)
{
	struct pt_params p;
	void *backend;
	static bool registered;

	memset(x, 0, sizeof(*x));
	if (!registered)
		registered = atexit(cleanup) == 0;
	snprintf(x->dir, sizeof(x->dir), "/tmp/basalt-pt.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(x->dir));
	live = x;
	snprintf(x->sock, sizeof(x->sock), "%s/accel.sock", x->dir);
	start_server(x);
	ck_assert_int_eq(gm_init(&x->gm, RAM, &x->e), 0);
	ck_assert_int_eq(gm_add_region(&x->gm, 0, RAM, &x->e), 0);
	kvm_slots_init(&x->slots, -1, 8, 64);
	pci_bus_init(&x->b);
	x->w32 = (struct pci_window){ &x->b, 0xc0000000ull, 0x20000000ull };
	x->w64 = (struct pci_window){ &x->b, 1ull << 32, 256ull << 30 };
	ck_assert_int_eq(vfu_client_open(&backend, x->sock, "vfio-user0", &x->e), 0);
	p = (struct pt_params){
		.name = "vfio-user0", .ops = &vfu_backend_ops, .backend = backend,
		.gm = &x->gm, .vm_fd = -1, .slots = &x->slots,
		.windows = { &x->w32, &x->w64 }, .route_hook = hook, .hook_ctx = &x->rt,
	};
	ck_assert_msg(pt_create(&x->pt, &p, &x->e) == 0, "%s", x->e.msg);
	ck_assert_int_eq(pci_bus_add(&x->b, SLOT, &x->pt->f, &x->e), 0);
	ck_assert_int_eq(pci_bus_assign_bars(&x->b, &x->w32, &x->w64, &x->e), 0);
}

static void teardown(struct fx *x)
{
	pt_destroy(x->pt);
	gm_destroy(&x->gm);
	cleanup();
}

static uint32_t cfg(struct fx *x, unsigned off, unsigned len)
{
	return pci_cfg_read(&x->b, 0, DEVFN, off, len);
}

static void cfgw(struct fx *x, unsigned off, unsigned len, uint32_t v)
{
	pci_cfg_write(&x->b, 0, DEVFN, off, len, v);
}

/* Guest MMIO at a physical address: through whichever window decodes it. */
static uint64_t mmio_rd(struct fx *x, uint64_t gpa, unsigned len)
{
	struct pci_window *w = gpa >= x->w64.base ? &x->w64 : &x->w32;
	uint64_t v = 0;

	pci_window_ops.read(w, gpa - w->base, &v, len);
	return v;
}

static void mmio_wr(struct fx *x, uint64_t gpa, unsigned len, uint64_t v)
{
	struct pci_window *w = gpa >= x->w64.base ? &x->w64 : &x->w32;

	pci_window_ops.write(w, gpa - w->base, &v, len);
}

static uint64_t bar(struct fx *x, unsigned i)
{
	return pci_bar_addr(&x->pt->f, i);
}

/* Eventfd count of vector v, waiting up to 10 s for it to be non-zero. */
static uint64_t efd_wait(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint64_t c = 0;

	if (poll(&p, 1, 10000) == 1 && read(fd, &c, sizeof(c)) != sizeof(c))
		c = 0;
	return c;
}

static uint64_t efd_now(int fd)
{
	uint64_t c = 0;

	if (read(fd, &c, sizeof(c)) != sizeof(c))
		c = 0;
	return c;
}

START_TEST(config_through_client)
{
	struct fx x;

	setup(&x);
	ck_assert_uint_eq(cfg(&x, 0, 4), (uint32_t)ACCEL_DEVICE << 16 | ACCEL_VENDOR);
	ck_assert_uint_eq(cfg(&x, PCI_CFG_CAP_PTR, 1), ACCEL_CAP_PM);
	ck_assert_uint_eq(cfg(&x, ACCEL_CAP_MSIX + 1, 1), ACCEL_CAP_VNDR);
	/* Passed through: the vendor capability body, device registers. */
	ck_assert_uint_eq(cfg(&x, ACCEL_CAP_VNDR + 4, 4), 0x544c5342u);   /* "BSLT" */
	ck_assert_uint_eq(cfg(&x, ACCEL_CAP_VNDR + 2, 1), 16);
	ck_assert_uint_eq(cfg(&x, ACCEL_CFG_MAGIC, 4), 0x5a5aba5au);
	cfgw(&x, ACCEL_CFG_SCRATCH, 4, 0xcafef00d);
	ck_assert_uint_eq(cfg(&x, ACCEL_CFG_SCRATCH, 4), 0xcafef00du);
	cfgw(&x, ACCEL_CFG_SCRATCH + 2, 1, 0x11);
	ck_assert_uint_eq(cfg(&x, ACCEL_CFG_SCRATCH, 4), 0xca11f00du);
	/* A dword over emulated and passed-through bytes: the header stays. */
	cfgw(&x, ACCEL_CAP_VNDR, 4, 0xffffffff);
	ck_assert_uint_eq(cfg(&x, ACCEL_CAP_VNDR, 2), 0x0009);
	ck_assert_uint_eq(cfg(&x, ACCEL_CAP_VNDR + 2, 1), 16);
	/* Dropped capabilities read 0 and are not passed through. */
	ck_assert_uint_eq(cfg(&x, ACCEL_CAP_VPD + 4, 4), 0);
	teardown(&x);
}
END_TEST

START_TEST(bar_slots_follow_guest)
{
	struct fx x;
	uint64_t b2;
	int s2 = -1;

	setup(&x);
	ck_assert_uint_eq(kvm_slots_in_use(&x.slots), 0);
	cfgw(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* BAR 0's scratch page and BAR 2 minus its trapped tail. */
	ck_assert_uint_eq(kvm_slots_in_use(&x.slots), 2);
	b2 = bar(&x, 2);
	ck_assert_uint_eq(b2 % BIG, 0);
	for (unsigned i = 8; i < 64; i++)
		if (x.slots.used[i] && x.slots.gpa[i] == b2)
			s2 = (int)i;
	ck_assert_int_ge(s2, 0);
	ck_assert_uint_eq(x.slots.size[s2], BIG - ACCEL_BIG_TRAPPED);
	/* The guest moves BAR 2: the slot follows. */
	cfgw(&x, PCI_CFG_COMMAND, 2, 0);
	ck_assert_uint_eq(kvm_slots_in_use(&x.slots), 0);
	cfgw(&x, 0x18, 4, (uint32_t)(b2 + BIG) | 0xc);
	cfgw(&x, 0x1c, 4, (uint32_t)((b2 + BIG) >> 32));
	cfgw(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	ck_assert_uint_eq(kvm_slots_in_use(&x.slots), 2);
	s2 = -1;
	for (unsigned i = 8; i < 64; i++)
		if (x.slots.used[i] && x.slots.gpa[i] == b2 + BIG)
			s2 = (int)i;
	ck_assert_int_ge(s2, 0);
	/* Outside every window: not mapped (and not decoding). */
	cfgw(&x, 0x1c, 4, 0x100000);
	ck_assert_uint_eq(kvm_slots_in_use(&x.slots), 1);
	teardown(&x);
}
END_TEST

START_TEST(trapped_and_mapped_access)
{
	struct fx x;
	uint64_t b0, b2, rom;

	setup(&x);
	cfgw(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	b0 = bar(&x, 0);
	b2 = bar(&x, 2);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_ID, 4), ACCEL_ID_VALUE);
	mmio_wr(&x, b0 + ACCEL_REG_SCRATCH, 4, 0x5555aaaa);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_SCRATCH, 4), 0x5555aaaa);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_BIG_SIZE, 8), BIG);
	/* Mapped part of BAR 2 (host mapping, as when the slot is absent). */
	ck_assert_uint_eq(mmio_rd(&x, b2, 8), 0x3030524142474942ull);       /* BIGBAR00 */
	mmio_wr(&x, b2 + 8, 8, 0x1122334455667788ull);
	ck_assert_uint_eq(mmio_rd(&x, b2 + 8, 8), 0x1122334455667788ull);
	mmio_wr(&x, b2 + 16, 2, 0xbeef);
	ck_assert_uint_eq(mmio_rd(&x, b2 + 16, 2), 0xbeef);
	/* Trapped tail: through the server. */
	ck_assert_uint_eq(mmio_rd(&x, b2 + BIG - ACCEL_BIG_TRAPPED, 8), 0x3050415254474942ull);
	mmio_wr(&x, b2 + BIG - 8, 8, 0xfeedfacecafebeefull);
	ck_assert_uint_eq(mmio_rd(&x, b2 + BIG - 8, 8), 0xfeedfacecafebeefull);
	/* Straddling the end of the BAR: nothing decodes it. */
	ck_assert_uint_eq(mmio_rd(&x, b2 + BIG - 4, 8), ~0ull);
	/* ROM, enabled: read through the server; writes ignored. */
	rom = cfg(&x, PCI_CFG_ROM, 4) & 0xfffff800u;
	cfgw(&x, PCI_CFG_ROM, 4, (uint32_t)rom | 1);
	ck_assert_uint_eq(mmio_rd(&x, rom, 2), 0xaa55);
	mmio_wr(&x, rom, 2, 0);
	ck_assert_uint_eq(mmio_rd(&x, rom + 0x10, 4), 0x61736162);
	teardown(&x);
}
END_TEST

START_TEST(msix_masking_and_pending)
{
	struct fx x;
	uint64_t b0, t, pba;
	int e0, e1;

	setup(&x);
	cfgw(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	b0 = bar(&x, 0);
	t = b0 + ACCEL_MSIX_TABLE;
	pba = b0 + ACCEL_MSIX_PBA;
	e0 = x.pt->msix_vec[0].efd;
	e1 = x.pt->msix_vec[1].efd;
	mmio_wr(&x, t, 4, 0xfee01000);
	mmio_wr(&x, t + 8, 4, 0x41);
	mmio_wr(&x, t + 16, 8, 0xfee02000);
	mmio_wr(&x, t + 24, 4, 0x42);
	mmio_wr(&x, t + 12, 4, 0);                 /* unmask 0 */
	ck_assert(!x.rt.valid[1][0]);              /* MSI-X still disabled */
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_IRQ_MODE, 4), 0);
	cfgw(&x, ACCEL_CAP_MSIX + 2, 2, 0x8000);
	ck_assert(x.pt->msix_on);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_IRQ_MODE, 4), 3);
	ck_assert(x.rt.valid[1][0]);
	ck_assert_uint_eq(x.rt.addr[1][0], 0xfee01000);
	ck_assert_uint_eq(x.rt.data[1][0], 0x41);
	ck_assert(!x.rt.valid[1][1]);
	/* Vector 0: the device's signal is the vector's eventfd (KVM's irqfd). */
	mmio_wr(&x, b0 + ACCEL_REG_IRQ_RAISE, 4, 0);
	ck_assert_uint_eq(efd_wait(e0), 1);
	/* Vector 1, masked: pending in the PBA, delivered on unmask. */
	mmio_wr(&x, b0 + ACCEL_REG_IRQ_RAISE, 4, 1);
	for (int i = 0; i < 500 && mmio_rd(&x, pba, 8) != 2; i++)
		usleep(10000);
	ck_assert_uint_eq(mmio_rd(&x, pba, 8), 2);
	ck_assert_uint_eq(efd_now(e1), 0);
	mmio_wr(&x, t + 28, 4, 0);
	ck_assert(x.rt.valid[1][1]);
	ck_assert_uint_eq(x.rt.addr[1][1], 0xfee02000);
	ck_assert_uint_eq(efd_now(e1), 1);
	ck_assert_uint_eq(mmio_rd(&x, pba, 8), 0);
	/* Function mask: every route goes; off: back. */
	cfgw(&x, ACCEL_CAP_MSIX + 2, 2, 0xc000);
	ck_assert(!x.rt.valid[1][0] && !x.rt.valid[1][1]);
	cfgw(&x, ACCEL_CAP_MSIX + 2, 2, 0x8000);
	ck_assert(x.rt.valid[1][0] && x.rt.valid[1][1]);
	/* Hostile table accesses: wrong sizes and places read all-ones. */
	ck_assert_uint_eq(mmio_rd(&x, t + 2, 2), 0xffff);
	ck_assert_uint_eq(mmio_rd(&x, t + 4, 8), ~0ull);
	ck_assert_uint_eq(mmio_rd(&x, t + 16 * ACCEL_MSIX_VECTORS, 4), 0);   /* past the table: device */
	mmio_wr(&x, t + 9, 1, 0x77);
	ck_assert_uint_eq(x.rt.data[1][0], 0x41);
	/* Disable: routes gone, the device told. */
	cfgw(&x, ACCEL_CAP_MSIX + 2, 2, 0);
	ck_assert(!x.pt->msix_on && !x.rt.valid[1][0]);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_IRQ_MODE, 4), 0);
	teardown(&x);
}
END_TEST

START_TEST(msi_routes_and_pending)
{
	struct fx x;
	unsigned c = ACCEL_CAP_MSI;
	uint64_t b0;
	int e1;

	setup(&x);
	cfgw(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	b0 = bar(&x, 0);
	e1 = x.pt->msi_vec[1].efd;
	cfgw(&x, c + 4, 4, 0xfee00000);
	cfgw(&x, c + 0x0c, 2, 0x60);
	cfgw(&x, c + 0x10, 4, 0x2);                /* mask vector 1 */
	cfgw(&x, c + 2, 2, 0x0011);                /* enable, 2 vectors */
	ck_assert_uint_eq(x.pt->msi_on, 2);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_IRQ_MODE, 4), 2);
	ck_assert(x.rt.valid[0][0] && !x.rt.valid[0][1] && !x.rt.valid[0][2]);
	ck_assert_uint_eq(x.rt.data[0][0], 0x60);
	mmio_wr(&x, b0 + ACCEL_REG_IRQ_RAISE, 4, 1);
	for (int i = 0; i < 500 && !(cfg(&x, c + 0x14, 4) & 2); i++)
		usleep(10000);
	ck_assert_uint_eq(cfg(&x, c + 0x14, 4), 2);
	cfgw(&x, c + 0x10, 4, 0);
	ck_assert(x.rt.valid[0][1]);
	ck_assert_uint_eq(x.rt.data[0][1], 0x61);
	ck_assert_uint_eq(efd_now(e1), 1);
	ck_assert_uint_eq(cfg(&x, c + 0x14, 4), 0);
	/* A new message reaches the routes; disable turns the device off. */
	cfgw(&x, c + 0x0c, 2, 0x70);
	ck_assert_uint_eq(x.rt.data[0][1], 0x71);
	cfgw(&x, c + 2, 2, 0);
	ck_assert(!x.rt.valid[0][0] && !x.rt.valid[0][1]);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_IRQ_MODE, 4), 0);
	teardown(&x);
}
END_TEST

START_TEST(dma_into_guest_memory)
{
	struct fx x;
	uint8_t *ram;
	uint64_t b0;

	setup(&x);
	ram = gm_ptr(&x.gm, 0, RAM);
	cfgw(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	b0 = bar(&x, 0);
	mmio_wr(&x, b0 + ACCEL_MSIX_TABLE, 4, 0xfee00000);
	mmio_wr(&x, b0 + ACCEL_MSIX_TABLE + 8, 4, 0x30);
	mmio_wr(&x, b0 + ACCEL_MSIX_TABLE + 12, 4, 0);
	cfgw(&x, ACCEL_CAP_MSIX + 2, 2, 0x8000);
	for (unsigned i = 0; i < 65536; i++)
		ram[0x100000 + i] = (uint8_t)(i * 31);
	mmio_wr(&x, b0 + ACCEL_REG_DMA_SRC, 8, 0x100000);
	mmio_wr(&x, b0 + ACCEL_REG_DMA_DST, 8, 0x200000);
	mmio_wr(&x, b0 + ACCEL_REG_DMA_LEN, 4, 65536);
	mmio_wr(&x, b0 + ACCEL_REG_DMA_COMPL, 8, 0x300000);
	mmio_wr(&x, b0 + ACCEL_REG_DOORBELL, 4, 1);
	ck_assert_uint_eq(efd_wait(x.pt->msix_vec[0].efd), 1);
	ck_assert_int_eq(memcmp(ram + 0x100000, ram + 0x200000, 65536), 0);
	ck_assert_uint_eq(*(volatile uint64_t *)(ram + 0x300000), 1);
	/* Past the end of RAM: refused, counted, still an interrupt. */
	mmio_wr(&x, b0 + ACCEL_REG_DMA_SRC, 8, RAM - 100);
	mmio_wr(&x, b0 + ACCEL_REG_DOORBELL, 4, 1);
	ck_assert_uint_eq(efd_wait(x.pt->msix_vec[0].efd), 1);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_DMA_ERRORS, 4), 1);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_STATUS, 4), ACCEL_STATUS_DONE |
			  ACCEL_STATUS_ERROR);
	teardown(&x);
}
END_TEST

START_TEST(flr_resets_device)
{
	struct fx x;
	unsigned c = ACCEL_CAP_PCIE;
	uint64_t b0;
	uint32_t resets;

	setup(&x);
	cfgw(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	b0 = bar(&x, 0);
	cfgw(&x, ACCEL_CAP_MSIX + 2, 2, 0x8000);
	resets = (uint32_t)mmio_rd(&x, b0 + ACCEL_REG_RESETS, 4);
	ck_assert_uint_eq(resets, 1);              /* the one at create */
	mmio_wr(&x, b0 + ACCEL_REG_SCRATCH, 4, 99);
	cfgw(&x, c + PCIE_DEVCTL, 2, 0x8000 | 0x2010);
	ck_assert_uint_eq(cfg(&x, c + PCIE_DEVCTL, 2), 0x2010);
	ck_assert_uint_eq(cfg(&x, PCI_CFG_COMMAND, 2), 0);
	ck_assert_uint_eq(kvm_slots_in_use(&x.slots), 0);
	ck_assert(!x.pt->msix_on);
	ck_assert_uint_eq(cfg(&x, ACCEL_CAP_MSIX + 2, 2), ACCEL_MSIX_VECTORS - 1);
	cfgw(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_RESETS, 4), 2);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_SCRATCH, 4), 0);
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_MSIX_TABLE + 12, 4), 1);    /* masked */
	teardown(&x);
}
END_TEST

START_TEST(server_gone)
{
	struct fx x;
	uint64_t b0, b2;

	setup(&x);
	cfgw(&x, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
	b0 = bar(&x, 0);
	b2 = bar(&x, 2);
	kill(x.server, SIGKILL);
	waitpid(x.server, NULL, 0);
	x.server = 0;
	ck_assert_uint_eq(mmio_rd(&x, b0 + ACCEL_REG_ID, 4), 0xffffffffu);
	mmio_wr(&x, b0 + ACCEL_REG_SCRATCH, 4, 1);
	ck_assert_uint_eq(cfg(&x, ACCEL_CFG_MAGIC, 4), 0xffffffffu);
	cfgw(&x, ACCEL_CAP_MSIX + 2, 2, 0x8000);   /* set_irqs fails: logged */
	/* Emulated state keeps working; mapped memory stays (the memfd). */
	ck_assert_uint_eq(cfg(&x, 0, 2), ACCEL_VENDOR);
	ck_assert_uint_eq(mmio_rd(&x, b2, 8), 0x3030524142474942ull);
	teardown(&x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pt");
	TCase *tc = tcase_create("vfio-user");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, config_through_client);
	tcase_add_test(tc, bar_slots_follow_guest);
	tcase_add_test(tc, trapped_and_mapped_access);
	tcase_add_test(tc, msix_masking_and_pending);
	tcase_add_test(tc, msi_routes_and_pending);
	tcase_add_test(tc, dma_into_guest_memory);
	tcase_add_test(tc, flr_resets_device);
	tcase_add_test(tc, server_gone);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
