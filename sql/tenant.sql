-- tenant: enable_tenant_isolation() and the guarantees it gives.  Every
-- known way around row-level security is tried here; each either cannot
-- leak or shows the documented safe pattern next to the unsafe one.

-- The application role (no BYPASSRLS, owns nothing) and the role that owns
-- the tables (migrations).  FORCE makes the owner subject to the policies.
CREATE ROLE rk_app;
CREATE ROLE rk_owner;
GRANT CREATE, USAGE ON SCHEMA public TO rk_owner;
SET ROLE rk_owner;

CREATE TABLE accounts (id int PRIMARY KEY, tenant_id uuid NOT NULL, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, total int);
CREATE TABLE notes (id int PRIMARY KEY, org int NOT NULL, body text);
CREATE TABLE docs (id int PRIMARY KEY, "Tenant" text NOT NULL, body text);
CREATE INDEX ON orders (tenant_id, id);

SELECT rowkeeper.enable_tenant_isolation('accounts');
SELECT rowkeeper.enable_tenant_isolation('orders');
SELECT rowkeeper.enable_tenant_isolation('notes', 'org');
SELECT rowkeeper.enable_tenant_isolation('docs', 'Tenant');
-- idempotent
SELECT rowkeeper.enable_tenant_isolation('accounts');

SELECT table_name, column_name, column_type, rls_enabled, rls_forced,
       grant_access, fills_on_insert, indexed, partition_of
  FROM rowkeeper.tenant_isolated_tables ORDER BY relname;

-- The policies: restrictive (the guarantee) and permissive (the grant),
-- typed comparisons, no subqueries.
SELECT tablename, policyname, permissive, roles, cmd, qual, with_check
  FROM pg_policies WHERE schemaname = 'public' ORDER BY tablename, policyname;

-- orders already had an index led by tenant_id: none was added.
SELECT indexrelid::regclass AS index, obj_description(indexrelid, 'pg_class') AS comment
  FROM pg_index WHERE indrelid IN ('accounts'::regclass, 'orders'::regclass)
 ORDER BY indexrelid::regclass::text;

GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, orders, notes, docs TO rk_app;
RESET ROLE;

-- Test data, written by a BYPASSRLS role (the superuser running the tests).
INSERT INTO accounts VALUES
    (1, 'aaaaaaaa-0000-0000-0000-000000000001', 'a1'),
    (2, 'aaaaaaaa-0000-0000-0000-000000000001', 'a2'),
    (3, 'bbbbbbbb-0000-0000-0000-000000000002', 'b3');
INSERT INTO orders VALUES (1, 100, 10), (2, 100, 20), (3, 200, 30);
INSERT INTO notes VALUES (1, 7, 'seven'), (2, 8, 'eight');
INSERT INTO docs VALUES (1, 'acme', 'acme doc'), (2, 'globex', 'globex doc');

SET ROLE rk_app;

------------------------------------------------------------------------------
-- Fail closed: no tenant is an error, never all rows and never no rows.
------------------------------------------------------------------------------
-- never set
SELECT count(*) FROM accounts;
SELECT current_setting('rowkeeper.tenant') AS tenant_is_empty_string;
-- set, then RESET
SET rowkeeper.tenant = 'aaaaaaaa-0000-0000-0000-000000000001';
SELECT count(*) FROM accounts;
RESET rowkeeper.tenant;
SELECT count(*) FROM accounts;
-- the empty string
SET rowkeeper.tenant = '';
SELECT count(*) FROM accounts;
SELECT rowkeeper.current_tenant();
-- after the transaction that set it has ended (the GUC reads '' then)
BEGIN;
SELECT rowkeeper.set_context(tenant => 'aaaaaaaa-0000-0000-0000-000000000001');
SELECT count(*) FROM accounts;
COMMIT;
SELECT count(*) FROM accounts;
-- rolled back to a savepoint taken before it was set
BEGIN;
SAVEPOINT s;
SELECT rowkeeper.set_context(tenant => 'aaaaaaaa-0000-0000-0000-000000000001');
ROLLBACK TO SAVEPOINT s;
SELECT count(*) FROM accounts;
ROLLBACK;
-- writes too
INSERT INTO accounts (id, name) VALUES (10, 'no tenant');
UPDATE accounts SET name = 'x';
DELETE FROM accounts;

