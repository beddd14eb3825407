-- orderline schema, version 2: cheaper keys for the ledger.
--
-- order_id, item and topic are identifiers compared byte for byte, never
-- sorted for people: the "C" collation compares them with memcmp instead
-- of the database locale's strcoll. Equality is the same under any
-- deterministic collation, so every unique key keeps its meaning.
-- Changing a column's collation rebuilds its indexes, not the table (an
-- ACCESS EXCLUSIVE lock for as long as that takes on a large ledger).
ALTER TABLE orders
    ALTER COLUMN order_id TYPE text COLLATE "C",
    ALTER COLUMN item TYPE varchar(64) COLLATE "C",
    ALTER COLUMN kafka_topic TYPE text COLLATE "C";
ALTER TABLE consumer_positions ALTER COLUMN topic TYPE text COLLATE "C";

-- One decision per message, with the integers first: the topic, the same
-- in nearly every row, was the first thing each insert compared.
DROP INDEX IF EXISTS orders_kafka_position;
CREATE UNIQUE INDEX orders_kafka_position ON orders (kafka_partition, kafka_offset, kafka_topic);

-- inventories may be shared with other applications (the seed's table):
-- its column keeps its collation, and the consumer reaches rows through
-- a byte-order index of its own (name COLLATE "C" in its statements).
CREATE UNIQUE INDEX IF NOT EXISTS inventories_name_bytes ON inventories (name COLLATE "C");
