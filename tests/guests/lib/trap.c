/* IDT and trap dispatch (SDM vol. 3A ch. 6, "Interrupt and Exception
 * Handling", 64-bit IDT gates 6.14.1).
 *
 * All 256 vectors get an interrupt gate (IF cleared on entry, DPL0 so a
 * stray `int N` from ring 3 is a #GP, never a silent call) pointing at the
 * entry.S stubs; #DF runs on IST1 so a blown kernel stack still reports.
 * The handler table is plain memory, so guest_trap_register() works at CPL3.
 */
#include "guest.h"
#include "runtime.h"

#define KERNEL_CS 0x08
#define GATE_INTR 0x8e00	/* present, DPL0, type 0xE (64-bit interrupt gate) */
#define STUB_SIZE 16

/* A gate is two quadwords: offset 15:0, selector, IST 2:0 | type | DPL | P,
 * offset 31:16; then offset 63:32 and a reserved dword. */
#define GATE_IST_SHIFT 32

extern const char guest_trap_stubs[];

static uint64_t idt[2 * 256] __attribute__((aligned(16)));
static volatile guest_trap_handler handlers[256];

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
	"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

/* Runs at CPL0, so kept to a few instructions per gate: entry.S aligns the
 * 4 KiB of stubs to 4 KiB, so they never straddle a 64 KiB boundary and
 * only the low 16 offset bits differ between gates. */
void runtime_idt_init(void)
{
	uint64_t stub = (uintptr_t)guest_trap_stubs;
	uint64_t lo = (stub & 0xffff) | (uint64_t)KERNEL_CS << 16 |
		      (uint64_t)GATE_INTR << 32 | ((stub >> 16) & 0xffff) << 48;
	struct desc_ptr p = { sizeof(idt) - 1, (uintptr_t)idt };

	for (unsigned v = 0; v < 256; v++, lo += STUB_SIZE) {
		idt[2 * v] = lo;
		idt[2 * v + 1] = stub >> 32;
	}
	idt[2 * 8] |= 1ull << GATE_IST_SHIFT;	/* #DF on IST1 */
	lidt(&p);
}

int guest_trap_register(unsigned vector, guest_trap_handler h)
{
	if (vector > 255)
		return -GUEST_EINVAL;
	handlers[vector] = h;
	return 0;
}

void guest_trap(struct guest_trap_frame *f)
{
	unsigned v = f->vector & 0xff;
	guest_trap_handler h = handlers[v];

	if (h) {
		h(f);
		return;
	}
	if (v < 32) {
		guest_printf("guest: unexpected exception %u (%s) error 0x%llx at "
			     "rip 0x%llx cpl %llu",
			     v, exc_names[v], (unsigned long long)f->error,
			     (unsigned long long)f->rip,
			     (unsigned long long)(f->cs & 3));
		if (v == 14)
			guest_printf(" cr2 0x%llx", (unsigned long long)read_cr2());
		guest_printf(" rflags 0x%llx\n", (unsigned long long)f->rflags);
		guest_exit(GUEST_EXIT_UNEXPECTED_EXCEPTION);
	}
	if (v == GUEST_SPURIOUS_VECTOR)
		return;		/* LAPIC spurious: no EOI (SDM 10.9) */
	guest_printf("guest: unexpected interrupt vector 0x%x at rip 0x%llx\n", v,
		     (unsigned long long)f->rip);
	guest_exit(GUEST_EXIT_UNEXPECTED_INTERRUPT);
}
