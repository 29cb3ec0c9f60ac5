-- soft_delete: DELETE marks rows, reports them as deleted (command tag and
-- RETURNING), hides them from the application, keeps them for admins;
-- restore; unique keys over live rows; disable.
-- Command tags are shown (QUIET off): "DELETE 1" is part of the contract.
SET rowkeeper.actor = '';
CREATE TABLE users (id int PRIMARY KEY, email text CONSTRAINT users_email_key UNIQUE,
                    name text, created_at timestamptz DEFAULT '2000-01-01');
INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'Ann'), (2, 'b@x', 'Bob'), (3, 'c@x', 'Cid');
CREATE ROLE rk_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO rk_app;

SELECT rowkeeper.enable_soft_delete('users', deleted_by_column => 'deleted_by');
-- the table made way for a security_invoker view of its live rows
SELECT c.relname, c.relkind, c.reloptions FROM pg_class c
 WHERE c.relname IN ('users', 'users_with_deleted') ORDER BY 1;
\d users_with_deleted
-- (column qualifiers dropped: 16 on deparses a one-table view without them)
SELECT regexp_replace(pg_get_viewdef('users'::regclass), '\musers_with_deleted\.', '', 'g') AS definition;
-- grants were carried over to the view
SELECT grantee, string_agg(privilege_type, ', ' ORDER BY privilege_type)
  FROM information_schema.role_table_grants
 WHERE table_name = 'users' AND grantee = 'rk_app' GROUP BY grantee;
SELECT * FROM rowkeeper.soft_delete_tables;
-- idempotent
SELECT rowkeeper.enable_soft_delete('users', deleted_by_column => 'deleted_by');
SELECT rowkeeper.enable_soft_delete('users_with_deleted', deleted_by_column => 'deleted_by');
SELECT count(*) FROM pg_trigger WHERE tgname = 'rowkeeper_soft_delete';

\set QUIET off
-- DELETE of one live row: "DELETE 1", and RETURNING returns the row as it was
SET ROLE rk_app;
BEGIN;
SELECT rowkeeper.set_context(actor => 'alice');
DELETE FROM users WHERE id = 1 RETURNING id, email, name, deleted_at;
COMMIT;
-- deleting it again: it is gone for the application
DELETE FROM users WHERE id = 1;
-- several rows, one statement; a prepared statement too
DELETE FROM users WHERE id IN (2, 3, 99);
INSERT INTO users (id, email, name) VALUES (4, 'd@x', 'Dan'), (5, 'e@x', 'Eve');
PREPARE del(int) AS DELETE FROM users WHERE id = $1;
EXECUTE del(4);
EXECUTE del(4);
-- a writable CTE sees the deleted rows as deleted
WITH d AS (DELETE FROM users WHERE id = 5 RETURNING *) SELECT count(*) FROM d;
-- the application sees only live rows
SELECT * FROM users ORDER BY id;
RESET ROLE;
\set QUIET on

-- the admin path: every row, marked; one batch id per statement
SELECT id, email, deleted_at IS NOT NULL AS marked, deleted_by, deleted_batch IS NOT NULL AS has_batch
  FROM users_with_deleted ORDER BY id;
SELECT count(DISTINCT deleted_batch) AS batches FROM users_with_deleted;
SELECT count(*) AS only_deleted FROM users_with_deleted WHERE deleted_at IS NOT NULL;

-- INSERT and UPDATE through the view work as before (defaults included)
INSERT INTO users (id, email, name) VALUES (6, 'f@x', 'Fay');
UPDATE users SET name = 'Fay F' WHERE id = 6;
SELECT id, name, created_at FROM users WHERE id = 6;
-- an UPDATE that sets the column by hand (the ORM "paranoid" style) hides the row too
UPDATE users SET deleted_at = now() WHERE id = 6;
SELECT count(*) FROM users WHERE id = 6;

