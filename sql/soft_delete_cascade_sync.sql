-- soft_delete_cascade_sync: a soft-delete table has its cascade trigger
-- (rowkeeper_soft_delete_cascade) exactly while a foreign key references
-- it.  Foreign keys that appear after enable_soft_delete(), in every form
-- migration tools write them, still cascade and restrict; a dropped key
-- takes the trigger with it; where the event trigger did not run, a DELETE
-- is refused rather than skipping a cascade.
SET rowkeeper.actor = '';
CREATE ROLE rk_cs_owner;
CREATE ROLE rk_cs_migrator;
GRANT CREATE ON SCHEMA public TO rk_cs_owner, rk_cs_migrator;
CREATE VIEW cascade_triggers AS
SELECT t.tgrelid::regclass AS tbl, pg_get_triggerdef(t.oid) AS def
  FROM pg_trigger t
 WHERE t.tgname = 'rowkeeper_soft_delete_cascade' AND t.tgparentid = 0;

-- a table no foreign key references gets no cascade trigger
SET ROLE rk_cs_owner;
CREATE TABLE accounts (id int PRIMARY KEY, name text);
INSERT INTO accounts VALUES (1, 'a1'), (2, 'a2'), (3, 'a3');
SELECT rowkeeper.enable_soft_delete('accounts');
SELECT rowkeeper.enable_soft_delete('accounts');     -- again: still none
RESET ROLE;
SELECT * FROM cascade_triggers;
SELECT table_name, column_name, guarded, hidden FROM rowkeeper.soft_delete_tables;

-- A later CREATE TABLE ... REFERENCES, by a role that only has REFERENCES
-- on the table: the table gets its trigger (created as its owner).
GRANT REFERENCES ON accounts TO rk_cs_migrator;
SET ROLE rk_cs_migrator;
CREATE TABLE orders (id int PRIMARY KEY, account_id int REFERENCES accounts ON DELETE CASCADE);
INSERT INTO orders VALUES (10, 1), (11, 1), (12, 1), (20, 2);
SELECT rowkeeper.enable_soft_delete('orders');
RESET ROLE;
SELECT * FROM cascade_triggers;
-- the cascade marks the children with the parent's batch, and restore
-- brings back exactly those (order 12 was deleted on its own before)
SET ROLE rk_cs_migrator;
DELETE FROM orders WHERE id = 12;
RESET ROLE;
SET ROLE rk_cs_owner;
\set QUIET off
DELETE FROM accounts WHERE id = 1;
\set QUIET on
RESET ROLE;
SELECT o.id, o.deleted_at IS NOT NULL AS deleted, o.deleted_batch = a.deleted_batch AS same_batch
  FROM orders o JOIN accounts a ON a.id = o.account_id ORDER BY o.id;
SELECT rowkeeper.restore('accounts', '{"id": 1}');
SELECT id, deleted_at IS NOT NULL AS deleted FROM orders ORDER BY id;

-- ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY as TypeORM, knex and
-- Prisma write it (RESTRICT, a plain table as the child)
SET ROLE rk_cs_owner;
CREATE TABLE customers (id int PRIMARY KEY);
INSERT INTO customers VALUES (1), (2);
SELECT rowkeeper.enable_soft_delete('customers');
CREATE TABLE invoices (id int PRIMARY KEY, customer_id int);
INSERT INTO invoices VALUES (1, 1);
ALTER TABLE "invoices" ADD CONSTRAINT "FK_invoices_customer" FOREIGN KEY ("customer_id")
    REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION;
DELETE FROM customers WHERE id = 1;
\set QUIET off
DELETE FROM customers WHERE id = 2;
\set QUIET on
RESET ROLE;
SELECT tbl FROM cascade_triggers ORDER BY tbl::text;

-- drizzle-kit: the constraint inside a DO block; Django: a deferred key
-- added in the migration's transaction (NO ACTION: checked at once)
SET ROLE rk_cs_owner;
CREATE TABLE projects (id int PRIMARY KEY);
CREATE TABLE tasks (id int PRIMARY KEY, project_id int);
CREATE TABLE labels (id int PRIMARY KEY);
INSERT INTO projects VALUES (1), (2);
INSERT INTO labels VALUES (1);
SELECT rowkeeper.enable_soft_delete('projects');
SELECT rowkeeper.enable_soft_delete('labels');
SELECT rowkeeper.enable_soft_delete('tasks');
INSERT INTO tasks VALUES (1, 1), (2, 2);
DO $$ BEGIN
 ALTER TABLE "tasks" ADD CONSTRAINT "tasks_project_id_projects_id_fk" FOREIGN KEY ("project_id")
     REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
BEGIN;
CREATE TABLE task_labels (id int PRIMARY KEY, label_id int NOT NULL);
ALTER TABLE task_labels ADD CONSTRAINT task_labels_label_id_fk FOREIGN KEY (label_id)
    REFERENCES labels (id) DEFERRABLE INITIALLY DEFERRED;
