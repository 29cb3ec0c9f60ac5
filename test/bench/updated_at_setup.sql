-- test/bench/updated_at_setup.sql: schema and data for test/bench/updated_at.sh.
--
-- Four identical tables of 100,000 rows (id int primary key, val int,
-- payload text of 100 bytes, updated_at timestamptz), one per variant of
-- keeping updated_at current on UPDATE:
--
--   t_base     no trigger: the application sets updated_at = now()
--   t_mod      contrib moddatetime: BEFORE UPDATE ... moddatetime(updated_at)
--   t_plpgsql  PL/pgSQL BEFORE UPDATE trigger: NEW.updated_at := now()
--   t_rk       rowkeeper.enable_updated_at('t_rk') with its defaults
--
-- The rows are loaded before any trigger exists, so the four tables start
-- out physically the same.  Autovacuum is off for them: the runner VACUUMs
-- the table before every measured run instead, so that no run pays for a
-- vacuum of another variant's table half-way through.
\set ON_ERROR_STOP on

CREATE EXTENSION moddatetime;
CREATE EXTENSION rowkeeper;

CREATE TABLE t_base (
    id         int PRIMARY KEY,
    val        int NOT NULL,
    payload    text NOT NULL,
    updated_at timestamptz NOT NULL
) WITH (autovacuum_enabled = off);

CREATE TABLE t_mod     (LIKE t_base INCLUDING ALL) WITH (autovacuum_enabled = off);
CREATE TABLE t_plpgsql (LIKE t_base INCLUDING ALL) WITH (autovacuum_enabled = off);
CREATE TABLE t_rk      (LIKE t_base INCLUDING ALL) WITH (autovacuum_enabled = off);

INSERT INTO t_base
SELECT i, 0, left(repeat(md5(i::text), 4), 100), timestamptz '2024-01-01 00:00:00+00'
  FROM generate_series(1, 100000) AS i;
INSERT INTO t_mod     SELECT * FROM t_base ORDER BY id;
INSERT INTO t_plpgsql SELECT * FROM t_base ORDER BY id;
INSERT INTO t_rk      SELECT * FROM t_base ORDER BY id;

-- moddatetime
CREATE TRIGGER t_mod_updated_at BEFORE UPDATE ON t_mod
    FOR EACH ROW EXECUTE FUNCTION moddatetime(updated_at);

-- PL/pgSQL
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER t_plpgsql_updated_at BEFORE UPDATE ON t_plpgsql
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- rowkeeper, defaults (skip_noop => true, on_insert => true, clock => 'transaction')
SELECT rowkeeper.enable_updated_at('t_rk') \g /dev/null

VACUUM ANALYZE t_base, t_mod, t_plpgsql, t_rk;
CHECKPOINT;
