/* Guest virtual -> guest physical translation by walking the guest's page
 * tables from CR3 (used for error reports and instruction fallbacks, never
 * on a fast path).  Handles paging off, 32-bit, PAE and 4/5-level long mode
 * with large pages.  Every table read goes through the checked accessor. */
#ifndef BASALT_X86_PAGEWALK_H
#define BASALT_X86_PAGEWALK_H

#include <stdint.h>

#include <linux/kvm.h>

#include "basalt/guest_mem.h"

/* Returns 0 and sets *gpa, or -EFAULT (not present / table outside RAM). */
int x86_gva_to_gpa(const struct guest_mem *gm, const struct kvm_sregs *s,
		   uint64_t gva, uint64_t *gpa);
/* Copies len bytes at gva (may cross pages).  Returns bytes copied. */
uint64_t x86_read_gva(const struct guest_mem *gm, const struct kvm_sregs *s,
		      uint64_t gva, void *dst, uint64_t len);
uint64_t x86_write_gva(const struct guest_mem *gm, const struct kvm_sregs *s,
		       uint64_t gva, const void *src, uint64_t len);

#endif
