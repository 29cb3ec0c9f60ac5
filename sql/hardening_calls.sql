-- hardening_calls: every function behaves the same under a hostile
-- search_path, and the catalog says what the security review needs.
--
-- A role without privileges owns schema rk_evil, full of look-alikes of
-- what rowkeeper's SQL and C use: functions (now(), format(), to_jsonb(),
-- jsonb_build_object(), current_setting(), ...) and operators (= on text,
-- int, bigint, oid, regclass, name, jsonb, tid, timestamptz; <, <=, >, >=
-- on timestamptz; ||; <>; ->>, ->, @>, ?).  Each records in rk_trap.ran
-- that it ran.  Then the superuser puts rk_evil FIRST on its search_path
-- (before pg_catalog) and uses the whole API, the triggers included; the
-- planted objects never run and the results are those of a clean path.
SET client_min_messages = warning;
CREATE ROLE rk_evil_owner;
CREATE SCHEMA rk_trap;
CREATE TABLE rk_trap.ran (what text);
GRANT USAGE ON SCHEMA rk_trap TO PUBLIC;
GRANT INSERT ON rk_trap.ran TO PUBLIC;
CREATE SCHEMA rk_evil AUTHORIZATION rk_evil_owner;
GRANT USAGE ON SCHEMA rk_evil TO PUBLIC;
SET ROLE rk_evil_owner;
CREATE FUNCTION rk_evil.plant(what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rk_trap.ran VALUES (what);
    RETURN true;
END;
$$;
DO $do$
DECLARE
    f text;
    t text;
    op text;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'now() RETURNS timestamptz AS $$ SELECT CASE WHEN rk_evil.plant(''now'') THEN pg_catalog.now() END $$',
        'clock_timestamp() RETURNS timestamptz AS $$ SELECT CASE WHEN rk_evil.plant(''clock_timestamp'') THEN pg_catalog.now() END $$',
        'statement_timestamp() RETURNS timestamptz AS $$ SELECT CASE WHEN rk_evil.plant(''statement_timestamp'') THEN pg_catalog.now() END $$',
        'format(text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''format'') THEN $1 END $$',
        'format(text, text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''format'') THEN $1 END $$',
        'format(text, text, text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''format'') THEN $1 END $$',
        'quote_ident(text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''quote_ident'') THEN $1 END $$',
        'quote_literal(text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''quote_literal'') THEN $1 END $$',
        'current_setting(text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''current_setting'') THEN '''' END $$',
        'current_setting(text, boolean) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''current_setting'') THEN '''' END $$',
        'set_config(text, text, boolean) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''set_config'') THEN $2 END $$',
        'to_jsonb(text) RETURNS jsonb AS $$ SELECT CASE WHEN rk_evil.plant(''to_jsonb'') THEN ''{}''::pg_catalog.jsonb END $$',
        'jsonb_build_object(text, text) RETURNS jsonb AS $$ SELECT CASE WHEN rk_evil.plant(''jsonb_build_object'') THEN ''{}''::pg_catalog.jsonb END $$',
        'jsonb_build_object(text, integer) RETURNS jsonb AS $$ SELECT CASE WHEN rk_evil.plant(''jsonb_build_object'') THEN ''{}''::pg_catalog.jsonb END $$',
        'md5(text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''md5'') THEN $1 END $$',
        'sha256(bytea) RETURNS bytea AS $$ SELECT CASE WHEN rk_evil.plant(''sha256'') THEN $1 END $$',
        'lower(text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''lower'') THEN $1 END $$',
        'coalesce_text(text, text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''coalesce_text'') THEN $1 END $$',
        'count(integer) RETURNS bigint AS $$ SELECT CASE WHEN rk_evil.plant(''count'') THEN 0::bigint END $$',
        'pg_backend_pid() RETURNS integer AS $$ SELECT CASE WHEN rk_evil.plant(''pg_backend_pid'') THEN 0 END $$',
        'eq_text(text, text) RETURNS boolean AS $$ SELECT rk_evil.plant(''= text'') $$',
        'eq_int(integer, integer) RETURNS boolean AS $$ SELECT rk_evil.plant(''= int'') $$',
        'eq_bigint(bigint, bigint) RETURNS boolean AS $$ SELECT rk_evil.plant(''= bigint'') $$',
        'eq_oid(oid, oid) RETURNS boolean AS $$ SELECT rk_evil.plant(''= oid'') $$',
        'eq_regclass(regclass, regclass) RETURNS boolean AS $$ SELECT rk_evil.plant(''= regclass'') $$',
        'eq_name(name, name) RETURNS boolean AS $$ SELECT rk_evil.plant(''= name'') $$',
        'eq_jsonb(jsonb, jsonb) RETURNS boolean AS $$ SELECT rk_evil.plant(''= jsonb'') $$',
        'eq_tid(tid, tid) RETURNS boolean AS $$ SELECT rk_evil.plant(''= tid'') $$',
        'eq_ts(timestamptz, timestamptz) RETURNS boolean AS $$ SELECT rk_evil.plant(''= timestamptz'') $$',
        'lt_ts(timestamptz, timestamptz) RETURNS boolean AS $$ SELECT rk_evil.plant(''< timestamptz'') $$',
        'le_ts(timestamptz, timestamptz) RETURNS boolean AS $$ SELECT rk_evil.plant(''<= timestamptz'') $$',
        'gt_ts(timestamptz, timestamptz) RETURNS boolean AS $$ SELECT rk_evil.plant(''> timestamptz'') $$',
        'ge_ts(timestamptz, timestamptz) RETURNS boolean AS $$ SELECT rk_evil.plant(''>= timestamptz'') $$',
        'ne_text(text, text) RETURNS boolean AS $$ SELECT NOT rk_evil.plant(''<> text'') $$',
        'cat_text(text, text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''|| text'') THEN $1 END $$',
        'cat_jsonb(jsonb, jsonb) RETURNS jsonb AS $$ SELECT CASE WHEN rk_evil.plant(''|| jsonb'') THEN $1 END $$',
        'get_text(jsonb, text) RETURNS text AS $$ SELECT CASE WHEN rk_evil.plant(''->> jsonb'') THEN $2 END $$',
        'get_jsonb(jsonb, text) RETURNS jsonb AS $$ SELECT CASE WHEN rk_evil.plant(''-> jsonb'') THEN $1 END $$',
        'contains_jsonb(jsonb, jsonb) RETURNS boolean AS $$ SELECT rk_evil.plant(''@> jsonb'') $$',
        'has_key(jsonb, text) RETURNS boolean AS $$ SELECT rk_evil.plant(''? jsonb'') $$'] LOOP
        EXECUTE 'CREATE FUNCTION rk_evil.' OPERATOR(pg_catalog.||) f OPERATOR(pg_catalog.||) ' LANGUAGE sql';
    END LOOP;
    FOREACH op IN ARRAY ARRAY[
        '=,text,text,eq_text', '=,integer,integer,eq_int', '=,bigint,bigint,eq_bigint',
        '=,oid,oid,eq_oid', '=,regclass,regclass,eq_regclass', '=,name,name,eq_name',
        '=,jsonb,jsonb,eq_jsonb', '=,tid,tid,eq_tid', '=,timestamptz,timestamptz,eq_ts',
        '<,timestamptz,timestamptz,lt_ts', '<=,timestamptz,timestamptz,le_ts',
        '>,timestamptz,timestamptz,gt_ts', '>=,timestamptz,timestamptz,ge_ts',
        '<>,text,text,ne_text', '||,text,text,cat_text', '||,jsonb,jsonb,cat_jsonb',
        '->>,jsonb,text,get_text', '->,jsonb,text,get_jsonb', '@>,jsonb,jsonb,contains_jsonb',
        '?,jsonb,text,has_key'] LOOP
        t := pg_catalog.split_part(op, ',', 1);
        EXECUTE pg_catalog.format('CREATE OPERATOR rk_evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = rk_evil.%s)',
                                  t, pg_catalog.split_part(op, ',', 2), pg_catalog.split_part(op, ',', 3),
                                  pg_catalog.split_part(op, ',', 4));
    END LOOP;
