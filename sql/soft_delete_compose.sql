-- soft_delete_compose: soft delete together with row-level security (a
-- hand-written tenant policy, as tenant isolation creates), audit,
-- updated_at and partitioned tables.
SET rowkeeper.actor = '';

-- Tenant isolation by RLS on the table: FORCE, one permissive policy
-- USING/WITH CHECK on the tenant, plus a RESTRICTIVE one.  Soft delete adds
-- its restrictive hiding policy and no permissive one (the table has its
-- own).  The marking UPDATE must pass the tenant's policies; the hiding
-- policy's check of the new row is the one it skips, so it never fails "new
-- row violates row-level security policy".  rk_tenant_app is a support role
-- here (rowkeeper_see_deleted): the tenant confines what it sees, deleted
-- rows included.
CREATE TABLE docs (id int PRIMARY KEY, tenant text NOT NULL, title text);
INSERT INTO docs VALUES (1, 'a', 'a1'), (2, 'a', 'a2'), (3, 'b', 'b3');
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE docs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON docs
    USING (tenant = current_setting('rowkeeper.tenant'))
    WITH CHECK (tenant = current_setting('rowkeeper.tenant'));
CREATE POLICY tenant_restrictive ON docs AS RESTRICTIVE
    USING (tenant = current_setting('rowkeeper.tenant'));
CREATE ROLE rk_tenant_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON docs TO rk_tenant_app;
GRANT rowkeeper_see_deleted TO rk_tenant_app;
SELECT rowkeeper.enable_soft_delete('docs');
-- the user's policies stay, the hiding policy joins them
SELECT polname, polpermissive, polrelid::regclass FROM pg_policy WHERE polrelid = 'docs'::regclass ORDER BY 1;

SET ROLE rk_tenant_app;
SET rowkeeper.tenant = 'a';
SELECT id, title FROM docs ORDER BY id;
\set QUIET off
DELETE FROM docs WHERE id = 3;            -- tenant b's row: not visible, not deleted
DELETE FROM docs WHERE id = 1 RETURNING id, tenant;
\set QUIET on
SET rowkeeper.show_deleted = on;
SELECT id, deleted_at IS NOT NULL AS deleted FROM docs ORDER BY id;
RESET rowkeeper.show_deleted;
-- a tenant cannot restore another tenant's row
SET rowkeeper.tenant = 'b';
DELETE FROM docs WHERE id = 3;
SET rowkeeper.tenant = 'a';
SELECT rowkeeper.restore('docs', '{"id": 3}');
SELECT rowkeeper.restore('docs', '{"id": 1}');
SELECT id FROM docs ORDER BY id;
-- and cannot hard-delete (not the owner)
SELECT rowkeeper.hard_delete('docs', '{"id": 1}');
RESET rowkeeper.tenant;
RESET ROLE;
SET rowkeeper.tenant = 'b';
SELECT id, deleted_at IS NOT NULL AS deleted FROM docs ORDER BY id;
RESET rowkeeper.tenant;

-- Audit and updated_at on the table: a soft delete is an UPDATE that sets
-- deleted_at (and the batch), a restore an UPDATE that clears them.
CREATE TABLE items (id int PRIMARY KEY, name text, updated_at timestamptz);
INSERT INTO items VALUES (1, 'x', '2000-01-01');
SELECT rowkeeper.enable_soft_delete('items');
-- the other capabilities go on the table, under its own name
SELECT rowkeeper.enable_audit('items');
SELECT rowkeeper.enable_updated_at('items');
BEGIN;
SELECT rowkeeper.set_context(actor => 'carol');
DELETE FROM items WHERE id = 1;
SELECT updated_at = now() AS stamped FROM items;
COMMIT;
SELECT rowkeeper.restore('items', '{"id": 1}');
-- the log says SOFT_DELETE and RESTORE: deleted_at goes from null to a
-- time, or from a time to null
SELECT table_name, op, row_key, actor,
       CASE WHEN old_row -> 'deleted_at' = 'null' AND new_row -> 'deleted_at' <> 'null' THEN 'soft delete'
            WHEN old_row -> 'deleted_at' <> 'null' AND new_row -> 'deleted_at' = 'null' THEN 'restore'
       END AS what,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(new_row) k) AS changed
  FROM rowkeeper.audit_log WHERE table_name = 'items' ORDER BY id;
-- the audit queries take the table's name
SELECT op, row_data ->> 'deleted_at' IS NOT NULL AS deleted
  FROM rowkeeper.row_history('items', '{"id": 1}') ORDER BY audit_id;
-- undo of a soft delete is a restore (and is audited as one)
DELETE FROM items WHERE id = 1;
SELECT id AS sd2_id FROM rowkeeper.audit_log WHERE op = 'SOFT_DELETE' ORDER BY id DESC LIMIT 1 \gset
SELECT rowkeeper.undo(:sd2_id);
SELECT count(*) AS visible_again FROM items WHERE id = 1;
SELECT op FROM rowkeeper.audit_log WHERE table_name = 'items' ORDER BY id DESC LIMIT 1;
SELECT rowkeeper.disable_audit('items');
SELECT rowkeeper.disable_updated_at('items');

