#include "store.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ol_log.h"
#include "ol_pg.h"
#include "ol_str.h"
#include "pgbin.h"

/* The statements' array parameters, one per column sent, each with its
 * element type; sent in binary (no array literal or element text for the
 * server to parse) and reused from batch to batch. */
/* One row per statement group reads better than a reflow. */
/* clang-format off */
#define STORE_ARRAYS(X)                                                                                            \
    X(adv_partition, PGBIN_INT4) X(adv_expected, PGBIN_INT8) X(adv_next, PGBIN_INT8)                             \
    X(first_partition, PGBIN_INT4) X(first_next, PGBIN_INT8) X(first_results, PGBIN_INT8)                        \
    X(ack_partition, PGBIN_INT4) X(ack_offset, PGBIN_INT8)                                                         \
    X(items, PGBIN_TEXT) X(order_ids, PGBIN_TEXT) X(load_partition, PGBIN_INT4)                                    \
    X(d_order_id, PGBIN_TEXT) X(d_item, PGBIN_TEXT) X(d_type, PGBIN_TEXT) X(d_quantity, PGBIN_INT4)                \
    X(d_status, PGBIN_TEXT) X(d_reason, PGBIN_TEXT) X(d_remaining, PGBIN_INT4) X(d_error, PGBIN_TEXT)             \
    X(d_partition, PGBIN_INT4) X(d_offset, PGBIN_INT8) X(d_processed_at, PGBIN_TIMESTAMPTZ)                        \
    X(d_target, PGBIN_TEXT) X(d_hold_expires_at, PGBIN_TIMESTAMPTZ) X(life_order_id, PGBIN_TEXT)                   \
    X(life_state, PGBIN_TEXT)                                                                                      \
    X(stock_item, PGBIN_TEXT) X(stock_count, PGBIN_INT4) X(new_item, PGBIN_TEXT) X(new_count, PGBIN_INT4)

/* clang-format on */

typedef struct store_arrays {
#define STORE_ARRAY_FIELD(name, oid) pgbin_array name;
    STORE_ARRAYS(STORE_ARRAY_FIELD)
#undef STORE_ARRAY_FIELD
} store_arrays;

static void arrays_init(store_arrays *a) {
#define STORE_ARRAY_INIT(name, oid) pgbin_init(&a->name, oid);
    STORE_ARRAYS(STORE_ARRAY_INIT)
#undef STORE_ARRAY_INIT
}

static void arrays_free(store_arrays *a) {
#define STORE_ARRAY_FREE(name, oid) pgbin_free(&a->name);
    STORE_ARRAYS(STORE_ARRAY_FREE)
#undef STORE_ARRAY_FREE
}

static void arrays_reset(store_arrays *a) {
#define STORE_ARRAY_RESET(name, oid) pgbin_reset(&a->name);
    STORE_ARRAYS(STORE_ARRAY_RESET)
#undef STORE_ARRAY_RESET
}

/* One statement's parameters: text (the topic) or a binary array each. */
#define MAX_PARAMS 14
typedef struct stmt_params {
    const char *values[MAX_PARAMS];
    int lengths[MAX_PARAMS];
    int formats[MAX_PARAMS];
    int n;
} stmt_params;

static void param_text(stmt_params *p, const char *text) {
    p->values[p->n] = text;
    p->lengths[p->n] = 0;
    p->formats[p->n++] = 0;
}

static void param_array(stmt_params *p, pgbin_array *a) {
    p->values[p->n] = pgbin_data(a, &p->lengths[p->n]);
    p->formats[p->n++] = 1;
}

struct order_store {
    PGconn *conn;
    char *conninfo;
    char *topic;
    store_arrays arr;
    char sqlstate[6];    /* of the last failed statement classified; "" none */
    bool commit_pending; /* round trip 2 sent, outcome not read yet */
    /* What round trip 1 sent, needed to read its answers. */
    const store_advance *advances;
    size_t n_advances, n_existing, n_first, n_acks, n_items;
    const char *const *items;
    size_t pending_counts[4]; /* rows each write of round trip 2 must touch */
};

static const char SQL_ADVANCE[] =
    "UPDATE consumer_positions AS cp SET next_offset = v.new_next, updated_at = now()"
    " FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS v(partition, expected, new_next)"
    " WHERE cp.topic = $1 AND cp.partition = v.partition AND cp.next_offset = v.expected"
    " RETURNING cp.partition";
