#include "ledger.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ol_log.h"
#include "ol_pg.h"
#include "ol_str.h"

#define POOL_MAX 16

struct gw_ledger {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    PGconn *idle[POOL_MAX]; /* guarded by lock; NULL slots are free */
    int size;
    char *conninfo;
    char *topic;
};

static const char SQL_DECISION[] = "SELECT " OL_PG_DECISION_COLUMNS " FROM orders WHERE order_id = $1";
static const char SQL_ITEM[] = "SELECT count FROM inventories WHERE name = $1";

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
        l->idle[i] = ol_pg_connect(l->conninfo, err, errlen);
        if (!l->idle[i]) {
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
        if (l->idle[i]) PQfinish(l->idle[i]);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->freed);
    free(l->conninfo);
    free(l->topic);
    free(l);
}

static PGconn *take(gw_ledger *l) {
    pthread_mutex_lock(&l->lock);
    for (;;) {
        for (int i = 0; i < l->size; i++)
            if (l->idle[i]) {
                PGconn *c = l->idle[i];
                l->idle[i] = NULL;
                pthread_mutex_unlock(&l->lock);
                return c;
            }
        pthread_cond_wait(&l->freed, &l->lock);
    }
}

static void give_back(gw_ledger *l, PGconn *c) {
    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < l->size; i++)
        if (!l->idle[i]) {
            l->idle[i] = c;
            break;
        }
    pthread_cond_signal(&l->freed);
    pthread_mutex_unlock(&l->lock);
}

/* Runs a one-parameter query; reconnects once when the connection broke
 * (PostgreSQL restarted). NULL with err set on failure; an undefined
 * table is reported as *missing_table. */
static PGresult *query(gw_ledger *l, PGconn *c, const char *sql, const char *param, bool *missing_table, char *err,
                       size_t errlen) {
    *missing_table = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (PQstatus(c) != CONNECTION_OK) PQreset(c);
        PGresult *res = PQexecParams(c, sql, 1, NULL, &param, NULL, NULL, 0);
        if (res && PQresultStatus(res) == PGRES_TUPLES_OK) return res;
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (state && strcmp(state, "42P01") == 0) *missing_table = true;
        ol_pg_error(err, errlen, NULL, res, c, l->conninfo);
        PQclear(res);
        if (*missing_table || PQstatus(c) == CONNECTION_OK) return NULL;
    }
    return NULL;
}

gw_ledger_status gw_ledger_decision(gw_ledger *l, const char *order_id, ol_result *out, char *err, size_t errlen) {
    PGconn *c = take(l);
    bool missing;
    PGresult *res = query(l, c, SQL_DECISION, order_id, &missing, err, errlen);
    gw_ledger_status st = GW_LEDGER_ERROR;
    if (!res) st = missing ? GW_LEDGER_NOT_FOUND : GW_LEDGER_ERROR;
    else if (PQntuples(res) == 0) st = GW_LEDGER_NOT_FOUND;
    else if (ol_pg_decision_from_row(res, 0, l->topic, out, err, errlen)) st = GW_LEDGER_FOUND;
    PQclear(res);
    give_back(l, c);
    return st;
}

gw_ledger_status gw_ledger_item(gw_ledger *l, const char *name, int64_t *count, char *err, size_t errlen) {
    PGconn *c = take(l);
    bool missing;
    PGresult *res = query(l, c, SQL_ITEM, name, &missing, err, errlen);
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
    give_back(l, c);
    return st;
}

bool gw_ledger_ping(gw_ledger *l, char *err, size_t errlen) {
    PGconn *c = take(l);
    bool missing;
    PGresult *res = query(l, c, "SELECT $1::text", "ping", &missing, err, errlen);
    bool ok = res != NULL;
    PQclear(res);
    give_back(l, c);
    return ok;
}
