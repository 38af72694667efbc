#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "basalt/console.h"
#include "basalt/exitcode.h"
#include "basalt/log.h"
#include "basalt/sandbox.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define SB_SANITIZER 1
#else
#define SB_SANITIZER 0
#endif

/* One allow-list row: a system call, optionally restricted to argument
 * arg == one of vals (ioctl request numbers, mmap/mprotect protections). */
struct sb_rule {
	int nr;
	const char *name;
	unsigned nvals;
	const unsigned long *vals;
	unsigned arg;
};

#define ALLOW(sc) { SCMP_SYS(sc), #sc, 0, NULL, 0 }
#define ALLOW_ARG(sc, n, list) \
	{ SCMP_SYS(sc), #sc, sizeof(list) / sizeof(list[0]), list, n }
#define ALLOW_ARG1(sc, list) ALLOW_ARG(sc, 1, list)

/* vCPU threads: KVM_RUN and the exits they handle (register access for
 * reports and instruction fallbacks, KVM_IRQ_LINE from device models,
 * KVM_SET_GSI_ROUTING when the guest programs an MSI-X vector,
 * KVM_IOEVENTFD when it moves a virtio BAR), console output, stop requests
 * (eventfd write, pthread_kill), waiting for a device reset to drain. */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_GET_FPU,
	KVM_SET_FPU, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_IRQ_LINE,
	KVM_SET_GSI_ROUTING, KVM_IOEVENTFD,
};
static const struct sb_rule vcpu_rules[] = {
	ALLOW_ARG1(ioctl, vcpu_ioctls),
	ALLOW(write), ALLOW(futex), ALLOW(rt_sigreturn), ALLOW(rt_sigprocmask),
	ALLOW(tgkill), ALLOW(getpid), ALLOW(gettid), ALLOW(madvise),
	ALLOW(munmap), ALLOW(exit), ALLOW(exit_group), ALLOW(sched_yield),
	ALLOW(restart_syscall), ALLOW(clock_gettime),
};

/* vCPU threads of a VM with passthrough devices, on top: memory slots
 * that follow BARs, irqfds bound and unbound as the guest masks vectors,
 * eventfd reads (pending bits of masked vectors), vfio-user messages
 * (trapped accesses, interrupt set-up), VFIO region accesses, interrupt
 * set-up and reset. */
static const unsigned long vcpu_pt_ioctls[] = {
	KVM_IRQFD, KVM_SET_USER_MEMORY_REGION, VFIO_DEVICE_SET_IRQS, VFIO_DEVICE_RESET,
};
static const struct sb_rule vcpu_pt_rules[] = {
	ALLOW_ARG1(ioctl, vcpu_pt_ioctls),
	ALLOW(read), ALLOW(sendmsg), ALLOW(recvmsg), ALLOW(pread64), ALLOW(pwrite64),
};
static bool passthrough;

void sandbox_allow_passthrough(void)
{
	passthrough = true;
}

/* Main thread: the main loop (poll, signalfd/stdin/eventfd reads, console
 * input raising the UART interrupt with KVM_IRQ_LINE), vCPU joins, teardown
 * (munmap/close), stats, terminal restore; the control socket (accept4,
 * SO_PEERCRED, the power button's KVM_IRQ_LINE) and, at exit, removing it:
 * unlinkat only relative to its directory's fd (sandbox_allow_unlink_in). */
static const unsigned long main_ioctls[] = {
	TCGETS, TCSETS, TCSETSW, TCSETSF, KVM_IRQ_LINE,
};
static unsigned long main_unlink_dirfd[] = { (unsigned long)-1 };
static const struct sb_rule main_rules[] = {
	ALLOW_ARG1(ioctl, main_ioctls),
	ALLOW(poll), ALLOW(ppoll), ALLOW(read), ALLOW(write), ALLOW(futex),
	ALLOW(close), ALLOW(munmap), ALLOW(madvise), ALLOW(mmap), ALLOW(brk),
	ALLOW(rt_sigprocmask), ALLOW(rt_sigreturn), ALLOW(rt_sigaction),
	ALLOW(tgkill), ALLOW(getpid), ALLOW(gettid), ALLOW(newfstatat),
	ALLOW(fstat), ALLOW(getrusage), ALLOW(clock_gettime), ALLOW(exit),
	ALLOW(exit_group), ALLOW(restart_syscall), ALLOW(sched_yield),
	ALLOW(accept4), ALLOW(getsockopt), ALLOW_ARG(unlinkat, 0, main_unlink_dirfd),
};