/* A plain INSERT: if another process created the row meanwhile, the unique
 * violation aborts the batch, which is the fence for new partitions. */
static const char SQL_FIRST_POSITION[] =
    "INSERT INTO consumer_positions (topic, partition, next_offset, results_offset)"
    " SELECT $1, v.p, v.n, v.r FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS v(p, n, r)";
static const char SQL_ACKS[] =
    "UPDATE consumer_positions AS cp SET results_offset = GREATEST(cp.results_offset, LEAST(v.r, cp.next_offset)),"
    " updated_at = now() FROM unnest($2::int[], $3::bigint[]) AS v(p, r)"
    " WHERE cp.topic = $1 AND cp.partition = v.p";
/* Sorted locking: two consumers sharing items never deadlock. Items are
 * reached through their byte-order index (migration 002). */
static const char SQL_LOCK_ITEMS[] =
    "SELECT name, count FROM inventories WHERE name COLLATE \"C\" = ANY($1::text[]) ORDER BY name COLLATE \"C\""
    " FOR UPDATE";
static const char SQL_DECISIONS[] = "SELECT " OL_PG_DECISION_COLUMNS " FROM orders WHERE order_id = ANY($1::text[])";
/* The arrays are unnested in the select list (a ProjectSet, in lockstep,
 * all of one length), not in FROM: a FunctionScan first stores each
 * unnest's rows in a tuplestore, and that copy was a measurable share of
 * PostgreSQL's work per order (bench/notes.md). */
static const char SQL_INSERT_DECISIONS[] =
    "INSERT INTO orders (order_id, item, type, quantity, status, reason, remaining, error, kafka_topic,"
    " kafka_partition, kafka_offset, processed_at, target, hold_expires_at)"
    " SELECT unnest($2::text[]), unnest($3::text[]), unnest($4::text[]), unnest($5::int[]), unnest($6::text[]),"
    " unnest($7::text[]), unnest($8::int[]), unnest($9::text[]), $1, unnest($10::int[]), unnest($11::bigint[]),"
    " unnest($12::timestamptz[]), unnest($13::text[]), unnest($14::timestamptz[])";
/* Orders whose life a follow-up of this batch changed. */
static const char SQL_UPDATE_LIVES[] = "UPDATE orders SET life = v.l FROM unnest($1::text[], $2::text[]) AS v(o, l)"
                                       " WHERE orders.order_id = v.o";
static const char SQL_UPDATE_STOCK[] =
    "UPDATE inventories SET count = v.c FROM unnest($1::text[], $2::int[]) AS v(n, c)"
    " WHERE inventories.name COLLATE \"C\" = v.n";
/* Plain INSERT: a concurrent creator makes this fail and the batch retry. */
static const char SQL_CREATE_ITEMS[] =
    "INSERT INTO inventories (name, count) SELECT v.n, v.c FROM unnest($1::text[], $2::int[]) AS v(n, c)";
/* Served by the partial index orders_open_holds (migration 003). */
static const char SQL_OPEN_HOLDS[] =
    "SELECT order_id, item, hold_expires_at < to_timestamp($4::bigint / 1e6) FROM orders"
    " WHERE kafka_topic = $1 AND kafka_partition = ANY($2::int[]) AND status = 'held' AND life IS NULL"
    " AND hold_expires_at <= to_timestamp($3::bigint / 1e6) ORDER BY hold_expires_at LIMIT $5::int";
static const char SQL_LOAD_POSITIONS[] = "SELECT partition, next_offset, results_offset FROM consumer_positions"
                                         " WHERE topic = $1 AND partition = ANY($2::int[])";

/* Every statement is prepared once per connection: a batch then costs the
 * server no parsing or analysis, which at 20% load (batches of ~30 orders,
 * ~450 a second) was much of PostgreSQL's CPU. */
typedef enum {
    STMT_ADVANCE,
    STMT_FIRST_POSITION,
    STMT_ACKS,
    STMT_LOCK_ITEMS,
    STMT_DECISIONS,
    STMT_INSERT_DECISIONS,
    STMT_UPDATE_STOCK,
    STMT_CREATE_ITEMS,
    STMT_UPDATE_LIVES,
    STMT_OPEN_HOLDS,
    STMT_LOAD_POSITIONS,
    STMT_COUNT
} store_statement;

