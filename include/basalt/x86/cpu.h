/* x86 vCPU setup: CPUID, MSRs, LAPIC LVTs and the initial register state
 * for each boot entry. */
#ifndef BASALT_X86_CPU_H
#define BASALT_X86_CPU_H

#include <stdint.h>

#include <linux/kvm.h>

#include "basalt/err.h"
#include "basalt/x86/boot.h"

#define X86_MAX_CPUID_ENTRIES 256

struct x86_cpuid {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 e[X86_MAX_CPUID_ENTRIES];
};

/* Adjusts the host-supported CPUID list for vCPU index (== APIC id) in a VM
 * of ncpus: one package, ncpus cores, one thread per core.  Sets leaf 1
 * (APIC id, logical count, HTT, hypervisor bit), leaf 4 core counts, leaf
 * 0xB/0x1F x2APIC topology (added if the host list lacks them), and
 * 0x80000008 ECX.  Pure, unit-tested. */
void x86_cpuid_patch(struct x86_cpuid *c, unsigned ncpus, unsigned index);

/* Bits needed to number ncpus cores (leaf 0xB level-1 shift). */
unsigned x86_core_shift(unsigned ncpus);

struct kvm_cpuid_entry2 *x86_cpuid_find(struct x86_cpuid *c, uint32_t fn,
					uint32_t idx);

/* KVM_GET_SUPPORTED_CPUID on the /dev/kvm fd. */
int x86_cpuid_get_supported(int kvm_fd, struct x86_cpuid *c, struct bs_err *e);

/* Per-vCPU initialisation on the vCPU fd: CPUID, MSRs, FPU, LAPIC LVTs, and
 * for the BSP (index 0) the registers for the boot entry. */
int x86_vcpu_init(int vcpu_fd, const struct x86_cpuid *supported,
		  unsigned ncpus, unsigned index, const struct boot_result *boot,
		  struct bs_err *e);

#endif
