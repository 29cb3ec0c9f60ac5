-- audit_chain: the hash chain over the log detects edits, deletions,
-- reordering, insertions and truncation, and reports where.
SET TimeZone = 'UTC';
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal;
SELECT setval('rowkeeper.audit_log_id_seq', 2000, false);
CREATE TABLE doc (id int PRIMARY KEY, body text, n numeric);
SELECT rowkeeper.enable_audit('doc');
INSERT INTO doc VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);
UPDATE doc SET body = 'bb' WHERE id = 2;
DELETE FROM doc WHERE id = 3;
CREATE VIEW chain AS SELECT verified, problem, audit_id, batch, unsealed FROM rowkeeper.verify_audit_chain();

SELECT * FROM chain;                                    -- nothing sealed yet
SELECT batch, entries, length(hash) AS hex_len FROM rowkeeper.seal_audit_log();
SELECT batch, entries FROM rowkeeper.seal_audit_log();  -- nothing new: no batch
SELECT * FROM chain;
SELECT hash AS head1 FROM rowkeeper.audit_chain_head() \gset
INSERT INTO doc VALUES (4, 'd', 4), (5, 'e', 5.0);
SELECT * FROM chain;                                    -- two unsealed
SELECT batch, entries FROM rowkeeper.seal_audit_log();
SELECT * FROM chain;
SELECT hash AS head2 FROM rowkeeper.audit_chain_head() \gset
SELECT * FROM rowkeeper.verify_audit_chain(expected_head => :'head2');

-- An edited entry (its actor, then a value's scale: 5.0 -> 5).
CREATE TABLE saved AS SELECT * FROM rowkeeper.audit_log;
UPDATE rowkeeper.audit_log SET actor = 'mallory' WHERE id = 2001;
SELECT * FROM chain;
UPDATE rowkeeper.audit_log SET actor = '' WHERE id = 2001;     -- '' is not NULL
SELECT * FROM chain;
UPDATE rowkeeper.audit_log SET actor = NULL WHERE id = 2001;
SELECT * FROM chain;                                            -- back: verifies
UPDATE rowkeeper.audit_log SET new_row = '{"id": 5, "n": 5, "body": "e"}' WHERE id = 2006;
SELECT * FROM chain;
UPDATE rowkeeper.audit_log SET new_row = (SELECT new_row FROM saved WHERE id = 2006) WHERE id = 2006;

-- A deleted entry, in the middle and at the end of a batch.
DELETE FROM rowkeeper.audit_log WHERE id = 2002;
SELECT * FROM chain;
INSERT INTO rowkeeper.audit_log SELECT * FROM saved WHERE id = 2002;
DELETE FROM rowkeeper.audit_log WHERE id = 2004;
SELECT * FROM chain;
INSERT INTO rowkeeper.audit_log SELECT * FROM saved WHERE id = 2004;
SELECT * FROM chain;

-- Two entries' ids swapped (reordered).
UPDATE rowkeeper.audit_log SET id = CASE id WHEN 2001 THEN 2002 ELSE 2001 END WHERE id IN (2001, 2002);
SELECT * FROM chain;
UPDATE rowkeeper.audit_log SET id = CASE id WHEN 2001 THEN 2002 ELSE 2001 END WHERE id IN (2001, 2002);

-- A forged entry inside a sealed range.
INSERT INTO rowkeeper.audit_log
SELECT 2999, logged_at, txid, table_oid, schema_name, table_name, op, row_key, old_key, old_row,
       new_row, 'forger', db_user, role_user, session_user_name, client_addr, application_name,
       request_id, tenant, row_ref
  FROM saved WHERE id = 2005;
SELECT * FROM chain;
DELETE FROM rowkeeper.audit_log WHERE id = 2999;

-- The seal table itself: an edited digest, a broken link, a dropped batch.
UPDATE rowkeeper.audit_seal SET digests = set_byte(digests, 0, get_byte(digests, 0) # 1) WHERE batch = 1;
SELECT * FROM chain;
UPDATE rowkeeper.audit_seal SET digests = set_byte(digests, 0, get_byte(digests, 0) # 1) WHERE batch = 1;
CREATE TABLE saved_seal AS SELECT * FROM rowkeeper.audit_seal;
UPDATE rowkeeper.audit_seal SET prev_hash = '\x00' WHERE batch = 2;
SELECT * FROM chain;
DELETE FROM rowkeeper.audit_seal WHERE batch = 1;
SELECT * FROM chain;
TRUNCATE rowkeeper.audit_seal;
INSERT INTO rowkeeper.audit_seal SELECT * FROM saved_seal;
SELECT * FROM chain;
-- Truncating the tail (last batch and its entries) verifies on its own;
-- the head kept outside catches it.
DELETE FROM rowkeeper.audit_log WHERE id >= 2005;
DELETE FROM rowkeeper.audit_seal WHERE batch = 2;
SELECT * FROM chain;
SELECT * FROM rowkeeper.verify_audit_chain(expected_head => :'head2');
SELECT * FROM rowkeeper.verify_audit_chain(expected_head => :'head1');

-- Privileges: auditors verify and seal; applications do neither.
CREATE ROLE chain_app;
SET ROLE chain_app;
SELECT * FROM rowkeeper.seal_audit_log();
SELECT * FROM rowkeeper.verify_audit_chain();
RESET ROLE;

DROP ROLE chain_app;
DROP VIEW chain;
DROP TABLE saved, saved_seal;
SELECT rowkeeper.disable_audit('doc');
DROP TABLE doc;
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal;
