-- hardening_names: identifiers with quotes, dots, %, spaces, unicode and
-- 63-byte truncation collisions pass through every enable_*/disable_*,
-- purge_* and audit query function without injection and without acting
-- on the wrong object.
--
-- Decoys sit where a mis-quoted name would land: schema "x" with table
-- "y" next to table "x.y" of schema public; schema "my" with table
-- "table" next to table "my table"; tables named like the schema-qualified
-- spelling of another.  After everything ran, the decoys carry no
-- trigger, policy or index of rowkeeper and their rows are untouched.
SET client_min_messages = warning;
CREATE SCHEMA x;
CREATE SCHEMA my;
CREATE TABLE x.y (id int PRIMARY KEY, tenant_id text, updated_at timestamptz);
CREATE TABLE my."table" (id int PRIMARY KEY, tenant_id text, updated_at timestamptz);
CREATE TABLE public.a (id int PRIMARY KEY, tenant_id text, updated_at timestamptz);
INSERT INTO x.y VALUES (1, 'acme', NULL);
INSERT INTO my."table" VALUES (1, 'acme', NULL);
INSERT INTO public.a VALUES (1, 'acme', NULL);

-- Schemas with the same oddities, and tables in them.
CREATE SCHEMA "we""ird";
CREATE SCHEMA "s.p";
CREATE SCHEMA "50%";
CREATE SCHEMA "my schema";
CREATE SCHEMA "schémä";
CREATE TEMP TABLE odd (nsp name, rel name);
INSERT INTO odd VALUES
    ('public', 'a"b'), ('public', 'x.y'), ('public', '100%'), ('public', 'my table'),
    ('public', 'tëst_ünïcode'), ('we"ird', 'a"b'), ('s.p', 'x.y'), ('50%', '100%'),
    ('my schema', 'my table'), ('schémä', 'tëst_ünïcode'),
    ('public', 'Robert''); DROP TABLE public.a; --');
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT * FROM odd LOOP
        EXECUTE format('CREATE TABLE %I.%I (id int PRIMARY KEY, "tenant id" text NOT NULL, '
                       '"updatedAt" timestamptz, "expires at" timestamptz, v text)', o.nsp, o.rel);
        EXECUTE format('CREATE INDEX ON %I.%I ("expires at")', o.nsp, o.rel);
        EXECUTE format('CREATE TABLE %I.%I (id int PRIMARY KEY, "deleted at" timestamptz, '
                       '"deleted batch" bigint, v text)', o.nsp, 'sd ' || o.rel);
        EXECUTE format('CREATE INDEX ON %I.%I ("deleted at")', o.nsp, 'sd ' || o.rel);
    END LOOP;
END;
$$;

-- Every capability on every odd table, through regclass text as a user
-- would type it (quote_ident of each part).
DO $$
DECLARE
    o record;
    t text;
    s text;
BEGIN
    FOR o IN SELECT * FROM odd LOOP
        t := quote_ident(o.nsp) || '.' || quote_ident(o.rel);
        s := quote_ident(o.nsp) || '.' || quote_ident('sd ' || o.rel);
        PERFORM rowkeeper.enable_audit(t, exclude_columns => '{"expires at"}');
        PERFORM rowkeeper.enable_updated_at(t, 'updatedAt');
        PERFORM rowkeeper.enable_tenant_isolation(t, 'tenant id');
        PERFORM rowkeeper.enable_audit(s);
        PERFORM rowkeeper.enable_soft_delete(s, 'deleted at', batch_column => 'deleted batch');
        -- a foreign key added afterwards: the event trigger gives the
        -- table its cascade trigger (the odd names in its WHEN clause)
        EXECUTE format('ALTER TABLE %s ADD COLUMN "parent id" int REFERENCES %s ON DELETE CASCADE', s, s);
    END LOOP;
END;
$$;

-- The relations of this test: the odd ones (tables and soft-delete tables)
-- and the decoys.
CREATE TEMP VIEW odd_rels AS
SELECT c.oid
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'v')
   AND ((n.nspname, c.relname) IN (SELECT nsp, rel FROM odd
                                   UNION ALL SELECT nsp, 'sd ' || rel FROM odd
                                   UNION ALL VALUES ('x', 'y'), ('my', 'table'), ('public', 'a')));

