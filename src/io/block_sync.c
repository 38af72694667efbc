/* Sync block engine: plain syscalls in the submitting thread, for hosts
 * without io_uring.  Every request completes before blk_submit() returns. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "basalt/io/block.h"

/* Transfers r->total bytes at r->offset, continuing short transfers. */
static int64_t sync_rw(struct blk_backend *b, struct blk_req *r)
{
	bool rd = r->op == BLK_OP_READ;

	while (r->done < r->total) {
		off_t off = r->offset + r->done;
		const struct iovec *iov;
		unsigned iovcnt;
		void *base;
		size_t len;
		ssize_t n;

		blk_rw_resume(r, &base, &len, &iov, &iovcnt);
		if (iovcnt)
			n = rd ? preadv(b->fd, iov, iovcnt, off)
			       : pwritev(b->fd, iov, iovcnt, off);
		else
			n = rd ? pread(b->fd, base, len, off)
			       : pwrite(b->fd, base, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;    /* image ended early */
		r->done += n;
	}
	return r->total;
}

static int64_t sync_write_zeros(struct blk_backend *b, struct blk_req *r)
{
	while (r->done < r->total) {
		uint64_t left = r->total - r->done;
		size_t len = left < BLK_ZERO_BUF_SIZE ? left : BLK_ZERO_BUF_SIZE;
		ssize_t n = pwrite(b->fd, blk_zero_buf, len, r->offset + r->done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		r->done += n;
	}
	return 0;
}

static int64_t sync_fallocate(struct blk_backend *b, struct blk_req *r, int mode)
{
	int ret;

	do
		ret = fallocate(b->fd, mode, r->offset, r->total);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

static void sync_submit(struct blk_backend *b, struct blk_req *r)
{
	int64_t res;

	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		res = sync_rw(b, r);
		break;
	case BLK_OP_FLUSH:
		res = fdatasync(b->fd) < 0 ? -errno : 0;
		break;
	case BLK_OP_DISCARD:
		res = -EOPNOTSUPP;
		if (b->has_punch_hole)
			res = sync_fallocate(b, r, FALLOC_FL_PUNCH_HOLE |
					     FALLOC_FL_KEEP_SIZE);
		if (res == -EOPNOTSUPP)
			b->has_punch_hole = false;
		break;
	case BLK_OP_WRITE_ZEROES:
		res = -EOPNOTSUPP;
		if (b->has_zero_range) {
			res = sync_fallocate(b, r, FALLOC_FL_ZERO_RANGE |
					     FALLOC_FL_KEEP_SIZE);
			if (res == -EOPNOTSUPP)
				b->has_zero_range = false;
		}
		if (res == -EOPNOTSUPP && b->has_punch_hole) {
			res = sync_fallocate(b, r, FALLOC_FL_PUNCH_HOLE |
					     FALLOC_FL_KEEP_SIZE);
			if (res == -EOPNOTSUPP)
				b->has_punch_hole = false;
		}
		if (res == -EOPNOTSUPP)
			res = sync_write_zeros(b, r);
		break;
	default:
		res = -EINVAL;
		break;
	}
	blk_complete(r, res);
}

static int sync_attach(struct blk_backend *b, struct bs_err *e)
{
	(void)b;
	(void)e;
	return 0;
}

const struct blk_engine blk_engine_sync = {
	.name = "sync",
	.attach = sync_attach,
	.submit = sync_submit,
};
