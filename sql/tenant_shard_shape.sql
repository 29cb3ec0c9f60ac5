-- tenant_shard_shape: rowkeeper's tenant policies confine to the tenant
-- even when they lose AS RESTRICTIVE, as Citus copies them to its shards.
-- Runs on one node (no Citus needed): shape_shard gets rowkeeper's
-- policies exactly as a Citus shard does, every one permissive.
CREATE ROLE rk_shape_app;
CREATE TABLE shape (tenant_id int NOT NULL, id int NOT NULL, v text,
                    PRIMARY KEY (tenant_id, id));
SELECT rowkeeper.enable_tenant_isolation('shape');
CREATE TABLE shape_shard (LIKE shape INCLUDING ALL);
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT polname, pg_get_expr(polqual, polrelid) AS q,
                    pg_get_expr(polwithcheck, polrelid) AS w
               FROM pg_policy WHERE polrelid = 'shape'::regclass LOOP
        EXECUTE format('CREATE POLICY %I ON shape_shard AS PERMISSIVE FOR ALL TO PUBLIC USING (%s) WITH CHECK (%s)',
                       p.polname, p.q, p.w);
    END LOOP;
END;
$$;
ALTER TABLE shape_shard ENABLE ROW LEVEL SECURITY;
ALTER TABLE shape_shard FORCE ROW LEVEL SECURITY;
SELECT polname, polpermissive, pg_get_expr(polqual, polrelid) AS qual
  FROM pg_policy WHERE polrelid = 'shape_shard'::regclass ORDER BY 1;
INSERT INTO shape_shard VALUES (1, 1, 'one'), (2, 2, 'two'), (3, 3, 'three');
GRANT SELECT, INSERT, UPDATE, DELETE ON shape, shape_shard TO rk_shape_app;

SET ROLE rk_shape_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
-- reads: the tenant's rows only, with or without a filter on another tenant
SELECT tenant_id, id FROM shape_shard ORDER BY 1, 2;
SELECT count(*) FROM shape_shard WHERE tenant_id = 2;
-- writes to other tenants touch nothing or are refused
UPDATE shape_shard SET v = 'changed' WHERE tenant_id = 2;
DELETE FROM shape_shard WHERE tenant_id = 3;
SAVEPOINT s;
INSERT INTO shape_shard VALUES (2, 9, 'planted');
ROLLBACK TO SAVEPOINT s;
INSERT INTO shape_shard (tenant_id, id, v) VALUES (1, 9, 'own');
COMMIT;
-- no tenant: an error, not every row
SELECT count(*) FROM shape_shard WHERE tenant_id = 1;
RESET ROLE;
SELECT tenant_id, id, v FROM shape_shard ORDER BY 1, 2;

DROP TABLE shape, shape_shard;
DROP ROLE rk_shape_app;
