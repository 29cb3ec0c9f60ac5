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
--       USING (same) WITH CHECK (same)              (grant_access => true)
--     RLS denies everything unless some permissive policy allows it; this
--     one allows the tenant's rows.  With grant_access => false the table's
--     own permissive policies decide which of the tenant's rows are
--     reachable (the restrictive one still confines them to the tenant).
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

CREATE FUNCTION rowkeeper.current_tenant()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant';

COMMENT ON FUNCTION rowkeeper.current_tenant() IS
'The tenant of the current transaction (rowkeeper.tenant). Raises an error when none is set: never NULL, never all rows.';

CREATE FUNCTION rowkeeper.current_tenant_uuid()
RETURNS uuid
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_typed';

COMMENT ON FUNCTION rowkeeper.current_tenant_uuid() IS
'The current tenant as uuid, for policies on uuid tenant columns. Raises when none is set or it is not a uuid.';

CREATE FUNCTION rowkeeper.current_tenant_bigint()
RETURNS bigint
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_typed';

COMMENT ON FUNCTION rowkeeper.current_tenant_bigint() IS
'The current tenant as bigint, for policies on bigint tenant columns. Raises when none is set or it is not an integer.';

CREATE FUNCTION rowkeeper.current_tenant_int()
RETURNS integer
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_typed';

COMMENT ON FUNCTION rowkeeper.current_tenant_int() IS
'The current tenant as integer, for policies on integer tenant columns. Raises when none is set or it is not an integer.';

CREATE FUNCTION rowkeeper.tenant_immutable_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'tenant_immutable_trigger';

COMMENT ON FUNCTION rowkeeper.tenant_immutable_trigger() IS
'BEFORE UPDATE OF <tenant column> row trigger: the tenant column never changes. Attached by rowkeeper.enable_tenant_isolation().';

CREATE FUNCTION rowkeeper.set_tenant_token(token text)
RETURNS text
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'set_tenant_token';

COMMENT ON FUNCTION rowkeeper.set_tenant_token(text) IS
'Verify a signed tenant token (HMAC-SHA256 with rowkeeper.tenant_key, not expired) and set its tenant for the rest of the transaction; returns the tenant. The only way to set the tenant when rowkeeper.tenant_mode = token.';

CREATE FUNCTION rowkeeper.sign_tenant_token(tenant text,
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
CREATE FUNCTION rowkeeper._tenant_function(tbl regclass, att pg_catalog.pg_attribute)
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
CREATE FUNCTION rowkeeper._tenant_predicate(tbl regclass, att pg_catalog.pg_attribute)
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
CREATE FUNCTION rowkeeper._tenant_drop_policies(tbl regclass)
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

/* Every table (and partition) under rowkeeper tenant isolation. */
CREATE VIEW rowkeeper.tenant_isolated_tables AS
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
CREATE FUNCTION rowkeeper._tenant_remove(tbl regclass)
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
    PERFORM rowkeeper._tenant_drop_policies(tbl);
    IF state IS NOT NULL THEN
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
CREATE FUNCTION rowkeeper._tenant_apply(tbl regclass, predicate text, grant_access boolean)
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

    PERFORM rowkeeper._tenant_drop_policies(tbl);
    EXECUTE format('CREATE POLICY rowkeeper_tenant_isolation ON %s AS RESTRICTIVE FOR ALL TO PUBLIC '
                   'USING (%s) WITH CHECK (%s)', tbl, predicate, predicate);
    EXECUTE format('COMMENT ON POLICY rowkeeper_tenant_isolation ON %s IS %L', tbl, state);
    IF grant_access THEN
        EXECUTE format('CREATE POLICY rowkeeper_tenant_access ON %s AS PERMISSIVE FOR ALL TO PUBLIC '
                       'USING (%s) WITH CHECK (%s)', tbl, predicate, predicate);
        EXECUTE format('COMMENT ON POLICY rowkeeper_tenant_access ON %s IS %L', tbl,
                       'rowkeeper tenant isolation: the current tenant''s rows are accessible');
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
END;
$$;

COMMENT ON FUNCTION rowkeeper._tenant_apply(regclass, text, boolean) IS
'Internal: enable and force RLS on one table and create rowkeeper''s tenant policies with the given predicate.';

CREATE FUNCTION rowkeeper.disable_tenant_isolation(tbl regclass)
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
BEGIN
    PERFORM rowkeeper._require_owned_table(tbl, caller);
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
        EXECUTE format('DROP TRIGGER rowkeeper_tenant_immutable ON %s', tbl);
    END IF;

    IF col IS NOT NULL THEN
        SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) INTO def
          FROM pg_catalog.pg_attrdef d
          JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
         WHERE d.adrelid = tbl AND a.attname = col;
        IF def LIKE 'rowkeeper.current_tenant%' THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', tbl, col);
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

CREATE FUNCTION rowkeeper.enable_tenant_isolation(tbl regclass,
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
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', tbl, old_col);
        END IF;
    END IF;

    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', tbl, column_name, fn);
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_tenant_immutable') THEN
        EXECUTE format('DROP TRIGGER rowkeeper_tenant_immutable ON %s', tbl);
    END IF;
    EXECUTE format('CREATE TRIGGER rowkeeper_tenant_immutable BEFORE UPDATE OF %I ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION rowkeeper.tenant_immutable_trigger(%L)',
                   column_name, tbl, column_name);

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

CREATE FUNCTION rowkeeper.enable_tenant_isolation_in_schema(schema_name name,
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

CREATE FUNCTION rowkeeper.disable_tenant_isolation_in_schema(schema_name name)
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