END;
$do$;
RESET ROLE;
SELECT count(*) AS planted_functions FROM pg_proc WHERE pronamespace = 'rk_evil'::regnamespace;
SELECT count(*) AS planted_operators FROM pg_operator WHERE oprnamespace = 'rk_evil'::regnamespace;
\set hostile 'SET search_path = rk_evil, public, pg_catalog'

-- Positive control: the trap fires under this path.
:hostile;
SELECT 1 = 1 AS planted_eq, '{"a":1}'::jsonb ->> 'a' AS planted_arrow;
RESET search_path;
SELECT what FROM rk_trap.ran ORDER BY what;
TRUNCATE rk_trap.ran;

------------------------------------------------------------------------------
-- The API under the hostile path.  Tables are made under a clean path;
-- every rowkeeper call, and every INSERT/UPDATE/DELETE that fires
-- rowkeeper's triggers, runs with rk_evil first.  The test's own
-- statements name their operators (OPERATOR(pg_catalog.=)) so that only
-- rowkeeper's code is under test.
------------------------------------------------------------------------------
CREATE TABLE hc_items (id int PRIMARY KEY, tenant_id text NOT NULL, v text,
                       updated_at timestamptz, expires_at timestamptz);
CREATE INDEX ON hc_items (expires_at);
CREATE TABLE hc_notes (id bigint PRIMARY KEY, body text,
                       deleted_at timestamptz, deleted_batch bigint);
