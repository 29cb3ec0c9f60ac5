-- test/bench/tenant/setup.sql: tables for test/bench/tenant.sh.
-- psql -v rows=N -v tenants=T.  Tenant k (0 <= k < T) owns ids k, k+T, ...;
-- its uuid is 00000000-0000-0000-0000-<k in 12 hex digits>.
\set ON_ERROR_STOP on
CREATE EXTENSION rowkeeper;
CREATE ROLE bench_app LOGIN;

CREATE FUNCTION tenant_uuid(k bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
AS $$ SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(k), 12, '0'))::uuid $$;

-- the same rows in three tables, one per variant
CREATE TABLE t_base (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, val int NOT NULL, note text);
INSERT INTO t_base
SELECT g, tenant_uuid(g % :tenants), (g * 7919) % 1000, 'row ' || g
  FROM generate_series(0, :rows - 1) g;
CREATE INDEX ON t_base (tenant_id);
CREATE TABLE t_rk (LIKE t_base INCLUDING ALL);
INSERT INTO t_rk SELECT * FROM t_base;
CREATE TABLE t_hand (LIKE t_base INCLUDING ALL);
INSERT INTO t_hand SELECT * FROM t_base;

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
