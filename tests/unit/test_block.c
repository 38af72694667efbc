/* Block backend: every behaviour test runs once per engine (loop index 0:
 * sync, 1: uring).  For the uring engine requests are submitted on the loop
 * thread, from its wake hook, the way a device's ioeventfd callback would;
 * the test thread then waits for the completions. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basalt/io/block.h"
#include "fixtures.h"

#define MiB (1024 * 1024)

static const char *const engine_names[] = { "sync", "uring" };

static struct io_loop *loop;     /* NULL for the sync engine */
static struct blk_backend *bk;
static char *path;
static struct bs_err err;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int completions;

/* A request plus what its completion reported. */
struct treq {
	struct blk_req r;       /* first: the callback casts back */
	int calls;
	int64_t result;
	bool on_loop;           /* completion ran on the loop thread */
	bool batch_was_queued;  /* ... after the hook submitted the batch */
};

/* The batch the wake hook submits on the loop thread. */
static struct treq *batch;
static unsigned batch_n;
static bool batch_queued;

static void req_done(struct blk_req *r, int64_t result)
{
	struct treq *t = (struct treq *)r;

	pthread_mutex_lock(&mu);
	t->calls++;
	t->result = result;
	t->on_loop = loop && io_loop_on_thread(loop);
	t->batch_was_queued = batch_queued;
	completions++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void hook(void *opaque)
{
	struct treq *t;
	unsigned n;

	(void)opaque;
	pthread_mutex_lock(&mu);
	t = batch;
	n = batch_n;
	batch = NULL;
	batch_n = 0;
	batch_queued = false;
	pthread_mutex_unlock(&mu);
	for (unsigned i = 0; i < n; i++)
		blk_submit(bk, &t[i].r);
	pthread_mutex_lock(&mu);
	batch_queued = true;
	completions += 0x10000;         /* "hook ran" marker, see run() */
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void wait_completions(int want)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 20;
	pthread_mutex_lock(&mu);
	while (completions < want) {
		if (pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT) {
			pthread_mutex_unlock(&mu);
			ck_abort_msg("timed out: %d of %d completions",
				     completions, want);
		}
	}
	pthread_mutex_unlock(&mu);
}

/* Submits t[0..n) (on the loop thread for uring) and waits for n
 * completions; then checks each request completed exactly once, also
 * after one more loop round trip. */
static void run(struct treq *t, unsigned n)
{
	int want;

	for (unsigned i = 0; i < n; i++) {
		t[i].r.cb = req_done;
		t[i].calls = 0;
		t[i].result = 0x7777;
	}
	pthread_mutex_lock(&mu);
	completions = 0;
	pthread_mutex_unlock(&mu);
	if (!loop) {
		for (unsigned i = 0; i < n; i++)
			blk_submit(bk, &t[i].r);
		want = n;
	} else {
		pthread_mutex_lock(&mu);
		batch = t;
		batch_n = n;
		pthread_mutex_unlock(&mu);
		io_loop_wake(loop);
		want = 0x10000 + n;
		wait_completions(want);
		/* Barrier: a second hook run dispatches any stray CQE. */
		io_loop_wake(loop);
		want = 0x20000 + n;
	}
	wait_completions(want);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(t[i].calls, 1);
		ck_assert(t[i].on_loop == (loop != NULL));
	}
	ck_assert_int_eq(completions, want);
}

/* One request, returns its result. */
static int64_t run1(enum blk_op op, uint64_t offset, const struct iovec *iov,
		    unsigned iovcnt, uint64_t len)
{
	struct treq t = {
		.r = { .op = op, .offset = offset, .iov = iov, .iovcnt = iovcnt,
		       .len = len },
	};

	run(&t, 1);
	return t.result;
}

static int64_t rd(uint64_t off, void *buf, size_t len)
{
	struct iovec v = { buf, len };

	return run1(BLK_OP_READ, off, &v, 1, 0);
}

static int64_t wr(uint64_t off, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	return run1(BLK_OP_WRITE, off, &v, 1, 0);
}

static void pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 9) + 1) | 1;
}

static char *make_image(off_t size)
{
	char *p = fixture_tmpfile("", 0, ".img");

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(truncate(p, size), 0);
	return p;
}

