
-- src/sql/10_audit.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Audit trail
------------------------------------------------------------------------------

-- STATE BEGIN
CREATE SEQUENCE rowkeeper.audit_log_id_seq AS bigint;

/*
 * One row per change.  Partitioned by month on logged_at; the default
 * partition makes sure a write never fails for want of a partition.
 *
 * The audit trigger writes rows straight into the partition when nothing on
 * the log needs the executor (see src/audit_log.c), mapping its values onto
 * the partition's columns by name; a CHECK constraint would send every row
 * through a planned INSERT, so op has none: it is written only by the
 * trigger (and the drift entries' writer, the same C code), which knows its
 * values.  The columns are in the order an install upgraded from 0.1.0
 * has them.
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
    row_ref           bigint,
    table_id          bigint,
    request_addr      inet,
    user_agent        text,
    metadata          jsonb,
    erased            jsonb
) PARTITION BY RANGE (logged_at);

COMMENT ON TABLE rowkeeper.audit_log IS
'rowkeeper audit trail: one row per audited INSERT, UPDATE, DELETE or TRUNCATE, written in the same transaction.';
COMMENT ON COLUMN rowkeeper.audit_log.logged_at IS 'Start of the transaction that made the change (now()).';
COMMENT ON COLUMN rowkeeper.audit_log.op IS
'INSERT, UPDATE, DELETE or TRUNCATE; SOFT_DELETE or RESTORE (an UPDATE that sets or clears deleted_at); AUDIT_DRIFT or AUDIT_REPAIR (the table''s audit triggers were changed, or enable_audit put them back); EVENT (written by rowkeeper.log_event()).';
COMMENT ON COLUMN rowkeeper.audit_log.row_key IS 'Primary key (or replica identity) of the row after the change; before it for DELETE.';
COMMENT ON COLUMN rowkeeper.audit_log.old_key IS 'Key before an UPDATE that changed it, else NULL.';
COMMENT ON COLUMN rowkeeper.audit_log.old_row IS 'DELETE: the old row. UPDATE: old values of the changed columns.';
COMMENT ON COLUMN rowkeeper.audit_log.new_row IS 'INSERT: the new row. UPDATE: new values of the changed columns.';
COMMENT ON COLUMN rowkeeper.audit_log.db_user IS 'current_user when the change was made (the owner inside a SECURITY DEFINER function).';
COMMENT ON COLUMN rowkeeper.audit_log.role_user IS 'The role that issued the statement (SET ROLE included), not hidden by SECURITY DEFINER.';
COMMENT ON COLUMN rowkeeper.audit_log.row_ref IS
'rowkeeper.row_ref(table_id, row_key): the key of the history index (NULL for TRUNCATE).';
COMMENT ON COLUMN rowkeeper.audit_log.table_id IS
'The audited table''s identity (rowkeeper.audit_incarnations): stable across renames and dump/restore, new for a re-created table.';
COMMENT ON COLUMN rowkeeper.audit_log.request_addr IS
'The end user''s client address given to set_context(client_addr => ...) (client_addr is the connection''s, a pooler''s behind one).';
COMMENT ON COLUMN rowkeeper.audit_log.user_agent IS
'The end user''s user agent given to set_context(user_agent => ...).';
COMMENT ON COLUMN rowkeeper.audit_log.metadata IS
'Free request metadata (a JSON object) given to set_context(metadata => ...).';
COMMENT ON COLUMN rowkeeper.audit_log.erased IS
'NULL, or what erasure (forget, forget_actor) left of the entry''s erased values: {"by": [erasure record ids], "c": {commitments of erased values}, "s": {salts of the values left}}.';

CREATE TABLE rowkeeper.audit_log_default PARTITION OF rowkeeper.audit_log DEFAULT;

REVOKE ALL ON rowkeeper.audit_log FROM PUBLIC;
REVOKE ALL ON rowkeeper.audit_log_default FROM PUBLIC;
GRANT SELECT ON rowkeeper.audit_log TO rowkeeper_auditor;

SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_log_id_seq', '');
-- STATE END

/*
 * Table identity.  A table's history belongs to the table, not to a name:
 * names can be taken by anyone with CREATE on a schema once a table gives
 * them up (a rename, a soft-delete rename, a DROP), and OIDs do not survive
 * a dump and restore.  So rowkeeper gives every audited table an id of its
 * own, table_id, stamped on each of its log entries:
 *
 * - rowkeeper.audit_incarnations (dumped with pg_dump): one row per table
 *   id, with the schema and name the table has now (kept current by the
 *   event trigger below on ALTER TABLE and ALTER SCHEMA) and, once the table
 *   is dropped, dropped_at.  A dropped table's entries stay under its id, a
 *   previous incarnation; a table created later under the same name gets a
 *   new id and starts a new history.
 * - rowkeeper.audit_incarnation_oids (not dumped): which relation, by OID,
 *   holds which id in this database.  Written only by SECURITY DEFINER
 *   functions of the extension, from facts of the catalog; a table owner
 *   cannot point it anywhere.  Removed with the table (sql_drop).
 *
 * After a restore the OIDs are new and the second table is empty: a table
 * takes back its id by name, from the dumped row that still carries that
 * name, is not dropped and is held by no other relation (the restore
 * re-creates the audit triggers, and the event trigger binds the table
 * then; the audit trigger and enable_audit do the same if it did not).  An
 * attacker cannot use that path while the table lives: its name is taken,
 * and the row of a renamed table carries its new name.
 */
