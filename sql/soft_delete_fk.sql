-- soft_delete_fk: foreign keys.  ON DELETE CASCADE children on soft-delete
-- tables are soft-deleted with their parent, with the parent's batch id,
-- and restore brings back exactly those; RESTRICT / NO ACTION keys block; a
-- hard delete never leaves orphans.  Runs as a superuser, who sees every
-- row (as an admin); rk_fk_app reads as the application does.
SET rowkeeper.actor = '';
CREATE ROLE rk_fk_app;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO rk_fk_app;
CREATE TABLE authors (id int PRIMARY KEY, name text);
CREATE TABLE posts (id int PRIMARY KEY, author_id bigint REFERENCES authors ON DELETE CASCADE, title text);
CREATE TABLE comments (id int PRIMARY KEY, post_id int REFERENCES posts ON DELETE CASCADE, body text,
                       reply_to int REFERENCES comments ON DELETE CASCADE);
INSERT INTO authors VALUES (1, 'Ann'), (2, 'Bob');
INSERT INTO posts VALUES (10, 1, 'p10'), (11, 1, 'p11'), (20, 2, 'p20');
INSERT INTO comments VALUES (100, 10, 'c100', NULL), (101, 10, 'c101', 100), (102, 10, 'c102', 101),
                            (110, 11, 'c110', NULL), (200, 20, 'c200', NULL);
SELECT rowkeeper.enable_soft_delete('comments');
SELECT rowkeeper.enable_soft_delete('posts');
SELECT rowkeeper.enable_soft_delete('authors');

-- a comment deleted on its own first (its own batch)
DELETE FROM comments WHERE id = 110;
\set QUIET off
DELETE FROM authors WHERE id = 1 RETURNING *;
\set QUIET on
-- the whole tree went, with one batch id; comment 110 keeps its own
SELECT 'post' AS kind, id, deleted_at IS NOT NULL AS deleted,
       deleted_batch = (SELECT deleted_batch FROM authors WHERE id = 1) AS same_batch
  FROM posts
UNION ALL
SELECT 'comment', id, deleted_at IS NOT NULL,
       deleted_batch = (SELECT deleted_batch FROM authors WHERE id = 1)
  FROM comments
 ORDER BY 1, 2;
SET ROLE rk_fk_app;
SELECT id FROM comments ORDER BY id;
RESET ROLE;

-- restore brings back what the deletion took, not comment 110
SELECT rowkeeper.restore('authors', '{"id": 1}');
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments ORDER BY id;
SET ROLE rk_fk_app;
SELECT id FROM posts ORDER BY id;
RESET ROLE;

-- a child cannot come back while its parent is deleted
DELETE FROM authors WHERE id = 2;
SELECT rowkeeper.restore('posts', '{"id": 20}');
SELECT rowkeeper.restore('authors', '{"id": 2}');
-- restoring a child alone restores its own cascade only
DELETE FROM posts WHERE id = 10;
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments WHERE post_id = 10 ORDER BY id;
SELECT rowkeeper.restore('posts', '{"id": 10}');
SET ROLE rk_fk_app;
SELECT count(*) AS live_comments_of_10 FROM comments WHERE post_id = 10;
RESET ROLE;

-- RESTRICT and NO ACTION keys block while live rows reference the row.
CREATE TABLE invoices (id int PRIMARY KEY, author_id int REFERENCES authors ON DELETE RESTRICT);
CREATE TABLE notes (id int PRIMARY KEY, author_id int REFERENCES authors);   -- NO ACTION
CREATE TABLE likes (id int PRIMARY KEY, author_id int REFERENCES authors ON DELETE SET NULL);
INSERT INTO invoices VALUES (1, 2);
INSERT INTO notes VALUES (1, 1);
INSERT INTO likes VALUES (1, 1);
\set QUIET off
DELETE FROM authors WHERE id = 2;
DELETE FROM authors WHERE id = 1;
\set QUIET on
-- nothing changed
SELECT id, deleted_at IS NOT NULL AS deleted FROM authors ORDER BY id;
SET ROLE rk_fk_app;
SELECT count(*) AS live_posts FROM posts;
RESET ROLE;
-- a soft-delete child with RESTRICT blocks only with live rows
SELECT rowkeeper.enable_soft_delete('invoices');
\set QUIET off
DELETE FROM authors WHERE id = 2;
DELETE FROM invoices WHERE id = 1;
DELETE FROM authors WHERE id = 2;
\set QUIET on
-- SET NULL leaves the child alone: the parent row still exists
DROP TABLE notes;
\set QUIET off
DELETE FROM authors WHERE id = 1;
\set QUIET on
SELECT * FROM likes;
SELECT rowkeeper.restore('authors', '[{"id": 1}, {"id": 2}]');

