-- audit_writer: how log rows reach rowkeeper.audit_log.  They go straight
-- into the partition when nothing on the log needs the executor, and
-- through an ordinary INSERT when something does (a trigger, a CHECK
-- constraint, an unknown column, a unique or expression index).  Every
-- change to the log's definition is seen at once.
SET TimeZone = 'UTC';
-- Error and plan output would name this month's partition: reduce both to
-- what the test means.
CREATE FUNCTION pg_temp.error_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME;
    RETURN SQLSTATE || CASE WHEN c LIKE 'audit_log_y%' THEN ' (partition index)' ELSE ' ' || c END;
END $$;
CREATE FUNCTION pg_temp.index_scans(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    seq boolean := false;
    idx text[] := '{}';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        seq := seq OR line ~ 'Seq Scan';
        IF line ~ 'Index (Only )?Scan using' THEN
            idx := idx || regexp_replace(line, '.*using audit_log_(y\d{4}m\d{2}|default)_(\S+) on .*', '\2');
        END IF;
    END LOOP;
    RETURN CASE WHEN seq THEN 'seq scan' ELSE array_to_string(ARRAY(SELECT DISTINCT unnest(idx)), ', ') END;
END $$;
CREATE TABLE notes (id int PRIMARY KEY, body text);
SELECT rowkeeper.enable_audit('notes');
CREATE VIEW last_entry AS
SELECT tableoid::regclass AS part, op, row_key, new_row, actor, application_name
  FROM rowkeeper.audit_log ORDER BY id DESC LIMIT 1;
-- the partition of this month, by the name create_audit_partitions() gives it
SELECT 'rowkeeper.audit_log_' || to_char(now(), '"y"YYYY"m"MM') AS month_part \gset

INSERT INTO notes VALUES (1, 'one');
SELECT part = :'month_part'::regclass AS in_month_partition, op, row_key, new_row FROM last_entry;

-- The month's partition is detached: the next row goes to the default
-- partition; attached again, rows go back to it.
ALTER TABLE rowkeeper.audit_log DETACH PARTITION :month_part;
INSERT INTO notes VALUES (2, 'two');
SELECT part, row_key FROM last_entry;
DELETE FROM rowkeeper.audit_log_default;
ALTER TABLE rowkeeper.audit_log ATTACH PARTITION :month_part
    FOR VALUES FROM (date_trunc('month', now())) TO (date_trunc('month', now()) + interval '1 month');
INSERT INTO notes VALUES (3, 'three');
SELECT part = :'month_part'::regclass AS in_month_partition, row_key FROM last_entry;

-- A trigger on the log runs for every log row while it exists.
CREATE FUNCTION stamp_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.application_name := 'stamped by a trigger on the log';
    RETURN NEW;
END $$;
CREATE TRIGGER stamp BEFORE INSERT ON rowkeeper.audit_log
    FOR EACH ROW EXECUTE FUNCTION stamp_log();
UPDATE notes SET body = 'uno' WHERE id = 1;
SELECT op, application_name FROM last_entry;
DROP TRIGGER stamp ON rowkeeper.audit_log;
UPDATE notes SET body = 'one again' WHERE id = 1;
SELECT op, application_name FROM last_entry;

-- A CHECK constraint on the log is enforced.
ALTER TABLE rowkeeper.audit_log ADD CONSTRAINT needs_actor CHECK (actor IS NOT NULL) NOT VALID;
SELECT pg_temp.error_of($$INSERT INTO notes VALUES (4, 'four')$$);
BEGIN;
SET LOCAL rowkeeper.actor = 'carol';
INSERT INTO notes VALUES (4, 'four');
COMMIT;
SELECT row_key, actor FROM last_entry;
ALTER TABLE rowkeeper.audit_log DROP CONSTRAINT needs_actor;

-- A column added to the log gets its default; once dropped, rows are
-- written around the dropped attribute.
ALTER TABLE rowkeeper.audit_log ADD COLUMN reviewed boolean NOT NULL DEFAULT false;
INSERT INTO notes VALUES (5, 'five');
SELECT l.reviewed, l.op, l.row_key FROM rowkeeper.audit_log l ORDER BY id DESC LIMIT 1;
ALTER TABLE rowkeeper.audit_log DROP COLUMN reviewed;
INSERT INTO notes VALUES (6, 'six');
SELECT op, row_key, new_row FROM last_entry;

-- Indexes a DBA adds are maintained: a plain one, and an expression one.
CREATE INDEX audit_log_actor_idx ON rowkeeper.audit_log (actor);
CREATE INDEX audit_log_actor_upper_idx ON rowkeeper.audit_log (upper(actor));
BEGIN;
SET LOCAL rowkeeper.actor = 'dave';
INSERT INTO notes VALUES (7, 'seven'), (8, 'eight');
COMMIT;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT pg_temp.index_scans($$SELECT count(*) FROM rowkeeper.audit_log WHERE upper(actor) = 'DAVE'$$);
SELECT count(*) AS dave_by_expression_index FROM rowkeeper.audit_log WHERE upper(actor) = 'DAVE';
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP INDEX rowkeeper.audit_log_actor_upper_idx;
BEGIN;
SET LOCAL rowkeeper.actor = 'dave';
UPDATE notes SET body = upper(body) WHERE id IN (7, 8);
COMMIT;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT pg_temp.index_scans($$SELECT count(*) FROM rowkeeper.audit_log WHERE actor = 'dave'$$);
SELECT count(*) AS dave_by_index FROM rowkeeper.audit_log WHERE actor = 'dave';
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) AS dave_by_scan FROM rowkeeper.audit_log WHERE actor || '' = 'dave';
DROP INDEX rowkeeper.audit_log_actor_idx;

