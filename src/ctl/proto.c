/* Control-socket requests and replies: see include/basalt/ctl.h and
 * docs/api.md.  Pure functions, no I/O. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/config.h"
#include "basalt/ctl.h"
#include "config_util.h"

const char *const ctl_cmd_names[CTL_NR_CMDS] = {
	[CTL_INFO] = "info", [CTL_PAUSE] = "pause", [CTL_RESUME] = "resume",
	[CTL_SHUTDOWN] = "shutdown", [CTL_BALLOON_SET] = "balloon-set",
	[CTL_BALLOON_STATS] = "balloon-stats",
};

#define CMD_LIST "info, pause, resume, shutdown, balloon-set, balloon-stats"

void ctl_request_free(struct ctl_request *rq)
{
	json_decref(rq->id);
	rq->id = NULL;
}

static int parse_target(json_t *v, uint64_t *out, struct bs_err *e)
{
	char shown[64];

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return bs_errf(e, EINVAL, "'target' must not be negative");
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return bs_errf(e, EINVAL, "'target' must be a size like \"512M\" or a "
			       "byte count");
	if (parse_size(json_string_value(v), out))
		return bs_errf(e, EINVAL, "'target' is not a size: '%s'",
			       cfg_show(json_string_value(v), shown, sizeof(shown)));
	return 0;
}

/* Member key of request cmd: 0 if known and valid, else -EINVAL. */
static int parse_arg(struct ctl_request *rq, const char *key, json_t *v, struct bs_err *e)
{
	char shown[64];

	if (rq->cmd == CTL_BALLOON_SET && !strcmp(key, "target"))
		return parse_target(v, &rq->target, e);
	if (rq->cmd == CTL_SHUTDOWN && !strcmp(key, "timeout")) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > CTL_MAX_SHUTDOWN_TIMEOUT)
			return bs_errf(e, EINVAL, "'timeout' must be an integer 0..%u (seconds)",
				       CTL_MAX_SHUTDOWN_TIMEOUT);
		rq->timeout_s = (unsigned)json_integer_value(v);
		return 0;
	}
	return bs_errf(e, EINVAL, "unknown key '%s' for '%s'",
		       cfg_show(key, shown, sizeof(shown)), ctl_cmd_names[rq->cmd]);
}

const char *ctl_parse_request(const char *line, size_t len, struct ctl_request *rq,
			      struct bs_err *e)
{
	json_error_t je;
	json_t *root, *cmd, *v;
	const char *key;
	char shown[64];
	const char *err = NULL;
	bool have_target = false;
	int c;

	memset(rq, 0, sizeof(*rq));
	rq->timeout_s = CTL_SHUTDOWN_TIMEOUT;
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		bs_errf(e, EINVAL, "invalid JSON at column %d: %s", je.column > 0 ? je.column : 1,
			cfg_show(je.text, shown, sizeof(shown)));
		return CTL_E_PARSE;
	}
	if (!json_is_object(root)) {
		bs_errf(e, EINVAL, "a request is a JSON object like {\"cmd\": \"info\"}");
		err = CTL_E_BAD_REQUEST;
		goto out;
	}
	v = json_object_get(root, "id");
	if (v && !json_is_string(v) && !json_is_integer(v)) {
		bs_errf(e, EINVAL, "'id' must be a string or an integer");
		err = CTL_E_BAD_REQUEST;
		goto out;
	}
	rq->id = json_incref(v);
	cmd = json_object_get(root, "cmd");
	if (!cmd || !json_is_string(cmd)) {
		bs_errf(e, EINVAL, "'cmd' %s (one of " CMD_LIST ")",
			cmd ? "must be a string" : "is missing");
		err = CTL_E_BAD_REQUEST;
		goto out;
	}
	for (c = 0; c < CTL_NR_CMDS; c++)
		if (!strcmp(json_string_value(cmd), ctl_cmd_names[c]))
			break;
	if (c == CTL_NR_CMDS) {
		bs_errf(e, EINVAL, "unknown command '%s' (commands: " CMD_LIST ")",
			cfg_show(json_string_value(cmd), shown, sizeof(shown)));
		err = CTL_E_UNKNOWN;
		goto out;
	}
	rq->cmd = (enum ctl_cmd)c;
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "cmd") || !strcmp(key, "id"))
			continue;
		if (parse_arg(rq, key, v, e)) {
			err = CTL_E_BAD_REQUEST;
			goto out;
		}
		have_target |= !strcmp(key, "target");
	}
	if (rq->cmd == CTL_BALLOON_SET && !have_target) {
		bs_errf(e, EINVAL, "'balloon-set' needs a 'target' (bytes the balloon "
			"should hold, like \"512M\")");
		err = CTL_E_BAD_REQUEST;
	}
out:
	json_decref(root);
	return err;
}

static char *finish(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL, *line = NULL;
	size_t n;

	json_decref(o);
	if (!s)
		return NULL;
	n = strlen(s);
	line = malloc(n + 2);
	if (line) {
		memcpy(line, s, n);
		memcpy(line + n, "\n", 2);
	}
	free(s);
	return line;
}

char *ctl_reply_ok(json_t *id, json_t *result)
{
	json_t *o = json_object();

	if (!result)
		result = json_object();
	if (o) {
		json_object_set_new(o, "ok", json_true());
		if (id)
			json_object_set(o, "id", id);
		json_object_set(o, "result", result);
	}
	json_decref(result);
	return finish(o);
}

char *ctl_reply_error(json_t *id, const char *code, const char *message)
{
	json_t *o = json_object(), *err = json_object(), *m;

	if (o && err) {
		json_object_set_new(o, "ok", json_false());
		if (id)
			json_object_set(o, "id", id);
		json_object_set_new(err, "code", json_string(code));
		/* The message may quote client bytes that are not UTF-8. */
		m = json_string(message);
		json_object_set_new(err, "message", m ? m : json_string("(message not UTF-8)"));
		json_object_set(o, "error", err);
	}
	json_decref(err);
	return finish(o);
}