CREATE INDEX ON hc_notes (deleted_at);
CREATE TABLE hc_refs (id int PRIMARY KEY, item int REFERENCES hc_items);

:hostile;
SELECT rowkeeper.enable_audit('hc_items');
SELECT rowkeeper.enable_updated_at('hc_items');
SELECT rowkeeper.enable_tenant_isolation('hc_items');
SELECT rowkeeper.enable_audit('hc_notes');
SELECT rowkeeper.enable_soft_delete('hc_notes');
BEGIN;
SELECT rowkeeper.set_context('alice', 'acme', 'req-1');
SELECT rowkeeper.current_tenant(), rowkeeper.current_actor(), rowkeeper.current_request_id();
INSERT INTO hc_items (id, v, expires_at) VALUES (1, 'one', '2000-01-01'), (2, 'two', '2999-01-01'),
                                                (3, 'three', '2000-01-01');
INSERT INTO hc_refs VALUES (1, 3);
UPDATE hc_items SET v = 'uno' WHERE id OPERATOR(pg_catalog.=) 1;
INSERT INTO hc_notes (id, body) VALUES (10, 'note'), (11, 'other');
DELETE FROM hc_notes WHERE id OPERATOR(pg_catalog.=) 10;
SELECT rowkeeper.restore('hc_notes', '{"id": 10}');
DELETE FROM hc_notes WHERE id OPERATOR(pg_catalog.=) 11;
COMMIT;
RESET search_path;
SELECT count(*) AS planted_objects_that_ran FROM rk_trap.ran;
-- and the writes did what they should
BEGIN;
SELECT rowkeeper.set_context(tenant => 'acme');
SELECT id, tenant_id, v, updated_at IS NOT NULL AS stamped FROM hc_items ORDER BY id;
COMMIT;
SELECT id, body, deleted_at IS NOT NULL AS deleted FROM hc_notes ORDER BY id;
SELECT table_name, op, row_key, actor, tenant, request_id
  FROM rowkeeper.audit_log WHERE table_name IN ('hc_items', 'hc_notes')
 ORDER BY id;

:hostile;
SELECT op, row_key FROM rowkeeper.row_history('hc_items', '{"id": 1}') ORDER BY 1, 2;
SELECT rowkeeper.row_as_of('hc_items', '{"id": 1}', pg_catalog.now()) OPERATOR(pg_catalog.-) 'updated_at' AS row_now;
SELECT count(*) AS changes FROM rowkeeper.changes('hc_items', '-infinity');
SELECT problem FROM rowkeeper.verify_audit_chain();
CREATE TEMP TABLE pf_hostile AS SELECT * FROM rowkeeper.preflight('{public}');
RESET search_path;
CREATE TEMP TABLE pf_clean AS SELECT * FROM rowkeeper.preflight('{public}');
:hostile;
SELECT rowkeeper.disable_audit('hc_notes');
SELECT rowkeeper.disable_updated_at('hc_items');
RESET search_path;
SELECT count(*) AS planted_objects_that_ran FROM rk_trap.ran;
SELECT table_name, exclude_columns, skip_noop, enabled FROM rowkeeper.audited_tables
 WHERE relname LIKE 'hc\_%' ORDER BY 1;
