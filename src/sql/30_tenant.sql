
-- src/sql/30_tenant.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Tenant isolation
--
-- enable_tenant_isolation(tbl, column) puts a table under row-level security
-- that confines every role without BYPASSRLS (the owner included: FORCE) to
-- the rows of the current tenant, rowkeeper.current_tenant*():
--
--   policy rowkeeper_tenant_isolation  AS RESTRICTIVE FOR ALL TO PUBLIC
--       USING (col = rowkeeper.current_tenant_<type>())  WITH CHECK (same)
--     The guarantee.  Restrictive policies are ANDed with everything else,
--     so no permissive policy added by the user or by another rowkeeper
--     capability can widen access beyond the tenant, and further
--     restrictive policies (soft delete hiding deleted rows) narrow it.
--   policy rowkeeper_tenant_access     AS PERMISSIVE FOR ALL TO PUBLIC
--       USING (same predicate) WITH CHECK (same)    (grant_access => true)
--     RLS denies everything unless some permissive policy allows it; this
--     one allows the tenant's rows.  It repeats the predicate instead of
--     allowing every row (true) so that the pair means the same whether the
--     first policy is restrictive or not: Citus copies policies to the
--     shards without AS RESTRICTIVE, where "isolation OR true" would be
--     every row and "isolation OR isolation" is the tenant's (see
--     src/citus.c).  The price on one node is a second WITH CHECK
--     expression per INSERT and UPDATE.  With grant_access => false the
--     table's own permissive policies decide which of the tenant's rows are
--     reachable (the restrictive one still confines them to the tenant; on
--     Citus shards it cannot, and preflight() fails on such a table).
--     On a Citus table with soft delete both policies USING also hide the
--     deleted rows (rowkeeper._citus_policies(), 35_citus.sql).
--   DEFAULT rowkeeper.current_tenant_<type>() on the column: filled on
--     INSERT when omitted (an explicit other tenant fails WITH CHECK).
--   trigger rowkeeper_tenant_immutable BEFORE UPDATE OF col: the column
--     never changes, for BYPASSRLS roles too.  Its argument is the column
--     name: the listing view reads the configuration from it.
--   an index whose first column is the tenant column (created unless one
--     exists, with create_index => true; required otherwise).
--
-- The policies hold no subquery (Citus rejects sublinks in policies); the
-- typed C function is STABLE and compares with a value of the column's own
-- type, so the column's index is used.  How RLS was set before is recorded
-- in the comment of the restrictive policy, so that disable puts it back.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION rowkeeper.current_tenant()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant';

COMMENT ON FUNCTION rowkeeper.current_tenant() IS
'The tenant of the current transaction (rowkeeper.tenant). Raises an error when none is set: never NULL, never all rows.';

CREATE OR REPLACE FUNCTION rowkeeper.current_tenant_uuid()
RETURNS uuid
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_uuid';

COMMENT ON FUNCTION rowkeeper.current_tenant_uuid() IS
'The current tenant as uuid, for policies on uuid tenant columns. Raises when none is set or it is not a uuid.';

CREATE OR REPLACE FUNCTION rowkeeper.current_tenant_bigint()
RETURNS bigint
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_bigint';

COMMENT ON FUNCTION rowkeeper.current_tenant_bigint() IS
'The current tenant as bigint, for policies on bigint tenant columns. Raises when none is set or it is not an integer.';

CREATE OR REPLACE FUNCTION rowkeeper.current_tenant_int()
RETURNS integer
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_int';

COMMENT ON FUNCTION rowkeeper.current_tenant_int() IS
'The current tenant as integer, for policies on integer tenant columns. Raises when none is set or it is not an integer.';

CREATE OR REPLACE FUNCTION rowkeeper.tenant_immutable_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'tenant_immutable_trigger';

COMMENT ON FUNCTION rowkeeper.tenant_immutable_trigger() IS
'BEFORE UPDATE OF <tenant column> row trigger: the tenant column never changes. Attached by rowkeeper.enable_tenant_isolation().';

CREATE OR REPLACE FUNCTION rowkeeper.set_tenant_token(token text)
RETURNS text
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'set_tenant_token';

COMMENT ON FUNCTION rowkeeper.set_tenant_token(text) IS
'Verify a signed tenant token (HMAC-SHA256 with rowkeeper.tenant_key, not expired) and set its tenant for the rest of the transaction; returns the tenant. The only way to set the tenant when rowkeeper.tenant_mode = token.';

CREATE OR REPLACE FUNCTION rowkeeper.sign_tenant_token(tenant text,
                                            expires_at timestamptz DEFAULT pg_catalog.now() + interval '5 minutes')
RETURNS text
LANGUAGE C VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'sign_tenant_token';

REVOKE ALL ON FUNCTION rowkeeper.sign_tenant_token(text, timestamptz) FROM PUBLIC;

COMMENT ON FUNCTION rowkeeper.sign_tenant_token(text, timestamptz) IS
'A tenant token for tenant, valid until expires_at, signed with rowkeeper.tenant_key. Only for roles that can read the key (superusers, pg_read_all_settings) and were granted EXECUTE.';

/*
 * The tenant function for a column type, or an error naming the types that
 * are supported.
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_function(tbl regclass, att pg_catalog.pg_attribute)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE att.atttypid
        WHEN 'uuid'::regtype THEN RETURN 'rowkeeper.current_tenant_uuid()';
        WHEN 'bigint'::regtype THEN RETURN 'rowkeeper.current_tenant_bigint()';
        WHEN 'integer'::regtype THEN RETURN 'rowkeeper.current_tenant_int()';
        WHEN 'text'::regtype THEN RETURN 'rowkeeper.current_tenant()';
        ELSE
            RAISE EXCEPTION USING
                ERRCODE = 'datatype_mismatch',
                MESSAGE = format('column %I of table %s has type %s', att.attname, tbl,
                                 pg_catalog.format_type(att.atttypid, att.atttypmod)),
                DETAIL = 'A tenant column must be uuid, bigint, integer or text.',
                HINT = format('ALTER TABLE %s ALTER COLUMN %I TYPE uuid (or bigint, integer, text)',
                              tbl, att.attname);
    END CASE;
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_function(regclass, pg_catalog.pg_attribute) IS
'Internal: the rowkeeper.current_tenant*() call that matches a tenant column''s type.';

/* The policy predicate: column = current tenant, compared in the column's type and collation. */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_predicate(tbl regclass, att pg_catalog.pg_attribute)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    coll text := '';
BEGIN
    IF att.atttypid = 'text'::regtype THEN
        SELECT format(' COLLATE %I.%I', n.nspname, c.collname) INTO coll
          FROM pg_catalog.pg_collation c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
         WHERE c.oid = att.attcollation;
    END IF;
    RETURN format('%I = %s%s', att.attname, rowkeeper._tenant_function(tbl, att), coll);
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_predicate(regclass, pg_catalog.pg_attribute) IS
'Internal: the tenant predicate of the policies on a table, as SQL text.';

