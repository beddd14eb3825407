-- orderline schema, version 4: the cart coordinator's ledger (order-carts).
--
-- The item consumers' tables are untouched: every step of a cart's line is
-- an ordinary row in `orders`. These tables are order-carts' own: its
-- positions on the carts topic, each cart's state, every decided carts
-- message with its answer, and what it decided to send and has not yet
-- seen in the log (its outbox).

-- The next carts offset to decide, per partition. Advanced only in the
-- transaction that stores the decisions below it, and only from the offset
-- the coordinator expects: a coordinator that lost the partition finds a
-- different offset and decides nothing.
CREATE TABLE IF NOT EXISTS cart_positions (
    kafka_topic text COLLATE "C" NOT NULL,
    kafka_partition integer NOT NULL CHECK (kafka_partition >= 0),
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    PRIMARY KEY (kafka_topic, kafka_partition)
);

-- One row per cart. `lines` is the flow's per-line state (item, quantity,
-- the last step, whether it was answered and granted, the refusal's
-- reason), in line order after merging.
CREATE TABLE IF NOT EXISTS carts (
    cart_id text COLLATE "C" PRIMARY KEY CHECK (octet_length(cart_id) BETWEEN 1 AND 96),
    kafka_topic text COLLATE "C" NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    state text NOT NULL CHECK (state IN ('holding', 'held', 'accepted', 'confirmed', 'rejected', 'cancelled', 'expired')),
    cancel_pending boolean NOT NULL DEFAULT false,
    hold_s integer NOT NULL CHECK (hold_s BETWEEN 0 AND 86400),
    created_ms bigint NOT NULL,
    hold_expires_at timestamptz,
    lines jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- What the coordinator expires: held carts by deadline, per partition.
CREATE INDEX IF NOT EXISTS carts_open_holds ON carts (kafka_topic, kafka_partition, hold_expires_at)
    WHERE state = 'held';

-- Every decided carts message that has an order_id (a cart, whose order_id
-- is its cart_id; a confirm; a cancel; an expire), with the answer as
-- published. A repeat of an order_id is answered from here.
CREATE TABLE IF NOT EXISTS cart_messages (
    order_id text COLLATE "C" PRIMARY KEY CHECK (octet_length(order_id) BETWEEN 1 AND 128),
    cart_id text COLLATE "C",
    type text NOT NULL CHECK (type IN ('cart', 'cart_confirm', 'cart_cancel', 'cart_expire')),
    status text NOT NULL CHECK (status IN ('accepted', 'held', 'rejected')),
    reason text,
    state text,
    kafka_topic text COLLATE "C" NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    answer jsonb NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- Decided, not yet shown to be in the log: line steps for the orders topic,
-- answers for the results topic. Sent in id order per key; a row goes once
-- its delivery report names an offset.
CREATE TABLE IF NOT EXISTS cart_outbox (
    id bigserial PRIMARY KEY,
    kafka_partition integer NOT NULL,
    topic text COLLATE "C" NOT NULL CHECK (topic IN ('orders', 'results')),
    msg_key text COLLATE "C" NOT NULL,
    value text NOT NULL
);
CREATE INDEX IF NOT EXISTS cart_outbox_partition ON cart_outbox (kafka_partition, id);
