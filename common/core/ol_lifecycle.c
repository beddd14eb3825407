#include "ol_lifecycle.h"

#include <string.h>

/* What each follow-up does to each state: the verdict, the state after it,
 * and whether the order's units go back to stock. One table, so the rules
 * can be read (and reviewed) side by side. */
typedef struct {
    ol_life_verdict verdict;
    ol_life_state next;
    bool gives_back;
} life_rule;

#define KEEP(v)                                                                                                        \
    { v, OL_LIFE_UNKNOWN, false } /* next unused: the state stays */
#define MOVE(s, back)                                                                                                  \
    { OL_LIFE_OK, s, back }

static const life_rule RULES[3][7] = {
    [OL_LIFE_CONFIRM] =
        {
            [OL_LIFE_UNKNOWN] = KEEP(OL_LIFE_NOT_HELD),
            [OL_LIFE_REJECTED] = KEEP(OL_LIFE_NOT_HELD),
            [OL_LIFE_ACCEPTED] = KEEP(OL_LIFE_NOT_HELD),
            [OL_LIFE_HELD] = MOVE(OL_LIFE_CONFIRMED, false),
            [OL_LIFE_CONFIRMED] = KEEP(OL_LIFE_ALREADY_CONFIRMED),
            [OL_LIFE_CANCELLED] = KEEP(OL_LIFE_ALREADY_CANCELLED),
            [OL_LIFE_EXPIRED] = KEEP(OL_LIFE_EXPIRED_BEFORE),
        },
    [OL_LIFE_CANCEL] =
        {
            [OL_LIFE_UNKNOWN] = KEEP(OL_LIFE_NOT_CANCELLABLE),
            [OL_LIFE_REJECTED] = KEEP(OL_LIFE_NOT_CANCELLABLE),
            [OL_LIFE_ACCEPTED] = MOVE(OL_LIFE_CANCELLED, true),
            [OL_LIFE_HELD] = MOVE(OL_LIFE_CANCELLED, true),
            [OL_LIFE_CONFIRMED] = MOVE(OL_LIFE_CANCELLED, true),
            [OL_LIFE_CANCELLED] = KEEP(OL_LIFE_ALREADY_CANCELLED),
            [OL_LIFE_EXPIRED] = KEEP(OL_LIFE_EXPIRED_BEFORE),
        },
    [OL_LIFE_EXPIRE] =
        {
            [OL_LIFE_UNKNOWN] = KEEP(OL_LIFE_NOT_HELD),
            [OL_LIFE_REJECTED] = KEEP(OL_LIFE_NOT_HELD),
            [OL_LIFE_ACCEPTED] = KEEP(OL_LIFE_NOT_HELD),
            [OL_LIFE_HELD] = MOVE(OL_LIFE_EXPIRED, true),
            [OL_LIFE_CONFIRMED] = KEEP(OL_LIFE_ALREADY_CONFIRMED),
            [OL_LIFE_CANCELLED] = KEEP(OL_LIFE_ALREADY_CANCELLED),
            [OL_LIFE_EXPIRED] = KEEP(OL_LIFE_EXPIRED_BEFORE),
        },
};

ol_life ol_life_after_decision(bool accepted, ol_order_type type, int32_t quantity, int32_t hold_s,
                               int64_t order_ts_ms) {
    ol_life life = {OL_LIFE_REJECTED, 0, 0};
    if (!accepted || type != OL_TYPE_ORDER) return life;
    life.quantity = quantity;
    if (hold_s > 0) {
        life.state = OL_LIFE_HELD;
        life.expires_at_ms = order_ts_ms + (int64_t)hold_s * 1000;
    } else {
        life.state = OL_LIFE_ACCEPTED;
    }
    return life;
}

ol_life_verdict ol_life_apply(ol_life *target, ol_life_event event, int64_t event_ts_ms, int32_t *units_back) {
    *units_back = 0;
    if ((unsigned)event > OL_LIFE_EXPIRE || (unsigned)target->state > OL_LIFE_EXPIRED) return OL_LIFE_NOT_HELD;
    const life_rule *rule = &RULES[event][target->state];
    if (rule->verdict != OL_LIFE_OK) return rule->verdict;
    /* An expire written early (a clock ahead, or by hand) changes nothing:
     * the hold stands until an expire logged past its deadline. */
    if (event == OL_LIFE_EXPIRE && event_ts_ms < target->expires_at_ms) return OL_LIFE_NOT_EXPIRED;
    if (rule->gives_back) *units_back = target->quantity;
    target->state = rule->next;
    if (rule->next != OL_LIFE_EXPIRED) target->expires_at_ms = 0;
    return OL_LIFE_OK;
}

bool ol_life_overdue(const ol_life *life, int64_t now_ms, int64_t slack_ms) {
    return life->state == OL_LIFE_HELD && now_ms > life->expires_at_ms + slack_ms;
}

bool ol_life_expire_id(const char *held_id, char *out, size_t outlen) {
    size_t n = strlen(held_id);
    if (n == 0 || n > OL_HOLD_ID_MAX || outlen < n + sizeof OL_EXPIRE_SUFFIX) return false;
    memcpy(out, held_id, n);
    memcpy(out + n, OL_EXPIRE_SUFFIX, sizeof OL_EXPIRE_SUFFIX);
    return true;
}

const char *ol_life_state_name(ol_life_state state) {
    static const char *const names[] = {"unknown", "rejected", "accepted", "held", "confirmed", "cancelled", "expired"};
    return (unsigned)state <= OL_LIFE_EXPIRED ? names[state] : "?";
}

const char *ol_life_verdict_reason(ol_life_verdict verdict) {
    static const char *const reasons[] = {NULL,      "not_held",          "not_cancellable",  "not_expired",
                                          "expired", "already_confirmed", "already_cancelled"};
    return (unsigned)verdict <= OL_LIFE_ALREADY_CANCELLED ? reasons[verdict] : "?";
}

const char *ol_life_event_name(ol_life_event event) {
    static const char *const names[] = {"confirm", "cancel", "expire"};
    return (unsigned)event <= OL_LIFE_EXPIRE ? names[event] : "?";
}
