/* Shared by the mmio_unmapped and beyond_ram guests: probes physical
 * addresses that nothing backs.  Reads must return all-ones (what a PC
 * returns for a master abort) and writes must vanish. */
#ifndef GUEST_PROBE_H
#define GUEST_PROBE_H

#include "guest.h"

/* Reads 32-, 16- and 8-bit at several offsets of [base, base + 2 MiB),
 * writes a pattern and reads again.  Every value must equal the all-ones
 * value of its width, or `expect=` (a 32-bit value; narrower reads compare
 * against its low bytes) when given.  Prints each mismatch and a summary
 * line "<name>: N reads, M mismatches"; returns the mismatch count. */
unsigned guest_probe_unbacked(const char *name, uint64_t base);

#endif
