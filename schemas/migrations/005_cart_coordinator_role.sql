-- orderline schema, version 5: the cart coordinator's rights, for a
-- deployment that gives order-carts a database role of its own.
--
-- When a role named orderline_carts exists (a NOLOGIN group role: grant it
-- to order-carts' login role), it gets what order-carts needs on its own
-- tables (migration 004), and nothing on the items' (orders, inventories,
-- consumer_positions). orderline_migrations is read to see that nothing is
-- left to apply; the coordinator never migrates with this role. Without
-- that role this changes nothing: create it later and grant the same by
-- hand (README, the secure stack).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orderline_carts') THEN
        GRANT SELECT ON orderline_migrations TO orderline_carts;
        GRANT SELECT, INSERT, UPDATE ON cart_positions, carts TO orderline_carts;
        GRANT SELECT, INSERT ON cart_messages TO orderline_carts;
        GRANT SELECT, INSERT, DELETE ON cart_outbox TO orderline_carts;
        GRANT USAGE ON SEQUENCE cart_outbox_id_seq TO orderline_carts;
    END IF;
END
$$;