SELECT table_name, column_name FROM rowkeeper.updated_at_tables WHERE relname LIKE 'hc\_%';
-- preflight said the same as under a clean path
SELECT count(*) AS preflight_checks, count(*) > 10 AS plenty FROM pf_hostile;
(SELECT * FROM pf_hostile EXCEPT ALL SELECT * FROM pf_clean)
UNION ALL
(SELECT * FROM pf_clean EXCEPT ALL SELECT * FROM pf_hostile);

-- The purge procedures: they COMMIT, so they cannot pin search_path with a
-- SET clause; they set it themselves.
:hostile;
-- (\gset: the run ids depend on earlier tests)
CALL rowkeeper.purge_expired('hc_items', 'expires_at', dry_run => true) \gset
CALL rowkeeper.purge_soft_deleted('hc_notes', '0 seconds', dry_run => true) \gset
CALL rowkeeper.purge_audit_log('100 years', dry_run => true) \gset
RESET search_path;
SELECT count(*) AS planted_objects_that_ran FROM rk_trap.ran;
SELECT count(*) AS items_left FROM hc_items;
SELECT count(*) AS notes_left FROM hc_notes;
:hostile;
-- where_equals, and a referenced row that is skipped one by one
CALL rowkeeper.purge_expired('hc_items', 'expires_at', where_equals => '{"tenant_id": "acme"}') \gset
CALL rowkeeper.purge_soft_deleted('hc_notes', '0 seconds') \gset
RESET search_path;
SELECT count(*) AS planted_objects_that_ran FROM rk_trap.ran;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'acme');
SELECT id FROM hc_items ORDER BY id;
COMMIT;
SELECT id FROM hc_notes ORDER BY id;
SELECT kind, outcome, rows_deleted, rows_skipped, detail FROM rowkeeper.purge_runs
 WHERE target LIKE '%hc\_%' AND kind IN ('expired', 'soft_deleted')
 ORDER BY id;
SELECT what, count(*) FROM rk_trap.ran GROUP BY 1 ORDER BY 1;

------------------------------------------------------------------------------
-- The rest of the API under the same path: soft-delete cascades, restore
-- and hard delete, a partial unique index, statement-mode audit, undo,
-- restore_row, table_as_of, diff, changes_by, transaction_changes, the
-- hash chain, the *_in_schema variants, the tenant checks.
------------------------------------------------------------------------------
CREATE SCHEMA hc_s;
CREATE TABLE hc_s.parent (id int PRIMARY KEY, tenant_id text, updated_at timestamptz,
                          deleted_at timestamptz, deleted_batch bigint);
CREATE TABLE hc_s.child (id int PRIMARY KEY, parent int REFERENCES hc_s.parent ON DELETE CASCADE,
                         email text CONSTRAINT child_email_key UNIQUE, tenant_id text,
                         updated_at timestamptz, deleted_at timestamptz, deleted_batch bigint);
CREATE TABLE hc_stmt (id int PRIMARY KEY, v text);
CREATE ROLE rk_hc_app;
GRANT USAGE ON SCHEMA hc_s TO rk_hc_app;
:hostile;
SELECT t FROM rowkeeper.enable_updated_at_in_schema('hc_s') t ORDER BY t::pg_catalog.text COLLATE "C";
SELECT t FROM rowkeeper.enable_tenant_isolation_in_schema('hc_s') t ORDER BY t::pg_catalog.text COLLATE "C";
SELECT rowkeeper.enable_audit('hc_s.parent'), rowkeeper.enable_audit('hc_s.child'),
       rowkeeper.enable_audit('hc_stmt', mode => 'statement');
SELECT rowkeeper.enable_soft_delete('hc_s.parent'), rowkeeper.enable_soft_delete('hc_s.child');
SELECT rowkeeper.soft_delete_unique('hc_s.child', 'child_email_key');
BEGIN;
SELECT rowkeeper.set_context('alice', 'acme', 'req-2');
INSERT INTO hc_s.parent (id) VALUES (1);
INSERT INTO hc_s.child (id, parent, email) VALUES (1, 1, 'a@x'), (2, 1, 'b@x');
DELETE FROM hc_s.parent WHERE id OPERATOR(pg_catalog.=) 1;
INSERT INTO hc_s.child (id, email) VALUES (3, 'a@x');
DELETE FROM hc_s.child WHERE id OPERATOR(pg_catalog.=) 3;
COMMIT;
BEGIN;
SELECT rowkeeper.set_context('alice', 'acme', 'req-3');
SELECT rowkeeper.hard_delete('hc_s.child', '{"id": 3}');
SELECT rowkeeper.restore('hc_s.parent', '{"id": 1}');
INSERT INTO hc_stmt VALUES (1, 'a'), (2, 'b');
COMMIT;
RESET search_path;
SELECT pg_catalog.now() AS t0 \gset
SELECT txid AS insert_txid FROM rowkeeper.audit_log
 WHERE table_name = 'hc_stmt' AND op = 'INSERT' ORDER BY id LIMIT 1 \gset
