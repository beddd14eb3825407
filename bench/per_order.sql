-- Baseline B: the usual per-order fix, one guarded statement per order,
-- driven by pgbench -M prepared. Items are item-00000 .. item-<K-1>
-- (as order-producer --generate names them), hot ones zipf-like.
\set k random_zipfian(0, :items - 1, 1.1)
\set n random(1, 5)
UPDATE inventories SET count = count - :n WHERE name = 'item-' || lpad(:k::text, 5, '0') AND count >= :n;
