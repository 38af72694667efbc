/* Control-socket server: see include/basalt/ctl.h.  Replies go out with
 * write(), so the process must ignore SIGPIPE (basalt's main() does).
 *
 * Everything runs on the caller's thread, never blocking: the listening
 * socket and the connections are non-blocking, input is framed into lines
 * in a fixed CTL_MAX_REQUEST buffer per client, replies are queued and
 * written as the peer reads them.  A client that lets more than
 * CTL_MAX_OUTPUT bytes of replies pile up is disconnected.
 *
 * System calls made here after the sandbox is on (main thread role):
 * accept4, getsockopt(SO_PEERCRED), read, write, close and, at exit,
 * unlinkat in the socket's directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "basalt/ctl.h"
#include "basalt/log.h"

struct ctl_conn {
	int fd;                  /* -1: free slot */
	unsigned id;
	char in[CTL_MAX_REQUEST];
	size_t in_len;
	bool discarding;         /* inside a line that was too long */
	bool eof;                /* the peer finished sending */
	bool busy;               /* a deferred reply is outstanding */
	char *out;
	size_t out_len, out_off;
};

struct ctl_server {
	int fd, dirfd;
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];   /* in dirfd */
	ctl_handler_fn fn;
	void *opaque;
	unsigned serial;
	struct ctl_conn c[CTL_MAX_CLIENTS];
};

#define SLOT(id) ((id) % CTL_MAX_CLIENTS)

static void conn_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void flush(struct ctl_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			log_info("api socket: client %u gone (%s)", c->id,
				 n < 0 ? strerror(errno) : "closed");
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
}

/* Queues line (taking it over) and tries to send it. */
static void send_line(struct ctl_conn *c, char *line)
{
	size_t n;
	char *o;

	if (!line) {
		log_warn("api socket: out of memory for a reply to client %u", c->id);
		conn_close(c);
		return;
	}
	n = strlen(line);
	if (c->out_len - c->out_off + n > CTL_MAX_OUTPUT) {
		log_warn("api socket: client %u does not read its replies; disconnected",
			 c->id);
		free(line);
		conn_close(c);
		return;
	}
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	o = realloc(c->out, c->out_len + n);
	if (!o) {
		free(line);
		conn_close(c);
		return;
	}
	memcpy(o + c->out_len, line, n);
	c->out = o;
	c->out_len += n;
	free(line);
	flush(c);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static void handle_line(struct ctl_server *s, struct ctl_conn *c, const char *line,
			size_t n)
{
	struct ctl_request rq;
	struct bs_err e;
	const char *err;
	char *reply;

	if (blank(line, n))
		return;
	err = ctl_parse_request(line, n, &rq, &e);
	if (err) {
		reply = ctl_reply_error(rq.id, err, e.msg);
	} else {
		reply = s->fn(s->opaque, c->id, &rq);
		c->busy = !reply;
	}
	ctl_request_free(&rq);
	if (reply)
		send_line(c, reply);
}

/* Answers every complete line in the buffer (one at a time while a
 * deferred reply is outstanding: replies stay in request order). */
static void process(struct ctl_server *s, struct ctl_conn *c)
{
	while (c->fd >= 0 && !c->busy && c->in_len) {
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t n;

		if (c->discarding) {
			if (!nl) {
				c->in_len = 0;
				return;
			}
			c->discarding = false;
		} else if (!nl && c->in_len == sizeof(c->in)) {
			send_line(c, ctl_reply_error(NULL, CTL_E_TOO_LARGE,
						     "request longer than 4096 bytes; "
						     "skipped to the next newline"));
			c->discarding = true;
			c->in_len = 0;
			return;
		} else if (!nl && c->eof) {
			/* The last request may lack its newline. */
			handle_line(s, c, c->in, c->in_len);
			c->in_len = 0;
			return;
		} else if (!nl) {
			return;
		} else {
			handle_line(s, c, c->in, (size_t)(nl - c->in));
		}
		if (c->fd < 0)
			return;
		n = (size_t)(nl - c->in) + 1;
		memmove(c->in, nl + 1, c->in_len - n);
		c->in_len -= n;
	}
}

static void do_read(struct ctl_server *s, struct ctl_conn *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->eof = true;
		if (n < 0)
			c->in_len = 0;
	} else {
		c->in_len += (size_t)n;
	}
	process(s, c);
}

static void do_accept(struct ctl_server *s)
{
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cr = { 0, (uid_t)-1, (gid_t)-1 };
		socklen_t len = sizeof(cr);
		struct ctl_conn *c = NULL;
		unsigned i;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("api socket: accept: %s", strerror(errno));
			return;
		}
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len);
		for (i = 0; i < CTL_MAX_CLIENTS && !c; i++)
			if (s->c[(s->serial + i) % CTL_MAX_CLIENTS].fd < 0)
				c = &s->c[(s->serial + i) % CTL_MAX_CLIENTS];
		if (!c) {
			char *msg = ctl_reply_error(NULL, CTL_E_BUSY, "too many clients (64); "
						    "try again later");

			log_warn("api socket: refused pid %d uid %u: %u clients connected",
				 (int)cr.pid, (unsigned)cr.uid, CTL_MAX_CLIENTS);
			if (msg && write(fd, msg, strlen(msg)) < 0) {
				/* best effort */
			}
			free(msg);
			close(fd);
			continue;
		}
		/* A fresh id whose low part is the slot. */
		s->serial += CTL_MAX_CLIENTS;
		c->fd = fd;
		c->id = (s->serial & ~(unsigned)(CTL_MAX_CLIENTS - 1)) |
			(unsigned)(c - s->c);
		log_info("api socket: client %u connected: pid %d uid %u gid %u", c->id,
			 (int)cr.pid, (unsigned)cr.uid, (unsigned)cr.gid);
	}
}

