/* The control socket: the request parser and reply format (src/ctl/proto.c)
 * and the server (src/ctl/server.c) on a real Unix socket with a fake
 * handler: framing, errors that leave the connection usable, oversized
 * lines, deferred replies keeping request order, 50 clients at once, the
 * client limit, a client that does not read, socket mode and removal. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "basalt/ctl.h"
#include "basalt/log.h"
#include "fixtures.h"

/* ---- parser ---- */

static const char *parse(const char *line, struct ctl_request *rq, struct bs_err *e)
{
	return ctl_parse_request(line, strlen(line), rq, e);
}

START_TEST(parse_valid)
{
	struct ctl_request rq;
	struct bs_err e;

	ck_assert_ptr_null(parse("{\"cmd\": \"info\"}", &rq, &e));
	ck_assert_int_eq(rq.cmd, CTL_INFO);
	ck_assert_ptr_null(rq.id);
	ctl_request_free(&rq);
	ck_assert_ptr_null(parse(" {\"id\": 7, \"cmd\": \"pause\"} ", &rq, &e));
	ck_assert_int_eq(rq.cmd, CTL_PAUSE);
	ck_assert_int_eq(json_integer_value(rq.id), 7);
	ctl_request_free(&rq);
	ck_assert_ptr_null(parse("{\"cmd\": \"resume\", \"id\": \"a-b\"}", &rq, &e));
	ck_assert_int_eq(rq.cmd, CTL_RESUME);
	ck_assert_str_eq(json_string_value(rq.id), "a-b");
	ctl_request_free(&rq);
	ck_assert_ptr_null(parse("{\"cmd\": \"shutdown\"}", &rq, &e));
	ck_assert_int_eq(rq.cmd, CTL_SHUTDOWN);
	ck_assert_uint_eq(rq.timeout_s, CTL_SHUTDOWN_TIMEOUT);
	ctl_request_free(&rq);
	ck_assert_ptr_null(parse("{\"cmd\": \"shutdown\", \"timeout\": 0}", &rq, &e));
	ck_assert_uint_eq(rq.timeout_s, 0);
	ctl_request_free(&rq);
	ck_assert_ptr_null(parse("{\"cmd\": \"balloon-set\", \"target\": \"512M\"}", &rq, &e));
	ck_assert_int_eq(rq.cmd, CTL_BALLOON_SET);
	ck_assert_uint_eq(rq.target, 512ull << 20);
	ctl_request_free(&rq);
	ck_assert_ptr_null(parse("{\"target\": 4096, \"cmd\": \"balloon-set\"}", &rq, &e));
	ck_assert_uint_eq(rq.target, 4096);
	ctl_request_free(&rq);
	ck_assert_ptr_null(parse("{\"cmd\": \"balloon-stats\"}", &rq, &e));
	ck_assert_int_eq(rq.cmd, CTL_BALLOON_STATS);
	ctl_request_free(&rq);
}
END_TEST

static const struct {
	const char *line, *code, *msg;
	bool has_id;
} bad[] = {
	{ "{\"cmd\": \"info\"", CTL_E_PARSE, "invalid JSON at column 14: '}' expected near "
	  "end of file", false },
	{ "hello", CTL_E_PARSE, "invalid JSON at column 5: '[' or '{' expected near 'hello'",
	  false },
	{ "{\"cmd\": \"info\", \"cmd\": \"pause\"}", CTL_E_PARSE, NULL, false },
	{ "[\"info\"]", CTL_E_BAD_REQUEST, "a request is a JSON object like "
	  "{\"cmd\": \"info\"}", false },
	{ "{}", CTL_E_BAD_REQUEST, "'cmd' is missing (one of info, pause, resume, shutdown, "
	  "balloon-set, balloon-stats)", false },
	{ "{\"cmd\": 3, \"id\": 1}", CTL_E_BAD_REQUEST, "'cmd' must be a string (one of info, "
	  "pause, resume, shutdown, balloon-set, balloon-stats)", true },
	{ "{\"cmd\": \"reboot\", \"id\": \"x\"}", CTL_E_UNKNOWN, "unknown command 'reboot' "
	  "(commands: info, pause, resume, shutdown, balloon-set, balloon-stats)", true },
	{ "{\"cmd\": \"info\", \"id\": {}}", CTL_E_BAD_REQUEST, "'id' must be a string or an "
	  "integer", false },
	{ "{\"cmd\": \"info\", \"verbose\": true}", CTL_E_BAD_REQUEST,
	  "unknown key 'verbose' for 'info'", false },
	{ "{\"cmd\": \"pause\", \"target\": 1}", CTL_E_BAD_REQUEST,
	  "unknown key 'target' for 'pause'", false },
	{ "{\"cmd\": \"balloon-set\"}", CTL_E_BAD_REQUEST, "'balloon-set' needs a 'target' "
	  "(bytes the balloon should hold, like \"512M\")", false },
	{ "{\"cmd\": \"balloon-set\", \"target\": \"lots\"}", CTL_E_BAD_REQUEST,
	  "'target' is not a size: 'lots'", false },
	{ "{\"cmd\": \"balloon-set\", \"target\": -1}", CTL_E_BAD_REQUEST,
	  "'target' must not be negative", false },
	{ "{\"cmd\": \"balloon-set\", \"target\": [1]}", CTL_E_BAD_REQUEST,
	  "'target' must be a size like \"512M\" or a byte count", false },
	{ "{\"cmd\": \"shutdown\", \"timeout\": 3601}", CTL_E_BAD_REQUEST,
	  "'timeout' must be an integer 0..3600 (seconds)", false },
	{ "{\"cmd\": \"shutdown\", \"timeout\": \"5\"}", CTL_E_BAD_REQUEST,
	  "'timeout' must be an integer 0..3600 (seconds)", false },
};

