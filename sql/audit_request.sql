-- audit_request: request metadata (issue 18, item 3).  set_context() also
-- carries the end user's client address, user agent and a metadata object,
-- transaction-local like actor/tenant/request_id, recorded with every entry
-- (row changes, events), with size limits.
SET TimeZone = 'UTC';
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal;
CREATE TABLE visits (id int PRIMARY KEY, v text);
SELECT rowkeeper.enable_audit('visits');

BEGIN;
SELECT rowkeeper.set_context('ann', NULL, 'req-1', '203.0.113.7', 'Mozilla/5.0 (X11; Linux)',
                             '{"session": "s-1", "mfa": true}');
SELECT current_setting('rowkeeper.client_addr') AS addr, current_setting('rowkeeper.user_agent') AS ua,
       current_setting('rowkeeper.metadata') AS md;
INSERT INTO visits VALUES (1, 'a');
SAVEPOINT s;
SELECT rowkeeper.set_context(client_addr => '2001:db8::7', user_agent => 'curl/8.0');
INSERT INTO visits VALUES (2, 'b');
ROLLBACK TO s;                                 -- the inner values go with the savepoint
INSERT INTO visits VALUES (3, 'c');
SELECT rowkeeper.set_context(user_agent => '', metadata => '{}');   -- cleared; address unchanged
UPDATE visits SET v = 'cc' WHERE id = 3;
SELECT rowkeeper.log_event('download', 'visits', '{"id": 3}') IS NOT NULL AS event;
COMMIT;
-- the next transaction starts without them
SELECT current_setting('rowkeeper.client_addr') AS addr, current_setting('rowkeeper.user_agent') AS ua,
       current_setting('rowkeeper.metadata') AS md;
INSERT INTO visits VALUES (4, 'd');
SELECT op, row_key, request_addr, user_agent, metadata FROM rowkeeper.audit_log ORDER BY id;
-- in the chain
SELECT entries FROM rowkeeper.seal_audit_log();
SELECT verified, problem FROM rowkeeper.verify_audit_chain();
BEGIN;
UPDATE rowkeeper.audit_log SET metadata = '{"session": "s-2", "mfa": true}' WHERE row_key = '{"id": 1}';
SELECT problem FROM rowkeeper.verify_audit_chain();
ROLLBACK;

-- Limits and bad values, with SET as with set_context().
\set VERBOSITY default
BEGIN;
SELECT rowkeeper.set_context(user_agent => repeat('u', 1025));
ROLLBACK;
BEGIN;
SELECT rowkeeper.set_context(metadata => jsonb_build_object('k', repeat('m', 8200)));
ROLLBACK;
BEGIN;
SELECT rowkeeper.set_context(metadata => '[1, 2]');
ROLLBACK;
BEGIN;
SET LOCAL rowkeeper.client_addr = 'not an address';
INSERT INTO visits VALUES (5, 'e');
ROLLBACK;
SELECT set_config('rowkeeper.user_agent', repeat('u', 2000), false);
\set VERBOSITY terse
BEGIN;
SELECT rowkeeper.set_context(user_agent => repeat('u', 1024));
SELECT length(current_setting('rowkeeper.user_agent')) AS at_the_limit;
ROLLBACK;

SELECT rowkeeper.disable_audit('visits');
DROP TABLE visits;
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal;
