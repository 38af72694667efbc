/* Probing unbacked physical memory (see probe.h). */
#include "probe.h"

static const uint32_t offsets[] = { 0x0, 0x4, 0x10, 0xffc, 0x1000, 0x1ffffc };

#define MAX_REPORTS 8

static unsigned reported;

static unsigned compare(const char *name, uint64_t pa, unsigned width,
			uint64_t got, uint64_t want)
{
	if (got == want)
		return 0;
	if (reported++ >= MAX_REPORTS)
		return 1;
	guest_printf("%s: %u-bit read at 0x%llx gave 0x%llx, expected 0x%llx\n",
		     name, width, (unsigned long long)pa, (unsigned long long)got,
		     (unsigned long long)want);
	return 1;
}

static unsigned read_all(const char *name, uint64_t base, uint32_t want,
			 unsigned *reads)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < GUEST_ARRAY_SIZE(offsets); i++) {
		uint64_t pa = base + offsets[i];

		bad += compare(name, pa, 32, mmio_read32(pa), want);
		bad += compare(name, pa, 16, mmio_read16(pa), want & 0xffff);
		bad += compare(name, pa, 8, mmio_read8(pa), want & 0xff);
		*reads += 3;
	}
	return bad;
}

unsigned guest_probe_unbacked(const char *name, uint64_t base)
{
	uint32_t want = (uint32_t)guest_cmdline_u64("expect", 0xffffffff);
	unsigned reads = 0, bad;

	bad = read_all(name, base, want, &reads);
	for (unsigned i = 0; i < GUEST_ARRAY_SIZE(offsets); i++)
		mmio_write32(base + offsets[i], 0x5a5a0000u | i);
	mmio_write8(base + 1, 0x00);
	bad += read_all(name, base, want, &reads);
	guest_printf("%s: %u reads at 0x%llx, %u mismatches\n", name, reads,
		     (unsigned long long)base, bad);
	return bad;
}