-- What each table got (soft-delete tables keep their names).
SELECT c.oid::regclass AS tbl, string_agg(t.tgname, ', ' ORDER BY t.tgname) AS triggers
  FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
 WHERE c.oid IN (SELECT oid FROM odd_rels)
 GROUP BY c.oid ORDER BY c.oid::regclass::text COLLATE "C";
SELECT polrelid::regclass AS tbl, string_agg(polname, ', ' ORDER BY polname) AS policies
  FROM pg_policy WHERE polrelid IN (SELECT oid FROM odd_rels)
 GROUP BY polrelid ORDER BY polrelid::regclass::text COLLATE "C";
SELECT table_name FROM rowkeeper.audited_tables WHERE table_name IN (SELECT oid FROM odd_rels) ORDER BY table_name::text COLLATE "C";
SELECT table_name, column_name FROM rowkeeper.updated_at_tables WHERE table_name IN (SELECT oid FROM odd_rels) ORDER BY table_name::text COLLATE "C";
SELECT table_name FROM rowkeeper.tenant_isolated_tables WHERE table_name IN (SELECT oid FROM odd_rels) ORDER BY table_name::text COLLATE "C";
SELECT * FROM rowkeeper.soft_delete_tables WHERE table_name IN (SELECT oid FROM odd_rels) ORDER BY table_name::text COLLATE "C";

-- Writes, soft deletes, restores and audit queries on each.
BEGIN;
DO $$
DECLARE
    o record;
    t text;
    s text;
    n bigint;
    j jsonb;
BEGIN
    PERFORM rowkeeper.set_context('bob', 'acme');
    FOR o IN SELECT * FROM odd LOOP
        t := quote_ident(o.nsp) || '.' || quote_ident(o.rel);
        s := quote_ident(o.nsp) || '.' || quote_ident('sd ' || o.rel);
        EXECUTE format('INSERT INTO %s (id, v, "expires at") VALUES (1, ''one'', ''2000-01-01''), (2, ''two'', ''2999-01-01'')', t);
        EXECUTE format('UPDATE %s SET v = ''uno'' WHERE id = 1', t);
        EXECUTE format('INSERT INTO %s (id, v) VALUES (1, ''one''), (2, ''two'')', s);
        EXECUTE format('DELETE FROM %s WHERE id = 1', s);
        EXECUTE format('DELETE FROM %s WHERE id = 2', s);
        PERFORM rowkeeper.restore(s, '{"id": 2}');
        SELECT count(*) INTO n FROM rowkeeper.row_history(t, '{"id": 1}');
        IF n <> 2 THEN RAISE 'row_history of % has % entries', t, n; END IF;
        j := rowkeeper.row_as_of(t, '{"id": 1}', now());
        IF j ->> 'updatedAt' IS NULL OR j ->> 'tenant id' <> 'acme' THEN
            RAISE 'row_as_of of % is %', t, j;
        END IF;
        SELECT count(*) INTO n FROM rowkeeper.changes(t, '-infinity');
        IF n <> 3 THEN RAISE 'changes of % are %', t, n; END IF;
        SELECT count(*) INTO n FROM rowkeeper.row_history(s, '{"id": 1}');
        IF n <> 2 THEN RAISE 'row_history of % has % entries', s, n; END IF;
    END LOOP;
END;
$$;
COMMIT;
SELECT schema_name, table_name, op, count(*)
  FROM rowkeeper.audit_log
 WHERE (schema_name, table_name) IN
       (SELECT nsp, rel FROM odd UNION ALL SELECT nsp, 'sd ' || rel FROM odd)
 GROUP BY 1, 2, 3 ORDER BY schema_name COLLATE "C", table_name COLLATE "C", op;

-- The foreign keys go again: so do the cascade triggers (event trigger).
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT * FROM odd LOOP
        EXECUTE format('ALTER TABLE %I.%I DROP COLUMN "parent id"', o.nsp, 'sd ' || o.rel);
    END LOOP;
