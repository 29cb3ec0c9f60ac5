
------------------------------------------------------------------------------
-- Audit trail
------------------------------------------------------------------------------

-- The audit trigger writes rows straight into the partition when nothing on
-- the log needs the executor (see src/audit_log.c); a CHECK constraint would
-- send every row through a planned INSERT.  op is written only by the
-- trigger, which knows its four values.
ALTER TABLE rowkeeper.audit_log DROP CONSTRAINT audit_log_op_check;
COMMENT ON COLUMN rowkeeper.audit_log.op IS 'INSERT, UPDATE, DELETE or TRUNCATE.';

-- History index: a btree on (schema_name, table_name, row_key) compared two
-- collated strings and then two jsonb values per tree level on every
-- insert; row_ref, a 64-bit number computed from the three by the trigger
-- (the table's names hashed in the high half, an integer key's value or
-- any other key's hash in the low half), is cheap to compare, and
-- (row_ref, id) returns a row's history in order.
CREATE FUNCTION rowkeeper.row_ref(schema_name text, table_name text, row_key jsonb)
RETURNS bigint
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'audit_row_ref';

COMMENT ON FUNCTION rowkeeper.row_ref(text, text, jsonb) IS
'The history index key of a row as stored in rowkeeper.audit_log.row_ref (high 32 bits: a hash of schema and table; low 32 bits: the value of a one-column integer key, else a hash of the key); filter on it (and the three columns) to use the history index.';

ALTER TABLE rowkeeper.audit_log ADD COLUMN row_ref bigint;
COMMENT ON COLUMN rowkeeper.audit_log.row_ref IS
'rowkeeper.row_ref(schema_name, table_name, row_key): the key of the history index (NULL for TRUNCATE).';
UPDATE rowkeeper.audit_log
   SET row_ref = rowkeeper.row_ref(schema_name, table_name, row_key)
 WHERE row_key IS NOT NULL;

DROP INDEX rowkeeper.audit_log_row_idx;
DROP INDEX rowkeeper.audit_log_id_idx;
DROP INDEX rowkeeper.audit_log_logged_at_idx;

/*
 * The log's indexes are made per partition, not on the partitioned table.
 * The partitioned table belongs to the extension and the monthly
 * partitions do not (create_audit_partitions makes them at run time), so
 * pg_dump dumps the partitions with their indexes, and a restore attaches
 * them to the table CREATE EXTENSION made.  With indexes on the partitioned
 * table, ATTACH PARTITION would create the partition's indexes first and the
 * dump's own CREATE INDEX would then fail (found by 002_dump_restore.pl).
 *
 * (row_ref, id): one row's history, in order.  BRIN (logged_at, id, txid):
 * time ranges, id lookups and one transaction's entries (for
 * transaction_changes(), undo_transaction() and sealing the hash chain).
 * All three grow with insertion order (txid with time, give or take the
 * transactions that overlap), so a range of 128 heap pages has a narrow
 * summary of each, and the index costs next to nothing per insert: the
 * range being filled is not summarized yet, so an insert only reads the
 * range map.  A btree on txid cost as much per insert as the history index
 * (about 10,000 instructions, an eighth of an audited UPDATE's overhead).
 * autosummarize has autovacuum summarize each range as soon as it is full,
 * so lookups read the unsummarized tail (the ranges filled since
 * autovacuum's last round) and the ranges whose summary matches, not the
 * whole partition.  xid8 has no BRIN operator class of its own; the minmax
 * one below is PostgreSQL's generic minmax support over xid8's comparison
 * operators, as its integer_minmax_ops are over int8's.
 */
CREATE OPERATOR CLASS rowkeeper.xid8_minmax_ops
    FOR TYPE pg_catalog.xid8 USING brin AS
    OPERATOR 1 pg_catalog.< (pg_catalog.xid8, pg_catalog.xid8),
    OPERATOR 2 pg_catalog.<= (pg_catalog.xid8, pg_catalog.xid8),
    OPERATOR 3 pg_catalog.= (pg_catalog.xid8, pg_catalog.xid8),
    OPERATOR 4 pg_catalog.>= (pg_catalog.xid8, pg_catalog.xid8),
    OPERATOR 5 pg_catalog.> (pg_catalog.xid8, pg_catalog.xid8),
    FUNCTION 1 pg_catalog.brin_minmax_opcinfo(internal),
    FUNCTION 2 pg_catalog.brin_minmax_add_value(internal, internal, internal, internal),
    FUNCTION 3 pg_catalog.brin_minmax_consistent(internal, internal, internal),
    FUNCTION 4 pg_catalog.brin_minmax_union(internal, internal, internal);

COMMENT ON OPERATOR CLASS rowkeeper.xid8_minmax_ops USING brin IS
'BRIN minmax summaries of xid8 values: the txid column of rowkeeper.audit_log''s time index.';

CREATE FUNCTION rowkeeper._index_audit_partition(part regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = part);
BEGIN
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (row_ref, id)', name || '_row_ref_idx', part);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING brin '
                   '(logged_at, id, txid rowkeeper.xid8_minmax_ops) WITH (autosummarize = on)',
                   name || '_time_idx', part);
