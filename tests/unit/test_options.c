/* Unit tests for ol_options: layered settings (defaults, environment,
 * --config file, flags) and the librdkafka property list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ol_options.h"

/* A tool's settings, as the tools have them: the shared part first. */
typedef struct test_settings {
    ol_settings common;
    char *group;
    long idle_exit_s;
    long seed;
    long wait_s;
} test_settings;

/* A table like the tools': the common rows plus one option of each type. */
#define FIELD(name) offsetof(test_settings, name)
static const ol_option table[] = {
    OL_OPT_COMMON,
    OL_OPT_PARTITIONS("topics"),
    OL_OPT_RESULTS_TOPIC,
    {"group", 'g', OL_OPT_STRING, "NAME", 0, 0, FIELD(group), "consumer group", "orderline"},
    {"idle-exit", 0, OL_OPT_LONG, "SECONDS", 0, 86400, FIELD(idle_exit_s), "exit when idle", NULL},
    {"seed", 0, OL_OPT_LONG, "S", 0, 0x7fffffffL, FIELD(seed), "random seed", "1"},
    {"wait", 0, OL_OPT_OPTIONAL_LONG, "SECONDS", 1, 86400, FIELD(wait_s), "wait for answers", NULL},
};
#define N_TABLE (sizeof table / sizeof table[0])

#define ARGC(argv) ((int)(sizeof argv / sizeof argv[0]))

static void init_with(test_settings *s, const ol_option *t, size_t n) {
    char err[256] = "";
    cr_assert(ol_settings_init(&s->common, sizeof *s, t, n, err, sizeof err), "%s", err);
}

static void init(test_settings *s) { init_with(s, table, N_TABLE); }

static bool config(test_settings *s, const char *text, char *err, size_t errlen) {
    return ol_settings_apply_config_text(&s->common, text, "test.conf", err, errlen);
}

static bool args(test_settings *s, int argc, char **argv, char *err, size_t errlen) {
    return ol_settings_parse_args(&s->common, argc, argv, err, errlen);
}

/* Writes text to a fresh private temporary file; returns its path (free
 * it, unlink it). */
static char *temp_config(const char *text) {
    char *path = strdup("/tmp/orderline-test-XXXXXX");
    cr_assert_not_null(path);
    int fd = mkstemp(path); /* mode 0600: no "readable by others" warning */
    cr_assert_geq(fd, 0);
    size_t len = strlen(text);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    cr_assert_eq(close(fd), 0);
    return path;
}

static void remove_config(char *path) {
    unlink(path);
    free(path);
}

static void assert_kv(const ol_settings *s, size_t i, const char *key, const char *value, const char *origin) {
    cr_assert_lt(i, s->kafka.len, "kafka list has %zu entries, want more than %zu", s->kafka.len, i);
    cr_assert_str_eq(s->kafka.items[i].key, key, "kafka[%zu].key", i);
    cr_assert_str_eq(s->kafka.items[i].value, value, "kafka[%zu].value", i);
    cr_assert_str_eq(s->kafka.items[i].origin, origin, "kafka[%zu].origin", i);
}

/* ---- defaults and environment ---------------------------------------- */

Test(options_defaults, init_fills_defaults_from_the_table) {
    test_settings s;
    memset(&s, 0x5a, sizeof s); /* init zeroes the tool's part too */
    init(&s);
    cr_assert_null(s.common.brokers);
    cr_assert_null(s.common.db);
    cr_assert_null(s.common.config_path);
    cr_assert_str_eq(s.common.orders_topic, "orders");
    cr_assert_str_eq(s.common.results_topic, "order-results");
    cr_assert_eq(s.common.partitions, 8);
    cr_assert_str_eq(s.group, "orderline");
    cr_assert_eq(s.seed, 1);
    cr_assert_eq(s.idle_exit_s, 0);
    cr_assert_eq(s.wait_s, 0);
    cr_assert_not(s.common.help);
    cr_assert_eq(s.common.kafka.len, 0);
    cr_assert_eq(s.common.nargs, 0);
    ol_settings_destroy(&s.common);
    ol_settings_destroy(NULL);
}

