/* Polled 16550 UART on COM1 (National Semiconductor PC16550D data sheet).
 *
 * A byte may be written when LSR.THRE (bit 5) is set.  With the FIFOs on,
 * THRE means the whole 16-byte transmit FIFO is empty, so up to 16 bytes go
 * out per LSR poll with one `rep outsb`: two port exits per 16 bytes instead
 * of two per byte, which is what makes serial_storm fast.  Every poll is
 * bounded so a missing or wedged UART cannot hang a guest: after
 * POLL_LIMIT reads the byte is written anyway.
 */
#include "guest.h"
#include "runtime.h"

#define COM1 GUEST_COM1_PORT
#define UART_THR 0
#define UART_IER 1
#define UART_DLL 0
#define UART_DLM 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define FIFO_SIZE 16
#define POLL_LIMIT 100000

static bool fifo_on;

void runtime_serial_init(void)
{
	outb(COM1 + UART_IER, 0);	/* polled: no UART interrupts */
	outb(COM1 + UART_LCR, 0x80);	/* DLAB */
	outb(COM1 + UART_DLL, 1);	/* 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, 0x03);	/* 8N1 */
	outb(COM1 + UART_FCR, 0x07);	/* enable and clear both FIFOs */
	outb(COM1 + UART_MCR, 0x03);	/* DTR, RTS */
	fifo_on = (inb(COM1 + UART_IIR) & 0xc0) == 0xc0;
}

static bool wait_lsr(uint8_t bit)
{
	for (unsigned i = 0; i < POLL_LIMIT; i++) {
		if (inb(COM1 + UART_LSR) & bit)
			return true;
		cpu_relax();
	}
	return false;
}

void guest_putc(char c)
{
	wait_lsr(LSR_THRE);
	outb(COM1 + UART_THR, (uint8_t)c);
}

void guest_serial_write(const void *buf, size_t n)
{
	const char *p = buf;

	if (!fifo_on) {
		while (n--)
			guest_putc(*p++);
		return;
	}
	while (n) {
		size_t chunk = n < FIFO_SIZE ? n : FIFO_SIZE;

		wait_lsr(LSR_THRE);
		outsb(COM1 + UART_THR, p, chunk);
		p += chunk;
		n -= chunk;
	}
}

void guest_puts(const char *s)
{
	guest_serial_write(s, strlen(s));
	guest_putc('\n');
}

void guest_serial_flush(void)
{
	wait_lsr(LSR_TEMT);
}
