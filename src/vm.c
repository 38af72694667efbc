/* VM builder and main loop. */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "basalt/devices/misc.h"
#include "basalt/devices/rtc.h"
#include "basalt/devices/serial.h"
#include "basalt/exitcode.h"
#include "basalt/log.h"
#include "basalt/sandbox.h"
#include "basalt/vm.h"
#include "basalt/x86/acpi.h"
#include "basalt/x86/host.h"

#define KVM_TSS_ADDR 0xfffbd000ul

void vm_stop(struct vm *vm, int exit_code, const char *fmt, ...)
{
	va_list ap;
	uint64_t one = 1;

	pthread_mutex_lock(&vm->stop_lock);
	if (atomic_load(&vm->stopping)) {
		pthread_mutex_unlock(&vm->stop_lock);
		return;
	}
	vm->exit_code = exit_code;
	va_start(ap, fmt);
	vsnprintf(vm->why, sizeof(vm->why), fmt, ap);
	va_end(ap);
	atomic_store(&vm->stopping, true);
	pthread_mutex_unlock(&vm->stop_lock);

	if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
		/* the main loop also polls the flag */
	}
	for (unsigned i = 0; i < vm->ncpus && vm->vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	vm_pause_wake(vm);
}

/* Stops requested by the guest through a device are the expected way for
 * a VM to end: logged at info level, not as warnings. */
static void ctl_stop(void *ctx, int code, const char *why)
{
	struct vm *vm = ctx;

	vm_stop(vm, code, "%s", why);
	pthread_mutex_lock(&vm->stop_lock);
	if (!strcmp(vm->why, why))
		vm->guest_requested = true;
	pthread_mutex_unlock(&vm->stop_lock);
}

static void irq_line_kvm(void *ctx, unsigned gsi, int level)
{
	struct vm *vm = ctx;
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		log_warn("KVM_IRQ_LINE %u: %s", gsi, strerror(errno));
}

static int kvm_open(struct vm *vm, struct bs_err *e)
{
	int ver;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return bs_errf(e, errno, "/dev/kvm: %s%s", strerror(errno),
			       errno == ENOENT ? " (no KVM on this host: is the kvm "
			       "module loaded and virtualization enabled?)" : "");
	ver = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		return bs_errf(e, ENOTSUP, "/dev/kvm: API version %d, need %d", ver,
			       KVM_API_VERSION);
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0)
		return bs_errf(e, ENOTSUP, "/dev/kvm: host KVM lacks a required "
			       "capability (immediate exit, irqchip, user memory)");
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return bs_errf(e, errno, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return bs_errf(e, errno, "KVM_CREATE_VM: %s", strerror(errno));
	return 0;
}

