#include "ol_pg.h"

#include <stdlib.h>
#include <string.h>

#include "ol_log.h"
#include "ol_str.h"

/* Finds the password in a conninfo (key=value or URI form); "" if none. */
static void find_password(const char *conninfo, char *out, size_t outlen) {
    out[0] = '\0';
    if (!conninfo) return;
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    if (opts) {
        for (PQconninfoOption *o = opts; o->keyword; o++)
            if (strcmp(o->keyword, "password") == 0 && o->val) ol_strlcpy(out, o->val, outlen);
        PQconninfoFree(opts);
        return;
    }
    /* Unparseable: mask whatever follows "password=" up to a space. */
    const char *p = strstr(conninfo, "password=");
    if (!p) return;
    p += strlen("password=");
    size_t n = strcspn(p, " ");
    if (n >= outlen) n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

void ol_pg_redact(char *dst, size_t dstlen, const char *msg, const char *conninfo) {
    char secret[256];
    find_password(conninfo, secret, sizeof secret);
    size_t slen = strlen(secret);
    size_t o = 0;
    if (dstlen == 0) return;
    for (const char *p = msg; *p && o + 1 < dstlen;) {
        if (slen && strncmp(p, secret, slen) == 0) {
            for (const char *r = "***"; *r && o + 1 < dstlen; r++) dst[o++] = *r;
            p += slen;
        } else {
            dst[o++] = *p++;
        }
    }
    dst[o] = '\0';
    /* libpq ends its messages with a newline; logs add their own. */
    while (o > 0 && (dst[o - 1] == '\n' || dst[o - 1] == ' ')) dst[--o] = '\0';
}

void ol_pg_clean_message(char *dst, size_t dstlen, const char *msg, const char *conninfo) {
    if (dstlen == 0) return;
    ol_pg_redact(dst, dstlen, msg, conninfo);
    size_t o = 0;
    for (size_t i = 0; dst[i]; i++) {
        char c = dst[i] == '\n' || dst[i] == '\t' || dst[i] == '\r' ? ' ' : dst[i];
        if (c == ' ' && (o == 0 || dst[o - 1] == ' ')) continue;
        dst[o++] = c;
    }
    while (o > 0 && dst[o - 1] == ' ') o--;
    dst[o] = '\0';
}

void ol_pg_error(char *err, size_t errlen, const char *what, const PGresult *res, const PGconn *conn,
                 const char *conninfo) {
    const char *msg = res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    char safe[512];
    ol_pg_clean_message(safe, sizeof safe, msg ? msg : "", conninfo);
    if (what && what[0]) ol_seterr(err, errlen, "%s: %s", what, safe);
    else ol_seterr(err, errlen, "%s", safe);
}

/* Server notices (e.g. "relation already exists, skipping") are routine
 * here: keep them out of the logs unless debugging. */
static void quiet_notice(void *arg, const char *message) {
    (void)arg;
    ol_debug("postgres: %.*s", (int)strcspn(message, "\n"), message);
}

PGconn *ol_pg_connect(const char *conninfo, char *err, size_t errlen) {
    const char *info = conninfo ? conninfo : "";
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(info, &perr);
    if (!opts) {
        char safe[512];
        ol_pg_redact(safe, sizeof safe, perr ? perr : "out of memory", info);
        ol_seterr(err, errlen, "invalid PostgreSQL connection string: %s", safe);
        PQfreemem(perr);
        return NULL;
    }
    PQconninfoFree(opts);
    PGconn *conn = PQconnectdb(info);
    if (!conn) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char safe[512];
        ol_pg_redact(safe, sizeof safe, PQerrorMessage(conn), info);
        ol_seterr(err, errlen, "cannot connect to PostgreSQL: %s", safe);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, quiet_notice, NULL);
    return conn;
}

bool ol_pg_session_ended(const PGconn *conn, const PGresult *res) {
    if (PQstatus(conn) != CONNECTION_OK) return true;
    const char *severity = res ? PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
    return severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0);
}

bool ol_pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen) {
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        char safe[512];
        ol_pg_redact(safe, sizeof safe, PQerrorMessage(conn), NULL);
        ol_seterr(err, errlen, "%s", safe);
    }
    PQclear(res);
    return ok;
}