START_TEST(parse_errors)
{
	struct ctl_request rq;
	struct bs_err e = { "" };
	const char *code = parse(bad[_i].line, &rq, &e);

	ck_assert_ptr_nonnull(code);
	ck_assert_str_eq(code, bad[_i].code);
	if (bad[_i].msg)
		ck_assert_str_eq(e.msg, bad[_i].msg);
	ck_assert_int_eq(rq.id != NULL, bad[_i].has_id);
	ctl_request_free(&rq);
}
END_TEST

START_TEST(parse_binary)
{
	struct ctl_request rq;
	struct bs_err e;

	/* NUL and invalid UTF-8 inside the line: a parse error, and the reply
	 * that quotes it is still valid JSON */
	ck_assert_str_eq(ctl_parse_request("{\"cmd\": \"in\0fo\"}", 16, &rq, &e), CTL_E_PARSE);
	ctl_request_free(&rq);
	ck_assert_str_eq(parse("{\"cmd\": \"\xff\xfe\"}", &rq, &e), CTL_E_PARSE);
	ctl_request_free(&rq);
}
END_TEST

START_TEST(replies)
{
	json_t *id = json_integer(3);
	char *ok = ctl_reply_ok(id, json_pack("{ss}", "state", "paused"));
	char *ok2 = ctl_reply_ok(NULL, NULL);
	char *er = ctl_reply_error(id, CTL_E_STATE, "cannot resume: the VM is running");
	char *bin = ctl_reply_error(NULL, CTL_E_PARSE, "bad \xff byte");

	ck_assert_str_eq(ok, "{\"ok\":true,\"id\":3,\"result\":{\"state\":\"paused\"}}\n");
	ck_assert_str_eq(ok2, "{\"ok\":true,\"result\":{}}\n");
	ck_assert_str_eq(er, "{\"ok\":false,\"id\":3,\"error\":{\"code\":\"wrong-state\","
			 "\"message\":\"cannot resume: the VM is running\"}}\n");
	ck_assert_str_eq(bin, "{\"ok\":false,\"error\":{\"code\":\"parse-error\","
			 "\"message\":\"(message not UTF-8)\"}}\n");
	json_decref(id);
	free(ok);
	free(ok2);
	free(er);
	free(bin);
}
END_TEST

/* ---- server ---- */

static char dir[64], path[128];
static struct ctl_server *srv;
static unsigned deferred_client;
static bool deferred;
static unsigned handled;

/* info -> {"client": id}; balloon-stats -> deferred; pause -> an error. */
static char *fake_handler(void *opaque, unsigned client, const struct ctl_request *rq)
{
	(void)opaque;
	handled++;
	if (rq->cmd == CTL_BALLOON_STATS) {
		deferred_client = client;
		deferred = true;
		return NULL;
	}
	if (rq->cmd == CTL_PAUSE)
		return ctl_reply_error(rq->id, CTL_E_STATE, "cannot pause");
	return ctl_reply_ok(rq->id, json_pack("{si}", "client", (int)client));
}

static void srv_setup(void)
{
	struct bs_err e;

	snprintf(dir, sizeof(dir), "/tmp/basalt-ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.sock", dir);
	deferred = false;
	handled = 0;
	ck_assert_int_eq(ctl_server_open(&srv, path, fake_handler, NULL, &e), 0);
}

static void srv_teardown(void)
{
	ctl_server_close(srv);
	rmdir(dir);
}

