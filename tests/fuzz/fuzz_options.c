/* The settings parsers (common/cli/ol_options.c): a config file's text,
 * then argv, layered on one tool's settings as a tool's main does. The
 * input is both: as config text with every NUL byte read as a newline, and
 * as argv split at NUL bytes. Asserted: no crash or leak (ol_settings_destroy
 * frees everything), and after every accepted layer each option holds what
 * its row allows: strings non-empty, integers within their bounds, the
 * librdkafka list with non-empty keys. argv naming --config is not parsed:
 * it would read a file the fuzzer names. */
#include "fuzz.h"

#include <string.h>

#include "ol_options.h"

typedef struct fuzz_settings {
    ol_settings common;
    char *group;
    long idle_exit_s;
    long wait_s;
    bool verbose;
} fuzz_settings;

#define FIELD(name) offsetof(fuzz_settings, name)
static const ol_option table[] = {
    OL_OPT_COMMON,
    OL_OPT_DB,
    OL_OPT_RESULTS_TOPIC,
    OL_OPT_PARTITIONS("topics"),
    {"group", 'g', OL_OPT_STRING, "NAME", 0, 0, FIELD(group), "consumer group", "orderline"},
    {"idle-exit", 0, OL_OPT_LONG, "SECONDS", 0, 86400, FIELD(idle_exit_s), "exit when idle", NULL},
    {"wait", 0, OL_OPT_OPTIONAL_LONG, "SECONDS", 1, 86400, FIELD(wait_s), "wait for answers", NULL},
    {"verbose", 'v', OL_OPT_FLAG, NULL, 0, 0, FIELD(verbose), "say more", NULL},
};
#define N_TABLE (sizeof table / sizeof table[0])
#define MAX_ARGS 64

static void check_settings(const fuzz_settings *s) {
    for (size_t i = 0; i < N_TABLE; i++) {
        const char *base = (const char *)s + table[i].offset;
        if (table[i].type == OL_OPT_STRING) {
            const char *v = *(char *const *)base;
            FUZZ_CHECK(!v || *v, "--%s is set but empty", table[i].name);
        } else if (table[i].type != OL_OPT_FLAG) {
            long v = *(const long *)base;
            bool unset = v == 0 && !table[i].def, on = table[i].type == OL_OPT_OPTIONAL_LONG && v == -1;
            FUZZ_CHECK(unset || on || (v >= table[i].min && v <= table[i].max), "--%s is %ld", table[i].name, v);
        }
    }
    for (size_t i = 0; i < s->common.kafka.len; i++)
        FUZZ_CHECK(s->common.kafka.items[i].key[0], "an empty librdkafka key from %s", s->common.kafka.items[i].origin);
}

static bool names_config(char **argv, int argc) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-c") == 0 || strncmp(argv[i], "--config", 8) == 0) return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1), *args = malloc(size + 1);
    if (!text || !args) goto done;
    memcpy(args, data, size);
    args[size] = '\0';
    for (size_t i = 0; i < size; i++) text[i] = data[i] ? (char)data[i] : '\n';
    text[size] = '\0';

    char *argv[MAX_ARGS + 1] = {"fuzz"};
    int argc = 1;
    for (char *p = args; p <= args + size && argc < MAX_ARGS; p += strlen(p) + 1) argv[argc++] = p;
    argv[argc] = NULL;

    fuzz_settings s;
    char err[512];
    FUZZ_CHECK(ol_settings_init(&s.common, sizeof s, table, N_TABLE, err, sizeof err), "init: %s", err);
    if (ol_settings_apply_config_text(&s.common, text, "fuzz.conf", err, sizeof err)) check_settings(&s);
    if (!names_config(argv, argc) && ol_settings_parse_args(&s.common, argc, argv, err, sizeof err)) {
        check_settings(&s);
        for (size_t i = 0; i < s.common.nargs; i++)
            FUZZ_CHECK(s.common.args[i] >= args && s.common.args[i] <= args + size, "a positional not from argv");
    }
    ol_settings_destroy(&s.common);
done:
    free(text);
    free(args);
    return 0;
}
