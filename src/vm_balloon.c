/* The VM's virtio-balloon: see vm.h. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "basalt/exitcode.h"
#include "basalt/io/loop.h"
#include "basalt/log.h"
#include "basalt/sandbox.h"
#include "basalt/virtio/balloon.h"
#include "basalt/vm.h"

/* Disks use slots 1..16, nets 17..24. */
#define BALLOON_SLOT 25

int vm_balloon_create(struct vm *vm, struct bs_err *e)
{
	const struct balloon_config *bc = &vm->cfg->balloon;
	struct vm_balloon *b = &vm->balloon;
	struct virtio_balloon_params p;
	int r;

	b->stats_efd = -1;
	if (!bc->enabled)
		return 0;
	r = vm_irq_router(vm, e);
	if (r)
		return r;
	b->stats_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->stats_efd < 0)
		return bs_errf(e, errno, "balloon: eventfd: %s", strerror(errno));
	r = io_loop_create_any(&b->loop, "balloon", e);
	if (r)
		return bs_errf(e, -r, "balloon: %s", e->msg);
	io_loop_set_thread_hook(b->loop, vm_io_thread_enter, vm);
	p = (struct virtio_balloon_params){
		.name = "virtio-balloon", .loop = b->loop,
		.target_pages = (uint32_t)(bc->target / GM_PAGE_SIZE),
		.deflate_on_oom = bc->deflate_on_oom,
		.free_page_reporting = bc->free_page_reporting,
		.gm = &vm->mem, .irq = &vm->irq, .vm_fd = vm->vm_fd,
		.stats_efd = b->stats_efd,
	};
	r = virtio_balloon_create(&b->dev, &p, e);
	if (r)
		return r;
	r = pci_bus_add(&vm->pci, BALLOON_SLOT, &b->dev->t.f, e);
	if (r)
		return r;
	log_info("balloon: target %llu MiB, statistics every %u s%s%s at 00:%02x.0",
		 (unsigned long long)(bc->target >> 20), bc->stats_interval,
		 bc->deflate_on_oom ? ", deflate on OOM" : "",
		 bc->free_page_reporting ? ", free page reporting" : "", BALLOON_SLOT);
	return 0;
}

int vm_balloon_start(struct vm *vm, struct bs_err *e)
{
	return vm->balloon.loop ? io_loop_start(vm->balloon.loop, e) : 0;
}

void vm_balloon_quiesce(struct vm *vm)
{
	if (vm->balloon.dev)
		virtio_balloon_quiesce(vm->balloon.dev);
}

void vm_balloon_destroy(struct vm *vm)
{
	struct vm_balloon *b = &vm->balloon;

	if (b->loop)
		io_loop_stop(b->loop);
	virtio_balloon_destroy(b->dev);
	io_loop_destroy(b->loop);
	if (b->stats_efd >= 0)
		close(b->stats_efd);
	memset(b, 0, sizeof(*b));
	b->stats_efd = -1;
}
