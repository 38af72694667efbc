/* Split virtqueue engine: the test plays the guest driver, building
 * descriptor tables and avail rings in a fake guest RAM, and checks what
 * the device side pops, pushes and decides. */
#include <check.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "basalt/virtio/virtqueue.h"
#include "fixtures.h"

#define RAM_GPA 0x100000ull
#define RAM_SIZE 0x40000ull
/* Guest layout; sized for queues up to 2048 entries. */
#define DESC (RAM_GPA + 0x0)
#define AVAIL (RAM_GPA + 0x8000)
#define USED (RAM_GPA + 0xa000)
#define IND (RAM_GPA + 0x10000)
#define BUF (RAM_GPA + 0x20000)

#define F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define NEXT VIRTQ_DESC_F_NEXT
#define WRITE VIRTQ_DESC_F_WRITE
#define INDIRECT VIRTQ_DESC_F_INDIRECT

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static struct guest_mem gm;
static struct virtq vq;
static struct vq_elem el;
static struct bs_err err;
static uint16_t drv_avail;          /* the driver's avail->idx */

static uint8_t *H(uint64_t gpa)
{
	ck_assert(gpa >= RAM_GPA && gpa < RAM_GPA + RAM_SIZE);
	return ram + (gpa - RAM_GPA);
}

static void put16(uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(H(gpa), &v, 2);
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, H(gpa), 2);
	return le16toh(v);
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, H(gpa), 4);
	return le32toh(v);
}

static void queue_setup(uint16_t size, uint64_t features)
{
	memset(ram, 0, sizeof(ram));
	gm_init_fake(&gm, ram, RAM_GPA, RAM_SIZE);
	vq_init(&vq, &gm, "test-q");
	vq.size = size;
	vq.desc = DESC;
	vq.avail = AVAIL;
	vq.used = USED;
	vq.features = features;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), 0);
	drv_avail = 0;
	memset(&err, 0, sizeof(err));
}

/* Driver side: writes descriptor i of the table at table_gpa. */
static void desc(uint64_t table_gpa, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {
		.addr = htole64(addr), .len = htole32(len),
		.flags = htole16(flags), .next = htole16(next),
	};

	memcpy(H(table_gpa + 16 * (uint64_t)i), &d, sizeof(d));
}

/* Driver side: exposes head in the next avail slot and bumps avail->idx. */
static void post(uint16_t head)
{
	put16(AVAIL + 4 + 2 * (drv_avail & (vq.size - 1)), head);
	drv_avail++;
	put16(AVAIL + 2, drv_avail);
}

static void check_seg(unsigned i, uint64_t gpa, uint32_t len, bool is_write)
{
	ck_assert_uint_eq(el.seg[i].gpa, gpa);
	ck_assert_uint_eq(el.seg[i].len, len);
	ck_assert_ptr_eq(el.seg[i].hva, H(gpa));
	ck_assert_int_eq(el.seg[i].is_write, is_write);
}

START_TEST(chain_out_out_in)
{
	queue_setup(8, 0);
	/* head 3 -> 5 -> 1: header, payload, status byte */
	desc(DESC, 3, BUF, 16, NEXT, 5);
	desc(DESC, 5, BUF + 0x100, 512, NEXT, 1);
	desc(DESC, 1, BUF + 0x400, 1, WRITE, 0);
	post(3);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_uint_eq(el.head, 3);
	ck_assert_uint_eq(el.nr_out, 2);
	ck_assert_uint_eq(el.nr_in, 1);
	ck_assert_uint_eq(el.out_len, 528);
	ck_assert_uint_eq(el.in_len, 1);
	check_seg(0, BUF, 16, false);
	check_seg(1, BUF + 0x100, 512, false);
	check_seg(2, BUF + 0x400, 1, true);
	ck_assert_uint_eq(vq.last_avail_idx, 1);
	ck_assert_uint_eq(vq.nr_inflight, 1);
	/* ring now empty */
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 0);
	ck_assert(!vq.broken);
}
END_TEST

