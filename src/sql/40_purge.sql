
-- src/sql/40_purge.sql -- Copyright (c) 2026, rowkeeper developers
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
-- same purge never overlap: the second finds the run lock taken and exits
-- at once, recorded as such, with who holds the lock.  The lock is no
-- advisory lock (any role could take that key and block the purge for
-- good) but one only rowkeeper._purge_lock() takes, for a role that may run
-- the purge itself (src/purge.c).  A run killed mid-way leaves only whole
-- committed batches; the next run marks it interrupted and goes on.
--
-- The DELETEs (and a dry run's counts) run as the table's owner, one
-- security-restricted operation per batch (src/run_as.c: as VACUUM does,
-- never SET ROLE, which the owner's trigger could RESET), so a superuser or
-- a pg_cron job purging an application table never runs that table's
-- triggers with its own rights; the caller must be able to SET ROLE to the
-- owner.
--
-- Run records: written only through rowkeeper._purge_run_start() and
-- _purge_run_update() (C), which check that the caller may run that purge
-- and that the run is this session's own; readable by rowkeeper_auditor
-- and by the roles that have the rights of the purged table's owner.
--
-- Procedures that COMMIT cannot carry a SET clause: they set search_path
-- themselves in every transaction, run with the caller's rights (never
-- SECURITY DEFINER) and leave the work to functions that do pin it.
------------------------------------------------------------------------------

-- STATE BEGIN
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
    backend_pid   int         NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    target_oid    oid,
    target_owner  oid
);
CREATE INDEX purge_runs_started_idx ON rowkeeper.purge_runs (started_at);
REVOKE ALL ON rowkeeper.purge_runs FROM PUBLIC;
GRANT SELECT ON rowkeeper.purge_runs TO PUBLIC;
-- a run's record shows the purged table's keys, counts and filter values:
-- only for auditors and for whoever has the rights of the table's owner
ALTER TABLE rowkeeper.purge_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY purge_runs_readers ON rowkeeper.purge_runs FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role('rowkeeper_auditor', 'USAGE')
           OR CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_roles o WHERE o.oid = target_owner)
                   THEN pg_catalog.pg_has_role(target_owner, 'USAGE') ELSE false END);
REVOKE ALL ON SEQUENCE rowkeeper.purge_runs_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.purge_runs', '');
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.purge_runs_id_seq', '');
COMMENT ON TABLE rowkeeper.purge_runs IS
'One row per purge run, updated after every committed batch: progress is visible while a purge runs. Kept for 90 days (each run removes older records).';
COMMENT ON COLUMN rowkeeper.purge_runs.target_owner IS
'The owner of the purged table when the run started: its members (and rowkeeper_auditor) can read the record. Set on every record a run writes.';
COMMENT ON COLUMN rowkeeper.purge_runs.outcome IS
'running, done, dry run, stopped (max_batches / max_duration / lock timeout), skipped (another run holds the lock), interrupted (the backend died), failed.';
-- STATE END

/*
 * Run records are written through rowkeeper._purge_run_start() and
 * _purge_run_update() (C, src/purge.c): they check the caller, then run
 * these bodies as the owner of purge_runs.  Callers need no privilege on
 * purge_runs and cannot forge a record or write another session's.
 */