END;
$$;

COMMENT ON FUNCTION rowkeeper._index_audit_partition(regclass) IS
'Internal: create the history index and the time (and transaction) index of one partition of rowkeeper.audit_log.';

SELECT rowkeeper._index_audit_partition(t.relid)
  FROM pg_catalog.pg_partition_tree('rowkeeper.audit_log') t
 WHERE t.isleaf;

/*
 * A new partition of the log is readable by whoever was granted SELECT on
 * rowkeeper.audit_log itself (rowkeeper_auditor, and the roles given
 * grant_dump_access(): pg_dump reads every partition as a table of its own).
 */
CREATE FUNCTION rowkeeper._grant_partition_readers(part regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    reader regrole;
BEGIN
    FOR reader IN SELECT DISTINCT acl.grantee::regrole
                    FROM pg_catalog.pg_class c
                   CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) acl
                   WHERE c.oid = 'rowkeeper.audit_log'::regclass
                     AND acl.privilege_type = 'SELECT' AND acl.grantee <> 0
                     AND acl.grantee <> c.relowner LOOP
        EXECUTE format('GRANT SELECT ON %s TO %s', part, reader);
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._grant_partition_readers(regclass) IS
'Internal: grant SELECT on a new partition of rowkeeper.audit_log to every role that may read rowkeeper.audit_log.';

/*
 * create_audit_partitions: as in 0.1.0, and each new partition gets its
 * indexes and the log's readers.
 */
CREATE OR REPLACE FUNCTION rowkeeper.create_audit_partitions(months_ahead int DEFAULT 3)
RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m date;
    part text;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('months_ahead must be between 0 and 120, not %s', coalesce(months_ahead::text, 'NULL'));
    END IF;
    FOR m IN SELECT pg_catalog.generate_series(date_trunc('month', now())::date,
                                              (date_trunc('month', now()) + make_interval(months => months_ahead))::date,
                                              interval '1 month')::date LOOP
        part := 'audit_log_' || to_char(m, '"y"YYYY"m"MM');
        CONTINUE WHEN to_regclass('rowkeeper.' || part) IS NOT NULL;
        IF EXISTS (SELECT FROM rowkeeper.audit_log_default
                    WHERE logged_at >= m AND logged_at < (m + interval '1 month')) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('audit entries for %s are in the default partition', to_char(m, 'YYYY-MM')),
                DETAIL = 'A monthly partition cannot be created while the default partition holds rows of its range.',
                HINT = 'Move those rows into a new partition by hand, or schedule rowkeeper.create_audit_partitions() ahead of time (pg_cron).';
        END IF;
        EXECUTE format('CREATE TABLE rowkeeper.%I PARTITION OF rowkeeper.audit_log FOR VALUES FROM (%L) TO (%L)',
                       part, m::timestamptz, (m + interval '1 month')::timestamptz);
        EXECUTE format('REVOKE ALL ON rowkeeper.%I FROM PUBLIC', part);
        PERFORM rowkeeper._grant_partition_readers(('rowkeeper.' || quote_ident(part))::regclass);
        PERFORM rowkeeper._index_audit_partition(('rowkeeper.' || quote_ident(part))::regclass);
        RETURN NEXT ('rowkeeper.' || quote_ident(part))::regclass;
    END LOOP;
