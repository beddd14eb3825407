#include "ol_cart_flow.h"

#include <string.h>

static void add_step(ol_cart_actions *a, size_t line, ol_step step) {
    a->steps[a->n_steps].line = line;
    a->steps[a->n_steps].step = step;
    a->n_steps++;
}

/* Decides step for every line (or only those whose hold was granted). */
static void decide_steps(ol_cart_flow *f, ol_step step, bool only_held, ol_cart_actions *a) {
    for (size_t i = 0; i < f->n_lines; i++) {
        if (only_held && !f->lines[i].held) continue;
        f->lines[i].step = step;
        f->lines[i].answered = false;
        add_step(a, i, step);
    }
}

bool ol_cart_flow_start(ol_cart_flow *f, size_t n_lines, int32_t hold_s, int64_t ts_ms, ol_cart_actions *a) {
    memset(a, 0, sizeof *a);
    if (n_lines < 1 || n_lines > OL_CART_LINES_MAX) return false;
    memset(f, 0, sizeof *f);
    f->status = OL_CART_HOLDING;
    f->hold_s = hold_s;
    f->expires_at_ms = hold_s > 0 ? ts_ms + (int64_t)hold_s * 1000 : 0;
    f->n_lines = n_lines;
    decide_steps(f, OL_STEP_HOLD, false, a);
    return true;
}

/* Every line has answered its hold: the cart's outcome. */
static void holds_complete(ol_cart_flow *f, ol_cart_actions *a) {
    bool all_held = true;
    for (size_t i = 0; i < f->n_lines; i++) all_held = all_held && f->lines[i].held;
    a->answer = true;
    if (f->cancel_pending || !all_held) {
        f->status = f->cancel_pending ? OL_CART_CANCELLED : OL_CART_REJECTED;
        decide_steps(f, OL_STEP_RELEASE, true, a);
    } else if (f->hold_s > 0) {
        f->status = OL_CART_HELD;
    } else {
        f->status = OL_CART_ACCEPTED;
        decide_steps(f, OL_STEP_COMMIT, false, a);
    }
}

static ol_life_verdict on_answer(ol_cart_flow *f, const ol_cart_event *ev, ol_cart_actions *a, bool *stale) {
    ol_cart_line_state *l = ev->line < f->n_lines ? &f->lines[ev->line] : NULL;
    if (!l || l->step != ev->step || l->answered) {
        *stale = true; /* a repeat, or an answer to a step since replaced */
        return OL_LIFE_OK;
    }
    l->answered = true;
    if (ev->step == OL_STEP_HOLD) l->held = ev->held;
    if (f->status != OL_CART_HOLDING) return OL_LIFE_OK;
    for (size_t i = 0; i < f->n_lines; i++)
        if (!f->lines[i].answered) return OL_LIFE_OK;
    holds_complete(f, a);
    return OL_LIFE_OK;
}

/* What a confirm, cancel or expire finds when it cannot move the cart. */
static ol_life_verdict refusal(ol_cart_status status, ol_cart_event_kind kind) {
    switch (status) {
    case OL_CART_CONFIRMED:
        return kind == OL_CART_EV_CANCEL ? OL_LIFE_OK : OL_LIFE_ALREADY_CONFIRMED;
    case OL_CART_CANCELLED:
        return OL_LIFE_ALREADY_CANCELLED;
    case OL_CART_EXPIRED:
        return OL_LIFE_EXPIRED_BEFORE;
    case OL_CART_REJECTED:
        return kind == OL_CART_EV_CANCEL ? OL_LIFE_NOT_CANCELLABLE : OL_LIFE_NOT_HELD;
    case OL_CART_ACCEPTED:
        return kind == OL_CART_EV_CANCEL ? OL_LIFE_OK : OL_LIFE_NOT_HELD;
    case OL_CART_HOLDING:
        return kind == OL_CART_EV_CANCEL ? OL_LIFE_OK : OL_LIFE_NOT_HELD;
    case OL_CART_HELD:
        return OL_LIFE_OK;
    }
    return OL_LIFE_NOT_HELD;
}

static ol_life_verdict on_follow_up(ol_cart_flow *f, const ol_cart_event *ev, ol_cart_actions *a) {
    ol_life_verdict v = refusal(f->status, ev->kind);
    if (v != OL_LIFE_OK) return v;
    if (ev->kind == OL_CART_EV_CANCEL) {
        if (f->status == OL_CART_HOLDING) {
            if (f->cancel_pending) return OL_LIFE_ALREADY_CANCELLED;
            f->cancel_pending = true; /* given back once every hold has answered */
            return OL_LIFE_OK;
        }
        bool sold = f->status == OL_CART_ACCEPTED || f->status == OL_CART_CONFIRMED;
        f->status = OL_CART_CANCELLED;
        decide_steps(f, sold ? OL_STEP_RESTORE : OL_STEP_RELEASE, false, a);
    } else if (ev->kind == OL_CART_EV_CONFIRM) {
        f->status = OL_CART_CONFIRMED;
        decide_steps(f, OL_STEP_COMMIT, false, a);
    } else {
        if (ev->ts_ms < f->expires_at_ms) return OL_LIFE_NOT_EXPIRED;
        f->status = OL_CART_EXPIRED;
        decide_steps(f, OL_STEP_RELEASE, false, a);
    }
    a->answer = true;
    return OL_LIFE_OK;
}

ol_life_verdict ol_cart_flow_apply(ol_cart_flow *f, const ol_cart_event *ev, ol_cart_actions *a, bool *stale) {
    memset(a, 0, sizeof *a);
    *stale = false;
    if (ev->kind == OL_CART_EV_ANSWER) return on_answer(f, ev, a, stale);
    return on_follow_up(f, ev, a);
}

bool ol_cart_flow_settled(const ol_cart_flow *f) {
    for (size_t i = 0; i < f->n_lines; i++)
        if (!f->lines[i].answered) return false;
    return true;
}

bool ol_cart_flow_all_or_nothing(const ol_cart_flow *f) {
    size_t sold = 0, kept = 0; /* lines committed; lines whose granted hold still stands */
    for (size_t i = 0; i < f->n_lines; i++) {
        sold += f->lines[i].step == OL_STEP_COMMIT;
        kept += f->lines[i].step == OL_STEP_HOLD && f->lines[i].held;
    }
    switch (f->status) {
    case OL_CART_ACCEPTED:
    case OL_CART_CONFIRMED:
        return sold == f->n_lines;
    case OL_CART_HELD:
        return kept == f->n_lines;
    case OL_CART_HOLDING:
        return sold == 0;
    default:
        return sold == 0 && kept == 0;
    }
}

const char *ol_cart_status_name(ol_cart_status status) {
    static const char *const names[] = {"holding", "held", "accepted", "confirmed", "rejected", "cancelled", "expired"};
    return (unsigned)status <= OL_CART_EXPIRED ? names[status] : "?";
}

const char *ol_step_name(ol_step step) {
    static const char *const names[] = {"hold", "commit", "release", "restore"};
    return (unsigned)step <= OL_STEP_RESTORE ? names[step] : "?";
}