:hostile;
BEGIN;
SELECT rowkeeper.set_context('bob', 'acme', 'req-4');
UPDATE hc_stmt SET v = 'c';
DELETE FROM hc_stmt WHERE id OPERATOR(pg_catalog.=) 2;
COMMIT;
RESET search_path;
SELECT id AS delete_id FROM rowkeeper.audit_log
 WHERE table_name = 'hc_stmt' AND op = 'DELETE' ORDER BY id DESC LIMIT 1 \gset
:hostile;
SELECT rowkeeper.undo(:delete_id);
SELECT rowkeeper.restore_row('hc_stmt', '{"id": 1}', :'t0');
SELECT r FROM rowkeeper.table_as_of('hc_stmt', :'t0') AS r ORDER BY r::pg_catalog.text COLLATE "C";
SELECT * FROM rowkeeper.diff('hc_stmt', '{"id": 1}', :'t0', pg_catalog.now());
SELECT op, row_key FROM rowkeeper.changes_by('bob', '-infinity') ORDER BY op, row_key::pg_catalog.text COLLATE "C";
SELECT op, row_key FROM rowkeeper.transaction_changes(:'insert_txid') ORDER BY op, row_key::pg_catalog.text COLLATE "C";
SELECT count(*) > 0 AS sealed FROM rowkeeper.seal_audit_log();
SELECT rowkeeper.audit_chain_head() IS NOT NULL AS has_head;
SELECT problem FROM rowkeeper.verify_audit_chain();
SELECT table_name, row_trigger, truncate_trigger FROM rowkeeper.audit_status()
 WHERE table_name::pg_catalog.text OPERATOR(pg_catalog.~~) '%hc%' ORDER BY table_name::pg_catalog.text COLLATE "C";
GRANT SELECT, INSERT, UPDATE, DELETE ON hc_s.parent TO rk_hc_app;
SELECT * FROM rowkeeper.assert_isolated('hc_s.parent', 'acme', 'globex', 'rk_hc_app');
CREATE TEMP TABLE tsc_hostile AS SELECT * FROM rowkeeper.tenant_safety_checks();
RESET search_path;
SELECT count(*) AS planted_objects_that_ran FROM rk_trap.ran;
CREATE TEMP TABLE tsc_clean AS SELECT * FROM rowkeeper.tenant_safety_checks();
(SELECT * FROM tsc_hostile EXCEPT ALL SELECT * FROM tsc_clean)
UNION ALL
(SELECT * FROM tsc_clean EXCEPT ALL SELECT * FROM tsc_hostile);
SELECT id, deleted_at IS NOT NULL AS deleted FROM hc_s.parent ORDER BY id;
SELECT id, parent, email, deleted_at IS NOT NULL AS deleted FROM hc_s.child ORDER BY id;
SELECT * FROM hc_stmt ORDER BY id;
SELECT op, count(*) FROM rowkeeper.audit_log
 WHERE schema_name = 'hc_s' OR table_name = 'hc_stmt' GROUP BY op ORDER BY op;

