-- updated_at: behaviour of rowkeeper.enable_updated_at() and its trigger.
-- Timestamps are compared with now()/statement_timestamp() inside one
-- transaction, so the expected output does not depend on the clock.
SET TimeZone = 'UTC';

CREATE TABLE users (
    id int PRIMARY KEY,
    name text NOT NULL,
    bio text,
    updated_at timestamptz NOT NULL DEFAULT '2000-01-01 00:00:00+00'
);
INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob'), (3, 'cid');
SELECT rowkeeper.enable_updated_at('users');

SELECT table_name, schema_name, column_name, clock, keep_explicit, skip_noop,
       on_insert, enabled, trigger_name
  FROM rowkeeper.updated_at_tables ORDER BY 1, 3;

-- A real change stamps the transaction time.
BEGIN;
UPDATE users SET name = 'anne' WHERE id = 1;
SELECT id, updated_at = now() AS stamped FROM users ORDER BY id;
COMMIT;

-- A no-op UPDATE leaves the timestamp alone (skip_noop defaults to true).
UPDATE users SET name = name WHERE id = 2;
UPDATE users SET name = 'bob', bio = NULL WHERE id = 2;
SELECT id, updated_at FROM users WHERE id = 2;

-- An explicit value is replaced by default (keep_explicit => false) ...
BEGIN;
UPDATE users SET updated_at = '1999-01-01', name = 'bobby' WHERE id = 2;
SELECT updated_at = now() AS replaced FROM users WHERE id = 2;
COMMIT;
-- ... and "SET updated_at = updated_at" is a touch: it stamps.
BEGIN;
UPDATE users SET updated_at = updated_at WHERE id = 3;
SELECT updated_at = now() AS touched FROM users WHERE id = 3;
COMMIT;

-- Enabling again with the same options changes nothing (same trigger).
SELECT oid AS tg_before FROM pg_trigger WHERE tgrelid = 'users'::regclass \gset
SELECT rowkeeper.enable_updated_at('users');
SELECT oid = :tg_before AS same_trigger FROM pg_trigger WHERE tgrelid = 'users'::regclass;

-- Enabling again with other options changes them: keep explicit values
-- (imports, backfills keep their source timestamps).
SELECT rowkeeper.enable_updated_at('users', keep_explicit => true);
SELECT column_name, keep_explicit, skip_noop, on_insert FROM rowkeeper.updated_at_tables;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'users'::regclass;
UPDATE users SET name = 'imported', updated_at = '2015-06-01 12:00:00+00' WHERE id = 1;
SELECT id, name, updated_at FROM users WHERE id = 1;
BEGIN;
UPDATE users SET name = 'changed' WHERE id = 1;   -- not explicit: stamped
SELECT updated_at = now() AS stamped FROM users WHERE id = 1;
COMMIT;

-- skip_noop => false stamps every UPDATE, like contrib/moddatetime.
SELECT rowkeeper.enable_updated_at('users', skip_noop => false);
UPDATE users SET updated_at = '2001-01-01' WHERE id = 2;    -- explicit, replaced
BEGIN;
UPDATE users SET name = name WHERE id = 2;
SELECT updated_at = now() AS stamped_noop FROM users WHERE id = 2;
COMMIT;

-- on_insert (default true) fills a NULL on INSERT and keeps a given value.
CREATE TABLE events (id int PRIMARY KEY, kind text, updated_at timestamptz);
SELECT rowkeeper.enable_updated_at('events');
BEGIN;
INSERT INTO events VALUES (1, 'a', NULL), (2, 'b', '2010-01-01');
SELECT id, CASE WHEN updated_at = now() THEN 'now()' ELSE updated_at::text END AS updated_at
  FROM events ORDER BY id;
COMMIT;
SELECT rowkeeper.enable_updated_at('events', on_insert => false);
INSERT INTO events VALUES (3, 'c');
SELECT id, updated_at FROM events WHERE id = 3;
SELECT on_insert FROM rowkeeper.updated_at_tables WHERE table_name = 'events'::regclass;

