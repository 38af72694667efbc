/* The `balloon` and `api_socket` parts of struct vm_config: --balloon
 * parsing and the checks run at validation.  See docs/config.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "basalt/config.h"
#include "config_util.h"

#define P "--balloon: "
#define KEYS "target, stats-interval, deflate-on-oom, free-page-reporting"

static int parse_flag(const char *key, const char *val, bool *seen, bool *dst,
		      struct bs_err *e)
{
	char shown[80];
	int b = cfg_parse_bool(val);

	if (*seen)
		return bs_errf(e, EINVAL, P "%s given twice", key);
	if (b < 0)
		return bs_errf(e, EINVAL, P "%s must be on or off, got '%s'", key,
			       cfg_show(val, shown, sizeof(shown)));
	*seen = true;
	*dst = b == 1;
	return 0;
}

int cfg_parse_balloon(const char *spec, struct balloon_config *b, struct bs_err *e)
{
	char *copy, *save = NULL, *tok, shown[80];
	bool have_t = false, have_s = false, have_d = false, have_r = false;
	int r = 0;

	memset(b, 0, sizeof(*b));
	if (!strcmp(spec, "off"))
		return 0;
	b->enabled = true;
	if (!strcmp(spec, "on"))
		return 0;
	if (!(copy = strdup(spec)))
		return bs_errf(e, ENOMEM, P "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		const char *val;
		unsigned long v;

		if (!eq) {
			r = bs_errf(e, EINVAL, P "'%s' is not key=value (keys: " KEYS
				    "; or on, off)", cfg_show(tok, shown, sizeof(shown)));
			break;
		}
		*eq = '\0';
		val = eq + 1;
		if (!strcmp(tok, "target")) {
			if (have_t)
				r = bs_errf(e, EINVAL, P "target given twice");
			else if (parse_size(val, &b->target))
				r = bs_errf(e, EINVAL, P "target '%s' is not a size (like 512M)",
					    cfg_show(val, shown, sizeof(shown)));
			have_t = true;
		} else if (!strcmp(tok, "stats-interval")) {
			errno = 0;
			v = strtoul(val, &end, 10);
			if (have_s)
				r = bs_errf(e, EINVAL, P "stats-interval given twice");
			else if (!*val || *end || errno || *val == '-' ||
				 v > BS_BALLOON_MAX_STATS_INTERVAL)
				r = bs_errf(e, EINVAL, P "stats-interval must be 0..%u seconds, "
					    "got '%s'", BS_BALLOON_MAX_STATS_INTERVAL,
					    cfg_show(val, shown, sizeof(shown)));
			b->stats_interval = (unsigned)v;
			have_s = true;
		} else if (!strcmp(tok, "deflate-on-oom")) {
			r = parse_flag(tok, val, &have_d, &b->deflate_on_oom, e);
		} else if (!strcmp(tok, "free-page-reporting")) {
			r = parse_flag(tok, val, &have_r, &b->free_page_reporting, e);
		} else {
			r = bs_errf(e, EINVAL, P "unknown key '%s' (keys: " KEYS ")",
				    cfg_show(tok, shown, sizeof(shown)));
		}
	}
	free(copy);
	if (r)
		memset(b, 0, sizeof(*b));
	return r;
}
#undef P

int cfg_check_balloon(const struct vm_config *c, struct bs_err *e)
{
	const struct balloon_config *b = &c->balloon;
	char t[32], m[32];

	if (!b->enabled)
		return 0;
	format_size(b->target, t, sizeof(t));
	format_size(c->memory, m, sizeof(m));
	if (b->target % 4096)
		return bs_errf(e, EINVAL, "balloon: target must be a multiple of 4K: %s", t);
	if (b->target > c->memory)
		return bs_errf(e, ERANGE, "balloon: target %s is more than the guest's "
			       "memory (%s)", t, m);
	if (b->stats_interval > BS_BALLOON_MAX_STATS_INTERVAL)
		return bs_errf(e, ERANGE, "balloon: stats_interval out of range (0..%u): %u",
			       BS_BALLOON_MAX_STATS_INTERVAL, b->stats_interval);
	return 0;
}

int cfg_check_api_socket(const char *path, struct bs_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	struct stat st;
	int fd, err;

	if (!path)
		return 0;
	if (!*path)
		return bs_errf(e, EINVAL, "api_socket: the path is empty");
	if (strlen(path) >= sizeof(sa.sun_path))
		return bs_errf(e, ENAMETOOLONG, "api_socket: '%s' is longer than %zu bytes "
			       "(a socket path must fit sockaddr_un)", path,
			       sizeof(sa.sun_path) - 1);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(slash ? dir : ".", &st) < 0 || !S_ISDIR(st.st_mode))
		return bs_errf(e, ENOENT, "api_socket: directory '%s' does not exist",
			       slash ? dir : ".");
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : bs_errf(e, errno, "api_socket: '%s': %s", path,
						     strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return bs_errf(e, EEXIST, "api_socket: '%s' exists and is not a socket", path);
	/* A socket file: in use if something accepts on it, else stale. */
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return bs_errf(e, errno, "api_socket: socket: %s", strerror(errno));
	err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
	close(fd);
	if (!err)
		return bs_errf(e, EADDRINUSE, "api_socket: '%s' is in use by a running "
			       "process", path);
	if (err != ECONNREFUSED)
		return bs_errf(e, err, "api_socket: '%s': %s", path, strerror(err));
	return 0;	/* stale: replaced when the VM starts */
}

bool cfg_ctl_equal(const struct vm_config *a, const struct vm_config *b)
{
	const struct balloon_config *x = &a->balloon, *y = &b->balloon;

	if ((a->api_socket == NULL) != (b->api_socket == NULL) ||
	    (a->api_socket && strcmp(a->api_socket, b->api_socket)))
		return false;
	if (x->enabled != y->enabled)
		return false;
	return !x->enabled || (x->target == y->target &&
			       x->stats_interval == y->stats_interval &&
			       x->deflate_on_oom == y->deflate_on_oom &&
			       x->free_page_reporting == y->free_page_reporting);
}