static const struct {
    const char *name;
    const char *sql;
} statements[STMT_COUNT] = {
    [STMT_ADVANCE] = {"orderline_advance", SQL_ADVANCE},
    [STMT_FIRST_POSITION] = {"orderline_first_position", SQL_FIRST_POSITION},
    [STMT_ACKS] = {"orderline_acks", SQL_ACKS},
    [STMT_LOCK_ITEMS] = {"orderline_lock_items", SQL_LOCK_ITEMS},
    [STMT_DECISIONS] = {"orderline_decisions", SQL_DECISIONS},
    [STMT_INSERT_DECISIONS] = {"orderline_insert_decisions", SQL_INSERT_DECISIONS},
    [STMT_UPDATE_STOCK] = {"orderline_update_stock", SQL_UPDATE_STOCK},
    [STMT_CREATE_ITEMS] = {"orderline_create_items", SQL_CREATE_ITEMS},
    [STMT_UPDATE_LIVES] = {"orderline_update_lives", SQL_UPDATE_LIVES},
    [STMT_OPEN_HOLDS] = {"orderline_open_holds", SQL_OPEN_HOLDS},
    [STMT_LOAD_POSITIONS] = {"orderline_load_positions", SQL_LOAD_POSITIONS},
};

/* Session settings, sent once per connection (ol_pg.h says why). */
static const char SQL_SESSION_SETTINGS[] = OL_PG_KEYED_SETTINGS;

/* Prepares every statement on the connection; the tables must exist. */
static bool prepare_statements(order_store *s, char *err, size_t errlen) {
    for (int i = 0; i < STMT_COUNT; i++) {
        PGresult *res = PQprepare(s->conn, statements[i].name, statements[i].sql, 0, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            char what[96];
            snprintf(what, sizeof what, "preparing statement %s", statements[i].name);
            ol_pg_error(err, errlen, what, res, s->conn, s->conninfo);
        }
        PQclear(res);
        if (!ok) return false;
    }
    return true;
}

/* Connects and sets the session up; with prepare, also prepares the
 * statements (not before the migration has created the tables). */
static bool store_connect(order_store *s, bool prepare, char *err, size_t errlen) {
    s->conn = ol_pg_connect(s->conninfo, err, errlen);
    if (!s->conn) return false;
    if (!ol_pg_exec(s->conn, SQL_SESSION_SETTINGS, err, errlen) || (prepare && !prepare_statements(s, err, errlen))) {
        PQfinish(s->conn);
        s->conn = NULL;
        return false;
    }
    return true;
}

order_store *order_store_new(const char *conninfo, const char *topic, char *err, size_t errlen) {
    order_store *s = calloc(1, sizeof *s);
    if (!s) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    arrays_init(&s->arr);
    s->conninfo = strdup(conninfo ? conninfo : "");
    s->topic = strdup(topic);
    if (!s->conninfo || !s->topic) {
        ol_seterr(err, errlen, "out of memory");
        goto fail;
    }
    if (!store_connect(s, false, err, errlen)) goto fail;
    if (!ol_pg_migrate(s->conn, err, errlen) || !prepare_statements(s, err, errlen)) goto fail;
    return s;
fail:
    order_store_destroy(s);
    return NULL;
}

void order_store_destroy(order_store *s) {
    if (!s) return;
    if (s->conn) PQfinish(s->conn);
    arrays_free(&s->arr);
    free(s->conninfo);
    free(s->topic);
    free(s);
}

bool order_store_connected(const order_store *s) { return s->conn && PQstatus(s->conn) == CONNECTION_OK; }

bool order_store_reconnect(order_store *s, char *err, size_t errlen) {
    if (s->conn) PQfinish(s->conn);
    s->conn = NULL;
    return store_connect(s, true, err, errlen);
}

/* Classifies a failed result: connection gone, or a conflict worth a retry. */
static store_status classify(order_store *s, const PGresult *res, const char *what, char *err, size_t errlen) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    ol_strlcpy(s->sqlstate, state ? state : "", sizeof s->sqlstate);
    ol_pg_error(err, errlen, what, res, s->conn, s->conninfo);
    if (state) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, " (SQLSTATE %s)", state);
    }
    if (ol_pg_session_ended(s->conn, res)) return STORE_BROKEN;
    /* Class 08 (connection), 57 (operator intervention: shutdown) */
    if (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0)) return STORE_BROKEN;
    return STORE_RETRY;
}