/* Drop rowkeeper's tenant policies from one table, if there. */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_drop_policies(tbl regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pol name;
BEGIN
    FOR pol IN SELECT p.polname FROM pg_catalog.pg_policy p
                WHERE p.polrelid = tbl
                  AND p.polname IN ('rowkeeper_tenant_isolation', 'rowkeeper_tenant_access') LOOP
        EXECUTE format('DROP POLICY %I ON %s', pol, tbl);
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_drop_policies(regclass) IS
'Internal: drop the policies rowkeeper''s tenant isolation created on one table.';

/*
 * The tenant isolation of one table (or partition) as it is now: the
 * predicate of its policies (NULL when it is not isolated) and whether it
 * has rowkeeper_tenant_access (grant_access).  The predicate is made again
 * from the tenant column that the trigger rowkeeper_tenant_immutable names.
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_config(tbl regclass, OUT predicate text, OUT grant_access boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att pg_catalog.pg_attribute;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_policy p
                    WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_tenant_isolation') THEN
        RETURN;
    END IF;
    SELECT a.* INTO att
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_attribute a
        ON a.attrelid = t.tgrelid AND a.attname = (rowkeeper._trigger_args(t.tgargs))[1]::name
       AND a.attnum > 0 AND NOT a.attisdropped
     WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_tenant_immutable'
       AND t.tgfoid = 'rowkeeper.tenant_immutable_trigger()'::pg_catalog.regprocedure;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('the tenant isolation of table %s is incomplete', tbl),
            DETAIL = 'It has the policy rowkeeper_tenant_isolation but not the trigger rowkeeper_tenant_immutable that names its tenant column.',
            HINT = 'Call rowkeeper.enable_tenant_isolation() again on the table (on its partitioned table for a partition).';
    END IF;
    predicate := rowkeeper._tenant_predicate(tbl, att);
    grant_access := EXISTS (SELECT FROM pg_catalog.pg_policy p
                             WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_tenant_access');
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_config(regclass) IS
'Internal: the tenant isolation of one table as it is now: its policy predicate (NULL when not isolated) and whether it grants access.';

/* Every table (and partition) under rowkeeper tenant isolation. */
CREATE OR REPLACE VIEW rowkeeper.tenant_isolated_tables AS
SELECT c.oid::regclass                                      AS table_name,
       n.nspname                                            AS schema_name,
       c.relname                                            AS relname,
       tg.column_name                                       AS column_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod)      AS column_type,
       c.relrowsecurity                                     AS rls_enabled,
       c.relforcerowsecurity                                AS rls_forced,
       EXISTS (SELECT FROM pg_catalog.pg_policy q
                WHERE q.polrelid = c.oid AND q.polname = 'rowkeeper_tenant_access')
                                                            AS grant_access,
       coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE 'rowkeeper.current_tenant%', false)
                                                            AS fills_on_insert,
       EXISTS (SELECT FROM pg_catalog.pg_index i
                WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum)
                                                            AS indexed,
       CASE WHEN c.relispartition
            THEN (SELECT i.inhparent::regclass FROM pg_catalog.pg_inherits i
                   WHERE i.inhrelid = c.oid) END            AS partition_of
  FROM pg_catalog.pg_policy p
  JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL (
        SELECT (rowkeeper._trigger_args(t.tgargs))[1]::name AS column_name
          FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = c.oid AND t.tgname = 'rowkeeper_tenant_immutable'
           AND t.tgfoid = 'rowkeeper.tenant_immutable_trigger()'::pg_catalog.regprocedure) tg ON true
  LEFT JOIN pg_catalog.pg_attribute a
         ON a.attrelid = c.oid AND a.attname = tg.column_name AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE p.polname = 'rowkeeper_tenant_isolation';

GRANT SELECT ON rowkeeper.tenant_isolated_tables TO PUBLIC;

COMMENT ON VIEW rowkeeper.tenant_isolated_tables IS
'Tables and partitions under rowkeeper tenant isolation, with their tenant column and the state of RLS, default and index.';

