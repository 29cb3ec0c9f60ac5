
-- src/sql/35_citus.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Citus: what tenant isolation needs on a distributed cluster
--
-- The C half (src/citus.c) sends the tenant to the workers.  This half:
--   - _citus_distribution_column(tbl): whether a table is a Citus table and
--     its distribution column, without depending on Citus being installed;
--   - _tenant_set_default(tbl, col, fn): the tenant column's default.  Citus
--     refuses ALTER TABLE on a distribution column; the default is only
--     evaluated where the INSERT is planned (Citus fills defaults on the
--     coordinator before it routes a row), so on such a column it is set on
--     the coordinator's table only (citus.enable_ddl_propagation off for
--     that one statement);
--   - _citus_allow_triggers(on): citus.enable_unsafe_triggers around the
--     creation of rowkeeper's triggers (they touch nothing but their row);
--   - _citus_checks(): the preflight rows for a Citus coordinator: rowkeeper
--     preloaded, no other policy on an isolated Citus table (Citus makes
--     every policy permissive on the shards, where it would be ORed with
--     the tenant predicate), and on every placement of every shard the
--     policies and forced RLS that confine to the tenant.
------------------------------------------------------------------------------

/* The distribution column of a Citus table; NULL for others (and reference tables). */
CREATE OR REPLACE FUNCTION rowkeeper._citus_distribution_column(tbl regclass, OUT is_citus boolean, OUT dist_column name)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    is_citus := false;
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN;
    END IF;
    EXECUTE 'SELECT true, CASE WHEN p.partkey IS NOT NULL
                               THEN pg_catalog.column_to_column_name(p.logicalrelid, p.partkey)::name END
               FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1'
       INTO is_citus, dist_column USING tbl;
    is_citus := coalesce(is_citus, false);
END;
$$;

COMMENT ON FUNCTION rowkeeper._citus_distribution_column(regclass) IS
'Internal: whether a table is a Citus table, and its distribution column (NULL for reference tables); false when Citus is not installed.';

/*
 * Set (fn) or drop (fn IS NULL) the default of a tenant column.  On the
 * distribution column of a Citus table only the coordinator's table gets
 * it: Citus refuses the ALTER there, and fills defaults before routing.
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_set_default(tbl regclass, col name, fn text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d record;
    old_ddl text;
BEGIN
    d := rowkeeper._citus_distribution_column(tbl);
    IF d.dist_column = col THEN
        old_ddl := pg_catalog.current_setting('citus.enable_ddl_propagation');
        PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
    END IF;
    IF fn IS NULL THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', tbl, col);
    ELSE
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', tbl, col, fn);
    END IF;
    IF old_ddl IS NOT NULL THEN
        PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', old_ddl, true);
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_set_default(regclass, name, text) IS
'Internal: set or drop the tenant column''s default; on a Citus distribution column on the coordinator only (Citus fills defaults there before routing).';

/*
 * Turn citus.enable_unsafe_triggers on for the rest of the transaction and
 * return its previous value, or put a previous value back; NULL (and
 * nothing done) when Citus is not loaded.
 */
