#include "cart_store.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cart_outbox.h"
#include "ol_pg.h"
#include "ol_pgarray.h"
#include "ol_str.h"

/* Columns staged for the three batch statements. */
enum { C_ID, C_PART, C_OFF, C_STATE, C_CANCEL, C_HOLD, C_CREATED, C_EXPIRES, C_LINES, C_N };
enum { A_ID, A_CART, A_TYPE, A_STATUS, A_REASON, A_STATE, A_PART, A_OFF, A_JSON, A_N };
enum { O_PART, O_TOPIC, O_KEY, O_VALUE, O_N };

struct cart_store {
    PGconn *conn;
    char *conninfo;
    char *topic;
    ol_pgarray carts[C_N], answers[A_N], outbox[O_N];
    cart_outbox_row *staged; /* the outbox rows staged, kept to send after COMMIT */
    size_t n_staged, cap_staged;
};

enum {
    ST_POSITION_READ,
    ST_POSITION_INSERT,
    ST_FENCE,
    ST_OUT_READ,
    ST_OUT_DELETE,
    ST_DUE,
    ST_GAUGES,
    ST_OUT_COUNT,
    ST_LOAD_MANY,
    ST_ANSWERS_MANY,
    ST_PUT_MANY,
    ST_PUT_ANSWERS,
    ST_OUT_ADD_MANY,
    ST_COUNT
};

static const struct {
    const char *name, *sql;
} STATEMENTS[ST_COUNT] = {
    [ST_POSITION_READ] = {"carts_position",
                          "SELECT next_offset FROM cart_positions WHERE kafka_topic = $1 AND kafka_partition = $2"},
    [ST_POSITION_INSERT] = {"carts_position_new",
                            "INSERT INTO cart_positions (kafka_topic, kafka_partition, next_offset) VALUES ($1, $2, 0)"
                            " ON CONFLICT DO NOTHING"},
    [ST_FENCE] = {"carts_fence", "UPDATE cart_positions c SET next_offset = u.n"
                                 " FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS u(p, e, n)"
                                 " WHERE c.kafka_topic = $1 AND c.kafka_partition = u.p AND c.next_offset = u.e"
                                 " RETURNING c.kafka_partition"},
    [ST_OUT_READ] = {"carts_out_read", "SELECT id, kafka_partition, topic, msg_key, value FROM cart_outbox"
                                       " WHERE kafka_partition = ANY($1::int[]) AND id > $2 ORDER BY id LIMIT $3"},
    [ST_OUT_DELETE] = {"carts_out_delete", "DELETE FROM cart_outbox WHERE id = ANY($1::bigint[])"},
    [ST_DUE] = {"carts_due", "SELECT cart_id, (extract(epoch FROM hold_expires_at) * 1000)::bigint FROM carts"
                             " WHERE kafka_topic = $1 AND kafka_partition = ANY($2::int[]) AND state = 'held' AND"
                             " hold_expires_at <= to_timestamp($3::bigint / 1000.0) ORDER BY hold_expires_at LIMIT $4"},
    [ST_GAUGES] = {"carts_gauges",
                   "SELECT count(*), count(*) FILTER (WHERE hold_expires_at < to_timestamp($3::bigint / 1000.0))"
                   " FROM carts WHERE kafka_topic = $1 AND kafka_partition = ANY($2::int[]) AND state = 'held'"},
    /* "id > 0": a range of the primary key, the outbox's only index
     * (migration 006); a partition filter alone is a scan of the table. */
    [ST_OUT_COUNT] = {"carts_out_count",
                      "SELECT count(*) FROM cart_outbox WHERE id > 0 AND kafka_partition = ANY($1::int[])"},
    [ST_LOAD_MANY] = {"carts_load_many",
                      "SELECT cart_id, state, cancel_pending, hold_s, created_ms, kafka_partition, kafka_offset,"
                      " lines::text FROM carts WHERE cart_id = ANY($1::text[])"},
    [ST_ANSWERS_MANY] = {"carts_answers_many",
                         "SELECT order_id, answer::text FROM cart_messages WHERE order_id = ANY($1::text[])"},
    [ST_PUT_MANY] = {"carts_put_many",
                     "INSERT INTO carts (cart_id, kafka_topic, kafka_partition, kafka_offset, state, cancel_pending,"
                     " hold_s, created_ms, hold_expires_at, lines) SELECT u.id, $1, u.p, u.o, u.st, u.cp, u.h, u.c,"
                     " CASE WHEN u.e > 0 THEN to_timestamp(u.e / 1000.0) END, u.l::jsonb FROM unnest($2::text[],"
                     " $3::int[], $4::bigint[], $5::text[], $6::bool[], $7::int[], $8::bigint[], $9::bigint[],"
                     " $10::text[]) AS u(id, p, o, st, cp, h, c, e, l)"
                     " ON CONFLICT (cart_id) DO UPDATE SET state = EXCLUDED.state, cancel_pending ="
                     " EXCLUDED.cancel_pending, hold_expires_at = EXCLUDED.hold_expires_at, lines = EXCLUDED.lines,"
                     " updated_at = now()"},
    [ST_PUT_ANSWERS] = {"carts_put_answers",
                        "INSERT INTO cart_messages (order_id, cart_id, type, status, reason, state, kafka_topic,"
                        " kafka_partition, kafka_offset, answer) SELECT u.id, u.c, u.t, u.s, u.r, u.st, $1, u.p, u.o,"
                        " u.a::jsonb FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
                        " $7::text[], $8::int[], $9::bigint[], $10::text[]) AS u(id, c, t, s, r, st, p, o, a)"},
    [ST_OUT_ADD_MANY] = {"carts_out_add_many",
                         "INSERT INTO cart_outbox (kafka_partition, topic, msg_key, value) SELECT u.p, u.t, u.k, u.v"
                         " FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY"
                         " AS u(p, t, k, v, n) ORDER BY u.n RETURNING id"},
};

