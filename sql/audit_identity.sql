-- audit_identity: a table's history belongs to the table, never to a name
-- another role can take (security review finding 3, its schema-rename
-- sibling 7, and a dropped and re-created table, migrations item 9).
SET TimeZone = 'UTC';
SELECT setval('rowkeeper.audit_log_id_seq', 5000, false);          -- ids in messages
SELECT setval('rowkeeper.audit_incarnations_id_seq', 500, false);
CREATE ROLE ident_owner;
CREATE ROLE ident_attacker;
GRANT CREATE ON SCHEMA public TO ident_owner, ident_attacker;
GRANT rowkeeper_auditor TO ident_owner;

------------------------------------------------------------------------------
-- A migration renames the owner's table; an attacker with CREATE on the
-- schema takes the old name, audits it and writes.
------------------------------------------------------------------------------
SET ROLE ident_owner;
CREATE TABLE shipments (id bigint PRIMARY KEY, dest text NOT NULL);
SELECT rowkeeper.enable_audit('shipments');
INSERT INTO shipments VALUES (1, 'Oslo'), (2, 'Lima'), (3, 'Pune');
DELETE FROM shipments WHERE id = 3;
SELECT clock_timestamp() AS t0 \gset
ALTER TABLE shipments RENAME TO shipments_2024;
RESET ROLE;

SET ROLE ident_attacker;
CREATE TABLE shipments (id bigint PRIMARY KEY, dest text NOT NULL);
SELECT rowkeeper.enable_audit('shipments');
INSERT INTO shipments VALUES (1, 'forged');
UPDATE shipments SET dest = 'forged again' WHERE id = 1;
RESET ROLE;

-- the owner's table: its own history only, before and after the rename
SELECT op, row_data FROM rowkeeper.row_history('shipments_2024', '{"id": 1}') ORDER BY audit_id;
SELECT rowkeeper.row_as_of('shipments_2024', '{"id": 1}', :'t0') AS as_of_t0;
SELECT op, row_key FROM rowkeeper.changes('shipments_2024', '-infinity') ORDER BY id;
-- the attacker's table has the attacker's entries only
SELECT op, row_data FROM rowkeeper.row_history('shipments', '{"id": 1}') ORDER BY audit_id;
SELECT table_name, entries FROM rowkeeper.audit_status() WHERE table_name::text LIKE 'shipments%' ORDER BY 1;

-- restore_row to a time the row existed leaves the live row alone ...
SET ROLE ident_owner;
SELECT rowkeeper.restore_row('shipments_2024', '{"id": 1}', :'t0');
SELECT * FROM shipments_2024 ORDER BY id;
-- ... and undo of the owner's DELETE puts the row back into the owner's
-- table, not into the table that now has the old name
SELECT id AS del_id FROM rowkeeper.audit_log
 WHERE table_name = 'shipments' AND op = 'DELETE' AND row_key = '{"id": 3}' \gset
SELECT rowkeeper.undo(:del_id);
SELECT * FROM shipments_2024 ORDER BY id;
RESET ROLE;
SELECT * FROM shipments ORDER BY id;

------------------------------------------------------------------------------
-- Without a rename by anyone: the attacker audits the name soft delete
-- gave the owner's table in 0.2.0 drafts (<name>_with_deleted; it now keeps
-- its name), renames its own table away, and writes.
------------------------------------------------------------------------------
SET ROLE ident_attacker;
CREATE TABLE memos_with_deleted (id int PRIMARY KEY, body text);
SELECT rowkeeper.enable_audit('memos_with_deleted');
ALTER TABLE memos_with_deleted RENAME TO decoy;
RESET ROLE;
SET ROLE ident_owner;
CREATE TABLE memos (id int PRIMARY KEY, body text, deleted_at timestamptz);
SELECT rowkeeper.enable_audit('memos');
INSERT INTO memos VALUES (1, 'real');
SELECT count(*) AS soft_delete_enabled FROM (SELECT rowkeeper.enable_soft_delete('memos')) s;
RESET ROLE;
SET ROLE ident_attacker;
INSERT INTO decoy VALUES (1, 'planted');
UPDATE decoy SET body = 'planted again' WHERE id = 1;
RESET ROLE;
SELECT op, row_data->>'body' AS body FROM rowkeeper.row_history('memos', '{"id": 1}') ORDER BY audit_id;
SELECT op, row_data->>'body' AS body FROM rowkeeper.row_history('decoy', '{"id": 1}') ORDER BY audit_id;

------------------------------------------------------------------------------
-- A renamed schema (finding 7): the entries logged under the new schema
-- name, before the table's next rename, stay in the table's history.
------------------------------------------------------------------------------
CREATE SCHEMA billing;
CREATE TABLE billing.accounts (id int PRIMARY KEY, balance int);
SELECT rowkeeper.enable_audit('billing.accounts');
INSERT INTO billing.accounts VALUES (1, 10);
ALTER SCHEMA billing RENAME TO billing2;
UPDATE billing2.accounts SET balance = 20 WHERE id = 1;
ALTER TABLE billing2.accounts RENAME TO accts;
UPDATE billing2.accts SET balance = 30 WHERE id = 1;
SELECT op, row_data->'balance' AS balance FROM rowkeeper.row_history('billing2.accts', '{"id": 1}') ORDER BY audit_id;
SELECT DISTINCT l.schema_name, l.table_name FROM rowkeeper.audit_log l
 WHERE l.table_id = rowkeeper._audit_table_id('billing2.accts') ORDER BY 1, 2;
