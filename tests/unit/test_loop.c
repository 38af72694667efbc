/* io_uring event loop: thread start/stop, wake hook, eventfd watches,
 * the opcode allow list, fixed-file slots, and the BASALT_NO_IO_URING
 * opt-out.  Work that must run on the loop thread is handed over through
 * the wake hook. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "basalt/io/loop.h"
#include "fixtures.h"

static struct io_loop *loop;
static struct bs_err err;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

/* Counters written on the loop thread, read by the test under mu. */
static int hook_runs;
static bool hook_on_loop;
static void (*on_loop_fn)(void);     /* run once by the next hook */

static void bump(int *counter)
{
	pthread_mutex_lock(&mu);
	(*counter)++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Waits up to 5 s for *counter to reach want. */
static void wait_for(const int *counter, int want)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	pthread_mutex_lock(&mu);
	while (*counter < want) {
		if (pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT) {
			pthread_mutex_unlock(&mu);
			ck_abort_msg("timed out waiting for %d (at %d)", want, *counter);
		}
	}
	pthread_mutex_unlock(&mu);
}

static void hook(void *opaque)
{
	void (*fn)(void);

	ck_assert_ptr_eq(opaque, &loop);
	pthread_mutex_lock(&mu);
	fn = on_loop_fn;
	on_loop_fn = NULL;
	hook_on_loop = io_loop_on_thread(loop);
	pthread_mutex_unlock(&mu);
	if (fn)
		fn();
	bump(&hook_runs);
}

/* Runs fn on the loop thread and waits for it; also a barrier: every CQE
 * posted before the call has been dispatched when it returns. */
static void run_on_loop(void (*fn)(void))
{
	int want;

	pthread_mutex_lock(&mu);
	on_loop_fn = fn;
	want = hook_runs + 1;
	pthread_mutex_unlock(&mu);
	io_loop_wake(loop);
	wait_for(&hook_runs, want);
}

static void setup(void)
{
	memset(&err, 0, sizeof(err));
	hook_runs = 0;
	hook_on_loop = false;
	unsetenv("BASALT_NO_IO_URING");
	ck_assert_int_eq(io_loop_create(&loop, "test-loop", &err), 0);
	io_loop_set_wake_hook(loop, hook, &loop);
}

static void teardown(void)
{
	io_loop_destroy(loop);
	loop = NULL;
}

START_TEST(start_stop)
{
	ck_assert(!io_loop_on_thread(loop));
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	ck_assert_int_eq(io_loop_start(loop, &err), -EBUSY);
	ck_assert_str_eq(err.msg, "io loop test-loop: already running");
	run_on_loop(NULL);
	ck_assert_int_eq(hook_runs, 1);
	ck_assert(hook_on_loop);
	io_loop_stop(loop);
	io_loop_stop(loop);             /* not running: no-op */

	/* A wake while stopped is delivered after the restart. */
	io_loop_wake(loop);
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	wait_for(&hook_runs, 2);
	run_on_loop(NULL);
	ck_assert_int_eq(hook_runs, 3);
	io_loop_stop(loop);
}
END_TEST

/* ---- eventfd watches ---- */

static int efd;
static int watch_calls;
static uint64_t watch_sum;
static bool watch_on_loop = true;
static struct io_watch *watch;

static void on_event(void *opaque)
{
	uint64_t v;

	ck_assert_ptr_eq(opaque, &efd);
	if (!io_loop_on_thread(loop))
		watch_on_loop = false;
	if (read(efd, &v, sizeof(v)) == sizeof(v)) {
		pthread_mutex_lock(&mu);
		watch_sum += v;
		pthread_mutex_unlock(&mu);
	}
	bump(&watch_calls);
}

static void add_watch(void)
{
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(efd, 0);
	watch_calls = 0;
	watch_sum = 0;
	ck_assert_int_eq(io_loop_add_fd_watch(loop, efd, on_event, &efd, &watch,
					      &err), 0);
}