------------------------------------------------------------------------------
-- Reads, writes and the tenant fill, per type.
------------------------------------------------------------------------------
BEGIN;
SELECT rowkeeper.set_context(tenant => 'aaaaaaaa-0000-0000-0000-000000000001');
SELECT rowkeeper.current_tenant(), rowkeeper.current_tenant_uuid();
SELECT * FROM accounts ORDER BY id;
-- filled on INSERT when omitted
INSERT INTO accounts (id, name) VALUES (4, 'a4') RETURNING *;
-- another tenant's rows are neither visible nor updatable nor deletable
UPDATE accounts SET name = name || '!' WHERE id IN (1, 3) RETURNING id, name;
DELETE FROM accounts WHERE id = 3 RETURNING id;
SELECT * FROM accounts WHERE id = 3;
COMMIT;

BEGIN;
SELECT rowkeeper.set_context(tenant => '200');
SELECT rowkeeper.current_tenant_bigint();
SELECT * FROM orders ORDER BY id;
INSERT INTO orders (id, total) VALUES (4, 40) RETURNING *;
COMMIT;

BEGIN;
SELECT rowkeeper.set_context(tenant => '8');
SELECT rowkeeper.current_tenant_int();
SELECT * FROM notes ORDER BY id;
INSERT INTO notes (id, body) VALUES (3, 'eight too') RETURNING *;
COMMIT;

BEGIN;
SELECT rowkeeper.set_context(tenant => 'acme');
SELECT * FROM docs ORDER BY id;
INSERT INTO docs (id, body) VALUES (3, 'acme again') RETURNING *;
COMMIT;

------------------------------------------------------------------------------
-- The policy compares in the column's own type (and collation), so the
-- column's index serves it, index-only scans included; no subquery.
------------------------------------------------------------------------------
RESET ROLE;
CREATE TABLE coll (id int PRIMARY KEY, tenant_id text COLLATE "C" NOT NULL);
SELECT rowkeeper.enable_tenant_isolation('coll');
INSERT INTO coll SELECT g, 'tenant-' || (g % 10) FROM generate_series(1, 1000) g;
VACUUM ANALYZE coll;
VACUUM ANALYZE accounts;
GRANT SELECT ON coll TO rk_app;
SET ROLE rk_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'tenant-3');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM coll;
SELECT count(*) FROM coll;
SELECT pg_get_expr(polqual, polrelid) FROM pg_policy
 WHERE polrelid = 'coll'::regclass AND polname = 'rowkeeper_tenant_isolation';
-- uuid: the primary key finds the row, the policy filters it
SELECT rowkeeper.set_context(tenant => 'aaaaaaaa-0000-0000-0000-000000000001');
EXPLAIN (COSTS OFF) SELECT * FROM accounts WHERE id = 1;
EXPLAIN (COSTS OFF) SELECT count(*) FROM accounts;
COMMIT;
-- The planner folds the STABLE function to estimate selectivity, so even
-- planning fails closed without a tenant.
EXPLAIN (COSTS OFF) SELECT count(*) FROM accounts;

------------------------------------------------------------------------------
-- No write can create a row of another tenant or move a row between them.
------------------------------------------------------------------------------
BEGIN;
SELECT rowkeeper.set_context(tenant => 'aaaaaaaa-0000-0000-0000-000000000001');
SAVEPOINT s;
-- explicit other tenant
INSERT INTO accounts VALUES (20, 'bbbbbbbb-0000-0000-0000-000000000002', 'planted');
ROLLBACK TO SAVEPOINT s;
-- explicit NULL
INSERT INTO accounts VALUES (20, NULL, 'orphan');
ROLLBACK TO SAVEPOINT s;
-- moving a row: the tenant column is immutable
UPDATE accounts SET tenant_id = 'bbbbbbbb-0000-0000-0000-000000000002' WHERE id = 1;
ROLLBACK TO SAVEPOINT s;
-- setting it to the value it has is not a change
UPDATE accounts SET tenant_id = tenant_id, name = 'a1' WHERE id = 1;
-- INSERT ... ON CONFLICT: a key of another tenant is not silently updated
INSERT INTO accounts (id, name) VALUES (3, 'stolen')
    ON CONFLICT (id) DO UPDATE SET name = excluded.name;