unsigned ctl_server_pollfds(struct ctl_server *s, struct pollfd *p, unsigned max)
{
	unsigned n = 0;

	if (max == 0)
		return 0;
	p[n++] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
	for (unsigned i = 0; i < CTL_MAX_CLIENTS && n < max; i++) {
		struct ctl_conn *c = &s->c[i];
		short ev = 0;

		if (c->fd < 0)
			continue;
		if (!c->eof && !c->busy && c->in_len < sizeof(c->in))
			ev |= POLLIN;
		if (c->out_len > c->out_off)
			ev |= POLLOUT;
		/* Nothing wanted (waiting for a deferred reply): leave it out,
		 * or a hung-up peer's POLLHUP would spin the loop. */
		if (ev)
			p[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
	}
	return n;
}

void ctl_server_dispatch(struct ctl_server *s, const struct pollfd *p, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		struct ctl_conn *c = NULL;

		if (!p[k].revents)
			continue;
		if (p[k].fd == s->fd) {
			do_accept(s);
			continue;
		}
		for (unsigned i = 0; i < CTL_MAX_CLIENTS && !c; i++)
			if (s->c[i].fd == p[k].fd)
				c = &s->c[i];
		if (!c)
			continue;	/* closed earlier in this round */
		if (p[k].revents & POLLOUT)
			flush(c);
		if (c->fd >= 0 && (p[k].revents & (POLLIN | POLLHUP | POLLERR)))
			do_read(s, c);
		/* Done: the peer stopped sending, everything is answered. */
		if (c->fd >= 0 && c->eof && !c->busy && !c->in_len &&
		    c->out_len == c->out_off) {
			log_info("api socket: client %u disconnected", c->id);
			conn_close(c);
		}
	}
}

void ctl_server_reply(struct ctl_server *s, unsigned client, char *line)
{
	struct ctl_conn *c = &s->c[SLOT(client)];

	if (c->fd < 0 || c->id != client || !c->busy) {
		free(line);
		return;
	}
	c->busy = false;
	send_line(c, line);
	if (c->fd >= 0)
		process(s, c);
	if (c->fd >= 0 && c->eof && !c->busy && !c->in_len && c->out_len == c->out_off)
		conn_close(c);
}

unsigned ctl_server_clients(const struct ctl_server *s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		n += s->c[i].fd >= 0;
	return n;
}

int ctl_server_chown(struct ctl_server *s, uid_t uid, gid_t gid, struct bs_err *e)
{
	if (fchownat(s->dirfd, s->name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return bs_errf(e, errno, "api socket %s: cannot give it to uid %u gid %u: %s",
			       s->name, (unsigned)uid, (unsigned)gid, strerror(errno));
	return 0;
}

int ctl_server_dirfd(const struct ctl_server *s)
{
	return s->dirfd;
}

int ctl_server_open(struct ctl_server **out, const char *path, ctl_handler_fn fn,
		    void *opaque, struct bs_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *s;
	const char *slash = strrchr(path, '/');
	char dir[sizeof(sa.sun_path)];
	struct stat st;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return bs_errf(e, ENAMETOOLONG, "api socket '%s': path too long", path);
	s = calloc(1, sizeof(*s));
	if (!s)
		return bs_errf(e, ENOMEM, "api socket: out of memory");
	s->fd = s->dirfd = -1;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		s->c[i].fd = -1;
	s->fn = fn;
	s->opaque = opaque;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
		 slash ? (slash == path ? "/" : path) : ".");
	snprintf(s->name, sizeof(s->name), "%s", slash ? slash + 1 : path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->dirfd < 0 || s->fd < 0) {
		r = bs_errf(e, errno, "api socket '%s': %s", path, strerror(errno));
		goto fail;
	}
	/* A stale socket (validation found nobody listening) is replaced. */
	if (fstatat(s->dirfd, s->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
		unlinkat(s->dirfd, s->name, 0);
	old = umask(0177);	/* created 0600: no window with wider access */
	r = bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		r = bs_errf(e, errno, "api socket '%s': bind: %s", path, strerror(errno));
		goto fail;
	}
	if (listen(s->fd, CTL_MAX_CLIENTS) < 0) {
		r = bs_errf(e, errno, "api socket '%s': listen: %s", path, strerror(errno));
		unlinkat(s->dirfd, s->name, 0);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s);
	return r;
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->c[i].fd >= 0)
			conn_close(&s->c[i]);
	close(s->fd);
	if (unlinkat(s->dirfd, s->name, 0) < 0)
		log_info("api socket: cannot remove %s: %s", s->name, strerror(errno));
	close(s->dirfd);
	free(s);
}