static void efd_write(uint64_t v)
{
	ck_assert_int_eq(write(efd, &v, sizeof(v)), sizeof(v));
}

START_TEST(eventfd_watch_fires_per_write)
{
	const int n = 200;

	add_watch();
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	for (int i = 0; i < n; i++) {
		efd_write(1);
		wait_for(&watch_calls, i + 1);
	}
	run_on_loop(NULL);
	ck_assert_int_eq(watch_calls, n);
	ck_assert_uint_eq(watch_sum, n);
	ck_assert(watch_on_loop);
	io_loop_stop(loop);
	close(efd);
}
END_TEST

START_TEST(eventfd_writes_while_stopped_coalesce)
{
	int calls;

	add_watch();
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	run_on_loop(NULL);              /* the poll is armed now */
	io_loop_stop(loop);
	for (int i = 0; i < 5; i++)
		efd_write(1);
	ck_assert_int_eq(watch_calls, 0);
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	wait_for(&watch_calls, 1);
	run_on_loop(NULL);
	ck_assert_uint_eq(watch_sum, 5);
	ck_assert_int_ge(watch_calls, 1);
	ck_assert_int_le(watch_calls, 5);
	/* Still armed after the burst. */
	calls = watch_calls;            /* the loop is idle: no race */
	efd_write(7);
	wait_for(&watch_calls, calls + 1);
	run_on_loop(NULL);
	ck_assert_uint_eq(watch_sum, 12);
	io_loop_stop(loop);
	close(efd);
}
END_TEST

static void remove_watch(void)
{
	io_loop_remove_fd_watch(loop, watch);
}

START_TEST(removed_watch_stays_quiet)
{
	uint64_t v = 0;

	add_watch();
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	efd_write(1);
	wait_for(&watch_calls, 1);
	run_on_loop(remove_watch);
	efd_write(3);
	run_on_loop(NULL);
	run_on_loop(NULL);
	ck_assert_int_eq(watch_calls, 1);
	/* Nobody drained the second write. */
	ck_assert_int_eq(read(efd, &v, sizeof(v)), sizeof(v));
	ck_assert_uint_eq(v, 3);
	io_loop_stop(loop);
	close(efd);
}
END_TEST

/* A watch removed from inside its own callback. */
static void on_event_remove_self(void *opaque)
{
	on_event(opaque);
	io_loop_remove_fd_watch(loop, watch);
}

START_TEST(watch_removes_itself)
{
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(efd, 0);
	watch_calls = 0;
	ck_assert_int_eq(io_loop_add_fd_watch(loop, efd, on_event_remove_self,
					      &efd, &watch, &err), 0);
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	efd_write(1);
	wait_for(&watch_calls, 1);
	efd_write(1);
	run_on_loop(NULL);
	run_on_loop(NULL);
	ck_assert_int_eq(watch_calls, 1);
	io_loop_stop(loop);
	close(efd);
}
END_TEST

START_TEST(watch_rejects_bad_fd)
{
	struct io_watch *w = (struct io_watch *)&w;

	ck_assert_int_eq(io_loop_add_fd_watch(loop, -1, on_event, NULL, &w, &err),
			 -EINVAL);
	ck_assert_str_eq(err.msg, "io loop test-loop: bad watch (fd -1)");
	ck_assert_ptr_eq(w, (struct io_watch *)&w);
}
END_TEST

/* ---- the allow list ---- */

static int op_res[4];
static int op_calls;

static void op_done(struct io_completion *c, int32_t res, uint32_t flags)
{
	(void)flags;
	*(int *)c->opaque = res;
	bump(&op_calls);
}

static struct io_completion op_comp[4] = {
	{ op_done, &op_res[0] }, { op_done, &op_res[1] },
	{ op_done, &op_res[2] }, { op_done, &op_res[3] },
};

