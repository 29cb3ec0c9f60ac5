-- audit_keys: keys as ORMs send them (migrations item 3).  node-postgres,
-- knex, Sequelize and TypeORM hand bigint ids to applications as strings;
-- '{"id": "1"}', '{"id": 1}' and the column's text form find the same rows
-- in every function that takes a key, and a key that is not the table's key
-- is a clear error, never an empty answer.
SET TimeZone = 'UTC';
CREATE TABLE users (id bigint PRIMARY KEY, name text);
CREATE TABLE grants (org uuid, role text, level int NOT NULL,
                     PRIMARY KEY (org, role));
SELECT rowkeeper.enable_audit('users');
SELECT rowkeeper.enable_audit('grants');
INSERT INTO users VALUES (1, 'ann'), (9007199254740993, 'big');
INSERT INTO grants VALUES ('6f1c1a8e-8a0b-4b8e-9f55-1b2f3c4d5e6f', 'admin', 1);
SELECT clock_timestamp() AS t0 \gset
UPDATE users SET name = 'anne' WHERE id = 1;
UPDATE grants SET level = 2;
SELECT clock_timestamp() AS t1 \gset

-- row_history: the same entries whichever way the key is written
SELECT k, (SELECT count(*) FROM rowkeeper.row_history('users', k::jsonb)) AS entries
  FROM unnest(ARRAY['{"id": 1}', '{"id": "1"}', '{"id": 1.0}', '{"id": " 1 "}',
                    '{"id": "9007199254740993"}', '{"id": 9007199254740993}']) k;
SELECT k, (SELECT count(*) FROM rowkeeper.row_history('grants', k::jsonb)) AS entries
  FROM unnest(ARRAY['{"org": "6f1c1a8e-8a0b-4b8e-9f55-1b2f3c4d5e6f", "role": "admin"}',
                    '{"role": "admin", "org": "6F1C1A8E8A0B4B8E9F551B2F3C4D5E6F"}']) k;
-- row_as_of, diff, restore_row
SELECT rowkeeper.row_as_of('users', '{"id": "1"}', :'t0') AS as_of_string_key;
SELECT * FROM rowkeeper.diff('users', '{"id": "1"}', :'t0', :'t1');
SELECT rowkeeper.restore_row('users', '{"id": "1"}', :'t0');
SELECT * FROM users WHERE id = 1;
SELECT rowkeeper.normalize_key('users', '{"id": "1"}') AS as_logged,
       rowkeeper.normalize_key('grants', '{"role": "admin", "org": "6F1C1A8E8A0B4B8E9F551B2F3C4D5E6F"}') AS composite;

-- not the table's key: an error that says what the key is
\set VERBOSITY default
SELECT count(*) FROM rowkeeper.row_history('users', '{"id": 1, "name": "ann"}');
SELECT count(*) FROM rowkeeper.row_history('grants', '{"org": "6f1c1a8e-8a0b-4b8e-9f55-1b2f3c4d5e6f"}');
SELECT count(*) FROM rowkeeper.row_history('users', '{"name": "ann"}');
SELECT rowkeeper.row_as_of('users', '{"id": "one"}', now());
SELECT rowkeeper.row_as_of('users', '{"id": 1.5}', now());
SELECT rowkeeper.restore_row('users', '{"id": null}', now());
SELECT count(*) FROM rowkeeper.row_history('users', '[1]');
SELECT count(*) FROM rowkeeper.row_history('users', '{"id": {"x": 1}}');
\set VERBOSITY terse

SELECT rowkeeper.disable_audit('users');
SELECT rowkeeper.disable_audit('grants');
DROP TABLE users, grants;
