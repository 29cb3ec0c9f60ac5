-- soft_delete_errors: every bad input is a clear error, and nothing is
-- half-installed after one.
CREATE TABLE t (id int PRIMARY KEY, deleted_on date, "deletedAt" timestamptz, note text,
                gen timestamptz GENERATED ALWAYS AS ('2000-01-01'::timestamptz) STORED);
CREATE TABLE nokey (a int, b text);
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
-- what t looks like: checked after every failed call below
CREATE FUNCTION pg_temp.shape() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(attname, ',' ORDER BY attnum) || ' / ' ||
           (SELECT relkind::text FROM pg_class WHERE oid = 't'::regclass) || ' / triggers: ' ||
           (SELECT count(*) FROM pg_trigger WHERE tgrelid = 't'::regclass)
      FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0 AND NOT attisdropped
$$;
\x on

-- wrong column types, generated column, near miss in case
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'deleted_on')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'note')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'gen')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'deletedat')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'deletedAt', batch_column => 'note')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'deletedAt', deleted_by_column => 'id')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'deletedAt', batch_column => 'deletedAt')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'deletedAt', time_zone => 'local')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'deletedAt', time_zone => NULL)$$);
SELECT pg_temp.shape();
-- a column that would be added is not left behind by a later failure
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'new_col', deleted_by_column => 'id')$$);
SELECT pg_temp.shape();
-- NULLs
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete(NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_soft_delete(NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.restore(NULL, '{"id": 1}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.hard_delete(NULL, '{"id": 1}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.soft_delete_unique('t', NULL)$$);

-- not a table; a table without a key
CREATE VIEW v AS SELECT * FROM t;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('v')$$);
CREATE MATERIALIZED VIEW mv AS SELECT * FROM t;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('mv')$$);
CREATE SEQUENCE s;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('s')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t_pkey')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('no_such_table')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('nokey')$$);
SELECT attname FROM pg_attribute WHERE attrelid = 'nokey'::regclass AND attnum > 0 ORDER BY attnum;

-- a partition: soft delete goes on the partitioned table
CREATE TABLE pt (id int, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE pt_1 PARTITION OF pt FOR VALUES FROM (0) TO (10);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('pt_1')$$);
DROP TABLE pt;
SELECT pg_temp.shape();

-- not the owner
CREATE ROLE rk_not_owner;
GRANT ALL ON t TO rk_not_owner;
SET ROLE rk_not_owner;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('t', 'deletedAt')$$);
RESET ROLE;

-- functions of a soft-delete table on a table without it
SELECT * FROM pg_temp.try($$SELECT rowkeeper.restore('t', '{"id": 1}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.hard_delete('t', '{"id": 1}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.soft_delete_unique('t', 't_pkey')$$);
SELECT rowkeeper.disable_soft_delete('t');

-- bad keys
SELECT rowkeeper.enable_soft_delete('t', 'deletedAt');
SELECT * FROM pg_temp.try($$SELECT rowkeeper.restore('t', '{"ID": 1}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.restore('t', '{"id": 1, "note": "x"}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.restore('t', '{"id": null}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.restore('t', '[1, 2]')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.restore('t', '[]')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.restore('t', '{"id": "one"}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.restore('t', '{"id": 1}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.hard_delete('t', NULL)$$);

-- the unique helper
ALTER TABLE t ADD COLUMN code text CONSTRAINT t_code_key UNIQUE;
CREATE TABLE refs (code text REFERENCES t (code));
SELECT * FROM pg_temp.try($$SELECT rowkeeper.soft_delete_unique('t', 'no_such')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.soft_delete_unique('t', 't_pkey')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.soft_delete_unique('t', 't_code_key')$$);
DROP TABLE refs;
CREATE UNIQUE INDEX t_note_idx ON t (note) WHERE note <> '';
SELECT * FROM pg_temp.try($$SELECT rowkeeper.soft_delete_unique('t', 't_note_idx')$$);

-- views over the table are untouched by disable and enable (nothing is
-- dropped or renamed)
CREATE VIEW t_report AS SELECT count(*) FROM t;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_soft_delete('t')$$);
SELECT rowkeeper.enable_soft_delete('t', 'deletedAt');
SELECT * FROM t_report;
DROP VIEW t_report;

-- the hiding policy dropped by hand: the listing says so, enable puts it
-- back, disable cleans up either way
DROP POLICY rowkeeper_soft_delete ON t;
SELECT table_name, guarded, hidden FROM rowkeeper.soft_delete_tables WHERE table_name = 't'::regclass;
SELECT rowkeeper.enable_soft_delete('t', 'deletedAt');
SELECT table_name, guarded, hidden FROM rowkeeper.soft_delete_tables WHERE table_name = 't'::regclass;

-- the C functions refuse to run as anything but their trigger
SELECT * FROM pg_temp.try($$SELECT rowkeeper.soft_delete_trigger()$$);
CREATE TABLE plain (id int PRIMARY KEY);
CREATE TRIGGER x BEFORE DELETE ON plain FOR EACH ROW EXECUTE FUNCTION rowkeeper.soft_delete_trigger();
INSERT INTO plain VALUES (1);
SELECT * FROM pg_temp.try($$DELETE FROM plain$$);
DROP TRIGGER x ON plain;
CREATE TRIGGER x AFTER DELETE ON plain FOR EACH ROW EXECUTE FUNCTION rowkeeper.soft_delete_guard();
SELECT * FROM pg_temp.try($$DELETE FROM plain$$);
DROP TABLE plain;
\x off

SELECT rowkeeper.disable_soft_delete('t');
SELECT pg_temp.shape();
DROP TABLE t, nokey CASCADE;
DROP ROLE rk_not_owner;