static void submit_ops(void)
{
	struct io_uring_sqe *sqe;

	sqe = io_loop_get_sqe(loop, &op_comp[0]);
	ck_assert_ptr_nonnull(sqe);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
	sqe = io_loop_get_sqe(loop, &op_comp[1]);
	io_uring_prep_nop(sqe);
	/* An allowed opcode with a flag outside the allowed set. */
	sqe = io_loop_get_sqe(loop, &op_comp[2]);
	io_uring_prep_nop(sqe);
	sqe->flags |= IOSQE_ASYNC;
	sqe = io_loop_get_sqe(loop, &op_comp[3]);
	io_uring_prep_close(sqe, 0);
}

START_TEST(restrictions_refuse_other_opcodes)
{
	for (int i = 0; i < 4; i++)
		op_res[i] = 12345;
	op_calls = 0;
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	run_on_loop(submit_ops);
	wait_for(&op_calls, 4);
	ck_assert_int_eq(op_res[0], -EACCES);   /* OPENAT */
	ck_assert_int_eq(op_res[1], 0);         /* NOP */
	ck_assert_int_eq(op_res[2], -EACCES);   /* NOP + IOSQE_ASYNC */
	ck_assert_int_eq(op_res[3], -EACCES);   /* CLOSE: fd 0 is untouched */
	ck_assert_int_ge(fcntl(0, F_GETFD), 0);
	io_loop_stop(loop);
}
END_TEST

/* ---- fixed files ---- */

START_TEST(fixed_file_slots)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < IO_LOOP_FILES; i++)
		ck_assert_int_eq(io_loop_register_file(loop, fd, &err), i);
	ck_assert_int_eq(io_loop_register_file(loop, fd, &err), -ENFILE);
	ck_assert_str_eq(err.msg,
			 "io loop test-loop: all 64 fixed-file slots in use");
	io_loop_unregister_file(loop, 17);
	ck_assert_int_eq(io_loop_register_file(loop, fd, &err), 17);
	ck_assert_int_eq(io_loop_register_file(loop, -5, &err), -ENFILE);
	io_loop_unregister_file(loop, 3);
	ck_assert_int_eq(io_loop_register_file(loop, -5, &err), -EBADF);
	ck_assert_str_eq(err.msg,
			 "io loop test-loop: register fd -5: Bad file descriptor");
	io_loop_unregister_file(loop, 99);      /* out of range: ignored */
	close(fd);
}
END_TEST

/* ---- opting out ---- */

START_TEST(env_disables_io_uring)
{
	struct io_loop *l = (struct io_loop *)&l;

	setenv("BASALT_NO_IO_URING", "1", 1);
	ck_assert_int_eq(io_loop_create(&l, "vm0-io", &err), -ENOSYS);
	ck_assert_ptr_null(l);
	ck_assert_str_eq(err.msg,
			 "io loop vm0-io: io_uring disabled by BASALT_NO_IO_URING=1");
	setenv("BASALT_NO_IO_URING", "0", 1);
	ck_assert_int_eq(io_loop_create(&l, "vm0-io", &err), 0);
	io_loop_destroy(l);
	unsetenv("BASALT_NO_IO_URING");
}
END_TEST

/* Without io_uring, io_loop_create_any() gives a poll() mode loop: fd
 * watches and the wake hook work, SQEs and fixed files do not. */
static int poll_fires;
static int poll_fd = -1;
static struct io_watch *poll_w;

static void poll_cb(void *opaque)
{
	uint64_t v;

	ck_assert_ptr_eq(opaque, &poll_fd);
	ck_assert(io_loop_on_thread(loop));
	while (read(poll_fd, &v, sizeof(v)) == sizeof(v))
		;
	bump(&poll_fires);
}

static void remove_poll_watch(void)
{
	io_loop_remove_fd_watch(loop, poll_w);
}

