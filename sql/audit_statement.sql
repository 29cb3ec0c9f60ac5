-- audit_statement: enable_audit(mode => 'statement') logs exactly what row
-- mode logs, with one trigger call per statement.
SET TimeZone = 'UTC';

-- Twin tables: row mode and statement mode, same options.
CREATE TABLE items_row (
    id     int PRIMARY KEY,
    sku    text UNIQUE,
    qty    int NOT NULL DEFAULT 0,
    price  numeric,
    secret text,
    note   text
);
CREATE TABLE items_stmt (LIKE items_row INCLUDING ALL);
SELECT rowkeeper.enable_audit('items_row', exclude_columns => '{secret}', redact_columns => '{note}');
SELECT rowkeeper.enable_audit('items_stmt', exclude_columns => '{secret}', redact_columns => '{note}',
                              mode => 'statement');
SELECT table_name, mode, exclude_columns, redact_columns, enabled, since IS NOT NULL AS has_since
  FROM rowkeeper.audited_tables ORDER BY table_name::text;
SELECT tgname, tgtype, tgoldtable, tgnewtable FROM pg_trigger
 WHERE tgrelid = 'items_stmt'::regclass ORDER BY tgname;

-- A user's statement trigger that reads the same transition table first:
-- the audit trigger reads it from the start with its own read pointer.
CREATE TABLE seen (n bigint);
CREATE FUNCTION count_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seen SELECT count(*) FROM newrows;
    RETURN NULL;
END $$;
CREATE TRIGGER a_count AFTER INSERT ON items_stmt REFERENCING NEW TABLE AS newrows
    FOR EACH STATEMENT EXECUTE FUNCTION count_new();

-- The same statements on both tables.
CREATE FUNCTION run_workload(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$INSERT INTO %s SELECT g, 'sku-' || g, g, g * 1.5, 's' || g, 'n' || g
                       FROM generate_series(1, 50) g$q$, tbl);
    EXECUTE format('UPDATE %s SET qty = qty + 1 WHERE id <= 20', tbl);
    EXECUTE format('UPDATE %s SET secret = ''changed'' WHERE id > 40', tbl);   -- excluded only: no entries
    EXECUTE format('UPDATE %s SET qty = qty WHERE id <= 5', tbl);              -- no change: no entries
    EXECUTE format('UPDATE %s SET note = ''hidden'' WHERE id = 7', tbl);       -- redacted: logged, no value
    EXECUTE format('UPDATE %s SET id = id + 1000 WHERE id IN (8, 9)', tbl);   -- key change: old_key
    EXECUTE format('UPDATE %s SET qty = -1 WHERE false', tbl);                -- no rows
    EXECUTE format($q$INSERT INTO %s VALUES (1, 'sku-1', 0, 0, NULL, NULL), (51, 'sku-51', 1, 1, NULL, NULL)
                       ON CONFLICT (id) DO UPDATE SET qty = EXCLUDED.qty + 100$q$, tbl);
    EXECUTE format('DELETE FROM %s WHERE id BETWEEN 30 AND 39', tbl);
    EXECUTE format('COPY %s (id, sku, qty) FROM PROGRAM ''printf "60\tsku-60\t6\n61\tsku-61\t7\n"''', tbl);
END $$;
SELECT run_workload('items_row');
SELECT run_workload('items_stmt');
SELECT n AS rows_seen_by_user_trigger FROM seen ORDER BY n;

-- Entries by operation, and no difference at all between the two logs.
SELECT table_name, op, count(*) FROM rowkeeper.audit_log
 WHERE table_name IN ('items_row', 'items_stmt') GROUP BY 1, 2 ORDER BY 1, 2;
CREATE VIEW log_of AS
SELECT table_name, op, row_key, old_key, old_row, new_row, actor, txid = pg_current_xact_id() AS this_xact
  FROM rowkeeper.audit_log;
(SELECT op, row_key, old_key, old_row, new_row FROM log_of WHERE table_name = 'items_row'
 EXCEPT ALL
 SELECT op, row_key, old_key, old_row, new_row FROM log_of WHERE table_name = 'items_stmt')
UNION ALL
(SELECT op, row_key, old_key, old_row, new_row FROM log_of WHERE table_name = 'items_stmt'
 EXCEPT ALL
 SELECT op, row_key, old_key, old_row, new_row FROM log_of WHERE table_name = 'items_row');
SELECT op, row_key, old_key, old_row, new_row FROM rowkeeper.audit_log
 WHERE table_name = 'items_stmt' AND (old_key IS NOT NULL OR row_key = '{"id": 7}' OR row_key = '{"id": 51}')
 ORDER BY id;

-- Statement mode keeps the context per statement, and require_actor.
SELECT rowkeeper.enable_audit('items_stmt', require_actor => true, mode => 'statement');
UPDATE items_stmt SET qty = 0 WHERE id = 2;
BEGIN;
SELECT rowkeeper.set_context(actor => 'bulk-job');
UPDATE items_stmt SET qty = 0 WHERE id BETWEEN 2 AND 4;
COMMIT;
SELECT row_key, actor FROM rowkeeper.audit_log
 WHERE table_name = 'items_stmt' AND actor IS NOT NULL ORDER BY id;

