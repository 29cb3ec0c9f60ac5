-- orm_names: names as ORMs write them (Prisma, Sequelize, TypeORM:
-- "User", "createdAt").  Columns rowkeeper adds follow the table's
-- convention ("deletedBatch" next to "deletedAt"), or the name given; a
-- table name given unquoted that only matches case-insensitively is an
-- error whose hint names the quoted form.
CREATE TABLE "User" (id bigserial PRIMARY KEY, "tenantId" bigint NOT NULL, name text,
                     "createdAt" timestamp(3) NOT NULL DEFAULT now(),
                     "updatedAt" timestamp(3) NOT NULL DEFAULT now(),
                     "deletedAt" timestamp(3));
CREATE TABLE "Post" (id int PRIMARY KEY, "authorId" bigint, "removedOn" timestamptz);
CREATE TABLE snake_posts (id int PRIMARY KEY, author_id bigint, created_at timestamptz);
CREATE TABLE "Pascal" ("Id" int PRIMARY KEY, "CreatedAt" timestamptz);
CREATE SCHEMA "Billing";
CREATE TABLE "Billing"."Invoice" (id int PRIMARY KEY);
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
CREATE FUNCTION pg_temp.cols(t regclass) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(quote_ident(attname), ',' ORDER BY attnum)
      FROM pg_attribute WHERE attrelid = t AND attnum > 0 AND NOT attisdropped
$$;

-- the batch column in the deleted_at column's convention
SELECT rowkeeper.enable_soft_delete('"User"', 'deletedAt');
SELECT pg_temp.cols('"User"');
SELECT table_name, column_name, batch_column FROM rowkeeper.soft_delete_tables ORDER BY 1;
-- called again without batch_column: the configured one stays
SELECT rowkeeper.enable_soft_delete('"User"', 'deletedAt');
SELECT pg_temp.cols('"User"');
-- a one-word deleted_at column: the table's convention decides
SELECT rowkeeper.enable_soft_delete('"Post"', 'removed');
SELECT pg_temp.cols('"Post"');
SELECT rowkeeper.enable_soft_delete('snake_posts');
SELECT pg_temp.cols('snake_posts');
SELECT rowkeeper.enable_soft_delete('"Pascal"', 'DeletedAt');
SELECT pg_temp.cols('"Pascal"');
-- or the name given
SELECT rowkeeper.disable_soft_delete('"Post"');
ALTER TABLE "Post" DROP COLUMN removed, DROP COLUMN "deletedBatch";
SELECT rowkeeper.enable_soft_delete('"Post"', 'removedOn', batch_column => 'batch_no');
SELECT pg_temp.cols('"Post"');
-- soft delete works with those names
INSERT INTO "User" ("tenantId", name) VALUES (1, 'a'), (1, 'b');
DELETE FROM "User" WHERE name = 'a';
SELECT name, "deletedAt" IS NOT NULL AS deleted, "deletedBatch" IS NOT NULL AS batch
  FROM "User" ORDER BY name;

\x on
-- a camelCase table named unquoted: the hint names the quoted form
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('User')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('public.User', 'updatedAt')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_tenant_isolation('User', 'tenantId')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_soft_delete('User')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_audit('billing.invoice')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_soft_delete('billing.Invoice')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_updated_at('user', 'updatedAt')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_tenant_isolation('USER')$$);
-- no such table at all
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('nosuch')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('nosuch.nosuch')$$);
-- a column name only matching case-insensitively (as before)
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_updated_at('"User"', 'updatedat')$$);
\x off

-- the quoted form works, and so does a bind parameter of unknown type (as
-- drivers send it) and a regclass
SELECT rowkeeper.enable_audit('"User"');
PREPARE en(unknown) AS SELECT rowkeeper.enable_tenant_isolation($1, 'tenantId');
EXECUTE en('"User"');
SELECT rowkeeper.enable_updated_at('"User"'::regclass, 'updatedAt');
SELECT rowkeeper.enable_audit('"Billing"."Invoice"');
SELECT table_name FROM rowkeeper.audited_tables ORDER BY 1;
SELECT table_name, column_name FROM rowkeeper.tenant_isolated_tables;
-- and the text overloads take the same arguments as the regclass ones
SELECT p.oid::regprocedure
  FROM pg_proc p
 WHERE p.pronamespace = 'rowkeeper'::regnamespace
   AND p.proargtypes[0] = 'text'::regtype
   AND p.proname ~ '^(enable|disable)_(audit|updated_at|soft_delete|tenant_isolation)$'
   AND NOT EXISTS (SELECT FROM pg_proc q
                    WHERE q.pronamespace = p.pronamespace AND q.proname = p.proname
                      AND q.proargtypes[0] = 'regclass'::regtype
                      AND q.prorettype = p.prorettype
                      AND substr(pg_get_function_arguments(q.oid), length('tbl regclass') + 1)
                          = substr(pg_get_function_arguments(p.oid), length('tbl text') + 1));
SELECT count(*) AS text_overloads
  FROM pg_proc p
 WHERE p.pronamespace = 'rowkeeper'::regnamespace
   AND p.proargtypes[0] = 'text'::regtype
   AND p.proname ~ '^(enable|disable)_(audit|updated_at|soft_delete|tenant_isolation)$';

SELECT rowkeeper.disable_tenant_isolation('"User"');
SELECT rowkeeper.disable_audit('"User"');
SELECT rowkeeper.disable_audit('"Billing"."Invoice"');
SELECT rowkeeper.disable_updated_at('"User"', 'updatedAt');
SELECT rowkeeper.disable_soft_delete(t, force => true)
  FROM (VALUES ('"User"'), ('"Post"'), ('snake_posts'), ('"Pascal"')) v(t);
DROP TABLE "User", "Post", snake_posts, "Pascal";
DROP SCHEMA "Billing" CASCADE;
