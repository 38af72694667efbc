/* A VM: built once from a validated struct vm_config, run to completion.
 *
 * vm_create() opens /dev/kvm, lays out guest memory, loads the kernel,
 * builds firmware tables and registers devices; vm_run() starts one thread
 * per vCPU and waits in the main loop (console input, signals, timeout)
 * until something stops the VM; its result is basalt's exit status. */
#ifndef BASALT_VM_H
#define BASALT_VM_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "basalt/bus.h"
#include "basalt/config.h"
#include "basalt/console.h"
#include "basalt/devices/pci.h"
#include "basalt/err.h"
#include "basalt/guest_mem.h"
#include "basalt/kvm_irq.h"
#include "basalt/kvm_slots.h"
#include "basalt/vmctl.h"
#include "basalt/x86/boot.h"
#include "basalt/x86/cpu.h"
#include "basalt/x86/layout.h"

struct serial;
struct rtc;
struct io_loop;
struct blk_backend;
struct virtio_blk;
struct pt_dev;

/* One virtio-blk disk: its I/O thread, image and device. */
struct vm_disk {
	struct io_loop *loop;
	struct blk_backend *backend;
	struct virtio_blk *dev;
};

/* One virtio-net device: its tap queues, one I/O thread per queue pair. */
struct virtio_net;
struct vm_net {
	unsigned pairs;
	int fds[BS_NET_MAX_QUEUES];
	struct io_loop *loops[BS_NET_MAX_QUEUES];
	uint8_t mac[6];
	struct virtio_net *dev;
};

/* The virtio-balloon and its I/O thread (vm_balloon.c). */
struct virtio_balloon;
struct vm_balloon {
	struct io_loop *loop;
	struct virtio_balloon *dev;
	int stats_efd;          /* the device signals new guest statistics */
};

/* Pause (control socket, vm_api.c): while req is set, vCPU threads park
 * before entering KVM_RUN; the pauser kicks them and waits until all are
 * parked; vm_stop() wakes them so they can exit. */
struct vm_pause {
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* parked vCPUs and the pauser wait here */
	atomic_bool req;
	unsigned parked;
	bool ready;             /* lock and cond initialised */
};
struct vm_api;

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits;
	uint64_t fallbacks;
};

struct vm_stats {
	uint64_t exits, io_exits, mmio_exits, fallbacks;
	uint64_t unhandled_pio, unhandled_mmio;
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd, vm_fd;
	int run_size;
	bool pvm_host;          /* host quirks detected and enabled */
	struct guest_mem mem;
	struct x86_layout layout;
	struct boot_result boot;
	struct x86_cpuid cpuid;
	struct bus pio, mmio;
	struct pci_bus pci;
	struct pci_window pci_w32, pci_w64;   /* where BARs decode */
	struct kvm_irq_router irq;            /* MSI routes, once a device needs them */
	bool irq_router;
	unsigned ndisks;
	struct vm_disk disks[BS_MAX_DISKS];
	unsigned nnets;
	struct vm_net nets[BS_MAX_NETS];
	unsigned npt;
	struct pt_dev *pt[BS_MAX_DEVICES];    /* passthrough, slots 26.. */
	struct kvm_slots slots;               /* their mmapped BARs */
	struct vm_balloon balloon;
	struct vm_pause pause;
	struct vm_api *api;
	struct console console;
	struct serial *serial;
	struct rtc *rtc;
	struct vm_ctl ctl;
	struct vcpu *vcpus;
	unsigned ncpus;

	/* Stop protocol: the first vm_stop() sets exit_code/why, marks
	 * stopping, wakes the main loop (stop_efd) and kicks every vCPU out
	 * of KVM_RUN (immediate_exit + SIGUSR1). */
	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	int exit_code;
	char why[512];
	bool guest_requested;   /* ended through a guest device (poweroff, ...) */
	int stop_efd;

