-- hardening_install: CREATE EXTENSION and ALTER EXTENSION UPDATE run no
-- attacker code, and adopt no object someone else created first.
--
-- In a database of its own, a role that is not a superuser but may CREATE
-- in schema public and in a schema of its own (put on the installer's
-- search_path) plants look-alikes of what the scripts use: functions
-- (now(), format(), quote_ident(), current_setting(), to_jsonb(),
-- jsonb_build_object(), ...), operators (= on text, int, oid, regclass,
-- name, jsonb; ||; <>; &), a type (a domain named text whose CHECK runs
-- code) and a cast.  Every planted object records in trap.ran that it ran.
-- A positive control shows that the trap fires when the path really is
-- hostile; then the installs leave trap.ran empty.
--
-- Why they cannot run: CREATE EXTENSION and ALTER EXTENSION UPDATE run the
-- scripts with search_path = <extension schema>, pg_temp, and rowkeeper's
-- control file says schema = pg_catalog, so the scripts resolve names in
-- pg_catalog then pg_temp only, whatever the session had; every function
-- body pins search_path (checked in install.sql and hardening_calls.sql).
SELECT current_database() AS orig_db \gset
CREATE DATABASE rk_hostile;
\c rk_hostile
SET client_min_messages = warning;

CREATE ROLE rk_planter;
GRANT CREATE ON SCHEMA public TO rk_planter;
CREATE SCHEMA trap;
CREATE TABLE trap.ran (what text);
GRANT USAGE ON SCHEMA trap TO PUBLIC;
GRANT INSERT ON trap.ran TO PUBLIC;
CREATE SCHEMA evil AUTHORIZATION rk_planter;
GRANT USAGE ON SCHEMA evil TO PUBLIC;

