#include "ledger.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_pg.h"
#include "ol_pgarray.h"
#include "ol_str.h"

#define ROW_COLUMNS OL_PG_DECISION_COLUMNS

static const char SQL_POSITIONS[] =
    "SELECT partition, next_offset, results_offset FROM consumer_positions WHERE topic = $1 ORDER BY partition";
static const char SQL_INVENTORIES[] = "SELECT name, count FROM inventories";
/* starts is indexed by partition (PostgreSQL arrays from 1): a partition
 * beyond it reads NULL, hence 0. */
static const char SQL_STOCK_BEFORE[] =
    "SELECT item, sum(CASE WHEN type = 'restock' THEN quantity WHEN type = 'order' THEN -quantity"
    " WHEN type IN ('cancel', 'expire') THEN quantity ELSE 0 END)::bigint FROM orders"
    " WHERE kafka_topic = $1 AND status IN ('accepted', 'held')"
    " AND kafka_offset < coalesce(($2::bigint[])[kafka_partition + 1], 0) GROUP BY item";
static const char SQL_OPEN_ROWS[] =
    "DECLARE audit_rows NO SCROLL CURSOR FOR SELECT " ROW_COLUMNS " FROM orders"
    " WHERE kafka_topic = $1 AND kafka_offset >= coalesce(($2::bigint[])[kafka_partition + 1], 0)"
    " ORDER BY kafka_partition, kafka_offset";
/* Rows per FETCH: large enough that round trips do not matter, small
 * enough that a block stays a few MB. */
static const char SQL_FETCH_ROWS[] = "FETCH FORWARD 20000 FROM audit_rows";
/* Served by the partial index orders_open_holds. */
static const char SQL_OVERDUE_HOLDS[] =
    "SELECT " ROW_COLUMNS ", extract(epoch FROM now() - hold_expires_at)::bigint FROM orders"
    " WHERE kafka_topic = $1 AND status = 'held' AND life IS NULL"
    " AND hold_expires_at < now() - make_interval(secs => $2::int) ORDER BY kafka_partition, kafka_offset";
static const char SQL_LOOKUP[] = "SELECT " ROW_COLUMNS " FROM orders WHERE order_id = ANY($1::text[])";

struct audit_ledger {
    PGconn *conn;
    char *conninfo;
    char *topic;
    bool in_snapshot;
    PGresult *block; /* current FETCH block of the cursor */
    int block_row;
    bool cursor_open, cursor_done;
    ol_pgarray array;
};

audit_ledger *audit_ledger_new(const char *conninfo, const char *topic, char *err, size_t errlen) {
    audit_ledger *l = calloc(1, sizeof *l);
    if (!l) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    ol_pgarray_init(&l->array);
    l->conninfo = strdup(conninfo ? conninfo : "");
    l->topic = strdup(topic);
    if (!l->conninfo || !l->topic) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    l->conn = ol_pg_connect(l->conninfo, err, errlen);
    if (!l->conn) goto fail;
    return l;
fail:
    audit_ledger_destroy(l);
    return NULL;
}

void audit_ledger_destroy(audit_ledger *l) {
    if (!l) return;
    PQclear(l->block);
    if (l->conn) PQfinish(l->conn); /* an open snapshot ends with the session */
    ol_pgarray_free(&l->array);
    free(l->conninfo);
    free(l->topic);
    free(l);
}

/* Fails with the server's message (password-free) unless res has want. */
static bool check(audit_ledger *l, PGresult *res, ExecStatusType want, const char *what, char *err, size_t errlen) {
    if (PQresultStatus(res) == want) return true;
    ol_pg_error(err, errlen, what, res, l->conn, l->conninfo);
    return false;
}

/* The starts as an array literal indexed by partition. */
static const char *starts_array(audit_ledger *l, const int64_t *starts, int32_t n) {
    ol_pgarray_reset(&l->array);
    for (int32_t p = 0; p < n; p++)
        if (!ol_pgarray_add_int(&l->array, starts[p])) return NULL;
    return ol_pgarray_text(&l->array);
}

