/* The JSON config file (schema: docs/config.md).
 *
 * jansson does the parsing (duplicate keys rejected); this file checks the
 * schema and turns every problem into one line "FILE:LINE:COL: message".
 * jansson only knows positions for syntax errors, so for schema errors the
 * position of the offending key's value is recomputed from the text by a
 * small scanner that walks the objects key by key (a plain string search
 * would find the wrong occurrence when a name appears in two objects). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/config.h"
#include "basalt/log.h"
#include "config_util.h"

/* A config file is a few hundred bytes; anything this big is a mistake. */
#define MAX_CONFIG_FILE (1u << 20)
#define MAX_TIMEOUT_S INT_MAX

static const char *const top_keys[] = {
	"kernel", "initrd", "cmdline", "cpus", "memory", "console",
	"timeout", "host_quirks", "exit_device", "seccomp", "jail", "disks", "nets", "devices",
	"balloon", "api_socket", NULL,
};
static const char *const exit_dev_keys[] = { "enabled", "port", NULL };
static const char *const jail_keys[] = { "dir", "uid", "gid", NULL };
static const char *const balloon_keys[] = { "target", "stats_interval", "deflate_on_oom",
					    "free_page_reporting", NULL };
static const char *const net_keys[] = { "tap", "mac", "queues", "create", NULL };
static const char *const disk_keys[] = { "path", "readonly", "serial", "cache", "direct",
					 NULL };
static const char *const seccomp_names[] = {
	[SECCOMP_ON] = "on", [SECCOMP_LOG] = "log", [SECCOMP_OFF] = "off",
};

/* ---- position scanner ---------------------------------------------------
 * Works on byte offsets into text jansson has already accepted, but stays
 * bounded and fails softly (returns -1) on anything unexpected. */

