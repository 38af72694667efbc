/* Block backend: a disk image (regular file or block device) behind one
 * request interface, served by one of two engines:
 *
 *  - uring: READV/WRITEV (READ/WRITE to continue short transfers),
 *    FSYNC+DATASYNC and FALLOCATE through an io_loop, the image installed
 *    in the loop's fixed-file table; completions run on the loop thread.
 *  - sync: preadv/pwritev/fdatasync/fallocate in the submitting thread,
 *    for hosts without io_uring; the completion runs before blk_submit()
 *    returns.
 *
 * blk_open() picks uring when given a loop and registering the image in it
 * works, else sync.  This is the host side of virtio-blk (virtio 1.2
 * section 5.2.6): IN, OUT, FLUSH, DISCARD and WRITE_ZEROES map to the ops
 * below; the device validates sector numbers and request layout, this
 * module re-checks ranges against the image size.
 *
 * Threading: with the uring engine, blk_submit() must be called on the
 * loop thread (or while the loop is stopped).  blk_open()/blk_close() run
 * on the controlling thread; blk_close() only once no request is in
 * flight. */
#ifndef BASALT_IO_BLOCK_H
#define BASALT_IO_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "basalt/err.h"
#include "basalt/io/loop.h"

#define BLK_MAX_IOVS 1024   /* IOV_MAX: most segments one request carries */

enum blk_cache {
	BLK_CACHE_WRITEBACK,    /* host page cache; FLUSH makes writes durable */
	BLK_CACHE_WRITETHROUGH, /* O_DSYNC: a completed write is durable */
};

struct blk_opts {
	bool readonly;
	bool direct;            /* O_DIRECT: bypass the host page cache */
	enum blk_cache cache;
};

enum blk_op {
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,           /* fdatasync */
	BLK_OP_DISCARD,         /* fallocate(PUNCH_HOLE | KEEP_SIZE) */
	BLK_OP_WRITE_ZEROES,    /* ZERO_RANGE, else PUNCH_HOLE, else zeros */
};

struct blk_req;
/* result: bytes transferred (READ/WRITE: the full iovec length), 0 (other
 * ops) or -errno.  Called exactly once per blk_submit(), possibly before
 * blk_submit() returns (always with the sync engine; with uring for
 * requests refused without I/O); r may be freed or reused from inside the
 * callback. */
typedef void (*blk_done_fn)(struct blk_req *r, int64_t result);

/* One request.  The caller owns it and everything it points at (iov and
 * the buffers) until cb runs.  Errors:
 *  -EINVAL  unknown op, iovcnt > BLK_MAX_IOVS, range past the end of the
 *           image (no I/O is done)
 *  -EROFS   WRITE, DISCARD or WRITE_ZEROES on a read-only backend
 *  -EIO     the image ended early (file shrunk under us)
 *  -EOPNOTSUPP  DISCARD on a file system that cannot punch holes
 *  -EAGAIN  uring engine: no SQE to be had (ring overloaded)
 *  other    whatever the kernel said (e.g. -EINVAL for misaligned
 *           O_DIRECT buffers; the device must bounce those). */
struct blk_req {
	enum blk_op op;
	uint64_t offset;            /* bytes */
	const struct iovec *iov;    /* READ/WRITE; not modified */
	unsigned iovcnt;
	uint64_t len;               /* DISCARD/WRITE_ZEROES: bytes */
	blk_done_fn cb;
	void *opaque;

	/* Engine state; set by blk_submit(). */
	struct blk_backend *b;
	uint64_t total;             /* bytes to transfer */
	uint64_t done;              /* bytes transferred so far */
	unsigned stage;             /* WRITE_ZEROES fallback step */
	struct io_completion comp;  /* uring engine */
};

/* An open image.  Read the public part; the rest belongs to block*.c. */
struct blk_backend {
	char *path;
	uint64_t size;              /* bytes */
	uint32_t logical_block_size;
	bool readonly;
	bool direct;                /* O_DIRECT: buffers, offsets and lengths
				     * must be multiples of logical_block_size */
	bool is_blockdev;
	/* Cleared at the first -EOPNOTSUPP so later requests skip the failing
	 * call; tests clear them to reach the write-zeros fallback. */
	bool has_zero_range;        /* fallocate(ZERO_RANGE) works */
	bool has_punch_hole;        /* fallocate(PUNCH_HOLE) works */

	int fd;
	const struct blk_engine *engine;
	struct io_loop *loop;       /* uring engine only */
	int slot;                   /* fixed-file slot, uring engine only */
};

/* Opens path with opts.  loop may be NULL (sync engine).  A writable open
 * takes an OFD write lock on the whole image: a second writable open of the
 * same image (by any process) fails with -EBUSY.  Errors name the path. */
int blk_open(struct blk_backend **out, const char *path,
	     const struct blk_opts *opts, struct io_loop *loop,
	     struct bs_err *e);
void blk_close(struct blk_backend *b);
/* The loop was destroyed first (its ring exit dropped the file): blk_close
 * then skips unregistering, a call the sandboxed main thread may not make. */
void blk_forget_loop(struct blk_backend *b);

/* Starts r; r->cb reports the outcome (see struct blk_req). */
void blk_submit(struct blk_backend *b, struct blk_req *r);

/* "uring" or "sync". */
const char *blk_engine_name(const struct blk_backend *b);

/* ---- engine interface (src/io/block.c and its engines only) ---- */

struct blk_engine {
	const char *name;
	/* Prepares b for this engine; 0 or -errno (caller falls back). */
	int (*attach)(struct blk_backend *b, struct bs_err *e);
	void (*detach)(struct blk_backend *b);
	/* r is validated and its engine state reset; must call blk_complete()
	 * exactly once. */
	void (*submit)(struct blk_backend *b, struct blk_req *r);
};

extern const struct blk_engine blk_engine_sync;
extern const struct blk_engine blk_engine_uring;

/* Zero-filled (BSS), never written, page aligned; for the WRITE_ZEROES
 * last-resort fallback. */
#define BLK_ZERO_BUF_SIZE (64 * 1024)
extern uint8_t blk_zero_buf[BLK_ZERO_BUF_SIZE];

void blk_complete(struct blk_req *r, int64_t result);
/* Where a READ/WRITE continues after r->done bytes: either a plain buffer
 * (*iovcnt == 0; *base and *len set, the remainder of a partly done segment)
 * or the segments from *iov on (*iovcnt > 0). */
void blk_rw_resume(const struct blk_req *r, void **base, size_t *len,
		   const struct iovec **iov, unsigned *iovcnt);

#endif