END;
$$;

-- The "auditing since" comment moves to the TRUNCATE trigger, which both
-- modes have.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT r.tgrelid::regclass AS tbl,
                    pg_catalog.obj_description(r.oid, 'pg_trigger') AS since
               FROM pg_catalog.pg_trigger r
              WHERE r.tgname = 'rowkeeper_audit' AND r.tgparentid = 0
                AND r.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure
                AND EXISTS (SELECT FROM pg_catalog.pg_trigger x
                             WHERE x.tgrelid = r.tgrelid AND x.tgname = 'rowkeeper_audit_truncate') LOOP
        EXECUTE format('COMMENT ON TRIGGER rowkeeper_audit_truncate ON %s IS %L', t.tbl, t.since);
        EXECUTE format('COMMENT ON TRIGGER rowkeeper_audit ON %s IS NULL', t.tbl);
    END LOOP;
END;
$$;

/*
 * One row per audited table.  The options are read from the arguments of
 * the row-change trigger (row mode: rowkeeper_audit; statement mode:
 * rowkeeper_audit_insert, its siblings carry the same ones).
 */
DROP VIEW rowkeeper.audited_tables;
CREATE VIEW rowkeeper.audited_tables AS
SELECT t.tgrelid::regclass                                             AS table_name,
       n.nspname                                                       AS schema_name,
       c.relname                                                       AS relname,
       coalesce(array_agg(pg_catalog.substr(o, 9) ORDER BY o)
                FILTER (WHERE o LIKE 'exclude=%'), '{}')               AS exclude_columns,
       coalesce(array_agg(pg_catalog.substr(o, 8) ORDER BY o)
                FILTER (WHERE o LIKE 'redact=%'), '{}')                AS redact_columns,
       coalesce(bool_or(pg_catalog.substr(o, 11)::boolean)
                FILTER (WHERE o LIKE 'skip_noop=%'), true)             AS skip_noop,
       coalesce(bool_or(pg_catalog.substr(o, 15)::boolean)
                FILTER (WHERE o LIKE 'require_actor=%'), false)        AS require_actor,
       t.tgenabled = 'A'                                               AS replicated,
       NOT EXISTS (SELECT FROM pg_catalog.pg_trigger d
                    WHERE d.tgrelid = t.tgrelid AND d.tgparentid = 0 AND d.tgenabled = 'D'
                      AND d.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure) AS enabled,
       (SELECT pg_catalog.substr(pg_catalog.obj_description(x.oid, 'pg_trigger'), 23)::timestamptz
          FROM pg_catalog.pg_trigger x
         WHERE x.tgrelid = t.tgrelid AND x.tgname = 'rowkeeper_audit_truncate') AS since,
       CASE t.tgname WHEN 'rowkeeper_audit' THEN 'row' ELSE 'statement' END AS mode
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL pg_catalog.unnest(rowkeeper._trigger_args(t.tgargs)) AS o ON true
 WHERE t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure
   AND t.tgparentid = 0
   AND t.tgname IN ('rowkeeper_audit', 'rowkeeper_audit_insert')
 GROUP BY t.oid, t.tgrelid, t.tgname, n.nspname, c.relname, t.tgenabled;

GRANT SELECT ON rowkeeper.audited_tables TO PUBLIC;

