
-- src/sql/31_audit_app.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Audit for the application: tenant-scoped reads of the log
--
-- After the tenant file, since the policy calls current_tenant().
-- The query functions (15_audit_queries.sql) run with the caller's rights
-- and check first that the caller may read the log (_audit_reader); what
-- the caller then sees of the log is decided here, once, for every path.
------------------------------------------------------------------------------

/*
 * Who reads which entries.  Row-level security on the log (ENABLE, not
 * FORCE: the log's owner, the extension's own writers and purge, is not
 * filtered; the audit trigger's direct path writes partitions, below any
 * policy):
 * - rowkeeper_auditor: every entry.
 * - rowkeeper_app: the entries whose tenant is the current tenant.
 *   rowkeeper.current_tenant() raises when no tenant is set, so the policy
 *   fails closed; it is STABLE, so a prepared statement or a cached PL/pgSQL
 *   plan reads the tenant of each execution, never the one it was planned
 *   under.  Entries written without a tenant (migrations, admin work) are
 *   nobody's tenant's: auditors only.
 * A member of both sees every entry (permissive policies are ORed; the
 * constant true folds the tenant check away, so no tenant is needed then).
 * Superusers and roles with BYPASSRLS see every entry, as for any table.
 */
-- STATE BEGIN
GRANT SELECT ON rowkeeper.audit_log TO rowkeeper_app;
GRANT SELECT ON rowkeeper.audit_incarnations TO rowkeeper_app;
GRANT SELECT ON rowkeeper.audit_incarnation_oids TO rowkeeper_app;
ALTER TABLE rowkeeper.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_auditor ON rowkeeper.audit_log FOR SELECT TO rowkeeper_auditor
    USING (true);
CREATE POLICY audit_log_tenant ON rowkeeper.audit_log FOR SELECT TO rowkeeper_app
    USING (tenant OPERATOR(pg_catalog.=) rowkeeper.current_tenant());
COMMENT ON POLICY audit_log_auditor ON rowkeeper.audit_log IS
'rowkeeper_auditor reads every entry.';
COMMENT ON POLICY audit_log_tenant ON rowkeeper.audit_log IS
'rowkeeper_app reads the entries of the current tenant only (no tenant set: an error).';
-- STATE END


/*
 * Application events: entries the application writes itself (a login, an
 * export, a permission change), op EVENT, through the audit trigger's own
 * writer (src/audit.c), so with the same who/when/context columns, in the
 * same hash chain, under the same tenant scoping and retention.  new_row is
 * {"action": ..., "details": ...}; a target naming an audited table (and a
 * key) puts the event into that table's (and row's) history.  Application
 * roles cannot write the log otherwise, and op is fixed to EVENT, so no
 * event can pass for a row change.
 */
CREATE OR REPLACE FUNCTION rowkeeper.log_event(action text, target text DEFAULT NULL,
                                    key jsonb DEFAULT NULL, details jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'audit_log_event';

COMMENT ON FUNCTION rowkeeper.log_event(text, text, jsonb, jsonb) IS
'Write an application event (op EVENT, new_row {"action", "details"}) into the audit log with the current context; target (an audited table) and key put it into that row''s history. Returns the entry id.';

REVOKE ALL ON FUNCTION rowkeeper.log_event(text, text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rowkeeper.log_event(text, text, jsonb, jsonb) TO rowkeeper_app;
