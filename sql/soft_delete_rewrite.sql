-- soft_delete_rewrite: DELETE on a soft-delete table.  With the library
-- loaded before the DELETE is parsed (here: LOAD; in production:
-- session_preload_libraries or shared_preload_libraries), the DELETE runs
-- as the UPDATE of the same table that marks the rows, and still says
-- "DELETE n".  The table keeps its name (issue 16).  Two identical tables,
-- "fast" and "slow", get the same deletions, "slow" some of them in another
-- form (a WITH query): the two must agree in everything the application
-- sees.  (soft_delete_unloaded covers the library not loaded.)
LOAD 'rowkeeper';
SET rowkeeper.actor = '';
CREATE FUNCTION sd_setup(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, name text, n int)', t);
    EXECUTE format('INSERT INTO %I SELECT g, ''row '' || g, g * 10 FROM generate_series(1, 8) g', t);
    PERFORM rowkeeper.enable_soft_delete(t::regclass, deleted_by_column => 'deleted_by');
END $$;
SELECT sd_setup('fast'), sd_setup('slow');
-- what each table holds: (id, marked, deleted_by, batch number within the table)
CREATE FUNCTION sd_state(t text) RETURNS TABLE (id int, marked bool, deleted_by text, batch bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT id, deleted_at IS NOT NULL, deleted_by, '
        '       CASE WHEN deleted_batch IS NOT NULL THEN dense_rank() OVER (ORDER BY deleted_batch) END '
        '  FROM %I ORDER BY id', t);
END $$;

-- The plan: an update of the table itself, only live rows
EXPLAIN (COSTS OFF) DELETE FROM fast WHERE id = 1;

\set QUIET off
-- one row, RETURNING *: "DELETE 1", the row as it was (bookkeeping NULL)
DELETE FROM fast WHERE id = 1 RETURNING *;
DELETE FROM slow WHERE id = 1 RETURNING *;
-- again: gone for the application, "DELETE 0"
DELETE FROM fast WHERE id = 1;
DELETE FROM slow WHERE id = 1;
-- several rows in one statement (one key missing), RETURNING an expression
DELETE FROM fast WHERE id IN (2, 3, 99) RETURNING id, upper(name) AS name, n + 1 AS next;
DELETE FROM slow WHERE id IN (2, 3, 99) RETURNING id, upper(name) AS name, n + 1 AS next;
-- USING another table, and a writable CTE reading the result
CREATE TABLE doomed (id int);
INSERT INTO doomed VALUES (4), (5);
DELETE FROM fast f USING doomed d WHERE f.id = d.id AND d.id = 4 RETURNING f.id, d.id AS doomed_id;
WITH x AS (DELETE FROM slow s USING doomed d WHERE s.id = d.id AND d.id = 4 RETURNING s.id, d.id AS doomed_id)
SELECT * FROM x;
-- a prepared statement keeps the plan it was prepared with
PREPARE del_fast(int) AS DELETE FROM fast WHERE id = $1;
PREPARE del_slow(int) AS DELETE FROM slow WHERE id = $1;
EXECUTE del_fast(5);
EXECUTE del_slow(5);
EXECUTE del_fast(5);
EXECUTE del_slow(5);
\set QUIET on

-- both tables hold the same marks; one batch per transaction (each
-- statement above is one)
SELECT f.*, f IS NOT DISTINCT FROM s AS same
  FROM sd_state('fast') f JOIN sd_state('slow') s USING (id) ORDER BY id;

-- deleted_at is the transaction's time, deleted_by the actor or the user
BEGIN;
SELECT rowkeeper.set_context(actor => 'alice');
DELETE FROM fast WHERE id = 6;
SELECT deleted_at = now() AS now, deleted_by FROM fast WHERE id = 6;
COMMIT;
CREATE ROLE rk_rw_app;
GRANT SELECT, UPDATE, DELETE ON fast, slow TO rk_rw_app;
SET ROLE rk_rw_app;
DELETE FROM fast WHERE id = 7;
RESET ROLE;
SELECT deleted_by FROM fast WHERE id = 7;