START_TEST(indirect_chain)
{
	queue_setup(8, F_INDIRECT);
	/* direct readable descriptor 0, then descriptor 2 pointing at a
	 * 3-entry table walked 0 -> 2 -> 1; the WRITE flag on the pointer
	 * descriptor must be ignored (spec 2.7.5.3.2) */
	desc(DESC, 0, BUF, 8, NEXT, 2);
	desc(DESC, 2, IND, 48, INDIRECT | WRITE, 0);
	desc(IND, 0, BUF + 0x10, 10, NEXT, 2);
	desc(IND, 2, BUF + 0x20, 20, NEXT, 1);
	desc(IND, 1, BUF + 0x40, 30, WRITE, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_uint_eq(el.head, 0);
	ck_assert_uint_eq(el.nr_out, 3);
	ck_assert_uint_eq(el.nr_in, 1);
	ck_assert_uint_eq(el.out_len, 38);
	ck_assert_uint_eq(el.in_len, 30);
	check_seg(0, BUF, 8, false);
	check_seg(1, BUF + 0x10, 10, false);
	check_seg(2, BUF + 0x20, 20, false);
	check_seg(3, BUF + 0x40, 30, true);
}
END_TEST

START_TEST(push_pop_round_trip)
{
	queue_setup(8, 0);
	desc(DESC, 4, BUF, 16, NEXT, 6);
	desc(DESC, 6, BUF + 0x100, 64, WRITE, 0);
	desc(DESC, 7, BUF + 0x200, 32, 0, 0);
	post(4);
	post(7);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_uint_eq(el.head, 4);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_uint_eq(el.head, 7);
	ck_assert_uint_eq(vq.nr_inflight, 2);
	/* completed out of order: 7 first */
	ck_assert_int_eq(vq_push(&vq, 7, 0, &err), 0);
	ck_assert_int_eq(vq_push(&vq, 4, 60, &err), 0);
	ck_assert_uint_eq(get32(USED + 4), 7);
	ck_assert_uint_eq(get32(USED + 8), 0);
	ck_assert_uint_eq(get32(USED + 12), 4);
	ck_assert_uint_eq(get32(USED + 16), 60);
	ck_assert_uint_eq(get16(USED + 2), 2);
	ck_assert_uint_eq(vq.used_idx, 2);
	ck_assert_uint_eq(vq.nr_inflight, 0);
	/* nothing else was written: the third used slot is untouched */
	ck_assert_uint_eq(get32(USED + 20), 0);
	/* device bugs: head pushed twice, head out of range */
	ck_assert_int_eq(vq_push(&vq, 4, 1, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: push of head 4 that is not in flight");
	ck_assert_int_eq(vq_push(&vq, 8, 1, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: push of head 8 that is not in flight");
	ck_assert_uint_eq(get16(USED + 2), 2);
	/* the same head can be reused once pushed */
	post(4);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_uint_eq(el.head, 4);
	ck_assert(!vq.broken);
}
END_TEST

START_TEST(index_wrap_around)
{
	queue_setup(8, 0);
	vq.last_avail_idx = vq.used_idx = 65534;
	drv_avail = 65534;
	put16(AVAIL + 2, 65534);
	put16(USED + 2, 65534);
	desc(DESC, 0, BUF, 16, 0, 0);
	desc(DESC, 1, BUF + 0x10, 16, 0, 0);
	desc(DESC, 2, BUF + 0x20, 16, 0, 0);
	post(0);    /* slot 65534 % 8 = 6 */
	post(1);    /* slot 7 */
	post(2);    /* idx 0, slot 0 */
	ck_assert_uint_eq(get16(AVAIL + 2), 1);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
		ck_assert_uint_eq(el.head, i);
		ck_assert_int_eq(vq_push(&vq, el.head, 100 + i, &err), 0);
	}
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 0);
	ck_assert_uint_eq(vq.last_avail_idx, 1);
	ck_assert_uint_eq(vq.used_idx, 1);
	ck_assert_uint_eq(get16(USED + 2), 1);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 6), 0);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 6 + 4), 100);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 7), 1);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 7 + 4), 101);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 0), 2);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 0 + 4), 102);
}
END_TEST