-- Switching modes keeps "since"; enabling again with the same options
-- changes nothing.
SELECT since AS since_before FROM rowkeeper.audited_tables WHERE table_name = 'items_stmt'::regclass \gset
SELECT rowkeeper.enable_audit('items_stmt');
SELECT mode, since = :'since_before' AS same_since FROM rowkeeper.audited_tables
 WHERE table_name = 'items_stmt'::regclass;
SELECT array_agg(tgname ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'items_stmt'::regclass AND tgname LIKE 'rowkeeper%';
SELECT rowkeeper.enable_audit('items_stmt', mode => 'statement', replicated => true);
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'items_stmt'::regclass AND tgname LIKE 'rowkeeper%' ORDER BY 1;
SELECT xmin AS xmin_before FROM pg_trigger WHERE tgrelid = 'items_stmt'::regclass AND tgname = 'rowkeeper_audit_insert' \gset
SELECT rowkeeper.enable_audit('items_stmt', mode => 'statement', replicated => true);
SELECT xmin = :'xmin_before' AS untouched FROM pg_trigger
 WHERE tgrelid = 'items_stmt'::regclass AND tgname = 'rowkeeper_audit_insert';

-- audit_status reports the mode and drift of any of its triggers.
ALTER TABLE items_stmt DISABLE TRIGGER rowkeeper_audit_update;
SELECT table_name, mode, entries > 0 AS has_entries, row_trigger, truncate_trigger
  FROM rowkeeper.audit_status() WHERE table_name::text LIKE 'items%';
DROP TRIGGER rowkeeper_audit_update ON items_stmt;
SELECT table_name, mode, row_trigger FROM rowkeeper.audit_status() WHERE table_name = 'items_stmt'::regclass;

-- row_ref is rowkeeper.row_ref() of the stored table id and key, equal
-- keys hash alike, and history lookups use the index.
SELECT count(*) > 0 AS has_entries,
       count(*) FILTER (WHERE row_key IS NOT NULL AND
                        row_ref IS DISTINCT FROM rowkeeper.row_ref(table_id, row_key)) AS mismatched,
       count(*) FILTER (WHERE row_key IS NULL AND row_ref IS NOT NULL) AS keyless_with_ref
  FROM rowkeeper.audit_log;
SELECT rowkeeper.row_ref(5, '{"id": 7}') = rowkeeper.row_ref(5, '{"id": 7.0}') AS numeric_equal,
       rowkeeper.row_ref(5, '{"id": 7}') <> rowkeeper.row_ref(6, '{"id": 7}') AS table_differs,
       rowkeeper.row_ref(5, '{}') <> rowkeeper.row_ref(5 + (1::bigint << 32), '{}') AS high_id_bits_count;
-- a one-column integer key keeps its order (neighbouring ids, neighbouring
-- index entries); other keys hash; table_id and row_key decide, never row_ref
SELECT rowkeeper.row_ref(5, '{"id": 8}') - rowkeeper.row_ref(5, '{"id": 7}') AS next_id_step,
       rowkeeper.row_ref(5, '{"id": 1000}') - rowkeeper.row_ref(5, '{"id": 7}') AS id_distance,
       rowkeeper.row_ref(5, '{"id": 7}') >> 32 = rowkeeper.row_ref(5, '{"id": "x"}') >> 32 AS same_table_part,
       rowkeeper.row_ref(5, '{"id": 7}') <> rowkeeper.row_ref(5, '{"id": "7"}') AS text_hashes,
       rowkeeper.row_ref(5, '{"id": 7}') <> rowkeeper.row_ref(5, '{"a": 7, "b": 1}') AS composite_hashes,
       rowkeeper.row_ref(5, '{"id": 1e30}') IS NOT NULL AS huge_hashes,
       rowkeeper.row_ref(5, '{"id": 7}') = rowkeeper.row_ref(5, '{"id": 4294967303}') AS wraps_at_2_32;
-- two rows sharing a row_ref: each history is its own
CREATE TABLE wrap (id bigint PRIMARY KEY, v int);
SELECT rowkeeper.enable_audit('wrap');
INSERT INTO wrap VALUES (7, 1), (4294967303, 1);
UPDATE wrap SET v = 2 WHERE id = 7;
SELECT (SELECT count(*) FROM rowkeeper.row_history('wrap', '{"id": 7}')) AS history_7,
       (SELECT count(*) FROM rowkeeper.row_history('wrap', '{"id": 4294967303}')) AS history_big,
       (SELECT count(DISTINCT row_ref) FROM rowkeeper.audit_log WHERE table_name = 'wrap') AS row_refs;
SELECT rowkeeper.disable_audit('wrap');
DROP TABLE wrap;
SET enable_seqscan = off;
DO $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXPLAIN (COSTS OFF)
        SELECT op FROM rowkeeper.audit_log
         WHERE row_ref = rowkeeper.row_ref(rowkeeper._audit_table_id('items_row'), '{"id": 7}')
           AND table_id = rowkeeper._audit_table_id('items_row') AND row_key = '{"id": 7}'
         ORDER BY row_ref, id LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RAISE NOTICE 'history uses the row_ref index: %, sort node: %, seq scan: %',
        plan ~ 'Index Scan using audit_log_\w+_row_ref_idx', plan ~ '(^|\s)Sort(\n|$)', plan ~ 'Seq Scan';
END $$;
SELECT op, new_row FROM rowkeeper.audit_log
 WHERE row_ref = rowkeeper.row_ref(rowkeeper._audit_table_id('items_row'), '{"id": 7}')
   AND table_id = rowkeeper._audit_table_id('items_row') AND row_key = '{"id": 7}'
 ORDER BY row_ref, id;
RESET enable_seqscan;

-- Statement mode needs the table a statement names to be the whole table.
CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY) INHERITS (parent);
\set VERBOSITY default
SELECT rowkeeper.enable_audit('parted', mode => 'statement');
SELECT rowkeeper.enable_audit('parted_1', mode => 'statement');
SELECT rowkeeper.enable_audit('parent', mode => 'statement');
SELECT rowkeeper.enable_audit('child', mode => 'statement');
SELECT rowkeeper.enable_audit('items_row', mode => 'bulk');
SELECT rowkeeper.enable_audit('items_row', mode => NULL);
\set VERBOSITY terse
SELECT table_name, mode FROM rowkeeper.audited_tables ORDER BY table_name::text;

