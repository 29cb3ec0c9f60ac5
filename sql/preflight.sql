-- preflight: the production checklist.  The output is limited to objects
-- this test creates and to checks whose status it controls (settings and
-- the rest of the database depend on the machine and the other tests).
CREATE SCHEMA rk_preflight;
CREATE TABLE rk_preflight.accounts (id int PRIMARY KEY, name text, updated_at timestamptz);
CREATE TABLE rk_preflight.docs (id int PRIMARY KEY, body text, "updatedAt" timestamptz,
                                deleted_at timestamptz);
CREATE TABLE rk_preflight.notes (id int PRIMARY KEY, tenant_id bigint NOT NULL, body text);

------------------------------------------------------------------------------
-- coverage: every finding, then each one fixed
------------------------------------------------------------------------------
SELECT check_name, status, object, fix
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name LIKE 'coverage.%' OR check_name = 'tenant.tenant_table_not_isolated'
 ORDER BY 1, 3;

-- for CI: raises, naming every failed check (the rest left out with ignore)
SELECT rowkeeper.preflight_assert('{rk_preflight}', ignore => '{roles.%,settings.%,hygiene.%,tenant.%}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

SELECT rowkeeper.enable_audit('rk_preflight.accounts');
SELECT rowkeeper.enable_updated_at('rk_preflight.accounts');
SELECT rowkeeper.enable_soft_delete('rk_preflight.docs');
SELECT rowkeeper.enable_audit('rk_preflight.docs');
SELECT rowkeeper.enable_updated_at('rk_preflight.docs', 'updatedAt');
SELECT rowkeeper.enable_tenant_isolation('rk_preflight.notes');
SELECT rowkeeper.enable_audit('rk_preflight.notes');

SELECT check_name, status, object, fix
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name LIKE 'coverage.%' OR check_name = 'tenant.tenant_table_not_isolated'
 ORDER BY 1, 3;
SELECT rowkeeper.preflight_assert('{rk_preflight}', ignore => '{roles.%,settings.%,hygiene.%,tenant.%}');

-- a disabled trigger is a finding too
ALTER TABLE rk_preflight.accounts DISABLE TRIGGER USER;
SELECT check_name, status, object, detail, fix
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name LIKE 'coverage.%' AND status <> 'ok'
 ORDER BY 1, 3;
ALTER TABLE rk_preflight.accounts ENABLE TRIGGER USER;

-- ORM migration bookkeeping tables are recognised and skipped (an info row
-- says so), by name and columns; ignore takes check:object patterns
BEGIN;
CREATE TABLE rk_preflight._prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL,
    finished_at timestamptz, migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz,
    started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count int NOT NULL DEFAULT 0);
CREATE TABLE rk_preflight.django_migrations (id bigserial PRIMARY KEY, app varchar(255) NOT NULL,
    name varchar(255) NOT NULL, applied timestamptz NOT NULL);
CREATE TABLE rk_preflight.knex_migrations (id serial PRIMARY KEY, name varchar(255), batch int,
    migration_time timestamptz);
CREATE TABLE rk_preflight.knex_migrations_lock (index serial PRIMARY KEY, is_locked int);
CREATE TABLE rk_preflight."SequelizeMeta" (name varchar(255) PRIMARY KEY);
CREATE TABLE rk_preflight.migrations (id serial PRIMARY KEY, "timestamp" bigint NOT NULL, name varchar NOT NULL);
CREATE TABLE rk_preflight.typeorm_metadata (type varchar NOT NULL, database varchar, schema varchar,
    "table" varchar, name varchar, value text);
CREATE TABLE rk_preflight.schema_migrations (version varchar PRIMARY KEY);
CREATE SCHEMA drizzle;
CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
-- not bookkeeping: drizzle's name in another schema, a "migrations" table of the application
CREATE TABLE rk_preflight.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
CREATE SCHEMA app;
CREATE TABLE app.migrations (id int PRIMARY KEY, from_plan text, to_plan text);
SELECT check_name, status, object, detail
  FROM rowkeeper.preflight('{rk_preflight,drizzle,app}')
 WHERE check_name = 'coverage.audit'
 ORDER BY 2, 3;
