/* vfio-user client: a passthrough backend (pt.h) speaking the vfio-user
 * protocol (user_proto.h) to a device server over a UNIX socket.
 *
 * One synchronous channel: a request is sent and its reply awaited under
 * a lock, from whichever thread needs it (vCPU threads for trapped
 * accesses and interrupt set-up).  Guest RAM is offered for DMA by
 * passing the memfd (the server maps it); BAR memory the server offers
 * as mmappable comes back as an fd per region.  Server-to-client commands
 * (DMA_READ/WRITE) are answered with an error: all of guest RAM is mapped.
 *
 * Replies are checked like any hostile input (sizes, ids, commands).  A
 * reply that does not come within VFU_REPLY_TIMEOUT_S, or a broken
 * connection, marks the server gone: from then on reads give all-ones and
 * writes are dropped (logged once), as with a surprise-removed device. */
#ifndef BASALT_VFIO_USER_H
#define BASALT_VFIO_USER_H

#include "basalt/devices/pt.h"
#include "basalt/err.h"

#define VFU_REPLY_TIMEOUT_S 30

/* Connects to path and negotiates: version (0.x, minor <= 1), device
 * info (a PCI device with a configuration region), interrupt info.
 * Errors name the socket ("vfio-user '/run/x.sock': connection refused
 * (is the server running?)"). */
int vfu_client_open(void **out, const char *path, const char *name,
		    struct bs_err *e);

extern const struct pt_backend_ops vfu_backend_ops;

#endif
