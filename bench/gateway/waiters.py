#!/usr/bin/env python3
"""Holds N requests waiting in order-gateway at once and reports what that
costs it: POSTs N orders with Prefer: wait=W while no consumer runs (so
none is decided), waits until the gateway's /metrics counts N waiters, then
reads the gateway's RSS and thread count from /proc. Prints one JSON line.

usage: waiters.py URL METRICS_URL GATEWAY_PID N [WAIT_S]

URL is the API (http:// or https://; with https the certificate is not
checked: the bench makes its own), METRICS_URL the gateway's --metrics-addr
(/metrics, /healthz). $BENCH_TOKEN, when set, is sent as the bearer token.
"""
import json
import os
import resource
import socket
import ssl
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
    url, murl, pid, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    wait_s = int(sys.argv[5]) if len(sys.argv) > 5 else 30
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tls = None
    if url.startswith("https://"):
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    token = os.environ.get("BENCH_TOKEN")
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    host, port = url.split("//")[1].split(":")
    before = proc_status(pid)
    run = uuid.uuid4().hex[:8]
    socks = []
    t0 = time.monotonic()
    for i in range(n):
        body = json.dumps({"item": f"waiter-item-{i % 100}", "quantity": 1}).encode()
        req = (f"POST /orders HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Idempotency-Key: w-{run}-{i}\r\nPrefer: wait={wait_s}\r\n{auth}Content-Length: {len(body)}\r\n\r\n").encode() + body
        s = socket.create_connection((host, int(port)))
        if tls:
            s = tls.wrap_socket(s, server_hostname=host)
        s.sendall(req)
        socks.append(s)
    sent_s = time.monotonic() - t0
    waiting = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = metric(murl, "orderline_gateway_waiters") or 0
        if waiting >= n:
            break
        time.sleep(0.2)
    held = proc_status(pid)
    # The gateway must still answer other requests while they all wait.
    t1 = time.monotonic()
    with urllib.request.urlopen(murl + "/healthz", timeout=10) as r:
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