SELECT schema_name, table_name, dropped_at FROM rowkeeper.audit_incarnations
 WHERE table_id = rowkeeper._audit_table_id('billing2.accts');

------------------------------------------------------------------------------
-- A dropped and re-created table (a down and up migration) starts a new
-- history; the old entries stay readable as a previous incarnation.
------------------------------------------------------------------------------
SELECT rowkeeper._audit_table_id('billing2.accts') AS old_id \gset
DROP TABLE billing2.accts;
CREATE TABLE billing2.accts (id int PRIMARY KEY, balance int);
SELECT rowkeeper.enable_audit('billing2.accts');
INSERT INTO billing2.accts VALUES (1, 99);
SELECT op, row_data->'balance' AS balance FROM rowkeeper.row_history('billing2.accts', '{"id": 1}') ORDER BY audit_id;
SELECT rowkeeper._audit_table_id('billing2.accts') <> :old_id AS new_identity;
SELECT schema_name, table_name, dropped_at IS NOT NULL AS previous_incarnation
  FROM rowkeeper.audit_incarnations WHERE table_id = :old_id;
SELECT op, row_data->'balance' AS balance FROM rowkeeper.incarnation_history(:old_id, '{"id": 1}') ORDER BY audit_id;
-- its entries can no longer be undone into the new table
SELECT id AS old_entry FROM rowkeeper.audit_log WHERE table_id = :old_id ORDER BY id DESC LIMIT 1 \gset
\set VERBOSITY default
SELECT rowkeeper.undo(:old_entry);
\set VERBOSITY terse
SELECT * FROM billing2.accts;

------------------------------------------------------------------------------
-- The identity is not the attacker's to set: the trigger's arguments do not
-- carry it, and the tables that hold it are the extension's.
------------------------------------------------------------------------------
SET ROLE ident_attacker;
INSERT INTO rowkeeper.audit_incarnation_oids VALUES ('shipments'::regclass, 1);
UPDATE rowkeeper.audit_incarnations SET table_name = 'shipments';
-- the binding function records facts only: no id for a table nothing
-- audits, and a table's own id for an audited one
CREATE TABLE plain (id int PRIMARY KEY);
SELECT rowkeeper._audit_bind('plain') IS NULL AS no_id_for_unaudited;
SELECT rowkeeper._audit_bind('shipments_2024') AS bound \gset
DROP TABLE plain;
RESET ROLE;
SELECT :bound = rowkeeper._audit_table_id('shipments_2024') AS own_id;

------------------------------------------------------------------------------
-- An identity made by a write that is then rolled back (to a savepoint, or
-- the whole transaction) is not kept by the backend: later entries carry
-- the id the table really holds.
------------------------------------------------------------------------------
CREATE TABLE lazy (id int PRIMARY KEY);
CREATE TABLE lazy2 (id int PRIMARY KEY);
CREATE TRIGGER rowkeeper_audit AFTER INSERT OR UPDATE OR DELETE ON lazy
    FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger();
CREATE TRIGGER rowkeeper_audit AFTER INSERT OR UPDATE OR DELETE ON lazy2
    FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger();
BEGIN;
INSERT INTO lazy VALUES (1);
ROLLBACK;
INSERT INTO lazy VALUES (2);
BEGIN;
SAVEPOINT s;
INSERT INTO lazy2 VALUES (1);
ROLLBACK TO SAVEPOINT s;
INSERT INTO lazy2 VALUES (2);
COMMIT;
SELECT table_name, count(*) AS entries,
       count(*) FILTER (WHERE table_id = rowkeeper._audit_table_id(table_name::regclass)) AS under_its_id
  FROM rowkeeper.audit_log WHERE table_name IN ('lazy', 'lazy2') GROUP BY 1 ORDER BY 1;
DROP TABLE lazy, lazy2;

SELECT rowkeeper.disable_audit('shipments_2024');
SELECT rowkeeper.disable_audit('shipments');
SELECT rowkeeper.disable_audit('decoy');
SET client_min_messages = warning;
SELECT rowkeeper.disable_soft_delete('memos');
RESET client_min_messages;
SELECT rowkeeper.disable_audit('memos');
SELECT rowkeeper.disable_audit('billing2.accts');
DROP TABLE shipments, shipments_2024, decoy, memos;
DROP TABLE billing2.accts;
DROP SCHEMA billing2;
REVOKE CREATE ON SCHEMA public FROM ident_owner, ident_attacker;
DROP ROLE ident_owner, ident_attacker;