CREATE OR REPLACE FUNCTION rowkeeper._citus_allow_triggers(previous text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    was text := pg_catalog.current_setting('citus.enable_unsafe_triggers', true);
BEGIN
    IF was IS NULL OR pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', coalesce(previous, 'on'), true);
    RETURN was;
END;
$$;

COMMENT ON FUNCTION rowkeeper._citus_allow_triggers(text) IS
'Internal: citus.enable_unsafe_triggers on while rowkeeper creates its row triggers on Citus tables (returns the value to put back).';

/* Preflight rows for a Citus cluster; none when Citus is not installed. */
CREATE OR REPLACE FUNCTION rowkeeper._citus_checks(schemas name[] DEFAULT NULL)
RETURNS TABLE (check_name text, status text, object text, detail text, hint text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
    bad boolean := false;
    t record;
    expected text;
    probe text;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN;
    END IF;

    -- 1. preloaded: a tenant set before the library loads is not sent to the workers
    RETURN QUERY
    SELECT 'tenant.citus_preload',
           CASE WHEN ok THEN 'ok' ELSE 'fail' END,
           'shared_preload_libraries',
           CASE WHEN ok THEN 'rowkeeper is preloaded: every backend sends the tenant to the workers.'
                ELSE 'rowkeeper is not preloaded on this Citus node: a tenant set (SET LOCAL, set_config()) before the library loads in a backend is not sent to the workers, which then may use another one.' END,
           CASE WHEN ok THEN NULL
                ELSE 'Add rowkeeper after citus to shared_preload_libraries on every node and restart: shared_preload_libraries = ''citus,rowkeeper''.' END
      FROM (SELECT 'rowkeeper' = ANY (pg_catalog.string_to_array(
                        pg_catalog.replace(pg_catalog.current_setting('shared_preload_libraries')
                                           || ',' || pg_catalog.current_setting('session_preload_libraries'),
                                           ' ', ''), ',')) AS ok) s;

    -- 2. no other policy on an isolated Citus table: on the shards every
    --    policy is permissive, ORed with the tenant predicate
    RETURN QUERY
    SELECT 'tenant.citus_foreign_policy', 'fail', format('%s: %s', i.table_name, p.polname),
           format('Policy %I on Citus table %s is copied to the shards without AS RESTRICTIVE and is ORed with the tenant predicate there: it can give access to other tenants'' rows.',
                  p.polname, i.table_name),
           format('DROP POLICY %I ON %s; (or fold its condition into a view or the application''s queries)', p.polname, i.table_name)
      FROM rowkeeper.tenant_isolated_tables i
      JOIN pg_catalog.pg_policy p ON p.polrelid = i.table_name
     WHERE (rowkeeper._citus_distribution_column(i.table_name)).is_citus
       AND p.polname NOT IN ('rowkeeper_tenant_isolation', 'rowkeeper_tenant_access')
       AND (schemas IS NULL OR i.schema_name = ANY (schemas))
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'tenant.citus_foreign_policy', 'ok', NULL::text,
                            'No isolated Citus table has a policy besides rowkeeper''s.', NULL::text;
    END IF;

    -- 3. every placement of every shard: RLS forced, every policy confines
    --    to the tenant (the qualifier of rowkeeper_tenant_isolation)
    FOR t IN SELECT i.table_name, p.oid AS pol
               FROM rowkeeper.tenant_isolated_tables i
               JOIN pg_catalog.pg_policy p
                 ON p.polrelid = i.table_name AND p.polname = 'rowkeeper_tenant_isolation'
              WHERE (rowkeeper._citus_distribution_column(i.table_name)).is_citus
                AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.table_name)
                AND (schemas IS NULL OR i.schema_name = ANY (schemas))
              ORDER BY 1 LOOP
        SELECT pg_catalog.pg_get_expr(p.polqual, p.polrelid) INTO expected
          FROM pg_catalog.pg_policy p WHERE p.oid = t.pol;
        -- %%1$L: the shard's name as a literal, filled in by
        -- run_command_on_placements (its format(command, shard name))
        probe := format($probe$
            SELECT coalesce(pg_catalog.string_agg(x.problem, '; '), 'ok') FROM (
                SELECT 'row-level security is not enabled and forced' AS problem
                  FROM pg_catalog.pg_class c
                 WHERE c.oid = %%1$L::pg_catalog.regclass AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
                UNION ALL
                SELECT 'policy rowkeeper_tenant_isolation is missing'
                 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_policy p
                                    WHERE p.polrelid = %%1$L::pg_catalog.regclass
                                      AND p.polname = 'rowkeeper_tenant_isolation')
                UNION ALL
                SELECT pg_catalog.format('policy %%%%I allows rows of other tenants', p.polname)
                  FROM pg_catalog.pg_policy p
                 WHERE p.polrelid = %%1$L::pg_catalog.regclass
                   AND (coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), %1$L) <> %1$L
                        OR coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
                                    pg_catalog.pg_get_expr(p.polqual, p.polrelid), %1$L) <> %1$L)) x
            $probe$, expected);
        RETURN QUERY EXECUTE
            'SELECT ''tenant.citus_shard_policies'', ''fail'', $1::text,
                    pg_catalog.format(''Shard %s of %s on node %s:%s: %s.'', r.shardid, $1, r.nodename, r.nodeport,
                                      CASE WHEN r.success THEN r.result ELSE ''could not be checked: '' || r.result END),
                    ''Call rowkeeper.enable_tenant_isolation() again on the table, and drop policies created on shards directly.''
               FROM pg_catalog.run_command_on_placements($1, $2) r
              WHERE NOT r.success OR r.result <> ''ok''
              ORDER BY r.shardid, r.nodename, r.nodeport'
            USING t.table_name, probe;
        GET DIAGNOSTICS n = ROW_COUNT;
        bad := bad OR n > 0;
    END LOOP;
    IF NOT bad THEN
        RETURN QUERY SELECT 'tenant.citus_shard_policies', 'ok', NULL::text,
                            'On every placement of every isolated Citus table, row-level security is forced and every policy confines to the tenant.', NULL::text;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._citus_checks(name[]) IS
'Internal: preflight rows for a Citus coordinator (rowkeeper preloaded, no other policy on isolated Citus tables, the policies on every shard placement); none when Citus is not installed.';
