-- audit_queries: history, as-of, diff, change lists, undo and restore.
SET TimeZone = 'UTC';
SELECT setval('rowkeeper.audit_log_id_seq', 1000, false);   -- ids in messages
CREATE TABLE acct (
    id      int PRIMARY KEY,
    email   text NOT NULL,
    balance numeric NOT NULL DEFAULT 0,
    secret  text,
    ssn     text
);
-- a row from before auditing began
INSERT INTO acct VALUES (3, 'old@x.test', 30, 's3', '333');
SELECT rowkeeper.enable_audit('acct', exclude_columns => '{secret}', redact_columns => '{ssn}');
SELECT clock_timestamp() AS t0 \gset
BEGIN;
SELECT rowkeeper.set_context(actor => 'alice');
INSERT INTO acct VALUES (1, 'a@x.test', 10, 's1', '111'), (2, 'b@x.test', 20, 's2', '222');
COMMIT;
SELECT clock_timestamp() AS t1 \gset
BEGIN;
SELECT rowkeeper.set_context(actor => 'bob');
UPDATE acct SET balance = 15 WHERE id = 1;
UPDATE acct SET balance = 35, email = 'older@x.test' WHERE id = 3;
SELECT pg_current_xact_id() AS tx2 \gset
COMMIT;
SELECT clock_timestamp() AS t2 \gset
UPDATE acct SET id = 20 WHERE id = 2;                 -- key change
UPDATE acct SET secret = 'changed' WHERE id = 1;     -- excluded: not history
SELECT clock_timestamp() AS t3 \gset
DELETE FROM acct WHERE id = 1;
SELECT clock_timestamp() AS t4 \gset

-- One row's history, with the row after each change; after its deletion.
SELECT op, row_key, row_data, old_values, new_values, actor
  FROM rowkeeper.row_history('acct', '{"id": 1}') ORDER BY audit_id;
-- History follows a key change back to the row's earlier key.
SELECT op, row_key, row_data FROM rowkeeper.row_history('acct', '{"id": 20}') ORDER BY audit_id;
-- A row from before auditing: only what changed is known to the history.
SELECT op, row_data FROM rowkeeper.row_history('acct', '{"id": 3}');

-- A row as of a time: built from the live row backwards, so complete.
SELECT rowkeeper.row_as_of('acct', '{"id": 1}', :'t0') AS before_insert,
       rowkeeper.row_as_of('acct', '{"id": 1}', :'t1') AS at_t1,
       rowkeeper.row_as_of('acct', '{"id": 1}', :'t3') AS at_t3,
       rowkeeper.row_as_of('acct', '{"id": 1}', :'t4') AS after_delete;
SELECT rowkeeper.row_as_of('acct', '{"id": 3}', :'t1') AS pre_audit_row_at_t1;
SELECT rowkeeper.row_as_of('acct', '{"id": 20}', :'t1') AS under_old_key;
SELECT (jsonb_populate_record(NULL::acct, rowkeeper.row_as_of('acct', '{"id": 1}', :'t1'))).*;

-- The whole table as of a time, as jsonb and as the table's row type.
SELECT j FROM rowkeeper.table_as_of('acct', :'t0') j;
SELECT t.* FROM rowkeeper.table_as_of('acct', :'t2') j, jsonb_populate_record(NULL::acct, j) t ORDER BY t.id;
SELECT j FROM rowkeeper.table_as_of('acct', :'t4') j;

-- diff between two times.
SELECT * FROM rowkeeper.diff('acct', '{"id": 3}', :'t1', :'t2');
SELECT * FROM rowkeeper.diff('acct', '{"id": 1}', :'t0', :'t1');

-- What changed in a window, by whom, in one transaction.
SELECT op, row_key FROM rowkeeper.changes('acct', :'t1', :'t2');
SELECT op, row_key FROM rowkeeper.changes_by('alice', :'t0');
SELECT op, row_key, actor FROM rowkeeper.transaction_changes(:'tx2');

-- A renamed table keeps its history.
ALTER TABLE acct RENAME TO account;
SELECT count(*) AS entries_after_rename FROM rowkeeper.row_history('account', '{"id": 1}');
SELECT schema_name, table_name, dropped_at FROM rowkeeper.audit_incarnations
 WHERE table_id = rowkeeper._audit_table_id('account');
UPDATE account SET balance = 36 WHERE id = 3;
SELECT op, row_data->'balance' AS balance FROM rowkeeper.row_history('account', '{"id": 3}');

