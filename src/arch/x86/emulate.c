/* Table-driven fallbacks for instructions KVM's emulator cannot run.
 *
 * Decoding follows Intel SDM vol. 2A chapter 2 (instruction format):
 * legacy prefixes (2.1.1), REX (2.2.1), ModRM/SIB/displacement (2.1.5,
 * tables 2-1..2-3), RIP-relative addressing (2.2.1.6) and VEX (2.3.5).
 * Only the instructions in insn_table[] are recognised; everything else
 * is FALLBACK_UNKNOWN and the caller stops the VM with the bytes.
 *
 * The fallback works on a copy of the vCPU state and never touches the
 * guest except through x86_read_gva()/x86_write_gva().  Architectural
 * faults the instruction itself would raise (#UD, #NM, #GP(0) for reserved
 * MXCSR bits) are injected; a memory operand or instruction byte that
 * cannot be translated is FALLBACK_FAULT (no #PF is injected: the caller
 * has no way to set CR2).  Not modelled: segment limits and access rights,
 * page permissions, alignment checks, RFLAGS.TF/RF, CPUID feature bits. */
#include <endian.h>
#include <stdio.h>
#include <string.h>

#include "basalt/x86/emulate.h"
#include "basalt/x86/pagewalk.h"

#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_EM		(1ULL << 2)
#define CR0_TS		(1ULL << 3)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_OSXSAVE	(1ULL << 18)
#define EFER_LMA	(1ULL << 10)

#define RFLAGS_CF	(1ULL << 0)
#define RFLAGS_PF	(1ULL << 2)
#define RFLAGS_AF	(1ULL << 4)
#define RFLAGS_ZF	(1ULL << 6)
#define RFLAGS_SF	(1ULL << 7)
#define RFLAGS_OF	(1ULL << 11)
#define RFLAGS_VM	(1ULL << 17)
#define RFLAGS_AC	(1ULL << 18)

#define VEC_BP		3
#define VEC_UD		6
#define VEC_NM		7
#define VEC_GP		13

/* MXCSR bits a guest may set; KVM's kvm_fpu takes no more. */
#define MXCSR_WRITABLE	0x0000ffffU

enum cpu_mode { MODE_16, MODE_32, MODE_64 };
enum seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE };

/* One decoded instruction. */
struct insn {
	const uint8_t *b;
	unsigned n;             /* bytes available in b */
	unsigned p;             /* decode cursor == length so far */
	bool short_fetch;       /* needed a byte past a fetch that stopped early */
	enum cpu_mode mode;
	unsigned opsize, adsize;        /* bits */
	bool p66, p67, lock;
	uint8_t rep;            /* last of f2/f3, or 0 */
	enum seg seg;           /* override, or SEG_NONE */
	uint8_t rex;            /* 0x40..0x4f in 64-bit mode, else 0 */
	bool vex;
	unsigned vex_l, vex_vvvv;       /* vvvv as encoded (inverted) */
	uint8_t modrm;
	/* ModRM operands, once decoded */
	unsigned reg;           /* ModRM.reg with REX.R */
	bool mem;               /* r/m is memory (else rm_reg) */
	unsigned rm_reg;
	uint64_t lin;           /* linear address of the memory operand */
};

struct emu {
	const struct guest_mem *gm;
	struct x86_vcpu_state *st;
	struct insn *in;
};

typedef enum fallback_result emu_fn(struct emu *x);

enum modrm_kind { MODRM_NONE, MODRM_ANY, MODRM_MEM, MODRM_REG };
/* Prefix constraint: 66/f2/f3 (legacy or VEX.pp) double as opcode bits. */
enum pfx_rule {
	PFX_ANY,        /* ignored */
	PFX_NP,         /* none of 66, f2, f3 */
	PFX_F3,         /* f3 required, f2 not allowed, 66 is operand size */
};

struct insn_row {
	const char *name;
	uint8_t len;            /* opcode bytes, incl. 0f escape (implied by VEX) */
	uint8_t op[3];
	uint8_t mask;           /* applied to the last opcode byte (+r forms) */
	bool vex;               /* VEX form: VEX.L=0, VEX.vvvv=1111b */
	enum modrm_kind modrm;
	int8_t reg;             /* required ModRM.reg, or -1 */
	enum pfx_rule pfx;
	emu_fn *fn;
};

/* ---- helpers on the state copy ------------------------------------------- */