Test(options_defaults, a_tool_without_a_row_has_no_default) {
    static const ol_option bare[] = {OL_OPT_COMMON};
    test_settings s;
    init_with(&s, bare, sizeof bare / sizeof bare[0]);
    cr_assert_null(s.common.results_topic);
    cr_assert_eq(s.common.partitions, 0);
    cr_assert_null(s.group);
    ol_settings_destroy(&s.common);
}

Test(options_defaults, a_default_its_row_refuses_fails_init_naming_the_option) {
    static const ol_option broken[] = {
        {"seed", 0, OL_OPT_LONG, "S", 0, 10, FIELD(seed), "random seed", "11"},
    };
    test_settings s;
    char err[256] = "";
    cr_assert_not(ol_settings_init(&s.common, sizeof s, broken, 1, err, sizeof err));
    cr_expect(strstr(err, "default") && strstr(err, "--seed"), "%s", err);
    ol_settings_destroy(&s.common);
}

Test(options_defaults, destroy_frees_the_tools_strings) {
    test_settings s;
    init(&s);
    char err[256] = "";
    char *argv[] = {"prog", "-g", "other", "-b", "h:1"};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    ol_settings_destroy(&s.common); /* ASan and valgrind runs show a leak or a double free */
    cr_assert_null(s.group);
    cr_assert_null(s.common.brokers);
    cr_assert_null(s.common.orders_topic);
}

