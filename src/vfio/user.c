/* vfio-user client: see include/basalt/vfio/user.h. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "basalt/log.h"
#include "basalt/vfio/region.h"
#include "basalt/vfio/user.h"
#include "basalt/vfio/user_proto.h"

#define MAX_FDS_WE_TAKE 8
#define REGION_INFO_MAX 65536
#define NUM_IRQ_KINDS 5

struct vfu {
	int sock;
	pthread_mutex_t lock;
	uint16_t next_id;
	bool dead;
	unsigned max_fds;            /* fds the server takes per message */
	uint32_t max_xfer;           /* data bytes per read/write message */
	uint32_t dev_flags, num_regions, num_irqs;
	uint32_t irq_count[NUM_IRQ_KINDS];
	int region_fd[PT_NUM_REGIONS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char name[32];
};

/* ---- framing ----------------------------------------------------------- */

static void gone(struct vfu *c, const char *why)
{
	if (!c->dead)
		log_err("%s: vfio-user server '%s' is gone (%s): the device reads as "
			"all-ones from now on", c->name, c->path, why);
	c->dead = true;
}

static int send_msg(struct vfu *c, const struct vfu_hdr *h, const void *body,
		    size_t blen, const int *fds, unsigned nfds)
{
	struct iovec iov[2] = {
		{ (void *)h, sizeof(*h) }, { (void *)body, blen },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = blen ? 2 : 1 };
	size_t total = sizeof(*h) + blen, sent = 0;

	if (nfds > 64)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	while (sent < total) {
		ssize_t n = sendmsg(c->sock, &m, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		sent += (size_t)n;
		/* fds went with the first byte; advance over what was sent */
		m.msg_control = NULL;
		m.msg_controllen = 0;
		while (n > 0 && m.msg_iovlen) {
			size_t take = (size_t)n < m.msg_iov[0].iov_len ? (size_t)n :
				      m.msg_iov[0].iov_len;

			m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + take;
			m.msg_iov[0].iov_len -= take;
			n -= (ssize_t)take;
			if (!m.msg_iov[0].iov_len) {
				m.msg_iov++;
				m.msg_iovlen--;
			}
		}
	}
	return 0;
}

/* Reads exactly len bytes; the first read may carry fds (only taken when
 * fds != NULL; otherwise the kernel closes whatever was passed). */
static int recv_all(struct vfu *c, void *buf, size_t len, int *fds, unsigned *nfds)
{
	size_t got = 0;

	if (nfds)
		*nfds = 0;
	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_WE_TAKE)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (fds && !got) {
			m.msg_control = ctl.buf;
			m.msg_controllen = sizeof(ctl.buf);
		}
		n = recvmsg(c->sock, &m, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		if (fds && !got) {
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm;
			     cm = CMSG_NXTHDR(&m, cm)) {
				if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
					continue;
				for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
					int fd;

					memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
					if (*nfds < MAX_FDS_WE_TAKE)
						fds[(*nfds)++] = fd;
					else
						close(fd);
				}
			}
		}
		got += (size_t)n;
	}
	return 0;
}

static int discard(struct vfu *c, size_t len)
{
	char sink[512];

	while (len) {
		size_t n = len < sizeof(sink) ? len : sizeof(sink);
		int r = recv_all(c, sink, n, NULL, NULL);

		if (r)
			return r;
		len -= n;
	}
	return 0;
}

/* A command the server sent us (DMA_READ/WRITE and the like): refused. */
static int refuse(struct vfu *c, const struct vfu_hdr *h)
{
	struct vfu_hdr r = {
		.id = h->id, .cmd = h->cmd, .size = sizeof(r),
		.flags = VFU_TYPE_REPLY | VFU_F_ERROR, .error = ENOTSUP,
	};
	int ret = discard(c, h->size - sizeof(*h));

	if (ret || (h->flags & VFU_F_NO_REPLY))
		return ret;
	return send_msg(c, &r, NULL, 0, NULL, 0);
}

/* One request and its reply (payload into reply, at most rmax bytes; the
 * rest is read and dropped; *rlen = payload size the server sent).
 * fds/rfds: sent and received descriptors.  Under c->lock. */