START_TEST(need_event_table)
{
	static const struct {
		uint16_t event, new_idx, old;
		bool notify;
	} t[] = {
		{ 0, 1, 0, true },          /* first entry written at idx 0 */
		{ 1, 1, 0, false },         /* waits for the entry at idx 1 */
		{ 1, 2, 0, true },
		{ 3, 3, 0, false },
		{ 5, 9, 5, true },          /* window (5, 9] holds idx 5..8 */
		{ 8, 9, 5, true },
		{ 9, 9, 5, false },
		{ 4, 9, 5, false },         /* passed before the last check */
		{ 10, 5, 5, false },        /* nothing new */
		{ 65535, 0, 65534, true },  /* wrap */
		{ 65535, 0, 65535, true },
		{ 0, 0, 65535, false },
		{ 1, 3, 65535, true },
	};

	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(vq_need_event(t[i].event, t[i].new_idx, t[i].old) ==
			      t[i].notify, "case %u: event %u new %u old %u", i,
			      t[i].event, t[i].new_idx, t[i].old);
}
END_TEST

static void pop_push_one(uint16_t head)
{
	post(head);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_int_eq(vq_push(&vq, el.head, 0, &err), 0);
}

START_TEST(event_idx_notify)
{
	queue_setup(8, F_EVENT_IDX);
	desc(DESC, 0, BUF, 16, 0, 0);
	/* NO_INTERRUPT must be ignored with EVENT_IDX */
	put16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	put16(AVAIL + 4 + 2 * 8, 2);          /* used_event = 2 */
	/* first check after reset always notifies */
	pop_push_one(0);
	ck_assert(vq_need_notify(&vq));
	pop_push_one(0);                      /* used idx 2 */
	ck_assert(!vq_need_notify(&vq));
	pop_push_one(0);                      /* entry at idx 2 written */
	ck_assert(vq_need_notify(&vq));
	ck_assert(!vq_need_notify(&vq));      /* nothing new */
	put16(AVAIL + 4 + 2 * 8, 4);
	pop_push_one(0);
	pop_push_one(0);                      /* idx 3 and 4 in one batch */
	ck_assert(vq_need_notify(&vq));
}
END_TEST

START_TEST(no_interrupt_flag)
{
	queue_setup(8, 0);
	desc(DESC, 0, BUF, 16, 0, 0);
	pop_push_one(0);
	ck_assert(vq_need_notify(&vq));
	put16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	pop_push_one(0);
	ck_assert(!vq_need_notify(&vq));
	/* used_event is ignored without EVENT_IDX */
	put16(AVAIL + 4 + 2 * 8, 1);
	ck_assert(!vq_need_notify(&vq));
	put16(AVAIL, 0);
	ck_assert(vq_need_notify(&vq));
}
END_TEST

START_TEST(device_notify_suppression)
{
	queue_setup(8, 0);
	desc(DESC, 0, BUF, 16, 0, 0);
	vq_disable_notify(&vq);
	ck_assert_uint_eq(get16(USED), VIRTQ_USED_F_NO_NOTIFY);
	ck_assert(!vq_enable_notify(&vq));
	ck_assert_uint_eq(get16(USED), 0);
	vq_disable_notify(&vq);
	post(0);
	/* a buffer arrived while disabled: the caller must poll again */
	ck_assert(vq_enable_notify(&vq));
	ck_assert_uint_eq(get16(USED), 0);
	/* avail_event is not used without EVENT_IDX */
	vq_set_avail_event(&vq);
	ck_assert_uint_eq(get16(USED + 4 + 8 * 8), 0);

	queue_setup(8, F_EVENT_IDX);
	desc(DESC, 0, BUF, 16, 0, 0);
	put16(USED + 4 + 8 * 8, 0x5555);
	vq_disable_notify(&vq);
	ck_assert_uint_eq(get16(USED), 0);    /* flags stay 0 with EVENT_IDX */
	post(0);
	post(0);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	vq_set_avail_event(&vq);
	ck_assert_uint_eq(get16(USED + 4 + 8 * 8), 1);
	ck_assert_int_eq(vq_push(&vq, 0, 0, &err), 0);
	ck_assert(vq_enable_notify(&vq));     /* second chain still pending */
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert(!vq_enable_notify(&vq));
	ck_assert_uint_eq(get16(USED + 4 + 8 * 8), 2);
}
END_TEST

