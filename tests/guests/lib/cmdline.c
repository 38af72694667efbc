/* Command-line arguments: space-separated `key=value` or bare `key` words,
 * the last occurrence of a key winning (as in Linux).  Words are split into
 * a private copy on first use, so the raw guest_cmdline() stays intact and
 * lookups work at either CPL (also from guest_ring0_init). */
#include "guest.h"

#define MAX_WORDS 64

static char words_buf[4096];
static const char *keys[MAX_WORDS], *vals[MAX_WORDS];
static unsigned nwords;
static bool split_done;

static void split(void)
{
	const char *src = guest_cmdline();
	size_t n = strlen(src);
	char *p = words_buf;

	split_done = true;
	if (n >= sizeof(words_buf))
		n = sizeof(words_buf) - 1;
	memcpy(words_buf, src, n);
	words_buf[n] = 0;
	while (*p && nwords < MAX_WORDS) {
		char *eq = NULL;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		keys[nwords] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (*p)
			*p++ = 0;
		if (eq) {
			*eq = 0;
			vals[nwords] = eq + 1;
		} else {
			vals[nwords] = "";
		}
		nwords++;
	}
}

const char *guest_cmdline_get(const char *key)
{
	if (!split_done)
		split();
	for (unsigned i = nwords; i--;)
		if (!strcmp(keys[i], key))
			return vals[i];
	return NULL;
}

int guest_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0, base = 10, mult = 1;
	const char *p = s;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		return -GUEST_EINVAL;
	for (; *p; p++) {
		uint64_t digit;

		if (*p >= '0' && *p <= '9')
			digit = (uint64_t)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			digit = (uint64_t)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			digit = (uint64_t)(*p - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - digit) / base)
			return -GUEST_ERANGE;
		v = v * base + digit;
	}
	if (p == s || (base == 16 && p == s + 2))
		return -GUEST_EINVAL;
	switch (*p) {
	case 0:
		break;
	case 'k': case 'K':
		mult = 1ull << 10;
		break;
	case 'm': case 'M':
		mult = 1ull << 20;
		break;
	case 'g': case 'G':
		mult = 1ull << 30;
		break;
	default:
		return -GUEST_EINVAL;
	}
	if (*p && p[1])
		return -GUEST_EINVAL;
	if (v > UINT64_MAX / mult)
		return -GUEST_ERANGE;
	*out = v * mult;
	return 0;
}

uint64_t guest_cmdline_u64(const char *key, uint64_t def)
{
	const char *s = guest_cmdline_get(key);
	uint64_t v;
	int r;

	if (!s)
		return def;
	r = guest_parse_u64(s, &v);
	if (r) {
		guest_printf("guest: cmdline %s=%s: %s\n", key, s,
			     r == -GUEST_ERANGE ? "number too large" :
			     "not a number (decimal, 0x hex, optional K/M/G)");
		guest_exit(GUEST_EXIT_BAD_CMDLINE);
	}
	return v;
}
