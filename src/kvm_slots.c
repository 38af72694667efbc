/* KVM memory slots for device memory: see include/basalt/kvm_slots.h. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "basalt/kvm_slots.h"
#include "basalt/log.h"

#define PAGE 4096ull

void kvm_slots_init(struct kvm_slots *s, int vm_fd, unsigned first, unsigned limit)
{
	memset(s, 0, sizeof(*s));
	s->vm_fd = vm_fd;
	s->first = first;
	s->limit = limit > KVM_SLOTS_MAX ? KVM_SLOTS_MAX : limit;
	pthread_mutex_init(&s->lock, NULL);
}

static int set_region(struct kvm_slots *s, unsigned slot, uint64_t gpa,
		      uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region mr = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (s->vm_fd < 0)
		return 0;
	return ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0 ? -errno : 0;
}

int kvm_slot_map(struct kvm_slots *s, uint64_t gpa, uint64_t size, void *hva,
		 struct bs_err *e)
{
	int r = -ENOSPC;

	if (!size || (gpa | size | (uintptr_t)hva) & (PAGE - 1) || gpa + size < gpa)
		return bs_errf(e, EINVAL, "memory slot 0x%llx+0x%llx: not page aligned",
			       (unsigned long long)gpa, (unsigned long long)size);
	pthread_mutex_lock(&s->lock);
	for (unsigned i = s->first; i < s->limit; i++) {
		if (s->used[i])
			continue;
		r = set_region(s, i, gpa, size, hva);
		if (!r) {
			s->used[i] = true;
			s->gpa[i] = gpa;
			s->size[i] = size;
			r = (int)i;
		}
		break;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		bs_errf(e, -r, "memory slot at 0x%llx (%llu KiB): %s",
			(unsigned long long)gpa, (unsigned long long)(size >> 10),
			r == -ENOSPC ? "no free KVM memory slot" : strerror(-r));
	return r;
}

void kvm_slot_unmap(struct kvm_slots *s, int slot)
{
	int r;

	if (slot < (int)s->first || slot >= (int)s->limit)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->used[slot]) {
		/* Size 0 deletes the slot (KVM API 4.35). */
		r = set_region(s, (unsigned)slot, s->gpa[slot], 0, NULL);
		if (r)
			log_warn("memory slot %d at 0x%llx: delete: %s", slot,
				 (unsigned long long)s->gpa[slot], strerror(-r));
		s->used[slot] = false;
	}
	pthread_mutex_unlock(&s->lock);
}

unsigned kvm_slots_in_use(struct kvm_slots *s)
{
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = s->first; i < s->limit; i++)
		n += s->used[i];
	pthread_mutex_unlock(&s->lock);
	return n;
}
