-- context: rowkeeper.actor / tenant / request_id and set_context().

-- This session has not loaded rowkeeper.so yet.  Values SET before the
-- library loads are kept when it loads; an unknown rowkeeper.* name is
-- dropped with a warning (the prefix is reserved).
SET rowkeeper.actor = 'set-before-load';
SET rowkeeper.no_such_setting = 'x';
SELECT rowkeeper.current_actor();
SELECT current_setting('rowkeeper.no_such_setting', true) AS dropped_placeholder;
RESET rowkeeper.actor;

-- Once loaded, a typo is an error, not a silently ignored placeholder.
SET rowkeeper.actr = 'alice';

-- Defaults: nothing set.
SELECT current_setting('rowkeeper.actor') AS actor,
       current_setting('rowkeeper.tenant') AS tenant,
       current_setting('rowkeeper.request_id') AS request_id,
       rowkeeper.current_actor() IS NULL AS no_actor,
       rowkeeper.current_request_id() IS NULL AS no_request;

-- set_context() is transaction-local.
BEGIN;
SELECT rowkeeper.set_context('alice@example.com', 'tenant-1', 'req-42');
SELECT current_setting('rowkeeper.actor') AS actor,
       current_setting('rowkeeper.tenant') AS tenant,
       current_setting('rowkeeper.request_id') AS request_id,
       rowkeeper.current_actor() AS current_actor,
       rowkeeper.current_request_id() AS current_request_id;
COMMIT;
-- After the transaction a custom GUC reads as '' (not NULL): rowkeeper's
-- accessors treat that as "not set".
SELECT current_setting('rowkeeper.actor') = '' AS actor_empty,
       rowkeeper.current_actor() IS NULL AS no_actor,
       current_setting('rowkeeper.tenant') = '' AS tenant_empty;

-- Rolled back with the transaction, too.
BEGIN;
SELECT rowkeeper.set_context(actor => 'bob');
ROLLBACK;
SELECT rowkeeper.current_actor() IS NULL AS no_actor;

-- NULL leaves a part unchanged, '' clears it; savepoints are respected.
BEGIN;
SELECT rowkeeper.set_context('alice', 't1', 'r1');
SELECT rowkeeper.set_context(request_id => 'r2');
SELECT current_setting('rowkeeper.actor') AS actor,
       current_setting('rowkeeper.tenant') AS tenant,
       current_setting('rowkeeper.request_id') AS request_id;
SAVEPOINT s;
SELECT rowkeeper.set_context(actor => '');
SELECT rowkeeper.current_actor() IS NULL AS actor_cleared;
ROLLBACK TO SAVEPOINT s;
SELECT rowkeeper.current_actor() AS actor_after_rollback_to_savepoint;
COMMIT;

-- Outside a transaction block the call warns: the value would be gone
-- before the next statement.
SELECT rowkeeper.set_context('carol');
SELECT rowkeeper.current_actor() IS NULL AS gone;

-- A session-level SET still works for tools that want it (not pooler-safe).
SET rowkeeper.actor = 'migration-bot';
SELECT rowkeeper.current_actor();
RESET rowkeeper.actor;

-- Any role may set its own context.
CREATE ROLE rk_context_app;
SET ROLE rk_context_app;
BEGIN;
SELECT rowkeeper.set_context('app-user', 't9');
SELECT rowkeeper.current_actor(), current_setting('rowkeeper.tenant') AS tenant;
COMMIT;
RESET ROLE;
DROP ROLE rk_context_app;
