/* Runtime start-up after entry.S reaches long mode, and guest_exit().
 *
 * guest_start_ring0() is the only C code that runs at CPL0 besides trap
 * handlers and the guest's guest_ring0_init(): PVM hosts emulate ring 0 at
 * ~1.6 M instructions/s, so it does only what needs the privilege (TSS, IDT,
 * PIC mask, CPUID) plus the bounded cmdline copy, and leaves the rest
 * (UART set-up, argument parsing) to guest_start_ring3() at CPL3.
 */
#include "guest.h"
#include "runtime.h"

#define CMDLINE_MAX 4096

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
	uint8_t iomap[8192 + 1];
};

extern uint64_t guest_gdt[];
extern uint64_t boot_start_info;
extern char boot_stack_top[];

static struct tss64 tss;
static uint8_t df_stack[4096] __attribute__((aligned(16)));
static char cmdline_buf[CMDLINE_MAX];
static unsigned maxphyaddr = 36;

/* The 16-byte 64-bit TSS descriptor (SDM vol. 3A 8.2.3): type 9 =
 * available 64-bit TSS, present, DPL0. */
static void install_tss(void)
{
	uint64_t base = (uintptr_t)&tss;
	uint64_t limit = sizeof(tss) - 1;

	tss.iomap[8192] = 0xff;	/* SDM 3A 20.5.2: the byte after the map */
	tss.rsp[0] = (uintptr_t)boot_stack_top;
	tss.ist[0] = (uintptr_t)(df_stack + sizeof(df_stack));
	/* An all-zero I/O bitmap: every port allowed at CPL3.  IOPL=3 alone
	 * is not enough on PVM hosts (ring 3 runs with IOPL=0 there). */
	tss.iomap_base = __builtin_offsetof(struct tss64, iomap);
	guest_gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		       (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
		       (((base >> 24) & 0xff) << 56);
	guest_gdt[6] = base >> 32;
	ltr(0x28);
}

/* Copies the PVH cmdline if it lies where the identity map reaches. */
static void copy_cmdline(const struct hvm_start_info *si)
{
	uint64_t pa = si->cmdline_paddr;
	const char *src;
	unsigned i;

	if (!pa || pa >= (4ull << 30) - CMDLINE_MAX)
		return;
	src = (const char *)(uintptr_t)pa;
	for (i = 0; i < CMDLINE_MAX - 1 && src[i]; i++)
		cmdline_buf[i] = src[i];
	cmdline_buf[i] = 0;
}

void guest_start_ring0(void)
{
	const struct hvm_start_info *si;
	struct cpuid_regs r;

	install_tss();
	runtime_idt_init();

	/* Mask both 8259s: the PIT may be running and an unprogrammed PIC
	 * would deliver it on vector 8. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);

	r = cpuid(0x80000000, 0);
	if (r.eax >= 0x80000008) {
		r = cpuid(0x80000008, 0);
		if ((r.eax & 0xff) >= 32 && (r.eax & 0xff) <= 52)
			maxphyaddr = r.eax & 0xff;
	}

	if (boot_start_info == 0 || boot_start_info >= (4ull << 30) - sizeof(*si)) {
		guest_printf("guest: bad hvm_start_info address 0x%llx\n",
			     (unsigned long long)boot_start_info);
		guest_exit(GUEST_EXIT_BAD_BOOT);
	}
	si = (const struct hvm_start_info *)(uintptr_t)boot_start_info;
	if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
		guest_printf("guest: bad hvm_start_info magic 0x%x at 0x%llx\n",
			     si->magic, (unsigned long long)boot_start_info);
		guest_exit(GUEST_EXIT_BAD_BOOT);
	}
	copy_cmdline(si);

	if (guest_ring0_init)
		guest_ring0_init();
}

GUEST_NORETURN void guest_start_ring3(void)
{
	runtime_serial_init();
	guest_exit(guest_main());
}

const char *guest_cmdline(void)
{
	return cmdline_buf;
}

uint64_t guest_start_info_paddr(void)
{
	return boot_start_info;
}

unsigned guest_maxphyaddr(void)
{
	return maxphyaddr;
}

GUEST_NORETURN void guest_exit(int code)
{
	guest_serial_flush();
	outb(GUEST_EXIT_PORT, code & 0xff);
	for (;;)
		cpu_relax();
}

void guest_delay_tsc(uint64_t cycles)
{
	uint64_t start = rdtsc();

	while (rdtsc() - start < cycles)
		cpu_relax();
}