ROLLBACK TO SAVEPOINT s;
INSERT INTO accounts (id, name) VALUES (3, 'stolen') ON CONFLICT (id) DO NOTHING;
-- ... and on its own key it works
INSERT INTO accounts (id, name) VALUES (2, 'a2 upserted')
    ON CONFLICT (id) DO UPDATE SET name = excluded.name RETURNING *;
-- ON CONFLICT cannot move the row either
INSERT INTO accounts (id, name) VALUES (2, 'x')
    ON CONFLICT (id) DO UPDATE SET tenant_id = 'bbbbbbbb-0000-0000-0000-000000000002';
ROLLBACK TO SAVEPOINT s;
-- MERGE sees only the tenant's rows and inserts only for it
MERGE INTO accounts a
USING (VALUES (1, 'a1 merged'), (3, 'b3 merged')) AS s(id, name) ON a.id = s.id
 WHEN MATCHED THEN UPDATE SET name = s.name
 WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id + 100, s.name);
SELECT * FROM accounts ORDER BY id;
SAVEPOINT s2;
MERGE INTO accounts a USING (VALUES (50)) AS s(id) ON a.id = s.id
 WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'bbbbbbbb-0000-0000-0000-000000000002', 'planted');
ROLLBACK TO SAVEPOINT s2;
MERGE INTO accounts a USING (VALUES (1)) AS s(id) ON a.id = s.id
 WHEN MATCHED THEN UPDATE SET tenant_id = 'bbbbbbbb-0000-0000-0000-000000000002';
ROLLBACK;

-- The tenant column is immutable for BYPASSRLS roles too.
RESET ROLE;
UPDATE accounts SET tenant_id = 'bbbbbbbb-0000-0000-0000-000000000002' WHERE id = 1;
SET ROLE rk_app;

------------------------------------------------------------------------------
-- Bypass classes
------------------------------------------------------------------------------
-- Owner access: FORCE ROW LEVEL SECURITY confines the owner as well.
SET ROLE rk_owner;
SELECT count(*) FROM accounts;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'bbbbbbbb-0000-0000-0000-000000000002');
SELECT * FROM accounts ORDER BY id;
COMMIT;

-- Views.  A view runs with its owner's privileges.  Owned by the table
-- owner it is still filtered (FORCE, and the tenant is the session's);
-- security_invoker views are filtered for the caller.  A view owned by a
-- role with BYPASSRLS (here the superuser) shows every tenant: that is
-- what tenant_safety_checks() reports (views without security_invoker).
CREATE VIEW accounts_owner_view AS SELECT * FROM accounts;
CREATE VIEW accounts_invoker_view WITH (security_invoker) AS SELECT * FROM accounts;
GRANT SELECT ON accounts_owner_view, accounts_invoker_view TO rk_app;
RESET ROLE;
CREATE VIEW accounts_superuser_view AS SELECT * FROM accounts;
GRANT SELECT ON accounts_superuser_view TO rk_app;
SET ROLE rk_app;
SELECT count(*) FROM accounts_owner_view;
SELECT count(*) FROM accounts_invoker_view;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'bbbbbbbb-0000-0000-0000-000000000002');
SELECT id FROM accounts_owner_view ORDER BY id;
SELECT id FROM accounts_invoker_view ORDER BY id;
SELECT id FROM accounts_superuser_view ORDER BY id;   -- the unsafe pattern
COMMIT;

-- Leaky functions in WHERE: the policy is applied first (security
-- barrier), so a function that logs its arguments sees only visible rows.
CREATE FUNCTION pg_temp.peek(text) RETURNS boolean
LANGUAGE plpgsql COST 0.0001 AS $$
BEGIN
    RAISE NOTICE 'peek saw %', $1;
    RETURN true;
END;
$$;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'bbbbbbbb-0000-0000-0000-000000000002');
SELECT id FROM accounts WHERE pg_temp.peek(name) ORDER BY id;
COMMIT;

-- COPY TO is filtered like SELECT; COPY FROM is refused by PostgreSQL for
-- roles subject to RLS (use INSERT).
BEGIN;
SELECT rowkeeper.set_context(tenant => 'bbbbbbbb-0000-0000-0000-000000000002');
COPY accounts TO STDOUT;
COPY accounts (id, name) FROM STDIN;
99	copied
\.
ROLLBACK;

