/*
 * rowkeeper 0.2.0 -> 0.3.0: the hand-written delta of the upgrade script.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 * make builds rowkeeper--0.2.0--0.3.0.sql from this file: the line
 * "-- REPLAY CODE" below is replaced by the code of the living sources
 * src/sql/NN_*.sql (everything but their STATE blocks: CREATE OR REPLACE
 * of every function, procedure and view, with their grants and comments).
 * So this file holds only what a replay cannot do (see src/sql/README.md):
 *  1. before the replay: drop what 0.3.0 no longer has or redefines
 *     incompatibly (another signature, result type or view columns), turn
 *     0.2.0's soft-delete views back into their tables, and bring state
 *     (roles, tables, columns, event triggers) to its 0.3.0 form;
 *  2. after it: migrate data with the new functions (audit table identity,
 *     row_ref, tenant policies, soft delete on the converted tables, grants
 *     on partitions).
 * The result equals a fresh install of 0.3.0: test/t/070_upgrade.pl
 * compares every member object, function definition and grant.
 */

\echo Use "ALTER EXTENSION rowkeeper UPDATE" to load this file. \quit

------------------------------------------------------------------------------
-- 1. Before the replay
------------------------------------------------------------------------------

/*
 * Soft delete (issue 16): 0.2.0 renamed a table t to t_with_deleted and put
 * a security_invoker view t in front of it, with an INSTEAD OF DELETE
 * trigger.  0.3.0 keeps the table under its own name.  Each such pair goes
 * back: the grants on the view move to the table (the table keeps its
 * own), the view's comment too when it is not the one rowkeeper wrote and
 * the table has none, the view and its trigger go, and the table takes the
 * view's name back.  Every row and mark (deleted_at, batch) stays; the
 * guard trigger and its arguments stay, and soft delete is enabled again
 * with those options after the replay (section 2).  A view that other
 * objects depend on (views over it, rules, triggers of the user's) cannot
 * be dropped without them: the upgrade stops and says which, before it
 * changed anything.
 */
DO $$
DECLARE
    v record;
    a record;
    blockers text;
