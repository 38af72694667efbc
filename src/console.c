#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "basalt/console.h"
#include "basalt/devices/serial.h"
#include "basalt/log.h"

#define CTRL_A 0x01

/* Saved terminal state: global because restoring must work from atexit()
 * and fatal-signal handlers. */
static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;

void console_restore_terminal(void)
{
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		tio_saved = 0;
	}
}

static void fatal_signal(int sig)
{
	console_restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void enter_raw_mode(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	t = saved_tio;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR;   /* keep host-side "\n" readable */
	tio_saved = 1;
	atexit(console_restore_terminal);
	for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

int console_open(struct console *c, const struct vm_config *cfg,
		 struct bs_err *e)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->out_fd = -1;
	c->in_fd = -1;
	switch (cfg->console.kind) {
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		c->tty = isatty(STDIN_FILENO);
		if (c->tty)
			enter_raw_mode();
		break;
	case CONSOLE_FILE:
		c->out_fd = open(cfg->console.path,
				 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0)
			return bs_errf(e, errno, "console: cannot open '%s': %s",
				       cfg->console.path, strerror(errno));
		c->close_out = true;
		break;
	case CONSOLE_NONE:
		break;
	}
	return 0;
}

void console_close(struct console *c)
{
	console_restore_terminal();
	if (c->close_out && c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
}

void console_sink(void *ctx, const uint8_t *buf, size_t len)
{
	struct console *c = ctx;

	pthread_mutex_lock(&c->lock);
	c->bytes_out += len;
	while (len && c->out_fd >= 0 && !c->out_broken) {
		ssize_t n = write(c->out_fd, buf, len);

		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };

			if (c->stopping && atomic_load(c->stopping))
				break;          /* drop output; let the VM stop */
			if (errno == EAGAIN)
				poll(&p, 1, 100);
			continue;
		}
		if (n <= 0) {
			/* Reader gone (EPIPE/EIO): keep the guest running. */
			c->out_broken = true;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&c->lock);
}

static void say(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) < 0) {
		/* nothing useful to do */
	}
}

/* Ctrl-A escapes, then queue for the UART. */
static void take_byte(struct console *c, uint8_t b)
{
	if (c->escape) {
		c->escape = false;
		switch (b) {
		case 'x':
		case 'X':
			c->quit = true;
			return;
		case 'h':
		case 'H':
		case '?':
			say("\r\nbasalt: Ctrl-A x  quit\r\n"
			    "basalt: Ctrl-A Ctrl-A  send Ctrl-A\r\n");
			return;
		case CTRL_A:
			break;
		default:
			return;
		}
	} else if (b == CTRL_A && c->tty) {
		c->escape = true;
		return;
	}
	if (c->npend < sizeof(c->pend))
		c->pend[c->npend++] = b;
}

bool console_flush_input(struct console *c, struct serial *s)
{
	/* Only offer bytes when the FIFO has room: a byte pushed into a full
	 * FIFO is an overrun for the guest. */
	if (c->pend_off < c->npend && serial_rx_room(s) > 0)
		c->pend_off += serial_rx(s, c->pend + c->pend_off,
					 c->npend - c->pend_off);
	if (c->pend_off == c->npend)
		c->pend_off = c->npend = 0;
	return c->npend != 0;
}

bool console_read_input(struct console *c, struct serial *s)
{
	uint8_t buf[64];
	size_t room = sizeof(c->pend) - c->npend;
	ssize_t n;

	if (c->in_fd < 0 || c->in_eof)
		return false;
	/* A terminal is always read, so Ctrl-A x works even when the guest
	 * stopped reading its UART (keystrokes that do not fit are dropped);
	 * a pipe or file is read only as the guest makes room. */
	if (!c->tty && room == 0)
		return true;
	n = read(c->in_fd, buf, c->tty || room > sizeof(buf) ? sizeof(buf) : room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		c->in_eof = true;
		return false;
	}
	for (ssize_t i = 0; i < n; i++)
		take_byte(c, buf[i]);
	console_flush_input(c, s);
	return true;
}
