
-- src/sql/20_soft_delete.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Soft delete (issue 5; redesigned in issue 16: the table keeps its name)
--
-- enable_soft_delete(t) leaves t an ordinary table under its own name, so
-- migrations (ALTER TABLE, CREATE INDEX, foreign keys to it), schema readers
-- and grants work as on any table.  What it adds:
--   policy rowkeeper_soft_delete  AS RESTRICTIVE FOR ALL TO PUBLIC
--       USING (deleted_at IS NULL OR rowkeeper._soft_delete_visible(t))
--       WITH CHECK (true)
--     Reads, UPDATEs and DELETEs reach no deleted row (FOR ALL: an UPDATE
--     that reads no column is not subject to SELECT policies); new rows
--     are not checked (the marking writes a deleted one).
--     Reads hide deleted rows on every path (joins, subqueries, views and
--     functions over the table, COPY, cursors, prepared statements), with
--     or without the library loaded; restrictive, so it narrows whatever
--     else applies (tenant isolation).  RLS is enabled and FORCEd (the
--     owner, often the application's role, is hidden from too); superusers
--     and BYPASSRLS roles see every row.  _soft_delete_visible() shows the
--     deleted rows to members of rowkeeper_see_deleted and the table's
--     owner after SET [LOCAL] rowkeeper.show_deleted = on, and inside
--     rowkeeper.hard_delete().
--   policy rowkeeper_soft_delete_access  AS PERMISSIVE FOR ALL TO PUBLIC
--       USING (true) WITH CHECK (true)
--     RLS denies everything unless a permissive policy allows it; created
--     unless the table has permissive policies of its own.
--   trigger rowkeeper_soft_delete  BEFORE DELETE (rowkeeper.soft_delete_guard)
--     The configuration (its arguments) and the guard: no physical delete
--     outside rowkeeper.hard_delete().  A DELETE on the table becomes the
--     marking UPDATE at parse analysis (src/soft_delete_rewrite.c) when the
--     library is loaded before the statement; otherwise the guard refuses it
--     with an error naming session_preload_libraries.  On a partitioned
--     table it also fires BEFORE UPDATE, to let an UPDATE move a row
--     between partitions.
--   trigger rowkeeper_soft_delete_cascade  AFTER UPDATE OF deleted_at
--       WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
--     Only while a foreign key references the table (21_soft_delete_cascade.sql).
--     Foreign keys that reference the table: ON DELETE CASCADE children on
--     soft-delete tables are marked with the same batch id, RESTRICT / NO
--     ACTION keys with live referencing rows block.  AFTER: a cascade within
--     one table (replies to a comment) finds the rows the statement itself
--     marked already marked, instead of changing them under it.
-- On a Citus table (distributed, reference or schema-sharded) the policies
-- take their Citus form (rowkeeper._citus_policies(), 35_citus.sql): Citus
-- copies policies to the shards without AS RESTRICTIVE, where the USING
-- conditions are ORed, so every USING of rowkeeper's policies on the table
-- is the whole read predicate (the tenant's with tenant isolation, AND the
-- hiding condition, which names the table by text there) and
-- rowkeeper_soft_delete_access is not "true".  A Citus table with policies
-- of its own, or that foreign keys reference, is refused.
-- The batch id is the transaction's, so restore() brings back a row with the
-- rows of its cascade and the children an ORM deleted itself in the same
-- transaction.  How RLS was set before is recorded in the comment of the
-- policy rowkeeper_soft_delete, so that disable puts it back.
------------------------------------------------------------------------------

-- CACHE: a backend takes its batch ids from a range it reserved, without
-- reading and WAL-logging the sequence's page on every soft DELETE (ids stay
-- unique; across sessions they are not in deletion order, and a session's
-- unused ids are skipped)
-- STATE BEGIN
CREATE SEQUENCE rowkeeper.soft_delete_batch_seq CACHE 100;
REVOKE ALL ON SEQUENCE rowkeeper.soft_delete_batch_seq FROM PUBLIC;
COMMENT ON SEQUENCE rowkeeper.soft_delete_batch_seq IS
'Deletion batch ids: one per soft-deleting transaction, shared by every row it soft-deletes.';
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.soft_delete_batch_seq', '');
-- STATE END

-- Who may see soft-deleted rows (after SET [LOCAL] rowkeeper.show_deleted =
-- on): members of rowkeeper_see_deleted, granted by an administrator to
-- support and admin roles, and each table's owner.  Roles are shared by the
-- databases of a cluster: the role is created when missing, and an existing
-- one is adopted (its members then see the deleted rows of this database's
-- soft-delete tables too).
-- STATE BEGIN
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = 'rowkeeper_see_deleted') THEN
        CREATE ROLE rowkeeper_see_deleted NOLOGIN;
    END IF;
END;
$$;
-- STATE END

CREATE OR REPLACE FUNCTION rowkeeper.soft_delete_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'soft_delete_trigger';

COMMENT ON FUNCTION rowkeeper.soft_delete_trigger() IS
'AFTER UPDATE OF deleted_at row trigger (rowkeeper_soft_delete_cascade) on a soft-delete table: when a row is marked deleted, marks its ON DELETE CASCADE children on soft-delete tables and refuses while RESTRICT / NO ACTION children are live. Attach it with rowkeeper.enable_soft_delete().';

CREATE OR REPLACE FUNCTION rowkeeper.soft_delete_guard()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'soft_delete_guard';

COMMENT ON FUNCTION rowkeeper.soft_delete_guard() IS
'BEFORE DELETE row trigger on a soft-delete table: refuses physical deletes outside rowkeeper.hard_delete() (a DELETE the library did not turn into the marking, ON DELETE CASCADE from a table without soft delete). Its arguments are the soft-delete configuration.';

CREATE OR REPLACE FUNCTION rowkeeper.hard_delete(tbl regclass, key jsonb)
RETURNS bigint
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'hard_delete';

COMMENT ON FUNCTION rowkeeper.hard_delete(regclass, jsonb) IS
'Physically delete soft-deleted rows of a soft-delete table by key (a jsonb object, or an array of them), with their foreign-key cascades. Only for the table''s owner; returns the number of rows deleted.';

