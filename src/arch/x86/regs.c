#include <string.h>
#include <sys/ioctl.h>

#include "basalt/log.h"
#include "basalt/x86/acpi.h"
#include "basalt/x86/cpu.h"
#include "basalt/x86/layout.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MISC_ENABLE_FAST_STRING 1

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_EXTINT 0x7
#define APIC_MODE_NMI 0x4

static int set_msrs(int fd, struct bs_err *e)
{
	static const uint32_t idx[] = {
		MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
		MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
		MSR_KERNEL_GS_BASE, MSR_IA32_TSC, MSR_IA32_MISC_ENABLE,
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[sizeof(idx) / sizeof(idx[0])];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		m.e[i].index = idx[i];
		m.e[i].data = idx[i] == MSR_IA32_MISC_ENABLE ? MISC_ENABLE_FAST_STRING : 0;
	}
	m.hdr.nmsrs = sizeof(idx) / sizeof(idx[0]);
	r = ioctl(fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return bs_errf(e, errno, "KVM_SET_MSRS: %s", strerror(errno));
	/* KVM stops at the first MSR it refuses; the rest keep reset values. */
	if ((unsigned)r != m.hdr.nmsrs)
		log_debug("KVM_SET_MSRS: host accepted %d of %u MSRs (stopped at 0x%x)",
			  r, m.hdr.nmsrs, idx[r]);
	return 0;
}

static uint32_t lvt_mode(uint32_t v, uint32_t mode)
{
	return (v & ~0x700u) | (mode << 8);
}

/* LINT0 = ExtINT (PIC), LINT1 = NMI, as firmware leaves them on a PC. */
static int set_lapic(int fd, struct bs_err *e)
{
	struct kvm_lapic_state ls;
	uint32_t v;

	if (ioctl(fd, KVM_GET_LAPIC, &ls) < 0)
		return bs_errf(e, errno, "KVM_GET_LAPIC: %s", strerror(errno));
	memcpy(&v, ls.regs + APIC_LVT0, 4);
	v = lvt_mode(v, APIC_MODE_EXTINT);
	memcpy(ls.regs + APIC_LVT0, &v, 4);
	memcpy(&v, ls.regs + APIC_LVT1, 4);
	v = lvt_mode(v, APIC_MODE_NMI);
	memcpy(ls.regs + APIC_LVT1, &v, 4);
	if (ioctl(fd, KVM_SET_LAPIC, &ls) < 0)
		return bs_errf(e, errno, "KVM_SET_LAPIC: %s", strerror(errno));
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64,
		bool db)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = code64;
	s->db = db;
	s->g = 1;
}

static int set_boot_regs(int fd, const struct boot_result *b, struct bs_err *e)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (ioctl(fd, KVM_GET_SREGS, &sr) < 0)
		return bs_errf(e, errno, "KVM_GET_SREGS: %s", strerror(errno));
	seg(&sr.ds, 0x18, 0x3, false, true);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.selector = 0x20;
	sr.tr.limit = 0x67;
	sr.tr.type = 0xb;            /* busy 32-bit TSS */
	sr.tr.present = 1;
	sr.gdt.base = X86_BOOT_GDT;
	sr.gdt.limit = 5 * 8 - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;
	r.rip = b->entry;

	if (b->entry_kind == BOOT_ENTRY_PVH) {
		/* PVH: 32-bit flat protected mode, paging off, EBX = start_info
		 * (xen/include/public/arch-x86/hvm/start_info.h). */
		seg(&sr.cs, 0x10, 0xb, false, true);
		sr.cr0 = 0x11;                        /* PE | ET */
		sr.cr4 = 0;
		sr.efer = 0;
		r.rbx = b->boot_arg;
	} else {
		/* Linux 64-bit boot protocol: long mode, identity map covering
		 * the kernel, zero page and cmdline; RSI = zero page. */
		seg(&sr.cs, 0x10, 0xb, true, false);
		sr.cr3 = X86_BOOT_PML4;
		sr.cr4 = 0x20;                        /* PAE */
		sr.cr0 = 0x80050033;                  /* PG WP NE ET MP PE */
		sr.efer = 0x500;                      /* LME | LMA */
		r.rsi = b->boot_arg;
	}
	if (ioctl(fd, KVM_SET_SREGS, &sr) < 0)
		return bs_errf(e, errno, "KVM_SET_SREGS: %s", strerror(errno));
	if (ioctl(fd, KVM_SET_REGS, &r) < 0)
		return bs_errf(e, errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

int x86_vcpu_init(int fd, const struct x86_cpuid *supported, unsigned ncpus,
		  unsigned index, const struct boot_result *boot, struct bs_err *e)
{
	struct x86_cpuid c = *supported;
	struct kvm_fpu fpu;
	int r;

	x86_cpuid_patch(&c, ncpus, index);
	if (ioctl(fd, KVM_SET_CPUID2, &c.hdr) < 0)
		return bs_errf(e, errno, "vCPU %u: KVM_SET_CPUID2: %s", index,
			       strerror(errno));
	r = set_msrs(fd, e);
	if (r)
		return r;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		return bs_errf(e, errno, "KVM_SET_FPU: %s", strerror(errno));
	r = set_lapic(fd, e);
	if (r)
		return r;
	/* APs stay in wait-for-SIPI; the guest starts them through the LAPIC
	 * (it learns about them from the MADT). */
	if (index == 0)
		return set_boot_regs(fd, boot, e);
	return 0;
}
