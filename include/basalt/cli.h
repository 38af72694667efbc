/* Command-line front end: `basalt run [flags]`, `basalt help [run]`,
 * `basalt --version`.  Fills the same struct vm_config as the JSON file:
 * --config FILE is applied first, then every other flag overrides it. */
#ifndef BASALT_CLI_H
#define BASALT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "basalt/config.h"

enum cli_cmd { CLI_RUN, CLI_HELP, CLI_VERSION, CLI_SECCOMP_DUMP, CLI_CTL };

struct cli_opts {
	enum cli_cmd cmd;
	const char *help_topic;   /* CLI_HELP: NULL or "run" */
	bool print_config;        /* --print-config: print effective JSON, exit 0 */
	int verbosity;            /* -v repeats: 0 warn, 1 info, 2 debug; -q = -1 */
	bool stats;               /* --stats: print run statistics at exit */
	bool cli_disks;           /* a --disk was seen (replaces the file's disks) */
	bool cli_nets;            /* a --net was seen (replaces the file's nets) */
	bool cli_devices;         /* a --device was seen (replaces the file's devices) */
	struct vm_config cfg;
};

/* Parses argv (argv[0] is the program).  Returns 0, or -EINVAL with a
 * one-line message in e naming the bad flag/value (errors loading --config
 * FILE are passed through with their own errno).  Does not validate the
 * merged config (caller runs vm_config_validate) and never exits.
 * Initializes *o first: call cli_opts_free(o) afterwards, even on error.
 * May be called repeatedly (resets getopt state); not thread-safe. */
int cli_parse(int argc, char **argv, struct cli_opts *o, struct bs_err *e);
void cli_opts_free(struct cli_opts *o);
/* topic NULL: the command overview; "run": every flag, exit codes, examples. */
void cli_usage(FILE *f, const char *topic);

#endif
