-- orderline schema, version 1. Applied once by order-consumer at start
-- (schema in orderline_migrations). Statements are idempotent on their own
-- too, so a database that already has the seed's inventories table is
-- adopted rather than replaced.

-- The seed's table. The CHECK makes overselling impossible even by hand.
CREATE TABLE IF NOT EXISTS inventories (
    id    serial PRIMARY KEY,
    name  varchar(64) UNIQUE NOT NULL,
    count integer NOT NULL CHECK (count >= 0)
);

DO $$
BEGIN
    -- A pre-existing inventories table may lack the check: add it.
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'inventories'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%count >= 0%'
    ) THEN
        ALTER TABLE inventories ADD CONSTRAINT inventories_count_check CHECK (count >= 0);
    END IF;
END $$;

-- The ledger: one row per decided order_id. Invalid messages are not
-- decisions about an order and are not recorded here (they go to the DLQ).
CREATE TABLE IF NOT EXISTS orders (
    order_id        text PRIMARY KEY CHECK (octet_length(order_id) BETWEEN 1 AND 128),
    item            varchar(64) NOT NULL,
    type            text NOT NULL CHECK (type IN ('order', 'restock')),
    quantity        integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
    status          text NOT NULL CHECK (status IN ('accepted', 'rejected')),
    reason          text CHECK (reason IN ('insufficient_stock', 'unknown_item', 'invalid')),
    remaining       integer,
    error           text,
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    processed_at    timestamptz NOT NULL,
    CHECK ((status = 'accepted') = (reason IS NULL))
);

-- One decision per message: also how results are re-published after a crash.
CREATE UNIQUE INDEX IF NOT EXISTS orders_kafka_position
    ON orders (kafka_topic, kafka_partition, kafka_offset);

-- Owned by order-consumer. next_offset: first offset not yet decided;
-- results_offset: first offset whose results are not yet acknowledged by
-- Kafka (results_offset <= next_offset). Both only move forward, and
-- next_offset only in the transaction that decides the orders below it.
CREATE TABLE IF NOT EXISTS consumer_positions (
    topic          text NOT NULL,
    partition      integer NOT NULL,
    next_offset    bigint NOT NULL CHECK (next_offset >= 0),
    results_offset bigint NOT NULL CHECK (results_offset >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition),
    CHECK (results_offset <= next_offset)
);