END;
$$;
SELECT count(*) AS cascade_triggers_left FROM pg_trigger
 WHERE tgname = 'rowkeeper_soft_delete_cascade' AND tgrelid IN (SELECT oid FROM odd_rels);

-- Purges, dry run then real, on each (procedures: one CALL each).
DO $$
DECLARE
    o record;
    t text;
    s text;
    rid bigint;
BEGIN
    FOR o IN SELECT * FROM odd LOOP
        t := quote_ident(o.nsp) || '.' || quote_ident(o.rel);
        s := quote_ident(o.nsp) || '.' || quote_ident('sd ' || o.rel);
        CALL rowkeeper.purge_expired(t, 'expires at', dry_run => true, run_id => rid);
        CALL rowkeeper.purge_expired(t, 'expires at', where_equals => '{"tenant id": "acme"}', run_id => rid);
        CALL rowkeeper.purge_soft_deleted(s, '0 seconds', dry_run => true, run_id => rid);
        CALL rowkeeper.purge_soft_deleted(s, '0 seconds', run_id => rid);
    END LOOP;
END;
$$;
SELECT target, kind, outcome, rows_deleted, detail
  FROM rowkeeper.purge_runs
 WHERE target IN (SELECT quote_ident(nsp) || '.' || quote_ident(rel) FROM odd
                  UNION ALL SELECT quote_ident(nsp) || '.' || quote_ident('sd ' || rel) FROM odd)
 ORDER BY id;
-- Each odd table kept its live row 2 and lost expired row 1; each
-- soft-delete table kept its restored row 2 only.
BEGIN;
DO $$
DECLARE
    o record;
    ids int[];
BEGIN
    PERFORM rowkeeper.set_context(tenant => 'acme');
    FOR o IN SELECT * FROM odd LOOP
        EXECUTE format('SELECT array_agg(id ORDER BY id) FROM %I.%I', o.nsp, o.rel) INTO ids;
        IF ids IS DISTINCT FROM '{2}' THEN RAISE '%.% holds %', o.nsp, o.rel, ids; END IF;
        EXECUTE format('SELECT array_agg(id ORDER BY id) FROM %I.%I', o.nsp, 'sd ' || o.rel) INTO ids;
        IF ids IS DISTINCT FROM '{2}' THEN RAISE '%.% holds %', o.nsp, 'sd ' || o.rel, ids; END IF;
    END LOOP;
END;
$$;
COMMIT;

-- The decoys were never touched.
SELECT 'x.y' AS decoy, count(*) FROM x.y WHERE updated_at IS NULL
UNION ALL SELECT 'my.table', count(*) FROM my."table" WHERE updated_at IS NULL
UNION ALL SELECT 'public.a', count(*) FROM public.a WHERE updated_at IS NULL;
SELECT c.oid::regclass AS decoy_with_rowkeeper_objects
  FROM pg_class c
 WHERE c.oid IN ('x.y'::regclass, 'my."table"'::regclass, 'public.a'::regclass)
   AND (EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid)
        OR EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)
        OR c.relrowsecurity
        OR (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid) <> 1);

------------------------------------------------------------------------------
-- 63-byte names.  Derived names never collide or get cut short silently.
------------------------------------------------------------------------------
-- updated_at triggers are named after the column; two long column names
-- that share their first 50 bytes get two distinct triggers.
CREATE TABLE long_cols (id int PRIMARY KEY,
    "updated_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1" timestamptz,
    "updated_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2" timestamptz);
SELECT rowkeeper.enable_updated_at('long_cols', 'updated_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1');
SELECT rowkeeper.enable_updated_at('long_cols', 'updated_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2',
                                   on_insert => false);
SELECT column_name, on_insert, length(trigger_name) AS len
  FROM rowkeeper.updated_at_tables WHERE table_name = 'long_cols'::regclass ORDER BY 1;
SELECT count(DISTINCT trigger_name) AS distinct_triggers
  FROM rowkeeper.updated_at_tables WHERE table_name = 'long_cols'::regclass;
