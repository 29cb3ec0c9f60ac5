-- soft_delete: DELETE marks rows, reports them as deleted (command tag and
-- RETURNING), hides them from the application, keeps them for admins;
-- restore; unique keys over live rows; disable.  The table keeps its name
-- and stays an ordinary table (issue 16).  This file runs as a superuser,
-- who bypasses row-level security and so sees every row, as an admin does;
-- the application is rk_app.
-- Command tags are shown (QUIET off): "DELETE 1" is part of the contract.
SET rowkeeper.actor = '';
CREATE TABLE users (id int PRIMARY KEY, email text CONSTRAINT users_email_key UNIQUE,
                    name text, created_at timestamptz DEFAULT '2000-01-01');
INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'Ann'), (2, 'b@x', 'Bob'), (3, 'c@x', 'Cid');
CREATE ROLE rk_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO rk_app;

SELECT rowkeeper.enable_soft_delete('users', deleted_by_column => 'deleted_by');
-- the table keeps its name, stays an ordinary table with its primary key;
-- no other relation appears
SELECT c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
 WHERE c.relname LIKE 'users%' AND c.relkind IN ('r', 'v') ORDER BY 1;
SELECT conname, contype FROM pg_constraint WHERE conrelid = 'users'::regclass ORDER BY 1;
\d users
SELECT polname, polpermissive, polcmd, pg_get_expr(polqual, polrelid) AS using
  FROM pg_policy WHERE polrelid = 'users'::regclass ORDER BY 1;
-- the grants are the table's, untouched
SELECT grantee, string_agg(privilege_type, ', ' ORDER BY privilege_type)
  FROM information_schema.role_table_grants
 WHERE table_name = 'users' AND grantee = 'rk_app' GROUP BY grantee;
SELECT * FROM rowkeeper.soft_delete_tables;
-- idempotent
SELECT rowkeeper.enable_soft_delete('users', deleted_by_column => 'deleted_by');
SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'rowkeeper_soft_delete%';
SELECT count(*) FROM pg_policy WHERE polrelid = 'users'::regclass;

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
-- and cannot turn the deleted ones on: the switch is for rowkeeper_see_deleted
-- and the owner only
SET rowkeeper.show_deleted = on;
SELECT count(*) FROM users;
RESET rowkeeper.show_deleted;
RESET ROLE;
\set QUIET on

-- the admin path: every row, marked; one batch id per transaction
SELECT id, email, deleted_at IS NOT NULL AS marked, deleted_by, deleted_batch IS NOT NULL AS has_batch
  FROM users ORDER BY id;
SELECT count(DISTINCT deleted_batch) AS batches FROM users;
SELECT count(*) AS only_deleted FROM users WHERE deleted_at IS NOT NULL;
-- a support role, member of rowkeeper_see_deleted, sees them after the switch
CREATE ROLE rk_support IN ROLE rowkeeper_see_deleted;
GRANT SELECT ON users TO rk_support;
SET ROLE rk_support;
SELECT count(*) FROM users;
BEGIN;
SET LOCAL rowkeeper.show_deleted = on;
SELECT count(*) FROM users;
COMMIT;
SELECT count(*) FROM users;
RESET ROLE;

-- INSERT and UPDATE work as before (defaults included)
SET ROLE rk_app;
INSERT INTO users (id, email, name) VALUES (6, 'f@x', 'Fay');
UPDATE users SET name = 'Fay F' WHERE id = 6;
SELECT id, name, created_at FROM users WHERE id = 6;
-- an UPDATE that sets the column by hand (the ORM "paranoid" style) is
-- refused: the row would disappear from under the application's UPDATE;
-- DELETE is the way to mark
UPDATE users SET deleted_at = now() WHERE id = 6;
DELETE FROM users WHERE id = 6;
SELECT count(*) FROM users WHERE id = 6;
RESET ROLE;

-- restore: one key, then a set
SELECT rowkeeper.restore('users', '{"id": 1}');
SELECT id, deleted_at, deleted_by, deleted_batch FROM users WHERE id = 1;
SELECT rowkeeper.restore('users', '[{"id": 2}, {"id": 3}]');
SELECT id FROM users WHERE deleted_at IS NULL ORDER BY id;
-- all or nothing: one bad key restores nothing
SELECT rowkeeper.restore('users', '[{"id": 4}, {"id": 1}]');
SELECT id FROM users WHERE deleted_at IS NULL ORDER BY id;
-- restore needs to see deleted rows: not for the application
SET ROLE rk_app;
SELECT rowkeeper.restore('users', '{"id": 4}');
RESET ROLE;

-- unique keys over live rows only
SELECT rowkeeper.soft_delete_unique('users', 'users_email_key');
\d users
SELECT rowkeeper.soft_delete_unique('users', 'users_email_key');   -- idempotent
DELETE FROM users WHERE id = 2;
INSERT INTO users (id, email, name) VALUES (12, 'b@x', 'Bob again');    -- reuse the email
-- restoring the old row would clash with the live one: a clean error
SELECT rowkeeper.restore('users', '{"id": 2}');
SELECT id, email, deleted_at IS NOT NULL AS deleted FROM users WHERE email = 'b@x' ORDER BY id;
DELETE FROM users WHERE id = 12;
SELECT rowkeeper.restore('users', '{"id": 2}');

