-- The carts peer: one PostgreSQL transaction per 3-line cart, a guarded
-- UPDATE per line in name order (so two carts never deadlock), rolled back
-- if any line finds too little. pgbench -M prepared, 8 clients, the same
-- zipf popularity as the carts preloaded for order-carts.
\set a random_zipfian(0, :items - 1, 1.1)
\set b random_zipfian(0, :items - 1, 1.1)
\set c random_zipfian(0, :items - 1, 1.1)
\set lo least(:a, :b, :c)
\set hi greatest(:a, :b, :c)
\set mid :a + :b + :c - :lo - :hi
\set n random(1, 3)
BEGIN;
WITH u AS (UPDATE inventories SET count = count - :n WHERE name = 'item-' || lpad(:lo::text, 5, '0') AND count >= :n RETURNING 1) SELECT count(*) AS ok1 FROM u \gset
WITH u AS (UPDATE inventories SET count = count - :n WHERE name = 'item-' || lpad(:mid::text, 5, '0') AND count >= :n RETURNING 1) SELECT count(*) AS ok2 FROM u \gset
WITH u AS (UPDATE inventories SET count = count - :n WHERE name = 'item-' || lpad(:hi::text, 5, '0') AND count >= :n RETURNING 1) SELECT count(*) AS ok3 FROM u \gset
\if :ok1 + :ok2 + :ok3 = 3
COMMIT;
\else
ROLLBACK;
\endif
