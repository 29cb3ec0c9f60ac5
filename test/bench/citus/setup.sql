-- test/bench/citus/setup.sql: tables for test/bench/citus.sh, run on the
-- coordinator of a Citus cluster (coordinator + 2 workers) as the superuser.
-- psql -v tenants=T -v per_tenant=N: tenant t (1..T) owns ids 1..N.
-- Three tables with the same rows, distributed by tenant_id, co-located,
-- 8 shards:
--   c_bare   no rowkeeper at all (the bare Citus baseline)
--   c_plain  rowkeeper.enable_tenant_isolation()
--   c_audit  rowkeeper.enable_tenant_isolation() and rowkeeper.enable_audit()
-- CREATE EXTENSION and CREATE ROLE are propagated to the workers by Citus.
\set ON_ERROR_STOP on
CREATE EXTENSION rowkeeper;
CREATE ROLE bench_app LOGIN;

CREATE TABLE c_bare (tenant_id int NOT NULL, id int NOT NULL, v int NOT NULL DEFAULT 0,
                     note text, PRIMARY KEY (tenant_id, id));
CREATE TABLE c_plain (LIKE c_bare INCLUDING ALL);
CREATE TABLE c_audit (LIKE c_bare INCLUDING ALL);
SELECT create_distributed_table('c_bare', 'tenant_id', shard_count => 8);
SELECT create_distributed_table('c_plain', 'tenant_id', colocate_with => 'c_bare');
SELECT create_distributed_table('c_audit', 'tenant_id', colocate_with => 'c_bare');

-- the same rows in the three tables (co-located: the copies run on the shards)
INSERT INTO c_bare (tenant_id, id, v, note)
SELECT t, i, 0, 'row ' || t || '-' || i
  FROM generate_series(1, :tenants) t, generate_series(1, :per_tenant) i;
INSERT INTO c_plain SELECT * FROM c_bare;
INSERT INTO c_audit SELECT * FROM c_bare;

-- isolation on both rowkeeper tables; audit after distributing (and after
-- loading: the rows above are not logged)
SELECT rowkeeper.enable_tenant_isolation('c_plain');
SELECT rowkeeper.enable_tenant_isolation('c_audit');
SELECT rowkeeper.enable_audit('c_audit');

GRANT SELECT, UPDATE ON c_bare, c_plain, c_audit TO bench_app;
VACUUM (FREEZE, ANALYZE) c_bare, c_plain, c_audit;