/* Leaves pipeline mode and rolls back whatever is open. */
static void abort_transaction(order_store *s) {
    PGresult *res;
    if (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF) {
        while ((res = PQgetResult(s->conn)) != NULL) PQclear(res);
        PQexitPipelineMode(s->conn);
    }
    if (PQstatus(s->conn) != CONNECTION_OK) return;
    res = PQexec(s->conn, "ROLLBACK");
    PQclear(res);
}

/* Reads one statement's result in pipeline mode: the result then the NULL
 * that ends it. Returns the result (caller clears) or NULL on failure. */
static PGresult *pipe_result(order_store *s, ExecStatusType want, const char *what, store_status *status, char *err,
                             size_t errlen) {
    PGresult *res = PQgetResult(s->conn);
    if (!res) {
        *status = classify(s, NULL, what, err, errlen);
        return NULL;
    }
    PGresult *end = PQgetResult(s->conn);
    if (end) PQclear(end); /* normally NULL: one result per statement */
    if (PQresultStatus(res) != want) {
        if (*status == STORE_OK) *status = classify(s, res, what, err, errlen);
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Consumes results up to and including the pipeline's sync marker. */
static void pipe_drain_to_sync(order_store *s) {
    for (;;) {
        PGresult *res = PQgetResult(s->conn);
        if (!res) {
            if (PQstatus(s->conn) != CONNECTION_OK) return;
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC) return;
    }
}

static bool send_stmt(order_store *s, store_statement stmt, const stmt_params *p) {
    return PQsendQueryPrepared(s->conn, statements[stmt].name, p->n, p->values, p->lengths, p->formats, 0) == 1;
}

static PGresult *exec_stmt(order_store *s, store_statement stmt, const stmt_params *p) {
    return PQexecPrepared(s->conn, statements[stmt].name, p->n, p->values, p->lengths, p->formats, 0);
}

store_status order_store_load_positions(order_store *s, const int32_t *partitions, size_t n, store_position *out,
                                        char *err, size_t errlen) {
    pgbin_array *parts = &s->arr.load_partition;
    pgbin_reset(parts);
    for (size_t i = 0; i < n; i++) {
        out[i].partition = partitions[i];
        out[i].stored = false;
        out[i].next_offset = 0;
        out[i].results_offset = 0;
        if (!pgbin_add_int4(parts, partitions[i])) {
            ol_seterr(err, errlen, "out of memory");
            return STORE_FATAL;
        }
    }
    stmt_params params = {0};
    param_text(&params, s->topic);
    param_array(&params, parts);
    PGresult *res = exec_stmt(s, STMT_LOAD_POSITIONS, &params);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_status st = classify(s, res, "reading consumer positions", err, errlen);
        PQclear(res);
        return st;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        int32_t p = (int32_t)strtol(PQgetvalue(res, r, 0), NULL, 10);
        for (size_t i = 0; i < n; i++) {
            if (out[i].partition != p) continue;
            out[i].stored = true;
            out[i].next_offset = strtoll(PQgetvalue(res, r, 1), NULL, 10);
            out[i].results_offset = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        }
    }
    PQclear(res);
    return STORE_OK;
}

store_status order_store_open_holds(order_store *s, const int32_t *partitions, size_t n, int64_t now_us,
                                    int64_t slack_us, store_hold *out, size_t cap, size_t *n_out, char *err,
                                    size_t errlen) {
    *n_out = 0;
    pgbin_array *parts = &s->arr.load_partition;
    pgbin_reset(parts);
    for (size_t i = 0; i < n; i++)
        if (!pgbin_add_int4(parts, partitions[i])) {
            ol_seterr(err, errlen, "out of memory");
            return STORE_FATAL;
        }
    char now[24], overdue[24], limit[24];
    snprintf(now, sizeof now, "%" PRId64, now_us);
    snprintf(overdue, sizeof overdue, "%" PRId64, now_us - slack_us);
    snprintf(limit, sizeof limit, "%zu", cap);
    stmt_params params = {0};
    param_text(&params, s->topic);
    param_array(&params, parts);
    param_text(&params, now);
    param_text(&params, overdue);
    param_text(&params, limit);
    PGresult *res = exec_stmt(s, STMT_OPEN_HOLDS, &params);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_status st = classify(s, res, "reading open holds", err, errlen);
        PQclear(res);
        return st;
    }
    for (int r = 0; r < PQntuples(res) && *n_out < cap; r++) {
        store_hold *h = &out[(*n_out)++];
        ol_strlcpy(h->order_id, PQgetvalue(res, r, 0), sizeof h->order_id);
        ol_strlcpy(h->item, PQgetvalue(res, r, 1), sizeof h->item);
        h->overdue = PQgetvalue(res, r, 2)[0] == 't';
    }
    PQclear(res);
    return STORE_OK;
}