-- undo: re-insert a deleted row.  Its image has a redacted value, so that
-- takes force (the redacted and the excluded column come back as their
-- defaults, here NULL); the undo is itself audited.
SELECT id AS del_id FROM rowkeeper.audit_log WHERE table_name = 'acct' AND op = 'DELETE' \gset
\set VERBOSITY default
SELECT rowkeeper.undo(:del_id);
\set VERBOSITY terse
SELECT rowkeeper.undo(:del_id, force => true);
SELECT * FROM account WHERE id = 1;
SELECT op, table_name, row_key FROM rowkeeper.audit_log ORDER BY id DESC LIMIT 1;
-- an update whose row changed again since: refused, unless forced
SELECT id AS upd_id FROM rowkeeper.audit_log WHERE row_key = '{"id": 3}' AND op = 'UPDATE' ORDER BY id LIMIT 1 \gset
\set VERBOSITY default
SELECT rowkeeper.undo(:upd_id);
\set VERBOSITY terse
SELECT rowkeeper.undo(:upd_id, force => true);
SELECT id, email, balance FROM account WHERE id = 3;
-- an insert: the row goes
INSERT INTO account VALUES (4, 'd@x.test', 4);
SELECT id AS ins_id FROM rowkeeper.audit_log WHERE row_key = '{"id": 4}' \gset
SELECT rowkeeper.undo(:ins_id);
SELECT count(*) AS row_4 FROM account WHERE id = 4;
-- a change of a redacted column cannot be undone: its old value was never logged
UPDATE account SET ssn = '999' WHERE id = 20;
SELECT id AS red_id FROM rowkeeper.audit_log ORDER BY id DESC LIMIT 1 \gset
\set VERBOSITY default
SELECT rowkeeper.undo(:red_id);
\set VERBOSITY terse
SELECT rowkeeper.undo(0);
SELECT rowkeeper.undo(NULL);

-- undo_transaction: all or nothing.
BEGIN;
INSERT INTO account VALUES (5, 'e@x.test', 5);
UPDATE account SET balance = balance + 1 WHERE id IN (3, 20);
SELECT pg_current_xact_id() AS tx5 \gset
COMMIT;
SELECT id, balance FROM account ORDER BY id;
UPDATE account SET balance = 100 WHERE id = 20;      -- a later change to one of its rows
SELECT rowkeeper.undo_transaction(:'tx5');
SELECT id, balance FROM account ORDER BY id;           -- nothing undone
UPDATE account SET balance = 21 WHERE id = 20;       -- as tx5 left it, but after it
SELECT rowkeeper.undo_transaction(:'tx5');           -- later entries: still refused
SELECT rowkeeper.undo_transaction(:'tx5', force => true);
SELECT id, balance FROM account ORDER BY id;

-- restore_row: a row back as it was at a time.
SELECT rowkeeper.restore_row('account', '{"id": 3}', :'t1');
SELECT id, email, balance FROM account WHERE id = 3;
SELECT rowkeeper.restore_row('account', '{"id": 3}', :'t0');   -- existed then too
SELECT rowkeeper.restore_row('account', '{"id": 1}', :'t0');   -- did not exist: deleted
SELECT id FROM account ORDER BY id;

-- A partitioned table: its rows live in partitions and log under its name.
CREATE TABLE pt (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE pt_1 PARTITION OF pt FOR VALUES FROM (0) TO (100);
CREATE TABLE pt_2 PARTITION OF pt FOR VALUES FROM (100) TO (200);
SELECT rowkeeper.enable_audit('pt');
INSERT INTO pt VALUES (1, 'one'), (150, 'x');
SELECT clock_timestamp() AS p1 \gset
UPDATE pt SET v = 'uno' WHERE id = 1;
DELETE FROM pt WHERE id = 150;
SELECT rowkeeper.row_as_of('pt', '{"id": 1}', :'p1') AS pt_1_then,
       rowkeeper.row_as_of('pt', '{"id": 150}', :'p1') AS pt_150_then;
SELECT j FROM rowkeeper.table_as_of('pt', :'p1') j;
SELECT id AS pt_del FROM rowkeeper.audit_log WHERE table_name = 'pt' AND op = 'DELETE' \gset
SELECT rowkeeper.undo(:pt_del);
SELECT rowkeeper.restore_row('pt', '{"id": 1}', :'p1');
SELECT tableoid::regclass, * FROM pt ORDER BY id;
SELECT rowkeeper.disable_audit('pt');
DROP TABLE pt;

-- Identity (GENERATED ALWAYS) and generated columns: an undone DELETE puts
-- the row back with its id; the generated column computes itself.
CREATE TABLE gen (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, price numeric,
                  total numeric GENERATED ALWAYS AS (price * 2) STORED);
SELECT rowkeeper.enable_audit('gen');
INSERT INTO gen (price) VALUES (10), (20);
DELETE FROM gen WHERE id = 1;
SELECT id AS gen_del FROM rowkeeper.audit_log WHERE table_name = 'gen' AND op = 'DELETE' \gset
SELECT rowkeeper.undo(:gen_del);
SELECT * FROM gen ORDER BY id;
SELECT rowkeeper.disable_audit('gen');
DROP TABLE gen;

-- Reading the log takes rowkeeper_auditor; undo also takes rights on the table.
CREATE ROLE q_app;
CREATE ROLE q_auditor IN ROLE rowkeeper_auditor;
SET ROLE q_app;
SELECT count(*) FROM rowkeeper.row_history('account', '{"id": 3}');
RESET ROLE;
SET ROLE q_auditor;
SELECT count(*) > 0 AS auditor_reads FROM rowkeeper.row_history('account', '{"id": 3}');
SELECT rowkeeper.undo(:upd_id, force => true);
RESET ROLE;

SELECT rowkeeper.disable_audit('account');
DROP TABLE account;
DROP ROLE q_app, q_auditor;
TRUNCATE rowkeeper.audit_log;
