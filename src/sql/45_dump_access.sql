
-- src/sql/45_dump_access.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- pg_dump by the database owner
--
-- pg_dump reads every table and sequence it dumps: the data of rowkeeper's
-- configuration tables (marked with pg_extension_config_dump: the default
-- partition of the audit log, audit_seal, audit_table_names, purge_runs
-- and their sequences) and the monthly partitions of the audit log, which
-- create_audit_partitions() makes at run time and which pg_dump therefore
-- dumps as tables of their own.  All of them belong to the superuser who
-- installed rowkeeper and are closed to PUBLIC, so a pg_dump (even -s,
-- which still locks each partition) by the database owner failed with
-- "permission denied for table audit_log_y2026m12".
--
-- grant_dump_access(role) grants SELECT on exactly those objects to one
-- role, and new partitions inherit it (create_audit_partitions grants every
-- reader of rowkeeper.audit_log).  CREATE EXTENSION grants it to the owner
-- of the database when that is not a superuser: the role that runs
-- migrations, seeds and backups.  It can then read the audit log (that is
-- what a dump of it is); the application, a role of its own, cannot.
-- revoke_dump_access(role) takes it back.
--
-- purge_runs keeps its row-level security (a run is readable by the
-- purged table's owner and by auditors); with row_security off, as
-- pg_dump runs, a role subject to it would get an error, so the COPY
-- pg_dump issues for it copies the rows that role may read instead
-- (src/migration.c).
------------------------------------------------------------------------------

/* What pg_dump reads in schema rowkeeper: its tables, partitions and sequences. */
CREATE OR REPLACE FUNCTION rowkeeper._dump_objects()
RETURNS TABLE (obj regclass, relkind "char")
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass, c.relkind
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'rowkeeper'::regnamespace
       AND c.relkind IN ('r', 'p', 'S')
     ORDER BY c.oid
$$;

COMMENT ON FUNCTION rowkeeper._dump_objects() IS
'Internal: the tables, audit log partitions and sequences of schema rowkeeper that pg_dump reads.';

CREATE OR REPLACE FUNCTION rowkeeper.grant_dump_access(grantee regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
BEGIN
    IF grantee IS NULL OR grantee = 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.grant_dump_access(): the role must not be NULL or PUBLIC',
            DETAIL = 'Dump access reads the whole audit log; it is for one role that runs backups or migrations.',
            HINT = 'Name that role, e.g. SELECT rowkeeper.grant_dump_access(''app_owner'');';
    END IF;
    FOR o IN SELECT * FROM rowkeeper._dump_objects() LOOP
        EXECUTE format('GRANT SELECT ON %s %s TO %s',
                       CASE WHEN o.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, o.obj, grantee);
    END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION rowkeeper.grant_dump_access(regrole) FROM PUBLIC;

COMMENT ON FUNCTION rowkeeper.grant_dump_access(regrole) IS
'Let a role run pg_dump (and pg_dump -s) of this database: SELECT on rowkeeper''s configuration tables, audit log partitions and sequences, and on audit log partitions created later. Granted to the database owner on CREATE EXTENSION when it is not a superuser. The role can read the audit log.';

CREATE OR REPLACE FUNCTION rowkeeper.revoke_dump_access(grantee regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
BEGIN
    IF grantee IS NULL OR grantee = 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.revoke_dump_access(): the role must not be NULL or PUBLIC',
            HINT = 'Name the role that was given rowkeeper.grant_dump_access().';
    END IF;
    FOR o IN SELECT * FROM rowkeeper._dump_objects() LOOP
        -- what the install script grants others stays (auditor, PUBLIC on purge_runs)
        CONTINUE WHEN o.obj = 'rowkeeper.audit_log'::regclass AND grantee = 'rowkeeper_auditor'::regrole;
        EXECUTE format('REVOKE SELECT ON %s %s FROM %s',
                       CASE WHEN o.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, o.obj, grantee);
    END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION rowkeeper.revoke_dump_access(regrole) FROM PUBLIC;

COMMENT ON FUNCTION rowkeeper.revoke_dump_access(regrole) IS
'Take back what rowkeeper.grant_dump_access() granted a role.';

-- The database owner (when not a superuser) gets dump access.
-- STATE BEGIN
DO $$
DECLARE
    dbowner regrole;
BEGIN
    SELECT d.datdba::regrole INTO dbowner
      FROM pg_catalog.pg_database d
      JOIN pg_catalog.pg_roles r ON r.oid = d.datdba
     WHERE d.datname = pg_catalog.current_database() AND NOT r.rolsuper;
    IF dbowner IS NOT NULL THEN
        PERFORM rowkeeper.grant_dump_access(dbowner);
    END IF;
END;
$$;
-- STATE END
