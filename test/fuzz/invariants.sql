-- test/fuzz/invariants.sql: what must hold after fuzzing, as a superuser.
-- Usage: psql -v audit_max=<newest audit id before fuzzing> -f invariants.sql
-- Prints one row per check (check, ok, detail); the runner fails on any
-- ok = false.  Needs test/fuzz/state.sql run with phase=before and after.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE TEMP TABLE result (check_name text, ok boolean, detail text);

-- 1. tenant 2 (never the fuzzer's tenant) is byte for byte as it was
INSERT INTO result
SELECT 'tenant 2 unchanged: ' || coalesce(b.tbl, a.tbl),
       b.n IS NOT DISTINCT FROM a.n AND b.digest IS NOT DISTINCT FROM a.digest,
       format('before %s rows, after %s rows', b.n, a.n)
  FROM (SELECT * FROM public.fuzz_state WHERE phase = 'before' AND tenant = '2') b
  FULL JOIN (SELECT * FROM public.fuzz_state WHERE phase = 'after' AND tenant = '2') a USING (tbl, tenant);
-- 2. no row of a tenant other than 1 and 2 exists
INSERT INTO result
SELECT 'no row of an unknown tenant', count(*) = 0, coalesce(string_agg(tbl || ': ' || n, ', '), 'none')
  FROM public.fuzz_state WHERE phase = 'after' AND tenant = 'other';
-- 3. whatever the fuzzer committed was logged as tenant 1
INSERT INTO result
SELECT 'audit entries written while fuzzing are tenant 1''s', count(*) FILTER (WHERE tenant IS DISTINCT FROM '1') = 0,
       format('%s entries committed while fuzzing, %s of another tenant', count(*),
              count(*) FILTER (WHERE tenant IS DISTINCT FROM '1'))
  FROM rowkeeper.audit_log WHERE id > :audit_max;
-- 4. the hash chain verifies, everything sealed
SELECT count(*) AS batches_sealed FROM rowkeeper.seal_audit_log() \gset
INSERT INTO result
SELECT 'verify_audit_chain', problem IS NULL AND unsealed = 0,
       format('%s verified, problem %s, unsealed %s', verified, coalesce(problem, 'none'), unsealed)
  FROM rowkeeper.verify_audit_chain();
-- 5. no orphan: every foreign key of the schema holds
DO $$
DECLARE
    fk record;
    n bigint;
BEGIN
    FOR fk IN
        SELECT c.conname, c.conrelid::regclass AS child, c.confrelid::regclass AS parent,
               (SELECT string_agg(format('c.%I = p.%I', a.attname, pa.attname), ' AND ')
                  FROM unnest(c.conkey, c.confkey) k(ck, pk)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.ck
                  JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.pk) AS cond,
               (SELECT string_agg(format('c.%I IS NOT NULL', a.attname), ' AND ')
                  FROM unnest(c.conkey) k(ck)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.ck) AS notnull
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.connamespace = 'app'::regnamespace
    LOOP
        EXECUTE format('SELECT count(*) FROM %s c WHERE %s AND NOT EXISTS (SELECT FROM %s p WHERE %s)',
                       fk.child, fk.notnull, fk.parent, fk.cond) INTO n;
        INSERT INTO result VALUES ('no orphans: ' || fk.child || ' ' || fk.conname, n = 0, n || ' orphan rows');
    END LOOP;
END $$;
-- 6. amcheck: every btree index (with heapallindexed) and every heap of the
-- audited tables and of the audit log's partitions
CREATE TEMP TABLE checked AS
SELECT c.oid::regclass AS rel
  FROM pg_class c
 WHERE c.relkind = 'r'
   AND (c.relnamespace = 'app'::regnamespace
        OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'rowkeeper.audit_log'::regclass)
        OR c.oid IN ('rowkeeper.audit_seal'::regclass));
DO $$
DECLARE
    r record;
    n bigint;
    bad text;
BEGIN
    FOR r IN SELECT rel FROM checked LOOP
        SELECT count(*), min(format('block %s offset %s: %s', blkno, offnum, msg)) INTO n, bad
          FROM verify_heapam(r.rel, check_toast => true);
        INSERT INTO result VALUES ('verify_heapam ' || r.rel, n = 0, coalesce(bad, 'clean'));
    END LOOP;
    FOR r IN SELECT i.indexrelid::regclass AS idx
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_am am ON am.oid = ic.relam
              WHERE am.amname = 'btree' AND i.indrelid IN (SELECT rel FROM checked)
    LOOP
        BEGIN
            PERFORM bt_index_check(r.idx, heapallindexed => true);
            INSERT INTO result VALUES ('bt_index_check ' || r.idx, true, 'clean');
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO result VALUES ('bt_index_check ' || r.idx, false, SQLERRM);
        END;
    END LOOP;
END $$;
-- 7. the isolation probe of every isolated table, as the application role
INSERT INTO result
SELECT 'assert_isolated ' || t.table_name || ': ' || a.check_name, a.ok, a.detail
  FROM rowkeeper.tenant_isolated_tables t,
       rowkeeper.assert_isolated(t.table_name, '1', '2', 'rk_app') a;

SELECT count(*) FILTER (WHERE ok) AS passed, count(*) FILTER (WHERE NOT ok OR ok IS NULL) AS failed,
       (SELECT count(*) FROM result WHERE check_name LIKE 'bt_index_check%') AS btree_indexes,
       (SELECT count(*) FROM result WHERE check_name LIKE 'verify_heapam%') AS heaps
  FROM result;
SELECT 'FAILED CHECK' AS status, check_name, detail FROM result WHERE ok IS NOT TRUE ORDER BY 2;
