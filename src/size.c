/* Byte sizes with binary unit suffixes, as used by "memory" in the config
 * file and by --memory: "512M", "2G", "64K", "1T", "1048576", optionally
 * followed by "iB" or "B" ("512MiB", "512MB").  Units are powers of 1024;
 * the unit letter and suffix are case-insensitive.  No sign, no fraction,
 * no whitespace. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "basalt/config.h"

/* Index i stands for 1024^(i+1). */
static const char unit_letters[] = "KMGTPE";

int parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	const char *u;
	uint64_t v = 0;
	unsigned shift = 0;
	bool overflow = false;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	if (*p && (u = strchr(unit_letters, toupper((unsigned char)*p)))) {
		shift = 10 * (unsigned)(u - unit_letters + 1);
		p++;
		if (tolower((unsigned char)p[0]) == 'i' && tolower((unsigned char)p[1]) == 'b')
			p += 2;
		else if (tolower((unsigned char)*p) == 'b')
			p++;
	} else if (tolower((unsigned char)*p) == 'b') {
		p++;
	}
	/* Syntax first, so "1.5G" is -EINVAL even with a huge mantissa. */
	if (*p)
		return -EINVAL;
	if (overflow || (shift && v > (UINT64_MAX >> shift)))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void format_size(uint64_t bytes, char *buf, unsigned len)
{
	int i;

	if (!buf || !len)
		return;
	for (i = (int)sizeof(unit_letters) - 2; i >= 0 && bytes; i--) {
		unsigned shift = 10 * (unsigned)(i + 1);

		if (!(bytes & ((UINT64_C(1) << shift) - 1))) {
			snprintf(buf, len, "%" PRIu64 "%c", bytes >> shift, unit_letters[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, bytes);
}
