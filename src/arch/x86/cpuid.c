#include <string.h>
#include <sys/ioctl.h>

#include "basalt/x86/cpu.h"

unsigned x86_core_shift(unsigned ncpus)
{
	unsigned s = 0;

	while ((1u << s) < ncpus)
		s++;
	return s;
}

struct kvm_cpuid_entry2 *x86_cpuid_find(struct x86_cpuid *c, uint32_t fn,
					uint32_t idx)
{
	for (unsigned i = 0; i < c->hdr.nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->e[i];

		if (e->function == fn &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == idx))
			return e;
	}
	return NULL;
}

static struct kvm_cpuid_entry2 *add_entry(struct x86_cpuid *c, uint32_t fn,
					  uint32_t idx)
{
	struct kvm_cpuid_entry2 *e;

	if (c->hdr.nent >= X86_MAX_CPUID_ENTRIES)
		return NULL;
	e = &c->e[c->hdr.nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	return e;
}

/* Intel SDM vol. 2A, CPUID leaf 0BH / 1FH: level 0 = SMT (1 thread per
 * core here), level 1 = core (ncpus per package), then an invalid level. */
static void topology_leaf(struct x86_cpuid *c, uint32_t fn, unsigned ncpus,
			  unsigned apic_id)
{
	const unsigned shift = x86_core_shift(ncpus);
	const uint32_t levels[3][4] = {
		{ 0, 1, (1u << 8) | 0, apic_id },
		{ shift, ncpus, (2u << 8) | 1, apic_id },
		{ 0, 0, 2, apic_id },
	};

	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = NULL;

		for (unsigned i = 0; i < c->hdr.nent; i++)
			if (c->e[i].function == fn && c->e[i].index == sub)
				e = &c->e[i];
		if (!e)
			e = add_entry(c, fn, sub);
		if (!e)
			return;
		e->flags |= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->eax = levels[sub][0];
		e->ebx = levels[sub][1];
		e->ecx = levels[sub][2];
		e->edx = levels[sub][3];
	}
}

void x86_cpuid_patch(struct x86_cpuid *c, unsigned ncpus, unsigned index)
{
	struct kvm_cpuid_entry2 *e;
	uint32_t max_basic = 0;

	e = x86_cpuid_find(c, 0, 0);
	if (e)
		max_basic = e->eax;

	e = x86_cpuid_find(c, 1, 0);
	if (e) {
		/* EBX: [31:24] initial APIC id, [23:16] logical processors
		 * per package, [15:8] CLFLUSH line size in 8-byte units. */
		e->ebx = (index << 24) | ((ncpus & 0xff) << 16) | (8u << 8);
		e->ecx |= 1u << 31;                     /* hypervisor present */
		e->ecx &= ~(1u << 5);                   /* VMX */
		if (ncpus > 1)
			e->edx |= 1u << 28;             /* HTT: ebx[23:16] valid */
		else
			e->edx &= ~(1u << 28);
	}

	/* Leaf 4: EAX[31:26] = cores per package - 1, EAX[25:14] = threads
	 * sharing the cache - 1 (L1/L2 per core, L3 shared by all). */
	for (unsigned i = 0; i < c->hdr.nent; i++) {
		struct kvm_cpuid_entry2 *l4 = &c->e[i];
		unsigned level = (l4->eax >> 5) & 7, sharing;

		if (l4->function != 4 || (l4->eax & 0x1f) == 0)
			continue;
		sharing = level >= 3 ? ncpus : 1;
		l4->eax &= 0x3fff;
		l4->eax |= ((ncpus - 1) & 0x3f) << 26;
		l4->eax |= ((sharing - 1) & 0xfff) << 14;
	}

	topology_leaf(c, 0xb, ncpus, index);
	if (max_basic >= 0x1f)
		topology_leaf(c, 0x1f, ncpus, index);
	if (max_basic < 0xb && (e = x86_cpuid_find(c, 0, 0)))
		e->eax = 0xb;                           /* expose leaf 0xB */

	/* No nested virtualization for basalt guests: hide VMX and SVM. */
	e = x86_cpuid_find(c, 0x80000001, 0);
	if (e)
		e->ecx &= ~(1u << 2);                   /* SVM */

	e = x86_cpuid_find(c, 0x80000008, 0);
	if (e) {
		/* AMD: ECX[7:0] = cores - 1, [15:12] = APIC id size. */
		e->ecx = (e->ecx & ~0xf0ffu) | ((ncpus - 1) & 0xff) |
			 (x86_core_shift(ncpus) << 12);
	}
}

int x86_cpuid_get_supported(int kvm_fd, struct x86_cpuid *c, struct bs_err *e)
{
	memset(c, 0, sizeof(*c));
	c->hdr.nent = X86_MAX_CPUID_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &c->hdr) < 0)
		return bs_errf(e, errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	return 0;
}
