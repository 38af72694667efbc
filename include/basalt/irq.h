/* How a device raises a legacy interrupt line.  The VM wires this to
 * KVM_IRQ_LINE; unit tests wire it to a recorder. */
#ifndef BASALT_IRQ_H
#define BASALT_IRQ_H

struct irq_line {
	void (*set)(void *ctx, unsigned gsi, int level);
	void *ctx;
	unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l->set)
		l->set(l->ctx, l->gsi, level);
}

#endif
