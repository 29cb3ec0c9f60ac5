-- tenant_migration: the table owner runs its migrations without a tenant
-- (foreign keys added and validated across every tenant's rows, pg_dump's
-- COPY table TO with row_security off, disable_*), while its DML and every
-- utility statement that runs a query of its own still fail closed.
-- A migration session has rowkeeper preloaded (session_preload_libraries);
-- here the library is loaded explicitly, as preloading would.
LOAD 'rowkeeper';
CREATE ROLE rk_mig_owner LOGIN;
GRANT CREATE, USAGE ON SCHEMA public TO rk_mig_owner;
SET ROLE rk_mig_owner;
CREATE TABLE mig_users (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);
CREATE TABLE mig_comments (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, user_id bigint);
SELECT rowkeeper.enable_tenant_isolation('mig_users');
SELECT rowkeeper.enable_tenant_isolation('mig_comments');
CREATE FUNCTION mig_count_users() RETURNS bigint LANGUAGE plpgsql
    AS $$ BEGIN RETURN (SELECT count(*) FROM mig_users); END $$;
CREATE TABLE mig_notes (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);
SELECT rowkeeper.enable_tenant_isolation('mig_notes');
CREATE FUNCTION mig_count_notes() RETURNS bigint LANGUAGE plpgsql
    AS $$ BEGIN RETURN (SELECT count(*) FROM mig_notes); END $$;
CREATE PROCEDURE mig_read_users() LANGUAGE plpgsql
    AS $$ BEGIN PERFORM count(*) FROM mig_users; END $$;
RESET ROLE;
-- two tenants' rows, written by a superuser
INSERT INTO mig_users VALUES (1, 10), (2, 20);
INSERT INTO mig_comments VALUES (1, 10, 1), (2, 20, 2);
INSERT INTO mig_notes VALUES (1, 10), (2, 20);

------------------------------------------------------------------------------
-- What a migration does, as the owner, without a tenant
------------------------------------------------------------------------------
SET ROLE rk_mig_owner;
SELECT current_setting('rowkeeper.tenant', true) AS tenant;
-- ADD CONSTRAINT ... FOREIGN KEY validates every tenant's rows
ALTER TABLE mig_comments ADD CONSTRAINT mig_comments_user_fk
    FOREIGN KEY (user_id) REFERENCES mig_users (id);
-- NOT VALID, then VALIDATE CONSTRAINT (the zero-downtime form)
ALTER TABLE mig_comments ADD COLUMN editor_id bigint;
ALTER TABLE mig_comments ADD CONSTRAINT mig_comments_editor_fk
    FOREIGN KEY (editor_id) REFERENCES mig_users (id) NOT VALID;
ALTER TABLE mig_comments VALIDATE CONSTRAINT mig_comments_editor_fk;
-- ADD COLUMN ... REFERENCES, several subcommands in one statement
ALTER TABLE mig_comments ADD COLUMN reviewer_id bigint REFERENCES mig_users (id),
    ADD COLUMN approver_id bigint CONSTRAINT mig_approver_fk REFERENCES mig_users (id) DEFERRABLE INITIALLY DEFERRED;
SELECT conname, convalidated FROM pg_constraint
 WHERE conrelid = 'mig_comments'::regclass AND contype = 'f' ORDER BY 1;
-- the validation still sees every tenant: a dangling key of tenant 20 is
-- found although no tenant is set
RESET ROLE;
ALTER TABLE mig_comments DROP CONSTRAINT mig_comments_user_fk;
INSERT INTO mig_comments VALUES (3, 20, 99);
SET ROLE rk_mig_owner;
ALTER TABLE mig_comments ADD CONSTRAINT mig_comments_user_fk
    FOREIGN KEY (user_id) REFERENCES mig_users (id);
ALTER TABLE mig_comments ADD CONSTRAINT mig_comments_user_fk
    FOREIGN KEY (user_id) REFERENCES mig_users (id) NOT VALID;
ALTER TABLE mig_comments VALIDATE CONSTRAINT mig_comments_user_fk;
RESET ROLE;
DELETE FROM mig_comments WHERE id = 3;
SET ROLE rk_mig_owner;
ALTER TABLE mig_comments VALIDATE CONSTRAINT mig_comments_user_fk;
-- pg_dump's read: COPY table TO with row_security off, every tenant's rows
SET row_security = off;
COPY mig_users TO stdout;
RESET row_security;