void sandbox_allow_unlink_in(int dirfd)
{
	main_unlink_dirfd[0] = (unsigned long)(long)dirfd;
}

/* I/O threads (io_uring loops serving devices): the ring, eventfd reads
 * and writes (notifications in, interrupts out through irqfds), packets
 * (readv/writev on taps, TUNSETOFFLOAD/TUNSETQUEUE), poll (the
 * loop's mode without io_uring), the synchronous block engine's calls, and memory for requests -- mappings
 * never executable. */
static const unsigned long io_prot[] = {
	PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
};
/* virtio-net: the offloads the guest negotiated, queue pairs it enables. */
static const unsigned long io_ioctls[] = { TUNSETOFFLOAD, TUNSETQUEUE };
static const struct sb_rule io_rules[] = {
	ALLOW(io_uring_enter), ALLOW(poll), ALLOW(read), ALLOW(write), ALLOW(preadv),
	ALLOW(readv), ALLOW(writev), ALLOW_ARG1(ioctl, io_ioctls),
	ALLOW(pwritev), ALLOW(pread64), ALLOW(pwrite64), ALLOW(fdatasync),
	ALLOW(fallocate), ALLOW(futex), ALLOW_ARG(mmap, 2, io_prot), ALLOW_ARG(mprotect, 2, io_prot),
	ALLOW(munmap), ALLOW(madvise), ALLOW(brk), ALLOW(rt_sigprocmask),
	ALLOW(rt_sigreturn), ALLOW(gettid), ALLOW(getpid), ALLOW(tgkill),
	ALLOW(clock_gettime), ALLOW(exit), ALLOW(exit_group), ALLOW(restart_syscall),
};

/* What the sanitizer runtimes need on top (reports read /proc/self/maps,
 * LeakSanitizer stops the world with a ptrace helper at exit).  Only in
 * ASan/UBSan builds. */
static const struct sb_rule sanitizer_rules[] = {
	ALLOW(mmap), ALLOW(mprotect), ALLOW(sigaltstack), ALLOW(prctl),
	ALLOW(openat), ALLOW(read), ALLOW(close), ALLOW(lseek), ALLOW(readlink),
	ALLOW(sched_getaffinity), ALLOW(clone), ALLOW(clone3), ALLOW(ptrace),
	ALLOW(wait4), ALLOW(waitid), ALLOW(getppid), ALLOW(rt_sigaction),
	ALLOW(rt_sigtimedwait), ALLOW(pipe2), ALLOW(getrlimit), ALLOW(prlimit64),
	ALLOW(newfstatat), ALLOW(fstat), ALLOW(nanosleep), ALLOW(clock_nanosleep),
	ALLOW(kill), ALLOW(setrlimit), ALLOW(execve), ALLOW(dup2), ALLOW(dup3),
	ALLOW(getdents64), ALLOW(open), ALLOW(getdents),
};

static const struct {
	const char *name;
	const struct sb_rule *rules;
	unsigned n;
} roles[SB_NR_ROLES] = {
	[SB_ROLE_MAIN] = { "main", main_rules, sizeof(main_rules) / sizeof(main_rules[0]) },
	[SB_ROLE_VCPU] = { "vcpu", vcpu_rules, sizeof(vcpu_rules) / sizeof(vcpu_rules[0]) },
	[SB_ROLE_IO] = { "io", io_rules, sizeof(io_rules) / sizeof(io_rules[0]) },
};

const char *sb_role_name(enum sb_role role)
{
	return role < SB_NR_ROLES ? roles[role].name : "?";
}

/* --- SIGSYS: report and end -------------------------------------------- */

#define SB_MAX_NR 512
static char sc_names[SB_MAX_NR][24];      /* filled before any filter */
static __thread int cur_role = -1;

static void put(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) < 0) {
		/* nothing left to try */
	}
}

static void put_num(long v)
{
	char b[24];
	int i = sizeof(b) - 1;

	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	put(b + i);
}

static void put_hex(unsigned long v)
{
	char b[20];
	int i = sizeof(b) - 1;

	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v && i > 2);
	b[--i] = 'x';
	b[--i] = '0';
	put(b + i);
}