static __u64 *gpr(struct kvm_regs *r, unsigned n)
{
	switch (n & 15) {
	case 0: return &r->rax;
	case 1: return &r->rcx;
	case 2: return &r->rdx;
	case 3: return &r->rbx;
	case 4: return &r->rsp;
	case 5: return &r->rbp;
	case 6: return &r->rsi;
	case 7: return &r->rdi;
	case 8: return &r->r8;
	case 9: return &r->r9;
	case 10: return &r->r10;
	case 11: return &r->r11;
	case 12: return &r->r12;
	case 13: return &r->r13;
	case 14: return &r->r14;
	default: return &r->r15;
	}
}

static uint64_t size_mask(unsigned bits)
{
	return bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
}

static unsigned cpl(const struct x86_vcpu_state *st)
{
	if (!(st->sregs.cr0 & CR0_PE))
		return 0;
	if (st->regs.rflags & RFLAGS_VM)
		return 3;
	return st->sregs.cs.selector & 3;
}

static enum cpu_mode cpu_mode(const struct kvm_sregs *s, uint64_t rflags)
{
	if (!(s->cr0 & CR0_PE) || (rflags & RFLAGS_VM))
		return MODE_16;
	if ((s->efer & EFER_LMA) && s->cs.l)
		return MODE_64;
	return s->cs.db ? MODE_32 : MODE_16;
}

static enum fallback_result inject(struct emu *x, uint8_t vec, bool has_err,
				   uint32_t err)
{
	x->st->inject = true;
	x->st->inject_vector = vec;
	x->st->inject_has_error = has_err;
	x->st->inject_error = err;
	return FALLBACK_DONE;
}

/* Completes the instruction: IP wraps at the code segment's size. */
static enum fallback_result advance(struct emu *x)
{
	unsigned bits = x->in->mode == MODE_64 ? 64 : x->in->mode == MODE_32 ? 32 : 16;

	x->st->regs.rip = (x->st->regs.rip + x->in->p) & size_mask(bits);
	x->st->regs_dirty = true;
	return FALLBACK_DONE;
}

static bool read_op(struct emu *x, void *buf, unsigned len)
{
	return x86_read_gva(x->gm, &x->st->sregs, x->in->lin, buf, len) == len;
}

/* All-or-nothing: probe the whole range first so a store that crosses into
 * an unmapped page changes nothing. */
static bool write_op(struct emu *x, const void *buf, unsigned len)
{
	uint8_t probe[8];

	if (len > sizeof(probe) || !read_op(x, probe, len))
		return false;
	return x86_write_gva(x->gm, &x->st->sregs, x->in->lin, buf, len) == len;
}

/* ---- handlers ------------------------------------------------------------ */

/* INT3 (SDM 2A "INT n/INTO/INT3"): a trap, so the pushed RIP is the next
 * instruction. */
static enum fallback_result do_int3(struct emu *x)
{
	advance(x);
	return inject(x, VEC_BP, false, 0);
}

/* FWAIT: #NM if CR0.MP and CR0.TS, otherwise nothing to wait for (pending
 * x87 exceptions are left to the next x87 instruction). */
static enum fallback_result do_fwait(struct emu *x)
{
	uint64_t cr0 = x->st->sregs.cr0;

	if ((cr0 & CR0_MP) && (cr0 & CR0_TS))
		return inject(x, VEC_NM, false, 0);
	return advance(x);
}

/* CLAC/STAC: #UD at CPL > 0. */
static enum fallback_result set_ac(struct emu *x, bool on)
{
	if (cpl(x->st) > 0)
		return inject(x, VEC_UD, false, 0);
	if (on)
		x->st->regs.rflags |= RFLAGS_AC;
	else
		x->st->regs.rflags &= ~RFLAGS_AC;
	return advance(x);
}

static enum fallback_result do_clac(struct emu *x)
{
	return set_ac(x, false);
}

static enum fallback_result do_stac(struct emu *x)
{
	return set_ac(x, true);
}

/* SSE/AVX availability per SDM 2A tables 2-19/2-21 (exception classes):
 * legacy SSE #UD if CR0.EM or !CR4.OSFXSR, VEX #UD if !CR4.OSXSAVE; both
 * #NM if CR0.TS.  Returns true if it injected. */
static bool sse_fault(struct emu *x)
{
	const struct kvm_sregs *s = &x->st->sregs;

	if (x->in->vex ? !(s->cr4 & CR4_OSXSAVE) :
			 ((s->cr0 & CR0_EM) || !(s->cr4 & CR4_OSFXSR))) {
		inject(x, VEC_UD, false, 0);
		return true;
	}
	if (s->cr0 & CR0_TS) {
		inject(x, VEC_NM, false, 0);
		return true;
	}
	return false;
}

