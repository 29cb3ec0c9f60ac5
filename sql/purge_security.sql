-- purge_security: what the purges and assert_isolated() run with other
-- roles' rights, and who may write and read purge run records (issue 20,
-- findings 1, 2, 8 and 9; the purge lock, finding 6, is in the isolation
-- spec purge_lock).  A table owner that is not a superuser, an application
-- role, an auditor; the superuser (this session) runs the jobs.
SET TimeZone = 'UTC';
TRUNCATE rowkeeper.purge_runs RESTART IDENTITY;
CREATE ROLE ps_owner;
CREATE ROLE ps_app;
CREATE ROLE ps_auditor IN ROLE rowkeeper_auditor;
GRANT CREATE ON SCHEMA public TO ps_owner;
\set VERBOSITY terse

------------------------------------------------------------------------------
-- 1. A purge runs the owner's triggers as the owner, in a security-restricted
-- operation: RESET ROLE fails there, so the trigger cannot take the rights
-- of the superuser (or pg_cron job) running the purge.
------------------------------------------------------------------------------
SET ROLE ps_owner;
CREATE FUNCTION ps_escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RESET ROLE;
    ALTER ROLE ps_owner SUPERUSER;
    RETURN OLD;
END $$;
CREATE TABLE ps_tokens (id int PRIMARY KEY, expires_at timestamptz NOT NULL);
CREATE INDEX ON ps_tokens (expires_at);
INSERT INTO ps_tokens SELECT g, now() - interval '1 day' FROM generate_series(1, 3) g;
CREATE TRIGGER escalate BEFORE DELETE ON ps_tokens FOR EACH ROW EXECUTE FUNCTION ps_escalate();
RESET ROLE;
CALL rowkeeper.purge_expired('ps_tokens', 'expires_at');
SELECT rolsuper FROM pg_roles WHERE rolname = 'ps_owner';
ALTER ROLE ps_owner NOSUPERUSER;   -- each case starts from a plain owner
SELECT id, target, outcome, rows_deleted, error FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1;
SELECT count(*) AS rows_kept FROM ps_tokens;

-- The same through purge_soft_deleted() (rowkeeper.hard_delete()).
SET ROLE ps_owner;
CREATE TABLE ps_posts (id int PRIMARY KEY);
SELECT rowkeeper.enable_soft_delete('ps_posts');
CREATE INDEX ON ps_posts (deleted_at);
INSERT INTO ps_posts VALUES (1), (2);
DELETE FROM ps_posts;
-- the owner reaches its deleted rows with show_deleted (no UPDATE does without)
BEGIN;
SET LOCAL rowkeeper.show_deleted = on;
UPDATE ps_posts SET deleted_at = now() - interval '40 days';
COMMIT;
CREATE TRIGGER escalate BEFORE DELETE ON ps_posts FOR EACH ROW EXECUTE FUNCTION ps_escalate();
RESET ROLE;
CALL rowkeeper.purge_soft_deleted('ps_posts');
SELECT rolsuper FROM pg_roles WHERE rolname = 'ps_owner';
ALTER ROLE ps_owner NOSUPERUSER;   -- each case starts from a plain owner
SELECT target, outcome, rows_deleted, error FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1;
SELECT count(*) AS rows_kept FROM ps_posts;

-- A deferred constraint trigger would fire at COMMIT, with the caller's
-- rights: PostgreSQL refuses to queue one inside a security-restricted
-- operation, so the batch fails.
SET ROLE ps_owner;
CREATE FUNCTION ps_escalate_later() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    ALTER ROLE ps_owner SUPERUSER;
    RETURN NULL;
END $$;
CREATE TABLE ps_later (id int PRIMARY KEY, expires_at timestamptz NOT NULL);
CREATE INDEX ON ps_later (expires_at);
INSERT INTO ps_later SELECT g, now() - interval '1 day' FROM generate_series(1, 3) g;
CREATE CONSTRAINT TRIGGER escalate_later AFTER DELETE ON ps_later
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ps_escalate_later();
RESET ROLE;
CALL rowkeeper.purge_expired('ps_later', 'expires_at');
SELECT rolsuper FROM pg_roles WHERE rolname = 'ps_owner';
ALTER ROLE ps_owner NOSUPERUSER;   -- each case starts from a plain owner
SELECT target, outcome, rows_deleted, error FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1;
SELECT count(*) AS rows_kept FROM ps_later;

-- Settings the owner's code changes (even with SET, not SET LOCAL) do not
-- reach the session running the purge; temporary objects cannot be made.
SET ROLE ps_owner;
CREATE FUNCTION ps_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('rowkeeper.actor', 'set by ps_owner', false);
    RETURN OLD;
END $$;
CREATE FUNCTION ps_temp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE ps_shadow (id int);
    RETURN OLD;