Test(options_env, env_sets_brokers_and_db) {
    test_settings s;
    init(&s);
    setenv("ORDERLINE_BROKERS", "env-host:9092", 1);
    setenv("ORDERLINE_DB", "postgresql:///orders", 1);
    char err[256] = "";
    cr_assert(ol_settings_apply_env(&s.common, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.brokers, "env-host:9092");
    cr_assert_str_eq(s.common.db, "postgresql:///orders");
    ol_settings_destroy(&s.common);
}

Test(options_env, empty_or_unset_env_is_ignored) {
    test_settings s;
    init(&s);
    char err[256] = "";
    cr_assert(config(&s, "brokers=file:1\n", err, sizeof err), "%s", err);
    setenv("ORDERLINE_BROKERS", "", 1);
    unsetenv("ORDERLINE_DB");
    cr_assert(ol_settings_apply_env(&s.common, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.brokers, "file:1");
    cr_assert_null(s.common.db);
    ol_settings_destroy(&s.common);
}

/* ---- config text ------------------------------------------------------ */

Test(options_config, comments_blank_lines_and_whitespace) {
    test_settings s;
    init(&s);
    char err[256] = "";
    const char *text = "# orderline settings\n"
                       "\n"
                       "   \t\n"
                       "  # indented comment\n"
                       "brokers = broker-a:9092,broker-b:9092  \n"
                       "partitions=12\r\n"
                       "\tgroup\t=\tbilling\t\n"
                       "orders-topic=orders-v2"; /* no final newline */
    cr_assert(config(&s, text, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.brokers, "broker-a:9092,broker-b:9092");
    cr_assert_eq(s.common.partitions, 12);
    cr_assert_str_eq(s.group, "billing");
    cr_assert_str_eq(s.common.orders_topic, "orders-v2");
    cr_assert_eq(s.common.kafka.len, 0);
    ol_settings_destroy(&s.common);
}

Test(options_config, empty_text_is_fine) {
    test_settings s;
    init(&s);
    char err[256] = "";
    cr_assert(config(&s, "", err, sizeof err), "%s", err);
    cr_assert(config(&s, "\n\n# only comments\n", err, sizeof err), "%s", err);
    cr_assert_eq(s.common.partitions, 8);
    ol_settings_destroy(&s.common);
}

Test(options_config, unknown_keys_are_librdkafka_properties_with_origin) {
    test_settings s;
    init(&s);
    char err[256] = "";
    const char *text = "# kafka\n"
                       "security.protocol=SASL_SSL\n"
                       "\n"
                       "sasl.jaas.config = a=b c=d \n"
                       "partitions=3\n"
                       "empty.value=\n";
    cr_assert(config(&s, text, err, sizeof err), "%s", err);
    cr_assert_eq(s.common.kafka.len, 3);
    assert_kv(&s.common, 0, "security.protocol", "SASL_SSL", "test.conf:2");
    assert_kv(&s.common, 1, "sasl.jaas.config", "a=b c=d", "test.conf:4");
    assert_kv(&s.common, 2, "empty.value", "", "test.conf:6");
    cr_assert_eq(s.common.partitions, 3);
    ol_settings_destroy(&s.common);
}

typedef struct bad_config {
    const char *name;
    const char *text;
    const char *where;   /* "test.conf:LINE" */
    const char *err_has; /* more the error must say */
} bad_config;

Test(options_config, bad_lines_name_file_and_line) {
    static const bad_config cases[] = {
        {"no equals", "# c\n\nbrokers=x\njust some words\n", "test.conf:4", "key=value"},
        {"empty key", "=value\n", "test.conf:1", "key"},
        {"spaces then equals", "   = value\n", "test.conf:1", "key"},
        {"bad integer", "\n\npartitions=twelve\n", "test.conf:3", "partitions"},
        {"integer below range", "partitions=0\n", "test.conf:1", "partitions"},
        {"integer above range", "# x\npartitions=100001\n", "test.conf:2", "partitions"},
        {"integer junk suffix", "partitions=12abc\n", "test.conf:1", "partitions"},
        {"empty string option", "brokers=\n", "test.conf:1", "brokers"},
        {"config in config", "config=/etc/other.conf\n", "test.conf:1", "config"},
        {"help in config", "help=true\n", "test.conf:1", "help"},
        {"crlf line numbering", "a=b\r\nc=d\r\nnope\r\n", "test.conf:3", "key=value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_settings s;
        init(&s);
        char err[256] = "";
        cr_expect_not(config(&s, cases[i].text, err, sizeof err), "[%s] accepted", cases[i].name);
        cr_expect(strstr(err, cases[i].where) != NULL, "[%s] error does not say '%s': %s", cases[i].name,
                  cases[i].where, err);
        cr_expect(strstr(err, cases[i].err_has) != NULL, "[%s] error does not mention '%s': %s", cases[i].name,
                  cases[i].err_has, err);
        ol_settings_destroy(&s.common);
    }
}

Test(options_config, stops_at_first_bad_line) {
    test_settings s;
    init(&s);
    char err[256] = "";
    cr_assert_not(config(&s, "partitions=5\nbad\npartitions=6\nlinger=1\n", err, sizeof err));
    cr_assert_eq(s.common.partitions, 5);
    cr_assert_eq(s.common.kafka.len, 0);
    ol_settings_destroy(&s.common);
}

Test(options_config, later_lines_win) {
    test_settings s;
    init(&s);
    char err[256] = "";
    cr_assert(config(&s, "group=a\ngroup=b\n", err, sizeof err), "%s", err);
    cr_assert_str_eq(s.group, "b");
    ol_settings_destroy(&s.common);
}

/* ---- command line ----------------------------------------------------- */

Test(options_args, long_short_and_equals_forms) {
    test_settings s;
    init(&s);
    char err[256] = "";
    char *argv[] = {"prog",        "--brokers", "h1:9092", "--partitions=16", "-g", "grp", "--orders-topic=o2",
                    "--idle-exit", "0"};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.brokers, "h1:9092");
    cr_assert_eq(s.common.partitions, 16);
    cr_assert_str_eq(s.group, "grp");
    cr_assert_str_eq(s.common.orders_topic, "o2");
    cr_assert_eq(s.idle_exit_s, 0);
    cr_assert_eq(s.common.nargs, 0);
    ol_settings_destroy(&s.common);
}

Test(options_args, short_brokers) {
    test_settings s;
    init(&s);
    char err[256] = "";
    char *argv[] = {"prog", "-b", "h2:9092"};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.brokers, "h2:9092");
    ol_settings_destroy(&s.common);
}

Test(options_args, no_arguments_keeps_defaults) {
    test_settings s;
    init(&s);
    char err[256] = "";
    char *argv[] = {"prog"};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert_eq(s.common.partitions, 8);
    cr_assert_eq(s.common.nargs, 0);
    cr_assert_not(s.common.help);
    ol_settings_destroy(&s.common);
}

Test(options_args, help_flag) {
    char *forms[] = {"--help", "-h"};
    for (size_t i = 0; i < 2; i++) {
        test_settings s;
        init(&s);
        char err[256] = "";
        char *argv[] = {"prog", forms[i]};
        cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s: %s", forms[i], err);
        cr_assert(s.common.help, "%s did not set help", forms[i]);
        ol_settings_destroy(&s.common);
    }
    test_settings s;
    init(&s);
    char err[256] = "";
    char *argv[] = {"prog", "--help=yes"};
    cr_assert_not(args(&s, ARGC(argv), argv, err, sizeof err), "a flag took a value");
    cr_assert(strstr(err, "--help"), "%s", err);
    ol_settings_destroy(&s.common);
}

Test(options_args, positional_arguments) {
    test_settings s;
    init(&s);
    char err[256] = "";
    char *argv[] = {"prog", "a.jsonl", "--partitions", "2", "-", "--", "--not-a-flag", "-X"};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert_eq(s.common.nargs, 4);
    cr_assert_str_eq(s.common.args[0], "a.jsonl");
    cr_assert_str_eq(s.common.args[1], "-");
    cr_assert_str_eq(s.common.args[2], "--not-a-flag");
    cr_assert_str_eq(s.common.args[3], "-X");
    cr_assert_eq(s.common.partitions, 2);
    cr_assert_eq(s.common.kafka.len, 0);
    ol_settings_destroy(&s.common);
}

Test(options_args, x_properties_both_forms_in_order) {
    test_settings s;
    init(&s);
    char err[256] = "";
    char *argv[] = {"prog", "-X", "acks=all", "-Xlinger.ms=5", "-X", "sasl.password=p=w=d", "-Xempty="};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert_eq(s.common.kafka.len, 4);
    assert_kv(&s.common, 0, "acks", "all", "-X");
    assert_kv(&s.common, 1, "linger.ms", "5", "-X");
    assert_kv(&s.common, 2, "sasl.password", "p=w=d", "-X");
    assert_kv(&s.common, 3, "empty", "", "-X");
    cr_assert_eq(s.common.nargs, 0);
    ol_settings_destroy(&s.common);
}

typedef struct bad_args {
    const char *name;
    char *argv[6];
    int argc;
    const char *err_has[2];
} bad_args;

Test(options_args, errors_name_the_flag) {
    static const bad_args cases[] = {
        {"unknown long", {"prog", "--nope"}, 2, {"--nope", "unknown"}},
        {"unknown long with value", {"prog", "--nope=1"}, 2, {"--nope", "unknown"}},
        {"unknown short", {"prog", "-z"}, 2, {"-z", "unknown"}},
        {"unknown after good", {"prog", "--partitions", "3", "--bogus", "x"}, 5, {"--bogus", "unknown"}},
        {"missing string value", {"prog", "--brokers"}, 2, {"--brokers", "value"}},
        {"missing short value", {"prog", "-g"}, 2, {"-g", "value"}},
        {"missing long value", {"prog", "--partitions"}, 2, {"--partitions", "value"}},
        {"missing config value", {"prog", "--config"}, 2, {"--config", "value"}},
        {"empty string value", {"prog", "--brokers", ""}, 3, {"--brokers", "non-empty"}},
        {"integer below range", {"prog", "--partitions", "0"}, 3, {"--partitions", "1"}},
        {"integer above range", {"prog", "--partitions=100001"}, 2, {"--partitions", "100000"}},
        {"integer junk", {"prog", "--partitions", "ten"}, 3, {"--partitions", "ten"}},
        {"integer negative", {"prog", "--idle-exit", "-1"}, 3, {"--idle-exit", "integer"}},
        {"integer overflow", {"prog", "--seed", "99999999999999999999"}, 3, {"--seed", "integer"}},
        {"-X missing argument", {"prog", "-X"}, 2, {"-X", "key=value"}},
        {"-X without equals", {"prog", "-X", "acks"}, 3, {"-X", "acks"}},
        {"-X empty key", {"prog", "-X=all"}, 2, {"-X", "key=value"}},
        {"-X attached without equals", {"prog", "-Xacks"}, 2, {"-X", "acks"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_args *c = &cases[i];
        test_settings s;
        init(&s);
        char err[256] = "";
        char *argv[6];
        memcpy(argv, c->argv, sizeof argv);
        cr_expect_not(args(&s, c->argc, argv, err, sizeof err), "[%s] accepted", c->name);
        for (size_t k = 0; k < 2; k++)
            cr_expect(strstr(err, c->err_has[k]) != NULL, "[%s] error does not mention '%s': %s", c->name,
                      c->err_has[k], err);
        ol_settings_destroy(&s.common);
    }
}

/* ---- --config files and layering -------------------------------------- */

Test(options_layers, flags_override_file_whatever_the_order) {
    char *path = temp_config("# test\n"
                             "brokers=file:9092\n"
                             "partitions=12\n"
                             "group=from-file\n"
                             "client.id=file-client\n");
    /* Flags before --config, after it, and with the -c short form. */
    for (int order = 0; order < 3; order++) {
        test_settings s;
        init(&s);
        char err[512] = "";
        char *before[] = {"prog", "--partitions", "3", "-X", "acks=1", "--config", path};
        char *after[] = {"prog", "--config", path, "--partitions", "3", "-X", "acks=1"};
        char *shortc[] = {"prog", "-X", "acks=1", "-c", path, "--partitions=3"};
        bool ok = order == 0   ? args(&s, ARGC(before), before, err, sizeof err)
                  : order == 1 ? args(&s, ARGC(after), after, err, sizeof err)
                               : args(&s, ARGC(shortc), shortc, err, sizeof err);
        cr_assert(ok, "order %d: %s", order, err);
        cr_assert_eq(s.common.partitions, 3, "order %d: the flag must win over the file", order);
        cr_assert_str_eq(s.common.brokers, "file:9092", "order %d", order);
        cr_assert_str_eq(s.group, "from-file", "order %d", order);
        cr_assert_str_eq(s.common.config_path, path);
        /* File properties come before -X ones, so -X wins in librdkafka. */
        cr_assert_eq(s.common.kafka.len, 2, "order %d", order);
        char origin[512];
        snprintf(origin, sizeof origin, "%s:5", path);
        assert_kv(&s.common, 0, "client.id", "file-client", origin);
        assert_kv(&s.common, 1, "acks", "1", "-X");
        cr_assert_eq(s.common.nargs, 0, "order %d: --config's value taken as a positional argument", order);
        ol_settings_destroy(&s.common);
    }
    remove_config(path);
}

Test(options_layers, defaults_env_file_flags) {
    char *path = temp_config("brokers=file:2\ndb=postgresql://file\n");
    setenv("ORDERLINE_BROKERS", "env:1", 1);
    setenv("ORDERLINE_DB", "postgresql://env", 1);
    ol_option with_db[N_TABLE + 1];
    memcpy(with_db, table, sizeof table);
    with_db[N_TABLE] = (ol_option)OL_OPT_DB;
    test_settings s;
    init_with(&s, with_db, N_TABLE + 1);
    char err[512] = "";
    cr_assert(ol_settings_apply_env(&s.common, err, sizeof err), "%s", err);
    char *argv[] = {"prog", "-b", "flag:3", "--config", path};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.brokers, "flag:3", "flag must beat file and environment");
    cr_assert_str_eq(s.common.db, "postgresql://file", "file must beat environment");
    cr_assert_eq(s.common.partitions, 8, "default kept");
    ol_settings_destroy(&s.common);
    remove_config(path);
}

/* $ORDERLINE_CONFIG (scripts/stack credentials) lies beneath --config and
 * the flags; its librdkafka properties come first in the list, so a later
 * layer's value for the same key is the one librdkafka keeps. */
Test(options_layers, orderline_config_env_beneath_config_and_flags) {
    char *env_path = temp_config("brokers=envfile:1\nsecurity.protocol=SASL_SSL\npartitions=3\ngroup=envgroup\n");
    char *path = temp_config("brokers=file:2\npartitions=4\n");
    setenv("ORDERLINE_CONFIG", env_path, 1);
    test_settings s;
    init(&s);
    char err[512] = "";
    char *argv[] = {"prog", "--config", path, "--partitions", "5"};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.brokers, "file:2", "--config must beat $ORDERLINE_CONFIG");
    cr_assert_eq(s.common.partitions, 5, "a flag must beat both files");
    cr_assert_str_eq(s.group, "envgroup", "$ORDERLINE_CONFIG applies where nothing overrides it");
    char origin[512];
    snprintf(origin, sizeof origin, "%s:2", env_path);
    assert_kv(&s.common, 0, "security.protocol", "SASL_SSL", origin);
    ol_settings_destroy(&s.common);
    unsetenv("ORDERLINE_CONFIG");
    remove_config(path);
    remove_config(env_path);
}

Test(options_layers, orderline_config_alone_and_its_errors) {
    char *env_path = temp_config("sasl.username=order-reader\npartitions=many\n");
    setenv("ORDERLINE_CONFIG", env_path, 1);
    test_settings s;
    init(&s);
    char err[512] = "";
    char *argv[] = {"prog"};
    cr_assert_not(args(&s, ARGC(argv), argv, err, sizeof err));
    char where[512];
    snprintf(where, sizeof where, "%s:2", env_path);
    cr_assert(strstr(err, where), "error does not say '%s': %s", where, err);
    ol_settings_destroy(&s.common);
    setenv("ORDERLINE_CONFIG", "/nonexistent/creds.properties", 1);
    init(&s);
    cr_assert_not(args(&s, ARGC(argv), argv, err, sizeof err));
    cr_assert(strstr(err, "$ORDERLINE_CONFIG /nonexistent/creds.properties"), "%s", err);
    ol_settings_destroy(&s.common);
    setenv("ORDERLINE_CONFIG", "", 1); /* empty: ignored, like the other variables */
    init(&s);
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    ol_settings_destroy(&s.common);
    unsetenv("ORDERLINE_CONFIG");
    remove_config(env_path);
}

Test(options_layers, bad_config_file_line_is_reported_with_path) {
    char *path = temp_config("brokers=x:1\n\n# fine so far\npartitions=lots\n");
    test_settings s;
    init(&s);
    char err[512] = "";
    char *argv[] = {"prog", "--config", path};
    cr_assert_not(args(&s, ARGC(argv), argv, err, sizeof err));
    char where[512];
    snprintf(where, sizeof where, "%s:4", path);
    cr_assert(strstr(err, where), "error does not say '%s': %s", where, err);
    cr_assert(strstr(err, "partitions"), "%s", err);
    ol_settings_destroy(&s.common);
    remove_config(path);
}

Test(options_layers, missing_config_file) {
    test_settings s;
    init(&s);
    char err[512] = "";
    char *argv[] = {"prog", "--config", "/nonexistent/orderline.conf"};
    cr_assert_not(args(&s, ARGC(argv), argv, err, sizeof err));
    cr_assert(strstr(err, "/nonexistent/orderline.conf"), "%s", err);
    ol_settings_destroy(&s.common);
}

Test(options_layers, empty_config_file) {
    char *path = temp_config("");
    test_settings s;
    init(&s);
    char err[512] = "";
    char *argv[] = {"prog", "--config", path, "in.jsonl"};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert_eq(s.common.nargs, 1);
    cr_assert_str_eq(s.common.args[0], "in.jsonl");
    ol_settings_destroy(&s.common);
    remove_config(path);
}

Test(options_layers, unknown_flag_is_reported_before_reading_the_file) {
    test_settings s;
    init(&s);
    char err[512] = "";
    char *argv[] = {"prog", "--config", "/nonexistent/x.conf", "--wat"};
    cr_assert_not(args(&s, ARGC(argv), argv, err, sizeof err));
    cr_assert(strstr(err, "--wat"), "%s", err);
    ol_settings_destroy(&s.common);
}

/* ---- the kafka list and --help ---------------------------------------- */

Test(options_kvlist, add_copies_and_grows) {
    test_settings s;
    init(&s);
    char key[32], value[32];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(value, sizeof value, "v%d", i);
        cr_assert(ol_kvlist_add(&s.common.kafka, key, value, "-X"));
    }
    strcpy(key, "changed");
    cr_assert_eq(s.common.kafka.len, 50);
    assert_kv(&s.common, 0, "k0", "v0", "-X");
    assert_kv(&s.common, 49, "k49", "v49", "-X");
    ol_settings_destroy(&s.common);
}

Test(options_help, prints_every_option) {
    FILE *tmp = tmpfile();
    cr_assert_not_null(tmp);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    cr_assert_geq(saved, 0);
    cr_assert_geq(dup2(fileno(tmp), STDOUT_FILENO), 0);
    ol_options_print_help(table, N_TABLE, "prog [OPTIONS]", "Does things.");
    fflush(stdout);
    cr_assert_geq(dup2(saved, STDOUT_FILENO), 0);
    close(saved);
    rewind(tmp);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, tmp);
    text[n] = '\0';
    fclose(tmp);
    static const char *want[] = {"Usage: prog [OPTIONS]",
                                 "Does things.",
                                 "-b, --brokers HOST:PORT",
                                 "-c, --config FILE",
                                 "-h, --help",
                                 "--orders-topic NAME",
                                 "--partitions N",
                                 "-g, --group NAME",
                                 "--idle-exit SECONDS",
                                 "-X KEY=VALUE",
                                 "consumer group (default: orderline)",
                                 "topic of orders (default: orders)"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(text, want[i]) != NULL, "help lacks '%s':\n%s", want[i], text);
}

