#include <string.h>

#include "basalt/bus.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_dev_ops *ops, void *dev, struct bs_err *e)
{
	unsigned pos;

	if (len == 0 || base + len < base)
		return bs_errf(e, EINVAL, "%s bus: bad range 0x%llx+0x%llx for %s",
			       b->name, (unsigned long long)base,
			       (unsigned long long)len, ops->name);
	if (b->nr == BUS_MAX_RANGES)
		return bs_errf(e, ENOSPC, "%s bus: too many devices (%s)",
			       b->name, ops->name);
	for (pos = 0; pos < b->nr && b->r[pos].base < base; pos++)
		;
	if ((pos > 0 && b->r[pos - 1].base + b->r[pos - 1].len > base) ||
	    (pos < b->nr && base + len > b->r[pos].base)) {
		const struct bus_range *o =
			(pos > 0 && b->r[pos - 1].base + b->r[pos - 1].len > base) ?
			&b->r[pos - 1] : &b->r[pos];

		return bs_errf(e, EBUSY, "%s bus: %s at 0x%llx overlaps %s at 0x%llx",
			       b->name, ops->name, (unsigned long long)base,
			       o->ops->name, (unsigned long long)o->base);
	}
	memmove(&b->r[pos + 1], &b->r[pos], (b->nr - pos) * sizeof(b->r[0]));
	b->r[pos] = (struct bus_range){ base, len, ops, dev };
	b->nr++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	unsigned lo = 0, hi = b->nr;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct bus_range *r = &b->r[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_dispatch(const struct bus *b, bool is_write, uint64_t addr,
		  void *data, unsigned len)
{
	const struct bus_range *r = bus_find(b, addr);

	/* An access must lie entirely inside one device's range. */
	if (!r || len == 0 || len > 8 || addr - r->base + len > r->len) {
		if (!is_write)
			memset(data, 0xff, len > 8 ? 8 : len);
		return false;
	}
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->dev, addr - r->base, data, len);
	} else if (r->ops->read) {
		r->ops->read(r->dev, addr - r->base, data, len);
	} else {
		memset(data, 0xff, len);
	}
	return true;
}