-- INSERT ... ON CONFLICT; the partial unique index is inferred with its
-- predicate
\set QUIET off
INSERT INTO users (id, email, name) VALUES (2, 'b@x', 'Bob B')
    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;
INSERT INTO users (id, email, name) VALUES (13, 'b@x', 'Bob C')
    ON CONFLICT (email) WHERE deleted_at IS NULL DO NOTHING;
\set QUIET on
SELECT id, name FROM users WHERE email = 'b@x' AND deleted_at IS NULL;

-- the application's reads of live rows use the partial index
SET ROLE rk_app;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM users WHERE email = 'b@x';
RESET enable_seqscan;
RESET ROLE;

-- migrations work on the table as on any other (issue 16): columns added,
-- renamed and dropped, an index, a comment, a foreign key to it; the
-- application sees a new column at once, no enable_soft_delete() again
ALTER TABLE users ADD COLUMN phone text;
ALTER TABLE users ADD COLUMN fax text;
ALTER TABLE users RENAME COLUMN fax TO telefax;
ALTER TABLE users DROP COLUMN telefax;
CREATE INDEX users_phone_idx ON users (phone);
COMMENT ON TABLE users IS 'the users';
CREATE TABLE user_notes (id int PRIMARY KEY, user_id int REFERENCES users (id), body text);
SET ROLE rk_app;
UPDATE users SET phone = '555' WHERE id = 2;
SELECT id, phone FROM users WHERE id = 2;
RESET ROLE;
SELECT attname FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT obj_description('users'::regclass, 'pg_class');
DROP TABLE user_notes;

-- a table with a replica identity index instead of a primary key, and a
-- composite key, with camelCase columns
CREATE TABLE "Events" ("tenantId" int NOT NULL, seq int NOT NULL, what text,
                       UNIQUE ("tenantId", seq));
ALTER TABLE "Events" REPLICA IDENTITY USING INDEX "Events_tenantId_seq_key";
INSERT INTO "Events" VALUES (1, 1, 'x'), (1, 2, 'y'), (2, 1, 'z');
SELECT rowkeeper.enable_soft_delete('"Events"', 'deletedAt', batch_column => 'deletedBatch');
GRANT SELECT, DELETE ON "Events" TO rk_app;
\set QUIET off
SET ROLE rk_app;
DELETE FROM "Events" WHERE "tenantId" = 1 RETURNING "tenantId", seq;
SELECT * FROM "Events";
RESET ROLE;
\set QUIET on
SELECT rowkeeper.restore('"Events"', '{"tenantId": 1, "seq": 2}');
SELECT "tenantId", seq, "deletedAt" IS NOT NULL AS deleted FROM "Events" ORDER BY 1, 2;

-- disable: refused while deleted rows would come back, unless forced
SELECT rowkeeper.disable_soft_delete('"Events"');
SELECT rowkeeper.disable_soft_delete('"Events"', force => true);
SELECT c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity
  FROM pg_class c WHERE c.relname LIKE 'Events%' AND c.relkind = 'r' ORDER BY 1;
SELECT count(*) FROM pg_policy WHERE polrelid = '"Events"'::regclass;
SET ROLE rk_app;
SELECT count(*) FROM "Events";
RESET ROLE;
SELECT rowkeeper.disable_soft_delete('"Events"');
DROP TABLE "Events";

-- hard delete: only soft-deleted rows, only through the function
SELECT rowkeeper.hard_delete('users', '{"id": 1}');      -- live: nothing
DELETE FROM users WHERE id = 1;
SELECT rowkeeper.hard_delete('users', '{"id": 1}');
SELECT count(*) FROM users WHERE id = 1;
-- no other physical delete: ON DELETE CASCADE from a table without soft delete
CREATE TABLE teams (id int PRIMARY KEY);
INSERT INTO teams VALUES (1);
ALTER TABLE users ADD COLUMN team_id int REFERENCES teams ON DELETE CASCADE;
UPDATE users SET team_id = 1 WHERE id = 3;
DELETE FROM teams;
SELECT count(*) FROM teams;
ALTER TABLE users DROP COLUMN team_id;
DROP TABLE teams;
-- nor a DELETE that was not rewritten (the rewrite switched off)
SET rowkeeper.soft_delete_rewrite = off;
DELETE FROM users WHERE id = 3;
RESET rowkeeper.soft_delete_rewrite;
TABLE rowkeeper.soft_delete_tables;

SELECT rowkeeper.disable_soft_delete('users', force => true);
DROP TABLE users;
REVOKE ALL ON SCHEMA public FROM rk_app;
DROP ROLE rk_app;
DROP ROLE rk_support;
