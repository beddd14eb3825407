#include "ledger.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ol_log.h"
#include "ol_pg.h"
#include "ol_str.h"

#define POOL_MAX 16
#define START_TIMEOUT_MS 10000 /* the first connections, at start */
/* Bounds on PostgreSQL's side too: a connection attempt (libpq's minimum)
 * and a statement, beside the caller's deadline, which the client keeps. */
#define CONNECT_TIMEOUT_S "2"
#define STATEMENT_TIMEOUT_OPTION "-c statement_timeout=" GW_LEDGER_STATEMENT_TIMEOUT_MS_TEXT

struct gw_ledger {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    PGconn *conn[POOL_MAX]; /* NULL: to be connected at its next use */
    bool busy[POOL_MAX];    /* guarded by lock */
    int size;
    char *conninfo;
    char *topic;
};

static const char SQL_DECISION[] = "SELECT " OL_PG_DECISION_COLUMNS " FROM orders WHERE order_id = $1";
static const char SQL_CART[] =
    "SELECT state, hold_s, coalesce((extract(epoch FROM hold_expires_at) * 1000000)::bigint, 0), lines::text,"
    " kafka_partition, kafka_offset, (extract(epoch FROM updated_at) * 1000000)::bigint FROM carts WHERE cart_id = $1";
static const char SQL_CART_ANSWER[] = "SELECT answer::text FROM cart_messages WHERE order_id = $1";
static const char SQL_ITEM[] = "SELECT count FROM inventories WHERE name = $1";

/* Waits until c's socket is ready for events or deadline_ms passes. */
static bool wait_socket(PGconn *c, short events, int64_t deadline_ms) {
    for (;;) {
        int64_t left = deadline_ms - ol_monotonic_ms();
        if (left <= 0) return false;
        struct pollfd p = {PQsocket(c), events, 0};
        int n = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (n > 0) return true;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return true; /* let libpq report the error */
    }
}

/* Connects without blocking past deadline_ms (a stopped server accepts
 * the TCP connection and then says nothing). */
static PGconn *connect_by(gw_ledger *l, int64_t deadline_ms, char *err, size_t errlen) {
    const char *const keys[] = {"dbname", "connect_timeout", "options", NULL};
    const char *const values[] = {l->conninfo, CONNECT_TIMEOUT_S, STATEMENT_TIMEOUT_OPTION, NULL};
    PGconn *c = PQconnectStartParams(keys, values, 1);
    if (!c) {
        ol_seterr(err, errlen, "out of memory");
        return NULL;
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        if (!wait_socket(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline_ms)) {
            ol_seterr(err, errlen, "cannot connect to PostgreSQL: no answer in time");
            PQfinish(c);
            return NULL;
        }
        st = PQconnectPoll(c);
    }
    if (st != PGRES_POLLING_OK || PQstatus(c) != CONNECTION_OK) {
        ol_pg_error(err, errlen, "cannot connect to PostgreSQL", NULL, c, l->conninfo);
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Sends the query and reads its results until deadline_ms; the last
 * result, or NULL (*timed_out when the deadline passed). */
static PGresult *run(PGconn *c, const char *sql, const char *param, int64_t deadline_ms, bool *timed_out) {
    *timed_out = false;
    if (!PQsendQueryParams(c, sql, 1, NULL, &param, NULL, NULL, 0)) return NULL;
    int f;
    while ((f = PQflush(c)) == 1)
        if (!wait_socket(c, POLLOUT, deadline_ms)) goto late;
    if (f < 0) return NULL;
    PGresult *last = NULL;
    for (;;) {
        while (PQisBusy(c)) {
            if (!wait_socket(c, POLLIN, deadline_ms)) {
                PQclear(last);
                goto late;
            }
            if (!PQconsumeInput(c)) return last;
        }
        PGresult *r = PQgetResult(c);
        if (!r) return last;
        PQclear(last);
        last = r;
    }
late:
    *timed_out = true;
    return NULL;
}

gw_ledger *gw_ledger_new(const char *conninfo, const char *topic, int size, char *err, size_t errlen) {
    gw_ledger *l = calloc(1, sizeof *l);
    if (!l) goto oom;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->freed, NULL);
    l->size = size < 1 ? 1 : size > POOL_MAX ? POOL_MAX : size;
    l->conninfo = strdup(conninfo ? conninfo : "");
    l->topic = strdup(topic);
    if (!l->conninfo || !l->topic) goto oom;
    for (int i = 0; i < l->size; i++) {
        l->conn[i] = connect_by(l, ol_monotonic_ms() + START_TIMEOUT_MS, err, errlen);
        if (!l->conn[i]) {
            gw_ledger_destroy(l);
            return NULL;
        }
    }
    return l;
oom:
    ol_seterr(err, errlen, "out of memory");
    gw_ledger_destroy(l);
    return NULL;
}

void gw_ledger_destroy(gw_ledger *l) {
    if (!l) return;
    for (int i = 0; i < POOL_MAX; i++)
        if (l->conn[i]) PQfinish(l->conn[i]);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->freed);
    free(l->conninfo);
    free(l->topic);
    free(l);
}