BEGIN
    FOR v IN
        SELECT t.tgrelid::pg_catalog.regclass AS view, vc.relname AS view_name,
               vc.relnamespace AS view_nsp, vc.relacl AS view_acl,
               pg_catalog.obj_description(vc.oid, 'pg_class') AS view_comment,
               bc.oid::pg_catalog.regclass AS base, bc.relnamespace AS base_nsp
          FROM pg_catalog.pg_trigger t
          JOIN pg_catalog.pg_class vc ON vc.oid = t.tgrelid
          JOIN pg_catalog.pg_rewrite r ON r.ev_class = vc.oid AND r.rulename = '_RETURN'
          -- the one table the view selects from
          CROSS JOIN LATERAL (
                SELECT d.refobjid FROM pg_catalog.pg_depend d
                 WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
                   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                   AND d.refobjid OPERATOR(pg_catalog.<>) vc.oid AND d.deptype = 'n'
                 ORDER BY d.refobjid LIMIT 1) d
          JOIN pg_catalog.pg_class bc ON bc.oid = d.refobjid
         WHERE t.tgfoid = 'rowkeeper.soft_delete_trigger()'::pg_catalog.regprocedure
           AND vc.relkind = 'v' AND bc.relkind IN ('r', 'p')
         ORDER BY 1
    LOOP
        -- what depends on the view: other views (by their _RETURN rules),
        -- rules, triggers, functions with SQL bodies
        SELECT pg_catalog.string_agg(DISTINCT
                   CASE WHEN d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                             AND r.rulename = '_RETURN'
                        THEN pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, r.ev_class, 0)
                        ELSE pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) END, ', ')
          INTO blockers
          FROM pg_catalog.pg_depend d
          LEFT JOIN pg_catalog.pg_rewrite r
                 ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND r.oid = d.objid
         WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = v.view
           AND d.deptype = 'n'
           AND NOT (d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass
                    AND d.objid = (SELECT t.oid FROM pg_catalog.pg_trigger t
                                    WHERE t.tgrelid = v.view AND t.tgname = 'rowkeeper_soft_delete'))
           AND NOT (d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                    AND d.objid = (SELECT r.oid FROM pg_catalog.pg_rewrite r
                                    WHERE r.ev_class = v.view AND r.rulename = '_RETURN'));
        IF blockers IS NULL THEN
            SELECT pg_catalog.string_agg(pg_catalog.format('trigger %I', t.tgname), ', ' ORDER BY t.tgname)
              INTO blockers
              FROM pg_catalog.pg_trigger t
             WHERE t.tgrelid = v.view AND t.tgname OPERATOR(pg_catalog.<>) 'rowkeeper_soft_delete';
        END IF;
        IF blockers IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'dependent_objects_still_exist',
                MESSAGE = pg_catalog.format('cannot turn the soft-delete view %s back into table %s',
                                            v.view, v.base),
                DETAIL = pg_catalog.format('rowkeeper 0.3.0 keeps a soft-delete table under its own name, without a view: the upgrade drops the view rowkeeper 0.2.0 made and gives its name back to the table. In the way: %s.',
                                           blockers),
                HINT = pg_catalog.format('Drop those objects, run ALTER EXTENSION rowkeeper UPDATE, and create them again over the table %s (or run rowkeeper.disable_soft_delete(%L) under 0.2.0 first).',
                                         v.view, v.view::text);
        END IF;

        FOR a IN SELECT x.privilege_type, x.grantee, x.is_grantable
                   FROM pg_catalog.aclexplode(v.view_acl) x
                  WHERE x.grantee OPERATOR(pg_catalog.<>)
                        (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = v.view) LOOP
            EXECUTE pg_catalog.format('GRANT %s ON %s TO %s%s', a.privilege_type, v.base,
                                      CASE a.grantee WHEN 0 THEN 'PUBLIC'
                                           ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
                                      CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        IF v.view_comment IS NOT NULL
           AND v.view_comment OPERATOR(pg_catalog.<>)
               pg_catalog.format('Live rows of %s (rowkeeper soft delete: DELETE here marks rows deleted).', v.base)
           AND pg_catalog.obj_description(v.base, 'pg_class') IS NULL THEN
            EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', v.base, v.view_comment);
        END IF;
        EXECUTE pg_catalog.format('DROP TRIGGER rowkeeper_soft_delete ON %s', v.view);
        EXECUTE pg_catalog.format('DROP VIEW %s', v.view);
        IF v.base_nsp OPERATOR(pg_catalog.<>) v.view_nsp THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s SET SCHEMA %I', v.base,
                                      (SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.oid = v.view_nsp));
        END IF;
        EXECUTE pg_catalog.format('ALTER TABLE %s RENAME TO %I', v.base, v.view_name);
    END LOOP;
END;
$$;

-- Functions 0.3.0 no longer has, or has with another signature or result
-- type (CREATE OR REPLACE cannot change those), and the view whose columns
-- changed.
DROP VIEW rowkeeper.soft_delete_tables;
DROP FUNCTION rowkeeper._audit_names(regclass);
DROP FUNCTION rowkeeper._audit_table_of(text, text);
DROP FUNCTION rowkeeper._purge_run_start(text, text, timestamptz, jsonb);
DROP FUNCTION rowkeeper._row_entries(regclass, jsonb);
DROP FUNCTION rowkeeper._soft_delete_view(regclass);
DROP FUNCTION rowkeeper._view_base(regclass);
DROP FUNCTION rowkeeper._soft_delete_config(regclass);
DROP FUNCTION rowkeeper.audit_status();
DROP FUNCTION rowkeeper.enable_soft_delete(regclass, name, name, name, name);
DROP FUNCTION rowkeeper.enable_updated_at(regclass, name, boolean, boolean, boolean, text);
DROP FUNCTION rowkeeper.enable_updated_at_in_schema(name, name, boolean, boolean, boolean, text);
DROP FUNCTION rowkeeper.row_ref(text, text, jsonb);
DROP FUNCTION rowkeeper.set_context(text, text, text);

