/* probes: the consumer's test hooks and its loop timers, behind one small
 * helper so that the code they watch reads without them.
 *
 * Failpoints are armed by ORDERLINE_FAILPOINT (the fault tests):
 *   crash-after-commit:N   die like kill -9 right after the Nth batch
 *                          commits, before its answers are published, to
 *                          prove they are published after restart;
 *   stop-in-transaction:N  freeze (SIGSTOP) right after round trip 1 of the
 *                          Nth batch start is answered, so the transaction is
 *                          open and holds its row locks, as a zombie frozen at
 *                          the worst moment would.
 * The timers say where the loop's time goes (ORDERLINE_DEBUG's final
 * line): the loop is one thread, so they say what bounds throughput. */
#ifndef CONSUMER_PROBES_H
#define CONSUMER_PROBES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PROBE_COLLECT,
    PROBE_PARSE,
    PROBE_SETTLE,
    PROBE_PLAN,
    PROBE_SEND1,
    PROBE_PUBLISH,
    PROBE_WAIT1,
    PROBE_DECIDE,
    PROBE_SEND2,
    PROBE_PHASES
} probe_phase;

typedef enum { FAILPOINT_CRASH_AFTER_COMMIT, FAILPOINT_STOP_IN_TRANSACTION, FAILPOINT_COUNT } failpoint_id;

typedef struct probes {
    int64_t phase_us[PROBE_PHASES];
    uint64_t armed[FAILPOINT_COUNT]; /* the pass that fires; 0: off */
    uint64_t passes[FAILPOINT_COUNT];
} probes;

/* Zeroes the timers and arms the failpoint spec names (NULL: none). */
void probes_init(probes *p, const char *spec);
void probes_add(probes *p, probe_phase phase, int64_t us);
/* Counts a pass through failpoint id; on its armed pass, fires. */
void probes_pass(probes *p, failpoint_id id);
/* "collect 1.20 s, parse 0.30 s, ..." */
void probes_format(const probes *p, char *line, size_t len);

#endif