/*
 * Remove what _tenant_apply() put on one table (not a partitioned tree:
 * the caller walks it).  Restores RLS to the state recorded when isolation
 * was first enabled.
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_remove(tbl regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    state text;
BEGIN
    SELECT pg_catalog.obj_description(p.oid, 'pg_policy') INTO state
      FROM pg_catalog.pg_policy p
     WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_tenant_isolation';
    IF (rowkeeper._citus_distribution_column(tbl)).is_citus THEN
        -- the tenant policies go, soft delete's take their form without a tenant
        PERFORM rowkeeper._citus_policies(tbl, NULL, NULL);
    ELSE
        PERFORM rowkeeper._tenant_drop_policies(tbl);
    END IF;
    -- soft delete's hiding policy still needs RLS (disable_soft_delete puts it back)
    IF state IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy p
                                          WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_soft_delete') THEN
        IF state NOT LIKE '%rls_was_enabled=true%' THEN
            EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
        END IF;
        IF state NOT LIKE '%rls_was_forced=true%' THEN
            EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
        END IF;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_remove(regclass) IS
'Internal: drop rowkeeper''s tenant policies from one table and restore its RLS settings.';

/* Enable and force RLS on one table (or partition) and (re)create the policies. */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_apply(tbl regclass, predicate text, grant_access boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    state text;
BEGIN
    -- RLS as the user had it before rowkeeper first touched the table
    SELECT pg_catalog.obj_description(p.oid, 'pg_policy') INTO state
      FROM pg_catalog.pg_policy p
     WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_tenant_isolation';
    IF state IS NULL THEN
        SELECT format('rowkeeper tenant isolation; before it: rls_was_enabled=%s, rls_was_forced=%s',
                      c.relrowsecurity::text, c.relforcerowsecurity::text) INTO state
          FROM pg_catalog.pg_class c WHERE c.oid = tbl;
    END IF;

    IF (rowkeeper._citus_distribution_column(tbl)).is_citus THEN
        -- with soft delete's policies, in the form that means the same on
        -- the shards (see rowkeeper._citus_policies())
        PERFORM rowkeeper._citus_policies(tbl, predicate, grant_access);
    ELSE
        PERFORM rowkeeper._tenant_drop_policies(tbl);
        EXECUTE format('CREATE POLICY rowkeeper_tenant_isolation ON %s AS RESTRICTIVE FOR ALL TO PUBLIC '
                       'USING (%s) WITH CHECK (%s)', tbl, predicate, predicate);
        EXECUTE format('COMMENT ON POLICY rowkeeper_tenant_isolation ON %s IS %L', tbl, state);
        IF grant_access THEN
            -- the predicate again, not true: Citus makes every policy on a
            -- shard permissive, and there the two are ORed (see the header)
            EXECUTE format('CREATE POLICY rowkeeper_tenant_access ON %s AS PERMISSIVE FOR ALL TO PUBLIC '
                           'USING (%s) WITH CHECK (%s)', tbl, predicate, predicate);
            EXECUTE format('COMMENT ON POLICY rowkeeper_tenant_access ON %s IS %L', tbl,
                           'rowkeeper tenant isolation: the current tenant''s rows are accessible (the same predicate as rowkeeper_tenant_isolation, so that the pair confines to the tenant where policies lose AS RESTRICTIVE, as on Citus shards)');
        END IF;
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_apply(regclass, text, boolean) IS
'Internal: enable and force RLS on one table and create rowkeeper''s tenant policies with the given predicate.';

CREATE OR REPLACE FUNCTION rowkeeper.disable_tenant_isolation(tbl regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.disable_tenant_isolation()';
    col name;
    part regclass;
    idx regclass;
    def text;
    unsafe_triggers text;
BEGIN
    PERFORM rowkeeper._require_owned_table(tbl, caller);
    IF (SELECT c.relispartition FROM pg_catalog.pg_class c WHERE c.oid = tbl) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'wrong_object_type',
            MESSAGE = format('%s is a partition', tbl),
            DETAIL = 'Tenant isolation is disabled on the partitioned table, for every partition at once.',
            HINT = format('Call %s on %s.', caller,
                          (SELECT i.inhparent::regclass FROM pg_catalog.pg_inherits i
                            WHERE i.inhrelid = tbl));
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_policy p
                    WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_tenant_isolation') THEN
        RAISE NOTICE 'tenant isolation is not enabled for table %, nothing to do', tbl;
        RETURN;
    END IF;

    SELECT (rowkeeper._trigger_args(t.tgargs))[1]::name INTO col
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_tenant_immutable'
       AND t.tgparentid = 0;

    FOR part IN SELECT tbl UNION ALL
                SELECT relid FROM pg_catalog.pg_partition_tree(tbl) WHERE relid <> tbl LOOP
        PERFORM rowkeeper._tenant_remove(part);
    END LOOP;
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_tenant_immutable') THEN
        unsafe_triggers := rowkeeper._citus_allow_triggers();
        EXECUTE format('DROP TRIGGER rowkeeper_tenant_immutable ON %s', tbl);
        PERFORM rowkeeper._citus_allow_triggers(unsafe_triggers);
    END IF;

    IF col IS NOT NULL THEN
        SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) INTO def
          FROM pg_catalog.pg_attrdef d
          JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
         WHERE d.adrelid = tbl AND a.attname = col;
        IF def LIKE 'rowkeeper.current_tenant%' THEN
            PERFORM rowkeeper._tenant_set_default(tbl, col, NULL);
        END IF;
    END IF;

    -- the index, if rowkeeper created it
    FOR idx IN SELECT i.indexrelid::regclass FROM pg_catalog.pg_index i
                WHERE i.indrelid = tbl
                  AND pg_catalog.obj_description(i.indexrelid, 'pg_class')
                      = 'rowkeeper tenant isolation: index on the tenant column' LOOP
        EXECUTE format('DROP INDEX %s', idx);
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper.disable_tenant_isolation(regclass) IS
'Remove exactly what enable_tenant_isolation() added: policies, the column default, the trigger, the index it created; RLS goes back to how it was.';

CREATE OR REPLACE FUNCTION rowkeeper.enable_tenant_isolation(tbl regclass,
                                                  column_name name DEFAULT 'tenant_id',
                                                  create_index boolean DEFAULT true,
                                                  grant_access boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.enable_tenant_isolation()';
    att pg_catalog.pg_attribute;
    fn text;
    predicate text;
    old_col name;
    def text;
    part regclass;
    idx name;
    unsafe_triggers text;
BEGIN
    PERFORM rowkeeper._require_owned_table(tbl, caller);
    IF (SELECT c.relispartition FROM pg_catalog.pg_class c WHERE c.oid = tbl) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'wrong_object_type',
            MESSAGE = format('%s is a partition', tbl),
            DETAIL = 'Tenant isolation is enabled on the partitioned table and reaches every partition.',
            HINT = format('Call %s on %s.', caller,
                          (SELECT i.inhparent::regclass FROM pg_catalog.pg_inherits i
                            WHERE i.inhrelid = tbl));
    END IF;
    att := rowkeeper._require_column(tbl, column_name, caller);
    fn := rowkeeper._tenant_function(tbl, att);
    predicate := rowkeeper._tenant_predicate(tbl, att);
    IF create_index IS NULL OR grant_access IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: options must not be NULL', caller),
            HINT = 'Leave an option out to get its default.';
    END IF;
    IF att.attgenerated <> '' OR att.attidentity <> '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_column_definition',
            MESSAGE = format('column %I of table %s is a generated or identity column', column_name, tbl),
            DETAIL = 'The tenant column is filled from the tenant context and compared with it.';
    END IF;

    -- The column default: ours, or none (a foreign default is not replaced silently).
    SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) INTO def
      FROM pg_catalog.pg_attrdef d
     WHERE d.adrelid = tbl AND d.adnum = att.attnum;
    IF def IS NOT NULL AND def NOT LIKE 'rowkeeper.current_tenant%' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('column %I of table %s already has a default', column_name, tbl),
            DETAIL = format('Its default is %s; tenant isolation fills the column from the tenant context.', def),
            HINT = format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', tbl, column_name);
    END IF;

    -- The index: an existing one led by the column, or one we create.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i
                    WHERE i.indrelid = tbl AND i.indkey[0] = att.attnum) THEN
        IF NOT create_index THEN
            RAISE EXCEPTION USING
                ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('table %s has no index on its tenant column %I', tbl, column_name),
                DETAIL = 'Every query on the table filters on the tenant column; without an index each is a full scan.',
                HINT = format('CREATE INDEX CONCURRENTLY ON %s (%I), or pass create_index => true.',
                              tbl, column_name);
        END IF;
        EXECUTE format('CREATE INDEX ON %s (%I)', tbl, column_name);
        SELECT i.indexrelid::regclass::text INTO idx
          FROM pg_catalog.pg_index i
         WHERE i.indrelid = tbl AND i.indkey[0] = att.attnum
         ORDER BY i.indexrelid DESC LIMIT 1;
        EXECUTE format('COMMENT ON INDEX %s IS %L', idx,
                       'rowkeeper tenant isolation: index on the tenant column');
    END IF;

    -- Enabled before on another column: that column's default and trigger go.
    SELECT (rowkeeper._trigger_args(t.tgargs))[1]::name INTO old_col
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_tenant_immutable' AND t.tgparentid = 0;
    IF old_col IS NOT NULL AND old_col <> column_name THEN
        IF (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
              FROM pg_catalog.pg_attrdef d
              JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
             WHERE d.adrelid = tbl AND a.attname = old_col) LIKE 'rowkeeper.current_tenant%' THEN
            PERFORM rowkeeper._tenant_set_default(tbl, old_col, NULL);
        END IF;
    END IF;

    PERFORM rowkeeper._tenant_set_default(tbl, column_name, fn);
    -- on a Citus table: triggers need citus.enable_unsafe_triggers
    unsafe_triggers := rowkeeper._citus_allow_triggers();
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_tenant_immutable') THEN
        EXECUTE format('DROP TRIGGER rowkeeper_tenant_immutable ON %s', tbl);
    END IF;
    EXECUTE format('CREATE TRIGGER rowkeeper_tenant_immutable BEFORE UPDATE OF %I ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION rowkeeper.tenant_immutable_trigger(%L)',
                   column_name, tbl, column_name);
    PERFORM rowkeeper._citus_allow_triggers(unsafe_triggers);

    -- Policies do not reach partitions queried directly: every partition
    -- gets its own.
    FOR part IN SELECT tbl UNION ALL
                SELECT relid FROM pg_catalog.pg_partition_tree(tbl) WHERE relid <> tbl LOOP
        PERFORM rowkeeper._tenant_apply(part, predicate, grant_access);
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_tenant_isolation(regclass, name, boolean, boolean) IS
'Put a table (and its partitions) under forced row-level security confining every role without BYPASSRLS to the current tenant''s rows; fill the tenant column on INSERT; keep it immutable. Idempotent.';

