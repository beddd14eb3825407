/* Unit tests for ol_cli: how a tool starts (settings, --help, usage errors)
 * and the run flag that SIGINT/SIGTERM set. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ol_cli.h"
#include "ol_log.h"

typedef struct test_settings {
    ol_settings common;
    char *label;
} test_settings;

static const ol_option table[] = {
    OL_OPT_COMMON,
    OL_OPT_PARTITIONS("topics"),
    {"label", 0, OL_OPT_STRING, "TEXT", 0, 0, offsetof(test_settings, label), "a string of the tool's own", "plain"},
};

static ol_cli_tool tool(bool positional_ok) {
    return (ol_cli_tool){
        .program = "test-tool",
        .usage = "test-tool [OPTIONS]",
        .summary = "A test tool.",
        .options = table,
        .n_options = sizeof table / sizeof table[0],
        .settings_size = sizeof(test_settings),
        .positional_ok = positional_ok,
        .exit_help = 10,
        .exit_usage = 11,
        .exit_failed = 12,
    };
}
#define ARGC(argv) ((int)(sizeof argv / sizeof argv[0]))

static ol_cli_status start(int argc, char **argv, bool positional_ok, test_settings *s) {
    ol_cli_tool t = tool(positional_ok);
    return ol_cli_settings(&t, &s->common, argc, argv);
}

Test(cli, flags_fill_the_settings) {
    char *argv[] = {"test-tool", "--partitions", "5"};
    test_settings s;
    cr_assert_eq(start(ARGC(argv), argv, false, &s), OL_CLI_RUN);
    cr_expect_eq(s.common.partitions, 5);
    cr_expect_str_eq(s.label, "plain", "the tool's own default");
    ol_settings_destroy(&s.common);
}

Test(cli, help_is_printed_on_stdout, .init = cr_redirect_stdout) {
    char *argv[] = {"test-tool", "--help"};
    test_settings s;
    cr_assert_eq(start(ARGC(argv), argv, false, &s), OL_CLI_HELP_SHOWN);
    fflush(stdout);
    cr_assert_stdout_neq_str("");
}

Test(cli, a_bad_flag_is_a_usage_error_naming_the_tool, .init = cr_redirect_stderr) {
    char *argv[] = {"test-tool", "--partitions", "zero"};
    test_settings s;
    cr_assert_eq(start(ARGC(argv), argv, false, &s), OL_CLI_USAGE_ERROR);
    fflush(stderr);
    FILE *err = cr_get_redirected_stderr();
    char line[512] = "";
    cr_assert_not_null(fgets(line, sizeof line, err));
    cr_expect(strncmp(line, "test-tool: ", 11) == 0, "got: %s", line);
    cr_expect(strstr(line, "--partitions") != NULL, "got: %s", line);
}

Test(cli, positional_arguments_only_where_accepted, .init = cr_redirect_stderr) {
    char *argv[] = {"test-tool", "orders.jsonl"};
    test_settings s;
    cr_expect_eq(start(ARGC(argv), argv, false, &s), OL_CLI_USAGE_ERROR);
    cr_assert_eq(start(ARGC(argv), argv, true, &s), OL_CLI_RUN);
    cr_expect_eq(s.common.nargs, 1);
    ol_settings_destroy(&s.common);
}

Test(cli, each_outcome_has_the_tools_exit_code) {
    ol_cli_tool t = tool(false);
    cr_expect_eq(ol_cli_exit_code(&t, OL_CLI_HELP_SHOWN), 10);
    cr_expect_eq(ol_cli_exit_code(&t, OL_CLI_USAGE_ERROR), 11);
    cr_expect_eq(ol_cli_exit_code(&t, OL_CLI_FAILED), 12);
}

Test(cli, sigterm_and_sigint_set_the_run_flag) {
    volatile sig_atomic_t *stop = ol_cli_stop_on_signals();
    cr_assert_not_null(stop);
    cr_expect_eq(*stop, 0);
    cr_assert_eq(raise(SIGTERM), 0); /* the process survives: the handler only sets the flag */
    cr_expect_eq(*stop, 1);
    *stop = 0;
    cr_assert_eq(raise(SIGINT), 0);
    cr_expect_eq(*stop, 1);
    cr_expect_eq(ol_cli_stop_on_signals(), stop, "one flag per process");
}

static char *first_line(char *line, size_t len) {
    fflush(stderr);
    FILE *err = cr_get_redirected_stderr();
    line[0] = '\0';
    cr_assert_not_null(fgets(line, (int)len, err));
    return line;
}

Test(cli, usage_errors_in_json_with_log_format_json, .init = cr_redirect_stderr) {
    /* --log-format is read before the bad flag that follows it fails. */
    char *argv[] = {"test-tool", "--log-format", "json", "--partitions", "zero"};
    test_settings s;
    cr_assert_eq(start(ARGC(argv), argv, false, &s), OL_CLI_USAGE_ERROR);
    char line[512];
    first_line(line, sizeof line);
    cr_expect(strncmp(line, "{\"time\":\"", 9) == 0, "got: %s", line);
    cr_expect(strstr(line, "\"level\":\"error\"") != NULL, "got: %s", line);
    unsetenv("ORDERLINE_LOG_FORMAT");
}

Test(cli, a_bad_log_format_is_a_usage_error, .init = cr_redirect_stderr) {
    char *argv[] = {"test-tool", "--log-format", "xml"};
    test_settings s;
    cr_assert_eq(start(ARGC(argv), argv, false, &s), OL_CLI_USAGE_ERROR);
    char line[512];
    cr_expect(strstr(first_line(line, sizeof line), "--log-format") != NULL, "got: %s", line);
    cr_expect_eq(ol_log_current_format(), OL_LOG_TEXT);
}

Test(cli, progress_flags_override_the_terminal_check) {
    ol_settings s = {0};
    s.progress = true;
    cr_expect(ol_cli_progress_wanted(&s));
    s.no_progress = true;
    cr_expect_not(ol_cli_progress_wanted(&s), "--no-progress wins");
    s.progress = false;
    cr_expect_not(ol_cli_progress_wanted(&s));
}
