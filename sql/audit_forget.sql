-- audit_forget: erasure that keeps tamper evidence (issue 18, item 4).
-- forget() removes a row's values from every entry of it, forget_actor()
-- replaces an actor by a stable pseudonym; the whole log's text no longer
-- holds them, verify_audit_chain() still verifies, and still detects any
-- other change, also to what is left of an erased entry.  Entries of all
-- three kinds: in a batch sealed with the v1 digest (before erasure
-- existed), in a v2 batch, and not sealed yet.
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal;
SELECT setval('rowkeeper.audit_log_id_seq', 9000, false);
CREATE VIEW chain AS SELECT verified, problem, audit_id, batch, unsealed FROM rowkeeper.verify_audit_chain();
-- the SQLSTATE of a statement's error, or 'ok'
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END;
$$;
-- every entry of the log (every partition) that holds a string
CREATE FUNCTION pg_temp.holding(s text) RETURNS TABLE (id bigint, op text) LANGUAGE sql AS $$
    SELECT l.id, l.op FROM rowkeeper.audit_log l WHERE l::text LIKE '%' || s || '%' ORDER BY l.id
$$;

CREATE TABLE people (id int PRIMARY KEY, email text, name text, phone text, plan text);
SELECT rowkeeper.enable_audit('people');
CREATE TABLE bulk_people (id int PRIMARY KEY, email text, note text);
SELECT rowkeeper.enable_audit('bulk_people', mode => 'statement');

-- Batch 1: written and sealed before erasure existed (turned into a v1
-- batch below, as 0.2.0 sealed it).
BEGIN;
SELECT rowkeeper.set_context('user:carol', NULL, 'req-1', '192.0.2.7', 'CarolBrowser/1.0', '{"session": "carolsession"}');
INSERT INTO people VALUES (1, 'carol@secret.example', 'Carol Secretname', '+1-555-SECRET', 'pro'),
                          (2, 'dave@example.com', 'Dave', '+1-555-0102', 'free');
INSERT INTO bulk_people VALUES (1, 'carol@secret.example', 'bulk SECRET note'), (2, 'dave@example.com', 'x');
COMMIT;
SELECT batch, entries FROM rowkeeper.seal_audit_log();
-- as 0.2.0 sealed it: v1 digests, no salts
UPDATE rowkeeper.audit_seal s
   SET salts = NULL,
       digests = (SELECT string_agg(rowkeeper.audit_entry_digest(l), ''::bytea ORDER BY l.id)
                    FROM rowkeeper.audit_log l WHERE l.txid >= s.txid_lo AND l.txid < s.txid_hi)
 WHERE s.batch = 1;
UPDATE rowkeeper.audit_seal s SET hash = sha256(s.prev_hash || s.digests) WHERE s.batch = 1;

-- Batch 2: sealed with the v2 digest.
BEGIN;
SELECT rowkeeper.set_context('user:carol', NULL, 'req-2', '192.0.2.7', 'CarolBrowser/1.0', '{"session": "carolsession"}');
UPDATE people SET email = 'carol.new@secret.example', plan = 'team' WHERE id = 1;
UPDATE bulk_people SET note = 'another SECRET note' WHERE id = 1;
SELECT rowkeeper.log_event('export', 'people', '{"id": 1}', '{"file": "carol-secretexport.csv"}');
COMMIT;
BEGIN;
SELECT rowkeeper.set_context('user:dave', NULL, 'req-3');
UPDATE people SET plan = 'pro' WHERE id = 2;
COMMIT;
SELECT batch, entries FROM rowkeeper.seal_audit_log();

-- Not sealed yet: a key change (history follows it).
BEGIN;
SELECT rowkeeper.set_context('user:carol', NULL, 'req-4', '192.0.2.7', 'CarolBrowser/1.0');
UPDATE people SET id = 10, name = 'Carol Secretname-Smith' WHERE id = 1;
COMMIT;

SELECT (SELECT salts IS NULL FROM rowkeeper.audit_seal WHERE batch = 1) AS batch1_v1,
       (SELECT salts IS NOT NULL FROM rowkeeper.audit_seal WHERE batch = 2) AS batch2_v2;
SELECT * FROM chain;
SELECT * FROM pg_temp.holding('ecret');

