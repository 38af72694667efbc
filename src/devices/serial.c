/* 16550A UART model (register semantics per the TI/National PC16550D
 * datasheet, "Register Description" and "Interrupt Identification").
 *
 * Transmission is instantaneous: a THR write hands the byte to the sink
 * (or, in loopback, to the RX FIFO), so THRE and TEMT always read 1 and the
 * THR-empty interrupt condition is raised again after every write.  Reading
 * IIR while it reports THR-empty clears that condition, as on a real 16550.
 * The RX FIFO is always 16 bytes; trigger levels and the character timeout
 * are not modelled (data pending reports IIR 0x04).
 *
 * The PC wiring is modelled too: the UART's INTR pin reaches the ISA IRQ
 * line only while MCR.OUT2 is set.  The line is edge-triggered on the PIC /
 * I/O APIC, so the level is recomputed after every access and irq.set is
 * called only on a change. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/devices/serial.h"

/* Register offsets (DLAB = LCR bit 7 selects DLL/DLM at 0/1). */
#define UART_RBR 0	/* read, DLAB=0 */
#define UART_THR 0	/* write, DLAB=0 */
#define UART_DLL 0	/* DLAB=1 */
#define UART_IER 1	/* DLAB=0 */
#define UART_DLM 1	/* DLAB=1 */
#define UART_IIR 2	/* read */
#define UART_FCR 2	/* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_NREGS 8

#define IER_ERBFI 0x01	/* received data available */
#define IER_ETBEI 0x02	/* THR empty */
#define IER_ELSI 0x04	/* receiver line status */
#define IER_EDSSI 0x08	/* modem status */
#define IER_MASK 0x0f

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTA 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	pthread_mutex_t lock;
	serial_sink_fn sink;
	void *sink_ctx;
	/* A transmitted byte waiting to be handed to the sink once the lock is
	 * dropped: a slow sink (stalled stdout) must not hold the UART lock,
	 * or the input path and the VM's stop path would wait behind it. */
	bool tx_have;
	uint8_t tx_byte;
	struct irq_line irq;
	int irq_level;		/* last level given to irq.set */

	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool fifo_on;		/* FCR bit 0 */
	bool oe;		/* LSR.OE, sticky until LSR is read */
	bool thri;		/* THR-empty interrupt condition pending */
	uint8_t msr_delta;	/* MSR bits 3:0 */
	uint8_t msr_lines;	/* MSR bits 7:4 as last computed */

	uint8_t rx[SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;	/* ring: rx_count <= SERIAL_RX_FIFO */
};

/* MSR status lines: in loopback they follow MCR (DTR->DSR, RTS->CTS,
 * OUT1->RI, OUT2->DCD); otherwise the "cable" reports CTS, DSR and DCD. */
static uint8_t msr_lines(const struct serial *s)
{
	uint8_t v = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	if (s->mcr & MCR_DTR)
		v |= MSR_DSR;
	if (s->mcr & MCR_RTS)
		v |= MSR_CTS;
	if (s->mcr & MCR_OUT1)
		v |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		v |= MSR_DCD;
	return v;
}

/* Latches the MSR delta bits for a change of the status lines. */
static void update_msr(struct serial *s)
{
	uint8_t now = msr_lines(s), chg = now ^ s->msr_lines;

	if (chg & MSR_CTS)
		s->msr_delta |= MSR_DCTS;
	if (chg & MSR_DSR)
		s->msr_delta |= MSR_DDSR;
	if (chg & MSR_DCD)
		s->msr_delta |= MSR_DDCD;
	if ((chg & MSR_RI) && !(now & MSR_RI))	/* trailing edge only */
		s->msr_delta |= MSR_TERI;
	s->msr_lines = now;
}

/* Highest-priority pending interrupt, as IIR bits 3:0. */
static uint8_t pending_iid(const struct serial *s)
{
	if ((s->ier & IER_ELSI) && s->oe)
		return IIR_RLSI;
	if ((s->ier & IER_ERBFI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_ETBEI) && s->thri)
		return IIR_THRI;
	if ((s->ier & IER_EDSSI) && s->msr_delta)
		return IIR_MSI;
	return IIR_NO_INT;
}

static void update_irq(struct serial *s)
{
	int level = pending_iid(s) != IIR_NO_INT && (s->mcr & MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(&s->irq, level);
	}
}