-- Prepared statements and cached plans reused after the tenant changed:
-- the tenant is read when the plan runs, not when it was made.
PREPARE by_id(int) AS SELECT id, name FROM accounts WHERE id = $1;
PREPARE all_rows AS SELECT id FROM accounts ORDER BY id;
SET plan_cache_mode = force_generic_plan;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'aaaaaaaa-0000-0000-0000-000000000001');
EXECUTE all_rows;
EXECUTE by_id(1);
EXECUTE by_id(3);
COMMIT;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'bbbbbbbb-0000-0000-0000-000000000002');
EXECUTE all_rows;
EXECUTE by_id(1);
EXECUTE by_id(3);
COMMIT;
EXECUTE all_rows;
RESET plan_cache_mode;
DEALLOCATE by_id;
DEALLOCATE all_rows;
-- a PL/pgSQL function keeps its plans for the session, same result
CREATE FUNCTION pg_temp.visible_ids() RETURNS int[]
LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT array_agg(id ORDER BY id) FROM public.accounts);
END;
$$;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'aaaaaaaa-0000-0000-0000-000000000001');
SELECT pg_temp.visible_ids();
COMMIT;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'bbbbbbbb-0000-0000-0000-000000000002');
SELECT pg_temp.visible_ids();
COMMIT;

-- SECURITY DEFINER functions run as their owner.  Owned by the table
-- owner (no BYPASSRLS) they stay confined to the caller's tenant; owned by
-- a superuser or a BYPASSRLS role they see everything (the unsafe pattern:
-- never let such a role own application functions).
SET ROLE rk_owner;
CREATE FUNCTION count_accounts_as_owner() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$ SELECT count(*) FROM public.accounts $$;
RESET ROLE;
CREATE FUNCTION count_accounts_as_superuser() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$ SELECT count(*) FROM public.accounts $$;
SET ROLE rk_app;
\set SHOW_CONTEXT never
SELECT count_accounts_as_owner();   -- (no CONTEXT: its wording changed in 18)
\set SHOW_CONTEXT errors
BEGIN;
SELECT rowkeeper.set_context(tenant => 'bbbbbbbb-0000-0000-0000-000000000002');
SELECT count_accounts_as_owner();
SELECT count_accounts_as_superuser();   -- the unsafe pattern
COMMIT;

-- TRUNCATE does not look at rows, so RLS cannot filter it: the
-- application role must not hold the TRUNCATE privilege (it does not here).
BEGIN;
SELECT rowkeeper.set_context(tenant => 'bbbbbbbb-0000-0000-0000-000000000002');
TRUNCATE accounts;
ROLLBACK;

-- Existence leaks through constraints.  Uniqueness and foreign keys are
-- checked across all rows, whatever the policies say.
SET ROLE rk_owner;
CREATE TABLE users_unsafe (id int PRIMARY KEY, tenant_id text NOT NULL, email text UNIQUE);
CREATE TABLE users_safe (id int, tenant_id text NOT NULL, email text,
                         PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, email));
SELECT rowkeeper.enable_tenant_isolation('users_unsafe');
SELECT rowkeeper.enable_tenant_isolation('users_safe');
-- child tables: a single-column foreign key, and one including the tenant
CREATE TABLE posts_unsafe (id int PRIMARY KEY, tenant_id text NOT NULL,
                           user_id int REFERENCES users_unsafe (id));
CREATE TABLE posts_safe (id int PRIMARY KEY, tenant_id text NOT NULL, user_id int,
                         FOREIGN KEY (tenant_id, user_id) REFERENCES users_safe (tenant_id, id));
SELECT rowkeeper.enable_tenant_isolation('posts_unsafe');
SELECT rowkeeper.enable_tenant_isolation('posts_safe');
GRANT SELECT, INSERT ON users_unsafe, users_safe, posts_unsafe, posts_safe TO rk_app;
SET ROLE rk_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'acme');
INSERT INTO users_unsafe (id, email) VALUES (1, 'ceo@example.com');
INSERT INTO users_safe (id, email) VALUES (1, 'ceo@example.com');
COMMIT;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'globex');
SAVEPOINT s;
-- unsafe: globex learns that the address exists at another tenant
INSERT INTO users_unsafe (id, email) VALUES (2, 'ceo@example.com');
ROLLBACK TO SAVEPOINT s;
-- safe: uniqueness per tenant
INSERT INTO users_safe (id, email) VALUES (1, 'ceo@example.com');
-- unsafe: a row pointing at another tenant's user is accepted
INSERT INTO posts_unsafe (id, user_id) VALUES (1, 1);
-- safe: the key includes the tenant, so only this tenant's users match
INSERT INTO posts_safe (id, user_id) VALUES (1, 1);
SAVEPOINT s2;
INSERT INTO posts_safe (id, user_id) VALUES (2, 42);
ROLLBACK TO SAVEPOINT s2;
COMMIT;

