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
    OL_CLI_RUN,         /* settings ready: the caller owns them */
    OL_CLI_HELP_SHOWN,  /* --help printed */
    OL_CLI_USAGE_ERROR, /* bad flags or arguments, reported on stderr */
    OL_CLI_FAILED       /* out of memory (or a bad default), reported */
} ol_cli_status;

/* A tool, as its main describes it. */
typedef struct ol_cli_tool {
    const char *program; /* names the tool in errors */
    const char *usage;   /* heads --help, with the summary */
    const char *summary;
    const ol_option *options;
    size_t n_options;
    size_t settings_size; /* of the tool's settings struct, which starts with an ol_settings */
    bool positional_ok;   /* whether non-option arguments are accepted */
    /* The exit code for each outcome but OL_CLI_RUN. */
    int exit_help;
    int exit_usage;
    int exit_failed;
} ol_cli_tool;

/* Fills the tool's settings, of which s is the first member. On anything
 * but OL_CLI_RUN they have already been destroyed. On OL_CLI_RUN,
 * s->progress says whether to show a progress line (ol_cli_progress_wanted). */
ol_cli_status ol_cli_settings(const ol_cli_tool *tool, ol_settings *s, int argc, char **argv);

/* A usage error on stderr: "PROGRAM: message" as text, a JSON line with
 * --log-format json. */
void ol_cli_usage_error(const char *program, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether the tool shows a progress line on stderr: --no-progress says no,
 * --progress yes, else only when stderr is a terminal (never in pipes or
 * CI logs). */
bool ol_cli_progress_wanted(const ol_settings *s);

/* The exit code the tool gives an outcome of ol_cli_settings. */
int ol_cli_exit_code(const ol_cli_tool *tool, ol_cli_status status);

/* Makes SIGINT and SIGTERM request a stop and returns the flag they set:
 * the process's run flag, its only global mutable state. Loops check it
 * and wind down; nothing else is done in the handler. */
volatile sig_atomic_t *ol_cli_stop_on_signals(void);

#endif
