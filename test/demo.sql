-- rowkeeper demo: a small multi-tenant SaaS schema.
\pset footer off
\echo
\echo '## 1. Install: one extension, one schema (rowkeeper).'
CREATE EXTENSION rowkeeper;
SELECT extname, extversion FROM pg_extension WHERE extname = 'rowkeeper';

\echo '## 2. The schema an ORM would create (note Prisma''s "updatedAt" timestamp(3)).'
CREATE TABLE tenants (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants,
    email       text NOT NULL,
    "createdAt" timestamp(3) NOT NULL DEFAULT now(),
    "updatedAt" timestamp(3) NOT NULL
);
CREATE TABLE posts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants,
    author_id   bigint NOT NULL REFERENCES users,
    title       text NOT NULL,
    body        text,
    "updatedAt" timestamp(3) NOT NULL
);

\echo '## 3. updated_at: one call per table, or per schema for a whole ORM schema.'
SELECT rowkeeper.enable_updated_at('tenants');
SELECT rowkeeper.enable_updated_at_in_schema('public', 'updatedAt') AS enabled;
SELECT table_name, column_name, clock, keep_explicit, skip_noop, on_insert
  FROM rowkeeper.updated_at_tables ORDER BY table_name::text;

\echo '## 4. Inserts: "updatedAt" is NOT NULL without a default, the trigger fills it.'
INSERT INTO tenants (name) VALUES ('acme'), ('globex');
INSERT INTO users (tenant_id, email) VALUES (1, 'ann@acme.test'), (2, 'gil@globex.test');
INSERT INTO posts (tenant_id, author_id, title) VALUES (1, 1, 'Hello'), (1, 1, 'Roadmap'), (2, 2, 'Hi');
UPDATE posts SET "updatedAt" = '2020-01-01' ;  -- pretend they are old (explicit: replaced!)
SELECT id, title, "updatedAt" > now() - interval '1 minute' AS just_now FROM posts ORDER BY id;
\echo '   (keep_explicit => false is the default: an explicit value is replaced by the clock)'
SELECT rowkeeper.enable_updated_at('posts', 'updatedAt', keep_explicit => true);
UPDATE posts SET "updatedAt" = '2020-01-01';
SELECT id, title, "updatedAt" FROM posts ORDER BY id;

\echo '## 5. A request edits a post: set the context for the transaction, then write.'
BEGIN;
SELECT rowkeeper.set_context(actor => 'ann@acme.test', tenant => '1', request_id => 'req-7f3a');
UPDATE posts SET body = 'Shipping in May' WHERE id = 2;
SELECT current_setting('rowkeeper.actor') AS actor, current_setting('rowkeeper.tenant') AS tenant,
       current_setting('rowkeeper.request_id') AS request_id;
COMMIT;
SELECT id, title, "updatedAt" > '2020-01-01' AS stamped FROM posts ORDER BY id;
\echo '   (context is transaction-local: after COMMIT it is empty again, safe behind pgbouncer)'
SELECT rowkeeper.current_actor() IS NULL AS actor_cleared;

\echo '## 6. A no-op UPDATE (ORMs love those) does not move "updatedAt".'
UPDATE posts SET title = title WHERE id = 1;
SELECT id, "updatedAt" FROM posts WHERE id = 1;

\echo '## 7. Audit trail: who changed what, when and how.'
SELECT rowkeeper.enable_audit('users', redact_columns => '{email}');
SELECT rowkeeper.enable_audit('posts');
SELECT table_name, exclude_columns, redact_columns, skip_noop FROM rowkeeper.audited_tables ORDER BY table_name::text;
BEGIN;
SELECT rowkeeper.set_context(actor => 'ann@acme.test', tenant => '1', request_id => 'req-8c1d');
INSERT INTO posts (tenant_id, author_id, title, body) VALUES (1, 1, 'Pricing', 'Draft');
UPDATE posts SET title = 'Pricing 2027', body = 'Final' WHERE title = 'Pricing';
UPDATE users SET email = 'ann@acme.example' WHERE id = 1;
COMMIT;
BEGIN;
SELECT rowkeeper.set_context(actor => 'support@globex.test', tenant => '2', request_id => 'req-91aa');
DELETE FROM posts WHERE id = 3;
COMMIT;
\echo '   (UPDATE stores only the changed columns; the redacted e-mail is logged as changed, without its value)'
SELECT id, table_name, op, row_key, old_row, new_row, actor, tenant, request_id
  FROM rowkeeper.audit_log ORDER BY id;