------------------------------------------------------------------------------
-- forget: one row's values, gone from every entry of it.
------------------------------------------------------------------------------
BEGIN;
SELECT rowkeeper.set_context('dpo@example.com', NULL, 'gdpr-17');
SELECT rowkeeper.forget('people', '{"id": "10"}', '{email,phone}');   -- key as an ORM sends it
SELECT id, op, old_row, new_row - 'attested' AS new_row FROM rowkeeper.audit_log WHERE table_name = 'people' ORDER BY id;
SELECT rowkeeper.forget('people', '{"id": 10}');                      -- the rest of it
SELECT rowkeeper.forget('bulk_people', '{"id": 1}');                  -- a statement-mode table
COMMIT;
SELECT * FROM pg_temp.holding('ecret');                               -- nothing left anywhere
SELECT id, op, old_row, new_row - 'attested' AS new_row FROM rowkeeper.audit_log ORDER BY id;
-- the erasure records: who, when, what (never a value)
SELECT id, op, table_name, row_key, new_row - 'attested' AS new_row, new_row ? 'attested' AS attests,
       actor, request_id, role_user = current_user AS by_me
  FROM rowkeeper.audit_log WHERE op = 'FORGET' ORDER BY id;
-- the v1 entries are vouched for by the first record that erased them
SELECT id, erased ->> 'attested_by' AS attested_by, erased -> 'by' AS by
  FROM rowkeeper.audit_log WHERE erased IS NOT NULL ORDER BY id;
-- history shows the erased values as erased, and the erasure
SELECT audit_id, op, row_key, row_data, actor FROM rowkeeper.row_history('people', '{"id": 10}');
-- the salts of erased v2 entries are gone from the seal
SELECT batch, salts IS NULL AS v1,
       (SELECT count(*) FROM generate_series(0, entries - 1) k
         WHERE substr(salts, (16 * k + 1)::int, 16) = '\x00000000000000000000000000000000'::bytea) AS zeroed_salts
  FROM rowkeeper.audit_seal ORDER BY batch;

-- The chain: verifies before and after the erasure records are sealed.
SELECT * FROM chain;
SELECT batch, entries FROM rowkeeper.seal_audit_log();
SELECT * FROM chain;

------------------------------------------------------------------------------
-- Tampering after the erasure is still detected.
------------------------------------------------------------------------------
CREATE TABLE saved AS SELECT * FROM rowkeeper.audit_log;
CREATE FUNCTION pg_temp.put_back(eid bigint) RETURNS void LANGUAGE sql AS $$
    DELETE FROM rowkeeper.audit_log WHERE id = eid;
    INSERT INTO rowkeeper.audit_log SELECT * FROM saved WHERE id = eid;
$$;
SELECT min(id) AS v1_entry FROM rowkeeper.audit_log WHERE table_name = 'people' AND erased ? 'attested_by' \gset
SELECT min(id) AS v2_entry FROM rowkeeper.audit_log
 WHERE table_name = 'people' AND op = 'UPDATE' AND erased IS NOT NULL AND NOT erased ? 'attested_by' \gset
SELECT min(id) AS dave_entry FROM rowkeeper.audit_log WHERE row_key = '{"id": 2}' AND table_name = 'people' \gset
-- another entry (not erased)
UPDATE rowkeeper.audit_log SET new_row = new_row || '{"plan": "enterprise"}' WHERE id = :dave_entry;
SELECT * FROM chain;
SELECT pg_temp.put_back(:dave_entry);
-- what is left of an erased entry: a kept value, the key, the op, an erased value put back
UPDATE rowkeeper.audit_log SET new_row = new_row || '{"plan": "free"}' WHERE id = :v2_entry;
SELECT * FROM chain;
SELECT pg_temp.put_back(:v2_entry);
UPDATE rowkeeper.audit_log SET row_key = '{"id": 3}' WHERE id = :v1_entry;
SELECT * FROM chain;
SELECT pg_temp.put_back(:v1_entry);
UPDATE rowkeeper.audit_log SET op = 'DELETE' WHERE id = :v1_entry;
SELECT * FROM chain;
SELECT pg_temp.put_back(:v1_entry);
UPDATE rowkeeper.audit_log SET new_row = new_row || '{"email": "someone@else.example"}' WHERE id = :v2_entry;
SELECT * FROM chain;
SELECT pg_temp.put_back(:v2_entry);
-- an erasure without an erasure record, or naming another entry as one
UPDATE rowkeeper.audit_log SET erased = erased - 'by' WHERE id = :v2_entry;
SELECT * FROM chain;
SELECT pg_temp.put_back(:v2_entry);
UPDATE rowkeeper.audit_log SET erased = jsonb_set(erased, '{by}', '[9001]') WHERE id = :v2_entry;
SELECT * FROM chain;
SELECT pg_temp.put_back(:v2_entry);
-- ... or naming the erasure record of another table's row
UPDATE rowkeeper.audit_log SET erased = jsonb_set(erased, '{by}',
           (SELECT to_jsonb(ARRAY[min(id)]) FROM rowkeeper.audit_log WHERE op = 'FORGET' AND table_name = 'bulk_people'))
 WHERE id = :v2_entry;
