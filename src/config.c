/* struct vm_config lifetime and the semantic checks run once on the merged
 * file + flag configuration (see docs/config.md, "Validation").  Messages
 * start with the config key, which is also the flag name without "--". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basalt/config.h"
#include "config_util.h"

void vm_config_init(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->cpus = 1;
	c->memory = BS_DEFAULT_MEMORY;
	c->console.kind = CONSOLE_STDIO;
	c->timeout_s = 0;
	c->host_quirks = true;
	c->exit_dev.enabled = true;
	c->exit_dev.port = BS_DEFAULT_EXIT_PORT;
	c->seccomp = SECCOMP_ON;
	c->jail.uid = c->jail.gid = BS_NO_ID;
}

void vm_config_free(struct vm_config *c)
{
	if (!c)
		return;
	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	free(c->console.path);
	free(c->jail.dir);
	c->kernel = c->initrd = c->cmdline = c->console.path = c->jail.dir = NULL;
	vm_config_clear_disks(c);
	vm_config_clear_nets(c);
	vm_config_clear_devices(c);
	free(c->api_socket);
	c->api_socket = NULL;
}

void vm_config_clear_disks(struct vm_config *c)
{
	for (unsigned i = 0; i < c->ndisks; i++) {
		free(c->disks[i].path);
		free(c->disks[i].serial);
	}
	memset(c->disks, 0, sizeof(c->disks));
	c->ndisks = 0;
}

/* A disk image: a regular file or block device that opens for reading,
 * and for writing unless read-only; the serial fits GET_ID. */
