-- orderline schema, version 3: what follows a decision (holds, confirm,
-- cancel, expire).
--
-- The ledger keeps one row per decided message, follow-ups included. An
-- order whose life a later follow-up changed says so in `life`
-- (confirmed, cancelled, expired); NULL means it stands as decided.
-- A follow-up's row names its `target`; a hold's row has its deadline.
--
-- The checks are replaced by wider ones. NOT VALID: every existing row met
-- the old, narrower checks and so meets these; validating would only scan
-- the whole ledger under the migration's lock to learn that.
ALTER TABLE orders
    ADD COLUMN IF NOT EXISTS target text COLLATE "C" CHECK (octet_length(target) BETWEEN 1 AND 128),
    ADD COLUMN IF NOT EXISTS hold_expires_at timestamptz,
    ADD COLUMN IF NOT EXISTS life text CHECK (life IN ('confirmed', 'cancelled', 'expired')),
    DROP CONSTRAINT IF EXISTS orders_type_check,
    DROP CONSTRAINT IF EXISTS orders_quantity_check,
    DROP CONSTRAINT IF EXISTS orders_status_check,
    DROP CONSTRAINT IF EXISTS orders_reason_check,
    DROP CONSTRAINT IF EXISTS orders_check;

ALTER TABLE orders
    ADD CONSTRAINT orders_type_check
        CHECK (type IN ('order', 'restock', 'confirm', 'cancel', 'expire')) NOT VALID,
    -- A follow-up records its target's units, 0 when the target took none.
    ADD CONSTRAINT orders_quantity_check CHECK (quantity BETWEEN 0 AND 1000000) NOT VALID,
    ADD CONSTRAINT orders_status_check CHECK (status IN ('accepted', 'rejected', 'held')) NOT VALID,
    ADD CONSTRAINT orders_reason_check CHECK (reason IN ('insufficient_stock', 'unknown_item', 'invalid',
        'not_held', 'not_cancellable', 'not_expired', 'expired', 'already_confirmed', 'already_cancelled')) NOT VALID,
    ADD CONSTRAINT orders_check CHECK ((status IN ('accepted', 'held')) = (reason IS NULL)) NOT VALID,
    ADD CONSTRAINT orders_hold_check CHECK ((status = 'held') = (hold_expires_at IS NOT NULL)) NOT VALID,
    ADD CONSTRAINT orders_followup_check
        CHECK ((type IN ('confirm', 'cancel', 'expire')) = (target IS NOT NULL)) NOT VALID;

-- The holds still standing, by deadline: what the partitions' owners
-- expire, and what orderline_holds_overdue counts. Small: only open holds.
CREATE INDEX IF NOT EXISTS orders_open_holds ON orders (kafka_topic, kafka_partition, hold_expires_at)
    WHERE status = 'held' AND life IS NULL;
