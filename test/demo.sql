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

\echo '## 8. Remove it again (the down migration).'
SELECT rowkeeper.disable_audit('users');
SELECT rowkeeper.disable_audit('posts');
SELECT rowkeeper.disable_updated_at_in_schema('public', 'updatedAt') AS disabled;
SELECT rowkeeper.disable_updated_at('tenants');
SELECT count(*) AS rowkeeper_triggers_left FROM rowkeeper.updated_at_tables;