static int xfer_locked(struct vfu *c, uint16_t cmd, const void *req, size_t qlen,
		       const int *fds, unsigned nfds, void *reply, size_t rmax,
		       size_t *rlen, int *rfds, unsigned *nrfds)
{
	struct vfu_hdr h = {
		.id = c->next_id++, .cmd = cmd, .size = (uint32_t)(sizeof(h) + qlen),
		.flags = VFU_TYPE_COMMAND,
	};
	int r;

	if (nrfds)
		*nrfds = 0;
	if (c->dead)
		return -ENOTCONN;
	r = send_msg(c, &h, req, qlen, fds, nfds);
	if (r) {
		gone(c, strerror(-r));
		return r;
	}
	for (;;) {
		struct vfu_hdr rh;
		size_t payload, keep;
		unsigned got_fds = 0;
		int tmp[MAX_FDS_WE_TAKE];

		r = recv_all(c, &rh, sizeof(rh), rfds ? tmp : NULL, rfds ? &got_fds : NULL);
		if (!r && (rh.size < sizeof(rh) || rh.size > VFU_MAX_MSG))
			r = -EPROTO;
		if (r) {
			for (unsigned i = 0; i < got_fds; i++)
				close(tmp[i]);
			gone(c, r == -ETIMEDOUT ? "no reply in time" :
			     r == -EPROTO ? "malformed message" : strerror(-r));
			return r;
		}
		payload = rh.size - sizeof(rh);
		if ((rh.flags & VFU_TYPE_MASK) == VFU_TYPE_COMMAND || rh.id != h.id ||
		    rh.cmd != cmd) {
			for (unsigned i = 0; i < got_fds; i++)
				close(tmp[i]);
			r = (rh.flags & VFU_TYPE_MASK) == VFU_TYPE_COMMAND ? refuse(c, &rh) :
			    discard(c, payload);
			if (r) {
				gone(c, strerror(-r));
				return r;
			}
			continue;
		}
		keep = payload < rmax ? payload : rmax;
		r = recv_all(c, reply, keep, NULL, NULL);
		if (!r)
			r = discard(c, payload - keep);
		if (r) {
			for (unsigned i = 0; i < got_fds; i++)
				close(tmp[i]);
			gone(c, strerror(-r));
			return r;
		}
		if (rlen)
			*rlen = payload;
		for (unsigned i = 0; i < got_fds; i++) {
			if (nrfds && *nrfds < MAX_FDS_WE_TAKE)
				rfds[(*nrfds)++] = tmp[i];
			else
				close(tmp[i]);
		}
		if (rh.flags & VFU_F_ERROR) {
			for (unsigned i = 0; nrfds && i < *nrfds; i++)
				close(rfds[i]);
			if (nrfds)
				*nrfds = 0;
			return rh.error ? -(int)rh.error : -EIO;
		}
		return 0;
	}
}