START_TEST(poll_mode_fallback)
{
	uint64_t one = 1;
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	io_loop_destroy(loop);
	setenv("BASALT_NO_IO_URING", "1", 1);
	ck_assert_int_eq(io_loop_create_any(&loop, "test-poll", &err), 0);
	unsetenv("BASALT_NO_IO_URING");
	ck_assert(!io_loop_uses_io_uring(loop));
	io_loop_set_wake_hook(loop, hook, &loop);
	ck_assert_ptr_null(io_loop_get_sqe(loop, NULL));
	ck_assert_int_eq(io_loop_register_file(loop, fd, &err), -EOPNOTSUPP);
	poll_fd = fd;
	poll_fires = 0;
	ck_assert_int_eq(io_loop_add_fd_watch(loop, fd, poll_cb, &poll_fd, &poll_w, &err), 0);
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	ck_assert_int_eq(write(fd, &one, 8), 8);
	wait_for(&poll_fires, 1);
	ck_assert_int_eq(write(fd, &one, 8), 8);
	wait_for(&poll_fires, 2);
	run_on_loop(NULL);			/* the wake hook works too */
	ck_assert(hook_on_loop);
	run_on_loop(remove_poll_watch);		/* removal from the loop thread */
	ck_assert_int_eq(write(fd, &one, 8), 8);
	run_on_loop(NULL);
	ck_assert_int_eq(poll_fires, 2);	/* removed: no more calls */
	io_loop_stop(loop);
	close(fd);
	/* With io_uring available it is an ordinary loop. */
	io_loop_destroy(loop);
	ck_assert_int_eq(io_loop_create_any(&loop, "test-any", &err), 0);
	ck_assert(io_loop_uses_io_uring(loop));
}
END_TEST

/* A paused watch: an fd left readable (the callback does not drain it)
 * does not call back, in either mode -- in poll() mode it would otherwise
 * wake the loop forever; unpaused, new events call back again. */
static int level_fires;
static struct io_watch *level_w;

static void level_cb(void *opaque)
{
	(void)opaque;
	bump(&level_fires);
	io_loop_pause_watch(level_w, true);	/* cannot take more now */
}

static void unpause_level(void)
{
	io_loop_pause_watch(level_w, false);
}

START_TEST(paused_watch_is_quiet)
{
	uint64_t one = 1;
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (_i) {
		io_loop_destroy(loop);
		setenv("BASALT_NO_IO_URING", "1", 1);
		ck_assert_int_eq(io_loop_create_any(&loop, "test-poll", &err), 0);
		unsetenv("BASALT_NO_IO_URING");
		io_loop_set_wake_hook(loop, hook, &loop);
	}
	level_fires = 0;
	ck_assert_int_eq(io_loop_add_fd_watch(loop, fd, level_cb, NULL, &level_w, &err), 0);
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	ck_assert_int_eq(write(fd, &one, 8), 8);
	wait_for(&level_fires, 1);
	for (int i = 0; i < 20; i++)
		run_on_loop(NULL);		/* many loop iterations */
	ck_assert_int_eq(write(fd, &one, 8), 8);
	run_on_loop(NULL);
	ck_assert_int_eq(level_fires, 1);
	run_on_loop(unpause_level);
	ck_assert_int_eq(write(fd, &one, 8), 8);	/* new event (still readable) */
	wait_for(&level_fires, 2);
	run_on_loop(NULL);
	ck_assert_int_eq(level_fires, 2);
	io_loop_stop(loop);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io_loop");
	TCase *tc = tcase_create("loop");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, start_stop);
	tcase_add_test(tc, eventfd_watch_fires_per_write);
	tcase_add_test(tc, eventfd_writes_while_stopped_coalesce);
	tcase_add_test(tc, removed_watch_stays_quiet);
	tcase_add_test(tc, watch_removes_itself);
	tcase_add_test(tc, watch_rejects_bad_fd);
	tcase_add_test(tc, restrictions_refuse_other_opcodes);
	tcase_add_test(tc, fixed_file_slots);
	tcase_add_test(tc, env_disables_io_uring);
	tcase_add_test(tc, poll_mode_fallback);
	tcase_add_loop_test(tc, paused_watch_is_quiet, 0, 2);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