COMMENT ON VIEW rowkeeper.audited_tables IS
'Tables audited by rowkeeper, with their options, mode (row or statement) and the time auditing began.';

/*
 * enable_audit gains mode => 'row' | 'statement'.  Statement mode: one
 * AFTER ... FOR EACH STATEMENT trigger per operation with transition tables,
 * so a bulk statement costs one trigger call and one pass over its rows.
 */
DROP FUNCTION rowkeeper.enable_audit(regclass, text[], text[], boolean, boolean, boolean);

CREATE FUNCTION rowkeeper._audit_triggers(tbl regclass)
RETURNS TABLE (tgname name, tgenabled "char", args text[], comment text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.tgname, t.tgenabled, rowkeeper._trigger_args(t.tgargs),
           pg_catalog.obj_description(t.oid, 'pg_trigger')
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = tbl AND t.tgparentid = 0
       AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure
     ORDER BY t.tgname
$$;

COMMENT ON FUNCTION rowkeeper._audit_triggers(regclass) IS
'Internal: the rowkeeper audit triggers of a table (not inherited clones), with their arguments.';

CREATE FUNCTION rowkeeper.enable_audit(tbl regclass,
                                       exclude_columns text[] DEFAULT '{}',
                                       redact_columns text[] DEFAULT '{}',
                                       skip_noop boolean DEFAULT true,
                                       require_actor boolean DEFAULT false,
                                       replicated boolean DEFAULT false,
                                       mode text DEFAULT 'row')
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.enable_audit()';
    col text;
    att pg_catalog.pg_attribute;
    has_key boolean;
    want_args text[];
    want_names name[];
    have record;
    since text;
    trig record;
    op text;
    ref text;
BEGIN
    -- a soft-delete view: its table is what changes (and what is audited)
    tbl := coalesce(rowkeeper._soft_delete_base(tbl), tbl);
    PERFORM rowkeeper._require_owned_table(tbl, caller);
    IF exclude_columns IS NULL OR redact_columns IS NULL OR skip_noop IS NULL
       OR require_actor IS NULL OR replicated IS NULL OR mode IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: options must not be NULL', caller),
            HINT = 'Leave an option out to get its default; pass ''{}'' for no columns.';
    END IF;
    IF mode NOT IN ('row', 'statement') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: unknown mode %L', caller, mode),
            HINT = 'mode => ''row'' (one trigger call per row) or ''statement'' (one call per statement, for bulk writes).';
    END IF;
    IF (SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = tbl) = 't' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'feature_not_supported',
            MESSAGE = format('cannot audit temporary table %s', tbl),
            DETAIL = 'A temporary table''s rows vanish with the session; a permanent log of them is not kept.';
    END IF;
    -- Statement triggers fire only for the table a statement names, so in
    -- statement mode writes through a parent or straight into a partition
    -- or child would escape the log.
    IF mode = 'statement' AND EXISTS (
           SELECT FROM pg_catalog.pg_class c
            WHERE c.oid = tbl AND (c.relkind = 'p' OR c.relispartition OR c.relhassubclass
                                   OR EXISTS (SELECT FROM pg_catalog.pg_inherits i
                                               WHERE i.inhrelid = tbl))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'feature_not_supported',
            MESSAGE = format('statement mode cannot audit %s: it is part of a partition or inheritance tree', tbl),
            DETAIL = 'Statement-level triggers fire only for the table a statement names; writes through another member of the tree would not be logged.',
            HINT = 'Use mode => ''row'' (the default) for partitioned and inherited tables.';
    END IF;

    -- the row key: primary key, else replica identity index
    SELECT EXISTS (SELECT FROM pg_catalog.pg_index i
                    WHERE i.indrelid = tbl AND (i.indisprimary OR i.indisreplident))
      INTO has_key;
    IF NOT has_key THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_table_definition',
            MESSAGE = format('table %s has no primary key or replica identity index', tbl),
            DETAIL = 'The audit trail identifies rows by key.',
            HINT = format('ALTER TABLE %s ADD PRIMARY KEY (...), or ALTER TABLE %s REPLICA IDENTITY USING INDEX <unique index>.', tbl, tbl);
    END IF;

    FOREACH col IN ARRAY exclude_columns || redact_columns LOOP
        att := rowkeeper._require_column(tbl, col, caller);
        IF EXISTS (SELECT FROM pg_catalog.pg_index i
                    WHERE i.indrelid = tbl AND (i.indisprimary OR i.indisreplident)
                      AND att.attnum = ANY (i.indkey)) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('column %I of table %s is part of the row key', col, tbl),
                DETAIL = 'Key columns identify rows in the log; they cannot be excluded or redacted.';
        END IF;
    END LOOP;
    IF EXISTS (SELECT FROM pg_catalog.unnest(exclude_columns) e
                WHERE e = ANY (redact_columns)) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'a column cannot be both excluded and redacted',
            HINT = 'Excluded columns never appear; redacted ones appear, with their value hidden. Choose one.';
    END IF;

    want_args := ARRAY(SELECT 'exclude=' || c FROM pg_catalog.unnest(exclude_columns) c ORDER BY 1)
              || ARRAY(SELECT 'redact=' || c FROM pg_catalog.unnest(redact_columns) c ORDER BY 1)
              || ARRAY['skip_noop=' || skip_noop, 'require_actor=' || require_actor];
    want_names := CASE mode
        WHEN 'row' THEN ARRAY['rowkeeper_audit', 'rowkeeper_audit_truncate']::name[]
        ELSE ARRAY['rowkeeper_audit_delete', 'rowkeeper_audit_insert',
                   'rowkeeper_audit_truncate', 'rowkeeper_audit_update']::name[] END;

    PERFORM rowkeeper.create_audit_partitions();

    SELECT array_agg(a.tgname ORDER BY a.tgname) AS names,
           bool_and(a.args = want_args) AS same_args,
           bool_and((a.tgenabled = 'A') = replicated) AS same_enabled,
           max(a.comment) FILTER (WHERE a.tgname = 'rowkeeper_audit_truncate') AS since
      INTO have
      FROM rowkeeper._audit_triggers(tbl) a;
    IF have.names = want_names AND have.same_args AND have.same_enabled THEN
        RETURN;                 -- already exactly so
    END IF;
    since := coalesce(have.since, 'rowkeeper audit since ' || pg_catalog.now()::text);

    FOR trig IN SELECT a.tgname FROM rowkeeper._audit_triggers(tbl) a LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trig.tgname, tbl);
    END LOOP;
    IF mode = 'row' THEN
        EXECUTE format('CREATE TRIGGER rowkeeper_audit AFTER INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger(%s)',
                       tbl, rowkeeper._quote_args(want_args));
    ELSE
        FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete'] LOOP
            ref := CASE op WHEN 'insert' THEN 'NEW TABLE AS rowkeeper_new'
                           WHEN 'delete' THEN 'OLD TABLE AS rowkeeper_old'
                           ELSE 'OLD TABLE AS rowkeeper_old NEW TABLE AS rowkeeper_new' END;
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s REFERENCING %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION rowkeeper.audit_trigger(%s)',
                           'rowkeeper_audit_' || op, upper(op), tbl, ref,
                           rowkeeper._quote_args(want_args));
        END LOOP;
    END IF;
    EXECUTE format('CREATE TRIGGER rowkeeper_audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION rowkeeper.audit_trigger(%s)',
                   tbl, rowkeeper._quote_args(want_args));
    EXECUTE format('COMMENT ON TRIGGER rowkeeper_audit_truncate ON %s IS %L', tbl, since);
    IF replicated THEN
        FOR trig IN SELECT a.tgname FROM rowkeeper._audit_triggers(tbl) a LOOP
            EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', tbl, trig.tgname);
        END LOOP;
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_audit(regclass, text[], text[], boolean, boolean, boolean, text) IS
'Audit INSERT, UPDATE, DELETE and TRUNCATE on a table into rowkeeper.audit_log, per row (mode => ''row'') or per statement (''statement''). Idempotent; call again to change options.';

