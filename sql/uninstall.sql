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

-- Soft delete in one session across a re-created extension: the trigger
-- keeps the batch sequence's OID, which must be forgotten when the
-- sequence is dropped (else: could not open relation with OID ...).
CREATE EXTENSION rowkeeper;
CREATE TABLE uninstall_sd (id int PRIMARY KEY);
INSERT INTO uninstall_sd VALUES (1), (2);
SELECT rowkeeper.enable_soft_delete('uninstall_sd');
DELETE FROM uninstall_sd WHERE id = 1;
SELECT rowkeeper.disable_soft_delete('uninstall_sd', force => true);
DROP EXTENSION rowkeeper;
CREATE EXTENSION rowkeeper;
SELECT rowkeeper.enable_soft_delete('uninstall_sd');
DELETE FROM uninstall_sd WHERE id = 2;
SELECT id, deleted_at IS NOT NULL AS deleted, deleted_batch IS NOT NULL AS has_batch
  FROM uninstall_sd ORDER BY id;
SELECT rowkeeper.disable_soft_delete('uninstall_sd', force => true);
DROP TABLE uninstall_sd;
DROP EXTENSION rowkeeper;
