#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basalt/x86/host.h"

bool x86_host_is_pvm(const char *sysfs_root)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/module/kvm_pvm",
		 sysfs_root ? sysfs_root : "/sys");
	return access(path, F_OK) == 0;
}

/* true if word (up to '=' or space) already appears as an option in s. */
static bool has_option(const char *s, const char *word, size_t wlen)
{
	for (const char *p = s; p && *p;) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " =");
		if (n == wlen && !strncmp(p, word, wlen))
			return true;
		p += strcspn(p, " ");
	}
	return false;
}

char *x86_host_adapt_cmdline(const char *base, bool pvm, bool is_linux,
			     unsigned tsc_khz)
{
	char add[sizeof(X86_LINUX_PLATFORM_CMDLINE " " X86_PVM_LINUX_CMDLINE) + 32];
	size_t cap;
	char *out;

	if (pvm && tsc_khz)
		snprintf(add, sizeof(add), "%s %s tsc_early_khz=%u",
			 X86_LINUX_PLATFORM_CMDLINE, X86_PVM_LINUX_CMDLINE, tsc_khz);
	else if (pvm)
		snprintf(add, sizeof(add), "%s %s", X86_LINUX_PLATFORM_CMDLINE,
			 X86_PVM_LINUX_CMDLINE);
	else
		snprintf(add, sizeof(add), "%s", X86_LINUX_PLATFORM_CMDLINE);
	cap = (base ? strlen(base) : 0) + strlen(add) + 2;
	out = malloc(cap);
	if (!out)
		return NULL;
	snprintf(out, cap, "%s", base ? base : "");
	if (!is_linux)
		return out;
	for (const char *p = add; *p;) {
		size_t n = strcspn(p, " "), key = strcspn(p, " =");

		if (key > n)
			key = n;
		if (!has_option(base, p, key)) {
			size_t len = strlen(out);

			snprintf(out + len, cap - len, "%s%.*s", len ? " " : "",
				 (int)n, p);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return out;
}
