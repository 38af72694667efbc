/* blk_bench: virtio-blk throughput from ring 3, polling, with up to qd
 * requests in flight (bench/blk runs it under basalt and QEMU on the same
 * image).  Cmdline: rw=read|write, pattern=rand|seq, bs=BYTES (512-aligned,
 * up to 1M), qd=N (1..32), ops=N.  Prints "blk_bench: start" just before
 * the first request and "blk_bench: done ops=N errors=E" after the last
 * completion; the host times the two lines. */
#include "lib/guest.h"

#define VIRTIO_ID_BLOCK 2
#define T_IN 0
#define T_OUT 1
#define MAX_QD 32
#define QSIZE 128
#define BUF_BYTES (8u << 20)

struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static uint8_t qmem[GUEST_VQ_MEM] __attribute__((aligned(4096)));
static uint8_t bufs[BUF_BYTES] __attribute__((aligned(4096)));
static struct req_hdr hdr[MAX_QD];
static volatile uint8_t status[MAX_QD];
static unsigned free_slot[MAX_QD], nfree;	/* completions come in any order */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int guest_main(void)
{
	struct guest_virtio v;
	struct guest_vq vq;
	const char *rw = guest_cmdline_get("rw"), *pat = guest_cmdline_get("pattern");
	bool write = rw && !strcmp(rw, "write"), seq = pat && !strcmp(pat, "seq");
	uint64_t bs = guest_cmdline_u64("bs", 4096), qd = guest_cmdline_u64("qd", 1);
	uint64_t ops = guest_cmdline_u64("ops", 10000), capacity, span, next_seq = 0;
	uint64_t submitted = 0, completed = 0, errors = 0;

	if (bs < 512 || bs % 512 || qd < 1 || qd > MAX_QD || bs * qd > BUF_BYTES) {
		guest_printf("blk_bench: bad parameters\n");
		return GUEST_EXIT_FAIL;
	}
	if (guest_virtio_find(VIRTIO_ID_BLOCK, 0, &v) ||
	    guest_virtio_negotiate(&v, 0, NULL) || guest_vq_init(&v, 0, &vq, qmem, QSIZE)) {
		guest_printf("blk_bench: no usable virtio-blk device\n");
		return GUEST_EXIT_FAIL;
	}
	guest_virtio_driver_ok(&v);
	capacity = (uint64_t)mmio_read32(v.devcfg + 4) << 32 | mmio_read32(v.devcfg);
	span = capacity * 512 / bs;		/* blocks of bs in the disk */
	if (!span) {
		guest_printf("blk_bench: disk smaller than bs\n");
		return GUEST_EXIT_FAIL;
	}
	for (unsigned i = 0; i < qd; i++)
		free_slot[nfree++] = (unsigned)(qd - 1 - i);
	guest_printf("blk_bench: start\n");
	for (;;) {
		bool added = false;

		/* Fill free slots: slot i owns descriptors 3i..3i+2, head 3i. */
		while (nfree && submitted < ops) {
			unsigned i = free_slot[--nfree];
			uint64_t blk = seq ? next_seq++ % span : next_rand() % span;
			struct virtq_desc *d = &vq.desc[3 * i];

			hdr[i] = (struct req_hdr){ write ? T_OUT : T_IN, 0, blk * bs / 512 };
			status[i] = 0xee;
			d[0] = (struct virtq_desc){ (uintptr_t)&hdr[i], 16, 1, (uint16_t)(3 * i + 1) };
			d[1] = (struct virtq_desc){ (uintptr_t)(bufs + i * bs), (uint32_t)bs,
						    (uint16_t)(1 | (write ? 0 : 2)), (uint16_t)(3 * i + 2) };
			d[2] = (struct virtq_desc){ (uintptr_t)&status[i], 1, 2, 0 };
			vq.avail[2 + vq.avail_idx % QSIZE] = (uint16_t)(3 * i);
			__asm__ volatile("" ::: "memory");
			vq.avail_idx++;
			vq.avail[1] = vq.avail_idx;
			submitted++;
			added = true;
		}
		if (added) {
			__asm__ volatile("mfence" ::: "memory");
			mmio_write16(vq.notify_addr, 0);
		}
		if (completed == ops)
			break;
		/* Reap whatever completed. */
		for (;;) {
			uint16_t used = *(volatile uint16_t *)(vq.used + 2);

			if (used == vq.used_seen) {
				cpu_relax();
				continue;
			}
			while (vq.used_seen != used) {
				uint32_t id = *(volatile uint32_t *)(vq.used + 4 + 8 * (vq.used_seen % QSIZE));

				if (id % 3 || id / 3 >= qd) {
					errors++;	/* not a head we gave out */
				} else {
					if (status[id / 3] != 0)
						errors++;
					free_slot[nfree++] = id / 3;
				}
				vq.used_seen++;
				completed++;
			}
			break;
		}
	}
	guest_printf("blk_bench: done ops=%llu errors=%llu\n", (unsigned long long)completed,
		     (unsigned long long)errors);
	return errors ? GUEST_EXIT_FAIL : GUEST_EXIT_PASS;
}