SELECT * FROM chain;
SELECT pg_temp.put_back(:v2_entry);
-- the erasure record of the v1 entries (what it vouches for)
UPDATE rowkeeper.audit_log SET new_row = jsonb_set(new_row, ARRAY['attested', :'v1_entry', '1'], '"00"')
 WHERE id = (SELECT (erased ->> 'attested_by')::bigint FROM saved WHERE id = :v1_entry);
SELECT * FROM chain;
SELECT pg_temp.put_back((SELECT (erased ->> 'attested_by')::bigint FROM saved WHERE id = :v1_entry));
SELECT * FROM chain;                                    -- all back: verifies

-- Erasing from an entry edited after sealing is refused (it would hide the edit).
UPDATE rowkeeper.audit_log SET new_row = new_row || '{"plan": "gold"}' WHERE id = :dave_entry;
\set VERBOSITY default
SELECT rowkeeper.forget('people', '{"id": 2}', '{phone}');
\set VERBOSITY terse
SELECT pg_temp.put_back(:dave_entry);

------------------------------------------------------------------------------
-- forget_actor: a stable pseudonym, request metadata erased.
------------------------------------------------------------------------------
SELECT pseudonym AS carol, pseudonym ~ '^\[erased:[0-9a-f]{16}\]$' AS pseudonym_form, entries
  FROM rowkeeper.forget_actor('user:carol') \gset
SELECT :'pseudonym_form' AS pseudonym_form, :'entries' AS entries;
SELECT * FROM pg_temp.holding('carol');
SELECT id, op, actor = :'carol' AS pseudonym, request_addr, user_agent, metadata FROM rowkeeper.audit_log
 WHERE erased ? 'c' AND erased -> 'c' ? 'actor' ORDER BY id;
-- carol acts again; a second call gives the same pseudonym to the new entries
BEGIN;
SELECT rowkeeper.set_context('user:carol', NULL, 'req-5', '198.51.100.1', 'CarolPhone/2.0');
INSERT INTO people VALUES (3, 'c3@example.com', 'C3', NULL, 'free');
COMMIT;
SELECT pseudonym = :'carol' AS same_pseudonym, entries FROM rowkeeper.forget_actor('user:carol');
SELECT pseudonym = :'carol' AS same_pseudonym, entries FROM rowkeeper.forget_actor('user:carol');     -- nothing left: 0
SELECT count(DISTINCT actor) AS pseudonyms, min(actor) = max(actor) AS same
  FROM rowkeeper.audit_log WHERE erased -> 'c' ? 'actor';
SELECT * FROM pg_temp.holding('carol');
SELECT * FROM pg_temp.holding('CarolPhone');
SELECT id, op, actor, new_row - 'attested' - 'pseudonym' AS new_row, new_row ->> 'pseudonym' = :'carol' AS pseudonym,
       new_row ? 'attested' AS attests
  FROM rowkeeper.audit_log WHERE op = 'FORGET_ACTOR' ORDER BY id;
SELECT * FROM chain;
SELECT batch, entries FROM rowkeeper.seal_audit_log();
SELECT * FROM chain;
-- a pseudonym swapped for another is caught
TRUNCATE saved;
INSERT INTO saved SELECT * FROM rowkeeper.audit_log;
SELECT min(id) AS pseud_entry FROM rowkeeper.audit_log WHERE erased -> 'c' ? 'actor' \gset
UPDATE rowkeeper.audit_log SET actor = '[erased:0000000000000000]' WHERE id = :pseud_entry;
SELECT * FROM chain;
SELECT pg_temp.put_back(:pseud_entry);
SELECT * FROM chain;