/*
 * Roles: rowkeeper_app (tenant-scoped reader of the log) and
 * rowkeeper_see_deleted are new; made when missing, adopted with a WARNING
 * when someone already holds rowkeeper_app, and the database owner gets
 * ADMIN OPTION on rowkeeper_auditor and rowkeeper_app (as a fresh install
 * does; src/sql/01_install_guard.sql says why).
 */
DO $$
DECLARE
    holders text;
    owner_role oid := (SELECT d.datdba FROM pg_catalog.pg_database d
                        WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database());
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rowkeeper_app') THEN
        CREATE ROLE rowkeeper_app NOLOGIN;
    ELSE
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(r.rolname), ', ' ORDER BY r.rolname)
          INTO holders
          FROM pg_catalog.pg_roles r
         WHERE (r.rolname = 'rowkeeper_app' AND r.rolcanlogin)
            OR (r.rolname <> 'rowkeeper_app' AND NOT r.rolsuper
                AND r.oid OPERATOR(pg_catalog.<>) owner_role
                AND pg_catalog.pg_has_role(r.oid, 'rowkeeper_app', 'MEMBER'));
        IF holders IS NOT NULL THEN
            RAISE WARNING USING
                MESSAGE = pg_catalog.format('role rowkeeper_app already existed: %s can read the audit log of database %I (the entries of their current tenant)',
                                            holders, pg_catalog.current_database()),
                DETAIL = 'Roles are shared by all databases of the cluster; rowkeeper adopted the existing role and grants it tenant-scoped read access to rowkeeper.audit_log.',
                HINT = 'If that is not intended: REVOKE rowkeeper_app FROM <role>; ALTER ROLE rowkeeper_app NOLOGIN;';
        END IF;
    END IF;

    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) owner_role) THEN
        IF pg_catalog.current_setting('server_version_num')::int >= 160000 THEN
            EXECUTE pg_catalog.format('GRANT rowkeeper_auditor, rowkeeper_app TO %s WITH ADMIN OPTION, INHERIT FALSE, SET FALSE',
                                      owner_role::regrole::text);
        ELSE
            EXECUTE pg_catalog.format('GRANT rowkeeper_auditor, rowkeeper_app TO %s WITH ADMIN OPTION',
                                      owner_role::regrole::text);
        END IF;
    END IF;

    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = 'rowkeeper_see_deleted') THEN
        CREATE ROLE rowkeeper_see_deleted NOLOGIN;
    END IF;
END;
$$;

/*
 * Audit table identity (src/sql/10_audit.sql): audit_incarnations and
 * audit_incarnation_oids replace audit_table_names (which 0.2.0 kept per
 * OID and name), and each entry carries table_id.  The entries' table_id
 * and row_ref are filled in section 2, with the new functions.
 */
CREATE SEQUENCE rowkeeper.audit_incarnations_id_seq AS bigint;
CREATE TABLE rowkeeper.audit_incarnations (
    table_id     bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('rowkeeper.audit_incarnations_id_seq'),
    schema_name  text        NOT NULL,
    table_name   text        NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    dropped_at   timestamptz
);
ALTER SEQUENCE rowkeeper.audit_incarnations_id_seq OWNED BY rowkeeper.audit_incarnations.table_id;
CREATE INDEX audit_incarnations_name_idx ON rowkeeper.audit_incarnations (schema_name, table_name);
REVOKE ALL ON rowkeeper.audit_incarnations FROM PUBLIC;
REVOKE ALL ON SEQUENCE rowkeeper.audit_incarnations_id_seq FROM PUBLIC;
GRANT SELECT ON rowkeeper.audit_incarnations TO rowkeeper_auditor;
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_incarnations', '');
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_incarnations_id_seq', '');
SELECT pg_catalog.setval('rowkeeper.audit_incarnations_id_seq',
                         1 + (pg_catalog.random() * 1e15)::bigint, false);
COMMENT ON TABLE rowkeeper.audit_incarnations IS
'One row per audited table identity (table_id in rowkeeper.audit_log): its schema and name now, and when it was dropped (a previous incarnation: its entries stay, a new table of that name starts a new history).';

