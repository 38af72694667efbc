/* io_uring event loop; contract in include/basalt/io/loop.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "basalt/io/loop.h"
#include "basalt/log.h"

struct io_watch {
	struct io_completion comp;   /* user_data of the poll request */
	struct io_loop *loop;
	int fd;
	io_watch_fn cb;
	void *opaque;
	bool armed;      /* a poll request is in the kernel */
	bool removing;   /* free once the poll request is gone */
	bool in_cb;      /* cb is running: defer freeing */
	bool paused;     /* events are ignored (io_loop_pause_watch) */
	struct io_watch *prev, *next;
};

struct io_loop {
	bool uring;                  /* false: poll() mode, fd watches only */
	struct io_uring ring;
	char name[16];
	pthread_t thread;
	bool running;                /* controlling thread's view */
	atomic_bool stop;
	int wake_fd;
	struct io_watch *wake_watch;
	io_watch_fn wake_hook;
	void *wake_opaque;
	int (*thread_hook)(void *opaque);
	void *thread_opaque;
	io_poll_fn poller;
	void *poller_opaque;
	uint64_t poll_ns;
	struct io_watch *watches;    /* every live watch, for destroy */
	pthread_mutex_t files_lock;
	uint64_t files_used[IO_LOOP_FILES / 64];
};

static __thread struct io_loop *current_loop;

/* liburing 2.3 as shipped by Debian leaves io_uring_register_restrictions()
 * and io_uring_enable_rings() out of the shared library's symbol map, so
 * the two register calls are made directly. */
static int ring_register(struct io_loop *l, unsigned op, void *arg, unsigned nr)
{
	long ret = syscall(__NR_io_uring_register, l->ring.ring_fd, op, arg, nr);

	return ret < 0 ? -errno : (int)ret;
}

/* The opcode allow list (see loop.h). */
static const uint8_t allowed_ops[] = {
	IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_READ, IORING_OP_WRITE,
	IORING_OP_FSYNC, IORING_OP_FALLOCATE, IORING_OP_POLL_ADD,
	IORING_OP_POLL_REMOVE, IORING_OP_ASYNC_CANCEL, IORING_OP_NOP,
};

static int ring_restrict(struct io_loop *l)
{
	struct io_uring_restriction res[sizeof(allowed_ops) + 2];
	unsigned n = 0;

	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < sizeof(allowed_ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = allowed_ops[i];
	}
	/* Without this every SQE flag, IOSQE_FIXED_FILE included, is refused. */
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
	res[n++].register_op = IORING_REGISTER_FILES_UPDATE;
	return ring_register(l, IORING_REGISTER_RESTRICTIONS, res, n);
}

struct io_uring_sqe *io_loop_get_sqe(struct io_loop *l, struct io_completion *c)
{
	struct io_uring_sqe *sqe;

