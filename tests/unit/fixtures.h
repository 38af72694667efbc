/* Small helpers shared by the Check suites. */
#ifndef BASALT_TEST_FIXTURES_H
#define BASALT_TEST_FIXTURES_H

#include <stddef.h>

/* Writes data to a new temporary file; returns its malloc'd path. */
char *fixture_tmpfile(const char *data, size_t len, const char *suffix);
/* Runs the suite with CK_NORMAL output; returns the process exit status. */
struct Suite;
int fixture_run_suite(struct Suite *s);

#endif