CREATE TABLE rowkeeper.audit_incarnation_oids (
    table_oid    oid         PRIMARY KEY,
    table_id     bigint      NOT NULL UNIQUE
);
REVOKE ALL ON rowkeeper.audit_incarnation_oids FROM PUBLIC;
GRANT SELECT ON rowkeeper.audit_incarnation_oids TO rowkeeper_auditor;
COMMENT ON TABLE rowkeeper.audit_incarnation_oids IS
'Which relation (by OID, in this database) holds which audit table_id; not dumped, rebuilt by name after a restore.';

-- the columns after row_ref, in the order a fresh install has them; the
-- functions that take a rowkeeper.audit_log row are replayed after this
ALTER TABLE rowkeeper.audit_log ADD COLUMN table_id bigint;
ALTER TABLE rowkeeper.audit_log ADD COLUMN request_addr inet;
ALTER TABLE rowkeeper.audit_log ADD COLUMN user_agent text;
ALTER TABLE rowkeeper.audit_log ADD COLUMN metadata jsonb;
ALTER TABLE rowkeeper.audit_log ADD COLUMN erased jsonb;
COMMENT ON COLUMN rowkeeper.audit_log.op IS
'INSERT, UPDATE, DELETE or TRUNCATE; SOFT_DELETE or RESTORE (an UPDATE that sets or clears deleted_at); AUDIT_DRIFT or AUDIT_REPAIR (the table''s audit triggers were changed, or enable_audit put them back); EVENT (written by rowkeeper.log_event()).';
COMMENT ON COLUMN rowkeeper.audit_log.row_ref IS
'rowkeeper.row_ref(table_id, row_key): the key of the history index (NULL for TRUNCATE).';
COMMENT ON COLUMN rowkeeper.audit_log.table_id IS
'The audited table''s identity (rowkeeper.audit_incarnations): stable across renames and dump/restore, new for a re-created table.';
COMMENT ON COLUMN rowkeeper.audit_log.request_addr IS
'The end user''s client address given to set_context(client_addr => ...) (client_addr is the connection''s, a pooler''s behind one).';
COMMENT ON COLUMN rowkeeper.audit_log.user_agent IS
'The end user''s user agent given to set_context(user_agent => ...).';
COMMENT ON COLUMN rowkeeper.audit_log.metadata IS
'Free request metadata (a JSON object) given to set_context(metadata => ...).';
COMMENT ON COLUMN rowkeeper.audit_log.erased IS
'NULL, or what erasure (forget, forget_actor) left of the entry''s erased values: {"by": [erasure record ids], "c": {commitments of erased values}, "s": {salts of the values left}}.';

/*
 * Erasure (src/sql/17_audit_forget.sql): the v2 digest's entry salts per
 * sealed batch (NULL: a v1 batch, which keeps verifying as v1: nothing is
 * re-sealed), and the pseudonym key, empty until the first forget_actor().
 */
ALTER TABLE rowkeeper.audit_seal ADD COLUMN salts bytea;
COMMENT ON COLUMN rowkeeper.audit_seal.salts IS
'The entry salts of a batch sealed with the v2 digest, 16 bytes per entry in digest order (NULL: a v1 batch); an erased entry''s salt is zeroed.';
CREATE TABLE rowkeeper.audit_erasure_key (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    key bytea   NOT NULL CHECK (pg_catalog.octet_length(key) = 32)
);
REVOKE ALL ON rowkeeper.audit_erasure_key FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_erasure_key', '');
COMMENT ON TABLE rowkeeper.audit_erasure_key IS
'The secret key of forget_actor() pseudonyms (stable across calls, and across pg_dump/pg_restore). Whoever reads it can test a guessed actor against a pseudonym: keep it to the extension''s owner.';

-- Tenant-scoped reads of the log (src/sql/31_audit_app.sql).
GRANT SELECT ON rowkeeper.audit_log TO rowkeeper_app;
GRANT SELECT ON rowkeeper.audit_incarnations TO rowkeeper_app;
GRANT SELECT ON rowkeeper.audit_incarnation_oids TO rowkeeper_app;

-- The event trigger on names fires on more commands; the one on drops is new.
DROP EVENT TRIGGER rowkeeper_audit_names;