	atomic_uint_fast64_t unhandled_pio, unhandled_mmio;
};

int vm_create(struct vm *vm, const struct vm_config *cfg, struct bs_err *e);
/* Returns the process exit status (enum bs_exit or an exit-device value). */
int vm_run(struct vm *vm, bool print_stats);
void vm_destroy(struct vm *vm);
void vm_stop(struct vm *vm, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum sb_mode;
enum sb_mode vm_sb_mode(const struct vm_config *cfg);

/* vm_disks.c: disks from cfg->disks on PCI slots 1.., their I/O threads
 * started before the vCPUs, quiesced (in-flight requests finished) once
 * the vCPUs are gone, then stopped and freed. */
int vm_disks_create(struct vm *vm, struct bs_err *e);
int vm_disks_start(struct vm *vm, struct bs_err *e);
void vm_disks_quiesce(struct vm *vm);
void vm_disks_destroy(struct vm *vm);

/* vm_nets.c: nets from cfg->nets on PCI slots 17.., like the disks; taps
 * opened (and, for queue pairs past the first, detached) at create. */
int vm_nets_create(struct vm *vm, struct bs_err *e);
int vm_nets_start(struct vm *vm, struct bs_err *e);
void vm_nets_quiesce(struct vm *vm);
void vm_nets_report(struct vm *vm);   /* --stats lines */
void vm_nets_destroy(struct vm *vm);

/* vm_pt.c: passthrough devices from cfg->devices on PCI slots 26...
 * vm_pt_open() opens the backends (connects vfio-user sockets, opens VFIO
 * groups) before any VM exists, so user errors end basalt with status 2;
 * vm_pt_create() builds the devices (opening what vm_pt_open did not);
 * vm_pt_check_reach() checks, once BARs have addresses, that the guest's
 * physical address width covers them all. */
int vm_pt_open(const struct vm_config *cfg, struct bs_err *e);
void vm_pt_close_opened(void);
int vm_pt_create(struct vm *vm, struct bs_err *e);
int vm_pt_check_reach(struct vm *vm, struct bs_err *e);
void vm_pt_destroy(struct vm *vm);
/* vm_balloon.c: the balloon of cfg->balloon on PCI slot 25, like a disk:
 * I/O thread started before the vCPUs, quiesced once they are gone. */
int vm_balloon_create(struct vm *vm, struct bs_err *e);
int vm_balloon_start(struct vm *vm, struct bs_err *e);
void vm_balloon_quiesce(struct vm *vm);
void vm_balloon_destroy(struct vm *vm);

/* vm_api.c: the control socket (cfg->api_socket) and the timers of what it
 * controls, served by the main loop: vm_api_pollfds() adds its fds (at most
 * VM_API_POLLFDS) and may shorten the poll timeout; vm_api_dispatch() is
 * called after every poll() with the same entries. */
#define VM_API_POLLFDS (2 + 64)
int vm_api_create(struct vm *vm, struct bs_err *e);
unsigned vm_api_pollfds(struct vm *vm, struct pollfd *p, unsigned max, int *timeout);
void vm_api_dispatch(struct vm *vm, const struct pollfd *p, unsigned n);
void vm_api_destroy(struct vm *vm);
void vm_pause_init(struct vm *vm);
void vm_vcpu_park(struct vm *vm);       /* vCPU thread, while pause.req */
void vm_pause_wake(struct vm *vm);      /* from vm_stop() */

/* For the device files above: the thread hook every device I/O thread
 * runs first (its seccomp filter; on failure the VM stops), and the MSI
 * router, set up by whichever device needs it first. */
int vm_io_thread_enter(void *vm);
int vm_irq_router(struct vm *vm, struct bs_err *e);

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned index, struct bs_err *e);
int vcpu_start(struct vcpu *v, struct bs_err *e);
void vcpu_kick(struct vcpu *v);
void vcpu_install_kick_handler(void);

#endif
