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

POST /carts (bench/gateway/run --carts PCT), the same shape as the
gateway's: body {"lines": [{"item", "quantity"}, ...]}, the cart_id in the
body's "cart_id" or the Idempotency-Key header; lines naming the same item
are merged. One transaction per cart, all or nothing, each handler in its
own style:
  naive    ORM read of the cart's items, compare and subtract in Python,
           commit (oversells as its orders do)
  atomic   SELECT ... FOR UPDATE of the cart's items in name order, compare,
           decrement, commit or roll back
  guarded  the carts peer of bench/carts/per_cart.sql: a guarded UPDATE
           ... WHERE count >= :q per line in name order, rolled back if any
           line matched no row
Answer 201 {"order_id": C, "cart_id": C, "type": "cart", "status":
"accepted", "lines": [{"item", "quantity", "status", "reason"}]} or 409
"rejected" with "reason" (the first refused line's) and each line's status
(accepted lines of a refused cart are "released").

Every accepted order also inserts (item, quantity) into bench_accepted in the
same transaction, so what was sold can be counted from facts afterwards
(bench/gateway/db facts), independently of what the handler wrote to count.
An accepted cart inserts its lines there with its cart_id, and (cart_id,
lines) into bench_carts, in its transaction: bench/gateway/db carts judges
all or nothing from those rows.

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
# One round trip for an accepted cart's record: the cart and its lines.
RECORD_CART = text(
    "WITH c AS (INSERT INTO bench_carts (cart_id, lines) VALUES (:cart, :n)) "
    "INSERT INTO bench_accepted (item, quantity, cart_id) "
    "SELECT unnest(CAST(:items AS text[])), unnest(CAST(:qs AS integer[])), :cart"
)


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


# Carts: lines is [(item, qty)] merged and in name order. Each returns one
# reason per line (None: it had its units) and commits only when all did.
def record_cart(cart_id, lines):
    db.session.execute(RECORD_CART, {"cart": cart_id, "n": len(lines),
                                     "items": [i for i, _ in lines], "qs": [q for _, q in lines]})


def settle_in_python(cart_id, lines, rows):
    """Compares and subtracts in the application, then commits: as safe as
    the rows' locks (none for naive, FOR UPDATE for atomic)."""
    inv = {r.name: r for r in rows}
    reasons = [("unknown_item" if item not in inv else "insufficient_stock" if inv[item].count < qty else None)
               for item, qty in lines]
    if any(reasons):
        db.session.rollback()
        return reasons
    for item, qty in lines:
        inv[item].count -= qty  # SET count = <the value computed here>
    record_cart(cart_id, lines)
    db.session.commit()
    return reasons


def cart_naive(cart_id, lines):
    rows = db.session.execute(db.select(Inventory).where(Inventory.name.in_([i for i, _ in lines]))).scalars()
    return settle_in_python(cart_id, lines, rows)


def cart_atomic(cart_id, lines):
    rows = db.session.execute(db.select(Inventory).where(Inventory.name.in_([i for i, _ in lines]))
                              .order_by(Inventory.name).with_for_update()).scalars()
    return settle_in_python(cart_id, lines, rows)


def cart_guarded(cart_id, lines):
    reasons = []
    for item, qty in lines:
        if db.session.execute(GUARDED, {"item": item, "q": qty}).first() is not None:
            reasons.append(None)
        elif db.session.execute(CURRENT, {"item": item}).first() is None:
            reasons.append("unknown_item")
        else:
            reasons.append("insufficient_stock")
    if any(reasons):
        db.session.rollback()
        return reasons
    record_cart(cart_id, lines)
    db.session.commit()
    return reasons


DECIDE_CART = {"naive": cart_naive, "atomic": cart_atomic, "guarded": cart_guarded}[HANDLER]


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


@app.post("/carts")
def carts():
    if request.mimetype != "application/json":
        return error(415, "Content-Type must be application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "the body is not a JSON object")
    cart_id, key = body.get("cart_id"), request.headers.get("Idempotency-Key")
    if cart_id is None:
        cart_id = key
    elif key is not None and key != cart_id:
        return error(422, "cart_id and Idempotency-Key differ")
    if not isinstance(cart_id, str) or not 1 <= len(cart_id) <= 96:
        return error(400, "cart_id: a string of 1..96 characters, in the body or Idempotency-Key")
    raw = body.get("lines")
    if not isinstance(raw, list) or not 1 <= len(raw) <= 100:
        return error(400, "lines: an array of 1..100 lines is required")
    merged = {}
    for n, line in enumerate(raw):
        item, qty = (line.get("item"), line.get("quantity")) if isinstance(line, dict) else (None, None)
        if not isinstance(item, str) or not 1 <= len(item) <= 64:
            return error(400, f"lines[{n}].item: a string of 1..64 characters is required")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= 1000000:
            return error(400, f"lines[{n}].quantity: an integer 1..1000000 is required")
        merged[item] = merged.get(item, 0) + qty
    lines = sorted(merged.items())  # name order: two carts never wait on each other in a cycle
    reasons = DECIDE_CART(cart_id, lines)
    refused = next((r for r in reasons if r), None)
    out = [{"item": item, "quantity": qty,
            "status": "rejected" if r else ("released" if refused else "accepted"), "reason": r}
           for (item, qty), r in zip(lines, reasons)]
    state = "rejected" if refused else "accepted"
    return jsonify({"order_id": cart_id, "cart_id": cart_id, "type": "cart", "status": state,
                    "reason": refused, "state": state, "lines": out}), (409 if refused else 201)


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