SELECT table_name, entries, row_trigger FROM rowkeeper.audit_status();

\echo '## 8. History and undo: the story of post 4; post 3 back from its deletion.'
SELECT op, actor, row_data->>'title' AS title, row_data->>'body' AS body
  FROM rowkeeper.row_history('posts', '{"id": 4}') ORDER BY audit_id;
SELECT id AS undo_id FROM rowkeeper.audit_log WHERE table_name = 'posts' AND op = 'DELETE' \gset
SELECT rowkeeper.undo(:undo_id);
SELECT id, title FROM posts ORDER BY id;
\echo '   (the undo is itself audited)'
SELECT op, row_key, actor FROM rowkeeper.audit_log ORDER BY id DESC LIMIT 1;

\echo '## 9. Tamper evidence: seal the log into a SHA-256 chain, verify it.'
SELECT batch, entries FROM rowkeeper.seal_audit_log();
SELECT verified, problem, unsealed FROM rowkeeper.verify_audit_chain();

\echo '## 10. Soft delete: DELETE marks the row, reports DELETE 1, RETURNING works.'
CREATE TABLE comments (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id   bigint NOT NULL REFERENCES posts,
    body      text NOT NULL
);
INSERT INTO comments (post_id, body) VALUES (1, 'First!'), (1, 'Nice post'), (2, 'When?');
SELECT rowkeeper.enable_soft_delete('comments');
\set QUIET off
DELETE FROM comments WHERE id = 1 RETURNING id, body;
\set QUIET on
SELECT id, body FROM comments ORDER BY id;
SELECT id, deleted_at IS NOT NULL AS soft_deleted FROM comments ORDER BY id;
SELECT rowkeeper.restore('comments', '{"id": 1}');
SELECT count(*) AS visible_again FROM comments;

\echo '## 11. Tenant isolation: forced row-level security on tenant_id, fail closed.'
CREATE ROLE demo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON posts TO demo_app;
SELECT rowkeeper.enable_tenant_isolation('posts');
SET ROLE demo_app;
\set ON_ERROR_STOP 0
SELECT count(*) FROM posts;            -- no tenant set: an error, never all rows
\set ON_ERROR_STOP 1
BEGIN;
SELECT rowkeeper.set_context(tenant => '1');
SELECT id, tenant_id, title FROM posts ORDER BY id;
COMMIT;
RESET ROLE;

\echo '## 12. Purge jobs: expired sessions in batches, recorded in purge_runs.'
CREATE TABLE sessions (id bigint PRIMARY KEY, expires_at timestamptz NOT NULL);
CREATE INDEX ON sessions (expires_at);
INSERT INTO sessions SELECT g, now() + (g - 900) * interval '1 minute' FROM generate_series(1, 1000) g;
CALL rowkeeper.purge_expired('sessions', 'expires_at', batch_size => 250);
SELECT kind, target, batches, rows_deleted, outcome FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1;
SELECT count(*) AS sessions_left FROM sessions;

\echo '## 13. Remove it again (the down migration).'
SELECT rowkeeper.disable_tenant_isolation('posts');
DROP OWNED BY demo_app;
DROP ROLE demo_app;
SELECT rowkeeper.disable_soft_delete('comments', force => true);
SELECT rowkeeper.disable_audit('users');
SELECT rowkeeper.disable_audit('posts');
SELECT rowkeeper.disable_updated_at_in_schema('public', 'updatedAt') AS disabled;
SELECT rowkeeper.disable_updated_at('tenants');
SELECT count(*) AS rowkeeper_triggers_left FROM rowkeeper.updated_at_tables;