/* vq_push_many publishes a batch with one used->idx move; vq_unpop gives
 * chains back in reverse order; enable_notify_past asks for buffers past
 * what the device saw, not past what it gave back. */
START_TEST(batch_unpop_and_rearm)
{
	struct virtq_used_elem u[3];

	queue_setup(8, F_EVENT_IDX);
	for (unsigned h = 0; h < 4; h++) {
		desc(DESC, h, BUF + 0x100 * h, 64, WRITE, 0);
		post((uint16_t)h);
	}
	for (unsigned h = 0; h < 3; h++) {
		ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
		u[h] = (struct virtq_used_elem){ el.head, 10 + h };
	}
	/* Not in flight, or twice: nothing is written. */
	ck_assert_int_eq(vq_push_many(&vq, (struct virtq_used_elem[]){ { 0, 1 }, { 3, 1 } },
				      2, &err), -EINVAL);
	ck_assert_int_eq(vq_push_many(&vq, (struct virtq_used_elem[]){ { 1, 1 }, { 1, 1 } },
				      2, &err), -EINVAL);
	ck_assert_uint_eq(get16(USED + 2), 0);
	/* Give back the last two (reverse order), publish the first. */
	ck_assert_int_eq(vq_unpop(&vq, 5), -EINVAL);	/* not in flight */
	ck_assert_int_eq(vq_unpop(&vq, 2), 0);
	ck_assert_int_eq(vq_unpop(&vq, 1), 0);
	ck_assert_uint_eq(vq.last_avail_idx, 1);
	ck_assert_uint_eq(vq.nr_inflight, 1);
	ck_assert_int_eq(vq_push_many(&vq, u, 1, &err), 0);
	ck_assert_uint_eq(get16(USED + 2), 1);
	/* The given-back chains come again, then the fourth. */
	for (unsigned h = 1; h < 4; h++) {
		ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
		ck_assert_uint_eq(el.head, h);
		u[h - 1] = (struct virtq_used_elem){ el.head, 20 + h };
	}
	ck_assert_int_eq(vq_push_many(&vq, u, 3, &err), 0);
	ck_assert_uint_eq(get16(USED + 2), 4);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 3), 3);		/* id */
	ck_assert_uint_eq(get32(USED + 4 + 8 * 3 + 4), 23);	/* len */
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 0);
	/* Re-arm past idx 4: avail_event = 4, nothing new yet. */
	ck_assert(!vq_enable_notify_past(&vq, 4));
	ck_assert_uint_eq(get16(USED + 4 + 8 * 8), 4);
	desc(DESC, 4, BUF, 64, WRITE, 0);
	post(4);
	ck_assert(vq_enable_notify_past(&vq, 4));
}
END_TEST

START_TEST(validate_rings)
{
	queue_setup(8, 0);
	vq.desc = DESC + 8;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), -EINVAL);
	ck_assert_str_eq(err.msg,
			 "test-q: descriptor table at 0x100008 is not 16-byte aligned");
	ck_assert(!vq.ready);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: queue is not enabled");
	vq.desc = DESC;
	vq.avail = AVAIL + 1;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: avail ring at 0x108001 is not 2-byte aligned");
	vq.avail = AVAIL;
	vq.used = USED + 2;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: used ring at 0x10a002 is not 4-byte aligned");
	/* used ring (6 + 8*8 = 70 bytes): ends at the last byte of RAM, then
	 * runs 2 bytes past it (the 4-byte alignment allows no less) */
	vq.used = RAM_GPA + RAM_SIZE - 72;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), 0);
	vq.used = RAM_GPA + RAM_SIZE - 68;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: used ring 0x13ffbc+0x46 is not in guest RAM");
	vq.used = USED;
	vq.desc = 0;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: descriptor table 0x0+0x80 is not in guest RAM");
	vq.desc = DESC;
	vq.size = 6;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: queue size 6 is not a power of 2 in 1..32768");
	vq.size = 0;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: queue size 0 is not a power of 2 in 1..32768");
	vq.size = 1;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), 0);
	ck_assert(vq.ready);
}
END_TEST

