/* Host quirks: detecting hosts whose KVM needs the VMM's help.
 *
 * PVM (kvm_pvm; clouds without nested virtualization): guest ring 0 is run
 * by KVM's instruction emulator, which lacks some instructions (bridged by
 * x86_fallback(), emulate.c), and guest CPUID ignores most of
 * KVM_SET_CPUID2, so a Linux guest must be told on its command line not to
 * use the features the emulator cannot run (measured; ../shared/README.md).
 */
#ifndef BASALT_X86_HOST_H
#define BASALT_X86_HOST_H

#include <stdbool.h>

/* Guest cmdline additions for Linux guests on a PVM host. */
#define X86_PVM_LINUX_CMDLINE                                                  \
	"noxsave nopv clearcpuid=smap,pku,popcnt,fsgsbase,rdrand,rdseed,rdpid,"  \
	"bmi1,bmi2,avx,avx2,avx512f,movbe,abm,sse4_2,aes,pclmulqdq,sha_ni"

/* true if /sys/module/kvm_pvm exists (root may be overridden for tests). */
bool x86_host_is_pvm(const char *sysfs_root);

/* Every Linux guest: our ACPI is hardware-reduced and there is no EFI, so
 * Linux's default reboot method would be EFI, then a BIOS call that cannot
 * work; ACPI reset (then the keyboard controller) is what we provide. */
#define X86_LINUX_PLATFORM_CMDLINE "reboot=acpi"

/* Returns a malloc'd command line: base plus, for Linux guests, the
 * platform options and, on PVM hosts, the PVM additions and (tsc_khz > 0)
 * `tsc_early_khz=`: with `nopv` there is no kvmclock to tell the guest the
 * TSC rate, and HW-reduced ACPI has no PIT to calibrate against, so without
 * it Linux marks the TSC unusable, gets no LAPIC timer and spins forever in
 * calibrate_delay() waiting for a tick (measured).  An option the user
 * already gave (same name before '=') is not repeated.  NULL on OOM. */
char *x86_host_adapt_cmdline(const char *base, bool pvm, bool is_linux,
			     unsigned tsc_khz);

#endif
