/*
 * rowkeeper 0.1.0: install script.
 *
 * Everything lives in schema rowkeeper (created by CREATE EXTENSION from the
 * control file; the extension is not relocatable).  Every reference below is
 * schema-qualified and every function pins search_path, so a hostile
 * search_path at install or call time cannot substitute objects.
 *
 * Sections: internal helpers, request context, updated_at.
 */

\echo Use "CREATE EXTENSION rowkeeper" to load this file. \quit

-- The control file installs into pg_catalog so that the rowkeeper schema is
-- created here, as a member of the extension: DROP EXTENSION removes it, and
-- a pre-existing schema of that name makes CREATE EXTENSION fail instead of
-- being adopted.
CREATE SCHEMA rowkeeper;

-- Application roles call set_context() and the query functions; what they
-- may change is decided per object below, never by schema access.
GRANT USAGE ON SCHEMA rowkeeper TO PUBLIC;

------------------------------------------------------------------------------
-- Internal helpers (names start with an underscore; not part of the API)
------------------------------------------------------------------------------

CREATE FUNCTION rowkeeper._trigger_args(tgargs bytea)
RETURNS text[]
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', '_trigger_args';

COMMENT ON FUNCTION rowkeeper._trigger_args(bytea) IS
'Internal: split pg_trigger.tgargs into its arguments.';

/* Trigger arguments as the quoted, comma-separated list CREATE TRIGGER takes. */
CREATE FUNCTION rowkeeper._quote_args(args text[])
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.string_agg(pg_catalog.quote_literal(a), ', ' ORDER BY i)
      FROM pg_catalog.unnest(args) WITH ORDINALITY AS u(a, i)
$$;

COMMENT ON FUNCTION rowkeeper._quote_args(text[]) IS
'Internal: trigger arguments quoted for CREATE TRIGGER.';

/*
 * Check that tbl is something a rowkeeper capability can be put on, and
 * that the caller owns it.  "caller" names the public function, for the
 * messages.  Raises; returns nothing.
 */
