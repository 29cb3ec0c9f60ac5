-- soft_delete_rewrite: the fast path of soft delete.  With the library
-- loaded before a DELETE on a soft-delete view is parsed (here: LOAD; in
-- production: shared_preload_libraries), the DELETE runs as the UPDATE that
-- marks the rows, in one executor cycle, and still says "DELETE n".  Each
-- case runs on two identical tables: "fast" through the rewrite, "slow"
-- with rowkeeper.soft_delete_rewrite = off, i.e. through the view's INSTEAD
-- OF trigger.  The two must agree in everything the application sees.
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
        '  FROM %I ORDER BY id', t || '_with_deleted');
END $$;

-- The plans: the fast path updates the base table (no trigger on the view
-- runs); with the setting off, the DELETE goes to the view and its trigger.
EXPLAIN (COSTS OFF) DELETE FROM fast WHERE id = 1;
SET rowkeeper.soft_delete_rewrite = off;
EXPLAIN (COSTS OFF) DELETE FROM slow WHERE id = 1;
RESET rowkeeper.soft_delete_rewrite;

\set QUIET off
-- one row, RETURNING *: "DELETE 1", the row as it was (bookkeeping NULL)
DELETE FROM fast WHERE id = 1 RETURNING *;
SET rowkeeper.soft_delete_rewrite = off;
DELETE FROM slow WHERE id = 1 RETURNING *;
RESET rowkeeper.soft_delete_rewrite;
-- again: gone for the application, "DELETE 0"
DELETE FROM fast WHERE id = 1;
SET rowkeeper.soft_delete_rewrite = off;
DELETE FROM slow WHERE id = 1;
RESET rowkeeper.soft_delete_rewrite;
-- several rows in one statement (one key missing), RETURNING an expression
DELETE FROM fast WHERE id IN (2, 3, 99) RETURNING id, upper(name) AS name, n + 1 AS next;
SET rowkeeper.soft_delete_rewrite = off;
DELETE FROM slow WHERE id IN (2, 3, 99) RETURNING id, upper(name) AS name, n + 1 AS next;
RESET rowkeeper.soft_delete_rewrite;
-- USING another table, and a writable CTE reading the result
CREATE TABLE doomed (id int);
INSERT INTO doomed VALUES (4), (5);
DELETE FROM fast f USING doomed d WHERE f.id = d.id AND d.id = 4 RETURNING f.id, d.id AS doomed_id;
SET rowkeeper.soft_delete_rewrite = off;
DELETE FROM slow s USING doomed d WHERE s.id = d.id AND d.id = 4 RETURNING s.id, d.id AS doomed_id;
RESET rowkeeper.soft_delete_rewrite;
-- a prepared statement keeps the plan it was prepared with
PREPARE del_fast(int) AS DELETE FROM fast WHERE id = $1;
SET rowkeeper.soft_delete_rewrite = off;
PREPARE del_slow(int) AS DELETE FROM slow WHERE id = $1;
RESET rowkeeper.soft_delete_rewrite;
EXECUTE del_fast(5);
EXECUTE del_slow(5);
EXECUTE del_fast(5);
EXECUTE del_slow(5);
\set QUIET on

-- both tables hold the same marks; one batch per statement, a new one for
-- each statement
SELECT f.*, f IS NOT DISTINCT FROM s AS same
  FROM sd_state('fast') f JOIN sd_state('slow') s USING (id) ORDER BY id;

-- deleted_at is the transaction's time, deleted_by the actor or the user
BEGIN;
SELECT rowkeeper.set_context(actor => 'alice');
DELETE FROM fast WHERE id = 6;
SELECT deleted_at = now() AS now, deleted_by FROM fast_with_deleted WHERE id = 6;
COMMIT;
CREATE ROLE rk_rw_app;
GRANT SELECT, UPDATE, DELETE ON fast, fast_with_deleted, slow, slow_with_deleted TO rk_rw_app;
SET ROLE rk_rw_app;
DELETE FROM fast WHERE id = 7;
RESET ROLE;
SELECT deleted_by FROM fast_with_deleted WHERE id = 7;

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
SET rowkeeper.soft_delete_rewrite = off;
SELECT sd_plpgsql('slow', 8);
RESET rowkeeper.soft_delete_rewrite;

