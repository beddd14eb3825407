/* ol_cli: how every orderline tool starts: settings layered from defaults,
 * the environment, --config and flags; --help on stdout; a usage error on
 * stderr naming the program; SIGINT/SIGTERM routed to the tool's run flag.
 * Only main calls these, and only main decides the exit code. */
#ifndef OL_CLI_H
#define OL_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "ol_options.h"

typedef enum {
    OL_CLI_RUN,         /* settings ready: the caller owns *s */
    OL_CLI_HELP_SHOWN,  /* --help printed: exit 0 */
    OL_CLI_USAGE_ERROR, /* bad flags or arguments, reported on stderr */
    OL_CLI_FAILED       /* out of memory, reported */
} ol_cli_status;

/* Fills *s. program names the tool in errors; usage and summary head
 * --help. positional_ok: whether non-option arguments are accepted. On
 * anything but OL_CLI_RUN, *s has already been destroyed. */
ol_cli_status ol_cli_settings(ol_settings *s, const ol_option *table, size_t n, int argc, char **argv,
                              const char *program, const char *usage, const char *summary, bool positional_ok);

/* Makes SIGINT and SIGTERM request a stop and returns the flag they set:
 * the process's run flag, its only global mutable state. Loops check it
 * and wind down; nothing else is done in the handler. */
volatile sig_atomic_t *ol_cli_stop_on_signals(void);

#endif