-- Another capability's (or the user's) policies: a permissive policy
-- granting everything cannot widen access beyond the tenant, and a
-- restrictive one (soft delete hiding rows) still narrows it.
SET ROLE rk_owner;
CREATE POLICY everyone_sees_all ON accounts AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
CREATE POLICY hide_archived ON accounts AS RESTRICTIVE FOR ALL TO PUBLIC USING (name <> 'archived');
RESET ROLE;
UPDATE accounts SET name = 'archived' WHERE id = 4;
SET ROLE rk_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => 'aaaaaaaa-0000-0000-0000-000000000001');
SELECT id, name FROM accounts ORDER BY id;
SAVEPOINT s;
INSERT INTO accounts VALUES (30, 'bbbbbbbb-0000-0000-0000-000000000002', 'planted');
ROLLBACK TO SAVEPOINT s;
ROLLBACK;
SET ROLE rk_owner;
DROP POLICY everyone_sees_all ON accounts;
DROP POLICY hide_archived ON accounts;

-- grant_access => false: the table's own permissive policies decide which
-- of the tenant's rows are reachable; the restrictive policy still holds.
CREATE TABLE tickets (id int PRIMARY KEY, tenant_id int NOT NULL, assignee text);
SELECT rowkeeper.enable_tenant_isolation('tickets', grant_access => false);
CREATE POLICY own_tickets ON tickets FOR ALL TO PUBLIC USING (assignee = current_user);
GRANT SELECT ON tickets TO rk_app;
RESET ROLE;
INSERT INTO tickets VALUES (1, 1, 'rk_app'), (2, 1, 'someone'), (3, 2, 'rk_app');
SET ROLE rk_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
SELECT * FROM tickets ORDER BY id;
COMMIT;
SET ROLE rk_owner;
SELECT relname, grant_access FROM rowkeeper.tenant_isolated_tables WHERE relname = 'tickets';

