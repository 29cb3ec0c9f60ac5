
-- src/sql/55_table_names.sql -- Copyright (c) 2026, rowkeeper developers
-- Table names given as text (src/table_names.c).
--
-- Every enable_* / disable_* function that takes a table as regclass has a
-- text overload, which PostgreSQL picks for a string literal or an untyped
-- parameter: it resolves the name as regclass does and calls the regclass
-- function with the same arguments.  The difference is the error: a name
-- that only matches a table case-insensitively ('Users' for "Users") says
-- so and names the quoted form ('"Users"') in its hint, instead of a bare
-- `relation "users" does not exist` from the literal's conversion.
-- Same parameter names and defaults as the regclass functions.

CREATE OR REPLACE FUNCTION rowkeeper.enable_audit(tbl text,
                                       exclude_columns text[] DEFAULT '{}',
                                       redact_columns text[] DEFAULT '{}',
                                       skip_noop boolean DEFAULT true,
                                       require_actor boolean DEFAULT false,
                                       replicated boolean DEFAULT false,
                                       mode text DEFAULT 'row')
RETURNS void
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'rowkeeper_by_table_name';

COMMENT ON FUNCTION rowkeeper.enable_audit(text, text[], text[], boolean, boolean, boolean, text) IS
'enable_audit() with the table named by text (''users'', ''"Users"'', ''app.users''); a name that matches only case-insensitively is an error whose hint names the quoted form.';

CREATE OR REPLACE FUNCTION rowkeeper.disable_audit(tbl text)
RETURNS void
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'rowkeeper_by_table_name';

COMMENT ON FUNCTION rowkeeper.disable_audit(text) IS
'disable_audit() with the table named by text; a name that matches only case-insensitively is an error whose hint names the quoted form.';

CREATE OR REPLACE FUNCTION rowkeeper.enable_updated_at(tbl text,
                                            column_name name DEFAULT 'updated_at',
                                            keep_explicit boolean DEFAULT false,
                                            skip_noop boolean DEFAULT true,
                                            on_insert boolean DEFAULT true,
                                            clock text DEFAULT 'transaction',
                                            time_zone text DEFAULT 'utc',
                                            skip_stamp_only boolean DEFAULT true)
RETURNS void
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'rowkeeper_by_table_name';

COMMENT ON FUNCTION rowkeeper.enable_updated_at(text, name, boolean, boolean, boolean, text, text, boolean) IS
'enable_updated_at() with the table named by text; a name that matches only case-insensitively is an error whose hint names the quoted form.';

CREATE OR REPLACE FUNCTION rowkeeper.disable_updated_at(tbl text, column_name name DEFAULT 'updated_at')
RETURNS void
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'rowkeeper_by_table_name';

COMMENT ON FUNCTION rowkeeper.disable_updated_at(text, name) IS
'disable_updated_at() with the table named by text; a name that matches only case-insensitively is an error whose hint names the quoted form.';

CREATE OR REPLACE FUNCTION rowkeeper.enable_soft_delete(tbl text,
                                             column_name name DEFAULT 'deleted_at',
                                             deleted_by_column name DEFAULT NULL,
                                             batch_column name DEFAULT NULL,
                                             time_zone text DEFAULT 'utc')
RETURNS regclass
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'rowkeeper_by_table_name';

COMMENT ON FUNCTION rowkeeper.enable_soft_delete(text, name, name, name, text) IS
'enable_soft_delete() with the table named by text; a name that matches only case-insensitively is an error whose hint names the quoted form.';

CREATE OR REPLACE FUNCTION rowkeeper.disable_soft_delete(tbl text, force boolean DEFAULT false)
RETURNS regclass
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'rowkeeper_by_table_name';

COMMENT ON FUNCTION rowkeeper.disable_soft_delete(text, boolean) IS
'disable_soft_delete() with the table named by text; a name that matches only case-insensitively is an error whose hint names the quoted form.';

CREATE OR REPLACE FUNCTION rowkeeper.enable_tenant_isolation(tbl text,
                                                  column_name name DEFAULT 'tenant_id',
                                                  create_index boolean DEFAULT true,
                                                  grant_access boolean DEFAULT true)
RETURNS void
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'rowkeeper_by_table_name';

COMMENT ON FUNCTION rowkeeper.enable_tenant_isolation(text, name, boolean, boolean) IS
'enable_tenant_isolation() with the table named by text; a name that matches only case-insensitively is an error whose hint names the quoted form.';

CREATE OR REPLACE FUNCTION rowkeeper.disable_tenant_isolation(tbl text)
RETURNS void
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'rowkeeper_by_table_name';

COMMENT ON FUNCTION rowkeeper.disable_tenant_isolation(text) IS
'disable_tenant_isolation() with the table named by text; a name that matches only case-insensitively is an error whose hint names the quoted form.';

-- Column names rowkeeper adds follow the table's convention: deleted_batch
-- next to deleted_at, "deletedBatch" next to "deletedAt" (Prisma,
-- Sequelize, TypeORM), "DeletedBatch" next to "DeletedAt".
CREATE OR REPLACE FUNCTION rowkeeper._name_style(n text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN n ~ '^[a-z][a-z0-9]*([A-Z][a-z0-9]*)+$' THEN 'camel'
                WHEN n ~ '^[A-Z][a-z0-9]*([A-Z][a-z0-9]*)+$' THEN 'pascal'
                WHEN n ~ '^[a-z][a-z0-9]*(_[a-z0-9]+)+$' THEN 'snake' END
$$;

COMMENT ON FUNCTION rowkeeper._name_style(text) IS
'Internal: the naming convention of a multi-word name (camel, pascal or snake), NULL for one word or anything else.';

CREATE OR REPLACE FUNCTION rowkeeper._table_name_style(tbl regclass)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT s.style
                       FROM (SELECT rowkeeper._name_style(a.attname) AS style
                               FROM pg_catalog.pg_attribute a
                              WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped) s
                      WHERE s.style IS NOT NULL
                      GROUP BY s.style
                      ORDER BY count(*) DESC, s.style = 'snake' DESC, s.style
                      LIMIT 1), 'snake')
$$;

COMMENT ON FUNCTION rowkeeper._table_name_style(regclass) IS
'Internal: the naming convention most of a table''s multi-word column names follow (camel, pascal or snake; snake when none).';

CREATE OR REPLACE FUNCTION rowkeeper._name_in_style(snake text, style text)
RETURNS name
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE style
           WHEN 'camel' THEN lower(left(p, 1)) || substr(p, 2)
           WHEN 'pascal' THEN p
           ELSE snake END::name
      FROM (SELECT replace(initcap(replace(snake, '_', ' ')), ' ', '') AS p) x
$$;

COMMENT ON FUNCTION rowkeeper._name_in_style(text, text) IS
'Internal: a snake_case name written in a naming convention (deleted_batch -> deletedBatch, DeletedBatch).';