-- PL/pgSQL: ROW_COUNT, FOUND and RETURNING INTO as for a DELETE
CREATE FUNCTION sd_plpgsql(t text, k int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    got int;
    out text;
BEGIN
    EXECUTE format('DELETE FROM %I WHERE id = $1', t) USING k;
    GET DIAGNOSTICS n = ROW_COUNT;
    out := format('row_count %s', n);
    EXECUTE format('DELETE FROM %I WHERE id = $1 RETURNING id', t) USING k INTO got;
    out := out || format(', again: %s', coalesce(got::text, 'none'));
    IF t = 'fast' THEN
        DELETE FROM fast WHERE id = k + 100;
    ELSE
        DELETE FROM slow WHERE id = k + 100;
    END IF;
    RETURN out || format(', found %s', FOUND);
END $$;
SELECT sd_plpgsql('fast', 8);
SELECT sd_plpgsql('slow', 8);

-- Privileges are those of the DELETE the caller wrote: DELETE on the table
-- (and SELECT of what WHERE reads); the marking needs no UPDATE privilege.
INSERT INTO fast (id, name) VALUES (20, 'p'), (21, 'q');
INSERT INTO slow (id, name) VALUES (20, 'p'), (21, 'q');
CREATE ROLE rk_no_delete;
GRANT SELECT, UPDATE ON fast, slow TO rk_no_delete;
CREATE ROLE rk_no_update;
GRANT SELECT, DELETE ON fast, slow TO rk_no_update;
SET ROLE rk_no_delete;
DELETE FROM fast WHERE id = 20;
SET ROLE rk_no_update;
BEGIN;
DELETE FROM fast WHERE id = 20;
ROLLBACK;
RESET ROLE;
-- a read-only transaction refuses it as a DELETE
BEGIN READ ONLY;
DELETE FROM fast WHERE id = 20;
ROLLBACK;
-- rolled back with its transaction, savepoints included
BEGIN;
SAVEPOINT s;
DELETE FROM fast WHERE id = 21;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT id FROM fast WHERE id IN (20, 21) ORDER BY id;

-- a table with a dropped column: the condition and RETURNING read the
-- right ones
CREATE TABLE gaps (dropped int, id int PRIMARY KEY, name text);
ALTER TABLE gaps DROP COLUMN dropped;
INSERT INTO gaps VALUES (1, 'one'), (2, 'two');
SELECT rowkeeper.enable_soft_delete('gaps');
EXPLAIN (COSTS OFF) DELETE FROM gaps g WHERE g.name = 'two' RETURNING *, g.id * 10 AS tenfold;
\set QUIET off
DELETE FROM gaps g WHERE g.name = 'two' RETURNING *, g.id * 10 AS tenfold;
\set QUIET on
SELECT id, name, deleted_at IS NOT NULL AS marked FROM gaps ORDER BY id;
SELECT rowkeeper.disable_soft_delete('gaps', force => true);
DROP TABLE gaps;

-- the internal functions give the transaction's batch and the deleting
-- user anywhere (harmless; a DELETE in a WITH query calls them outside a
-- relabelled statement), one batch for the whole transaction
BEGIN;
SELECT rowkeeper._soft_delete_batch() = rowkeeper._soft_delete_batch() AS same_batch;
SELECT rowkeeper._soft_delete_who();
COMMIT;
-- an UPDATE stays an UPDATE
UPDATE fast SET name = 'renamed' WHERE id = 20 RETURNING id, name;

-- A partitioned table: one batch for the statement across partitions.
CREATE TABLE parts (id int PRIMARY KEY, name text) PARTITION BY RANGE (id);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (10);
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES FROM (10) TO (20);
INSERT INTO parts SELECT g, 'p' || g FROM generate_series(1, 19) g;
SELECT rowkeeper.enable_soft_delete('parts');
EXPLAIN (COSTS OFF) DELETE FROM parts WHERE id IN (5, 15);
\set QUIET off
DELETE FROM parts WHERE id IN (5, 15);
-- RETURNING on a partitioned table: the row as it was
DELETE FROM parts WHERE id IN (6, 16) RETURNING id, name, deleted_at;
\set QUIET on
SELECT count(*) AS rows, count(DISTINCT deleted_batch) AS batches
  FROM parts WHERE id IN (5, 15);

-- Cases the view's INSTEAD OF trigger used to take, now on the one path:
-- a table that foreign keys reference (the cascade trigger follows them) ...
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE);
INSERT INTO parent VALUES (1);
INSERT INTO child VALUES (1, 1);
SELECT rowkeeper.enable_soft_delete('parent'), rowkeeper.enable_soft_delete('child');
EXPLAIN (COSTS OFF) DELETE FROM parent WHERE id = 1;
DELETE FROM parent WHERE id = 1;
SELECT id, deleted_at IS NOT NULL AS marked FROM child;
-- ... a foreign key added after a DELETE was prepared: the plan is made
-- again, and the new child is marked with its parent
CREATE TABLE later_parent (id int PRIMARY KEY);
INSERT INTO later_parent VALUES (1), (2);
SELECT rowkeeper.enable_soft_delete('later_parent');
PREPARE del_later(int) AS DELETE FROM later_parent WHERE id = $1;
EXECUTE del_later(1);
CREATE TABLE later_child (id int PRIMARY KEY, parent_id int REFERENCES later_parent ON DELETE CASCADE);
INSERT INTO later_child VALUES (20, 2);
SELECT rowkeeper.enable_soft_delete('later_child');
EXECUTE del_later(2);
SELECT id, deleted_at IS NOT NULL AS marked FROM later_child;
-- ... a trigger of the application's own on deleted_at fires
CREATE TABLE watched (id int PRIMARY KEY);
INSERT INTO watched VALUES (1);
SELECT rowkeeper.enable_soft_delete('watched');
CREATE FUNCTION watched_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE NOTICE 'deleted_at of % set', NEW.id; RETURN NULL; END $$;
CREATE TRIGGER watch AFTER UPDATE OF deleted_at ON watched FOR EACH ROW EXECUTE FUNCTION watched_note();
DELETE FROM watched WHERE id = 1;
DROP TABLE later_child, later_parent, watched;
DROP FUNCTION watched_note();
DEALLOCATE del_later;
-- ... a BEFORE UPDATE trigger (updated_at) that changes the row, with and
-- without RETURNING (a column added later needs no enable_soft_delete again)
ALTER TABLE fast ADD COLUMN updated_at timestamptz DEFAULT '2000-01-01';
SELECT rowkeeper.enable_updated_at('fast');
EXPLAIN (COSTS OFF) DELETE FROM fast WHERE id = 21 RETURNING id;
DELETE FROM fast WHERE id = 21 RETURNING id, deleted_at;
SELECT id, updated_at > '2000-01-01' AS touched FROM fast WHERE id = 21;
-- ... a sub-select in RETURNING reads the row as it was too, and WHERE
-- CURRENT OF marks the cursor's row
\set QUIET off
DELETE FROM slow WHERE id = 21 RETURNING (SELECT slow.deleted_at) IS NULL AS was_live;
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM fast WHERE id = 20;
FETCH c;
DELETE FROM fast WHERE CURRENT OF c;
SELECT id, deleted_at IS NOT NULL AS marked FROM fast WHERE id = 20;
ROLLBACK;
\set QUIET on

