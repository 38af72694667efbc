/* pci: scans bus 0 through configuration mechanism #1 and prints each
 * function as "pci 00:DD.F VVVV:DDDD class CC/SS/PP"; then, if the ACPI MCFG
 * table announces an ECAM window, reads every function's ID and class
 * through it too and compares.  Exit 0 if 00:00.0 is a host bridge (class
 * 0x06, subclass 0x00) and ECAM (when present) agrees with CAM, else 1.
 * Cmdline "ecam=1" makes an absent ECAM a failure. */
#include "lib/guest.h"

int guest_main(void)
{
	bool host_bridge = false;
	unsigned found = 0, agree = 0, differ = 0;
	uint64_t ecam = guest_pci_ecam_base();

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
			if (ecam) {
				uint32_t eid = guest_pci_ecam_read32(ecam, 0, dev, fn, 0x00);
				uint32_t ecl = guest_pci_ecam_read32(ecam, 0, dev, fn, 0x08);

				if (eid == id && ecl == class) {
					agree++;
				} else {
					differ++;
					guest_printf("pci 00:%02x.%u: ECAM reads %08x/%08x, "
						     "CAM %08x/%08x\n", dev, fn, eid, ecl,
						     id, class);
				}
			}
			hdr = guest_pci_read8(0, dev, fn, 0x0e);
			if (fn == 0 && !(hdr & 0x80))
				break;	/* single-function device */
		}
	}
	guest_printf("pci: %u functions on bus 0, host bridge at 00:00.0: %s\n",
		     found, host_bridge ? "yes" : "no");
	if (ecam) {
		/* An absent function reads all-ones through ECAM as well. */
		if (guest_pci_ecam_read32(ecam, 0, 31, 7, 0x00) != 0xffffffff &&
		    guest_pci_read32(0, 31, 7, 0x00) == 0xffffffff) {
			guest_printf("pci: ECAM: absent 00:1f.7 does not read all-ones\n");
			differ++;
		}
		guest_printf("pci: ECAM at 0x%llx: %u functions agree with CAM, %u differ\n",
			     (unsigned long long)ecam, agree, differ);
	} else {
		guest_printf("pci: no ECAM (no ACPI MCFG table)\n");
		if (guest_cmdline_u64("ecam", 0))
			return GUEST_EXIT_FAIL;
	}
	return host_bridge && !differ ? GUEST_EXIT_PASS : GUEST_EXIT_FAIL;
}
