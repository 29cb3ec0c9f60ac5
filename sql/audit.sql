-- audit: what rowkeeper.enable_audit() records, and who can see it.
SET TimeZone = 'UTC';
SET DateStyle = 'Postgres, MDY';   -- images must not depend on it

CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN cents AS bigint CHECK (VALUE >= 0);
CREATE TABLE accounts (
    id          int PRIMARY KEY,
    email       text NOT NULL,
    balance     numeric,
    active      boolean,
    meta        jsonb,
    raw         json,
    password    text,
    ssn         text,
    ratio       float8,
    tags        text[],
    feeling     mood,
    price       cents,
    blob        bytea,
    seen_at     timestamptz,
    born        date
);
SELECT rowkeeper.enable_audit('accounts', exclude_columns => '{password}', redact_columns => '{ssn}');
SELECT table_name, exclude_columns, redact_columns, skip_noop, require_actor, replicated,
       enabled, since <= now() AS has_since
  FROM rowkeeper.audited_tables;

-- Typed images: numbers, booleans and json stay typed; NaN/infinity, dates
-- and other types are strings that read back; excluded never, redacted hidden.
BEGIN;
SELECT rowkeeper.set_context(actor => 'alice@acme.test', tenant => 'acme', request_id => 'req-1');
INSERT INTO accounts VALUES
    (1, 'a@acme.test', 10.50, true, '{"plan": "pro", "seats": [1, 2]}', '{"b": 1, "a": 2}',
     'hunter2', '123-45-6789', 0.1, '{x,"y z"}', 'happy', 995, '\xdeadbeef',
     '2026-01-02 03:04:05.678+00', '1990-12-31'),
    (2, 'b@acme.test', 'NaN', NULL, 'null', '[]', NULL, NULL, '-Infinity', '{}', 'sad', 0, '', NULL, 'infinity');
COMMIT;
SELECT id, op, row_key, jsonb_pretty(new_row) AS new_row, actor, tenant, request_id
  FROM rowkeeper.audit_log ORDER BY id;

-- UPDATE logs only the changed logged columns, old and new; a change to an
-- excluded column alone, or no change at all, logs nothing (skip_noop).
UPDATE accounts SET balance = 11, active = false WHERE id = 1;
UPDATE accounts SET password = 'correct horse' WHERE id = 1;
UPDATE accounts SET email = email WHERE id = 1;
UPDATE accounts SET ssn = '987-65-4321', password = 'x' WHERE id = 1;
SELECT id, op, row_key, old_key, old_row, new_row, actor
  FROM rowkeeper.audit_log WHERE op = 'UPDATE' ORDER BY id;

-- A key change links old and new key, so history follows the row.
UPDATE accounts SET id = 10 WHERE id = 1;
SELECT op, row_key, old_key, old_row, new_row FROM rowkeeper.audit_log ORDER BY id DESC LIMIT 1;

-- DELETE logs the old row; TRUNCATE one statement entry.
DELETE FROM accounts WHERE id = 2;
SELECT op, row_key, old_row ? 'password' AS has_password, old_row->'ssn' AS ssn,
       old_row->'email' AS email
  FROM rowkeeper.audit_log ORDER BY id DESC LIMIT 1;
TRUNCATE accounts;
SELECT op, row_key, old_row, new_row FROM rowkeeper.audit_log ORDER BY id DESC LIMIT 1;

-- Same transaction as the change: rolled back with it, also to a savepoint.
SELECT max(id) AS before_id FROM rowkeeper.audit_log \gset
BEGIN;
INSERT INTO accounts (id, email) VALUES (3, 'c@acme.test');
SAVEPOINT s;
INSERT INTO accounts (id, email) VALUES (4, 'd@acme.test');
ROLLBACK TO SAVEPOINT s;
UPDATE accounts SET email = 'c2@acme.test' WHERE id = 3;
COMMIT;
BEGIN;
INSERT INTO accounts (id, email) VALUES (5, 'e@acme.test');
ROLLBACK;
SELECT op, row_key, new_row->>'email' AS email
  FROM rowkeeper.audit_log WHERE id > :before_id ORDER BY id;