-- Reads hide the deleted rows on every path, for the application (a role
-- without rowkeeper_see_deleted): joins, subqueries, WITH, views and SQL
-- and PL/pgSQL functions over the table, COPY (SELECT ...), cursors,
-- prepared statements.  The plan of a simple read is the hand-written one:
-- "deleted_at IS NULL" and the primary key.
CREATE TABLE reads (id int PRIMARY KEY, grp int, name text);
INSERT INTO reads SELECT g, g % 3, 'r' || g FROM generate_series(1, 12) g;
SELECT rowkeeper.enable_soft_delete('reads');
DELETE FROM reads WHERE id IN (3, 4, 5);
CREATE FUNCTION sd_reads() RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT format('%s', array_agg(r.id ORDER BY r.id)) FROM (SELECT * FROM reads) r;
    RETURN QUERY SELECT format('%s', array_agg(id ORDER BY id)) FROM reads r WHERE r.grp = 1;
    RETURN QUERY SELECT format('%s', (SELECT count(*) FROM reads), (SELECT max(name) FROM reads WHERE id < 6));
    RETURN QUERY SELECT format('%s', array_agg(r.id ORDER BY r.id)) FROM reads r
                  WHERE EXISTS (SELECT FROM reads r2 WHERE r2.id = r.id + 1 AND r2.grp <> r.grp);
    RETURN QUERY SELECT format('%s', array_agg(x ORDER BY x)) FROM (SELECT r.id FROM reads r WHERE id > 9) s(x);
    RETURN QUERY SELECT format('%s', array_agg(a.id ORDER BY a.id)) FROM reads a JOIN reads b ON b.id = a.id + 6;
    RETURN QUERY SELECT format('%s', array_agg(a.id || '/' || b.id ORDER BY a.id)) FROM reads a, reads b
                  WHERE b.id = a.id * 2;
    RETURN QUERY WITH w AS (SELECT id FROM reads WHERE id < 7) SELECT format('%s', array_agg(id ORDER BY id)) FROM w;
    RETURN QUERY SELECT format('%s', array_agg(id ORDER BY id)) FROM reads_view;
    RETURN QUERY SELECT format('%s', sd_reads_sql());
