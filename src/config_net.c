/* The `nets` part of struct vm_config: --net parsing, MAC addresses and the
 * checks run at validation (the tap must exist and fit the request before
 * any VM is created).  See docs/config.md, "nets". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basalt/config.h"
#include "basalt/net/tap.h"
#include "config_util.h"

void vm_config_clear_nets(struct vm_config *c)
{
	for (unsigned i = 0; i < c->nnets; i++)
		free(c->nets[i].tap);
	memset(c->nets, 0, sizeof(c->nets));
	c->nnets = 0;
}

int cfg_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &end) != 6)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++) {
		if (s[3 * i + 2] != ':' && i < 5)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

void cfg_format_mac(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

#define P "--net: "
#define KEYS "tap, mac, queues, create"

int cfg_parse_net(const char *spec, struct net_config *n, struct bs_err *e)
{
	char *copy = strdup(spec), *save = NULL, *tok, shown[80];
	bool have_mac = false, have_q = false, have_c = false;
	int r = 0;

	memset(n, 0, sizeof(*n));
	if (!copy)
		return bs_errf(e, ENOMEM, P "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		const char *val;
		unsigned long q;
		int b;

		if (!eq) {
			r = bs_errf(e, EINVAL, P "'%s' is not key=value (keys: " KEYS ")",
				    cfg_show(tok, shown, sizeof(shown)));
			break;
		}
		*eq = '\0';
		val = eq + 1;
		if (!strcmp(tok, "tap")) {
			if (!*val)
				r = bs_errf(e, EINVAL, P "tap is empty");
			else if (n->tap)
				r = bs_errf(e, EINVAL, P "tap given twice");
			else if (!(n->tap = strdup(val)))
				r = bs_errf(e, ENOMEM, P "out of memory");
		} else if (!strcmp(tok, "mac")) {
			if (have_mac)
				r = bs_errf(e, EINVAL, P "mac given twice");
			else if (cfg_parse_mac(val, n->mac))
				r = bs_errf(e, EINVAL, P "mac '%s' is not like 52:54:00:12:34:56",
					    cfg_show(val, shown, sizeof(shown)));
			n->mac_set = have_mac = true;
		} else if (!strcmp(tok, "queues")) {
			errno = 0;
			q = strtoul(val, &end, 10);
			if (have_q)
				r = bs_errf(e, EINVAL, P "queues given twice");
			else if (!*val || *end || errno || *val == '-' || q < 1 ||
				 q > BS_NET_MAX_QUEUES)
				r = bs_errf(e, EINVAL, P "queues must be 1..%u, got '%s'",
					    BS_NET_MAX_QUEUES, cfg_show(val, shown, sizeof(shown)));
			n->queues = (unsigned)q;
			have_q = true;
		} else if (!strcmp(tok, "create")) {
			if (have_c)
				r = bs_errf(e, EINVAL, P "create given twice");
			else if ((b = cfg_parse_bool(val)) < 0)
				r = bs_errf(e, EINVAL, P "create must be on or off, got '%s'",
					    cfg_show(val, shown, sizeof(shown)));
			n->create = b == 1;
			have_c = true;
		} else {
			r = bs_errf(e, EINVAL, P "unknown key '%s' (keys: " KEYS ")",
				    cfg_show(tok, shown, sizeof(shown)));
		}
	}
	free(copy);
	if (!r && !n->tap)
		r = bs_errf(e, EINVAL, P "needs tap=NAME (as in --net tap=tap0)");
	if (r) {
		free(n->tap);
		memset(n, 0, sizeof(*n));
	}
	return r;
}
#undef P

/* Can this process open the existing tap?  Root (or CAP_NET_ADMIN) can;
 * otherwise the tap's owner/group must match (tun.c, tun_not_capable). */
static bool may_attach(const struct tap_info *ti)
{
	if (geteuid() == 0)
		return true;
	if (ti->owner == -1 && ti->group == -1)
		return true;	/* CAP_NET_ADMIN decides: the open reports it */
	return (ti->owner != -1 && (uid_t)ti->owner == geteuid()) ||
	       (ti->group != -1 && (gid_t)ti->group == getegid());
}