SAVEPOINT s;
SELECT rowkeeper.preflight_assert('{rk_preflight,drizzle,app}',
    ignore => '{roles.%,settings.%,hygiene.%,tenant.%,coverage.updated_at,coverage.soft_delete}');
ROLLBACK TO s;
-- one object left out (quotes optional), a LIKE pattern for the other
SELECT rowkeeper.preflight_assert('{rk_preflight,drizzle,app}',
    ignore => ARRAY['roles.%', 'settings.%', 'hygiene.%', 'tenant.%', 'coverage.updated_at', 'coverage.soft_delete',
                    'coverage.audit:rk_preflight."__drizzle_migrations"', 'coverage.audit:app.%']);
-- an audited bookkeeping table is simply audited
SELECT rowkeeper.enable_audit('rk_preflight."SequelizeMeta"');
SELECT status, object FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'coverage.audit' AND object LIKE '%Sequelize%';
ROLLBACK;

-- the schema filter: other schemas are not looked at, every schema is by default
CREATE SCHEMA rk_preflight_other;
CREATE TABLE rk_preflight_other.loose (id int PRIMARY KEY, tenant_id int NOT NULL);
SELECT check_name, status, object
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE object LIKE 'rk_preflight_other.%';
SELECT check_name, status, object
  FROM rowkeeper.preflight()
 WHERE object LIKE 'rk_preflight_other.%'
 ORDER BY 1, 3;
DROP SCHEMA rk_preflight_other CASCADE;

------------------------------------------------------------------------------
-- roles
------------------------------------------------------------------------------
CREATE ROLE rk_pf_root LOGIN SUPERUSER;
CREATE ROLE rk_pf_admin LOGIN BYPASSRLS;
CREATE ROLE rk_pf_app LOGIN PASSWORD 'secret';
CREATE ROLE rk_pf_owner NOLOGIN;
ALTER TABLE rk_preflight.accounts OWNER TO rk_pf_app;
ALTER TABLE rk_preflight.notes OWNER TO rk_pf_owner;
GRANT CREATE ON SCHEMA rk_preflight TO PUBLIC;
SELECT check_name, status, object, fix
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name LIKE 'roles.%' AND (object LIKE 'rk_pf%' OR object LIKE '%rk_preflight%')
 ORDER BY 1, 3;

ALTER ROLE rk_pf_root NOSUPERUSER;
ALTER ROLE rk_pf_admin NOBYPASSRLS;
ALTER ROLE rk_pf_app VALID UNTIL '2100-01-01';
ALTER TABLE rk_preflight.accounts OWNER TO rk_pf_owner;
REVOKE CREATE ON SCHEMA rk_preflight FROM PUBLIC;
SELECT check_name, status, object
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name LIKE 'roles.%' AND (object LIKE 'rk_pf%' OR object LIKE '%rk_preflight%')
 ORDER BY 1, 3;
-- with no finding in scope, the check says ok
SELECT check_name, status, object
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'roles.login_owns_table';

