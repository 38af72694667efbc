/* Helpers shared by the two config front ends (cli.c, config_json.c). */
#ifndef BASALT_CONFIG_UTIL_H
#define BASALT_CONFIG_UTIL_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Copies s for a one-line message: control characters become '?', long
 * values are cut with "...".  Returns buf. */
const char *cfg_show(const char *s, char *buf, size_t len);

/* An I/O port as decimal or 0x-hex text.  Returns 0, -EINVAL (not a
 * number) or -ERANGE (outside 1..65535). */
int cfg_parse_port(const char *s, uint16_t *out);

/* A --disk value "path=P[,readonly=on|off][,serial=S]
 * [,cache=writeback|writethrough][,direct=on|off]" into d (zeroed first; strings
 * malloc'd).  Errors start "--disk: "; -EINVAL or -ENOMEM. */
struct disk_config;
struct bs_err;
int cfg_parse_disk(const char *spec, struct disk_config *d, struct bs_err *e);
/* "on"/"off" (also true/false, yes/no, 1/0) -> 1/0, else -1. */
int cfg_parse_bool(const char *s);

/* config_net.c.  A --net value "tap=NAME[,mac=M][,queues=N][,create=on]"
 * into n (zeroed first; tap malloc'd).  Errors start "--net: ". */
struct net_config;
struct vm_config;
int cfg_parse_net(const char *spec, struct net_config *n, struct bs_err *e);
/* "52:54:00:12:34:56" (hex, colons) -> 0, else -EINVAL. */
int cfg_parse_mac(const char *s, uint8_t mac[6]);
void cfg_format_mac(const uint8_t mac[6], char buf[18]);
/* Validation of nets[i] (c holds nets[0..i)): name, MAC, queues, and what
 * sysfs says of the tap (exists, is a tap, multi_queue, permission). */
int cfg_check_net(unsigned i, const struct net_config *n, const struct vm_config *c,
		  struct bs_err *e);
bool cfg_nets_equal(const struct vm_config *a, const struct vm_config *b);

/* config_dev.c.  A --device value "vfio=PATH" or "vfio-user=PATH" into d
 * (path malloc'd).  Errors start "--device: ". */
struct device_config;
int cfg_parse_device(const char *spec, struct device_config *d, struct bs_err *e);
const char *cfg_device_kind_name(int kind);
/* Validation of devices[i] (c holds devices[0..i)): the socket exists and
 * is one we may connect to; the PCI function exists, is bound to
 * vfio-pci, and its IOMMU group is viable.  Nothing is opened. */
int cfg_check_device(unsigned i, const struct device_config *d,
		     const struct vm_config *c, struct bs_err *e);
bool cfg_devices_equal(const struct vm_config *a, const struct vm_config *b);
/* config_ctl.c: the balloon and the control socket.  A --balloon value is
 * "on", "off" or "[target=SIZE][,stats-interval=S][,deflate-on-oom=on|off]
 * [,free-page-reporting=on|off]" (errors start "--balloon: "). */
struct balloon_config;
int cfg_parse_balloon(const char *spec, struct balloon_config *b, struct bs_err *e);
/* Validation: the balloon's target against memory; the socket path fits a
 * sockaddr_un, its directory exists, and nothing live listens on it (a
 * stale socket is replaced at start). */
int cfg_check_balloon(const struct vm_config *c, struct bs_err *e);
int cfg_check_api_socket(const char *path, struct bs_err *e);
bool cfg_ctl_equal(const struct vm_config *a, const struct vm_config *b);

#endif
