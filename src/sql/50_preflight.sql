
-- src/sql/50_preflight.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Preflight: the production checklist, as a query
--
-- rowkeeper.preflight(schemas) returns one row per finding and one ok row
-- per clean check: (check_name, status, object, detail, fix).  Statuses:
-- ok, info (worth knowing, never fails), warn, fail.  Check names are
-- "<group>.<check>": coverage, tenant (the rows of tenant_safety_checks(),
-- and on a Citus coordinator tenant.citus_*: the policies on every shard),
-- roles, settings, hygiene.  schemas limits the table checks (coverage,
-- indexes, dead tuples) to those schemas; NULL means every user schema.
--
-- Read only (STABLE, no writes, no temporary tables): it runs on a hot
-- standby and inside a read-only transaction.  Runs with the caller's
-- rights; a check the caller may not perform (the hash chain needs SELECT
-- on rowkeeper.audit_seal) says so as a warn row instead of failing.
--
-- rowkeeper.preflight_assert(schemas) raises when any check fails (for CI).
--
-- Each group of checks is its own function, rowkeeper._preflight_<group>()
-- (internal, same columns, the caller's rights); preflight() returns their
-- rows in group order.  A new check goes into its group's function.
------------------------------------------------------------------------------

/*
 * The user tables the table checks look at: ordinary and partitioned tables
 * that are not partitions (rowkeeper works on the partitioned table), not
 * system, not rowkeeper's, not temporary, not an extension's member.
 */
CREATE OR REPLACE FUNCTION rowkeeper._preflight_tables(schemas name[])
RETURNS TABLE (tbl regclass, schema_name name, owner oid)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass, n.nspname, c.relowner
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p')
       AND NOT c.relispartition
       AND c.relpersistence <> 't'
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rowkeeper')
       AND n.nspname NOT LIKE 'pg\_toast%'
       AND n.nspname NOT LIKE 'pg\_temp\_%'
       AND (schemas IS NULL OR n.nspname = ANY (schemas))
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                          AND d.objid = c.oid AND d.deptype = 'e')
$$;

COMMENT ON FUNCTION rowkeeper._preflight_tables(name[]) IS
'Internal: the user tables (not partitions, system, rowkeeper, temporary or extension tables) that preflight checks, optionally in the given schemas only.';

/*
 * The migration bookkeeping table of an ORM or migration tool, or NULL: the
 * tool's table name (in the schema it uses, any when NULL) and the columns
 * it always has, so that an application table of the same name is not
 * mistaken for one.  Auditing them records nothing of the application's;
 * preflight skips them in coverage.audit and says so (an info row).
 */
CREATE OR REPLACE FUNCTION rowkeeper._orm_bookkeeping(tbl regclass)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.tool
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN (VALUES ('Prisma',    NULL,      '_prisma_migrations',   '{id,checksum,migration_name,started_at,finished_at}'::name[]),
                   ('Django',    NULL,      'django_migrations',    '{id,app,name,applied}'),
                   ('knex',      NULL,      'knex_migrations',      '{id,name,batch,migration_time}'),
                   ('knex',      NULL,      'knex_migrations_lock', '{index,is_locked}'),
                   ('Sequelize', NULL,      'SequelizeMeta',        '{name}'),
                   ('TypeORM',   NULL,      'migrations',           '{id,timestamp,name}'),
                   ('TypeORM',   NULL,      'typeorm_metadata',     '{type,database,schema,table,name,value}'),
                   ('drizzle',   'drizzle', '__drizzle_migrations', '{id,hash,created_at}'),
                   ('Rails',     NULL,      'schema_migrations',    '{version}'),
                   ('Rails',     NULL,      'ar_internal_metadata', '{key,value,created_at,updated_at}'))
           AS k (tool, schema_name, relname, columns)
        ON k.relname = c.relname AND (k.schema_name IS NULL OR k.schema_name = n.nspname)
     WHERE c.oid = tbl
       AND k.columns <@ ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
     LIMIT 1
$$;

COMMENT ON FUNCTION rowkeeper._orm_bookkeeping(regclass) IS
'Internal: the ORM or migration tool whose bookkeeping table this is (Prisma, Django, knex, Sequelize, TypeORM, drizzle, Rails), or NULL.';

/*
 * Does a preflight row match one of preflight_assert()'s ignore patterns?
 * A pattern is a LIKE pattern of the check name ("settings.archive_mode",
 * "hygiene.%"), or "<check>:<object>" for one object of a check
 * ('coverage.audit:public."_prisma_migrations"'); double quotes in the
 * object are optional on both sides.
 */
CREATE OR REPLACE FUNCTION rowkeeper._preflight_ignored(check_name text, object text, ignore text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT FROM pg_catalog.unnest(ignore) p
         WHERE CASE WHEN pg_catalog.strpos(p, ':') = 0 THEN check_name LIKE p
                    ELSE check_name LIKE pg_catalog.split_part(p, ':', 1)
                         AND pg_catalog.replace(object, '"', '')
                             LIKE pg_catalog.replace(pg_catalog.substr(p, pg_catalog.strpos(p, ':') + 1), '"', '')
               END)
$$;

COMMENT ON FUNCTION rowkeeper._preflight_ignored(text, text, text[]) IS
'Internal: whether a preflight row matches an ignore pattern of preflight_assert() (check name, or check:object; LIKE patterns).';

/*
 * preflight() group "coverage": audit, updated_at and soft delete on every
 * user table (ORM bookkeeping tables skipped, said so).
 */