END $$;
CREATE VIEW reads_view AS SELECT id FROM reads WHERE id BETWEEN 2 AND 6;
CREATE FUNCTION sd_reads_sql() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM reads $$;
CREATE ROLE rk_reader;
GRANT SELECT ON reads, reads_view TO rk_reader;
SET ROLE rk_reader;
EXPLAIN (COSTS OFF) SELECT name FROM reads r WHERE r.id = 6;
SELECT * FROM sd_reads();
COPY (SELECT id FROM reads WHERE id < 7 ORDER BY id) TO STDOUT;
BEGIN;
DECLARE rc CURSOR FOR SELECT id FROM reads WHERE id < 7 ORDER BY id;
FETCH ALL rc;
COMMIT;
PREPARE rd(int) AS SELECT count(*) FROM reads WHERE id < $1;
EXECUTE rd(7);
-- the deleted rows to an admin: switch and role
SET rowkeeper.show_deleted = on;
EXECUTE rd(7);
RESET ROLE;
GRANT rowkeeper_see_deleted TO rk_reader;
SET ROLE rk_reader;
EXECUTE rd(7);                  -- re-planned: the switch is on and the role a member
SELECT * FROM sd_reads();
RESET rowkeeper.show_deleted;
EXECUTE rd(7);                  -- and hidden again once it is off
RESET ROLE;
REVOKE rowkeeper_see_deleted FROM rk_reader;
-- views defined over the table read it as any view
CREATE VIEW reads_names AS SELECT name FROM reads WHERE grp = 2;
-- (column qualifiers dropped: 16 on deparses a one-table view without them)
SELECT regexp_replace(pg_get_viewdef('reads_names'::regclass), '\mreads\.', '', 'g') AS definition;
GRANT SELECT ON reads_names TO rk_reader;
SET ROLE rk_reader;
SELECT count(*) FROM reads_names;
RESET ROLE;
DROP VIEW reads_names, reads_view;
SELECT rowkeeper.disable_soft_delete('reads', force => true);
DROP TABLE reads;
DROP FUNCTION sd_reads(), sd_reads_sql();
DROP ROLE rk_reader;

-- Row-level security of the table applies: a tenant marks and reads only
-- its own rows (forced RLS, as tenant isolation sets it up)
CREATE TABLE notes (id int PRIMARY KEY, tenant text NOT NULL, body text);
INSERT INTO notes VALUES (1, 'a', 'a1'), (2, 'b', 'b2'), (3, 'a', 'a3'), (4, 'b', 'b4');
ALTER TABLE notes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY by_tenant ON notes USING (tenant = current_setting('app.tenant'))
    WITH CHECK (tenant = current_setting('app.tenant'));
