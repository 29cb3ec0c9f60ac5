
-- src/sql/12_updated_at.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- updated_at
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION rowkeeper.updated_at_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'updated_at_trigger';

COMMENT ON FUNCTION rowkeeper.updated_at_trigger() IS
'BEFORE INSERT/UPDATE row trigger that keeps a timestamp column current. Attach it with rowkeeper.enable_updated_at().';

/*
 * Name of the trigger that maintains column_name: rowkeeper_updated_at_<col>,
 * or, when that would not fit in 63 bytes, a name with a hash of the column
 * so that two long column names never truncate to the same trigger name.
 */
CREATE OR REPLACE FUNCTION rowkeeper._updated_at_trigger_name(column_name name)
RETURNS name
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN pg_catalog.octet_length('rowkeeper_updated_at_' || column_name) <= 63
        THEN ('rowkeeper_updated_at_' || column_name)::name
        ELSE ('rowkeeper_updated_at_' || pg_catalog.substr(pg_catalog.md5(column_name), 1, 16))::name
    END
$$;

COMMENT ON FUNCTION rowkeeper._updated_at_trigger_name(name) IS
'Internal: the name of the updated_at trigger for a column.';

-- Prisma (DateTime = timestamp(3)), TypeORM and Sequelize write timestamp
-- without time zone columns in UTC and read them back as UTC.  0.1.0 wrote
-- the session's local time into them (now()::timestamp), so a session with
-- TimeZone = America/New_York made the ORM read updatedAt five hours in the
-- past.  enable_updated_at() takes time_zone => 'utc' (the default) or
-- 'session' (what 0.1.0 did) and records it as the trigger argument
-- time_zone=<value>, for timestamp columns only (a timestamptz holds an
-- instant, the session's time zone only changes how it is shown).  A
-- trigger without the argument (made by 0.1.0) keeps writing the session's
-- time until enable_updated_at() is called again.
--
-- ORMs that stamp updatedAt themselves (Django auto_now, Sequelize, TypeORM,
-- Prisma @updatedAt) send it in every UPDATE, so a save that changes
-- nothing still changed the row (and the audit log got an UPDATE of
-- updatedAt alone).  With skip_noop and skip_stamp_only (both default
-- true; trigger argument skip_stamp_only=false turns it off) an UPDATE
-- whose only difference is this column keeps the old row; as soon as
-- anything else changes, the clock (or keep_explicit) decides the value.

/*
 * The tables of a schema that have column_name, excluding partitions (the
 * trigger on their partitioned parent reaches them).
 */
CREATE OR REPLACE FUNCTION rowkeeper._tables_with_column(schema_name name, column_name name)
RETURNS SETOF regclass
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
     WHERE n.nspname = schema_name
       AND c.relkind IN ('r', 'p')
       AND NOT c.relispartition
       AND a.attname = column_name
       AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname
$$;

COMMENT ON FUNCTION rowkeeper._tables_with_column(name, name) IS
'Internal: tables (not partitions) of a schema that have a column, by name.';


CREATE OR REPLACE FUNCTION rowkeeper.enable_updated_at(tbl regclass,
                                            column_name name DEFAULT 'updated_at',
                                            keep_explicit boolean DEFAULT false,
                                            skip_noop boolean DEFAULT true,
                                            on_insert boolean DEFAULT true,
                                            clock text DEFAULT 'transaction',
                                            time_zone text DEFAULT 'utc',
                                            skip_stamp_only boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.enable_updated_at()';
    att pg_catalog.pg_attribute;
    want_args text[];
    want_type int2;
    tgname name;
    old record; unsafe_triggers text; had boolean;
BEGIN
    PERFORM rowkeeper._require_owned_table(tbl, caller);
    att := rowkeeper._require_column(tbl, column_name, caller);

    IF keep_explicit IS NULL OR skip_noop IS NULL OR on_insert IS NULL OR clock IS NULL
       OR time_zone IS NULL OR skip_stamp_only IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: options must not be NULL', caller),
            HINT = 'Leave an option out to get its default.';
    END IF;
    IF clock NOT IN ('transaction', 'statement', 'clock') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('invalid clock %L', clock),
            DETAIL = 'transaction stamps the start of the transaction (now()), statement the start of the statement (statement_timestamp()), clock the moment of the change (clock_timestamp()).',
            HINT = 'Use clock => ''transaction'', ''statement'' or ''clock''.';
    END IF;
    IF time_zone NOT IN ('utc', 'session') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('invalid time_zone %L', time_zone),
            DETAIL = 'A timestamp without time zone column gets the time in UTC (utc, what Prisma, TypeORM and Sequelize read back) or in the session''s TimeZone (session).',
            HINT = 'Use time_zone => ''utc'' or ''session''.';
    END IF;
    IF att.atttypid NOT IN ('timestamptz'::regtype, 'timestamp'::regtype) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'datatype_mismatch',
            MESSAGE = format('column %I of table %s has type %s', column_name, tbl,
                             pg_catalog.format_type(att.atttypid, att.atttypmod)),
            DETAIL = 'An updated_at column must be timestamp with time zone or timestamp without time zone.',
            HINT = format('ALTER TABLE %s ALTER COLUMN %I TYPE timestamptz', tbl, column_name);
    END IF;
    IF att.attgenerated <> '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_column_definition',
            MESSAGE = format('column %I of table %s is a generated column', column_name, tbl),
            DETAIL = 'A trigger cannot set a generated column.';
    END IF;

    want_args := ARRAY[column_name::text,
                       'clock=' || clock,
                       'keep_explicit=' || keep_explicit,
                       'skip_noop=' || skip_noop];
    IF att.atttypid = 'timestamp'::regtype THEN
        want_args := want_args || ('time_zone=' || time_zone);
    END IF;
    -- absent means true: only turning it off is written down
    IF NOT skip_stamp_only THEN
        want_args := want_args || 'skip_stamp_only=false'::text;
    END IF;
    -- tgtype bits: ROW (1) | BEFORE (2) | UPDATE (16) [| INSERT (4)]
    want_type := CASE WHEN on_insert THEN 1 | 2 | 4 | 16 ELSE 1 | 2 | 16 END;

    SELECT t.tgname, t.tgtype, rowkeeper._trigger_args(t.tgargs) AS args INTO old
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = tbl
       AND t.tgfoid = 'rowkeeper.updated_at_trigger()'::pg_catalog.regprocedure
       AND t.tgparentid = 0
       AND (rowkeeper._trigger_args(t.tgargs))[1] = column_name::text;

    had := FOUND;
    IF had THEN
        IF old.args = want_args AND old.tgtype = want_type THEN
            RETURN;             -- already exactly so: nothing to change
        END IF;
    END IF;
    -- Citus: the trigger goes to the shards (it touches nothing but its row)
    unsafe_triggers := rowkeeper._citus_allow_triggers();
    IF had THEN
        EXECUTE format('DROP TRIGGER %I ON %s', old.tgname, tbl);
    END IF;

    tgname := rowkeeper._updated_at_trigger_name(column_name);
    EXECUTE format('CREATE TRIGGER %I BEFORE %s ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION rowkeeper.updated_at_trigger(%s)',
                   tgname,
                   CASE WHEN on_insert THEN 'INSERT OR UPDATE' ELSE 'UPDATE' END,
                   tbl,
                   rowkeeper._quote_args(want_args));
    PERFORM rowkeeper._citus_allow_triggers(unsafe_triggers);
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_updated_at(regclass, name, boolean, boolean, boolean, text, text, boolean) IS
'Keep column_name (timestamptz or timestamp) set to the time of the last change of each row; a timestamp column gets UTC (time_zone => ''utc'') or the session''s local time (''session''). With skip_noop and skip_stamp_only, an UPDATE that sets nothing but this column itself (an ORM''s no-op save) changes nothing. Idempotent; call again to change options.';

CREATE OR REPLACE FUNCTION rowkeeper.enable_updated_at_in_schema(schema_name name,
                                                      column_name name DEFAULT 'updated_at',
                                                      keep_explicit boolean DEFAULT false,
                                                      skip_noop boolean DEFAULT true,
                                                      on_insert boolean DEFAULT true,
                                                      clock text DEFAULT 'transaction',
                                                      time_zone text DEFAULT 'utc',
                                                      skip_stamp_only boolean DEFAULT true)
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
        PERFORM rowkeeper.enable_updated_at(tbl, column_name, keep_explicit,
                                            skip_noop, on_insert, clock, time_zone,
                                            skip_stamp_only);
        RETURN NEXT tbl;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_updated_at_in_schema(name, name, boolean, boolean, boolean, text, text, boolean) IS
'enable_updated_at() on every table of a schema that has the column; returns the tables. All or nothing: one unsuitable table fails the call.';

/*
 * Every updated_at trigger rowkeeper created (not the clones on
 * partitions).  The listing shows the time zone of timestamp columns (NULL
 * for timestamptz); a trigger without the argument writes the session's
 * time ('session').
 */
CREATE OR REPLACE VIEW rowkeeper.updated_at_tables AS
SELECT t.tgrelid::regclass                          AS table_name,
       n.nspname                                    AS schema_name,
       c.relname                                    AS relname,
       a.args[1]::name                              AS column_name,
       coalesce(opt.clock, 'transaction')           AS clock,
       coalesce(opt.keep_explicit, false)           AS keep_explicit,
       coalesce(opt.skip_noop, true)                AS skip_noop,
       (t.tgtype::int & 4) <> 0                     AS on_insert,
       t.tgenabled <> 'D'                           AS enabled,
       t.tgname                                     AS trigger_name,
       CASE WHEN col.atttypid = 'pg_catalog.timestamp'::pg_catalog.regtype
            THEN coalesce(opt.time_zone, 'session') END AS time_zone,
       coalesce(opt.skip_noop, true) AND coalesce(opt.skip_stamp_only, true)
                                                    AS skip_stamp_only
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN LATERAL (SELECT rowkeeper._trigger_args(t.tgargs) AS args) a
 CROSS JOIN LATERAL (
        SELECT rowkeeper._trigger_option(a.args[2:], 'clock') AS clock,
               rowkeeper._trigger_option(a.args[2:], 'keep_explicit')::boolean AS keep_explicit,
               rowkeeper._trigger_option(a.args[2:], 'skip_noop')::boolean AS skip_noop,
               rowkeeper._trigger_option(a.args[2:], 'time_zone') AS time_zone,
               rowkeeper._trigger_option(a.args[2:], 'skip_stamp_only')::boolean AS skip_stamp_only) opt
  LEFT JOIN pg_catalog.pg_attribute col
         ON col.attrelid = t.tgrelid AND col.attname = a.args[1] AND col.attnum > 0 AND NOT col.attisdropped
 WHERE t.tgfoid = 'rowkeeper.updated_at_trigger()'::pg_catalog.regprocedure
   AND t.tgparentid = 0;

GRANT SELECT ON rowkeeper.updated_at_tables TO PUBLIC;

COMMENT ON VIEW rowkeeper.updated_at_tables IS
'Tables whose updated_at column rowkeeper maintains, with the options of each trigger.';

/*
 * Remove the updated_at trigger of a column; on a Citus table the DROP
 * TRIGGER needs citus.enable_unsafe_triggers (Citus drops it on the shards
 * too).
 */
CREATE OR REPLACE FUNCTION rowkeeper.disable_updated_at(tbl regclass,
                                                        column_name name DEFAULT 'updated_at')
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tgname name;
    unsafe_triggers text;
BEGIN
    PERFORM rowkeeper._require_owned_table(tbl, 'rowkeeper.disable_updated_at()');
    IF column_name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'rowkeeper.disable_updated_at(): the column name must not be NULL';
    END IF;

    SELECT t.tgname INTO tgname
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = tbl
       AND t.tgfoid = 'rowkeeper.updated_at_trigger()'::pg_catalog.regprocedure
       AND t.tgparentid = 0
       AND (rowkeeper._trigger_args(t.tgargs))[1] = column_name::text;

    IF NOT FOUND THEN
        RAISE NOTICE 'updated_at is not enabled for column % of table %, nothing to do',
            pg_catalog.quote_ident(column_name), tbl;
        RETURN;
    END IF;
    unsafe_triggers := rowkeeper._citus_allow_triggers();
    EXECUTE format('DROP TRIGGER %I ON %s', tgname, tbl);
    PERFORM rowkeeper._citus_allow_triggers(unsafe_triggers);
END;
$$;

COMMENT ON FUNCTION rowkeeper.disable_updated_at(regclass, name) IS
'Remove the updated_at trigger that enable_updated_at() put on a column (the column itself stays).';

CREATE OR REPLACE FUNCTION rowkeeper.disable_updated_at_in_schema(schema_name name,
                                                       column_name name DEFAULT 'updated_at')
RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
BEGIN
    FOR tbl IN SELECT u.table_name FROM rowkeeper.updated_at_tables u
                WHERE u.schema_name = disable_updated_at_in_schema.schema_name
                  AND u.column_name = disable_updated_at_in_schema.column_name
                ORDER BY u.relname LOOP
        PERFORM rowkeeper.disable_updated_at(tbl, column_name);
        RETURN NEXT tbl;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper.disable_updated_at_in_schema(name, name) IS
'disable_updated_at() on every table of a schema where it is enabled for the column; returns the tables.';
