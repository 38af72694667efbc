#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "config_util.h"

const char *cfg_show(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	if (s[i] && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return buf;
}

int cfg_parse_port(const char *s, uint16_t *out)
{
	const char *p = s;
	unsigned long val = 0;
	unsigned base = 10;
	bool big = false;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		unsigned d;

		if (isdigit((unsigned char)*p))
			d = (unsigned)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			return -EINVAL;
		if (!big)
			val = val * base + d;
		big = big || val > 65535;   /* keep scanning for bad digits */
	}
	if (big || val == 0)
		return -ERANGE;
	*out = (uint16_t)val;
	return 0;
}