struct scan {
	const char *s;
	size_t n, i;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->n && is_ws(sc->s[sc->i]))
		sc->i++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		char c = p[k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the raw string body p[0..len) (escapes as in RFC 8259 section 7)
 * into a malloc'd NUL-terminated string; the output is never longer. */
static char *decode_string(const char *p, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < len) {
		char c = p[i++];
		unsigned cp, lo;

		if (c != '\\') {
			*o++ = c;
			continue;
		}
		if (i >= len)
			goto bad;
		c = p[i++];
		switch (c) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (len - i < 4 || hex4(p + i, &cp))
				goto bad;
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && len - i >= 6 && p[i] == '\\' &&
			    p[i + 1] == 'u' && !hex4(p + i + 2, &lo) &&
			    lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			o += put_utf8(o, cp);
			break;
		default: *o++ = c; break;	/* '"', '\\', '/' */
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* At a '"': moves past the closing quote; with out, stores the decoded
 * string (caller frees). */
static int scan_string(struct scan *sc, char **out)
{
	size_t start;

	if (sc->i >= sc->n || sc->s[sc->i] != '"')
		return -1;
	start = ++sc->i;
	while (sc->i < sc->n) {
		char c = sc->s[sc->i];

		if (c == '"') {
			sc->i++;
			if (out && !(*out = decode_string(sc->s + start, sc->i - 1 - start)))
				return -1;
			return 0;
		}
		sc->i += c == '\\' ? 2 : 1;
	}
	return -1;
}

static bool ends_scalar(char c)
{
	return !c || is_ws(c) || c == ',' || c == ':' || c == ']' || c == '}' ||
	       c == '[' || c == '{' || c == '"';
}

/* Moves past one complete value (scalar, string, array or object). */
static int skip_value(struct scan *sc)
{
	unsigned depth = 0;

	do {
		char c;

		skip_ws(sc);
		if (sc->i >= sc->n)
			return -1;
		c = sc->s[sc->i];
		if (c == '"') {
			if (scan_string(sc, NULL))
				return -1;
		} else if (c == '{' || c == '[') {
			depth++;
			sc->i++;
		} else if (c == '}' || c == ']' || c == ',' || c == ':') {
			if (!depth)
				return -1;
			if (c == '}' || c == ']')
				depth--;
			sc->i++;
		} else {
			size_t from = sc->i;

			while (sc->i < sc->n && !ends_scalar(sc->s[sc->i]))
				sc->i++;
			if (sc->i == from)
				return -1;
		}
	} while (depth);
	return 0;
}

/* Finds the offset of the value at path[0..n) (n == 0: the document). */
/* Consumes c (after optional white space before it); false if absent. */
static bool eat(struct scan *sc, char c)
{
	skip_ws(sc);
	if (sc->i >= sc->n || sc->s[sc->i] != c)
		return false;
	sc->i++;
	skip_ws(sc);
	return true;
}

static int find_value(struct scan *sc, const char *const *path, unsigned n, size_t *off)
{
	skip_ws(sc);
	while (n) {
		if (path[0][0] == '#') {
			/* Element N of an array: skip N values. */
			unsigned long k = strtoul(path[0] + 1, NULL, 10);

			if (!eat(sc, '['))
				return -1;
			while (k--)
				if (skip_value(sc) || !eat(sc, ','))
					return -1;
		} else {
			if (!eat(sc, '{'))
				return -1;
			for (;;) {
				char *key;
				bool match;

				if (scan_string(sc, &key))
					return -1;
				match = !strcmp(key, path[0]);
				free(key);
				if (!eat(sc, ':'))
					return -1;
				if (match)
					break;
				if (skip_value(sc) || !eat(sc, ','))
					return -1;
			}
		}
		path++;
		n--;
	}
	if (sc->i >= sc->n)
		return -1;
	*off = sc->i;
	return 0;
}

/* 1-based line and column of byte off; columns count code points, like
 * jansson's own error positions. */
static void line_col(const char *s, size_t off, unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && s[i]; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* ---- error reporting ---------------------------------------------------- */

struct jctx {
	const char *text;
	size_t len;
	const char *name;
	struct bs_err *e;
};

/* "NAME:LINE:COL: message" with the position of the value at path (object
 * keys; "#N" for element N of an array), or of the whole document (n 0). */
static int __attribute__((format(printf, 5, 6)))
key_errf_path(const struct jctx *x, int errnum, const char *const *path, unsigned n,
	      const char *fmt, ...)
{
	struct scan sc = { x->text, x->len, 0 };
	unsigned line = 1, col = 1;
	char msg[400];
	size_t off;
	va_list ap;

	if (!find_value(&sc, path, n, &off))
		line_col(x->text, off, &line, &col);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bs_errf(x->e, errnum, "%s:%u:%u: %s", x->name, line, col, msg);
}

/* The same for the value of k1[.k2] (k1 == NULL: the whole document). */
#define key_errf(x, errnum, k1, k2, ...)                                        \
	key_errf_path((x), (errnum), (const char *[]){ (k1), (k2) },              \
		      (k1) ? ((k2) ? 2u : 1u) : 0u, __VA_ARGS__)

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "real";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

/* Case-insensitive Levenshtein distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The suggestion for an unknown key: " (did you mean 'x'?)" or "". */
static void suggest(const char *key, const char *const *known, char *hint, size_t len)
{
	const char *best = NULL;
	size_t best_d = 3, d;

	hint[0] = '\0';
	for (; *known; known++) {
		d = edit_distance(key, *known);
		if (d < best_d && d < strlen(*known)) {
			best = *known;
			best_d = d;
		}
	}
	if (best)
		snprintf(hint, len, " (did you mean '%s'?)", best);
}

static int unknown_key(const struct jctx *x, const char *parent, const char *key,
		       const char *const *known)
{
	char k[80], hint[64], where[64] = "";

	suggest(key, known, hint, sizeof(hint));
	if (parent)
		snprintf(where, sizeof(where), " in '%s'", parent);
	return key_errf(x, EINVAL, parent ? parent : key, parent ? key : NULL,
			"unknown key '%s'%s%s", cfg_show(key, k, sizeof(k)), where, hint);
}

/* ---- schema ------------------------------------------------------------- */

/* "kernel"/"initrd" (non-empty path) and "cmdline" (any string); null
 * restores the default (unset). */
static int set_string(const struct jctx *x, const char *key, json_t *v, bool path, char **dst)
{
	char *s = NULL;

	if (json_is_string(v)) {
		if (path && !json_string_length(v))
			return key_errf(x, EINVAL, key, NULL, "'%s' must not be empty", key);
		if (!(s = strdup(json_string_value(v))))
			return bs_errf(x->e, ENOMEM, "%s: out of memory", x->name);
	} else if (!json_is_null(v)) {
		return key_errf(x, EINVAL, key, NULL, "'%s' must be a string or null, got %s",
				key, type_name(v));
	}
	free(*dst);
	*dst = s;
	return 0;
}

/* Integer in lo..hi; k2 names a nested key. */
static int get_int(const struct jctx *x, const char *k1, const char *k2, json_t *v,
		   json_int_t lo, json_int_t hi, json_int_t *out)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s%s", k1, k2 ? "." : "", k2 ? k2 : "");
	if (!json_is_integer(v))
		return key_errf(x, EINVAL, k1, k2, "'%s' must be an integer, got %s", name,
				type_name(v));
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return key_errf(x, ERANGE, k1, k2,
				"'%s' out of range (%" JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT
				"): %" JSON_INTEGER_FORMAT, name, lo, hi, *out);
	return 0;
}

static int set_memory(const struct jctx *x, json_t *v, uint64_t *dst)
{
	char shown[80], a[32], lo[32], hi[32];
	uint64_t bytes;
	int r;

	if (json_is_string(v)) {
		r = parse_size(json_string_value(v), &bytes);
		if (r == -EINVAL)
			return key_errf(x, EINVAL, "memory", NULL, "'memory' is not a valid size: '%s'",
					cfg_show(json_string_value(v), shown, sizeof(shown)));
		if (r)
			bytes = UINT64_MAX;	/* reported as out of range below */
	} else if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return key_errf(x, ERANGE, "memory", NULL,
					"'memory' must not be negative: %" JSON_INTEGER_FORMAT,
					json_integer_value(v));
		bytes = (uint64_t)json_integer_value(v);
	} else {
		return key_errf(x, EINVAL, "memory", NULL,
				"'memory' must be a size string or an integer, got %s", type_name(v));
	}
	format_size(bytes, a, sizeof(a));
	if (bytes < BS_MIN_MEMORY || bytes > BS_MAX_MEMORY) {
		format_size(BS_MIN_MEMORY, lo, sizeof(lo));
		format_size(BS_MAX_MEMORY, hi, sizeof(hi));
		if (json_is_string(v))
			cfg_show(json_string_value(v), a, sizeof(a));
		return key_errf(x, ERANGE, "memory", NULL, "'memory' out of range (%s..%s): %s",
				lo, hi, a);
	}
	if (bytes % (2ull << 20))
		return key_errf(x, EINVAL, "memory", NULL,
				"'memory' must be a multiple of 2M: %s", a);
	*dst = bytes;
	return 0;
}

static int set_console(const struct jctx *x, json_t *v, struct vm_config *c)
{
	const char *s;
	char shown[80], *path = NULL;
	enum console_kind kind;

	if (!json_is_string(v))
		return key_errf(x, EINVAL, "console", NULL, "'console' must be a string, got %s",
				type_name(v));
	s = json_string_value(v);
	if (!strcmp(s, "stdio")) {
		kind = CONSOLE_STDIO;
	} else if (!strcmp(s, "none")) {
		kind = CONSOLE_NONE;
	} else if (!strncmp(s, "file:", 5)) {
		if (!s[5])
			return key_errf(x, EINVAL, "console", NULL,
					"'console' needs a path after 'file:'");
		if (!(path = strdup(s + 5)))
			return bs_errf(x->e, ENOMEM, "%s: out of memory", x->name);
		kind = CONSOLE_FILE;
	} else {
		return key_errf(x, EINVAL, "console", NULL,
				"'console' must be stdio, none or file:PATH, got '%s'",
				cfg_show(s, shown, sizeof(shown)));
	}
	free(c->console.path);
	c->console.path = path;
	c->console.kind = kind;
	return 0;
}

/* Port as an integer or a string "0xf4" / "244". */
static int get_port(const struct jctx *x, json_t *v, uint16_t *out)
{
	const char *s;
	char shown[80];
	json_int_t i;
	int r;

	if (!json_is_string(v)) {
		if (!json_is_integer(v))
			return key_errf(x, EINVAL, "exit_device", "port",
					"'exit_device.port' must be an integer or a string, got %s",
					type_name(v));
		if ((r = get_int(x, "exit_device", "port", v, 1, 65535, &i)))
			return r;
		*out = (uint16_t)i;
		return 0;
	}
	s = json_string_value(v);
	r = cfg_parse_port(s, out);
	if (r == -ERANGE)
		return key_errf(x, ERANGE, "exit_device", "port",
				"'exit_device.port' out of range (1..65535): '%s'",
				cfg_show(s, shown, sizeof(shown)));
	if (r)
		return key_errf(x, EINVAL, "exit_device", "port",
				"'exit_device.port' is not a port number: '%s'",
				cfg_show(s, shown, sizeof(shown)));
	return 0;
}

static int set_exit_device(const struct jctx *x, json_t *v, struct vm_config *c)
{
	const char *key;
	json_t *m;
	int r;

	if (!json_is_object(v))
		return key_errf(x, EINVAL, "exit_device", NULL,
				"'exit_device' must be an object, got %s", type_name(v));
	json_object_foreach(v, key, m) {
		if (!strcmp(key, "enabled")) {
			if (!json_is_boolean(m))
				return key_errf(x, EINVAL, "exit_device", key,
						"'exit_device.enabled' must be a boolean, got %s",
						type_name(m));
			c->exit_dev.enabled = json_is_true(m);
		} else if (!strcmp(key, "port")) {
			if ((r = get_port(x, m, &c->exit_dev.port)))
				return r;
		} else {
			return unknown_key(x, "exit_device", key, exit_dev_keys);
		}
	}
	return 0;
}

/* Applies root's members to c in document order, so the first bad key in
 * the file is the one reported. */
static int set_seccomp(const struct jctx *x, json_t *v, struct vm_config *c)
{
	char shown[80];

	if (!json_is_string(v))
		return key_errf(x, EINVAL, "seccomp", NULL,
				"'seccomp' must be a string, got %s", type_name(v));
	for (unsigned m = 0; m < sizeof(seccomp_names) / sizeof(seccomp_names[0]); m++) {
		if (!strcmp(json_string_value(v), seccomp_names[m])) {
			c->seccomp = (enum seccomp_mode)m;
			return 0;
		}
	}
	return key_errf(x, EINVAL, "seccomp", NULL,
			"'seccomp' must be \"on\", \"log\" or \"off\", got '%s'",
			cfg_show(json_string_value(v), shown, sizeof(shown)));
}

/* "jail": { "dir": path|null, "uid": int|null, "gid": int|null } */
static int set_jail(const struct jctx *x, json_t *v, struct vm_config *c)
{
	const char *key;
	json_int_t n;
	json_t *m;
	int r;

	if (!json_is_object(v))
		return key_errf(x, EINVAL, "jail", NULL,
				"'jail' must be an object, got %s", type_name(v));
	json_object_foreach(v, key, m) {
		if (!strcmp(key, "dir")) {
			if (json_is_null(m)) {
				free(c->jail.dir);
				c->jail.dir = NULL;
			} else if (!json_is_string(m) || !json_string_length(m)) {
				return key_errf(x, EINVAL, "jail", key,
						"'jail.dir' must be a non-empty string or null");
			} else {
				char *d = strdup(json_string_value(m));

				if (!d)
					return bs_errf(x->e, ENOMEM, "%s: out of memory", x->name);
				free(c->jail.dir);
				c->jail.dir = d;
			}
		} else if (!strcmp(key, "uid") || !strcmp(key, "gid")) {
			int64_t *dst = key[0] == 'u' ? &c->jail.uid : &c->jail.gid;

			if (json_is_null(m)) {
				*dst = BS_NO_ID;
				continue;
			}
			if ((r = get_int(x, "jail", key, m, 0, 0xfffffffe, &n)))
				return r;
			*dst = n;
		} else {
			return unknown_key(x, "jail", key, jail_keys);
		}
	}
	return 0;
}

/* "disks": [ { "path": str, "readonly": bool, "serial": str|null,
 * "cache": "writeback"|"writethrough" }, ... ].  Errors point at the
 * offending element or member (key_errf_path with an index). */
static int set_disks(const struct jctx *x, json_t *v, struct vm_config *c)
{
	size_t i;
	json_t *el;

	if (!json_is_array(v))
		return key_errf(x, EINVAL, "disks", NULL,
				"'disks' must be an array, got %s", type_name(v));
	if (json_array_size(v) > BS_MAX_DISKS)
		return key_errf(x, EINVAL, "disks", NULL, "'disks' has %zu entries, "
				"at most %u", json_array_size(v), BS_MAX_DISKS);
	vm_config_clear_disks(c);
	json_array_foreach(v, i, el) {
		struct disk_config *d = &c->disks[i];
		char idx[24];
		const char *key;
		json_t *m;

		snprintf(idx, sizeof(idx), "#%zu", i);
		c->ndisks = (unsigned)i + 1;
		if (!json_is_object(el))
			return key_errf_path(x, EINVAL, (const char *[]){ "disks", idx }, 2,
					     "'disks[%zu]' must be an object, got %s", i,
					     type_name(el));
		json_object_foreach(el, key, m) {
			const char *path[3] = { "disks", idx, key };

			if (!strcmp(key, "path") || !strcmp(key, "serial")) {
				char **dst = key[0] == 'p' ? &d->path : &d->serial;

				if (key[0] == 's' && json_is_null(m))
					continue;
				if (!json_is_string(m) || !json_string_length(m))
					return key_errf_path(x, EINVAL, path, 3,
							     "'disks[%zu].%s' must be a non-empty "
							     "string%s", i, key,
							     key[0] == 's' ? " or null" : "");
				free(*dst);
				if (!(*dst = strdup(json_string_value(m))))
					return bs_errf(x->e, ENOMEM, "%s: out of memory", x->name);
			} else if (!strcmp(key, "readonly") || !strcmp(key, "direct")) {
				if (!json_is_boolean(m))
					return key_errf_path(x, EINVAL, path, 3,
							     "'disks[%zu].%s' must be a "
							     "boolean, got %s", i, key, type_name(m));
				*(key[0] == 'r' ? &d->readonly : &d->direct) = json_is_true(m);
			} else if (!strcmp(key, "cache")) {
				const char *s = json_is_string(m) ? json_string_value(m) : "";

				if (!strcmp(s, "writeback"))
					d->cache = DISK_CACHE_WRITEBACK;
				else if (!strcmp(s, "writethrough"))
					d->cache = DISK_CACHE_WRITETHROUGH;
				else
					return key_errf_path(x, EINVAL, path, 3,
							     "'disks[%zu].cache' must be "
							     "\"writeback\" or \"writethrough\"", i);
			} else {
				char shown[80], hint[64];

				suggest(key, disk_keys, hint, sizeof(hint));
				return key_errf_path(x, EINVAL, path, 3,
						     "unknown key '%s' in 'disks[%zu]'%s",
						     cfg_show(key, shown, sizeof(shown)), i, hint);
			}
		}
		if (!d->path)
			return key_errf_path(x, EINVAL, (const char *[]){ "disks", idx }, 2,
					     "'disks[%zu]' needs a \"path\"", i);
	}
	return 0;
}

/* "nets": [ { "tap": str, "mac": str|null, "queues": int|null,
 * "create": bool }, ... ]. */
static int set_nets(const struct jctx *x, json_t *v, struct vm_config *c)
{
	size_t i;
	json_t *el;

	if (!json_is_array(v))
		return key_errf(x, EINVAL, "nets", NULL,
				"'nets' must be an array, got %s", type_name(v));
	if (json_array_size(v) > BS_MAX_NETS)
		return key_errf(x, EINVAL, "nets", NULL, "'nets' has %zu entries, "
				"at most %u", json_array_size(v), BS_MAX_NETS);
	vm_config_clear_nets(c);
	json_array_foreach(v, i, el) {
		struct net_config *n = &c->nets[i];
		char idx[24];
		const char *key;
		json_t *m;

		snprintf(idx, sizeof(idx), "#%zu", i);
		c->nnets = (unsigned)i + 1;
		if (!json_is_object(el))
			return key_errf_path(x, EINVAL, (const char *[]){ "nets", idx }, 2,
					     "'nets[%zu]' must be an object, got %s", i,
					     type_name(el));
		json_object_foreach(el, key, m) {
			const char *path[3] = { "nets", idx, key };

			if (!strcmp(key, "tap")) {
				if (!json_is_string(m) || !json_string_length(m))
					return key_errf_path(x, EINVAL, path, 3,
							     "'nets[%zu].tap' must be a non-empty "
							     "string", i);
				free(n->tap);
				if (!(n->tap = strdup(json_string_value(m))))
					return bs_errf(x->e, ENOMEM, "%s: out of memory", x->name);
			} else if (!strcmp(key, "mac")) {
				if (json_is_null(m))
					continue;
				if (!json_is_string(m) || cfg_parse_mac(json_string_value(m), n->mac))
					return key_errf_path(x, EINVAL, path, 3,
							     "'nets[%zu].mac' must be a MAC address "
							     "like \"52:54:00:12:34:56\" or null", i);
				n->mac_set = true;
			} else if (!strcmp(key, "queues")) {
				if (json_is_null(m))
					continue;
				if (!json_is_integer(m) || json_integer_value(m) < 1 ||
				    json_integer_value(m) > BS_NET_MAX_QUEUES)
					return key_errf_path(x, EINVAL, path, 3,
							     "'nets[%zu].queues' must be an integer "
							     "1..%u or null", i, BS_NET_MAX_QUEUES);
				n->queues = (unsigned)json_integer_value(m);
			} else if (!strcmp(key, "create")) {
				if (!json_is_boolean(m))
					return key_errf_path(x, EINVAL, path, 3,
							     "'nets[%zu].create' must be a boolean, "
							     "got %s", i, type_name(m));
				n->create = json_is_true(m);
			} else {
				char shown[80], hint[64];

				suggest(key, net_keys, hint, sizeof(hint));
				return key_errf_path(x, EINVAL, path, 3,
						     "unknown key '%s' in 'nets[%zu]'%s",
						     cfg_show(key, shown, sizeof(shown)), i, hint);
			}
		}
		if (!n->tap)
			return key_errf_path(x, EINVAL, (const char *[]){ "nets", idx }, 2,
					     "'nets[%zu]' needs a \"tap\"", i);
	}
	return 0;
}

/* "balloon": null (none) or { "target": size, "stats_interval": int,
 * "deflate_on_oom": bool, "free_page_reporting": bool }; an object turns
 * the device on, keys not given keep their defaults. */
static int set_balloon(const struct jctx *x, json_t *v, struct vm_config *c)
{
	struct balloon_config *b = &c->balloon;
	char shown[80];
	const char *key;
	json_int_t n;
	json_t *m;
	int r;

	memset(b, 0, sizeof(*b));
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return key_errf(x, EINVAL, "balloon", NULL,
				"'balloon' must be an object or null, got %s", type_name(v));
	b->enabled = true;
	json_object_foreach(v, key, m) {
		if (!strcmp(key, "target")) {
			if (json_is_integer(m) && json_integer_value(m) >= 0) {
				b->target = (uint64_t)json_integer_value(m);
			} else if (!json_is_string(m) ||
				   parse_size(json_string_value(m), &b->target)) {
				return key_errf(x, EINVAL, "balloon", key,
						"'balloon.target' must be a size like \"512M\" "
						"or a byte count, got %s",
						json_is_string(m) ? cfg_show(json_string_value(m),
									   shown, sizeof(shown)) :
								    type_name(m));
			}
		} else if (!strcmp(key, "stats_interval")) {
			if ((r = get_int(x, "balloon", key, m, 0,
					 BS_BALLOON_MAX_STATS_INTERVAL, &n)))
				return r;
			b->stats_interval = (unsigned)n;
		} else if (!strcmp(key, "deflate_on_oom") ||
			   !strcmp(key, "free_page_reporting")) {
			if (!json_is_boolean(m))
				return key_errf(x, EINVAL, "balloon", key,
						"'balloon.%s' must be a boolean, got %s", key,
						type_name(m));
			*(key[0] == 'd' ? &b->deflate_on_oom : &b->free_page_reporting) =
				json_is_true(m);
		} else {
			return unknown_key(x, "balloon", key, balloon_keys);
		}
	}
	return 0;
}

/* "devices": [ { "vfio": str } | { "vfio-user": str }, ... ]. */
static int set_devices(const struct jctx *x, json_t *v, struct vm_config *c)
{
	size_t i;
	json_t *el;

	if (!json_is_array(v))
		return key_errf(x, EINVAL, "devices", NULL,
				"'devices' must be an array, got %s", type_name(v));
	if (json_array_size(v) > BS_MAX_DEVICES)
		return key_errf(x, EINVAL, "devices", NULL, "'devices' has %zu entries, "
				"at most %u", json_array_size(v), BS_MAX_DEVICES);
	vm_config_clear_devices(c);
	json_array_foreach(v, i, el) {
		struct device_config *d = &c->devices[i];
		char idx[24];
		const char *key;
		json_t *m;

		snprintf(idx, sizeof(idx), "#%zu", i);
		c->ndevices = (unsigned)i + 1;
		if (!json_is_object(el) || json_object_size(el) != 1)
			return key_errf_path(x, EINVAL, (const char *[]){ "devices", idx }, 2,
					     "'devices[%zu]' must be an object with one key, "
					     "\"vfio\" or \"vfio-user\"", i);
		json_object_foreach(el, key, m) {
			const char *path[3] = { "devices", idx, key };

			if (strcmp(key, "vfio") && strcmp(key, "vfio-user")) {
				char shown[80];

				return key_errf_path(x, EINVAL, path, 3,
						     "unknown key '%s' in 'devices[%zu]' (keys: "
						     "vfio, vfio-user)",
						     cfg_show(key, shown, sizeof(shown)), i);
			}
			if (!json_is_string(m) || !json_string_length(m))
				return key_errf_path(x, EINVAL, path, 3,
						     "'devices[%zu].%s' must be a non-empty string",
						     i, key);
			d->kind = strcmp(key, "vfio") ? DEVICE_VFIO_USER : DEVICE_VFIO;
			if (!(d->path = strdup(json_string_value(m))))
				return bs_errf(x->e, ENOMEM, "%s: out of memory", x->name);
		}
	}
	return 0;
}

static int apply(const struct jctx *x, json_t *root, struct vm_config *c)
{
	const char *key;
	json_int_t n;
	json_t *v;
	int r;

	json_object_foreach(root, key, v) {
		if (!strcmp(key, "kernel")) {
			r = set_string(x, key, v, true, &c->kernel);
		} else if (!strcmp(key, "initrd")) {
			r = set_string(x, key, v, true, &c->initrd);
		} else if (!strcmp(key, "cmdline")) {
			r = set_string(x, key, v, false, &c->cmdline);
		} else if (!strcmp(key, "cpus")) {
			if (!(r = get_int(x, key, NULL, v, 1, BS_MAX_CPUS, &n)))
				c->cpus = (unsigned)n;
		} else if (!strcmp(key, "memory")) {
			r = set_memory(x, v, &c->memory);
		} else if (!strcmp(key, "console")) {
			r = set_console(x, v, c);
		} else if (!strcmp(key, "timeout")) {
			if (!(r = get_int(x, key, NULL, v, 0, MAX_TIMEOUT_S, &n)))
				c->timeout_s = (unsigned)n;
		} else if (!strcmp(key, "host_quirks")) {
			if (!json_is_boolean(v))
				r = key_errf(x, EINVAL, key, NULL,
					     "'host_quirks' must be a boolean, got %s",
					     type_name(v));
			else
				c->host_quirks = json_is_true(v);
		} else if (!strcmp(key, "exit_device")) {
			r = set_exit_device(x, v, c);
		} else if (!strcmp(key, "seccomp")) {
			r = set_seccomp(x, v, c);
		} else if (!strcmp(key, "jail")) {
			r = set_jail(x, v, c);
		} else if (!strcmp(key, "disks")) {
			r = set_disks(x, v, c);
		} else if (!strcmp(key, "nets")) {
			r = set_nets(x, v, c);
		} else if (!strcmp(key, "devices")) {
			r = set_devices(x, v, c);
		} else if (!strcmp(key, "balloon")) {
			r = set_balloon(x, v, c);
		} else if (!strcmp(key, "api_socket")) {
			r = set_string(x, key, v, true, &c->api_socket);
		} else {
			r = unknown_key(x, NULL, key, top_keys);
		}
		if (r)
			return r;
	}
	return 0;
}

/* jansson reports a duplicate key at the byte just after it; report it at
 * its value instead, like every other key error, with the key's name. */
static int duplicate_key(const struct jctx *x, const json_error_t *je)
{
	struct scan sc = { x->text, x->len, 0 };
	size_t end = (size_t)je->position, start;
	unsigned line, col;
	char *key = NULL, k[80];

	while (sc.i < sc.n && sc.i < end) {
		if (sc.s[sc.i] != '"') {
			sc.i++;
			continue;
		}
		start = sc.i;
		if (scan_string(&sc, NULL))
			break;
		if (sc.i != end)
			continue;
		sc.i = start;
		if (scan_string(&sc, &key))
			break;
		skip_ws(&sc);
		if (sc.i < sc.n && sc.s[sc.i] == ':')
			sc.i++;
		skip_ws(&sc);
		line_col(x->text, sc.i, &line, &col);
		bs_errf(x->e, EINVAL, "%s:%u:%u: duplicate key '%s'", x->name, line, col,
			cfg_show(key, k, sizeof(k)));
		free(key);
		return -EINVAL;
	}
	return bs_errf(x->e, EINVAL, "%s:%d:%d: duplicate key (%s)", x->name,
		       je->line > 0 ? je->line : 1, je->column > 0 ? je->column : 1,
		       cfg_show(je->text, k, sizeof(k)));
}

static int copy_config(struct vm_config *dst, const struct vm_config *src)
{
	bool oom = false;

	*dst = *src;
	/* Nothing in dst may alias src, even half way through: on failure
	 * vm_config_free(dst) frees whatever was copied. */
	for (unsigned i = 0; i < src->ndisks; i++)
		dst->disks[i].path = dst->disks[i].serial = NULL;
	for (unsigned i = 0; i < src->nnets; i++)
		dst->nets[i].tap = NULL;
	for (unsigned i = 0; i < src->ndevices; i++)
		dst->devices[i].path = NULL;
	dst->kernel = src->kernel ? strdup(src->kernel) : NULL;
	dst->initrd = src->initrd ? strdup(src->initrd) : NULL;
	dst->cmdline = src->cmdline ? strdup(src->cmdline) : NULL;
	dst->console.path = src->console.path ? strdup(src->console.path) : NULL;
	dst->jail.dir = src->jail.dir ? strdup(src->jail.dir) : NULL;
	dst->api_socket = src->api_socket ? strdup(src->api_socket) : NULL;
	for (unsigned i = 0; i < src->ndisks && !oom; i++) {
		dst->disks[i].path = src->disks[i].path ? strdup(src->disks[i].path) : NULL;
		dst->disks[i].serial = src->disks[i].serial ? strdup(src->disks[i].serial) : NULL;
		oom = (src->disks[i].path && !dst->disks[i].path) ||
		      (src->disks[i].serial && !dst->disks[i].serial);
	}
	for (unsigned i = 0; i < src->nnets && !oom; i++)
		oom = !(dst->nets[i].tap = strdup(src->nets[i].tap));
	for (unsigned i = 0; i < src->ndevices && !oom; i++)
		oom = !(dst->devices[i].path = strdup(src->devices[i].path));
	if (oom || (src->kernel && !dst->kernel) || (src->initrd && !dst->initrd) ||
	    (src->cmdline && !dst->cmdline) || (src->console.path && !dst->console.path) ||
	    (src->jail.dir && !dst->jail.dir) || (src->api_socket && !dst->api_socket)) {
		vm_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* c is changed only if the whole document is valid. */
static int parse_buf(struct vm_config *c, const char *text, size_t len, const char *name,
		     struct bs_err *e)
{
	struct jctx x = { text, len, name, e };
	struct vm_config tmp;
	char text_shown[JSON_ERROR_TEXT_LENGTH];
	json_error_t je;
	json_t *root;
	int r;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_duplicate_key)
			return duplicate_key(&x, &je);
		/* jansson quotes the raw token, which may hold control characters */
		return bs_errf(e, EINVAL, "%s:%d:%d: invalid JSON: %s", name,
			       je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1,
			       cfg_show(je.text, text_shown, sizeof(text_shown)));
	}
	if (!json_is_object(root)) {
		r = key_errf(&x, EINVAL, NULL, NULL, "top level must be an object, got %s",
			     type_name(root));
		json_decref(root);
		return r;
	}
	if (copy_config(&tmp, c)) {
		json_decref(root);
		return bs_errf(e, ENOMEM, "%s: out of memory", name);
	}
	r = apply(&x, root, &tmp);
	json_decref(root);
	if (r) {
		vm_config_free(&tmp);
		return r;
	}
	vm_config_free(c);
	*c = tmp;
	return 0;
}

int vm_config_parse_json(struct vm_config *c, const char *text, const char *name,
			 struct bs_err *e)
{
	if (!name)
		name = "<config>";
	if (!text)
		return bs_errf(e, EINVAL, "%s: no text", name);
	return parse_buf(c, text, strlen(text), name, e);
}

int vm_config_load_json(struct vm_config *c, const char *path, struct bs_err *e)
{
	FILE *f;
	char *buf;
	size_t len;
	int r, err;

	f = fopen(path, "re");
	if (!f) {
		err = errno;
		return bs_errf(e, err, "%s: cannot open: %s", path, strerror(err));
	}
	buf = malloc(MAX_CONFIG_FILE + 1);
	if (!buf) {
		fclose(f);
		return bs_errf(e, ENOMEM, "%s: out of memory", path);
	}
	len = fread(buf, 1, MAX_CONFIG_FILE + 1, f);
	if (ferror(f)) {
		err = errno ? errno : EIO;
		fclose(f);
		free(buf);
		return bs_errf(e, err, "%s: cannot read: %s", path, strerror(err));
	}
	fclose(f);
	if (len > MAX_CONFIG_FILE) {
		free(buf);
		return bs_errf(e, EFBIG, "%s: larger than %u bytes, not a config file", path,
			       MAX_CONFIG_FILE);
	}
	buf[len] = '\0';
	r = parse_buf(c, buf, len, path, e);
	free(buf);
	if (!r)
		log_debug("loaded config %s", path);
	return r;
}

/* ---- output ------------------------------------------------------------- */

/* json_string() refuses text that is not UTF-8 (a path from the command
 * line can be any bytes); *err tells that apart from running out of memory. */
static json_t *str(const char *s, int *err)
{
	json_t *v, *probe;

	if (!s)
		return json_null();
	v = json_string(s);
	if (!v && !*err) {
		probe = json_string_nocheck(s);
		*err = probe ? EILSEQ : ENOMEM;
		json_decref(probe);
	}
	return v;
}

static void add(json_t *o, const char *key, json_t *v, int *err)
{
	if (!v || json_object_set_new(o, key, v)) {
		if (!*err)
			*err = ENOMEM;
	}
}

static json_t *disks_json(const struct vm_config *c, int *err)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < c->ndisks; i++) {
		const struct disk_config *d = &c->disks[i];
		json_t *o = json_object();

		add(o, "path", str(d->path, err), err);
		add(o, "readonly", json_boolean(d->readonly), err);
		add(o, "serial", str(d->serial, err), err);
		add(o, "cache", json_string(d->cache == DISK_CACHE_WRITETHROUGH ?
					    "writethrough" : "writeback"), err);
		add(o, "direct", json_boolean(d->direct), err);
		if (!o || json_array_append_new(a, o)) {
			*err = ENOMEM;
			break;
		}
	}
	return a;
}

