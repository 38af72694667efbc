/* vCPU threads: KVM_RUN in a loop, exits dispatched through a table indexed
 * by exit reason (bhyve style).  A handler returns 0 to re-enter the guest
 * or non-zero once it has stopped the VM. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "basalt/exitcode.h"
#include "basalt/log.h"
#include "basalt/sandbox.h"
#include "basalt/vm.h"
#include "basalt/x86/emulate.h"
#include "basalt/x86/pagewalk.h"

#define KICK_SIGNAL SIGUSR1
#define UNHANDLED_LOG_LIMIT 10

static void kick_handler(int sig)
{
	(void)sig;    /* only interrupts KVM_RUN with EINTR */
}

void vcpu_install_kick_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigaction(KICK_SIGNAL, &sa, NULL);
}

void vcpu_kick(struct vcpu *v)
{
	/* immediate_exit covers a kick that lands before the thread enters
	 * KVM_RUN; the signal covers one already inside. */
	if (v->run)
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (v->started)
		pthread_kill(v->thread, KICK_SIGNAL);
}

/* Unclaimed accesses behave as on a PC (reads all-ones, writes dropped).
 * Port I/O probing of absent legacy devices is normal for a booting kernel,
 * so it is logged at debug level; unmapped MMIO is worth a warning.  Both
 * are rate limited so a hostile guest cannot flood the log. */
static void note_unhandled(struct vcpu *v, const char *bus, bool is_write,
			   uint64_t addr, unsigned len, atomic_uint_fast64_t *count)
{
	uint64_t n = atomic_fetch_add(count, 1) + 1;

	if (n <= UNHANDLED_LOG_LIMIT)
		bs_log(count == &v->vm->unhandled_pio ? BS_LOG_DEBUG : BS_LOG_WARN,"vCPU %u: %s %s of %u bytes at unmapped address 0x%llx "
			 "(%s)%s", v->index, bus, is_write ? "write" : "read", len,
			 (unsigned long long)addr,
			 is_write ? "ignored" : "reads as all-ones",
			 n == UNHANDLED_LOG_LIMIT ? "; further ones not logged" : "");
}

static int exit_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* data_offset/size/count come from the kernel, not the guest, but
	 * check them against the mapping all the same. */
	if (run->io.data_offset + (uint64_t)run->io.size * run->io.count >
	    (uint64_t)v->vm->run_size)
		return 0;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (!bus_dispatch(&v->vm->pio, is_write, run->io.port, data,
				  run->io.size))
			note_unhandled(v, "port I/O", is_write, run->io.port,
				       run->io.size, &v->vm->unhandled_pio);
	}
	return 0;
}

static int exit_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (run->mmio.len > sizeof(run->mmio.data))
		return 0;
	if (!bus_dispatch(&v->vm->mmio, run->mmio.is_write, run->mmio.phys_addr,
			  run->mmio.data, run->mmio.len))
		note_unhandled(v, "MMIO", run->mmio.is_write, run->mmio.phys_addr,
			       run->mmio.len, &v->vm->unhandled_mmio);
	return 0;
}

static int exit_shutdown(struct vcpu *v)
{
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		memset(&r, 0, sizeof(r));
	vm_stop(v->vm, BS_EXIT_SHUTDOWN,
		"vCPU %u: triple fault (shutdown) at RIP 0x%llx", v->index,
		(unsigned long long)r.rip);
	return 1;
}

static int exit_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_stop(v->vm, BS_EXIT_POWEROFF, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_stop(v->vm, BS_EXIT_RESET, "guest reset");
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		vm_stop(v->vm, BS_EXIT_RESET, "guest crashed");
		break;
	default:
		vm_stop(v->vm, BS_EXIT_ERROR, "vCPU %u: unknown system event %u",
			v->index, v->run->system_event.type);
	}
	return 1;
}

static int write_back(struct vcpu *v, struct x86_vcpu_state *st)
{
	if (st->regs_dirty && ioctl(v->fd, KVM_SET_REGS, &st->regs) < 0)
		return -errno;
	if (st->fpu_dirty && ioctl(v->fd, KVM_SET_FPU, &st->fpu) < 0)
		return -errno;
	if (st->inject) {
		struct kvm_vcpu_events ev;

		if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
			return -errno;
		ev.exception.injected = 1;
		ev.exception.nr = st->inject_vector;
		ev.exception.has_error_code = st->inject_has_error;
		ev.exception.error_code = st->inject_error;
		ev.flags = 0;
		if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
			return -errno;
	}
	return 0;
}

/* KVM_EXIT_INTERNAL_ERROR: on hosts whose emulator has gaps, try the
 * fallback table; otherwise (or if it does not know the instruction)
 * report RIP and the instruction bytes and stop. */