/* (V)LDMXCSR m32: #GP(0) on reserved bits, MXCSR unchanged. */
static enum fallback_result do_ldmxcsr(struct emu *x)
{
	uint32_t v;

	if (sse_fault(x))
		return FALLBACK_DONE;
	if (!read_op(x, &v, sizeof(v)))
		return FALLBACK_FAULT;
	v = le32toh(v);
	if (v & ~MXCSR_WRITABLE)
		return inject(x, VEC_GP, true, 0);
	x->st->fpu.mxcsr = v;
	x->st->fpu_dirty = true;
	return advance(x);
}

static enum fallback_result do_stmxcsr(struct emu *x)
{
	uint32_t v = htole32(x->st->fpu.mxcsr);

	if (sse_fault(x))
		return FALLBACK_DONE;
	if (!write_op(x, &v, sizeof(v)))
		return FALLBACK_FAULT;
	return advance(x);
}

/* POPCNT r, r/m (16/32/64-bit): ZF iff the source is 0; OF SF AF CF PF
 * cleared.  A 32-bit destination zero-extends, a 16-bit one merges. */
static enum fallback_result do_popcnt(struct emu *x)
{
	struct insn *in = x->in;
	struct kvm_regs *r = &x->st->regs;
	uint64_t m = size_mask(in->opsize), src = 0, cnt;
	__u64 *dst;

	if (in->mem) {
		if (!read_op(x, &src, in->opsize / 8))
			return FALLBACK_FAULT;
		src = le64toh(src);
	} else {
		src = *gpr(r, in->rm_reg);
	}
	src &= m;
	cnt = (uint64_t)__builtin_popcountll(src);
	dst = gpr(r, in->reg);
	if (in->opsize == 16)
		*dst = (*dst & ~0xffffULL) | cnt;
	else
		*dst = cnt;
	r->rflags &= ~(RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF |
		       RFLAGS_CF | RFLAGS_PF);
	if (!src)
		r->rflags |= RFLAGS_ZF;
	return advance(x);
}

/* ---- the table ----------------------------------------------------------- */

#define OP1(a)		.len = 1, .op = { (a) }
#define OP2(a, b)	.len = 2, .op = { (a), (b) }
#define OP3(a, b, c)	.len = 3, .op = { (a), (b), (c) }

static const struct insn_row insn_table[] = {
	{ "int3", OP1(0xcc), 0xff, false, MODRM_NONE, -1, PFX_ANY, do_int3 },
	{ "fwait", OP1(0x9b), 0xff, false, MODRM_NONE, -1, PFX_ANY, do_fwait },
	{ "clac", OP3(0x0f, 0x01, 0xca), 0xff, false, MODRM_NONE, -1, PFX_NP,
	  do_clac },
	{ "stac", OP3(0x0f, 0x01, 0xcb), 0xff, false, MODRM_NONE, -1, PFX_NP,
	  do_stac },
	{ "ldmxcsr", OP2(0x0f, 0xae), 0xff, false, MODRM_MEM, 2, PFX_NP,
	  do_ldmxcsr },
	{ "stmxcsr", OP2(0x0f, 0xae), 0xff, false, MODRM_MEM, 3, PFX_NP,
	  do_stmxcsr },
	{ "vldmxcsr", OP2(0x0f, 0xae), 0xff, true, MODRM_MEM, 2, PFX_NP,
	  do_ldmxcsr },
	{ "vstmxcsr", OP2(0x0f, 0xae), 0xff, true, MODRM_MEM, 3, PFX_NP,
	  do_stmxcsr },
	{ "popcnt", OP2(0x0f, 0xb8), 0xff, false, MODRM_ANY, -1, PFX_F3,
	  do_popcnt },
};

/* ---- decoder ------------------------------------------------------------- */

static bool peek(struct insn *in, unsigned off, uint8_t *v)
{
	if (in->p + off >= in->n) {
		/* Fewer than X86_MAX_INSN bytes means the fetch hit an
		 * unmapped byte; otherwise the instruction is too long. */
		if (in->n < X86_MAX_INSN)
			in->short_fetch = true;
		return false;
	}
	*v = in->b[in->p + off];
	return true;
}

