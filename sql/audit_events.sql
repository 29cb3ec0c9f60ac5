-- audit_events: rowkeeper.log_event() (issue 18, item 2).  Application
-- events are entries of the same log (op EVENT), with the same who/when/
-- context and hash chain, in a row's history when they name an audited
-- table and key, tenant-scoped; no caller can make one claim a row change.
SET TimeZone = 'UTC';
SELECT setval('rowkeeper.audit_log_id_seq', 8000, false);          -- ids in messages
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal;
CREATE ROLE ev_app IN ROLE rowkeeper_app;
CREATE ROLE ev_plain;
CREATE ROLE ev_auditor IN ROLE rowkeeper_auditor;
CREATE TABLE invoices (id bigint PRIMARY KEY, tenant_id text NOT NULL, amount int);
SELECT rowkeeper.enable_audit('invoices');
SELECT rowkeeper.enable_tenant_isolation('invoices');
GRANT SELECT, INSERT, UPDATE, DELETE ON invoices TO ev_app;
CREATE TABLE secrets (id int PRIMARY KEY);
SELECT rowkeeper.enable_audit('secrets');

-- Events between row changes, in one transaction of tenant A.
SET ROLE ev_app;
BEGIN;
SELECT rowkeeper.set_context('ann', 'A', 'req-1');
INSERT INTO invoices (id, amount) VALUES (1, 100);
SELECT rowkeeper.log_event('export', 'invoices', '{"id": "1"}', '{"format": "pdf"}') AS export_id \gset
SELECT :export_id > 8000 AS returns_the_entry_id;
SELECT rowkeeper.log_event('login') IS NOT NULL AS logged_in;
SELECT rowkeeper.log_event('report.viewed', 'monthly-report', '{"month": "2026-11"}') IS NOT NULL AS labelled;
-- an action named like a row change is still an EVENT, and changes no image
SELECT rowkeeper.log_event('DELETE', 'invoices', '{"id": 1}') IS NOT NULL AS spoof_attempt;
UPDATE invoices SET amount = 120 WHERE id = 1;
-- a record's history shows the events about it, the images are untouched
SELECT op, row_key, row_data, new_values, actor, tenant, request_id
  FROM rowkeeper.row_history('invoices', '{"id": 1}');
-- the same who/when/context as the row changes of its transaction
SELECT count(DISTINCT (logged_at, txid, actor, db_user, role_user, session_user_name,
                       application_name, request_id, tenant)) AS distinct_contexts,
       count(*) AS entries
  FROM rowkeeper.transaction_changes(pg_current_xact_id());
SELECT op, schema_name, table_name, row_key, new_row, table_id IS NOT NULL AS has_table_id,
       row_ref IS NOT NULL AS indexed
  FROM rowkeeper.transaction_changes(pg_current_xact_id());
SELECT op, new_row ->> 'action' AS action FROM rowkeeper.changes('invoices', '-infinity');
SELECT rowkeeper.row_as_of('invoices', '{"id": 1}', now()) AS as_of_now;
-- events are not undone, and undo of one is refused
SAVEPOINT s;
SELECT rowkeeper.undo(:export_id);
ROLLBACK TO s;
SELECT rowkeeper.undo_transaction(pg_current_xact_id());  -- only the row changes
SELECT id, amount FROM invoices;
ROLLBACK TO s;
COMMIT;
RESET ROLE;

-- Tenant B sees none of A's events, through any function.
SET ROLE ev_app;
BEGIN;
SELECT rowkeeper.set_context('bob', 'B', 'req-2');
SELECT rowkeeper.log_event('login') IS NOT NULL AS b_logged_in;
SELECT op, row_key FROM rowkeeper.row_history('invoices', '{"id": 1}');
SELECT op, new_row ->> 'action' AS action, tenant FROM rowkeeper.audit_log ORDER BY id;
SELECT count(*) AS ann_entries FROM rowkeeper.changes_by('ann', '-infinity');
COMMIT;
RESET ROLE;
-- Without a tenant an event is no tenant's (auditors only).
SET ROLE ev_app;
SELECT rowkeeper.log_event('maintenance.notice') IS NOT NULL AS untenanted;
RESET ROLE;
SET ROLE ev_auditor;
SELECT op, new_row ->> 'action' AS action, tenant, actor FROM rowkeeper.audit_log WHERE op = 'EVENT' ORDER BY id;
RESET ROLE;

-- In the hash chain: sealed and verified with the row changes; an edit of
-- an event is detected.
SELECT entries FROM rowkeeper.seal_audit_log();
SELECT verified, problem FROM rowkeeper.verify_audit_chain();
BEGIN;
UPDATE rowkeeper.audit_log SET new_row = '{"action": "export", "details": {"format": "csv"}}' WHERE id = :export_id;
SELECT verified, problem, audit_id = :export_id AS at_the_event FROM rowkeeper.verify_audit_chain();
ROLLBACK;

-- Who may write events, and what they may claim.
SET ROLE ev_plain;
SELECT rowkeeper.log_event('login');
RESET ROLE;
SET ROLE ev_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'A');
INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, db_user, role_user, session_user_name, tenant)
VALUES (now(), pg_current_xact_id(), 'invoices'::regclass, 'public', 'invoices', 'UPDATE', 'x', 'x', 'x', 'A');
ROLLBACK;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'A');
SELECT rowkeeper._audit_log_drift('invoices', 'UPDATE');
ROLLBACK;
\set VERBOSITY default
SELECT rowkeeper.log_event('viewed', 'secrets', '{"id": 1}');     -- not readable: not in its history
\set VERBOSITY terse
RESET ROLE;

-- Bad input.
SET ROLE ev_app;
\set VERBOSITY default
SELECT rowkeeper.log_event(NULL);
SELECT rowkeeper.log_event('');
SELECT rowkeeper.log_event(repeat('x', 201));
SELECT rowkeeper.log_event('export', repeat('t', 1001));
SELECT rowkeeper.log_event('export', 'invoices', jsonb_build_object('id', 1, 'pad', repeat('k', 3000)));
SELECT rowkeeper.log_event('export', details => jsonb_build_object('blob', repeat('d', 70000)));
SELECT rowkeeper.log_event('export', 'invoices', '{"nope": 1}');
SELECT rowkeeper.log_event('export', 'invoices', '{"id": "one"}');
\set VERBOSITY terse
-- a target that is not a table name at all is a label
SELECT rowkeeper.log_event('x', 'a.b.c.d') IS NOT NULL AS label_ok,
       rowkeeper.log_event('x', '"unterminated') IS NOT NULL AS label_ok2;
RESET ROLE;
SELECT table_oid, schema_name, table_name FROM rowkeeper.audit_log WHERE new_row ->> 'action' = 'x' ORDER BY id;

SELECT rowkeeper.disable_tenant_isolation('invoices');
SELECT rowkeeper.disable_audit('invoices');
SELECT rowkeeper.disable_audit('secrets');
DROP TABLE invoices, secrets;
DROP ROLE ev_app, ev_plain, ev_auditor;
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal;
