#include "probes.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ol_log.h"

static const char *const phase_names[PROBE_PHASES] = {
    "collect", "parse", "settle (commit wait)", "plan", "send 1", "publish", "wait 1", "decide", "send 2"};
static const char *const failpoint_names[FAILPOINT_COUNT] = {"crash-after-commit", "stop-in-transaction"};

void probes_init(probes *p, const char *spec) {
    memset(p, 0, sizeof *p);
    for (int i = 0; spec && i < FAILPOINT_COUNT; i++) {
        size_t n = strlen(failpoint_names[i]);
        if (strncmp(spec, failpoint_names[i], n) != 0 || spec[n] != ':') continue;
        if (sscanf(spec + n + 1, "%" SCNu64, &p->armed[i]) == 1 && p->armed[i] > 0)
            ol_warn("failpoint armed: %s at pass %" PRIu64, failpoint_names[i], p->armed[i]);
    }
}

void probes_add(probes *p, probe_phase phase, int64_t us) { p->phase_us[phase] += us; }

void probes_pass(probes *p, failpoint_id id) {
    if (!p->armed[id] || ++p->passes[id] != p->armed[id]) return;
    if (id == FAILPOINT_CRASH_AFTER_COMMIT) {
        ol_error("failpoint: crashing after commit of batch %" PRIu64 ", before publishing", p->armed[id]);
        raise(SIGKILL);
    } else {
        ol_error("failpoint: freezing inside the transaction of batch start %" PRIu64, p->armed[id]);
        raise(SIGSTOP);
    }
}

void probes_format(const probes *p, char *line, size_t len) {
    size_t used = 0;
    line[0] = '\0';
    for (int i = 0; i < PROBE_PHASES && used < len; i++)
        used += (size_t)snprintf(line + used, len - used, "%s%s %.2f s", i ? ", " : "", phase_names[i],
                                 (double)p->phase_us[i] / 1e6);
}
