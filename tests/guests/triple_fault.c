/* triple_fault: at CPL0, loads an IDT with limit 0 and executes ud2.  The
 * #UD cannot be delivered (vector 6 is beyond the limit -> #GP), nor can the
 * #GP (-> #DF), nor the #DF: a triple fault, i.e. shutdown (SDM vol. 3A
 * 6.15, "Interrupt 8").  basalt must report BS_EXIT_SHUTDOWN (4); QEMU with
 * -no-reboot exits 0.  Reaching guest_main means the CPU carried on. */
#include "lib/guest.h"

void guest_ring0_init(void)
{
	static const struct desc_ptr empty = { 0, 0 };

	guest_printf("triple_fault: empty IDT, then ud2\n");
	guest_serial_flush();
	lidt(&empty);
	__asm__ volatile("ud2");
}

int guest_main(void)
{
	guest_puts("triple_fault: survived");
	return GUEST_EXIT_SURVIVED;
}
