-- test/soak/verify.sql: after the soak, as a superuser.
-- Usage: psql -v audit_max=<newest audit id before the soak> -v rows=N -v tenants=T -f verify.sql
-- The audit log must account for every change the clients committed (the
-- ledger) exactly once, and for every purge once; the data must agree
-- with both.  A key may live several times: soft-deleted, purged, inserted
-- again.  One row per check (check_name, ok, detail), then the failures.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE TEMP TABLE result (check_name text, ok boolean, detail text);
CREATE TEMP TABLE a AS
SELECT l.id AS audit_id, regexp_replace(l.table_name, '_with_deleted$', '') AS tbl,
       (l.row_key ->> 'id')::bigint AS id, l.op, l.tenant, l.old_row, l.new_row
  FROM rowkeeper.audit_log l WHERE l.id > :audit_max AND l.schema_name = 'soak';
CREATE TEMP TABLE live AS
SELECT 'acct' AS tbl, id, tenant_id, balance, deleted_at, updated_at FROM soak.acct
UNION ALL
SELECT 'item', id, tenant_id, balance, deleted_at, updated_at FROM soak.item;
-- every key: the seed rows 1..rows (re-inserted under the same keys)
CREATE TEMP TABLE everrow AS
SELECT t.tbl, g AS id FROM (VALUES ('acct'), ('item')) t(tbl), generate_series(1, :rows) g;
CREATE TEMP TABLE led AS
SELECT tbl, id, count(*) FILTER (WHERE op = 'INSERT') AS ins, count(*) FILTER (WHERE op = 'UPDATE') AS upd,
       count(*) FILTER (WHERE op = 'SOFT_DELETE') AS sd, count(*) FILTER (WHERE op = 'RESTORE') AS rs
  FROM soak.ledger GROUP BY 1, 2;
CREATE TEMP TABLE aud AS
SELECT tbl, id, count(*) FILTER (WHERE op = 'INSERT') AS ins, count(*) FILTER (WHERE op = 'UPDATE') AS upd,
       count(*) FILTER (WHERE op = 'SOFT_DELETE') AS sd, count(*) FILTER (WHERE op = 'RESTORE') AS rs,
       count(*) FILTER (WHERE op = 'DELETE') AS del,
       coalesce(sum((old_row ->> 'balance')::bigint) FILTER (WHERE op = 'DELETE'), 0) AS purged_balance
  FROM a GROUP BY 1, 2;
-- per key: lives (the seed row and each re-insert) and purges (lives that
-- ended: all of them but the live row)
CREATE TEMP TABLE k AS
SELECT e.tbl, e.id, 1 + coalesce(l.ins, 0) AS lives,
       1 + coalesce(l.ins, 0) - CASE WHEN v.id IS NULL THEN 0 ELSE 1 END AS purges,
       coalesce(l.upd, 0) AS upd, coalesce(l.sd, 0) AS sd, coalesce(l.rs, 0) AS rs,
       v.id IS NOT NULL AND v.deleted_at IS NOT NULL AS deleted_now,
       coalesce(v.balance, 0) AS balance, coalesce(g.del, 0) AS del, coalesce(g.purged_balance, 0) AS purged_balance
  FROM everrow e LEFT JOIN led l USING (tbl, id) LEFT JOIN aud g USING (tbl, id) LEFT JOIN live v USING (tbl, id);

INSERT INTO result
SELECT 'committed changes (ledger) = audit entries, per row and op', count(*) = 0,
       format('%s rows differ%s', count(*), ': ' || string_agg(format('%s %s ledger %s/%s/%s/%s log %s/%s/%s/%s', tbl, id,
              l.ins, l.upd, l.sd, l.rs, g.ins, g.upd, g.sd, g.rs), '; ') FILTER (WHERE true))
  FROM everrow e
  LEFT JOIN led l USING (tbl, id) LEFT JOIN aud g USING (tbl, id)
 WHERE (coalesce(l.ins, 0), coalesce(l.upd, 0), coalesce(l.sd, 0), coalesce(l.rs, 0))
       IS DISTINCT FROM (coalesce(g.ins, 0), coalesce(g.upd, 0), coalesce(g.sd, 0), coalesce(g.rs, 0));
INSERT INTO result
SELECT 'no audit entry for a row that never existed', count(*) = 0, count(*) || ' entries'
  FROM a WHERE (tbl, id) NOT IN (SELECT tbl, id FROM everrow);
INSERT INTO result
SELECT 'only the expected operations are logged', count(*) = 0,
       coalesce(string_agg(DISTINCT op, ', '), 'INSERT, UPDATE, SOFT_DELETE, RESTORE, DELETE only')
  FROM a WHERE op NOT IN ('INSERT', 'UPDATE', 'SOFT_DELETE', 'RESTORE', 'DELETE');
INSERT INTO result
SELECT 'one DELETE entry per purge (lives that ended), none for the live row', count(*) = 0, count(*) || ' keys differ'
  FROM k WHERE del <> purges;
INSERT INTO result
SELECT 'purge_runs count the DELETE entries', sum(rows_deleted) = (SELECT count(*) FROM a WHERE op = 'DELETE'),
       format('purge_runs %s rows deleted in %s runs (%s batches), log %s DELETE entries',
              sum(rows_deleted), count(*), sum(batches), (SELECT count(*) FROM a WHERE op = 'DELETE'))
  FROM rowkeeper.purge_runs WHERE target LIKE 'soak.%';
INSERT INTO result
SELECT 'every entry a client wrote carries the row''s tenant', count(*) = 0, count(*) || ' entries under another tenant'
  FROM a WHERE a.op <> 'DELETE' AND a.tenant IS DISTINCT FROM (1 + a.id % :tenants)::text;
INSERT INTO result
SELECT 'committed UPDATEs = live balance + balances of purged lives', count(*) = 0, count(*) || ' keys differ'
  FROM k WHERE balance + purged_balance <> upd;
INSERT INTO result
SELECT 'soft deletes - restores = purges + (deleted now)', count(*) = 0, count(*) || ' keys differ'
  FROM k WHERE sd - rs <> purges + CASE WHEN deleted_now THEN 1 ELSE 0 END;
INSERT INTO result
SELECT 'updated_at set on every updated live row', count(*) = 0, count(*) || ' rows without'
  FROM live v JOIN led l USING (tbl, id) WHERE l.upd > 0 AND v.updated_at IS NULL;
SELECT count(*) AS batches_sealed FROM rowkeeper.seal_audit_log() \gset
INSERT INTO result
SELECT 'verify_audit_chain', problem IS NULL AND unsealed = 0,
       format('%s verified, problem %s, unsealed %s', verified, coalesce(problem, 'none'), unsealed)
  FROM rowkeeper.verify_audit_chain();

SELECT op, count(*) AS ledger FROM soak.ledger GROUP BY op ORDER BY op;
SELECT op, count(*) AS audit_entries FROM a GROUP BY op ORDER BY op;
SELECT check_name, ok, detail FROM result ORDER BY ok, check_name;
SELECT 'FAILED CHECK' AS status, check_name, left(detail, 500) FROM result WHERE ok IS NOT TRUE;