CREATE OR REPLACE FUNCTION rowkeeper._preflight_coverage(schemas name[])
RETURNS TABLE (check_name text, status text, object text, detail text, fix text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    RETURN QUERY
    SELECT 'coverage.audit', 'fail', t.tbl::text,
           CASE WHEN a.table_name IS NULL THEN format('Table %s is not audited.', t.tbl)
                ELSE format('The audit triggers of table %s are not as rowkeeper.enable_audit() made them: %s.',
                            t.tbl, array_to_string(rowkeeper._audit_drift(t.tbl), '; ')) END,
           -- enable_audit() repairs drift (and records it in the log), with the table's options
           CASE WHEN a.table_name IS NULL THEN format('SELECT rowkeeper.enable_audit(%L);', t.tbl::text)
                ELSE format('SELECT rowkeeper.enable_audit(%L, exclude_columns => %L, redact_columns => %L, '
                            'skip_noop => %s, require_actor => %s, replicated => %s, mode => %L);',
                            t.tbl::text, a.exclude_columns, a.redact_columns, a.skip_noop::text,
                            a.require_actor::text, a.replicated::text, a.mode) END
      FROM rowkeeper._preflight_tables(schemas) t
      LEFT JOIN rowkeeper.audited_tables a ON a.table_name = t.tbl
     WHERE (a.table_name IS NULL OR NOT a.enabled)
       AND rowkeeper._orm_bookkeeping(t.tbl) IS NULL
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'coverage.audit', 'ok', NULL::text, 'Every table is audited.', NULL::text;
    END IF;
    -- ORM migration bookkeeping tables (_prisma_migrations, ...): skipped, said so
    RETURN QUERY
    SELECT 'coverage.audit', 'info', t.tbl::text,
           format('Table %s is the migration bookkeeping table of %s: not checked for audit.', t.tbl, b.tool),
           NULL::text
      FROM rowkeeper._preflight_tables(schemas) t
     CROSS JOIN LATERAL (SELECT rowkeeper._orm_bookkeeping(t.tbl) AS tool) b
     WHERE b.tool IS NOT NULL
       AND NOT EXISTS (SELECT FROM rowkeeper.audited_tables a WHERE a.table_name = t.tbl AND a.enabled)
     ORDER BY 3;

    RETURN QUERY
    SELECT 'coverage.updated_at', 'warn', format('%s.%I', t.tbl, att.attname),
           format('Table %s has a column %I that no rowkeeper updated_at trigger maintains%s.', t.tbl, att.attname,
                  CASE WHEN EXISTS (SELECT FROM rowkeeper.updated_at_tables u
                                     WHERE u.table_name = t.tbl AND u.column_name = att.attname)
                       THEN ' (its trigger is disabled)' ELSE '' END),
           format('SELECT rowkeeper.enable_updated_at(%L, %L);', t.tbl::text, att.attname)
      FROM rowkeeper._preflight_tables(schemas) t
      JOIN pg_catalog.pg_attribute att
        ON att.attrelid = t.tbl AND att.attnum > 0 AND NOT att.attisdropped
       AND att.attname IN ('updated_at', 'updatedAt')
     WHERE NOT EXISTS (SELECT FROM rowkeeper.updated_at_tables u
                        WHERE u.table_name = t.tbl AND u.column_name = att.attname AND u.enabled)
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'coverage.updated_at', 'ok', NULL::text,
                            'Every updated_at / "updatedAt" column is maintained by rowkeeper.', NULL::text;
    END IF;

    RETURN QUERY
    SELECT 'coverage.soft_delete', 'warn', t.tbl::text,
           format('Table %s has a deleted_at column but no rowkeeper soft delete%s.', t.tbl,
                  CASE WHEN sd.table_name IS NOT NULL THEN ' guard (its trigger is disabled)' ELSE '' END),
           CASE WHEN sd.table_name IS NOT NULL THEN format('ALTER TABLE %s ENABLE TRIGGER USER;', t.tbl)
                ELSE format('SELECT rowkeeper.enable_soft_delete(%L);', t.tbl::text) END
      FROM rowkeeper._preflight_tables(schemas) t
      JOIN pg_catalog.pg_attribute att
        ON att.attrelid = t.tbl AND att.attnum > 0 AND NOT att.attisdropped AND att.attname = 'deleted_at'
      LEFT JOIN rowkeeper.soft_delete_tables sd ON sd.table_name = t.tbl
     WHERE sd.table_name IS NULL OR NOT sd.guarded
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'coverage.soft_delete', 'ok', NULL::text,
                            'Every table with a deleted_at column has rowkeeper soft delete.', NULL::text;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._preflight_coverage(name[]) IS
'Internal: the coverage checks of rowkeeper.preflight() (audit, updated_at and soft delete on every user table (ORM bookkeeping tables skipped, said so)).';

/*
 * preflight() group "tenant": the rows of tenant_safety_checks() as
 * tenant.*, its table check narrowed to the schemas; on a Citus
 * coordinator, the shards' policies.
 */
CREATE OR REPLACE FUNCTION rowkeeper._preflight_tenant(schemas name[])
RETURNS TABLE (check_name text, status text, object text, detail text, fix text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- tenant_safety_checks(); its table check narrowed to the schemas
    RETURN QUERY
    WITH c AS (SELECT x.* FROM rowkeeper.tenant_safety_checks() x),
    kept AS (
        SELECT c.* FROM c
         WHERE schemas IS NULL OR c.status = 'ok' OR c.check_name <> 'tenant_table_not_isolated'
            OR (SELECT pn.nspname FROM pg_catalog.pg_class pc
                  JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
                 WHERE pc.oid = pg_catalog.to_regclass(c.object)) = ANY (schemas))
    SELECT 'tenant.' || k.check_name, k.status, k.object, k.detail, k.hint FROM kept k
    UNION ALL
    SELECT DISTINCT 'tenant.' || c.check_name, 'ok', NULL::text,
           'No finding in the schemas checked.', NULL::text
      FROM c
     WHERE NOT EXISTS (SELECT FROM kept k WHERE k.check_name = c.check_name)
     ORDER BY 1, 3;

    -- on a Citus coordinator: the shards' policies (src/sql/35_citus.sql)
    RETURN QUERY SELECT * FROM rowkeeper._citus_checks(schemas);
END;
$$;

COMMENT ON FUNCTION rowkeeper._preflight_tenant(name[]) IS
'Internal: the tenant checks of rowkeeper.preflight() (the rows of tenant_safety_checks() as tenant.*, its table check narrowed to the schemas; on a Citus coordinator, the shards'' policies).';

/*
 * preflight() group "roles": login roles that are superusers or bypass RLS,
 * own tables; PUBLIC CREATE on schemas; passwords and pg_hba.conf
 * (superusers only).
 */
CREATE OR REPLACE FUNCTION rowkeeper._preflight_roles(schemas name[])
RETURNS TABLE (check_name text, status text, object text, detail text, fix text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    RETURN QUERY
    SELECT 'roles.superuser_login', 'fail', r.rolname::text,
           format('Role %I can log in as a superuser: audit, soft delete and tenant isolation do not bind it (it can disable triggers and bypasses row-level security).', r.rolname),
           format('ALTER ROLE %I NOSUPERUSER; (or NOLOGIN, and use it only through SET ROLE for maintenance)', r.rolname)
      FROM pg_catalog.pg_roles r
     WHERE r.rolcanlogin AND r.rolsuper AND r.oid <> 10
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'roles.superuser_login', 'ok', NULL::text,
                            'No login role but the bootstrap superuser is a superuser.', NULL::text;
    END IF;

    RETURN QUERY
    SELECT 'roles.bypassrls_login', 'fail', r.rolname::text,
           format('Role %I can log in and has BYPASSRLS: tenant isolation does not apply to it.', r.rolname),
           format('ALTER ROLE %I NOBYPASSRLS; (keep a separate NOLOGIN role for cross-tenant maintenance)', r.rolname)
      FROM pg_catalog.pg_roles r
     WHERE r.rolcanlogin AND r.rolbypassrls AND NOT r.rolsuper
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'roles.bypassrls_login', 'ok', NULL::text,
                            'No non-superuser login role has BYPASSRLS.', NULL::text;
    END IF;

    -- a login role that owns a table it was not merely granted: the
    -- application connecting as the owner can drop triggers and policies
    RETURN QUERY
    SELECT 'roles.login_owns_table', 'warn', format('%s: %s', r.rolname, t.tbl),
           format('Login role %I owns table %s: if the application connects as it, it can disable the audit, updated_at and soft delete triggers and row-level security.', r.rolname, t.tbl),
           format('ALTER TABLE %s OWNER TO <a NOLOGIN migration role>; GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I;', t.tbl, t.tbl, r.rolname)
      FROM rowkeeper._preflight_tables(schemas) t
      JOIN pg_catalog.pg_roles r ON r.oid = t.owner
     WHERE r.rolcanlogin AND NOT r.rolsuper
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'roles.login_owns_table', 'ok', NULL::text,
                            'No non-superuser login role owns a checked table.', NULL::text;
    END IF;

    RETURN QUERY
    SELECT 'roles.public_create', 'fail', format('schema %I', ns.nspname),
           format('Every role (PUBLIC) may create objects in schema %I: a function or operator planted there can run in another role''s session through its search_path.', ns.nspname),
           format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC;', ns.nspname)
      FROM pg_catalog.pg_namespace ns
     CROSS JOIN LATERAL pg_catalog.aclexplode(ns.nspacl) acl
     WHERE acl.grantee = 0 AND acl.privilege_type = 'CREATE'
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'roles.public_create', 'ok', NULL::text,
                            'PUBLIC cannot create objects in any schema.', NULL::text;
    END IF;

    -- passwords: pg_authid and pg_hba_file_rules are for superusers
    IF pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')
       AND pg_catalog.has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE') THEN
        RETURN QUERY
        SELECT 'roles.trust_auth', 'fail', format('pg_hba.conf line %s', h.line_number),
               format('pg_hba.conf line %s lets %s connect over %s without any password (trust).',
                      h.line_number, pg_catalog.array_to_string(h.user_name, ','), h.type),
               'Use scram-sha-256 (or cert) on host lines; keep trust, if at all, for local (unix socket) lines.'
          FROM pg_catalog.pg_hba_file_rules h
         WHERE h.auth_method = 'trust' AND h.type LIKE 'host%'
         ORDER BY h.line_number;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            RETURN QUERY SELECT 'roles.trust_auth', 'ok', NULL::text,
                                'No host line of pg_hba.conf uses trust.', NULL::text;
        END IF;

        RETURN QUERY
        SELECT 'roles.password_never_expires', 'info', a.rolname::text,
               format('Login role %I has a password that never expires (VALID UNTIL is not set).', a.rolname),
               format('Rotate it (ALTER ROLE %I PASSWORD ...) on a schedule, or set VALID UNTIL.', a.rolname)
          FROM pg_catalog.pg_authid a
         WHERE a.rolcanlogin AND a.rolpassword IS NOT NULL
           AND (a.rolvaliduntil IS NULL OR a.rolvaliduntil = 'infinity')
         ORDER BY 3;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            RETURN QUERY SELECT 'roles.password_never_expires', 'ok', NULL::text,
                                'Every login role with a password has VALID UNTIL.', NULL::text;
        END IF;

        RETURN QUERY
        SELECT 'roles.no_password', 'warn', a.rolname::text,
               format('Login role %I has no password although pg_hba.conf uses password authentication: it either cannot log in, or logs in through a trust, peer or ident line.', a.rolname),
               format('ALTER ROLE %I PASSWORD ...; or NOLOGIN if nobody logs in as it.', a.rolname)
          FROM pg_catalog.pg_authid a
         WHERE a.rolcanlogin AND a.rolpassword IS NULL AND a.oid <> 10
           AND EXISTS (SELECT FROM pg_catalog.pg_hba_file_rules h
                        WHERE h.auth_method IN ('scram-sha-256', 'md5', 'password'))
         ORDER BY 3;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            RETURN QUERY SELECT 'roles.no_password', 'ok', NULL::text,
                                'No login role lacks a password where password authentication is used.', NULL::text;
        END IF;
    ELSE
        RETURN QUERY SELECT 'roles.passwords', 'warn', 'pg_authid'::text,
            'Not checked: passwords, expiry and pg_hba.conf are visible to superusers only.',
            'Run preflight as a superuser.';
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._preflight_roles(name[]) IS
'Internal: the roles checks of rowkeeper.preflight() (login roles that are superusers or bypass RLS, own tables; PUBLIC CREATE on schemas; passwords and pg_hba.conf (superusers only)).';

/*
 * preflight() group "settings": server settings (ssl, listen_addresses,
 * archiving, wal_level, timeouts, ...) and whether rowkeeper is preloaded
 * where it needs to be.
 */
CREATE OR REPLACE FUNCTION rowkeeper._preflight_settings()
RETURNS TABLE (check_name text, status text, object text, detail text, fix text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    s text;
    preloaded boolean;      -- rowkeeper preloaded? NULL: this role cannot see
BEGIN
    s := pg_catalog.current_setting('ssl');
    RETURN QUERY SELECT 'settings.ssl', CASE WHEN s = 'on' THEN 'ok' ELSE 'warn' END, 'ssl',
        format('ssl = %s.', s) || CASE WHEN s = 'on' THEN '' ELSE ' Connections over TCP are not encrypted.' END,
        CASE WHEN s = 'on' THEN NULL ELSE 'Set ssl = on with ssl_cert_file / ssl_key_file, and hostssl lines in pg_hba.conf.' END;

    s := pg_catalog.current_setting('listen_addresses');
    RETURN QUERY SELECT 'settings.listen_addresses',
        CASE WHEN s = '*' OR s LIKE '%0.0.0.0%' OR s LIKE '%::%' THEN 'warn' ELSE 'ok' END,
        'listen_addresses', format('listen_addresses = %L.', s),
        CASE WHEN s = '*' OR s LIKE '%0.0.0.0%' OR s LIKE '%::%'
             THEN 'Listen only on the interfaces the application reaches: listen_addresses = ''10.0.0.5'' (and a firewall).' END;

    s := pg_catalog.current_setting('archive_mode');
    RETURN QUERY SELECT 'settings.archive_mode', CASE WHEN s = 'off' THEN 'warn' ELSE 'ok' END,
        'archive_mode',
        format('archive_mode = %s.', s) || CASE WHEN s = 'off' THEN ' No WAL archive: no point-in-time recovery (a dropped table or a bad migration cannot be undone to the minute).' ELSE '' END,
        CASE WHEN s = 'off' THEN 'Set archive_mode = on and an archive_command (or use pgBackRest / WAL-G / barman), and test a restore.' END;

    s := pg_catalog.current_setting('wal_level');
    RETURN QUERY SELECT 'settings.wal_level', CASE WHEN s = 'minimal' THEN 'fail' ELSE 'ok' END,
        'wal_level',
        format('wal_level = %s.', s) || CASE WHEN s = 'minimal' THEN ' No WAL archiving, no standby, no base backup with pg_basebackup.' ELSE '' END,
        CASE WHEN s = 'minimal' THEN 'Set wal_level = replica (or logical) and restart.' END;

    -- is rowkeeper preloaded?  shared_preload_libraries is visible to
    -- superusers and pg_read_all_settings only
    IF pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE') THEN
        preloaded := EXISTS (SELECT FROM pg_catalog.unnest(pg_catalog.string_to_array(
                                 pg_catalog.current_setting('shared_preload_libraries') || ',' ||
                                 pg_catalog.current_setting('session_preload_libraries'), ',')) l
                              WHERE pg_catalog.btrim(l, ' "') IN ('rowkeeper', '$libdir/rowkeeper'));
    END IF;

    -- token mode signs tenants with a key that only a preloaded library
    -- keeps secret; loaded late, the library refuses the key (src/tenant.c)
    s := pg_catalog.current_setting('rowkeeper.tenant_mode', true);
    RETURN QUERY
    SELECT 'settings.tenant_token_preload',
           CASE WHEN s IS DISTINCT FROM 'token' OR preloaded THEN 'ok'
                WHEN preloaded IS NULL THEN 'warn' ELSE 'fail' END,
           'rowkeeper.tenant_mode',
           CASE WHEN s IS DISTINCT FROM 'token' THEN 'Tenant token mode is off.'
                WHEN preloaded THEN 'Token mode, and rowkeeper is preloaded: the key is never readable.'
                WHEN preloaded IS NULL THEN 'Token mode; not checked whether rowkeeper is preloaded: shared_preload_libraries is visible to superusers and pg_read_all_settings only.'
                ELSE 'Token mode, but rowkeeper is not in shared_preload_libraries or session_preload_libraries: '
                     'backends load it late, so the key would have been readable and is refused (every tenant token fails).' END,
           CASE WHEN s = 'token' AND preloaded IS NULL
                THEN 'Run rowkeeper.preflight() as a superuser or a member of pg_read_all_settings.'
                WHEN s = 'token' AND NOT preloaded
                THEN 'Add rowkeeper to session_preload_libraries (or shared_preload_libraries), then replace rowkeeper.tenant_key.' END;

    -- a tenant key stored with ALTER DATABASE/ROLE ... SET or in a
    -- function's SET clause is readable by every role: anyone can sign
    -- tokens with it.  rowkeeper refuses to use it (src/tenant.c); it must
    -- go, and the key be replaced.
    RETURN QUERY
    WITH stored AS (
        SELECT CASE WHEN s.setdatabase = 0 AND s.setrole = 0 THEN 'ALTER ROLE ALL'
                    WHEN s.setrole = 0 THEN format('ALTER DATABASE %I', d.datname)
                    WHEN s.setdatabase = 0 THEN format('ALTER ROLE %I', r.rolname)
                    ELSE format('ALTER ROLE %I IN DATABASE %I', r.rolname, d.datname) END AS place
          FROM pg_catalog.pg_db_role_setting s
          LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
          LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
         WHERE EXISTS (SELECT FROM pg_catalog.unnest(s.setconfig) c
                        WHERE c LIKE 'rowkeeper.tenant\_key=_%')
        UNION ALL
        SELECT format('ALTER FUNCTION %s', p.oid::pg_catalog.regprocedure)
          FROM pg_catalog.pg_proc p
         WHERE EXISTS (SELECT FROM pg_catalog.unnest(p.proconfig) c
                        WHERE c LIKE 'rowkeeper.tenant\_key=_%'))
    SELECT 'settings.tenant_key_source',
           CASE WHEN pg_catalog.count(*) = 0 THEN 'ok' ELSE 'fail' END,
           'rowkeeper.tenant_key',
           CASE WHEN pg_catalog.count(*) = 0
                THEN 'No tenant key is stored in pg_db_role_setting or a function''s SET clause.'
                ELSE 'A tenant key is stored where every role can read it (pg_db_role_setting, pg_proc): '
                     || pg_catalog.string_agg(st.place, ', ' ORDER BY st.place)
                     || '. Anyone can sign tenant tokens with it; rowkeeper refuses to use it.' END,
           CASE WHEN pg_catalog.count(*) > 0
                THEN pg_catalog.string_agg(st.place || ' RESET rowkeeper.tenant_key;', ' ' ORDER BY st.place)
                     || ' Then set a new key in postgresql.conf or with ALTER SYSTEM: the stored one has been readable.' END
      FROM stored st;

    -- soft delete's DELETE rewrite needs the library loaded before a
    -- statement is parsed; without it the guard refuses the DELETE
    RETURN QUERY
    WITH sd AS (SELECT pg_catalog.count(*) AS n FROM rowkeeper.soft_delete_tables)
    SELECT 'settings.soft_delete_preload',
           CASE WHEN sd.n = 0 OR preloaded THEN 'ok' ELSE 'warn' END,
           'shared_preload_libraries',
           format('%s soft-delete tables; rowkeeper is %s.', sd.n,
                  CASE WHEN preloaded THEN 'preloaded' WHEN preloaded IS NULL THEN 'perhaps preloaded (not visible to this role)'
                       ELSE 'not preloaded' END) ||
           CASE WHEN sd.n > 0 AND NOT preloaded
                THEN ' A session that has not loaded rowkeeper has its first DELETE on a soft-delete table refused (nothing is removed; a retry in that session marks the rows).'
                ELSE '' END,
           CASE WHEN sd.n > 0 AND preloaded IS NULL
                THEN 'Run rowkeeper.preflight() as a superuser or a member of pg_read_all_settings.'
                WHEN sd.n > 0 AND NOT preloaded
                THEN 'Add rowkeeper to shared_preload_libraries (restart) or session_preload_libraries (new sessions).' END
      FROM sd;

    -- the table owner's migrations (foreign keys, pg_dump) pass FORCE ROW
    -- LEVEL SECURITY through a hook the library installs when it loads
    -- (src/migration.c): a session that has not loaded it fails them with
    -- "no tenant is set"
    RETURN QUERY
    WITH ti AS (SELECT pg_catalog.count(*) AS n FROM rowkeeper.tenant_isolated_tables)
    SELECT 'settings.tenant_migration_preload',
           CASE WHEN ti.n = 0 OR preloaded THEN 'ok' ELSE 'warn' END,
           'shared_preload_libraries',
           format('%s tables under tenant isolation; rowkeeper is %s.', ti.n,
                  CASE WHEN preloaded THEN 'preloaded' WHEN preloaded IS NULL THEN 'perhaps preloaded (not visible to this role)'
                       ELSE 'not preloaded' END) ||
           CASE WHEN ti.n > 0 AND NOT preloaded
                THEN ' The owner''s ALTER TABLE ... ADD FOREIGN KEY / VALIDATE CONSTRAINT and pg_dump fail with "no tenant is set" in a session that has not loaded rowkeeper yet.'
                ELSE '' END,
           CASE WHEN ti.n > 0 AND preloaded IS NULL
                THEN 'Run rowkeeper.preflight() as a superuser or a member of pg_read_all_settings.'
                WHEN ti.n > 0 AND NOT preloaded
                THEN 'Add rowkeeper to shared_preload_libraries (restart) or session_preload_libraries (new sessions).' END
      FROM ti;

    -- the history index's keys are random, so after each checkpoint the
    -- first audited write to each of its leaf pages logs the whole page
    s := pg_catalog.current_setting('wal_compression');
    RETURN QUERY
    WITH audited AS (SELECT pg_catalog.count(*) AS n FROM rowkeeper.audited_tables)
    SELECT 'settings.wal_compression',
           CASE WHEN s = 'off' AND a.n > 0 THEN 'warn' ELSE 'ok' END,
           'wal_compression',
           format('wal_compression = %s; %s audited tables.', s, a.n) ||
           CASE WHEN s = 'off' AND a.n > 0
                THEN ' Audited writes log full-page images of the audit log''s history index after each checkpoint; uncompressed, they can double the WAL.'
                ELSE '' END,
           CASE WHEN s = 'off' AND a.n > 0
                THEN 'Set wal_compression = lz4 (reload, no restart; pglz compresses these pages little, at several times the CPU).' END
      FROM audited a;

    s := pg_catalog.current_setting('log_min_duration_statement');
    RETURN QUERY SELECT 'settings.log_min_duration_statement', CASE WHEN s = '-1' THEN 'warn' ELSE 'ok' END,
        'log_min_duration_statement',
        format('log_min_duration_statement = %s.', s) || CASE WHEN s = '-1' THEN ' Slow statements are not logged.' ELSE '' END,
        CASE WHEN s = '-1' THEN 'Set log_min_duration_statement = ''500ms'' (or use pg_stat_statements / auto_explain).' END;

    -- timeouts: the server setting, or one set for a database or a role
    RETURN QUERY
    SELECT 'settings.' || g.name,
           CASE WHEN pg_catalog.current_setting(g.name) <> '0' OR EXISTS (
                     SELECT FROM pg_catalog.pg_db_role_setting rs, pg_catalog.unnest(rs.setconfig) cfg
                      WHERE cfg LIKE g.name || '=%' AND cfg <> g.name || '=0')
                THEN 'ok' ELSE 'warn' END,
           g.name,
           format('%s = %s%s.', g.name, pg_catalog.current_setting(g.name),
                  coalesce((SELECT '; set for ' || pg_catalog.string_agg(
                                coalesce('role ' || pg_catalog.quote_ident(r.rolname), 'all roles') ||
                                coalesce(' in database ' || pg_catalog.quote_ident(db.datname), ''), ', '
                                ORDER BY r.rolname, db.datname)
                              FROM pg_catalog.pg_db_role_setting rs
                             CROSS JOIN LATERAL pg_catalog.unnest(rs.setconfig) cfg
                              LEFT JOIN pg_catalog.pg_roles r ON r.oid = rs.setrole
                              LEFT JOIN pg_catalog.pg_database db ON db.oid = rs.setdatabase
                             WHERE cfg LIKE g.name || '=%' AND cfg <> g.name || '=0'), '')),
           CASE WHEN pg_catalog.current_setting(g.name) <> '0' OR EXISTS (
                     SELECT FROM pg_catalog.pg_db_role_setting rs, pg_catalog.unnest(rs.setconfig) cfg
                      WHERE cfg LIKE g.name || '=%' AND cfg <> g.name || '=0')
                THEN NULL
                ELSE format('ALTER ROLE <application role> SET %s = %L;', g.name, g.example) END
      FROM (VALUES ('statement_timeout', '30s'),
                   ('idle_in_transaction_session_timeout', '60s')) g(name, example);
END;
$$;

COMMENT ON FUNCTION rowkeeper._preflight_settings() IS
'Internal: the settings checks of rowkeeper.preflight() (server settings (ssl, listen_addresses, archiving, wal_level, timeouts, ...) and whether rowkeeper is preloaded where it needs to be).';

/*
 * preflight() group "hygiene": invalid and unused indexes, dead rows, audit
 * log partitions, purge runs, the hash chain.
 */
CREATE OR REPLACE FUNCTION rowkeeper._preflight_hygiene(schemas name[])
RETURNS TABLE (check_name text, status text, object text, detail text, fix text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    s text;
    last_seal record;
    tail_at timestamptz;
    m timestamptz;
BEGIN
    RETURN QUERY
    SELECT 'hygiene.invalid_index', 'fail', i.indexrelid::regclass::text,
           format('Index %s on %s is invalid (a failed CREATE INDEX CONCURRENTLY or REINDEX): it is maintained on every write but never used.',
                  i.indexrelid::regclass, i.indrelid::regclass),
           format('DROP INDEX CONCURRENTLY %s; and create it again, or REINDEX INDEX CONCURRENTLY %s;',
                  i.indexrelid::regclass, i.indexrelid::regclass)
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
     WHERE NOT i.indisvalid
       AND ns.nspname NOT IN ('pg_catalog', 'information_schema') AND ns.nspname NOT LIKE 'pg\_toast%'
       AND (schemas IS NULL OR ns.nspname = ANY (schemas) OR ns.nspname = 'rowkeeper')
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'hygiene.invalid_index', 'ok', NULL::text, 'No invalid index.', NULL::text;
    END IF;

    RETURN QUERY
    SELECT 'hygiene.unused_index', 'info', s2.indexrelid::regclass::text,
           format('Index %s on %s (%s) has not been scanned since statistics were last reset (%s).',
                  s2.indexrelid::regclass, s2.relid::regclass,
                  pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(s2.indexrelid)),
                  coalesce((SELECT d.stats_reset::text FROM pg_catalog.pg_stat_database d
                             WHERE d.datname = pg_catalog.current_database()), 'never')),
           format('If the same holds on every standby and over a full business cycle: DROP INDEX CONCURRENTLY %s;',
                  s2.indexrelid::regclass)
      FROM pg_catalog.pg_stat_user_indexes s2
      JOIN (SELECT t.tbl AS relid FROM rowkeeper._preflight_tables(schemas) t
            UNION
            SELECT pt.relid FROM rowkeeper._preflight_tables(schemas) t
             CROSS JOIN LATERAL pg_catalog.pg_partition_tree(t.tbl) pt) t ON t.relid = s2.relid
      JOIN pg_catalog.pg_index i ON i.indexrelid = s2.indexrelid
     WHERE s2.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisexclusion
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'hygiene.unused_index', 'ok', NULL::text,
                            'Every non-unique index has been scanned.', NULL::text;
    END IF;

    RETURN QUERY
    SELECT 'hygiene.dead_tuples', 'warn', st.relid::regclass::text,
           format('Table %s has %s dead rows (%s%% of its rows); last autovacuum: %s.', st.relid::regclass,
                  st.n_dead_tup,
                  pg_catalog.round(100.0 * st.n_dead_tup / (st.n_live_tup + st.n_dead_tup), 1),
                  coalesce(st.last_autovacuum::text, 'never')),
           format('VACUUM (VERBOSE) %s; and lower autovacuum_vacuum_scale_factor for it, or look for long transactions holding back the cleanup (pg_stat_activity.backend_xmin).',
                  st.relid::regclass)
      FROM pg_catalog.pg_stat_all_tables st
     WHERE st.n_dead_tup >= 1000
       AND st.n_dead_tup > 0.1 * (st.n_live_tup + st.n_dead_tup)
       AND (st.relid IN (SELECT t.tbl FROM rowkeeper._preflight_tables(schemas) t)
            OR st.relid IN (SELECT pt.relid FROM rowkeeper._preflight_tables(schemas) t
                             CROSS JOIN LATERAL pg_catalog.pg_partition_tree(t.tbl) pt)
            OR st.relid IN (SELECT pt.relid FROM pg_catalog.pg_partition_tree('rowkeeper.audit_log') pt)
            OR st.relid = 'rowkeeper.purge_runs'::pg_catalog.regclass)
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'hygiene.dead_tuples', 'ok', NULL::text,
                            'No table has more than 10% dead rows (of at least 1000).', NULL::text;
    END IF;

    -- audit log partitions: this month and the next one
    FOREACH m IN ARRAY ARRAY[pg_catalog.date_trunc('month', pg_catalog.now()),
                             pg_catalog.date_trunc('month', pg_catalog.now()) + interval '1 month'] LOOP
        RETURN QUERY
        SELECT 'hygiene.audit_partition',
               CASE WHEN b.part IS NULL THEN 'fail' ELSE 'ok' END,
               coalesce(b.part::text, format('rowkeeper.audit_log_%s', pg_catalog.to_char(m, '"y"YYYY"m"MM'))),
               CASE WHEN b.part IS NULL
                    THEN format('No partition of rowkeeper.audit_log for %s: its entries go to the default partition, and the monthly partition cannot be created once they are there.',
                                pg_catalog.to_char(m, 'YYYY-MM'))
                    ELSE format('Partition for %s in place.', pg_catalog.to_char(m, 'YYYY-MM')) END,
               CASE WHEN b.part IS NULL
                    THEN 'SELECT rowkeeper.create_audit_partitions(); and schedule it monthly (pg_cron).' END
          FROM (SELECT NULL) one
          LEFT JOIN LATERAL (SELECT x.part FROM rowkeeper._audit_partition_bounds() x
                              -- a day of slack: the partitions' bounds follow the
                              -- time zone of the session that created them
                              WHERE x.lower_bound <= m + interval '1 day'
                                AND x.upper_bound >= m + interval '1 month' - interval '1 day'
                              LIMIT 1) b ON true;
    END LOOP;

    -- purge jobs: the last run of each job; and a job whose last 3 runs
    -- were all skipped (something holds its lock: say who)
    RETURN QUERY
    SELECT 'hygiene.purge_run', CASE WHEN p.outcome = 'failed' THEN 'fail' ELSE 'warn' END,
           format('%s %s', p.kind, p.target),
           format('The last %s purge of %s (run %s, %s) ended %s%s.', p.kind, p.target, p.id,
                  p.started_at, p.outcome, coalesce(': ' || p.error, ''))
           || CASE WHEN p.outcome LIKE 'skipped%' THEN
                  format(' So did the 2 runs before it. The lock is held by process %s (user %s, application %s, connected %s)%s.',
                         p.detail #>> '{lock_holder,pid}', p.detail #>> '{lock_holder,user}',
                         p.detail #>> '{lock_holder,application}', p.detail #>> '{lock_holder,backend_start}',
                         CASE WHEN p.detail #>> '{lock_holder,run}' IS NULL THEN ', which is not running a purge'
                              ELSE ', running purge run ' || (p.detail #>> '{lock_holder,run}') END)
              ELSE '' END,
           CASE WHEN p.outcome LIKE 'skipped%'
                THEN format('If the process is no purge that is still running: SELECT pg_terminate_backend(%s);', p.detail #>> '{lock_holder,pid}')
                ELSE 'Read rowkeeper.purge_runs for the run, fix the cause and run the job again; the next run resumes where it stopped.' END
      FROM (SELECT DISTINCT ON (r.kind, r.target) r.*
              FROM rowkeeper.purge_runs r
             WHERE r.outcome <> 'dry run'
             ORDER BY r.kind, r.target, r.id DESC) p
     WHERE p.outcome IN ('failed', 'interrupted', 'stopped: lock timeout')
        OR (p.outcome LIKE 'skipped%'
            AND (SELECT count(*) FILTER (WHERE x.outcome LIKE 'skipped%')
                   FROM (SELECT r.outcome FROM rowkeeper.purge_runs r
                          WHERE r.kind = p.kind AND r.target = p.target AND r.outcome <> 'dry run'
                          ORDER BY r.id DESC LIMIT 3) x) = 3)
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'hygiene.purge_run', 'ok', NULL::text,
                            'No purge job''s last run failed or was interrupted, and none was skipped 3 times in a row.', NULL::text;
    END IF;

    -- the hash chain, when in use: sealing keeps up
    IF NOT pg_catalog.has_table_privilege('rowkeeper.audit_seal', 'SELECT')
       OR NOT pg_catalog.has_table_privilege('rowkeeper.audit_log', 'SELECT') THEN
        RETURN QUERY SELECT 'hygiene.audit_chain', 'warn', 'rowkeeper.audit_seal'::text,
            'Not checked: the current role cannot read rowkeeper.audit_seal and rowkeeper.audit_log.',
            'Run preflight as a superuser or a member of rowkeeper_auditor.';
    ELSE
        SELECT s3.* INTO last_seal FROM rowkeeper.audit_seal s3 ORDER BY s3.batch DESC LIMIT 1;
        IF last_seal.batch IS NULL THEN
            RETURN QUERY SELECT 'hygiene.audit_chain', 'ok', NULL::text,
                'The hash chain is not in use (nothing sealed).', NULL::text;
        ELSE
            -- entries of transactions after the last batch; bounded by time
            -- so that the BRIN index keeps this cheap on a large log
            SELECT min(l.logged_at) INTO tail_at
              FROM rowkeeper.audit_log l
             WHERE l.logged_at >= last_seal.last_logged_at - interval '1 day'
               AND l.txid >= last_seal.txid_hi;
            IF tail_at IS NOT NULL AND tail_at < pg_catalog.now() - interval '1 hour' THEN
                RETURN QUERY SELECT 'hygiene.audit_chain', 'warn', 'rowkeeper.audit_seal'::text,
                    format('Audit entries logged since %s are not sealed; the last seal (batch %s) was at %s.',
                           tail_at, last_seal.batch, last_seal.sealed_at),
                    'Schedule SELECT rowkeeper.seal_audit_log() (pg_cron, every minute) and check that the job runs.';
            ELSE
                RETURN QUERY SELECT 'hygiene.audit_chain', 'ok', 'rowkeeper.audit_seal'::text,
                    format('Sealing keeps up: last batch %s at %s.', last_seal.batch, last_seal.sealed_at), NULL::text;
            END IF;
        END IF;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._preflight_hygiene(name[]) IS
'Internal: the hygiene checks of rowkeeper.preflight() (invalid and unused indexes, dead rows, audit log partitions, purge runs, the hash chain).';

CREATE OR REPLACE FUNCTION rowkeeper.preflight(schemas name[] DEFAULT NULL)
RETURNS TABLE (check_name text, status text, object text, detail text, fix text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- one function per group of checks, in this order
    RETURN QUERY SELECT * FROM rowkeeper._preflight_coverage(schemas);
    RETURN QUERY SELECT * FROM rowkeeper._preflight_tenant(schemas);
    RETURN QUERY SELECT * FROM rowkeeper._preflight_roles(schemas);
    RETURN QUERY SELECT * FROM rowkeeper._preflight_settings();
    RETURN QUERY SELECT * FROM rowkeeper._preflight_hygiene(schemas);
END;
$$;

COMMENT ON FUNCTION rowkeeper.preflight(name[]) IS
'The production checklist: coverage (audit, updated_at, soft delete, tenant isolation), roles, server settings and hygiene (indexes, dead rows, audit partitions, purge runs, hash chain). One row per finding (info/warn/fail) and one ok row per clean check, with the fix. schemas limits the table checks; read only (runs on a standby).';

CREATE OR REPLACE FUNCTION rowkeeper.preflight_assert(schemas name[] DEFAULT NULL, ignore text[] DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fails text;
    nfail bigint;
    nwarn bigint;
    nok bigint;
BEGIN
    SELECT count(*) FILTER (WHERE x.status = 'fail'),
           count(*) FILTER (WHERE x.status = 'warn'),
           count(*) FILTER (WHERE x.status = 'ok'),
           pg_catalog.string_agg(x.check_name || coalesce(' (' || x.object || ')', ''), ', '
                                 ORDER BY x.check_name, x.object) FILTER (WHERE x.status = 'fail')
      INTO nfail, nwarn, nok, fails
      FROM rowkeeper.preflight(schemas) x
     WHERE NOT rowkeeper._preflight_ignored(x.check_name, x.object, ignore);
    IF nfail > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('rowkeeper preflight: %s check(s) failed: %s', nfail, fails),
            DETAIL = format('%s ok, %s warn, %s fail.', nok, nwarn, nfail),
            HINT = 'SELECT * FROM rowkeeper.preflight() WHERE status = ''fail''; shows the fix for each (or leave it out with ignore: a check name, or check:object).';
    END IF;
    RETURN format('%s ok, %s warn, 0 fail', nok, nwarn);
END;
$$;

COMMENT ON FUNCTION rowkeeper.preflight_assert(name[], text[]) IS
'For CI: raise an error (SQLSTATE 55000) naming every failed preflight check, else return a summary ("N ok, N warn, 0 fail"). ignore: LIKE patterns of check names to leave out (e.g. {settings.archive_mode}), or check:object for one object (e.g. {coverage.audit:public.legacy_%}). psql -v ON_ERROR_STOP=1 -c ''SELECT rowkeeper.preflight_assert()'' exits non-zero on failure.';