-- Several changes to one row in one transaction: each logged, in order.
SELECT max(id) AS before_id FROM rowkeeper.audit_log \gset
BEGIN;
UPDATE accounts SET balance = 1 WHERE id = 3;
UPDATE accounts SET balance = 2 WHERE id = 3;
UPDATE accounts SET balance = 3 WHERE id = 3;
COMMIT;
SELECT op, old_row, new_row FROM rowkeeper.audit_log WHERE id > :before_id ORDER BY id;
SELECT count(DISTINCT txid) AS transactions FROM rowkeeper.audit_log WHERE id > :before_id;

-- COPY is audited like INSERT.
COPY accounts (id, email, balance) FROM stdin;
20	copy1@acme.test	1.5
21	copy2@acme.test	2.5
\.
SELECT op, row_key, new_row->'balance' AS balance FROM rowkeeper.audit_log
 WHERE row_key->'id' IN ('20', '21') ORDER BY id;

-- Schema changes are picked up at once (no stale cached descriptor).
ALTER TABLE accounts ADD COLUMN nickname text;
UPDATE accounts SET nickname = 'cee' WHERE id = 3;
ALTER TABLE accounts RENAME COLUMN nickname TO handle;
UPDATE accounts SET handle = 'c3' WHERE id = 3;
ALTER TABLE accounts ALTER COLUMN handle TYPE varchar(10);
UPDATE accounts SET handle = 'c4' WHERE id = 3;
ALTER TABLE accounts DROP COLUMN handle;
UPDATE accounts SET balance = 99 WHERE id = 3;
ALTER TABLE accounts ALTER COLUMN balance TYPE int USING balance::int;
UPDATE accounts SET balance = 100 WHERE id = 3;
SELECT op, old_row, new_row FROM rowkeeper.audit_log
 WHERE row_key = '{"id": 3}' ORDER BY id DESC LIMIT 5;
-- renaming an excluded column breaks loudly until enable_audit is called again
ALTER TABLE accounts RENAME COLUMN password TO pass;
UPDATE accounts SET balance = 101 WHERE id = 3;
SELECT rowkeeper.enable_audit('accounts', exclude_columns => '{pass}', redact_columns => '{ssn}');
UPDATE accounts SET balance = 101, pass = 'p' WHERE id = 3;
SELECT op, old_row, new_row FROM rowkeeper.audit_log ORDER BY id DESC LIMIT 1;

-- A renamed table keeps its history under the old name and logs under the new.
ALTER TABLE accounts RENAME TO customer_accounts;
UPDATE customer_accounts SET balance = 102 WHERE id = 3;
SELECT table_name, count(*) FROM rowkeeper.audit_log GROUP BY 1 ORDER BY 1;
ALTER TABLE customer_accounts RENAME TO accounts;

-- Composite keys, wide (TOASTed) values, generated columns.
CREATE TABLE memberships (
    org_id int, user_id int, role text, notes text,
    notes_len int GENERATED ALWAYS AS (length(notes)) STORED,
    PRIMARY KEY (org_id, user_id)
);
SELECT rowkeeper.enable_audit('memberships');
INSERT INTO memberships VALUES (1, 7, 'admin', repeat('n', 100000));
UPDATE memberships SET role = 'owner' WHERE org_id = 1;
UPDATE memberships SET notes = notes || '!' WHERE org_id = 1;
SELECT op, row_key, old_row->'role' AS old_role, new_row->'role' AS new_role,
       length(new_row->>'notes') AS notes_len, new_row->'notes_len' AS generated
  FROM rowkeeper.audit_log WHERE table_name = 'memberships' ORDER BY id;