/*
 * DELETE on a soft-delete table (src/soft_delete_rewrite.c): with the
 * library loaded before the DELETE is parsed, it is run as
 * UPDATE t SET deleted_at = now(), <batch> = _soft_delete_batch()
 * [, <by> = _soft_delete_who()] and still reports "DELETE n".  These two
 * functions give that statement its batch id (the transaction's) and its
 * user; called anywhere else they raise.  EXECUTE stays with PUBLIC:
 * every role that may soft-delete calls them.  STABLE: their value is
 * fixed within a statement (the batch id per transaction, the user per
 * statement), and Citus evaluates STABLE functions of an UPDATE's SET list
 * on the coordinator and sends the shards constants (it refuses VOLATILE
 * ones there on distributed tables).
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_batch()
RETURNS bigint
LANGUAGE C STABLE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'soft_delete_batch';

COMMENT ON FUNCTION rowkeeper._soft_delete_batch() IS
'Internal: the deletion batch id of the soft DELETE being executed (one per transaction). An UPDATE that assigns it is reported as a DELETE: do not call it yourself.';

CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_who()
RETURNS text
LANGUAGE C STABLE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'soft_delete_who';

COMMENT ON FUNCTION rowkeeper._soft_delete_who() IS
'Internal: who performs the soft DELETE being executed (rowkeeper.actor, else the current user).';

/*
 * The soft-delete configuration of a base table (its guard trigger's
 * arguments: column, by=<column or empty>, batch=<column>, and for a
 * timestamp without time zone column time_zone=utc|session), or NULLs.
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_config(tbl regclass,
    OUT column_name name, OUT deleted_by_column name, OUT batch_column name,
    OUT time_zone text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a[1]::name,
           NULLIF(rowkeeper._trigger_option(a[2:2], 'by'), '')::name,
           rowkeeper._trigger_option(a[3:3], 'batch')::name,
           rowkeeper._trigger_option(a[4:4], 'time_zone')
      FROM (SELECT rowkeeper._trigger_args(t.tgargs) AS a
              FROM pg_catalog.pg_trigger t
             WHERE t.tgrelid = tbl
               -- on a Citus shard <table>_<shard id>, Citus's copy of the
               -- trigger is rowkeeper_soft_delete_<shard id> (the name read
               -- from the regclass: Citus hides shards from pg_class queries)
               AND (t.tgname = 'rowkeeper_soft_delete'
                    OR (t.tgname ~ '^rowkeeper_soft_delete_[0-9]+$'
                        AND tbl::pg_catalog.text ~ ('_' || substring(t.tgname FROM '_([0-9]+)$') || '"?$')))
               AND t.tgparentid = 0
               AND t.tgfoid = 'rowkeeper.soft_delete_guard()'::pg_catalog.regprocedure) s
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_config(regclass) IS
'Internal: the soft-delete configuration of a base table, read from its guard trigger.';

/*
 * The value a soft delete writes into the deleted_at column of tbl, as SQL
 * over $1 (the deletion time, a timestamptz): $1 itself for a timestamptz
 * column; for a timestamp without time zone column the UTC wall-clock time
 * ($1 AT TIME ZONE 'UTC', what Prisma, TypeORM and Sequelize read back)
 * with time_zone=utc, else the session's local time (the assignment cast).
 * The fast path (src/soft_delete_rewrite.c) builds the same expression.
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_stamp(tbl regclass)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN a.atttypid = 'pg_catalog.timestamp'::pg_catalog.regtype AND cfg.time_zone = 'utc'
                THEN '($1 AT TIME ZONE ''UTC'')' ELSE '$1' END
      FROM rowkeeper._soft_delete_config(tbl) cfg
      LEFT JOIN pg_catalog.pg_attribute a
             ON a.attrelid = tbl AND a.attname = cfg.column_name AND a.attnum > 0 AND NOT a.attisdropped
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_stamp(regclass) IS
'Internal: the SQL expression over $1 (the deletion time) that a soft delete writes into the deleted_at column of a table: in UTC or the session''s time for a timestamp column.';

/*
 * A purge's cutoff ($1, a timestamptz) as SQL to compare column_name of tbl
 * with: converted as the soft delete wrote it when column_name is the
 * deleted_at column of a soft-delete table kept in UTC (compared as is, a
 * timestamp column would be read in the session's TimeZone), else $1.
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_cutoff(tbl regclass, column_name name)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN cfg.column_name = _soft_delete_cutoff.column_name
                THEN rowkeeper._soft_delete_stamp(tbl) ELSE '$1' END
      FROM rowkeeper._soft_delete_config(tbl) cfg
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_cutoff(regclass, name) IS
'Internal: a purge cutoff ($1) as SQL comparable with a column: in UTC for the timestamp deleted_at column of a soft-delete table kept in UTC.';

/*
 * Who sees soft-deleted rows: the second half of the hiding policy
 * (deleted_at IS NULL OR this), see src/soft_delete.c.
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_visible(tbl regclass)
RETURNS boolean
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'soft_delete_visible';

COMMENT ON FUNCTION rowkeeper._soft_delete_visible(regclass) IS
'Internal: may the current user see the soft-deleted rows of a table now (rowkeeper.show_deleted on and member of rowkeeper_see_deleted or the owner, or inside hard_delete())?';

/*
 * The hiding condition of the policies of soft-delete table tbl, as SQL:
 * "column_name IS NULL OR rowkeeper._soft_delete_visible(<tbl>)", the
 * shape src/soft_delete_rewrite.c recognises.  On one node the table is a
 * regclass constant (its OID: the table keeps it through renames, and a
 * table with it cannot be distributed by Citus, whose workers do not know
 * the OID: fail closed).  In the Citus form (citus => true, see
 * rowkeeper._citus_policies()) it is the table's name as text, cast to
 * regclass when the policy runs: on a worker that finds the Citus table
 * (its shell), never the shard.
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_hiding(tbl regclass, column_name name, citus boolean)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('%I IS NULL OR rowkeeper._soft_delete_visible(%L%s::pg_catalog.regclass)',
                             column_name, tbl::text, CASE WHEN citus THEN '::pg_catalog.text' ELSE '' END)
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_hiding(regclass, name, boolean) IS
'Internal: the hiding condition of a soft-delete table''s policies, as SQL (the table as a regclass constant on one node, as its name cast at run time in the Citus form).';

/* The table itself when it has soft delete, else NULL. */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_base(tbl regclass)
RETURNS regclass
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN (rowkeeper._soft_delete_config(tbl)).column_name IS NOT NULL THEN tbl END
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_base(regclass) IS
'Internal: the table if it has soft delete, or NULL.';

