#include "ol_cli.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
    bool parsed = ol_settings_parse_args(s, argc, argv, err, sizeof err);
    /* From here on every line is in the format the layers chose. */
    if (s->log_format && !ol_log_use_format(s->log_format)) {
        ol_cli_usage_error(tool->program, "--log-format expects text or json, got '%.64s'", s->log_format);
        status = OL_CLI_USAGE_ERROR;
    } else if (!parsed) {
        ol_cli_usage_error(tool->program, "%s", err);
        status = OL_CLI_USAGE_ERROR;
    } else if (s->help) {
        ol_options_print_help(tool->options, tool->n_options, tool->usage, tool->summary);
        status = OL_CLI_HELP_SHOWN;
    } else if (!tool->positional_ok && s->nargs > 0) {
        ol_cli_usage_error(tool->program, "unexpected argument '%s' (see --help)", s->args[0]);
        status = OL_CLI_USAGE_ERROR;
    }
    if (status != OL_CLI_RUN) ol_settings_destroy(s);
    else s->progress = ol_cli_progress_wanted(s);
    return status;
}

void ol_cli_usage_error(const char *program, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ol_log_plain(OL_LOG_ERROR, NULL, 0, "%s: %s", program, msg);
}

bool ol_cli_progress_wanted(const ol_settings *s) {
    if (s->no_progress) return false;
    return s->progress || isatty(STDERR_FILENO) == 1;
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