	if (!l->uring)
		return NULL;
	sqe = io_uring_get_sqe(&l->ring);
	if (!sqe) {
		/* SQ full: hand the batch to the kernel now. */
		int ret = io_uring_submit(&l->ring);

		if (ret < 0)
			log_warn("io loop %s: submit: %s", l->name, strerror(-ret));
		sqe = io_uring_get_sqe(&l->ring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data(sqe, c);
	return sqe;
}

/* ---- fd watches ---- */

static void watch_free(struct io_watch *w)
{
	struct io_loop *l = w->loop;

	if (w->prev)
		w->prev->next = w->next;
	else
		l->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w);
}

static int watch_arm(struct io_watch *w)
{
	struct io_uring_sqe *sqe;

	if (!w->loop->uring)
		return 0;	/* poll() mode: the loop polls every live watch */
	sqe = io_loop_get_sqe(w->loop, &w->comp);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_poll_multishot(sqe, w->fd, POLLIN);
	w->armed = true;
	return 0;
}

static void watch_done(struct io_completion *c, int32_t res, uint32_t flags)
{
	struct io_watch *w = (struct io_watch *)((char *)c -
						 offsetof(struct io_watch, comp));
	bool more = flags & IORING_CQE_F_MORE;

	if (!more)
		w->armed = false;
	if (res >= 0 && !w->removing && !w->paused) {
		w->in_cb = true;
		w->cb(w->opaque);
		w->in_cb = false;
	} else if (res < 0 && res != -ECANCELED && !w->removing) {
		log_warn("io loop %s: watch on fd %d: %s", w->loop->name, w->fd,
			 strerror(-res));
		if (!more)
			w->removing = true;   /* do not re-arm a failing poll */
	}
	if (w->armed)
		return;
	if (w->removing) {
		watch_free(w);
		return;
	}
	/* The kernel ended the multishot poll (e.g. CQ overflow): re-arm. */
	if (watch_arm(w) < 0)
		log_err("io loop %s: cannot re-arm watch on fd %d: ring full",
			w->loop->name, w->fd);
}

int io_loop_add_fd_watch(struct io_loop *l, int fd, io_watch_fn cb,
			 void *opaque, struct io_watch **out, struct bs_err *e)
{
	struct io_watch *w;

	if (fd < 0 || !cb)
		return bs_errf(e, EINVAL, "io loop %s: bad watch (fd %d)",
			       l->name, fd);
	w = calloc(1, sizeof(*w));
	if (!w)
		return bs_errf(e, ENOMEM, "io loop %s: watch on fd %d", l->name,
			       fd);
	w->comp.cb = watch_done;
	w->loop = l;
	w->fd = fd;
	w->cb = cb;
	w->opaque = opaque;
	if (watch_arm(w) < 0) {
		free(w);
		return bs_errf(e, EAGAIN, "io loop %s: watch on fd %d: ring full",
			       l->name, fd);
	}
	w->next = l->watches;
	if (l->watches)
		l->watches->prev = w;
	l->watches = w;
	if (out)
		*out = w;
	return 0;
}

void io_loop_pause_watch(struct io_watch *w, bool paused)
{
	if (w)
		w->paused = paused;
}

void io_loop_remove_fd_watch(struct io_loop *l, struct io_watch *w)
{
	struct io_uring_sqe *sqe;

	if (!w || w->removing)
		return;
	w->removing = true;
	if (!l->uring) {
		/* poll() mode: the running pass may still hold w; it frees
		 * removed watches when it ends. */
		if (!io_loop_on_thread(l))
			watch_free(w);
		return;
	}
	if (!w->armed) {
		if (!w->in_cb)
			watch_free(w);
		return;
	}
	/* The poll's final CQE (-ECANCELED) frees w in watch_done(); the
	 * remove request's own CQE carries no completion. */
	sqe = io_loop_get_sqe(l, NULL);
	if (!sqe) {
		log_err("io loop %s: cannot remove watch on fd %d: ring full",
			l->name, w->fd);
		return;
	}
	io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)&w->comp);
}

/* ---- the loop thread ---- */

static void wake_cb(void *opaque)
{
	struct io_loop *l = opaque;
	uint64_t v;

	while (read(l->wake_fd, &v, sizeof(v)) == sizeof(v))
		;
	if (l->wake_hook && !atomic_load(&l->stop))
		l->wake_hook(l->wake_opaque);
}

static void dispatch(struct io_loop *l)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&l->ring, &cqe) == 0) {
		struct io_completion *c = io_uring_cqe_get_data(cqe);
		int32_t res = cqe->res;
		uint32_t flags = cqe->flags;

		/* Consume first: the callback may queue new requests. */
		io_uring_cqe_seen(&l->ring, cqe);
		if (c)
			c->cb(c, res, flags);
	}
}

/* poll() mode (no io_uring on this host): wait for any watched fd, run
 * the callbacks of those that fired.  Callbacks may add or remove watches;
 * a removed watch is skipped and freed after the pass. */