static bool build_str_array(pgbin_array *a, const char *const *values, size_t n) {
    pgbin_reset(a);
    for (size_t i = 0; i < n; i++)
        if (!pgbin_add_text(a, values[i])) return false;
    return true;
}

store_status order_store_send_begin(order_store *s, const store_advance *advances, size_t n_advances,
                                    const store_ack *acks, size_t n_acks, const char *const *items, size_t n_items,
                                    const char *const *order_ids, size_t n_order_ids, char *err, size_t errlen) {
    store_arrays *a = &s->arr;
    arrays_reset(a);
    size_t n_existing = 0, n_first = 0;
    bool ok = true;
    for (size_t i = 0; i < n_advances; i++) {
        const store_advance *adv = &advances[i];
        if (adv->stored) {
            ok = ok && pgbin_add_int4(&a->adv_partition, adv->partition) &&
                 pgbin_add_int8(&a->adv_expected, adv->expected) && pgbin_add_int8(&a->adv_next, adv->new_next);
            n_existing++;
        } else {
            ok = ok && pgbin_add_int4(&a->first_partition, adv->partition) &&
                 pgbin_add_int8(&a->first_next, adv->new_next) && pgbin_add_int8(&a->first_results, adv->first_offset);
            n_first++;
        }
    }
    for (size_t i = 0; i < n_acks; i++)
        ok = ok && pgbin_add_int4(&a->ack_partition, acks[i].partition) &&
             pgbin_add_int8(&a->ack_offset, acks[i].results_offset);
    ok = ok && build_str_array(&a->items, items, n_items) && build_str_array(&a->order_ids, order_ids, n_order_ids);
    if (!ok) {
        ol_seterr(err, errlen, "out of memory building batch parameters");
        return STORE_FATAL;
    }
    stmt_params p_adv = {0}, p_first = {0}, p_acks = {0}, p_items = {0}, p_ids = {0};
    param_text(&p_adv, s->topic);
    param_array(&p_adv, &a->adv_partition);
    param_array(&p_adv, &a->adv_expected);
    param_array(&p_adv, &a->adv_next);
    param_text(&p_first, s->topic);
    param_array(&p_first, &a->first_partition);
    param_array(&p_first, &a->first_next);
    param_array(&p_first, &a->first_results);
    param_text(&p_acks, s->topic);
    param_array(&p_acks, &a->ack_partition);
    param_array(&p_acks, &a->ack_offset);
    param_array(&p_items, &a->items);
    param_array(&p_ids, &a->order_ids);

    if (PQenterPipelineMode(s->conn) != 1) return classify(s, NULL, "entering pipeline mode", err, errlen);
    bool sent = PQsendQueryParams(s->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1;
    if (n_existing) sent = sent && send_stmt(s, STMT_ADVANCE, &p_adv);
    if (n_first) sent = sent && send_stmt(s, STMT_FIRST_POSITION, &p_first);
    if (n_acks) sent = sent && send_stmt(s, STMT_ACKS, &p_acks);
    sent = sent && send_stmt(s, STMT_LOCK_ITEMS, &p_items) && send_stmt(s, STMT_DECISIONS, &p_ids) &&
           PQpipelineSync(s->conn) == 1;
    if (!sent) {
        store_status status = classify(s, NULL, "sending batch", err, errlen);
        abort_transaction(s);
        return status;
    }
    s->advances = advances;
    s->n_advances = n_advances;
    s->n_existing = n_existing;
    s->n_first = n_first;
    s->n_acks = n_acks;
    s->items = items;
    s->n_items = n_items;
    return STORE_OK;
}

/* Reads a statement's command result that carries nothing else. */
static store_status pipe_command(order_store *s, const char *what, char *err, size_t errlen) {
    store_status status = STORE_OK;
    PGresult *res = pipe_result(s, PGRES_COMMAND_OK, what, &status, err, errlen);
    PQclear(res);
    return status;
}

/* The advance of stored positions returns a row per partition that still
 * had its expected position; a missing row is a fence. */
static store_status pipe_advances(order_store *s, int32_t *fenced_partition, char *err, size_t errlen) {
    store_status status = STORE_OK;
    PGresult *res = pipe_result(s, PGRES_TUPLES_OK, "advancing consumer positions", &status, err, errlen);
    if (!res) return status;
    if ((size_t)PQntuples(res) != s->n_existing) {
        /* Find the partition whose stored position moved under us. */
        *fenced_partition = -1;
        int64_t expected = -1;
        for (size_t i = 0; i < s->n_advances && *fenced_partition < 0; i++) {
            if (!s->advances[i].stored) continue;
            bool found = false;
            for (int r = 0; r < PQntuples(res); r++)
                if (strtol(PQgetvalue(res, r, 0), NULL, 10) == s->advances[i].partition) found = true;
            if (!found) {
                *fenced_partition = s->advances[i].partition;
                expected = s->advances[i].expected;
            }
        }
        ol_seterr(err, errlen, "partition %d: stored position is no longer %" PRId64 " (another consumer advanced it)",
                  *fenced_partition, expected);
        status = STORE_FENCED;
    }
    PQclear(res);
    return status;
}

/* A unique violation on a first position means another consumer got there
 * first: a fence too. */
static store_status pipe_first_positions(order_store *s, int32_t *fenced_partition, char *err, size_t errlen) {
    store_status status = pipe_command(s, "recording first consumer positions", err, errlen);
    if (status == STORE_RETRY && strcmp(s->sqlstate, "23505") == 0) {
        *fenced_partition = -1;
        for (size_t i = 0; i < s->n_advances; i++)
            if (!s->advances[i].stored) *fenced_partition = s->advances[i].partition;
        status = STORE_FENCED;
    }
    return status;
}

/* The locked items' stock goes to the decider; an item without a row is
 * unknown. */
static store_status pipe_stock(order_store *s, ol_decider *decider, char *err, size_t errlen) {
    store_status status = STORE_OK;
    PGresult *res = pipe_result(s, PGRES_TUPLES_OK, "locking items", &status, err, errlen);
    if (!res) return status;
    for (size_t i = 0; i < s->n_items && status == STORE_OK; i++)
        if (!ol_decider_set_stock(decider, s->items[i], (ol_stock){false, 0})) status = STORE_FATAL;
    for (int r = 0; r < PQntuples(res) && status == STORE_OK; r++) {
        ol_stock st = {true, strtoll(PQgetvalue(res, r, 1), NULL, 10)};
        if (!ol_decider_set_stock(decider, PQgetvalue(res, r, 0), st)) status = STORE_FATAL;
    }
    PQclear(res);
    if (status == STORE_FATAL) ol_seterr(err, errlen, "out of memory loading batch state");
    return status;
}

/* Decisions already in the ledger for the batch's order_ids (replays and
 * client retries) go to the decider. */
static store_status pipe_decisions(order_store *s, ol_decider *decider, char *err, size_t errlen) {
    store_status status = STORE_OK;
    PGresult *res = pipe_result(s, PGRES_TUPLES_OK, "reading earlier decisions", &status, err, errlen);
    if (!res) return status;
    for (int r = 0; r < PQntuples(res) && status == STORE_OK; r++) {
        ol_result prior;
        ol_life life;
        bool changed;
        if (!ol_pg_decision_from_row(res, r, s->topic, &prior, err, errlen)) {
            status = STORE_RETRY;
        } else if (!ol_pg_life_from_row(res, r, &prior, &life, &changed)) {
            ol_seterr(err, errlen, "orders row for '%s' has an unknown life", prior.order_id);
            status = STORE_RETRY;
        } else if (!ol_decider_add_decision(decider, &prior) ||
                   (changed && !ol_decider_set_life(decider, prior.order_id, prior.item, life))) {
            ol_seterr(err, errlen, "out of memory loading batch state");
            status = STORE_FATAL;
        }
    }
    PQclear(res);
    return status;
}

store_status order_store_finish_begin(order_store *s, ol_decider *decider, int32_t *fenced_partition, char *err,
                                      size_t errlen) {
    store_status status = pipe_command(s, "BEGIN", err, errlen);
    if (status == STORE_OK && s->n_existing) status = pipe_advances(s, fenced_partition, err, errlen);
    if (status == STORE_OK && s->n_first) status = pipe_first_positions(s, fenced_partition, err, errlen);
    if (status == STORE_OK && s->n_acks) status = pipe_command(s, "recording result acknowledgements", err, errlen);
    if (status == STORE_OK) status = pipe_stock(s, decider, err, errlen);
    if (status == STORE_OK) status = pipe_decisions(s, decider, err, errlen);
    if (status != STORE_OK) {
        pipe_drain_to_sync(s);
        abort_transaction(s);
        return status;
    }
    PGresult *res = PQgetResult(s->conn);
    bool synced = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
    PQclear(res);
    if (!synced) status = classify(s, NULL, "batch sync", err, errlen);
    else if (PQexitPipelineMode(s->conn) != 1) status = classify(s, NULL, "leaving pipeline mode", err, errlen);
    if (status != STORE_OK) abort_transaction(s);
    return status;
}

static bool add_decision_row(store_arrays *a, const ol_result *r) {
    const char *reason = ol_reason_name(r->reason);
    return pgbin_add_text(&a->d_order_id, r->order_id) && pgbin_add_text(&a->d_item, r->item) &&
           pgbin_add_text(&a->d_type, ol_order_type_name(r->type)) && pgbin_add_int4(&a->d_quantity, r->quantity) &&
           pgbin_add_text(&a->d_status, ol_status_name(r->status)) &&
           (reason ? pgbin_add_text(&a->d_reason, reason) : pgbin_add_null(&a->d_reason)) &&
           (r->has_remaining ? pgbin_add_int4(&a->d_remaining, (int32_t)r->remaining)
                             : pgbin_add_null(&a->d_remaining)) &&
           (r->error[0] ? pgbin_add_text(&a->d_error, r->error) : pgbin_add_null(&a->d_error)) &&
           pgbin_add_int4(&a->d_partition, r->partition) && pgbin_add_int8(&a->d_offset, r->offset) &&
           pgbin_add_timestamptz(&a->d_processed_at, r->processed_at_us) &&
           (r->target[0] ? pgbin_add_text(&a->d_target, r->target) : pgbin_add_null(&a->d_target)) &&
           (r->hold_expires_at_us ? pgbin_add_timestamptz(&a->d_hold_expires_at, r->hold_expires_at_us)
                                  : pgbin_add_null(&a->d_hold_expires_at));
}

/* The lives a follow-up changed, for SQL_UPDATE_LIVES; *n counts them. */
static bool add_life_rows(store_arrays *a, const ol_decider *decider, size_t *n) {
    size_t pos = 0;
    const char *order_id;
    ol_life life;
    bool ok = true;
    *n = 0;
    while (ok && ol_decider_next_life(decider, &pos, &order_id, &life)) {
        ok = pgbin_add_text(&a->life_order_id, order_id) &&
             pgbin_add_text(&a->life_state, ol_life_state_name(life.state));
        (*n)++;
    }
    return ok;
}

store_status order_store_send_commit(order_store *s, const ol_result *const *decisions, size_t n,
                                     const ol_decider *decider, char *err, size_t errlen) {
    store_arrays *a = &s->arr;
    arrays_reset(a);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) ok = add_decision_row(a, decisions[i]);
    size_t pos = 0, n_updates = 0, n_creates = 0, n_lives = 0;
    const char *item;
    ol_stock before, after;
    ok = ok && add_life_rows(a, decider, &n_lives);
    while (ok && ol_decider_next_stock(decider, &pos, &item, &before, &after)) {
        if (before.exists && after.count != before.count) {
            ok = pgbin_add_text(&a->stock_item, item) && pgbin_add_int4(&a->stock_count, (int32_t)after.count);
            n_updates++;
        } else if (!before.exists && after.exists) {
            ok = pgbin_add_text(&a->new_item, item) && pgbin_add_int4(&a->new_count, (int32_t)after.count);
            n_creates++;
        }
    }
    if (!ok) {
        ol_seterr(err, errlen, "out of memory building batch writes");
        abort_transaction(s);
        return STORE_FATAL;
    }
    stmt_params p_ins = {0}, p_upd = {0}, p_new = {0}, p_life = {0};
    param_text(&p_ins, s->topic);
    pgbin_array *cols[] = {&a->d_order_id,     &a->d_item,      &a->d_type,           &a->d_quantity,  &a->d_status,
                           &a->d_reason,       &a->d_remaining, &a->d_error,          &a->d_partition, &a->d_offset,
                           &a->d_processed_at, &a->d_target,    &a->d_hold_expires_at};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) param_array(&p_ins, cols[i]);
    param_array(&p_upd, &a->stock_item);
    param_array(&p_upd, &a->stock_count);
    param_array(&p_new, &a->new_item);
    param_array(&p_new, &a->new_count);
    param_array(&p_life, &a->life_order_id);
    param_array(&p_life, &a->life_state);

    if (PQenterPipelineMode(s->conn) != 1) {
        store_status status = classify(s, NULL, "entering pipeline mode", err, errlen);
        abort_transaction(s);
        return status;
    }
    /* libpq copies parameters into its output buffer as they are sent, so
     * the arrays may be reused for the next batch before the outcome. */
    bool sent = true;
    if (n) sent = send_stmt(s, STMT_INSERT_DECISIONS, &p_ins);
    if (n_updates) sent = sent && send_stmt(s, STMT_UPDATE_STOCK, &p_upd);
    if (n_creates) sent = sent && send_stmt(s, STMT_CREATE_ITEMS, &p_new);
    if (n_lives) sent = sent && send_stmt(s, STMT_UPDATE_LIVES, &p_life);
    sent =
        sent && PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1 && PQpipelineSync(s->conn) == 1;
    if (!sent) {
        store_status status = classify(s, NULL, "sending batch writes", err, errlen);
        abort_transaction(s);
        return status;
    }
    s->pending_counts[0] = n;
    s->pending_counts[1] = n_updates;
    s->pending_counts[2] = n_creates;
    s->pending_counts[3] = n_lives;
    s->commit_pending = true;
    return STORE_OK;
}