-- Statement mode writes its rows in batches (1,000 rows or 1 MB of rows,
-- whichever comes first) with one multi-insert each.  Statements larger than
-- a batch, wide rows that need TOAST: the same entries as row mode, in the
-- same id order, and every row in every btree of the log (amcheck).
CREATE EXTENSION amcheck;
CREATE TABLE wide_row (id int PRIMARY KEY, qty int, note text);
CREATE TABLE wide_stmt (LIKE wide_row INCLUDING ALL);
SELECT rowkeeper.enable_audit('wide_row');
SELECT rowkeeper.enable_audit('wide_stmt', mode => 'statement');
CREATE FUNCTION run_wide(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$INSERT INTO %s SELECT g, g, repeat(md5(g::text), 70)
                       FROM generate_series(1, 2500) g$q$, tbl);
    EXECUTE format('UPDATE %s SET qty = qty + 1', tbl);                          -- 2,500 narrow
    EXECUTE format($q$UPDATE %s SET note = repeat(md5('x' || id), 70) WHERE id <= 1500$q$, tbl);
    EXECUTE format('DELETE FROM %s WHERE id > 1300', tbl);
END $$;
SELECT run_wide('wide_row');
SELECT run_wide('wide_stmt');
SELECT table_name, op, count(*), max(octet_length(old_row::text)) > 2000 AS wide_old,
       max(octet_length(new_row::text)) > 2000 AS wide_new
  FROM rowkeeper.audit_log WHERE table_name LIKE 'wide_%' GROUP BY 1, 2 ORDER BY 1, 2;
WITH r AS (SELECT op, row_key, old_row, new_row, row_number() OVER (ORDER BY id) AS n
             FROM rowkeeper.audit_log WHERE table_name = 'wide_row'),
     s AS (SELECT op, row_key, old_row, new_row, row_number() OVER (ORDER BY id) AS n
             FROM rowkeeper.audit_log WHERE table_name = 'wide_stmt')
SELECT count(*) AS entries,
       count(*) FILTER (WHERE (r.op, r.row_key, r.old_row, r.new_row)
                              IS DISTINCT FROM (s.op, s.row_key, s.old_row, s.new_row)) AS differing
  FROM r FULL JOIN s USING (n);
SELECT count(*) AS btrees_checked
  FROM (SELECT DISTINCT tableoid FROM rowkeeper.audit_log WHERE table_name = 'wide_stmt') p
  JOIN pg_index i ON i.indrelid = p.tableoid
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_am a ON a.oid = c.relam AND a.amname = 'btree',
  LATERAL bt_index_check(i.indexrelid, true) AS chk;
-- history of one row, through the row_ref index, equal in both modes
SELECT (SELECT array_agg(op ORDER BY logged_at, audit_id) FROM rowkeeper.row_history('wide_row', '{"id": 1400}'))
     = (SELECT array_agg(op ORDER BY logged_at, audit_id) FROM rowkeeper.row_history('wide_stmt', '{"id": 1400}'))
       AS same_history;
SELECT rowkeeper.disable_audit('wide_row');
SELECT rowkeeper.disable_audit('wide_stmt');
DROP TABLE wide_row, wide_stmt;
DROP FUNCTION run_wide(regclass);
DROP EXTENSION amcheck;

SELECT rowkeeper.disable_audit('items_row');
SELECT rowkeeper.disable_audit('items_stmt');
DROP VIEW log_of;
DROP TABLE items_row, items_stmt, seen, parted, parent CASCADE;
DROP FUNCTION run_workload(regclass);
DROP FUNCTION count_new();
TRUNCATE rowkeeper.audit_log;