/*
 * disable_audit: as in 0.1.0, and a soft-delete view stands for its table.
 */
CREATE OR REPLACE FUNCTION rowkeeper.disable_audit(tbl regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    trig record;
BEGIN
    tbl := coalesce(rowkeeper._soft_delete_base(tbl), tbl);
    PERFORM rowkeeper._require_owned_table(tbl, 'rowkeeper.disable_audit()');
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = tbl AND t.tgparentid = 0
                      AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure) THEN
        RAISE NOTICE 'table % is not audited, nothing to do', tbl;
        RETURN;
    END IF;
    FOR trig IN SELECT t.tgname FROM pg_catalog.pg_trigger t
                 WHERE t.tgrelid = tbl AND t.tgparentid = 0
                   AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trig.tgname, tbl);
    END LOOP;
END;
$$;

/*
 * audit_status: entries and bytes found through the history index's
 * columns, and the state of every audit trigger the mode needs.
 */
DROP FUNCTION rowkeeper.audit_status();
CREATE FUNCTION rowkeeper.audit_status()
RETURNS TABLE (table_name regclass, mode text, entries bigint, bytes bigint,
               row_trigger text, truncate_trigger text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass,
           m.mode,
           (SELECT count(*) FROM rowkeeper.audit_log l
             WHERE l.schema_name = n.nspname AND l.table_name = c.relname),
           (SELECT coalesce(sum(pg_catalog.pg_column_size(l.*)), 0)::bigint FROM rowkeeper.audit_log l
             WHERE l.schema_name = n.nspname AND l.table_name = c.relname),
           CASE
             WHEN m.mode = 'row' THEN
               (SELECT CASE t.tgenabled WHEN 'O' THEN 'enabled' WHEN 'A' THEN 'enabled always'
                                        WHEN 'R' THEN 'enabled replica only' ELSE 'DISABLED' END
                  FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'rowkeeper_audit')
             ELSE
               (SELECT CASE WHEN count(*) < 3 THEN 'MISSING'
                            WHEN bool_or(t.tgenabled = 'D') THEN 'DISABLED'
                            WHEN bool_or(t.tgenabled = 'R') THEN 'enabled replica only'
                            WHEN bool_and(t.tgenabled = 'A') THEN 'enabled always'
                            ELSE 'enabled' END
                  FROM pg_catalog.pg_trigger t
                 WHERE t.tgrelid = c.oid
                   AND t.tgname IN ('rowkeeper_audit_insert', 'rowkeeper_audit_update', 'rowkeeper_audit_delete'))
           END,
           coalesce((SELECT CASE t.tgenabled WHEN 'D' THEN 'DISABLED' ELSE 'enabled' END
                       FROM pg_catalog.pg_trigger t
                      WHERE t.tgrelid = c.oid AND t.tgname = 'rowkeeper_audit_truncate'), 'MISSING')
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL (
           SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_trigger t
                                     WHERE t.tgrelid = c.oid
                                       AND t.tgname IN ('rowkeeper_audit_insert', 'rowkeeper_audit_update',
                                                        'rowkeeper_audit_delete'))
                       THEN 'statement' ELSE 'row' END AS mode) m
     WHERE EXISTS (SELECT FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = c.oid AND t.tgparentid = 0
                      AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure)
     ORDER BY c.oid::regclass::text
$$;

REVOKE ALL ON FUNCTION rowkeeper.audit_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rowkeeper.audit_status() TO rowkeeper_auditor;

COMMENT ON FUNCTION rowkeeper.audit_status() IS
'Audited tables: mode, log entries and bytes, and the state of their audit triggers (drift is reported, not hidden).';
