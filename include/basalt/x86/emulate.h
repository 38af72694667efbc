/* Fallbacks for instructions a host's KVM instruction emulator cannot run.
 *
 * On PVM hosts (kvm_pvm: no VMX/SVM, guest ring 0 is emulated by KVM's x86
 * emulator) some instructions end KVM_RUN with KVM_EXIT_INTERNAL_ERROR /
 * KVM_INTERNAL_ERROR_EMULATION.  x86_fallback() decodes the bytes at RIP and,
 * if it knows the instruction, changes the vCPU state copy so the guest
 * continues as if the CPU had executed it.  Table-driven: one row per
 * instruction pattern (see emulate.c).  Anything unknown returns
 * FALLBACK_UNKNOWN and the caller reports RIP + bytes and stops the VM. */
#ifndef BASALT_X86_EMULATE_H
#define BASALT_X86_EMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "basalt/guest_mem.h"

#define X86_MAX_INSN 15

/* A copy of the vCPU state the fallback may read and change.  The caller
 * fetches it (KVM_GET_REGS/SREGS/FPU), calls x86_fallback(), and writes back
 * only what the dirty flags say. */
struct x86_vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	bool regs_dirty, fpu_dirty;
	/* Exception to inject with KVM_SET_VCPU_EVENTS (valid if inject). */
	bool inject;
	uint8_t inject_vector;
	bool inject_has_error;
	uint32_t inject_error;
};

enum fallback_result {
	FALLBACK_DONE,        /* state updated; resume the guest */
	FALLBACK_UNKNOWN,     /* not an instruction we bridge */
	FALLBACK_FAULT,       /* bytes at RIP or a memory operand unreadable */
};

struct fallback_info {
	uint8_t bytes[X86_MAX_INSN];
	unsigned nbytes;      /* how many could be read at RIP */
	uint64_t rip_gpa;     /* guest-physical address of RIP, if translated */
	const char *name;     /* mnemonic handled, or NULL */
};

/* Reads up to X86_MAX_INSN bytes at CS:RIP through the guest page tables
 * (stops at the first unmapped byte).  Returns bytes read. */
unsigned x86_fetch_insn(const struct guest_mem *gm, const struct kvm_sregs *s,
			uint64_t rip, uint8_t *buf, uint64_t *rip_gpa);

enum fallback_result x86_fallback(const struct guest_mem *gm,
				  struct x86_vcpu_state *st,
				  struct fallback_info *info);

/* "0f 01 ca" style hex dump of the bytes, for error messages. */
void x86_format_bytes(const uint8_t *b, unsigned n, char *out, size_t outlen);

#endif