static int check_tun_dev(unsigned i, struct bs_err *e)
{
	if (access("/dev/net/tun", R_OK | W_OK))
		return bs_errf(e, errno, "nets[%u]: cannot use /dev/net/tun: %s", i,
			       strerror(errno));
	return 0;
}

int cfg_check_net(unsigned i, const struct net_config *n, const struct vm_config *c,
		  struct bs_err *e)
{
	struct tap_info ti;
	char shown[40];

	if (!n->tap || !*n->tap)
		return bs_errf(e, EINVAL, "nets[%u]: needs a tap", i);
	if (strlen(n->tap) > BS_TAP_NAME_MAX || tap_probe(n->tap, &ti))
		return bs_errf(e, EINVAL, "nets[%u]: '%s' is not a valid interface name "
			       "(at most %u characters, no '/', ':' or spaces)", i,
			       cfg_show(n->tap, shown, sizeof(shown)), BS_TAP_NAME_MAX);
	if (n->mac_set && (n->mac[0] & 1))
		return bs_errf(e, EINVAL, "nets[%u]: mac %02x:.. is a multicast address", i,
			       n->mac[0]);
	if (n->mac_set && !(n->mac[0] | n->mac[1] | n->mac[2] | n->mac[3] | n->mac[4] |
			    n->mac[5]))
		return bs_errf(e, EINVAL, "nets[%u]: mac 00:00:00:00:00:00 is not valid", i);
	if (n->queues > BS_NET_MAX_QUEUES)
		return bs_errf(e, EINVAL, "nets[%u]: queues must be 1..%u", i, BS_NET_MAX_QUEUES);
	for (unsigned j = 0; j < i; j++) {
		if (!strcmp(c->nets[j].tap, n->tap))
			return bs_errf(e, EINVAL, "nets[%u]: tap '%s' is already nets[%u]", i,
				       n->tap, j);
		if (n->mac_set && c->nets[j].mac_set && !memcmp(n->mac, c->nets[j].mac, 6))
			return bs_errf(e, EINVAL, "nets[%u]: same mac as nets[%u]", i, j);
	}
	if (n->create) {
		if (ti.exists)
			return bs_errf(e, EEXIST, "nets[%u]: '%s' already exists (drop "
				       "create=on to attach to it)", i, n->tap);
		return check_tun_dev(i, e);
	}
	if (!ti.exists)
		return bs_errf(e, ENODEV, "nets[%u]: tap '%s' does not exist (create it with "
			       "'ip tuntap add dev %s mode tap', or give create=on)", i,
			       n->tap, n->tap);
	if (!ti.is_tun)
		return bs_errf(e, EINVAL, "nets[%u]: '%s' is not a tap device", i, n->tap);
	if (!ti.is_tap)
		return bs_errf(e, EINVAL, "nets[%u]: '%s' is a tun (IP) device, not a tap "
			       "(Ethernet) one", i, n->tap);
	if (n->queues > 1 && !ti.multi_queue)
		return bs_errf(e, EINVAL, "nets[%u]: queues=%u needs a multi_queue tap "
			       "('ip tuntap add dev %s mode tap multi_queue')", i, n->queues,
			       n->tap);
	if (!may_attach(&ti))
		return bs_errf(e, EPERM, "nets[%u]: no permission to use tap '%s' (it "
			       "belongs to uid %ld gid %ld; we are uid %u)", i, n->tap,
			       ti.owner, ti.group, (unsigned)geteuid());
	return check_tun_dev(i, e);
}

bool cfg_nets_equal(const struct vm_config *a, const struct vm_config *b)
{
	if (a->nnets != b->nnets)
		return false;
	for (unsigned i = 0; i < a->nnets; i++) {
		const struct net_config *x = &a->nets[i], *y = &b->nets[i];

		if (strcmp(x->tap, y->tap) || x->mac_set != y->mac_set ||
		    (x->mac_set && memcmp(x->mac, y->mac, 6)) || x->queues != y->queues ||
		    x->create != y->create)
			return false;
	}
	return true;
}