-- restore: one key, then a set
SELECT rowkeeper.restore('users', '{"id": 1}');
SELECT id, deleted_at, deleted_by, deleted_batch FROM users WHERE id = 1;
SELECT rowkeeper.restore('users', '[{"id": 2}, {"id": 3}]');
SELECT id FROM users ORDER BY id;
-- all or nothing: one bad key restores nothing
SELECT rowkeeper.restore('users', '[{"id": 4}, {"id": 1}]');
SELECT id FROM users ORDER BY id;

-- unique keys over live rows only
SELECT rowkeeper.soft_delete_unique('users', 'users_email_key');
\d users_with_deleted
SELECT rowkeeper.soft_delete_unique('users', 'users_email_key');   -- idempotent
DELETE FROM users WHERE id = 2;
INSERT INTO users (id, email, name) VALUES (12, 'b@x', 'Bob again');    -- reuse the email
-- restoring the old row would clash with the live one: a clean error
SELECT rowkeeper.restore('users', '{"id": 2}');
SELECT id, email, deleted_at IS NOT NULL AS deleted FROM users_with_deleted WHERE email = 'b@x' ORDER BY id;
DELETE FROM users WHERE id = 12;
SELECT rowkeeper.restore('users', '{"id": 2}');

-- INSERT ... ON CONFLICT through the view; the partial unique index is
-- inferred with its predicate
\set QUIET off
INSERT INTO users (id, email, name) VALUES (2, 'b@x', 'Bob B')
    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;
INSERT INTO users (id, email, name) VALUES (13, 'b@x', 'Bob C')
    ON CONFLICT (email) WHERE deleted_at IS NULL DO NOTHING;
\set QUIET on
SELECT id, name FROM users WHERE email = 'b@x';

-- reads of live rows through the view use the partial index
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM users WHERE email = 'b@x';
RESET enable_seqscan;

-- the view picks up columns added to the table when enable is called again
ALTER TABLE users_with_deleted ADD COLUMN phone text;
SELECT rowkeeper.enable_soft_delete('users', deleted_by_column => 'deleted_by');
SELECT attname FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 ORDER BY attnum;

-- a table with a replica identity index instead of a primary key, and a
-- composite key, with camelCase columns
CREATE TABLE "Events" ("tenantId" int NOT NULL, seq int NOT NULL, what text,
                       UNIQUE ("tenantId", seq));
ALTER TABLE "Events" REPLICA IDENTITY USING INDEX "Events_tenantId_seq_key";
INSERT INTO "Events" VALUES (1, 1, 'x'), (1, 2, 'y'), (2, 1, 'z');
SELECT rowkeeper.enable_soft_delete('"Events"', 'deletedAt', batch_column => 'deletedBatch',
                                    base_name => 'Events all');
\set QUIET off
DELETE FROM "Events" WHERE "tenantId" = 1 RETURNING "tenantId", seq;
\set QUIET on
SELECT * FROM "Events";
SELECT rowkeeper.restore('"Events"', '{"tenantId": 1, "seq": 2}');
SELECT "tenantId", seq, "deletedAt" IS NOT NULL AS deleted FROM "Events all" ORDER BY 1, 2;

-- disable: refused while deleted rows would come back, unless forced
SELECT rowkeeper.disable_soft_delete('"Events"');
SELECT rowkeeper.disable_soft_delete('"Events"', force => true);
SELECT c.relname, c.relkind FROM pg_class c WHERE c.relname LIKE 'Events%' ORDER BY 1;
SELECT count(*) FROM "Events";
SELECT rowkeeper.disable_soft_delete('"Events"');
DROP TABLE "Events";

-- hard delete: only soft-deleted rows, only through the function
SELECT rowkeeper.hard_delete('users', '{"id": 1}');      -- live: nothing
DELETE FROM users WHERE id = 1;
SELECT rowkeeper.hard_delete('users', '{"id": 1}');
SELECT count(*) FROM users_with_deleted WHERE id = 1;
DELETE FROM users_with_deleted WHERE id = 3;
TABLE rowkeeper.soft_delete_tables;

SELECT rowkeeper.disable_soft_delete('users', force => true);
DROP TABLE users;
REVOKE ALL ON SCHEMA public FROM rk_app;
DROP ROLE rk_app;
