#include <check.h>
#include <string.h>

#include "basalt/devices/serial.h"
#include "fixtures.h"

/* Records what the UART does to its ISA line and its output. */
struct rec {
	int level, rises, falls, calls;
	unsigned gsi;
	uint8_t out[64];
	size_t nout;
};

static void rec_irq(void *ctx, unsigned gsi, int level)
{
	struct rec *r = ctx;

	r->calls++;
	r->gsi = gsi;
	if (level && !r->level)
		r->rises++;
	if (!level && r->level)
		r->falls++;
	r->level = level;
}

static void rec_sink(void *ctx, const uint8_t *buf, size_t len)
{
	struct rec *r = ctx;

	ck_assert_uint_le(r->nout + len, sizeof(r->out));
	memcpy(r->out + r->nout, buf, len);
	r->nout += len;
}

static struct rec R;
static struct serial *S;

static void setup(void)
{
	struct irq_line l = { rec_irq, &R, SERIAL_COM1_IRQ };

	memset(&R, 0, sizeof(R));
	S = serial_new(rec_sink, &R, l);
	ck_assert_ptr_nonnull(S);
}

static void teardown(void)
{
	serial_free(S);
	S = NULL;
}

static void wr(unsigned off, uint8_t v)
{
	serial_ops.write(S, off, &v, 1);
}

static uint8_t rd(unsigned off)
{
	uint8_t v = 0xee;

	serial_ops.read(S, off, &v, 1);
	return v;
}

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3,
       MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

START_TEST(tx_reaches_sink)
{
	wr(THR, 'h');
	wr(THR, 'i');
	wr(THR, '\n');
	ck_assert_uint_eq(R.nout, 3);
	ck_assert_mem_eq(R.out, "hi\n", 3);
	ck_assert_uint_eq(rd(LSR), 0x60);	/* THRE | TEMT */
	ck_assert_int_eq(R.calls, 0);		/* IER = 0: no interrupt */
	wr(SCR, 0x5a);
	ck_assert_uint_eq(rd(SCR), 0x5a);
	ck_assert_uint_eq(rd(IIR), 0x01);
}
END_TEST

START_TEST(dlab_divisor_latch)
{
	wr(IER, 0x05);
	wr(LCR, 0x83);			/* DLAB, 8N1 */
	wr(DLL, 0x01);
	wr(DLM, 0x02);
	ck_assert_uint_eq(rd(DLL), 0x01);
	ck_assert_uint_eq(rd(DLM), 0x02);
	ck_assert_uint_eq(R.nout, 0);	/* DLL write is not a THR write */
	wr(LCR, 0x03);
	ck_assert_uint_eq(rd(LCR), 0x03);
	ck_assert_uint_eq(rd(IER), 0x05);
	wr(IER, 0xff);
	ck_assert_uint_eq(rd(IER), 0x0f);	/* bits 4-7 read 0 */
	wr(THR, 'x');
	ck_assert_uint_eq(R.nout, 1);
	ck_assert_uint_eq(R.out[0], 'x');
	wr(LCR, 0x80);
	ck_assert_uint_eq(rd(DLL), 0x01);
	ck_assert_uint_eq(rd(DLM), 0x02);
}
END_TEST

START_TEST(loopback)
{
	ck_assert_uint_eq(rd(MSR), 0xb0);	/* DCD | DSR | CTS */
	/* The Linux 8250 probe: MCR = LOOP | OUT2 | RTS expects CTS | DCD. */
	wr(MCR, 0x1a);
	ck_assert_uint_eq(rd(MSR), 0x90 | 0x02);	/* DDSR: DSR dropped */
	ck_assert_uint_eq(rd(MSR), 0x90);		/* deltas cleared */
	wr(THR, 'A');
	ck_assert_uint_eq(R.nout, 0);		/* nothing leaves the chip */
	ck_assert_uint_eq(rd(LSR), 0x61);
	ck_assert_uint_eq(rd(RBR), 'A');
	ck_assert_uint_eq(rd(LSR), 0x60);
	wr(MCR, 0x1f);
	ck_assert_uint_eq(rd(MSR), 0xf0 | 0x02);
	wr(MCR, 0x1b);				/* RI falls: TERI */
	ck_assert_uint_eq(rd(MSR), 0xb0 | 0x04);
	wr(MCR, 0x10);
	ck_assert_uint_eq(rd(MSR), 0x00 | 0x0b);
	wr(MCR, 0x00);
	ck_assert_uint_eq(rd(MSR), 0xb0 | 0x0b);
	ck_assert_uint_eq(rd(MCR), 0x00);
	wr(THR, 'B');
	ck_assert_uint_eq(R.nout, 1);
	ck_assert_uint_eq(R.out[0], 'B');
}
END_TEST

