/* spin: prints one line and then spins in ring 3 forever, for the host's
 * --timeout and signal handling tests. */
#include "lib/guest.h"

int guest_main(void)
{
	guest_printf("spin: spinning\n");
	for (;;)
		__asm__ volatile("pause");
	return GUEST_EXIT_FAIL;
}
