-- test/bench/tenant/setup.sql: tables for test/bench/tenant.sh.
-- psql -v rows=N -v tenants=T.  Tenant k (0 <= k < T) owns ids k, k+T, ...;
-- its uuid is 00000000-0000-0000-0000-<k in 12 hex digits>.
\set ON_ERROR_STOP on
CREATE EXTENSION rowkeeper;
CREATE ROLE bench_app LOGIN;

CREATE FUNCTION tenant_uuid(k bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
AS $$ SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(k), 12, '0'))::uuid $$;

-- the same rows in three tables, one per variant, indexes built the same
-- way (after loading) so that they are equally dense
CREATE TABLE t_base (id bigint NOT NULL, tenant_id uuid NOT NULL, val int NOT NULL, note text);
INSERT INTO t_base
SELECT g, tenant_uuid(g % :tenants), (g * 7919) % 1000, 'row ' || g
  FROM generate_series(0, :rows - 1) g;
CREATE TABLE t_rk (LIKE t_base);
INSERT INTO t_rk SELECT * FROM t_base;
CREATE TABLE t_hand (LIKE t_base);
INSERT INTO t_hand SELECT * FROM t_base;
ALTER TABLE t_base ADD PRIMARY KEY (id);
ALTER TABLE t_rk ADD PRIMARY KEY (id);
ALTER TABLE t_hand ADD PRIMARY KEY (id);
CREATE INDEX ON t_base (tenant_id);
CREATE INDEX ON t_rk (tenant_id);
CREATE INDEX ON t_hand (tenant_id);

-- empty tables for the INSERT runs
CREATE TABLE i_base (LIKE t_base INCLUDING ALL);
CREATE TABLE i_rk (LIKE t_base INCLUDING ALL);
CREATE TABLE i_hand (LIKE t_base INCLUDING ALL);
CREATE SEQUENCE i_base_seq; CREATE SEQUENCE i_rk_seq; CREATE SEQUENCE i_hand_seq;

-- rowkeeper: forced RLS, policies on rowkeeper.current_tenant_uuid(), DEFAULT
SELECT rowkeeper.enable_tenant_isolation('t_rk');
SELECT rowkeeper.enable_tenant_isolation('i_rk');

-- the usual hand-written policy, for reference: current_setting(...)::uuid
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['t_hand', 'i_hand'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY hand ON %I USING (tenant_id = current_setting(''rowkeeper.tenant'')::uuid) '
                       'WITH CHECK (tenant_id = current_setting(''rowkeeper.tenant'')::uuid)', t);
        EXECUTE format('ALTER TABLE %I ALTER COLUMN tenant_id SET DEFAULT current_setting(''rowkeeper.tenant'')::uuid', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON t_base, t_rk, t_hand, i_base, i_rk, i_hand TO bench_app;
GRANT USAGE ON i_base_seq, i_rk_seq, i_hand_seq TO bench_app;
VACUUM (FREEZE, ANALYZE);

-- CPU time of this backend in clock ticks (utime + stime from /proc), for
-- the load-independent per-statement figures; reads a server file, so it
-- runs with its owner's (the superuser's) rights.
CREATE FUNCTION cpu_ticks() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
AS $$
    SELECT a[12]::bigint + a[13]::bigint
      FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'),
                                              ') ', 2), ' ') AS a) s
$$;
GRANT EXECUTE ON FUNCTION cpu_ticks() TO bench_app;

-- n executions of one operation on one variant's table, in one backend
-- (static SQL: PL/pgSQL keeps each statement's plan); returns CPU ticks.
CREATE FUNCTION cpu_loop(op text, variant text, n int, tenant uuid,
                         tenant_k int, tenants int, per_tenant int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
    x bigint;
    t0 bigint := cpu_ticks();
BEGIN
    FOR i IN 1..n LOOP
        k := tenant_k + ((i::bigint * 7919) % per_tenant) * tenants;
        CASE op || '/' || variant
            WHEN 'lookup/base' THEN SELECT val INTO x FROM t_base WHERE id = k AND tenant_id = tenant;
            WHEN 'lookup/rowkeeper' THEN SELECT val INTO x FROM t_rk WHERE id = k;
            WHEN 'lookup/hand' THEN SELECT val INTO x FROM t_hand WHERE id = k;
            WHEN 'count/base' THEN SELECT count(*) INTO x FROM t_base WHERE tenant_id = tenant;
            WHEN 'count/rowkeeper' THEN SELECT count(*) INTO x FROM t_rk;
            WHEN 'count/hand' THEN SELECT count(*) INTO x FROM t_hand;
            WHEN 'insert/base' THEN
                INSERT INTO i_base (id, tenant_id, val, note) VALUES (-nextval('i_base_seq'), tenant, 1, 'new row');
            WHEN 'insert/rowkeeper' THEN
                INSERT INTO i_rk (id, val, note) VALUES (-nextval('i_rk_seq'), 1, 'new row');
            WHEN 'insert/hand' THEN
                INSERT INTO i_hand (id, val, note) VALUES (-nextval('i_hand_seq'), 1, 'new row');
        END CASE;
    END LOOP;
    RETURN cpu_ticks() - t0;
END;
$$;
GRANT EXECUTE ON FUNCTION cpu_loop(text, text, int, uuid, int, int, int) TO bench_app;
