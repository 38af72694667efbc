/* pci: scans bus 0 through configuration mechanism #1 and prints each
 * function as "pci 00:DD.F VVVV:DDDD class CC/SS/PP".  Exit 0 if 00:00.0 is
 * a host bridge (class 0x06, subclass 0x00), else 1. */
#include "lib/guest.h"

int guest_main(void)
{
	bool host_bridge = false;
	unsigned found = 0;

	for (unsigned dev = 0; dev < 32; dev++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t id = guest_pci_read32(0, dev, fn, 0x00);
			uint32_t class = guest_pci_read32(0, dev, fn, 0x08);
			uint8_t hdr;

			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			found++;
			guest_printf("pci 00:%02x.%u %04x:%04x class %02x/%02x/%02x\n",
				     dev, fn, id & 0xffff, id >> 16, class >> 24,
				     (class >> 16) & 0xff, (class >> 8) & 0xff);
			if (dev == 0 && fn == 0 && class >> 24 == 0x06 &&
			    ((class >> 16) & 0xff) == 0x00)
				host_bridge = true;
			hdr = guest_pci_read8(0, dev, fn, 0x0e);
			if (fn == 0 && !(hdr & 0x80))
				break;	/* single-function device */
		}
	}
	guest_printf("pci: %u functions on bus 0, host bridge at 00:00.0: %s\n",
		     found, host_bridge ? "yes" : "no");
	return host_bridge ? GUEST_EXIT_PASS : GUEST_EXIT_FAIL;
}