INSERT INTO long_cols (id) VALUES (1);
SELECT "updated_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1" IS NOT NULL AS first_set,
       "updated_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2" IS NULL AS second_untouched
  FROM long_cols;
SELECT rowkeeper.disable_updated_at('long_cols', 'updated_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2');
SELECT column_name FROM rowkeeper.updated_at_tables WHERE table_name = 'long_cols'::regclass;
-- A name over 63 bytes is cut by the type name before rowkeeper sees
-- it: both spellings mean the same column, never another
-- (the trigger exists already: nothing changes).
SELECT rowkeeper.enable_updated_at('long_cols', 'updated_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1_and_more');
SELECT count(*) AS triggers FROM rowkeeper.updated_at_tables WHERE table_name = 'long_cols'::regclass;
SELECT rowkeeper.disable_updated_at('long_cols', 'updated_at_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1');
DROP TABLE long_cols;

-- Soft delete keeps the table's name: a name of 63 bytes needs no room
-- for a suffix, and a relation named <name>_with_deleted (0.2.0 drafts
-- renamed tables so) is neither refused nor touched.
CREATE TABLE "sd_tëst_ünïcode_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" (id int PRIMARY KEY,
    deleted_at timestamptz, deleted_batch bigint);
SELECT octet_length('sd_tëst_ünïcode_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa') AS bytes;
SELECT rowkeeper.enable_soft_delete('"sd_tëst_ünïcode_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"');
SELECT * FROM rowkeeper.soft_delete_tables
 WHERE table_name = '"sd_tëst_ünïcode_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"'::regclass;
SELECT rowkeeper.disable_soft_delete('"sd_tëst_ünïcode_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"');
DROP TABLE "sd_tëst_ünïcode_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
CREATE TABLE "99%" (id int PRIMARY KEY, deleted_at timestamptz, deleted_batch bigint);
CREATE TABLE "99%_with_deleted" (id int PRIMARY KEY, deleted_at timestamptz, deleted_batch bigint);
INSERT INTO "99%_with_deleted" VALUES (1, NULL, NULL);
SELECT rowkeeper.enable_soft_delete('"99%"');
SELECT count(*) AS decoy_rows, (SELECT relkind FROM pg_class WHERE relname = '99%') AS still_a_table
  FROM "99%_with_deleted";
SELECT rowkeeper.disable_soft_delete('"99%"');
DROP TABLE "99%", "99%_with_deleted";

-- Clean up: every disable_* on every odd table.
DO $$
DECLARE
    o record;
    t text;
    s text;
BEGIN
    FOR o IN SELECT * FROM odd LOOP
        t := quote_ident(o.nsp) || '.' || quote_ident(o.rel);
        s := quote_ident(o.nsp) || '.' || quote_ident('sd ' || o.rel);
        PERFORM rowkeeper.disable_audit(t);
        PERFORM rowkeeper.disable_updated_at(t, 'updatedAt');
        PERFORM rowkeeper.disable_tenant_isolation(t);
        PERFORM rowkeeper.disable_soft_delete(s, force => true);
        PERFORM rowkeeper.disable_audit(s);
    END LOOP;
END;
$$;
SELECT count(*) AS rowkeeper_triggers_left FROM pg_trigger
 WHERE tgname LIKE 'rowkeeper%' AND tgrelid IN (SELECT oid FROM odd_rels);
SELECT count(*) AS policies_left FROM pg_policy WHERE polrelid IN (SELECT oid FROM odd_rels);
SELECT count(*) AS soft_delete_views_left FROM pg_class c
 WHERE c.oid IN (SELECT oid FROM odd_rels) AND c.relkind = 'v';
DROP VIEW odd_rels;
DROP SCHEMA "we""ird", "s.p", "50%", "my schema", "schémä", x, my CASCADE;
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT * FROM odd WHERE nsp = 'public' LOOP
        EXECUTE format('DROP TABLE %I.%I, %I.%I', o.nsp, o.rel, o.nsp, 'sd ' || o.rel);
    END LOOP;
END;
$$;
DROP TABLE public.a;