static json_t *nets_json(const struct vm_config *c, int *err)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < c->nnets; i++) {
		const struct net_config *n = &c->nets[i];
		json_t *o = json_object();
		char mac[18];

		cfg_format_mac(n->mac, mac);
		add(o, "tap", str(n->tap, err), err);
		add(o, "mac", n->mac_set ? json_string(mac) : json_null(), err);
		add(o, "queues", n->queues ? json_integer(n->queues) : json_null(), err);
		add(o, "create", json_boolean(n->create), err);
		if (!o || json_array_append_new(a, o)) {
			*err = ENOMEM;
			break;
		}
	}
	return a;
}

static json_t *balloon_json(const struct vm_config *c, int *err)
{
	const struct balloon_config *b = &c->balloon;
	json_t *o;
	char t[32];

	if (!b->enabled)
		return json_null();
	o = json_object();
	format_size(b->target, t, sizeof(t));
	add(o, "target", json_string(t), err);
	add(o, "stats_interval", json_integer(b->stats_interval), err);
	add(o, "deflate_on_oom", json_boolean(b->deflate_on_oom), err);
	add(o, "free_page_reporting", json_boolean(b->free_page_reporting), err);
	return o;
}

static json_t *devices_json(const struct vm_config *c, int *err)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < c->ndevices; i++) {
		const struct device_config *d = &c->devices[i];
		json_t *o = json_object();

		add(o, d->kind == DEVICE_VFIO ? "vfio" : "vfio-user", str(d->path, err), err);
		if (!o || json_array_append_new(a, o)) {
			*err = ENOMEM;
			break;
		}
	}
	return a;
}