-- ORM-style: the application deletes the children itself, in their own
-- DELETE statements, then the parent, in one transaction (Django's
-- collector; the key is NO ACTION).  The batch is the transaction, so
-- restore brings them all back; a child deleted in another transaction
-- stays deleted.
CREATE TABLE drafts (id int PRIMARY KEY, author_id int REFERENCES authors);
INSERT INTO drafts VALUES (1, 1), (2, 1), (3, 1);
SELECT rowkeeper.enable_soft_delete('drafts');
DELETE FROM drafts WHERE id = 3;
\set QUIET off
BEGIN;
DELETE FROM drafts WHERE author_id = 1;
DELETE FROM authors WHERE id = 1;
COMMIT;
\set QUIET on
SELECT id, deleted_at IS NOT NULL AS deleted,
       deleted_batch = (SELECT deleted_batch FROM authors WHERE id = 1) AS authors_batch
  FROM drafts ORDER BY id;
SELECT rowkeeper.restore('authors', '{"id": 1}');
SELECT id, deleted_at IS NOT NULL AS deleted FROM drafts ORDER BY id;
SET ROLE rk_fk_app;
SELECT count(*) AS live_posts_of_1 FROM posts WHERE author_id = 1;
RESET ROLE;
DROP TABLE drafts;

-- a self-referencing cascade (replies) terminates and restores
DELETE FROM comments WHERE id = 100;
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments WHERE post_id = 10 ORDER BY id;
SELECT rowkeeper.restore('comments', '{"id": 100}');
SET ROLE rk_fk_app;
SELECT count(*) FROM comments WHERE post_id = 10;
RESET ROLE;

-- Hard delete never leaves orphans.
-- What goes wrong with the usual BEFORE DELETE trigger that returns NULL:
-- the foreign-key cascade's DELETE of the child is silently cancelled.
CREATE TABLE naive_parent (id int PRIMARY KEY);
CREATE TABLE naive_child (id int PRIMARY KEY, parent_id int REFERENCES naive_parent ON DELETE CASCADE,
                          deleted_at timestamptz);
CREATE FUNCTION naive_soft_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE naive_child SET deleted_at = now() WHERE id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER naive BEFORE DELETE ON naive_child FOR EACH ROW EXECUTE FUNCTION naive_soft_delete();
INSERT INTO naive_parent VALUES (1);
INSERT INTO naive_child VALUES (1, 1);
\set QUIET off
DELETE FROM naive_child WHERE id = 1;       -- reports 0 rows: what ORMs trip over
DELETE FROM naive_parent WHERE id = 1;
\set QUIET on
SELECT c.id, c.parent_id, EXISTS (SELECT FROM naive_parent p WHERE p.id = c.parent_id) AS parent_exists
  FROM naive_child c;                       -- an orphan that violates the key
DROP TABLE naive_child, naive_parent;
DROP FUNCTION naive_soft_delete();

-- rowkeeper: a plain table whose CASCADE key reaches a soft-delete table
-- cannot delete the parent (the guard raises, it does not skip)
CREATE TABLE folders (id int PRIMARY KEY);
CREATE TABLE files (id int PRIMARY KEY, folder_id int REFERENCES folders ON DELETE CASCADE);
INSERT INTO folders VALUES (1);
INSERT INTO files VALUES (1, 1);
SELECT rowkeeper.enable_soft_delete('files');
DELETE FROM folders WHERE id = 1;
SELECT count(*) AS files FROM files;
-- the parent is soft-deleted first, then hard-deleted: its cascade goes
-- through (children included), and nothing is left pointing nowhere
SELECT rowkeeper.enable_soft_delete('folders');
\set QUIET off
DELETE FROM folders WHERE id = 1;
\set QUIET on
SELECT rowkeeper.hard_delete('folders', '{"id": 1}');
SELECT count(*) AS folders FROM folders;
SELECT count(*) AS files FROM files;

-- hard-deleting an author takes the posts and comments with it
DELETE FROM authors WHERE id = 1;
DELETE FROM likes;
SELECT rowkeeper.hard_delete('authors', '{"id": 1}');
SELECT count(*) FROM posts WHERE author_id = 1;
SELECT count(*) FROM comments WHERE post_id IN (10, 11);

DROP TABLE files, folders, likes, invoices CASCADE;
DROP TABLE comments, posts, authors CASCADE;
ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM rk_fk_app;
DROP ROLE rk_fk_app;