------------------------------------------------------------------------------
-- Bad input.
------------------------------------------------------------------------------
\set VERBOSITY default
SELECT rowkeeper.forget('no_such_table', '{"id": 1}');
SELECT rowkeeper.forget(NULL, '{"id": 1}');
SELECT rowkeeper.forget('people', '{"id": 1}', '{}');
SELECT rowkeeper.forget('people', '{"id": 1}', '{id,email}');
SELECT rowkeeper.forget('people', '{"id": 1}', '{emial}');
SELECT rowkeeper.forget('people', '{"nope": 1}');
CREATE TABLE never_audited (id int PRIMARY KEY);
SELECT rowkeeper.forget('never_audited', '{"id": 1}');
SELECT * FROM rowkeeper.forget_actor(NULL);
SELECT * FROM rowkeeper.forget_actor('');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT rowkeeper.forget('people', '{"id": 2}');
ROLLBACK;
\set VERBOSITY terse
-- a key nothing was logged for: 0 entries, no record
SELECT rowkeeper.forget('people', '{"id": 12345}');
SELECT count(*) FROM rowkeeper.audit_log WHERE op = 'FORGET' AND row_key = '{"id": 12345}';

------------------------------------------------------------------------------
-- Who may erase: the table's owner, the database owner, a superuser; not an
-- application role, not an auditor, not another role.
------------------------------------------------------------------------------
CREATE ROLE fg_owner;
CREATE ROLE fg_app;
GRANT rowkeeper_app TO fg_app;
CREATE ROLE fg_auditor;
GRANT rowkeeper_auditor TO fg_auditor;
CREATE ROLE fg_app_owner;
GRANT rowkeeper_app TO fg_app_owner;
CREATE TABLE owned (id int PRIMARY KEY, secret text);
ALTER TABLE owned OWNER TO fg_owner;
SELECT rowkeeper.enable_audit('owned');
INSERT INTO owned VALUES (1, 'ownedsecret'), (2, 'ownedsecret2');
CREATE TABLE app_owned (id int PRIMARY KEY, secret text);
ALTER TABLE app_owned OWNER TO fg_app_owner;
SELECT rowkeeper.enable_audit('app_owned');
INSERT INTO app_owned VALUES (1, 'appsecret');
GRANT SELECT, INSERT, UPDATE, DELETE ON owned TO fg_app;
\set VERBOSITY default
SET ROLE fg_app;
SELECT set_config('rowkeeper.tenant', 'A', false);
SELECT rowkeeper.forget('owned', '{"id": 1}');
SELECT * FROM rowkeeper.forget_actor('user:dave');
RESET ROLE;
SET ROLE fg_auditor;
SELECT rowkeeper.forget('owned', '{"id": 1}');
RESET ROLE;
SET ROLE fg_app_owner;
SELECT rowkeeper.forget('app_owned', '{"id": 1}');
RESET ROLE;
SET ROLE fg_owner;
SELECT * FROM rowkeeper.forget_actor('user:dave');
\set VERBOSITY terse
SELECT pg_temp.sqlstate_of($$SELECT rowkeeper.forget('owned', '{"id": 1}')$$) AS owner_forgets;
RESET ROLE;
SET ROLE fg_app;
SELECT pg_temp.sqlstate_of($$SELECT rowkeeper.forget('owned', '{"id": 2}')$$) AS app;
SELECT pg_temp.sqlstate_of($$SELECT rowkeeper.forget_actor('user:dave')$$) AS app_actor;
RESET ROLE;
SET ROLE fg_auditor;
SELECT pg_temp.sqlstate_of($$SELECT rowkeeper.forget('owned', '{"id": 2}')$$) AS auditor;
RESET ROLE;
-- the owner's erasure is recorded under its role
SELECT op, row_key, role_user, new_row FROM rowkeeper.audit_log WHERE table_name = 'owned' AND op = 'FORGET';
SELECT l.id, l.op, l.row_key FROM pg_temp.holding('ownedsecret') h JOIN rowkeeper.audit_log l USING (id);   -- row 2's only
-- the application role cannot rewrite the log itself either
SET ROLE fg_app;
SELECT pg_temp.sqlstate_of($$UPDATE rowkeeper.audit_log SET erased = '{}'$$) AS app_update;
SELECT pg_temp.sqlstate_of($$SELECT rowkeeper._audit_erase(NULL, NULL, NULL, NULL, NULL, NULL)$$) AS app_internal;
RESET ROLE;
SELECT * FROM chain;

DROP VIEW chain;
DROP TABLE saved;
SELECT rowkeeper.disable_audit('people');
SELECT rowkeeper.disable_audit('bulk_people');
SELECT rowkeeper.disable_audit('owned');
SELECT rowkeeper.disable_audit('app_owned');
DROP TABLE people, bulk_people, owned, app_owned, never_audited;
DROP ROLE fg_owner, fg_app, fg_auditor, fg_app_owner;
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal;
