/* MC146818A CMOS RTC (Motorola datasheet, "Address Map" and registers
 * A-D) plus the PC/AT CMOS NVRAM memory-size bytes.
 *
 * The time registers are not stored: every read converts now() + offset
 * (UTC) to the format register B asks for.  A guest write to a time
 * register moves the offset, so the guest's clock keeps running from the
 * value it set.  While register B's SET bit is on, the clock is frozen in
 * a snapshot that writes edit; clearing SET commits the snapshot, so a
 * guest setting all fields under SET (as Linux does) gets them exactly.
 * No update/alarm/periodic interrupt is generated: UIP reads 0 and
 * register C reads 0. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "basalt/devices/rtc.h"
#include "basalt/log.h"

#define RTC_NREGS 128

#define RTC_SEC 0x00
#define RTC_SEC_ALARM 0x01
#define RTC_MIN 0x02
#define RTC_MIN_ALARM 0x03
#define RTC_HOUR 0x04
#define RTC_HOUR_ALARM 0x05
#define RTC_WDAY 0x06
#define RTC_MDAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

#define REG_A_UIP 0x80
#define REG_A_DEFAULT 0x26	/* 32.768 kHz time base, 1024 Hz rate */
#define REG_B_SET 0x80
#define REG_B_DM 0x04		/* 1 = binary, 0 = BCD */
#define REG_B_24H 0x02
#define REG_B_DEFAULT REG_B_24H
#define REG_D_VRT 0x80
#define HOUR_PM 0x80

/* PC/AT CMOS memory-size bytes (little endian). */
#define CMOS_BASE_MEM 0x15	/* 0x15/0x16: KiB below 640 KiB */
#define CMOS_EXT_MEM 0x17	/* 0x17/0x18: KiB above 1 MiB */
#define CMOS_EXT_MEM2 0x30	/* 0x30/0x31: same, as POST reports it */
#define CMOS_MEM_16M 0x34	/* 0x34/0x35: 64 KiB units above 16 MiB */
#define CMOS_MEM_4G 0x5b	/* 0x5b..0x5d: 64 KiB units above 4 GiB */

#define KiB 1024ull
#define MiB (1024ull * KiB)

struct rtc {
	pthread_mutex_t lock;
	time_t (*now)(void);
	uint8_t index;
	uint8_t reg[RTC_NREGS];	/* alarms, A, B, NVRAM; time regs unused */
	time_t offset;		/* guest clock - host clock, seconds */
	bool frozen;		/* register B SET on: use snap */
	struct tm snap;
};

static time_t host_now(struct rtc *r)
{
	return r->now ? r->now() : time(NULL);
}

static void guest_tm(struct rtc *r, struct tm *tm)
{
	time_t t;

	if (r->frozen) {
		*tm = r->snap;
		return;
	}
	t = host_now(r) + r->offset;
	if (!gmtime_r(&t, tm))
		memset(tm, 0, sizeof(*tm));
}

/* Moves the offset so the guest clock reads tm now. */
static void set_guest_tm(struct rtc *r, struct tm *tm)
{
	time_t t = timegm(tm);

	if (t == (time_t)-1) {
		log_debug("rtc: guest set an unrepresentable time, ignored");
		return;
	}
	r->offset = t - host_now(r);
}

static uint8_t to_reg(const struct rtc *r, unsigned v)
{
	if (r->reg[RTC_REG_B] & REG_B_DM)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) % 10) << 4 | v % 10);
}