START_TEST(iir_priorities)
{
	uint8_t fill[SERIAL_RX_FIFO];

	memset(fill, 'r', sizeof(fill));
	wr(FCR, 0x01);
	ck_assert_uint_eq(rd(IIR), 0xc1);
	wr(MCR, 0x08);
	wr(IER, 0x0f);
	ck_assert_uint_eq(rd(IIR), 0xc2);	/* THR empty; read clears it */
	ck_assert_uint_eq(rd(IIR), 0xc1);
	ck_assert_uint_eq(serial_rx(S, fill, 1), 1);
	ck_assert_uint_eq(rd(IIR), 0xc4);
	ck_assert_uint_eq(serial_rx(S, fill, 16), 15);
	ck_assert_uint_eq(serial_rx(S, fill, 1), 0);	/* overrun */
	wr(THR, 'x');				/* THR empty again */
	ck_assert_uint_eq(rd(IIR), 0xc6);	/* line status wins */
	ck_assert_uint_eq(rd(IIR), 0xc6);
	ck_assert_uint_eq(rd(LSR), 0x63);	/* DR | OE | THRE | TEMT */
	ck_assert_uint_eq(rd(IIR), 0xc4);	/* then RX data */
	for (int i = 0; i < SERIAL_RX_FIFO; i++)
		ck_assert_uint_eq(rd(RBR), 'r');
	ck_assert_uint_eq(rd(IIR), 0xc2);	/* still pending under RX */
	wr(MCR, 0x18);				/* loopback: modem lines move */
	ck_assert_uint_eq(rd(IIR), 0xc0);	/* modem status */
	rd(MSR);
	ck_assert_uint_eq(rd(IIR), 0xc1);
	wr(FCR, 0x00);
	ck_assert_uint_eq(rd(IIR), 0x01);	/* FIFO bits off */
}
END_TEST

START_TEST(thre_interrupt)
{
	wr(MCR, 0x08);				/* OUT2: line enabled */
	ck_assert_int_eq(R.calls, 0);
	wr(IER, 0x02);				/* ETBEI with THR empty */
	ck_assert_int_eq(R.level, 1);
	ck_assert_uint_eq(R.gsi, SERIAL_COM1_IRQ);
	ck_assert_uint_eq(rd(IIR), 0x02);
	ck_assert_int_eq(R.level, 0);
	rd(LSR);
	rd(IIR);				/* no change: no call */
	ck_assert_int_eq(R.calls, 2);
	wr(THR, 'a');				/* after each write */
	ck_assert_int_eq(R.level, 1);
	wr(THR, 'b');				/* still pending: no new call */
	ck_assert_int_eq(R.calls, 3);
	ck_assert_uint_eq(rd(IIR), 0x02);
	ck_assert_int_eq(R.level, 0);
	/* Disable and re-enable re-asserts it (Linux UART_BUG_THRE test). */
	wr(IER, 0x00);
	wr(IER, 0x02);
	ck_assert_int_eq(R.level, 1);
	/* OUT2 gates the line but not the pending state. */
	wr(MCR, 0x00);
	ck_assert_int_eq(R.level, 0);
	wr(MCR, 0x08);
	ck_assert_int_eq(R.level, 1);
	wr(IER, 0x00);
	ck_assert_int_eq(R.level, 0);
	ck_assert_int_eq(R.rises, 4);
	ck_assert_int_eq(R.falls, 4);
	ck_assert_int_eq(R.calls, 8);
	ck_assert_uint_eq(R.nout, 2);
	ck_assert_mem_eq(R.out, "ab", 2);
}
END_TEST

