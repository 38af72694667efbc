#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <stdlib.h>

#include "basalt/config.h"
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

int cfg_parse_bool(const char *s)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };

	for (unsigned i = 0; i < 4; i++) {
		if (!strcmp(s, yes[i]))
			return 1;
		if (!strcmp(s, no[i]))
			return 0;
	}
	return -1;
}

#define P "--disk: "

int cfg_parse_disk(const char *spec, struct disk_config *d, struct bs_err *e)
{
	char *copy = strdup(spec), *save = NULL, *tok, shown[80];
	int r = 0;

	memset(d, 0, sizeof(*d));
	if (!copy)
		return bs_errf(e, ENOMEM, P "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), **dst = NULL;
		const char *val;
		int b;

		if (!eq) {
			r = bs_errf(e, EINVAL, P "'%s' is not key=value (keys: path, "
				    "readonly, serial, cache, direct)",
				    cfg_show(tok, shown, sizeof(shown)));
			break;
		}
		*eq = '\0';
		val = eq + 1;
		if (!strcmp(tok, "path")) {
			dst = &d->path;
		} else if (!strcmp(tok, "serial")) {
			dst = &d->serial;
		} else if (!strcmp(tok, "readonly")) {
			if ((b = cfg_parse_bool(val)) < 0)
				r = bs_errf(e, EINVAL, P "readonly must be on or off, got '%s'",
					    cfg_show(val, shown, sizeof(shown)));
			d->readonly = b == 1;
		} else if (!strcmp(tok, "direct")) {
			if ((b = cfg_parse_bool(val)) < 0)
				r = bs_errf(e, EINVAL, P "direct must be on or off, got '%s'",
					    cfg_show(val, shown, sizeof(shown)));
			d->direct = b == 1;
		} else if (!strcmp(tok, "cache")) {
			if (!strcmp(val, "writeback"))
				d->cache = DISK_CACHE_WRITEBACK;
			else if (!strcmp(val, "writethrough"))
				d->cache = DISK_CACHE_WRITETHROUGH;
			else
				r = bs_errf(e, EINVAL, P "cache must be writeback or "
					    "writethrough, got '%s'",
					    cfg_show(val, shown, sizeof(shown)));
		} else {
			r = bs_errf(e, EINVAL, P "unknown key '%s' (keys: path, readonly, "
				    "serial, cache, direct)", cfg_show(tok, shown, sizeof(shown)));
		}
		if (dst) {
			if (!*val) {
				r = bs_errf(e, EINVAL, P "%s is empty", tok);
			} else if (*dst) {
				r = bs_errf(e, EINVAL, P "%s given twice", tok);
			} else if (!(*dst = strdup(val))) {
				r = bs_errf(e, ENOMEM, P "out of memory");
			}
		}
	}
	free(copy);
	if (!r && !d->path)
		r = bs_errf(e, EINVAL, P "needs path=FILE (as in --disk path=disk.img)");
	if (r) {
		free(d->path);
		free(d->serial);
		memset(d, 0, sizeof(*d));
	}
	return r;
}
#undef P
