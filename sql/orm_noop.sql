-- orm_noop: ORMs that stamp updatedAt themselves (Django auto_now,
-- Sequelize, TypeORM, Prisma @updatedAt) send it with every save.  A save
-- that changes nothing else is a no-op: the row keeps its stamp and the
-- audit log gets nothing.  As soon as anything else changes, the clock
-- decides the stamp.  skip_stamp_only => false turns it off.
CREATE TABLE orm_posts (id int PRIMARY KEY, title text,
                        "updatedAt" timestamp(3) NOT NULL DEFAULT '2020-01-01');
INSERT INTO orm_posts VALUES (1, 'hello', '2020-01-01'), (2, 'world', '2020-01-01');
SELECT rowkeeper.enable_updated_at('orm_posts', 'updatedAt');
SELECT rowkeeper.enable_audit('orm_posts');
SELECT column_name, skip_noop, skip_stamp_only FROM rowkeeper.updated_at_tables
 WHERE table_name = 'orm_posts'::regclass;

-- the ORM's no-op save: same title, its own stamp
UPDATE orm_posts SET title = 'hello', "updatedAt" = '2026-06-01 12:00:00' WHERE id = 1;
SELECT id, title, "updatedAt" FROM orm_posts ORDER BY id;
SELECT count(*) AS audit_updates FROM rowkeeper.audit_log
 WHERE table_name = 'orm_posts' AND op = 'UPDATE';

-- a real change: the clock rules the stamp, not the ORM's value
BEGIN;
UPDATE orm_posts SET title = 'hello, world', "updatedAt" = '2026-06-01 12:00:00' WHERE id = 1;
SELECT id, title, "updatedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3) AS stamped_now
  FROM orm_posts WHERE id = 1;
COMMIT;
-- SET "updatedAt" = "updatedAt" (the same value) stays a touch
BEGIN;
UPDATE orm_posts SET "updatedAt" = "updatedAt" WHERE id = 2;
SELECT id, "updatedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3) AS touched
  FROM orm_posts WHERE id = 2;
ROLLBACK;
SELECT new_row - 'updatedAt' AS new_row, new_row ? 'updatedAt' AS stamp_logged FROM rowkeeper.audit_log
 WHERE table_name = 'orm_posts' AND op = 'UPDATE' ORDER BY id;

-- keep_explicit: a no-op save is still none, a real change keeps the ORM's value
SELECT rowkeeper.enable_updated_at('orm_posts', 'updatedAt', keep_explicit => true);
UPDATE orm_posts SET title = 'world', "updatedAt" = '2026-07-01' WHERE id = 2;
SELECT id, title, "updatedAt" FROM orm_posts WHERE id = 2;
UPDATE orm_posts SET title = 'world!', "updatedAt" = '2026-08-01' WHERE id = 2;
SELECT id, title, "updatedAt" FROM orm_posts WHERE id = 2;

-- turned off: a stamp-only UPDATE is a change (a "touch"), and is audited
SELECT rowkeeper.enable_updated_at('orm_posts', 'updatedAt', skip_stamp_only => false);
SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'orm_posts'::regclass
   AND tgname LIKE 'rowkeeper_updated_at%';
SELECT column_name, skip_noop, skip_stamp_only FROM rowkeeper.updated_at_tables
 WHERE table_name = 'orm_posts'::regclass;
BEGIN;
UPDATE orm_posts SET title = 'world!', "updatedAt" = '2026-09-01' WHERE id = 2;
SELECT id, "updatedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3) AS stamped_now
  FROM orm_posts WHERE id = 2;
COMMIT;
SELECT count(*) AS audit_updates FROM rowkeeper.audit_log
 WHERE table_name = 'orm_posts' AND op = 'UPDATE' AND new_row ? 'updatedAt' AND NOT new_row ? 'title';
-- skip_noop => false implies it
SELECT rowkeeper.enable_updated_at('orm_posts', 'updatedAt', skip_noop => false);
SELECT skip_noop, skip_stamp_only FROM rowkeeper.updated_at_tables
 WHERE table_name = 'orm_posts'::regclass;
SELECT rowkeeper.enable_updated_at('orm_posts', 'updatedAt', skip_stamp_only => NULL);

-- without rowkeeper's updated_at trigger, the audit alone: an UPDATE that
-- changes only updated_at / "updatedAt" (timestamp types) is a no-op
SELECT rowkeeper.disable_updated_at('orm_posts', 'updatedAt');
CREATE TABLE orm_users (id int PRIMARY KEY, name text, updated_at timestamptz);
SELECT rowkeeper.enable_audit('orm_users');
INSERT INTO orm_users VALUES (1, 'ann', '2020-01-01');
SELECT max(id) AS before FROM rowkeeper.audit_log \gset
UPDATE orm_posts SET title = 'world!', "updatedAt" = '2026-10-01' WHERE id = 2;
UPDATE orm_users SET name = 'ann', updated_at = '2026-10-01' WHERE id = 1;
UPDATE orm_users SET name = 'Ann', updated_at = '2026-10-02' WHERE id = 1;
SELECT table_name, op, new_row - 'updated_at' AS new_row, new_row ? 'updated_at' AS stamp_logged
  FROM rowkeeper.audit_log WHERE id > :before ORDER BY id;
-- the stored rows did change (there is no trigger keeping the stamp)
SELECT "updatedAt" FROM orm_posts WHERE id = 2;
-- a column of that name but another type is an ordinary column
CREATE TABLE orm_counts (id int PRIMARY KEY, updated_at int);
SELECT rowkeeper.enable_audit('orm_counts');
INSERT INTO orm_counts VALUES (1, 1);
UPDATE orm_counts SET updated_at = 2;
SELECT op, new_row FROM rowkeeper.audit_log WHERE table_name = 'orm_counts' ORDER BY id;
-- with audit skip_noop => false everything is logged
SELECT rowkeeper.enable_audit('orm_users', skip_noop => false);
UPDATE orm_users SET updated_at = '2026-10-03' WHERE id = 1;
SELECT count(*) FROM rowkeeper.audit_log
 WHERE table_name = 'orm_users' AND op = 'UPDATE' AND new_row ? 'updated_at' AND NOT new_row ? 'name';

SELECT rowkeeper.disable_audit(t) FROM unnest('{orm_posts,orm_users,orm_counts}'::regclass[]) t;
DROP TABLE orm_posts, orm_users, orm_counts;
