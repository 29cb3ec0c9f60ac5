-- test/bench/purge/setup.sql: 2,000,000 rows, the upper half soft-deleted
-- 40 days ago (psql variables: rows = total rows; spread = 1: one deletion
-- time per row, a millisecond apart in insertion order, as rows deleted one
-- by one have; 0: one deletion time for all, as one mass soft delete has).
\set ON_ERROR_STOP 1
DROP TABLE IF EXISTS items;
CREATE TABLE items (id int PRIMARY KEY, val int NOT NULL, deleted_at timestamptz, pad text NOT NULL);
INSERT INTO items
SELECT g, 0, CASE WHEN g > :rows / 2 THEN now() - interval '40 days' + :spread * g * interval '1 ms' END, repeat('x', 80)
  FROM generate_series(1, :rows) g;
CREATE INDEX items_deleted_at_idx ON items (deleted_at);
VACUUM ANALYZE items;
CHECKPOINT;
