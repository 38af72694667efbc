/* What a device may ask of the VM: end it with a given process exit status
 * (poweroff, reset, exit device, ...).  The first request wins; later ones
 * are ignored.  Safe from any thread. */
#ifndef BASALT_VMCTL_H
#define BASALT_VMCTL_H

struct vm_ctl {
	void (*stop)(void *ctx, int exit_code, const char *why);
	void *ctx;
};

static inline void vm_ctl_stop(const struct vm_ctl *c, int code, const char *why)
{
	if (c && c->stop)
		c->stop(c->ctx, code, why);
}

#endif