/* The base table, or a clear error when tbl has no soft delete. */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_require(tbl regclass, caller text)
RETURNS regclass
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    base regclass;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the table must not be NULL', caller);
    END IF;
    base := rowkeeper._soft_delete_base(tbl);
    IF base IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s does not have soft delete', tbl),
            HINT = format('Call rowkeeper.enable_soft_delete(%L) first.', tbl::text);
    END IF;
    RETURN base;
END;
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_require(regclass, text) IS
'Internal: the soft-delete table, or an error.';

/*
 * The foreign keys that reference tbl (not the per-partition clones), with
 * what soft delete does for each: 'cascade' (child has soft delete, ON
 * DELETE CASCADE), 'restrict' (RESTRICT / NO ACTION), or NULL (SET NULL /
 * SET DEFAULT, and CASCADE into a table without soft delete: the parent row
 * still exists, so nothing happens until it is hard-deleted).  The where
 * clause compares the child's columns with $<first_param>... which are the
 * parent's referenced columns (ref_columns), with the key's own operators.
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_fkeys(tbl regclass, first_param int)
RETURNS TABLE (conname name, child regclass, child_owner oid, action text,
               child_column name, child_batch_column name, child_by_column name,
               ref_columns name[], ref_types regtype[], child_where text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.conname, c.conrelid::pg_catalog.regclass, cr.relowner,
           CASE WHEN c.confdeltype IN ('r', 'a') THEN 'restrict'
                WHEN c.confdeltype = 'c' AND cfg.column_name IS NOT NULL THEN 'cascade'
           END,
           cfg.column_name, cfg.batch_column, cfg.deleted_by_column,
           (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord)
              FROM pg_catalog.unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum),
           (SELECT pg_catalog.array_agg(a.atttypid::pg_catalog.regtype ORDER BY k.ord)
              FROM pg_catalog.unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum),
           (SELECT pg_catalog.string_agg(pg_catalog.format('$%s::%s OPERATOR(%I.%s) %I',
                                                           first_param + k.ord - 1,
                                                           pa.atttypid::pg_catalog.regtype,
                                                           n.nspname, o.oprname, a.attname),
                                         ' AND ' ORDER BY k.ord)
              FROM ROWS FROM (pg_catalog.unnest(c.conkey), pg_catalog.unnest(c.confkey), pg_catalog.unnest(c.conpfeqop))
                   WITH ORDINALITY k(attnum, refattnum, op, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
              JOIN pg_catalog.pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.refattnum
              JOIN pg_catalog.pg_operator o ON o.oid = k.op
              JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace)
      FROM pg_catalog.pg_constraint c
      JOIN pg_catalog.pg_class cr ON cr.oid = c.conrelid
     CROSS JOIN LATERAL rowkeeper._soft_delete_config(c.conrelid) cfg
     WHERE c.contype = 'f' AND c.confrelid = tbl AND c.conparentid = 0
     ORDER BY c.conname, c.oid
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_fkeys(regclass, int) IS
'Internal: the foreign keys referencing a table and what soft delete does for each.';

/*
 * What the C trigger does for one row of base table tbl, as SQL it prepares
 * once and keeps.  Every query takes $1 deleted_at (timestamptz), $2 the
 * batch id (bigint), $3 who (text), then $4... the values of param_names,
 * read from the row by column name:
 *   mark      mark the row itself (by key) unless already deleted
 *   restrict  a live referencing row makes the delete fail (23503)
 *   cascade   mark the live referencing rows (their own cascade trigger
 *             carries on to their children)
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_actions(tbl regclass)
RETURNS TABLE (kind text, target regclass, run_as oid, conname name,
               param_names name[], param_types regtype[], query text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cfg record;
    k record;
    fk record;
BEGIN
    cfg := rowkeeper._soft_delete_config(tbl);
    IF cfg.column_name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s does not have soft delete', tbl),
            HINT = 'Call rowkeeper.enable_soft_delete() on the table.';
    END IF;
    k := rowkeeper._row_key(tbl);
    IF k.columns IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_table_definition',
            MESSAGE = format('table %s has no primary key or replica identity index', tbl),
            DETAIL = 'Soft delete marks rows by key.',
            HINT = format('ALTER TABLE %s ADD PRIMARY KEY (...)', tbl);
    END IF;

    kind := 'mark'; target := tbl; run_as := 0; conname := NULL;
    param_names := k.columns; param_types := k.types;
    query := format('UPDATE %s SET %I = %s, %I = $2%s WHERE %s AND %I IS NULL',
                    tbl, cfg.column_name, rowkeeper._soft_delete_stamp(tbl), cfg.batch_column,
                    CASE WHEN cfg.deleted_by_column IS NOT NULL
                         THEN format(', %I = $3', cfg.deleted_by_column) ELSE '' END,
                    (SELECT string_agg(format('%I %s $%s', c, k.operators[i], i + 3), ' AND ' ORDER BY i)
                       FROM unnest(k.columns) WITH ORDINALITY u(c, i)),
                    cfg.column_name);
    RETURN NEXT;

    FOR fk IN SELECT * FROM rowkeeper._soft_delete_fkeys(tbl, 4) f
               WHERE f.action IS NOT NULL
               ORDER BY f.action DESC, f.conname LOOP   -- restrict checks first
        kind := fk.action; target := fk.child; run_as := fk.child_owner;
        conname := fk.conname;
        param_names := fk.ref_columns; param_types := fk.ref_types;
        IF fk.action = 'restrict' THEN
            query := format('SELECT 1 FROM %s WHERE %s%s LIMIT 1',
                            fk.child, fk.child_where,
                            CASE WHEN fk.child_column IS NOT NULL
                                 THEN format(' AND %I IS NULL', fk.child_column) ELSE '' END);
        ELSE
            query := format('UPDATE %s SET %I = %s, %I = $2%s WHERE %s AND %I IS NULL',
                            fk.child, fk.child_column, rowkeeper._soft_delete_stamp(fk.child),
                            fk.child_batch_column,
                            CASE WHEN fk.child_by_column IS NOT NULL
                                 THEN format(', %I = $3', fk.child_by_column) ELSE '' END,
                            fk.child_where, fk.child_column);
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_actions(regclass) IS
'Internal: the queries the soft-delete cascade trigger runs for a row of a table.';

/*
 * A key argument (a jsonb object, or an array of objects) checked against
 * the table's row key and turned into a WHERE condition on alias, with
 * literals: every key column present, nothing else, no NULL.
 */