------------------------------------------------------------------------------
-- settings: each check is there with a valid status (the values are the
-- machine's); a timeout set for the session counts
------------------------------------------------------------------------------
SELECT check_name, status IN ('ok', 'warn', 'fail') AS valid_status, object,
       detail IS NOT NULL AS has_detail, (status = 'ok') = (fix IS NULL) AS fix_when_not_ok
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name LIKE 'settings.%'
 ORDER BY 1;
SET statement_timeout = '10min';
SET log_min_duration_statement = '1s';
SELECT check_name, status, detail
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name IN ('settings.statement_timeout', 'settings.log_min_duration_statement')
 ORDER BY 1;
SET statement_timeout = 0;
SET log_min_duration_statement = -1;
-- the server value, or a role or database setting
BEGIN;
SET LOCAL statement_timeout = 0;
SELECT status = 'warn' OR detail LIKE '%set for%' AS warn_unless_set_elsewhere
  FROM rowkeeper.preflight('{rk_preflight}') WHERE check_name = 'settings.statement_timeout';
ALTER ROLE rk_pf_app SET statement_timeout = '30s';
SELECT status, detail LIKE '%set for role rk_pf_app%' AS names_the_role
  FROM rowkeeper.preflight('{rk_preflight}') WHERE check_name = 'settings.statement_timeout';
ROLLBACK;
RESET statement_timeout;
RESET log_min_duration_statement;
-- wal_compression, once tables are audited
BEGIN;
SET LOCAL wal_compression = off;
SELECT status, detail LIKE '%full-page images%' AS says_why, fix FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.wal_compression' AND EXISTS (SELECT FROM rowkeeper.audited_tables);
SET LOCAL wal_compression = pglz;
SELECT status, fix FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.wal_compression';
ROLLBACK;
-- tenant token mode needs the library preloaded (this cluster does not)
SELECT status, detail FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.tenant_token_preload';
BEGIN;
SET LOCAL rowkeeper.tenant_mode = 'token';
SELECT status, fix FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.tenant_token_preload';
SET LOCAL session_preload_libraries = auto_explain, rowkeeper;   -- as the configuration would say
SELECT status, detail FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.tenant_token_preload';
ROLLBACK;
-- a tenant key where every role can read it (pg_db_role_setting, a
-- function's SET clause) is refused; preflight fails on one stored before
-- the library was loaded (TAP 065_tenant_key_source.pl)
SELECT status, detail, fix FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.tenant_key_source';
ALTER ROLE rk_pf_app SET rowkeeper.tenant_key = 'rk-preflight-key-0123456789abcdef0123';
-- soft delete's fast paths need the library preloaded, once a table has it
SELECT status FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.soft_delete_preload';
BEGIN;
CREATE TABLE rk_preflight.sd (id int PRIMARY KEY);
SELECT rowkeeper.enable_soft_delete('rk_preflight.sd');
SELECT status, detail, fix FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.soft_delete_preload';
SET LOCAL session_preload_libraries = rowkeeper;
SELECT status, detail FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.soft_delete_preload';
ROLLBACK;
-- so do the owner's migrations past FORCE ROW LEVEL SECURITY (foreign
-- keys, pg_dump) when tables are under tenant isolation
BEGIN;
CREATE TABLE rk_preflight.ti (id int PRIMARY KEY, tenant_id int NOT NULL);
SELECT rowkeeper.enable_tenant_isolation('rk_preflight.ti');
SELECT status, detail, fix FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.tenant_migration_preload';
SET LOCAL session_preload_libraries = rowkeeper;
SELECT status, detail FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'settings.tenant_migration_preload';
ROLLBACK;

------------------------------------------------------------------------------
-- hygiene
------------------------------------------------------------------------------
-- an invalid index: a unique index built concurrently over duplicates
CREATE TABLE rk_preflight.dups (id int) WITH (autovacuum_enabled = false);
INSERT INTO rk_preflight.dups VALUES (1), (1);
CREATE UNIQUE INDEX CONCURRENTLY dups_id_key ON rk_preflight.dups (id);
SELECT check_name, status, object, fix
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.invalid_index';
DROP INDEX rk_preflight.dups_id_key;
SELECT check_name, status, object
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.invalid_index';

-- an unused index is info (it never fails), and goes once it is scanned
CREATE INDEX dups_id_idx ON rk_preflight.dups (id);
SELECT check_name, status, object
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.unused_index' AND object LIKE 'rk_preflight.dups%';
SET enable_seqscan = off;
SELECT count(*) FROM rk_preflight.dups WHERE id = 1;
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
SELECT check_name, status, object
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.unused_index' AND object LIKE 'rk_preflight.dups%';

-- dead rows: more than 10% (and at least 1000)
INSERT INTO rk_preflight.dups SELECT g FROM generate_series(2, 3000) g;
DELETE FROM rk_preflight.dups WHERE id <= 1500;
SELECT pg_stat_force_next_flush();
SELECT check_name, status, object, fix
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.dead_tuples' AND object LIKE 'rk_preflight.%';
VACUUM rk_preflight.dups;
SELECT pg_stat_force_next_flush();
SELECT check_name, status, object
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.dead_tuples' AND object LIKE 'rk_preflight.%';

-- audit log partitions for this month and the next
SELECT check_name, status FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.audit_partition' ORDER BY object;
BEGIN;
-- (a DO block, so the partition's date-dependent name is not echoed)
DO $$
DECLARE
    p regclass;
BEGIN
    SELECT part INTO STRICT p FROM rowkeeper._audit_partition_bounds()
     WHERE lower_bound <= date_trunc('month', now()) + interval '1 month 1 day'
       AND upper_bound > date_trunc('month', now()) + interval '1 month 1 day';
    EXECUTE format('ALTER TABLE rowkeeper.audit_log DETACH PARTITION %s', p);
END
$$;
SELECT check_name, status, object LIKE 'rowkeeper.audit_log_y%' AS names_it, fix
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.audit_partition' ORDER BY status, object;
ROLLBACK;

-- purge jobs: the last run of each job counts
BEGIN;
INSERT INTO rowkeeper.purge_runs (kind, target, options, outcome, error)
VALUES ('expired', 'rk_preflight.tokens', '{}', 'failed', 'canceling statement due to statement timeout'),
       ('expired', 'rk_preflight.sessions', '{}', 'done', NULL),
       ('expired', 'rk_preflight.sessions', '{}', 'interrupted', NULL);
SELECT check_name, status, object, fix
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.purge_run' AND object LIKE '%rk_preflight.%'
 ORDER BY 3;
INSERT INTO rowkeeper.purge_runs (kind, target, options, outcome)
VALUES ('expired', 'rk_preflight.tokens', '{}', 'done'), ('expired', 'rk_preflight.sessions', '{}', 'done');
SELECT check_name, status, object
  FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.purge_run' AND object LIKE '%rk_preflight.%';
ROLLBACK;

-- the hash chain: entries left unsealed for over an hour
BEGIN;
INSERT INTO rowkeeper.audit_seal (batch, txid_lo, txid_hi, entries, digests, prev_hash, hash,
                                  sealed_at, last_logged_at)
SELECT coalesce(max(batch), 0) + 1, '0', '1', 0, '', '', '', now() - interval '3 hours',
       now() - interval '3 hours'
  FROM rowkeeper.audit_seal;
SELECT check_name, status FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.audit_chain';
INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op,
                                 db_user, role_user, session_user_name)
VALUES (now() - interval '2 hours', pg_current_xact_id(), 'rk_preflight.accounts'::regclass,
        'rk_preflight', 'accounts', 'INSERT', 'x', 'x', 'x');
SELECT check_name, status, object, fix FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.audit_chain';
ROLLBACK;

-- a role that cannot read the chain is told so, instead of an error
SET ROLE rk_pf_app;
SELECT check_name, status, detail FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name = 'hygiene.audit_chain';
-- shared_preload_libraries is hidden from it: the preload checks say so
SELECT check_name, status, detail, fix FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name IN ('settings.soft_delete_preload', 'settings.tenant_token_preload') ORDER BY 1;
SELECT check_name, status, object, detail FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name LIKE 'roles.pass%' OR check_name IN ('roles.trust_auth', 'roles.no_password');
RESET ROLE;
-- as a superuser, the password checks are there (their findings depend on the machine)
SELECT DISTINCT check_name FROM rowkeeper.preflight('{rk_preflight}')
 WHERE check_name LIKE 'roles.pass%' OR check_name IN ('roles.trust_auth', 'roles.no_password')
 ORDER BY 1;

-- every check is there, whatever the database
SELECT DISTINCT check_name FROM rowkeeper.preflight() ORDER BY 1;
SELECT DISTINCT status FROM rowkeeper.preflight() WHERE status NOT IN ('ok', 'info', 'warn', 'fail');

-- read only: it runs in a read-only transaction
BEGIN TRANSACTION READ ONLY;
SELECT count(*) > 0 AS runs FROM rowkeeper.preflight();
ROLLBACK;

------------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------------
SELECT rowkeeper.disable_audit('rk_preflight.notes');
SELECT rowkeeper.disable_tenant_isolation('rk_preflight.notes');
SELECT rowkeeper.disable_audit('rk_preflight.docs');
SELECT rowkeeper.disable_updated_at('rk_preflight.docs', 'updatedAt');
SELECT rowkeeper.disable_soft_delete('rk_preflight.docs');
SELECT rowkeeper.disable_updated_at('rk_preflight.accounts');
SELECT rowkeeper.disable_audit('rk_preflight.accounts');
DROP SCHEMA rk_preflight CASCADE;
DROP ROLE rk_pf_root, rk_pf_admin, rk_pf_app, rk_pf_owner;
