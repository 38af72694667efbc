/* Block backend front end: open/lock/size an image, validate requests and
 * hand them to the engine; contract in include/basalt/io/block.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basalt/io/block.h"
#include "basalt/log.h"

uint8_t blk_zero_buf[BLK_ZERO_BUF_SIZE] __attribute__((aligned(4096)));

void blk_complete(struct blk_req *r, int64_t result)
{
	r->cb(r, result);
}

void blk_rw_resume(const struct blk_req *r, void **base, size_t *len,
		   const struct iovec **iov, unsigned *iovcnt)
{
	uint64_t pos = 0;

	for (unsigned k = 0; k < r->iovcnt; k++) {
		uint64_t seg = r->iov[k].iov_len;

		if (r->done < pos + seg) {
			if (r->done == pos) {
				*iov = &r->iov[k];
				*iovcnt = r->iovcnt - k;
			} else {
				*base = (char *)r->iov[k].iov_base + (r->done - pos);
				*len = seg - (r->done - pos);
				*iovcnt = 0;
			}
			return;
		}
		pos += seg;
	}
	/* Not reached while done < total. */
	*iovcnt = 0;
	*base = NULL;
	*len = 0;
}

/* Sums the iovec; -EINVAL if it cannot fit in the image. */
static int iov_total(const struct blk_req *r, uint64_t limit, uint64_t *total)
{
	uint64_t t = 0;

	if (r->iovcnt > BLK_MAX_IOVS || (r->iovcnt && !r->iov))
		return -EINVAL;
	for (unsigned k = 0; k < r->iovcnt; k++) {
		if (r->iov[k].iov_len > limit - t)
			return -EINVAL;
		t += r->iov[k].iov_len;
	}
	*total = t;
	return 0;
}

void blk_submit(struct blk_backend *b, struct blk_req *r)
{
	bool writes;

	if (!r->cb) {
		log_err("%s: block request without completion callback", b->path);
		return;
	}
	r->b = b;
	r->done = 0;
	r->stage = 0;
	r->total = 0;
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (iov_total(r, b->size, &r->total) < 0) {
			blk_complete(r, -EINVAL);
			return;
		}
		break;
	case BLK_OP_FLUSH:
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		r->total = r->len;
		break;
	default:
		blk_complete(r, -EINVAL);
		return;
	}
	writes = r->op == BLK_OP_WRITE || r->op == BLK_OP_DISCARD ||
		 r->op == BLK_OP_WRITE_ZEROES;
	if (writes && b->readonly) {
		blk_complete(r, -EROFS);
		return;
	}
	if (r->offset > b->size || r->total > b->size - r->offset) {
		blk_complete(r, -EINVAL);
		return;
	}
	if (r->total == 0 && r->op != BLK_OP_FLUSH) {
		blk_complete(r, 0);
		return;
	}
	b->engine->submit(b, r);
}

const char *blk_engine_name(const struct blk_backend *b)
{
	return b->engine->name;
}

/* OFD locks belong to the open file description, so they conflict even
 * between two opens in one process, and go away with the last close. */
static int lock_image(struct blk_backend *b, struct bs_err *e)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0,     /* whole file, also past its current end */
	};

	if (fcntl(b->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return bs_errf(e, EBUSY,
			       "%s: image is already open for writing elsewhere (write lock held)",
			       b->path);
	return bs_errf(e, errno, "%s: cannot lock image: %s", b->path,
		       strerror(errno));
}

static int probe_size(struct blk_backend *b, bool direct, struct bs_err *e)
{
	struct stat st;

	if (fstat(b->fd, &st) < 0)
		return bs_errf(e, errno, "%s: fstat: %s", b->path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		b->size = st.st_size;
		/* O_DIRECT on files needs the file system's block alignment,
		 * which is at most a page on the hosts we run on. */
		b->logical_block_size = direct ? 4096 : 512;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;
		int lbs;

		if (ioctl(b->fd, BLKGETSIZE64, &size) < 0)
			return bs_errf(e, errno, "%s: BLKGETSIZE64: %s", b->path,
				       strerror(errno));
		if (ioctl(b->fd, BLKSSZGET, &lbs) < 0)
			return bs_errf(e, errno, "%s: BLKSSZGET: %s", b->path,
				       strerror(errno));
		if (lbs < 512 || lbs > 65536 || (lbs & (lbs - 1)))
			return bs_errf(e, EINVAL, "%s: odd logical block size %d",
				       b->path, lbs);
		b->size = size;
		b->logical_block_size = lbs;
		b->is_blockdev = true;
		return 0;
	}
	return bs_errf(e, EINVAL, "%s: not a regular file or block device",
		       b->path);
}

int blk_open(struct blk_backend **out, const char *path,
	     const struct blk_opts *opts, struct io_loop *loop,
	     struct bs_err *e)
{
	struct blk_backend *b;
	int flags = O_CLOEXEC, ret;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (!b || !(b->path = strdup(path))) {
		free(b);
		return bs_errf(e, ENOMEM, "%s: out of memory", path);
	}
	b->readonly = opts->readonly;
	b->direct = opts->direct;
	b->slot = -1;
	b->has_zero_range = true;
	b->has_punch_hole = true;
	flags |= b->readonly ? O_RDONLY : O_RDWR;
	if (opts->direct)
		flags |= O_DIRECT;
	if (opts->cache == BLK_CACHE_WRITETHROUGH)
		flags |= O_DSYNC;
	b->fd = open(path, flags);
	if (b->fd < 0) {
		if (errno == EINVAL && opts->direct)
			ret = bs_errf(e, EINVAL,
				      "%s: direct I/O (O_DIRECT) not supported by its file system",
				      path);
		else
			ret = bs_errf(e, errno, "%s: %s", path, strerror(errno));
		goto err_free;
	}
	ret = probe_size(b, opts->direct, e);
	if (ret < 0)
		goto err_close;
	if (!b->readonly) {
		ret = lock_image(b, e);
		if (ret < 0)
			goto err_close;
	}

	b->engine = &blk_engine_sync;
	/* A poll() mode loop (no io_uring) means the sync engine, as meant. */
	if (loop && io_loop_uses_io_uring(loop)) {
		struct bs_err ue = { "" };

		b->loop = loop;
		if (blk_engine_uring.attach(b, &ue) == 0) {
			b->engine = &blk_engine_uring;
		} else {
			log_warn("%s: io_uring engine unavailable (%s); using sync I/O",
				 path, ue.msg);
			b->loop = NULL;
		}
	}
	log_debug("%s: %llu bytes, %u-byte blocks, %s%s engine", path,
		  (unsigned long long)b->size, b->logical_block_size,
		  b->readonly ? "read-only, " : "", b->engine->name);
	*out = b;
	return 0;

err_close:
	close(b->fd);
err_free:
	free(b->path);
	free(b);
	return ret;
}

void blk_forget_loop(struct blk_backend *b)
{
	if (b) {
		b->loop = NULL;
		b->slot = -1;
	}
}

void blk_close(struct blk_backend *b)
{
	if (!b)
		return;
	if (b->engine->detach)
		b->engine->detach(b);
	close(b->fd);
	free(b->path);
	free(b);
}