-- A unique index on the log is enforced as such.
CREATE UNIQUE INDEX audit_log_once ON rowkeeper.audit_log (row_key, logged_at, op);
SELECT pg_temp.error_of($$INSERT INTO notes VALUES (9, 'nine');
                           DELETE FROM notes WHERE id = 9;
                           INSERT INTO notes VALUES (9, 'nine')$$);
DROP INDEX rowkeeper.audit_log_once;

-- A log row written in a savepoint that rolls back is gone, and the
-- transaction goes on writing to the log.
BEGIN;
INSERT INTO notes VALUES (10, 'ten');
SAVEPOINT s;
INSERT INTO notes VALUES (11, 'eleven');
ROLLBACK TO SAVEPOINT s;
INSERT INTO notes VALUES (12, 'twelve');
COMMIT;
SELECT row_key FROM rowkeeper.audit_log WHERE table_name = 'notes' AND row_key->>'id' IN ('10', '11', '12') ORDER BY id;

-- Every entry carries its own id.
SELECT count(*) = count(DISTINCT id) AS ids_unique FROM rowkeeper.audit_log;

-- Row images are written in jsonb's binary form directly (src/rowjson.c):
-- a wide row (over 32 keys and values: the JEntry array then stores an
-- offset every 32 entries), keys of every length in jsonb's order, nested
-- jsonb objects, arrays and scalars, reads back as the usual jsonb would.
DO $$
BEGIN
    EXECUTE 'CREATE TABLE wide_image (id int PRIMARY KEY, j jsonb, '
         || (SELECT string_agg(format('%I int', repeat(chr(97 + g % 26), 1 + g % 7) || g), ', ')
               FROM generate_series(1, 40) g) || ')';
END
$$;
SELECT rowkeeper.enable_audit('wide_image');
INSERT INTO wide_image (id, j) VALUES (1, '{"b": [1, 2.50, {"c": null}], "a": "x"}'), (2, '"scalar"'), (3, '[]'), (4, NULL);
UPDATE wide_image SET (bb1, j) = (2, '{"z": true}') WHERE id = 1;
DELETE FROM wide_image WHERE id = 2;
SELECT l.op, l.row_key,
       (SELECT count(*) FROM jsonb_object_keys(coalesce(l.new_row, l.old_row))) AS keys,
       coalesce(l.new_row, l.old_row)->'j' AS j,
       coalesce(l.new_row, l.old_row) = coalesce(l.new_row, l.old_row)::text::jsonb AS reads_back,
       (SELECT bool_and(coalesce(l.new_row, l.old_row) -> k IS NOT DISTINCT FROM coalesce(l.new_row, l.old_row)::text::jsonb -> k)
          FROM jsonb_object_keys(coalesce(l.new_row, l.old_row)) k) AS every_key_found
  FROM rowkeeper.audit_log l WHERE l.table_name = 'wide_image' ORDER BY l.id;
SELECT l.new_row = (SELECT to_jsonb(w) FROM wide_image w WHERE w.id = 3) AS insert_image_is_to_jsonb
  FROM rowkeeper.audit_log l WHERE l.table_name = 'wide_image' AND l.row_key = '{"id": 3}';
SELECT rowkeeper.disable_audit('wide_image');
DROP TABLE wide_image;

SELECT rowkeeper.disable_audit('notes');
DROP VIEW last_entry;
DROP TABLE notes;
DROP FUNCTION stamp_log();
TRUNCATE rowkeeper.audit_log;
