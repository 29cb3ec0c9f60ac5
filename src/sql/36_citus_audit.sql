
-- src/sql/36_citus_audit.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Citus: the audit trail of distributed and reference tables
--
-- Where the log lives.  A change of a Citus table happens on the node that
-- holds the shard, and the audit trigger fires there (Citus copies it to
-- every shard), in the same local transaction as the change: so each node
-- keeps the entries of the shards it held when they changed, in its own
-- rowkeeper.audit_log.  The log scales out with the data and costs no
-- network round trip per row.  The C half (src/audit.c, src/citus.c)
-- makes such an entry the Citus table's, not the shard's:
--   - the logical table's name, OID (of the table on that node) and
--     identity (table_id): enable_audit() on the coordinator gives the
--     table its identity there and binds the same id on every worker
--     (_audit_citus_share() below); a shard never makes an id of its own,
--     its writes fail until the identity is there;
--   - the coordinator's context: actor, tenant and request id reach the
--     workers (src/citus.c), and so does the coordinator's transaction
--     start, which is the entry's logged_at: one time per distributed
--     transaction;
--   - once per logical change: a distributed table's row lives in one
--     placement; a reference table's change fires on every copy and only
--     the copy on the node with the lowest group id logs it (the
--     coordinator's, when it is in the metadata); TRUNCATE is logged by
--     the Citus table's own trigger on the coordinator, not per shard.
-- Entries do not move when a shard moves (citus_move_shard_placement, the
-- rebalancer): the entries from before the move stay on the node that wrote
-- them, under the same table_id and row_ref, and the history functions on
-- the coordinator read every node (_audit_cluster_log() below).  Order:
-- on one node the entries of one row are in id order (the order they were
-- written); across nodes, by the coordinator time, see
-- _audit_cluster_log().  The hash chain (seal_audit_log) is per node:
-- entries never leave the node that wrote them, so a move cannot break a
-- chain; seal and verify on every node.
------------------------------------------------------------------------------

/*
 * Worker side of enable_audit() on a Citus table: bind the Citus table (its
 * shell on this node) to the identity the coordinator gave it.  Only the
 * table's owner may (as for enable_audit); an id another table holds here
 * is refused.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_citus_adopt(tbl regclass, id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel record;
    base bigint;
BEGIN
    SELECT n.nspname::text AS s, c.relname::text AS t, c.relowner INTO rel
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;
    IF NOT (rowkeeper._citus_distribution_column(tbl)).is_citus OR id IS NULL OR id <= 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s is not a Citus table on this node', tbl),
            DETAIL = 'Only enable_audit() on the Citus coordinator binds an audit identity on a worker.',
            HINT = 'Call rowkeeper.enable_audit() on the coordinator.';
    END IF;
    IF NOT pg_catalog.pg_has_role(session_user, rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('must be owner of table %s', tbl),
            HINT = 'Call rowkeeper.enable_audit() on the coordinator as the table''s owner.';
    END IF;
    IF EXISTS (SELECT FROM rowkeeper.audit_incarnation_oids b
                WHERE b.table_id = id AND b.table_oid <> tbl) THEN
        RAISE EXCEPTION USING ERRCODE = 'unique_violation',
            MESSAGE = format('audit identity %s is held by another table on this node', id),
            DETAIL = 'Each audit identity belongs to one table.',
            HINT = 'Compare rowkeeper.audit_incarnations on the coordinator and this node.';
    END IF;
    INSERT INTO rowkeeper.audit_incarnations (table_id, schema_name, table_name)
    VALUES (id, rel.s, rel.t)
    ON CONFLICT (table_id) DO UPDATE SET schema_name = EXCLUDED.schema_name,
                                         table_name = EXCLUDED.table_name, dropped_at = NULL;
    -- entry ids unique in the cluster: a worker's from its group id << 48 on
    -- (the coordinator's, group 0, below), so that an id read from the
    -- coordinator names one entry
    SELECT g.groupid::bigint << 48 INTO base FROM pg_catalog.pg_dist_local_group g;
    IF base > 0 AND (SELECT s.last_value FROM rowkeeper.audit_log_id_seq s) < base THEN
        PERFORM pg_catalog.setval('rowkeeper.audit_log_id_seq', base, false);
    END IF;
    -- this node's log gets its months ahead, as enable_audit() makes them
    PERFORM rowkeeper.create_audit_partitions();
    DELETE FROM rowkeeper.audit_incarnation_oids b WHERE b.table_oid = tbl AND b.table_id <> id;
    INSERT INTO rowkeeper.audit_incarnation_oids (table_oid, table_id) VALUES (tbl, id)
    ON CONFLICT DO NOTHING;
END;
$$;


COMMENT ON FUNCTION rowkeeper._audit_citus_adopt(regclass, bigint) IS
'Internal (Citus worker): bind a Citus table to the audit identity the coordinator gave it (called by enable_audit on the coordinator).';

/*
 * Is this node a Citus coordinator with workers?  Then the history of a
 * Citus table is read from every node.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_citus_coordinator()
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r boolean;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_node') IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g) = 0
                    AND EXISTS (SELECT FROM pg_catalog.pg_dist_node n
                                 WHERE n.groupid <> 0 AND n.isactive AND n.noderole = ''primary'')'
       INTO r;
    RETURN coalesce(r, false);
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_citus_coordinator() IS
'Internal: true on a Citus coordinator with active workers (the audit log of Citus tables is read from every node).';

/*
 * Coordinator side of enable_audit() on a Citus table: the same identity
 * on every worker.  Citus runs the command on each worker in a connection
 * of its own, which commits there at once: if enable_audit() fails later
 * and rolls back, the next call binds again (the binding follows the
 * coordinator's).  For the same reason a table created or distributed in
 * the calling transaction is not there yet on the workers: refused, with
 * a hint that says so (migration tools run a migration in a transaction).
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_citus_share(tbl regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id bigint;
    r record;
BEGIN
    IF NOT (rowkeeper._citus_distribution_column(tbl)).is_citus
       OR NOT rowkeeper._audit_citus_coordinator() THEN
        RETURN;
    END IF;
    id := rowkeeper._audit_bind(tbl);
    FOR r IN EXECUTE 'SELECT w.nodename, w.nodeport, w.success, w.result
                        FROM pg_catalog.run_command_on_workers($1) w
                       WHERE NOT w.success'
             USING format('SELECT rowkeeper._audit_citus_adopt(%L::pg_catalog.regclass, %s)', tbl::text, id) LOOP
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('could not give Citus table %s its audit identity on node %s:%s', tbl, r.nodename, r.nodeport),
            DETAIL = r.result,
            HINT = CASE WHEN r.result LIKE '%relation "%" does not exist%'
                        THEN 'The workers see a table only once the transaction that created or distributed it has committed (a migration tool runs each migration in one): call rowkeeper.enable_audit() in a later transaction, e.g. a migration of its own that runs outside a transaction block.'
                        ELSE 'Make sure every worker is reachable and has rowkeeper, then call rowkeeper.enable_audit() again.' END;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_citus_share(regclass) IS
'Internal (Citus coordinator): bind a Citus table''s audit identity on every worker.';

/*
 * What enable_audit() refuses on a Citus table: statement mode (not tested
 * on shards) and replicated => true (ENABLE ALWAYS triggers fire in the
 * logical replication that moves a shard: the move would log every change
 * made during it twice).
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_citus_check(tbl regclass, mode text, replicated boolean)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT (rowkeeper._citus_distribution_column(tbl)).is_citus THEN
        RETURN;
    END IF;
    IF mode <> 'row' THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('rowkeeper.enable_audit(): statement mode is not supported on Citus table %s', tbl),
            DETAIL = 'On a Citus table the audit triggers fire on the shards; statement mode is not supported there.',
            HINT = 'Use mode => ''row'' (the default).';
    END IF;
    IF replicated THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('rowkeeper.enable_audit(): replicated => true is not supported on Citus table %s', tbl),
            DETAIL = 'Citus moves shards with logical replication; triggers enabled ALWAYS would log the changes it replays on the new node a second time.',
            HINT = 'Leave replicated out (false) on Citus tables.';
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_citus_check(regclass, text, boolean) IS
'Internal: the enable_audit() options refused on a Citus table (statement mode, replicated).';

/*
 * This node's entries of the audit log with the filters given (NULL: none),
 * as a jsonb array of [ord, entry] in id order, where ord is the running
 * maximum of logged_at in id order (see _audit_cluster_log).  The tenant
 * given is set first (for the log's row-level security on an application
 * role, as the coordinator has it).  Run on each worker by
 * _audit_cluster_log() on the coordinator, with the caller's rights.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_node_log(tenant text, tid bigint, refs bigint[],
                                          since timestamptz, until timestamptz, by_actor text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result jsonb;
BEGIN
    IF tenant IS NOT NULL AND tenant IS DISTINCT FROM rowkeeper._tenant_or_empty() THEN
        PERFORM pg_catalog.set_config('rowkeeper.tenant', tenant, true);
    END IF;
    SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(x.o, x.e) ORDER BY (x.e).id), '[]')
      INTO result
      FROM (SELECT pg_catalog.max(l.logged_at) OVER (ORDER BY l.id) AS o, l AS e
              FROM rowkeeper.audit_log l
             WHERE (tid IS NULL OR l.table_id = tid)
               AND (refs IS NULL OR l.row_ref = ANY (refs))
               AND (since IS NULL OR l.logged_at >= since)
               AND (until IS NULL OR l.logged_at <= until)
               AND (by_actor IS NULL OR l.actor = by_actor)) x;
    RETURN result;
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_node_log(text, bigint, bigint[], timestamptz, timestamptz, text) IS
'Internal (Citus): this node''s audit log entries matching the filters, as [ord, entry] pairs in id order (read by _audit_cluster_log on the coordinator).';

/*
 * The entries of the audit log on every node of a Citus cluster (this
 * node's, then each worker's), with the filters given (NULL: none): table
 * identity, row_refs, a time window, an actor.  Each entry comes with the
 * node it is on (0: this one, else the worker's port) and ord, the
 * running maximum of logged_at (the coordinator's transaction start) over
 * that node's entries in id order.  Order by (ord, node, id): on one node
 * that is id order, the order the entries were written; entries of
 * different nodes (before and after a shard move) by the coordinator's
 * time.  Only a transaction that started before a move and wrote the row
 * after it (on the new node) can be placed before entries of the old
 * node it followed.  A worker that cannot be read is an error, never a
 * shorter history.  An application role's tenant is passed on, so that
 * the log's row-level security applies on the workers as here.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_cluster_log(tid bigint, refs bigint[] DEFAULT NULL,
                                             since timestamptz DEFAULT NULL,
                                             until timestamptz DEFAULT NULL,
                                             by_actor text DEFAULT NULL)
RETURNS TABLE (node int, ord timestamptz, entry rowkeeper.audit_log)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    RETURN QUERY
        SELECT 0, pg_catalog.max(l.logged_at) OVER (ORDER BY l.id), l
          FROM rowkeeper.audit_log l
         WHERE (tid IS NULL OR l.table_id = tid)
           AND (refs IS NULL OR l.row_ref = ANY (refs))
           AND (since IS NULL OR l.logged_at >= since)
           AND (until IS NULL OR l.logged_at <= until)
           AND (by_actor IS NULL OR l.actor = by_actor);
    IF NOT rowkeeper._audit_citus_coordinator() THEN
        RETURN;
    END IF;
    FOR r IN EXECUTE 'SELECT w.nodename, w.nodeport, w.success, w.result
                        FROM pg_catalog.run_command_on_workers($1) w ORDER BY w.nodeport'
             USING format('SELECT rowkeeper._audit_node_log(%L, %L, %L, %L, %L, %L)',
                          rowkeeper._tenant_or_empty(), tid, refs, since, until, by_actor) LOOP
        IF NOT r.success THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('could not read the audit log on Citus node %s:%s', r.nodename, r.nodeport),
                DETAIL = r.result,
                HINT = 'The history of a Citus table is read from every node; make sure every worker is reachable and the role may read the log there.';
        END IF;
        RETURN QUERY
            SELECT r.nodeport, (x.v ->> 0)::timestamptz,
                   pg_catalog.jsonb_populate_record(NULL::rowkeeper.audit_log, x.v -> 1)
              FROM pg_catalog.jsonb_array_elements(r.result::jsonb) x(v);
    END LOOP;
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_cluster_log(bigint, bigint[], timestamptz, timestamptz, text) IS
'Internal: audit log entries on every node of a Citus cluster (filtered), each with its node and an order key; order by (ord, node, (entry).id).';

/* The current tenant, or NULL when none is set (no error). */
CREATE OR REPLACE FUNCTION rowkeeper._tenant_or_empty()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NULLIF(pg_catalog.current_setting('rowkeeper.tenant', true), '')
$$;

COMMENT ON FUNCTION rowkeeper._tenant_or_empty() IS
'Internal: rowkeeper.tenant, NULL when unset.';

/* Whether the history of tbl (its identity tid) is read from every node. */
CREATE OR REPLACE FUNCTION rowkeeper._audit_on_cluster(tbl regclass)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT tbl IS NOT NULL AND (rowkeeper._citus_distribution_column(tbl)).is_citus
           AND rowkeeper._audit_citus_coordinator()
$$;

COMMENT ON FUNCTION rowkeeper._audit_on_cluster(regclass) IS
'Internal: true when tbl is a Citus table and this node its coordinator (its entries are on every node).';

/*
 * The entries of one row of a table identity, across key changes, in
 * order (see _row_entries), as (seq, entry): from every node of a Citus
 * cluster when on_cluster.
 */
CREATE OR REPLACE FUNCTION rowkeeper._row_entries_ordered(tid bigint, key jsonb, on_cluster boolean)
RETURNS TABLE (seq bigint, entry rowkeeper.audit_log)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k jsonb := key;
    es rowkeeper.audit_log[] := '{}';
    os timestamptz[] := '{}';
    ns int[] := '{}';
    -- the key change before which the older key's entries count (b_),
    -- the earliest key change found among this key's entries (l_)
    b_ord timestamptz; b_node int; b_id bigint;
    l_ord timestamptz; l_node int; l_id bigint; l_key jsonb;
    r record;
    hops int := 0;
BEGIN
    IF NOT on_cluster THEN
        RETURN QUERY SELECT pg_catalog.row_number() OVER (ORDER BY e.id), e
                       FROM rowkeeper._row_entries(tid, key) e ORDER BY e.id;
        RETURN;
    END IF;
    LOOP
        l_id := NULL;
        FOR r IN SELECT c.node, c.ord, c.entry
                   FROM rowkeeper._audit_cluster_log(tid, ARRAY[rowkeeper.row_ref(tid, k)]) c
                  WHERE (c.entry).row_key = k
                    AND (b_id IS NULL OR (c.ord, c.node, (c.entry).id) < (b_ord, b_node, b_id)) LOOP
            es := es || r.entry; os := os || r.ord; ns := ns || r.node;
            IF (r.entry).old_key IS NOT NULL
               AND (l_id IS NULL OR (r.ord, r.node, (r.entry).id) < (l_ord, l_node, l_id)) THEN
                l_ord := r.ord; l_node := r.node; l_id := (r.entry).id; l_key := (r.entry).old_key;
            END IF;
        END LOOP;
        hops := hops + 1;
        EXIT WHEN l_id IS NULL OR hops > 1000;
        k := l_key;
        b_ord := l_ord; b_node := l_node; b_id := l_id;
    END LOOP;
    RETURN QUERY SELECT pg_catalog.row_number() OVER (ORDER BY os[i], ns[i], (es[i]).id), es[i]
                   FROM pg_catalog.generate_subscripts(es, 1) i
                  ORDER BY os[i], ns[i], (es[i]).id;
END;
$$;

COMMENT ON FUNCTION rowkeeper._row_entries_ordered(bigint, jsonb, boolean) IS
'Internal: the entries of one row across key changes, numbered in order (seq); from every Citus node when on_cluster.';

/*
 * undo() reads the log of the node it runs on: an entry id in a worker's
 * range (group id << 48, see _audit_citus_adopt) asked for on the Citus
 * coordinator is refused with its own error; other ids are returned.
 */
CREATE OR REPLACE FUNCTION rowkeeper._audit_local_entry(audit_id bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF audit_id >= (1::bigint << 48) AND rowkeeper._audit_citus_coordinator()
       AND NOT EXISTS (SELECT FROM rowkeeper.audit_log l WHERE l.id = audit_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('rowkeeper.undo(): audit entry %s is on a Citus worker', audit_id),
            DETAIL = format('Entry ids from 2^48 up are written on the Citus worker of group id >> 48 (here %s); undo reads the log of the node it runs on.',
                            audit_id >> 48),
            HINT = 'Put the row back with rowkeeper.restore_row(tbl, key, at) on the coordinator.';
    END IF;
    RETURN audit_id;
END;
$$;

COMMENT ON FUNCTION rowkeeper._audit_local_entry(bigint) IS
'Internal: the audit entry id undo() looks up on this node; refuses, on a Citus coordinator, an id of a worker''s range.';