-- Purge run records name their table by OID and owner, and only auditors
-- and the owner's members read them.  Records of 0.2.0 runs keep NULL
-- there (their table is known by name only, which another table may have
-- taken since): auditors read them.
ALTER TABLE rowkeeper.purge_runs ADD COLUMN target_oid oid;
ALTER TABLE rowkeeper.purge_runs ADD COLUMN target_owner oid;
ALTER TABLE rowkeeper.purge_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY purge_runs_readers ON rowkeeper.purge_runs FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role('rowkeeper_auditor', 'USAGE')
           OR CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_roles o WHERE o.oid = target_owner)
                   THEN pg_catalog.pg_has_role(target_owner, 'USAGE') ELSE false END);
COMMENT ON COLUMN rowkeeper.purge_runs.target_owner IS
'The owner of the purged table when the run started: its members (and rowkeeper_auditor) can read the record. Set on every record a run writes.';

COMMENT ON SEQUENCE rowkeeper.soft_delete_batch_seq IS
'Deletion batch ids: one per soft-deleting transaction, shared by every row it soft-deletes.';

------------------------------------------------------------------------------
-- The code of 0.3.0 (make inserts it here)
------------------------------------------------------------------------------

-- REPLAY CODE

------------------------------------------------------------------------------
-- 2. After the replay
------------------------------------------------------------------------------

-- Row-level security on the log, with policies that call the new
-- current_tenant() binding.
ALTER TABLE rowkeeper.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_auditor ON rowkeeper.audit_log FOR SELECT TO rowkeeper_auditor
    USING (true);
CREATE POLICY audit_log_tenant ON rowkeeper.audit_log FOR SELECT TO rowkeeper_app
    USING (tenant OPERATOR(pg_catalog.=) rowkeeper.current_tenant());
COMMENT ON POLICY audit_log_auditor ON rowkeeper.audit_log IS
'rowkeeper_auditor reads every entry.';
COMMENT ON POLICY audit_log_tenant ON rowkeeper.audit_log IS
'rowkeeper_app reads the entries of the current tenant only (no tenant set: an error).';

CREATE EVENT TRIGGER rowkeeper_audit_names ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER', 'ALTER TRIGGER', 'ALTER SCHEMA')
    EXECUTE FUNCTION rowkeeper._record_audit_names();
CREATE EVENT TRIGGER rowkeeper_audit_drops ON sql_drop
    EXECUTE FUNCTION rowkeeper._record_audit_drops();
-- soft delete's cascade trigger follows the foreign keys that reference a
-- table (src/sql/21_soft_delete_cascade.sql)
CREATE EVENT TRIGGER rowkeeper_soft_delete_fkeys ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'DROP TABLE', 'CREATE SCHEMA', 'DROP SCHEMA',
                 'DROP OWNED', 'CREATE EXTENSION', 'ALTER EXTENSION', 'DROP EXTENSION')
    EXECUTE FUNCTION rowkeeper._soft_delete_fkeys_changed();
ALTER EVENT TRIGGER rowkeeper_soft_delete_fkeys ENABLE ALWAYS;

/*
 * Every audited table gets its identity (bound by OID), and each entry the
 * table_id of the relation that has its OID now; entries of tables gone
 * since (or restored under new OIDs) go to the identity of the table that
 * has their name now, else to a previous incarnation per name, as 0.2.0
 * found them by name.  Then row_ref, which 0.2.0 computed from the names,
 * is computed from the table id.
 */
SELECT rowkeeper._audit_bind(coalesce(pg_catalog.pg_partition_root(t.tgrelid), t.tgrelid))
  FROM (SELECT DISTINCT t.tgrelid FROM pg_catalog.pg_trigger t
         WHERE t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure) t;
UPDATE rowkeeper.audit_log l SET table_id = b.table_id
  FROM rowkeeper.audit_incarnation_oids b WHERE b.table_oid = l.table_oid;
UPDATE rowkeeper.audit_log l SET table_id = i.table_id
  FROM rowkeeper.audit_incarnations i
 WHERE l.table_id IS NULL AND i.schema_name = l.schema_name AND i.table_name = l.table_name;
