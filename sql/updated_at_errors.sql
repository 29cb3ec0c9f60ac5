-- updated_at_errors: every bad input is a clear error, and nothing is
-- half-installed after one.
CREATE TABLE t (id int PRIMARY KEY, "updatedAt" timestamptz, created date,
                gen timestamptz GENERATED ALWAYS AS ('2000-01-01'::timestamptz) STORED,
                note text);
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

-- no such column; the case-insensitive near miss is suggested
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'updatedat')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'ctid')$$);
-- wrong types
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'created')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'note')$$);
-- generated column
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'gen')$$);
-- bad options
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'updatedAt', clock => 'sundial')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'updatedAt', keep_explicit => NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'updatedAt', time_zone => 'local')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'updatedAt', time_zone => NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at(NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_updated_at('t', NULL)$$);

-- not a table
CREATE VIEW v AS SELECT * FROM t;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('v', 'updatedAt')$$);
CREATE MATERIALIZED VIEW mv AS SELECT * FROM t;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('mv', 'updatedAt')$$);
CREATE SEQUENCE s;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('s')$$);
CREATE FOREIGN DATA WRAPPER rk_dummy_fdw;
CREATE SERVER rk_dummy_server FOREIGN DATA WRAPPER rk_dummy_fdw;
CREATE FOREIGN TABLE ft (id int, updated_at timestamptz) SERVER rk_dummy_server;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('ft')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t_pkey')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('no_such_table')$$);

-- not the owner (also not for disable)
CREATE ROLE rk_not_owner;
GRANT USAGE ON SCHEMA rowkeeper TO rk_not_owner;
GRANT ALL ON t TO rk_not_owner;
SET ROLE rk_not_owner;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'updatedAt')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_updated_at('t', 'updatedAt')$$);
RESET ROLE;

-- a member of the owning role may (migrations often run as such a role)
CREATE ROLE rk_owner_group;
GRANT rk_owner_group TO rk_not_owner;
ALTER TABLE t OWNER TO rk_owner_group;
SET ROLE rk_not_owner;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('t', 'updatedAt')$$);
SELECT table_name, column_name FROM rowkeeper.updated_at_tables;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_updated_at('t', 'updatedAt')$$);
RESET ROLE;

-- schema-wide: unknown schema; all or nothing when one table is unsuitable
SELECT * FROM pg_temp.try($$SELECT * FROM rowkeeper.enable_updated_at_in_schema('no_such_schema')$$);
CREATE SCHEMA mixed;
CREATE TABLE mixed.a (id int, updated_at timestamptz);
CREATE TABLE mixed.b (id int, updated_at date);
SELECT * FROM pg_temp.try($$SELECT * FROM rowkeeper.enable_updated_at_in_schema('mixed')$$);
SELECT count(*) AS half_installed FROM rowkeeper.updated_at_tables;

-- the trigger function outside a trigger
SELECT * FROM pg_temp.try($$SELECT rowkeeper.updated_at_trigger()$$);

-- nothing was installed by any of the failures above
SELECT count(*) AS triggers FROM pg_trigger WHERE tgfoid = 'rowkeeper.updated_at_trigger'::regproc;

\x off
DROP SCHEMA mixed CASCADE;
DROP FOREIGN TABLE ft;
DROP SERVER rk_dummy_server;
DROP FOREIGN DATA WRAPPER rk_dummy_fdw;
DROP SEQUENCE s;
DROP MATERIALIZED VIEW mv;
DROP VIEW v;
DROP TABLE t;
DROP OWNED BY rk_not_owner, rk_owner_group;
DROP ROLE rk_not_owner;
DROP ROLE rk_owner_group;
