/* struct vm_config: the one validated description of a VM.
 *
 * Filled by the JSON config file (config_json.c) and then by command-line
 * flags (cli.c), which override file values.  vm_config_validate() is run
 * once on the merged result, before anything touches /dev/kvm.  The schema is
 * documented in docs/config.md; keep the two in step. */
#ifndef BASALT_CONFIG_H
#define BASALT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "basalt/err.h"

#define BS_MAX_CPUS 64
#define BS_MIN_MEMORY (16ull << 20)
#define BS_MAX_MEMORY (1ull << 40)
#define BS_DEFAULT_MEMORY (512ull << 20)
#define BS_DEFAULT_EXIT_PORT 0xf4

#define BS_MAX_DISKS 16
#define BS_DISK_SERIAL_MAX 20     /* virtio-blk GET_ID bytes */

#define BS_MAX_NETS 8
#define BS_NET_MAX_QUEUES 16      /* queue pairs per virtio-net device */
#define BS_TAP_NAME_MAX 15        /* IFNAMSIZ - 1 */

#define BS_MAX_DEVICES 6          /* passthrough: PCI slots 26..31 */

enum console_kind { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_NONE };
enum disk_cache { DISK_CACHE_WRITEBACK, DISK_CACHE_WRITETHROUGH };

/* One virtio-blk disk: a raw image file or block device. */
struct disk_config {
	char *path;
	bool readonly;
	char *serial;              /* NULL = none; printable ASCII, <= 20 bytes */
	enum disk_cache cache;     /* writeback: FLUSH = fdatasync; writethrough: O_DSYNC */
	bool direct;               /* O_DIRECT: bypass the host page cache */
};
/* One virtio-net device on a host TAP interface. */
struct net_config {
	char *tap;                 /* interface name */
	uint8_t mac[6];
	bool mac_set;              /* false: 52:54:00 + 3 random bytes at start */
	unsigned queues;           /* queue pairs; 0 = one per vCPU on a multi_queue
				    * tap, else 1 */
	bool create;               /* create the tap (gone when basalt exits)
				    * instead of attaching to an existing one */
};
/* The virtio-balloon device (docs/config.md, "balloon"). */
#define BS_BALLOON_MAX_STATS_INTERVAL 3600
struct balloon_config {
	bool enabled;
	uint64_t target;           /* bytes the balloon holds from boot; 4 KiB multiple */
	unsigned stats_interval;   /* seconds between statistics requests, 0 = on request */
	bool deflate_on_oom;
	bool free_page_reporting;
};

/* One passed-through PCI device: a host function bound to vfio-pci
 * (path: /sys/bus/pci/devices/DDDD:BB:DD.F) or a vfio-user server's
 * UNIX socket. */
enum device_kind { DEVICE_VFIO, DEVICE_VFIO_USER };
struct device_config {
	enum device_kind kind;
	char *path;
};
enum seccomp_mode { SECCOMP_ON, SECCOMP_LOG, SECCOMP_OFF };
#define BS_NO_ID (-1)

struct vm_config {
	char *kernel;      /* path; NULL = default guest image */
	char *initrd;      /* path or NULL */
	char *cmdline;     /* guest kernel command line or NULL */
	unsigned cpus;     /* 1..BS_MAX_CPUS */
	uint64_t memory;   /* bytes, multiple of 2 MiB */
	struct {
		enum console_kind kind;
		char *path;        /* CONSOLE_FILE only */
	} console;
	unsigned timeout_s;        /* 0 = no timeout */
	bool host_quirks;          /* adapt to PVM hosts automatically */
	struct {
		bool enabled;
		uint16_t port;     /* one byte written here = basalt's exit status */
	} exit_dev;
	enum seccomp_mode seccomp; /* per-thread filters (sandbox.h) */
	struct {
		char *dir;         /* pivot_root here after setup; NULL = none */
		int64_t uid, gid;  /* drop to these ids; BS_NO_ID = keep */
	} jail;
	unsigned ndisks;
	struct disk_config disks[BS_MAX_DISKS];
	unsigned nnets;
	struct net_config nets[BS_MAX_NETS];
	unsigned ndevices;
	struct device_config devices[BS_MAX_DEVICES];
	struct balloon_config balloon;
	char *api_socket;          /* control socket path or NULL */
};

/* Defaults: 1 vCPU, 512 MiB, console on stdio, host quirks on, exit device
 * on at port 0xf4, seccomp on, no jail. */
void vm_config_init(struct vm_config *c);
void vm_config_free(struct vm_config *c);
/* Frees the disk list (for a front end replacing it). */
void vm_config_clear_disks(struct vm_config *c);
void vm_config_clear_nets(struct vm_config *c);
void vm_config_clear_devices(struct vm_config *c);
int vm_config_validate(const struct vm_config *c, struct bs_err *e);

/* "512M", "2G", "1048576", "64K", "1T" (binary units, optional "iB"/"B").
 * Returns 0 or -EINVAL (bad syntax) / -ERANGE (overflow). */
int parse_size(const char *s, uint64_t *out);
/* Formats bytes as the largest exact unit ("512M", "3G", "12345"). */
void format_size(uint64_t bytes, char *buf, unsigned len);

/* config_json.c: load FILE into c (fields present in the file overwrite c).
 * Errors are "FILE:LINE:COL: message naming the key". */
int vm_config_load_json(struct vm_config *c, const char *path, struct bs_err *e);
int vm_config_parse_json(struct vm_config *c, const char *text,
			 const char *name, struct bs_err *e);
/* Returns malloc'd JSON text (caller frees) of the effective config; feeding
 * it back through vm_config_parse_json yields an equal config. */
char *vm_config_to_json(const struct vm_config *c);
bool vm_config_equal(const struct vm_config *a, const struct vm_config *b);

#endif
