/* edu: drives QEMU's "edu" educational PCI device (1234:11e8, QEMU's
 * docs/specs/edu.rst) passed through by basalt with kernel VFIO, from ring
 * 3 (the vfio-kernel-l1 test runs basalt inside an L1 QEMU VM where the
 * device sits behind an emulated Intel IOMMU and is bound to vfio-pci):
 *   identification register, liveness check (the device inverts what is
 *   written), factorial computation; MSI (emulated by basalt, delivered
 *   through VFIO's eventfd and a KVM irqfd): an interrupt raised with the
 *   interrupt-raise register reaches the handler, which acknowledges it;
 *   DMA through the IOMMU mappings basalt made: a 2 KiB buffer from guest
 *   RAM into the device and back into another buffer, each with a
 *   completion interrupt.  BAR 0 is accessed through the KVM slot of
 *   VFIO's mmap: 20000 register reads, which the host side finds did not
 *   exit.
 * Prints "edu: N checks, 0 failed" and exits 0 if every check held. */
#include "lib/guest.h"

#define REG_ID 0x00
#define REG_LIVE 0x04
#define REG_FACT 0x08
#define REG_STATUS 0x20
#define REG_IRQ_STATUS 0x24
#define REG_IRQ_RAISE 0x60
#define REG_IRQ_ACK 0x64
#define REG_DMA_SRC 0x80
#define REG_DMA_DST 0x88
#define REG_DMA_CNT 0x90
#define REG_DMA_CMD 0x98
#define EDU_BUF 0x40000
#define VEC 0x52

static unsigned slot, checks, failed;
static uint64_t b0;
static volatile uint64_t irqs;
static volatile uint32_t last_status;
/* 2 KiB: QEMU 7.2's edu refuses a transfer that ends exactly at the end
 * of its 4 KiB buffer (an off-by-one in its range check) and aborts. */
static uint8_t src[2048] __attribute__((aligned(4096)));
static uint8_t dst[2048] __attribute__((aligned(4096)));

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		checks++;                                                  \
		if (!(cond)) {                                             \
			failed++;                                          \
			guest_printf("edu: FAIL: " __VA_ARGS__);           \
			guest_printf("\n");                                \
		}                                                          \
	} while (0)

static void on_irq(struct guest_trap_frame *f)
{
	uint32_t st = mmio_read32(b0 + REG_IRQ_STATUS);

	(void)f;
	last_status = st;
	mmio_write32(b0 + REG_IRQ_ACK, st);
	irqs++;
	guest_lapic_eoi();
}

static bool wait_irqs(uint64_t n)
{
	uint64_t t0 = rdtsc();

	while (irqs < n && rdtsc() - t0 < 20000000000ull)
		cpu_relax();
	return irqs >= n;
}

static unsigned find_cap(uint8_t id)
{
	if (!(guest_pci_read16(0, slot, 0, 0x06) & 0x10))
		return 0;
	for (unsigned p = guest_pci_read8(0, slot, 0, 0x34), n = 0; p && n < 48;
	     p = guest_pci_read8(0, slot, 0, p + 1), n++)
		if (guest_pci_read8(0, slot, 0, p) == id)
			return p;
	return 0;
}

static void dma(uint64_t from, uint64_t to, uint32_t cmd)
{
	mmio_write64(b0 + REG_DMA_SRC, from);
	mmio_write64(b0 + REG_DMA_DST, to);
	mmio_write64(b0 + REG_DMA_CNT, sizeof(src));
	mmio_write64(b0 + REG_DMA_CMD, cmd | 1 | 4);    /* start, interrupt */
}

int guest_main(void)
{
	unsigned msi;
	uint64_t t0;
	uint32_t v;

	for (unsigned s = 0; s < 32 && !slot; s++)
		if (guest_pci_read32(0, s, 0, 0) == 0x11e81234)
			slot = s;
	if (!slot) {
		guest_puts("edu: no 1234:11e8 device on bus 0");
		return GUEST_EXIT_FAIL;
	}
	b0 = guest_pci_read32(0, slot, 0, 0x10) & ~0xfull;
	guest_printf("edu: at 00:%02x.0, BAR 0 at 0x%llx\n", slot, (unsigned long long)b0);
	guest_trap_register(VEC, on_irq);
	guest_lapic_enable();
	guest_pci_write32(0, slot, 0, 0x04, 0x6);        /* memory, bus master */

	v = mmio_read32(b0 + REG_ID);
	CHECK((v & 0xffff) == 0x00ed, "identification 0x%x", v);
	/* 20000 reads: through the slot they cost no VM exit (the host side
	 * checks the exit count). */
	for (unsigned i = 0; i < 20000; i++)
		if (mmio_read32(b0 + REG_ID) != v) {
			CHECK(0, "identification changed");
			break;
		}
	mmio_write32(b0 + REG_LIVE, 0x12345678);
	CHECK(mmio_read32(b0 + REG_LIVE) == ~0x12345678u, "liveness check 0x%x",
	      mmio_read32(b0 + REG_LIVE));
	mmio_write32(b0 + REG_FACT, 10);
	t0 = rdtsc();
	while ((mmio_read32(b0 + REG_STATUS) & 1) && rdtsc() - t0 < 20000000000ull)
		cpu_relax();
	CHECK(mmio_read32(b0 + REG_FACT) == 3628800, "10! = %u", mmio_read32(b0 + REG_FACT));

	msi = find_cap(0x05);
	CHECK(msi != 0, "no MSI capability");
	if (msi) {
		bool is64 = guest_pci_read16(0, slot, 0, msi + 2) & 0x80;

		guest_pci_write32(0, slot, 0, msi + 4, 0xfee00000);
		if (is64)
			guest_pci_write32(0, slot, 0, msi + 8, 0);
		guest_pci_write32(0, slot, 0, msi + (is64 ? 0x0c : 0x08), VEC);
		guest_pci_write32(0, slot, 0, msi, guest_pci_read32(0, slot, 0, msi) | 1 << 16);
		mmio_write32(b0 + REG_IRQ_RAISE, 0x1);
		CHECK(wait_irqs(1), "no MSI for the raised interrupt");
		CHECK(last_status == 0x1, "interrupt status 0x%x", last_status);
	}
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 3);
	dma((uintptr_t)src, EDU_BUF, 0);                  /* RAM -> device */
	CHECK(wait_irqs(2), "no interrupt after the DMA into the device");
	CHECK(last_status == 0x100, "interrupt status 0x%x after DMA", last_status);
	dma(EDU_BUF, (uintptr_t)dst, 2);                  /* device -> RAM */
	CHECK(wait_irqs(3), "no interrupt after the DMA out of the device");
	CHECK(!memcmp(src, dst, sizeof(src)), "DMA round trip lost data");
	guest_printf("edu: %u checks, %u failed\n", checks, failed);
	return failed ? GUEST_EXIT_FAIL : GUEST_EXIT_PASS;
}