-- Partitioned tables
CREATE TABLE orders (id int, region text, amount int, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu');
CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us');
CREATE TABLE order_lines (order_id int, region text, line int, PRIMARY KEY (order_id, region, line),
                          FOREIGN KEY (order_id, region) REFERENCES orders ON DELETE CASCADE);
INSERT INTO orders VALUES (1, 'eu', 10), (2, 'us', 20);
INSERT INTO order_lines VALUES (1, 'eu', 1), (1, 'eu', 2), (2, 'us', 1);
SELECT rowkeeper.enable_soft_delete('order_lines');
SELECT rowkeeper.enable_soft_delete('orders');
-- the guard is on every partition, present and future
CREATE TABLE orders_apac PARTITION OF orders FOR VALUES IN ('apac');
SELECT tgrelid::regclass, tgname, tgparentid <> 0 AS cloned FROM pg_trigger
 WHERE tgname = 'rowkeeper_soft_delete' AND tgrelid::regclass::text LIKE 'orders%' ORDER BY tgrelid::regclass::text;
\set QUIET off
DELETE FROM orders WHERE id = 1 RETURNING *;
\set QUIET on
SELECT tableoid::regclass, id, deleted_at IS NOT NULL AS deleted FROM orders ORDER BY id;
SELECT order_id, line, deleted_at IS NOT NULL AS deleted FROM order_lines ORDER BY 1, 2;
-- a partition is guarded too (a DELETE on it that is not rewritten)
SET rowkeeper.soft_delete_rewrite = off;
DELETE FROM orders_eu;
RESET rowkeeper.soft_delete_rewrite;
-- an UPDATE that moves a row to another partition is a delete plus an
-- insert for PostgreSQL, with BEFORE DELETE fired on the old partition:
-- the guard lets exactly that through
INSERT INTO orders VALUES (3, 'eu', 30);
UPDATE orders SET region = 'apac' WHERE id = 3;
SELECT tableoid::regclass, id, region FROM orders WHERE id = 3;
-- while a plain DELETE after an UPDATE in one transaction is still refused
BEGIN;
UPDATE orders SET amount = amount + 1 WHERE id = 3;
SET LOCAL rowkeeper.soft_delete_rewrite = off;
DELETE FROM orders WHERE id = 3;
ROLLBACK;
DELETE FROM orders WHERE id = 3;
SELECT rowkeeper.hard_delete('orders', '{"id": 3, "region": "apac"}');
SELECT rowkeeper.restore('orders', '{"id": 1, "region": "eu"}');
SELECT count(*) FROM order_lines;
DELETE FROM orders WHERE id = 2;
SELECT rowkeeper.hard_delete('orders', '{"id": 2, "region": "us"}');
SELECT count(*) FROM orders;
SELECT count(*) FROM order_lines;

DROP TABLE order_lines, orders, items, docs CASCADE;
REVOKE rowkeeper_see_deleted FROM rk_tenant_app;
DROP ROLE rk_tenant_app;

-- disable_soft_delete() refuses while soft-deleted rows exist, counting
-- every tenant's rows: the owner (who runs migrations) is subject to FORCE
-- ROW LEVEL SECURITY, and with tenant 1 set a count under RLS saw none of
-- tenant 2's soft-deleted rows and let the call through (migrations issue
-- 8).  A plain table and a partitioned one, the rows in one partition.
\set SHOW_CONTEXT never
CREATE ROLE rk_sd_owner;
GRANT CREATE ON SCHEMA public TO rk_sd_owner;
SET ROLE rk_sd_owner;
CREATE TABLE tdocs (id int PRIMARY KEY, tenant_id int NOT NULL, title text);
CREATE TABLE tparts (id int, tenant_id int NOT NULL, PRIMARY KEY (tenant_id, id)) PARTITION BY LIST (tenant_id);
CREATE TABLE tparts_1 PARTITION OF tparts FOR VALUES IN (1);
CREATE TABLE tparts_2 PARTITION OF tparts FOR VALUES IN (2);
SELECT rowkeeper.enable_tenant_isolation('tdocs'), rowkeeper.enable_tenant_isolation('tparts');
SELECT rowkeeper.enable_soft_delete('tdocs'), rowkeeper.enable_soft_delete('tparts');
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
INSERT INTO tdocs VALUES (1, 1, 't1');
INSERT INTO tparts VALUES (1, 1);
COMMIT;
BEGIN;
SELECT rowkeeper.set_context(tenant => '2');
INSERT INTO tdocs VALUES (2, 2, 't2');
INSERT INTO tparts VALUES (2, 2);
DELETE FROM tdocs WHERE id = 2;
DELETE FROM tparts WHERE id = 2;
COMMIT;
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
SELECT count(*) AS tenant_1_sees_deleted FROM tdocs WHERE deleted_at IS NOT NULL;
SELECT rowkeeper.disable_soft_delete('tdocs');
ROLLBACK;
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
SELECT rowkeeper.disable_soft_delete('tparts');
ROLLBACK;
-- the count is the owner's: another role gets nothing from it
RESET ROLE;
CREATE ROLE rk_sd_other;
SET ROLE rk_sd_other;
SELECT rowkeeper._count_not_null('tdocs', 'deleted_at');
RESET ROLE;
DROP ROLE rk_sd_other;
SELECT rowkeeper._count_not_null('tdocs', 'deleted_at') AS superuser_count,
       rowkeeper._count_not_null('tparts', 'deleted_at') AS partitioned_count;
SET ROLE rk_sd_owner;
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
SELECT rowkeeper.disable_soft_delete('tdocs', force => true), rowkeeper.disable_soft_delete('tparts', force => true);
COMMIT;
RESET ROLE;
DROP TABLE tdocs, tparts;
REVOKE CREATE ON SCHEMA public FROM rk_sd_owner;
DROP ROLE rk_sd_owner;
\set SHOW_CONTEXT errors
