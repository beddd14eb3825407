#!/usr/bin/env python3
"""Independent checker for orderline's guarantees.

Reads the orders log, the results topic and the DLQ with kcat, and the
ledger with psql, then recomputes every decision in Python from the rules
(written again here on purpose: it must not share code with the consumer)
and checks:

  1. every valid order_id has exactly one row in `orders`, and no row lacks
     a message; each row sits at the (partition, offset) of the first message
     carrying its order_id within its partition's sequence;
  2. each row's decision equals the recomputed one (per item, in log order);
  3. inventories = restocks - accepted orders - holds + units given back
     (cancels, expiries) per item, and nothing is negative; holds and their
     follow-ups (confirm, cancel, expire, whichever comes first in the
     partition wins; deadlines from the messages' log timestamps) are
     recomputed like every decision;
  4. every message with a readable order_id has a result with the right
     decision and duplicate flag; repeats of a result are identical;
  5. per item, first results appear in the order of their source offsets
     (--late-answers-ok: not checked, for runs that allow more than one
     request in flight, where a re-sent answer lands after later ones);
  6. every invalid message has a DLQ copy, unchanged, with headers naming
     the error and the source partition/offset;
  7. stored positions cover every message (after a clean finish);
  8. with --acks-log (order-producer --acks-log files): every order a
     producer counted as delivered (a report with no error and an offset)
     is in the log at that offset with its order_id, is decided, and has
     an answer. Prints the account: acknowledged, found, decided, answered,
     lost (must be 0). --log-only checks only the log (no consumer ran).
  9. with --carts-topic: replays the carts topic through the cart rules
     (ol_cart_flow, written again) and checks every cart answer against
     it, every forwarded line answer against the item's decision, each
     line step decided at most once, and all or nothing: no settled cart
     with some lines sold and others not, and every line's hold ending as
     its cart did (sold, held, or given back).

Prints a summary and exits 1 on any violation.
"""
import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict

QUANTITY_MAX = 1_000_000
STOCK_MAX = 2**31 - 1
HOLD_MAX_S = 86_400
HOLD_ID_MAX = 121  # a hold's order_id leaves room for "#expire"
FOLLOW_UPS = ("confirm", "cancel", "expire")


def kcat(brokers, topic):
    # $ORDERLINE_CONFIG (scripts/stack credentials) holds librdkafka
    # properties only, so kcat reads it as it is: the secure stack's admin.
    config = os.environ.get("ORDERLINE_CONFIG")
    out = subprocess.run(
        ["kcat"] + (["-F", config] if config else []) + ["-C", "-b", brokers, "-t", topic, "-e", "-q", "-J"],
        check=True, capture_output=True, timeout=300).stdout
    msgs = []
    for line in out.decode("utf-8", errors="surrogateescape").splitlines():
        if line.strip():
            msgs.append(json.loads(line))
    msgs.sort(key=lambda m: (m["partition"], m["offset"]))
    return msgs


