
------------------------------------------------------------------------------
-- updated_at: timestamp without time zone in UTC
------------------------------------------------------------------------------

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
DROP FUNCTION rowkeeper.enable_updated_at_in_schema(name, name, boolean, boolean, boolean, text);
DROP FUNCTION rowkeeper.enable_updated_at(regclass, name, boolean, boolean, boolean, text);

CREATE FUNCTION rowkeeper.enable_updated_at(tbl regclass,
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

CREATE FUNCTION rowkeeper.enable_updated_at_in_schema(schema_name name,
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

-- the listing shows the time zone of timestamp columns (NULL for
-- timestamptz); a trigger without the argument writes the session's
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

/*
 * disable_updated_at: as in 0.1.0; on a Citus table the DROP TRIGGER needs
 * citus.enable_unsafe_triggers (Citus drops it on the shards too).
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
