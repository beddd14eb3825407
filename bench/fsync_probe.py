#!/usr/bin/env python3
"""How long this disk takes to make a small write durable: the floor under
every durable commit (PostgreSQL's WAL flush at COMMIT with
synchronous_commit=on).

    fsync_probe.py DIR [SECONDS]

Appends 8 KB (one WAL page) to a file in DIR and fdatasyncs it, as fast as
it can, for SECONDS (default 10), then deletes the file. Prints JSON:
{"syncs", "p50_ms", "p99_ms", "max_ms", "over_50ms"}. Run it on an idle
stack: it measures the disk, not the benchmark."""
import json
import os
import sys
import time


def main():
    where = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    path = os.path.join(where, f"fsync-probe-{os.getpid()}")
    page = b"\0" * 8192
    lat = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.monotonic()
            os.write(fd, page)
            os.fdatasync(fd)
            lat.append((time.monotonic() - t0) * 1000)
            if len(lat) % 1024 == 0:
                os.ftruncate(fd, 0)  # stay small: the WAL recycles its segments too
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 2)
    print(json.dumps({"syncs": len(lat), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(lat[-1], 2),
                      "over_50ms": sum(1 for x in lat if x > 50)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
