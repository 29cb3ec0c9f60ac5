
-- src/sql/05_common.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Internal helpers (names start with an underscore; not part of the API)
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION rowkeeper._trigger_args(tgargs bytea)
RETURNS text[]
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', '_trigger_args';

COMMENT ON FUNCTION rowkeeper._trigger_args(bytea) IS
'Internal: split pg_trigger.tgargs into its arguments.';

/* Trigger arguments as the quoted, comma-separated list CREATE TRIGGER takes. */
CREATE OR REPLACE FUNCTION rowkeeper._quote_args(args text[])
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.string_agg(pg_catalog.quote_literal(a), ', ' ORDER BY i)
      FROM pg_catalog.unnest(args) WITH ORDINALITY AS u(a, i)
$$;

COMMENT ON FUNCTION rowkeeper._quote_args(text[]) IS
'Internal: trigger arguments quoted for CREATE TRIGGER.';

/*
 * Check that tbl is something a rowkeeper capability can be put on, and
 * that the caller owns it.  "caller" names the public function, for the
 * messages.  Raises; returns nothing.
 */
CREATE OR REPLACE FUNCTION rowkeeper._require_owned_table(tbl regclass, caller text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel record;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the table must not be NULL', caller);
    END IF;

    SELECT c.relkind, c.relowner INTO rel
      FROM pg_catalog.pg_class c
     WHERE c.oid = tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_table',
            MESSAGE = format('relation with OID %s does not exist', tbl::oid);
    END IF;

    IF rel.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'wrong_object_type',
            MESSAGE = format('%s is not a table', tbl),
            DETAIL = format('%s is %s; %s works on ordinary and partitioned tables only.',
                            tbl,
                            CASE rel.relkind
                                WHEN 'v' THEN 'a view'
                                WHEN 'm' THEN 'a materialized view'
                                WHEN 'S' THEN 'a sequence'
                                WHEN 'f' THEN 'a foreign table'
                                WHEN 'i' THEN 'an index'
                                WHEN 'I' THEN 'a partitioned index'
                                WHEN 'c' THEN 'a composite type'
                                WHEN 't' THEN 'a TOAST table'
                                ELSE 'a relation of kind ' || rel.relkind::text
                            END,
                            caller),
            HINT = 'Call it on the underlying table.';
    END IF;

    IF NOT pg_catalog.pg_has_role(rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'insufficient_privilege',
            MESSAGE = format('must be owner of table %s', tbl),
            DETAIL = format('%s changes the table''s triggers, which only its owner may do.', caller),
            HINT = format('Run it as %I (the owner) or a member of that role, as schema migrations do.',
                          pg_catalog.pg_get_userbyid(rel.relowner));
    END IF;
END;
$$;

COMMENT ON FUNCTION rowkeeper._require_owned_table(regclass, text) IS
'Internal: raise unless tbl is an ordinary or partitioned table owned by the current user.';

/*
 * The attribute named exactly column_name (no case folding: "updatedAt"
 * stays camelCase), or a clear error that suggests the right spelling.
 */
CREATE OR REPLACE FUNCTION rowkeeper._require_column(tbl regclass, column_name name, caller text)
RETURNS pg_catalog.pg_attribute
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att pg_catalog.pg_attribute;
    near name;
BEGIN
    IF column_name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: the column name must not be NULL', caller);
    END IF;

    SELECT a.* INTO att
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attname = column_name
       AND a.attnum > 0 AND NOT a.attisdropped;
    IF FOUND THEN
        RETURN att;
    END IF;

    SELECT a.attname INTO near
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND lower(a.attname) = lower(column_name)
       AND a.attnum > 0 AND NOT a.attisdropped
     LIMIT 1;
    IF near IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_column',
            MESSAGE = format('column %I of table %s does not exist', column_name, tbl),
            DETAIL = format('Column names are matched exactly; the table has a column %I.', near),
            HINT = format('Use %L, with that exact case.', near);
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'undefined_column',
        MESSAGE = format('column %I of table %s does not exist', column_name, tbl),
        HINT = 'Add the column first, or pass the name of an existing column.';
END;
$$;

COMMENT ON FUNCTION rowkeeper._require_column(regclass, name, text) IS
'Internal: the pg_attribute row of a column, matched case-exactly, or an error.';

------------------------------------------------------------------------------
-- Helpers shared by the capabilities (audit, audit queries, soft delete,
-- purge): defined first so every file can use them.
------------------------------------------------------------------------------

/*
 * The equality operator (btree strategy 3) of a btree operator class, as
 * "OPERATOR(schema.=)" text, so that generated SQL means the same under any
 * search_path it runs with.
 */
CREATE OR REPLACE FUNCTION rowkeeper._opclass_eq_operator(opclass oid)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('OPERATOR(%I.%s)', n.nspname, o.oprname)
      FROM pg_catalog.pg_opclass oc
      JOIN pg_catalog.pg_amop ao ON ao.amopfamily = oc.opcfamily
                                AND ao.amoplefttype = oc.opcintype
                                AND ao.amoprighttype = oc.opcintype
                                AND ao.amopstrategy = 3
      JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr
      JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
     WHERE oc.oid = opclass
$$;

COMMENT ON FUNCTION rowkeeper._opclass_eq_operator(oid) IS
'Internal: the schema-qualified equality operator of a btree operator class, for generated SQL.';

/*
 * The row key of a table (primary key, else replica identity index): its
 * columns, their types and the btree equality operator of each, as
 * "OPERATOR(schema.=)" text usable in generated SQL.
 */
CREATE OR REPLACE FUNCTION rowkeeper._row_key(tbl regclass,
    OUT columns name[], OUT types regtype[], OUT operators text[])
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord),
           pg_catalog.array_agg(a.atttypid::pg_catalog.regtype ORDER BY k.ord),
           pg_catalog.array_agg(rowkeeper._opclass_eq_operator(k.opclass) ORDER BY k.ord)
      FROM (SELECT i.indkey, i.indclass FROM pg_catalog.pg_index i
             WHERE i.indrelid = tbl AND (i.indisprimary OR i.indisreplident)
             ORDER BY i.indisprimary DESC LIMIT 1) i
     CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(i.indkey::int2[]), pg_catalog.unnest(i.indclass::oid[]))
                        WITH ORDINALITY AS k(attnum, opclass, ord)
      JOIN pg_catalog.pg_attribute a ON a.attrelid = tbl AND a.attnum = k.attnum
    HAVING pg_catalog.count(*) > 0
