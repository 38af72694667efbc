/* Host TAP interfaces for virtio-net (Linux Documentation/networking/
 * tuntap.rst).
 *
 * Every queue fd is opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, made
 * non-blocking, and set to a 12-byte vnet header (TUNSETVNETHDRSZ): the
 * kernel then reads and writes exactly virtio 1.x's struct
 * virtio_net_hdr_v1 in front of each frame (little-endian on x86), except
 * that it never writes num_buffers, whose 2 bytes it skips.  With more than
 * one queue the tap must carry IFF_MULTI_QUEUE and each fd is one of its
 * queues (attach/detach with TUNSETQUEUE).
 *
 * tap_probe() reads what sysfs says about an interface without opening it,
 * so configuration errors are found before a VM exists. */
#ifndef BASALT_NET_TAP_H
#define BASALT_NET_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "basalt/err.h"

#define TAP_VNET_HDR_LEN 12

/* Guest receive offloads, as TUNSETOFFLOAD flags (TUN_F_*). */
#define TAP_OFF_CSUM 0x01
#define TAP_OFF_TSO4 0x02
#define TAP_OFF_TSO6 0x04

struct tap_info {
	bool exists;
	bool is_tap;           /* a tun/tap device in TAP (Ethernet) mode */
	bool is_tun;           /* a tun/tap device (either mode) */
	bool multi_queue;
	long owner, group;     /* -1: anyone with access to /dev/net/tun */
	unsigned mtu;
};

/* What /sys/class/net/NAME says (in the caller's network namespace).
 * -EINVAL for a name that cannot be an interface name. */
int tap_probe(const char *name, struct tap_info *out);

/* Opens queues fds on tap name: attaching to an existing interface, or,
 * with create, making a new non-persistent one (it disappears when the
 * last fd closes).  fds[0..queues) are filled; on error none is left
 * open and e names the interface and what went wrong. */
int tap_open(const char *name, bool create, unsigned queues, int *fds,
	     struct bs_err *e);
void tap_close(int *fds, unsigned queues);
/* TUNSETOFFLOAD: which offloaded packets the guest accepts on receive
 * (TAP_OFF_*).  TSO flags need CSUM. */
int tap_set_offload(int fd, unsigned flags);
/* TUNSETQUEUE: attach (the kernel steers packets to it) or detach. */
int tap_set_queue(int fd, bool attach);

#endif
