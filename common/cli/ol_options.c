#include "ol_options.h"

#include "ol_str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ol_log.h"

static bool set_string(char **field, const char *value) {
    char *copy = strdup(value);
    if (!copy) return false;
    free(*field);
    *field = copy;
    return true;
}

static bool apply_option(ol_settings *s, const ol_option *opt, const char *value, const char *where, char *err,
                         size_t errlen);

bool ol_settings_init(ol_settings *s, size_t size, const ol_option *table, size_t n, char *err, size_t errlen) {
    memset(s, 0, size);
    s->options = table;
    s->n_options = n;
    for (size_t i = 0; i < n; i++) {
        if (!table[i].def) continue;
        char where[96];
        snprintf(where, sizeof where, "the default of --%.64s", table[i].name);
        if (!apply_option(s, &table[i], table[i].def, where, err, errlen)) return false;
    }
    return true;
}

void ol_settings_destroy(ol_settings *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_options; i++) {
        if (s->options[i].type != OL_OPT_STRING) continue;
        char **field = (char **)((char *)s + s->options[i].offset);
        free(*field);
        *field = NULL;
    }
    /* The shared strings a tool's table leaves out (NULL when it has them). */
    free(s->brokers);
    free(s->db);
    free(s->config_path);
    free(s->orders_topic);
    free(s->results_topic);
    free(s->log_format);
    for (size_t i = 0; i < s->kafka.len; i++) {
        free(s->kafka.items[i].key);
        free(s->kafka.items[i].value);
        free(s->kafka.items[i].origin);
    }
    free(s->kafka.items);
    free(s->args); /* the strings belong to argv */
    memset(s, 0, sizeof *s);
}

bool ol_kvlist_add(ol_kvlist *list, const char *key, const char *value, const char *origin) {
    if (list->len == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        ol_kv *items = realloc(list->items, cap * sizeof *items);
        if (!items) return false;
        list->items = items;
        list->cap = cap;
    }
    ol_kv kv = {strdup(key), strdup(value), strdup(origin)};
    if (!kv.key || !kv.value || !kv.origin) {
        free(kv.key);
        free(kv.value);
        free(kv.origin);
        return false;
    }
    list->items[list->len++] = kv;
    return true;
}

bool ol_settings_apply_env(ol_settings *s, char *err, size_t errlen) {
    const char *brokers = getenv("ORDERLINE_BROKERS");
    const char *db = getenv("ORDERLINE_DB");
    const char *log_format = getenv("ORDERLINE_LOG_FORMAT");
    if (brokers && *brokers && !set_string(&s->brokers, brokers)) goto oom;
    if (db && *db && !set_string(&s->db, db)) goto oom;
    if (log_format && *log_format && !set_string(&s->log_format, log_format)) goto oom;
    return true;
oom:
    ol_seterr(err, errlen, "out of memory");
    return false;
}

static const ol_option *find_long(const ol_option *table, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0) return &table[i];
    return NULL;
}

static const ol_option *find_short(const ol_option *table, size_t n, char c) {
    for (size_t i = 0; i < n; i++)
        if (table[i].short_name == c) return &table[i];
    return NULL;
}

/* Stores value into the field an option names. where prefixes errors. */
static bool apply_option(ol_settings *s, const ol_option *opt, const char *value, const char *where, char *err,
                         size_t errlen) {
    char *base = (char *)s;
    switch (opt->type) {
    case OL_OPT_STRING:
        if (!*value) {
            ol_seterr(err, errlen, "%s: --%s needs a non-empty value", where, opt->name);
            return false;
        }
        if (!set_string((char **)(base + opt->offset), value)) {
            ol_seterr(err, errlen, "out of memory");
            return false;
        }
        return true;
    case OL_OPT_OPTIONAL_LONG:
    case OL_OPT_LONG: {
        long v;
        if (!ol_parse_long(value, opt->min, opt->max, &v)) {
            ol_seterr(err, errlen, "%s: --%s expects an integer from %ld to %ld, got '%.64s'", where, opt->name,
                      opt->min, opt->max, value);
            return false;
        }
        *(long *)(base + opt->offset) = v;
        return true;
    }
    case OL_OPT_FLAG:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
            *(bool *)(base + opt->offset) = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
            *(bool *)(base + opt->offset) = false;
        } else {
            ol_seterr(err, errlen, "%s: %s expects true or false, got '%.64s'", where, opt->name, value);
            return false;
        }
        return true;
    }
    return false;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) *--end = '\0';
    return s;
}

