/* What the control socket controls: pause/resume (parking the vCPUs),
 * shutdown (ACPI power button, then a deadline), the balloon, and the
 * main-loop plumbing (the socket, the balloon's statistics eventfd, the
 * timers).  Everything here but vm_vcpu_park() runs on the main thread.
 * Protocol: docs/api.md; socket handling: src/ctl/server.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "basalt/ctl.h"
#include "basalt/exitcode.h"
#include "basalt/guest_abi.h"
#include "basalt/log.h"
#include "basalt/sandbox.h"
#include "basalt/virtio/balloon.h"
#include "basalt/vm.h"
#include "basalt/x86/acpi.h"
#include "build_config.h"

_Static_assert(ACPI_PWRBTN_GSI == GUEST_PWRBTN_GSI, "test guests know the power button GSI");

#define PAUSE_WAIT_MS 5000      /* for every vCPU to park */
#define STATS_WAIT_MS 3000      /* for the guest to answer a statistics request */

struct stats_wait {
	unsigned client;
	json_t *id;
	int64_t deadline;
};

struct vm_api {
	struct ctl_server *srv;
	int64_t t0;
	bool paused, shutting_down;
	int64_t shutdown_deadline;
	unsigned shutdown_timeout;
	int64_t next_stats;             /* stats_interval timer, 0 = off */
	struct stats_wait wait[CTL_MAX_CLIENTS];
	unsigned nwait;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- pause ---- */

void vm_pause_init(struct vm *vm)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&vm->pause.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->pause.cond, &ca);
	pthread_condattr_destroy(&ca);
	vm->pause.ready = true;
}

void vm_vcpu_park(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause.lock);
	vm->pause.parked++;
	pthread_cond_broadcast(&vm->pause.cond);
	while (atomic_load(&vm->pause.req) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause.cond, &vm->pause.lock);
	vm->pause.parked--;
	pthread_mutex_unlock(&vm->pause.lock);
}

void vm_pause_wake(struct vm *vm)
{
	if (!vm->pause.ready)
		return;
	pthread_mutex_lock(&vm->pause.lock);
	pthread_cond_broadcast(&vm->pause.cond);
	pthread_mutex_unlock(&vm->pause.lock);
}

static void resume_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause.lock);
	atomic_store(&vm->pause.req, false);
	pthread_cond_broadcast(&vm->pause.cond);
	pthread_mutex_unlock(&vm->pause.lock);
}

