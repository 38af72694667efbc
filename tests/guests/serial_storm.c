/* serial_storm: writes `mib=N` MiB (default 8, at most 4096) of text to
 * COM1 as fast as the UART allows, then "storm done".  `kib=N` (a multiple
 * of 4) overrides mib for slow hosts such as QEMU TCG, which costs a write
 * system call per byte.  Exercises basalt's console path under load (with
 * --console none its memory must stay flat). */
#include "lib/guest.h"

#define LINE 64
#define BLOCK 4096

static char block[BLOCK];

int guest_main(void)
{
	uint64_t mib = guest_cmdline_u64("mib", 8);
	uint64_t kib = guest_cmdline_u64("kib", mib << 10);
	uint64_t total, sent = 0;

	if (mib > 4096 || kib > (4096 << 10) || kib % 4) {
		guest_printf("serial_storm: mib=%llu/kib=%llu out of range "
			     "(at most 4 GiB, kib a multiple of 4)\n",
			     (unsigned long long)mib, (unsigned long long)kib);
		return GUEST_EXIT_BAD_CMDLINE;
	}
	/* 64 lines of 64 bytes: "storm NN abc...xyz0123...\n". */
	for (unsigned l = 0; l < BLOCK / LINE; l++) {
		char *p = block + l * LINE;
		unsigned n = (unsigned)guest_snprintf(p, LINE, "storm %02u ", l);

		for (unsigned i = n; i < LINE - 1; i++)
			p[i] = (char)('a' + (i + l) % 26);
		p[LINE - 1] = '\n';
	}
	total = kib << 10;
	guest_printf("serial_storm: writing %llu KiB\n", (unsigned long long)kib);
	while (sent < total) {
		guest_serial_write(block, BLOCK);
		sent += BLOCK;
	}
	guest_printf("storm done: %llu bytes\n", (unsigned long long)sent);
	return GUEST_EXIT_PASS;
}
