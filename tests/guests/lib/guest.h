/* Runtime API of the freestanding test guests (see ../README.md).
 *
 * A guest is one .c file defining `int guest_main(void)`, which runs at CPL3
 * with IOPL=3 and IF=1; its return value (0..255) is written to the exit
 * port.  It may also define `void guest_ring0_init(void)`, which the runtime
 * calls once at CPL0 before leaving ring 0 for good: there is no way back
 * (no syscall/int from ring 3), so anything needing CPL0 (cpuid whose result
 * matters, lidt, MSRs) happens there and leaves its results in globals. */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basalt/guest_abi.h"
#include "x86.h"

#define GUEST_NORETURN __attribute__((noreturn))
#define GUEST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define GUEST_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Errors of the runtime calls that can fail (returned negated). */
#define GUEST_EINVAL 22
#define GUEST_ENOMEM 12
#define GUEST_EEXIST 17
#define GUEST_ERANGE 34

/* --- provided by the guest ------------------------------------------- */
int guest_main(void);
void guest_ring0_init(void) __attribute__((weak));

/* --- exit -------------------------------------------------------------- */
/* Drains the UART, writes code & 0xff to GUEST_EXIT_PORT and, if the VM is
 * still running, spins forever.  Any CPL. */
GUEST_NORETURN void guest_exit(int code);

/* --- serial console (COM1, polled) -------------------------------------- */
void guest_putc(char c);
/* Writes s followed by '\n', like puts(3). */
void guest_puts(const char *s);
/* Writes n bytes, 16 at a time with `rep outsb` once the FIFO is on. */
void guest_serial_write(const void *buf, size_t n);
/* Waits (bounded) until the transmitter is empty. */
void guest_serial_flush(void);

/* %d %i %u %x %X %p %s %c %%, flags '-' '0', width (number or *),
 * precision for %s, length modifiers hh h l ll z.  No floating point. */
int guest_printf(const char *fmt, ...) GUEST_PRINTF(1, 2);
int guest_vprintf(const char *fmt, va_list ap);
/* Always NUL-terminates when size > 0; returns the untruncated length. */
int guest_snprintf(char *buf, size_t size, const char *fmt, ...) GUEST_PRINTF(3, 4);
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* --- command line (PVH cmdline, copied at boot, at most 4095 bytes) ----- */
/* The whole command line ("" if the loader gave none). */
const char *guest_cmdline(void);
/* Value of the last `key=value` word ("" for a bare `key`), NULL if absent. */
const char *guest_cmdline_get(const char *key);
/* Integer value of key, def if absent.  Accepts decimal, 0x hex and a K/M/G
 * (binary) suffix; anything else prints an error and exits with
 * GUEST_EXIT_BAD_CMDLINE. */
uint64_t guest_cmdline_u64(const char *key, uint64_t def);
/* The parser behind guest_cmdline_u64: 0, or -GUEST_EINVAL / -GUEST_ERANGE. */
int guest_parse_u64(const char *s, uint64_t *out);

/* --- boot information ---------------------------------------------------- */
/* Physical address of the hvm_start_info the loader passed (validated). */
uint64_t guest_start_info_paddr(void);
/* CPUID.80000008H:EAX[7:0], read at CPL0 during boot (36 if absent). */
unsigned guest_maxphyaddr(void);

/* --- memory mapping --------------------------------------------------------
 * At boot 0..4 GiB is identity-mapped with 2 MiB pages, present, writable,
 * user; 3..4 GiB (PCI hole, LAPIC, I/O APIC) uncached.  guest_map_phys()
 * adds identity mappings above that from a small static pool of page-table
 * pages.  It only fills not-present entries, which needs no TLB flush, so it
 * works at either CPL. */
#define GUEST_MAP_UNCACHED 1u
/* Maps [pa, pa + size) rounded out to 2 MiB.  0, -GUEST_ERANGE (beyond
 * MAXPHYADDR or the 47-bit identity range), -GUEST_ENOMEM (pool exhausted),
 * -GUEST_EEXIST (part of the range already maps something else). */
int guest_map_phys(uint64_t pa, uint64_t size, unsigned flags);

/* --- interrupts and exceptions -------------------------------------------- */
/* What the entry stubs push (lowest address first).  Handlers run at CPL0
 * with IF=0 on the TSS.rsp0 stack; they may change rip to skip an insn. */
struct guest_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*guest_trap_handler)(struct guest_trap_frame *f);
/* Installs h for vector (0..255; NULL restores the default, which for
 * exceptions 0-31 prints vector, error code and RIP and exits with
 * GUEST_EXIT_UNEXPECTED_EXCEPTION, ignores GUEST_SPURIOUS_VECTOR and
 * otherwise exits with GUEST_EXIT_UNEXPECTED_INTERRUPT).  Interrupt
 * handlers must acknowledge the interrupt (guest_lapic_eoi()). */
int guest_trap_register(unsigned vector, guest_trap_handler h);

/* --- local APIC (xAPIC MMIO at 0xfee00000) --------------------------------- */
#define GUEST_LAPIC_BASE 0xfee00000ull
#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_PERIODIC (1u << 17)

uint32_t guest_lapic_read(unsigned reg);
void guest_lapic_write(unsigned reg, uint32_t v);
/* Software-enables the LAPIC with spurious vector GUEST_SPURIOUS_VECTOR. */
void guest_lapic_enable(void);
void guest_lapic_eoi(void);
/* Starts the timer: count ticks of the APIC bus clock divided by divide
 * (1, 2, 4, ..., 128), one-shot or periodic, raising vector. */
