/* The host side of the guest console: where UART output goes (stdout, a
 * file, nowhere) and where its input comes from (stdin).
 *
 * When stdin is a terminal it is put in raw mode and restored on every exit
 * path (console_close, atexit, fatal signals).  Escape: Ctrl-A x quits the
 * VM, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A h prints help. */
#ifndef BASALT_CONSOLE_H
#define BASALT_CONSOLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basalt/config.h"
#include "basalt/err.h"

struct serial;

struct console {
	int out_fd;            /* -1 = discard */
	bool close_out;
	int in_fd;             /* -1 = no input */
	bool tty;              /* in_fd is a terminal (raw mode, escapes) */
	bool escape;           /* saw Ctrl-A */
	bool quit;             /* user asked to quit */
	bool in_eof;
	uint8_t pend[256];     /* input not yet taken by the UART */
	size_t npend, pend_off;
	pthread_mutex_t lock;
	uint64_t bytes_out;
	bool out_broken;
	/* Set once the VM is stopping: a write blocked on a stalled reader
	 * (interrupted by the stop kick) then gives up instead of retrying. */
	const atomic_bool *stopping;
};

int console_open(struct console *c, const struct vm_config *cfg,
		 struct bs_err *e);
void console_close(struct console *c);
/* serial_sink_fn: writes guest output (blocking; bounded by the fd). */
void console_sink(void *ctx, const uint8_t *buf, size_t len);
/* Reads what stdin has (call when poll says readable) and feeds the UART.
 * Returns false once input is finished (EOF). */
bool console_read_input(struct console *c, struct serial *s);
/* Moves pending input into the UART as room appears; true if some remains. */
bool console_flush_input(struct console *c, struct serial *s);
/* Restores the terminal; async-signal-safe. */
void console_restore_terminal(void);

#endif