static int setup_memory(struct vm *vm, struct bs_err *e)
{
	int r = x86_layout_compute(vm->cfg->memory, &vm->layout, e);

	if (r == 0)
		r = gm_init(&vm->mem, vm->cfg->memory, e);
	if (r == 0)
		r = x86_layout_apply(&vm->layout, &vm->mem, e);
	for (unsigned i = 0; r == 0 && i < vm->mem.nr; i++) {
		struct kvm_userspace_memory_region mr = {
			.slot = i,
			.guest_phys_addr = vm->mem.r[i].gpa,
			.memory_size = vm->mem.r[i].size,
			.userspace_addr = (uintptr_t)vm->mem.r[i].hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
			r = bs_errf(e, errno, "KVM_SET_USER_MEMORY_REGION %u: %s", i,
				    strerror(errno));
	}
	return r;
}

static int setup_irqchip(struct vm *vm, struct bs_err *e)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	/* Intel VMX needs a TSS region below 4 GiB; others ignore it. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		log_debug("KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return bs_errf(e, errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return bs_errf(e, errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	return 0;
}

static int setup_devices(struct vm *vm, struct bs_err *e)
{
	struct irq_line com1 = { irq_line_kvm, vm, SERIAL_COM1_IRQ };
	uint64_t high = vm->layout.high_ram_end ? vm->layout.high_ram_end - X86_4G : 0;
	int r;

	vm->ctl = (struct vm_ctl){ ctl_stop, vm };
	bus_init(&vm->pio, "port I/O");
	bus_init(&vm->mmio, "MMIO");
	pci_bus_init(&vm->pci);

	vm->serial = serial_new(console_sink, &vm->console, com1);
	vm->rtc = rtc_new(NULL, vm->layout.low_ram_end, high);
	if (!vm->serial || !vm->rtc)
		return bs_errf(e, ENOMEM, "devices: out of memory");

	r = bus_register(&vm->pio, SERIAL_COM1_BASE, 8, &serial_ops, vm->serial, e);
	if (!r)
		r = bus_register(&vm->pio, RTC_PORT_BASE, 2, &rtc_ops, vm->rtc, e);
	if (!r)
		r = bus_register(&vm->pio, 0x60, 1, &i8042_ops, &vm->ctl, e);
	if (!r)
		r = bus_register(&vm->pio, 0x64, 1, &i8042_ops, &vm->ctl, e);
	if (!r)
		r = bus_register(&vm->pio, 0x80, 1, &port80_ops, &vm->ctl, e);
	if (!r)
		r = bus_register(&vm->pio, ACPI_SLEEP_CTRL_PORT, 3, &acpi_pm_ops,
				 &vm->ctl, e);
	if (!r)
		r = bus_register(&vm->pio, PCI_CFG_ADDR_PORT, 8, &pci_cam_ops,
				 &vm->pci, e);
	if (!r)
		r = bus_register(&vm->mmio, X86_ECAM_BASE, X86_ECAM_SIZE,
				 &pci_ecam_ops, &vm->pci, e);
	vm->pci_w32 = (struct pci_window){ &vm->pci, X86_MMIO32_START, X86_MMIO32_SIZE };
	vm->pci_w64 = (struct pci_window){ &vm->pci, vm->layout.mmio64_base,
					   X86_MMIO64_SIZE };
	if (!r)
		r = bus_register(&vm->mmio, vm->pci_w32.base, vm->pci_w32.size,
				 &pci_window_ops, &vm->pci_w32, e);
	if (!r)
		r = bus_register(&vm->mmio, vm->pci_w64.base, vm->pci_w64.size,
				 &pci_window_ops, &vm->pci_w64, e);
	if (!r)
		r = vm_disks_create(vm, e);
	if (!r)
		r = vm_nets_create(vm, e);
	if (!r)
		r = vm_pt_create(vm, e);
	if (!r)
		r = vm_balloon_create(vm, e);
	/* PCI devices are added above this line; then BARs get addresses. */
	if (!r)
		r = pci_bus_assign_bars(&vm->pci, &vm->pci_w32, &vm->pci_w64, e);
	if (!r)
		r = vm_pt_check_reach(vm, e);
	if (!r && vm->cfg->exit_dev.enabled)
		r = bus_register(&vm->pio, vm->cfg->exit_dev.port, 1, &exit_dev_ops,
				 &vm->ctl, e);
	return r;
}

int vm_io_thread_enter(void *opaque)
{
	struct vm *vm = opaque;
	struct bs_err e;

	if (sandbox_enter(SB_ROLE_IO, vm_sb_mode(vm->cfg), &e)) {
		vm_stop(vm, BS_EXIT_ERROR, "%s", e.msg);
		return -1;
	}
	return 0;
}

int vm_irq_router(struct vm *vm, struct bs_err *e)
{
	int r;

	if (vm->irq_router)
		return 0;
	r = kvm_irq_router_init(&vm->irq, vm->vm_fd, e);
	if (!r)
		vm->irq_router = true;
	return r;
}