CREATE OR REPLACE FUNCTION rowkeeper.enable_tenant_isolation_in_schema(schema_name name,
                                                            column_name name DEFAULT 'tenant_id',
                                                            create_index boolean DEFAULT true,
                                                            grant_access boolean DEFAULT true)
RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = schema_name) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_schema_name',
            MESSAGE = format('schema %I does not exist', schema_name);
    END IF;
    FOR tbl IN SELECT * FROM rowkeeper._tables_with_column(schema_name, column_name) LOOP
        PERFORM rowkeeper.enable_tenant_isolation(tbl, column_name, create_index, grant_access);
        RETURN NEXT tbl;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_tenant_isolation_in_schema(name, name, boolean, boolean) IS
'enable_tenant_isolation() on every table of a schema that has the column; returns the tables. All or nothing.';

CREATE OR REPLACE FUNCTION rowkeeper.disable_tenant_isolation_in_schema(schema_name name)
RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
BEGIN
    FOR tbl IN SELECT t.table_name FROM rowkeeper.tenant_isolated_tables t
                WHERE t.schema_name = disable_tenant_isolation_in_schema.schema_name
                  AND t.partition_of IS NULL
                ORDER BY t.relname LOOP
        PERFORM rowkeeper.disable_tenant_isolation(tbl);
        RETURN NEXT tbl;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper.disable_tenant_isolation_in_schema(name) IS
'disable_tenant_isolation() on every table of a schema that has it; returns the tables.';

------------------------------------------------------------------------------
-- assert_isolated(): a leak probe users can run in their own CI
------------------------------------------------------------------------------

/*
 * Set the tenant for the probes: set_config() in context mode; in token
 * mode a token signed with the key (so the caller must be able to sign).
 */
