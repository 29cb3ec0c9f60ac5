/*
 * rowkeeper 0.1.0 -> 0.2.0: upgrade script, built by make from the
 * fragments in sql/0.2.0/ (one per capability, applied in file-name order).
 *
 * There is no full 0.2.0 install script: CREATE EXTENSION rowkeeper runs
 * rowkeeper--0.1.0.sql and then this script, so a fresh install and an
 * upgraded 0.1.0 install are the same objects by construction, and every
 * test run exercises the upgrade path.  Released scripts are never edited.
 */

\echo Use "CREATE EXTENSION rowkeeper" or "ALTER EXTENSION rowkeeper UPDATE" to load this file. \quit

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

------------------------------------------------------------------------------
-- Helpers shared by the 0.2.0 capabilities (audit queries, soft delete,
-- purge): defined first so every fragment can use them.
------------------------------------------------------------------------------

/*
 * The equality operator (btree strategy 3) of a btree operator class, as
 * "OPERATOR(schema.=)" text, so that generated SQL means the same under any
 * search_path it runs with.
 */
CREATE FUNCTION rowkeeper._opclass_eq_operator(opclass oid)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('OPERATOR(%I.%s)', n.nspname, o.oprname)
      FROM pg_catalog.pg_opclass oc
      JOIN pg_catalog.pg_amop ao ON ao.amopfamily = oc.opcfamily
                                AND ao.amoplefttype = oc.opcintype
                                AND ao.amoprighttype = oc.opcintype
                                AND ao.amopstrategy = 3
      JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr
      JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
     WHERE oc.oid = opclass
$$;

COMMENT ON FUNCTION rowkeeper._opclass_eq_operator(oid) IS
'Internal: the schema-qualified equality operator of a btree operator class, for generated SQL.';

/*
 * The row key of a table (primary key, else replica identity index): its
 * columns, their types and the btree equality operator of each, as
 * "OPERATOR(schema.=)" text usable in generated SQL.
 */
CREATE FUNCTION rowkeeper._row_key(tbl regclass,
    OUT columns name[], OUT types regtype[], OUT operators text[])
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord),
           pg_catalog.array_agg(a.atttypid::pg_catalog.regtype ORDER BY k.ord),
           pg_catalog.array_agg(rowkeeper._opclass_eq_operator(k.opclass) ORDER BY k.ord)
      FROM (SELECT i.indkey, i.indclass FROM pg_catalog.pg_index i
             WHERE i.indrelid = tbl AND (i.indisprimary OR i.indisreplident)
             ORDER BY i.indisprimary DESC LIMIT 1) i
     CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(i.indkey::int2[]), pg_catalog.unnest(i.indclass::oid[]))
                        WITH ORDINALITY AS k(attnum, opclass, ord)
      JOIN pg_catalog.pg_attribute a ON a.attrelid = tbl AND a.attnum = k.attnum
    HAVING pg_catalog.count(*) > 0
$$;

COMMENT ON FUNCTION rowkeeper._row_key(regclass) IS
'Internal: the key columns of a table (primary key, else replica identity), their types and equality operators.';

/*
 * "l.k1 = r.k1 AND l.k2 = r.k2 ...": two aliases of tbl joined on its row
 * key, each "=" named with its schema (OPERATOR(pg_catalog.=)), so that the
 * text means the same under any search_path it is run with.
 */
CREATE FUNCTION rowkeeper._key_join(tbl regclass, l text, r text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I %s %I.%I', l, k.c, k.op, r, k.c), ' AND ' ORDER BY k.i)
      FROM rowkeeper._row_key(tbl) rk
     CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(rk.columns), pg_catalog.unnest(rk.operators))
           WITH ORDINALITY AS k(c, op, i)
$$;

COMMENT ON FUNCTION rowkeeper._key_join(regclass, text, text) IS
'Internal: the condition joining two aliases of a table on its row key, for generated SQL.';

/*
 * The equality operator of a column, as "OPERATOR(schema.=)" text for
 * generated SQL: the one of the default btree operator class of its type
 * (so citext compares as citext, an enum as an enum), else pg_catalog's.
 * Generated statements that run under the caller's search_path (purge
 * runs the table's triggers with it) must never leave "=" to that path.
 */
CREATE FUNCTION rowkeeper._eq_operator(tbl regclass, column_name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT rowkeeper._opclass_eq_operator(oc.oid)
           FROM pg_catalog.pg_attribute a
           JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
           JOIN pg_catalog.pg_opclass oc
                ON oc.opcdefault
               AND oc.opcmethod = (SELECT m.oid FROM pg_catalog.pg_am m WHERE m.amname = 'btree')
               AND oc.opcintype = CASE WHEN t.typtype = 'd' THEN t.typbasetype
                                       WHEN t.typtype = 'e' THEN 'pg_catalog.anyenum'::pg_catalog.regtype
                                       WHEN t.typcategory = 'A' THEN 'pg_catalog.anyarray'::pg_catalog.regtype
                                       ELSE a.atttypid END
          WHERE a.attrelid = tbl AND a.attname = column_name
            AND a.attnum > 0 AND NOT a.attisdropped
          LIMIT 1),
        'OPERATOR(pg_catalog.=)')
$$;

COMMENT ON FUNCTION rowkeeper._eq_operator(regclass, text) IS
'Internal: the schema-qualified equality operator of a column''s type, for generated SQL.';

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
 * create_audit_partitions: as in 0.1.0, and each new partition gets its
 * indexes.
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

------------------------------------------------------------------------------
-- Audit queries and undo
--
-- Everything here is cold path (support screens, investigations), so it is
-- SQL and PL/pgSQL, run with the caller's rights: reading the log needs
-- rowkeeper_auditor, reading or changing a table needs the usual privileges
-- on it (and row-level security on it applies).  Rows are found through the
-- log's indexes: (row_ref, id) for one row, BRIN (logged_at, id, txid) for a
-- time window or a transaction.
------------------------------------------------------------------------------

/*
 * Names an audited table has logged under.  The log keeps names, not OIDs
 * (OIDs change on restore), so a rename would cut a table off from its
 * history: an event trigger on CREATE TRIGGER (enable_audit) and ALTER TABLE
 * records every (oid, schema, name) an audited table has had.  A table's
 * names are its current one, those recorded under its OID, and those
 * recorded under any OID that once had its current name (the same table
 * before a restore).  No unique key: pg_restore re-creates the audit
 * triggers (the event trigger records them) before it copies this table's
 * dumped rows, which in a fresh cluster may carry the very same OIDs; a
 * duplicate row is harmless, a failed restore is not.
 */