store_status order_store_finish_commit(order_store *s, char *err, size_t errlen) {
    if (!s->commit_pending) return STORE_OK;
    s->commit_pending = false;
    store_status status = STORE_OK;
    PGresult *res;
    const char *what[4] = {"recording decisions", "writing stock", "creating items", "recording follow-ups"};
    for (int i = 0; i < 4; i++) {
        if (!s->pending_counts[i]) continue;
        res = pipe_result(s, PGRES_COMMAND_OK, what[i], &status, err, errlen);
        if (!res) goto fail_drain;
        if (strtoull(PQcmdTuples(res), NULL, 10) != s->pending_counts[i]) {
            ol_seterr(err, errlen, "%s: wrote %s rows, expected %zu", what[i], PQcmdTuples(res), s->pending_counts[i]);
            status = STORE_RETRY;
            PQclear(res);
            goto fail_drain;
        }
        PQclear(res);
    }
    res = pipe_result(s, PGRES_COMMAND_OK, "COMMIT", &status, err, errlen);
    if (!res) goto fail_drain;
    /* A COMMIT of an aborted transaction reports ROLLBACK. */
    bool committed = strcmp(PQcmdStatus(res), "COMMIT") == 0;
    PQclear(res);
    res = PQgetResult(s->conn);
    bool synced = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
    PQclear(res);
    if (!synced) {
        status = classify(s, NULL, "batch commit sync", err, errlen);
        goto fail;
    }
    PQexitPipelineMode(s->conn);
    if (!committed) {
        ol_seterr(err, errlen, "batch transaction was rolled back by the server");
        return STORE_RETRY;
    }
    return STORE_OK;

fail_drain:
    pipe_drain_to_sync(s);
fail:
    abort_transaction(s);
    return status;
}