static bool get(struct insn *in, void *v, unsigned len)
{
	uint8_t last;

	if (!peek(in, len - 1, &last))
		return false;
	memcpy(v, in->b + in->p, len);
	in->p += len;
	return true;
}

static void decode_prefixes(struct insn *in)
{
	uint8_t b;

	while (peek(in, 0, &b)) {
		switch (b) {
		case 0x26: in->seg = SEG_ES; break;
		case 0x2e: in->seg = SEG_CS; break;
		case 0x36: in->seg = SEG_SS; break;
		case 0x3e: in->seg = SEG_DS; break;
		case 0x64: in->seg = SEG_FS; break;
		case 0x65: in->seg = SEG_GS; break;
		case 0x66: in->p66 = true; break;
		case 0x67: in->p67 = true; break;
		case 0xf0: in->lock = true; break;
		case 0xf2: case 0xf3: in->rep = b; break;
		default:
			if (in->mode == MODE_64 && (b & 0xf0) == 0x40) {
				in->rex = b;
				in->p++;
				continue;
			}
			return;
		}
		/* REX only counts immediately before the opcode. */
		in->rex = 0;
		in->p++;
	}
}

/* VEX (SDM 2A 2.3.5).  Outside 64-bit mode c4/c5 are LES/LDS unless the
 * next byte has ModRM.mod == 3.  VEX after 66/f2/f3/f0/REX is #UD, which
 * we leave to the caller as unknown.  Writes the implied escape bytes to
 * esc and returns their count; 0 if not VEX; -1 to give up. */
static int decode_vex(struct insn *in, const struct kvm_sregs *s,
		      uint64_t rflags, uint8_t esc[2])
{
	uint8_t b0, b1, b2, rxb, map, wvlpp;

	if (!peek(in, 0, &b0) || (b0 != 0xc4 && b0 != 0xc5))
		return 0;
	if (!(s->cr0 & CR0_PE) || (rflags & RFLAGS_VM) || !peek(in, 1, &b1))
		return 0;
	if (in->mode != MODE_64 && (b1 & 0xc0) != 0xc0)
		return 0;
	if (in->p66 || in->rep || in->lock || in->rex)
		return -1;
	if (b0 == 0xc5) {
		rxb = (b1 & 0x80) | 0x60;   /* X, B implied 1 (inverted) */
		map = 1;
		wvlpp = b1 & 0x7f;
		in->p += 2;
	} else {
		if (!peek(in, 2, &b2))
			return -1;
		rxb = b1 & 0xe0;
		map = b1 & 0x1f;
		wvlpp = b2;
		in->p += 3;
	}
	in->vex = true;
	/* REX-equivalent bits; outside 64-bit mode they are ignored. */
	if (in->mode == MODE_64) {
		in->rex = 0x40 | ((~rxb >> 5) & 7);
		if (wvlpp & 0x80)
			in->rex |= 0x08;
	}
	in->vex_vvvv = (wvlpp >> 3) & 15;
	in->vex_l = (wvlpp >> 2) & 1;
	switch (wvlpp & 3) {
	case 1: in->p66 = true; break;
	case 2: in->rep = 0xf3; break;
	case 3: in->rep = 0xf2; break;
	}
	switch (map) {
	case 1: esc[0] = 0x0f; return 1;
	case 2: esc[0] = 0x0f; esc[1] = 0x38; return 2;
	case 3: esc[0] = 0x0f; esc[1] = 0x3a; return 2;
	default: return -1;
	}
}

static bool prefix_ok(const struct insn *in, enum pfx_rule rule)
{
	switch (rule) {
	case PFX_NP: return !in->p66 && !in->rep;
	case PFX_F3: return in->rep == 0xf3;
	default: return true;
	}
}

/* Finds the row for the opcode at in->p (after escape bytes esc[0..nesc)
 * implied by VEX) and consumes the opcode bytes, leaving in->modrm set if
 * the row has one (not consumed). */