/* Returns -1 for a byte that is not a valid BCD number. */
static int from_reg(const struct rtc *r, uint8_t v)
{
	if (r->reg[RTC_REG_B] & REG_B_DM)
		return v;
	if ((v >> 4) > 9 || (v & 0xf) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t read_hour(const struct rtc *r, int h)
{
	int h12;

	if (r->reg[RTC_REG_B] & REG_B_24H)
		return to_reg(r, (unsigned)h);
	h12 = h % 12 ? h % 12 : 12;
	return to_reg(r, (unsigned)h12) | (h >= 12 ? HOUR_PM : 0);
}

/* Returns the 0..23 hour for a register value, or -1 if invalid. */
static int write_hour(const struct rtc *r, uint8_t v)
{
	int h;

	if (r->reg[RTC_REG_B] & REG_B_24H) {
		h = from_reg(r, v);
		return h >= 0 && h <= 23 ? h : -1;
	}
	h = from_reg(r, v & ~HOUR_PM);
	if (h < 1 || h > 12)
		return -1;
	return (h % 12) + (v & HOUR_PM ? 12 : 0);
}

static uint8_t read_time_reg(struct rtc *r, unsigned idx)
{
	struct tm tm;
	int year;

	guest_tm(r, &tm);
	year = tm.tm_year + 1900;
	switch (idx) {
	case RTC_SEC:
		return to_reg(r, (unsigned)tm.tm_sec);
	case RTC_MIN:
		return to_reg(r, (unsigned)tm.tm_min);
	case RTC_HOUR:
		return read_hour(r, tm.tm_hour);
	case RTC_WDAY:
		return to_reg(r, (unsigned)tm.tm_wday + 1);	/* Sunday = 1 */
	case RTC_MDAY:
		return to_reg(r, (unsigned)tm.tm_mday);
	case RTC_MONTH:
		return to_reg(r, (unsigned)tm.tm_mon + 1);
	case RTC_YEAR:
		return to_reg(r, (unsigned)(year % 100));
	default:	/* RTC_CENTURY */
		return to_reg(r, (unsigned)(year / 100));
	}
}

/* Applies a guest write to one time field; out-of-range values are
 * dropped (the datasheet leaves them undefined). */
static void write_time_reg(struct rtc *r, unsigned idx, uint8_t v)
{
	struct tm tm;
	int x, year;

	guest_tm(r, &tm);
	year = tm.tm_year + 1900;
	x = idx == RTC_HOUR ? write_hour(r, v) : from_reg(r, v);
	switch (idx) {
	case RTC_SEC:
		if (x < 0 || x > 59)
			goto bad;
		tm.tm_sec = x;
		break;
	case RTC_MIN:
		if (x < 0 || x > 59)
			goto bad;
		tm.tm_min = x;
		break;
	case RTC_HOUR:
		if (x < 0)
			goto bad;
		tm.tm_hour = x;
		break;
	case RTC_WDAY:
		return;		/* derived from the date */
	case RTC_MDAY:
		if (x < 1 || x > 31)
			goto bad;
		tm.tm_mday = x;
		break;
	case RTC_MONTH:
		if (x < 1 || x > 12)
			goto bad;
		tm.tm_mon = x - 1;
		break;
	case RTC_YEAR:
		if (x < 0 || x > 99)
			goto bad;
		tm.tm_year = year / 100 * 100 + x - 1900;
		break;
	default:	/* RTC_CENTURY */
		if (x < 0 || x > 99)
			goto bad;
		tm.tm_year = x * 100 + year % 100 - 1900;
		break;
	}
	if (r->frozen) {
		/* Keep the fields as written; normalise at commit. */
		r->snap = tm;
		return;
	}
	set_guest_tm(r, &tm);
	return;
bad:
	log_debug("rtc: ignoring invalid value 0x%02x for register 0x%02x",
		  v, idx);
}

static bool is_time_reg(unsigned idx)
{
	return idx <= RTC_YEAR && idx != RTC_SEC_ALARM &&
	       idx != RTC_MIN_ALARM && idx != RTC_HOUR_ALARM;
}

static uint8_t cmos_read(struct rtc *r, unsigned idx)
{
	if (is_time_reg(idx) || idx == RTC_CENTURY)
		return read_time_reg(r, idx);
	switch (idx) {
	case RTC_REG_A:
		return r->reg[RTC_REG_A] & ~REG_A_UIP;
	case RTC_REG_C:
		return 0;	/* no interrupt flags; reading clears them */
	case RTC_REG_D:
		return REG_D_VRT;
	}
	return r->reg[idx];
}

static void cmos_write(struct rtc *r, unsigned idx, uint8_t v)
{
	if (is_time_reg(idx) || idx == RTC_CENTURY) {
		write_time_reg(r, idx, v);
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		r->reg[idx] = v & ~REG_A_UIP;
		return;
	case RTC_REG_B:
		if ((v & REG_B_SET) && !r->frozen) {
			guest_tm(r, &r->snap);
			r->frozen = true;
		} else if (!(v & REG_B_SET) && r->frozen) {
			r->frozen = false;
			set_guest_tm(r, &r->snap);
		}
		r->reg[idx] = v;
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return;		/* read-only */
	}
	r->reg[idx] = v;
}

static void rtc_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct rtc *r = dev;
	uint8_t *d = data;

	if (!len)
		return;
	memset(d, 0, len);
	if (off != 1) {
		d[0] = 0xff;	/* the index port is write-only */
		return;
	}
	pthread_mutex_lock(&r->lock);
	d[0] = cmos_read(r, r->index);
	pthread_mutex_unlock(&r->lock);
}

static void rtc_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct rtc *r = dev;
	uint8_t v = *(const uint8_t *)data;

	if (!len || off > 1)
		return;
	pthread_mutex_lock(&r->lock);
	if (off == 0)
		r->index = v & 0x7f;	/* bit 7 is the NMI mask: ignored */
	else
		cmos_write(r, r->index, v);
	pthread_mutex_unlock(&r->lock);
}

const struct bus_dev_ops rtc_ops = {
	.name = "rtc",
	.read = rtc_read,
	.write = rtc_write,
};

static void put16(uint8_t *p, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* low_mem: end of RAM below 4 GiB; high_mem: bytes of RAM above 4 GiB. */
static void fill_mem_size(struct rtc *r, uint64_t low_mem, uint64_t high_mem)
{
	uint64_t ext = low_mem > MiB ? (low_mem - MiB) / KiB : 0;
	uint64_t above16 = low_mem > 16 * MiB ? (low_mem - 16 * MiB) / (64 * KiB) : 0;
	uint64_t above4g = high_mem / (64 * KiB);

	put16(&r->reg[CMOS_BASE_MEM], 640);
	put16(&r->reg[CMOS_EXT_MEM], ext);
	put16(&r->reg[CMOS_EXT_MEM2], ext);
	put16(&r->reg[CMOS_MEM_16M], above16);
	if (above4g > 0xffffff)
		above4g = 0xffffff;
	r->reg[CMOS_MEM_4G] = (uint8_t)above4g;
	r->reg[CMOS_MEM_4G + 1] = (uint8_t)(above4g >> 8);
	r->reg[CMOS_MEM_4G + 2] = (uint8_t)(above4g >> 16);
}

struct rtc *rtc_new(time_t (*now)(void), uint64_t low_mem, uint64_t high_mem)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (pthread_mutex_init(&r->lock, NULL)) {
		free(r);
		return NULL;
	}
	r->now = now;
	r->reg[RTC_REG_A] = REG_A_DEFAULT;
	r->reg[RTC_REG_B] = REG_B_DEFAULT;
	fill_mem_size(r, low_mem, high_mem);
	return r;
}

void rtc_free(struct rtc *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}
