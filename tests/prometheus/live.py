#!/usr/bin/env python3
"""Helpers for tests/integration/prometheus.sh, against a live Prometheus.

  live.py stream URL ITEMS RATE OUT   POST orders to a gateway at RATE/s
                                      (Prefer: respond-async) until SIGTERM,
                                      then write the status codes to OUT
  live.py panels PROM DASHBOARD       every panel target's PromQL must
                                      return a sample with a finite value
  live.py rules PROM RULES            Prometheus loaded every alert of RULES
  live.py alert PROM NAME STATE       exit 0 if alert NAME is in STATE
                                      (firing, pending, or none: absent)
"""
import http.client
import json
import math
import signal
import sys
import time
import urllib.parse
import urllib.request

import yaml


def get(prom, path, **params):
    url = f"{prom}{path}?{urllib.parse.urlencode(params)}" if params else f"{prom}{path}"
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{url}: {body}")
    return body["data"]


def stream(url, items, rate, out):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    host = urllib.parse.urlparse(url).netloc
    conn = http.client.HTTPConnection(host, timeout=10)
    codes, n, start = {}, 0, time.monotonic()
    while not stop:
        body = json.dumps({"item": f"item-{n % items:03d}", "quantity": 1})
        headers = {"Content-Type": "application/json", "Prefer": "respond-async",
                   "Idempotency-Key": f"live-{start}-{n}"}
        try:
            conn.request("POST", "/orders", body, headers)
            resp = conn.getresponse()
            resp.read()
            codes[resp.status] = codes.get(resp.status, 0) + 1
        except (OSError, http.client.HTTPException) as e:
            codes[type(e).__name__] = codes.get(type(e).__name__, 0) + 1
            conn.close()
            conn = http.client.HTTPConnection(host, timeout=10)
        n += 1
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
    with open(out, "w") as f:
        json.dump({str(k): v for k, v in codes.items()}, f)


def panels(prom, path):
    dash = json.load(open(path))
    bad, count = [], 0
    for p in dash["panels"]:
        for t in p.get("targets", []):
            count += 1
            expr = t["expr"]
            try:
                res = get(prom, "/api/v1/query", query=expr)["result"]
            except Exception as e:  # a query Prometheus refuses is a broken panel
                bad.append(f"{p['title']!r} {t['refId']}: {e}")
                continue
            finite = [s for s in res if not math.isnan(float(s["value"][1]))]
            print(f"  {len(res):3d} series, {len(finite):3d} finite: {p['title']} {t['refId']}: {expr}")
            if not finite:
                bad.append(f"{p['title']!r} {t['refId']}: no data: {expr}")
    for b in bad:
        print("panel FAILED:", b)
    print(f"{count} targets, {len(bad)} without data")
    return 1 if bad or not count else 0


def rules(prom, path):
    want = {r["alert"] for g in yaml.safe_load(open(path))["groups"] for r in g["rules"] if "alert" in r}
    got = {r["name"] for g in get(prom, "/api/v1/rules")["groups"] for r in g["rules"] if r["type"] == "alerting"}
    missing = want - got
    print(f"{len(got)} alerting rules loaded" + (f", missing {sorted(missing)}" if missing else ""))
    return 1 if missing or not want else 0


def alert(prom, name, state):
    states = {a["state"] for a in get(prom, "/api/v1/alerts")["alerts"] if a["labels"].get("alertname") == name}
    return 0 if (state in states if state != "none" else not states) else 1


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "stream":
        stream(args[0], int(args[1]), float(args[2]), args[3])
    else:
        sys.exit({"panels": panels, "rules": rules, "alert": alert}[cmd](*args))
