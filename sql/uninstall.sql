-- uninstall: DROP EXTENSION refuses while tables still use rowkeeper, and
-- leaves nothing behind once they are disabled.
CREATE TABLE uninstall_t (id int PRIMARY KEY, updated_at timestamptz);
SELECT rowkeeper.enable_updated_at('uninstall_t');
DROP EXTENSION rowkeeper;
SELECT rowkeeper.disable_updated_at('uninstall_t');
DROP TABLE uninstall_t;

-- Anything left over from the other tests would be listed here.
SELECT table_name FROM rowkeeper.updated_at_tables;

DROP EXTENSION rowkeeper;

SELECT count(*) AS schemas   FROM pg_namespace WHERE nspname = 'rowkeeper';
SELECT count(*) AS functions FROM pg_proc WHERE probin LIKE '%rowkeeper%';
SELECT count(*) AS views     FROM pg_class WHERE relname = 'updated_at_tables';
SELECT count(*) AS triggers  FROM pg_trigger WHERE tgname LIKE 'rowkeeper%';
SELECT count(*) AS leftovers FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass
   AND NOT EXISTS (SELECT FROM pg_extension e WHERE e.oid = d.refobjid);

-- Re-creating it works (nothing half-dropped in the way).
CREATE EXTENSION rowkeeper;
DROP EXTENSION rowkeeper;