static int take(gw_ledger *l) {
    pthread_mutex_lock(&l->lock);
    for (;;) {
        for (int i = 0; i < l->size; i++)
            if (!l->busy[i]) {
                l->busy[i] = true;
                pthread_mutex_unlock(&l->lock);
                return i;
            }
        pthread_cond_wait(&l->freed, &l->lock);
    }
}

static void give_back(gw_ledger *l, int slot) {
    pthread_mutex_lock(&l->lock);
    l->busy[slot] = false;
    pthread_cond_signal(&l->freed);
    pthread_mutex_unlock(&l->lock);
}

/* Runs a one-parameter query on slot's connection before deadline_ms;
 * reconnects once when the connection broke (PostgreSQL restarted). A
 * query past its deadline drops the connection (its answer may still
 * come). NULL with err set on failure; an undefined table is reported as
 * *missing_table. */
static PGresult *query(gw_ledger *l, int slot, const char *sql, const char *param, int64_t deadline_ms,
                       bool *missing_table, char *err, size_t errlen) {
    *missing_table = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        PGconn **c = &l->conn[slot];
        if (*c && PQstatus(*c) != CONNECTION_OK) {
            PQfinish(*c);
            *c = NULL;
        }
        if (!*c && !(*c = connect_by(l, deadline_ms, err, errlen))) return NULL;
        bool timed_out;
        PGresult *res = run(*c, sql, param, deadline_ms, &timed_out);
        if (timed_out) {
            ol_seterr(err, errlen, "PostgreSQL did not answer in time");
            PQfinish(*c);
            *c = NULL;
            return NULL;
        }
        if (res && PQresultStatus(res) == PGRES_TUPLES_OK) return res;
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (state && strcmp(state, "42P01") == 0) *missing_table = true;
        ol_pg_error(err, errlen, NULL, res, *c, l->conninfo);
        PQclear(res);
        if (*missing_table || PQstatus(*c) == CONNECTION_OK) return NULL;
    }
    return NULL;
}

gw_ledger_status gw_ledger_decision(gw_ledger *l, const char *order_id, int64_t deadline_ms, ol_result *out, char *err,
                                    size_t errlen) {
    int slot = take(l);
    bool missing;
    PGresult *res = query(l, slot, SQL_DECISION, order_id, deadline_ms, &missing, err, errlen);
    gw_ledger_status st = GW_LEDGER_ERROR;
    if (!res) st = missing ? GW_LEDGER_NOT_FOUND : GW_LEDGER_ERROR;
    else if (PQntuples(res) == 0) st = GW_LEDGER_NOT_FOUND;
    else if (ol_pg_decision_from_row(res, 0, l->topic, out, err, errlen)) st = GW_LEDGER_FOUND;
    PQclear(res);
    give_back(l, slot);
    return st;
}

