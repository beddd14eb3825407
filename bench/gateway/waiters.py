#!/usr/bin/env python3
"""Holds N requests waiting in order-gateway at once and reports what that
costs it: POSTs N orders with Prefer: wait=W while no consumer runs (so
none is decided), waits until the gateway's /metrics counts N waiters, then
reads the gateway's RSS and thread count from /proc. Prints one JSON line.

usage: waiters.py URL GATEWAY_PID N [WAIT_S]
"""
import json
import resource
import socket
import sys
import time
import urllib.request
import uuid


def metric(url, name):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def main():
    url, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    wait_s = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    host, port = url.split("//")[1].split(":")
    before = proc_status(pid)
    run = uuid.uuid4().hex[:8]
    socks = []
    t0 = time.monotonic()
    for i in range(n):
        body = json.dumps({"item": f"waiter-item-{i % 100}", "quantity": 1}).encode()
        req = (f"POST /orders HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Idempotency-Key: w-{run}-{i}\r\nPrefer: wait={wait_s}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        s = socket.create_connection((host, int(port)))
        s.sendall(req)
        socks.append(s)
    sent_s = time.monotonic() - t0
    waiting = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = metric(url, "orderline_gateway_waiters") or 0
        if waiting >= n:
            break
        time.sleep(0.2)
    held = proc_status(pid)
    # The gateway must still answer other requests while they all wait.
    t1 = time.monotonic()
    with urllib.request.urlopen(url + "/healthz", timeout=10) as r:
        health = r.status
    healthz_ms = (time.monotonic() - t1) * 1000
    for s in socks:
        s.close()
    print(json.dumps({"requests": n, "waiting": int(waiting), "sent_s": round(sent_s, 2),
                      "rss_before_kb": before["VmRSS"], "rss_held_kb": held["VmRSS"], "hwm_kb": held["VmHWM"],
                      "threads": held["Threads"], "healthz_status": health, "healthz_ms": round(healthz_ms, 1)}))
    return 0 if waiting >= n else 1


if __name__ == "__main__":
    sys.exit(main())
