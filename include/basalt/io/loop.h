/* io_uring event loop: one thread, one ring.
 *
 * A loop owns one io_uring created with IORING_SETUP_R_DISABLED, a sparse
 * fixed-file table of IO_LOOP_FILES slots, and an opcode allow list
 * (IORING_REGISTER_RESTRICTIONS): READV, WRITEV, READ, WRITE, FSYNC,
 * FALLOCATE, POLL_ADD, POLL_REMOVE, ASYNC_CANCEL and NOP, with only
 * IOSQE_FIXED_FILE allowed as an SQE flag and only FILES_UPDATE allowed
 * as a later register operation.  Any other opcode submitted through the
 * ring completes with -EACCES; that is defence in depth should a device
 * bug let guest data steer an SQE.
 *
 * Users are device back ends (block engines, later net): they get an SQE
 * with io_loop_get_sqe(), prepare it with the io_uring_prep_*() helpers and
 * then (the prep helpers reset sqe->flags) set any IOSQE_FIXED_FILE flag.
 * The loop submits everything queued once per iteration, waits for at
 * least one completion, and calls each completion's callback.
 *
 * Threading contract:
 *  - Every callback (completions, fd watches, the wake hook) runs on the
 *    loop thread.
 *  - io_loop_get_sqe(), io_loop_add_fd_watch() and io_loop_remove_fd_watch()
 *    may be called only on the loop thread (from a callback), or from the
 *    controlling thread while the loop is not started.
 *  - io_loop_register_file()/io_loop_unregister_file() are safe from any
 *    thread (they only make register syscalls and take a private lock).
 *  - The only other cross-thread entry points are io_loop_start(),
 *    io_loop_stop() (both from the one controlling thread) and
 *    io_loop_wake() (from any thread, async-signal-safe).
 *  - create/destroy/start/stop are called by one controlling thread.
 *
 * Availability: io_loop_create() fails with -ENOSYS, -EPERM or -EINVAL
 * (kernel without io_uring, io_uring blocked by seccomp or by
 * kernel.io_uring_disabled, kernel older than 5.10) and fails with -ENOSYS
 * when the environment has BASALT_NO_IO_URING=1; callers then use
 * synchronous I/O instead. */
#ifndef BASALT_IO_LOOP_H
#define BASALT_IO_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

#include "basalt/err.h"

#define IO_LOOP_FILES 64      /* fixed-file table slots per loop */
#define IO_LOOP_MAX_WATCHES 128   /* fd watches served in poll() mode */
#define IO_LOOP_ENTRIES 256   /* SQ entries; the CQ has twice as many */

struct io_loop;
struct io_completion;

/* res is the CQE result (bytes, poll mask or -errno); flags the CQE flags
 * (IORING_CQE_F_MORE for multishot requests). */
typedef void (*io_completion_fn)(struct io_completion *c, int32_t res,
				 uint32_t flags);

/* What a submitted SQE's user_data points at.  Embed it in the request
 * it belongs to and recover the request with container_of-style
 * arithmetic, or use opaque.  It must stay valid until its last CQE. */
struct io_completion {
	io_completion_fn cb;
	void *opaque;
};

/* Fd watch callback: fd became readable (or hung up / errored).  The
 * callback must drain the fd (e.g. read an eventfd's counter); the watch
 * fires again on the next wake-up of the fd, not while it stays readable. */
typedef void (*io_watch_fn)(void *opaque);
struct io_watch;

/* Creates a loop named name (thread name, at most 15 characters used).
 * The ring is set up, restricted and enabled; no thread yet. */
int io_loop_create(struct io_loop **out, const char *name, struct bs_err *e);
/* Like io_loop_create(), but where io_uring is unavailable (the errors
 * above) it makes a poll() mode loop instead: fd watches, the wake hook and
 * the thread hook work as usual, io_loop_get_sqe() returns NULL and files
 * cannot be registered, so block backends opened on it use the synchronous
 * engine.  Logs which mode it chose. */