static const struct insn_row *match_row(struct insn *in, const uint8_t *esc,
					unsigned nesc)
{
	for (size_t i = 0; i < sizeof(insn_table) / sizeof(insn_table[0]); i++) {
		const struct insn_row *row = &insn_table[i];
		unsigned k, from_stream;
		uint8_t b, modrm = 0;
		bool ok = true;

		if (row->vex != in->vex || row->len < nesc)
			continue;
		for (k = 0; k < nesc; k++)
			if (row->op[k] != esc[k])
				ok = false;
		from_stream = row->len - nesc;
		for (k = 0; ok && k < from_stream; k++) {
			uint8_t mask = k + 1 == from_stream ? row->mask : 0xff;

			if (!peek(in, k, &b) || (b & mask) != row->op[nesc + k])
				ok = false;
		}
		if (!ok || !prefix_ok(in, row->pfx))
			continue;
		if (row->vex && (in->vex_l != 0 || in->vex_vvvv != 15))
			continue;
		if (row->modrm != MODRM_NONE) {
			if (!peek(in, from_stream, &modrm))
				continue;
			if (row->modrm == MODRM_MEM && (modrm >> 6) == 3)
				continue;
			if (row->modrm == MODRM_REG && (modrm >> 6) != 3)
				continue;
			if (row->reg >= 0 && ((modrm >> 3) & 7) != (unsigned)row->reg)
				continue;
		}
		in->p += from_stream;
		in->modrm = modrm;
		return row;
	}
	return NULL;
}

static uint64_t seg_base(const struct kvm_sregs *s, enum seg seg)
{
	switch (seg) {
	case SEG_ES: return s->es.base;
	case SEG_CS: return s->cs.base;
	case SEG_SS: return s->ss.base;
	case SEG_FS: return s->fs.base;
	case SEG_GS: return s->gs.base;
	default: return s->ds.base;
	}
}

/* 16-bit addressing (SDM 2A table 2-1).  Returns false if bytes ran out. */
static bool decode_ea16(struct insn *in, struct kvm_regs *r,
			uint64_t *ea, enum seg *dseg)
{
	static const uint8_t base[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };  /* bx bp si di */
	static const int8_t index[8] = { 6, 7, 6, 7, -1, -1, -1, -1 };
	unsigned mod = in->modrm >> 6, rm = in->modrm & 7;
	int16_t d16 = 0;
	int8_t d8 = 0;
	uint64_t a;

	if (mod == 0 && rm == 6) {
		if (!get(in, &d16, 2))
			return false;
		*ea = le16toh((uint16_t)d16);
		*dseg = SEG_DS;
		return true;
	}
	a = *gpr(r, base[rm]);
	if (index[rm] >= 0)
		a += *gpr(r, (unsigned)index[rm]);
	if (mod == 1) {
		if (!get(in, &d8, 1))
			return false;
		a += (uint64_t)(int64_t)d8;
	} else if (mod == 2) {
		if (!get(in, &d16, 2))
			return false;
		a += (uint64_t)(int64_t)(int16_t)le16toh((uint16_t)d16);
	}
	*ea = a & 0xffff;
	*dseg = base[rm] == 5 ? SEG_SS : SEG_DS;
	return true;
}

/* 32/64-bit addressing with SIB (SDM 2A tables 2-2, 2-3, 2.2.1). */
static bool decode_ea32(struct insn *in, struct kvm_regs *r,
			uint64_t *ea, enum seg *dseg, bool *riprel)
{
	unsigned mod = in->modrm >> 6, rm = in->modrm & 7;
	unsigned rex_b = (in->rex & 1) << 3, rex_x = (in->rex & 2) << 2;
	int32_t d32 = 0;
	int8_t d8 = 0;
	uint64_t a = 0;

	*dseg = SEG_DS;
	*riprel = false;
	if (rm == 4) {
		uint8_t sib;
		unsigned scale, idx, base;

		if (!get(in, &sib, 1))
			return false;
		scale = sib >> 6;
		idx = ((sib >> 3) & 7) | rex_x;
		base = sib & 7;
		if (idx != 4)
			a += *gpr(r, idx) << scale;
		if (base == 5 && mod == 0) {
			if (!get(in, &d32, 4))
				return false;
			a += (uint64_t)(int64_t)(int32_t)le32toh((uint32_t)d32);
		} else {
			a += *gpr(r, base | rex_b);
			if (base == 4 || base == 5)
				*dseg = SEG_SS;
		}
	} else if (rm == 5 && mod == 0) {
		if (!get(in, &d32, 4))
			return false;
		a = (uint64_t)(int64_t)(int32_t)le32toh((uint32_t)d32);
		/* Relative to the next instruction; added by the caller once
		 * the length is known. */
		*riprel = in->mode == MODE_64;
	} else {
		a = *gpr(r, rm | rex_b);
		if (rm == 5)
			*dseg = SEG_SS;
	}
	if (mod == 1) {
		if (!get(in, &d8, 1))
			return false;
		a += (uint64_t)(int64_t)d8;
	} else if (mod == 2) {
		if (!get(in, &d32, 4))
			return false;
		a += (uint64_t)(int64_t)(int32_t)le32toh((uint32_t)d32);
	}
	*ea = a;
	return true;
}