-- STATE BEGIN
CREATE SEQUENCE rowkeeper.audit_incarnations_id_seq AS bigint;
CREATE TABLE rowkeeper.audit_incarnations (
    table_id     bigint      PRIMARY KEY DEFAULT pg_catalog.nextval('rowkeeper.audit_incarnations_id_seq'),
    schema_name  text        NOT NULL,
    table_name   text        NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    dropped_at   timestamptz
);
ALTER SEQUENCE rowkeeper.audit_incarnations_id_seq OWNED BY rowkeeper.audit_incarnations.table_id;
CREATE INDEX audit_incarnations_name_idx ON rowkeeper.audit_incarnations (schema_name, table_name);
REVOKE ALL ON rowkeeper.audit_incarnations FROM PUBLIC;
REVOKE ALL ON SEQUENCE rowkeeper.audit_incarnations_id_seq FROM PUBLIC;
GRANT SELECT ON rowkeeper.audit_incarnations TO rowkeeper_auditor;
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_incarnations', '');
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_incarnations_id_seq', '');
-- Each installation draws its ids from its own range, so ids made in a
-- database before a data-only restore of another one's (a restore without
-- --disable-triggers writes audited rows before it copies this table) do
-- not collide with the restored ones.
SELECT pg_catalog.setval('rowkeeper.audit_incarnations_id_seq',
                         1 + (pg_catalog.random() * 1e15)::bigint, false);
COMMENT ON TABLE rowkeeper.audit_incarnations IS
'One row per audited table identity (table_id in rowkeeper.audit_log): its schema and name now, and when it was dropped (a previous incarnation: its entries stay, a new table of that name starts a new history).';

CREATE TABLE rowkeeper.audit_incarnation_oids (
    table_oid    oid         PRIMARY KEY,
    table_id     bigint      NOT NULL UNIQUE
);
REVOKE ALL ON rowkeeper.audit_incarnation_oids FROM PUBLIC;
GRANT SELECT ON rowkeeper.audit_incarnation_oids TO rowkeeper_auditor;
COMMENT ON TABLE rowkeeper.audit_incarnation_oids IS
'Which relation (by OID, in this database) holds which audit table_id; not dumped, rebuilt by name after a restore.';

-- STATE END

