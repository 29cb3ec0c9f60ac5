-- purge: batched purges with dry runs, a record of every run, skipped
-- referenced rows, limits, the owner's rights, and audit log retention.
SET TimeZone = 'UTC';
TRUNCATE rowkeeper.purge_runs RESTART IDENTITY;   -- run ids below start at 1
CREATE VIEW last_run AS
SELECT kind, target, options - 'lock_timeout' AS options, batches, rows_deleted, rows_skipped,
       outcome, detail, error, finished_at IS NOT NULL AS finished
  FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1;

CREATE TABLE sessions (id int PRIMARY KEY, expires_at timestamptz NOT NULL, kind text NOT NULL);
CREATE INDEX ON sessions (expires_at);
INSERT INTO sessions
SELECT g, CASE WHEN g <= 1000 THEN now() - interval '1 day' * (g % 50 + 1) ELSE now() + interval '1 hour' END,
       CASE WHEN g % 2 = 0 THEN 'web' ELSE 'api' END
  FROM generate_series(1, 1200) g;

-- A dry run counts and deletes nothing.
CALL rowkeeper.purge_expired('sessions', 'expires_at', dry_run => true);
SELECT * FROM last_run;
SELECT count(*) FROM sessions;

-- An extra condition is column = value pairs, bound as values.
CALL rowkeeper.purge_expired('sessions', 'expires_at', older_than => '10 days',
                             where_equals => '{"kind": "web"}', batch_size => 100);
SELECT * FROM last_run;
SELECT kind, count(*) FROM sessions WHERE expires_at < now() GROUP BY 1 ORDER BY 1;

-- A limit stops a run; the next one goes on.
CALL rowkeeper.purge_expired('sessions', 'expires_at', batch_size => 100, max_batches => 2);
SELECT * FROM last_run;
CALL rowkeeper.purge_expired('sessions', 'expires_at', batch_size => 250);
SELECT * FROM last_run;
SELECT count(*) AS left_expired FROM sessions WHERE expires_at < now();
SELECT count(*) AS left_live FROM sessions;