CREATE OR REPLACE FUNCTION rowkeeper._key_condition(tbl regclass, key jsonb, alias text, caller text)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k record;
    keys jsonb;
    one jsonb;
    conds text[] := '{}';
    extra text;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the key must not be NULL', caller);
    END IF;
    k := rowkeeper._row_key(tbl);
    IF k.columns IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_table_definition',
            MESSAGE = format('table %s has no primary key or replica identity index', tbl);
    END IF;
    keys := CASE jsonb_typeof(key) WHEN 'array' THEN key ELSE jsonb_build_array(key) END;
    IF jsonb_array_length(keys) = 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: no key given', caller),
            HINT = format('Pass a key such as %s, or an array of them.',
                          (SELECT jsonb_object_agg(c, 'value') FROM unnest(k.columns) c));
    END IF;
    FOR one IN SELECT jsonb_array_elements(keys) LOOP
        IF jsonb_typeof(one) <> 'object'
           OR EXISTS (SELECT FROM unnest(k.columns) c WHERE NOT one ? c OR jsonb_typeof(one -> c) = 'null') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('%s: invalid key %s for table %s', caller, one, tbl),
                DETAIL = format('The key of %s is (%s); every key column needs a non-NULL value.',
                                tbl, array_to_string(k.columns, ', ')),
                HINT = format('Pass a key such as %s, or an array of them.',
                              (SELECT jsonb_object_agg(c, 'value') FROM unnest(k.columns) c));
        END IF;
        SELECT min(e) INTO extra FROM jsonb_object_keys(one) e WHERE e <> ALL (k.columns);
        IF extra IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('%s: key %s names %I, which is not a key column of %s', caller, one, extra, tbl),
                DETAIL = format('The key of %s is (%s).', tbl, array_to_string(k.columns, ', '));
        END IF;
        conds := conds || ('(' || (SELECT string_agg(format('%I.%I %s %L::%s', alias, c, k.operators[i],
                                                            one ->> c, k.types[i]), ' AND ' ORDER BY i)
                                     FROM unnest(k.columns) WITH ORDINALITY u(c, i)) || ')');
    END LOOP;
    RETURN '(' || array_to_string(conds, ' OR ') || ')';
END;
$$;

COMMENT ON FUNCTION rowkeeper._key_condition(regclass, jsonb, text, text) IS
'Internal: a validated jsonb key (or array of keys) as a WHERE condition.';

/*
 * The DELETE that rowkeeper.hard_delete() runs (it runs it with the guard
 * lifted): only rows already soft-deleted, only by the table's owner.
 */
CREATE OR REPLACE FUNCTION rowkeeper._hard_delete_sql(tbl regclass, key jsonb)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.hard_delete()';
    base regclass;
    cfg record;
BEGIN
    base := rowkeeper._soft_delete_require(tbl, caller);
    IF NOT pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = base), 'USAGE') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'insufficient_privilege',
            MESSAGE = format('must be owner of table %s', base),
            DETAIL = format('%s removes rows physically, which only the table''s owner may do.', caller),
            HINT = 'Run it as the owner or a member of that role (the purge job, an admin).';
    END IF;
    cfg := rowkeeper._soft_delete_config(base);
    RETURN format('DELETE FROM %s AS r WHERE r.%I IS NOT NULL AND %s',
                  base, cfg.column_name, rowkeeper._key_condition(base, key, 'r', caller));
END;
$$;

COMMENT ON FUNCTION rowkeeper._hard_delete_sql(regclass, jsonb) IS
'Internal: the DELETE statement of rowkeeper.hard_delete().';

/*
 * Restore the children that the deletion of one parent row (prow, as jsonb)
 * took with it: rows of soft-delete tables that reference it through a
 * foreign key and carry the same batch id (the transaction's), recursively.
 * ON DELETE CASCADE children were marked by the cascade; RESTRICT / NO
 * ACTION children can only have been deleted by the application itself
 * before the parent, as ORMs do in the parent's transaction.  Returns
 * their number.
 */
