
-- src/sql/01_install_guard.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Roles and the install guard: the reader role rowkeeper_auditor
--
-- Roles are shared by every database of a cluster, so the install creates
-- rowkeeper_auditor only when it is missing, and then grants it read
-- access to the audit log.  A role of that name that existed before (made
-- for another database, or by someone with CREATEROLE) is adopted:
-- whoever can log in as it or is a member of it can read this database's
-- log from then on.  That must never happen silently: when the role was
-- not created together with this database's rowkeeper schema (its catalog
-- row was written by another transaction), a WARNING names those roles,
-- on CREATE EXTENSION and on the upgrade from 0.1.0 alike.
------------------------------------------------------------------------------

-- STATE BEGIN
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rowkeeper_auditor') THEN
        CREATE ROLE rowkeeper_auditor NOLOGIN;
    END IF;
END
$$;

DO $$
DECLARE
    holders text;
BEGIN
    IF (SELECT a.xmin FROM pg_catalog.pg_authid a WHERE a.rolname = 'rowkeeper_auditor')
       OPERATOR(pg_catalog.=)
       (SELECT n.xmin FROM pg_catalog.pg_namespace n WHERE n.nspname = 'rowkeeper') THEN
        RETURN;                 -- created just now, with the schema
    END IF;

    SELECT pg_catalog.string_agg(pg_catalog.quote_ident(r.rolname), ', ' ORDER BY r.rolname)
      INTO holders
      FROM pg_catalog.pg_roles r
     WHERE (r.rolname = 'rowkeeper_auditor' AND r.rolcanlogin)
        OR (r.rolname <> 'rowkeeper_auditor' AND NOT r.rolsuper
            AND pg_catalog.pg_has_role(r.oid, 'rowkeeper_auditor', 'MEMBER'));
    IF holders IS NOT NULL THEN
        RAISE WARNING USING
            MESSAGE = pg_catalog.format('role rowkeeper_auditor already existed: %s can read the audit log of database %I',
                                        holders, pg_catalog.current_database()),
            DETAIL = 'Roles are shared by all databases of the cluster; rowkeeper adopted the existing role and grants it read access to rowkeeper.audit_log.',
            HINT = 'If that is not intended: REVOKE rowkeeper_auditor FROM <role>; ALTER ROLE rowkeeper_auditor NOLOGIN;';
    END IF;
END;
$$;

-- STATE END

------------------------------------------------------------------------------
-- Superuser-only settings, read through C
--
-- current_setting() on a rowkeeper setting returns, before the library is
-- loaded, whatever any role put into the placeholder (SET, PGOPTIONS).
-- Checks that rely on a superuser-only setting read it through a C
-- function instead, which loads the library (and with it the privilege
-- checks) first.  See src/purge.c.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION rowkeeper._audit_min_retention()
RETURNS interval
LANGUAGE C STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', '_audit_min_retention';

COMMENT ON FUNCTION rowkeeper._audit_min_retention() IS
'Internal: rowkeeper.audit_min_retention as an interval, as the superuser configured it; an error in a session where a role that may not set it tried to.';

------------------------------------------------------------------------------
-- The application role rowkeeper_app, and who may grant the roles
--
-- rowkeeper_app reads the audit log through row-level security: exactly
-- the entries of the current tenant (rowkeeper.current_tenant(), so no
-- tenant is an error), through every query function (see the audit query
-- file).  Table privileges plus GRANT rowkeeper_app TO <app role> is
-- all an application needs.  Like rowkeeper_auditor it is cluster-wide:
-- made when missing, adopted (with the same WARNING when someone already
-- holds it) when another database made it.
--
-- The database owner gets ADMIN OPTION on both roles, so that it, not only
-- a superuser, can grant them to its roles.  On PostgreSQL 16 and later it
-- is granted without INHERIT and SET: the owner administers the roles
-- without reading the log itself (it can still grant a role to itself,
-- visibly).  On 15 ADMIN OPTION is membership: the owner inherits
-- rowkeeper_auditor and reads every tenant's entries, so applications must
-- not log in as the database owner (the tenant isolation checks say the
-- same).  Roles are shared by the databases of a cluster: the owner of
-- every database that installs rowkeeper holds ADMIN OPTION on the same
-- two roles, and a role granted rowkeeper_auditor in one database reads the
-- log of every database it can connect to.  The WARNING above names those
-- holders; README "Audit in your application" says what to do on a shared
-- (managed) cluster.
------------------------------------------------------------------------------

-- STATE BEGIN
DO $$
DECLARE
    holders text;
    owner_role oid := (SELECT d.datdba FROM pg_catalog.pg_database d
                        WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database());
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rowkeeper_app') THEN
        CREATE ROLE rowkeeper_app NOLOGIN;
    ELSE
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(r.rolname), ', ' ORDER BY r.rolname)
          INTO holders
          FROM pg_catalog.pg_roles r
         WHERE (r.rolname = 'rowkeeper_app' AND r.rolcanlogin)
            OR (r.rolname <> 'rowkeeper_app' AND NOT r.rolsuper
                AND r.oid OPERATOR(pg_catalog.<>) owner_role
                AND pg_catalog.pg_has_role(r.oid, 'rowkeeper_app', 'MEMBER'));
        IF holders IS NOT NULL THEN
            RAISE WARNING USING
                MESSAGE = pg_catalog.format('role rowkeeper_app already existed: %s can read the audit log of database %I (the entries of their current tenant)',
                                            holders, pg_catalog.current_database()),
                DETAIL = 'Roles are shared by all databases of the cluster; rowkeeper adopted the existing role and grants it tenant-scoped read access to rowkeeper.audit_log.',
                HINT = 'If that is not intended: REVOKE rowkeeper_app FROM <role>; ALTER ROLE rowkeeper_app NOLOGIN;';
        END IF;
    END IF;

    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) owner_role) THEN
        IF pg_catalog.current_setting('server_version_num')::int >= 160000 THEN
            EXECUTE pg_catalog.format('GRANT rowkeeper_auditor, rowkeeper_app TO %s WITH ADMIN OPTION, INHERIT FALSE, SET FALSE',
                                      owner_role::regrole::text);
        ELSE
            EXECUTE pg_catalog.format('GRANT rowkeeper_auditor, rowkeeper_app TO %s WITH ADMIN OPTION',
                                      owner_role::regrole::text);
        END IF;
    END IF;
END;
$$;
-- STATE END