bool audit_ledger_snapshot(audit_ledger *l, audit_position **out, size_t *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    PGresult *res = PQexec(l->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    bool ok = check(l, res, PGRES_COMMAND_OK, "opening the snapshot", err, errlen);
    PQclear(res);
    if (!ok) return false;
    l->in_snapshot = true;
    const char *params[1] = {l->topic};
    res = PQexecParams(l->conn, SQL_POSITIONS, 1, NULL, params, NULL, NULL, 0);
    if (!check(l, res, PGRES_TUPLES_OK, "reading consumer_positions (has order-consumer run on this database?)", err,
               errlen)) {
        PQclear(res);
        return false;
    }
    int rows = PQntuples(res);
    *out = calloc((size_t)rows + 1, sizeof **out);
    if (!*out) {
        PQclear(res);
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    for (int r = 0; r < rows; r++)
        (*out)[r] =
            (audit_position){(int32_t)strtol(PQgetvalue(res, r, 0), NULL, 10), strtoll(PQgetvalue(res, r, 1), NULL, 10),
                             strtoll(PQgetvalue(res, r, 2), NULL, 10)};
    *n = (size_t)rows;
    PQclear(res);
    return true;
}

static bool each_stock(audit_ledger *l, PGresult *res, const char *what, audit_stock_fn fn, void *ctx, char *err,
                       size_t errlen) {
    bool ok = check(l, res, PGRES_TUPLES_OK, what, err, errlen);
    for (int r = 0; ok && r < PQntuples(res); r++)
        ok = fn(ctx, PQgetvalue(res, r, 0), strtoll(PQgetvalue(res, r, 1), NULL, 10), err, errlen);
    PQclear(res);
    return ok;
}

bool audit_ledger_inventories(audit_ledger *l, audit_stock_fn fn, void *ctx, char *err, size_t errlen) {
    return each_stock(l, PQexec(l->conn, SQL_INVENTORIES), "reading inventories", fn, ctx, err, errlen);
}

bool audit_ledger_stock_before(audit_ledger *l, const int64_t *starts, int32_t n, audit_stock_fn fn, void *ctx,
                               char *err, size_t errlen) {
    const char *params[2] = {l->topic, starts_array(l, starts, n)};
    if (!params[1]) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    return each_stock(l, PQexecParams(l->conn, SQL_STOCK_BEFORE, 2, NULL, params, NULL, NULL, 0),
                      "summing the ledger before the replay start", fn, ctx, err, errlen);
}

bool audit_ledger_open_rows(audit_ledger *l, const int64_t *starts, int32_t n, char *err, size_t errlen) {
    const char *params[2] = {l->topic, starts_array(l, starts, n)};
    if (!params[1]) {
        ol_seterr(err, errlen, "out of memory");
        return false;
    }
    PGresult *res = PQexecParams(l->conn, SQL_OPEN_ROWS, 2, NULL, params, NULL, NULL, 0);
    bool ok = check(l, res, PGRES_COMMAND_OK, "opening the ledger cursor", err, errlen);
    PQclear(res);
    l->cursor_open = ok;
    return ok;
}

bool audit_ledger_next_row(audit_ledger *l, ol_result *row, bool *has, char *err, size_t errlen) {
    *has = false;
    if (!l->cursor_open || l->cursor_done) return true;
    if (!l->block || l->block_row >= PQntuples(l->block)) {
        PQclear(l->block);
        l->block = PQexec(l->conn, SQL_FETCH_ROWS);
        l->block_row = 0;
        if (!check(l, l->block, PGRES_TUPLES_OK, "reading the ledger", err, errlen)) return false;
        if (PQntuples(l->block) == 0) {
            l->cursor_done = true;
            PQclear(l->block);
            l->block = NULL;
            return true;
        }
    }
    if (!ol_pg_decision_from_row(l->block, l->block_row++, l->topic, row, err, errlen)) return false;
    *has = true;
    return true;
}

bool audit_ledger_lookup(audit_ledger *l, const char *const *ids, size_t n, audit_row_fn fn, void *ctx, char *err,
                         size_t errlen) {
    ol_pgarray_reset(&l->array);
    for (size_t i = 0; i < n; i++)
        if (!ol_pgarray_add_text(&l->array, ids[i])) {
            ol_seterr(err, errlen, "out of memory");
            return false;
        }
    const char *params[1] = {ol_pgarray_text(&l->array)};
    PGresult *res = PQexecParams(l->conn, SQL_LOOKUP, 1, NULL, params, NULL, NULL, 0);
    bool ok = check(l, res, PGRES_TUPLES_OK, "looking up order_ids in the ledger", err, errlen);
    for (int r = 0; ok && r < PQntuples(res); r++) {
        ol_result row;
        ok = ol_pg_decision_from_row(res, r, l->topic, &row, err, errlen) && fn(ctx, &row, err, errlen);
    }
    PQclear(res);
    return ok;
}

bool audit_ledger_overdue_holds(audit_ledger *l, int slack_s, audit_hold_fn fn, void *ctx, char *err, size_t errlen) {
    char slack[16];
    snprintf(slack, sizeof slack, "%d", slack_s);
    const char *params[2] = {l->topic, slack};
    PGresult *res = PQexecParams(l->conn, SQL_OVERDUE_HOLDS, 2, NULL, params, NULL, NULL, 0);
    bool ok = check(l, res, PGRES_TUPLES_OK, "reading holds past their deadline", err, errlen);
    int last = ok ? PQnfields(res) - 1 : 0;
    for (int r = 0; ok && r < PQntuples(res); r++) {
        ol_result row;
        ok = ol_pg_decision_from_row(res, r, l->topic, &row, err, errlen) &&
             fn(ctx, &row, strtoll(PQgetvalue(res, r, last), NULL, 10), err, errlen);
    }
    PQclear(res);
    return ok;
}

bool audit_ledger_close(audit_ledger *l, char *err, size_t errlen) {
    if (!l->in_snapshot) return true;
    PQclear(l->block);
    l->block = NULL;
    l->cursor_open = false;
    l->in_snapshot = false;
    PGresult *res = PQexec(l->conn, "COMMIT");
    bool ok = check(l, res, PGRES_COMMAND_OK, "closing the snapshot", err, errlen);
    PQclear(res);
    return ok;
}