/*
 * The table id a relation holds, or would take back by name (read only:
 * queries, also on a standby).  NULL: it has none.  The partition root
 * stands for its partitions, as in the log.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_table_id(tbl regclass)
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH r AS (SELECT coalesce(pg_catalog.pg_partition_root(tbl), tbl) AS o)
    SELECT coalesce(
        (SELECT b.table_id FROM rowkeeper.audit_incarnation_oids b, r WHERE b.table_oid = r.o),
        (SELECT i.table_id
           FROM r JOIN pg_catalog.pg_class c ON c.oid = r.o
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           JOIN rowkeeper.audit_incarnations i
                ON i.schema_name = n.nspname::text AND i.table_name = c.relname::text
          WHERE i.dropped_at IS NULL
            AND NOT EXISTS (SELECT FROM rowkeeper.audit_incarnation_oids b WHERE b.table_id = i.table_id)
          ORDER BY i.table_id DESC LIMIT 1))
$$;

COMMENT ON FUNCTION rowkeeper._audit_table_id(regclass) IS
'Internal: the audit table_id of a table (its partition root''s), or NULL.';

/*
 * The relation that holds a table id now, or NULL (dropped, or not
 * restored).  The inverse of _audit_table_id().
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_table_of_id(id bigint)
RETURNS regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT b.table_oid::regclass FROM rowkeeper.audit_incarnation_oids b
           JOIN pg_catalog.pg_class c ON c.oid = b.table_oid
          WHERE b.table_id = id),
        (SELECT c.oid::regclass
           FROM rowkeeper.audit_incarnations i
           JOIN pg_catalog.pg_namespace n ON n.nspname::text = i.schema_name
           JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname::text = i.table_name
          WHERE i.table_id = id AND i.dropped_at IS NULL AND c.relkind IN ('r', 'p')
            AND NOT EXISTS (SELECT FROM rowkeeper.audit_incarnation_oids b WHERE b.table_id = i.table_id)
            AND NOT EXISTS (SELECT FROM rowkeeper.audit_incarnation_oids b WHERE b.table_oid = c.oid)))
$$;

COMMENT ON FUNCTION rowkeeper._audit_table_of_id(bigint) IS
'Internal: the table that holds an audit table_id now, or NULL.';

/*
 * Give a table its id: the one it holds, else the one it takes back by
 * name (after a restore), else, with create, a new one (enable_audit and
 * the audit trigger create; the event trigger only takes back, so that a
 * schema-only restore followed by a data-only one leaves the dumped ids to
 * be taken back).  SECURITY DEFINER so that the audit trigger (as whoever
 * writes) and enable_audit (as the owner) can write the two tables; it
 * records only facts of the catalog, for ordinary permanent tables.  Also
 * brings the recorded name up to date.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_bind(tbl regclass, make_new boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    root oid := coalesce(pg_catalog.pg_partition_root(tbl), tbl);
    rel record;
    id bigint;
    fresh boolean := false;
BEGIN
    SELECT n.nspname::text AS s, c.relname::text AS t, c.relkind, c.relpersistence INTO rel
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = root;
    IF NOT FOUND OR rel.relkind NOT IN ('r', 'p') OR rel.relpersistence = 't' THEN
        RETURN NULL;
    END IF;
    FOR attempt IN 1..3 LOOP
        SELECT b.table_id INTO id FROM rowkeeper.audit_incarnation_oids b WHERE b.table_oid = root;
        IF id IS NOT NULL THEN
            UPDATE rowkeeper.audit_incarnations i SET schema_name = rel.s, table_name = rel.t
             WHERE i.table_id = id AND (i.schema_name, i.table_name) IS DISTINCT FROM (rel.s, rel.t);
            RETURN id;
        END IF;
        id := rowkeeper._audit_table_id(root);
        -- a new id only for a table the audit trigger is attached to
        IF id IS NULL AND (NOT make_new OR NOT (
               EXISTS (SELECT FROM pg_catalog.pg_partition_tree(root) pt
                            JOIN pg_catalog.pg_trigger t ON t.tgrelid = pt.relid
                           WHERE t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure)
               OR EXISTS (SELECT FROM pg_catalog.pg_trigger t
                           WHERE t.tgrelid = root
                             AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure))) THEN
            RETURN NULL;
        ELSIF id IS NULL THEN
            INSERT INTO rowkeeper.audit_incarnations (schema_name, table_name)
            VALUES (rel.s, rel.t) RETURNING table_id INTO id;
            fresh := true;
        END IF;
        INSERT INTO rowkeeper.audit_incarnation_oids (table_oid, table_id) VALUES (root, id)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            RETURN id;
        END IF;
        -- another transaction bound it first: use its binding
        IF fresh THEN
            DELETE FROM rowkeeper.audit_incarnations i WHERE i.table_id = id;
        END IF;
        id := NULL;
        fresh := false;
    END LOOP;
    RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
        MESSAGE = format('could not give table %s its audit identity', tbl),
        HINT = 'Retry the transaction.';
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_bind(regclass, boolean) IS
'Internal: the audit table_id of a table, taken back by name after a restore or made new (see rowkeeper.audit_incarnations).';

/* Bring every recorded name up to date (after RENAME, SET SCHEMA, ALTER SCHEMA ... RENAME). */
CREATE OR REPLACE FUNCTION rowkeeper._audit_refresh_names()
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE rowkeeper.audit_incarnations i
       SET schema_name = n.nspname, table_name = c.relname
      FROM rowkeeper.audit_incarnation_oids b
      JOIN pg_catalog.pg_class c ON c.oid = b.table_oid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE i.table_id = b.table_id
       AND (i.schema_name, i.table_name) IS DISTINCT FROM (n.nspname::text, c.relname::text)
$$;

COMMENT ON FUNCTION rowkeeper._audit_refresh_names() IS
'Internal: record the current schema and name of every audited table identity.';

/*
 * sql_drop: a dropped table's id becomes a previous incarnation; its OID,
 * which a new relation may get, no longer points to it.
 */