INSERT INTO task_labels VALUES (1, 1);
COMMIT;
\set QUIET off
DELETE FROM projects WHERE id = 1;
DELETE FROM labels WHERE id = 1;
\set QUIET on
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted FROM tasks ORDER BY id;
SELECT tbl FROM cascade_triggers ORDER BY tbl::text;

-- Foreign keys from partitions: declared on a partitioned table (a
-- soft-delete child: the cascade reaches its partitions), and added on one
-- partition only (NO ACTION: checked against that partition).
SET ROLE rk_cs_owner;
CREATE TABLE teams (id int PRIMARY KEY);
CREATE TABLE rooms (id int PRIMARY KEY);
INSERT INTO teams VALUES (1), (2);
INSERT INTO rooms VALUES (1), (2);
SELECT rowkeeper.enable_soft_delete('teams');
SELECT rowkeeper.enable_soft_delete('rooms');
CREATE TABLE members (id int, team_id int REFERENCES teams ON DELETE CASCADE, PRIMARY KEY (id))
    PARTITION BY RANGE (id);
CREATE TABLE members_1 PARTITION OF members FOR VALUES FROM (1) TO (100);
CREATE TABLE members_2 (LIKE members);
ALTER TABLE members ATTACH PARTITION members_2 FOR VALUES FROM (100) TO (200);
INSERT INTO members VALUES (1, 1), (150, 1), (2, 2);
SELECT rowkeeper.enable_soft_delete('members');
CREATE TABLE bookings (id int, room_id int, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE bookings_1 PARTITION OF bookings FOR VALUES FROM (1) TO (100);
ALTER TABLE bookings_1 ADD FOREIGN KEY (room_id) REFERENCES rooms;
INSERT INTO bookings VALUES (1, 1);
\set QUIET off
DELETE FROM teams WHERE id = 1;
DELETE FROM rooms WHERE id = 1;
DELETE FROM rooms WHERE id = 2;
\set QUIET on
RESET ROLE;
SELECT id, team_id, deleted_at IS NOT NULL AS deleted FROM members ORDER BY id;
SELECT tbl FROM cascade_triggers ORDER BY tbl::text;

-- A partitioned soft-delete table referenced later: the trigger goes on it
-- and its partitions, those attached afterwards included.
SET ROLE rk_cs_owner;
CREATE TABLE regions (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE regions_1 PARTITION OF regions FOR VALUES FROM (1) TO (100);
INSERT INTO regions VALUES (1), (2);
SELECT rowkeeper.enable_soft_delete('regions');
CREATE TABLE offices (id int PRIMARY KEY, region_id int REFERENCES regions ON DELETE CASCADE);
SELECT rowkeeper.enable_soft_delete('offices');
CREATE TABLE regions_2 PARTITION OF regions FOR VALUES FROM (100) TO (200);
INSERT INTO regions VALUES (150);
INSERT INTO offices VALUES (1, 1), (2, 2), (3, 150);
\set QUIET off
DELETE FROM regions WHERE id IN (1, 150);
\set QUIET on
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted FROM offices ORDER BY id;
SELECT tgrelid::regclass AS tbl, tgparentid <> 0 AS cloned FROM pg_trigger
 WHERE tgname = 'rowkeeper_soft_delete_cascade' AND tgrelid::regclass::text LIKE 'regions%' ORDER BY 1;

-- CREATE SCHEMA with a table in it
SET ROLE rk_cs_owner;
CREATE TABLE vendors (id int PRIMARY KEY);
INSERT INTO vendors VALUES (1);
SELECT rowkeeper.enable_soft_delete('vendors');
RESET ROLE;
CREATE SCHEMA rk_cs_crm AUTHORIZATION rk_cs_owner
    CREATE TABLE contacts (id int PRIMARY KEY, vendor_id int REFERENCES public.vendors);
INSERT INTO rk_cs_crm.contacts VALUES (1, 1);
SET ROLE rk_cs_owner;
DELETE FROM vendors WHERE id = 1;
RESET ROLE;
SELECT tbl FROM cascade_triggers ORDER BY tbl::text;

-- Dropped keys take the trigger with them, and DELETE still soft-deletes:
-- ALTER TABLE ... DROP CONSTRAINT, DROP TABLE, DROP SCHEMA ... CASCADE
SET ROLE rk_cs_owner;
ALTER TABLE invoices DROP CONSTRAINT "FK_invoices_customer";
DROP TABLE task_labels;
DROP TABLE bookings;
DROP TABLE offices;
RESET ROLE;
DROP SCHEMA rk_cs_crm CASCADE;
SELECT tbl FROM cascade_triggers ORDER BY tbl::text;
SET ROLE rk_cs_owner;
\set QUIET off
DELETE FROM customers WHERE id = 1;
DELETE FROM labels WHERE id = 1;
DELETE FROM vendors WHERE id = 1;
\set QUIET on
RESET ROLE;
SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM customers WHERE deleted_at IS NULL) AS live;

-- pg_restore runs with row_security off: the event trigger leaves what it
-- restores alone (the dump has the triggers as they were); a DELETE on a
-- table so left without its trigger is refused.
SET row_security = off;
CREATE TABLE rk_cs_restored (id int PRIMARY KEY, vendor_id int REFERENCES vendors);
RESET row_security;
SELECT count(*) AS vendors_cascade FROM cascade_triggers WHERE tbl = 'vendors'::regclass;
SET ROLE rk_cs_owner;
DELETE FROM vendors WHERE id = 1;
RESET ROLE;
DROP TABLE rk_cs_restored;

-- Where the event trigger did not run (here: disabled; likewise in
-- single-user mode), a DELETE on a referenced table without its cascade
-- trigger is refused, and so is a cascade into one; nothing is marked.
-- enable_soft_delete() again puts the trigger back.
ALTER EVENT TRIGGER rowkeeper_soft_delete_fkeys DISABLE;
SET ROLE rk_cs_owner;
INSERT INTO customers VALUES (3);
CREATE TABLE payments (id int PRIMARY KEY, customer_id int REFERENCES customers ON DELETE CASCADE);
INSERT INTO payments VALUES (1, 3);
CREATE TABLE refunds (id int PRIMARY KEY, payment_id int REFERENCES payments);
SELECT rowkeeper.enable_soft_delete('payments');
-- (enable_soft_delete gave payments its trigger: take it away, as a
-- migration in single-user mode would have left it)
DROP TRIGGER rowkeeper_soft_delete_cascade ON payments;
DELETE FROM customers WHERE id = 3;
DELETE FROM payments WHERE id = 1;
PREPARE del_payment AS DELETE FROM payments WHERE id = 1;
SELECT rowkeeper.enable_soft_delete('customers');
DELETE FROM customers WHERE id = 3;      -- the cascade reaches payments, which lacks its trigger
RESET ROLE;
SELECT (SELECT count(*) FROM customers WHERE deleted_at IS NOT NULL AND id = 3) AS customers_marked,
       (SELECT count(*) FROM payments WHERE deleted_at IS NOT NULL) AS payments_marked;
SET ROLE rk_cs_owner;
SELECT rowkeeper.enable_soft_delete('payments');
\set QUIET off
DELETE FROM customers WHERE id = 3;
\set QUIET on
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted FROM payments;
ALTER EVENT TRIGGER rowkeeper_soft_delete_fkeys ENABLE ALWAYS;
SELECT evtenabled FROM pg_event_trigger WHERE evtname = 'rowkeeper_soft_delete_fkeys';

-- enable_soft_delete() again keeps a matching cascade trigger (the same
-- trigger, not dropped and made again)
SELECT t.oid AS cascade_oid FROM pg_trigger t
 WHERE t.tgrelid = 'customers'::regclass AND t.tgname = 'rowkeeper_soft_delete_cascade' \gset
SET ROLE rk_cs_owner;
SELECT rowkeeper.enable_soft_delete('customers') IS NOT NULL AS enabled;
RESET ROLE;
SELECT t.oid = :cascade_oid AS same_trigger FROM pg_trigger t
 WHERE t.tgrelid = 'customers'::regclass AND t.tgname = 'rowkeeper_soft_delete_cascade';

-- a cascade trigger its owner disabled counts as missing: the soft DELETE
-- is refused (it would skip the children); enable_soft_delete() again
-- enables it
SET ROLE rk_cs_owner;
ALTER TABLE customers DISABLE TRIGGER rowkeeper_soft_delete_cascade;
DELETE FROM customers WHERE id = 2;
SELECT rowkeeper.enable_soft_delete('customers') IS NOT NULL AS enabled;
RESET ROLE;
SELECT tgenabled FROM pg_trigger
 WHERE tgrelid = 'customers'::regclass AND tgname = 'rowkeeper_soft_delete_cascade';

-- disable_soft_delete drops the trigger with the rest
SET ROLE rk_cs_owner;
SELECT rowkeeper.disable_soft_delete('payments', force => true);
RESET ROLE;
SELECT tbl FROM cascade_triggers ORDER BY tbl::text;

DROP VIEW cascade_triggers;
DROP TABLE refunds, payments, invoices, customers, tasks, projects, labels,
           members, teams, rooms, vendors, regions, orders, accounts;
REVOKE CREATE ON SCHEMA public FROM rk_cs_owner, rk_cs_migrator;
DROP ROLE rk_cs_migrator;
DROP ROLE rk_cs_owner;
