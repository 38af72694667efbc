/* The `devices` part of struct vm_config (PCI passthrough): --device
 * parsing and the checks run at validation, before any VM exists.  See
 * docs/config.md, "devices". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basalt/config.h"
#include "basalt/vfio/sysfs.h"
#include "config_util.h"

void vm_config_clear_devices(struct vm_config *c)
{
	for (unsigned i = 0; i < c->ndevices; i++)
		free(c->devices[i].path);
	memset(c->devices, 0, sizeof(c->devices));
	c->ndevices = 0;
}

const char *cfg_device_kind_name(int kind)
{
	return kind == DEVICE_VFIO ? "vfio" : "vfio-user";
}

int cfg_parse_device(const char *spec, struct device_config *d, struct bs_err *e)
{
	const char *eq = strchr(spec, '=');
	char shown[80];

	memset(d, 0, sizeof(*d));
	if (eq && (size_t)(eq - spec) == 4 && !strncmp(spec, "vfio", 4))
		d->kind = DEVICE_VFIO;
	else if (eq && (size_t)(eq - spec) == 9 && !strncmp(spec, "vfio-user", 9))
		d->kind = DEVICE_VFIO_USER;
	else
		return bs_errf(e, EINVAL, "--device: '%s' is not vfio=/sys/bus/pci/devices/"
			       "DDDD:BB:DD.F or vfio-user=SOCKET",
			       cfg_show(spec, shown, sizeof(shown)));
	if (!eq[1])
		return bs_errf(e, EINVAL, "--device: %s= needs a path", cfg_device_kind_name(d->kind));
	if (!(d->path = strdup(eq + 1)))
		return bs_errf(e, ENOMEM, "--device: out of memory");
	return 0;
}

static int check_socket(unsigned i, const char *path, struct bs_err *e)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return bs_errf(e, errno, "devices[%u]: vfio-user socket '%s': %s%s", i, path,
			       strerror(errno), errno == ENOENT ?
			       " (start the device server first)" : "");
	if (!S_ISSOCK(st.st_mode))
		return bs_errf(e, ENOTSOCK, "devices[%u]: vfio-user '%s' is not a UNIX socket",
			       i, path);
	if (access(path, W_OK))
		return bs_errf(e, EACCES, "devices[%u]: no permission to connect to vfio-user "
			       "socket '%s'", i, path);
	return 0;
}

int cfg_check_device(unsigned i, const struct device_config *d,
		     const struct vm_config *c, struct bs_err *e)
{
	struct vfio_sysfs_info info;
	char what[32];

	if (!d->path || !*d->path)
		return bs_errf(e, EINVAL, "devices[%u]: needs a path", i);
	if (d->kind != DEVICE_VFIO && d->kind != DEVICE_VFIO_USER)
		return bs_errf(e, EINVAL, "devices[%u]: invalid kind %d", i, (int)d->kind);
	for (unsigned j = 0; j < i; j++)
		if (c->devices[j].kind == d->kind && !strcmp(c->devices[j].path, d->path))
			return bs_errf(e, EINVAL, "devices[%u]: '%s' is already devices[%u]", i,
				       d->path, j);
	if (d->kind == DEVICE_VFIO_USER)
		return check_socket(i, d->path, e);
	snprintf(what, sizeof(what), "devices[%u]", i);
	return vfio_sysfs_check(vfio_sysfs_root(), d->path, what, &info, e);
}

bool cfg_devices_equal(const struct vm_config *a, const struct vm_config *b)
{
	if (a->ndevices != b->ndevices)
		return false;
	for (unsigned i = 0; i < a->ndevices; i++)
		if (a->devices[i].kind != b->devices[i].kind ||
		    strcmp(a->devices[i].path, b->devices[i].path))
			return false;
	return true;
}