/* Runs the server for about ms milliseconds. */
static void pump(int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		struct pollfd p[CTL_POLLFDS];
		unsigned n = ctl_server_pollfds(srv, p, CTL_POLLFDS);

		if (poll(p, n, 10) > 0)
			ctl_server_dispatch(srv, p, n);
	}
}

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Reads one reply line (running the server meanwhile). */
static char *recv_line(int fd)
{
	static char buf[8192];
	size_t len = 0;

	for (int tries = 0; tries < 300; tries++) {
		ssize_t n;

		pump(10);
		n = recv(fd, buf + len, 1, MSG_DONTWAIT);
		while (n == 1) {
			if (buf[len] == '\n') {
				buf[len] = '\0';
				return buf;
			}
			len++;
			ck_assert_uint_lt(len, sizeof(buf) - 1);
			n = recv(fd, buf + len, 1, MSG_DONTWAIT);
		}
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	return len ? buf : NULL;
}

static bool closed_by_server(int fd)
{
	char c;

	for (int tries = 0; tries < 100; tries++) {
		ssize_t n;

		pump(10);
		n = recv(fd, &c, 1, MSG_DONTWAIT);
		if (n == 0)
			return true;
		if (n < 0 && errno != EAGAIN)
			return true;
	}
	return false;
}

START_TEST(socket_mode_and_removal)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ctl_server_close(srv);
	ck_assert_int_eq(lstat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	srv = NULL;
}
END_TEST

START_TEST(stale_socket_replaced)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct bs_err e;
	int fd;

	/* a socket file nobody listens on (a crashed basalt) */
	ctl_server_close(srv);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(ctl_server_open(&srv, path, fake_handler, NULL, &e), 0);
	fd = client();
	send_str(fd, "{\"cmd\":\"info\"}\n");
	ck_assert_ptr_nonnull(strstr(recv_line(fd), "\"ok\":true"));
	close(fd);
}
END_TEST

