-- audit_app: the audit query functions for application roles (issue 18,
-- item 1).  A member of rowkeeper_app reads exactly the entries of its
-- current tenant through every function, fails closed without a tenant,
-- never sees another tenant's; rowkeeper_auditor reads all; a role with
-- neither is told which GRANT to run; the database owner can grant both.
SET TimeZone = 'UTC';
\set regdb :DBNAME
SELECT setval('rowkeeper.audit_log_id_seq', 7000, false);          -- ids in messages

------------------------------------------------------------------------------
-- The database owner (not a superuser) can grant the roles.
------------------------------------------------------------------------------
CREATE ROLE aa_dbo;
CREATE ROLE aa_someone;
CREATE DATABASE aa_owned OWNER aa_dbo;
\c aa_owned
SET client_min_messages = error;      -- the roles exist already: no adoption warning here
CREATE EXTENSION rowkeeper;
RESET client_min_messages;
SELECT r.rolname AS role, m.rolname AS member, a.admin_option
  FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
 WHERE m.rolname = 'aa_dbo' ORDER BY 1;
SET ROLE aa_dbo;
GRANT rowkeeper_app TO aa_someone;
GRANT rowkeeper_auditor TO aa_someone;
REVOKE rowkeeper_app, rowkeeper_auditor FROM aa_someone;
RESET ROLE;
\c :regdb
DROP DATABASE aa_owned;
DROP ROLE aa_dbo, aa_someone;

------------------------------------------------------------------------------
-- Two tenants write an audited, tenant-isolated table.
------------------------------------------------------------------------------
SET TimeZone = 'UTC';
CREATE ROLE aa_app IN ROLE rowkeeper_app;
CREATE ROLE aa_auditor IN ROLE rowkeeper_auditor;
CREATE ROLE aa_both IN ROLE rowkeeper_app, rowkeeper_auditor;
CREATE ROLE aa_plain;
CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id text NOT NULL, body text);
SELECT rowkeeper.enable_audit('notes');
SELECT rowkeeper.enable_tenant_isolation('notes');
GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO aa_app, aa_plain, aa_both;
GRANT SELECT ON notes TO aa_auditor;

SET ROLE aa_app;
BEGIN;
SELECT rowkeeper.set_context('alice', 'A', 'req-a1');
INSERT INTO notes (id, body) VALUES (1, 'a one'), (3, 'a three');
UPDATE notes SET body = 'a one, edited' WHERE id = 1;
COMMIT;
BEGIN;
SELECT rowkeeper.set_context('bob', 'B', 'req-b1');
INSERT INTO notes (id, body) VALUES (2, 'b two');
UPDATE notes SET body = 'b two, edited' WHERE id = 2;
COMMIT;
RESET ROLE;
SELECT pg_sleep(0.01);
SELECT clock_timestamp() AS t_mid \gset
SELECT pg_sleep(0.01);
SET ROLE aa_app;
BEGIN;
SELECT rowkeeper.set_context('bob', 'B', 'req-b2');
UPDATE notes SET body = 'b two, later' WHERE id = 2;
DELETE FROM notes WHERE id = 2;
COMMIT;
BEGIN;
SELECT rowkeeper.set_context('alice', 'A', 'req-a2');
UPDATE notes SET body = 'a three, later' WHERE id = 3;
COMMIT;
RESET ROLE;
-- and one change without a tenant (the owner, as a migration would)
INSERT INTO notes VALUES (4, 'A', 'by the owner');

SELECT min(id) AS b_entry, min(txid::text)::xid8 AS b_txid FROM rowkeeper.audit_log WHERE tenant = 'B' \gset
SELECT min(id) AS a_entry FROM rowkeeper.audit_log WHERE tenant = 'A' AND op = 'UPDATE' \gset
SELECT tenant, count(*) FROM rowkeeper.audit_log GROUP BY tenant ORDER BY tenant;