------------------------------------------------------------------------------
-- pg_temp.  A role cannot plant functions or operators in pg_temp for
-- others (pg_temp is never searched for them), but the SECURITY DEFINER
-- functions it may call, and the event trigger its DDL fires, run as the
-- superuser with pg_temp on their path: the role's own temp tables named
-- like rowkeeper's must not receive their writes.
------------------------------------------------------------------------------
CREATE ROLE rk_temp_app;
GRANT rowkeeper_auditor TO rk_temp_app;
GRANT CREATE ON SCHEMA public TO rk_temp_app;
SET ROLE rk_temp_app;
CREATE TEMP TABLE purge_runs (LIKE rowkeeper.purge_runs);
CREATE TEMP TABLE audit_seal (LIKE rowkeeper.audit_seal);
CREATE TEMP TABLE audit_incarnations (LIKE rowkeeper.audit_incarnations);
CREATE TEMP TABLE audit_log_default (LIKE rowkeeper.audit_log);
CREATE TABLE rk_temp_t (id int PRIMARY KEY, v text);
SELECT rowkeeper.enable_audit('rk_temp_t');
INSERT INTO rk_temp_t VALUES (1, 'a');
ALTER TABLE rk_temp_t RENAME TO rk_temp_t2;
SELECT count(*) >= 0 AS partitions FROM rowkeeper.create_audit_partitions(1);
SELECT rowkeeper._purge_run_start('expired', 'rk_temp_t2', NULL, '{}') > 0 AS recorded;
SELECT count(*) > 0 AS sealed FROM rowkeeper.seal_audit_log();
SELECT (SELECT count(*) FROM pg_temp.purge_runs) AS temp_purge_runs,
       (SELECT count(*) FROM pg_temp.audit_seal) AS temp_seals,
       (SELECT count(*) FROM pg_temp.audit_incarnations) AS temp_names,
       (SELECT count(*) FROM pg_temp.audit_log_default) AS temp_log;
SELECT rowkeeper.disable_audit('rk_temp_t2');
DROP TABLE rk_temp_t2, pg_temp.purge_runs, pg_temp.audit_seal, pg_temp.audit_incarnations,
           pg_temp.audit_log_default;
RESET ROLE;
-- the writes went where they belong
SELECT table_name FROM rowkeeper.audit_incarnations WHERE table_name LIKE 'rk\_temp\_t%' ORDER BY 1;
SELECT kind, target, run_by
  FROM rowkeeper.purge_runs WHERE target = 'public.rk_temp_t2';
DELETE FROM rowkeeper.purge_runs WHERE target = 'public.rk_temp_t2';
REVOKE CREATE ON SCHEMA public FROM rk_temp_app;
DROP ROLE rk_temp_app;

------------------------------------------------------------------------------
-- The catalog.  Every function of the extension (pg_depend on it).
------------------------------------------------------------------------------
CREATE TEMP VIEW ext_functions AS
SELECT p.*
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'rowkeeper');

-- A probe that breaks every rule below (SECURITY DEFINER, no pinned
-- search_path, executable by PUBLIC, no comment, owned by a non-superuser,
-- writes while STABLE), made a member for the length of the checks: each
-- check lists it, so none of them can pass by accident.
CREATE ROLE rk_probe_owner;
GRANT CREATE ON SCHEMA rowkeeper TO rk_probe_owner;
SET ROLE rk_probe_owner;
CREATE FUNCTION rowkeeper._hardening_probe() RETURNS int
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    AS 'BEGIN EXECUTE format(''CREATE TABLE IF NOT EXISTS x ()''); RETURN 1; END';
RESET ROLE;
ALTER EXTENSION rowkeeper ADD FUNCTION rowkeeper._hardening_probe();

-- SECURITY DEFINER functions pin search_path with pg_temp last ...
SELECT p.oid::regprocedure AS definer_without_pinned_path
  FROM ext_functions p
 WHERE p.prosecdef
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c
                    WHERE c LIKE 'search\_path=%' AND c LIKE '%pg\_temp'
                      AND c LIKE 'search\_path=pg\_catalog%');