CREATE OR REPLACE FUNCTION rowkeeper._probe_set_tenant(tenant text, token text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF token IS NOT NULL THEN
        PERFORM rowkeeper.set_tenant_token(token);
    ELSE
        PERFORM pg_catalog.set_config('rowkeeper.tenant', tenant, true);
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._probe_set_tenant(text, text) IS
'Internal: set the tenant for assert_isolated(), through a token in token mode.';

/*
 * The two tenants assert_isolated() probes with: tenant_a and tenant_b when
 * given, or the first two found in the table (read as the caller, who
 * should bypass RLS for that), or made-up ones of the column's type.
 */
CREATE OR REPLACE FUNCTION rowkeeper._probe_tenants(tbl regclass, col name, typ text,
                                         tenant_a text, tenant_b text)
RETURNS text[]
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenants text[];
    seen text[];
    i int;
BEGIN
    tenants := ARRAY[tenant_a, tenant_b];
    IF tenant_a IS NULL OR tenant_b IS NULL THEN
        BEGIN
            EXECUTE format('SELECT array_agg(t::text ORDER BY t::text) FROM '
                           '(SELECT DISTINCT %I AS t FROM %s WHERE %I IS NOT NULL LIMIT 3) s',
                           col, tbl, col) INTO seen;
        EXCEPTION WHEN OTHERS THEN
            seen := NULL;       -- the caller cannot read every tenant
        END;
        FOR i IN 1..coalesce(pg_catalog.array_length(seen, 1), 0) LOOP
            IF tenants[1] IS NULL AND seen[i] IS DISTINCT FROM tenants[2] THEN
                tenants[1] := seen[i];
            ELSIF tenants[2] IS NULL AND seen[i] IS DISTINCT FROM tenants[1] THEN
                tenants[2] := seen[i];
            END IF;
        END LOOP;
        FOR i IN 1..2 LOOP
            IF tenants[i] IS NULL THEN
                tenants[i] := CASE typ
                    WHEN 'uuid' THEN pg_catalog.gen_random_uuid()::text
                    WHEN 'text' THEN 'rowkeeper-probe-' || i
                    ELSE (-987654320 - i)::text END;
            END IF;
        END LOOP;
    END IF;
    RETURN tenants;
END;
$$;

COMMENT ON FUNCTION rowkeeper._probe_tenants(regclass, name, text, text, text) IS
'Internal: the two tenants assert_isolated() probes with (given, found in the table, or made up).';

CREATE OR REPLACE FUNCTION rowkeeper.assert_isolated(tbl regclass,
                                          tenant_a text DEFAULT NULL,
                                          tenant_b text DEFAULT NULL,
                                          probe_role regrole DEFAULT NULL)
RETURNS TABLE (check_name text, ok boolean, detail text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.assert_isolated()';
    cfg record;
    col name;
    typ text;
    role_name name;
    role_bypasses boolean;
    tenants text[];
    -- the steps are functions: _probe_tenants() picks the two tenants,
    tokens text[] := ARRAY[NULL, NULL]::text[];
    names text[] := '{}';
    oks boolean[] := '{}';
    details text[] := '{}';
    -- _isolation_probes() runs the probes as probe_role
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the table must not be NULL', caller);
    END IF;
    SELECT * INTO cfg FROM rowkeeper.tenant_isolated_tables t WHERE t.table_name = tbl;
    IF NOT FOUND OR cfg.column_name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('table %s is not under rowkeeper tenant isolation', tbl),
            HINT = format('SELECT rowkeeper.enable_tenant_isolation(%L)', tbl::text);
    END IF;
    col := cfg.column_name;
    typ := cfg.column_type;

    -- The probes run as a role subject to RLS: by default the table owner
    -- (FORCE makes it subject), never a role that bypasses RLS.
    IF probe_role IS NULL THEN
        SELECT c.relowner::regrole INTO probe_role FROM pg_catalog.pg_class c WHERE c.oid = tbl;
    END IF;
    SELECT r.rolname, r.rolsuper OR r.rolbypassrls INTO role_name, role_bypasses
      FROM pg_catalog.pg_roles r WHERE r.oid = probe_role;
    IF role_bypasses THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('role %I bypasses row-level security', role_name),
            DETAIL = 'Probes run as a superuser or a role with BYPASSRLS see every row, so they prove nothing.',
            HINT = 'Pass probe_role => the application role (the caller must be a member of it, or a superuser).';
    END IF;

    -- Two tenants: given, or found in the table, or made up.
    tenants := rowkeeper._probe_tenants(tbl, col, typ, tenant_a, tenant_b);
    IF tenants[1] = tenants[2] THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: tenant_a and tenant_b must differ', caller);
    END IF;
    IF pg_catalog.current_setting('rowkeeper.tenant_mode') = 'token' THEN
        tokens := ARRAY[rowkeeper.sign_tenant_token(tenants[1], pg_catalog.now() + interval '1 minute'),
                        rowkeeper.sign_tenant_token(tenants[2], pg_catalog.now() + interval '1 minute')];
    END IF;

    names := names || 'rls enabled and forced'::text;
    oks := oks || (cfg.rls_enabled AND cfg.rls_forced);
    details := details || format('enabled: %s, forced: %s', cfg.rls_enabled, cfg.rls_forced);

    -- The probes run as probe_role in a security-restricted operation
    -- (src/run_as.c; never SET ROLE, which the table owner's triggers
    -- could RESET to act as the caller), and everything they do is rolled
    -- back.
    SELECT p.names, p.oks, p.details INTO names, oks, details
      FROM rowkeeper._isolation_probes(tbl, probe_role, col, typ, tenants, tokens,
                                       names, oks, details) p;

    RETURN QUERY SELECT * FROM unnest(names, oks, details);   -- multi-argument form: not schema-qualifiable
END;
$$;

COMMENT ON FUNCTION rowkeeper.assert_isolated(regclass, text, text, regrole) IS
'Probe a table for tenant leaks as a role subject to RLS (default: the owner): no tenant, tenant A, tenant B; reads, updates, deletes, inserts and moves across tenants. One row per check; everything it does is rolled back.';

/*
 * assert_isolated()'s probe with no tenant set: reading must be refused.
 * Runs as the probe role, inside _isolation_probes_body()'s rolled-back
 * subtransaction; appends its entry to names / oks / details.
 */
CREATE OR REPLACE FUNCTION rowkeeper._probe_no_tenant(tbl regclass,
                                           INOUT names text[], INOUT oks boolean[],
                                           INOUT details text[])
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    err text;
BEGIN
    PERFORM pg_catalog.set_config('rowkeeper.tenant', '', true);
    BEGIN
        EXECUTE format('SELECT count(*) FROM %s', tbl) INTO n;
        names := names || 'no tenant: access refused'::text;
        oks := oks || false;
        details := details || format('LEAK: %s rows visible with no tenant set', n);
    EXCEPTION WHEN insufficient_privilege THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
        names := names || 'no tenant: access refused'::text;
        oks := oks || (err = 'no tenant is set');
        details := details || err;
    END;
END;
$$;

COMMENT ON FUNCTION rowkeeper._probe_no_tenant(regclass, text[], boolean[], text[]) IS
'Internal: the no-tenant probe of assert_isolated() (run as the probe role; rolled back by its caller).';

/*
 * assert_isolated()'s probes as tenant me against tenant other: it sees
 * only its rows, cannot update or delete the other's, cannot insert a row
 * for the other or move one of its rows there.  Runs as the probe role,
 * inside _isolation_probes_body()'s rolled-back subtransaction; appends
 * one entry per check to names / oks / details.
 */
CREATE OR REPLACE FUNCTION rowkeeper._probe_as_tenant(tbl regclass, col name, typ text,
                                           me text, other text, token text,
                                           INOUT names text[], INOUT oks boolean[],
                                           INOUT details text[])
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n_visible bigint;
    n_foreign bigint;
    n bigint;
    err text;
    code text;
    state text;
BEGIN
    PERFORM rowkeeper._probe_set_tenant(me, token);

    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE %I IS DISTINCT FROM $1::%s) FROM %s',
                   col, typ, tbl) INTO n_visible, n_foreign USING me;
    names := names || format('tenant %s sees only its rows', me);
    oks := oks || (n_foreign = 0);
    details := details || format('%s rows visible, %s of another tenant', n_visible, n_foreign);

    -- an error here means the statement reached a row of the other
    -- tenant (a foreign key or trigger objected): a leak as well
    BEGIN
        EXECUTE format('WITH u AS (UPDATE %s SET %I = %I WHERE %I = $1::%s RETURNING 1) '
                       'SELECT count(*) FROM u', tbl, col, col, col, typ) INTO n USING other;
        state := CASE WHEN n = 0 THEN '0 rows updated' ELSE format('LEAK: %s rows updated', n) END;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, code = RETURNED_SQLSTATE;
        -- a role without the privilege cannot update any row
        state := CASE WHEN code = '42501' AND err LIKE 'permission denied%'
                      THEN 'refused: ' || err
                      ELSE 'LEAK: reached rows of the other tenant: ' || err END;
    END;
    names := names || format('tenant %s cannot update rows of %s', me, other);
    oks := oks || (state = '0 rows updated' OR state LIKE 'refused: permission denied%');
    details := details || state;

    BEGIN
        EXECUTE format('WITH d AS (DELETE FROM %s WHERE %I = $1::%s RETURNING 1) '
                       'SELECT count(*) FROM d', tbl, col, typ) INTO n USING other;
        state := CASE WHEN n = 0 THEN '0 rows deleted' ELSE format('LEAK: %s rows deleted', n) END;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, code = RETURNED_SQLSTATE;
        state := CASE WHEN code = '42501' AND err LIKE 'permission denied%'
                      THEN 'refused: ' || err
                      ELSE 'LEAK: reached rows of the other tenant: ' || err END;
    END;
    names := names || format('tenant %s cannot delete rows of %s', me, other);
    oks := oks || (state = '0 rows deleted' OR state LIKE 'refused: permission denied%');
    details := details || state;

    -- a copy of a visible row, re-labelled for the other tenant
    IF n_visible > 0 THEN
        BEGIN
            EXECUTE format('INSERT INTO %1$s SELECT (pg_catalog.jsonb_populate_record(NULL::%1$s, '
                           'pg_catalog.to_jsonb(t) || pg_catalog.jsonb_build_object(%2$L, $1))).* '
                           'FROM %1$s t LIMIT 1', tbl, col) USING other;
            state := 'LEAK: a row for another tenant was inserted';
        EXCEPTION WHEN insufficient_privilege THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
            state := CASE WHEN err LIKE 'new row violates row-level security policy%'
                               OR err LIKE 'permission denied%'
                          THEN 'refused: ' || err ELSE 'inconclusive: ' || err END;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
            state := 'inconclusive: ' || err;
        END;
        names := names || format('tenant %s cannot insert rows for %s', me, other);
        oks := oks || (state LIKE 'refused: %');
        details := details || state;

        BEGIN
            EXECUTE format('UPDATE %s SET %I = $1::%s WHERE ctid = (SELECT ctid FROM %s LIMIT 1)',
                           tbl, col, typ, tbl) USING other;
            state := 'LEAK: a row was moved to another tenant';
        EXCEPTION WHEN insufficient_privilege OR integrity_constraint_violation THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
            state := 'refused: ' || err;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
            state := 'inconclusive: ' || err;
        END;
        names := names || format('tenant %s cannot move a row to %s', me, other);
        oks := oks || (state LIKE 'refused: %');
        details := details || state;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._probe_as_tenant(regclass, name, text, text, text, text, text[], boolean[], text[]) IS