/* Kicks every vCPU out of KVM_RUN and waits until all are parked. */
static int pause_vcpus(struct vm *vm)
{
	struct timespec ts;
	unsigned want = 0;
	bool ok;

	atomic_store(&vm->pause.req, true);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		want++;
		vcpu_kick(&vm->vcpus[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += PAUSE_WAIT_MS / 1000;
	pthread_mutex_lock(&vm->pause.lock);
	while (vm->pause.parked < want && !atomic_load(&vm->stopping))
		if (pthread_cond_timedwait(&vm->pause.cond, &vm->pause.lock, &ts) == ETIMEDOUT)
			break;
	ok = vm->pause.parked >= want && !atomic_load(&vm->stopping);
	pthread_mutex_unlock(&vm->pause.lock);
	if (!ok) {
		resume_vcpus(vm);
		return -ETIMEDOUT;
	}
	return 0;
}

static unsigned parked(struct vm *vm)
{
	unsigned n;

	pthread_mutex_lock(&vm->pause.lock);
	n = vm->pause.parked;
	pthread_mutex_unlock(&vm->pause.lock);
	return n;
}

/* ---- replies ---- */

static char *err(const struct ctl_request *rq, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static char *err(const struct ctl_request *rq, const char *code, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ctl_reply_error(rq->id, code, msg);
}

static const char *state_name(const struct vm_api *a)
{
	return a->shutting_down ? "shutting-down" : a->paused ? "paused" : "running";
}

static json_t *balloon_json(struct vm *vm)
{
	struct virtio_balloon_info bi;
	json_t *o;

	if (!vm->balloon.dev)
		return json_null();
	virtio_balloon_get_info(vm->balloon.dev, &bi);
	o = json_object();
	json_object_set_new(o, "target", json_integer((json_int_t)bi.target_pages * 4096));
	json_object_set_new(o, "actual", json_integer((json_int_t)bi.actual_pages * 4096));
	json_object_set_new(o, "driver_ok", json_boolean(bi.driver_ok));
	json_object_set_new(o, "statistics", json_boolean(
		bi.features & (1ull << VIRTIO_BALLOON_F_STATS_VQ)));
	json_object_set_new(o, "deflate_on_oom", json_boolean(
		bi.features & (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM)));
	json_object_set_new(o, "free_page_reporting", json_boolean(
		bi.features & (1ull << VIRTIO_BALLOON_F_REPORTING)));
	json_object_set_new(o, "inflated", json_integer((json_int_t)(bi.inflated_pages * 4096)));
	json_object_set_new(o, "deflated", json_integer((json_int_t)(bi.deflated_pages * 4096)));
	json_object_set_new(o, "released", json_integer((json_int_t)bi.released_bytes));
	json_object_set_new(o, "reported", json_integer((json_int_t)bi.reported_bytes));
	json_object_set_new(o, "ignored", json_integer((json_int_t)bi.ignored));
	return o;
}

static char *info(struct vm *vm, const struct ctl_request *rq)
{
	struct vm_api *a = vm->api;
	json_t *o = json_object();

	json_object_set_new(o, "state", json_string(state_name(a)));
	json_object_set_new(o, "version", json_string(BASALT_VERSION));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "uptime_ms", json_integer(now_ms() - a->t0));
	json_object_set_new(o, "cpus", json_integer(vm->ncpus));
	json_object_set_new(o, "vcpus_parked", json_integer(parked(vm)));
	json_object_set_new(o, "memory", json_integer((json_int_t)vm->cfg->memory));
	json_object_set_new(o, "clients", json_integer(ctl_server_clients(a->srv)));
	json_object_set_new(o, "balloon", balloon_json(vm));
	return ctl_reply_ok(rq->id, o);
}

/* The guest's last statistics: fresh when they arrived after the request. */
static char *stats_reply(struct vm *vm, json_t *id, bool fresh)
{
	struct virtio_balloon_info bi;
	json_t *o, *st;

	virtio_balloon_get_info(vm->balloon.dev, &bi);
	if (!bi.stats.updates)
		return ctl_reply_error(id, CTL_E_UNAVAILABLE, "the guest has sent no "
				       "statistics (is its virtio_balloon driver running?)");
	st = json_object();
	for (unsigned t = 0; t < BALLOON_NR_STATS; t++)
		if (bi.stats.present & (1u << t))
			json_object_set_new(st, balloon_stat_names[t],
					    json_integer((json_int_t)bi.stats.val[t]));
	o = json_object();
	json_object_set_new(o, "fresh", json_boolean(fresh));
	json_object_set_new(o, "age_ms", json_integer(now_ms() - bi.stats.when_ms));
	json_object_set_new(o, "updates", json_integer((json_int_t)bi.stats.updates));
	json_object_set_new(o, "stats", st);
	return ctl_reply_ok(id, o);
}

static void finish_waits(struct vm *vm, bool fresh, int64_t now)
{
	struct vm_api *a = vm->api;

	for (unsigned i = 0; i < a->nwait;) {
		struct stats_wait *w = &a->wait[i];

		if (!fresh && now < w->deadline) {
			i++;
			continue;
		}
		ctl_server_reply(a->srv, w->client, stats_reply(vm, w->id, fresh));
		json_decref(w->id);
		*w = a->wait[--a->nwait];
	}
}

/* ---- commands ---- */

static void power_button(struct vm *vm)
{
	/* An edge on the GED's interrupt (arch/x86/acpi.c): _EVT notifies
	 * \_SB.PWRB with 0x80, "power button pressed". */
	for (int level = 1; level >= 0; level--) {
		struct kvm_irq_level l = { .irq = ACPI_PWRBTN_GSI, .level = (uint32_t)level };

		if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
			log_warn("power button: KVM_IRQ_LINE: %s", strerror(errno));
	}
}

static char *handle(void *opaque, unsigned client, const struct ctl_request *rq)
{
	struct vm *vm = opaque;
	struct vm_api *a = vm->api;
	struct virtio_balloon *b = vm->balloon.dev;
	char t[32], m[32];

	switch (rq->cmd) {
	case CTL_INFO:
		return info(vm, rq);
	case CTL_PAUSE:
		if (a->paused || a->shutting_down)
			return err(rq, CTL_E_STATE, "cannot pause: the VM is %s", state_name(a));
		if (pause_vcpus(vm))
			return err(rq, CTL_E_FAILED, "the vCPUs did not stop within %d s",
				   PAUSE_WAIT_MS / 1000);
		a->paused = true;
		log_info("api socket: paused (%u vCPUs parked)", parked(vm));
		return ctl_reply_ok(rq->id, json_pack("{ss}", "state", "paused"));
	case CTL_RESUME:
		if (!a->paused)
			return err(rq, CTL_E_STATE, "cannot resume: the VM is %s, not paused",
				   state_name(a));
		resume_vcpus(vm);
		a->paused = false;
		log_info("api socket: resumed");
		return ctl_reply_ok(rq->id, json_pack("{ss}", "state", "running"));
	case CTL_SHUTDOWN:
		if (a->shutting_down)
			return err(rq, CTL_E_STATE, "a shutdown is already under way (%lld s left)",
				   (long long)(a->shutdown_deadline - now_ms()) / 1000);
		if (a->paused)
			return err(rq, CTL_E_STATE, "the VM is paused: resume it first (a "
				   "paused guest cannot see the power button)");
		power_button(vm);
		a->shutting_down = true;
		a->shutdown_timeout = rq->timeout_s;
		a->shutdown_deadline = now_ms() + (int64_t)rq->timeout_s * 1000;
		log_info("api socket: power button pressed; stopping the VM in %u s "
			 "unless it powers off", rq->timeout_s);
		return ctl_reply_ok(rq->id, json_pack("{sssi}", "state", "shutting-down",
						      "timeout", (int)rq->timeout_s));
	case CTL_BALLOON_SET:
		if (!b)
			return err(rq, CTL_E_NO_DEVICE, "this VM has no balloon (--balloon)");
		format_size(rq->target, t, sizeof(t));
		format_size(vm->cfg->memory, m, sizeof(m));
		if (rq->target % GM_PAGE_SIZE)
			return err(rq, CTL_E_BAD_ARG, "target %s is not a multiple of 4K", t);
		if (rq->target > vm->cfg->memory)
			return err(rq, CTL_E_BAD_ARG, "target %s is more than the guest's "
				   "memory (%s)", t, m);
		virtio_balloon_set_target(b, (uint32_t)(rq->target / GM_PAGE_SIZE));
		log_info("api socket: balloon target %s", t);
		return ctl_reply_ok(rq->id, json_pack("{sI}", "target", (json_int_t)rq->target));
	case CTL_BALLOON_STATS:
		if (!b)
			return err(rq, CTL_E_NO_DEVICE, "this VM has no balloon (--balloon)");
		/* A paused guest cannot answer: the last numbers at once. */
		if (a->paused || a->nwait == CTL_MAX_CLIENTS ||
		    !virtio_balloon_request_stats(b))
			return stats_reply(vm, rq->id, false);
		a->wait[a->nwait++] = (struct stats_wait){
			client, json_incref(rq->id), now_ms() + STATS_WAIT_MS,
		};
		return NULL;
	case CTL_NR_CMDS:
		break;
	}
	return err(rq, CTL_E_UNKNOWN, "unknown command");
}

/* ---- main loop ---- */

int vm_api_create(struct vm *vm, struct bs_err *e)
{
	struct vm_api *a = calloc(1, sizeof(*a));
	unsigned every = vm->cfg->balloon.stats_interval;
	int r;

	if (!a)
		return bs_errf(e, ENOMEM, "api: out of memory");
	vm->api = a;
	a->t0 = now_ms();
	/* jansson seeds its hash function from /dev/urandom on first use:
	 * now, while files may still be opened, not under the sandbox. */
	json_object_seed(0);
	if (vm->balloon.dev && every)
		a->next_stats = a->t0 + (int64_t)every * 1000;
	if (!vm->cfg->api_socket)
		return 0;
	r = ctl_server_open(&a->srv, vm->cfg->api_socket, handle, vm, e);
	if (r)
		return r;
	if (vm->cfg->jail.uid != BS_NO_ID &&
	    (r = ctl_server_chown(a->srv, (uid_t)vm->cfg->jail.uid,
				  (gid_t)vm->cfg->jail.gid, e)))
		return r;
	sandbox_allow_unlink_in(ctl_server_dirfd(a->srv));
	log_info("api socket: listening on %s", vm->cfg->api_socket);
	return 0;
}

unsigned vm_api_pollfds(struct vm *vm, struct pollfd *p, unsigned max, int *timeout)
{
	struct vm_api *a = vm->api;
	int64_t now = now_ms(), next = INT64_MAX;
	unsigned n = 0;

	if (!a)
		return 0;
	if (vm->balloon.stats_efd >= 0 && max)
		p[n++] = (struct pollfd){ .fd = vm->balloon.stats_efd, .events = POLLIN };
	if (a->srv)
		n += ctl_server_pollfds(a->srv, p + n, max - n);
	if (a->shutting_down)
		next = a->shutdown_deadline;
	if (a->next_stats && a->next_stats < next)
		next = a->next_stats;
	for (unsigned i = 0; i < a->nwait; i++)
		if (a->wait[i].deadline < next)
			next = a->wait[i].deadline;
	if (next != INT64_MAX) {
		int64_t left = next > now ? next - now : 0;

		if (*timeout < 0 || left < *timeout)
			*timeout = left > 60000 ? 60000 : (int)left;
	}
	return n;
}

void vm_api_dispatch(struct vm *vm, const struct pollfd *p, unsigned n)
{
	struct vm_api *a = vm->api;
	int64_t now = now_ms();
	unsigned k = 0;

	if (!a)
		return;
	if (vm->balloon.stats_efd >= 0 && n) {
		uint64_t cnt;

		if ((p[0].revents & POLLIN) &&
		    read(vm->balloon.stats_efd, &cnt, sizeof(cnt)) == sizeof(cnt))
			finish_waits(vm, true, now);
		k = 1;
	}
	if (a->srv)
		ctl_server_dispatch(a->srv, p + k, n - k);
	finish_waits(vm, false, now);
	if (a->next_stats && now >= a->next_stats) {
		if (!a->paused)
			virtio_balloon_request_stats(vm->balloon.dev);
		a->next_stats = now + (int64_t)vm->cfg->balloon.stats_interval * 1000;
	}
	if (a->shutting_down && now >= a->shutdown_deadline)
		vm_stop(vm, BS_EXIT_SHUTDOWN_DEADLINE, "shutdown: the guest did not power "
			"off within %u s of the power button; stopped it",
			a->shutdown_timeout);
}

void vm_api_destroy(struct vm *vm)
{
	struct vm_api *a = vm->api;

	if (!a)
		return;
	for (unsigned i = 0; i < a->nwait; i++)
		json_decref(a->wait[i].id);
	ctl_server_close(a->srv);
	free(a);
	vm->api = NULL;
}
