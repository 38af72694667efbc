/* Helpers shared by the two config front ends (cli.c, config_json.c). */
#ifndef BASALT_CONFIG_UTIL_H
#define BASALT_CONFIG_UTIL_H

#include <stddef.h>
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

#endif