/* Accepted right at each limit the rejections below test. */
START_TEST(boundaries)
{
	/* chain of exactly queue-size descriptors */
	queue_setup(8, 0);
	for (unsigned i = 0; i < 8; i++)
		desc(DESC, i, BUF + 16 * i, 16, i < 7 ? NEXT : 0, i + 1);
	post(0);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_uint_eq(el.nr_out, 8);
	/* buffer ending at the last byte of RAM */
	queue_setup(8, 0);
	desc(DESC, 0, RAM_GPA + RAM_SIZE - 16, 16, 0, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_ptr_eq(el.seg[0].hva, ram + RAM_SIZE - 16);
	/* avail idx exactly queue size ahead (full ring) */
	queue_setup(8, 0);
	for (unsigned i = 0; i < 8; i++) {
		desc(DESC, i, BUF + 16 * i, 16, 0, 0);
		post(i);
	}
	for (unsigned i = 0; i < 8; i++)
		ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 0);
	/* indirect table of exactly queue-size entries */
	queue_setup(8, F_INDIRECT);
	desc(DESC, 0, IND, 128, INDIRECT, 0);
	for (unsigned i = 0; i < 8; i++)
		desc(IND, i, BUF + 16 * i, 16, i < 7 ? NEXT : 0, i + 1);
	post(0);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_uint_eq(el.nr_out, 8);
	/* exactly VQ_MAX_SEGS buffers */
	queue_setup(2048, 0);
	for (unsigned i = 0; i < VQ_MAX_SEGS; i++)
		desc(DESC, i, BUF + i, 1, i < VQ_MAX_SEGS - 1 ? NEXT : 0, i + 1);
	post(0);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_uint_eq(el.nr_out, VQ_MAX_SEGS);
	ck_assert_uint_eq(el.out_len, VQ_MAX_SEGS);
	check_seg(VQ_MAX_SEGS - 1, BUF + VQ_MAX_SEGS - 1, 1, false);
}
END_TEST

/* ---- Rejections: each builds one bad ring; the pop must fail with an
 * exact code and message and leave the queue broken. ---- */

static void *big;                   /* 4 GiB of reserved address space */
#define BIG_GPA (1ull << 40)
#define BIG_SIZE (4ull << 30)

