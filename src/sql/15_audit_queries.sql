
-- src/sql/15_audit_queries.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Audit queries and undo
--
-- Everything here is cold path (support screens, investigations), so it is
-- SQL and PL/pgSQL, run with the caller's rights: reading the log needs
-- rowkeeper_auditor (every entry) or rowkeeper_app (the entries of the
-- current tenant, enforced by row-level security on the log, so on every
-- path, also a plain SELECT), reading or changing a table needs the usual
-- privileges on it (and row-level security on it applies).  Rows are found through the
-- log's indexes: (row_ref, id) for one row, BRIN (logged_at, id, txid) for a
-- time window or a transaction.  A table's entries are those of its identity
-- (table_id, see rowkeeper.audit_incarnations in 10_audit.sql), never
-- those of whatever other table once had its name; keys are read as the
-- key columns' types (normalize_key), so they match however they are spelt;
-- undo and restore write only the table that holds the entry's identity.
------------------------------------------------------------------------------

/*
 * The table whose changes the log holds for tbl: a soft-delete view's base
 * table (the audit triggers are there), else tbl itself.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_base(tbl regclass)
RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN coalesce(rowkeeper._soft_delete_base(tbl), tbl);
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_base(regclass) IS
'Internal: the audited table behind tbl (a soft-delete view''s base table, else tbl).';

/* Who reads which entries: see src/sql/31_audit_app.sql (row-level security on the log). */

/*
 * The check at the top of every query function: the caller may read the
 * log, and an application role has a tenant.  Without it an application
 * role would get "permission denied for table audit_incarnations" (no
 * word of what to grant), and a history with no entries would come back
 * empty instead of failing closed.  Called first, with PERFORM: a SQL
 * function would check its table privileges before any of its quals.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_reader(caller text)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.pg_has_role('rowkeeper_auditor', 'USAGE')
       OR EXISTS (SELECT FROM pg_catalog.pg_roles r
                   WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls))
       OR pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                   WHERE c.oid = 'rowkeeper.audit_log'::pg_catalog.regclass), 'USAGE') THEN
        RETURN true;
    END IF;
    IF pg_catalog.pg_has_role('rowkeeper_app', 'USAGE') THEN
        PERFORM rowkeeper.current_tenant();     -- no tenant: the fail-closed error
        RETURN true;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
        MESSAGE = format('%s: role %I may not read the audit log', caller, current_user),
        DETAIL = 'Application roles read the entries of their current tenant as members of rowkeeper_app; rowkeeper_auditor reads every entry.',
        HINT = format('As the database owner or a superuser: GRANT rowkeeper_app TO %I;', current_user);
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_reader(text) IS
'Internal: true if the current role may read the audit log (an auditor, or rowkeeper_app with a tenant set); else an error naming the GRANT to run.';

/*
 * The identity whose entries the log holds for tbl (see
 * rowkeeper.audit_incarnations): a table that never had one has no
 * history, and neither has it the entries of another table that once had
 * its name.
 */
CREATE OR REPLACE FUNCTION rowkeeper._history_id(tbl regclass)
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(rowkeeper._audit_table_id(rowkeeper._audit_base(tbl)), 0)
$$;

COMMENT ON FUNCTION rowkeeper._history_id(regclass) IS
'Internal: the audit table_id of a table (or its soft-delete base table), 0 if it has none.';

/*
 * A row key as the audit trigger logs it: every key column (primary key,
 * else replica identity) present and no other, each value read as the
 * column's type and written back as the log writes it, so '{"id": "1"}',
 * '{"id": 1}' and '{"id": 1.0}' find the same row of a bigint key (ORMs
 * hand bigint ids to applications as strings).  In C: src/audit_key.c.
 */
CREATE OR REPLACE FUNCTION rowkeeper.normalize_key(tbl regclass, key jsonb)
RETURNS jsonb
LANGUAGE C STABLE STRICT
AS 'MODULE_PATHNAME', 'audit_normalize_key';