START_TEST(errors_keep_connection)
{
	int fd = client();
	char big[5000];

	send_str(fd, "{\"cmd\":\"info\",\"id\":1}\n");
	ck_assert_str_eq(recv_line(fd), "{\"ok\":true,\"id\":1,\"result\":{\"client\":64}}");
	send_str(fd, "this is not json\n");
	ck_assert_str_eq(recv_line(fd), "{\"ok\":false,\"error\":{\"code\":\"parse-error\","
			 "\"message\":\"invalid JSON at column 4: '[' or '{' expected near "
			 "'this'\"}}");
	send_str(fd, "{\"cmd\":\"frobnicate\",\"id\":\"q\"}\n");
	ck_assert_ptr_nonnull(strstr(recv_line(fd), "\"id\":\"q\",\"error\":{\"code\":"
				     "\"unknown-command\""));
	send_str(fd, "{\"cmd\":\"pause\"}\n");
	ck_assert_ptr_nonnull(strstr(recv_line(fd), "\"code\":\"wrong-state\""));
	/* blank lines and CRLF are fine */
	send_str(fd, "\n  \r\n{\"cmd\":\"info\",\"id\":2}\r\n");
	ck_assert_ptr_nonnull(strstr(recv_line(fd), "\"ok\":true,\"id\":2"));
	/* an oversized line: one error, skipped to its newline, then normal */
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	ck_assert_int_eq(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	send_str(fd, "\n{\"cmd\":\"info\",\"id\":3}\n");
	ck_assert_str_eq(recv_line(fd), "{\"ok\":false,\"error\":{\"code\":\"too-large\","
			 "\"message\":\"request longer than 4096 bytes; skipped to the next "
			 "newline\"}}");
	ck_assert_ptr_nonnull(strstr(recv_line(fd), "\"ok\":true,\"id\":3"));
	/* a request split over several writes */
	send_str(fd, "{\"cmd\":");
	pump(20);
	send_str(fd, "\"info\",\"id\":4}");
	pump(20);
	send_str(fd, "\n");
	ck_assert_ptr_nonnull(strstr(recv_line(fd), "\"ok\":true,\"id\":4"));
	ck_assert_uint_eq(handled, 5);
	/* the last request may end at EOF without a newline */
	send_str(fd, "{\"cmd\":\"info\",\"id\":5}");
	shutdown(fd, SHUT_WR);
	ck_assert_ptr_nonnull(strstr(recv_line(fd), "\"ok\":true,\"id\":5"));
	ck_assert(closed_by_server(fd));
	close(fd);
	ck_assert_uint_eq(ctl_server_clients(srv), 0);
}
END_TEST

START_TEST(deferred_reply_keeps_order)
{
	int fd = client(), other = client();
	json_t *id = json_integer(1);

	/* two requests in one write: the second waits for the first's reply */
	send_str(fd, "{\"cmd\":\"balloon-stats\",\"id\":1}\n{\"cmd\":\"info\",\"id\":2}\n");
	pump(50);
	ck_assert(deferred);
	ck_assert_uint_eq(handled, 1);
	/* other clients are served meanwhile */
	send_str(other, "{\"cmd\":\"info\"}\n");
	ck_assert_ptr_nonnull(strstr(recv_line(other), "\"ok\":true"));
	ctl_server_reply(srv, deferred_client, ctl_reply_ok(id, NULL));
	ck_assert_str_eq(recv_line(fd), "{\"ok\":true,\"id\":1,\"result\":{}}");
	ck_assert_ptr_nonnull(strstr(recv_line(fd), "\"ok\":true,\"id\":2"));
	/* a reply for a client that left is dropped */
	deferred = false;
	send_str(fd, "{\"cmd\":\"balloon-stats\"}\n");
	pump(50);
	ck_assert(deferred);
	close(fd);
	pump(50);
	ctl_server_reply(srv, deferred_client, ctl_reply_ok(NULL, NULL));
	ctl_server_reply(srv, 12345, ctl_reply_ok(NULL, NULL));
	json_decref(id);
	close(other);
}
END_TEST

START_TEST(fifty_clients)
{
	int fds[50];
	char want[64];

	for (int i = 0; i < 50; i++)
		fds[i] = client();
	pump(50);
	ck_assert_uint_eq(ctl_server_clients(srv), 50);
	/* all connected at once, requests interleaved, each answered to its
	 * own connection */
	for (int i = 49; i >= 0; i--) {
		char req[64];

		snprintf(req, sizeof(req), "{\"cmd\":\"info\",\"id\":%d}\n", i);
		send_str(fds[i], req);
	}
	for (int i = 0; i < 50; i++) {
		snprintf(want, sizeof(want), "{\"ok\":true,\"id\":%d,", i);
		ck_assert_ptr_nonnull(strstr(recv_line(fds[i]), want));
	}
	ck_assert_uint_eq(handled, 50);
	for (int i = 0; i < 50; i++)
		close(fds[i]);
	pump(50);
	ck_assert_uint_eq(ctl_server_clients(srv), 0);
}
END_TEST

START_TEST(client_limit)
{
	int fds[CTL_MAX_CLIENTS], extra;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		fds[i] = client();
	pump(50);
	ck_assert_uint_eq(ctl_server_clients(srv), CTL_MAX_CLIENTS);
	extra = client();
	ck_assert_ptr_nonnull(strstr(recv_line(extra), "\"code\":\"busy\""));
	ck_assert(closed_by_server(extra));
	close(extra);
	/* the others still work; a freed slot is reused */
	send_str(fds[7], "{\"cmd\":\"info\"}\n");
	ck_assert_ptr_nonnull(strstr(recv_line(fds[7]), "\"ok\":true"));
	close(fds[0]);
	pump(50);
	extra = client();
	send_str(extra, "{\"cmd\":\"info\"}\n");
	ck_assert_ptr_nonnull(strstr(recv_line(extra), "\"ok\":true"));
	close(extra);
	for (int i = 1; i < CTL_MAX_CLIENTS; i++)
		close(fds[i]);
}
END_TEST

START_TEST(client_that_does_not_read)
{
	int fd = client(), other = client();
	static const char req[] = "{\"cmd\":\"info\",\"id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n";
	int sent = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	pump(50);
	ck_assert_uint_eq(ctl_server_clients(srv), 2);
	/* requests pile up replies it never reads: it is dropped, the server
	 * (and the other client) carry on */
	while (ctl_server_clients(srv) == 2 && sent < 200000) {
		for (int k = 0; k < 100; k++)
			if (write(fd, req, sizeof(req) - 1) > 0)
				sent++;
		pump(10);
	}
	ck_assert_uint_eq(ctl_server_clients(srv), 1);
	send_str(other, "{\"cmd\":\"info\"}\n");
	ck_assert_ptr_nonnull(strstr(recv_line(other), "\"ok\":true"));
	close(fd);
	close(other);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctl");

	/* As in basalt (main.c): a peer that left must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("CTL_DEBUG"))
		bs_log_threshold = BS_LOG_DEBUG;
	TCase *tp = tcase_create("proto"), *ts = tcase_create("server");

	tcase_add_test(tp, parse_valid);
	tcase_add_loop_test(tp, parse_errors, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tp, parse_binary);
	tcase_add_test(tp, replies);
	suite_add_tcase(s, tp);
	tcase_add_checked_fixture(ts, srv_setup, srv_teardown);
	tcase_add_test(ts, socket_mode_and_removal);
	tcase_add_test(ts, stale_socket_replaced);
	tcase_add_test(ts, errors_keep_connection);
	tcase_add_test(ts, deferred_reply_keeps_order);
	tcase_add_test(ts, fifty_clients);
	tcase_add_test(ts, client_limit);
	tcase_add_test(ts, client_that_does_not_read);
	suite_add_tcase(s, ts);
	return fixture_run_suite(s);
}
