
------------------------------------------------------------------------------
-- Install guard: the reader role rowkeeper_auditor
--
-- Roles are shared by every database of a cluster, so the 0.1.0 script
-- creates rowkeeper_auditor only when it is missing, and then grants it
-- read access to the audit log.  A role of that name that existed before
-- (made for another database, or by someone with CREATEROLE) is adopted:
-- whoever can log in as it or is a member of it can read this database's
-- log from then on.  That must never happen silently: when the role was
-- not created together with this database's rowkeeper schema (its catalog
-- row was written by another transaction), a WARNING names those roles,
-- on CREATE EXTENSION and on the first ALTER EXTENSION UPDATE alike.
------------------------------------------------------------------------------

DO $$
DECLARE
    holders text;
BEGIN
    IF (SELECT a.xmin FROM pg_catalog.pg_authid a WHERE a.rolname = 'rowkeeper_auditor')
       OPERATOR(pg_catalog.=)
       (SELECT n.xmin FROM pg_catalog.pg_namespace n WHERE n.nspname = 'rowkeeper') THEN
        RETURN;                 -- created by this database's 0.1.0 script
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

------------------------------------------------------------------------------
-- Superuser-only settings, read through C
--
-- current_setting() on a rowkeeper setting returns, before the library is
-- loaded, whatever any role put into the placeholder (SET, PGOPTIONS).
-- Checks that rely on a superuser-only setting read it through a C
-- function instead, which loads the library (and with it the privilege
-- checks) first.  See src/purge.c.
------------------------------------------------------------------------------

CREATE FUNCTION rowkeeper._audit_min_retention()
RETURNS interval
LANGUAGE C STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', '_audit_min_retention';

COMMENT ON FUNCTION rowkeeper._audit_min_retention() IS
'Internal: rowkeeper.audit_min_retention as an interval, as the superuser configured it; an error in a session where a role that may not set it tried to.';