int io_loop_create_any(struct io_loop **out, const char *name, struct bs_err *e);
bool io_loop_uses_io_uring(const struct io_loop *l);
/* Stops the loop if running and frees it.  Requests still in flight are
 * cancelled by the kernel and their callbacks are never called: close the
 * users (e.g. blk_close()) after their requests completed, then destroy. */
void io_loop_destroy(struct io_loop *l);

/* Spawns the loop thread.  -EBUSY if already running. */
int io_loop_start(struct io_loop *l, struct bs_err *e);
/* Asks the loop thread to exit after its current iteration and joins it.
 * Queued and in-flight requests stay in the ring; io_loop_start() again
 * resumes them.  No-op if not running; must not be called from the loop
 * thread. */
void io_loop_stop(struct io_loop *l);
/* Wakes the loop thread, which then calls the wake hook (if set). */
void io_loop_wake(struct io_loop *l);
/* Sets the hook io_loop_wake() runs on the loop thread.  Call before
 * io_loop_start(). */
void io_loop_set_wake_hook(struct io_loop *l, io_watch_fn fn, void *opaque);
/* Sets a hook run first on the loop thread (the sandbox installs the
 * thread's seccomp filter there); non-zero ends the thread at once, the
 * hook having reported why.  Call before io_loop_start(). */
void io_loop_set_thread_hook(struct io_loop *l, int (*fn)(void *opaque),
			     void *opaque);
/* Busy polling (io_uring mode): before the loop sleeps it calls fn (on the
 * loop thread) until fn finds no work and no completion arrived for
 * poll_us microseconds.  fn returns 1 if it found (and queued) work, 0 if
 * not, -1 to sleep at once (e.g. requests are in flight in kernel workers,
 * which need the CPU more than a spinning poller does).  One poller per
 * loop; call before io_loop_start(). */
typedef int (*io_poll_fn)(void *opaque);
void io_loop_set_poller(struct io_loop *l, io_poll_fn fn, void *opaque,
			unsigned poll_us);
/* True when called on l's loop thread. */
bool io_loop_on_thread(const struct io_loop *l);

/* Watches fd (typically an ioeventfd) for readability with a multishot
 * POLL_ADD (re-armed if the kernel ends it).  The loop does not own fd and
 * never closes it.  Returns the watch in *out. */
int io_loop_add_fd_watch(struct io_loop *l, int fd, io_watch_fn cb,
			 void *opaque, struct io_watch **out, struct bs_err *e);
/* While paused, the watch's events are dropped (io_uring mode) or its fd
 * is not polled (poll() mode, where an fd that stays readable would
 * otherwise wake the loop at once, forever): for a device that cannot
 * take more input now.  Whoever unpauses must look at the fd itself, as
 * events that came meanwhile are gone.  Loop thread only; NULL is a no-op. */
void io_loop_pause_watch(struct io_watch *w, bool paused);
/* Stops a watch; cb is not called after this returns.  The watch is freed
 * once the kernel has dropped its poll request.  NULL is a no-op. */
void io_loop_remove_fd_watch(struct io_loop *l, struct io_watch *w);

/* Returns a free SQE with user_data set to c (NULL: completion ignored),
 * flushing the submission queue to the kernel if it is full; NULL if no
 * SQE could be had.  Prepare it before the loop's next iteration. */
struct io_uring_sqe *io_loop_get_sqe(struct io_loop *l,
				     struct io_completion *c);

/* Installs fd in a free fixed-file slot; returns the slot (>= 0), for use
 * as sqe->fd with IOSQE_FIXED_FILE, or -errno.  The ring holds its own
 * reference: the caller may close fd after unregistering. */
int io_loop_register_file(struct io_loop *l, int fd, struct bs_err *e);
void io_loop_unregister_file(struct io_loop *l, int slot);

#endif