bool ol_settings_apply_config_text(ol_settings *s, const char *text, const char *source, char *err, size_t errlen) {
    char *copy = strdup(text);
    if (!copy) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    bool ok = true;
    int lineno = 0;
    char *save = NULL;
    /* strtok_r would skip empty lines and lose numbering; split by hand. */
    for (char *line = copy; line && ok; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        lineno++;
        char *l = trim(line);
        if (*l == '\0' || *l == '#') continue;
        char where[256];
        snprintf(where, sizeof where, "%s:%d", source, lineno);
        char *eq = strchr(l, '=');
        if (!eq) {
            ol_seterr(err, errlen, "%s: expected key=value, got '%.64s'", where, l);
            ok = false;
            break;
        }
        *eq = '\0';
        char *key = trim(l);
        char *value = trim(eq + 1);
        if (!*key) {
            ol_seterr(err, errlen, "%s: empty key", where);
            ok = false;
            break;
        }
        const ol_option *opt = find_long(s->options, s->n_options, key, strlen(key));
        if (opt && (strcmp(opt->name, "config") == 0 || strcmp(opt->name, "help") == 0)) {
            ol_seterr(err, errlen, "%s: '%s' cannot be set in a config file", where, key);
            ok = false;
        } else if (opt) {
            ok = apply_option(s, opt, value, where, err, errlen);
        } else if (!ol_kvlist_add(&s->kafka, key, value, where)) {
            ol_seterr(err, errlen, "out of memory");
            ok = false;
        }
    }
    free(copy);
    return ok;
}

/* Reads a whole file; warns when others may read it (it may hold secrets).
 * label says where the path came from, for errors. */
static char *read_config_file(const char *path, const char *label, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        ol_seterr(err, errlen, "%s %s: %s", label, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
        ol_warn("config file %s is readable by other users; it may hold secrets (chmod 600 it)", path);
    ol_buf buf;
    ol_buf_init(&buf);
    char chunk[4096];
    size_t got;
    bool ok = true;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (!ol_buf_append(&buf, chunk, got)) {
            ok = false;
            break;
        }
    if (ferror(f)) {
        ol_seterr(err, errlen, "%s %s: read error", label, path);
        ok = false;
    } else if (!ok) {
        ol_seterr(err, errlen, "out of memory");
    }
    fclose(f);
    if (ok && !buf.data) ok = ol_buf_append(&buf, "", 0);
    if (!ok) {
        ol_buf_free(&buf);
        return NULL;
    }
    return buf.data;
}

static bool add_arg(ol_settings *s, char *arg) {
    char **args = realloc(s->args, (s->nargs + 1) * sizeof *args);
    if (!args) return false;
    s->args = args;
    s->args[s->nargs++] = arg;
    return true;
}

static bool apply_x(ol_settings *s, const char *kv, char *err, size_t errlen) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        ol_seterr(err, errlen, "-X expects key=value, got '%.64s'", kv);
        return false;
    }
    char key[256];
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof key) {
        ol_seterr(err, errlen, "-X key too long");
        return false;
    }
    memcpy(key, kv, klen);
    key[klen] = '\0';
    if (!ol_kvlist_add(&s->kafka, key, eq + 1, "-X")) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    return true;
}

/* The flags the first pass applies: --config, so that the file can be
 * layered beneath every other flag, and --log-format, so that the files'
 * warnings and errors are in it (the second pass applies it again, over
 * the files). */
static bool early_option(const ol_option *opt) {
    return strcmp(opt->name, "config") == 0 || strcmp(opt->name, "log-format") == 0;
}

/* One pass over argv. When config_only, only the early options are
 * applied; otherwise all but --config. */
