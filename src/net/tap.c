/* TAP interfaces: see include/basalt/net/tap.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "basalt/net/tap.h"

static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || (unsigned char)name[i] <= ' ' ||
		    name[i] == 0x7f)
			return false;
	return true;
}

/* One number from /sys/class/net/NAME/FILE ("0x1002" or "-1"). */
static int read_sys_long(const char *name, const char *file, long *out)
{
	char path[96], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = '\0';
	*out = strtol(buf, NULL, 0);
	return 0;
}

int tap_probe(const char *name, struct tap_info *out)
{
	char path[96];
	long v;

	memset(out, 0, sizeof(*out));
	out->owner = out->group = -1;
	if (!valid_name(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	if (access(path, F_OK))
		return 0;
	out->exists = true;
	if (!read_sys_long(name, "mtu", &v) && v > 0)
		out->mtu = (unsigned)v;
	if (read_sys_long(name, "tun_flags", &v))
		return 0;	/* not a tun/tap device */
	out->is_tun = true;
	out->is_tap = (v & IFF_TAP) != 0;
	out->multi_queue = (v & IFF_MULTI_QUEUE) != 0;
	if (!read_sys_long(name, "owner", &v))
		out->owner = v;
	if (!read_sys_long(name, "group", &v))
		out->group = v;
	return 0;
}

static const char *open_hint(int err, bool create, unsigned queues)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return create ? " (creating a tap needs CAP_NET_ADMIN)" :
				" (the tap belongs to another user: ip tuntap add ... user U)";
	case EINVAL:
		return queues > 1 ? " (multiqueue needs a tap created with multi_queue)" :
				    " (a multi_queue tap? then give queues=N)";
	case EBUSY:
		return " (in use by another process, or its flags differ)";
	case ENOENT:
	case ENODEV:
		return " (no /dev/net/tun: modprobe tun)";
	default:
		return "";
	}
}

int tap_open(const char *name, bool create, unsigned queues, int *fds,
	     struct bs_err *e)
{
	int hdr = TAP_VNET_HDR_LEN;
	unsigned i;

	if (!valid_name(name))
		return bs_errf(e, EINVAL, "tap '%s': not a valid interface name", name);
	for (i = 0; i < queues; i++)
		fds[i] = -1;
	for (i = 0; i < queues; i++) {
		struct ifreq ifr;
		int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), err;

		if (fd < 0) {
			err = errno;
			tap_close(fds, queues);
			return bs_errf(e, err, "tap '%s': cannot open /dev/net/tun: %s%s",
				       name, strerror(err), open_hint(err, create, queues));
		}
		fds[i] = fd;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		if (queues > 1)
			ifr.ifr_flags |= IFF_MULTI_QUEUE;
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			err = errno;
			tap_close(fds, queues);
			return bs_errf(e, err, "tap '%s': cannot attach%s: %s%s", name,
				       queues > 1 ? " a queue" : "", strerror(err),
				       open_hint(err, create, queues));
		}
		if (strcmp(ifr.ifr_name, name)) {
			tap_close(fds, queues);
			return bs_errf(e, EINVAL, "tap '%s': kernel named it '%s'", name,
				       ifr.ifr_name);
		}
		if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
			err = errno;
			tap_close(fds, queues);
			return bs_errf(e, err, "tap '%s': TUNSETVNETHDRSZ: %s", name,
				       strerror(err));
		}
	}
	/* No offloads towards the guest until it negotiates them. */
	if (tap_set_offload(fds[0], 0)) {
		int err = errno;

		tap_close(fds, queues);
		return bs_errf(e, err, "tap '%s': TUNSETOFFLOAD: %s", name, strerror(err));
	}
	return 0;
}

void tap_close(int *fds, unsigned queues)
{
	for (unsigned i = 0; i < queues; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int tap_set_offload(int fd, unsigned flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}

int tap_set_queue(int fd, bool attach)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	/* Attaching an attached queue (or detaching a detached one) is
	 * EINVAL: the state is what we asked for. */
	if (ioctl(fd, TUNSETQUEUE, &ifr) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}
