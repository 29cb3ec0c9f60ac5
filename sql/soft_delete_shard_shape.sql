-- soft_delete_shard_shape: rowkeeper's policies on a Citus soft-delete
-- table (the Citus form, rowkeeper._citus_policies()) confine to the
-- tenant's live rows even when they lose AS RESTRICTIVE, as Citus copies
-- them to its shards.  Runs on one node (no Citus needed): the Citus form
-- is written on local tables, and each *_shard table gets those policies
-- exactly as a Citus shard does, every one permissive.
CREATE ROLE rk_sds_app;
CREATE ROLE rk_sds_support IN ROLE rowkeeper_see_deleted;
-- a shard: the policies of src on dst, each with its command and
-- conditions, without AS RESTRICTIVE
CREATE FUNCTION sds_as_shard(src regclass, dst regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT polname, polcmd, pg_get_expr(polqual, polrelid) AS q,
                    pg_get_expr(polwithcheck, polrelid) AS w
               FROM pg_policy WHERE polrelid = src ORDER BY polname LOOP
        EXECUTE format('CREATE POLICY %I ON %s AS PERMISSIVE FOR %s TO PUBLIC%s%s', p.polname, dst,
                       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                       ' USING (' || p.q || ')', ' WITH CHECK (' || p.w || ')');
    END LOOP;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', dst);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', dst);
END;
$$;
CREATE VIEW sds_policies AS
SELECT polrelid::regclass AS tbl, polname, polpermissive, polcmd,
       pg_get_expr(polqual, polrelid) AS qual, pg_get_expr(polwithcheck, polrelid) AS with_check
  FROM pg_policy;

------------------------------------------------------------------------------
-- Tenant isolation and soft delete
------------------------------------------------------------------------------
CREATE TABLE sds (tenant_id int NOT NULL, id int NOT NULL, v text,
                  deleted_at timestamptz, deleted_batch bigint,
                  PRIMARY KEY (tenant_id, id));
SELECT rowkeeper.enable_tenant_isolation('sds');
SELECT rowkeeper.enable_soft_delete('sds');
-- the one-node form: unchanged
SELECT polname, polpermissive, polcmd, qual, with_check
  FROM sds_policies WHERE tbl = 'sds'::regclass ORDER BY 1;
-- (preflight fails it on a Citus table)
SELECT p.polname, pg_get_expr(p.polqual, p.polrelid) = q.reads AS using_ok
  FROM pg_policy p CROSS JOIN LATERAL rowkeeper._citus_policy_quals(p.polrelid) q
 WHERE p.polrelid = 'sds'::regclass ORDER BY 1;
-- ... which on a shard would leak: every policy permissive, T OR H OR true
CREATE TABLE sds_onenode_shard (LIKE sds INCLUDING ALL);
SELECT sds_as_shard('sds', 'sds_onenode_shard');
INSERT INTO sds_onenode_shard VALUES (1, 1, 'one live', NULL, NULL), (1, 2, 'one deleted', now(), 7),
                                     (2, 3, 'two live', NULL, NULL), (2, 4, 'two deleted', now(), 8);
GRANT SELECT ON sds_onenode_shard TO rk_sds_app;
SET ROLE rk_sds_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
SELECT tenant_id, id, v FROM sds_onenode_shard ORDER BY 1, 2;
COMMIT;
RESET ROLE;
-- the Citus form: every USING is R = (T) AND (H), every WITH CHECK W = T;
-- the table is named by text, resolved when the policy runs
SELECT rowkeeper._citus_policies('sds', (rowkeeper._tenant_config('sds')).predicate, true);
SELECT polname, polpermissive, polcmd, qual, with_check
  FROM sds_policies WHERE tbl = 'sds'::regclass ORDER BY 1;
-- how RLS was before rowkeeper is kept (soft delete came second: RLS was on)
SELECT p.polname, substring(obj_description(p.oid, 'pg_policy') FROM 'before it: .*') AS state
  FROM pg_policy p WHERE p.polrelid = 'sds'::regclass AND p.polname IN ('rowkeeper_tenant_isolation', 'rowkeeper_soft_delete')
 ORDER BY 1;
