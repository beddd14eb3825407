#include "ol_cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ol_log.h"

ol_cli_status ol_cli_settings(const ol_cli_tool *tool, ol_settings *s, int argc, char **argv) {
    char err[1024];
    if (!ol_settings_init(s, tool->settings_size, tool->options, tool->n_options, err, sizeof err) ||
        !ol_settings_apply_env(s, err, sizeof err)) {
        ol_error("%s", err);
        ol_settings_destroy(s);
        return OL_CLI_FAILED;
    }
    ol_cli_status status = OL_CLI_RUN;
    if (!ol_settings_parse_args(s, argc, argv, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", tool->program, err);
        status = OL_CLI_USAGE_ERROR;
    } else if (s->help) {
        ol_options_print_help(tool->options, tool->n_options, tool->usage, tool->summary);
        status = OL_CLI_HELP_SHOWN;
    } else if (!tool->positional_ok && s->nargs > 0) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", tool->program, s->args[0]);
        status = OL_CLI_USAGE_ERROR;
    }
    if (status != OL_CLI_RUN) ol_settings_destroy(s);
    return status;
}

int ol_cli_exit_code(const ol_cli_tool *tool, ol_cli_status status) {
    switch (status) {
    case OL_CLI_RUN:
        break;
    case OL_CLI_HELP_SHOWN:
        return tool->exit_help;
    case OL_CLI_USAGE_ERROR:
        return tool->exit_usage;
    case OL_CLI_FAILED:
        return tool->exit_failed;
    }
    return 0;
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
