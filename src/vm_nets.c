/* The VM's virtio-net devices: see vm.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "basalt/exitcode.h"
#include "basalt/io/loop.h"
#include "basalt/log.h"
#include "basalt/net/tap.h"
#include "basalt/sandbox.h"
#include "basalt/virtio/net.h"
#include "basalt/vm.h"
#include "config_util.h"

#define NET_QUEUE_SIZE 256
/* Busy polling of the transmit queues before an I/O thread sleeps, as for
 * disks: a request/response exchange otherwise pays the thread's wake-up
 * on every transmission (bench/net's UDP round trip: 26 -> 19 us, QEMU's
 * 18 us). */
#define NET_POLL_US 50
#define NET_FIRST_SLOT (1 + BS_MAX_DISKS)

/* Queue pairs: as configured, else one per vCPU where the tap can have
 * several queues (multi_queue, or one we create), else one. */
static unsigned pairs_for(const struct vm *vm, const struct net_config *nc)
{
	struct tap_info ti;
	unsigned n;

	if (nc->queues)
		return nc->queues;
	if (!nc->create && (tap_probe(nc->tap, &ti) || !ti.multi_queue))
		return 1;
	n = vm->ncpus < BS_NET_MAX_QUEUES ? vm->ncpus : BS_NET_MAX_QUEUES;
	return n ? n : 1;
}

static int create_one(struct vm *vm, unsigned i, struct bs_err *e)
{
	const struct net_config *nc = &vm->cfg->nets[i];
	struct vm_net *n = &vm->nets[i];
	struct virtio_net_params p;
	char name[24], mac[18];
	int r;

	n->pairs = pairs_for(vm, nc);
	for (unsigned k = 0; k < BS_NET_MAX_QUEUES; k++)
		n->fds[k] = -1;
	r = tap_open(nc->tap, nc->create, n->pairs, n->fds, e);
	if (r)
		return bs_errf(e, -r, "nets[%u]: %s", i, e->msg);
	for (unsigned k = 0; k < n->pairs; k++) {
		char lname[32];	/* the thread name keeps 15 */

		snprintf(lname, sizeof(lname), "net%uq%u", i, k);
		r = io_loop_create_any(&n->loops[k], lname, e);
		if (r)
			return bs_errf(e, -r, "nets[%u]: %s", i, e->msg);
		io_loop_set_thread_hook(n->loops[k], vm_io_thread_enter, vm);
	}
	/* 5.1.6.5.5: only the first pair is in use until the driver asks for
	 * more; keep the kernel from queueing packets on the others. */
	for (unsigned k = 1; k < n->pairs; k++)
		if ((r = tap_set_queue(n->fds[k], false)))
			return bs_errf(e, -r, "nets[%u]: tap '%s': detaching queue %u: %s", i,
				       nc->tap, k, strerror(-r));
	memcpy(n->mac, nc->mac, 6);
	if (!nc->mac_set) {
		/* QEMU's OUI-style prefix, locally unique tail. */
		n->mac[0] = 0x52, n->mac[1] = 0x54, n->mac[2] = 0x00;
		if (getrandom(n->mac + 3, 3, 0) != 3)
			return bs_errf(e, errno, "nets[%u]: getrandom: %s", i, strerror(errno));
	}
	snprintf(name, sizeof(name), "virtio-net%u", i);
	p = (struct virtio_net_params){
		.name = name, .pairs = n->pairs, .fds = n->fds, .loops = n->loops,
		.tap = true, .queue_size = NET_QUEUE_SIZE, .gm = &vm->mem,
		.irq = &vm->irq, .vm_fd = vm->vm_fd,
		.poll_us = NET_POLL_US,
	};
	memcpy(p.mac, n->mac, 6);
	r = virtio_net_create(&n->dev, &p, e);
	if (r)
		return r;
	r = pci_bus_add(&vm->pci, NET_FIRST_SLOT + i, &n->dev->t.f, e);
	if (r)
		return r;
	cfg_format_mac(n->mac, mac);
	log_info("nets[%u]: tap %s%s, mac %s, %u queue pair%s at 00:%02x.0", i, nc->tap,
		 nc->create ? " (created)" : "", mac, n->pairs, n->pairs > 1 ? "s" : "",
		 NET_FIRST_SLOT + i);
	return 0;
}

int vm_nets_create(struct vm *vm, struct bs_err *e)
{
	int r;

	if (!vm->cfg->nnets)
		return 0;
	r = vm_irq_router(vm, e);
	if (r)
		return r;
	for (unsigned i = 0; i < vm->cfg->nnets; i++) {
		vm->nnets = i + 1;
		r = create_one(vm, i, e);
		if (r)
			return r;
	}
	return 0;
}

int vm_nets_start(struct vm *vm, struct bs_err *e)
{
	for (unsigned i = 0; i < vm->nnets; i++)
		for (unsigned k = 0; k < vm->nets[i].pairs; k++) {
			int r = io_loop_start(vm->nets[i].loops[k], e);

			if (r)
				return r;
		}
	return 0;
}

void vm_nets_quiesce(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nnets; i++)
		if (vm->nets[i].dev)
			virtio_net_quiesce(vm->nets[i].dev);
}

void vm_nets_report(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nnets; i++) {
		struct virtio_net_stats s;

		if (!vm->nets[i].dev)
			continue;
		virtio_net_get_stats(vm->nets[i].dev, &s);
		fprintf(stderr, "basalt: stats: nets[%u] rx_packets=%llu rx_bytes=%llu "
			"rx_dropped=%llu tx_packets=%llu tx_bytes=%llu tx_dropped=%llu\n", i,
			(unsigned long long)s.rx_packets, (unsigned long long)s.rx_bytes,
			(unsigned long long)s.rx_dropped, (unsigned long long)s.tx_packets,
			(unsigned long long)s.tx_bytes, (unsigned long long)s.tx_dropped);
	}
}

void vm_nets_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nnets; i++) {
		struct vm_net *n = &vm->nets[i];

		for (unsigned k = 0; k < n->pairs; k++)
			if (n->loops[k])
				io_loop_stop(n->loops[k]);
		virtio_net_destroy(n->dev);
		for (unsigned k = 0; k < n->pairs; k++)
			io_loop_destroy(n->loops[k]);
		tap_close(n->fds, n->pairs);
		memset(n, 0, sizeof(*n));
	}
	vm->nnets = 0;
}