CREATE OR REPLACE FUNCTION rowkeeper._restore_children(tbl regclass, prow jsonb, batch bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fk record;
    crow record;
    n bigint := 0;
    parts text[];
    params int[];
    cond text;
    i int;
BEGIN
    FOR fk IN SELECT * FROM rowkeeper._soft_delete_fkeys(tbl, 1) f
               WHERE f.child_column IS NOT NULL AND f.action IN ('cascade', 'restrict') LOOP
        -- the where clause with the parent's referenced values as literals
        -- in place of its $n (in one pass: a value is never read as SQL)
        parts := regexp_split_to_array(fk.child_where, '\$[0-9]+::');
        SELECT array_agg(m[1]::int ORDER BY k) INTO params
          FROM regexp_matches(fk.child_where, '\$([0-9]+)::', 'g') WITH ORDINALITY x(m, k);
        cond := parts[1];
        FOR i IN 1..coalesce(cardinality(params), 0) LOOP
            cond := cond || format('%L::', prow ->> fk.ref_columns[params[i]]) || parts[i + 1];
        END LOOP;
        -- RETURNING the row, made jsonb here: Citus refuses functions that
        -- are not IMMUTABLE in RETURNING on a distributed table
        FOR crow IN EXECUTE format(
                'UPDATE %s AS c SET %I = NULL, %I = NULL%s '
                'WHERE %s AND c.%I IS NOT NULL AND c.%I = %s RETURNING c.*',
                fk.child, fk.child_column, fk.child_batch_column,
                CASE WHEN fk.child_by_column IS NOT NULL
                     THEN format(', %I = NULL', fk.child_by_column) ELSE '' END,
                cond, fk.child_column, fk.child_batch_column, batch) LOOP
            n := n + 1 + rowkeeper._restore_children(fk.child, pg_catalog.to_jsonb(crow),
                                                     batch);
        END LOOP;
    END LOOP;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION rowkeeper._restore_children(regclass, jsonb, bigint) IS
'Internal: restore the rows that referenced a parent and were soft-deleted with it (same batch id).';

/*
 * Raise when a row about to be restored (row, as jsonb) references a
 * soft-deleted row through a foreign key: it would come back as a live row
 * whose parent the application cannot see.
 */
CREATE OR REPLACE FUNCTION rowkeeper._restore_check_parents(tbl regclass, row_ jsonb, caller text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fk record;
    cond text;
    hidden boolean;
BEGIN
    FOR fk IN SELECT c.conname, c.confrelid::regclass AS parent, cfg.column_name AS parent_column,
                     c.conkey, c.confkey, c.conpfeqop, c.conrelid
                FROM pg_catalog.pg_constraint c
               CROSS JOIN LATERAL rowkeeper._soft_delete_config(c.confrelid) cfg
               WHERE c.contype = 'f' AND c.conrelid = tbl AND c.conparentid = 0
                 AND cfg.column_name IS NOT NULL
               ORDER BY c.conname LOOP
        SELECT string_agg(format('p.%I OPERATOR(%I.%s) %L::%s', pa.attname, n.nspname, o.oprname,
                                 row_ ->> a.attname::text, a.atttypid::regtype),
                          ' AND ' ORDER BY k.ord),
               bool_or(row_ -> a.attname::text IS NULL OR jsonb_typeof(row_ -> a.attname::text) = 'null')
          INTO cond, hidden
          FROM ROWS FROM (unnest(fk.conkey), unnest(fk.confkey), unnest(fk.conpfeqop))
               WITH ORDINALITY k(attnum, refattnum, op, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = fk.conrelid AND a.attnum = k.attnum
          JOIN pg_catalog.pg_attribute pa ON pa.attrelid = fk.parent AND pa.attnum = k.refattnum
          JOIN pg_catalog.pg_operator o ON o.oid = k.op
          JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace;
        CONTINUE WHEN hidden;       -- a NULL key column references nothing
        EXECUTE format('SELECT EXISTS (SELECT FROM %s p WHERE %s AND p.%I IS NOT NULL)',
                       fk.parent, cond, fk.parent_column) INTO hidden;
        IF hidden THEN
            RAISE EXCEPTION USING
                ERRCODE = 'foreign_key_violation',
                MESSAGE = format('%s: the row of %s references a soft-deleted row of %s', caller, tbl, fk.parent),
                DETAIL = format('Foreign key %I; nothing was restored.', fk.conname),
                HINT = format('Restore the row of %s first: that also restores the rows its deletion took.', fk.parent);
        END IF;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._restore_check_parents(regclass, jsonb, text) IS
'Internal: refuse to restore a row whose foreign key points at a soft-deleted row.';

/*
 * The restored row is returned by the UPDATE as it is and made jsonb in
 * the query around it: Citus refuses functions that are not IMMUTABLE in
 * the RETURNING list of a distributed table's UPDATE.
 */
CREATE OR REPLACE FUNCTION rowkeeper.restore(tbl regclass, key jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET rowkeeper.show_deleted = on
AS $$
DECLARE
    caller constant text := 'rowkeeper.restore()';
    base regclass;
    cfg record;
    one jsonb;
    r record;
    n bigint := 0;
    found_rows bigint;
    msg text;
    det text;
    cons text;
BEGIN
    base := rowkeeper._soft_delete_require(tbl, caller);
    cfg := rowkeeper._soft_delete_config(base);
    PERFORM rowkeeper._key_condition(base, key, 'r', caller);     -- validates all keys first
    BEGIN
        FOR one IN SELECT jsonb_array_elements(
                       CASE jsonb_typeof(key) WHEN 'array' THEN key ELSE jsonb_build_array(key) END) LOOP
            EXECUTE format('SELECT r.%I AS batch FROM %s AS r WHERE %s AND r.%I IS NOT NULL FOR UPDATE',
                           cfg.batch_column, base, rowkeeper._key_condition(base, one, 'r', caller),
                           cfg.column_name)
               INTO r;
            GET DIAGNOSTICS found_rows = ROW_COUNT;
            IF found_rows = 0 THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'no_data_found',
                    MESSAGE = format('%s: no soft-deleted row of %s with key %s', caller, tbl, one),
                    HINT = 'The row is live already, was hard-deleted, or is not visible to you: restoring needs to see soft-deleted rows (role rowkeeper_see_deleted, or the table''s owner).';
            END IF;
            EXECUTE format('WITH u AS (UPDATE %s AS r SET %I = NULL, %I = NULL%s WHERE %s AND r.%I IS NOT NULL '
                           'RETURNING r.*) SELECT pg_catalog.to_jsonb(u.*) FROM u',
                           base, cfg.column_name, cfg.batch_column,
                           CASE WHEN cfg.deleted_by_column IS NOT NULL
                                THEN format(', %I = NULL', cfg.deleted_by_column) ELSE '' END,
                           rowkeeper._key_condition(base, one, 'r', caller), cfg.column_name)
               INTO one;
            PERFORM rowkeeper._restore_check_parents(base, one, caller);
            n := n + 1;
            IF r.batch IS NOT NULL THEN
                n := n + rowkeeper._restore_children(base, one, r.batch);
            END IF;
        END LOOP;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                cons = CONSTRAINT_NAME;
        RAISE EXCEPTION USING
            ERRCODE = 'unique_violation',
            MESSAGE = format('%s: cannot restore %s, a live row has the same unique key',
                             caller, tbl),
            DETAIL = det || format(' (constraint %I; nothing was restored)', cons),
            HINT = 'Change or delete the live row first, then restore.',
            CONSTRAINT = cons;
    END;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION rowkeeper.restore(regclass, jsonb) IS
'Undelete soft-deleted rows by key (a jsonb object, or an array of them) with the rows that referenced them and were deleted in the same transaction; all or nothing. For members of rowkeeper_see_deleted and the table''s owner. Returns the number of rows restored.';

/* Every soft-delete table and its columns. */
CREATE OR REPLACE VIEW rowkeeper.soft_delete_tables AS
SELECT t.tgrelid::regclass                          AS table_name,
       cfg.column_name,
       cfg.deleted_by_column,
       cfg.batch_column,
       t.tgenabled <> 'D'                           AS guarded,
       c.relrowsecurity AND c.relforcerowsecurity
         AND EXISTS (SELECT FROM pg_catalog.pg_policy p
                      WHERE p.polrelid = t.tgrelid AND p.polname = 'rowkeeper_soft_delete') AS hidden
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
 CROSS JOIN LATERAL rowkeeper._soft_delete_config(t.tgrelid) cfg
 WHERE t.tgfoid = 'rowkeeper.soft_delete_guard()'::pg_catalog.regprocedure
   AND t.tgparentid = 0;

GRANT SELECT ON rowkeeper.soft_delete_tables TO PUBLIC;

COMMENT ON VIEW rowkeeper.soft_delete_tables IS
'Soft-delete tables, their columns, whether the guard is enabled and whether the hiding policy is in force.';

/*
 * A soft-delete column: validated when it exists (exact name, type), else
 * added.  want is the accepted type list, the first one is created.
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_column(tbl regclass, column_name name,
                                              want regtype[], purpose text, caller text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att pg_catalog.pg_attribute;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = tbl AND a.attname = column_name
                      AND a.attnum > 0 AND NOT a.attisdropped)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = tbl AND lower(a.attname) = lower(column_name)
                          AND a.attnum > 0 AND NOT a.attisdropped) THEN
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', tbl, column_name, want[1]);
        RETURN;
    END IF;
    att := rowkeeper._require_column(tbl, column_name, caller);
    IF att.atttypid <> ALL (want) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'datatype_mismatch',
            MESSAGE = format('column %I of table %s has type %s', column_name, tbl,
                             format_type(att.atttypid, att.atttypmod)),
            DETAIL = format('The %s column must be of type %s.', purpose,
                            array_to_string(want::text[], ' or ')),
            HINT = format('ALTER TABLE %s ALTER COLUMN %I TYPE %s, or name another column.',
                          tbl, column_name, want[1]);
    END IF;
    IF att.attgenerated <> '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_column_definition',
            MESSAGE = format('column %I of table %s is a generated column', column_name, tbl),
            DETAIL = 'Soft delete sets this column; a generated column cannot be set.';
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_column(regclass, name, regtype[], text, text) IS
'Internal: validate or add a soft-delete column.';

CREATE OR REPLACE FUNCTION rowkeeper.enable_soft_delete(tbl regclass,
                                             column_name name DEFAULT 'deleted_at',
                                             deleted_by_column name DEFAULT NULL,
                                             batch_column name DEFAULT NULL,
                                             time_zone text DEFAULT 'utc')
RETURNS regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.enable_soft_delete()';
    want_args text[];
    want_type int2;
    old record;
    state text;
    citus boolean;
    own_policies text;
    ten record;
    unsafe_triggers text;
BEGIN
    IF tbl IS NULL OR column_name IS NULL OR time_zone IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the table, column_name and time_zone must not be NULL', caller),
            HINT = 'Leave an option out to get its default.';
    END IF;
    IF time_zone NOT IN ('utc', 'session') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('invalid time_zone %L', time_zone),
            DETAIL = 'A timestamp without time zone deleted_at column gets the time in UTC (utc, what Prisma, TypeORM and Sequelize read back) or in the session''s TimeZone (session).',
            HINT = 'Use time_zone => ''utc'' or ''session''.';
    END IF;
    PERFORM rowkeeper._require_owned_table(tbl, caller);
    IF (SELECT c.relispartition FROM pg_catalog.pg_class c WHERE c.oid = tbl) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'wrong_object_type',
            MESSAGE = format('%s: %s is a partition', caller, tbl),
            DETAIL = 'Soft delete is enabled on the partitioned table; its partitions share the configuration.',
            HINT = format('Call it on %s.', (SELECT i.inhparent::regclass FROM pg_catalog.pg_inherits i WHERE i.inhrelid = tbl));
    END IF;
    -- Citus copies policies to the shards without AS RESTRICTIVE, where
    -- every policy is permissive and they are ORed: rowkeeper's own are
    -- written so that each means the same either way
    -- (rowkeeper._citus_policies()), but a policy of the table's own would
    -- show on the shards whatever rows it allows, deleted ones included.
    citus := (rowkeeper._citus_distribution_column(tbl)).is_citus;
    IF citus THEN
        SELECT string_agg(quote_ident(p.polname), ', ' ORDER BY p.polname) INTO own_policies
          FROM pg_catalog.pg_policy p
         WHERE p.polrelid = tbl
           AND p.polname NOT IN ('rowkeeper_soft_delete', 'rowkeeper_soft_delete_access',
                                 'rowkeeper_tenant_isolation', 'rowkeeper_tenant_access');
        IF own_policies IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'feature_not_supported',
                MESSAGE = format('%s: Citus table %s has row-level security policies of its own', caller, tbl),
                DETAIL = format('Policies: %s. Citus copies policies to the shards without AS RESTRICTIVE, where they are ORed with the condition that hides deleted rows: the shards would show the rows they allow, deleted ones included.', own_policies),
                HINT = 'Drop them (fold their conditions into views or the application''s queries), then call rowkeeper.enable_soft_delete() again.';
        END IF;
    END IF;

    -- no batch column named: the one configured, else deleted_batch in the
    -- naming convention of the deleted_at column ("deletedAt" ->
    -- "deletedBatch"), or of the table's columns when that says nothing
    IF batch_column IS NULL THEN
        SELECT rowkeeper._trigger_option((rowkeeper._trigger_args(t.tgargs))[2:], 'batch') INTO batch_column
          FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_soft_delete' AND t.tgparentid = 0;
        batch_column := coalesce(nullif(batch_column, ''),
                                 rowkeeper._name_in_style('deleted_batch',
                                     coalesce(rowkeeper._name_style(column_name),
                                              rowkeeper._table_name_style(tbl))));
    END IF;
    IF column_name = batch_column OR column_name = deleted_by_column
       OR batch_column = deleted_by_column THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: column_name, deleted_by_column and batch_column must be different columns', caller);
    END IF;
    IF (rowkeeper._row_key(tbl)).columns IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_table_definition',
            MESSAGE = format('table %s has no primary key or replica identity index', tbl),
            DETAIL = 'Soft delete marks, restores and cascades rows by key.',
            HINT = format('ALTER TABLE %s ADD PRIMARY KEY (...), or ALTER TABLE %s REPLICA IDENTITY USING INDEX <unique index>.', tbl, tbl);
    END IF;

    PERFORM rowkeeper._soft_delete_column(tbl, column_name, '{timestamptz,timestamp}', 'deleted_at', caller);
    PERFORM rowkeeper._soft_delete_column(tbl, batch_column, '{bigint}', 'deletion batch', caller);
    IF deleted_by_column IS NOT NULL THEN
        PERFORM rowkeeper._soft_delete_column(tbl, deleted_by_column, '{text,varchar}', 'deleted-by', caller);
    END IF;

    want_args := ARRAY[column_name::text, 'by=' || coalesce(deleted_by_column::text, ''),
                       'batch=' || batch_column];
    -- timestamp without time zone: in UTC or the session's time (see
    -- _soft_delete_stamp); a timestamptz column needs no choice
    IF (SELECT a.atttypid FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = tbl AND a.attname = column_name) = 'pg_catalog.timestamp'::pg_catalog.regtype THEN
        -- on a Citus table a shard accepts the coordinator's marking only
        -- with the coordinator's time, which it can check in UTC alone
        -- (src/soft_delete_rewrite.c, sdr_shard_marking_values())
        IF citus AND time_zone = 'session' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'feature_not_supported',
                MESSAGE = format('%s: time_zone => ''session'' is not supported on Citus table %s', caller, tbl),
                DETAIL = format('Column %I is a timestamp without time zone; on the shards the marking is checked against the coordinator''s transaction time, which a shard can compare only in UTC.', column_name),
                HINT = 'Use time_zone => ''utc'' (the default), or make the column timestamptz.';
        END IF;
        want_args := want_args || ('time_zone=' || time_zone);
    END IF;

    -- tgtype bits: ROW (1) | BEFORE (2) | DELETE (8), and UPDATE (16) on a
    -- partitioned table, where an UPDATE moving a row between partitions
    -- fires BEFORE DELETE on the old partition (the guard tells it apart)
    want_type := CASE WHEN (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = tbl) = 'p'
                      THEN 1 | 2 | 8 | 16 ELSE 1 | 2 | 8 END;
    SELECT rowkeeper._trigger_args(t.tgargs) AS args, t.tgtype INTO old
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_soft_delete' AND t.tgparentid = 0;
    IF NOT FOUND OR old.args IS DISTINCT FROM want_args OR old.tgtype <> want_type THEN
        -- on a Citus table: triggers need citus.enable_unsafe_triggers
        unsafe_triggers := rowkeeper._citus_allow_triggers();
        IF FOUND THEN
            EXECUTE format('DROP TRIGGER rowkeeper_soft_delete ON %s', tbl);
        END IF;
        EXECUTE format('CREATE TRIGGER rowkeeper_soft_delete BEFORE %s ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION rowkeeper.soft_delete_guard(%s)',
                       CASE WHEN want_type & 16 <> 0 THEN 'UPDATE OR DELETE' ELSE 'DELETE' END,
                       tbl, rowkeeper._quote_args(want_args));
        PERFORM rowkeeper._citus_allow_triggers(unsafe_triggers);
    END IF;

    -- the cascade trigger, only while a foreign key references the table
    -- (21_soft_delete_cascade.sql: the event trigger keeps it so)
    PERFORM rowkeeper._soft_delete_sync_cascade(tbl);

    -- the policies.  On a Citus table, the Citus form: every rowkeeper
    -- policy of the table (the tenant's included) rewritten from its
    -- configuration so that none depends on AS RESTRICTIVE
    IF citus THEN
        ten := rowkeeper._tenant_config(tbl);
        PERFORM rowkeeper._citus_policies(tbl, ten.predicate, ten.grant_access);
    ELSE
        -- RLS as the user had it before rowkeeper first touched it
        SELECT pg_catalog.obj_description(p.oid, 'pg_policy') INTO state
          FROM pg_catalog.pg_policy p
         WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_soft_delete';
        IF state IS NULL THEN
            SELECT format('rowkeeper soft delete; before it: rls_was_enabled=%s, rls_was_forced=%s',
                          c.relrowsecurity::text, c.relforcerowsecurity::text) INTO state
              FROM pg_catalog.pg_class c WHERE c.oid = tbl;
        END IF;
        IF EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_soft_delete') THEN
            EXECUTE format('DROP POLICY rowkeeper_soft_delete ON %s', tbl);
        END IF;
        -- FOR ALL, not FOR SELECT: PostgreSQL applies SELECT policies to an
        -- UPDATE only when it reads the table, and an UPDATE that reads no
        -- column (SET deleted_at = NULL, no WHERE) would reach deleted rows;
        -- WITH CHECK (true): a new row (the marking's) is not checked by it
        EXECUTE format('CREATE POLICY rowkeeper_soft_delete ON %s AS RESTRICTIVE FOR ALL TO PUBLIC USING (%s) '
                       'WITH CHECK (true)',
                       tbl, rowkeeper._soft_delete_hiding(tbl, column_name, false));
        EXECUTE format('COMMENT ON POLICY rowkeeper_soft_delete ON %s IS %L', tbl, state);
        IF EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid = tbl AND p.polname = 'rowkeeper_soft_delete_access') THEN
            EXECUTE format('DROP POLICY rowkeeper_soft_delete_access ON %s', tbl);
        END IF;
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_policy p
                        WHERE p.polrelid = tbl AND p.polpermissive
                          AND p.polname NOT IN ('rowkeeper_soft_delete_access', 'rowkeeper_tenant_access')) THEN
            EXECUTE format('CREATE POLICY rowkeeper_soft_delete_access ON %s AS PERMISSIVE FOR ALL TO PUBLIC '
                           'USING (true) WITH CHECK (true)', tbl);
            EXECUTE format('COMMENT ON POLICY rowkeeper_soft_delete_access ON %s IS %L', tbl,
                           'rowkeeper soft delete: rows are accessible; policy rowkeeper_soft_delete hides the deleted ones');
        END IF;
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    RETURN tbl;
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_soft_delete(regclass, name, name, name, text) IS
'Make DELETE on a table mark rows deleted and reads hide them (row-level security policy rowkeeper_soft_delete); the table keeps its name. Without batch_column: the one configured, else deleted_batch in the convention of column_name or of the table (camelCase: deletedBatch). A timestamp without time zone column_name is written in UTC (time_zone => ''utc'') or the session''s time (''session''). Idempotent; call again to change options. Returns the table.';

CREATE OR REPLACE FUNCTION rowkeeper.disable_soft_delete(tbl regclass, force boolean DEFAULT false)
RETURNS regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.disable_soft_delete()';
    base regclass;
    cfg record;
    deleted bigint;
    state text;
BEGIN
    IF tbl IS NULL OR force IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: arguments must not be NULL', caller);
    END IF;
    base := rowkeeper._soft_delete_base(tbl);
    IF base IS NULL THEN
        PERFORM rowkeeper._require_owned_table(tbl, caller);
        RAISE NOTICE 'table % does not have soft delete, nothing to do', tbl;
        RETURN tbl;
    END IF;
    PERFORM rowkeeper._require_owned_table(base, caller);
    cfg := rowkeeper._soft_delete_config(base);

    deleted := rowkeeper._citus_count_not_null(base, cfg.column_name);  -- every row, not RLS's view
    IF deleted > 0 AND NOT force THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s holds %s soft-deleted rows', base, deleted),
            DETAIL = 'Without soft delete they would be visible again as live rows.',
            HINT = 'Restore or hard-delete them first, or pass force => true to keep them as they are.';
    END IF;

    -- on a Citus table: triggers need citus.enable_unsafe_triggers
    DECLARE
        unsafe_triggers text := rowkeeper._citus_allow_triggers();
    BEGIN
        EXECUTE format('DROP TRIGGER rowkeeper_soft_delete ON %s', base);
        IF EXISTS (SELECT FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = base AND t.tgname = 'rowkeeper_soft_delete_cascade' AND t.tgparentid = 0) THEN
            EXECUTE format('DROP TRIGGER rowkeeper_soft_delete_cascade ON %s', base);
        END IF;
        PERFORM rowkeeper._citus_allow_triggers(unsafe_triggers);
    END;
    SELECT pg_catalog.obj_description(p.oid, 'pg_policy') INTO state
      FROM pg_catalog.pg_policy p
     WHERE p.polrelid = base AND p.polname = 'rowkeeper_soft_delete';
    IF (rowkeeper._citus_distribution_column(base)).is_citus THEN
        -- the soft-delete policies go, the tenant's back to their plain form
        -- (the guard, and with it the configuration, is gone already)
        PERFORM rowkeeper._citus_policies(base, ten.predicate, ten.grant_access)
           FROM rowkeeper._tenant_config(base) ten;
    ELSE
        IF EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid = base AND p.polname = 'rowkeeper_soft_delete') THEN
            EXECUTE format('DROP POLICY rowkeeper_soft_delete ON %s', base);
        END IF;
        IF EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid = base AND p.polname = 'rowkeeper_soft_delete_access') THEN
            EXECUTE format('DROP POLICY rowkeeper_soft_delete_access ON %s', base);
        END IF;
    END IF;
    -- RLS back as it was, unless tenant isolation still needs it
    IF state IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy p
                                          WHERE p.polrelid = base AND p.polname = 'rowkeeper_tenant_isolation') THEN
        IF state NOT LIKE '%rls_was_enabled=true%' THEN
            EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', base);
        END IF;
        IF state NOT LIKE '%rls_was_forced=true%' THEN
            EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', base);
        END IF;
    END IF;
    RAISE NOTICE 'columns %, % of % are kept', quote_ident(cfg.column_name),
        concat_ws(', ', quote_ident(cfg.batch_column), quote_ident(cfg.deleted_by_column)), base;
    RETURN base;
END;
$$;

COMMENT ON FUNCTION rowkeeper.disable_soft_delete(regclass, boolean) IS
'Undo enable_soft_delete: drop the triggers and the policies and put row-level security back as it was (columns and data are kept). Refuses while soft-deleted rows exist unless force.';

/*
 * Turn a unique constraint (or unique index) of a soft-delete table into a
 * partial unique index over live rows, so that a value can be reused after
 * its row is soft-deleted.  Keeps the name; returns the index.
 */
CREATE OR REPLACE FUNCTION rowkeeper.soft_delete_unique(tbl regclass, constraint_name name)
RETURNS regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.soft_delete_unique()';
    base regclass;
    cfg record;
    idx record;
    con record;
    def text;
    pos int;
    tmp name;
BEGIN
    IF constraint_name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the constraint name must not be NULL', caller);
    END IF;
    base := rowkeeper._soft_delete_require(tbl, caller);
    PERFORM rowkeeper._require_owned_table(base, caller);
    cfg := rowkeeper._soft_delete_config(base);

    SELECT c.oid, c.contype, c.conindid INTO con
      FROM pg_catalog.pg_constraint c
     WHERE c.conrelid = base AND c.conname = constraint_name AND c.contype IN ('u', 'p', 'x');
    SELECT i.indexrelid::regclass AS oid, ic.relname, i.indisunique, i.indisprimary,
           i.indpred IS NOT NULL AS partial,
           pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS pred, am.amname INTO idx
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_catalog.pg_am am ON am.oid = ic.relam
     WHERE i.indrelid = base
       AND (i.indexrelid = con.conindid OR (con.oid IS NULL AND ic.relname = constraint_name));
    IF idx.oid IS NULL OR NOT idx.indisunique THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_object',
            MESSAGE = format('%s has no unique constraint or unique index %I', base, constraint_name),
            HINT = 'Name a UNIQUE constraint or unique index of the table.';
    END IF;
    IF idx.indisprimary THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%I is the primary key of %s', constraint_name, base),
            DETAIL = 'A primary key cannot be partial: deleted rows keep their key.',
            HINT = 'Use a separate UNIQUE constraint for values that live rows must not share.';
    END IF;
    IF idx.partial THEN
        IF idx.pred = format('(%I IS NULL)', cfg.column_name) THEN
            RETURN idx.oid;         -- done already
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('index %I of %s is already partial (WHERE %s)', constraint_name, base, idx.pred);
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_constraint f
                WHERE f.contype = 'f' AND f.conindid = idx.oid) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'dependent_objects_still_exist',
            MESSAGE = format('foreign keys reference %s through %I', base, constraint_name),
            DETAIL = (SELECT 'Referencing: ' || string_agg(format('%I on %s', f.conname, f.conrelid::regclass), ', ')
                        FROM pg_catalog.pg_constraint f WHERE f.contype = 'f' AND f.conindid = idx.oid) || '.',
            HINT = 'A foreign key needs a full unique constraint; keep it, or point the foreign keys at the primary key.';
    END IF;

    def := pg_catalog.pg_get_indexdef(idx.oid);
    pos := strpos(def, ' USING ' || idx.amname || ' (');
    tmp := left('rk_tmp_' || idx.relname, 63);
    EXECUTE format('CREATE UNIQUE INDEX %I ON %s%s WHERE %I IS NULL',
                   tmp, base, substr(def, pos), cfg.column_name);
    IF con.oid IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', base, constraint_name);
    ELSE
        EXECUTE format('DROP INDEX %s', idx.oid);
    END IF;
    EXECUTE format('ALTER INDEX %I.%I RENAME TO %I',
                   (SELECT n.nspname FROM pg_catalog.pg_class c
                      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = base),
                   tmp, idx.relname);
    RETURN (SELECT i.indexrelid::regclass FROM pg_catalog.pg_index i
              JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = base AND ic.relname = idx.relname);
END;
$$;

COMMENT ON FUNCTION rowkeeper.soft_delete_unique(regclass, name) IS
'Turn a unique constraint or index of a soft-delete table into a partial unique index over live rows (WHERE deleted_at IS NULL), keeping its name, so values can be reused after a soft delete.';
