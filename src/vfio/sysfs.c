/* Host PCI function checks for kernel VFIO: see include/basalt/vfio/sysfs.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basalt/vfio/sysfs.h"

/* snprintf for paths; a path too long for buf becomes "" (never found). */
static __attribute__((format(printf, 3, 4))) void pathf(char *buf, size_t len,
							 const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		buf[0] = 0;
}

const char *vfio_sysfs_root(void)
{
	const char *r = getenv("BASALT_SYSFS_ROOT");

	return r ? r : "";
}

/* Basename of the symlink dir/name points to, "" if there is none. */
static void link_name(const char *dir, const char *name, char *out, size_t len)
{
	char p[PATH_MAX], t[PATH_MAX];
	ssize_t n;
	const char *b;

	out[0] = 0;
	pathf(p, sizeof(p), "%s/%s", dir, name);
	n = readlink(p, t, sizeof(t) - 1);
	if (n <= 0)
		return;
	t[n] = 0;
	b = strrchr(t, '/');
	pathf(out, len, "%s", b ? b + 1 : t);
}

static bool bdf_ok(const char *s)
{
	unsigned d, b, dev, fn;
	char end;

	return strlen(s) == 12 && sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &dev, &fn, &end) == 4 &&
	       dev < 32 && fn < 8;
}

static bool is_bridge(const char *dir)
{
	char p[PATH_MAX], cls[32] = "";
	FILE *f;

	pathf(p, sizeof(p), "%s/class", dir);
	f = fopen(p, "r");
	if (!f)
		return false;
	if (!fgets(cls, sizeof(cls), f))
		cls[0] = 0;
	fclose(f);
	return !strncmp(cls, "0x0604", 6);
}

static int check_group(const char *root, int group, const char *self, const char *what,
		       struct bs_err *e)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int r = 0;

	pathf(dir, sizeof(dir), "%s/sys/kernel/iommu_groups/%d/devices", root, group);
	d = opendir(dir);
	if (!d)
		return bs_errf(e, ENODEV, "%s: IOMMU group %d: cannot list its devices: %s",
			       what, group, strerror(errno));
	while (!r && (de = readdir(d))) {
		char mem[PATH_MAX], drv[64];

		if (de->d_name[0] == '.' || !strcmp(de->d_name, self))
			continue;
		pathf(mem, sizeof(mem), "%s/%s", dir, de->d_name);
		link_name(mem, "driver", drv, sizeof(drv));
		if (!drv[0] || !strcmp(drv, "vfio-pci") || !strcmp(drv, "pci-stub") ||
		    is_bridge(mem))
			continue;
		r = bs_errf(e, EBUSY, "%s: IOMMU group %d is not viable: %s in it is bound "
			    "to '%s' (bind every device of the group to vfio-pci, or unbind it)",
			    what, group, de->d_name, drv);
	}
	closedir(d);
	return r;
}

/* iommufd character device: <dev>/vfio-dev/vfioN and /dev/vfio/devices/vfioN,
 * with /dev/iommu. */
static void find_cdev(const char *root, const char *dev, struct vfio_sysfs_info *out)
{
	char dir[PATH_MAX], node[PATH_MAX];
	DIR *d;
	struct dirent *de;

	pathf(dir, sizeof(dir), "%s/vfio-dev", dev);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "vfio", 4))
			continue;
		pathf(node, sizeof(node), "%s/dev/vfio/devices/%s", root, de->d_name);
		if (!access(node, R_OK | W_OK)) {
			pathf(node, sizeof(node), "%s/dev/iommu", root);
			if (!access(node, R_OK | W_OK))
				pathf(out->cdev, sizeof(out->cdev), "/dev/vfio/devices/%s",
					 de->d_name);
		}
		break;
	}
	closedir(d);
}

int vfio_sysfs_check(const char *root, const char *path, const char *what,
		     struct vfio_sysfs_info *out, struct bs_err *e)
{
	char dev[PATH_MAX], real[PATH_MAX], p[PATH_MAX], drv[64], grp[32];
	const char *base;
	char *end;
	long g;

	memset(out, 0, sizeof(*out));
	if (!path || !*path)
		return bs_errf(e, EINVAL, "%s: no PCI device given", what);
	if (path[0] == '/')
		pathf(dev, sizeof(dev), "%s%s", root, path);
	else
		pathf(dev, sizeof(dev), "%s/sys/bus/pci/devices/%s", root, path);
	pathf(p, sizeof(p), "%s/vendor", dev);
	if (access(dev, F_OK))
		return bs_errf(e, ENOENT, "%s: no PCI device at '%s' (lspci -D lists the "
			       "addresses)", what, path);
	if (access(p, F_OK) || !realpath(dev, real))
		return bs_errf(e, ENODEV, "%s: '%s' is not a PCI device directory of sysfs",
			       what, path);
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if (!bdf_ok(base))
		return bs_errf(e, ENODEV, "%s: '%s' is not a PCI device (no DDDD:BB:DD.F "
			       "address)", what, path);
	pathf(out->bdf, sizeof(out->bdf), "%s", base);
	link_name(dev, "driver", drv, sizeof(drv));
	if (!drv[0])
		return bs_errf(e, EBUSY, "%s: %s is bound to no driver; bind it to vfio-pci "
			       "(echo vfio-pci > .../driver_override; echo %s > "
			       "/sys/bus/pci/drivers/vfio-pci/bind)", what, out->bdf, out->bdf);
	if (strcmp(drv, "vfio-pci"))
		return bs_errf(e, EBUSY, "%s: %s is bound to '%s', not vfio-pci (unbind it, "
			       "then echo vfio-pci > .../driver_override and bind it to "
			       "vfio-pci)", what, out->bdf, drv);
	link_name(dev, "iommu_group", grp, sizeof(grp));
	g = strtol(grp, &end, 10);
	if (!grp[0] || *end || g < 0 || g > 1000000)
		return bs_errf(e, ENODEV, "%s: %s has no IOMMU group: the host's IOMMU is "
			       "off (intel_iommu=on / amd_iommu=on) or absent; passthrough "
			       "needs one", what, out->bdf);
	out->group = (int)g;
	if (check_group(root, out->group, out->bdf, what, e))
		return -EBUSY;
	pathf(out->group_dev, sizeof(out->group_dev), "/dev/vfio/%d", out->group);
	find_cdev(root, dev, out);
	if (out->cdev[0])
		return 0;
	pathf(p, sizeof(p), "%s%s", root, out->group_dev);
	if (access(p, F_OK))
		return bs_errf(e, ENOENT, "%s: %s does not exist (is the vfio-pci module "
			       "loaded?)", what, out->group_dev);
	if (access(p, R_OK | W_OK))
		return bs_errf(e, EACCES, "%s: no permission to open %s (IOMMU group of %s)",
			       what, out->group_dev, out->bdf);
	pathf(p, sizeof(p), "%s/dev/vfio/vfio", root);
	if (access(p, R_OK | W_OK))
		return bs_errf(e, errno, "%s: cannot use /dev/vfio/vfio: %s", what,
			       strerror(errno));
	return 0;
}