-- Privileges are those of the DELETE the caller wrote: DELETE on the view,
-- and UPDATE of the marked columns on the table (the marking is an update).
INSERT INTO fast (id, name) VALUES (20, 'p'), (21, 'q');
INSERT INTO slow (id, name) VALUES (20, 'p'), (21, 'q');
CREATE ROLE rk_no_delete;
GRANT SELECT, UPDATE ON fast, fast_with_deleted, slow, slow_with_deleted TO rk_no_delete;
CREATE ROLE rk_no_update;
GRANT SELECT, DELETE ON fast, fast_with_deleted, slow, slow_with_deleted TO rk_no_update;
SET ROLE rk_no_delete;
DELETE FROM fast WHERE id = 20;
SET rowkeeper.soft_delete_rewrite = off;
DELETE FROM slow WHERE id = 20;
RESET rowkeeper.soft_delete_rewrite;
SET ROLE rk_no_update;
DELETE FROM fast WHERE id = 20;
SET rowkeeper.soft_delete_rewrite = off;
DELETE FROM slow WHERE id = 20;
RESET rowkeeper.soft_delete_rewrite;
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

-- a table whose columns are not where the view's are (a dropped column):
-- the condition and RETURNING read the right ones
CREATE TABLE gaps (dropped int, id int PRIMARY KEY, name text);
ALTER TABLE gaps DROP COLUMN dropped;
INSERT INTO gaps VALUES (1, 'one'), (2, 'two');
SELECT rowkeeper.enable_soft_delete('gaps');
EXPLAIN (COSTS OFF) DELETE FROM gaps g WHERE g.name = 'two' RETURNING *, g.id * 10 AS tenfold;
\set QUIET off
DELETE FROM gaps g WHERE g.name = 'two' RETURNING *, g.id * 10 AS tenfold;
\set QUIET on
SELECT id, name, deleted_at IS NOT NULL AS marked FROM gaps_with_deleted ORDER BY id;
SELECT rowkeeper.disable_soft_delete('gaps', force => true);
DROP TABLE gaps;

-- the internal functions work only inside the statement they belong to
SELECT rowkeeper._soft_delete_batch();
SELECT rowkeeper._soft_delete_who();
-- ... and an UPDATE through the view stays an UPDATE
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
-- RETURNING on a partitioned table goes through the trigger (a partition
-- may have BEFORE UPDATE triggers of its own); same answer
DELETE FROM parts WHERE id IN (6, 16) RETURNING id, name, deleted_at;
\set QUIET on
SELECT count(*) AS rows, count(DISTINCT deleted_batch) AS batches
  FROM parts_with_deleted WHERE id IN (5, 15);

-- When the trigger is needed, it does the work (the DELETE is left alone):
-- a table that foreign keys reference (cascade and restrict) ...
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE);
INSERT INTO parent VALUES (1);
INSERT INTO child VALUES (1, 1);
SELECT rowkeeper.enable_soft_delete('parent'), rowkeeper.enable_soft_delete('child');
EXPLAIN (COSTS OFF) DELETE FROM parent WHERE id = 1;
DELETE FROM parent WHERE id = 1;
SELECT id, deleted_at IS NOT NULL AS marked FROM child_with_deleted;
-- ... RETURNING when a BEFORE UPDATE trigger (updated_at) changes the row
-- (without RETURNING the fast path runs, and updated_at is kept true)
ALTER TABLE fast_with_deleted ADD COLUMN updated_at timestamptz DEFAULT '2000-01-01';
SELECT rowkeeper.enable_updated_at('fast_with_deleted');
SELECT rowkeeper.enable_soft_delete('fast', deleted_by_column => 'deleted_by');
EXPLAIN (COSTS OFF) DELETE FROM fast WHERE id = 21 RETURNING id;
EXPLAIN (COSTS OFF) DELETE FROM fast WHERE id = 21;
DELETE FROM fast WHERE id = 21;
SELECT id, updated_at > '2000-01-01' AS touched FROM fast_with_deleted WHERE id = 21;
-- ... a whole-row reference or a sub-select in RETURNING, WHERE CURRENT OF
EXPLAIN (COSTS OFF) DELETE FROM slow WHERE id = 21 RETURNING slow;
EXPLAIN (COSTS OFF) DELETE FROM slow WHERE id = 21 RETURNING (SELECT slow.deleted_at);
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM fast WHERE id = 20;
FETCH c;
DELETE FROM fast WHERE CURRENT OF c;
ROLLBACK;
-- ... a view that is not the one enable_soft_delete made
CREATE OR REPLACE VIEW slow WITH (security_invoker = true, check_option = local) AS
    SELECT * FROM slow_with_deleted WHERE deleted_at IS NULL;