int guest_lapic_timer_start(uint8_t vector, uint32_t count, unsigned divide,
			    bool periodic);
void guest_lapic_timer_stop(void);

/* --- PCI configuration mechanism #1 (0xcf8/0xcfc) ---------------------------- */
/* off is rounded down to the access width; out-of-range bus/dev/fn/off read
 * as all-ones and writes are dropped. */
uint32_t guest_pci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint16_t guest_pci_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint8_t guest_pci_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off);
void guest_pci_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off,
		       uint32_t v);

/* ECAM: base from guest_pci_ecam_base() (0: none); off < 4096. */
uint32_t guest_pci_ecam_read32(uint64_t base, unsigned bus, unsigned dev,
			       unsigned fn, unsigned off);

/* --- virtio-pci (modern), polling driver (lib/virtio.c) ------------------------ */
struct guest_virtio {
	unsigned dev;                   /* bus 0 slot */
	uint64_t common, notify, isr, devcfg;   /* physical addresses */
	uint32_t notify_mult;
	uint16_t num_queues;
	uint64_t device_features;
	uint64_t features;              /* negotiated */
};

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define GUEST_VQ_MEM 16384              /* per queue, 4 KiB aligned */
#define GUEST_VQ_MAX 128                /* largest queue size */
#define GUEST_VQ_INDIRECT_MAX 4         /* longest chain put in an indirect table */
struct guest_vq {
	struct guest_virtio *v;
	unsigned index;
	uint16_t size, avail_idx, used_seen;
	uint16_t free_head, num_free;   /* free descriptors, linked by next */
	uint16_t kicked;                /* avail_idx at the last guest_vq_kick() */
	bool event_idx, indirect;       /* negotiated ring features */
	struct virtq_desc *desc;
	volatile uint16_t *avail;
	volatile uint8_t *used;
	struct virtq_desc *itab;        /* indirect tables, one per descriptor */
	uint64_t notify_addr;
	uint64_t notifications;         /* notify writes so far */
	uint8_t chain_n[GUEST_VQ_MAX];  /* ring descriptors per head in flight */
};

struct guest_vbuf {
	void *addr;
	uint32_t len;
	bool device_writes;
};

/* The nth device with this virtio device ID on bus 0; turns on memory
 * decoding and bus mastering and locates the capabilities. */
int guest_virtio_find(uint16_t virtio_id, unsigned nth, struct guest_virtio *v);
/* Reset, ACKNOWLEDGE, DRIVER, features (want & offered, plus VERSION_1),
 * FEATURES_OK (checked).  *got = v->features = what was accepted.  With
 * bits 28 (INDIRECT_DESC) and 29 (EVENT_IDX) accepted, the queues use them. */
int guest_virtio_negotiate(struct guest_virtio *v, uint64_t want, uint64_t *got);
/* Queue q with size entries (power of two <= GUEST_VQ_MAX) in mem
 * (GUEST_VQ_MEM bytes, 4 KiB aligned), enabled. */
int guest_vq_init(struct guest_virtio *v, unsigned q, struct guest_vq *vq,
		  void *mem, uint16_t size);
void guest_virtio_driver_ok(struct guest_virtio *v);
uint8_t guest_virtio_status(const struct guest_virtio *v);
/* Makes a chain of n buffers available (not yet notified): its head
 * descriptor id, which is vq->free_head at the call (callers may index
 * per-request memory by it), or -GUEST_ENOMEM if too few descriptors are
 * free.  Chains
 * of 2..GUEST_VQ_INDIRECT_MAX buffers go in an indirect table when
 * negotiated. */
int guest_vq_add(struct guest_vq *vq, const struct guest_vbuf *b, unsigned n);
/* Notifies the device of everything added since the last kick unless it
 * suppressed notifications; whether it notified. */
bool guest_vq_kick(struct guest_vq *vq);
/* One used element: 1 with its head id and length (its descriptors are
 * free again), 0 if there is none, -GUEST_EINVAL if the device returned an
 * id that is not a head in flight (the element is consumed). */
int guest_vq_poll(struct guest_vq *vq, uint16_t *id, uint32_t *len);
/* guest_vq_poll() until an element arrives: its length, -1 after
 * timeout_cycles TSC cycles, -2 for a bad id. */
int64_t guest_vq_wait(struct guest_vq *vq, uint16_t *id, uint64_t timeout_cycles);
/* Runs one chain of n buffers and polls for its completion: the used
 * length, or -1 after a 20 s (or so) timeout or another chain's completion. */
int64_t guest_vq_run(struct guest_vq *vq, const struct guest_vbuf *b, unsigned n);

/* --- ACPI ------------------------------------------------------------------------ */
/* Physical address of the ACPI table with signature sig (checksum
 * verified), found through the PVH start info's RSDP or the BIOS-area scan;
 * 0 if absent. */
uint64_t guest_acpi_find(const char sig[4]);
/* Base of the ECAM window for segment 0 from the MCFG table; 0 if none. */
uint64_t guest_pci_ecam_base(void);

/* --- time ----------------------------------------------------------------------- */
/* Spins (pause) for at least cycles TSC cycles. */
void guest_delay_tsc(uint64_t cycles);

/* --- freestanding libc subset (the compiler may emit calls to these) ---------- */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