CREATE ROLE rk_tenant_role;
GRANT SELECT, UPDATE, DELETE ON notes TO rk_tenant_role;
SELECT rowkeeper.enable_soft_delete('notes');
SET ROLE rk_tenant_role;
SET app.tenant = 'a';
\set QUIET off
DELETE FROM notes WHERE id IN (1, 2) RETURNING id, tenant;
DELETE FROM notes WHERE id IN (3, 4) RETURNING id, tenant;
\set QUIET on
SET app.tenant = 'b';
SELECT id, body FROM notes ORDER BY id;
RESET app.tenant;
RESET ROLE;
SELECT id, tenant, deleted_at IS NOT NULL AS marked FROM notes ORDER BY id;
SELECT rowkeeper.disable_soft_delete('notes', force => true);
DROP TABLE notes;
DROP ROLE rk_tenant_role;

-- Column-level grants: a soft DELETE needs what a DELETE needs, DELETE on
-- the table and SELECT of the columns WHERE and RETURNING read (security
-- issue finding 10: a column the role may not read stays unreadable).
-- Each statement runs as rk_col, rolled back.
CREATE TABLE cg (id int PRIMARY KEY, title text, secret text);
INSERT INTO cg SELECT g, 't' || g, 's' || g FROM generate_series(1, 3) g;
SELECT rowkeeper.enable_soft_delete('cg');
CREATE ROLE rk_col;
CREATE FUNCTION sd_try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    outcome text;
BEGIN
    BEGIN
        SET LOCAL ROLE rk_col;
        EXECUTE stmt;
        outcome := 'ok';
        RAISE EXCEPTION 'undo';
    EXCEPTION
        WHEN insufficient_privilege THEN GET STACKED DIAGNOSTICS outcome = MESSAGE_TEXT;
        WHEN raise_exception THEN NULL;
    END;
    RETURN outcome;
END $$;
CREATE FUNCTION sd_grants_matrix() RETURNS TABLE (stmt text, outcome text)
LANGUAGE sql AS $$
    SELECT s, sd_try(s)
      FROM unnest(ARRAY['DELETE FROM cg WHERE id = 1',
                        'DELETE FROM cg WHERE id = 1 RETURNING id, title',
                        'DELETE FROM cg WHERE id = 1 RETURNING secret',
                        'DELETE FROM cg WHERE secret = ''s1''',
                        'SELECT title FROM cg WHERE id = 1']) WITH ORDINALITY u(s, i) ORDER BY i
$$;
-- the table's columns granted one by one, "secret" left out
GRANT DELETE, SELECT (id, title) ON cg TO rk_col;
SELECT * FROM sd_grants_matrix();
-- SELECT on the whole table
GRANT SELECT ON cg TO rk_col;
SELECT * FROM sd_grants_matrix();
-- no DELETE: nothing is marked
REVOKE DELETE ON cg FROM rk_col;
SELECT * FROM sd_grants_matrix();
SELECT count(*) AS marked FROM cg WHERE deleted_at IS NOT NULL;
SELECT rowkeeper.disable_soft_delete('cg');
DROP TABLE cg;
DROP FUNCTION sd_grants_matrix(), sd_try(text);
DROP ROLE rk_col;

-- Prisma's "deletedAt" timestamp(3) without time zone: written in UTC,
-- whatever the session's TimeZone, by the DELETE and into cascaded
-- children; time_zone => 'session' keeps the session's
-- local time (migrations issue 4).  Compared at the column's precision.
CREATE TABLE "Doc" (id int PRIMARY KEY, "deletedAt" timestamp(3), "deletedBatch" bigint);
CREATE TABLE "Folder" (id int PRIMARY KEY, "deletedAt" timestamp(3), "deletedBatch" bigint);
CREATE TABLE "Item" (id int PRIMARY KEY, folder int REFERENCES "Folder" ON DELETE CASCADE,
                     "deletedAt" timestamp(3), "deletedBatch" bigint);
CREATE TABLE "DocLocal" (id int PRIMARY KEY, "deletedAt" timestamp(3), "deletedBatch" bigint);
INSERT INTO "Doc" SELECT g FROM generate_series(1, 4) g;
INSERT INTO "Folder" VALUES (1);
INSERT INTO "Item" VALUES (1, 1), (2, 1);
INSERT INTO "DocLocal" VALUES (1);
SELECT rowkeeper.enable_soft_delete(t, 'deletedAt', batch_column => 'deletedBatch')
  FROM unnest('{"\"Doc\"","\"Folder\"","\"Item\""}'::regclass[]) t;
