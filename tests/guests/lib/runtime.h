/* Internal interfaces between the runtime's files (not for guests). */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include "guest.h"

/* entry.S -> start.c */
void guest_start_ring0(void);
GUEST_NORETURN void guest_start_ring3(void);
/* entry.S trap stubs -> trap.c, at CPL0 with IF=0. */
void guest_trap(struct guest_trap_frame *f);

/* Fills and loads the IDT (CPL0). */
void runtime_idt_init(void);
/* Programs the UART (8N1, FIFOs on) and detects the FIFO. */
void runtime_serial_init(void);

#endif