-- idempotent
SELECT rowkeeper._citus_policies('sds', (rowkeeper._tenant_config('sds')).predicate, true);
SELECT count(*) FROM pg_policy WHERE polrelid = 'sds'::regclass;
-- what preflight (tenant.citus_shard_policies) requires of each policy on
-- the coordinator and the shards: USING is R, WITH CHECK is W (or R)
CREATE VIEW sds_preflight AS
SELECT p.polrelid::regclass AS tbl, p.polname,
       pg_get_expr(p.polqual, p.polrelid) = q.reads AS using_ok,
       coalesce(pg_get_expr(p.polwithcheck, p.polrelid), pg_get_expr(p.polqual, p.polrelid))
           IN (q.writes, q.reads) AS check_ok
  FROM pg_policy p
 CROSS JOIN LATERAL rowkeeper._citus_policy_quals(p.polrelid) q;
SELECT polname, using_ok, check_ok FROM sds_preflight WHERE tbl = 'sds'::regclass ORDER BY 1;

CREATE TABLE sds_shard (LIKE sds INCLUDING ALL);
SELECT sds_as_shard('sds', 'sds_shard');
SELECT polname, polpermissive, polcmd FROM sds_policies WHERE tbl = 'sds_shard'::regclass ORDER BY 1;
INSERT INTO sds_shard VALUES (1, 1, 'one live', NULL, NULL), (1, 2, 'one deleted', now(), 7),
                             (2, 3, 'two live', NULL, NULL), (2, 4, 'two deleted', now(), 8);
GRANT SELECT, INSERT, UPDATE, DELETE ON sds, sds_shard TO rk_sds_app, rk_sds_support;

SET ROLE rk_sds_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
-- reads: the tenant's live rows only
SELECT tenant_id, id, v FROM sds_shard ORDER BY 1, 2;
SELECT count(*) FROM sds_shard WHERE tenant_id = 2;
SELECT count(*) FROM sds_shard WHERE deleted_at IS NOT NULL;
-- the application cannot turn the deleted rows on
SET LOCAL rowkeeper.show_deleted = on;
SELECT count(*) FROM sds_shard;
RESET rowkeeper.show_deleted;
-- writes reach neither another tenant's rows nor deleted rows
UPDATE sds_shard SET v = 'changed' WHERE tenant_id = 2;
UPDATE sds_shard SET v = 'changed' WHERE id = 2;
DELETE FROM sds_shard WHERE tenant_id = 2;
SAVEPOINT s;
INSERT INTO sds_shard (tenant_id, id, v) VALUES (2, 9, 'planted');
ROLLBACK TO SAVEPOINT s;
-- the tenant's own rows: written as usual
INSERT INTO sds_shard (tenant_id, id, v) VALUES (1, 9, 'own');
UPDATE sds_shard SET v = 'one live, changed' WHERE id = 1;
COMMIT;
-- no tenant: an error, not every row
SELECT count(*) FROM sds_shard;
RESET ROLE;

-- a support role sees the tenant's deleted rows after the switch, still
-- only the tenant's
SET ROLE rk_sds_support;
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
SET LOCAL rowkeeper.show_deleted = on;
SELECT tenant_id, id, v FROM sds_shard ORDER BY 1, 2;
COMMIT;
RESET ROLE;
SELECT tenant_id, id, v, deleted_at IS NOT NULL AS deleted FROM sds_shard ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Soft delete without tenant isolation: R = H, W = true
------------------------------------------------------------------------------
CREATE TABLE sdn (id int PRIMARY KEY, v text, "deletedAt" timestamp, "deletedBatch" bigint);
SELECT rowkeeper.enable_soft_delete('sdn', 'deletedAt');
SELECT rowkeeper._citus_policies('sdn', NULL, NULL);
SELECT polname, polpermissive, polcmd, qual, with_check
  FROM sds_policies WHERE tbl = 'sdn'::regclass ORDER BY 1;
