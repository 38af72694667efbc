/* io_uring block engine: each request is one SQE at a time on the backend's
 * io_loop, with the image in the loop's fixed-file table.  A short read or
 * write is continued with a follow-up SQE from the completion callback; a
 * WRITE_ZEROES steps ZERO_RANGE -> PUNCH_HOLE -> zero-buffer writes while
 * the file system answers -EOPNOTSUPP (remembered in the backend).
 * Completions run on the loop thread. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>

#include "basalt/io/block.h"

/* Linux transfers at most this much per read/write call (MAX_RW_COUNT). */
#define RW_MAX 0x7ffff000u

enum { WZ_ZERO_RANGE, WZ_PUNCH_HOLE, WZ_WRITE };

static struct blk_req *req_of(struct io_completion *c)
{
	return (struct blk_req *)((char *)c - offsetof(struct blk_req, comp));
}

/* Queues the next SQE of r; false if the ring had no room. */
static bool uring_issue(struct blk_backend *b, struct blk_req *r)
{
	struct io_uring_sqe *sqe = io_loop_get_sqe(b->loop, &r->comp);
	uint64_t off = r->offset + r->done;
	bool rd = r->op == BLK_OP_READ;

	if (!sqe)
		return false;
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE: {
		const struct iovec *iov;
		unsigned iovcnt;
		void *base;
		size_t len;

		blk_rw_resume(r, &base, &len, &iov, &iovcnt);
		if (len > RW_MAX)
			len = RW_MAX;
		if (iovcnt && rd)
			io_uring_prep_readv(sqe, b->slot, iov, iovcnt, off);
		else if (iovcnt)
			io_uring_prep_writev(sqe, b->slot, iov, iovcnt, off);
		else if (rd)
			io_uring_prep_read(sqe, b->slot, base, len, off);
		else
			io_uring_prep_write(sqe, b->slot, base, len, off);
		break;
	}
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, b->slot, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_DISCARD:
		io_uring_prep_fallocate(sqe, b->slot,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					r->offset, r->total);
		break;
	case BLK_OP_WRITE_ZEROES:
		if (r->stage == WZ_ZERO_RANGE) {
			io_uring_prep_fallocate(sqe, b->slot,
						FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
						r->offset, r->total);
		} else if (r->stage == WZ_PUNCH_HOLE) {
			io_uring_prep_fallocate(sqe, b->slot,
						FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						r->offset, r->total);
		} else {
			uint64_t left = r->total - r->done;

			io_uring_prep_write(sqe, b->slot, blk_zero_buf,
					    left < BLK_ZERO_BUF_SIZE ? left
								     : BLK_ZERO_BUF_SIZE,
					    off);
		}
		break;
	}
	/* After prep: the prep helpers clear sqe->flags. */
	sqe->flags |= IOSQE_FIXED_FILE;
	return true;
}

static void uring_continue(struct blk_backend *b, struct blk_req *r)
{
	if (!uring_issue(b, r))
		blk_complete(r, -EAGAIN);
}

/* A transfer step finished with res; true when r is complete. */
static bool transfer_step(struct blk_req *r, int32_t res, int64_t *result)
{
	if (res < 0) {
		*result = res;
		return true;
	}
	if (res == 0) {
		*result = -EIO;         /* image ended early */
		return true;
	}
	r->done += (uint32_t)res;
	if (r->done < r->total)
		return false;
	*result = r->op == BLK_OP_WRITE_ZEROES ? 0 : (int64_t)r->total;
	return true;
}

/* First WRITE_ZEROES step the image is not known to refuse. */
static unsigned wz_stage(const struct blk_backend *b, unsigned from)
{
	if (from <= WZ_ZERO_RANGE && b->has_zero_range)
		return WZ_ZERO_RANGE;
	if (from <= WZ_PUNCH_HOLE && b->has_punch_hole)
		return WZ_PUNCH_HOLE;
	return WZ_WRITE;
}

static void uring_done(struct io_completion *c, int32_t res, uint32_t flags)
{
	struct blk_req *r = req_of(c);
	struct blk_backend *b = r->b;
	int64_t result;

	(void)flags;
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (!transfer_step(r, res, &result)) {
			uring_continue(b, r);
			return;
		}
		break;
	case BLK_OP_WRITE_ZEROES:
		if (r->stage == WZ_WRITE) {
			if (!transfer_step(r, res, &result)) {
				uring_continue(b, r);
				return;
			}
			break;
		}
		if (res == -EOPNOTSUPP) {
			if (r->stage == WZ_ZERO_RANGE)
				b->has_zero_range = false;
			else
				b->has_punch_hole = false;
			r->stage = wz_stage(b, r->stage + 1);
			uring_continue(b, r);
			return;
		}
		result = res < 0 ? res : 0;
		break;
	case BLK_OP_DISCARD:
		if (res == -EOPNOTSUPP)
			b->has_punch_hole = false;
		result = res < 0 ? res : 0;
		break;
	default:
		result = res < 0 ? res : 0;
		break;
	}
	blk_complete(r, result);
}

static void uring_submit(struct blk_backend *b, struct blk_req *r)
{
	r->comp.cb = uring_done;
	r->comp.opaque = r;
	if (r->op == BLK_OP_DISCARD && !b->has_punch_hole) {
		blk_complete(r, -EOPNOTSUPP);
		return;
	}
	if (r->op == BLK_OP_WRITE_ZEROES)
		r->stage = wz_stage(b, WZ_ZERO_RANGE);
	uring_continue(b, r);
}

static int uring_attach(struct blk_backend *b, struct bs_err *e)
{
	int slot = io_loop_register_file(b->loop, b->fd, e);

	if (slot < 0)
		return slot;
	b->slot = slot;
	return 0;
}

static void uring_detach(struct blk_backend *b)
{
	if (b->loop && b->slot >= 0)
		io_loop_unregister_file(b->loop, b->slot);
	b->slot = -1;
}

const struct blk_engine blk_engine_uring = {
	.name = "uring",
	.attach = uring_attach,
	.detach = uring_detach,
	.submit = uring_submit,
};
