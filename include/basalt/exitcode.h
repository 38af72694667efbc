/* basalt process exit status.  Documented in README.md ("Exit status").
 * The exit-status device (issue 3) lets a guest choose any 0..255 value
 * instead; these are what basalt itself reports. */
#ifndef BASALT_EXITCODE_H
#define BASALT_EXITCODE_H

enum bs_exit {
	BS_EXIT_POWEROFF = 0,    /* guest powered off (ACPI S5) */
	BS_EXIT_ERROR = 1,       /* VMM error at run time (KVM ioctl failed, ...) */
	BS_EXIT_USAGE = 2,       /* bad flag / config / missing file: no VM created */
	BS_EXIT_RESET = 3,       /* guest reset: reboot, panic with panic=-1 */
	BS_EXIT_SHUTDOWN = 4,    /* triple fault (KVM_EXIT_SHUTDOWN) */
	BS_EXIT_EMULATION = 5,   /* KVM_EXIT_INTERNAL_ERROR the VMM could not bridge */
	BS_EXIT_SECCOMP = 6,     /* forbidden system call (sandbox) */
	BS_EXIT_SHUTDOWN_DEADLINE = 7,  /* control-socket shutdown: the guest did not
					 * power off before the deadline; stopped */
	BS_EXIT_TIMEOUT = 124,   /* --timeout expired (same value as timeout(1)) */
	BS_EXIT_QUIT = 130,      /* user quit: Ctrl-A x, SIGINT, SIGTERM */
};

#endif