Test(options_args, optional_value_bare_or_with_equals) {
    test_settings s;
    char err[256];
    init(&s);
    cr_assert_eq(s.wait_s, 0, "off by default");
    char *bare[] = {"prog", "--wait", "orders.jsonl"};
    cr_assert(args(&s, ARGC(bare), bare, err, sizeof err), "%s", err);
    cr_assert_eq(s.wait_s, -1, "--wait alone: on, with the tool's default");
    cr_assert_eq(s.common.nargs, 1, "the next argument stays a file, not the value");
    cr_assert_str_eq(s.common.args[0], "orders.jsonl");
    ol_settings_destroy(&s.common);
    init(&s);
    char *given[] = {"prog", "--wait=7"};
    cr_assert(args(&s, ARGC(given), given, err, sizeof err), "%s", err);
    cr_assert_eq(s.wait_s, 7);
    ol_settings_destroy(&s.common);
    init(&s);
    char *bad[] = {"prog", "--wait=0"};
    cr_assert_not(args(&s, ARGC(bad), bad, err, sizeof err));
    cr_assert(strstr(err, "--wait") != NULL, "%s", err);
    ol_settings_destroy(&s.common);
}

Test(options_layers, log_format_env_file_flag) {
    test_settings s;
    init(&s);
    cr_assert_str_eq(s.common.log_format, "text", "the default");
    setenv("ORDERLINE_LOG_FORMAT", "json", 1);
    char err[512] = "";
    cr_assert(ol_settings_apply_env(&s.common, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.log_format, "json", "the environment beats the default");
    char *path = temp_config("log-format=text\n");
    char *argv[] = {"prog", "--config", path};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.log_format, "text", "a file beats the environment");
    ol_settings_destroy(&s.common);
    init(&s);
    char *argv2[] = {"prog", "--log-format", "json", "--config", path};
    cr_assert(args(&s, ARGC(argv2), argv2, err, sizeof err), "%s", err);
    cr_assert_str_eq(s.common.log_format, "json", "the flag beats the file, applied first and again last");
    ol_settings_destroy(&s.common);
    unsetenv("ORDERLINE_LOG_FORMAT");
    remove_config(path);
}

Test(options_args, progress_flags) {
    static const ol_option with_progress[] = {OL_OPT_COMMON, OL_OPT_PROGRESS};
    test_settings s;
    init_with(&s, with_progress, sizeof with_progress / sizeof with_progress[0]);
    cr_assert_not(s.common.progress || s.common.no_progress, "neither by default");
    char err[512] = "";
    char *argv[] = {"prog", "--progress", "--no-progress"};
    cr_assert(args(&s, ARGC(argv), argv, err, sizeof err), "%s", err);
    cr_assert(s.common.progress && s.common.no_progress);
    ol_settings_destroy(&s.common);
    init(&s); /* a tool without the rows refuses them */
    char *argv2[] = {"prog", "--progress"};
    cr_assert_not(args(&s, ARGC(argv2), argv2, err, sizeof err));
    ol_settings_destroy(&s.common);
}