'Internal: the probes of assert_isolated() as one tenant against the other (run as the probe role; rolled back by its caller).';

/*
 * The probes of assert_isolated(), as the role _isolation_probes() runs
 * them as: no tenant (_probe_no_tenant()), then each tenant in turn
 * reading, updating, deleting, inserting and moving rows across tenants
 * (_probe_as_tenant()); one entry per check appended to names / oks /
 * details.  All of it is rolled back.
 */
CREATE OR REPLACE FUNCTION rowkeeper._isolation_probes_body(tbl regclass, probe_role regrole, col name, typ text,
                                                 tenants text[], tokens text[],
                                                 INOUT names text[], INOUT oks boolean[],
                                                 INOUT details text[])
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    i int;
BEGIN
    -- Everything below runs in a subtransaction that is rolled back at the
    -- end: every probe write is undone.
    BEGIN
        SELECT p.names, p.oks, p.details INTO names, oks, details
          FROM rowkeeper._probe_no_tenant(tbl, names, oks, details) p;
        FOR i IN 1..2 LOOP
            SELECT p.names, p.oks, p.details INTO names, oks, details
              FROM rowkeeper._probe_as_tenant(tbl, col, typ, tenants[i], tenants[3 - i], tokens[i],
                                              names, oks, details) p;
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'RKPRB', MESSAGE = 'rowkeeper probe done';
    EXCEPTION WHEN SQLSTATE 'RKPRB' THEN
        NULL;   -- everything the probes did is rolled back
    END;
END;
$$;

COMMENT ON FUNCTION rowkeeper._isolation_probes_body(regclass, regrole, name, text, text[], text[], text[], boolean[], text[]) IS
'Internal: the probes of assert_isolated(), run by _isolation_probes() as the probe role; rolled back.';

CREATE OR REPLACE FUNCTION rowkeeper._isolation_probes(tbl regclass, probe_role regrole, col name, typ text,
                                            tenants text[], tokens text[],
                                            INOUT names text[], INOUT oks boolean[],
                                            INOUT details text[])
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', '_isolation_probes';

COMMENT ON FUNCTION rowkeeper._isolation_probes(regclass, regrole, name, text, text[], text[], text[], boolean[], text[]) IS
'Internal: run the probes of assert_isolated() as probe_role in a security-restricted operation (the caller must be able to act as that role).';

------------------------------------------------------------------------------
-- Safety checks (for the preflight): what tenant isolation cannot enforce
------------------------------------------------------------------------------

