#!/usr/bin/env python3
"""Latency from an order's append time to its result's append time.

Both topics are created with message.timestamp.type=LogAppendTime, so the
timestamps are the broker's append times. Reads both topics with kcat and
joins each first result to its order by (partition, offset).

    latency.py BROKERS ORDERS_TOPIC RESULTS_TOPIC [WARMUP_SECONDS]

Orders appended in the first WARMUP_SECONDS (from the first order's append
time) form the warm-up window: the consumer's first batches, the new
topics' first appends and database pages. They are reported apart, under
"warmup", and the main figures cover the rest (the steady state).
Prints JSON: {"count", "p50_ms", "p99_ms", "max_ms", "orders", "unanswered",
"warmup": {"seconds", "count", "p50_ms", "p99_ms", "max_ms"}}; exits 1 when
an order has no result."""
import json
import subprocess
import sys


def read(brokers, topic):
    out = subprocess.run(["kcat", "-C", "-b", brokers, "-t", topic, "-e", "-q", "-J"],
                         check=True, capture_output=True).stdout.decode("utf-8", "surrogateescape")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def summary(lat):
    lat = sorted(lat)
    if not lat:
        return {"count": 0}
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    return {"count": len(lat), "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": lat[-1]}


def main():
    brokers, orders_topic, results_topic = sys.argv[1:4]
    warmup_ms = int(float(sys.argv[4]) * 1000) if len(sys.argv) > 4 else 0
    appended = {(m["partition"], m["offset"]): m["ts"] for m in read(brokers, orders_topic)}
    if not appended:
        print(json.dumps({"count": 0, "orders": 0}))
        return 1
    start = min(appended.values())
    warm, steady = [], []
    seen = set()
    for r in read(brokers, results_topic):
        v = json.loads(r["payload"])
        key = (v["partition"], v["offset"])
        if key in seen or key not in appended:
            continue
        seen.add(key)
        (warm if appended[key] < start + warmup_ms else steady).append(r["ts"] - appended[key])
    out = summary(steady)
    out["orders"] = len(appended)
    out["unanswered"] = len(appended) - len(seen)
    out["warmup"] = dict(summary(warm), seconds=warmup_ms / 1000)
    print(json.dumps(out))
    return 0 if out["unanswered"] == 0 and steady else 1


if __name__ == "__main__":
    sys.exit(main())