-- Without a batch_size, the first batch takes 1000 rows and the next ones
-- are sized towards 50 ms a batch: at most x4 and at least /2 a step,
-- within 100 to 100,000 rows (the rule alone, since a run's timing varies).
SELECT took, rowkeeper._purge_next_size(1000, took) AS next_after_1000,
       rowkeeper._purge_next_size(50000, took) AS next_after_50000,
       rowkeeper._purge_next_size(150, took) AS next_after_150
  FROM unnest(ARRAY[0, 0.005, 0.02, 0.05, 0.08, 1, 60]) took ORDER BY took;
CREATE TABLE events (id int PRIMARY KEY, at timestamptz NOT NULL);
CREATE INDEX ON events (at);
INSERT INTO events SELECT g, now() - interval '1 day' FROM generate_series(1, 6000) g;
CALL rowkeeper.purge_expired('events', 'at', max_batches => 1);
SELECT batches, rows_deleted, outcome FROM last_run;
CALL rowkeeper.purge_expired('events', 'at');
SELECT rows_deleted, batches BETWEEN 2 AND 50 AS batched, outcome FROM last_run;
SELECT count(*) AS events_left FROM events;
DROP TABLE events;

-- A partitioned table, 300 rows with one value (ties: their batches, and
-- the 10 after, go by TID list) before 3000 distinct ones (the batches after
-- those are bounded by value), across both partitions: full batches,
-- nothing left.
CREATE TABLE parted (id int, at timestamptz NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE parted_old PARTITION OF parted FOR VALUES FROM ('2000-01-01') TO ('2020-01-01');
CREATE TABLE parted_new PARTITION OF parted FOR VALUES FROM ('2020-01-01') TO ('2100-01-01');
CREATE INDEX ON parted (at);
INSERT INTO parted SELECT g, timestamptz '2019-12-31' + g * interval '1 hour' FROM generate_series(1, 3000) g;
INSERT INTO parted SELECT g, timestamptz '2019-06-01' FROM generate_series(3001, 3300) g;
CALL rowkeeper.purge_expired('parted', 'at', batch_size => 100);
SELECT batches, rows_deleted, outcome FROM last_run;
SELECT count(*) AS parted_left FROM parted;
DROP TABLE parted;

-- Rows a RESTRICT foreign key still references are skipped and reported.
CREATE TABLE invoices (id int PRIMARY KEY, due timestamptz NOT NULL);
CREATE INDEX ON invoices (due);
CREATE TABLE payments (id int PRIMARY KEY, invoice_id int REFERENCES invoices ON DELETE RESTRICT);
CREATE TABLE lines (id int PRIMARY KEY, invoice_id int REFERENCES invoices ON DELETE CASCADE);
INSERT INTO invoices SELECT g, now() - interval '400 days' FROM generate_series(1, 10) g;
INSERT INTO payments VALUES (1, 3), (2, 7);
INSERT INTO lines SELECT g, g % 10 + 1 FROM generate_series(1, 30) g;
CALL rowkeeper.purge_expired('invoices', 'due', older_than => '1 year', dry_run => true);
SELECT detail FROM last_run;
CALL rowkeeper.purge_expired('invoices', 'due', older_than => '1 year', batch_size => 4);
SELECT * FROM last_run;
SELECT id FROM invoices ORDER BY id;
SELECT count(*) AS lines_left FROM lines;

-- The DELETE runs as the table's owner, not as the (superuser) caller.
CREATE ROLE purge_owner;
CREATE TABLE tokens (id int PRIMARY KEY, expires_at timestamptz NOT NULL);
CREATE INDEX ON tokens (expires_at);
ALTER TABLE tokens OWNER TO purge_owner;
CREATE TABLE seen_as (who name);
GRANT INSERT ON seen_as TO purge_owner;
CREATE FUNCTION note_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seen_as VALUES (current_user);
    RETURN OLD;
END $$;
CREATE TRIGGER note BEFORE DELETE ON tokens FOR EACH ROW EXECUTE FUNCTION note_user();
INSERT INTO tokens VALUES (1, now() - interval '1 hour');
CALL rowkeeper.purge_expired('tokens', 'expires_at');
SELECT who FROM seen_as;
SELECT current_user = session_user AS role_back_after_purge;
-- a caller who cannot become the owner cannot purge its table
CREATE ROLE purge_stranger;
GRANT SELECT, DELETE ON tokens TO purge_stranger;
INSERT INTO tokens VALUES (2, now() - interval '1 hour');
SET SESSION AUTHORIZATION purge_stranger;
\set VERBOSITY default
CALL rowkeeper.purge_expired('tokens', 'expires_at');
\set VERBOSITY terse
RESET SESSION AUTHORIZATION;

-- Purges of audited tables are audited.
SELECT rowkeeper.enable_audit('sessions');
UPDATE sessions SET expires_at = now() - interval '1 day' WHERE id IN (1100, 1101);
CALL rowkeeper.purge_expired('sessions', 'expires_at');
SELECT op, row_key FROM rowkeeper.audit_log WHERE table_name = 'sessions' AND op = 'DELETE' ORDER BY row_key;

-- Soft-deleted rows past their grace period, through hard_delete().
CREATE TABLE posts (id int PRIMARY KEY, title text);
SELECT rowkeeper.enable_soft_delete('posts');
CREATE INDEX ON posts (deleted_at);
INSERT INTO posts SELECT g, 'post ' || g FROM generate_series(1, 10) g;
DELETE FROM posts WHERE id <= 6;
UPDATE posts SET deleted_at = now() - interval '40 days' WHERE id <= 4;
CALL rowkeeper.purge_soft_deleted('posts', dry_run => true);
SELECT outcome, detail FROM last_run;
CALL rowkeeper.purge_soft_deleted('posts', batch_size => 3);
SELECT kind, target, batches, rows_deleted, outcome FROM last_run;
SELECT id, deleted_at IS NOT NULL AS soft_deleted FROM posts ORDER BY id;
CALL rowkeeper.purge_soft_deleted('sessions');

-- Bad input.
CALL rowkeeper.purge_expired('sessions', 'kind');
CALL rowkeeper.purge_expired('sessions', 'nope');
CREATE TABLE unindexed (id int PRIMARY KEY, at timestamptz);
\set VERBOSITY default
CALL rowkeeper.purge_expired('unindexed', 'at');
\set VERBOSITY terse
CALL rowkeeper.purge_expired('sessions', 'expires_at', older_than => '-1 day');
CALL rowkeeper.purge_expired('sessions', 'expires_at', where_equals => '[1]');
CALL rowkeeper.purge_expired('sessions', 'expires_at', where_equals => '{"colour": "red"}');
CALL rowkeeper.purge_expired('sessions', 'expires_at', batch_size => 0);
CALL rowkeeper.purge_expired('last_run', 'finished');
CREATE TABLE nokey (at timestamptz);
CREATE INDEX ON nokey (at);
CALL rowkeeper.purge_expired('nokey', 'at');

-- Audit log retention: whole old partitions go, sealed batches keep the
-- chain verifiable, a too short retention is refused.
SELECT rowkeeper.disable_audit('sessions');
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal;
CREATE TABLE rowkeeper.audit_log_y2020m01 PARTITION OF rowkeeper.audit_log
    FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-02-01 00:00+00');
INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, row_key, row_ref,
                                 db_user, role_user, session_user_name)
SELECT ts, pg_current_xact_id(), 0, 'public', 'old', 'DELETE', jsonb_build_object('id', g),
       rowkeeper.row_ref(0, jsonb_build_object('id', g)), 'x', 'x', 'x'
  FROM generate_series(1, 5) g,
       unnest(ARRAY['2020-01-10 00:00+00', '2020-03-10 00:00+00']::timestamptz[]) ts;
SELECT entries FROM rowkeeper.seal_audit_log();
CREATE TABLE keep (id int PRIMARY KEY);
SELECT rowkeeper.enable_audit('keep');
INSERT INTO keep VALUES (1), (2);
SELECT entries FROM rowkeeper.seal_audit_log();
CALL rowkeeper.purge_audit_log('1 day');
CALL rowkeeper.purge_audit_log('365 days', dry_run => true);
SELECT outcome, detail FROM last_run;
CALL rowkeeper.purge_audit_log('365 days', batch_size => 3);
SELECT outcome, rows_deleted, detail FROM last_run;
SELECT to_regclass('rowkeeper.audit_log_y2020m01') AS dropped_partition;
SELECT table_name, count(*) FROM rowkeeper.audit_log GROUP BY 1 ORDER BY 1;
SELECT batch, purged_at IS NOT NULL AS purged, length(digests) AS digest_bytes FROM rowkeeper.audit_seal ORDER BY batch;
SELECT verified, problem, unsealed FROM rowkeeper.verify_audit_chain();
SET rowkeeper.audit_min_retention = '1 day';
SHOW rowkeeper.audit_min_retention;
SET rowkeeper.audit_min_retention = '-1 day';
SET ROLE purge_stranger;
SET rowkeeper.audit_min_retention = '1 hour';
CALL rowkeeper.purge_audit_log('400 days');
RESET ROLE;

-- purge_runs: nobody writes it directly; a role that neither has the
-- rights of a purged table's owner nor is an auditor sees none of its runs
-- (more in purge_security).
SET ROLE purge_stranger;
SELECT count(*) AS runs_seen FROM rowkeeper.purge_runs;
DELETE FROM rowkeeper.purge_runs;
RESET ROLE;
SELECT kind, outcome, count(*) FROM rowkeeper.purge_runs GROUP BY 1, 2 ORDER BY 1, 2;

SELECT rowkeeper.disable_audit('keep');
DROP VIEW last_run;
SELECT rowkeeper.disable_soft_delete('posts', force => true);
DROP TABLE sessions, payments, lines, invoices, tokens, seen_as, unindexed, nokey, keep, posts;
DROP FUNCTION note_user();
DROP ROLE purge_owner, purge_stranger;
TRUNCATE rowkeeper.audit_log, rowkeeper.audit_seal, rowkeeper.purge_runs;