$$;

COMMENT ON FUNCTION rowkeeper._row_key(regclass) IS
'Internal: the key columns of a table (primary key, else replica identity), their types and equality operators.';

/*
 * "l.k1 = r.k1 AND l.k2 = r.k2 ...": two aliases of tbl joined on its row
 * key, each "=" named with its schema (OPERATOR(pg_catalog.=)), so that the
 * text means the same under any search_path it is run with.
 */
CREATE OR REPLACE FUNCTION rowkeeper._key_join(tbl regclass, l text, r text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I %s %I.%I', l, k.c, k.op, r, k.c), ' AND ' ORDER BY k.i)
      FROM rowkeeper._row_key(tbl) rk
     CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(rk.columns), pg_catalog.unnest(rk.operators))
           WITH ORDINALITY AS k(c, op, i)
$$;

COMMENT ON FUNCTION rowkeeper._key_join(regclass, text, text) IS
'Internal: the condition joining two aliases of a table on its row key, for generated SQL.';

/*
 * The equality operator of a column, as "OPERATOR(schema.=)" text for
 * generated SQL: the one of the default btree operator class of its type
 * (so citext compares as citext, an enum as an enum), else pg_catalog's.
 * Generated statements that run under the caller's search_path (purge
 * runs the table's triggers with it) must never leave "=" to that path.
 */
CREATE OR REPLACE FUNCTION rowkeeper._eq_operator(tbl regclass, column_name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT rowkeeper._opclass_eq_operator(oc.oid)
           FROM pg_catalog.pg_attribute a
           JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
           JOIN pg_catalog.pg_opclass oc
                ON oc.opcdefault
               AND oc.opcmethod = (SELECT m.oid FROM pg_catalog.pg_am m WHERE m.amname = 'btree')
               AND oc.opcintype = CASE WHEN t.typtype = 'd' THEN t.typbasetype
                                       WHEN t.typtype = 'e' THEN 'pg_catalog.anyenum'::pg_catalog.regtype
                                       WHEN t.typcategory = 'A' THEN 'pg_catalog.anyarray'::pg_catalog.regtype
                                       ELSE a.atttypid END
          WHERE a.attrelid = tbl AND a.attname = column_name
            AND a.attnum > 0 AND NOT a.attisdropped
          LIMIT 1),
        'OPERATOR(pg_catalog.=)')
$$;

COMMENT ON FUNCTION rowkeeper._eq_operator(regclass, text) IS
'Internal: the schema-qualified equality operator of a column''s type, for generated SQL.';

/*
 * Rows whose column is not NULL, counted regardless of row-level security
 * (C, src/catalog_util.c): for safety checks that must see every tenant's
 * rows, e.g. disable_soft_delete() refusing while soft-deleted rows exist.
 * Owner only; reads the table directly, so no policy or trigger runs.
 */
CREATE OR REPLACE FUNCTION rowkeeper._count_not_null(tbl regclass, column_name name)
RETURNS bigint
LANGUAGE c STRICT VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', '_count_not_null';

COMMENT ON FUNCTION rowkeeper._count_not_null(regclass, name) IS
'Internal: rows of a table (partitions and children included) whose column is not NULL, regardless of row-level security, for safety checks. Table owner only.';