COMMENT ON FUNCTION rowkeeper.normalize_key(regclass, jsonb) IS
'A row key (jsonb object of the key columns, values as strings, numbers or the column''s text form) as the audit log stores it; an error for a missing or a non-key column or a value the column type does not accept.';

/* Columns excluded from the log (their values are not history). */
CREATE OR REPLACE FUNCTION rowkeeper._excluded_columns(tbl regclass)
RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT a.exclude_columns FROM rowkeeper.audited_tables a WHERE a.table_name = tbl), '{}')
$$;

COMMENT ON FUNCTION rowkeeper._excluded_columns(regclass) IS
'Internal: the columns enable_audit excludes on a table.';

/*
 * How generated statements name the table: ONLY for a plain table (an
 * inheritance child logs under its own name), the table itself for a
 * partitioned one (its partitions log under its name).
 */
CREATE OR REPLACE FUNCTION rowkeeper._rel_ref(tbl regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE c.relkind WHEN 'p' THEN '' ELSE 'ONLY ' END || tbl::text
      FROM pg_catalog.pg_class c WHERE c.oid = tbl
$$;

COMMENT ON FUNCTION rowkeeper._rel_ref(regclass) IS
'Internal: the table as generated SQL names it (ONLY unless partitioned).';

/* The live row of tbl with this key, as jsonb without excluded columns. */
CREATE OR REPLACE FUNCTION rowkeeper._live_row(tbl regclass, key jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cond text;
    result jsonb;
BEGIN
    cond := rowkeeper._key_join(tbl, 't', 'k');
    EXECUTE format('SELECT pg_catalog.to_jsonb(t) FROM %s t, pg_catalog.jsonb_populate_record(NULL::%s, $1) k WHERE %s',
                   rowkeeper._rel_ref(tbl), tbl, cond)
       INTO result USING key;
    RETURN result - rowkeeper._excluded_columns(tbl);
END;
$$;

COMMENT ON FUNCTION rowkeeper._live_row(regclass, jsonb) IS
'Internal: the current row with this key (without excluded columns), or NULL.';

/*
 * Entries of one row (in no particular order), following key changes
 * backwards: the entries of a row's earlier key up to the UPDATE that
 * changed it.  A loop of constant lookups, so each is an index scan on
 * (row_ref, id) whatever the planner thinks of the names and keys.
 */
CREATE OR REPLACE FUNCTION rowkeeper._row_entries(tid bigint, key jsonb)
RETURNS SETOF rowkeeper.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k jsonb := key;
    before bigint := NULL;
    link_id bigint;
    link_key jsonb;
    hops int := 0;
BEGIN
    LOOP
        RETURN QUERY
            SELECT l.* FROM rowkeeper.audit_log l
             WHERE l.row_ref = rowkeeper.row_ref(tid, k) AND l.table_id = tid
               AND l.row_key = k AND (before IS NULL OR l.id < before);
        -- the change that gave the row this key
        SELECT l.id, l.old_key INTO link_id, link_key FROM rowkeeper.audit_log l
         WHERE l.row_ref = rowkeeper.row_ref(tid, k) AND l.table_id = tid
           AND l.row_key = k AND l.old_key IS NOT NULL AND (before IS NULL OR l.id < before)
         ORDER BY l.id LIMIT 1;
        hops := hops + 1;
        EXIT WHEN link_id IS NULL OR hops > 1000;
        k := link_key;
        before := link_id;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._row_entries(bigint, jsonb) IS
'Internal: log entries of one row of one table identity, across key changes (unordered; order by id).';

/* The history of one row of one table identity, with the row after each change. */
CREATE OR REPLACE FUNCTION rowkeeper._history(tid bigint, key jsonb)
RETURNS TABLE (audit_id bigint, logged_at timestamptz, op text, row_key jsonb,
               row_data jsonb, old_values jsonb, new_values jsonb,
               actor text, db_user text, role_user text, request_id text, tenant text, txid xid8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e rowkeeper.audit_log;
    img jsonb;
    tbl regclass := rowkeeper._audit_table_of_id(tid);
BEGIN
    -- on a Citus coordinator, a Citus table's entries (or a dropped
    -- table's, which may have been one) are on every node
    FOR e IN SELECT (r.entry).*
               FROM rowkeeper._row_entries_ordered(tid, key,
                        rowkeeper._audit_citus_coordinator()
                        AND (tbl IS NULL OR (rowkeeper._citus_distribution_column(tbl)).is_citus)) r
              ORDER BY r.seq LOOP
        img := CASE e.op WHEN 'INSERT' THEN e.new_row
                         WHEN 'DELETE' THEN NULL
                         WHEN 'EVENT' THEN img                   -- about the row, no change of it
                         WHEN 'FORGET' THEN img                  -- its values erased (forget)
                         ELSE coalesce(img, '{}') || e.new_row   -- UPDATE, SOFT_DELETE, RESTORE
                         END;
        audit_id := e.id; logged_at := e.logged_at; op := e.op; row_key := e.row_key;
        row_data := img; old_values := e.old_row; new_values := e.new_row;
        actor := e.actor; db_user := e.db_user; role_user := e.role_user;
        request_id := e.request_id; tenant := e.tenant; txid := e.txid;
        RETURN NEXT;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._history(bigint, jsonb) IS
'Internal: the history of one row of one table identity (see row_history).';

CREATE OR REPLACE FUNCTION rowkeeper.row_history(tbl regclass, key jsonb)
RETURNS TABLE (audit_id bigint, logged_at timestamptz, op text, row_key jsonb,
               row_data jsonb, old_values jsonb, new_values jsonb,
               actor text, db_user text, role_user text, request_id text, tenant text, txid xid8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tbl IS NULL OR key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.row_history(): table and key must not be NULL';
    END IF;
    PERFORM rowkeeper._audit_reader('rowkeeper.row_history()');
    tbl := rowkeeper._audit_base(tbl);
    RETURN QUERY SELECT * FROM rowkeeper._history(rowkeeper._history_id(tbl), rowkeeper.normalize_key(tbl, key));
END;
$$;

COMMENT ON FUNCTION rowkeeper.row_history(regclass, jsonb) IS
'Every logged change of one row, oldest first, with the row image after each change (row_data; only logged columns, and only those known since auditing began). The table''s own history: follows key changes, renames and dump/restore, never another table that had its name; works after the row was deleted.';

/*
 * The history of one row of a table identity by its id, also of a
 * previous incarnation (a dropped table: rowkeeper.audit_incarnations
 * lists them with dropped_at).  The key is read as the live table's key
 * when a table holds the id, else compared as given.
 */
CREATE OR REPLACE FUNCTION rowkeeper.incarnation_history(table_id bigint, key jsonb)
RETURNS TABLE (audit_id bigint, logged_at timestamptz, op text, row_key jsonb,
               row_data jsonb, old_values jsonb, new_values jsonb,
               actor text, db_user text, role_user text, request_id text, tenant text, txid xid8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
BEGIN
    IF table_id IS NULL OR key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.incarnation_history(): table_id and key must not be NULL';
    END IF;
    PERFORM rowkeeper._audit_reader('rowkeeper.incarnation_history()');
    tbl := rowkeeper._audit_table_of_id(table_id);
    IF tbl IS NOT NULL THEN
        key := rowkeeper.normalize_key(tbl, key);
    END IF;
    RETURN QUERY SELECT * FROM rowkeeper._history(incarnation_history.table_id, key);
END;
$$;

COMMENT ON FUNCTION rowkeeper.incarnation_history(bigint, jsonb) IS
'Like row_history, for a table identity by its table_id (rowkeeper.audit_incarnations), also one of a dropped table: a previous incarnation.';

/*
 * A row as of a time: start from the row as it is now and undo, newest
 * first, every logged change made after that time.  Exact for every logged
 * column, also for rows that predate auditing; excluded columns are left
 * out, redacted ones read "[redacted]" where a change was undone.
 */
CREATE OR REPLACE FUNCTION rowkeeper.row_as_of(tbl regclass, key jsonb, at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e rowkeeper.audit_log;
    img jsonb;
BEGIN
    IF tbl IS NULL OR key IS NULL OR at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.row_as_of(): table, key and time must not be NULL';
    END IF;
    PERFORM rowkeeper._audit_reader('rowkeeper.row_as_of()');
    tbl := rowkeeper._audit_base(tbl);
    key := rowkeeper.normalize_key(tbl, key);
    img := rowkeeper._live_row(tbl, key);
    FOR e IN SELECT (r.entry).*
               FROM rowkeeper._row_entries_ordered(rowkeeper._history_id(tbl), key,
                                                   rowkeeper._audit_on_cluster(tbl)) r
              WHERE (r.entry).logged_at > at ORDER BY r.seq DESC LOOP
        img := CASE e.op WHEN 'INSERT' THEN NULL
                         WHEN 'DELETE' THEN e.old_row
                         WHEN 'TRUNCATE' THEN img
                         WHEN 'EVENT' THEN img
                         WHEN 'FORGET' THEN img
                         ELSE coalesce(img, '{}') || e.old_row   -- UPDATE, SOFT_DELETE, RESTORE
                         END;
    END LOOP;
    RETURN img;
END;
$$;

COMMENT ON FUNCTION rowkeeper.row_as_of(regclass, jsonb, timestamptz) IS
'One row as it was at a time, as jsonb (NULL if it did not exist then). For the table''s row type: jsonb_populate_record(NULL::tbl, rowkeeper.row_as_of(...)).';

CREATE OR REPLACE FUNCTION rowkeeper.table_as_of(tbl regclass, at timestamptz)
RETURNS SETOF jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keys text[];
    e record;
BEGIN
    IF tbl IS NULL OR at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.table_as_of(): table and time must not be NULL';
    END IF;
    PERFORM rowkeeper._audit_reader('rowkeeper.table_as_of()');
    tbl := rowkeeper._audit_base(tbl);
    keys := (rowkeeper._row_key(tbl)).columns::text[];
    IF pg_catalog.to_regclass('pg_temp.rowkeeper_as_of') IS NULL THEN
        CREATE TEMP TABLE rowkeeper_as_of (k jsonb PRIMARY KEY, r jsonb);
    END IF;
    TRUNCATE rowkeeper_as_of;
    -- (a Citus table is read whole first: the key extraction cannot run on the shards)
    EXECUTE format('WITH t AS %s (SELECT pg_catalog.to_jsonb(t) AS j FROM %s t)
                    INSERT INTO rowkeeper_as_of
                    SELECT (SELECT pg_catalog.jsonb_object_agg(j.key, j.value)
                              FROM pg_catalog.jsonb_each(t.j) j WHERE j.key = ANY ($1)),
                           t.j - $2
                      FROM t',
                   CASE WHEN (rowkeeper._citus_distribution_column(tbl)).is_citus THEN 'MATERIALIZED' ELSE '' END,
                   rowkeeper._rel_ref(tbl))
      USING keys, rowkeeper._excluded_columns(tbl);
    -- on a Citus coordinator, a Citus table's entries are on every node
    FOR e IN EXECUTE CASE WHEN rowkeeper._audit_on_cluster(tbl) THEN
                 'SELECT (c.entry).op, (c.entry).row_key, (c.entry).old_key, (c.entry).old_row
                    FROM rowkeeper._audit_cluster_log($1, NULL, $2) c
                   WHERE (c.entry).logged_at > $2
                   ORDER BY c.ord DESC, c.node DESC, (c.entry).id DESC'
             ELSE
                 'SELECT l.op, l.row_key, l.old_key, l.old_row
                    FROM rowkeeper.audit_log l
                   WHERE l.logged_at > $2 AND l.table_id = $1
                   ORDER BY l.id DESC' END
             USING rowkeeper._history_id(tbl), at LOOP
        IF e.op = 'INSERT' THEN
            DELETE FROM rowkeeper_as_of WHERE k = e.row_key;
        ELSIF e.op = 'DELETE' THEN
            INSERT INTO rowkeeper_as_of VALUES (e.row_key, e.old_row)
            ON CONFLICT (k) DO UPDATE SET r = EXCLUDED.r;
        ELSIF e.op IN ('UPDATE', 'SOFT_DELETE', 'RESTORE') THEN
            UPDATE rowkeeper_as_of SET k = coalesce(e.old_key, e.row_key), r = r || e.old_row
             WHERE k = e.row_key;
        ELSIF e.op = 'TRUNCATE' THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('%s was truncated after %s', tbl, at),
                DETAIL = 'TRUNCATE logs no row images, so the rows before it cannot be rebuilt.';
        END IF;
    END LOOP;
    RETURN QUERY SELECT r FROM rowkeeper_as_of ORDER BY k;
    TRUNCATE rowkeeper_as_of;
END;
$$;

COMMENT ON FUNCTION rowkeeper.table_as_of(regclass, timestamptz) IS
'The whole table as it was at a time, one jsonb per row: the current rows with every later logged change undone. Typed: SELECT t.* FROM rowkeeper.table_as_of(''tbl'', ts) j, jsonb_populate_record(NULL::tbl, j) t.';

CREATE OR REPLACE FUNCTION rowkeeper.diff(tbl regclass, key jsonb, t1 timestamptz, t2 timestamptz)
RETURNS TABLE (column_name text, value_at_t1 jsonb, value_at_t2 jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH a AS (SELECT coalesce(rowkeeper.row_as_of(tbl, key, t1), '{}') AS r),
         b AS (SELECT coalesce(rowkeeper.row_as_of(tbl, key, t2), '{}') AS r)
    SELECT c, a.r -> c, b.r -> c
      FROM a, b, LATERAL (SELECT pg_catalog.jsonb_object_keys(a.r) UNION SELECT pg_catalog.jsonb_object_keys(b.r)) AS k(c)
     WHERE (a.r -> c) IS DISTINCT FROM (b.r -> c)
     ORDER BY c
$$;

COMMENT ON FUNCTION rowkeeper.diff(regclass, jsonb, timestamptz, timestamptz) IS
'The columns of one row whose values differ between two times (NULL where the row or column did not exist).';

CREATE OR REPLACE FUNCTION rowkeeper.changes(tbl regclass, since timestamptz, until timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF rowkeeper.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM rowkeeper._audit_reader('rowkeeper.changes()');
    IF rowkeeper._audit_on_cluster(tbl) THEN      -- a Citus table: entries on every node
        RETURN QUERY
            SELECT (c.entry).* FROM rowkeeper._audit_cluster_log(rowkeeper._history_id(tbl), NULL, since, until) c
             ORDER BY c.ord, c.node, (c.entry).id;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT l.* FROM rowkeeper.audit_log l
         WHERE l.logged_at >= since AND l.logged_at <= until
           AND l.table_id = rowkeeper._history_id(tbl)
         ORDER BY l.id;
END;
$$;

COMMENT ON FUNCTION rowkeeper.changes(regclass, timestamptz, timestamptz) IS
'Log entries of one table (its own, under all its names) in a time window, in order.';

CREATE OR REPLACE FUNCTION rowkeeper.changes_by(actor text, since timestamptz, until timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF rowkeeper.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM rowkeeper._audit_reader('rowkeeper.changes_by()');
    IF rowkeeper._audit_citus_coordinator() THEN  -- entries of Citus tables are on every node
        RETURN QUERY
            SELECT (c.entry).* FROM rowkeeper._audit_cluster_log(NULL, NULL, since, until, changes_by.actor) c
             ORDER BY c.ord, c.node, (c.entry).id;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT l.* FROM rowkeeper.audit_log l
         WHERE l.logged_at >= since AND l.logged_at <= until AND l.actor = changes_by.actor
         ORDER BY l.id;
END;
$$;

COMMENT ON FUNCTION rowkeeper.changes_by(text, timestamptz, timestamptz) IS
'Log entries made under one rowkeeper.actor in a time window, in order.';

CREATE OR REPLACE FUNCTION rowkeeper.transaction_changes(txid xid8)
RETURNS SETOF rowkeeper.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM rowkeeper._audit_reader('rowkeeper.transaction_changes()');
    RETURN QUERY
        SELECT l.* FROM rowkeeper.audit_log l WHERE l.txid = transaction_changes.txid ORDER BY l.id;
END;
$$;

COMMENT ON FUNCTION rowkeeper.transaction_changes(xid8) IS
'Log entries of one transaction, in order.';

/*
 * Write a row image back into a table: insert it, or set the given columns
 * of the row with key where_key.  Redacted values cannot be written back.
 */
CREATE OR REPLACE FUNCTION rowkeeper._write_image(tbl regclass, where_key jsonb, image jsonb, force boolean, caller text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text[];
    cond text;
    n bigint;
BEGIN
    IF force THEN               -- redacted and erased columns are left out (defaults on INSERT)
        image := image - ARRAY(SELECT j.key FROM pg_catalog.jsonb_each(image) j WHERE j.value IN ('"[redacted]"', '"[erased]"'));
    END IF;
    -- the image's columns that can be written: they still exist and are not
    -- generated (those compute themselves)
    SELECT array_agg(a.attname::text ORDER BY a.attname) INTO cols
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
       AND image ? a.attname;
    IF cols IS NULL THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.jsonb_each(image) j WHERE j.value = '"[redacted]"' AND j.key = ANY (cols)) THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s: the logged image of %s holds redacted values', caller, tbl),
            DETAIL = format('Redacted columns: %s.', (SELECT string_agg(j.key, ', ' ORDER BY j.key)
                                                     FROM pg_catalog.jsonb_each(image) j WHERE j.value = '"[redacted]"')),
            HINT = 'Their old values were never logged: pass force => true to write the row without them, then set them by hand.';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.jsonb_each(image) j WHERE j.value = '"[erased]"' AND j.key = ANY (cols)) THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s: the logged image of %s holds erased values', caller, tbl),
            DETAIL = format('Erased columns (rowkeeper.forget): %s.', (SELECT string_agg(j.key, ', ' ORDER BY j.key)
                                                     FROM pg_catalog.jsonb_each(image) j WHERE j.value = '"[erased]"')),
            HINT = 'Their values were erased from the log: pass force => true to write the row without them.';
    END IF;
    IF where_key IS NULL THEN
        -- the logged identity values come back too (a re-inserted row keeps its id)
        EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) r',
                       tbl,
                       (SELECT string_agg(format('%I', c), ', ') FROM pg_catalog.unnest(cols) c),
                       (SELECT string_agg(format('r.%I', c), ', ') FROM pg_catalog.unnest(cols) c),
                       tbl)
          USING image;
    ELSE
        cond := rowkeeper._key_join(tbl, 't', 'k');
        EXECUTE format('UPDATE %s t SET (%s) = (SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) r) '
                       'FROM pg_catalog.jsonb_populate_record(NULL::%s, $2) k WHERE %s',
                       rowkeeper._rel_ref(tbl),
                       (SELECT string_agg(format('%I', c), ', ') FROM pg_catalog.unnest(cols) c),
                       (SELECT string_agg(format('r.%I', c), ', ') FROM pg_catalog.unnest(cols) c),
                       tbl, tbl, cond)
          USING image, where_key;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n <> 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'no_data_found',
                MESSAGE = format('%s: no row of %s has key %s', caller, tbl, where_key);
        END IF;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._write_image(regclass, jsonb, jsonb, boolean, text) IS
'Internal: insert a logged row image, or set its columns on the row with a key.';

CREATE OR REPLACE FUNCTION rowkeeper._delete_row(tbl regclass, key jsonb, caller text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cond text;
    n bigint;
BEGIN
    cond := rowkeeper._key_join(tbl, 't', 'k');
    EXECUTE format('DELETE FROM %s t USING pg_catalog.jsonb_populate_record(NULL::%s, $1) k WHERE %s',
                   rowkeeper._rel_ref(tbl), tbl, cond)
      USING key;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('%s: no row of %s has key %s', caller, tbl, key);
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._delete_row(regclass, jsonb, text) IS
'Internal: delete the row with a key, exactly one.';

/*
 * Whether the live row with key holds the logged values in image, compared
 * as the column's type (so a timestamp logged under another TimeZone still
 * matches).  Redacted values are not compared.
 */
CREATE OR REPLACE FUNCTION rowkeeper._row_matches(tbl regclass, key jsonb, image jsonb)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cond text;
    same text;
    found boolean;
BEGIN
    cond := rowkeeper._key_join(tbl, 't', 'k');
    SELECT coalesce(string_agg(format('t.%I IS NOT DISTINCT FROM x.%I', j.key, j.key), ' AND '), 'true')
      INTO same FROM pg_catalog.jsonb_each(image) j WHERE j.value NOT IN ('"[redacted]"', '"[erased]"');
    EXECUTE format('SELECT EXISTS (SELECT FROM %s t, pg_catalog.jsonb_populate_record(NULL::%s, $1) k, '
                   'pg_catalog.jsonb_populate_record(NULL::%s, $2) x WHERE %s AND %s)',
                   rowkeeper._rel_ref(tbl), tbl, tbl, cond, same)
       INTO found USING key, image;
    RETURN found;
END;
$$;

COMMENT ON FUNCTION rowkeeper._row_matches(regclass, jsonb, jsonb) IS
'Internal: whether the row with a key exists and holds the logged values of an image (typed comparison).';

/*
 * Revert one logged change.  Conflict: the row changed again after the
 * entry (a later entry, other than those in skip_txid, or a live row that
 * no longer matches the entry's result).  force => true reverts anyway.
 */
CREATE OR REPLACE FUNCTION rowkeeper._undo_entry(e rowkeeper.audit_log, force boolean, skip_txid xid8, caller text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- only ever the table the entry belongs to, by identity, never by name
    tbl regclass := rowkeeper._audit_table_of_id(e.table_id);
    later bigint;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_table',
            MESSAGE = format('%s: table %I.%I of audit entry %s no longer exists', caller, e.schema_name, e.table_name, e.id),
            DETAIL = CASE WHEN e.table_id IS NULL THEN 'The entry names no table identity.'
                          ELSE format('Its table (table_id %s) was dropped; a table created under its name since is another table.', e.table_id) END,
            HINT = 'Its history stays readable: rowkeeper.incarnation_history(table_id, key).';
    END IF;
    IF e.op = 'TRUNCATE' THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('%s: audit entry %s is a TRUNCATE, which logs no rows', caller, e.id);
    END IF;
    IF e.op NOT IN ('INSERT', 'UPDATE', 'DELETE', 'SOFT_DELETE', 'RESTORE') THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('%s: audit entry %s is %s, which records no row change', caller, e.id, e.op);
    END IF;
    IF NOT force THEN
        SELECT min(l.id) INTO later FROM rowkeeper.audit_log l
         WHERE l.row_ref = e.row_ref AND l.table_id = e.table_id
           AND l.row_key = e.row_key AND l.id > e.id
           AND (skip_txid IS NULL OR l.txid <> skip_txid);
        IF later IS NOT NULL
           OR (e.op = 'DELETE' AND rowkeeper._row_matches(tbl, e.row_key, '{}'))
           OR (e.op <> 'DELETE' AND NOT rowkeeper._row_matches(tbl, e.row_key, e.new_row)) THEN
            RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
                MESSAGE = format('%s: row %s of %s changed after audit entry %s', caller, e.row_key, tbl, e.id),
                DETAIL = CASE WHEN later IS NOT NULL THEN format('Audit entry %s changed it later.', later)
                              ELSE 'The row no longer looks as the entry left it.' END,
                HINT = 'Look at rowkeeper.row_history(); pass force => true to revert anyway.';
        END IF;
    END IF;
    IF e.op = 'INSERT' THEN
        PERFORM rowkeeper._delete_row(tbl, e.row_key, caller);
    ELSIF e.op = 'DELETE' THEN
        PERFORM rowkeeper._write_image(tbl, NULL, e.old_row, force, caller);
    ELSE
        PERFORM rowkeeper._write_image(tbl, e.row_key, e.old_row, force, caller);
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._undo_entry(rowkeeper.audit_log, boolean, xid8, text) IS
'Internal: revert one audit entry, with conflict detection.';

CREATE OR REPLACE FUNCTION rowkeeper.undo(audit_id bigint, force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e rowkeeper.audit_log;
BEGIN
    IF audit_id IS NULL OR force IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.undo(): arguments must not be NULL';
    END IF;
    PERFORM rowkeeper._audit_reader('rowkeeper.undo()');
    SELECT * INTO e FROM rowkeeper.audit_log l WHERE l.id = rowkeeper._audit_local_entry(audit_id);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('rowkeeper.undo(): no audit entry %s', audit_id);
    END IF;
    PERFORM rowkeeper._undo_entry(e, force, NULL, 'rowkeeper.undo()');
END;
$$;

COMMENT ON FUNCTION rowkeeper.undo(bigint, boolean) IS
'Revert one logged change (delete an inserted row, re-insert a deleted one, restore the old values of an update); refuses if the row changed since, unless force. The revert is itself audited.';

CREATE OR REPLACE FUNCTION rowkeeper.undo_transaction(txid xid8, force boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e rowkeeper.audit_log;
    n bigint := 0;
BEGIN
    IF txid IS NULL OR force IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.undo_transaction(): arguments must not be NULL';
    END IF;
    PERFORM rowkeeper._audit_reader('rowkeeper.undo_transaction()');
    FOR e IN SELECT * FROM rowkeeper.audit_log l
              WHERE l.txid = undo_transaction.txid AND l.op NOT IN ('AUDIT_DRIFT', 'AUDIT_REPAIR', 'EVENT', 'FORGET', 'FORGET_ACTOR')
              ORDER BY l.id DESC LOOP
        PERFORM rowkeeper._undo_entry(e, force, undo_transaction.txid, 'rowkeeper.undo_transaction()');
        n := n + 1;
    END LOOP;
    IF n = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('rowkeeper.undo_transaction(): transaction %s logged nothing', txid);
    END IF;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION rowkeeper.undo_transaction(xid8, boolean) IS
'Revert everything one transaction logged, newest first, atomically; refuses if any row changed since (unless force). Returns the number of entries reverted.';

CREATE OR REPLACE FUNCTION rowkeeper.restore_row(tbl regclass, key jsonb, at timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.restore_row()';
    target jsonb;
    live jsonb;
BEGIN
    IF tbl IS NULL OR key IS NULL OR at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: arguments must not be NULL', caller);
    END IF;
    tbl := rowkeeper._audit_base(tbl);
    key := rowkeeper.normalize_key(tbl, key);
    target := rowkeeper.row_as_of(tbl, key, at);
    live := rowkeeper._live_row(tbl, key);
    IF target IS NULL AND live IS NULL THEN
        RETURN;
    ELSIF target IS NULL THEN
        PERFORM rowkeeper._delete_row(tbl, key, caller);
    ELSIF live IS NULL THEN
        PERFORM rowkeeper._write_image(tbl, NULL, target, false, caller);
    ELSIF live <> target THEN
        PERFORM rowkeeper._write_image(tbl, key,
            (SELECT pg_catalog.jsonb_object_agg(j.key, j.value) FROM pg_catalog.jsonb_each(target) j
              WHERE live -> j.key IS DISTINCT FROM j.value), false, caller);
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper.restore_row(regclass, jsonb, timestamptz) IS
'Put one row back as it was at a time (insert, update or delete it). The change is itself audited.';

