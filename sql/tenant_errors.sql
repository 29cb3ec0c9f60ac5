-- tenant_errors: every bad input to tenant isolation is a clear error, and
-- nothing is half-installed after one.
CREATE TABLE t (id int PRIMARY KEY, tenant_id uuid NOT NULL, "orgId" bigint,
                small smallint, code varchar(10), amount numeric,
                gen int GENERATED ALWAYS AS (id * 2) STORED,
                ident int GENERATED ALWAYS AS IDENTITY,
                defaulted int DEFAULT 0);
CREATE DOMAIN tenant_uuid AS uuid;
CREATE TABLE d (id int PRIMARY KEY, tenant_id tenant_uuid);
-- try(stmt): run stmt and show the error it raises, SQLSTATE included.
CREATE FUNCTION pg_temp.try(stmt text,
    OUT code text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    message := 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END;
$$;
\x on

-- unknown column; the near miss in case is suggested
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', 'org_id')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', 'orgid')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', 'xmin')$$);
-- unsupported types (smallint, varchar, numeric, a domain over uuid)
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', 'small')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', 'code')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', 'amount')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('d')$$);
-- generated and identity columns, a column with a default of its own
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', 'gen')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', 'ident')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', 'defaulted')$$);
-- no index on the column and create_index => false
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', create_index => false)$$);
-- NULLs
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation(NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t', grant_access => NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_tenant_isolation(NULL)$$);

-- not a table; a partition (isolation goes on the partitioned table)
CREATE VIEW v AS SELECT * FROM t;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('v')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('no_such_table')$$);
CREATE TABLE p (id int, tenant_id int) PARTITION BY LIST (tenant_id);
CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('p1')$$);
SELECT rowkeeper.enable_tenant_isolation('p');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_tenant_isolation('p1')$$);
SELECT rowkeeper.disable_tenant_isolation('p');

-- not the owner (also not for disable)
CREATE ROLE rk_not_owner;
GRANT ALL ON t TO rk_not_owner;
SELECT rowkeeper.enable_tenant_isolation('t');
SET ROLE rk_not_owner;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('t')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_tenant_isolation('t')$$);

-- A tenant value that does not parse as the column's type: an error that
-- names the setting, not a cast failure deep in the query.
BEGIN;
SELECT rowkeeper.set_context(tenant => 'acme');
SELECT * FROM pg_temp.try($$SELECT count(*) FROM t$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_bigint()$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_int()$$);
SELECT rowkeeper.set_context(tenant => '2147483648');
SELECT rowkeeper.current_tenant_bigint();
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_int()$$);
SELECT rowkeeper.set_context(tenant => '9223372036854775808');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_bigint()$$);
SELECT rowkeeper.set_context(tenant => '-9223372036854775808');
SELECT rowkeeper.current_tenant_bigint();
SELECT rowkeeper.set_context(tenant => ' 42');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_int()$$);
SELECT rowkeeper.set_context(tenant => '-');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_int()$$);
-- uuid spellings uuid_in accepts are accepted; others are not
SELECT rowkeeper.set_context(tenant => '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}');
SELECT rowkeeper.current_tenant_uuid();
SELECT rowkeeper.set_context(tenant => 'a0eebc999c0b4ef8bb6d6bb9bd380a11');
SELECT rowkeeper.current_tenant_uuid();
SELECT rowkeeper.set_context(tenant => 'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11');
SELECT rowkeeper.current_tenant_uuid();
SELECT rowkeeper.set_context(tenant => 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_uuid()$$);
SELECT rowkeeper.set_context(tenant => 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_uuid()$$);
SELECT rowkeeper.set_context(tenant => 'a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_uuid()$$);
SELECT rowkeeper.set_context(tenant => '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_uuid()$$);
SELECT rowkeeper.set_context(tenant => 'g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.current_tenant_uuid()$$);
ROLLBACK;
RESET ROLE;

-- the trigger outside a trigger, and fired the wrong way
SELECT * FROM pg_temp.try($$SELECT rowkeeper.tenant_immutable_trigger()$$);
CREATE TABLE wrong (id int, tenant_id int);
CREATE TRIGGER wrong AFTER INSERT ON wrong FOR EACH ROW
    EXECUTE FUNCTION rowkeeper.tenant_immutable_trigger('tenant_id');
SELECT * FROM pg_temp.try($$INSERT INTO wrong VALUES (1, 1)$$);
DROP TABLE wrong;

-- schema-wide: unknown schema; all or nothing when one table is unsuitable
SELECT * FROM pg_temp.try($$SELECT * FROM rowkeeper.enable_tenant_isolation_in_schema('no_such_schema')$$);
CREATE SCHEMA mixed;
CREATE TABLE mixed.a (id int, tenant_id uuid);
CREATE TABLE mixed.b (id int, tenant_id numeric);
SELECT * FROM pg_temp.try($$SELECT * FROM rowkeeper.enable_tenant_isolation_in_schema('mixed')$$);
SELECT count(*) AS half_installed FROM rowkeeper.tenant_isolated_tables WHERE schema_name = 'mixed';

-- nothing was installed by any failure above: only t is isolated
\x off
SELECT table_name FROM rowkeeper.tenant_isolated_tables ORDER BY 1;
SELECT polrelid::regclass, polname FROM pg_policy ORDER BY 1, 2;
SELECT rowkeeper.disable_tenant_isolation('t');
-- disabling twice is a notice, not an error
SELECT rowkeeper.disable_tenant_isolation('t');

DROP SCHEMA mixed CASCADE;
DROP TABLE p;
DROP VIEW v;
DROP TABLE t, d;
DROP DOMAIN tenant_uuid;
DROP OWNED BY rk_not_owner;
DROP ROLE rk_not_owner;
