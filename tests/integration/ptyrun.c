/* ptyrun: runs `basalt run ...` on a pseudo-terminal, like a person at a
 * terminal would, and checks the console's terminal handling:
 *   - while the guest runs, the terminal is in raw mode (no ICANON/ECHO/ISIG);
 *   - Ctrl-A x quits basalt with status 130;
 *   - afterwards the terminal settings are exactly what they were before.
 *
 *   ptyrun MARKER BASALT run ARGS...
 * MARKER is a string the guest prints once it is running. */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];
static size_t used;

/* Reads what the child printed (echoing it) for up to ms; true once the
 * child's output contains marker. */
static int pump(int fd, const char *marker, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, ms) > 0) {
		ssize_t n = read(fd, buf + used, sizeof(buf) - 1 - used);

		if (n <= 0)
			return -1;
		fwrite(buf + used, 1, (size_t)n, stdout);
		used += (size_t)n;
		buf[used] = 0;
		if (used > sizeof(buf) / 2) {   /* keep the tail only */
			memmove(buf, buf + used - 1024, 1024);
			used = 1024;
		}
		if (marker && strstr(buf, marker))
			return 1;
	}
	return 0;
}

static const tcflag_t RAW_OFF = ICANON | ECHO | ISIG;

int main(int argc, char **argv)
{
	struct termios before, during, after;
	int master, status, fail = 0;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: ptyrun MARKER BASALT run ARGS...\n");
		return 2;
	}
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0) {
		perror("forkpty");
		return 2;
	}
	if (pid == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	tcgetattr(master, &before);
	if (pump(master, argv[1], 30000) != 1) {
		printf("\nFAIL: guest never printed '%s'\n", argv[1]);
		kill(pid, SIGKILL);
		return 1;
	}
	tcgetattr(master, &during);
	if (during.c_lflag & RAW_OFF) {
		printf("\nFAIL: terminal not in raw mode while the guest runs (lflag 0x%x)\n",
		       (unsigned)during.c_lflag);
		fail = 1;
	}
	if (write(master, "\001x", 2) != 2) {
		perror("write");
		return 2;
	}
	pump(master, NULL, 3000);
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 2;
	}
	tcgetattr(master, &after);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 130) {
		printf("\nFAIL: basalt ended with status 0x%x, expected exit 130\n", status);
		fail = 1;
	}
	if (after.c_lflag != before.c_lflag || after.c_iflag != before.c_iflag ||
	    after.c_oflag != before.c_oflag) {
		printf("\nFAIL: terminal not restored (lflag 0x%x, was 0x%x)\n",
		       (unsigned)after.c_lflag, (unsigned)before.c_lflag);
		fail = 1;
	}
	printf("\n%s: raw mode while running, Ctrl-A x -> 130, terminal restored\n",
	       fail ? "FAIL" : "PASS");
	return fail;
}
