/* `basalt ctl`: the command-line client of the control socket. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "basalt/config.h"
#include "basalt/ctl.h"
#include "config_util.h"

#define DEFAULT_WAIT_S 60

static const char usage_text[] =
	"Usage: basalt ctl --socket PATH COMMAND [ARG]\n"
	"       basalt ctl --socket PATH --raw\n\n"
	"Control a running VM through its --api-socket.\n\n"
	"Commands:\n"
	"  info                 state, vCPUs, memory, balloon\n"
	"  pause                stop every vCPU\n"
	"  resume               let them run again\n"
	"  shutdown [SECONDS]   press the ACPI power button; if the guest has not\n"
	"                       powered off after SECONDS (default 30), basalt stops\n"
	"                       it (exit status 7)\n"
	"  balloon-set SIZE     the balloon should hold SIZE (512M, 1G; 0 empties it)\n"
	"  balloon-stats        the guest's memory statistics\n\n"
	"Options:\n"
	"  --socket PATH        the VM's control socket\n"
	"  --raw                send request lines from stdin, print the replies\n"
	"  --wait SECONDS       wait at most this long for a reply (default 60)\n"
	"  -h, --help           show this help\n\n"
	"Prints the result as JSON.  Exit status: 0 done, 1 the VM refused or\n"
	"could not be reached, 2 usage error.\n";

static int usage_error(const char *fmt, const char *arg)
{
	char shown[80];

	fprintf(stderr, "basalt: error: ctl: ");
	fprintf(stderr, fmt, arg ? cfg_show(arg, shown, sizeof(shown)) : "");
	fprintf(stderr, " (see 'basalt ctl --help')\n");
	return 2;
}

static int fail(const char *what, const char *detail)
{
	fprintf(stderr, "basalt: error: ctl: %s: %s\n", what, detail);
	return 1;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* --raw: stdin to the socket, the socket to stdout, until the server has
 * answered everything and closed. */
static int raw(int fd, int wait_s)
{
	char buf[8192];
	bool in_open = true;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		int r = poll(p, 2, wait_s * 1000);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return fail("no reply", r ? strerror(errno) : "timed out");
		if (p[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0 && !write_all(fd, buf, (size_t)n))
				return fail("write", strerror(errno));
			if (n <= 0) {
				in_open = false;
				shutdown(fd, SHUT_WR);
			}
		}
		if (p[0].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				return n < 0 ? fail("read", strerror(errno)) : 0;
			if (!write_all(STDOUT_FILENO, buf, (size_t)n))
				return 1;
		}
	}
}

/* Sends one request and prints its result. */
static int one(int fd, json_t *req, int wait_s)
{
	char *line = json_dumps(req, JSON_COMPACT), buf[65536];
	size_t len = 0;
	json_error_t je;
	json_t *reply, *ok, *res, *err;
	int rc;

	if (!line || !write_all(fd, line, strlen(line)) || !write_all(fd, "\n", 1)) {
		free(line);
		return fail("send", strerror(errno));
	}
	free(line);
	shutdown(fd, SHUT_WR);
	while (!memchr(buf, '\n', len) && len < sizeof(buf)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, wait_s * 1000);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return fail("no reply", "timed out");
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("read", strerror(errno));
		if (n == 0)
			return fail("no reply", "the VM closed the connection");
		len += (size_t)n;
	}
	reply = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &je);
	ok = reply ? json_object_get(reply, "ok") : NULL;
	if (!json_is_boolean(ok)) {
		json_decref(reply);
		return fail("reply", "not a basalt reply");
	}
	if (json_is_true(ok)) {
		res = json_object_get(reply, "result");
		line = res ? json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		printf("%s\n", line ? line : "{}");
		free(line);
		rc = 0;
	} else {
		err = json_object_get(reply, "error");
		fprintf(stderr, "basalt: error: ctl: %s: %s\n",
			json_string_value(json_object_get(err, "code")) ?: "error",
			json_string_value(json_object_get(err, "message")) ?: "");
		rc = 1;
	}
	json_decref(reply);
	return rc;
}

/* The request for COMMAND [ARG], or NULL after a usage message (*rc = 2). */
static json_t *build(const char *cmd, const char *arg, int *rc)
{
	json_t *req;
	int c;

	for (c = 0; c < CTL_NR_CMDS; c++)
		if (!strcmp(cmd, ctl_cmd_names[c]))
			break;
	if (c == CTL_NR_CMDS) {
		*rc = usage_error("unknown command '%s'", cmd);
		return NULL;
	}
	if (arg && c != CTL_SHUTDOWN && c != CTL_BALLOON_SET) {
		*rc = usage_error("unexpected argument '%s'", arg);
		return NULL;
	}
	req = json_pack("{ss}", "cmd", cmd);
	if (c == CTL_BALLOON_SET) {
		uint64_t v;

		if (!arg) {
			*rc = usage_error("balloon-set needs a SIZE (like 512M)%s", NULL);
			json_decref(req);
			return NULL;
		}
		if (parse_size(arg, &v)) {
			*rc = usage_error("balloon-set: '%s' is not a size (like 512M)", arg);
			json_decref(req);
			return NULL;
		}
		json_object_set_new(req, "target", json_integer((json_int_t)v));
	} else if (c == CTL_SHUTDOWN && arg) {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);

		if (!*arg || *end || *arg == '-' || v > CTL_MAX_SHUTDOWN_TIMEOUT) {
			*rc = usage_error("shutdown: '%s' is not a number of seconds "
					  "(0..3600)", arg);
			json_decref(req);
			return NULL;
		}
		json_object_set_new(req, "timeout", json_integer((json_int_t)v));
	}
	return req;
}

int ctl_client_main(int argc, char **argv)
{
	const char *sock = NULL, *cmd = NULL, *arg = NULL;
	bool want_raw = false;
	int wait_s = DEFAULT_WAIT_S, fd, rc = 0;
	json_t *req = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "--socket") || !strcmp(a, "--wait")) {
			if (i + 1 >= argc)
				return usage_error("%s: missing value", a);
			if (a[2] == 's') {
				sock = argv[++i];
			} else {
				char *end;
				long v = strtol(argv[++i], &end, 10);

				if (!*argv[i] || *end || v < 1 || v > 3600)
					return usage_error("--wait: '%s' is not 1..3600 seconds",
							   argv[i]);
				wait_s = (int)v;
			}
		} else if (!strncmp(a, "--socket=", 9)) {
			sock = a + 9;
		} else if (!strcmp(a, "--raw")) {
			want_raw = true;
		} else if (a[0] == '-' && a[1] && !(cmd && a[1] >= '0' && a[1] <= '9')) {
			return usage_error("unknown option '%s'", a);
		} else if (!cmd) {
			cmd = a;
		} else if (!arg) {
			arg = a;
		} else {
			return usage_error("unexpected argument '%s'", a);
		}
	}
	if (!sock || !*sock)
		return usage_error("--socket PATH is required%s", NULL);
	if (want_raw && cmd)
		return usage_error("--raw takes no command ('%s')", cmd);
	if (!want_raw && !cmd)
		return usage_error("no command given%s", NULL);
	if (!want_raw && !(req = build(cmd, arg, &rc)))
		return rc;
	fd = connect_to(sock);
	if (fd < 0) {
		char what[160];

		snprintf(what, sizeof(what), "cannot connect to '%s'", sock);
		json_decref(req);
		return fail(what, strerror(errno));
	}
	rc = want_raw ? raw(fd, wait_s) : one(fd, req, wait_s);
	json_decref(req);
	close(fd);
	return rc;
}
