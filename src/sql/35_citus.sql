
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
--   - _citus_policies(tbl, ...): rowkeeper's policies on a Citus table in
--     the form whose meaning does not depend on AS RESTRICTIVE, which
--     Citus drops on the shards (tenant isolation with soft delete);
--   - _citus_count_not_null(tbl, col): a count over every shard;
--   - _citus_checks(): the preflight rows for a Citus coordinator: rowkeeper
--     preloaded, no other policy on an isolated or soft-delete Citus table
--     (Citus makes every policy permissive on the shards, where it would be
--     ORed with rowkeeper's conditions), and on the coordinator and every
--     placement of every shard the policies (the form _citus_policies()
--     writes) and forced RLS that confine to the tenant's live rows.
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

/*
 * (Re)write rowkeeper's policies on one Citus table (or partition) for its
 * configuration: tenant isolation with tenant_predicate T (NULL: none) and
 * grant_access, and soft delete as its guard trigger says (the hiding
 * condition H, in its Citus form, see _soft_delete_hiding()).
 *
 * Citus copies policies to the shards without AS RESTRICTIVE: there every
 * policy is permissive, and the USING conditions that apply to a command
 * are ORed.  So here every USING is the whole read predicate R and every
 * WITH CHECK the whole write predicate W, and the set means the same
 * restrictive or not:
 *   with tenant isolation:  R = (T) AND (H), W = T
 *     rowkeeper_tenant_isolation  RESTRICTIVE FOR ALL    USING (R) WITH CHECK (W)
 *     rowkeeper_tenant_access     PERMISSIVE  FOR ALL    USING (R) WITH CHECK (W)   (grant_access)
 *     rowkeeper_soft_delete       RESTRICTIVE FOR SELECT USING (R)
 *   without:                R = H, W = true
 *     rowkeeper_soft_delete       RESTRICTIVE FOR SELECT USING (R)
 *     rowkeeper_soft_delete_access PERMISSIVE FOR ALL    USING (R) WITH CHECK (true)
 *   without soft delete: R = T, the tenant pair of _tenant_apply().
 * The policies of a capability the table does not have are dropped.  The
 * comments (how RLS was before rowkeeper) are kept; RLS itself is the
 * caller's.
 */
CREATE OR REPLACE FUNCTION rowkeeper._citus_policies(tbl regclass, tenant_predicate text, grant_access boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col name := (rowkeeper._soft_delete_config(tbl)).column_name;
    hiding text;
    reads text;
    tenant_state text;
    hiding_state text;
    pol name;
BEGIN
    IF col IS NOT NULL THEN
        hiding := rowkeeper._soft_delete_hiding(tbl, col, true);
    END IF;
    reads := CASE WHEN tenant_predicate IS NULL THEN hiding
                  WHEN hiding IS NULL THEN tenant_predicate
                  ELSE pg_catalog.format('(%s) AND (%s)', tenant_predicate, hiding) END;

    -- RLS as the user had it before rowkeeper first touched the table
    SELECT pg_catalog.obj_description(p.oid, 'pg_policy') INTO tenant_state
      FROM pg_catalog.pg_policy p
     WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_tenant_isolation';
    SELECT pg_catalog.obj_description(p.oid, 'pg_policy') INTO hiding_state
      FROM pg_catalog.pg_policy p
     WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_soft_delete';
    SELECT coalesce(tenant_state,
                    pg_catalog.format('rowkeeper tenant isolation; before it: rls_was_enabled=%s, rls_was_forced=%s',
                                      c.relrowsecurity::text, c.relforcerowsecurity::text)),
           coalesce(hiding_state,
                    pg_catalog.format('rowkeeper soft delete; before it: rls_was_enabled=%s, rls_was_forced=%s',
                                      c.relrowsecurity::text, c.relforcerowsecurity::text))
      INTO tenant_state, hiding_state
      FROM pg_catalog.pg_class c WHERE c.oid = tbl;

    FOR pol IN SELECT p.polname FROM pg_catalog.pg_policy p
                WHERE p.polrelid = tbl
                  AND p.polname IN ('rowkeeper_tenant_isolation', 'rowkeeper_tenant_access',
                                    'rowkeeper_soft_delete', 'rowkeeper_soft_delete_access')
                ORDER BY p.polname LOOP
        EXECUTE pg_catalog.format('DROP POLICY %I ON %s', pol, tbl);
    END LOOP;

    IF tenant_predicate IS NOT NULL THEN
        EXECUTE pg_catalog.format('CREATE POLICY rowkeeper_tenant_isolation ON %s AS RESTRICTIVE FOR ALL TO PUBLIC '
                                  'USING (%s) WITH CHECK (%s)', tbl, reads, tenant_predicate);
        EXECUTE pg_catalog.format('COMMENT ON POLICY rowkeeper_tenant_isolation ON %s IS %L', tbl, tenant_state);
        IF grant_access THEN
            EXECUTE pg_catalog.format('CREATE POLICY rowkeeper_tenant_access ON %s AS PERMISSIVE FOR ALL TO PUBLIC '
                                      'USING (%s) WITH CHECK (%s)', tbl, reads, tenant_predicate);
            EXECUTE pg_catalog.format('COMMENT ON POLICY rowkeeper_tenant_access ON %s IS %L', tbl,
                                      'rowkeeper tenant isolation: the current tenant''s rows are accessible (the same conditions as rowkeeper_tenant_isolation, so that the policies confine to the tenant where they lose AS RESTRICTIVE, as on Citus shards)');
        END IF;
    END IF;
    IF col IS NOT NULL THEN
        EXECUTE pg_catalog.format('CREATE POLICY rowkeeper_soft_delete ON %s AS RESTRICTIVE FOR SELECT TO PUBLIC '
                                  'USING (%s)', tbl, reads);
        EXECUTE pg_catalog.format('COMMENT ON POLICY rowkeeper_soft_delete ON %s IS %L', tbl, hiding_state);
        IF tenant_predicate IS NULL THEN
            EXECUTE pg_catalog.format('CREATE POLICY rowkeeper_soft_delete_access ON %s AS PERMISSIVE FOR ALL TO PUBLIC '
                                      'USING (%s) WITH CHECK (true)', tbl, reads);
            EXECUTE pg_catalog.format('COMMENT ON POLICY rowkeeper_soft_delete_access ON %s IS %L', tbl,
                                      'rowkeeper soft delete: live rows are accessible (the hiding condition again, not true, so that the policies hide the deleted rows where they lose AS RESTRICTIVE, as on Citus shards)');
        END IF;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._citus_policies(regclass, text, boolean) IS
'Internal: (re)write rowkeeper''s policies on a Citus table for its tenant isolation and soft delete, each USING the whole read predicate and each WITH CHECK the whole write predicate, so that they mean the same on the shards, where Citus makes every policy permissive.';

/*
 * The rows of a table whose column is not NULL, regardless of row-level
 * security, wherever they are: on a Citus table rowkeeper._count_not_null()
 * on one placement of every shard (the coordinator's table of a
 * distributed table is empty), run as the caller, who must own the table;
 * on any other table rowkeeper._count_not_null() itself.  A shard that
 * cannot be counted is an error, never a smaller count.  The shards are
 * read through separate connections: rows the caller's transaction itself
 * changed and has not committed are counted as they were before, and a
 * shard the transaction has locked (DDL before the call) makes the count
 * fail after a lock timeout rather than wait forever.
 */
CREATE OR REPLACE FUNCTION rowkeeper._citus_count_not_null(tbl regclass, column_name name)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    total bigint := 0;
    counted bigint := 0;
    shards bigint;
    r record;
BEGIN
    IF NOT (rowkeeper._citus_distribution_column(tbl)).is_citus THEN
        RETURN rowkeeper._count_not_null(tbl, column_name);
    END IF;
    -- %%L: the shard's name, filled in by run_command_on_shards (its
    -- format(command, shard name): a % of the column's name is doubled)
    FOR r IN EXECUTE 'SELECT s.shardid, s.success, s.result FROM pg_catalog.run_command_on_shards($1, $2) s'
                -- with a lock timeout: a shard that this very transaction
                -- has locked (DDL before the call) would keep the other
                -- connection waiting, unseen by Citus's deadlock detection
                USING tbl, pg_catalog.format('SELECT rowkeeper._count_not_null(%%L::pg_catalog.regclass, %s) '
                                             'FROM (SELECT pg_catalog.set_config(''lock_timeout'', ''10s'', true)) t',
                                             pg_catalog.replace(pg_catalog.quote_literal(column_name), '%', '%%')) LOOP
        counted := counted + 1;
        IF NOT r.success THEN
            RAISE EXCEPTION USING
                ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = pg_catalog.format('cannot count the rows of shard %s of %s', r.shardid, tbl),
                DETAIL = r.result,
                HINT = CASE WHEN r.result LIKE '%lock timeout%'
                            THEN 'The shards are counted in connections of their own, which wait for the locks of this transaction: call it in a transaction that has not changed the table (a migration of its own).'
                            ELSE 'Make sure every worker is reachable, then try again.' END;
        END IF;
        total := total + r.result::bigint;
    END LOOP;
    EXECUTE 'SELECT pg_catalog.count(*) FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid = $1'
       INTO shards USING tbl;
    IF counted <> shards THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = pg_catalog.format('cannot count the rows of %s: %s of its %s shards have no active placement',
                                        tbl, shards - counted, shards),
            HINT = 'Repair the shard placements, then try again.';
    END IF;
    RETURN total;
END;
$$;

COMMENT ON FUNCTION rowkeeper._citus_count_not_null(regclass, name) IS
'Internal: rows of a table whose column is not NULL regardless of row-level security, on a Citus table counted on every shard. Table owner only.';

/*
 * The Citus tables that have rowkeeper policies (tenant isolation, soft
 * delete), in the given schemas (all when NULL), for preflight.
 */
CREATE OR REPLACE FUNCTION rowkeeper._citus_policy_tables(schemas name[])
RETURNS TABLE (tbl regclass, tenant_isolated boolean, soft_delete_column name)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::pg_catalog.regclass,
           EXISTS (SELECT FROM pg_catalog.pg_policy p
                    WHERE p.polrelid = c.oid AND p.polname = 'rowkeeper_tenant_isolation'),
           (rowkeeper._soft_delete_config(c.oid)).column_name
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p')
       AND (schemas IS NULL OR n.nspname = ANY (schemas))
       AND (EXISTS (SELECT FROM pg_catalog.pg_policy p
                     WHERE p.polrelid = c.oid AND p.polname = 'rowkeeper_tenant_isolation')
            OR EXISTS (SELECT FROM pg_catalog.pg_trigger t
                        WHERE t.tgrelid = c.oid AND t.tgname = 'rowkeeper_soft_delete' AND t.tgparentid = 0
                          AND t.tgfoid = 'rowkeeper.soft_delete_guard()'::pg_catalog.regprocedure))
       AND (rowkeeper._citus_distribution_column(c.oid)).is_citus
$$;

COMMENT ON FUNCTION rowkeeper._citus_policy_tables(name[]) IS
'Internal: the Citus tables under rowkeeper tenant isolation or soft delete, for preflight.';

/*
 * What preflight expects of the policies of a Citus table, as pg_get_expr()
 * prints them: every USING is reads (R), every WITH CHECK writes (W) or R.
 * W is the WITH CHECK of rowkeeper_tenant_isolation (true without tenant
 * isolation); R is W AND the hiding condition in its Citus form when the
 * table has soft delete (see _citus_policies()), else W.
 */
CREATE OR REPLACE FUNCTION rowkeeper._citus_policy_quals(tbl regclass, OUT reads text, OUT writes text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col name := (rowkeeper._soft_delete_config(tbl)).column_name;
    hiding text;
BEGIN
    SELECT pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) INTO writes
      FROM pg_catalog.pg_policy p
     WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_tenant_isolation';
    writes := coalesce(writes, 'true');
    IF col IS NOT NULL THEN
        -- the table's name quoted as pg_get_expr() quotes a text constant
        hiding := pg_catalog.format('((%I IS NULL) OR rowkeeper._soft_delete_visible((''%s''::text)::regclass))',
                                    col, pg_catalog.replace(tbl::text, '''', ''''''));
    END IF;
    reads := CASE WHEN hiding IS NULL THEN writes
                  WHEN writes = 'true' THEN hiding
                  ELSE pg_catalog.format('(%s AND %s)', writes, hiding) END;
END;
$$;

COMMENT ON FUNCTION rowkeeper._citus_policy_quals(regclass) IS
'Internal: the USING (reads) and WITH CHECK (writes) that preflight expects of every policy of a Citus table, as pg_get_expr() prints them.';

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
    probe text;
    problem text;
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

    -- 2. no other policy on an isolated or soft-delete Citus table: on the
    --    shards every policy is permissive, ORed with rowkeeper's conditions
    RETURN QUERY
    SELECT 'tenant.citus_foreign_policy', 'fail', format('%s: %s', x.tbl, p.polname),
           format('Policy %I on Citus table %s is copied to the shards without AS RESTRICTIVE and is ORed with rowkeeper''s conditions there: it can give access to %s.',
                  p.polname, x.tbl,
                  CASE WHEN x.soft_delete_column IS NULL THEN 'other tenants'' rows'
                       WHEN x.tenant_isolated THEN 'other tenants'' rows and soft-deleted rows'
                       ELSE 'soft-deleted rows' END),
           format('DROP POLICY %I ON %s; (or fold its condition into a view or the application''s queries)', p.polname, x.tbl)
      FROM rowkeeper._citus_policy_tables(schemas) x
      JOIN pg_catalog.pg_policy p ON p.polrelid = x.tbl
     WHERE p.polname NOT IN ('rowkeeper_tenant_isolation', 'rowkeeper_tenant_access',
                             'rowkeeper_soft_delete', 'rowkeeper_soft_delete_access')
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'tenant.citus_foreign_policy', 'ok', NULL::text,
                            'No isolated or soft-delete Citus table has a policy besides rowkeeper''s.', NULL::text;
    END IF;

    -- 3. on the coordinator and every placement of every shard: RLS forced,
    --    and every policy USING the whole read predicate R and WITH CHECK
    --    the write predicate W (or R) of the table's configuration, the
    --    form of _citus_policies(): ORed or not, they confine to the
    --    tenant's (live) rows.  W is the tenant policy's WITH CHECK (true
    --    without tenant isolation); R adds the hiding condition in its
    --    Citus form, as pg_get_expr() shows it, when the table has soft
    --    delete (the one-node form, a regclass constant, does not match).
    FOR t IN SELECT x.tbl, x.soft_delete_column, q.reads, q.writes,
                    CASE WHEN x.tenant_isolated THEN 'rowkeeper_tenant_isolation'
                         ELSE 'rowkeeper_soft_delete' END AS required
               FROM rowkeeper._citus_policy_tables(schemas) x
              CROSS JOIN LATERAL rowkeeper._citus_policy_quals(x.tbl) q
              WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_inherits h WHERE h.inhrelid = x.tbl)
              ORDER BY 1 LOOP
        -- %%1$L: the shard's name as a literal, filled in by
        -- run_command_on_placements (its format(command, shard name)), for
        -- which a % in the other literals is doubled
        probe := format($probe$
            SELECT coalesce(pg_catalog.string_agg(x.problem, '; '), 'ok') FROM (
                SELECT 'row-level security is not enabled and forced' AS problem
                  FROM pg_catalog.pg_class c
                 WHERE c.oid = %%1$L::pg_catalog.regclass AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
                UNION ALL
                SELECT 'policy %3$s is missing'
                 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_policy p
                                    WHERE p.polrelid = %%1$L::pg_catalog.regclass
                                      AND p.polname = %3$L)
                UNION ALL
                SELECT pg_catalog.format('policy %%%%I allows %4$s', p.polname)
                  FROM pg_catalog.pg_policy p
                 WHERE p.polrelid = %%1$L::pg_catalog.regclass
                   AND (coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), %1$s) <> %1$s
                        OR coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
                                    pg_catalog.pg_get_expr(p.polqual, p.polrelid), %1$s) NOT IN (%1$s, %2$s))) x
            $probe$, replace(quote_literal(t.reads), '%', '%%'), replace(quote_literal(t.writes), '%', '%%'),
            t.required,
            CASE WHEN t.soft_delete_column IS NULL THEN 'rows of other tenants'
                 WHEN t.writes = 'true' THEN 'soft-deleted rows'
                 ELSE 'rows of other tenants or soft-deleted rows' END);
        -- the coordinator's table (where the policies come from) ...
        EXECUTE format(probe, t.tbl::text) INTO problem;
        IF problem <> 'ok' THEN
            RETURN QUERY SELECT 'tenant.citus_shard_policies', 'fail', t.tbl::text,
                                format('Citus table %s on the coordinator: %s.', t.tbl, problem),
                                'Call rowkeeper.enable_tenant_isolation() or rowkeeper.enable_soft_delete() again on the table, and drop policies created by hand.';
            bad := true;
        END IF;
        -- ... and every placement of every shard
        RETURN QUERY EXECUTE
            'SELECT ''tenant.citus_shard_policies'', ''fail'', $1::text,
                    pg_catalog.format(''Shard %s of %s on node %s:%s: %s.'', r.shardid, $1, r.nodename, r.nodeport,
                                      CASE WHEN r.success THEN r.result ELSE ''could not be checked: '' || r.result END),
                    ''Call rowkeeper.enable_tenant_isolation() or rowkeeper.enable_soft_delete() again on the table, and drop policies created on shards directly.''
               FROM pg_catalog.run_command_on_placements($1, $2) r
              WHERE NOT r.success OR r.result <> ''ok''
              ORDER BY r.shardid, r.nodename, r.nodeport'
            USING t.tbl, probe;
        GET DIAGNOSTICS n = ROW_COUNT;
        bad := bad OR n > 0;
    END LOOP;
    IF NOT bad THEN
        RETURN QUERY SELECT 'tenant.citus_shard_policies', 'ok', NULL::text,
                            'On the coordinator and every placement of every isolated or soft-delete Citus table, row-level security is forced and every policy confines to the tenant''s (live) rows.', NULL::text;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._citus_checks(name[]) IS
'Internal: preflight rows for a Citus coordinator (rowkeeper preloaded, no other policy on isolated Citus tables, the policies on every shard placement); none when Citus is not installed.';