------------------------------------------------------------------------------
-- Still fail closed for the owner without a tenant
------------------------------------------------------------------------------
-- DML
SELECT count(*) FROM mig_users;
INSERT INTO mig_users VALUES (3, 30);
UPDATE mig_users SET id = id;
DELETE FROM mig_users;
MERGE INTO mig_users u USING (SELECT 1 AS id) s ON u.id = s.id WHEN MATCHED THEN DELETE;
-- with row_security off, DML raises instead of filtering, as PostgreSQL does
SET row_security = off;
SELECT count(*) FROM mig_users;
-- COPY of a query, even with row_security off
COPY (SELECT * FROM mig_users) TO stdout;
RESET row_security;
-- COPY table TO with row_security on: the policies apply
COPY mig_users TO stdout;
-- utility statements that run a query
CREATE TABLE mig_copy AS SELECT * FROM mig_users;
SELECT * INTO mig_copy FROM mig_users;
CREATE MATERIALIZED VIEW mig_mv AS SELECT * FROM mig_users;
CREATE MATERIALIZED VIEW mig_mv AS SELECT * FROM mig_users WITH NO DATA;
REFRESH MATERIALIZED VIEW mig_mv;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM mig_users;
DO $$ BEGIN PERFORM count(*) FROM mig_users; END $$;
CALL mig_read_users();
PREPARE mig_q AS SELECT count(*) FROM mig_users;
EXECUTE mig_q;
BEGIN;
DECLARE mig_c CURSOR FOR SELECT * FROM mig_users;
FETCH mig_c;
ROLLBACK;
-- ALTER TABLE that evaluates an expression over the rows: not exempt
-- (no CONTEXT lines: 18 calls a PL/pgSQL expression what 15 and 17 call SQL)
\set SHOW_CONTEXT never
ALTER TABLE mig_comments ADD CONSTRAINT mig_chk CHECK (mig_count_users() >= 0);
ALTER TABLE mig_comments ADD COLUMN n bigint DEFAULT mig_count_users();
-- an expression in the same statement as a foreign key: not exempt either
ALTER TABLE mig_comments ADD CONSTRAINT mig_chk CHECK (mig_count_users() >= 0),
    ADD CONSTRAINT mig_comments_user_fk2 FOREIGN KEY (user_id) REFERENCES mig_users (id);
\set SHOW_CONTEXT errors
-- ALTER TABLE run from a DO block is still an ALTER TABLE, its queries are not
DO $$ BEGIN
    ALTER TABLE mig_comments DROP CONSTRAINT mig_comments_editor_fk;
    ALTER TABLE mig_comments ADD CONSTRAINT mig_comments_editor_fk
        FOREIGN KEY (editor_id) REFERENCES mig_users (id);
    PERFORM count(*) FROM mig_users;
END $$;
-- a role that does not own the tables gains nothing from the exemption
RESET ROLE;
CREATE ROLE rk_mig_app;
GRANT SELECT, REFERENCES ON mig_users, mig_comments TO rk_mig_app;
SET ROLE rk_mig_app;
SET row_security = off;
COPY mig_users TO stdout;
RESET row_security;
RESET ROLE;

------------------------------------------------------------------------------
-- No plan made under the exemption is reused after it: an event trigger
-- (a superuser's) that reads a table the ALTER TABLE does not touch caches
-- its plan during an allowed statement (where the owner is exempt, and so
-- is code the statement runs); the owner's next call plans again, under RLS.
------------------------------------------------------------------------------
ALTER TABLE mig_comments DROP CONSTRAINT mig_comments_user_fk;
CREATE FUNCTION mig_ddl_end() RETURNS event_trigger LANGUAGE plpgsql
    AS $$ BEGIN RAISE NOTICE 'notes seen by the event trigger: %', mig_count_notes(); END $$;
CREATE EVENT TRIGGER mig_ddl_end ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION mig_ddl_end();
SET ROLE rk_mig_owner;
ALTER TABLE mig_comments ADD CONSTRAINT mig_comments_user_fk
    FOREIGN KEY (user_id) REFERENCES mig_users (id);
\set SHOW_CONTEXT never
SELECT mig_count_notes();
\set SHOW_CONTEXT errors
BEGIN;
SELECT rowkeeper.set_context(tenant => '20');
SELECT mig_count_notes();
COMMIT;
RESET ROLE;
DROP EVENT TRIGGER mig_ddl_end;
DROP FUNCTION mig_ddl_end();

------------------------------------------------------------------------------
-- disable_* without a tenant, as the owner
------------------------------------------------------------------------------
SET ROLE rk_mig_owner;
SELECT rowkeeper.disable_tenant_isolation('mig_comments');
SELECT count(*) FROM mig_comments;
SELECT rowkeeper.disable_tenant_isolation('mig_users');
SELECT rowkeeper.disable_tenant_isolation('mig_notes');
RESET ROLE;

DROP MATERIALIZED VIEW mig_mv;
DROP TABLE mig_comments, mig_users, mig_notes;
DROP FUNCTION mig_count_users(), mig_count_notes();
DROP PROCEDURE mig_read_users();
DROP OWNED BY rk_mig_owner, rk_mig_app;
DROP ROLE rk_mig_owner;
DROP ROLE rk_mig_app;
