/* hello: the smallest useful guest.  Proves the boot path end to end (PVH
 * entry, long mode, ring 3, serial, exit port).  Exits 0. */
#include "lib/guest.h"

int guest_main(void)
{
	guest_puts("Hello from basalt test guest");
	return GUEST_EXIT_PASS;
}
