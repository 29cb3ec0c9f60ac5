-- install: CREATE EXTENSION, version, and what it created.
CREATE EXTENSION rowkeeper;

SELECT extname, extversion, extrelocatable
  FROM pg_extension WHERE extname = 'rowkeeper';

-- The rowkeeper schema belongs to the extension (DROP EXTENSION removes it).
SELECT pg_describe_object(classid, objid, objsubid) AS owned_schema
  FROM pg_depend
 WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'rowkeeper')
   AND classid = 'pg_namespace'::regclass AND deptype = 'e';

-- The version is the control file's default_version.
SELECT default_version = installed_version AS version_is_default
  FROM pg_available_extensions WHERE name = 'rowkeeper';

-- Every member object, by kind (a new object must show up here, reviewed).
-- A table's or view's row type and its array type are left out: they come
-- with the relation, and PostgreSQL 17 on records them as members too.
SELECT pg_describe_object(classid, objid, objsubid) AS object
  FROM pg_depend d
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'rowkeeper')
   AND deptype = 'e'
   AND NOT EXISTS (SELECT FROM pg_type t
                     LEFT JOIN pg_type elem ON elem.oid = t.typelem AND t.typcategory = 'A'
                     JOIN pg_class c ON c.oid = coalesce(elem.typrelid, t.typrelid)
                    WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid
                      AND c.relkind <> 'c')
 ORDER BY 1;

-- Every function pins search_path, or is written in C.  Procedures that
-- COMMIT cannot have a SET clause: they must set it themselves, run with
-- the caller's rights (never SECURITY DEFINER).
SELECT p.oid::regprocedure AS unpinned
  FROM pg_proc p
 WHERE p.pronamespace = 'rowkeeper'::regnamespace
   AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c
                    WHERE c = 'search_path=pg_catalog, pg_temp')
   AND NOT (p.prokind = 'p' AND NOT p.prosecdef
            AND p.prosrc LIKE '%set_config(''search_path'', ''pg_catalog, pg_temp'', true)%');

-- Every function has a comment.
SELECT p.oid::regprocedure AS undocumented
  FROM pg_proc p
 WHERE p.pronamespace = 'rowkeeper'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL;

-- Not relocatable.
CREATE SCHEMA elsewhere;
ALTER EXTENSION rowkeeper SET SCHEMA elsewhere;
DROP SCHEMA elsewhere;

-- A pre-existing rowkeeper schema is never adopted.
DROP EXTENSION rowkeeper;
CREATE SCHEMA rowkeeper;
\set SHOW_CONTEXT never
CREATE EXTENSION rowkeeper;   -- (no CONTEXT: 18 adds the script's line)
\set SHOW_CONTEXT errors
DROP SCHEMA rowkeeper;
CREATE EXTENSION rowkeeper;
SELECT extversion FROM pg_extension WHERE extname = 'rowkeeper';