static void add_big_region(void)
{
	big = mmap(NULL, BIG_SIZE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert(big != MAP_FAILED);
	gm.r[1] = (struct gm_region){ .gpa = BIG_GPA, .size = BIG_SIZE, .hva = big };
	gm.nr = 2;
}

/* Splits RAM into [0, 0x30000) and the rest placed at gap bytes beyond. */
static void split_ram(uint64_t gap)
{
	gm.r[0].size = 0x30000;
	gm.r[1] = (struct gm_region){
		.gpa = RAM_GPA + 0x30000 + gap, .size = RAM_SIZE - 0x30000,
		.hva = ram + 0x30000,
	};
	gm.nr = 2;
	ck_assert_int_eq(vq_validate_rings(&vq, &err), 0);
}

static void bad_loop(void)
{
	desc(DESC, 0, BUF, 16, NEXT, 1);
	desc(DESC, 1, BUF, 16, NEXT, 0);
	post(0);
}

static void bad_too_long(void)
{
	/* A cycle through all 8 descriptors of 512 MiB - 1 each: the 9th
	 * step must be refused as too long, before the total would pass
	 * 4 GiB at that step. */
	add_big_region();
	for (unsigned i = 0; i < 8; i++)
		desc(DESC, i, BIG_GPA, 0x1fffffff, NEXT, (i + 1) % 8);
	post(0);
}

static void bad_next(void)
{
	desc(DESC, 0, BUF, 16, NEXT, 8);
	post(0);
}

static void bad_head(void)
{
	post(8);
}

static void bad_addr(void)
{
	desc(DESC, 0, 0x1000, 16, 0, 0);
	post(0);
}

static void bad_past_end(void)
{
	desc(DESC, 0, BUF, 16, NEXT, 1);
	desc(DESC, 1, RAM_GPA + RAM_SIZE - 16, 17, WRITE, 0);
	post(0);
}

static void bad_wrap(void)
{
	desc(DESC, 0, 0xfffffffffffffff0ull, 0x20, 0, 0);
	post(0);
}

static void bad_zero_len(void)
{
	desc(DESC, 2, BUF, 16, NEXT, 3);
	desc(DESC, 3, BUF, 0, 0, 0);
	post(2);
}

static void bad_read_after_write(void)
{
	desc(DESC, 0, BUF, 16, WRITE | NEXT, 1);
	desc(DESC, 1, BUF + 16, 16, 0, 0);
	post(0);
}

static void bad_read_after_write_indirect(void)
{
	desc(DESC, 0, BUF, 16, WRITE | NEXT, 1);
	desc(DESC, 1, IND, 16, INDIRECT, 0);
	desc(IND, 0, BUF + 16, 16, 0, 0);
	post(0);
}

static void bad_nested(void)
{
	desc(DESC, 0, IND, 32, INDIRECT, 0);
	desc(IND, 0, BUF, 16, NEXT, 1);
	desc(IND, 1, IND + 0x100, 16, INDIRECT, 0);
	desc(IND + 0x100, 0, BUF, 16, 0, 0);
	post(0);
}

static void bad_indirect_not_negotiated(void)
{
	desc(DESC, 0, IND, 16, INDIRECT, 0);
	desc(IND, 0, BUF, 16, 0, 0);
	post(0);
}

static void bad_indirect_len_24(void)
{
	desc(DESC, 0, IND, 24, INDIRECT, 0);
	post(0);
}

static void bad_indirect_len_0(void)
{
	desc(DESC, 0, IND, 0, INDIRECT, 0);
	post(0);
}

static void bad_indirect_too_big(void)
{
	desc(DESC, 0, IND, 144, INDIRECT, 0);
	for (unsigned i = 0; i < 9; i++)
		desc(IND, i, BUF + 16 * i, 16, i < 8 ? NEXT : 0, i + 1);
	post(0);
}

static void bad_indirect_next_flag(void)
{
	desc(DESC, 0, IND, 16, INDIRECT | NEXT, 1);
	desc(DESC, 1, BUF, 16, 0, 0);
	desc(IND, 0, BUF, 16, 0, 0);
	post(0);
}

static void bad_indirect_loop(void)
{
	desc(DESC, 0, IND, 48, INDIRECT, 0);
	desc(IND, 0, BUF, 16, NEXT, 1);
	desc(IND, 1, BUF, 16, NEXT, 0);
	post(0);
}

static void bad_indirect_next(void)
{
	desc(DESC, 0, IND, 32, INDIRECT, 0);
	desc(IND, 0, BUF, 16, NEXT, 2);
	desc(IND, 1, BUF, 16, 0, 0);
	desc(IND, 2, BUF, 16, 0, 0);     /* past the table's end */
	post(0);
}

static void bad_indirect_table_addr(void)
{
	desc(DESC, 0, RAM_GPA + RAM_SIZE - 16, 32, INDIRECT, 0);
	post(0);
}

static void bad_in_flight(void)
{
	desc(DESC, 0, BUF, 16, 0, 0);
	post(0);
	post(0);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
}

static void bad_avail_jump(void)
{
	put16(AVAIL + 2, 9);
}

static void bad_avail_backwards(void)
{
	vq.last_avail_idx = 5;
	put16(AVAIL + 2, 4);
}

static void bad_too_many_segs(void)
{
	for (unsigned i = 0; i <= VQ_MAX_SEGS; i++)
		desc(DESC, i, BUF + i, 1, i < VQ_MAX_SEGS ? NEXT : 0, i + 1);
	post(0);
}

static void bad_total_len(void)
{
	add_big_region();
	desc(DESC, 0, BIG_GPA, 0xffffffffu, NEXT, 1);
	desc(DESC, 1, BUF, 1, WRITE, 0);
	post(0);
}

static void bad_span_hole(void)
{
	split_ram(0x10000);
	desc(DESC, 0, RAM_GPA + 0x30000 - 8, 16, 0, 0);
	post(0);
}

static void bad_span_adjacent(void)
{
	/* regions contiguous in guest and host space: still refused (see
	 * vq_pop in virtqueue.h) */
	split_ram(0);
	desc(DESC, 0, RAM_GPA + 0x30000 - 8, 16, 0, 0);
	post(0);
}

static const struct reject_case {
	void (*build)(void);
	uint16_t size;
	uint64_t features;
	int err;
	const char *msg;
} rejects[] = {
	{ bad_loop, 8, 0, -EINVAL,
	  "test-q: head 0: chain longer than queue size 8 (loop)" },
	{ bad_too_long, 8, 0, -EINVAL,
	  "test-q: head 0: chain longer than queue size 8 (loop)" },
	{ bad_next, 8, 0, -EINVAL,
	  "test-q: head 0: descriptor 0: next 8 out of range (queue size 8)" },
	{ bad_head, 8, 0, -EINVAL,
	  "test-q: avail ring entry 0: head 8 out of range (queue size 8)" },
	{ bad_addr, 8, 0, -EFAULT,
	  "test-q: head 0: descriptor 0: buffer 0x1000+0x10 is not in guest RAM" },
	{ bad_past_end, 8, 0, -EFAULT,
	  "test-q: head 0: descriptor 1: buffer 0x13fff0+0x11 is not in guest RAM" },
	{ bad_wrap, 8, 0, -EFAULT,
	  "test-q: head 0: descriptor 0: buffer 0xfffffffffffffff0+0x20 wraps past 2^64" },
	{ bad_zero_len, 8, 0, -EINVAL,
	  "test-q: head 2: descriptor 3: zero length" },
	{ bad_read_after_write, 8, 0, -EINVAL,
	  "test-q: head 0: descriptor 1: device-readable after device-writable" },
	{ bad_read_after_write_indirect, 8, F_INDIRECT, -EINVAL,
	  "test-q: head 0: indirect entry 0: device-readable after device-writable" },
	{ bad_nested, 8, F_INDIRECT, -EINVAL,
	  "test-q: head 0: indirect entry 1: nested INDIRECT" },
	{ bad_indirect_not_negotiated, 8, F_EVENT_IDX, -EINVAL,
	  "test-q: head 0: descriptor 0: INDIRECT but VIRTIO_RING_F_INDIRECT_DESC "
	  "not negotiated" },
	{ bad_indirect_len_24, 8, F_INDIRECT, -EINVAL,
	  "test-q: head 0: descriptor 0: indirect table length 24 is not a "
	  "multiple of 16 in 16..128" },
	{ bad_indirect_len_0, 8, F_INDIRECT, -EINVAL,
	  "test-q: head 0: descriptor 0: indirect table length 0 is not a "
	  "multiple of 16 in 16..128" },
	{ bad_indirect_too_big, 8, F_INDIRECT, -EINVAL,
	  "test-q: head 0: descriptor 0: indirect table length 144 is not a "
	  "multiple of 16 in 16..128" },
	{ bad_indirect_next_flag, 8, F_INDIRECT, -EINVAL,
	  "test-q: head 0: descriptor 0: both INDIRECT and NEXT" },
	{ bad_indirect_loop, 8, F_INDIRECT, -EINVAL,
	  "test-q: head 0: indirect entry 0: reached twice (loop)" },
	{ bad_indirect_next, 8, F_INDIRECT, -EINVAL,
	  "test-q: head 0: indirect entry 0: next 2 out of range (table has 2 entries)" },
	{ bad_indirect_table_addr, 8, F_INDIRECT, -EFAULT,
	  "test-q: head 0: descriptor 0: indirect table 0x13fff0+0x20 is not in guest RAM" },
	{ bad_in_flight, 8, 0, -EINVAL,
	  "test-q: avail ring entry 1: head 0 is already in flight" },
	{ bad_avail_jump, 8, 0, -EINVAL,
	  "test-q: avail idx 9 is 9 ahead of last_avail_idx 0 (queue size 8)" },
	{ bad_avail_backwards, 8, 0, -EINVAL,
	  "test-q: avail idx 4 is 65535 ahead of last_avail_idx 5 (queue size 8)" },
	{ bad_too_many_segs, 2048, 0, -E2BIG,
	  "test-q: head 0: more than 1024 buffers" },
	{ bad_total_len, 8, 0, -EOVERFLOW,
	  "test-q: head 0: descriptor 1: chain exceeds 4 GiB - 1 bytes" },
	{ bad_span_hole, 8, 0, -EFAULT,
	  "test-q: head 0: descriptor 0: buffer 0x12fff8+0x10 is not in guest RAM" },
	{ bad_span_adjacent, 8, 0, -EFAULT,
	  "test-q: head 0: descriptor 0: buffer 0x12fff8+0x10 is not in guest RAM" },
};

START_TEST(reject)
{
	const struct reject_case *c = &rejects[_i];
	unsigned inflight;
	uint16_t last_avail;

	queue_setup(c->size, c->features);
	c->build();
	inflight = vq.nr_inflight;
	last_avail = vq.last_avail_idx;
	ck_assert_int_eq(vq_pop(&vq, &el, &err), c->err);
	ck_assert_str_eq(err.msg, c->msg);
	ck_assert(vq.broken);
	/* nothing consumed, nothing published */
	ck_assert_uint_eq(vq.nr_inflight, inflight);
	ck_assert_uint_eq(vq.last_avail_idx, last_avail);
	ck_assert_uint_eq(get16(USED + 2), 0);
	/* dead until reset */
	ck_assert_int_eq(vq_pop(&vq, &el, &err), -EIO);
	ck_assert_str_eq(err.msg, "test-q: queue is broken until reset");
	ck_assert_int_eq(vq_push(&vq, 0, 0, &err), -EIO);
	ck_assert(!vq_enable_notify(&vq));
	vq_reset(&vq);
	ck_assert(!vq.broken);
	ck_assert(!vq.ready);
	ck_assert_uint_eq(vq.size, 0);
	ck_assert_uint_eq(vq.nr_inflight, 0);
	ck_assert_str_eq(vq.name, "test-q");
	ck_assert_int_eq(vq_pop(&vq, &el, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "test-q: queue is not enabled");
	if (big) {
		munmap(big, BIG_SIZE);
		big = NULL;
	}
}
END_TEST

/* Companion of bad_total_len: one byte less is accepted. */
START_TEST(total_len_limit)
{
	queue_setup(8, 0);
	add_big_region();
	desc(DESC, 0, BIG_GPA, 0xfffffffeu, NEXT, 1);
	desc(DESC, 1, BUF, 1, WRITE, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&vq, &el, &err), 1);
	ck_assert_uint_eq(el.out_len, 0xfffffffeu);
	ck_assert_uint_eq(el.in_len, 1);
	ck_assert_ptr_eq(el.seg[0].hva, big);
	munmap(big, BIG_SIZE);
	big = NULL;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, chain_out_out_in);
	tcase_add_test(tc, indirect_chain);
	tcase_add_test(tc, push_pop_round_trip);
	tcase_add_test(tc, index_wrap_around);
	tcase_add_test(tc, need_event_table);
	tcase_add_test(tc, event_idx_notify);
	tcase_add_test(tc, no_interrupt_flag);
	tcase_add_test(tc, device_notify_suppression);
	tcase_add_test(tc, batch_unpop_and_rearm);
	tcase_add_test(tc, validate_rings);
	tcase_add_test(tc, boundaries);
	tcase_add_loop_test(tc, reject, 0, sizeof(rejects) / sizeof(rejects[0]));
	tcase_add_test(tc, total_len_limit);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
