/* The VM's virtio-blk disks: see vm.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "basalt/exitcode.h"
#include "basalt/io/block.h"
#include "basalt/io/loop.h"
#include "basalt/log.h"
#include "basalt/sandbox.h"
#include "basalt/virtio/blk.h"
#include "basalt/vm.h"

#define DISK_QUEUE_SIZE 256
#define DISK_FIRST_SLOT 1
/* Busy polling before an I/O thread sleeps (QEMU's default is 32 us):
 * a lone request's round trip is otherwise dominated by the thread's
 * wake-up. */
#define DISK_POLL_US 50

static int create_one(struct vm *vm, unsigned i, struct bs_err *e)
{
	const struct disk_config *dc = &vm->cfg->disks[i];
	struct vm_disk *dk = &vm->disks[i];
	struct blk_opts o = {
		.readonly = dc->readonly,
		.direct = dc->direct,
		.cache = dc->cache == DISK_CACHE_WRITETHROUGH ? BLK_CACHE_WRITETHROUGH :
								BLK_CACHE_WRITEBACK,
	};
	char loop_name[16], dev_name[24];
	struct virtio_blk_params p;
	int r;

	snprintf(loop_name, sizeof(loop_name), "blk%u", i);
	snprintf(dev_name, sizeof(dev_name), "virtio-blk%u", i);
	r = io_loop_create_any(&dk->loop, loop_name, e);
	if (r)
		return bs_errf(e, -r, "disks[%u]: %s", i, e->msg);
	io_loop_set_thread_hook(dk->loop, vm_io_thread_enter, vm);
	r = blk_open(&dk->backend, dc->path, &o, dk->loop, e);
	if (r)
		return r;
	p = (struct virtio_blk_params){
		.name = dev_name, .backend = dk->backend, .loop = dk->loop,
		.serial = dc->serial,
		/* One request queue per vCPU (num_queues, 5.2.4). */
		.num_queues = vm->ncpus < VIRTIO_PCI_MAX_QUEUES - 1 ? vm->ncpus :
								      VIRTIO_PCI_MAX_QUEUES - 1,
		.queue_size = DISK_QUEUE_SIZE, .gm = &vm->mem, .irq = &vm->irq,
		.vm_fd = vm->vm_fd, .poll_us = DISK_POLL_US,
	};
	r = virtio_blk_create(&dk->dev, &p, e);
	if (r)
		return r;
	r = pci_bus_add(&vm->pci, DISK_FIRST_SLOT + i, &dk->dev->t.f, e);
	if (r)
		return r;
	log_info("disks[%u]: %s (%llu bytes%s, %s engine) at 00:%02x.0", i, dc->path,
		 (unsigned long long)dk->backend->size, dc->readonly ? ", read-only" : "",
		 blk_engine_name(dk->backend), DISK_FIRST_SLOT + i);
	return 0;
}

int vm_disks_create(struct vm *vm, struct bs_err *e)
{
	int r;

	if (!vm->cfg->ndisks)
		return 0;
	r = vm_irq_router(vm, e);
	if (r)
		return r;
	for (unsigned i = 0; i < vm->cfg->ndisks; i++) {
		vm->ndisks = i + 1;
		r = create_one(vm, i, e);
		if (r)
			return r;
	}
	return 0;
}

int vm_disks_start(struct vm *vm, struct bs_err *e)
{
	for (unsigned i = 0; i < vm->ndisks; i++) {
		int r = io_loop_start(vm->disks[i].loop, e);

		if (r)
			return r;
	}
	return 0;
}

/* With the vCPUs gone nothing submits any more: let every request in
 * flight finish (its data lands, as the guest was promised nothing), so
 * the image is closed with no I/O outstanding. */
void vm_disks_quiesce(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ndisks; i++)
		if (vm->disks[i].dev)
			virtio_blk_quiesce(vm->disks[i].dev);
}

void vm_disks_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ndisks; i++) {
		struct vm_disk *dk = &vm->disks[i];

		if (dk->loop)
			io_loop_stop(dk->loop);
		virtio_blk_destroy(dk->dev);
		io_loop_destroy(dk->loop);
		blk_forget_loop(dk->backend);
		blk_close(dk->backend);
		memset(dk, 0, sizeof(*dk));
	}
	vm->ndisks = 0;
}