static bool parse_pass(ol_settings *s, int argc, char **argv, bool config_only, char *err, size_t errlen) {
    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_positional || a[0] != '-' || strcmp(a, "-") == 0) {
            if (!config_only && !add_arg(s, a)) {
                ol_seterr(err, errlen, "out of memory");
                return false;
            }
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = true;
            continue;
        }
        const ol_option *opt = NULL;
        const char *value = NULL;
        char shown[80];
        if (a[1] == 'X' && a[2] == '\0') {
            if (i + 1 >= argc) {
                ol_seterr(err, errlen, "-X needs a key=value argument");
                return false;
            }
            i++;
            if (!config_only && !apply_x(s, argv[i], err, errlen)) return false;
            continue;
        } else if (a[1] == 'X') {
            if (!config_only && !apply_x(s, a + 2, err, errlen)) return false;
            continue;
        } else if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            opt = find_long(s->options, s->n_options, name, len);
            snprintf(shown, sizeof shown, "--%.*s", (int)(len > 60 ? 60 : len), name);
            if (eq) value = eq + 1;
        } else if (a[2] == '\0') {
            opt = find_short(s->options, s->n_options, a[1]);
            snprintf(shown, sizeof shown, "-%c", a[1]);
        }
        if (!opt) {
            ol_seterr(err, errlen, "unknown option '%.64s' (see --help)", a);
            return false;
        }
        if (opt->type == OL_OPT_OPTIONAL_LONG && !value) {
            if (!config_only) *(long *)((char *)s + opt->offset) = -1;
            continue;
        } else if (opt->type == OL_OPT_FLAG) {
            if (value) {
                ol_seterr(err, errlen, "%s takes no value", shown);
                return false;
            }
            value = "true";
        } else if (!value) {
            if (i + 1 >= argc) {
                ol_seterr(err, errlen, "%s needs a value (%s)", shown, opt->arg ? opt->arg : "VALUE");
                return false;
            }
            value = argv[++i];
        }
        bool is_config = strcmp(opt->name, "config") == 0;
        if (config_only ? !early_option(opt) : is_config) continue;
        if (!apply_option(s, opt, value, "command line", err, errlen)) return false;
    }
    return true;
}

static bool apply_config_file(ol_settings *s, const char *path, const char *label, char *err, size_t errlen) {
    char *text = read_config_file(path, label, err, errlen);
    if (!text) return false;
    bool ok = ol_settings_apply_config_text(s, text, path, err, errlen);
    free(text);
    return ok;
}

/* $ORDERLINE_CONFIG is a config file beneath --config: a deployment's
 * credentials (scripts/stack credentials) under a tool's own tuning. */
bool ol_settings_parse_args(ol_settings *s, int argc, char **argv, char *err, size_t errlen) {
    if (!parse_pass(s, argc, argv, true, err, errlen)) return false;
    if (s->log_format) ol_log_use_format(s->log_format); /* a bad name is refused after the last layer */
    const char *env_config = getenv("ORDERLINE_CONFIG");
    if (env_config && *env_config && !apply_config_file(s, env_config, "$ORDERLINE_CONFIG", err, errlen)) return false;
    if (s->config_path && !apply_config_file(s, s->config_path, "--config", err, errlen)) return false;
    return parse_pass(s, argc, argv, false, err, errlen);
}

void ol_options_print_help(const ol_option *table, size_t n, const char *usage, const char *summary) {
    printf("Usage: %s\n\n%s\n\nOptions:\n", usage, summary);
    for (size_t i = 0; i < n; i++) {
        const ol_option *o = &table[i];
        char left[64];
        if (o->type == OL_OPT_OPTIONAL_LONG)
            snprintf(left, sizeof left, "    --%s[=%s]", o->name, o->arg ? o->arg : "N");
        else if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        if (o->def) printf("  %-30s %s (default: %s)\n", left, o->help, o->def);
        else printf("  %-30s %s\n", left, o->help);
    }
    printf("  %-30s %s\n", "-X KEY=VALUE", "set a librdkafka property (repeatable)");
    printf(
        "\nSettings are layered: defaults, then $ORDERLINE_BROKERS/$ORDERLINE_DB/$ORDERLINE_LOG_FORMAT,\nthen the file "
        "$ORDERLINE_CONFIG names, then --config, then flags.\n");
}