END $$;
CREATE TABLE ps_set_t (id int PRIMARY KEY, expires_at timestamptz NOT NULL);
CREATE INDEX ON ps_set_t (expires_at);
INSERT INTO ps_set_t VALUES (1, now() - interval '1 day');
CREATE TRIGGER set BEFORE DELETE ON ps_set_t FOR EACH ROW EXECUTE FUNCTION ps_set();
CREATE TABLE ps_temp_t (id int PRIMARY KEY, expires_at timestamptz NOT NULL);
CREATE INDEX ON ps_temp_t (expires_at);
INSERT INTO ps_temp_t VALUES (1, now() - interval '1 day');
CREATE TRIGGER temp BEFORE DELETE ON ps_temp_t FOR EACH ROW EXECUTE FUNCTION ps_temp();
RESET ROLE;
CALL rowkeeper.purge_expired('ps_set_t', 'expires_at');
SELECT current_setting('rowkeeper.actor') AS actor_after_purge, current_user;
SELECT target, outcome, rows_deleted FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1;
CALL rowkeeper.purge_expired('ps_temp_t', 'expires_at');
SELECT target, outcome, error FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1;
SELECT count(*) AS temp_tables FROM pg_class WHERE relname = 'ps_shadow';

-- A dry run counts as the owner too: a domain's CHECK function of the
-- owner's runs when the row type is built.
SET ROLE ps_owner;
CREATE TABLE ps_seen (who name, super boolean);
CREATE FUNCTION ps_check(v int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.ps_seen SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
    RETURN true;
END $$;
CREATE DOMAIN ps_checked AS int CHECK (ps_check(VALUE));
CREATE TABLE ps_dom (id int PRIMARY KEY, expires_at timestamptz NOT NULL, v ps_checked);
CREATE INDEX ON ps_dom (expires_at);
INSERT INTO ps_dom VALUES (1, now() - interval '1 day', 1);
TRUNCATE ps_seen;
RESET ROLE;
CALL rowkeeper.purge_expired('ps_dom', 'expires_at', dry_run => true);
SELECT outcome, detail FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1;
SELECT DISTINCT who, super FROM ps_seen;

-- A batch called directly for a table whose owner the caller cannot act
-- as is refused (it would otherwise delete with the owner's rights).
SET ROLE ps_app;
SELECT * FROM rowkeeper._purge_batch('ps_tokens', 'expires_at', now(), NULL, 10, '1s', '', false,
                                     false, true, '{}', NULL);
SELECT rowkeeper._purge_dry_run('ps_tokens', 'expires_at', now(), NULL);
RESET ROLE;
SELECT count(*) AS rows_kept FROM ps_tokens;

------------------------------------------------------------------------------
-- 2. assert_isolated() run by a superuser probes as the owner in a
-- security-restricted operation: the owner's statement trigger cannot RESET
-- ROLE to act as the superuser, not even for an effect that a rollback does
-- not undo (a sequence's nextval here; COPY TO PROGRAM in the report).
------------------------------------------------------------------------------
SET ROLE ps_owner;
CREATE SEQUENCE ps_escaped;
CREATE FUNCTION ps_probe_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RESET ROLE;
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        PERFORM nextval('public.ps_escaped');
    END IF;
    RETURN NULL;
END $$;
CREATE TABLE ps_tenants (id int PRIMARY KEY, tenant_id int NOT NULL);
SELECT rowkeeper.enable_tenant_isolation('ps_tenants');
CREATE TRIGGER probe AFTER UPDATE ON ps_tenants FOR EACH STATEMENT EXECUTE FUNCTION ps_probe_trigger();
RESET ROLE;
INSERT INTO ps_tenants VALUES (1, 1), (2, 2);
SELECT check_name, ok, detail FROM rowkeeper.assert_isolated('ps_tenants', '1', '2');
SELECT last_value, is_called AS escaped FROM ps_escaped;
SELECT rolsuper FROM pg_roles WHERE rolname = 'ps_owner';
ALTER ROLE ps_owner NOSUPERUSER;   -- each case starts from a plain owner
-- The probes run as a role the caller may act as, never as another.
SET ROLE ps_app;
SELECT check_name, ok FROM rowkeeper.assert_isolated('ps_tenants', '1', '2');
SELECT check_name, ok FROM rowkeeper.assert_isolated('ps_tenants', '1', '2', probe_role => 'ps_owner');
SELECT * FROM rowkeeper._isolation_probes('ps_tenants', 'ps_owner', 'tenant_id', 'int',
                                          '{1,2}', '{NULL,NULL}', '{}', '{}', '{}');
RESET ROLE;

------------------------------------------------------------------------------
-- The same pattern elsewhere: a soft delete that cascades to a child table
-- of another owner runs the child's triggers as that owner, restricted: a
-- setting they change does not reach the deleting session, and they cannot
-- create temporary objects in it.
------------------------------------------------------------------------------
CREATE TABLE ps_folders (id int PRIMARY KEY);
GRANT REFERENCES ON ps_folders TO ps_owner;
SET ROLE ps_owner;
CREATE FUNCTION ps_child_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] = 'temp' THEN
        CREATE TEMP TABLE ps_shadow_cascade (id int);
    ELSE
        PERFORM set_config('rowkeeper.actor', 'set by ps_owner', false);
    END IF;
    RETURN NEW;
END $$;
CREATE TABLE ps_files (id int PRIMARY KEY, folder_id int REFERENCES ps_folders ON DELETE CASCADE);
SELECT rowkeeper.enable_soft_delete('ps_files');
CREATE TRIGGER set BEFORE UPDATE ON ps_files FOR EACH ROW EXECUTE FUNCTION ps_child_trigger('set');
RESET ROLE;
SELECT rowkeeper.enable_soft_delete('ps_folders');
INSERT INTO ps_folders VALUES (1), (2);
INSERT INTO ps_files VALUES (1, 1), (2, 2);
DELETE FROM ps_folders WHERE id = 1;
SELECT current_setting('rowkeeper.actor') AS actor_after_cascade;
SELECT id, deleted_at IS NOT NULL AS deleted FROM ps_files ORDER BY id;
SET ROLE ps_owner;
DROP TRIGGER set ON ps_files;
CREATE TRIGGER temp BEFORE UPDATE ON ps_files FOR EACH ROW EXECUTE FUNCTION ps_child_trigger('temp');
RESET ROLE;
DELETE FROM ps_folders WHERE id = 2;
SELECT count(*) AS temp_tables FROM pg_class WHERE relname = 'ps_shadow_cascade';
SELECT id, deleted_at IS NOT NULL AS deleted FROM ps_files ORDER BY id;

------------------------------------------------------------------------------
-- 8. A run's record is written only by the session that started it: a role
-- whose session reuses the process id of a superuser's finished run cannot
-- rewrite it, and no role starts a record for a table it cannot purge.
------------------------------------------------------------------------------
-- a superuser's failed run, as another backend with this process id left it
INSERT INTO rowkeeper.purge_runs (kind, target, options, outcome, error, finished_at)
VALUES ('expired', 'public.ps_tokens', '{}', 'failed', 'disk full', now())
RETURNING id AS forged_run \gset
SET ROLE ps_app;
SELECT rowkeeper._purge_run_update(:forged_run, 0, 0, 0, 'done', '{"note": "all good"}');
SELECT rowkeeper._purge_run_start('expired', 'ps_tokens', NULL, '{}');
UPDATE rowkeeper.purge_runs SET outcome = 'done' WHERE id = :forged_run;
RESET ROLE;
SELECT outcome, detail, error FROM rowkeeper.purge_runs WHERE id = :forged_run;
SELECT count(*) AS records FROM rowkeeper.purge_runs;

------------------------------------------------------------------------------
-- 9. purge_runs: the records of a table's purges (its keys, counts and
-- filter values) are visible to auditors and to roles with the rights of
-- the table's owner, not to everyone.
------------------------------------------------------------------------------
CREATE TABLE ps_mine (id int PRIMARY KEY, expires_at timestamptz NOT NULL);
CREATE INDEX ON ps_mine (expires_at);
CALL rowkeeper.purge_expired('ps_mine', 'expires_at', where_equals => '{"id": 42}', dry_run => true);
SET ROLE ps_app;
SELECT count(*) AS runs_seen_by_app FROM rowkeeper.purge_runs;
SET ROLE ps_owner;
SELECT target, count(*) AS runs_seen_by_owner FROM rowkeeper.purge_runs GROUP BY 1 ORDER BY 1;
SET ROLE ps_auditor;
SELECT target, count(*) AS runs_seen_by_auditor FROM rowkeeper.purge_runs GROUP BY 1 ORDER BY 1;
RESET ROLE;

-- Cleanup.
SELECT rowkeeper.disable_tenant_isolation('ps_tenants');
SELECT rowkeeper.disable_soft_delete('ps_posts', force => true);
SELECT rowkeeper.disable_soft_delete('ps_folders', force => true);
SELECT rowkeeper.disable_soft_delete('ps_files', force => true);
DROP TABLE ps_files, ps_folders, ps_tokens, ps_posts, ps_later, ps_set_t, ps_temp_t, ps_dom, ps_seen, ps_tenants, ps_mine;
DROP DOMAIN ps_checked;
DROP SEQUENCE ps_escaped;
DROP FUNCTION ps_escalate(), ps_escalate_later(), ps_set(), ps_temp(), ps_check(int), ps_probe_trigger(),
              ps_child_trigger();
REVOKE CREATE ON SCHEMA public FROM ps_owner;
DROP ROLE ps_owner, ps_app, ps_auditor;
TRUNCATE rowkeeper.purge_runs RESTART IDENTITY;
