/* ol_options: settings for every orderline tool, layered like kcat:
 * built-in defaults -> environment ($ORDERLINE_BROKERS, $ORDERLINE_DB) ->
 * --config FILE (key=value lines) -> command-line flags (-X key=value
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

typedef struct ol_settings {
    /* Shared by the tools. */
    char *brokers;
    char *db;
    char *config_path;
    char *orders_topic;
    char *results_topic;
    char *dlq_topic;
    long partitions;
    bool help;
    ol_kvlist kafka; /* librdkafka properties, in the order given */

    /* order-consumer */
    char *group;
    long batch_max;
    long batch_linger_ms;
    long idle_exit_s;    /* 0: run until signalled */
    char *metrics_addr;  /* HOST:PORT for /metrics and /healthz; NULL: off */
    long db_connections; /* parallel batch transactions (lanes of partitions) */
    char *stats_file;    /* --stats-file: the /metrics text written at exit; NULL: off */

    /* order-producer */
    long generate; /* number of synthetic orders to write, 0: off */
    long items;
    long seed;
    long restock_pct;
    long duplicate_pct;
    long rate;      /* orders per second to publish at, 0: as fast as possible */
    long wait_s;    /* --wait[=SECONDS]: wait for every answer this long; 0: do not wait, -1: the default */
    char *acks_log; /* --acks-log FILE: one JSON line per delivery report; NULL: off */

    /* order-gateway */
    char *listen;    /* ADDR:PORT of the HTTP API */
    long max_wait_s; /* cap on Prefer: wait=N */

    /* Positional arguments (producer input files). */
    char **args;
    size_t nargs;

    /* order-results and order-audit */
    char *since;           /* --since TIME: RFC 3339 or relative (15m); NULL: not given */
    bool from_beginning;   /* order-results */
    bool follow;           /* order-results */
    bool summary;          /* order-results */
    char *format;          /* order-results: json or table; NULL: table on a terminal */
    char *filter_item;     /* order-results --item */
    char *filter_status;   /* order-results --status */
    char *filter_reason;   /* order-results --reason */
    char *filter_order_id; /* order-results --order-id */
    char *report_path;     /* order-audit --report FILE */
} ol_settings;

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
    size_t offset;   /* offsetof(ol_settings, field) */
    const char *help;
} ol_option;

/* Fills defaults shared by every tool. Returns false on allocation failure. */
bool ol_settings_init(ol_settings *s);
void ol_settings_destroy(ol_settings *s);

/* Layer 2: $ORDERLINE_BROKERS and $ORDERLINE_DB, when set and non-empty. */
bool ol_settings_apply_env(ol_settings *s, char *err, size_t errlen);

/* Layer 3: parses the text of a config file. source names it in errors
 * ("FILE:LINE: ..."). Blank lines and lines starting with '#' are skipped. */
bool ol_settings_apply_config_text(ol_settings *s, const ol_option *table, size_t n, const char *text,
                                   const char *source, char *err, size_t errlen);

/* Layers 3 and 4 from argv: finds --config first, reads and applies it, then
 * applies every flag (flags win over the file whatever their order).
 * Positional arguments are collected in s->args. */
bool ol_settings_parse_args(ol_settings *s, const ol_option *table, size_t n, int argc, char **argv, char *err,
                            size_t errlen);

/* Appends key=value (from -X or a file) to the librdkafka list. */
bool ol_kvlist_add(ol_kvlist *list, const char *key, const char *value, const char *origin);

/* Writes the option table as --help text. */
void ol_options_print_help(const ol_option *table, size_t n, const char *usage, const char *summary);

/* Common option rows every tool includes. */
#define OL_OPT_COMMON                                                                                                  \
    {"brokers",                                                                                                        \
     'b',                                                                                                              \
     OL_OPT_STRING,                                                                                                    \
     "HOST:PORT",                                                                                                      \
     0,                                                                                                                \
     0,                                                                                                                \
     offsetof(ol_settings, brokers),                                                                                   \
     "Kafka bootstrap servers (default: $ORDERLINE_BROKERS)"},                                                         \
        {"config",                                                                                                     \
         'c',                                                                                                          \
         OL_OPT_STRING,                                                                                                \
         "FILE",                                                                                                       \
         0,                                                                                                            \
         0,                                                                                                            \
         offsetof(ol_settings, config_path),                                                                           \
         "read key=value settings (orderline options or librdkafka properties)"},                                      \
        {"help", 'h', OL_OPT_FLAG, NULL, 0, 0, offsetof(ol_settings, help), "show this help"}, {                       \
        "orders-topic", 0, OL_OPT_STRING, "NAME", 0, 0, offsetof(ol_settings, orders_topic),                           \
            "topic of orders (default: orders)"                                                                        \
    }

/* Rows shared by the tools that talk to PostgreSQL / read the results. */
#define OL_OPT_DB                                                                                                      \
    {                                                                                                                  \
        "db", 'd', OL_OPT_STRING, "CONNINFO", 0, 0, offsetof(ol_settings, db),                                         \
            "PostgreSQL conninfo (default: $ORDERLINE_DB, else libpq defaults)"                                        \
    }
#define OL_OPT_RESULTS_TOPIC                                                                                           \
    {                                                                                                                  \
        "results-topic", 0, OL_OPT_STRING, "NAME", 0, 0, offsetof(ol_settings, results_topic),                         \
            "topic of results (default: order-results)"                                                                \
    }

#endif
