#include <stdarg.h>
#include <stdio.h>

#include "basalt/err.h"
#include "basalt/log.h"

enum bs_log_level bs_log_threshold = BS_LOG_WARN;

static const char *const level_name[] = { "error", "warning", "info", "debug" };

void bs_log(enum bs_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	if (lvl > bs_log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One write per line so lines from several threads do not interleave.
	 * \r so the line is readable while the terminal is in raw mode. */
	fprintf(stderr, "basalt: %s: %s\r\n", level_name[lvl], buf);
}

int bs_errf(struct bs_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return errnum > 0 ? -errnum : errnum;
}
