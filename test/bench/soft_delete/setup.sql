-- test/bench/soft_delete/setup.sql: the schema of test/bench/soft_delete.sh.
--
-- psql variables: del_rows (rows of each DELETE table, enough that every
-- DELETE of the run finds a live row), read_rows (rows of the read tables).
--
-- DELETE tables, identical rows and indexes (primary key, a partial unique
-- index over live rows), one per variant, each with a sequence the scripts
-- draw ids from:
--   del_update     plain table: the application runs UPDATE ... SET deleted_at = now()
--   del_updlive    the same with "AND deleted_at IS NULL" (what a correct
--                  hand-written soft delete runs): the baseline
--   del_plpgsql    the usual PL/pgSQL BEFORE DELETE trigger that marks the row
--                  and returns NULL (reports DELETE 0)
--   del_rowkeeper  rowkeeper.enable_soft_delete(): DELETE on the table (the
--                  library is preloaded, so the DELETE runs as the marking
--                  UPDATE), reads hidden by the policy
-- Read tables, 10 % of the rows deleted, a live row looked up by primary key:
--   rd_plain       a plain table, the application writes "deleted_at IS NULL"
--   rd             rowkeeper soft delete: the policy adds it
-- Everything runs as bench_app, an ordinary role with the grants an
-- application has.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE ROLE bench_app LOGIN;

CREATE FUNCTION bench_plpgsql_soft_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE del_plpgsql SET deleted_at = now() WHERE id = OLD.id;
    RETURN NULL;
END;
$$;

CREATE TEMP TABLE bench_tables AS
SELECT 'del_' || v AS tbl, v FROM unnest(ARRAY['update', 'updlive', 'plpgsql', 'rowkeeper']) AS v;

SELECT format($f$
    CREATE TABLE %1$I (id int PRIMARY KEY, code int NOT NULL, name text, note text,
                       deleted_at timestamptz, deleted_batch bigint);
    INSERT INTO %1$I SELECT i, i, 'name ' || i, repeat('x', 60) FROM generate_series(1, %2$s) i;
    CREATE UNIQUE INDEX %3$I ON %1$I (code) WHERE deleted_at IS NULL;
    CREATE SEQUENCE %4$I;
    GRANT SELECT, INSERT, UPDATE, DELETE ON %1$I TO bench_app;
    GRANT USAGE ON SEQUENCE %4$I TO bench_app;
$f$, tbl, :del_rows, tbl || '_code_key', tbl || '_seq') FROM bench_tables
\gexec

CREATE TRIGGER soft_delete BEFORE DELETE ON del_plpgsql
    FOR EACH ROW EXECUTE FUNCTION bench_plpgsql_soft_delete();
SELECT rowkeeper.enable_soft_delete('del_rowkeeper');

SELECT format($f$
    CREATE TABLE %1$I (id int PRIMARY KEY, code int NOT NULL, name text, note text,
                       deleted_at timestamptz, deleted_batch bigint);
    INSERT INTO %1$I SELECT i, i, 'name ' || i, repeat('x', 60),
                            CASE WHEN i %% 10 = 0 THEN now() END, CASE WHEN i %% 10 = 0 THEN 1 END
      FROM generate_series(1, %2$s) i;
    GRANT SELECT, INSERT, UPDATE, DELETE ON %1$I TO bench_app;
$f$, t, :read_rows) FROM unnest(ARRAY['rd_plain', 'rd']) t
\gexec
SELECT rowkeeper.enable_soft_delete('rd');
