/* Error context carried out of library code.
 *
 * Contract: library functions return 0 on success or a negative errno and,
 * when given a non-NULL struct bs_err, fill it with a one-line message that
 * names the thing that failed (file, key, flag, device).  Only main() turns
 * an error into a process exit. */
#ifndef BASALT_ERR_H
#define BASALT_ERR_H

#include <errno.h>

struct bs_err {
	char msg[512];
};

/* Formats into e (if non-NULL) and returns -errnum (errnum given positive). */
int bs_errf(struct bs_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
