-- soft_delete_hidden_update: the application cannot reach soft-deleted rows
-- with an UPDATE that reads no column (no WHERE, no RETURNING): PostgreSQL
-- applies SELECT policies to an UPDATE only when it reads the table, so a
-- hiding policy FOR SELECT alone let "UPDATE t SET deleted_at = NULL"
-- revive every deleted row and "UPDATE t SET name = ..." rewrite them.
-- (Found by the Citus soft-delete test, issue 19; on the shards the
-- Citus form of the policies already covered UPDATE.)
LOAD 'rowkeeper';
SET rowkeeper.actor = '';
CREATE ROLE sdh_app;
CREATE ROLE sdh_support;
GRANT rowkeeper_see_deleted TO sdh_support;
CREATE TABLE sdh (id int PRIMARY KEY, name text);
INSERT INTO sdh SELECT g, 'row ' || g FROM generate_series(1, 4) g;
SELECT rowkeeper.enable_soft_delete('sdh');
GRANT SELECT, INSERT, UPDATE, DELETE ON sdh TO sdh_app, sdh_support;
GRANT USAGE ON SCHEMA rowkeeper TO sdh_app, sdh_support;
-- what the table holds, seen by its owner (the superuser): id, name, marked
CREATE FUNCTION sdh_state() RETURNS TABLE (id int, name text, marked bool)
LANGUAGE sql AS $$ SELECT id, name, deleted_at IS NOT NULL FROM sdh ORDER BY id $$;

SET ROLE sdh_app;
\set QUIET off
DELETE FROM sdh WHERE id IN (1, 2);
-- no WHERE: only the live rows are updated
UPDATE sdh SET name = upper(name);
-- no WHERE, clearing the marks: revives nothing
UPDATE sdh SET deleted_at = NULL, deleted_batch = NULL;
\set QUIET on
RESET ROLE;
SELECT * FROM sdh_state();

-- a member of rowkeeper_see_deleted with show_deleted reaches them (and
-- restore() does, which turns show_deleted on for itself)
SET ROLE sdh_support;
BEGIN;
SET LOCAL rowkeeper.show_deleted = on;
\set QUIET off
UPDATE sdh SET name = name || '!';
\set QUIET on
ROLLBACK;
SELECT rowkeeper.restore('sdh', '{"id": 1}');
RESET ROLE;
SELECT * FROM sdh_state();

-- the marking itself and the hard delete are unaffected
SET ROLE sdh_app;
\set QUIET off
DELETE FROM sdh;
\set QUIET on
RESET ROLE;
SELECT rowkeeper.hard_delete('sdh', '{"id": 2}');
SELECT * FROM sdh_state();

DROP TABLE sdh;
DROP FUNCTION sdh_state();
REVOKE USAGE ON SCHEMA rowkeeper FROM sdh_app, sdh_support;
DROP ROLE sdh_app;
DROP ROLE sdh_support;