CREATE TABLE sdn_shard (LIKE sdn INCLUDING ALL);
SELECT sds_as_shard('sdn', 'sdn_shard');
INSERT INTO sdn_shard VALUES (1, 'live', NULL, NULL), (2, 'deleted', now(), 7);
GRANT SELECT, INSERT, UPDATE, DELETE ON sdn_shard TO rk_sds_app;
SET ROLE rk_sds_app;
SELECT id, v FROM sdn_shard ORDER BY 1;
UPDATE sdn_shard SET v = 'changed' WHERE id = 2;
INSERT INTO sdn_shard (id, v) VALUES (3, 'new');
SELECT id, v FROM sdn_shard ORDER BY 1;
RESET ROLE;
SELECT id, v, "deletedAt" IS NOT NULL AS deleted FROM sdn_shard ORDER BY 1;

SELECT polname, using_ok, check_ok FROM sds_preflight WHERE tbl = 'sdn'::regclass ORDER BY 1;
-- names that need quoting, text and uuid tenant columns: what preflight
-- expects is what pg_get_expr() shows
CREATE SCHEMA "Sds S";
CREATE TABLE "Sds S"."it's a\b" (tenant_id text NOT NULL, id int NOT NULL, "Del At" timestamptz,
                                  deleted_batch bigint, PRIMARY KEY (tenant_id, id));
CREATE TABLE sdu (tenant_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
SELECT rowkeeper.enable_tenant_isolation(t) FROM unnest(ARRAY['"Sds S"."it''s a\b"'::regclass, 'sdu']) t;
SELECT rowkeeper.enable_soft_delete('"Sds S"."it''s a\b"', 'Del At');
SELECT rowkeeper.enable_soft_delete('sdu');
SELECT rowkeeper._citus_policies(t, (rowkeeper._tenant_config(t)).predicate, true)
  FROM unnest(ARRAY['"Sds S"."it''s a\b"'::regclass, 'sdu']) t;
SELECT tbl, polname, using_ok, check_ok FROM sds_preflight
 WHERE tbl IN ('"Sds S"."it''s a\b"'::regclass, 'sdu'::regclass) ORDER BY 1, 2;
SELECT qual FROM sds_policies
 WHERE tbl = '"Sds S"."it''s a\b"'::regclass AND polname = 'rowkeeper_soft_delete';
DROP SCHEMA "Sds S" CASCADE;
DROP TABLE sdu;

------------------------------------------------------------------------------
-- The forms follow the configuration
------------------------------------------------------------------------------
SELECT (rowkeeper._tenant_config('sds')).predicate AS sds_tenant \gset
-- tenant isolation gone: soft delete's no-tenant form
SELECT rowkeeper._citus_policies('sds', NULL, NULL);
SELECT polname, polpermissive, polcmd, qual, with_check
  FROM sds_policies WHERE tbl = 'sds'::regclass ORDER BY 1;
-- back, without grant_access: no permissive rowkeeper policy but the
-- tenant's, none of soft delete's
SELECT rowkeeper._citus_policies('sds', :'sds_tenant', false);
SELECT polname, polpermissive, polcmd FROM sds_policies WHERE tbl = 'sds'::regclass ORDER BY 1;
-- soft delete gone (its guard trigger, the configuration): the tenant's
-- plain pair
DROP TRIGGER rowkeeper_soft_delete ON sds;
SELECT rowkeeper._citus_policies('sds', :'sds_tenant', true);
SELECT polname, polpermissive, polcmd, qual, with_check
  FROM sds_policies WHERE tbl = 'sds'::regclass ORDER BY 1;
-- tenant isolation without its trigger: no predicate to write
DROP TRIGGER rowkeeper_tenant_immutable ON sds;
\set VERBOSITY terse
SELECT rowkeeper._tenant_config('sds');
\set VERBOSITY default

DROP TABLE sds, sds_shard, sds_onenode_shard, sdn, sdn_shard;
DROP VIEW sds_preflight, sds_policies;
DROP FUNCTION sds_as_shard(regclass, regclass);
DROP ROLE rk_sds_app, rk_sds_support;