static void poll_mode_run(struct io_loop *l)
{
	struct pollfd pf[IO_LOOP_MAX_WATCHES];
	struct io_watch *ws[IO_LOOP_MAX_WATCHES];

	while (!atomic_load(&l->stop)) {
		unsigned n = 0;

		for (struct io_watch *w = l->watches; w && n < IO_LOOP_MAX_WATCHES; w = w->next) {
			if (w->removing || w->paused)
				continue;
			pf[n] = (struct pollfd){ w->fd, POLLIN, 0 };
			ws[n++] = w;
		}
		if (poll(pf, n, -1) < 0 && errno != EINTR) {
			log_err("io loop %s: poll: %s", l->name, strerror(errno));
			break;
		}
		for (unsigned i = 0; i < n; i++) {
			if (!pf[i].revents || ws[i]->removing)
				continue;
			ws[i]->in_cb = true;
			ws[i]->cb(ws[i]->opaque);
			ws[i]->in_cb = false;
		}
		for (struct io_watch *w = l->watches, *next; w; w = next) {
			next = w->next;
			if (w->removing && !w->in_cb)
				watch_free(w);
		}
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Before sleeping, poll for up to poll_ns: the poller looks for new work
 * (a virtqueue's avail ring) without waiting for its notification, and a
 * completion ends the wait as well.  Each find restarts the budget.  This
 * trades an idle core's time for the wake-up latency of the thread, which
 * dominates a lone request's round trip. */
static void busy_poll(struct io_loop *l)
{
	uint64_t deadline;

	io_uring_submit(&l->ring);
	deadline = mono_ns() + l->poll_ns;
	while (!io_uring_cq_ready(&l->ring) && !atomic_load(&l->stop)) {
		int found = l->poller(l->poller_opaque);

		if (found > 0) {
			io_uring_submit(&l->ring);
			deadline = mono_ns() + l->poll_ns;
			continue;
		}
		if (found < 0 || mono_ns() >= deadline)
			break;
		__builtin_ia32_pause();
	}
}

static void *loop_thread(void *arg)
{
	struct io_loop *l = arg;
	sigset_t all;

	/* Signals are for the vCPU and main threads -- except SIGSYS, so that
	 * a seccomp violation here is reported, not a silent kill. */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* Named from inside: naming another thread needs /proc, which a
	 * jail lacks. */
	pthread_setname_np(pthread_self(), l->name);
	if (l->thread_hook && l->thread_hook(l->thread_opaque))
		return NULL;
	current_loop = l;
	if (!l->uring) {
		poll_mode_run(l);
		current_loop = NULL;
		return NULL;
	}
	while (!atomic_load(&l->stop)) {
		int ret;

		if (l->poller)
			busy_poll(l);
		/* The one blocking submit of this iteration: everything the
		 * previous round of callbacks queued goes in with the wait. */
		ret = io_uring_submit_and_wait(&l->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY &&
		    ret != -ETIME) {
			log_err("io loop %s: io_uring_enter: %s", l->name,
				strerror(-ret));
			break;
		}
		dispatch(l);
	}
	/* Hand what callbacks queued to the kernel; a restart reaps it. */
	io_uring_submit(&l->ring);
	current_loop = NULL;
	return NULL;
}

bool io_loop_on_thread(const struct io_loop *l)
{
	return current_loop == l;
}

void io_loop_wake(struct io_loop *l)
{
	uint64_t one = 1;

	/* Can only fail if the counter is about to overflow, in which case
	 * the loop is already woken. */
	if (write(l->wake_fd, &one, sizeof(one)) < 0)
		return;
}

void io_loop_set_wake_hook(struct io_loop *l, io_watch_fn fn, void *opaque)
{
	l->wake_hook = fn;
	l->wake_opaque = opaque;
}

void io_loop_set_thread_hook(struct io_loop *l, int (*fn)(void *opaque),
			     void *opaque)
{
	l->thread_hook = fn;
	l->thread_opaque = opaque;
}

void io_loop_set_poller(struct io_loop *l, io_poll_fn fn, void *opaque,
			unsigned poll_us)
{
	l->poller = fn;
	l->poller_opaque = opaque;
	l->poll_ns = (uint64_t)poll_us * 1000;
}

int io_loop_start(struct io_loop *l, struct bs_err *e)
{
	int ret;

	if (l->running)
		return bs_errf(e, EBUSY, "io loop %s: already running", l->name);
	atomic_store(&l->stop, false);
	ret = pthread_create(&l->thread, NULL, loop_thread, l);
	if (ret)
		return bs_errf(e, ret, "io loop %s: cannot create thread: %s",
			       l->name, strerror(ret));
	l->running = true;
	return 0;
}

void io_loop_stop(struct io_loop *l)
{
	if (!l->running)
		return;
	if (io_loop_on_thread(l)) {
		log_err("io loop %s: stop called from the loop thread", l->name);
		return;
	}
	atomic_store(&l->stop, true);
	io_loop_wake(l);
	pthread_join(l->thread, NULL);
	l->running = false;
}

/* ---- fixed files ---- */

int io_loop_register_file(struct io_loop *l, int fd, struct bs_err *e)
{
	int slot = -1, ret;

	if (!l->uring)
		return bs_errf(e, EOPNOTSUPP, "io loop %s: poll() mode has no fixed "
			       "files (no io_uring)", l->name);
	pthread_mutex_lock(&l->files_lock);
	for (int i = 0; i < IO_LOOP_FILES; i++) {
		if (!(l->files_used[i / 64] & (1ull << (i % 64)))) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		pthread_mutex_unlock(&l->files_lock);
		return bs_errf(e, ENFILE, "io loop %s: all %d fixed-file slots in use",
			       l->name, IO_LOOP_FILES);
	}
	ret = io_uring_register_files_update(&l->ring, slot, &fd, 1);
	if (ret < 0) {
		pthread_mutex_unlock(&l->files_lock);
		return bs_errf(e, -ret, "io loop %s: register fd %d: %s", l->name,
			       fd, strerror(-ret));
	}
	l->files_used[slot / 64] |= 1ull << (slot % 64);
	pthread_mutex_unlock(&l->files_lock);
	return slot;
}

void io_loop_unregister_file(struct io_loop *l, int slot)
{
	int none = -1, ret;

	if (slot < 0 || slot >= IO_LOOP_FILES || !l->uring)
		return;
	pthread_mutex_lock(&l->files_lock);
	ret = io_uring_register_files_update(&l->ring, slot, &none, 1);
	if (ret < 0)
		log_warn("io loop %s: unregister slot %d: %s", l->name, slot,
			 strerror(-ret));
	else
		l->files_used[slot / 64] &= ~(1ull << (slot % 64));
	pthread_mutex_unlock(&l->files_lock);
}

/* ---- create / destroy ---- */

int io_loop_create(struct io_loop **out, const char *name, struct bs_err *e)
{
	struct io_uring_params p;
	struct io_loop *l;
	const char *env = getenv("BASALT_NO_IO_URING");
	int ret;

	*out = NULL;
	if (env && !strcmp(env, "1"))
		return bs_errf(e, ENOSYS,
			       "io loop %s: io_uring disabled by BASALT_NO_IO_URING=1",
			       name);
	l = calloc(1, sizeof(*l));
	if (!l)
		return bs_errf(e, ENOMEM, "io loop %s", name);
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->wake_fd = -1;
	l->uring = true;
	pthread_mutex_init(&l->files_lock, NULL);

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE;
	p.cq_entries = 2 * IO_LOOP_ENTRIES;
	ret = io_uring_queue_init_params(IO_LOOP_ENTRIES, &l->ring, &p);
	if (ret < 0) {
		ret = bs_errf(e, -ret, "io loop %s: io_uring unavailable: %s",
			      name, strerror(-ret));
		goto err_free;
	}
	ret = io_uring_register_files_sparse(&l->ring, IO_LOOP_FILES);
	if (ret < 0) {
		ret = bs_errf(e, -ret, "io loop %s: sparse file table: %s", name,
			      strerror(-ret));
		goto err_ring;
	}
	ret = ring_restrict(l);
	if (ret < 0) {
		ret = bs_errf(e, -ret, "io loop %s: io_uring restrictions: %s",
			      name, strerror(-ret));
		goto err_ring;
	}
	ret = ring_register(l, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (ret < 0) {
		ret = bs_errf(e, -ret, "io loop %s: enable io_uring: %s", name,
			      strerror(-ret));
		goto err_ring;
	}
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0) {
		ret = bs_errf(e, errno, "io loop %s: eventfd: %s", name,
			      strerror(errno));
		goto err_ring;
	}
	ret = io_loop_add_fd_watch(l, l->wake_fd, wake_cb, l, &l->wake_watch, e);
	if (ret < 0)
		goto err_fd;
	*out = l;
	return 0;

err_fd:
	close(l->wake_fd);
err_ring:
	io_uring_queue_exit(&l->ring);
err_free:
	pthread_mutex_destroy(&l->files_lock);
	free(l);
	return ret;
}

void io_loop_destroy(struct io_loop *l)
{
	if (!l)
		return;
	io_loop_stop(l);
	/* Exiting the ring cancels whatever is left; the kernel then drops
	 * its references to the watches and files. */
	if (l->uring)
		io_uring_queue_exit(&l->ring);
	while (l->watches)
		watch_free(l->watches);
	close(l->wake_fd);
	pthread_mutex_destroy(&l->files_lock);
	free(l);
}

int io_loop_create_any(struct io_loop **out, const char *name, struct bs_err *e)
{
	struct io_loop *l;
	int ret = io_loop_create(out, name, e);

	if (ret != -ENOSYS && ret != -EPERM && ret != -EINVAL && ret != -EOPNOTSUPP)
		return ret;
	log_info("%s; serving with poll() and synchronous I/O instead", e->msg);
	l = calloc(1, sizeof(*l));
	if (!l)
		return bs_errf(e, ENOMEM, "io loop %s", name);
	snprintf(l->name, sizeof(l->name), "%s", name);
	pthread_mutex_init(&l->files_lock, NULL);
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0) {
		ret = bs_errf(e, errno, "io loop %s: eventfd: %s", name, strerror(errno));
		goto fail;
	}
	ret = io_loop_add_fd_watch(l, l->wake_fd, wake_cb, l, &l->wake_watch, e);
	if (ret < 0) {
		close(l->wake_fd);
		goto fail;
	}
	*out = l;
	return 0;
fail:
	pthread_mutex_destroy(&l->files_lock);
	free(l);
	return ret;
}

bool io_loop_uses_io_uring(const struct io_loop *l)
{
	return l->uring;
}