store_status order_store_save_acks(order_store *s, const store_ack *acks, size_t n, char *err, size_t errlen) {
    if (n == 0) return STORE_OK;
    store_arrays *a = &s->arr;
    pgbin_reset(&a->ack_partition);
    pgbin_reset(&a->ack_offset);
    for (size_t i = 0; i < n; i++)
        if (!pgbin_add_int4(&a->ack_partition, acks[i].partition) ||
            !pgbin_add_int8(&a->ack_offset, acks[i].results_offset)) {
            ol_seterr(err, errlen, "out of memory");
            return STORE_FATAL;
        }
    stmt_params p = {0};
    param_text(&p, s->topic);
    param_array(&p, &a->ack_partition);
    param_array(&p, &a->ack_offset);
    PGresult *res = exec_stmt(s, STMT_ACKS, &p);
    store_status st = STORE_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        st = classify(s, res, "recording result acknowledgements", err, errlen);
    PQclear(res);
    return st;
}

store_status order_store_ping(order_store *s, char *err, size_t errlen) {
    PGresult *res = PQexec(s->conn, "SELECT 1");
    store_status st = PQresultStatus(res) == PGRES_TUPLES_OK ? STORE_OK : classify(s, res, "health check", err, errlen);
    PQclear(res);
    return st;
}