static int xfer(struct vfu *c, uint16_t cmd, const void *req, size_t qlen,
		const int *fds, unsigned nfds, void *reply, size_t rmax, size_t *rlen,
		int *rfds, unsigned *nrfds)
{
	int r;

	pthread_mutex_lock(&c->lock);
	r = xfer_locked(c, cmd, req, qlen, fds, nfds, reply, rmax, rlen, rfds, nrfds);
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* ---- negotiation ----------------------------------------------------------- */

static int negotiate(struct vfu *c, struct bs_err *e)
{
	static const char caps[] =
		"{\"capabilities\":{\"max_msg_fds\":" "8" ",\"max_data_xfer_size\":1048576}}";
	uint8_t req[sizeof(struct vfu_version) + sizeof(caps)];
	uint8_t rep[4096];
	struct vfu_version v = { VFU_MAJOR, VFU_MINOR };
	size_t rlen = 0;
	json_t *root = NULL, *cap;
	json_error_t je;
	int r;

	memcpy(req, &v, sizeof(v));
	memcpy(req + sizeof(v), caps, sizeof(caps));
	r = xfer(c, VFU_CMD_VERSION, req, sizeof(req), NULL, 0, rep, sizeof(rep) - 1,
		 &rlen, NULL, NULL);
	if (r)
		return bs_errf(e, -r, "%s: vfio-user '%s': version negotiation: %s",
			       c->name, c->path, strerror(-r));
	if (rlen < sizeof(v) || rlen > sizeof(rep) - 1)
		return bs_errf(e, EPROTO, "%s: vfio-user '%s': bad version reply (%zu bytes)",
			       c->name, c->path, rlen);
	memcpy(&v, rep, sizeof(v));
	if (v.major != VFU_MAJOR || v.minor > VFU_MINOR)
		return bs_errf(e, EPROTO, "%s: vfio-user '%s': server speaks version %u.%u, "
			       "we speak %u.%u", c->name, c->path, v.major, v.minor,
			       VFU_MAJOR, VFU_MINOR);
	c->max_fds = 1;
	c->max_xfer = VFU_DEFAULT_MAX_XFER;
	rep[rlen] = 0;
	if (rlen > sizeof(v) && rep[sizeof(v)]) {
		root = json_loads((const char *)rep + sizeof(v), JSON_DISABLE_EOF_CHECK, &je);
		if (!root)
			return bs_errf(e, EPROTO, "%s: vfio-user '%s': version reply: bad "
				       "JSON: %s", c->name, c->path, je.text);
		cap = json_object_get(root, "capabilities");
		if (json_is_integer(json_object_get(cap, "max_msg_fds")))
			c->max_fds = (unsigned)json_integer_value(json_object_get(cap, "max_msg_fds"));
		if (json_is_integer(json_object_get(cap, "max_data_xfer_size")))
			c->max_xfer = (uint32_t)json_integer_value(
				json_object_get(cap, "max_data_xfer_size"));
		json_decref(root);
	}
	if (c->max_fds < 1 || c->max_fds > 64)
		c->max_fds = 1;
	if (c->max_xfer < 8)
		return bs_errf(e, EPROTO, "%s: vfio-user '%s': max_data_xfer_size %u is "
			       "too small", c->name, c->path, c->max_xfer);
	return 0;
}

static int device_info(struct vfu *c, struct bs_err *e)
{
	struct vfu_device_info di = { .argsz = sizeof(di) };
	size_t rlen = 0;
	int r = xfer(c, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0, &di,
		     sizeof(di), &rlen, NULL, NULL);

	if (r)
		return bs_errf(e, -r, "%s: vfio-user '%s': device info: %s", c->name,
			       c->path, strerror(-r));
	if (rlen < sizeof(di) || !(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    di.num_regions <= PT_CONFIG_REGION)
		return bs_errf(e, ENODEV, "%s: vfio-user '%s': not a PCI device with a "
			       "configuration region (flags 0x%x, %u regions)", c->name,
			       c->path, di.flags, di.num_regions);
	c->dev_flags = di.flags;
	c->num_regions = di.num_regions;
	c->num_irqs = di.num_irqs;
	for (unsigned i = 0; i < NUM_IRQ_KINDS && i < di.num_irqs; i++) {
		struct vfu_irq_info ii = { .argsz = sizeof(ii), .index = i };

		rlen = 0;
		r = xfer(c, VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, &ii,
			 sizeof(ii), &rlen, NULL, NULL);
		if (r)
			return bs_errf(e, -r, "%s: vfio-user '%s': interrupt info %u: %s",
				       c->name, c->path, i, strerror(-r));
		if (rlen >= sizeof(ii) && ii.index == i && (ii.flags & VFIO_IRQ_INFO_EVENTFD))
			c->irq_count[i] = ii.count;
	}
	return 0;
}

static int connect_to(struct vfu *c, const char *path, struct bs_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { VFU_REPLY_TIMEOUT_S, 0 };

	if (strlen(path) >= sizeof(sa.sun_path))
		return bs_errf(e, ENAMETOOLONG, "%s: vfio-user '%s': path too long for a "
			       "UNIX socket (at most %zu bytes)", c->name, path,
			       sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->sock < 0)
		return bs_errf(e, errno, "%s: socket: %s", c->name, strerror(errno));
	if (connect(c->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return bs_errf(e, errno, "%s: vfio-user '%s': %s%s", c->name, path,
			       strerror(errno), errno == ECONNREFUSED ?
			       " (is the server running?)" : "");
	setsockopt(c->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

static void vfu_destroy(void *b)
{
	struct vfu *c = b;

	if (!c)
		return;
	if (c->sock >= 0)
		close(c->sock);
	for (unsigned i = 0; i < PT_NUM_REGIONS; i++)
		if (c->region_fd[i] >= 0)
			close(c->region_fd[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int vfu_client_open(void **out, const char *path, const char *name,
		    struct bs_err *e)
{
	struct vfu *c = calloc(1, sizeof(*c));
	int r;

	*out = NULL;
	if (!c)
		return bs_errf(e, ENOMEM, "%s: out of memory", name);
	c->sock = -1;
	for (unsigned i = 0; i < PT_NUM_REGIONS; i++)
		c->region_fd[i] = -1;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->name, sizeof(c->name), "%s", name);
	r = connect_to(c, path, e);
	if (!r)
		r = negotiate(c, e);
	if (!r)
		r = device_info(c, e);
	if (r) {
		vfu_destroy(c);
		return r;
	}
	log_info("%s: vfio-user '%s': %u regions, %u interrupt kinds (MSI %u, MSI-X %u "
		 "vectors), %sreset, up to %u fds per message", name, path,
		 c->num_regions, c->num_irqs, c->irq_count[PT_IRQ_MSI],
		 c->irq_count[PT_IRQ_MSIX], c->dev_flags & VFIO_DEVICE_FLAGS_RESET ? "" : "no ",
		 c->max_fds);
	*out = c;
	return 0;
}

/* ---- backend operations ---------------------------------------------------------- */

static int vfu_region_info(void *b, unsigned idx, struct pt_region_info *ri,
			   struct bs_err *e)
{
	struct vfu *c = b;
	size_t want = 1024, rlen = 0;
	uint8_t *buf = NULL;
	int fds[MAX_FDS_WE_TAKE];
	unsigned nfds = 0;
	int r;

	memset(ri, 0, sizeof(*ri));
	ri->fd = -1;
	if (idx >= c->num_regions)
		return 0;
	for (;;) {
		struct vfu_region_info q = {
			.argsz = (uint32_t)(sizeof(q) + want), .index = idx,
		};
		uint8_t *nb = realloc(buf, sizeof(q) + want);

		if (!nb) {
			free(buf);
			return bs_errf(e, ENOMEM, "%s: out of memory", c->name);
		}
		buf = nb;
		r = xfer(c, VFU_CMD_DEVICE_GET_REGION_INFO, &q, sizeof(q), NULL, 0, buf,
			 sizeof(q) + want, &rlen, fds, &nfds);
		if (r) {
			free(buf);
			return bs_errf(e, -r, "%s: vfio-user '%s': region %u info: %s",
				       c->name, c->path, idx, strerror(-r));
		}
		memcpy(&q, buf, rlen < sizeof(q) ? rlen : sizeof(q));
		/* argsz in a reply: what the full answer needs (spec, "Message
		 * sizes"); ask again once with room for it. */
		if (rlen >= sizeof(q) && q.argsz > sizeof(q) + want &&
		    q.argsz <= REGION_INFO_MAX && want < q.argsz) {
			for (unsigned i = 0; i < nfds; i++)
				close(fds[i]);
			want = q.argsz;
			continue;
		}
		break;
	}
	if (rlen < sizeof(struct vfu_region_info) ||
	    vfio_region_parse(buf, rlen < sizeof(struct vfu_region_info) + want ? rlen :
			      sizeof(struct vfu_region_info) + want, ri)) {
		free(buf);
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return bs_errf(e, EPROTO, "%s: vfio-user '%s': region %u: malformed info",
			       c->name, c->path, idx);
	}
	free(buf);
	/* The mmap fd comes with the reply (spec: FLAG_MMAP). */
	for (unsigned i = 1; i < nfds; i++)
		close(fds[i]);
	if (idx < PT_NUM_REGIONS && nfds) {
		if (c->region_fd[idx] >= 0)
			close(c->region_fd[idx]);
		c->region_fd[idx] = fds[0];
		ri->fd = fds[0];
	} else {
		if (nfds)
			close(fds[0]);
		ri->nareas = 0;
	}
	return 0;
}

static unsigned vfu_irq_count(void *b, unsigned idx)
{
	struct vfu *c = b;

	return idx < NUM_IRQ_KINDS ? c->irq_count[idx] : 0;
}

static int vfu_read(void *b, unsigned region, uint64_t off, void *data, unsigned len)
{
	struct vfu *c = b;
	struct vfu_region_access q = { off, region, len };
	uint8_t rep[sizeof(q) + 8];
	struct vfu_region_access a;
	size_t rlen = 0;
	int r;

	if (len > 8 || len > c->max_xfer)
		return -EINVAL;
	r = xfer(c, VFU_CMD_REGION_READ, &q, sizeof(q), NULL, 0, rep, sizeof(rep), &rlen,
		 NULL, NULL);
	if (r)
		return r;
	memcpy(&a, rep, sizeof(a));
	if (rlen != sizeof(a) + len || a.count != len || a.region != region || a.offset != off)
		return -EPROTO;
	memcpy(data, rep + sizeof(a), len);
	return 0;
}

static int vfu_write(void *b, unsigned region, uint64_t off, const void *data,
		     unsigned len)
{
	struct vfu *c = b;
	uint8_t req[sizeof(struct vfu_region_access) + 8];
	struct vfu_region_access q = { off, region, len };
	size_t rlen = 0;
	int r;

	if (len > 8 || len > c->max_xfer)
		return -EINVAL;
	memcpy(req, &q, sizeof(q));
	memcpy(req + sizeof(q), data, len);
	r = xfer(c, VFU_CMD_REGION_WRITE, req, sizeof(q) + len, NULL, 0, &q, sizeof(q),
		 &rlen, NULL, NULL);
	if (!r && (rlen < sizeof(q) || q.count != len))
		r = -EPROTO;
	return r;
}

static int vfu_set_irqs(void *b, unsigned idx, unsigned start, unsigned count,
			const int *fds)
{
	struct vfu *c = b;

	if (!count) {
		struct vfu_irq_set s = {
			.argsz = sizeof(s), .index = idx,
			.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		};

		return xfer(c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, NULL, 0,
			    NULL, NULL, NULL);
	}
	/* As many eventfds per message as the server takes. */
	for (unsigned done = 0; done < count;) {
		unsigned n = count - done < c->max_fds ? count - done : c->max_fds;
		struct vfu_irq_set s = {
			.argsz = sizeof(s), .index = idx, .start = start + done, .count = n,
			.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		};
		int r = xfer(c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds + done, n,
			     NULL, 0, NULL, NULL, NULL);

		if (r)
			return r;
		done += n;
	}
	return 0;
}

static int vfu_reset(void *b)
{
	struct vfu *c = b;

	if (!(c->dev_flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTSUP;
	return xfer(c, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL);
}

static int vfu_dma_map(void *b, uint64_t iova, uint64_t size, void *hva, int fd,
		       uint64_t fd_off, struct bs_err *e)
{
	struct vfu *c = b;
	struct vfu_dma_map m = {
		.argsz = sizeof(m), .flags = VFU_DMA_READ | VFU_DMA_WRITE,
		.offset = fd_off, .addr = iova, .size = size,
	};
	int r;

	(void)hva;
	if (fd < 0)
		return bs_errf(e, EINVAL, "%s: guest RAM has no fd to share", c->name);
	r = xfer(c, VFU_CMD_DMA_MAP, &m, sizeof(m), &fd, 1, NULL, 0, NULL, NULL, NULL);
	if (r)
		return bs_errf(e, -r, "%s: vfio-user '%s': DMA map of 0x%llx+0x%llx: %s",
			       c->name, c->path, (unsigned long long)iova,
			       (unsigned long long)size, strerror(-r));
	return 0;
}

const struct pt_backend_ops vfu_backend_ops = {
	.kind = "vfio-user",
	.region_info = vfu_region_info,
	.irq_count = vfu_irq_count,
	.read = vfu_read,
	.write = vfu_write,
	.set_irqs = vfu_set_irqs,
	.reset = vfu_reset,
	.dma_map = vfu_dma_map,
	.destroy = vfu_destroy,
};