static int setup_firmware_and_kernel(struct vm *vm, struct bs_err *e)
{
	struct acpi_params ap = {
		.ncpus = vm->ncpus, .ioapic_addr = IOAPIC_BASE, .sci_irq = 9,
		.ecam_base = X86_ECAM_BASE, .ecam_bus_end = 255,
		.pci_mem32_base = vm->pci_w32.base, .pci_mem32_size = vm->pci_w32.size,
		.pci_mem64_base = vm->pci_w64.base, .pci_mem64_size = vm->pci_w64.size,
		.pwrbtn_gsi = ACPI_PWRBTN_GSI,
	};
	struct acpi_layout al;
	void *acpi = gm_ptr(&vm->mem, X86_ACPI_BASE, X86_ACPI_SIZE);
	struct boot_params_in in = {
		.kernel_path = vm->cfg->kernel,
		.initrd_path = vm->cfg->initrd,
		.cmdline = vm->cfg->cmdline,
	};
	char *cmdline = NULL;
	unsigned tsc_khz = 0;
	int r;

	if (!acpi)
		return bs_errf(e, EFAULT, "no RAM for ACPI tables");
	r = acpi_build(acpi, X86_ACPI_BASE, X86_ACPI_SIZE, &ap, &al, e);
	if (r)
		return r;
	in.rsdp_gpa = al.rsdp_gpa;
	r = x86_load_kernel(&vm->mem, &vm->layout, &in, &vm->boot, e);
	if (r || !vm->boot.is_linux)
		return r;

	/* Linux guest: reload with the platform (and PVM host) command-line
	 * options; the kernel format is only known once it is parsed. */
	if (vm->pvm_host) {
		/* KVM_GET_TSC_KHZ on the VM fd: the rate every vCPU gets. */
		int khz = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0);

		if (khz > 0)
			tsc_khz = (unsigned)khz;
		else
			log_warn("KVM_GET_TSC_KHZ: %s; the guest must calibrate "
				 "its TSC itself", strerror(errno));
	}
	cmdline = x86_host_adapt_cmdline(vm->cfg->cmdline, vm->pvm_host, true,
					 tsc_khz);
	if (!cmdline)
		return bs_errf(e, ENOMEM, "cmdline: out of memory");
	log_info("Linux guest command line: %s", cmdline);
	in.cmdline = cmdline;
	r = x86_load_kernel(&vm->mem, &vm->layout, &in, &vm->boot, e);
	free(cmdline);
	return r;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, struct bs_err *e)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = vm->balloon.stats_efd = -1;
	vm->mem.memfd = -1;
	vm->ncpus = cfg->cpus;
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm_pause_init(vm);
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return bs_errf(e, errno, "eventfd: %s", strerror(errno));

	r = kvm_open(vm, e);
	if (r)
		return r;
	if (cfg->host_quirks && x86_host_is_pvm(NULL)) {
		vm->pvm_host = true;
		log_warn("PVM host detected (/sys/module/kvm_pvm): instruction "
			 "fallbacks on, Linux command-line workarounds on "
			 "(--no-host-quirks turns this off)");
	}
	r = x86_cpuid_get_supported(vm->kvm_fd, &vm->cpuid, e);
	if (!r)
		r = setup_memory(vm, e);
	if (!r)
		r = setup_irqchip(vm, e);
	if (!r)
		r = console_open(&vm->console, cfg, e);
	vm->console.stopping = &vm->stopping;
	if (!r)
		r = setup_devices(vm, e);
	if (!r)
		r = setup_firmware_and_kernel(vm, e);
	if (r)
		return r;
	log_info("kernel %s: %s, %s entry at 0x%llx, initrd %llu bytes at 0x%llx",
		 cfg->kernel, vm->boot.format == KERNEL_ELF ? "ELF" : "bzImage",
		 vm->boot.entry_kind == BOOT_ENTRY_PVH ? "PVH" : "64-bit",
		 (unsigned long long)vm->boot.entry,
		 (unsigned long long)vm->boot.initrd_size,
		 (unsigned long long)vm->boot.initrd_start);

	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return bs_errf(e, ENOMEM, "vCPUs: out of memory");
	for (unsigned i = 0; i < vm->ncpus; i++) {
		r = vcpu_create(vm, &vm->vcpus[i], i, e);
		if (r)
			return r;
	}
	return vm_api_create(vm, e);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Main loop: waits for a stop request, a signal, console input or the
 * deadline.  vCPU threads do the rest. */
static void main_loop(struct vm *vm, int sfd)
{
	int64_t deadline = vm->cfg->timeout_s ?
			   now_ms() + (int64_t)vm->cfg->timeout_s * 1000 : 0;
	bool input = vm->console.in_fd >= 0;

	while (!atomic_load(&vm->stopping)) {
		struct pollfd p[3 + VM_API_POLLFDS] = {
			{ .fd = vm->stop_efd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = input ? vm->console.in_fd : -1, .events = POLLIN },
		};
		unsigned n;
		int timeout = -1;
		bool pending = console_flush_input(&vm->console, vm->serial);

		if (pending)
			timeout = 10;   /* wait for the guest to drain the FIFO */
		if (deadline) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				vm_stop(vm, BS_EXIT_TIMEOUT, "timeout: guest still "
					"running after %u s", vm->cfg->timeout_s);
				break;
			}
			if (left > INT_MAX)
				left = INT_MAX;  /* the loop comes round again */
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		if (pending && !vm->console.tty)
			p[2].fd = -1;
		n = 3 + vm_api_pollfds(vm, p + 3, VM_API_POLLFDS, &timeout);
		if (poll(p, n, timeout) < 0 && errno != EINTR) {
			vm_stop(vm, BS_EXIT_ERROR, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				vm_stop(vm, BS_EXIT_QUIT, "stopped by signal %s",
					strsignal((int)si.ssi_signo));
		}
		if (p[2].revents & (POLLIN | POLLHUP)) {
			input = console_read_input(&vm->console, vm->serial);
			if (vm->console.quit)
				vm_stop(vm, BS_EXIT_QUIT, "quit (Ctrl-A x)");
		}
		vm_api_dispatch(vm, p + 3, n - 3);
	}
}