-- ... are owned by the bootstrap superuser that ran CREATE EXTENSION
-- (the extension's owner) ...
SELECT p.oid::regprocedure AS definer_owned_otherwise
  FROM ext_functions p
 WHERE p.prosecdef
   AND (p.proowner <> (SELECT extowner FROM pg_extension WHERE extname = 'rowkeeper')
        OR NOT (SELECT rolsuper FROM pg_roles WHERE oid = p.proowner));
-- ... and only these may be executed by PUBLIC, each for its reason:
--   create_audit_partitions  enable_audit() calls it as the table owner;
--                            it only creates partitions of the log.
--   _record_audit_drops      an event trigger function: cannot be called.
--   _audit_bind              the audit trigger calls it as whoever writes;
--                            it records only catalog facts (a table's OID
--                            and name) and hands out a new id or the one
--                            the table holds or takes back by its name.
--   _audit_refresh_names     the event trigger calls it as whoever runs
--                            DDL; it copies current names from the catalog.
--   _audit_citus_adopt       enable_audit() on a Citus coordinator calls it
--                            on each worker as the table's owner; it checks
--                            that the caller owns the Citus table and binds
--                            only an id no other table holds there.
--   forget, forget_actor     check the role that issued the statement first
--                            (the table's owner, the database owner or a
--                            superuser; never rowkeeper_app): tested in
--                            sql/audit_forget.sql.
-- (Purge run records are no longer written by SECURITY DEFINER functions:
-- src/purge.c checks the caller, then writes as the table's owner.)
SELECT p.oid::regprocedure AS definer, p.proacl IS NULL OR has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
  FROM ext_functions p
 WHERE p.prosecdef
 ORDER BY p.oid::regprocedure::text COLLATE "C";
SELECT p.oid::regprocedure AS definer_public_not_listed
  FROM ext_functions p
 WHERE p.prosecdef
   AND EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
   AND p.oid::regprocedure::text NOT IN (
        'rowkeeper.create_audit_partitions(integer)',
        'rowkeeper._record_audit_drops()',
        'rowkeeper._audit_bind(regclass,boolean)',
        'rowkeeper._audit_citus_adopt(regclass,bigint)',
        'rowkeeper._audit_refresh_names()',
        'rowkeeper.forget(regclass,jsonb,name[])',
        'rowkeeper.forget_actor(text)');
-- Calling the event trigger function directly is refused.
\set VERBOSITY terse
SELECT rowkeeper._record_audit_names();
\set VERBOSITY default
-- Every function pins search_path, is written in C, or is a procedure that
-- sets it itself (those cannot carry a SET clause: they COMMIT).
SELECT p.oid::regprocedure AS unpinned
  FROM ext_functions p
 WHERE p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c
                    WHERE c = 'search_path=pg_catalog, pg_temp')
   AND NOT (p.prokind = 'p' AND NOT p.prosecdef
            AND p.prosrc LIKE '%pg\_catalog.set\_config(''search\_path'', ''pg\_catalog, pg\_temp'', true)%');
-- Every function has a comment, and declares its volatility deliberately:
-- nothing that writes or runs DDL is marked STABLE or IMMUTABLE.  The one
-- listed only builds the DELETE statement that rowkeeper.hard_delete()
-- (VOLATILE, C) runs.
SELECT p.oid::regprocedure AS undocumented
  FROM ext_functions p
 WHERE obj_description(p.oid, 'pg_proc') IS NULL;
SELECT p.oid::regprocedure AS writes_but_not_volatile
  FROM ext_functions p
 WHERE p.provolatile <> 'v'
   AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
   AND p.prosrc ~* '\m(insert\s+into|update\s+rowkeeper|delete\s+from|execute\s+format\(''(create|drop|alter))'
 ORDER BY p.oid::regprocedure::text COLLATE "C";
ALTER EXTENSION rowkeeper DROP FUNCTION rowkeeper._hardening_probe();
DROP FUNCTION rowkeeper._hardening_probe();
REVOKE CREATE ON SCHEMA rowkeeper FROM rk_probe_owner;
DROP ROLE rk_probe_owner;

-- Clean up.
SELECT rowkeeper.disable_audit('hc_items');
SELECT rowkeeper.disable_tenant_isolation('hc_items');
SELECT rowkeeper.disable_soft_delete('hc_notes', force => true);
DROP TABLE hc_refs, hc_items, hc_notes;
SELECT rowkeeper.disable_audit('hc_stmt');
DROP TABLE hc_stmt;
SELECT rowkeeper.disable_soft_delete('hc_s.child', force => true);
SELECT rowkeeper.disable_soft_delete('hc_s.parent', force => true);
SELECT t FROM rowkeeper.disable_tenant_isolation_in_schema('hc_s') t ORDER BY t::text COLLATE "C";
SELECT t FROM rowkeeper.disable_updated_at_in_schema('hc_s') t ORDER BY t::text COLLATE "C";
SELECT rowkeeper.disable_audit('hc_s.parent'), rowkeeper.disable_audit('hc_s.child');
DROP SCHEMA hc_s CASCADE;
DROP ROLE rk_hc_app;
DROP SCHEMA rk_evil CASCADE;
DROP SCHEMA rk_trap CASCADE;
DROP ROLE rk_evil_owner;