static void rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

/* Pushes one byte; on a full FIFO the byte is lost and OE is set. */
static bool rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_count >= SERIAL_RX_FIFO) {
		s->oe = true;
		return false;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = b;
	s->rx_count++;
	return true;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t b;

	if (!s->rx_count)
		return 0;
	b = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	return b;
}

static void transmit(struct serial *s, uint8_t b)
{
	if (s->mcr & MCR_LOOP)
		rx_push(s, b);
	else if (s->sink) {
		s->tx_byte = b;
		s->tx_have = true;
	}
	/* The byte left THR at once: THR is empty again. */
	s->thri = true;
}

static uint8_t reg_read(struct serial *s, unsigned off)
{
	uint8_t v, iid;

	switch (off) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		return rx_pop(s);
	case UART_IER:
		if (s->lcr & LCR_DLAB)
			return s->dlm;
		return s->ier;
	case UART_IIR:
		iid = pending_iid(s);
		if (iid == IIR_THRI)
			s->thri = false;
		return iid | (s->fifo_on ? IIR_FIFO_ON : 0);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT;
		if (s->rx_count)
			v |= LSR_DR;
		if (s->oe)
			v |= LSR_OE;
		s->oe = false;
		return v;
	case UART_MSR:
		v = s->msr_lines | s->msr_delta;
		s->msr_delta = 0;
		return v;
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

static void reg_write(struct serial *s, unsigned off, uint8_t v)
{
	switch (off) {
	case UART_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			transmit(s, v);
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling ETBEI while THR is empty (always, here) raises
		 * the THR-empty interrupt; Linux's UART_BUG_THRE probe relies
		 * on it being re-asserted after a disable/enable cycle. */
		if ((v & IER_ETBEI) && !(s->ier & IER_ETBEI))
			s->thri = true;
		s->ier = v & IER_MASK;
		break;
	case UART_FCR:
		/* Toggling the FIFO enable resets both FIFOs. */
		if (!!(v & FCR_ENABLE) != s->fifo_on || (v & FCR_CLEAR_RX))
			rx_clear(s);
		s->fifo_on = v & FCR_ENABLE;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & MCR_MASK;
		update_msr(s);
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		/* LSR and MSR writes are factory-test only: ignored. */
		break;
	}
}

static void serial_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct serial *s = dev;
	uint8_t *d = data;

	if (!len)
		return;
	memset(d, 0, len);
	if (off >= UART_NREGS) {
		d[0] = 0xff;
		return;
	}
	pthread_mutex_lock(&s->lock);
	d[0] = reg_read(s, (unsigned)off);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *dev, uint64_t off, const void *data,
			 unsigned len)
{
	struct serial *s = dev;
	bool have;
	uint8_t b;

	if (!len || off >= UART_NREGS)
		return;
	pthread_mutex_lock(&s->lock);
	reg_write(s, (unsigned)off, *(const uint8_t *)data);
	update_irq(s);
	have = s->tx_have;
	b = s->tx_byte;
	s->tx_have = false;
	pthread_mutex_unlock(&s->lock);
	if (have)
		s->sink(s->sink_ctx, &b, 1);
}

const struct bus_dev_ops serial_ops = {
	.name = "serial",
	.read = serial_read,
	.write = serial_write,
};

struct serial *serial_new(serial_sink_fn sink, void *sink_ctx,
			  struct irq_line irq)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL)) {
		free(s);
		return NULL;
	}
	s->sink = sink;
	s->sink_ctx = sink_ctx;
	s->irq = irq;
	s->msr_lines = msr_lines(s);
	/* Power-on divisor 12 = 9600 baud, like a PC BIOS leaves it. */
	s->dll = 12;
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Bytes that do not fit stay with the caller.  A call that finds the FIFO
 * already full models a character arriving with no room: OE is set (the
 * guest sees an overrun) but the byte is still left for a later retry. */
size_t serial_rx(struct serial *s, const uint8_t *buf, size_t n)
{
	size_t i = 0;

	if (!n)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (s->rx_count >= SERIAL_RX_FIFO)
		s->oe = true;
	while (i < n && s->rx_count < SERIAL_RX_FIFO)
		rx_push(s, buf[i++]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return i;
}

size_t serial_rx_room(struct serial *s)
{
	size_t room;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_RX_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return room;
}