/* Brings up engine i (0 sync, 1 uring); false if this host has no
 * io_uring (the uring half of the table is then skipped). */
static bool engine_up(int i)
{
	memset(&err, 0, sizeof(err));
	loop = NULL;
	batch_queued = false;
	if (i == 0)
		return true;
	if (io_loop_create(&loop, "test-blk", &err) < 0) {
		fprintf(stderr, "skipping uring engine: %s\n", err.msg);
		loop = NULL;
		return false;
	}
	io_loop_set_wake_hook(loop, hook, NULL);
	ck_assert_int_eq(io_loop_start(loop, &err), 0);
	return true;
}

static void open_image(int i, off_t size, bool readonly)
{
	struct blk_opts o = { .readonly = readonly };

	path = make_image(size);
	ck_assert_int_eq(blk_open(&bk, path, &o, loop, &err), 0);
	ck_assert_str_eq(blk_engine_name(bk), engine_names[i]);
}

static void engine_down(void)
{
	blk_close(bk);
	bk = NULL;
	io_loop_destroy(loop);
	loop = NULL;
	if (path) {
		unlink(path);
		free(path);
		path = NULL;
	}
}

static void file_bytes(off_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

START_TEST(open_reports_geometry)
{
	if (!engine_up(_i))
		return;
	open_image(_i, 3 * MiB + 512, false);
	ck_assert_uint_eq(bk->size, 3 * MiB + 512);
	ck_assert_uint_eq(bk->logical_block_size, 512);
	ck_assert(!bk->readonly);
	ck_assert(!bk->is_blockdev);
	ck_assert_int_eq(bk->slot, _i ? 0 : -1);
	engine_down();
}
END_TEST

START_TEST(write_then_read_exact_bytes)
{
	static uint8_t src[40000], dst[40000], disk[40000];
	const uint64_t off = 12345;
	/* Odd, unaligned segment sizes, split differently for the read. */
	struct iovec w[4] = {
		{ src, 1 }, { src + 1, 4095 }, { src + 4096, 0 },
		{ src + 4096, 40000 - 4096 },
	};
	struct iovec r[3] = {
		{ dst, 7 }, { dst + 7, 15000 }, { dst + 15007, 40000 - 15007 },
	};

	if (!engine_up(_i))
		return;
	open_image(_i, MiB, false);
	pattern(src, sizeof(src), 3);
	memset(dst, 0xee, sizeof(dst));
	ck_assert_int_eq(run1(BLK_OP_WRITE, off, w, 4, 0), 40000);
	ck_assert_int_eq(run1(BLK_OP_READ, off, r, 3, 0), 40000);
	ck_assert_mem_eq(dst, src, sizeof(src));
	file_bytes(off, disk, sizeof(disk));
	ck_assert_mem_eq(disk, src, sizeof(src));
	/* Bytes around the write are untouched. */
	ck_assert_int_eq(rd(off - 1, dst, 1), 1);
	ck_assert_uint_eq(dst[0], 0);
	ck_assert_int_eq(rd(off + 40000, dst, 1), 1);
	ck_assert_uint_eq(dst[0], 0);
	/* The last byte of the image, and an empty request. */
	ck_assert_int_eq(wr(MiB - 1, "\x5a", 1), 1);
	ck_assert_int_eq(rd(MiB - 1, dst, 1), 1);
	ck_assert_uint_eq(dst[0], 0x5a);
	ck_assert_int_eq(run1(BLK_OP_READ, MiB, NULL, 0, 0), 0);
	engine_down();
}
END_TEST

START_TEST(out_of_range_is_einval_without_io)
{
	static uint8_t buf[64];
	struct iovec big[2] = { { buf, 64 }, { buf, SIZE_MAX - 10 } };
	struct iovec many = { buf, 1 };
	struct iovec *lots;

	if (!engine_up(_i))
		return;
	open_image(_i, 4096, false);
	memset(buf, 0xaa, sizeof(buf));
	ck_assert_int_eq(rd(4096 - 10, buf, 20), -EINVAL);
	ck_assert_int_eq(rd(4096, buf, 1), -EINVAL);
	ck_assert_int_eq(rd(UINT64_MAX - 5, buf, 10), -EINVAL);
	ck_assert_int_eq(run1(BLK_OP_READ, 0, big, 2, 0), -EINVAL);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0xaa);
	ck_assert_int_eq(wr(4095, buf, 2), -EINVAL);
	ck_assert_int_eq(run1(BLK_OP_DISCARD, 4000, NULL, 0, 97), -EINVAL);
	ck_assert_int_eq(run1(BLK_OP_WRITE_ZEROES, 1, NULL, 0, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(run1(7, 0, &many, 1, 0), -EINVAL);
	lots = calloc(BLK_MAX_IOVS + 1, sizeof(*lots));
	ck_assert_ptr_nonnull(lots);
	for (int i = 0; i <= BLK_MAX_IOVS; i++)
		lots[i] = many;
	ck_assert_int_eq(run1(BLK_OP_READ, 0, lots, BLK_MAX_IOVS + 1, 0), -EINVAL);
	ck_assert_int_eq(run1(BLK_OP_READ, 0, lots, BLK_MAX_IOVS, 0), BLK_MAX_IOVS);
	free(lots);
	/* The file did not grow. */
	{
		struct stat st;

		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_size, 4096);
	}
	engine_down();
}
END_TEST

START_TEST(readonly_refuses_writes)
{
	uint8_t buf[16], orig[16];

	if (!engine_up(_i))
		return;
	path = make_image(8192);
	{
		int fd = open(path, O_WRONLY);

		pattern(orig, sizeof(orig), 9);
		ck_assert_int_eq(pwrite(fd, orig, sizeof(orig), 100), sizeof(orig));
		close(fd);
	}
	{
		struct blk_opts o = { .readonly = true };

		ck_assert_int_eq(blk_open(&bk, path, &o, loop, &err), 0);
	}
	ck_assert(bk->readonly);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(wr(100, buf, sizeof(buf)), -EROFS);
	ck_assert_int_eq(run1(BLK_OP_DISCARD, 0, NULL, 0, 4096), -EROFS);
	ck_assert_int_eq(run1(BLK_OP_WRITE_ZEROES, 0, NULL, 0, 4096), -EROFS);
	ck_assert_int_eq(run1(BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	ck_assert_int_eq(rd(100, buf, sizeof(buf)), sizeof(buf));
	ck_assert_mem_eq(buf, orig, sizeof(orig));
	engine_down();
}
END_TEST

START_TEST(flush_succeeds)
{
	if (!engine_up(_i))
		return;
	open_image(_i, 65536, false);
	ck_assert_int_eq(wr(0, "abc", 3), 3);
	ck_assert_int_eq(run1(BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	engine_down();
}
END_TEST

/* The image shrinks under the backend: the read comes back short, is
 * continued mid-segment, finds the end and fails with -EIO. */
START_TEST(short_read_is_continued_then_eio)
{
	static uint8_t src[8192], dst[8192];
	struct iovec v[2] = { { dst, 6000 }, { dst + 6000, 2192 } };

	if (!engine_up(_i))
		return;
	open_image(_i, 8192, false);
	pattern(src, sizeof(src), 2);
	ck_assert_int_eq(wr(0, src, 8192), 8192);
	ck_assert_int_eq(truncate(path, 5000), 0);
	memset(dst, 0, sizeof(dst));
	ck_assert_int_eq(run1(BLK_OP_READ, 0, v, 2, 0), -EIO);
	ck_assert_mem_eq(dst, src, 5000);
	ck_assert(all_zero(dst + 5000, 8192 - 5000));
	engine_down();
}
END_TEST

/* Fills the 1 MiB image with a pattern, on disk. */
static void fill_image(uint8_t *img)
{
	pattern(img, MiB, 5);
	ck_assert_int_eq(wr(0, img, MiB), MiB);
	ck_assert_int_eq(run1(BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
}

START_TEST(discard_punches_a_hole)
{
	static uint8_t img[MiB], back[MiB];
	struct stat before, after;

	if (!engine_up(_i))
		return;
	open_image(_i, MiB, false);
	fill_image(img);
	ck_assert_int_eq(stat(path, &before), 0);
	ck_assert_int_ge(before.st_blocks, MiB / 512);
	ck_assert_int_eq(run1(BLK_OP_DISCARD, 256 * 1024, NULL, 0, 256 * 1024), 0);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_int_le(after.st_blocks, before.st_blocks - 256 * 1024 / 512);
	ck_assert_int_eq(after.st_size, MiB);
	ck_assert_int_eq(rd(0, back, MiB), MiB);
	ck_assert(all_zero(back + 256 * 1024, 256 * 1024));
	ck_assert_mem_eq(back, img, 256 * 1024);
	ck_assert_mem_eq(back + 512 * 1024, img + 512 * 1024, 512 * 1024);
	engine_down();
}
END_TEST

/* Zeroes [off, off+len) and checks exactly that range reads back zero. */
static void check_write_zeroes(uint64_t off, uint64_t len)
{
	static uint8_t img[MiB], back[MiB];

	fill_image(img);
	ck_assert_int_eq(run1(BLK_OP_WRITE_ZEROES, off, NULL, 0, len), 0);
	ck_assert_int_eq(rd(0, back, MiB), MiB);
	ck_assert(all_zero(back + off, len));
	ck_assert_mem_eq(back, img, off);
	ck_assert_mem_eq(back + off + len, img + off + len, MiB - off - len);
	file_bytes(0, back, MiB);
	ck_assert(all_zero(back + off, len));
	ck_assert_mem_eq(back + off + len, img + off + len, MiB - off - len);
}

START_TEST(write_zeroes_reads_back_zeros)
{
	if (!engine_up(_i))
		return;
	open_image(_i, MiB, false);
	check_write_zeroes(1000, 70001);        /* unaligned both ends */
	ck_assert(bk->has_zero_range);          /* ext4 has ZERO_RANGE */
	/* The fallbacks, as on file systems without ZERO_RANGE ... */
	bk->has_zero_range = false;
	check_write_zeroes(4096, 8192);
	ck_assert(bk->has_punch_hole);
	/* ... and without any hole punching: zero-buffer writes, more than
	 * one buffer's worth. */
	bk->has_punch_hole = false;
	check_write_zeroes(3, 3 * BLK_ZERO_BUF_SIZE + 17);
	ck_assert_int_eq(run1(BLK_OP_DISCARD, 0, NULL, 0, 4096), -EOPNOTSUPP);
	engine_down();
}
END_TEST

/* tmpfs has PUNCH_HOLE but no ZERO_RANGE: the first fallback for real. */
START_TEST(write_zeroes_on_tmpfs)
{
	static uint8_t img[MiB], back[MiB];
	struct blk_opts o = { 0 };
	char tmpl[] = "/dev/shm/basalt-test-XXXXXX";
	int fd;

	if (!engine_up(_i))
		return;
	fd = mkstemp(tmpl);
	if (fd < 0) {
		fprintf(stderr, "skipping: no /dev/shm\n");
		engine_down();
		return;
	}
	path = strdup(tmpl);
	ck_assert_int_eq(ftruncate(fd, MiB), 0);
	close(fd);
	ck_assert_int_eq(blk_open(&bk, path, &o, loop, &err), 0);
	pattern(img, MiB, 1);
	ck_assert_int_eq(wr(0, img, MiB), MiB);
	ck_assert_int_eq(run1(BLK_OP_WRITE_ZEROES, 8192, NULL, 0, 16384), 0);
	ck_assert(!bk->has_zero_range);
	ck_assert(bk->has_punch_hole);
	ck_assert_int_eq(rd(0, back, MiB), MiB);
	ck_assert(all_zero(back + 8192, 16384));
	ck_assert_mem_eq(back, img, 8192);
	ck_assert_mem_eq(back + 24576, img + 24576, MiB - 24576);
	engine_down();
}
END_TEST

#define NREQ 512

START_TEST(many_requests_complete_once)
{
	static struct treq t[NREQ];
	static struct iovec v[NREQ];
	static uint8_t data[NREQ][4096], back[NREQ][4096];

	if (!engine_up(_i))
		return;
	open_image(_i, NREQ * 4096, false);
	memset(t, 0, sizeof(t));
	for (int i = 0; i < NREQ; i++) {
		memset(data[i], i % 251 + 1, 4096);
		v[i] = (struct iovec){ data[i], 4096 };
		t[i].r = (struct blk_req){ .op = BLK_OP_WRITE,
					   .offset = (uint64_t)i * 4096,
					   .iov = &v[i], .iovcnt = 1 };
	}
	run(t, NREQ);
	for (int i = 0; i < NREQ; i++) {
		ck_assert_int_eq(t[i].result, 4096);
		/* uring: all NREQ were in flight before the first completed. */
		ck_assert(t[i].batch_was_queued == (loop != NULL));
	}
	memset(back, 0, sizeof(back));
	for (int i = 0; i < NREQ; i++) {
		v[i] = (struct iovec){ back[i], 4096 };
		t[i].r = (struct blk_req){ .op = BLK_OP_READ,
					   .offset = (uint64_t)i * 4096,
					   .iov = &v[i], .iovcnt = 1 };
	}
	run(t, NREQ);
	for (int i = 0; i < NREQ; i++)
		ck_assert_int_eq(t[i].result, 4096);
	ck_assert_mem_eq(back, data, sizeof(data));
	engine_down();
}
END_TEST

START_TEST(second_writable_open_is_ebusy)
{
	struct blk_backend *b2 = NULL;
	struct blk_opts rw = { 0 }, ro = { .readonly = true };
	char want[600];

	if (!engine_up(_i))
		return;
	open_image(_i, 4096, false);
	ck_assert_int_eq(blk_open(&b2, path, &rw, loop, &err), -EBUSY);
	ck_assert_ptr_null(b2);
	snprintf(want, sizeof(want),
		 "%s: image is already open for writing elsewhere (write lock held)",
		 path);
	ck_assert_str_eq(err.msg, want);
	/* Read-only opens do not need the lock. */
	ck_assert_int_eq(blk_open(&b2, path, &ro, loop, &err), 0);
	blk_close(b2);
	/* The lock goes away with the first backend. */
	blk_close(bk);
	ck_assert_int_eq(blk_open(&bk, path, &rw, loop, &err), 0);
	engine_down();
}
END_TEST

/* Opens path with O_DIRECT; false (and checks the message) where the file
 * system does not do direct I/O. */
static bool open_direct(void)
{
	struct blk_opts o = { .direct = true };
	char want[600];
	int ret = blk_open(&bk, path, &o, loop, &err);

	if (ret == -EINVAL) {
		snprintf(want, sizeof(want),
			 "%s: direct I/O (O_DIRECT) not supported by its file system",
			 path);
		ck_assert_str_eq(err.msg, want);
		fprintf(stderr, "skipping O_DIRECT on %s\n", path);
		return false;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert_int_ne(fcntl(bk->fd, F_GETFL) & O_DIRECT, 0);
	ck_assert_uint_eq(bk->logical_block_size, 4096);
	return true;
}

static void direct_roundtrip(void)
{
	uint8_t *src, *dst;

	ck_assert_int_eq(posix_memalign((void **)&src, 4096, 8192), 0);
	ck_assert_int_eq(posix_memalign((void **)&dst, 4096, 8192), 0);
	pattern(src, 8192, 11);
	ck_assert_int_eq(wr(4096, src, 8192), 8192);
	ck_assert_int_eq(rd(4096, dst, 8192), 8192);
	ck_assert_mem_eq(dst, src, 8192);
	free(src);
	free(dst);
}

START_TEST(direct_io)
{
	char tmpl[] = "/dev/shm/basalt-test-XXXXXX";
	int fd;

	if (!engine_up(_i))
		return;
	/* ext4 (/tmp) does direct I/O. */
	path = make_image(MiB);
	ck_assert(open_direct());
	direct_roundtrip();
	blk_close(bk);
	bk = NULL;
	unlink(path);
	free(path);
	/* tmpfs does since Linux 6.6; before, the open fails cleanly. */
	fd = mkstemp(tmpl);
	path = strdup(tmpl);
	if (fd >= 0) {
		ck_assert_int_eq(ftruncate(fd, MiB), 0);
		close(fd);
		if (open_direct())
			direct_roundtrip();
	}
	engine_down();
}
END_TEST

START_TEST(writethrough_uses_dsync)
{
	struct blk_opts o = { .cache = BLK_CACHE_WRITETHROUGH };

	if (!engine_up(_i))
		return;
	path = make_image(4096);
	ck_assert_int_eq(blk_open(&bk, path, &o, loop, &err), 0);
	ck_assert_int_eq(fcntl(bk->fd, F_GETFL) & O_DSYNC, O_DSYNC);
	ck_assert_int_eq(wr(0, "xyz", 3), 3);
	engine_down();
}
END_TEST

/* ---- engine-independent ---- */

START_TEST(open_errors_name_the_file)
{
	struct blk_backend *b = (struct blk_backend *)&b;
	struct blk_opts o = { 0 };

	ck_assert_int_eq(blk_open(&b, "/nonexistent/disk.img", &o, NULL, &err),
			 -ENOENT);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(err.msg, "/nonexistent/disk.img: No such file or directory");
	o.readonly = true;
	ck_assert_int_eq(blk_open(&b, "/dev/null", &o, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "/dev/null: not a regular file or block device");
}
END_TEST

START_TEST(no_io_uring_falls_back_to_sync)
{
	struct blk_opts o = { 0 };

	setenv("BASALT_NO_IO_URING", "1", 1);
	ck_assert_int_eq(io_loop_create(&loop, "blk", &err), -ENOSYS);
	ck_assert_ptr_null(loop);
	path = make_image(4096);
	ck_assert_int_eq(blk_open(&bk, path, &o, loop, &err), 0);
	ck_assert_str_eq(blk_engine_name(bk), "sync");
	ck_assert_int_eq(wr(10, "hi", 2), 2);
	engine_down();
	unsetenv("BASALT_NO_IO_URING");
}
END_TEST

START_TEST(resume_points)
{
	static char a[10], b[5], c[7];
	struct iovec v[4] = { { a, 10 }, { b, 0 }, { b, 5 }, { c, 7 } };
	struct blk_req r = { .iov = v, .iovcnt = 4 };
	const struct iovec *iov = NULL;
	unsigned cnt = 99;
	void *base = NULL;
	size_t len = 0;

	r.done = 0;
	blk_rw_resume(&r, &base, &len, &iov, &cnt);
	ck_assert_ptr_eq(iov, &v[0]);
	ck_assert_uint_eq(cnt, 4);
	r.done = 3;
	blk_rw_resume(&r, &base, &len, &iov, &cnt);
	ck_assert_uint_eq(cnt, 0);
	ck_assert_ptr_eq(base, a + 3);
	ck_assert_uint_eq(len, 7);
	r.done = 10;                    /* skips the empty segment */
	blk_rw_resume(&r, &base, &len, &iov, &cnt);
	ck_assert_ptr_eq(iov, &v[2]);
	ck_assert_uint_eq(cnt, 2);
	r.done = 19;
	blk_rw_resume(&r, &base, &len, &iov, &cnt);
	ck_assert_uint_eq(cnt, 0);
	ck_assert_ptr_eq(base, c + 4);
	ck_assert_uint_eq(len, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("block");
	TCase *tc = tcase_create("engines");
	TCase *tg = tcase_create("generic");

	/* Index 0: sync engine, 1: uring engine. */
	tcase_add_loop_test(tc, open_reports_geometry, 0, 2);
	tcase_add_loop_test(tc, write_then_read_exact_bytes, 0, 2);
	tcase_add_loop_test(tc, out_of_range_is_einval_without_io, 0, 2);
	tcase_add_loop_test(tc, readonly_refuses_writes, 0, 2);
	tcase_add_loop_test(tc, flush_succeeds, 0, 2);
	tcase_add_loop_test(tc, short_read_is_continued_then_eio, 0, 2);
	tcase_add_loop_test(tc, discard_punches_a_hole, 0, 2);
	tcase_add_loop_test(tc, write_zeroes_reads_back_zeros, 0, 2);
	tcase_add_loop_test(tc, write_zeroes_on_tmpfs, 0, 2);
	tcase_add_loop_test(tc, many_requests_complete_once, 0, 2);
	tcase_add_loop_test(tc, second_writable_open_is_ebusy, 0, 2);
	tcase_add_loop_test(tc, direct_io, 0, 2);
	tcase_add_loop_test(tc, writethrough_uses_dsync, 0, 2);
	suite_add_tcase(s, tc);
	tcase_add_test(tg, open_errors_name_the_file);
	tcase_add_test(tg, no_io_uring_falls_back_to_sync);
	tcase_add_test(tg, resume_points);
	suite_add_tcase(s, tg);
	return fixture_run_suite(s);
}
