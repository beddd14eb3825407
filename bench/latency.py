#!/usr/bin/env python3
"""Latency from an order's append time to its result's append time.

Both topics are created with message.timestamp.type=LogAppendTime, so the
timestamps are the broker's append times. Reads both topics with kcat and
joins each first result to its order by (partition, offset).
Prints JSON: {"count", "p50_ms", "p99_ms", "max_ms"}."""
import json
import subprocess
import sys


def read(brokers, topic):
    out = subprocess.run(["kcat", "-C", "-b", brokers, "-t", topic, "-e", "-q", "-J"],
                         check=True, capture_output=True).stdout.decode("utf-8", "surrogateescape")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    brokers, orders_topic, results_topic = sys.argv[1:4]
    appended = {(m["partition"], m["offset"]): m["ts"] for m in read(brokers, orders_topic)}
    lat = []
    seen = set()
    for r in read(brokers, results_topic):
        v = json.loads(r["payload"])
        key = (v["partition"], v["offset"])
        if key in seen or key not in appended:
            continue
        seen.add(key)
        lat.append(r["ts"] - appended[key])
    lat.sort()
    if not lat:
        print(json.dumps({"count": 0}))
        return 1
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(json.dumps({"count": len(lat), "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": lat[-1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