SET ROLE rk_planter;
-- plant(what): the body of every planted object; records and returns true.
CREATE FUNCTION evil.plant(what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trap.ran VALUES (what);
    RETURN true;
END;
$$;
-- Planted functions, in evil (first on the path) and in public.
DO $do$
DECLARE
    s text;
    f text;
BEGIN
    FOREACH s IN ARRAY ARRAY['evil', 'public'] LOOP
        FOREACH f IN ARRAY ARRAY[
            'now() RETURNS timestamptz AS $$ SELECT CASE WHEN evil.plant(''%1$s.now'') THEN pg_catalog.now() END $$',
            'clock_timestamp() RETURNS timestamptz AS $$ SELECT CASE WHEN evil.plant(''%1$s.clock_timestamp'') THEN pg_catalog.now() END $$',
            'format(text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.format'') THEN $1 END $$',
            'format(text, text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.format'') THEN $1 END $$',
            'format(text, text, text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.format'') THEN $1 END $$',
            'format(text, regclass) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.format'') THEN $1 END $$',
            'quote_ident(text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.quote_ident'') THEN $1 END $$',
            'quote_literal(text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.quote_literal'') THEN $1 END $$',
            'current_setting(text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.current_setting'') THEN '''' END $$',
            'current_setting(text, boolean) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.current_setting'') THEN '''' END $$',
            'set_config(text, text, boolean) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.set_config'') THEN $2 END $$',
            'to_jsonb(text) RETURNS jsonb AS $$ SELECT CASE WHEN evil.plant(''%1$s.to_jsonb'') THEN ''{}''::pg_catalog.jsonb END $$',
            'jsonb_build_object(text, text) RETURNS jsonb AS $$ SELECT CASE WHEN evil.plant(''%1$s.jsonb_build_object'') THEN ''{}''::pg_catalog.jsonb END $$',
            'md5(text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.md5'') THEN $1 END $$',
            'lower(text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.lower'') THEN $1 END $$',
            'upper(text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.upper'') THEN $1 END $$',
            'substr(text, integer) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.substr'') THEN $1 END $$',
            'substr(text, integer, integer) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.substr'') THEN $1 END $$',
            'octet_length(text) RETURNS integer AS $$ SELECT CASE WHEN evil.plant(''%1$s.octet_length'') THEN 1 END $$',
            'pg_get_userbyid(oid) RETURNS name AS $$ SELECT CASE WHEN evil.plant(''%1$s.pg_get_userbyid'') THEN ''x''::name END $$',
            'nextval(regclass) RETURNS bigint AS $$ SELECT CASE WHEN evil.plant(''%1$s.nextval'') THEN 1::bigint END $$',
            'pg_extension_config_dump(regclass, text) RETURNS void AS $$ SELECT CASE WHEN evil.plant(''%1$s.pg_extension_config_dump'') THEN NULL END $$',
            'pg_has_role(oid, text) RETURNS boolean AS $$ SELECT evil.plant(''%1$s.pg_has_role'') $$',
            'to_regclass(text) RETURNS regclass AS $$ SELECT CASE WHEN evil.plant(''%1$s.to_regclass'') THEN NULL::regclass END $$',
            'date_trunc(text, timestamptz) RETURNS timestamptz AS $$ SELECT CASE WHEN evil.plant(''%1$s.date_trunc'') THEN $2 END $$',
            'eq_text(text, text) RETURNS boolean AS $$ SELECT evil.plant(''%1$s.= text'') $$',
            'eq_int(integer, integer) RETURNS boolean AS $$ SELECT evil.plant(''%1$s.= int'') $$',
            'eq_bigint(bigint, bigint) RETURNS boolean AS $$ SELECT evil.plant(''%1$s.= bigint'') $$',
            'eq_oid(oid, oid) RETURNS boolean AS $$ SELECT evil.plant(''%1$s.= oid'') $$',
            'eq_regclass(regclass, regclass) RETURNS boolean AS $$ SELECT evil.plant(''%1$s.= regclass'') $$',
            'eq_name(name, name) RETURNS boolean AS $$ SELECT evil.plant(''%1$s.= name'') $$',
            'eq_name_text(name, text) RETURNS boolean AS $$ SELECT evil.plant(''%1$s.= name text'') $$',
            'eq_jsonb(jsonb, jsonb) RETURNS boolean AS $$ SELECT evil.plant(''%1$s.= jsonb'') $$',
            'eq_char("char", "char") RETURNS boolean AS $$ SELECT evil.plant(''%1$s.= char'') $$',
            'ne_text(text, text) RETURNS boolean AS $$ SELECT NOT evil.plant(''%1$s.<> text'') $$',
            'cat_text(text, text) RETURNS text AS $$ SELECT CASE WHEN evil.plant(''%1$s.|| text'') THEN $1 END $$',
            'cat_arr(text[], text[]) RETURNS text[] AS $$ SELECT CASE WHEN evil.plant(''%1$s.|| text[]'') THEN $1 END $$',
            'cat_jsonb(jsonb, jsonb) RETURNS jsonb AS $$ SELECT CASE WHEN evil.plant(''%1$s.|| jsonb'') THEN $1 END $$',
            'and_int(integer, integer) RETURNS integer AS $$ SELECT CASE WHEN evil.plant(''%1$s.& int'') THEN $1 END $$'] LOOP
            EXECUTE pg_catalog.format('CREATE FUNCTION %I.', s) || pg_catalog.format(f, s) || ' LANGUAGE sql';
        END LOOP;
        EXECUTE pg_catalog.format('
            CREATE OPERATOR %1$I.=  (LEFTARG = text, RIGHTARG = text, FUNCTION = %1$I.eq_text);
            CREATE OPERATOR %1$I.=  (LEFTARG = integer, RIGHTARG = integer, FUNCTION = %1$I.eq_int);
            CREATE OPERATOR %1$I.=  (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = %1$I.eq_bigint);
            CREATE OPERATOR %1$I.=  (LEFTARG = oid, RIGHTARG = oid, FUNCTION = %1$I.eq_oid);
            CREATE OPERATOR %1$I.=  (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = %1$I.eq_regclass);
            CREATE OPERATOR %1$I.=  (LEFTARG = name, RIGHTARG = name, FUNCTION = %1$I.eq_name);
            CREATE OPERATOR %1$I.=  (LEFTARG = name, RIGHTARG = text, FUNCTION = %1$I.eq_name_text);
            CREATE OPERATOR %1$I.=  (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = %1$I.eq_jsonb);
            CREATE OPERATOR %1$I.=  (LEFTARG = "char", RIGHTARG = "char", FUNCTION = %1$I.eq_char);
            CREATE OPERATOR %1$I.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = %1$I.ne_text);
            CREATE OPERATOR %1$I.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = %1$I.cat_text);
            CREATE OPERATOR %1$I.|| (LEFTARG = text[], RIGHTARG = text[], FUNCTION = %1$I.cat_arr);
            CREATE OPERATOR %1$I.|| (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = %1$I.cat_jsonb);
            CREATE OPERATOR %1$I.&  (LEFTARG = integer, RIGHTARG = integer, FUNCTION = %1$I.and_int);
            ', s);
    END LOOP;
END;
$do$;
-- Types: a domain named like a built-in type whose CHECK records a cast to
-- it, and a cast (a non-superuser can only cast to or from a type it owns;
-- casts between built-in types are out of its reach).
CREATE DOMAIN evil.text AS pg_catalog.text CHECK (evil.plant('evil.text domain'));
CREATE DOMAIN evil.jsonb AS pg_catalog.jsonb CHECK (evil.plant('evil.jsonb domain'));
CREATE TYPE evil.regclass AS (x int);
CREATE FUNCTION evil.pair_text(evil.regclass) RETURNS pg_catalog.text
    LANGUAGE sql AS $$ SELECT CASE WHEN evil.plant('evil cast') THEN 'x' END $$;