-- INSERT ... ON CONFLICT DO UPDATE stamps the updated row.
BEGIN;
INSERT INTO events VALUES (3, 'c2') ON CONFLICT (id) DO UPDATE SET kind = excluded.kind;
SELECT kind, updated_at = now() AS stamped FROM events WHERE id = 3;
COMMIT;

-- Clocks: statement_timestamp() and clock_timestamp().
SELECT rowkeeper.enable_updated_at('events', clock => 'statement');
UPDATE events SET kind = 'st' WHERE id = 1
RETURNING updated_at = statement_timestamp() AS statement_clock;
SELECT rowkeeper.enable_updated_at('events', clock => 'clock');
BEGIN;
SELECT pg_sleep(0.01);
UPDATE events SET kind = 'wall' WHERE id = 1
RETURNING updated_at > now() AS later_than_transaction_start,
          updated_at <= clock_timestamp() AS not_in_the_future;
COMMIT;
SELECT column_name, clock FROM rowkeeper.updated_at_tables WHERE table_name = 'events'::regclass;

-- Prisma: "updatedAt" timestamp(3) NOT NULL without a default.  The column
-- is matched case-exactly and the value respects the declared precision.
CREATE TABLE "Post" (
    id serial PRIMARY KEY,
    title text NOT NULL,
    "updatedAt" timestamp(3) NOT NULL
);
SELECT rowkeeper.enable_updated_at('"Post"', 'updatedAt');
BEGIN;
INSERT INTO "Post" (title) VALUES ('hello');
SELECT "updatedAt" = now()::timestamp(3) AS filled_with_3_digits FROM "Post";
COMMIT;
BEGIN;
SELECT pg_sleep(0.002);
UPDATE "Post" SET title = 'hello, world' RETURNING "updatedAt" = now()::timestamp(3) AS stamped;
SELECT "updatedAt" = date_trunc('milliseconds', "updatedAt") AS at_most_3_digits FROM "Post";
COMMIT;

-- timestamp without time zone: UTC by default, whatever the session's
-- TimeZone (Prisma, TypeORM and Sequelize write and read these columns as
-- UTC; a session in New York used to store local time, which Prisma then
-- read as five hours in the past: migrations issue 4); time_zone =>
-- 'session' stores the session's local time.
CREATE TABLE local_ts (id int PRIMARY KEY, v int, changed_at timestamp(0));
INSERT INTO local_ts VALUES (1, 0);
SELECT rowkeeper.enable_updated_at('local_ts', 'changed_at');
SET TimeZone = 'America/New_York';
BEGIN;
UPDATE local_ts SET v = 1;
SELECT changed_at = (now() AT TIME ZONE 'UTC')::timestamp(0) AS utc_time,
       changed_at <> now()::timestamp(0) AS not_local_time FROM local_ts;
COMMIT;
-- Prisma's "updatedAt" timestamp(3), in New York: UTC, to the millisecond
BEGIN;
INSERT INTO "Post" (title) VALUES ('from new york');
SELECT "updatedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3) AS utc_3_digits
  FROM "Post" WHERE title = 'from new york';
COMMIT;
BEGIN;
SELECT pg_sleep(0.002);
UPDATE "Post" SET title = 'still new york' WHERE title = 'from new york'
RETURNING "updatedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3) AS utc_3_digits;
COMMIT;
SELECT rowkeeper.enable_updated_at('local_ts', 'changed_at', time_zone => 'session');
SET TimeZone = 'Asia/Tokyo';
BEGIN;
UPDATE local_ts SET v = 2;
SELECT changed_at = now()::timestamp(0) AS local_time FROM local_ts;
COMMIT;
-- a trigger made by rowkeeper 0.1.0 (no time_zone argument) keeps writing
-- the session's local time until enable_updated_at() is called again
SELECT rowkeeper.disable_updated_at('local_ts', 'changed_at');
CREATE TRIGGER rowkeeper_updated_at_changed_at BEFORE INSERT OR UPDATE ON local_ts FOR EACH ROW
    EXECUTE FUNCTION rowkeeper.updated_at_trigger('changed_at', 'clock=transaction',
                                                  'keep_explicit=false', 'skip_noop=true');