INSERT INTO rowkeeper.audit_incarnations (schema_name, table_name, dropped_at)
SELECT DISTINCT l.schema_name, l.table_name, pg_catalog.now()
  FROM rowkeeper.audit_log l WHERE l.table_id IS NULL;
UPDATE rowkeeper.audit_log l SET table_id = i.table_id
  FROM rowkeeper.audit_incarnations i
 WHERE l.table_id IS NULL AND i.dropped_at IS NOT NULL
   AND i.schema_name = l.schema_name AND i.table_name = l.table_name;
UPDATE rowkeeper.audit_log
   SET row_ref = rowkeeper.row_ref(table_id, row_key)
 WHERE row_key IS NOT NULL;
-- (a configuration table: it leaves pg_extension.extconfig only this way)
ALTER EXTENSION rowkeeper DROP TABLE rowkeeper.audit_table_names;
DROP TABLE rowkeeper.audit_table_names;

-- Monthly partitions made under 0.2.0 get the log's readers as new ones
-- do (src/sql/45_dump_access.sql); the database owner, when not a
-- superuser, gets dump access.
DO $$
DECLARE
    dbowner regrole;
BEGIN
    PERFORM rowkeeper._grant_partition_readers(t.relid)
       FROM pg_catalog.pg_partition_tree('rowkeeper.audit_log') t
      WHERE t.isleaf AND t.relid <> 'rowkeeper.audit_log_default'::regclass;
    SELECT d.datdba::regrole INTO dbowner
      FROM pg_catalog.pg_database d
      JOIN pg_catalog.pg_roles r ON r.oid = d.datdba
     WHERE d.datname = pg_catalog.current_database() AND NOT r.rolsuper;
    IF dbowner IS NOT NULL THEN
        PERFORM rowkeeper.grant_dump_access(dbowner);
    END IF;
END;
$$;

/*
 * Tenant isolation: the permissive policy rowkeeper_tenant_access repeats
 * the tenant predicate instead of true (src/sql/30_tenant.sql: where
 * policies lose AS RESTRICTIVE, as on Citus shards, the pair still confines
 * to the tenant).  The predicate is the restrictive policy's.
 */
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT a.polrelid::pg_catalog.regclass AS tbl,
                    pg_catalog.pg_get_expr(i.polqual, i.polrelid) AS predicate
               FROM pg_catalog.pg_policy a
               JOIN pg_catalog.pg_policy i
                 ON i.polrelid = a.polrelid AND i.polname = 'rowkeeper_tenant_isolation'
              WHERE a.polname = 'rowkeeper_tenant_access' LOOP
        EXECUTE pg_catalog.format('ALTER POLICY rowkeeper_tenant_access ON %s USING (%s) WITH CHECK (%s)',
                                  p.tbl, p.predicate, p.predicate);
        EXECUTE pg_catalog.format('COMMENT ON POLICY rowkeeper_tenant_access ON %s IS %L', p.tbl,
                                  'rowkeeper tenant isolation: the current tenant''s rows are accessible (the same predicate as rowkeeper_tenant_isolation, so that the pair confines to the tenant where policies lose AS RESTRICTIVE, as on Citus shards)');
    END LOOP;
END;
$$;

/*
 * Soft delete: every table with 0.2.0's guard (the tables section 1 gave
 * their names back, and any other) gets 0.3.0's soft delete with the same
 * options, read from the guard's arguments (column, by=<column>,
 * batch=<column>): the guard, the cascade trigger and the policies that
 * hide deleted rows.
 */
SELECT rowkeeper.enable_soft_delete(t.tgrelid::pg_catalog.regclass,
                                    column_name => a.args[1]::name,
                                    deleted_by_column => NULLIF(pg_catalog.substr(a.args[2], 4), '')::name,
                                    batch_column => pg_catalog.substr(a.args[3], 7)::name)
  FROM pg_catalog.pg_trigger t
  CROSS JOIN LATERAL (SELECT rowkeeper._trigger_args(t.tgargs) AS args) a
 WHERE t.tgname = 'rowkeeper_soft_delete' AND t.tgparentid = 0
   AND t.tgfoid = 'rowkeeper.soft_delete_guard()'::pg_catalog.regprocedure
 ORDER BY t.tgrelid;
