/* The sandbox: what a guest that took over a basalt thread could still do.
 *
 * Once every file, /dev/kvm and socket is open, basalt
 *   1. optionally jails itself (--jail DIR): new mount namespace, pivot_root
 *      into DIR, then setresgid/setresuid to --gid/--uid;
 *   2. drops every capability (effective, permitted, inheritable, ambient and
 *      the bounding set) and sets no_new_privs;
 *   3. gives each thread a seccomp filter for its role, loaded by the thread
 *      itself: vCPU and I/O threads before they serve the guest, the main
 *      thread after it started them (a filter is per thread and inherited
 *      at clone).
 * A forbidden system call raises SIGSYS; the handler (async-signal-safe)
 * prints the call and the thread's role, restores the terminal and ends the
 * process with BS_EXIT_SECCOMP -- the one exit outside main(), because the
 * thread cannot safely continue. */
#ifndef BASALT_SANDBOX_H
#define BASALT_SANDBOX_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "basalt/err.h"

enum sb_role { SB_ROLE_MAIN, SB_ROLE_VCPU, SB_ROLE_IO, SB_NR_ROLES };
enum sb_mode { SB_MODE_ON, SB_MODE_LOG, SB_MODE_OFF };

struct sb_jail {
	const char *dir;         /* NULL: no jail */
	uid_t uid;
	gid_t gid;
	bool set_ids;
};

const char *sb_role_name(enum sb_role role);

/* Steps 1 and 2, on the main thread, before any other thread exists. */
int sandbox_restrict_process(const struct sb_jail *jail, enum sb_mode mode,
			     struct bs_err *e);
/* Step 3 for the calling thread. */
int sandbox_enter(enum sb_role role, enum sb_mode mode, struct bs_err *e);
/* The main thread may unlinkat() relative to dirfd, and nowhere else (the
 * control socket's directory, to remove the socket at exit).  Call before
 * the main thread's sandbox_enter(). */
void sandbox_allow_unlink_in(int dirfd);
/* The VM has passthrough devices: vCPU threads loaded from now on also
 * get the calls those need (memory slots and irqfds that follow the
 * guest's BAR and MSI-X programming, vfio-user messages, VFIO region
 * accesses and interrupt set-up).  Call before the vCPUs start. */
void sandbox_allow_passthrough(void);
/* Prints every role's allow list (basalt seccomp-dump); returns the number
 * of rules of each role in counts[] if non-NULL. */
void sandbox_dump(FILE *f, unsigned counts[SB_NR_ROLES]);

/* Test-only builds (-Dsandbox_selftest=true): with BASALT_SECCOMP_SELFTEST
 * naming a role, that thread makes a forbidden call once sandboxed. */
void sandbox_selftest_point(enum sb_role role);

#endif
