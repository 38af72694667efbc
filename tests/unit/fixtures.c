#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"

char *fixture_tmpfile(const char *data, size_t len, const char *suffix)
{
	char tmpl[] = "/tmp/basalt-test-XXXXXX";
	int fd = mkstemp(tmpl);
	char *path;

	if (fd < 0)
		return NULL;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return NULL;
	}
	close(fd);
	if (!suffix || !*suffix)
		return strdup(tmpl);
	if (asprintf(&path, "%s%s", tmpl, suffix) < 0)
		return NULL;
	if (rename(tmpl, path) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

int fixture_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