/* Consumes ModRM (+SIB, displacement) and sets reg/rm_reg or lin. */
static bool decode_modrm(struct insn *in, struct x86_vcpu_state *st)
{
	const struct kvm_sregs *s = &st->sregs;
	uint64_t ea, base;
	enum seg dseg;
	bool riprel = false;

	in->p++;                /* the ModRM byte itself, already peeked */
	in->reg = ((in->modrm >> 3) & 7) | ((in->rex & 4) << 1);
	if ((in->modrm >> 6) == 3) {
		in->rm_reg = (in->modrm & 7) | ((in->rex & 1) << 3);
		return true;
	}
	in->mem = true;
	if (in->adsize == 16 ? !decode_ea16(in, &st->regs, &ea, &dseg) :
			       !decode_ea32(in, &st->regs, &ea, &dseg, &riprel))
		return false;
	/* None of our instructions has an immediate: in->p is the length. */
	if (riprel)
		ea += st->regs.rip + in->p;
	ea &= size_mask(in->adsize);
	if (in->seg != SEG_NONE)
		dseg = in->seg;
	if (in->mode == MODE_64) {
		/* Only FS and GS have a base in 64-bit mode (SDM 3A 3.4.4). */
		base = (dseg == SEG_FS || dseg == SEG_GS) ? seg_base(s, dseg) : 0;
		in->lin = ea + base;
	} else {
		in->lin = (ea + seg_base(s, dseg)) & 0xffffffffULL;
	}
	return true;
}

unsigned x86_fetch_insn(const struct guest_mem *gm, const struct kvm_sregs *s,
			uint64_t rip, uint8_t *buf, uint64_t *rip_gpa)
{
	uint64_t lin;

	/* CS.base is 0 in 64-bit mode (SDM 3A 3.4.4); elsewhere it applies
	 * and the linear address wraps at 4 GiB. */
	if ((s->efer & EFER_LMA) && s->cs.l)
		lin = rip;
	else
		lin = (s->cs.base + rip) & 0xffffffffULL;
	if (rip_gpa && x86_gva_to_gpa(gm, s, lin, rip_gpa) < 0)
		*rip_gpa = UINT64_MAX;
	return (unsigned)x86_read_gva(gm, s, lin, buf, X86_MAX_INSN);
}

enum fallback_result x86_fallback(const struct guest_mem *gm,
				  struct x86_vcpu_state *st,
				  struct fallback_info *info)
{
	struct insn in;
	struct emu x = { .gm = gm, .st = st, .in = &in };
	const struct insn_row *row;
	uint8_t esc[2];
	int nesc;

	memset(info, 0, sizeof(*info));
	info->nbytes = x86_fetch_insn(gm, &st->sregs, st->regs.rip, info->bytes,
				      &info->rip_gpa);
	if (info->nbytes == 0)
		return FALLBACK_FAULT;

	memset(&in, 0, sizeof(in));
	in.b = info->bytes;
	in.n = info->nbytes;
	in.seg = SEG_NONE;
	in.mode = cpu_mode(&st->sregs, st->regs.rflags);
	decode_prefixes(&in);
	if (in.mode == MODE_64) {
		in.opsize = (in.rex & 8) ? 64 : in.p66 ? 16 : 32;
		in.adsize = in.p67 ? 32 : 64;
	} else {
		unsigned def = in.mode == MODE_32 ? 32 : 16;

		in.opsize = in.p66 ? 48 - def : def;
		in.adsize = in.p67 ? 48 - def : def;
	}
	nesc = decode_vex(&in, &st->sregs, st->regs.rflags, esc);
	row = nesc < 0 || in.lock ? NULL : match_row(&in, esc, (unsigned)nesc);
	if (!row || (row->modrm != MODRM_NONE && !decode_modrm(&in, st)))
		return in.short_fetch ? FALLBACK_FAULT : FALLBACK_UNKNOWN;
	info->name = row->name;
	return row->fn(&x);
}

void x86_format_bytes(const uint8_t *b, unsigned n, char *out, size_t outlen)
{
	size_t used = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		size_t need = i ? 3 : 2;

		if (used + need + 1 > outlen)
			break;
		snprintf(out + used, outlen - used, i ? " %02x" : "%02x", b[i]);
		used += need;
	}
}