/* A failed statement: retry when the connection or the transaction can be
 * made again (the session ended, a serialization failure, a lock wait over
 * lock_timeout: 55P03), else broken. No result at all is the connection's
 * failure too: libpq may not have marked the connection bad yet when a
 * pipeline's sync never came (the server ended the session mid-pipeline). */
static cart_store_status classify(cart_store *s, PGresult *res, const char *what, char *err, size_t errlen) {
    ol_pg_error(err, errlen, what, res, s->conn, s->conninfo);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    bool retry = !res || ol_pg_session_ended(s->conn, res) ||
                 (state && (strncmp(state, "40", 2) == 0 || strncmp(state, "08", 2) == 0 ||
                            strncmp(state, "57P", 3) == 0 || strcmp(state, "55P03") == 0));
    return retry ? CART_STORE_RETRY : CART_STORE_BROKEN;
}

static cart_store_status run(cart_store *s, int st, int n, const char *const *params, ExecStatusType want,
                             PGresult **out, char *err, size_t errlen) {
    PGresult *res = PQexecPrepared(s->conn, STATEMENTS[st].name, n, params, NULL, NULL, 0);
    if (PQresultStatus(res) != want) {
        cart_store_status status = classify(s, res, STATEMENTS[st].name, err, errlen);
        PQclear(res);
        return status;
    }
    if (out) *out = res;
    else PQclear(res);
    return CART_STORE_OK;
}

static cart_store_status connect_store(cart_store *s, char *err, size_t errlen) {
    PQfinish(s->conn);
    s->conn = ol_pg_connect(s->conninfo, err, errlen);
    if (!s->conn) return CART_STORE_RETRY;
    if (!ol_pg_migrate(s->conn, err, errlen)) return CART_STORE_BROKEN;
    if (!ol_pg_exec(s->conn, OL_PG_KEYED_SETTINGS, err, errlen)) /* ol_pg.h says why */
        return cart_store_connected(s) ? CART_STORE_BROKEN : CART_STORE_RETRY;
    for (int i = 0; i < ST_COUNT; i++) {
        PGresult *res = PQprepare(s->conn, STATEMENTS[i].name, STATEMENTS[i].sql, 0, NULL);
        cart_store_status st =
            PQresultStatus(res) == PGRES_COMMAND_OK ? CART_STORE_OK : classify(s, res, "preparing", err, errlen);
        PQclear(res);
        if (st != CART_STORE_OK) return st;
    }
    return CART_STORE_OK;
}

