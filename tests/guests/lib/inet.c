/* Internet checksum (RFC 1071) and address parsing for the test guests. */
#include "net.h"

uint32_t inet_sum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;
	uint64_t s = sum;

	for (; n > 1; n -= 2, b += 2)
		s += (uint32_t)b[0] << 8 | b[1];
	if (n)
		s += (uint32_t)b[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t inet_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t inet_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	struct {
		uint32_t src, dst;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed)) ph = { src, dst, 0, proto, be16(len) };

	return inet_sum(&ph, sizeof(ph), 0);
}

static const char *parse_num(const char *s, unsigned base, unsigned max, unsigned *out)
{
	unsigned v = 0, digits = 0;

	for (;; s++, digits++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		v = v * base + d;
		if (v > max || digits > 3)
			return NULL;
	}
	*out = v;
	return digits ? s : NULL;
}

bool inet_parse_ip(const char *s, uint32_t *ip)
{
	uint8_t b[4];
	unsigned v;

	for (unsigned i = 0; i < 4; i++) {
		if (!s || !(s = parse_num(s, 10, 255, &v)) || *s != (i < 3 ? '.' : '\0'))
			return false;
		b[i] = (uint8_t)v;
		s++;
	}
	memcpy(ip, b, 4);
	return true;
}

bool inet_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v;

	for (unsigned i = 0; i < 6; i++) {
		if (!s || !(s = parse_num(s, 16, 255, &v)) || *s != (i < 5 ? ':' : '\0'))
			return false;
		mac[i] = (uint8_t)v;
		s++;
	}
	return true;
}