------------------------------------------------------------------------------
-- Partitioned tables: every partition gets the policies, because a
-- partition queried directly does not use its parent's.
------------------------------------------------------------------------------
CREATE TABLE events (id int, tenant_id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT rowkeeper.enable_tenant_isolation('events');
GRANT SELECT, INSERT ON events, events_2025, events_2026 TO rk_app;
SELECT table_name, column_name, rls_forced, fills_on_insert, indexed, partition_of
  FROM rowkeeper.tenant_isolated_tables WHERE relname LIKE 'events%' ORDER BY relname;
RESET ROLE;
INSERT INTO events VALUES (1, 1, '2025-05-01'), (2, 2, '2025-06-01'), (3, 1, '2026-02-01');
SET ROLE rk_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
SELECT id FROM events ORDER BY id;
SELECT id FROM events_2025 ORDER BY id;
INSERT INTO events_2026 (id, at) VALUES (4, '2026-03-01') RETURNING *;
INSERT INTO events_2026 VALUES (5, 2, '2026-03-01');
ROLLBACK;

-- Parallel workers read the same tenant.  (force_parallel_mode is called
-- debug_parallel_query from 16 on.)
RESET ROLE;
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
            THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS parallel_guc \gset
SET :parallel_guc = on;
SET ROLE rk_app;
BEGIN;
SELECT rowkeeper.set_context(tenant => '200');
SELECT count(*), sum(total) FROM orders;
COMMIT;
RESET :parallel_guc;

------------------------------------------------------------------------------
-- Privileged paths go through BYPASSRLS, not a switch: a purge job deletes
-- as the table's owner, which FORCE confines, so without a tenant it fails
-- closed; owned by a BYPASSRLS role (the migration role) it purges every
-- tenant's expired rows.
------------------------------------------------------------------------------
RESET ROLE;
CREATE ROLE rk_migrator BYPASSRLS;
CREATE TABLE sessions (id int PRIMARY KEY, tenant_id int NOT NULL, expires_at timestamptz NOT NULL);
CREATE INDEX ON sessions (expires_at);
ALTER TABLE sessions OWNER TO rk_owner;
SELECT rowkeeper.enable_tenant_isolation('sessions');
INSERT INTO sessions SELECT g, g % 3, now() - interval '2 days' FROM generate_series(1, 30) g;
\set VERBOSITY sqlstate
CALL rowkeeper.purge_expired('sessions', 'expires_at', '1 day', batch_size => 10);
\set VERBOSITY default
SELECT outcome, rows_deleted, error FROM rowkeeper.purge_runs
 WHERE target = 'public.sessions' ORDER BY id;
SELECT count(*) AS not_purged FROM sessions;
ALTER TABLE sessions OWNER TO rk_migrator;
\o /dev/null
CALL rowkeeper.purge_expired('sessions', 'expires_at', '1 day', batch_size => 10);
\o
SELECT count(*) AS left_after_purge FROM sessions;
SELECT outcome, rows_deleted, error FROM rowkeeper.purge_runs
 WHERE target = 'public.sessions' ORDER BY id;
DELETE FROM rowkeeper.purge_runs WHERE target = 'public.sessions';
SELECT rowkeeper.disable_tenant_isolation('sessions');
DROP TABLE sessions;
DROP ROLE rk_migrator;

------------------------------------------------------------------------------
-- Schema form, disable, and what disable leaves.
------------------------------------------------------------------------------
RESET ROLE;
CREATE SCHEMA crm;
CREATE TABLE crm.contacts (id int PRIMARY KEY, tenant_id uuid NOT NULL);
CREATE TABLE crm.deals (id int PRIMARY KEY, tenant_id uuid NOT NULL);
CREATE TABLE crm.settings (key text PRIMARY KEY, value text);
-- a table that already had RLS with its own policy keeps both when disabled
ALTER TABLE crm.deals ENABLE ROW LEVEL SECURITY;
CREATE POLICY deals_own ON crm.deals USING (true);
SELECT * FROM rowkeeper.enable_tenant_isolation_in_schema('crm');
SELECT table_name, rls_enabled, rls_forced FROM rowkeeper.tenant_isolated_tables
 WHERE schema_name = 'crm' ORDER BY relname;
SELECT * FROM rowkeeper.disable_tenant_isolation_in_schema('crm');
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT array_agg(polname ORDER BY polname) FROM pg_policy WHERE polrelid = c.oid) AS policies,
       (SELECT array_agg(indexrelid::regclass::text ORDER BY 1) FROM pg_index WHERE indrelid = c.oid) AS indexes,
       (SELECT count(*) FROM pg_attrdef WHERE adrelid = c.oid) AS defaults,
       (SELECT count(*) FROM pg_trigger WHERE tgrelid = c.oid) AS triggers
  FROM pg_class c WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind = 'r' ORDER BY 1;
SELECT rowkeeper.disable_tenant_isolation('crm.contacts');
DROP SCHEMA crm CASCADE;

-- Changing the column: the old column's default and trigger go.
CREATE TABLE two_cols (id int PRIMARY KEY, tenant_id int, org_id int);
SELECT rowkeeper.enable_tenant_isolation('two_cols');
SELECT rowkeeper.enable_tenant_isolation('two_cols', 'org_id');
SELECT column_name FROM rowkeeper.tenant_isolated_tables WHERE relname = 'two_cols';
SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
 WHERE d.adrelid = 'two_cols'::regclass;
DROP TABLE two_cols;

-- Everything else is disabled and dropped.
SELECT t.relname, rowkeeper.disable_tenant_isolation(t.table_name)
  FROM rowkeeper.tenant_isolated_tables t WHERE t.partition_of IS NULL ORDER BY t.relname;
SELECT count(*) AS still_isolated FROM rowkeeper.tenant_isolated_tables;
SELECT count(*) AS rowkeeper_policies FROM pg_policy WHERE polname LIKE 'rowkeeper%';
DROP FUNCTION count_accounts_as_owner();
DROP FUNCTION count_accounts_as_superuser();
DROP VIEW accounts_owner_view, accounts_invoker_view, accounts_superuser_view;
DROP TABLE accounts, orders, notes, docs, posts_unsafe, posts_safe, users_unsafe, users_safe,
           tickets, events, coll;
DROP OWNED BY rk_app, rk_owner;
DROP ROLE rk_app;
DROP ROLE rk_owner;
