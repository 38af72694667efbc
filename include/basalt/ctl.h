/* The control socket (--api-socket PATH): a Unix stream socket, mode 0600,
 * speaking newline-delimited JSON (protocol: docs/api.md).
 *
 * One request per line, one reply line per request, in order:
 *   {"cmd": "balloon-set", "target": "512M", "id": 7}
 *   {"ok": true, "id": 7, "result": {...}}
 *   {"ok": false, "id": 7, "error": {"code": "wrong-state", "message": "..."}}
 * "id" (a string or an integer) is optional and echoed.  A line longer
 * than CTL_MAX_REQUEST bytes gets a "too-large" error and is skipped up to
 * its newline; malformed JSON gets "parse-error"; either way the connection
 * stays usable.  Blank lines are ignored.
 *
 * proto.c parses and formats (no I/O, unit-tested); server.c runs the
 * socket on the thread that calls it (basalt's main loop), non-blocking,
 * up to CTL_MAX_CLIENTS connections; client.c is `basalt ctl`. */
#ifndef BASALT_CTL_H
#define BASALT_CTL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "basalt/err.h"

#define CTL_MAX_REQUEST 4096            /* bytes per request line, newline included */
#define CTL_MAX_CLIENTS 64
#define CTL_MAX_OUTPUT (256u * 1024)    /* unsent reply bytes before a client is dropped */
#define CTL_SHUTDOWN_TIMEOUT 30         /* default seconds before a forced stop */
#define CTL_MAX_SHUTDOWN_TIMEOUT 3600

enum ctl_cmd {
	CTL_INFO, CTL_PAUSE, CTL_RESUME, CTL_SHUTDOWN, CTL_BALLOON_SET,
	CTL_BALLOON_STATS, CTL_NR_CMDS
};

/* Error codes (the "code" of an error reply). */
#define CTL_E_PARSE "parse-error"         /* not JSON */
#define CTL_E_TOO_LARGE "too-large"       /* request line too long */
#define CTL_E_BAD_REQUEST "bad-request"   /* JSON, but not a valid request */
#define CTL_E_UNKNOWN "unknown-command"
#define CTL_E_BAD_ARG "bad-argument"      /* valid request, unacceptable value */
#define CTL_E_STATE "wrong-state"         /* e.g. resume a running VM */
#define CTL_E_NO_DEVICE "no-device"       /* balloon command without a balloon */
#define CTL_E_UNAVAILABLE "unavailable"   /* the guest gave no answer (yet) */
#define CTL_E_FAILED "failed"             /* the VMM could not do it */
#define CTL_E_BUSY "busy"                 /* too many clients (then closed) */

struct ctl_request {
	enum ctl_cmd cmd;
	json_t *id;              /* NULL or a reference the request owns */
	uint64_t target;         /* balloon-set: bytes */
	unsigned timeout_s;      /* shutdown */
};

extern const char *const ctl_cmd_names[CTL_NR_CMDS];

/* Parses one request line (len bytes, no newline).  Returns NULL with *rq
 * filled (release with ctl_request_free), or an error code with a one-line
 * message in e; then rq->id is still set if the line had a usable id. */
const char *ctl_parse_request(const char *line, size_t len, struct ctl_request *rq,
			      struct bs_err *e);
void ctl_request_free(struct ctl_request *rq);

/* Reply lines, malloc'd and ending in "\n" (NULL only out of memory).
 * ctl_reply_ok takes over result (NULL: {}); id may be NULL. */
char *ctl_reply_ok(json_t *id, json_t *result);
char *ctl_reply_error(json_t *id, const char *code, const char *message);

/* ---- server ---- */

struct ctl_server;

/* Handles one parsed request from client `client` (an id that stays
 * unique while the server runs).  Returns the reply line, or NULL if the
 * reply comes later through ctl_server_reply(); until then the client's
 * further requests wait. */
typedef char *(*ctl_handler_fn)(void *opaque, unsigned client,
				const struct ctl_request *rq);

/* Creates the socket at path (mode 0600; a stale socket there is
 * replaced) and listens.  The directory stays open (O_PATH) so that
 * ctl_server_close() can remove the socket even after the process was
 * jailed: ctl_server_dirfd() is the fd the sandbox must let it unlink in. */
int ctl_server_open(struct ctl_server **out, const char *path, ctl_handler_fn fn,
		    void *opaque, struct bs_err *e);
int ctl_server_dirfd(const struct ctl_server *s);
/* Gives the socket to uid/gid (basalt about to drop to them: the dropped
 * process can then remove it, and that user may connect). */
int ctl_server_chown(struct ctl_server *s, uid_t uid, gid_t gid, struct bs_err *e);
/* Closes every connection and removes the socket. */
void ctl_server_close(struct ctl_server *s);

/* Poll integration: fills at most max pollfds (the listening socket and
 * every client) and returns how many; after poll(), ctl_server_dispatch()
 * accepts, reads, answers and writes for those entries. */
#define CTL_POLLFDS (1 + CTL_MAX_CLIENTS)
unsigned ctl_server_pollfds(struct ctl_server *s, struct pollfd *p, unsigned max);
void ctl_server_dispatch(struct ctl_server *s, const struct pollfd *p, unsigned n);
/* The deferred reply of client (dropped if it disconnected). */
void ctl_server_reply(struct ctl_server *s, unsigned client, char *line);
unsigned ctl_server_clients(const struct ctl_server *s);

/* ---- client ---- */

/* `basalt ctl ...`: argv[0] is "ctl".  Returns the process exit status:
 * 0 done, 1 error reply or connection failure, 2 usage error. */
int ctl_client_main(int argc, char **argv);

#endif