CREATE FUNCTION rowkeeper._require_owned_table(tbl regclass, caller text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel record;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the table must not be NULL', caller);
    END IF;

    SELECT c.relkind, c.relowner INTO rel
      FROM pg_catalog.pg_class c
     WHERE c.oid = tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_table',
            MESSAGE = format('relation with OID %s does not exist', tbl::oid);
    END IF;

    IF rel.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'wrong_object_type',
            MESSAGE = format('%s is not a table', tbl),
            DETAIL = format('%s is %s; %s works on ordinary and partitioned tables only.',
                            tbl,
                            CASE rel.relkind
                                WHEN 'v' THEN 'a view'
                                WHEN 'm' THEN 'a materialized view'
                                WHEN 'S' THEN 'a sequence'
                                WHEN 'f' THEN 'a foreign table'
                                WHEN 'i' THEN 'an index'
                                WHEN 'I' THEN 'a partitioned index'
                                WHEN 'c' THEN 'a composite type'
                                WHEN 't' THEN 'a TOAST table'
                                ELSE 'a relation of kind ' || rel.relkind::text
                            END,
                            caller),
            HINT = 'Call it on the underlying table.';
    END IF;

    IF NOT pg_catalog.pg_has_role(rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'insufficient_privilege',
            MESSAGE = format('must be owner of table %s', tbl),
            DETAIL = format('%s changes the table''s triggers, which only its owner may do.', caller),
            HINT = format('Run it as %I (the owner) or a member of that role, as schema migrations do.',
                          pg_catalog.pg_get_userbyid(rel.relowner));
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._require_owned_table(regclass, text) IS
'Internal: raise unless tbl is an ordinary or partitioned table owned by the current user.';

/*
 * The attribute named exactly column_name (no case folding: "updatedAt"
 * stays camelCase), or a clear error that suggests the right spelling.
 */
CREATE FUNCTION rowkeeper._require_column(tbl regclass, column_name name, caller text)
RETURNS pg_catalog.pg_attribute
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att pg_catalog.pg_attribute;
    near name;
BEGIN
    IF column_name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the column name must not be NULL', caller);
    END IF;

    SELECT a.* INTO att
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attname = column_name
       AND a.attnum > 0 AND NOT a.attisdropped;
    IF FOUND THEN
        RETURN att;
    END IF;

    SELECT a.attname INTO near
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND lower(a.attname) = lower(column_name)
       AND a.attnum > 0 AND NOT a.attisdropped
     LIMIT 1;
    IF near IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_column',
            MESSAGE = format('column %I of table %s does not exist', column_name, tbl),
            DETAIL = format('Column names are matched exactly; the table has a column %I.', near),
            HINT = format('Use %L, with that exact case.', near);
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'undefined_column',
        MESSAGE = format('column %I of table %s does not exist', column_name, tbl),
        HINT = 'Add the column first, or pass the name of an existing column.';
END;
$$;

COMMENT ON FUNCTION rowkeeper._require_column(regclass, name, text) IS
'Internal: the pg_attribute row of a column, matched case-exactly, or an error.';

------------------------------------------------------------------------------
-- Request context: rowkeeper.actor, rowkeeper.tenant, rowkeeper.request_id
------------------------------------------------------------------------------

CREATE FUNCTION rowkeeper.set_context(actor text DEFAULT NULL,
                                      tenant text DEFAULT NULL,
                                      request_id text DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'set_context';

COMMENT ON FUNCTION rowkeeper.set_context(text, text, text) IS
'Set the request context (actor, tenant, request id) for the rest of the current transaction. NULL leaves a part unchanged, '''' clears it.';

CREATE FUNCTION rowkeeper.current_actor()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_actor';

COMMENT ON FUNCTION rowkeeper.current_actor() IS
'The application actor of the current request (rowkeeper.actor), or NULL when none is set.';

CREATE FUNCTION rowkeeper.current_request_id()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_request_id';

COMMENT ON FUNCTION rowkeeper.current_request_id() IS
'The request id of the current request (rowkeeper.request_id), or NULL when none is set.';

------------------------------------------------------------------------------
-- updated_at
------------------------------------------------------------------------------

CREATE FUNCTION rowkeeper.updated_at_trigger()
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
CREATE FUNCTION rowkeeper._updated_at_trigger_name(column_name name)
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

/* Every updated_at trigger rowkeeper created (not the clones on partitions). */
CREATE VIEW rowkeeper.updated_at_tables AS
SELECT t.tgrelid::regclass                          AS table_name,
       n.nspname                                    AS schema_name,
       c.relname                                    AS relname,
       a.args[1]::name                              AS column_name,
       coalesce(opt.clock, 'transaction')           AS clock,
       coalesce(opt.keep_explicit, false)           AS keep_explicit,
       coalesce(opt.skip_noop, true)                AS skip_noop,
       (t.tgtype::int & 4) <> 0                     AS on_insert,
       t.tgenabled <> 'D'                           AS enabled,
       t.tgname                                     AS trigger_name
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN LATERAL (SELECT rowkeeper._trigger_args(t.tgargs) AS args) a
 CROSS JOIN LATERAL (
        SELECT max(pg_catalog.split_part(o, '=', 2))
                   FILTER (WHERE pg_catalog.split_part(o, '=', 1) = 'clock') AS clock,
               bool_or(pg_catalog.split_part(o, '=', 2)::boolean)
                   FILTER (WHERE pg_catalog.split_part(o, '=', 1) = 'keep_explicit') AS keep_explicit,
               bool_or(pg_catalog.split_part(o, '=', 2)::boolean)
                   FILTER (WHERE pg_catalog.split_part(o, '=', 1) = 'skip_noop') AS skip_noop
          FROM pg_catalog.unnest(a.args[2:]) AS o) opt
 WHERE t.tgfoid = 'rowkeeper.updated_at_trigger()'::pg_catalog.regprocedure
   AND t.tgparentid = 0;

GRANT SELECT ON rowkeeper.updated_at_tables TO PUBLIC;

COMMENT ON VIEW rowkeeper.updated_at_tables IS
'Tables whose updated_at column rowkeeper maintains, with the options of each trigger.';

CREATE FUNCTION rowkeeper.enable_updated_at(tbl regclass,
                                            column_name name DEFAULT 'updated_at',
                                            keep_explicit boolean DEFAULT false,
                                            skip_noop boolean DEFAULT true,
                                            on_insert boolean DEFAULT true,
                                            clock text DEFAULT 'transaction')
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
    old record;
BEGIN
    PERFORM rowkeeper._require_owned_table(tbl, caller);
    att := rowkeeper._require_column(tbl, column_name, caller);

    IF keep_explicit IS NULL OR skip_noop IS NULL OR on_insert IS NULL OR clock IS NULL THEN
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
    -- tgtype bits: ROW (1) | BEFORE (2) | UPDATE (16) [| INSERT (4)]
    want_type := CASE WHEN on_insert THEN 1 | 2 | 4 | 16 ELSE 1 | 2 | 16 END;

    SELECT t.tgname, t.tgtype, rowkeeper._trigger_args(t.tgargs) AS args INTO old
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = tbl
       AND t.tgfoid = 'rowkeeper.updated_at_trigger()'::pg_catalog.regprocedure
       AND t.tgparentid = 0
       AND (rowkeeper._trigger_args(t.tgargs))[1] = column_name::text;

    IF FOUND THEN
        IF old.args = want_args AND old.tgtype = want_type THEN
            RETURN;             -- already exactly so: nothing to change
        END IF;
        EXECUTE format('DROP TRIGGER %I ON %s', old.tgname, tbl);
    END IF;

    tgname := rowkeeper._updated_at_trigger_name(column_name);
    EXECUTE format('CREATE TRIGGER %I BEFORE %s ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION rowkeeper.updated_at_trigger(%s)',
                   tgname,
                   CASE WHEN on_insert THEN 'INSERT OR UPDATE' ELSE 'UPDATE' END,
                   tbl,
                   rowkeeper._quote_args(want_args));
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_updated_at(regclass, name, boolean, boolean, boolean, text) IS
'Keep column_name (timestamptz or timestamp) set to the time of the last change of each row. Idempotent; call again to change options.';

CREATE FUNCTION rowkeeper.disable_updated_at(tbl regclass,
                                             column_name name DEFAULT 'updated_at')
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tgname name;
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
    EXECUTE format('DROP TRIGGER %I ON %s', tgname, tbl);
END;
$$;

COMMENT ON FUNCTION rowkeeper.disable_updated_at(regclass, name) IS
'Remove the updated_at trigger that enable_updated_at() put on a column (the column itself stays).';

/*
 * The tables of a schema that have column_name, excluding partitions (the
 * trigger on their partitioned parent reaches them).
 */
CREATE FUNCTION rowkeeper._tables_with_column(schema_name name, column_name name)
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

CREATE FUNCTION rowkeeper.enable_updated_at_in_schema(schema_name name,
                                                      column_name name DEFAULT 'updated_at',
                                                      keep_explicit boolean DEFAULT false,
                                                      skip_noop boolean DEFAULT true,
                                                      on_insert boolean DEFAULT true,
                                                      clock text DEFAULT 'transaction')
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
                                            skip_noop, on_insert, clock);
        RETURN NEXT tbl;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_updated_at_in_schema(name, name, boolean, boolean, boolean, text) IS
'enable_updated_at() on every table of a schema that has the column; returns the tables. All or nothing: one unsuitable table fails the call.';

CREATE FUNCTION rowkeeper.disable_updated_at_in_schema(schema_name name,
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

------------------------------------------------------------------------------
-- Audit trail
------------------------------------------------------------------------------

-- Readers of the log.  Roles are cluster-wide: a second database that
-- installs rowkeeper finds it already there.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rowkeeper_auditor') THEN
        CREATE ROLE rowkeeper_auditor NOLOGIN;
    END IF;
END
$$;

CREATE SEQUENCE rowkeeper.audit_log_id_seq AS bigint;

/*
 * One row per change.  Partitioned by month on logged_at; the default
 * partition makes sure a write never fails for want of a partition.
 */
CREATE TABLE rowkeeper.audit_log (
    id                bigint      NOT NULL DEFAULT pg_catalog.nextval('rowkeeper.audit_log_id_seq'),
    logged_at         timestamptz NOT NULL,
    txid              xid8        NOT NULL,
    table_oid         oid         NOT NULL,
    schema_name       text        NOT NULL,
    table_name        text        NOT NULL,
    op                text        NOT NULL,
    row_key           jsonb,
    old_key           jsonb,
    old_row           jsonb,
    new_row           jsonb,
    actor             text,
    db_user           text        NOT NULL,
    role_user         text        NOT NULL,
    session_user_name text        NOT NULL,
    client_addr       inet,
    application_name  text,
    request_id        text,
    tenant            text,
    CONSTRAINT audit_log_op_check CHECK (op IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'))
) PARTITION BY RANGE (logged_at);

COMMENT ON TABLE rowkeeper.audit_log IS
'rowkeeper audit trail: one row per audited INSERT, UPDATE, DELETE or TRUNCATE, written in the same transaction.';
COMMENT ON COLUMN rowkeeper.audit_log.logged_at IS 'Start of the transaction that made the change (now()).';
COMMENT ON COLUMN rowkeeper.audit_log.row_key IS 'Primary key (or replica identity) of the row after the change; before it for DELETE.';
COMMENT ON COLUMN rowkeeper.audit_log.old_key IS 'Key before an UPDATE that changed it, else NULL.';
COMMENT ON COLUMN rowkeeper.audit_log.old_row IS 'DELETE: the old row. UPDATE: old values of the changed columns.';
COMMENT ON COLUMN rowkeeper.audit_log.new_row IS 'INSERT: the new row. UPDATE: new values of the changed columns.';
COMMENT ON COLUMN rowkeeper.audit_log.db_user IS 'current_user when the change was made (the owner inside a SECURITY DEFINER function).';
COMMENT ON COLUMN rowkeeper.audit_log.role_user IS 'The role that issued the statement (SET ROLE included), not hidden by SECURITY DEFINER.';

CREATE TABLE rowkeeper.audit_log_default PARTITION OF rowkeeper.audit_log DEFAULT;

CREATE INDEX audit_log_row_idx ON rowkeeper.audit_log (schema_name, table_name, row_key);
CREATE INDEX audit_log_id_idx ON rowkeeper.audit_log (id);
CREATE INDEX audit_log_logged_at_idx ON rowkeeper.audit_log USING brin (logged_at);

REVOKE ALL ON rowkeeper.audit_log FROM PUBLIC;
REVOKE ALL ON rowkeeper.audit_log_default FROM PUBLIC;
GRANT SELECT ON rowkeeper.audit_log TO rowkeeper_auditor;

SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_log_id_seq', '');

/*
 * Create the monthly partitions from the current month to months_ahead
 * months ahead (idempotent).  SECURITY DEFINER: table owners who enable
 * audit are not owners of the log.  Returns the partitions it created.
 */
CREATE FUNCTION rowkeeper.create_audit_partitions(months_ahead int DEFAULT 3)
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
        RETURN NEXT ('rowkeeper.' || quote_ident(part))::regclass;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper.create_audit_partitions(int) IS
'Create monthly partitions of rowkeeper.audit_log from this month to months_ahead months ahead; returns the new ones. Anyone may call it (enable_audit does); schedule it monthly.';

CREATE FUNCTION rowkeeper.audit_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_trigger';

COMMENT ON FUNCTION rowkeeper.audit_trigger() IS
'AFTER row/TRUNCATE trigger that writes rowkeeper.audit_log. Attach it with rowkeeper.enable_audit().';

/* Audited tables, their options and since when, read from pg_trigger. */
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
       t.tgenabled <> 'D'                                              AS enabled,
       pg_catalog.substr(pg_catalog.obj_description(t.oid, 'pg_trigger'), 23)::timestamptz AS since
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL pg_catalog.unnest(rowkeeper._trigger_args(t.tgargs)) AS o ON true
 WHERE t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure
   AND t.tgparentid = 0
   AND t.tgname = 'rowkeeper_audit'
 GROUP BY t.oid, t.tgrelid, n.nspname, c.relname, t.tgenabled;

GRANT SELECT ON rowkeeper.audited_tables TO PUBLIC;

COMMENT ON VIEW rowkeeper.audited_tables IS
'Tables audited by rowkeeper, with their options and the time auditing began.';

CREATE FUNCTION rowkeeper.enable_audit(tbl regclass,
                                       exclude_columns text[] DEFAULT '{}',
                                       redact_columns text[] DEFAULT '{}',
                                       skip_noop boolean DEFAULT true,
                                       require_actor boolean DEFAULT false,
                                       replicated boolean DEFAULT false)
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
    old record;
    since text;
    trig record;
BEGIN
    PERFORM rowkeeper._require_owned_table(tbl, caller);
    IF exclude_columns IS NULL OR redact_columns IS NULL OR skip_noop IS NULL
       OR require_actor IS NULL OR replicated IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: options must not be NULL', caller),
            HINT = 'Leave an option out to get its default; pass ''{}'' for no columns.';
    END IF;
    IF (SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = tbl) = 't' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'feature_not_supported',
            MESSAGE = format('cannot audit temporary table %s', tbl),
            DETAIL = 'A temporary table''s rows vanish with the session; a permanent log of them is not kept.';
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

    PERFORM rowkeeper.create_audit_partitions();

    SELECT t.oid, t.tgenabled, rowkeeper._trigger_args(t.tgargs) AS args,
           pg_catalog.obj_description(t.oid, 'pg_trigger') AS comment INTO old
      FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_audit' AND t.tgparentid = 0
       AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure;
    IF FOUND AND old.args = want_args
       AND (old.tgenabled = 'A') = replicated
       AND EXISTS (SELECT FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_audit_truncate') THEN
        RETURN;                 -- already exactly so
    END IF;
    since := CASE WHEN FOUND THEN old.comment
                  ELSE 'rowkeeper audit since ' || pg_catalog.now()::text END;

    FOR trig IN SELECT t.tgname FROM pg_catalog.pg_trigger t
                 WHERE t.tgrelid = tbl AND t.tgparentid = 0
                   AND t.tgname IN ('rowkeeper_audit', 'rowkeeper_audit_truncate') LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trig.tgname, tbl);
    END LOOP;
    EXECUTE format('CREATE TRIGGER rowkeeper_audit AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger(%s)',
                   tbl,
                   rowkeeper._quote_args(want_args));
    EXECUTE format('CREATE TRIGGER rowkeeper_audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION rowkeeper.audit_trigger(%s)',
                   tbl,
                   rowkeeper._quote_args(want_args));
    EXECUTE format('COMMENT ON TRIGGER rowkeeper_audit ON %s IS %L', tbl, since);
    IF replicated THEN
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER rowkeeper_audit', tbl);
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER rowkeeper_audit_truncate', tbl);
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_audit(regclass, text[], text[], boolean, boolean, boolean) IS
'Audit INSERT, UPDATE, DELETE and TRUNCATE on a table into rowkeeper.audit_log. Idempotent; call again to change options.';

CREATE FUNCTION rowkeeper.disable_audit(tbl regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    trig record;
BEGIN
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

COMMENT ON FUNCTION rowkeeper.disable_audit(regclass) IS
'Stop auditing a table (its log entries stay).';

/*
 * Per audited table: log entries and their size, and whether the triggers
 * are really there and enabled (drift between configuration and catalog).
 */
CREATE FUNCTION rowkeeper.audit_status()
RETURNS TABLE (table_name regclass, entries bigint, bytes bigint,
               row_trigger text, truncate_trigger text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass,
           (SELECT count(*) FROM rowkeeper.audit_log l
             WHERE l.schema_name = n.nspname AND l.table_name = c.relname),
           (SELECT coalesce(sum(pg_catalog.pg_column_size(l.*)), 0)::bigint FROM rowkeeper.audit_log l
             WHERE l.schema_name = n.nspname AND l.table_name = c.relname),
           (SELECT CASE t.tgenabled WHEN 'O' THEN 'enabled' WHEN 'A' THEN 'enabled always'
                                    WHEN 'R' THEN 'enabled replica only' ELSE 'DISABLED' END
              FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'rowkeeper_audit'),
           coalesce((SELECT CASE t.tgenabled WHEN 'D' THEN 'DISABLED' ELSE 'enabled' END
                       FROM pg_catalog.pg_trigger t
                      WHERE t.tgrelid = c.oid AND t.tgname = 'rowkeeper_audit_truncate'), 'MISSING')
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE EXISTS (SELECT FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = c.oid AND t.tgparentid = 0
                      AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure)
     ORDER BY c.oid::regclass::text
$$;

REVOKE ALL ON FUNCTION rowkeeper.audit_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rowkeeper.audit_status() TO rowkeeper_auditor;

COMMENT ON FUNCTION rowkeeper.audit_status() IS
'Audited tables: log entries and bytes, and the state of their audit triggers (drift is reported, not hidden).';