------------------------------------------------------------------------------
-- A role with neither role: told what to grant, by every function.
------------------------------------------------------------------------------
SET ROLE aa_plain;
\set VERBOSITY default
SELECT * FROM rowkeeper.row_history('notes', '{"id": 1}');
SELECT rowkeeper.row_as_of('notes', '{"id": 1}', now());
SELECT * FROM rowkeeper.changes('notes', '-infinity');
SELECT * FROM rowkeeper.changes_by('alice', '-infinity');
SELECT * FROM rowkeeper.transaction_changes(:'b_txid');
SELECT rowkeeper.undo(:a_entry);
\set VERBOSITY terse
SELECT count(*) FROM rowkeeper.audit_log;
RESET ROLE;

------------------------------------------------------------------------------
-- rowkeeper_app without a tenant: fails closed everywhere, also where
-- there is nothing to read.
------------------------------------------------------------------------------
SET ROLE aa_app;
SELECT * FROM rowkeeper.row_history('notes', '{"id": 1}');
SELECT * FROM rowkeeper.row_history('notes', '{"id": 999}');
SELECT rowkeeper.row_as_of('notes', '{"id": 1}', now());
SELECT * FROM rowkeeper.table_as_of('notes', now());
SELECT * FROM rowkeeper.diff('notes', '{"id": 1}', '-infinity', now());
SELECT * FROM rowkeeper.changes('notes', '-infinity');
SELECT * FROM rowkeeper.changes_by('nobody', '-infinity');
SELECT * FROM rowkeeper.transaction_changes('1'::xid8);
SELECT * FROM rowkeeper.incarnation_history(rowkeeper._audit_table_id('notes'), '{"id": 1}');
SELECT rowkeeper.undo(:a_entry);
SELECT rowkeeper.undo_transaction(:'b_txid');
SELECT rowkeeper.restore_row('notes', '{"id": 1}', now());
SELECT count(*) FROM rowkeeper.audit_log;
RESET ROLE;

------------------------------------------------------------------------------
-- Tenant A sees exactly its entries, through every function.
------------------------------------------------------------------------------
SET ROLE aa_app;
BEGIN;
SELECT rowkeeper.set_context('alice', 'A', NULL);
SELECT op, row_key, tenant, actor FROM rowkeeper.row_history('notes', '{"id": 1}');
SELECT op, row_key, tenant FROM rowkeeper.row_history('notes', '{"id": 2}');    -- B's row: nothing
SELECT op, row_key, tenant FROM rowkeeper.incarnation_history(rowkeeper._audit_table_id('notes'), '{"id": 2}');
SELECT rowkeeper.row_as_of('notes', '{"id": 2}', :'t_mid') AS b_row_as_of;  -- B's row existed then: not for A
SELECT rowkeeper.row_as_of('notes', '{"id": 3}', :'t_mid') AS a_row_as_of;
-- Entries written without a tenant are no tenant's: A's time travel does
-- not undo the owner's insert of row 4 (auditors see it, below).
SELECT * FROM rowkeeper.table_as_of('notes', :'t_mid');
SELECT * FROM rowkeeper.diff('notes', '{"id": 2}', '-infinity', now());
SELECT op, row_key, tenant FROM rowkeeper.changes('notes', '-infinity');
SELECT count(*) AS bob_entries FROM rowkeeper.changes_by('bob', '-infinity');
SELECT count(*) AS b_txn_entries FROM rowkeeper.transaction_changes(:'b_txid');
SELECT tenant, count(*) FROM rowkeeper.audit_log GROUP BY tenant;   -- a plain SELECT too
SAVEPOINT s;
SELECT rowkeeper.undo(:b_entry);                 -- B's entry does not exist for A
ROLLBACK TO s;
\set VERBOSITY sqlstate
SELECT rowkeeper.undo_transaction(:'b_txid');    -- nor does B's transaction (no_data_found)
\set VERBOSITY terse
ROLLBACK TO s;
SELECT rowkeeper.restore_row('notes', '{"id": 2}', :'t_mid');   -- no-op: A knows no row 2
SELECT rowkeeper.undo(:a_entry, force => true);  -- A's own entry: undone
SELECT id, body FROM notes ORDER BY id;
ROLLBACK;
RESET ROLE;
SELECT id, tenant_id, body FROM notes ORDER BY id;  -- B's row 2 was not re-inserted

