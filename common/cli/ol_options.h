/* ol_options: settings for every orderline tool, layered like kcat:
 * built-in defaults -> environment ($ORDERLINE_BROKERS, $ORDERLINE_DB) ->
 * the file $ORDERLINE_CONFIG names -> --config FILE (key=value lines, the
 * same format) -> command-line flags (-X key=value
 * repeatable). Each tool passes a table of the options it accepts; the same
 * names serve as flags (--name) and as config-file keys. Config-file keys
 * that are not orderline options are librdkafka properties, like -X. */
#ifndef OL_OPTIONS_H
#define OL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ol_kv {
    char *key;
    char *value;
    char *origin; /* "-X" or "file:line", for error messages */
} ol_kv;

typedef struct ol_kvlist {
    ol_kv *items;
    size_t len;
    size_t cap;
} ol_kvlist;

/* OL_OPT_OPTIONAL_LONG: --name=N sets N; --name alone sets -1, "on, with
 * the tool's default" (a separate argument is never taken: it would be a
 * file name). */
typedef enum { OL_OPT_STRING, OL_OPT_LONG, OL_OPT_FLAG, OL_OPT_OPTIONAL_LONG } ol_opt_type;

typedef struct ol_option {
    const char *name; /* --name on the command line, name= in a config file */
    char short_name;  /* 0 when there is none */
    ol_opt_type type;
    const char *arg; /* placeholder shown by --help */
    long min, max;   /* bounds for OL_OPT_LONG */
    size_t offset;   /* from the start of the tool's settings struct (see ol_settings) */
    const char *help;
    const char *def; /* the default, written as on the command line; NULL: none (unset, 0 or
                        false). Applied first, and shown by --help. */
} ol_option;

/* What every tool shares. Each tool's settings are a struct of its own
 * whose first member is an ol_settings, so a tool's flags are its own
 * business: a row names its field by the offset in the tool's struct, and
 * the shared rows below (offsetof(ol_settings, ...)) hold in every one. */
typedef struct ol_settings {
    char *brokers;
    char *db;
    char *config_path;
    char *orders_topic;
    char *results_topic;
    char *carts_topic; /* carts (order-carts), key = cart_id */
    long partitions;   /* when creating missing topics */
    char *log_format;  /* text or json (ol_log); $ORDERLINE_LOG_FORMAT is its environment layer */
    bool progress;     /* --progress: a progress line even when stderr is not a terminal; after
                         ol_cli_settings, whether to show one at all */
    bool no_progress;  /* --no-progress: none even on a terminal (wins over --progress) */
    bool help;
    ol_kvlist kafka; /* librdkafka properties, in the order given */

    /* Positional arguments (producer input files); the strings are argv's. */
    char **args;
    size_t nargs;

    /* The tool's option table, kept by ol_settings_init: what the parsers
     * accept, and which strings ol_settings_destroy frees. Borrowed. */
    const ol_option *options;
    size_t n_options;
} ol_settings;

/* Starts a tool's settings. s is the first member of the tool's struct,
 * which is size bytes long: all of it is zeroed, the table kept, and every
 * row's default applied. False with err on allocation failure or on a
 * default its own row refuses (a bug in the table). */
bool ol_settings_init(ol_settings *s, size_t size, const ol_option *table, size_t n, char *err, size_t errlen);

/* Frees every string the table names (the tool's own too), the librdkafka
 * list and the argument list. Accepts NULL. */
void ol_settings_destroy(ol_settings *s);

/* Layer 2: $ORDERLINE_BROKERS, $ORDERLINE_DB and $ORDERLINE_LOG_FORMAT,
 * when set and non-empty. */
bool ol_settings_apply_env(ol_settings *s, char *err, size_t errlen);

/* Layer 3: parses the text of a config file. source names it in errors
 * ("FILE:LINE: ..."). Blank lines and lines starting with '#' are skipped. */
bool ol_settings_apply_config_text(ol_settings *s, const char *text, const char *source, char *err, size_t errlen);

/* Layers 3 and 4 from argv: finds --config (and --log-format, so that what
 * reading the files says is in that format) first, reads and applies
 * $ORDERLINE_CONFIG's file, then --config's, then applies every flag (flags
 * win over the file whatever their order).
 * Positional arguments are collected in s->args. */
bool ol_settings_parse_args(ol_settings *s, int argc, char **argv, char *err, size_t errlen);

/* Appends key=value (from -X or a file) to the librdkafka list. */
bool ol_kvlist_add(ol_kvlist *list, const char *key, const char *value, const char *origin);

/* Writes the option table as --help text, with each row's default. */
void ol_options_print_help(const ol_option *table, size_t n, const char *usage, const char *summary);

/* clang-format off */
/* Rows every tool includes. */
#define OL_OPT_COMMON                                                                                   \
    {"brokers", 'b', OL_OPT_STRING, "HOST:PORT", 0, 0, offsetof(ol_settings, brokers),                  \
     "Kafka bootstrap servers (default: $ORDERLINE_BROKERS)", NULL},                                    \
    {"config", 'c', OL_OPT_STRING, "FILE", 0, 0, offsetof(ol_settings, config_path),                    \
     "read key=value settings (orderline options or librdkafka properties)", NULL},                     \
    {"help", 'h', OL_OPT_FLAG, NULL, 0, 0, offsetof(ol_settings, help), "show this help", NULL},        \
    {"orders-topic", 0, OL_OPT_STRING, "NAME", 0, 0, offsetof(ol_settings, orders_topic),               \
     "topic of orders", "orders"},                                                                      \
    {"log-format", 0, OL_OPT_STRING, "FORMAT", 0, 0, offsetof(ol_settings, log_format),                 \
     "diagnostics on stderr as text, or json: one object per line (also $ORDERLINE_LOG_FORMAT)", "text"}

/* Rows shared by the tools that talk to PostgreSQL, read the results or
 * create topics. */
#define OL_OPT_DB                                                                                       \
    {"db", 'd', OL_OPT_STRING, "CONNINFO", 0, 0, offsetof(ol_settings, db),                             \
     "PostgreSQL conninfo (default: $ORDERLINE_DB, else libpq defaults)", NULL}
#define OL_OPT_RESULTS_TOPIC                                                                            \
    {"results-topic", 0, OL_OPT_STRING, "NAME", 0, 0, offsetof(ol_settings, results_topic),             \
     "topic of results", "order-results"}
#define OL_OPT_CARTS_TOPIC                                                                              \
    {"carts-topic", 0, OL_OPT_STRING, "NAME", 0, 0, offsetof(ol_settings, carts_topic),                 \
     "topic of carts (key = cart_id)", "carts"}
#define OL_OPT_PARTITIONS(what)                                                                         \
    {"partitions", 0, OL_OPT_LONG, "N", 1, 100000, offsetof(ol_settings, partitions),                   \
     "partitions when creating " what, "8"}
/* Rows of the tools that show a progress line on a terminal (ol_progress). */
#define OL_OPT_PROGRESS                                                                                 \
    {"progress", 0, OL_OPT_FLAG, NULL, 0, 0, offsetof(ol_settings, progress),                           \
     "show the progress line on stderr even when it is not a terminal", NULL},                          \
    {"no-progress", 0, OL_OPT_FLAG, NULL, 0, 0, offsetof(ol_settings, no_progress),                     \
     "no progress line, even on a terminal", NULL}
/* clang-format on */

#endif