EXPLAIN (COSTS OFF) DELETE FROM slow WHERE id = 21;
DELETE FROM slow WHERE id = 21;
SELECT id, deleted_at IS NOT NULL AS marked FROM slow_with_deleted WHERE id = 21;

-- Reads: a SELECT with a soft-delete view in its FROM list reads the table
-- with "deleted_at IS NULL" (the alias then names the table's scan); with
-- the setting off, PostgreSQL expands the view.  Same rows either way.
CREATE TABLE reads (id int PRIMARY KEY, grp int, name text);
INSERT INTO reads SELECT g, g % 3, 'r' || g FROM generate_series(1, 12) g;
SELECT rowkeeper.enable_soft_delete('reads');
DELETE FROM reads WHERE id IN (3, 4, 5);
CREATE FUNCTION sd_reads() RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT format('%s', array_agg(r ORDER BY r.id)) FROM (SELECT * FROM reads) r;
    RETURN QUERY SELECT format('%s', array_agg(id ORDER BY id)) FROM reads r WHERE r.grp = 1;
    RETURN QUERY SELECT format('%s', (SELECT count(*) FROM reads), (SELECT max(name) FROM reads WHERE id < 6));
    RETURN QUERY SELECT format('%s', array_agg(r.id ORDER BY r.id)) FROM reads r
                  WHERE EXISTS (SELECT FROM reads r2 WHERE r2.id = r.id + 1 AND r2.grp <> r.grp);
    RETURN QUERY SELECT format('%s', array_agg(x ORDER BY x)) FROM (SELECT r FROM reads r WHERE id > 9) s(x);
    RETURN QUERY SELECT format('%s', array_agg(a.id ORDER BY a.id)) FROM reads a JOIN reads b ON b.id = a.id + 6;
    RETURN QUERY SELECT format('%s', array_agg(a.id || '/' || b.id ORDER BY a.id)) FROM reads a, reads b
                  WHERE b.id = a.id * 2;
END $$;
EXPLAIN (COSTS OFF) SELECT name FROM reads r WHERE r.id = 6;
SELECT * FROM sd_reads();
SET rowkeeper.soft_delete_rewrite = off;
DISCARD PLANS;     -- the function's queries are parsed again
EXPLAIN (COSTS OFF) SELECT name FROM reads r WHERE r.id = 6;
SELECT * FROM sd_reads();
RESET rowkeeper.soft_delete_rewrite;
-- privileges: SELECT on the view for the caller, SELECT on the table's
-- columns read for the invoker (security_invoker), both ways
CREATE ROLE rk_view_only;
GRANT SELECT ON reads TO rk_view_only;
SET ROLE rk_view_only;
SELECT count(*) FROM reads;
SET rowkeeper.soft_delete_rewrite = off;
SELECT count(*) FROM reads;
RESET rowkeeper.soft_delete_rewrite;
RESET ROLE;
GRANT SELECT ON reads_with_deleted TO rk_view_only;
REVOKE SELECT ON reads FROM rk_view_only;
SET ROLE rk_view_only;
SELECT count(*) FROM reads;
SET rowkeeper.soft_delete_rewrite = off;
SELECT count(*) FROM reads;
RESET rowkeeper.soft_delete_rewrite;
RESET ROLE;
GRANT SELECT ON reads TO rk_view_only;
SET ROLE rk_view_only;
SELECT count(*) FROM reads;
RESET ROLE;
-- a view defined over the soft-delete view keeps reading it
CREATE VIEW reads_names AS SELECT name FROM reads WHERE grp = 2;
-- (column qualifiers dropped: 16 on deparses a one-table view without them)
SELECT regexp_replace(pg_get_viewdef('reads_names'::regclass), '\mreads\.', '', 'g') AS definition;
SELECT count(*) FROM reads_names;
DROP VIEW reads_names;
SELECT rowkeeper.disable_soft_delete('reads', force => true);
DROP TABLE reads;
DROP FUNCTION sd_reads();
DROP ROLE rk_view_only;

-- Row-level security of the table applies on both paths: a tenant marks
-- and reads only its own rows (forced RLS, as tenant isolation sets it up)
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
SET rowkeeper.soft_delete_rewrite = off;
DELETE FROM notes WHERE id IN (3, 4) RETURNING id, tenant;
RESET rowkeeper.soft_delete_rewrite;
\set QUIET on
SET app.tenant = 'b';
SELECT id, body FROM notes ORDER BY id;
SET rowkeeper.soft_delete_rewrite = off;
SELECT id, body FROM notes ORDER BY id;
RESET rowkeeper.soft_delete_rewrite;
RESET app.tenant;
RESET ROLE;
SELECT id, tenant, deleted_at IS NOT NULL AS marked FROM notes_with_deleted ORDER BY id;
SELECT rowkeeper.disable_soft_delete('notes', force => true);
DROP TABLE notes;
DROP ROLE rk_tenant_role;

-- Column-level grants: both paths need the same privileges.  The view
-- needs DELETE and SELECT of the columns WHERE and RETURNING read, as a
-- DELETE on a table does; the table SELECT of every column the view shows
-- (PostgreSQL's expansion of the view, on the trigger path, reads them all)
-- and UPDATE of the marked columns.  The fast path used to check only the
-- table's columns the statement read, so a role without SELECT on "secret"
-- could delete (and read) through it but not through the trigger (security
-- issue finding 10).  Each statement runs both ways, as rk_col, rolled back.
CREATE TABLE cg (id int PRIMARY KEY, title text, secret text);
INSERT INTO cg SELECT g, 't' || g, 's' || g FROM generate_series(1, 3) g;
SELECT rowkeeper.enable_soft_delete('cg');
CREATE ROLE rk_col;
CREATE FUNCTION sd_try(stmt text) RETURNS TABLE (fast text, via_trigger text)
LANGUAGE plpgsql AS $$
DECLARE
    p text;
    outcome text;
BEGIN
    FOREACH p IN ARRAY ARRAY['on', 'off'] LOOP
        BEGIN
            PERFORM set_config('rowkeeper.soft_delete_rewrite', p, true);
            SET LOCAL ROLE rk_col;
            EXECUTE stmt;
            outcome := 'ok';
            RAISE EXCEPTION 'undo';
        EXCEPTION
            WHEN insufficient_privilege THEN GET STACKED DIAGNOSTICS outcome = MESSAGE_TEXT;
            WHEN raise_exception THEN NULL;
        END;
        IF p = 'on' THEN fast := outcome; ELSE via_trigger := outcome; END IF;
    END LOOP;
    RETURN NEXT;
END $$;
CREATE FUNCTION sd_grants_matrix() RETURNS TABLE (stmt text, fast text, via_trigger text, same boolean)
LANGUAGE sql AS $$
    SELECT s, t.fast, t.via_trigger, t.fast IS NOT DISTINCT FROM t.via_trigger
      FROM unnest(ARRAY['DELETE FROM cg WHERE id = 1',
                        'DELETE FROM cg WHERE id = 1 RETURNING id, title',
                        'DELETE FROM cg WHERE id = 1 RETURNING secret',
                        'DELETE FROM cg WHERE secret = ''s1''',
                        'SELECT title FROM cg WHERE id = 1']) WITH ORDINALITY u(s, i),
           sd_try(s) t ORDER BY i
$$;
-- the table's columns granted one by one, "secret" left out
GRANT DELETE, SELECT (id, title) ON cg TO rk_col;
GRANT SELECT (id, title, deleted_at), UPDATE (deleted_at, deleted_batch) ON cg_with_deleted TO rk_col;
SELECT * FROM sd_grants_matrix();
-- SELECT on the whole table: what the view lets the role read decides
GRANT SELECT ON cg_with_deleted TO rk_col;
SELECT * FROM sd_grants_matrix();
-- no UPDATE of the batch column: the marking cannot be written
REVOKE UPDATE (deleted_batch) ON cg_with_deleted FROM rk_col;
SELECT * FROM sd_grants_matrix();
SELECT count(*) AS marked FROM cg_with_deleted WHERE deleted_at IS NOT NULL;
SELECT rowkeeper.disable_soft_delete('cg');
DROP TABLE cg;
DROP FUNCTION sd_grants_matrix(), sd_try(text);
DROP ROLE rk_col;

-- Prisma's "deletedAt" timestamp(3) without time zone: written in UTC,
-- whatever the session's TimeZone, on the fast path, through the trigger
-- and into cascaded children; time_zone => 'session' keeps the session's
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
       ('"Doc_with_deleted"', '"DocLocal_with_deleted"', 'fast_with_deleted') ORDER BY 1::text;
EXPLAIN (COSTS OFF) DELETE FROM "Doc" WHERE id = 1;
SET TimeZone = 'America/New_York';
BEGIN;
DELETE FROM "Doc" WHERE id = 1;                 -- fast path
SET LOCAL rowkeeper.soft_delete_rewrite = off;
DELETE FROM "Doc" WHERE id = 2;                 -- the trigger
DELETE FROM "Folder" WHERE id = 1;              -- the trigger, cascading into "Item"
SET LOCAL rowkeeper.soft_delete_rewrite = on;
DELETE FROM "DocLocal" WHERE id = 1;            -- fast path, session time
SELECT 'Doc' AS t, id, "deletedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3) AS utc,
       "deletedAt" = now()::timestamp(3) AS local FROM "Doc_with_deleted" WHERE "deletedAt" IS NOT NULL
UNION ALL
SELECT 'Item', id, "deletedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3),
       "deletedAt" = now()::timestamp(3) FROM "Item_with_deleted" WHERE "deletedAt" IS NOT NULL
UNION ALL
SELECT 'DocLocal', id, "deletedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3),
       "deletedAt" = now()::timestamp(3) FROM "DocLocal_with_deleted" WHERE "deletedAt" IS NOT NULL
ORDER BY 1, 2;
SET LOCAL rowkeeper.soft_delete_rewrite = off;
DELETE FROM "DocLocal" WHERE id = 1;            -- already deleted: nothing
COMMIT;
-- the grace-period purge compares the UTC values as UTC: in Tokyo (UTC+9)
-- rows deleted just now are not an hour old, a row deleted two hours ago is
CREATE INDEX ON "Doc_with_deleted" ("deletedAt");
UPDATE "Doc_with_deleted" SET "deletedAt" = (now() AT TIME ZONE 'UTC') - interval '2 hours' WHERE id = 2;
SET TimeZone = 'Asia/Tokyo';
CALL rowkeeper.purge_soft_deleted('"Doc"', older_than => '1 hour') \gset tz_
SELECT id, "deletedAt" IS NOT NULL AS deleted FROM "Doc_with_deleted" ORDER BY id;
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
DROP FUNCTION sd_setup(text), sd_state(text), sd_plpgsql(text, int);
DROP ROLE rk_rw_app, rk_no_delete, rk_no_update;