-- Partitioned tables: logged under the partitioned table; a row moving
-- between partitions is a DELETE plus an INSERT in one transaction.
CREATE TABLE orders (id int, region text, total numeric, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu');
SELECT rowkeeper.enable_audit('orders');
CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us');
INSERT INTO orders VALUES (1, 'eu', 10), (2, 'us', 20);
UPDATE orders SET region = 'us' WHERE id = 1;
SELECT table_name, op, row_key, dense_rank() OVER (ORDER BY txid) AS txn
  FROM rowkeeper.audit_log WHERE table_name = 'orders' ORDER BY id;
SELECT table_name FROM rowkeeper.audited_tables ORDER BY table_name::text;

-- A table keyed by a replica identity index instead of a primary key.
CREATE TABLE devices (serial text NOT NULL, label text);
CREATE UNIQUE INDEX devices_serial ON devices (serial);
ALTER TABLE devices REPLICA IDENTITY USING INDEX devices_serial;
SELECT rowkeeper.enable_audit('devices');
INSERT INTO devices VALUES ('SN-1', 'lamp');
SELECT op, row_key FROM rowkeeper.audit_log WHERE table_name = 'devices';

-- Idempotent: same options, same triggers; other options replace them and
-- keep "since".
SELECT oid AS tg_before FROM pg_trigger WHERE tgrelid = 'devices'::regclass AND tgname = 'rowkeeper_audit' \gset
SELECT since AS since_before FROM rowkeeper.audited_tables WHERE table_name = 'devices'::regclass \gset
SELECT rowkeeper.enable_audit('devices');
SELECT oid = :tg_before AS same_trigger FROM pg_trigger WHERE tgrelid = 'devices'::regclass AND tgname = 'rowkeeper_audit';
SELECT rowkeeper.enable_audit('devices', skip_noop => false, replicated => true);
SELECT skip_noop, replicated, since = :'since_before' AS same_since
  FROM rowkeeper.audited_tables WHERE table_name = 'devices'::regclass;
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'devices'::regclass ORDER BY 1;
UPDATE devices SET label = label;     -- skip_noop => false: logged
SELECT op, old_row, new_row FROM rowkeeper.audit_log WHERE table_name = 'devices' ORDER BY id DESC LIMIT 1;

-- require_actor: writes without rowkeeper.actor are refused.
SELECT rowkeeper.enable_audit('devices', require_actor => true);
INSERT INTO devices VALUES ('SN-2', 'fan');
BEGIN;
SELECT rowkeeper.set_context(actor => 'ops-bot');
INSERT INTO devices VALUES ('SN-2', 'fan');
COMMIT;
SELECT op, row_key, actor FROM rowkeeper.audit_log WHERE table_name = 'devices' ORDER BY id DESC LIMIT 1;

-- Privileges: the application role writes audited tables with no right on
-- the log, cannot read or change it; rowkeeper_auditor reads it.
CREATE ROLE rk_app;
CREATE ROLE rk_reader IN ROLE rowkeeper_auditor;
GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO rk_app;
SET ROLE rk_app;
BEGIN;
SELECT rowkeeper.set_context(actor => 'app-user-9');
INSERT INTO accounts (id, email) VALUES (30, 'app@acme.test');
COMMIT;
SELECT count(*) FROM rowkeeper.audit_log;
UPDATE rowkeeper.audit_log SET actor = 'nobody';
DELETE FROM rowkeeper.audit_log;
TRUNCATE rowkeeper.audit_log;
DELETE FROM rowkeeper.audit_log_default;
SELECT rowkeeper.disable_audit('accounts');
RESET ROLE;
SET ROLE rk_reader;
SELECT op, row_key, actor, db_user, role_user FROM rowkeeper.audit_log
 WHERE row_key = '{"id": 30}';
UPDATE rowkeeper.audit_log SET actor = 'nobody';
RESET ROLE;

-- A SECURITY DEFINER wrapper does not hide who called it.
CREATE FUNCTION close_account(p_id int) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$ DELETE FROM accounts WHERE id = p_id $$;
REVOKE ALL ON FUNCTION close_account(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION close_account(int) TO rk_app;
REVOKE DELETE ON accounts FROM rk_app;
SET ROLE rk_app;
SELECT close_account(30);
RESET ROLE;
SELECT op, row_key, db_user, role_user, session_user_name = session_user AS session_ok
  FROM rowkeeper.audit_log ORDER BY id DESC LIMIT 1;

-- audit_status: entries per table and trigger state; drift is shown.
ALTER TABLE memberships DISABLE TRIGGER rowkeeper_audit;
SELECT table_name, entries, bytes > 0 AS has_bytes, row_trigger, truncate_trigger
  FROM rowkeeper.audit_status();
ALTER TABLE memberships ENABLE TRIGGER rowkeeper_audit;

-- disable_audit removes both triggers and keeps the log.
SELECT rowkeeper.disable_audit('memberships');
SELECT rowkeeper.disable_audit('memberships');
SELECT count(*) AS memberships_entries_kept FROM rowkeeper.audit_log WHERE table_name = 'memberships';
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'memberships'::regclass;

-- The trigger's configuration is cached for the life of the backend: every
-- change it depends on is picked up at once in the same session.
CREATE SCHEMA cache_s;
CREATE TABLE cache_s.items (id int PRIMARY KEY, note text, secret text);
SELECT rowkeeper.enable_audit('cache_s.items');
CREATE ROLE rk_cache_role;
GRANT USAGE ON SCHEMA cache_s TO rk_cache_role;
GRANT SELECT, INSERT, UPDATE ON cache_s.items TO rk_cache_role;
SET ROLE rk_cache_role;
INSERT INTO cache_s.items VALUES (1, 'one', 's1');
RESET ROLE;
ALTER SCHEMA cache_s RENAME TO cache_t;                  -- no relcache change of the table
ALTER ROLE rk_cache_role RENAME TO rk_cache_role2;       -- nor of the role
SET ROLE rk_cache_role2;
UPDATE cache_t.items SET note = 'uno' WHERE id = 1;
RESET ROLE;
SELECT rowkeeper.enable_audit('cache_t.items', exclude_columns => '{secret}');  -- options change
UPDATE cache_t.items SET note = 'eins', secret = 's2' WHERE id = 1;
ALTER TABLE cache_t.items ADD COLUMN extra int DEFAULT 7;
UPDATE cache_t.items SET extra = 8 WHERE id = 1;
ALTER TABLE cache_t.items DROP COLUMN note;
UPDATE cache_t.items SET extra = 9 WHERE id = 1;
SELECT schema_name, op, old_row, new_row, db_user
  FROM rowkeeper.audit_log WHERE table_name = 'items' ORDER BY id;
-- a partition's trigger logs under the root's name, also after the root is renamed
CREATE TABLE cache_t.parted (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
CREATE TABLE cache_t.parted_1 PARTITION OF cache_t.parted FOR VALUES FROM (0) TO (100);
SELECT rowkeeper.enable_audit('cache_t.parted');
INSERT INTO cache_t.parted VALUES (1, 1);
ALTER TABLE cache_t.parted RENAME TO renamed_parted;
INSERT INTO cache_t.renamed_parted VALUES (2, 2);
SELECT table_name, row_key FROM rowkeeper.audit_log
 WHERE schema_name = 'cache_t' AND table_name LIKE '%parted' ORDER BY id;
SELECT rowkeeper.disable_audit('cache_t.items');
SELECT rowkeeper.disable_audit('cache_t.renamed_parted');
DROP SCHEMA cache_t CASCADE;
DROP ROLE rk_cache_role2;

-- Clean up.
SELECT rowkeeper.disable_audit(table_name) FROM rowkeeper.audited_tables ORDER BY table_name::text;
DROP FUNCTION close_account(int);
DROP TABLE accounts, memberships, orders, devices;
DROP TYPE mood;
DROP DOMAIN cents;
DROP OWNED BY rk_app, rk_reader;
DROP ROLE rk_app;
DROP ROLE rk_reader;