def psql(db, sql):
    out = subprocess.run(["psql", db, "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


class _Reject(Exception):
    pass


def _no_dup_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise _Reject("duplicate key")
    return dict(pairs)


def _reject_constant(name):
    raise _Reject("JSON has no " + name)  # Python accepts NaN/Infinity; JSON does not


def parse_order(key, payload):
    """Returns (order or None, order_id or None)."""
    if payload is None:
        return None, None
    # kcat passes raw bytes through; we decoded them with surrogateescape, so
    # invalid UTF-8 shows up as U+DC80..U+DCFF. Such a value is not JSON at
    # all (JSON is UTF-8), so not even its order_id is readable.
    if any("\udc80" <= ch <= "\udcff" for ch in payload):
        return None, None
    try:
        doc = json.loads(payload, object_pairs_hook=_no_dup_keys, parse_constant=_reject_constant)
    except (ValueError, _Reject):
        return None, None
    if not isinstance(doc, dict):
        return None, None
    oid = doc.get("order_id")
    if not isinstance(oid, str) or not 1 <= len(oid.encode("utf-8", "surrogateescape")) <= 128:
        return None, None
    item = doc.get("item")
    if not isinstance(item, str) or not 1 <= len(item.encode("utf-8", "surrogateescape")) <= 64:
        return None, oid
    typ = doc.get("type", "order")
    if typ not in ("order", "restock") + FOLLOW_UPS:
        return None, oid
    if key is not None and key != item:
        return None, oid
    if typ in FOLLOW_UPS:
        target = doc.get("target")
        if not isinstance(target, str) or not 1 <= len(target.encode("utf-8", "surrogateescape")) <= 128:
            return None, oid
        if "quantity" in doc or "hold_s" in doc:
            return None, oid
        if typ == "expire" and oid != target + "#expire":
            return None, oid
        return {"order_id": oid, "item": item, "quantity": 0, "type": typ, "target": target, "hold_s": 0}, oid
    if "target" in doc:
        return None, oid
    q = doc.get("quantity")
    if isinstance(q, bool) or not isinstance(q, (int, float)) or (isinstance(q, float) and not q.is_integer()):
        return None, oid
    if not 1 <= q <= QUANTITY_MAX:
        return None, oid
    hold = doc.get("hold_s", 0)
    if "hold_s" in doc:
        if isinstance(hold, bool) or not isinstance(hold, int) or not 1 <= hold <= HOLD_MAX_S or typ != "order":
            return None, oid
        if len(oid.encode("utf-8", "surrogateescape")) > HOLD_ID_MAX:
            return None, oid
    return {"order_id": oid, "item": item, "quantity": int(q), "type": typ, "hold_s": hold}, oid


# What follows a decision, written again from the contract: each
# (event, state) pair gives a reason (refused) or the next state and
# whether the units go back.
LIFE_RULES = {
    "confirm": {"unknown": "not_held", "rejected": "not_held", "accepted": "not_held", "held": ("confirmed", False),
                "confirmed": "already_confirmed", "cancelled": "already_cancelled", "expired": "expired"},
    "cancel": {"unknown": "not_cancellable", "rejected": "not_cancellable", "accepted": ("cancelled", True),
               "held": ("cancelled", True), "confirmed": ("cancelled", True), "cancelled": "already_cancelled",
               "expired": "expired"},
    "expire": {"unknown": "not_held", "rejected": "not_held", "accepted": "not_held", "held": ("expired", True),
               "confirmed": "already_confirmed", "cancelled": "already_cancelled", "expired": "expired"},
}


def follow_up(order, ts, stock, lives):
    """Returns (status, reason, remaining, target units, units back)."""
    life = lives.get(order["target"], {"state": "unknown", "quantity": 0, "expires": 0})
    rule = LIFE_RULES[order["type"]][life["state"]]
    remaining = stock.get(order["item"])
    if isinstance(rule, str):
        return "rejected", rule, remaining, life["quantity"], 0
    if order["type"] == "expire" and ts < life["expires"]:
        return "rejected", "not_expired", remaining, life["quantity"], 0
    state, back = rule
    units = life["quantity"] if back else 0
    if units and order["item"] in stock:
        stock[order["item"]] += units
    life["state"] = state
    lives[order["target"]] = life
    return "accepted", None, stock.get(order["item"]), life["quantity"], units


def decide(order, stock):
    """The rule, from the issue text. Returns (status, reason, remaining)."""
    item, q = order["item"], order["quantity"]
    if order["type"] == "restock":
        base = stock.get(item, 0)
        if base + q > STOCK_MAX:
            return "rejected", "invalid", None
        stock[item] = base + q
        return "accepted", None, stock[item]
    if item not in stock:
        return "rejected", "unknown_item", None
    if stock[item] >= q:
        stock[item] -= q
        return ("held" if order.get("hold_s") else "accepted"), None, stock[item]
    return "rejected", "insufficient_stock", stock[item]


def read_acks(paths):
    """Delivery reports as order-producer --acks-log wrote them."""
    reports = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                    reports.append((str(r["order_id"]), int(r["partition"]), int(r["offset"]), r["error"]))
                except (ValueError, KeyError, TypeError) as e:
                    raise SystemExit("%s:%d: not an acks-log line: %s" % (path, n, e))
    return reports


def order_id_of(payload):
    try:
        v = json.loads(payload)
        return v.get("order_id") if isinstance(v, dict) else None
    except (ValueError, TypeError):
        return None


def acks_account(reports, orders, ledger, answered_ids, log_only, fail):
    """The Jepsen-style account of every acknowledged write."""
    acked = defaultdict(set)  # order_id -> positions its acknowledgements named
    failed = set()
    no_offset = 0
    for oid, p, o, err in reports:
        if err is None and o >= 0:
            acked[oid].add((p, o))
        elif err is None:
            no_offset += 1
        else:
            failed.add(oid)
    at = {(m["partition"], m["offset"]): order_id_of(m["payload"]) for m in orders}
    found = decided = answered = lost = 0
    for oid, positions in sorted(acked.items()):
        ok = True
        for pos in sorted(positions):
            if at.get(pos) != oid:
                ok = False
                fail("order %r acknowledged at %s, but the log has %s there" %
                     (oid, pos, "order %r" % at[pos] if pos in at else "nothing"))
        found += ok
        if not log_only:
            if oid in ledger:
                decided += 1
            else:
                ok = False
                fail("acknowledged order %r is not decided" % oid)
            if oid in answered_ids:
                answered += 1
            else:
                ok = False
                fail("acknowledged order %r has no answer" % oid)
        lost += not ok
    never = len({r[0] for r in reports} - set(acked) - failed)
    print("acks: %d reports (%d without an offset, %d orders failed, %d never confirmed); acknowledged %d, "
          "found %d, decided %s, answered %s, lost %d" %
          (len(reports), no_offset, len(failed - set(acked)), never, len(acked), found,
           "-" if log_only else decided, "-" if log_only else answered, lost))


# --- Carts (--carts-topic): the coordinator's decisions, written again from
# carts/protocol.md and common/core/ol_cart_flow.c. A cart's lines are
# ordinary orders on the orders topic ("<cart_id>#<line>#<phase>"), so the
# item replay above already recomputes their units; this replays the carts
# topic, partition by partition in offset order, to recompute every cart's
# outcome and answer, and checks them against the items' decisions.
CART_ID_MAX = 96
CART_LINES_MAX = 100
CART_TYPES = {"cart": "cart", "cart_confirm": "confirm", "cart_cancel": "cancel", "cart_expire": "expire",
              "line_result": "line_result"}
STEPS = ("hold", "commit", "release", "restore")
# (follow-up, cart state) -> refusal reason, or None when it moves the cart.
CART_REFUSALS = {
    "confirmed": lambda k: None if k == "cancel" else "already_confirmed",
    "cancelled": lambda k: "already_cancelled",
    "expired": lambda k: "expired",
    "rejected": lambda k: "not_cancellable" if k == "cancel" else "not_held",
    "accepted": lambda k: None if k == "cancel" else "not_held",
    "holding": lambda k: None if k == "cancel" else "not_held",
    "held": lambda k: None,
}


def _nbytes(s):
    return len(s.encode("utf-8", "surrogateescape"))


def _str_field(doc, name, limit):
    v = doc.get(name)
    return v if isinstance(v, str) and 1 <= _nbytes(v) <= limit else None


def _int_field(v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
        return None
    return int(v) if lo <= v <= hi else None


def parse_cart_lines(doc):
    """A cart's merged lines and hold_s, or None when the cart is invalid."""
    lines = doc.get("lines")
    if not isinstance(lines, list) or not 1 <= len(lines) <= CART_LINES_MAX:
        return None
    merged = []
    for line in lines:
        if not isinstance(line, dict):
            return None
        item, q = _str_field(line, "item", 64), _int_field(line.get("quantity"), 1, QUANTITY_MAX)
        if item is None or q is None:
            return None
        for m in merged:
            if m[0] == item:
                if m[1] + q > QUANTITY_MAX:
                    return None
                m[1] += q
                break
        else:
            merged.append([item, q])
    hold = 0
    if "hold_s" in doc:
        hold = _int_field(doc["hold_s"], 1, HOLD_MAX_S)
        if hold is None:
            return None
    return [tuple(m) for m in merged], hold


def parse_cart_msg(key, payload):
    """One carts-topic message as a dict with kind (cart, confirm, cancel,
    expire, line_result, invalid), order_id and cart_id; None when nothing
    in it could be answered (as order-carts, which then only logs it)."""
    if payload is None or any("\udc80" <= ch <= "\udcff" for ch in payload):
        return None
    try:
        doc = json.loads(payload, object_pairs_hook=_no_dup_keys, parse_constant=_reject_constant)
    except (ValueError, _Reject):
        return None
    if not isinstance(doc, dict):
        return None
    typ = doc.get("type", "cart")
    kind = CART_TYPES.get(typ) if isinstance(typ, str) else None
    if kind is None:  # unknown type: invalid when it names an order_id
        oid = _str_field(doc, "order_id", 128)
        cid = doc.get("cart_id")
        cid = cid if isinstance(cid, str) and _nbytes(cid) <= CART_ID_MAX else ""
        return {"kind": "invalid", "order_id": oid, "cart_id": cid} if oid else None
    if kind == "line_result":
        cid, item = _str_field(doc, "cart_id", CART_ID_MAX), _str_field(doc, "item", 64)
        line = _int_field(doc.get("line"), 0, CART_LINES_MAX - 1)
        part, off = _int_field(doc.get("partition"), 0, 2**31 - 1), _int_field(doc.get("offset"), 0, 2**62)
        reason = doc.get("reason")
        if None in (cid, item, line, part, off) or doc.get("phase") not in STEPS or \
                doc.get("status") not in ("accepted", "held", "rejected") or \
                not (reason is None or isinstance(reason, str)) or "reason" not in doc:
            return None
        return {"kind": kind, "order_id": "", "cart_id": cid, "item": item, "line": line, "phase": doc["phase"],
                "status": doc["status"], "reason": reason, "pos": (part, off)}
    if kind == "cart":
        cid = _str_field(doc, "cart_id", CART_ID_MAX)
        if cid is None:
            return None
        parsed = parse_cart_lines(doc)
        if parsed is None or (key is not None and key != cid):
            return {"kind": "invalid", "order_id": cid, "cart_id": cid}
        return {"kind": "cart", "order_id": cid, "cart_id": cid, "lines": parsed[0], "hold_s": parsed[1]}
    oid = _str_field(doc, "order_id", 128)
    if oid is None:
        return None
    cid = _str_field(doc, "cart_id", CART_ID_MAX)
    if cid is None or (key is not None and key != cid):
        return {"kind": "invalid", "order_id": oid, "cart_id": cid or ""}
    return {"kind": kind, "order_id": oid, "cart_id": cid}


class CartFlow:
    """ol_cart_flow, again: the state of one cart and its lines."""

    def __init__(self, msg, pos, ts):
        self.cart_id, self.lines, self.hold_s, self.pos = msg["cart_id"], msg["lines"], msg["hold_s"], pos
        self.status, self.cancel_pending = "holding", False
        self.expires = ts + 1000 * self.hold_s if self.hold_s else 0
        self.ls = [{"step": "hold", "answered": False, "held": False, "reason": None} for _ in self.lines]
        self.steps = [(i, "hold") for i in range(len(self.lines))]  # every step decided, in order

    def _decide(self, step, only_held):
        for i, l in enumerate(self.ls):
            if not only_held or l["held"]:
                l["step"], l["answered"] = step, False
                self.steps.append((i, step))

    def answer(self, line, step, held, reason):
        """A line's answer. Returns None (a repeat: changes nothing), False
        (moved, no answer due) or True (the cart's own answer is due)."""
        l = self.ls[line]
        if l["step"] != step or l["answered"]:
            return None
        l["answered"] = True
        if step == "hold":
            l["held"] = held
            if not held:
                l["reason"] = reason
        if self.status != "holding" or not all(x["answered"] for x in self.ls):
            return False
        if self.cancel_pending or not all(x["held"] for x in self.ls):
            self.status = "cancelled" if self.cancel_pending else "rejected"
            self._decide("release", True)
        elif self.hold_s:
            self.status = "held"
        else:
            self.status = "accepted"
            self._decide("commit", False)
        return True

    def follow_up(self, kind, ts):
        """confirm, cancel or expire: the refusal's reason, or None."""
        why = CART_REFUSALS[self.status](kind)
        if why is not None:
            return why
        if kind == "cancel":
            if self.status == "holding":
                if self.cancel_pending:
                    return "already_cancelled"
                self.cancel_pending = True
                return None
            sold = self.status in ("accepted", "confirmed")
            self.status = "cancelled"
            self._decide("restore" if sold else "release", False)
        elif kind == "confirm":
            self.status = "confirmed"
            self._decide("commit", False)
        else:
            if ts < self.expires:
                return "not_expired"
            self.status = "expired"
            self._decide("release", False)
        return None

    def line_status(self, i):
        l = self.ls[i]
        if l["step"] == "hold":
            return "holding" if not l["answered"] else "held" if l["held"] else "rejected"
        return {"commit": "accepted", "release": "released", "restore": "restored"}[l["step"]]

    def outcome(self):
        """The cart's own answer: (status, reason)."""
        if self.status in ("held", "accepted"):
            return self.status, None
        if self.status == "cancelled":
            return "rejected", "already_cancelled"
        reason = "insufficient_stock"
        for l in self.ls:
            if not l["held"] and l["reason"] is not None:
                reason = l["reason"]
                break
        return "rejected", reason

    def settled(self):
        return all(l["answered"] for l in self.ls)


def cart_answer(order_id, typ, status, reason, state, flow, pos):
    """An answer as order-carts publishes it, less processed_at and duplicate."""
    known = flow is not None
    expires = flow.expires if known and flow.status in ("held", "expired") else None
    return {"order_id": order_id, "cart_id": flow.cart_id if known else order_id, "type": typ, "status": status,
            "reason": reason, "state": state, "hold_expires_at": expires,
            "lines": [{"item": it, "quantity": q, "status": flow.line_status(i),
                       "reason": None if flow.ls[i]["held"] else flow.ls[i]["reason"]}
                      for i, (it, q) in enumerate(flow.lines)] if known else [],
            "partition": pos[0], "offset": pos[1]}


def replay_carts(msgs):
    """Replays the carts topic. Returns (flows by cart_id, expected answers
    by (partition, offset), stored answers by order_id, line results)."""
    flows, expected, stored, line_results = {}, {}, {}, []
    for m in msgs:
        pos, ts = (m["partition"], m["offset"]), m.get("ts", -1)
        c = parse_cart_msg(m["key"], m["payload"])
        if c is None:
            continue
        if c["kind"] == "line_result":
            line_results.append((pos, c))
            f = flows.get(c["cart_id"])
            if f is None or c["line"] >= len(f.lines) or f.lines[c["line"]][0] != c["item"]:
                continue
            held = c["status"] in ("held", "accepted")
            if f.answer(c["line"], c["phase"], held, c["reason"]):
                status, reason = f.outcome()
                a = cart_answer(f.cart_id, "cart", status, reason, f.status, f, f.pos)
                expected[f.pos] = stored[f.cart_id] = a
            continue
        cid = c["cart_id"] or c["order_id"]
        f = flows.get(cid)
        repeat = c["order_id"] in stored or (c["order_id"] == c["cart_id"] and f is not None and
                                             c["kind"] in ("cart", "invalid"))
        if repeat:
            continue  # a duplicate: its first answer again, if there is one yet
        if c["kind"] == "cart":
            flows[cid] = CartFlow(c, pos, ts)
        elif c["kind"] == "invalid":
            a = cart_answer(c["order_id"], "cart", "rejected", "invalid", None, f, pos)
            expected[pos] = stored[c["order_id"]] = a
        else:
            typ = "cart_" + c["kind"]
            if f is None:
                why = "not_cancellable" if c["kind"] == "cancel" else "not_held"
                a = cart_answer(c["order_id"], typ, "rejected", why, None, None, pos)
            else:
                why = f.follow_up(c["kind"], ts)
                a = cart_answer(c["order_id"], typ, "rejected" if why else "accepted", why, f.status, f, pos)
            expected[pos] = stored[c["order_id"]] = a
    return flows, expected, stored, line_results


def _ms(stamp):
    if stamp is None:
        return None
    from datetime import datetime
    try:
        t = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return "bad time %r" % (stamp,)
    return round(t.timestamp() * 1000)


def check_carts(carts, results, orders, expected_items, lives, allow_unprocessed, fail):
    """The cart checks; returns a summary line."""
    flows, expected, stored, line_results = replay_carts(carts)
    # 1. Every cart answer on results equals the replay's (repeats too).
    seen = set()
    n_answers = 0
    for r in results:
        v = json.loads(r["payload"])
        if v.get("topic") != "carts":
            continue
        n_answers += 1
        got = {k: v.get(k) for k in ("order_id", "cart_id", "type", "status", "reason", "state", "lines",
                                     "partition", "offset")}
        got["hold_expires_at"] = _ms(v.get("hold_expires_at"))
        want = stored.get(v.get("order_id")) if v.get("duplicate") else expected.get((v.get("partition"),
                                                                                      v.get("offset")))
        if want is None:
            fail("cart answer %s for %r answers no cart message the replay answers" %
                 ((v.get("partition"), v.get("offset")), v.get("order_id")))
            continue
        if got != want:
            fail("cart answer at %s: got %s, replay says %s" % ((want["partition"], want["offset"]), got, want))
        if not v.get("duplicate"):
            seen.add((v["partition"], v["offset"]))
    if not allow_unprocessed:
        for pos, want in expected.items():
            if pos not in seen:
                fail("cart message at %s (%r) has no answer" % (pos, want["order_id"]))
    # 2. Every forwarded line answer is the item's answer to that step.
    at = {(m["partition"], m["offset"]): order_id_of(m["payload"]) for m in orders}
    for pos, c in line_results:
        step_id = "%s#%d#%s" % (c["cart_id"], c["line"], c["phase"])
        if at.get(c["pos"]) != step_id:
            fail("line_result at %s names orders %s, which holds %r, not %r" % (pos, c["pos"], at.get(c["pos"]),
                                                                                 step_id))
            continue
        want = expected_items.get(c["pos"])
        if want is not None and (want["status"], want["reason"]) != (c["status"], c["reason"]):
            fail("line_result at %s for %r says %s, the item decided %s" %
                 (pos, step_id, (c["status"], c["reason"]), (want["status"], want["reason"])))
    # 3. Each step applied at most once: one first (non-duplicate) answer per step id.
    firsts = defaultdict(set)
    for r in results:
        v = json.loads(r["payload"])
        oid = v.get("order_id")
        if v.get("topic") != "carts" and not v.get("duplicate") and isinstance(oid, str) and \
                oid.rsplit("#", 1)[-1] in STEPS and oid.split("#", 1)[0] in flows:
            firsts[oid].add((v["partition"], v["offset"]))
    for oid, positions in sorted(firsts.items()):
        if len(positions) > 1:
            fail("cart step %r applied %d times (first answers at %s)" % (oid, len(positions), sorted(positions)))
    # 4. All or nothing, from the items' decisions of the lines' holds.
    settled = half = 0
    for cid, f in sorted(flows.items()):
        if f.status == "holding":
            continue
        states = [lives.get("%s#%d#hold" % (cid, i), {}).get("state", "unknown") for i in range(len(f.lines))]
        sold = sum(1 for s in states if s == "confirmed")
        if 0 < sold < len(states):
            half += 1
            fail("cart %r (%s) half-sold: its lines' holds are %s" % (cid, f.status, states))
            continue
        if not f.settled():
            continue
        settled += 1
        want = {"accepted": "confirmed", "confirmed": "confirmed", "held": "held"}.get(f.status)
        for i, s in enumerate(states):
            if want is not None and s != want:
                fail("cart %r is %s but line %d's hold is %s" % (cid, f.status, i, s))
            elif want is None and s in ("held", "confirmed"):
                fail("cart %r is %s but line %d's hold is still %s" % (cid, f.status, i, s))
    return "carts: %d messages, %d carts (%d settled, %d half-sold), %d answers, %d line results" % (
        len(carts), len(flows), settled, half, n_answers, len(line_results))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--orders-topic", default="orders")
    ap.add_argument("--results-topic", default="order-results")
    ap.add_argument("--dlq-topic", default="orders-dlq")
    ap.add_argument("--initial-stock", default="", help="item=count,... present before the log began")
    ap.add_argument("--expect-invalid", type=int, default=None)
    ap.add_argument("--allow-unprocessed", action="store_true")
    ap.add_argument("--acks-log", action="append", default=[],
                    help="an order-producer --acks-log file (repeatable): account for every acknowledged order")
    ap.add_argument("--late-answers-ok", action="store_true",
                    help="do not check that answers appear in the order of their orders")
    ap.add_argument("--log-only", action="store_true",
                    help="with --acks-log: only check that acknowledged orders are in the log (no consumer ran)")
    ap.add_argument("--carts-topic", default=None,
                    help="also replay this carts topic and check every cart (all or nothing, answers, steps)")
    ap.add_argument("--misrouted", action="store_true",
                    help="items span partitions: check the ledger's arithmetic instead of replaying the rules")
    args = ap.parse_args()

    failures = []

    def fail(msg):
        failures.append(msg)
        if len(failures) <= 30:
            print("FAIL: " + msg)

    orders = kcat(args.brokers, args.orders_topic)
    if args.log_only:
        acks_account(read_acks(args.acks_log), orders, {}, set(), True, fail)
        print("invariants: %s" % ("OK" if not failures else "%d VIOLATIONS" % len(failures)))
        return 1 if failures else 0
    results = kcat(args.brokers, args.results_topic)
    dlq = kcat(args.brokers, args.dlq_topic)
    rows = psql(args.db, "SELECT order_id, item, type, quantity, status, coalesce(reason,''), "
                "coalesce(remaining::text,''), kafka_partition, kafka_offset FROM orders "
                "WHERE kafka_topic = '%s'" % args.orders_topic.replace("'", "''"))
    ledger = {}
    for r in rows:
        ledger[r[0]] = {"item": r[1], "type": r[2], "quantity": int(r[3]), "status": r[4],
                        "reason": r[5] or None, "remaining": int(r[6]) if r[6] else None,
                        "pos": (int(r[7]), int(r[8]))}
    inventories = {r[0]: int(r[1]) for r in psql(args.db, "SELECT name, count FROM inventories")}
    positions = {int(r[0]): (int(r[1]), int(r[2])) for r in psql(
        args.db, "SELECT partition, next_offset, results_offset FROM consumer_positions WHERE topic = '%s'"
        % args.orders_topic.replace("'", "''"))}

    # Recompute, partition by partition (an item lives in one partition).
    initial = {}
    for pair in filter(None, args.initial_stock.split(",")):
        k, v = pair.split("=")
        initial[k] = int(v)
    stock = dict(initial)
    expected = {}  # (p, o) -> expected answer
    invalid = []
    restocked = defaultdict(int)
    ordered = defaultdict(int)
    given_back = {"cancel": defaultdict(int), "expire": defaultdict(int)}  # units back, by what gave them
    lives = {}  # order_id -> {"state", "quantity", "expires"}: what follows its decision
    decided_ids = set()
    valid_ids = set()
    for m in orders:
        pos = (m["partition"], m["offset"])
        order, oid = parse_order(m["key"], m["payload"])
        if order is None:
            invalid.append(m)
            if oid is not None:
                expected[pos] = {"order_id": oid, "status": "rejected", "reason": "invalid", "remaining": None,
                                 "duplicate": False}
            continue
        valid_ids.add(oid)
        row = ledger.get(oid)
        if row is None:
            fail("order %r at %s has no row in orders" % (oid, pos))
            continue
        if row["pos"] == pos:
            if oid in decided_ids:
                fail("order %r decided twice" % oid)
            decided_ids.add(oid)
            if args.misrouted:
                # Interleaving across partitions is not in the log: trust the
                # ledger's order and check its arithmetic below.
                status, reason, remaining = row["status"], row["reason"], row["remaining"]
                if order["type"] == "restock" and status == "accepted":
                    stock[order["item"]] = stock.get(order["item"], 0) + order["quantity"]
                elif status == "accepted":
                    stock[order["item"]] = stock.get(order["item"], 0) - order["quantity"]
            elif order["type"] in FOLLOW_UPS:
                status, reason, remaining, units, back = follow_up(order, m.get("ts", -1), stock, lives)
                order = dict(order, quantity=units)  # a follow-up's row records its target's units
                if order["type"] != "confirm":
                    given_back[order["type"]][order["item"]] += back
            else:
                status, reason, remaining = decide(order, stock)
            if order["type"] not in FOLLOW_UPS:
                ok = status in ("accepted", "held") and order["type"] == "order"
                lives[oid] = {"state": status if ok else "rejected", "quantity": order["quantity"] if ok else 0,
                              "expires": m.get("ts", -1) + 1000 * order["hold_s"] if status == "held" else 0}
            if status in ("accepted", "held") and order["type"] not in FOLLOW_UPS:
                (restocked if order["type"] == "restock" else ordered)[order["item"]] += order["quantity"]
            got = (row["status"], row["reason"], row["remaining"])
            if got != (status, reason, remaining):
                fail("order %r at %s: ledger says %s, rules say %s" % (oid, pos, got, (status, reason, remaining)))
            if (row["item"], row["type"], row["quantity"]) != (order["item"], order["type"], order["quantity"]):
                fail("order %r: ledger row %s does not match the message %s" %
                     (oid, (row["item"], row["type"], row["quantity"]),
                      (order["item"], order["type"], order["quantity"])))
            expected[pos] = {"order_id": oid, "status": status, "reason": reason, "remaining": remaining,
                             "duplicate": False}
        else:
            if row["pos"] > pos and row["pos"][0] == pos[0]:
                fail("order %r: decided at %s but first appears at %s" % (oid, row["pos"], pos))
            expected[pos] = {"order_id": oid, "status": row["status"], "reason": row["reason"],
                             "remaining": row["remaining"], "duplicate": True}

    for oid in ledger:
        if oid not in valid_ids:
            fail("orders row %r has no message in the log" % oid)
    if len(ledger) != len(valid_ids):
        fail("ledger has %d rows for %d distinct valid order_ids" % (len(ledger), len(valid_ids)))

    for item, count in inventories.items():
        if count < 0:
            fail("item %r has negative stock %d" % (item, count))
    for item in set(stock) | set(k for k in inventories if k in stock or k in restocked):
        want = stock.get(item)
        if inventories.get(item) != want:
            fail("item %r: inventories says %r, recomputed %r" % (item, inventories.get(item), want))
        back = given_back["cancel"][item] + given_back["expire"][item]
        if want is not None and want != initial.get(item, 0) + restocked[item] - ordered[item] + back:
            fail("item %r: stock %d != initial + restocks - sold - held + cancelled + expired" % (item, want))

    # Results: every answerable message answered, consistently, in order.
    seen = {}
    last_by_item = {}
    repeats = 0
    for r in results:
        v = json.loads(r["payload"])
        if v.get("topic") == "carts":
            continue  # a cart's answer (order-carts): it answers the carts topic, not an item
        pos = (v["partition"], v["offset"])
        want = expected.get(pos)
        if want is None:
            fail("result for %s answers no answerable message" % (pos,))
            continue
        got = {"order_id": v["order_id"], "status": v["status"], "reason": v["reason"],
               "remaining": v["remaining"], "duplicate": v["duplicate"]}
        if got != want:
            fail("result at %s: got %s, want %s" % (pos, got, want))
        if pos in seen:
            repeats += 1
            a, b = dict(seen[pos]), dict(v)
            if not v["duplicate"] and v["reason"] != "invalid":
                if a != b:
                    fail("result for %s republished differently: %s vs %s" % (pos, a, b))
            continue
        seen[pos] = v
        if v["item"] is not None:
            prev = last_by_item.get(v["item"])
            if not args.late_answers_ok and prev is not None and prev[0] == pos[0] and prev[1] >= pos[1]:
                fail("item %r: result for offset %d came after offset %d" % (v["item"], pos[1], prev[1]))
            last_by_item[v["item"]] = pos
    for pos in expected:
        if pos not in seen:
            fail("message at %s (order %r) has no result" % (pos, expected[pos]["order_id"]))

    carts_line = None
    if args.carts_topic:
        carts_line = check_carts(kcat(args.brokers, args.carts_topic), results, orders, expected, lives,
                                 args.allow_unprocessed, fail)

    # DLQ: every invalid message copied unchanged, with its origin.
    copies = {}
    for d in dlq:
        h = d.get("headers") or []
        hd = dict(zip(h[0::2], h[1::2]))
        if hd.get("orderline.source.topic") != args.orders_topic:
            continue
        try:
            src = (int(hd["orderline.source.partition"]), int(hd["orderline.source.offset"]))
        except (KeyError, ValueError):
            fail("DLQ message %s:%s lacks source headers" % (d["partition"], d["offset"]))
            continue
        if not hd.get("orderline.error"):
            fail("DLQ copy of %s has no error header" % (src,))
        copies[src] = d
    for m in invalid:
        pos = (m["partition"], m["offset"])
        c = copies.get(pos)
        if c is None:
            fail("invalid message at %s is not in the DLQ" % (pos,))
        elif (c["key"], c["payload"]) != (m["key"], m["payload"]):
            fail("DLQ copy of %s differs from the original" % (pos,))
    if args.expect_invalid is not None and len(invalid) != args.expect_invalid:
        fail("expected %d invalid messages in the log, found %d" % (args.expect_invalid, len(invalid)))

    if not args.allow_unprocessed:
        ends = defaultdict(lambda: -1)
        for m in orders:
            ends[m["partition"]] = max(ends[m["partition"]], m["offset"])
        for p, last in ends.items():
            nxt, res = positions.get(p, (0, 0))
            if nxt != last + 1:
                fail("partition %d: stored position %d, log ends at %d" % (p, nxt, last + 1))

    if args.acks_log:
        answered_ids = {json.loads(r["payload"]).get("order_id") for r in results}
        acks_account(read_acks(args.acks_log), orders, ledger, answered_ids, False, fail)

    dups = sum(1 for e in expected.values() if e["duplicate"])
    print("checked %d messages (%d invalid, %d duplicates), %d ledger rows, %d items, %d results "
          "(%d repeated after restarts), %d DLQ copies" % (len(orders), len(invalid), dups, len(ledger),
                                                           len(stock), len(results), repeats, len(copies)))
    if carts_line:
        print(carts_line)
    print("invariants: %s" % ("OK" if not failures else "%d VIOLATIONS" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