CREATE OR REPLACE FUNCTION rowkeeper._record_audit_drops()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    WITH gone AS (
        DELETE FROM rowkeeper.audit_incarnation_oids b
         WHERE b.table_oid IN (SELECT d.objid FROM pg_catalog.pg_event_trigger_dropped_objects() d
                                WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                  AND d.objsubid = 0)
        RETURNING b.table_id)
    UPDATE rowkeeper.audit_incarnations i SET dropped_at = pg_catalog.now()
      FROM gone WHERE i.table_id = gone.table_id;
END;
$$;

COMMENT ON FUNCTION rowkeeper._record_audit_drops() IS
'Internal event trigger: marks the identity of a dropped audited table as a previous incarnation.';

-- STATE BEGIN
CREATE EVENT TRIGGER rowkeeper_audit_drops ON sql_drop
    EXECUTE FUNCTION rowkeeper._record_audit_drops();
-- STATE END

-- History index: a btree on (schema_name, table_name, row_key) compared two
-- collated strings and then two jsonb values per tree level on every
-- insert; row_ref, a 64-bit number computed by the trigger from the table
-- id and the key (the id hashed in the high half, an integer key's value
-- or any other key's hash in the low half), is cheap to compare, and
-- (row_ref, id) returns a row's history in order.
CREATE OR REPLACE FUNCTION rowkeeper.row_ref(table_id bigint, row_key jsonb)
RETURNS bigint
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'audit_row_ref_0_3';

COMMENT ON FUNCTION rowkeeper.row_ref(bigint, jsonb) IS
'The history index key of a row as stored in rowkeeper.audit_log.row_ref (high 32 bits: a hash of the table id; low 32 bits: the value of a one-column integer key, else a hash of the key); filter on it (and table_id and row_key) to use the history index.';

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
-- STATE BEGIN
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
-- STATE END

CREATE OR REPLACE FUNCTION rowkeeper._index_audit_partition(part regclass)
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

-- STATE BEGIN
SELECT rowkeeper._index_audit_partition('rowkeeper.audit_log_default');
-- STATE END

/*
 * A new partition of the log is readable by whoever was granted SELECT on
 * rowkeeper.audit_log itself (rowkeeper_auditor, and the roles given
 * grant_dump_access(): pg_dump reads every partition as a table of its own),
 * except rowkeeper_app: it reads the log through the partitioned table
 * only, where row-level security limits it to its tenant's entries; a
 * partition read directly has no policy (see 31_audit_app.sql).
 */
CREATE OR REPLACE FUNCTION rowkeeper._grant_partition_readers(part regclass)
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
                     AND acl.grantee <> c.relowner
                     AND acl.grantee <> 'rowkeeper_app'::pg_catalog.regrole LOOP
        EXECUTE format('GRANT SELECT ON %s TO %s', part, reader);
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._grant_partition_readers(regclass) IS
'Internal: grant SELECT on a new partition of rowkeeper.audit_log to every role that may read rowkeeper.audit_log.';

/*
 * Partition bounds of the leaf partitions of rowkeeper.audit_log (the
 * default partition excluded), parsed from their FOR VALUES clause, which
 * is printed in UTC and ISO style here whatever the session's settings (a
 * zone abbreviation such as SST would not read back);
 * create_audit_partitions() and preflight's partition checks read them.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_partition_bounds()
RETURNS TABLE (part regclass, lower_bound timestamptz, upper_bound timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
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

/*
 * create_audit_partitions: one partition per calendar month in UTC, so that
 * sessions in different time zones (application servers, pg_cron, psql)
 * agree on the boundaries; each new partition gets its indexes and the
 * log's readers.  A partition made before the boundaries were UTC (in the
 * creating session's zone) is respected: a new month's range is clipped to
 * start where an overlapping older partition ends and to end where one
 * begins, so the ranges never overlap and leave no gap.
 */
CREATE OR REPLACE FUNCTION rowkeeper.create_audit_partitions(months_ahead int DEFAULT 3)
RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    m date;
    lo timestamptz;
    hi timestamptz;
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
        lo := m::timestamptz;
        hi := (m + interval '1 month')::timestamptz;
        SELECT greatest(lo, max(b.upper_bound) FILTER (WHERE b.lower_bound <= lo AND b.upper_bound > lo)),
               least(hi, min(b.lower_bound) FILTER (WHERE b.lower_bound < hi AND b.upper_bound >= hi))
          INTO lo, hi
          FROM rowkeeper._audit_partition_bounds() b;
        CONTINUE WHEN lo >= hi;
        IF EXISTS (SELECT FROM rowkeeper.audit_log_default
                    WHERE logged_at >= lo AND logged_at < hi) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('audit entries for %s are in the default partition', to_char(m, 'YYYY-MM')),
                DETAIL = 'A monthly partition cannot be created while the default partition holds rows of its range.',
                HINT = 'Move those rows into a new partition by hand, or schedule rowkeeper.create_audit_partitions() ahead of time (pg_cron).';
        END IF;
        EXECUTE format('CREATE TABLE rowkeeper.%I PARTITION OF rowkeeper.audit_log FOR VALUES FROM (%L) TO (%L)',
                       part, lo, hi);
        EXECUTE format('REVOKE ALL ON rowkeeper.%I FROM PUBLIC', part);
        PERFORM rowkeeper._grant_partition_readers(('rowkeeper.' || quote_ident(part))::regclass);
        PERFORM rowkeeper._index_audit_partition(('rowkeeper.' || quote_ident(part))::regclass);
        RETURN NEXT ('rowkeeper.' || quote_ident(part))::regclass;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper.create_audit_partitions(int) IS
'Create monthly partitions of rowkeeper.audit_log from this month to months_ahead months ahead; returns the new ones. Anyone may call it (enable_audit does); schedule it monthly.';

CREATE OR REPLACE FUNCTION rowkeeper.audit_trigger()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_trigger';

COMMENT ON FUNCTION rowkeeper.audit_trigger() IS
'AFTER row/TRUNCATE trigger that writes rowkeeper.audit_log. Attach it with rowkeeper.enable_audit().';

/*
 * Drift: whether a table's audit triggers are still what enable_audit made.
 * A table owner can keep a trigger of the right name that logs nothing (a
 * WHEN (false) clause, UPDATE OF one column, a BEFORE or constraint
 * trigger, ENABLE REPLICA, DISABLE), so every check that reports coverage
 * compares the whole definition: timing, events, level, WHEN, column
 * list, transition tables, arguments and enabled state ('O', or 'A' for
 * replicated => true on all of them), on the table and on every partition
 * (clones can be disabled one by one).  Returns the problems, none when
 * the triggers are as made.  complete => false leaves out what is
 * legitimately incomplete while enable_audit / disable_audit run
 * (missing triggers, enabled states and arguments that differ between
 * them): the event trigger checks each command that way.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_drift(tbl regclass, complete boolean DEFAULT true)
RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH trg AS (
        SELECT t.*, rowkeeper._trigger_args(t.tgargs) AS args
          FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = tbl AND t.tgparentid = 0
           AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure),
    m AS (
        SELECT CASE WHEN EXISTS (SELECT FROM trg WHERE trg.tgname IN ('rowkeeper_audit_insert',
                                 'rowkeeper_audit_update', 'rowkeeper_audit_delete'))
                    THEN 'statement' ELSE 'row' END AS mode),
    -- tgtype: 1 row, 2 before, 4 insert, 8 delete, 16 update, 32 truncate, 64 instead
    want AS (
        SELECT v.* FROM (VALUES ('rowkeeper_audit'::name, 29, false, false, 'row', 'AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW'),
                                ('rowkeeper_audit_truncate', 32, false, false, NULL, 'AFTER TRUNCATE FOR EACH STATEMENT'),
                                ('rowkeeper_audit_insert', 4, false, true, 'statement', 'AFTER INSERT FOR EACH STATEMENT'),
                                ('rowkeeper_audit_update', 16, true, true, 'statement', 'AFTER UPDATE FOR EACH STATEMENT'),
                                ('rowkeeper_audit_delete', 8, true, false, 'statement', 'AFTER DELETE FOR EACH STATEMENT'))
                        AS v(tgname, tgtype, old_table, new_table, mode, what), m
         WHERE v.mode IS NULL OR v.mode = m.mode),
    problems AS (
        SELECT pg_catalog.format('trigger %s is missing', w.tgname) AS p
          FROM want w WHERE complete AND NOT EXISTS (SELECT FROM trg WHERE trg.tgname = w.tgname)
        UNION ALL
        SELECT pg_catalog.format('trigger %s is not one rowkeeper makes', trg.tgname)
          FROM trg WHERE NOT EXISTS (SELECT FROM want w WHERE w.tgname = trg.tgname)
        UNION ALL
        SELECT pg_catalog.format('trigger %s is not %s', trg.tgname, w.what)
          FROM trg JOIN want w ON w.tgname = trg.tgname
         WHERE trg.tgtype <> w.tgtype OR trg.tgconstraint <> 0 OR trg.tgdeferrable
            OR (trg.tgoldtable IS NOT NULL) <> w.old_table OR (trg.tgnewtable IS NOT NULL) <> w.new_table
        UNION ALL
        SELECT pg_catalog.format('trigger %s has a WHEN condition', trg.tgname)
          FROM trg WHERE trg.tgqual IS NOT NULL
        UNION ALL
        SELECT pg_catalog.format('trigger %s fires only for UPDATE OF some columns', trg.tgname)
          FROM trg WHERE pg_catalog.cardinality(trg.tgattr::int2[]) > 0
        UNION ALL
        SELECT pg_catalog.format('trigger %s is %s', trg.tgname,
                                 CASE trg.tgenabled WHEN 'D' THEN 'disabled'
                                      WHEN 'R' THEN 'enabled for replica sessions only'
                                      ELSE 'in enabled state ' || trg.tgenabled::text END)
          FROM trg WHERE trg.tgenabled NOT IN ('O', 'A')
        UNION ALL
        SELECT 'the audit triggers differ in enabled state (ENABLE ALWAYS on some only)'
          FROM trg WHERE complete AND trg.tgenabled IN ('O', 'A')
        HAVING pg_catalog.count(DISTINCT trg.tgenabled) > 1
        UNION ALL
        SELECT 'the audit triggers differ in their arguments'
          FROM trg WHERE complete HAVING pg_catalog.count(DISTINCT trg.args) > 1
        UNION ALL
        SELECT pg_catalog.format('trigger %s on partition %s is %s', p.tgname, p.tgrelid::pg_catalog.regclass,
                                 CASE p.tgenabled WHEN 'D' THEN 'disabled'
                                      WHEN 'R' THEN 'enabled for replica sessions only'
                                      ELSE 'in enabled state ' || p.tgenabled::text END)
          FROM pg_catalog.pg_partition_tree(tbl) pt
          JOIN pg_catalog.pg_trigger p ON p.tgrelid = pt.relid
         WHERE pt.relid <> tbl::oid AND p.tgparentid <> 0
           AND p.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure
           AND p.tgenabled NOT IN ('O', 'A'))
    SELECT coalesce(pg_catalog.array_agg(DISTINCT problems.p), '{}') FROM problems
$$;

COMMENT ON FUNCTION rowkeeper._audit_drift(regclass, boolean) IS
'Internal: how a table''s audit triggers differ from what enable_audit makes (timing, events, level, WHEN, columns, transition tables, arguments, enabled state, partitions); empty when they do not.';

/*
 * Record drift in the log: an entry of op AUDIT_DRIFT (seen by the event
 * trigger) or AUDIT_REPAIR (enable_audit put the triggers back), its
 * new_row {"problems": [...]} as _audit_drift() finds them; nothing when
 * there are none.  C, so the entry is written as the audit trigger writes
 * (as the log's owner, with the caller's identities); only a role that
 * could have changed the triggers (the owner, or one with TRIGGER on the
 * table) may call it.  Returns whether it wrote an entry.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_log_drift(tbl regclass, op text, complete boolean DEFAULT true)
RETURNS boolean
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'audit_log_drift';

COMMENT ON FUNCTION rowkeeper._audit_log_drift(regclass, text, boolean) IS
'Internal: write an AUDIT_DRIFT or AUDIT_REPAIR entry for the drift rowkeeper._audit_drift() finds on a table.';

/*
 * The event trigger: after CREATE TRIGGER (enable_audit, or anyone
 * attaching the audit trigger), ALTER TABLE (RENAME, SET SCHEMA, ENABLE /
 * DISABLE TRIGGER), ALTER TRIGGER and ALTER SCHEMA: audited tables get
 * their identity, recorded names follow renames, and a trigger changed
 * away from what rowkeeper makes is recorded in the log (AUDIT_DRIFT),
 * unless a superuser (trusted with the log itself) made the change; the
 * checks report the drift either way.  Runs as the role that issued the
 * command: the identity functions are
 * SECURITY DEFINER, the drift entry carries who made the change.
 */
CREATE OR REPLACE FUNCTION rowkeeper._record_audit_names()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    PERFORM rowkeeper._audit_refresh_names();
    FOR r IN
        SELECT DISTINCT coalesce(pg_catalog.pg_partition_root(c.oid), c.oid)::pg_catalog.regclass AS tbl
          FROM pg_catalog.pg_event_trigger_ddl_commands() d
          LEFT JOIN pg_catalog.pg_trigger g
                 ON d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND g.oid = d.objid
          JOIN pg_catalog.pg_class c
                 ON c.oid = CASE WHEN d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                 THEN d.objid ELSE g.tgrelid END
         WHERE c.relkind IN ('r', 'p')
           AND EXISTS (SELECT FROM pg_catalog.pg_trigger t
                        WHERE t.tgrelid = coalesce(pg_catalog.pg_partition_root(c.oid), c.oid)
                          AND t.tgname IN ('rowkeeper_audit', 'rowkeeper_audit_truncate', 'rowkeeper_audit_insert',
                                           'rowkeeper_audit_update', 'rowkeeper_audit_delete')
                          AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure)
    LOOP
        PERFORM rowkeeper._audit_bind(r.tbl, false);
        -- superusers are trusted (and pg_restore --disable-triggers, run as
        -- one, would write entries among the log rows it is restoring)
        IF NOT (SELECT a.rolsuper FROM pg_catalog.pg_roles a WHERE a.rolname = current_user) THEN
            PERFORM rowkeeper._audit_log_drift(r.tbl, 'AUDIT_DRIFT', false);
        END IF;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._record_audit_names() IS
'Internal event trigger: audit identity and names after DDL on audited tables, and an AUDIT_DRIFT log entry when their audit triggers were changed away from what enable_audit makes.';

-- STATE BEGIN
CREATE EVENT TRIGGER rowkeeper_audit_names ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER', 'ALTER TRIGGER', 'ALTER SCHEMA')
    EXECUTE FUNCTION rowkeeper._record_audit_names();
-- STATE END

/*
 * One row per audited table.  The options are read from the arguments of
 * the row-change trigger (row mode: rowkeeper_audit; statement mode:
 * rowkeeper_audit_insert, its siblings carry the same ones) by the C
 * parser the trigger uses (rowkeeper._trigger_option()).
 */
CREATE OR REPLACE VIEW rowkeeper.audited_tables AS
SELECT t.tgrelid::regclass                                             AS table_name,
       n.nspname                                                       AS schema_name,
       c.relname                                                       AS relname,
       ARRAY(SELECT v FROM pg_catalog.unnest(rowkeeper._trigger_option_list(a.args, 'exclude')) v
              ORDER BY v)                                              AS exclude_columns,
       ARRAY(SELECT v FROM pg_catalog.unnest(rowkeeper._trigger_option_list(a.args, 'redact')) v
              ORDER BY v)                                              AS redact_columns,
       coalesce(rowkeeper._trigger_option(a.args, 'skip_noop')::boolean, true) AS skip_noop,
       coalesce(rowkeeper._trigger_option(a.args, 'require_actor')::boolean, false) AS require_actor,
       t.tgenabled = 'A'                                               AS replicated,
       pg_catalog.cardinality(rowkeeper._audit_drift(t.tgrelid)) = 0   AS enabled,
       (SELECT pg_catalog.substr(pg_catalog.obj_description(x.oid, 'pg_trigger'), 23)::timestamptz
          FROM pg_catalog.pg_trigger x
         WHERE x.tgrelid = t.tgrelid AND x.tgname = 'rowkeeper_audit_truncate') AS since,
       CASE t.tgname WHEN 'rowkeeper_audit' THEN 'row' ELSE 'statement' END AS mode
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN LATERAL (SELECT rowkeeper._trigger_args(t.tgargs) AS args) a
 WHERE t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure
   AND t.tgparentid = 0
   AND t.tgname IN ('rowkeeper_audit', 'rowkeeper_audit_insert');

GRANT SELECT ON rowkeeper.audited_tables TO PUBLIC;

COMMENT ON VIEW rowkeeper.audited_tables IS
'Tables audited by rowkeeper, with their options, mode (row or statement) and the time auditing began.';

/*
 * enable_audit: mode => 'row' | 'statement'.  Statement mode: one
 * AFTER ... FOR EACH STATEMENT trigger per operation with transition tables,
 * so a bulk statement costs one trigger call and one pass over its rows.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_triggers(tbl regclass)
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

CREATE OR REPLACE FUNCTION rowkeeper.enable_audit(tbl regclass,
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
    ref text; unsafe_triggers text;
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

    PERFORM rowkeeper._audit_citus_check(tbl, mode, replicated);
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
    IF have.names = want_names AND have.same_args AND have.same_enabled
       AND pg_catalog.cardinality(rowkeeper._audit_drift(tbl)) = 0 THEN
        -- the table's identity: its own, or the one it takes back after a restore
        PERFORM rowkeeper._audit_bind(tbl);
        PERFORM rowkeeper._audit_citus_share(tbl);     -- and on every Citus worker
        RETURN;                 -- already exactly so
    END IF;
    -- triggers changed away from what this function made: recorded, then repaired
    IF have.names IS NOT NULL THEN
        PERFORM rowkeeper._audit_log_drift(tbl, 'AUDIT_REPAIR');
    END IF;
    since := coalesce(have.since, 'rowkeeper audit since ' || pg_catalog.now()::text);

    unsafe_triggers := rowkeeper._citus_allow_triggers();     -- Citus: the triggers go to the shards
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
    PERFORM rowkeeper._citus_allow_triggers(unsafe_triggers);
    -- the table's identity: its own, the one it takes back after a restore, or a new one
    PERFORM rowkeeper._audit_bind(tbl);
    PERFORM rowkeeper._audit_citus_share(tbl);     -- and on every Citus worker
END;
$$;

COMMENT ON FUNCTION rowkeeper.enable_audit(regclass, text[], text[], boolean, boolean, boolean, text) IS
'Audit INSERT, UPDATE, DELETE and TRUNCATE on a table into rowkeeper.audit_log, per row (mode => ''row'') or per statement (''statement''). Idempotent; call again to change options.';

/* Stop auditing a table; its log entries stay. */
CREATE OR REPLACE FUNCTION rowkeeper.disable_audit(tbl regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    trig record; unsafe_triggers text;
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
        unsafe_triggers := coalesce(unsafe_triggers, rowkeeper._citus_allow_triggers());
        EXECUTE format('DROP TRIGGER %I ON %s', trig.tgname, tbl);
    END LOOP;
    PERFORM rowkeeper._citus_allow_triggers(unsafe_triggers);
END;
$$;

COMMENT ON FUNCTION rowkeeper.disable_audit(regclass) IS
'Stop auditing a table (its log entries stay).';

/*
 * audit_status: entries and bytes found through the history index's
 * columns, and the state of every audit trigger the mode needs.
 */
CREATE OR REPLACE FUNCTION rowkeeper.audit_status()
RETURNS TABLE (table_name regclass, mode text, entries bigint, bytes bigint,
               row_trigger text, truncate_trigger text, problems text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass,
           m.mode,
           -- a Citus table's entries are on every node (see src/sql/36_citus_audit.sql)
           CASE WHEN rowkeeper._audit_on_cluster(c.oid)
                THEN (SELECT count(*) FROM rowkeeper._audit_cluster_log(d.id) x)
                ELSE (SELECT count(*) FROM rowkeeper.audit_log l WHERE l.table_id = d.id) END,
           CASE WHEN rowkeeper._audit_on_cluster(c.oid)
                THEN (SELECT coalesce(sum(pg_catalog.pg_column_size(x.entry)), 0)::bigint
                        FROM rowkeeper._audit_cluster_log(d.id) x)
                ELSE (SELECT coalesce(sum(pg_catalog.pg_column_size(l.*)), 0)::bigint FROM rowkeeper.audit_log l
                       WHERE l.table_id = d.id) END,
           CASE
             WHEN EXISTS (SELECT FROM pg_catalog.unnest(d.problems) p
                           WHERE p ~ '^trigger rowkeeper_audit(_insert|_update|_delete)? '
                             AND p !~ ' (is missing|is disabled|is enabled for replica sessions only)$') THEN 'CHANGED'
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
           CASE WHEN EXISTS (SELECT FROM pg_catalog.unnest(d.problems) p
                              WHERE p ~ '^trigger rowkeeper_audit_truncate '
                                AND p !~ ' (is missing|is disabled|is enabled for replica sessions only)$') THEN 'CHANGED'
                ELSE coalesce((SELECT CASE t.tgenabled WHEN 'D' THEN 'DISABLED'
                                                       WHEN 'R' THEN 'enabled replica only' ELSE 'enabled' END
                                 FROM pg_catalog.pg_trigger t
                                WHERE t.tgrelid = c.oid AND t.tgname = 'rowkeeper_audit_truncate'), 'MISSING') END,
           d.problems
      FROM pg_catalog.pg_class c
      CROSS JOIN LATERAL (
           SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_trigger t
                                     WHERE t.tgrelid = c.oid
                                       AND t.tgname IN ('rowkeeper_audit_insert', 'rowkeeper_audit_update',
                                                        'rowkeeper_audit_delete'))
                       THEN 'statement' ELSE 'row' END AS mode) m
      CROSS JOIN LATERAL (
           SELECT rowkeeper._audit_table_id(c.oid) AS id, rowkeeper._audit_drift(c.oid) AS problems) d
     WHERE EXISTS (SELECT FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = c.oid AND t.tgparentid = 0
                      AND t.tgfoid = 'rowkeeper.audit_trigger()'::pg_catalog.regprocedure)
     ORDER BY c.oid::regclass::text
$$;

REVOKE ALL ON FUNCTION rowkeeper.audit_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rowkeeper.audit_status() TO rowkeeper_auditor;

COMMENT ON FUNCTION rowkeeper.audit_status() IS
'Audited tables: mode, log entries and bytes, the state of their audit triggers, and every way they differ from what enable_audit makes (problems; drift is reported, not hidden).';
