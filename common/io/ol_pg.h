/* ol_pg: PostgreSQL helpers shared by the tools: connecting without ever
 * echoing a password, and applying the migrations in schemas/migrations
 * (compiled in) exactly once, even when several consumers start at once. */
#ifndef OL_PG_H
#define OL_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "ol_lifecycle.h"
#include "ol_result.h"

typedef struct ol_migration {
    const char *name;
    const char *sql;
} ol_migration;

extern const ol_migration ol_migrations[];
extern const size_t ol_migrations_count;

/* Connects with a libpq conninfo (NULL or "": libpq defaults and PG*
 * variables). On failure returns NULL and writes the reason, with any
 * password in it masked, to err. */
PGconn *ol_pg_connect(const char *conninfo, char *err, size_t errlen);

/* Applies pending migrations, each in its own transaction, under an advisory
 * lock. Idempotent. */
bool ol_pg_migrate(PGconn *conn, char *err, size_t errlen);

/* Runs a statement without parameters, expecting no rows or any rows. */
bool ol_pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/* The session settings of a tool that holds row locks across round trips
 * (order-consumer, order-carts):
 * - idle_in_transaction_session_timeout: a process stopped between a
 *   batch's two round trips (SIGSTOP, a stalled VM) keeps its row locks;
 *   the server ends its session after 5 s, so the process that took its
 *   partitions over is not held up behind them. The stopped one finds its
 *   connection gone when it wakes, reconnects, and its retry is fenced. A
 *   healthy loop leaves a transaction idle for milliseconds.
 * - lock_timeout: a longer wait means something else is wrong (a stuck
 *   peer that is not idle): fail the statement, roll back and retry rather
 *   than hang. Longer than the idle timeout, so that the idle case resolves
 *   within the first wait. */
#define OL_PG_LOCK_SETTINGS "SET idle_in_transaction_session_timeout = '5s'; SET lock_timeout = '10s'"

/* OL_PG_LOCK_SETTINGS, and enable_seqscan off, for a session whose every
 * statement reaches its rows by key (order-consumer's lanes, order-carts'
 * store). Their prepared statements are planned while the tables are new
 * and small; with no statistics yet a scan of the whole table looks
 * cheaper than a batch's index probes, the generic plan keeps it, and each
 * batch then costs more as the table grows (tests/integration/carts_plans,
 * bench/notes.md). */
#define OL_PG_KEYED_SETTINGS OL_PG_LOCK_SETTINGS "; SET enable_seqscan = off"

/* True when the session is over and only a new connection goes on: libpq
 * marked the connection bad, or res is a FATAL or PANIC error, which ends
 * the session (an idle-in-transaction timeout, 25P03; a terminated
 * backend, 57P01) before libpq has seen the socket close. res may be NULL. */
bool ol_pg_session_ended(const PGconn *conn, const PGresult *res);

/* The select list of a decision read back from the orders ledger; rows
 * selected with it decode with ol_pg_decision_from_row. */
#define OL_PG_DECISION_COLUMNS                                                                                         \
    "order_id, item, type, quantity, status, reason, remaining, error, kafka_topic, kafka_partition, kafka_offset,"    \
    " (extract(epoch FROM processed_at) * 1000000)::bigint, target,"                                                   \
    " (extract(epoch FROM hold_expires_at) * 1000000)::bigint, life"

/* Decodes row r (selected with OL_PG_DECISION_COLUMNS) into *out. A row of
 * another topic than topic gets partition -1: it can never be the decision
 * of one of this topic's messages. False (err set) on an unknown type,
 * status or reason. */
bool ol_pg_decision_from_row(const PGresult *res, int r, const char *topic, ol_result *out, char *err, size_t errlen);

/* The life of the order in row r as it stands now: from its decision, and
 * from its `life` column once a follow-up changed it. *changed says
 * whether the column was set (the decider must be told: ol_decider_set_life). */
bool ol_pg_life_from_row(const PGresult *res, int r, const ol_result *decided, ol_life *out, bool *changed);

/* Copies msg to dst with every occurrence of the password found in conninfo
 * replaced by "***". */
void ol_pg_redact(char *dst, size_t dstlen, const char *msg, const char *conninfo);

/* msg as one line (libpq's span several: newlines and tabs become single
 * spaces, none at the ends) with the password of conninfo masked. */
void ol_pg_clean_message(char *dst, size_t dstlen, const char *msg, const char *conninfo);

/* err = "what: message" for a failed statement: the result's message, else
 * the connection's (res may be NULL), cleaned by ol_pg_clean_message. what
 * NULL or "": the message alone. */
void ol_pg_error(char *err, size_t errlen, const char *what, const PGresult *res, const PGconn *conn,
                 const char *conninfo);

#endif