-- The same with B: B sees B's entries, not A's.
SET ROLE aa_app;
BEGIN;
SELECT rowkeeper.set_context('bob', 'B', NULL);
SELECT op, row_key, tenant FROM rowkeeper.row_history('notes', '{"id": 2}');
SELECT op, row_key, tenant FROM rowkeeper.row_history('notes', '{"id": 1}');
SELECT count(*) AS alice_entries FROM rowkeeper.changes_by('alice', '-infinity');
ROLLBACK;
RESET ROLE;

------------------------------------------------------------------------------
-- Prepared statements and cached plans follow the tenant of each
-- execution, never the one they were planned under.
------------------------------------------------------------------------------
SET ROLE aa_app;
PREPARE hist(jsonb) AS SELECT op, row_key, tenant FROM rowkeeper.row_history('notes', $1);
PREPARE log_count AS SELECT tenant, count(*) FROM rowkeeper.audit_log GROUP BY tenant;
PREPARE chg AS SELECT tenant, count(*) FROM rowkeeper.changes('notes', '-infinity') GROUP BY tenant;
SET plan_cache_mode = force_generic_plan;
BEGIN; SELECT rowkeeper.set_context(tenant => 'A');
EXECUTE hist('{"id": 2}'); EXECUTE log_count; EXECUTE chg;
COMMIT;
BEGIN; SELECT rowkeeper.set_context(tenant => 'B');
EXECUTE hist('{"id": 2}'); EXECUTE log_count; EXECUTE chg;
COMMIT;
BEGIN; SELECT rowkeeper.set_context(tenant => 'A');
EXECUTE hist('{"id": 2}'); EXECUTE log_count; EXECUTE chg;
COMMIT;
EXECUTE log_count;                               -- the tenant ended with its transaction
RESET plan_cache_mode;
DEALLOCATE ALL;
RESET ROLE;

------------------------------------------------------------------------------
-- Auditors read every tenant's entries, also without a tenant; so does a
-- member of both roles.
------------------------------------------------------------------------------
SET ROLE aa_auditor;
SELECT tenant, count(*) FROM rowkeeper.changes('notes', '-infinity') GROUP BY tenant ORDER BY tenant;
SELECT count(*) AS b_row_entries FROM rowkeeper.row_history('notes', '{"id": 2}');
RESET ROLE;
SET ROLE aa_both;
SELECT tenant, count(*) FROM rowkeeper.audit_log GROUP BY tenant ORDER BY tenant;
SELECT count(*) AS b_row_entries FROM rowkeeper.row_history('notes', '{"id": 2}');
RESET ROLE;

-- The partitions of the log have no policy: rowkeeper_app gets none of
-- them, also not the ones made later (create_audit_partitions grants the
-- log's other readers).
BEGIN;
SELECT count(*) > 0 AS made FROM rowkeeper.create_audit_partitions(36);
SELECT count(*) > 1 AS has_partitions,
       count(*) FILTER (WHERE has_table_privilege('aa_app', relid, 'SELECT')) AS app_readable,
       count(*) FILTER (WHERE has_table_privilege('aa_auditor', relid, 'SELECT')) > 0 AS auditor_reads
  FROM pg_partition_tree('rowkeeper.audit_log') WHERE isleaf;
ROLLBACK;
SET ROLE aa_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'A');
SELECT count(*) FROM rowkeeper.audit_log_default;
ROLLBACK;
RESET ROLE;

-- An application role cannot write the log, whatever its tenant.
SET ROLE aa_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'A');
INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, db_user, role_user, session_user_name, tenant)
VALUES (now(), pg_current_xact_id(), 'notes'::regclass, 'public', 'notes', 'INSERT', 'x', 'x', 'x', 'A');
ROLLBACK;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'A');
DELETE FROM rowkeeper.audit_log;
ROLLBACK;
RESET ROLE;

SELECT rowkeeper.disable_tenant_isolation('notes');
SELECT rowkeeper.disable_audit('notes');
DROP TABLE notes;
DROP ROLE aa_app, aa_auditor, aa_both, aa_plain;
TRUNCATE rowkeeper.audit_log;
