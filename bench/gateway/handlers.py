"""The seed's own order handlers as a real HTTP service: the baseline that
the order gateway is benchmarked against.

Same API shape as the gateway's POST /orders: JSON body {"item", "quantity"},
answer 201 {"status": "accepted", "remaining": n, ...} or 409 {"status":
"rejected", "reason": "insufficient_stock" | "unknown_item", ...}. The
Idempotency-Key header is echoed as order_id but not enforced: the seed's
handlers had no idempotency, and the load script never repeats a key.

HANDLER picks the way the decision is made (all on PostgreSQL, READ
COMMITTED, the default):
  naive    the question's code: ORM read, compare and subtract in Python,
           commit. Two requests read the same count and both write back
           their own result: oversells and loses updates. The CHECK
           (count >= 0) never fires, because each write stores an absolute
           value that is itself >= 0.
  atomic   the accepted answer: SELECT ... FOR UPDATE, compare, decrement,
           commit. Correct; the row lock is held across the app's round
           trips (select, update, insert, commit).
  guarded  the usual single statement: UPDATE ... WHERE count >= :q
           RETURNING count; a second read only when it matched no row, to
           tell an unknown item from insufficient stock.

Every accepted order also inserts (item, quantity) into bench_accepted in the
same transaction, so what was sold can be counted from facts afterwards
(bench/gateway/db facts), independently of what the handler wrote to count.

Environment: HANDLER (naive|atomic|guarded), BENCH_DB (libpq conninfo;
default $ORDERLINE_DB with dbname=bench_http), POOL_SIZE (connections per
worker process; run_baselines sets it to gunicorn's --threads).

    HANDLER=guarded gunicorn -k gthread --threads 4 -w 5 -b 127.0.0.1:18080 \
        --chdir bench/gateway handlers:app
"""

import logging
import os
import sys

import psycopg2
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

HANDLER = os.environ.get("HANDLER", "")
if HANDLER not in ("naive", "atomic", "guarded"):
    sys.exit(f"handlers: HANDLER must be naive, atomic or guarded (got {HANDLER!r})")
# A later keyword wins in a libpq conninfo, so appending dbname overrides.
CONNINFO = os.environ.get("BENCH_DB") or (os.environ.get("ORDERLINE_DB", "") + " dbname=bench_http")
# One connection per request a worker process can run at once (its threads):
# more would sit idle, fewer would make threads queue inside the worker, and
# max_overflow=0 keeps the total (workers x threads) predictable against the
# server's max_connections.
POOL_SIZE = int(os.environ.get("POOL_SIZE", "1"))

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg2://"
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
    # creator: pass the conninfo to libpq as is (it may carry any keyword).
    "creator": lambda: psycopg2.connect(CONNINFO),
    "pool_size": POOL_SIZE,
    "max_overflow": 0,
    "pool_timeout": 30,
}
db = SQLAlchemy(app)
log = logging.getLogger("handlers")


class Inventory(db.Model):
    """The seed's table (created by bench/gateway/db seed, not here)."""

    __tablename__ = "inventories"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), unique=True, nullable=False)
    count = db.Column(db.Integer, nullable=False)


RECORD = text("INSERT INTO bench_accepted (item, quantity) VALUES (:item, :q)")
GUARDED = text("UPDATE inventories SET count = count - :q WHERE name = :item AND count >= :q RETURNING count")
CURRENT = text("SELECT count FROM inventories WHERE name = :item")


def answer(order_id, item, qty, reason, remaining):
    body = {"order_id": order_id, "item": item, "type": "order", "quantity": qty,
            "status": "rejected" if reason else "accepted", "reason": reason, "remaining": remaining}
    return jsonify(body), (409 if reason else 201)


def error(code, message):
    return jsonify({"error": message}), code


def decide_naive(item, qty):
    inv = db.session.execute(db.select(Inventory).filter_by(name=item)).scalar_one_or_none()
    if inv is None:
        return "unknown_item", None
    if inv.count >= qty:
        inv.count -= qty  # flushed as SET count = <the value computed here>
        remaining = inv.count  # before commit: expire_on_commit would re-read it
        db.session.execute(RECORD, {"item": item, "q": qty})
        db.session.commit()
        return None, remaining
    return "insufficient_stock", inv.count


def decide_atomic(item, qty):
    inv = db.session.execute(db.select(Inventory).filter_by(name=item).with_for_update()).scalar_one_or_none()
    if inv is None:
        return "unknown_item", None
    if inv.count >= qty:
        inv.count -= qty
        remaining = inv.count
        db.session.execute(RECORD, {"item": item, "q": qty})
        db.session.commit()
        return None, remaining
    return "insufficient_stock", inv.count  # the lock goes with the rollback at teardown


def decide_guarded(item, qty):
    row = db.session.execute(GUARDED, {"item": item, "q": qty}).first()
    if row is not None:
        db.session.execute(RECORD, {"item": item, "q": qty})
        db.session.commit()
        return None, row[0]
    current = db.session.execute(CURRENT, {"item": item}).first()
    return ("unknown_item", None) if current is None else ("insufficient_stock", current[0])


DECIDE = {"naive": decide_naive, "atomic": decide_atomic, "guarded": decide_guarded}[HANDLER]


@app.post("/orders")
def orders():
    if request.mimetype != "application/json":
        return error(415, "Content-Type must be application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "the body is not a JSON object")
    item, qty = body.get("item"), body.get("quantity")
    if not isinstance(item, str) or not 1 <= len(item) <= 64:
        return error(422, "item: a string of 1..64 characters is required")
    if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= 1000000:
        return error(422, "quantity: an integer 1..1000000 is required")
    reason, remaining = DECIDE(item, qty)
    return answer(request.headers.get("Idempotency-Key"), item, qty, reason, remaining)


@app.get("/health")
def health():
    # Answers only once the database does: run_baselines waits on this.
    db.session.execute(text("SELECT 1"))
    return jsonify({"handler": HANDLER, "pool_size": POOL_SIZE})


@app.errorhandler(Exception)
def failed(e):
    # Unexpected errors (database down, pool exhausted): a JSON 500, logged
    # to the server's stderr. The session is rolled back at teardown.
    code = getattr(e, "code", None)
    if isinstance(code, int) and 400 <= code < 500:
        return error(code, str(e))
    log.error("request failed: %s: %s", type(e).__name__, e)
    return error(500, f"{type(e).__name__}: {e}")