START_TEST(rx_fifo)
{
	const uint8_t in[] = "0123456789abcdefghij";

	ck_assert_uint_eq(serial_rx_room(S), SERIAL_RX_FIFO);
	ck_assert_uint_eq(serial_rx(S, in, 20), 16);
	ck_assert_uint_eq(serial_rx_room(S), 0);
	ck_assert_uint_eq(rd(LSR), 0x61);	/* partial fit is no overrun */
	ck_assert_uint_eq(serial_rx(S, in + 16, 4), 0);
	ck_assert_uint_eq(rd(LSR), 0x63);
	ck_assert_uint_eq(rd(LSR), 0x61);	/* OE clears on read */
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(rd(RBR), in[i]);
	ck_assert_uint_eq(rd(LSR), 0x60);
	ck_assert_uint_eq(rd(RBR), 0);		/* empty FIFO */
	ck_assert_uint_eq(serial_rx_room(S), SERIAL_RX_FIFO);
	/* Wrap around the ring. */
	ck_assert_uint_eq(serial_rx(S, in + 16, 4), 4);
	ck_assert_uint_eq(rd(RBR), 'g');
	ck_assert_uint_eq(serial_rx(S, in, 13), 13);
	ck_assert_uint_eq(serial_rx_room(S), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(rd(RBR), in[17 + i]);
	for (int i = 0; i < 13; i++)
		ck_assert_uint_eq(rd(RBR), in[i]);
	/* FCR clear-RX empties the FIFO. */
	ck_assert_uint_eq(serial_rx(S, in, 3), 3);
	wr(FCR, 0x03);
	ck_assert_uint_eq(rd(LSR), 0x60);
	ck_assert_uint_eq(serial_rx_room(S), SERIAL_RX_FIFO);
	ck_assert_int_eq(R.calls, 0);		/* IER = 0 throughout */
}
END_TEST

START_TEST(rx_interrupt)
{
	const uint8_t in[] = "xy";

	wr(IER, 0x01);
	ck_assert_uint_eq(serial_rx(S, in, 2), 2);
	ck_assert_int_eq(R.calls, 0);		/* OUT2 off */
	wr(MCR, 0x0b);
	ck_assert_int_eq(R.level, 1);
	ck_assert_uint_eq(rd(RBR), 'x');
	ck_assert_int_eq(R.level, 1);
	ck_assert_uint_eq(rd(RBR), 'y');
	ck_assert_int_eq(R.level, 0);
	ck_assert_uint_eq(serial_rx(S, in, 1), 1);
	ck_assert_int_eq(R.level, 1);
	ck_assert_int_eq(R.rises, 2);
	ck_assert_int_eq(R.falls, 1);
	ck_assert_int_eq(R.calls, 3);
}
END_TEST

START_TEST(wide_access)
{
	uint32_t v = 0x41424344, out = 0xffffffff;

	serial_ops.write(S, THR, &v, 4);	/* first byte only */
	ck_assert_uint_eq(R.nout, 1);
	ck_assert_uint_eq(R.out[0], 0x44);
	serial_ops.read(S, LSR, &out, 4);
	ck_assert_uint_eq(out, 0x60);
	serial_ops.read(S, 8, &out, 1);		/* outside the range */
	ck_assert_uint_eq(out, 0xff);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("16550a");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tx_reaches_sink);
	tcase_add_test(tc, dlab_divisor_latch);
	tcase_add_test(tc, loopback);
	tcase_add_test(tc, iir_priorities);
	tcase_add_test(tc, thre_interrupt);
	tcase_add_test(tc, rx_fifo);
	tcase_add_test(tc, rx_interrupt);
	tcase_add_test(tc, wide_access);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