static int exit_internal_error(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct x86_vcpu_state st;
	struct fallback_info info;
	enum fallback_result fr = FALLBACK_UNKNOWN;
	char bytes[3 * X86_MAX_INSN + 1], gpa[24];
	int r;

	memset(&st, 0, sizeof(st));
	memset(&info, 0, sizeof(info));
	if (ioctl(v->fd, KVM_GET_REGS, &st.regs) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &st.sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_FPU, &st.fpu) < 0) {
		vm_stop(v->vm, BS_EXIT_ERROR, "vCPU %u: internal error %u and "
			"cannot read registers: %s", v->index,
			run->internal.suberror, strerror(errno));
		return 1;
	}
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    v->vm->cfg->host_quirks) {
		fr = x86_fallback(&v->vm->mem, &st, &info);
		if (fr == FALLBACK_DONE) {
			r = write_back(v, &st);
			if (r == 0) {
				v->fallbacks++;
				log_debug("vCPU %u: bridged '%s' at RIP 0x%llx", v->index,
					  info.name, (unsigned long long)st.regs.rip);
				return 0;
			}
			vm_stop(v->vm, BS_EXIT_ERROR, "vCPU %u: fallback for '%s' "
				"failed: %s", v->index, info.name, strerror(-r));
			return 1;
		}
	} else {
		info.nbytes = x86_fetch_insn(&v->vm->mem, &st.sregs, st.regs.rip,
					     info.bytes, &info.rip_gpa);
	}
	x86_format_bytes(info.bytes, info.nbytes, bytes, sizeof(bytes));
	if (info.rip_gpa == UINT64_MAX)
		snprintf(gpa, sizeof(gpa), "unmapped");
	else
		snprintf(gpa, sizeof(gpa), "0x%llx", (unsigned long long)info.rip_gpa);
	vm_stop(v->vm, BS_EXIT_EMULATION,
		"vCPU %u: %s (internal error %u) at RIP 0x%llx (gpa %s, CPL %u): "
		"bytes %s", v->index,
		run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
		"instruction emulation failed" : "KVM internal error",
		run->internal.suberror, (unsigned long long)st.regs.rip, gpa,
		st.sregs.cs.selector & 3, info.nbytes ? bytes : "(unreadable)");
	return 1;
}

static int exit_fail_entry(struct vcpu *v)
{
	vm_stop(v->vm, BS_EXIT_ERROR, "vCPU %u: KVM entry failed, hardware reason "
		"0x%llx", v->index,
		(unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
	return 1;
}

static int exit_hlt(struct vcpu *v)
{
	/* Only seen without an in-kernel LAPIC; treat a halted BSP with
	 * nothing to wake it as a hang. */
	(void)v;
	return 0;
}

static int exit_ignore(struct vcpu *v)
{
	(void)v;
	return 0;
}

static int (*const exit_handlers[])(struct vcpu *) = {
	[KVM_EXIT_IO] = exit_io,
	[KVM_EXIT_MMIO] = exit_mmio,
	[KVM_EXIT_HLT] = exit_hlt,
	[KVM_EXIT_SHUTDOWN] = exit_shutdown,
	[KVM_EXIT_SYSTEM_EVENT] = exit_system_event,
	[KVM_EXIT_INTERNAL_ERROR] = exit_internal_error,
	[KVM_EXIT_FAIL_ENTRY] = exit_fail_entry,
	[KVM_EXIT_INTR] = exit_ignore,
	[KVM_EXIT_IRQ_WINDOW_OPEN] = exit_ignore,
};

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;
	char name[16];
	struct bs_err err;

	snprintf(name, sizeof(name), "vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (sandbox_enter(SB_ROLE_VCPU, vm_sb_mode(vm->cfg), &err)) {
		vm_stop(vm, BS_EXIT_ERROR, "vCPU %u: %s", v->index, err.msg);
		return NULL;
	}

	while (!atomic_load(&vm->stopping)) {
		uint32_t reason;
		int r;

		/* Paused (control socket): park here, outside every device. */
		if (atomic_load(&vm->pause.req)) {
			vm_vcpu_park(vm);
			continue;
		}
		r = ioctl(v->fd, KVM_RUN, 0);

		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&v->run->immediate_exit, 0,
						 __ATOMIC_SEQ_CST);
				continue;
			}
			vm_stop(vm, BS_EXIT_ERROR, "vCPU %u: KVM_RUN: %s", v->index,
				strerror(errno));
			break;
		}
		v->exits++;
		reason = v->run->exit_reason;
		if (reason < sizeof(exit_handlers) / sizeof(exit_handlers[0]) &&
		    exit_handlers[reason]) {
			if (exit_handlers[reason](v))
				break;
		} else {
			vm_stop(vm, BS_EXIT_ERROR, "vCPU %u: unexpected KVM exit reason %u",
				v->index, reason);
			break;
		}
	}
	return NULL;
}

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned index, struct bs_err *e)
{
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0)
		return bs_errf(e, errno, "vCPU %u: KVM_CREATE_VCPU: %s", index,
			       strerror(errno));
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return bs_errf(e, errno, "vCPU %u: mmap kvm_run: %s", index,
			       strerror(errno));
	}
	return x86_vcpu_init(v->fd, &vm->cpuid, vm->ncpus, index, &vm->boot, e);
}

int vcpu_start(struct vcpu *v, struct bs_err *e)
{
	int r = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (r)
		return bs_errf(e, r, "vCPU %u: cannot start thread: %s", v->index,
			       strerror(r));
	v->started = true;
	return 0;
}