/* Every field, schema order, indent 2, trailing newline.  NULL with errno
 * ENOMEM, or EILSEQ if a string is not valid UTF-8. */
char *vm_config_to_json(const struct vm_config *c)
{
	json_t *root = json_object(), *ed = json_object(), *jail = json_object();
	char mem[32], *console = NULL, *dump = NULL, *out = NULL;
	int err = 0;
	size_t n;

	format_size(c->memory, mem, sizeof(mem));
	switch (c->console.kind) {
	case CONSOLE_NONE:
		console = strdup("none");
		break;
	case CONSOLE_FILE:
		if (asprintf(&console, "file:%s", c->console.path ? c->console.path : "") < 0)
			console = NULL;
		break;
	default:
		console = strdup("stdio");
		break;
	}
	if (!root || !ed || !jail || !console)
		err = ENOMEM;
	if (!err) {
		add(root, "kernel", str(c->kernel, &err), &err);
		add(root, "initrd", str(c->initrd, &err), &err);
		add(root, "cmdline", str(c->cmdline, &err), &err);
		add(root, "cpus", json_integer(c->cpus), &err);
		add(root, "memory", json_string(mem), &err);
		add(root, "console", str(console, &err), &err);
		add(root, "timeout", json_integer(c->timeout_s), &err);
		add(root, "host_quirks", json_boolean(c->host_quirks), &err);
		add(ed, "enabled", json_boolean(c->exit_dev.enabled), &err);
		add(ed, "port", json_integer(c->exit_dev.port), &err);
		add(root, "exit_device", json_incref(ed), &err);
		add(root, "seccomp", json_string(seccomp_names[c->seccomp]), &err);
		add(jail, "dir", str(c->jail.dir, &err), &err);
		add(jail, "uid", c->jail.uid == BS_NO_ID ? json_null() :
			json_integer(c->jail.uid), &err);
		add(jail, "gid", c->jail.gid == BS_NO_ID ? json_null() :
			json_integer(c->jail.gid), &err);
		add(root, "jail", json_incref(jail), &err);
		add(root, "disks", disks_json(c, &err), &err);
		add(root, "nets", nets_json(c, &err), &err);
		add(root, "devices", devices_json(c, &err), &err);
		add(root, "balloon", balloon_json(c, &err), &err);
		add(root, "api_socket", str(c->api_socket, &err), &err);
	}
	if (!err && !(dump = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
		err = ENOMEM;
	if (dump) {
		n = strlen(dump);
		out = malloc(n + 2);
		if (out) {
			memcpy(out, dump, n);
			memcpy(out + n, "\n", 2);
		} else {
			err = ENOMEM;
		}
		free(dump);
	}
	free(console);
	json_decref(ed);
	json_decref(jail);
	json_decref(root);
	if (!out)
		errno = err;
	return out;
}