BEGIN;
UPDATE local_ts SET v = 3;
SELECT changed_at = now()::timestamp(0) AS local_time FROM local_ts;
COMMIT;
SELECT column_name, time_zone FROM rowkeeper.updated_at_tables
 WHERE table_name IN ('local_ts'::regclass, '"Post"'::regclass, 'users'::regclass) ORDER BY 1;
SELECT rowkeeper.enable_updated_at('local_ts', 'changed_at');
BEGIN;
UPDATE local_ts SET v = 4;
SELECT changed_at = (now() AT TIME ZONE 'UTC')::timestamp(0) AS utc_time FROM local_ts;
COMMIT;
SELECT column_name, time_zone FROM rowkeeper.updated_at_tables
 WHERE table_name IN ('local_ts'::regclass, '"Post"'::regclass, 'users'::regclass) ORDER BY 1;
SET TimeZone = 'UTC';

-- Two maintained columns on one table.
CREATE TABLE two_cols (id int PRIMARY KEY, v int, updated_at timestamptz, "modifiedAt" timestamptz);
SELECT rowkeeper.enable_updated_at('two_cols');
SELECT rowkeeper.enable_updated_at('two_cols', 'modifiedAt');
BEGIN;
INSERT INTO two_cols VALUES (1, 1);
SELECT updated_at = now() AND "modifiedAt" = now() AS both_filled FROM two_cols;
COMMIT;
SELECT rowkeeper.disable_updated_at('two_cols', 'modifiedAt');
SELECT table_name, column_name, trigger_name FROM rowkeeper.updated_at_tables
 WHERE table_name = 'two_cols'::regclass;

-- Generated columns and wide (TOASTed) values do not confuse no-op detection.
CREATE TABLE docs (
    id int PRIMARY KEY,
    body text,
    body_len int GENERATED ALWAYS AS (length(body)) STORED,
    updated_at timestamptz NOT NULL DEFAULT '2000-01-01'
);
INSERT INTO docs (id, body) VALUES (1, repeat(md5('x'), 10000));
SELECT rowkeeper.enable_updated_at('docs');
UPDATE docs SET body = body;
SELECT updated_at AS unchanged_after_noop FROM docs;
BEGIN;
UPDATE docs SET body = body || '!';
SELECT updated_at = now() AS stamped, body_len FROM docs;
COMMIT;

-- Partitioned tables: the trigger reaches present and future partitions,
-- and rows that move between partitions.
CREATE TABLE measurements (
    id int, region text, v int, updated_at timestamptz NOT NULL DEFAULT '2000-01-01',
    PRIMARY KEY (id, region)
) PARTITION BY LIST (region);
CREATE TABLE measurements_eu PARTITION OF measurements FOR VALUES IN ('eu');
INSERT INTO measurements VALUES (1, 'eu', 0);
SELECT rowkeeper.enable_updated_at('measurements');
CREATE TABLE measurements_us PARTITION OF measurements FOR VALUES IN ('us');
INSERT INTO measurements VALUES (2, 'us', 0);
BEGIN;
UPDATE measurements SET v = v + 1;
SELECT tableoid::regclass, id, updated_at = now() AS stamped FROM measurements ORDER BY id;
COMMIT;
BEGIN;
UPDATE measurements SET region = 'us', v = 10 WHERE id = 1;
SELECT tableoid::regclass, id, updated_at = now() AS stamped FROM measurements WHERE id = 1;
COMMIT;
-- the listing shows the partitioned table once, not its partitions
SELECT table_name FROM rowkeeper.updated_at_tables
 WHERE table_name::text LIKE 'measurements%';

