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
    given_back = defaultdict(int)
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
                given_back[order["item"]] += back
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
        if want is not None and want != initial.get(item, 0) + restocked[item] - ordered[item] + given_back[item]:
            fail("item %r: stock %d != initial + restocks - accepted and held + given back" % (item, want))

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
    print("invariants: %s" % ("OK" if not failures else "%d VIOLATIONS" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