CREATE OR REPLACE FUNCTION rowkeeper._purge_run_start_body(kind text, tbl regclass, cutoff timestamptz, options jsonb,
                                                run_by text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
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
    INSERT INTO rowkeeper.purge_runs (kind, target, cutoff, options, run_by, target_oid, target_owner)
    SELECT kind, tbl::text, cutoff, options, run_by, c.oid, c.relowner
      FROM pg_catalog.pg_class c WHERE c.oid = tbl
    RETURNING id INTO run;
    RETURN run;
END;
$$;

REVOKE ALL ON FUNCTION rowkeeper._purge_run_start_body(text, regclass, timestamptz, jsonb, text) FROM PUBLIC;

COMMENT ON FUNCTION rowkeeper._purge_run_start_body(text, regclass, timestamptz, jsonb, text) IS
'Internal: the work of _purge_run_start(), run as the owner of purge_runs.';

CREATE OR REPLACE FUNCTION rowkeeper._purge_run_start(kind text, tbl regclass, cutoff timestamptz, options jsonb,
                                           run_by text DEFAULT NULL)
RETURNS bigint
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', '_purge_run_start';

COMMENT ON FUNCTION rowkeeper._purge_run_start(text, regclass, timestamptz, jsonb, text) IS
'Internal: record the start of a purge run of tbl (the caller must be able to act as its owner; run_by is always the caller) and mark runs whose backend died as interrupted.';

CREATE OR REPLACE FUNCTION rowkeeper._purge_run_update_body(run bigint, deleted bigint, skipped bigint, retries int,
                                                 outcome text DEFAULT NULL, detail jsonb DEFAULT NULL,
                                                 error text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE rowkeeper.purge_runs r
       SET batches = r.batches + CASE WHEN deleted > 0 OR skipped > 0 THEN 1 ELSE 0 END,
           rows_deleted = r.rows_deleted + deleted,
           rows_skipped = r.rows_skipped + skipped,
           lock_retries = r.lock_retries + retries,
           updated_at = pg_catalog.clock_timestamp(),
           outcome = coalesce(_purge_run_update_body.outcome, r.outcome),
           finished_at = CASE WHEN _purge_run_update_body.outcome IS NOT NULL THEN pg_catalog.clock_timestamp() END,
           detail = coalesce(_purge_run_update_body.detail, r.detail),
           error = coalesce(_purge_run_update_body.error, r.error)
     WHERE r.id = run AND r.backend_pid = pg_catalog.pg_backend_pid()
$$;

REVOKE ALL ON FUNCTION rowkeeper._purge_run_update_body(bigint, bigint, bigint, int, text, jsonb, text) FROM PUBLIC;

COMMENT ON FUNCTION rowkeeper._purge_run_update_body(bigint, bigint, bigint, int, text, jsonb, text) IS
'Internal: the work of _purge_run_update(), run as the owner of purge_runs.';

CREATE OR REPLACE FUNCTION rowkeeper._purge_run_update(run bigint, deleted bigint, skipped bigint, retries int,
                                            outcome text DEFAULT NULL, detail jsonb DEFAULT NULL,
                                            error text DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', '_purge_run_update';

COMMENT ON FUNCTION rowkeeper._purge_run_update(bigint, bigint, bigint, int, text, jsonb, text) IS
'Internal: add a committed batch to a purge run record, or finish it; only for a run this session started.';

/*
 * The lock of one purge (src/purge.c): session-level, taken without
 * waiting, only by a role that may run the purge.
 */
CREATE OR REPLACE FUNCTION rowkeeper._purge_lock(kind text, tbl regclass)
RETURNS boolean
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', '_purge_lock';

COMMENT ON FUNCTION rowkeeper._purge_lock(text, regclass) IS
'Internal: take the session lock of one purge (kind, table) without waiting; false if another session holds it. Only for a role that may act as the table''s owner.';

CREATE OR REPLACE FUNCTION rowkeeper._purge_unlock(kind text, tbl regclass)
RETURNS boolean
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', '_purge_unlock';

COMMENT ON FUNCTION rowkeeper._purge_unlock(text, regclass) IS
'Internal: release the session lock of one purge.';

/* Who holds the lock of one purge, for the record of a skipped run. */
CREATE OR REPLACE FUNCTION rowkeeper._purge_lock_holder(kind text, tbl regclass)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.jsonb_build_object(
               'pid', l.pid, 'user', a.usename, 'application', a.application_name,
               'backend_start', a.backend_start,
               'run', (SELECT r.id FROM rowkeeper.purge_runs r
                        WHERE r.backend_pid = l.pid AND r.outcome = 'running'
                          AND r.kind = _purge_lock_holder.kind AND r.target_oid = tbl
                          AND r.started_at >= a.backend_start
                        ORDER BY r.id DESC LIMIT 1))
      FROM pg_catalog.pg_locks l
      LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'object' AND l.granted
       AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                          WHERE d.datname = pg_catalog.current_database())
       AND l.classid = 'rowkeeper.purge_runs'::pg_catalog.regclass
       AND l.objid = tbl
       AND l.objsubid = CASE kind WHEN 'expired' THEN 1 WHEN 'soft_deleted' THEN 2 ELSE 3 END
     LIMIT 1
$$;

COMMENT ON FUNCTION rowkeeper._purge_lock_holder(text, regclass) IS
'Internal: the session holding the lock of one purge (pid, user, application, its running purge run if it is one), for the record of a skipped run.';

/* A cutoff from older_than: refused if negative. */
CREATE OR REPLACE FUNCTION rowkeeper._purge_cutoff(older_than interval, caller text)
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
CREATE OR REPLACE FUNCTION rowkeeper._purge_next_size(size int, took float8)
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
 * have locked), delete them re-checking the purge condition, under
 * lock_timeout (set locally: this function's SET clause reverts it when it
 * returns).  rowkeeper._purge_batch() runs it as the table's owner, as a
 * security-restricted operation.  Without skip_locked the pick
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
CREATE OR REPLACE FUNCTION rowkeeper._purge_batch_body(tbl regclass, column_name name, cutoff timestamptz,
                                       where_equals jsonb, batch_size int, lock_timeout interval,
                                       caller_path text, hard boolean, skip_locked boolean,
                                       by_value boolean, INOUT skip jsonb[], INOUT after timestamptz,
                                       OUT deleted bigint, OUT skipped bigint, OUT locked boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET rowkeeper.show_deleted = on    -- a soft-delete table's deleted rows, for its owner
AS $$
DECLARE
    keys text[] := (rowkeeper._row_key(tbl)).columns::text[];
    rel text := rowkeeper._rel_ref(tbl);
    cond text := format('t.%I OPERATOR(pg_catalog.<) %s', column_name, rowkeeper._soft_delete_cutoff(tbl, column_name));
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
    citus constant boolean := (rowkeeper._citus_distribution_column(tbl)).is_citus;
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
                   CASE WHEN (skip_locked OR hard) AND NOT citus THEN ' FOR UPDATE OF t SKIP LOCKED' ELSE '' END);
    -- one statement: pick them, then delete exactly those tuples,
    -- re-checking the purge condition (a row changed or restored since
    -- the pick's snapshot is re-read and stays unless it still qualifies).
    -- A plain table: one TID scan over the picked ctids.  A
    -- partitioned one: ctids repeat across partitions, so (tableoid, ctid)
    -- pairs, a TID lookup each (slower).
    -- A Citus table: ctids are per shard (a shard's ctid names another
    -- row on the next shard) and Citus plans neither a TID list across
    -- shards nor FOR UPDATE on a multi-shard query; pick by key instead
    -- (Citus runs the pick first, then the DELETE on each shard with the
    -- picked keys as an intermediate result)
    IF citus THEN
        del := format('DELETE FROM %s t%s WHERE (%s) IN (SELECT %s %s) AND %s',
                      rel, CASE WHEN w <> '' THEN ' USING ' || pg_catalog.substr(w, 3) ELSE '' END,
                      (SELECT string_agg(format('t.%I', k), ', ') FROM pg_catalog.unnest(keys) k),
                      (SELECT string_agg(format('t.%I', k), ', ') FROM pg_catalog.unnest(keys) k),
                      pick, cond);
    ELSIF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = tbl) = 'p' THEN
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
        EXCEPTION WHEN foreign_key_violation OR restrict_violation THEN
            -- some rows are still referenced (18 raises 23001 for RESTRICT): one by one, skipping those
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
                EXCEPTION WHEN foreign_key_violation OR restrict_violation THEN
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

COMMENT ON FUNCTION rowkeeper._purge_batch_body(regclass, name, timestamptz, jsonb, int, interval, text, boolean, boolean, boolean, jsonb[], timestamptz) IS
'Internal: one batch of a table purge (under lock_timeout; row locks only with skip_locked); run as the table owner by _purge_batch().';

CREATE OR REPLACE FUNCTION rowkeeper._purge_batch(tbl regclass, column_name name, cutoff timestamptz,
                                       where_equals jsonb, batch_size int, lock_timeout interval,
                                       caller_path text, hard boolean, skip_locked boolean,
                                       by_value boolean, INOUT skip jsonb[], INOUT after timestamptz,
                                       OUT deleted bigint, OUT skipped bigint, OUT locked boolean)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', '_purge_batch';

COMMENT ON FUNCTION rowkeeper._purge_batch(regclass, name, timestamptz, jsonb, int, interval, text, boolean, boolean, boolean, jsonb[], timestamptz) IS
'Internal: one batch of a table purge, run as the table''s owner in a security-restricted operation (the caller must be able to act as the owner).';

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
CREATE OR REPLACE PROCEDURE rowkeeper._purge_rows(run bigint, tbl regclass, column_name name, cutoff timestamptz,
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
CREATE OR REPLACE FUNCTION rowkeeper._purge_check(tbl regclass, column_name name, where_equals jsonb,
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
CREATE OR REPLACE FUNCTION rowkeeper._purge_dry_run_body(tbl regclass, column_name name, cutoff timestamptz, where_equals jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET rowkeeper.show_deleted = on    -- a soft-delete table's deleted rows, for its owner
AS $$
DECLARE
    cond text := format('t.%I OPERATOR(pg_catalog.<) %s', column_name, rowkeeper._soft_delete_cutoff(tbl, column_name));
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
        BEGIN
            EXECUTE format('SELECT count(*) FROM %s c WHERE EXISTS (SELECT FROM %s t, pg_catalog.jsonb_populate_record(NULL::%s, $2) w WHERE %s AND %s)',
                           fk.child, rowkeeper._rel_ref(tbl), tbl, cond, fk.j)
               INTO c USING cutoff, coalesce(where_equals, '{}');
        EXCEPTION WHEN insufficient_privilege THEN
            c := NULL;      -- the owner cannot read the child: not counted
        END;
        result := result || pg_catalog.jsonb_build_object(
            fk.child::text || CASE fk.confdeltype WHEN 'c' THEN ' (cascade)' WHEN 'n' THEN ' (set null)'
                                                  WHEN 'd' THEN ' (set default)' ELSE ' (referencing: skipped)' END, c);
    END LOOP;
    RETURN result;
END;
$$;

COMMENT ON FUNCTION rowkeeper._purge_dry_run_body(regclass, name, timestamptz, jsonb) IS
'Internal: count what a purge would delete, per table and through foreign keys (NULL: a referencing table the owner cannot read); run as the table owner by _purge_dry_run().';

CREATE OR REPLACE FUNCTION rowkeeper._purge_dry_run(tbl regclass, column_name name, cutoff timestamptz, where_equals jsonb)
RETURNS jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', '_purge_dry_run';

COMMENT ON FUNCTION rowkeeper._purge_dry_run(regclass, name, timestamptz, jsonb) IS
'Internal: count what a purge would delete, as the table''s owner in a security-restricted operation (the caller must be able to act as the owner).';

/* Shared driver of purge_expired and purge_soft_deleted. */
CREATE OR REPLACE PROCEDURE rowkeeper._purge_table(kind text, tbl regclass, column_name name, cutoff timestamptz,
                                        where_equals jsonb, batch_size int, max_batches int,
                                        max_duration interval, pause interval, lock_timeout interval,
                                        dry_run boolean, caller_path text, INOUT run_id bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    failure text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    run_id := rowkeeper._purge_run_start(kind, tbl, cutoff, pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'column', column_name, 'where_equals', where_equals, 'batch_size', batch_size,
        'max_batches', max_batches, 'max_duration', max_duration, 'pause', pause,
        'lock_timeout', lock_timeout, 'dry_run', dry_run)));
    IF dry_run THEN
        PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 0, 'dry run',
                                            rowkeeper._purge_dry_run(tbl, column_name, cutoff, where_equals));
        RETURN;
    END IF;
    IF NOT rowkeeper._purge_lock(kind, tbl) THEN
        PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 0, 'skipped: another run holds the lock',
            pg_catalog.jsonb_build_object('lock_holder', rowkeeper._purge_lock_holder(kind, tbl)));
        RETURN;
    END IF;
    COMMIT;
    -- a COMMIT ends the SET LOCAL: pin the path again at once
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    CALL rowkeeper._purge_rows(run_id, tbl, column_name, cutoff, where_equals, batch_size, max_batches,
                               max_duration, pause, lock_timeout, caller_path, kind = 'soft_deleted', failure);
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    PERFORM rowkeeper._purge_unlock(kind, tbl);
    IF failure IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'external_routine_exception',
            MESSAGE = format('rowkeeper: purge run %s of %s failed: %s', run_id, tbl, failure),
            HINT = 'The batches committed before the failure stay done; see rowkeeper.purge_runs.';
    END IF;
END;
$$;

COMMENT ON PROCEDURE rowkeeper._purge_table(text, regclass, name, timestamptz, jsonb, int, int, interval, interval, interval, boolean, text, bigint) IS
'Internal: run one table purge (record, lock, batches).';

CREATE OR REPLACE PROCEDURE rowkeeper.purge_expired(tbl regclass,
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
CREATE OR REPLACE PROCEDURE rowkeeper.purge_soft_deleted(tbl regclass,
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
CREATE OR REPLACE FUNCTION rowkeeper._audit_purge_plan(cutoff timestamptz)
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

CREATE OR REPLACE FUNCTION rowkeeper._audit_purge_partitions(cutoff timestamptz, txid_bound xid8, keep_detached boolean)
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

CREATE OR REPLACE FUNCTION rowkeeper._audit_purge_batch(cutoff timestamptz, txid_bound xid8, batch_size int,
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

CREATE OR REPLACE FUNCTION rowkeeper._audit_purge_check(older_than interval)
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

CREATE OR REPLACE PROCEDURE rowkeeper.purge_audit_log(older_than interval,
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
    IF NOT rowkeeper._purge_lock('audit_log', 'rowkeeper.audit_log') THEN
        PERFORM rowkeeper._purge_run_update(run_id, 0, 0, 0, 'skipped: another run holds the lock',
            pg_catalog.jsonb_build_object('lock_holder', rowkeeper._purge_lock_holder('audit_log', 'rowkeeper.audit_log')));
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
    PERFORM rowkeeper._purge_unlock('audit_log', 'rowkeeper.audit_log');
    COMMIT;
END;
$$;

REVOKE ALL ON PROCEDURE rowkeeper.purge_audit_log(interval, boolean, int, int, interval, interval, interval, boolean, bigint) FROM PUBLIC;

COMMENT ON PROCEDURE rowkeeper.purge_audit_log(interval, boolean, int, int, interval, interval, interval, boolean, bigint) IS
'Retention of rowkeeper.audit_log: detach/drop whole partitions older than the cutoff, delete the rest in batches, keep the hash chain verifiable (purged sealed batches keep their link). Refuses a retention below rowkeeper.audit_min_retention. Run by the log''s owner or a superuser.';