static void sigsys_handler(int sig, siginfo_t *si, void *ucv)
{
	int nr = si->si_syscall;
	const ucontext_t *uc = ucv;

	(void)sig;
	console_restore_terminal();
	put("\r\nbasalt: error: seccomp: forbidden system call ");
	put_num(nr);
	if (nr >= 0 && nr < SB_MAX_NR && sc_names[nr][0]) {
		put(" (");
		put(sc_names[nr]);
		put(")");
	}
	put(" in ");
	put(cur_role >= 0 ? sb_role_name((enum sb_role)cur_role) : "unsandboxed");
	put(" thread");
#ifdef __x86_64__
	/* The first arguments tell which ioctl or which file it was. */
	put(" (args ");
	put_hex((unsigned long)uc->uc_mcontext.gregs[REG_RDI]);
	put(", ");
	put_hex((unsigned long)uc->uc_mcontext.gregs[REG_RSI]);
	put(")");
#else
	(void)uc;
#endif
	put("\n");
	_exit(BS_EXIT_SECCOMP);
}

static void fill_names(void)
{
	for (int nr = 0; nr < SB_MAX_NR; nr++) {
		char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (n) {
			strncpy(sc_names[nr], n, sizeof(sc_names[nr]) - 1);
			free(n);
		}
	}
}

/* --- process-wide restrictions ----------------------------------------- */

static int enter_jail(const struct sb_jail *j, struct bs_err *e)
{
	if (!j->dir)
		return 0;
	/* A private mount namespace whose root is DIR; the old root is
	 * detached.  Everything the VM needs was opened before this point. */
	if (unshare(CLONE_NEWNS) < 0)
		return bs_errf(e, errno, "jail: unshare(CLONE_NEWNS): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(j->dir, j->dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return bs_errf(e, errno, "jail: cannot bind '%s': %s", j->dir,
			       strerror(errno));
	if (chdir(j->dir) < 0)
		return bs_errf(e, errno, "jail: cannot enter '%s': %s", j->dir,
			       strerror(errno));
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
			return bs_errf(e, errno, "jail: detaching the old root: %s",
				       strerror(errno));
	} else if (errno == EINVAL) {
		/* The root is an initramfs (rootfs cannot be pivoted): move
		 * DIR over / and chroot, as switch_root does.  With every
		 * capability dropped right after, there is no way back out. */
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
		    chdir("/") < 0)
			return bs_errf(e, errno, "jail: cannot make '%s' the root: %s",
				       j->dir, strerror(errno));
		log_info("jail: root file system is rootfs; used MS_MOVE + chroot");
	} else {
		return bs_errf(e, errno, "jail: pivot_root into '%s': %s", j->dir,
			       strerror(errno));
	}
	if (j->set_ids) {
		if (setgroups(0, NULL) < 0 || setresgid(j->gid, j->gid, j->gid) < 0 ||
		    setresuid(j->uid, j->uid, j->uid) < 0)
			return bs_errf(e, errno, "jail: cannot become uid %u gid %u: %s",
				       (unsigned)j->uid, (unsigned)j->gid, strerror(errno));
	}
	return 0;
}

static int drop_capabilities(struct bs_err *e)
{
	cap_t none;
	int r;

	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL &&
		    errno != EPERM)
			return bs_errf(e, errno, "sandbox: cannot drop capability %d "
				       "from the bounding set: %s", c, strerror(errno));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	none = cap_init();
	if (!none)
		return bs_errf(e, ENOMEM, "sandbox: cap_init failed");
	r = cap_set_proc(none);
	cap_free(none);
	if (r < 0)
		return bs_errf(e, errno, "sandbox: cannot drop capabilities: %s",
			       strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return bs_errf(e, errno, "sandbox: PR_SET_NO_NEW_PRIVS: %s",
			       strerror(errno));
	return 0;
}

int sandbox_restrict_process(const struct sb_jail *jail, enum sb_mode mode,
			     struct bs_err *e)
{
	struct sigaction sa;
	int r;

	/* libc opens files lazily: the first gmtime_r() reads /etc/localtime
	 * (the RTC calls it on a vCPU thread).  Do it now, while open() is
	 * allowed and the file is still in reach. */
	tzset();
	r = enter_jail(jail, e);
	if (r)
		return r;
	r = drop_capabilities(e);
	if (r || mode == SB_MODE_OFF)
		return r;
	fill_names();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return bs_errf(e, errno, "sandbox: sigaction(SIGSYS): %s", strerror(errno));
	return 0;
}

/* --- per-thread filters ------------------------------------------------ */