/*
 * Tenant tables: tables (partitions included) under rowkeeper tenant
 * isolation, and every other table outside the system schemas that has a
 * column named column_name.
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_tables(column_name name)
RETURNS TABLE (tbl regclass, tenant_attnum int2, owner oid, isolated boolean)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass, a.attnum, c.relowner,
           EXISTS (SELECT FROM rowkeeper.tenant_isolated_tables t WHERE t.table_name = c.oid)
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN rowkeeper.tenant_isolated_tables t ON t.table_name = c.oid
     WHERE c.relkind IN ('r', 'p')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rowkeeper')
       AND n.nspname NOT LIKE 'pg\_toast%'
       AND a.attname = coalesce(t.column_name, _tenant_tables.column_name)
$$;

COMMENT ON FUNCTION rowkeeper._tenant_tables(name) IS
'Internal: tables under tenant isolation or having the tenant column, with that column''s number.';

/*
 * The application roles tenant_safety_checks() looks at: app_roles when
 * given, else every role granted a privilege on a tenant table other than
 * its owner, and the login roles in them.
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_app_roles(column_name name, app_roles regrole[])
RETURNS oid[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    apps oid[];
BEGIN
    -- Application roles: given, or every role granted a privilege on a
    -- tenant table other than its owner, and the login roles in them.
    IF app_roles IS NOT NULL THEN
        apps := app_roles::oid[];
    ELSE
        SELECT coalesce(array_agg(DISTINCT r.oid), '{}') INTO apps
          FROM rowkeeper._tenant_tables(column_name) tt
          JOIN pg_catalog.pg_class c ON c.oid = tt.tbl
         CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) acl
          JOIN pg_catalog.pg_roles r
            ON r.oid = acl.grantee
            OR (r.rolcanlogin AND NOT r.rolsuper AND acl.grantee <> 0
                AND pg_catalog.pg_has_role(r.oid, acl.grantee, 'USAGE'))
         WHERE acl.grantee <> c.relowner AND acl.grantee <> 0;
    END IF;
    RETURN apps;
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_app_roles(name, regrole[]) IS
'Internal: the application roles of tenant_safety_checks(): the given ones, or the grantees of tenant tables and their login members.';

/*
 * tenant_safety_checks() group "tables": every tenant table is under forced
 * tenant isolation (check 1).
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_check_tables(column_name name)
RETURNS TABLE (check_name text, status text, object text, detail text, hint text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
BEGIN
    -- 1. every tenant table is isolated: RLS enabled and forced, policies in place
    RETURN QUERY
    SELECT 'tenant_table_not_isolated', 'fail', tt.tbl::text,
           format('Table %s has the tenant column %I but %s.', tt.tbl, a.attname,
                  CASE WHEN NOT tt.isolated THEN 'no rowkeeper tenant isolation'
                       WHEN NOT c.relrowsecurity THEN 'row-level security is disabled'
                       ELSE 'row-level security is not forced (its owner sees every tenant)' END),
           CASE WHEN c.relispartition
                THEN format('Call rowkeeper.enable_tenant_isolation() again on its partitioned table %s: it reaches new partitions.',
                            (SELECT i.inhparent::regclass FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid))
                ELSE format('SELECT rowkeeper.enable_tenant_isolation(%L, %L);', tt.tbl::text, a.attname) END
      FROM rowkeeper._tenant_tables(column_name) tt
      JOIN pg_catalog.pg_class c ON c.oid = tt.tbl
      JOIN pg_catalog.pg_attribute a ON a.attrelid = tt.tbl AND a.attnum = tt.tenant_attnum
     WHERE NOT (tt.isolated AND c.relrowsecurity AND c.relforcerowsecurity)
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'tenant_table_not_isolated', 'ok', NULL::text,
                            'Every table with a tenant column is under forced tenant isolation.', NULL::text;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_check_tables(name) IS
'Internal: every tenant table is under forced tenant isolation (check 1); rows of tenant_safety_checks().';

/*
 * tenant_safety_checks() group "roles": application roles that bypass RLS,
 * own a tenant table or may TRUNCATE one (checks 2-4).
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_check_roles(column_name name, apps oid[])
RETURNS TABLE (check_name text, status text, object text, detail text, hint text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
BEGIN
    -- 2. application roles that bypass RLS
    RETURN QUERY
    SELECT 'app_role_bypasses_rls', 'fail', r.rolname::text,
           format('Role %I is %s: row-level security does not apply to it.', r.rolname,
                  CASE WHEN r.rolsuper THEN 'a superuser' ELSE 'BYPASSRLS' END),
           format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS; keep a separate role for migrations and support tooling.', r.rolname)
      FROM pg_catalog.pg_roles r
     WHERE r.oid = ANY (apps) AND (r.rolsuper OR r.rolbypassrls)
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'app_role_bypasses_rls', 'ok', NULL::text,
                            format('%s application role(s); none is a superuser or has BYPASSRLS.',
                                   pg_catalog.cardinality(apps)), NULL::text;
    END IF;

    -- 3. application roles that own tenant tables (an owner can turn RLS off)
    RETURN QUERY
    SELECT 'app_role_owns_tenant_table', 'fail', format('%s: %s', r.rolname, tt.tbl),
           format('Role %I owns (or is a member of the owner of) %s and could ALTER TABLE ... NO FORCE / DISABLE ROW LEVEL SECURITY or drop the policies.',
                  r.rolname, tt.tbl),
           'Let a migration role own the tables; grant the application role only SELECT, INSERT, UPDATE, DELETE.'
      FROM rowkeeper._tenant_tables(column_name) tt
      JOIN pg_catalog.pg_roles r ON r.oid = ANY (apps)
     WHERE NOT r.rolsuper AND pg_catalog.pg_has_role(r.oid, tt.owner, 'USAGE')
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'app_role_owns_tenant_table', 'ok', NULL::text,
                            'No application role owns a tenant table.', NULL::text;
    END IF;

    -- 4. TRUNCATE ignores RLS
    RETURN QUERY
    SELECT 'app_role_can_truncate', 'fail', format('%s: %s', r.rolname, tt.tbl),
           format('Role %I may TRUNCATE %s, which empties it for every tenant: row-level security does not apply to TRUNCATE.',
                  r.rolname, tt.tbl),
           format('REVOKE TRUNCATE ON %s FROM %I;', tt.tbl, r.rolname)
      FROM rowkeeper._tenant_tables(column_name) tt
      JOIN pg_catalog.pg_roles r ON r.oid = ANY (apps)
     WHERE NOT r.rolsuper AND NOT pg_catalog.pg_has_role(r.oid, tt.owner, 'USAGE')
       AND pg_catalog.has_table_privilege(r.oid, tt.tbl, 'TRUNCATE')
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'app_role_can_truncate', 'ok', NULL::text,
                            'No application role may TRUNCATE a tenant table.', NULL::text;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_check_roles(name, oid[]) IS
'Internal: application roles that bypass RLS, own a tenant table or may TRUNCATE one (checks 2-4); rows of tenant_safety_checks().';

/*
 * tenant_safety_checks() group "schema": views without security_invoker,
 * unique keys and foreign keys without the tenant column (checks 5-7).
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_check_schema(column_name name)
RETURNS TABLE (check_name text, status text, object text, detail text, hint text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
BEGIN
    -- 5. views over tenant tables that run with their owner's rights
    RETURN QUERY
    SELECT DISTINCT 'view_without_security_invoker',
           CASE WHEN o.rolsuper OR o.rolbypassrls THEN 'fail' ELSE 'warn' END,
           v.oid::regclass::text,
           format('View %s reads tenant table %s with the rights of its owner %I%s.',
                  v.oid::regclass, tt.tbl, o.rolname,
                  CASE WHEN o.rolsuper OR o.rolbypassrls
                       THEN ', who bypasses row-level security: every tenant''s rows are visible through it'
                       ELSE ' (still filtered by tenant, but by the owner''s privileges and policies)' END),
           format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
      FROM rowkeeper._tenant_tables(column_name) tt
      JOIN pg_catalog.pg_depend d
        ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = tt.tbl
       AND d.classid = 'pg_catalog.pg_rewrite'::regclass
      JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid
      JOIN pg_catalog.pg_class v ON v.oid = w.ev_class AND v.relkind IN ('v', 'm')
      JOIN pg_catalog.pg_roles o ON o.oid = v.relowner
     WHERE v.oid <> tt.tbl
       AND NOT coalesce(v.reloptions @> '{security_invoker=true}'
                        OR v.reloptions @> '{security_invoker=on}'
                        OR v.reloptions @> '{security_invoker=1}', false)
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'view_without_security_invoker', 'ok', NULL::text,
                            'Every view over a tenant table is security_invoker.', NULL::text;
    END IF;

    -- 6. uniqueness across tenants leaks existence
    RETURN QUERY
    SELECT 'unique_without_tenant_column',
           CASE WHEN i.indisprimary THEN 'info' ELSE 'warn' END,
           i.indexrelid::regclass::text,
           format('Unique index %s on %s does not include the tenant column: inserting a value another tenant already has fails, which tells that it exists.%s',
                  i.indexrelid::regclass, tt.tbl,
                  CASE WHEN i.indisprimary
                       THEN ' Harmless for keys the database generates (identity, sequence, random uuid) and users never choose.'
                       ELSE '' END),
           'Include the tenant column in the key: UNIQUE (tenant_id, ...).'
      FROM rowkeeper._tenant_tables(column_name) tt
      JOIN pg_catalog.pg_index i ON i.indrelid = tt.tbl AND i.indisunique
      JOIN pg_catalog.pg_class c ON c.oid = tt.tbl
     WHERE NOT (tt.tenant_attnum = ANY (i.indkey::int2[]))
       AND NOT c.relispartition
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'unique_without_tenant_column', 'ok', NULL::text,
                            'Every unique index on a tenant table includes the tenant column.', NULL::text;
    END IF;

    -- 7. foreign keys checked across tenants
    RETURN QUERY
    SELECT 'foreign_key_without_tenant_column', 'warn', format('%s on %s', k.conname, k.conrelid::regclass),
           format('Foreign key %I of %s does not include the tenant column on both sides: a row can reference another tenant''s row, and the error for a missing one tells which exist.',
                  k.conname, k.conrelid::regclass),
           'Reference (tenant_id, id) with FOREIGN KEY (tenant_id, parent_id) REFERENCES parent (tenant_id, id).'
      FROM pg_catalog.pg_constraint k
      LEFT JOIN rowkeeper._tenant_tables(column_name) src ON src.tbl = k.conrelid
      LEFT JOIN rowkeeper._tenant_tables(column_name) dst ON dst.tbl = k.confrelid
     WHERE k.contype = 'f' AND k.conparentid = 0
       AND dst.tbl IS NOT NULL      -- references into tenant data
       AND NOT (src.tbl IS NOT NULL AND dst.tbl IS NOT NULL
                AND src.tenant_attnum = ANY (k.conkey)
                AND dst.tenant_attnum = ANY (k.confkey)
                AND pg_catalog.array_position(k.conkey, src.tenant_attnum)
                    = pg_catalog.array_position(k.confkey, dst.tenant_attnum))
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'foreign_key_without_tenant_column', 'ok', NULL::text,
                            'Every foreign key into a tenant table matches on the tenant column.', NULL::text;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_check_schema(name) IS
'Internal: views without security_invoker, unique keys and foreign keys without the tenant column (checks 5-7); rows of tenant_safety_checks().';

/*
 * tenant_safety_checks() group "settings": default tenants in role or
 * database settings, the tenant mode (checks 8-9).
 */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_check_settings()