cart_store *cart_store_new(const char *conninfo, const char *topic, char *err, size_t errlen) {
    cart_store *s = calloc(1, sizeof *s);
    if (s) {
        for (int i = 0; i < C_N; i++) ol_pgarray_init(&s->carts[i]);
        for (int i = 0; i < A_N; i++) ol_pgarray_init(&s->answers[i]);
        for (int i = 0; i < O_N; i++) ol_pgarray_init(&s->outbox[i]);
    }
    if (!s || !(s->conninfo = strdup(conninfo ? conninfo : "")) || !(s->topic = strdup(topic))) {
        ol_seterr(err, errlen, "out of memory");
        cart_store_destroy(s);
        return NULL;
    }
    if (connect_store(s, err, errlen) != CART_STORE_OK) {
        cart_store_destroy(s);
        return NULL;
    }
    return s;
}

void cart_store_destroy(cart_store *s) {
    if (!s) return;
    PQfinish(s->conn);
    for (int i = 0; i < C_N; i++) ol_pgarray_free(&s->carts[i]);
    for (int i = 0; i < A_N; i++) ol_pgarray_free(&s->answers[i]);
    for (int i = 0; i < O_N; i++) ol_pgarray_free(&s->outbox[i]);
    cart_store_unstage(s);
    free(s->staged);
    free(s->conninfo);
    free(s->topic);
    free(s);
}

cart_store_status cart_store_reconnect(cart_store *s, char *err, size_t errlen) {
    return connect_store(s, err, errlen);
}

static void int_array(char *out, size_t len, const int32_t *v, size_t n) {
    size_t used = (size_t)snprintf(out, len, "{");
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%" PRId32, i ? "," : "", v[i]);
    if (used < len) snprintf(out + used, len - used, "}");
}

cart_store_status cart_store_positions(cart_store *s, const int32_t *partitions, size_t n, int64_t *next, char *err,
                                       size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        char p[16];
        snprintf(p, sizeof p, "%" PRId32, partitions[i]);
        const char *params[] = {s->topic, p};
        PGresult *res = NULL;
        cart_store_status st = run(s, ST_POSITION_INSERT, 2, params, PGRES_COMMAND_OK, NULL, err, errlen);
        if (st == CART_STORE_OK) st = run(s, ST_POSITION_READ, 2, params, PGRES_TUPLES_OK, &res, err, errlen);
        if (st != CART_STORE_OK) return st;
        next[i] = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        PQclear(res);
    }
    return CART_STORE_OK;
}