static int check_disk(unsigned i, const struct disk_config *d,
		      const struct vm_config *c, struct bs_err *e)
{
	struct stat st;
	int fd, err;

	if (!d->path || !*d->path)
		return bs_errf(e, EINVAL, "disks[%u]: needs a path", i);
	fd = open(d->path, (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		return bs_errf(e, err, "disks[%u]: cannot open '%s'%s: %s", i, d->path,
			       d->readonly ? "" : " for writing", strerror(err));
	}
	err = fstat(fd, &st) ? errno : 0;
	close(fd);
	if (err)
		return bs_errf(e, err, "disks[%u]: cannot stat '%s': %s", i, d->path,
			       strerror(err));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return bs_errf(e, EINVAL, "disks[%u]: '%s' is not a regular file or "
			       "block device", i, d->path);
	if (d->serial) {
		if (strlen(d->serial) > BS_DISK_SERIAL_MAX)
			return bs_errf(e, EINVAL, "disks[%u]: serial is longer than %u bytes",
				       i, BS_DISK_SERIAL_MAX);
		for (const char *p = d->serial; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				return bs_errf(e, EINVAL, "disks[%u]: serial must be "
					       "printable ASCII", i);
	}
	if (d->cache != DISK_CACHE_WRITEBACK && d->cache != DISK_CACHE_WRITETHROUGH)
		return bs_errf(e, EINVAL, "disks[%u]: invalid cache mode %d", i, (int)d->cache);
	for (unsigned j = 0; j < i; j++)
		if (!strcmp(c->disks[j].path, d->path))
			return bs_errf(e, EINVAL, "disks[%u]: '%s' is already disks[%u]",
				       i, d->path, j);
	return 0;
}

/* I/O ports claimed by basalt's own devices; the exit device must not sit
 * on any of them or its writes would be routed to that device instead. */
static const struct {
	uint16_t first, last;
	const char *owner;
} reserved_ports[] = {
	{ 0x20, 0x21, "PIC master" },
	{ 0x40, 0x43, "PIT" },
	{ 0x60, 0x64, "i8042 keyboard controller" },
	{ 0x70, 0x71, "RTC/CMOS" },
	{ 0x80, 0x80, "POST port" },
	{ 0xa0, 0xa1, "PIC slave" },
	{ 0x4d0, 0x4d1, "PIC ELCR (in-kernel)" },
	{ 0x3f8, 0x3ff, "serial COM1" },
	{ 0x600, 0x602, "ACPI PM registers" },
	{ 0xcf8, 0xcff, "PCI configuration ports" },
};

/* The file must open for reading and be a regular file: a directory or a
 * FIFO would only fail (or block) later, inside the boot loader. */
static int check_file(const char *key, const char *path, struct bs_err *e)
{
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		return bs_errf(e, err, "%s: cannot open '%s': %s", key, path, strerror(err));
	}
	if (fstat(fd, &st) != 0) {
		err = errno;
		close(fd);
		return bs_errf(e, err, "%s: cannot stat '%s': %s", key, path, strerror(err));
	}
	close(fd);
	if (!S_ISREG(st.st_mode))
		return bs_errf(e, EINVAL, "%s: '%s' is not a regular file", key, path);
	return 0;
}

int vm_config_validate(const struct vm_config *c, struct bs_err *e)
{
	char v[32], lo[32], hi[32];
	size_t i;
	int r;

	if (c->cpus < 1 || c->cpus > BS_MAX_CPUS)
		return bs_errf(e, EINVAL, "cpus: out of range (1..%u): %u", BS_MAX_CPUS, c->cpus);
	format_size(c->memory, v, sizeof(v));
	if (c->memory < BS_MIN_MEMORY || c->memory > BS_MAX_MEMORY) {
		format_size(BS_MIN_MEMORY, lo, sizeof(lo));
		format_size(BS_MAX_MEMORY, hi, sizeof(hi));
		return bs_errf(e, ERANGE, "memory: out of range (%s..%s): %s", lo, hi, v);
	}
	if (c->memory % (2ull << 20))
		return bs_errf(e, EINVAL, "memory: must be a multiple of 2M: %s", v);
	switch (c->console.kind) {
	case CONSOLE_STDIO:
	case CONSOLE_NONE:
		break;
	case CONSOLE_FILE:
		if (!c->console.path || !*c->console.path)
			return bs_errf(e, EINVAL, "console: file console needs a path");
		break;
	default:
		return bs_errf(e, EINVAL, "console: invalid kind %d", (int)c->console.kind);
	}
	if (c->kernel && (r = check_file("kernel", c->kernel, e)))
		return r;
	if (c->initrd && (r = check_file("initrd", c->initrd, e)))
		return r;
	if (c->ndisks > BS_MAX_DISKS)
		return bs_errf(e, EINVAL, "disks: at most %u", BS_MAX_DISKS);
	for (unsigned d = 0; d < c->ndisks; d++)
		if ((r = check_disk(d, &c->disks[d], c, e)))
			return r;
	if (c->nnets > BS_MAX_NETS)
		return bs_errf(e, EINVAL, "nets: at most %u", BS_MAX_NETS);
	for (unsigned n = 0; n < c->nnets; n++)
		if ((r = cfg_check_net(n, &c->nets[n], c, e)))
			return r;
	if (c->ndevices > BS_MAX_DEVICES)
		return bs_errf(e, EINVAL, "devices: at most %u", BS_MAX_DEVICES);
	for (unsigned d = 0; d < c->ndevices; d++)
		if ((r = cfg_check_device(d, &c->devices[d], c, e)))
			return r;
	if ((r = cfg_check_balloon(c, e)) || (r = cfg_check_api_socket(c->api_socket, e)))
		return r;
	if (c->seccomp != SECCOMP_ON && c->seccomp != SECCOMP_LOG && c->seccomp != SECCOMP_OFF)
		return bs_errf(e, EINVAL, "seccomp: invalid mode %d", (int)c->seccomp);
	if (c->jail.dir) {
		struct stat st;

		if (stat(c->jail.dir, &st) < 0)
			return bs_errf(e, errno, "jail: cannot use '%s': %s", c->jail.dir,
				       strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return bs_errf(e, ENOTDIR, "jail: '%s' is not a directory", c->jail.dir);
	}
	if ((c->jail.uid == BS_NO_ID) != (c->jail.gid == BS_NO_ID))
		return bs_errf(e, EINVAL, "jail: uid and gid go together (give both)");
	if (c->jail.uid != BS_NO_ID && (c->jail.uid < 0 || c->jail.uid > 0xfffffffe ||
					c->jail.gid < 0 || c->jail.gid > 0xfffffffe))
		return bs_errf(e, ERANGE, "jail: uid/gid out of range (0..4294967294)");
	if (c->exit_dev.enabled) {
		uint16_t port = c->exit_dev.port;

		if (port == 0)
			return bs_errf(e, EINVAL, "exit_device: port 0 is not valid (1..65535)");
		for (i = 0; i < sizeof(reserved_ports) / sizeof(reserved_ports[0]); i++) {
			if (port >= reserved_ports[i].first && port <= reserved_ports[i].last)
				return bs_errf(e, EINVAL,
					       "exit_device: port 0x%x collides with %s (0x%x-0x%x)",
					       port, reserved_ports[i].owner,
					       reserved_ports[i].first, reserved_ports[i].last);
		}
	}
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static bool disks_equal(const struct vm_config *a, const struct vm_config *b)
{
	if (a->ndisks != b->ndisks)
		return false;
	for (unsigned i = 0; i < a->ndisks; i++)
		if (!str_eq(a->disks[i].path, b->disks[i].path) ||
		    a->disks[i].readonly != b->disks[i].readonly ||
		    !str_eq(a->disks[i].serial, b->disks[i].serial) ||
		    a->disks[i].cache != b->disks[i].cache ||
		    a->disks[i].direct != b->disks[i].direct)
			return false;
	return true;
}

bool vm_config_equal(const struct vm_config *a, const struct vm_config *b)
{
	return disks_equal(a, b) && cfg_nets_equal(a, b) && cfg_devices_equal(a, b) &&
	       cfg_ctl_equal(a, b) && str_eq(a->kernel, b->kernel) && str_eq(a->initrd, b->initrd) &&
	       str_eq(a->cmdline, b->cmdline) && a->cpus == b->cpus &&
	       a->memory == b->memory && a->console.kind == b->console.kind &&
	       (a->console.kind != CONSOLE_FILE || str_eq(a->console.path, b->console.path)) &&
	       a->timeout_s == b->timeout_s && a->host_quirks == b->host_quirks &&
	       a->exit_dev.enabled == b->exit_dev.enabled &&
	       a->exit_dev.port == b->exit_dev.port && a->seccomp == b->seccomp &&
	       str_eq(a->jail.dir, b->jail.dir) && a->jail.uid == b->jail.uid &&
	       a->jail.gid == b->jail.gid;
}
