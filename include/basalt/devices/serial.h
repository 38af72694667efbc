/* 16550A-compatible UART (8250 family) at 0x3f8/IRQ 4.
 *
 * Register model: RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, DLL/DLM
 * (DLAB), 16-byte RX FIFO, THR-empty and RX-data interrupts with the
 * IIR priority rules, loopback mode.  TX bytes go to a sink callback
 * (console); RX bytes are pushed by the console input thread.  All entry
 * points take the device lock, so the vCPU and input threads may race. */
#ifndef BASALT_DEVICES_SERIAL_H
#define BASALT_DEVICES_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "basalt/bus.h"
#include "basalt/irq.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ 4
#define SERIAL_RX_FIFO 16

struct serial;

/* sink(ctx, buf, len) receives transmitted bytes; it must not block for long
 * and must bound its own buffering. */
typedef void (*serial_sink_fn)(void *ctx, const uint8_t *buf, size_t len);

struct serial *serial_new(serial_sink_fn sink, void *sink_ctx,
			  struct irq_line irq);
void serial_free(struct serial *s);
/* Queues up to n received bytes; returns how many fit in the RX FIFO. */
size_t serial_rx(struct serial *s, const uint8_t *buf, size_t n);
/* Room left in the RX FIFO (the input thread waits while 0). */
size_t serial_rx_room(struct serial *s);

extern const struct bus_dev_ops serial_ops;

#endif