RETURNS TABLE (check_name text, status text, object text, detail text, hint text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
BEGIN
    -- 8. a default tenant for a role or database defeats fail-closed
    RETURN QUERY
    SELECT 'tenant_in_role_settings', 'fail',
           format('%s%s', coalesce('role ' || r.rolname, 'all roles'), coalesce(' in database ' || db.datname, '')),
           format('%s sets rowkeeper.tenant by default, so sessions start with a tenant instead of none.', s),
           format('ALTER ROLE ... RESET rowkeeper.tenant (or ALTER DATABASE ... RESET rowkeeper.tenant).')
      FROM pg_catalog.pg_db_role_setting rs
     CROSS JOIN LATERAL pg_catalog.unnest(rs.setconfig) s
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = rs.setrole
      LEFT JOIN pg_catalog.pg_database db ON db.oid = rs.setdatabase
     WHERE pg_catalog.split_part(s, '=', 1) = 'rowkeeper.tenant'
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'tenant_in_role_settings', 'ok', NULL::text,
                            'No role or database sets a default tenant.', NULL::text;
    END IF;

    -- 9. who can choose the tenant
    RETURN QUERY
    SELECT 'tenant_mode',
           CASE WHEN pg_catalog.current_setting('rowkeeper.tenant_mode') = 'token' THEN 'ok' ELSE 'warn' END,
           'rowkeeper.tenant_mode',
           CASE WHEN pg_catalog.current_setting('rowkeeper.tenant_mode') = 'token'
                THEN 'The tenant can only be set with a signed token.'
                ELSE 'Any SQL the application runs can set rowkeeper.tenant: an SQL injection can switch tenants.' END,
           CASE WHEN pg_catalog.current_setting('rowkeeper.tenant_mode') = 'token' THEN NULL
                ELSE 'Set rowkeeper.tenant_key and rowkeeper.tenant_mode = token, and have the application call rowkeeper.set_tenant_token().' END;
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_check_settings() IS
'Internal: default tenants in role or database settings, the tenant mode (checks 8-9); rows of tenant_safety_checks().';

CREATE OR REPLACE FUNCTION rowkeeper.tenant_safety_checks(column_name name DEFAULT 'tenant_id',
                                               app_roles regrole[] DEFAULT NULL)
RETURNS TABLE (check_name text, status text, object text, detail text, hint text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    apps oid[];     -- the application roles the role checks look at
    -- each group of checks is its own function, rowkeeper._tenant_check_*()
BEGIN
    IF column_name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.tenant_safety_checks(): the column name must not be NULL';
    END IF;

    apps := rowkeeper._tenant_app_roles(column_name, app_roles);

    RETURN QUERY SELECT * FROM rowkeeper._tenant_check_tables(column_name);
    RETURN QUERY SELECT * FROM rowkeeper._tenant_check_roles(column_name, apps);
    RETURN QUERY SELECT * FROM rowkeeper._tenant_check_schema(column_name);
    RETURN QUERY SELECT * FROM rowkeeper._tenant_check_settings();
END;
$$;

COMMENT ON FUNCTION rowkeeper.tenant_safety_checks(name, regrole[]) IS
'What tenant isolation cannot enforce by itself: unisolated tenant tables, application roles with BYPASSRLS/superuser/ownership/TRUNCATE, views without security_invoker, unique keys and foreign keys without the tenant column, default tenants, the tenant mode. One row per finding (fail/warn), one ok row per clean check.';
