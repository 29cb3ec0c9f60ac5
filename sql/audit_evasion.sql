-- audit_evasion: the ways around the audit trail.  Each is closed for
-- application roles, and for owners and superusers either closed by an
-- option or visible in rowkeeper.audit_status().
CREATE TABLE ledger (id int PRIMARY KEY, amount numeric);
CREATE TABLE ledger_always (id int PRIMARY KEY, amount numeric);
SELECT rowkeeper.enable_audit('ledger');
SELECT rowkeeper.enable_audit('ledger_always', replicated => true);
CREATE VIEW entries AS
SELECT table_name, op, row_key FROM rowkeeper.audit_log
 WHERE table_name LIKE 'ledger%' ORDER BY id;

-- session_replication_role = replica (superusers only) skips ordinary
-- triggers, as logical replication's apply does; replicated => true
-- (ENABLE ALWAYS) audits those writes too.
SET session_replication_role = replica;
INSERT INTO ledger VALUES (1, 10);
INSERT INTO ledger_always VALUES (1, 10);
RESET session_replication_role;
SELECT * FROM entries;

-- An application role that does not own the table can do none of it.
CREATE ROLE evasion_app;
GRANT ALL ON ledger TO evasion_app;
SET ROLE evasion_app;
\set VERBOSITY terse
ALTER TABLE ledger DISABLE TRIGGER rowkeeper_audit;
ALTER TABLE ledger DISABLE TRIGGER ALL;
DROP TRIGGER rowkeeper_audit ON ledger;
SELECT rowkeeper.disable_audit('ledger');
SELECT rowkeeper.enable_audit('ledger', exclude_columns => '{amount}');
SET session_replication_role = replica;
TRUNCATE rowkeeper.audit_log;
DELETE FROM rowkeeper.audit_log;
UPDATE rowkeeper.audit_log SET actor = 'someone else';
INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op,
                                 db_user, role_user, session_user_name)
VALUES (now(), '1', 0, 'public', 'ledger', 'DELETE', 'x', 'x', 'x');
SELECT count(*) FROM rowkeeper.audit_log;
-- its own writes are logged, TRUNCATE included
UPDATE ledger SET amount = 11 WHERE id = 1;
TRUNCATE ledger;
\set VERBOSITY default
RESET ROLE;
SELECT * FROM entries;

-- The owner can switch the triggers off (as it can call disable_audit());
-- audit_status() and audited_tables show it until it is switched back.
INSERT INTO ledger VALUES (2, 20);
ALTER TABLE ledger DISABLE TRIGGER rowkeeper_audit;
UPDATE ledger SET amount = 21 WHERE id = 2;
SELECT table_name, row_trigger, truncate_trigger FROM rowkeeper.audit_status()
 WHERE table_name::text LIKE 'ledger%' ORDER BY 1;
SELECT table_name, enabled FROM rowkeeper.audited_tables WHERE table_name::text LIKE 'ledger%' ORDER BY 1;
ALTER TABLE ledger ENABLE TRIGGER rowkeeper_audit;
ALTER TABLE ledger DISABLE TRIGGER ALL;
SELECT table_name, row_trigger, truncate_trigger FROM rowkeeper.audit_status()
 WHERE table_name = 'ledger'::regclass;
ALTER TABLE ledger ENABLE TRIGGER ALL;
-- enable_audit() repairs drift: a dropped trigger comes back.
DROP TRIGGER rowkeeper_audit_truncate ON ledger;
SELECT table_name, truncate_trigger FROM rowkeeper.audit_status() WHERE table_name = 'ledger'::regclass;
SELECT rowkeeper.enable_audit('ledger');
SELECT table_name, row_trigger, truncate_trigger FROM rowkeeper.audit_status() WHERE table_name = 'ledger'::regclass;
SELECT * FROM entries;

DROP VIEW entries;
SELECT rowkeeper.disable_audit('ledger');
SELECT rowkeeper.disable_audit('ledger_always');
DROP TABLE ledger, ledger_always;
DROP ROLE evasion_app;
TRUNCATE rowkeeper.audit_log;