static int add_rules(scmp_filter_ctx ctx, const struct sb_rule *rules, unsigned n,
		     struct bs_err *e)
{
	for (unsigned i = 0; i < n; i++) {
		const struct sb_rule *ru = &rules[i];
		int r = 0;

		if (ru->nr < 0)
			continue;       /* not on this architecture */
		if (!ru->nvals) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, ru->nr, 0);
		} else {
			for (unsigned v = 0; v < ru->nvals && !r; v++)
				r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, ru->nr, 1,
						     SCMP_CMP64(ru->arg, SCMP_CMP_EQ, ru->vals[v]));
		}
		/* -EEXIST: the sanitizer list repeats a call already allowed
		 * (possibly with argument checks, which then become moot). */
		if (r && r != -EEXIST)
			return bs_errf(e, -r, "seccomp: cannot allow %s: %s", ru->name,
				       strerror(-r));
	}
	return 0;
}

int sandbox_enter(enum sb_role role, enum sb_mode mode, struct bs_err *e)
{
	scmp_filter_ctx ctx;
	int r;

	cur_role = (int)role;
	if (mode == SB_MODE_OFF)
		return 0;
	ctx = seccomp_init(mode == SB_MODE_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx)
		return bs_errf(e, ENOMEM, "seccomp: init failed");
	r = add_rules(ctx, roles[role].rules, roles[role].n, e);
	if (!r && role == SB_ROLE_VCPU && passthrough)
		r = add_rules(ctx, vcpu_pt_rules,
			      sizeof(vcpu_pt_rules) / sizeof(vcpu_pt_rules[0]), e);
	if (!r && SB_SANITIZER)
		r = add_rules(ctx, sanitizer_rules,
			      sizeof(sanitizer_rules) / sizeof(sanitizer_rules[0]), e);
	if (!r) {
		r = seccomp_load(ctx);
		if (r)
			r = bs_errf(e, -r, "seccomp: loading the %s filter: %s",
				    sb_role_name(role), strerror(-r));
	}
	seccomp_release(ctx);
	if (!r)
		sandbox_selftest_point(role);
	return r;
}

void sandbox_dump(FILE *f, unsigned counts[SB_NR_ROLES])
{
	for (unsigned ro = 0; ro < SB_NR_ROLES; ro++) {
		fprintf(f, "%s: %u system calls\n", roles[ro].name, roles[ro].n);
		for (unsigned i = 0; i < roles[ro].n; i++) {
			const struct sb_rule *ru = &roles[ro].rules[i];

			fprintf(f, "  %s", ru->name);
			for (unsigned v = 0; v < ru->nvals; v++) {
				if (v)
					fprintf(f, "|0x%lx", ru->vals[v]);
				else
					fprintf(f, " arg%u=0x%lx", ru->arg, ru->vals[v]);
			}
			fputc('\n', f);
		}
		if (counts)
			counts[ro] = roles[ro].n;
	}
	/* The ioctl row adds requests to vCPU's ioctl; the others are new calls. */
	fprintf(f, "vcpu, with passthrough devices: %zu more system calls\n",
		sizeof(vcpu_pt_rules) / sizeof(vcpu_pt_rules[0]) - 1);
	for (unsigned i = 0; i < sizeof(vcpu_pt_rules) / sizeof(vcpu_pt_rules[0]); i++) {
		const struct sb_rule *ru = &vcpu_pt_rules[i];

		fprintf(f, "  %s", ru->name);
		for (unsigned v = 0; v < ru->nvals; v++) {
			if (v)
				fprintf(f, "|0x%lx", ru->vals[v]);
			else
				fprintf(f, " arg%u=0x%lx", ru->arg, ru->vals[v]);
		}
		fputc('\n', f);
	}
	if (SB_SANITIZER)
		fprintf(f, "(sanitizer build: %zu more calls for the sanitizer runtime)\n",
			sizeof(sanitizer_rules) / sizeof(sanitizer_rules[0]));
}

#ifdef BASALT_SANDBOX_SELFTEST
void sandbox_selftest_point(enum sb_role role)
{
	const char *want = getenv("BASALT_SECCOMP_SELFTEST");

	/* Test-only: a call no role allows, made once the filter is on. */
	if (want && !strcmp(want, sb_role_name(role)))
		syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
}
#else
void sandbox_selftest_point(enum sb_role role)
{
	(void)role;
}
#endif
