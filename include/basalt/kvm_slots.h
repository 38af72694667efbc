/* KVM memory slots beyond guest RAM: host memory (mmapped device BARs)
 * placed at guest-physical addresses that move at run time.
 *
 * RAM takes slots 0..GM_MAX_REGIONS-1 (vm.c); this hands out the ones
 * after.  Slots change on vCPU threads when the guest moves a BAR or turns
 * memory decoding off (KVM_SET_USER_MEMORY_REGION, which the vCPU seccomp
 * filter allows when passthrough devices exist).  KVM refuses a slot that
 * overlaps another (RAM, another BAR): the caller then leaves that range
 * to trap. */
#ifndef BASALT_KVM_SLOTS_H
#define BASALT_KVM_SLOTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "basalt/err.h"

#define KVM_SLOTS_MAX 256

struct kvm_slots {
	int vm_fd;                 /* -1: bookkeeping only (unit tests) */
	unsigned first, limit;     /* slot numbers first..limit-1 */
	pthread_mutex_t lock;
	bool used[KVM_SLOTS_MAX];
	uint64_t gpa[KVM_SLOTS_MAX], size[KVM_SLOTS_MAX];
};

/* limit: KVM_CAP_NR_MEMSLOTS (capped at KVM_SLOTS_MAX). */
void kvm_slots_init(struct kvm_slots *s, int vm_fd, unsigned first, unsigned limit);
/* Maps [hva, hva + size) at gpa (both page aligned): the slot number, or
 * -ENOSPC / -EINVAL / -errno from KVM (-EEXIST: overlaps a slot). */
int kvm_slot_map(struct kvm_slots *s, uint64_t gpa, uint64_t size, void *hva,
		 struct bs_err *e);
/* Removes a slot kvm_slot_map returned. */
void kvm_slot_unmap(struct kvm_slots *s, int slot);
unsigned kvm_slots_in_use(struct kvm_slots *s);

#endif