CREATE TABLE rowkeeper.audit_table_names (
    table_oid    oid         NOT NULL,
    schema_name  text        NOT NULL,
    table_name   text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX audit_table_names_oid_idx ON rowkeeper.audit_table_names (table_oid);
CREATE INDEX audit_table_names_name_idx ON rowkeeper.audit_table_names (schema_name, table_name);
REVOKE ALL ON rowkeeper.audit_table_names FROM PUBLIC;
GRANT SELECT ON rowkeeper.audit_table_names TO rowkeeper_auditor;
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_table_names', '');
COMMENT ON TABLE rowkeeper.audit_table_names IS
'Every schema and name an audited table has had, so its history survives renames.';

INSERT INTO rowkeeper.audit_table_names (table_oid, schema_name, table_name)
SELECT DISTINCT c.oid, n.nspname, c.relname
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure AND t.tgparentid = 0;

CREATE FUNCTION rowkeeper._record_audit_names()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO rowkeeper.audit_table_names (table_oid, schema_name, table_name)
    SELECT DISTINCT c.oid, n.nspname, c.relname
      FROM pg_catalog.pg_event_trigger_ddl_commands() d
      LEFT JOIN pg_catalog.pg_trigger g
             ON d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND g.oid = d.objid
      JOIN pg_catalog.pg_class c
             ON c.oid = CASE WHEN d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                             THEN d.objid ELSE g.tgrelid END
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE EXISTS (SELECT FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = c.oid AND t.tgparentid = 0
                      AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure)
       AND NOT EXISTS (SELECT FROM rowkeeper.audit_table_names r
                        WHERE r.table_oid = c.oid AND r.schema_name = n.nspname
                          AND r.table_name = c.relname);
END;
$$;

COMMENT ON FUNCTION rowkeeper._record_audit_names() IS
'Internal event trigger: records the name of an audited table when its audit triggers are created (enable_audit) and after ALTER TABLE (RENAME, SET SCHEMA).';

CREATE EVENT TRIGGER rowkeeper_audit_names ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER')
    EXECUTE FUNCTION rowkeeper._record_audit_names();

/*
 * The table whose changes the log holds for tbl: a soft-delete view's base
 * table (the audit triggers are there), else tbl itself.
 */
CREATE FUNCTION rowkeeper._audit_base(tbl regclass)
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

CREATE FUNCTION rowkeeper._audit_names(tbl regclass)
RETURNS TABLE (schema_name text, table_name text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH cur AS (
        SELECT c.oid AS o, n.nspname::text AS s, c.relname::text AS t
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = rowkeeper._audit_base(tbl)),
    oids AS (
        SELECT cur.o FROM cur
        UNION
        SELECT r.table_oid FROM rowkeeper.audit_table_names r, cur
         WHERE r.schema_name = cur.s AND r.table_name = cur.t)
    SELECT s, t FROM cur
    UNION
    SELECT r.schema_name, r.table_name FROM rowkeeper.audit_table_names r
     WHERE r.table_oid IN (SELECT o FROM oids)
$$;

COMMENT ON FUNCTION rowkeeper._audit_names(regclass) IS
'Internal: every schema and name under which a table''s changes were logged.';

/* The table a log entry belongs to now, or NULL if it is gone. */
CREATE FUNCTION rowkeeper._audit_table_of(schema_name text, table_name text)
RETURNS regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        pg_catalog.to_regclass(pg_catalog.quote_ident(schema_name) || '.' || pg_catalog.quote_ident(table_name)),
        (SELECT c.oid::regclass
           FROM rowkeeper.audit_table_names r JOIN pg_catalog.pg_class c ON c.oid = r.table_oid
          WHERE r.schema_name = $1 AND r.table_name = $2
          ORDER BY r.recorded_at DESC LIMIT 1))
$$;

COMMENT ON FUNCTION rowkeeper._audit_table_of(text, text) IS
'Internal: the table that logged under this schema and name, following renames.';

/* Columns excluded from the log (their values are not history). */
CREATE FUNCTION rowkeeper._excluded_columns(tbl regclass)
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
CREATE FUNCTION rowkeeper._rel_ref(tbl regclass)
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
CREATE FUNCTION rowkeeper._live_row(tbl regclass, key jsonb)
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
CREATE FUNCTION rowkeeper._row_entries(tbl regclass, key jsonb)
RETURNS SETOF rowkeeper.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    names record;
    k jsonb := key;
    before bigint := NULL;
    link_id bigint;
    link_key jsonb;
    found_id bigint;
    found_key jsonb;
    hops int := 0;
BEGIN
    LOOP
        link_id := NULL;
        FOR names IN SELECT * FROM rowkeeper._audit_names(tbl) LOOP
            RETURN QUERY
                SELECT l.* FROM rowkeeper.audit_log l
                 WHERE l.row_ref = rowkeeper.row_ref(names.schema_name, names.table_name, k)
                   AND l.schema_name = names.schema_name AND l.table_name = names.table_name
                   AND l.row_key = k AND (before IS NULL OR l.id < before);
            -- the change that gave the row this key
            SELECT l.id, l.old_key INTO found_id, found_key FROM rowkeeper.audit_log l
             WHERE l.row_ref = rowkeeper.row_ref(names.schema_name, names.table_name, k)
               AND l.schema_name = names.schema_name AND l.table_name = names.table_name
               AND l.row_key = k AND l.old_key IS NOT NULL AND (before IS NULL OR l.id < before)
             ORDER BY l.id LIMIT 1;
            IF found_id IS NOT NULL AND (link_id IS NULL OR found_id < link_id) THEN
                link_id := found_id;
                link_key := found_key;
            END IF;
        END LOOP;
        hops := hops + 1;
        EXIT WHEN link_id IS NULL OR hops > 1000;
        k := link_key;
        before := link_id;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._row_entries(regclass, jsonb) IS
'Internal: log entries of one row across key changes and renames (unordered; order by id).';

CREATE FUNCTION rowkeeper.row_history(tbl regclass, key jsonb)
RETURNS TABLE (audit_id bigint, logged_at timestamptz, op text, row_key jsonb,
               row_data jsonb, old_values jsonb, new_values jsonb,
               actor text, db_user text, role_user text, request_id text, tenant text, txid xid8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e rowkeeper.audit_log;
    img jsonb;
BEGIN
    IF tbl IS NULL OR key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.row_history(): table and key must not be NULL';
    END IF;
    tbl := rowkeeper._audit_base(tbl);
    FOR e IN SELECT * FROM rowkeeper._row_entries(tbl, key) r ORDER BY r.id LOOP
        img := CASE e.op WHEN 'INSERT' THEN e.new_row
                         WHEN 'DELETE' THEN NULL
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

COMMENT ON FUNCTION rowkeeper.row_history(regclass, jsonb) IS
'Every logged change of one row, oldest first, with the row image after each change (row_data; only logged columns, and only those known since auditing began). Follows key changes and renames; works after the row was deleted.';

/*
 * A row as of a time: start from the row as it is now and undo, newest
 * first, every logged change made after that time.  Exact for every logged
 * column, also for rows that predate auditing; excluded columns are left
 * out, redacted ones read "[redacted]" where a change was undone.
 */
CREATE FUNCTION rowkeeper.row_as_of(tbl regclass, key jsonb, at timestamptz)
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
    tbl := rowkeeper._audit_base(tbl);
    img := rowkeeper._live_row(tbl, key);
    FOR e IN SELECT * FROM rowkeeper._row_entries(tbl, key) r WHERE r.logged_at > at ORDER BY r.id DESC LOOP
        img := CASE e.op WHEN 'INSERT' THEN NULL
                         WHEN 'DELETE' THEN e.old_row
                         WHEN 'TRUNCATE' THEN img
                         ELSE coalesce(img, '{}') || e.old_row   -- UPDATE, SOFT_DELETE, RESTORE
                         END;
    END LOOP;
    RETURN img;
END;
$$;

COMMENT ON FUNCTION rowkeeper.row_as_of(regclass, jsonb, timestamptz) IS
'One row as it was at a time, as jsonb (NULL if it did not exist then). For the table''s row type: jsonb_populate_record(NULL::tbl, rowkeeper.row_as_of(...)).';

CREATE FUNCTION rowkeeper.table_as_of(tbl regclass, at timestamptz)
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
    tbl := rowkeeper._audit_base(tbl);
    keys := (rowkeeper._row_key(tbl)).columns::text[];
    IF pg_catalog.to_regclass('pg_temp.rowkeeper_as_of') IS NULL THEN
        CREATE TEMP TABLE rowkeeper_as_of (k jsonb PRIMARY KEY, r jsonb);
    END IF;
    TRUNCATE rowkeeper_as_of;
    EXECUTE format('INSERT INTO rowkeeper_as_of
                    SELECT (SELECT pg_catalog.jsonb_object_agg(j.key, j.value)
                              FROM pg_catalog.jsonb_each(pg_catalog.to_jsonb(t)) j WHERE j.key = ANY ($1)),
                           pg_catalog.to_jsonb(t) - $2
                      FROM %s t', rowkeeper._rel_ref(tbl))
      USING keys, rowkeeper._excluded_columns(tbl);
    FOR e IN SELECT l.op, l.row_key, l.old_key, l.old_row
               FROM rowkeeper.audit_log l, rowkeeper._audit_names(tbl) n
              WHERE l.logged_at > at AND l.schema_name = n.schema_name AND l.table_name = n.table_name
              ORDER BY l.id DESC LOOP
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

CREATE FUNCTION rowkeeper.diff(tbl regclass, key jsonb, t1 timestamptz, t2 timestamptz)
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

CREATE FUNCTION rowkeeper.changes(tbl regclass, since timestamptz, until timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF rowkeeper.audit_log
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.* FROM rowkeeper.audit_log l, rowkeeper._audit_names(tbl) n
     WHERE l.logged_at >= since AND l.logged_at <= until
       AND l.schema_name = n.schema_name AND l.table_name = n.table_name
     ORDER BY l.id
$$;

COMMENT ON FUNCTION rowkeeper.changes(regclass, timestamptz, timestamptz) IS
'Log entries of one table (under all its names) in a time window, in order.';

CREATE FUNCTION rowkeeper.changes_by(actor text, since timestamptz, until timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF rowkeeper.audit_log
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.* FROM rowkeeper.audit_log l
     WHERE l.logged_at >= since AND l.logged_at <= until AND l.actor = changes_by.actor
     ORDER BY l.id
$$;

COMMENT ON FUNCTION rowkeeper.changes_by(text, timestamptz, timestamptz) IS
'Log entries made under one rowkeeper.actor in a time window, in order.';

CREATE FUNCTION rowkeeper.transaction_changes(txid xid8)
RETURNS SETOF rowkeeper.audit_log
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.* FROM rowkeeper.audit_log l WHERE l.txid = transaction_changes.txid ORDER BY l.id
$$;

COMMENT ON FUNCTION rowkeeper.transaction_changes(xid8) IS
'Log entries of one transaction, in order.';

/*
 * Write a row image back into a table: insert it, or set the given columns
 * of the row with key where_key.  Redacted values cannot be written back.
 */
CREATE FUNCTION rowkeeper._write_image(tbl regclass, where_key jsonb, image jsonb, force boolean, caller text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text[];
    cond text;
    n bigint;
BEGIN
    IF force THEN               -- redacted columns are left out (defaults on INSERT)
        image := image - ARRAY(SELECT j.key FROM pg_catalog.jsonb_each(image) j WHERE j.value = '"[redacted]"');
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

CREATE FUNCTION rowkeeper._delete_row(tbl regclass, key jsonb, caller text)
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
CREATE FUNCTION rowkeeper._row_matches(tbl regclass, key jsonb, image jsonb)
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
      INTO same FROM pg_catalog.jsonb_each(image) j WHERE j.value <> '"[redacted]"';
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
CREATE FUNCTION rowkeeper._undo_entry(e rowkeeper.audit_log, force boolean, skip_txid xid8, caller text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass := rowkeeper._audit_table_of(e.schema_name, e.table_name);
    later bigint;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_table',
            MESSAGE = format('%s: table %I.%I of audit entry %s no longer exists', caller, e.schema_name, e.table_name, e.id);
    END IF;
    IF e.op = 'TRUNCATE' THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('%s: audit entry %s is a TRUNCATE, which logs no rows', caller, e.id);
    END IF;
    IF NOT force THEN
        SELECT min(l.id) INTO later FROM rowkeeper.audit_log l
         WHERE l.row_ref = e.row_ref AND l.schema_name = e.schema_name AND l.table_name = e.table_name
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

CREATE FUNCTION rowkeeper.undo(audit_id bigint, force boolean DEFAULT false)
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
    SELECT * INTO e FROM rowkeeper.audit_log l WHERE l.id = audit_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('rowkeeper.undo(): no audit entry %s', audit_id);
    END IF;
    PERFORM rowkeeper._undo_entry(e, force, NULL, 'rowkeeper.undo()');
END;
$$;

COMMENT ON FUNCTION rowkeeper.undo(bigint, boolean) IS
'Revert one logged change (delete an inserted row, re-insert a deleted one, restore the old values of an update); refuses if the row changed since, unless force. The revert is itself audited.';

CREATE FUNCTION rowkeeper.undo_transaction(txid xid8, force boolean DEFAULT false)
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
    FOR e IN SELECT * FROM rowkeeper.audit_log l WHERE l.txid = undo_transaction.txid ORDER BY l.id DESC LOOP
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

CREATE FUNCTION rowkeeper.restore_row(tbl regclass, key jsonb, at timestamptz)
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


------------------------------------------------------------------------------
-- Tamper evidence: a SHA-256 hash chain over the audit log
--
-- Writers do not chain: entry ids come from a sequence and are not in commit
-- order, and a chain built at write time would make every audited write in
-- the database wait on one lock.  Instead seal_audit_log() (schedule it with
-- pg_cron) seals, in batches, the entries of every transaction that has
-- finished: the transactions below the oldest one still running
-- (pg_snapshot_xmin), whose entries can no longer change in number.  Batch
-- n covers the transaction ids [txid_lo, txid_hi), its entries in id order;
-- it stores each entry's digest and hash = sha256(prev_hash || digests),
-- with prev_hash the hash of batch n - 1.  verify_audit_chain() recomputes
-- all of it and names the first entry or link that does not verify;
-- audit_chain_head() is the latest hash, to keep outside the database, so
-- that a chain rewritten as a whole is caught too.
--
-- Entry digest: audit_entry_digest(), in C (src/audit_chain.c): SHA-256 of
-- a canonical encoding of every column, each length-prefixed in UTF-8
-- (NULL distinct from ''), logged_at in microseconds (no time zone), jsonb
-- in its canonical text form (sorted keys; 1 and 1.0 differ, as they differ
-- in the log).  Entries not yet sealed are reported as the tail.
------------------------------------------------------------------------------

CREATE TABLE rowkeeper.audit_seal (
    batch       bigint      PRIMARY KEY,
    txid_lo     xid8        NOT NULL,
    txid_hi     xid8        NOT NULL,
    entries     bigint      NOT NULL,
    digests     bytea       NOT NULL,
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL,
    sealed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_logged_at timestamptz NOT NULL,
    purged_at   timestamptz
);
REVOKE ALL ON rowkeeper.audit_seal FROM PUBLIC;
GRANT SELECT ON rowkeeper.audit_seal TO rowkeeper_auditor;
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_seal', '');
COMMENT ON TABLE rowkeeper.audit_seal IS
'Hash chain over rowkeeper.audit_log: one row per sealed batch of finished transactions (see rowkeeper.seal_audit_log()).';
COMMENT ON COLUMN rowkeeper.audit_seal.purged_at IS
'Set when purge_audit_log() removed the batch''s entries: the batch stays in the chain (its link and hash), its digests are dropped.';

CREATE FUNCTION rowkeeper.audit_entry_digest(e rowkeeper.audit_log)
RETURNS bytea
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'audit_entry_digest';

COMMENT ON FUNCTION rowkeeper.audit_entry_digest(rowkeeper.audit_log) IS
'SHA-256 of the canonical encoding of one audit entry (every column, length-prefixed UTF-8; see src/audit_chain.c).';

/*
 * Seal the entries of every transaction finished since the last batch.
 * One sealer at a time (a lock on audit_seal); writers never wait.
 */
CREATE FUNCTION rowkeeper.seal_audit_log()
RETURNS TABLE (batch bigint, entries bigint, hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    last rowkeeper.audit_seal;
    lo xid8;
    hi xid8;
    d bytea;
    n bigint;
    h bytea;
    b bigint;
    last_at timestamptz;
BEGIN
    LOCK TABLE rowkeeper.audit_seal IN EXCLUSIVE MODE;
    SELECT * INTO last FROM rowkeeper.audit_seal s ORDER BY s.batch DESC LIMIT 1;
    lo := coalesce(last.txid_hi, '0'::xid8);
    hi := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
    IF hi <= lo THEN
        RETURN;
    END IF;
    SELECT coalesce(string_agg(rowkeeper.audit_entry_digest(l), ''::bytea ORDER BY l.id), ''::bytea), count(*),
           max(l.logged_at)
      INTO d, n, last_at
      FROM rowkeeper.audit_log l
     WHERE l.txid >= lo AND l.txid < hi;
    IF n = 0 THEN
        -- nothing to seal: no batch (the next one starts at lo again, and
        -- no entry can appear for transactions that have finished)
        RETURN;
    END IF;
    b := coalesce(last.batch, 0) + 1;
    h := pg_catalog.sha256(coalesce(last.hash, ''::bytea) || d);
    INSERT INTO rowkeeper.audit_seal (batch, txid_lo, txid_hi, entries, digests, prev_hash, hash, last_logged_at)
    VALUES (b, lo, hi, n, d, coalesce(last.hash, ''::bytea), h, last_at);
    batch := b; entries := n; hash := pg_catalog.encode(h, 'hex');
    RETURN NEXT;
END;
$$;

REVOKE ALL ON FUNCTION rowkeeper.seal_audit_log() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rowkeeper.seal_audit_log() TO rowkeeper_auditor;

COMMENT ON FUNCTION rowkeeper.seal_audit_log() IS
'Seal the audit entries of every transaction finished since the last seal into the hash chain (one batch). Schedule it (pg_cron), e.g. every minute.';

CREATE FUNCTION rowkeeper.audit_chain_head()
RETURNS TABLE (batch bigint, hash text, sealed_at timestamptz, entries_sealed bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.batch, pg_catalog.encode(s.hash, 'hex'), s.sealed_at,
           (SELECT sum(x.entries)::bigint FROM rowkeeper.audit_seal x)
      FROM rowkeeper.audit_seal s ORDER BY s.batch DESC LIMIT 1
$$;

COMMENT ON FUNCTION rowkeeper.audit_chain_head() IS
'The latest sealed hash of the audit chain: store it outside the database, and pass it to verify_audit_chain() later.';

/*
 * Verify the chain: every batch sealed in [since, until] (all by default),
 * its link to the batch before, its hash, and every entry of its range in
 * order.  Returns one row: how many entries verified, the first problem
 * (NULL when none) and the entry or batch it concerns, and how many entries
 * are not sealed yet.  expected_head, a hash from audit_chain_head() kept
 * elsewhere, must be in the chain.
 */
CREATE FUNCTION rowkeeper.verify_audit_chain(since timestamptz DEFAULT NULL,
                                             until timestamptz DEFAULT NULL,
                                             expected_head text DEFAULT NULL)
RETURNS TABLE (verified bigint, problem text, audit_id bigint, batch bigint, unsealed bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s rowkeeper.audit_seal;
    prev rowkeeper.audit_seal;
    e record;
    i bigint;
    ok bigint := 0;
    sealed_hi xid8;
BEGIN
    verified := 0; problem := NULL; audit_id := NULL; batch := NULL;
    SELECT max(x.txid_hi) INTO sealed_hi FROM rowkeeper.audit_seal x;
    SELECT count(*) INTO unsealed FROM rowkeeper.audit_log l
     WHERE sealed_hi IS NULL OR l.txid >= sealed_hi;

    IF expected_head IS NOT NULL AND NOT EXISTS (
           SELECT FROM rowkeeper.audit_seal x WHERE pg_catalog.encode(x.hash, 'hex') = lower(expected_head)) THEN
        problem := 'expected head not in the chain: the chain was rewritten or truncated';
        RETURN NEXT;
        RETURN;
    END IF;

    FOR s IN SELECT * FROM rowkeeper.audit_seal x
              WHERE (since IS NULL OR x.sealed_at >= since) AND (until IS NULL OR x.sealed_at <= until)
              ORDER BY x.batch LOOP
        batch := s.batch;
        SELECT * INTO prev FROM rowkeeper.audit_seal x WHERE x.batch = s.batch - 1;
        IF s.batch > 1 AND prev.batch IS NULL THEN
            IF since IS NULL THEN
                problem := format('batch %s missing before batch %s', s.batch - 1, s.batch);
                RETURN NEXT; RETURN;
            END IF;
        ELSIF (s.batch = 1 AND (s.prev_hash <> ''::bytea OR s.txid_lo <> '0'::xid8))
           OR (s.batch > 1 AND (s.prev_hash <> prev.hash OR s.txid_lo <> prev.txid_hi)) THEN
            problem := format('batch %s does not link to the batch before it', s.batch);
            RETURN NEXT; RETURN;
        END IF;
        IF s.purged_at IS NOT NULL THEN
            -- purged: the link above is all that is left to check, and no
            -- entry may be in its range any more
            SELECT min(l.id) INTO audit_id FROM rowkeeper.audit_log l
             WHERE l.txid >= s.txid_lo AND l.txid < s.txid_hi;
            IF audit_id IS NOT NULL THEN
                problem := format('entry in batch %s, which was purged (inserted afterwards)', s.batch);
                RETURN NEXT; RETURN;
            END IF;
            CONTINUE;
        END IF;
        IF s.hash <> pg_catalog.sha256(s.prev_hash || s.digests)
           OR pg_catalog.octet_length(s.digests) <> 32 * s.entries THEN
            problem := format('batch %s: its hash does not match its digests', s.batch);
            RETURN NEXT; RETURN;
        END IF;
        i := 0;
        FOR e IN SELECT l.id, rowkeeper.audit_entry_digest(l) AS d
                   FROM rowkeeper.audit_log l
                  WHERE l.txid >= s.txid_lo AND l.txid < s.txid_hi
                  ORDER BY l.id LOOP
            IF i >= s.entries THEN
                problem := 'entry not in the sealed batch (inserted after sealing)';
                audit_id := e.id;
                RETURN NEXT; RETURN;
            END IF;
            IF e.d <> pg_catalog.substr(s.digests, (32 * i + 1)::int, 32) THEN
                problem := CASE
                    WHEN e.d = ANY (ARRAY(SELECT pg_catalog.substr(s.digests, (32 * k + 1)::int, 32)
                                            FROM pg_catalog.generate_series(i + 1, s.entries - 1) k))
                    THEN 'sealed entries before this one are missing (deleted)'
                    ELSE 'entry does not match its sealed digest (edited, or its id changed)' END;
                audit_id := e.id;
                RETURN NEXT; RETURN;
            END IF;
            i := i + 1;
            verified := verified + 1;
        END LOOP;
        IF i < s.entries THEN
            problem := format('batch %s: %s of its sealed entries missing at its end (deleted)', s.batch, s.entries - i);
            RETURN NEXT; RETURN;
        END IF;
    END LOOP;
    batch := NULL;
    RETURN NEXT;
END;
$$;

COMMENT ON FUNCTION rowkeeper.verify_audit_chain(timestamptz, timestamptz, text) IS
'Verify the audit hash chain (batches sealed in [since, until], all by default): links, batch hashes and every entry. Reports entries verified, the first problem and where, and the unsealed tail. With expected_head (from audit_chain_head(), kept outside), a rewritten chain is caught too.';

------------------------------------------------------------------------------
-- Soft delete (issue 5)
--
-- enable_soft_delete(t) renames the table to t_with_deleted (the base table,
-- every row) and puts a security_invoker view named t in front of it that
-- shows the live rows (deleted_at IS NULL).  A C INSTEAD OF DELETE trigger
-- on the view (rowkeeper.soft_delete_trigger) marks the row instead of
-- removing it and returns it, so the executor counts it: DELETE reports the
-- rows it marked and RETURNING returns them.  Children on soft-delete tables
-- reached by ON DELETE CASCADE keys are marked with the same deletion batch
-- id; RESTRICT / NO ACTION keys block.  A C BEFORE DELETE trigger on the
-- base table (rowkeeper.soft_delete_guard) refuses every physical delete
-- except through rowkeeper.hard_delete() (and the cascades it causes), so a
-- hard delete either completes with its cascades or fails: it never leaves
-- orphans.  On a partitioned table it also fires BEFORE UPDATE, to let an
-- UPDATE move a row between partitions.  Configuration is the guard
-- trigger's arguments (column, by=<column>, batch=<column>).  rowkeeper
-- creates no row-level security policy: the table's own policies (tenant
-- isolation) apply through the security_invoker view.
------------------------------------------------------------------------------

-- CACHE: a backend takes its batch ids from a range it reserved, without
-- reading and WAL-logging the sequence's page on every soft DELETE (ids stay
-- unique; across sessions they are not in deletion order, and a session's
-- unused ids are skipped)
CREATE SEQUENCE rowkeeper.soft_delete_batch_seq CACHE 100;
REVOKE ALL ON SEQUENCE rowkeeper.soft_delete_batch_seq FROM PUBLIC;
COMMENT ON SEQUENCE rowkeeper.soft_delete_batch_seq IS
'Deletion batch ids: one per soft-deleting statement, shared by the rows it cascades to.';
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.soft_delete_batch_seq', '');

CREATE FUNCTION rowkeeper.soft_delete_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'soft_delete_trigger';

COMMENT ON FUNCTION rowkeeper.soft_delete_trigger() IS
'INSTEAD OF DELETE row trigger on a soft-delete view: marks the row deleted (and its cascade children) and counts it as deleted. Attach it with rowkeeper.enable_soft_delete().';

CREATE FUNCTION rowkeeper.soft_delete_guard()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'soft_delete_guard';

COMMENT ON FUNCTION rowkeeper.soft_delete_guard() IS
'BEFORE DELETE row trigger on a soft-delete table: refuses physical deletes outside rowkeeper.hard_delete(). Its arguments are the soft-delete configuration.';

CREATE FUNCTION rowkeeper.hard_delete(tbl regclass, key jsonb)
RETURNS bigint
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'hard_delete';

COMMENT ON FUNCTION rowkeeper.hard_delete(regclass, jsonb) IS
'Physically delete soft-deleted rows of a soft-delete table by key (a jsonb object, or an array of them), with their foreign-key cascades. Only for the table''s owner; returns the number of rows deleted.';

/*
 * The fast path (src/soft_delete_rewrite.c): with the library loaded before
 * a DELETE on a soft-delete view is parsed, the DELETE is run as
 * UPDATE view SET deleted_at = now(), <batch> = _soft_delete_batch()
 * [, <by> = _soft_delete_who()] and still reports "DELETE n".  These two
 * functions give that statement its batch id and its user, once per
 * statement; called anywhere else they raise.  EXECUTE stays with PUBLIC:
 * every role that may soft-delete calls them.
 */
CREATE FUNCTION rowkeeper._soft_delete_batch()
RETURNS bigint
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'soft_delete_batch';

COMMENT ON FUNCTION rowkeeper._soft_delete_batch() IS
'Internal: the deletion batch id of the soft DELETE being executed (one per statement). An UPDATE that assigns it is reported as a DELETE: do not call it yourself.';

CREATE FUNCTION rowkeeper._soft_delete_who()
RETURNS text
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'soft_delete_who';

COMMENT ON FUNCTION rowkeeper._soft_delete_who() IS
'Internal: who performs the soft DELETE being executed (rowkeeper.actor, else the current user).';

/*
 * The soft-delete configuration of a base table (its guard trigger's
 * arguments: column, by=<column or empty>, batch=<column>), or NULLs.
 */
CREATE FUNCTION rowkeeper._soft_delete_config(tbl regclass,
    OUT column_name name, OUT deleted_by_column name, OUT batch_column name)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a[1]::name,
           NULLIF(pg_catalog.substr(a[2], 4), '')::name,
           pg_catalog.substr(a[3], 7)::name
      FROM (SELECT rowkeeper._trigger_args(t.tgargs) AS a
              FROM pg_catalog.pg_trigger t
             WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_soft_delete'
               AND t.tgparentid = 0
               AND t.tgfoid = 'rowkeeper.soft_delete_guard()'::pg_catalog.regprocedure) s
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_config(regclass) IS
'Internal: the soft-delete configuration of a base table, read from its guard trigger.';

/* The one relation a view selects from (NULL if not a view). */
CREATE FUNCTION rowkeeper._view_base(view regclass)
RETURNS regclass
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.refobjid::pg_catalog.regclass
      FROM pg_catalog.pg_rewrite r
      JOIN pg_catalog.pg_depend d
        ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
     WHERE r.ev_class = view AND r.rulename = '_RETURN'
       AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.refobjid <> view AND d.deptype = 'n'
     ORDER BY d.refobjid
     LIMIT 1
$$;

COMMENT ON FUNCTION rowkeeper._view_base(regclass) IS
'Internal: the relation a (single-table) view selects from.';

/* The soft-delete view in front of a base table, or NULL. */
CREATE FUNCTION rowkeeper._soft_delete_view(base regclass)
RETURNS regclass
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.tgrelid::pg_catalog.regclass
      FROM pg_catalog.pg_trigger t
     WHERE t.tgfoid = 'rowkeeper.soft_delete_trigger()'::pg_catalog.regprocedure
       AND rowkeeper._view_base(t.tgrelid) = base
     LIMIT 1
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_view(regclass) IS
'Internal: the soft-delete view in front of a base table.';

/* The base table of a soft-delete view or table (either name), or NULL. */
CREATE FUNCTION rowkeeper._soft_delete_base(tbl regclass)
RETURNS regclass
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN (rowkeeper._soft_delete_config(tbl)).column_name IS NOT NULL THEN tbl
        WHEN EXISTS (SELECT FROM pg_catalog.pg_trigger t
                      WHERE t.tgrelid = tbl
                        AND t.tgfoid = 'rowkeeper.soft_delete_trigger()'::pg_catalog.regprocedure)
        THEN rowkeeper._view_base(tbl)
    END
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_base(regclass) IS
'Internal: the base table of a soft-delete view or table, or NULL.';

/* The base table, or a clear error when tbl has no soft delete. */
CREATE FUNCTION rowkeeper._soft_delete_require(tbl regclass, caller text)
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
'Internal: the base table of a soft-delete view or table, or an error.';

/*
 * The foreign keys that reference tbl (not the per-partition clones), with
 * what soft delete does for each: 'cascade' (child has soft delete, ON
 * DELETE CASCADE), 'restrict' (RESTRICT / NO ACTION), or NULL (SET NULL /
 * SET DEFAULT, and CASCADE into a table without soft delete: the parent row
 * still exists, so nothing happens until it is hard-deleted).  The where
 * clause compares the child's columns with $<first_param>... which are the
 * parent's referenced columns (ref_columns), with the key's own operators.
 */
CREATE FUNCTION rowkeeper._soft_delete_fkeys(tbl regclass, first_param int)
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
 *   cascade   mark the live referencing rows; RETURNING * so that their own
 *             children follow
 */
CREATE FUNCTION rowkeeper._soft_delete_actions(tbl regclass)
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
            HINT = 'Re-create the view and its trigger with rowkeeper.enable_soft_delete().';
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
    query := format('UPDATE %s SET %I = $1, %I = $2%s WHERE %s AND %I IS NULL',
                    tbl, cfg.column_name, cfg.batch_column,
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
            query := format('UPDATE %s SET %I = $1, %I = $2%s WHERE %s AND %I IS NULL RETURNING *',
                            fk.child, fk.child_column, fk.child_batch_column,
                            CASE WHEN fk.child_by_column IS NOT NULL
                                 THEN format(', %I = $3', fk.child_by_column) ELSE '' END,
                            fk.child_where, fk.child_column);
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_actions(regclass) IS
'Internal: the queries the soft-delete trigger runs for a row of a base table.';

/*
 * A key argument (a jsonb object, or an array of objects) checked against
 * the table's row key and turned into a WHERE condition on alias, with
 * literals: every key column present, nothing else, no NULL.
 */
CREATE FUNCTION rowkeeper._key_condition(tbl regclass, key jsonb, alias text, caller text)
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
CREATE FUNCTION rowkeeper._hard_delete_sql(tbl regclass, key jsonb)
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
 * took with it: rows of soft-delete tables reached by ON DELETE CASCADE
 * keys that carry the same batch id, recursively.  Returns their number.
 */
CREATE FUNCTION rowkeeper._restore_children(tbl regclass, prow jsonb, batch bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fk record;
    crow jsonb;
    n bigint := 0;
    args text;
BEGIN
    FOR fk IN SELECT * FROM rowkeeper._soft_delete_fkeys(tbl, 1) f WHERE f.action = 'cascade' LOOP
        -- the parent's referenced values, in order, as the $n the where clause uses
        SELECT string_agg(format('%L::%s', prow ->> c, fk.ref_types[i]), ', ' ORDER BY i) INTO args
          FROM unnest(fk.ref_columns) WITH ORDINALITY u(c, i);
        FOR crow IN EXECUTE format(
                'WITH p AS (SELECT %s) UPDATE %s AS c SET %I = NULL, %I = NULL%s '
                'FROM p WHERE %s AND c.%I IS NOT NULL AND c.%I = %s RETURNING pg_catalog.to_jsonb(c.*)',
                (SELECT string_agg(format('%L::%s AS p%s', prow ->> c, fk.ref_types[i], i), ', ' ORDER BY i)
                   FROM unnest(fk.ref_columns) WITH ORDINALITY u(c, i)),
                fk.child, fk.child_column, fk.child_batch_column,
                CASE WHEN fk.child_by_column IS NOT NULL
                     THEN format(', %I = NULL', fk.child_by_column) ELSE '' END,
                regexp_replace(fk.child_where, '\$([0-9]+)::', 'p.p\1::', 'g'),
                fk.child_column, fk.child_batch_column, batch) LOOP
            n := n + 1 + rowkeeper._restore_children(fk.child, crow,
                                                     batch);
        END LOOP;
    END LOOP;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION rowkeeper._restore_children(regclass, jsonb, bigint) IS
'Internal: restore the rows that a parent''s soft delete cascaded to (same batch id).';

/*
 * Raise when a row about to be restored (row, as jsonb) references a
 * soft-deleted row through a foreign key: it would come back as a live row
 * whose parent the application cannot see.
 */
CREATE FUNCTION rowkeeper._restore_check_parents(tbl regclass, row_ jsonb, caller text)
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

CREATE FUNCTION rowkeeper.restore(tbl regclass, key jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
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
                    HINT = 'The row is live already, was hard-deleted, or is not visible to you.';
            END IF;
            EXECUTE format('UPDATE %s AS r SET %I = NULL, %I = NULL%s WHERE %s AND r.%I IS NOT NULL '
                           'RETURNING pg_catalog.to_jsonb(r.*)',
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
'Undelete soft-deleted rows by key (a jsonb object, or an array of them) with the children their deletion cascaded to; all or nothing. Returns the number of rows restored.';

/* Every soft-delete table: its view, base table and columns. */
CREATE VIEW rowkeeper.soft_delete_tables AS
SELECT rowkeeper._soft_delete_view(t.tgrelid)      AS view_name,
       t.tgrelid::regclass                          AS table_name,
       cfg.column_name,
       cfg.deleted_by_column,
       cfg.batch_column,
       t.tgenabled <> 'D'                           AS guarded
  FROM pg_catalog.pg_trigger t
 CROSS JOIN LATERAL rowkeeper._soft_delete_config(t.tgrelid) cfg
 WHERE t.tgfoid = 'rowkeeper.soft_delete_guard()'::pg_catalog.regprocedure
   AND t.tgparentid = 0;

GRANT SELECT ON rowkeeper.soft_delete_tables TO PUBLIC;

COMMENT ON VIEW rowkeeper.soft_delete_tables IS
'Soft-delete tables: the view the application uses, the base table with every row, and the columns.';

/*
 * A soft-delete column: validated when it exists (exact name, type), else
 * added.  want is the accepted type list, the first one is created.
 */
CREATE FUNCTION rowkeeper._soft_delete_column(tbl regclass, column_name name,
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

CREATE FUNCTION rowkeeper.enable_soft_delete(tbl regclass,
                                             column_name name DEFAULT 'deleted_at',
                                             deleted_by_column name DEFAULT NULL,
                                             batch_column name DEFAULT 'deleted_batch',
                                             base_name name DEFAULT NULL)
RETURNS regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.enable_soft_delete()';
    base regclass;
    view regclass;
    rel record;
    view_name name;
    want_args text[];
    want_type int2;
    old record;
    acl record;
BEGIN
    IF tbl IS NULL OR column_name IS NULL OR batch_column IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the table, column_name and batch_column must not be NULL', caller),
            HINT = 'Leave an option out to get its default.';
    END IF;
    IF current_setting('server_version_num')::int < 150000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'feature_not_supported',
            MESSAGE = 'soft delete needs PostgreSQL 15 or later',
            DETAIL = 'The view in front of the table must be security_invoker, which PostgreSQL 15 introduced.';
    END IF;

    base := rowkeeper._soft_delete_base(tbl);
    IF base IS NULL THEN
        base := tbl;
    ELSE
        view := rowkeeper._soft_delete_view(base);
        IF view IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('the soft-delete view of %s is missing', base),
                DETAIL = 'The table has the soft-delete guard but no view in front of it (was the view dropped?).',
                HINT = format('Call rowkeeper.disable_soft_delete(%L) and then enable_soft_delete again.', base::text);
        END IF;
    END IF;
    PERFORM rowkeeper._require_owned_table(base, caller);
    SELECT c.relname, c.relnamespace AS nspoid, n.nspname AS nsp,
           pg_catalog.pg_get_userbyid(c.relowner) AS owner INTO rel
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = base;

    IF column_name = batch_column OR column_name = deleted_by_column
       OR batch_column = deleted_by_column THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: column_name, deleted_by_column and batch_column must be different columns', caller);
    END IF;
    IF (rowkeeper._row_key(base)).columns IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_table_definition',
            MESSAGE = format('table %s has no primary key or replica identity index', base),
            DETAIL = 'Soft delete marks, restores and cascades rows by key.',
            HINT = format('ALTER TABLE %s ADD PRIMARY KEY (...), or ALTER TABLE %s REPLICA IDENTITY USING INDEX <unique index>.', base, base);
    END IF;

    PERFORM rowkeeper._soft_delete_column(base, column_name, '{timestamptz}', 'deleted_at', caller);
    PERFORM rowkeeper._soft_delete_column(base, batch_column, '{bigint}', 'deletion batch', caller);
    IF deleted_by_column IS NOT NULL THEN
        PERFORM rowkeeper._soft_delete_column(base, deleted_by_column, '{text,varchar}', 'deleted-by', caller);
    END IF;

    want_args := ARRAY[column_name::text, 'by=' || coalesce(deleted_by_column::text, ''),
                       'batch=' || batch_column];

    IF view IS NULL THEN
        -- first time: the table makes way for the view
        view_name := rel.relname;
        IF base_name IS NULL THEN
            IF octet_length(rel.relname || '_with_deleted') > 63 THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'name_too_long',
                    MESSAGE = format('the name %s is too long for the table behind the view',
                                     quote_ident(rel.relname || '_with_deleted')),
                    HINT = 'Pass base_name => ''...'' (at most 63 bytes).';
            END IF;
            base_name := rel.relname || '_with_deleted';
        END IF;
        IF EXISTS (SELECT FROM pg_catalog.pg_class c
                    WHERE c.relnamespace = rel.nspoid AND c.relname = base_name) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'duplicate_table',
                MESSAGE = format('relation %I already exists in schema %I', base_name, rel.nsp),
                DETAIL = format('enable_soft_delete renames %s to %I and puts a view named %I in its place.',
                                base, base_name, view_name),
                HINT = 'Pass another base_name => ''...''.';
        END IF;
        EXECUTE format('ALTER TABLE %s RENAME TO %I', base, base_name);
        EXECUTE format('CREATE VIEW %I.%I WITH (security_invoker = true) AS SELECT * FROM %s WHERE %I IS NULL',
                       rel.nsp, view_name, base, column_name);
        view := format('%I.%I', rel.nsp, view_name)::regclass;
        EXECUTE format('ALTER VIEW %s OWNER TO %I', view, rel.owner);
        -- whoever could use the table can use the view (the base table keeps its grants:
        -- a security_invoker view checks them)
        FOR acl IN SELECT a.privilege_type, a.grantee, a.is_grantable
                     FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
                    WHERE c.oid = base AND a.grantee <> c.relowner LOOP
            EXECUTE format('GRANT %s ON %s TO %s%s', acl.privilege_type, view,
                           CASE acl.grantee WHEN 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(acl.grantee)) END,
                           CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        EXECUTE format('CREATE TRIGGER rowkeeper_soft_delete INSTEAD OF DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION rowkeeper.soft_delete_trigger()', view);
        EXECUTE format('COMMENT ON VIEW %s IS %L', view,
                       format('Live rows of %s (rowkeeper soft delete: DELETE here marks rows deleted).', base));
    ELSE
        -- again: pick up columns added to the table since, new options, a new base name
        IF base_name IS NOT NULL AND base_name <> rel.relname THEN
            EXECUTE format('ALTER TABLE %s RENAME TO %I', base, base_name);
        END IF;
        EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_invoker = true) AS SELECT * FROM %s WHERE %I IS NULL',
                       view, base, column_name);
    END IF;

    -- tgtype bits: ROW (1) | BEFORE (2) | DELETE (8), and UPDATE (16) on a
    -- partitioned table, where an UPDATE moving a row between partitions
    -- fires BEFORE DELETE on the old partition (the guard tells it apart)
    want_type := CASE WHEN (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = base) = 'p'
                      THEN 1 | 2 | 8 | 16 ELSE 1 | 2 | 8 END;
    SELECT rowkeeper._trigger_args(t.tgargs) AS args, t.tgtype INTO old
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = base AND t.tgname = 'rowkeeper_soft_delete' AND t.tgparentid = 0;
    IF NOT FOUND OR old.args IS DISTINCT FROM want_args OR old.tgtype <> want_type THEN
        IF FOUND THEN
            EXECUTE format('DROP TRIGGER rowkeeper_soft_delete ON %s', base);
        END IF;
        EXECUTE format('CREATE TRIGGER rowkeeper_soft_delete BEFORE %s ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION rowkeeper.soft_delete_guard(%s)',
                       CASE WHEN want_type & 16 <> 0 THEN 'UPDATE OR DELETE' ELSE 'DELETE' END,
                       base, rowkeeper._quote_args(want_args));
    END IF;
    RETURN view;
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_soft_delete(regclass, name, name, name, name) IS
'Make DELETE on a table mark rows deleted: the table is renamed (base_name, default <name>_with_deleted) and a security_invoker view of its live rows takes its name. Idempotent; call again after adding columns to the table, or to change options. Returns the view.';

CREATE FUNCTION rowkeeper.disable_soft_delete(tbl regclass, force boolean DEFAULT false)
RETURNS regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.disable_soft_delete()';
    base regclass;
    view regclass;
    view_name name;
    cfg record;
    deleted bigint;
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
    view := rowkeeper._soft_delete_view(base);

    EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NOT NULL', base, cfg.column_name) INTO deleted;
    IF deleted > 0 AND NOT force THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s holds %s soft-deleted rows', base, deleted),
            DETAIL = 'Without soft delete they would be visible again as live rows.',
            HINT = 'Restore or hard-delete them first, or pass force => true to keep them as they are.';
    END IF;

    IF view IS NOT NULL THEN
        SELECT c.relname INTO view_name FROM pg_catalog.pg_class c WHERE c.oid = view;
        EXECUTE format('DROP VIEW %s', view);
    END IF;
    EXECUTE format('DROP TRIGGER rowkeeper_soft_delete ON %s', base);
    IF view_name IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s RENAME TO %I', base, view_name);
    END IF;
    RAISE NOTICE 'columns %, % of % are kept', quote_ident(cfg.column_name),
        concat_ws(', ', quote_ident(cfg.batch_column), quote_ident(cfg.deleted_by_column)), base;
    RETURN base;
END;
$$;

COMMENT ON FUNCTION rowkeeper.disable_soft_delete(regclass, boolean) IS
'Undo enable_soft_delete: drop the view and the guard, give the table its name back (columns and data are kept). Refuses while soft-deleted rows exist unless force.';

/*
 * Turn a unique constraint (or unique index) of a soft-delete table into a
 * partial unique index over live rows, so that a value can be reused after
 * its row is soft-deleted.  Keeps the name; returns the index.
 */
CREATE FUNCTION rowkeeper.soft_delete_unique(tbl regclass, constraint_name name)
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
--       USING (true) WITH CHECK (true)              (grant_access => true)
--     RLS denies everything unless some permissive policy allows it; this
--     one allows every row, and the restrictive policy leaves the tenant's.
--     (Repeating the predicate here would only cost each INSERT and UPDATE
--     a second WITH CHECK expression.)  With grant_access => false the
--     table's own permissive policies decide which of the tenant's rows are
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
AS 'MODULE_PATHNAME', 'current_tenant_uuid';

COMMENT ON FUNCTION rowkeeper.current_tenant_uuid() IS
'The current tenant as uuid, for policies on uuid tenant columns. Raises when none is set or it is not a uuid.';

CREATE FUNCTION rowkeeper.current_tenant_bigint()
RETURNS bigint
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_bigint';

COMMENT ON FUNCTION rowkeeper.current_tenant_bigint() IS
'The current tenant as bigint, for policies on bigint tenant columns. Raises when none is set or it is not an integer.';

CREATE FUNCTION rowkeeper.current_tenant_int()
RETURNS integer
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_tenant_int';

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
        -- true, not the predicate again: the restrictive policy confines,
        -- and a second copy of the predicate costs every INSERT and UPDATE
        -- another WITH CHECK expression to set up (two function calls with
        -- their permission checks: about 4k instructions per statement)
        EXECUTE format('CREATE POLICY rowkeeper_tenant_access ON %s AS PERMISSIVE FOR ALL TO PUBLIC '
                       'USING (true) WITH CHECK (true)', tbl);
        EXECUTE format('COMMENT ON POLICY rowkeeper_tenant_access ON %s IS %L', tbl,
                       'rowkeeper tenant isolation: rows are accessible; policy rowkeeper_tenant_isolation confines them to the current tenant');
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

------------------------------------------------------------------------------
-- assert_isolated(): a leak probe users can run in their own CI
------------------------------------------------------------------------------

/*
 * Set the tenant for the probes: set_config() in context mode; in token
 * mode a token signed with the key (so the caller must be able to sign).
 */
CREATE FUNCTION rowkeeper._probe_set_tenant(tenant text, token text)
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

CREATE FUNCTION rowkeeper.assert_isolated(tbl regclass,
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
    seen text[];
    tokens text[] := ARRAY[NULL, NULL]::text[];
    names text[] := '{}';
    oks boolean[] := '{}';
    details text[] := '{}';
    i int;
    me text;
    other text;
    n_visible bigint;
    n_foreign bigint;
    n bigint;
    err text;
    code text;
    state text;
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

    -- Two tenants: given, or the first two found in the table (read as the
    -- caller, who should bypass RLS for that), or made-up ones.
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

    -- Everything below runs in a subtransaction that is rolled back at the
    -- end: the role switch and every probe write are undone.
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', role_name);

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

        FOR i IN 1..2 LOOP
            me := tenants[i];
            other := tenants[3 - i];
            PERFORM rowkeeper._probe_set_tenant(me, tokens[i]);

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
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'RKPRB', MESSAGE = 'rowkeeper probe done';
    EXCEPTION WHEN SQLSTATE 'RKPRB' THEN
        NULL;   -- everything the probes did is rolled back
    END;

    RETURN QUERY SELECT * FROM unnest(names, oks, details);   -- multi-argument form: not schema-qualifiable
END;
$$;

COMMENT ON FUNCTION rowkeeper.assert_isolated(regclass, text, text, regrole) IS
'Probe a table for tenant leaks as a role subject to RLS (default: the owner): no tenant, tenant A, tenant B; reads, updates, deletes, inserts and moves across tenants. One row per check; everything it does is rolled back.';

------------------------------------------------------------------------------
-- Safety checks (for the preflight): what tenant isolation cannot enforce
------------------------------------------------------------------------------

/*
 * Tenant tables: tables (partitions included) under rowkeeper tenant
 * isolation, and every other table outside the system schemas that has a
 * column named column_name.
 */
CREATE FUNCTION rowkeeper._tenant_tables(column_name name)
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

CREATE FUNCTION rowkeeper.tenant_safety_checks(column_name name DEFAULT 'tenant_id',
                                               app_roles regrole[] DEFAULT NULL)
RETURNS TABLE (check_name text, status text, object text, detail text, hint text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    apps oid[];
    n int;
BEGIN
    IF column_name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.tenant_safety_checks(): the column name must not be NULL';
    END IF;

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
     WHERE s LIKE 'rowkeeper.tenant=%'
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

COMMENT ON FUNCTION rowkeeper.tenant_safety_checks(name, regrole[]) IS
'What tenant isolation cannot enforce by itself: unisolated tenant tables, application roles with BYPASSRLS/superuser/ownership/TRUNCATE, views without security_invoker, unique keys and foreign keys without the tenant column, default tenants, the tenant mode. One row per finding (fail/warn), one ok row per clean check.';

------------------------------------------------------------------------------
-- Purge and retention jobs
--
-- Procedures (CALL, one COMMIT per batch) that DBAs schedule with pg_cron.
-- One engine, rowkeeper._purge_rows(), deletes the rows of a table whose
-- purge column is older than a cutoff, in batches, oldest first in the
-- order of an index on the purge column: a batch is one DELETE of the rows
-- below the value batch_size rows into the index (its own index scan, as a
-- plain DELETE's), or, when ties leave nothing below it, of the ctids the
-- index scan returned; the next batch starts where the last one ended.
-- The DELETE re-checks the whole purge condition under its own row locks
-- (EvalPlanQual: a row restored or changed meanwhile is never deleted).
-- No row is locked before the DELETE: a batch that meets a row the
-- application holds waits for it at most lock_timeout, and is then retried
-- picking its rows FOR UPDATE SKIP LOCKED (never queues behind the
-- application); the next 10 batches do the same, then the cheap way is
-- tried again.  Without a batch_size, the batch size adapts so that a
-- batch takes about 50 ms.  Each batch commits together with the progress
-- record in rowkeeper.purge_runs.  Rows a RESTRICT / NO ACTION foreign key still
-- references are skipped and counted, not a failed job.  Two runs of the
-- same purge never overlap: the second finds the advisory lock taken and
-- exits at once, recorded as such.  A run killed mid-way leaves only whole
-- committed batches; the next run marks it interrupted and goes on.
--
-- The DELETEs run as the table's owner (SET ROLE for the batch), so a
-- superuser scheduling a purge of an application table never runs that
-- table's triggers with superuser rights; the caller must be able to SET
-- ROLE to the owner.
--
-- Procedures that COMMIT cannot carry a SET clause: they set search_path
-- themselves in every transaction, run with the caller's rights (never
-- SECURITY DEFINER) and leave the work to functions that do pin it.
------------------------------------------------------------------------------

CREATE TABLE rowkeeper.purge_runs (
    id            bigserial   PRIMARY KEY,
    kind          text        NOT NULL,
    target        text        NOT NULL,
    cutoff        timestamptz,
    options       jsonb       NOT NULL,
    run_by        text        NOT NULL DEFAULT session_user,
    started_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at   timestamptz,
    batches       int         NOT NULL DEFAULT 0,
    rows_deleted  bigint      NOT NULL DEFAULT 0,
    rows_skipped  bigint      NOT NULL DEFAULT 0,
    lock_retries  int         NOT NULL DEFAULT 0,
    outcome       text        NOT NULL DEFAULT 'running',
    detail        jsonb,
    error         text,
    backend_pid   int         NOT NULL DEFAULT pg_catalog.pg_backend_pid()
);
CREATE INDEX purge_runs_started_idx ON rowkeeper.purge_runs (started_at);
REVOKE ALL ON rowkeeper.purge_runs FROM PUBLIC;
GRANT SELECT ON rowkeeper.purge_runs TO PUBLIC;
REVOKE ALL ON SEQUENCE rowkeeper.purge_runs_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.purge_runs', '');
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.purge_runs_id_seq', '');
COMMENT ON TABLE rowkeeper.purge_runs IS
'One row per purge run, updated after every committed batch: progress is visible while a purge runs. Kept for 90 days (each run removes older records).';
COMMENT ON COLUMN rowkeeper.purge_runs.outcome IS
'running, done, dry run, stopped (max_batches / max_duration / lock timeout), skipped (another run holds the lock), interrupted (the backend died), failed.';

/*
 * Run records are written through these SECURITY DEFINER functions, so
 * callers need no privilege on purge_runs and cannot forge a record.
 */
CREATE FUNCTION rowkeeper._purge_run_start(kind text, target text, cutoff timestamptz, options jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    run bigint;
BEGIN
    -- runs whose backend is gone died mid-way (their committed batches stay)
    UPDATE rowkeeper.purge_runs r
       SET outcome = 'interrupted', finished_at = r.updated_at
     WHERE r.outcome = 'running'
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a
                        WHERE a.pid = r.backend_pid AND a.backend_start <= r.started_at);
    DELETE FROM rowkeeper.purge_runs r WHERE r.started_at < pg_catalog.now() - interval '90 days';
    INSERT INTO rowkeeper.purge_runs (kind, target, cutoff, options, run_by)
    VALUES (kind, target, cutoff, options, session_user::text || CASE WHEN current_user <> session_user
                                                                     THEN ' as ' || current_user ELSE '' END)
    RETURNING id INTO run;
    RETURN run;
END;
$$;

COMMENT ON FUNCTION rowkeeper._purge_run_start(text, text, timestamptz, jsonb) IS
'Internal: record the start of a purge run (and mark runs whose backend died as interrupted).';

CREATE FUNCTION rowkeeper._purge_run_update(run bigint, deleted bigint, skipped bigint, retries int,
                                            outcome text DEFAULT NULL, detail jsonb DEFAULT NULL,
                                            error text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE rowkeeper.purge_runs r
       SET batches = r.batches + CASE WHEN deleted > 0 OR skipped > 0 THEN 1 ELSE 0 END,
           rows_deleted = r.rows_deleted + deleted,
           rows_skipped = r.rows_skipped + skipped,
           lock_retries = r.lock_retries + retries,
           updated_at = pg_catalog.clock_timestamp(),
           outcome = coalesce(_purge_run_update.outcome, r.outcome),
           finished_at = CASE WHEN _purge_run_update.outcome IS NOT NULL THEN pg_catalog.clock_timestamp() END,
           detail = coalesce(_purge_run_update.detail, r.detail),
           error = coalesce(_purge_run_update.error, r.error)
     WHERE r.id = run AND r.backend_pid = pg_catalog.pg_backend_pid()
$$;

COMMENT ON FUNCTION rowkeeper._purge_run_update(bigint, bigint, bigint, int, text, jsonb, text) IS
'Internal: add a committed batch to a purge run record, or finish it.';

/* A cutoff from older_than: refused if negative. */
CREATE FUNCTION rowkeeper._purge_cutoff(older_than interval, caller text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF older_than IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: older_than must not be NULL', caller);
    END IF;
    IF older_than < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: older_than must not be negative (%s): the cutoff would be in the future', caller, older_than),
            HINT = 'Pass how long rows are kept, e.g. interval ''30 days''.';
    END IF;
    RETURN pg_catalog.now() - older_than;
END;
$$;

COMMENT ON FUNCTION rowkeeper._purge_cutoff(interval, text) IS
'Internal: now() - older_than, refusing a negative interval.';

/*
 * The adaptive batch size: the next batch's size after one of size rows
 * took took seconds, aiming at 50 ms a batch, at most four times larger
 * and at least half as large as the last, within 100 to 100,000 rows.
 */
CREATE FUNCTION rowkeeper._purge_next_size(size int, took float8)
RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT LEAST(100000, GREATEST(100, size / 2,
                 LEAST(size * 4, (size * 0.05::float8 / GREATEST(took, 0.001::float8))::int)))
$$;

COMMENT ON FUNCTION rowkeeper._purge_next_size(int, float8) IS
'Internal: the purge''s adaptive batch size after a batch of size rows took took seconds (towards 50 ms a batch).';

/*
 * One batch: pick up to batch_size rows (oldest first, in index order,
 * skipping the keys in skip and, with skip_locked, rows other sessions
 * have locked), delete them re-checking the purge condition, as the
 * table's owner and under lock_timeout (both set locally: this function's
 * SET clause reverts them when it returns).  Without skip_locked the pick
 * locks nothing (the cheap way: the DELETE's own row locks and re-check are
 * what keeps a restored row); a soft-delete table's batch always locks its
 * rows, since rowkeeper.hard_delete() deletes by key.  Rows a foreign key
 * still references are skipped and returned in skip.  locked: the batch
 * could not get its locks in time (or was chosen as a deadlock victim, or
 * met a row moved to another partition): nothing of it is left.
 *
 * after: where the batch starts (column >= after), NULL at first; a batch
 * bounded by a value returns that value.  The rows below it were deleted,
 * or no longer qualify, or are skipped on purpose, so the next batch
 * starts there instead of walking the index entries of the rows the last
 * one deleted (dead but still indexed until VACUUM: the first scan to
 * meet them visits each in the heap).  A row that comes to qualify with an
 * older value while the run goes on is left to the next run.  by_value:
 * try the value bound first (the caller turns it off for a while after a
 * batch found ties instead).
 */
CREATE FUNCTION rowkeeper._purge_batch(tbl regclass, column_name name, cutoff timestamptz,
                                       where_equals jsonb, batch_size int, lock_timeout interval,
                                       caller_path text, hard boolean, skip_locked boolean,
                                       by_value boolean, INOUT skip jsonb[], INOUT after timestamptz,
                                       OUT deleted bigint, OUT skipped bigint, OUT locked boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keys text[] := (rowkeeper._row_key(tbl)).columns::text[];
    owner name := (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c WHERE c.oid = tbl);
    rel text := rowkeeper._rel_ref(tbl);
    cond text := format('t.%I OPERATOR(pg_catalog.<) $1', column_name);
    w text := '';
    cond_from text := '';
    keyjson text;
    pick text;
    del text;
    one text;
    victims jsonb[];
    victim jsonb;
    bound timestamptz;
    n bigint;
BEGIN
    deleted := 0; skipped := 0; locked := false;
    -- where_equals: its values as a row of the table's type, joined in
    -- (only when given: a join costs per row)
    IF where_equals IS NOT NULL THEN
        cond := cond || (SELECT string_agg(format(' AND t.%I %s w.%I', j.key,
                                                  rowkeeper._eq_operator(tbl, j.key), j.key), '')
                           FROM pg_catalog.jsonb_each(where_equals) j);
        w := format(', pg_catalog.jsonb_populate_record(NULL::%s, $2) w', tbl);
    END IF;
    PERFORM pg_catalog.set_config('lock_timeout', (extract(epoch FROM lock_timeout) * 1000)::bigint::text, true);
    IF owner <> current_user THEN
        PERFORM pg_catalog.set_config('role', owner, true);
    END IF;
    keyjson := (SELECT string_agg(format('%L, t.%I', k, k), ', ') FROM pg_catalog.unnest(keys) k);
    -- the oldest rows from after on, in index order, not known to be
    -- referenced (and, with skip_locked, not locked by anyone else); $1
    -- cutoff, $2 where_equals, $3 batch size, $4 keys to skip, $5 after
    IF after IS NOT NULL THEN
        cond_from := format(' AND t.%I OPERATOR(pg_catalog.>=) $5', column_name);
    END IF;
    pick := format('FROM %s t%s WHERE %s%s%s '
                   'ORDER BY t.%I LIMIT $3%s',
                   rel, w, cond, cond_from,
                   CASE WHEN pg_catalog.cardinality(skip) > 0
                        THEN format(' AND NOT (pg_catalog.jsonb_build_object(%s) OPERATOR(pg_catalog.=) ANY ($4))', keyjson) ELSE '' END,
                   column_name,
                   CASE WHEN skip_locked OR hard THEN ' FOR UPDATE OF t SKIP LOCKED' ELSE '' END);
    -- one statement: pick them, then delete exactly those tuples,
    -- re-checking the purge condition (a row changed or restored since
    -- the pick's snapshot is re-read and stays unless it still qualifies).
    -- A plain table: one TID scan over the picked ctids.  A
    -- partitioned one: ctids repeat across partitions, so (tableoid, ctid)
    -- pairs, a TID lookup each (slower).
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = tbl) = 'p' THEN
        del := format('WITH v AS (SELECT t.tableoid AS o, t.ctid AS c %s) '
                      'DELETE FROM %s t%s '
                      'WHERE (t.tableoid, t.ctid) OPERATOR(pg_catalog.=) ANY (SELECT v.o, v.c FROM v) AND %s',
                      pick, rel, CASE WHEN w <> '' THEN ' USING ' || pg_catalog.substr(w, 3) ELSE '' END,
                      cond);
    ELSE
        del := format('DELETE FROM %s t%s '
                      'WHERE t.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT t.ctid %s)) AND %s',
                      rel, CASE WHEN w <> '' THEN ' USING ' || pg_catalog.substr(w, 3) ELSE '' END,
                      pick, cond);
    END IF;
    -- a soft-delete table: its guard lets physical deletes through
    -- rowkeeper.hard_delete() only (the rows stay locked by the pick)
    IF hard THEN
        del := format('SELECT CASE WHEN count(*) > 0 THEN rowkeeper.hard_delete(%L::pg_catalog.regclass, pg_catalog.jsonb_agg(s.k)) ELSE 0 END '
                      'FROM (SELECT pg_catalog.jsonb_build_object(%s) AS k %s) s',
                      tbl, keyjson, pick);
    END IF;
    BEGIN
        BEGIN
            -- The cheap way, when nothing is to be skipped: the value
            -- batch_size rows into the index bounds the batch, and the
            -- DELETE finds its rows itself (column < that value, same
            -- conditions), in one index scan, as a plain DELETE does; no
            -- TID list to look up again.  It falls back on the TID list
            -- when fewer rows are left, or when ties at the start leave
            -- nothing below the bound.
            IF by_value AND NOT hard AND NOT skip_locked AND pg_catalog.cardinality(skip) = 0 THEN
                EXECUTE format('SELECT t.%I FROM %s t%s WHERE %s%s ORDER BY t.%I OFFSET $3 LIMIT 1',
                               column_name, rel, w, cond, cond_from, column_name)
                   INTO bound USING cutoff, coalesce(where_equals, '{}'), batch_size, skip, after;
            END IF;
            -- the table's triggers see the caller's search_path, as with a
            -- DELETE of their own (the statement itself names everything)
            PERFORM pg_catalog.set_config('search_path', caller_path, true);
            IF bound IS NOT NULL THEN
                EXECUTE format('DELETE FROM %s t%s WHERE %s%s AND t.%I OPERATOR(pg_catalog.<) $6',
                               rel, CASE WHEN w <> '' THEN ' USING ' || pg_catalog.substr(w, 3) ELSE '' END,
                               cond, cond_from, column_name)
                   USING cutoff, coalesce(where_equals, '{}'), batch_size, skip, after, bound;
                GET DIAGNOSTICS deleted = ROW_COUNT;
                IF deleted > 0 THEN
                    after := bound;
                END IF;
            END IF;
            IF hard THEN
                EXECUTE del INTO deleted USING cutoff, coalesce(where_equals, '{}'), batch_size, skip, after;
            ELSIF deleted = 0 THEN
                EXECUTE del USING cutoff, coalesce(where_equals, '{}'), batch_size, skip, after;
                GET DIAGNOSTICS deleted = ROW_COUNT;
            END IF;
        EXCEPTION WHEN foreign_key_violation THEN
            -- some rows are still referenced: one by one, skipping those
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            EXECUTE format('SELECT pg_catalog.array_agg(s.k) FROM (SELECT pg_catalog.jsonb_build_object(%s) AS k %s) s',
                           keyjson, pick)
               INTO victims USING cutoff, coalesce(where_equals, '{}'), batch_size, skip, after;
            one := format('DELETE FROM %s t USING pg_catalog.jsonb_populate_record(NULL::%s, $2) w, '
                          'pg_catalog.jsonb_populate_record(NULL::%s, $3) v WHERE %s AND %s',
                          rel, tbl, tbl, cond,
                          rowkeeper._key_join(tbl, 't', 'v'));
            IF hard THEN
                one := format('SELECT rowkeeper.hard_delete(%L::pg_catalog.regclass, $3) WHERE $1 IS NOT NULL AND $2 IS NOT NULL', tbl);
            END IF;
            PERFORM pg_catalog.set_config('search_path', caller_path, true);
            FOREACH victim IN ARRAY coalesce(victims, '{}') LOOP
                BEGIN
                    IF hard THEN
                        EXECUTE one INTO n USING cutoff, coalesce(where_equals, '{}'), victim;
                    ELSE
                        EXECUTE one USING cutoff, coalesce(where_equals, '{}'), victim;
                        GET DIAGNOSTICS n = ROW_COUNT;
                    END IF;
                    deleted := deleted + n;
                EXCEPTION WHEN foreign_key_violation THEN
                    skip := skip || victim;
                    skipped := skipped + 1;
                END;
            END LOOP;
        END;
    EXCEPTION WHEN lock_not_available OR deadlock_detected OR serialization_failure THEN
        deleted := 0; skipped := 0; locked := true;
    END;
END;
$$;

COMMENT ON FUNCTION rowkeeper._purge_batch(regclass, name, timestamptz, jsonb, int, interval, text, boolean, boolean, boolean, jsonb[], timestamptz) IS
'Internal: one batch of a table purge (as the table owner, under lock_timeout; row locks only with skip_locked).';

/*
 * The batch loop.  A procedure that COMMITs cannot carry a SET clause, so
 * it pins search_path itself for each transaction; it runs with the
 * caller's rights and leaves every decision to the functions it calls.
 *
 * Batches take no row locks before their DELETE (the cheap way) until one
 * times out on a row the application holds: that batch is retried at once
 * with FOR UPDATE SKIP LOCKED, and so are the next 10, after which the
 * cheap way is tried again.  Only batches that time out even with SKIP
 * LOCKED (a table lock) count towards giving up after 10.  Without a
 * batch_size, the size starts at 1000 rows and follows the time of the
 * last full batch towards 50 ms (at most x4 / at least /2 per step, 100 to
 * 100000 rows): per-batch costs (commit, progress record) stay small while
 * row locks stay short.  A full batch the value bound could not bound
 * (ties) sends the next 10 straight to the TID list.
 */
CREATE PROCEDURE rowkeeper._purge_rows(run bigint, tbl regclass, column_name name, cutoff timestamptz,
                                       where_equals jsonb, batch_size int, max_batches int,
                                       max_duration interval, pause interval, lock_timeout interval,
                                       caller_path text, hard boolean, INOUT failure text)
LANGUAGE plpgsql
AS $$
DECLARE
    started timestamptz := pg_catalog.clock_timestamp();
    batches int := 0;
    retries int := 0;
    size int := coalesce(batch_size, 1000);
    careful int := 0;
    ties int := 0;
    t0 timestamptz;
    took float8;
    skip jsonb[] := '{}';
    after timestamptz;
    b record;
    outcome text := 'done';
BEGIN
    LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        IF max_batches IS NOT NULL AND batches >= max_batches THEN
            outcome := 'stopped: max_batches'; EXIT;
        END IF;
        IF max_duration IS NOT NULL AND pg_catalog.clock_timestamp() - started >= max_duration THEN
            outcome := 'stopped: max_duration'; EXIT;
        END IF;
        t0 := pg_catalog.clock_timestamp();
        BEGIN
            b := rowkeeper._purge_batch(tbl, column_name, cutoff, where_equals, size, lock_timeout,
                                        caller_path, hard, careful > 0, ties = 0, skip, after);
        EXCEPTION WHEN OTHERS THEN
            failure := SQLERRM;
        END;
        took := extract(epoch FROM pg_catalog.clock_timestamp() - t0);
        IF failure IS NOT NULL THEN
            PERFORM rowkeeper._purge_run_update(run, 0, 0, 0, 'failed', NULL, failure);
            COMMIT;
            RETURN;
        END IF;
        skip := b.skip;
        -- a full batch that the value did not bound (ties): the TID list
        -- straight away for the next 10 batches
        IF ties > 0 THEN
            ties := ties - 1;
        ELSIF b.deleted >= size AND b.after IS NOT DISTINCT FROM after THEN
            ties := 10;
        END IF;
        after := b.after;
        IF b.locked THEN
            PERFORM rowkeeper._purge_run_update(run, 0, 0, 1);
            COMMIT;
            -- a COMMIT ends the SET LOCAL: pin the path again at once
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            IF careful = 0 AND NOT hard THEN
                -- a row the application holds: again at once, skipping it
                careful := 11;
                CONTINUE;
            END IF;
            retries := retries + 1;
            IF retries >= 10 THEN
                outcome := 'stopped: lock timeout'; EXIT;
            END IF;
            PERFORM pg_catalog.pg_sleep(greatest(extract(epoch FROM pause), 0.1));
            CONTINUE;
        END IF;
        PERFORM rowkeeper._purge_run_update(run, b.deleted, b.skipped, 0);
        COMMIT;
        -- a COMMIT ends the SET LOCAL: pin the path again at once
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        batches := batches + 1;
        careful := greatest(careful - 1, 0);
        EXIT WHEN b.deleted = 0 AND b.skipped = 0;
        IF batch_size IS NULL AND b.deleted + b.skipped >= size THEN
            size := rowkeeper._purge_next_size(size, took);
        END IF;
        IF pause > interval '0' THEN
            PERFORM pg_catalog.pg_sleep(extract(epoch FROM pause));
        END IF;
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    PERFORM rowkeeper._purge_run_update(run, 0, 0, 0, outcome,
        CASE WHEN pg_catalog.cardinality(skip) > 0
             THEN pg_catalog.jsonb_build_object('skipped_referenced', pg_catalog.to_jsonb(skip[1:100])) END);
    COMMIT;
END;
$$;

COMMENT ON PROCEDURE rowkeeper._purge_rows(bigint, regclass, name, timestamptz, jsonb, int, int, interval, interval, interval, text, boolean, text) IS
'Internal: the batch loop of the table purges (one COMMIT per batch).';

/* Checks shared by the purges of table rows; returns the options as jsonb. */
CREATE FUNCTION rowkeeper._purge_check(tbl regclass, column_name name, where_equals jsonb,
                                       batch_size int, max_batches int, max_duration interval,
                                       pause interval, lock_timeout interval, caller text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att pg_catalog.pg_attribute;
    k text;
BEGIN
    IF tbl IS NULL OR column_name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: table and column must not be NULL', caller);
    END IF;
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = tbl) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
            MESSAGE = format('%s: %s is not a table', caller, tbl);
    END IF;
    IF NOT pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = tbl), 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('%s: must be a member of role %I, the owner of %s', caller,
                             (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c WHERE c.oid = tbl), tbl),
            DETAIL = 'A purge deletes as the table''s owner, so that the table''s triggers never run with the rights of whoever schedules it.',
            HINT = 'Run it as the owner, or as a role the owner role is granted to.';
    END IF;
    att := rowkeeper._require_column(tbl, column_name, caller);
    IF att.atttypid NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
        RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
            MESSAGE = format('%s: column %I of %s is %s, not a timestamp or date',
                             caller, column_name, tbl, pg_catalog.format_type(att.atttypid, att.atttypmod));
    END IF;
    IF (rowkeeper._row_key(tbl)).columns::text[] IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_table_definition',
            MESSAGE = format('%s: table %s has no primary key or replica identity index', caller, tbl),
            DETAIL = 'Batches identify the rows they delete by key.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i
                    WHERE i.indrelid = tbl AND i.indkey[0] = att.attnum AND i.indpred IS NULL
                      AND i.indisvalid) THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s: no index on %s (%I)', caller, tbl, column_name),
            DETAIL = 'Each batch takes the oldest rows in the order of an index on the purge column; without one, every batch scans the dead rows earlier batches left behind.',
            HINT = format('CREATE INDEX CONCURRENTLY ON %s (%I);', tbl, column_name);
    END IF;
    IF where_equals IS NOT NULL THEN
        IF pg_catalog.jsonb_typeof(where_equals) <> 'object' THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('%s: where_equals must be a jsonb object of column: value', caller),
                HINT = 'For example where_equals => ''{"status": "read"}''.';
        END IF;
        FOR k IN SELECT pg_catalog.jsonb_object_keys(where_equals) LOOP
            PERFORM rowkeeper._require_column(tbl, k, caller);
        END LOOP;
    END IF;
    IF batch_size < 1 OR batch_size > 100000
       OR max_batches < 1 OR max_duration <= interval '0'
       OR pause < interval '0' OR lock_timeout IS NULL OR lock_timeout <= interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: batch_size must be 1 to 100000 (or NULL: adaptive), max_batches and max_duration positive, pause not negative and lock_timeout positive', caller);
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._purge_check(regclass, name, jsonb, int, int, interval, interval, interval, text) IS
'Internal: validate the arguments of a table purge.';

/* Rows a purge would delete, and the rows ON DELETE CASCADE would take. */
CREATE FUNCTION rowkeeper._purge_dry_run(tbl regclass, column_name name, cutoff timestamptz, where_equals jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cond text := format('t.%I OPERATOR(pg_catalog.<) $1', column_name);
    n bigint;
    result jsonb;
    fk record;
    c bigint;
BEGIN
    IF where_equals IS NOT NULL THEN
        cond := cond || (SELECT string_agg(format(' AND t.%I %s w.%I', j.key,
                                                  rowkeeper._eq_operator(tbl, j.key), j.key), '')
                           FROM pg_catalog.jsonb_each(where_equals) j);
    END IF;
    EXECUTE format('SELECT count(*) FROM %s t, pg_catalog.jsonb_populate_record(NULL::%s, $2) w WHERE %s',
                   rowkeeper._rel_ref(tbl), tbl, cond)
       INTO n USING cutoff, coalesce(where_equals, '{}');
    result := pg_catalog.jsonb_build_object(tbl::text, n);
    FOR fk IN SELECT f.conrelid::regclass AS child, f.confdeltype,
                     (SELECT string_agg(format('c.%I = t.%I', ca.attname, pa.attname), ' AND ')
                        FROM ROWS FROM (pg_catalog.unnest(f.conkey), pg_catalog.unnest(f.confkey)) AS u(ck, pk)
                        JOIN pg_catalog.pg_attribute ca ON ca.attrelid = f.conrelid AND ca.attnum = u.ck
                        JOIN pg_catalog.pg_attribute pa ON pa.attrelid = f.confrelid AND pa.attnum = u.pk) AS j
                FROM pg_catalog.pg_constraint f
               WHERE f.contype = 'f' AND f.confrelid = tbl AND f.conparentid = 0 LOOP
        EXECUTE format('SELECT count(*) FROM %s c WHERE EXISTS (SELECT FROM %s t, pg_catalog.jsonb_populate_record(NULL::%s, $2) w WHERE %s AND %s)',
                       fk.child, rowkeeper._rel_ref(tbl), tbl, cond, fk.j)
           INTO c USING cutoff, coalesce(where_equals, '{}');
        result := result || pg_catalog.jsonb_build_object(
            fk.child::text || CASE fk.confdeltype WHEN 'c' THEN ' (cascade)' WHEN 'n' THEN ' (set null)'
                                                  WHEN 'd' THEN ' (set default)' ELSE ' (referencing: skipped)' END, c);
    END LOOP;
    RETURN result;
END;
$$;

COMMENT ON FUNCTION rowkeeper._purge_dry_run(regclass, name, timestamptz, jsonb) IS
'Internal: count what a purge would delete, per table and through foreign keys.';

/* Shared driver of purge_expired and purge_soft_deleted. */
CREATE PROCEDURE rowkeeper._purge_table(kind text, tbl regclass, column_name name, cutoff timestamptz,
                                        where_equals jsonb, batch_size int, max_batches int,
                                        max_duration interval, pause interval, lock_timeout interval,
                                        dry_run boolean, caller_path text, INOUT run_id bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    lock_key bigint;
    failure text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    lock_key := pg_catalog.hashtextextended('rowkeeper.purge ' || kind || ' ' || tbl::oid::text, 0);
    run_id := rowkeeper._purge_run_start(kind, tbl::text, cutoff, pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'column', column_name, 'where_equals', where_equals, 'batch_size', batch_size,
        'max_batches', max_batches, 'max_duration', max_duration, 'pause', pause,
        'lock_timeout', lock_timeout, 'dry_run', dry_run)));
    IF dry_run THEN
        PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 0, 'dry run',
                                            rowkeeper._purge_dry_run(tbl, column_name, cutoff, where_equals));
        RETURN;
    END IF;
    IF NOT pg_catalog.pg_try_advisory_lock(lock_key) THEN
        PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 0, 'skipped: another run holds the lock');
        RETURN;
    END IF;
    COMMIT;
    -- a COMMIT ends the SET LOCAL: pin the path again at once
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    CALL rowkeeper._purge_rows(run_id, tbl, column_name, cutoff, where_equals, batch_size, max_batches,
                               max_duration, pause, lock_timeout, caller_path, kind = 'soft_deleted', failure);
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    PERFORM pg_catalog.pg_advisory_unlock(lock_key);
    IF failure IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'external_routine_exception',
            MESSAGE = format('rowkeeper: purge run %s of %s failed: %s', run_id, tbl, failure),
            HINT = 'The batches committed before the failure stay done; see rowkeeper.purge_runs.';
    END IF;
END;
$$;

COMMENT ON PROCEDURE rowkeeper._purge_table(text, regclass, name, timestamptz, jsonb, int, int, interval, interval, interval, boolean, text, bigint) IS
'Internal: run one table purge (record, lock, batches).';

CREATE PROCEDURE rowkeeper.purge_expired(tbl regclass,
                                         column_name name,
                                         older_than interval DEFAULT '0',
                                         where_equals jsonb DEFAULT NULL,
                                         batch_size int DEFAULT NULL,
                                         max_batches int DEFAULT NULL,
                                         max_duration interval DEFAULT NULL,
                                         pause interval DEFAULT '0',
                                         lock_timeout interval DEFAULT '1s',
                                         dry_run boolean DEFAULT false,
                                         INOUT run_id bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    caller constant text := 'rowkeeper.purge_expired()';
    caller_path text := pg_catalog.current_setting('search_path');
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    PERFORM rowkeeper._purge_check(tbl, column_name, where_equals, batch_size, max_batches,
                                   max_duration, pause, lock_timeout, caller);
    CALL rowkeeper._purge_table('expired', tbl, column_name, rowkeeper._purge_cutoff(older_than, caller),
                                where_equals, batch_size, max_batches, max_duration, pause,
                                lock_timeout, dry_run, caller_path, run_id);
END;
$$;

COMMENT ON PROCEDURE rowkeeper.purge_expired(regclass, name, interval, jsonb, int, int, interval, interval, interval, boolean, bigint) IS
'Delete, in committed batches, the rows whose column is older than now() - older_than (and whose where_equals columns equal the given values). CALL it on its own (pg_cron job); see rowkeeper.purge_runs.';

/*
 * Hard-delete the rows of a soft-delete table (issue: soft delete) that
 * were soft-deleted longer ago than the grace period, through
 * rowkeeper.hard_delete() (the only way past the table's guard), batch by
 * batch; foreign-key cascades of the hard delete go with them.
 */
CREATE PROCEDURE rowkeeper.purge_soft_deleted(tbl regclass,
                                              older_than interval DEFAULT '30 days',
                                              batch_size int DEFAULT NULL,
                                              max_batches int DEFAULT NULL,
                                              max_duration interval DEFAULT NULL,
                                              pause interval DEFAULT '0',
                                              lock_timeout interval DEFAULT '1s',
                                              dry_run boolean DEFAULT false,
                                              INOUT run_id bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    caller constant text := 'rowkeeper.purge_soft_deleted()';
    caller_path text := pg_catalog.current_setting('search_path');
    base regclass;
    col name;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    base := rowkeeper._soft_delete_base(tbl);
    col := (rowkeeper._soft_delete_config(base)).column_name;
    IF col IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s: %s has no soft delete', caller, tbl),
            HINT = 'Use rowkeeper.purge_expired() for a table without soft delete.';
    END IF;
    PERFORM rowkeeper._purge_check(base, col, NULL, batch_size, max_batches,
                                   max_duration, pause, lock_timeout, caller);
    CALL rowkeeper._purge_table('soft_deleted', base, col, rowkeeper._purge_cutoff(older_than, caller),
                                NULL, batch_size, max_batches, max_duration, pause,
                                lock_timeout, dry_run, caller_path, run_id);
END;
$$;

COMMENT ON PROCEDURE rowkeeper.purge_soft_deleted(regclass, interval, int, int, interval, interval, interval, boolean, bigint) IS
'Hard-delete, in committed batches, the rows of a soft-delete table (its view or its table) soft-deleted longer ago than older_than, through rowkeeper.hard_delete(). CALL it on its own (pg_cron job); see rowkeeper.purge_runs.';

/*
 * Retention of the audit log.
 *
 * The boundary: entries older than the cutoff, and, when the log is sealed
 * into the hash chain, only entries of whole sealed batches whose newest
 * entry is older than the cutoff (txid below the boundary batch's txid_hi),
 * so the chain stays verifiable: those batches keep their hash and link and
 * are marked purged (their digests go).  Unsealed entries wait for the next
 * seal.  Whole monthly partitions past the boundary are detached (and
 * dropped unless keep_detached); the rest goes in batches, oldest pages
 * first (the order the log's BRIN index reads them; the log has no btree on
 * txid or logged_at that could hand the entries over in key order).
 */
CREATE FUNCTION rowkeeper._audit_purge_plan(cutoff timestamptz)
RETURNS TABLE (txid_bound xid8, chained boolean, last_batch bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH first_young AS (
        SELECT min(s.batch) AS b FROM rowkeeper.audit_seal s WHERE s.last_logged_at >= cutoff),
    prefix AS (
        SELECT max(s.batch) AS b, max(s.txid_hi) AS hi
          FROM rowkeeper.audit_seal s, first_young f
         WHERE f.b IS NULL OR s.batch < f.b)
    SELECT CASE WHEN EXISTS (SELECT FROM rowkeeper.audit_seal) THEN coalesce(p.hi, '0'::xid8) END,
           EXISTS (SELECT FROM rowkeeper.audit_seal),
           p.b
      FROM prefix p
$$;

COMMENT ON FUNCTION rowkeeper._audit_purge_plan(timestamptz) IS
'Internal: how far purge_audit_log may go without breaking the hash chain.';

CREATE FUNCTION rowkeeper._audit_purge_partitions(cutoff timestamptz, txid_bound xid8, keep_detached boolean)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    done jsonb := '[]';
BEGIN
    FOR p IN SELECT t.relid::regclass AS part,
                    (pg_catalog.regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                                             'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
               FROM pg_catalog.pg_partition_tree('rowkeeper.audit_log') t
               JOIN pg_catalog.pg_class c ON c.oid = t.relid
              WHERE t.isleaf AND NOT c.relpartbound IS NULL
                AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
              ORDER BY 2 LOOP
        CONTINUE WHEN p.upper_bound IS NULL OR p.upper_bound > cutoff;
        IF txid_bound IS NOT NULL THEN
            CONTINUE WHEN EXISTS (SELECT FROM rowkeeper.audit_log l
                                   WHERE l.tableoid = p.part AND l.txid >= txid_bound);
        END IF;
        done := done || pg_catalog.to_jsonb(p.part::text);
        EXECUTE format('ALTER TABLE rowkeeper.audit_log DETACH PARTITION %s', p.part);
        IF NOT keep_detached THEN
            EXECUTE format('DROP TABLE %s', p.part);
        END IF;
    END LOOP;
    RETURN done;
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_purge_partitions(timestamptz, xid8, boolean) IS
'Internal: detach (and drop) the audit log partitions entirely past the purge boundary.';

CREATE FUNCTION rowkeeper._audit_purge_batch(cutoff timestamptz, txid_bound xid8, batch_size int,
                                             lock_timeout interval)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM pg_catalog.set_config('lock_timeout', (extract(epoch FROM lock_timeout) * 1000)::bigint::text, true);
    BEGIN
        DELETE FROM rowkeeper.audit_log l
         USING (SELECT x.tableoid AS part, x.ctid AS tid FROM rowkeeper.audit_log x
                 WHERE x.logged_at < cutoff AND (txid_bound IS NULL OR x.txid < txid_bound)
                 LIMIT batch_size) v
         WHERE l.tableoid = v.part AND l.ctid = v.tid
           AND l.logged_at < cutoff AND (txid_bound IS NULL OR l.txid < txid_bound);
        GET DIAGNOSTICS n = ROW_COUNT;
    EXCEPTION WHEN lock_not_available THEN
        n := -1;
    END;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_purge_batch(timestamptz, xid8, int, interval) IS
'Internal: one batch of audit log retention (-1: could not get its locks in time).';

CREATE FUNCTION rowkeeper._audit_purge_check(older_than interval)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.purge_audit_log()';
    -- through C, not current_setting(): see src/purge.c
    min_retention interval := rowkeeper._audit_min_retention();
BEGIN
    IF older_than IS NOT NULL AND older_than < min_retention THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s: a retention of %s is below rowkeeper.audit_min_retention (%s)', caller, older_than, min_retention),
            HINT = 'Keep the log longer, or have a superuser lower rowkeeper.audit_min_retention.';
    END IF;
    RETURN rowkeeper._purge_cutoff(older_than, caller);
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_purge_check(interval) IS
'Internal: the cutoff of an audit log purge, refusing a retention below rowkeeper.audit_min_retention.';

CREATE PROCEDURE rowkeeper.purge_audit_log(older_than interval,
                                           keep_detached boolean DEFAULT false,
                                           batch_size int DEFAULT 10000,
                                           max_batches int DEFAULT NULL,
                                           max_duration interval DEFAULT NULL,
                                           pause interval DEFAULT '0',
                                           lock_timeout interval DEFAULT '1s',
                                           dry_run boolean DEFAULT false,
                                           INOUT run_id bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    cutoff timestamptz;
    plan record;
    lock_key bigint;
    parts jsonb;
    n bigint;
    batches int := 0;
    retries int := 0;
    started timestamptz := pg_catalog.clock_timestamp();
    outcome text := 'done';
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    cutoff := rowkeeper._audit_purge_check(older_than);
    IF keep_detached IS NULL OR batch_size IS NULL OR batch_size < 1 OR dry_run IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'rowkeeper.purge_audit_log(): keep_detached, dry_run and a positive batch_size are required';
    END IF;
    plan := rowkeeper._audit_purge_plan(cutoff);
    run_id := rowkeeper._purge_run_start('audit_log', 'rowkeeper.audit_log', cutoff,
        pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
            'keep_detached', keep_detached, 'batch_size', batch_size, 'max_batches', max_batches,
            'max_duration', max_duration, 'pause', pause, 'lock_timeout', lock_timeout,
            'dry_run', dry_run, 'txid_bound', plan.txid_bound, 'sealed_batches_purged', plan.last_batch)));
    IF dry_run THEN
        SELECT count(*) INTO n FROM rowkeeper.audit_log l
         WHERE l.logged_at < cutoff AND (plan.txid_bound IS NULL OR l.txid < plan.txid_bound);
        PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 0, 'dry run',
                                            pg_catalog.jsonb_build_object('rowkeeper.audit_log', n));
        RETURN;
    END IF;
    lock_key := pg_catalog.hashtextextended('rowkeeper.purge audit_log', 0);
    IF NOT pg_catalog.pg_try_advisory_lock(lock_key) THEN
        PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 0, 'skipped: another run holds the lock');
        RETURN;
    END IF;
    -- the chain first: batches about to lose their entries keep only their link
    UPDATE rowkeeper.audit_seal s SET purged_at = pg_catalog.now(), digests = ''::bytea
     WHERE plan.last_batch IS NOT NULL AND s.batch <= plan.last_batch AND s.purged_at IS NULL;
    parts := rowkeeper._audit_purge_partitions(cutoff, plan.txid_bound, keep_detached);
    PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 0, NULL, pg_catalog.jsonb_build_object('partitions', parts));
    COMMIT;
    LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        IF max_batches IS NOT NULL AND batches >= max_batches THEN
            outcome := 'stopped: max_batches'; EXIT;
        END IF;
        IF max_duration IS NOT NULL AND pg_catalog.clock_timestamp() - started >= max_duration THEN
            outcome := 'stopped: max_duration'; EXIT;
        END IF;
        n := rowkeeper._audit_purge_batch(cutoff, plan.txid_bound, batch_size, lock_timeout);
        IF n < 0 THEN
            retries := retries + 1;
            PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 1);
            COMMIT;
            -- a COMMIT ends the SET LOCAL: pin the path again at once
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            IF retries >= 10 THEN
                outcome := 'stopped: lock timeout'; EXIT;
            END IF;
            PERFORM pg_catalog.pg_sleep(greatest(extract(epoch FROM pause), 0.1));
            CONTINUE;
        END IF;
        PERFORM rowkeeper._purge_run_update(run_id, n, 0, 0);
        COMMIT;
        -- a COMMIT ends the SET LOCAL: pin the path again at once
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        batches := batches + 1;
        EXIT WHEN n = 0;
        IF pause > interval '0' THEN
            PERFORM pg_catalog.pg_sleep(extract(epoch FROM pause));
        END IF;
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 0, outcome);
    PERFORM pg_catalog.pg_advisory_unlock(lock_key);
    COMMIT;
END;
$$;

REVOKE ALL ON PROCEDURE rowkeeper.purge_audit_log(interval, boolean, int, int, interval, interval, interval, boolean, bigint) FROM PUBLIC;

COMMENT ON PROCEDURE rowkeeper.purge_audit_log(interval, boolean, int, int, interval, interval, interval, boolean, bigint) IS
'Retention of rowkeeper.audit_log: detach/drop whole partitions older than the cutoff, delete the rest in batches, keep the hash chain verifiable (purged sealed batches keep their link). Refuses a retention below rowkeeper.audit_min_retention. Run by the log''s owner or a superuser.';
------------------------------------------------------------------------------
-- Preflight: the production checklist, as a query
--
-- rowkeeper.preflight(schemas) returns one row per finding and one ok row
-- per clean check: (check_name, status, object, detail, fix).  Statuses:
-- ok, info (worth knowing, never fails), warn, fail.  Check names are
-- "<group>.<check>": coverage, tenant (the rows of tenant_safety_checks()),
-- roles, settings, hygiene.  schemas limits the table checks (coverage,
-- indexes, dead tuples) to those schemas; NULL means every user schema.
--
-- Read only (STABLE, no writes, no temporary tables): it runs on a hot
-- standby and inside a read-only transaction.  Runs with the caller's
-- rights; a check the caller may not perform (the hash chain needs SELECT
-- on rowkeeper.audit_seal) says so as a warn row instead of failing.
--
-- rowkeeper.preflight_assert(schemas) raises when any check fails (for CI).
------------------------------------------------------------------------------

/*
 * The user tables the table checks look at: ordinary and partitioned tables
 * that are not partitions (rowkeeper works on the partitioned table), not
 * system, not rowkeeper's, not temporary, not an extension's member.
 */
CREATE FUNCTION rowkeeper._preflight_tables(schemas name[])
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
 * Partition bounds of the leaf partitions of rowkeeper.audit_log (the
 * default partition excluded), parsed from their FOR VALUES clause.
 */
CREATE FUNCTION rowkeeper._audit_partition_bounds()
RETURNS TABLE (part regclass, lower_bound timestamptz, upper_bound timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.relid::regclass, m[1]::timestamptz, m[2]::timestamptz
      FROM pg_catalog.pg_partition_tree('rowkeeper.audit_log') t
      JOIN pg_catalog.pg_class c ON c.oid = t.relid
     CROSS JOIN LATERAL pg_catalog.regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                                               'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') m
     WHERE t.isleaf AND c.relpartbound IS NOT NULL AND m IS NOT NULL
$$;

COMMENT ON FUNCTION rowkeeper._audit_partition_bounds() IS
'Internal: the range of each monthly partition of rowkeeper.audit_log.';

CREATE FUNCTION rowkeeper.preflight(schemas name[] DEFAULT NULL)
RETURNS TABLE (check_name text, status text, object text, detail text, fix text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    s text;
    preloaded boolean;      -- rowkeeper preloaded? NULL: this role cannot see
    last_seal record;
    tail_at timestamptz;
    m timestamptz;
BEGIN
    ------------------------------------------------------------------ coverage
    RETURN QUERY
    SELECT 'coverage.audit', 'fail', t.tbl::text,
           CASE WHEN a.table_name IS NULL THEN format('Table %s is not audited.', t.tbl)
                ELSE format('Auditing of table %s is disabled (ALTER TABLE ... DISABLE TRIGGER).', t.tbl) END,
           CASE WHEN a.table_name IS NULL THEN format('SELECT rowkeeper.enable_audit(%L);', t.tbl::text)
                ELSE format('ALTER TABLE %s ENABLE TRIGGER USER;', t.tbl) END
      FROM rowkeeper._preflight_tables(schemas) t
      LEFT JOIN rowkeeper.audited_tables a ON a.table_name = t.tbl
     WHERE a.table_name IS NULL OR NOT a.enabled
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'coverage.audit', 'ok', NULL::text, 'Every table is audited.', NULL::text;
    END IF;

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

    -------------------------------------------------------------------- tenant
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

    --------------------------------------------------------------------- roles
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

    ------------------------------------------------------------------ settings
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

    -- soft delete's fast paths need the library loaded before a statement
    -- is parsed; without, the view's trigger does the same work slower
    RETURN QUERY
    WITH sd AS (SELECT pg_catalog.count(*) AS n FROM rowkeeper.soft_delete_tables)
    SELECT 'settings.soft_delete_preload',
           CASE WHEN sd.n = 0 OR preloaded THEN 'ok' ELSE 'warn' END,
           'shared_preload_libraries',
           format('%s soft-delete tables; rowkeeper is %s.', sd.n,
                  CASE WHEN preloaded THEN 'preloaded' WHEN preloaded IS NULL THEN 'perhaps preloaded (not visible to this role)'
                       ELSE 'not preloaded' END) ||
           CASE WHEN sd.n > 0 AND NOT preloaded
                THEN ' A DELETE through a soft-delete view is run by its trigger, one more statement per row (about 0.7x of a plain UPDATE), and reads expand the view.'
                ELSE '' END,
           CASE WHEN sd.n > 0 AND preloaded IS NULL
                THEN 'Run rowkeeper.preflight() as a superuser or a member of pg_read_all_settings.'
                WHEN sd.n > 0 AND NOT preloaded
                THEN 'Add rowkeeper to shared_preload_libraries (restart) or session_preload_libraries (new sessions).' END
      FROM sd;

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

    ------------------------------------------------------------------- hygiene
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

    -- purge jobs: the last run of each job
    RETURN QUERY
    SELECT 'hygiene.purge_run', CASE WHEN p.outcome = 'failed' THEN 'fail' ELSE 'warn' END,
           format('%s %s', p.kind, p.target),
           format('The last %s purge of %s (run %s, %s) ended %s%s.', p.kind, p.target, p.id,
                  p.started_at, p.outcome, coalesce(': ' || p.error, '')),
           'Read rowkeeper.purge_runs for the run, fix the cause and run the job again; the next run resumes where it stopped.'
      FROM (SELECT DISTINCT ON (r.kind, r.target) r.*
              FROM rowkeeper.purge_runs r
             WHERE r.outcome <> 'dry run'
             ORDER BY r.kind, r.target, r.id DESC) p
     WHERE p.outcome IN ('failed', 'interrupted', 'stopped: lock timeout')
     ORDER BY 3;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN QUERY SELECT 'hygiene.purge_run', 'ok', NULL::text,
                            'No purge job''s last run failed or was interrupted.', NULL::text;
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

COMMENT ON FUNCTION rowkeeper.preflight(name[]) IS
'The production checklist: coverage (audit, updated_at, soft delete, tenant isolation), roles, server settings and hygiene (indexes, dead rows, audit partitions, purge runs, hash chain). One row per finding (info/warn/fail) and one ok row per clean check, with the fix. schemas limits the table checks; read only (runs on a standby).';

CREATE FUNCTION rowkeeper.preflight_assert(schemas name[] DEFAULT NULL, ignore text[] DEFAULT NULL)
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
     WHERE NOT x.check_name LIKE ANY (coalesce(ignore, '{}'));
    IF nfail > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('rowkeeper preflight: %s check(s) failed: %s', nfail, fails),
            DETAIL = format('%s ok, %s warn, %s fail.', nok, nwarn, nfail),
            HINT = 'SELECT * FROM rowkeeper.preflight() WHERE status = ''fail''; shows the fix for each (or pass the check name in ignore).';
    END IF;
    RETURN format('%s ok, %s warn, 0 fail', nok, nwarn);
END;
$$;

COMMENT ON FUNCTION rowkeeper.preflight_assert(name[], text[]) IS
'For CI: raise an error (SQLSTATE 55000) naming every failed preflight check, else return a summary ("N ok, N warn, 0 fail"). ignore: LIKE patterns of check names to leave out (e.g. {settings.archive_mode}). psql -v ON_ERROR_STOP=1 -c ''SELECT rowkeeper.preflight_assert()'' exits non-zero on failure.';