SELECT rowkeeper.enable_soft_delete('"DocLocal"', 'deletedAt', batch_column => 'deletedBatch',
                                    time_zone => 'session');
SELECT tgrelid::regclass, rowkeeper._trigger_args(tgargs) AS args FROM pg_trigger
 WHERE tgname = 'rowkeeper_soft_delete' AND tgrelid::regclass::text IN
       ('"Doc"', '"DocLocal"', 'fast') ORDER BY tgrelid::regclass::text COLLATE "C";
EXPLAIN (COSTS OFF) DELETE FROM "Doc" WHERE id = 1;
SET TimeZone = 'America/New_York';
BEGIN;
DELETE FROM "Doc" WHERE id = 1;
DELETE FROM "Doc" WHERE id = 2;
DELETE FROM "Folder" WHERE id = 1;              -- cascading into "Item"
DELETE FROM "DocLocal" WHERE id = 1;            -- session time
SELECT 'Doc' AS t, id, "deletedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3) AS utc,
       "deletedAt" = now()::timestamp(3) AS local FROM "Doc" WHERE "deletedAt" IS NOT NULL
UNION ALL
SELECT 'Item', id, "deletedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3),
       "deletedAt" = now()::timestamp(3) FROM "Item" WHERE "deletedAt" IS NOT NULL
UNION ALL
SELECT 'DocLocal', id, "deletedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3),
       "deletedAt" = now()::timestamp(3) FROM "DocLocal" WHERE "deletedAt" IS NOT NULL
ORDER BY 1, 2;
DELETE FROM "DocLocal" WHERE id = 1;            -- already deleted: nothing
COMMIT;
-- the grace-period purge compares the UTC values as UTC: in Tokyo (UTC+9)
-- rows deleted just now are not an hour old, a row deleted two hours ago is
CREATE INDEX ON "Doc" ("deletedAt");
UPDATE "Doc" SET "deletedAt" = (now() AT TIME ZONE 'UTC') - interval '2 hours' WHERE id = 2;
SET TimeZone = 'Asia/Tokyo';
CALL rowkeeper.purge_soft_deleted('"Doc"', older_than => '1 hour') \gset tz_
SELECT id, "deletedAt" IS NOT NULL AS deleted FROM "Doc" ORDER BY id;
RESET TimeZone;
SELECT rowkeeper.disable_soft_delete(t, force => true)
  FROM unnest('{"\"Item\"","\"Folder\"","\"Doc\"","\"DocLocal\""}'::regclass[]) t;
DROP TABLE "Item", "Folder", "Doc", "DocLocal";

-- the setting is a user setting, and defaults to on
SELECT setting, context FROM pg_settings WHERE name = 'rowkeeper.soft_delete_rewrite';

RESET rowkeeper.actor;
SELECT rowkeeper.disable_soft_delete(t, force => true)
  FROM unnest(ARRAY['fast', 'slow', 'parts', 'child', 'parent']::regclass[]) t;
DROP TABLE fast, slow, parts, child, parent, doomed;
-- for soft_delete_unloaded, which runs in a session that has not loaded the
-- library: a soft-delete table with a live row and a deleted one, and a
-- plain table whose ON DELETE CASCADE key reaches it
CREATE TABLE unl_parent (id int PRIMARY KEY);
CREATE TABLE unl (id int PRIMARY KEY, parent_id int REFERENCES unl_parent ON DELETE CASCADE, name text);
INSERT INTO unl_parent VALUES (1);
INSERT INTO unl VALUES (1, NULL, 'live'), (2, NULL, 'deleted'), (3, 1, 'child');
SELECT rowkeeper.enable_soft_delete('unl');
DELETE FROM unl WHERE id = 2;
DROP FUNCTION sd_setup(text), sd_state(text), sd_plpgsql(text, int);
DROP ROLE rk_rw_app, rk_no_delete, rk_no_update;
