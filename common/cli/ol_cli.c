#include "ol_cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ol_log.h"

ol_cli_status ol_cli_settings(ol_settings *s, const ol_option *table, size_t n, int argc, char **argv,
                              const char *program, const char *usage, const char *summary, bool positional_ok) {
    char err[1024];
    if (!ol_settings_init(s) || !ol_settings_apply_env(s, err, sizeof err)) {
        ol_error("out of memory");
        ol_settings_destroy(s);
        return OL_CLI_FAILED;
    }
    if (!ol_settings_parse_args(s, table, n, argc, argv, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", program, err);
        ol_settings_destroy(s);
        return OL_CLI_USAGE_ERROR;
    }
    if (s->help) {
        ol_options_print_help(table, n, usage, summary);
        ol_settings_destroy(s);
        return OL_CLI_HELP_SHOWN;
    }
    if (!positional_ok && s->nargs > 0) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", program, s->args[0]);
        ol_settings_destroy(s);
        return OL_CLI_USAGE_ERROR;
    }
    return OL_CLI_RUN;
}

static volatile sig_atomic_t stop_requested = 0;

static void on_stop_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

volatile sig_atomic_t *ol_cli_stop_on_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &stop_requested;
}