enum sb_mode vm_sb_mode(const struct vm_config *cfg)
{
	return cfg->seccomp == SECCOMP_LOG ? SB_MODE_LOG :
	       cfg->seccomp == SECCOMP_OFF ? SB_MODE_OFF : SB_MODE_ON;
}

int vm_run(struct vm *vm, bool print_stats)
{
	int64_t t0 = now_ms();
	sigset_t set;
	int sfd;
	struct bs_err e;
	struct sb_jail jail = {
		.dir = vm->cfg->jail.dir,
		.uid = (uid_t)vm->cfg->jail.uid,
		.gid = (gid_t)vm->cfg->jail.gid,
		.set_ids = vm->cfg->jail.uid != BS_NO_ID,
	};

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);     /* inherited by vCPUs */
	sigdelset(&set, SIGUSR1);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	vcpu_install_kick_handler();

	/* Everything is open: jail, drop privileges, then each thread takes
	 * its seccomp filter (vCPUs at their start, main once they run). */
	if (sandbox_restrict_process(&jail, vm_sb_mode(vm->cfg), &e)) {
		vm_stop(vm, BS_EXIT_ERROR, "%s", e.msg);
	} else if (vm_disks_start(vm, &e) || vm_nets_start(vm, &e) ||
		   vm_balloon_start(vm, &e)) {
		vm_stop(vm, BS_EXIT_ERROR, "%s", e.msg);
	} else {
		for (unsigned i = 0; i < vm->ncpus; i++) {
			if (vcpu_start(&vm->vcpus[i], &e)) {
				vm_stop(vm, BS_EXIT_ERROR, "%s", e.msg);
				break;
			}
		}
		if (sandbox_enter(SB_ROLE_MAIN, vm_sb_mode(vm->cfg), &e))
			vm_stop(vm, BS_EXIT_ERROR, "%s", e.msg);
	}
	main_loop(vm, sfd);
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	vm_disks_quiesce(vm);
	vm_nets_quiesce(vm);
	vm_balloon_quiesce(vm);
	if (sfd >= 0)
		close(sfd);

	console_restore_terminal();
	if (vm->guest_requested || vm->exit_code == BS_EXIT_QUIT)
		log_info("%s", vm->why);
	else
		log_err("%s", vm->why);
	if (print_stats) {
		struct rusage ru;
		uint64_t exits = 0, fb = 0;

		getrusage(RUSAGE_SELF, &ru);
		for (unsigned i = 0; i < vm->ncpus; i++) {
			exits += vm->vcpus[i].exits;
			fb += vm->vcpus[i].fallbacks;
		}
		fprintf(stderr, "basalt: stats: wall_ms=%lld exits=%llu fallbacks=%llu "
			"unhandled_pio=%llu unhandled_mmio=%llu console_bytes=%llu "
			"max_rss_kib=%ld exit_status=%d\n",
			(long long)(now_ms() - t0), (unsigned long long)exits,
			(unsigned long long)fb,
			(unsigned long long)atomic_load(&vm->unhandled_pio),
			(unsigned long long)atomic_load(&vm->unhandled_mmio),
			(unsigned long long)vm->console.bytes_out, ru.ru_maxrss,
			vm->exit_code);
		vm_nets_report(vm);
	}
	return vm->exit_code;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd > 0)
			close(v->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm_api_destroy(vm);
	vm_balloon_destroy(vm);
	vm_nets_destroy(vm);
	vm_disks_destroy(vm);
	vm_pt_destroy(vm);
	if (vm->irq_router)
		kvm_irq_router_destroy(&vm->irq);
	vm->irq_router = false;
	if (vm->serial)
		serial_free(vm->serial);
	if (vm->rtc)
		rtc_free(vm->rtc);
	console_close(&vm->console);
	gm_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
}
