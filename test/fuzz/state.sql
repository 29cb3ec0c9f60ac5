-- test/fuzz/state.sql: snapshot of the fuzzed database, as a superuser
-- (bypasses RLS).  Usage: psql -v phase=before|after -f state.sql.
-- One row per table and tenant: row count and an md5 of the rows' text,
-- deleted rows included (a superuser bypasses the hiding policy), plus the newest audit
-- entry id.  Kept in public.fuzz_state, which rk_app cannot read.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS public.fuzz_state (phase text, tbl text, tenant text, n bigint, digest text);
REVOKE ALL ON public.fuzz_state FROM PUBLIC;
DELETE FROM public.fuzz_state WHERE phase = :'phase';
SELECT set_config('fuzz.phase', :'phase', false);
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS tbl,
                    'tenant_id' AS col
               FROM pg_class c WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'r'
    LOOP
        EXECUTE format($q$
            INSERT INTO public.fuzz_state
            SELECT %L, %L, CASE WHEN t.%I IN (1, 2) THEN t.%I::text ELSE 'other' END,
                   count(*), md5(string_agg(t::text, '|' ORDER BY t::text))
              FROM %s t GROUP BY 3$q$, current_setting('fuzz.phase'), r.tbl, r.col, r.col, r.tbl);
    END LOOP;
END $$ ;