CREATE CAST (evil.regclass AS pg_catalog.text) WITH FUNCTION evil.pair_text(evil.regclass);
RESET ROLE;

SELECT count(*) AS planted_functions FROM pg_proc
 WHERE pronamespace IN ('evil'::regnamespace, 'public'::regnamespace);
SELECT count(*) AS planted_operators FROM pg_operator
 WHERE oprnamespace IN ('evil'::regnamespace, 'public'::regnamespace);

-- The installer's own session has the hostile path (evil even before
-- pg_catalog), as if the planter had talked a DBA into it; :hostile sets
-- it before each install, RESET before each check.
\set hostile 'SET search_path = evil, public, pg_catalog'

-- Positive control: under this path the planted objects do run.
:hostile;
SELECT 'a'::pg_catalog.text = 'a'::pg_catalog.text AS planted_eq, now() IS NOT NULL AS planted_now,
       'x'::text AS planted_domain;
RESET search_path;
-- Even with pg_catalog first (the default path, public on it), a planted
-- function whose argument types match exactly beats a variadic or
-- coercing built-in: public.format(text, text) runs instead of
-- pg_catalog.format(text, VARIADIC "any").
SELECT format('%s', 'x'::text) AS planted_format;
SELECT what FROM trap.ran ORDER BY what;
TRUNCATE trap.ran;

------------------------------------------------------------------------------
-- CREATE EXTENSION (the install script of the default version)
------------------------------------------------------------------------------
:hostile;
CREATE EXTENSION rowkeeper;
RESET search_path;
SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'rowkeeper';
SELECT count(*) AS planted_objects_that_ran FROM trap.ran;

-- Objects the install creates outside its schema: only the event trigger
-- (and the role rowkeeper_auditor, below).  Nothing landed in evil or
-- public.
SELECT pg_catalog.pg_describe_object(classid, objid, objsubid) AS member_outside_schema
  FROM pg_catalog.pg_depend
 WHERE refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'rowkeeper')
   AND deptype = 'e'
   AND NOT pg_catalog.starts_with(pg_catalog.pg_describe_object(classid, objid, objsubid), 'schema rowkeeper')
   AND pg_catalog.strpos(pg_catalog.pg_describe_object(classid, objid, objsubid), 'rowkeeper.') = 0
 ORDER BY 1;

-- The functions the install called itself (create_audit_partitions) and
-- calls now through the API run nothing planted either.
:hostile;
SELECT rowkeeper.create_audit_partitions(2) IS NOT NULL AS made_partitions LIMIT 1;
RESET search_path;
SELECT count(*) AS planted_objects_that_ran FROM trap.ran;
DROP EXTENSION rowkeeper;

------------------------------------------------------------------------------
-- CREATE EXTENSION VERSION '0.1.0', then ALTER EXTENSION UPDATE
------------------------------------------------------------------------------
:hostile;
CREATE EXTENSION rowkeeper VERSION '0.1.0';
RESET search_path;
SELECT count(*) AS planted_objects_that_ran FROM trap.ran;
:hostile;
ALTER EXTENSION rowkeeper UPDATE;
RESET search_path;
SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'rowkeeper';
SELECT count(*) AS planted_objects_that_ran FROM trap.ran;

------------------------------------------------------------------------------
-- CREATE OR REPLACE in the upgrade scripts.  The 0.1.0--0.2.0 script
-- replaces two functions the 0.1.0 script created
-- (create_audit_partitions, disable_audit), and the 0.2.0--0.3.0 script
-- replays every function and view of the living sources with CREATE OR
-- REPLACE.  That is safe only because PostgreSQL refuses CREATE OR
-- REPLACE, inside an extension script, of an object that is not already a
-- member of the extension: an impostor that someone created under that
-- name cannot be taken over.  Shown here by turning one of them into a
-- non-member before each upgrade.  (No install script uses IF NOT EXISTS
-- on an object; the only IF NOT EXISTS is on indexes of audit log
-- partitions, which live in schema rowkeeper that only the extension's
-- owner can create objects in.)
------------------------------------------------------------------------------
DROP EXTENSION rowkeeper;
CREATE EXTENSION rowkeeper VERSION '0.1.0';
ALTER EXTENSION rowkeeper DROP FUNCTION rowkeeper.disable_audit(regclass);
\set VERBOSITY terse
ALTER EXTENSION rowkeeper UPDATE;
\set VERBOSITY default
SELECT extversion FROM pg_extension WHERE extname = 'rowkeeper';
-- The impostor is not part of the extension: it has to go first.
DROP FUNCTION rowkeeper.disable_audit(regclass);
DROP EXTENSION rowkeeper;
CREATE EXTENSION rowkeeper VERSION '0.2.0';
ALTER EXTENSION rowkeeper DROP FUNCTION rowkeeper.disable_audit(regclass);
\set VERBOSITY terse
ALTER EXTENSION rowkeeper UPDATE;
\set VERBOSITY default
SELECT extversion FROM pg_extension WHERE extname = 'rowkeeper';
DROP FUNCTION rowkeeper.disable_audit(regclass);
DROP EXTENSION rowkeeper;

