/* printf subset for the guests (conversions listed in guest.h).
 *
 * One formatter, format(), feeds a sink: a bounded buffer for snprintf, or
 * a 128-byte buffer flushed to the UART for printf (so a line goes out in
 * 16-byte FIFO bursts rather than byte by byte).
 */
#include "guest.h"

struct sink {
	char *buf;
	size_t size;		/* capacity of buf */
	size_t pos;		/* bytes stored in buf */
	size_t total;		/* bytes produced */
	bool to_serial;		/* flush buf to the UART when full */
};

static void emit(struct sink *s, char c)
{
	s->total++;
	if (s->to_serial) {
		if (s->pos == s->size) {
			guest_serial_write(s->buf, s->pos);
			s->pos = 0;
		}
		s->buf[s->pos++] = c;
	} else if (s->size && s->pos < s->size - 1) {
		s->buf[s->pos++] = c;
	}
}

static void emit_padded(struct sink *s, const char *str, size_t len,
			unsigned width, bool left, char pad)
{
	size_t fill = width > len ? width - len : 0;

	if (!left)
		while (fill--)
			emit(s, pad);
	while (len--)
		emit(s, *str++);
	if (left)
		while (fill--)
			emit(s, ' ');
}

static void emit_number(struct sink *s, unsigned long long v, bool neg,
			unsigned base, bool upper, const char *prefix,
			unsigned width, bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	size_t n = 0, plen = prefix ? strlen(prefix) : 0;
	size_t len, fill;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + plen + (neg ? 1 : 0);
	fill = width > len ? width - len : 0;
	if (!left && !zero)
		while (fill--)
			emit(s, ' ');
	if (neg)
		emit(s, '-');
	for (size_t i = 0; i < plen; i++)
		emit(s, prefix[i]);
	if (!left && zero)
		while (fill--)
			emit(s, '0');
	while (n)
		emit(s, tmp[--n]);
	if (left)
		while (fill--)
			emit(s, ' ');
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool left = false, zero = false, has_prec = false;
		unsigned width = 0, prec = 0;
		int lng = 0;		/* 0 int, 1 long, 2 long long, -1 short, -2 char */
		unsigned long long u;
		long long d;

		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		if (*fmt == '*') {
			int w = va_arg(ap, int);

			if (w < 0) {
				left = true;
				w = -w;
			}
			width = (unsigned)w;
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9' && width < 1000)
				width = width * 10 + (unsigned)(*fmt++ - '0');
		}
		if (*fmt == '.') {
			has_prec = true;
			fmt++;
			if (*fmt == '*') {
				int p = va_arg(ap, int);

				prec = p < 0 ? 0 : (unsigned)p;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9' && prec < 100000)
					prec = prec * 10 + (unsigned)(*fmt++ - '0');
			}
		}
		for (;; fmt++) {
			if (*fmt == 'l')
				lng = lng < 0 ? 1 : lng + 1;
			else if (*fmt == 'z')
				lng = 1;
			else if (*fmt == 'h')
				lng = lng > 0 ? -1 : lng - 1;
			else
				break;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			if (lng >= 2)
				d = va_arg(ap, long long);
			else if (lng == 1)
				d = va_arg(ap, long);
			else
				d = va_arg(ap, int);
			if (lng == -1)
				d = (short)d;
			else if (lng <= -2)
				d = (signed char)d;
			u = d < 0 ? 0ull - (unsigned long long)d : (unsigned long long)d;
			emit_number(s, u, d < 0, 10, false, NULL, width, left, zero);
			break;
		case 'u':
		case 'x':
		case 'X':
			if (lng >= 2)
				u = va_arg(ap, unsigned long long);
			else if (lng == 1)
				u = va_arg(ap, unsigned long);
			else
				u = va_arg(ap, unsigned int);
			if (lng == -1)
				u = (unsigned short)u;
			else if (lng <= -2)
				u = (unsigned char)u;
			emit_number(s, u, false, *fmt == 'u' ? 10 : 16, *fmt == 'X',
				    NULL, width, left, zero);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			emit_number(s, u, false, 16, false, "0x", width, left, zero);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			size_t len = 0;

			if (!str)
				str = "(null)";
			while (str[len] && (!has_prec || len < prec))
				len++;
			emit_padded(s, str, len, width, left, ' ');
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);

			emit_padded(s, &c, 1, width, left, ' ');
			break;
		}
		case '%':
			emit(s, '%');
			break;
		case '\0':
			return;		/* lone '%' at the end */
		default:		/* unknown: print it verbatim */
			emit(s, '%');
			emit(s, *fmt);
			break;
		}
	}
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = size };

	format(&s, fmt, ap);
	if (size)
		buf[s.pos] = 0;
	return s.total > 0x7fffffff ? 0x7fffffff : (int)s.total;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = guest_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

int guest_vprintf(const char *fmt, va_list ap)
{
	char buf[128];
	struct sink s = { .buf = buf, .size = sizeof(buf), .to_serial = true };

	format(&s, fmt, ap);
	guest_serial_write(buf, s.pos);
	return s.total > 0x7fffffff ? 0x7fffffff : (int)s.total;
}

int guest_printf(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = guest_vprintf(fmt, ap);
	va_end(ap);
	return r;
}