gw_ledger_status gw_ledger_item(gw_ledger *l, const char *name, int64_t deadline_ms, int64_t *count, char *err,
                                size_t errlen) {
    int slot = take(l);
    bool missing;
    PGresult *res = query(l, slot, SQL_ITEM, name, deadline_ms, &missing, err, errlen);
    gw_ledger_status st = GW_LEDGER_ERROR;
    if (!res) st = missing ? GW_LEDGER_NOT_FOUND : GW_LEDGER_ERROR;
    else if (PQntuples(res) == 0) st = GW_LEDGER_NOT_FOUND;
    else {
        long v;
        if (ol_parse_long(PQgetvalue(res, 0, 0), 0, INT32_MAX, &v)) {
            *count = v;
            st = GW_LEDGER_FOUND;
        } else {
            ol_seterr(err, errlen, "inventories.count of '%s' is not a count", name);
        }
    }
    PQclear(res);
    give_back(l, slot);
    return st;
}

static bool cart_from_row(const PGresult *res, gw_cart_row *row, char *err, size_t errlen) {
    long hold, partition;
    long long expires, offset, updated;
    memset(row, 0, sizeof *row);
    ol_strlcpy(row->state, PQgetvalue(res, 0, 0), sizeof row->state);
    if (!ol_parse_long(PQgetvalue(res, 0, 1), 0, 86400, &hold) ||
        !ol_parse_long(PQgetvalue(res, 0, 4), 0, INT32_MAX, &partition) ||
        sscanf(PQgetvalue(res, 0, 2), "%lld", &expires) != 1 || sscanf(PQgetvalue(res, 0, 5), "%lld", &offset) != 1 ||
        sscanf(PQgetvalue(res, 0, 6), "%lld", &updated) != 1) {
        ol_seterr(err, errlen, "a row of carts that is not a cart's");
        return false;
    }
    row->hold_s = (int32_t)hold;
    row->partition = (int32_t)partition;
    row->hold_expires_at_us = expires;
    row->offset = offset;
    row->updated_at_us = updated;
    row->lines = strdup(PQgetvalue(res, 0, 3));
    if (!row->lines) ol_seterr(err, errlen, "out of memory");
    return row->lines != NULL;
}

gw_ledger_status gw_ledger_cart(gw_ledger *l, const char *cart_id, int64_t deadline_ms, gw_cart_row *row, char *err,
                                size_t errlen) {
    int slot = take(l);
    bool missing;
    PGresult *res = query(l, slot, SQL_CART, cart_id, deadline_ms, &missing, err, errlen);
    gw_ledger_status st = GW_LEDGER_ERROR;
    if (!res) st = missing ? GW_LEDGER_NOT_FOUND : GW_LEDGER_ERROR;
    else if (PQntuples(res) == 0) st = GW_LEDGER_NOT_FOUND;
    else if (cart_from_row(res, row, err, errlen)) st = GW_LEDGER_FOUND;
    PQclear(res);
    give_back(l, slot);
    return st;
}

gw_ledger_status gw_ledger_cart_answer(gw_ledger *l, const char *order_id, int64_t deadline_ms, char **answer,
                                       char *err, size_t errlen) {
    int slot = take(l);
    bool missing;
    PGresult *res = query(l, slot, SQL_CART_ANSWER, order_id, deadline_ms, &missing, err, errlen);
    gw_ledger_status st = GW_LEDGER_ERROR;
    *answer = NULL;
    if (!res) st = missing ? GW_LEDGER_NOT_FOUND : GW_LEDGER_ERROR;
    else if (PQntuples(res) == 0) st = GW_LEDGER_NOT_FOUND;
    else if ((*answer = gw_json_compact(PQgetvalue(res, 0, 0)))) st = GW_LEDGER_FOUND;
    else ol_seterr(err, errlen, "the stored answer of '%s' is not JSON", order_id);
    PQclear(res);
    give_back(l, slot);
    return st;
}

bool gw_ledger_ping(gw_ledger *l, int64_t deadline_ms, char *err, size_t errlen) {
    int slot = take(l);
    bool missing;
    PGresult *res = query(l, slot, "SELECT $1::text", "ping", deadline_ms, &missing, err, errlen);
    bool ok = res != NULL;
    PQclear(res);
    give_back(l, slot);
    return ok;
}