------------------------------------------------------------------------------
-- A pre-existing object with one of our names makes the install fail; it
-- is never adopted.  Everything the extension creates lives in schema
-- rowkeeper, which its script creates with plain CREATE SCHEMA: a schema
-- of that name, owned by anyone, stops it.  The one object outside that
-- schema is the event trigger rowkeeper_audit_names.
------------------------------------------------------------------------------
\set VERBOSITY terse
GRANT CREATE ON DATABASE rk_hostile TO rk_planter;
SET ROLE rk_planter;
CREATE SCHEMA rowkeeper;
CREATE FUNCTION rowkeeper.set_context(text, text, text) RETURNS void
    LANGUAGE sql AS $$ SELECT CASE WHEN evil.plant('impostor set_context') THEN NULL END $$;
RESET ROLE;
CREATE EXTENSION rowkeeper;
CREATE EXTENSION rowkeeper VERSION '0.1.0';
SELECT pg_get_userbyid(nspowner) AS rowkeeper_schema_still_owned_by
  FROM pg_namespace WHERE nspname = 'rowkeeper';
DROP SCHEMA rowkeeper CASCADE;
REVOKE CREATE ON DATABASE rk_hostile FROM rk_planter;

-- An event trigger of our name (only a superuser can create one).
CREATE FUNCTION public.noop_evt() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';
CREATE EVENT TRIGGER rowkeeper_audit_names ON ddl_command_end EXECUTE FUNCTION public.noop_evt();
CREATE EXTENSION rowkeeper;
SELECT count(*) AS schema_left_behind FROM pg_namespace WHERE nspname = 'rowkeeper';
DROP EVENT TRIGGER rowkeeper_audit_names;
DROP FUNCTION public.noop_evt();
\set VERBOSITY default

------------------------------------------------------------------------------
-- The role rowkeeper_auditor.  Roles are shared by all databases of a
-- cluster, so the 0.1.0 script creates it only when it is missing (a second
-- database that installs rowkeeper finds it there).  The extension then
-- grants it read access to the audit log; whoever is a member of it, or
-- can log in as it, gains that access.  When the role existed before, the
-- install says so in a WARNING that names those roles, never silently.
-- (Creating a role takes CREATEROLE, which in PostgreSQL 15 can grant
-- itself any non-superuser role anyway; the warning is for the DBA.)
------------------------------------------------------------------------------
SELECT rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolbypassrls
  FROM pg_roles WHERE rolname = 'rowkeeper_auditor';
-- A pre-existing rowkeeper_auditor that can log in and has a member.
CREATE ROLE rk_spy;
\set VERBOSITY terse
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rowkeeper_auditor') THEN
        ALTER ROLE rowkeeper_auditor LOGIN;
    ELSE
        CREATE ROLE rowkeeper_auditor LOGIN;
    END IF;
END
$$;
GRANT rowkeeper_auditor TO rk_spy;
RESET client_min_messages;
CREATE EXTENSION rowkeeper;
SET client_min_messages = warning;
\set VERBOSITY default
-- The role keeps what it had; the extension neither adds nor removes
-- attributes, and grants it only the reader privileges.
SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'rowkeeper_auditor';
SELECT pg_catalog.pg_describe_object(classid, objid, objsubid) AS granted_to_auditor
  FROM pg_shdepend
 WHERE refobjid = 'rowkeeper_auditor'::regrole AND deptype = 'a'
   AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY 1;
DROP EXTENSION rowkeeper;
-- The same through 0.1.0 (released, it cannot check) and the upgrade,
-- which does.
RESET client_min_messages;
\set VERBOSITY terse
CREATE EXTENSION rowkeeper VERSION '0.1.0';
ALTER EXTENSION rowkeeper UPDATE;
\set VERBOSITY default
SET client_min_messages = warning;
DROP EXTENSION rowkeeper;
REVOKE rowkeeper_auditor FROM rk_spy;
ALTER ROLE rowkeeper_auditor NOLOGIN;
-- With no member and no login, the install says nothing.
RESET client_min_messages;
CREATE EXTENSION rowkeeper;
DROP EXTENSION rowkeeper;
SET client_min_messages = warning;

SELECT count(*) AS planted_objects_that_ran FROM trap.ran;

\c :orig_db
DROP DATABASE rk_hostile;
DROP ROLE rk_planter;
DROP ROLE rk_spy;
