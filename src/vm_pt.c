/* The VM's passthrough devices (cfg->devices) on PCI slots 26..31.
 *
 * Backends are opened by vm_pt_open() from main(), after validation and
 * before /dev/kvm is touched, so that a socket nobody listens on or a VFIO
 * group the kernel refuses ends basalt with status 2; vm_pt_create() then
 * takes them over (and opens any that were not, for callers that skip
 * vm_pt_open).  The opened backends wait in a file-static list between
 * the two calls: there is one VM per process. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "basalt/log.h"
#include "basalt/sandbox.h"
#include "basalt/vfio/kernel.h"
#include "basalt/vfio/sysfs.h"
#include "basalt/vfio/user.h"
#include "basalt/vm.h"

#define PT_FIRST_SLOT 26

static struct opened {
	void *backend;
	const struct pt_backend_ops *ops;
} pre[BS_MAX_DEVICES];

static void dev_name(const struct vm_config *cfg, unsigned i, char *buf, size_t len)
{
	unsigned n = 0;

	/* vfio0, vfio1, vfio-user0, ...: numbered within their kind. */
	for (unsigned j = 0; j < i; j++)
		n += cfg->devices[j].kind == cfg->devices[i].kind;
	snprintf(buf, len, "%s%u", cfg->devices[i].kind == DEVICE_VFIO ? "vfio" : "vfio-user", n);
}

static int open_one(const struct vm_config *cfg, unsigned i, struct opened *o,
		    struct bs_err *e)
{
	const struct device_config *d = &cfg->devices[i];
	char name[32];

	dev_name(cfg, i, name, sizeof(name));
	if (d->kind == DEVICE_VFIO_USER) {
		o->ops = &vfu_backend_ops;
		return vfu_client_open(&o->backend, d->path, name, e);
	}
	o->ops = &vfio_kernel_ops;
	return vfio_kernel_open(&o->backend, vfio_sysfs_root(), d->path, name, e);
}

void vm_pt_close_opened(void)
{
	for (unsigned i = 0; i < BS_MAX_DEVICES; i++) {
		if (pre[i].backend)
			pre[i].ops->destroy(pre[i].backend);
		pre[i].backend = NULL;
	}
}

int vm_pt_open(const struct vm_config *cfg, struct bs_err *e)
{
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		int r = open_one(cfg, i, &pre[i], e);

		if (r) {
			vm_pt_close_opened();
			return r;
		}
	}
	return 0;
}

/* Every BAR the firmware-style assignment placed must be addressable by
 * the guest: below 2^MAXPHYADDR (CPUID 0x80000008 EAX[7:0], the host's). */
int vm_pt_check_reach(struct vm *vm, struct bs_err *e)
{
	const struct kvm_cpuid_entry2 *c = x86_cpuid_find(&vm->cpuid, 0x80000008, 0);
	unsigned bits = c ? (c->eax & 0xff) : 36;
	int r = pci_bus_check_reach(&vm->pci, bits, e);

	if (!r)
		log_debug("all BARs below 2^%u (guest physical address width)", bits);
	return r;
}

int vm_pt_create(struct vm *vm, struct bs_err *e)
{
	const struct vm_config *cfg = vm->cfg;
	int nslots, r;

	if (!cfg->ndevices)
		return 0;
	r = vm_irq_router(vm, e);
	if (r)
		return r;
	nslots = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	kvm_slots_init(&vm->slots, vm->vm_fd, GM_MAX_REGIONS,
		       nslots > GM_MAX_REGIONS ? (unsigned)nslots : 32);
	for (unsigned i = 0; i < cfg->ndevices; i++) {
		struct pt_params p;
		char name[32];
		const struct pci_func *f;

		if (!pre[i].backend && (r = open_one(cfg, i, &pre[i], e)))
			return r;
		dev_name(cfg, i, name, sizeof(name));
		p = (struct pt_params){
			.name = name, .ops = pre[i].ops, .backend = pre[i].backend,
			.gm = &vm->mem, .irq = &vm->irq, .vm_fd = vm->vm_fd,
			.slots = &vm->slots, .windows = { &vm->pci_w32, &vm->pci_w64 },
		};
		pre[i].backend = NULL;       /* the device owns it now */
		vm->npt = i + 1;
		r = pt_create(&vm->pt[i], &p, e);
		if (!r)
			r = pci_bus_add(&vm->pci, PT_FIRST_SLOT + i, &vm->pt[i]->f, e);
		if (r)
			return r;
		f = &vm->pt[i]->f;
		log_info("%s: %s at 00:%02x.0: [%02x%02x:%02x%02x] class %02x%02x%02x, "
			 "%u capabilities kept, %u dropped%s%s", name, cfg->devices[i].path,
			 PT_FIRST_SLOT + i, f->cfg[1], f->cfg[0], f->cfg[3], f->cfg[2],
			 f->cfg[0x0b], f->cfg[0x0a], f->cfg[0x09], vm->pt[i]->cfg.nkept,
			 vm->pt[i]->cfg.ndropped, vm->pt[i]->has_msix ? ", MSI-X" : "",
			 vm->pt[i]->cfg.msi ? ", MSI" : "");
	}
	/* vCPU threads now move memory slots and bind irqfds, and talk to
	 * the backends. */
	sandbox_allow_passthrough();
	return 0;
}

void vm_pt_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->npt; i++)
		pt_destroy(vm->pt[i]);
	vm->npt = 0;
	vm_pt_close_opened();
}