static bool migration_applied(PGconn *conn, const char *name, bool *applied, char *err, size_t errlen) {
    const char *params[1] = {name};
    PGresult *res =
        PQexecParams(conn, "SELECT 1 FROM orderline_migrations WHERE name = $1", 1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (ok) *applied = PQntuples(res) > 0;
    else ol_seterr(err, errlen, "checking migration %s: %s", name, PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

/* True when every migration is recorded. Any failure (no table yet, no
 * right to read it) says false: the full path then reports the cause. */
static bool all_applied(PGconn *conn) {
    PGresult *res = PQexec(conn, "SELECT to_regclass('orderline_migrations') IS NOT NULL");
    bool exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists) return false;
    res = PQexec(conn, "SELECT name FROM orderline_migrations");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    for (size_t i = 0; ok && i < ol_migrations_count; i++) {
        bool found = false;
        for (int r = 0; !found && r < PQntuples(res); r++)
            found = strcmp(PQgetvalue(res, r, 0), ol_migrations[i].name) == 0;
        ok = found;
    }
    PQclear(res);
    return ok;
}

bool ol_pg_migrate(PGconn *conn, char *err, size_t errlen) {
    char sub[512];
    /* Nothing to apply: no lock and no DDL, so that a role that may not
     * create tables (order-carts' on the secure stack) starts too. */
    if (all_applied(conn)) return true;
    /* Session-level advisory lock: consumers starting together wait here
     * instead of racing to create the same tables. */
    if (!ol_pg_exec(conn, "SELECT pg_advisory_lock(hashtext('orderline.migrations'))", sub, sizeof sub)) {
        ol_seterr(err, errlen, "migration lock: %s", sub);
        return false;
    }
    bool ok = ol_pg_exec(conn,
                         "CREATE TABLE IF NOT EXISTS orderline_migrations ("
                         " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                         sub, sizeof sub);
    if (!ok) ol_seterr(err, errlen, "migration table: %s", sub);
    for (size_t i = 0; ok && i < ol_migrations_count; i++) {
        const ol_migration *m = &ol_migrations[i];
        bool applied = false;
        ok = migration_applied(conn, m->name, &applied, err, errlen);
        if (!ok || applied) continue;
        const char *params[1] = {m->name};
        ok = ol_pg_exec(conn, "BEGIN", sub, sizeof sub) && ol_pg_exec(conn, m->sql, sub, sizeof sub);
        if (ok) {
            PGresult *res = PQexecParams(conn, "INSERT INTO orderline_migrations(name) VALUES ($1)", 1, NULL, params,
                                         NULL, NULL, 0);
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            if (!ok) ol_strlcpy(sub, PQerrorMessage(conn), sizeof sub);
            PQclear(res);
        }
        if (ok) ok = ol_pg_exec(conn, "COMMIT", sub, sizeof sub);
        if (!ok) {
            ol_seterr(err, errlen, "migration %s: %s", m->name, sub);
            PQclear(PQexec(conn, "ROLLBACK"));
        } else {
            ol_info("applied migration %s", m->name);
        }
    }
    char unlock_err[256];
    if (!ol_pg_exec(conn, "SELECT pg_advisory_unlock(hashtext('orderline.migrations'))", unlock_err, sizeof unlock_err))
        ol_warn("releasing migration lock: %s", unlock_err);
    return ok;
}

bool ol_pg_decision_from_row(const PGresult *res, int r, const char *topic, ol_result *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    ol_strlcpy(out->order_id, PQgetvalue(res, r, 0), sizeof out->order_id);
    ol_strlcpy(out->item, PQgetvalue(res, r, 1), sizeof out->item);
    out->has_order = true;
    const char *type = PQgetvalue(res, r, 2);
    out->quantity = (int32_t)strtol(PQgetvalue(res, r, 3), NULL, 10);
    if (!ol_order_type_parse(type, strlen(type), &out->type) || !ol_status_parse(PQgetvalue(res, r, 4), &out->status) ||
        !ol_reason_parse(PQgetisnull(res, r, 5) ? NULL : PQgetvalue(res, r, 5), &out->reason)) {
        ol_seterr(err, errlen, "orders row for '%s' has an unknown type, status or reason", out->order_id);
        return false;
    }
    out->has_remaining = !PQgetisnull(res, r, 6);
    if (out->has_remaining) out->remaining = strtoll(PQgetvalue(res, r, 6), NULL, 10);
    if (!PQgetisnull(res, r, 7)) ol_strlcpy(out->error, PQgetvalue(res, r, 7), sizeof out->error);
    bool same_topic = strcmp(PQgetvalue(res, r, 8), topic) == 0;
    out->partition = same_topic ? (int32_t)strtol(PQgetvalue(res, r, 9), NULL, 10) : -1;
    out->offset = strtoll(PQgetvalue(res, r, 10), NULL, 10);
    out->processed_at_us = strtoll(PQgetvalue(res, r, 11), NULL, 10);
    if (!PQgetisnull(res, r, 12)) ol_strlcpy(out->target, PQgetvalue(res, r, 12), sizeof out->target);
    if (!PQgetisnull(res, r, 13)) out->hold_expires_at_us = strtoll(PQgetvalue(res, r, 13), NULL, 10);
    return true;
}

bool ol_pg_life_from_row(const PGresult *res, int r, const ol_result *decided, ol_life *out, bool *changed) {
    static const struct {
        const char *name;
        ol_life_state state;
    } lives[] = {{"confirmed", OL_LIFE_CONFIRMED}, {"cancelled", OL_LIFE_CANCELLED}, {"expired", OL_LIFE_EXPIRED}};
    *changed = !PQgetisnull(res, r, 14);
    if (!*changed) return true;
    const char *life = PQgetvalue(res, r, 14);
    for (size_t i = 0; i < sizeof lives / sizeof lives[0]; i++)
        if (strcmp(life, lives[i].name) == 0) {
            int64_t deadline = lives[i].state == OL_LIFE_EXPIRED ? decided->hold_expires_at_us / 1000 : 0;
            *out = (ol_life){lives[i].state, decided->quantity, deadline};
            return true;
        }
    return false;
}
