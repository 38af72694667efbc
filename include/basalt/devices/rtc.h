/* MC146818-compatible CMOS RTC at ports 0x70/0x71 (index/data), IRQ 8.
 * Time registers read the host's UTC clock (BCD or binary per register B,
 * 12/24h), update-in-progress bit, register A/B/C/D; CMOS bytes 0x0e..0x7f
 * are plain NVRAM (memory size fields filled by the VMM).  Interrupts
 * (periodic/alarm/update) are not generated; register C reads 0. */
#ifndef BASALT_DEVICES_RTC_H
#define BASALT_DEVICES_RTC_H

#include <stdint.h>
#include <time.h>

#include "basalt/bus.h"

#define RTC_PORT_BASE 0x70

struct rtc;

/* now() is the time source (NULL = time(NULL)); tests pass a fixed clock. */
struct rtc *rtc_new(time_t (*now)(void), uint64_t low_mem, uint64_t high_mem);
void rtc_free(struct rtc *r);

extern const struct bus_dev_ops rtc_ops;

#endif