-- A whole schema at once (a schema full of Prisma tables).
CREATE SCHEMA app;
CREATE TABLE app."User" (id int PRIMARY KEY, email text, "updatedAt" timestamp(3));
CREATE TABLE app."Comment" (id int PRIMARY KEY, body text, "updatedAt" timestamp(3));
CREATE TABLE app."Tag" (id int PRIMARY KEY, label text);
CREATE TABLE app."Log" (id int, "updatedAt" timestamptz) PARTITION BY RANGE (id);
CREATE TABLE app."Log_1" PARTITION OF app."Log" FOR VALUES FROM (0) TO (100);
SELECT * FROM rowkeeper.enable_updated_at_in_schema('app', 'updatedAt') AS enabled ORDER BY enabled::text;
SELECT * FROM rowkeeper.enable_updated_at_in_schema('app', 'updatedAt') AS again ORDER BY again::text;
SELECT count(*) AS app_triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'app'::regnamespace;
BEGIN;
INSERT INTO app."Log" VALUES (5);
SELECT "updatedAt" = now() AS partition_filled FROM app."Log";
COMMIT;
SELECT * FROM rowkeeper.disable_updated_at_in_schema('app', 'updatedAt') AS disabled ORDER BY disabled::text;
SELECT count(*) AS app_triggers_left FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'app'::regnamespace;

-- Schema changes after enable: a dropped or retyped column fails the
-- UPDATE loudly instead of writing nonsense.
CREATE TABLE fragile (id int PRIMARY KEY, v int, updated_at timestamptz);
INSERT INTO fragile VALUES (1, 0);
SELECT rowkeeper.enable_updated_at('fragile');
ALTER TABLE fragile ALTER COLUMN updated_at TYPE text;
UPDATE fragile SET v = 1;
ALTER TABLE fragile DROP COLUMN updated_at;
UPDATE fragile SET v = 1;
-- adding the column back (different attnum) works again at once
ALTER TABLE fragile ADD COLUMN updated_at timestamptz;
BEGIN;
UPDATE fragile SET v = 2;
SELECT updated_at = now() AS stamped_again FROM fragile;
COMMIT;
-- columns added before it shift nothing either
ALTER TABLE fragile ADD COLUMN extra text;
BEGIN;
UPDATE fragile SET extra = 'e';
SELECT updated_at = now() AS stamped_after_add FROM fragile;
COMMIT;

-- disable_updated_at() removes the trigger; values stay; a second call
-- says there was nothing to do.
SELECT rowkeeper.disable_updated_at('users');
UPDATE users SET name = 'after-disable', updated_at = '2002-02-02' WHERE id = 1;
SELECT updated_at FROM users WHERE id = 1;
SELECT rowkeeper.disable_updated_at('users');

-- A trigger added by hand with bad arguments fails with a hint.
CREATE TABLE handmade (id int, updated_at timestamptz);
INSERT INTO handmade VALUES (1);
CREATE TRIGGER t BEFORE UPDATE ON handmade FOR EACH ROW
    EXECUTE FUNCTION rowkeeper.updated_at_trigger('updated_at', 'clock=sundial');
UPDATE handmade SET id = 2;
DROP TRIGGER t ON handmade;
CREATE TRIGGER t BEFORE UPDATE ON handmade FOR EACH ROW
    EXECUTE FUNCTION rowkeeper.updated_at_trigger('updated_at', 'time_zone=local');
UPDATE handmade SET id = 2;
DROP TRIGGER t ON handmade;
CREATE TRIGGER t AFTER UPDATE ON handmade FOR EACH ROW
    EXECUTE FUNCTION rowkeeper.updated_at_trigger('updated_at');
UPDATE handmade SET id = 2;
DROP TRIGGER t ON handmade;
CREATE TRIGGER t BEFORE UPDATE ON handmade FOR EACH ROW
    EXECUTE FUNCTION rowkeeper.updated_at_trigger();
UPDATE handmade SET id = 2;
DROP TABLE handmade;

-- Clean up (uninstall checks that nothing is left).
SELECT rowkeeper.disable_updated_at(table_name, column_name)
  FROM rowkeeper.updated_at_tables ORDER BY table_name::text, column_name;
DROP TABLE users, events, "Post", local_ts, two_cols, docs, measurements, fragile;
DROP SCHEMA app CASCADE;
