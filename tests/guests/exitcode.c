/* exitcode: exits with `code=N` (0..255, default 0) to check that the exit
 * port value reaches basalt's exit status unchanged. */
#include "lib/guest.h"

int guest_main(void)
{
	uint64_t code = guest_cmdline_u64("code", 0);

	if (code > 255) {
		guest_printf("exitcode: code=%llu out of range 0..255\n",
			     (unsigned long long)code);
		return GUEST_EXIT_BAD_CMDLINE;
	}
	guest_printf("exitcode: exiting with %llu\n", (unsigned long long)code);
	return (int)code;
}
