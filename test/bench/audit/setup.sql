-- test/bench/audit/setup.sql: the schema of test/bench/audit.sh.
--
-- psql variables: rows (rows of each table), del_rows (rows of the DELETE
-- tables, enough that every DELETE of the run finds a row).
--
-- Per operation (ins, upd, del, bulk) and variant (none, plpgsql,
-- rowkeeper, statement) one identical table <op>_<variant>, loaded with the same rows,
-- and one sequence <op>_<variant>_seq that the INSERT and DELETE scripts
-- draw ids from.  Variant plpgsql gets the usual hand-written jsonb audit
-- trigger writing audit_plpgsql; variant rowkeeper gets
-- rowkeeper.enable_audit(); variant none gets nothing.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- (rowkeeper is already installed: audit.sh creates the extension first.)

-- The reference: the common PL/pgSQL audit trigger and its plain log table.
CREATE TABLE audit_plpgsql (
    id    bigserial PRIMARY KEY,
    ts    timestamptz DEFAULT now(),
    tbl   text,
    op    text,
    old   jsonb,
    new   jsonb,
    actor text DEFAULT current_setting('rowkeeper.actor', true)
);

CREATE FUNCTION audit_plpgsql_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_plpgsql (tbl, op, new)
        VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(NEW));
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO audit_plpgsql (tbl, op, old, new)
        VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(OLD), to_jsonb(NEW));
    ELSE
        INSERT INTO audit_plpgsql (tbl, op, old)
        VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, to_jsonb(OLD));
    END IF;
    RETURN NULL;
END;
$$;

-- The document of row n: about 200 bytes of jsonb (inlined SQL function).
CREATE FUNCTION bench_doc(n bigint) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'sku', 'SKU-' || lpad(n::text, 8, '0'),
        'name', 'item number ' || n,
        'tags', jsonb_build_array('alpha', 'beta', 'gamma'),
        'attrs', jsonb_build_object('color', 'blue', 'size', n % 100,
                                    'weight', 1.5, 'active', true))
$$;

CREATE TEMP TABLE bench_tables AS
SELECT op || '_' || v AS tbl, op, v,
       CASE op WHEN 'del' THEN :del_rows ELSE :rows END AS nrows
  FROM unnest(ARRAY['ins', 'upd', 'del', 'bulk']) WITH ORDINALITY AS o(op, i),
       unnest(ARRAY['none', 'plpgsql', 'rowkeeper', 'statement']) WITH ORDINALITY AS w(v, j)
 ORDER BY i, j;

-- Tables (no fillfactor or other tuning), loaded in id order.
SELECT format('CREATE TABLE %I (id int PRIMARY KEY, val int NOT NULL, '
              'doc jsonb NOT NULL, updated text NOT NULL)', tbl)
  FROM bench_tables \gexec
SELECT format('INSERT INTO %I SELECT g, g %% 1000, bench_doc(g), %L '
              'FROM generate_series(1, %s) g', tbl, 'seed ' || now(), nrows)
  FROM bench_tables \gexec

-- INSERT tables: new ids after the loaded ones.  DELETE tables: the
-- script maps k = 0, 1, 2, ... onto a permutation of 1..del_rows.
SELECT format('CREATE SEQUENCE %I START %s MINVALUE 0', tbl || '_seq',
              CASE op WHEN 'ins' THEN nrows + 1 ELSE 0 END)
  FROM bench_tables \gexec

SELECT format('CREATE TRIGGER audit_plpgsql AFTER INSERT OR UPDATE OR DELETE ON %I '
              'FOR EACH ROW EXECUTE FUNCTION audit_plpgsql_trigger()', tbl)
  FROM bench_tables WHERE v = 'plpgsql' \gexec
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tbl FROM bench_tables WHERE v = 'rowkeeper' LOOP
        PERFORM rowkeeper.enable_audit(t::regclass);
    END LOOP;
    FOR t IN SELECT tbl FROM bench_tables WHERE v = 'statement' LOOP
        PERFORM rowkeeper.enable_audit(t::regclass, mode => 'statement');
    END LOOP;
END
$$;

VACUUM ANALYZE;
CHECKPOINT;