void cart_store_rollback(cart_store *s) {
    if (PQstatus(s->conn) == CONNECTION_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
}

static void int64_array(char *out, size_t len, const int64_t *v, size_t n) {
    size_t used = (size_t)snprintf(out, len, "{");
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%" PRId64, i ? "," : "", v[i]);
    if (used < len) snprintf(out + used, len - used, "}");
}

/* The partition of the n that the statement did not move, for the error. */
static int32_t unmoved(const PGresult *res, const int32_t *partitions, size_t n) {
    for (size_t i = 0; i < n; i++) {
        bool moved = false;
        for (int r = 0; !moved && r < PQntuples(res); r++) moved = atoi(PQgetvalue(res, r, 0)) == partitions[i];
        if (!moved) return partitions[i];
    }
    return -1;
}

void cart_outbox_row_free(cart_outbox_row *row) {
    if (!row) return;
    free(row->key);
    free(row->value);
    row->key = row->value = NULL;
}

cart_store_status cart_store_outbox_read(cart_store *s, const int32_t *partitions, size_t n, int64_t after_id,
                                         cart_outbox_row *rows, size_t cap, size_t *n_rows, char *err, size_t errlen) {
    char parts[8192], after[24], limit[16];
    int_array(parts, sizeof parts, partitions, n);
    snprintf(after, sizeof after, "%" PRId64, after_id);
    snprintf(limit, sizeof limit, "%zu", cap);
    const char *params[] = {parts, after, limit};
    PGresult *res = NULL;
    *n_rows = 0;
    cart_store_status st = run(s, ST_OUT_READ, 3, params, PGRES_TUPLES_OK, &res, err, errlen);
    for (int r = 0; st == CART_STORE_OK && r < PQntuples(res); r++) {
        cart_outbox_row *row = &rows[*n_rows];
        row->id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        row->partition = (int32_t)atol(PQgetvalue(res, r, 1));
        row->topic = strcmp(PQgetvalue(res, r, 2), "orders") == 0 ? CART_OUT_ORDERS : CART_OUT_RESULTS;
        row->key = strdup(PQgetvalue(res, r, 3));
        row->value = strdup(PQgetvalue(res, r, 4));
        (*n_rows)++;
        if (!row->key || !row->value) {
            ol_seterr(err, errlen, "out of memory");
            st = CART_STORE_BROKEN;
        }
    }
    PQclear(res);
    if (st != CART_STORE_OK) {
        for (size_t i = 0; i < *n_rows; i++) cart_outbox_row_free(&rows[i]);
        *n_rows = 0;
    }
    return st;
}

cart_store_status cart_store_outbox_delete(cart_store *s, const int64_t *ids, size_t n, char *err, size_t errlen) {
    ol_buf b;
    ol_buf_init(&b);
    bool ok = ol_buf_appends(&b, "{");
    for (size_t i = 0; ok && i < n; i++) ok = (!i || ol_buf_appends(&b, ",")) && ol_buf_append_int(&b, ids[i]);
    ok = ok && ol_buf_appends(&b, "}");
    if (!ok) {
        ol_buf_free(&b);
        ol_seterr(err, errlen, "out of memory");
        return CART_STORE_BROKEN;
    }
    const char *params[] = {b.data};
    cart_store_status st = run(s, ST_OUT_DELETE, 1, params, PGRES_COMMAND_OK, NULL, err, errlen);
    ol_buf_free(&b);
    return st;
}

cart_store_status cart_store_due(cart_store *s, const int32_t *partitions, size_t n, int64_t now_ms,
                                 char (*ids)[OL_CART_ID_MAX + 1], int64_t *deadline_ms, size_t cap, size_t *n_out,
                                 char *err, size_t errlen) {
    char parts[8192], now[24], limit[16];
    int_array(parts, sizeof parts, partitions, n);
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(limit, sizeof limit, "%zu", cap);
    const char *params[] = {s->topic, parts, now, limit};
    PGresult *res = NULL;
    *n_out = 0;
    cart_store_status st = run(s, ST_DUE, 4, params, PGRES_TUPLES_OK, &res, err, errlen);
    for (int r = 0; st == CART_STORE_OK && r < PQntuples(res) && *n_out < cap; r++) {
        ol_strlcpy(ids[*n_out], PQgetvalue(res, r, 0), OL_CART_ID_MAX + 1);
        deadline_ms[*n_out] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        (*n_out)++;
    }
    PQclear(res);
    return st;
}

cart_store_status cart_store_gauges(cart_store *s, const int32_t *partitions, size_t n, int64_t overdue_before_ms,
                                    cart_store_gauge_values *out, char *err, size_t errlen) {
    char parts[8192], before[24];
    int_array(parts, sizeof parts, partitions, n);
    snprintf(before, sizeof before, "%" PRId64, overdue_before_ms);
    const char *params[] = {s->topic, parts, before};
    PGresult *res = NULL;
    cart_store_status st = run(s, ST_GAUGES, 3, params, PGRES_TUPLES_OK, &res, err, errlen);
    if (st == CART_STORE_OK && PQntuples(res) == 1) {
        out->held = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->overdue = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return st;
}

cart_store_status cart_store_outbox_count(cart_store *s, const int32_t *partitions, size_t n, int64_t *count, char *err,
                                          size_t errlen) {
    char parts[8192];
    int_array(parts, sizeof parts, partitions, n);
    const char *params[] = {parts};
    PGresult *res = NULL;
    cart_store_status st = run(s, ST_OUT_COUNT, 1, params, PGRES_TUPLES_OK, &res, err, errlen);
    if (st == CART_STORE_OK && PQntuples(res) == 1) *count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return st;
}

bool cart_store_connected(const cart_store *s) { return s && s->conn && PQstatus(s->conn) == CONNECTION_OK; }

/* ---- batches: two round trips each, in pipeline mode ------------------- */

static bool text_array(ol_pgarray *a, const char *const *v, size_t n) {
    ol_pgarray_reset(a);
    for (size_t i = 0; i < n; i++)
        if (!ol_pgarray_add_text(a, v[i])) return false;
    return ol_pgarray_text(a) != NULL;
}

/* libpq copies the parameters into its output buffer as they are sent. */
static bool send_prepared(cart_store *s, int st, int n, const char *const *params) {
    return PQsendQueryPrepared(s->conn, STATEMENTS[st].name, n, params, NULL, NULL, 0) == 1;
}

static bool send_plain(cart_store *s, const char *sql) {
    return PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

/* One statement's result and the NULL that ends it, or NULL with *status
 * set (the first failure names the cause; what follows is only aborted). */
static PGresult *pipe_result(cart_store *s, ExecStatusType want, const char *what, cart_store_status *status, char *err,
                             size_t errlen) {
    PGresult *res = PQgetResult(s->conn);
    if (res && PQresultStatus(res) == want) {
        PQclear(PQgetResult(s->conn));
        return res;
    }
    if (*status == CART_STORE_OK) *status = classify(s, res, what, err, errlen);
    PQclear(res);
    return NULL;
}

static cart_store_status pipe_command(cart_store *s, const char *what, char *err, size_t errlen) {
    cart_store_status st = CART_STORE_OK;
    PQclear(pipe_result(s, PGRES_COMMAND_OK, what, &st, err, errlen));
    return st;
}

/* The sync that ends a round trip, then out of pipeline mode. */
static cart_store_status pipe_end(cart_store *s, char *err, size_t errlen) {
    PGresult *res = PQgetResult(s->conn);
    if (!res || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
        cart_store_status st = classify(s, res, "the batch's pipeline sync", err, errlen);
        PQclear(res);
        return st;
    }
    PQclear(res);
    if (PQexitPipelineMode(s->conn) != 1) return classify(s, NULL, "leaving pipeline mode", err, errlen);
    return CART_STORE_OK;
}

/* After a failure: reads what the round trip still owes up to its sync
 * (two NULLs in a row: nothing is pending, the sync was read), leaves
 * pipeline mode and rolls back. st becomes RETRY (a new connection) unless
 * the connection is usable again. */
static cart_store_status pipe_abort(cart_store *s, cart_store_status st) {
    for (int nulls = 0;
         nulls < 2 && PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF && PQstatus(s->conn) == CONNECTION_OK;) {
        PGresult *res = PQgetResult(s->conn);
        nulls = res ? 0 : nulls + 1;
        bool sync = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (sync) break;
    }
    bool usable = (PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF || PQexitPipelineMode(s->conn) == 1) &&
                  PQstatus(s->conn) == CONNECTION_OK;
    if (usable && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(s->conn, "ROLLBACK");
        usable = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    return usable || st == CART_STORE_BROKEN ? st : CART_STORE_RETRY;
}

/* The fence's rows: one per partition it moved. */
static cart_store_status read_fence(cart_store *s, const cart_store_batch *b, char *err, size_t errlen) {
    cart_store_status st = CART_STORE_OK;
    PGresult *res = pipe_result(s, PGRES_TUPLES_OK, STATEMENTS[ST_FENCE].name, &st, err, errlen);
    if (!res) return st;
    int32_t lost = (size_t)PQntuples(res) == b->n_fence ? -1 : unmoved(res, b->partitions, b->n_fence);
    PQclear(res);
    if (lost < 0) return CART_STORE_OK;
    for (size_t i = 0; i < b->n_fence; i++)
        if (b->partitions[i] == lost)
            ol_seterr(err, errlen, "carts topic [%" PRId32 "]: the stored position is no longer %" PRId64, lost,
                      b->expected[i]);
    return CART_STORE_FENCED;
}

static cart_store_status read_carts(cart_store *s, const cart_store_batch *b, char *err, size_t errlen) {
    cart_store_status st = CART_STORE_OK;
    PGresult *res = pipe_result(s, PGRES_TUPLES_OK, STATEMENTS[ST_LOAD_MANY].name, &st, err, errlen);
    if (!res) return st;
    cart_record *rec = malloc(sizeof *rec);
    if (!rec) {
        ol_seterr(err, errlen, "out of memory");
        st = CART_STORE_BROKEN;
    }
    for (int r = 0; st == CART_STORE_OK && r < PQntuples(res); r++) {
        if (!cart_record_from_columns(rec, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                                      PQgetvalue(res, r, 2)[0] == 't', (int32_t)atol(PQgetvalue(res, r, 3)),
                                      strtoll(PQgetvalue(res, r, 4), NULL, 10), (int32_t)atol(PQgetvalue(res, r, 5)),
                                      strtoll(PQgetvalue(res, r, 6), NULL, 10), PQgetvalue(res, r, 7), err, errlen) ||
            !b->on_cart(b->opaque, rec))
            st = CART_STORE_BROKEN;
    }
    free(rec);
    PQclear(res);
    return st;
}

static cart_store_status read_answers(cart_store *s, const cart_store_batch *b, char *err, size_t errlen) {
    cart_store_status st = CART_STORE_OK;
    PGresult *res = pipe_result(s, PGRES_TUPLES_OK, STATEMENTS[ST_ANSWERS_MANY].name, &st, err, errlen);
    for (int r = 0; res && st == CART_STORE_OK && r < PQntuples(res); r++) {
        if (!b->on_answer(b->opaque, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1))) {
            ol_seterr(err, errlen, "out of memory");
            st = CART_STORE_BROKEN;
        }
    }
    PQclear(res);
    return st;
}

/* The results in the order sent; the fence first, so that a fenced batch
 * hands no row to the callbacks. */
static cart_store_status read_batch(cart_store *s, const cart_store_batch *b, char *err, size_t errlen) {
    cart_store_status st = pipe_command(s, "BEGIN", err, errlen);
    if (st == CART_STORE_OK && b->n_fence) st = read_fence(s, b, err, errlen);
    if (st == CART_STORE_OK && b->n_carts) st = read_carts(s, b, err, errlen);
    if (st == CART_STORE_OK && b->n_orders) st = read_answers(s, b, err, errlen);
    if (st == CART_STORE_OK) st = pipe_end(s, err, errlen);
    return st == CART_STORE_OK ? st : pipe_abort(s, st);
}

cart_store_status cart_store_open_batch(cart_store *s, const cart_store_batch *b, char *err, size_t errlen) {
    char parts[8192], exp[16384], nxt[16384];
    int_array(parts, sizeof parts, b->partitions, b->n_fence);
    int64_array(exp, sizeof exp, b->expected, b->n_fence);
    int64_array(nxt, sizeof nxt, b->next, b->n_fence);
    ol_pgarray carts, orders;
    ol_pgarray_init(&carts);
    ol_pgarray_init(&orders);
    cart_store_status st = CART_STORE_OK;
    if (!text_array(&carts, b->cart_ids, b->n_carts) || !text_array(&orders, b->order_ids, b->n_orders)) {
        ol_seterr(err, errlen, "out of memory");
        st = CART_STORE_BROKEN;
    } else if (PQenterPipelineMode(s->conn) != 1) {
        st = classify(s, NULL, "entering pipeline mode", err, errlen);
    } else {
        const char *fence[] = {s->topic, parts, exp, nxt}, *cart_ids[] = {ol_pgarray_text(&carts)},
                   *order_ids[] = {ol_pgarray_text(&orders)};
        bool sent = send_plain(s, "BEGIN") && (!b->n_fence || send_prepared(s, ST_FENCE, 4, fence)) &&
                    (!b->n_carts || send_prepared(s, ST_LOAD_MANY, 1, cart_ids)) &&
                    (!b->n_orders || send_prepared(s, ST_ANSWERS_MANY, 1, order_ids)) && PQpipelineSync(s->conn) == 1;
        st = sent ? read_batch(s, b, err, errlen)
                  : pipe_abort(s, classify(s, NULL, "sending the batch's reads", err, errlen));
    }
    ol_pgarray_free(&carts);
    ol_pgarray_free(&orders);
    return st;
}

bool cart_store_stage_cart(cart_store *s, const cart_record *rec) {
    char *lines = cart_record_lines_json(rec);
    ol_pgarray *c = s->carts;
    bool ok = lines && ol_pgarray_add_text(&c[C_ID], rec->cart.cart_id) &&
              ol_pgarray_add_int(&c[C_PART], rec->partition) && ol_pgarray_add_int(&c[C_OFF], rec->offset) &&
              ol_pgarray_add_text(&c[C_STATE], ol_cart_status_name(rec->flow.status)) &&
              ol_pgarray_add_text(&c[C_CANCEL], rec->flow.cancel_pending ? "t" : "f") &&
              ol_pgarray_add_int(&c[C_HOLD], rec->flow.hold_s) && ol_pgarray_add_int(&c[C_CREATED], rec->created_ms) &&
              ol_pgarray_add_int(&c[C_EXPIRES], rec->flow.status == OL_CART_HELD ? rec->flow.expires_at_ms : 0) &&
              ol_pgarray_add_text(&c[C_LINES], lines);
    free(lines);
    return ok;
}

static bool add_text_or_null(ol_pgarray *a, const char *text) {
    return text ? ol_pgarray_add_text(a, text) : ol_pgarray_add_null(a);
}

bool cart_store_stage_answer(cart_store *s, const cart_answer *a, const char *cart_id, int32_t partition,
                             int64_t offset, const char *json) {
    ol_pgarray *c = s->answers;
    return ol_pgarray_add_text(&c[A_ID], a->order_id) && add_text_or_null(&c[A_CART], cart_id[0] ? cart_id : NULL) &&
           ol_pgarray_add_text(&c[A_TYPE], a->type) && ol_pgarray_add_text(&c[A_STATUS], ol_status_name(a->status)) &&
           add_text_or_null(&c[A_REASON], a->reason == OL_REASON_NONE ? NULL : ol_reason_name(a->reason)) &&
           add_text_or_null(&c[A_STATE], a->has_state ? ol_cart_status_name(a->state) : NULL) &&
           ol_pgarray_add_int(&c[A_PART], partition) && ol_pgarray_add_int(&c[A_OFF], offset) &&
           ol_pgarray_add_text(&c[A_JSON], json);
}

/* A copy of the row too, to be sent once committed. */
bool cart_store_stage_outbox(cart_store *s, int32_t partition, cart_out_topic topic, const char *key,
                             const char *value) {
    if (s->n_staged == s->cap_staged) {
        size_t cap = s->cap_staged ? 2 * s->cap_staged : 256;
        cart_outbox_row *p = realloc(s->staged, cap * sizeof *p);
        if (!p) return false;
        s->staged = p;
        s->cap_staged = cap;
    }
    cart_outbox_row *row = &s->staged[s->n_staged];
    *row =
        (cart_outbox_row){.id = 0, .partition = partition, .topic = topic, .key = strdup(key), .value = strdup(value)};
    if (!row->key || !row->value) {
        cart_outbox_row_free(row);
        return false;
    }
    s->n_staged++;
    ol_pgarray *c = s->outbox;
    return ol_pgarray_add_int(&c[O_PART], partition) &&
           ol_pgarray_add_text(&c[O_TOPIC], topic == CART_OUT_ORDERS ? "orders" : "results") &&
           ol_pgarray_add_text(&c[O_KEY], key) && ol_pgarray_add_text(&c[O_VALUE], value);
}

/* One staged statement's parameters: the topic when with_topic, then the
 * arrays' literals. 0 when it has no rows, -1 out of memory. */
static int staged_params(cart_store *s, ol_pgarray *arrays, int n, bool with_topic, const char **params) {
    if (arrays[0].count == 0) return 0;
    int k = 0;
    if (with_topic) params[k++] = s->topic;
    for (int i = 0; i < n; i++)
        if (!(params[k++] = ol_pgarray_text(&arrays[i]))) return -1;
    return k;
}

/* The ids RETURNING gave the outbox rows, onto the staged copies. The
 * COMMIT queued behind still runs if this fails: BROKEN then ends the
 * process, and the next start sends the rows from the table. */
static cart_store_status read_outbox_ids(cart_store *s, char *err, size_t errlen) {
    cart_store_status st = CART_STORE_OK;
    PGresult *res = pipe_result(s, PGRES_TUPLES_OK, STATEMENTS[ST_OUT_ADD_MANY].name, &st, err, errlen);
    if (!res) return st;
    size_t n = (size_t)PQntuples(res);
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) {
        ol_seterr(err, errlen, "out of memory");
        st = CART_STORE_BROKEN;
    }
    for (size_t r = 0; ids && r < n; r++) ids[r] = strtoll(PQgetvalue(res, (int)r, 0), NULL, 10);
    if (ids && !cart_outbox_ids_in_order(ids, n, s->n_staged)) {
        ol_seterr(err, errlen, "%s: %zu ids returned for %zu rows", STATEMENTS[ST_OUT_ADD_MANY].name, n, s->n_staged);
        st = CART_STORE_BROKEN;
    }
    for (size_t i = 0; st == CART_STORE_OK && i < n; i++) s->staged[i].id = ids[i];
    free(ids);
    PQclear(res);
    return st;
}

/* The writes' results, COMMIT's (a COMMIT of an aborted transaction
 * reports ROLLBACK), then the sync. */
static cart_store_status read_commit(cart_store *s, bool carts, bool answers, bool outbox, char *err, size_t errlen) {
    cart_store_status st = CART_STORE_OK;
    if (carts) st = pipe_command(s, STATEMENTS[ST_PUT_MANY].name, err, errlen);
    if (st == CART_STORE_OK && answers) st = pipe_command(s, STATEMENTS[ST_PUT_ANSWERS].name, err, errlen);
    if (st == CART_STORE_OK && outbox) st = read_outbox_ids(s, err, errlen);
    PGresult *res = st == CART_STORE_OK ? pipe_result(s, PGRES_COMMAND_OK, "COMMIT", &st, err, errlen) : NULL;
    if (res && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        ol_seterr(err, errlen, "the batch's transaction was rolled back by the server");
        st = CART_STORE_RETRY;
    }
    PQclear(res);
    if (st == CART_STORE_OK) st = pipe_end(s, err, errlen);
    return st == CART_STORE_OK ? st : pipe_abort(s, st);
}

cart_store_status cart_store_write_commit(cart_store *s, char *err, size_t errlen) {
    const char *pc[C_N + 1], *pa[A_N + 1], *po[O_N];
    int nc = staged_params(s, s->carts, C_N, true, pc), na = staged_params(s, s->answers, A_N, true, pa),
        no = staged_params(s, s->outbox, O_N, false, po);
    cart_store_status st = CART_STORE_OK;
    if (nc < 0 || na < 0 || no < 0) {
        ol_seterr(err, errlen, "out of memory");
        st = CART_STORE_BROKEN;
        cart_store_rollback(s);
    } else if (PQenterPipelineMode(s->conn) != 1) {
        st = classify(s, NULL, "entering pipeline mode", err, errlen);
        cart_store_rollback(s);
    } else if ((nc && !send_prepared(s, ST_PUT_MANY, nc, pc)) || (na && !send_prepared(s, ST_PUT_ANSWERS, na, pa)) ||
               (no && !send_prepared(s, ST_OUT_ADD_MANY, no, po)) || !send_plain(s, "COMMIT") ||
               PQpipelineSync(s->conn) != 1) {
        st = pipe_abort(s, classify(s, NULL, "sending the batch's writes", err, errlen));
    } else {
        st = read_commit(s, nc > 0, na > 0, no > 0, err, errlen);
    }
    for (int i = 0; i < C_N; i++) ol_pgarray_reset(&s->carts[i]);
    for (int i = 0; i < A_N; i++) ol_pgarray_reset(&s->answers[i]);
    for (int i = 0; i < O_N; i++) ol_pgarray_reset(&s->outbox[i]);
    if (st != CART_STORE_OK) cart_store_unstage(s);
    return st;
}

const cart_outbox_row *cart_store_committed_outbox(const cart_store *s, size_t *n) {
    *n = s->n_staged;
    return s->staged;
}

void cart_store_unstage(cart_store *s) {
    for (int i = 0; i < C_N; i++) ol_pgarray_reset(&s->carts[i]);
    for (int i = 0; i < A_N; i++) ol_pgarray_reset(&s->answers[i]);
    for (int i = 0; i < O_N; i++) ol_pgarray_reset(&s->outbox[i]);
    for (size_t i = 0; i < s->n_staged; i++) cart_outbox_row_free(&s->staged[i]);
    s->n_staged = 0;
}
