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

#endif
