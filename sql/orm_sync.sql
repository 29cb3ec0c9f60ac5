-- orm_sync: ORM schema sync (Sequelize's sync({ alter: true })) sends
-- ALTER COLUMN ... TYPE for every column, with the type it has already.
-- PostgreSQL refuses that for a column that a policy or a trigger's WHEN
-- uses, as rowkeeper's tenant and soft-delete columns are.  On a rowkeeper
-- table such no-op subcommands are dropped; real type changes, and other
-- tables, are as before.
LOAD 'rowkeeper';   -- a migration session has rowkeeper preloaded
CREATE TABLE "Users" (id bigserial PRIMARY KEY, "tenantId" bigint NOT NULL, name varchar(255),
                      note text COLLATE "C", "updatedAt" timestamptz NOT NULL DEFAULT now(),
                      "deletedAt" timestamptz);
SELECT rowkeeper.enable_soft_delete('"Users"', 'deletedAt');
SELECT rowkeeper.enable_tenant_isolation('"Users"', 'tenantId');
SELECT rowkeeper.enable_updated_at('"Users"', 'updatedAt');
CREATE FUNCTION pg_temp.shape() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod)
                      || coalesce(' collate ' || (SELECT collname FROM pg_collation WHERE oid = attcollation
                                                    AND attcollation <> 100), ''), ', ' ORDER BY attnum)
      FROM pg_attribute WHERE attrelid = '"Users"'::regclass AND attnum > 0 AND NOT attisdropped
$$;
SELECT pg_temp.shape();

-- what Sequelize sends per column (one statement each, as the owner,
-- without a tenant): the type change is a no-op and is dropped
ALTER TABLE "Users" ALTER COLUMN "tenantId" SET NOT NULL;
ALTER TABLE "Users" ALTER COLUMN "tenantId" SET DEFAULT rowkeeper.current_tenant_bigint();
ALTER TABLE "Users" ALTER COLUMN "tenantId" TYPE BIGINT;
ALTER TABLE "Users" ALTER COLUMN "deletedAt" DROP NOT NULL;
ALTER TABLE "Users" ALTER COLUMN "deletedAt" DROP DEFAULT;
ALTER TABLE "Users" ALTER COLUMN "deletedAt" TYPE TIMESTAMP WITH TIME ZONE;
ALTER TABLE "Users" ALTER COLUMN name TYPE VARCHAR(255), ALTER COLUMN note TYPE text COLLATE "C";
-- mixed with a real change: the no-op part goes, the rest runs
ALTER TABLE "Users" ALTER COLUMN "tenantId" TYPE int8, ALTER COLUMN name TYPE varchar(300);
SELECT pg_temp.shape();
SELECT table_name, column_name FROM rowkeeper.tenant_isolated_tables;
SELECT table_name, column_name FROM rowkeeper.soft_delete_tables;

-- real type changes of those columns are still refused by PostgreSQL
\set VERBOSITY terse
ALTER TABLE "Users" ALTER COLUMN "tenantId" TYPE int;
ALTER TABLE "Users" ALTER COLUMN "deletedAt" TYPE timestamp;
ALTER TABLE "Users" ALTER COLUMN "tenantId" TYPE bigint USING "tenantId" + 0;
-- a different collation is a change too
ALTER TABLE "Users" ALTER COLUMN note TYPE text;
SELECT pg_temp.shape();

-- a table without rowkeeper: PostgreSQL's behaviour, unchanged
CREATE TABLE plain (id int PRIMARY KEY, v int);
CREATE VIEW plain_v AS SELECT v FROM plain;
ALTER TABLE plain ALTER COLUMN v TYPE int;
\set VERBOSITY default

SELECT rowkeeper.disable_updated_at('"Users"', 'updatedAt');
SELECT rowkeeper.disable_tenant_isolation('"Users"');
SELECT rowkeeper.disable_soft_delete('"Users"', force => true);
DROP VIEW plain_v;
DROP TABLE plain, "Users";
